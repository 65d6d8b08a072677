/*
 * authenticator.c - RFC 9261 Exported Authenticators: build and validate
 * Certificate || CertificateVerify || Finished for one AuthenticatorRequest, given the
 * exporter values (handshake context HC, finished key FK) of the connection. Sans-IO; the wire
 * form is Cocos's (cocos-ea-wire.md 4.4): one leaf entry whose cmw_attestation extension
 * carries u16 cmw_len || cmw.
 *
 * Must never: read outside the authenticator buffer; accept an empty (Finished-only)
 * authenticator; accept an extension the request did not offer; compare the Finished MAC in
 * variable time; check Finished before the signature; leave a secret-derived value
 * uncleansed on the stack or heap.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ea/ea.h"
#include "util/der.h"
#include "util/x509util.h"
#include "util/util.h"

#define HS_HEADER_LEN 4 /* msg_type u8 || length u24 */
#define MAX_HASH_LEN 64 /* sizeof ea_exporters.hc */
#define EXT_BLOCK_MAX 0xffffu

/* RFC 9261 5.2.2: the CertificateVerify context string (not NUL-terminated on the wire). */
static const char cv_context_string[] = "Exported Authenticator";

struct slice {
    const uint8_t *p;
    size_t n;
};

/* ---- shared checks ---- */

static bool exporters_ok(const struct ea_exporters *x)
{
    if (!x || !x->md)
        return false;
    int n = EVP_MD_get_size(x->md);
    if (n <= 0 || (size_t)n != x->hash_len || x->hash_len > MAX_HASH_LEN)
        return false;
    /* All-zero exporter values mean they were never computed: fail closed. */
    return !ct_is_zero(x->hc, x->hash_len) && !ct_is_zero(x->fk, x->hash_len);
}

static bool request_ok(const struct ea_request *r)
{
    return r && r->context_len <= EA_CONTEXT_MAX && r->n_sigalgs <= EA_MAX_SIGALGS;
}

static bool sigalg_offered(const struct ea_request *req, uint16_t alg)
{
    for (size_t i = 0; i < req->n_sigalgs; i++)
        if (req->sigalgs[i] == alg)
            return true;
    return false;
}

/* RFC 8446 4.2.3: each scheme names the key type (and for ECDSA the curve) it signs with. */
static bool sigalg_fits_key(uint16_t alg, EVP_PKEY *k)
{
    switch (alg) {
    case EA_SIG_ECDSA_P256_SHA256:
        return ec_key_is_curve(k, NID_X9_62_prime256v1);
    case EA_SIG_ECDSA_P384_SHA384:
        return ec_key_is_curve(k, NID_secp384r1);
    case EA_SIG_ED25519:
        return EVP_PKEY_is_a(k, "ED25519");
    case EA_SIG_RSA_PSS_RSAE_SHA256: /* rsaEncryption keys only ("rsae"); no weak moduli */
        return EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) >= 2048;
    default:
        return false;
    }
}

/* The signature's own hash: from the scheme, never from the TLS suite (cocos-ea-wire 4.4). */
static const char *sigalg_digest(uint16_t alg)
{
    switch (alg) {
    case EA_SIG_ECDSA_P256_SHA256:
    case EA_SIG_RSA_PSS_RSAE_SHA256:
        return "SHA256";
    case EA_SIG_ECDSA_P384_SHA384:
        return "SHA384";
    default:
        return NULL; /* Ed25519 signs the message itself */
    }
}

/* RFC 8446 4.2.3: RSASSA-PSS with MGF1 over the same hash and a salt as long as the hash. */
static bool setup_pss(EVP_PKEY_CTX *pctx, uint16_t alg)
{
    if (alg != EA_SIG_RSA_PSS_RSAE_SHA256)
        return true;
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) > 0;
}

/* ---- transcript, CertificateVerify input, Finished ---- */

