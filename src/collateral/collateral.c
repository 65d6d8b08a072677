/*
 * collateral.c - SNP collateral lookup: offline bundle, then disk cache, then AMD KDS
 * (docs/collateral.md gives the layout, the cache ages and the back-off), and the strict
 * well-formedness checks applied before anything is returned or cached.
 * Must never: return or cache bytes that do not parse as the expected object, treat what it
 * returns as verified (bundle, cache and KDS bytes are only well-formed: the verifier checks
 * signatures against pinned roots), or run two KDS fetches at once in one process.
 */
#include "collateral/collateral.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/x509.h>

#include "collateral/kds_http.h"
#include "util/util.h"

/* ---- well-formedness ---- */

bool collateral_is_der_cert(const uint8_t *buf, size_t len)
{
    if (!buf || len == 0 || len > COLLATERAL_MAX_CERT || buf[0] != 0x30)
        return false;
    const unsigned char *p = buf;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    bool ok = x && p == buf + len;
    X509_free(x);
    return ok;
}

bool collateral_is_der_crl(const uint8_t *buf, size_t len)
{
    if (!buf || len == 0 || len > COLLATERAL_MAX_CRL || buf[0] != 0x30)
        return false;
    const unsigned char *p = buf;
    X509_CRL *x = d2i_X509_CRL(NULL, &p, (long)len);
    bool ok = x && p == buf + len;
    X509_CRL_free(x);
    return ok;
}

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const uint8_t *find(const uint8_t *h, size_t hl, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; nl <= hl && i <= hl - nl; i++)
        if (memcmp(h + i, needle, nl) == 0)
            return h + i;
    return NULL;
}

int collateral_pem_chain_split(const uint8_t *pem, size_t len, struct collateral_chain *out)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    memset(out, 0, sizeof *out);
    if (!pem || len == 0 || len > COLLATERAL_MAX_CERT)
        return -1;
    /* One block for every decoded certificate: DER is shorter than its base64. */
    uint8_t *buf = malloc(len);
    char *b64 = malloc(len + 1);
    if (!buf || !b64) {
        free(buf);
        free(b64);
        return -1;
    }
    size_t used = 0, i = 0;
    int rc = -1;
    for (;;) {
        while (i < len && is_ws(pem[i]))
            i++;
        if (i == len)
            break;
        if (out->count == sizeof out->cert / sizeof out->cert[0])
            goto done;
        if (len - i < sizeof begin - 1 || memcmp(pem + i, begin, sizeof begin - 1) != 0)
            goto done;
        i += sizeof begin - 1;
        const uint8_t *e = find(pem + i, len - i, end);
        if (!e)
            goto done;
        size_t bl = 0;
        for (const uint8_t *q = pem + i; q < e; q++) {
            if (is_ws(*q))
                continue;
            if (*q == '-' || *q == ':') /* no headers, no nested markers */
                goto done;
            b64[bl++] = (char)*q;
        }
        b64[bl] = '\0';
        i = (size_t)(e - pem) + sizeof end - 1;
        uint8_t *der = NULL;
        size_t dl = 0;
        if (bl == 0 || base64_decode(b64, bl, &der, &dl) != 0)
            goto done;
        if (dl > len - used || !collateral_is_der_cert(der, dl)) {
            free(der);
            goto done;
        }
        memcpy(buf + used, der, dl);
        free(der);
        out->cert[out->count].p = buf + used;
        out->cert[out->count].n = dl;
        out->count++;
        used += dl;
    }
    rc = out->count > 0 ? 0 : -1;
done:
    free(b64);
    if (rc != 0) {
        free(buf);
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->buf = buf;
    return 0;
}

enum kind { K_CERT, K_CHAIN, K_CRL };

static bool valid(enum kind k, const uint8_t *b, size_t n)
{
    if (k == K_CERT)
        return collateral_is_der_cert(b, n);
    if (k == K_CRL)
        return collateral_is_der_crl(b, n);
    struct collateral_chain ch;
    if (collateral_pem_chain_split(b, n, &ch) != 0)
        return false;
    bool ok = ch.count == 2; /* ASK (ASVK) then ARK */
    free(ch.buf);
    return ok;
}

static const char *kind_what(enum kind k)
{
    return k == K_CERT ? "a DER X.509 certificate" : k == K_CRL ? "a DER CRL" : "a PEM chain of two certificates";
}

/* ---- lookup ---- */

/* Serialises every KDS fetch and the cache write that follows it. */
static pthread_mutex_t kds_lock = PTHREAD_MUTEX_INITIALIZER;

