/*
 * test_tpm.c - TPM 2.0 quote parsing and verification primitives (src/evidence/tpm/tpm.c) and
 * the "TTPM" evidence container (src/evidence/tpm/tpm_evidence.c).
 *
 * Real vectors from $TETHER_VECTORS/tpm (../shared/vectors by default; EXPECTED.txt "GCE vTPM"
 * and research evidence.md A3/B4 give the facts asserted here):
 *   - trustee-swtpm/tpm_evidence.json: a libtpms quote (TPMS_ATTEST + TPMT_SIGNATURE, base64),
 *     the AK as an SPKI, and the 24 SHA-256 PCR values;
 *   - go-tpm-tools/gce-cos-85-{no-nonce,nonce9009}.pb: GCE Shielded-VM attest.Attestation
 *     protobufs (ak_pub TPMT_PUBLIC, three quotes over the SHA-1/SHA-256/SHA-384 banks, the AK
 *     certificate), read with the tiny test-local protobuf walker below; cos85_ak_cert.der.
 * Synthetic structures (negative cases, ECC and RSA-PSS keys) are built with OpenSSL by the
 * shared builders of tests/lib/tpm_fixture.c.
 * Cases needing the vectors skip with a note when they are absent. Must never depend on the
 * network or write files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "evidence/tpm/tpm.h"
#include "evidence/tpm/tpm_evidence.h"
#include "lib/tpm_fixture.h"
#include "util/bytes.h"
#include "util/util.h"

/* ---- vectors ----------------------------------------------------------------------------- */

static uint8_t *vector(const char *rel, size_t *len)
{
    const char *v = getenv("TETHER_VECTORS");
    char path[1200];
    uint8_t *data = NULL;
    snprintf(path, sizeof path, "%s/%s", v ? v : "../shared/vectors", rel);
    if (file_read(path, 1u << 20, &data, len) != 0) {
        fprintf(stderr, "# skip: TPM vector %s not found (set TETHER_VECTORS)\n", path);
        return NULL;
    }
    return data;
}

/* The trustee software-TPM quote. */
struct swtpm {
    uint8_t *attest, *sig, *spki;
    size_t attest_len, sig_len, spki_len;
    struct tpm_pcr_bank bank; /* SHA-256, PCRs 0..23 */
};

static uint8_t *b64(json_t *root, const char *k1, const char *k2, size_t *len)
{
    json_t *o = json_object_get(root, k1);
    if (k2)
        o = json_object_get(o, k2);
    const char *s = json_string_value(o);
    assert_non_null(s);
    uint8_t *out = NULL;
    assert_int_equal(base64_decode(s, strlen(s), &out, len), 0);
    return out;
}

static bool swtpm_load(struct swtpm *t)
{
    memset(t, 0, sizeof *t);
    size_t len = 0;
    uint8_t *json = vector("tpm/trustee-swtpm/tpm_evidence.json", &len);
    if (!json)
        return false;
    json_error_t err;
    json_t *root = json_loadb((const char *)json, len, 0, &err);
    assert_non_null(root);
    t->attest = b64(root, "tpm_quote", "message", &t->attest_len);
    t->sig = b64(root, "tpm_quote", "signature", &t->sig_len);
    t->spki = b64(root, "ak_public", NULL, &t->spki_len);
    json_t *pcrs = json_object_get(json_object_get(root, "tpm_quote"), "pcrs");
    assert_int_equal(json_array_size(pcrs), 24);
    t->bank.hash_alg = TPM_ALG_SHA256;
    for (size_t i = 0; i < 24; i++) {
        size_t n = 0;
        assert_int_equal(hex_decode(json_string_value(json_array_get(pcrs, i)), t->bank.value[i],
                                    TPM_MAX_DIGEST, &n),
                         0);
        assert_int_equal(n, 32);
        t->bank.present |= 1u << i;
    }
    json_decref(root);
    free(json);
    return true;
}

static void swtpm_free(struct swtpm *t)
{
    free(t->attest);
    free(t->sig);
    free(t->spki);
}

/* Test-local protobuf walker (wire format only: varint, 64-bit, length-delimited, 32-bit). */
struct pb {
    const uint8_t *p;
    size_t n, pos;
};

