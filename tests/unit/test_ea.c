/*
 * test_ea.c - unit tests of src/ea: frames, AuthenticatorRequest, Exported Authenticator and
 * the cmw_attestation payload. The Cocos captures (../shared/vectors/ea-cocos, or
 * $TETHER_VECTORS/ea-cocos) are checked byte for byte; authenticators for the negative cases
 * are assembled here by hand, with an independent CertificateVerify/Finished computation, so
 * the validator is never tested only against its own builder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "binding/binder.h"
#include "ea/ea.h"
#include "util/bytes.h"
#include "util/util.h"

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                    */

struct buf {
    uint8_t *p;
    size_t n;
};

static void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static struct buf buf_dup(const uint8_t *p, size_t n)
{
    struct buf b = {malloc(n ? n : 1), n};
    assert_non_null(b.p);
    if (n)
        memcpy(b.p, p, n);
    return b;
}

static struct buf writer_to_buf(struct bytes_writer *w)
{
    assert_false(w->failed);
    struct buf b;
    b.p = writer_take(w, &b.n);
    assert_non_null(b.p);
    return b;
}

static void random_bytes(uint8_t *p, size_t n)
{
    assert_int_equal(RAND_bytes(p, (int)n), 1);
}

static void random_exporters(struct ea_exporters *x, const EVP_MD *md)
{
    memset(x, 0, sizeof *x);
    x->md = md;
    x->hash_len = (size_t)EVP_MD_get_size(md);
    random_bytes(x->hc, x->hash_len);
    random_bytes(x->fk, x->hash_len);
}

static void make_request(struct ea_request *r, uint8_t msg_type, const uint16_t *algs, size_t n,
                         bool cmw, bool framing)
{
    memset(r, 0, sizeof *r);
    r->msg_type = msg_type;
    r->context_len = 32;
    random_bytes(r->context, r->context_len);
    for (size_t i = 0; i < n; i++)
        r->sigalgs[i] = algs[i];
    r->n_sigalgs = n;
    r->cmw_offered = cmw;
    r->framing_offered = framing;
}

static struct buf encode_request(const struct ea_request *r)
{
    struct bytes_writer w;
    writer_init(&w, 4096);
    assert_int_equal(ea_request_encode(r, &w), 0);
    return writer_to_buf(&w);
}

/* A fresh key and a self-signed certificate for it. */
struct identity {
    EVP_PKEY *key;
    uint8_t *der;
    size_t der_len;
};

static void identity_new(struct identity *id, const char *type)
{
    memset(id, 0, sizeof *id);
    if (strcmp(type, "RSA") == 0)
        id->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else if (strcmp(type, "ED25519") == 0)
        id->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else
        id->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", type);
    assert_non_null(id->key);
    X509 *x = X509_new();
    assert_non_null(x);
    X509_NAME *name = X509_get_subject_name(x);
    bool is_ed = EVP_PKEY_is_a(id->key, "ED25519");
    assert_true(X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 7) &&
                X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                           (const unsigned char *)"test_ea", -1, -1, 0) &&
                X509_set_issuer_name(x, name) && X509_gmtime_adj(X509_getm_notBefore(x), -60) &&
                X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, id->key) &&
                X509_sign(x, id->key, is_ed ? NULL : EVP_sha256()));
    uint8_t *der = NULL;
    int n = i2d_X509(x, &der);
    assert_true(n > 0);
    id->der = der;
    id->der_len = (size_t)n;
    X509_free(x);
}

static void identity_free(struct identity *id)
{
    EVP_PKEY_free(id->key);
    OPENSSL_free(id->der);
    memset(id, 0, sizeof *id);
}

static struct buf spki_of(EVP_PKEY *key)
{
    uint8_t *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    assert_true(n > 0);
    struct buf b = buf_dup(der, (size_t)n);
    OPENSSL_free(der);
    return b;
}

/* A payload in canonical form with random evidence and binder. */
static struct buf sample_payload(size_t hash_len)
{
    struct ea_payload p;
    uint8_t ev[100];
    memset(&p, 0, sizeof p);
    random_bytes(ev, sizeof ev);
    p.version = 1;
    strcpy(p.media_type, "application/vnd.tether.test");
    p.evidence = ev;
    p.evidence_len = sizeof ev;
    strcpy(p.exporter_label, "Attestation");
    random_bytes(p.aik_pub_hash, hash_len);
    p.aik_pub_hash_len = hash_len;
    random_bytes(p.binding, hash_len);
    p.binding_len = hash_len;
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(ea_payload_encode(&p, &json, &len), 0);
    struct buf b = {(uint8_t *)json, len};
    return b;
}

/* ---- independent construction of authenticators (for cases the builder must refuse) ---- */

struct entry_spec {
    const uint8_t *cert;
    size_t cert_len;
    const uint8_t *exts; /* raw Extension bytes, without the u16 block length */
    size_t exts_len;
};

static void write_certificate_msg(struct bytes_writer *w, const uint8_t *ctx, size_t ctx_len,
                                  const struct entry_spec *e, size_t n)
{
    writer_u8(w, EA_HS_CERTIFICATE);
    size_t body = writer_vec_begin(w, 3);
    size_t c = writer_vec_begin(w, 1);
    writer_bytes(w, ctx, ctx_len);
    writer_vec_end(w, c, 1);
    size_t list = writer_vec_begin(w, 3);
    for (size_t i = 0; i < n; i++) {
        size_t cert = writer_vec_begin(w, 3);
        writer_bytes(w, e[i].cert, e[i].cert_len);
        writer_vec_end(w, cert, 3);
        size_t exts = writer_vec_begin(w, 2);
        writer_bytes(w, e[i].exts, e[i].exts_len);
        writer_vec_end(w, exts, 2);
    }
    writer_vec_end(w, list, 3);
    writer_vec_end(w, body, 3);
    assert_false(w->failed);
}

/* cmw_attestation extension bytes: type, u16 data length, u16 cmw length, cmw. */
static struct buf cmw_extension(const uint8_t *cmw, size_t n)
{
    struct bytes_writer w;
    writer_init(&w, 70000);
    writer_u16(&w, EA_EXT_CMW_ATTESTATION);
    size_t d = writer_vec_begin(&w, 2);
    size_t c = writer_vec_begin(&w, 2);
    writer_bytes(&w, cmw, n);
    writer_vec_end(&w, c, 2);
    writer_vec_end(&w, d, 2);
    return writer_to_buf(&w);
}

static const EVP_MD *scheme_md(uint16_t alg)
{
    switch (alg) {
    case EA_SIG_ECDSA_P256_SHA256:
    case EA_SIG_RSA_PSS_RSAE_SHA256:
        return EVP_sha256();
    case EA_SIG_ECDSA_P384_SHA384:
        return EVP_sha384();
    default:
        return NULL;
    }
}

/* Append CertificateVerify and Finished to w, which holds the Certificate message. The
 * signature is made with sign_alg and labelled wire_alg (they differ only in negative tests).
 * Straight from RFC 9261 5.2.2 and 5.2.3, without any code from src/ea. */
static void append_cv_and_finished(struct bytes_writer *w, const struct ea_exporters *x,
                                   const uint8_t *req, size_t req_len, EVP_PKEY *key,
                                   uint16_t sign_alg, uint16_t wire_alg)
{
    uint8_t th[64], tbs[64 + 22 + 1 + 64], mac[64];
    unsigned int thl = 0, macl = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_true(EVP_DigestInit_ex(c, x->md, NULL) && EVP_DigestUpdate(c, x->hc, x->hash_len) &&
                EVP_DigestUpdate(c, req, req_len) && EVP_DigestUpdate(c, w->data, w->len) &&
                EVP_DigestFinal_ex(c, th, &thl));
    EVP_MD_CTX_free(c);
    memset(tbs, 0x20, 64);
    memcpy(tbs + 64, "Exported Authenticator", 22);
    tbs[86] = 0;
    memcpy(tbs + 87, th, thl);
    size_t tbs_len = 87 + thl;

    EVP_MD_CTX *s = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    assert_int_equal(EVP_DigestSignInit(s, &pctx, scheme_md(sign_alg), NULL, key), 1);
    if (sign_alg == EA_SIG_RSA_PSS_RSAE_SHA256) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0);
    }
    size_t sig_len = 0;
    assert_int_equal(EVP_DigestSign(s, NULL, &sig_len, tbs, tbs_len), 1);
    uint8_t *sig = malloc(sig_len);
    assert_non_null(sig);
    assert_int_equal(EVP_DigestSign(s, sig, &sig_len, tbs, tbs_len), 1);
    EVP_MD_CTX_free(s);

    writer_u8(w, EA_HS_CERTIFICATE_VERIFY);
    writer_u24(w, (uint32_t)(4 + sig_len));
    writer_u16(w, wire_alg);
    writer_u16(w, (uint16_t)sig_len);
    writer_bytes(w, sig, sig_len);
    free(sig);

    c = EVP_MD_CTX_new();
    assert_true(EVP_DigestInit_ex(c, x->md, NULL) && EVP_DigestUpdate(c, x->hc, x->hash_len) &&
                EVP_DigestUpdate(c, req, req_len) && EVP_DigestUpdate(c, w->data, w->len) &&
                EVP_DigestFinal_ex(c, th, &thl));
    EVP_MD_CTX_free(c);
    assert_non_null(HMAC(x->md, x->fk, (int)x->hash_len, th, thl, mac, &macl));
    writer_u8(w, EA_HS_FINISHED);
    writer_u24(w, macl);
    writer_bytes(w, mac, macl);
    assert_false(w->failed);
}

/* A hand-made authenticator: the given entries, signed and finished correctly. */
static struct buf hand_authenticator(const struct ea_exporters *x, const struct buf *req_msg,
                                     const struct ea_request *req, const struct entry_spec *e,
                                     size_t n, EVP_PKEY *key, uint16_t sign_alg, uint16_t wire_alg)
{
    struct bytes_writer w;
    writer_init(&w, EA_FRAME_MAX_PAYLOAD);
    write_certificate_msg(&w, req->context, req->context_len, e, n);
    append_cv_and_finished(&w, x, req_msg->p, req_msg->n, key, sign_alg, wire_alg);
    return writer_to_buf(&w);
}

