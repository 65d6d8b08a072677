/*
 * pcs.c - Intel DCAP collateral from Intel PCS API v4 (research evidence.md A2 "Collateral (PCS
 * v4, JSON)") through the bounded libcurl GET of kds.c, into a disk cache; docs/collateral.md
 * "Intel PCS (TDX/SGX)" documents the URLs, the layout and the freshness rules.
 * Must never: return or cache a document that is not well-formed (JSON object with the
 * expected key, "signature" and nextUpdate; DER CRL; issuer chain of >= 2 PEM certificates),
 * re-serialise a JSON body (the signature is over the bytes as transmitted), treat what it
 * returns as verified, send plain http beyond loopback, or run two PCS fetches at once.
 */
#include "collateral/pcs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "collateral/kds_http.h"
#include "util/util.h"

enum pkind { PK_TCB, PK_QE, PK_PCKCRL, PK_ROOTCRL };

struct pitem {
    enum pkind kind;
    char rel[96];       /* cache-relative body file */
    char chain_rel[96]; /* cache-relative issuer chain file; "" for the Root CA CRL */
    const char *base;   /* URL policy base for the fetch (NULL = no network) */
    char url[1024];
    const char *hdr[2]; /* issuer-chain header names, preferred first (NULL = none) */
    size_t max;
    char fmspc[13];     /* PK_TCB: lower-case hex the tcbInfo must carry */
    char what[64];      /* for messages */
};

void pcs_doc_free(struct pcs_doc *d)
{
    if (!d)
        return;
    free(d->body);
    free(d->issuer_chain);
    memset(d, 0, sizeof *d);
}

/* ---- well-formedness ---- */

int pcs_percent_decode(const char *in, size_t len, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (!in || len > PCS_MAX_CHAIN_HEADER)
        return -1;
    uint8_t *buf = malloc(len + 1);
    if (!buf)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch < 0x20 || ch > 0x7e)
            goto bad;
        if (ch != '%') {
            buf[n++] = ch;
            continue;
        }
        if (len - i < 3)
            goto bad;
        int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
        if (hi < 0 || lo < 0)
            goto bad;
        buf[n++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
bad:
    free(buf);
    return -1;
}

static bool chain_ok(const uint8_t *pem, size_t n)
{
    struct collateral_chain ch;
    if (!pem || n == 0 || memchr(pem, '\0', n) || collateral_pem_chain_split(pem, n, &ch) != 0)
        return false;
    bool ok = ch.count >= 2; /* signing certificate (or PCK CA) ... Intel SGX Root CA */
    free(ch.buf);
    return ok;
}

/* 0 if b is the expected document; *next gets its nextUpdate (0 if a CRL has none). */
static int body_ok(const struct pitem *it, const uint8_t *b, size_t n, int64_t *next, char *why, size_t wl)
{
    *next = 0;
    if (it->kind == PK_PCKCRL || it->kind == PK_ROOTCRL) {
        if (!collateral_is_der_crl(b, n)) {
            errbuf_set(why, wl, "not a DER CRL");
            return -1;
        }
        const unsigned char *p = b;
        X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)n);
        const ASN1_TIME *nu = crl ? X509_CRL_get0_nextUpdate(crl) : NULL;
        struct tm tm;
        if (nu && ASN1_TIME_to_tm(nu, &tm) == 1) {
            time_t t = timegm(&tm);
            *next = t == (time_t)-1 ? 0 : (int64_t)t;
        }
        X509_CRL_free(crl);
        return 0;
    }
    const char *key = it->kind == PK_TCB ? "tcbInfo" : "enclaveIdentity";
    json_error_t je;
    json_t *root = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!root) {
        errbuf_set(why, wl, "not JSON (%s at offset %d)", je.text, je.position);
        return -1;
    }
    json_t *inner = json_object_get(root, key);
    json_t *sig = json_object_get(root, "signature");
    json_t *nu = json_is_object(inner) ? json_object_get(inner, "nextUpdate") : NULL;
    time_t t;
    if (!json_is_object(root)) {
        errbuf_set(why, wl, "not a JSON object");
    } else if (!json_is_object(inner)) {
        errbuf_set(why, wl, "no \"%s\" object", key);
    } else if (!json_is_string(sig) || json_string_length(sig) == 0) {
        errbuf_set(why, wl, "no \"signature\" string");
    } else if (!json_is_string(nu) || rfc3339_parse(json_string_value(nu), &t) != 0) {
        errbuf_set(why, wl, "%s.nextUpdate missing or not RFC 3339 UTC", key);
    } else if (it->kind == PK_TCB &&
               (!json_is_string(json_object_get(inner, "fmspc")) ||
                strcasecmp(json_string_value(json_object_get(inner, "fmspc")), it->fmspc) != 0)) {
        errbuf_set(why, wl, "tcbInfo.fmspc is not %s", it->fmspc);
    } else {
        *next = (int64_t)t;
        rc = 0;
    }
    json_decref(root);
    return rc;
}

