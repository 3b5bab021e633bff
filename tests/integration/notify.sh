#!/bin/bash
# The service manager protocol (SPEC §6, systemd Type=notify) against a
# fake $NOTIFY_SOCKET: READY=1 when ready; RELOADING=1 with MONOTONIC_USEC
# then READY=1 around every reload, a valid one and an invalid one; STATUS=
# counters every 5 s; WATCHDOG=1 every WATCHDOG_USEC/2 when the watchdog is
# meant for this process; STOPPING=1 at stop.  Four daemon runs:
#   1. path socket, WATCHDOG_PID = the daemon's own pid, traffic, a valid
#      `nfflowd reload` and a SIGHUP with an invalid file
#   2. abstract @name socket, WATCHDOG_USEC without WATCHDOG_PID, a reload
#   3. abstract socket, WATCHDOG_PID of another process: no WATCHDOG=1
#   4. no NOTIFY_SOCKET (and one naming nothing): start, reload, export, stop
#   usage: NFFLOWD=build/nfflowd tests/integration/notify.sh
. "$(dirname "$0")/lossless_common.sh"
lab_require nfcapd nfdump conntrack nft ss

NL_PY=$NFFLOWD_SRCDIR/tests/lab/notifylisten.py
WD_USEC=2000000

# Run the notify helper.
nl() {
	"$LAB_PY" "$NL_PY" "$@"
}

# Start the fake notify socket at address $2 in namespace fw (an abstract
# socket belongs to a network namespace) under the name $1.
listener_start() {
	local name=$1 addr=$2
	: >"$LAB_DIR/$name.log"
	lab_bg "$name" fw "$LAB_PY" "$NL_PY" listen "$addr" "$LAB_DIR/$name.log" 60
	for _ in $(seq 1 50); do
		grep -q listening "$LAB_DIR/$name.out" 2>/dev/null && return 0
		sleep 0.1
	done
	ll_fail "the notify listener $name did not start"
	ll_finish
}

# Wait (at most $3 s) until log $1 holds $2 messages equal to READY=1.
wait_ready() {
	local log=$1 want=$2 limit=${3:-10} n=0
	for _ in $(seq 1 $((limit * 10))); do
		n=$(grep -c '"msg": "READY=1"' "$log" || true)
		[ "$n" -ge "$want" ] && return 0
		sleep 0.1
	done
	echo "only $n READY=1 in $log after $limit s"
	return 1
}

# Start `nfflowd -f start` in fw with the environment given as VAR=VALUE
# arguments; WATCHDOG_PID=self is replaced by the daemon's own pid (a shell
# that execs the daemon keeps its pid).  Waits for the pidfile.
daemon_start_env() {
	local envs=() self=0 a
	for a in "$@"; do
		if [ "$a" = WATCHDOG_PID=self ]; then
			self=1
		else
			envs+=("$a")
		fi
	done
	rm -f "$LAB_DIR/nfflowd.pid"
	if [ $self = 1 ]; then
		# shellcheck disable=SC2016 # expanded by the inner shell
		lab_bg nfflowd fw env -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID \
			"${envs[@]}" sh -c 'WATCHDOG_PID=$$ exec "$0" "$@"' \
			"$LAB_NFFLOWD" -c "$LAB_DIR/nfflowd.json" -f start
	else
		lab_bg nfflowd fw env -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID \
			"${envs[@]}" "$LAB_NFFLOWD" -c "$LAB_DIR/nfflowd.json" -f start
	fi
	PID=$(lab_pid nfflowd)
	for _ in $(seq 1 100); do
		[ -s "$LAB_DIR/nfflowd.pid" ] && break
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	ll_check "the daemon started (pid $PID)" test -s "$LAB_DIR/nfflowd.pid"
	ll_check "the pidfile names the process started" \
		test "$(cat "$LAB_DIR/nfflowd.pid" 2>/dev/null)" = "$PID"
	# The pidfile comes before the signal handlers: wait for readiness
	# before any SIGHUP.
	for _ in $(seq 1 100); do
		grep -q "ready (pid" "$LAB_DIR/nfflowd.err" 2>/dev/null && break
		sleep 0.1
	done
	ll_check "the daemon logged that it is ready" grep -q "ready (pid" "$LAB_DIR/nfflowd.err"
}

# The daemon's reload counters from --dump-state --json: "ok failed".
reload_counts() {
	lab_nfflowd --dump-state --json 2>/dev/null | "$LAB_PY" -c '
import json, sys
r = json.load(sys.stdin)["counters"]["reloads"]
print(r["ok"], r["failed"])'
}

# Keep one run's files apart from the next.
save_run() {
	local run=$1 f
	for f in nfflowd.out nfflowd.err stop.out; do
		[ -f "$LAB_DIR/$f" ] && mv "$LAB_DIR/$f" "$LAB_DIR/$run.$f"
	done
	return 0
}

# Stop the daemon with `nfflowd stop`; its exit status must be 0.
stop_daemon() {
	lab_daemon_stop || ll_fail "$1: the daemon did not stop cleanly"
}

ll_up
ll_server_start server.log
lab_collector_start
lab_daemon_config
cp "$LAB_DIR/nfflowd.json" "$LAB_DIR/good.json"

