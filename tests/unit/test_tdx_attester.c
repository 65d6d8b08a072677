/*
 * test_tdx_attester.c - the Intel TDX attester's configfs-tsm path (src/attester/tdx) against a
 * fake tree in a mkdtemp directory, and its clean error when configfs-tsm is absent.
 *
 * Design: the attester's configfs code (src/attester/tsm.c) runs unchanged; only its four
 * filesystem primitives (attester/tsm.h) are wrapped, by the shared fake tree of
 * tests/lib/fake_tsm_tree.h. The wrappers call the real POSIX primitives on the temp tree and
 * add what the kernel would do synchronously: mkdir creates the attributes (provider,
 * generation, inblob, outblob), every write bumps generation, and writing inblob makes
 * outblob a DCAP quote over that REPORT_DATA, built by a tiny in-test quoting enclave: the quote signature by a fresh P-256 attestation key and the QE-report
 * binding are real, the QE-report signature and PCK chain are placeholders (the attester
 * checks no signature; the verifier does). Faults (a racing writer, another provider, stale
 * report_data, an SGX quote, garbage, an oversized or padded outblob) are switched on per
 * test. Must never depend on the network or a real TDX guest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "attester/attester.h"
#include "attester/tdx/tdx_attester.h"
#include "attester/tsm.h"
#include "binding/binder.h"
#include "evidence/dcap/dcap_quote.h"
#include "lib/fake_tsm_tree.h"
#include "util/util.h"

enum quote_kind {
    QUOTE_TD10_V4 = 0,
    QUOTE_TD15_V5,
    QUOTE_SGX_V3,
    QUOTE_GARBAGE,
    QUOTE_OVERSIZED,
    QUOTE_EMPTY,
};

struct fake {
    struct fake_tsm_tree tree;
    int extra_bumps;      /* a racing writer bumps generation this often on inblob */
    bool stale;           /* the quote carries other REPORT_DATA */
    enum quote_kind kind;
    size_t padding;       /* zero bytes after the quote */
    uint8_t last_quote[8192]; /* the quote as built (without padding) */
    size_t last_quote_len;
    int inblob_writes;
};

static struct fake g;
static EVP_PKEY *g_att_key; /* the in-test quoting enclave's attestation key */

/* ---- a tiny quoting enclave ---- */

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void put_le(struct buf *b, uint64_t v, size_t n)
{
    uint8_t t[8];
    for (size_t i = 0; i < n; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    put(b, t, n);
}

static void put_fill(struct buf *b, uint8_t v, size_t n)
{
    uint8_t t[64];
    memset(t, v, sizeof t);
    while (n) {
        size_t k = n > sizeof t ? sizeof t : n;
        put(b, t, k);
        n -= k;
    }
}

static const uint8_t INTEL_QE_VENDOR[16] = {0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C, 0x4C, 0xA9,
                                            0x94, 0x0A, 0x0D, 0xB3, 0x95, 0x7F, 0x06, 0x07};

static void raw_pub(EVP_PKEY *k, uint8_t xy[64])
{
    uint8_t pt[65];
    size_t n = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt,
                                                     &n),
                     1);
    assert_int_equal(n, 65);
    memcpy(xy, pt + 1, 64);
}

static void sign_raw(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t rs[64])
{
    uint8_t der[80];
    size_t dl = sizeof der;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(m, der, &dl, msg, len), 1);
    EVP_MD_CTX_free(m);
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    assert_non_null(s);
    BN_bn2binpad(ECDSA_SIG_get0_r(s), rs, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(s), rs + 32, 32);
    ECDSA_SIG_free(s);
}

/* An SGX report body (384 B) with the given report_data. */
static void sgx_body(struct buf *b, const uint8_t rd[64], uint16_t prodid, uint16_t svn)
{
    put_fill(b, 0, 16 + 4 + 28);          /* cpu_svn, miscselect, reserved */
    put_le(b, 0x11, 8);                   /* attributes flags: INIT | MODE64 */
    put_le(b, 0xe7, 8);                   /* xfrm */
    put_fill(b, 0xAB, 32);                /* mrenclave */
    put_fill(b, 0, 32);
    put_fill(b, 0xCD, 32);                /* mrsigner */
    put_fill(b, 0, 96);
    put_le(b, prodid, 2);
    put_le(b, svn, 2);
    put_fill(b, 0, 60);
    put(b, rd, 64);
}

