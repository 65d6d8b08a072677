/*
 * chain_cache.h - remembers attestation-key certificates that already chained to a policy's
 * trust anchors, so that a busy relying party does not parse and verify the same AK (or VCEK,
 * PCK) chain on every connection. An entry holds the exact DER bytes (compared in full, not by
 * a digest), the parsed certificate, and the time window in which every certificate of the
 * verified chain is valid: a lookup at a time outside that window misses. The cache belongs to
 * one policy entry (one X509 store); it is thread-safe. It never caches a failure.
 */
#ifndef TETHER_EVIDENCE_CHAIN_CACHE_H
#define TETHER_EVIDENCE_CHAIN_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

struct chain_cache;

struct chain_cache *chain_cache_new(void);
void chain_cache_free(struct chain_cache *c);
/* An up-referenced certificate if der was verified before and at is inside its window. */
X509 *chain_cache_lookup(struct chain_cache *c, const uint8_t *der, size_t len, time_t at);
/* Remember a certificate whose chain (ctx after a successful X509_verify_cert) verified. */
void chain_cache_add(struct chain_cache *c, const uint8_t *der, size_t len, X509 *cert,
                     X509_STORE_CTX *verified);

/* For backends whose chain depends on more than the certificate (snp: key type and
 * generation): a tag that is part of the key, a value and a note kept with the entry, and the
 * verified chain (leaf first). chain_cache_lookup and chain_cache_add use tag 0. */
struct chain_cache_info {
    int tag;        /* part of the key; -1 on lookup: any tag */
    int value;
    char note[160];
};
/* Like chain_cache_lookup; der NULL: the entry whose certificate is cert itself (a pointer
 * from an earlier lookup: the entry holds a reference, so the same object means the same
 * DER). info and chain (up-referenced, pop_free it) may be NULL. */
X509 *chain_cache_lookup_ex(struct chain_cache *c, const uint8_t *der, size_t len,
                            const X509 *cert, time_t at, int tag, struct chain_cache_info *info,
                            STACK_OF(X509) **chain);
void chain_cache_add_ex(struct chain_cache *c, const uint8_t *der, size_t len, X509 *cert,
                        STACK_OF(X509) *verified_chain, const struct chain_cache_info *info);

#endif
