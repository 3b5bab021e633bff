#!/bin/bash
# The syslog side of SPEC section 5: every record line the daemon prints on
# stdout also reaches syslog as one message with the configured facility,
# priority and ident ([pid] included) and the identical CSV text;
# diagnostics go to the daemon facility and never into the record stream; a
# reload that changes facility, priority and ident applies to the records
# that follow; with "enabled": false no record reaches syslog.
#
# The daemon runs in the lab's fw namespace and in a private mount
# namespace where /dev/log is a socket of the test (tests/lab/devlog.sh):
# the host's /dev and /dev/log are never touched.  Three daemon runs:
#   fg   `-f start`, local3.notice "natrec"; reload to local5.info
#        "natrec2"; reload with syslog disabled
#   bg   detached start (diagnostics then go to syslog too), local3.notice
#        "natrec"; reload to local5.info "natrec2"
#   off  detached start with "enabled": false from the start
#   usage: NFFLOWD=build/nfflowd tests/integration/syslog.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd conntrack nft ss unshare mount
if ! unshare --mount --propagation private true 2>/dev/null; then
	echo "SKIP: unshare --mount unusable" >&2
	exit 77
fi
if ! unshare --mount --propagation private \
	sh -c 'mount -t tmpfs probe /mnt && umount /mnt' 2>/dev/null; then
	echo "SKIP: mount unusable in a mount namespace" >&2
	exit 77
fi

SC_PY=$NFFLOWD_SRCDIR/tests/lab/syslogcheck.py
DEVLOG=$NFFLOWD_SRCDIR/tests/lab/devlog.sh
LOCAL3=19 LOCAL5=21 NOTICE=5 INFO=6


# Run the comparison helper.
sc() {
	"$LAB_PY" "$SC_PY" "$@"
}

# What the host's /dev looks like: /dev/log and the mounts on /dev.
host_dev_state() {
	stat -c '%i %F' /dev/log 2>/dev/null || echo "no /dev/log"
	awk '$5 == "/dev" || $5 ~ "^/dev/"' /proc/self/mountinfo
}

# Write the daemon's configuration with syslog object $1.
write_config() {
	lab_daemon_config "" "$1"
}

RUN='' RUN_DIR='' DPID='' MNTNS='' LPID=''

# Start the daemon as run $1 (fg: `-f start`, bg: detached `start`) in fw,
# inside a private mount namespace with our /dev/log.  Sets DPID (the
# daemon), LPID (the listener) and MNTNS (the mount namespace).
run_start() {
	RUN=$1
	RUN_DIR=$LAB_DIR/$RUN
	mkdir -p "$RUN_DIR"
	local args=(-c "$LAB_DIR/nfflowd.json" start) st=0
	[ "$2" = fg ] && args=(-c "$LAB_DIR/nfflowd.json" -f start)
	lab_bg "$RUN" fw unshare --mount --propagation private \
		bash "$DEVLOG" "$RUN_DIR" 120 "$LAB_NFFLOWD" "${args[@]}"
	DPID=
	if [ "$2" = fg ]; then
		DPID=$(lab_pid "$RUN")
		for _ in $(seq 1 100); do
			grep -q 'ready (pid' "$LAB_DIR/$RUN.err" 2>/dev/null && break
			kill -0 "$DPID" 2>/dev/null || break
			sleep 0.1
		done
		grep -q "ready (pid $DPID)" "$LAB_DIR/$RUN.err" || DPID=
	else
		lab_wait_exit "$RUN" 15 || st=$?
		[ "$st" = 0 ] && DPID=$(cat "$LAB_DIR/nfflowd.pid" 2>/dev/null)
	fi
	LPID=$(cat "$RUN_DIR/listener.pid" 2>/dev/null || true)
	[ -n "$LPID" ] && echo "$LPID $RUN-listener" >>"$LAB_DIR/pids"
	if [ -z "$DPID" ] || ! kill -0 "$DPID" 2>/dev/null; then
		fail "$RUN: the daemon did not start"
		it_show "$LAB_DIR/$RUN.err"
		finish
	fi
	MNTNS=$(readlink "/proc/$DPID/ns/mnt")
	lab_log "$RUN: daemon pid $DPID, listener pid $LPID, $MNTNS," \
		"/dev/log by $(cat "$RUN_DIR/devlog.mode")"
	check "$RUN: the daemon runs in a mount namespace of its own" \
		[ "$MNTNS" != "$(readlink /proc/self/ns/mnt)" ]
	check "$RUN: the listener shares it" \
		[ "$(readlink "/proc/$LPID/ns/mnt")" = "$MNTNS" ]
}

# Number of record lines on the daemon's stdout so far.
stdout_count() {
	sc count-stdout "$LAB_DIR/$RUN.out"
}

# One connection of each kind, then wait until every one is destroyed and
# the stdout record count is still for 1 s.  Prints the number of new
# record lines (at least 1, else the check fails).
traffic() {
	local before now last same=0
	before=$(stdout_count)
	lab_tcp_client syslog >/dev/null
	lab_udp_client syslog >/dev/null
	lab_ping
	lab_ct_drain 20 "dport=$LAB_COLLECTOR_PORT " >&2 || true
	last=$(stdout_count)
	for _ in $(seq 1 60); do
		sleep 0.25
		now=$(stdout_count)
		if [ "$now" = "$last" ] && [ "$now" -gt "$before" ]; then
			same=$((same + 1))
			[ $same -ge 4 ] && break
		else
			same=0
		fi
		last=$now
	done
	echo $((now - before))
}

