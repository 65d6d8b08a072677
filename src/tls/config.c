/*
 * config.c - struct tether_config: reusable settings and the TLS 1.3 contexts built from them.
 *
 * TLS policy (protocol.md 8, draft-fossati-seat-expat "Using the TLS Connection"):
 * TLS 1.3 only; strong groups and signature schemes only; no session tickets, no resumption,
 * no 0-RTT (a client discards any ticket it receives). Must never weaken these on request.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/config_api.h"
#include "tls/tls_internal.h"

#define TLS_GROUPS "X25519:P-256:P-384"
#define TLS_CIPHERSUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define TLS_SIGALGS                                                                             \
    "ECDSA+SHA256:ECDSA+SHA384:ed25519:rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:"                \
    "rsa_pss_pss_sha256:rsa_pss_pss_sha384"

TETHER_API struct tether_config *tether_config_new(void)
{
    struct tether_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->refs = 1;
    pthread_mutex_init(&c->lock, NULL);
    c->attest = TETHER_ATTEST_SERVER;
    c->handshake_ms = 10000;
    c->attest_ms = 10000;
    return c;
}

static void config_drop_ctx(struct tether_config *c)
{
    for (int i = 0; i < 2; i++) {
        SSL_CTX_free(c->ssl_ctx[i]);
        c->ssl_ctx[i] = NULL;
    }
}

void config_ref(struct tether_config *cfg)
{
    __atomic_add_fetch(&cfg->refs, 1, __ATOMIC_SEQ_CST);
}

void config_unref(struct tether_config *c)
{
    if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_SEQ_CST) > 0)
        return;
    pthread_mutex_destroy(&c->lock);
    config_drop_ctx(c);
    if (c->attester_open)
        attester_close(&c->attester);
    policy_free(c->policy);
    legacy_config_release(c);
    free(c->tee_spec);
    free(c->cert_file);
    free(c->key_file);
    free(c->ca_file);
    free(c);
}

TETHER_API void tether_config_free(struct tether_config *c)
{
    config_unref(c);
}

TETHER_API const char *tether_config_error(struct tether_config *c)
{
    return c && c->err.msg[0] ? c->err.msg : NULL;
}

TETHER_API enum tether_error_category tether_config_error_category(struct tether_config *c)
{
    return c ? (enum tether_error_category)c->err.category : TETHER_ERR_USAGE;
}

/* A configuration is immutable once a connection uses it: connections on other threads read
 * its policy, attester and TLS contexts without a lock. Make a new config to change it. */
static bool config_frozen(struct tether_config *c)
{
    if (!c)
        return true;
    int refs = __atomic_load_n(&c->refs, __ATOMIC_SEQ_CST);
    if (refs > 1) {
        error_set(&c->err, TETHER_ERR_USAGE, "usage",
                  "this configuration is in use by %d connection(s) and can no longer change; "
                  "create a new one", refs - 1);
        return true;
    }
    return false;
}

static int set_string(struct tether_config *c, char **slot, const char *v)
{
    char *copy = NULL;
    if (v && !(copy = strdup(v))) {
        error_set(&c->err, TETHER_ERR_INTERNAL, "internal", "out of memory");
        return -1;
    }
    free(*slot);
    *slot = copy;
    config_drop_ctx(c);
    return 0;
}

TETHER_API int tether_config_set_attest(struct tether_config *c, int who)
{
    if (config_frozen(c))
        return -1;
    if (who != TETHER_ATTEST_SERVER && who != TETHER_ATTEST_CLIENT && who != TETHER_ATTEST_MUTUAL) {
        error_set(&c->err, TETHER_ERR_USAGE, "usage", "attest must be SERVER, CLIENT or MUTUAL");
        return -1;
    }
    c->attest = who;
    return 0;
}

TETHER_API int tether_config_set_tee(struct tether_config *c, const char *spec)
{
    if (config_frozen(c))
        return -1;
    if (!spec || !strchr(spec, ':')) {
        error_set(&c->err, TETHER_ERR_USAGE, "usage", "TEE must be given as TYPE:ARG, e.g. sim:DIR");
        return -1;
    }
    if (c->attester_open) {
        attester_close(&c->attester);
        c->attester_open = false;
    }
    legacy_config_release(c); /* evidence from the old TEE */
    /* Open now so that a bad spec is reported at configuration time. */
    if (set_string(c, &c->tee_spec, spec) != 0)
        return -1;
    struct attester_handle *h;
    if (config_attester(c, &h, &c->err) != 0)
        return -1;
    return legacy_config_prepare(c, &c->err);
}

