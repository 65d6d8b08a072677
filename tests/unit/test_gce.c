/*
 * test_gce.c - Google Cloud vTPM evidence: the bounded protobuf reader and the go-tpm-tools
 * attest.Attestation parser (src/evidence/tpm/gce.c), and its verification by the "tpm"
 * backend (src/evidence/tpm/tpm_verify.c) with the built-in Google roots (google_roots.c).
 *
 * Real vectors from $TETHER_VECTORS/tpm/go-tpm-tools (../shared/vectors by default; facts from
 * EXPECTED.txt "GCE vTPM" and research evidence.md B4): gce-cos-85-{no-nonce,nonce9009}.pb
 * (ak_pub RSA-2048, three quotes over the SHA-1/SHA-256/SHA-384 banks signed RSASSA-SHA256,
 * a 23970-byte event log, the AK certificate) and cos85_ak_cert.der (that certificate: AK ->
 * tpm_ek_intermediate_2 -> tpm_ek_root_1, valid 2021-08-31..2051-08-24). Negative cases are
 * re-encoded here from the vectors' parts with a test-local protobuf writer. Cases needing the
 * vectors skip with a note when they are absent. Must never use the network or write files.
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
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "evidence/evidence.h"
#include "evidence/tpm/gce.h"
#include "evidence/tpm/google_roots.h"
#include "evidence/tpm/tpm.h"
#include "evidence/tpm/tpm_verify.h"
#include "policy/result.h"
#include "tether.h"
#include "util/util.h"

#define AT_2025 ((time_t)1748736000)  /* 2025-06-01T00:00:00Z */
#define AT_2052 ((time_t)2587680000)  /* 2052-01-01T00:00:00Z: after the AK cert's notAfter */

/* ---- vectors ----------------------------------------------------------------------------- */

static uint8_t *vector(const char *rel, size_t *len)
{
    const char *v = getenv("TETHER_VECTORS");
    char path[1200];
    uint8_t *data = NULL;
    snprintf(path, sizeof path, "%s/%s", v ? v : "../shared/vectors", rel);
    if (file_read(path, 1u << 20, &data, len) != 0) {
        fprintf(stderr, "# skip: GCE vector %s not found (set TETHER_VECTORS)\n", path);
        return NULL;
    }
    return data;
}

#define NO_NONCE "tpm/go-tpm-tools/gce-cos-85-no-nonce.pb"
#define NONCE9009 "tpm/go-tpm-tools/gce-cos-85-nonce9009.pb"
#define AK_CERT "tpm/go-tpm-tools/cos85_ak_cert.der"

/* ---- a test-local protobuf writer ---------------------------------------------------------- */

struct w {
    uint8_t *p;
    size_t n, cap;
};

static void w_init(struct w *w)
{
    w->cap = 1u << 17;
    w->p = malloc(w->cap);
    w->n = 0;
    assert_non_null(w->p);
}

static void w_raw(struct w *w, const void *d, size_t n)
{
    assert_true(w->n + n <= w->cap);
    if (n)
        memcpy(w->p + w->n, d, n);
    w->n += n;
}

static void w_varint(struct w *w, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            c |= 0x80;
        w_raw(w, &c, 1);
    } while (v);
}

static void w_tag(struct w *w, uint32_t field, unsigned wire)
{
    w_varint(w, (uint64_t)field << 3 | wire);
}

static void w_uint(struct w *w, uint32_t field, uint64_t v)
{
    w_tag(w, field, 0);
    w_varint(w, v);
}

static void w_bytes(struct w *w, uint32_t field, const void *d, size_t n)
{
    w_tag(w, field, 2);
    w_varint(w, n);
    w_raw(w, d, n);
}

/* Appends sub as field (length-delimited) and frees it. */
static void w_msg(struct w *w, uint32_t field, struct w *sub)
{
    w_bytes(w, field, sub->p, sub->n);
    free(sub->p);
    sub->p = NULL;
}

/* ---- an attestation model, parsed from a vector and re-encoded with changes ---------------- */

struct mquote {
    uint8_t quote[TPM_MAX_ATTEST], sig[TPM_MAX_SIG];
    size_t quote_len, sig_len;
    struct tpm_pcr_bank bank;
};

struct model {
    uint8_t ak_pub[GCE_MAX_AK_PUB];
    size_t ak_pub_len;
    struct mquote q[8];
    size_t nq;
    uint8_t cert[GCE_MAX_CERT];
    size_t cert_len;
    const uint8_t *inter[10];
    size_t inter_len[10];
    size_t ni;
    bool unknown_fields; /* add unknown fields of every skippable wire type at every level */
};

static bool model_load(const char *rel, struct model *m)
{
    memset(m, 0, sizeof *m);
    size_t len = 0;
    uint8_t *file = vector(rel, &len);
    if (!file)
        return false;
    struct gce_attestation *g = calloc(1, sizeof *g);
    assert_non_null(g);
    const char *why = NULL;
    assert_int_equal(gce_attestation_parse(file, len, g, &why), 0);
    memcpy(m->ak_pub, g->ak_pub, g->ak_pub_len);
    m->ak_pub_len = g->ak_pub_len;
    for (size_t i = 0; i < g->n_quotes; i++) {
        memcpy(m->q[i].quote, g->quotes[i].quote, g->quotes[i].quote_len);
        m->q[i].quote_len = g->quotes[i].quote_len;
        memcpy(m->q[i].sig, g->quotes[i].raw_sig, g->quotes[i].raw_sig_len);
        m->q[i].sig_len = g->quotes[i].raw_sig_len;
        m->q[i].bank = g->quotes[i].pcrs;
    }
    m->nq = g->n_quotes;
    assert_non_null(g->ak_cert);
    memcpy(m->cert, g->ak_cert, g->ak_cert_len);
    m->cert_len = g->ak_cert_len;
    free(g);
    free(file);
    return true;
}

