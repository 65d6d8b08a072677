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
