#!/bin/bash
# The records nfcapd receives equal, field by field, what conntrack itself
# reported for each connection (tuples, NAT, counters, start/stop), and the
# daemon's stdout lines equal the collector's records.
# With the argument "untranslated" the daemon runs with
# "untranslated_records": true and record 2 is expected for every connection.
#   usage: NFFLOWD=build/nfflowd tests/integration/triplet.sh [untranslated]
. "$(dirname "$0")/common.sh"
lab_require nfcapd nfdump conntrack nft ss

EXTRA=()
if [ "${1:-}" = untranslated ]; then
	LAB_DAEMON_EXTRA='"untranslated_records": true'
	EXTRA=(--untranslated)
fi
lab_up
lab_scenario
rc=0
it_compare triplet "${EXTRA[@]}" \
	--ct-text "$LAB_DIR/oracle-text.out" --ct-xml "$LAB_DIR/oracle-xml.out" \
	--nfdump-json "$LAB_DIR/collector.json" --csv "$LAB_DIR/nfflowd.out" \
	--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" \
	--port "$LAB_COLLECTOR_PORT" --require-export-flow \
	--expect masquerade:tcp:198.51.100.2:80:nat:reply \
	--expect portforward:tcp:198.51.100.1:8080:nat:reply \
	--expect udp-answered:udp:198.51.100.2:53:nat:reply \
	--expect udp-unanswered:udp:198.51.100.2:9:nat:noreply \
	--expect icmp-echo:icmp:198.51.100.2:2048:nat:reply \
	--expect icmp-to-fw:icmp:198.51.100.1:2048:nonat:reply || rc=$?
if [ $rc != 0 ]; then
	it_diagnose
	exit 1
fi
echo "----- what the collector received -----"
lab_collector_show
