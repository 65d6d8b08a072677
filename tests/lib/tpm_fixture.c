/*
 * tpm_fixture.c - synthetic TPM 2.0 structures and TTPM evidence for the tests (tpm_fixture.h).
 * Layouts: TPM 2.0 Library Part 2 (TPMS_ATTEST 10.12.12, TPMT_SIGNATURE 11.3.4, TPMT_PUBLIC
 * 12.2.4), big-endian; the container: src/evidence/tpm/tpm_evidence.h. Test code only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tpm_fixture.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "util/util.h"

/* ---- one structure at a time ---------------------------------------------------------------- */

uint8_t *tpm_fixture_take(struct bytes_writer *w, size_t *len)
{
    assert_false(w->failed);
    uint8_t *p = writer_take(w, len);
    assert_non_null(p);
    return p;
}

void tpm_fixture_default_attest(struct tpm_fixture_attest *s)
{
    memset(s, 0, sizeof *s);
    s->magic = TPM_GENERATED_VALUE;
    s->type = TPM_ST_ATTEST_QUOTE;
    s->signer_len = 34;
    s->extra_len = 64;
    s->safe = 1;
    s->count = 1;
    s->bank[0].alg = TPM_ALG_SHA256;
    s->bank[0].size = 3;
    s->bank[0].sel[0] = 0xff; /* PCRs 0..7 */
    s->digest_len = 32;
}

void tpm_fixture_fill(struct bytes_writer *w, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        writer_u8(w, v);
}

uint8_t *tpm_fixture_build_attest(const struct tpm_fixture_attest *s, size_t *len)
{
    struct bytes_writer w;
    writer_init(&w, 4096);
    writer_u32(&w, s->magic);
    writer_u16(&w, s->type);
    writer_u16(&w, (uint16_t)s->signer_len);
    if (s->signer_len >= 2) {
        writer_u16(&w, TPM_ALG_SHA256);
        tpm_fixture_fill(&w, s->signer_len - 2, 0x11);
    } else {
        tpm_fixture_fill(&w, s->signer_len, 0x11);
    }
    writer_u16(&w, (uint16_t)s->extra_len);
    if (s->extra)
        writer_bytes(&w, s->extra, s->extra_len);
    else
        tpm_fixture_fill(&w, s->extra_len, 0xa5);
    writer_u64(&w, 0x0102030405060708ull); /* clock */
    writer_u32(&w, 7);                     /* resetCount */
    writer_u32(&w, 9);                     /* restartCount */
    writer_u8(&w, s->safe);
    writer_u64(&w, 0x2019102300163636ull); /* firmwareVersion */
    writer_u32(&w, s->count);
    for (uint32_t i = 0; i < s->count && i < 6; i++) {
        writer_u16(&w, s->bank[i].alg);
        writer_u8(&w, s->bank[i].size);
        for (uint8_t k = 0; k < s->bank[i].size; k++)
            writer_u8(&w, k < 4 ? s->bank[i].sel[k] : 0);
    }
    writer_u16(&w, (uint16_t)s->digest_len);
    if (s->digest)
        writer_bytes(&w, s->digest, s->digest_len);
    else
        tpm_fixture_fill(&w, s->digest_len, 0x5a);
    if (s->trailing)
        writer_u8(&w, 0);
    return tpm_fixture_take(&w, len);
}

void tpm_fixture_attest_pcrs(struct tpm_fixture_attest *s, const struct tpm_pcr_bank *banks,
                             size_t n_banks, uint16_t hash_alg, uint8_t digest[TPM_MAX_DIGEST])
{
    assert_true(n_banks <= 6);
    struct tpm_pcr_selection sel;
    memset(&sel, 0, sizeof sel);
    sel.n_banks = n_banks;
    s->count = (uint32_t)n_banks;
    for (size_t i = 0; i < n_banks; i++) {
        sel.bank[i].hash_alg = banks[i].hash_alg;
        sel.bank[i].mask = banks[i].present;
        s->bank[i].alg = banks[i].hash_alg;
        s->bank[i].size = 3;
        for (unsigned k = 0; k < 3; k++)
            s->bank[i].sel[k] = (uint8_t)(banks[i].present >> (8 * k));
    }
    size_t digest_len = 0;
    assert_int_equal(tpm_pcr_digest(&sel, banks, n_banks, hash_alg, digest, &digest_len), 0);
    s->digest = digest;
    s->digest_len = digest_len;
}

