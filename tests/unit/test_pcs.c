/*
 * test_pcs.c - Intel PCS v4 collateral (src/collateral/pcs.c) against an in-process HTTP/1.1
 * server on 127.0.0.1 (one thread, ephemeral port, poll timeouts, a bounded number of
 * requests) serving the real go-tdx-guest collateral from $TETHER_VECTORS (../shared/vectors
 * by default) with percent-encoded issuer-chain headers: URL paths and queries, byte-exact
 * bodies and chains, the disk cache and its freshness (nextUpdate, 24 h), the stale fallback,
 * 404, 429 + Retry-After, malformed responses (nothing cached), the plain-http refusal, and
 * offline use. Cases needing vectors skip with a note when they are absent.
 * Must never touch the network beyond 127.0.0.1.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "collateral/pcs.h"
#include "lib/http_fixture.h"
#include "lib/tmpdir.h"
#include "lib/vectors.h"
#include "util/util.h"

/* Clocks for the freshness decisions (pcs_config.now). */
#define NOW_TCB ((int64_t)1771113600)   /* 2026-02-15T00:00:00Z: TCB info fresh (next 2026-03-03) */
#define AFTER_TCB ((int64_t)1773100800) /* 2026-03-10T00:00:00Z: past its nextUpdate */
#define NOW_QE ((int64_t)1687219200)    /* 2023-06-20T00:00:00Z: QE identity, PCK CRL, root CRL fresh */

static const uint8_t FMSPC[6] = { 0x90, 0xc0, 0x6f, 0x00, 0x00, 0x00 };
#define TCB_PATH_TDX "/tdx/certification/v4/tcb?fmspc=90C06F000000"
#define TCB_PATH_SGX "/sgx/certification/v4/tcb?fmspc=90C06F000000"
#define QE_PATH_TDX "/tdx/certification/v4/qe/identity"
#define QE_PATH_SGX "/sgx/certification/v4/qe/identity"
#define CRL_PATH_PLATFORM "/sgx/certification/v4/pckcrl?ca=platform&encoding=der"
#define CRL_PATH_PROCESSOR "/sgx/certification/v4/pckcrl?ca=processor&encoding=der"

/* ---- the real collateral ---- */

struct blob {
    uint8_t *p;
    size_t n;
};

static struct {
    int ok;
    struct blob tcb, tcb_chain, tcb_other, qe, qe_chain, crl, crl_chain, root;
} V;

static int load(const char *name, struct blob *b)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tdx/go-tdx-guest/collateral/%s", name);
    b->p = test_vector("Intel collateral", rel, &b->n);
    return b->p ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    V.ok = load("tcbinfo_90c06f000000_2026-02-01.json", &V.tcb) == 0 &&
           load("tcbinfo_issuer_chain.pem", &V.tcb_chain) == 0 &&
           load("tcbinfo_50806f000000_2023-06-18.json", &V.tcb_other) == 0 &&
           load("qe_identity_TD_QE_2023-06-08.json", &V.qe) == 0 &&
           load("qeidentity_issuer_chain.pem", &V.qe_chain) == 0 &&
           load("pckcrl_platform_2023-06-08.der", &V.crl) == 0 &&
           load("pckcrl_issuer_chain.pem", &V.crl_chain) == 0 &&
           load("rootcrl_2023-04-03.der", &V.root) == 0;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    struct blob *all[] = { &V.tcb, &V.tcb_chain, &V.tcb_other, &V.qe, &V.qe_chain, &V.crl, &V.crl_chain, &V.root };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->p);
    return 0;
}

#define NEED_VECTORS()                                                          \
    do {                                                                        \
        if (!V.ok) {                                                            \
            fprintf(stderr, "# skip: %s needs the Intel collateral vectors\n", __func__); \
            skip();                                                             \
        }                                                                       \
    } while (0)

/* Percent-encode everything but RFC 3986 unreserved characters, as PCS does. */
static char *pct(const uint8_t *p, size_t n)
{
    char *o = malloc(3 * n + 1), *q = o;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~')
            *q++ = (char)c;
        else
            q += sprintf(q, "%%%02X", c);
    }
    *q = '\0';
    return o;
}

/* "Name: <percent-encoded pem>\r\n", malloc'd. */
static char *chain_hdr(const char *name, const struct blob *pem)
{
    char *e = pct(pem->p, pem->n);
    size_t n = strlen(name) + strlen(e) + 8;
    char *h = malloc(n);
    snprintf(h, n, "%s: %s\r\n", name, e);
    free(e);
    return h;
}

/* ---- the loopback server ---- */

#define MAX_ROUTES 8
#define MAX_SEQ 12

struct resp {
    int status;
    char *headers; /* extra header lines, each ending in CRLF (malloc'd copy) */
    uint8_t *body; /* malloc'd copy */
    size_t len;
};