static bool pb_varint(struct pb *b, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && b->pos < b->n; shift += 7) {
        uint8_t c = b->p[b->pos++];
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* Next field: number, and either a varint (*val) or a byte string (*data, *len). */
static bool pb_next(struct pb *b, uint32_t *field, uint64_t *val, const uint8_t **data,
                    size_t *len)
{
    uint64_t key = 0;
    if (b->pos >= b->n || !pb_varint(b, &key))
        return false;
    *field = (uint32_t)(key >> 3);
    *data = NULL;
    *len = 0;
    switch (key & 7) {
    case 0:
        return pb_varint(b, val);
    case 1:
    case 5: {
        size_t w = (key & 7) == 1 ? 8 : 4;
        if (b->n - b->pos < w)
            return false;
        b->pos += w;
        return true;
    }
    case 2: {
        uint64_t l = 0;
        if (!pb_varint(b, &l) || l > b->n - b->pos)
            return false;
        *data = b->p + b->pos;
        *len = (size_t)l;
        b->pos += (size_t)l;
        return true;
    }
    default:
        return false;
    }
}

struct gce_quote {
    const uint8_t *attest, *sig;
    size_t attest_len, sig_len;
    struct tpm_pcr_bank bank;
};

struct gce {
    uint8_t *file;
    const uint8_t *ak_pub, *ak_cert;
    size_t ak_pub_len, ak_cert_len;
    struct gce_quote q[3];
    size_t n_quotes;
};

/* PCRs {1: hash, 2: map<uint32, bytes> pcrs}. */
static void gce_pcrs(const uint8_t *p, size_t n, struct tpm_pcr_bank *bank)
{
    struct pb b = {p, n, 0};
    uint32_t f;
    uint64_t v = 0;
    const uint8_t *d;
    size_t l;
    memset(bank, 0, sizeof *bank);
    while (pb_next(&b, &f, &v, &d, &l)) {
        if (f == 1 && !d) {
            bank->hash_alg = (uint16_t)v; /* the proto's HashAlgo enum uses the TPM_ALG ids */
        } else if (f == 2 && d) {
            struct pb e = {d, l, 0};
            uint32_t ef;
            uint64_t idx = 99;
            const uint8_t *val = NULL, *ed;
            size_t vlen = 0, el;
            uint64_t ev;
            while (pb_next(&e, &ef, &ev, &ed, &el)) {
                if (ef == 1 && !ed)
                    idx = ev;
                else if (ef == 2 && ed) {
                    val = ed;
                    vlen = el;
                }
            }
            assert_true(idx < TPM_PCRS);
            assert_non_null(val);
            assert_true(vlen <= TPM_MAX_DIGEST);
            memcpy(bank->value[idx], val, vlen);
            bank->present |= 1u << idx;
        }
    }
    assert_int_equal(b.pos, b.n);
}

static bool gce_load(const char *rel, struct gce *g)
{
    memset(g, 0, sizeof *g);
    size_t len = 0;
    g->file = vector(rel, &len);
    if (!g->file)
        return false;
    struct pb b = {g->file, len, 0};
    uint32_t f;
    uint64_t v;
    const uint8_t *d;
    size_t l;
    while (pb_next(&b, &f, &v, &d, &l)) {
        if (f == 1 && d) {
            g->ak_pub = d;
            g->ak_pub_len = l;
        } else if (f == 6 && d) {
            g->ak_cert = d;
            g->ak_cert_len = l;
        } else if (f == 2 && d) {
            assert_true(g->n_quotes < 3);
            struct gce_quote *q = &g->q[g->n_quotes++];
            struct pb qb = {d, l, 0};
            uint32_t qf;
            uint64_t qv;
            const uint8_t *qd;
            size_t ql;
            while (pb_next(&qb, &qf, &qv, &qd, &ql)) {
                if (qf == 1 && qd) {
                    q->attest = qd;
                    q->attest_len = ql;
                } else if (qf == 2 && qd) {
                    q->sig = qd;
                    q->sig_len = ql;
                } else if (qf == 3 && qd) {
                    gce_pcrs(qd, ql, &q->bank);
                }
            }
            assert_int_equal(qb.pos, qb.n);
        }
    }
    assert_int_equal(b.pos, b.n);
    assert_non_null(g->ak_pub);
    assert_non_null(g->ak_cert);
    return true;
}

/* ---- builders ---------------------------------------------------------------------------- */

static int parse_attest_spec(const struct tpm_fixture_attest *s, struct tpm_quote *q,
                             const char **why)
{
    size_t len = 0;
    uint8_t *a = tpm_fixture_build_attest(s, &len);
    int rc = tpm_quote_parse(a, len, q, why);
    free(a);
    return rc;
}

/* Every proper prefix is refused, and so is one extra byte. */
static void check_exact(const uint8_t *buf, size_t len, int (*parse)(const uint8_t *, size_t))
{
    assert_int_equal(parse(buf, len), 0);
    for (size_t i = 0; i < len; i++)
        if (parse(buf, i) == 0)
            fail_msg("prefix of %zu of %zu bytes accepted", i, len);
    uint8_t *more = malloc(len + 1);
    assert_non_null(more);
    memcpy(more, buf, len);
    more[len] = 0;
    assert_int_not_equal(parse(more, len + 1), 0);
    free(more);
}

static int quote_p(const uint8_t *b, size_t n)
{
    struct tpm_quote q;
    const char *why = NULL;
    int rc = tpm_quote_parse(n ? b : (const uint8_t *)"", n, &q, &why);
    if (rc != 0 && !why)
        fail_msg("no reason");
    return rc;
}

static int sig_p(const uint8_t *b, size_t n)
{
    struct tpm_signature s;
    const char *why = NULL;
    int rc = tpm_signature_parse(n ? b : (const uint8_t *)"", n, &s, &why);
    if (rc != 0 && !why)
        fail_msg("no reason");
    return rc;
}

static int pub_p(const uint8_t *b, size_t n)
{
    struct tpm_public p;
    EVP_PKEY *k = NULL;
    const char *why = NULL;
    int rc = tpm_public_parse(n ? b : (const uint8_t *)"", n, &p, &k, &why);
    if (rc != 0 && (!why || k))
        fail_msg("no reason or a key on failure");
    EVP_PKEY_free(k);
    return rc;
}

static int ev_p(const uint8_t *b, size_t n)
{
    struct tpm_evidence e;
    const char *why = NULL;
    int rc = tpm_evidence_parse(n ? b : (const uint8_t *)"", n, &e, &why);
    if (rc != 0 && !why)
        fail_msg("no reason");
    return rc;
}

/* ---- real quotes ------------------------------------------------------------------------- */

static void test_swtpm_quote_parses_and_verifies(void **state)
{
    (void)state;
    struct swtpm t;
    if (!swtpm_load(&t))
        skip();
    struct tpm_quote q;
    const char *why = NULL;
    if (tpm_quote_parse(t.attest, t.attest_len, &q, &why) != 0)
        fail_msg("swtpm quote: %s", why);
    assert_int_equal(t.attest_len, 177);
    assert_int_equal(q.qualified_signer_len, 34);
    assert_ptr_equal(q.qualified_signer, t.attest + 8);
    assert_int_equal(q.qualified_signer[0] << 8 | q.qualified_signer[1], TPM_ALG_SHA256);
    assert_int_equal(q.extra_data_len, 64);
    assert_memory_equal(q.extra_data, t.attest + 44, 64);
    assert_true(q.safe);
    assert_int_equal(q.firmware_version, 0x2019102300163636ull); /* EXPECTED.txt: fw */
    assert_int_equal(q.pcr_select.n_banks, 1);
    assert_int_equal(q.pcr_select.bank[0].hash_alg, TPM_ALG_SHA256);
    assert_int_equal(q.pcr_select.bank[0].mask, 0xffffff);
    assert_int_equal(q.pcr_digest_len, 32);

    struct tpm_signature s;
    if (tpm_signature_parse(t.sig, t.sig_len, &s, &why) != 0)
        fail_msg("swtpm signature: %s", why);
    assert_int_equal(s.sig_alg, TPM_ALG_RSASSA); /* EXPECTED.txt: hdr 0014000b0100 */
    assert_int_equal(s.hash_alg, TPM_ALG_SHA256);
    assert_int_equal(s.sig_len, 256);

    const uint8_t *p = t.spki;
    EVP_PKEY *ak = d2i_PUBKEY(NULL, &p, (long)t.spki_len);
    assert_non_null(ak);
    assert_int_equal(tpm_signature_verify(&s, ak, t.attest, t.attest_len), 0);

    /* The JSON's PCR values are the quoted ones. */
    uint8_t d[TPM_MAX_DIGEST];
    size_t dl = 0;
    assert_int_equal(tpm_pcr_digest(&q.pcr_select, &t.bank, 1, s.hash_alg, d, &dl), 0);
    assert_int_equal(dl, 32);
    assert_memory_equal(d, q.pcr_digest, 32);
    EVP_PKEY_free(ak);
    swtpm_free(&t);
}

static EVP_PKEY *cert_key(const char *rel, uint8_t **der, size_t *der_len)
{
    *der = vector(rel, der_len);
    if (!*der)
        return NULL;
    const uint8_t *p = *der;
    X509 *x = d2i_X509(NULL, &p, (long)*der_len);
    assert_non_null(x);
    EVP_PKEY *k = X509_get_pubkey(x);
    assert_non_null(k);
    X509_free(x);
    return k;
}

static void test_gce_quotes_parse_verify_and_match_pcrs(void **state)
{
    (void)state;
    static const char *files[] = {"tpm/go-tpm-tools/gce-cos-85-no-nonce.pb",
                                  "tpm/go-tpm-tools/gce-cos-85-nonce9009.pb"};
    static const uint16_t banks[] = {TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384};
    uint8_t *cert_der = NULL;
    size_t cert_len = 0;
    EVP_PKEY *cert_pub = cert_key("tpm/go-tpm-tools/cos85_ak_cert.der", &cert_der, &cert_len);
    if (!cert_pub)
        skip();
    int verified = 0;
    for (size_t f = 0; f < 2; f++) {
        struct gce g;
        if (!gce_load(files[f], &g))
            skip();
        assert_int_equal(g.n_quotes, 3);
        /* Field 6 is the certificate the vectors ship as cos85_ak_cert.der. */
        assert_int_equal(g.ak_cert_len, cert_len);
        assert_memory_equal(g.ak_cert, cert_der, cert_len);

        struct tpm_public pub;
        EVP_PKEY *ak = NULL;
        const char *why = NULL;
        if (tpm_public_parse(g.ak_pub, g.ak_pub_len, &pub, &ak, &why) != 0)
            fail_msg("%s ak_pub: %s", files[f], why);
        assert_int_equal(pub.type, TPM_ALG_RSA);
        assert_int_equal(pub.name_alg, TPM_ALG_SHA256);
        assert_int_equal(pub.attributes, TPM_FIXTURE_AK_ATTRS);
        assert_true(pub.restricted && pub.sign && pub.fixed_tpm && pub.sensitive_data_origin);
        assert_int_equal(EVP_PKEY_get_base_id(ak), EVP_PKEY_RSA);
        assert_int_equal(EVP_PKEY_get_bits(ak), 2048);
        assert_int_equal(EVP_PKEY_eq(ak, cert_pub), 1);
        uint8_t h[32];
        unsigned hl = 0;
        assert_int_equal(EVP_Digest(g.ak_pub, g.ak_pub_len, h, &hl, EVP_sha256(), NULL), 1);
        assert_int_equal(pub.name_len, 34);
        assert_int_equal(pub.name[0], 0x00);
        assert_int_equal(pub.name[1], 0x0b);
        assert_memory_equal(pub.name + 2, h, 32);

        for (size_t i = 0; i < 3; i++) {
            const struct gce_quote *gq = &g.q[i];
            struct tpm_quote q;
            struct tpm_signature s;
            if (tpm_quote_parse(gq->attest, gq->attest_len, &q, &why) != 0)
                fail_msg("%s quote %zu: %s", files[f], i, why);
            if (tpm_signature_parse(gq->sig, gq->sig_len, &s, &why) != 0)
                fail_msg("%s signature %zu: %s", files[f], i, why);
            assert_int_equal(s.sig_alg, TPM_ALG_RSASSA);
            assert_int_equal(s.hash_alg, TPM_ALG_SHA256);
            assert_int_equal(tpm_signature_verify(&s, ak, gq->attest, gq->attest_len), 0);
            verified++;
            /* One bank per quote, all 24 PCRs; the proto's hash enum is the TPM_ALG id. */
            assert_int_equal(q.pcr_select.n_banks, 1);
            assert_int_equal(q.pcr_select.bank[0].hash_alg, banks[i]);
            assert_int_equal(q.pcr_select.bank[0].mask, 0xffffff);
            assert_int_equal(gq->bank.hash_alg, banks[i]);
            assert_int_equal(gq->bank.present, 0xffffff);
            uint8_t d[TPM_MAX_DIGEST];
            size_t dl = 0;
            assert_int_equal(tpm_pcr_digest(&q.pcr_select, &gq->bank, 1, s.hash_alg, d, &dl), 0);
            assert_int_equal(dl, q.pcr_digest_len);
            assert_memory_equal(d, q.pcr_digest, dl);
            /* extraData: the nonce 0x9009, or nothing. */
            if (f == 1) {
                assert_int_equal(q.extra_data_len, 2);
                assert_int_equal(q.extra_data[0], 0x90);
                assert_int_equal(q.extra_data[1], 0x09);
            } else {
                assert_int_equal(q.extra_data_len, 0);
            }
            assert_int_equal(q.qualified_signer_len, 34);
            /* Another bank's values do not produce this digest. */
            struct tpm_pcr_bank wrong = gq->bank;
            wrong.value[3][0] ^= 1;
            assert_int_equal(tpm_pcr_digest(&q.pcr_select, &wrong, 1, s.hash_alg, d, &dl), 0);
            assert_memory_not_equal(d, q.pcr_digest, q.pcr_digest_len);
        }
        /* The AK and a quote in a TTPM container: round trip. */
        struct tpm_evidence ev;
        memset(&ev, 0, sizeof ev);
        ev.ak_public = g.ak_pub;
        ev.ak_public_len = g.ak_pub_len;
        ev.attest = g.q[1].attest;
        ev.attest_len = g.q[1].attest_len;
        ev.signature = g.q[1].sig;
        ev.signature_len = g.q[1].sig_len;
        ev.banks[0] = g.q[1].bank;
        ev.n_banks = 1;
        ev.certs[0] = g.ak_cert;
        ev.cert_lens[0] = g.ak_cert_len;
        ev.n_certs = 1;
        struct bytes_writer w;
        writer_init(&w, TPM_EVIDENCE_MAX);
        assert_int_equal(tpm_evidence_encode(&ev, &w), 0);
        size_t el = 0;
        uint8_t *enc = tpm_fixture_take(&w, &el);
        struct tpm_evidence back;
        assert_int_equal(tpm_evidence_parse(enc, el, &back, &why), 0);
        assert_int_equal(back.ak_public_len, g.ak_pub_len);
        assert_memory_equal(back.ak_public, g.ak_pub, g.ak_pub_len);
        assert_int_equal(back.n_banks, 1);
        assert_int_equal(back.banks[0].present, 0xffffff);
        assert_memory_equal(back.banks[0].value, g.q[1].bank.value, sizeof back.banks[0].value);
        assert_int_equal(back.n_certs, 1);
        assert_int_equal(back.cert_lens[0], g.ak_cert_len);
        free(enc);
        EVP_PKEY_free(ak);
        free(g.file);
    }
    assert_int_equal(verified, 6);
    EVP_PKEY_free(cert_pub);
    free(cert_der);
}

/* ---- negatives on the real vectors ------------------------------------------------------- */

static void test_truncations_and_trailing_bytes_refused(void **state)
{
    (void)state;
    struct swtpm t;
    if (!swtpm_load(&t))
        skip();
    check_exact(t.attest, t.attest_len, quote_p);
    check_exact(t.sig, t.sig_len, sig_p);
    swtpm_free(&t);

    struct gce g;
    if (!gce_load("tpm/go-tpm-tools/gce-cos-85-nonce9009.pb", &g))
        skip();
    check_exact(g.ak_pub, g.ak_pub_len, pub_p);
    for (size_t i = 0; i < g.n_quotes; i++) {
        check_exact(g.q[i].attest, g.q[i].attest_len, quote_p);
        check_exact(g.q[i].sig, g.q[i].sig_len, sig_p);
    }
    struct tpm_evidence ev;
    memset(&ev, 0, sizeof ev);
    ev.ak_public = g.ak_pub;
    ev.ak_public_len = g.ak_pub_len;
    ev.attest = g.q[2].attest;
    ev.attest_len = g.q[2].attest_len;
    ev.signature = g.q[2].sig;
    ev.signature_len = g.q[2].sig_len;
    ev.banks[0] = g.q[2].bank;
    ev.banks[1] = g.q[0].bank;
    ev.n_banks = 2;
    ev.certs[0] = g.ak_cert;
    ev.cert_lens[0] = g.ak_cert_len;
    ev.certs[1] = g.ak_cert;
    ev.cert_lens[1] = g.ak_cert_len;
    ev.n_certs = 2;
    struct bytes_writer w;
    writer_init(&w, TPM_EVIDENCE_MAX);
    assert_int_equal(tpm_evidence_encode(&ev, &w), 0);
    size_t el = 0;
    uint8_t *enc = tpm_fixture_take(&w, &el);
    check_exact(enc, el, ev_p);
    free(enc);
    free(g.file);
}

static void test_flipped_attest_byte_breaks_the_signature(void **state)
{
    (void)state;
    struct swtpm t;
    if (!swtpm_load(&t))
        skip();
    struct tpm_signature s;
    assert_int_equal(tpm_signature_parse(t.sig, t.sig_len, &s, NULL), 0);
    const uint8_t *p = t.spki;
    EVP_PKEY *ak = d2i_PUBKEY(NULL, &p, (long)t.spki_len);
    assert_non_null(ak);
    for (size_t i = 0; i < t.attest_len; i++) {
        t.attest[i] ^= 0x01;
        if (tpm_signature_verify(&s, ak, t.attest, t.attest_len) == 0)
            fail_msg("flip at %zu still verifies", i);
        t.attest[i] ^= 0x01;
    }
    assert_int_equal(tpm_signature_verify(&s, ak, t.attest, t.attest_len), 0);
    /* A flipped signature byte, a shorter attest, a signature one byte short. */
    s.sig[100] ^= 0x80;
    assert_int_not_equal(tpm_signature_verify(&s, ak, t.attest, t.attest_len), 0);
    s.sig[100] ^= 0x80;
    assert_int_not_equal(tpm_signature_verify(&s, ak, t.attest, t.attest_len - 1), 0);
    struct tpm_signature shorter = s;
    memmove(shorter.sig, shorter.sig + 1, --shorter.sig_len);
    assert_int_not_equal(tpm_signature_verify(&shorter, ak, t.attest, t.attest_len), 0);
    /* The hash named by the signature is the one used. */
    struct tpm_signature other = s;
    other.hash_alg = TPM_ALG_SHA384;
    assert_int_not_equal(tpm_signature_verify(&other, ak, t.attest, t.attest_len), 0);
    other.hash_alg = TPM_ALG_NULL;
    assert_int_not_equal(tpm_signature_verify(&other, ak, t.attest, t.attest_len), 0);
    assert_int_not_equal(tpm_signature_verify(NULL, ak, t.attest, t.attest_len), 0);
    assert_int_not_equal(tpm_signature_verify(&s, NULL, t.attest, t.attest_len), 0);
    EVP_PKEY_free(ak);
    swtpm_free(&t);
}

static void test_wrong_key_type_refused(void **state)
{
    (void)state;
    struct swtpm t;
    if (!swtpm_load(&t))
        skip();
    struct tpm_signature s;
    assert_int_equal(tpm_signature_parse(t.sig, t.sig_len, &s, NULL), 0);
    const uint8_t *p = t.spki;
    EVP_PKEY *ak = d2i_PUBKEY(NULL, &p, (long)t.spki_len);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(ak);
    assert_non_null(ec);
    assert_non_null(rsa2);
    /* RSASSA signature: an EC key, another RSA key, or relabelled as RSAPSS or ECDSA. */
    assert_int_not_equal(tpm_signature_verify(&s, ec, t.attest, t.attest_len), 0);
    assert_int_not_equal(tpm_signature_verify(&s, rsa2, t.attest, t.attest_len), 0);
    struct tpm_signature pss = s;
    pss.sig_alg = TPM_ALG_RSAPSS;
    assert_int_not_equal(tpm_signature_verify(&pss, ak, t.attest, t.attest_len), 0);
    struct tpm_signature ecd = s;
    ecd.sig_alg = TPM_ALG_ECDSA;
    ecd.ecdsa_half = 128;
    assert_int_not_equal(tpm_signature_verify(&ecd, ak, t.attest, t.attest_len), 0);
    assert_int_not_equal(tpm_signature_verify(&ecd, ec, t.attest, t.attest_len), 0);

    /* A good ECDSA signature with an RSA key. */
    size_t sl = 0;
    uint8_t *tsig = tpm_fixture_sign(ec, TPM_FIXTURE_ECDSA_PADDED, TPM_ALG_SHA256, 32, t.attest,
                                     t.attest_len, &sl);
    struct tpm_signature es;
    assert_int_equal(tpm_signature_parse(tsig, sl, &es, NULL), 0);
    assert_int_equal(tpm_signature_verify(&es, ec, t.attest, t.attest_len), 0);
    assert_int_not_equal(tpm_signature_verify(&es, ak, t.attest, t.attest_len), 0);
    es.sig_alg = TPM_ALG_RSASSA;
    assert_int_not_equal(tpm_signature_verify(&es, ec, t.attest, t.attest_len), 0);
    free(tsig);
    EVP_PKEY_free(ak);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa2);
    swtpm_free(&t);
}