static void unknown_fields(struct w *w)
{
    static const uint8_t eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    w_uint(w, 1000, 12345678901ull);            /* varint */
    w_tag(w, 1001, 1);                          /* fixed64 */
    w_raw(w, eight, 8);
    w_bytes(w, 1002, "skip me", 7);             /* length-delimited */
    w_tag(w, 1003, 5);                          /* fixed32 */
    w_raw(w, eight, 4);
}

static void encode_pcrs(struct w *out, const struct tpm_pcr_bank *b, bool unknown)
{
    struct w p;
    w_init(&p);
    /* Map entries first and the hash last: field order is free in protobuf. */
    size_t hs = tpm_hash_size(b->hash_alg);
    for (unsigned i = 0; i < TPM_PCRS; i++) {
        if (!(b->present & (1u << i)))
            continue;
        struct w e;
        w_init(&e);
        if (i != 0) /* key 0 omitted: the proto default */
            w_uint(&e, 1, i);
        w_bytes(&e, 2, b->value[i], hs ? hs : 20);
        w_msg(&p, 2, &e);
    }
    if (unknown)
        unknown_fields(&p);
    w_uint(&p, 1, b->hash_alg);
    w_msg(out, 3, &p);
}

static uint8_t *model_encode(const struct model *m, size_t *len)
{
    struct w w;
    w_init(&w);
    w_bytes(&w, 1, m->ak_pub, m->ak_pub_len);
    for (size_t i = 0; i < m->nq; i++) {
        struct w q;
        w_init(&q);
        w_bytes(&q, 1, m->q[i].quote, m->q[i].quote_len);
        if (m->unknown_fields)
            unknown_fields(&q);
        w_bytes(&q, 2, m->q[i].sig, m->q[i].sig_len);
        encode_pcrs(&q, &m->q[i].bank, m->unknown_fields);
        w_msg(&w, 2, &q);
    }
    if (m->unknown_fields) {
        unknown_fields(&w);
        w_bytes(&w, 3, "event log", 9);
        w_bytes(&w, 4, "", 0);
    }
    if (m->cert_len)
        w_bytes(&w, 6, m->cert, m->cert_len);
    for (size_t i = 0; i < m->ni; i++)
        w_bytes(&w, 7, m->inter[i], m->inter_len[i]);
    *len = w.n;
    return w.p;
}

/* ---- verification helpers ---------------------------------------------------------------- */

struct outcome {
    int rc;
    char failed[64], code[64], detail[400];
    struct claims c;
};

static void run_verify(const uint8_t *ev, size_t len, const struct evidence_anchors *a,
                       time_t at, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    struct tether_result *r = result_new();
    assert_non_null(r);
    struct evidence_anchors none = {0};
    o->rc = evidence_tpm.verify(ev, len, a ? a : &none, at, NULL, &o->c, r);
    size_t i;
    json_t *c;
    json_array_foreach(result_checks(r), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "status")), "fail") == 0 &&
            !o->failed[0]) {
            snprintf(o->failed, sizeof o->failed, "%s",
                     json_string_value(json_object_get(c, "name")));
            const char *code = json_string_value(json_object_get(c, "code"));
            const char *d = json_string_value(json_object_get(c, "detail"));
            snprintf(o->code, sizeof o->code, "%s", code ? code : "");
            snprintf(o->detail, sizeof o->detail, "%s", d ? d : "");
        }
    }
    assert_true((o->rc == 0) == (o->failed[0] == 0));
    tether_result_free(r);
}

static void verify_model(const struct model *m, const struct evidence_anchors *a, time_t at,
                         struct outcome *o)
{
    size_t len = 0;
    uint8_t *ev = model_encode(m, &len);
    assert_true(gce_attestation_recognise(ev, len));
    run_verify(ev, len, a, at, o);
    free(ev);
}

static void expect_fail(struct outcome *o, const char *check, const char *code)
{
    if (strcmp(o->failed, check) != 0 || (code && strcmp(o->code, code) != 0))
        fail_msg("expected %s/%s, got %s/%s (%s)", check, code ? code : "*", o->failed, o->code,
                 o->detail);
    claims_clear(&o->c);
}

static const char *extra_str(const struct claims *c, const char *k)
{
    return json_string_value(json_object_get(c->extra, k));
}

/* ---- the wire-format reader --------------------------------------------------------------- */