/* ---- cache ---- */

/* A malloc'd buffer of n bytes gets a NUL after its last byte. */
static int nul_terminate(uint8_t **b, size_t n)
{
    uint8_t *nb = realloc(*b, n + 1);
    if (!nb)
        return -1;
    nb[n] = '\0';
    *b = nb;
    return 0;
}

/* 1 found and well-formed (d filled, *next, *mtime), 0 absent, -1 present but unusable (why). */
static int cache_read(const char *dir, const struct pitem *it, struct pcs_doc *d, int64_t *next,
                      int64_t *mtime, char *why, size_t wl)
{
    char path[4096];
    memset(d, 0, sizeof *d);
    if (path_join(path, sizeof path, dir, it->rel) != 0) {
        errbuf_set(why, wl, "cache path too long under %s", dir);
        return -1;
    }
    if (file_read(path, it->max, &d->body, &d->body_len) != 0) {
        if (errno == ENOENT)
            return 0;
        errbuf_set(why, wl, "cannot read %s: %s", path, errno == EFBIG ? "too large" : strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        errbuf_set(why, wl, "cannot stat %s", path);
        goto bad;
    }
    *mtime = (int64_t)st.st_mtime;
    if (nul_terminate(&d->body, d->body_len) != 0 || body_ok(it, d->body, d->body_len, next, why, wl) != 0)
        goto bad;
    if (it->chain_rel[0]) {
        if (path_join(path, sizeof path, dir, it->chain_rel) != 0 ||
            file_read(path, PCS_MAX_CHAIN_HEADER, &d->issuer_chain, &d->issuer_chain_len) != 0 ||
            nul_terminate(&d->issuer_chain, d->issuer_chain_len) != 0 ||
            !chain_ok(d->issuer_chain, d->issuer_chain_len)) {
            errbuf_set(why, wl, "%s/%s is missing or not a PEM chain of two or more certificates", dir,
                       it->chain_rel);
            goto bad;
        }
    }
    d->from_cache = true;
    d->fetched_at = *mtime;
    return 1;
bad:
    pcs_doc_free(d);
    return -1;
}

/* Best effort: the chain first, then the body (whose mtime is the fetch time), each atomic. */
static void cache_store(const char *dir, const struct pitem *it, const struct pcs_doc *d)
{
    char path[4096];
    if (it->chain_rel[0]) {
        if (path_join(path, sizeof path, dir, it->chain_rel) != 0 || mkdir_parents(path) != 0 ||
            file_write(path, d->issuer_chain, d->issuer_chain_len, 0644) != 0)
            return;
    }
    if (path_join(path, sizeof path, dir, it->rel) != 0 || mkdir_parents(path) != 0)
        return;
    (void)file_write(path, d->body, d->body_len, 0644);
}

/* ---- fetch ---- */

static int fetch(const struct pcs_config *c, const struct pitem *it, struct pcs_doc *d, int64_t *next,
                 char *err, size_t errlen)
{
    struct kds_http_header h[2] = {
        { .name = it->hdr[0], .max = PCS_MAX_CHAIN_HEADER },
        { .name = it->hdr[1], .max = PCS_MAX_CHAIN_HEADER },
    };
    size_t nh = it->hdr[1] ? 2 : it->hdr[0] ? 1 : 0;
    struct kds_http_request r = {
        .service = "Intel PCS",
        .hint = " (use a pre-filled cache)",
        .base = it->base, .url = it->url, .max = it->max,
        .timeout_ms = c->timeout_ms, .max_retries = c->max_retries,
        .headers = nh ? h : NULL, .nheaders = nh,
    };
    memset(d, 0, sizeof *d);
    int rc = kds_http_fetch(&r, &d->body, &d->body_len, err, errlen);
    if (rc != COLLATERAL_OK)
        return rc;
    char why[256] = "";
    if (nul_terminate(&d->body, d->body_len) != 0) {
        errbuf_set(why, sizeof why, "out of memory");
        goto bad;
    }
    if (body_ok(it, d->body, d->body_len, next, why, sizeof why) != 0)
        goto bad;
    if (nh) {
        const struct kds_http_header *got = h[0].value ? &h[0] : nh > 1 && h[1].value ? &h[1] : NULL;
        if (!got) {
            errbuf_set(why, sizeof why, "no %s header", it->hdr[0]);
            goto bad;
        }
        if (pcs_percent_decode(got->value, got->len, &d->issuer_chain, &d->issuer_chain_len) != 0) {
            errbuf_set(why, sizeof why, "header %s is not strictly percent-encoded", got->name);
            goto bad;
        }
        if (!chain_ok(d->issuer_chain, d->issuer_chain_len)) {
            errbuf_set(why, sizeof why, "header %s is not a PEM chain of two or more certificates", got->name);
            goto bad;
        }
    }
    kds_http_headers_free(h, nh);
    d->from_cache = false;
    d->fetched_at = (int64_t)time(NULL);
    return COLLATERAL_OK;
bad:
    kds_http_headers_free(h, nh);
    pcs_doc_free(d);
    errbuf_set(err, errlen, "Intel PCS response for %s: %s (not cached)", it->url, why);
    return COLLATERAL_NETWORK;
}

/* ---- lookup ---- */

/* Serialises every PCS fetch and the cache write that follows it. */
static pthread_mutex_t pcs_lock = PTHREAD_MUTEX_INITIALIZER;

static int refuse(const char *url, char *err, size_t errlen)
{
    if (collateral_url_allowed(url, NULL, 0) == COLLATERAL_OK)
        return COLLATERAL_OK;
    errbuf_set(err, errlen, "refusing Intel PCS URL '%s': only https:// is allowed (plain http only to "
               "127.0.0.1, localhost or [::1]; no userinfo, query or fragment)", url ? url : "");
    return COLLATERAL_REFUSED;
}

static int lookup(const struct pcs_config *c, const struct pitem *it, struct pcs_doc *out, char *err,
                  size_t errlen)
{
    int64_t now = c->now ? c->now : (int64_t)time(NULL);
    if (c->base_url) {
        int r = refuse(c->base_url, err, errlen);
        if (r == COLLATERAL_OK && it->base != c->base_url)
            r = refuse(it->base, err, errlen);
        if (r != COLLATERAL_OK)
            return r;
    }
    if (!c->cache_dir && !c->base_url) {
        errbuf_set(err, errlen, "Intel %s: neither a cache nor Intel PCS is configured", it->what);
        return COLLATERAL_NOT_FOUND;
    }

    pthread_mutex_lock(&pcs_lock);
    /* the cache, re-read under the lock: a concurrent caller may just have filled it */
    struct pcs_doc cached = { 0 };
    bool have = false, cached_fresh = false;
    char why[256] = "absent";
    if (c->cache_dir) {
        int64_t next = 0, mtime = 0;
        int r = cache_read(c->cache_dir, it, &cached, &next, &mtime, why, sizeof why);
        if (r > 0) {
            int64_t age = now > mtime ? now - mtime : 0; /* fetched "after" now: just fetched */
            have = true;
            cached_fresh = now < next && age < PCS_CACHE_MAX_AGE_S;
            cached.stale = !cached_fresh;
        }
        /* r < 0: an unreadable or malformed entry is ignored (and replaced by a fetch) */
    }
    if (have && (cached_fresh || !c->base_url)) {
        pthread_mutex_unlock(&pcs_lock);
        *out = cached;
        if (cached.stale)
            errbuf_set(err, errlen, "Intel %s: cached copy %s/%s is past its nextUpdate or older than 24 h, "
                       "and the network is off", it->what, c->cache_dir, it->rel);
        return COLLATERAL_OK;
    }
    if (!c->base_url) {
        pthread_mutex_unlock(&pcs_lock);
        errbuf_set(err, errlen, "Intel %s not in the cache (%s/%s: %s) and Intel PCS is disabled", it->what,
                   c->cache_dir, it->rel, why);
        return COLLATERAL_NOT_FOUND;
    }
    struct pcs_doc d;
    int64_t next = 0;
    int r = fetch(c, it, &d, &next, err, errlen);
    if (r == COLLATERAL_OK) {
        d.stale = !(now < next);
        if (c->cache_dir)
            cache_store(c->cache_dir, it, &d);
        if (have)
            pcs_doc_free(&cached);
        *out = d;
    } else if (have && (r == COLLATERAL_NETWORK || r == COLLATERAL_RATE_LIMITED)) {
        /* a stale copy beats none: the verifier checks signatures and decides on freshness */
        if (err && errlen) {
            char why2[512];
            snprintf(why2, sizeof why2, "%s", err);
            errbuf_set(err, errlen, "Intel %s: using the stale cached copy (refresh failed: %s)", it->what, why2);
        }
        *out = cached;
        r = COLLATERAL_OK;
    } else if (have) {
        pcs_doc_free(&cached);
    }
    pthread_mutex_unlock(&pcs_lock);
    return r;
}

/* ---- the four documents ---- */

static size_t base_len(const char *base)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return n;
}

