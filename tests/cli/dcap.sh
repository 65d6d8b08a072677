#!/bin/sh
# dcap.sh - `tether verify` on every real Intel TDX and SGX quote of ../shared/vectors with its
# real collateral: signatures, PCK chain to the built-in Intel SGX Root CA, TCB Info and QE
# Identity signatures (time-strict TCB Signing certificate choice), CRLs, the TCB status and
# advisories of EXPECTED.txt, collateral freshness today and inside its window (--at), and the
# accept.tdx / accept.sgx policy sections. Offline; TAP.
. "$(dirname "$0")/lib.sh"

t_plan 31
V=$VECTORS
T=$T_TMP
need_tether

# 1: the built-in root is generated from roots/intel.
sh scripts/gen-intel-roots.sh roots/intel >"$T/roots.c" 2>"$T/why" &&
    cmp -s "$T/roots.c" src/evidence/dcap/intel_roots.c
t_ok $? "src/evidence/dcap/intel_roots.c equals scripts/gen-intel-roots.sh roots/intel"

if [ ! -f "$V/tdx/phala-dcap-qvl/emr_v4_quote.bin" ] || [ -z "$PY" ]; then
    t_skip "vectors not found at $V (set TETHER_VECTORS) or no python3" 30
    t_done
    exit 0
fi
TX=$V/tdx
SG=$V/sgx
NEW_SIGNER=$TX/phala-dcap-qvl/decoded/tdx_quote_tcb_info_issuer_chain.pem