/* ---- field rules ------------------------------------------------------------------------- */

static void test_quote_field_rules(void **state)
{
    (void)state;
    struct tpm_fixture_attest s;
    struct tpm_quote q;
    const char *why = NULL;

    tpm_fixture_default_attest(&s);
    assert_int_equal(parse_attest_spec(&s, &q, &why), 0);
    assert_int_equal(q.pcr_select.bank[0].mask, 0xff);
    assert_int_equal(q.clock, 0x0102030405060708ull);
    assert_int_equal(q.reset_count, 7);
    assert_int_equal(q.restart_count, 9);

    /* sizeofSelect: 1 and 2 are fine, 0 and 4 refused. */
    tpm_fixture_default_attest(&s);
    s.bank[0].size = 1;
    s.bank[0].sel[0] = 0x81;
    assert_int_equal(parse_attest_spec(&s, &q, &why), 0);
    assert_int_equal(q.pcr_select.bank[0].mask, 0x81);
    s.bank[0].size = 2;
    s.bank[0].sel[1] = 0x80;
    assert_int_equal(parse_attest_spec(&s, &q, &why), 0);
    assert_int_equal(q.pcr_select.bank[0].mask, 0x8081); /* byte 1 bit 7 = PCR 15 */
    s.bank[0].size = 4;
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);
    assert_string_equal(why, "PCR sizeofSelect must be 1..3");
    s.bank[0].size = 0;
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);

    /* extraData: 64 accepted, 65 refused; 0 accepted. */
    tpm_fixture_default_attest(&s);
    s.extra_len = 65;
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);
    s.extra_len = 0;
    assert_int_equal(parse_attest_spec(&s, &q, &why), 0);
    assert_int_equal(q.extra_data_len, 0);

    /* qualifiedSigner <= 66, pcrDigest <= 64. */
    tpm_fixture_default_attest(&s);
    s.signer_len = 66;
    assert_int_equal(parse_attest_spec(&s, &q, &why), 0);
    s.signer_len = 67;
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);
    tpm_fixture_default_attest(&s);
    s.digest_len = 64;
    assert_int_equal(parse_attest_spec(&s, &q, &why), 0);
    s.digest_len = 65;
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);

    /* Header: magic, type (TPM_ST_ATTEST_CERTIFY 0x8017 is not a quote), safe. */
    tpm_fixture_default_attest(&s);
    s.magic = 0xff544348u;
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);
    tpm_fixture_default_attest(&s);
    s.type = 0x8017;
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);
    tpm_fixture_default_attest(&s);
    s.safe = 0;
    assert_int_equal(parse_attest_spec(&s, &q, &why), 0);
    assert_false(q.safe);
    s.safe = 2;
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);

    /* Banks: four distinct known ones fine; five, a repeat, an unknown hash refused. */
    tpm_fixture_default_attest(&s);
    static const uint16_t algs[] = {TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512,
                                    TPM_ALG_SHA256};
    s.count = 4;
    for (size_t i = 0; i < 5; i++) {
        s.bank[i].alg = algs[i];
        s.bank[i].size = 3;
        s.bank[i].sel[2] = 0x80; /* PCR 23 */
    }
    assert_int_equal(parse_attest_spec(&s, &q, &why), 0);
    assert_int_equal(q.pcr_select.n_banks, 4);
    assert_int_equal(q.pcr_select.bank[3].hash_alg, TPM_ALG_SHA512);
    assert_int_equal(q.pcr_select.bank[3].mask, 0x800000);
    s.count = 5;
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);
    s.count = 2;
    s.bank[1].alg = TPM_ALG_SHA1;
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);
    assert_string_equal(why, "PCR bank selected twice");
    s.bank[1].alg = 0x0012; /* TPM_ALG_SM3_256 */
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);
    /* No banks: a quote over no PCR (digest of nothing) parses. */
    s.count = 0;
    assert_int_equal(parse_attest_spec(&s, &q, &why), 0);
    assert_int_equal(q.pcr_select.n_banks, 0);

    tpm_fixture_default_attest(&s);
    s.trailing = true;
    assert_int_not_equal(parse_attest_spec(&s, &q, &why), 0);
    assert_string_equal(why, "trailing bytes after TPMS_ATTEST");

    assert_int_not_equal(tpm_quote_parse(NULL, 0, &q, &why), 0);
    uint8_t big[TPM_MAX_ATTEST + 1] = {0};
    assert_int_not_equal(tpm_quote_parse(big, sizeof big, &q, &why), 0);
}

