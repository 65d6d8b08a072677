/*
 * kds.c - AMD KDS URLs and the bounded libcurl GET (research evidence.md A1; anchors.md 6.2:
 * KDS allows about one VCEK per 10 s per IP and answers HTTP 429 beyond that). The same GET,
 * with selected response headers captured, serves Intel PCS (pcs.c).
 * Must never: send plain http to a non-loopback host, follow a redirect, buffer more than the
 * caller's bound, retry more than max_retries times, wait longer than the documented caps, or
 * send a request while a previous Retry-After for the same base URL is still running.
 */
#include "collateral/kds_http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "util/util.h"

const char *collateral_snp_product(enum snp_generation g)
{
    switch (g) {
    case SNP_GEN_MILAN: return "Milan";
    case SNP_GEN_GENOA: return "Genoa";
    case SNP_GEN_TURIN: return "Turin";
    default: return NULL;
    }
}

int collateral_snp_hwid_hex(enum snp_generation g, const uint8_t *chip_id, size_t chip_id_len,
                            char *out, size_t outlen)
{
    size_t n;
    if (!chip_id || !out)
        return -1;
    if (g == SNP_GEN_TURIN) {
        /* Turin: an 8-byte id, left-aligned in the report's 64-byte CHIP_ID. */
        if (chip_id_len == 64 && !ct_is_zero(chip_id + 8, 56))
            return -1;
        if (chip_id_len != 8 && chip_id_len != 64)
            return -1;
        n = 8;
    } else if (g == SNP_GEN_MILAN || g == SNP_GEN_GENOA) {
        if (chip_id_len != 64)
            return -1;
        n = 64;
    } else {
        return -1;
    }
    if (ct_is_zero(chip_id, n)) /* MASK_CHIP_ID: there is no VCEK to look up */
        return -1;
    if (outlen < 2 * n + 1)
        return -1;
    hex_encode(chip_id, n, out);
    return 0;
}

/* The base without trailing slashes: its length. */
static size_t base_len(const char *base)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return n;
}

