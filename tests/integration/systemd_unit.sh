#!/bin/bash
# The packaged unit under a real systemd (systemd is not PID 1 on the test
# machines): builds the Debian package from this tree the way package.sh
# does, boots a Debian 12 container with systemd (tests/lab/container.sh),
# installs the package there with dpkg -i, fills in the CHANGE-ME
# placeholders of the shipped /etc/nfflowd.conf (source: the container's
# address, collector: an nfcapd outside it) and checks what systemd makes of
# the unit:
#   - the unedited configuration: enabled, and a start is skipped (inactive,
#     not failed);
#   - systemctl start: Type=notify, active/running only once the daemon has
#     said READY=1, a StatusText, the main process runs as user nfflowd with
#     exactly CAP_NET_ADMIN as effective capabilities;
#   - a TCP connection made in the container reaches the collector as its
#     NetFlow v5 records, after the start, after systemctl restart and after
#     the automatic restart that follows a kill -9 of the main process
#     (Restart=on-failure); systemctl stop ends it cleanly, and a connection
#     after that is not exported.
# The network (container.sh): the container's eth0 192.0.2.10 and, outside
# it, 192.0.2.20 with nfcapd on UDP 2055 and the TCP servers the container
# connects to, on the host's programs; nothing reaches the host's network.
# The kernel settings of the package's sysctl.d file are applied from the
# host (the container's /proc/sys is read-only, its systemd-sysctl does not
# run), with short conntrack timeouts, and a small nftables ruleset in the
# container makes conntrack track its connections.
#
# Took 58 s on a 2-core VM with the container tree built on the way
# (mmdebstrap, 23 to 29 s), 30 s with the cached tree: the package build
# 10 s, the boot under 1 s, the automatic restart 6 s (RestartSec=5s).
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
for tool in nfcapd nfdump dpkg-deb conntrack sysctl python3 ss; do
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

# --- install
ct_copy_in unit "$DEB_FILE" /root/nfflowd.deb
ct_copy_in unit "$SRC/tests/lab/peer.py" /root/peer.py
if ! ct_exec unit dpkg -i /root/nfflowd.deb >"$CT_DIR/dpkg-i.log" 2>&1; then
	cat "$CT_DIR/dpkg-i.log"
	die "dpkg -i in the container (a dependency missing from the tree?)"
fi
echo "ok: dpkg -i"

# One property of the unit.
prop() {
	ct_exec unit systemctl show nfflowd -p "$1" --value
}
# is A B: the two are equal (a check's condition).
is() {
	[ "$1" = "$2" ]
}
check "unit enabled" is "$(ct_exec unit systemctl is-enabled nfflowd)" enabled
# With the placeholders the start is skipped by ExecCondition.
ct_exec unit systemctl start nfflowd || true
check "unedited /etc/nfflowd.conf: start skipped, unit inactive (not failed)" \
	is "$(prop ActiveState)" inactive

# --- kernel settings: the package's sysctl.d file, from the host
while IFS='=' read -r key value; do
	key=$(echo "$key" | tr -d '[:space:]')
	value=$(echo "$value" | tr -d '[:space:]')
	case $key in '' | '#'* | ';'*) continue ;; esac
	ip netns exec "$NS" sysctl -q -w "$key=$value"
	echo "  sysctl (from the package's sysctl.d): $key=$value"
done < <(ct_exec unit cat /usr/lib/sysctl.d/50-nfflowd.conf)
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
for p in 7001 7002 7003 7004; do
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
for p in 7001 7002 7003 7004; do
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

# --- restart
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

# --- what the collector stored
ct_peer_stop unit nfcapd TERM
TZ=UTC nfdump -R "$FLOWS" -q -N -o 'fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt' >"$CT_DIR/records" 2>&1 || true
sed 's/^/  record: /' "$CT_DIR/records"
records() {	# PATTERN: how many records match the extended regexp
	tr -d ' ' <"$CT_DIR/records" | grep -cE "$1" || true
}
for p in 7001 7002 7003; do
	check "a record of the connection to :$p as sent" \
		test "$(records "^6\|$CT_IP\|[0-9]+\|$CT_PEER_IP\|$p\|")" -ge 1
	check "a record of the connection to :$p, the reply" \
		test "$(records "^6\|$CT_PEER_IP\|$p\|$CT_IP\|")" -ge 1
done
check "no record of the connection made after the stop (:7004)" \
	is "$(records "\|7004\|")" 0

lap "all checks"
journal 80
if [ "$FAILS" != 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
