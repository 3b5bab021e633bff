#!/bin/bash
# The real daemon under valgrind's memcheck through one full life in the
# lab: start with a table dump of preloaded entries, real TCP/UDP/ICMP
# traffic through the masquerade and the port forward, the state dump and
# `nfflowd check` over the control socket, a valid reload that moves the
# export to a second collector, an invalid one, a flush storm, a burst of
# connections, then `nfflowd stop`.  Passes only when memcheck found no
# error and no definitely, indirectly or possibly lost block (still
# reachable blocks are allowed, bounded: see LEAK_REACHABLE_MAX), the
# daemon exited 0, and both collectors hold exactly the expected records.
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/tests/tools/ctstorm \
#          tests/integration/valgrind.sh [PRELOAD] [STORM] [BURST]
. "$(dirname "$0")/lossless_common.sh"
lab_require nfcapd nfdump conntrack nft ss valgrind
ll_need_ctstorm

PRELOAD=${1:-300}
STORM=${2:-3000}
BURST=${3:-300}
PORT2=2056
# Still-reachable bytes at exit come from libraries' one-time state (libc's
# stdio buffers, libevent's globals); the daemon's own tables are freed at
# stop.  A bound well below what the storm's entries would occupy keeps a
# table that is merely "still referenced" at exit from passing as reachable.
LEAK_REACHABLE_MAX=65536

VG_LOG=  # set once the lab directory exists
SC_ENTRIES='
import json, sys
d = json.load(sys.stdin)
ents = d["entries"]
pre = int(sys.argv[1])
dump = [e for e in ents if e.get("source") == "dump"
        and e["orig"].get("dst") == "198.51.100.2"
        and e["orig"].get("dport") == 80
        and 1024 <= e["orig"].get("sport", 0) < 1024 + pre]
print(d["entries_count"], len(ents), d["counters"]["live"], len(dump))'

# Real connections in fw's table: all entries but ctstorm's, which were made
# with a 600 s timeout (TCP in ESTABLISHED has days, UDP and ICMP seconds),
# not counting lines that contain $1.
real_ct_count() {
	lab_ns fw conntrack -L 2>/dev/null | awk '!($3 > 300 && $3 <= 600)' |
		grep -vF -- "${1:-@@none@@}" | grep -c . || true
}

# Wait (at most $1 s) until real_ct_count "$2" is 0.
real_ct_drain() {
	local n=
	for _ in $(seq 1 $(($1 * 4))); do
		n=$(real_ct_count "${2:-}")
		[ "$n" = 0 ] && return 0
		sleep 0.25
	done
	lab_log "fw still holds $n real connections after $1 s"
	return 1
}

# Wait (at most $3 s) until file $1 has at least $2 lines; prints the count.
wait_lines() {
	local n=0
	for _ in $(seq 1 $(($3 * 5))); do
		n=$(wc -l <"$1")
		[ "$n" -ge "$2" ] && break
		sleep 0.2
	done
	echo "$n"
}

# "ok failed records" from the daemon's counters (control socket; the
# paths from the copy of the valid file, as nfflowd.json may be invalid).
reload_counts() {
	lab_ns fw timeout 20 "$LAB_NFFLOWD" -c "$LAB_DIR/good.json" \
		--dump-state --json 2>/dev/null | "$LAB_PY" -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print(c["reloads"]["ok"], c["reloads"]["failed"], c["records"])'
}

# Wait (at most 60 s) until the reload counters are "$1" (ok failed).
wait_reloads() {
	local c=
	for _ in $(seq 1 120); do
		c=$(reload_counts || true)
		[ "${c% *}" = "$1" ] && return 0
		sleep 0.5
	done
	lab_log "reload counters still '$c', want '$1'"
	return 1
}

# Write the daemon's file exporting to collector port $1.
config_port() {
	sed -e "s/\"port\": $LAB_COLLECTOR_PORT/\"port\": $1/" \
		"$LAB_DIR/good.json" >"$LAB_DIR/nfflowd.json.new"
	mv "$LAB_DIR/nfflowd.json.new" "$LAB_DIR/nfflowd.json"
}

