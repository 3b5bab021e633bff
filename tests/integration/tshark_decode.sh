#!/bin/bash
# Every export datagram, captured on the wire, decodes in Wireshark's NetFlow
# dissector as v5 without malformed or expert errors; counts and
# flow_sequence are consistent; the decoded records equal the daemon's stdout
# lines in all 18 fields.
#   usage: NFFLOWD=build/nfflowd tests/integration/tshark_decode.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd nfdump conntrack nft ss tshark

lab_up
lab_scenario capture
lab_capture_fields >"$LAB_DIR/wire.txt"
rc=0
# 16 = 3 (tcp) + 3 (port forward) + 3 (udp) + 2 (unanswered udp) + 3 (icmp)
#      + 2 (icmp to fw, no NAT); a fresh daemon starts at flow_sequence 0.
it_compare tshark --fields "$LAB_DIR/wire.txt" --csv "$LAB_DIR/nfflowd.out" \
	--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" \
	--port "$LAB_COLLECTOR_PORT" --min-records 16 --first-sequence 0 || rc=$?
if [ $rc != 0 ]; then
	it_show "$LAB_DIR/wire.txt"
	tshark -r "$LAB_DIR/export.pcapng" -d "udp.port==$LAB_COLLECTOR_PORT,cflow" \
		-z expert -q 2>/dev/null | head -40 || true
	it_diagnose
	exit 1
fi
