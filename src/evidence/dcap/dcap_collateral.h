/*
 * dcap_collateral.h - Intel DCAP collateral documents (PCS v4): TCB Info (v2 and v3, SGX and
 * TDX) and Enclave Identity (QE / TD_QE, v2), and the PCK certificate's SGX extensions.
 * Sans-IO, bounded parsers over byte buffers; no signature, chain or time check here (the
 * verifier, dcap_verify.c, does those; the TCB-status algorithm is dcap_tcb.h).
 *
 * References: Intel "PCS API v4" (TCB Info and Enclave Identity JSON), Intel "SGX PCK
 * Certificate and CRL Profile" (SGX extensions, OID 1.2.840.113741.1.13.1), research
 * evidence.md A2 and C.
 *
 * The signature of a document covers the EXACT bytes of the "tcbInfo" / "enclaveIdentity"
 * value as transmitted (PCS API v4): dcap_signed_split() returns that span, borrowed from the
 * caller's buffer, and the signature; nothing is ever re-serialised.
 *
 * Must never: read outside the input, accept duplicate keys, unknown status strings, more than
 * the documented bounds of levels/advisories, or a document whose split and parse disagree.
 */
#ifndef TETHER_EVIDENCE_DCAP_COLLATERAL_H
#define TETHER_EVIDENCE_DCAP_COLLATERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#define DCAP_COLLATERAL_MAX_DOC (256u * 1024u) /* one JSON document (real: 1-20 KiB) */
#define DCAP_MAX_TCB_LEVELS 128
#define DCAP_MAX_MODULE_IDS 16
#define DCAP_MAX_MODULE_LEVELS 32
#define DCAP_MAX_QE_LEVELS 64
#define DCAP_MAX_ADVISORIES 64
#define DCAP_ADVISORY_LEN 32 /* "INTEL-SA-00615" plus room */

/* TCB statuses of PCS v4 (tcbStatus strings). DCAP_TCB_NOT_SUPPORTED is not a string in the
 * documents: it is the result "no TCB level matches" of the algorithm (Intel QVL
 * TCB_NOT_SUPPORTED). */
enum dcap_tcb_status {
    DCAP_TCB_UNKNOWN = 0,
    DCAP_TCB_UP_TO_DATE,                        /* "UpToDate" */
    DCAP_TCB_SW_HARDENING_NEEDED,               /* "SWHardeningNeeded" */
    DCAP_TCB_CONFIGURATION_NEEDED,              /* "ConfigurationNeeded" */
    DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, /* "ConfigurationAndSWHardeningNeeded" */
    DCAP_TCB_OUT_OF_DATE,                       /* "OutOfDate" */
    DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,  /* "OutOfDateConfigurationNeeded" */
    DCAP_TCB_REVOKED,                           /* "Revoked" */
    DCAP_TCB_TD_RELAUNCH_ADVISED,               /* "TDRelaunchAdvised" (TDX, TD 1.5) */
    DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED, /* "TDRelaunchAdvisedConfigurationNeeded" */
    DCAP_TCB_NOT_SUPPORTED,                     /* no level matched (not a document string) */
};
/* The PCS string for a status ("UpToDate"...; "TCBNotSupported" for DCAP_TCB_NOT_SUPPORTED,
 * "Unknown" for DCAP_TCB_UNKNOWN). Never NULL. */
const char *dcap_tcb_status_name(enum dcap_tcb_status s);
/* The status for a PCS tcbStatus string; DCAP_TCB_UNKNOWN for anything else (including
 * "TCBNotSupported": documents never carry it). */
enum dcap_tcb_status dcap_tcb_status_from_name(const char *s);

struct dcap_advisories {
    char id[DCAP_MAX_ADVISORIES][DCAP_ADVISORY_LEN];
    size_t n;
};

/* ---- signed document split ---- */

/* doc is a PCS body {"<key>":{...},"signature":"<128 hex>"} (whitespace between tokens
 * allowed, the two members in either order, no other member). On success *val and *val_len is the
 * exact byte span of the value of key (from '{' to the matching '}'), borrowed from doc, and
 * sig holds the 64-byte raw r||s signature. 0 or -1 with *why. */
int dcap_signed_split(const uint8_t *doc, size_t len, const char *key, const uint8_t **val,
                      size_t *val_len, uint8_t sig[64], const char **why);

/* ---- TCB Info ---- */