uint8_t *tpm_fixture_build_public(const struct tpm_fixture_public *s, size_t *len)
{
    struct bytes_writer w;
    writer_init(&w, 4096);
    writer_u16(&w, s->type);
    writer_u16(&w, s->name_alg);
    writer_u32(&w, s->attrs);
    writer_u16(&w, (uint16_t)s->policy_len);
    tpm_fixture_fill(&w, s->policy_len, 0x33);
    writer_u16(&w, s->sym);
    if (s->sym != TPM_ALG_NULL) {
        writer_u16(&w, 128);    /* keyBits */
        writer_u16(&w, 0x0043); /* TPM_ALG_CFB */
    }
    writer_u16(&w, s->scheme);
    if (s->scheme != TPM_ALG_NULL)
        writer_u16(&w, s->scheme_hash);
    if (s->type == TPM_ALG_RSA) {
        writer_u16(&w, s->bits);
        writer_u32(&w, s->exp);
        writer_u16(&w, (uint16_t)s->u1_len);
        writer_bytes(&w, s->u1, s->u1_len);
    } else {
        writer_u16(&w, s->curve);
        writer_u16(&w, s->kdf);
        if (s->kdf != TPM_ALG_NULL)
            writer_u16(&w, TPM_ALG_SHA256);
        writer_u16(&w, (uint16_t)s->u1_len);
        writer_bytes(&w, s->u1, s->u1_len);
        writer_u16(&w, (uint16_t)s->u2_len);
        writer_bytes(&w, s->u2, s->u2_len);
    }
    if (s->trailing)
        writer_u8(&w, 0);
    return tpm_fixture_take(&w, len);
}

static void bn_param(EVP_PKEY *k, const char *name, uint8_t *out, size_t n)
{
    BIGNUM *bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, out, (int)n), (int)n);
    BN_free(bn);
}

void tpm_fixture_ecc_public(EVP_PKEY *k, uint16_t curve, size_t coord, uint8_t *xy,
                            struct tpm_fixture_public *s)
{
    memset(s, 0, sizeof *s);
    bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, xy, coord);
    bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, xy + coord, coord);
    s->type = TPM_ALG_ECC;
    s->name_alg = TPM_ALG_SHA256;
    s->attrs = TPM_FIXTURE_AK_ATTRS;
    s->sym = TPM_ALG_NULL;
    s->scheme = TPM_ALG_ECDSA;
    s->scheme_hash = coord == 32 ? TPM_ALG_SHA256 : TPM_ALG_SHA384;
    s->curve = curve;
    s->kdf = TPM_ALG_NULL;
    s->u1 = xy;
    s->u1_len = coord;
    s->u2 = xy + coord;
    s->u2_len = coord;
}

void tpm_fixture_rsa_public(EVP_PKEY *k, uint8_t *n, size_t n_len, uint16_t scheme,
                            struct tpm_fixture_public *s)
{
    memset(s, 0, sizeof *s);
    bn_param(k, OSSL_PKEY_PARAM_RSA_N, n, n_len);
    s->type = TPM_ALG_RSA;
    s->name_alg = TPM_ALG_SHA256;
    s->attrs = TPM_FIXTURE_AK_ATTRS;
    s->sym = TPM_ALG_NULL;
    s->scheme = scheme;
    s->scheme_hash = TPM_ALG_SHA256;
    s->bits = (uint16_t)(n_len * 8);
    s->exp = 0;
    s->u1 = n;
    s->u1_len = n_len;
}

uint8_t *tpm_fixture_sign_raw(EVP_PKEY *k, enum tpm_fixture_sign mode, uint16_t hash_alg,
                              const uint8_t *msg, size_t msg_len, size_t *out_len)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    assert_int_equal(EVP_DigestSignInit(mctx, &pctx, tpm_hash_md(hash_alg), NULL, k), 1);
    if (mode == TPM_FIXTURE_PKCS1)
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), 1);
    if (mode == TPM_FIXTURE_PSS_DIGEST || mode == TPM_FIXTURE_PSS_MAX) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        int salt = mode == TPM_FIXTURE_PSS_MAX ? RSA_PSS_SALTLEN_MAX : RSA_PSS_SALTLEN_DIGEST;
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt), 1);
    }
    size_t slen = 0;
    assert_int_equal(EVP_DigestSign(mctx, NULL, &slen, msg, msg_len), 1);
    uint8_t *sig = malloc(slen);
    assert_non_null(sig);
    assert_int_equal(EVP_DigestSign(mctx, sig, &slen, msg, msg_len), 1);
    EVP_MD_CTX_free(mctx);
    *out_len = slen;
    return sig;
}