int config_attester(struct tether_config *c, struct attester_handle **h, struct error_state *err)
{
    if (!c->tee_spec) {
        error_set(err, TETHER_ERR_USAGE, "usage",
                  "this endpoint attests but no TEE is configured (tether_config_set_tee)");
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    if (!c->attester_open) {
        char msg[256] = "";
        if (attester_open(c->tee_spec, &c->attester, msg, sizeof msg) != 0) {
            pthread_mutex_unlock(&c->lock);
            error_set(err, TETHER_ERR_USAGE, "tee_unavailable", "cannot open TEE %s: %s",
                      c->tee_spec, msg);
            return -1;
        }
        c->attester_open = true;
    }
    pthread_mutex_unlock(&c->lock);
    *h = &c->attester;
    return 0;
}

TETHER_API int tether_config_set_policy_file(struct tether_config *c, const char *path)
{
    if (config_frozen(c))
        return -1;
    char msg[512] = "";
    struct policy *p = path ? policy_load_file(path, msg, sizeof msg) : NULL;
    if (!p) {
        error_set(&c->err, TETHER_ERR_USAGE, "policy_invalid", "policy %s: %s",
                  path ? path : "(null)", msg);
        return -1;
    }
    policy_free(c->policy);
    c->policy = p;
    return 0;
}

TETHER_API int tether_config_set_policy_json(struct tether_config *c, const char *json,
                                             const char *base_dir)
{
    if (config_frozen(c))
        return -1;
    char msg[512] = "";
    struct policy *p = json ? policy_parse(json, strlen(json), base_dir, msg, sizeof msg) : NULL;
    if (!p) {
        error_set(&c->err, TETHER_ERR_USAGE, "policy_invalid", "policy: %s", msg);
        return -1;
    }
    policy_free(c->policy);
    c->policy = p;
    return 0;
}

TETHER_API int tether_config_set_timeouts(struct tether_config *c, unsigned handshake_ms,
                                          unsigned attest_ms)
{
    if (config_frozen(c))
        return -1;
    if (handshake_ms == 0 || attest_ms == 0) {
        error_set(&c->err, TETHER_ERR_USAGE, "usage", "timeouts must be positive");
        return -1;
    }
    c->handshake_ms = handshake_ms;
    c->attest_ms = attest_ms;
    return 0;
}

TETHER_API int tether_config_set_keypair_file(struct tether_config *c, const char *cert_file,
                                              const char *key_file)
{
    if (config_frozen(c))
        return -1;
    if (!cert_file || !key_file) {
        error_set(&c->err, TETHER_ERR_USAGE, "usage", "both a certificate and a key are needed");
        return -1;
    }
    if (set_string(c, &c->cert_file, cert_file) || set_string(c, &c->key_file, key_file))
        return -1;
    return 0;
}

TETHER_API int tether_config_set_ca_file(struct tether_config *c, const char *ca_file)
{
    if (config_frozen(c))
        return -1;
    return set_string(c, &c->ca_file, ca_file);
}

TETHER_API int tether_config_set_cocos_compat(struct tether_config *c, int enable)
{
    if (config_frozen(c))
        return -1;
    c->cocos_compat = enable != 0;
    return 0;
}

/* INSECURE, opt-in only (src/tls/legacy.c, docs/protocol.md "Legacy modes"). */
TETHER_API int tether_config_set_insecure_legacy_mode(struct tether_config *c, const char *mode)
{
    if (config_frozen(c))
        return -1;
    enum legacy_mode m;
    if (legacy_mode_from_name(mode, &m, &c->err) != 0)
        return -1;
    legacy_config_release(c);
    c->legacy_mode = m;
    config_drop_ctx(c);
    /* ra-key: one key for the whole configuration, made now (before any fork). */
    return legacy_config_prepare(c, &c->err);
}

/* RFC 8446 4.6.1 / seat-expat: a client that receives a ticket MUST discard it. Returning 0
 * tells OpenSSL we did not keep a reference, and it frees the session. */
static int discard_ticket(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl;
    (void)sess;
    return 0;
}

/* A fresh in-memory self-signed P-256 certificate for the TLS layer of a server that has no
 * configured identity. Never written to disk. */
static int ephemeral_identity(SSL_CTX *sctx)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    int ok = 0;
    if (!key || !x)
        goto out;
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1)
        goto out;
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    BN_free(bn);
    if (!ai)
        goto out;
    X509_set_serialNumber(x, ai);
    ASN1_INTEGER_free(ai);
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_set_version(x, 2) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"tether-tls-ephemeral", -1, -1, 0) ||
        !X509_set_issuer_name(x, name) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 7L * 24 * 3600) || !X509_set_pubkey(x, key) ||
        !X509_sign(x, key, EVP_sha256()))
        goto out;
    ok = SSL_CTX_use_certificate(sctx, x) == 1 && SSL_CTX_use_PrivateKey(sctx, key) == 1;
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return ok ? 0 : -1;
}

static SSL_CTX *build_ssl_ctx(struct tether_config *c, bool server, struct error_state *err);

