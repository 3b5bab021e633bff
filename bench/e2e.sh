#!/bin/bash
# End-to-end comparison on the real kernel, in throwaway namespaces (the
# tests' lab: lan 192.0.2.2 -- fw (NAT) -- wan 198.51.100.2). One run of
# traffic, observed at once by four tools running side by side in fw:
#   nfflowd                        NetFlow v5 -> nfcapd :2055
#   conntrack -E -e NEW,DESTROY -o timestamp   (lines to a file)
#   ulogd2, NFCT input + IPFIX output          IPFIX/UDP -> nfcapd :4739
#   softflowd on fw's LAN interface            NetFlow v5 -> nfcapd :2057
# Traffic: CONNS short TCP connections lan -> wan:80 through the masquerade,
# then STORM conntrack entries (ctstorm) flushed at once with conntrack -F.
# Each tool subscribes to the kernel's events (or captures) on its own, so
# all see the same traffic; they share this machine's CPUs.
# Prints key=value lines (tool=NAME ...) and a table.
# With E2E_SYSLOG=1 nfflowd also sends the syslog copy of every record to a
# private rsyslogd in fw (tests/lab/rsyslog.sh: its own socket, writing
# each line to a file); one more line (syslog=on ...) then gives rsyslogd's
# line count against the records at nfflowd's collector, nfflowd's syslog
# counters and rsyslogd's CPU over the same interval. E2E_SYSLOG_BACKLOG
# sets nfflowd's syslog backlog (default: the daemon's, syslog.backlog of
# config/nfflowd.conf.example, which has every key at its default).
# E2E_SYSLOG_INPUT chooses rsyslogd's input: dgram (default; imuxsock, a
# datagram socket as /dev/log is) or stream (imptcp path=, a Unix stream
# socket). E2E_SYSLOG_QLEN sets net.unix.max_dgram_qlen in fw before
# rsyslogd makes its socket (the queue of a datagram socket: the kernel's
# default is 10 in a new namespace; systemd sets 512 at boot).
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/bench/ctfill \
#          [E2E_SYSLOG=1 [E2E_SYSLOG_INPUT=stream] [E2E_SYSLOG_QLEN=512]] \
#          bench/e2e.sh [CONNS] [STORM]
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export NFFLOWD_SRCDIR=${NFFLOWD_SRCDIR:-$(cd "$BENCH_DIR/.." && pwd)}
# shellcheck source=../tests/integration/lossless_common.sh
. "$NFFLOWD_SRCDIR/tests/integration/lossless_common.sh"
# shellcheck source=../tests/lab/rsyslog.sh
. "$NFFLOWD_SRCDIR/tests/lab/rsyslog.sh"
# shellcheck source=proc.sh
. "$BENCH_DIR/proc.sh"

CONNS=${1:-10000}
STORM=${2:-100000}
TOTAL=$((CONNS + STORM))
SYSLOG=${E2E_SYSLOG:-0}
# shellcheck disable=SC2034  # read by lab_rsyslog_config
LAB_RSYSLOG_INPUT=${E2E_SYSLOG_INPUT:-dgram}
ULOGD_PLUGINS=/usr/lib/x86_64-linux-gnu/ulogd
TOOLS=(nfflowd conntrack ulogd2 softflowd)
declare -A PORT=([nfflowd]=2055 [ulogd2]=4739 [softflowd]=2057)
declare -A PID=() CPU0=() CPU=() SYS0=() SYS=() HWM=() SEEN=() RECS=() PRE=() POST=() NOTE=()

# Install a Debian package unless present; failure is reported, not fatal.
need_pkg() {
	dpkg -s "$1" >/dev/null 2>&1 && return 0
	DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >/dev/null 2>&1
}

# Peak resident set of a process in KiB (VmHWM).
hwm_kib() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true
}

