#!/bin/sh
# snp_e2e.sh - `tether serve --tee snp:ROOT` + `tether connect` end to end with SEV-SNP
# evidence, without SNP hardware: build/tests/fake_sev_guest plays the configfs-tsm "kernel"
# on a temporary directory and signs reports with a test ARK/ASK/VCEK hierarchy it generates;
# build/tests/fake_tsm_preload.so (LD_PRELOAD into serve only) gives that directory configfs's
# mkdir/rmdir semantics (see tests/tools/). The attester and the verifier are the production
# code. Pass; another measurement (policy.measurement); the built-in AMD roots only
# (evidence.chain); a fake kernel whose REPORT_DATA differs from inblob (the attester refuses).
# TAP, loopback only, every wait bounded.
. "$(dirname "$0")/lib.sh"

t_plan 9
PORT_BASE=${TETHER_SNP_E2E_PORT:-$((42000 + $$ % 1000))}
FAKE=$T_ROOT/build/tests/fake_sev_guest
SHIM=$T_ROOT/build/tests/fake_tsm_preload.so

if [ ! -x "$TETHER" ]; then
    echo "Bail out! tether binary not found at $TETHER (run make)"
    exit 1
fi
if [ ! -x "$FAKE" ] || [ ! -f "$SHIM" ] || [ -z "$PY" ]; then
    t_skip "build/tests/fake_sev_guest or fake_tsm_preload.so missing (make test-build) or no python3" 9
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
    "$FAKE" --root "$froot" --state "$S" --count "$fcount" --timeout 20 "$@" \
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

# serve_snp LOG ROOT COUNT: tether serve attesting through the fake root.
serve_snp() {
    TETHER_FAKE_TSM_ROOT=$2 LD_PRELOAD=$SHIM start_serve "$1" --tee "snp:$2" --count "$3"
}

# connect_json POLICY: connect --json --send hi, exit status in $rc.
connect_json() {
    to 15 "$TETHER" connect "127.0.0.1:$SERVE_PORT" --policy "$1" --json --send hi \
        >"$T_TMP/c.json" 2>"$T_TMP/err"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T_TMP/err"
}

# ---- 1-6: the good fake kernel, three connections ----
R=$T_TMP/tsm
if start_fake "$R" 3 && serve_snp "$T_TMP/serve.log" "$R" 3; then
    SPID=$SERVE_PID
    connect_json "$S/policy.json"
    [ "$rc" -eq 0 ] && json_check "$T_TMP/c.json" '
d["attestation"]["verdict"] == "pass" and d["attestation"]["tee"] == "snp"
and {"binding.report_data", "evidence.chain", "evidence.signature", "evidence.tcb_binding",
     "evidence.chip_id", "policy.measurement"} <= {c["name"] for c in d["attestation"]["checks"] if c["status"] == "pass"}
and d["reply"] == "hi" and d["error"] is None'
    t_ok $? "serve --tee snp + connect: verdict pass, tee snp, binding.report_data and evidence.chain pass, reply hi"
    json_check "$T_TMP/c.json" 'd["attestation"]["claims"]["snp_vmpl"] == 0' 2>/dev/null
    t_ok $? "  ... the claims carry the VMPL written to privlevel (0)"

    connect_json "$S/policy-other-measurement.json"
    [ "$rc" -eq 1 ] && json_check "$T_TMP/c.json" 'd["attestation"]["verdict"] == "fail" and failed(d)[0] == ("policy.measurement", "measurement_not_allowed")'
    t_ok $? "a policy with another measurement: exit 1, policy.measurement measurement_not_allowed"

    connect_json "$S/policy-builtin-roots.json"
    [ "$rc" -eq 1 ] && json_check "$T_TMP/c.json" 'd["attestation"]["verdict"] == "fail" and failed(d)[0][0] == "evidence.chain"'
    t_ok $? "a policy without the test ARK (built-in AMD roots only): exit 1, evidence.chain"

    w=0
    while [ "$w" -lt 50 ] && kill -0 "$SPID" 2>/dev/null; do
        sleep 0.1
        w=$((w + 1))
    done
    ! kill -0 "$SPID" 2>/dev/null
    t_diag_file "$T_TMP/serve.log"
    t_ok $? "serve exits after --count 3"
    stop_serve "$SPID"
    left=$(find "$R" -mindepth 1 | wc -l)
    t_diag "left under the root: $(find "$R" -mindepth 1)"
    [ "$left" -eq 0 ]
    t_ok $? "no configfs entry is left behind (the attester removed each one)"
else
    t_diag_file "$T_TMP/fake.log"
    t_diag_file "$T_TMP/serve.log"
    t_ok 1 "fake kernel and tether serve --tee snp start"
    t_skip "serve did not start" 5
fi
[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null

# ---- 7-9: a fake kernel whose report carries another REPORT_DATA ----
R2=$T_TMP/tsm-bad
if start_fake "$R2" 1 --bad-report-data && serve_snp "$T_TMP/serve-bad.log" "$R2" 1; then
    SPID=$SERVE_PID
    connect_json "$S/policy.json"
    [ "$rc" -ne 0 ] && ! json_check "$T_TMP/c.json" 'd["attestation"]["verdict"] == "pass"' 2>/dev/null
    t_ok $? "REPORT_DATA differing from inblob: connect fails (no passing verdict)"
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
