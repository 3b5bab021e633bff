# shellcheck shell=bash
# A real syslog daemon for the lab: rsyslogd (Debian's rsyslog package) in
# the foreground, in a namespace of the lab, with a private configuration
# and socket in a directory of the test.  Source it after lab.sh.
#
# The configuration uses no system socket (/dev/log is never touched, nor
# the host's rsyslog or /etc): one input on LAB_RSYSLOG_DIR/log.sock, with
# rate limiting off (rsyslog limits per process otherwise in some versions,
# which would silently drop record lines), and a main queue large and
# patient enough that rsyslogd itself never discards a message of a test.
# LAB_RSYSLOG_INPUT chooses the input (read by lab_rsyslog_config):
#   dgram   (default) imuxsock: a datagram socket, as /dev/log is; one
#           message per datagram
#   stream  imptcp with path=: a Unix stream socket; LF-framed messages
#           (RFC 6587 non-transparent framing), as README's "Local copy of
#           each record" suggests for an input of nfflowd's own
# Messages whose program name (the tag without "[pid]:") is the record ident
# go to two files, every other message to a third:
#   records.log   the message text without the space that follows the tag:
#                 one CSV record line per message, as the daemon printed it
#   records.meta  FACILITY SEVERITY TAG PROCID per message (numbers, the tag
#                 as sent, e.g. "nfflowd[123]:"), for the syslog fields
#   other.log     anything else, in rsyslog's own file format
# Every rsyslogd started here is recorded by lab_bg (killed by pid in
# lab_down); several may run one after another on the same socket and
# files (a restart appends).

LAB_RSYSLOGD=${LAB_RSYSLOGD:-/usr/sbin/rsyslogd}
LAB_RSYSLOG_DIR=${LAB_RSYSLOG_DIR:-}
LAB_RSYSLOG_INPUT=${LAB_RSYSLOG_INPUT:-dgram}
LAB_RSYSLOG_NAME=

# Write the configuration for record ident $1 into LAB_RSYSLOG_DIR
# (default LAB_DIR/rsyslog), with the input LAB_RSYSLOG_INPUT, and check
# it with rsyslogd -N1.
lab_rsyslog_config() {
	local ident=$1 d input
	[ -n "$LAB_RSYSLOG_DIR" ] || LAB_RSYSLOG_DIR=$LAB_DIR/rsyslog
	d=$LAB_RSYSLOG_DIR
	mkdir -p "$d/work"
	case $LAB_RSYSLOG_INPUT in
	dgram)
		input="module(load=\"imuxsock\" SysSock.Use=\"off\")
input(type=\"imuxsock\" Socket=\"$d/log.sock\" RateLimit.Interval=\"0\"
      RateLimit.Burst=\"2147483647\")"
		;;
	stream)
		# unlink: a socket left by a killed rsyslogd is replaced (and
		# removed at a clean stop, as imuxsock does).
		input="module(load=\"imptcp\")
input(type=\"imptcp\" path=\"$d/log.sock\" unlink=\"on\"
      RateLimit.Interval=\"0\" RateLimit.Burst=\"2147483647\")"
		;;
	*)
		lab_log "LAB_RSYSLOG_INPUT must be dgram or stream, not '$LAB_RSYSLOG_INPUT'"
		return 1
		;;
	esac
	cat >"$d/rsyslog.conf" <<-EOF
		# Private rsyslogd of an nfflowd test (tests/lab/rsyslog.sh).
		global(workDirectory="$d/work" localHostName="nfflab"
		       net.enableDNS="off")
		$input
		main_queue(queue.type="LinkedList" queue.size="1000000"
		           queue.timeoutEnqueue="60000" queue.timeoutShutdown="30000")
		template(name="nffText" type="string" string="%msg:2:\$%\n")
		template(name="nffMeta" type="string"
		         string="%syslogfacility% %syslogseverity% %syslogtag% %procid%\n")
		if \$programname == "$ident" then {
		  action(type="omfile" file="$d/records.log" template="nffText")
		  action(type="omfile" file="$d/records.meta" template="nffMeta")
		  stop
		}
		action(type="omfile" file="$d/other.log")
	EOF
	if ! "$LAB_RSYSLOGD" -N1 -f "$d/rsyslog.conf" >"$d/check.out" 2>&1; then
		lab_log "rsyslogd rejects $d/rsyslog.conf:"
		cat "$d/check.out" >&2
		return 1
	fi
}

# The socket path the daemon is to send to.
lab_rsyslog_socket() {
	echo "$LAB_RSYSLOG_DIR/log.sock"
}

