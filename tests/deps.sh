#!/bin/sh
# Installs (as root, from Debian's packages) everything nfflowd's build, the
# namespace lab, the demo, the test suite and the benchmarks' own part use:
# the one package list of the project (tests/packages.txt). Both commands of
# the README's quick start call it first, so either may be the first command
# run on a fresh machine. Quiet and quick when all of it is already there.
#
# rsyslog is installed for its rsyslogd binary, which the tests run with a
# private configuration; its system service is not started by the install
# (a policy-rc.d in force for this apt-get run only, when none exists).
#
#   deps.sh                 installs what is missing
#   deps.sh --check [LIST]  installs nothing: prints the packages of LIST
#                           (default the list) that are not installed and
#                           exits 1 when there are any
set -eu
here=$(cd "$(dirname "$0")" && pwd)
check=
list=$here/packages.txt
if [ "${1:-}" = --check ]; then
	check=1
	list=${2:-$list}
fi
PKGS=$(sed -e 's/#.*//' "$list" | tr -s ' \t\n' ' ')
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ -n "$check" ]; then
	echo "${missing# }"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
n=$(echo "$missing" | wc -w)
echo "deps: installing $n Debian packages (a first run takes a few minutes):$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the answer is no.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	debconf-set-selections 2>/dev/null || true
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
	own_policy=$policy
	printf '#!/bin/sh\n# nfflowd tests/deps.sh: no service starts during its install\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$own_policy"' EXIT
	trap 'exit 130' INT TERM
fi
log=$(mktemp /tmp/nfflowd-deps.XXXXXX)
# shellcheck disable=SC2086
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends $missing; } >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "deps: apt-get failed (full log: $log)" >&2
	exit 1
fi
rm -f "$log"
echo "deps: done"
