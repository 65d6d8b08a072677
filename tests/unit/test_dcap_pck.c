/*
 * test_dcap_pck.c - the PCK certificate SGX extension parser (src/evidence/dcap/dcap_pck.c).
 *
 * The PCK leaves of the six real quotes in $TETHER_VECTORS/{tdx,sgx} (../shared/vectors by
 * default; facts from EXPECTED.txt "Intel DCAP full collateral" and research evidence.md A2)
 * are parsed through dcap_quote_parse + dcap_quote_pck_chain + dcap_pck_ext_from_cert; those
 * cases skip with a note when the vectors are absent. The negative cases build the DER by hand
 * (a small encoder below), so they always run. Must never depend on the network or write files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "evidence/dcap/dcap_collateral.h"
#include "evidence/dcap/dcap_quote.h"
#include "util/util.h"
#include "lib/vectors.h"

/* ---- real vectors ---- */

struct vec {
    const char *rel;
    size_t nonzero_trailer; /* go-tdx-guest's spr_v4 has a 39-byte text tail */
    uint16_t pcesvn;
    const char *cpusvn;
    const char *fmspc;
    int sgx_type;
    bool has_config; /* Platform CA leaves carry .6 and .7 */
    bool dyn, cached, smt;
};

static const struct vec VECS[] = {
    {"tdx/go-tdx-guest/spr_v4_quote.dat", 39, 11, "03030202020100020000000000000000",
     "50806f000000", 1, true, true, false, true},
    {"tdx/go-tdx-guest/emr_v5_quote.dat", 0, 13, "04040202040100050000000000000000",
     "90c06f000000", 1, true, true, true, true},
    {"tdx/phala-dcap-qvl/emr_v4_quote.bin", 0, 11, "03030202040100050000000000000000",
     "b0c06f000000", 1, true, true, true, true},
    {"tdx/phala-dcap-qvl/emr_v5_quote_outdated.bin", 0, 13, "03030202040100030000000000000000",
     "90c06f000000", 1, true, true, false, true},
    {"sgx/phala-dcap-qvl/sgx_v3_quote.bin", 0, 13, "0b0b0202ff0100000000000000000000",
     "00a067110000", 0, false, false, false, false},
    /* EXPECTED.txt gives only the FMSPC for this one; the rest is read from its leaf. */
    {"sgx/trustee/icx_v3_occlum_quote.dat", 0, 11, "04040303ffff00000000000000000000",
     "00606a000000", 1, true, true, true, true},
};
#define NVECS (sizeof VECS / sizeof VECS[0])

/* The PCK leaf of a real quote (caller frees), or NULL when the vector is absent. */
static X509 *real_leaf(const struct vec *v)
{
    size_t len = 0;
    uint8_t *buf = test_vector("DCAP", v->rel, &len);
    if (!buf)
        return NULL;
    assert_true(len > v->nonzero_trailer);
    len -= v->nonzero_trailer;
    struct dcap_quote q;
    const char *why = NULL;
    if (dcap_quote_parse(buf, len, &q, &why) != 0)
        fail_msg("%s: %s", v->rel, why);
    STACK_OF(X509) *chain = NULL;
    assert_int_equal(dcap_quote_pck_chain(&q, &chain), 0);
    X509 *leaf = sk_X509_shift(chain);
    sk_X509_pop_free(chain, X509_free);
    free(buf);
    return leaf;
}

static void hexeq(const uint8_t *got, size_t n, const char *want)
{
    char h[64];
    assert_true(2 * n < sizeof h);
    hex_encode(got, n, h);
    assert_string_equal(h, want);
}

/* The raw extension value of a leaf (copied into out). */
static size_t ext_value(X509 *leaf, uint8_t *out, size_t cap)
{
    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    assert_non_null(obj);
    int idx = X509_get_ext_by_OBJ(leaf, obj, -1);
    ASN1_OBJECT_free(obj);
    assert_true(idx >= 0);
    ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
    size_t n = (size_t)ASN1_STRING_length(os);
    assert_true(n <= cap);
    memcpy(out, ASN1_STRING_get0_data(os), n);
    return n;
}

