#!/bin/bash
# The proof of issue 23 (README "Firewall pairs"): the pair lab
# (tests/lab/pair.sh: keepalived VRRP, conntrackd FTFW, SNAT to the WAN
# virtual address) with nfflowd on both firewalls, "active_when_address":
# 198.51.100.1, "active_timeout": 2, each exporting from its own WAN
# address (engine id / observation domain 1 and 2) to a v5 and an IPFIX
# nfcapd. About 20 s of traffic:
#   steady: TCP to wan:80, UDP to wan:53 and ICMP echo from lan, TCP from
#     wan to the port forward 198.51.100.1:8080, a few a second;
#   long TCP connections (chat bursts every 0.1 s): L1 0.5-19.5 s (every
#     event), L2 2-8 s (the switch-over), L3 7-12.5 s (the crash), L4
#     12-18 s (the failback);
#   at 5 s a planned switch-over fw1 -> fw2 (fw1's keepalived stopped, then
#     started again with priority 50: the backup);
#   at 10 s a crash of fw2 (daemons frozen and killed, links down; then its
#     conntrack table flushed, as a reboot loses it): fw1 takes over;
#   fw2 comes back (links, nfflowd, conntrackd with a resync from fw1) and
#   at 15 s its keepalived (priority 100) takes the role back from fw1: the
#   failback, a planned move fw1 -> fw2.
# Checked against both nodes' `conntrack -E` (tests/lab/failovercheck.py),
# on each collector:
#   1. every connection of a kernel NEW on either node is exported, each
#      node exporting what its own kernel counted; no record with 0
#      packets of a connection the node never counted (conntrackd's copies);
#      no record of a node received while it was standby (beyond its
#      handover);
#   2. for each node and connection the exports add up to that kernel's
#      DESTROY counters exactly, so those that span the switch-over or the
#      failback add up over both nodes to both kernels' counts; the
#      exception is what fw2 counted of a connection alive on it at the
#      crash: lost at most since its last export (active_timeout), reported;
#   3. every record's tuple is the pre- or post-NAT tuple of that
#      connection in the kernels;
#   4. each node's --dump-state counters (role, role_changes, handovers,
#      handed_over, standby_suppressed, injected_quiet) at each step.
# About 60 s.
#   usage: NFFLOWD=build/nfflowd tests/integration/pair_failover.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=../lab/pair.sh
. "$NFFLOWD_SRCDIR/tests/lab/pair.sh"
lab_require nfcapd nfdump conntrack nft ss keepalived conntrackd

P5=$LAB_COLLECTOR_PORT
P10=4739
ACTIVE_TIMEOUT=2
LONG_PORTS="7001 7002 7003 7004"
T_WALL=$SECONDS
# L1 moves fw1 -> fw2 -> fw1 -> fw2: back on fw1 after the crash, fw1's own
# entry of it has the TCP window of the switch-over (conntrackd copies no
# windows) and would drop its packets as invalid.
PAIR_TCP_LIBERAL=1

now() {
	date +%s.%N
}

# Sleep until $1 s after T0 (the start of the traffic).
at() {
	local d
	d=$(awk -v t0="$T0" -v s="$1" -v n="$(now)" 'BEGIN { d = t0 + s - n; if (d < 0) d = 0; printf "%.3f", d }')
	sleep "$d"
}

# Seconds since T0.
rel() {
	awk -v t0="$T0" -v n="${1:-$(now)}" 'BEGIN { printf "%.2f", n - t0 }'
}

# The counters of node $1's --dump-state --json, as "key=value ..."; kept
# in C[NODE.LABEL.key] with the label $2.
declare -A C=()
KEYS="role role_changes handovers handed_over standby_suppressed injected_quiet records"
counters() {
	local node=$1 label=$2 line k v
	# shellcheck disable=SC2086  # the keys, split
	line=$(pair_nfflowd "$node" --dump-state --json 2>/dev/null |
		"$LAB_PY" -c 'import json, sys
c = json.load(sys.stdin)["counters"]
print(" ".join("%s=%s" % (k, c.get(k, "")) for k in sys.argv[1:]))' $KEYS) || line=
	echo "counters $node $label: ${line:-(no answer)}"
	for k in $KEYS; do
		v=$(tr ' ' '\n' <<<"$line" | sed -n "s/^$k=//p")
		C[$node.$label.$k]=$v
	done
}

# c NODE LABEL KEY: one counter kept by `counters` (0 when missing, so
# that comparisons fail rather than break).
c() {
	local v=${C[$1.$2.$3]:-}
	case $3 in
	role) echo "${v:-none}" ;;
	*) echo "${v:-0}" ;;
	esac
}

