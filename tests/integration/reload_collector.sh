#!/bin/bash
# A reload that moves the export to another collector while connections
# are made and end (README "Configuration": records already queued leave
# under the old settings, flow_sequence continues; SPEC §2 and §6).
# Two nfcapd in wan, on ports 2055 and 2056.  The daemon exports to 2055; a
# stream of short TCP connections runs; halfway the file is rewritten to
# port 2056 and `nfflowd reload` is run; more connections follow.  Then
# three refused reloads, each followed by connections that must still reach
# 2056: a "source" that is no address of the firewall (the client accepts
# the file, the daemon cannot bind it), invalid JSON through `nfflowd
# reload` (refused without a signal) and invalid JSON through a bare SIGHUP.
# Checks: every record of every connection arrived exactly once across the
# two collectors and equals the daemon's stdout; in the capture all
# datagrams to 2055 precede those to 2056 and flow_sequence runs on without
# a gap or a restart; --dump-state --json counts the reloads.
#   usage: NFFLOWD=build/nfflowd tests/integration/reload_collector.sh
. "$(dirname "$0")/lossless_common.sh"
lab_require nfcapd nfdump conntrack nft ss tshark

PORT2=2056
BURST1=300

# The reload counters and record/datagram totals from --dump-state --json:
# "ok failed records datagrams".
state_counts() {
	lab_nfflowd --dump-state --json 2>/dev/null | "$LAB_PY" -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print(c["reloads"]["ok"], c["reloads"]["failed"], c["records"], c["datagrams"])'
}

# Write the daemon's file exporting to port $1 from source $2.
config_to() {
	sed -e "s/\"port\": $LAB_COLLECTOR_PORT/\"port\": $1/" \
		-e "s/\"source\": \"$LAB_FW_WAN_IP\"/\"source\": \"$2\"/" \
		"$LAB_DIR/good.json" >"$LAB_DIR/nfflowd.json.new"
	mv "$LAB_DIR/nfflowd.json.new" "$LAB_DIR/nfflowd.json"
}

ll_up
ll_server_start server.log
lab_collector_start
mkdir -p "$LAB_DIR/flows2"
lab_bg nfcapd2 wan nfcapd -w "$LAB_DIR/flows2" -b "$LAB_WAN_IP" -p "$PORT2" \
	-t 3600 -I nfflab2
lab_wait_port wan u "$PORT2"
lab_bg capture wan tshark -q -i wan0 -f "udp and (dst port $LAB_COLLECTOR_PORT or dst port $PORT2)" \
	-w "$LAB_DIR/export.pcapng" -a duration:120
for _ in $(seq 1 50); do
	grep -q "Capturing on" "$LAB_DIR/capture.err" 2>/dev/null && break
	sleep 0.1
done
sleep 0.2

lab_daemon_config
cp "$LAB_DIR/nfflowd.json" "$LAB_DIR/good.json"
lab_daemon_start
PID=$(lab_pid nfflowd)

# A stream of connections over about 3 s, the switch in the middle of it.
ll_burst client-1.log "$BURST1" 4 100 >"$LAB_DIR/burst1.out" 2>&1 &
BURST=$!
# Switch once some records have gone to the first collector (conntrack's
# garbage collection decides when the first connections end; listing the
# table evicts what has expired).
for _ in $(seq 1 40); do
	lab_ns fw conntrack -L >/dev/null 2>&1 || true
	COUNTS=$(state_counts || true)
	[ "$(echo "$COUNTS" | awk '{ print $3 }')" -ge 30 ] 2>/dev/null && break
	sleep 0.1
