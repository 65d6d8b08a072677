/*
 * probe.h - internals of tether_probe (src/tls/probe.c) that the fuzz harness reaches: the
 * scanner that looks for evidence inside a certificate extension value, and the table of
 * attestation OIDs seen in the wild (research anchors.md section 4).
 *
 * The scanner is sans-IO and bounded: it walks DER and CBOR structures (definite lengths only,
 * depth and item budgets), never reads past its input, and only records pointers into it.
 */
#ifndef TETHER_TLS_PROBE_H
#define TETHER_TLS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "evidence/evidence.h"

#define PROBE_SCAN_MAX_BLOBS 32
#define PROBE_SCAN_MAX_TAGS 16
#define PROBE_SCAN_MIN_BLOB 16  /* shorter byte strings cannot be evidence */
#define PROBE_SCAN_MAX_DEPTH 24 /* DER nesting, CBOR nesting and re-parsed byte strings */
#define PROBE_SCAN_BUDGET 20000 /* items looked at in all, validation passes included */

struct probe_blob {
    const uint8_t *p; /* points into the scanned value */
    size_t n;
};

/* What the scanner found in one extension value. */
struct probe_scan {
    struct probe_blob blobs[PROBE_SCAN_MAX_BLOBS]; /* the value itself first, then nested
                                                      OCTET STRINGs / CBOR byte strings */
    size_t n_blobs;
    uint64_t tags[PROBE_SCAN_MAX_TAGS]; /* CBOR tags, outermost first, distinct */
    size_t n_tags;
    char media_type[128];               /* first string that looks like "type/subtype" */
    unsigned items;                     /* budget used */
    bool truncated;                     /* a limit was hit: the result may be incomplete */
};

/* Scan an extension value (the content of extnValue). Never fails: what could not be walked
 * is simply not reported. */
void probe_scan_value(const uint8_t *val, size_t len, struct probe_scan *out);

/* The first blob an evidence backend recognises (outermost first), or NULL. */
const struct evidence_backend *probe_scan_evidence(const struct probe_scan *s,
                                                   const uint8_t **ev, size_t *ev_len);

/* A known attestation OID (dotted text), exact or under a known arc; NULL if unknown. */
struct probe_oid {
    const char *oid;
    bool arc;          /* matches oid itself and everything under "oid." */
    const char *name;  /* what it carries and who uses it */
    const char *tee;   /* "sgx", "tdx", "snp", ... or NULL when the OID does not say */
    bool evidence;     /* carries evidence (as opposed to endorsements or secrets) */
};
const struct probe_oid *probe_oid_lookup(const char *dotted);

/* A CBOR tag seen inside TCG DICE evidence: its TEE and name, or NULL. */
const char *probe_cbor_tag_tee(uint64_t tag, const char **name);

/* Describe a certificate for the report: subject, issuer, self_signed, validity, lifetime, key
 * type, fingerprints and every extension ({"oid","name","critical","length",...}); attestation
 * extensions are scanned for evidence. New reference, or NULL on allocation failure. */
json_t *probe_cert_json(X509 *x);

#endif
