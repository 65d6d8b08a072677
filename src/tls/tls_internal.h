/*
 * tls_internal.h - the connection layer's private state. Only src/tls/ includes this file; it
 * is the one place in tether that knows OpenSSL's SSL object.
 */
#ifndef TETHER_TLS_INTERNAL_H
#define TETHER_TLS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "tether.h"

#include "attester/attester.h"
#include "ea/ea.h"
#include "ea/frame.h"
#include "policy/policy.h"
#include "policy/result.h"
#include "tls/sockbio.h"
#include "tls/legacy.h"
#include "util/util.h"

struct tether_config {
    struct error_state err;
    int refs;              /* the config and every connection made from it (atomic) */
    pthread_mutex_t lock;  /* guards the lazily built TLS contexts and attester */
    int attest;            /* TETHER_ATTEST_* */
    char *tee_spec;
    struct attester_handle attester; /* opened lazily, shared by connections */
    bool attester_open;
    struct policy *policy;
    unsigned handshake_ms;
    unsigned attest_ms;
    char *cert_file, *key_file, *ca_file;
    bool cocos_compat;
    enum legacy_mode legacy_mode;    /* LEGACY_NONE unless the INSECURE opt-in was made */
    struct legacy_identity legacy_id; /* ra-key: the one key and certificate (legacy.c) */
    SSL_CTX *ssl_ctx[2];   /* [0] client, [1] server; built lazily, dropped on change */
};

enum conn_state { ST_NEW, ST_TLS, ST_ATTEST, ST_READY, ST_CLOSED, ST_FAILED };

struct tether {
    struct tether_config *cfg;
    struct error_state err;
    bool server;
    int fd;
    SSL *ssl;
    enum conn_state state;
    int64_t deadline;         /* monotonic ms for the current phase */

    bool we_attest;           /* we answer the peer's requests */
    bool we_appraise;         /* we request and appraise the peer's evidence */
    bool framed;              /* tether framing in effect */
    bool compat;              /* Cocos single-exchange mode */
    bool sent_auth;           /* we have sent at least one authenticator */
    unsigned n_appraised;     /* successful appraisals of the peer */

    const EVP_MD *md;         /* the cipher suite's hash */
    struct ea_exporters x_peer; /* exporters for authenticators the peer sends */
    struct ea_exporters x_own;  /* exporters for authenticators we send */
    bool x_peer_ready, x_own_ready;

    /* our outstanding request */
    bool req_outstanding;
    uint8_t *req_msg;
    size_t req_len;
    struct ea_request req;
    int64_t req_deadline;
    uint8_t req_exported[32];  /* TLS-Exporter(label, our context, 32), once computed */
    bool req_exported_ready;

    /* digests of the contexts of requests we have answered (reuse is rejected) */
    uint8_t (*seen_ctx)[32];
    size_t n_seen_ctx, cap_seen_ctx;
    int64_t last_request_ms;

    /* outgoing bytes (whole frames, or raw data in compat mode) */
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    size_t write_commit;      /* tether_write: bytes accepted once out drains, 0 if none */

    /* incoming frame */
    struct ea_frame_asm in;   /* incoming frames (src/ea/frame.h) */

    /* application data received in frames, not yet read */
    uint8_t *app;
    size_t app_len, app_off, app_cap;
    bool peer_closed;

    struct tether_result *result; /* latest appraisal of the peer */
    EVP_PKEY *next_key;       /* authenticator key prepared for this connection, or NULL */
    uint8_t *next_cert_der;   /* its self-signed certificate, DER (OPENSSL_malloc'd) */
    int next_cert_len;
    uint16_t next_key_sigalg;
    char version[32];
    char cipher[64];
    struct legacy_conn legacy; /* INSECURE legacy modes only (legacy.c) */

#ifdef TETHER_TEST_HOOKS
    /* Test-only: called with each fresh authenticator private key, and in the legacy modes
     * with the TLS certificate key (the "TEE key leak" of protocol.md 9.1). Compiled only
     * into the test objects, never into libtether. */
    void (*test_leak_key)(void *arg, EVP_PKEY *key);
    void *test_leak_arg;
    /* Test-only: this connection's TLS secrets as NSS key-log lines (config.c). */
    void (*test_keylog)(void *arg, const char *line);
    void *test_keylog_arg;
    /* Test-only (tests/lib/core_hooks.h): when non-NULL, the exporter label our own
     * authenticators' binder is computed with, and the label written in their payload, in
     * place of the role's label (role-separation tests). */
    const char *test_binder_label;
    const char *test_payload_label;
#endif
};

/* config.c */
SSL_CTX *config_ssl_ctx(struct tether_config *cfg, bool server, struct error_state *err);
int config_attester(struct tether_config *cfg, struct attester_handle **h, struct error_state *err);
void config_ref(struct tether_config *cfg);
void config_unref(struct tether_config *cfg);

/* attest.c: the attestation exchange (sans socket: works on frames) */
int attest_on_tls_done(struct tether *ctx);
/* Generate this connection's authenticator key and certificate while the peer is busy (the
 * server waiting for the client's Finished). Never shared, never reused, freed with ctx. */
void attest_prepare_key(struct tether *ctx);
/* Compute the exporters this endpoint needs (idempotent); called while waiting for the peer. */
int attest_prepare(struct tether *ctx);
int attest_send_request(struct tether *ctx);
int attest_answer_request(struct tether *ctx, const uint8_t *msg, size_t len);
int attest_check_authenticator(struct tether *ctx, const uint8_t *msg, size_t len);
/* Fail the connection with the category and code of the result's first failed check. */
int attest_appraisal_failed(struct tether *ctx);

/* conn.c: output queue */
int conn_queue_frame(struct tether *ctx, uint8_t type, const uint8_t *payload, size_t len);
int conn_fail(struct tether *ctx, int category, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#ifdef TETHER_TEST_HOOKS
#include "testhooks/testhooks.h"
#endif

#endif