struct item {
    enum kind kind;
    const char *rel;  /* bundle/cache relative path */
    const char *url;  /* full KDS URL (NULL when KDS is off) */
    size_t max;
    long max_age_s;   /* 0 = never expires */
    const char *what; /* for messages */
};

/* 1 found (valid), 0 absent, -1 present but unusable (err set). age_s gets the file's age. */
static int read_entry(const char *dir, const struct item *it, uint8_t **out, size_t *len, long *age_s,
                      char *err, size_t errlen)
{
    char path[4096];
    *out = NULL;
    *len = 0;
    if (path_join(path, sizeof path, dir, it->rel) != 0) {
        errbuf_set(err, errlen, "collateral path too long under %s", dir);
        return -1;
    }
    if (file_read(path, it->max, out, len) != 0) {
        if (errno == ENOENT)
            return 0;
        errbuf_set(err, errlen, "cannot read %s: %s", path, errno == EFBIG ? "too large" : strerror(errno));
        return -1;
    }
    if (!valid(it->kind, *out, *len)) {
        errbuf_set(err, errlen, "%s is not %s", path, kind_what(it->kind));
        free(*out);
        *out = NULL;
        *len = 0;
        return -1;
    }
    struct stat st;
    *age_s = 0;
    if (stat(path, &st) == 0) {
        time_t now = time(NULL);
        *age_s = now > st.st_mtime ? (long)(now - st.st_mtime) : 0;
    }
    return 1;
}

static void cache_store(const char *dir, const struct item *it, const uint8_t *b, size_t n)
{
    char path[4096];
    if (path_join(path, sizeof path, dir, it->rel) != 0 || mkdir_parents(path) != 0)
        return;
    (void)file_write(path, b, n, 0644); /* best effort: the fetched object is returned anyway */
}

static int lookup(const struct collateral_config *c, const struct item *it, uint8_t **out, size_t *len,
                  char *err, size_t errlen)
{
    long age = 0;
    int r;
    *out = NULL;
    *len = 0;
    /* 1. the offline bundle: authoritative when present; a malformed file is an error */
    if (c->bundle_dir) {
        r = read_entry(c->bundle_dir, it, out, len, &age, err, errlen);
        if (r != 0)
            return r > 0 ? COLLATERAL_OK : COLLATERAL_ERR;
    }
    if (!c->cache_dir && !c->kds_base_url) {
        errbuf_set(err, errlen, "%s not found in the bundle (%s/%s) and neither a cache nor KDS is configured",
                   it->what, c->bundle_dir ? c->bundle_dir : "(none)", it->rel);
        return COLLATERAL_NOT_FOUND;
    }
    if (c->kds_base_url) {
        int u = collateral_url_allowed(c->kds_base_url, err, errlen);
        if (u != COLLATERAL_OK)
            return u;
    }

    pthread_mutex_lock(&kds_lock);
    /* 2. the cache (re-read under the lock: a concurrent caller may just have filled it) */
    uint8_t *stale = NULL;
    size_t stale_len = 0;
    if (c->cache_dir) {
        char ignore[8];
        r = read_entry(c->cache_dir, it, out, len, &age, ignore, sizeof ignore);
        if (r > 0) {
            if (it->max_age_s == 0 || age <= it->max_age_s || !c->kds_base_url) {
                pthread_mutex_unlock(&kds_lock);
                return COLLATERAL_OK;
            }
            stale = *out; /* kept in case the refresh fails */
            stale_len = *len;
            *out = NULL;
            *len = 0;
        }
        /* r < 0: an unreadable or malformed cache entry is ignored and replaced below */
    }
    if (!c->kds_base_url) {
        pthread_mutex_unlock(&kds_lock);
        errbuf_set(err, errlen, "%s not found in the bundle or the cache (%s/%s) and KDS is disabled",
                   it->what, c->cache_dir, it->rel);
        return COLLATERAL_NOT_FOUND;
    }
    /* 3. AMD KDS */
    uint8_t *b = NULL;
    size_t n = 0;
    r = kds_http_get(c, c->kds_base_url, it->url, it->max, &b, &n, err, errlen);
    if (r == COLLATERAL_OK && !valid(it->kind, b, n)) {
        errbuf_set(err, errlen, "KDS response for %s is not %s (not cached)", it->url, kind_what(it->kind));
        free(b);
        b = NULL;
        r = COLLATERAL_NETWORK;
    }
    if (r == COLLATERAL_OK) {
        if (c->cache_dir)
            cache_store(c->cache_dir, it, b, n);
        free(stale);
        *out = b;
        *len = n;
    } else if (stale) {
        /* a chain or CRL past its refresh age still beats none: the verifier checks the chain
         * against the pinned roots and the CRL's nextUpdate */
        *out = stale;
        *len = stale_len;
        r = COLLATERAL_OK;
    }
    pthread_mutex_unlock(&kds_lock);
    return r;
}

