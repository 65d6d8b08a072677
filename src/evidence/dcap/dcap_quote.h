/*
 * dcap_quote.h - Intel DCAP ECDSA quotes: a bounded, sans-IO parser for SGX quote v3, TDX
 * quote v4 and quote v5 (SGX, TD 1.0 and TD 1.5 bodies), and the three signature checks that
 * need nothing but the quote itself (research evidence.md A2).
 *
 * References: Intel "SGX ECDSA Quote Library API" (quote format v3, Appendix A),
 * Intel "TDX DCAP Quoting Library API" (quote format v4 and v5, section A.3/A.4), and Intel's
 * QVL (SGX-TDX-DCAP-QuoteVerificationLibrary, QuoteVerification/QuoteStructures.h, Quote.cpp).
 * All integers are little-endian; signatures are raw r||s and keys raw x||y, big-endian P-256.
 *
 * Borrowed pointers (signed_region, report_data, qe_report_raw, qe_auth_data, pck_chain_pem)
 * point into the caller's buffer and are valid while it lives.
 *
 * Must never: read outside the input, size anything by the file length rather than by
 * sig_data_len, accept non-zero bytes after the signature data, or accept a quote whose
 * nested certification-data lengths do not tile the signature data exactly.
 * Not done here (later): TCB info, QE identity, CRLs, TCB status, the PCK root anchor.
 */
#ifndef TETHER_EVIDENCE_DCAP_QUOTE_H
#define TETHER_EVIDENCE_DCAP_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define DCAP_HEADER_LEN 48
#define DCAP_SGX_REPORT_LEN 384
#define DCAP_TD10_BODY_LEN 584
#define DCAP_TD15_BODY_LEN 648
#define DCAP_V5_BODY_PREFIX_LEN 6 /* u16 body_type, u32 body_size */
#define DCAP_ECDSA_SIG_LEN 64     /* r || s, big-endian */
#define DCAP_ECDSA_KEY_LEN 64     /* x || y, big-endian */
#define DCAP_MAX_INPUT_LEN (1u << 20)    /* whole buffer, zero padding included */
#define DCAP_MAX_SIG_DATA_LEN (1u << 16) /* sig_data_len bound (real quotes: ~4.3 KiB) */

#define DCAP_ATT_KEY_ECDSA_P256 2

/* cmw media types of tether's DCAP evidence: the quote itself, exactly quote_len bytes (no
 * padding); the PCK chain travels inside it, the collateral does not. */
#define DCAP_TDX_MEDIA_TYPE "application/vnd.tether.tdx-quote+binary"
#define DCAP_SGX_MEDIA_TYPE "application/vnd.tether.sgx-quote+binary"
#define DCAP_TEE_SGX 0x00000000u
#define DCAP_TEE_TDX 0x00000081u

/* Certification data types (Quote Library API, "Certification Data Type"). */
#define DCAP_CERT_PCK_CHAIN 5
#define DCAP_CERT_QE_REPORT 6

/* The kind of body (v5 body_type values; v3 and v4 imply SGX and TD1.0). */
enum dcap_body_type { DCAP_BODY_SGX = 1, DCAP_BODY_TD10 = 2, DCAP_BODY_TD15 = 3 };

struct dcap_quote_header {
    uint16_t version;      /* 3, 4 or 5 */
    uint16_t att_key_type; /* 2 = ECDSA-256-with-P-256 */
    uint32_t tee_type;     /* 0 SGX, 0x81 TDX */
    uint16_t qe_svn;       /* Intel QVL order: qeSvn at 8, pceSvn at 10 */
    uint16_t pce_svn;
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
};

/* SGX enclave report body (384 B): the quote body of an SGX quote and the QE report. */
struct dcap_sgx_report {
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint8_t attributes[16]; /* flags u64 LE (bit1 DEBUG) then xfrm u64 LE */
    uint64_t attr_flags;
    uint64_t attr_xfrm;
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint8_t report_data[64];
};

/* TD report body: TD 1.0 (584 B) or TD 1.5 (648 B, two more fields). */
struct dcap_td_report {
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint64_t seam_attributes;
    uint64_t td_attributes; /* bit0 DEBUG */
    uint64_t xfam;
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    bool is_td15;
    uint8_t tee_tcb_svn2[16]; /* TD 1.5 only */
    uint8_t mrservicetd[48];  /* TD 1.5 only */
};

