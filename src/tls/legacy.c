/*
 * legacy.c - the INSECURE legacy binding modes (legacy.h; docs/protocol.md "Legacy modes"):
 * RA-TLS certificates with evidence over a client nonce (ra-nonce), over the certificate key
 * (ra-key), over both (ra-key-nonce), or over the nonce, the early exporter of the ClientHello
 * and the key (ra-early-exporter). Opt-in only, for interoperability and the relay lab.
 *
 * Must never: be reachable without tether_config_set_insecure_legacy_mode; take report_data
 * from anyone (legacy_make_identity derives it from the certificate it is building and the
 * nonce the client sent, through src/binding/legacy_binder.c); decide the binding on the
 * unsigned claims (the hardware-signed report_data decides, in src/verify); check the
 * certificate against a CA, or let anything but a passing appraisal make the connection ready.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "binding/early_exporter.h"
#include "binding/ratls_ext.h"
#include "tls/tls_internal.h"
#include "util/der.h"
#include "util/x509util.h"
#include "verify/verify.h"

/* ---- the extension's OID, made once ---- */

static ASN1_OBJECT *ratls_obj;
static void ratls_obj_init(void)
{
    ratls_obj = OBJ_txt2obj(RATLS_EXT_OID, 1);
}

static const ASN1_OBJECT *ratls_oid(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ratls_obj_init);
    return ratls_obj;
}

int legacy_cert_extension(const X509 *cert, const uint8_t **value, size_t *len)
{
    const ASN1_OBJECT *oid = ratls_oid();
    if (!cert || !oid)
        return -1;
    int i = X509_get_ext_by_OBJ(cert, oid, -1);
    if (i < 0)
        return -1;
    if (X509_get_ext_by_OBJ(cert, oid, i) >= 0)
        return -2;
    const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(cert, i));
    if (!d)
        return -1;
    *value = ASN1_STRING_get0_data(d);
    *len = (size_t)ASN1_STRING_length(d);
    return 0;
}

/* ---- ra-early-exporter: the ClientHello exactly as it went over the wire ----
 * OpenSSL's message callback hands us every handshake message, header included, as sent
 * (client) or received (server), before the server's certificate callback runs. We keep the
 * first ClientHello and count them: a second one means a HelloRetryRequest, which this mode
 * refuses (the early secret is defined over the first ClientHello, but the certificate would
 * then be built after the second; a mode that is insecure anyway gains nothing from the
 * extra case). The state hangs off the SSL as ex_data and dies with it. */

struct legacy_ch {
    uint8_t *ch;         /* the first ClientHello message, or NULL */
    size_t ch_len;
    int n_client_hellos; /* saturates at 2 */
    bool too_large;
    bool hrr;            /* a HelloRetryRequest was sent or received */
};

static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

static int ch_index = -1;

static void ch_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    struct legacy_ch *st = ptr;
    if (st) {
        OPENSSL_free(st->ch);
        OPENSSL_free(st);
    }
}

static void ch_index_init(void)
{
    ch_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, ch_free);
}

static struct legacy_ch *ch_state(SSL *ssl, bool create)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ch_index_init);
    if (ch_index < 0)
        return NULL;
    struct legacy_ch *st = SSL_get_ex_data(ssl, ch_index);
    if (!st && create) {
        st = OPENSSL_zalloc(sizeof *st);
        if (st && SSL_set_ex_data(ssl, ch_index, st) != 1) {
            OPENSSL_free(st);
            st = NULL;
        }
    }
    return st;
}

static int callback_failed(struct tether *ctx, int category, const char *code, const char *msg);

