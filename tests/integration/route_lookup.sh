#!/bin/bash
# Route lookups of the `interfaces` feature against the real kernel, in the
# lab's fw namespace, through the routeq tool (tests/tools/routeq.c):
# interface indexes as `ip link` reports them, gateways of routes added
# here (IPv4 and IPv6), directly connected destinations, destinations
# without a route, which direction gets which answer, answers from the
# cache, and the cache flushed by route and link changes (and not without
# one).
#   usage: ROUTEQ=build/tests/tools/routeq tests/integration/route_lookup.sh
set -euo pipefail
SRCDIR=${NFFLOWD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../lab/lab.sh
. "$SRCDIR/tests/lab/lab.sh"
# shellcheck source=../lab/checks.sh
. "$SRCDIR/tests/lab/checks.sh"

if [ -z "${ROUTEQ:-}" ] || [ ! -x "$ROUTEQ" ]; then
	echo "FAIL: set ROUTEQ to the built routeq (got '${ROUTEQ:-}')" >&2
	exit 1
fi
lab_require ip
lab_up

# Addresses of the lab plus IPv6 ones (no duplicate detection, so that they
# are usable, and the routes announced, at once).
lab_ns fw ip addr add 2001:db8:1::1/64 dev fw-lan nodad
lab_ns fw ip addr add 2001:db8:2::1/64 dev fw-wan nodad
lab_ns lan ip addr add 2001:db8:1::2/64 dev lan0 nodad
lab_ns wan ip addr add 2001:db8:2::2/64 dev wan0 nodad

IDX_LAN=$(lab_ns fw ip -o link show dev fw-lan | cut -d: -f1)
IDX_WAN=$(lab_ns fw ip -o link show dev fw-wan | cut -d: -f1)
lab_log "fw-lan is ifindex $IDX_LAN, fw-wan is $IDX_WAN"
check "ifindexes of fw-lan and fw-wan are distinct numbers" \
	test "$IDX_LAN" -gt 1 -a "$IDX_WAN" -gt 1 -a "$IDX_LAN" != "$IDX_WAN"

# The kernel announces link-local addresses once their duplicate detection
# ends; wait for that so that it cannot pass for a change made here.
for _ in $(seq 1 100); do
	[ -z "$(lab_ns fw ip -6 addr show tentative)" ] && break
	sleep 0.1
done
sleep 0.3

# Run routeq in fw (bounded); its output lines are kept in OUT.
OUT=
routeq() {
	OUT=$(lab_ns fw timeout 20 "$ROUTEQ" "$@") || {
		fail "routeq $* exited $?"
		OUT=
	}
	printf '%s\n' "$OUT" | sed 's/^/    /'
}

# The value of field $2 on the line of OUT labelled $1.
field() {
	printf '%s\n' "$OUT" | awk -v l="$1" -v f="$2" '
		$1 == l { for (i = 2; i <= NF; i++) {
			split($i, kv, "="); if (kv[1] == f) print kv[2] } }'
}

# expect LABEL FIELD VALUE: a field of the last routeq run.
expect() {
	local got
	got=$(field "$1" "$2")
	if [ "$got" = "$3" ]; then
		echo "ok: $1 $2=$3"
	else
		fail "$1 $2: expected '$3', got '$got'"
	fi
}

echo "== masquerade-like: lan host to a directly connected wan host"
routeq 192.0.2.2 198.51.100.2
expect first in_if "$IDX_LAN"
expect first out_if "$IDX_WAN"
expect first nexthop 0.0.0.0
expect first rnexthop 0.0.0.0
expect first lookups 2
expect first queries 2
expect first failures 0

echo "== no route yet to 203.0.113.0/24 (fw has no default route)"
routeq 192.0.2.2 203.0.113.5
expect first in_if "$IDX_LAN"
expect first out_if 0
expect first nexthop 0.0.0.0
expect first failures 1

lab_ns fw ip route add 203.0.113.0/24 via 198.51.100.2
lab_ns fw ip -6 route add 2001:db8:3::/48 via 2001:db8:2::2

echo "== behind a gateway: 203.0.113.0/24 via 198.51.100.2"
routeq 192.0.2.2 203.0.113.5
expect first in_if "$IDX_LAN"
expect first out_if "$IDX_WAN"
expect first nexthop 198.51.100.2
expect first rnexthop 0.0.0.0
expect first failures 0

echo "== the other way round: the initiator is behind the gateway"
routeq 203.0.113.5 192.0.2.2
expect first in_if "$IDX_WAN"
expect first rnexthop 198.51.100.2
expect first out_if "$IDX_LAN"
expect first nexthop 0.0.0.0

echo "== both ends the same address: the second lookup is a cache hit"
routeq 203.0.113.9 203.0.113.9
expect first in_if "$IDX_WAN"
expect first out_if "$IDX_WAN"
expect first queries 1
expect first hits 1

echo "== IPv6 behind a gateway: 2001:db8:3::/48 via 2001:db8:2::2"
routeq 2001:db8:1::2 2001:db8:3::5
expect first in_if "$IDX_LAN"
expect first out_if "$IDX_WAN"
expect first nexthop 2001:db8:2::2
expect first rnexthop ::
expect first failures 0

echo "== IPv6 without a route"
routeq 2001:db8:1::2 2001:db8:99::1
expect first in_if "$IDX_LAN"
expect first out_if 0
expect first nexthop ::
expect first failures 1

echo "== no change: answers stay cached, no flush"
routeq -w 600 -c true 192.0.2.2 203.0.113.5
expect again nexthop 198.51.100.2
expect again hits 2
expect again queries 2
expect after nexthop 198.51.100.2
expect after flushes 0
expect after queries 2
expect after hits 4

echo "== the route moves to the lan side: flushed, new answer"
routeq -c "ip route replace 203.0.113.0/24 via 192.0.2.2" 192.0.2.2 203.0.113.5
expect first nexthop 198.51.100.2
expect first out_if "$IDX_WAN"
expect again nexthop 198.51.100.2
expect again queries 2
check "after: the cache was flushed" test "$(field after flushes)" -ge 1
expect after nexthop 192.0.2.2
expect after out_if "$IDX_LAN"
expect after in_if "$IDX_LAN"
expect after queries 4

echo "== the route is removed: flushed, no route"
routeq -c "ip route del 203.0.113.0/24" 192.0.2.2 203.0.113.5
expect first nexthop 192.0.2.2
check "after: the cache was flushed" test "$(field after flushes)" -ge 1
expect after out_if 0
expect after nexthop 0.0.0.0
expect after failures 1

echo "== IPv6 route replaced"
routeq -c "ip -6 route replace 2001:db8:3::/48 via 2001:db8:1::2" \
	2001:db8:1::2 2001:db8:3::5
expect first nexthop 2001:db8:2::2
check "after: the cache was flushed" test "$(field after flushes)" -ge 1
expect after nexthop 2001:db8:1::2
expect after out_if "$IDX_LAN"

echo "== a link change flushes too"
routeq -c "ip link set dev fw-wan mtu 1400" 192.0.2.2 198.51.100.2
check "after: the cache was flushed" test "$(field after flushes)" -ge 1
expect after out_if "$IDX_WAN"
expect after queries 4

if [ "$FAILS" -gt 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all route lookup checks passed"
