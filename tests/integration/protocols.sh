#!/bin/bash
# Protocols other than TCP, UDP and ICMP reach the collectors: GRE version
# 0 (no keys) answered by the server, GRE version 1 with a PPTP call id
# (conntrack's keys 0 and 0x1234) unanswered, ESP (conntrack's generic
# tracker, no ports) answered, and an SCTP INIT answered by an INIT-ACK,
# all from lan through fw's masquerade, sent and answered over raw sockets
# (tests/lab/protopeer.py: no GRE, IPsec or SCTP support needed in the
# kernel, only conntrack's).  The v5 collector's records 1, 2 and 3 (SPEC
# section 3; ports 0 where the protocol has none, GRE's keys as ports)
# and the daemon's stdout lines equal conntrack's own DESTROY events; the
# IPFIX collector gets one record per direction of each.  Conntrack's GRE,
# generic and SCTP timeouts are shortened in fw so that every DESTROY
# comes within seconds.
#   usage: NFFLOWD=build/nfflowd tests/integration/protocols.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd nfdump conntrack nft ss

P5=$LAB_COLLECTOR_PORT
P10=2057
EXPORT_FLOW="src=$LAB_FW_WAN_IP dst=$LAB_WAN_IP "
PEER=("$LAB_PY" "$NFFLOWD_SRCDIR/tests/lab/protopeer.py")

lab_up
lab_ns fw sysctl -q -w \
	net.netfilter.nf_conntrack_generic_timeout=2 \
	net.netfilter.nf_conntrack_gre_timeout=2 \
	net.netfilter.nf_conntrack_gre_timeout_stream=2 \
	net.netfilter.nf_conntrack_sctp_timeout_closed=1 \
	net.netfilter.nf_conntrack_sctp_timeout_cookie_wait=2 \
	net.netfilter.nf_conntrack_sctp_timeout_cookie_echoed=2 \
	net.netfilter.nf_conntrack_sctp_timeout_established=2 \
	net.netfilter.nf_conntrack_sctp_timeout_shutdown_sent=1 \
	net.netfilter.nf_conntrack_sctp_timeout_shutdown_recd=1 \
	net.netfilter.nf_conntrack_sctp_timeout_shutdown_ack_sent=1 \
	net.netfilter.nf_conntrack_sctp_timeout_heartbeat_sent=2
for p in 47 50 132; do
	lab_bg "echo$p" wan "${PEER[@]}" echo $p "$LAB_WAN_IP" 60
done
it_collectors_start v5:$P5 ipfix:$P10
lab_daemon_config "$(it_collectors_json $P10:10)"
lab_daemon_start

# name kind count: send and print the answers the lan host got
send() {
	local out
	out=$(lab_ns lan "${PEER[@]}" send "$2" "$LAB_WAN_IP" "$3") || out="failed"
	lab_log "$1: $3 packets sent, $out"
	echo "$out" >"$LAB_DIR/send-$1.out"
}
send gre gre 3
send gre-key gre-key 2
send esp esp 4
send sctp sctp 1
lab_log "waiting for conntrack to destroy every connection"
lab_ct_drain 20 "$EXPORT_FLOW" || true
sleep 0.6
lab_daemon_stop
it_collectors_stop v5 ipfix

check "the server answered GRE (3), ESP (4) and SCTP's INIT (1)" \
	test "$(cat "$LAB_DIR/send-gre.out" "$LAB_DIR/send-esp.out" \
		"$LAB_DIR/send-sctp.out" | tr '\n' ' ')" = "answers 3 answers 4 answers 1 "

TZ=UTC nfdump -R "$LAB_DIR/v5" -N -o json >"$LAB_DIR/v5.json"
TZ=UTC nfdump -R "$LAB_DIR/ipfix" -N -6 -o raw >"$LAB_DIR/ipfix.raw"
echo "----- conntrack's DESTROY events (fw) -----"
grep DESTROY "$LAB_DIR/oracle-text.out" | grep -v -- "$EXPORT_FLOW" || true
echo "----- the v5 collector -----"
TZ=UTC nfdump -R "$LAB_DIR/v5" -q -N \
	-o 'fmt:%ts  %pr  %sap -> %dap  %pkt pkts  %byt bytes' || true

# Each scenario is exactly one oracle connection of that shape; then every
# record of the v5 collector and of stdout against the oracle.
# compare.py knows one export flow (to the v5 port): leave out the IPFIX one.
grep -v -- "dport=$P10 " "$LAB_DIR/oracle-text.out" >"$LAB_DIR/oracle-v5.out" || true
check "v5 collector and stdout equal conntrack's DESTROY events" \
	it_compare triplet \
	--ct-text "$LAB_DIR/oracle-v5.out" --ct-xml "$LAB_DIR/oracle-xml.out" \
	--nfdump-json "$LAB_DIR/v5.json" --csv "$LAB_DIR/nfflowd.out" \
	--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" --port $P5 \
	--expect "gre:gre:$LAB_WAN_IP:0:nat:reply" \
	--expect "gre-key:gre:$LAB_WAN_IP:4660:nat:noreply" \
	--expect "esp:esp:$LAB_WAN_IP:0:nat:reply" \
	--expect "sctp:sctp:$LAB_WAN_IP:5060:nat:reply"
for p in 47 50 132; do
	n=$(grep -c "\"proto\" : $p," "$LAB_DIR/v5.json" || true)
	check "v5: records of protocol $p reached the collector ($n)" \
		test "$n" -ge 2
done
# IPFIX: the records of each protocol arrive, one per direction that
# carried packets (2 + 1 + 2 + 2).  Not compared field by field with
# nfxcheck.py: nfdump 1.7.1 shows the destination port of a protocol other
# than TCP and UDP as 0 on IPFIX (the pre-NAT one; the post-NAT port and
# the wire are right).
for pc in 47:3 50:2 132:2; do
	n=$(grep -cE "^ *proto *= *${pc%%:*} " "$LAB_DIR/ipfix.raw" || true)
	check "IPFIX: records of protocol ${pc%%:*} reached the collector ($n, expected ${pc#*:})" \
		test "$n" -eq "${pc#*:}"
done

it_nfx_finish v5 ipfix