static enum ea_error validate_err(const struct ea_exporters *x, const struct buf *req_msg,
                                  const struct ea_request *req, const uint8_t *auth, size_t len,
                                  bool require_cmw)
{
    struct ea_authenticator a;
    enum ea_error e = EA_ERR_INTERNAL;
    int rc =
        ea_authenticator_validate(x, req_msg->p, req_msg->n, req, auth, len, require_cmw, &a, &e);
    assert_int_equal(rc == 0, e == EA_OK);
    if (rc == 0)
        ea_authenticator_clear(&a);
    else
        assert_null(a.spki); /* nothing owned is left behind on failure */
    return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Cocos vectors                                                                              */

struct vector {
    const char *suite; /* "sha256" or "sha384" */
    bool loaded;
    bool present;
    char dir[1024];
    struct buf req_frame, auth_frame;
    struct buf req_msg; /* request frame payload */
    const uint8_t *auth;
    size_t auth_len;
    uint8_t context[255];
    size_t context_len;
    struct ea_exporters x;
    uint8_t exported[32];
    uint8_t aik[64], binding[64], report_data[64], leaf_spki_sha256[32];
    size_t aik_len, binding_len;
};

static struct vector vec256 = {.suite = "sha256"};
static struct vector vec384 = {.suite = "sha384"};

static struct buf read_file_or_empty(const char *dir, const char *name)
{
    char path[1200];
    struct buf b = {NULL, 0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (file_read(path, 1 << 20, &b.p, &b.n) != 0) {
        b.p = NULL;
        b.n = 0;
    }
    return b;
}

static size_t json_hex(json_t *root, const char *obj, const char *key, uint8_t *out, size_t cap)
{
    json_t *o = json_object_get(root, obj);
    const char *s = json_string_value(json_object_get(o, key));
    size_t n = 0;
    assert_non_null(s);
    assert_int_equal(hex_decode(s, out, cap, &n), 0);
    return n;
}

static void vector_load(struct vector *v)
{
    if (v->loaded)
        return;
    v->loaded = true;
    const char *base = getenv("TETHER_VECTORS");
    snprintf(v->dir, sizeof v->dir, "%s/ea-cocos/%s", base && *base ? base : "../shared/vectors",
             v->suite);
    v->req_frame = read_file_or_empty(v->dir, "request.frame");
    v->auth_frame = read_file_or_empty(v->dir, "authenticator.frame");
    struct buf cj = read_file_or_empty(v->dir, "client.json");
    if (!v->req_frame.p || !v->auth_frame.p || !cj.p) {
        buf_free(&v->req_frame);
        buf_free(&v->auth_frame);
        buf_free(&cj);
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)cj.p, cj.n, 0, &jerr);
    buf_free(&cj);
    assert_non_null(root);
    assert_true(v->req_frame.n > EA_FRAME_HEADER_LEN && v->auth_frame.n > EA_FRAME_HEADER_LEN);
    v->req_msg =
        buf_dup(v->req_frame.p + EA_FRAME_HEADER_LEN, v->req_frame.n - EA_FRAME_HEADER_LEN);
    v->auth = v->auth_frame.p + EA_FRAME_HEADER_LEN;
    v->auth_len = v->auth_frame.n - EA_FRAME_HEADER_LEN;
    v->context_len = json_hex(root, "request", "context_hex", v->context, sizeof v->context);
    v->x.md = strcmp(v->suite, "sha256") == 0 ? EVP_sha256() : EVP_sha384();
    v->x.hash_len = (size_t)EVP_MD_get_size(v->x.md);
    assert_int_equal(json_hex(root, "exporters", "server_authenticator_handshake_context_hex",
                              v->x.hc, sizeof v->x.hc),
                     v->x.hash_len);
    assert_int_equal(json_hex(root, "exporters", "server_authenticator_finished_key_hex", v->x.fk,
                              sizeof v->x.fk),
                     v->x.hash_len);
    assert_int_equal(
        json_hex(root, "binder", "exported_value_hex", v->exported, sizeof v->exported), 32);
    v->aik_len = json_hex(root, "binder", "aik_pub_hash_expected_hex", v->aik, sizeof v->aik);
    v->binding_len =
        json_hex(root, "binder", "binding_expected_hex", v->binding, sizeof v->binding);
    assert_int_equal(
        json_hex(root, "binder", "report_data_expected_hex", v->report_data, sizeof v->report_data),
        64);
    assert_int_equal(json_hex(root, "authenticator", "leaf_spki_sha256", v->leaf_spki_sha256,
                              sizeof v->leaf_spki_sha256),
                     32);
    json_decref(root);
    v->present = true;
}

static void vector_free(struct vector *v)
{
    buf_free(&v->req_frame);
    buf_free(&v->auth_frame);
    buf_free(&v->req_msg);
    v->loaded = v->present = false;
}

#define REQUIRE_VECTOR(v)                                                                          \
    do {                                                                                           \
        vector_load(v);                                                                            \
        if (!(v)->present) {                                                                       \
            print_message("# vectors not found at %s: skipped\n", (v)->dir);                       \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static void vector_request(const struct vector *v, struct ea_request *req)
{
    enum ea_error e;
    assert_int_equal(ea_request_parse(v->req_msg.p, v->req_msg.n, req, &e), 0);
}

static void check_cocos_request(struct vector *v)
{
    uint8_t type = 0;
    uint32_t len = 0;
    assert_int_equal(ea_frame_header_parse(v->req_frame.p, &type, &len), 0);
    assert_int_equal(type, EA_FRAME_REQUEST);
    assert_int_equal(len, v->req_frame.n - EA_FRAME_HEADER_LEN);
    assert_int_equal(v->req_frame.n, 56);

    struct ea_request req;
    enum ea_error e = EA_ERR_INTERNAL;
    assert_int_equal(ea_request_parse(v->req_msg.p, v->req_msg.n, &req, &e), 0);
    assert_int_equal(e, EA_OK);
    assert_int_equal(req.msg_type, EA_HS_CLIENT_CERTIFICATE_REQUEST);
    assert_int_equal(req.context_len, v->context_len);
    assert_memory_equal(req.context, v->context, v->context_len);
    assert_int_equal(req.n_sigalgs, 1);
    assert_int_equal(req.sigalgs[0], EA_SIG_ECDSA_P256_SHA256);
    assert_true(req.cmw_offered);
    assert_false(req.framing_offered);

    /* Re-encoding gives Cocos's bytes exactly. */
    struct buf again = encode_request(&req);
    assert_int_equal(again.n, v->req_msg.n);
    assert_memory_equal(again.p, v->req_msg.p, again.n);
    buf_free(&again);

    /* Every truncation is rejected. */
    for (size_t n = 0; n < v->req_msg.n; n++)
        assert_int_equal(ea_request_parse(v->req_msg.p, n, &req, &e), -1);
}

static void cocos_sha256_request_parses_and_reencodes_byte_for_byte(void **state)
{
    (void)state;
    REQUIRE_VECTOR(&vec256);
    check_cocos_request(&vec256);
}

static void cocos_sha384_request_parses_and_reencodes_byte_for_byte(void **state)
{
    (void)state;
    REQUIRE_VECTOR(&vec384);
    check_cocos_request(&vec384);
}

static void check_cocos_authenticator(struct vector *v)
{
    uint8_t type = 0;
    uint32_t len = 0;
    assert_int_equal(ea_frame_header_parse(v->auth_frame.p, &type, &len), 0);
    assert_int_equal(type, EA_FRAME_AUTHENTICATOR);
    assert_int_equal(len, v->auth_len);

    struct ea_request req;
    vector_request(v, &req);
    struct ea_authenticator a;
    enum ea_error e = EA_ERR_INTERNAL;
    assert_int_equal(ea_authenticator_validate(&v->x, v->req_msg.p, v->req_msg.n, &req, v->auth,
                                               v->auth_len, true, &a, &e),
                     0);
    assert_int_equal(e, EA_OK);
    assert_int_equal(a.sigalg, EA_SIG_ECDSA_P256_SHA256);
    assert_int_equal(a.n_certs, 1);
    assert_false(a.framing);
    assert_non_null(a.cmw);
    assert_non_null(a.spki);

    /* The leaf SPKI is the one the client saw. */
    uint8_t h[32];
    unsigned int hl = 0;
    assert_true(EVP_Digest(a.spki, a.spki_len, h, &hl, EVP_sha256(), NULL));
    assert_memory_equal(h, v->leaf_spki_sha256, 32);

    /* The payload and its binder. */
    struct ea_payload p;
    const char *why = NULL;
    assert_int_equal(ea_payload_parse(a.cmw, a.cmw_len, &p, &why), 0);
    assert_null(why);
    assert_int_equal(p.version, 1);
    assert_string_equal(p.exporter_label, "Attestation");
    assert_string_equal(p.media_type, "application/vnd.cocos-ea-instrument.dummy-evidence");
    assert_int_equal(p.evidence_len, 116);
    assert_int_equal(p.aik_pub_hash_len, v->aik_len);
    assert_memory_equal(p.aik_pub_hash, v->aik, v->aik_len);
    assert_int_equal(p.binding_len, v->binding_len);
    assert_memory_equal(p.binding, v->binding, v->binding_len);

    /* binder_compute from the leaf SPKI and this connection's exported value. */
    struct binder b;
    assert_int_equal(binder_compute(v->x.md, a.spki, a.spki_len, v->exported, &b), 0);
    assert_int_equal(b.hash_len, v->x.hash_len);
    assert_memory_equal(b.aik_pub_hash, v->aik, v->aik_len);
    assert_memory_equal(b.binding, v->binding, v->binding_len);
    assert_memory_equal(b.report_data, v->report_data, 64);

    /* The canonical encoder reproduces Cocos's JSON byte for byte. */
    char *json = NULL;
    size_t json_len = 0;
    assert_int_equal(ea_payload_encode(&p, &json, &json_len), 0);
    assert_int_equal(json_len, a.cmw_len);
    assert_memory_equal(json, a.cmw, a.cmw_len);
    free(json);
    ea_payload_clear(&p);
    ea_authenticator_clear(&a);
    assert_null(a.spki);
}

static void cocos_sha256_authenticator_validates_with_captured_exporters(void **state)
{
    (void)state;
    REQUIRE_VECTOR(&vec256);
    check_cocos_authenticator(&vec256);
}

static void cocos_sha384_authenticator_validates_with_captured_exporters(void **state)
{
    (void)state;
    REQUIRE_VECTOR(&vec384);
    check_cocos_authenticator(&vec384);
}

/* Offsets inside a Cocos authenticator, found by walking its message headers. */
struct layout {
    size_t cert_len, cv_off, cv_len, sig_off, sig_len, fin_off;
};

static struct layout layout_of(const uint8_t *a, size_t n)
{
    struct layout l;
    l.cert_len = 4 + ((size_t)a[1] << 16 | (size_t)a[2] << 8 | a[3]);
    l.cv_off = l.cert_len;
    assert_true(l.cv_off + 8 < n);
    l.cv_len = 4 + ((size_t)a[l.cv_off + 1] << 16 | (size_t)a[l.cv_off + 2] << 8 | a[l.cv_off + 3]);
    l.sig_len = (size_t)a[l.cv_off + 6] << 8 | a[l.cv_off + 7];
    l.sig_off = l.cv_off + 8;
    l.fin_off = l.cv_off + l.cv_len;
    assert_true(l.fin_off < n);
    return l;
}

#define FOR_EACH_VECTOR(v)                                                                         \
    struct vector *all_[2] = {&vec256, &vec384};                                                   \
    vector_load(&vec256);                                                                          \
    vector_load(&vec384);                                                                          \
    if (!vec256.present || !vec384.present) {                                                      \
        print_message("# vectors not found at %s: skipped\n",                                      \
                      vec256.present ? vec384.dir : vec256.dir);                                   \
        skip();                                                                                    \
    }                                                                                              \
    for (size_t i_ = 0; i_ < 2 && ((v) = all_[i_]) != NULL; i_++)

static void cocos_authenticator_with_flipped_finished_fails_finished(void **state)
{
    (void)state;
    struct vector *v;
    FOR_EACH_VECTOR(v)
    {
        struct ea_request req;
        vector_request(v, &req);
        struct buf a = buf_dup(v->auth, v->auth_len);
        a.p[a.n - 1] ^= 0x01;
        assert_int_equal(validate_err(&v->x, &v->req_msg, &req, a.p, a.n, true), EA_ERR_FINISHED);
        buf_free(&a);
    }
}

static void cocos_authenticator_with_flipped_signature_fails_signature(void **state)
{
    (void)state;
    struct vector *v;
    FOR_EACH_VECTOR(v)
    {
        struct ea_request req;
        vector_request(v, &req);
        struct layout l = layout_of(v->auth, v->auth_len);
        struct buf a = buf_dup(v->auth, v->auth_len);
        /* The last byte of s: the DER stays well-formed, the signature does not verify. The
         * signature is checked before Finished, so this is a signature error. */
        a.p[l.sig_off + l.sig_len - 1] ^= 0x01;
        assert_int_equal(validate_err(&v->x, &v->req_msg, &req, a.p, a.n, true), EA_ERR_SIGNATURE);
        buf_free(&a);
    }
}

static void cocos_authenticator_with_tampered_payload_fails_signature(void **state)
{
    (void)state;
    struct vector *v;
    FOR_EACH_VECTOR(v)
    {
        struct ea_request req;
        vector_request(v, &req);
        struct buf a = buf_dup(v->auth, v->auth_len);
        /* A byte in the middle of the Certificate message (inside the cmw JSON). */
        size_t cert_len = layout_of(v->auth, v->auth_len).cert_len;
        a.p[cert_len - 100] ^= 0x01;
        assert_int_equal(validate_err(&v->x, &v->req_msg, &req, a.p, a.n, true), EA_ERR_SIGNATURE);
        buf_free(&a);
    }
}

static void cocos_authenticator_with_wrong_handshake_context_fails_signature(void **state)
{
    (void)state;
    struct vector *v;
    FOR_EACH_VECTOR(v)
    {
        struct ea_request req;
        vector_request(v, &req);
        struct ea_exporters x = v->x;
        x.hc[0] ^= 0x80;
        assert_int_equal(validate_err(&x, &v->req_msg, &req, v->auth, v->auth_len, true),
                         EA_ERR_SIGNATURE);
    }
}

static void cocos_authenticator_with_wrong_finished_key_fails_finished(void **state)
{
    (void)state;
    struct vector *v;
    FOR_EACH_VECTOR(v)
    {
        struct ea_request req;
        vector_request(v, &req);
        struct ea_exporters x = v->x;
        x.fk[5] ^= 0x01;
        assert_int_equal(validate_err(&x, &v->req_msg, &req, v->auth, v->auth_len, true),
                         EA_ERR_FINISHED);
    }
}

static void cocos_authenticator_against_other_context_fails_context_mismatch(void **state)
{
    (void)state;
    struct vector *v;
    FOR_EACH_VECTOR(v)
    {
        struct ea_request req;
        vector_request(v, &req);
        req.context[7] ^= 0x01;
        assert_int_equal(validate_err(&v->x, &v->req_msg, &req, v->auth, v->auth_len, true),
                         EA_ERR_CONTEXT_MISMATCH);
        vector_request(v, &req);
        req.context_len = 31;
        assert_int_equal(validate_err(&v->x, &v->req_msg, &req, v->auth, v->auth_len, true),
                         EA_ERR_CONTEXT_MISMATCH);
    }
}

static void cocos_authenticator_when_cmw_not_offered_fails_unoffered_extension(void **state)
{
    (void)state;
    struct vector *v;
    FOR_EACH_VECTOR(v)
    {
        struct ea_request req;
        vector_request(v, &req);
        req.cmw_offered = false;
        struct buf msg = encode_request(&req);
        assert_int_equal(validate_err(&v->x, &msg, &req, v->auth, v->auth_len, false),
                         EA_ERR_UNOFFERED_EXTENSION);
        buf_free(&msg);
    }
}

static void cocos_authenticator_when_scheme_not_offered_fails_sigalg(void **state)
{
    (void)state;
    struct vector *v;
    FOR_EACH_VECTOR(v)
    {
        struct ea_request req;
        vector_request(v, &req);
        req.sigalgs[0] = EA_SIG_ED25519;
        assert_int_equal(validate_err(&v->x, &v->req_msg, &req, v->auth, v->auth_len, true),
                         EA_ERR_SIGALG);
    }
}

static void cocos_authenticator_truncated_at_every_length_fails(void **state)
{
    (void)state;
    struct vector *v;
    FOR_EACH_VECTOR(v)
    {
        struct ea_request req;
        vector_request(v, &req);
        for (size_t n = 0; n < v->auth_len; n++) {
            /* A fresh copy of exactly n bytes, so ASan sees any read past the end. */
            struct buf a = buf_dup(v->auth, n);
            enum ea_error e = validate_err(&v->x, &v->req_msg, &req, a.p, n, true);
            assert_int_not_equal(e, EA_OK);
            buf_free(&a);
        }
    }
}

static void cocos_authenticator_with_trailing_byte_is_malformed(void **state)
{
    (void)state;
    struct vector *v;
    FOR_EACH_VECTOR(v)
    {
        struct ea_request req;
        vector_request(v, &req);
        struct buf a = {malloc(v->auth_len + 1), v->auth_len + 1};
        assert_non_null(a.p);
        memcpy(a.p, v->auth, v->auth_len);
        a.p[v->auth_len] = 0;
        assert_int_equal(validate_err(&v->x, &v->req_msg, &req, a.p, a.n, true), EA_ERR_MALFORMED);
        buf_free(&a);
    }
}

static void cocos_authenticator_with_wrong_suite_hash_fails(void **state)
{
    (void)state;
    struct vector *v;
    FOR_EACH_VECTOR(v)
    {
        struct ea_request req;
        vector_request(v, &req);
        /* The same exporter bytes with the other suite's hash: Finished has the wrong length
         * or the transcript hash differs; either way it must fail. */
        struct ea_exporters x = v->x;
        x.md = x.hash_len == 32 ? EVP_sha384() : EVP_sha256();
        x.hash_len = (size_t)EVP_MD_get_size(x.md);
        if (x.hash_len == 48)
            random_bytes(x.hc + 32, 16);
        assert_int_not_equal(validate_err(&x, &v->req_msg, &req, v->auth, v->auth_len, true),
                             EA_OK);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* round trips                                                                                */

static void roundtrip(const char *key_type, uint16_t sigalg, const EVP_MD *md, bool framing)
{
    struct identity id;
    identity_new(&id, key_type);
    struct ea_exporters x;
    random_exporters(&x, md);
    /* The chosen scheme last, so a builder taking the first offered one would be caught. */
    uint16_t algs[4] = {0x0401, 0x0804, 0x0807, sigalg};
    size_t n_algs = 4;
    if (sigalg == EA_SIG_ED25519 || sigalg == EA_SIG_RSA_PSS_RSAE_SHA256) {
        algs[0] = 0x0401;
        algs[1] = sigalg;
        n_algs = 2;
    }
    struct ea_request req;
    make_request(&req, EA_HS_CLIENT_CERTIFICATE_REQUEST, algs, n_algs, true, framing);
    struct buf msg = encode_request(&req);
    struct buf cmw = sample_payload(x.hash_len);

    struct ea_authenticator_params ap = {
        .key = id.key,
        .cert_der = id.der,
        .cert_len = id.der_len,
        .sigalg = sigalg,
        .cmw = cmw.p,
        .cmw_len = cmw.n,
        .framing = framing,
    };
    struct bytes_writer w;
    writer_init(&w, EA_FRAME_MAX_PAYLOAD);
    enum ea_error e = EA_ERR_INTERNAL;
    assert_int_equal(ea_authenticator_build(&x, msg.p, msg.n, &req, &ap, &w, &e), 0);
    assert_int_equal(e, EA_OK);
    struct buf auth = writer_to_buf(&w);

    struct ea_authenticator a;
    assert_int_equal(
        ea_authenticator_validate(&x, msg.p, msg.n, &req, auth.p, auth.n, true, &a, &e), 0);
    assert_int_equal(e, EA_OK);
    assert_int_equal(a.sigalg, sigalg);
    assert_int_equal(a.n_certs, 1);
    assert_int_equal(a.framing, framing);
    assert_int_equal(a.cert_len, id.der_len);
    assert_memory_equal(a.cert_der, id.der, id.der_len);
    assert_int_equal(a.cmw_len, cmw.n);
    assert_memory_equal(a.cmw, cmw.p, cmw.n);
    struct buf spki = spki_of(id.key);
    assert_int_equal(a.spki_len, spki.n);
    assert_memory_equal(a.spki, spki.p, spki.n);
    buf_free(&spki);
    ea_authenticator_clear(&a);

    /* The Finished is hash_len bytes: the last message header says so. */
    assert_int_equal(auth.p[auth.n - x.hash_len - 4], EA_HS_FINISHED);
    assert_int_equal(auth.p[auth.n - x.hash_len - 1], x.hash_len);

    /* The independent construction produces an authenticator the validator accepts too,
     * and with the same Certificate message as the builder (ECDSA signatures differ). */
    struct buf ext = cmw_extension(cmw.p, cmw.n);
    uint8_t exts[70000];
    memcpy(exts, ext.p, ext.n);
    size_t exts_len = ext.n;
    if (framing) {
        const uint8_t fr[4] = {0xff, 0x7e, 0, 0};
        memcpy(exts + exts_len, fr, 4);
        exts_len += 4;
    }
    struct entry_spec leaf = {id.der, id.der_len, exts, exts_len};
    struct buf hand = hand_authenticator(&x, &msg, &req, &leaf, 1, id.key, sigalg, sigalg);
    assert_int_equal(validate_err(&x, &msg, &req, hand.p, hand.n, true), EA_OK);
    size_t cert_msg_len = 4 + ((size_t)hand.p[1] << 16 | (size_t)hand.p[2] << 8 | hand.p[3]);
    assert_memory_equal(hand.p, auth.p, cert_msg_len);
    buf_free(&hand);
    buf_free(&ext);

    buf_free(&auth);
    buf_free(&cmw);
    buf_free(&msg);
    identity_free(&id);
}

static void roundtrip_p256_sha256_suite(void **state)
{
    (void)state;
    roundtrip("P-256", EA_SIG_ECDSA_P256_SHA256, EVP_sha256(), false);
}

static void roundtrip_p256_sha384_suite(void **state)
{
    (void)state;
    roundtrip("P-256", EA_SIG_ECDSA_P256_SHA256, EVP_sha384(), false);
}

static void roundtrip_p384_sha256_suite(void **state)
{
    (void)state;
    roundtrip("P-384", EA_SIG_ECDSA_P384_SHA384, EVP_sha256(), false);
}

static void roundtrip_p384_sha384_suite(void **state)
{
    (void)state;
    roundtrip("P-384", EA_SIG_ECDSA_P384_SHA384, EVP_sha384(), false);
}

static void roundtrip_ed25519_sha256_suite(void **state)
{
    (void)state;
    roundtrip("ED25519", EA_SIG_ED25519, EVP_sha256(), false);
}

static void roundtrip_ed25519_sha384_suite(void **state)
{
    (void)state;
    roundtrip("ED25519", EA_SIG_ED25519, EVP_sha384(), false);
}

static void roundtrip_rsa_pss_sha256_suite(void **state)
{
    (void)state;
    roundtrip("RSA", EA_SIG_RSA_PSS_RSAE_SHA256, EVP_sha256(), false);
}

static void roundtrip_with_framing_echo(void **state)
{
    (void)state;
    roundtrip("P-256", EA_SIG_ECDSA_P256_SHA256, EVP_sha256(), true);
    roundtrip("ED25519", EA_SIG_ED25519, EVP_sha384(), true);
}

/* A fixture for the hand-built negative cases: a P-256 identity, SHA-256 exporters, and a
 * request offering {0x0403, 0x0807}, cmw and framing. */
struct fixture {
    struct identity id;
    struct ea_exporters x;
    struct ea_request req;
    struct buf msg;
    struct buf cmw;
    struct buf cmw_ext;
};

static void fixture_new(struct fixture *f, bool cmw_offered, bool framing_offered)
{
    static const uint16_t algs[] = {EA_SIG_ECDSA_P256_SHA256, EA_SIG_ED25519};
    identity_new(&f->id, "P-256");
    random_exporters(&f->x, EVP_sha256());
    make_request(&f->req, EA_HS_CLIENT_CERTIFICATE_REQUEST, algs, 2, cmw_offered, framing_offered);
    f->msg = encode_request(&f->req);
    f->cmw = sample_payload(32);
    f->cmw_ext = cmw_extension(f->cmw.p, f->cmw.n);
}

static void fixture_free(struct fixture *f)
{
    identity_free(&f->id);
    buf_free(&f->msg);
    buf_free(&f->cmw);
    buf_free(&f->cmw_ext);
}

static enum ea_error fixture_hand(struct fixture *f, const struct entry_spec *e, size_t n,
                                  uint16_t wire_alg, bool require_cmw)
{
    struct buf a = hand_authenticator(&f->x, &f->msg, &f->req, e, n, f->id.key,
                                      EA_SIG_ECDSA_P256_SHA256, wire_alg);
    enum ea_error err = validate_err(&f->x, &f->msg, &f->req, a.p, a.n, require_cmw);
    buf_free(&a);
    return err;
}

static enum ea_error fixture_build(struct fixture *f, uint16_t sigalg, bool cmw, bool framing)
{
    struct ea_authenticator_params ap = {
        .key = f->id.key,
        .cert_der = f->id.der,
        .cert_len = f->id.der_len,
        .sigalg = sigalg,
        .cmw = cmw ? f->cmw.p : NULL,
        .cmw_len = cmw ? f->cmw.n : 0,
        .framing = framing,
    };
    struct bytes_writer w;
    writer_init(&w, EA_FRAME_MAX_PAYLOAD);
    enum ea_error e = EA_ERR_INTERNAL;
    int rc = ea_authenticator_build(&f->x, f->msg.p, f->msg.n, &f->req, &ap, &w, &e);
    assert_int_equal(rc == 0, e == EA_OK);
    writer_free(&w);
    return e;
}

static void hand_built_authenticator_is_accepted(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, true);
    struct entry_spec leaf = {f.id.der, f.id.der_len, f.cmw_ext.p, f.cmw_ext.n};
    assert_int_equal(fixture_hand(&f, &leaf, 1, EA_SIG_ECDSA_P256_SHA256, true), EA_OK);
    /* A chain of two: the second entry without extensions is fine. */
    struct entry_spec chain[2] = {leaf, {f.id.der, f.id.der_len, NULL, 0}};
    assert_int_equal(fixture_hand(&f, chain, 2, EA_SIG_ECDSA_P256_SHA256, true), EA_OK);
    fixture_free(&f);
}

static void cmw_on_second_entry_fails_cmw_placement(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, false);
    struct entry_spec chain[2] = {{f.id.der, f.id.der_len, f.cmw_ext.p, f.cmw_ext.n},
                                  {f.id.der, f.id.der_len, f.cmw_ext.p, f.cmw_ext.n}};
    assert_int_equal(fixture_hand(&f, chain, 2, EA_SIG_ECDSA_P256_SHA256, true),
                     EA_ERR_CMW_PLACEMENT);
    /* Only on the second entry. */
    chain[0].exts = NULL;
    chain[0].exts_len = 0;
    assert_int_equal(fixture_hand(&f, chain, 2, EA_SIG_ECDSA_P256_SHA256, false),
                     EA_ERR_CMW_PLACEMENT);
    fixture_free(&f);
}

static void framing_on_second_entry_fails_unoffered_extension(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, true);
    static const uint8_t fr[4] = {0xff, 0x7e, 0, 0};
    struct entry_spec chain[2] = {{f.id.der, f.id.der_len, f.cmw_ext.p, f.cmw_ext.n},
                                  {f.id.der, f.id.der_len, fr, sizeof fr}};
    assert_int_equal(fixture_hand(&f, chain, 2, EA_SIG_ECDSA_P256_SHA256, true),
                     EA_ERR_UNOFFERED_EXTENSION);
    fixture_free(&f);
}

static void framing_not_offered_fails_unoffered_extension(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, false);
    assert_int_equal(fixture_build(&f, EA_SIG_ECDSA_P256_SHA256, true, true),
                     EA_ERR_UNOFFERED_EXTENSION);
    uint8_t exts[70000];
    memcpy(exts, f.cmw_ext.p, f.cmw_ext.n);
    memcpy(exts + f.cmw_ext.n, "\xff\x7e\x00\x00", 4);
    struct entry_spec leaf = {f.id.der, f.id.der_len, exts, f.cmw_ext.n + 4};
    assert_int_equal(fixture_hand(&f, &leaf, 1, EA_SIG_ECDSA_P256_SHA256, true),
                     EA_ERR_UNOFFERED_EXTENSION);
    fixture_free(&f);
}

static void malformed_entry_extensions_are_rejected(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, true);
    struct entry_spec leaf = {f.id.der, f.id.der_len, NULL, 0};
    uint8_t exts[70000];

    /* An extension the request never offered (status_request). */
    static const uint8_t status_request[] = {0x00, 0x05, 0x00, 0x01, 0x00};
    memcpy(exts, f.cmw_ext.p, f.cmw_ext.n);
    memcpy(exts + f.cmw_ext.n, status_request, sizeof status_request);
    leaf.exts = exts;
    leaf.exts_len = f.cmw_ext.n + sizeof status_request;
    assert_int_equal(fixture_hand(&f, &leaf, 1, EA_SIG_ECDSA_P256_SHA256, true),
                     EA_ERR_UNOFFERED_EXTENSION);

    /* cmw twice on the leaf. */
    memcpy(exts + f.cmw_ext.n, f.cmw_ext.p, f.cmw_ext.n);
    leaf.exts_len = 2 * f.cmw_ext.n;
    assert_int_equal(fixture_hand(&f, &leaf, 1, EA_SIG_ECDSA_P256_SHA256, true), EA_ERR_MALFORMED);

    /* cmw without its inner length prefix (data = the bare JSON). */
    size_t o = 0;
    exts[o++] = 0xff;
    exts[o++] = 0x00;
    exts[o++] = (uint8_t)(f.cmw.n >> 8);
    exts[o++] = (uint8_t)f.cmw.n;
    memcpy(exts + o, f.cmw.p, f.cmw.n);
    leaf.exts_len = o + f.cmw.n;
    assert_int_equal(fixture_hand(&f, &leaf, 1, EA_SIG_ECDSA_P256_SHA256, true), EA_ERR_MALFORMED);

    /* Non-empty tether_framing. */
    static const uint8_t framing_with_data[] = {0xff, 0x7e, 0x00, 0x01, 0x00};
    leaf.exts = framing_with_data;
    leaf.exts_len = sizeof framing_with_data;
    assert_int_equal(fixture_hand(&f, &leaf, 1, EA_SIG_ECDSA_P256_SHA256, false), EA_ERR_MALFORMED);

    /* An empty cmw. */
    static const uint8_t empty_cmw[] = {0xff, 0x00, 0x00, 0x02, 0x00, 0x00};
    leaf.exts = empty_cmw;
    leaf.exts_len = sizeof empty_cmw;
    assert_int_equal(fixture_hand(&f, &leaf, 1, EA_SIG_ECDSA_P256_SHA256, true), EA_ERR_MALFORMED);
    fixture_free(&f);
}

