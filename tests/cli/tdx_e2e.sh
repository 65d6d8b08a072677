#!/bin/sh
# tdx_e2e.sh - Intel TDX end to end without TDX hardware: build/tests/fake_tdx_guest plays the
# configfs-tsm "kernel" (and the quoting enclave and Intel PCS) on a temporary directory; it
# signs v4 quotes with a TEST PCK hierarchy it generates ("Test SGX Root CA", not Intel's) and
# writes matching signed collateral and policies into its state directory;
# build/tests/fake_tsm_preload.so (LD_PRELOAD into serve only) gives that directory configfs's
# mkdir/rmdir semantics (see tests/tools/). The attester and the verifier are the production
# code.
#   (a) `tether verify` of a quote the fake produced (captured by the shell playing a tiny
#       configfs-tsm client): pass, TCB status UpToDate, binding to the requested report_data;
#   (b) serve --tee tdx:ROOT + connect --policy policy.json: pass;
#   (c) another MRTD: policy.measurement; (d) the built-in Intel root only: evidence.chain;
#   (e) collateral whose PCK CRL lists the PCK leaf (policy-revoked.json): evidence.revocation;
#   (f) a fake kernel whose REPORTDATA differs from inblob: the attester refuses.
# The test tools are looked up next to $TETHER (TETHER_BIN=/tmp/b/tether -> /tmp/b/tests/), or
# in $TETHER_TEST_TOOLS. TAP, loopback only, every wait bounded.
. "$(dirname "$0")/lib.sh"

t_plan 11
PORT_BASE=${TETHER_TDX_E2E_PORT:-$((43000 + $$ % 1000))}
TOOLS=${TETHER_TEST_TOOLS:-$(dirname "$TETHER")/tests}
FAKE=$TOOLS/fake_tdx_guest
SHIM=$TOOLS/fake_tsm_preload.so

if [ ! -x "$TETHER" ]; then
    echo "Bail out! tether binary not found at $TETHER (run make)"
    exit 1
fi
if [ ! -x "$FAKE" ] || [ ! -f "$SHIM" ] || [ -z "$PY" ]; then
    t_skip "$FAKE or fake_tsm_preload.so missing (make test-build) or no python3" 11
    t_done
    exit 0
fi

S=$T_TMP/state
mkdir -p "$S"

