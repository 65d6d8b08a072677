#!/bin/sh
# tpm_gce.sh - `tether verify` on the real Google Cloud (GCE Shielded VM) vTPM attestations of
# ../shared/vectors/tpm/go-tpm-tools (go-tpm-tools attest.Attestation protobufs, EXPECTED.txt
# "GCE vTPM"): recognised by content as "tpm", every quote signed by the AK, PCR digests, the
# AK certificate -> tpm_ek_intermediate_2 -> tpm_ek_root_1 with the built-in Google roots or a
# policy anchor, the nonce, accept.tpm.pcrs, tampering, and the time check. Offline; TAP.
. "$(dirname "$0")/lib.sh"

t_plan 11
V=$VECTORS/tpm/go-tpm-tools
T=$T_TMP
need_tether

# 1: the built-in roots are generated from roots/google.
sh scripts/gen-google-roots.sh roots/google >"$T/roots.c" 2>"$T/why" &&
    cmp -s "$T/roots.c" src/evidence/tpm/google_roots.c
t_ok $? "src/evidence/tpm/google_roots.c equals scripts/gen-google-roots.sh roots/google"

if [ ! -f "$V/gce-cos-85-no-nonce.pb" ] || [ ! -f "$V/gce-cos-85-nonce9009.pb" ] || [ -z "$PY" ]; then
    t_skip "GCE vectors not found at $V (set TETHER_VECTORS) or no python3" 10
    t_done
    exit 0
fi
NO_NONCE=$V/gce-cos-85-no-nonce.pb
NONCE=$V/gce-cos-85-nonce9009.pb
# The vector's SHA-256 PCR 0 (GCE virtual firmware).
PCR0=0f35c214608d93c7a6e68ae7359b4a8be5a0e99eea9107ece427c4dea4e439cf

# vfy OUT ARGS...: tether verify --json; sets rc.
vfy() {
    out=$1
    shift
    "$TETHER" verify --json "$@" >"$out" 2>"$T/err"
    rc=$?
    t_diag "exit $rc: tether verify $*"
    t_diag_file "$T/err"
    py -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("verdict %s; failed: %s" % (d.get("verdict"), [(c["name"], c["code"], c["detail"])
      for c in d.get("checks", []) if c["status"] == "fail"]))' "$out" >>"$T/why" 2>&1
}
check() { json_check "$1" "$2"; }
FAILED='[(c["name"], c["code"]) for c in d["checks"] if c["status"] == "fail"]'
status_of() { echo "[c[\"status\"] for c in d[\"checks\"] if c[\"name\"] == \"$1\"] == [\"$2\"]"; }

# 2-3: the built-in Google roots, no policy.
vfy "$T/nn.json" --evidence "$NO_NONCE"
[ $rc -eq 0 ] && check "$T/nn.json" 'd["verdict"] == "pass" and d["tee"] == "tpm"
and d["claims"]["format"] == "gce-attestation" and d["claims"]["ak_certified"] is True
and [q["bank"] for q in d["claims"]["quotes"]] == ["sha1", "sha256", "sha384"]
and d["claims"]["nonce"] == "" and "report_data" not in d["claims"]
and "tpm_ek_v1_cloud_host_root-signer" in d["claims"]["ak_cert_root"]
and d["claims"]["platform_id"] == d["claims"]["ak_spki_sha256"]
and all(c["status"] == "pass" for c in d["checks"] if c["name"].startswith("evidence."))
and "built-in Google vTPM" in [c for c in d["checks"] if c["name"] == "evidence.chain"][0]["actual"]'
t_ok $? "no-nonce attestation: pass with the built-in Google roots, 3 quotes (sha1, sha256, sha384)"

