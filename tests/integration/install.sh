#!/bin/bash
# `nfflowd install` (SPEC section 1): refuses without root; without systemd
# it changes nothing and prints the unit and the commands; with systemd it
# writes the unit (or enables a packaged one as it is), creates the user
# through systemd-sysusers, runs daemon-reload and enable, and a second run
# changes nothing.  Each case runs in a private mount namespace with tmpfs
# over /run and a scratch /etc, and with systemctl and systemd-sysusers
# replaced by recorders, so the host is never touched.
#   usage: NFFLOWD=build/nfflowd tests/integration/install.sh
set -euo pipefail

# ------------------------------------------------------------ inner side
# $0 --inner MODE WORK ARGS...: set up the namespace, then run nfflowd ARGS.
#   MODE: nosystemd | systemd | packaged | failing
if [ "${1:-}" = --inner ]; then
	mode=$2 work=$3
	shift 3
	mount -t tmpfs nff-run /run
	[ "$mode" = nosystemd ] || mkdir -p /run/systemd/system
	# A scratch /etc: what the binary and the recorders need, and a passwd
	# without the unit's user.  It persists in WORK/etc between runs.
	if [ ! -d "$work/etc" ]; then
		mkdir -p "$work/etc/systemd/system"
		cp -a /etc/ld.so.cache /etc/nsswitch.conf "$work/etc/"
		grep -v '^nfflowd:' /etc/passwd >"$work/etc/passwd"
		grep -v '^nfflowd:' /etc/group >"$work/etc/group"
	fi
	mount --bind "$work/etc" /etc
	# Hide any unit a package or meson install put on this host; the
	# "packaged" case shows one of its own.
	for d in /lib/systemd/system /usr/lib/systemd/system /usr/local/lib/systemd/system; do
		[ -d "$d" ] && [ ! -L "$d" ] && mount -t tmpfs nff-units "$d"
	done
	for d in /usr/lib/sysusers.d /usr/local/lib/sysusers.d; do
		[ -d "$d" ] && mount -t tmpfs nff-sysusers "$d"
	done
	if [ "$mode" = packaged ]; then
		mkdir -p /lib/systemd/system
		echo "# packaged" >/lib/systemd/system/nfflowd.service
	fi
	rc_fake=0
	[ "$mode" = failing ] && rc_fake=1
	mkdir -p "$work/bin"
	for tool in systemctl systemd-sysusers; do
		printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\nexit %s\n' \
			"$tool" "$work" "$rc_fake" >"$work/bin/$tool"
		chmod 0755 "$work/bin/$tool"
	done
	PATH=$work/bin:$PATH exec "$NFFLOWD" "$@"
fi

# ------------------------------------------------------------ outer side
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root" >&2
	exit 77
fi
for tool in unshare setpriv; do
	command -v $tool >/dev/null || { echo "SKIP: $tool missing" >&2; exit 77; }
done
NFFLOWD=${NFFLOWD:-}
if [ -z "$NFFLOWD" ] || [ ! -x "$NFFLOWD" ]; then
	echo "FAIL: set NFFLOWD to the built nfflowd (got '$NFFLOWD')" >&2
	exit 1
fi
NFFLOWD=$(cd "$(dirname "$NFFLOWD")" && pwd)/$(basename "$NFFLOWD")
export NFFLOWD
# The unit meson configured next to the binary: what install must write.
BUILT_UNIT=$(dirname "$NFFLOWD")/nfflowd.service
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

WORK=$(mktemp -d /tmp/nfflowd-installtest.XXXXXX)
chmod 0755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
FAILS=0
OUT=
RC=0

# check WHAT COMMAND...: a condition that must hold.
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what"
		printf '  | %s\n' "$OUT"
		FAILS=$((FAILS + 1))
	fi
}
# in_ns MODE ARGS...: nfflowd ARGS in a fresh namespace of kind MODE;
# sets STDOUT, STDERR, OUT (both) and RC.
in_ns() {
	local mode=$1
	shift
	RC=0
	STDOUT=$(timeout 20 unshare -m --propagation private \
		"$SELF" --inner "$mode" "$WORK" "$@" 2>"$WORK/stderr") || RC=$?
	STDERR=$(cat "$WORK/stderr")
	OUT=$STDOUT$'\n'$STDERR
}
out_has() { grep -qF -- "$1" <<<"$OUT"; }
stdout_has() { grep -qF -- "$1" <<<"$STDOUT"; }
stderr_has() { grep -qF -- "$1" <<<"$STDERR"; }
lacks() { ! grep -qF -- "$1" <<<"$2"; }
calls_are() { [ "$(cat "$WORK/calls" 2>/dev/null)" = "$1" ]; }
unit() { cat "$WORK/etc/systemd/system/nfflowd.service"; }