# vfy OUT ARGS...: tether verify --json; sets rc.
vfy() {
    out=$1
    shift
    "$TETHER" verify --json "$@" >"$out" 2>"$T/err"
    rc=$?
    t_diag "exit $rc: tether verify $*"
    t_diag_file "$T/err"
}
check() { json_check "$1" "$2"; }
status_is() { # FILE STATUS [DATE] [ADVISORIES-PY-LIST]
    check "$1" "d[\"verdict\"] == \"pass\" and d[\"claims\"][\"tcb\"][\"status\"] == \"$2\"
and d[\"claims\"][\"tcb\"][\"tcb_date\"] == ${3:-None} and d[\"claims\"][\"tcb\"][\"advisories\"] == ${4:-[]}
and [c[\"status\"] for c in d[\"checks\"] if c[\"name\"] in (\"evidence.chain\", \"evidence.signature\", \"evidence.tcb_info\", \"evidence.qe_identity\", \"evidence.revocation\")] == [\"pass\"] * 5"
}

# ---- 2-9: the five quotes with full collateral (EXPECTED.txt "Intel DCAP full collateral") ----
vfy "$T/spr.json" --evidence "$TX/go-tdx-guest/spr_v4_quote.dat" --collateral "$TX/go-tdx-guest/collateral"
status_is "$T/spr.json" TCBNotSupported
t_ok $? "SPR TDX v4 (go-tdx-guest): authentic, TCB status: no matching TCB level"
check "$T/spr.json" 'd["claims"]["unsigned_trailing_bytes"] == 39 and d["claims"]["pck"]["fmspc"] == "50806f000000"
and d["claims"]["pck"]["pce_svn"] == 11 and "39 non-zero bytes after the quote" in [c for c in d["checks"] if c["name"] == "evidence.format"][0]["detail"]'
t_ok $? "SPR: the 39 unsigned trailing bytes are reported, FMSPC 50806f000000, PCESVN 11"

vfy "$T/emr5.json" --evidence "$TX/go-tdx-guest/emr_v5_quote.dat" --collateral "$TX/go-tdx-guest/collateral" --collateral "$NEW_SIGNER"
status_is "$T/emr5.json" UpToDate '"2024-11-13T00:00:00Z"'
t_ok $? "EMR TDX v5 TD1.5 (go-tdx-guest): UpToDate, TCB date 2024-11-13"
check "$T/emr5.json" 'd["claims"]["body"] == "TD1.5" and d["claims"]["tcb"]["tdx_module"] == "TDX_01" and d["claims"]["quote_version"] == 5'
t_ok $? "EMR v5: TD 1.5 body, TDX module identity TDX_01 checked"

vfy "$T/emr5old.json" --evidence "$TX/go-tdx-guest/emr_v5_quote.dat" --collateral "$TX/go-tdx-guest/collateral"
[ $rc -eq 1 ] && check "$T/emr5old.json" 'any(c["name"] == "evidence.tcb_info" and c["code"] == "dcap_tcb_info_signature_invalid" and "expired" in c["detail"] and "2026-02-01T14:49:26Z" in c["detail"] for c in d["checks"])'
t_ok $? "EMR v5 with only the 2018 TCB Signing copy: refused, it had expired at the TCB Info's issueDate (time-strict)"

vfy "$T/emr4.json" --evidence "$TX/phala-dcap-qvl/emr_v4_quote.bin" --collateral "$TX/phala-dcap-qvl/emr_v4_quote_collateral.json"
status_is "$T/emr4.json" UpToDate '"2024-03-13T00:00:00Z"'
t_ok $? "EMR TDX v4 (Phala bundle JSON): UpToDate, TCB date 2024-03-13"

vfy "$T/emr5o.json" --evidence "$TX/phala-dcap-qvl/emr_v5_quote_outdated.bin" --collateral "$TX/phala-dcap-qvl/emr_v5_quote_outdated_collateral.json"
status_is "$T/emr5o.json" TCBNotSupported
t_ok $? "EMR TDX v5 'outdated' (Phala): no matching TCB level (comp08 SVN 3 < 5)"

vfy "$T/sgx.json" --evidence "$SG/phala-dcap-qvl/sgx_v3_quote.bin" --collateral "$SG/phala-dcap-qvl/sgx_v3_quote_collateral.json"
status_is "$T/sgx.json" ConfigurationAndSWHardeningNeeded '"2024-03-13T00:00:00Z"' '["INTEL-SA-00289", "INTEL-SA-00615"]'
t_ok $? "SGX v3 (Phala): ConfigurationAndSWHardeningNeeded, 2024-03-13, INTEL-SA-00289 and INTEL-SA-00615"

vfy "$T/sgxd.json" --evidence "$SG/phala-dcap-qvl/sgx_v3_quote.bin" --collateral "$SG/phala-dcap-qvl/decoded"
status_is "$T/sgxd.json" ConfigurationAndSWHardeningNeeded '"2024-03-13T00:00:00Z"' '["INTEL-SA-00289", "INTEL-SA-00615"]'
t_ok $? "SGX v3 with the decoded PCS files (folder): the same status as from the bundle"

# ---- 10-11: no collateral at all ------------------------------------------------------------
vfy "$T/icx.json" --evidence "$SG/trustee/icx_v3_occlum_quote.dat"
[ $rc -eq 1 ] && check "$T/icx.json" '[c["status"] for c in d["checks"] if c["name"] in ("evidence.chain", "evidence.signature", "evidence.pck")] == ["pass"] * 3
and [(c["name"], c["code"]) for c in d["checks"] if c["status"] == "fail"] == [("evidence.collateral", "dcap_collateral_missing")]'
t_ok $? "ICX SGX v3 (trustee) without collateral: chain, signatures and PCK pass; fails closed on missing collateral"
check "$T/icx.json" 'any(c["code"] == "dcap_collateral_missing" and "--pcs-cache" in c["detail"] and "00606a000000" in c["actual"] for c in d["checks"])'
t_ok $? "ICX: the failure names the FMSPC (00606a000000) and the way out (--collateral, --pcs-cache)"

# ---- 12-14: freshness: stale today, fresh inside the window ----------------------------------
check "$T/emr4.json" 'd["claims"]["collateral"]["fresh"] is False and "TCB Info" in d["claims"]["collateral"]["stale"]'
t_ok $? "EMR v4 today: collateral reported stale (past nextUpdate), separately from validity (verdict pass)"
vfy "$T/emr4at.json" --evidence "$TX/phala-dcap-qvl/emr_v4_quote.bin" --collateral "$TX/phala-dcap-qvl/emr_v4_quote_collateral.json" --at 2025-06-20T00:00:00Z
check "$T/emr4at.json" 'd["verdict"] == "pass" and d["claims"]["collateral"]["fresh"] is True and d["claims"]["collateral"]["tcb_info"]["next_update"] == "2025-07-19T10:16:03Z"'
t_ok $? "EMR v4 --at 2025-06-20: collateral fresh (TCB Info next update 2025-07-19T10:16:03Z)"
vfy "$T/spr_at.json" --evidence "$TX/go-tdx-guest/spr_v4_quote.dat" --collateral "$TX/go-tdx-guest/collateral" --at 2023-06-20T00:00:00Z
check "$T/spr_at.json" 'd["verdict"] == "pass" and d["claims"]["collateral"]["fresh"] is True and d["claims"]["tcb"]["status"] == "TCBNotSupported"'
t_ok $? "SPR --at 2023-06-20: fresh collateral, still no matching TCB level"

# ---- 15-23: policies --------------------------------------------------------------------------
MRTD4=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["claims"]["mrtd"])' "$T/emr4.json")
MRTDS=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["claims"]["mrtd"])' "$T/spr.json")
printf '{"tether_policy":1,"accept":{"tdx":{"mrtd":["%s","%s"]}},"allow_debug":true,"max_evidence_age_seconds":0}' \
    "$MRTD4" "$MRTDS" >"$T/tdx.json"
vfy "$T/p1.json" --evidence "$TX/phala-dcap-qvl/emr_v4_quote.bin" --collateral "$TX/phala-dcap-qvl/emr_v4_quote_collateral.json" --policy "$T/tdx.json"
[ $rc -eq 1 ] && check "$T/p1.json" '[c["code"] for c in d["checks"] if c["status"] == "fail"] == ["dcap_collateral_stale"]'
t_ok $? "tdx policy today: fails only on stale collateral (policy.collateral_fresh)"
vfy "$T/p2.json" --evidence "$TX/phala-dcap-qvl/emr_v4_quote.bin" --collateral "$TX/phala-dcap-qvl/emr_v4_quote_collateral.json" --policy "$T/tdx.json" --at 2025-06-20T00:00:00Z
[ $rc -eq 0 ] && check "$T/p2.json" 'd["verdict"] == "pass" and any(c["name"] == "policy.tcb_status" and c["status"] == "pass" for c in d["checks"])'
t_ok $? "tdx policy --at inside the window: pass (MRTD listed, UpToDate, fresh)"
vfy "$T/p3.json" --evidence "$TX/go-tdx-guest/spr_v4_quote.dat" --collateral "$TX/go-tdx-guest/collateral" --policy "$T/tdx.json" --at 2023-06-20T00:00:00Z
[ $rc -eq 1 ] && check "$T/p3.json" '[c["code"] for c in d["checks"] if c["status"] == "fail"] == ["dcap_tcb_status_not_allowed"]'
t_ok $? "tdx policy on SPR (no matching level): fails on policy.tcb_status, nothing else"
printf '{"tether_policy":1,"accept":{"tdx":{"mrtd":["%s"],"rtmr0":["%s"]}},"allow_debug":true,"max_evidence_age_seconds":0}' \
    "$MRTD4" "$(printf '%096d' 0)" >"$T/tdx-rtmr.json"
vfy "$T/p4.json" --evidence "$TX/phala-dcap-qvl/emr_v4_quote.bin" --collateral "$TX/phala-dcap-qvl/emr_v4_quote_collateral.json" --policy "$T/tdx-rtmr.json" --at 2025-06-20T00:00:00Z
[ $rc -eq 1 ] && check "$T/p4.json" '[c["code"] for c in d["checks"] if c["status"] == "fail"] == ["tdx_rtmr0_not_allowed"]'
t_ok $? "tdx policy pinning another RTMR0: fails on policy.tdx.rtmr0"
printf '{"tether_policy":1,"accept":{"tdx":{"mrtd":["%s"],"allow_stale_collateral":true}},"allow_debug":true,"max_evidence_age_seconds":0}' \
    "$MRTD4" >"$T/tdx-stale.json"
vfy "$T/p5.json" --evidence "$TX/phala-dcap-qvl/emr_v4_quote.bin" --collateral "$TX/phala-dcap-qvl/emr_v4_quote_collateral.json" --policy "$T/tdx-stale.json"
[ $rc -eq 0 ] && check "$T/p5.json" 'any(c["name"] == "policy.collateral_fresh" and c["status"] == "pass" and c["actual"].startswith("stale") for c in d["checks"])'
t_ok $? "allow_stale_collateral: passes today, and the report still says stale"

MRE=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["claims"]["mrenclave"])' "$T/sgx.json")
MRS=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["claims"]["mrsigner"])' "$T/sgx.json")
SGXC="--collateral $SG/phala-dcap-qvl/sgx_v3_quote_collateral.json --at 2025-06-20T00:00:00Z"
printf '{"tether_policy":1,"accept":{"sgx":{"mrenclave":["%s"]}},"allow_debug":true,"max_evidence_age_seconds":0}' "$MRE" >"$T/sgx1.json"
vfy "$T/s1.json" --evidence "$SG/phala-dcap-qvl/sgx_v3_quote.bin" $SGXC --policy "$T/sgx1.json"
[ $rc -eq 1 ] && check "$T/s1.json" '[c["code"] for c in d["checks"] if c["status"] == "fail"] == ["dcap_tcb_status_not_allowed"]'
t_ok $? "sgx policy (UpToDate only) on a ConfigurationAndSWHardeningNeeded platform: refused"
printf '{"tether_policy":1,"accept":{"sgx":{"mrenclave":["%s"],"tcb_statuses":["UpToDate","ConfigurationAndSWHardeningNeeded"],"allowed_advisories":["INTEL-SA-00289","INTEL-SA-00615"]}},"allow_debug":true,"max_evidence_age_seconds":0}' "$MRE" >"$T/sgx2.json"
vfy "$T/s2.json" --evidence "$SG/phala-dcap-qvl/sgx_v3_quote.bin" $SGXC --policy "$T/sgx2.json"
[ $rc -eq 0 ]
t_ok $? "sgx policy accepting the status and both advisories: pass"
printf '{"tether_policy":1,"accept":{"sgx":{"mrenclave":["%s"],"tcb_statuses":["ConfigurationAndSWHardeningNeeded"],"allowed_advisories":["INTEL-SA-00289"]}},"allow_debug":true,"max_evidence_age_seconds":0}' "$MRE" >"$T/sgx3.json"
vfy "$T/s3.json" --evidence "$SG/phala-dcap-qvl/sgx_v3_quote.bin" $SGXC --policy "$T/sgx3.json"
[ $rc -eq 1 ] && check "$T/s3.json" 'any(c["code"] == "dcap_advisory_not_allowed" and "INTEL-SA-00615" in c["detail"] for c in d["checks"])'
t_ok $? "sgx policy missing one advisory: refused, naming INTEL-SA-00615"
printf '{"tether_policy":1,"accept":{"sgx":{"mrsigner":["%s"],"isv_prod_id":0,"min_isv_svn":0,"tcb_statuses":["ConfigurationAndSWHardeningNeeded"]}},"allow_debug":true,"max_evidence_age_seconds":0}' "$MRS" >"$T/sgx4.json"
vfy "$T/s4.json" --evidence "$SG/phala-dcap-qvl/sgx_v3_quote.bin" $SGXC --policy "$T/sgx4.json"
[ $rc -eq 0 ] && check "$T/s4.json" 'any(c["name"] == "policy.sgx.mrsigner" and c["status"] == "pass" for c in d["checks"])'
t_ok $? "sgx policy by MRSIGNER + ISV product id: pass"

