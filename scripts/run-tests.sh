#!/bin/sh
# Run every test program (unit and loopback integration, normal and ASan+UBSan builds) and
# the CLI tests under prove; prove's summary ("Result: PASS") is the closing line.
set -eu
cd "$(dirname "$0")/.."
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
: "${TETHER_VECTORS:=$(cd .. && pwd)/shared/vectors}"
export TETHER_VECTORS
if [ ! -d "$TETHER_VECTORS" ]; then
    echo "# note: recorded vectors not found at $TETHER_VECTORS: the tests that need them skip"
fi
set --
for b in build/tests/test_* build-asan/tests/test_*; do
    [ -x "$b" ] && set -- "$@" "$b"
done
for s in tests/cli/*.sh; do
    case "$s" in */lib.sh) continue ;; esac # shared helpers, sourced by the scripts
    [ -f "$s" ] && set -- "$@" "$s"
done
exec prove --timer --exec 'sh scripts/tap-run.sh' "$@"
