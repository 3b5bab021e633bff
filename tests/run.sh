#!/bin/bash
# The whole test suite (README quick start, second command; .ci/run calls
# it): installs what it needs, then builds and tests nfflowd four ways:
#   1. a -Werror build: unit and integration suites;
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build: the same;
#   3. a clang libFuzzer build: a short smoke run of every fuzz target;
#   4. a -Werror build with jansson and libevent from subprojects/ instead of
#      the system's: the unit suite and the integration tests of the
#      configuration and the daemon's loop.
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=${NFFLOWD_TEST_BUILDDIR:-$top/build-test}
fuzz_seconds=${NFFLOWD_FUZZ_SECONDS:-30}
failed_steps=0
logs=()

step() { echo; echo "== $*"; }

tests/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

run_build() {	# name, meson options...
	local name=$1; shift
	local dir="$out/$name"
	step "build $name"
	if [ ! -d "$dir" ]; then
		meson setup "$dir" "$@" >"$out-$name-setup.log" 2>&1 ||
			{ cat "$out-$name-setup.log"; return 1; }
	fi
	ninja -C "$dir" || return 1
}

run_suite() {	# name, meson test args...
	local name=$1; shift
	local dir="$out/$name"
	step "test $name"
	meson test -C "$dir" --print-errorlogs "$@"
	logs+=("$dir/meson-logs/testlog.json")
}

mkdir -p "$out"
if run_build plain -Dwerror=true; then
	run_suite plain --suite unit --suite integration || true
else
	failed_steps=$((failed_steps + 1))
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if run_build sanitize -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true; then
	run_suite sanitize --suite unit --suite integration || true
else
	failed_steps=$((failed_steps + 1))
fi
if CC=clang run_build fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false; then
	NFFLOWD_FUZZ_SECONDS=$fuzz_seconds run_suite fuzz --suite fuzz || true
else
	failed_steps=$((failed_steps + 1))
fi

# Build 4 links no shared libjansson or libevent: every program of it.
no_system_libs() {	# name
	local dir="$out/$1" linked
	linked=$(meson introspect --targets "$dir" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["type"] == "executable":
        print("\n".join(t["filename"]))' | while read -r f; do
		ldd "$f" | awk -v f="$f" '$1 ~ /^lib(jansson|event)/ { print f ": " $1 }'
	done)
	[ -z "$linked" ] && return 0
	echo "$linked"
	echo "$1: linked with the system's jansson or libevent"
	return 1
}
step "subproject sources"
if subprojects/fetch-sources.sh &&
	run_build fallback --force-fallback-for=jansson,libevent -Dwerror=true &&
	no_system_libs fallback; then
	# Names and --suite together select tests matching both: the unit
	# suite goes by its names. Then the daemon against the built libraries:
	# the configuration (jansson) on every path a client and a reload take,
	# the event loop (libevent) through exports, the control socket,
	# notifications, a restart with its state file and the metrics.
	units=$(meson test -C "$out/fallback" --no-rebuild --list --suite unit 2>/dev/null |
		sed -n 's|^[^ ]*:unit / ||p')
	# shellcheck disable=SC2086
	run_suite fallback $units integration_triplet integration_cli \
		integration_cli_stderr integration_notify integration_dump_state \
		integration_reload_collector integration_exact_restart \
		integration_metrics || true
else
	failed_steps=$((failed_steps + 1))
fi

step "summary"
python3 - "$failed_steps" "${logs[@]}" <<'PY'
import json, sys
failed_steps = int(sys.argv[1])
passed = failed = skipped = 0
for path in sys.argv[2:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        print(f"missing test log {path}")
        continue
    for line in lines:
        r = json.loads(line)
        res = r.get("result")
        if res in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif res == "SKIP":
            skipped += 1
            print(f"skipped: {r['name']}")
        else:
            failed += 1
            print(f"FAILED: {r['name']} ({res})")
failed += failed_steps
tail = f", {skipped} skipped" if skipped else ""
print(f"{passed} passed, {failed} failed{tail}")
sys.exit(1 if failed else 0)
PY
