/*
 * test_collateral.c - SNP collateral lookup (src/collateral): KDS URL construction for
 * Milan/Genoa/Turin, the plain-http refusal, the offline bundle, the disk cache, and the
 * KDS client against a tiny HTTP server on 127.0.0.1 (one thread, a bounded number of
 * requests, poll timeouts): 200, 429 + Retry-After then 200, 404, oversized, garbage, and a
 * rate limit that never lifts. Must never touch the network beyond 127.0.0.1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "collateral/collateral.h"
#include "lib/http_fixture.h"
#include "lib/tmpdir.h"
#include "util/util.h"

/* ---- test objects: self-signed P-384 certificates and a CRL ---- */

static EVP_PKEY *test_key(void)
{
    static EVP_PKEY *k;
    if (!k)
        k = EVP_EC_gen("P-384");
    return k;
}

static X509 *make_x509(const char *cn)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, test_key());
    X509_sign(x, test_key(), EVP_sha384());
    return x;
}

static uint8_t *make_cert_der(const char *cn, size_t *len)
{
    X509 *x = make_x509(cn);
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    X509_free(x);
    assert_true(n > 0);
    uint8_t *out = malloc((size_t)n);
    memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    *len = (size_t)n;
    return out;
}

static char *make_chain_pem(int count)
{
    BIO *b = BIO_new(BIO_s_mem());
    for (int i = 0; i < count; i++) {
        X509 *x = make_x509(i == 0 ? "SEV-Milan" : "ARK-Milan");
        PEM_write_bio_X509(b, x);
        X509_free(x);
    }
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)n + 1);
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    return out;
}

static uint8_t *make_crl_der(size_t *len)
{
    X509_CRL *c = X509_CRL_new();
    X509_CRL_set_version(c, 1);
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"ARK-Milan", -1, -1, 0);
    X509_CRL_set_issuer_name(c, n);
    X509_NAME_free(n);
    ASN1_TIME *t = ASN1_TIME_adj(NULL, time(NULL), 0, 0);
    X509_CRL_set1_lastUpdate(c, t);
    ASN1_TIME_free(t);
    X509_CRL_sign(c, test_key(), EVP_sha384());
    unsigned char *der = NULL;
    int k = i2d_X509_CRL(c, &der);
    X509_CRL_free(c);
    assert_true(k > 0);
    uint8_t *out = malloc((size_t)k);
    memcpy(out, der, (size_t)k);
    OPENSSL_free(der);
    *len = (size_t)k;
    return out;
}

/* ---- chip ids ---- */

static void chip(uint8_t id[64], uint8_t seed, size_t n)
{
    memset(id, 0, 64);
    for (size_t i = 0; i < n; i++)
        id[i] = (uint8_t)(seed + i);
}

static const struct snp_tcb tcb_milan = { .bootloader = 3, .tee = 0, .snp = 8, .microcode = 115 };
static const struct snp_tcb tcb_turin = { .fmc = 1, .bootloader = 1, .tee = 1, .snp = 4, .microcode = 82 };

/* ---- the 127.0.0.1 HTTP server ---- */

#define SRV_MAX_REQ 16

struct server {
    struct http_fixture http; /* its mu also guards hits_429_once */
    int hits_429_once;
    uint8_t *vcek;
    size_t vcek_len;
    char *chain;
    uint8_t *crl;
    size_t crl_len;
};

/* Paths are told apart by the first hwid byte: 0x10 Milan 200, 0x20 Genoa 429-once, 0x30 oversized,
 * 0x40 always 429, 0x50 garbage. Anything else: 404. */
