#!/bin/bash
# Taking over a busy firewall: ENTRIES conntrack entries exist (ctstorm, in
# the lab's fw namespace) before nfflowd starts; prints how long the daemon
# took from exec until it logged "ready" (after its initial dump), what it
# loaded, and its memory (VmRSS, VmHWM).
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/bench/ctfill \
#          bench/takeover.sh [ENTRIES]
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export NFFLOWD_SRCDIR=${NFFLOWD_SRCDIR:-$(cd "$BENCH_DIR/.." && pwd)}
# shellcheck source=../tests/integration/lossless_common.sh
. "$NFFLOWD_SRCDIR/tests/integration/lossless_common.sh"

N=${1:-250000}
ll_bench_lab "$N"
HAVE=$(lab_ns fw conntrack -C)
T0=$(date +%s%N)
lab_bg nfflowd fw "$LAB_NFFLOWD" -c "$LAB_DIR/nfflowd.json" -f start
PID=$(lab_pid nfflowd)
READY=
for _ in $(seq 1 6000); do
	if grep -q 'ready (pid' "$LAB_DIR/nfflowd.err" 2>/dev/null; then
		READY=$(date +%s%N)
		break
	fi
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.01
done
LOADED=$(sed -n 's/.*loaded \([0-9]*\) existing connections.*/\1/p' "$LAB_DIR/nfflowd.err" | head -n 1)
RSS=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status" 2>/dev/null || echo 0)
HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status" 2>/dev/null || echo 0)
CPU=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$PID/stat" 2>/dev/null || echo 0)
lab_daemon_stop || true
if [ -z "$READY" ]; then
	echo "takeover entries=$N ready=no"
	it_show "$LAB_DIR/nfflowd.err" 20 >&2
	exit 1
fi
awk -v n="$N" -v have="$HAVE" -v loaded="${LOADED:-0}" -v t0="$T0" -v t1="$READY" \
	-v rss="$RSS" -v hwm="$HWM" -v cpu="$CPU" -v hz="$(getconf CLK_TCK)" 'BEGIN {
	printf "takeover entries=%d table=%d loaded=%d ready_s=%.2f cpu_s=%.2f vmrss_kib=%d vmhwm_kib=%d bytes_per_entry_rss=%.1f\n",
		n, have, loaded, (t1 - t0) / 1e9, cpu / hz, rss, hwm, rss * 1024 / (loaded ? loaded : 1)
}'