static void test_varint_bounds(void **state)
{
    (void)state;
    uint64_t v = 0;
    size_t used = 0;
    static const uint8_t one[] = {0x01}, two[] = {0xac, 0x02};
    assert_int_equal(gce_pb_varint(one, 1, &v, &used), 0);
    assert_true(v == 1 && used == 1);
    assert_int_equal(gce_pb_varint(two, 2, &v, &used), 0);
    assert_true(v == 300 && used == 2);
    /* The largest: 10 bytes, the last carrying bit 63. */
    static const uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(gce_pb_varint(max, sizeof max, &v, &used), 0);
    assert_true(v == UINT64_MAX && used == 10);
    /* More than 64 bits in the tenth byte, an eleventh byte, a truncated varint. */
    static const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(gce_pb_varint(over, sizeof over, &v, &used), -1);
    static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                     0x80, 0x80, 0x80, 0x80, 0x00};
    assert_int_equal(gce_pb_varint(eleven, sizeof eleven, &v, &used), -1);
    assert_int_equal(gce_pb_varint(two, 1, &v, &used), -1);
    assert_int_equal(gce_pb_varint(two, 0, &v, &used), -1);
    /* A non-minimal encoding is still one varint (protobuf allows it). */
    static const uint8_t padded[] = {0x81, 0x80, 0x00};
    assert_int_equal(gce_pb_varint(padded, sizeof padded, &v, &used), 0);
    assert_true(v == 1 && used == 3);
}

