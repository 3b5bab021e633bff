#!/bin/bash
# Exact counters across the ttl, restarts and crashes (SPEC section 6,
# "Exactness"): one TCP connection of about 12 s through the masquerade,
# about 1,000 bytes a second up (200 every 0.2 s) and 1,500 down (300),
# with "active_timeout": 2, on a v5 and an IPFIX collector, against
# conntrack's own events (`conntrack -E`, the oracle).  Its exports
# (interim ones and the final one) must add up to conntrack's final
# counters exactly (nfxcheck.py active, which also wants each interim
# export to cover one active timeout, up to twice it plus a tick), where
# the daemon before the fix counted up to half of the connection twice.
#   usage: NFFLOWD=build/nfflowd tests/integration/exact.sh MODE
#   ttl:     "ttl": 4: the entry outlives the ttl three times over; the
#            kernel says it is alive (ttl_alive >= 1, ttl_expired 0), so it
#            is exported as ended once (one flowEndReason 3), not twice
#   ttlquiet: "active_timeout": 10, "ttl": 2, the connection for 7 s:
#            the kernel's answers to the ttl checks confirm it alive
#            (ttl_alive >= 1) and export nothing; it ends before its
#            active timeout, so it is exported once, whole (no interim
#            export: the ttl is no second active timeout)
#   restart: `nfflowd stop` at 6 s, start 1 s later: the second daemon
#            restores the export state from state_file (state_restored
#            >= 1) and exports only the remainder
#   gap [N]: the daemon stops while the connection is idle; then the
#            connection sends N bytes (default 0) and closes, conntrack
#            destroys it; at the next start it is exported as ended
#            (flowEndReason 4, ended_unseen 1) with exactly what the
#            kernel had counted at the stop: the exports add up to
#            conntrack's reading taken right after the stop, and what is
#            missing from its final counters is the N bytes and headers
#   kill9:   "checkpoint_interval": 1, kill -9 at about 6 s (right after an
#            interim export, before the next checkpoint: the worst case),
#            start again: the over-count is at most what the exports of the
#            last checkpoint_interval + 1 s before the kill carried
#            (printed as "over-count after kill -9")
#   corrupt: a state file of garbage, then a valid one truncated, then one
#            of another network namespace: each is named in one log line
#            ("state file ... ignored: ...") and the daemon starts and
#            exports every record of the connections made meanwhile
. "$(dirname "$0")/lossless_common.sh"
lab_require nfcapd nfdump conntrack nft ss

MODE=${1:-}
P5=2055
P10=2057
ALLP=("$P5" "$P10")
TIMEOUT=2
CHAT_PORT=5001
EXPORT_FLOW="src=$LAB_FW_WAN_IP dst=$LAB_WAN_IP "
T0=
HOLD_PORT=

# Keep a stopped or killed daemon's output under NAME ($1) before the next
# start overwrites it.
save_daemon_output() {
	mv "$LAB_DIR/nfflowd.out" "$LAB_DIR/nfflowd.$1.out"
	mv "$LAB_DIR/nfflowd.err" "$LAB_DIR/nfflowd.$1.err"
}

# The lab with the chat server, both collectors, the oracle and a daemon
# with extra JSON members $1 and an active timeout of $2 s (default
# TIMEOUT).
chat_lab() {
	ll_up
	# The wall clock against the boot clock, for the v5 check.
	lab_bg clock wan "$LAB_PY" "$LAB_SRC_DIR/clockwatch.py" "$LAB_DIR/clock.ms" 120
	lab_bg chat wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-server "$LAB_WAN_IP" $CHAT_PORT
	lab_wait_port wan t $CHAT_PORT
	it_collectors_start v5:$P5 ipfix:$P10
	lab_daemon_config "\"active_timeout\": ${2:-$TIMEOUT},${1:+ $1,}
  $(it_collectors_json $P10:10)"
	lab_daemon_start
}

# The connection: chat-client for $1 s (200 bytes up, 300 down every
# 0.2 s), in the background; further arguments go to chat-client
# (TRIGGER [LAST]).  T0 is when it started (ns).
chat_start() {
	lab_bg client lan "$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-client \
		"$LAB_WAN_IP" $CHAT_PORT "$1" 0.2 200 300 "${@:2}"
	T0=$(date +%s%N)
}

# Sleep until $1 s after the connection started.
sleep_until() {
	local left=$(($1 * 1000 - ($(date +%s%N) - T0) / 1000000))
	if [ $left -gt 0 ]; then
		sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
	fi
}