vfy "$T/n.json" --evidence "$NONCE"
[ $rc -eq 0 ] && check "$T/n.json" "d[\"verdict\"] == \"pass\" and d[\"claims\"][\"nonce\"] == \"9009\"
and d[\"claims\"][\"pcrs\"][\"sha256\"][\"0\"] == \"$PCR0\" and len(d[\"claims\"][\"pcrs\"][\"sha1\"]) == 24"
t_ok $? "nonce9009 attestation: pass, claims nonce 9009, 24 PCRs per bank, SHA-256 PCR 0 as expected"

# 4-6: accept.tpm with the root as a policy anchor and PCR 0.
cat >"$T/policy.json" <<EOF
{
  "tether_policy": 1,
  "accept": {
    "tpm": {
      "trust_anchors": ["$T_ROOT/roots/google/tpm_ek_root_1.pem"],
      "pcrs": {"sha256": {"0": "$PCR0"}}
    }
  }
}
EOF
sed "s/$PCR0/$(echo "$PCR0" | sed 's/^0f/1f/')/" "$T/policy.json" >"$T/policy-pcr.json"
sed "s/tpm_ek_root_1/gcp_ek_ak_ca_root/" "$T/policy.json" >"$T/policy-root.json"

vfy "$T/p.json" --evidence "$NONCE" --policy "$T/policy.json"
[ $rc -eq 0 ] && check "$T/p.json" "d[\"verdict\"] == \"pass\" and $(status_of policy.tpm.pcr.sha256.0 pass)
and \"(policy trust anchor)\" in [c for c in d[\"checks\"] if c[\"name\"] == \"evidence.chain\"][0][\"actual\"]"
t_ok $? "policy: trust_anchors tpm_ek_root_1.pem and the vector's PCR 0: pass"

vfy "$T/pp.json" --evidence "$NONCE" --policy "$T/policy-pcr.json"
[ $rc -eq 1 ] && check "$T/pp.json" "$FAILED == [(\"policy.tpm.pcr.sha256.0\", \"tpm_pcr_mismatch\")]"
t_ok $? "policy: another PCR 0: exit 1, policy.tpm.pcr.sha256.0 tpm_pcr_mismatch"

vfy "$T/pr.json" --evidence "$NONCE" --policy "$T/policy-root.json"
[ $rc -eq 1 ] && check "$T/pr.json" "$FAILED == [(\"evidence.chain\", \"tpm_ak_untrusted\")]"
t_ok $? "policy: only the EK/AK CA Root as anchor (not this AK's): evidence.chain (built-in roots not added)"

# 7: a policy pinning the AK (its SPKI SHA-256 from the claims), no anchors.
AK=$(py -c 'import json, sys; print(json.load(open(sys.argv[1]))["claims"]["ak_spki_sha256"])' "$T/n.json")
cat >"$T/policy-pin.json" <<EOF
{"tether_policy": 1, "accept": {"tpm": {"ak_keys": ["$AK"], "pcrs": {"sha256": {"0": "$PCR0"}}}}}
EOF
vfy "$T/pin.json" --evidence "$NONCE" --policy "$T/policy-pin.json"
[ $rc -eq 0 ] && check "$T/pin.json" 'd["verdict"] == "pass" and d["claims"]["ak_pinned"] is True
and d["claims"]["ak_certified"] is False'
t_ok $? "policy: the AK pinned (accept.tpm.ak_keys), no anchors: pass, pinned (the AK certificate unused)"

# 8-9: tampering.
py -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.index(b"\xffTCG\x80\x18")  # the first quote (TPMS_ATTEST magic, ATTEST_QUOTE)
b[i + 50] ^= 0x01                # inside clockInfo: still well-formed
open(sys.argv[2], "wb").write(b)
i = b.index(b"\xffTCG\x80\x18", i + 6)
b[i + 50] ^= 0x01
b[i] = 0x00                      # the second quote: bad magic
open(sys.argv[3], "wb").write(b)
' "$NONCE" "$T/flip.pb" "$T/magic.pb"
vfy "$T/flip.json" --evidence "$T/flip.pb"
[ $rc -eq 1 ] && check "$T/flip.json" "$FAILED == [(\"evidence.signature\", \"evidence_signature_invalid\")]"
t_ok $? "one flipped byte in a quote: exit 1, evidence.signature"

vfy "$T/magic.json" --evidence "$T/magic.pb"
[ $rc -eq 1 ] && check "$T/magic.json" "$FAILED == [(\"evidence.format\", \"evidence_malformed\")]"
t_ok $? "a quote that is not a TPMS_ATTEST: exit 1, evidence.format"

# 10: after the AK certificate's notAfter (2051-08-24).
vfy "$T/late.json" --evidence "$NO_NONCE" --at 2052-01-01T00:00:00Z
[ $rc -eq 1 ] && check "$T/late.json" "$FAILED == [(\"evidence.chain\", \"tpm_ak_untrusted\")]
and \"expired\" in [c for c in d[\"checks\"] if c[\"name\"] == \"evidence.chain\"][0][\"detail\"]"
t_ok $? "--at 2052-01-01, after the AK certificate's notAfter: exit 1, evidence.chain (expired)"

# 11: a truncated protobuf is refused as malformed, not misread.
head -c 20000 "$NONCE" >"$T/cut.pb"
vfy "$T/cut.json" --evidence "$T/cut.pb"
[ $rc -eq 1 ] && check "$T/cut.json" "$FAILED == [(\"evidence.format\", \"evidence_malformed\")]"
t_ok $? "a truncated attestation: exit 1, evidence.format"

t_done
