#!/bin/bash
# The syslog copy (SPEC section 5) through a real syslog daemon: rsyslogd
# with a private configuration and socket (tests/lab/rsyslog.sh) receives
# the record lines of the lab's traffic (one connection of each kind, then
# a flush storm of N ctstorm entries) from nfflowd's own syslog sender.
# rsyslogd's file must hold the daemon's stdout copy byte for byte (same
# lines, same order), as many lines as v5 records reached the collector,
# each with the configured facility, severity and ident and the daemon's
# pid; nothing dropped, nothing left waiting.  The syslog daemon's input:
#   dgram   (default) imuxsock, a datagram socket as /dev/log is: one
#           message per datagram
#   stream  imptcp with path=, a Unix stream socket: the daemon sees the
#           socket's type when it connects and sends LF-framed messages,
#           many per write (RFC 6587 non-transparent framing)
#   usage: NFFLOWD=build/nfflowd CTSTORM=build/tests/tools/ctstorm \
#          tests/integration/syslog_rsyslog.sh [dgram|stream] [N]
. "$(dirname "$0")/lossless_common.sh"
# shellcheck source=../lab/rsyslog.sh
. "$NFFLOWD_SRCDIR/tests/lab/rsyslog.sh"
lab_require nfcapd nfdump conntrack nft ss rsyslogd
ll_need_ctstorm

MODE=${1:-dgram}
N=${2:-5000}
case $MODE in
dgram | stream) ;;
*) echo "usage: syslog_rsyslog.sh [dgram|stream] [N]" >&2; exit 2 ;;
esac
# shellcheck disable=SC2034  # read by lab_rsyslog_config
LAB_RSYSLOG_INPUT=$MODE
IDENT=nfrec
LOCAL3=19 NOTICE=5
# One connection of each kind (lab_traffic): TCP through the masquerade
# and to the port forward, UDP answered (3 records each), UDP unanswered
# (2), ping through the masquerade (3), ping to fw itself, no NAT (2).
REAL=16
WANT=$((REAL + 2 * N))

lab_rsyslog_up "$IDENT" '"facility": "local3", "priority": "notice", "ident": "'"$IDENT"'"' \
	lab_servers_start
lab_log "rsyslogd's input: $MODE"

lab_traffic >/dev/null
lab_ct_drain 20 "dport=$LAB_COLLECTOR_PORT " ||
	ll_fail "connections still in the conntrack table"
ll_ctstorm "$N" 600
lab_log "flush storm of $N entries"
lab_ns fw conntrack -F 2>/dev/null
GOT=$(ll_wait_lines "$LAB_DIR/nfflowd.out" "$WANT" 60)
lab_log "daemon printed $GOT of $WANT record lines"
lab_rsyslog_wait_delivered 30 || ll_fail "syslog lines still on their way"
lab_rsyslog_counters
# The daemon's end of its syslog connection, as the kernel lists it (ss
# -x: netid, state, queues, local address and inode, peer address and
# inode, process): a socket of the daemon whose peer is rsyslogd's socket
# on the path (imuxsock's own, or the one imptcp accepted), u_dgr for a
# datagram socket, u_str for a stream.
WANT_TYPE=u_dgr
[ "$MODE" = stream ] && WANT_TYPE=u_str
lab_ns fw ss -xanp >"$LAB_DIR/ss-unix.txt" 2>&1 || true
# shellcheck disable=SC2016  # awk's own $fields
ll_check "the daemon's syslog socket is a $MODE socket ($WANT_TYPE)" \
	awk -v t="$WANT_TYPE" -v path="$(lab_rsyslog_socket)" -v pid="pid=$DPID," '
		$5 == path { srv[$6] = 1 }
		$1 == t && index($0, pid) { mine[$8] = 1 }
		END { for (i in mine) if (i in srv) found = 1; exit !found }' \
	"$LAB_DIR/ss-unix.txt"
RC=0
lab_nfflowd --dump-state >"$LAB_DIR/dump.txt" 2>&1 || RC=$?
ll_check "--dump-state exits 0 ($RC)" test "$RC" = 0
ll_check "the human dump shows the syslog counters" \
	grep -qE "^syslog .* $SENT/$QUEUED/$DROPPED/$ERRORS\$" "$LAB_DIR/dump.txt"

lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
# rsyslogd writes out what it holds when it stops.
lab_rsyslog_stop TERM
lab_collector_stop
ll_collector_dump
ll_counters

R=$LAB_RSYSLOG_DIR
OUT=$LAB_DIR/nfflowd.out
NOUT=$(wc -l <"$OUT")
NLOG=$(lab_rsyslog_lines)
NCOLL=$(wc -l <"$LAB_DIR/collector.txt")
lab_log "stdout $NOUT lines, rsyslogd $NLOG lines, collector $NCOLL records"
ll_check "stdout has the $WANT record lines ($NOUT)" test "$NOUT" = "$WANT"
ll_check "every stdout line is a CSV record line" \
	test "$(grep -cvE '^[0-9]+(,[^,]*){17}$' "$OUT")" = 0
ll_check "rsyslogd's file equals the stdout copy byte for byte" \
	cmp "$OUT" "$R/records.log"
ll_check "rsyslogd's lines ($NLOG) = v5 records at the collector ($NCOLL)" \
	test "$NLOG" = "$NCOLL"
ll_check "v5 records at the collector = $WANT ($NCOLL)" test "$NCOLL" = "$WANT"
# The storm's records exactly, and stdout's records are the collector's
# (lossless.py reads TCP and UDP keys only: ICMP records left out of both).
awk -F'|' '$3 + 0 != 1' "$LAB_DIR/collector.txt" >"$LAB_DIR/collector-noicmp.txt"
awk -F, '$16 != 1' "$OUT" >"$LAB_DIR/stdout-noicmp.csv"
ll check --nfdump "$LAB_DIR/collector-noicmp.txt" --csv "$LAB_DIR/stdout-noicmp.csv" \
	--storm "$N" --exact --others-ok || ll_fail "the collector's records (above)"
lab_rsyslog_check_meta "$LOCAL3" "$NOTICE" local3.notice "$IDENT" "$DPID"
ll_check "a field line per message" \
	test "$(wc -l <"$R/records.meta")" = "$NLOG"
ll_check "no other message reached rsyslogd" \
	test ! -s "$R/other.log"
ll_check "syslog.sent = $WANT ($SENT)" test "$SENT" = "$WANT"
ll_check "syslog.queued = 0 ($QUEUED)" test "$QUEUED" = 0
ll_check "syslog.dropped = 0 ($DROPPED)" test "$DROPPED" = 0
ll_check "syslog.errors = 0 ($ERRORS)" test "$ERRORS" = 0
lab_rsyslog_check_stop_log "$SENT" "$DROPPED"
ll_check "daemon counter records = $WANT (${CNT[records]:-?})" \
	test "${CNT[records]:-x}" = "$WANT"
ll_check "no drop diagnostic" \
	eval "! grep -q 'record lines dropped' '$LAB_DIR/nfflowd.err'"
# shellcheck disable=SC2119  # no file of its own to show first
if lab_rsyslog_diagnostics; then
	diff "$OUT" "$R/records.log" | head -n 20 || true
fi
ll_finish
