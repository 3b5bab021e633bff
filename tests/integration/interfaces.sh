#!/bin/bash
# `interfaces: true`: records carry the input and output ifIndex and the
# next hop, from route lookups in the firewall. One ICMP echo from lan to
# an address behind a gateway (203.0.113.10, routed in fw via wan's
# 198.51.100.2) and one TCP connection to the directly connected wan host.
# Expected, with the indexes of fw's own interfaces:
#  - v9: the original direction in on fw-lan, out on fw-wan, next hop the
#    gateway (0 for the directly connected wan host); the reply the other
#    way round, next hop 0 (the LAN is directly connected);
#  - v5: records 1 and 2 like the original direction, record 3 like the
#    reply;
#  - with the route replaced by one through another gateway while the
#    daemon runs, the next connection shows the new next hop (the route
#    cache follows route changes).
#   usage: NFFLOWD=build/nfflowd tests/integration/interfaces.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd nfdump conntrack nft ss

P9=2056
FAR=203.0.113.10
GW2=198.51.100.3
EXPORT_FLOW="src=$LAB_FW_WAN_IP dst=$LAB_WAN_IP "

lab_up
# The far network sits behind wan; fw reaches it through a gateway.
ip -n "$LAB_WAN" addr add "$FAR/32" dev lo
ip -n "$LAB_WAN" addr add "$GW2/24" dev wan0 nodad
lab_ns fw ip route add 203.0.113.0/24 via "$LAB_WAN_IP"
IF_LAN=$(lab_ns fw cat /sys/class/net/fw-lan/ifindex)
IF_WAN=$(lab_ns fw cat /sys/class/net/fw-wan/ifindex)
lab_log "fw-lan is ifindex $IF_LAN, fw-wan $IF_WAN"
lab_servers_start
lab_ct_drain 10
lab_nfcapd_start v5 "$LAB_COLLECTOR_PORT"
lab_nfcapd_start v9 $P9
lab_daemon_config "$(cat <<EOF2
"collectors": [
    {"address": "$LAB_WAN_IP", "port": $P9, "version": 9}
  ],
  "interfaces": true
EOF2
)"
lab_daemon_start

lab_ns lan ping -c 1 -W 2 -q "$FAR" >/dev/null
lab_tcp_client direct
lab_ct_drain 20 "$EXPORT_FLOW"
lab_ns fw ip route replace 203.0.113.0/24 via "$GW2"
# The far address answers through either gateway: both are wan.
lab_ns lan ping -c 1 -W 2 -q "$FAR" >/dev/null
lab_ct_drain 20 "$EXPORT_FLOW"
sleep 0.6
lab_daemon_stop
lab_nfcapd_stop v5
lab_nfcapd_stop v9

TZ=UTC nfdump -R "$LAB_DIR/v9" -N -o raw >"$LAB_DIR/v9.raw"
TZ=UTC nfdump -R "$LAB_DIR/v5" -N -o raw >"$LAB_DIR/v5.raw"

# One line per record: src dst proto input output nexthop, from raw output
# (which leaves out a next hop of 0 in v5 records; once nfcapd holds the
# exporter's interface name options, v9 input/output lines end in a name
# lookup such as "<ingress not found>": the index is the third field).
flows() {
	awk '
		/^Flow Record/ { if (n) print s, d, p, i, o, h; n = 1; s = d = p = i = o = "-"; h = "0.0.0.0" }
		/^ *src addr/ { s = $NF }
		/^ *dst addr/ { d = $NF }
		/^ *proto/ { p = $3 }
		/^ *input / { i = $3 }
		/^ *output / { o = $3 }
		/^ *ip router/ { next }
		/^ *ip next hop/ { h = $NF }
		END { if (n) print s, d, p, i, o, h }
	' "$1" | sort
}
flows "$LAB_DIR/v9.raw" >"$LAB_DIR/v9.flows"
flows "$LAB_DIR/v5.raw" >"$LAB_DIR/v5.flows"
sed 's/^/  v9: /' "$LAB_DIR/v9.flows"
sed 's/^/  v5: /' "$LAB_DIR/v5.flows"

# has FILE "src dst proto in out hop" COUNT: that line, exactly COUNT times.
has() {
	local n
	n=$(grep -cxF "$2" "$1" || true)
	[ "$n" -eq "$3" ] || { echo "  $1: '$2' $n times, expected $3" >&2; return 1; }
}
check "v9: echo in on fw-lan, out on fw-wan via the gateway" \
	has "$LAB_DIR/v9.flows" "$LAB_LAN_IP $FAR 1 $IF_LAN $IF_WAN $LAB_WAN_IP" 1
check "v9: echo after the route change uses the new gateway" \
	has "$LAB_DIR/v9.flows" "$LAB_LAN_IP $FAR 1 $IF_LAN $IF_WAN $GW2" 1
check "v9: echo replies in on fw-wan, out on fw-lan, LAN directly connected" \
	has "$LAB_DIR/v9.flows" "$FAR $LAB_FW_WAN_IP 1 $IF_WAN $IF_LAN 0.0.0.0" 2
check "v9: TCP to the directly connected host: next hop 0" \
	has "$LAB_DIR/v9.flows" "$LAB_LAN_IP $LAB_WAN_IP 6 $IF_LAN $IF_WAN 0.0.0.0" 1
check "v9: TCP reply" \
	has "$LAB_DIR/v9.flows" "$LAB_WAN_IP $LAB_FW_WAN_IP 6 $IF_WAN $IF_LAN 0.0.0.0" 1
check "v5: records 1 and 2 of the echo via the first gateway" \
	has "$LAB_DIR/v5.flows" "$LAB_LAN_IP $FAR 1 $IF_LAN $IF_WAN $LAB_WAN_IP" 1
check "v5: record 2 after masquerade" \
	has "$LAB_DIR/v5.flows" "$LAB_FW_WAN_IP $FAR 1 $IF_LAN $IF_WAN $LAB_WAN_IP" 1
check "v5: record 3 (reply) the other way round" \
	has "$LAB_DIR/v5.flows" "$FAR $LAB_FW_WAN_IP 1 $IF_WAN $IF_LAN 0.0.0.0" 2
check "v5: the echo after the route change" \
	has "$LAB_DIR/v5.flows" "$LAB_LAN_IP $FAR 1 $IF_LAN $IF_WAN $GW2" 1

if [ "$FAILS" != 0 ]; then
	it_show "$LAB_DIR/nfflowd.err"
	head -60 "$LAB_DIR/v9.raw"
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