static void test_real_pck_leaves(void **state)
{
    (void)state;
    int seen = 0;
    for (size_t i = 0; i < NVECS; i++) {
        const struct vec *v = &VECS[i];
        X509 *leaf = real_leaf(v);
        if (!leaf)
            continue;
        seen++;
        struct dcap_pck_ext e;
        const char *why = NULL;
        if (dcap_pck_ext_from_cert(leaf, &e, &why) != 0)
            fail_msg("%s: %s", v->rel, why);
        assert_int_equal(e.pcesvn, v->pcesvn);
        hexeq(e.cpusvn, 16, v->cpusvn);
        hexeq(e.pce_id, 2, "0000");
        hexeq(e.fmspc, 6, v->fmspc);
        assert_int_equal(e.sgx_type, v->sgx_type);
        /* In all six leaves the component SVNs equal the CPUSVN bytes. */
        assert_memory_equal(e.comp_svn, e.cpusvn, 16);
        assert_false(ct_is_zero(e.ppid, 16));
        assert_int_equal(e.has_platform_instance_id, v->has_config);
        assert_int_equal(e.has_configuration, v->has_config);
        assert_int_equal(e.dynamic_platform, v->dyn);
        assert_int_equal(e.cached_keys, v->cached);
        assert_int_equal(e.smt_enabled, v->smt);

        /* The same through the raw value; every truncation of it fails, and so does a
         * trailing byte. */
        uint8_t der[1024];
        size_t n = ext_value(leaf, der, sizeof der - 1);
        struct dcap_pck_ext e2;
        assert_int_equal(dcap_pck_ext_parse_der(der, n, &e2, &why), 0);
        assert_memory_equal(&e, &e2, sizeof e);
        for (size_t k = 0; k < n; k++) {
            uint8_t *cut = malloc(k ? k : 1); /* exact size: ASan catches over-reads */
            assert_non_null(cut);
            memcpy(cut, der, k);
            why = NULL;
            assert_int_equal(dcap_pck_ext_parse_der(cut, k, &e2, &why), -1);
            assert_non_null(why);
            assert_true(why[0] != '\0');
            assert_true(ct_is_zero(&e2, sizeof e2));
            free(cut);
        }
        der[n] = 0x00;
        assert_int_equal(dcap_pck_ext_parse_der(der, n + 1, &e2, &why), -1);

        /* The Processor/Platform CA and root carry no such extension. */
        X509_free(leaf);
    }
    if (seen == 0)
        skip();
}

static void test_non_pck_certificates(void **state)
{
    (void)state;
    struct dcap_pck_ext e;
    const char *why = NULL;
    assert_int_equal(dcap_pck_ext_from_cert(NULL, &e, &why), -1);
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(dcap_pck_ext_from_cert(x, &e, &why), -1);
    assert_non_null(strstr(why, "not in the certificate"));

    /* The extension twice: rejected even though each copy is fine. */
    size_t len = 0;
    uint8_t *q = test_vector("DCAP", VECS[4].rel, &len);
    if (q) {
        free(q);
        X509 *leaf = real_leaf(&VECS[4]);
        uint8_t der[1024];
        size_t n = ext_value(leaf, der, sizeof der);
        ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        assert_int_equal(ASN1_OCTET_STRING_set(os, der, (int)n), 1);
        X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
        assert_non_null(ext);
        assert_int_equal(X509_add_ext(x, ext, -1), 1);
        assert_int_equal(dcap_pck_ext_from_cert(x, &e, &why), 0);
        hexeq(e.fmspc, 6, "00a067110000");
        assert_int_equal(X509_add_ext(x, ext, -1), 1);
        assert_int_equal(dcap_pck_ext_from_cert(x, &e, &why), -1);
        assert_non_null(strstr(why, "twice"));
        X509_EXTENSION_free(ext);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(obj);
        X509_free(leaf);
    }
    X509_free(x);
}

/* ---- a tiny DER encoder for hand-built values ---- */

struct der {
    uint8_t b[2048];
    size_t n;
};

