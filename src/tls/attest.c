/*
 * attest.c - the post-handshake attestation exchange on one connection (draft-fossati-seat-
 * expat over RFC 9261, in the Cocos aTLS v2 framing; docs/protocol.md).
 *
 * Relying party: send an AuthenticatorRequest with a fresh 32-byte context, then validate the
 * answer in the order that fails closed: authenticator signature and Finished; payload;
 * evidence chain; the hardware-signed report_data against the binder recomputed from OUR
 * exporter and the authenticator's SPKI; policy.
 * Attester: answer each request with a fresh key, fresh certificate and fresh evidence over
 * the binder computed here from our own exporter. This file is the only caller of the
 * attester backends; it never takes report_data from anyone.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "binding/binder.h"
#include "tls/tls_internal.h"
#include "util/der.h"
#include "util/x509util.h"
#include "verify/verify.h"

static int export_value(struct tether *ctx, const char *label, const uint8_t *context,
                        size_t context_len, uint8_t *out, size_t out_len)
{
    /* RFC 8446 7.5 exporter; the non-early one, available once the handshake is done. */
    if (SSL_export_keying_material(ctx->ssl, out, out_len, label, strlen(label), context,
                                   context_len, 1) != 1)
        return conn_fail(ctx, TETHER_ERR_TLS, "exporter", "TLS exporter \"%s\" failed", label);
    return 0;
}

static int exporters_for(struct tether *ctx, bool server_role, struct ea_exporters *x)
{
    x->md = ctx->md;
    x->hash_len = (size_t)EVP_MD_get_size(ctx->md);
    /* RFC 9261 5.1: handshake context and finished key come from role-specific labels. */
    if (export_value(ctx, server_role ? EA_LABEL_SERVER_HC : EA_LABEL_CLIENT_HC, NULL, 0, x->hc,
                     x->hash_len) ||
        export_value(ctx, server_role ? EA_LABEL_SERVER_FK : EA_LABEL_CLIENT_FK, NULL, 0, x->fk,
                     x->hash_len))
        return -1;
    return 0;
}

int attest_on_tls_done(struct tether *ctx)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(ctx->ssl);
    ctx->md = c ? SSL_CIPHER_get_handshake_digest(c) : NULL;
    if (!ctx->md)
        return conn_fail(ctx, TETHER_ERR_TLS, "tls", "no cipher suite hash after the handshake");
    snprintf(ctx->version, sizeof ctx->version, "%s", SSL_get_version(ctx->ssl));
    snprintf(ctx->cipher, sizeof ctx->cipher, "%s", SSL_CIPHER_get_name(c));
    if (SSL_version(ctx->ssl) != TLS1_3_VERSION)
        return conn_fail(ctx, TETHER_ERR_TLS, "tls_version", "peer negotiated %s, need TLSv1.3",
                         ctx->version);
    /* Exporters for authenticators the peer sends (its role) and that we send (ours). */
    return 0;
}

int attest_prepare(struct tether *ctx)
{
    /* Only the exporters this endpoint will use (each is two HKDF expansions), computed while
     * the peer is busy: after our request went out, before we wait for the answer. */
    if (ctx->we_appraise && !ctx->x_peer_ready) {
        if (exporters_for(ctx, !ctx->server, &ctx->x_peer) != 0)
            return -1;
        ctx->x_peer_ready = true;
    }
    if (ctx->we_attest && !ctx->x_own_ready) {
        if (exporters_for(ctx, ctx->server, &ctx->x_own) != 0)
            return -1;
        ctx->x_own_ready = true;
    }
    if (ctx->req_outstanding && !ctx->req_exported_ready) {
        if (export_value(ctx, binder_label(!ctx->server), ctx->req.context, ctx->req.context_len,
                         ctx->req_exported, sizeof ctx->req_exported) != 0)
            return -1;
        ctx->req_exported_ready = true;
    }
    return 0;
}