# ---- 24-26: policy errors --------------------------------------------------------------------
printf '{"tether_policy":1,"accept":{"tdx":{"mrtd":["%s"],"tcb_statuses":["TCBNotSupported"]}}}' "$MRTD4" >"$T/bad1.json"
vfy "$T/b1.json" --evidence "$TX/phala-dcap-qvl/emr_v4_quote.bin" --policy "$T/bad1.json"
[ $rc -ne 0 ] && [ $rc -ne 1 ] && grep -q "TCBNotSupported" "$T/err" "$T/b1.json"
t_ok $? "a policy accepting TCBNotSupported is refused as invalid"
printf '{"tether_policy":1,"accept":{"sgx":{"mrsigner":["%s"]}}}' "$MRS" >"$T/bad2.json"
vfy "$T/b2.json" --evidence "$SG/phala-dcap-qvl/sgx_v3_quote.bin" --policy "$T/bad2.json"
[ $rc -ne 0 ] && [ $rc -ne 1 ] && grep -q "isv_prod_id" "$T/err" "$T/b2.json"
t_ok $? "an sgx policy with MRSIGNER but no ISV product id is refused as invalid"
printf '{"tether_policy":1,"accept":{"tdx":{"mrtd":["%s"],"rtmr4":["00"]}}}' "$MRTD4" >"$T/bad3.json"
vfy "$T/b3.json" --evidence "$TX/phala-dcap-qvl/emr_v4_quote.bin" --policy "$T/bad3.json"
[ $rc -ne 0 ] && [ $rc -ne 1 ] && grep -q "rtmr4" "$T/err" "$T/b3.json"
t_ok $? "an unknown accept.tdx key is refused as invalid"

