#!/bin/bash
# The syslog copy while the syslog daemon is away (SPEC section 5, the
# syslog "backlog"): nfflowd sends its record lines to a private rsyslogd
# (tests/lab/rsyslog.sh) with a small backlog; during a burst of CONNS TCP
# connections the syslog daemon goes away, a flush storm of STORM ctstorm
# entries (2 records each, far more lines than the backlog) follows, then
# the syslog daemon comes back and a few more connections are made.
#   stop  rsyslogd is stopped (SIGSTOP) and continued (SIGCONT): its socket
#         stays, full, so the daemon's sends meet EAGAIN
#   kill  rsyslogd is terminated (SIGTERM: the socket is closed and
#         removed) and a new one started on the same path: the daemon's
#         sends and connects fail until then
#   stream_stop  as stop, with rsyslogd's imptcp input on a Unix stream
#         socket (tests/lab/rsyslog.sh, LAB_RSYSLOG_INPUT=stream) instead
#         of imuxsock's datagram socket: the stopped rsyslogd's connection
#         fills (bytes, up to the daemon's send buffer), then the daemon's
#         writes meet EAGAIN; the last write may cut a line short, and its
#         rest follows once rsyslogd reads again
#   stream_kill  rsyslogd on the stream input hangs mid-burst (SIGSTOP)
#         and, once the storm has filled its connection and the backlog,
#         is killed (SIGKILL), as a crashed or watchdog-killed syslog
#         daemon is; a new one is started on the same path.  (Terminated
#         with SIGTERM, as in kill, rsyslogd lost no line of a stream
#         connection in any measured run: it keeps up with the burst, so
#         the connection is empty, and even the 150 KB left in it by a
#         SIGSTOP were read before it closed.  A crash leaves lines in a
#         dead connection, and this measures them.)
# NetFlow must not lose a record (the collector has exactly what the
# traffic implies, and what the daemon counted); the daemon stays up and
# answers --dump-state during the outage; lines beyond the backlog are
# dropped, counted and reported in its log; every other line reaches
# rsyslogd's file, in order:
#   stop  lines in the file + syslog.dropped = records, exactly
#   kill  the same, except for the lines the kernel held in the dead
#         socket's receive queue when rsyslogd closed it: the daemon's send
#         had succeeded (so they count as sent, not dropped) but nobody
#         will ever read them.  A datagram socket queues at most
#         net.unix.max_dgram_qlen + 1 datagrams of its namespace (the
#         kernel refuses a send once the queue is longer than the
#         sysctl), so at most that many lines may be missing.
#   stream_kill  the same, for the lines in the dead connection.  A
#         stream holds bytes, not messages: less than 1.5 times the
#         daemon's send buffer (ss -xm "tb" of its socket, measured before
#         the outage; tests/lab/rsyslog.sh, lab_unix_sndbuf).  The lines
#         lost are those right after the last one the first rsyslogd
#         wrote, before the first one the second wrote, and their framed
#         bytes are what the kernel held unread in rsyslogd's end of the
#         connection when it was killed (ss Recv-Q, read while it was
#         frozen with the connection full, so that it no longer changed),
#         give or take less than one line: the daemon's last write may
#         have cut a line short (that line is not counted as sent, and
#         goes whole to the next connection; imptcp discards a part at a
#         session's end), and imptcp may have read the beginning of one.
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/tests/tools/ctstorm \
#          tests/integration/syslog_outage.sh [stream_]stop|[stream_]kill \
#          [STORM] [CONNS]
. "$(dirname "$0")/lossless_common.sh"
# shellcheck source=../lab/rsyslog.sh
. "$NFFLOWD_SRCDIR/tests/lab/rsyslog.sh"
lab_require nfcapd nfdump conntrack nft ss rsyslogd
ll_need_ctstorm

