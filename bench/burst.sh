#!/bin/bash
# nfflowd's CPU per connection against the floor, the cheapest user-space
# reader of conntrack events (bench/floor.c), measured in the same burst of
# traffic in throwaway namespaces (the tests' lab: lan 192.0.2.2 -- fw
# (NAT) -- wan 198.51.100.2). Four readers run side by side in fw, each on
# its own netlink socket with a 64 MiB receive buffer:
#   floor_destroy  bench/floor: DESTROY events, only counted
#   floor_new      bench/floor -n: NEW and DESTROY events, only counted
#   nfflowd_off    nfflowd, NetFlow v5 -> collector :2055 in wan, syslog copy off
#   nfflowd_on     nfflowd, NetFlow v5 -> collector :2056 in wan, syslog copy on,
#                  to a private rsyslogd in fw (tests/lab/rsyslog.sh, its
#                  datagram input, net.unix.max_dgram_qlen 512 in fw as
#                  systemd sets it at boot)
# Both daemons have the stdout copy off and a pidfile, control socket and
# state file of their own. Traffic: CONNS short TCP connections lan ->
# wan:80 through fw's masquerade (tests/lab/lossless.py tcp-burst,
# BURST_PARALLEL at once, default 64), with fw's TCP timeouts short
# (lab_fw_sysctl: TIME_WAIT and CLOSE 1 s, FIN_WAIT, CLOSE_WAIT and
# LAST_ACK 2 s); fw's table is listed after the burst, which makes the
# kernel drop the expired entries (and send their DESTROY) at once.
# fw does not track the export datagrams (an nft notrack rule for UDP to
# ports 2055 and 2056): each daemon skips its own export flow only, so two
# daemons would export each other's, each export renewing the other's
# flow, for as long as they run; so every reader sees the burst alone.
# CPU of each reader: utime+stime from /proc/PID/stat from just before the
# traffic until fw's table is empty and no reader (nor rsyslogd) used CPU
# for 2 s; per connection over the connections the generator completed.
# The collectors (BURST_COLLECTOR): "sink" (the default), bench/v5sink.py,
# which drains its socket every 4 ms and never waits on it, as a collector
# on another machine never runs on the firewall's CPUs; it checks each
# datagram and the flow_sequence across them (no gap, no repeat). Or
# "nfcapd": nfdump's collector, blocked in recv(), woken by every send:
# woken on the daemon's CPU, it preempts the daemon there (sync wakeup),
# which costs the daemon two context switches per send in this lab that a
# remote collector would not.
# Each daemon's records: at its collector and by its own counters
# (control socket: records exported, send_errors, records_lost, overruns,
# lost_entries, printed beside); all delivered when the collector holds as
# many records as the daemon exported and both are 3 per connection
# completed (SPEC §3: a masqueraded TCP connection with reply packets makes
# records 1, 2 and 3).
# recvmmsg calls of each reader are counted on the kernel's tracepoint
# (perf stat -e syscalls:sys_enter_recvmmsg) unless BURST_SYSCALLS=0.
# Prints key=value lines: "burst ...", "reader=NAME ..." for each reader,
# then "ratio syslog_off=X syslog_on=Y new_destroy_floor=Z" (CPU per
# connection of nfflowd, off and on, and of floor -n, each divided by
# floor_destroy's) and "delivered syslog_off=yes|no syslog_on=yes|no".
# BURST_PERF=FILE: a perf profile (perf record -e cpu-clock -g, or the
# events of BURST_PERF_EVENTS) of nfflowd_off (or of the reader
# BURST_PERF_READER names) during the traffic; the profiler's own work is
# charged to
# the daemon (a third more CPU here), so its ratio is then no measurement.
# Every wait is bounded: the generator by BURST_S (default 60 s plus 1 s
# per 1,000 connections), fw's table drain by BURST_DRAIN_S (60 s), the
# wait for idle readers by 60 s, each floor by its own -t.
#   usage: NFFLOWD=build/nfflowd [FLOOR=build/bench/floor] \
#          [BURST_PARALLEL=64] [BURST_PERF=/tmp/burst.perf] \
#          bench/burst.sh [CONNS]
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export NFFLOWD_SRCDIR=${NFFLOWD_SRCDIR:-$(cd "$BENCH_DIR/.." && pwd)}
# shellcheck source=../tests/integration/lossless_common.sh
. "$NFFLOWD_SRCDIR/tests/integration/lossless_common.sh"
# shellcheck source=../tests/lab/rsyslog.sh
. "$NFFLOWD_SRCDIR/tests/lab/rsyslog.sh"
# shellcheck source=proc.sh
. "$BENCH_DIR/proc.sh"

