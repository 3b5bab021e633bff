#!/bin/bash
# Lifecycle without loss (issue "lose no flow").
#   usage: NFFLOWD=build/nfflowd tests/integration/lifecycle.sh MODE
#   restart:     a TCP connection open across `nfflowd stop` + start is
#                exported exactly once, with the kernel's start (+-1 s)
#   kill9:       the same across kill -9 and a (detached) `nfflowd start`
#                on the stale pidfile
#   reloadstorm: 100 SIGHUPs in about a second while 200 connections are
#                made: every one exported exactly once, the daemon lives
#   collector:   nfcapd stopped while connections end (the daemon stays up,
#                counts send errors), started again: later ones arrive
#   badreload:   an invalid file on SIGHUP is refused, the daemon goes on
#                exporting with the configuration it had
. "$(dirname "$0")/lossless_common.sh"
lab_require nfcapd nfdump conntrack nft ss

MODE=${1:-}
HOLD_PORT=

# Start a connection lan -> wan:80 that stays open until LAB_DIR/trigger.
hold_start() {
	lab_bg hold lan "$LAB_PY" "$LL_PY" hold-client "$LAB_WAN_IP" 80 \
		"$LAB_DIR/trigger" 60
	for _ in $(seq 1 50); do
		HOLD_PORT=$(sed -n 's/^hold-client: local port //p' "$LAB_DIR/hold.out")
		[ -n "$HOLD_PORT" ] && break
		sleep 0.1
	done
	[ -n "$HOLD_PORT" ] || { ll_fail "the held connection did not open"; ll_finish; }
	lab_log "held connection from port $HOLD_PORT"
}

# Close the held connection and wait for conntrack to destroy it.
hold_end() {
	touch "$LAB_DIR/trigger"
	lab_wait_exit hold 10 || ll_fail "the held connection did not close cleanly"
	lab_ct_drain 10 "dport=$LAB_COLLECTOR_PORT " || ll_fail "conntrack kept entries"
	sleep 0.6
}

# True if the daemon named by the pidfile runs.
# shellcheck disable=SC2317  # called through ll_check
daemon_alive() {
	local pid
	pid=$(cat "$LAB_DIR/nfflowd.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Keep the first daemon's output under another name before a second start.
save_daemon_output() {
	mv "$LAB_DIR/nfflowd.out" "$LAB_DIR/nfflowd.1.out"
	mv "$LAB_DIR/nfflowd.err" "$LAB_DIR/nfflowd.1.err"
}

# Collector and oracle down, records checked for the held connection.
span_check() {
	lab_collector_stop
	lab_oracle_stop
	TZ=UTC nfdump -R "$LAB_DIR/flows" -N -o json >"$LAB_DIR/collector.json"
	ll span --nfdump-json "$LAB_DIR/collector.json" \
		--ct-text "$LAB_DIR/oracle-text.out" --ct-xml "$LAB_DIR/oracle-xml.out" \
		--port "$HOLD_PORT" --tol-ms 1000 ||
		ll_fail "the held connection's records (above)"
}

ll_up
ll_server_start server.log
lab_collector_start

case $MODE in
restart)
	lab_oracle_start
	lab_daemon_config
	lab_daemon_start
	hold_start
	sleep 2
	lab_daemon_stop || ll_fail "the first daemon did not stop cleanly"
	ll_check "the first daemon is gone" test ! -e "$LAB_DIR/nfflowd.pid"
	save_daemon_output
	sleep 0.5
	lab_daemon_start || ll_fail "the second start failed"
	ll_check "the second daemon loaded the held connection" \
		grep -q "loaded [1-9][0-9]* existing" "$LAB_DIR/nfflowd.err"
	sleep 1
	hold_end
	lab_daemon_stop || ll_fail "the second daemon did not stop cleanly"
	span_check
	;;
kill9)
	lab_oracle_start
	lab_daemon_config
	lab_daemon_start
	hold_start
	sleep 2
	# Not lab_stop: it removes the lab's pid record, which is the pidfile.
	PID=$(lab_pid nfflowd)
	kill -KILL "$PID"
	wait "$PID" 2>/dev/null || true
	ll_check "kill -9 left a stale pidfile" test -s "$LAB_DIR/nfflowd.pid"
	save_daemon_output
	sleep 0.5
	RC=0
	lab_nfflowd start >"$LAB_DIR/nfflowd.out" 2>"$LAB_DIR/start.err" || RC=$?
	ll_check "start on the stale pidfile exits 0 ($RC)" test "$RC" = 0
	ll_check "the new daemon runs" daemon_alive
	sleep 1
	hold_end
	RC=0
	lab_nfflowd stop >"$LAB_DIR/stop.out" 2>&1 || RC=$?
	ll_check "stop exits 0 ($RC)" test "$RC" = 0
	ll_check "the new daemon is gone" test ! -e "$LAB_DIR/nfflowd.pid"
	span_check
	;;
