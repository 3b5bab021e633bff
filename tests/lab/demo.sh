#!/bin/bash
# Quick start: build nfflowd and watch it export the connections of a small
# NAT firewall, built from three throwaway network namespaces, to nfcapd.
#
#   sudo tests/lab/demo.sh          (root, Debian 12; BUILD_DIR=build)
#
# Installs the missing Debian packages (tests/deps.sh), builds into $BUILD_DIR with meson,
# runs one TCP, UDP (answered and not) and ICMP connection through the
# masquerade plus one port forward, then prints what the collector received
# and the daemon's own record lines.  Touches nothing outside the namespaces
# it creates; exits non-zero if no record arrived.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build}

if [ "$(id -u)" != 0 ]; then
	echo "demo.sh: run as root (it creates network namespaces)" >&2
	exit 1
fi

# The project's one package list (tests/packages.txt), as the test suite
# installs it: the demo may be the first command run on a fresh machine.
"$REPO/tests/deps.sh"

echo "==> building into $BUILD_DIR"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
	meson setup "$BUILD_DIR" "$REPO" >/dev/null
fi
ninja -C "$BUILD_DIR" nfflowd >/dev/null
NFFLOWD=$BUILD_DIR/nfflowd
"$NFFLOWD" --version

# shellcheck source=lab.sh
. "$REPO/tests/lab/lab.sh"
LAB_NFFLOWD=$NFFLOWD

echo "==> lab: lan 192.0.2.2 -- fw 192.0.2.1/198.51.100.1 -- wan 198.51.100.2 (nfcapd :2055 v5, :4739 IPFIX)"
lab_up
# A second collector speaks IPFIX: one record per direction, with the
# translation in it.
lab_nfcapd_start ipfix 4739
LAB_DAEMON_EXTRA='"collectors": [{"address": "'$LAB_WAN_IP'", "port": 4739, "version": 10}]'
lab_scenario
lab_nfcapd_stop ipfix

n=$(TZ=UTC nfdump -R "$LAB_DIR/flows" -q -N -o 'fmt:%pr' 2>/dev/null | grep -c . || true)
echo
echo "==> nfcapd received $n records, as nfdump shows them:"
lab_collector_show
echo
echo "==> the IPFIX collector got one record per direction, NAT included:"
TZ=UTC nfdump -R "$LAB_DIR/ipfix" -q -N \
	-o 'fmt:%ts  %pr  %sap -> %dap  after NAT: %xsap -> %xdap  %pkt pkts' 2>/dev/null || true
echo
echo "==> nfflowd's own record lines (stdout, SPEC section 5):"
echo "unix_secs,unix_nsecs,sysuptime,exaddr,dpkts,doctets,first,last,srcaddr,dstaddr,nexthop,input,output,srcport,dstport,prot,tos,tcp_flags"
cat "$LAB_DIR/nfflowd.out"
if [ "$n" -eq 0 ]; then
	echo "==> no record arrived at the collector; nfflowd said:" >&2
	cat "$LAB_DIR/nfflowd.err" >&2
	exit 1
fi
echo
echo "==> done: each connection gives record 1 (pre-NAT), 2 (post-NAT, only"
echo "    when NAT happened) and 3 (the reply, only when there was one)."