static void legacy_msg_cb(int write_p, int version, int content_type, const void *buf,
                          size_t len, SSL *ssl, void *arg)
{
    (void)version, (void)arg;
    struct tether *ctx = SSL_get_app_data(ssl);
    if (!ctx || !legacy_mode_uses_early_exporter(ctx->cfg->legacy_mode) ||
        content_type != SSL3_RT_HANDSHAKE || len < 1)
        return;
    const uint8_t *p = buf;
    struct legacy_ch *st = ch_state(ssl, true);
    if (!st)
        return; /* the certificate callback and the appraisal find no ClientHello and fail */
    if (p[0] == SSL3_MT_CLIENT_HELLO && (ctx->server ? !write_p : write_p)) {
        if (st->n_client_hellos < 2)
            st->n_client_hellos++;
        if (st->n_client_hellos == 1) {
            if (len > CLIENT_HELLO_MAX || !(st->ch = OPENSSL_memdup(buf, len)))
                st->too_large = true;
            else
                st->ch_len = len;
        }
    } else if (p[0] == SSL3_MT_SERVER_HELLO && len >= 6 + 32 &&
               memcmp(p + 6, hrr_random, sizeof hrr_random) == 0) {
        st->hrr = true;
        if (!ctx->server)
            callback_failed(ctx, TETHER_ERR_PROTOCOL, "legacy_hrr_unsupported",
                            "the server sent a HelloRetryRequest: ra-early-exporter refuses it "
                            "(docs/protocol.md 15.5)");
    }
}

/* EE of this handshake: from the one ClientHello and the cipher suite's hash. 0, or -1 with
 * a code and message for the caller to report. */
static int handshake_early_exporter(SSL *ssl, const SSL_CIPHER *cipher,
                                    uint8_t ee[static LEGACY_EE_LEN], const EVP_MD **md_out,
                                    const char **code, char *msg, size_t msg_len)
{
    struct legacy_ch *st = ch_state(ssl, false);
    if (st && (st->hrr || st->n_client_hellos > 1)) {
        *code = "legacy_hrr_unsupported";
        snprintf(msg, msg_len, "this handshake had a HelloRetryRequest: ra-early-exporter "
                               "refuses it (docs/protocol.md 15.5)");
        return -1;
    }
    if (!st || !st->ch || st->too_large) {
        *code = "legacy_early_exporter_unavailable";
        snprintf(msg, msg_len, "the handshake's ClientHello was not captured%s",
                 st && st->too_large ? " (larger than 64 KiB)" : "");
        return -1;
    }
    const EVP_MD *md = cipher ? SSL_CIPHER_get_handshake_digest(cipher) : NULL;
    const char *why = NULL;
    if (legacy_early_exporter(md, st->ch, st->ch_len, ee, &why) != 0) {
        *code = "legacy_early_exporter_unavailable";
        snprintf(msg, msg_len, "no early exporter for this handshake: %s", why ? why : "?");
        return -1;
    }
    if (md_out)
        *md_out = md;
    return 0;
}

/* A self-issued certificate for key, without extensions yet and unsigned. */
static X509 *bare_cert(EVP_PKEY *key)
{
    X509 *x = x509_new_self_issued(key, "tether-insecure-legacy-ra-tls", 24L * 3600);
    /* This one serves as the TLS certificate, so OpenSSL needs its decoded public key. */
    if (x && X509_set_pubkey(x, key) != 1) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* Add the extension (non-critical: OpenSSL and mbedTLS refuse unknown critical extensions,
 * interoperable-ra-tls) and sign. */
static int finish_cert(X509 *x, EVP_PKEY *key, const uint8_t *ext_value, size_t ext_len)
{
    const ASN1_OBJECT *oid = ratls_oid();
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e = NULL;
    int ok = oid && os && ext_len <= RATLS_EXT_MAX &&
             ASN1_OCTET_STRING_set(os, ext_value, (int)ext_len) == 1 &&
             (e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os)) != NULL &&
             X509_add_ext(x, e, -1) == 1 && X509_sign(x, key, EVP_sha256()) > 0;
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    return ok ? 0 : -1;
}

