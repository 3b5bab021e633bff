#!/bin/bash
# The records nfcapd receives equal, field by field, what conntrack itself
# reported for each connection (tuples, NAT, counters, start/stop), and the
# daemon's stdout lines equal the collector's records.
#   usage: NFFLOWD=build/nfflowd tests/integration/triplet.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd nfdump conntrack nft ss

lab_up
lab_scenario
rc=0
$COMPARE triplet \
	--ct-text "$LAB_DIR/oracle-text.out" --ct-xml "$LAB_DIR/oracle-xml.out" \
	--nfdump-json "$LAB_DIR/collector.json" --csv "$LAB_DIR/nfflowd.out" \
	--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" \
	--port "$LAB_COLLECTOR_PORT" --require-export-flow \
	--expect masquerade:tcp:80:nat:reply \
	--expect portforward:tcp:8080:nat:reply \
	--expect udp-answered:udp:53:nat:reply \
	--expect udp-unanswered:udp:9:nat:noreply \
	--expect icmp-echo:icmp:2048:nat:reply || rc=$?
if [ $rc != 0 ]; then
	it_diagnose
	exit 1
fi
echo "----- what the collector received -----"
lab_collector_show