static void leaf_that_is_not_x509_fails_certificate(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, false);
    uint8_t junk[64];
    memset(junk, 0x30, sizeof junk);
    struct entry_spec leaf = {junk, sizeof junk, f.cmw_ext.p, f.cmw_ext.n};
    assert_int_equal(fixture_hand(&f, &leaf, 1, EA_SIG_ECDSA_P256_SHA256, true),
                     EA_ERR_CERTIFICATE);
    /* A valid certificate followed by a stray byte inside cert_data. */
    uint8_t *padded = malloc(f.id.der_len + 1);
    assert_non_null(padded);
    memcpy(padded, f.id.der, f.id.der_len);
    padded[f.id.der_len] = 0;
    leaf.cert = padded;
    leaf.cert_len = f.id.der_len + 1;
    assert_int_equal(fixture_hand(&f, &leaf, 1, EA_SIG_ECDSA_P256_SHA256, true),
                     EA_ERR_CERTIFICATE);
    free(padded);
    fixture_free(&f);
}

static void missing_cmw_fails_cmw_missing_when_required(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, false);
    struct ea_authenticator_params ap = {.key = f.id.key,
                                         .cert_der = f.id.der,
                                         .cert_len = f.id.der_len,
                                         .sigalg = EA_SIG_ECDSA_P256_SHA256};
    struct bytes_writer w;
    writer_init(&w, EA_FRAME_MAX_PAYLOAD);
    enum ea_error e;
    assert_int_equal(ea_authenticator_build(&f.x, f.msg.p, f.msg.n, &f.req, &ap, &w, &e), 0);
    struct buf a = writer_to_buf(&w);
    assert_int_equal(validate_err(&f.x, &f.msg, &f.req, a.p, a.n, true), EA_ERR_CMW_MISSING);
    struct ea_authenticator out;
    assert_int_equal(
        ea_authenticator_validate(&f.x, f.msg.p, f.msg.n, &f.req, a.p, a.n, false, &out, &e), 0);
    assert_null(out.cmw);
    assert_int_equal(out.cmw_len, 0);
    ea_authenticator_clear(&out);
    buf_free(&a);
    fixture_free(&f);
}