static int start(const struct pcs_config *c, struct pcs_doc *out, char *err, size_t errlen)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!c || !out) {
        errbuf_set(err, errlen, "Intel PCS: missing argument");
        return -1;
    }
    return 0;
}

/* it->url = base_url (without trailing slashes) + tail; nothing without base_url. */
static int url_set(const struct pcs_config *c, struct pitem *it, const char *tail, char *err, size_t errlen)
{
    if (!c->base_url)
        return 0;
    it->base = c->base_url;
    int n = snprintf(it->url, sizeof it->url, "%.*s%s", (int)base_len(c->base_url), c->base_url, tail);
    if (n < 0 || (size_t)n >= sizeof it->url) {
        errbuf_set(err, errlen, "Intel PCS: URL too long");
        return -1;
    }
    return 0;
}

int pcs_tcb_info(const struct pcs_config *c, bool tdx, const uint8_t fmspc[6], struct pcs_doc *out,
                 char *err, size_t errlen)
{
    if (start(c, out, err, errlen) != 0 || !fmspc) {
        errbuf_set(err, errlen, "Intel PCS: missing argument");
        return COLLATERAL_ERR;
    }
    const char *tee = tdx ? "tdx" : "sgx";
    struct pitem it = { .kind = PK_TCB, .hdr = { "TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain" },
                        .max = PCS_MAX_JSON };
    char upper[13];
    hex_encode(fmspc, 6, it.fmspc);
    for (int i = 0; i < 13; i++)
        upper[i] = (char)(it.fmspc[i] >= 'a' && it.fmspc[i] <= 'f' ? it.fmspc[i] - 'a' + 'A' : it.fmspc[i]);
    snprintf(it.rel, sizeof it.rel, "intel/%s/tcb-%s.json", tee, it.fmspc);
    snprintf(it.chain_rel, sizeof it.chain_rel, "intel/%s/tcb-%s.chain.pem", tee, it.fmspc);
    snprintf(it.what, sizeof it.what, "%s TCB info for FMSPC %s", tdx ? "TDX" : "SGX", upper);
    char tail[96];
    snprintf(tail, sizeof tail, "/%s/certification/v4/tcb?fmspc=%s", tee, upper);
    if (url_set(c, &it, tail, err, errlen) != 0)
        return COLLATERAL_ERR;
    return lookup(c, &it, out, err, errlen);
}