reloadstorm)
	lab_daemon_config
	lab_daemon_start
	PID=$(lab_pid nfflowd)
	# 200 connections over about a second, 8 at a time.
	ll_burst client.log 200 8 200 >"$LAB_DIR/burst.out" 2>&1 &
	BURST=$!
	for _ in $(seq 1 100); do
		kill -HUP "$PID" 2>/dev/null || break
		sleep 0.01
	done
	RC=0
	wait "$BURST" || RC=$?
	cat "$LAB_DIR/burst.out"
	ll_check "the generator made its 200 connections" test "$RC" = 0
	ll_check "the daemon survived 100 SIGHUPs" kill -0 "$PID"
	lab_ct_drain 15 "dport=$LAB_COLLECTOR_PORT " || ll_fail "conntrack kept entries"
	sleep 0.6
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	ll_server_stop server.log
	lab_collector_stop
	ll_collector_dump
	ll_counters
	RELOADS=$(grep -c "configuration reloaded" "$LAB_DIR/nfflowd.err" || true)
	lab_log "reloads logged: $RELOADS"
	ll_check "reloads happened ($RELOADS)" test "$RELOADS" -gt 0
	ll_check "no reload failed" test "$(grep -c "reload failed" "$LAB_DIR/nfflowd.err" || true)" = 0
	ll check --nfdump "$LAB_DIR/collector.txt" --csv "$LAB_DIR/nfflowd.out" \
		--client-log "$LAB_DIR/client.log" --server-log "$LAB_DIR/server.log" \
		--exact --expect-records 600 || ll_fail "the collector's records (above)"
	;;
collector)
	lab_daemon_config
	lab_daemon_start
	PID=$(lab_pid nfflowd)
	lab_collector_stop
	ll_server_stop server.log
	ll_server_start down.log
	ll_burst client-down.log 20 4 || ll_fail "connections while the collector is down"
	lab_ct_drain 10 "dport=$LAB_COLLECTOR_PORT " || ll_fail "conntrack kept entries"
	# Several flush intervals: each sends a datagram into the closed port.
	sleep 1
	ll_burst client-down2.log 5 1 >/dev/null || true
	lab_ct_drain 10 "dport=$LAB_COLLECTOR_PORT " || true
	sleep 1
	# A flush of 3000 entries: 200 datagrams in a few loop turns, sent
	# many per sendmmsg(), which the refusals stop part way (src/export.c
	# send_run); each is still counted once, below.
	ll_need_ctstorm
	ll_ctstorm 3000 600 || ll_fail "ctstorm"
	lab_ns fw conntrack -F 2>/dev/null || true
	sleep 1.5
	ll_check "the daemon stays up while the collector is down" kill -0 "$PID"
	lab_collector_start
	ll_server_stop down.log
	ll_server_start up.log
	ll_burst client-up.log 20 4 || ll_fail "connections after the collector is back"
	lab_ct_drain 10 "dport=$LAB_COLLECTOR_PORT " || ll_fail "conntrack kept entries"
	sleep 0.6
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	ll_server_stop up.log
	lab_collector_stop
	ll_collector_dump
	ll_counters
	ll check --nfdump "$LAB_DIR/collector.txt" \
		--client-log "$LAB_DIR/client-up.log" --server-log "$LAB_DIR/up.log" \
		--others-ok || ll_fail "the collector's records after it came back (above)"
	DOWN=$(ll check --nfdump "$LAB_DIR/collector.txt" \
		--client-log "$LAB_DIR/client-down.log" --server-log "$LAB_DIR/down.log" \
		--others-ok 2>&1 | head -n 1 || true)
	lab_log "records of the connections made while it was down: $DOWN"
	ICMP_IN=$(lab_ns fw nstat -az IcmpInDestUnreachs | awk '/Icmp/ { print $2 }')
	lab_log "ICMP port unreachable: wan sent $(lab_ns wan nstat -az IcmpOutDestUnreachs | awk '/Icmp/ { print $2 }'), fw received $ICMP_IN; records ${CNT[records]:-?}, datagrams ${CNT[datagrams]:-?}"
	ll_check "send errors counted while the collector was down (${CNT[send_errors]:-?} > 0)" \
		test "${CNT[send_errors]:-0}" -gt 0
	# Each refusal reaches fw as one ICMP error, which the next send
	# reports, also when it stops a sendmmsg() batch (src/export.c
	# send_run): one send error per ICMP error, none missed or doubled.
	ll_check "one send error per ICMP error fw received (${CNT[send_errors]:-?} = ${ICMP_IN:-?})" \
		test "${CNT[send_errors]:-0}" = "${ICMP_IN:-x}"
	;;
badreload)
	lab_daemon_config
	lab_daemon_start
	PID=$(lab_pid nfflowd)
	ll_burst client-1.log 3 1 >/dev/null || ll_fail "connections before the reload"
	cp "$LAB_DIR/nfflowd.json" "$LAB_DIR/good.json"
	printf '{ "source": "%s", "collector": \n' "$LAB_FW_WAN_IP" >"$LAB_DIR/nfflowd.json"
	kill -HUP "$PID"
	sleep 0.5
	ll_check "the daemon survived the invalid reload" kill -0 "$PID"
	ll_check "it logged why it kept the old configuration" \
		grep -q "reload failed" "$LAB_DIR/nfflowd.err"
	ll_burst client-2.log 3 1 >/dev/null || ll_fail "connections after the reload"
	lab_ct_drain 10 "dport=$LAB_COLLECTOR_PORT " || ll_fail "conntrack kept entries"
	sleep 0.6
	cp "$LAB_DIR/good.json" "$LAB_DIR/nfflowd.json"
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	ll_server_stop server.log
	lab_collector_stop
	ll_collector_dump
	cat "$LAB_DIR/client-1.log" "$LAB_DIR/client-2.log" >"$LAB_DIR/client.log"
	ll check --nfdump "$LAB_DIR/collector.txt" --csv "$LAB_DIR/nfflowd.out" \
		--client-log "$LAB_DIR/client.log" --server-log "$LAB_DIR/server.log" \
		--exact --expect-records 18 || ll_fail "the collector's records (above)"
	;;
*)
	echo "usage: lifecycle.sh restart|kill9|reloadstorm|collector|badreload" >&2
	exit 2
	;;
esac
ll_finish
