#!/bin/bash
# Small netlink buffer without reliable delivery (issue "lose no flow"):
# a flush storm overruns the 64 KiB event socket.  The daemon must count
# the overruns, survive, resynchronise, keep exporting (a connection made
# after the storm arrives), and invent nothing: every exported record is a
# record of a destroyed ctstorm entry with the kernel's (zero) counters,
# at most once, entries whole; entries whose DESTROY was lost are counted
# as lost, never exported, so exported + lost = created.
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/tests/tools/ctstorm \
#          tests/integration/smallbuf.sh [N]
. "$(dirname "$0")/lossless_common.sh"
lab_require nfcapd nfdump conntrack nft ss
ll_need_ctstorm

N=${1:-20000}
# shellcheck disable=SC2034  # read by lab_collector_start
LAB_NFCAPD_ARGS=(-B 67108864)
ll_up
ll_server_start server.log
lab_collector_start
lab_daemon_config '"netlink_buffer": 65536, "netlink_reliable": false'
ll_ctstorm "$N" 600
lab_daemon_start
ll_check "the daemon loaded the $N entries" \
	grep -q "loaded $N existing" "$LAB_DIR/nfflowd.err"
ll_check "reliable delivery is off" grep -q "reliable delivery off" "$LAB_DIR/nfflowd.err"

# The daemon is held still (SIGSTOP) while the table is flushed, so the
# 128 KiB the kernel grants for 64 KiB overflows whatever the machine's
# speed: an overrun is certain, not a race the daemon might win.
PID=$(lab_pid nfflowd)
kill -STOP "$PID"
lab_ns fw conntrack -F 2>/dev/null
kill -CONT "$PID"
# Records stop coming once the storm is over; the resync after the last
# overrun comes at most a second after it.
GOT=$(ll_wait_lines "$LAB_DIR/nfflowd.out" $((N * 2)) 30)
sleep 1.5
lab_log "daemon printed $GOT of $((N * 2)) possible record lines"
ll_check "the daemon survived the storm" kill -0 "$PID"

# The daemon goes on exporting: one real connection after the storm.
BEFORE=$(wc -l <"$LAB_DIR/nfflowd.out")
ll_burst client.log 1 1 >/dev/null || ll_fail "the connection after the storm failed"
lab_ct_drain 10 "dport=$LAB_COLLECTOR_PORT " || true
ll_wait_lines "$LAB_DIR/nfflowd.out" $((BEFORE + 3)) 10 >/dev/null
ll_counters
lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
ll_server_stop server.log
lab_collector_stop
ll_collector_dump
[ "${CNT[via]:-}" = socket ] || ll_counters
ll_path_stats

LOST=${CNT[lost_entries]:-}
LOSTARG=()
if [ -n "$LOST" ]; then
	LOSTARG=(--lost "$LOST")
else
	lab_log "no lost_entries counter (no control socket); the log says ${CNT[lost_entries_logged]:-nothing}"
fi
ll check --nfdump "$LAB_DIR/collector.txt" --csv "$LAB_DIR/nfflowd.out" \
	--storm "$N" --client-log "$LAB_DIR/client.log" \
	--server-log "$LAB_DIR/server.log" "${LOSTARG[@]}" --print-entries \
	>"$LAB_DIR/check.out" || ll_fail "the collector's records (below)"
cat "$LAB_DIR/check.out"
EXPORTED=$(sed -n 's/^EXPORTED_ENTRIES=//p' "$LAB_DIR/check.out")
echo "overruns ${CNT[overruns]:-?}, resyncs ${CNT[resyncs]:-${CNT[resync_lines]:-?} logged}, lost entries ${LOST:-${CNT[lost_entries_logged]:-?} logged}, entries exported ${EXPORTED:-?} of $N"
ll_check "overruns counted (${CNT[overruns]:-?} > 0)" test "${CNT[overruns]:-0}" -gt 0
ll_check "a resynchronisation was logged" grep -q resynchronised "$LAB_DIR/nfflowd.err"
if [ -z "$LOST" ] && [ -n "${CNT[lost_entries_logged]:-}" ]; then
	ll_check "exported ($EXPORTED) + lost as logged (${CNT[lost_entries_logged]}) <= $N" \
		test $((EXPORTED + CNT[lost_entries_logged])) -le "$N"
fi
ll_check "daemon counter records (${CNT[records]:-?}) = lines printed" \
	test "${CNT[records]:-x}" = "$(wc -l <"$LAB_DIR/nfflowd.out")"
ll_check "live table back to 0 (${CNT[live]:-?})" test "${CNT[live]:-x}" = 0
ll_finish
