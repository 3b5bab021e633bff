#!/bin/bash
# NAT session events (RFC 8158) from the real daemon in the lab, read back by
# three independent decoders: nfcapd/nfdump, pmacct's nfacctd and tshark.
# Four collectors, each with nat_events on: IPFIX with RFC 8158 numbering
# and traffic records (nfcapd, and a twin for nfacctd), v9 with the legacy
# numbering and no traffic records (`"flows": false`, nfcapd and a twin for
# nfacctd).  The lab's traffic: TCP through the masquerade, TCP to the port
# forward, UDP answered and unanswered, ICMP echo through the masquerade
# (all translated) and a ping to the firewall itself (not translated).
#  - per collector, exactly one create and one delete event per translated
#    connection and none for the ping to the firewall; pre- and post-NAT
#    addresses and ports equal to conntrack's (ICMP: the ICMP id as the
#    source port); natEvent 4/5 (RFC 8158, IPv4) or 1/2 (legacy); the
#    create's observation time the kernel's start, the delete's its stop;
#  - the events-only collectors get no traffic record;
#  - tshark decodes every datagram without a malformed packet or expert
#    info above note, shows the options templates and data (sampling
#    interval 1, exporter totals, and the names of fw's interfaces in the
#    template messages once records used them: templates every 2nd
#    message here) and the observation domain configured
#    (`observation_domain`) in every header.
#   usage: NFFLOWD=build/nfflowd tests/integration/nat_events.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd nfdump nfacctd conntrack nft ss tshark

P10=4739	# IPFIX, rfc8158, traffic too: nfcapd
P9=2056		# v9, legacy, events only: nfcapd
A10=4740	# the same as P10 for nfacctd
A9=2057		# the same as P9 for nfacctd
ALLP=("$P10" "$P9" "$A10" "$A9")
DOMAIN=3735928559
EXPORT_FLOW="src=$LAB_FW_WAN_IP dst=$LAB_WAN_IP "

# Start nfacctd NAME in wan on UDP port $2, its print plugin writing every
# record (NAT event and its fields) as CSV to LAB_DIR/NAME.csv each second.
nfacctd_start() {
	local name=$1 port=$2
	cat >"$LAB_DIR/$name.conf" <<EOF
daemonize: false
nfacctd_ip: $LAB_WAN_IP
nfacctd_port: $port
timestamps_since_epoch: true
plugins: print[ev]
aggregate[ev]: nat_event, proto, src_host, dst_host, src_port, dst_port, post_nat_src_host, post_nat_dst_host, post_nat_src_port, post_nat_dst_port, timestamp_start
print_output[ev]: csv
print_output_file[ev]: $LAB_DIR/$name.csv
print_output_file_append[ev]: true
print_refresh_time[ev]: 1
print_history[ev]: 1m
EOF
	lab_bg "$name" wan nfacctd -f "$LAB_DIR/$name.conf"
	lab_wait_port wan u "$port"
}

lab_up
lab_servers_start
it_collectors_start ipfix:$P10 v9:$P9
nfacctd_start acct10 $A10
nfacctd_start acct9 $A9
lab_capture_ports wire 120 "${ALLP[@]}"
lab_daemon_config "$(cat <<EOF
"collectors": [
    {"address": "$LAB_WAN_IP", "port": $P10, "source": "$LAB_FW_WAN_IP", "version": 10, "nat_events": "rfc8158"},
    {"address": "$LAB_WAN_IP", "port": $P9, "source": "$LAB_FW_WAN_IP", "version": 9, "nat_events": "legacy", "flows": false},
    {"address": "$LAB_WAN_IP", "port": $A10, "source": "$LAB_FW_WAN_IP", "version": 10, "nat_events": "rfc8158"},
    {"address": "$LAB_WAN_IP", "port": $A9, "source": "$LAB_FW_WAN_IP", "version": 9, "nat_events": "legacy", "flows": false}
  ],
  "observation_domain": $DOMAIN,
  "interfaces": true,
  "template_refresh_packets": 2
