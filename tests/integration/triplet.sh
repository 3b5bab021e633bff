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
it_compare_scenario "$LAB_DIR/collector.json" "$LAB_DIR/nfflowd.out" \
	"${EXTRA[@]}" || rc=$?
if [ $rc != 0 ]; then
	it_diagnose
	exit 1
fi
echo "----- what the collector received -----"
lab_collector_show