# --- not root: refused, nothing run
RC=0
OUT=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$NFFLOWD" install 2>&1) || RC=$?
check "non-root: exit 1 ($RC)" [ "$RC" = 1 ]
check "non-root: says root is needed" out_has "must run as root"

# --- no systemd: prints what to do, changes nothing, exit 0
in_ns nosystemd install
check "no systemd: exit 0 ($RC)" [ "$RC" = 0 ]
check "no systemd: says so" out_has "systemd is not running here"
check "no systemd: names the destination" out_has "/etc/systemd/system/nfflowd.service"
check "no systemd: prints the unit's ExecStart" \
	out_has "$(grep '^ExecStart=' "$BUILT_UNIT")"
check "no systemd: prints the commands" out_has "systemctl enable nfflowd.service"
check "no systemd: wrote nothing" test ! -e "$WORK/etc/systemd/system/nfflowd.service"
check "no systemd: ran nothing" test ! -e "$WORK/calls"

# --- systemd, nothing installed yet
in_ns systemd install
check "systemd: exit 0 ($RC)" [ "$RC" = 0 ]
check "systemd: the unit written is the built unit" \
	cmp -s "$WORK/etc/systemd/system/nfflowd.service" "$BUILT_UNIT"
check "systemd: unit mode 0644" \
	[ "$(stat -c %a "$WORK/etc/systemd/system/nfflowd.service")" = 644 ]
check "systemd: sysusers file written" test -s "$WORK/etc/sysusers.d/nfflowd.conf"
check "systemd: sysusers, daemon-reload, enable, in that order" calls_are \
"systemd-sysusers /etc/sysusers.d/nfflowd.conf
systemctl daemon-reload
systemctl enable nfflowd.service"
check "systemd: prints the status command" out_has "systemctl status nfflowd.service"

# --- again: idempotent
cp "$WORK/etc/systemd/system/nfflowd.service" "$WORK/unit.first"
rm -f "$WORK/calls"
in_ns systemd install
check "again: exit 0 ($RC)" [ "$RC" = 0 ]
check "again: unit up to date" out_has "is up to date"
check "again: unit unchanged" cmp -s "$WORK/etc/systemd/system/nfflowd.service" "$WORK/unit.first"

# --- another configuration file
rm -f "$WORK/calls"
in_ns systemd -c /etc/nfflowd-other.conf install
check "-c FILE: exit 0 ($RC)" [ "$RC" = 0 ]
check "-c FILE: unit replaced" out_has "replaced /etc/systemd/system/nfflowd.service"
check "-c FILE: every command reads FILE" \
	bash -c "[ \$(grep -c -- '-c /etc/nfflowd-other.conf' '$WORK/etc/systemd/system/nfflowd.service') = 3 ]"
check "-c FILE: no /etc/nfflowd.conf left in the unit" \
	bash -c "! grep -q '/etc/nfflowd.conf' '$WORK/etc/systemd/system/nfflowd.service'"
# FILE does not exist: the service cannot start, which is said on stderr.
check "-c FILE missing: says on stderr that the configuration is not usable" \
	stderr_has "note: the configuration is not usable yet"
check "-c FILE missing: not on stdout" lacks "not usable" "$STDOUT"

# --- a relative configuration path: the unit's commands run in /, so the
# unit names the file by its absolute path
mkdir -p "$WORK/rel"
rm -f "$WORK/calls"
cd "$WORK/rel"
in_ns systemd -c ./nfflowd-rel.conf install
cd - >/dev/null
check "relative -c: exit 0 ($RC)" [ "$RC" = 0 ]
check "relative -c: every command reads the absolute path" \
	bash -c "[ \$(grep -c -- '-c $WORK/rel/nfflowd-rel.conf ' '$WORK/etc/systemd/system/nfflowd.service') = 3 ]"
check "relative -c: so does ExecCondition" \
	bash -c "grep -q '^ExecCondition=.* $WORK/rel/nfflowd-rel.conf' '$WORK/etc/systemd/system/nfflowd.service'"
check "relative -c: no relative path left" \
	bash -c "! grep -q 'nfflowd-rel.conf' <(grep -v '$WORK/rel/nfflowd-rel.conf' '$WORK/etc/systemd/system/nfflowd.service')"
check "relative -c: the advice names the absolute path" \
	stderr_has "nfflowd -c $WORK/rel/nfflowd-rel.conf check"

