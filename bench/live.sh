#!/bin/bash
# The live daemon's CPU per conntrack event, on the real kernel, in
# throwaway namespaces (the tests' lab: lan -- fw -- wan). Per run:
# nfflowd starts in fw with an empty table and a UDP sink in wan counting
# NetFlow v5 records; ctstorm then creates N entries in fw (N NEW events,
# arriving as fast as the kernel makes them), and `conntrack -F` flushes
# them (N DESTROY events, 2N records). CPU is utime+stime of the daemon
# from /proc/PID/stat: for the NEW phase from just before the storm until
# 1 s after it, for the DESTROY phase from just before the flush until the
# sink has seen no record for 1 s (at most 120 s). Each event is one
# netlink datagram.
# Optionally records a perf profile of the daemon during the first run.
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/tests/tools/ctstorm \
#          [PERF_OUT=/tmp/live.perf] bench/live.sh [N] [RUNS]
# Prints one key=value line per run and a median line.
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export NFFLOWD_SRCDIR=${NFFLOWD_SRCDIR:-$(cd "$BENCH_DIR/.." && pwd)}
# shellcheck source=../tests/integration/lossless_common.sh
. "$NFFLOWD_SRCDIR/tests/integration/lossless_common.sh"
# shellcheck source=proc.sh
. "$BENCH_DIR/proc.sh"

N=${1:-200000}
RUNS=${2:-3}
PORT=2055
HZ=$(getconf CLK_TCK)

# The sink: counts datagrams and v5 records (header count field), writes
# "datagrams records" to its file every 0.1 s; exits after $2 s.
SINK_PY='
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.1)
out, end = sys.argv[3], time.monotonic() + float(sys.argv[4])
d = r = 0
last = 0.0
while time.monotonic() < end:
    try:
        b = s.recv(65536)
        d += 1
        r += struct.unpack_from("!H", b, 2)[0]
    except socket.timeout:
        pass
    now = time.monotonic()
    if now - last >= 0.1:
        with open(out + ".tmp", "w") as f:
            f.write("%d %d\n" % (d, r))
        import os
        os.replace(out + ".tmp", out)
        last = now
'

# Wait (at most 10 s) for the daemon's ready line.
wait_ready() {
	for _ in $(seq 1 100); do
		grep -q "ready (pid" "$LAB_DIR/nfflowd.err" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Wait until the sink's record count has not changed for 1 s (at most
# 120 s); prints "datagrams records".
wait_quiet() {
	local last="" cur still=0
	for _ in $(seq 1 1200); do
		cur=$(cat "$LAB_DIR/sink.count" 2>/dev/null || echo "0 0")
		if [ "$cur" = "$last" ] && [ "${cur#* }" != 0 ]; then
			still=$((still + 1))
			[ $still -ge 10 ] && break
		else
			still=0
		fi
		last=$cur
		sleep 0.1
	done
	echo "$cur"
}

lab_require conntrack ss
ll_need_ctstorm
ll_up
cat >"$LAB_DIR/nfflowd.json" <<EOF
{ "source": "$LAB_FW_WAN_IP", "collector": "$LAB_WAN_IP", "port": $PORT,
  "pidfile": "$LAB_DIR/nfflowd.pid", "control_socket": "$LAB_DIR/nfflowd.sock",
  "syslog": {"enabled": false} }
EOF

RESULTS=()
for run in $(seq 1 "$RUNS"); do
	rm -f "$LAB_DIR/sink.count"
	lab_bg sink wan "$LAB_PY" -c "$SINK_PY" "$LAB_WAN_IP" "$PORT" \
		"$LAB_DIR/sink.count" 300
	lab_wait_port wan u "$PORT"
	: >"$LAB_DIR/nfflowd.err"
	lab_bg nfflowd fw "$LAB_NFFLOWD" -c "$LAB_DIR/nfflowd.json" -f start
	pid=$(lab_pid nfflowd)
	wait_ready || { lab_log "daemon not ready"; it_show "$LAB_DIR/nfflowd.err"; exit 1; }
	sleep 0.5
	perf_pid=
	if [ "$run" = 1 ] && [ -n "${PERF_OUT:-}" ]; then
		perf record -q -e cpu-clock -g -p "$pid" -o "$PERF_OUT" \
			>"$LAB_DIR/perf.log" 2>&1 &
		perf_pid=$!
		sleep 0.5
	fi
	# NEW phase: the storm while the daemon listens.
	c0=$(cpu_ticks "$pid")
	s0=$(ctxsw "$pid" voluntary_ctxt_switches)
	t0=$(date +%s.%N)
	ll_ctstorm "$N" 600 || lab_log "the storm is smaller than $N entries"
	t1=$(date +%s.%N)
	sleep 1
	c1=$(cpu_ticks "$pid")
	s1=$(ctxsw "$pid" voluntary_ctxt_switches)
	ll_counters
	new=${CNT[new]:-0}
	# DESTROY phase: the flush, until the sink is quiet.
	t2=$(date +%s.%N)
	lab_ns fw conntrack -F 2>/dev/null || true
	counts=$(wait_quiet)
	t3=$(date +%s.%N)
	c2=$(cpu_ticks "$pid")
	s2=$(ctxsw "$pid" voluntary_ctxt_switches)
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" 2>/dev/null || true
	fi
	ll_counters
	lab_stop nfflowd TERM || true
	lab_stop sink TERM || true
	dest=${CNT[destroy]:-0}
	line=$(awk -v c0="$c0" -v c1="$c1" -v c2="$c2" -v hz="$HZ" \
		-v nn="$new" -v d="$dest" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
		-v t3="$t3" -v run="$run" -v cnt="$counts" -v s0="$s0" \
		-v s1="$s1" -v s2="$s2" \
		-v ov="${CNT[overruns]:-?}" 'BEGIN {
		split(cnt, k, " "); cn = (c1 - c0) / hz; cd = (c2 - c1) / hz;
		pn = nn > 0 ? cn * 1e6 / nn : 0; pd = d > 0 ? cd * 1e6 / d : 0;
		pa = nn + d > 0 ? (cn + cd) * 1e6 / (nn + d) : 0;
		printf "run=%d new=%d new_cpu_s=%.2f new_us=%.2f new_wall_s=%.2f new_sleeps=%d destroy=%d destroy_cpu_s=%.2f destroy_us=%.2f destroy_wall_s=%.2f destroy_sleeps=%d all_us=%.2f datagrams=%d records=%d overruns=%s\n", run, nn, cn, pn, t1 - t0, s1 - s0, d, cd, pd, t3 - t2 - 1, s2 - s1, pa, k[1], k[2], ov }')
	echo "$line"
	RESULTS+=("$line")
	lab_ct_drain 20 || true
done
# Median of key $1 over the runs.
median() {
	printf '%s\n' "${RESULTS[@]}" | sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p" |
		sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
m_all=$(median all_us)
echo "median new_us=$(median new_us) destroy_us=$(median destroy_us) all_us=$m_all events_per_cpu_s=$(awk -v m="$m_all" 'BEGIN { printf "%.0f", (m > 0 ? 1e6 / m : 0) }') (of $RUNS runs; CPU microseconds per event)"
