#!/bin/sh
# The production library exports tether_* only, and none of the test-only hooks.
set -eu
B=${1:-build}
bad=$(nm -D --defined-only "$B/libtether.so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^tether_' || true)
if [ -n "$bad" ]; then echo "libtether.so exports non-tether symbols:"; echo "$bad"; exit 1; fi
bad=$(nm --defined-only "$B/libtether.a" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^tether_' || true)
if [ -n "$bad" ]; then echo "libtether.a has global non-tether symbols:"; echo "$bad"; exit 1; fi
if nm -D "$B/libtether.so" "$B/libtether.a" 2>/dev/null | grep -qi 'test_hook\|tether_test_'; then
    echo "test-only hooks found in the production library"; exit 1
fi
n=$(nm -D --defined-only "$B/libtether.so" | awk '$2=="T"' | wc -l)
echo "check-symbols: $n exported functions, all tether_*, no test hooks"
