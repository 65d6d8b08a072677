#!/bin/sh
# The production library exports tether_* only, and none of the test-only hooks.
# Usage: check-symbols.sh BUILD_DIR (holding libtether.so, libtether.a and tether).
set -eu
B=${1:-build}
for f in "$B/libtether.so" "$B/libtether.a" "$B/tether"; do
    [ -f "$f" ] || { echo "check-symbols: $f not found"; exit 1; }
done
bad=$(nm -D --defined-only "$B/libtether.so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^tether_' || true)
if [ -n "$bad" ]; then echo "libtether.so exports non-tether symbols:"; echo "$bad"; exit 1; fi
bad=$(nm --defined-only "$B/libtether.a" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^tether_' || true)
if [ -n "$bad" ]; then echo "libtether.a has global non-tether symbols:"; echo "$bad"; exit 1; fi
# The test-only powers (src/testhooks, TETHER_TEST_HOOKS) must be absent from everything a
# user installs: the library and the tether command. Two independent checks:
#  - symbols, local ones included (needs a symbol table);
#  - the marker string every TETHER_TEST_HOOKS object carries (src/tls/config.c), which a
#    stripped binary still contains.
for f in "$B/libtether.so" "$B/libtether.a" "$B/tether"; do
    if nm -a "$f" 2>/dev/null | grep -qiE 'tether_test_|testhook|test_oracle|leak_key|keylog_leak|test_keylog|test_hooks_marker'; then
        echo "test-only hooks found in $f (symbols)"; exit 1
    fi
    if grep -aq 'TETHER_TEST_HOOKS build' "$f"; then
        echo "test-only hooks found in $f (marker string)"; exit 1
    fi
done
n=$(nm -D --defined-only "$B/libtether.so" | awk '$2=="T"' | wc -l)
echo "check-symbols: $n exported functions, all tether_*, no test hooks"