static void test_reader_wire_types(void **state)
{
    (void)state;
    struct w w;
    w_init(&w);
    unknown_fields(&w);
    struct gce_pb m;
    struct gce_pb_field f;
    const char *why = NULL;
    gce_pb_init(&m, w.p, w.n);
    assert_int_equal(gce_pb_next(&m, &f, &why), 1);
    assert_true(f.number == 1000 && f.wire == GCE_PB_VARINT && f.value == 12345678901ull);
    assert_int_equal(gce_pb_next(&m, &f, &why), 1);
    assert_true(f.number == 1001 && f.wire == GCE_PB_I64 && f.len == 8 &&
                f.value == 0x0807060504030201ull);
    assert_int_equal(gce_pb_next(&m, &f, &why), 1);
    assert_true(f.number == 1002 && f.wire == GCE_PB_LEN && f.len == 7 &&
                memcmp(f.data, "skip me", 7) == 0);
    assert_int_equal(gce_pb_next(&m, &f, &why), 1);
    assert_true(f.number == 1003 && f.wire == GCE_PB_I32 && f.value == 0x04030201u);
    assert_int_equal(gce_pb_next(&m, &f, &why), 0);
    assert_int_equal(m.pos, w.n);
    free(w.p);

    /* Refused: groups, wire types 6 and 7, field number 0, a key above 32 bits, a length past
     * the message, truncated fixed-width values. */
    static const struct {
        uint8_t b[12];
        size_t n;
    } bad[] = {
        {{0x0b, 0x0c}, 2},                       /* field 1 start group, end group */
        {{0x0c}, 1},                             /* end group */
        {{0x0e, 0x00}, 2},                       /* wire type 6 */
        {{0x0f, 0x00}, 2},                       /* wire type 7 */
        {{0x00, 0x00}, 2},                       /* field 0 */
        {{0x80, 0x80, 0x80, 0x80, 0x10, 0x00}, 6}, /* key 2^32 */
        {{0x0a, 0x05, 1, 2, 3, 4}, 6},           /* 5 bytes announced, 4 left */
        {{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 11}, /* 2^64-1 */
        {{0x09, 1, 2, 3, 4, 5, 6, 7}, 8},        /* fixed64, 7 bytes */
        {{0x0d, 1, 2, 3}, 4},                    /* fixed32, 3 bytes */
        {{0x08, 0x80}, 2},                       /* truncated varint value */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gce_pb_init(&m, bad[i].b, bad[i].n);
        why = NULL;
        int rc;
        while ((rc = gce_pb_next(&m, &f, &why)) == 1)
            ;
        if (rc != -1 || !why)
            fail_msg("bad wire case %zu accepted", i);
    }
}

static void test_reader_depth_limit(void **state)
{
    (void)state;
    /* Twelve levels of field 1 { field 1 { ... } }: entering stops at GCE_PB_MAX_DEPTH. */
    struct w inner;
    w_init(&inner);
    w_uint(&inner, 2, 7);
    for (int i = 0; i < 12; i++) {
        struct w outer;
        w_init(&outer);
        w_msg(&outer, 1, &inner);
        inner = outer;
    }
    struct gce_pb m, child;
    struct gce_pb_field f;
    const char *why = NULL;
    gce_pb_init(&m, inner.p, inner.n);
    unsigned depth = 0;
    for (;;) {
        assert_int_equal(gce_pb_next(&m, &f, &why), 1);
        if (gce_pb_enter(&m, &f, &child, &why) != 0)
            break;
        m = child;
        depth++;
        assert_true(depth <= GCE_PB_MAX_DEPTH);
    }
    assert_int_equal(depth, GCE_PB_MAX_DEPTH);
    assert_non_null(strstr(why, "nested"));
    /* A varint field cannot be entered. */
    gce_pb_init(&m, (const uint8_t *)"\x08\x01", 2);
    assert_int_equal(gce_pb_next(&m, &f, &why), 1);
    assert_int_equal(gce_pb_enter(&m, &f, &child, &why), -1);
    free(inner.p);
}

/* ---- attest.Attestation ------------------------------------------------------------------- */

static void test_parse_real_attestations(void **state)
{
    (void)state;
    static const char *files[] = {NO_NONCE, NONCE9009};
    size_t cert_len = 0;
    uint8_t *cert = vector(AK_CERT, &cert_len);
    if (!cert)
        skip();
    for (size_t fi = 0; fi < 2; fi++) {
        size_t len = 0;
        uint8_t *file = vector(files[fi], &len);
        if (!file)
            skip();
        assert_true(gce_attestation_recognise(file, len));
        struct gce_attestation *g = calloc(1, sizeof *g);
        const char *why = NULL;
        assert_int_equal(gce_attestation_parse(file, len, g, &why), 0);
        /* Field 1: a 280-byte TPMT_PUBLIC (RSA, nameAlg SHA-256), a restricted signing key. */
        assert_int_equal(g->ak_pub_len, 280);
        struct tpm_public pub;
        EVP_PKEY *ak = NULL;
        assert_int_equal(tpm_public_parse(g->ak_pub, g->ak_pub_len, &pub, &ak, &why), 0);
        assert_true(pub.type == TPM_ALG_RSA && pub.restricted && pub.sign);
        /* Field 2: three quotes, banks SHA-1, SHA-256, SHA-384 (the HashAlgo enum is the TPM
         * alg id), 24 PCRs each, every one signed by the AK with the nonce in extraData. */
        assert_int_equal(g->n_quotes, 3);
        static const uint16_t banks[] = {TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384};
        for (size_t i = 0; i < 3; i++) {
            const struct gce_quote *gq = &g->quotes[i];
            assert_int_equal(gq->pcrs.hash_alg, banks[i]);
            assert_int_equal(gq->pcrs.present, 0xffffff);
            assert_int_equal(gq->raw_sig_len, 262);
            struct tpm_quote q;
            struct tpm_signature s;
            assert_int_equal(tpm_quote_parse(gq->quote, gq->quote_len, &q, &why), 0);
            assert_int_equal(tpm_signature_parse(gq->raw_sig, gq->raw_sig_len, &s, &why), 0);
            assert_true(s.sig_alg == TPM_ALG_RSASSA && s.hash_alg == TPM_ALG_SHA256);
            assert_int_equal(tpm_signature_verify(&s, ak, gq->quote, gq->quote_len), 0);
            if (fi == 0) {
                assert_int_equal(q.extra_data_len, 0);
            } else {
                assert_int_equal(q.extra_data_len, 2);
                assert_memory_equal(q.extra_data, "\x90\x09", 2);
            }
            uint8_t d[TPM_MAX_DIGEST];
            size_t dl = 0;
            assert_int_equal(tpm_pcr_digest(&q.pcr_select, &gq->pcrs, 1, s.hash_alg, d, &dl), 0);
            assert_int_equal(dl, q.pcr_digest_len);
            assert_memory_equal(d, q.pcr_digest, dl);
        }
        /* Field 3: the event log, skipped; field 6: the AK certificate; no field 7. */
        assert_int_equal(g->event_log_len, 23970);
        assert_int_equal(g->ak_cert_len, cert_len);
        assert_memory_equal(g->ak_cert, cert, cert_len);
        assert_int_equal(g->n_intermediates, 0);
        assert_false(g->has_instance_info);
        assert_int_equal(g->tee_attestation, 0);
        /* Every truncation is refused (a cut can only end a field early or inside one). */
        for (size_t cut = 0; cut < len; cut += (cut < 400 ? 1 : 97)) {
            if (gce_attestation_parse(file, cut, g, &why) == 0) {
                /* Cutting exactly between top-level fields keeps a valid prefix: then the
                 * AK certificate (last) is what goes missing. */
                assert_null(g->ak_cert);
            }
        }
        EVP_PKEY_free(ak);
        free(g);
        free(file);
    }
    free(cert);
}

static void test_parse_reencoded_and_unknown_fields(void **state)
{
    (void)state;
    struct model *m = calloc(1, sizeof *m);
    if (!model_load(NONCE9009, m)) {
        free(m);
        skip();
    }
    /* Unknown fields of wire types 0, 1, 2, 5 at every level, hash after the map entries, the
     * map key 0 omitted, an instance_info: parsed the same, and it still verifies. */
    m->unknown_fields = true;
    size_t len = 0;
    uint8_t *ev = model_encode(m, &len);
    struct gce_attestation *g = calloc(1, sizeof *g);
    const char *why = NULL;
    assert_int_equal(gce_attestation_parse(ev, len, g, &why), 0);
    assert_int_equal(g->n_quotes, 3);
    assert_int_equal(g->quotes[2].pcrs.hash_alg, TPM_ALG_SHA384);
    assert_int_equal(g->quotes[0].pcrs.present, 0xffffff);
    assert_memory_equal(g->quotes[1].pcrs.value[0], m->q[1].bank.value[0], 32);
    assert_int_equal(g->event_log_len, 9);
    assert_true(g->has_instance_info);
    free(g);
    struct outcome o;
    run_verify(ev, len, NULL, AT_2025, &o);
    assert_int_equal(o.rc, 0);
    claims_clear(&o.c);
    free(ev);
    free(m);
}

/* Encodes fields by hand around the vector's parts and expects a refusal containing needle. */
static void expect_parse_refused(const uint8_t *ev, size_t len, const char *needle)
{
    struct gce_attestation *g = calloc(1, sizeof *g);
    const char *why = NULL;
    if (gce_attestation_parse(ev, len, g, &why) == 0)
        fail_msg("accepted; expected a refusal about \"%s\"", needle);
    assert_non_null(why);
    if (!strstr(why, needle))
        fail_msg("refused with \"%s\", expected \"%s\"", why, needle);
    free(g);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    struct model *m = calloc(1, sizeof *m);
    if (!model_load(NO_NONCE, m)) {
        free(m);
        skip();
    }
    size_t len = 0;
    uint8_t *ev;
    struct w w;

    expect_parse_refused((const uint8_t *)"", 0, "empty");

    /* No ak_pub; no quote. */
    struct model *x = malloc(sizeof *x);
    *x = *m;
    x->ak_pub_len = 0;
    ev = model_encode(x, &len);
    expect_parse_refused(ev, len, "ak_pub");
    free(ev);
    *x = *m;
    x->nq = 0;
    ev = model_encode(x, &len);
    expect_parse_refused(ev, len, "no quote");
    free(ev);

    /* Five quotes. */
    *x = *m;
    x->q[3] = m->q[0];
    x->q[4] = m->q[1];
    x->nq = 5;
    ev = model_encode(x, &len);
    expect_parse_refused(ev, len, "more than 4");
    free(ev);

    /* ak_pub twice; ak_pub as a varint; ak_cert twice; an empty certificate. */
    w_init(&w);
    w_bytes(&w, 1, m->ak_pub, m->ak_pub_len);
    w_bytes(&w, 1, m->ak_pub, m->ak_pub_len);
    expect_parse_refused(w.p, w.n, "ak_pub");
    free(w.p);
    w_init(&w);
    w_uint(&w, 1, 5);
    expect_parse_refused(w.p, w.n, "ak_pub");
    free(w.p);
    ev = model_encode(m, &len);
    w_init(&w);
    w_raw(&w, ev, len);
    w_bytes(&w, 6, m->cert, m->cert_len);
    expect_parse_refused(w.p, w.n, "ak_cert");
    free(w.p);
    w_init(&w);
    w_raw(&w, ev, len);
    w_bytes(&w, 7, "", 0);
    expect_parse_refused(w.p, w.n, "certificate");
    free(w.p);
    /* Nine intermediates. */
    w_init(&w);
    w_raw(&w, ev, len);
    for (int i = 0; i < 9; i++)
        w_bytes(&w, 7, m->cert, m->cert_len);
    expect_parse_refused(w.p, w.n, "more than 8");
    free(w.p);
    /* A group among the unknown fields, at the top level. */
    w_init(&w);
    w_raw(&w, ev, len);
    w_tag(&w, 20, 3);
    w_tag(&w, 20, 4);
    expect_parse_refused(w.p, w.n, "groups");
    free(w.p);
    free(ev);

    /* Quote parts: no raw_sig; quote twice; no pcrs. */
    static const struct {
        bool sig, quote2, pcrs;
        const char *needle;
    } qc[] = {{false, false, true, "required"},
              {true, true, true, "Quote.quote"},
              {true, false, false, "required"}};
    for (size_t i = 0; i < sizeof qc / sizeof qc[0]; i++) {
        w_init(&w);
        w_bytes(&w, 1, m->ak_pub, m->ak_pub_len);
        struct w q;
        w_init(&q);
        w_bytes(&q, 1, m->q[0].quote, m->q[0].quote_len);
        if (qc[i].quote2)
            w_bytes(&q, 1, m->q[0].quote, m->q[0].quote_len);
        if (qc[i].sig)
            w_bytes(&q, 2, m->q[0].sig, m->q[0].sig_len);
        if (qc[i].pcrs)
            encode_pcrs(&q, &m->q[0].bank, false);
        w_msg(&w, 2, &q);
        expect_parse_refused(w.p, w.n, qc[i].needle);
        free(w.p);
    }

    /* PCRs: an unsupported hash, a missing hash, a value of the wrong size, an index above 23,
     * an index twice, a map key twice. */
    struct {
        int kind;
        const char *needle;
    } pc[] = {{0, "hash"}, {1, "hash"}, {2, "digest size"}, {3, "above 23"}, {4, "twice"},
              {5, "twice"}};
    for (size_t i = 0; i < sizeof pc / sizeof pc[0]; i++) {
        struct w p, e;
        w_init(&p);
        if (pc[i].kind == 0)
            w_uint(&p, 1, 5); /* TPM_ALG_HMAC: not a PCR bank */
        else if (pc[i].kind != 1)
            w_uint(&p, 1, TPM_ALG_SHA1);
        w_init(&e);
        w_uint(&e, 1, pc[i].kind == 3 ? 24 : 7);
        w_bytes(&e, 2, m->q[0].bank.value[7], pc[i].kind == 2 ? 19 : 20);
        if (pc[i].kind == 5)
            w_uint(&e, 1, 8);
        w_msg(&p, 2, &e);
        if (pc[i].kind == 4) {
            w_init(&e);
            w_uint(&e, 1, 7);
            w_bytes(&e, 2, m->q[0].bank.value[7], 20);
            w_msg(&p, 2, &e);
        }
        struct w q;
        w_init(&q);
        w_bytes(&q, 1, m->q[0].quote, m->q[0].quote_len);
        w_bytes(&q, 2, m->q[0].sig, m->q[0].sig_len);
        w_msg(&q, 3, &p);
        w_init(&w);
        w_bytes(&w, 1, m->ak_pub, m->ak_pub_len);
        w_msg(&w, 2, &q);
        expect_parse_refused(w.p, w.n, pc[i].needle);
        free(w.p);
    }
    free(x);
    free(m);
}

static void test_recognise(void **state)
{
    (void)state;
    assert_false(gce_attestation_recognise(NULL, 0));
    assert_false(gce_attestation_recognise((const uint8_t *)"TTPM\0\1\0\0", 8));
    /* Field 1 holding something that is not a TPMT_PUBLIC (type 0x4141). */
    static const uint8_t notpub[] = {0x0a, 0x08, 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A'};
    assert_false(gce_attestation_recognise(notpub, sizeof notpub));
    /* Field 1 longer than the input. */
    static const uint8_t cut[] = {0x0a, 0x20, 0x00, 0x01, 0x00, 0x0b, 0, 0, 0, 0};
    assert_false(gce_attestation_recognise(cut, sizeof cut));
    static const uint8_t ok[] = {0x0a, 0x08, 0x00, 0x01, 0x00, 0x0b, 0, 0, 0, 0};
    assert_true(gce_attestation_recognise(ok, sizeof ok));
    size_t len = 0;
    uint8_t *file = vector(NO_NONCE, &len);
    if (!file)
        skip();
    assert_true(gce_attestation_recognise(file, len));
    assert_ptr_equal(evidence_backend_recognise(file, len), &evidence_tpm);
    free(file);
}

/* ---- verification ------------------------------------------------------------------------- */

static void sha256_spki_of_cert(const uint8_t *der, size_t n, uint8_t out[32])
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)n);
    assert_non_null(x);
    unsigned char *spki = NULL;
    int sl = i2d_PUBKEY(X509_get0_pubkey(x), &spki);
    assert_true(sl > 0);
    unsigned int dl = 0;
    assert_int_equal(EVP_Digest(spki, (size_t)sl, out, &dl, EVP_sha256(), NULL), 1);
    OPENSSL_free(spki);
    X509_free(x);
}

