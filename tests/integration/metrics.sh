#!/bin/bash
# Metrics (Prometheus text): every counter of --dump-state, per collector
# where there are several, from `--dump-state --format prometheus` and from
# the metrics_file the daemon rewrites for node_exporter's textfile
# collector. The Debian package prometheus-node-exporter runs in the lab's
# fw namespace with only that collector, on loopback; its HTTP endpoint must
# serve nfflowd's metrics, without a scrape error, with the values the
# control socket gives.
#   usage: NFFLOWD=build/nfflowd tests/integration/metrics.sh
. "$(dirname "$0")/common.sh"
lab_require nfcapd conntrack nft ss prometheus-node-exporter

NE_PORT=9100
lab_up
lab_servers_start
it_collectors_start v5:2055 ipfix:2057
mkdir -p "$LAB_DIR/textfile"
lab_daemon_config "\"metrics_file\": \"$LAB_DIR/textfile/nfflowd.prom\",
  $(it_collectors_json 2057:10)"
lab_daemon_start
lab_traffic >/dev/null
lab_ct_drain 20 "dport=2055 "
sleep 6	# the file is rewritten every 5 s

# The values to compare with: the control socket's JSON counters.
lab_nfflowd --dump-state --json >"$LAB_DIR/state.json" 2>/dev/null
RC=0
lab_nfflowd --dump-state --format prometheus >"$LAB_DIR/cli.prom" 2>"$LAB_DIR/cli.err" || RC=$?
check "--dump-state --format prometheus exits 0 ($RC)" test "$RC" = 0
check "its output has the records of the v5 collector" \
	grep -qE '^nfflowd_records_exported_total\{collector="198\.51\.100\.2:2055",protocol="netflow_v5"\} [1-9]' "$LAB_DIR/cli.prom"
check "and of the IPFIX collector" \
	grep -qE '^nfflowd_records_exported_total\{collector="198\.51\.100\.2:2057",protocol="ipfix"\} [1-9]' "$LAB_DIR/cli.prom"
check "the metrics file exists" test -s "$LAB_DIR/textfile/nfflowd.prom"
check "it is readable by all (node_exporter runs as another user)" \
	test "$(stat -c %a "$LAB_DIR/textfile/nfflowd.prom")" = 644

lab_bg nodeexp fw prometheus-node-exporter \
	--web.listen-address="127.0.0.1:$NE_PORT" --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$LAB_DIR/textfile"
lab_wait_port fw t "$NE_PORT"
lab_ns fw "$LAB_PY" - "$NE_PORT" >"$LAB_DIR/scrape.prom" <<'PY'
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1],
                             timeout=10).read().decode())
PY
check "node_exporter serves its metrics page" test -s "$LAB_DIR/scrape.prom"
check "without a textfile scrape error" \
	grep -qx 'node_textfile_scrape_error 0' "$LAB_DIR/scrape.prom"

# Every counter of --dump-state --json appears, with the same value, in
# what node_exporter serves (the file is at most 5 s old and the daemon is
# idle by now, so they agree).
RC=0
"$LAB_PY" - "$LAB_DIR/state.json" "$LAB_DIR/scrape.prom" "$LAB_DIR/cli.prom" <<'PY' >"$LAB_DIR/compare.out" 2>&1 || RC=$?
import json, re, sys
c = json.load(open(sys.argv[1]))["counters"]
def samples(path):
    out = {}
    for line in open(path):
        # node_exporter prints large values as floats (1.7e+09)
        m = re.match(r'^(nfflowd_[a-z0-9_]+)(\{[^}]*\})? ([0-9.e+]+)$', line.strip())
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out
def total(s, name):
    return sum(v for k, v in s.items() if k == name or k.startswith(name + "{"))
want = {
    "nfflowd_conntrack_events_total": c["events"]["new"] + c["events"]["destroy"]
        + c["events"]["ignored"] + c["events"]["malformed"],
    "nfflowd_records_exported_total": c["records"],
    "nfflowd_datagrams_total": c["datagrams"],
    "nfflowd_send_errors_total": c["send_errors"],
    "nfflowd_records_lost_total": c["records_lost"],
    "nfflowd_skipped_ipv6_total": c["skipped_ipv6"],
    "nfflowd_records_no_counters_total": c["records_no_counters"],
    "nfflowd_connections_exported_ipv6_total": c["ipv6"],
    "nfflowd_interim_exports_total": c["interim"],
    "nfflowd_counter_readings_total": c["queries"],
    "nfflowd_live_connections": c["live"],
    "nfflowd_netlink_overruns_total": c["overruns"],
    "nfflowd_netlink_drops_total": c["netlink_drops"],
    "nfflowd_resyncs_total": c["resyncs"],
    "nfflowd_lost_connections_total": c["lost_entries"],
    "nfflowd_ttl_expired_total": c["ttl_expired"],
    "nfflowd_ttl_alive_total": c["ttl_alive"],
    "nfflowd_destroy_duplicates_total": c["destroy_duplicates"],
    "nfflowd_reloads_total": c["reloads"]["ok"] + c["reloads"]["failed"],
    "nfflowd_state_restored_total": c["state_restored"],
    "nfflowd_ended_unseen_total": c["ended_unseen"],
    "nfflowd_checkpoints_total": c["checkpoints"],
    "nfflowd_checkpoint_errors_total": c["checkpoint_errors"],
    "nfflowd_syslog_lines_sent_total": c["syslog"]["sent"],
    "nfflowd_syslog_lines_queued": c["syslog"]["queued"],
    "nfflowd_syslog_lines_dropped_total": c["syslog"]["dropped"],
    "nfflowd_syslog_errors_total": c["syslog"]["errors"],
}
bad = 0
for path in sys.argv[2:]:
    s = samples(path)
    for name, v in want.items():
        if not any(k == name or k.startswith(name + "{") for k in s):
            print("FAIL: %s: %s missing" % (path, name)); bad += 1
        elif total(s, name) != v:
            print("FAIL: %s: %s = %g, --dump-state says %d" % (path, name, total(s, name), v)); bad += 1
    for name in ("nfflowd_conntrack_table_entries", "nfflowd_conntrack_table_limit",
                 "nfflowd_start_time_seconds"):
        if name not in s:
            print("FAIL: %s: %s missing" % (path, name)); bad += 1
print("compared %d families in %d outputs, %d differences" % (len(want), len(sys.argv) - 2, bad))
sys.exit(1 if bad else 0)
PY
cat "$LAB_DIR/compare.out"
check "every --dump-state counter is served with its value (node_exporter and --format prometheus)" \
	test "$RC" = 0
check "the live connections are a gauge" \
	grep -qx '# TYPE nfflowd_live_connections gauge' "$LAB_DIR/scrape.prom"

lab_stop nodeexp || true	# it ends by the signal
lab_daemon_stop
it_collectors_stop v5 ipfix
if [ "$FAILS" != 0 ]; then
	echo "$FAILS check(s) failed"
	it_show "$LAB_DIR/nfflowd.err"
	exit 1
fi
echo "all checks passed"