# start_fake ROOT COUNT [ARGS]: start the fake kernel on ROOT, wait (5 s) for it to be ready.
start_fake() {
    froot=$1
    fcount=$2
    shift 2
    rm -rf "$froot" "$S/ready"
    mkdir -p "$froot"
    "$FAKE" --root "$froot" --state "$S" --count "$fcount" --timeout 30 "$@" \
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

# helper_quote ROOT OUT: the configfs-tsm sequence by hand (tether has no "produce evidence"
# command): an entry, 64 random bytes into inblob ($T_TMP/rd.bin), the quote from outblob.
helper_quote() {
    hd=$1/helper-$$
    mkdir "$hd" || return 1
    w=0
    while [ "$w" -lt 50 ] && [ ! -f "$hd/provider" ]; do
        sleep 0.1
        w=$((w + 1))
    done
    hrc=1
    if [ -f "$hd/provider" ] && [ "$(cat "$hd/provider")" = tdx_guest ]; then
        head -c 64 /dev/urandom >"$T_TMP/rd.bin"
        cat "$T_TMP/rd.bin" >"$hd/inblob"
        to 10 cat "$hd/outblob" >"$2" && hrc=0
    fi
    rm -f "$hd/provider" "$hd/generation" "$hd/inblob" "$hd/outblob"
    rmdir "$hd"
    return $hrc
}

# serve_tdx LOG ROOT COUNT: tether serve attesting through the fake root.
serve_tdx() {
    TETHER_FAKE_TSM_ROOT=$2 LD_PRELOAD=$SHIM start_serve "$1" --tee "tdx:$2" --count "$3"
}

# connect_json POLICY: connect --json --send hi, exit status in $rc.
connect_json() {
    to 15 "$TETHER" connect "127.0.0.1:$SERVE_PORT" --policy "$1" --json --send hi \
        >"$T_TMP/c.json" 2>"$T_TMP/err"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T_TMP/err"
}

R=$T_TMP/tsm
if start_fake "$R" 5; then
    # ---- 1-2 (a): a quote produced by the fake, verified offline ----
    helper_quote "$R" "$T_TMP/q.bin"
    hrc=$?
    t_diag_file "$T_TMP/fake.log"
    [ "$hrc" -eq 0 ] && cmp -s "$T_TMP/q.bin" "$S/last-quote.bin" && py -c '
import sys
q = open(sys.argv[1], "rb").read(); rd = open(sys.argv[2], "rb").read()
sys.exit(0 if len(q) > 632 and q[0:2] == b"\x04\x00" and q[568:632] == rd else 1)
' "$T_TMP/q.bin" "$T_TMP/rd.bin"
    t_ok $? "the fake answers a hand-made configfs-tsm request with a v4 quote over inblob (also in last-quote.bin)"

    RD_HEX=$(od -An -tx1 -v "$T_TMP/rd.bin" | tr -d ' \n')
    to 15 "$TETHER" verify --evidence "$S/last-quote.bin" --policy "$S/policy.json" \
        --binder "$RD_HEX" --json >"$T_TMP/v.json" 2>"$T_TMP/err"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T_TMP/err"
    [ "$rc" -eq 0 ] && json_check "$T_TMP/v.json" '
d["verdict"] == "pass" and d["tee"] == "tdx"
and {"evidence.chain", "evidence.signature", "binding.report_data"} <= {c["name"] for c in d["checks"] if c["status"] == "pass"}
and d["claims"]["tcb"]["status"] == "UpToDate"'
    t_ok $? "(a) tether verify of the quote with policy.json and --binder: exit 0, verdict pass, TCB UpToDate"

    # ---- 3-8 (b)-(e): serve --tee tdx + connect, four connections ----
    if serve_tdx "$T_TMP/serve.log" "$R" 4; then
        SPID=$SERVE_PID
        connect_json "$S/policy.json"
        [ "$rc" -eq 0 ] && json_check "$T_TMP/c.json" '
d["attestation"]["verdict"] == "pass" and d["attestation"]["tee"] == "tdx"
and {"binding.report_data", "evidence.chain", "evidence.signature", "evidence.revocation",
     "evidence.tcb_status", "policy.measurement"} <= {c["name"] for c in d["attestation"]["checks"] if c["status"] == "pass"}
and d["reply"] == "hi" and d["error"] is None'
        t_ok $? "(b) serve --tee tdx + connect: verdict pass, tee tdx, binding.report_data and evidence.chain pass, reply hi"

        connect_json "$S/policy-other-mrtd.json"
        [ "$rc" -eq 1 ] && json_check "$T_TMP/c.json" 'd["attestation"]["verdict"] == "fail" and failed(d)[0] == ("policy.measurement", "measurement_not_allowed")'
        t_ok $? "(c) a policy with another MRTD: exit 1, policy.measurement measurement_not_allowed"

        connect_json "$S/policy-builtin-roots.json"
        [ "$rc" -eq 1 ] && json_check "$T_TMP/c.json" 'd["attestation"]["verdict"] == "fail" and failed(d)[0][0] == "evidence.chain"'
        t_ok $? "(d) a policy without the test root (built-in Intel root only): exit 1, evidence.chain"

        connect_json "$S/policy-revoked.json"
        [ "$rc" -eq 1 ] && json_check "$T_TMP/c.json" '
d["attestation"]["verdict"] == "fail"
and failed(d)[0][0] == "evidence.revocation" and "revoked" in failed(d)[0][1]'
        t_ok $? "(e) collateral whose PCK CRL lists the PCK leaf: exit 1, evidence.revocation (revoked)"

        w=0
        while [ "$w" -lt 50 ] && kill -0 "$SPID" 2>/dev/null; do
            sleep 0.1
            w=$((w + 1))
        done
        ! kill -0 "$SPID" 2>/dev/null
        t_diag_file "$T_TMP/serve.log"
        t_ok $? "serve exits after --count 4"
        stop_serve "$SPID"
        left=$(find "$R" -mindepth 1 | wc -l)
        t_diag "left under the root: $(find "$R" -mindepth 1)"
        [ "$left" -eq 0 ]
        t_ok $? "no configfs entry is left behind (the attester removed each one)"
    else
        t_diag_file "$T_TMP/fake.log"
        t_diag_file "$T_TMP/serve.log"
        t_ok 1 "tether serve --tee tdx starts"
        t_skip "serve did not start" 5
    fi
else
    t_diag_file "$T_TMP/fake.log"
    t_ok 1 "the fake TDX kernel starts"
    t_skip "the fake did not start" 7
fi
[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null

# ---- 9-11 (f): a fake kernel whose quote carries another REPORTDATA ----
R2=$T_TMP/tsm-bad
if start_fake "$R2" 1 --bad-report-data && serve_tdx "$T_TMP/serve-bad.log" "$R2" 1; then
    SPID=$SERVE_PID
    connect_json "$S/policy.json"
    [ "$rc" -ne 0 ] && ! json_check "$T_TMP/c.json" 'd["attestation"]["verdict"] == "pass"' 2>/dev/null
    t_ok $? "(f) REPORTDATA differing from inblob: connect fails (no passing verdict)"
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
[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null

t_done
