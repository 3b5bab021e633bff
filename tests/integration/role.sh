#!/bin/bash
# The node's role (README "Firewall pairs") on a single firewall: with
# "active_when_address": 198.51.100.9 the daemon exports only while that
# address is configured in fw (rtnetlink address events). On v5 and IPFIX
# collectors (nfcapd; the IPFIX datagrams also captured by tshark, which
# decodes flowEndReason) against conntrack's own events (`conntrack -E`,
# the oracle):
#   1. the address is on fw's wan interface before the start: role active
#   2. a long TCP connection through the masquerade (tests/lab/spanconn.py,
#      timed by trigger files): phase A; the address is removed while the
#      connection is idle (a single firewall keeps forwarding while
#      standby, so what it counted then would land in the final export):
#      the handover exports what phase A counted as an interim export
#      (IPFIX flowEndReason 2), then the node is standby; a UDP and a TCP
#      connection that begin and end meanwhile are not exported
#      (standby_suppressed grows); the address comes back: role active,
#      phase B, the end: the final export carries the rest. Its exports
#      add up to conntrack's DESTROY counters on each collector, in exactly
#      two pieces per direction (tests/lab/spancheck.py handover, none);
#      role_changes 2, handovers 1, handed_over 1
#   3. `nfflowd role standby` with the address present: "role: standby",
#      a connection then is not exported; `role auto`: active again;
#      `role active` with the address gone: active, a connection then is
#      exported once; a bad argument: exit 2
# About 20 s.
#   usage: NFFLOWD=build/nfflowd tests/integration/role.sh
. "$(dirname "$0")/lossless_common.sh"
lab_require nfcapd nfdump conntrack nft ss tshark

P5=2055
P10=4739
VIP=198.51.100.9
LONG=7101	# the long TCP connection
SB_UDP=7102	# UDP while standby (address gone)
SB_TCP=7103	# TCP while standby (address gone)
FORCED_SB=7104	# TCP while standby by `nfflowd role standby`
FORCED_ACT=7105	# TCP while active by `nfflowd role active`, address gone
SPAN=$LAB_SRC_DIR/spanconn.py
EXPORT_FLOW="src=$LAB_FW_WAN_IP dst=$LAB_WAN_IP "

# The daemon's counter $1 from `nfflowd --dump-state --json`.
st() {
	lab_nfflowd --dump-state --json 2>/dev/null |
		"$LAB_PY" -c 'import json, sys; print(json.load(sys.stdin)["counters"].get(sys.argv[1], ""))' "$1" ||
		true
}

# The role counters of `nfflowd --dump-state --json` in C.
declare -A C=()
counters() {
	local k
	for k in role role_changes handovers handed_over standby_suppressed; do
		C[$k]=$(st $k)
	done
	lab_log "counters: $(for k in "${!C[@]}"; do printf '%s=%s ' "$k" "${C[$k]}"; done)"
}

# Wait (at most $2 s) until the daemon's role is $1.
# shellcheck disable=SC2317  # called through check
role_is() {
	local _ r=
	for _ in $(seq 1 $(($2 * 5))); do
		r=$(st role)
		[ "$r" = "$1" ] && return 0
		sleep 0.2
	done
	lab_log "role still '$r' after $2 s, not $1"
	return 1
}

# Wait (at most $2 s) until the daemon's log has a line matching the ERE
# $1; prints it.
log_wait() {
	local _
	for _ in $(seq 1 $(($2 * 5))); do
		grep -E -m1 -- "$1" "$LAB_DIR/nfflowd.err" && return 0
		sleep 0.2
	done
	return 1
}

# Wait (at most 10 s) until the client $1's output has a line matching $2.
said() {
	local _
	for _ in $(seq 1 50); do
		grep -q -- "$2" "$LAB_DIR/$1.out" 2>/dev/null && return 0
		sleep 0.2
	done
	lab_log "$1 did not say '$2' within 10 s: $(tr '\n' ' ' <"$LAB_DIR/$1.out")"
	return 1
}

# A short connection: one exchange to port $2 over $1 (tcp, udp), then
# its end, awaited in the oracle.
short_conn() {
	lab_ns lan "$LAB_PY" "$SPAN" client "$LAB_WAN_IP" "$2" "$1" 100 200 0.1 once \
		>"$LAB_DIR/short-$2.out" || fail "the $1 connection to :$2 failed"
}

# fw's counters of the long connection now: "OP OB RP RB", or nothing.
ct_reading() {
	lab_ns fw conntrack -L -p tcp --dport $LONG -o extended 2>/dev/null |
		awk '/ESTABLISHED/ {
			n = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^packets=/) p[n] = substr($i, 9)
				if ($i ~ /^bytes=/) b[n++] = substr($i, 7)
			}
			if (n == 2) { print p[0], b[0], p[1], b[1]; exit }
		}'
}