static void respond(void *arg, int c, const char *path)
{
    struct server *s = arg;
    char hdr[256];
    const void *body = NULL;
    size_t blen = 0;
    uint8_t *big = NULL;
    int status = 200, no_length = 0;
    const char *extra = "";
    if (strncmp(path, "/vcek/v1/Milan/10", 17) == 0 || strncmp(path, "/vcek/v1/Turin/10", 17) == 0) {
        body = s->vcek;
        blen = s->vcek_len;
    } else if (strncmp(path, "/vcek/v1/Genoa/20", 17) == 0) {
        pthread_mutex_lock(&s->http.mu);
        int first = s->hits_429_once++ == 0;
        pthread_mutex_unlock(&s->http.mu);
        if (first) {
            status = 429;
            extra = "Retry-After: 1\r\n";
        } else {
            body = s->vcek;
            blen = s->vcek_len;
        }
    } else if (strncmp(path, "/vcek/v1/Milan/30", 17) == 0) {
        blen = COLLATERAL_MAX_CERT + 4096;
        big = calloc(1, blen);
        big[0] = 0x30;
        body = big;
        no_length = 1; /* exercise the streaming bound, not just Content-Length */
    } else if (strncmp(path, "/vcek/v1/Milan/40", 17) == 0) {
        status = 429;
    } else if (strncmp(path, "/vcek/v1/Milan/50", 17) == 0) {
        body = "hello, not a certificate";
        blen = strlen(body);
    } else if (strcmp(path, "/vcek/v1/Milan/cert_chain") == 0) {
        body = s->chain;
        blen = strlen(s->chain);
    } else if (strcmp(path, "/vcek/v1/Milan/crl") == 0) {
        body = s->crl;
        blen = s->crl_len;
    } else {
        status = 404;
    }
    const char *reason = status == 200 ? "OK" : status == 429 ? "Too Many Requests" : "Not Found";
    int n;
    if (no_length)
        n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %d %s\r\nConnection: close\r\n%s\r\n", status, reason, extra);
    else
        n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                     status, reason, body ? blen : 0, extra);
    (void)send(c, hdr, (size_t)n, MSG_NOSIGNAL);
    if (body) {
        const uint8_t *p = body;
        size_t off = 0;
        while (off < blen) {
            ssize_t w = send(c, p + off, blen - off > 8192 ? 8192 : blen - off, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
    }
    free(big);
}

static int requests(struct server *s)
{
    return http_fixture_requests(&s->http);
}

/* ---- fixture: server + temporary cache and bundle directories ---- */

struct fx {
    struct server srv;
    char cache[64];
    char bundle[64];
    struct collateral_config cfg;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct server *s = &f->srv;
    s->vcek = make_cert_der("SEV-VCEK", &s->vcek_len);
    s->chain = make_chain_pem(2);
    s->crl = make_crl_der(&s->crl_len);
    http_fixture_start(&s->http, SRV_MAX_REQ, respond, s);
    strcpy(f->cache, "/tmp/tether-coll-cache-XXXXXX");
    strcpy(f->bundle, "/tmp/tether-coll-bundle-XXXXXX");
    assert_non_null(mkdtemp(f->cache));
    assert_non_null(mkdtemp(f->bundle));
    f->cfg = (struct collateral_config){ .cache_dir = f->cache, .kds_base_url = s->http.base,
                                         .timeout_ms = 5000, .max_retries = 2 };
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    struct server *s = &f->srv;
    http_fixture_free(&s->http);
    free(s->vcek);
    free(s->chain);
    free(s->crl);
    tmpdir_remove(f->cache);
    tmpdir_remove(f->bundle);
    free(f);
    return 0;
}

/* ---- tests ---- */

static void test_url_construction(void **state)
{
    (void)state;
    uint8_t id[64];
    char url[1024], rel[256];
    char want[1024];

    chip(id, 0xa0, 64);
    char hw[129];
    hex_encode(id, 64, hw);
    assert_int_equal(collateral_snp_vcek_url("https://kdsintf.amd.com", SNP_GEN_MILAN, id, 64, &tcb_milan, url,
                                             sizeof url), 0);
    snprintf(want, sizeof want, "https://kdsintf.amd.com/vcek/v1/Milan/%s?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115", hw);
    assert_string_equal(url, want);
    assert_int_equal(collateral_snp_vcek_url("https://kdsintf.amd.com/", SNP_GEN_GENOA, id, 64, &tcb_milan, url,
                                             sizeof url), 0);
    snprintf(want, sizeof want, "https://kdsintf.amd.com/vcek/v1/Genoa/%s?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115", hw);
    assert_string_equal(url, want);
    assert_int_equal(collateral_snp_vcek_relpath(SNP_GEN_GENOA, id, 64, &tcb_milan, rel, sizeof rel), 0);
    snprintf(want, sizeof want, "snp/Genoa/vcek/%s-3-0-8-115.der", hw);
    assert_string_equal(rel, want);

    /* Turin: 8-byte id (16 hex digits), fmcSPL first; from 8 bytes or from the 64-byte CHIP_ID */
    static const uint8_t turin[8] = { 0x6b, 0xb1, 0x22, 0x9b, 0x76, 0x92, 0xb7, 0x10 };
    memset(id, 0, 64);
    memcpy(id, turin, 8);
    static const char turl[] =
        "https://kdsintf.amd.com/vcek/v1/Turin/6bb1229b7692b710?fmcSPL=01&blSPL=01&teeSPL=01&snpSPL=04&ucodeSPL=82";
    assert_int_equal(collateral_snp_vcek_url(COLLATERAL_KDS_URL, SNP_GEN_TURIN, turin, 8, &tcb_turin, url, sizeof url), 0);
    assert_string_equal(url, turl);
    assert_int_equal(collateral_snp_vcek_url(COLLATERAL_KDS_URL, SNP_GEN_TURIN, id, 64, &tcb_turin, url, sizeof url), 0);
    assert_string_equal(url, turl);
    assert_int_equal(collateral_snp_vcek_relpath(SNP_GEN_TURIN, id, 64, &tcb_turin, rel, sizeof rel), 0);
    assert_string_equal(rel, "snp/Turin/vcek/6bb1229b7692b710-1-1-4-82-1.der");
    id[9] = 1; /* a Turin CHIP_ID with bytes past the eighth is not a Turin id */
    assert_int_not_equal(collateral_snp_vcek_url(COLLATERAL_KDS_URL, SNP_GEN_TURIN, id, 64, &tcb_turin, url, sizeof url), 0);
    /* wrong lengths, masked (all-zero) ids, unknown generation, short buffer */
    assert_int_not_equal(collateral_snp_vcek_url(COLLATERAL_KDS_URL, SNP_GEN_MILAN, turin, 8, &tcb_milan, url, sizeof url), 0);
    memset(id, 0, 64);
    assert_int_not_equal(collateral_snp_vcek_url(COLLATERAL_KDS_URL, SNP_GEN_MILAN, id, 64, &tcb_milan, url, sizeof url), 0);
    chip(id, 1, 64);
    assert_int_not_equal(collateral_snp_vcek_url(COLLATERAL_KDS_URL, SNP_GEN_UNKNOWN, id, 64, &tcb_milan, url, sizeof url), 0);
    assert_int_not_equal(collateral_snp_vcek_url(COLLATERAL_KDS_URL, SNP_GEN_MILAN, id, 64, &tcb_milan, url, 100), 0);
}

static void test_url_policy(void **state)
{
    (void)state;
    static const char *ok[] = { "https://kdsintf.amd.com", "https://kds.example.org/mirror/", "http://127.0.0.1:8080",
                                "http://localhost", "http://LOCALHOST:1/x", "http://[::1]:443/" };
    static const char *bad[] = { "http://kdsintf.amd.com", "http://127.0.0.1.evil.com", "http://127.0.0.1@evil.com",
                                 "http://localhost.evil.com:80", "http://[::2]/", "http://127.0.0.1:80x",
                                 "ftp://127.0.0.1", "file:///etc/passwd", "https://", "https://a b", "",
                                 "http://127.0.0.1:8080?x", "kdsintf.amd.com" };
    char err[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_int_equal(collateral_url_allowed(ok[i], err, sizeof err), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(collateral_url_allowed(bad[i], err, sizeof err), COLLATERAL_REFUSED);

    /* the lookup refuses before any request is made */
    uint8_t id[64], *der = NULL;
    size_t len = 0;
    chip(id, 0x10, 64);
    struct collateral_config cfg = { .kds_base_url = "http://kdsintf.amd.com", .timeout_ms = 1000 };
    assert_int_equal(collateral_snp_vcek(&cfg, SNP_GEN_MILAN, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_REFUSED);
    assert_null(der);
    assert_non_null(strstr(err, "only https://"));
}

static void test_fetch_then_cache(void **state)
{
    struct fx *f = *state;
    uint8_t id[64], *der = NULL;
    size_t len = 0;
    char err[512] = "", rel[256];
    chip(id, 0x10, 64);
    assert_int_equal(collateral_snp_vcek(&f->cfg, SNP_GEN_MILAN, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_OK);
    assert_int_equal(len, f->srv.vcek_len);
    assert_memory_equal(der, f->srv.vcek, len);
    free(der);
    assert_int_equal(requests(&f->srv), 1);
    char hw[129];
    hex_encode(id, 64, hw);
    char want[640];
    snprintf(want, sizeof want, "/vcek/v1/Milan/%s?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115", hw);
    assert_string_equal(f->srv.http.targets[0], want);

    mode_t mode = 0;
    assert_int_equal(collateral_snp_vcek_relpath(SNP_GEN_MILAN, id, 64, &tcb_milan, rel, sizeof rel), 0);
    assert_true(tmpdir_file_mode(f->cache, rel, &mode));
    assert_int_equal(mode, 0644);

    /* second lookup: from the cache, no request */
    der = NULL;
    assert_int_equal(collateral_snp_vcek(&f->cfg, SNP_GEN_MILAN, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_OK);
    assert_memory_equal(der, f->srv.vcek, len);
    free(der);
    assert_int_equal(requests(&f->srv), 1);

    /* cache only, network off */
    struct collateral_config off = { .cache_dir = f->cache };
    der = NULL;
    assert_int_equal(collateral_snp_vcek(&off, SNP_GEN_MILAN, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_OK);
    free(der);
    /* a different TCB is a different VCEK: not in the cache, network off */
    struct snp_tcb other = tcb_milan;
    other.microcode = 116;
    der = NULL;
    assert_int_equal(collateral_snp_vcek(&off, SNP_GEN_MILAN, id, 64, &other, &der, &len, err, sizeof err),
                     COLLATERAL_NOT_FOUND);
    assert_null(der);
    assert_non_null(strstr(err, "KDS is disabled"));
    assert_int_equal(requests(&f->srv), 1);

    /* Turin through the server: 8-byte id, fmcSPL in the query */
    uint8_t tid[64];
    chip(tid, 0x10, 8);
    der = NULL;
    assert_int_equal(collateral_snp_vcek(&f->cfg, SNP_GEN_TURIN, tid, 8, &tcb_turin, &der, &len, err, sizeof err),
                     COLLATERAL_OK);
    free(der);
    assert_int_equal(requests(&f->srv), 2);
    assert_string_equal(f->srv.http.targets[1], "/vcek/v1/Turin/1011121314151617?fmcSPL=01&blSPL=01&teeSPL=01&snpSPL=04&ucodeSPL=82");
}

static void test_429_retry_after(void **state)
{
    struct fx *f = *state;
    uint8_t id[64], *der = NULL;
    size_t len = 0;
    char err[512] = "";
    chip(id, 0x20, 64);
    int64_t t0 = now_ms();
    assert_int_equal(collateral_snp_vcek(&f->cfg, SNP_GEN_GENOA, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_OK);
    int64_t dt = now_ms() - t0;
    assert_true(dt >= 950);   /* honoured Retry-After: 1 */
    assert_true(dt < 5000);
    assert_memory_equal(der, f->srv.vcek, len);
    free(der);
    assert_int_equal(requests(&f->srv), 2);
    assert_string_equal(f->srv.http.targets[0], f->srv.http.targets[1]);
}

static void test_rate_limit_gives_up(void **state)
{
    struct fx *f = *state;
    uint8_t id[64], *der = NULL;
    size_t len = 0;
    char err[512] = "";
    chip(id, 0x40, 64);
    f->cfg.max_retries = 1;
    int64_t t0 = now_ms();
    assert_int_equal(collateral_snp_vcek(&f->cfg, SNP_GEN_MILAN, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_RATE_LIMITED);
    assert_true(now_ms() - t0 >= 950); /* exponential back-off: 1 s before the one retry */
    assert_null(der);
    assert_non_null(strstr(err, "rate limit"));
    assert_non_null(strstr(err, "429"));
    assert_int_equal(requests(&f->srv), 2);
    /* straight after: no new request while the back-off window runs */
    t0 = now_ms();
    assert_int_equal(collateral_snp_vcek(&f->cfg, SNP_GEN_MILAN, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_RATE_LIMITED);
    assert_true(now_ms() - t0 < 500);
    assert_non_null(strstr(err, "rate limit"));
    assert_int_equal(requests(&f->srv), 2);
}

static void test_404(void **state)
{
    struct fx *f = *state;
    uint8_t id[64], *der = NULL;
    size_t len = 0;
    char err[512] = "";
    chip(id, 0x77, 64);
    assert_int_equal(collateral_snp_vcek(&f->cfg, SNP_GEN_MILAN, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_NOT_FOUND);
    assert_null(der);
    assert_non_null(strstr(err, "HTTP 404"));
    assert_non_null(strstr(err, "/vcek/v1/Milan/7778"));
    assert_int_equal(requests(&f->srv), 1);
}

static void test_oversized_and_garbage_refused(void **state)
{
    struct fx *f = *state;
    uint8_t id[64], *der = NULL;
    size_t len = 0;
    char err[512] = "", rel[256];
    chip(id, 0x30, 64);
    assert_int_equal(collateral_snp_vcek(&f->cfg, SNP_GEN_MILAN, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_NETWORK);
    assert_null(der);
    assert_non_null(strstr(err, "larger than 65536"));
    assert_int_equal(collateral_snp_vcek_relpath(SNP_GEN_MILAN, id, 64, &tcb_milan, rel, sizeof rel), 0);
    assert_false(tmpdir_file_mode(f->cache, rel, NULL));

    chip(id, 0x50, 64);
    assert_int_equal(collateral_snp_vcek(&f->cfg, SNP_GEN_MILAN, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_NETWORK);
    assert_null(der);
    assert_non_null(strstr(err, "not a DER X.509"));
    assert_int_equal(collateral_snp_vcek_relpath(SNP_GEN_MILAN, id, 64, &tcb_milan, rel, sizeof rel), 0);
    assert_false(tmpdir_file_mode(f->cache, rel, NULL));
    assert_int_equal(requests(&f->srv), 2);
}

static void put(const char *dir, const char *rel, const void *b, size_t n)
{
    char p[512], d[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    snprintf(d, sizeof d, "%s", p);
    for (char *s = d + strlen(dir) + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(d, 0755);
            *s = '/';
        }
    assert_int_equal(file_write(p, b, n, 0644), 0);
}

static void test_bundle_offline(void **state)
{
    struct fx *f = *state;
    uint8_t id[64], *der = NULL;
    size_t len = 0;
    char err[512] = "", rel[256];
    chip(id, 0x90, 64);
    assert_int_equal(collateral_snp_vcek_relpath(SNP_GEN_GENOA, id, 64, &tcb_milan, rel, sizeof rel), 0);
    put(f->bundle, rel, f->srv.vcek, f->srv.vcek_len);
    put(f->bundle, "snp/Genoa/cert_chain.pem", f->srv.chain, strlen(f->srv.chain));
    put(f->bundle, "snp/Genoa/crl.der", f->srv.crl, f->srv.crl_len);

    struct collateral_config off = { .bundle_dir = f->bundle };
    assert_int_equal(collateral_snp_vcek(&off, SNP_GEN_GENOA, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_OK);
    assert_memory_equal(der, f->srv.vcek, len);
    free(der);
    assert_int_equal(collateral_snp_chain(&off, SNP_GEN_GENOA, false, &der, &len, err, sizeof err), COLLATERAL_OK);
    assert_int_equal(len, strlen(f->srv.chain));
    free(der);
    assert_int_equal(collateral_snp_crl(&off, SNP_GEN_GENOA, false, &der, &len, err, sizeof err), COLLATERAL_OK);
    assert_int_equal(len, f->srv.crl_len);
    free(der);
    /* the VLEK chain is a separate file: absent here */
    der = NULL;
    assert_int_equal(collateral_snp_chain(&off, SNP_GEN_GENOA, true, &der, &len, err, sizeof err),
                     COLLATERAL_NOT_FOUND);
    assert_non_null(strstr(err, "snp/Genoa/vlek_cert_chain.pem"));
    /* the bundle wins over KDS: no request even with the network on */
    struct collateral_config both = f->cfg;
    both.bundle_dir = f->bundle;
    assert_int_equal(collateral_snp_vcek(&both, SNP_GEN_GENOA, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_OK);
    free(der);
    assert_int_equal(requests(&f->srv), 0);
    /* a malformed bundle file is an error, not a fall-through */
    put(f->bundle, rel, "garbage", 7);
    der = NULL;
    assert_int_equal(collateral_snp_vcek(&both, SNP_GEN_GENOA, id, 64, &tcb_milan, &der, &len, err, sizeof err),
                     COLLATERAL_ERR);
    assert_non_null(strstr(err, "is not a DER X.509"));
    assert_int_equal(requests(&f->srv), 0);
}

static void test_chain_and_crl_fetch(void **state)
{
    struct fx *f = *state;
    uint8_t *b = NULL;
    size_t len = 0;
    char err[512] = "";
    assert_int_equal(collateral_snp_chain(&f->cfg, SNP_GEN_MILAN, false, &b, &len, err, sizeof err), COLLATERAL_OK);
    assert_int_equal(len, strlen(f->srv.chain));
    free(b);
    assert_int_equal(collateral_snp_crl(&f->cfg, SNP_GEN_MILAN, false, &b, &len, err, sizeof err), COLLATERAL_OK);
    assert_memory_equal(b, f->srv.crl, len);
    free(b);
    assert_int_equal(requests(&f->srv), 2);
    assert_string_equal(f->srv.http.targets[0], "/vcek/v1/Milan/cert_chain");
    assert_string_equal(f->srv.http.targets[1], "/vcek/v1/Milan/crl");
    assert_true(tmpdir_file_mode(f->cache, "snp/Milan/cert_chain.pem", NULL));
    assert_true(tmpdir_file_mode(f->cache, "snp/Milan/crl.der", NULL));
    /* fresh in the cache: no new request */
    assert_int_equal(collateral_snp_chain(&f->cfg, SNP_GEN_MILAN, false, &b, &len, err, sizeof err), COLLATERAL_OK);
    free(b);
    assert_int_equal(collateral_snp_crl(&f->cfg, SNP_GEN_MILAN, false, &b, &len, err, sizeof err), COLLATERAL_OK);
    free(b);
    assert_int_equal(requests(&f->srv), 2);
    /* a stale CRL is refreshed (age it past the max age) */
    char p[512];
    snprintf(p, sizeof p, "%s/snp/Milan/crl.der", f->cache);
    struct timespec ts[2] = { { .tv_sec = time(NULL) - COLLATERAL_CRL_MAX_AGE_S - 10 },
                              { .tv_sec = time(NULL) - COLLATERAL_CRL_MAX_AGE_S - 10 } };
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    assert_int_equal(collateral_snp_crl(&f->cfg, SNP_GEN_MILAN, false, &b, &len, err, sizeof err), COLLATERAL_OK);
    free(b);
    assert_int_equal(requests(&f->srv), 3);
    /* the VLEK chain: the /vlek/ path (404 here) */
    b = NULL;
    assert_int_equal(collateral_snp_chain(&f->cfg, SNP_GEN_MILAN, true, &b, &len, err, sizeof err),
                     COLLATERAL_NOT_FOUND);
    assert_string_equal(f->srv.http.targets[3], "/vlek/v1/Milan/cert_chain");
}

static void test_pem_split(void **state)
{
    (void)state;
    struct collateral_chain ch;
    char *two = make_chain_pem(2), *three = make_chain_pem(3);
    assert_int_equal(collateral_pem_chain_split((const uint8_t *)two, strlen(two), &ch), 0);
    assert_int_equal(ch.count, 2);
    assert_true(collateral_is_der_cert(ch.cert[0].p, ch.cert[0].n));
    free(ch.buf);
    assert_int_equal(collateral_pem_chain_split((const uint8_t *)three, strlen(three), &ch), 0);
    assert_int_equal(ch.count, 3);
    free(ch.buf);
    /* text between blocks, a truncated block, a broken base64 body, empty input */
    size_t n = strlen(two);
    char *bad = malloc(n + 16);
    snprintf(bad, n + 16, "junk\n%s", two);
    assert_int_not_equal(collateral_pem_chain_split((const uint8_t *)bad, strlen(bad), &ch), 0);
    assert_int_not_equal(collateral_pem_chain_split((const uint8_t *)two, n - 30, &ch), 0);
    memcpy(bad, two, n + 1);
    bad[40] = '!';
    assert_int_not_equal(collateral_pem_chain_split((const uint8_t *)bad, n, &ch), 0);
    assert_int_not_equal(collateral_pem_chain_split((const uint8_t *)"", 0, &ch), 0);
    assert_int_not_equal(collateral_pem_chain_split((const uint8_t *)" \n", 2, &ch), 0);
    free(bad);
    free(two);
    free(three);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_construction),
        cmocka_unit_test(test_url_policy),
        cmocka_unit_test(test_pem_split),
        cmocka_unit_test_setup_teardown(test_fetch_then_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_and_garbage_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_and_crl_fetch, setup, teardown),
    };
    int rc = cmocka_run_group_tests_name("collateral", tests, NULL, NULL);
    EVP_PKEY_free(test_key());
    return rc;
}