# --- a path with a space: one word for systemd (double quotes), and one
# word for the shell of ExecCondition (single quotes, escaped for systemd)
rm -f "$WORK/calls"
in_ns systemd -c "/etc/nfflowd test.conf" install
check "path with a space: exit 0 ($RC)" [ "$RC" = 0 ]
check "path with a space: quoted in ExecStartPre, ExecStart and ExecReload" \
	bash -c "[ \$(grep -cF -- '-c \"/etc/nfflowd test.conf\" ' '$WORK/etc/systemd/system/nfflowd.service') = 3 ]"
check "path with a space: ExecStart is -c \"FILE\" -f start" \
	bash -c "grep -qxF -- \"\$(grep '^ExecStart=' '$BUILT_UNIT' | sed 's|/etc/nfflowd.conf|\"/etc/nfflowd test.conf\"|')\" '$WORK/etc/systemd/system/nfflowd.service'"
check "path with a space: ExecCondition's shell gets it in single quotes" \
	bash -c "grep -qF \"CHANGE-ME \\\\'/etc/nfflowd test.conf\\\\''\" '$WORK/etc/systemd/system/nfflowd.service'"
check "path with a space: the advice quotes it for the shell" \
	stderr_has "nfflowd -c '/etc/nfflowd test.conf' check"
# systemd's own reading of the unit, where systemd-analyze can show it.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$WORK/verify"
	cp "$WORK/etc/systemd/system/nfflowd.service" "$WORK/verify/"
	SYSTEMD_LOG_LEVEL=debug timeout 30 systemd-analyze verify --man=no \
		"$WORK/verify/nfflowd.service" >"$WORK/verify.out" 2>&1 || true
	OUT=$(grep 'Command Line:' "$WORK/verify.out" || true)
	check "path with a space: systemd reads ExecStart's path as one word" \
		grep -qF -- '-c "/etc/nfflowd test.conf" -f start' <<<"$OUT"
	check "path with a space: systemd hands the shell the path in single quotes" \
		grep -qF -- "CHANGE-ME '/etc/nfflowd test.conf'\"" <<<"$OUT"
else
	echo "skip: systemd's reading of the unit (no systemd-analyze)"
fi

# --- configurations the hardened unit cannot run with, or should not
# install_with PIDFILE KERNEL_SETUP: install -c a valid config with these.
install_with() {
	printf '{ "source": "192.0.2.1", "collector": "198.51.100.5", "port": 2055,
  "pidfile": "%s", "control_socket": "/run/nfflowd/nfflowd.sock",
  "kernel_setup": %s }\n' "$1" "$2" >"$WORK/etc/nfflowd-test.conf"
	in_ns systemd -c /etc/nfflowd-test.conf install
}
# A pidfile outside the unit's RuntimeDirectory: the service fails, said on
# stderr; kernel_setup on is only advice, said on stdout.
install_with /var/tmp/nfflowd.pid true
check "pidfile outside /run/nfflowd: exit 0 ($RC)" [ "$RC" = 0 ]
check "pidfile outside /run/nfflowd: says on stderr where the unit may write" \
	stderr_has "who may write only in /run/nfflowd/"
check "pidfile outside /run/nfflowd: not on stdout" lacks "may write only" "$STDOUT"
check "kernel_setup on: the sysctl.d advice is on stdout" \
	stdout_has "cannot change net.netfilter.* settings"
check "kernel_setup on: not on stderr" lacks "net.netfilter" "$STDERR"
install_with /run/nfflowd/nfflowd.pid false
check "a config the unit runs with: exit 0 ($RC)" [ "$RC" = 0 ]
check "a config the unit runs with: nothing on stderr" [ -z "$STDERR" ]
check "a config the unit runs with: no note" lacks "note:" "$OUT"

# --- a unit from the package: enabled as it is, not copied
rm -rf "${WORK:?}/etc" "${WORK:?}/calls"
in_ns packaged install
check "packaged: exit 0 ($RC)" [ "$RC" = 0 ]
check "packaged: uses the package's unit" out_has "enabling it as it is"
check "packaged: no copy in /etc/systemd/system" \
	test ! -e "$WORK/etc/systemd/system/nfflowd.service"
check "packaged: daemon-reload and enable ran" \
	bash -c "grep -qx 'systemctl daemon-reload' '$WORK/calls' && grep -qx 'systemctl enable nfflowd.service' '$WORK/calls'"

# --- a failing systemctl is an error
rm -rf "${WORK:?}/etc" "${WORK:?}/calls"
in_ns failing install
check "failing systemctl: exit 1 ($RC)" [ "$RC" = 1 ]
check "failing systemctl: says which step" out_has "failed"

if [ $FAILS != 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "install: all checks passed"
