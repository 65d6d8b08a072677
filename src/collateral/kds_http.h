/*
 * kds_http.h - internal: the one HTTP GET used for AMD KDS (src/collateral/kds.c) and Intel PCS
 * (src/collateral/pcs.c). Bounded body, bounded captured headers, timeout, no redirects,
 * https only (http only to loopback), 429/503 back-off honouring a capped Retry-After.
 * Callers hold their service's process-wide mutex (collateral.c: the KDS one, pcs.c: the PCS
 * one), so fetches to one service never overlap; the rate-limit memory here has its own lock.
 */
#ifndef TETHER_COLLATERAL_KDS_HTTP_H
#define TETHER_COLLATERAL_KDS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "collateral/collateral.h"

/* A response header to capture. Only the final response's headers count (a header line seen
 * before a later status line is forgotten); the same field twice in one response fails the
 * request (COLLATERAL_NETWORK), as does a value longer than max. */
struct kds_http_header {
    const char *name; /* in: field name without ':', matched case-insensitively */
    size_t max;       /* in: longest value accepted, in bytes */
    char *value;      /* out: malloc'd, NUL-terminated, surrounding blanks removed; NULL if absent */
    size_t len;       /* out: strlen(value) */
};

struct kds_http_request {
    const char *service;  /* "AMD KDS", "Intel PCS": names the server in messages */
    const char *hint;     /* appended to rate-limit messages (may be NULL) */
    const char *base;     /* checked with collateral_url_allowed; http only if this is loopback */
    const char *url;      /* the full URL, under base */
    size_t max;           /* body bound in bytes (Content-Length and streamed) */
    unsigned timeout_ms;  /* per request; 0 = 10000 */
    unsigned max_retries; /* after HTTP 429/503 */
    struct kds_http_header *headers; /* may be NULL */
    size_t nheaders;
};

/* GET r->url. On COLLATERAL_OK *out is malloc'd (non-empty body) and the captured headers are
 * filled in (caller frees them with kds_http_headers_free); on failure nothing is returned.
 * Returns a COLLATERAL_* code and a message naming the URL and HTTP status. */
int kds_http_fetch(const struct kds_http_request *r, uint8_t **out, size_t *outlen, char *err,
                   size_t errlen);
void kds_http_headers_free(struct kds_http_header *h, size_t n);

/* The AMD KDS form (timeout and retries from c). */
int kds_http_get(const struct collateral_config *c, const char *base, const char *url, size_t max,
                 uint8_t **out, size_t *outlen, char *err, size_t errlen);

#endif
