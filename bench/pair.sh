#!/bin/bash
# What the backup of a firewall pair pays for the connections it learns
# from conntrackd, against what the master pays for forwarding them: the
# pair lab (tests/lab/pair.sh: keepalived VRRP, conntrackd FTFW with
# DisableExternalCache On, fw1 master), nfflowd on both nodes with
# "active_when_address": "198.51.100.1" (fw1 active, fw2 standby), then
# CONNS short TCP connections lan -> wan:80 through fw1 (tests/lab/
# lossless.py tcp-burst). fw2's kernel gets conntrackd's copy of each
# (injected, then removed when it ended on fw1): its nfflowd learns each
# and, as no packet crossed fw2, exports none (injected_quiet). CPU is
# each daemon's run time from /proc/PID/schedstat (ns; utime+stime from
# /proc/PID/stat, in ticks, when the kernel has no schedstat, and beside
# it as master_stat_cpu_s, backup_stat_cpu_s), from just before the
# traffic until both tables are empty (the exports' own entries aside)
# and neither daemon used CPU for 2 s; counters are each daemon's
# (control socket). Prints one key=value line:
#   pair connections=N master_cpu_s= backup_cpu_s= master_us_per_conn=
#        backup_us_per_conn= ratio_backup_to_master= backup_injected_quiet=
#        backup_records= ...
# Every wait is bounded: the generator by PAIR_BURST_S (default 60 s plus
# 1 s per 100 connections), each table's drain by PAIR_DRAIN_S (30 s), the
# wait for idle daemons by 30 s. PAIR_PARALLEL (default 32) connections at
# once, PAIR_RATE (default 0: unlimited) started per second at most.
#   usage: NFFLOWD=build/nfflowd bench/pair.sh [CONNS]
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export NFFLOWD_SRCDIR=${NFFLOWD_SRCDIR:-$(cd "$BENCH_DIR/.." && pwd)}
# shellcheck source=../tests/integration/lossless_common.sh
. "$NFFLOWD_SRCDIR/tests/integration/lossless_common.sh"
# shellcheck source=../tests/lab/pair.sh
. "$NFFLOWD_SRCDIR/tests/lab/pair.sh"
# shellcheck source=proc.sh
. "$BENCH_DIR/proc.sh"

N=${1:-5000}
PARALLEL=${PAIR_PARALLEL:-32}
RATE=${PAIR_RATE:-0}
BURST_S=${PAIR_BURST_S:-$((60 + N / 100))}
DRAIN_S=${PAIR_DRAIN_S:-30}
VIP=$PAIR_VIP_WAN
lab_require nfcapd conntrack nft ss keepalived conntrackd

# utime + stime of process $1 in clock ticks (0 if it is gone).
ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# Counter $2 of node $1's daemon (control socket), empty if none.
counter() {
	ll counters --socket "$LAB_DIR/nfflowd-$1.sock" 2>/dev/null |
		sed -n "s/^$2=//p" | head -n 1 || true
}

pair_up
pair_conntrackd_start
pair_keepalived_start
if ! pair_wait_master fw1 10; then
	tail -n 20 "$LAB_DIR/keepalived-fw1.err" "$LAB_DIR/keepalived-fw2.err" >&2 || true
	echo "pair connections=$N failed=yes note=no_vrrp_master"
	exit 1
fi
lab_bg srv wan "$LAB_PY" "$LL_PY" tcp-server "$LAB_WAN_IP" 80 \
	"$LAB_DIR/server.log" $((BURST_S + DRAIN_S + 60))
lab_wait_port wan t 80
lab_collector_start
# The daemon as it runs on a pair; no record lines on stdout (the lab's
# default), so that the master's CPU is that of its NetFlow export alone.
for node in fw1 fw2; do
	pair_daemon_config "$node" "\"active_when_address\": \"$VIP\""
	sed -i 's/"stdout": true/"stdout": false/' "$LAB_DIR/nfflowd-$node.json"
done
pair_daemon_start fw1 fw2
MPID=$(lab_pid nfflowd-fw1)
BPID=$(lab_pid nfflowd-fw2)
# Both roles as the pair wants them before the traffic (bounded 5 s).
for _ in $(seq 1 50); do
	[ "$(counter fw1 role)" = active ] && [ "$(counter fw2 role)" = standby ] && break
	sleep 0.1