# Wait (at most $3 s) until node $1's role is $2.
role_is() {
	local _ r=
	for _ in $(seq 1 $(($3 * 5))); do
		r=$(pair_nfflowd "$1" --dump-state --json 2>/dev/null |
			"$LAB_PY" -c 'import json, sys; print(json.load(sys.stdin)["counters"]["role"])' 2>/dev/null) || r=
		[ "$r" = "$2" ] && return 0
		sleep 0.2
	done
	lab_log "$1's role still '$r' after $3 s, not $2"
	return 1
}

# Wait (at most $1 s) until neither firewall's table has an entry besides
# the daemons' own export flows.
drain() {
	local _ n node
	for _ in $(seq 1 $(($1 * 4))); do
		n=0
		for node in $PAIR_NODES; do
			n=$((n + $(lab_ns "$node" conntrack -L 2>/dev/null |
				grep -v -e "dport=$P5 " -e "dport=$P10 " | grep -c . || true)))
		done
		[ "$n" = 0 ] && return 0
		sleep 0.25
	done
	for node in $PAIR_NODES; do
		lab_log "$node's table still has:"
		lab_ns "$node" conntrack -L 2>/dev/null | grep -v -e "dport=$P5 " -e "dport=$P10 " >&2 || true
	done
	return 1
}

# Keep a log of a process started again under the same name.
keep_log() {
	local f
	for f in "$LAB_DIR/$1".{out,err}; do
		[ -f "$f" ] && mv "$f" "${f%.*}.$2.${f##*.}"
	done
	return 0
}

EVENTS=()
event() {
	local t
	t=$(now)
	EVENTS+=("$1=$t")
	echo "== $(rel "$t") s: $1"
}

pair_start_fw1_master "VRRP: fw1 is master"

lab_servers_start
for p in $LONG_PORTS; do
	lab_bg "chat$p" wan "$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-server "$LAB_WAN_IP" "$p"
	lab_wait_port wan t "$p"
done
pair_oracle_start
lab_collector_start
lab_nfcapd_start ipfix $P10
for node in fw1 fw2; do
	pair_daemon_config "$node" "\"active_when_address\": \"$PAIR_VIP_WAN\",
  \"active_timeout\": $ACTIVE_TIMEOUT,
  \"collectors\": [{\"address\": \"$LAB_WAN_IP\", \"port\": $P10, \"version\": 10,
    \"source\": \"$(pair_ip "$node" wan)\"}]"
done
pair_daemon_start fw1 fw2 || {
	fail "nfflowd did not start on both nodes"
	exit 1
}
counters fw1 start
counters fw2 start
check "fw1 starts active ($(c fw1 start role))" test "$(c fw1 start role)" = active
check "fw2 starts standby ($(c fw2 start role))" test "$(c fw2 start role)" = standby

# ------------------------------------------------------------------ traffic
T0=$(now)
EVENTS+=("start=$T0")
END_NS=$(awk -v t0="$T0" 'BEGIN { printf "%.0f", (t0 + 20) * 1e9 }')
# shellcheck disable=SC2016  # expanded by the inner shell
STEADY_LAN='end=$1 py=$2 peer=$3 dst=$4 i=0
while [ $i -lt 300 ] && [ "$(date +%s%N)" -lt "$end" ]; do
	i=$((i + 1))
	if "$py" "$peer" tcp-client "$dst" 80 "s$i" >/dev/null 2>&1; then echo "tcp ok"; else echo "tcp fail $i $(date +%s.%N)"; fi
	if "$py" "$peer" udp-client "$dst" 53 "q$i" >/dev/null 2>&1; then echo "udp ok"; else echo "udp fail $i $(date +%s.%N)"; fi
	if ping -c 1 -W 1 -q "$dst" >/dev/null 2>&1; then echo "icmp ok"; else echo "icmp fail $i $(date +%s.%N)"; fi
	sleep 0.1
done'
# shellcheck disable=SC2016
STEADY_WAN='end=$1 py=$2 peer=$3 dst=$4 i=0
while [ $i -lt 300 ] && [ "$(date +%s%N)" -lt "$end" ]; do
	i=$((i + 1))
	if "$py" "$peer" tcp-client "$dst" 8080 "d$i" >/dev/null 2>&1; then echo "dnat ok"; else echo "dnat fail $i $(date +%s.%N)"; fi
	sleep 0.25