# Wait (at most 10 s) until "configuration reloaded" was said $1 times, on
# stderr (fg) or in syslog (bg).
wait_reloaded() {
	local n=0 f=$LAB_DIR/$RUN.err
	[ "$2" = bg ] && f=$RUN_DIR/syslog.jsonl
	for _ in $(seq 1 100); do
		n=$(grep -c 'configuration reloaded' "$f" || true)
		[ "$n" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "$RUN: reload $1 not confirmed within 10 s"
	return 1
}

# Reload with syslog object $1 (mode $3) as reload number $2.
reload_to() {
	write_config "$1"
	if ! lab_nfflowd reload >"$RUN_DIR/reload.out" 2>&1; then
		fail "$RUN: nfflowd reload failed: $(cat "$RUN_DIR/reload.out")"
		return 1
	fi
	wait_reloaded "$2" "$3"
}

# Stop the daemon and the listener; check that the mount namespace went
# away with them.
run_stop() {
	local st=0
	lab_nfflowd stop >"$RUN_DIR/stop.out" 2>&1 || st=$?
	check "$RUN: nfflowd stop exits 0 ($st)" [ "$st" = 0 ]
	for _ in $(seq 1 100); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	check "$RUN: the daemon is gone" eval "! kill -0 $DPID 2>/dev/null"
	lab_wait_exit "$RUN" 2 >/dev/null 2>&1 || true
	# Let the listener write the last datagrams out, then end it.
	sleep 0.5
	kill -TERM "$LPID" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$LPID" 2>/dev/null || break
		sleep 0.1
	done
	local left=
	for _ in $(seq 1 50); do
		left=$(for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$MNTNS" ] &&
				echo "${p#/proc/}"
		done || true)
		[ -z "$left" ] && break
		sleep 0.1
	done
	check "$RUN: no process is left in $MNTNS ($left)" [ -z "$left" ]
}

# Print the verdict and exit with it.
finish() {
	check "the host's /dev and /dev/log are as before" \
		[ "$(host_dev_state)" = "$HOST_DEV" ]
	if [ "$FAILS" != 0 ]; then
		echo "$FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}

HOST_DEV=$(host_dev_state)
lab_up
lab_servers_start
lab_collector_start
lab_ct_drain 10

ON3='{"enabled": true, "facility": "local3", "priority": "notice", "ident": "natrec"}'
ON5='{"enabled": true, "facility": "local5", "priority": "info", "ident": "natrec2"}'
OFF5='{"enabled": false, "facility": "local5", "priority": "info", "ident": "natrec2"}'
OFF3='{"enabled": false, "facility": "local3", "priority": "notice", "ident": "natrec"}'

echo "=== fg: foreground, local3.notice natrec -> local5.info natrec2 -> off"
write_config "$ON3"
run_start fg fg
N1=$(traffic)
reload_to "$ON5" 1 fg
N2=$(traffic)
reload_to "$OFF5" 2 fg
N3=$(traffic)
run_stop
lab_log "fg: $N1 records as local3.notice, $N2 as local5.info, $N3 off"
check "fg: syslog equals stdout per segment" sc check \
	--log "$RUN_DIR/syslog.jsonl" --stdout "$LAB_DIR/fg.out" --pid "$DPID" \
	--segment "$N1:$LOCAL3:$NOTICE:natrec" \
	--segment "$N2:$LOCAL5:$INFO:natrec2" \
	--unlogged "$N3" --unlogged-min 1 \
	--diag-ident natrec --diag-ident natrec2
check "fg: diagnostics on stderr (ready, two reloads)" \
	[ "$(grep -cE "ready \(pid $DPID\)|configuration reloaded" "$LAB_DIR/fg.err")" = 3 ]

echo "=== bg: detached, local3.notice natrec -> local5.info natrec2"
write_config "$ON3"
run_start bg bg
N1=$(traffic)
reload_to "$ON5" 1 bg
N2=$(traffic)
run_stop
lab_log "bg: $N1 records as local3.notice, $N2 as local5.info"
check "bg: syslog equals stdout per segment, diagnostics as daemon" sc check \
	--log "$RUN_DIR/syslog.jsonl" --stdout "$LAB_DIR/bg.out" --pid "$DPID" \
	--segment "$N1:$LOCAL3:$NOTICE:natrec" \
	--segment "$N2:$LOCAL5:$INFO:natrec2" \
	--diag-ident natrec --diag-ident natrec2 \
	--expect-diag "^ready \\(pid $DPID\\)\$" \
	--expect-diag '^configuration reloaded from ' \
	--expect-diag '^stopped: ' \
	--stdout-other '^nfflowd started \(pid [0-9]+\)$'

echo "=== off: detached, syslog disabled from the start"
write_config "$OFF3"
run_start off bg
N1=$(traffic)
run_stop
lab_log "off: $N1 records"
check "off: no record in syslog, diagnostics still there" sc check \
	--log "$RUN_DIR/syslog.jsonl" --stdout "$LAB_DIR/off.out" --pid "$DPID" \
	--unlogged "$N1" --unlogged-min 1 --diag-ident natrec \
	--expect-diag "^ready \\(pid $DPID\\)\$" \
	--expect-diag '^stopped: ' \
	--stdout-other '^nfflowd started \(pid [0-9]+\)$'
finish