int collateral_snp_vcek_url(const char *base, enum snp_generation g, const uint8_t *chip_id,
                            size_t chip_id_len, const struct snp_tcb *t, char *out, size_t outlen)
{
    char hw[129];
    const char *prod = collateral_snp_product(g);
    if (!base || !t || !prod || collateral_snp_hwid_hex(g, chip_id, chip_id_len, hw, sizeof hw) != 0)
        return -1;
    int n;
    if (g == SNP_GEN_TURIN)
        n = snprintf(out, outlen, "%.*s/vcek/v1/%s/%s?fmcSPL=%02u&blSPL=%02u&teeSPL=%02u&snpSPL=%02u&ucodeSPL=%02u",
                     (int)base_len(base), base, prod, hw, t->fmc, t->bootloader, t->tee, t->snp,
                     t->microcode);
    else
        n = snprintf(out, outlen, "%.*s/vcek/v1/%s/%s?blSPL=%02u&teeSPL=%02u&snpSPL=%02u&ucodeSPL=%02u",
                     (int)base_len(base), base, prod, hw, t->bootloader, t->tee, t->snp, t->microcode);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int collateral_snp_vcek_relpath(enum snp_generation g, const uint8_t *chip_id, size_t chip_id_len,
                                const struct snp_tcb *t, char *out, size_t outlen)
{
    char hw[129];
    const char *prod = collateral_snp_product(g);
    if (!t || !prod || collateral_snp_hwid_hex(g, chip_id, chip_id_len, hw, sizeof hw) != 0)
        return -1;
    int n;
    if (g == SNP_GEN_TURIN)
        n = snprintf(out, outlen, "snp/%s/vcek/%s-%u-%u-%u-%u-%u.der", prod, hw, t->bootloader, t->tee,
                     t->snp, t->microcode, t->fmc);
    else
        n = snprintf(out, outlen, "snp/%s/vcek/%s-%u-%u-%u-%u.der", prod, hw, t->bootloader, t->tee,
                     t->snp, t->microcode);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* 1 if base is http:// to a loopback host (127.0.0.1, localhost, [::1], optional :port). */
static int is_loopback_http(const char *base)
{
    if (strncasecmp(base, "http://", 7) != 0)
        return 0;
    const char *h = base + 7;
    size_t alen = strcspn(h, "/?#");
    const char *end = h + alen;
    const char *port;
    if (memchr(h, '@', alen)) /* no userinfo: "http://127.0.0.1@evil" */
        return 0;
    if (*h == '[') {
        if (alen < 5 || strncmp(h, "[::1]", 5) != 0)
            return 0;
        port = h + 5;
    } else {
        size_t hl = strcspn(h, ":/?#");
        if (!((hl == 9 && strncmp(h, "127.0.0.1", 9) == 0) ||
              (hl == 9 && strncasecmp(h, "localhost", 9) == 0)))
            return 0;
        port = h + hl;
    }
    if (port == end)
        return 1;
    if (*port != ':' || port + 1 == end || end - port > 6)
        return 0;
    for (const char *p = port + 1; p < end; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

int collateral_url_allowed(const char *base, char *err, size_t errlen)
{
    if (!base || !*base) {
        errbuf_set(err, errlen, "KDS base URL is empty");
        return COLLATERAL_REFUSED;
    }
    for (const char *p = base; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' || *p == '#') {
            errbuf_set(err, errlen, "KDS base URL has a character that is not allowed");
            return COLLATERAL_REFUSED;
        }
    if (strncasecmp(base, "https://", 8) == 0) {
        const char *h = base + 8;
        size_t alen = strcspn(h, "/");
        if (alen == 0 || memchr(h, '@', alen)) {
            errbuf_set(err, errlen, "KDS base URL '%s' has no host or has userinfo", base);
            return COLLATERAL_REFUSED;
        }
        return COLLATERAL_OK;
    }
    if (is_loopback_http(base))
        return COLLATERAL_OK;
    errbuf_set(err, errlen,
               "refusing KDS base URL '%s': only https:// is allowed (plain http only to 127.0.0.1, "
               "localhost or [::1])", base);
    return COLLATERAL_REFUSED;
}

/* ---- HTTP ---- */

struct body {
    uint8_t *buf;
    size_t len, cap, max;
    int oversized;
};

struct hdrs {
    long retry_after; /* seconds, -1 if absent or not delta-seconds */
    struct kds_http_header *want;
    size_t nwant;
    const char *bad;  /* a captured header that was repeated or too long (name) */
    int too_long;
    int nomem;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct body *b = ud;
    size_t n = size * nmemb;
    if (n > b->max - b->len) {
        b->oversized = 1;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n)
            ncap *= 2;
        if (ncap > b->max)
            ncap = b->max;
        uint8_t *nb = realloc(b->buf, ncap);
        if (!nb)
            return 0;
        b->buf = nb;
        b->cap = ncap;
    }
    memcpy(b->buf + b->len, ptr, n);
    b->len += n;
    return n;
}

static void hdrs_reset(struct hdrs *h)
{
    h->retry_after = -1;
    h->bad = NULL;
    h->too_long = 0;
    for (size_t i = 0; i < h->nwant; i++) {
        free(h->want[i].value);
        h->want[i].value = NULL;
        h->want[i].len = 0;
    }
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct hdrs *h = ud;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        hdrs_reset(h); /* a new response (after 1xx): only the final one's headers count */
        return n;
    }
    if (n > sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
        size_t i = sizeof name - 1;
        while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
            i++;
        long v = 0;
        size_t digits = 0;
        while (i < n && ptr[i] >= '0' && ptr[i] <= '9' && digits < 9) {
            v = v * 10 + (ptr[i] - '0');
            i++;
            digits++;
        }
        while (i < n && is_blank(ptr[i]))
            i++;
        /* delta-seconds only; an HTTP-date (or anything else) falls back to exponential back-off */
        h->retry_after = (digits > 0 && digits < 9 && i == n) ? v : -1;
        return n;
    }
    for (size_t k = 0; k < h->nwant; k++) {
        struct kds_http_header *w = &h->want[k];
        size_t nl = strlen(w->name);
        if (n <= nl || ptr[nl] != ':' || strncasecmp(ptr, w->name, nl) != 0)
            continue;
        if (w->value) { /* the same field twice: ambiguous, refuse */
            h->bad = w->name;
            return 0;
        }
        size_t a = nl + 1, e = n;
        while (a < e && is_blank(ptr[a]))
            a++;
        while (e > a && is_blank(ptr[e - 1]))
            e--;
        if (e - a > w->max) {
            h->bad = w->name;
            h->too_long = 1;
            return 0;
        }
        w->value = malloc(e - a + 1);
        if (!w->value) {
            h->nomem = 1;
            return 0;
        }
        memcpy(w->value, ptr + a, e - a);
        w->value[e - a] = '\0';
        w->len = e - a;
        return n;
    }
    return n;
}

void kds_http_headers_free(struct kds_http_header *h, size_t n)
{
    for (size_t i = 0; h && i < n; i++) {
        free(h[i].value);
        h[i].value = NULL;
        h[i].len = 0;
    }
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;
static void curl_init_once(void)
{
    curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* After a rate-limit failure: no request to this base before not_before (monotonic ms). KDS and
 * PCS fetches are serialised by different mutexes, so this memory has a lock of its own. */
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static char rl_base[256];
static int64_t rl_not_before;

static void rate_limit_note(const char *base, int64_t until)
{
    pthread_mutex_lock(&rl_lock);
    snprintf(rl_base, sizeof rl_base, "%s", base);
    rl_not_before = until;
    pthread_mutex_unlock(&rl_lock);
}

/* Milliseconds still to wait before base may be asked again (0 = go ahead). */
static int64_t rate_limit_left(const char *base, int64_t now)
{
    pthread_mutex_lock(&rl_lock);
    int64_t left = rl_not_before > now && strcmp(rl_base, base) == 0 ? rl_not_before - now : 0;
    pthread_mutex_unlock(&rl_lock);
    return left;
}

int kds_http_fetch(const struct kds_http_request *r, uint8_t **out, size_t *outlen, char *err,
                   size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    for (size_t i = 0; r->headers && i < r->nheaders; i++) {
        r->headers[i].value = NULL;
        r->headers[i].len = 0;
    }
    const char *svc = r->service ? r->service : "HTTP server";
    const char *hint = r->hint ? r->hint : "";
    const char *base = r->base, *url = r->url;
    size_t max = r->max;
    int rc = collateral_url_allowed(base, err, errlen);
    if (rc != COLLATERAL_OK)
        return rc;
    int64_t now = now_ms();
    int64_t left = rate_limit_left(base, now);
    if (left > 0) {
        errbuf_set(err, errlen, "%s rate limit: not retrying %s for another %lld s (HTTP 429/503 "
                   "earlier); use an offline bundle or a cache", svc, url, (long long)((left + 999) / 1000));
        return COLLATERAL_RATE_LIMITED;
    }
    pthread_once(&curl_once, curl_init_once);
    if (!curl_ok) {
        errbuf_set(err, errlen, "libcurl initialisation failed");
        return COLLATERAL_NETWORK;
    }
    int loopback_http = is_loopback_http(base);
    unsigned timeout = r->timeout_ms ? r->timeout_ms : 10000;
    unsigned backoff = COLLATERAL_BACKOFF_BASE_MS;

    for (unsigned attempt = 0;; attempt++) {
        CURL *h = curl_easy_init();
        if (!h) {
            errbuf_set(err, errlen, "libcurl: cannot create a handle");
            return COLLATERAL_NETWORK;
        }
        struct body b = { .max = max };
        struct hdrs hd = { .retry_after = -1, .want = r->headers, .nwant = r->headers ? r->nheaders : 0 };
        char cerr[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, loopback_http ? "http" : "https");
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
        curl_easy_setopt(h, CURLOPT_PROTOCOLS, loopback_http ? CURLPROTO_HTTP : CURLPROTO_HTTPS);
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, CURLPROTO_HTTPS);
#endif
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "tether-collateral/1");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &hd);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
        if (loopback_http)
            curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never send a loopback request to a proxy */
        CURLcode cc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);

        if (cc == CURLE_FILESIZE_EXCEEDED || b.oversized) {
            free(b.buf);
            hdrs_reset(&hd);
            errbuf_set(err, errlen, "%s response from %s is larger than %zu bytes; refused", svc, url, max);
            return COLLATERAL_NETWORK;
        }
        if (hd.bad || hd.nomem) {
            free(b.buf);
            if (hd.nomem)
                errbuf_set(err, errlen, "%s response from %s: out of memory for a header", svc, url);
            else if (hd.too_long)
                errbuf_set(err, errlen, "%s response from %s: header %s is too long; refused", svc, url, hd.bad);
            else
                errbuf_set(err, errlen, "%s response from %s: header %s appears twice; refused", svc, url, hd.bad);
            hdrs_reset(&hd);
            return COLLATERAL_NETWORK;
        }
        if (cc != CURLE_OK) {
            free(b.buf);
            hdrs_reset(&hd);
            errbuf_set(err, errlen, "%s request %s failed: %s", svc, url, cerr[0] ? cerr : curl_easy_strerror(cc));
            return COLLATERAL_NETWORK;
        }
        if (status == 200) {
            if (b.len == 0) {
                free(b.buf);
                hdrs_reset(&hd);
                errbuf_set(err, errlen, "%s returned an empty body for %s", svc, url);
                return COLLATERAL_NETWORK;
            }
            *out = b.buf;
            *outlen = b.len;
            return COLLATERAL_OK;
        }
        free(b.buf);
        long retry_after = hd.retry_after;
        hdrs_reset(&hd);
        if (status == 404) {
            errbuf_set(err, errlen, "%s has no such object (HTTP 404): %s", svc, url);
            return COLLATERAL_NOT_FOUND;
        }
        if (status != 429 && status != 503) {
            errbuf_set(err, errlen, "%s answered HTTP %ld for %s", svc, status, url);
            return COLLATERAL_NETWORK;
        }
        /* Rate limited or unavailable: back off. */
        unsigned wait;
        if (retry_after >= 0) {
            if (retry_after > (long)COLLATERAL_RETRY_AFTER_CAP_S) {
                rate_limit_note(base, now_ms() + (int64_t)retry_after * 1000);
                errbuf_set(err, errlen, "%s rate limit (HTTP %ld) for %s: Retry-After %ld s exceeds "
                           "the %u s cap; not waiting (use an offline bundle or a cache)", svc, status, url,
                           retry_after, COLLATERAL_RETRY_AFTER_CAP_S);
                return COLLATERAL_RATE_LIMITED;
            }
            wait = (unsigned)retry_after * 1000u;
            if (wait < COLLATERAL_BACKOFF_BASE_MS) /* Retry-After: 0 still is no licence to hammer */
                wait = COLLATERAL_BACKOFF_BASE_MS;
        } else {
            wait = backoff;
            backoff = backoff >= COLLATERAL_BACKOFF_CAP_MS / 2 ? COLLATERAL_BACKOFF_CAP_MS : backoff * 2;
        }
        if (attempt >= r->max_retries) {
            rate_limit_note(base, now_ms() + wait);
            errbuf_set(err, errlen, "%s rate limit (HTTP %ld) for %s: gave up after %u retr%s%s", svc, status,
                       url, attempt, attempt == 1 ? "y" : "ies", hint);
            return COLLATERAL_RATE_LIMITED;
        }
        sleep_ms(wait);
    }
}

int kds_http_get(const struct collateral_config *c, const char *base, const char *url, size_t max,
                 uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    struct kds_http_request r = {
        .service = "AMD KDS",
        .hint = "; KDS allows about one VCEK per 10 s per IP (use an offline bundle or a cache)",
        .base = base, .url = url, .max = max,
        .timeout_ms = c->timeout_ms, .max_retries = c->max_retries,
    };
    return kds_http_fetch(&r, out, outlen, err, errlen);
}
