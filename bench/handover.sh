#!/bin/bash
# What a firewall pair's handover costs on a big table: ENTRIES conntrack
# entries exist (bench/ctfill in the lab's fw namespace), nfflowd runs
# with active_when_address on an address fw holds (and handover_delay 0:
# the dump at once, where a pair waits for the peer to take the address),
# and the address is taken away: the daemon reads the whole table once
# with counters (its handover dump, in 50 ms slices in the event loop)
# before it goes standby. Prints the time from the address's removal to the daemon's
# "role: standby" line, the daemon's CPU for it, and the connections the
# dump read.
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/bench/ctfill \
#          bench/handover.sh [ENTRIES]
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export NFFLOWD_SRCDIR=${NFFLOWD_SRCDIR:-$(cd "$BENCH_DIR/.." && pwd)}
# shellcheck source=../tests/integration/lossless_common.sh
. "$NFFLOWD_SRCDIR/tests/integration/lossless_common.sh"

N=${1:-250000}
VIP=198.51.100.9
ll_bench_lab "$N" "\"active_when_address\": \"$VIP\", \"handover_delay\": 0"
lab_ns fw ip addr add "$VIP/32" dev fw-wan
lab_daemon_start
PID=$(lab_pid nfflowd)
# utime + stime of the daemon in clock ticks.
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$PID/stat"; }
counter() {
	ll_counters 2>/dev/null
	echo "${CNT[$1]:-0}"
}
grep -q 'role: active' "$LAB_DIR/nfflowd.err" ||
	lab_log "the daemon did not say role: active at the start"
C0=$(ticks)
T0=$(date +%s%N)
lab_ns fw ip addr del "$VIP/32" dev fw-wan
T1=$T0
for _ in $(seq 1 1200); do
	if grep -q 'role: standby' "$LAB_DIR/nfflowd.err"; then
		T1=$(date +%s%N)
		break
	fi
	sleep 0.05
done
C1=$(ticks)
HANDED=$(counter handed_over)
ROLE=$(counter role)
lab_daemon_stop || true
awk -v n="$N" -v t0="$T0" -v t1="$T1" -v c0="$C0" -v c1="$C1" \
	-v hz="$(getconf CLK_TCK)" -v handed="$HANDED" -v role="$ROLE" 'BEGIN {
	cpu = (c1 - c0) / hz
	ok = t1 > t0 ? "yes" : "no"
	printf "handover entries=%d handed_over=%s standby=%s role=%s wall_s=%.2f cpu_s=%.2f cpu_us_per_entry=%.2f\n",
		n, handed, ok, role, (t1 - t0) / 1e9, cpu, n ? cpu * 1e6 / n : 0
}'