static void test_verify_real_attestations_builtin_roots(void **state)
{
    (void)state;
    static const char *files[] = {NO_NONCE, NONCE9009};
    size_t cert_len = 0;
    uint8_t *cert = vector(AK_CERT, &cert_len);
    if (!cert)
        skip();
    uint8_t spki[32];
    sha256_spki_of_cert(cert, cert_len, spki);
    for (size_t fi = 0; fi < 2; fi++) {
        size_t len = 0;
        uint8_t *file = vector(files[fi], &len);
        if (!file)
            skip();
        struct outcome o;
        run_verify(file, len, NULL, AT_2025, &o);
        if (o.rc != 0)
            fail_msg("%s: %s %s: %s", files[fi], o.failed, o.code, o.detail);
        const struct claims *c = &o.c;
        assert_string_equal(c->tee, "tpm");
        assert_false(c->simulated);
        assert_int_equal(c->platform_id_len, 32);
        assert_memory_equal(c->platform_id, spki, 32);
        assert_false(c->has_report_data); /* extraData is not 64 bytes */
        assert_string_equal(extra_str(c, "format"), "gce-attestation");
        assert_string_equal(extra_str(c, "nonce"), fi ? "9009" : "");
        assert_true(json_is_true(json_object_get(c->extra, "ak_certified")));
        assert_non_null(strstr(extra_str(c, "ak_cert_root"), "tpm_ek_v1_cloud_host_root-signer"));
        assert_string_equal(extra_str(c, "ak_cert_not_after"), "2051-08-24T23:16:05Z");
        assert_int_equal(json_array_size(json_object_get(c->extra, "quotes")), 3);
        /* The measurement is the SHA-256 quote's pcrDigest. */
        json_t *q1 = json_array_get(json_object_get(c->extra, "quotes"), 1);
        assert_string_equal(json_string_value(json_object_get(q1, "bank")), "sha256");
        char *mh = hex_dup(c->measurement, c->measurement_len);
        assert_string_equal(mh, json_string_value(json_object_get(q1, "pcr_digest")));
        free(mh);
        /* struct tpm_claims: every bank, for accept.tpm.pcrs. */
        const struct tpm_claims *tc = c->tee_data;
        assert_non_null(tc);
        assert_int_equal(tc->n_banks, 3);
        assert_true(tc->ak_certified && !tc->ak_pinned);
        assert_memory_equal(tc->ak_spki_sha256, spki, 32);
        assert_int_equal(tc->banks[1].hash_alg, TPM_ALG_SHA256);
        assert_int_equal(tc->banks[1].present, 0xffffff);
        char *p0 = hex_dup(tc->banks[1].value[0], 32);
        assert_string_equal(p0, "0f35c214608d93c7a6e68ae7359b4a8be5a0e99eea9107ece427c4dea4e439cf");
        free(p0);
        claims_clear(&o.c);
        /* After the AK certificate's notAfter: evidence.chain. */
        run_verify(file, len, NULL, AT_2052, &o);
        expect_fail(&o, "evidence.chain", "tpm_ak_untrusted");
        free(file);
    }
    free(cert);
}