int attest_send_request(struct tether *ctx)
{
    struct ea_request *r = &ctx->req;
    memset(r, 0, sizeof *r);
    /* RFC 9261 4: the client asks with ClientCertificateRequest, the server with
     * CertificateRequest. */
    r->msg_type = ctx->server ? EA_HS_CERTIFICATE_REQUEST : EA_HS_CLIENT_CERTIFICATE_REQUEST;
    r->context_len = 32;
    if (RAND_bytes(r->context, (int)r->context_len) != 1)
        return conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "no randomness for the context");
    if (ctx->compat) {
        /* Exactly Cocos's default request: {0x0403}, empty cmw_attestation. */
        r->sigalgs[0] = EA_SIG_ECDSA_P256_SHA256;
        r->n_sigalgs = 1;
    } else {
        r->sigalgs[0] = EA_SIG_ECDSA_P256_SHA256;
        r->sigalgs[1] = EA_SIG_ED25519;
        r->sigalgs[2] = EA_SIG_ECDSA_P384_SHA384;
        r->n_sigalgs = 3;
        r->framing_offered = true;
    }
    r->cmw_offered = true;
    struct bytes_writer w;
    writer_init(&w, 65536);
    if (ea_request_encode(r, &w) != 0) {
        writer_free(&w);
        return conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "cannot encode the request");
    }
    free(ctx->req_msg);
    ctx->req_msg = writer_take(&w, &ctx->req_len);
    if (!ctx->req_msg)
        return conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "out of memory");
    if (conn_queue_frame(ctx, EA_FRAME_REQUEST, ctx->req_msg, ctx->req_len) != 0)
        return -1;
    ctx->req_outstanding = true;
    ctx->req_exported_ready = false; /* a new context: attest_prepare exports for it */
    ctx->req_deadline = now_ms() + (int64_t)ctx->cfg->attest_ms;
    return 0;
}

/* A fresh authenticator key for the chosen scheme; never written anywhere. The keygen
 * contexts are set up once per process (building one costs more than the generation itself in
 * OpenSSL 3.0) and used under a lock; every call still generates a new key. */
static pthread_mutex_t keygen_lock = PTHREAD_MUTEX_INITIALIZER;
static EVP_PKEY_CTX *keygen_ctx[3];

static EVP_PKEY *fresh_key(uint16_t sigalg)
{
    int slot;
    const char *alg, *group = NULL;
    switch (sigalg) {
    case EA_SIG_ECDSA_P256_SHA256:
        slot = 0, alg = "EC", group = "P-256";
        break;
    case EA_SIG_ECDSA_P384_SHA384:
        slot = 1, alg = "EC", group = "P-384";
        break;
    case EA_SIG_ED25519:
        slot = 2, alg = "ED25519";
        break;
    default:
        return NULL;
    }
    EVP_PKEY *key = NULL;
    pthread_mutex_lock(&keygen_lock);
    EVP_PKEY_CTX *c = keygen_ctx[slot];
    if (!c) {
        c = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
        if (!c || EVP_PKEY_keygen_init(c) != 1 ||
            (group && EVP_PKEY_CTX_set_group_name(c, group) != 1)) {
            EVP_PKEY_CTX_free(c);
            c = NULL;
        }
        keygen_ctx[slot] = c;
    }
    if (c && EVP_PKEY_generate(c, &key) != 1)
        key = NULL;
    pthread_mutex_unlock(&keygen_lock);
    return key;
}


/* The authenticator's self-signed certificate, DER-encoded (the form the Certificate message
 * carries); *der is OPENSSL_malloc'd. Length, or -1. */
static int self_signed_der(EVP_PKEY *key, uint8_t **der)
{
    X509 *x = x509_new_self_issued(key, "tether-attester", 24L * 3600);
    int is_ed = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
    int n = -1;
    *der = NULL;
    if (x && X509_sign(x, key, is_ed ? NULL : EVP_sha256()))
        n = i2d_X509(x, der);
    X509_free(x);
    if (n <= 0) {
        OPENSSL_free(*der);
        *der = NULL;
        n = -1;
    }
    return n;
}