static void empty_authenticator_fails_empty(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, false);
    /* Cocos's construction: Finished over a Certificate with the context and no entries. */
    struct bytes_writer cert;
    writer_init(&cert, 1024);
    write_certificate_msg(&cert, f.req.context, f.req.context_len, NULL, 0);
    uint8_t th[64], mac[64];
    unsigned int thl = 0, macl = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_true(EVP_DigestInit_ex(c, f.x.md, NULL) && EVP_DigestUpdate(c, f.x.hc, f.x.hash_len) &&
                EVP_DigestUpdate(c, f.msg.p, f.msg.n) && EVP_DigestUpdate(c, cert.data, cert.len) &&
                EVP_DigestFinal_ex(c, th, &thl));
    EVP_MD_CTX_free(c);
    writer_free(&cert);
    assert_non_null(HMAC(f.x.md, f.x.fk, (int)f.x.hash_len, th, thl, mac, &macl));
    struct bytes_writer w;
    writer_init(&w, 1024);
    writer_u8(&w, EA_HS_FINISHED);
    writer_u24(&w, macl);
    writer_bytes(&w, mac, macl);
    struct buf a = writer_to_buf(&w);
    assert_int_equal(validate_err(&f.x, &f.msg, &f.req, a.p, a.n, false), EA_ERR_EMPTY);
    assert_int_equal(validate_err(&f.x, &f.msg, &f.req, a.p, a.n, true), EA_ERR_EMPTY);
    /* A Finished followed by anything is not an authenticator at all. */
    struct buf twice = {malloc(2 * a.n), 2 * a.n};
    assert_non_null(twice.p);
    memcpy(twice.p, a.p, a.n);
    memcpy(twice.p + a.n, a.p, a.n);
    assert_int_equal(validate_err(&f.x, &f.msg, &f.req, twice.p, twice.n, false), EA_ERR_MALFORMED);
    buf_free(&twice);
    buf_free(&a);
    /* A zero-length input is malformed, not empty. */
    assert_int_equal(validate_err(&f.x, &f.msg, &f.req, (const uint8_t *)"", 0, false),
                     EA_ERR_MALFORMED);
    fixture_free(&f);
}