static X509_STORE *store_of(const char *root_name)
{
    X509_STORE *st = X509_STORE_new();
    for (size_t i = 0; i < GOOGLE_ROOTS; i++)
        if (strcmp(google_roots[i].name, root_name) == 0) {
            BIO *b = BIO_new_mem_buf(google_roots[i].pem, -1);
            X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
            assert_non_null(x);
            assert_int_equal(X509_STORE_add_cert(st, x), 1);
            X509_free(x);
            BIO_free(b);
        }
    return st;
}

static void test_verify_trust_policy_anchors_and_pins(void **state)
{
    (void)state;
    struct model *m = calloc(1, sizeof *m);
    if (!model_load(NONCE9009, m)) {
        free(m);
        skip();
    }
    struct outcome o;
    uint8_t spki[32];
    sha256_spki_of_cert(m->cert, m->cert_len, spki);
    uint8_t other[32];
    memset(other, 0x55, sizeof other);

    /* Policy anchor tpm_ek_root_1: certified (the intermediate is built in). */
    X509_STORE *root1 = store_of("tpm_ek_root_1");
    struct evidence_anchors a = {.store = root1, .origin = "policy"};
    verify_model(m, &a, AT_2025, &o);
    assert_int_equal(o.rc, 0);
    claims_clear(&o.c);
    /* Policy anchor the EK/AK CA Root only: the built-in roots are not added. */
    X509_STORE *gcp = store_of("gcp_ek_ak_ca_root");
    a.store = gcp;
    verify_model(m, &a, AT_2025, &o);
    expect_fail(&o, "evidence.chain", "tpm_ak_untrusted");
    /* ... unless the policy also pins this AK. */
    a.pinned_keys = (const uint8_t(*)[32])spki;
    a.n_pinned_keys = 1;
    verify_model(m, &a, AT_2025, &o);
    assert_int_equal(o.rc, 0);
    assert_true(((const struct tpm_claims *)o.c.tee_data)->ak_pinned);
    claims_clear(&o.c);

    /* Pins only (no policy anchors): the built-in roots are not used. */
    struct evidence_anchors pins = {.pinned_keys = (const uint8_t(*)[32])other,
                                    .n_pinned_keys = 1};
    verify_model(m, &pins, AT_2025, &o);
    expect_fail(&o, "evidence.chain", "tpm_ak_untrusted");
    pins.pinned_keys = (const uint8_t(*)[32])spki;
    verify_model(m, &pins, AT_2025, &o);
    assert_int_equal(o.rc, 0);
    claims_clear(&o.c);

    /* No AK certificate: pinned passes, unpinned fails. */
    size_t cl = m->cert_len;
    m->cert_len = 0;
    verify_model(m, &pins, AT_2025, &o);
    assert_int_equal(o.rc, 0);
    claims_clear(&o.c);
    verify_model(m, NULL, AT_2025, &o);
    expect_fail(&o, "evidence.chain", "tpm_ak_untrusted");
    m->cert_len = cl;

    /* The evidence's intermediates (field 7) are chain material: the right one is harmless,
     * a malformed one is refused. */
    size_t il = 0;
    const char *iname = google_intermediates[0].name;
    assert_string_equal(iname, "tpm_ek_intermediate_2");
    BIO *b = BIO_new_mem_buf(google_intermediates[0].pem, -1);
    X509 *ix = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    unsigned char *ider = NULL;
    il = (size_t)i2d_X509(ix, &ider);
    m->inter[0] = ider;
    m->inter_len[0] = il;
    m->ni = 1;
    verify_model(m, NULL, AT_2025, &o);
    assert_int_equal(o.rc, 0);
    assert_int_equal(json_integer_value(json_object_get(o.c.extra, "intermediate_certs")), 1);
    claims_clear(&o.c);
    m->inter[0] = (const uint8_t *)"not a certificate";
    m->inter_len[0] = 17;
    verify_model(m, NULL, AT_2025, &o);
    expect_fail(&o, "evidence.chain", "tpm_ak_untrusted");
    m->ni = 0;

    /* An AK certificate for another key (the intermediate's): tpm_ak_cert_mismatch, even when
     * the AK is pinned. */
    memcpy(m->cert, ider, il);
    m->cert_len = il;
    verify_model(m, &pins, AT_2025, &o);
    expect_fail(&o, "evidence.chain", "tpm_ak_cert_mismatch");
    OPENSSL_free(ider);
    X509_free(ix);
    X509_STORE_free(root1);
    X509_STORE_free(gcp);
    free(m);
}