uint8_t *tpm_fixture_sign(EVP_PKEY *k, enum tpm_fixture_sign mode, uint16_t hash_alg,
                          size_t coord, const uint8_t *msg, size_t msg_len, size_t *out_len)
{
    if (mode == TPM_FIXTURE_AUTO)
        mode = EVP_PKEY_get_base_id(k) == EVP_PKEY_EC ? TPM_FIXTURE_ECDSA_PADDED
                                                      : TPM_FIXTURE_PKCS1;
    size_t slen = 0;
    uint8_t *sig = tpm_fixture_sign_raw(k, mode, hash_alg, msg, msg_len, &slen);
    struct bytes_writer w;
    writer_init(&w, 4096);
    if (mode == TPM_FIXTURE_ECDSA_PADDED || mode == TPM_FIXTURE_ECDSA_MINIMAL) {
        const uint8_t *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)slen);
        assert_non_null(es);
        const BIGNUM *r = ECDSA_SIG_get0_r(es), *s = ECDSA_SIG_get0_s(es);
        uint8_t rb[66], sb[66];
        int rn, sn;
        if (mode == TPM_FIXTURE_ECDSA_PADDED) {
            rn = BN_bn2binpad(r, rb, (int)coord);
            sn = BN_bn2binpad(s, sb, (int)coord);
        } else {
            rn = BN_bn2bin(r, rb);
            sn = BN_bn2bin(s, sb);
        }
        writer_u16(&w, TPM_ALG_ECDSA);
        writer_u16(&w, hash_alg);
        writer_u16(&w, (uint16_t)rn);
        writer_bytes(&w, rb, (size_t)rn);
        writer_u16(&w, (uint16_t)sn);
        writer_bytes(&w, sb, (size_t)sn);
        ECDSA_SIG_free(es);
    } else {
        writer_u16(&w, mode == TPM_FIXTURE_PKCS1 ? TPM_ALG_RSASSA : TPM_ALG_RSAPSS);
        writer_u16(&w, hash_alg);
        writer_u16(&w, (uint16_t)slen);
        writer_bytes(&w, sig, slen);
    }
    free(sig);
    return tpm_fixture_take(&w, out_len);
}

/* ---- a whole TTPM blob ---------------------------------------------------------------------- */

void tpm_fixture_spec_init(struct tpm_fixture_spec *s, EVP_PKEY *key)
{
    memset(s, 0, sizeof *s);
    s->key = key;
}

void tpm_fixture_set_pcr(struct tpm_fixture_spec *s, uint16_t alg, unsigned idx,
                         const uint8_t *value)
{
    size_t hs = tpm_hash_size(alg);
    assert_int_not_equal(hs, 0);
    assert_true(idx < TPM_PCRS);
    struct tpm_pcr_bank *b = NULL;
    for (size_t i = 0; i < s->n_banks; i++)
        if (s->banks[i].hash_alg == alg)
            b = &s->banks[i];
    if (!b) {
        assert_true(s->n_banks < TPM_MAX_BANKS);
        b = &s->banks[s->n_banks++];
        memset(b, 0, sizeof *b);
        b->hash_alg = alg;
    }
    if (value)
        memcpy(b->value[idx], value, hs);
    else
        memset(b->value[idx], 0x40 + (int)idx, hs);
    b->present |= 1u << idx;
}

