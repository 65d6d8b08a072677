/*
 * policy.h - the appraisal policy (JSON, docs/policy.md), shared by every TEE type.
 * Parsing is strict: duplicate keys, unknown keys, wrong types and out-of-range values are
 * errors (a typo in a security policy must never silently widen it).
 */
#ifndef TETHER_POLICY_H
#define TETHER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "evidence/evidence.h"
#include "policy/result.h"

#define POLICY_MAX_VALUES 256

struct policy_value {
    uint8_t bytes[64];
    size_t len;
};

struct policy_snp; /* the accept.snp settings (policy.c, docs/snp.md) */
struct policy_dcap; /* the accept.tdx / accept.sgx settings (policy_dcap.c, docs/tdx.md) */
struct dcap_collateral_set;
struct policy_tpm; /* the accept.tpm settings (policy_tpm.c, docs/tpm.md) */

struct policy_tee {
    char name[16];                   /* "sim", ... */
    X509_STORE *anchors;             /* trust anchors for this type (owned), NULL = none */
    struct chain_cache *cache;       /* chains already verified against anchors (owned) */
    int n_anchors;
    struct policy_value *measurements; /* allowed measurements; n == 0 means "policy incomplete" */
    size_t n_measurements;
    uint64_t min_tcb;
    bool has_min_tcb;
    struct policy_snp *snp;          /* "snp" only (owned) */
    struct policy_dcap *dcap;        /* "tdx" and "sgx" only (owned) */
    struct dcap_collateral_set *collateral; /* preloaded collateral ("tdx", "sgx"), owned */
    struct policy_tpm *tpm;          /* "tpm" only (owned) */
    uint8_t (*pinned_keys)[32];      /* "tpm": accept.tpm.ak_keys (owned) */
    size_t n_pinned_keys;
};

struct policy {
    struct policy_tee *tees;         /* accepted TEE types with their settings */
    size_t n_tees;
    struct policy_value *platform_ids; /* allowlist; n == 0 and !has_platform_ids: any platform */
    size_t n_platform_ids;
    bool has_platform_ids;
    bool allow_debug;
    int64_t max_evidence_age;        /* seconds; 0 = no limit */
    char *source;                    /* file name or "<inline>", for messages */
};

/* Parse; base_dir resolves relative trust-anchor file names (may be NULL). On failure returns
 * NULL and writes a message (with JSON line/column where known) to err. */
struct policy *policy_parse(const char *json, size_t len, const char *base_dir, char *err,
                            size_t errlen);
struct policy *policy_load_file(const char *path, char *err, size_t errlen);
void policy_free(struct policy *p);

const struct policy_tee *policy_find_tee(const struct policy *p, const char *name);

/* Appraise claims against the policy; records checks named "policy.<...>" in r:
 * policy.tee_type, policy.measurement, policy.platform_id, policy.tcb, policy.debug,
 * policy.evidence_age; for snp, policy.tcb per component and policy.snp.* (docs/snp.md).
 * Returns 0 if all pass. now is the time of verification. */
int policy_appraise(const struct policy *p, const struct claims *c, time_t now,
                    struct tether_result *r);

#endif
