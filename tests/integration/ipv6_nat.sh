#!/bin/bash
# IPv6 through NAT66 (issue 7): TCP via the ip6 masquerade, TCP to the
# IPv6 port forward, UDP answered and unanswered, ICMPv6 echo, with a v9,
# an IPFIX and a v5 collector at once, plus one IPv4 TCP connection.
#  - v9 and IPFIX: every connection of both families, one record per
#    direction with the pre-NAT and post-NAT tuples (IEs 281/282 for IPv6),
#    counters and times as conntrack reported them; template 257 on the
#    wire; tshark decodes everything without malformed packets;
#  - v5: the IPv4 connection's records and nothing IPv6; if the daemon's
#    counters have a "skipped" counter, it counts the IPv6 connections.
#   usage: NFFLOWD=build/nfflowd tests/integration/ipv6_nat.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd nfdump conntrack nft ss tshark

P5=2055
P9=2056
P10=2057
ALLP=("$P5" "$P9" "$P10")
EXPORT_FLOW="src=$LAB_FW_WAN_IP dst=$LAB_WAN_IP "

lab_up
lab_up6
lab_servers_start
lab_servers6_start
it_collectors_start v5:$P5 v9:$P9 ipfix:$P10
lab_capture_ports wire 120 "${ALLP[@]}"
# NAT session events on both: RFC 8158 has no value for IPv6-to-IPv6 NAT,
# so IPv6 sessions are numbered 1/2 under either numbering (IPv4: 4/5
# under rfc8158, 1/2 legacy).
lab_daemon_config "$(cat <<EOF
"collectors": [
    {"address": "$LAB_WAN_IP", "port": $P9, "source": "$LAB_FW_WAN_IP", "version": 9, "nat_events": "legacy"},
    {"address": "$LAB_WAN_IP", "port": $P10, "source": "$LAB_FW_WAN_IP", "version": 10, "nat_events": "rfc8158"}
  ]
EOF
)"
lab_daemon_start

lab_log "traffic: tcp6 masquerade, tcp6 port forward, udp6 answered, udp6 unanswered, icmpv6, tcp (IPv4)"
lab_tcp6_client masq6
lab_dnat6_client dnat6
lab_udp6_client query6
lab_udp6_oneway oneway6
lab_ping6
lab_tcp_client masq4
lab_ct_drain 20 "$EXPORT_FLOW"
sleep 0.6
lab_nfflowd --dump-state --json >"$LAB_DIR/state.json" 2>"$LAB_DIR/state.err" || true
lab_daemon_stop
sleep 0.3
lab_stop wire INT || true
it_collectors_stop v5 v9 ipfix

TZ=UTC nfdump -R "$LAB_DIR/v5" -N -6 -o json >"$LAB_DIR/v5.json"
it_nfdump_raw v9 ipfix
it_wire_json $P9 $P10
ORACLE=(--ct-text "$LAB_DIR/oracle-text.out" --ct-xml "$LAB_DIR/oracle-xml.out"
	--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" --ports "${ALLP[@]}")
EXPECT=(--expect "masquerade6,tcp,$LAB_WAN6_IP,80,reply"
	--expect "portforward6,tcp,$LAB_FW_WAN6_IP,8080,reply"
	--expect "udp6-answered,udp,$LAB_WAN6_IP,53,reply"
	--expect "udp6-unanswered,udp,$LAB_WAN6_IP,9,noreply"
	--expect "icmpv6-echo,icmpv6,$LAB_WAN6_IP,128,reply"
	--expect "masquerade4,tcp,$LAB_WAN_IP,80,reply")

echo "===== v9 collector (port $P9)"
check "v9: IPv6 and IPv4 connections with both tuples, as conntrack saw them" \
	it_nfx nfx "${ORACLE[@]}" --version 9 --port $P9 --label v9 \
	--nat-events \
	--nfdump-raw "$LAB_DIR/v9.raw" --tshark-json "$LAB_DIR/wire-$P9.json" \
	"${EXPECT[@]}"
check "v9: NAT events (legacy: 1/2) of every translated connection, IPv6 and IPv4" \
	it_nfx nat "${ORACLE[@]}" --version 9 --port $P9 --label v9 \
	--numbering legacy --min-translated 5 \
	--nfdump-raw "$LAB_DIR/v9.raw" --tshark-json "$LAB_DIR/wire-$P9.json"
echo "===== IPFIX collector (port $P10)"
check "IPFIX: IPv6 and IPv4 connections with both tuples, as conntrack saw them" \
	it_nfx nfx "${ORACLE[@]}" --version 10 --port $P10 --label ipfix \
	--nat-events \
	--nfdump-raw "$LAB_DIR/ipfix.raw" --tshark-json "$LAB_DIR/wire-$P10.json"
check "IPFIX: NAT events (rfc8158: IPv6 1/2, IPv4 4/5) of every translated connection" \
	it_nfx nat "${ORACLE[@]}" --version 10 --port $P10 --label ipfix \
	--numbering rfc8158 --min-translated 5 \
	--nfdump-raw "$LAB_DIR/ipfix.raw" --tshark-json "$LAB_DIR/wire-$P10.json"
# nfdump shows the IPv6 post-NAT address of the masqueraded connection.
check "nfdump (v9) shows the IPv6 post-NAT source $LAB_FW_WAN6_IP" \
	grep -q "src xlt ip *= *$LAB_FW_WAN6_IP\$" "$LAB_DIR/v9.raw"
n6=$(grep -c "src addr *= *2001:" "$LAB_DIR/ipfix.raw" || true)
check "IPFIX collector holds IPv6 records ($n6)" [ "$n6" -ge 9 ]
echo "===== v5 collector (port $P5)"
check "v5: the IPv4 connection only, nothing IPv6" \
	it_nfx v5 "${ORACLE[@]}" --nfdump-json "$LAB_DIR/v5.json"
check "v5 collector has no IPv6 address at all" \
	bash -c '! grep -q "2001:db8" "$1"' _ "$LAB_DIR/v5.json"
n4=$("$LAB_PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' \
	"$LAB_DIR/v5.json" 2>/dev/null || echo 0)
check "v5 collector holds the IPv4 connection's 3 records ($n4)" [ "$n4" -eq 3 ]

# A counter of records or connections skipped on v5, if the daemon has one.
skip=$("$LAB_PY" - "$LAB_DIR/state.json" <<'PY'
import json, sys
# The --json dump is one document ({"counters": {...}, "entries": [...]});
# the control socket's own form is one object a line, counters first.
try:
    text = open(sys.argv[1]).read()
    try:
        counters = json.loads(text)
    except ValueError:
        counters = json.loads(text.splitlines()[0])
except (OSError, ValueError, IndexError):
    print("unreadable")
    sys.exit(0)
found = []
def walk(d, path):
    for k, v in d.items():
        if isinstance(v, dict):
            walk(v, path + [k])
        elif "skip" in k:
            found.append(("/".join(path + [k]), v))
walk(counters, [])
print(" ".join("%s=%s" % kv for kv in found) if found else "none")
PY
)
echo "daemon counters about skipped IPv6: $skip"
if [ "$skip" = unreadable ]; then
	fail "nfflowd --dump-state --json gave no counters line: $(head -c 300 "$LAB_DIR/state.err" "$LAB_DIR/state.json")"
elif [ "$skip" != none ]; then
	ok=0
	for kv in $skip; do
		[ "${kv#*=}" -ge 5 ] 2>/dev/null && ok=1
	done
	check "a skip counter counts the 5 IPv6 connections on v5 ($skip)" [ $ok = 1 ]
fi

it_nfx_finish v5 v9 ipfix
