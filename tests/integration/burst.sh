#!/bin/bash
# Traffic burst (issue "lose no flow"): N real TCP connections lan -> wan
# through the masquerade, as fast as a bounded generator makes them, with
# short conntrack timeouts so that they are destroyed within seconds.  Every
# connection must reach the collector as exactly its three records
# (pre-NAT, post-NAT, reply), each with packets, nothing lost, nothing twice.
#   usage: NFFLOWD=build/nfflowd tests/integration/burst.sh [N] [PARALLEL]
. "$(dirname "$0")/lossless_common.sh"
lab_require nfcapd nfdump conntrack nft ss

N=${1:-5000}
PAR=${2:-64}
# shellcheck disable=SC2034  # read by lab_collector_start
LAB_NFCAPD_ARGS=(-B 67108864)
ll_up
ll_server_start server.log
lab_collector_start
lab_daemon_config
lab_daemon_start

SUMMARY=$(ll_burst client.log "$N" "$PAR") || ll_fail "generator: $SUMMARY"
echo "$SUMMARY"
lab_log "waiting for conntrack to destroy every connection"
lab_ct_drain 30 "dport=$LAB_COLLECTOR_PORT " ||
	ll_fail "connections still in the conntrack table"
GOT=$(ll_wait_lines "$LAB_DIR/nfflowd.out" $((N * 3)) 20)
lab_log "daemon printed $GOT record lines"
lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
ll_server_stop server.log
lab_collector_stop
ll_collector_dump
ll_counters
ll_path_stats

ll_check "the server saw $N connections from the masquerade address" \
	test "$(grep -c "^$LAB_FW_WAN_IP " "$LAB_DIR/server.log")" = "$N"
ll check --nfdump "$LAB_DIR/collector.txt" --csv "$LAB_DIR/nfflowd.out" \
	--client-log "$LAB_DIR/client.log" --server-log "$LAB_DIR/server.log" \
	--exact --expect-records $((N * 3)) ||
	ll_fail "the collector's records (above)"
ll_check "daemon counter records = $((N * 3)) (${CNT[records]:-?})" \
	test "${CNT[records]:-x}" = $((N * 3))
ll_check "overruns = 0 (${CNT[overruns]:-?})" test "${CNT[overruns]:-x}" = 0
ll_check "send errors = 0 (${CNT[send_errors]:-?})" \
	test "${CNT[send_errors]:-x}" = 0
ll_check "live table back to 0 (${CNT[live]:-?})" test "${CNT[live]:-x}" = 0
ll_finish
