/*
 * kds_http.h - internal: the one HTTP GET used for AMD KDS (src/collateral/kds.c). Bounded
 * body, timeout, no redirects, https only (http only to loopback), 429/503 back-off.
 * The caller (collateral.c) holds the process-wide collateral mutex, so fetches never overlap.
 */
#ifndef TETHER_COLLATERAL_KDS_HTTP_H
#define TETHER_COLLATERAL_KDS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "collateral/collateral.h"

/* GET url (already checked by collateral_url_allowed on base). On COLLATERAL_OK *out is
 * malloc'd. Returns a COLLATERAL_* code and a message naming the URL and HTTP status. */
int kds_http_get(const struct collateral_config *c, const char *base, const char *url, size_t max,
                 uint8_t **out, size_t *outlen, char *err, size_t errlen);

#endif
