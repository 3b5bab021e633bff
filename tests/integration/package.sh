#!/bin/bash
# The Debian package: builds it from this tree (packaging/build-deb.sh),
# lintian finds no error, it installs (user, unit enabled, conffile, man
# pages, sysctl.d, modules-load.d), the installed binary checks the example
# configurations, the unit passes systemd-analyze verify and an exposure of
# at most 2.0, an upgrade keeps an edited /etc/nfflowd.conf, and purge leaves
# no file behind.  The package is always purged at the end.
#   usage: tests/integration/package.sh
set -euo pipefail
SRC=${NFFLOWD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MAX_EXPOSURE=2.0

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (dpkg -i)" >&2
	exit 77
fi
if ! command -v dpkg >/dev/null; then
	echo "SKIP: not a Debian system" >&2
	exit 77
fi
# The packaging tools (debhelper, dpkg-dev, fakeroot, lintian, systemd,
# man-db, groff-base, git) are on the project's one package list; installs
# what of it is missing, quiet when nothing is.
if ! "$SRC/tests/deps.sh"; then
	echo "FAIL: tests/deps.sh could not install tests/packages.txt"
	exit 1
fi

# One package test at a time on this host; never touch an nfflowd that was
# installed by someone else.
exec 9>/run/lock/nfflowd-package-test.lock
flock -w 600 9 || { echo "FAIL: another package test holds the lock"; exit 1; }
if dpkg-query -W -f='${Status}\n' nfflowd 2>/dev/null | grep -q 'installed'; then
	echo "SKIP: the nfflowd package is already installed here; not touching it" >&2
	exit 77
fi
for f in /usr/sbin/nfflowd /etc/nfflowd.conf /lib/systemd/system/nfflowd.service; do
	if [ -e "$f" ]; then
		echo "SKIP: $f exists outside the package; not touching it" >&2
		exit 77
	fi
done

WORK=$(mktemp -d /tmp/nfflowd-pkgtest.XXXXXX)
INSTALLED=0
# Purge the package whatever happened, then remove the scratch files.
cleanup() {
	local rc=$?
	if [ $INSTALLED = 1 ]; then
		dpkg --purge nfflowd >"$WORK/purge-trap.log" 2>&1 ||
			{ echo "cleanup: dpkg --purge failed:"; cat "$WORK/purge-trap.log"; }
	fi
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# shellcheck source=../lab/checks.sh
. "$SRC/tests/lab/checks.sh"
DEB_SRC=$SRC
# shellcheck source=../lab/deb.sh
. "$SRC/tests/lab/deb.sh"

# --- build
deb_build "$WORK/out" "$WORK/build.log" || exit 1
DEB=$DEB_FILE
echo "ok: built $(basename "$DEB")"

# --- lintian: errors fail, warnings are listed
lintian --tag-display-limit 0 "$DEB" >"$WORK/lintian.log" 2>&1 || true
grep -v 'running with root privileges' "$WORK/lintian.log" | sed 's/^/  lintian: /' || true
check "lintian reports no error" bash -c "! grep -q '^E:' '$WORK/lintian.log'"

# --- install
INSTALLED=1
if ! dpkg -i "$DEB" >"$WORK/install.log" 2>&1; then
	cat "$WORK/install.log"
	echo "FAIL: dpkg -i"
	exit 1
fi
echo "ok: dpkg -i"
FILES=$(dpkg -L nfflowd)
UNIT=/lib/systemd/system/nfflowd.service
check "binary in /usr/sbin runs" /usr/sbin/nfflowd --version
for f in $UNIT /usr/lib/sysusers.d/nfflowd.conf /usr/lib/sysctl.d/50-nfflowd.conf \
	/usr/lib/modules-load.d/nfflowd.conf /usr/share/man/man8/nfflowd.8.gz \
	/usr/share/man/man5/nfflowd.conf.5.gz /usr/share/doc/nfflowd/README.Debian; do
	check "installed $f" test -s "$f"
done
check "/etc/nfflowd.conf is a conffile" \
	bash -c "dpkg-query -W -f='\${Conffiles}\n' nfflowd | grep -q '^ /etc/nfflowd.conf '"
check "user nfflowd exists (sysusers)" getent passwd nfflowd
check "user nfflowd has no login shell" \
	bash -c "getent passwd nfflowd | grep -qE ':(/usr/sbin/nologin|/sbin/nologin|/bin/false)$'"
check "unit enabled (multi-user.target.wants)" \
	test -L /etc/systemd/system/multi-user.target.wants/nfflowd.service
for m in /usr/share/man/man8/nfflowd.8.gz /usr/share/man/man5/nfflowd.conf.5.gz; do
	check "man -l $(basename "$m") renders without warnings" \
		bash -c "[ -z \"\$(MANWIDTH=80 man --warnings -l '$m' 2>&1 >/dev/null)\" ]"
done

# --- the installed binary against the shipped configurations
for f in /usr/share/doc/nfflowd/examples/nfflowd-minimal.conf \
	/usr/share/doc/nfflowd/examples/nfflowd-args.conf \
	/usr/share/doc/nfflowd/examples/nfflowd-collectors.conf \
	/usr/share/doc/nfflowd/nfflowd.conf.example; do
	check "nfflowd check $(basename "$f"): config OK" \
		bash -c "/usr/sbin/nfflowd -c '$f' check | grep -q '^config: .* OK'"
done
rc=0
OUT=$(/usr/sbin/nfflowd -c /etc/nfflowd.conf check 2>&1) || rc=$?
placeholder_refused() { [ "$rc" = 1 ] && grep -q CHANGE-ME <<<"$OUT"; }
check "unedited /etc/nfflowd.conf: check exits 1 naming the placeholder" placeholder_refused
COND=$(sed -n 's/^ExecCondition=//p' $UNIT)
check "unit has an ExecCondition" test -n "$COND"
check "unedited: ExecCondition skips the start" bash -c "! $COND"

# --- the unit
if command -v systemd-analyze >/dev/null; then
	VERIFY=$(systemd-analyze verify $UNIT 2>&1) && vrc=0 || vrc=$?
	printf '  verify: %s\n' "$VERIFY"
	verify_clean() { [ "$vrc" = 0 ] && [ -z "$VERIFY" ]; }
	check "systemd-analyze verify: exit 0, no complaint" verify_clean
	SEC=$(systemd-analyze security --offline=true $UNIT 2>&1 | tail -1)
	echo "  $SEC"
	EXPO=$(sed -n 's/.*exposure level for nfflowd.service: \([0-9.]*\).*/\1/p' <<<"$SEC")
	check "exposure ${EXPO:-?} <= $MAX_EXPOSURE" \
		awk -v e="${EXPO:-99}" -v m=$MAX_EXPOSURE 'BEGIN { exit !(e <= m) }'
else
	echo "FAIL: systemd-analyze not available"
	FAILS=$((FAILS + 1))
fi

# --- upgrade keeps an edited conffile
sed -i -e '0,/CHANGE-ME/s//192.0.2.1/' -e '0,/CHANGE-ME/s//198.51.100.5/' /etc/nfflowd.conf
cp /etc/nfflowd.conf "$WORK/edited.conf"
check "edited /etc/nfflowd.conf: config OK" \
	bash -c "/usr/sbin/nfflowd -c /etc/nfflowd.conf check | grep -q '^config: .* OK'"
check "edited: ExecCondition lets the start go on" bash -c "$COND"
# A newer version of the same package: only the version differs.
dpkg-deb -R "$DEB" "$WORK/next"
sed -i 's/^Version: .*/&+pkgtest1/' "$WORK/next/DEBIAN/control"
dpkg-deb -b "$WORK/next" "$WORK/next.deb" >/dev/null
if dpkg -i "$WORK/next.deb" >"$WORK/upgrade.log" 2>&1; then
	echo "ok: upgrade to $(dpkg-query -W -f='${Version}' nfflowd)"
else
	cat "$WORK/upgrade.log"
	echo "FAIL: upgrade"
	FAILS=$((FAILS + 1))
fi
check "upgrade kept the edited /etc/nfflowd.conf" cmp -s /etc/nfflowd.conf "$WORK/edited.conf"

# --- purge leaves nothing behind (the user stays, as Debian policy says)
INSTALLED=0
if ! dpkg --purge nfflowd >"$WORK/purge.log" 2>&1; then
	cat "$WORK/purge.log"
	echo "FAIL: dpkg --purge"
	exit 1
fi
echo "ok: dpkg --purge"
left=
while read -r f; do
	[ -d "$f" ] && continue
	[ -f "$f" ] || [ -L "$f" ] || continue
	left="$left $f"
done <<<"$FILES"
for f in /etc/nfflowd.conf /etc/systemd/system/multi-user.target.wants/nfflowd.service \
	/var/lib/systemd/deb-systemd-helper-enabled/nfflowd.service.dsh-also \
	/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/nfflowd.service; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
check "purge removed every file (left:${left:- none})" test -z "$left"
check "dpkg forgot the package" \
	bash -c "! dpkg-query -W -f='\${Status}\n' nfflowd 2>/dev/null | grep -q installed"

if [ $FAILS != 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "package: all checks passed"