struct dcap_tcb_level {
    uint8_t sgx_comp[16]; /* sgxtcbcomponents[i].svn (v3) or sgxtcbcompNNsvn (v2) */
    uint16_t pcesvn;
    bool has_tdx_comp;
    uint8_t tdx_comp[16]; /* tdxtcbcomponents[i].svn (TDX v3 only) */
    int64_t tcb_date;     /* unix seconds */
    enum dcap_tcb_status status;
    struct dcap_advisories advisories;
};

struct dcap_module_level {
    uint8_t isvsvn;
    int64_t tcb_date;
    enum dcap_tcb_status status;
    struct dcap_advisories advisories;
};

/* tdxModuleIdentities[] entry, e.g. id "TDX_01" (TDX TCB Info v3). */
struct dcap_module_identity {
    char id[16];
    uint8_t mrsigner[48];
    uint64_t attributes, attributes_mask; /* 8 bytes hex, as in the document: big-endian text
                                             of the byte string, stored as bytes[0] << 56 ... */
    struct dcap_module_level levels[DCAP_MAX_MODULE_LEVELS];
    size_t n_levels;
};

struct dcap_tcb_info {
    bool tdx;                 /* id "TDX"; false for "SGX" (v2 documents have no id: SGX) */
    unsigned version;         /* 2 or 3 */
    int64_t issue_date, next_update;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    unsigned tcb_type;        /* 0 is the only one defined */
    unsigned eval_num;        /* tcbEvaluationDataNumber */
    bool has_tdx_module;      /* tdxModule {mrsigner, attributes, attributesMask} */
    uint8_t tdx_module_mrsigner[48];
    uint64_t tdx_module_attributes, tdx_module_attributes_mask;
    struct dcap_module_identity *module_ids; /* owned */
    size_t n_module_ids;
    struct dcap_tcb_level *levels; /* owned, in document order */
    size_t n_levels;
};

/* Parse the tcbInfo VALUE (the span returned by dcap_signed_split). 0 or -1 with *why;
 * on failure *out is left empty (nothing to free). */
int dcap_tcb_info_parse(const uint8_t *val, size_t len, struct dcap_tcb_info *out,
                        const char **why);
void dcap_tcb_info_free(struct dcap_tcb_info *ti);

/* ---- Enclave (QE) identity ---- */

struct dcap_qe_level {
    uint16_t isvsvn;
    int64_t tcb_date;
    enum dcap_tcb_status status;
    struct dcap_advisories advisories;
};

struct dcap_qe_identity {
    char id[8];               /* "QE", "TD_QE", "QVE" */
    unsigned version;         /* 2 */
    int64_t issue_date, next_update;
    unsigned eval_num;
    uint32_t miscselect, miscselect_mask; /* 4 bytes hex, as bytes: value = LE u32 of them */
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    struct dcap_qe_level levels[DCAP_MAX_QE_LEVELS];
    size_t n_levels;
};

/* Parse the enclaveIdentity VALUE. 0 or -1 with *why. */
int dcap_qe_identity_parse(const uint8_t *val, size_t len, struct dcap_qe_identity *out,
                           const char **why);

/* ---- PCK certificate SGX extensions (OID 1.2.840.113741.1.13.1) ---- */

struct dcap_pck_ext {
    uint8_t ppid[16];
    uint8_t comp_svn[16];   /* .2.1 .. .2.16 */
    uint16_t pcesvn;        /* .2.17 */
    uint8_t cpusvn[16];     /* .2.18 */
    uint8_t pce_id[2];      /* .3 */
    uint8_t fmspc[6];       /* .4 */
    int sgx_type;           /* .5: 0 Standard, 1 Scalable, 2 Scalable with integrity */
    bool has_platform_instance_id;
    uint8_t platform_instance_id[16]; /* .6 (Platform CA leaves) */
    bool has_configuration;
    bool dynamic_platform, cached_keys, smt_enabled; /* .7.1 .7.2 .7.3 */
};

/* The extension VALUE (content of extnValue: the DER SEQUENCE of {OID, value}). Required:
 * PPID, TCB (all 18), PCE-ID, FMSPC, SGX type. 0 or -1 with *why. */
int dcap_pck_ext_parse_der(const uint8_t *der, size_t len, struct dcap_pck_ext *out,
                           const char **why);
/* Find the extension in a PCK leaf and parse it. 0 or -1 with *why. */
int dcap_pck_ext_from_cert(X509 *leaf, struct dcap_pck_ext *out, const char **why);

#endif