static void certificate_with_zero_entries_is_rejected(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, false);
    enum ea_error e = fixture_hand(&f, NULL, 0, EA_SIG_ECDSA_P256_SHA256, false);
    assert_int_equal(e, EA_ERR_MALFORMED);
    fixture_free(&f);
}

static void scheme_not_offered_is_refused_by_build_and_validate(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, false);
    /* The request offers {0x0403, 0x0807}; 0x0503 was not offered. */
    struct identity p384;
    identity_new(&p384, "P-384");
    struct ea_authenticator_params ap = {.key = p384.key,
                                         .cert_der = p384.der,
                                         .cert_len = p384.der_len,
                                         .sigalg = EA_SIG_ECDSA_P384_SHA384,
                                         .cmw = f.cmw.p,
                                         .cmw_len = f.cmw.n};
    struct bytes_writer w;
    writer_init(&w, EA_FRAME_MAX_PAYLOAD);
    enum ea_error e = EA_OK;
    assert_int_equal(ea_authenticator_build(&f.x, f.msg.p, f.msg.n, &f.req, &ap, &w, &e), -1);
    assert_int_equal(e, EA_ERR_SIGALG);
    writer_free(&w);
    struct entry_spec leaf = {p384.der, p384.der_len, f.cmw_ext.p, f.cmw_ext.n};
    struct buf a = hand_authenticator(&f.x, &f.msg, &f.req, &leaf, 1, p384.key,
                                      EA_SIG_ECDSA_P384_SHA384, EA_SIG_ECDSA_P384_SHA384);
    assert_int_equal(validate_err(&f.x, &f.msg, &f.req, a.p, a.n, true), EA_ERR_SIGALG);
    buf_free(&a);
    identity_free(&p384);
    fixture_free(&f);
}

static void scheme_that_does_not_fit_the_leaf_key_fails_sigalg(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, false);
    /* 0x0807 is offered, but the leaf is P-256: build refuses, validate rejects. */
    assert_int_equal(fixture_build(&f, EA_SIG_ED25519, true, false), EA_ERR_SIGALG);
    struct entry_spec leaf = {f.id.der, f.id.der_len, f.cmw_ext.p, f.cmw_ext.n};
    assert_int_equal(fixture_hand(&f, &leaf, 1, EA_SIG_ED25519, true), EA_ERR_SIGALG);
    fixture_free(&f);
}

static void build_refuses_cmw_not_offered_and_mismatched_key(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, false, false);
    assert_int_equal(fixture_build(&f, EA_SIG_ECDSA_P256_SHA256, true, false),
                     EA_ERR_UNOFFERED_EXTENSION);
    assert_int_equal(fixture_build(&f, EA_SIG_ECDSA_P256_SHA256, false, false), EA_OK);
    fixture_free(&f);

    fixture_new(&f, true, false);
    struct identity other;
    identity_new(&other, "P-256");
    struct ea_authenticator_params ap = {.key = other.key, /* not the certificate's key */
                                         .cert_der = f.id.der,
                                         .cert_len = f.id.der_len,
                                         .sigalg = EA_SIG_ECDSA_P256_SHA256};
    struct bytes_writer w;
    writer_init(&w, EA_FRAME_MAX_PAYLOAD);
    enum ea_error e = EA_OK;
    assert_int_equal(ea_authenticator_build(&f.x, f.msg.p, f.msg.n, &f.req, &ap, &w, &e), -1);
    assert_int_equal(e, EA_ERR_CERTIFICATE);

    /* A payload larger than one extension block. */
    uint8_t *big = calloc(1, EA_CMW_MAX_JSON + 1);
    assert_non_null(big);
    ap.key = f.id.key;
    ap.cmw = big;
    ap.cmw_len = EA_CMW_MAX_JSON + 1;
    assert_int_equal(ea_authenticator_build(&f.x, f.msg.p, f.msg.n, &f.req, &ap, &w, &e), -1);
    assert_int_equal(e, EA_ERR_MALFORMED);
    /* Exactly EA_CMW_MAX_JSON fits (without framing). */
    ap.cmw_len = EA_CMW_MAX_JSON;
    assert_int_equal(ea_authenticator_build(&f.x, f.msg.p, f.msg.n, &f.req, &ap, &w, &e), 0);
    struct buf a = writer_to_buf(&w);
    assert_int_equal(validate_err(&f.x, &f.msg, &f.req, a.p, a.n, true), EA_OK);
    buf_free(&a);
    free(big);
    identity_free(&other);
    fixture_free(&f);
}

static void reflected_authenticator_fails_with_other_role_exporters(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, false);
    /* Built with the client-role exporters of a connection... */
    struct ea_exporters client_role = f.x;
    struct ea_exporters server_role;
    random_exporters(&server_role, EVP_sha256());
    struct ea_authenticator_params ap = {.key = f.id.key,
                                         .cert_der = f.id.der,
                                         .cert_len = f.id.der_len,
                                         .sigalg = EA_SIG_ECDSA_P256_SHA256,
                                         .cmw = f.cmw.p,
                                         .cmw_len = f.cmw.n};
    struct bytes_writer w;
    writer_init(&w, EA_FRAME_MAX_PAYLOAD);
    enum ea_error e;
    assert_int_equal(ea_authenticator_build(&client_role, f.msg.p, f.msg.n, &f.req, &ap, &w, &e),
                     0);
    struct buf a = writer_to_buf(&w);
    /* ...and validated as if the server had sent it: the handshake context differs. */
    assert_int_equal(validate_err(&server_role, &f.msg, &f.req, a.p, a.n, true), EA_ERR_SIGNATURE);
    /* Same HC but another finished key: the Finished fails. */
    struct ea_exporters fk_only = client_role;
    memcpy(fk_only.fk, server_role.fk, sizeof fk_only.fk);
    assert_int_equal(validate_err(&fk_only, &f.msg, &f.req, a.p, a.n, true), EA_ERR_FINISHED);
    assert_int_equal(validate_err(&client_role, &f.msg, &f.req, a.p, a.n, true), EA_OK);
    buf_free(&a);
    fixture_free(&f);
}

static void authenticator_for_another_request_fails(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, false);
    struct entry_spec leaf = {f.id.der, f.id.der_len, f.cmw_ext.p, f.cmw_ext.n};
    struct buf a = hand_authenticator(&f.x, &f.msg, &f.req, &leaf, 1, f.id.key,
                                      EA_SIG_ECDSA_P256_SHA256, EA_SIG_ECDSA_P256_SHA256);
    /* Same parsed request, different request bytes (sigalg order changed): the transcript
     * covers the request message, so the signature fails. */
    struct ea_request other = f.req;
    other.sigalgs[0] = EA_SIG_ED25519;
    other.sigalgs[1] = EA_SIG_ECDSA_P256_SHA256;
    struct buf other_msg = encode_request(&other);
    assert_int_equal(validate_err(&f.x, &other_msg, &f.req, a.p, a.n, true), EA_ERR_SIGNATURE);
    buf_free(&other_msg);
    buf_free(&a);
    fixture_free(&f);
}

static void bad_exporters_are_internal_errors(void **state)
{
    (void)state;
    struct fixture f;
    fixture_new(&f, true, false);
    struct entry_spec leaf = {f.id.der, f.id.der_len, f.cmw_ext.p, f.cmw_ext.n};
    struct buf a = hand_authenticator(&f.x, &f.msg, &f.req, &leaf, 1, f.id.key,
                                      EA_SIG_ECDSA_P256_SHA256, EA_SIG_ECDSA_P256_SHA256);
    struct ea_exporters x = f.x;
    x.hash_len = 48; /* does not match md */
    assert_int_equal(validate_err(&x, &f.msg, &f.req, a.p, a.n, true), EA_ERR_INTERNAL);
    x = f.x;
    memset(x.fk, 0, sizeof x.fk); /* never computed */
    assert_int_equal(validate_err(&x, &f.msg, &f.req, a.p, a.n, true), EA_ERR_INTERNAL);
    x = f.x;
    x.md = NULL;
    assert_int_equal(validate_err(&x, &f.msg, &f.req, a.p, a.n, true), EA_ERR_INTERNAL);
    assert_int_equal(fixture_build(&f, EA_SIG_ECDSA_P256_SHA256, true, false), EA_OK);
    buf_free(&a);
    fixture_free(&f);
}

/* ------------------------------------------------------------------------------------------ */
/* requests                                                                                   */

/* A request message from raw parts: msg_type, context, raw extension block. */
static struct buf raw_request(uint8_t type, size_t ctx_len, const uint8_t *exts, size_t exts_len)
{
    struct bytes_writer w;
    uint8_t ctx[255];
    memset(ctx, 0xab, sizeof ctx);
    writer_init(&w, 70000);
    writer_u8(&w, type);
    size_t body = writer_vec_begin(&w, 3);
    size_t c = writer_vec_begin(&w, 1);
    writer_bytes(&w, ctx, ctx_len);
    writer_vec_end(&w, c, 1);
    size_t e = writer_vec_begin(&w, 2);
    writer_bytes(&w, exts, exts_len);
    writer_vec_end(&w, e, 2);
    writer_vec_end(&w, body, 3);
    return writer_to_buf(&w);
}