done'
lab_bg steady-lan lan bash -c "$STEADY_LAN" steady "$END_NS" "$LAB_PY" "$LAB_SRC_DIR/peer.py" "$LAB_WAN_IP"
lab_bg steady-wan wan bash -c "$STEADY_WAN" steady "$END_NS" "$LAB_PY" "$LAB_SRC_DIR/peer.py" "$PAIR_VIP_WAN"
# long PORT START SECONDS: a chat from lan to wan:PORT, 300 bytes up and
# 600 down every 0.1 s.
long() {
	# shellcheck disable=SC2016  # expanded by the inner shell
	lab_bg "long$1" lan bash -c 'sleep "$1"; shift; exec "$@"' long "$2" \
		"$LAB_PY" "$LAB_SRC_DIR/peer.py" chat-client "$LAB_WAN_IP" "$1" "$3" 0.1 300 600
}
long 7001 0.5 19
long 7002 2 6
long 7003 7 5.5
long 7004 12 6

at 5
event switchover
check "planned switch-over: fw2 is master" pair_switchover stop
check "fw1 is standby after its handover" role_is fw1 standby 5
check "fw2 is active" role_is fw2 active 5
counters fw1 switchover
counters fw2 switchover
keep_log keepalived-fw1 run1
pair_keepalived_config fw1 50
pair_keepalived_start fw1
sleep 1
check "fw1's keepalived is back as the backup (priority 50): fw2 still master" \
	pair_wait_master fw2 3

at 9.6
counters fw1 precrash
counters fw2 precrash
at 10
event crash
check "crash of fw2: fw1 is master" pair_crash fw2
pair_table_lost fw2
check "fw1 is active after the crash" role_is fw1 active 5
counters fw1 crash

at 12
echo "== $(rel) s: fw2 comes back (links, nfflowd, conntrackd with a resync), as the backup"
keep_log nfflowd-fw2 run1
keep_log conntrackd-fw2 run1
keep_log keepalived-fw2 run1
cp "$LAB_DIR/conntrackd-fw2.log" "$LAB_DIR/conntrackd-fw2.run1.log" 2>/dev/null || true
pair_links_up fw2
pair_daemon_start fw2 || fail "nfflowd did not start again on fw2"
check "fw2's new nfflowd is standby" role_is fw2 standby 5
check "fw2's conntrackd runs and asked fw1 for the table" pair_resync fw2
check "fw1's connections (L1) are in fw2's table again" \
	pair_wait_synced fw2 "dport=7001 " 5
counters fw2 rejoined

at 15
echo "== $(rel) s: fw2's keepalived started (priority 100)"
pair_keepalived_config fw2
pair_keepalived_start fw2
check "failback: fw2 (priority 100) is master again" pair_wait_master fw2 10
# the move itself (pair_wait_master polls every 0.1 s)
event failback
check "fw1 is standby after its handover" role_is fw1 standby 5
check "fw2 is active" role_is fw2 active 5
counters fw1 failback
counters fw2 failback

at 20
event end
for p in $LONG_PORTS; do
	st=0
	lab_wait_exit "long$p" 10 || st=$?
	if [ $st = 0 ]; then
		echo "ok: long connection to :$p: $(tr '\n' ' ' <"$LAB_DIR/long$p.out")"
	else
		fail "long connection to :$p (exit $st): $(tr '\n' ' ' <"$LAB_DIR/long$p.err" | tail -c 300)"
	fi
done
lab_wait_exit steady-lan 10 || fail "the steady LAN traffic did not end"
lab_wait_exit steady-wan 10 || fail "the steady WAN traffic did not end"
for k in tcp udp icmp; do
	echo "steady $k: $(grep -c "^$k ok" "$LAB_DIR/steady-lan.out" || true) ok," \
		"$(grep -c "^$k fail" "$LAB_DIR/steady-lan.out" || true) failed"
done
echo "steady dnat: $(grep -c '^dnat ok' "$LAB_DIR/steady-wan.out" || true) ok," \
	"$(grep -c '^dnat fail' "$LAB_DIR/steady-wan.out" || true) failed"
grep ' fail ' "$LAB_DIR/steady-lan.out" "$LAB_DIR/steady-wan.out" |
	while read -r f kind _ n t; do echo "  client failure: ${f##*/} $kind #$n at $(rel "$t") s"; done || true

echo "== waiting for both tables to drain"
drain 20 || fail "the tables did not drain"
sleep 1
counters fw1 final
counters fw2 final
pair_daemon_stop fw1 fw2 || fail "nfflowd did not stop cleanly"
lab_collector_stop
lab_nfcapd_stop ipfix
pair_oracle_stop
pair_collector_json
TZ=UTC nfdump -R "$LAB_DIR/ipfix" -N -o json >"$LAB_DIR/collector-ipfix.json"

echo "== the role counters"
# switch-over: fw1 handed over what it had counted, fw2 took the role
check "switch-over: fw1 role_changes 1, handovers 1 ($(c fw1 switchover role_changes), $(c fw1 switchover handovers))" \
	test "$(c fw1 switchover role_changes)" = 1 -a "$(c fw1 switchover handovers)" = 1
