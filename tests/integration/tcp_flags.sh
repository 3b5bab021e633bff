#!/bin/bash
# TCP flags derived from conntrack's TCP state, against the real packets.
# conntrack keeps no header flags, so the daemon derives each record's flags
# from the connection's state (SYN when it began with a SYN and this is its
# first export, ACK once the handshake completed, FIN for the closing
# states, RST for CLOSE or, when refused, on the reply).  Five connections
# from lan through fw's masquerade to wan, every TCP packet captured on
# both of fw's interfaces (tshark, capture filter tcp):
#   fin      port 80: data both ways, closed by FIN from both sides
#   rst      port 81: one chat round, then a close with SO_LINGER 0 (RST)
#   syn      port 82: a SYN dropped by wan's nft rule, never answered
#            (nf_conntrack_tcp_timeout_syn_sent shortened to 2 s)
#   refused  port 84: a SYN answered by RST (nothing listens)
#   pickup   port 83: chat rounds, its conntrack entry deleted (conntrack
#            -D) while idle, then more data: conntrack picks it up in
#            ESTABLISHED (nf_conntrack_tcp_loose=1); closed by FIN.  Two
#            entries: pickup-deleted (the first) and pickup.
# The daemon exports to a v5 nfcapd and an IPFIX nfcapd and prints its CSV
# lines on stdout.  tests/lab/flagcheck.py then checks, for every
# connection, each record of the CSV lines, of nfdump's v5 view and of its
# IPFIX view (conntrack's event streams give the tuples, states and
# ASSURED):
#   - a record's flags are not empty (a record means the direction
#     carried packets);
#   - its SYN and ACK bits are among the flags of that direction's
#     captured packets (post-NAT packets mapped back through the tuple);
#   - the OR over all the connection's records is within the OR over all
#     its packets;
#   - records 1 and 2 (original direction) agree, and the three outputs
#     agree per direction;
#   - each direction's flags are those the rules give for the states
#     conntrack reported (NEW, UPDATE, DESTROY events).
# A report prints each connection's records, wire flags and rule flags.
# With the argument "active" the daemon runs with "active_timeout": 1 and
# one connection chats for 3.5 s instead (long, port 83): each direction
# is exported several times, SYN only in the first export, and every
# export's flags are held to the same checks (the rules on the last one).
#   usage: NFFLOWD=build/nfflowd tests/integration/tcp_flags.sh [active]
. "$(dirname "$0")/common.sh"
lab_require nfcapd nfdump conntrack nft ss tshark

P5=$LAB_COLLECTOR_PORT
P10=2057
EXPORT_FLOW="src=$LAB_FW_WAN_IP dst=$LAB_WAN_IP "
FLAGCHECK=$NFFLOWD_SRCDIR/tests/lab/flagcheck.py
FLAGPEER=$NFFLOWD_SRCDIR/tests/lab/flagpeer.py
MODE=${1:-}
case $MODE in
"" | active) ;;
*)
	echo "usage: tcp_flags.sh [active]" >&2
	exit 2
	;;
esac

# Run flagpeer.py in lan against wan: flagpeer CMD PORT [ARGS...]
flagpeer() {
	local cmd=$1 port=$2
	shift 2
	lab_ns lan "$LAB_PY" "$FLAGPEER" "$cmd" "$LAB_WAN_IP" "$port" "$@"
}

# Capture every TCP packet on both of fw's interfaces (at most $1 s) into
# LAB_DIR/tcp.pcapng.
capture_start() {
	lab_bg tcpcap fw tshark -q -i fw-lan -i fw-wan -f tcp \
		-w "$LAB_DIR/tcp.pcapng" -a "duration:$1"
	local _
	for _ in $(seq 1 50); do
		grep -q "Capturing on" "$LAB_DIR/tcpcap.err" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3
}

# The five connections of the default mode, one after the other.
traffic() {
	lab_log "fin: a request and its answer, FIN from both sides"
	check "fin: the client got its answer" \
		lab_peer lan tcp-client "$LAB_WAN_IP" 80 flags
	lab_log "rst: one chat round, then SO_LINGER 0"
	check "rst: the client reset its connection" flagpeer rst-client 81
	lab_log "syn: a SYN wan drops"
	check "syn: nothing answered the SYN" flagpeer syn-client 82 1.5
	lab_log "refused: a SYN to a closed port"
	check "refused: the connection was refused" flagpeer refused-client 84

	lab_log "pickup: chat, delete the entry while idle, chat again"
	lab_bg pickup lan "$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-client \
		"$LAB_WAN_IP" 83 1 0.2 100 200 "$LAB_DIR/pickup.go" 300
	local paused=0 _
	for _ in $(seq 1 100); do
		if grep -q paused "$LAB_DIR/pickup.out" 2>/dev/null; then
			paused=1
			break
		fi
		sleep 0.1
	done
	check "pickup: the chat client paused after its rounds" test $paused = 1
	# Nothing is in flight now (the client waits for the trigger, the
	# server for a request): delete the entry; the next request creates a
	# new one.
	sleep 0.3
	lab_ns fw conntrack -D -p tcp -s "$LAB_LAN_IP" -d "$LAB_WAN_IP" --dport 83 \
		>"$LAB_DIR/delete.out" 2>&1 || true
	check "pickup: conntrack -D deleted the live entry" \
		grep -q "1 flow entries have been deleted" "$LAB_DIR/delete.out"
	sleep 0.5
	touch "$LAB_DIR/pickup.go"
	check "pickup: the chat client ended cleanly after the pickup" \
		lab_wait_exit pickup 15
	it_show "$LAB_DIR/pickup.out" 5
}