struct route {
    char target[256];
    struct resp seq[MAX_SEQ]; /* served in order; the last one repeats */
    int n, hits;
};

struct server {
    struct http_fixture http; /* its mu also guards the routes */
    struct route routes[MAX_ROUTES];
    int nroutes;
};

static void route(struct server *s, const char *target, int status, const char *headers, const void *body,
                  size_t len)
{
    pthread_mutex_lock(&s->http.mu);
    struct route *r = NULL;
    for (int i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].target, target) == 0)
            r = &s->routes[i];
    if (!r) {
        assert_true(s->nroutes < MAX_ROUTES);
        r = &s->routes[s->nroutes++];
        snprintf(r->target, sizeof r->target, "%s", target);
    }
    assert_true(r->n < MAX_SEQ);
    struct resp *x = &r->seq[r->n++];
    x->status = status;
    x->headers = strdup(headers ? headers : "");
    x->body = malloc(len ? len : 1);
    if (len)
        memcpy(x->body, body, len);
    x->len = len;
    pthread_mutex_unlock(&s->http.mu);
}

static void send_all(int c, const void *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        struct pollfd pf = { .fd = c, .events = POLLOUT };
        if (poll(&pf, 1, 2000) <= 0)
            return;
        ssize_t w = send(c, (const uint8_t *)p + off, n - off > 16384 ? 16384 : n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

static void respond(void *arg, int c, const char *target)
{
    struct server *s = arg;
    pthread_mutex_lock(&s->http.mu);
    const struct resp *x = NULL;
    for (int i = 0; i < s->nroutes; i++) {
        struct route *r = &s->routes[i];
        if (strcmp(r->target, target) == 0 && r->n > 0) {
            x = &r->seq[r->hits < r->n ? r->hits : r->n - 1];
            r->hits++;
        }
    }
    int status = x ? x->status : 404;
    const char *reason = status == 200 ? "OK" : status == 429 ? "Too Many Requests" : status == 404 ? "Not Found" : "X";
    size_t blen = x ? x->len : 0;
    char *hdr = malloc(256 + (x ? strlen(x->headers) : 0));
    int n = sprintf(hdr, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status, reason, blen,
                    x ? x->headers : "");
    uint8_t *body = blen ? malloc(blen) : NULL;
    if (blen)
        memcpy(body, x->body, blen);
    pthread_mutex_unlock(&s->http.mu);
    send_all(c, hdr, (size_t)n);
    if (blen)
        send_all(c, body, blen);
    free(hdr);
    free(body);
}

static void server_start(struct server *s)
{
    http_fixture_start(&s->http, HTTP_FIXTURE_MAX_REQ, respond, s);
}

/* Stops the thread and closes the port: later requests get "connection refused". */
static void server_stop(struct server *s)
{
    http_fixture_stop(&s->http);
}

static int requests(struct server *s)
{
    return http_fixture_requests(&s->http);
}

static void assert_request(struct server *s, int i, const char *target)
{
    char want[600];
    snprintf(want, sizeof want, "GET %s HTTP/1.1", target);
    pthread_mutex_lock(&s->http.mu);
    char got[512];
    snprintf(got, sizeof got, "%s", i < s->http.nreq ? s->http.reqs[i] : "(none)");
    pthread_mutex_unlock(&s->http.mu);
    assert_string_equal(got, want);
}

/* ---- fixture ---- */

struct fx {
    struct server srv;
    char cache[64];
    struct pcs_config cfg;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    server_start(&f->srv);
    strcpy(f->cache, "/tmp/tether-pcs-cache-XXXXXX");
    assert_non_null(mkdtemp(f->cache));
    f->cfg = (struct pcs_config){ .cache_dir = f->cache, .base_url = f->srv.http.base, .timeout_ms = 5000,
                                  .max_retries = 2, .now = NOW_TCB };
    *state = f;
    return 0;
}

static int files_seen;
static int count_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)p, (void)ftw;
    if (flag == FTW_F && S_ISREG(st->st_mode))
        files_seen++;
    return 0;
}

static int cache_files(const char *dir)
{
    files_seen = 0;
    nftw(dir, count_one, 8, FTW_PHYS);
    return files_seen;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    struct server *s = &f->srv;
    http_fixture_free(&s->http);
    for (int i = 0; i < s->nroutes; i++)
        for (int k = 0; k < s->routes[i].n; k++) {
            free(s->routes[i].seq[k].headers);
            free(s->routes[i].seq[k].body);
        }
    tmpdir_remove(f->cache);
    free(f);
    return 0;
}

static void assert_file_equals(const char *dir, const char *rel, const struct blob *want)
{
    char p[512];
    uint8_t *b = NULL;
    size_t n = 0;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    assert_int_equal(file_read(p, 1u << 20, &b, &n), 0);
    assert_int_equal(n, want->n);
    assert_memory_equal(b, want->p, n);
    free(b);
}

