# shellcheck shell=bash
# Network namespace lab for nfflowd: source this file, then call lab_up.
#
#   lan (192.0.2.2/24) --- (192.0.2.1) fw (198.51.100.1) --- wan (198.51.100.2/24)
#
# fw forwards, masquerades 192.0.2.0/24 leaving its wan interface and forwards
# 198.51.100.1:8080 to 192.0.2.2:80.  wan runs the collector (nfcapd) and the
# servers the lan host talks to.  Only documentation prefixes are used and no
# namespace is connected to the host's own network.
#
# Every process the lab starts is recorded in LAB_DIR/pids and killed by pid in
# lab_down, which is registered on EXIT.  Every wait loop is bounded.

LAB_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_PY=${LAB_PY:-/usr/bin/python3}
LAB_PREFIX=${LAB_PREFIX:-nff-$$-$RANDOM}
LAB_LAN=$LAB_PREFIX-lan
LAB_FW=$LAB_PREFIX-fw
LAB_WAN=$LAB_PREFIX-wan
LAB_LAN_IP=192.0.2.2
LAB_FW_LAN_IP=192.0.2.1
LAB_FW_WAN_IP=198.51.100.1
LAB_WAN_IP=198.51.100.2
LAB_COLLECTOR_PORT=2055
LAB_DIR=${LAB_DIR:-}
LAB_UP=0
# Short names of namespaces beyond lan, fw and wan that a scenario built on
# this file adds (tests/lab/pair.sh): each is LAB_PREFIX-NAME, reachable
# through lab_ns and deleted by lab_down like the three standard ones.
LAB_EXTRA_NS=${LAB_EXTRA_NS:-}
[ -n "${LAB_NFCAPD_ARGS+x}" ] || LAB_NFCAPD_ARGS=()
[ -n "${LAB_ORACLE_ARGS+x}" ] || LAB_ORACLE_ARGS=()

# Print a diagnostic line on stderr.
lab_log() {
	printf '[lab %s] %s\n' "$(date +%H:%M:%S.%N | cut -c1-12)" "$*" >&2
}

# The full name of lab namespace lan, fw or wan.
lab_nsname() {
	case $1 in
	lan) echo "$LAB_LAN" ;;
	fw) echo "$LAB_FW" ;;
	wan) echo "$LAB_WAN" ;;
	*)
		if [[ " $LAB_EXTRA_NS " == *" $1 "* ]]; then
			echo "$LAB_PREFIX-$1"
		else
			lab_log "unknown namespace $1"
			return 2
		fi
		;;
	esac
}

# The full names of every namespace the lab may have: the standard three
# and those of LAB_EXTRA_NS.
lab_all_ns() {
	local n
	echo "$LAB_LAN" "$LAB_FW" "$LAB_WAN"
	for n in $LAB_EXTRA_NS; do
		echo "$LAB_PREFIX-$n"
	done
}

# Run a command inside one of the lab namespaces: lab_ns lan|fw|wan CMD...
lab_ns() {
	local ns
	ns=$(lab_nsname "$1") || return 2
	shift
	ip netns exec "$ns" "$@"
}

# Exit 77 (the meson/automake skip code) unless we are root with working netns.
lab_require() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root" >&2
		exit 77
	fi
	local probe=nff-probe-$$-$RANDOM
	if ! ip netns add "$probe" 2>/dev/null; then
		echo "SKIP: ip netns unusable" >&2
		exit 77
	fi
	ip netns del "$probe"
	local tool
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "SKIP: $tool not installed" >&2
			exit 77
		fi
	done
}

# Start a background process in a namespace and record its pid.
# lab_bg NAME NS CMD...   (stdout -> LAB_DIR/NAME.out, stderr -> NAME.err)
lab_bg() {
	local name=$1 ns
	ns=$(lab_nsname "$2") || return 2
	shift 2
	# A simple command, so that $! is the process itself, not a subshell.
	ip netns exec "$ns" "$@" >"$LAB_DIR/$name.out" 2>"$LAB_DIR/$name.err" </dev/null &
	local pid=$!
	echo "$pid" >"$LAB_DIR/$name.bgpid"
	echo "$pid $name" >>"$LAB_DIR/pids"
	lab_log "started $name (pid $pid) in $ns: $*"
}