# ---------------------------------------------------------------- run 1
lab_log "run 1: path socket, watchdog for the daemon's own pid"
SOCK1=$LAB_DIR/notify.sock
listener_start n1 "$SOCK1"
daemon_start_env NOTIFY_SOCKET="$SOCK1" WATCHDOG_USEC=$WD_USEC WATCHDOG_PID=self
wait_ready "$LAB_DIR/n1.log" 1 5 || ll_fail "run 1: no READY=1"
ll_burst client-1.log 5 1 >/dev/null || ll_fail "run 1: connections"
# Past the first periodic STATUS=, which must count the connections.
sleep 5.5
# A valid change, through the command line client.
sed 's/"flush_interval": 0.2/"flush_interval": 0.3/' "$LAB_DIR/good.json" \
	>"$LAB_DIR/nfflowd.json"
RC=0
lab_nfflowd reload >"$LAB_DIR/reload.out" 2>&1 || RC=$?
ll_check "nfflowd reload exits 0 ($RC)" test "$RC" = 0
wait_ready "$LAB_DIR/n1.log" 2 5 || ll_fail "run 1: no READY=1 after the reload"
# An invalid file: `nfflowd reload` refuses it, a bare SIGHUP reaches the
# daemon, which must refuse it too and say it is ready again.
printf '{ "source": "%s", "collector": \n' "$LAB_FW_WAN_IP" >"$LAB_DIR/nfflowd.json"
RC=0
lab_nfflowd reload >"$LAB_DIR/reload-bad.out" 2>&1 || RC=$?
ll_check "nfflowd reload refuses the invalid file (exit $RC)" test "$RC" = 1
kill -HUP "$PID"
wait_ready "$LAB_DIR/n1.log" 3 5 || ll_fail "run 1: no READY=1 after the invalid reload"
sleep 1.2
ll_check "the daemon survived the invalid reload" kill -0 "$PID"
ll_check "it logged why it kept the old configuration" \
	grep -q "reload failed" "$LAB_DIR/nfflowd.err"
cp "$LAB_DIR/good.json" "$LAB_DIR/nfflowd.json"
COUNTS=$(reload_counts || true)
ll_check "reloads ok/failed are 1/1 ($COUNTS)" test "$COUNTS" = "1 1"
stop_daemon "run 1"
sleep 0.3
lab_stop n1 TERM || true
nl check "$LAB_DIR/n1.log" --reloads 2 --status-min 2 --status-grows \
	--watchdog-usec $WD_USEC || ll_fail "run 1: the notifications (above)"
save_run run1

# ---------------------------------------------------------------- run 2
lab_log "run 2: abstract socket, WATCHDOG_USEC without WATCHDOG_PID"
SOCK2=@nfflowd-test-$$-$RANDOM
listener_start n2 "$SOCK2"
daemon_start_env NOTIFY_SOCKET="$SOCK2" WATCHDOG_USEC=$WD_USEC
wait_ready "$LAB_DIR/n2.log" 1 5 || ll_fail "run 2: no READY=1"
sleep 1.5
kill -HUP "$PID"
wait_ready "$LAB_DIR/n2.log" 2 5 || ll_fail "run 2: no READY=1 after the reload"
sleep 1.5
stop_daemon "run 2"
sleep 0.3
lab_stop n2 TERM || true
nl check "$LAB_DIR/n2.log" --reloads 1 --status-min 1 \
	--watchdog-usec $WD_USEC || ll_fail "run 2: the notifications (above)"
save_run run2

# ---------------------------------------------------------------- run 3
lab_log "run 3: abstract socket, the watchdog is another process's"
SOCK3=@nfflowd-test-$$-$RANDOM
listener_start n3 "$SOCK3"
daemon_start_env NOTIFY_SOCKET="$SOCK3" WATCHDOG_USEC=$WD_USEC WATCHDOG_PID=1
wait_ready "$LAB_DIR/n3.log" 1 5 || ll_fail "run 3: no READY=1"
sleep 2.5
stop_daemon "run 3"
sleep 0.3
lab_stop n3 TERM || true
nl check "$LAB_DIR/n3.log" --reloads 0 --status-min 1 ||
	ll_fail "run 3: the notifications (above)"
save_run run3

# ---------------------------------------------------------------- run 4
lab_log "run 4: no NOTIFY_SOCKET, then one that names nothing"
for env in "" "NOTIFY_SOCKET=$LAB_DIR/nobody.sock"; do
	# shellcheck disable=SC2086 # empty means no variable at all
	daemon_start_env $env WATCHDOG_USEC=$WD_USEC
	ll_burst client-4.log 3 1 >/dev/null || ll_fail "run 4 ($env): connections"
	kill -HUP "$PID"
	sleep 0.5
	ll_check "run 4 ($env): the daemon runs after a reload" kill -0 "$PID"
	ll_check "run 4 ($env): it reloaded" grep -q "configuration reloaded" "$LAB_DIR/nfflowd.err"
	lab_ct_drain 10 "dport=$LAB_COLLECTOR_PORT " || ll_fail "conntrack kept entries"
	sleep 0.6
	stop_daemon "run 4 ($env)"
	ll_check "run 4 ($env): 9 record lines on stdout" \
		test "$(grep -c '^[0-9]*,[0-9]*,' "$LAB_DIR/nfflowd.out" || true)" = 9
	save_run "run4$([ -n "$env" ] && echo b)"
done

ll_finish