static void test_signature_field_rules(void **state)
{
    (void)state;
    uint8_t buf[1200];
    struct tpm_signature s;
    const char *why = NULL;
    struct bytes_writer w;
    size_t len;
    uint8_t *p;

    /* RSA: 512 accepted, 513 and 0 refused; NULL / unknown algorithm / unknown hash refused. */
    memset(buf, 0x42, sizeof buf);
    const size_t rsizes[] = {512, 513, 0};
    for (size_t i = 0; i < 3; i++) {
        writer_init(&w, 4096);
        writer_u16(&w, TPM_ALG_RSAPSS);
        writer_u16(&w, TPM_ALG_SHA384);
        writer_u16(&w, (uint16_t)rsizes[i]);
        writer_bytes(&w, buf, rsizes[i]);
        p = tpm_fixture_take(&w, &len);
        assert_int_equal(tpm_signature_parse(p, len, &s, &why) == 0, i == 0);
        free(p);
    }
    assert_int_equal(s.sig_alg, TPM_ALG_RSAPSS);
    const uint16_t bad[][2] = {{TPM_ALG_NULL, TPM_ALG_SHA256}, {0x0017 /* TPM_ALG_ECDH */, TPM_ALG_SHA256},
                               {TPM_ALG_RSASSA, TPM_ALG_NULL}, {TPM_ALG_RSASSA, 0x0012}};
    for (size_t i = 0; i < 4; i++) {
        writer_init(&w, 4096);
        writer_u16(&w, bad[i][0]);
        writer_u16(&w, bad[i][1]);
        writer_u16(&w, 256);
        writer_bytes(&w, buf, 256);
        p = tpm_fixture_take(&w, &len);
        assert_int_not_equal(tpm_signature_parse(p, len, &s, &why), 0);
        free(p);
    }

    /* ECDSA: r and s of different lengths are left-padded to the longer; 66 ok, 67 refused. */
    const size_t ecs[][2] = {{31, 32}, {66, 66}, {67, 32}, {32, 67}, {0, 32}};
    for (size_t i = 0; i < 5; i++) {
        writer_init(&w, 4096);
        writer_u16(&w, TPM_ALG_ECDSA);
        writer_u16(&w, TPM_ALG_SHA256);
        writer_u16(&w, (uint16_t)ecs[i][0]);
        tpm_fixture_fill(&w, ecs[i][0], 0x11);
        writer_u16(&w, (uint16_t)ecs[i][1]);
        tpm_fixture_fill(&w, ecs[i][1], 0x22);
        p = tpm_fixture_take(&w, &len);
        int rc = tpm_signature_parse(p, len, &s, &why);
        free(p);
        if (i < 2) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_not_equal(rc, 0);
        }
        if (i == 0) {
            assert_int_equal(s.ecdsa_half, 32);
            assert_int_equal(s.sig_len, 64);
            assert_int_equal(s.sig[0], 0);
            assert_int_equal(s.sig[1], 0x11);
            assert_int_equal(s.sig[31], 0x11);
            assert_int_equal(s.sig[32], 0x22);
            assert_int_equal(s.sig[63], 0x22);
        }
    }
    assert_int_not_equal(tpm_signature_parse(NULL, 0, &s, &why), 0);
}

