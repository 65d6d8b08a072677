/*
 * evidence.h - the evidence backend interface: one backend per TEE type (src/evidence/<tee>/)
 * recognises a blob, verifies its authenticity (signature chain to a trust anchor, at a
 * given time, with optional collateral) and fills the common claims. Backends never see the
 * policy's measurements or the expected binder: appraisal happens in src/policy, the binding
 * comparison in src/verify. Backends are sans-IO except for reading collateral files.
 */
#ifndef TETHER_EVIDENCE_H
#define TETHER_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "evidence/chain_cache.h"
#include "policy/result.h"

/* Claims common to every TEE type. Sizes are the maxima over all types. */
struct claims {
    char tee[16];                 /* "sim", "snp", "tdx", ... */
    bool simulated;
    uint8_t measurement[64];      /* sim: 48; snp: 48; tdx: MRTD 48; sgx: MRENCLAVE 32 */
    size_t measurement_len;
    uint8_t platform_id[64];      /* the platform identity: sim platform id, SNP chip id, ... */
    size_t platform_id_len;
    uint64_t tcb;                 /* a comparable TCB version (type-specific meaning) */
    bool has_tcb;
    bool debug;
    uint8_t report_data[64];      /* the hardware-signed report data */
    bool has_report_data;
    uint8_t key_hash[64];         /* attester key hash signed in the evidence, if the type has one */
    size_t key_hash_len;
    int64_t timestamp;            /* evidence creation time (unix seconds), if the type has one */
    bool has_timestamp;
    json_t *extra;                /* type-specific claims for the report (owned), may be NULL */
    /* Type-specific authenticated values for the type's own policy checks (e.g. struct
     * snp_claims); owned, released by claims_clear through tee_data_free. NULL if none. */
    void *tee_data;
    void (*tee_data_free)(void *);
};
void claims_clear(struct claims *c);
/* The claims as a JSON object for the report (new reference). */
json_t *claims_to_json(const struct claims *c);
/* o[key] = the lower-case hex of p[0..n) (nothing on allocation failure). */
void evidence_json_set_hex(json_t *o, const char *key, const uint8_t *p, size_t n);

/* Trust anchors for one TEE type: an X509 store built from the policy or built-in roots. */
struct evidence_anchors {
    X509_STORE *store;   /* may be NULL: no anchor configured for this type */
    const char *origin;  /* where the anchors came from, for messages ("policy", "built-in") */
    struct chain_cache *cache; /* verified attestation-key certificates, may be NULL */
    const void *collateral_set; /* collateral preloaded by the policy for this type, or NULL
                                   (dcap: struct dcap_collateral_set) */
    const uint8_t (*pinned_keys)[32]; /* SHA-256 of the SubjectPublicKeyInfo DER of keys the
                                         policy trusts directly (tpm: attestation keys) */
    size_t n_pinned_keys;
};

struct evidence_backend {
    const char *name;       /* "sim" */
    const char *media_type; /* cmw media type, e.g. "application/vnd.tether.sim-evidence" */
    /* Cheap structural recognition (magic, version, size). */
    bool (*recognise)(const uint8_t *ev, size_t len);
    /* Verify authenticity; record checks named "evidence.<...>" in r; fill claims even on
     * failure where parsing got that far. 0 if authentic, -1 otherwise. */
    int (*verify)(const uint8_t *ev, size_t len, const struct evidence_anchors *anchors,
                  time_t at, const char *const *collateral, struct claims *out,
                  struct tether_result *r);
};

/* All compiled-in backends, NULL-terminated. */
extern const struct evidence_backend *const evidence_backends[];
const struct evidence_backend *evidence_backend_find(const char *name);
const struct evidence_backend *evidence_backend_recognise(const uint8_t *ev, size_t len);

#endif