static void put(struct der *d, const void *p, size_t n)
{
    assert_true(d->n + n <= sizeof d->b);
    if (n)
        memcpy(d->b + d->n, p, n);
    d->n += n;
}

static void put_tlv(struct der *d, uint8_t tag, const void *body, size_t n)
{
    uint8_t h[4] = {tag};
    size_t hl;
    if (n < 0x80) {
        h[1] = (uint8_t)n;
        hl = 2;
    } else if (n < 0x100) {
        h[1] = 0x81;
        h[2] = (uint8_t)n;
        hl = 3;
    } else {
        h[1] = 0x82;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    }
    put(d, h, hl);
    put(d, body, n);
}

static const uint8_t ARC[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

/* SEQUENCE { OID arc.tail, value TLV } appended to seq. */
static void elem(struct der *seq, const uint8_t *tail, size_t tn, const struct der *val)
{
    struct der oid = {.n = 0}, e = {.n = 0};
    uint8_t o[32];
    memcpy(o, ARC, sizeof ARC);
    memcpy(o + sizeof ARC, tail, tn);
    put_tlv(&oid, 0x06, o, sizeof ARC + tn);
    put(&e, oid.b, oid.n);
    put(&e, val->b, val->n);
    put_tlv(seq, 0x30, e.b, e.n);
}

static struct der prim(uint8_t tag, const void *p, size_t n)
{
    struct der d = {.n = 0};
    put_tlv(&d, tag, p, n);
    return d;
}

/* What to break in the hand-built extension. */
struct opts {
    int fmspc_len;          /* 6 unless set */
    bool omit_fmspc, dup_fmspc, omit_ppid, omit_type;
    bool nonminimal_comp;   /* comp 1 as 02 02 00 05 */
    bool negative_comp;     /* comp 1 as 02 01 85 */
    bool comp_256;          /* comp 1 = 256 */
    bool dup_comp;          /* .2.3 twice */
    bool omit_comp;         /* no .2.16 */
    bool extra_comp;        /* .2.19 */
    bool pcesvn_big;        /* 65536 */
    int sgx_type;           /* 1 unless set */
    bool nonminimal_type;   /* 0a 02 00 01 */
    bool config;            /* add .6 and .7 */
    uint8_t bool_byte;      /* BOOLEAN content for .7.2 (0 means 0x00) */
    bool unknown_top;       /* add .8 */
    bool unknown_top_twice; /* add .8 twice */
    bool unknown_config;    /* add .7.4 */
    bool grandchild_top;    /* add .2.1 at the top level */
    bool outside_arc;       /* add 1.2.840.113741.1.14 */
    bool nonminimal_len;    /* the PCE-ID element's length as 81 02 */
};

static size_t build(const struct opts *o, uint8_t *out, size_t cap)
{
    struct der seq = {.n = 0}, v;
    static const uint8_t ppid[16] = {0xd0, 0x4e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    static const uint8_t cpusvn[16] = {3, 3, 2, 2, 4, 1, 0, 5};
    static const uint8_t fmspc[8] = {0x90, 0xc0, 0x6f, 0, 0, 0, 0xee, 0xee}; /* up to 8 */
    if (!o->omit_ppid) {
        v = prim(0x04, ppid, 16);
        elem(&seq, (const uint8_t[]){1}, 1, &v);
    }
    /* .2 TCB */
    struct der tcb = {.n = 0};
    for (uint8_t i = 1; i <= 16; i++) {
        if (i == 16 && o->omit_comp)
            continue;
        uint8_t svn = cpusvn[i - 1];
        if (i == 1 && o->nonminimal_comp)
            v = prim(0x02, (const uint8_t[]){0x00, 0x05}, 2);
        else if (i == 1 && o->negative_comp)
            v = prim(0x02, (const uint8_t[]){0x85}, 1);
        else if (i == 1 && o->comp_256)
            v = prim(0x02, (const uint8_t[]){0x01, 0x00}, 2);
        else if (svn & 0x80)
            v = prim(0x02, (const uint8_t[]){0x00, svn}, 2);
        else
            v = prim(0x02, &svn, 1);
        elem(&tcb, (const uint8_t[]){2, i}, 2, &v);
        if (i == 3 && o->dup_comp)
            elem(&tcb, (const uint8_t[]){2, i}, 2, &v);
    }
    if (o->pcesvn_big)
        v = prim(0x02, (const uint8_t[]){0x01, 0x00, 0x00}, 3);
    else
        v = prim(0x02, (const uint8_t[]){13}, 1);
    elem(&tcb, (const uint8_t[]){2, 17}, 2, &v);
    v = prim(0x04, cpusvn, 16);
    elem(&tcb, (const uint8_t[]){2, 18}, 2, &v);
    if (o->extra_comp)
        elem(&tcb, (const uint8_t[]){2, 19}, 2, &v);
    v = prim(0x30, tcb.b, tcb.n);
    elem(&seq, (const uint8_t[]){2}, 1, &v);
    /* .3 PCE-ID */
    if (o->nonminimal_len) {
        v.n = 0;
        put(&v, (const uint8_t[]){0x04, 0x81, 0x02, 0x00, 0x00}, 5);
    } else {
        v = prim(0x04, (const uint8_t[]){0, 0}, 2);
    }
    elem(&seq, (const uint8_t[]){3}, 1, &v);
    /* .4 FMSPC */
    if (!o->omit_fmspc) {
        v = prim(0x04, fmspc, o->fmspc_len ? (size_t)o->fmspc_len : 6);
        elem(&seq, (const uint8_t[]){4}, 1, &v);
        if (o->dup_fmspc)
            elem(&seq, (const uint8_t[]){4}, 1, &v);
    }
    /* .5 SGX type */
    if (!o->omit_type) {
        uint8_t t = (uint8_t)(o->sgx_type ? o->sgx_type : 1);
        if (o->nonminimal_type)
            v = prim(0x0a, (const uint8_t[]){0x00, t}, 2);
        else
            v = prim(0x0a, &t, 1);
        elem(&seq, (const uint8_t[]){5}, 1, &v);
    }
    if (o->config) {
        v = prim(0x04, ppid, 16);
        elem(&seq, (const uint8_t[]){6}, 1, &v);
        struct der cfg = {.n = 0};
        v = prim(0x01, (const uint8_t[]){0xff}, 1);
        elem(&cfg, (const uint8_t[]){7, 1}, 2, &v);
        v = prim(0x01, &o->bool_byte, 1);
        elem(&cfg, (const uint8_t[]){7, 2}, 2, &v);
        if (o->unknown_config) {
            v = prim(0x02, (const uint8_t[]){7}, 1);
            elem(&cfg, (const uint8_t[]){7, 4}, 2, &v);
        }
        v = prim(0x01, (const uint8_t[]){0xff}, 1);
        elem(&cfg, (const uint8_t[]){7, 3}, 2, &v);
        v = prim(0x30, cfg.b, cfg.n);
        elem(&seq, (const uint8_t[]){7}, 1, &v);
    }
    if (o->unknown_top || o->unknown_top_twice) {
        v = prim(0x0c, "future", 6);
        elem(&seq, (const uint8_t[]){8}, 1, &v);
        if (o->unknown_top_twice)
            elem(&seq, (const uint8_t[]){8}, 1, &v);
        /* a multi-octet child (.200) is a child too */
        elem(&seq, (const uint8_t[]){0x81, 0x48}, 2, &v);
    }
    if (o->grandchild_top) {
        v = prim(0x02, (const uint8_t[]){1}, 1);
        elem(&seq, (const uint8_t[]){2, 1}, 2, &v);
    }
    if (o->outside_arc) {
        struct der e = {.n = 0}, oid = {.n = 0};
        uint8_t x[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0e};
        put_tlv(&oid, 0x06, x, sizeof x);
        put(&e, oid.b, oid.n);
        v = prim(0x05, NULL, 0);
        put(&e, v.b, v.n);
        put_tlv(&seq, 0x30, e.b, e.n);
    }
    struct der top = {.n = 0};
    put_tlv(&top, 0x30, seq.b, seq.n);
    assert_true(top.n <= cap);
    memcpy(out, top.b, top.n);
    return top.n;
}

static int parse(const struct opts *o, struct dcap_pck_ext *e, const char **why)
{
    uint8_t der[2048];
    size_t n = build(o, der, sizeof der);
    uint8_t *exact = malloc(n);
    assert_non_null(exact);
    memcpy(exact, der, n);
    int rc = dcap_pck_ext_parse_der(exact, n, e, why);
    free(exact);
    return rc;
}

static void expect_reject(const struct opts *o, const char *needle)
{
    struct dcap_pck_ext e;
    const char *why = NULL;
    assert_int_equal(parse(o, &e, &why), -1);
    assert_non_null(why);
    if (!strstr(why, needle))
        fail_msg("reason \"%s\" lacks \"%s\"", why, needle);
    assert_true(ct_is_zero(&e, sizeof e));
}

static void test_hand_built_valid(void **state)
{
    (void)state;
    struct dcap_pck_ext e;
    const char *why = NULL;
    struct opts o = {.fmspc_len = 0};
    assert_int_equal(parse(&o, &e, &why), 0);
    hexeq(e.fmspc, 6, "90c06f000000");
    assert_int_equal(e.pcesvn, 13);
    hexeq(e.comp_svn, 16, "03030202040100050000000000000000");
    assert_int_equal(e.sgx_type, 1);
    assert_false(e.has_configuration);
    assert_false(e.has_platform_instance_id);

    o = (struct opts){.config = true, .bool_byte = 0x00};
    assert_int_equal(parse(&o, &e, &why), 0);
    assert_true(e.has_configuration && e.has_platform_instance_id);
    assert_true(e.dynamic_platform && !e.cached_keys && e.smt_enabled);
    o.sgx_type = 2;
    assert_int_equal(parse(&o, &e, &why), 0);
    assert_int_equal(e.sgx_type, 2);

    /* Forward compatibility: unknown children of the arc and of .7, once each. */
    o = (struct opts){.config = true, .bool_byte = 0xff, .unknown_top = true,
                      .unknown_config = true};
    assert_int_equal(parse(&o, &e, &why), 0);
    assert_true(e.cached_keys);
    hexeq(e.fmspc, 6, "90c06f000000");
}

static void test_hand_built_rejections(void **state)
{
    (void)state;
    expect_reject(&(struct opts){.fmspc_len = 5}, "FMSPC (.4) is not a 6-byte");
    expect_reject(&(struct opts){.fmspc_len = 7}, "FMSPC (.4) is not a 6-byte");
    expect_reject(&(struct opts){.omit_fmspc = true}, "FMSPC (.4) missing");
    expect_reject(&(struct opts){.omit_ppid = true}, "PPID (.1) missing");
    expect_reject(&(struct opts){.omit_type = true}, "SGX type (.5) missing");
    expect_reject(&(struct opts){.dup_fmspc = true}, "duplicate element");
    expect_reject(&(struct opts){.nonminimal_comp = true}, "component SVN is not a DER INTEGER");
    expect_reject(&(struct opts){.negative_comp = true}, "component SVN is not a DER INTEGER");
    expect_reject(&(struct opts){.comp_256 = true}, "component SVN is not a DER INTEGER 0..255");
    expect_reject(&(struct opts){.dup_comp = true}, "duplicate TCB component");
    expect_reject(&(struct opts){.omit_comp = true}, "TCB (.2) lacks a component");
    expect_reject(&(struct opts){.extra_comp = true}, "not .2.1-.2.18");
    expect_reject(&(struct opts){.pcesvn_big = true}, "PCESVN (.2.17)");
    expect_reject(&(struct opts){.sgx_type = 3}, "SGX type (.5)");
    expect_reject(&(struct opts){.nonminimal_type = true}, "SGX type (.5)");
    expect_reject(&(struct opts){.config = true, .bool_byte = 0x01}, "not a DER BOOLEAN");
    expect_reject(&(struct opts){.unknown_top_twice = true}, "duplicate or too many unknown");
    expect_reject(&(struct opts){.grandchild_top = true}, "is not 1.2.840.113741.1.13.1.N");
    expect_reject(&(struct opts){.outside_arc = true}, "is not 1.2.840.113741.1.13.1.N");
    expect_reject(&(struct opts){.nonminimal_len = true}, "malformed element");

    /* Outer framing: indefinite length, non-minimal long form, wrong tag, trailing bytes. */
    uint8_t der[2048];
    size_t n = build(&(struct opts){.fmspc_len = 0}, der, sizeof der);
    struct dcap_pck_ext e;
    const char *why = NULL;
    assert_int_equal(dcap_pck_ext_parse_der(der, n, &e, &why), 0);
    assert_int_equal(der[1], 0x82); /* long form, 2 octets */
    uint8_t alt[2100];
    memcpy(alt, der, n);
    alt[0] = 0x31; /* SET */
    assert_int_equal(dcap_pck_ext_parse_der(alt, n, &e, &why), -1);
    /* 30 83 00 xx xx: three length octets, a leading zero */
    alt[0] = 0x30;
    alt[1] = 0x83;
    alt[2] = 0x00;
    memcpy(alt + 3, der + 2, n - 2);
    assert_int_equal(dcap_pck_ext_parse_der(alt, n + 1, &e, &why), -1);
    /* 30 80 ... 00 00: BER indefinite length */
    alt[1] = 0x80;
    memcpy(alt + 2, der + 4, n - 4);
    alt[n - 2] = 0;
    alt[n - 1] = 0;
    assert_int_equal(dcap_pck_ext_parse_der(alt, n, &e, &why), -1);
    assert_int_equal(dcap_pck_ext_parse_der(NULL, 0, &e, &why), -1);
    assert_int_equal(dcap_pck_ext_parse_der(der, 0, &e, &why), -1);
    /* A short value (< 128 bytes) with a long-form length: 30 81 03 ... */
    const uint8_t shortform[] = {0x30, 0x81, 0x03, 0x02, 0x01, 0x00};
    assert_int_equal(dcap_pck_ext_parse_der(shortform, sizeof shortform, &e, &why), -1);
    /* An empty SEQUENCE: everything missing. */
    const uint8_t empty[] = {0x30, 0x00};
    assert_int_equal(dcap_pck_ext_parse_der(empty, sizeof empty, &e, &why), -1);
    assert_non_null(strstr(why, "missing"));

    /* Every truncation of the hand-built value with configuration fails. */
    n = build(&(struct opts){.config = true, .unknown_top = true}, der, sizeof der);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(dcap_pck_ext_parse_der(der, k, &e, &why), -1);
    assert_int_equal(dcap_pck_ext_parse_der(der, n, &e, &why), 0);
}

/* Rewrite the real value's PCESVN INTEGER (02 01 xx) as the two-octet 02 02 00 <low>, fixing
 * the lengths of its component SEQUENCE (short form), of the TCB SEQUENCE and its element
 * (both long form 82 hi lo) and of the outer SEQUENCE. Returns the new length (n + 1). */
static size_t pcesvn_rewrite(const uint8_t *der, size_t n, uint8_t low, uint8_t *nm)
{
    const uint8_t pce[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d,
                           0x01, 0x0d, 0x01, 0x02, 0x11, 0x02, 0x01};
    size_t pa = 0;
    for (size_t i = 0; i + sizeof pce <= n && !pa; i++)
        if (memcmp(der + i, pce, sizeof pce) == 0)
            pa = i;
    assert_true(pa > 4);
    memcpy(nm, der, pa + 14);
    size_t w = pa + 14;
    nm[w++] = 0x02;
    nm[w++] = 0x00;
    nm[w++] = low;
    memcpy(nm + w, der + pa + 16, n - pa - 16);
    w += n - pa - 16;
    assert_int_equal(w, n + 1);
    nm[pa - 1] += 1;
    size_t fixed = 0;
    for (size_t i = 4; i < pa && fixed < 2; i++)
        if (nm[i] == 0x30 && nm[i + 1] == 0x82) {
            size_t l = (((size_t)nm[i + 2] << 8) | nm[i + 3]) + 1;
            nm[i + 2] = (uint8_t)(l >> 8);
            nm[i + 3] = (uint8_t)l;
            fixed++;
        }
    assert_int_equal(fixed, 2);
    size_t body = (((size_t)nm[2] << 8) | nm[3]) + 1;
    nm[2] = (uint8_t)(body >> 8);
    nm[3] = (uint8_t)body;
    return w;
}

/* Mutating a real value: a second FMSPC element appended inside the outer SEQUENCE. */
static void test_real_value_mutations(void **state)
{
    (void)state;
    X509 *leaf = NULL;
    size_t len = 0;
    uint8_t *q = test_vector("DCAP", VECS[1].rel, &len);
    if (!q)
        skip();
    free(q);
    leaf = real_leaf(&VECS[1]);
    uint8_t der[1024];
    size_t n = ext_value(leaf, der, sizeof der);
    X509_free(leaf);
    assert_int_equal(der[1], 0x82);
    size_t body = ((size_t)der[2] << 8) | der[3];
    assert_int_equal(body + 4, n);
    /* Find the FMSPC element: 30 14 06 0a <arc> 04 04 06 ... */
    const uint8_t pat[] = {0x30, 0x14, 0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf8,
                           0x4d, 0x01, 0x0d, 0x01, 0x04, 0x04, 0x06};
    size_t at = 0;
    for (size_t i = 0; i + sizeof pat <= n && !at; i++)
        if (memcmp(der + i, pat, sizeof pat) == 0)
            at = i;
    assert_true(at > 0);
    struct dcap_pck_ext e;
    const char *why = NULL;

    /* duplicate: append the 22-byte element again, fix the outer length */
    uint8_t dup[1100];
    memcpy(dup, der, n);
    memcpy(dup + n, der + at, 22);
    dup[2] = (uint8_t)((body + 22) >> 8);
    dup[3] = (uint8_t)(body + 22);
    assert_int_equal(dcap_pck_ext_parse_der(dup, n + 22, &e, &why), -1);
    assert_non_null(strstr(why, "duplicate"));

    /* 5-byte FMSPC: shrink the OCTET STRING and every enclosing length */
    uint8_t cut[1100];
    memcpy(cut, der, at + 21);
    memcpy(cut + at + 21, der + at + 22, n - at - 22);
    cut[at + 1] = 0x13;
    cut[at + 15] = 0x05;
    cut[2] = (uint8_t)((body - 1) >> 8);
    cut[3] = (uint8_t)(body - 1);
    assert_int_equal(dcap_pck_ext_parse_der(cut, n - 1, &e, &why), -1);
    assert_non_null(strstr(why, "FMSPC"));

    /* missing FMSPC: drop the element */
    memcpy(cut, der, at);
    memcpy(cut + at, der + at + 22, n - at - 22);
    cut[2] = (uint8_t)((body - 22) >> 8);
    cut[3] = (uint8_t)(body - 22);
    assert_int_equal(dcap_pck_ext_parse_der(cut, n - 22, &e, &why), -1);
    assert_non_null(strstr(why, "FMSPC (.4) missing"));

    /* non-minimal INTEGER: PCESVN 02 01 0d -> 02 02 00 0d is rejected; the same rewrite to
     * 02 02 00 8d (minimal: 141) parses, which shows the length fix-ups are right. */
    uint8_t nm[1100];
    size_t w = pcesvn_rewrite(der, n, 0x0d, nm);
    assert_int_equal(dcap_pck_ext_parse_der(nm, w, &e, &why), -1);
    assert_non_null(strstr(why, "PCESVN"));
    w = pcesvn_rewrite(der, n, 0x8d, nm);
    assert_int_equal(dcap_pck_ext_parse_der(nm, w, &e, &why), 0);
    assert_int_equal(e.pcesvn, 141);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_pck_leaves),
        cmocka_unit_test(test_non_pck_certificates),
        cmocka_unit_test(test_hand_built_valid),
        cmocka_unit_test(test_hand_built_rejections),
        cmocka_unit_test(test_real_value_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
