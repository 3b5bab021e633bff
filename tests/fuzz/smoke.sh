#!/bin/sh
# Runs one libFuzzer target on a copy of its seed corpus for a bounded time.
# usage: smoke.sh FUZZER SEED_DIR [SECONDS]
set -eu
fuzzer=$(realpath "$1") seeds=$(realpath "$2")
secs=${3:-${NFFLOWD_FUZZ_SECONDS:-30}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp -r "$seeds"/. "$work/corpus/"
# New inputs go to the scratch copy; a crash writes its input there too and
# is printed, since the scratch dir goes away.
cd "$work"
if ! "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$work/" "$work/corpus"; then
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
		[ -f "$f" ] && { echo "artifact $f:"; od -A d -t x1 "$f" | head -40; }
	done
	exit 1
fi
