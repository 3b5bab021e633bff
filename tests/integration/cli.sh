#!/bin/bash
# Command line contract (SPEC section 1): exit codes and messages of check,
# start, stop, reload and usage errors, against a daemon running in the lab.
#   usage: NFFLOWD=build/nfflowd tests/integration/cli.sh
. "$(dirname "$0")/common.sh"
lab_require ss

OUT=
RC=0

# Run nfflowd in fw with the given arguments; sets OUT (stdout+stderr), RC.
run() {
	RC=0
	OUT=$(lab_ns fw timeout 20 "$LAB_NFFLOWD" "$@" 2>&1) || RC=$?
}

# expect WHAT RC [REGEX]: the last run exited RC and its output matches the
# case-insensitive extended REGEX.
expect() {
	local what=$1 want=$2 re=${3:-}
	if [ "$RC" != "$want" ]; then
		echo "FAIL: $what: exit $RC, expected $want; output:"
		printf '  | %s\n' "$OUT"
		FAILS=$((FAILS + 1))
		return 0
	fi
	if [ -n "$re" ] && ! printf '%s\n' "$OUT" | grep -qiE -- "$re"; then
		echo "FAIL: $what: output does not match /$re/:"
		printf '  | %s\n' "$OUT"
		FAILS=$((FAILS + 1))
		return 0
	fi
	echo "ok: $what"
}


# True if the pid in the pidfile ($1) is alive.
alive() {
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null
}

# True once pid $1 is gone (waits at most 10 s).
gone() {
	for _ in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

lab_up
CONF=$LAB_DIR/nfflowd.json
PIDFILE=$LAB_DIR/nfflowd.pid
lab_daemon_config
# No record lines are wanted on a detached daemon's stdout.
sed -i 's/"stdout": true/"stdout": false/' "$CONF"
cp "$CONF" "$LAB_DIR/good.json"

# --- usage and version, no daemon involved
run --version
expect "--version exits 0 and prints a version" 0 '[0-9]+\.[0-9]+'
run -c "$CONF" frobnicate
expect "unknown command is a usage error" 2
run --no-such-option
expect "unknown option is a usage error" 2

# --- check
run -c "$LAB_DIR/missing.json" check
expect "check of a missing file exits 1 naming it" 1 "missing\.json"
run -c "$CONF" check
expect "check of a valid file exits 0 and says not running" 0 "not running"
printf '{\n  "source": "198.51.100.1",\n  "collector": "198.51.100.2",,\n  "port": 2055\n}\n' \
	>"$LAB_DIR/syntax.json"
run -c "$LAB_DIR/syntax.json" check
expect "check of broken JSON exits 1 naming file and line" 1 \
	"syntax\.json.*line[^0-9]*3|line[^0-9]*3.*syntax\.json"
printf '{"source": "198.51.100.1", "collector": "198.51.100.2", "port": 2055, "colector": "x"}\n' \
	>"$LAB_DIR/unknown.json"
run -c "$LAB_DIR/unknown.json" check
expect "check of an unknown key exits 1 naming the key" 1 "colector"
printf '{"source": "198.51.100.1", "collector": "198.51.100.2", "port": 70000}\n' \
	>"$LAB_DIR/range.json"
run -c "$LAB_DIR/range.json" check
expect "check of an out-of-range port exits 1 naming the key" 1 "port"

# --- stop when nothing runs
run -c "$CONF" stop
expect "stop when not running exits 0 and says so" 0 "not running"

# --- kernel prerequisites: off before start, switched on by start
lab_ns fw sysctl -q -w net.netfilter.nf_conntrack_acct=0 \
	net.netfilter.nf_conntrack_timestamp=0
run -c "$CONF" check
expect "check reports accounting off" 0 "nf_conntrack_acct( *= *0|.*\<off\>)"
expect "check reports timestamps off" 0 "nf_conntrack_timestamp( *= *0|.*\<off\>)"

# --- start (detaching), start again
run -c "$CONF" start
expect "start exits 0" 0
sysctl_is() {
	[ "$(lab_ns fw sysctl -n "$1")" = "$2" ]
}
check "start switched nf_conntrack_acct on" sysctl_is net.netfilter.nf_conntrack_acct 1
check "start switched nf_conntrack_timestamp on" sysctl_is net.netfilter.nf_conntrack_timestamp 1
run -c "$CONF" check
expect "check reports accounting on" 0 "nf_conntrack_acct( *= *1|.*\<on\>)"
expect "check reports timestamps on" 0 "nf_conntrack_timestamp( *= *1|.*\<on\>)"
PID=$(cat "$PIDFILE" 2>/dev/null || true)
check "start wrote a pidfile with a live pid" alive "$PID"
run -c "$CONF" start
expect "start while running exits 0 and says already running" 0 "already running"
check "the first daemon still runs" alive "$PID"
run -c "$CONF" check
expect "check names the running pid" 0 "$PID"

# --- reload
printf '{ "source": "198.51.100.1", "collector": \n' >"$CONF"
run -c "$CONF" reload
expect "reload of an invalid file exits 1 naming the file" 1 "nfflowd\.json"
sleep 0.3
check "the daemon survived the invalid reload" alive "$PID"
cp "$LAB_DIR/good.json" "$CONF"
run -c "$CONF" reload
expect "reload of a valid file exits 0" 0
sleep 0.3
check "the daemon runs on after a valid reload" alive "$PID"

# --- stop, also when the file has become invalid meanwhile
printf 'args 198.51.100.1 198.51.100.2 2055\n' >"$CONF"
run -c "$CONF" check
expect "a Config::General file is rejected with the JSON equivalent" 1 '"args"|"source"'
printf '{ "pidfile": "%s", "control_socket": "%s", "port": "x" }\n' \
	"$PIDFILE" "$LAB_DIR/nfflowd.sock" >"$CONF"
run -c "$CONF" stop
expect "stop with an invalid file still stops (exit 0)" 0
check "the daemon is gone after stop" gone "$PID"
check "stop removed the pidfile" test ! -e "$PIDFILE"
cp "$LAB_DIR/good.json" "$CONF"
run -c "$CONF" stop
expect "stop again exits 0 and says not running" 0 "not running"

# --- foreground start and stop through the pidfile
lab_daemon_start
PID=$(lab_pid nfflowd)
run -c "$CONF" stop
expect "stop of a foreground daemon exits 0" 0
st=0
lab_wait_exit nfflowd 10 || st=$?
check "the foreground daemon exited 0 on SIGTERM (status $st)" test "$st" = 0
check "its pidfile is gone" test ! -e "$PIDFILE"

if [ $FAILS != 0 ]; then
	echo "$FAILS check(s) failed"
	it_show "$LAB_DIR/nfflowd.err"
	exit 1
fi
echo "all checks passed"
