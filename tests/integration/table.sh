#!/bin/bash
# The live table of the original tool's behaviour (issue "lose no flow").
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/tests/tools/ctstorm \
#          tests/integration/table.sh destroy|ttl|ttlgone
#   destroy: entries leave the table on DESTROY: after a burst of
#            connections has ended the table is back at its baseline
#   ttl:     with "ttl": 2, entries that see no DESTROY (ctstorm entries
#            with a long timeout) but that the kernel still holds stay in
#            the live table: 4 s later all are there, the kernel confirmed
#            each alive (ttl_alive >= N), none expired by TTL, nothing
#            exported; deleted in the kernel (`conntrack -D`, which sends
#            their DESTROY events), they leave the table and each is
#            exported once
#   ttlgone: the same entries made while conntrack events are off, so
#            that deleting them sends no DESTROY: the kernel answers the
#            next ttl check that they are gone, and 2 s later they leave
#            the table, counted as expired by TTL and lost, not exported
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
	ll_check "the $N entries are in the live table ($L0)" test "$L0" -ge "$N"
	# Two ttls at least, and until the kernel has confirmed every entry
	# alive (at most 10 s).
	for _ in $(seq 1 50); do
		ll_counters 2>/dev/null
		[ $(($(date +%s%N) - T0)) -ge 4000000000 ] &&
			[ "${CNT[ttl_alive]:-0}" -ge "$N" ] && break
		sleep 0.2
	done
	ll_counters
	MS=$((($(date +%s%N) - T0) / 1000000))
	ll_check "$MS ms (>= 4000) after ctstorm the $N entries are still in the live table (${CNT[live]:-?})" \
		test "$MS" -ge 4000 -a "${CNT[live]:-0}" -ge "$N"
	ll_check "the kernel confirmed every one alive past the ttl (ttl_alive ${CNT[ttl_alive]:-?} >= $N)" \
		test "${CNT[ttl_alive]:-0}" -ge "$N"
	ll_check "none expired by TTL (ttl_expired ${CNT[ttl_expired]:-?})" \
		test "${CNT[ttl_expired]:-x}" = 0
	ll_check "none lost (lost_entries ${CNT[lost_entries]:-?})" \
		test "${CNT[lost_entries]:-x}" = 0
	ll_check "nothing exported yet (${CNT[records]:-?} records)" \
		test "${CNT[records]:-x}" = 0
	ll_check "fw still holds the entries (no DESTROY came)" \
		test "$(lab_ns fw conntrack -C)" -ge "$N"
	ll_check "the log tells of no TTL drop" \
		test "$(grep -c "older than ttl" "$LAB_DIR/nfflowd.err" || true)" = 0
	# Now the kernel ends them: ctstorm's entries are all those from
	# 192.0.2.2 to 198.51.100.2 (each deletion sends a DESTROY event).
	DEL=$(lab_ns fw conntrack -D -s "$LAB_LAN_IP" -d "$LAB_WAN_IP" 2>&1 >/dev/null |
		sed -n 's/.* \([0-9]*\) flow entries have been deleted.*/\1/p')
	lab_log "conntrack -D deleted ${DEL:-?} entries"
	ll_check "conntrack deleted the $N entries (${DEL:-?})" test "${DEL:-0}" = "$N"
	GOT=$(ll_wait_lines "$LAB_DIR/nfflowd.out" $((N * 2)) 20)
	lab_log "daemon printed $GOT record lines"
	L=$(live_now)
	for _ in $(seq 1 25); do
		[ "$L" = 0 ] && break
		sleep 0.2
		L=$(live_now)
	done
	ll_check "the entries left the live table ($L)" test "$L" = 0
	sleep 0.5
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	ll_counters
	ll_check "DESTROY events >= $N (${CNT[destroy]:-?})" \
		test "${CNT[destroy]:-0}" -ge "$N"
	ll_check "ttl expired = 0 (${CNT[ttl_expired]:-?})" \
		test "${CNT[ttl_expired]:-x}" = 0
	ll_check "records = $((N * 2)) (${CNT[records]:-?})" \
		test "${CNT[records]:-x}" = $((N * 2))
	lab_collector_stop
	ll_collector_dump
	# Accounting on: zero counters and no reply packet, so records 1 and
	# 2 of each entry (SPEC section 3), each exactly once.
	ll check --nfdump "$LAB_DIR/collector.txt" --csv "$LAB_DIR/nfflowd.out" \
		--storm "$N" --exact --expect-records $((N * 2)) ||
		ll_fail "the collector's records (above)"
	;;
ttlgone)
	ll_need_ctstorm
	N=1000
	# Entries made while events are off carry no event extension: the
	# kernel reports neither their creation nor their deletion.
	lab_ns fw sysctl -q -w net.netfilter.nf_conntrack_events=0
	ll_ctstorm "$N" 600
	lab_daemon_config '"ttl": 2'
	lab_daemon_start
	ll_check "the daemon loaded the $N entries from its initial dump" \
		grep -q "loaded $N existing" "$LAB_DIR/nfflowd.err"
	for _ in $(seq 1 50); do
		ll_counters 2>/dev/null
		[ "${CNT[ttl_alive]:-0}" -ge "$N" ] && break
		sleep 0.2
	done
	ll_counters
	ll_check "the kernel confirmed every one alive past the ttl (ttl_alive ${CNT[ttl_alive]:-?} >= $N)" \
		test "${CNT[ttl_alive]:-0}" -ge "$N"
	DEL=$(lab_ns fw conntrack -D -s "$LAB_LAN_IP" -d "$LAB_WAN_IP" 2>&1 >/dev/null |
		sed -n 's/.* \([0-9]*\) flow entries have been deleted.*/\1/p')
	T0=$(date +%s%N)
	ll_check "conntrack deleted the $N entries (${DEL:-?})" test "${DEL:-0}" = "$N"
	# The next check is due a ttl after the last confirmation, then 2 s
	# of grace for a late DESTROY: at most about 6 s (bounded at 15).
	for _ in $(seq 1 75); do
		ll_counters 2>/dev/null
		[ "${CNT[ttl_expired]:-0}" -ge "$N" ] && break
		sleep 0.2
	done
	ll_counters
	lab_log "ttl_expired ${CNT[ttl_expired]:-?} after $((($(date +%s%N) - T0) / 1000000)) ms"
	ll_check "no DESTROY came for them (destroy ${CNT[destroy]:-?})" \
		test "${CNT[destroy]:-x}" = 0
	ll_check "ttl expired = $N (${CNT[ttl_expired]:-?})" \
		test "${CNT[ttl_expired]:-x}" = "$N"
	ll_check "counted lost = $N (lost_entries ${CNT[lost_entries]:-?})" \
		test "${CNT[lost_entries]:-x}" = "$N"
	ll_check "live table 0 (${CNT[live]:-?})" test "${CNT[live]:-x}" = 0
	ll_check "nothing exported for them (${CNT[records]:-?} records)" \
		test "${CNT[records]:-x}" = 0
	LOGGED=$(sed -n 's/.*dropped \([0-9]*\) live entries older than ttl 2 s that the kernel no longer has.*/\1/p' \
		"$LAB_DIR/nfflowd.err" | awk '{ n += $1 } END { print n + 0 }')
	ll_check "the log tells of the TTL drop of $N entries ($LOGGED)" test "$LOGGED" = "$N"
	lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
	lab_collector_stop
	;;
*)
	echo "usage: table.sh destroy|ttl|ttlgone" >&2
	exit 2
	;;
esac
ll_finish
