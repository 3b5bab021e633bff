#!/bin/sh
# Installs (as root, from Debian's packages) everything nfflowd's build, lab
# and test suite use. Quiet and quick when all of it is already there.
set -eu
PKGS="meson ninja-build pkg-config gcc clang libevent-dev
libnetfilter-conntrack-dev libmnl-dev libjansson-dev libcmocka-dev
nfdump tshark conntrack nftables iproute2 iputils-ping ncat python3 procps kmod
debhelper dpkg-dev fakeroot lintian systemd valgrind"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
