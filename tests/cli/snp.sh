#!/bin/sh
# snp.sh - `tether verify` on the real AMD SEV-SNP vectors (../shared/vectors/snp, EXPECTED.txt
# "AMD" section): the three Milan v2 reports verify (chain and signature), the AWS v3 VLEK
# report fails today (VLEK expired) and passes at 2025-06-01, the two tampered VCEKs fail on
# the chain. Also: the built-in roots (src/evidence/snp/amd_roots.c) equal a fresh generation
# from roots/amd. TAP; skips cleanly when the vectors are absent.
. "$(dirname "$0")/lib.sh"

t_plan 11

need_tether

sh scripts/gen-amd-roots.sh roots/amd >"$T_TMP/roots.c" 2>"$T_TMP/why"
cmp -s "$T_TMP/roots.c" src/evidence/snp/amd_roots.c
t_ok $? "src/evidence/snp/amd_roots.c equals scripts/gen-amd-roots.sh roots/amd"

S=$VECTORS/snp
if [ ! -f "$S/go-sev-guest/milan_v2_report.bin" ] || [ -z "$PY" ]; then
    t_skip "SNP vectors not found at $S (set TETHER_VECTORS) or python3 missing" 10
    t_done
    exit 0
fi

# vt NAME EXPECT-PYTHON ARGS...: tether verify --json ARGS, then the expression on the JSON.
vt() {
    name=$1
    expr=$2
    shift 2
    "$TETHER" verify --json "$@" >"$T_TMP/out.json" 2>"$T_TMP/err"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T_TMP/err"
    json_check "$T_TMP/out.json" "$expr"
    t_ok $? "$name"
}

fails() { echo "[(c['name'], c['code']) for c in d['checks'] if c['status'] == 'fail']"; }
PASSED="d['verdict'] == 'pass' and d['tee'] == 'snp' and {'evidence.chain', 'evidence.signature', 'evidence.tcb_binding'} <= {c['name'] for c in d['checks'] if c['status'] == 'pass'}"

for src in go-sev-guest virtee-sev trustee; do
    vt "$src milan v2 report: chain, signature, TCB and chip id verify" \
        "$PASSED and any(c['name'] == 'evidence.chip_id' and c['status'] == 'pass' for c in d['checks'])" \
        --evidence "$S/$src/milan_v2_report.bin" --collateral "$S/$src/milan_vcek.der"
done

vt "aws v3 VLEK report fails today: VLEK expired (evidence.chain evidence_cert_expired)" \
    "$(fails) == [('evidence.chain', 'evidence_cert_expired')] and any(c['name'] == 'evidence.signing_key' and c['status'] == 'pass' for c in d['checks'])" \
    --evidence "$S/trustee/aws_milan_v3_vlek_report.bin" --collateral "$S/trustee/aws_vlek.der"

vt "aws v3 VLEK report passes at 2025-06-01 (VLEK <- ASVK <- ARK-Milan)" \
    "$PASSED and d['claims']['snp_signing_key'] == 'VLEK' and d['claims']['snp_vmpl'] == 1" \
    --evidence "$S/trustee/aws_milan_v3_vlek_report.bin" --collateral "$S/trustee/aws_vlek.der" \
    --at 2025-06-01T00:00:00Z

for n in legacy new; do
    vt "tampered VCEK ($n) fails on the chain (evidence_chain_untrusted)" \
        "$(fails) == [('evidence.chain', 'evidence_chain_untrusted')]" \
        --evidence "$S/trustee/milan_v2_report.bin" --collateral "$S/trustee/NEG_vcek-invalid-$n.der"
done

vt "a VCEK of another chip: the best candidate is chosen, the wrong one alone fails" \
    "d['verdict'] == 'fail' and $(fails)[0][0] in ('evidence.signature', 'evidence.tcb_binding', 'evidence.chip_id')" \
    --evidence "$S/trustee/milan_v2_report.bin" --collateral "$S/go-sev-guest/milan_vcek.der"

# Recognition follows the parser (every VERSION from 2 on, 56860 Table 23): the real report
# relabelled VERSION 6 is taken as SNP without --type (not evidence_unrecognised); it then
# fails only on the signature (VERSION is signed).
"$PY" -c "import sys;b=bytearray(open(sys.argv[1],'rb').read());b[0:4]=(6).to_bytes(4,'little');open(sys.argv[2],'wb').write(b)" \
    "$S/trustee/milan_v2_report.bin" "$T_TMP/v6.bin"
vt "a bare v6 report is recognised without --type and parsed as version 6" \
    "d['tee'] == 'snp' and d['claims']['snp_report_version'] == 6 and $(fails) == [('evidence.signature', 'evidence_signature_invalid')]" \
    --evidence "$T_TMP/v6.bin" --collateral "$S/trustee/milan_vcek.der"

vt "plain SNP evidence with a different --binder fails binding (binder_mismatch)" \
    "$(fails) == [('binding.report_data', 'binder_mismatch')]" \
    --evidence "$S/trustee/milan_v2_report.bin" --collateral "$S/trustee/milan_vcek.der" \
    --binder "$(printf '%0128d' 1)"

t_done