static void test_public_field_rules(void **state)
{
    (void)state;
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(ec);
    assert_non_null(rsa);
    uint8_t xy[64], n[256];
    struct tpm_fixture_public s;
    struct tpm_public pub;
    EVP_PKEY *k = NULL;
    const char *why = NULL;
    size_t len;
    uint8_t *p;

#define EXPECT_PUB(spec, ok)                                                                     \
    do {                                                                                         \
        p = tpm_fixture_build_public(&(spec), &len);                                     \
        int rc_ = tpm_public_parse(p, len, &pub, &k, &why);                                      \
        if ((rc_ == 0) != (ok))                                                                  \
            fail_msg("line %d: rc %d (%s)", __LINE__, rc_, why ? why : "-");                   \
        if (rc_ != 0)                                                                            \
            assert_null(k);                                                                      \
        EVP_PKEY_free(k);                                                                        \
        k = NULL;                                                                                \
        free(p);                                                                                 \
    } while (0)

    /* The good ones; the key is the generated one and the name is nameAlg || SHA-256. */
    tpm_fixture_ecc_public(ec, TPM_ECC_NIST_P256, 32, xy, &s);
    p = tpm_fixture_build_public(&s, &len);
    assert_int_equal(tpm_public_parse(p, len, &pub, &k, &why), 0);
    assert_int_equal(EVP_PKEY_eq(k, ec), 1);
    assert_int_equal(pub.type, TPM_ALG_ECC);
    assert_true(pub.restricted && pub.sign && pub.fixed_tpm && pub.sensitive_data_origin);
    uint8_t h[32];
    assert_int_equal(EVP_Digest(p, len, h, NULL, EVP_sha256(), NULL), 1);
    assert_int_equal(pub.name_len, 34);
    assert_memory_equal(pub.name + 2, h, 32);
    EVP_PKEY_free(k);
    k = NULL;
    check_exact(p, len, pub_p);
    free(p);
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_RSASSA, &s);
    p = tpm_fixture_build_public(&s, &len);
    assert_int_equal(tpm_public_parse(p, len, &pub, &k, &why), 0);
    assert_int_equal(EVP_PKEY_eq(k, rsa), 1);
    EVP_PKEY_free(k);
    k = NULL;
    free(p);

    /* Attributes are reported, not enforced. */
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_NULL, &s);
    s.attrs = 0x00030000; /* restricted decrypt: a storage key's attributes */
    p = tpm_fixture_build_public(&s, &len);
    assert_int_equal(tpm_public_parse(p, len, &pub, &k, &why), 0);
    assert_true(pub.restricted);
    assert_false(pub.sign || pub.fixed_tpm || pub.sensitive_data_origin);
    EVP_PKEY_free(k);
    k = NULL;
    free(p);

    /* RSA rules. */
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_RSAPSS, &s);
    EXPECT_PUB(s, true);
    s.sym = 0x0006; /* TPM_ALG_AES */
    EXPECT_PUB(s, false);
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_ECDSA, &s);
    EXPECT_PUB(s, false);
    tpm_fixture_rsa_public(rsa, n, sizeof n, 0x0015 /* TPM_ALG_RSAES */, &s);
    EXPECT_PUB(s, false);
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_RSASSA, &s);
    s.scheme_hash = TPM_ALG_NULL;
    EXPECT_PUB(s, false);
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_RSASSA, &s);
    s.bits = 1024;
    EXPECT_PUB(s, false);
    s.bits = 3072; /* the modulus is not 3072 bits */
    EXPECT_PUB(s, false);
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_RSASSA, &s);
    s.exp = 65537;
    EXPECT_PUB(s, true);
    s.exp = 3; /* the wrong exponent for this modulus still makes a valid RSA public key */
    EXPECT_PUB(s, true);
    s.exp = 1;
    EXPECT_PUB(s, false);
    s.exp = 65536;
    EXPECT_PUB(s, false);
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_RSASSA, &s);
    s.name_alg = TPM_ALG_NULL;
    EXPECT_PUB(s, false);
    s.name_alg = TPM_ALG_SHA1;
    EXPECT_PUB(s, true);
    assert_int_equal(pub.name_len, 22);
    s.policy_len = 64;
    EXPECT_PUB(s, true);
    s.policy_len = 65;
    EXPECT_PUB(s, false);
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_RSASSA, &s);
    n[255] ^= 1; /* an even modulus */
    EXPECT_PUB(s, false);
    n[255] ^= 1;
    n[0] = 0; /* shorter than keyBits */
    EXPECT_PUB(s, false);
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_RSASSA, &s);
    s.trailing = true;
    EXPECT_PUB(s, false);
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_RSASSA, &s);
    s.type = 0x0008; /* TPM_ALG_KEYEDHASH */
    EXPECT_PUB(s, false);

    /* ECC rules. */
    tpm_fixture_ecc_public(ec, TPM_ECC_NIST_P256, 32, xy, &s);
    s.scheme = TPM_ALG_NULL;
    EXPECT_PUB(s, true);
    s.scheme = TPM_ALG_RSASSA;
    EXPECT_PUB(s, false);
    tpm_fixture_ecc_public(ec, TPM_ECC_NIST_P256, 32, xy, &s);
    s.sym = 0x0006;
    EXPECT_PUB(s, false);
    tpm_fixture_ecc_public(ec, TPM_ECC_NIST_P256, 32, xy, &s);
    s.kdf = 0x0020; /* TPM_ALG_KDF1_SP800_56A */
    EXPECT_PUB(s, false);
    tpm_fixture_ecc_public(ec, TPM_ECC_NIST_P256, 32, xy, &s);
    s.curve = 0x0005; /* TPM_ECC_NIST_P521 */
    EXPECT_PUB(s, false);
    s.curve = TPM_ECC_NIST_P384; /* 32-byte coordinates on P-384 */
    EXPECT_PUB(s, false);
    tpm_fixture_ecc_public(ec, TPM_ECC_NIST_P256, 32, xy, &s);
    s.u1_len = 31;
    EXPECT_PUB(s, false);
    tpm_fixture_ecc_public(ec, TPM_ECC_NIST_P256, 32, xy, &s);
    xy[63] ^= 1; /* off the curve */
    EXPECT_PUB(s, false);
    memset(xy, 0, sizeof xy); /* (0, 0) */
    EXPECT_PUB(s, false);