int pcs_qe_identity(const struct pcs_config *c, bool tdx, struct pcs_doc *out, char *err, size_t errlen)
{
    if (start(c, out, err, errlen) != 0)
        return COLLATERAL_ERR;
    const char *tee = tdx ? "tdx" : "sgx";
    struct pitem it = { .kind = PK_QE, .hdr = { "SGX-Enclave-Identity-Issuer-Chain", NULL }, .max = PCS_MAX_JSON };
    snprintf(it.rel, sizeof it.rel, "intel/%s/qe-identity.json", tee);
    snprintf(it.chain_rel, sizeof it.chain_rel, "intel/%s/qe-identity.chain.pem", tee);
    snprintf(it.what, sizeof it.what, "%s QE identity", tdx ? "TDX" : "SGX");
    char tail[96];
    snprintf(tail, sizeof tail, "/%s/certification/v4/qe/identity", tee);
    if (url_set(c, &it, tail, err, errlen) != 0)
        return COLLATERAL_ERR;
    return lookup(c, &it, out, err, errlen);
}

int pcs_pck_crl(const struct pcs_config *c, bool platform_ca, struct pcs_doc *out, char *err, size_t errlen)
{
    if (start(c, out, err, errlen) != 0)
        return COLLATERAL_ERR;
    const char *ca = platform_ca ? "platform" : "processor";
    struct pitem it = { .kind = PK_PCKCRL, .hdr = { "SGX-PCK-CRL-Issuer-Chain", NULL }, .max = PCS_MAX_CRL };
    snprintf(it.rel, sizeof it.rel, "intel/pckcrl-%s.der", ca);
    snprintf(it.chain_rel, sizeof it.chain_rel, "intel/pckcrl-%s.chain.pem", ca);
    snprintf(it.what, sizeof it.what, "PCK %s CA CRL", ca);
    char tail[96];
    snprintf(tail, sizeof tail, "/sgx/certification/v4/pckcrl?ca=%s&encoding=der", ca);
    if (url_set(c, &it, tail, err, errlen) != 0)
        return COLLATERAL_ERR;
    return lookup(c, &it, out, err, errlen);
}