static int parse_raw(uint8_t type, size_t ctx_len, const uint8_t *exts, size_t exts_len,
                     struct ea_request *out)
{
    struct buf m = raw_request(type, ctx_len, exts, exts_len);
    enum ea_error e = EA_OK;
    int rc = ea_request_parse(m.p, m.n, out, &e);
    assert_int_equal(rc == 0, e == EA_OK);
    if (rc != 0)
        assert_int_equal(e, EA_ERR_MALFORMED);
    buf_free(&m);
    return rc;
}

#define SIGALGS_0403 0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03
#define CMW_EMPTY 0xff, 0x00, 0x00, 0x00
#define FRAMING_EMPTY 0xff, 0x7e, 0x00, 0x00

static void request_parse_accepts_cocos_shape_and_variants(void **state)
{
    (void)state;
    struct ea_request r;
    static const uint8_t cocos[] = {SIGALGS_0403, CMW_EMPTY};
    assert_int_equal(parse_raw(17, 32, cocos, sizeof cocos, &r), 0);
    assert_true(r.cmw_offered);
    assert_int_equal(parse_raw(13, 32, cocos, sizeof cocos, &r), 0);
    assert_int_equal(r.msg_type, 13);
    /* Context lengths 0 and 255 parse (the connection layer enforces its minimum). */
    assert_int_equal(parse_raw(17, 0, cocos, sizeof cocos, &r), 0);
    assert_int_equal(r.context_len, 0);
    assert_int_equal(parse_raw(17, 255, cocos, sizeof cocos, &r), 0);
    assert_int_equal(r.context_len, 255);
    /* Unknown extensions are ignored; order does not matter. */
    static const uint8_t unknown[] = {0x00, 0x2f, 0x00, 0x03, 1, 2, 3, FRAMING_EMPTY, SIGALGS_0403};
    assert_int_equal(parse_raw(17, 32, unknown, sizeof unknown, &r), 0);
    assert_false(r.cmw_offered);
    assert_true(r.framing_offered);
    assert_int_equal(r.n_sigalgs, 1);
    /* More than EA_MAX_SIGALGS schemes: the first 16 are kept in order. */
    uint8_t many[4 + 2 + 2 * 20];
    size_t o = 0;
    many[o++] = 0x00;
    many[o++] = 0x0d;
    many[o++] = 0x00;
    many[o++] = 2 + 2 * 20;
    many[o++] = 0x00;
    many[o++] = 2 * 20;
    for (int i = 0; i < 20; i++) {
        many[o++] = 0x08;
        many[o++] = (uint8_t)i;
    }
    assert_int_equal(parse_raw(17, 32, many, sizeof many, &r), 0);
    assert_int_equal(r.n_sigalgs, EA_MAX_SIGALGS);
    assert_int_equal(r.sigalgs[0], 0x0800);
    assert_int_equal(r.sigalgs[15], 0x080f);
}

static void request_roundtrips_through_encode_and_parse(void **state)
{
    (void)state;
    static const uint16_t algs[] = {EA_SIG_ECDSA_P256_SHA256, EA_SIG_ED25519,
                                    EA_SIG_ECDSA_P384_SHA384};
    for (int variant = 0; variant < 4; variant++) {
        struct ea_request r, back;
        make_request(&r, variant & 1 ? 13 : 17, algs, 3, variant & 2, !(variant & 2));
        struct buf m = encode_request(&r);
        enum ea_error e;
        assert_int_equal(ea_request_parse(m.p, m.n, &back, &e), 0);
        assert_int_equal(back.msg_type, r.msg_type);
        assert_int_equal(back.context_len, r.context_len);
        assert_memory_equal(back.context, r.context, r.context_len);
        assert_int_equal(back.n_sigalgs, 3);
        assert_memory_equal(back.sigalgs, algs, sizeof algs);
        assert_int_equal(back.cmw_offered, r.cmw_offered);
        assert_int_equal(back.framing_offered, r.framing_offered);
        buf_free(&m);
    }
    /* Encode refuses what it cannot represent. */
    struct ea_request bad;
    make_request(&bad, 17, algs, 0, true, false);
    struct bytes_writer w;
    writer_init(&w, 4096);
    assert_int_equal(ea_request_encode(&bad, &w), -1);
    bad.n_sigalgs = 1;
    bad.msg_type = 11;
    assert_int_equal(ea_request_encode(&bad, &w), -1);
    writer_free(&w);
}

static void request_with_duplicate_extension_is_rejected(void **state)
{
    (void)state;
    struct ea_request r;
    static const uint8_t dup_sigalgs[] = {SIGALGS_0403, SIGALGS_0403, CMW_EMPTY};
    assert_int_equal(parse_raw(17, 32, dup_sigalgs, sizeof dup_sigalgs, &r), -1);
    static const uint8_t dup_cmw[] = {SIGALGS_0403, CMW_EMPTY, CMW_EMPTY};
    assert_int_equal(parse_raw(17, 32, dup_cmw, sizeof dup_cmw, &r), -1);
    static const uint8_t dup_unknown[] = {SIGALGS_0403, 0x12, 0x34, 0, 0, 0x12, 0x34, 0, 0};
    assert_int_equal(parse_raw(17, 32, dup_unknown, sizeof dup_unknown, &r), -1);
}

static void request_without_signature_algorithms_is_rejected(void **state)
{
    (void)state;
    struct ea_request r;
    static const uint8_t only_cmw[] = {CMW_EMPTY};
    assert_int_equal(parse_raw(17, 32, only_cmw, sizeof only_cmw, &r), -1);
    assert_int_equal(parse_raw(17, 32, NULL, 0, &r), -1);
    /* Malformed lists: empty, odd, inner length disagreeing with the data. */
    static const uint8_t empty_list[] = {0x00, 0x0d, 0x00, 0x02, 0x00, 0x00};
    assert_int_equal(parse_raw(17, 32, empty_list, sizeof empty_list, &r), -1);
    static const uint8_t odd_list[] = {0x00, 0x0d, 0x00, 0x05, 0x00, 0x03, 0x04, 0x03, 0x05};
    assert_int_equal(parse_raw(17, 32, odd_list, sizeof odd_list, &r), -1);
    static const uint8_t short_list[] = {0x00, 0x0d, 0x00, 0x06, 0x00,
                                         0x02, 0x04, 0x03, 0x05, 0x03};
    assert_int_equal(parse_raw(17, 32, short_list, sizeof short_list, &r), -1);
    static const uint8_t long_list[] = {0x00, 0x0d, 0x00, 0x04, 0x00, 0x04, 0x04, 0x03};
    assert_int_equal(parse_raw(17, 32, long_list, sizeof long_list, &r), -1);
    static const uint8_t no_list[] = {0x00, 0x0d, 0x00, 0x00};
    assert_int_equal(parse_raw(17, 32, no_list, sizeof no_list, &r), -1);
}

static void request_with_nonempty_cmw_or_framing_is_rejected(void **state)
{
    (void)state;
    struct ea_request r;
    static const uint8_t cmw_data[] = {SIGALGS_0403, 0xff, 0x00, 0x00, 0x01, 0x00};
    assert_int_equal(parse_raw(17, 32, cmw_data, sizeof cmw_data, &r), -1);
    static const uint8_t framing_data[] = {SIGALGS_0403, 0xff, 0x7e, 0x00, 0x02, 0x00, 0x00};
    assert_int_equal(parse_raw(17, 32, framing_data, sizeof framing_data, &r), -1);
}

static void request_with_bad_type_or_lengths_is_rejected(void **state)
{
    (void)state;
    struct ea_request r;
    enum ea_error e;
    static const uint8_t cocos[] = {SIGALGS_0403, CMW_EMPTY};
    for (int t = 0; t < 256; t++)
        if (t != 13 && t != 17)
            assert_int_equal(parse_raw((uint8_t)t, 32, cocos, sizeof cocos, &r), -1);
    struct buf m = raw_request(17, 32, cocos, sizeof cocos);
    /* Trailing byte after the message. */
    uint8_t *longer = malloc(m.n + 1);
    assert_non_null(longer);
    memcpy(longer, m.p, m.n);
    longer[m.n] = 0;
    assert_int_equal(ea_request_parse(longer, m.n + 1, &r, &e), -1);
    assert_int_equal(e, EA_ERR_MALFORMED);
    /* Handshake length one too large / too small. */
    m.p[3]++;
    assert_int_equal(ea_request_parse(m.p, m.n, &r, &e), -1);
    memcpy(longer, m.p, m.n);
    assert_int_equal(ea_request_parse(longer, m.n + 1, &r, &e), -1); /* body: stray byte */
    m.p[3] -= 2;
    assert_int_equal(ea_request_parse(m.p, m.n, &r, &e), -1);
    m.p[3]++;
    /* Extension block length disagreeing with the body. */
    m.p[4 + 1 + 32 + 1]++;
    assert_int_equal(ea_request_parse(m.p, m.n, &r, &e), -1);
    m.p[4 + 1 + 32 + 1]--;
    assert_int_equal(ea_request_parse(m.p, m.n, &r, &e), 0);
    assert_int_equal(ea_request_parse(NULL, 0, &r, &e), -1);
    free(longer);
    buf_free(&m);
}

static void choose_sigalg_takes_first_supported_in_peer_order(void **state)
{
    (void)state;
    struct ea_request r;
    uint16_t s = 0;
    static const uint16_t a1[] = {0x0804, 0x0807, 0x0403};
    make_request(&r, 17, a1, 3, true, false);
    assert_int_equal(ea_choose_sigalg(&r, &s), 0);
    assert_int_equal(s, 0x0807);
    static const uint16_t a2[] = {0x0503, 0x0403};
    make_request(&r, 17, a2, 2, true, false);
    assert_int_equal(ea_choose_sigalg(&r, &s), 0);
    assert_int_equal(s, 0x0503);
    static const uint16_t a3[] = {0x0804, 0x0401};
    make_request(&r, 17, a3, 2, true, false);
    assert_int_equal(ea_choose_sigalg(&r, &s), -1);
}

/* ------------------------------------------------------------------------------------------ */
/* payload                                                                                    */

#define B64_AIK "GcZIxqwn2Hu25NUTD5ml4nQrJvK3KqZtR5lscbs/K3M="
#define B64_BIND "v9hjP082Y4sA1tPa04qLyGvvuR4bSvK6gv+CeUBs+7I="
#define GOOD_BINDER                                                                                \
    "{\"exporter_label\":\"Attestation\",\"aik_pub_hash\":\"" B64_AIK "\",\"binding\":\"" B64_BIND \
    "\"}"

static int parse_str(const char *s)
{
    struct ea_payload p;
    const char *why = NULL;
    int rc = ea_payload_parse((const uint8_t *)s, strlen(s), &p, &why);
    if (rc == 0) {
        assert_null(why);
        ea_payload_clear(&p);
    } else {
        assert_non_null(why);
        assert_null(p.evidence);
    }
    return rc;
}