static void test_verify_tampering(void **state)
{
    (void)state;
    struct model *m = calloc(1, sizeof *m), *x = calloc(1, sizeof *x),
                 *n = calloc(1, sizeof *n);
    if (!model_load(NO_NONCE, m) || !model_load(NONCE9009, n)) {
        free(m);
        free(x);
        free(n);
        skip();
    }
    struct outcome o;

    /* The model re-encoded as is (no event log) verifies. */
    verify_model(m, NULL, AT_2025, &o);
    assert_int_equal(o.rc, 0);
    claims_clear(&o.c);

    /* One flipped byte in a quote's clockInfo, in a signature: evidence.signature. */
    for (size_t qi = 0; qi < 3; qi++) {
        *x = *m;
        x->q[qi].quote[50] ^= 0x01;
        verify_model(x, NULL, AT_2025, &o);
        expect_fail(&o, "evidence.signature", "evidence_signature_invalid");
        *x = *m;
        x->q[qi].sig[100] ^= 0x80;
        verify_model(x, NULL, AT_2025, &o);
        expect_fail(&o, "evidence.signature", "evidence_signature_invalid");
    }
    /* One flipped bit in a PCR value: evidence.pcrs. */
    *x = *m;
    x->q[1].bank.value[0][0] ^= 0x01;
    verify_model(x, NULL, AT_2025, &o);
    expect_fail(&o, "evidence.pcrs", "tpm_pcr_digest_mismatch");
    /* A PCR value missing, a bank relabelled: the selection does not match. */
    *x = *m;
    x->q[2].bank.present &= ~(1u << 23);
    verify_model(x, NULL, AT_2025, &o);
    expect_fail(&o, "evidence.pcrs", "tpm_pcr_selection_mismatch");
    *x = *m;
    x->q[0].bank.hash_alg = TPM_ALG_SHA512; /* (encoded with 64-byte values) */
    verify_model(x, NULL, AT_2025, &o);
    expect_fail(&o, "evidence.pcrs", "tpm_pcr_selection_mismatch");
    /* Quotes of two attestations mixed (other extraData); the same bank twice. */
    *x = *m;
    x->q[1] = n->q[1];
    verify_model(x, NULL, AT_2025, &o);
    expect_fail(&o, "evidence.quotes", "tpm_quotes_inconsistent");
    assert_non_null(strstr(o.detail, "extraData"));
    *x = *m;
    x->q[3] = m->q[0];
    x->nq = 4;
    verify_model(x, NULL, AT_2025, &o);
    expect_fail(&o, "evidence.quotes", "tpm_quotes_inconsistent");
    assert_non_null(strstr(o.detail, "sha1 bank"));
    /* One quote alone is enough (and reports only its bank). */
    *x = *m;
    x->q[0] = m->q[1];
    x->nq = 1;
    verify_model(x, NULL, AT_2025, &o);
    assert_int_equal(o.rc, 0);
    assert_int_equal(((const struct tpm_claims *)o.c.tee_data)->n_banks, 1);
    claims_clear(&o.c);
    /* The AK not restricted (objectAttributes bit 16 cleared): evidence.ak, before any
     * signature is trusted. */
    *x = *m;
    x->ak_pub[5] &= (uint8_t)~0x01;
    verify_model(x, NULL, AT_2025, &o);
    expect_fail(&o, "evidence.ak", "tpm_ak_not_restricted");
    /* Another AK (the nonce file's is the same key, so forge one by flipping the modulus): the
     * signatures fail, and the certificate no longer matches. */
    *x = *m;
    x->ak_pub[x->ak_pub_len - 1] ^= 0x02;
    verify_model(x, NULL, AT_2025, &o);
    expect_fail(&o, "evidence.signature", "evidence_signature_invalid");
    /* A malformed TPMS_ATTEST (bad magic): evidence.format. */
    *x = *m;
    x->q[0].quote[0] = 0x00;
    verify_model(x, NULL, AT_2025, &o);
    expect_fail(&o, "evidence.format", "evidence_malformed");
    /* Not DER in field 6. */
    *x = *m;
    memcpy(x->cert, "garbage", 7);
    x->cert_len = 7;
    verify_model(x, NULL, AT_2025, &o);
    expect_fail(&o, "evidence.format", "evidence_malformed");
    free(m);
    free(x);
    free(n);
}