uint8_t *tpm_fixture_evidence(const struct tpm_fixture_spec *s, size_t *len)
{
    assert_non_null(s);
    assert_non_null(s->key);
    assert_true(s->n_banks <= TPM_MAX_BANKS && s->n_certs <= TPM_EVIDENCE_MAX_CERTS);

    /* The AK's TPMT_PUBLIC, and how it signs. */
    uint8_t kbuf[512];
    size_t coord = 0;
    struct tpm_fixture_public ps;
    uint16_t hash = s->hash_alg;
    enum tpm_fixture_sign mode = s->mode;
    if (EVP_PKEY_get_base_id(s->key) == EVP_PKEY_EC) {
        int bits = EVP_PKEY_get_bits(s->key);
        assert_true(bits == 256 || bits == 384);
        coord = (size_t)bits / 8;
        tpm_fixture_ecc_public(s->key, bits == 256 ? TPM_ECC_NIST_P256 : TPM_ECC_NIST_P384,
                               coord, kbuf, &ps);
        if (!hash)
            hash = bits == 384 ? TPM_ALG_SHA384 : TPM_ALG_SHA256;
        if (mode == TPM_FIXTURE_AUTO)
            mode = TPM_FIXTURE_ECDSA_PADDED;
    } else {
        assert_int_equal(EVP_PKEY_get_base_id(s->key), EVP_PKEY_RSA);
        size_t n_len = (size_t)EVP_PKEY_get_size(s->key);
        assert_true(n_len <= sizeof kbuf);
        uint16_t scheme = s->rsa_scheme ? s->rsa_scheme : TPM_ALG_RSASSA;
        tpm_fixture_rsa_public(s->key, kbuf, n_len, scheme, &ps);
        if (!hash)
            hash = TPM_ALG_SHA256;
        if (mode == TPM_FIXTURE_AUTO)
            mode = scheme == TPM_ALG_RSAPSS ? TPM_FIXTURE_PSS_DIGEST : TPM_FIXTURE_PKCS1;
    }
    if (s->attrs)
        ps.attrs = s->attrs;
    size_t pub_len = 0;
    uint8_t *pub = tpm_fixture_build_public(&ps, &pub_len);

    /* The quote: the selection is the banks' masks, pcrDigest their values. */
    uint8_t digest[TPM_MAX_DIGEST];
    struct tpm_fixture_attest as;
    tpm_fixture_default_attest(&as);
    as.extra = s->extra;
    as.extra_len = s->extra ? s->extra_len : (s->extra_len ? s->extra_len : 64);
    tpm_fixture_attest_pcrs(&as, s->banks, s->n_banks, hash, digest);
    size_t att_len = 0;
    uint8_t *att = tpm_fixture_build_attest(&as, &att_len);
    size_t sig_len = 0;
    uint8_t *sig = tpm_fixture_sign(s->key, mode, hash, coord, att, att_len, &sig_len);
    if (s->corrupt & TPM_FIXTURE_FLIP_ATTEST) {
        /* magic, type, qualifiedSigner, extraData, then the clock's last byte */
        size_t clock_off = 4 + 2 + 2 + as.signer_len + 2 + as.extra_len;
        assert_true(clock_off + 8 <= att_len);
        att[clock_off + 7] ^= 0x01;
    }
    if (s->corrupt & TPM_FIXTURE_FLIP_SIGNATURE)
        sig[sig_len - 1] ^= 0x01;

    /* The container. */
    struct tpm_evidence *ev = calloc(1, sizeof *ev);
    assert_non_null(ev);
    ev->ak_public = pub;
    ev->ak_public_len = pub_len;
    ev->attest = att;
    ev->attest_len = att_len;
    ev->signature = sig;
    ev->signature_len = sig_len;
    const struct tpm_pcr_bank *values = s->supplied ? s->supplied : s->banks;
    size_t n_values = s->supplied ? s->n_supplied : s->n_banks;
    assert_true(n_values <= TPM_MAX_BANKS);
    for (size_t i = 0; i < n_values; i++)
        ev->banks[i] = values[i];
    ev->n_banks = n_values;
    for (size_t i = 0; i < s->n_certs; i++) {
        ev->certs[i] = s->certs[i];
        ev->cert_lens[i] = s->cert_lens[i];
    }
    ev->n_certs = s->n_certs;
    struct bytes_writer w;
    writer_init(&w, TPM_EVIDENCE_MAX);
    assert_int_equal(tpm_evidence_encode(ev, &w), 0);
    uint8_t *out = tpm_fixture_take(&w, len);
    free(ev);
    free(pub);
    free(att);
    free(sig);
    return out;
}

/* ---- keys and certificates ------------------------------------------------------------------ */

EVP_PKEY *tpm_fixture_key(const char *kind)
{
    EVP_PKEY *k = NULL;
    if (strncmp(kind, "RSA-", 4) == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)strtoul(kind + 4, NULL, 10));
    else
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
    assert_non_null(k);
    return k;
}

void tpm_fixture_spki_sha256(EVP_PKEY *k, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    assert_true(n > 0);
    assert_int_equal(EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL), 1);
    OPENSSL_free(der);
}

char *tpm_fixture_spki_sha256_hex(EVP_PKEY *k)
{
    uint8_t h[32];
    tpm_fixture_spki_sha256(k, h);
    char *hex = hex_dup(h, sizeof h);
    assert_non_null(hex);
    return hex;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

X509 *tpm_fixture_cert(EVP_PKEY *subject_key, const char *cn, EVP_PKEY *issuer_key,
                       X509 *issuer, bool ca, time_t not_before, time_t not_after)
{
    static long serial = 1000;
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial), 1);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), not_before));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), not_after));
    X509_NAME *name = X509_get_subject_name(x);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *)cn, -1, -1, 0),
                     1);
    assert_int_equal(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name), 1);
    assert_int_equal(X509_set_pubkey(x, subject_key), 1);
    X509 *iss = issuer ? issuer : x;
    add_ext(x, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, iss, NID_key_usage,
            ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_ext(x, iss, NID_subject_key_identifier, "hash");
    if (issuer)
        add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    assert_true(X509_sign(x, issuer_key ? issuer_key : subject_key, EVP_sha256()) > 0);
    return x;
}

uint8_t *tpm_fixture_der(X509 *x, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    assert_true(n > 0);
    uint8_t *out = malloc((size_t)n);
    assert_non_null(out);
    memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    *len = (size_t)n;
    return out;
}

char *tpm_fixture_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_non_null(b);
    assert_int_equal(PEM_write_bio_X509(b, x), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    assert_true(n > 0);
    char *out = malloc((size_t)n + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    return out;
}