void attest_prepare_key(struct tether *ctx)
{
    /* Both tether and Cocos clients offer 0x0403 first. */
    if (ctx->next_key || !ctx->we_attest || ctx->sent_auth)
        return;
    ctx->next_key = fresh_key(EA_SIG_ECDSA_P256_SHA256);
    ctx->next_cert_len = ctx->next_key ? self_signed_der(ctx->next_key, &ctx->next_cert_der) : -1;
    ctx->next_key_sigalg = EA_SIG_ECDSA_P256_SHA256;
    if (ctx->next_cert_len <= 0) {
        EVP_PKEY_free(ctx->next_key);
        ctx->next_key = NULL;
    }
    /* The server's own-role exporters (RFC 9261 5.1) depend only on the exporter master
     * secret, which exists once the server's Finished is out (RFC 8446 7.1: it is derived from
     * the transcript up to the server Finished; OpenSSL allows the export from then on).
     * Computed now they are identical to the values after the handshake, and nothing is sent
     * before the handshake completes. A failure here is not fatal: attest_prepare retries. */
    const SSL_CIPHER *c = SSL_get_current_cipher(ctx->ssl);
    const EVP_MD *md = c ? SSL_CIPHER_get_handshake_digest(c) : NULL;
    struct ea_exporters *x = &ctx->x_own;
    if (ctx->server && !ctx->x_own_ready && md) {
        x->md = md;
        x->hash_len = (size_t)EVP_MD_get_size(md);
        ctx->x_own_ready =
            SSL_export_keying_material(ctx->ssl, x->hc, x->hash_len, EA_LABEL_SERVER_HC,
                                       strlen(EA_LABEL_SERVER_HC), NULL, 0, 1) == 1 &&
            SSL_export_keying_material(ctx->ssl, x->fk, x->hash_len, EA_LABEL_SERVER_FK,
                                       strlen(EA_LABEL_SERVER_FK), NULL, 0, 1) == 1;
        if (!ctx->x_own_ready)
            OPENSSL_cleanse(x, sizeof *x);
        ERR_clear_error();
    }
}

/* RFC 9261 4: contexts are unique per connection. Requests are also rate-limited: an
 * unauthenticated peer must not make us mint keys and evidence without bound. */
#define REQUESTS_FREE 8         /* this many without delay ... */
#define REQUEST_INTERVAL_MS 500 /* ... then at most one per interval */

static bool context_seen(struct tether *ctx, const uint8_t *c, size_t n)
{
    uint8_t d[32];
    unsigned int dl = 0;
    if (!EVP_Digest(c, n, d, &dl, EVP_sha256(), NULL))
        return true; /* fail closed */
    for (size_t i = 0; i < ctx->n_seen_ctx; i++)
        if (memcmp(ctx->seen_ctx[i], d, 32) == 0)
            return true;
    if (ctx->n_seen_ctx == ctx->cap_seen_ctx) {
        size_t cap = ctx->cap_seen_ctx ? ctx->cap_seen_ctx * 2 : 8;
        uint8_t(*grown)[32] = realloc(ctx->seen_ctx, cap * sizeof *grown);
        if (!grown)
            return true;
        ctx->seen_ctx = grown;
        ctx->cap_seen_ctx = cap;
    }
    memcpy(ctx->seen_ctx[ctx->n_seen_ctx++], d, 32);
    return false;
}

