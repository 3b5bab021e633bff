#!/bin/bash
# The packaged unit under a real systemd (systemd is not PID 1 on the test
# machines): builds the Debian package from this tree the way package.sh
# does, boots a Debian 12 container with systemd (tests/lab/container.sh),
# installs the package there with dpkg -i, fills in the CHANGE-ME
# placeholders of the shipped /etc/nfflowd.conf (source: the container's
# address, collector: an nfcapd outside it) and checks what systemd makes of
# the unit:
#   - the kernel settings in force right after the install: acct,
#     timestamp and events set to 0, 0, 2 in the container's network
#     namespace before dpkg -i are 1, 1, 1 after it (the postinst runs
#     systemd-sysctl on sysctl.d/50-nfflowd.conf);
#   - the unedited configuration: enabled, and a start is skipped (inactive,
#     not failed);
#   - systemctl start: Type=notify, active/running only once the daemon has
#     said READY=1, a StatusText, the main process runs as user nfflowd with
#     exactly CAP_NET_ADMIN as effective capabilities;
#   - the record lines of a connection, with its counters, in the journal
#     (journalctl -t nfflowd, SYSLOG_FACILITY=22: local6) and in the
#     /var/log/syslog of the container's rsyslog (Debian's configuration);
#     the output of `systemctl status nfflowd` and `journalctl -t nfflowd
#     -n 20` then is printed (for the README);
#   - the kernel settings switched off again: `nfflowd check` as user
#     nfflowd exits 1 (acct off, timestamp off), and `systemctl restart`
#     puts them back to 1 before the daemon starts (the unit's privileged
#     ExecStartPre=systemd-sysctl: the ExecStartPre=nfflowd check of that
#     start saw them on, journal);
#   - a TCP connection made in the container reaches the collector as its
#     NetFlow v5 records, after the start, after systemctl restart and after
#     the automatic restart that follows a kill -9 of the main process
#     (Restart=on-failure); systemctl stop ends it cleanly, and a connection
#     after that is not exported.
# Then exact counters over a connection's whole life (README), with conntrack
# -E in the container as the oracle (the counters of each DESTROY) and an
# IPFIX collector besides the v5 one, every export of every connection
# below summed on both (tests/lab/spancheck.py):
#   1. connections that end during `systemctl restart` (held open by a
#      test-only drop-in until they have ended) are exported exactly once
#      with conntrack's counters: the new daemon took the conntrack socket
#      back from the fd store (journal) and read their queued DESTROYs;
#   2. a connection that spans `systemctl restart` with "active_timeout": 2:
#      the interim exports of both daemons and the final one add up to its
#      counters (the state file carried what was exported);
#   3. `systemctl stop` (the fd store emptied), a connection that ends
#      while stopped, `systemctl start`: it is exported from the state file
#      as ended (journal "ended while no daemon listened", IPFIX
#      flowEndReason 4), with exactly what was counted until the stop;
#   - systemctl reload: a good change (flush_interval) exits 0 and the
#     daemon's reload counter grows; invalid JSON, and a file that parses
#     but that the daemon refuses (a collector's source the container does
#     not have), make it exit non-zero: the old configuration keeps running
#     (same MainPID, still exporting) and the journal says why;
#   - the watchdog, lowered to 4 s by a test-only drop-in: the main process
#     stopped (SIGSTOP) just after a WATCHDOG=1 is killed ("Watchdog
#     timeout") and restarted (NRestarts, a new MainPID, the socket from the
#     fd store), and a connection that ended while it was stopped is
#     exported exactly once;
#   4. dpkg -i of the same package with a higher version while a connection
#      runs: the daemon is restarted (new MainPID) with the socket from the
#      fd store, and the connection is exported exactly once in total;
#   - "flush_interval": 60: the records of a connection conntrack destroyed
#     wait in a partly filled datagram (none sent) until systemctl stop
#     sends them;
#   - README's minimal configuration (source, collector, port only): the
#     unit starts, a connection is exported, and `nfflowd --dump-state`,
#     `nfflowd reload` and `nfflowd stop` from a root shell find the daemon
#     (the default pidfile and socket in the unit's RuntimeDirectory); after
#     the stop the unit is inactive, not restarted;
#   - dpkg --purge removes /etc/nfflowd.conf and /var/lib/nfflowd and keeps
#     the system user.
# The network (container.sh): the container's eth0 192.0.2.10, in the
# network namespace nspawn made for it (--private-network: /proc/sys/net
# writable there, as on a real machine), and, outside it, 192.0.2.20 with
# nfcapd on UDP 2055 (v5) and 4739 (IPFIX, captured by tshark) and the
# servers the container connects to (tests/lab/peer.py,
# tests/lab/spanconn.py), on the host's programs; nothing reaches the
# host's network.  Short conntrack timeouts are set from the host, and a
# small nftables ruleset in the container makes conntrack track its
# connections.
#
# Took 84 to 90 s on a 2-core VM with the cached container tree (a first
# run builds it on the way: mmdebstrap, 23 to 29 s more): the package
# build 9 to 13 s, the boot under 1 s, install, start and the record lines
# in both logs 7 s (STATUS= counts the connection within 5 s), the rest of
# the checks of the unit until 33 s (the automatic restart 6 s:
# RestartSec=5s), then claims 1 to 3 about 5, 11 and 8 s, reload 3 s, the
# watchdog 9 s (4 s to the kill, RestartSec=1s), claim 4 7 s, the stop's
# flush 3 s and the minimal configuration 3 s.
#
#   usage: tests/integration/systemd_unit.sh
#   NFFLOWD_DEB=FILE installs that .deb instead of building one.
set -euo pipefail
SRC=${NFFLOWD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PORT=2055

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root" >&2
	exit 77
fi
# mmdebstrap, systemd-container, nfdump and the packaging tools are on the
# project's one package list; installs what of it is missing.
if ! "$SRC/tests/deps.sh"; then
	echo "FAIL: tests/deps.sh could not install tests/packages.txt"
	exit 1
fi
# shellcheck source=../lab/checks.sh
. "$SRC/tests/lab/checks.sh"
DEB_SRC=$SRC
# shellcheck source=../lab/deb.sh
. "$SRC/tests/lab/deb.sh"
# shellcheck source=../lab/container.sh
. "$SRC/tests/lab/container.sh"
ct_require
for tool in nfcapd nfdump dpkg-deb conntrack sysctl python3 ss tshark; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool not installed" >&2
		exit 77
	fi
done
ct_init
T0=$SECONDS
lap() { echo "time: $1 after $((SECONDS - T0)) s"; }

# --- the package, and a container tree with everything it depends on
if [ -n "${NFFLOWD_DEB:-}" ]; then
	DEB_FILE=$NFFLOWD_DEB
else
	deb_build "$CT_DIR/deb" "$CT_DIR/deb-build.log" || exit 1
fi
echo "ok: package $(basename "$DEB_FILE") (Depends: $(deb_depends "$DEB_FILE" | tr '\n' ' '))"
lap "package"
# shellcheck disable=SC2046 # one package name a word
if ! ct_tree_ensure $(deb_depends "$DEB_FILE"); then
	echo "FAIL: the container tree could not be built"
	exit 1
fi
lap "tree"

# --- boot
ct_boot unit || { echo "FAIL: the container did not start"; exit 1; }
if ! ct_wait_booted unit 90; then
	echo "FAIL: the container did not finish booting"
	exit 1
fi
echo "ok: container booted: $(ct_exec unit systemctl is-system-running || true)"
lap "boot"
NS=$(ct_netns unit)

# The journal of the unit, for the report of a failed check.
journal() {
	echo "----- journalctl -u nfflowd -----"
	ct_journal unit -u nfflowd | tail -n "${1:-40}" || true
}
die() {
	echo "FAIL: $*"
	journal
	exit 1
}

# The firewall's ruleset: conntrack tracks the namespace's connections
# only once a ruleset asks for it (no ct expression, no tracking).
ct_exec unit nft -f - <<-'EOF' || die "nft ruleset"
	table inet nfflowd_test {
		chain output {
			type filter hook output priority filter; policy accept;
			ct state new counter
		}
	}
EOF

# One property of the unit.
prop() {
	ct_exec unit systemctl show nfflowd -p "$1" --value
}
# is A B: the two are equal (a check's condition).
is() {
	[ "$1" = "$2" ]
}
# The kernel settings of the package's sysctl.d file in the container's
# network namespace, "ACCT TIMESTAMP EVENTS", read from the host.
KNOBS="net.netfilter.nf_conntrack_acct net.netfilter.nf_conntrack_timestamp net.netfilter.nf_conntrack_events"
knobs() {
	# shellcheck disable=SC2086 # one name a word
	ip netns exec "$NS" sysctl -n $KNOBS | tr '\n' ' ' | sed 's/ $//'
}
knobs_off() {	# acct and timestamp off, events only while a listener exists
	ip netns exec "$NS" sysctl -q -w net.netfilter.nf_conntrack_acct=0 \
		net.netfilter.nf_conntrack_timestamp=0 net.netfilter.nf_conntrack_events=2
}

# --- install: the postinst puts the package's kernel settings in force
# at once (systemd-sysctl on /usr/lib/sysctl.d/50-nfflowd.conf; the
# container's /proc/sys/net is writable, its namespace its own).
knobs_off
check "before dpkg -i: acct, timestamp, events = 0 0 2 (is: $(knobs))" is "$(knobs)" "0 0 2"
ct_copy_in unit "$DEB_FILE" /root/nfflowd.deb
ct_copy_in unit "$SRC/tests/lab/peer.py" /root/peer.py
if ! ct_exec unit dpkg -i /root/nfflowd.deb >"$CT_DIR/dpkg-i.log" 2>&1; then
	cat "$CT_DIR/dpkg-i.log"
	die "dpkg -i in the container (a dependency missing from the tree?)"
fi
echo "ok: dpkg -i"
sed 's/^/  dpkg -i: /' "$CT_DIR/dpkg-i.log"
check "right after dpkg -i (postinst): acct, timestamp, events = 1 1 1 (is: $(knobs))" \
	is "$(knobs)" "1 1 1"

check "unit enabled" is "$(ct_exec unit systemctl is-enabled nfflowd)" enabled
# With the placeholders the start is skipped by ExecCondition.
ct_exec unit systemctl start nfflowd || true
check "unedited /etc/nfflowd.conf: start skipped, unit inactive (not failed)" \
	is "$(prop ActiveState)" inactive

# Short conntrack timeouts for the test's TCP connections (from the host).
ip netns exec "$NS" sysctl -q -w \
	net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 \
	net.netfilter.nf_conntrack_tcp_timeout_close=1 \
	net.netfilter.nf_conntrack_tcp_timeout_fin_wait=1 \
	net.netfilter.nf_conntrack_tcp_timeout_close_wait=1 \
	net.netfilter.nf_conntrack_tcp_timeout_last_ack=1

# --- configuration: the shipped file with its placeholders filled in
ct_exec unit sed -i -e "s/\"source\": *\"CHANGE-ME\"/\"source\": \"$CT_IP\"/" \
	-e "s/\"collector\": *\"CHANGE-ME\"/\"collector\": \"$CT_PEER_IP\"/" /etc/nfflowd.conf
ct_exec unit cat /etc/nfflowd.conf | sed 's/^/  nfflowd.conf: /'
no_placeholder() {
	! ct_exec unit grep -q CHANGE-ME /etc/nfflowd.conf
}
check "/etc/nfflowd.conf has no CHANGE-ME left" no_placeholder
check "/etc/nfflowd.conf: port $PORT" ct_exec unit grep -q "\"port\": $PORT" /etc/nfflowd.conf
OUT=$(ct_exec unit nfflowd -c /etc/nfflowd.conf check 2>&1) || true
printf '%s\n' "$OUT" | sed 's/^/  check: /'
check "nfflowd check: config OK" grep -q '^config: .* OK' <<<"$OUT"

# --- the collector and the servers outside
FLOWS=$CT_DIR/flows
mkdir -p "$FLOWS"
ct_peer_bg unit nfcapd nfcapd -w "$FLOWS" -b "$CT_PEER_IP" -p "$PORT" -t 3600 -I nfflowd-ct
for p in 7001 7002 7003 7004 7005 7006 7007; do
	ct_peer_bg unit "tcp$p" python3 "$SRC/tests/lab/peer.py" tcp-server "$CT_PEER_IP" "$p"
done
listening() {	# PROTO(t|u) PORT
	local _
	for _ in $(seq 1 50); do
		ct_peer unit ss -Hln"$1" "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
for p in 7001 7002 7003 7004 7005 7006 7007; do
	listening t "$p" || die "no TCP server on $CT_PEER_IP:$p"
done
listening u "$PORT" || die "nfcapd does not listen on $CT_PEER_IP:$PORT"

# The UDP datagrams the outside namespace has received so far.
datagrams_in() {
	# shellcheck disable=SC2016 # awk's $2
	ct_peer unit awk '/^Udp:/ && ++n == 2 { print $2 }' /proc/net/snmp
}
# The container's conntrack entries of TCP port $1 (listing them evicts
# the expired ones at once).
ct_entries() {
	ip netns exec "$NS" conntrack -L -p tcp --dport "$1" 2>/dev/null | grep -c . || true
}
# A TCP connection from the container to the outside's port $1, ended; then
# at most 15 s for conntrack to destroy it and 5 s more for a datagram at
# the collector.
connection() {
	local port=$1 n0 _ left=''
	DELIVERED=0
	n0=$(datagrams_in)
	if ! ct_exec unit python3 /root/peer.py tcp-client "$CT_PEER_IP" "$port" "phase-$port" >/dev/null; then
		fail "TCP connection to $CT_PEER_IP:$port from the container"
		return 0
	fi
	for _ in $(seq 1 60); do
		left=$(ct_entries "$port")
		[ "$left" = 0 ] && break
		sleep 0.25
	done
	[ "$left" = 0 ] || { fail "conntrack entry of :$port still there after 15 s"; return 0; }
	for _ in $(seq 1 50); do
		[ "$(datagrams_in)" -gt "$n0" ] && break
		sleep 0.1
	done
	DELIVERED=$(($(datagrams_in) - n0))
}

# Poll the unit (at most $1 s) until ActiveState/SubState is $2 with a
# MainPID other than $3 (0: any); UNIT_SEEN lists the states passed through.
UNIT_SEEN=
wait_unit() {
	local limit=$1 want=$2 not_pid=${3:-0} deadline state last='' pid _
	UNIT_SEEN=
	deadline=$((SECONDS + limit))
	for _ in $(seq 1 $((limit * 20))); do
		state=$(ct_exec unit systemctl show nfflowd -p ActiveState -p SubState -p MainPID |
			sort | tr '\n' ' ')
		pid=$(sed -n 's/.*MainPID=\([0-9]*\).*/\1/p' <<<"$state")
		state=$(sed -n 's/ActiveState=\([a-z-]*\) .*SubState=\([a-z-]*\).*/\1\/\2/p' <<<"$state")
		if [ "$state" != "$last" ]; then
			UNIT_SEEN="$UNIT_SEEN${UNIT_SEEN:+ -> }$state"
			last=$state
		fi
		if [ "$state" = "$want" ] && { [ "$not_pid" = 0 ] || [ "$pid" != "$not_pid" ]; } &&
			[ "$pid" != 0 ]; then
			return 0
		fi
		case $state in failed/*) return 1 ;; esac
		[ $SECONDS -ge $deadline ] && break
		sleep 0.05
	done
	return 1
}

# --- start
check "Type=notify" is "$(prop Type)" notify
ct_exec unit systemctl start --no-block nfflowd
if wait_unit 30 active/running; then
	echo "ok: started: $UNIT_SEEN"
else
	fail "start: not active/running within 30 s ($UNIT_SEEN)"
	journal
fi
check "systemctl is-active: active" is "$(ct_exec unit systemctl is-active nfflowd)" active
# For Type=notify systemd enters "active" when READY=1 arrives, not when the
# process starts (Type=simple would be active at once); nfflowd says READY=1
# once its conntrack subscription, table dump and exporters are up.
STARTED=$(prop ExecMainStartTimestampMonotonic)
ACTIVE=$(prop ActiveEnterTimestampMonotonic)
echo "  main process started at ${STARTED} us, active at ${ACTIVE} us (monotonic)"
check "active only after the main process said READY=1 ($(( (ACTIVE - STARTED) / 1000 )) ms later)" \
	test "$ACTIVE" -gt "$STARTED"
STATUS=
for _ in $(seq 1 50); do
	STATUS=$(prop StatusText)
	[ -n "$STATUS" ] && break
	sleep 0.1
done
echo "  StatusText: $STATUS"
check "StatusText set (sd_notify STATUS=)" test -n "$STATUS"
PID=$(prop MainPID)
USER_OF=$(ct_exec unit ps -o user= -p "$PID" | tr -d ' ') || true
check "main process $PID runs as user nfflowd (is: ${USER_OF:-none})" is "$USER_OF" nfflowd
ct_exec unit grep '^Cap' "/proc/$PID/status" | sed 's/^/  /' || true
# shellcheck disable=SC2016 # awk's $2
CAPEFF=$(ct_exec unit awk '/^CapEff:/ { print $2 }' "/proc/$PID/status") || true
check "CapEff is CAP_NET_ADMIN alone (0000000000001000, is: ${CAPEFF:-none})" \
	is "$CAPEFF" 0000000000001000
connection 7001
check "connection after the start: a datagram reached the collector" test "$DELIVERED" -gt 0

# --- its record lines in the system log: nfflowd sends them to /dev/log
# (journald in the container), facility local6 (22); journald passes them
# on to rsyslog, which writes them to /var/log/syslog with Debian's
# configuration (*.* there).
check "rsyslog runs in the container" is "$(ct_exec unit systemctl is-active rsyslog)" active
# Wait at most SECS until reclines.py finds the lines of :PORT in WHAT
# (journal or syslog); they are in CT_DIR/reclines-WHAT.
in_log() {	# WHAT PORT SECS
	local _ rc=1
	for _ in $(seq 1 $(($3 * 4))); do
		if [ "$1" = journal ]; then
			ct_exec unit journalctl -t nfflowd -o json --no-pager
		else
			ct_exec unit cat /var/log/syslog
		fi | python3 "$SRC/tests/lab/reclines.py" "$1" "$CT_IP" "$CT_PEER_IP" "$2" \
			${4:+"$4"} >"$CT_DIR/reclines-$1" 2>&1 && rc=0 || rc=$?
		[ "$rc" = 0 ] && break
		sleep 0.25
	done
	sed 's/^/  /' "$CT_DIR/reclines-$1"
	return "$rc"
}
check "journalctl -t nfflowd: the record line of :7001 with counters, SYSLOG_FACILITY=22 (local6)" \
	in_log journal 7001 5 22
check "/var/log/syslog (rsyslog): the record line of :7001 with counters" in_log syslog 7001 5

# --- what an administrator sees now (for the README), once STATUS= has
# counted the connection (it is sent every few seconds)
for _ in $(seq 1 40); do
	prop StatusText | grep -qE 'records [1-9]' && break
	sleep 0.25
done
echo "----- systemctl status nfflowd --no-pager -----"
ct_exec unit systemctl status nfflowd --no-pager || true
echo "----- journalctl -t nfflowd --no-pager -n 20 -----"
ct_exec unit journalctl -t nfflowd --no-pager -n 20 || true
echo "-----"
lap "record lines in the journal and /var/log/syslog"

# --- restart, the kernel settings switched off before it: the unit's
# privileged ExecStartPre (systemd-sysctl on the sysctl.d file, as root)
# switches them on again before ExecStartPre=nfflowd check, which fails
# the start with them off, and the daemon (kernel_setup false, no write
# access to /proc/sys) starts.
# nfflowd check as the unit's user, as ExecStartPre runs it: "RC OUTPUT".
check_as_user() {
	local out rc=0
	out=$(ct_exec unit runuser -u nfflowd -- nfflowd -c /etc/nfflowd.conf check 2>&1) || rc=$?
	printf '%s\n' "$out" | sed 's/^/  check as nfflowd: /' >&2
	echo "$rc $(tr '\n' ' ' <<<"$out")"
}
knobs_off
check "settings off again (is: $(knobs))" is "$(knobs)" "0 0 2"
R=$(check_as_user)
check "nfflowd check as user nfflowd, acct and timestamp off: exit 1 (is: ${R%% *})" is "${R%% *}" 1
check "... naming nf_conntrack_acct = 0" grep -q 'nf_conntrack_acct = 0' <<<"$R"
ip netns exec "$NS" sysctl -q -w net.netfilter.nf_conntrack_acct=1
R=$(check_as_user)
check "nfflowd check as user nfflowd, timestamp off: exit 1 (is: ${R%% *})" is "${R%% *}" 1
check "... naming nf_conntrack_timestamp = 0" grep -q 'nf_conntrack_timestamp = 0' <<<"$R"
knobs_off
OLD=$PID
if ct_exec unit systemctl restart nfflowd; then
	echo "ok: systemctl restart"
else
	fail "systemctl restart"
fi
wait_unit 30 active/running "$OLD" || true
PID=$(prop MainPID)
new_main() {	# OLD NEW: NEW is a main process and not OLD
	[ "$2" != 0 ] && [ "$2" != "$1" ]
}
check "after restart: active/running" is "$(prop ActiveState)/$(prop SubState)" active/running
check "after restart: a new main process ($OLD -> $PID)" new_main "$OLD" "$PID"
check "after restart: acct, timestamp, events = 1 1 1 again (is: $(knobs))" is "$(knobs)" "1 1 1"
# The lines of this start (its invocation), ExecStartPre=nfflowd check's
# among them.
INVOCATION=$(prop InvocationID)
ct_exec unit journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID="$INVOCATION" >"$CT_DIR/restart.journal" || true
sed 's/^/  journal of the restart: /' "$CT_DIR/restart.journal"
check "ExecStartPre=nfflowd check (after the privileged systemd-sysctl) saw acct 1" \
	grep -q 'nf_conntrack_acct = 1' "$CT_DIR/restart.journal"
check "... and timestamp 1" grep -q 'nf_conntrack_timestamp = 1' "$CT_DIR/restart.journal"
R=$(check_as_user)
check "nfflowd check as user nfflowd, the settings on: exit 0 (is: ${R%% *})" is "${R%% *}" 0
connection 7002
check "connection after the restart: a datagram reached the collector" test "$DELIVERED" -gt 0

# --- kill -9: Restart=on-failure restarts it (RestartSec=5s)
OLD=$PID
N0=$(prop NRestarts)
ct_exec unit kill -9 "$OLD"
T1=$SECONDS
if wait_unit 30 active/running "$OLD"; then
	echo "ok: after kill -9: $UNIT_SEEN ($((SECONDS - T1)) s)"
else
	fail "after kill -9: not running again within 30 s ($UNIT_SEEN)"
	journal
fi
PID=$(prop MainPID)
N1=$(prop NRestarts)
check "restarted by systemd: NRestarts $N0 -> $N1" test "$N1" -gt "$N0"
check "restarted: a new main process ($OLD -> $PID)" new_main "$OLD" "$PID"
connection 7003
check "connection after the automatic restart: a datagram reached the collector" test "$DELIVERED" -gt 0

# --- stop
if ct_exec unit systemctl stop nfflowd; then
	echo "ok: systemctl stop"
else
	fail "systemctl stop"
fi
STATE="$(prop ActiveState)/$(prop SubState) $(prop Result)"
check "after stop: inactive/dead success (is: $STATE)" is "$STATE" "inactive/dead success"
gone() {
	! ct_exec unit kill -0 "$1" 2>/dev/null
}
check "main process $PID gone" gone "$PID"
connection 7004

# ===== Exact counters across restart, stop and upgrade (README "Exact
# counters over a connection's whole life") under this real systemd: the
# conntrack socket in the unit's fd store, the state file in its
# StateDirectory.  The oracle is conntrack -E in the container: each
# DESTROY carries the connection's final counters, which the exports of
# the connection must add up to (tests/lab/spancheck.py, at the end).
# Besides the v5 collector an IPFIX one (a second nfcapd, its datagrams
# captured by tshark for flowEndReason); servers of spanconn.py outside
# for connections timed by trigger files in the container.
IPFIX_PORT=4739
SPAN=/root/spanconn.py
ct_copy_in unit "$SRC/tests/lab/spanconn.py" "$SPAN"
mkdir -p "$CT_DIR/flows-ipfix"
# (udp port 4740: the marker that says the capture has everything, below.)
ct_peer_bg unit tshark tshark -i out0 -f "udp dst port $IPFIX_PORT or udp dst port 4740" \
	-w "$CT_DIR/ipfix.pcapng"
ct_peer_bg unit nfcapd-ipfix nfcapd -w "$CT_DIR/flows-ipfix" -b "$CT_PEER_IP" -p "$IPFIX_PORT" \
	-t 3600 -I nfflowd-ct-ipfix
ct_peer_bg unit servers python3 "$SRC/tests/lab/spanconn.py" server "$CT_PEER_IP" \
	tcp:7101 udp:7102 tcp:7201 tcp:7301 tcp:7401 tcp:7501
for p in 7101 7201 7301 7401 7501; do
	listening t "$p" || die "no spanconn server on $CT_PEER_IP:$p"
done
listening u 7102 || die "no spanconn server on $CT_PEER_IP:7102/udp"
listening u "$IPFIX_PORT" || die "nfcapd does not listen on $CT_PEER_IP:$IPFIX_PORT"
for _ in $(seq 1 100); do
	grep -q "Capturing on" "$CT_DIR/unit/tshark.err" 2>/dev/null && break
	sleep 0.1
done
grep -q "Capturing on" "$CT_DIR/unit/tshark.err" || die "tshark does not capture on out0"

# The oracle, running once a probe's NEW event shows in its output.
EVENTS=$CT_DIR/unit/ctevents.out
ct_exec_bg unit ctevents conntrack -E -e NEW,DESTROY -o timestamp,id,extended
for _ in $(seq 1 50); do
	ct_exec unit python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"probe", ("'"$CT_PEER_IP"'", 7999))'
	sleep 0.1
	grep -q 'dport=7999 ' "$EVENTS" && break
done
grep -q 'dport=7999 ' "$EVENTS" || die "conntrack -E in the container shows no event"
echo "ok: conntrack -E runs in the container (the oracle)"
# The probe's entry goes at once: the daemons' counters of interim exports
# and restored connections below are then those of the test's connections.
ct_exec unit conntrack -D -p udp --dport 7999 >/dev/null 2>&1 || true

# /etc/nfflowd.conf: the shipped keys, the placeholders filled in, the
# IPFIX collector, the given active_timeout and the keys given after it
# ('"KEY": VALUE,' with the comma).
conf() {
	local more=${2:-}
	ct_exec unit sh -c 'cat >/etc/nfflowd.conf' <<-EOF
		{
		  "source": "$CT_IP",
		  "collector": "$CT_PEER_IP",
		  "port": $PORT,
		  "collectors": [ { "address": "$CT_PEER_IP", "port": $IPFIX_PORT, "version": 10 } ],
		  "active_timeout": $1,${more:+ $more}
		  "pidfile": "/run/nfflowd/nfflowd.pid",
		  "control_socket": "/run/nfflowd/nfflowd.sock",
		  "kernel_setup": false
		}
	EOF
}
# A client of spanconn.py in the container: client LABEL PORT PROTO UP DOWN
# INTERVAL STEP...  (its lines in CT_DIR/unit/LABEL.out).
client() {
	local label=$1
	shift
	ct_exec_bg unit "$label" python3 "$SPAN" client "$CT_PEER_IP" "$@"
}
# Wait at most SECS for a line matching the regexp in LABEL's output.
said() {	# LABEL REGEXP SECS
	local _
	for _ in $(seq 1 $(($3 * 10))); do
		grep -qE "$2" "$CT_DIR/unit/$1.out" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "  $1 did not say /$2/ within $3 s: $(tr '\n' ' ' <"$CT_DIR/unit/$1.out" 2>/dev/null)" \
		"$(tr '\n' ' ' <"$CT_DIR/unit/$1.err" 2>/dev/null)"
	return 1
}
# The oracle's DESTROY events of PROTO to port DPORT so far.
destroys() {	# PROTO DPORT
	grep -F '[DESTROY]' "$EVENTS" | grep -cE " $1 +[0-9]+ .* dport=$2 " || true
}
# Wait at most SECS until the kernel no longer has connections of PROTO to
# DPORT (listing them evicts the expired ones) and the oracle has shown N
# DESTROY events of them.
ended() {	# PROTO DPORT N SECS
	local _ left=''
	for _ in $(seq 1 $(($4 * 10))); do
		left=$(ct_exec unit conntrack -L -p "$1" --dport "$2" 2>/dev/null | grep -c . || true)
		[ "$left" = 0 ] && [ "$(destroys "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.1
	done
	echo "  $1 port $2: $left entries left, $(destroys "$1" "$2") DESTROY events"
	return 1
}
# The kernel's counters of the one TCP connection to DPORT: "OP OB RP RB".
reading() {
	ct_exec unit conntrack -L -p tcp --dport "$1" -o extended 2>/dev/null |
		sed -n 's/.* packets=\([0-9]*\) bytes=\([0-9]*\) .* packets=\([0-9]*\) bytes=\([0-9]*\) .*/\1 \2 \3 \4/p' |
		head -n 1
}
# A counter of the running daemon's --dump-state --json, a dotted key for
# one inside an object (events.destroy); 0 when it does not answer.
counter() {
	ct_exec unit nfflowd -c /etc/nfflowd.conf --dump-state --json 2>/dev/null |
		python3 -c 'import functools, json, sys; print(functools.reduce(lambda o, k: o[k], sys.argv[1].split("."), json.load(sys.stdin)["counters"]))' "$1" \
			2>/dev/null || echo 0
}
# Wait at most SECS until that counter is at least N.
counter_reaches() {	# KEY N SECS
	local _ v=0
	for _ in $(seq 1 $(($3 * 5))); do
		v=$(counter "$1")
		[ "$v" -ge "$2" ] && return 0
		sleep 0.2
	done
	echo "  $1 is $v, not $2, after $3 s"
	return 1
}
# The journal lines of the main process PID matching the regexp.
said_by() {	# PID REGEXP
	ct_journal unit -u nfflowd | grep -E "nfflowd\[$1\]: .*($2)"
}
# Wait at most SECS for such a line.
journal_says() {	# PID REGEXP SECS
	local _
	for _ in $(seq 1 $(($3 * 5))); do
		said_by "$1" "$2" >/dev/null && return 0
		sleep 0.2
	done
	return 1
}
touch_in() {
	ct_exec unit touch "$1"
}
show_lines() {	# PID REGEXP: the journal lines, for the log
	said_by "$1" "$2" | sed 's/^/  journal: /' || true
}
lap "checks of the unit"

# --- claim 1: connections that end during `systemctl restart`, while no
# daemon runs, are exported exactly once with conntrack's counters: their
# DESTROY events wait in the socket that the fd store keeps.  A drop-in
# (for this test only) holds the restart in a last ExecStartPre until the
# test says the gap may end (at most 30 s): three TCP connections made
# before the restart talk once more and close in the gap (TIME_WAIT is 1 s
# here), two UDP ones talk in the gap and are deleted then (conntrack -D),
# and one TCP connection is made and ended in the gap; once conntrack has
# destroyed them all, the unit is checked to be still in start-pre, and
# the gap ends.  (A fixed ExecStartPre=/bin/sleep would do the same with a
# race against the TIME_WAIT expiry on a loaded machine.)
conf 1800
ct_exec unit systemctl start nfflowd || fail "systemctl start (IPFIX collector added)"
wait_unit 30 active/running || die "not running with the new configuration ($UNIT_SEEN)"
PID=$(prop MainPID)
check "fd store holds the conntrack socket (NFileDescriptorStore=$(prop NFileDescriptorStore))" \
	is "$(prop NFileDescriptorStore)" 1
client gap-t1 7101 tcp 1000 3000 0 once wait:/root/gap1 once
client gap-t2 7101 tcp 2000 500 0 once wait:/root/gap1 once
client gap-t3 7101 tcp 300 20000 0 once wait:/root/gap1 once
client gap-u1 7102 udp 400 700 0 once once wait:/root/gap1 once
client gap-u2 7102 udp 1200 90 0 once wait:/root/gap1 once once once
for c in gap-t1 gap-t2 gap-t3 gap-u1 gap-u2; do
	said "$c" '^once' 10 || fail "$c: first exchange before the restart"
done
ct_exec unit mkdir -p /etc/systemd/system/nfflowd.service.d
ct_exec unit sh -c 'cat >/etc/systemd/system/nfflowd.service.d/gap.conf' <<-'EOF'
	# systemd_unit.sh: a restart gap that lasts until the test ends it
	[Service]
	ExecStartPre=/bin/sh -c 'n=0; while [ ! -e /run/nfflowd-test-gap-end ] && [ $$n -lt 300 ]; do sleep 0.1; n=$$((n + 1)); done'
EOF
ct_exec unit rm -f /run/nfflowd-test-gap-end
ct_exec unit systemctl daemon-reload
OLD=$PID
T1=$SECONDS
ct_exec unit systemctl restart --no-block nfflowd
in_gap() {	# the old main process gone, the new one not started
	local _ s
	for _ in $(seq 1 100); do
		s=$(prop SubState)
		[ "$s" = start-pre ] && gone "$OLD" && return 0
		sleep 0.05
	done
	echo "  SubState $s"
	return 1
}
check "restart: in ExecStartPre with the old main process $OLD gone" in_gap
touch_in /root/gap1
if ct_exec unit python3 "$SPAN" client "$CT_PEER_IP" 7101 tcp 700 1700 0 once >/dev/null; then
	echo "ok: a connection made and ended in the gap"
else
	fail "a TCP connection in the gap"
fi
for c in gap-t1 gap-t2 gap-t3 gap-u1 gap-u2; do
	ct_bg_wait unit "$c" 10 || fail "$c: exchange in the gap and close ($(cat "$CT_DIR/unit/$c.err"))"
done
ct_exec unit conntrack -D -p udp --dport 7102 >/dev/null 2>&1 || fail "conntrack -D of the UDP connections"
gap_ended() {
	ended tcp 7101 4 5 && ended udp 7102 2 2
}
check "the kernel destroyed the 4 TCP and 2 UDP connections (oracle: DESTROY events)" gap_ended
GAPSTATE=$(prop ActiveState)/$(prop SubState)
check "... all of it while no daemon ran ($GAPSTATE, $((SECONDS - T1)) s into the restart)" \
	is "$GAPSTATE" activating/start-pre
touch_in /run/nfflowd-test-gap-end
wait_unit 30 active/running "$OLD" || fail "not running again after the restart ($UNIT_SEEN)"
PID=$(prop MainPID)
check "after the restart a new main process ($OLD -> $PID)" new_main "$OLD" "$PID"
check "journal: the new daemon took the socket back" \
	journal_says "$PID" "taken from the service manager's file descriptor store" 5
show_lines "$PID" "file descriptor store|state file"
ct_exec unit rm -f /etc/systemd/system/nfflowd.service.d/gap.conf /run/nfflowd-test-gap-end
ct_exec unit rmdir /etc/systemd/system/nfflowd.service.d
ct_exec unit systemctl daemon-reload
none_unseen() {	# past the 2 s after which the restored ones count as ended unseen
	sleep 2.5
	[ "$(counter ended_unseen)" = 0 ]
}
check "the queued DESTROYs matched the state file: nothing exported as ended unseen" none_unseen
lap "restart gap (claim 1)"

# --- claim 2: a connection that spans `systemctl restart` with
# active_timeout 2: interim exports by both daemons and the final one add
# up to conntrack's counters (the state file carries what was exported).
conf 2
OLD=$PID
ct_exec unit systemctl restart nfflowd || fail "systemctl restart (active_timeout 2)"
wait_unit 30 active/running "$OLD" || fail "not running after the restart ($UNIT_SEEN)"
PID=$(prop MainPID)
client span 7201 tcp 500 1500 0.3 talk:/root/span-end
said span '^local' 10 || fail "span: connected"
check "the first daemon ($PID) made at least 2 interim exports" counter_reaches interim 2 10
OLD=$PID
ct_exec unit systemctl restart nfflowd || fail "systemctl restart (spanning)"
wait_unit 30 active/running "$OLD" || fail "not running after the restart ($UNIT_SEEN)"
PID=$(prop MainPID)
check "restarted ($OLD -> $PID)" new_main "$OLD" "$PID"
check "journal: socket taken from the fd store" \
	journal_says "$PID" "taken from the service manager's file descriptor store" 5
check "journal: the connection restored from the state file, still alive" \
	journal_says "$PID" "state file .*: [0-9]+ connections, [1-9][0-9]* still alive" 5
show_lines "$PID" "state file"
check "state_restored 1: the spanning connection (is: $(counter state_restored))" \
	is "$(counter state_restored)" 1
check "the second daemon ($PID) made at least 2 interim exports" counter_reaches interim 2 10
touch_in /root/span-end
ct_bg_wait unit span 10 || fail "span: closed ($(cat "$CT_DIR/unit/span.err"))"
echo "  span: $(tr '\n' ' ' <"$CT_DIR/unit/span.out")"
check "the spanning connection destroyed (oracle)" ended tcp 7201 1 5
lap "spanning restart (claim 2)"

# --- claim 3: `systemctl stop` (the fd store emptied), a connection that
# ends while stopped, `systemctl start`: exported from the state file as
# ended, with what was counted of it until the stop.
client stopgap 7301 tcp 800 2500 0.3 talk:/root/stop-pause wait:/root/stop-go once
said stopgap '^local' 10 || fail "stopgap: connected"
I0=$(counter interim)
check "interim exports of it before the stop" counter_reaches interim $((I0 + 1)) 10
touch_in /root/stop-pause
said stopgap '^talk' 10 || fail "stopgap: paused"
sleep 0.5	# the last answer's ACK
PRE=$(reading 7301)
echo "  kernel counters before the stop (orig pkts bytes, reply pkts bytes): $PRE"
OLD=$PID
ct_exec unit systemctl stop nfflowd || fail "systemctl stop"
STOP=$(reading 7301)
check "nothing carried during the stop itself ($PRE = $STOP)" is "$PRE" "$STOP"
check "full stop: the fd store is empty (NFileDescriptorStore=$(prop NFileDescriptorStore))" \
	is "$(prop NFileDescriptorStore)" 0
check "journal: the stop saved the export state" journal_says "$OLD" "export state of [0-9]+ connections saved" 5
show_lines "$OLD" "export state"
touch_in /root/stop-go
ct_bg_wait unit stopgap 10 || fail "stopgap: exchange while stopped and close ($(cat "$CT_DIR/unit/stopgap.err"))"
check "it ended while stopped (oracle)" ended tcp 7301 1 5
check "still stopped ($(prop ActiveState))" is "$(prop ActiveState)" inactive
ct_exec unit systemctl start nfflowd || fail "systemctl start after the stop"
wait_unit 30 active/running || fail "not running after the start ($UNIT_SEEN)"
PID=$(prop MainPID)
check "journal: exported as ended while no daemon listened" \
	journal_says "$PID" "ended while no daemon listened" 10
show_lines "$PID" "file descriptor store|state file|no daemon listened"
not_said_by() {
	! said_by "$@" >/dev/null
}
check "journal: a fresh socket, none taken from the emptied store" \
	not_said_by "$PID" "taken from the service manager"
check "ended_unseen 1 (is: $(counter ended_unseen))" is "$(counter ended_unseen)" 1
lap "stop and start (claim 3)"

# --- systemctl reload (ExecReload=nfflowd reload: validate, SIGHUP, wait
# for the daemon's verdict).  The daemon's reload counters "OK FAILED":
reloads() {
	ct_exec unit nfflowd -c /etc/nfflowd.conf --dump-state --json 2>/dev/null |
		python3 -c 'import json, sys; r = json.load(sys.stdin)["counters"]["reloads"]; print(r["ok"], r["failed"])' \
			2>/dev/null || echo "none"
}
# systemctl reload; prints its exit status (its output goes to the log).
sd_reload() {
	local rc=0
	ct_exec unit systemctl reload nfflowd >"$CT_DIR/reload.out" 2>&1 || rc=$?
	sed 's/^/  systemctl reload: /' "$CT_DIR/reload.out" >&2
	echo "$rc"
}
# Remember where the unit's journal ends now (in the file $1); later,
# the lines after that.
mark_journal() {	# CURSOR-FILE
	ct_exec unit journalctl --no-pager -u nfflowd -n 0 --show-cursor 2>/dev/null |
		sed -n 's/^-- cursor: //p' >"$1"
}
journal_since() {	# CURSOR-FILE
	ct_exec unit journalctl --no-pager -o short-precise -u nfflowd \
		--after-cursor="$(cat "$1")" 2>/dev/null || true
}
RELOAD_PID=$PID
read -r ROK RFAILED <<<"$(reloads)"
echo "  reload counters before: ok $ROK, failed $RFAILED"
conf 2 '"flush_interval": 0.5,'
RC=$(sd_reload)
check "systemctl reload with flush_interval 0.5: exit 0 (is: $RC)" is "$RC" 0
check "... the daemon's reload counter ok $ROK -> $((ROK + 1)) (is: $(reloads))" \
	is "$(reloads)" "$((ROK + 1)) $RFAILED"
check "... the same main process ($(prop MainPID))" is "$(prop MainPID)" "$RELOAD_PID"
ROK=$((ROK + 1))
# Invalid JSON: nfflowd reload refuses it without signalling the daemon.
ct_exec unit sh -c "printf '%s\n' '{ \"source\": \"$CT_IP\",' '  \"port\": 2055 \"collector\": 1 }' >/etc/nfflowd.conf"
ct_exec unit cat /etc/nfflowd.conf | sed 's/^/  nfflowd.conf: /'
mark_journal "$CT_DIR/cursor"
RC=$(sd_reload)
check "systemctl reload, /etc/nfflowd.conf invalid JSON: fails (exit $RC)" test "$RC" != 0
check "... the daemon was not even signalled (reloads: $(reloads))" is "$(reloads)" "$ROK $RFAILED"
check "... still running: active, the same main process ($(prop ActiveState), $(prop MainPID))" \
	is "$(prop ActiveState) $(prop MainPID)" "active $RELOAD_PID"
journal_since "$CT_DIR/cursor" >"$CT_DIR/reload-json.journal"
sed 's/^/  journal: /' "$CT_DIR/reload-json.journal"
check "... the reason in the journal (the file, line and column)" \
	grep -qE '/etc/nfflowd.conf.*line [0-9]+.*column [0-9]+' "$CT_DIR/reload-json.journal"
# Valid JSON that the daemon refuses: an IPFIX collector sent from an
# address the container does not have (the exporter cannot bind it).
conf 2 '"flush_interval": 0.5,'
ct_exec unit sed -i "s/\"version\": 10 }/\"version\": 10, \"source\": \"192.0.2.99\" }/" /etc/nfflowd.conf
ct_exec unit grep 192.0.2.99 /etc/nfflowd.conf | sed 's/^/  nfflowd.conf: /'
check "nfflowd check accepts that file (it parses)" ct_exec unit nfflowd -c /etc/nfflowd.conf check
mark_journal "$CT_DIR/cursor"
RC=$(sd_reload)
check "systemctl reload, a collector's source 192.0.2.99 not in the container: fails (exit $RC)" \
	test "$RC" != 0
check "... the daemon refused it: reload counter failed $RFAILED -> $((RFAILED + 1)) (is: $(reloads))" \
	is "$(reloads)" "$ROK $((RFAILED + 1))"
check "... still running: active, the same main process ($(prop ActiveState), $(prop MainPID))" \
	is "$(prop ActiveState) $(prop MainPID)" "active $RELOAD_PID"
journal_since "$CT_DIR/cursor" >"$CT_DIR/reload-bind.journal"
sed 's/^/  journal: /' "$CT_DIR/reload-bind.journal"
check "... the daemon's reason in the journal (192.0.2.99)" \
	grep -qE "nfflowd\[$RELOAD_PID\]: .*reload failed.*192\.0\.2\.99" "$CT_DIR/reload-bind.journal"
connection 7007
check "... and the old configuration still exports: a connection's datagram arrived" \
	test "$DELIVERED" -gt 0
lap "reload"

# --- watchdog: with WatchdogSec=4s (a test drop-in; RestartSec=1s to keep
# the test short) a main process that stops answering (SIGSTOP) is killed
# by systemd and restarted, and a connection that ends while it is stopped
# is exported once by the next one: its DESTROY waited in the socket kept
# in the fd store.  active_timeout 1800: no interim exports.
conf 1800
ct_exec unit mkdir -p /etc/systemd/system/nfflowd.service.d
ct_exec unit sh -c 'cat >/etc/systemd/system/nfflowd.service.d/watchdog.conf' <<-'EOF'
	# systemd_unit.sh: a short watchdog
	[Service]
	WatchdogSec=4s
	RestartSec=1s
EOF
ct_exec unit systemctl daemon-reload
OLD=$PID
ct_exec unit systemctl restart nfflowd || fail "systemctl restart (WatchdogSec=4s)"
wait_unit 30 active/running "$OLD" || fail "not running with WatchdogSec=4s ($UNIT_SEEN)"
PID=$(prop MainPID)
check "WatchdogUSec=4s ($(prop WatchdogUSec))" is "$(prop WatchdogUSec)" 4s
client wd 7501 tcp 900 2100 0 once wait:/root/wd-go once
said wd '^once' 10 || fail "wd: first exchange"
sleep 1.2	# nothing left waiting for its flush_interval
N0=$(prop NRestarts)
mark_journal "$CT_DIR/cursor"
# SIGSTOP just after a WATCHDOG=1 (every 2 s, half of WatchdogSec): the
# kill comes 4 s later, with time for the connection to end before it.
pinged() {
	local _ w0
	w0=$(prop WatchdogTimestampMonotonic)
	for _ in $(seq 1 80); do
		[ "$(prop WatchdogTimestampMonotonic)" != "$w0" ] && return 0
		sleep 0.05
	done
	return 1
}
check "the daemon sends WATCHDOG=1 (WatchdogTimestamp advances within 4 s)" pinged
ct_exec unit kill -STOP "$PID"
T1=$SECONDS
touch_in /root/wd-go
ct_bg_wait unit wd 10 || fail "wd: exchange and close while the daemon is stopped ($(cat "$CT_DIR/unit/wd.err"))"
stopped_still() {	# PID: still the main process, and stopped (T)
	local st
	st=$(ct_exec unit ps -o stat= -p "$1" 2>/dev/null | tr -d ' ') || true
	echo "  main process $1: state ${st:-gone}, MainPID $(prop MainPID)"
	[ "${st#T}" != "$st" ] && [ "$(prop MainPID)" = "$1" ]
}
check "connection :7501 destroyed (oracle)" ended tcp 7501 1 5
check "... while the main process $PID was still stopped ($((SECONDS - T1)) s after SIGSTOP)" \
	stopped_still "$PID"
OLD=$PID
if wait_unit 30 active/running "$OLD"; then
	echo "ok: restarted after the watchdog: $UNIT_SEEN ($((SECONDS - T1)) s after SIGSTOP)"
else
	fail "not running again within 30 s of the SIGSTOP ($UNIT_SEEN)"
fi
PID=$(prop MainPID)
N1=$(prop NRestarts)
journal_since "$CT_DIR/cursor" >"$CT_DIR/watchdog.journal"
sed 's/^/  journal: /' "$CT_DIR/watchdog.journal"
check "journal: Watchdog timeout" grep -q 'Watchdog timeout' "$CT_DIR/watchdog.journal"
check "restarted by systemd: NRestarts $N0 -> $N1" test "$N1" -gt "$N0"
check "a new main process ($OLD -> $PID)" new_main "$OLD" "$PID"
check "journal: the new daemon took the socket from the fd store" \
	journal_says "$PID" "taken from the service manager's file descriptor store" 5
ct_exec unit rm -f /etc/systemd/system/nfflowd.service.d/watchdog.conf
ct_exec unit rmdir /etc/systemd/system/nfflowd.service.d
ct_exec unit systemctl daemon-reload
conf 2
OLD=$PID
ct_exec unit systemctl restart nfflowd || fail "systemctl restart (the drop-in removed)"
wait_unit 30 active/running "$OLD" || fail "not running after the restart ($UNIT_SEEN)"
PID=$(prop MainPID)
check "WatchdogUSec=30s again ($(prop WatchdogUSec))" is "$(prop WatchdogUSec)" 30s
lap "watchdog"

# --- claim 4: a package upgrade (dpkg -i of a higher version) restarts
# the daemon, the fd store kept, and a connection open across it is
# exported exactly once in total.  The upgrade is this package with its
# version raised (dpkg-deb -R, control edited, dpkg-deb -b).
V0=$(dpkg-deb -f "$DEB_FILE" Version)
V1=$V0+upgrade1
mkdir -p "$CT_DIR/upgrade"
dpkg-deb -R "$DEB_FILE" "$CT_DIR/upgrade/tree"
sed -i "s/^Version: .*/Version: $V1/" "$CT_DIR/upgrade/tree/DEBIAN/control"
dpkg-deb -b "$CT_DIR/upgrade/tree" "$CT_DIR/upgrade/nfflowd_${V1}.deb" >/dev/null
check "upgrade package version $V1 > $V0" dpkg --compare-versions "$V1" gt "$V0"
ct_copy_in unit "$CT_DIR/upgrade/nfflowd_${V1}.deb" /root/nfflowd-upgrade.deb
client upgrade 7401 tcp 600 1200 0.3 talk:/root/upgrade-end
said upgrade '^local' 10 || fail "upgrade: connected"
I0=$(counter interim)
check "interim exports of it before the upgrade" counter_reaches interim $((I0 + 1)) 10
check "fd store before the upgrade: NFileDescriptorStore=$(prop NFileDescriptorStore)" \
	is "$(prop NFileDescriptorStore)" 1
OLD=$PID
if ct_exec unit dpkg -i /root/nfflowd-upgrade.deb >"$CT_DIR/dpkg-upgrade.log" 2>&1; then
	echo "ok: dpkg -i of $V1 over $V0"
else
	cat "$CT_DIR/dpkg-upgrade.log"
	fail "dpkg -i of the upgrade"
fi
# shellcheck disable=SC2016 # dpkg-query's ${Version}
check "installed version $V1" is "$(ct_exec unit dpkg-query -W -f '${Version}' nfflowd)" "$V1"
wait_unit 30 active/running "$OLD" || fail "not running after the upgrade ($UNIT_SEEN)"
PID=$(prop MainPID)
check "the upgrade restarted the daemon ($OLD -> $PID)" new_main "$OLD" "$PID"
check "journal: the upgraded daemon took the socket from the fd store" \
	journal_says "$PID" "taken from the service manager's file descriptor store" 5
check "journal: the connection restored from the state file, still alive" \
	journal_says "$PID" "state file .*: [0-9]+ connections, [1-9][0-9]* still alive" 5
show_lines "$PID" "file descriptor store|state file"
check "state_restored 1: the connection across the upgrade (is: $(counter state_restored))" \
	is "$(counter state_restored)" 1
check "fd store after the upgrade: NFileDescriptorStore=$(prop NFileDescriptorStore)" \
	is "$(prop NFileDescriptorStore)" 1
I0=$(counter interim)
check "interim exports by the upgraded daemon" counter_reaches interim $((I0 + 1)) 10
touch_in /root/upgrade-end
ct_bg_wait unit upgrade 10 || fail "upgrade: closed ($(cat "$CT_DIR/unit/upgrade.err"))"
check "the connection across the upgrade destroyed (oracle)" ended tcp 7401 1 5
lap "upgrade (claim 4)"

# --- systemctl stop sends the records that wait in a partly filled
# datagram: with "flush_interval": 60 the records of a connection that
# conntrack destroyed stay in the daemon (no datagram) until the stop.
conf 1800 '"flush_interval": 60,'
OLD=$PID
ct_exec unit systemctl restart nfflowd || fail "systemctl restart (flush_interval 60)"
wait_unit 30 active/running "$OLD" || fail "not running with flush_interval 60 ($UNIT_SEEN)"
PID=$(prop MainPID)
R0=$(counter records)
D0=$(counter events.destroy)
N0=$(datagrams_in)
ct_exec unit python3 /root/peer.py tcp-client "$CT_PEER_IP" 7005 phase-7005 >/dev/null ||
	fail "TCP connection to $CT_PEER_IP:7005 from the container"
gone_from_table() {	# PORT: conntrack destroyed it (at most 15 s)
	local _
	for _ in $(seq 1 60); do
		[ "$(ct_entries "$1")" = 0 ] && return 0
		sleep 0.25
	done
	return 1
}
check "connection :7005 destroyed by conntrack" gone_from_table 7005
check "the daemon read its DESTROY (events.destroy $D0 -> $((D0 + 1)))" \
	counter_reaches events.destroy $((D0 + 1)) 5
sleep 1.5	# past the default flush_interval of 1 s
check "... its records wait: none sent (records $R0 -> $(counter records))" is "$(counter records)" "$R0"
check "... no datagram at the collectors ($N0 -> $(datagrams_in))" is "$(datagrams_in)" "$N0"
ct_exec unit systemctl stop nfflowd || fail "systemctl stop (flush_interval 60)"
datagram_came() {	# N0: more datagrams than that outside, within 5 s
	local _
	for _ in $(seq 1 50); do
		[ "$(datagrams_in)" -gt "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
check "systemctl stop sent it (datagrams outside $N0 -> $(datagrams_in); its records checked below)" \
	datagram_came "$N0"
lap "stop flushes (flush_interval 60)"

# --- README's minimal configuration under the unit: the three keys only
# (pidfile and control socket default to the unit's RuntimeDirectory;
# kernel_setup to true, which finds nothing to do: the unit's ExecStartPre
# has set the kernel settings).
ct_exec unit sh -c 'cat >/etc/nfflowd.conf' <<-EOF
	{ "source": "$CT_IP", "collector": "$CT_PEER_IP", "port": $PORT }
EOF
ct_exec unit cat /etc/nfflowd.conf | sed 's/^/  nfflowd.conf: /'
OLD=$PID
ct_exec unit systemctl start nfflowd || fail "systemctl start (minimal configuration)"
wait_unit 30 active/running "$OLD" || fail "minimal configuration: not running ($UNIT_SEEN)"
PID=$(prop MainPID)
check "minimal configuration: active/running, main process $PID" \
	is "$(prop ActiveState)/$(prop SubState)" active/running
show_lines "$PID" "kernel|ready"
connection 7006
check "minimal configuration: a connection's datagram reached the collector" test "$DELIVERED" -gt 0
# From a root shell, without -c: /etc/nfflowd.conf, the default paths.
RC=0
OUT=$(ct_exec unit nfflowd --dump-state 2>&1) || RC=$?
printf '%s\n' "$OUT" | head -n 5 | sed 's/^/  nfflowd --dump-state: /'
check "nfflowd --dump-state from a root shell finds it: exit 0 (is: $RC)" is "$RC" 0
check "... the daemon of the unit (pid $PID)" grep -q "nfflowd pid $PID," <<<"$OUT"
RC=0
OUT=$(ct_exec unit nfflowd reload 2>&1) || RC=$?
printf '%s\n' "$OUT" | sed 's/^/  nfflowd reload: /'
check "nfflowd reload from a root shell: exit 0 (is: $RC)" is "$RC" 0
check "... the daemon reloaded (reloads ok/failed: $(reloads))" is "$(reloads)" "1 0"
check "... the same main process ($(prop MainPID))" is "$(prop MainPID)" "$PID"
RC=0
OUT=$(ct_exec unit nfflowd stop 2>&1) || RC=$?
printf '%s\n' "$OUT" | sed 's/^/  nfflowd stop: /'
check "nfflowd stop from a root shell: exit 0 (is: $RC)" is "$RC" 0
check "... the main process $PID is gone" gone "$PID"
for _ in $(seq 1 50); do
	[ "$(prop ActiveState)" = inactive ] && break
	sleep 0.1
done
STATE="$(prop ActiveState)/$(prop SubState) $(prop Result)"
check "... the unit inactive/dead success, not restarted (is: $STATE)" is "$STATE" "inactive/dead success"
lap "minimal configuration"

# --- purge (the daemon stopped): the configuration and the state go, the
# system user stays.
if ct_exec unit dpkg --purge nfflowd >"$CT_DIR/dpkg-purge.log" 2>&1; then
	echo "ok: dpkg --purge nfflowd"
else
	cat "$CT_DIR/dpkg-purge.log"
	fail "dpkg --purge nfflowd"
fi
check "purged: the daemon $PID is gone" gone "$PID"
absent() {
	! ct_exec unit test -e "$1"
}
check "purged: /etc/nfflowd.conf removed" absent /etc/nfflowd.conf
check "purged: /var/lib/nfflowd removed" absent /var/lib/nfflowd
check "purged: the system user nfflowd stays ($(ct_exec unit getent passwd nfflowd))" \
	ct_exec unit getent passwd nfflowd
ct_peer_stop unit ctevents TERM

# --- what the collector stored
ct_peer_stop unit nfcapd TERM
TZ=UTC nfdump -R "$FLOWS" -q -N -o 'fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt' >"$CT_DIR/records" 2>&1 || true
sed 's/^/  record: /' "$CT_DIR/records"
records() {	# PATTERN: how many records match the extended regexp
	tr -d ' ' <"$CT_DIR/records" | grep -cE "$1" || true
}
for p in 7001 7002 7003 7005 7006 7007; do
	check "a record of the connection to :$p as sent" \
		test "$(records "^6\|$CT_IP\|[0-9]+\|$CT_PEER_IP\|$p\|")" -ge 1
	check "a record of the connection to :$p, the reply" \
		test "$(records "^6\|$CT_PEER_IP\|$p\|$CT_IP\|")" -ge 1
done
check "no record of the connection made after the stop (:7004)" \
	is "$(records "\|7004\|")" 0

# The exports of the connections of claims 1 to 4 against the oracle, on
# v5 (nfdump) and IPFIX (tshark, which decodes flowEndReason).
# tshark is stopped only once a marker datagram sent after the last export
# is in its file (it writes in blocks: the last ones would be lost).
ct_peer_stop unit nfcapd-ipfix TERM
captured_marker() {
	local _
	for _ in $(seq 1 50); do
		ct_exec unit python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"marker", ("'"$CT_PEER_IP"'", 4740))'
		sleep 0.2
		tshark -r "$CT_DIR/ipfix.pcapng" -Y "udp.dstport == 4740" 2>/dev/null | grep -q . && return 0
	done
	return 1
}
check "the IPFIX capture is complete (its end marker is in the file)" captured_marker
ct_peer_stop unit tshark TERM
TZ=UTC tshark -r "$CT_DIR/ipfix.pcapng" -d "udp.port==$IPFIX_PORT,cflow" -Y cflow -T fields \
	-E occurrence=a -E aggregator=, -e cflow.srcaddr -e cflow.srcport -e cflow.dstaddr \
	-e cflow.dstport -e cflow.protocol -e cflow.packets -e cflow.octets \
	-e cflow.flow_end_reason >"$CT_DIR/ipfix.fields" 2>"$CT_DIR/ipfix.tshark.err" ||
	fail "tshark could not read the IPFIX capture: $(head -3 "$CT_DIR/ipfix.tshark.err")"
read -r OP OB RP RB <<<"${PRE:-x x x x}"
SPANCHECK=$(python3 "$SRC/tests/lab/spancheck.py" "$EVENTS" "$CT_DIR/records" "$CT_DIR/ipfix.fields" \
	once:restart-gap:tcp:7101:4 once:restart-gap:udp:7102:2 \
	exact:spanning-restart:tcp:7201:4 \
	"ended:stop-start:tcp:7301:$OP:$OB:$RP:$RB" \
	exact:upgrade:tcp:7401:2 once:watchdog:tcp:7501:1 2>&1) || SPANRC=$?
printf '%s\n' "$SPANCHECK"
NSPANFAIL=$(grep -c '^FAIL' <<<"$SPANCHECK" || true)
FAILS=$((FAILS + NSPANFAIL))
if [ "${SPANRC:-0}" != 0 ] && [ "$NSPANFAIL" = 0 ]; then
	fail "spancheck.py exited ${SPANRC}"
fi

lap "all checks"
journal 80
if [ "$FAILS" != 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
