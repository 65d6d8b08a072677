#!/bin/sh
# tpm_e2e.sh - `tether serve --tee tpm:swtpm:...` + `tether connect` end to end with TPM 2.0
# evidence from a real software TPM: a swtpm started by scripts/swtpm.sh on 127.0.0.1 with its
# state in a temporary directory (stopped, by pid, on exit). The attester and the verifier are
# the production code.
#   (a) a first connection under a policy that pins no real AK: rejected (evidence.chain), and
#       its report's claims give the AK's SPKI SHA-256 and PCR 0 (an operator learns them the
#       same way); then a policy pinning that AK and PCR 0: pass, reply hi;
#   (b) another AK pinned: evidence.chain; (c) another PCR 0 expected: the PCR check fails;
#   (d) serve exits after --count, and a second serve on the same TPM has the same AK (the
#       endorsement-hierarchy primary is deterministic), here with ";pcrs=sha256:0,7+sha1:0";
#   (e) a TPM that is not there: serve refuses to start, with the attester's error;
#   (f) relay: a quote captured over one report_data (build/tests/test_tpm_attester --emit, the
#       TEST-ONLY attestation oracle: tether has no way to export a connection's evidence) passes
#       `tether verify --binder` for that report_data and fails binding.report_data for another
#       connection's. (The relay lab, `tether lab`, drives sim TEEs only.)
# Skips when swtpm is not installed (CI installs it: scripts/deps.sh). TAP, loopback only,
# every wait bounded.
. "$(dirname "$0")/lib.sh"

t_plan 12
PORT_BASE=${TETHER_TPM_E2E_PORT:-$((44000 + $$ % 1000))}
TOOLS=${TETHER_TEST_TOOLS:-$(dirname "$TETHER")/tests}
EMIT=$TOOLS/test_tpm_attester

need_tether
if ! have swtpm || [ -z "$PY" ]; then
    t_skip "swtpm not installed (apt-get install swtpm swtpm-tools) or no python3" 12
    t_done
    exit 0
fi

SW=$T_TMP/swtpm
# Stop swtpm before lib.sh removes its directory.
trap 'sh "$T_ROOT/scripts/swtpm.sh" stop "$SW" >/dev/null 2>&1; t_cleanup' EXIT
SWPORT=$(sh "$T_ROOT/scripts/swtpm.sh" start "$SW" 2>"$T_TMP/swtpm.err")
if [ -z "$SWPORT" ]; then
    t_diag_file "$T_TMP/swtpm.err"
    t_ok 1 "scripts/swtpm.sh start"
    t_skip "no swtpm" 11
    t_done
    exit 0
fi
TCTI="swtpm:host=127.0.0.1,port=$SWPORT"
Z64=0000000000000000000000000000000000000000000000000000000000000000
F64=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff

# write_policy FILE AK PCR0 [EXTRA-PCRS-JSON]: accept.tpm pinning AK with sha256 PCR 0.
write_policy() {
    cat >"$1" <<EOF
{
  "tether_policy": 1,
  "accept": {
    "tpm": {
      "ak_keys": ["$2"],
      "pcrs": {"sha256": {"0": "$3"}${4:-}}
    }
  }
}
EOF
}

claim() {
    py -c 'import json, sys
d = json.load(open(sys.argv[1]))
c = (d.get("attestation") or {}).get("claims") or {}
v = eval(sys.argv[2])
print(v if v is not None else "")' "$T_TMP/c.json" "$1" 2>/dev/null
}

# ---- (a)-(d): one serve, four connections ----
write_policy "$T_TMP/policy-unknown-ak.json" "$Z64" "$Z64"
AK=
if start_serve "$T_TMP/serve.log" --tee "tpm:$TCTI" --count 4; then
    SPID=$SERVE_PID
    connect_json "$T_TMP/policy-unknown-ak.json"
    AK=$(claim 'c.get("ak_spki_sha256")')
    PCR0=$(claim 'c["pcrs"]["sha256"]["0"]')
    t_diag "ak=$AK pcr0=$PCR0"
    [ "$rc" -eq 1 ] && json_check "$T_TMP/c.json" '