# Record lines of the long connection on the daemon's stdout.
long_lines() {
	awk -F, -v p=$LONG '$9 == "192.0.2.2" && $15 == p' "$LAB_DIR/nfflowd.out" | wc -l
}

# `nfflowd role $1`: its output in ROLE_OUT, its exit status in ROLE_RC.
role_cmd() {
	ROLE_RC=0
	ROLE_OUT=$(lab_nfflowd role "$@" 2>&1) || ROLE_RC=$?
	lab_log "nfflowd role $*: exit $ROLE_RC: $ROLE_OUT"
}

T_START=$(date +%s)
ll_up
lab_bg servers wan "$LAB_PY" "$SPAN" server "$LAB_WAN_IP" \
	tcp:$LONG udp:$SB_UDP tcp:$SB_TCP tcp:$FORCED_SB tcp:$FORCED_ACT
for p in $LONG $SB_TCP $FORCED_SB $FORCED_ACT; do
	lab_wait_port wan t "$p"
done
lab_wait_port wan u $SB_UDP
lab_capture_ports ipfixcap 120 $P10
it_collectors_start v5:$P5 ipfix:$P10
lab_ns fw ip addr add $VIP/32 dev fw-wan
lab_daemon_config "\"active_when_address\": \"$VIP\",
  $(it_collectors_json $P10:10)"
lab_daemon_start || ll_fail "the daemon did not start"

echo "=== 1. $VIP on fw-wan at the start: active"
LINE=$(log_wait "role: active: active_when_address $VIP" 2) || LINE=
check "the log says so ($LINE)" test -n "$LINE"
check "--dump-state says role active" test "$(st role)" = active

echo "=== 2. a long connection across a handover"
lab_bg long lan "$LAB_PY" "$SPAN" client "$LAB_WAN_IP" $LONG tcp 300 500 0.2 \
	"talk:$LAB_DIR/a.end" "wait:$LAB_DIR/b.start" "talk:$LAB_DIR/b.end"
said long '^local' || ll_fail "the long connection did not start"
sleep 2
touch "$LAB_DIR/a.end"
said long '^talk' || ll_fail "phase A did not end"
# Idle now: what the kernel counts no longer moves (a delayed ACK aside).
sleep 0.5
PRE=$(ct_reading)
sleep 0.3
PRE2=$(ct_reading)
lab_log "phase A: $(grep '^talk' "$LAB_DIR/long.out"); conntrack's reading $PRE, 0.3 s later $PRE2"
check "the long connection is idle before the handover ($PRE = $PRE2)" \
	test -n "$PRE" -a "$PRE" = "$PRE2"
LINES0=$(long_lines)
check "nothing of it exported yet ($LINES0 record lines)" test "$LINES0" = 0

lab_ns fw ip addr del $VIP/32 dev fw-wan
LINE=$(log_wait "role: losing the active role \($VIP gone from here\): handing over" 5) || LINE=
check "the daemon saw $VIP go and hands over ($LINE)" test -n "$LINE"
check "then it is standby" role_is standby 10
LINE=$(log_wait "role: standby; handed over [0-9]+ connections" 1) || LINE=
check "the log says so ($LINE)" test -n "$LINE"
LINES1=$(long_lines)
check "the handover exported the long connection at once ($LINES1 record lines)" \
	test "$LINES1" -gt 0
SUP0=$(st standby_suppressed)
short_conn udp $SB_UDP &
short_conn tcp $SB_TCP
wait $! || true
check "conntrack destroyed the standby UDP connection" lab_oracle_saw_destroy $SB_UDP 10
check "and the standby TCP connection" lab_oracle_saw_destroy $SB_TCP 10
sleep 0.5
SUP1=$(st standby_suppressed)
check "standby_suppressed grew by at least 2 ($SUP0 -> $SUP1)" \
	test "${SUP1:-0}" -ge $((${SUP0:-0} + 2))

lab_ns fw ip addr add $VIP/32 dev fw-wan
LINE=$(log_wait "role: active \($VIP configured here\)" 5) || LINE=
check "the daemon saw $VIP back ($LINE)" test -n "$LINE"
check "it is active again" role_is active 5
check "the long connection exported nothing while standby ($(long_lines) record lines)" \
	test "$(long_lines)" = "$LINES1"
touch "$LAB_DIR/b.start"
sleep 2
touch "$LAB_DIR/b.end"
lab_wait_exit long 10 || fail "the long connection did not end cleanly: $(cat "$LAB_DIR/long.err")"
lab_log "long connection: $(tr '\n' ' ' <"$LAB_DIR/long.out")"
check "conntrack destroyed the long connection" lab_oracle_saw_destroy $LONG 10
sleep 0.6
counters
check "role_changes = 2 (${C[role_changes]})" test "${C[role_changes]}" = 2
check "handovers = 1 (${C[handovers]})" test "${C[handovers]}" = 1
check "handed_over = 1: the long connection alone (${C[handed_over]})" \
	test "${C[handed_over]}" = 1

