#!/bin/bash
# The live table of the original tool's behaviour (issue "lose no flow").
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/tests/tools/ctstorm \
#          tests/integration/table.sh destroy|ttl
#   destroy: entries leave the table on DESTROY: after a burst of
#            connections has ended the table is back at its baseline
#   ttl:     with "ttl": 2, entries that never see a DESTROY (ctstorm
#            entries with a long timeout) are dropped after about 3 s and
#            counted as expired by TTL; nothing is exported for them
. "$(dirname "$0")/lossless_common.sh"
lab_require nfcapd nfdump conntrack nft ss

MODE=${1:-}

# Live table size: from the control socket, or -1 when it does not answer.
live_now() {
	ll_counters
	if [ "${CNT[via]:-}" = socket ]; then
		echo "${CNT[live]}"
	else
		echo -1
	fi
}

ll_up
lab_collector_start
case $MODE in
destroy)
	N=1000
	ll_server_start server.log
	lab_daemon_config
	lab_daemon_start
	BASE=$(sed -n 's/.*loaded \([0-9]*\) existing.*/\1/p' "$LAB_DIR/nfflowd.err")
	L0=$(live_now)
	[ "$L0" -ge 0 ] && BASE=$L0
	lab_log "baseline live table: $BASE"
	ll_burst client.log "$N" 16 || ll_fail "the generator"
	L1=$(live_now)
	lab_log "live table right after the burst: $L1"
	lab_ct_drain 15 "dport=$LAB_COLLECTOR_PORT " || ll_fail "conntrack kept entries"
	ll_wait_lines "$LAB_DIR/nfflowd.out" $((N * 3)) 10 >/dev/null
	L2=$(live_now)
	if [ "$L2" -ge 0 ]; then
		ll_check "live table back to the baseline $BASE while running ($L2)" \
			test "$L2" = "$BASE"
	fi
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	ll_counters
	ll_check "live table at stop = baseline $BASE (${CNT[live]:-?})" \
		test "${CNT[live]:-x}" = "$BASE"
	ll_check "DESTROY events >= $N (${CNT[destroy]:-?})" \
		test "${CNT[destroy]:-0}" -ge "$N"
	ll_check "nothing expired by TTL (${CNT[ttl_expired]:-?})" \
		test "${CNT[ttl_expired]:-x}" = 0
	;;
ttl)
	ll_need_ctstorm
	N=1000
	lab_daemon_config '"ttl": 2'
	lab_daemon_start
	ll_ctstorm "$N" 600
	T0=$(date +%s%N)
	L0=$(live_now)
	lab_log "live table after ctstorm: $L0"
	if [ "$L0" -ge 0 ]; then
		ll_check "the $N entries are in the live table ($L0)" test "$L0" -ge "$N"
		L=$L0
		for _ in $(seq 1 40); do
			L=$(live_now)
			[ "$L" -lt "$N" ] && break
			sleep 0.2
		done
		T1=$(date +%s%N)
		lab_log "live table $L after $(((T1 - T0) / 1000000)) ms"
		ll_check "the entries left the table within 4 s ($L)" test "$L" = 0
		ll_check "not before the 2 s ttl ($(((T1 - T0) / 1000000)) ms)" \
			test $(((T1 - T0) / 1000000)) -ge 1800
	else
		sleep 3.5
	fi
	ll_check "fw still holds the entries (no DESTROY came)" \
		test "$(lab_ns fw conntrack -C)" -ge "$N"
	sleep 0.5
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	ll_counters
	ll_check "ttl expired = $N (${CNT[ttl_expired]:-?})" \
		test "${CNT[ttl_expired]:-x}" = "$N"
	ll_check "live table at stop = 0 (${CNT[live]:-?})" \
		test "${CNT[live]:-x}" = 0
	ll_check "the log tells of the TTL drop" \
		grep -q "older than ttl 2 s" "$LAB_DIR/nfflowd.err"
	ll_check "nothing exported for them (${CNT[records]:-?} records)" \
		test "${CNT[records]:-x}" = 0
	lab_collector_stop
	;;
*)
	echo "usage: table.sh destroy|ttl" >&2
	exit 2
	;;
esac
ll_finish