X509 *legacy_cert_with_extension(EVP_PKEY *key, const uint8_t *ext_value, size_t ext_len)
{
    X509 *x = key && ext_value ? bare_cert(key) : NULL;
    if (x && finish_cert(x, key, ext_value, ext_len) != 0) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* The RA-TLS CBOR tag of an attester backend's evidence. */
static int backend_tag(const char *backend, uint64_t *tag)
{
    if (strcmp(backend, "sim") == 0) {
        *tag = RATLS_TAG_TETHER_SIM;
        return 0;
    }
    return -1;
}

/* THE place where a legacy mode asks for evidence: a fresh P-256 key, a certificate for it,
 * and evidence over the report_data the mode derives from that certificate's SPKI (and the
 * client's nonce). Nothing else in this file calls the attester. */
static int legacy_make_identity(struct tether_config *cfg, enum legacy_mode m,
                                const uint8_t *nonce, const uint8_t *ee, EVP_PKEY **key_out,
                                X509 **cert_out, struct error_state *err)
{
    struct attester_handle *att;
    if (config_attester(cfg, &att, err) != 0)
        return -1;
    uint64_t tag;
    if (backend_tag(att->backend->name, &tag) != 0) {
        error_set(err, TETHER_ERR_USAGE, "usage",
                  "TEE type %s has no RA-TLS evidence tag: legacy modes support sim only",
                  att->backend->name);
        return -1;
    }
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = key ? bare_cert(key) : NULL;
    uint8_t *spki = NULL, *ev = NULL;
    int spki_len = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki) : -1;
    struct binder b;
    memset(&b, 0, sizeof b);
    struct bytes_writer w;
    writer_init(&w, RATLS_EXT_MAX);
    int rc = -1;
    if (spki_len <= 0 ||
        legacy_binder_compute_ee(m, spki, (size_t)spki_len, nonce, nonce ? LEGACY_NONCE_LEN : 0,
                                 ee, ee ? LEGACY_EE_LEN : 0, &b) != 0) {
        error_set(err, TETHER_ERR_INTERNAL, "internal", "cannot make the legacy TLS key");
        error_append_openssl(err);
        goto out;
    }
    size_t ev_len = 0;
    char msg[256] = "";
    if (att->backend->evidence(att->state, &b, &ev, &ev_len, msg, sizeof msg) != 0) {
        error_set(err, TETHER_ERR_EVIDENCE, "evidence_unavailable", "TEE %s: %s",
                  att->backend->name, msg);
        goto out;
    }
    /* The claims of interoperable RA-TLS: pubkey-hash always, the nonce in the nonce modes. */
    struct ratls_claims c;
    memset(&c, 0, sizeof c);
    c.has_pubkey_hash = true;
    c.hash_alg = RATLS_HASH_SHA256;
    c.pubkey_hash_len = 32;
    unsigned int dl = 0;
    if (!EVP_Digest(spki, (size_t)spki_len, c.pubkey_hash, &dl, EVP_sha256(), NULL)) {
        error_set(err, TETHER_ERR_INTERNAL, "internal", "SHA-256 failed");
        goto out;
    }
    if (legacy_mode_has_nonce(m)) {
        c.has_nonce = true;
        memcpy(c.nonce, nonce, LEGACY_NONCE_LEN);
        c.nonce_len = LEGACY_NONCE_LEN;
    }
    if (ratls_ext_encode(tag, ev, ev_len, &c, &w) != 0 || finish_cert(x, key, w.data, w.len) != 0) {
        error_set(err, TETHER_ERR_EVIDENCE, "evidence_too_large",
                  "cannot build the RA-TLS certificate (evidence of %zu bytes)", ev_len);
        error_append_openssl(err);
        goto out;
    }
    *key_out = key;
    *cert_out = x;
    key = NULL;
    x = NULL;
    rc = 0;
out:
    OPENSSL_cleanse(&b, sizeof b);
    writer_free(&w);
    free(ev);
    OPENSSL_free(spki);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* ---- configuration ---- */

int legacy_mode_from_name(const char *name, enum legacy_mode *out, struct error_state *err)
{
    if (legacy_mode_parse(name, out) != 0) {
        error_set(err, TETHER_ERR_USAGE, "usage",
                  "unknown legacy mode \"%.64s\" (insecure legacy modes: ra-nonce, ra-key, "
                  "ra-key-nonce, ra-early-exporter; \"tether\" for the default)",
                  name);
        return -1;
    }
    return 0;
}

int legacy_config_prepare(struct tether_config *cfg, struct error_state *err)
{
    if (cfg->legacy_mode != LEGACY_RA_KEY || !cfg->tee_spec)
        return 0;
    pthread_mutex_lock(&cfg->lock);
    bool have = cfg->legacy_id.key != NULL;
    pthread_mutex_unlock(&cfg->lock);
    if (have)
        return 0;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    if (legacy_make_identity(cfg, LEGACY_RA_KEY, NULL, NULL, &key, &cert, err) != 0)
        return -1;
    pthread_mutex_lock(&cfg->lock);
    if (!cfg->legacy_id.key) { /* another thread may have been first: keep one identity */
        cfg->legacy_id.key = key;
        cfg->legacy_id.cert = cert;
        key = NULL;
        cert = NULL;
    }
    pthread_mutex_unlock(&cfg->lock);
    EVP_PKEY_free(key);
    X509_free(cert);
    return 0;
}

void legacy_config_release(struct tether_config *cfg)
{
    EVP_PKEY_free(cfg->legacy_id.key);
    X509_free(cfg->legacy_id.cert);
    cfg->legacy_id.key = NULL;
    cfg->legacy_id.cert = NULL;
}

static int callback_failed(struct tether *ctx, int category, const char *code, const char *msg)
{
    ctx->legacy.failed = true;
    error_set(&ctx->legacy.err, category, code, "%s", msg);
    return 0;
}

/* Nonce modes: the nonce must be in the ClientHello's server_name; anything else is refused
 * with an unrecognized_name alert (RFC 6066 3) before a certificate is made. */
static int legacy_servername_cb(SSL *ssl, int *alert, void *arg)
{
    (void)arg;
    struct tether *ctx = SSL_get_app_data(ssl);
    if (!ctx || !ctx->server || !legacy_mode_has_nonce(ctx->cfg->legacy_mode))
        return SSL_TLSEXT_ERR_OK;
    struct legacy_ch *st = legacy_mode_uses_early_exporter(ctx->cfg->legacy_mode)
                               ? ch_state(ssl, false)
                               : NULL;
    if (st && (st->hrr || st->n_client_hellos > 1)) { /* the ClientHello after a retry */
        callback_failed(ctx, TETHER_ERR_PROTOCOL, "legacy_hrr_unsupported",
                        "the handshake needed a HelloRetryRequest: ra-early-exporter refuses it "
                        "(docs/protocol.md 15.5)");
        *alert = SSL_AD_HANDSHAKE_FAILURE;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (legacy_sni_decode(name, ctx->legacy.nonce) != 0) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "the client sent no nonce in its server_name (got %s%.80s%s; a ra-nonce, "
                 "ra-key-nonce or ra-early-exporter client sends \"<64 hex digits>.nonce\")",
                 name ? "\"" : "", name ? name : "none", name ? "\"" : "");
        callback_failed(ctx, TETHER_ERR_PROTOCOL, "legacy_nonce_missing", msg);
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    ctx->legacy.have_nonce = true;
    return SSL_TLSEXT_ERR_OK;
}

/* The server's certificate for this handshake: fresh (nonce modes) or the configuration's one
 * (ra-key), with evidence in its RA-TLS extension. Returning 0 aborts the handshake. */
static int legacy_cert_cb(SSL *ssl, void *arg)
{
    (void)arg;
    struct tether *ctx = SSL_get_app_data(ssl);
    if (!ctx || !ctx->server || ctx->cfg->legacy_mode == LEGACY_NONE)
        return 1;
    enum legacy_mode m = ctx->cfg->legacy_mode;
    /* ra-early-exporter: the early exporter of the ClientHello, with the hash of the suite
     * OpenSSL has already chosen (TLS 1.3 picks it before the certificate callback). */
    uint8_t ee[LEGACY_EE_LEN];
    if (legacy_mode_uses_early_exporter(m)) {
        const char *code = NULL;
        char msg[256];
        if (handshake_early_exporter(ssl, SSL_get_pending_cipher(ssl), ee, NULL, &code, msg,
                                     sizeof msg) != 0)
            return callback_failed(ctx, TETHER_ERR_PROTOCOL, code, msg);
    }
    if (ctx->legacy.cert_set) /* again after a HelloRetryRequest: keep the first one */
        return 1;
    struct tether_config *cfg = ctx->cfg;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    struct error_state err;
    error_clear(&err);
    if (legacy_mode_has_nonce(m)) {
        if (!ctx->legacy.have_nonce)
            return callback_failed(ctx, TETHER_ERR_PROTOCOL, "legacy_nonce_missing",
                                   "the client sent no nonce in its server_name");
        if (legacy_make_identity(cfg, m, ctx->legacy.nonce,
                                 legacy_mode_uses_early_exporter(m) ? ee : NULL, &key, &cert,
                                 &err) != 0)
            return callback_failed(ctx, err.category, err.code, err.msg);
    } else {
        if (legacy_config_prepare(cfg, &err) != 0)
            return callback_failed(ctx, err.category, err.code, err.msg);
        pthread_mutex_lock(&cfg->lock);
        if (cfg->legacy_id.key && EVP_PKEY_up_ref(cfg->legacy_id.key)) {
            key = cfg->legacy_id.key;
            if (X509_up_ref(cfg->legacy_id.cert))
                cert = cfg->legacy_id.cert;
        }
        pthread_mutex_unlock(&cfg->lock);
        if (!cert) {
            EVP_PKEY_free(key);
            return callback_failed(ctx, TETHER_ERR_INTERNAL, "internal",
                                   "no ra-key identity");
        }
    }
#ifdef TETHER_TEST_HOOKS
    if (ctx->test_leak_key)
        ctx->test_leak_key(ctx->test_leak_arg, key);
#endif
    int ok = SSL_use_certificate(ssl, cert) == 1 && SSL_use_PrivateKey(ssl, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!ok)
        return callback_failed(ctx, TETHER_ERR_INTERNAL, "internal",
                               "cannot install the legacy certificate");
    ctx->legacy.cert_set = true;
    return 1;
}

int legacy_server_ctx(SSL_CTX *x)
{
    SSL_CTX_set_tlsext_servername_callback(x, legacy_servername_cb);
    SSL_CTX_set_cert_cb(x, legacy_cert_cb, NULL);
    /* ra-early-exporter's ClientHello capture; a no-op in the other modes. */
    SSL_CTX_set_msg_callback(x, legacy_msg_cb);
    return 0;
}

/* ---- connection ---- */

int legacy_check_usage(struct tether *ctx)
{
    struct tether_config *cfg = ctx->cfg;
    if (cfg->legacy_mode == LEGACY_NONE)
        return 0;
    const char *why = NULL;
    if (cfg->attest != TETHER_ATTEST_SERVER)
        why = "legacy modes support only a server that attests to a client that appraises (no "
              "mutual or client attestation)";
    else if (!ctx->server && cfg->cocos_compat)
        why = "legacy modes and Cocos compatibility cannot be combined";
    else if (!ctx->server && cfg->ca_file)
        why = "legacy modes trust the evidence in a self-signed RA-TLS certificate: a CA file "
              "cannot be used with them";
    else if (ctx->server && cfg->cert_file)
        why = "legacy modes make their own RA-TLS certificate: a TLS keypair file cannot be "
              "used with them";
    if (why) {
        error_set(&ctx->err, TETHER_ERR_USAGE, "usage", "%s", why);
        return -1;
    }
    return 0;
}

int legacy_attach(struct tether *ctx)
{
    enum legacy_mode m = ctx->cfg->legacy_mode;
    if (ctx->server || !legacy_mode_has_nonce(m))
        return 0;
    if (legacy_mode_uses_early_exporter(m)) {
        /* Keep the ClientHello we send: its early exporter is in the expected binder. */
        if (!ch_state(ctx->ssl, true)) {
            error_set(&ctx->err, TETHER_ERR_INTERNAL, "internal", "out of memory");
            goto fail;
        }
        SSL_set_msg_callback(ctx->ssl, legacy_msg_cb);
    }
    /* The nonce replaces any server name the caller gave (Cocos <= 0.8.2 did the same). */
    char sni[LEGACY_SNI_LEN + 1];
    if (RAND_bytes(ctx->legacy.nonce, LEGACY_NONCE_LEN) != 1) {
        error_set(&ctx->err, TETHER_ERR_INTERNAL, "internal", "no randomness for the nonce");
        goto fail;
    }
    legacy_sni_encode(ctx->legacy.nonce, sni);
    if (SSL_set_tlsext_host_name(ctx->ssl, sni) != 1) {
        error_set(&ctx->err, TETHER_ERR_INTERNAL, "internal", "cannot send the nonce");
        error_append_openssl(&ctx->err);
        goto fail;
    }
    ctx->legacy.have_nonce = true;
    return 0;
fail:
    SSL_free(ctx->ssl); /* as attach does: a retry starts from scratch */
    ctx->ssl = NULL;
    return -1;
}

void legacy_handshake_failed(struct tether *ctx)
{
    if (!ctx->legacy.failed)
        return;
    ERR_clear_error();
    ctx->err = ctx->legacy.err;
    ctx->state = ST_FAILED;
}


/* H(spki) with a RATLS_HASH_* algorithm. */
static int spki_hash(unsigned alg, const uint8_t *spki, size_t n, uint8_t *out, size_t *len)
{
    const EVP_MD *md = alg == RATLS_HASH_SHA256   ? EVP_sha256()
                       : alg == RATLS_HASH_SHA384 ? EVP_sha384()
                       : alg == RATLS_HASH_SHA512 ? EVP_sha512()
                                                  : NULL;
    unsigned int dl = 0;
    if (!md || !EVP_Digest(spki, n, out, &dl, md, NULL))
        return -1;
    *len = dl;
    return 0;
}

/* The relying party: appraise the evidence in the server's certificate. */
static int legacy_appraise_peer(struct tether *ctx)
{
    enum legacy_mode m = ctx->cfg->legacy_mode;
    tether_result_free(ctx->result);
    ctx->result = result_new();
    if (!ctx->result)
        return conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "out of memory");
    struct tether_result *r = ctx->result;
    const char *mode = legacy_mode_name(m);
    char detail[320];
    snprintf(detail, sizeof detail,
             "INSECURE legacy binding %s: the evidence is in the TLS certificate and bound to "
             "%s, not to this TLS connection (docs/protocol.md, \"Legacy modes\")",
             mode,
             m == LEGACY_RA_NONCE ? "a client nonce only"
             : m == LEGACY_RA_KEY ? "the certificate key only, with no freshness"
             : m == LEGACY_RA_EARLY_EXPORTER
                 ? "a client nonce, the ClientHello's early exporter (no PSK: public) and the "
                   "certificate key"
                 : "the certificate key and a client nonce");
    result_check(r, "legacy.mode", CHECK_SKIP, NULL, "tether", mode, detail);

    /* 1. The certificate whose key the TLS CertificateVerify proved; its SPKI byte-exact. */
    X509 *peer = SSL_get0_peer_certificate(ctx->ssl);
    uint8_t *der = NULL;
    int der_len = peer ? i2d_X509(peer, &der) : -1;
    const uint8_t *spki = NULL;
    size_t spki_len = 0;
    int rc = -1;
    if (der_len <= 0 || der_cert_spki(der, (size_t)der_len, &spki, &spki_len) != 0) {
        result_check(r, "legacy.certificate", CHECK_FAIL, "legacy_certificate_invalid", NULL,
                     NULL, peer ? "the server certificate's SubjectPublicKeyInfo cannot be read"
                                : "the server sent no certificate");
        attest_appraisal_failed(ctx);
        goto out;
    }
    uint8_t fp[32];
    unsigned int fpl = 0;
    char fp_hex[65] = "";
    if (EVP_Digest(spki, spki_len, fp, &fpl, EVP_sha256(), NULL))
        hex_encode(fp, 32, fp_hex);
    result_check(r, "legacy.certificate", CHECK_PASS, NULL, NULL, fp_hex,
                 "SHA-256 of the server certificate's SPKI; the TLS handshake proved possession "
                 "of this key, and that is all it proved");

    /* 2. ra-early-exporter: the early exporter of the ClientHello WE sent, with the hash of
     *    the suite this connection negotiated. */
    uint8_t ee[LEGACY_EE_LEN];
    bool use_ee = legacy_mode_uses_early_exporter(m);
    if (use_ee) {
        const char *code = NULL;
        char msg[256];
        const EVP_MD *md = NULL;
        if (handshake_early_exporter(ctx->ssl, SSL_get_current_cipher(ctx->ssl), ee, &md, &code,
                                     msg, sizeof msg) != 0) {
            result_check(r, "legacy.early_exporter", CHECK_FAIL, code, NULL, NULL, msg);
            attest_appraisal_failed(ctx);
            goto out;
        }
        char ee_hex[2 * LEGACY_EE_LEN + 1];
        hex_encode(ee, LEGACY_EE_LEN, ee_hex);
        char ee_detail[200];
        snprintf(ee_detail, sizeof ee_detail,
                 "TLS-Early-Exporter(\"" LEGACY_EE_LABEL "\", \"\", 32) of our ClientHello "
                 "with %s and no PSK: anyone who saw the ClientHello computes it",
                 EVP_MD_get0_name(md));
        result_check(r, "legacy.early_exporter", CHECK_PASS, NULL, NULL, ee_hex, ee_detail);
    }

    /* 2b. The RA-TLS extension. */
    const uint8_t *val = NULL;
    size_t val_len = 0;
    int found = legacy_cert_extension(peer, &val, &val_len);
    if (found != 0) {
        result_check(r, "legacy.extension", CHECK_FAIL,
                     found == -2 ? "ratls_extension_malformed" : "ratls_extension_missing",
                     RATLS_EXT_OID, NULL,
                     found == -2 ? "the RA-TLS evidence extension appears more than once"
                                 : "the server certificate carries no RA-TLS evidence extension "
                                   "(is the server a legacy-mode server?)");
        attest_appraisal_failed(ctx);
        goto out;
    }
    struct ratls_ext ext;
    const char *why = NULL;
    if (ratls_ext_decode(val, val_len, &ext, &why) != 0) {
        result_check(r, "legacy.extension", CHECK_FAIL, "ratls_extension_malformed",
                     RATLS_EXT_OID, NULL, why);
        attest_appraisal_failed(ctx);
        goto out;
    }
    char tag_s[64];
    snprintf(tag_s, sizeof tag_s, "CBOR tag %llu", (unsigned long long)ext.tag);
    if (ext.tag != RATLS_TAG_TETHER_SIM) {
        result_check(r, "evidence.type", CHECK_FAIL, "evidence_unrecognised", "sim", tag_s,
                     "no evidence backend for this RA-TLS evidence tag");
        attest_appraisal_failed(ctx);
        goto out;
    }
    result_check(r, "legacy.extension", CHECK_PASS, NULL, RATLS_EXT_OID, tag_s,
                 "interoperable RA-TLS evidence (tether sim, private tag)");

    /* 3. Expected values from OUR nonce (and early exporter) and the certificate's SPKI; then
     *    the pipeline. The hardware-signed report_data decides. */
    struct binder b;
    if (legacy_binder_compute_ee(m, spki, spki_len,
                                 ctx->legacy.have_nonce ? ctx->legacy.nonce : NULL,
                                 ctx->legacy.have_nonce ? LEGACY_NONCE_LEN : 0,
                                 use_ee ? ee : NULL, use_ee ? LEGACY_EE_LEN : 0, &b) != 0) {
        conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "legacy binder computation failed");
        goto out;
    }
    struct verify_input in = {
        .evidence = ext.evidence,
        .evidence_len = ext.evidence_len,
        .type = "sim",
        .expected_report_data = b.report_data,
        .expected_report_data_len = sizeof b.report_data,
        .expected_key_hash = legacy_mode_binds_key(m) ? b.aik_pub_hash : NULL,
        .expected_key_hash_len = b.hash_len,
        .binding_required = true,
        .at = time(NULL),
    };
    if (verify_evidence(ctx->cfg->policy, &in, r) != 0) {
        attest_appraisal_failed(ctx);
        goto out;
    }

    /* 4. The unsigned claims must agree with what the signed report_data committed to; they
     *    can only make the appraisal fail. */
    const struct ratls_claims *c = &ext.claims;
    uint8_t h[64];
    size_t hl = 0;
    if (legacy_mode_binds_key(m) &&
        (spki_hash(c->hash_alg, spki, spki_len, h, &hl) != 0 || hl != c->pubkey_hash_len ||
         !ct_equal(h, c->pubkey_hash, hl))) {
        result_check_hex(r, "legacy.claims", CHECK_FAIL, "claims_mismatch", h, hl,
                         c->pubkey_hash, c->pubkey_hash_len,
                         "the pubkey-hash claim is not the hash of the certificate's key");
        attest_appraisal_failed(ctx);
        goto out;
    }
    if (legacy_mode_has_nonce(m) &&
        (!c->has_nonce || c->nonce_len != LEGACY_NONCE_LEN ||
         !ct_equal(c->nonce, ctx->legacy.nonce, LEGACY_NONCE_LEN))) {
        result_check_hex(r, "legacy.claims", CHECK_FAIL, "claims_mismatch", ctx->legacy.nonce,
                         LEGACY_NONCE_LEN, c->has_nonce ? c->nonce : NULL, c->nonce_len,
                         "the nonce claim is not the nonce this client sent");
        attest_appraisal_failed(ctx);
        goto out;
    }
    result_check(r, "legacy.claims", CHECK_PASS, NULL, NULL, NULL,
                 m == LEGACY_RA_NONCE ? "nonce claim matches; the pubkey-hash claim is not "
                                        "checked: ra-nonce binds no key"
                                      : NULL);
    if (!result_passed(r)) {
        attest_appraisal_failed(ctx);
        goto out;
    }
    ctx->n_appraised++;
    rc = 0;