d["attestation"]["verdict"] == "fail" and d["attestation"]["tee"] == "tpm"
and failed(d)[0][0] == "evidence.chain"
and {"evidence.format", "evidence.ak", "evidence.signature", "evidence.pcrs"} <= {c["name"] for c in d["attestation"]["checks"] if c["status"] == "pass"}' &&
        [ ${#AK} -eq 64 ] && [ ${#PCR0} -eq 64 ]
    t_ok $? "a policy pinning no real AK: exit 1, evidence.chain; the claims give the AK SPKI hash and PCR 0"

    write_policy "$T_TMP/policy.json" "$AK" "$PCR0"
    connect_json "$T_TMP/policy.json"
    [ "$rc" -eq 0 ] && json_check "$T_TMP/c.json" '
d["attestation"]["verdict"] == "pass" and d["attestation"]["tee"] == "tpm"
and {"evidence.signature", "evidence.pcrs", "evidence.chain", "binding.report_data"} <= {c["name"] for c in d["attestation"]["checks"] if c["status"] == "pass"}
and d["attestation"]["claims"]["extra_data"] == d["attestation"]["claims"]["report_data"]
and d["reply"] == "hi" and d["error"] is None'
    t_ok $? "serve --tee tpm:swtpm + connect, the AK and PCR 0 pinned: pass, binding.report_data, reply hi"

    write_policy "$T_TMP/policy-other-ak.json" "$F64" "$PCR0"
    connect_json "$T_TMP/policy-other-ak.json"
    [ "$rc" -eq 1 ] && json_check "$T_TMP/c.json" 'd["attestation"]["verdict"] == "fail" and failed(d)[0][0] == "evidence.chain"'
    t_ok $? "another AK pinned: exit 1, evidence.chain"

    write_policy "$T_TMP/policy-other-pcr0.json" "$AK" "$F64"
    connect_json "$T_TMP/policy-other-pcr0.json"
    [ "$rc" -eq 1 ] && json_check "$T_TMP/c.json" 'd["attestation"]["verdict"] == "fail" and failed(d)[0] == ("policy.tpm.pcr.sha256.0", "tpm_pcr_mismatch")'
    t_ok $? "another PCR 0 expected: exit 1, policy.tpm.pcr.sha256.0 tpm_pcr_mismatch"

    wait_exit "$SPID"
    exited=$?
    t_diag_file "$T_TMP/serve.log"
    t_ok $exited "serve exits after --count 4"
    stop_serve "$SPID"
else
    t_diag_file "$T_TMP/serve.log"
    t_ok 1 "tether serve --tee tpm:$TCTI starts"
    t_skip "serve did not start" 4
fi

# ---- (d): a second serve on the same TPM, another selection: the same AK ----
if [ -n "$AK" ] && start_serve "$T_TMP/serve2.log" --tee "tpm:$TCTI;pcrs=sha256:0,7+sha1:0" --count 1; then
    SPID=$SERVE_PID
    write_policy "$T_TMP/policy-sha1.json" "$AK" "$PCR0" ', "sha1": {"0": "0000000000000000000000000000000000000000"}'
    connect_json "$T_TMP/policy-sha1.json"
    [ "$rc" -eq 0 ] && json_check "$T_TMP/c.json" '
d["attestation"]["verdict"] == "pass" and set(d["attestation"]["claims"]["pcrs"]["sha256"]) == {"0", "7"}
and set(d["attestation"]["claims"]["pcrs"]["sha1"]) == {"0"}'
    t_ok $? "a second serve (;pcrs=sha256:0,7+sha1:0) has the same AK: pass, sha256 0,7 and sha1 0 reported"
    wait_exit "$SPID"
    stop_serve "$SPID"
else
    t_diag_file "$T_TMP/serve2.log"
    t_ok 1 "second serve with ;pcrs=sha256:0,7+sha1:0 starts"
fi

# ---- (e): no TPM at the TCTI address ----
NOPORT=$(py -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
to 15 "$TETHER" serve --listen "127.0.0.1:$((PORT_BASE + 50))" \
    --tee "tpm:swtpm:host=127.0.0.1,port=$NOPORT" --count 1 >"$T_TMP/serve-none.log" 2>&1 </dev/null
rc=$?
t_diag "exit $rc"
t_diag_file "$T_TMP/serve-none.log"
[ "$rc" -ne 0 ] && grep -q "tpm: cannot open TCTI" "$T_TMP/serve-none.log"
t_ok $? "no TPM at the TCTI address: serve refuses to start, the attester says why"

# ---- (f): a captured quote presented for another connection's binder ----
if [ -x "$EMIT" ] && [ -n "$AK" ]; then
    RD=$(py -c 'import os; print(os.urandom(64).hex())')
    OTHER=$(py -c 'import os; print(os.urandom(64).hex())')
    to 20 "$EMIT" --emit "tpm:$TCTI" "$RD" "$T_TMP/quote.ttpm" 2>"$T_TMP/emit.err"
    rc=$?
    t_diag_file "$T_TMP/emit.err"
    [ "$rc" -eq 0 ] && [ -s "$T_TMP/quote.ttpm" ] && head -c 4 "$T_TMP/quote.ttpm" | grep -q TTPM
    t_ok $? "test oracle: a TTPM quote captured over a chosen report_data"

    to 15 "$TETHER" verify --evidence "$T_TMP/quote.ttpm" --binder "$RD" --policy "$T_TMP/policy.json" \
        --json >"$T_TMP/c.json" 2>"$T_TMP/err"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T_TMP/err"
    [ "$rc" -eq 0 ] && json_check "$T_TMP/c.json" '(d.get("attestation") or d)["verdict"] == "pass"'
    t_ok $? "tether verify of the captured quote with its own report_data: pass"

    to 15 "$TETHER" verify --evidence "$T_TMP/quote.ttpm" --binder "$OTHER" --policy "$T_TMP/policy.json" \
        --json >"$T_TMP/c.json" 2>"$T_TMP/err"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T_TMP/err"
    [ "$rc" -ne 0 ] && json_check "$T_TMP/c.json" '(lambda a: a["verdict"] == "fail" and
    ("binding.report_data", "binder_mismatch") in [(c["name"], c["code"]) for c in a["checks"] if c["status"] == "fail"]
)(d.get("attestation") or d)'
    t_ok $? "the same quote presented for another connection's binder: binding.report_data binder_mismatch"
else
    t_skip "$EMIT missing (make test-build) or no AK learned" 3
fi

# ---- swtpm itself ----
sh "$T_ROOT/scripts/swtpm.sh" port "$SW" >/dev/null 2>&1
t_ok $? "swtpm still runs after every serve exited"
SWPID=$(cat "$SW/pid" 2>/dev/null)
sh "$T_ROOT/scripts/swtpm.sh" stop "$SW" >/dev/null 2>&1
[ -n "$SWPID" ] && ! kill -0 "$SWPID" 2>/dev/null && [ ! -f "$SW/pid" ]
t_ok $? "scripts/swtpm.sh stop: the swtpm process is gone"

t_done
