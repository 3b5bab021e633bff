#!/bin/bash
# Active timeout (issue 7): with "active_timeout": 2, a TCP connection
# through the masquerade that lives about 3 x 2 s, with data both ways in
# bounded bursts, is exported in the interim; on the v5 collector and on
# the IPFIX collector the interim deltas plus the final record's add up
# exactly to conntrack's final counters (its DESTROY event), with at least
# 2 interim exports (flowEndReason 2 on IPFIX, then one final record with
# flowEndReason 3).  A short connection next to it is exported once.
#   usage: NFFLOWD=build/nfflowd tests/integration/active_timeout.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd nfdump conntrack nft ss

P5=2055
P10=2057
ALLP=("$P5" "$P10")
TIMEOUT=2
CHAT_PORT=5001
EXPORT_FLOW="src=$LAB_FW_WAN_IP dst=$LAB_WAN_IP "

lab_up
# The wall clock against the boot clock, for the v5 check (clockwatch.py).
lab_bg clock wan "$LAB_PY" "$LAB_SRC_DIR/clockwatch.py" "$LAB_DIR/clock.ms" 120
lab_servers_start
lab_bg chat wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-server "$LAB_WAN_IP" $CHAT_PORT
lab_wait_port wan t $CHAT_PORT
it_collectors_start v5:$P5 ipfix:$P10
lab_daemon_config "\"active_timeout\": $TIMEOUT,
  $(it_collectors_json $P10:10)"
lab_daemon_start

lab_log "a TCP conversation of 7 s (200 bytes up, 1500 down every 0.2 s)"
lab_peer lan chat-client "$LAB_WAN_IP" $CHAT_PORT \
	7 0.2 200 1500 >"$LAB_DIR/chat-client.out"
cat "$LAB_DIR/chat-client.out"
lab_udp_client short
lab_ct_drain 20 "$EXPORT_FLOW"
sleep 0.6
lab_daemon_stop
it_collectors_stop v5 ipfix
lab_stop clock
moved=$(cat "$LAB_DIR/clock.ms" 2>/dev/null) || moved=
check "the wall clock's movement against the boot clock was measured (${moved:-none} ms)" \
	test -n "$moved"

TZ=UTC nfdump -R "$LAB_DIR/v5" -N -o json >"$LAB_DIR/v5.json"
TZ=UTC nfdump -R "$LAB_DIR/ipfix" -N -o raw >"$LAB_DIR/ipfix.raw"
ORACLE=(--ct-text "$LAB_DIR/oracle-text.out" --ct-xml "$LAB_DIR/oracle-xml.out"
	--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" --ports "${ALLP[@]}")

check "v5: interim + final deltas equal conntrack's final counters" \
	it_nfx active "${ORACLE[@]}" --dst "$LAB_WAN_IP" --dport $CHAT_PORT \
	--timeout $TIMEOUT --clock-moved-ms "${moved:-0}" \
	--nfdump-json "$LAB_DIR/v5.json"
check "IPFIX: interim (reason 2) + final (reason 3) deltas equal conntrack's final counters" \
	it_nfx active "${ORACLE[@]}" --dst "$LAB_WAN_IP" --dport $CHAT_PORT \
	--timeout $TIMEOUT --version 10 --nfdump-raw "$LAB_DIR/ipfix.raw"
# The short UDP exchange (well under the timeout) is exported once, whole:
# v5 3 records, IPFIX 2 records with flowEndReason 1 (conntrack's UDP
# timeout ended it: idle).
n5=$(grep -c '"dst_port" : 53,' "$LAB_DIR/v5.json" || true)
n5r=$(grep -c '"src_port" : 53,' "$LAB_DIR/v5.json" || true)
check "v5: the short UDP connection exported once (records to/from port 53: $n5 + $n5r, expected 2 + 1)" \
	test "$n5" -eq 2 -a "$n5r" -eq 1
n10=$(awk '/^Flow Record/{p=0} /(dst|src) port *= *53$/{p=1} /end reason/{if (p) print $4}' \
	"$LAB_DIR/ipfix.raw" | sort | uniq -c | tr -s ' ' | tr '\n' ';')
check "IPFIX: the short UDP connection exported once, idle timeout ($n10)" \
	[ "$n10" = " 2 0x01;" ]

it_nfx_finish chat