# Pid of a process started with lab_bg, empty if none.
lab_pid() {
	[ -f "$LAB_DIR/$1.bgpid" ] && cat "$LAB_DIR/$1.bgpid"
}

# Send SIGTERM (or $2) to a recorded process and wait for it (at most 5 s,
# then SIGKILL).  Returns the process's exit status when it could be reaped.
lab_stop() {
	local name=$1 sig=${2:-TERM} pid _
	pid=$(lab_pid "$name") || return 0
	[ -n "$pid" ] || return 0
	rm -f "$LAB_DIR/$name.bgpid"
	kill -s "$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		lab_log "$name (pid $pid) ignored SIG$sig for 5 s, killing"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	local rc=0
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

# The work directory, the pid list and the clean-up on exit, shared by every
# topology (lab_up, pair_up).
lab_init() {
	if [ -z "$LAB_DIR" ]; then
		LAB_DIR=$(mktemp -d /tmp/nfflab.XXXXXX)
	fi
	: >"$LAB_DIR/pids"
	LAB_UP=1
	trap lab_down EXIT
	trap 'exit 130' INT TERM HUP
}

# A firewall namespace's settings: forwarding, conntrack accounting and
# timestamps, and timeouts short enough that DESTROY comes within seconds;
# further name=value settings may follow: lab_fw_sysctl NS [SETTING...].
lab_fw_sysctl() {
	local ns=$1
	shift
	lab_ns "$ns" sysctl -q -w \
		net.ipv4.ip_forward=1 \
		net.netfilter.nf_conntrack_acct=1 \
		net.netfilter.nf_conntrack_timestamp=1 \
		net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 \
		net.netfilter.nf_conntrack_tcp_timeout_close=1 \
		net.netfilter.nf_conntrack_tcp_timeout_fin_wait=2 \
		net.netfilter.nf_conntrack_tcp_timeout_close_wait=2 \
		net.netfilter.nf_conntrack_tcp_timeout_last_ack=2 \
		net.netfilter.nf_conntrack_udp_timeout=2 \
		net.netfilter.nf_conntrack_udp_timeout_stream=2 \
		net.netfilter.nf_conntrack_icmp_timeout=1 "$@"
}

# Create the three namespaces, links, addresses, routes and firewall rules.
lab_up() {
	lab_init
	lab_log "namespaces $LAB_PREFIX-{lan,fw,wan}, work dir $LAB_DIR"

	ip netns add "$LAB_LAN"
	ip netns add "$LAB_FW"
	ip netns add "$LAB_WAN"
	local ns
	for ns in "$LAB_LAN" "$LAB_FW" "$LAB_WAN"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$LAB_FW" link add fw-lan type veth peer name lan0 netns "$LAB_LAN"
	ip -n "$LAB_FW" link add fw-wan type veth peer name wan0 netns "$LAB_WAN"

	ip -n "$LAB_LAN" addr add "$LAB_LAN_IP/24" dev lan0
	ip -n "$LAB_LAN" link set lan0 up
	ip -n "$LAB_LAN" route add default via "$LAB_FW_LAN_IP"

	ip -n "$LAB_FW" addr add "$LAB_FW_LAN_IP/24" dev fw-lan
	ip -n "$LAB_FW" addr add "$LAB_FW_WAN_IP/24" dev fw-wan
	ip -n "$LAB_FW" link set fw-lan up
	ip -n "$LAB_FW" link set fw-wan up

	ip -n "$LAB_WAN" addr add "$LAB_WAN_IP/24" dev wan0
	ip -n "$LAB_WAN" link set wan0 up
	ip -n "$LAB_WAN" route add default via "$LAB_FW_WAN_IP"

	# The nat table pulls in conntrack for this namespace; the sysctls below
	# exist only once it is loaded.
	lab_ns fw nft -f - <<-EOF
		table ip nfflab {
			chain pre {
				type nat hook prerouting priority dstnat; policy accept;
				ip daddr $LAB_FW_WAN_IP tcp dport 8080 dnat to $LAB_LAN_IP:80
			}
			chain post {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "fw-wan" ip saddr 192.0.2.0/24 masquerade
			}
		}
	EOF
	lab_fw_sysctl fw
	# Do not let ping's first packet wait for neighbour resolution timing out.
	lab_ns lan ping -c 1 -W 2 -q "$LAB_FW_LAN_IP" >/dev/null
	lab_ns wan ping -c 1 -W 2 -q "$LAB_FW_WAN_IP" >/dev/null
}

# Kill every recorded process, then anything left in our namespaces, then
# delete the namespaces.  Safe to call twice.
lab_down() {
	local rc=$?
	[ "$LAB_UP" = 1 ] || return $rc
	LAB_UP=0
	local pid name ns
	# A scenario's own orderly stop first (pair.sh: keepalived, conntrackd).
	if [ -n "${LAB_DOWN_HOOK:-}" ]; then
		"$LAB_DOWN_HOOK" || true
	fi
	if [ -f "$LAB_DIR/pids" ]; then
		while read -r pid name; do
			if kill -0 "$pid" 2>/dev/null; then
				kill -TERM "$pid" 2>/dev/null || true
			fi
		done <"$LAB_DIR/pids"
		sleep 0.2
		while read -r pid name; do
			if kill -0 "$pid" 2>/dev/null; then
				lab_log "killing $name (pid $pid)"
				kill -KILL "$pid" 2>/dev/null || true
			fi
		done <"$LAB_DIR/pids"
	fi
	# A daemonised nfflowd or a forked helper is not in the pid list but
	# lives in one of our own namespaces.
	for ns in $(lab_all_ns); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			lab_log "killing leftover pid $pid in $ns"
			kill -KILL "$pid" 2>/dev/null || true
		done
	done
	for ns in $(lab_all_ns); do
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ "${LAB_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then
		lab_log "work dir kept: $LAB_DIR"
	else
		rm -rf "$LAB_DIR"
	fi
	return $rc
}

# Wait until TCP or UDP port $3 is bound in namespace $1 (proto $2: t or u),
# on address $4 when given, at most 5 s.
lab_wait_port() {
	local ns=$1 proto=$2 port=$3 addr=${4:-} match where _
	if [ -n "$addr" ]; then
		match="src [$addr]:$port" where="[$addr]:$port"
	else
		match="sport = :$port" where=$port
	fi
	for _ in $(seq 1 50); do
		if lab_ns "$ns" ss -Hln"$proto" "$match" | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	lab_log "nothing listening on $proto/$where in $ns after 5 s"
	return 1
}

# Run peer.py in namespace $1 with the rest as its arguments.
lab_peer() {
	local ns=$1
	shift
	lab_ns "$ns" "$LAB_PY" "$LAB_SRC_DIR/peer.py" "$@"
}

# ---------------------------------------------------------------- collector

# Start nfcapd in wan listening on 198.51.100.2:2055, files under LAB_DIR/flows.
# Extra nfcapd options may be given in the array LAB_NFCAPD_ARGS (e.g. -B).
lab_collector_start() {
	mkdir -p "$LAB_DIR/flows"
	lab_bg nfcapd wan nfcapd -w "$LAB_DIR/flows" -b "$LAB_WAN_IP" \
		-p "$LAB_COLLECTOR_PORT" -t 3600 -I nfflab "${LAB_NFCAPD_ARGS[@]}"
	lab_wait_port wan u "$LAB_COLLECTOR_PORT"
}

# Stop nfcapd (SIGTERM makes it write out and close its current file).
lab_collector_stop() {
	lab_stop nfcapd TERM || true
}

# The nfdump line format the lab reads back: one record per line, '|'
# separated: start end proto srcaddr srcport dstaddr dstport packets bytes
# exporter icmp-type icmp-code.  Times are fractional epoch seconds.
LAB_NFDUMP_FMT='fmt:%tsr|%ter|%pr|%sa|%sp|%da|%dp|%pkt|%byt|%ra|%it|%ic|%nfv'

# Print every record the collector stored, in LAB_NFDUMP_FMT.
lab_collector_dump() {
	TZ=UTC nfdump -R "$LAB_DIR/flows" -q -N -6 -o "$LAB_NFDUMP_FMT"
}

# Print the records in a human-readable line format.
lab_collector_show() {
	TZ=UTC nfdump -R "$LAB_DIR/flows" -q -N \
		-o 'fmt:%ts  %te  %pr  %sap -> %dap  %pkt pkts  %byt bytes'
}

# ---------------------------------------------------------------- oracle

# The conntrack event streams of fw, which the exported records are compared
# with.  Two listeners, joined by conntrack id: the text form has the ICMP
# type/code (the XML form omits them), the XML form has the kernel's start
# and stop timestamps in nanoseconds (the text form prints whole seconds).
# Extra conntrack options may be given in the array LAB_ORACLE_ARGS (e.g. a
# larger --buffer-size for thousands of connections a second).
# In another namespace than fw (lab_oracle_start NS), the listeners are
# named oracle-NS-text and oracle-NS-xml (LAB_DIR/oracle-NS-text.out ...).
# shellcheck disable=SC2120  # NS is optional
lab_oracle_start() {
	local o
	o=$(lab_oracle_name "${1:-fw}")
	lab_bg "$o-text" "${1:-fw}" conntrack -E -e NEW,DESTROY \
		-o extended,id,timestamp "${LAB_ORACLE_ARGS[@]}"
	lab_bg "$o-xml" "${1:-fw}" conntrack -E -e NEW,DESTROY \
		-o xml,id,ktimestamp "${LAB_ORACLE_ARGS[@]}"
	sleep 0.3
}

# The name of the oracle of namespace $1: oracle for fw, oracle-NS else.
lab_oracle_name() {
	if [ "${1:-fw}" = fw ]; then
		echo oracle
	else
		echo "oracle-$1"
	fi
}

# Stop the event listeners (of namespace $1, default fw).
# shellcheck disable=SC2120  # NS is optional
lab_oracle_stop() {
	local o
	o=$(lab_oracle_name "${1:-fw}")
	lab_stop "$o-text" TERM || true
	lab_stop "$o-xml" TERM || true
}

# Print the oracle's parsed DESTROY events (of namespace $1, default fw),
# one JSON object a line.
lab_oracle_show() {
	local o
	o=$(lab_oracle_name "${1:-fw}")
	"$LAB_PY" "$LAB_SRC_DIR/compare.py" oracle \
		--ct-text "$LAB_DIR/$o-text.out" --ct-xml "$LAB_DIR/$o-xml.out"
}

# Wait (at most $2 s) until fw's oracle has seen the DESTROY of a
# connection to port $1, listing the table meanwhile (which makes the
# kernel destroy expired entries at once).
lab_oracle_saw_destroy() {
	local _
	for _ in $(seq 1 $(($2 * 5))); do
		grep -q "DESTROY.*dport=$1 " "$LAB_DIR/oracle-text.out" 2>/dev/null && return 0
		lab_ct_count "" >/dev/null
		sleep 0.2
	done
	lab_log "no DESTROY of a connection to port $1 within $2 s"
	return 1
}

# Number of entries in fw's conntrack table, not counting lines that contain
# the fixed string $1 (if given).  Listing the table makes the kernel evict
# expired entries at once instead of at its next garbage collection run.
lab_ct_count() {
	lab_ct_count_in fw "${1:-}"
}

# The same in namespace $1: lab_ct_count_in NS [EXCLUDE].
lab_ct_count_in() {
	local out
	out=$(lab_ns "$1" conntrack -L 2>/dev/null) || true
	if [ -n "${2:-}" ]; then
		out=$(printf '%s\n' "$out" | grep -vF -- "$2") || true
	fi
	printf '%s\n' "$out" | grep -c . || true
}

# Wait (at most $1 s, default 20) until fw's conntrack table is empty, not
# counting entries whose line contains $2.
lab_ct_drain() {
	lab_ct_drain_in fw "${1:-20}" "${2:-}"
}

# The same in namespace $1: lab_ct_drain_in NS [LIMIT [EXCLUDE]].
lab_ct_drain_in() {
	local ns=$1 limit=${2:-20} _ n=
	for _ in $(seq 1 $((limit * 4))); do
		n=$(lab_ct_count_in "$ns" "${3:-}")
		if [ "$n" -eq 0 ]; then
			return 0
		fi
		sleep 0.25
	done
	lab_log "conntrack table of $ns still has $n entries after ${limit} s:"
	lab_ns "$ns" conntrack -L >&2 || true
	return 1
}

# ---------------------------------------------------------------- traffic

# Start the wan-side servers: TCP 80 (answers one line, closes), UDP 53
# (echoes), UDP 9 (discards, never answers).
lab_servers_start() {
	lab_bg tcp80 wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" tcp-server "$LAB_WAN_IP" 80
	lab_bg udp53 wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" udp-echo "$LAB_WAN_IP" 53
	lab_bg udp9 wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" udp-sink "$LAB_WAN_IP" 9
	lab_bg lan80 lan "$LAB_PY" "$LAB_SRC_DIR/peer.py" tcp-server "$LAB_LAN_IP" 80
	lab_wait_port wan t 80 && lab_wait_port wan u 53 &&
		lab_wait_port wan u 9 && lab_wait_port lan t 80
}

# One TCP connection from lan to wan:80 through the masquerade.
lab_tcp_client() {
	lab_peer lan tcp-client "$LAB_WAN_IP" 80 "${1:-hello}"
}

# One TCP connection from wan to the port forward 198.51.100.1:8080.
lab_dnat_client() {
	lab_peer wan tcp-client "$LAB_FW_WAN_IP" 8080 "${1:-hello}"
}

# One UDP request from lan to wan:53 and its answer.
lab_udp_client() {
	lab_peer lan udp-client "$LAB_WAN_IP" 53 "${1:-query}"
}

# One UDP datagram from lan to wan:9 that gets no answer.
lab_udp_oneway() {
	lab_peer lan udp-send "$LAB_WAN_IP" 9 "${1:-datagram}"
}

# One ICMP echo from lan to wan.
lab_ping() {
	lab_ns lan ping -c 1 -W 2 -q "$LAB_WAN_IP" >/dev/null
}

# One ICMP echo from wan to fw itself: a connection without NAT.
lab_ping_fw() {
	lab_ns wan ping -c 1 -W 2 -q "$LAB_FW_WAN_IP" >/dev/null
}

# Wait (at most $2 s, default 10) for a recorded process to exit on its own;
# returns its exit status, or 124 if it is still running.
lab_wait_exit() {
	local name=$1 limit=${2:-10} pid _
	pid=$(lab_pid "$name") || return 0
	[ -n "$pid" ] || return 0
	for _ in $(seq 1 $((limit * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		lab_log "$name (pid $pid) still running after ${limit} s"
		return 124
	fi
	rm -f "$LAB_DIR/$name.bgpid"
	local rc=0
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

# ---------------------------------------------------------------- capture

# Capture the export datagrams on wan's interface (at most $1 s, default 120).
lab_capture_start() {
	lab_bg capture wan tshark -q -i wan0 -f "udp port $LAB_COLLECTOR_PORT" \
		-w "$LAB_DIR/export.pcapng" -a "duration:${1:-120}"
	# dumpcap reports on stderr once the capture runs.
	local _
	for _ in $(seq 1 50); do
		grep -q "Capturing on" "$LAB_DIR/capture.err" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.2
}

# Stop the capture (SIGINT lets it finish the file).
lab_capture_stop() {
	lab_stop capture INT || true
}

# Decode the capture as NetFlow into '|'-separated fields (see compare.py).
lab_capture_fields() {
	lab_v5_fields "$LAB_DIR/export.pcapng" "$LAB_COLLECTOR_PORT"
}

# Decode capture file $1 with UDP port $2 as NetFlow v5 into the fields of
# lab_capture_fields; further tshark options (e.g. -Y FILTER) may follow.
lab_v5_fields() {
	local file=$1 port=$2
	shift 2
	tshark -r "$file" -d "udp.port==$port,cflow" "$@" \
		-T fields -E separator='|' -E aggregator=';' \
		-e frame.number -e cflow.version -e cflow.count -e cflow.sequence \
		-e cflow.sysuptime -e cflow.unix_secs -e cflow.unix_nsecs \
		-e cflow.srcaddr -e cflow.dstaddr -e cflow.nexthop \
		-e cflow.inputint -e cflow.outputint -e cflow.packets \
		-e cflow.octets -e cflow.timestart -e cflow.timeend \
		-e cflow.srcport -e cflow.dstport -e cflow.protocol -e cflow.tos \
		-e cflow.tcpflags -e ip.src -e ip.dst -e udp.dstport -e udp.length \
		-e _ws.malformed -e _ws.expert.severity 2>/dev/null
}

# ---------------------------------------------------------------- daemon

LAB_NFFLOWD=${LAB_NFFLOWD:-${NFFLOWD:-}}
# Optional command the daemon runs under (e.g. valgrind and its options),
# executed inside fw so that the recorded pid is the daemon's own process;
# and how long (s) lab_daemon_start waits for the ready line.
[ -n "${LAB_DAEMON_WRAPPER+x}" ] || LAB_DAEMON_WRAPPER=()
LAB_READY_TIMEOUT=${LAB_READY_TIMEOUT:-10}

# Write the daemon's configuration to LAB_DIR/nfflowd.json; extra JSON
# members may be passed as $1 (e.g. '"untranslated_records": true'), and
# the "syslog" object as $2 (default: off).
lab_daemon_config() {
	local extra=${1:-} syslog=${2:-'{"enabled": false}'}
	[ -n "$extra" ] && extra=", $extra"
	cat >"$LAB_DIR/nfflowd.json" <<-EOF2
		{
		  "source": "$LAB_FW_WAN_IP",
		  "collector": "$LAB_WAN_IP",
		  "port": $LAB_COLLECTOR_PORT,
		  "stdout": true,
		  "flush_interval": 0.2,
		  "pidfile": "$LAB_DIR/nfflowd.pid",
		  "control_socket": "$LAB_DIR/nfflowd.sock",
		  "state_file": "$LAB_DIR/nfflowd.state",
		  "syslog": $syslog$extra
		}
	EOF2
}

# Run the daemon's client side in fw: lab_nfflowd COMMAND... (bounded 20 s).
lab_nfflowd() {
	lab_ns fw timeout 20 "$LAB_NFFLOWD" -c "$LAB_DIR/nfflowd.json" "$@"
}

# Start `nfflowd -f start` in fw (stdout -> LAB_DIR/nfflowd.out), under
# LAB_DAEMON_WRAPPER if set, and wait until it says it is ready (subscribed,
# table loaded; at most LAB_READY_TIMEOUT s, default 10).
lab_daemon_start() {
	[ -f "$LAB_DIR/nfflowd.json" ] || lab_daemon_config
	lab_bg nfflowd fw "${LAB_DAEMON_WRAPPER[@]}" "$LAB_NFFLOWD" \
		-c "$LAB_DIR/nfflowd.json" -f start
	lab_daemon_wait_ready nfflowd
}

# Wait until the daemon started with lab_bg as $1 says it is ready on its
# stderr (at most LAB_READY_TIMEOUT s); fail at once if it exits.
lab_daemon_wait_ready() {
	local name=$1 pid _
	pid=$(lab_pid "$name")
	for _ in $(seq 1 $((LAB_READY_TIMEOUT * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			lab_log "$name exited during start-up:"
			cat "$LAB_DIR/$name.err" >&2
			return 1
		fi
		grep -q 'ready (pid' "$LAB_DIR/$name.err" 2>/dev/null && break
		sleep 0.1
	done
	if ! grep -q 'ready (pid' "$LAB_DIR/$name.err" 2>/dev/null; then
		lab_log "$name was not ready within $LAB_READY_TIMEOUT s"
		return 1
	fi
}

# Stop the daemon with `nfflowd stop` and collect its exit status.
lab_daemon_stop() {
	local rc=0
	lab_nfflowd stop >"$LAB_DIR/stop.out" 2>&1 || rc=$?
	if [ $rc != 0 ]; then
		lab_log "nfflowd stop exited $rc:"
		cat "$LAB_DIR/stop.out" >&2
	fi
	local st=0
	lab_wait_exit nfflowd 10 || st=$?
	if [ $st != 0 ]; then
		lab_log "nfflowd exited with status $st; its stderr:"
		cat "$LAB_DIR/nfflowd.err" >&2
		lab_stop nfflowd KILL || true
		return 1
	fi
	return $rc
}

# ---------------------------------------------------------------- scenario

# One connection of each kind: TCP through the masquerade and to the port
# forward, UDP answered and unanswered, ping through the masquerade and to
# fw itself (no NAT).  The clients' answers go to stdout.
lab_traffic() {
	lab_log "traffic: tcp, dnat, udp answered, udp unanswered, icmp, icmp to fw"
	lab_tcp_client masq
	lab_dnat_client dnat
	lab_udp_client query
	lab_udp_oneway oneway
	lab_ping
	lab_ping_fw
}

# The standard scenario used by the integration tests and the demo: oracle,
# collector (and capture if $1 = capture), daemon, one connection of each
# kind, wait for every DESTROY, stop everything.  Results stay in LAB_DIR.
lab_scenario() {
	lab_servers_start
	lab_ct_drain 10
	lab_oracle_start
	lab_collector_start
	[ "${1:-}" = capture ] && lab_capture_start 120
	lab_daemon_config "${LAB_DAEMON_EXTRA:-}"
	lab_daemon_start
	lab_traffic
	lab_log "waiting for conntrack to destroy every connection"
	lab_ct_drain 20 "dport=$LAB_COLLECTOR_PORT "
	# Let the daemon's own export flow expire too while it runs, so that
	# its DESTROY reaches the daemon (which must not export it).  If the
	# daemon does export it, every datagram renews the entry: bounded.
	lab_ct_drain 8 || lab_log "export flow still alive; going on"
	# Let the flush interval pass so that nothing relies on the stop flush.
	sleep 0.6
	lab_daemon_stop
	sleep 0.3
	[ "${1:-}" = capture ] && lab_capture_stop
	lab_collector_stop
	lab_oracle_stop
	TZ=UTC nfdump -R "$LAB_DIR/flows" -N -o json >"$LAB_DIR/collector.json"
}

# ---------------------------------------------------------------- IPv6 layer

# Opt-in, after lab_up: the same three hosts with IPv6 addresses from the
# documentation prefix 2001:db8::/32.
#
#   lan (2001:db8:1::2/64) --- (2001:db8:1::1) fw (2001:db8:2::1) ---
#   wan (2001:db8:2::2/64)
#
# fw forwards, masquerades 2001:db8:1::/64 leaving fw-wan (NAT66) and
# forwards [2001:db8:2::1]:8080 to [2001:db8:1::2]:80.
LAB_LAN6_IP=2001:db8:1::2
LAB_FW_LAN6_IP=2001:db8:1::1
LAB_FW_WAN6_IP=2001:db8:2::1
LAB_WAN6_IP=2001:db8:2::2

# Add the IPv6 addresses (without duplicate address detection, so that they
# are usable at once), routes, forwarding and the ip6 nat table.
lab_up6() {
	[ "$LAB_UP" = 1 ] || { lab_log "lab_up6 needs lab_up first"; return 1; }
	ip -n "$LAB_LAN" addr add "$LAB_LAN6_IP/64" dev lan0 nodad
	ip -n "$LAB_LAN" -6 route add default via "$LAB_FW_LAN6_IP"
	ip -n "$LAB_FW" addr add "$LAB_FW_LAN6_IP/64" dev fw-lan nodad
	ip -n "$LAB_FW" addr add "$LAB_FW_WAN6_IP/64" dev fw-wan nodad
	ip -n "$LAB_WAN" addr add "$LAB_WAN6_IP/64" dev wan0 nodad
	ip -n "$LAB_WAN" -6 route add default via "$LAB_FW_WAN6_IP"
	lab_ns fw nft -f - <<-EOF
		table ip6 nfflab6 {
			chain pre {
				type nat hook prerouting priority dstnat; policy accept;
				ip6 daddr $LAB_FW_WAN6_IP tcp dport 8080 dnat to [$LAB_LAN6_IP]:80
			}
			chain post {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "fw-wan" ip6 saddr 2001:db8:1::/64 masquerade
			}
		}
	EOF
	# The TCP and UDP timeouts lab_up shortened are shared by both
	# families; ICMPv6 has a timeout of its own.
	lab_ns fw sysctl -q -w \
		net.ipv6.conf.all.forwarding=1 \
		net.netfilter.nf_conntrack_icmpv6_timeout=1
	# Resolve the neighbours now (bounded), as lab_up does for IPv4; the
	# link-local addresses the kernel adds may still be tentative, so
	# retry for up to 5 s.
	local ok=0
	for _ in $(seq 1 25); do
		if lab_ns lan ping -6 -c 1 -W 1 -q "$LAB_FW_LAN6_IP" >/dev/null 2>&1 &&
			lab_ns wan ping -6 -c 1 -W 1 -q "$LAB_FW_WAN6_IP" >/dev/null 2>&1; then
			ok=1
			break
		fi
		sleep 0.2
	done
	if [ $ok != 1 ]; then
		lab_log "IPv6 neighbours of fw unreachable after 5 s"
		return 1
	fi
}

# Start the wan-side IPv6 servers (TCP 80, UDP 53 echo, UDP 9 sink) and
# lan's TCP 80 for the port forward.
lab_servers6_start() {
	local px=$LAB_SRC_DIR/peer.py
	lab_bg tcp80v6 wan "$LAB_PY" "$px" tcp-server "$LAB_WAN6_IP" 80
	lab_bg udp53v6 wan "$LAB_PY" "$px" udp-echo "$LAB_WAN6_IP" 53
	lab_bg udp9v6 wan "$LAB_PY" "$px" udp-sink "$LAB_WAN6_IP" 9
	lab_bg lan80v6 lan "$LAB_PY" "$px" tcp-server "$LAB_LAN6_IP" 80
	lab_wait_port wan t 80 "$LAB_WAN6_IP" &&
		lab_wait_port wan u 53 "$LAB_WAN6_IP" &&
		lab_wait_port wan u 9 "$LAB_WAN6_IP" &&
		lab_wait_port lan t 80 "$LAB_LAN6_IP"
}

# IPv6 traffic through fw: TCP via the masquerade, TCP to the port
# forward, UDP answered, UDP unanswered, ICMPv6 echo.
lab_tcp6_client() {
	lab_peer lan tcp-client "$LAB_WAN6_IP" 80 "${1:-hello}"
}
lab_dnat6_client() {
	lab_peer wan tcp-client "$LAB_FW_WAN6_IP" 8080 "${1:-hello}"
}
lab_udp6_client() {
	lab_peer lan udp-client "$LAB_WAN6_IP" 53 "${1:-query}"
}
lab_udp6_oneway() {
	lab_peer lan udp-send "$LAB_WAN6_IP" 9 "${1:-datagram}"
}
lab_ping6() {
	lab_ns lan ping -6 -c 1 -W 2 -q "$LAB_WAN6_IP" >/dev/null
}

# ---------------------------------------------------------------- several collectors

# Start an nfcapd named $1 in wan on UDP port $2 (IPv4 address of wan),
# storing under LAB_DIR/$1; extra nfcapd options may follow.
lab_nfcapd_start() {
	local name=$1 port=$2
	shift 2
	mkdir -p "$LAB_DIR/$name"
	lab_bg "$name" wan nfcapd -w "$LAB_DIR/$name" -b "$LAB_WAN_IP" \
		-p "$port" -t 3600 -I "$name" "$@"
	lab_wait_port wan u "$port"
}

# Stop nfcapd $1 (SIGTERM: it writes out and closes its current file).
lab_nfcapd_stop() {
	lab_stop "$1" TERM || true
}

# Capture the UDP datagrams to the given ports on wan's interface into
# LAB_DIR/$1.pcapng (at most $2 s): lab_capture_ports NAME SECONDS PORT...
lab_capture_ports() {
	local name=$1 secs=$2 filter="" p
	shift 2
	for p in "$@"; do
		filter="${filter:+$filter or }udp dst port $p"
	done
	lab_bg "$name" wan tshark -q -i wan0 -f "$filter" \
		-w "$LAB_DIR/$name.pcapng" -a "duration:$secs"
	for _ in $(seq 1 50); do
		grep -q "Capturing on" "$LAB_DIR/$name.err" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.2
}
