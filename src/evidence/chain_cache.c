/*
 * chain_cache.c - see chain_cache.h. Small and simple: a fixed number of slots, replaced
 * round-robin; lookups compare the full DER.
 */
#include "evidence/chain_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>

#include "util/x509util.h"

#define CHAIN_CACHE_SLOTS 32

struct chain_entry {
    uint8_t *der;
    size_t len;
    X509 *cert;
    time_t not_before, not_after; /* intersection over the verified chain */
    STACK_OF(X509) *chain;        /* the verified chain, leaf first */
    struct chain_cache_info info;
};

struct chain_cache {
    pthread_mutex_t lock;
    struct chain_entry e[CHAIN_CACHE_SLOTS];
    size_t next;
};

struct chain_cache *chain_cache_new(void)
{
    struct chain_cache *c = calloc(1, sizeof *c);
    if (c)
        pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void entry_clear(struct chain_entry *e)
{
    free(e->der);
    X509_free(e->cert);
    sk_X509_pop_free(e->chain, X509_free);
    memset(e, 0, sizeof *e);
}

void chain_cache_free(struct chain_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < CHAIN_CACHE_SLOTS; i++)
        entry_clear(&c->e[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

X509 *chain_cache_lookup(struct chain_cache *c, const uint8_t *der, size_t len, time_t at)
{
    return chain_cache_lookup_ex(c, der, len, NULL, at, 0, NULL, NULL);
}

X509 *chain_cache_lookup_ex(struct chain_cache *c, const uint8_t *der, size_t len,
                            const X509 *cert, time_t at, int tag, struct chain_cache_info *info,
                            STACK_OF(X509) **chain)
{
    if (chain)
        *chain = NULL;
    if (!c || (der ? len == 0 : !cert))
        return NULL;
    X509 *hit = NULL;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < CHAIN_CACHE_SLOTS; i++) {
        struct chain_entry *e = &c->e[i];
        bool same = der ? e->cert && e->len == len && memcmp(e->der, der, len) == 0
                        : e->cert == cert;
        if (same && (tag < 0 || e->info.tag == tag) && at >= e->not_before &&
            at <= e->not_after) {
            STACK_OF(X509) *ch = chain && e->chain ? X509_chain_up_ref(e->chain) : NULL;
            if ((chain && e->chain && !ch) || !X509_up_ref(e->cert)) {
                sk_X509_pop_free(ch, X509_free);
                break;
            }
            hit = e->cert;
            if (info)
                *info = e->info;
            if (chain)
                *chain = ch;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void chain_cache_add(struct chain_cache *c, const uint8_t *der, size_t len, X509 *cert,
                     X509_STORE_CTX *verified)
{
    if (verified)
        chain_cache_add_ex(c, der, len, cert, X509_STORE_CTX_get0_chain(verified), NULL);
}

void chain_cache_add_ex(struct chain_cache *c, const uint8_t *der, size_t len, X509 *cert,
                        STACK_OF(X509) *chain, const struct chain_cache_info *info)
{
    if (!c || !der || len == 0 || !cert || !chain || sk_X509_num(chain) < 1)
        return;
    time_t lo = 0, hi = (time_t)INT64_MAX;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        time_t nb, na;
        if (x509_time(X509_get0_notBefore(x), &nb) || x509_time(X509_get0_notAfter(x), &na))
            return; /* cannot bound the window: do not cache */
        if (nb > lo)
            lo = nb;
        if (na < hi)
            hi = na;
    }
    uint8_t *copy = malloc(len);
    STACK_OF(X509) *ch = X509_chain_up_ref(chain);
    if (!copy || !ch || !X509_up_ref(cert)) {
        free(copy);
        sk_X509_pop_free(ch, X509_free);
        return;
    }
    memcpy(copy, der, len);
    pthread_mutex_lock(&c->lock);
    struct chain_entry *e = &c->e[c->next];
    c->next = (c->next + 1) % CHAIN_CACHE_SLOTS;
    entry_clear(e);
    *e = (struct chain_entry){.der = copy, .len = len, .cert = cert, .not_before = lo,
                              .not_after = hi, .chain = ch};
    if (info)
        e->info = *info;
    pthread_mutex_unlock(&c->lock);
}