# Wait for the connection's client to finish (at most $1 s).
chat_end() {
	lab_wait_exit client "${1:-30}" || ll_fail "the chat client did not finish cleanly"
	cat "$LAB_DIR/client.out"
}

# Wait (at most $3 s) until the running daemon's counter $1 is at least
# $2; CNT holds the counters then.
counter_wait() {
	local _
	for _ in $(seq 1 $(($3 * 2))); do
		ll_counters 2>/dev/null
		[ "${CNT[$1]:-0}" -ge "$2" ] && return 0
		sleep 0.5
	done
	ll_counters
	return 1
}

# One line (the first) of the daemon's log matching the ERE $1, or nothing.
log_line() {
	grep -E -m1 -- "$1" "$LAB_DIR/nfflowd.err" || true
}

# The connection has ended and conntrack destroyed it: the daemon's
# counters (CNT, from its control socket), then everything stopped and
# the collectors' records in LAB_DIR/v5.json and ipfix.raw; MOVED is how
# far the wall clock moved against the boot clock.
chat_stop_all() {
	lab_ct_drain 20 "$EXPORT_FLOW" || ll_fail "conntrack kept entries"
	# Let the flush interval pass so that nothing relies on the stop flush.
	sleep 0.6
	ll_counters
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	it_collectors_stop v5 ipfix
	lab_stop clock
	MOVED=$(cat "$LAB_DIR/clock.ms" 2>/dev/null) || MOVED=
	ll_check "the wall clock's movement against the boot clock was measured (${MOVED:-none} ms)" \
		test -n "$MOVED"
	TZ=UTC nfdump -R "$LAB_DIR/v5" -N -o json >"$LAB_DIR/v5.json"
	TZ=UTC nfdump -R "$LAB_DIR/ipfix" -N -o raw >"$LAB_DIR/ipfix.raw"
}

# nfxcheck.py active on the v5 and on the IPFIX collector; arguments are
# passed to both, except --final-reason (IPFIX only: v5 has no reason).
chat_check() {
	local oracle=(--ct-text "$LAB_DIR/oracle-text.out" --ct-xml "$LAB_DIR/oracle-xml.out"
		--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" --ports "${ALLP[@]}"
		--dst "$LAB_WAN_IP" --dport "$CHAT_PORT" --timeout "$TIMEOUT")
	local v5=() a
	for a in "$@"; do
		case $a in
		--final-reason=*) ;;
		*) v5+=("$a") ;;
		esac
	done
	echo "----- v5 -----"
	it_nfx active "${oracle[@]}" "${v5[@]}" --clock-moved-ms "${MOVED:-0}" \
		--nfdump-json "$LAB_DIR/v5.json" ||
		ll_fail "v5: the connection's exports against conntrack (above)"
	echo "----- IPFIX -----"
	it_nfx active "${oracle[@]}" "$@" --version 10 \
		--nfdump-raw "$LAB_DIR/ipfix.raw" ||
		ll_fail "IPFIX: the connection's exports against conntrack (above)"
}

# fw's counters of the chat connection now: "PACKETS:BYTES PACKETS:BYTES"
# (original, reply), or nothing when conntrack does not list it.
ct_reading() {
	lab_ns fw conntrack -L -p tcp --dport $CHAT_PORT -o extended 2>/dev/null |
		awk '/ESTABLISHED/ {
			n = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^packets=/) p[n] = substr($i, 9)
				if ($i ~ /^bytes=/) b[n++] = substr($i, 7)
			}
			if (n == 2) { print p[0] ":" b[0] " " p[1] ":" b[1]; exit }
		}'
}


# Check that the running daemon's log ($1: its file) has exactly one line
# about the state file being ignored, which gives a reason (containing $2
# if given).
ignored_once() {
	local n line
	n=$(grep -c "state file.*ignored" "$1" || true)
	line=$(grep -m1 "state file.*ignored" "$1" || true)
	lab_log "logged: ${line:-nothing}"
	ll_check "one log line says the state file is ignored ($n: $line)" test "$n" = 1
	ll_check "it says why${2:+ ($2)}" grep -q "state file .* ignored: .*${2:-}" "$1"
}

