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

PORT_BASE=${TETHER_TDX_E2E_PORT:-$((43000 + $$ % 1000))}
tsm_e2e_init fake_tdx_guest 11

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
    if serve_tsm tdx "$T_TMP/serve.log" "$R" 4; then
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

        serve_done "$SPID" "$R" 4
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
stop_fake

# ---- 9-11 (f): a fake kernel whose quote carries another REPORTDATA ----
tsm_bad_report_data tdx "(f) REPORTDATA differing from inblob: connect fails (no passing verdict)"

t_done