static void payload_parse_accepts_canonical_and_unknown_keys(void **state)
{
    (void)state;
    const char *good =
        "{\"version\":1,\"media_type\":\"m\",\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER "}";
    assert_int_equal(parse_str(good), 0);
    struct ea_payload p;
    const char *why;
    assert_int_equal(ea_payload_parse((const uint8_t *)good, strlen(good), &p, &why), 0);
    assert_int_equal(p.evidence_len, 3);
    assert_memory_equal(p.evidence, "ABC", 3);
    assert_string_equal(p.media_type, "m");
    assert_int_equal(p.aik_pub_hash_len, 32);
    ea_payload_clear(&p);
    /* Unknown keys, in either object, and another key order. */
    assert_int_equal(parse_str("{\"binder\":{\"x\":[1,{}],\"binding\":\"" B64_BIND
                               "\",\"aik_pub_hash\":\"" B64_AIK "\"},\"evidence\":\"QUJD\","
                               "\"attestation_results\":\"QQ==\",\"version\":1,\"extra\":null}"),
                     0);
    /* Trailing whitespace is fine; media_type and exporter_label are optional. */
    assert_int_equal(
        parse_str("{\"version\":1,\"evidence\":\"QUJD\",\"binder\":{\"aik_pub_hash\":\"" B64_AIK
                  "\",\"binding\":\"" B64_BIND "\"}} \n\t"),
        0);
}

static void payload_parse_rejects_duplicate_keys(void **state)
{
    (void)state;
    assert_int_equal(
        parse_str("{\"version\":1,\"version\":1,\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER "}"),
        -1);
    assert_int_equal(
        parse_str(
            "{\"version\":1,\"evidence\":\"QUJD\",\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER
            "}"),
        -1);
    assert_int_equal(
        parse_str("{\"version\":1,\"evidence\":\"QUJD\",\"binder\":{\"binding\":\"" B64_BIND
                  "\",\"aik_pub_hash\":\"" B64_AIK "\",\"binding\":\"" B64_BIND "\"}}"),
        -1);
    /* Spellings Go would fold onto a field: a second, different value for it. */
    assert_int_equal(
        parse_str(
            "{\"version\":1,\"evidence\":\"QUJD\",\"Evidence\":\"QUJE\",\"binder\":" GOOD_BINDER
            "}"),
        -1);
    assert_int_equal(parse_str("{\"VERSION\":1,\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER "}"),
                     -1);
    assert_int_equal(
        parse_str(
            "{\"version\":1,\"ver\xc5\xbfion\":2,\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER
            "}"),
        -1);
    assert_int_equal(
        parse_str("{\"version\":1,\"evidence\":\"QUJD\",\"binder\":{\"ai\xe2\x84\xaa_pub_hash\":"
                  "\"QQ==\",\"aik_pub_hash\":\"" B64_AIK "\",\"binding\":\"" B64_BIND "\"}}"),
        -1);
}

static void payload_parse_rejects_bad_version(void **state)
{
    (void)state;
#define VERSION_FMT "{\"version\":%s,\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER "}"
    const char *bad[] = {"2", "0", "\"1\"", "1.0", "true", "null", "-1", "[1]", "1e0"};
    char buf[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, VERSION_FMT, bad[i]);
        assert_int_equal(parse_str(buf), -1);
    }
    snprintf(buf, sizeof buf, VERSION_FMT, "1");
    assert_int_equal(parse_str(buf), 0);
    assert_int_equal(parse_str("{\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER "}"), -1);
}

static void payload_parse_rejects_noncanonical_base64(void **state)
{
    (void)state;
#define EVIDENCE_FMT "{\"version\":1,\"evidence\":\"%s\",\"binder\":" GOOD_BINDER "}"
    const char *bad[] = {"QUI",     /* unpadded */
                         "-_8=",    /* URL-safe alphabet */
                         "QU\\nJD", /* escaped newline inside */
                         "QUJD ",   /* space */
                         "QUJ=",    /* non-zero bits under the padding */
                         "",        /* empty evidence */
                         "QQ==QQ=="}; /* padding in the middle */
    char buf[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, EVIDENCE_FMT, bad[i]);
        assert_int_equal(parse_str(buf), -1);
    }
    snprintf(buf, sizeof buf, EVIDENCE_FMT, "+/8=");
    assert_int_equal(parse_str(buf), 0);
    snprintf(buf, sizeof buf, EVIDENCE_FMT, "QUI=");
    assert_int_equal(parse_str(buf), 0);
    /* Binder values too, and their 64-byte cap. */
    assert_int_equal(
        parse_str("{\"version\":1,\"evidence\":\"QUJD\",\"binder\":{\"aik_pub_hash\":"
                  "\"GcZIxqwn2Hu25NUTD5ml4nQrJvK3KqZtR5lscbs_K3M=\",\"binding\":\"" B64_BIND
                  "\"}}"),
        -1);
    char big[200];
    memset(big, 'A', 88);
    strcpy(big + 88, "AAAA"); /* 92 chars = 69 bytes */
    snprintf(buf, sizeof buf,
             "{\"version\":1,\"evidence\":\"QUJD\",\"binder\":{\"aik_pub_hash\":\"%s\",\"binding\":"
             "\"" B64_BIND "\"}}",
             big);
    assert_int_equal(parse_str(buf), -1);
}

static void payload_parse_rejects_missing_members(void **state)
{
    (void)state;
    assert_int_equal(parse_str("{\"version\":1,\"evidence\":\"QUJD\"}"), -1);
    assert_int_equal(parse_str("{\"version\":1,\"binder\":" GOOD_BINDER "}"), -1);
    assert_int_equal(
        parse_str("{\"version\":1,\"attestation_results\":\"QUJD\",\"binder\":" GOOD_BINDER "}"),
        -1);
    assert_int_equal(
        parse_str("{\"version\":1,\"evidence\":\"QUJD\",\"binder\":{\"binding\":\"" B64_BIND
                  "\"}}"),
        -1);
    assert_int_equal(
        parse_str("{\"version\":1,\"evidence\":\"QUJD\",\"binder\":{\"aik_pub_hash\":\"" B64_AIK
                  "\"}}"),
        -1);
    assert_int_equal(parse_str("{\"version\":1,\"evidence\":\"QUJD\",\"binder\":[]}"), -1);
    assert_int_equal(parse_str("{\"version\":1,\"evidence\":\"QUJD\",\"binder\":null}"), -1);
    assert_int_equal(parse_str("{\"version\":1,\"evidence\":[65,66],\"binder\":" GOOD_BINDER "}"),
                     -1);
    assert_int_equal(
        parse_str("{\"version\":1,\"media_type\":7,\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER
                  "}"),
        -1);
}