check "switch-over: fw1 handed over >= 2 connections (L1, L2 at least: $(c fw1 switchover handed_over))" \
	test "$(c fw1 switchover handed_over)" -ge 2
check "switch-over: fw2 role_changes 1, handovers 0 ($(c fw2 switchover role_changes), $(c fw2 switchover handovers))" \
	test "$(c fw2 switchover role_changes)" = 1 -a "$(c fw2 switchover handovers)" = 0
check "before the crash fw2 had left fw1's quiet copies unexported (injected_quiet $(c fw2 precrash injected_quiet) > 0)" \
	test "$(c fw2 precrash injected_quiet)" -gt 0
check "before the crash fw1 (standby) left fw2's quiet copies unexported (injected_quiet $(c fw1 precrash injected_quiet) > 0)" \
	test "$(c fw1 precrash injected_quiet)" -gt 0
check "before the crash fw1 (standby) suppressed exports (standby_suppressed $(c fw1 precrash standby_suppressed) > 0: L2's end)" \
	test "$(c fw1 precrash standby_suppressed)" -gt 0
check "before the crash fw1 exported nothing since its handover ($(c fw1 switchover records) -> $(c fw1 precrash records) records)" \
	test "$(c fw1 precrash records)" = "$(c fw1 switchover records)"
check "crash: fw1 active again, role_changes 2, handovers 1 ($(c fw1 crash role_changes), $(c fw1 crash handovers))" \
	test "$(c fw1 crash role_changes)" = 2 -a "$(c fw1 crash handovers)" = 1
check "fw2 back: standby, role_changes 0 ($(c fw2 rejoined role), $(c fw2 rejoined role_changes))" \
	test "$(c fw2 rejoined role)" = standby -a "$(c fw2 rejoined role_changes)" = 0
check "failback: fw1 role_changes 3, handovers 2 ($(c fw1 failback role_changes), $(c fw1 failback handovers))" \
	test "$(c fw1 failback role_changes)" = 3 -a "$(c fw1 failback handovers)" = 2
check "failback: fw1 handed over >= 2 more connections (L1, L4: $(c fw1 crash handed_over) -> $(c fw1 failback handed_over))" \
	test "$(c fw1 failback handed_over)" -ge $(($(c fw1 crash handed_over) + 2))
check "failback: fw2 role_changes 1, handovers 0 ($(c fw2 failback role_changes), $(c fw2 failback handovers))" \
	test "$(c fw2 failback role_changes)" = 1 -a "$(c fw2 failback handovers)" = 0
check "at the end fw1 (standby) suppressed more (L1, L4 ended on fw2: $(c fw1 failback standby_suppressed) -> $(c fw1 final standby_suppressed))" \
	test "$(c fw1 final standby_suppressed)" -gt "$(c fw1 failback standby_suppressed)"
check "fw1 exported nothing after the failback handover ($(c fw1 failback records) -> $(c fw1 final records) records)" \
	test "$(c fw1 final records)" = "$(c fw1 failback records)"
printf '%-6s %-10s' node step
for k in $KEYS; do printf ' %s' "$k"; done
echo
for node in fw1 fw2; do
	for step in start switchover precrash crash rejoined failback final; do
		[ -n "${C[$node.$step.role]+x}" ] || continue
		printf '%-6s %-10s' "$node" "$step"
		for k in $KEYS; do printf " %${#k}s" "${C[$node.$step.$k]}"; done
		echo
	done
done

echo "== the collectors against both kernels"
EVARGS=()
for e in "${EVENTS[@]}"; do
	EVARGS+=(--event "$e")
done
for col in v5:collector.json ipfix:collector-ipfix.json; do
	out=$("$LAB_PY" "$LAB_SRC_DIR/failovercheck.py" --label "${col%%:*}" \
		--nfdump-json "$LAB_DIR/${col#*:}" \
		--node "$(pair_node_spec fw1)" --node "$(pair_node_spec fw2)" \
		--crashed fw2 --active-timeout $ACTIVE_TIMEOUT \
		"${EVARGS[@]}" 2>&1) || true
	printf '%s\n' "$out"
	n=$(grep -c '^FAIL' <<<"$out" || true)
	FAILS=$((FAILS + n))
	grep -q "^${col%%:*}: class" <<<"$out" ||
		fail "failovercheck.py did not finish on ${col%%:*}"
done

echo "test took $((SECONDS - T_WALL)) s"
if [ "$FAILS" != 0 ]; then
	for f in nfflowd-fw1.err nfflowd-fw2.run1.err nfflowd-fw2.err \
		keepalived-fw1.err keepalived-fw2.err; do
		it_show "$LAB_DIR/$f" 40
	done
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
