#!/bin/bash
# `nfflowd --dump-state` (SPEC §1, §6) against connections the lab holds
# open, in two pairs: each one lan -> wan through the masquerade and one
# wan -> 198.51.100.1:8080 forwarded to 192.0.2.2:80.  Pair a is opened
# before the daemon starts (it learns it from the table dump), pair b after
# (from NEW events).  Both forms (--json and the table) list every one with
# conntrack's original and reply tuples, "nat" snat / dnat, how it was
# learned, and the TCP state seen when it was learned.  Once they are closed and destroyed
# the counters equal what the collector received (records: nfcapd's files;
# datagrams: wan's UDP MIB) and the live table is empty again.  The control
# socket is mode 0600 and gone after stop; --dump-state without a daemon
# exits 1 saying why.
#   usage: NFFLOWD=build/nfflowd tests/integration/dump_state.sh
. "$(dirname "$0")/lossless_common.sh"
lab_require nfcapd nfdump conntrack nft ss stat

SC_PY=$NFFLOWD_SRCDIR/tests/lab/statecheck.py
declare -A ST=()

# Run `--dump-state --json` into LAB_DIR/$1 and fill ST with its counters.
state_json() {
	local line rc=0
	lab_nfflowd --dump-state --json >"$LAB_DIR/$1" 2>"$LAB_DIR/$1.err" || rc=$?
	ST=()
	if [ $rc != 0 ]; then
		ll_fail "--dump-state --json exited $rc: $(cat "$LAB_DIR/$1.err")"
		return 0
	fi
	while IFS= read -r line; do
		ST[${line%%=*}]=${line#*=}
	done < <("$LAB_PY" "$SC_PY" counters "$LAB_DIR/$1" || true)
	lab_log "$1: live ${ST[live]:-?}, entries ${ST[entries]:-?}, records ${ST[records]:-?}, datagrams ${ST[datagrams]:-?}"
}

# Start a connection held open until LAB_DIR/trigger-$1 exists: $1 name, $2
# namespace, $3 address, $4 port.  Sets HELD_PORT to its local port.
hold_start() {
	lab_bg "hold-$1" "$2" "$LAB_PY" "$LL_PY" hold-client "$3" "$4" \
		"$LAB_DIR/trigger-$1" 60
	HELD_PORT=
	for _ in $(seq 1 50); do
		HELD_PORT=$(sed -n 's/^hold-client: local port //p' "$LAB_DIR/hold-$1.out")
		[ -n "$HELD_PORT" ] && break
		sleep 0.1
	done
	[ -n "$HELD_PORT" ] || { ll_fail "the $1 connection did not open"; ll_finish; }
}

# The port of the $3-th peer with address $2 in server log $1.
server_peer_port() {
	local p=
	for _ in $(seq 1 30); do
		p=$(awk -v a="$2" -v n="$3" '$1 == a && ++k == n { print $2 }' "$1" 2>/dev/null)
		[ -n "$p" ] && break
		sleep 0.1
	done
	echo "$p"
}

# Open a masqueraded and a forwarded connection, held open; $1 names the
# pair, $2 is its number (1, 2).  Sets LAN_PORT_$1, NAT_PORT_$1, WAN_PORT_$1.
hold_pair() {
	local lan wan nat seen
	hold_start "snat-$1" lan "$LAB_WAN_IP" 80
	lan=$HELD_PORT
	hold_start "dnat-$1" wan "$LAB_FW_WAN_IP" 8080
	wan=$HELD_PORT
	nat=$(server_peer_port "$LAB_DIR/server.log" "$LAB_FW_WAN_IP" "$2")
	seen=$(server_peer_port "$LAB_DIR/lan-server.log" "$LAB_WAN_IP" "$2")
	lab_log "pair $1: lan port $lan left as ${nat:-?}; port forward from wan port $wan (lan saw ${seen:-?})"
	ll_check "pair $1: the port forward reached the lan server from wan port $wan" \
		test "$seen" = "$wan"
	printf -v "LAN_PORT_$1" %s "$lan"
	printf -v "NAT_PORT_$1" %s "${nat:-0}"
	printf -v "WAN_PORT_$1" %s "$wan"
}

# Check pair $1 in the dumps LAB_DIR/$2.json and $2.txt: tuples, NAT and
# source ($3: dump or event) by the helper, state here. The state is the one
# nfflowd saw when it learned the connection (it follows NEW and DESTROY
# only): ESTABLISHED from the table dump, SYN_SENT from a NEW event.
check_pair() {
	local lan=LAN_PORT_$1 nat=NAT_PORT_$1 wan=WAN_PORT_$1 out name js hs want
	want=ESTABLISHED
	[ "$3" = event ] && want=SYN_SENT
	out=$("$LAB_PY" "$SC_PY" entries "$LAB_DIR/$2.json" "$LAB_DIR/$2.txt" \
		--snat "${!lan}" "${!nat}" --dnat "${!wan}" --source "$3") ||
		ll_fail "pair $1 in the dump: $(printf '%s\n' "$out" | grep FAIL)"
	printf '%s\n' "$out" | grep -v '^state '
	while read -r _ name js hs; do
		ll_check "pair $1 ($3): the $name connection shows $want (--json: $js, table: $hs)" \
			test "$js $hs" = "$want $want"
	done < <(printf '%s\n' "$out" | grep '^state ')
}

# Both dump forms into LAB_DIR/$1.json (counters into ST) and $1.txt.
dump_both() {
	local rc=0
	state_json "$1.json"
	lab_nfflowd --dump-state >"$LAB_DIR/$1.txt" 2>"$LAB_DIR/$1.txt.err" || rc=$?
	ll_check "--dump-state exits 0 ($rc)" test "$rc" = 0
	cat "$LAB_DIR/$1.txt"
}

ll_up
ll_server_start server.log
lab_bg srv-lan lan "$LAB_PY" "$LL_PY" tcp-server "$LAB_LAN_IP" 80 "$LAB_DIR/lan-server.log" 300
lab_wait_port lan t 80
lab_collector_start
lab_daemon_config

# No daemon yet: a clear refusal.
RC=0
lab_nfflowd --dump-state >"$LAB_DIR/nodaemon.out" 2>"$LAB_DIR/nodaemon.err" || RC=$?
ll_check "--dump-state without a daemon exits 1 ($RC)" test "$RC" = 1
ll_check "and says no daemon answers on the socket: $(cat "$LAB_DIR/nodaemon.err")" \
	grep -q "no daemon answers on $LAB_DIR/nfflowd.sock.*running" "$LAB_DIR/nodaemon.err"

# Pair a is older than the daemon (learned from its table dump), pair b
# younger (learned from NEW events).
hold_pair a 1
sleep 0.3
UDP0=$(ll_udp_mib wan InDatagrams)
lab_daemon_start
for _ in $(seq 1 50); do
	grep -q "ready (pid" "$LAB_DIR/nfflowd.err" && break
	sleep 0.1
done
MODE=$(stat -c '%a %F' "$LAB_DIR/nfflowd.sock" 2>&1 || true)
ll_check "the control socket is a socket of mode 0600 ($MODE)" test "$MODE" = "600 socket"
dump_both start
check_pair a start dump
ll_check "live counts pair a (${ST[live]:-?} = 2 = ${ST[entries]:-?} listed)" \
	test "${ST[live]:-x} ${ST[entries]:-y}" = "2 2"

hold_pair b 2
sleep 0.3
dump_both held
check_pair a held dump
check_pair b held event
ll_check "live counts both pairs (${ST[live]:-?} = 4 = ${ST[entries]:-?} listed)" \
	test "${ST[live]:-x} ${ST[entries]:-y}" = "4 4"
ll_check "no record exported yet (${ST[records]:-?})" test "${ST[records]:-x}" = 0

for h in snat-a dnat-a snat-b dnat-b; do
	touch "$LAB_DIR/trigger-$h"
done
for h in snat-a dnat-a snat-b dnat-b; do
	lab_wait_exit "hold-$h" 10 || ll_fail "the held connection $h did not close cleanly"
done
lab_ct_drain 10 "dport=$LAB_COLLECTOR_PORT " || ll_fail "conntrack kept entries"
sleep 0.8
state_json after.json
ll_check "the live table is empty again (${ST[live]:-?})" test "${ST[live]:-x}" = 0
ll_check "and lists no entry (${ST[entries]:-?})" test "${ST[entries]:-x}" = 0
ll_check "four DESTROY events (${ST[events_destroy]:-?})" test "${ST[events_destroy]:-x}" = 4
ll_check "twelve records exported (${ST[records]:-?})" test "${ST[records]:-x}" = 12
UDP1=$(ll_udp_mib wan InDatagrams)
ll_check "datagrams counted = datagrams wan received (${ST[datagrams]:-?} = $((UDP1 - UDP0)))" \
	test "${ST[datagrams]:-x}" = $((UDP1 - UDP0))
lab_collector_stop
N=$(lab_collector_dump | grep -c '|' || true)
ll_check "records counted = records at the collector (${ST[records]:-?} = $N)" test "${ST[records]:-x}" = "$N"
ll_check "the collector saw no sequence error" grep -q "Sequence Errors: 0," "$LAB_DIR/nfcapd.err"

lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
ll_check "the control socket is removed at stop" test ! -e "$LAB_DIR/nfflowd.sock"
RC=0
lab_nfflowd --dump-state --json >"$LAB_DIR/stopped.out" 2>"$LAB_DIR/stopped.err" || RC=$?
ll_check "--dump-state --json after stop exits 1 ($RC)" test "$RC" = 1
ll_check "and says why: $(cat "$LAB_DIR/stopped.err")" \
	grep -q "no daemon answers on $LAB_DIR/nfflowd.sock" "$LAB_DIR/stopped.err"
ll_check "and prints nothing on stdout" test ! -s "$LAB_DIR/stopped.out"
ll_finish
