#!/bin/bash
# What the active timeout costs on a big table: ENTRIES conntrack entries
# exist (bench/ctfill in the lab's fw namespace, all older than the
# timeout once the daemon is up), nfflowd starts with active_timeout 1 and
# reads every entry's counters at its pace (QUERY_BUDGET per second, see
# src/daemon.c). Prints how long reading them all took, the daemon's CPU
# for it, per reading, and the memory of the side records it keeps.
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/bench/ctfill \
#          bench/active.sh [ENTRIES]
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export NFFLOWD_SRCDIR=${NFFLOWD_SRCDIR:-$(cd "$BENCH_DIR/.." && pwd)}
# shellcheck source=../tests/integration/lossless_common.sh
. "$NFFLOWD_SRCDIR/tests/integration/lossless_common.sh"

N=${1:-250000}
ll_bench_lab "$N" '"active_timeout": 1'
lab_daemon_start
PID=$(lab_pid nfflowd)
# utime + stime of the daemon in clock ticks; VmRSS in KiB.
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$PID/stat"; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
# One counter of the daemon, from a "counters" request on its control
# socket (not --dump-state, which would make it format the whole table).
counter() {
	ll_counters 2>/dev/null
	echo "${CNT[$1]:-0}"
}
queries() { counter queries; }
# ACTIVE_PERF=FILE: a perf profile of the daemon's first 20 s of reading.
if [ -n "${ACTIVE_PERF:-}" ]; then
	perf record -q -e cpu-clock -g -o "$ACTIVE_PERF" -p "$PID" -- sleep 20 \
		>/dev/null 2>&1 &
fi
C0=$(ticks)
R0=$(rss)
T0=$(date +%s%N)
Q=0
for _ in $(seq 1 240); do
	sleep 0.5
	Q=$(queries)
	[ -n "${ACTIVE_TRACE:-}" ] && echo "queries=$Q rss_kib=$(rss) ticks=$(ticks)" >&2
	[ "$Q" -ge "$N" ] && break
done
T1=$(date +%s%N)
C1=$(ticks)
R1=$(rss)
INTERIM=$(counter interim)
lab_daemon_stop || true
awk -v n="$N" -v q="$Q" -v t0="$T0" -v t1="$T1" -v c0="$C0" -v c1="$C1" \
	-v r0="$R0" -v r1="$R1" -v hz="$(getconf CLK_TCK)" -v interim="$INTERIM" 'BEGIN {
	cpu = (c1 - c0) / hz
	printf "active entries=%d readings=%d interim=%s wall_s=%.1f cpu_s=%.2f cpu_us_per_reading=%.1f rss_growth_kib=%d bytes_per_reading_entry=%.0f\n",
		n, q, interim, (t1 - t0) / 1e9, cpu, q ? cpu * 1e6 / q : 0, r1 - r0, q ? (r1 - r0) * 1024 / q : 0
}'