#undef EXPECT_PUB
    assert_int_not_equal(tpm_public_parse(NULL, 0, &pub, &k, &why), 0);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
}

static void test_pcr_digest_rules(void **state)
{
    (void)state;
    struct tpm_pcr_selection sel;
    memset(&sel, 0, sizeof sel);
    sel.n_banks = 2;
    sel.bank[0].hash_alg = TPM_ALG_SHA256;
    sel.bank[0].mask = 0x000005; /* PCRs 0, 2 */
    sel.bank[1].hash_alg = TPM_ALG_SHA1;
    sel.bank[1].mask = 0x800000; /* PCR 23 */
    static struct tpm_pcr_bank b[3];
    memset(b, 0, sizeof b);
    b[0].hash_alg = TPM_ALG_SHA1; /* supplied in another order than selected */
    b[0].present = 0x800000;
    memset(b[0].value[23], 0x23, 20);
    b[1].hash_alg = TPM_ALG_SHA256;
    b[1].present = 0x000005;
    memset(b[1].value[0], 0x00, 32);
    memset(b[1].value[2], 0x02, 32);

    /* Expected: H(sha256 PCR0 || sha256 PCR2 || sha1 PCR23), banks in selection order. */
    uint8_t cat[32 + 32 + 20], want[48], got[TPM_MAX_DIGEST];
    memcpy(cat, b[1].value[0], 32);
    memcpy(cat + 32, b[1].value[2], 32);
    memcpy(cat + 64, b[0].value[23], 20);
    assert_int_equal(EVP_Digest(cat, sizeof cat, want, NULL, EVP_sha384(), NULL), 1);
    size_t gl = 0;
    assert_int_equal(tpm_pcr_digest(&sel, b, 2, TPM_ALG_SHA384, got, &gl), 0);
    assert_int_equal(gl, 48);
    assert_memory_equal(got, want, 48);

    /* A selected value missing, an unselected value supplied, a bank missing or supplied
     * twice, an unknown digest algorithm: refused. */
    b[1].present = 0x000001;
    assert_int_equal(tpm_pcr_digest(&sel, b, 2, TPM_ALG_SHA384, got, &gl), -1);
    b[1].present = 0x000007;
    assert_int_equal(tpm_pcr_digest(&sel, b, 2, TPM_ALG_SHA384, got, &gl), -1);
    b[1].present = 0x000005;
    assert_int_equal(tpm_pcr_digest(&sel, b, 1, TPM_ALG_SHA384, got, &gl), -1);
    b[2] = b[1];
    assert_int_equal(tpm_pcr_digest(&sel, b, 3, TPM_ALG_SHA384, got, &gl), -1);
    b[2].hash_alg = TPM_ALG_SHA512; /* a bank the quote does not select */
    b[2].present = 1;
    assert_int_equal(tpm_pcr_digest(&sel, b, 3, TPM_ALG_SHA384, got, &gl), -1);
    b[2].present = 0; /* ... with no values: harmless */
    assert_int_equal(tpm_pcr_digest(&sel, b, 3, TPM_ALG_SHA384, got, &gl), 0);
    assert_memory_equal(got, want, 48);
    assert_int_equal(tpm_pcr_digest(&sel, b, 2, TPM_ALG_NULL, got, &gl), -1);
    assert_int_equal(tpm_pcr_digest(&sel, b, 2, 0x0012, got, &gl), -1);
    /* A selection naming PCR 24 or an unknown bank. */
    sel.bank[1].mask = 0x1000000;
    assert_int_equal(tpm_pcr_digest(&sel, b, 2, TPM_ALG_SHA384, got, &gl), -1);
    sel.bank[1].mask = 0x800000;
    sel.bank[1].hash_alg = 0x0012;
    assert_int_equal(tpm_pcr_digest(&sel, b, 1, TPM_ALG_SHA384, got, &gl), -1);
    /* The empty selection: the digest of nothing. */
    sel.n_banks = 0;
    assert_int_equal(tpm_pcr_digest(&sel, NULL, 0, TPM_ALG_SHA256, got, &gl), 0);
    assert_int_equal(EVP_Digest("", 0, want, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(got, want, 32);
}

/* ---- synthetic end to end ---------------------------------------------------------------- */

/* An ECC AK (P-256 or P-384): TPMT_PUBLIC and TPMS_ATTEST built by hand, signed by OpenSSL,
 * wrapped in TTPM, then parsed and verified like a relying party would. */
static void ecc_round_trip(const char *curve_name, uint16_t curve, size_t coord, uint16_t hash,
                           enum tpm_fixture_sign mode)
{
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve_name);
    assert_non_null(ec);
    uint8_t xy[96];
    struct tpm_fixture_public ps;
    tpm_fixture_ecc_public(ec, curve, coord, xy, &ps);
    size_t pub_len = 0;
    uint8_t *pub = tpm_fixture_build_public(&ps, &pub_len);

    static struct tpm_pcr_bank bank;
    memset(&bank, 0, sizeof bank);
    bank.hash_alg = TPM_ALG_SHA256;
    bank.present = 0x0000ff;
    for (unsigned i = 0; i < 8; i++)
        memset(bank.value[i], (int)(0x10 + i), 32);
    struct tpm_pcr_selection sel = {.n_banks = 1};
    sel.bank[0].hash_alg = TPM_ALG_SHA256;
    sel.bank[0].mask = 0xff;
    uint8_t digest[TPM_MAX_DIGEST];
    size_t dl = 0;
    assert_int_equal(tpm_pcr_digest(&sel, &bank, 1, hash, digest, &dl), 0);

    uint8_t report_data[64];
    for (size_t i = 0; i < 64; i++)
        report_data[i] = (uint8_t)(i * 7);
    struct tpm_fixture_attest as;
    tpm_fixture_default_attest(&as);
    as.extra = report_data;
    as.digest = digest;
    as.digest_len = dl;
    size_t att_len = 0;
    uint8_t *att = tpm_fixture_build_attest(&as, &att_len);
    size_t sig_len = 0;
    uint8_t *sig = tpm_fixture_sign(ec, mode, hash, coord, att, att_len, &sig_len);

    uint8_t cert[] = {0x30, 0x03, 0x02, 0x01, 0x01}; /* framing only: any non-empty blob */
    struct tpm_evidence ev;
    memset(&ev, 0, sizeof ev);
    ev.ak_public = pub;
    ev.ak_public_len = pub_len;
    ev.attest = att;
    ev.attest_len = att_len;
    ev.signature = sig;
    ev.signature_len = sig_len;
    ev.banks[0] = bank;
    ev.n_banks = 1;
    ev.certs[0] = cert;
    ev.cert_lens[0] = sizeof cert;
    ev.n_certs = 1;
    struct bytes_writer w;
    writer_init(&w, TPM_EVIDENCE_MAX);
    assert_int_equal(tpm_evidence_encode(&ev, &w), 0);
    size_t el = 0;
    uint8_t *enc = tpm_fixture_take(&w, &el);
    assert_memory_equal(enc, "TTPM\x00\x01\x00\x00", 8);
    assert_int_equal(el, 8 + 2 + pub_len + 2 + att_len + 2 + sig_len + 1 + 6 + 8 * 32 + 2 + 2 +
                             sizeof cert);

    /* The relying party's side. */
    struct tpm_evidence e;
    const char *why = NULL;
    if (tpm_evidence_parse(enc, el, &e, &why) != 0)
        fail_msg("parse: %s", why);
    struct tpm_public tp;
    EVP_PKEY *ak = NULL;
    struct tpm_quote q;
    struct tpm_signature s;
    assert_int_equal(tpm_public_parse(e.ak_public, e.ak_public_len, &tp, &ak, &why), 0);
    assert_int_equal(tpm_quote_parse(e.attest, e.attest_len, &q, &why), 0);
    assert_int_equal(tpm_signature_parse(e.signature, e.signature_len, &s, &why), 0);
    assert_int_equal(s.sig_alg, TPM_ALG_ECDSA);
    assert_true(s.ecdsa_half <= coord);
    if (mode == TPM_FIXTURE_ECDSA_PADDED)
        assert_int_equal(s.ecdsa_half, coord);
    assert_int_equal(tpm_signature_verify(&s, ak, e.attest, e.attest_len), 0);
    assert_int_equal(q.extra_data_len, 64);
    assert_memory_equal(q.extra_data, report_data, 64);
    uint8_t d2[TPM_MAX_DIGEST];
    size_t d2l = 0;
    assert_int_equal(tpm_pcr_digest(&q.pcr_select, e.banks, e.n_banks, s.hash_alg, d2, &d2l), 0);
    assert_int_equal(d2l, q.pcr_digest_len);
    assert_memory_equal(d2, q.pcr_digest, d2l);
    assert_int_equal(e.n_certs, 1);
    assert_memory_equal(e.certs[0], cert, sizeof cert);

    /* Re-encoding gives the same bytes. */
    writer_init(&w, TPM_EVIDENCE_MAX);
    assert_int_equal(tpm_evidence_encode(&e, &w), 0);
    size_t el2 = 0;
    uint8_t *enc2 = tpm_fixture_take(&w, &el2);
    assert_int_equal(el2, el);
    assert_memory_equal(enc2, enc, el);

    /* Another key, a flipped attest byte (the PCR digest), a flipped s. */
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve_name);
    assert_int_not_equal(tpm_signature_verify(&s, other, e.attest, e.attest_len), 0);
    att[att_len - 1] ^= 1;
    assert_int_not_equal(tpm_signature_verify(&s, ak, att, att_len), 0);
    att[att_len - 1] ^= 1;
    s.sig[s.sig_len - 1] ^= 1;
    assert_int_not_equal(tpm_signature_verify(&s, ak, att, att_len), 0);

    EVP_PKEY_free(other);
    EVP_PKEY_free(ak);
    EVP_PKEY_free(ec);
    free(enc);
    free(enc2);
    free(sig);
    free(att);
    free(pub);
}

