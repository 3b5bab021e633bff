#!/bin/bash
# Flush storm (issue "lose no flow"): N conntrack entries in fw, then
# `conntrack -F` at once.  The collector must receive every record of every
# entry exactly once (counted per key), and the daemon's counters agree.
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/tests/tools/ctstorm \
#          tests/integration/storm.sh pre|live|noacct [N]
#   pre:    entries exist before the daemon starts (its initial dump)
#   live:   entries are created while it runs (NEW events fill the table)
#   noacct: as pre, with nf_conntrack_acct off and kernel_setup false
# ctstorm entries have no traffic: with accounting on they carry zero
# counters and no reply packet, so SPEC section 3 gives records 1 and 2;
# without accounting they have no counters and get records 1, 2 and 3.
. "$(dirname "$0")/lossless_common.sh"
lab_require nfcapd nfdump conntrack nft ss
ll_need_ctstorm

MODE=${1:-pre}
N=${2:-50000}
case $MODE in
pre | live) PER=2 ;;
noacct) PER=3 ;;
*) echo "usage: storm.sh pre|live|noacct [N]" >&2; exit 2 ;;
esac
WANT=$((N * PER))

# nfcapd must keep up with the burst: a large socket buffer (the kernel
# caps it at net.core.rmem_max of wan, doubled).
# shellcheck disable=SC2034  # read by lab_collector_start
LAB_NFCAPD_ARGS=(-B 67108864)
ll_up
lab_collector_start
EXTRA=
if [ "$MODE" = noacct ]; then
	lab_ns fw sysctl -q -w net.netfilter.nf_conntrack_acct=0
	EXTRA='"kernel_setup": false'
fi
lab_daemon_config "$EXTRA"
if [ "$MODE" != live ]; then
	ll_ctstorm "$N" 600
fi
lab_daemon_start
if [ "$MODE" = live ]; then
	ll_ctstorm "$N" 600
fi
if [ "$MODE" != live ]; then
	ll_check "the daemon loaded the $N entries from its initial dump" \
		grep -q "loaded $N existing" "$LAB_DIR/nfflowd.err"
fi
ll_check "fw holds the $N entries" test "$(lab_ns fw conntrack -C)" -ge "$N"
IN0=$(ll_udp_mib wan InDatagrams)

T0=$(date +%s.%N)
lab_ns fw conntrack -F 2>/dev/null
GOT=$(ll_wait_lines "$LAB_DIR/nfflowd.out" "$WANT" 60)
T1=$(date +%s.%N)
lab_log "daemon printed $GOT of $WANT record lines $(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }') s after the flush"
sleep 0.5
lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
IN1=$(ll_udp_mib wan InDatagrams)
lab_collector_stop
ll_collector_dump
ll_counters
ll_path_stats

REPLY=()
[ $PER = 3 ] && REPLY=(--storm-reply)
ll check --nfdump "$LAB_DIR/collector.txt" --csv "$LAB_DIR/nfflowd.out" \
	--storm "$N" "${REPLY[@]}" --exact \
	--expect-records "$WANT" || ll_fail "the collector's records (above)"
ll_check "daemon counter records = $WANT (${CNT[records]:-?})" \
	test "${CNT[records]:-x}" = "$WANT"
ll_check "DESTROY events >= $N (${CNT[destroy]:-?})" \
	test "${CNT[destroy]:-0}" -ge "$N"
if [ "$MODE" = live ]; then
	ll_check "NEW events >= $N (${CNT[new]:-?})" test "${CNT[new]:-0}" -ge "$N"
fi
ll_check "overruns = 0 with reliable delivery (${CNT[overruns]:-?})" \
	test "${CNT[overruns]:-x}" = 0
ll_check "send errors = 0 (${CNT[send_errors]:-?})" \
	test "${CNT[send_errors]:-x}" = 0
ll_check "datagrams counted (${CNT[datagrams]:-?}) = datagrams received in wan ($((IN1 - IN0)))" \
	test "${CNT[datagrams]:-x}" = $((IN1 - IN0))
MIN_DG=$(((WANT + 29) / 30))
ll_check "datagrams >= $MIN_DG (30 records each at most)" \
	test "${CNT[datagrams]:-0}" -ge "$MIN_DG"
if [ "$MODE" = noacct ] && [ -n "${CNT[records_no_counters]:-}" ]; then
	ll_check "records without counters = $WANT (${CNT[records_no_counters]})" \
		test "${CNT[records_no_counters]}" = "$WANT"
fi
ll_check "live table back to 0 (${CNT[live]:-?})" test "${CNT[live]:-x}" = 0
ll_finish
