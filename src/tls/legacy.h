/*
 * legacy.h - the INSECURE legacy binding modes on a connection (docs/protocol.md, "Legacy
 * modes"): RA-TLS-style evidence in the server's TLS certificate, bound to a key and/or a
 * client nonce but never to the TLS connection. Opt-in only (tether_config_set_insecure_
 * legacy_mode); for interoperability and the relay lab. Only src/tls/ includes this file.
 *
 *   attester (server): a certificate callback makes (or, in ra-key, reuses) the certificate and
 *                      key for each handshake; legacy_make_identity is the one place here that
 *                      asks the attester for evidence, over the report_data the mode derives
 *                      (src/binding/legacy_binder.c) from the certificate's own SPKI and the
 *                      nonce the client sent. No caller can pass report_data in.
 *   relying party:     after the handshake, the peer certificate's 2.23.133.5.4.9 extension is
 *                      decoded and appraised by the common pipeline (src/verify) against the
 *                      report_data recomputed from OUR nonce and the certificate's SPKI.
 * After the handshake both sides carry raw application data: no frames, no re-attestation.
 */
#ifndef TETHER_TLS_LEGACY_H
#define TETHER_TLS_LEGACY_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "binding/legacy_binder.h"
#include "util/util.h"

struct tether_config;
struct tether;

/* Per configuration (ra-key only): the one key and certificate every handshake reuses. */
struct legacy_identity {
    EVP_PKEY *key;
    X509 *cert;
};

/* Per connection. */
struct legacy_conn {
    uint8_t nonce[LEGACY_NONCE_LEN]; /* client: ours; server: the one the client sent */
    bool have_nonce;
    bool cert_set;                   /* server: this handshake's certificate is in place */
    /* A failure inside an OpenSSL callback, reported when the handshake returns. */
    bool failed;
    struct error_state err;
};

/* ---- configuration (config.c) ---- */

/* Parse a mode name for tether_config_set_insecure_legacy_mode; usage errors go to err. */
int legacy_mode_from_name(const char *name, enum legacy_mode *out, struct error_state *err);
/* ra-key: make the per-configuration identity now if the mode and a TEE are both set, so that
 * processes forked afterwards (tether serve) share one key. A no-op otherwise. */
int legacy_config_prepare(struct tether_config *cfg, struct error_state *err);
void legacy_config_release(struct tether_config *cfg);
/* Server SSL_CTX of a legacy mode: the SNI and certificate callbacks. */
int legacy_server_ctx(SSL_CTX *x);

/* ---- connection (conn.c) ---- */

/* Before the SSL is made: combinations the legacy modes do not support (usage errors). */
int legacy_check_usage(struct tether *ctx);
/* After the SSL is made: a client's nonce, sent as its server_name. */
int legacy_attach(struct tether *ctx);
/* The TLS handshake failed: report the reason a legacy callback recorded, if any. */
void legacy_handshake_failed(struct tether *ctx);
/* The TLS handshake completed: 1 when the connection is ready (legacy mode: the peer's
 * certificate appraised, or our own sent), 0 to go on with tether's attestation exchange,
 * -1 on failure (ctx failed). In the default mode a client refuses a server whose certificate
 * carries in-handshake RA-TLS evidence (code legacy_peer). */
int legacy_on_tls_done(struct tether *ctx);

/* ---- shared with the lab and tests (test builds link these objects) ---- */

/* A self-signed P-256 certificate for key carrying ext_value (the value of the RA-TLS
 * extension) as a non-critical 2.23.133.5.4.9 extension. NULL on failure. */
X509 *legacy_cert_with_extension(EVP_PKEY *key, const uint8_t *ext_value, size_t ext_len);
/* Borrow the value of the certificate's RA-TLS extension: 0, or -1 if absent; -2 if it
 * appears more than once. */
int legacy_cert_extension(const X509 *cert, const uint8_t **value, size_t *len);

#endif