int attest_answer_request(struct tether *ctx, const uint8_t *msg, size_t len)
{
    struct ea_request req;
    enum ea_error e = EA_OK;
    if (!ctx->we_attest)
        return conn_fail(ctx, TETHER_ERR_PROTOCOL, "unexpected_request",
                         "peer asked us to attest, but this endpoint is not configured to");
    if (attest_prepare(ctx) != 0)
        return -1;
    if (ea_request_parse(msg, len, &req, &e) != 0)
        return conn_fail(ctx, TETHER_ERR_PROTOCOL, ea_error_code(e),
                         "malformed authenticator request (%s)", ea_error_code(e));
    uint8_t want = ctx->server ? EA_HS_CLIENT_CERTIFICATE_REQUEST : EA_HS_CERTIFICATE_REQUEST;
    if (req.msg_type != want)
        return conn_fail(ctx, TETHER_ERR_PROTOCOL, "ea_malformed",
                         "authenticator request has handshake type %u, expected %u",
                         req.msg_type, want);
    if (req.context_len < EA_CONTEXT_MIN)
        return conn_fail(ctx, TETHER_ERR_PROTOCOL, "ea_context_too_short",
                         "request context is %zu bytes, tether requires at least %d random bytes",
                         req.context_len, EA_CONTEXT_MIN);
    int64_t now = now_ms();
    if (ctx->n_seen_ctx >= REQUESTS_FREE && now - ctx->last_request_ms < REQUEST_INTERVAL_MS)
        return conn_fail(ctx, TETHER_ERR_PROTOCOL, "too_many_requests",
                         "the peer sends authenticator requests faster than one per %d ms",
                         REQUEST_INTERVAL_MS);
    ctx->last_request_ms = now;
    /* RFC 9261 4: the context must be unique within the connection. */
    if (context_seen(ctx, req.context, req.context_len))
        return conn_fail(ctx, TETHER_ERR_PROTOCOL, "ea_context_reused",
                         "the peer reused a request context on this connection");
    if (!req.cmw_offered)
        return conn_fail(ctx, TETHER_ERR_PROTOCOL, "cmw_not_offered",
                         "the request does not offer cmw_attestation: the peer cannot receive "
                         "evidence");
    if (ctx->sent_auth) {
        if (!ctx->framed || !req.framing_offered)
            return conn_fail(ctx, TETHER_ERR_PROTOCOL, "unexpected_request",
                             "re-attestation requires tether framing");
    } else if (!req.framing_offered) {
        /* A Cocos aTLS v2 client: one exchange, then raw application data. Only the plain
         * "server attests" case exists there. */
        if (!ctx->server || ctx->we_appraise)
            return conn_fail(ctx, TETHER_ERR_PROTOCOL, "framing_required",
                             "peer does not speak tether framing (Cocos client?), but this "
                             "connection needs it (mutual attestation)");
        ctx->compat = true;
    } else {
        ctx->framed = true;
    }
    uint16_t sigalg;
    if (ea_choose_sigalg(&req, &sigalg) != 0)
        return conn_fail(ctx, TETHER_ERR_PROTOCOL, "ea_signature_scheme_not_offered",
                         "no offered signature scheme is supported (need 0x0403, 0x0503 or 0x0807)");

    struct attester_handle *att;
    if (config_attester(ctx->cfg, &att, &ctx->err) != 0) {
        ctx->state = ST_FAILED;
        return -1;
    }

    int rc = -1;
    /* A key prepared for this connection while the peer was busy (attest_prepare_key), if it
     * fits the scheme chosen; otherwise a new one now. Either way: this connection's only. */
    EVP_PKEY *key = NULL;
    uint8_t *cert_der = NULL;
    int cert_len = -1;
    if (ctx->next_key && ctx->next_key_sigalg == sigalg) {
        key = ctx->next_key;
        cert_der = ctx->next_cert_der;
        cert_len = ctx->next_cert_len;
        ctx->next_key = NULL;
        ctx->next_cert_der = NULL;
    } else {
        key = fresh_key(sigalg);
        cert_len = key ? self_signed_der(key, &cert_der) : -1;
    }
    EVP_PKEY_free(ctx->next_key);
    OPENSSL_free(ctx->next_cert_der);
    ctx->next_key = NULL;
    ctx->next_cert_der = NULL;
    uint8_t *ev = NULL;
    const uint8_t *spki = NULL;
    size_t spki_len = 0;
    char *json = NULL;
    struct bytes_writer w;
    writer_init(&w, EA_FRAME_MAX_PAYLOAD);
    struct binder b;
    uint8_t exported[BINDER_EXPORTER_LEN];
    /* The SPKI exactly as it stands in the certificate: what the peer will hash. */
    if (cert_len <= 0 || der_cert_spki(cert_der, (size_t)cert_len, &spki, &spki_len) != 0) {
        conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "cannot create the authenticator key");
        goto out;
    }
#ifdef TETHER_TEST_HOOKS
    if (ctx->test_leak_key)
        ctx->test_leak_key(ctx->test_leak_arg, key);
#endif
    /* The binder: our exporter, our fresh SPKI, the role label (src/binding). */
    const char *label = binder_label(ctx->server);
    const char *payload_label = label;
#ifdef TETHER_TEST_HOOKS
    if (ctx->test_binder_label)
        label = ctx->test_binder_label;
    if (ctx->test_payload_label)
        payload_label = ctx->test_payload_label;