# Start rsyslogd -n as recorded process $1 (default rsyslogd) in namespace
# $2 (default fw) and wait (at most 5 s) until its socket exists.
lab_rsyslog_start() {
	local name=${1:-rsyslogd} ns=${2:-fw} d=$LAB_RSYSLOG_DIR pid
	[ -f "$d/rsyslog.conf" ] || { lab_log "lab_rsyslog_config first"; return 1; }
	# Left by an rsyslogd that was killed: imuxsock replaces the socket,
	# but the wait below must see the new one.
	rm -f "$d/log.sock"
	lab_bg "$name" "$ns" "$LAB_RSYSLOGD" -n -f "$d/rsyslog.conf" \
		-i "$d/rsyslogd.pid"
	LAB_RSYSLOG_NAME=$name
	pid=$(lab_pid "$name")
	for _ in $(seq 1 50); do
		[ -S "$d/log.sock" ] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			lab_log "rsyslogd exited during start-up:"
			cat "$LAB_DIR/$name.err" >&2
			return 1
		fi
		sleep 0.1
	done
	lab_log "rsyslogd made no socket $d/log.sock within 5 s"
	return 1
}

# Pid of the rsyslogd started last (empty once it was stopped).
lab_rsyslog_pid() {
	lab_pid "$LAB_RSYSLOG_NAME"
}

# Stop the rsyslogd started last with SIGTERM (it writes out what it
# holds first; at most 5 s, then SIGKILL) or signal $1.
lab_rsyslog_stop() {
	local pid
	pid=$(lab_rsyslog_pid) || true
	[ -n "$pid" ] || return 0
	# A stopped process acts on SIGTERM only once it runs again.
	kill -CONT "$pid" 2>/dev/null || true
	lab_stop "$LAB_RSYSLOG_NAME" "${1:-TERM}" || true
}

# Number of lines in records.log (0 while it does not exist).
lab_rsyslog_lines() {
	local f=$LAB_RSYSLOG_DIR/records.log
	if [ -f "$f" ]; then
		wc -l <"$f"
	else
		echo 0
	fi
}

# net.unix.max_dgram_qlen of namespace $1 (default fw): how many datagrams
# a receiving socket made there queues before senders get EAGAIN (the
# kernel's test is "queue length > max_dgram_qlen", so one more fits).
lab_unix_qlen() {
	lab_ns "${1:-fw}" sysctl -n net.unix.max_dgram_qlen
}

# Field $2 of the connected Unix stream socket (ss -x: u_str, ESTAB) of
# process $1 in namespace $3 (default fw), the first one ss lists; empty if
# it has none.  $2 is recvq or sendq (ss's Recv-Q and Send-Q: bytes the
# kernel holds, unread by the process, or sent by it and unread by its
# peer), or a key of ss -m's skmem (e.g. tb).
lab_unix_stream_field() {
	lab_ns "${3:-fw}" ss -xanpm 2>/dev/null | awk -v pid="pid=$1," -v f="$2" '
		$1 == "u_str" && $2 == "ESTAB" && index($0, pid) {
			if (f == "recvq") { print $3; exit }
			if (f == "sendq") { print $4; exit }
			if (match($0, "[(,]" f "[0-9]+[,)]")) {
				print substr($0, RSTART + length(f) + 1, RLENGTH - length(f) - 2)
				exit
			}
		}'
}

# Send buffer in bytes (the sk_sndbuf of ss -xm's skmem "tb": SO_SNDBUF as
# the kernel keeps it, doubled and capped) of the connected Unix stream
# socket of process $1 in namespace $2 (default fw); empty if it has none.
# A stream writer may have this much queued in its peer's socket, plus the
# last piece it wrote (the kernel checks the buffer before each piece of at
# most half of it), so less than 1.5 times the value.
lab_unix_sndbuf() {
	lab_unix_stream_field "$1" tb "${2:-fw}"
}

# Write the daemon's configuration (LAB_DIR/nfflowd.json, as
# lab_daemon_config: stdout copy on, lab collector) with the syslog copy
# on and sent to this rsyslogd's socket; $1 are further members of the
# "syslog" object (e.g. '"facility": "local3", "ident": "nfrec"'), $2
# further top-level members.
lab_rsyslog_daemon_config() {
	local sl=${1:-}
	[ -n "$sl" ] && sl=", $sl"
	lab_daemon_config "${2:-}" \
		"{\"enabled\": true, \"socket\": \"$(lab_rsyslog_socket)\"$sl}"
}

