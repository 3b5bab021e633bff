# shellcheck shell=bash
# Shared helpers of the "lose no flow" tests (storms, bursts, restarts):
# source it from a test script instead of common.sh.
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LL_PY=$NFFLOWD_SRCDIR/tests/lab/lossless.py
declare -A CNT=()

# Run the loss-check helper.
ll() {
	"$LAB_PY" "$LL_PY" "$@"
}

# The shared check/fail of tests/lab/checks.sh under this file's prefix.
ll_fail() { fail "$@"; }
ll_check() { check "$@"; }

# Print the verdict and exit with it (diagnostics first on failure).
ll_finish() {
	if [ "$FAILS" != 0 ]; then
		echo "$FAILS check(s) failed"
		it_show "$LAB_DIR/nfflowd.err" 80
		it_show "$LAB_DIR/nfcapd.err" 20
		exit 1
	fi
	echo "all checks passed"
	exit 0
}

# Find ctstorm (env CTSTORM, else next to the daemon in the build tree).
ll_need_ctstorm() {
	CTSTORM=${CTSTORM:-$(dirname "$LAB_NFFLOWD")/tests/tools/ctstorm}
	if [ ! -x "$CTSTORM" ]; then
		echo "FAIL: set CTSTORM to the built ctstorm (got '$CTSTORM')" >&2
		exit 1
	fi
}

# Create $1 conntrack entries in fw with timeout $2 (default 600 s).
ll_ctstorm() {
	local out
	out=$(lab_ns fw "$CTSTORM" "$1" "${2:-600}") || {
		echo "ctstorm failed: $out"
		return 1
	}
	lab_log "ctstorm: $out"
}

# The lab, with DESTROY events for every entry (as after a first daemon
# run, SPEC kernel_setup) and an empty table to start from.
ll_up() {
	lab_up
	lab_ns fw sysctl -q -w net.netfilter.nf_conntrack_events=1
	lab_ct_drain 10
}

# For the benchmarks: the lab with N entries in fw's table (bench/ctfill,
# 600 s timeout) and a collector, and a daemon config in LAB_DIR with
# extra JSON keys $2 (e.g. '"active_timeout": 1').
ll_bench_lab() {
	lab_require conntrack nft
	ll_need_ctstorm
	ll_up
	lab_collector_start
	ll_ctstorm "$1" 600
	cat >"$LAB_DIR/nfflowd.json" <<-EOF2
		{ "source": "$LAB_FW_WAN_IP", "collector": "$LAB_WAN_IP", "port": $LAB_COLLECTOR_PORT,
		  "pidfile": "$LAB_DIR/nfflowd.pid", "control_socket": "$LAB_DIR/nfflowd.sock",
		  "syslog": {"enabled": false}${2:+, $2} }
	EOF2
}

# Fill CNT with the daemon's counters: from the control socket while it
# runs (when the daemon serves one), else from its log after the stop.
ll_counters() {
	local line k v
	CNT=()
	while IFS= read -r line; do
		k=${line%%=*}
		v=${line#*=}
		CNT[$k]=$v
	done < <(ll counters --socket "$LAB_DIR/nfflowd.sock" \
		--log "$LAB_DIR/nfflowd.err" 2>/dev/null || true)
	lab_log "counters (${CNT[via]:-none}): $(for k in "${!CNT[@]}"; do printf '%s=%s ' "$k" "${CNT[$k]}"; done)"
}

# Wait (at most $3 s) until file $1 has $2 lines, or its line count has
# not changed for 3 s; prints the count.
ll_wait_lines() {
	local f=$1 want=$2 limit=$3 n=0 last=-1 still=0
	for _ in $(seq 1 $((limit * 5))); do
		n=$(wc -l <"$f" 2>/dev/null || echo 0)
		[ "$n" -ge "$want" ] && break
		if [ "$n" = "$last" ]; then
			still=$((still + 1))
			[ $still -ge 15 ] && break
		else
			still=0
		fi
		last=$n
		sleep 0.2
	done
	echo "$n"
}

# Start the logging TCP server in wan on port 80 (peer ports -> LAB_DIR/$1).
ll_server_start() {
	local log=${1:-server.log}
	lab_bg "srv-$log" wan "$LAB_PY" "$LL_PY" tcp-server "$LAB_WAN_IP" 80 \
		"$LAB_DIR/$log" 300
	lab_wait_port wan t 80
}

# Stop the server started with log name $1.
ll_server_stop() {
	lab_stop "srv-${1:-server.log}" TERM || true
}

# ll_burst LOG COUNT PARALLEL [RATE]: COUNT connections lan -> wan:80,
# local ports -> LAB_DIR/LOG; prints the generator's summary line.
ll_burst() {
	lab_ns lan "$LAB_PY" "$LL_PY" tcp-burst "$LAB_WAN_IP" 80 "$2" "$3" \
		"$LAB_DIR/$1" 120 "${4:-0}"
}

# Write what the collector stored to LAB_DIR/collector.txt.
ll_collector_dump() {
	lab_collector_dump >"$LAB_DIR/collector.txt"
}

# Print the kernel's view of the export path (drops on the way to nfcapd).
ll_path_stats() {
	echo "----- export path counters -----"
	lab_ns wan grep -A1 '^Udp:' /proc/net/snmp | head -n 2 | sed 's/^/wan  /'
	lab_ns fw grep -A1 '^Udp:' /proc/net/snmp | head -n 2 | sed 's/^/fw   /'
	lab_ns wan ip -s link show wan0 | sed -n '3,4p' | sed 's/^/wan0 /'
	lab_ns fw ip -s link show fw-wan | sed -n '5,6p' | sed 's/^/fw-wan /'
	local cpu=0 processed dropped squeezed rest
	while read -r processed dropped squeezed rest; do
		echo "softnet cpu$cpu processed $((16#$processed)) dropped $((16#$dropped)) squeezed $((16#$squeezed))"
		cpu=$((cpu + 1))
	done </proc/net/softnet_stat
}

# The value of a counter of the UDP MIB in namespace $1 (e.g. InDatagrams).
ll_udp_mib() {
	# shellcheck disable=SC2016
	lab_ns "$1" awk -v k="$2" '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else { print $c[k]; exit } }' /proc/net/snmp
}