/* A TD 1.0 body (584 B), or TD 1.5 (648 B). */
static void td_body(struct buf *b, const uint8_t rd[64], bool td15)
{
    static const uint8_t tee_tcb_svn[16] = {3, 1, 2};
    put(b, tee_tcb_svn, 16);
    put_fill(b, 0x5E, 48); /* MRSEAM */
    put_fill(b, 0, 48);    /* MRSIGNERSEAM */
    put_le(b, 0, 8);       /* SEAM_ATTRIBUTES */
    put_le(b, 0, 8);       /* TD_ATTRIBUTES */
    put_le(b, 0x61ae7, 8); /* XFAM */
    put_fill(b, 0x7D, 48); /* MRTD */
    put_fill(b, 0, 3 * 48);
    put_fill(b, 0x12, 4 * 48); /* RTMRs */
    put(b, rd, 64);
    if (td15) {
        put_fill(b, 0, 16);
        put_fill(b, 0, 48);
    }
}

/* The quote over rd: header, body, then the signature data (v3 flat, v4/v5 nested 6 > 5). */
static void build_quote(enum quote_kind kind, const uint8_t rd[64], struct buf *q)
{
    uint16_t version = kind == QUOTE_SGX_V3 ? 3 : kind == QUOTE_TD15_V5 ? 5 : 4;
    put_le(q, version, 2);
    put_le(q, DCAP_ATT_KEY_ECDSA_P256, 2);
    put_le(q, kind == QUOTE_SGX_V3 ? DCAP_TEE_SGX : DCAP_TEE_TDX, 4);
    put_le(q, 4, 2); /* qe_svn */
    put_le(q, 7, 2); /* pce_svn */
    put(q, INTEL_QE_VENDOR, 16);
    put_fill(q, 0x55, 20);
    if (kind == QUOTE_TD15_V5) {
        put_le(q, DCAP_BODY_TD15, 2);
        put_le(q, DCAP_TD15_BODY_LEN, 4);
    }
    if (kind == QUOTE_SGX_V3)
        sgx_body(q, rd, 1, 1);
    else
        td_body(q, rd, kind == QUOTE_TD15_V5);

    uint8_t sig[64], key[64], auth[32], qe_rd[64], qe_sig[64];
    sign_raw(g_att_key, q->p, q->len, sig);
    raw_pub(g_att_key, key);
    memset(auth, 0xA5, sizeof auth);
    uint8_t ka[96];
    memcpy(ka, key, 64);
    memcpy(ka + 64, auth, 32);
    memset(qe_rd, 0, sizeof qe_rd);
    SHA256(ka, sizeof ka, qe_rd);
    memset(qe_sig, 0x42, sizeof qe_sig); /* placeholder: no PCK key in this test */
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nplaceholder\n"
                              "-----END CERTIFICATE-----\n";

    struct buf inner = {0};
    sgx_body(&inner, qe_rd, 2, 4); /* the QE report */
    put(&inner, qe_sig, 64);
    put_le(&inner, sizeof auth, 2);
    put(&inner, auth, sizeof auth);
    put_le(&inner, DCAP_CERT_PCK_CHAIN, 2);
    put_le(&inner, sizeof pem, 4);
    put(&inner, pem, sizeof pem); /* NUL-terminated, as real quotes often are */

    struct buf sd = {0};
    put(&sd, sig, 64);
    put(&sd, key, 64);
    if (version == 3) {
        put(&sd, inner.p, inner.len);
    } else {
        put_le(&sd, DCAP_CERT_QE_REPORT, 2);
        put_le(&sd, inner.len, 4);
        put(&sd, inner.p, inner.len);
    }
    put_le(q, sd.len, 4);
    put(q, sd.p, sd.len);
    free(inner.p);
    free(sd.p);
}

/* ---- the kernel's side ---- */

static void made(struct fake_tsm_tree *t, const char *dir)
{
    (void)t;
    fake_tsm_write_file(dir, "outblob", "", 0);
}

static void written(struct fake_tsm_tree *t, const char *dir, const char *attr,
                    const uint8_t *data, size_t len)
{
    (void)t;
    /* tdx_guest has no privlevel or other option: inblob is the only write. */
    assert_string_equal(attr, "inblob");
    assert_int_equal(len, 64);
    g.inblob_writes++;
    uint8_t rd[64];
    memcpy(rd, data, 64);
    if (g.stale)
        rd[63] ^= 0x01;
    struct buf q = {0};
    switch (g.kind) {
    case QUOTE_GARBAGE:
        put_fill(&q, 0xEE, 5000);
        break;
    case QUOTE_OVERSIZED:
        build_quote(QUOTE_TD10_V4, rd, &q);
        put_fill(&q, 0, TDX_OUTBLOB_MAX + 1 - q.len);
        break;
    case QUOTE_EMPTY:
        break;
    default:
        build_quote(g.kind, rd, &q);
        assert_true(q.len <= sizeof g.last_quote);
        memcpy(g.last_quote, q.p, q.len);
        g.last_quote_len = q.len;
        put_fill(&q, 0, g.padding);
        break;
    }
    fake_tsm_write_file(dir, "outblob", q.p, q.len);
    free(q.p);
    if (g.extra_bumps)
        fake_tsm_bump_generation(dir, g.extra_bumps);
}