# Wait (at most 10 s) until conntrack has destroyed every connection to
# port 80 but the held one.
burst_gone() {
	local _ n=
	for _ in $(seq 1 50); do
		n=$(lab_ns fw conntrack -L -p tcp --dport 80 2>/dev/null |
			grep -vc "sport=$HOLD_PORT " || true)
		[ "$n" = 0 ] && return 0
		sleep 0.2
	done
	lab_log "conntrack still has $n connections to port 80"
	return 1
}

case $MODE in
ttl)
	chat_lab '"ttl": 4'
	lab_log "a TCP conversation of 12 s, three times the ttl of 4 s"
	chat_start 12
	chat_end 30
	chat_stop_all
	ll_check "the kernel confirmed the entry alive past the ttl (ttl_alive ${CNT[ttl_alive]:-?} >= 1)" \
		test "${CNT[ttl_alive]:-0}" -ge 1
	ll_check "nothing expired by the ttl (ttl_expired ${CNT[ttl_expired]:-?})" \
		test "${CNT[ttl_expired]:-x}" = 0
	ll_check "nothing lost (lost_entries ${CNT[lost_entries]:-?})" \
		test "${CNT[lost_entries]:-x}" = 0
	ll_check "the log tells of no ttl drop" \
		test "$(grep -c "older than ttl" "$LAB_DIR/nfflowd.err" || true)" = 0
	chat_check --final-reason=3
	;;
ttlquiet)
	chat_lab '"ttl": 2' 10
	lab_log "a TCP conversation of 7 s, more than three times the ttl of 2 s, less than the active timeout of 10 s"
	chat_start 7
	chat_end 30
	chat_stop_all
	ll_check "the kernel confirmed the entry alive past the ttl (ttl_alive ${CNT[ttl_alive]:-?} >= 1)" \
		test "${CNT[ttl_alive]:-0}" -ge 1
	ll_check "nothing expired by the ttl (ttl_expired ${CNT[ttl_expired]:-?})" \
		test "${CNT[ttl_expired]:-x}" = 0
	ll_check "no interim export (interim ${CNT[interim]:-?})" \
		test "${CNT[interim]:-x}" = 0
	ORACLE=(--ct-text "$LAB_DIR/oracle-text.out" --ct-xml "$LAB_DIR/oracle-xml.out"
		--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" --ports "${ALLP[@]}")
	echo "----- v5 -----"
	it_nfx v5 "${ORACLE[@]}" --nfdump-json "$LAB_DIR/v5.json" ||
		ll_fail "v5: the connection exported once, whole (above)"
	echo "----- IPFIX -----"
	it_nfx nfx "${ORACLE[@]}" --version 10 --port $P10 \
		--nfdump-raw "$LAB_DIR/ipfix.raw" ||
		ll_fail "IPFIX: the connection exported once, whole (above)"
	;;
restart)
	chat_lab
	lab_log "a TCP conversation of 12 s; the daemon stops at 6 s and starts 1 s later"
	chat_start 12
	sleep_until 6
	lab_daemon_stop || ll_fail "the first daemon did not stop cleanly"
	SAVED=$(log_line "export state of [0-9]+ connections saved")
	lab_log "first daemon: $SAVED"
	ll_check "the first daemon saved the export state at its stop ($SAVED)" \
		test -n "$SAVED"
	save_daemon_output 1
	sleep 1
	lab_daemon_start || ll_fail "the second start failed"
	RESTORED=$(log_line "state file .*\(written at a clean stop\): [0-9]+ connections, [1-9][0-9]* still alive")
	lab_log "second daemon: $RESTORED"
	ll_check "the second daemon restored the export state of the live connection ($RESTORED)" \
		test -n "$RESTORED"
	chat_end 30
	chat_stop_all
	ll_check "state_restored >= 1 (${CNT[state_restored]:-?})" \
		test "${CNT[state_restored]:-0}" -ge 1
	ll_check "ended_unseen = 0 (${CNT[ended_unseen]:-?})" \
		test "${CNT[ended_unseen]:-x}" = 0
	chat_check --final-reason=3
	;;