done
lab_log "switching at: ok failed records datagrams = $COUNTS"
config_to "$PORT2" "$LAB_FW_WAN_IP"
RC=0
lab_nfflowd reload >"$LAB_DIR/reload.out" 2>&1 || RC=$?
ll_check "nfflowd reload to port $PORT2 exits 0 ($RC)" test "$RC" = 0
RC=0
wait "$BURST" || RC=$?
cat "$LAB_DIR/burst1.out"
ll_check "the first stream made its $BURST1 connections" test "$RC" = 0
ll_burst client-2.log 30 4 >/dev/null || ll_fail "connections after the switch"
COUNTS=$(state_counts || true)
lab_log "after the switch: ok failed records datagrams = $COUNTS"
ll_check "one reload ok, none failed ($COUNTS)" test "${COUNTS% * *}" = "1 0"

# A source the firewall does not have: the daemon must keep the old one.
config_to "$PORT2" 203.0.113.9
RC=0
lab_nfflowd reload >"$LAB_DIR/reload-src.out" 2>&1 || RC=$?
lab_log "nfflowd reload with source 203.0.113.9 exited $RC: $(cat "$LAB_DIR/reload-src.out")"
sleep 0.5
ll_check "the daemon survived the reload with a foreign source" kill -0 "$PID"
COUNTS=$(state_counts || true)
ll_check "reloads failed = 1 after the foreign source ($COUNTS)" test "${COUNTS% * *}" = "1 1"
ll_check "it logged why (the address)" grep -q "reload failed.*203.0.113.9" "$LAB_DIR/nfflowd.err"
ll_burst client-3.log 20 4 >/dev/null || ll_fail "connections after the refused source"

# Invalid JSON: the client refuses to signal; a bare SIGHUP is refused by
# the daemon.
printf '{ "source": "%s", "port": \n' "$LAB_FW_WAN_IP" >"$LAB_DIR/nfflowd.json"
RC=0
lab_nfflowd reload >"$LAB_DIR/reload-bad.out" 2>&1 || RC=$?
ll_check "nfflowd reload refuses invalid JSON (exit $RC)" test "$RC" = 1
ll_check "its message names the line and column" grep -q "line 2" "$LAB_DIR/reload-bad.out"
kill -HUP "$PID"
sleep 0.5
ll_check "the daemon survived the invalid file" kill -0 "$PID"
config_to "$PORT2" "$LAB_FW_WAN_IP"
COUNTS=$(state_counts || true)
ll_check "reloads ok/failed = 1/2: the client sent no signal ($COUNTS)" \
	test "${COUNTS% * *}" = "1 2"
ll_burst client-4.log 20 4 >/dev/null || ll_fail "connections after the invalid file"

# A reload that leaves the collector as it is keeps its socket: the
# datagrams before and after it come from one source port.
RC=0
lab_nfflowd reload >"$LAB_DIR/reload-same.out" 2>&1 || RC=$?
ll_check "a reload with the collector unchanged exits 0 ($RC)" test "$RC" = 0
ll_burst client-5.log 20 4 >/dev/null || ll_fail "connections after the unchanged reload"

lab_ct_drain 15 "dport=$PORT2 " || ll_fail "conntrack kept entries"
sleep 0.8
COUNTS=$(state_counts || true)
lab_log "before stop: ok failed records datagrams = $COUNTS"
lab_daemon_stop || ll_fail "the daemon did not stop cleanly"
ll_server_stop server.log
sleep 0.3
lab_stop capture INT || true
lab_collector_stop
lab_stop nfcapd2 TERM || true

lab_collector_dump >"$LAB_DIR/collector-1.txt"
TZ=UTC nfdump -R "$LAB_DIR/flows2" -q -N -6 -o "$LAB_NFDUMP_FMT" >"$LAB_DIR/collector-2.txt"
cat "$LAB_DIR/collector-1.txt" "$LAB_DIR/collector-2.txt" >"$LAB_DIR/collector.txt"
cat "$LAB_DIR"/client-[1-5].log >"$LAB_DIR/client.log"
N1=$(grep -c '|' "$LAB_DIR/collector-1.txt" || true)
N2=$(grep -c '|' "$LAB_DIR/collector-2.txt" || true)
CONNS=$(grep -c . "$LAB_DIR/client.log" || true)
lab_log "collector $LAB_COLLECTOR_PORT: $N1 records, collector $PORT2: $N2 records, $CONNS connections"
ll_check "the old collector got records ($N1)" test "$N1" -gt 0
ll_check "the new collector got records ($N2)" test "$N2" -gt 0
ll_check "the switch came while the first stream ran ($N1 < $((3 * BURST1)))" \
	test "$N1" -lt $((3 * BURST1))
