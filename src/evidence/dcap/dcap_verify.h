/*
 * dcap_verify.h - the Intel DCAP evidence backends ("tdx": TDX quotes v4/v5; "sgx": SGX
 * quotes v3) and the collateral set they appraise against (research evidence.md A2, C).
 *
 * Verification order (each a check in the result; the first failure stops):
 *   evidence.format         the quote parses (dcap_quote.h) and is of the backend's type
 *   evidence.chain          the PCK chain from the quote to the trust anchor (the built-in Intel
 *                           SGX Root CA, or the policy's), at the time of verification
 *   evidence.signature      QE report signed by the PCK key, QE report data binds the
 *                           attestation key, quote signed by the attestation key
 *   evidence.pck            the PCK certificate's SGX extensions (FMSPC, PCE-ID, TCB)
 *   evidence.collateral     TCB Info, QE Identity, PCK CRL and Root CA CRL are present
 *   evidence.tcb_info       signed by a TCB Signing certificate that chains to the anchor and
 *                           was valid at the document's issueDate; same type and FMSPC
 *   evidence.qe_identity    the same, and the QE report matches it
 *   evidence.revocation     both CRLs signed by their issuers; PCK leaf, PCK CA and TCB Signing
 *                           certificate not revoked
 *   evidence.tcb_status     the TCB-status algorithm (dcap_tcb.h) determined a status
 * Collateral freshness (nextUpdate against the time of verification) is reported separately,
 * in the claims; accepting a TCB status or stale collateral is the policy's decision
 * (policy.tdx.* / policy.sgx.*), never the backend's.
 *
 * Must never: trust a certificate that arrives in the quote or the collateral as an anchor,
 * re-serialise a signed collateral document, skip revocation for lack of a CRL (missing CRLs
 * fail), or let a cached verification outlive the bytes it was made over.
 */
#ifndef TETHER_EVIDENCE_DCAP_VERIFY_H
#define TETHER_EVIDENCE_DCAP_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/dcap/dcap_collateral.h"
#include "evidence/dcap/dcap_quote.h"
#include "evidence/dcap/dcap_tcb.h"
#include "evidence/evidence.h"

extern const struct evidence_backend evidence_tdx;
extern const struct evidence_backend evidence_sgx;

/* Collateral prefix: "pcs:DIR" in a collateral list fetches what is missing from Intel PCS
 * (or the mirror in $TETHER_PCS_URL) into the cache DIR. */
#define DCAP_PCS_PREFIX "pcs:"

/* A set of collateral documents, CRLs and certificates, loaded once (from files, folders or
 * PCS) and shared by verifications; thread-safe. A policy holds one per accept.tdx/.sgx entry
 * ("warm collateral"); tether_verify --collateral builds a temporary one. */
struct dcap_collateral_set;
/* Load paths (files, folders searched one level deep, "pcs:DIR"). 0, or -1 with why. */
int dcap_collateral_set_load(const char *const *paths, size_t n, const char *base_dir,
                             struct dcap_collateral_set **out, char *why, size_t whylen);
void dcap_collateral_set_free(struct dcap_collateral_set *s);
/* One collateral file's content (what a named --collateral file may hold: a PCS body, a
 * combined JSON bundle, PEM certificates, a DER or PEM CRL). For tests and fuzzing. */
int dcap_collateral_set_from_buffer(const uint8_t *buf, size_t n,
                                    struct dcap_collateral_set **out, char *why, size_t whylen);

/* Authenticated values for the policy (struct claims.tee_data of tdx and sgx). */
struct dcap_claims {
    bool tdx;
    enum dcap_body_type body_type;
    struct dcap_td_report td;   /* tdx */
    struct dcap_sgx_report sgx; /* sgx enclave report */
    uint16_t qe_svn, pce_svn;
    struct dcap_pck_ext pck;
    bool has_tcb;               /* the TCB status was determined */
    struct dcap_tcb_eval tcb;
    bool fresh;                 /* every collateral item's nextUpdate is after the time of
                                   verification */
    int64_t next_update;        /* the earliest nextUpdate of the collateral used */
    char stale[160];            /* which items are past nextUpdate, for messages */
};

#endif