static void set_mtime(const char *dir, const char *rel, int64_t t)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    struct timeval tv[2] = { { .tv_sec = (time_t)t }, { .tv_sec = (time_t)t } };
    assert_int_equal(utimes(p, tv), 0);
}

static void assert_doc(const struct pcs_doc *d, const struct blob *body, const struct blob *chain)
{
    assert_non_null(d->body);
    assert_int_equal(d->body_len, body->n);
    assert_memory_equal(d->body, body->p, body->n);
    assert_int_equal(d->body[d->body_len], 0);
    if (chain) {
        assert_non_null(d->issuer_chain);
        assert_int_equal(d->issuer_chain_len, chain->n);
        assert_memory_equal(d->issuer_chain, chain->p, chain->n);
        assert_int_equal(d->issuer_chain[d->issuer_chain_len], 0);
    } else {
        assert_null(d->issuer_chain);
        assert_int_equal(d->issuer_chain_len, 0);
    }
}

/* ---- tests ---- */

static void test_percent_decode(void **state)
{
    (void)state;
    uint8_t *o;
    size_t n;
    const char *ok = "abc%41%2b+%0A%2F-_.~";
    assert_int_equal(pcs_percent_decode(ok, strlen(ok), &o, &n), 0);
    assert_int_equal(n, 12);
    assert_memory_equal(o, "abcA++\n/-_.~", 12);
    assert_int_equal(o[n], 0);
    free(o);
    assert_int_equal(pcs_percent_decode("", 0, &o, &n), 0);
    assert_int_equal(n, 0);
    free(o);
    const char *bad[] = { "%", "%4", "abc%G0", "a%0", "%%41", "a\nb", "a\tb", "\x80", "%4g" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pcs_percent_decode(bad[i], strlen(bad[i]), &o, &n), -1);
        assert_null(o);
    }
    char *big = malloc(PCS_MAX_CHAIN_HEADER + 2);
    memset(big, 'A', PCS_MAX_CHAIN_HEADER + 1);
    big[PCS_MAX_CHAIN_HEADER + 1] = '\0';
    assert_int_equal(pcs_percent_decode(big, PCS_MAX_CHAIN_HEADER + 1, &o, &n), -1);
    assert_int_equal(pcs_percent_decode(big, PCS_MAX_CHAIN_HEADER, &o, &n), 0);
    free(o);
    free(big);
    if (V.ok) { /* the real chain survives the round trip byte for byte */
        char *e = pct(V.tcb_chain.p, V.tcb_chain.n);
        assert_int_equal(pcs_percent_decode(e, strlen(e), &o, &n), 0);
        assert_int_equal(n, V.tcb_chain.n);
        assert_memory_equal(o, V.tcb_chain.p, n);
        free(o);
        free(e);
    }
}