MODE=${1:-stop}
STORM=${2:-20000}
CONNS=${3:-1500}
case $MODE in
stop | kill) INPUT=dgram OUTAGE=$MODE ;;
stream_stop) INPUT=stream OUTAGE=stop ;;
stream_kill) INPUT=stream OUTAGE=crash ;;
*) echo "usage: syslog_outage.sh [stream_]stop|[stream_]kill [STORM] [CONNS]" >&2; exit 2 ;;
esac
# shellcheck disable=SC2034  # read by lab_rsyslog_config
LAB_RSYSLOG_INPUT=$INPUT
BACKLOG=2000
RATE=300	# connections a second: the burst lasts CONNS / RATE seconds
AFTER=30	# connections once the syslog daemon is back
IDENT=nfoutage
LOCAL6=22 INFO=6
WANT1=$((3 * CONNS + 2 * STORM))
WANT=$((WANT1 + 3 * AFTER))

lab_rsyslog_up "$IDENT" '"ident": "'"$IDENT"'", "backlog": '"$BACKLOG" \
	ll_server_start server.log
QLEN=$(lab_unix_qlen fw)
INQ=$((QLEN + 1))
OUT=$LAB_DIR/nfflowd.out
# The framed length of a message less its line: "<PRI>Mmm dd hh:mm:ss "
# and "IDENT[PID]: " (logq_header).
PRI=$((LOCAL6 * 8 + INFO))
HDR=$((${#PRI} + 2 + 16 + ${#IDENT} + 1 + ${#DPID} + 3))
lab_log "backlog $BACKLOG lines; rsyslogd's input: $INPUT; net.unix.max_dgram_qlen of fw: $QLEN"

# ------------------------------------------------------------ the outage
lab_log "burst: $CONNS connections at $RATE/s"
ll_burst client1.log "$CONNS" 16 "$RATE" >"$LAB_DIR/burst1.out" 2>&1 &
BURST=$!
# conntrack's garbage collector evicts expired entries (and only then
# sends their DESTROY) at its own pace, seconds apart on a quiet table;
# listing the table evicts them at once.  While the burst runs, list it
# every 0.3 s (at most 60 s), so that record lines flow steadily, as on a
# busy firewall.
(
	for _ in $(seq 1 200); do
		kill -0 "$BURST" 2>/dev/null || break
		lab_ns fw conntrack -L >/dev/null 2>&1 || true
		sleep 0.3
	done
) &
EVICT=$!
# The outage begins once a tenth of the burst's lines are out.
THRESH=$((3 * CONNS / 10))
for _ in $(seq 1 150); do
	[ "$(wc -l <"$OUT")" -ge "$THRESH" ] && break
	sleep 0.2
done
# A stream connection holds bytes up to its send buffer: measured on the
# daemon's socket (with what it holds now, as Send-Q: bytes of the kernel's
# buffers, not of lines) just before the outage.
SNDBUF=
if [ "$INPUT" = stream ]; then
	SNDBUF=$(lab_unix_sndbuf "$DPID")
	lab_log "the daemon's syslog stream: send buffer ${SNDBUF:-?} bytes; Send-Q $(lab_unix_stream_field "$DPID" sendq)"
	ll_check "the daemon's syslog socket is a stream with a send buffer (${SNDBUF:-none})" \
		test -n "$SNDBUF"
fi
AT=$(wc -l <"$OUT")
if [ "$OUTAGE" != kill ]; then
	kill -STOP "$RSPID"
	# kill returns before every thread has stopped (one may finish a
	# write first): wait until all of them are in state T (at most 2 s).
	for _ in $(seq 1 20); do
		awk '{ sub(/^.*\) /, ""); if ($1 != "T") bad = 1 } END { exit bad }' \
			/proc/"$RSPID"/task/*/stat 2>/dev/null && break
		sleep 0.1
	done
	lab_log "rsyslogd (pid $RSPID) stopped after $AT record lines"
else
	lab_rsyslog_stop TERM
	lab_log "rsyslogd (pid $RSPID) terminated after $AT record lines"
fi
FILE_AT=$(lab_rsyslog_lines)
ll_check "the outage begins mid-burst ($AT of $((3 * CONNS)) lines out)" \
	test "$AT" -ge "$THRESH" -a "$AT" -lt $((3 * CONNS))
RC=0
wait "$BURST" || RC=$?
wait "$EVICT" || true
lab_log "burst: $(cat "$LAB_DIR/burst1.out")"
ll_check "the burst generator succeeded ($RC)" test "$RC" = 0
lab_ct_drain 30 "dport=$LAB_COLLECTOR_PORT " ||
	ll_fail "connections still in the conntrack table"
ll_ctstorm "$STORM" 600
lab_log "flush storm of $STORM entries"
lab_ns fw conntrack -F 2>/dev/null
GOT=$(ll_wait_lines "$OUT" "$WANT1" 60)
lab_log "daemon printed $GOT of $WANT1 record lines"

# Still during the outage: the daemon answers, holds at most the backlog,
# drops and counts the rest, and says so in its log.
T0=$(date +%s%N)
RC=0
lab_nfflowd --dump-state --json >"$LAB_DIR/outage.json" 2>&1 || RC=$?
MS=$((($(date +%s%N) - T0) / 1000000))
ll_check "--dump-state answers during the outage (exit $RC, $MS ms)" \
	test "$RC" = 0 -a "$MS" -lt 5000
ll_check "the state dump carries the syslog counters" \
	grep -q '"syslog":{"sent":[0-9]*,"queued":[0-9]*,"dropped":[0-9]*,"errors":[0-9]*}' \
	"$LAB_DIR/outage.json"
ll_counters
OQ=${CNT[syslog_queued]:-x} OD=${CNT[syslog_dropped]:-x}
lab_log "during the outage: sent ${CNT[syslog_sent]:-?} queued $OQ dropped $OD errors ${CNT[syslog_errors]:-?}"
ll_check "lines wait during the outage, at most the backlog (0 < $OQ <= $BACKLOG)" \
	test "$OQ" -gt 0 -a "$OQ" -le "$BACKLOG"
ll_check "lines beyond the backlog are dropped during the outage ($OD)" \
	test "$OD" -gt 0
for _ in $(seq 1 30); do
	grep -qE 'syslog: [0-9]+ record lines dropped' "$LAB_DIR/nfflowd.err" && break
	sleep 0.2
done
ll_check "the daemon logged the drops" \
	grep -qE 'syslog: [0-9]+ record lines dropped' "$LAB_DIR/nfflowd.err"
ll_check "rsyslogd got nothing during the outage ($FILE_AT lines)" \
	test "$(lab_rsyslog_lines)" = "$FILE_AT"
# Let the daemon retry a few times (reconnects once a second).
sleep 2
ll_check "the daemon still runs" kill -0 "$DPID"

RECVQ=
if [ "$OUTAGE" = stop ]; then
	kill -CONT "$RSPID"
	lab_log "rsyslogd continued"
else
	if [ "$OUTAGE" = crash ]; then
		# Frozen, its connection full (the daemon's writes meet EAGAIN):
		# the bytes unread in rsyslogd's end no longer change.
		RECVQ=$(lab_unix_stream_field "$RSPID" recvq)
		lab_log "the frozen rsyslogd's connection: ${RECVQ:-?} bytes unread; the daemon's: Send-Q $(lab_unix_stream_field "$DPID" sendq)"
		lab_stop "$LAB_RSYSLOG_NAME" KILL || true
		lab_log "rsyslogd (pid $RSPID) killed"
	fi
	lab_rsyslog_start rsyslogd2
	RSPID=$(lab_rsyslog_pid)
	lab_log "rsyslogd started again (pid $RSPID)"
fi
lab_rsyslog_wait_delivered 30 || ll_fail "the waiting lines did not arrive"

# ------------------------------------------------------------ after
ll_burst client2.log "$AFTER" 4 >"$LAB_DIR/burst2.out" 2>&1 ||
	ll_fail "second burst: $(cat "$LAB_DIR/burst2.out")"
lab_ct_drain 30 "dport=$LAB_COLLECTOR_PORT " ||
	ll_fail "connections still in the conntrack table"
GOT=$(ll_wait_lines "$OUT" "$WANT" 30)
lab_log "daemon printed $GOT of $WANT record lines"
lab_rsyslog_wait_delivered 30 || ll_fail "the last lines did not arrive"
lab_rsyslog_counters
RECORDS=${CNT[records]:-x}
ll_check "the daemon still runs" kill -0 "$DPID"
lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
lab_rsyslog_stop TERM
ll_server_stop server.log
lab_collector_stop
ll_collector_dump
cat "$LAB_DIR/client1.log" "$LAB_DIR/client2.log" >"$LAB_DIR/clients.log"

# ------------------------------------------------------------ NetFlow
R=$LAB_RSYSLOG_DIR
NOUT=$(wc -l <"$OUT")
NLOG=$(lab_rsyslog_lines)
NCOLL=$(wc -l <"$LAB_DIR/collector.txt")
lab_log "stdout $NOUT lines, rsyslogd $NLOG lines, collector $NCOLL records"
ll_check "the server saw $((CONNS + AFTER)) connections from the masquerade address" \
	test "$(grep -c "^$LAB_FW_WAN_IP " "$LAB_DIR/server.log")" = $((CONNS + AFTER))
ll check --nfdump "$LAB_DIR/collector.txt" --csv "$OUT" --storm "$STORM" \
	--client-log "$LAB_DIR/clients.log" --server-log "$LAB_DIR/server.log" \
	--exact --expect-records "$WANT" || ll_fail "the collector's records (above)"
ll_check "daemon counter records = $WANT ($RECORDS)" test "$RECORDS" = "$WANT"
ll_check "stdout has the $WANT record lines ($NOUT)" test "$NOUT" = "$WANT"

# ------------------------------------------------------------ syslog
ll_check "syslog.queued = 0 at the end ($QUEUED)" test "$QUEUED" = 0
lab_rsyslog_check_stop_log "$SENT" "$DROPPED"
ll_check "syslog.sent + syslog.dropped = records ($SENT + $DROPPED = $WANT)" \
	test $((SENT + DROPPED)) = "$WANT"
# On a stream the socket's bound is in bytes: less than 1.5 times the send
# buffer, and a line imptcp had begun to read; in lines, over the
# shortest framed line.
if [ "$INPUT" = stream ]; then
	read -r MINLEN MAXLEN < <(awk 'NR == 1 || length($0) < mn { mn = length($0) }
		length($0) > mx { mx = length($0) } END { print mn + 0, mx + 0 }' "$OUT")
	INQ_BYTES=$((${SNDBUF:-0} + ${SNDBUF:-0} / 2 + HDR + MAXLEN + 1))
	INQ=$((INQ_BYTES / (HDR + MINLEN + 1)))
	lab_log "a stream connection holds less than $INQ_BYTES bytes (send buffer ${SNDBUF:-?}): at most $INQ messages of $((HDR + MINLEN + 1)) to $((HDR + MAXLEN + 1)) bytes"
fi
# During the outage the storm alone made 2 * STORM lines: at most the
# backlog of them waited (and in stop mode at most INQ more went into the
# stopped rsyslogd's socket), the rest was dropped.
MIN_DROP=$((2 * STORM - BACKLOG - INQ))
ll_check "syslog.dropped >= $MIN_DROP (the backlog holds $BACKLOG) ($DROPPED)" \
	test "$DROPPED" -ge "$MIN_DROP"
if [ "$OUTAGE" = stop ]; then
	ll_check "lines in rsyslogd's file = syslog.sent ($NLOG = $SENT)" \
		test "$NLOG" = "$SENT"
	ll_check "lines in rsyslogd's file + syslog.dropped = records ($NLOG + $DROPPED = $WANT)" \
		test $((NLOG + DROPPED)) = "$WANT"
	ll_check "syslog.errors = 0: a full socket is no error ($ERRORS)" \
		test "$ERRORS" = 0
else
	MISS=$((WANT - NLOG - DROPPED))
	lab_log "$MISS lines were in the terminated rsyslogd's socket"
	ll_check "lines in rsyslogd's file + syslog.dropped = records, but for at most $INQ lines in the dead socket ($NLOG + $DROPPED + $MISS = $WANT)" \
		test "$MISS" -ge 0 -a "$MISS" -le "$INQ"
	ll_check "lines in rsyslogd's file = syslog.sent, but for the same ($NLOG, $SENT)" \
		test $((SENT - NLOG)) = "$MISS"
	ll_check "failed sends or connects counted ($ERRORS)" test "$ERRORS" -gt 0
fi
if [ "$OUTAGE" = crash ]; then
	# The lines lost with the dead connection: stdout's lines after the
	# FILE_AT lines the first rsyslogd wrote, before the first line the
	# second one wrote (the backlog leaves in order; lines are dropped
	# only when it is full, after those that wait in it); and their
	# framed bytes.
	read -r NLOST LOSTB < <("$LAB_PY" - "$OUT" "$R/records.log" "$FILE_AT" "$HDR" <<-'EOF'
		import sys
		out = open(sys.argv[1], "rb").read().splitlines()
		log = open(sys.argv[2], "rb").read().splitlines()
		at, hdr = int(sys.argv[3]), int(sys.argv[4])
		try:
		    j = out.index(log[at], at) if len(log) > at else len(out)
		except ValueError:
		    print("x x")
		    sys.exit(0)
		lost = out[at:j]
		print(len(lost), sum(len(line) + 1 + hdr for line in lost))
	EOF
	)
	LINE=$((HDR + MAXLEN + 1))
	lab_log "lost with the dead connection: $NLOST lines, $LOSTB bytes framed; ${RECVQ:-?} bytes were unread in it"
	ll_check "the kill lost lines with the connection ($MISS)" test "$MISS" -gt 0
	ll_check "the lines lost are those right after the first rsyslogd's last ($NLOST = $MISS)" \
		test "$NLOST" = "$MISS"
	ll_check "their bytes are those unread in the dead connection, within a line ($LOSTB, ${RECVQ:-?} +- $LINE)" \
		test "$LOSTB" -gt $((${RECVQ:-0} - LINE)) -a "$LOSTB" -lt $((${RECVQ:-0} + LINE)) -a -n "$RECVQ"
	ll_check "they fit in a connection of the daemon's send buffer ($LOSTB bytes < $INQ_BYTES)" \
		test "$LOSTB" -lt "$INQ_BYTES"
fi
# Every line in the file is a line of stdout, in stdout's order, none
# twice; the lines of the connections made after the outage are all there.
ll_check "rsyslogd's file is stdout less some lines, in order" \
	"$LAB_PY" - "$OUT" "$R/records.log" <<-'EOF'
		import sys
		out = open(sys.argv[1], "rb").read().splitlines()
		log = open(sys.argv[2], "rb").read().splitlines()
		i = 0
		for n, line in enumerate(log):
		    while i < len(out) and out[i] != line:
		        i += 1
		    if i == len(out):
		        print("line %d of the file is not in stdout after the "
		              "previous one: %r" % (n + 1, line[:120]))
		        sys.exit(1)
		    i += 1
	EOF
ll_check "the $((3 * AFTER)) lines after the outage all reached rsyslogd" \
	cmp <(tail -n $((3 * AFTER)) "$OUT") <(tail -n $((3 * AFTER)) "$R/records.log")
ll_check "the $FILE_AT lines before the outage all reached rsyslogd" \
	cmp <(head -n "$FILE_AT" "$OUT") <(head -n "$FILE_AT" "$R/records.log")
lab_rsyslog_check_meta "$LOCAL6" "$INFO" local6.info "$IDENT" "$DPID"
lab_rsyslog_diagnostics "$LAB_DIR/outage.json" 1 || true
ll_finish
