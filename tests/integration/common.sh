# shellcheck shell=bash
# Shared set-up of the integration tests: find the lab and the daemon, skip
# (exit 77) when the lab cannot run here.  Source it from a test script.

set -euo pipefail
IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NFFLOWD_SRCDIR=${NFFLOWD_SRCDIR:-$(cd "$IT_DIR/../.." && pwd)}
# shellcheck source=../lab/lab.sh
. "$NFFLOWD_SRCDIR/tests/lab/lab.sh"
# shellcheck source=../lab/checks.sh
. "$NFFLOWD_SRCDIR/tests/lab/checks.sh"
LAB_NFFLOWD=${NFFLOWD:-}
# Run the lab's comparison logic.
it_compare() {
	"$LAB_PY" "$NFFLOWD_SRCDIR/tests/lab/compare.py" "$@"
}

# Compare what lab_scenario made with the conntrack oracle, field by field:
# it_compare_scenario COLLECTOR_JSON CSV [compare.py options...]
it_compare_scenario() {
	local json=$1 csv=$2
	shift 2
	it_compare triplet "$@" \
		--ct-text "$LAB_DIR/oracle-text.out" --ct-xml "$LAB_DIR/oracle-xml.out" \
		--nfdump-json "$json" --csv "$csv" \
		--source "$LAB_FW_WAN_IP" --collector "$LAB_WAN_IP" \
		--port "$LAB_COLLECTOR_PORT" --require-export-flow \
		--expect masquerade:tcp:198.51.100.2:80:nat:reply \
		--expect portforward:tcp:198.51.100.1:8080:nat:reply \
		--expect udp-answered:udp:198.51.100.2:53:nat:reply \
		--expect udp-unanswered:udp:198.51.100.2:9:nat:noreply \
		--expect icmp-echo:icmp:198.51.100.2:2048:nat:reply \
		--expect icmp-to-fw:icmp:198.51.100.1:2048:nonat:reply
}

if [ -z "$LAB_NFFLOWD" ] || [ ! -x "$LAB_NFFLOWD" ]; then
	echo "FAIL: set NFFLOWD to the built nfflowd (got '${LAB_NFFLOWD}')" >&2
	exit 1
fi
LAB_NFFLOWD=$(cd "$(dirname "$LAB_NFFLOWD")" && pwd)/$(basename "$LAB_NFFLOWD")

# Print a file with a header, for failure diagnostics.
it_show() {
	local f=$1
	echo "----- $(basename "$f") -----"
	if [ -s "$f" ]; then
		head -n "${2:-60}" "$f"
	else
		echo "(empty)"
	fi
}

# Run the lab's v9/IPFIX/IPv6 checks (nfxcheck.py).
it_nfx() {
	"$LAB_PY" "$NFFLOWD_SRCDIR/tests/lab/nfxcheck.py" "$@"
}

# Once fw's conntrack table is empty (at most 10 s), start the oracle and one
# nfcapd per NAME:PORT argument.
it_collectors_start() {
	local spec
	lab_ct_drain 10
	lab_oracle_start
	for spec in "$@"; do
		lab_nfcapd_start "${spec%%:*}" "${spec#*:}"
	done
}

# The "collectors" member of the daemon's configuration: one collector on wan
# per PORT:VERSION argument, each exporting from fw's wan address.
it_collectors_json() {
	local spec sep=
	printf '"collectors": ['
	for spec in "$@"; do
		printf '%s\n    {"address": "%s", "port": %s, "source": "%s", "version": %s}' \
			"$sep" "$LAB_WAN_IP" "${spec%%:*}" "$LAB_FW_WAN_IP" "${spec#*:}"
		sep=,
	done
	printf '\n  ]'
}

# Stop the nfcapd of each NAME argument, then the oracle.
it_collectors_stop() {
	local n
	for n in "$@"; do
		lab_nfcapd_stop "$n"
	done
	lab_oracle_stop
}

# Each nfcapd NAME's records as `nfdump -N -6 -o raw`, in LAB_DIR/NAME.raw.
it_nfdump_raw() {
	local n
	for n in "$@"; do
		TZ=UTC nfdump -R "$LAB_DIR/$n" -N -6 -o raw >"$LAB_DIR/$n.raw"
	done
}

# The datagrams to each PORT in LAB_DIR/wire.pcapng, decoded as NetFlow by
# tshark, in LAB_DIR/wire-PORT.json.
it_wire_json() {
	local p
	for p in "$@"; do
		TZ=UTC tshark -r "$LAB_DIR/wire.pcapng" -d "udp.port==$p,cflow" \
			-Y "udp.dstport==$p" -T json >"$LAB_DIR/wire-$p.json" 2>/dev/null
	done
}

# End a test of nfxcheck.py's kind: after a failed check show the daemon's
# stderr, the start of each NAME argument's stderr and the parsed oracle, and
# exit 1.
it_nfx_finish() {
	local n
	if [ "$FAILS" != 0 ]; then
		it_show "$LAB_DIR/nfflowd.err"
		for n in "$@"; do
			it_show "$LAB_DIR/$n.err" 10
		done
		echo "----- oracle -----"
		it_nfx oracle --ct-text "$LAB_DIR/oracle-text.out" | head -30
		echo "$FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
}

# Print everything useful after a failed scenario.
it_diagnose() {
	it_show "$LAB_DIR/nfflowd.err"
	it_show "$LAB_DIR/nfflowd.out"
	it_show "$LAB_DIR/nfcapd.err" 20
	echo "----- collector (nfdump) -----"
	lab_collector_show 2>&1 | head -40 || true
	echo "----- oracle (conntrack DESTROY events) -----"
	lab_oracle_show 2>&1 | head -40 || true
}