static void test_tcb_fetch_then_cache(void **state)
{
    NEED_VECTORS();
    struct fx *f = *state;
    char *h = chain_hdr("TCB-Info-Issuer-Chain", &V.tcb_chain);
    route(&f->srv, TCB_PATH_TDX, 200, h, V.tcb.p, V.tcb.n);
    free(h);
    struct pcs_doc d;
    char err[512] = "";
    int64_t t0 = (int64_t)time(NULL);
    assert_int_equal(pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    assert_int_equal(requests(&f->srv), 1);
    assert_request(&f->srv, 0, TCB_PATH_TDX);
    assert_doc(&d, &V.tcb, &V.tcb_chain);
    assert_false(d.from_cache);
    assert_false(d.stale);
    assert_true(d.fetched_at >= t0);
    pcs_doc_free(&d);
    mode_t m = 0;
    assert_true(tmpdir_file_mode(f->cache, "intel/tdx/tcb-90c06f000000.json", &m));
    assert_int_equal(m, 0644);
    assert_true(tmpdir_file_mode(f->cache, "intel/tdx/tcb-90c06f000000.chain.pem", &m));
    assert_int_equal(m, 0644);
    assert_true(tmpdir_file_mode(f->cache, "intel/tdx", &m));
    assert_int_equal(m, 0755);
    assert_true(tmpdir_file_mode(f->cache, "intel", &m));
    assert_int_equal(m, 0755);
    assert_file_equals(f->cache, "intel/tdx/tcb-90c06f000000.json", &V.tcb);
    assert_file_equals(f->cache, "intel/tdx/tcb-90c06f000000.chain.pem", &V.tcb_chain);
    assert_int_equal(cache_files(f->cache), 2);

    /* the second call is served from the cache: no request */
    assert_int_equal(pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    assert_int_equal(requests(&f->srv), 1);
    assert_doc(&d, &V.tcb, &V.tcb_chain);
    assert_true(d.from_cache);
    assert_false(d.stale);
    pcs_doc_free(&d);

    /* another FMSPC is another object */
    const uint8_t other[6] = { 0x50, 0x80, 0x6f, 0, 0, 0 };
    assert_int_equal(pcs_tcb_info(&f->cfg, true, other, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    assert_int_equal(requests(&f->srv), 2);
    assert_request(&f->srv, 1, "/tdx/certification/v4/tcb?fmspc=50806F000000");
    assert_non_null(strstr(err, "HTTP 404"));
}

static void test_sgx_and_qe_paths(void **state)
{
    NEED_VECTORS();
    struct fx *f = *state;
    f->cfg.now = NOW_QE;
    char *h = chain_hdr("SGX-TCB-Info-Issuer-Chain", &V.tcb_chain); /* the pre-v4 header name */
    route(&f->srv, TCB_PATH_SGX, 200, h, V.tcb.p, V.tcb.n);
    free(h);
    h = chain_hdr("SGX-Enclave-Identity-Issuer-Chain", &V.qe_chain);
    route(&f->srv, QE_PATH_TDX, 200, h, V.qe.p, V.qe.n);
    route(&f->srv, QE_PATH_SGX, 200, h, V.qe.p, V.qe.n);
    free(h);
    struct pcs_doc d;
    char err[512];
    assert_int_equal(pcs_tcb_info(&f->cfg, false, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    assert_request(&f->srv, 0, TCB_PATH_SGX);
    assert_doc(&d, &V.tcb, &V.tcb_chain);
    pcs_doc_free(&d);
    assert_int_equal(pcs_qe_identity(&f->cfg, true, &d, err, sizeof err), COLLATERAL_OK);
    assert_request(&f->srv, 1, QE_PATH_TDX);
    assert_doc(&d, &V.qe, &V.qe_chain);
    assert_false(d.from_cache);
    assert_false(d.stale);
    pcs_doc_free(&d);
    assert_int_equal(pcs_qe_identity(&f->cfg, false, &d, err, sizeof err), COLLATERAL_OK);
    assert_request(&f->srv, 2, QE_PATH_SGX);
    assert_doc(&d, &V.qe, &V.qe_chain);
    pcs_doc_free(&d);
    assert_true(tmpdir_file_mode(f->cache, "intel/sgx/tcb-90c06f000000.json", NULL));
    assert_true(tmpdir_file_mode(f->cache, "intel/sgx/tcb-90c06f000000.chain.pem", NULL));
    assert_file_equals(f->cache, "intel/tdx/qe-identity.json", &V.qe);
    assert_file_equals(f->cache, "intel/tdx/qe-identity.chain.pem", &V.qe_chain);
    assert_file_equals(f->cache, "intel/sgx/qe-identity.json", &V.qe);
    assert_int_equal(cache_files(f->cache), 6);
    /* all three from the cache now */
    assert_int_equal(pcs_qe_identity(&f->cfg, true, &d, err, sizeof err), COLLATERAL_OK);
    assert_true(d.from_cache);
    assert_doc(&d, &V.qe, &V.qe_chain);
    pcs_doc_free(&d);
    assert_int_equal(pcs_qe_identity(&f->cfg, false, &d, err, sizeof err), COLLATERAL_OK);
    pcs_doc_free(&d);
    assert_int_equal(pcs_tcb_info(&f->cfg, false, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    assert_true(d.from_cache);
    pcs_doc_free(&d);
    assert_int_equal(requests(&f->srv), 3);
}

static void test_crls(void **state)
{
    NEED_VECTORS();
    struct fx *f = *state;
    f->cfg.now = NOW_QE;
    char *h = chain_hdr("SGX-PCK-CRL-Issuer-Chain", &V.crl_chain);
    route(&f->srv, CRL_PATH_PLATFORM, 200, h, V.crl.p, V.crl.n);
    route(&f->srv, CRL_PATH_PROCESSOR, 200, h, V.crl.p, V.crl.n);
    free(h);
    route(&f->srv, "/IntelSGXRootCA.der", 200, NULL, V.root.p, V.root.n);
    route(&f->srv, "/other/root.der", 200, NULL, V.root.p, V.root.n);
    struct pcs_doc d;
    char err[512];
    assert_int_equal(pcs_pck_crl(&f->cfg, true, &d, err, sizeof err), COLLATERAL_OK);
    assert_request(&f->srv, 0, CRL_PATH_PLATFORM);
    assert_doc(&d, &V.crl, &V.crl_chain);
    assert_false(d.stale);
    pcs_doc_free(&d);
    assert_int_equal(pcs_pck_crl(&f->cfg, false, &d, err, sizeof err), COLLATERAL_OK);
    assert_request(&f->srv, 1, CRL_PATH_PROCESSOR);
    assert_doc(&d, &V.crl, &V.crl_chain);
    pcs_doc_free(&d);
    /* the Root CA CRL: from the loopback mirror's /IntelSGXRootCA.der, no chain header */
    assert_int_equal(pcs_root_crl(&f->cfg, &d, err, sizeof err), COLLATERAL_OK);
    assert_request(&f->srv, 2, "/IntelSGXRootCA.der");
    assert_doc(&d, &V.root, NULL);
    assert_false(d.stale);
    pcs_doc_free(&d);
    assert_file_equals(f->cache, "intel/pckcrl-platform.der", &V.crl);
    assert_file_equals(f->cache, "intel/pckcrl-platform.chain.pem", &V.crl_chain);
    assert_file_equals(f->cache, "intel/pckcrl-processor.der", &V.crl);
    assert_file_equals(f->cache, "intel/root-crl.der", &V.root);
    assert_int_equal(cache_files(f->cache), 5);
    /* cached: no request */
    assert_int_equal(pcs_pck_crl(&f->cfg, true, &d, err, sizeof err), COLLATERAL_OK);
    assert_true(d.from_cache);
    assert_doc(&d, &V.crl, &V.crl_chain);
    pcs_doc_free(&d);
    assert_int_equal(pcs_root_crl(&f->cfg, &d, err, sizeof err), COLLATERAL_OK);
    assert_true(d.from_cache);
    assert_doc(&d, &V.root, NULL);
    pcs_doc_free(&d);
    assert_int_equal(requests(&f->srv), 3);
    /* an explicit root_crl_url, without a cache: fetched every time */
    char root_url[128];
    snprintf(root_url, sizeof root_url, "%s/other/root.der", f->srv.http.base);
    struct pcs_config nc = f->cfg;
    nc.cache_dir = NULL;
    nc.root_crl_url = root_url;
    assert_int_equal(pcs_root_crl(&nc, &d, err, sizeof err), COLLATERAL_OK);
    assert_request(&f->srv, 3, "/other/root.der");
    assert_false(d.from_cache);
    pcs_doc_free(&d);
    assert_int_equal(pcs_root_crl(&nc, &d, err, sizeof err), COLLATERAL_OK);
    pcs_doc_free(&d);
    assert_int_equal(requests(&f->srv), 5);
    /* a CRL past its nextUpdate (the PCK CRL's is 2023-07-08) is refetched */
    f->cfg.now = NOW_QE + 30L * 86400;
    assert_int_equal(pcs_pck_crl(&f->cfg, true, &d, err, sizeof err), COLLATERAL_OK);
    assert_false(d.from_cache);
    assert_true(d.stale); /* the mirror's copy is just as old */
    pcs_doc_free(&d);
    assert_int_equal(requests(&f->srv), 6);
}

static void test_refetch_and_stale_fallback(void **state)
{
    NEED_VECTORS();
    struct fx *f = *state;
    char *h = chain_hdr("TCB-Info-Issuer-Chain", &V.tcb_chain);
    route(&f->srv, TCB_PATH_TDX, 200, h, V.tcb.p, V.tcb.n);
    free(h);
    struct pcs_doc d;
    char err[512];
    const char *rel = "intel/tdx/tcb-90c06f000000.json";
    assert_int_equal(pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    pcs_doc_free(&d);
    assert_int_equal(requests(&f->srv), 1);
    /* now past nextUpdate: the cache is not used, the document is fetched again */
    f->cfg.now = AFTER_TCB;
    assert_int_equal(pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    assert_int_equal(requests(&f->srv), 2);
    assert_false(d.from_cache);
    assert_true(d.stale); /* what the server has is past its nextUpdate too */
    pcs_doc_free(&d);
    /* the server is gone: the stale copy, flagged */
    server_stop(&f->srv);
    assert_int_equal(pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    assert_true(d.from_cache);
    assert_true(d.stale);
    assert_doc(&d, &V.tcb, &V.tcb_chain);
    assert_non_null(strstr(err, "stale"));
    pcs_doc_free(&d);
    /* before nextUpdate but older than 24 h: a refresh is tried (and fails), stale copy */
    f->cfg.now = NOW_TCB;
    set_mtime(f->cache, rel, NOW_TCB - 25 * 3600);
    err[0] = '\0';
    assert_int_equal(pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    assert_true(d.from_cache);
    assert_true(d.stale);
    assert_int_equal(d.fetched_at, NOW_TCB - 25 * 3600);
    assert_non_null(strstr(err, "refresh failed"));
    pcs_doc_free(&d);
    /* younger than 24 h and before nextUpdate: fresh, no refresh attempted */
    set_mtime(f->cache, rel, NOW_TCB - 3600);
    assert_int_equal(pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    assert_true(d.from_cache);
    assert_false(d.stale);
    assert_string_equal(err, "");
    pcs_doc_free(&d);
    /* network off: the cache whatever its age, stale flagged */
    f->cfg.base_url = NULL;
    f->cfg.now = AFTER_TCB;
    assert_int_equal(pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    assert_true(d.from_cache);
    assert_true(d.stale);
    assert_doc(&d, &V.tcb, &V.tcb_chain);
    pcs_doc_free(&d);
    f->cfg.now = NOW_TCB;
    assert_int_equal(pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    assert_false(d.stale);
    pcs_doc_free(&d);
    assert_int_equal(requests(&f->srv), 2);
}

static void test_404(void **state)
{
    struct fx *f = *state;
    struct pcs_doc d;
    char err[512];
    assert_int_equal(pcs_qe_identity(&f->cfg, true, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    assert_non_null(strstr(err, "HTTP 404"));
    assert_non_null(strstr(err, QE_PATH_TDX));
    assert_null(d.body);
    assert_int_equal(pcs_pck_crl(&f->cfg, false, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    assert_int_equal(pcs_root_crl(&f->cfg, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    assert_int_equal(requests(&f->srv), 3);
    assert_int_equal(cache_files(f->cache), 0);
}

static void test_429_retry_after(void **state)
{
    NEED_VECTORS();
    struct fx *f = *state;
    char *h = chain_hdr("TCB-Info-Issuer-Chain", &V.tcb_chain);
    route(&f->srv, TCB_PATH_TDX, 429, "Retry-After: 1\r\n", "slow down", 9);
    route(&f->srv, TCB_PATH_TDX, 200, h, V.tcb.p, V.tcb.n);
    free(h);
    struct pcs_doc d;
    char err[512];
    int64_t t0 = now_ms();
    assert_int_equal(pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    int64_t took = now_ms() - t0;
    assert_int_equal(requests(&f->srv), 2);
    assert_true(took >= 900 && took < 4000);
    assert_doc(&d, &V.tcb, &V.tcb_chain);
    pcs_doc_free(&d);
}

static void test_429_gives_up(void **state)
{
    struct fx *f = *state;
    route(&f->srv, QE_PATH_TDX, 429, "Retry-After: 1\r\n", "slow down", 9);
    f->cfg.max_retries = 1;
    struct pcs_doc d;
    char err[512];
    assert_int_equal(pcs_qe_identity(&f->cfg, true, &d, err, sizeof err), COLLATERAL_RATE_LIMITED);
    assert_non_null(strstr(err, "rate limit"));
    assert_non_null(strstr(err, "429"));
    assert_int_equal(requests(&f->srv), 2);
    /* within the back-off window: fails fast without a request */
    assert_int_equal(pcs_qe_identity(&f->cfg, true, &d, err, sizeof err), COLLATERAL_RATE_LIMITED);
    assert_int_equal(requests(&f->srv), 2);
    assert_null(d.body);
    assert_int_equal(cache_files(f->cache), 0);
}

static void test_malformed_not_cached(void **state)
{
    NEED_VECTORS();
    struct fx *f = *state;
    struct server *s = &f->srv;
    char *good = chain_hdr("TCB-Info-Issuer-Chain", &V.tcb_chain);
    /* 1. truncated JSON */
    route(s, TCB_PATH_TDX, 200, good, V.tcb.p, V.tcb.n / 2);
    /* 2. no "signature" */
    const char *nosig = "{\"tcbInfo\":{\"nextUpdate\":\"2026-03-03T14:49:26Z\",\"fmspc\":\"90c06f000000\"}}";
    route(s, TCB_PATH_TDX, 200, good, nosig, strlen(nosig));
    /* 3. a duplicate key */
    const char *dup = "{\"tcbInfo\":{\"nextUpdate\":\"2026-03-03T14:49:26Z\",\"fmspc\":\"90c06f000000\"},"
                      "\"signature\":\"aa\",\"signature\":\"bb\"}";
    route(s, TCB_PATH_TDX, 200, good, dup, strlen(dup));
    /* 4. no issuer-chain header */
    route(s, TCB_PATH_TDX, 200, NULL, V.tcb.p, V.tcb.n);
    /* 5. a bad %-escape, 6. a truncated one */
    char *bad = strdup(good);
    char *esc = strstr(bad, "%0A");
    assert_non_null(esc);
    esc[2] = 'G';
    route(s, TCB_PATH_TDX, 200, bad, V.tcb.p, V.tcb.n);
    free(bad);
    bad = strdup(good);
    strcpy(bad + strlen(bad) - 5, "%2\r\n"); /* "...%0A\r\n" -> "...%2\r\n" */
    route(s, TCB_PATH_TDX, 200, bad, V.tcb.p, V.tcb.n);
    free(bad);
    /* 7. an oversized body (256 KiB bound) */
    size_t big_n = PCS_MAX_JSON + 1;
    uint8_t *big = malloc(big_n);
    memset(big, ' ', big_n);
    memcpy(big, V.tcb.p, V.tcb.n);
    route(s, TCB_PATH_TDX, 200, good, big, big_n);
    free(big);
    /* 8. a one-certificate chain */
    struct blob one = { V.tcb_chain.p, (size_t)(strstr((char *)V.tcb_chain.p, "-----END CERTIFICATE-----") -
                                                (char *)V.tcb_chain.p) + 26 };
    char *oneh = chain_hdr("TCB-Info-Issuer-Chain", &one);
    route(s, TCB_PATH_TDX, 200, oneh, V.tcb.p, V.tcb.n);
    free(oneh);
    /* 9. TCB info for another FMSPC */
    route(s, TCB_PATH_TDX, 200, good, V.tcb_other.p, V.tcb_other.n);
    /* 10. the header twice */
    size_t gl = strlen(good);
    char *twice = malloc(2 * gl + 1);
    memcpy(twice, good, gl);
    memcpy(twice + gl, good, gl + 1);
    route(s, TCB_PATH_TDX, 200, twice, V.tcb.p, V.tcb.n);
    free(twice);
    /* 11. a chain header beyond the 16 KiB bound */
    char *huge = malloc(PCS_MAX_CHAIN_HEADER + 64);
    int hl = snprintf(huge, 64, "TCB-Info-Issuer-Chain: ");
    memset(huge + hl, 'A', PCS_MAX_CHAIN_HEADER + 1);
    strcpy(huge + hl + PCS_MAX_CHAIN_HEADER + 1, "\r\n");
    route(s, TCB_PATH_TDX, 200, huge, V.tcb.p, V.tcb.n);
    free(huge);
    /* finally a good one */
    route(s, TCB_PATH_TDX, 200, good, V.tcb.p, V.tcb.n);
    free(good);

    const char *why[] = { "not JSON", "signature", "not JSON", "no TCB-Info-Issuer-Chain header", "percent-encoded",
                          "percent-encoded", "larger than", "two or more certificates", "fmspc", "twice",
                          "too long" };
    struct pcs_doc d;
    char err[512];
    for (size_t i = 0; i < sizeof why / sizeof why[0]; i++) {
        int rc = pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err);
        if (rc == COLLATERAL_OK || !strstr(err, why[i]))
            fail_msg("case %zu: rc %d, err '%s' (wanted '%s')", i + 1, rc, err, why[i]);
        assert_int_equal(rc, COLLATERAL_NETWORK);
        assert_null(d.body);
        assert_int_equal(requests(s), (int)i + 1);
        assert_int_equal(cache_files(f->cache), 0);
    }
    assert_int_equal(pcs_tcb_info(&f->cfg, true, FMSPC, &d, err, sizeof err), COLLATERAL_OK);
    assert_doc(&d, &V.tcb, &V.tcb_chain);
    pcs_doc_free(&d);
    assert_int_equal(cache_files(f->cache), 2);

    /* CRLs: JSON where DER is due, garbage DER */
    f->cfg.now = NOW_QE;
    char *ch = chain_hdr("SGX-PCK-CRL-Issuer-Chain", &V.crl_chain);
    route(s, CRL_PATH_PLATFORM, 200, ch, V.qe.p, V.qe.n);
    route(s, CRL_PATH_PLATFORM, 200, ch, V.crl.p, V.crl.n - 1);
    free(ch);
    route(s, "/IntelSGXRootCA.der", 200, NULL, "\x30\x03\x02\x01\x01", 5);
    assert_int_equal(pcs_pck_crl(&f->cfg, true, &d, err, sizeof err), COLLATERAL_NETWORK);
    assert_non_null(strstr(err, "not a DER CRL"));
    assert_int_equal(pcs_pck_crl(&f->cfg, true, &d, err, sizeof err), COLLATERAL_NETWORK);
    assert_int_equal(pcs_root_crl(&f->cfg, &d, err, sizeof err), COLLATERAL_NETWORK);
    assert_non_null(strstr(err, "not a DER CRL"));
    assert_int_equal(cache_files(f->cache), 2);
    /* QE identity: a TCB info document is not an enclave identity */
    ch = chain_hdr("SGX-Enclave-Identity-Issuer-Chain", &V.qe_chain);
    route(s, QE_PATH_TDX, 200, ch, V.tcb.p, V.tcb.n);
    free(ch);
    assert_int_equal(pcs_qe_identity(&f->cfg, true, &d, err, sizeof err), COLLATERAL_NETWORK);
    assert_non_null(strstr(err, "enclaveIdentity"));
    assert_int_equal(cache_files(f->cache), 2);
}

static void test_refused_without_connection(void **state)
{
    struct fx *f = *state;
    /* were a request made, it would go through this "proxy": our server would see it */
    setenv("http_proxy", f->srv.http.base, 1);
    setenv("https_proxy", f->srv.http.base, 1);
    setenv("all_proxy", f->srv.http.base, 1);
    const char *bad[] = { "http://example.com", "http://127.0.0.1.example.com:8080", "ftp://127.0.0.1/",
                          "http://127.0.0.1@example.com", "https://api.example/?x" };
    struct pcs_doc d;
    char err[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pcs_config c = f->cfg;
        c.base_url = bad[i];
        assert_int_equal(pcs_tcb_info(&c, true, FMSPC, &d, err, sizeof err), COLLATERAL_REFUSED);
        assert_non_null(strstr(err, "only https://"));
        assert_int_equal(pcs_qe_identity(&c, false, &d, err, sizeof err), COLLATERAL_REFUSED);
        assert_int_equal(pcs_pck_crl(&c, true, &d, err, sizeof err), COLLATERAL_REFUSED);
        assert_int_equal(pcs_root_crl(&c, &d, err, sizeof err), COLLATERAL_REFUSED);
        assert_null(d.body);
    }
    /* a loopback base with a plain-http Root CA CRL elsewhere */
    struct pcs_config c = f->cfg;
    c.root_crl_url = "http://example.com/IntelSGXRootCA.der";
    assert_int_equal(pcs_root_crl(&c, &d, err, sizeof err), COLLATERAL_REFUSED);
    assert_non_null(strstr(err, "example.com"));
    unsetenv("http_proxy");
    unsetenv("https_proxy");
    unsetenv("all_proxy");
    assert_int_equal(requests(&f->srv), 0);
    assert_int_equal(cache_files(f->cache), 0);
}

static void test_offline(void **state)
{
    struct fx *f = *state;
    struct pcs_config c = f->cfg;
    c.base_url = NULL;
    struct pcs_doc d;
    char err[512];
    /* no base_url, empty cache */
    assert_int_equal(pcs_tcb_info(&c, true, FMSPC, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    assert_non_null(strstr(err, "intel/tdx/tcb-90c06f000000.json"));
    assert_int_equal(pcs_qe_identity(&c, true, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    assert_int_equal(pcs_pck_crl(&c, true, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    assert_int_equal(pcs_root_crl(&c, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    /* no base_url, no cache */
    c.cache_dir = NULL;
    assert_int_equal(pcs_root_crl(&c, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    assert_int_equal(pcs_tcb_info(&c, false, FMSPC, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    assert_int_equal(pcs_tcb_info(NULL, false, FMSPC, &d, err, sizeof err), COLLATERAL_ERR);
    assert_int_equal(pcs_tcb_info(&f->cfg, false, NULL, &d, err, sizeof err), COLLATERAL_ERR);
    assert_int_equal(requests(&f->srv), 0);
    if (!V.ok)
        return;
    /* a corrupt cache entry: not found offline, replaced when the network is on */
    char dir[256], p[300];
    snprintf(dir, sizeof dir, "%s/intel/tdx", f->cache);
    snprintf(p, sizeof p, "%s/intel", f->cache);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(p, sizeof p, "%s/qe-identity.json", dir);
    assert_int_equal(file_write(p, "{\"enclaveIdentity\":", 19, 0644), 0);
    snprintf(p, sizeof p, "%s/qe-identity.chain.pem", dir);
    assert_int_equal(file_write(p, V.qe_chain.p, V.qe_chain.n, 0644), 0);
    c = f->cfg;
    c.base_url = NULL;
    c.now = NOW_QE;
    assert_int_equal(pcs_qe_identity(&c, true, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    assert_non_null(strstr(err, "not JSON"));
    char *h = chain_hdr("SGX-Enclave-Identity-Issuer-Chain", &V.qe_chain);
    route(&f->srv, QE_PATH_TDX, 200, h, V.qe.p, V.qe.n);
    free(h);
    c.base_url = f->srv.http.base;
    assert_int_equal(pcs_qe_identity(&c, true, &d, err, sizeof err), COLLATERAL_OK);
    assert_false(d.from_cache);
    pcs_doc_free(&d);
    assert_file_equals(f->cache, "intel/tdx/qe-identity.json", &V.qe);
    /* a missing chain file makes the entry unusable too */
    snprintf(p, sizeof p, "%s/qe-identity.chain.pem", dir);
    assert_int_equal(unlink(p), 0);
    c.base_url = NULL;
    assert_int_equal(pcs_qe_identity(&c, true, &d, err, sizeof err), COLLATERAL_NOT_FOUND);
    assert_int_equal(requests(&f->srv), 1);
}

int main(void)
{
    umask(022);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent_decode),
        cmocka_unit_test_setup_teardown(test_tcb_fetch_then_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sgx_and_qe_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refetch_and_stale_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_not_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_without_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline, setup, teardown),
    };
    return cmocka_run_group_tests_name("pcs", tests, group_setup, group_teardown);
}