# With lossless_common.sh's ll_counters (or the command "$2 ..." that
# fills CNT with another daemon's counters): wait (at most $1 s, default
# 30) until the daemon has no syslog line waiting and rsyslogd's file
# holds every line the daemon sent, or (lines lost on the way) its count
# has stood still for 1.5 s with nothing waiting.  Leaves the last reading
# in CNT; returns 1 on time-out.
lab_rsyslog_wait_delivered() {
	local limit=${1:-30} n last=-1 still=0 t0=$SECONDS
	shift || true
	[ $# -gt 0 ] || set -- ll_counters
	while [ $((SECONDS - t0)) -lt "$limit" ]; do
		"$@" 2>/dev/null
		n=$(lab_rsyslog_lines)
		if [ "${CNT[syslog_queued]:-x}" = 0 ]; then
			[ "$n" = "${CNT[syslog_sent]:-x}" ] && return 0
			if [ "$n" = "$last" ]; then
				still=$((still + 1))
				[ $still -ge 6 ] && return 0
			else
				still=0
			fi
		fi
		last=$n
		sleep 0.25
	done
	lab_log "syslog not delivered after $limit s: queued ${CNT[syslog_queued]:-?}, sent ${CNT[syslog_sent]:-?}, $n lines in rsyslogd's file"
	return 1
}

# ---------------------------------------------------------------- tests
# For the test scripts, with lossless_common.sh: its ll_up and
# ll_counters' CNT, and through common.sh it_show and checks.sh's check and
# FAILS.

# The lab of a test through rsyslogd: the lab (ll_up), the servers started
# by command $3... (e.g. lab_servers_start), a collector with a large
# socket buffer, an rsyslogd (lab_rsyslog_config for record ident $1) and
# the daemon, its syslog copy sent to rsyslogd with the further members $2
# of its "syslog" object (lab_rsyslog_daemon_config).  Sets RSPID and DPID,
# the pids of rsyslogd and the daemon.
lab_rsyslog_up() {
	local ident=$1 members=$2
	shift 2
	# shellcheck disable=SC2034  # read by lab_collector_start
	LAB_NFCAPD_ARGS=(-B 67108864)
	ll_up
	"$@"
	lab_collector_start
	lab_rsyslog_config "$ident"
	lab_rsyslog_start rsyslogd
	# shellcheck disable=SC2034  # for the test script
	RSPID=$(lab_rsyslog_pid)
	lab_rsyslog_daemon_config "$members"
	lab_daemon_start
	# shellcheck disable=SC2034  # for the test script
	DPID=$(lab_pid nfflowd)
}

# Set SENT, QUEUED, DROPPED and ERRORS to the daemon's syslog counters in
# CNT (x where missing) and log them.
lab_rsyslog_counters() {
	SENT=${CNT[syslog_sent]:-x} QUEUED=${CNT[syslog_queued]:-x}
	DROPPED=${CNT[syslog_dropped]:-x} ERRORS=${CNT[syslog_errors]:-x}
	lab_log "syslog counters: sent $SENT queued $QUEUED dropped $DROPPED errors $ERRORS"
}

# Check that every message of record ident $4 reached rsyslogd with
# facility $1 and severity $2 (numbers; $3 names them, e.g. local6.info),
# the tag "$4[$5]:" and procid $5 (the daemon's pid): records.meta.
lab_rsyslog_check_meta() {
	local bad
	bad=$(grep -cvxF "$1 $2 $4[$5]: $5" "$LAB_RSYSLOG_DIR/records.meta" || true)
	check "each message is $3, tag $4[$5]: ($bad others)" test "$bad" = 0
}

# Check that the daemon's log line at its stop gives $1 syslog lines sent
# and $2 dropped.
lab_rsyslog_check_stop_log() {
	check "the log at stop says the same (syslog lines $1 dropped $2)" \
		grep -qE "stopped: .*syslog lines $1 dropped $2(\$|,)" "$LAB_DIR/nfflowd.err"
}

# When a check failed: print the files given as FILE LINES pairs, then
# rsyslogd's other messages and its stderr.  Returns 1 when no check
# failed.
lab_rsyslog_diagnostics() {
	[ "$FAILS" != 0 ] || return 1
	while [ $# -ge 2 ]; do
		it_show "$1" "$2"
		shift 2
	done
	it_show "$LAB_RSYSLOG_DIR/other.log" 20
	it_show "$LAB_DIR/rsyslogd.err" 20
}
