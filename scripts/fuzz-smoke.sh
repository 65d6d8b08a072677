#!/bin/sh
# Run each libFuzzer harness briefly on its seed corpus (plus a scratch corpus).
set -eu
B=${1:-build}
S=${2:-10}
cd "$(dirname "$0")/.."
for f in "$B"/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f" | sed 's/^fuzz_//')
    work="$B/fuzz/corpus-$name"
    mkdir -p "$work"
    seeds="fuzz/seeds/$name"
    [ -d "$seeds" ] || seeds=""
    out=$("$f" -max_total_time="$S" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" $seeds 2>&1) || {
        echo "$out" | tail -40
        echo "fuzz-smoke: $name FAILED"
        exit 1
    }
    runs=$(echo "$out" | sed -n 's/^stat::number_of_executed_units: *//p')
    echo "fuzz-smoke: $name ok (${runs:-?} runs in ${S}s)"
done
