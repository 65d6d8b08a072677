/*
 * collateral.h - AMD SEV-SNP collateral (VCEK, ASK/ASVK+ARK chain, CRL) from an offline bundle,
 * a disk cache, or AMD KDS (research evidence.md A1; anchors.md 6.2). Sans-policy: this layer
 * finds bytes and checks only that they are well-formed (DER X.509, PEM of two certificates,
 * DER CRL); the SNP verifier checks signatures, chains, SPLs and CRL dates.
 *
 * Lookup order: bundle_dir, then cache_dir, then KDS (only when kds_base_url is set). The
 * on-disk layout, cache ages and the KDS back-off are documented in docs/collateral.md.
 * Must never: talk plain http to anything but loopback, follow redirects, read more than the
 * documented bound from the network, cache anything that does not parse, or send KDS
 * requests concurrently from one process.
 */
#ifndef TETHER_COLLATERAL_COLLATERAL_H
#define TETHER_COLLATERAL_COLLATERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/snp/snp_report.h"

struct collateral_config {
    const char *bundle_dir;   /* offline bundle, may be NULL */
    const char *cache_dir;    /* disk cache, may be NULL */
    const char *kds_base_url; /* NULL = no network; "https://kdsintf.amd.com" to enable */
    unsigned timeout_ms;      /* per HTTP request; 0 = 10000 */
    unsigned max_retries;     /* retries after HTTP 429/503 (0 = fail on the first one) */
};

#define COLLATERAL_KDS_URL "https://kdsintf.amd.com"
#define COLLATERAL_MAX_CERT (64u * 1024u)      /* VCEK DER, chain PEM */
#define COLLATERAL_MAX_CRL (1024u * 1024u)     /* CRL DER */
#define COLLATERAL_CHAIN_MAX_AGE_S (30L * 24 * 3600) /* cached cert_chain refreshed after */
#define COLLATERAL_CRL_MAX_AGE_S (24L * 3600)        /* cached CRL refreshed after */
#define COLLATERAL_RETRY_AFTER_CAP_S 60u       /* a longer Retry-After is not waited for */
#define COLLATERAL_BACKOFF_BASE_MS 1000u       /* without Retry-After: 1 s, 2 s, 4 s ... */
#define COLLATERAL_BACKOFF_CAP_MS 32000u

/* Return codes (negative): the caller can tell "not found anywhere" from a transport error. */
enum {
    COLLATERAL_OK = 0,
    COLLATERAL_ERR = -1,          /* bad argument, malformed data, I/O */
    COLLATERAL_NOT_FOUND = -2,    /* not in bundle/cache and KDS disabled, or KDS said 404 */
    COLLATERAL_RATE_LIMITED = -3, /* KDS 429/503 after max_retries (or Retry-After > cap) */
    COLLATERAL_NETWORK = -4,      /* connect/timeout/TLS/oversized/unexpected HTTP status */
    COLLATERAL_REFUSED = -5,      /* base URL not https (and not loopback http) */
};

/* The VCEK for chip_id at reported_tcb (REPORTED_TCB decoded for g). chip_id: 64 bytes
 * (Milan/Genoa); Turin: 8 bytes, or 64 with bytes 8..63 zero. *der is malloc'd (caller frees). */
int collateral_snp_vcek(const struct collateral_config *c, enum snp_generation g,
                        const uint8_t *chip_id, size_t chip_id_len, const struct snp_tcb *reported_tcb,
                        uint8_t **der, size_t *len, char *err, size_t errlen);
/* ASK+ARK (vlek: ASVK+ARK) as PEM, exactly two certificates. *pem is malloc'd. */
int collateral_snp_chain(const struct collateral_config *c, enum snp_generation g, bool vlek,
                         uint8_t **pem, size_t *len, char *err, size_t errlen);
/* The ARK-signed CRL (vlek: the /vlek/ one) as DER. *der is malloc'd. */
int collateral_snp_crl(const struct collateral_config *c, enum snp_generation g, bool vlek,
                       uint8_t **der, size_t *len, char *err, size_t errlen);

/* ---- pieces exposed for tests, fuzzing and the verifier ---- */

/* "Milan" / "Genoa" / "Turin"; NULL for SNP_GEN_UNKNOWN. */
const char *collateral_snp_product(enum snp_generation g);
/* The KDS hwid in lower-case hex (128 digits, Turin 16) into out (>= 129 bytes). */
int collateral_snp_hwid_hex(enum snp_generation g, const uint8_t *chip_id, size_t chip_id_len,
                            char *out, size_t outlen);
/* base/vcek/v1/{prod}/{hwid}?blSPL=NN&teeSPL=NN&snpSPL=NN&ucodeSPL=NN (Turin: fmcSPL=NN first);
 * SPLs are two-digit (at least) decimal as in AMD's KDS specification. */
int collateral_snp_vcek_url(const char *base, enum snp_generation g, const uint8_t *chip_id,
                            size_t chip_id_len, const struct snp_tcb *tcb, char *out, size_t outlen);
/* Bundle/cache relative file name: snp/{prod}/vcek/{hwid}-{bl}-{tee}-{snp}-{ucode}[-{fmc}].der */
int collateral_snp_vcek_relpath(enum snp_generation g, const uint8_t *chip_id, size_t chip_id_len,
                                const struct snp_tcb *tcb, char *out, size_t outlen);
/* 0 if base may be used: https://..., or http:// to 127.0.0.1, localhost or [::1] only. */
int collateral_url_allowed(const char *base, char *err, size_t errlen);

/* Strict PEM chain split: one or more "CERTIFICATE" blocks separated only by whitespace, each
 * strict base64 of a DER X.509 that parses with no trailing bytes. Up to max certificates
 * (DER pointers into *out, one malloc'd block the caller frees with free(out->buf)). */
struct collateral_der { const uint8_t *p; size_t n; };
struct collateral_chain {
    uint8_t *buf;
    size_t count;
    struct collateral_der cert[4];
};
int collateral_pem_chain_split(const uint8_t *pem, size_t len, struct collateral_chain *out);
/* 1 if buf is exactly one DER X.509 certificate (resp. CRL), else 0. */
bool collateral_is_der_cert(const uint8_t *buf, size_t len);
bool collateral_is_der_crl(const uint8_t *buf, size_t len);

#endif
