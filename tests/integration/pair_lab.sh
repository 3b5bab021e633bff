#!/bin/bash
# Smoke test of the firewall-pair lab (tests/lab/pair.sh, issue 23): two
# firewalls fw1 and fw2 with keepalived (VRRP by unicast over the sync link)
# and conntrackd (FTFW, DisableExternalCache On), nfflowd on both exporting
# from its own WAN address to one nfcapd.
#
# Checked (failures):
#   - VRRP: fw1 becomes master and holds both virtual addresses, fw2 none;
#   - conntrackd: a connection through fw1 appears in fw2's kernel table,
#     injected (0 counters, its NEW event caused by conntrackd's request);
#   - steady state: TCP (masquerade and port forward), UDP and ICMP through
#     fw1 are exported by fw1 (198.51.100.11) with the counters of fw1's
#     conntrack DESTROY events;
#   - a planned switch-over (fw1's keepalived stopped): fw2 takes both
#     addresses, a long TCP connection keeps flowing (every byte of every
#     round arrives), and connections made after the move are exported by
#     fw2 (198.51.100.12) with fw2's kernel counters.
# Reported (NOTE lines, not failures): what nfflowd does today on a pair —
# the records of entries conntrackd injected (0 counters), per node, and how
# the connection that spans the move was counted and exported.  The role
# handling of issue 23 will change those; a later test asserts them with the
# same functions (pair_zero_exports, pair_check_exported, paircheck.py).
#   usage: NFFLOWD=build/nfflowd tests/integration/pair_lab.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=../lab/pair.sh
. "$NFFLOWD_SRCDIR/tests/lab/pair.sh"
lab_require nfcapd nfdump conntrack nft ss keepalived conntrackd
T0=$SECONDS

note() {
	echo "NOTE: $*"
}

pair_start_fw1_master \
	"VRRP: fw1 is master, holds $PAIR_VIP_LAN and $PAIR_VIP_WAN, fw2 none"

lab_servers_start
# TCP 81 for the connections made after the switch-over, 7000 and 7001
# for long conversations.
lab_bg tcp81 wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" tcp-server "$LAB_WAN_IP" 81
lab_bg chat7000 wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-server "$LAB_WAN_IP" 7000
lab_bg chat7001 wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-server "$LAB_WAN_IP" 7001
lab_wait_port wan t 81
lab_wait_port wan t 7000
lab_wait_port wan t 7001
pair_oracle_start
lab_collector_start
pair_daemon_start fw1 fw2

echo "== conntrackd: a connection through fw1 in fw2's kernel table"
lab_bg sync-client lan "$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-client \
	"$LAB_WAN_IP" 7000 2 0.1 100 100
if line=$(pair_wait_synced fw2 "dport=7000" 5); then
	echo "ok: fw2's table has the connection: $line"
	case $line in
	*"packets=0 bytes=0"*"packets=0 bytes=0"*)
		echo "ok: fw2's entry is an injected one (0 counters)" ;;
	*) fail "fw2's entry of the connection counted packets: $line" ;;
	esac
else
	fail "fw2's table has no entry of a connection through fw1"
	it_show "$LAB_DIR/conntrackd-fw1.log" 20
	it_show "$LAB_DIR/conntrackd-fw2.log" 20
fi
check "the synchronised connection ended well" lab_wait_exit sync-client 10
if grep -q 'dport=7000 .*\[USERSPACE\].*progname=conntrackd' \
	"$LAB_DIR/oracle-fw2-text.out"; then
	echo "ok: fw2's NEW event of it names conntrackd's request ([USERSPACE])"
else
	fail "fw2's events do not show conntrackd's injection"
fi

echo "== steady state through fw1"
for i in 1 2 3; do
	lab_tcp_client "steady$i" >/dev/null
done
lab_dnat_client dnat >/dev/null
lab_udp_client query
lab_ping

echo "== planned switch-over fw1 -> fw2 under a long TCP connection"
ROUNDS_WANTED=6
lab_bg long lan "$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-client \
	"$LAB_WAN_IP" 7001 "$ROUNDS_WANTED" 0.05 1000 1000
pair_wait_synced fw2 "dport=7001" 5 >/dev/null ||
	fail "the long connection never reached fw2's table"
sleep 2
t_switch=$SECONDS
check "switch-over: fw2 is master within 10 s" pair_switchover stop
check "the long TCP connection survived the switch-over" lab_wait_exit long 20
rounds=$(sed -n 's/^rounds //p' "$LAB_DIR/long.out")
if [ -n "$rounds" ] && [ "$rounds" -ge 40 ]; then
	echo "ok: $rounds rounds of 1000 bytes each way, all arrived ($((rounds * 1000)) bytes up, $((rounds * 1000)) down)"
else
	fail "the long connection did $rounds rounds (want >= 40): $(cat "$LAB_DIR/long.err")"
fi
for i in 1 2; do
	lab_peer lan tcp-client "$LAB_WAN_IP" 81 "after$i" >/dev/null ||
		fail "connection $i after the switch-over failed"
done

echo "== waiting for both tables to drain"
pair_ct_drain 15 || true
for node in fw1 fw2; do
	lab_ct_drain_in "$node" 10 "dport=$LAB_COLLECTOR_PORT " || true
done
sleep 0.6
pair_daemon_stop fw1 fw2 || fail "nfflowd did not stop cleanly"
lab_collector_stop
pair_oracle_stop
pair_collector_json

echo "== fw1 exported the steady connections with its kernel's counters"
if ! pair_check_exported fw1 tcp:198.51.100.2:80 tcp:198.51.100.1:8080 \
	udp:198.51.100.2:53 icmp:198.51.100.2:2048 >"$LAB_DIR/check-fw1.txt"; then
	fail "fw1's exports of the steady connections"
fi
cat "$LAB_DIR/check-fw1.txt"
echo "== fw2 exported the connections after the switch-over with its counters"
if ! pair_check_exported fw2 tcp:198.51.100.2:81 >"$LAB_DIR/check-fw2.txt"; then
	fail "fw2's exports of the connections made after the switch-over"
fi
cat "$LAB_DIR/check-fw2.txt"

echo "== what nfflowd does on the pair today"
while read -r l; do
	note "$l"
done < <(pair_check summary --nfdump-json "$LAB_DIR/collector.json" \
	--node "$(pair_node_spec fw1)" --node "$(pair_node_spec fw2)")
note "records with 0 packets: fw1 exported $(pair_zero_exports fw1), fw2" \
	"$(pair_zero_exports fw2) (entries conntrackd injected that no packet" \
	"crossed on the node; issue 23 wants none)"
while read -r l; do
	note "spanning connection: $l"
done < <(pair_check span --nfdump-json "$LAB_DIR/collector.json" \
	--node "$(pair_node_spec fw1)" --node "$(pair_node_spec fw2)" \
	--select tcp:198.51.100.2:7001)

echo "switch-over at $((t_switch - T0)) s, test took $((SECONDS - T0)) s"
if [ "$FAILS" != 0 ]; then
	for f in nfflowd-fw1.err nfflowd-fw2.err keepalived-fw1.err \
		keepalived-fw2.err conntrackd-fw1.log conntrackd-fw2.log; do
		it_show "$LAB_DIR/$f" 30
	done
	echo "----- collector -----"
	lab_collector_show | head -60 || true
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