#ifdef TETHER_TEST_HOOKS
/* Every object built with the test hooks carries this string, which survives stripping:
 * scripts/check-symbols.sh refuses a library or command that contains it. */
__attribute__((used)) static const char test_hooks_marker[] =
    "TETHER_TEST_HOOKS build: test-only powers, never ship";

/* Test-only: hand each NSS key-log line to the connection it belongs to (tether_test_set_
 * keylog). Never compiled into libtether. */
static void test_keylog_dispatch(const SSL *ssl, const char *line)
{
    struct tether *t = SSL_get_app_data(ssl);
    if (t && t->test_keylog)
        t->test_keylog(t->test_keylog_arg, line);
}
#endif

SSL_CTX *config_ssl_ctx(struct tether_config *c, bool server, struct error_state *err)
{
    pthread_mutex_lock(&c->lock);
    SSL_CTX **slot = &c->ssl_ctx[server ? 1 : 0];
    if (!*slot)
        *slot = build_ssl_ctx(c, server, err);
    SSL_CTX *x = *slot;
    pthread_mutex_unlock(&c->lock);
    return x;
}

static SSL_CTX *build_ssl_ctx(struct tether_config *c, bool server, struct error_state *err)
{
    SSL_CTX *x = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!x)
        goto fail;
    /* TLS 1.3 only (protocol.md 8 rule 1; draft-fossati-seat-expat requires TLS 1.3). */
    if (!SSL_CTX_set_min_proto_version(x, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(x, TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(x, TLS_CIPHERSUITES) || !SSL_CTX_set1_groups_list(x, TLS_GROUPS) ||
        !SSL_CTX_set1_sigalgs_list(x, TLS_SIGALGS))
        goto fail;
    /* No tickets, no resumption, no 0-RTT: a resumed session has no Certificate and could carry
     * application data before attestation (seat-expat; deps.md 1(f)). */
    SSL_CTX_set_options(x, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_max_early_data(x, 0);
    SSL_CTX_set_recv_max_early_data(x, 0);
    SSL_CTX_set_mode(x, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Read whole socket buffers, not each record's header and body separately: halves the
     * read() calls of a handshake. The socket is ours alone while the connection lives. */
    SSL_CTX_set_read_ahead(x, 1);
    if (server) {
        if (!SSL_CTX_set_num_tickets(x, 0))
            goto fail;
        if (c->legacy_mode != LEGACY_NONE) {
            /* INSECURE legacy modes: an RA-TLS certificate per handshake (legacy.c). */
            legacy_server_ctx(x);
        } else if (c->cert_file) {
            if (SSL_CTX_use_certificate_chain_file(x, c->cert_file) != 1 ||
                SSL_CTX_use_PrivateKey_file(x, c->key_file, SSL_FILETYPE_PEM) != 1 ||
                SSL_CTX_check_private_key(x) != 1) {
                error_set(err, TETHER_ERR_USAGE, "usage", "cannot load TLS keypair %s / %s",
                          c->cert_file, c->key_file);
                error_append_openssl(err);
                SSL_CTX_free(x);
                return NULL;
            }
        } else if (ephemeral_identity(x) != 0) {
            goto fail;
        }
        SSL_CTX_set_verify(x, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_sess_set_new_cb(x, discard_ticket);
        /* Legacy modes never build a PKI chain: the RA-TLS certificate is self-signed, and
         * its evidence is appraised after the handshake (legacy.c). SSL_VERIFY_NONE also
         * lets the unknown, non-critical evidence extension through. */
        if (c->ca_file && c->legacy_mode == LEGACY_NONE) {
            if (SSL_CTX_load_verify_locations(x, c->ca_file, NULL) != 1) {
                error_set(err, TETHER_ERR_USAGE, "usage", "cannot load CA file %s", c->ca_file);
                error_append_openssl(err);
                SSL_CTX_free(x);
                return NULL;
            }
            SSL_CTX_set_verify(x, SSL_VERIFY_PEER, NULL);
        } else {
            /* The TLS certificate is not what the client trusts: the attested authenticator,
             * bound to this connection's exporter, is (docs/protocol.md "Identities"). */
            SSL_CTX_set_verify(x, SSL_VERIFY_NONE, NULL);
        }
    }
#ifdef TETHER_TEST_HOOKS
    SSL_CTX_set_keylog_callback(x, test_keylog_dispatch);
#endif
    return x;
fail:
    error_set(err, TETHER_ERR_INTERNAL, "internal", "cannot set up the TLS 1.3 context");
    error_append_openssl(err);
    SSL_CTX_free(x);
    return NULL;
}

const struct policy *config_policy(const struct tether_config *c)
{
    return c ? c->policy : NULL;
}

struct error_state *config_error(struct tether_config *c)
{
    return &c->err;
}