static void payload_parse_rejects_trailing_garbage_and_non_objects(void **state)
{
    (void)state;
    assert_int_equal(parse_str("{\"version\":1,\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER "}x"),
                     -1);
    assert_int_equal(
        parse_str("{\"version\":1,\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER "}{}"), -1);
    assert_int_equal(parse_str("[1,2]"), -1);
    assert_int_equal(parse_str("\"QUJD\""), -1);
    assert_int_equal(parse_str("1"), -1);
    assert_int_equal(parse_str("null"), -1);
    assert_int_equal(parse_str(""), -1);
    assert_int_equal(parse_str("{\"version\":1,\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER), -1);
    /* Invalid UTF-8 inside a string; a NUL escape. */
    assert_int_equal(parse_str("{\"version\":1,\"media_type\":\"\xc3\x28\",\"evidence\":\"QUJD\","
                               "\"binder\":" GOOD_BINDER "}"),
                     -1);
    assert_int_equal(parse_str("{\"version\":1,\"media_type\":\"a\\u0000b\",\"evidence\":\"QUJD\","
                               "\"binder\":" GOOD_BINDER "}"),
                     -1);
    struct ea_payload p;
    const char *why;
    assert_int_equal(ea_payload_parse(NULL, 0, &p, &why), -1);
    /* Over the size of one extension. */
    size_t n = EA_CMW_MAX_JSON + 1;
    uint8_t *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    assert_int_equal(ea_payload_parse(big, n, &p, &why), -1);
    free(big);
}

static void payload_field_limits_are_enforced(void **state)
{
    (void)state;
    char mt[200], buf[1024];
    memset(mt, 'm', 127);
    mt[127] = '\0';
    snprintf(buf, sizeof buf,
             "{\"version\":1,\"media_type\":\"%s\",\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER
             "}",
             mt);
    assert_int_equal(parse_str(buf), 0);
    mt[127] = 'm';
    mt[128] = '\0';
    snprintf(buf, sizeof buf,
             "{\"version\":1,\"media_type\":\"%s\",\"evidence\":\"QUJD\",\"binder\":" GOOD_BINDER
             "}",
             mt);
    assert_int_equal(parse_str(buf), -1);
    char label[100];
    memset(label, 'l', 64);
    label[64] = '\0';
    snprintf(buf, sizeof buf,
             "{\"version\":1,\"evidence\":\"QUJD\",\"binder\":{\"exporter_label\":\"%s\",\"aik_pub_"
             "hash\":\"" B64_AIK "\",\"binding\":\"" B64_BIND "\"}}",
             label);
    assert_int_equal(parse_str(buf), -1);
}

static void payload_encode_is_go_canonical(void **state)
{
    (void)state;
    struct ea_payload p;
    memset(&p, 0, sizeof p);
    uint8_t ev[3] = {'A', 'B', 'C'};
    p.evidence = ev;
    p.evidence_len = 3;
    p.aik_pub_hash[0] = 0xfb;
    p.aik_pub_hash[1] = 0xff;
    p.aik_pub_hash_len = 2;
    p.binding[0] = 1;
    p.binding_len = 1;
    char *json = NULL;
    size_t len = 0;
    /* version 0 is written as 1 (as Cocos does); empty media_type and label are omitted. */
    assert_int_equal(ea_payload_encode(&p, &json, &len), 0);
    const char *want1 = "{\"version\":1,\"evidence\":\"QUJD\",\"binder\":{\"aik_pub_hash\":\"+/"
                        "8=\",\"binding\":\"AQ==\"}}";
    assert_string_equal(json, want1);
    assert_int_equal(len, strlen(want1));
    free(json);
    /* Go's HTML-safe escaping. */
    p.version = 1;
    strcpy(p.media_type, "a<b>&\"\\\n\r\t\x01\x7f\xe2\x80\xa8\xc3\xa9/");
    strcpy(p.exporter_label, "Attestation");
    assert_int_equal(ea_payload_encode(&p, &json, &len), 0);
    const char *want2 = "{\"version\":1,\"media_type\":"
                        "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\r\\t\\u0001\x7f\\u2028\xc3\xa9/\","
                        "\"evidence\":\"QUJD\",\"binder\":{\"exporter_label\":\"Attestation\","
                        "\"aik_pub_hash\":\"+/8=\",\"binding\":\"AQ==\"}}";
    assert_string_equal(json, want2);
    /* It parses back to the same values. */
    struct ea_payload back;
    const char *why;
    assert_int_equal(ea_payload_parse((const uint8_t *)json, len, &back, &why), 0);
    assert_string_equal(back.media_type, p.media_type);
    assert_string_equal(back.exporter_label, "Attestation");
    assert_int_equal(back.evidence_len, 3);
    assert_int_equal(back.aik_pub_hash_len, 2);
    ea_payload_clear(&back);
    free(json);
}

static void payload_encode_refuses_what_parse_would_reject(void **state)
{
    (void)state;
    struct ea_payload p;
    memset(&p, 0, sizeof p);
    uint8_t ev[1] = {1};
    p.version = 1;
    p.evidence = ev;
    p.evidence_len = 1;
    p.aik_pub_hash_len = 32;
    p.binding_len = 32;
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(ea_payload_encode(&p, &json, &len), 0);
    free(json);
    p.version = 2;
    assert_int_equal(ea_payload_encode(&p, &json, &len), -1);
    assert_null(json);
    p.version = 1;
    p.evidence_len = 0;
    assert_int_equal(ea_payload_encode(&p, &json, &len), -1);
    p.evidence_len = 1;
    p.binding_len = 0;
    assert_int_equal(ea_payload_encode(&p, &json, &len), -1);
    p.binding_len = 65;
    assert_int_equal(ea_payload_encode(&p, &json, &len), -1);
    p.binding_len = 32;
    strcpy(p.media_type, "bad \xc3\x28 utf8");
    assert_int_equal(ea_payload_encode(&p, &json, &len), -1);
    strcpy(p.media_type, "surrogate \xed\xa0\x80");
    assert_int_equal(ea_payload_encode(&p, &json, &len), -1);
    strcpy(p.media_type, "overlong \xc0\xaf");
    assert_int_equal(ea_payload_encode(&p, &json, &len), -1);
    memset(p.media_type, 'x', sizeof p.media_type); /* not NUL-terminated */
    assert_int_equal(ea_payload_encode(&p, &json, &len), -1);
    p.media_type[0] = '\0';
    /* Evidence too large for one cmw_attestation extension. */
    size_t big_n = 49200;
    uint8_t *big = calloc(1, big_n);
    assert_non_null(big);
    p.evidence = big;
    p.evidence_len = big_n;
    assert_int_equal(ea_payload_encode(&p, &json, &len), -1);
    p.evidence_len = 48000;
    assert_int_equal(ea_payload_encode(&p, &json, &len), 0);
    assert_true(len <= EA_CMW_MAX_JSON);
    free(json);
    free(big);
}

/* ------------------------------------------------------------------------------------------ */
/* frames and codes                                                                           */

static void frame_header_rejects_bad_types_and_sizes(void **state)
{
    (void)state;
    uint8_t h[EA_FRAME_HEADER_LEN], type = 0xee;
    uint32_t len = 0xeeeeeeee;
    ea_frame_header_write(h, 0, 10);
    assert_int_equal(ea_frame_header_parse(h, &type, &len), -1);
    for (int t = 4; t < 256; t++) {
        ea_frame_header_write(h, (uint8_t)t, 10);
        assert_int_equal(ea_frame_header_parse(h, &type, &len), -1);
    }
    ea_frame_header_write(h, EA_FRAME_AUTHENTICATOR, EA_FRAME_MAX_PAYLOAD + 1);
    assert_int_equal(ea_frame_header_parse(h, &type, &len), -1);
    ea_frame_header_write(h, EA_FRAME_AUTHENTICATOR, 0xffffffffu);
    assert_int_equal(ea_frame_header_parse(h, &type, &len), -1);
    assert_int_equal(type, 0xee); /* outputs untouched on failure */
    assert_int_equal(len, 0xeeeeeeee);
}

static void frame_header_accepts_known_types_up_to_16_mib(void **state)
{
    (void)state;
    uint8_t h[EA_FRAME_HEADER_LEN], type = 0;
    uint32_t len = 0;
    ea_frame_header_write(h, EA_FRAME_REQUEST, EA_FRAME_MAX_PAYLOAD);
    const uint8_t want[5] = {0x01, 0x01, 0x00, 0x00, 0x00};
    assert_memory_equal(h, want, 5);
    assert_int_equal(ea_frame_header_parse(h, &type, &len), 0);
    assert_int_equal(type, 1);
    assert_int_equal(len, 16u << 20);
    for (uint8_t t = 1; t <= 3; t++) {
        ea_frame_header_write(h, t, 0);
        assert_int_equal(ea_frame_header_parse(h, &type, &len), 0);
        assert_int_equal(type, t);
        assert_int_equal(len, 0);
    }
    const uint8_t cocos[5] = {0x01, 0x00, 0x00, 0x00, 0x33};
    assert_int_equal(ea_frame_header_parse(cocos, &type, &len), 0);
    assert_int_equal(len, 51);
}

static void error_codes_are_the_documented_strings(void **state)
{
    (void)state;
    assert_string_equal(ea_error_code(EA_ERR_MALFORMED), "ea_malformed");
    assert_string_equal(ea_error_code(EA_ERR_EMPTY), "ea_empty_authenticator");
    assert_string_equal(ea_error_code(EA_ERR_CONTEXT_MISMATCH), "ea_context_mismatch");
    assert_string_equal(ea_error_code(EA_ERR_CONTEXT_REUSED), "ea_context_reused");
    assert_string_equal(ea_error_code(EA_ERR_UNOFFERED_EXTENSION), "ea_unsupported_extension");
    assert_string_equal(ea_error_code(EA_ERR_CMW_PLACEMENT), "ea_cmw_not_on_leaf");
    assert_string_equal(ea_error_code(EA_ERR_CMW_MISSING), "ea_cmw_missing");
    assert_string_equal(ea_error_code(EA_ERR_SIGALG), "ea_signature_scheme_not_offered");
    assert_string_equal(ea_error_code(EA_ERR_CERTIFICATE), "ea_bad_certificate");
    assert_string_equal(ea_error_code(EA_ERR_SIGNATURE), "ea_bad_signature");
    assert_string_equal(ea_error_code(EA_ERR_FINISHED), "ea_bad_finished");
    assert_string_equal(ea_error_code(EA_ERR_INTERNAL), "internal");
    assert_string_equal(ea_error_code((enum ea_error)999), "internal");
}

static int teardown_vectors(void **state)
{
    (void)state;
    vector_free(&vec256);
    vector_free(&vec384);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cocos_sha256_request_parses_and_reencodes_byte_for_byte),
        cmocka_unit_test(cocos_sha384_request_parses_and_reencodes_byte_for_byte),
        cmocka_unit_test(cocos_sha256_authenticator_validates_with_captured_exporters),
        cmocka_unit_test(cocos_sha384_authenticator_validates_with_captured_exporters),
        cmocka_unit_test(cocos_authenticator_with_flipped_finished_fails_finished),
        cmocka_unit_test(cocos_authenticator_with_flipped_signature_fails_signature),
        cmocka_unit_test(cocos_authenticator_with_tampered_payload_fails_signature),
        cmocka_unit_test(cocos_authenticator_with_wrong_handshake_context_fails_signature),
        cmocka_unit_test(cocos_authenticator_with_wrong_finished_key_fails_finished),
        cmocka_unit_test(cocos_authenticator_against_other_context_fails_context_mismatch),
        cmocka_unit_test(cocos_authenticator_when_cmw_not_offered_fails_unoffered_extension),
        cmocka_unit_test(cocos_authenticator_when_scheme_not_offered_fails_sigalg),
        cmocka_unit_test(cocos_authenticator_truncated_at_every_length_fails),
        cmocka_unit_test(cocos_authenticator_with_trailing_byte_is_malformed),
        cmocka_unit_test(cocos_authenticator_with_wrong_suite_hash_fails),
        cmocka_unit_test(roundtrip_p256_sha256_suite),
        cmocka_unit_test(roundtrip_p256_sha384_suite),
        cmocka_unit_test(roundtrip_p384_sha256_suite),
        cmocka_unit_test(roundtrip_p384_sha384_suite),
        cmocka_unit_test(roundtrip_ed25519_sha256_suite),
        cmocka_unit_test(roundtrip_ed25519_sha384_suite),
        cmocka_unit_test(roundtrip_rsa_pss_sha256_suite),
        cmocka_unit_test(roundtrip_with_framing_echo),
        cmocka_unit_test(hand_built_authenticator_is_accepted),
        cmocka_unit_test(cmw_on_second_entry_fails_cmw_placement),
        cmocka_unit_test(framing_on_second_entry_fails_unoffered_extension),
        cmocka_unit_test(framing_not_offered_fails_unoffered_extension),
        cmocka_unit_test(malformed_entry_extensions_are_rejected),
        cmocka_unit_test(leaf_that_is_not_x509_fails_certificate),
        cmocka_unit_test(missing_cmw_fails_cmw_missing_when_required),
        cmocka_unit_test(empty_authenticator_fails_empty),
        cmocka_unit_test(certificate_with_zero_entries_is_rejected),
        cmocka_unit_test(scheme_not_offered_is_refused_by_build_and_validate),
        cmocka_unit_test(scheme_that_does_not_fit_the_leaf_key_fails_sigalg),
        cmocka_unit_test(build_refuses_cmw_not_offered_and_mismatched_key),
        cmocka_unit_test(reflected_authenticator_fails_with_other_role_exporters),
        cmocka_unit_test(authenticator_for_another_request_fails),
        cmocka_unit_test(bad_exporters_are_internal_errors),
        cmocka_unit_test(request_parse_accepts_cocos_shape_and_variants),
        cmocka_unit_test(request_roundtrips_through_encode_and_parse),
        cmocka_unit_test(request_with_duplicate_extension_is_rejected),
        cmocka_unit_test(request_without_signature_algorithms_is_rejected),
        cmocka_unit_test(request_with_nonempty_cmw_or_framing_is_rejected),
        cmocka_unit_test(request_with_bad_type_or_lengths_is_rejected),
        cmocka_unit_test(choose_sigalg_takes_first_supported_in_peer_order),
        cmocka_unit_test(payload_parse_accepts_canonical_and_unknown_keys),
        cmocka_unit_test(payload_parse_rejects_duplicate_keys),
        cmocka_unit_test(payload_parse_rejects_bad_version),
        cmocka_unit_test(payload_parse_rejects_noncanonical_base64),
        cmocka_unit_test(payload_parse_rejects_missing_members),
        cmocka_unit_test(payload_parse_rejects_trailing_garbage_and_non_objects),
        cmocka_unit_test(payload_field_limits_are_enforced),
        cmocka_unit_test(payload_encode_is_go_canonical),
        cmocka_unit_test(payload_encode_refuses_what_parse_would_reject),
        cmocka_unit_test(frame_header_rejects_bad_types_and_sizes),
        cmocka_unit_test(frame_header_accepts_known_types_up_to_16_mib),
        cmocka_unit_test(error_codes_are_the_documented_strings),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_vectors);
}
