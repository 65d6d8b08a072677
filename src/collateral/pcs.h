/*
 * pcs.h - internal: Intel DCAP collateral (TCB info, QE identity, PCK CRL, Root CA CRL) from
 * Intel PCS API v4 into a disk cache (research evidence.md A2 "Collateral (PCS v4, JSON)";
 * docs/collateral.md "Intel PCS (TDX/SGX)" gives the URLs, the cache layout and its ages).
 * Sans-policy like collateral.h: a document is returned only if it is well-formed (JSON object
 * with the expected key, "signature" and a parseable nextUpdate; DER CRL; issuer chain of at
 * least two PEM certificates); signatures, chains and dates are the verifier's business.
 * Must never: talk plain http to anything but loopback, follow redirects, read more than the
 * documented bounds, cache or return anything that does not parse, or send two PCS requests
 * at once from one process.
 */
#ifndef TETHER_COLLATERAL_PCS_H
#define TETHER_COLLATERAL_PCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collateral/collateral.h" /* COLLATERAL_* return codes, collateral_url_allowed */

#define PCS_BASE_URL "https://api.trustedservices.intel.com"
#define PCS_ROOT_CRL_URL "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
#define PCS_MAX_JSON (256u * 1024u)         /* TCB info, QE identity body */
#define PCS_MAX_CRL COLLATERAL_MAX_CRL      /* PCK CRL, Root CA CRL (1 MiB) */
#define PCS_MAX_CHAIN_HEADER (16u * 1024u)  /* percent-encoded issuer chain header */
#define PCS_CACHE_MAX_AGE_S (24L * 3600)    /* a cached document is refreshed after */

struct pcs_config {
    const char *cache_dir;    /* disk cache, may be NULL (then every call fetches, if base_url) */
    const char *base_url;     /* NULL = no network. Production: PCS_BASE_URL */
    const char *root_crl_url; /* NULL = PCS_ROOT_CRL_URL, or base_url + "/IntelSGXRootCA.der"
                                 when base_url is a loopback http mirror */
    unsigned timeout_ms;      /* per request, 0 = 10000 */
    unsigned max_retries;     /* after 429/503 */
    int64_t now;              /* the clock for freshness decisions (unix seconds); 0 = time(NULL) */
};

struct pcs_doc {
    uint8_t *body;            /* the response body exactly as received (JSON or DER); one
                                 extra NUL byte follows body[body_len - 1] (not counted) */
    size_t body_len;
    uint8_t *issuer_chain;    /* PEM, URL-decoded from the response header, NUL-terminated;
                                 NULL for the Root CA CRL */
    size_t issuer_chain_len;
    bool from_cache;
    bool stale;               /* now >= nextUpdate, or a cached copy older than 24 h that
                                 could not be refreshed (network off or failing) */
    int64_t fetched_at;       /* unix seconds: when it was fetched (cache: the file's mtime) */
};

void pcs_doc_free(struct pcs_doc *d);

/* GET {base}/{sgx|tdx}/certification/v4/tcb?fmspc={12 hex upper}; chain header
 * TCB-Info-Issuer-Chain (or the older SGX-TCB-Info-Issuer-Chain). tcbInfo.fmspc must match. */
int pcs_tcb_info(const struct pcs_config *c, bool tdx, const uint8_t fmspc[6], struct pcs_doc *out,
                 char *err, size_t errlen);
/* GET {base}/{sgx|tdx}/certification/v4/qe/identity; header SGX-Enclave-Identity-Issuer-Chain */
int pcs_qe_identity(const struct pcs_config *c, bool tdx, struct pcs_doc *out, char *err, size_t errlen);
/* GET {base}/sgx/certification/v4/pckcrl?ca={platform|processor}&encoding=der;
 * header SGX-PCK-CRL-Issuer-Chain */
int pcs_pck_crl(const struct pcs_config *c, bool platform_ca, struct pcs_doc *out, char *err,
                size_t errlen);
/* GET the Intel SGX Root CA CRL (DER); no issuer-chain header. */
int pcs_root_crl(const struct pcs_config *c, struct pcs_doc *out, char *err, size_t errlen);

/* ---- pieces exposed for tests and fuzzing ---- */

/* Strict percent-decoding of a header value: printable ASCII only, every '%' followed by two
 * hex digits ('+' stays '+'). *out is malloc'd and NUL-terminated. 0, or -1 if malformed. */
int pcs_percent_decode(const char *in, size_t len, uint8_t **out, size_t *outlen);

#endif