static int check_args(const struct collateral_config *c, enum snp_generation g, uint8_t **out, size_t *len,
                      char *err, size_t errlen)
{
    if (!c || !out || !len) {
        errbuf_set(err, errlen, "collateral: missing argument");
        return -1;
    }
    *out = NULL;
    *len = 0;
    if (!collateral_snp_product(g)) {
        errbuf_set(err, errlen, "collateral: unknown SNP generation (Milan, Genoa or Turin needed)");
        return -1;
    }
    return 0;
}

int collateral_snp_vcek(const struct collateral_config *c, enum snp_generation g, const uint8_t *chip_id,
                        size_t chip_id_len, const struct snp_tcb *tcb, uint8_t **der, size_t *len, char *err,
                        size_t errlen)
{
    if (check_args(c, g, der, len, err, errlen) != 0)
        return COLLATERAL_ERR;
    char rel[256], url[1024];
    if (!tcb || collateral_snp_vcek_relpath(g, chip_id, chip_id_len, tcb, rel, sizeof rel) != 0) {
        errbuf_set(err, errlen, "collateral: chip id unusable for %s (need %s bytes, not all zero: "
                   "MASK_CHIP_ID reports have no KDS VCEK)", collateral_snp_product(g),
                   g == SNP_GEN_TURIN ? "8 (or 64 with bytes 8..63 zero)" : "64");
        return COLLATERAL_ERR;
    }
    if (c->kds_base_url &&
        collateral_snp_vcek_url(c->kds_base_url, g, chip_id, chip_id_len, tcb, url, sizeof url) != 0) {
        errbuf_set(err, errlen, "collateral: KDS URL too long");
        return COLLATERAL_ERR;
    }
    struct item it = { K_CERT, rel, c->kds_base_url ? url : NULL, COLLATERAL_MAX_CERT, 0, "VCEK" };
    return lookup(c, &it, der, len, err, errlen);
}

static int chain_or_crl(const struct collateral_config *c, enum snp_generation g, bool vlek, bool crl,
                        uint8_t **out, size_t *len, char *err, size_t errlen)
{
    if (check_args(c, g, out, len, err, errlen) != 0)
        return COLLATERAL_ERR;
    const char *prod = collateral_snp_product(g);
    const char *file = crl ? (vlek ? "vlek_crl.der" : "crl.der") : (vlek ? "vlek_cert_chain.pem" : "cert_chain.pem");
    char rel[256], url[1024] = "";
    snprintf(rel, sizeof rel, "snp/%s/%s", prod, file);
    if (c->kds_base_url) {
        const char *b = c->kds_base_url;
        size_t bl = strlen(b);
        while (bl > 0 && b[bl - 1] == '/')
            bl--;
        if (snprintf(url, sizeof url, "%.*s/%s/v1/%s/%s", (int)bl, b, vlek ? "vlek" : "vcek", prod,
                     crl ? "crl" : "cert_chain") >= (int)sizeof url) {
            errbuf_set(err, errlen, "collateral: KDS URL too long");
            return COLLATERAL_ERR;
        }
    }
    char what[64];
    snprintf(what, sizeof what, "%s %s %s", prod, vlek ? "VLEK" : "VCEK", crl ? "CRL" : "certificate chain");
    struct item it = { crl ? K_CRL : K_CHAIN, rel, c->kds_base_url ? url : NULL,
                       crl ? COLLATERAL_MAX_CRL : COLLATERAL_MAX_CERT,
                       crl ? COLLATERAL_CRL_MAX_AGE_S : COLLATERAL_CHAIN_MAX_AGE_S, what };
    return lookup(c, &it, out, len, err, errlen);
}

int collateral_snp_chain(const struct collateral_config *c, enum snp_generation g, bool vlek, uint8_t **pem,
                         size_t *len, char *err, size_t errlen)
{
    return chain_or_crl(c, g, vlek, false, pem, len, err, errlen);
}

int collateral_snp_crl(const struct collateral_config *c, enum snp_generation g, bool vlek, uint8_t **der,
                       size_t *len, char *err, size_t errlen)
{
    return chain_or_crl(c, g, vlek, true, der, len, err, errlen);
}