echo "=== 3. nfflowd role"
role_cmd standby
check "role standby with $VIP present: exit 0, 'role: standby' ($ROLE_OUT)" \
	test "$ROLE_RC" = 0 -a "$ROLE_OUT" = "role: standby"
check "--dump-state says standby" role_is standby 5
LINE=$(log_wait "role: losing the active role \(nfflowd role standby\)" 1) || LINE=
check "the log names the command ($LINE)" test -n "$LINE"
short_conn tcp $FORCED_SB
check "conntrack destroyed the connection made then" lab_oracle_saw_destroy $FORCED_SB 10
sleep 0.5
role_cmd auto
check "role auto with $VIP present: exit 0, 'role: active' ($ROLE_OUT)" \
	test "$ROLE_RC" = 0 -a "$ROLE_OUT" = "role: active"
check "--dump-state says active" role_is active 5
lab_ns fw ip addr del $VIP/32 dev fw-wan
check "$VIP gone under role auto: standby" role_is standby 10
role_cmd active
check "role active with $VIP gone: exit 0, 'role: active' ($ROLE_OUT)" \
	test "$ROLE_RC" = 0 -a "$ROLE_OUT" = "role: active"
check "--dump-state says active" role_is active 5
short_conn tcp $FORCED_ACT
check "conntrack destroyed the connection made then" lab_oracle_saw_destroy $FORCED_ACT 10
role_cmd bogus
check "role bogus: exit 2 ($ROLE_OUT)" test "$ROLE_RC" = 2
role_cmd
check "role without an argument: exit 2 ($ROLE_OUT)" test "$ROLE_RC" = 2
check "the bad arguments changed nothing: still active" test "$(st role)" = active
counters
check "role_changes = 6 in all (${C[role_changes]})" test "${C[role_changes]}" = 6
check "handovers = 3 in all (${C[handovers]})" test "${C[handovers]}" = 3
check "handed_over still 1 (${C[handed_over]})" test "${C[handed_over]}" = 1

echo "=== the collectors against conntrack"
lab_ct_drain 10 "$EXPORT_FLOW" || fail "conntrack kept entries"
sleep 0.6
lab_daemon_stop || fail "the daemon did not stop cleanly"
sleep 0.3
lab_stop ipfixcap INT || true
it_collectors_stop v5 ipfix
FMT='fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt'
for n in v5 ipfix; do
	TZ=UTC nfdump -R "$LAB_DIR/$n" -q -N -o "$FMT" >"$LAB_DIR/$n.records"
done
TZ=UTC tshark -r "$LAB_DIR/ipfixcap.pcapng" -d "udp.port==$P10,cflow" -Y cflow -T fields \
	-E occurrence=a -E aggregator=, -e cflow.srcaddr -e cflow.srcport -e cflow.dstaddr \
	-e cflow.dstport -e cflow.protocol -e cflow.packets -e cflow.octets \
	-e cflow.flow_end_reason >"$LAB_DIR/ipfix.fields" 2>"$LAB_DIR/ipfix.tshark.err" ||
	fail "tshark could not read the IPFIX capture: $(head -3 "$LAB_DIR/ipfix.tshark.err")"
read -r OP OB RP RB <<<"${PRE:-x x x x}"
CHECKS=("handover:long:tcp:$LONG:$OP:$OB:$RP:$RB" "none:standby-udp:udp:$SB_UDP:1"
	"none:standby-tcp:tcp:$SB_TCP:1" "none:forced-standby:tcp:$FORCED_SB:1"
	"once:forced-active:tcp:$FORCED_ACT:1")
# The v5 nfcapd's records, then the IPFIX nfcapd's in their place: each
# with the IPFIX datagrams tshark decoded (and their flowEndReason).
for n in v5 ipfix; do
	echo "----- nfcapd $n, and the IPFIX capture -----"
	OUT=$("$LAB_PY" "$LAB_SRC_DIR/spancheck.py" "$LAB_DIR/oracle-text.out" \
		"$LAB_DIR/$n.records" "$LAB_DIR/ipfix.fields" "${CHECKS[@]}" 2>&1) || true
	printf '%s\n' "$OUT" | sed "s/: v5 /: nfcapd $n /"
	N=$(grep -c '^FAIL' <<<"$OUT" || true)
	FAILS=$((FAILS + N))
	grep -q '^FAIL\|^ok' <<<"$OUT" || fail "spancheck.py said nothing"
done
lab_log "took $(($(date +%s) - T_START)) s"
ll_finish