# Sum of the CPU ticks of every running tool.
all_ticks() {
	local t s=0 v
	for t in "${!PID[@]}"; do
		v=$(cpu_ticks "${PID[$t]}")
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

# Start an nfcapd for one exporter in wan, files under LAB_DIR/flows-NAME.
collector_start() {
	mkdir -p "$LAB_DIR/flows-$1"
	lab_bg "nfcapd-$1" wan nfcapd -w "$LAB_DIR/flows-$1" -b "$LAB_WAN_IP" \
		-p "$2" -t 3600 -I "$1" -B 67108864
	lab_wait_port wan u "$2"
}

# Records nfdump finds under LAB_DIR/flows-NAME, optionally filtered.
collector_lines() {
	nfdump -R "$LAB_DIR/flows-$1" -q -N -o 'fmt:%pr|%sa|%sp|%da|%dp' \
		${2:+"$2"} 2>/dev/null | grep -v '^No matching' | sed 's/ //g' || true
}

for p in ulogd2 softflowd; do
	need_pkg "$p" || echo "note: could not install $p" >&2
done
lab_require nfcapd nfdump conntrack nft ss
ll_need_ctstorm
ll_up
lab_ns fw sysctl -q -w net.netfilter.nf_conntrack_tcp_timeout_time_wait=1
ll_server_start server.log
for t in nfflowd ulogd2 softflowd; do
	command -v nfcapd >/dev/null && collector_start "$t" "${PORT[$t]}"
done

# nfflowd: NetFlow only (syslog and stdout off; bench/replay shows the
# cost of the syslog copy), or with E2E_SYSLOG=1 the syslog copy on, to a
# private rsyslogd (the record ident "nfflowd" goes to its file).
SYSLOG_JSON='{"enabled": false}'
if [ "$SYSLOG" = 1 ]; then
	# tests/deps.sh installs rsyslog without starting its system service.
	[ -x "$LAB_RSYSLOGD" ] || "$NFFLOWD_SRCDIR/tests/deps.sh" >&2
	if [ -n "${E2E_SYSLOG_QLEN:-}" ]; then
		lab_ns fw sysctl -q -w net.unix.max_dgram_qlen="$E2E_SYSLOG_QLEN"
	fi
	lab_rsyslog_config nfflowd
	lab_rsyslog_start rsyslogd fw
	SL_QLEN=$(lab_unix_qlen fw)
	SYSLOG_JSON="{\"enabled\": true, \"socket\": \"$(lab_rsyslog_socket)\"${E2E_SYSLOG_BACKLOG:+, \"backlog\": $E2E_SYSLOG_BACKLOG}}"
fi
cat >"$LAB_DIR/nfflowd.json" <<EOF
{ "source": "$LAB_FW_WAN_IP", "collector": "$LAB_WAN_IP", "port": ${PORT[nfflowd]},
  "pidfile": "$LAB_DIR/nfflowd.pid", "control_socket": "$LAB_DIR/nfflowd.sock",
  "syslog": $SYSLOG_JSON }
EOF
lab_bg nfflowd fw "$LAB_NFFLOWD" -c "$LAB_DIR/nfflowd.json" -f start
PID[nfflowd]=$(lab_pid nfflowd)
# rsyslogd's CPU is measured over the same interval (and its idleness
# waited for), but it is no tool of the comparison table.
[ "$SYSLOG" = 1 ] && PID[rsyslogd]=$(lab_rsyslog_pid)

lab_bg conntrack fw conntrack -E -e NEW,DESTROY -o timestamp
PID[conntrack]=$(lab_pid conntrack)

if [ -x /usr/sbin/ulogd ] && [ -f "$ULOGD_PLUGINS/ulogd_output_IPFIX.so" ]; then
	# The same 64 MiB event buffer as nfflowd's default.
	cat >"$LAB_DIR/ulogd.conf" <<EOF
[global]
logfile="$LAB_DIR/ulogd.log"
loglevel=5
plugin="$ULOGD_PLUGINS/ulogd_inpflow_NFCT.so"
plugin="$ULOGD_PLUGINS/ulogd_output_IPFIX.so"
stack=ct1:NFCT,ipfix1:IPFIX

[ct1]
netlink_socket_buffer_size=67108864
netlink_socket_buffer_maxsize=67108864

[ipfix1]
oid=1
host="$LAB_WAN_IP"
port=${PORT[ulogd2]}
proto="udp"
EOF
	lab_bg ulogd2 fw /usr/sbin/ulogd -c "$LAB_DIR/ulogd.conf"
	PID[ulogd2]=$(lab_pid ulogd2)
else
	NOTE[ulogd2]="not available here"
fi

if command -v softflowd >/dev/null; then
	lab_bg softflowd fw softflowd -d -i fw-lan -n "$LAB_WAN_IP:${PORT[softflowd]}" \
		-v 5 -m 262144 -c "$LAB_DIR/softflowd.ctl" -p "$LAB_DIR/softflowd.pid"
	PID[softflowd]=$(lab_pid softflowd)
else
	NOTE[softflowd]="not available here"
fi

sleep 2
for t in "${!PID[@]}"; do
	if ! kill -0 "${PID[$t]}" 2>/dev/null; then
		NOTE[$t]="exited at start: $(tail -n 3 "$LAB_DIR/$t.err" "$LAB_DIR/ulogd.log" 2>/dev/null | tr '\n' ' ')"
		unset "PID[$t]"
		continue
	fi
	CPU0[$t]=$(cpu_ticks "${PID[$t]}")
	SYS0[$t]=$(stime_ticks "${PID[$t]}")
done
# E2E_PERF=FILE: a perf profile of nfflowd during the traffic, for finding
# where its CPU goes; E2E_PERF_EVENTS replaces the default cpu-clock with
# call graphs (e.g. "-e syscalls:sys_exit_recvmmsg" for batch sizes).
PERF_PID=
if [ -n "${E2E_PERF:-}" ] && [ -n "${PID[nfflowd]:-}" ]; then
	# shellcheck disable=SC2086
	perf record -q ${E2E_PERF_EVENTS:--e cpu-clock -g} -o "$E2E_PERF" \
		-p "${PID[nfflowd]}" >/dev/null 2>&1 &
	PERF_PID=$!
fi

lab_log "traffic: $CONNS TCP connections, then a $STORM-entry flush storm"
T0=$(date +%s.%N)
SUMMARY=$(ll_burst client.log "$CONNS" 64) || lab_log "generator: $SUMMARY"
lab_log "$SUMMARY"
ll_ctstorm "$STORM" 600 || lab_log "the storm is smaller than $STORM entries"
lab_ns fw conntrack -F 2>/dev/null || true
# Wait (at most 60 s) for the table to empty (the tools' own export flows
# aside), then until no tool uses CPU any more for 2 s (at most 60 s).
for _ in $(seq 1 240); do
	[ "$(lab_ns fw conntrack -C)" -le 10 ] && break
	sleep 0.25
done
wait_still 120 all_ticks || lab_log "the tools did not go idle"
T1=$(date +%s.%N)
if [ -n "$PERF_PID" ]; then
	kill -INT "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null || true
fi
for t in "${!PID[@]}"; do
	CPU[$t]=$(($(cpu_ticks "${PID[$t]}") - CPU0[$t]))
	SYS[$t]=$(($(stime_ticks "${PID[$t]}") - SYS0[$t]))
	HWM[$t]=$(hwm_kib "${PID[$t]}")
done

# With the syslog copy: nfflowd's counters once nothing waits for
# rsyslogd any more (read before the stop, which would count what is left
# as dropped).
if [ "$SYSLOG" = 1 ]; then
	lab_rsyslog_wait_delivered 60 || lab_log "syslog lines still waiting"
	SL_SENT=${CNT[syslog_sent]:-?} SL_QUEUED=${CNT[syslog_queued]:-?}
	SL_DROPPED=${CNT[syslog_dropped]:-?} SL_ERRORS=${CNT[syslog_errors]:-?}
fi

# Stop: each tool flushes what it holds.
lab_daemon_stop || lab_log "nfflowd did not stop cleanly"
[ "$SYSLOG" = 1 ] && lab_rsyslog_stop TERM
if [ -n "${PID[softflowd]:-}" ]; then
	lab_ns fw softflowctl -c "$LAB_DIR/softflowd.ctl" expire-all >/dev/null 2>&1 || true
	sleep 3
	lab_stop softflowd TERM || true
fi
[ -n "${PID[ulogd2]:-}" ] && { sleep 1; lab_stop ulogd2 TERM || true; }
lab_stop conntrack TERM || true
sleep 1
for t in nfflowd ulogd2 softflowd; do
	lab_stop "nfcapd-$t" TERM || true
done
ll_server_stop server.log

# Connections seen: records of an original direction lan -> wan:80 (record
# 1 for nfflowd, the flow's original direction for the others). Not made
# unique: the clients reuse local ports within the run.
for t in nfflowd ulogd2 softflowd; do
	[ -n "${PID[$t]:-}" ] || continue
	RECS[$t]=$(collector_lines "$t" | grep -c . || true)
	SEEN[$t]=$(collector_lines "$t" 'src net 192.0.2.0/24 and dst port 80' |
		grep -c . || true)
	PRE[$t]=no
	POST[$t]=no
	[ "${SEEN[$t]}" -gt 0 ] && PRE[$t]=yes
	collector_lines "$t" "src host $LAB_FW_WAN_IP and dst port 80" | grep -q . &&
		POST[$t]=yes
done
CT=$LAB_DIR/conntrack.out
RECS[conntrack]=$(grep -c 'DESTROY' "$CT" || true)
SEEN[conntrack]=$(grep 'DESTROY' "$CT" | grep -E ' src=192\.0\.2\.[0-9]+ dst=198\.51\.100\.[0-9]+ sport=[0-9]+ dport=80 ' |
	sed -E 's/.*(tcp|udp) +[0-9]+ +(.*) src=(192\.0\.2\.[0-9]+) dst=([0-9.]+) sport=([0-9]+) .*/\1 \3 \4 \5/' | grep -c . || true)
PRE[conntrack]=yes
POST[conntrack]=yes
grep -q ENOBUFS "$LAB_DIR/conntrack.err" 2>/dev/null &&
	NOTE[conntrack]="reported ENOBUFS (events lost)"
if [ -n "${PID[ulogd2]:-}" ] && grep -qiE 'lost|overrun|ENOBUFS' "$LAB_DIR/ulogd.log" 2>/dev/null; then
	NOTE[ulogd2]="log: $(grep -ciE 'lost|overrun|ENOBUFS' "$LAB_DIR/ulogd.log") lines like: $(grep -iE 'lost|overrun|ENOBUFS' "$LAB_DIR/ulogd.log" | tail -n 1 | cut -d' ' -f7-)"
fi
[ -n "${PID[softflowd]:-}" ] &&
	NOTE[softflowd]="captures packets: sees the $CONNS real connections, not the $STORM idle storm entries; no post-NAT address on the LAN side"

HZ=$(getconf CLK_TCK)
if [ "$SYSLOG" = 1 ]; then
	# The backlog in force: the one set, else the default, as the
	# configuration that lists every default has it.
	SL_BACKLOG=${E2E_SYSLOG_BACKLOG:-$("$LAB_PY" -c 'import json, sys
print(json.load(open(sys.argv[1]))["syslog"]["backlog"])' \
		"$NFFLOWD_SRCDIR/config/nfflowd.conf.example" 2>/dev/null || echo '?')}
	SL_LINES=$(lab_rsyslog_lines)
	awk -v lines="$SL_LINES" -v recs="${RECS[nfflowd]:-0}" -v sent="$SL_SENT" \
		-v queued="$SL_QUEUED" -v dropped="$SL_DROPPED" -v errors="$SL_ERRORS" \
		-v nt="${CPU[nfflowd]:-0}" -v rt="${CPU[rsyslogd]:-0}" -v hz="$HZ" \
		-v total="$TOTAL" -v hwm="${HWM[rsyslogd]:-0}" \
		-v backlog="$SL_BACKLOG" -v set="${E2E_SYSLOG_BACKLOG:+set}" \
		-v input="$LAB_RSYSLOG_INPUT" -v qlen="$SL_QLEN" 'BEGIN {
		printf "syslog=on input=%s dgram_qlen=%s backlog=%s backlog_is=%s rsyslog_lines=%d collector_records=%d equal=%s sent=%s queued=%s dropped=%s errors=%s nfflowd_cpu_s=%.2f nfflowd_cpu_us_per_conn=%.1f rsyslogd_cpu_s=%.2f rsyslogd_cpu_us_per_line=%.1f rsyslogd_peak_rss_kib=%d\n",
			input, qlen, backlog, (set == "" ? "default" : "set"),
			lines, recs, (lines == recs ? "yes" : "no"), sent, queued, dropped, errors,
			nt / hz, nt / hz * 1e6 / total, rt / hz, (lines > 0 ? rt / hz * 1e6 / lines : 0), hwm
	}'
fi
echo "e2e conns=$CONNS storm=$STORM expected=$TOTAL wall_s=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }') summary=\"$SUMMARY\""
for t in "${TOOLS[@]}"; do
	if [ -z "${PID[$t]:-}" ]; then
		echo "tool=$t available=no note=\"${NOTE[$t]:-}\""
		continue
	fi
	awk -v t="$t" -v ticks="${CPU[$t]}" -v sys="${SYS[$t]:-0}" -v hz="$HZ" -v total="$TOTAL" \
		-v hwm="${HWM[$t]:-0}" -v recs="${RECS[$t]:-0}" -v seen="${SEEN[$t]:-0}" \
		-v pre="${PRE[$t]}" -v post="${POST[$t]}" -v note="${NOTE[$t]:-}" \
		-v base="${CPU[nfflowd]:-0}" 'BEGIN {
		s = ticks / hz
		printf "tool=%s available=yes cpu_s=%.2f user_s=%.2f sys_s=%.2f cpu_us_per_conn=%.1f peak_rss_kib=%d records=%d conns_seen=%d of=%d pre_nat=%s post_nat=%s cpu_ratio_to_nfflowd=%s note=\"%s\"\n",
			t, s, (ticks - sys) / hz, sys / hz, s * 1e6 / total, hwm, recs, seen, total, pre, post,
			(base > 0 ? sprintf("%.1f", ticks / base) : "n/a"), note
	}'
done
