/*
 * fuzz_ratls_ext.c - libFuzzer harness for the RA-TLS certificate extension decoder
 * (src/binding/ratls_ext.c) and the legacy modes' SNI nonce parser
 * (src/binding/legacy_binder.c).
 * Invariants: no crash, leak or read past the input; an accepted extension points inside the
 * input, has a pubkey hash of its algorithm's length and a nonce of at most 64 bytes, and
 * survives encode -> decode with the same tag, evidence and claims; an accepted server name
 * re-encodes to the same nonce.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binding/legacy_binder.h"
#include "binding/ratls_ext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    return p >= data && n <= size && (size_t)(p - data) <= size - n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ratls_ext e;
    const char *why = NULL;
    if (ratls_ext_decode(data, size, &e, &why) == 0) {
        const struct ratls_claims *c = &e.claims;
        if (why || !inside(e.evidence, e.evidence_len, data, size) ||
            !inside(e.claims_buffer, e.claims_buffer_len, data, size) || e.evidence_len == 0 ||
            !c->has_pubkey_hash || ratls_hash_len(c->hash_alg) != c->pubkey_hash_len ||
            c->nonce_len > RATLS_NONCE_MAX || (c->has_nonce && c->nonce_len == 0))
            abort();
        struct bytes_writer w;
        writer_init(&w, RATLS_EXT_MAX);
        if (ratls_ext_encode(e.tag, e.evidence, e.evidence_len, c, &w) == 0) {
            struct ratls_ext again;
            if (ratls_ext_decode(w.data, w.len, &again, &why) != 0 || again.tag != e.tag ||
                again.evidence_len != e.evidence_len ||
                memcmp(again.evidence, e.evidence, e.evidence_len) != 0 ||
                again.claims.hash_alg != c->hash_alg ||
                memcmp(again.claims.pubkey_hash, c->pubkey_hash, c->pubkey_hash_len) != 0 ||
                again.claims.has_nonce != c->has_nonce || again.claims.nonce_len != c->nonce_len ||
                memcmp(again.claims.nonce, c->nonce, c->nonce_len) != 0)
                abort();
        } else if (e.evidence_len < RATLS_EXT_MAX - 256) {
            abort(); /* whatever decodes must encode */
        }
        writer_free(&w);
    } else if (!why) {
        abort();
    }

    /* The same bytes as a server name. */
    if (size <= 256) {
        char name[257];
        memcpy(name, data, size);
        name[size] = '\0';
        uint8_t nonce[LEGACY_NONCE_LEN], back[LEGACY_NONCE_LEN];
        if (legacy_sni_decode(name, nonce) == 0) {
            char sni[LEGACY_SNI_LEN + 1];
            legacy_sni_encode(nonce, sni);
            if (strlen(name) != LEGACY_SNI_LEN || legacy_sni_decode(sni, back) != 0 ||
                memcmp(nonce, back, sizeof nonce) != 0)
                abort();
        }
    }
    return 0;
}