static const struct fake_tsm_hooks HOOKS = {made, written};
static const struct tsm_ops FAKE_OPS = FAKE_TSM_TREE_OPS(&g.tree);

/* ---- fixtures ---- */

static struct binder g_binder;

static int group_setup(void **state)
{
    (void)state;
    g_att_key = EVP_EC_gen("P-256");
    return g_att_key && fake_tsm_test_binder(&g_binder) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(g_att_key);
    return 0;
}

static int setup(void **state)
{
    memset(&g, 0, sizeof g);
    return fake_tsm_tree_setup(state, &g.tree, "tdx", "tdx_guest", 11, &HOOKS);
}

/* Run the backend's evidence() through the fake tree. */
static int run(uint8_t **ev, size_t *len, char *err, size_t errlen)
{
    struct attester *a = tdx_attester_open_with(g.tree.root, &FAKE_OPS, err, errlen);
    assert_non_null(a);
    int rc = attester_tdx.evidence(a, &g_binder, ev, len, err, errlen);
    attester_tdx.close(a);
    fake_tsm_tree_assert_clean(&g.tree);
    if (rc != 0) {
        assert_null(*ev);
        assert_int_equal(*len, 0);
    }
    return rc;
}

static void assert_refused(const char *needle)
{
    uint8_t *ev = (uint8_t *)1;
    size_t len = 1;
    char err[512] = "";
    assert_int_equal(run(&ev, &len, err, sizeof err), -1);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

/* ---- tests ---- */

static void test_configfs_quote_is_bound_to_the_binder(void **state)
{
    (void)state;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[512] = "";
    assert_int_equal(run(&ev, &len, err, sizeof err), 0);
    assert_int_equal(g.inblob_writes, 1);
    assert_int_equal(len, g.last_quote_len);
    assert_memory_equal(ev, g.last_quote, len);
    struct dcap_quote q;
    const char *why = NULL;
    assert_int_equal(dcap_quote_parse(ev, len, &q, &why), 0);
    assert_int_equal(q.header.tee_type, DCAP_TEE_TDX);
    assert_int_equal(q.body_type, DCAP_BODY_TD10);
    assert_memory_equal(q.report_data, g_binder.report_data, 64);
    assert_int_equal(dcap_quote_verify_quote_sig(&q), DCAP_SIG_OK);
    assert_int_equal(dcap_quote_verify_qe_binding(&q), DCAP_SIG_OK);
    assert_string_equal(attester_tdx.media_type, DCAP_TDX_MEDIA_TYPE);
    free(ev);
}

static void test_a_v5_td15_quote_is_accepted(void **state)
{
    (void)state;
    g.kind = QUOTE_TD15_V5;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[512] = "";
    assert_int_equal(run(&ev, &len, err, sizeof err), 0);
    struct dcap_quote q;
    const char *why = NULL;
    assert_int_equal(dcap_quote_parse(ev, len, &q, &why), 0);
    assert_int_equal(q.body_type, DCAP_BODY_TD15);
    assert_memory_equal(q.report_data, g_binder.report_data, 64);
    free(ev);
}

static void test_a_padded_quote_is_trimmed_to_its_length(void **state)
{
    (void)state;
    g.padding = 8000 - 5000 + 123; /* like GCP's zero-padded 8000-byte buffers */
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[512] = "";
    assert_int_equal(run(&ev, &len, err, sizeof err), 0);
    assert_int_equal(len, g.last_quote_len);
    assert_memory_equal(ev, g.last_quote, len);
    struct dcap_quote q;
    const char *why = NULL;
    assert_int_equal(dcap_quote_parse(ev, len, &q, &why), 0);
    assert_int_equal(q.quote_len, len);
    free(ev);
}

static void test_another_provider_is_refused(void **state)
{
    (void)state;
    g.tree.provider = "sev_guest";
    assert_refused("sev_guest");
    assert_int_equal(g.inblob_writes, 0);
}

static void test_a_racing_writer_changing_generation_is_refused(void **state)
{
    (void)state;
    g.extra_bumps = 1;
    assert_refused("generation");
}

static void test_a_quote_over_other_report_data_is_refused(void **state)
{
    (void)state;
    g.stale = true;
    assert_refused("REPORT_DATA");
}

static void test_an_sgx_quote_is_refused(void **state)
{
    (void)state;
    g.kind = QUOTE_SGX_V3;
    assert_refused("not a TDX quote");
}

static void test_a_garbage_outblob_is_refused(void **state)
{
    (void)state;
    g.kind = QUOTE_GARBAGE;
    assert_refused("not a DCAP quote");
}

static void test_an_empty_outblob_is_refused(void **state)
{
    (void)state;
    g.kind = QUOTE_EMPTY;
    assert_refused("empty");
}

static void test_an_oversized_outblob_is_refused(void **state)
{
    (void)state;
    g.kind = QUOTE_OVERSIZED;
    assert_refused("too large");
}

static void test_an_all_zero_report_data_is_refused_before_touching_configfs(void **state)
{
    (void)state;
    struct attester *a = tdx_attester_open_with(g.tree.root, &FAKE_OPS, NULL, 0);
    assert_non_null(a);
    struct binder zero;
    memset(&zero, 0, sizeof zero);
    zero.hash_len = 32;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[256] = "";
    assert_int_equal(attester_tdx.evidence(a, &zero, &ev, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "all-zero"));
    assert_int_equal(g.tree.made, 0);
    attester_tdx.close(a);
}

static void test_without_configfs_tsm_the_error_names_what_is_missing(void **state)
{
    (void)state;
    char root[300], err[512] = "";
    snprintf(root, sizeof root, "%s/no-configfs", g.tree.root);
    struct attester *a = tdx_attester_open_with(root, &tsm_posix_ops, err, sizeof err);
    assert_non_null(a);
    uint8_t *ev = (uint8_t *)1;
    size_t len = 1;
    assert_int_equal(attester_tdx.evidence(a, &g_binder, &ev, &len, err, sizeof err), -1);
    assert_null(ev);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err, "configfs-tsm"));
    assert_non_null(strstr(err, "no-configfs does not exist"));
    assert_non_null(strstr(err, "tdx_guest"));
    attester_tdx.close(a);
    assert_true(fake_tsm_dir_is_empty(g.tree.root));
}