struct dcap_quote {
    struct dcap_quote_header header;
    enum dcap_body_type body_type;
    union {
        struct dcap_sgx_report sgx; /* body_type == DCAP_BODY_SGX */
        struct dcap_td_report td;   /* DCAP_BODY_TD10 / DCAP_BODY_TD15 */
    } body;
    const uint8_t *report_data;   /* 64 bytes, borrowed (inside the signed region) */
    const uint8_t *signed_region; /* borrowed: [0, signed_len) = header (+ v5 prefix) + body */
    size_t signed_len;            /* 432 (v3), 632 (v4), 54 + body_size (v5) */
    uint32_t sig_data_len;
    size_t quote_len; /* signed_len + 4 + sig_data_len; input bytes after it are zero */
    bool trailing_nonzero; /* dcap_quote_parse_ex with allow_trailing: the input has non-zero
                              (unsigned, ignored) bytes after quote_len */
    uint8_t signature[DCAP_ECDSA_SIG_LEN];  /* quote signature by the attestation key */
    uint8_t attest_key[DCAP_ECDSA_KEY_LEN]; /* raw x || y */
    const uint8_t *qe_report_raw;           /* 384 bytes, borrowed */
    struct dcap_sgx_report qe_report;
    uint8_t qe_report_sig[DCAP_ECDSA_SIG_LEN]; /* by the PCK leaf key over qe_report_raw */
    const uint8_t *qe_auth_data;               /* borrowed; may be empty */
    uint16_t qe_auth_len;
    const uint8_t *pck_chain_pem; /* borrowed, as transmitted (may end in NUL) */
    size_t pck_chain_pem_len;
};

/* Parse one quote from buf[0, len). Bytes after the signature data must all be zero
 * (padded buffers exist, e.g. GCP's 8000-byte quotes). 0 on success; -1 with why set. */
int dcap_quote_parse(const uint8_t *buf, size_t len, struct dcap_quote *out, const char **why);
/* The same; with allow_trailing, any bytes after the signature data are accepted and
 * trailing_nonzero says whether they were padding. For verifiers that report them. */
int dcap_quote_parse_ex(const uint8_t *buf, size_t len, bool allow_trailing,
                        struct dcap_quote *out, const char **why);

/* Decode the PEM PCK chain (leaf first) into certificates; the caller frees with
 * sk_X509_pop_free(*out, X509_free). Only whitespace and NULs may follow the last
 * certificate. 0 or -1. Does NOT verify the chain. */
int dcap_quote_pck_chain(const struct dcap_quote *q, STACK_OF(X509) **out);

/* Distinct results of the signature checks. */
enum dcap_sig_result {
    DCAP_SIG_OK = 0,
    DCAP_SIG_ERR_ARGS = -1,       /* NULL or unparsed quote */
    DCAP_SIG_ERR_QUOTE_SIG = -2,  /* (a) quote signature by the attestation key */
    DCAP_SIG_ERR_QE_BINDING = -3, /* (b) QE report data != SHA-256(att key || auth) || 0^32 */
    DCAP_SIG_ERR_QE_SIG = -4,     /* (c) QE report signature by the PCK leaf key */
    DCAP_SIG_ERR_PCK_CHAIN = -5,  /* PEM undecodable, or the leaf key is not P-256 */
};

/* (a) ECDSA P-256/SHA-256 by attest_key over the signed region. */
int dcap_quote_verify_quote_sig(const struct dcap_quote *q);
/* (b) QE report data[0:32] == SHA-256(attest_key || qe_auth_data), [32:64] zero. */
int dcap_quote_verify_qe_binding(const struct dcap_quote *q);
/* (c) ECDSA P-256/SHA-256 by pck_pub over the 384-byte QE report. */
int dcap_quote_verify_qe_sig(const struct dcap_quote *q, EVP_PKEY *pck_pub);

/* All three, in chain-of-trust order: (c) with the leaf of the embedded PCK chain, then (b),
 * then (a). Returns the first failure. The PCK chain itself is NOT checked to a root here. */
int dcap_quote_verify_signatures(const struct dcap_quote *q);

const char *dcap_sig_result_name(int rc);

/* A P-256 public key from raw x || y, checked to be on the curve; NULL if not. */
EVP_PKEY *dcap_p256_from_raw(const uint8_t xy[DCAP_ECDSA_KEY_LEN]);

/* ECDSA P-256/SHA-256 over msg[0, n) with a raw r || s signature (big-endian, as in quotes and
 * PCS collateral). 0 if valid. */
int dcap_ecdsa_p256_verify(EVP_PKEY *key, const uint8_t sig[DCAP_ECDSA_SIG_LEN], const uint8_t *msg,
                           size_t n);

#endif