# ---- 27-30: tampering and time ---------------------------------------------------------------
py -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[600] ^= 1; open(sys.argv[2], "wb").write(b)' \
    "$TX/phala-dcap-qvl/emr_v4_quote.bin" "$T/tampered.bin"
vfy "$T/t1.json" --evidence "$T/tampered.bin" --collateral "$TX/phala-dcap-qvl/emr_v4_quote_collateral.json"
[ $rc -eq 1 ] && check "$T/t1.json" 'any(c["name"] == "evidence.signature" and c["status"] == "fail" for c in d["checks"])'
t_ok $? "one flipped bit in the signed report_data: evidence.signature fails"
py -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["tcb_info"] = d["tcb_info"].replace("\"tcbEvaluationDataNumber\":17", "\"tcbEvaluationDataNumber\":18")
assert "Number\":18" in d["tcb_info"]
json.dump(d, open(sys.argv[2], "w"))' "$TX/phala-dcap-qvl/emr_v4_quote_collateral.json" "$T/coll-tampered.json" 2>>"$T/why"
vfy "$T/t2.json" --evidence "$TX/phala-dcap-qvl/emr_v4_quote.bin" --collateral "$T/coll-tampered.json"
[ $rc -eq 1 ] && check "$T/t2.json" 'any(c["code"] == "dcap_tcb_info_signature_invalid" for c in d["checks"])'
t_ok $? "a TCB Info with one changed digit: its signature fails"
vfy "$T/t3.json" --evidence "$TX/phala-dcap-qvl/emr_v4_quote.bin" --collateral "$SG/phala-dcap-qvl/sgx_v3_quote_collateral.json"
[ $rc -eq 1 ] && check "$T/t3.json" 'any(c["code"] == "dcap_collateral_missing" and "TDX TCB Info for FMSPC b0c06f000000" in c["actual"] for c in d["checks"])'
t_ok $? "SGX collateral for a TDX quote: no applicable TCB Info (collateral missing)"
vfy "$T/t4.json" --evidence "$TX/phala-dcap-qvl/emr_v4_quote.bin" --collateral "$TX/phala-dcap-qvl/emr_v4_quote_collateral.json" --at 2024-01-01T00:00:00Z
[ $rc -eq 1 ] && check "$T/t4.json" 'any(c["name"] == "evidence.chain" and c["code"] == "dcap_cert_not_yet_valid" for c in d["checks"])'
t_ok $? "--at before the PCK certificate's notBefore: evidence.chain fails (not yet valid)"

t_done
