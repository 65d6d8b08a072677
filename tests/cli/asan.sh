#!/bin/sh
# asan.sh - the CLI scripts again, against the ASan+UBSan build of the tether command
# (build-asan/tether, made by `make test`): a leak, an out-of-bounds access or undefined
# behaviour on any CLI path (argument parsing, JSON output, file loading, serve and connect)
# makes the script's tests fail. One TAP line per script; the failing lines are shown.
# Scripts that LD_PRELOAD a shim into tether (snp_e2e, tdx_e2e) cannot run under ASan, whose
# runtime must come first, and are left to the normal build.
. "$(dirname "$0")/lib.sh"

SCRIPTS="cli dcap snp snp_kds tpm_gce legacy interop"
set -- $SCRIPTS
t_plan $#
ASAN_TETHER=${TETHER_ASAN_BIN:-$T_ROOT/build-asan/tether}
if [ ! -x "$ASAN_TETHER" ]; then
    t_skip "no ASan build at $ASAN_TETHER (make BUILD=build-asan SAN=1 CC=clang all)" $#
    t_done
    exit 0
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for s in "$@"; do
    out=$T_TMP/$s.tap
    TETHER_BIN=$ASAN_TETHER sh "$T_ROOT/tests/cli/$s.sh" >"$out" 2>"$T_TMP/$s.err"
    rc=$?
    planned=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
    ran=$(grep -c '^ok \|^not ok ' "$out")
    bad=$(grep '^not ok ' "$out" | grep -vc '# TODO')
    if [ "$rc" -ne 0 ] || [ "$bad" -ne 0 ] || [ -z "$planned" ] || [ "$ran" -ne "$planned" ]; then
        t_diag "$s.sh under ASan: exit $rc, $ran of ${planned:-?} run, $bad failed"
        grep '^not ok ' "$out" | head -n 10 >>"$T_TMP/why"
        grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$T_TMP/$s.err" | head -n 5 >>"$T_TMP/why"
        t_ok 1 "$s.sh passes against the ASan+UBSan tether"
    else
        t_ok 0 "$s.sh passes against the ASan+UBSan tether ($ran tests)"
    fi
done
t_done
[ "$T_FAILED" -eq 0 ]