#endif
    if (export_value(ctx, label, req.context, req.context_len, exported, sizeof exported) != 0)
        goto out;
    if (binder_compute(ctx->md, spki, spki_len, exported, &b) != 0) {
        conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "binder computation failed");
        goto out;
    }
    size_t ev_len = 0;
    char msgbuf[256] = "";
    if (att->backend->evidence(att->state, &b, &ev, &ev_len, msgbuf, sizeof msgbuf) != 0) {
        conn_fail(ctx, TETHER_ERR_EVIDENCE, "evidence_unavailable", "TEE %s: %s",
                  att->backend->name, msgbuf);
        goto out;
    }
    struct ea_payload p;
    memset(&p, 0, sizeof p);
    p.version = 1;
    snprintf(p.media_type, sizeof p.media_type, "%s", att->backend->media_type);
    p.evidence = ev;
    p.evidence_len = ev_len;
    snprintf(p.exporter_label, sizeof p.exporter_label, "%s", payload_label);
    memcpy(p.aik_pub_hash, b.aik_pub_hash, b.hash_len);
    p.aik_pub_hash_len = b.hash_len;
    memcpy(p.binding, b.binding, b.hash_len);
    p.binding_len = b.hash_len;
    size_t json_len = 0;
    /* The leaf's extension block (cmw_attestation with its inner length, plus the 4-byte
     * tether_framing echo) must fit its 16-bit length (cocos-ea-wire.md 4.7). */
    size_t framing_ext = req.framing_offered ? 4 : 0;
    if (ea_payload_encode(&p, &json, &json_len) != 0) {
        conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "cannot encode the cmw_attestation payload");
        goto out;
    }
    if (json_len > EA_CMW_MAX_JSON - framing_ext) {
        conn_fail(ctx, TETHER_ERR_EVIDENCE, "evidence_too_large",
                  "the cmw_attestation payload does not fit one extension (%zu bytes)", json_len);
        goto out;
    }
    struct ea_authenticator_params ap = {
        .key = key,
        .cert_der = cert_der,
        .cert_len = (size_t)cert_len,
        .sigalg = sigalg,
        .cmw = (const uint8_t *)json,
        .cmw_len = json_len,
        .framing = req.framing_offered,
    };
    if (ea_authenticator_build(&ctx->x_own, msg, len, &req, &ap, &w, &e) != 0) {
        conn_fail(ctx, TETHER_ERR_INTERNAL, ea_error_code(e), "cannot build the authenticator (%s)",
                  ea_error_code(e));
        goto out;
    }
    if (conn_queue_frame(ctx, EA_FRAME_AUTHENTICATOR, w.data, w.len) != 0)
        goto out;
    ctx->sent_auth = true;
    rc = 0;
out:
    OPENSSL_cleanse(exported, sizeof exported);
    OPENSSL_cleanse(&b, sizeof b);
    writer_free(&w);
    free(json);
    free(ev);
    OPENSSL_free(cert_der);
    EVP_PKEY_free(key);
    return rc;
}

static int category_of(const char *check)
{
    if (!check)
        return TETHER_ERR_PROTOCOL;
    if (strncmp(check, "evidence", 8) == 0)
        return TETHER_ERR_EVIDENCE;
    if (strncmp(check, "binding", 7) == 0)
        return TETHER_ERR_BINDING;
    if (strncmp(check, "policy", 6) == 0)
        return TETHER_ERR_POLICY;
    return TETHER_ERR_PROTOCOL;
}

int attest_appraisal_failed(struct tether *ctx)
{
    struct tether_result *r = ctx->result;
    bool legacy = ctx->cfg->legacy_mode != LEGACY_NONE;
    return conn_fail(ctx, category_of(r->failed_check), r->failed_code[0] ? r->failed_code : NULL,
                     "peer attestation rejected%s%s%s: check %s failed (%s)",
                     legacy ? " (insecure legacy mode " : "",
                     legacy ? legacy_mode_name(ctx->cfg->legacy_mode) : "", legacy ? ")" : "",
                     r->failed_check, r->failed_code);
}