lab_up
# Fast ends: an unanswered SYN in 2 s (the rest lab_up shortened), loose
# pickup of mid-stream packets, events for every connection.
lab_ns fw sysctl -q -w \
	net.netfilter.nf_conntrack_tcp_timeout_syn_sent=2 \
	net.netfilter.nf_conntrack_tcp_timeout_syn_recv=2 \
	net.netfilter.nf_conntrack_tcp_loose=1 \
	net.netfilter.nf_conntrack_events=1
# wan drops what comes to port 82 (the unanswered SYN).
lab_ns wan nft -f - <<-EOF
	table inet flagdrop {
		chain in {
			type filter hook input priority 0; policy accept;
			tcp dport 82 drop
		}
	}
EOF
lab_bg tcp80 wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" tcp-server "$LAB_WAN_IP" 80
lab_bg chat81 wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-server "$LAB_WAN_IP" 81
lab_bg chat83 wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-server "$LAB_WAN_IP" 83
lab_wait_port wan t 80
lab_wait_port wan t 81
lab_wait_port wan t 83

it_collectors_start v5:$P5 ipfix:$P10
# Every event with the TCP state (the tuple oracle above has NEW and
# DESTROY only).
lab_bg ctevents fw conntrack -E -o extended,id,timestamp
capture_start 120
if [ "$MODE" = active ]; then
	lab_daemon_config "\"active_timeout\": 1, $(it_collectors_json $P10:10)"
else
	lab_daemon_config "$(it_collectors_json $P10:10)"
fi
lab_daemon_start

if [ "$MODE" = active ]; then
	lab_log "long: chat for 3.5 s, exported every second"
	check "long: the chat client ended cleanly" lab_peer lan chat-client \
		"$LAB_WAN_IP" 83 3.5 0.2 100 200
	SCENARIOS=(--interim --scenario long:83:1)
else
	traffic
	SCENARIOS=(--scenario fin:80:1 --scenario rst:81:1 --scenario syn:82:1
		--scenario pickup:83:2 --scenario refused:84:1)
fi

lab_log "waiting for conntrack to destroy every connection"
lab_ct_drain 20 "$EXPORT_FLOW" || fail "conntrack kept entries for 20 s"
# Let the flush interval pass so that nothing relies on the stop flush.
sleep 0.6
check "the daemon stopped cleanly" lab_daemon_stop
lab_stop tcpcap INT || true
it_collectors_stop v5 ipfix
lab_stop ctevents TERM || true

FMT='fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt|%flg'
for n in v5 ipfix; do
	TZ=UTC nfdump -R "$LAB_DIR/$n" -q -N -o "$FMT" >"$LAB_DIR/$n.flg" ||
		fail "nfdump could not read the $n collector's files"
done
tshark -r "$LAB_DIR/tcp.pcapng" -T fields -E separator='|' \
	-e frame.time_epoch -e frame.interface_name -e ip.src -e tcp.srcport \
	-e ip.dst -e tcp.dstport -e tcp.flags \
	>"$LAB_DIR/packets.txt" 2>"$LAB_DIR/tshark-read.err" ||
	fail "tshark could not read the capture"

"$LAB_PY" "$FLAGCHECK" \
	--ct-text "$LAB_DIR/oracle-text.out" --ct-events "$LAB_DIR/ctevents.out" \
	--packets "$LAB_DIR/packets.txt" --csv "$LAB_DIR/nfflowd.out" \
	--v5 "$LAB_DIR/v5.flg" --ipfix "$LAB_DIR/ipfix.flg" "${SCENARIOS[@]}" ||
	fail "flagcheck.py found the flags above wrong"

if [ "$FAILS" != 0 ]; then
	it_show "$LAB_DIR/nfflowd.err" 40
	it_show "$LAB_DIR/v5.err" 10
	it_show "$LAB_DIR/ipfix.err" 10
	it_show "$LAB_DIR/tcpcap.err" 10
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
