#!/bin/bash
# Several collectors at once (issue 7): a v5 collector (the top-level keys),
# a NetFlow v9 and an IPFIX collector (`collectors` entries), each an nfcapd
# of its own in wan, fed by one daemon in fw while real traffic crosses the
# NAT (masquerade, port forward, UDP answered and not, ICMP echo).
#  - every collector holds exactly the records the conntrack oracle asks for
#    (v5: SPEC section 3; v9/IPFIX: one record per direction with the
#    post-NAT addresses and ports next to the pre-NAT ones), so the same
#    connections appear on all three;
#  - counters equal conntrack's final ones, start/end within 1 s of the
#    kernel's timestamps;
#  - tshark decodes every datagram to each port, templates included, with
#    no malformed packet and no expert info; sequence numbers and counts
#    are consistent;
#  - the observation domain in every v9/IPFIX header is the default one,
#    derived from /etc/machine-id (never 0);
#  - a fourth collector (v9) that starts after the daemon decodes
#    everything sent once it listens (templates refreshed every 2 datagrams
#    and every 2 s in this test).
#   usage: NFFLOWD=build/nfflowd tests/integration/collectors.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd nfdump conntrack nft ss tshark

P5=2055
P9=2056
P10=2057
PLATE=2058
ALLP=("$P5" "$P9" "$P10" "$PLATE")
# Lines of fw's conntrack table that are the daemon's own export flows.
EXPORT_FLOW="src=$LAB_FW_WAN_IP dst=$LAB_WAN_IP "

# Epoch milliseconds now.
now_ms() {
	date +%s%3N
}

lab_up
lab_servers_start
it_collectors_start v5:$P5 v9:$P9 ipfix:$P10
lab_capture_ports wire 120 "${ALLP[@]}"
lab_daemon_config "$(cat <<EOF
$(it_collectors_json $P9:9 $P10:10 $PLATE:9),
  "template_refresh_packets": 2,
  "template_refresh_seconds": 2
EOF
)"
lab_daemon_start

lab_log "round 1: tcp, dnat, udp answered, udp unanswered, icmp"
lab_tcp_client masq
lab_dnat_client dnat
lab_udp_client query
lab_udp_oneway oneway
lab_ping
lab_ct_drain 20 "$EXPORT_FLOW"
# Let the last records leave before the late collector listens.
sleep 0.6

lab_log "late v9 collector starts on port $PLATE"
lab_nfcapd_start late $PLATE
LATE_MS=$(now_ms)
# Longer than template_refresh_seconds: the next datagram must carry the
# templates again.
sleep 2.5

lab_log "round 2: tcp, udp answered, icmp"
lab_tcp_client masq2
lab_udp_client query2
lab_ping
lab_ct_drain 20 "$EXPORT_FLOW"
sleep 0.6
lab_daemon_stop
sleep 0.3
lab_stop wire INT || true
it_collectors_stop v5 v9 ipfix late

TZ=UTC nfdump -R "$LAB_DIR/v5" -N -o json >"$LAB_DIR/v5.json"
it_nfdump_raw v9 ipfix late
it_wire_json "${ALLP[@]}"
ORACLE=(--ct-text "$LAB_DIR/oracle-text.out" --ct-xml "$LAB_DIR/oracle-xml.out"
	--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" --ports "${ALLP[@]}")
EXPECT=(--expect "masquerade,tcp,$LAB_WAN_IP,80,reply"
	--expect "portforward,tcp,$LAB_FW_WAN_IP,8080,reply"
	--expect "udp-unanswered,udp,$LAB_WAN_IP,9,noreply")

echo "===== v5 collector (port $P5)"
check "v5 collector equals the oracle (SPEC section 3)" \
	it_nfx v5 "${ORACLE[@]}" --nfdump-json "$LAB_DIR/v5.json"
# Round 1: 3 + 3 + 3 + 2 + 3 records, round 2: 3 + 3 + 3.
check "v5 datagrams decode in tshark, sequence consistent" \
	it_compare tshark --fields <(lab_v5_fields "$LAB_DIR/wire.pcapng" $P5 \
		-Y "udp.dstport==$P5") \
		--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" --port $P5 \
		--min-records 23 --first-sequence 0
echo "===== v9 collector (port $P9)"
check "v9 collector and wire equal the oracle, NAT fields shown" \
	it_nfx nfx "${ORACLE[@]}" --version 9 --port $P9 --label v9 --domain machine \
	--nfdump-raw "$LAB_DIR/v9.raw" --tshark-json "$LAB_DIR/wire-$P9.json" \
	"${EXPECT[@]}"
echo "===== IPFIX collector (port $P10)"
check "IPFIX collector and wire equal the oracle, NAT fields shown" \
	it_nfx nfx "${ORACLE[@]}" --version 10 --port $P10 --label ipfix --domain machine \
	--nfdump-raw "$LAB_DIR/ipfix.raw" --tshark-json "$LAB_DIR/wire-$P10.json"
echo "===== the same connections everywhere"
check "v5, v9 and IPFIX show the same connections" \
	it_nfx same --collector-dump "v5:v5:$LAB_DIR/v5.json" \
	--collector-dump "v9:nfx:$LAB_DIR/v9.raw" \
	--collector-dump "ipfix:nfx:$LAB_DIR/ipfix.raw"
echo "===== late v9 collector (port $PLATE, listening from $LATE_MS)"
check "late v9 collector decodes every record sent after it started" \
	it_nfx nfx "${ORACLE[@]}" --version 9 --port $PLATE --label late-v9 \
	--nfdump-raw "$LAB_DIR/late.raw" --tshark-json "$LAB_DIR/wire-$PLATE.json" \
	--after-ms "$LATE_MS"
# Round 2: TCP and UDP with a reply each, ICMP echo: 2 records each.
n=$(grep -c '^Flow Record' "$LAB_DIR/late.raw" || true)
check "late v9 collector holds round 2's 6 records (has $n)" [ "$n" -eq 6 ]

it_nfx_finish v5 v9 ipfix late