CONNS=${1:-${BURST_CONNS:-300000}}
PARALLEL=${BURST_PARALLEL:-64}
BURST_S=${BURST_S:-$((60 + CONNS / 1000))}
DRAIN_S=${BURST_DRAIN_S:-60}
# How long any process of the run may live (the floors' -t, the server).
LIFE_S=$((BURST_S + DRAIN_S + 180))
FLOOR=${FLOOR:-$(dirname "$LAB_NFFLOWD")/bench/floor}
READERS=(floor_destroy floor_new nfflowd_off nfflowd_on)
COLLECTOR=${BURST_COLLECTOR:-sink}
case $COLLECTOR in
sink|nfcapd) ;;
*) echo "BURST_COLLECTOR must be sink or nfcapd" >&2; exit 2 ;;
esac
declare -A PORT=([nfflowd_off]=2055 [nfflowd_on]=2056)
declare -A PID=() CPU0=() CPU=() SYS0=() SYS=() RUN0=() RUN=() RECV=() SENDS=() OUT=()
declare -A VCS0=() VCS=() ICS0=() ICS=()
HZ=$(getconf CLK_TCK)

# CPU ticks of every reader and of rsyslogd, as one string.
all_ticks() {
	local r
	for r in "${!PID[@]}"; do
		printf '%s ' "$(cpu_ticks "${PID[$r]}")"
	done
}

# Start the collector for daemon $1 in wan on port $2: a v5sink writing
# LAB_DIR/sink-NAME.count, or an nfcapd with files under LAB_DIR/flows-NAME.
collector_start() {
	if [ "$COLLECTOR" = sink ]; then
		lab_bg "collector-$1" wan "$LAB_PY" "$BENCH_DIR/v5sink.py" \
			"$LAB_WAN_IP" "$2" "$LAB_DIR/sink-$1.count" "$LIFE_S"
	else
		mkdir -p "$LAB_DIR/flows-$1"
		lab_bg "collector-$1" wan nfcapd -w "$LAB_DIR/flows-$1" -b "$LAB_WAN_IP" \
			-p "$2" -t 3600 -I "$1" -B 67108864
	fi
	lab_wait_port wan u "$2"
}

# Records at daemon $1's collector (after it stopped), all or ($2 = seen)
# those of an original direction lan -> wan:80.
collector_count() {
	if [ "$COLLECTOR" = sink ]; then
		kv "$(cat "$LAB_DIR/sink-$1.count" 2>/dev/null)" \
			"$([ "${2:-}" = seen ] && echo conns_seen || echo records)"
		return
	fi
	nfdump -R "$LAB_DIR/flows-$1" -q -N -o 'fmt:%pr' \
		${2:+'src net 192.0.2.0/24 and dst port 80'} 2>/dev/null |
		grep -vc '^No matching' || true
}

# "yes" when daemon $1's collector found every datagram whole and in
# sequence (the sink checks; nfcapd's files are not checked so).
collector_clean() {
	local o
	[ "$COLLECTOR" = sink ] || { echo yes; return; }
	o=$(cat "$LAB_DIR/sink-$1.count" 2>/dev/null)
	if [ "$(kv "$o" bad)" = 0 ] && [ "$(kv "$o" gaps)" = 0 ] &&
		[ "$(kv "$o" repeats)" = 0 ]; then
		echo yes
	else
		echo no
	fi
}

