/*
 * dcap_tcb.h - the DCAP TCB-status algorithm: match a quote's platform TCB (from the PCK
 * certificate and, for TDX, the quote's TEE_TCB_SVN) against a parsed TCB Info, check the QE
 * report against a parsed QE Identity, check the TDX module identity, and converge the
 * statuses (Intel QVL TcbLevelCheck / QuoteVerifier convergeTcbStatus*; research evidence.md
 * A2 "TCB status"). Pure functions over parsed structures: no I/O, no crypto, no time.
 *
 * Signature, chain, CRL and freshness checks are the verifier's (dcap_verify.c) and happen
 * before this; this file never decides authenticity.
 */
#ifndef TETHER_EVIDENCE_DCAP_TCB_H
#define TETHER_EVIDENCE_DCAP_TCB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/dcap/dcap_collateral.h"
#include "evidence/dcap/dcap_quote.h"

/* What the algorithm needs from the quote and its PCK certificate. */
struct dcap_tcb_input {
    const struct dcap_pck_ext *pck;           /* required */
    const struct dcap_sgx_report *qe_report;  /* required */
    bool tdx;                                 /* a TDX quote (TD 1.0 or 1.5 body) */
    const uint8_t *tee_tcb_svn;               /* 16 bytes, TDX only */
    const uint8_t *tee_tcb_svn2;              /* 16 bytes, TD 1.5 bodies only, else NULL */
    const uint8_t *mrsignerseam;              /* 48 bytes, TDX only */
    uint64_t seam_attributes;                 /* TDX only */
};

/* Error codes (stable strings, used as result check codes by the verifier). */
#define DCAP_TCB_ERR_TYPE "tcb_info_type_mismatch"          /* SGX TCB Info for TDX or v.v. */
#define DCAP_TCB_ERR_FMSPC "tcb_info_fmspc_mismatch"        /* PCK FMSPC != tcbInfo.fmspc */
#define DCAP_TCB_ERR_PCEID "tcb_info_pceid_mismatch"        /* PCK PCE-ID != tcbInfo.pceId */
#define DCAP_TCB_ERR_QE_ID "qe_identity_mismatch"           /* mrsigner/prodid/misc/attrs */
#define DCAP_TCB_ERR_QE_KIND "qe_identity_type_mismatch"    /* QE for TDX, TD_QE for SGX */
#define DCAP_TCB_ERR_QE_TCB "qe_tcb_not_supported"          /* QE ISVSVN below every level */
#define DCAP_TCB_ERR_MODULE "tdx_module_identity_mismatch"  /* mrsignerseam/attrs, or no id */
#define DCAP_TCB_ERR_MODULE_TCB "tdx_module_tcb_not_supported"

struct dcap_tcb_eval {
    /* platform: the first tcbLevels entry the platform meets; -1 if none (NOT_SUPPORTED) */
    int platform_level;
    enum dcap_tcb_status platform_status;
    int64_t platform_tcb_date;
    /* TDX module identity (TDX_<hex TEE_TCB_SVN[1]>), checked when TEE_TCB_SVN[1] > 0 */
    bool module_checked;
    char module_id[16];
    int module_level;
    enum dcap_tcb_status module_status;
    /* QE identity */
    int qe_level;
    enum dcap_tcb_status qe_status;
    int64_t qe_tcb_date;
    /* converged result */
    enum dcap_tcb_status status;
    int64_t tcb_date; /* the matched platform level's tcbDate (0 if none) */
    struct dcap_advisories advisories; /* platform, module and QE advisories, distinct, in
                                          that order of first appearance */
    /* on -1: a stable code (DCAP_TCB_ERR_*) and a human reason */
    const char *code;
    char why[256];
};

/* Evaluate. 0 when a status was determined (it may be DCAP_TCB_NOT_SUPPORTED, Revoked,
 * OutOfDate...: the verifier's policy decides what it accepts); -1 on a mismatch that makes
 * the collateral inapplicable to this quote (code and why set). */
int dcap_tcb_evaluate(const struct dcap_tcb_info *ti, const struct dcap_qe_identity *qi,
                      const struct dcap_tcb_input *in, struct dcap_tcb_eval *out);

/* QE identity alone (used by dcap_tcb_evaluate): MRSIGNER, ISVPRODID, MISCSELECT under its
 * mask, ATTRIBUTES under its mask, then the first level with ISVSVN >= level.isvsvn.
 * 0 with level and status set, or -1 with code/why in out. */
int dcap_qe_identity_check(const struct dcap_qe_identity *qi, const struct dcap_sgx_report *qe,
                           bool tdx, struct dcap_tcb_eval *out);

#endif