static void test_evidence_round_trip_with_an_ecc_ak(void **state)
{
    (void)state;
    ecc_round_trip("P-256", TPM_ECC_NIST_P256, 32, TPM_ALG_SHA256, TPM_FIXTURE_ECDSA_PADDED);
    ecc_round_trip("P-384", TPM_ECC_NIST_P384, 48, TPM_ALG_SHA384, TPM_FIXTURE_ECDSA_PADDED);
    /* r, s without their leading zero bytes (minimal TPM2Bs): some are shorter than the curve
     * size, and may differ from each other. */
    for (int i = 0; i < 8; i++)
        ecc_round_trip("P-256", TPM_ECC_NIST_P256, 32, TPM_ALG_SHA256, TPM_FIXTURE_ECDSA_MINIMAL);
}

static void test_rsapss_salt_lengths(void **state)
{
    (void)state;
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(rsa);
    uint8_t n[256];
    struct tpm_fixture_public ps;
    tpm_fixture_rsa_public(rsa, n, sizeof n, TPM_ALG_RSAPSS, &ps);
    size_t pub_len = 0;
    uint8_t *pub = tpm_fixture_build_public(&ps, &pub_len);
    struct tpm_public tp;
    EVP_PKEY *ak = NULL;
    assert_int_equal(tpm_public_parse(pub, pub_len, &tp, &ak, NULL), 0);
    struct tpm_fixture_attest as;
    tpm_fixture_default_attest(&as);
    size_t att_len = 0;
    uint8_t *att = tpm_fixture_build_attest(&as, &att_len);
    const enum tpm_fixture_sign modes[] = {TPM_FIXTURE_PSS_DIGEST, TPM_FIXTURE_PSS_MAX,
                                           TPM_FIXTURE_PKCS1};
    for (size_t i = 0; i < 3; i++) {
        size_t sl = 0;
        uint8_t *sig = tpm_fixture_sign(rsa, modes[i], TPM_ALG_SHA256, 0, att, att_len, &sl);
        struct tpm_signature s;
        assert_int_equal(tpm_signature_parse(sig, sl, &s, NULL), 0);
        assert_int_equal(tpm_signature_verify(&s, ak, att, att_len), 0);
        /* The other padding fails. */
        s.sig_alg = s.sig_alg == TPM_ALG_RSAPSS ? TPM_ALG_RSASSA : TPM_ALG_RSAPSS;
        assert_int_not_equal(tpm_signature_verify(&s, ak, att, att_len), 0);
        free(sig);
    }
    EVP_PKEY_free(ak);
    EVP_PKEY_free(rsa);
    free(att);
    free(pub);
}

