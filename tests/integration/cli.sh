#!/bin/bash
# Command line contract (SPEC section 1): exit codes and messages of check,
# start, stop, reload and usage errors, against a daemon running in the lab.
#   usage: NFFLOWD=build/nfflowd tests/integration/cli.sh
. "$(dirname "$0")/common.sh"
lab_require ss

OUT=
STDOUT=
ERR=
RC=0

# Run nfflowd in fw with the given arguments; sets STDOUT, ERR (stderr),
# OUT (both) and RC.  40 s: a reload waits up to 30 s for the daemon's
# verdict.
run() {
	RC=0
	STDOUT=$(lab_ns fw timeout 40 "$LAB_NFFLOWD" "$@" 2>"$LAB_DIR/run.err") || RC=$?
	ERR=$(cat "$LAB_DIR/run.err")
	OUT=$STDOUT$'\n'$ERR
}

# The running daemon's reload counters, "ok failed", from --dump-state
# --json with the file $1.
reload_counts() {
	lab_ns fw timeout 20 "$LAB_NFFLOWD" -c "$1" --dump-state --json 2>/dev/null |
		"$LAB_PY" -c '
import json, sys
r = json.load(sys.stdin)["counters"]["reloads"]
print(r["ok"], r["failed"])'
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
expect "reload of a valid file exits 0 once the daemon took it" 0 "reloaded .*nfflowd\.json"
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

# --- a relative -c, from a directory that is not the daemon's (it works in
# /): start detached, then reload; the daemon must read the file named
mkdir -p "$LAB_DIR/rel"
cp "$LAB_DIR/good.json" "$LAB_DIR/rel/relative.json"
cd "$LAB_DIR/rel"
run -c ./relative.json start
expect "start with a relative -c exits 0" 0
PID=$(cat "$PIDFILE" 2>/dev/null || true)
check "it runs" alive "$PID"
run -c ./relative.json reload
expect "reload with a relative -c exits 0 naming the absolute path" 0 \
	"reloaded $LAB_DIR/rel/relative\.json"
COUNTS=$(reload_counts "$LAB_DIR/rel/relative.json" || true)
check "the daemon took it: reloads ok 1, failed 0 ($COUNTS)" test "$COUNTS" = "1 0"

# --- a file that moves the control socket: the daemon listens on the new
# one only once it took the file, so reload reads the verdict there
sed "s|$LAB_DIR/nfflowd.sock|$LAB_DIR/moved.sock|" "$LAB_DIR/good.json" \
	>"$LAB_DIR/moved.json"
cp "$LAB_DIR/moved.json" "$LAB_DIR/rel/relative.json"
run -c ./relative.json reload
expect "reload that moves the control socket exits 0" 0 "reloaded"
check "the daemon listens on the new socket" test -S "$LAB_DIR/moved.sock"
COUNTS=$(reload_counts "$LAB_DIR/rel/relative.json" || true)
check "reloads ok 2, failed 0 ($COUNTS)" test "$COUNTS" = "2 0"

# --- a file the client finds valid but the daemon refuses: one more
# collector, sent from an address fw does not have, so the daemon cannot
# bind its socket; reload says so with the daemon's reason and exit 1
"$LAB_PY" - "$LAB_DIR/moved.json" "$LAB_DIR/rel/relative.json" "$LAB_WAN_IP" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["collectors"] = [{"address": sys.argv[3], "port": 2056, "source": "203.0.113.9"}]
json.dump(c, open(sys.argv[2], "w"), indent=2)
EOF
run -c ./relative.json check
expect "the client side finds the file valid" 0 "relative\.json OK"
no_foreign_address() {
	! lab_ns fw ip -o addr show | grep -qF ' 203.0.113.9/'
}
check "203.0.113.9 is no address of fw" no_foreign_address
run -c ./relative.json reload
expect "reload of a file the daemon refuses exits 1, giving the daemon's reason" 1 \
	"kept its running configuration: .*203\.0\.113\.9"
check "all of it on stderr, no claim of success on stdout" test -z "$STDOUT"
COUNTS=$(reload_counts "$LAB_DIR/rel/relative.json" || true)
check "the daemon refused it: reloads ok 2, failed 1 ($COUNTS)" test "$COUNTS" = "2 1"
check "the daemon runs on" alive "$PID"
# Its export socket to the first collector stays, none to the refused one.
SOCKS=$(lab_ns fw ss -Huan 2>/dev/null || true)
check "it still exports from $LAB_FW_WAN_IP to $LAB_WAN_IP:$LAB_COLLECTOR_PORT" \
	grep -qE "$LAB_FW_WAN_IP:[0-9]+ +$LAB_WAN_IP:$LAB_COLLECTOR_PORT( |$)" <<<"$SOCKS"
check "no socket to the refused collector" \
	bash -c '! grep -qF ":2056" <<<"$1"' _ "$SOCKS"
# A file that moves the pidfile, not reloaded yet: stop and restart still
# find the daemon (it says on its control socket which file it runs with).
sed "s|$LAB_DIR/nfflowd.pid|$LAB_DIR/moved.pid|" "$LAB_DIR/moved.json" \
	>"$LAB_DIR/rel/relative.json"
run -c ./relative.json restart
expect "restart with a file that moves the pidfile finds the daemon" 0 \
	"stopped \(pid $PID\)"
check "the old daemon is gone" gone "$PID"
check "the new one wrote the new pidfile" test -s "$LAB_DIR/moved.pid"
PID=$(cat "$LAB_DIR/moved.pid" 2>/dev/null)
sed "s|$LAB_DIR/moved.pid|$LAB_DIR/other.pid|" "$LAB_DIR/rel/relative.json" \
	>"$LAB_DIR/other.json"
cp "$LAB_DIR/other.json" "$LAB_DIR/rel/relative.json"
run -c ./relative.json stop
expect "stop with a relative -c and a moved pidfile exits 0" 0
check "the daemon is gone after stop" gone "$PID"
cd "$NFFLOWD_SRCDIR"

if [ $FAILS != 0 ]; then
	echo "$FAILS check(s) failed"
	it_show "$LAB_DIR/nfflowd.err"
	exit 1
fi
echo "all checks passed"
