#!/bin/sh
# lib.sh - shared helpers for the tests/cli/*.sh TAP scripts, sourced by them. The test runner
# executes every tests/cli/*.sh, this file included: run on its own it reports a skip.
case $0 in
*/lib.sh | lib.sh)
    echo "1..0 # SKIP shared helpers, sourced by the other tests/cli scripts"
    exit 0
    ;;
esac
#
# The caller sets PORT_BASE before using start_serve, and calls t_plan N first and t_done
# last. Everything lives under $T_TMP, which the EXIT trap removes together with every server
# started through start_serve (killed by pid, never by name).

# Repository root: the scripts live in tests/cli.
T_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$T_ROOT" || exit 1
TETHER=${TETHER_BIN:-build/tether}
case $TETHER in /*) ;; *) TETHER=$T_ROOT/$TETHER ;; esac
VECTORS=${TETHER_VECTORS:-$T_ROOT/../shared/vectors}

T_N=0
T_FAILED=0
T_PIDS=
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tether-cli.XXXXXX") || exit 1

t_cleanup() {
    for p in $T_PIDS; do
        kill "$p" 2>/dev/null
    done
    for p in $T_PIDS; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$T_TMP"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

t_plan() { echo "1..$1"; T_PLANNED=$1; }

# t_ok STATUS NAME: STATUS 0 passes. On failure the file $T_TMP/why (if any) is shown as
# diagnostics.
t_ok() {
    T_N=$((T_N + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $T_N - $2"
    else
        echo "not ok $T_N - $2"
        T_FAILED=$((T_FAILED + 1))
        if [ -s "$T_TMP/why" ]; then
            # Also on stderr: prove shows stderr without -v, so a CI log says why.
            sed -e 's/^/# /' "$T_TMP/why" | head -n 40 | tee /dev/stderr
        fi
    fi
    : >"$T_TMP/why"
}

# t_skip REASON [COUNT]
t_skip() {
    i=0
    while [ "$i" -lt "${2:-1}" ]; do
        T_N=$((T_N + 1))
        echo "ok $T_N # skip $1"
        i=$((i + 1))
    done
}

# t_todo STATUS NAME REASON: a known product bug, reported without failing the run.
t_todo() {
    T_N=$((T_N + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $T_N - $2 # TODO $3"
    else
        echo "not ok $T_N - $2 # TODO $3"
    fi
    : >"$T_TMP/why"
}

t_diag() { echo "$*" >>"$T_TMP/why"; }
t_diag_file() { [ -f "$1" ] && sed -e "s|^|$(basename "$1"): |" "$1" | head -n 30 >>"$T_TMP/why"; }

t_done() {
    if [ "${T_PLANNED:-0}" -ne "$T_N" ]; then
        echo "# planned $T_PLANNED tests but ran $T_N"
    fi
}

have() { command -v "$1" >/dev/null 2>&1; }

# need_tether: stop the script (TAP "Bail out!") when the tether command is not built.
need_tether() {
    if [ ! -x "$TETHER" ]; then
        echo "Bail out! tether binary not found at $TETHER (run make)"
        exit 1
    fi
}

# python3, resolved once to the real interpreter (version-manager shims cost a second per
# call) and run isolated (-I: no user site, no PYTHON* variables).
PY=
if have python3; then
    PY=$(python3 -I -c 'import sys; print(sys.executable)' 2>/dev/null)
fi
py() { "$PY" -I "$@"; }

# to SECONDS CMD...: run with a deadline (coreutils timeout when present).
to() {
    secs=$1
    shift
    if have timeout; then
        timeout -k 2 "$secs" "$@"
    else
        "$@"
    fi
}

# start_serve LOG ARGS...: start `tether serve --listen 127.0.0.1:PORT ARGS...` on a free port
# near PORT_BASE; sets SERVE_PORT and SERVE_PID. Returns 1 if no server came up.
start_serve() {
    log=$1
    shift
    tries=0
    while [ "$tries" -lt 8 ]; do
        SERVE_PORT=$((PORT_BASE + T_PORT_NEXT))
        T_PORT_NEXT=$((T_PORT_NEXT + 1))
        "$TETHER" serve --listen "127.0.0.1:$SERVE_PORT" "$@" >"$log" 2>&1 </dev/null &
        SERVE_PID=$!
        T_PIDS="$T_PIDS $SERVE_PID"
        # Up to 5 s for "listening on", or the server's exit (port taken: try the next).
        w=0
        while [ "$w" -lt 50 ]; do
            if grep -q "listening on" "$log" 2>/dev/null; then
                return 0
            fi
            if ! kill -0 "$SERVE_PID" 2>/dev/null; then
                break
            fi
            sleep 0.1
            w=$((w + 1))
        done
        kill "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
        if ! grep -q "cannot listen" "$log" 2>/dev/null; then
            return 1
        fi
        tries=$((tries + 1))
    done
    return 1
}
T_PORT_NEXT=0

# stop_serve PID: stop one server started by start_serve and reap it.
stop_serve() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# json_check FILE PYTHON-EXPR: true when the expression holds for d = the JSON in FILE.
json_check() {
    py -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    sys.stderr.write("not JSON: %s\n" % e); sys.exit(1)
def failed(d):
    a = d.get("attestation") or {}
    return [(c["name"], c["code"]) for c in a.get("checks", []) if c.get("status") == "fail"]
def names(d):
    a = d.get("attestation") or d
    return [c["name"] for c in a.get("checks", [])]
ok = eval("(" + sys.argv[2] + "\n)")
if not ok:
    sys.stderr.write("failed: %s\n" % sys.argv[2])
sys.exit(0 if ok else 1)
' "$1" "$2" 2>>"$T_TMP/why"
}

# ---- the configfs-tsm end-to-end scripts (tdx_e2e.sh, snp_e2e.sh) ----
# tsm_e2e_init TOOL PLAN: t_plan PLAN, then the fake kernel TOOL ($FAKE) and
# fake_tsm_preload.so ($SHIM), looked up next to $TETHER (TETHER_BIN=/tmp/b/tether ->
# /tmp/b/tests/) or in $TETHER_TEST_TOOLS; bails out without tether, skips the whole plan
# (and exits) without the tools or python3. Makes the fake's state directory $S.
tsm_e2e_init() {
    t_plan "$2"
    TOOLS=${TETHER_TEST_TOOLS:-$(dirname "$TETHER")/tests}
    FAKE=$TOOLS/$1
    SHIM=$TOOLS/fake_tsm_preload.so
    need_tether
    if [ ! -x "$FAKE" ] || [ ! -f "$SHIM" ] || [ -z "$PY" ]; then
        t_skip "$FAKE or fake_tsm_preload.so missing (make test-build) or no python3" "$2"
        t_done
        exit 0
    fi
    S=$T_TMP/state
    mkdir -p "$S"
}

# start_fake ROOT COUNT [ARGS]: start $FAKE on ROOT (--timeout $FAKE_TIMEOUT, default 30),
# wait (5 s) for it to be ready. Sets FAKE_PID; its output goes to $T_TMP/fake.log.
start_fake() {
    froot=$1
    fcount=$2
    shift 2
    rm -rf "$froot" "$S/ready"
    mkdir -p "$froot"
    "$FAKE" --root "$froot" --state "$S" --count "$fcount" --timeout "${FAKE_TIMEOUT:-30}" "$@" \
        >>"$T_TMP/fake.log" 2>&1 </dev/null &
    FAKE_PID=$!
    T_PIDS="$T_PIDS $FAKE_PID"
    w=0
    while [ "$w" -lt 100 ]; do
        [ -f "$S/ready" ] && return 0
        kill -0 "$FAKE_PID" 2>/dev/null || return 1
        sleep 0.1
        w=$((w + 1))
    done
    return 1
}

# stop_fake: stop the fake started last (if any) and reap it.
stop_fake() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
    return 0
}

# serve_tsm TEE LOG ROOT COUNT: tether serve --tee TEE:ROOT attesting through the fake root
# (fake_tsm_preload.so in serve only).
serve_tsm() {
    TETHER_FAKE_TSM_ROOT=$3 LD_PRELOAD=$SHIM start_serve "$2" --tee "$1:$3" --count "$4"
}

# connect_json POLICY: connect --json --send hi to the server start_serve started, exit
# status in $rc, the JSON in $T_TMP/c.json.
connect_json() {
    to 15 "$TETHER" connect "127.0.0.1:$SERVE_PORT" --policy "$1" --json --send hi \
        >"$T_TMP/c.json" 2>"$T_TMP/err"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T_TMP/err"
}

# wait_exit PID: up to 5 s for a server to exit on its own; 0 if it did.
wait_exit() {
    w=0
    while [ "$w" -lt 50 ] && kill -0 "$1" 2>/dev/null; do
        sleep 0.1
        w=$((w + 1))
    done
    ! kill -0 "$1" 2>/dev/null
}

# serve_done SPID ROOT COUNT: two tests: serve exits by itself after --count COUNT (5 s), and
# stopped, it leaves no configfs entry under ROOT.
serve_done() {
    wait_exit "$1"
    exited=$?
    t_diag_file "$T_TMP/serve.log"
    t_ok $exited "serve exits after --count $3"
    stop_serve "$1"
    left=$(find "$2" -mindepth 1 | wc -l)
    t_diag "left under the root: $(find "$2" -mindepth 1)"
    [ "$left" -eq 0 ]
    t_ok $? "no configfs entry is left behind (the attester removed each one)"
}

# tsm_bad_report_data TEE NAME: three tests with a fake kernel whose report carries another
# REPORT_DATA than inblob: connect fails (test NAME), serve logs the attester's refusal, and
# the refused entry is removed too.
tsm_bad_report_data() {
    R2=$T_TMP/tsm-bad
    if start_fake "$R2" 1 --bad-report-data && serve_tsm "$1" "$T_TMP/serve-bad.log" "$R2" 1; then
        SPID=$SERVE_PID
        connect_json "$S/policy.json"
        [ "$rc" -ne 0 ] && ! json_check "$T_TMP/c.json" 'd["attestation"]["verdict"] == "pass"' 2>/dev/null
        t_ok $? "$2"
        w=0
        while [ "$w" -lt 30 ] && ! grep -q "another REPORT_DATA" "$T_TMP/serve-bad.log"; do
            sleep 0.1
            w=$((w + 1))
        done
        t_diag_file "$T_TMP/serve-bad.log"
        grep -q "another REPORT_DATA" "$T_TMP/serve-bad.log"
        t_ok $? "  ... and serve logs the attester's refusal (another REPORT_DATA)"
        stop_serve "$SPID"
        left=$(find "$R2" -mindepth 1 | wc -l)
        [ "$left" -eq 0 ]
        t_ok $? "  ... and the refused entry is removed too"
    else
        t_diag_file "$T_TMP/fake.log"
        t_ok 1 "fake kernel (--bad-report-data) and serve start"
        t_skip "serve did not start" 2
    fi
    stop_fake
}