# Bytes of one LEAK SUMMARY kind ("definitely lost", ...), 0 if absent.
leak_bytes() {
	local v
	v=$(sed -n "s/.*$1: \([0-9,]*\) bytes.*/\1/p" "$VG_LOG" | tail -n 1)
	v=${v//,/}
	echo "${v:-0}"
}

# shellcheck disable=SC2034  # read by lab_collector_start
LAB_NFCAPD_ARGS=(-B 67108864)
# A work dir of its own name: the valgrind log stays there on failure.
LAB_DIR=$(mktemp -d /tmp/nffvg.XXXXXX)
ll_up
VG_LOG=$LAB_DIR/valgrind.log
# shellcheck disable=SC2034  # read by lab_daemon_start
# shellcheck disable=SC2054  # commas inside valgrind's option values
LAB_DAEMON_WRAPPER=(valgrind --tool=memcheck --leak-check=full
	--show-leak-kinds=definite,indirect,possible
	--errors-for-leak-kinds=definite,indirect,possible
	--track-fds=no --num-callers=40 --error-exitcode=99
	--log-file="$VG_LOG")
# shellcheck disable=SC2034  # read by lab_daemon_start
LAB_READY_TIMEOUT=120
lab_servers_start
lab_collector_start
mkdir -p "$LAB_DIR/flows2"
lab_bg nfcapd2 wan nfcapd -w "$LAB_DIR/flows2" -b "$LAB_WAN_IP" -p "$PORT2" \
	-t 3600 -I nfflab2 -B 67108864
lab_wait_port wan u "$PORT2"
T_START=$(date +%s)

# ---- start: the initial dump brings PRELOAD entries into the table.
ll_ctstorm "$PRELOAD" 600
lab_oracle_start
lab_daemon_config
cp "$LAB_DIR/nfflowd.json" "$LAB_DIR/good.json"
lab_daemon_start || { ll_fail "the daemon under valgrind did not become ready"; ll_finish; }
PID=$(lab_pid nfflowd)
lab_log "daemon ready under valgrind after $(($(date +%s) - T_START)) s"
ll_check "the daemon loaded the $PRELOAD preloaded entries from its dump" \
	grep -q "loaded $PRELOAD existing" "$LAB_DIR/nfflowd.err"
ll_check "valgrind runs the daemon in the process lab_pid names ($PID)" \
	grep -q "^==$PID== Memcheck" "$VG_LOG"

# ---- real traffic through the masquerade and the port forward.
lab_traffic >/dev/null

# ---- the state dump and `check`, over the control socket.
RC=0
lab_nfflowd --dump-state --json >"$LAB_DIR/state.json" 2>"$LAB_DIR/state.err" || RC=$?
ll_check "--dump-state --json exits 0 ($RC)" test "$RC" = 0
S=$("$LAB_PY" -c "$SC_ENTRIES" "$PRELOAD" <"$LAB_DIR/state.json" || true)
lab_log "state dump: entries_count entries live preloaded = $S"
read -r S_COUNT S_ENTS S_LIVE S_DUMP <<<"${S:-x y z w}"
ll_check "the state dump's entries_count = its entries = live ($S)" \
	test "$S_COUNT" = "$S_ENTS" -a "$S_ENTS" = "$S_LIVE"
ll_check "it lists all $PRELOAD preloaded entries as learned from the dump ($S_DUMP)" \
	test "$S_DUMP" = "$PRELOAD"
RC=0
lab_nfflowd check >"$LAB_DIR/check.out" 2>&1 || RC=$?
ll_check "nfflowd check exits 0 ($RC)" test "$RC" = 0
ll_check "check names the running daemon (pid $PID)" \
	grep -q "^daemon: running (pid $PID)" "$LAB_DIR/check.out"
ll_check "check got the live counters from the control socket" \
	grep -q '^daemon: {"type":"counters"' "$LAB_DIR/check.out"

lab_log "waiting for conntrack to destroy every real connection"
real_ct_drain 30 "dport=$LAB_COLLECTOR_PORT " || ll_fail "real connections stayed in the table"
# The daemon's own export flow expires too while it runs (it must not be
# exported); every datagram renews it, so this is bounded.
real_ct_drain 15 || lab_log "export flow still alive; going on"
sleep 1
N1=$(wc -l <"$LAB_DIR/nfflowd.out")
lab_oracle_stop
head -n "$N1" "$LAB_DIR/nfflowd.out" >"$LAB_DIR/nfflowd-1.out"

# ---- a valid reload to the second collector, then an invalid one.
config_port "$PORT2"
RC=0
lab_nfflowd reload >"$LAB_DIR/reload.out" 2>&1 || RC=$?
ll_check "nfflowd reload to port $PORT2 exits 0 ($RC)" test "$RC" = 0
wait_reloads "1 0" || ll_fail "the daemon did not count the valid reload"
printf '{ "source": "%s", "port": \n' "$LAB_FW_WAN_IP" >"$LAB_DIR/nfflowd.json"
RC=0
lab_nfflowd reload >"$LAB_DIR/reload-bad.out" 2>&1 || RC=$?
ll_check "nfflowd reload refuses invalid JSON (exit $RC)" test "$RC" = 1
# The daemon's own refusal: its parser's error path runs under memcheck.
kill -HUP "$PID"
wait_reloads "1 1" || ll_fail "the daemon did not count the refused reload"
ll_check "the daemon survived the invalid file" kill -0 "$PID"
ll_check "it logged why" grep -q "reload failed" "$LAB_DIR/nfflowd.err"
config_port "$PORT2"

# ---- a flush storm: the preloaded entries (from the dump) and the rest of
# STORM new ones (from NEW events), all destroyed at once.
OUT=$(lab_ns fw "$CTSTORM" "$STORM" 600 2>/dev/null) || true
ll_check "ctstorm added the entries the preload did not have ($OUT)" \
	test "$OUT" = "$((STORM - PRELOAD)) created, $PRELOAD failed"
WANT=$((N1 + 2 * STORM))
lab_ns fw conntrack -F 2>/dev/null
GOT=$(wait_lines "$LAB_DIR/nfflowd.out" "$WANT" 180)
lab_log "daemon printed $((GOT - N1)) of $((2 * STORM)) storm record lines"

# ---- a burst of real connections through the masquerade.
lab_stop tcp80 TERM || true
ll_server_start server.log
SUMMARY=$(ll_burst client.log "$BURST" 16) || ll_fail "generator: $SUMMARY"
echo "$SUMMARY"
real_ct_drain 60 "dport=$PORT2 " || ll_fail "burst connections stayed in the table"
WANT=$((WANT + 3 * BURST))
GOT=$(wait_lines "$LAB_DIR/nfflowd.out" "$WANT" 180)
lab_log "daemon printed $GOT record lines in all, $WANT expected"
sleep 1

# ---- `nfflowd stop` signals the pid in the pidfile: the process valgrind runs.
ll_check "the pidfile names the process under valgrind ($PID)" \
	test "$(cat "$LAB_DIR/nfflowd.pid" 2>/dev/null)" = "$PID"
T_STOP=$(date +%s)
RC=0
lab_ns fw timeout 90 "$LAB_NFFLOWD" -c "$LAB_DIR/nfflowd.json" stop \
	>"$LAB_DIR/stop.out" 2>&1 || RC=$?
ll_check "nfflowd stop exits 0 ($RC: $(cat "$LAB_DIR/stop.out"))" test "$RC" = 0
ST=0
lab_wait_exit nfflowd 120 || ST=$?
lab_log "daemon exited with $ST, $(($(date +%s) - T_STOP)) s after stop; life $(($(date +%s) - T_START)) s"
if [ "$ST" = 124 ]; then
	lab_stop nfflowd KILL || true
fi
ll_check "the daemon under valgrind exited 0 (got $ST; 99 = memcheck errors)" \
	test "$ST" = 0
ll_server_stop server.log
sleep 0.3
lab_collector_stop
lab_stop nfcapd2 TERM || true

# ---- memcheck's verdict.
echo "----- valgrind summary -----"
grep -E "in use at exit|total heap usage|definitely lost|indirectly lost|possibly lost|still reachable|suppressed:|All heap blocks|ERROR SUMMARY" "$VG_LOG" |
	sed 's/^==[0-9]*== *//' || true
ll_check "memcheck printed its heap summary (the process ended normally)" \
	grep -q "HEAP SUMMARY" "$VG_LOG"
ll_check "memcheck: ERROR SUMMARY: 0 errors" grep -q "ERROR SUMMARY: 0 errors" "$VG_LOG"
for kind in "definitely lost" "indirectly lost" "possibly lost"; do
	B=$(leak_bytes "$kind")
	ll_check "memcheck: $kind $B bytes" test "$B" = 0
done
B=$(leak_bytes "still reachable")
ll_check "memcheck: still reachable $B bytes <= $LEAK_REACHABLE_MAX" \
	test "$B" -le "$LEAK_REACHABLE_MAX"
if grep -qE "Invalid (read|write)|uninitialised|Invalid free|Mismatched free|are definitely lost|are possibly lost|are indirectly lost" "$VG_LOG"; then
	ll_fail "memcheck reported (first findings below)"
	grep -A 30 -m 3 -E "Invalid|uninitialised|lost in loss record" "$VG_LOG" | head -n 120
fi

# ---- the records: phase one at the first collector against conntrack's
# own events, the storm and the burst at the second, exactly.
TZ=UTC nfdump -R "$LAB_DIR/flows" -N -o json >"$LAB_DIR/collector-1.json"
TZ=UTC nfdump -R "$LAB_DIR/flows2" -q -N -6 -o "$LAB_NFDUMP_FMT" >"$LAB_DIR/collector.txt"
tail -n +"$((N1 + 1))" "$LAB_DIR/nfflowd.out" >"$LAB_DIR/nfflowd-2.out"
it_compare_scenario "$LAB_DIR/collector-1.json" "$LAB_DIR/nfflowd-1.out" ||
	ll_fail "the first collector's records against conntrack (above)"
ll check --nfdump "$LAB_DIR/collector.txt" --csv "$LAB_DIR/nfflowd-2.out" \
	--storm "$STORM" --client-log "$LAB_DIR/client.log" \
	--server-log "$LAB_DIR/server.log" --exact \
	--expect-records $((2 * STORM + 3 * BURST)) ||
	ll_fail "the second collector's records (above)"
ll_counters
ll_check "daemon counter records = $WANT (${CNT[records]:-?})" \
	test "${CNT[records]:-x}" = "$WANT"
ll_check "overruns = 0 (${CNT[overruns]:-?})" test "${CNT[overruns]:-x}" = 0
ll_check "send errors = 0 (${CNT[send_errors]:-?})" test "${CNT[send_errors]:-x}" = 0
ll_check "live table back to 0 (${CNT[live]:-?})" test "${CNT[live]:-x}" = 0
if [ "$FAILS" != 0 ]; then
	it_show "$VG_LOG" 200
fi
ll_finish