static void test_tdx_specs_open_through_attester_open(void **state)
{
    (void)state;
    struct attester_handle h;
    char err[512] = "";
    /* Opening never probes the hardware; evidence on this (non-TDX) host fails cleanly. */
    assert_int_equal(attester_open("tdx", &h, err, sizeof err), 0);
    assert_ptr_equal(h.backend, &attester_tdx);
    uint8_t *ev = NULL;
    size_t len = 0;
    if (access("/sys/kernel/config/tsm/report", F_OK) != 0) {
        assert_int_equal(h.backend->evidence(h.state, &g_binder, &ev, &len, err, sizeof err), -1);
        assert_non_null(strstr(err, "not a TDX guest"));
    }
    attester_close(&h);
    assert_int_equal(attester_open("tdx:", &h, err, sizeof err), 0);
    attester_close(&h);
    char spec[300];
    snprintf(spec, sizeof spec, "tdx:%s", g.tree.root);
    assert_int_equal(attester_open(spec, &h, err, sizeof err), 0);
    assert_ptr_equal(h.backend, &attester_tdx);
    attester_close(&h);
    assert_int_equal(attester_open("tdx:relative/dir", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "absolute"));
    assert_int_equal(attester_open("nope", &h, err, sizeof err), -1);
    assert_int_equal(attester_open("nope:x", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "tdx"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fake_tsm_tree_teardown)
    const struct CMUnitTest tests[] = {
        T(test_configfs_quote_is_bound_to_the_binder),
        T(test_a_v5_td15_quote_is_accepted),
        T(test_a_padded_quote_is_trimmed_to_its_length),
        T(test_another_provider_is_refused),
        T(test_a_racing_writer_changing_generation_is_refused),
        T(test_a_quote_over_other_report_data_is_refused),
        T(test_an_sgx_quote_is_refused),
        T(test_a_garbage_outblob_is_refused),
        T(test_an_empty_outblob_is_refused),
        T(test_an_oversized_outblob_is_refused),
        T(test_an_all_zero_report_data_is_refused_before_touching_configfs),
        T(test_without_configfs_tsm_the_error_names_what_is_missing),
        T(test_tdx_specs_open_through_attester_open),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