static void test_evidence_framing_rules(void **state)
{
    (void)state;
    static const uint8_t pub[] = {1, 2, 3}, att[] = {4, 5}, sig[] = {6};
    static const uint8_t cert[] = {0x30, 0x00};
    static struct tpm_evidence ev;
    memset(&ev, 0, sizeof ev);
    ev.ak_public = pub;
    ev.ak_public_len = sizeof pub;
    ev.attest = att;
    ev.attest_len = sizeof att;
    ev.signature = sig;
    ev.signature_len = sizeof sig;
    for (size_t i = 0; i < TPM_MAX_BANKS; i++) {
        ev.banks[i].hash_alg = (uint16_t[]){TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384,
                                            TPM_ALG_SHA512}[i];
        ev.banks[i].present = i == 0 ? 0 : (1u << (i * 7));
        memset(ev.banks[i].value, (int)i + 1, sizeof ev.banks[i].value);
    }
    ev.n_banks = TPM_MAX_BANKS;
    for (size_t i = 0; i < TPM_EVIDENCE_MAX_CERTS; i++) {
        ev.certs[i] = cert;
        ev.cert_lens[i] = sizeof cert;
    }
    ev.n_certs = TPM_EVIDENCE_MAX_CERTS;

    struct bytes_writer w;
    writer_init(&w, TPM_EVIDENCE_MAX);
    assert_int_equal(tpm_evidence_encode(&ev, &w), 0);
    size_t len = 0;
    uint8_t *enc = tpm_fixture_take(&w, &len);
    static struct tpm_evidence e;
    const char *why = NULL;
    assert_int_equal(tpm_evidence_parse(enc, len, &e, &why), 0);
    assert_int_equal(e.n_banks, 4);
    assert_int_equal(e.banks[0].present, 0);
    assert_int_equal(e.banks[3].present, 1u << 21);
    assert_memory_equal(e.banks[3].value[21], ev.banks[3].value[21], 64);
    assert_int_equal(e.n_certs, 8);
    check_exact(enc, len, ev_p);

    /* Field by field, on a copy: magic, version, flags, n_banks, bank alg, mask, n_certs. */
    uint8_t *c = malloc(len);
    assert_non_null(c);
    size_t banks_off = 8 + (2 + 3) + (2 + 2) + (2 + 1) + 1; /* first bank */
    struct {
        size_t off;
        uint8_t val;
        const char *why;
    } bad[] = {
        {0, 'X', "not tether tpm evidence (magic \"TTPM\")"},
        {5, 2, "unsupported tpm evidence version"},
        {7, 1, "tpm evidence flags must be zero"},
        {banks_off - 1, 5, "more PCR banks than TPM_MAX_BANKS"},
        {banks_off + 1, 0x10, "PCR bank with an unsupported hash algorithm"},
        {banks_off + 1, 0x0b, "PCR bank given twice"},
        {banks_off + 2, 0x01, "PCR mask names a PCR above 23"},
        {len - 8 * 4 - 1, 9, "more than 8 AK certificates"},
        {len - 1 - 2, 0, "empty AK certificate"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(c, enc, len);
        c[bad[i].off] = bad[i].val;
        why = NULL;
        assert_int_not_equal(tpm_evidence_parse(c, len, &e, &why), 0);
        if (!why || strcmp(why, bad[i].why) != 0)
            fail_msg("case %zu: %s", i, why ? why : "(null)");
    }
    free(c);
    /* A zero length field. */
    static const uint8_t empty_pub[] = "TTPM\x00\x01\x00\x00\x00\x00";
    assert_int_not_equal(tpm_evidence_parse(empty_pub, sizeof empty_pub - 1, &e, &why), 0);
    assert_int_not_equal(tpm_evidence_parse(NULL, 0, &e, &why), 0);
    free(enc);

    /* The encoder refuses what the parser refuses. */
    struct tpm_evidence bad_ev = ev;
    bad_ev.n_certs = TPM_EVIDENCE_MAX_CERTS + 1;
    writer_init(&w, TPM_EVIDENCE_MAX);
    assert_int_not_equal(tpm_evidence_encode(&bad_ev, &w), 0);
    writer_free(&w);
    bad_ev = ev;
    bad_ev.n_banks = TPM_MAX_BANKS + 1;
    writer_init(&w, TPM_EVIDENCE_MAX);
    assert_int_not_equal(tpm_evidence_encode(&bad_ev, &w), 0);
    writer_free(&w);
    bad_ev = ev;
    bad_ev.cert_lens[3] = 0;
    writer_init(&w, TPM_EVIDENCE_MAX);
    assert_int_not_equal(tpm_evidence_encode(&bad_ev, &w), 0);
    writer_free(&w);
    bad_ev = ev;
    bad_ev.banks[1].hash_alg = TPM_ALG_SHA1;
    writer_init(&w, TPM_EVIDENCE_MAX);
    assert_int_not_equal(tpm_evidence_encode(&bad_ev, &w), 0);
    writer_free(&w);
    bad_ev = ev;
    bad_ev.attest_len = TPM_MAX_ATTEST + 1;
    writer_init(&w, TPM_EVIDENCE_MAX);
    assert_int_not_equal(tpm_evidence_encode(&bad_ev, &w), 0);
    writer_free(&w);
    /* Eight 8 KiB certificates exceed TPM_EVIDENCE_MAX (64 KiB). */
    uint8_t *bigcert = calloc(1, 8192);
    assert_non_null(bigcert);
    bad_ev = ev;
    for (size_t i = 0; i < TPM_EVIDENCE_MAX_CERTS; i++) {
        bad_ev.certs[i] = bigcert;
        bad_ev.cert_lens[i] = 8192;
    }
    writer_init(&w, 1u << 20);
    assert_int_not_equal(tpm_evidence_encode(&bad_ev, &w), 0);
    writer_free(&w);
    free(bigcert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swtpm_quote_parses_and_verifies),
        cmocka_unit_test(test_gce_quotes_parse_verify_and_match_pcrs),
        cmocka_unit_test(test_truncations_and_trailing_bytes_refused),
        cmocka_unit_test(test_flipped_attest_byte_breaks_the_signature),
        cmocka_unit_test(test_wrong_key_type_refused),
        cmocka_unit_test(test_quote_field_rules),
        cmocka_unit_test(test_signature_field_rules),
        cmocka_unit_test(test_public_field_rules),
        cmocka_unit_test(test_pcr_digest_rules),
        cmocka_unit_test(test_evidence_round_trip_with_an_ecc_ak),
        cmocka_unit_test(test_rsapss_salt_lengths),
        cmocka_unit_test(test_evidence_framing_rules),
    };
    return cmocka_run_group_tests_name("tpm", tests, NULL, NULL);
}