done
lab_log "roles: fw1 $(counter fw1 role), fw2 $(counter fw2 role)"
sleep 1

M0=$(ticks "$MPID")
B0=$(ticks "$BPID")
MN0=$(run_ns "$MPID")
BN0=$(run_ns "$BPID")
T0=$(date +%s%N)
lab_log "traffic: $N TCP connections through fw1, $PARALLEL at once"
SUMMARY=$(lab_ns lan "$LAB_PY" "$LL_PY" tcp-burst "$LAB_WAN_IP" 80 "$N" \
	"$PARALLEL" "$LAB_DIR/client.log" "$BURST_S" "$RATE" 2>"$LAB_DIR/burst.err") ||
	lab_log "generator: $(tail -n 3 "$LAB_DIR/burst.err" | tr '\n' ' ')"
lab_log "$SUMMARY"
DONE=$(wc -l <"$LAB_DIR/client.log" 2>/dev/null || echo 0)
# Both tables empty (the entries of the daemons' own exports aside), then
# no CPU used by either daemon for 2 s.
DRAINED=yes
for node in fw1 fw2; do
	lab_ct_drain_in "$node" "$DRAIN_S" "dport=$LAB_COLLECTOR_PORT " 2>/dev/null || DRAINED=no
done
both_ticks() { echo "$(ticks "$MPID") $(ticks "$BPID")"; }
wait_still 60 both_ticks || true
M1=$(ticks "$MPID")
B1=$(ticks "$BPID")
MN1=$(run_ns "$MPID")
BN1=$(run_ns "$BPID")
T1=$(date +%s%N)

declare -A C=()
for node in fw1 fw2; do
	for k in role records injected_quiet standby_suppressed new destroy; do
		C[$node.$k]=$(counter "$node" "$k")
	done
done
pair_daemon_stop fw1 fw2 || true

awk -v n="$N" -v done="$DONE" -v m0="$M0" -v m1="$M1" -v b0="$B0" -v b1="$B1" \
	-v mn0="$MN0" -v mn1="$MN1" -v bn0="$BN0" -v bn1="$BN1" \
	-v t0="$T0" -v t1="$T1" -v hz="$(getconf CLK_TCK)" -v drained="$DRAINED" \
	-v biq="${C[fw2.injected_quiet]:-?}" -v brec="${C[fw2.records]:-?}" \
	-v bnew="${C[fw2.new]:-?}" -v bsup="${C[fw2.standby_suppressed]:-?}" \
	-v brole="${C[fw2.role]:-?}" -v mrec="${C[fw1.records]:-?}" \
	-v mnew="${C[fw1.new]:-?}" -v miq="${C[fw1.injected_quiet]:-?}" \
	-v mrole="${C[fw1.role]:-?}" 'BEGIN {
	# utime+stime (ticks), and the run time of schedstat when there is one.
	mt = (m1 - m0) / hz
	bt = (b1 - b0) / hz
	clock = "stat"
	mc = mt
	bc = bt
	if (mn1 > 0 && bn1 > 0) {
		clock = "schedstat"
		mc = (mn1 - mn0) / 1e9
		bc = (bn1 - bn0) / 1e9
	}
	per = done > 0 ? done : n
	printf "pair connections=%d master_cpu_s=%.3f backup_cpu_s=%.3f master_us_per_conn=%.1f backup_us_per_conn=%.1f ratio_backup_to_master=%s backup_injected_quiet=%s backup_records=%s",
		n, mc, bc, mc * 1e6 / per, bc * 1e6 / per,
		(mc > 0 ? sprintf("%.2f", bc / mc) : "n/a"), biq, brec
	printf " completed=%d master_records=%s master_new=%s master_injected_quiet=%s backup_new=%s backup_standby_suppressed=%s master_role=%s backup_role=%s drained=%s wall_s=%.1f cpu_clock=%s master_stat_cpu_s=%.2f backup_stat_cpu_s=%.2f\n",
		done, mrec, mnew, miq, bnew, bsup, mrole, brole, drained, (t1 - t0) / 1e9,
		clock, mt, bt
}'