/* Hash(HC || parts...) with the TLS suite hash. */
static int transcript_hash(const struct ea_exporters *x, const struct slice *parts, size_t n,
                           uint8_t out[static MAX_HASH_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int len = 0;
    bool ok =
        c && EVP_DigestInit_ex(c, x->md, NULL) == 1 && EVP_DigestUpdate(c, x->hc, x->hash_len) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(c, parts[i].p, parts[i].n) == 1;
    ok = ok && EVP_DigestFinal_ex(c, out, &len) == 1 && len == x->hash_len;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

/* RFC 9261 5.2.2: 0x20 x 64 || "Exported Authenticator" || 0x00 ||
 * Hash(Handshake Context || authenticator request || Certificate). Caller frees w. */
static int certificate_verify_input(const struct ea_exporters *x, struct slice request,
                                    struct slice cert_msg, struct bytes_writer *w)
{
    static const uint8_t spaces[64] = {
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20};
    struct slice parts[2] = {request, cert_msg};
    uint8_t th[MAX_HASH_LEN];
    writer_init(w, sizeof spaces + sizeof cv_context_string + MAX_HASH_LEN);
    if (transcript_hash(x, parts, 2, th) != 0)
        return -1;
    writer_bytes(w, spaces, sizeof spaces);
    writer_bytes(w, cv_context_string, sizeof cv_context_string - 1);
    writer_u8(w, 0x00);
    writer_bytes(w, th, x->hash_len);
    OPENSSL_cleanse(th, sizeof th);
    return w->failed ? -1 : 0;
}

/* RFC 9261 5.2.3: HMAC(FK, Hash(HC || request || Certificate || CertificateVerify)). */
static int finished_mac(const struct ea_exporters *x, struct slice request, struct slice cert_msg,
                        struct slice cv_msg, uint8_t out[static MAX_HASH_LEN])
{
    struct slice parts[3] = {request, cert_msg, cv_msg};
    uint8_t th[MAX_HASH_LEN];
    unsigned int n = 0;
    int rc = -1;
    if (transcript_hash(x, parts, 3, th) == 0 &&
        HMAC(x->md, x->fk, (int)x->hash_len, th, x->hash_len, out, &n) != NULL && n == x->hash_len)
        rc = 0;
    OPENSSL_cleanse(th, sizeof th);
    return rc;
}

static int sign_certificate_verify(EVP_PKEY *key, uint16_t alg, const struct bytes_writer *tbs,
                                   uint8_t **sig, size_t *sig_len)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t *s = NULL;
    size_t n = 0;
    bool ok = c &&
              EVP_DigestSignInit_ex(c, &pctx, sigalg_digest(alg), NULL, NULL, key, NULL) == 1 &&
              setup_pss(pctx, alg) && EVP_DigestSign(c, NULL, &n, tbs->data, tbs->len) == 1 &&
              n > 0 && (s = malloc(n)) != NULL &&
              EVP_DigestSign(c, s, &n, tbs->data, tbs->len) == 1 && n <= 0xffff;
    EVP_MD_CTX_free(c);
    if (!ok) {
        free(s);
        return -1;
    }
    *sig = s;
    *sig_len = n;
    return 0;
}

static bool verify_certificate_verify(EVP_PKEY *key, uint16_t alg, const struct bytes_writer *tbs,
                                      const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = c &&
              EVP_DigestVerifyInit_ex(c, &pctx, sigalg_digest(alg), NULL, NULL, key, NULL) == 1 &&
              setup_pss(pctx, alg) && EVP_DigestVerify(c, sig, sig_len, tbs->data, tbs->len) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

/* The leaf's SubjectPublicKeyInfo (byte-exact from the certificate, as the binder needs it)
 * and its public key. The leaf of an Exported Authenticator only carries the key that signs
 * CertificateVerify; that key is what the evidence binds. So tether checks the certificate's
 * DER structure up to the SPKI and builds the key from the SPKI, without OpenSSL 3.0's full
 * decoder chain, which costs more than the signature check itself (docs/performance.md). */
static EVP_PKEY *leaf_key(const uint8_t *der, size_t len, const uint8_t **spki, size_t *spki_len)
{
    if (len == 0 || len > 0xffffff || der_cert_spki(der, len, spki, spki_len) != 0)
        return NULL;
    return der_spki_to_pkey(*spki, *spki_len);
}

/* ---- build ---- */

/* Certificate (RFC 8446 4.4.2, RFC 9261 5.2.1): context echo, one leaf entry. */
static void write_certificate(struct bytes_writer *w, const struct ea_request *req,
                              const struct ea_authenticator_params *params)
{
    writer_u8(w, EA_HS_CERTIFICATE);
    size_t body = writer_vec_begin(w, 3);
    size_t ctx = writer_vec_begin(w, 1);
    writer_bytes(w, req->context, req->context_len);
    writer_vec_end(w, ctx, 1);
    size_t list = writer_vec_begin(w, 3);
    size_t cert = writer_vec_begin(w, 3);
    writer_bytes(w, params->cert_der, params->cert_len);
    writer_vec_end(w, cert, 3);
    size_t exts = writer_vec_begin(w, 2);
    if (params->cmw_len > 0) {
        /* cmw_attestation data = u16 cmw_len || cmw (the inner prefix Cocos uses). */
        writer_u16(w, EA_EXT_CMW_ATTESTATION);
        size_t data = writer_vec_begin(w, 2);
        size_t cmw = writer_vec_begin(w, 2);
        writer_bytes(w, params->cmw, params->cmw_len);
        writer_vec_end(w, cmw, 2);
        writer_vec_end(w, data, 2);
    }
    if (params->framing) {
        writer_u16(w, EA_EXT_TETHER_FRAMING);
        writer_u16(w, 0);
    }
    writer_vec_end(w, exts, 2);
    writer_vec_end(w, list, 3);
    writer_vec_end(w, body, 3);
}

int ea_authenticator_build(const struct ea_exporters *x, const uint8_t *request_msg,
                           size_t request_len, const struct ea_request *request,
                           const struct ea_authenticator_params *params, struct bytes_writer *out,
                           enum ea_error *err)
{
    enum ea_error dummy, e = EA_ERR_INTERNAL;
    struct bytes_writer cert_w, cv_w, fin_w, tbs;
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    uint8_t mac[MAX_HASH_LEN];
    int rc = -1;

    if (!err)
        err = &dummy;
    writer_init(&cert_w, EA_FRAME_MAX_PAYLOAD);
    writer_init(&cv_w, HS_HEADER_LEN + 4 + 0xffff);
    writer_init(&fin_w, HS_HEADER_LEN + MAX_HASH_LEN);
    writer_init(&tbs, 0);
    if (!exporters_ok(x) || !request_ok(request) || !request_msg || request_len == 0 || !params ||
        !params->key || !params->cert_der || params->cert_len == 0 ||
        (params->cmw_len > 0 && !params->cmw) || !out || out->failed)
        goto done;
    /* RFC 9261 5.2.2: the scheme MUST be one the request offered. */
    if (!sigalg_offered(request, params->sigalg)) {
        e = EA_ERR_SIGALG;
        goto done;
    }
    /* RFC 9261 5.2.1: only extensions offered in the request may appear in the Certificate. */
    if ((params->cmw_len > 0 && !request->cmw_offered) ||
        (params->framing && !request->framing_offered)) {
        e = EA_ERR_UNOFFERED_EXTENSION;
        goto done;
    }
    size_t ext_total = (params->cmw_len > 0 ? 6 + params->cmw_len : 0) + (params->framing ? 4 : 0);
    if (params->cmw_len > EA_CMW_MAX_JSON || ext_total > EXT_BLOCK_MAX ||
        params->cert_len > 0xffffff) {
        e = EA_ERR_MALFORMED;
        goto done;
    }
    const uint8_t *spki;
    size_t spki_len;
    if (params->cert_len > 0xffffff ||
        der_cert_spki(params->cert_der, params->cert_len, &spki, &spki_len) != 0 ||
        !der_spki_matches_key(spki, spki_len, params->key)) {
        e = EA_ERR_CERTIFICATE; /* the key must be the leaf's */
        goto done;
    }
    if (!sigalg_fits_key(params->sigalg, params->key)) {
        e = EA_ERR_SIGALG;
        goto done;
    }

    write_certificate(&cert_w, request, params);
    if (cert_w.failed)
        goto done;
    struct slice req = {request_msg, request_len};
    struct slice cert_msg = {cert_w.data, cert_w.len};
    if (certificate_verify_input(x, req, cert_msg, &tbs) != 0 ||
        sign_certificate_verify(params->key, params->sigalg, &tbs, &sig, &sig_len) != 0)
        goto done;

    /* CertificateVerify (RFC 8446 4.4.3): algorithm u16 || signature<0..2^16-1>. */
    writer_u8(&cv_w, EA_HS_CERTIFICATE_VERIFY);
    size_t body = writer_vec_begin(&cv_w, 3);
    writer_u16(&cv_w, params->sigalg);
    size_t s = writer_vec_begin(&cv_w, 2);
    writer_bytes(&cv_w, sig, sig_len);
    writer_vec_end(&cv_w, s, 2);
    writer_vec_end(&cv_w, body, 3);
    if (cv_w.failed)
        goto done;

    struct slice cv_msg = {cv_w.data, cv_w.len};
    if (finished_mac(x, req, cert_msg, cv_msg, mac) != 0)
        goto done;
    writer_u8(&fin_w, EA_HS_FINISHED);
    body = writer_vec_begin(&fin_w, 3);
    writer_bytes(&fin_w, mac, x->hash_len);
    writer_vec_end(&fin_w, body, 3);
    if (fin_w.failed)
        goto done;

    /* RFC 9261 5.2.4: the authenticator is Certificate || CertificateVerify || Finished. */
    writer_bytes(out, cert_w.data, cert_w.len);
    writer_bytes(out, cv_w.data, cv_w.len);
    writer_bytes(out, fin_w.data, fin_w.len);
    if (out->failed)
        goto done;
    e = EA_OK;
    rc = 0;
done:
    OPENSSL_cleanse(mac, sizeof mac);
    free(sig);
    writer_free(&cert_w);
    writer_free(&cv_w);
    writer_free(&fin_w);
    writer_free(&tbs);
    *err = e;
    return rc;
}

/* ---- validate ---- */

/* Take one whole handshake message (msg_type || u24 length || body) from r. */
static bool read_message(struct bytes_reader *r, uint8_t *type, struct slice *whole,
                         struct bytes_reader *body)
{
    struct bytes_reader peek = *r, m;
    uint32_t len = 0;
    if (!reader_u8(&peek, type) || !reader_u24(&peek, &len) ||
        !reader_bytes(r, HS_HEADER_LEN + (size_t)len, &whole->p))
        return false;
    whole->n = HS_HEADER_LEN + (size_t)len;
    reader_init(&m, whole->p, whole->n);
    return reader_u8(&m, type) && reader_sub(&m, 3, body) && reader_done(&m);
}

/* Step 3: walk the CertificateEntry list; fills the leaf, cmw and framing fields of out. */
static enum ea_error check_entries(struct bytes_reader *list, const struct ea_request *request,
                                   struct ea_authenticator *out)
{
    size_t n = 0;
    while (reader_remaining(list) > 0) {
        const uint8_t *cert;
        size_t cert_len;
        struct bytes_reader exts;
        bool leaf = (n == 0), seen_cmw = false, seen_framing = false;
        /* RFC 8446 4.4.2: opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>. */
        if (!reader_vec(list, 3, &cert, &cert_len) || cert_len == 0 || !reader_sub(list, 2, &exts))
            return EA_ERR_MALFORMED;
        while (reader_remaining(&exts) > 0) {
            uint16_t type;
            const uint8_t *data;
            size_t data_len;
            struct bytes_reader d;
            if (!reader_u16(&exts, &type) || !reader_vec(&exts, 2, &data, &data_len))
                return EA_ERR_MALFORMED;
            switch (type) {
            case EA_EXT_CMW_ATTESTATION:
                /* RFC 9261 5.2.1: only extensions offered in the request. */
                if (!request->cmw_offered)
                    return EA_ERR_UNOFFERED_EXTENSION;
                if (!leaf)
                    return EA_ERR_CMW_PLACEMENT;
                if (seen_cmw) /* RFC 8446 4.2: one extension of each type per block */
                    return EA_ERR_MALFORMED;
                seen_cmw = true;
                reader_init(&d, data, data_len);
                if (!reader_vec(&d, 2, &out->cmw, &out->cmw_len) || !reader_done(&d) ||
                    out->cmw_len == 0)
                    return EA_ERR_MALFORMED;
                break;
            case EA_EXT_TETHER_FRAMING:
                if (!request->framing_offered || !leaf)
                    return EA_ERR_UNOFFERED_EXTENSION;
                if (seen_framing || data_len != 0)
                    return EA_ERR_MALFORMED;
                seen_framing = true;
                out->framing = true;
                break;
            default:
                return EA_ERR_UNOFFERED_EXTENSION; /* RFC 9261 5.2.1 */
            }
        }
        if (!reader_done(&exts))
            return EA_ERR_MALFORMED;
        if (leaf) {
            out->cert_der = cert;
            out->cert_len = cert_len;
        }
        n++;
    }
    if (!reader_done(list))
        return EA_ERR_MALFORMED;
    /* RFC 8446 4.4.2.4: an empty certificate_list followed by CertificateVerify is a decode
     * error; the only certificate-less form is the empty authenticator (RFC 9261 6). */
    if (n == 0)
        return EA_ERR_MALFORMED;
    out->n_certs = n;
    return EA_OK;
}

static enum ea_error validate(const struct ea_exporters *x, struct slice req,
                              const struct ea_request *request, const uint8_t *auth,
                              size_t auth_len, bool require_cmw, struct ea_authenticator *out)
{
    struct bytes_reader r, cert_body, cv_body, fin_body, list;
    struct slice cert_msg, cv_msg, fin_msg;
    uint8_t type = 0;
    const uint8_t *ctx, *sig, *verify_data;
    size_t ctx_len, sig_len;
    uint16_t alg = 0;
    enum ea_error e;

    /* 1. Certificate || CertificateVerify || Finished, nothing after (RFC 9261 5.2.4). */
    reader_init(&r, auth, auth_len);
    if (!read_message(&r, &type, &cert_msg, &cert_body))
        return EA_ERR_MALFORMED;
    if (type == EA_HS_FINISHED) /* RFC 9261 6: the empty authenticator carries no identity */
        return reader_done(&r) ? EA_ERR_EMPTY : EA_ERR_MALFORMED;
    if (type != EA_HS_CERTIFICATE || !read_message(&r, &type, &cv_msg, &cv_body) ||
        type != EA_HS_CERTIFICATE_VERIFY || !read_message(&r, &type, &fin_msg, &fin_body) ||
        type != EA_HS_FINISHED || !reader_done(&r))
        return EA_ERR_MALFORMED;
    /* CertificateVerify: SignatureScheme algorithm; opaque signature<0..2^16-1>. */
    if (!reader_u16(&cv_body, &alg) || !reader_vec(&cv_body, 2, &sig, &sig_len) ||
        !reader_done(&cv_body) || sig_len == 0)
        return EA_ERR_MALFORMED;
    /* Finished: opaque verify_data[Hash.length]. */
    if (!reader_bytes(&fin_body, x->hash_len, &verify_data) || !reader_done(&fin_body))
        return EA_ERR_MALFORMED;
    /* Certificate: certificate_request_context<0..2^8-1>; CertificateEntry list<0..2^24-1>. */
    if (!reader_vec(&cert_body, 1, &ctx, &ctx_len) || !reader_sub(&cert_body, 3, &list) ||
        !reader_done(&cert_body))
        return EA_ERR_MALFORMED;

    /* 2. RFC 9261 5.2.1: the context echoes the request's (public value, memcmp is fine). */
    if (ctx_len != request->context_len ||
        (ctx_len > 0 && memcmp(ctx, request->context, ctx_len) != 0))
        return EA_ERR_CONTEXT_MISMATCH;

    /* 3. Entries and their extensions. */
    e = check_entries(&list, request, out);
    if (e != EA_OK)
        return e;
    if (require_cmw && !out->cmw)
        return EA_ERR_CMW_MISSING;

    /* 4. The leaf is a DER certificate with a usable public key. */
    const uint8_t *spki_der = NULL;
    size_t spki_len = 0;
    EVP_PKEY *pub = leaf_key(out->cert_der, out->cert_len, &spki_der, &spki_len);
    if (!pub)
        return EA_ERR_CERTIFICATE;
    out->spki = malloc(spki_len);
    if (!out->spki) {
        EVP_PKEY_free(pub);
        return EA_ERR_INTERNAL;
    }
    memcpy(out->spki, spki_der, spki_len);
    out->spki_len = spki_len;

    /* 5. RFC 9261 5.2.2: the scheme was offered and fits the leaf key; then the signature. */
    e = EA_ERR_INTERNAL;
    struct bytes_writer tbs;
    writer_init(&tbs, 0);
    if (!sigalg_offered(request, alg) || !sigalg_fits_key(alg, pub))
        e = EA_ERR_SIGALG;
    else if (certificate_verify_input(x, req, cert_msg, &tbs) != 0)
        e = EA_ERR_INTERNAL;
    else if (!verify_certificate_verify(pub, alg, &tbs, sig, sig_len))
        e = EA_ERR_SIGNATURE;
    else
        e = EA_OK;
    writer_free(&tbs);
    EVP_PKEY_free(pub);
    if (e != EA_OK)
        return e;
    out->sigalg = alg;

    /* 6. RFC 9261 5.2.3: Finished, compared in constant time. */
    uint8_t mac[MAX_HASH_LEN];
    if (finished_mac(x, req, cert_msg, cv_msg, mac) != 0)
        e = EA_ERR_INTERNAL;
    else if (!ct_equal(mac, verify_data, x->hash_len))
        e = EA_ERR_FINISHED;
    OPENSSL_cleanse(mac, sizeof mac);
    return e;
}

int ea_authenticator_validate(const struct ea_exporters *x, const uint8_t *request_msg,
                              size_t request_len, const struct ea_request *request,
                              const uint8_t *auth, size_t auth_len, bool require_cmw,
                              struct ea_authenticator *out, enum ea_error *err)
{
    enum ea_error dummy, e;
    if (!err)
        err = &dummy;
    if (!out) {
        *err = EA_ERR_INTERNAL;
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (!exporters_ok(x) || !request_ok(request) || !request_msg || request_len == 0 ||
        (!auth && auth_len > 0)) {
        *err = EA_ERR_INTERNAL;
        return -1;
    }
    /* Failures caused by the peer must not leave entries on OpenSSL's error queue, where a
     * later SSL_get_error() would find them. */
    ERR_set_mark();
    struct slice req = {request_msg, request_len};
    e = validate(x, req, request, auth, auth_len, require_cmw, out);
    ERR_pop_to_mark();
    if (e != EA_OK)
        ea_authenticator_clear(out);
    *err = e;
    return e == EA_OK ? 0 : -1;
}

void ea_authenticator_clear(struct ea_authenticator *a)
{
    if (!a)
        return;
    free(a->spki);
    memset(a, 0, sizeof *a);
}