EOF
)"
lab_daemon_start
lab_traffic
lab_ct_drain 20 "$EXPORT_FLOW"
sleep 0.6
lab_daemon_stop
sleep 0.3
lab_stop wire INT || true
it_collectors_stop ipfix v9
it_nfdump_raw ipfix v9
# nfacctd's print plugin writes its cache every second and drops it when
# stopped: wait (at most 20 s) until each holds as many NAT events as its
# nfcapd twin received.
acct_wait() {
	local csv=$1 raw=$2 want n=0 _
	want=$(grep -c 'nat event' "$raw" || true)
	for _ in $(seq 1 40); do
		n=$(awk -F, 'NR > 1 && $10 ~ /^[1-9]/' "$csv" 2>/dev/null | wc -l)
		[ "$n" -ge "$want" ] && return 0
		sleep 0.5
	done
	lab_log "$csv: $n NAT events after 20 s, nfcapd has $want"
}
acct_wait "$LAB_DIR/acct10.csv" "$LAB_DIR/ipfix.raw"
acct_wait "$LAB_DIR/acct9.csv" "$LAB_DIR/v9.raw"
lab_stop acct10 TERM || true
lab_stop acct9 TERM || true
it_wire_json "${ALLP[@]}"
ORACLE=(--ct-text "$LAB_DIR/oracle-text.out" --ct-xml "$LAB_DIR/oracle-xml.out"
	--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" --ports "${ALLP[@]}")
NAT=("${ORACLE[@]}" --domain "$DOMAIN" --interfaces --min-translated 5
	--min-plain 1)
# The interface names describe the indexes traffic records use: fw's two
# interfaces on the collectors with traffic (events carry no interface).
IFS_USED=(--ifname fw-lan --ifname fw-wan)

echo "===== IPFIX, RFC 8158 numbering, with traffic (nfcapd port $P10)"
check "IPFIX NAT events in nfdump and on the wire equal the oracle" \
	it_nfx nat "${NAT[@]}" --version 10 --port $P10 --label ipfix \
	--numbering rfc8158 --nfdump-raw "$LAB_DIR/ipfix.raw" "${IFS_USED[@]}" \
	--tshark-json "$LAB_DIR/wire-$P10.json"
check "IPFIX traffic records next to the events equal the oracle" \
	it_nfx nfx "${ORACLE[@]}" --version 10 --port $P10 --label ipfix \
	--nat-events --interfaces --domain "$DOMAIN" \
	--nfdump-raw "$LAB_DIR/ipfix.raw" --tshark-json "$LAB_DIR/wire-$P10.json"
echo "===== v9, legacy numbering, events only (nfcapd port $P9)"
check "v9 NAT events (legacy) in nfdump and on the wire equal the oracle, no traffic records" \
	it_nfx nat "${NAT[@]}" --version 9 --port $P9 --label v9 \
	--numbering legacy --events-only --nfdump-raw "$LAB_DIR/v9.raw" \
	--tshark-json "$LAB_DIR/wire-$P9.json"
echo "===== IPFIX, RFC 8158 numbering (nfacctd port $A10)"
it_show "$LAB_DIR/acct10.csv" 20
# pmacct 1.7.7 reads a padded IPFIX options template set (RFC 7011
# section 3.3.1 allows the padding) as malformed and drops the rest of the
# message; nfflowd sends four options templates so that the set needs
# none.  nfacctd must read every message, and show every event.
check "nfacctd read every IPFIX message (no malformed options template set)" \
	bash -c "! grep -q 'malformed' '$LAB_DIR/acct10.err' '$LAB_DIR/acct9.err'"
check "IPFIX NAT events in nfacctd and on the wire equal the oracle" \
	it_nfx nat "${NAT[@]}" --version 10 --port $A10 --label ipfix-acct \
	--numbering rfc8158 --nfacctd-csv "$LAB_DIR/acct10.csv" "${IFS_USED[@]}" \
	--tshark-json "$LAB_DIR/wire-$A10.json"
echo "===== v9, legacy numbering, events only (nfacctd port $A9)"
it_show "$LAB_DIR/acct9.csv" 20
check "v9 NAT events (legacy) in nfacctd and on the wire equal the oracle, no traffic records" \
	it_nfx nat "${NAT[@]}" --version 9 --port $A9 --label v9-acct \
	--numbering legacy --events-only --nfacctd-csv "$LAB_DIR/acct9.csv" \
	--tshark-json "$LAB_DIR/wire-$A9.json"

it_nfx_finish ipfix v9 acct10 acct9