int pcs_root_crl(const struct pcs_config *c, struct pcs_doc *out, char *err, size_t errlen)
{
    if (start(c, out, err, errlen) != 0)
        return COLLATERAL_ERR;
    struct pitem it = { .kind = PK_ROOTCRL, .max = PCS_MAX_CRL };
    snprintf(it.rel, sizeof it.rel, "intel/root-crl.der");
    snprintf(it.what, sizeof it.what, "SGX Root CA CRL");
    if (c->base_url) {
        const char *u = c->root_crl_url;
        int n;
        if (u) {
            n = snprintf(it.url, sizeof it.url, "%s", u);
        } else if (strncasecmp(c->base_url, "http://", 7) == 0 &&
                   collateral_url_allowed(c->base_url, NULL, 0) == COLLATERAL_OK) {
            /* a loopback mirror serves the Root CA CRL too */
            n = snprintf(it.url, sizeof it.url, "%.*s/IntelSGXRootCA.der", (int)base_len(c->base_url),
                         c->base_url);
        } else {
            n = snprintf(it.url, sizeof it.url, "%s", PCS_ROOT_CRL_URL);
        }
        if (n < 0 || (size_t)n >= sizeof it.url) {
            errbuf_set(err, errlen, "Intel PCS: Root CA CRL URL too long");
            return COLLATERAL_ERR;
        }
        it.base = it.url;
    }
    return lookup(c, &it, out, err, errlen);
}