gap)
	N=${2:-0}
	chat_lab
	lab_log "a TCP conversation of 7 s, then idle until the daemon has stopped; then $N bytes and the close"
	chat_start 7 "$LAB_DIR/trigger" "$N"
	for _ in $(seq 1 100); do
		grep -q '^paused' "$LAB_DIR/client.out" && break
		sleep 0.2
	done
	ll_check "the connection talked and paused ($(head -n1 "$LAB_DIR/client.out"))" \
		grep -q '^paused' "$LAB_DIR/client.out"
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	STOP_MS=$(date +%s%3N)
	SAVED=$(log_line "export state of [0-9]+ connections saved")
	lab_log "first daemon: $SAVED"
	ll_check "the daemon saved the export state at its stop ($SAVED)" test -n "$SAVED"
	# The kernel's counters now, twice: the connection is idle, so they
	# are what the daemon read at its stop.
	R1=$(ct_reading)
	sleep 0.3
	R2=$(ct_reading)
	lab_log "conntrack's reading after the stop: $R1, 0.3 s later: $R2"
	ll_check "the connection is idle at the stop ($R1 = $R2)" \
		test -n "$R1" -a "$R1" = "$R2"
	save_daemon_output 1
	touch "$LAB_DIR/trigger"
	chat_end 20
	GAP=$(sed -n 's/^last request \([0-9]*\) bytes$/\1/p' "$LAB_DIR/client.out")
	GAP=${GAP:-0}
	lab_ct_drain 20 "$EXPORT_FLOW" || ll_fail "conntrack kept entries"
	ll_check "conntrack destroyed the connection while no daemon ran (the oracle saw it)" \
		lab_oracle_saw_destroy "$CHAT_PORT" 10
	lab_daemon_start || ll_fail "the second start failed"
	LOADED=$(log_line "state file .*: [0-9]+ connections, [0-9]+ still alive, [1-9][0-9]* ended since")
	lab_log "second daemon: $LOADED"
	ll_check "the second daemon found the connection ended ($LOADED)" test -n "$LOADED"
	counter_wait ended_unseen 1 10 ||
		ll_fail "the ended connection was not exported within 10 s of the start"
	ENDED=$(log_line "connections of the state file ended while no daemon listened")
	ll_check "the log tells of its export ($ENDED)" test -n "$ENDED"
	chat_stop_all
	ll_check "ended_unseen = 1 (${CNT[ended_unseen]:-?})" \
		test "${CNT[ended_unseen]:-x}" = 1
	ll_check "state_restored = 0 (${CNT[state_restored]:-?})" \
		test "${CNT[state_restored]:-x}" = 0
	chat_check --final-reason=4 --want-orig "${R1%% *}" --want-reply "${R1##* }" \
		--gap-payload "$GAP" --end-ms "$STOP_MS"
	;;
kill9)
	chat_lab '"checkpoint_interval": 1'
	lab_log "a TCP conversation of 12 s; kill -9 of the daemon at about 6 s, right after an interim export"
	chat_start 12
	sleep_until 6
	ll_counters
	ll_check "the daemon wrote checkpoints (${CNT[checkpoints]:-?})" \
		test "${CNT[checkpoints]:-0}" -ge 1
	# Record 1 lines of the connection on the daemon's stdout: one per
	# export datagram that carried it.
	rec1() {
		awk -F, -v p=$CHAT_PORT '$9 == "192.0.2.2" && $15 == p' "$LAB_DIR/nfflowd.out" | wc -l
	}
	N0=$(rec1)
	for _ in $(seq 1 250); do
		[ "$(rec1)" -gt "$N0" ] && break
		sleep 0.02
	done
	PID=$(lab_pid nfflowd)
	KILL_MS=$(date +%s%3N)
	# Not lab_stop: it would remove the lab's record of the process.
	kill -KILL "$PID"
	wait "$PID" 2>/dev/null || true
	lab_log "killed the daemon at $(((KILL_MS * 1000000 - T0) / 1000000)) ms; record lines of the connection on its stdout: $N0 before, $(rec1) at the kill"
	ll_check "an interim export went out just before the kill" test "$(rec1)" -gt "$N0"
	ll_check "kill -9 left a stale pidfile" test -s "$LAB_DIR/nfflowd.pid"
	save_daemon_output 1
	sleep 1
	lab_daemon_start || ll_fail "the second start failed"
	RESTORED=$(log_line "state file .*\(a checkpoint\): [0-9]+ connections, [1-9][0-9]* still alive")
	lab_log "second daemon: $RESTORED"
	ll_check "the second daemon restored the export state from a checkpoint ($RESTORED)" \
		test -n "$RESTORED"
	chat_end 30
	chat_stop_all
	ll_check "state_restored >= 1 (${CNT[state_restored]:-?})" \
		test "${CNT[state_restored]:-0}" -ge 1
	chat_check --final-reason=3 --kill-ms "$KILL_MS" --window-ms 2000
	;;