# Write daemon $1's configuration (LAB_DIR/$1.json): NetFlow v5 to wan's
# port $2, "syslog" object $3, no stdout copy, and a pidfile, control
# socket and state file of its own.
daemon_config() {
	cat >"$LAB_DIR/$1.json" <<-EOF
		{ "source": "$LAB_FW_WAN_IP", "collector": "$LAB_WAN_IP", "port": $2,
		  "pidfile": "$LAB_DIR/$1.pid", "control_socket": "$LAB_DIR/$1.sock",
		  "state_file": "$LAB_DIR/$1.state", "stdout": false,
		  "syslog": $3 }
	EOF
}

# Fill CNT with daemon $1's counters (ll_counters for a daemon of another
# name: its control socket while it runs, else its log).
daemon_counters() {
	local line
	CNT=()
	while IFS= read -r line; do
		CNT[${line%%=*}]=${line#*=}
	done < <(ll counters --socket "$LAB_DIR/$1.sock" --log "$LAB_DIR/$1.err" \
		2>/dev/null || true)
}

# Stop daemon $1 with `nfflowd stop` (lab_daemon_stop for a daemon of
# another name): at most 20 s for the command, 10 s for the exit.
daemon_stop() {
	local rc=0
	lab_ns fw timeout 20 "$LAB_NFFLOWD" -c "$LAB_DIR/$1.json" stop \
		>"$LAB_DIR/$1.stop" 2>&1 || rc=$?
	if ! lab_wait_exit "$1" 10; then
		lab_log "$1 did not stop; its stderr:"
		tail -n 20 "$LAB_DIR/$1.err" >&2
		lab_stop "$1" KILL || true
		return 1
	fi
	return $rc
}

# The value of key $2 in the key=value line $1.
kv() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

lab_require nfcapd nfdump conntrack nft ss
if [ ! -x "$FLOOR" ]; then
	echo "FAIL: set FLOOR to the built bench/floor (got '$FLOOR')" >&2
	exit 1
fi
# tests/deps.sh installs rsyslog without starting its system service.
[ -x "$LAB_RSYSLOGD" ] || "$NFFLOWD_SRCDIR/tests/deps.sh" >&2
SYSCALLS=${BURST_SYSCALLS:-1}
if [ "$SYSCALLS" = 1 ] &&
	! perf list 'syscalls:sys_enter_recvmmsg' 2>/dev/null | grep -q recvmmsg; then
	lab_log "perf or its recvmmsg tracepoint is missing: recvmmsg calls not counted"
	SYSCALLS=0
fi

ll_up
lab_ns fw nft -f - <<-EOF
	table ip burstraw {
		chain out {
			type filter hook output priority -300; policy accept;
			udp dport { ${PORT[nfflowd_off]}, ${PORT[nfflowd_on]} } notrack
		}
	}
EOF
# Before rsyslogd makes its socket: the queue systemd gives /dev/log.
lab_ns fw sysctl -q -w net.unix.max_dgram_qlen=512
lab_bg srv wan "$LAB_PY" "$LL_PY" tcp-server "$LAB_WAN_IP" 80 \
	"$LAB_DIR/server.log" "$LIFE_S"
lab_wait_port wan t 80
for d in nfflowd_off nfflowd_on; do
	collector_start "$d" "${PORT[$d]}"
done
lab_rsyslog_config nfflowd
lab_rsyslog_start rsyslogd fw

lab_bg floor_destroy fw "$FLOOR" -t "$LIFE_S" "$LAB_DIR/floor_destroy.count"
lab_bg floor_new fw "$FLOOR" -n -t "$LIFE_S" "$LAB_DIR/floor_new.count"
daemon_config nfflowd_off "${PORT[nfflowd_off]}" '{"enabled": false}'
daemon_config nfflowd_on "${PORT[nfflowd_on]}" \
	"{\"enabled\": true, \"socket\": \"$(lab_rsyslog_socket)\"}"
for d in nfflowd_off nfflowd_on; do
	lab_bg "$d" fw "$LAB_NFFLOWD" -c "$LAB_DIR/$d.json" -f start
	lab_daemon_wait_ready "$d" || exit 1
done
# The floors write their count file once subscribed (at most 5 s).
for f in floor_destroy floor_new; do
	for _ in $(seq 1 50); do
		[ -s "$LAB_DIR/$f.count" ] && break
		sleep 0.1
	done
	if [ ! -s "$LAB_DIR/$f.count" ]; then
		lab_log "$f did not start:"
		cat "$LAB_DIR/$f.err" >&2
		exit 1
	fi
done
for r in "${READERS[@]}"; do
	PID[$r]=$(lab_pid "$r")
done
# rsyslogd's CPU is waited for and reported, but it is no reader.
PID[rsyslogd]=$(lab_rsyslog_pid)
SL_QLEN=$(lab_unix_qlen fw)

if [ "$SYSCALLS" = 1 ]; then
	pids=$(for r in "${READERS[@]}"; do printf '%s,' "${PID[$r]}"; done)
	lab_bg perfstat fw perf stat -e syscalls:sys_enter_recvmmsg \
		-e syscalls:sys_enter_sendmmsg --per-thread \
		-x, -o "$LAB_DIR/recvmmsg.csv" -p "${pids%,}"
fi
if [ -n "${BURST_PERF:-}" ]; then
	# shellcheck disable=SC2086
	lab_bg perfrec fw perf record -q ${BURST_PERF_EVENTS:--e cpu-clock -g} -o "$BURST_PERF" \
		-p "${PID[${BURST_PERF_READER:-nfflowd_off}]}"
fi
sleep 1
for r in "${!PID[@]}"; do
	CPU0[$r]=$(cpu_ticks "${PID[$r]}")
	SYS0[$r]=$(stime_ticks "${PID[$r]}")
	RUN0[$r]=$(run_ns "${PID[$r]}")
	VCS0[$r]=$(ctxsw "${PID[$r]}" voluntary_ctxt_switches)
	ICS0[$r]=$(ctxsw "${PID[$r]}" nonvoluntary_ctxt_switches)
done

lab_log "traffic: $CONNS TCP connections, $PARALLEL at once (at most $BURST_S s)"
T0=$(date +%s.%N)
SUMMARY=$(lab_ns lan "$LAB_PY" "$LL_PY" tcp-burst "$LAB_WAN_IP" 80 "$CONNS" \
	"$PARALLEL" "$LAB_DIR/client.log" "$BURST_S" 0 2>"$LAB_DIR/burst.err") ||
	lab_log "generator: $(tail -n 3 "$LAB_DIR/burst.err" | tr '\n' ' ')"
lab_log "$SUMMARY"
COMPLETED=$(wc -l <"$LAB_DIR/client.log" 2>/dev/null || echo 0)
GEN_S=$(printf '%s\n' "$SUMMARY" | sed -n 's/.* completed in \([0-9.]*\) s.*/\1/p')
FAILED=$(printf '%s\n' "$SUMMARY" | sed -n 's/.*), \([0-9]*\) failed.*/\1/p')
# fw's table empty (listing it evicts the expired entries at once), then
# no reader nor rsyslogd used CPU for 2 s (at most 60 s).
DRAINED=yes
lab_ct_drain "$DRAIN_S" 2>/dev/null || DRAINED=no
T1=$(date +%s.%N)
wait_still 120 all_ticks || lab_log "the readers did not go idle"
T2=$(date +%s.%N)
for r in "${!PID[@]}"; do
	CPU[$r]=$(($(cpu_ticks "${PID[$r]}") - CPU0[$r]))
	SYS[$r]=$(($(stime_ticks "${PID[$r]}") - SYS0[$r]))
	RUN[$r]=$(($(run_ns "${PID[$r]}") - RUN0[$r]))
	VCS[$r]=$(($(ctxsw "${PID[$r]}" voluntary_ctxt_switches) - VCS0[$r]))
	ICS[$r]=$(($(ctxsw "${PID[$r]}" nonvoluntary_ctxt_switches) - ICS0[$r]))
done
[ -n "${BURST_PERF:-}" ] && { lab_stop perfrec INT || true; }
if [ "$SYSCALLS" = 1 ]; then
	lab_stop perfstat INT || true
	# perf stat -x, --per-thread: COMM-TID,COUNT,,EVENT,...
	for r in "${READERS[@]}"; do
		RECV[$r]=$(awk -F, -v tid="${PID[$r]}" '{ n = split($1, a, "-") }
			a[n] == tid && $2 ~ /^[0-9]+$/ && $4 ~ /recvmmsg/ { print $2; exit }' \
			"$LAB_DIR/recvmmsg.csv" 2>/dev/null || true)
		SENDS[$r]=$(awk -F, -v tid="${PID[$r]}" '{ n = split($1, a, "-") }
			a[n] == tid && $2 ~ /^[0-9]+$/ && $4 ~ /sendmmsg/ { print $2; exit }' \
			"$LAB_DIR/recvmmsg.csv" 2>/dev/null || true)
	done
fi

# The daemons' counters while they run, nfflowd_on's once rsyslogd has
# every line (read before the stop, which would count what is left as
# dropped).
declare -A C=()
lab_rsyslog_wait_delivered 60 daemon_counters nfflowd_on || true
for d in nfflowd_off nfflowd_on; do
	daemon_counters "$d"
	for k in new destroy records datagrams send_errors records_lost overruns \
		lost_entries netlink_drops destroy_duplicates syslog_sent syslog_queued \
		syslog_dropped syslog_errors; do
		C[$d.$k]=${CNT[$k]:-?}
	done
done
SL_LINES=$(lab_rsyslog_lines)

# Stop: the daemons flush what they hold, the floors write their counts.
for d in nfflowd_off nfflowd_on; do
	daemon_stop "$d" || lab_log "$d did not stop cleanly"
done
for f in floor_destroy floor_new; do
	lab_stop "$f" TERM || lab_log "$f exited with an error"
	OUT[$f]=$(tail -n 1 "$LAB_DIR/$f.out" 2>/dev/null || true)
	[ -n "${OUT[$f]}" ] || OUT[$f]=$(cat "$LAB_DIR/$f.count" 2>/dev/null || true)
done
lab_rsyslog_stop TERM
sleep 1
for d in nfflowd_off nfflowd_on; do
	lab_stop "collector-$d" TERM || true
done
lab_stop srv TERM || true

declare -A RECS=() SEEN=() CLEAN=() DELIVERED=()
for d in nfflowd_off nfflowd_on; do
	RECS[$d]=$(collector_count "$d")
	# Record 1 of each connection: lan -> wan:80 as the client sent it.
	SEEN[$d]=$(collector_count "$d" seen)
	CLEAN[$d]=$(collector_clean "$d")
	DELIVERED[$d]=no
	if [ "${RECS[$d]}" = "${C[$d.records]}" ] && [ "${CLEAN[$d]}" = yes ] &&
		[ "${RECS[$d]}" = $((3 * COMPLETED)) ]; then
		DELIVERED[$d]=yes
	fi
done

echo "burst conns=$CONNS completed=$COMPLETED failed=${FAILED:-?} parallel=$PARALLEL gen_s=${GEN_S:-?} conns_per_s=$(awk -v c="$COMPLETED" -v s="${GEN_S:-0}" 'BEGIN { printf "%.0f", (s > 0 ? c / s : 0) }') drained=$DRAINED drain_s=$(awk -v a="$T0" -v b="$T1" -v g="${GEN_S:-0}" 'BEGIN { printf "%.1f", b - a - g }') wall_s=$(awk -v a="$T0" -v b="$T2" 'BEGIN { printf "%.1f", b - a }') dgram_qlen=$SL_QLEN summary=\"$SUMMARY\""
declare -A US=()
for r in "${READERS[@]}"; do
	US[$r]=$(awk -v t="${CPU[$r]}" -v hz="$HZ" -v n="$COMPLETED" \
		'BEGIN { printf "%.2f", (n > 0 ? t / hz * 1e6 / n : 0) }')
	line=$(awk -v r="$r" -v t="${CPU[$r]}" -v sys="${SYS[$r]}" -v run="${RUN[$r]}" \
		-v hz="$HZ" -v n="$COMPLETED" -v rc="${RECV[$r]:-}" -v sc="${SENDS[$r]:-}" \
		-v vcs="${VCS[$r]}" -v ics="${ICS[$r]}" 'BEGIN {
		printf "reader=%s cpu_s=%.2f user_s=%.2f sys_s=%.2f us_per_conn=%.2f sched_cpu_s=%.3f sched_us_per_conn=%.2f recvmmsg=%s recvmmsg_per_conn=%s sendmmsg=%s sleeps_per_conn=%.3f preempted_per_conn=%.3f",
			r, t / hz, (t - sys) / hz, sys / hz, (n > 0 ? t / hz * 1e6 / n : 0),
			run / 1e9, (n > 0 ? run / 1e3 / n : 0), (rc == "" ? "?" : rc),
			(rc == "" || n == 0 ? "?" : sprintf("%.3f", rc / n)),
			(sc == "" ? "?" : sc), (n > 0 ? vcs / n : 0), (n > 0 ? ics / n : 0)
	}')
	case $r in
	floor_*)
		o=${OUT[$r]}
		d_count=$(kv "$o" destroy)
		line="$line new=$(kv "$o" new) destroy=$(kv "$o" destroy) datagrams=$(kv "$o" datagrams) reads=$(kv "$o" reads) enobufs=$(kv "$o" enobufs) destroy_minus_conns=$(( ${d_count:-0} - COMPLETED ))"
		;;
	nfflowd_*)
		line="$line records=${C[$r.records]} collector=$COLLECTOR collector_records=${RECS[$r]} in_sequence=${CLEAN[$r]} expected_records=$((3 * COMPLETED)) conns_seen=${SEEN[$r]} new=${C[$r.new]} destroy=${C[$r.destroy]} datagrams=${C[$r.datagrams]} send_errors=${C[$r.send_errors]} records_lost=${C[$r.records_lost]} overruns=${C[$r.overruns]} lost_entries=${C[$r.lost_entries]} netlink_drops=${C[$r.netlink_drops]} destroy_duplicates=${C[$r.destroy_duplicates]} delivered=${DELIVERED[$r]}"
		if [ "$r" = nfflowd_on ]; then
			line="$line syslog_sent=${C[$r.syslog_sent]} syslog_queued=${C[$r.syslog_queued]} syslog_dropped=${C[$r.syslog_dropped]} syslog_errors=${C[$r.syslog_errors]} rsyslog_lines=$SL_LINES rsyslogd_cpu_s=$(awk -v t="${CPU[rsyslogd]:-0}" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')"
		fi
		;;
	esac
	echo "$line"
done
awk -v f="${US[floor_destroy]}" -v off="${US[nfflowd_off]}" -v on="${US[nfflowd_on]}" \
	-v fn="${US[floor_new]}" 'function r(a) { return f > 0 ? sprintf("%.2f", a / f) : "n/a" }
	BEGIN { printf "ratio syslog_off=%s syslog_on=%s new_destroy_floor=%s\n", r(off), r(on), r(fn) }'
echo "delivered syslog_off=${DELIVERED[nfflowd_off]} syslog_on=${DELIVERED[nfflowd_on]}"
