/*
 * tpm_verify.h - the "tpm" evidence backend: tether's TTPM container (tpm_evidence.h) holding
 * one TPM2_Quote, its attestation key and the PCR values it covers (docs/tpm.md).
 *
 * Checks, in order: evidence.format (container, TPMT_PUBLIC, TPMS_ATTEST, TPMT_SIGNATURE),
 * evidence.ak (a restricted signing key: it cannot sign data that imitates a TPM-generated
 * structure), evidence.signature (the quote by the AK), evidence.pcrs (the supplied PCR values
 * hash to the quote's pcrDigest, and cover exactly its selection), evidence.chain (the AK is
 * trusted: its certificate chain reaches a policy anchor at the time of verification, or the
 * policy pins its key). The quote's extraData (qualifyingData) is the signed report_data.
 *
 * The same backend verifies a Google Cloud (GCE Shielded / Confidential VM) vTPM attestation,
 * go-tpm-tools' attest.Attestation protobuf (gce.h), recognised by content: one quote per PCR
 * bank, all by the AK of ak_pub, whose AK certificate chains to the policy's trust anchors or,
 * when the policy names none and pins no AK, to the built-in Google vTPM roots
 * (google_roots.h). Checks: evidence.format, evidence.ak, evidence.signature (every quote),
 * evidence.quotes (same extraData and boot, one bank each), evidence.pcrs (every quote),
 * evidence.chain. A 64-byte extraData is the report_data; any other is reported as
 * extra "nonce" (hex). Claims extra "format": "gce-attestation"; struct tpm_claims carries
 * every quote's bank, so accept.tpm.pcrs applies unchanged.
 */
#ifndef TETHER_EVIDENCE_TPM_VERIFY_H
#define TETHER_EVIDENCE_TPM_VERIFY_H

#include "evidence/evidence.h"
#include "evidence/tpm/tpm.h"

extern const struct evidence_backend evidence_tpm;

/* Authenticated values for the policy (claims.tee_data of "tpm"). */
struct tpm_claims {
    struct tpm_pcr_bank banks[TPM_MAX_BANKS]; /* only values covered by the signed digest */
    size_t n_banks;
    uint8_t ak_spki_sha256[32];
    bool ak_certified; /* the AK chained to a policy anchor (GCE: or a built-in Google root) */
    bool ak_pinned;    /* the AK's key is pinned by the policy */
};

/* ---- checks shared with the azure-vtpm backend (evidence/azure/azure_vtpm.c) ---- */

/* "sha1", "sha256", "sha384", "sha512", "RSASSA", "RSAPSS", "ECDSA", else "?". */
const char *tpm_alg_name(uint16_t alg);

/* How the supplied PCR banks must match the quote's selection. */
enum tpm_pcr_match {
    TPM_PCR_MATCH_EXACT,    /* as many banks as selected, each selected bank (also one with an
                             * empty mask) supplied with its mask (TTPM) */
    TPM_PCR_MATCH_NONEMPTY, /* each selected bank with a non-empty mask supplied with that
                             * mask, and no other bank supplied (azure-vtpm) */
};
/* 0, or -1 with the reason in why (n bytes). */
int tpm_pcr_banks_match(const struct tpm_pcr_selection *sel, const struct tpm_pcr_bank *banks,
                        size_t n_banks, enum tpm_pcr_match mode, char *why, size_t n);
/* evidence.pcrs: banks match q's selection (mode) and hash with hash_alg to its signed
 * pcrDigest. Then the values go to tc (banks, n_banks) and to x["pcrs"] ({"sha256": {"0":
 * hex, ...}}) and the check passes with pexp; otherwise the failure is recorded
 * (tpm_pcr_selection_mismatch or tpm_pcr_digest_mismatch). 0 or -1. */
int tpm_check_pcrs(struct tether_result *r, const char *pexp, const struct tpm_quote *q,
                   const struct tpm_pcr_bank *banks, size_t n_banks, enum tpm_pcr_match mode,
                   uint16_t hash_alg, struct tpm_claims *tc, json_t *x);
/* SHA-256 of the AK's SubjectPublicKeyInfo DER (what accept.tpm.ak_keys pins). 0 or -1. */
int tpm_ak_spki_sha256(EVP_PKEY *ak, uint8_t out[32]);
/* The signed extraData is the connection's report_data when it is 64 bytes long. */
void tpm_claims_report_data(struct claims *out, const struct tpm_quote *q);
/* x["clock"], ["reset_count"], ["restart_count"], ["firmware_version"] (16 hex digits). */
void tpm_quote_counters_json(json_t *x, const struct tpm_quote *q);

#endif
