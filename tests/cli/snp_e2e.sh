#!/bin/sh
# snp_e2e.sh - `tether serve --tee snp:ROOT` + `tether connect` end to end with SEV-SNP
# evidence, without SNP hardware: build/tests/fake_sev_guest plays the configfs-tsm "kernel"
# on a temporary directory and signs reports with a test ARK/ASK/VCEK hierarchy it generates;
# build/tests/fake_tsm_preload.so (LD_PRELOAD into serve only) gives that directory configfs's
# mkdir/rmdir semantics (see tests/tools/). The attester and the verifier are the production
# code. Pass; another measurement (policy.measurement); the built-in AMD roots only
# (evidence.chain); a fake kernel whose REPORT_DATA differs from inblob (the attester refuses).
# The test tools are looked up next to $TETHER (TETHER_BIN=/tmp/b/tether -> /tmp/b/tests/), or
# in $TETHER_TEST_TOOLS. TAP, loopback only, every wait bounded.
. "$(dirname "$0")/lib.sh"

PORT_BASE=${TETHER_SNP_E2E_PORT:-$((42000 + $$ % 1000))}
FAKE_TIMEOUT=20
tsm_e2e_init fake_sev_guest 9

# ---- 1-6: the good fake kernel, three connections ----
R=$T_TMP/tsm
if start_fake "$R" 3 && serve_tsm snp "$T_TMP/serve.log" "$R" 3; then
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

    serve_done "$SPID" "$R" 3
else
    t_diag_file "$T_TMP/fake.log"
    t_diag_file "$T_TMP/serve.log"
    t_ok 1 "fake kernel and tether serve --tee snp start"
    t_skip "serve did not start" 5
fi
stop_fake

# ---- 7-9: a fake kernel whose report carries another REPORT_DATA ----
tsm_bad_report_data snp "REPORT_DATA differing from inblob: connect fails (no passing verdict)"

t_done