int attest_check_authenticator(struct tether *ctx, const uint8_t *msg, size_t len)
{
    if (!ctx->we_appraise || !ctx->req_outstanding)
        return conn_fail(ctx, TETHER_ERR_PROTOCOL, "unexpected_authenticator",
                         "peer sent an authenticator that was not requested");
    if (attest_prepare(ctx) != 0)
        return -1;
    ctx->req_outstanding = false;
    tether_result_free(ctx->result);
    ctx->result = result_new();
    if (!ctx->result)
        return conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "out of memory");
    struct tether_result *r = ctx->result;
    struct ea_authenticator a;
    memset(&a, 0, sizeof a);
    struct ea_payload p;
    memset(&p, 0, sizeof p);
    enum ea_error e = EA_OK;
    int rc = -1;

    /* 1. RFC 9261 5.2: signature and Finished with the peer role's exporters, against the
     *    request we sent (context echo, offered extensions and schemes). */
    if (ea_authenticator_validate(&ctx->x_peer, ctx->req_msg, ctx->req_len, &ctx->req, msg, len,
                                  true, &a, &e) != 0) {
        result_check(r, "authenticator", CHECK_FAIL, ea_error_code(e), NULL, NULL,
                     e == EA_ERR_EMPTY ? "empty (Finished-only) authenticator: the peer did not "
                                         "attest, and attestation is required"
                                       : "RFC 9261 authenticator validation failed");
        attest_appraisal_failed(ctx);
        goto out;
    }
    if (ctx->req.framing_offered && !a.framing) {
        result_check(r, "authenticator", CHECK_FAIL, "framing_refused", "tether_framing echoed",
                     "absent", "peer is not a tether endpoint (a Cocos server? use cocos compat)");
        attest_appraisal_failed(ctx);
        goto out;
    }
    char scheme[8];
    snprintf(scheme, sizeof scheme, "0x%04x", a.sigalg);
    result_check(r, "authenticator", CHECK_PASS, "ok", NULL, scheme,
                 "RFC 9261 CertificateVerify and Finished valid for this connection");

    /* 2. The payload, and the label: fixed by role, never taken from the peer. */
    const char *why = NULL;
    if (ea_payload_parse(a.cmw, a.cmw_len, &p, &why) != 0) {
        result_check(r, "payload", CHECK_FAIL, "payload_malformed", NULL, NULL, why);
        attest_appraisal_failed(ctx);
        goto out;
    }
    result_check(r, "payload", CHECK_PASS, "ok", NULL, p.media_type, NULL);
    const char *label = binder_label(!ctx->server);
    if (strcmp(p.exporter_label, label) != 0) {
        result_check(r, "payload.exporter_label", CHECK_FAIL, "exporter_label_mismatch", label,
                     p.exporter_label, "the exporter label is fixed by the protocol and role");
        attest_appraisal_failed(ctx);
        goto out;
    }
    result_check(r, "payload.exporter_label", CHECK_PASS, "ok", label, p.exporter_label, NULL);

    /* 3. Recompute the binder from OUR connection (the exporter for our context, label fixed
     *    by role: attest_prepare) and the authenticator's key. */
    struct binder b;
    int brc = binder_compute(ctx->md, a.spki, a.spki_len, ctx->req_exported, &b);
    OPENSSL_cleanse(ctx->req_exported, sizeof ctx->req_exported);
    ctx->req_exported_ready = false;
    if (brc != 0) {
        conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "binder computation failed");
        goto out;
    }

    /* 4. Evidence: type, chain, hardware-signed report_data == SHA-512(binding), signed key
     *    hash == Hash(SPKI), then policy (src/verify). */
    struct verify_input in = {
        .evidence = p.evidence,
        .evidence_len = p.evidence_len,
        .expected_report_data = b.report_data,
        .expected_report_data_len = sizeof b.report_data,
        .expected_key_hash = b.aik_pub_hash,
        .expected_key_hash_len = b.hash_len,
        .binding_required = true,
        .no_container = true,
        .at = time(NULL),
    };
    if (verify_evidence(ctx->cfg->policy, &in, r) != 0) {
        attest_appraisal_failed(ctx);
        goto out;
    }
    /* 5. The unsigned side fields must agree too (informational copies; never decisive). */
    if (p.binding_len != b.hash_len || p.aik_pub_hash_len != b.hash_len ||
        !ct_equal(p.binding, b.binding, b.hash_len) ||
        !ct_equal(p.aik_pub_hash, b.aik_pub_hash, b.hash_len)) {
        result_check_hex(r, "payload.binder", CHECK_FAIL, "payload_binder_mismatch", b.binding,
                         b.hash_len, p.binding, p.binding_len,
                         "the payload's binder fields disagree with this connection");
        attest_appraisal_failed(ctx);
        goto out;
    }
    result_check(r, "payload.binder", CHECK_PASS, "ok", NULL, NULL, NULL);
    if (!result_passed(r)) {
        attest_appraisal_failed(ctx);
        goto out;
    }
    ctx->n_appraised++;
    rc = 0;
out:
    /* Fail closed in the report too: a failure without a failed check (allocation, exporter,
     * binder computation) must never leave a report that reads "pass". */
    if (rc != 0 && !r->failed)
        result_check(r, "internal", CHECK_FAIL, ctx->err.code ? ctx->err.code : "internal", NULL,
                     NULL, ctx->err.msg);
    ea_payload_clear(&p);
    ea_authenticator_clear(&a);
    return rc;
}
