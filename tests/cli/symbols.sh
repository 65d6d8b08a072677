#!/bin/sh
# symbols.sh - the production artefacts (libtether.so, libtether.a, tether) export tether_*
# only and carry none of the test-only powers (key and keylog leaks, attestation oracle), and
# scripts/check-symbols.sh, which `make test` also runs, really catches a hooked build: fed the
# hooked objects or the tether-lab binary, stripped or not, it must fail.
. "$(dirname "$0")/lib.sh"

t_plan 5
B=$(dirname "$TETHER")
CHECK="sh $T_ROOT/scripts/check-symbols.sh"
# refused DIR PATTERN NAME: scripts/check-symbols.sh on DIR fails, saying PATTERN.
refused() {
    $CHECK "$1" >"$T_TMP/out" 2>&1
    rc=$?
    grep -q "$2" "$T_TMP/out"
    t_ok $((rc == 0 || $? != 0)) "$3"
}

if [ ! -f "$B/libtether.so" ] || [ ! -f "$B/libtether.a" ]; then
    t_skip "libtether not built in $B" 5
    t_done
    exit 0
fi

$CHECK "$B" >"$T_TMP/out" 2>&1
rc=$?
t_diag_file "$T_TMP/out"
t_ok $rc "the production library and command export tether_* only, with no test hook"

# A "production" directory whose archive holds a hooked connection object.
HOOKED=$(ls "$B"/objt/src/tls/config.o 2>/dev/null)
if [ -n "$HOOKED" ] && have ar && have ld && have objcopy; then
    mkdir -p "$T_TMP/a"
    cp "$B/libtether.so" "$B/tether" "$T_TMP/a/"
    # Built the way the Makefile builds libtether.a (one relocatable object, hidden symbols
    # localised), so only the hook checks can object to it.
    ld -r -o "$T_TMP/a/all.o" $HOOKED && objcopy --localize-hidden "$T_TMP/a/all.o" &&
        ar rcs "$T_TMP/a/libtether.a" "$T_TMP/a/all.o"
    refused "$T_TMP/a" 'test-only hooks found' "an archive with the hooked objects is refused"
else
    t_skip "no hooked objects in $B/objt"
fi

if [ -x "$B/tether-lab" ]; then
    mkdir -p "$T_TMP/b" "$T_TMP/c"
    cp "$B/libtether.so" "$B/libtether.a" "$T_TMP/b/"
    cp "$B/tether-lab" "$T_TMP/b/tether"
    refused "$T_TMP/b" 'test-only hooks found' "the tether-lab binary in place of tether is refused"
    # Stripped: no symbol table left, the marker string still gives it away.
    cp "$B/libtether.so" "$B/libtether.a" "$T_TMP/c/"
    if have strip && strip -o "$T_TMP/c/tether" "$B/tether-lab" 2>/dev/null; then
        nm "$T_TMP/c/tether" >/dev/null 2>&1 && t_diag "strip left a symbol table"
        refused "$T_TMP/c" 'marker string' "a stripped tether-lab is still refused (marker string)"
    else
        t_skip "strip not available"
    fi
else
    t_skip "tether-lab not built" 2
fi

# The production command itself, stripped, still passes (the marker is absent, not hidden).
if have strip && strip -o "$T_TMP/tether.stripped" "$TETHER" 2>/dev/null; then
    grep -aq 'TETHER_TEST_HOOKS build' "$T_TMP/tether.stripped"
    t_ok $((1 - $?)) "a stripped production tether carries no marker"
else
    t_skip "strip not available"
fi
t_done
[ "$T_FAILED" -eq 0 ]
