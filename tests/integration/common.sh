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