static void test_builtin_roots_are_the_google_cas(void **state)
{
    (void)state;
    /* The generated roots parse and carry the fingerprints of roots/google/README.md. */
    static const char *fps[GOOGLE_ROOTS + GOOGLE_INTERMEDIATES] = {
        "594759594b9b61524f6c8ef668f7177f7b9066bc0674f2f49fe9e052be78beb2",
        "9bd5285f8fb18502a7947e621ffd470266f49fcd3b73e19a190f690ad32a7caf",
        "5d8dbcf8c8053dd8ffad711b6219355032b7122c34cac0f90ccb49def69ec504",
        "7132b6ea71101f6c51bb58f98c3798c19b65be510eca0344318900510b593178",
        "c84de8116dfaf5a908f21e810487791f5437e206d00ad8025050cca6bd2ff627",
    };
    for (size_t i = 0; i < GOOGLE_ROOTS + GOOGLE_INTERMEDIATES; i++) {
        const struct google_cert *gc =
            i < GOOGLE_ROOTS ? &google_roots[i] : &google_intermediates[i - GOOGLE_ROOTS];
        BIO *b = BIO_new_mem_buf(gc->pem, -1);
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        assert_non_null(x);
        unsigned char md[32];
        unsigned int ml = 0;
        assert_int_equal(X509_digest(x, EVP_sha256(), md, &ml), 1);
        char *h = hex_dup(md, ml);
        if (strcmp(h, fps[i]) != 0)
            fail_msg("%s: fingerprint %s", gc->name, h);
        free(h);
        X509_free(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First: policy anchors before anything has loaded the built-in roots (the built-in
         * intermediates must be loaded for a policy anchor too). */
        cmocka_unit_test(test_verify_trust_policy_anchors_and_pins),
        cmocka_unit_test(test_varint_bounds),
        cmocka_unit_test(test_reader_wire_types),
        cmocka_unit_test(test_reader_depth_limit),
        cmocka_unit_test(test_parse_real_attestations),
        cmocka_unit_test(test_parse_reencoded_and_unknown_fields),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_recognise),
        cmocka_unit_test(test_verify_real_attestations_builtin_roots),
        cmocka_unit_test(test_verify_tampering),
        cmocka_unit_test(test_builtin_roots_are_the_google_cas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
