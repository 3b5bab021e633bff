#!/bin/bash
# When v9 and IPFIX templates go out (issue 7): a template-only message as
# soon as an exporter starts, again at once after a reload, the sequence
# carried on across the reload, and with the refresh triggers out of reach
# (1,000,000 datagrams, 86,400 s) no template in between: data messages
# alone. Then the packet trigger: with template_refresh_packets 3 every
# third message carries the templates.
#   usage: NFFLOWD=build/nfflowd tests/integration/templates.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd conntrack nft ss tshark

P9=2056
P10=2057
EXPORT_FLOW="src=$LAB_FW_WAN_IP dst=$LAB_WAN_IP "

# The daemon's config with both collectors and the given refresh triggers.
config() {
	lab_daemon_config "$(cat <<EOF2
"collectors": [
    {"address": "$LAB_WAN_IP", "port": $P9, "version": 9},
    {"address": "$LAB_WAN_IP", "port": $P10, "version": 10}
  ],
  "template_refresh_packets": $1,
  "template_refresh_seconds": $2
EOF2
)"
}

# One connection through the NAT, ended and exported.
one_conn() {
	lab_tcp_client "$1"
	lab_ct_drain 20 "$EXPORT_FLOW"
	sleep 0.5
}

# Per message to port $1: "T" for one with a template set, "D" for data
# only, its sequence number, and "Malformed" if tshark says so; one line
# each, in capture order.
messages() {
	tshark -r "$LAB_DIR/wire.pcapng" -d "udp.port==$1,cflow" \
		-Y "udp.dstport==$1" -T fields -E separator='|' \
		-e cflow.template_id -e cflow.sequence -e _ws.malformed 2>/dev/null |
		awk -F'|' '{ print ($1 != "" ? "T" : "D"), $2, ($3 != "" ? "Malformed" : "") }'
}

lab_up
lab_servers_start
lab_ct_drain 10
lab_nfcapd_start v9 $P9
lab_nfcapd_start ipfix $P10
lab_capture_ports wire 60 $P9 $P10
config 1000000 86400
lab_daemon_start
sleep 0.3
one_conn a
one_conn b
lab_log "reload"
lab_nfflowd reload >/dev/null
sleep 0.5
one_conn c
lab_log "reload with template_refresh_packets 3"
config 3 86400
lab_nfflowd reload >/dev/null
sleep 0.5
for c in d e f g h; do
	one_conn "$c"
done
lab_daemon_stop
sleep 0.3
lab_stop wire INT || true
lab_nfcapd_stop v9
lab_nfcapd_stop ipfix

for p in $P9 $P10; do
	messages "$p" >"$LAB_DIR/msg-$p"
	kinds=$(awk '{ printf "%s", $1 }' "$LAB_DIR/msg-$p")
	echo "port $p messages: $kinds"
	# start: T; a, b: D D; reload: T; c: D; reload: T; d..h: the 3rd,
	# 6th, ... message after the reload's template message carries them.
	check "port $p: templates at start and at each reload only, then every 3rd message" \
		[ "$kinds" = "TDDTDTDDTDD" ]
	check "port $p: nothing malformed" \
		[ "$(grep -c 'Malformed' "$LAB_DIR/msg-$p" || true)" = 0 ]
done
# v9 counts messages: 0, 1, 2, ... across both reloads.
seq9=$(awk '{ printf "%s ", $2 }' "$LAB_DIR/msg-$P9")
check "v9 sequence counts every message, across the reloads ($seq9)" \
	[ "$seq9" = "0 1 2 3 4 5 6 7 8 9 10 " ]
# IPFIX counts data records, options data records among them (RFC 7011
# section 3.1): 2 per TCP connection, and every template message carries 3
# options data records (sampling, exporter totals, exporting process; no
# interface names without `interfaces`):
# T+3 a+2 b+2 T+3 c+2 T+3 d+2 e+2 f:T+3+2 g+2 h.
seq10=$(awk '{ printf "%s ", $2 }' "$LAB_DIR/msg-$P10")
check "IPFIX sequence counts data records, options data records too, across the reloads ($seq10)" \
	[ "$seq10" = "0 3 5 7 10 12 15 17 19 24 26 " ]
# The same rule message by message from what tshark decoded (each IPFIX
# sequence is the previous one plus the previous message's data and
# options data records; v9 counts every record in the header), with the
# templates, options templates and options data of every template message.
for p in $P9 $P10; do
	tshark -r "$LAB_DIR/wire.pcapng" -d "udp.port==$p,cflow" -Y "udp.dstport==$p" \
		-T json 2>/dev/null >"$LAB_DIR/wire-$p.json"
	check "port $p: sequence, counts, options templates and data of every message" \
		it_nfx nfx --ct-text /dev/null --version $((p == P9 ? 9 : 10)) --port "$p" \
		--label "port $p" --source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" \
		--ports $P9 $P10 --tshark-json "$LAB_DIR/wire-$p.json" --after-ms 0
done

if [ "$FAILS" != 0 ]; then
	it_show "$LAB_DIR/nfflowd.err"
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