corrupt)
	ll_up
	ll_server_start server.log
	lab_collector_start
	lab_daemon_config
	STATE=$LAB_DIR/nfflowd.state
	# 1. Garbage behind the right magic.
	{ printf 'NFFLOWDS'; head -c 4000 /dev/zero | tr '\0' 'g'; } >"$STATE"
	lab_daemon_start || ll_fail "the daemon did not start on a garbage state file"
	ignored_once "$LAB_DIR/nfflowd.err"
	ll_burst client-1.log 5 1 || ll_fail "connections after the first start"
	# A connection open across the stop: the state file has its record.
	lab_bg hold lan "$LAB_PY" "$LL_PY" hold-client "$LAB_WAN_IP" 80 \
		"$LAB_DIR/trigger" 60
	for _ in $(seq 1 50); do
		HOLD_PORT=$(sed -n 's/^hold-client: local port //p' "$LAB_DIR/hold.out")
		[ -n "$HOLD_PORT" ] && break
		sleep 0.1
	done
	ll_check "the held connection opened (port ${HOLD_PORT:-none})" test -n "$HOLD_PORT"
	burst_gone || ll_fail "conntrack kept the first connections"
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	SAVED=$(log_line "export state of [1-9][0-9]* connections saved")
	ll_check "the daemon wrote a valid state file at its stop ($SAVED)" test -n "$SAVED"
	save_daemon_output 1
	# 2. That file, cut short by 30 bytes.
	SIZE=$(stat -c %s "$STATE")
	head -c $((SIZE - 30)) "$STATE" >"$STATE.cut"
	mv "$STATE.cut" "$STATE"
	lab_log "state file of $SIZE bytes truncated to $((SIZE - 30))"
	lab_daemon_start || ll_fail "the daemon did not start on a truncated state file"
	ignored_once "$LAB_DIR/nfflowd.err" truncated
	ll_burst client-2.log 5 1 || ll_fail "connections after the second start"
	burst_gone || ll_fail "conntrack kept the second connections"
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	save_daemon_output 2
	# 3. A valid file of another network namespace: a daemon in lan
	# (whose conntrack table is another one) writes it at its stop.
	sed -e "s|\"$LAB_FW_WAN_IP\"|\"$LAB_LAN_IP\"|" \
		-e "s|$LAB_DIR/nfflowd\.|$LAB_DIR/lan.|g" \
		"$LAB_DIR/nfflowd.json" >"$LAB_DIR/lan.json"
	lab_bg lan-daemon lan "$LAB_NFFLOWD" -c "$LAB_DIR/lan.json" -f start
	for _ in $(seq 1 100); do
		grep -q 'ready (pid' "$LAB_DIR/lan-daemon.err" 2>/dev/null && break
		sleep 0.1
	done
	lab_stop lan-daemon TERM || ll_fail "the daemon in lan did not stop cleanly"
	ll_check "the daemon in lan wrote its state file" test -s "$LAB_DIR/lan.state"
	cp "$LAB_DIR/lan.state" "$STATE"
	lab_daemon_start || ll_fail "the daemon did not start on another namespace's state file"
	ignored_once "$LAB_DIR/nfflowd.err" "another network namespace"
	ll_burst client-3.log 5 1 || ll_fail "connections after the third start"
	touch "$LAB_DIR/trigger"
	lab_wait_exit hold 10 || ll_fail "the held connection did not close cleanly"
	lab_ct_drain 15 "dport=$LAB_COLLECTOR_PORT " || ll_fail "conntrack kept entries"
	sleep 0.6
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	ll_server_stop server.log
	lab_collector_stop
	ll_collector_dump
	cat "$LAB_DIR/client-1.log" "$LAB_DIR/client-2.log" "$LAB_DIR/client-3.log" \
		>"$LAB_DIR/client.log"
	echo "$HOLD_PORT" >>"$LAB_DIR/client.log"
	cat "$LAB_DIR/nfflowd.1.out" "$LAB_DIR/nfflowd.2.out" "$LAB_DIR/nfflowd.out" \
		>"$LAB_DIR/all.out"
	ll check --nfdump "$LAB_DIR/collector.txt" --csv "$LAB_DIR/all.out" \
		--client-log "$LAB_DIR/client.log" --server-log "$LAB_DIR/server.log" \
		--exact --expect-records 48 || ll_fail "the collector's records (above)"
	;;
*)
	echo "usage: exact.sh ttl|ttlquiet|restart|gap [N]|kill9|corrupt" >&2
	exit 2
	;;
esac
ll_finish