out:
    OPENSSL_free(der);
    return rc;
}

int legacy_on_tls_done(struct tether *ctx)
{
    enum legacy_mode m = ctx->cfg->legacy_mode;
    if (m == LEGACY_NONE) {
        /* A tether client meeting an RA-TLS server: say so instead of waiting for an
         * authenticator that will never come. */
        const uint8_t *v;
        size_t n;
        if (!ctx->server &&
            legacy_cert_extension(SSL_get0_peer_certificate(ctx->ssl), &v, &n) != -1)
            return conn_fail(ctx, TETHER_ERR_PROTOCOL, "legacy_peer",
                             "the server presented an RA-TLS certificate (evidence inside the "
                             "TLS handshake): it uses an insecure legacy binding, not tether's "
                             "post-handshake attestation (see --insecure-legacy-mode)");
        return 0;
    }
    ctx->framed = false;
    if (ctx->server && legacy_mode_uses_early_exporter(m)) {
        struct legacy_ch *st = ch_state(ctx->ssl, false);
        if (!st || st->hrr || st->n_client_hellos != 1)
            return conn_fail(ctx, TETHER_ERR_PROTOCOL, "legacy_hrr_unsupported",
                             "ra-early-exporter handshake with %d ClientHellos",
                             st ? st->n_client_hellos : 0);
    }
    if (ctx->server)
        return ctx->legacy.cert_set ? 1
                                    : conn_fail(ctx, TETHER_ERR_INTERNAL, "internal",
                                                "legacy handshake completed without our "
                                                "RA-TLS certificate");
    return legacy_appraise_peer(ctx) == 0 ? 1 : -1;
}