# The daemon's own export flow to the old collector ends (UDP timeout)
# after the switch: it is still the daemon's own traffic and must not be
# exported (SPEC §3).  Checked on its own, and left out of the comparison
# below so that that one judges the connections alone.
IP_FW=${LAB_FW_WAN_IP//./\\.}
IP_WAN=${LAB_WAN_IP//./\\.}
SELF_NF="^[^|]*\\|[^|]*\\| *17 *\\| *$IP_FW\\| *[0-9]+\\| *$IP_WAN\\| *$LAB_COLLECTOR_PORT\\|"
SELF_CSV="^([^,]*,){8}$IP_FW,$IP_WAN,([^,]*,){4}$LAB_COLLECTOR_PORT,17,"
SELF=$(grep -cE -- "$SELF_NF" "$LAB_DIR/collector.txt" || true)
ll_check "the old export flow itself was not exported ($SELF records of it)" \
	test "$SELF" = 0
grep -vE -- "$SELF_NF" "$LAB_DIR/collector.txt" >"$LAB_DIR/collector-conns.txt" || true
grep -vE -- "$SELF_CSV" "$LAB_DIR/nfflowd.out" >"$LAB_DIR/nfflowd-conns.out" || true
ll check --nfdump "$LAB_DIR/collector-conns.txt" --csv "$LAB_DIR/nfflowd-conns.out" \
	--client-log "$LAB_DIR/client.log" --server-log "$LAB_DIR/server.log" \
	--exact --expect-records $((3 * CONNS)) ||
	ll_fail "the records of both collectors together (above)"
RECORDS=$(echo "$COUNTS" | awk '{ print $3 }')
ll_check "the daemon counted the records the collectors got ($RECORDS)" \
	test "$RECORDS" = $((N1 + N2))

tshark -r "$LAB_DIR/export.pcapng" -d "udp.port==$LAB_COLLECTOR_PORT,cflow" \
	-d "udp.port==$PORT2,cflow" -T fields -E separator='|' \
	-e frame.number -e ip.src -e udp.dstport -e cflow.count -e cflow.sequence \
	>"$LAB_DIR/export.fields" 2>/dev/null
"$LAB_PY" "$NFFLOWD_SRCDIR/tests/lab/v5seq.py" "$LAB_DIR/export.fields" \
	--ports "$LAB_COLLECTOR_PORT" "$PORT2" --source "$LAB_FW_WAN_IP" \
	--records $((N1 + N2)) >"$LAB_DIR/v5seq.out" || ll_fail "the export datagrams (below)"
cat "$LAB_DIR/v5seq.out"
OLD=$(sed -n 's/.* old=\([0-9]*\) new=\([0-9]*\) records/\1 \2/p' "$LAB_DIR/v5seq.out")
ll_check "each collector stored what was sent to it (capture: $OLD, nfdump: $N1 $N2)" \
	test "$OLD" = "$N1 $N2"
SPORTS=$(tshark -r "$LAB_DIR/export.pcapng" -Y "udp.dstport==$PORT2" -T fields \
	-e udp.srcport 2>/dev/null | sort -u | tr '\n' ' ')
ll_check "the datagrams to $PORT2, before and after the unchanged reload, came from one source port ($SPORTS)" \
	test "$(echo "$SPORTS" | wc -w)" = 1
ll_finish
