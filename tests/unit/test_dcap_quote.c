/*
 * test_dcap_quote.c - the Intel DCAP quote parser and its three signature checks
 * (src/evidence/dcap/dcap_quote.c).
 *
 * Real quotes from $TETHER_VECTORS/{tdx,sgx} (../shared/vectors by default; EXPECTED.txt
 * "=== Intel DCAP quotes ===" and research evidence.md A2/B2/B3 give the facts asserted here)
 * are parsed, their quote / QE-binding / QE-report signatures checked, and the embedded PCK
 * chain verified to roots/intel/IntelSGXRootCA.pem at a fixed time. Cases skip with a note
 * when the vectors are absent. Must never depend on the network or write files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "evidence/dcap/dcap_quote.h"
#include "util/util.h"
#include "lib/vectors.h"

/* 2026-06-01T00:00:00Z: inside every PCK leaf's validity (the latest starts 2026-01-27). */
#define CHAIN_CHECK_TIME ((time_t)1780272000)

struct vec {
    const char *rel;
    uint16_t version;
    uint32_t tee;
    size_t file_len;      /* EXPECTED.txt len= */
    uint32_t sig_data_len; /* EXPECTED.txt siglen= */
    enum dcap_body_type body;
    size_t nonzero_trailer; /* bytes of non-zero trailer after the signature data */
};

static const struct vec VECS[] = {
    /* go-tdx-guest appended "\nextra bytes(only for testing purpose)\n" (39 B). */
    {"tdx/go-tdx-guest/spr_v4_quote.dat", 4, 0x81, 4974, 4299, DCAP_BODY_TD10, 39},
    {"tdx/go-tdx-guest/emr_v5_quote.dat", 5, 0x81, 5006, 4300, DCAP_BODY_TD15, 0},
    /* Zero-padded by 70 bytes after the signature data. */
    {"tdx/phala-dcap-qvl/emr_v4_quote.bin", 4, 0x81, 5006, 4300, DCAP_BODY_TD10, 0},
    {"tdx/phala-dcap-qvl/emr_v5_quote_outdated.bin", 5, 0x81, 5006, 4300, DCAP_BODY_TD15, 0},
    {"sgx/phala-dcap-qvl/sgx_v3_quote.bin", 3, 0x0, 4600, 4164, DCAP_BODY_SGX, 0},
    {"sgx/trustee/icx_v3_occlum_quote.dat", 3, 0x0, 4733, 4297, DCAP_BODY_SGX, 0},
};
#define NVECS (sizeof VECS / sizeof VECS[0])

/* Load a vector without its non-zero test trailer; NULL if absent. */
static uint8_t *load(const struct vec *v, size_t *len)
{
    uint8_t *q = test_vector("DCAP", v->rel, len);
    if (!q)
        return NULL;
    assert_int_equal(*len, v->file_len);
    *len -= v->nonzero_trailer;
    return q;
}

static size_t expected_signed_len(const struct vec *v)
{
    return v->version == 3 ? 432 : v->version == 4 ? 632 : 54 + 648;
}

static X509 *intel_root(void)
{
    FILE *f = fopen("roots/intel/IntelSGXRootCA.pem", "r");
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

/* The embedded PCK chain: leaf <- intermediate <- Intel SGX Root CA (pinned). */
static void check_pck_chain(const struct dcap_quote *q, X509 *root)
{
    STACK_OF(X509) *chain = NULL;
    assert_int_equal(dcap_quote_pck_chain(q, &chain), 0);
    assert_int_equal(sk_X509_num(chain), 3);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 2), root), 0); /* root pin */
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_non_null(st);
    assert_non_null(ctx);
    assert_int_equal(X509_STORE_add_cert(st, root), 1);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    sk_X509_push(untrusted, sk_X509_value(chain, 1));
    assert_int_equal(X509_STORE_CTX_init(ctx, st, sk_X509_value(chain, 0), untrusted), 1);
    X509_STORE_CTX_set_time(ctx, 0, CHAIN_CHECK_TIME);
    int ok = X509_verify_cert(ctx);
    if (ok != 1)
        fprintf(stderr, "# chain: %s\n",
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    assert_int_equal(ok, 1);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    sk_X509_free(untrusted);
    sk_X509_pop_free(chain, X509_free);
}

static void test_real_quotes_parse_verify_and_chain_to_the_intel_root(void **state)
{
    (void)state;
    X509 *root = intel_root();
    if (!root) {
        fprintf(stderr, "# skip: roots/intel/IntelSGXRootCA.pem not found (run from the tree)\n");
        skip();
    }
    int seen = 0;
    for (size_t i = 0; i < NVECS; i++) {
        const struct vec *v = &VECS[i];
        size_t len = 0;
        uint8_t *buf = load(v, &len);
        if (!buf)
            continue;
        seen++;
        struct dcap_quote q;
        const char *why = NULL;
        if (dcap_quote_parse(buf, len, &q, &why) != 0)
            fail_msg("%s: %s", v->rel, why);
        assert_int_equal(q.header.version, v->version);
        assert_int_equal(q.header.tee_type, v->tee);
        assert_int_equal(q.header.att_key_type, 2);
        assert_int_equal(q.sig_data_len, v->sig_data_len);
        assert_int_equal(q.body_type, v->body);
        assert_int_equal(q.signed_len, expected_signed_len(v));
        assert_int_equal(q.quote_len, q.signed_len + 4 + v->sig_data_len);
        assert_ptr_equal(q.signed_region, buf);
        /* REPORTDATA: absolute [368:432) v3, [568:632) v4, [574:638) v5 TD1.5. */
        size_t rd = v->version == 3 ? 368 : v->version == 4 ? 568 : 574;
        assert_ptr_equal(q.report_data, buf + rd);
        const uint8_t *body_rd =
            v->body == DCAP_BODY_SGX ? q.body.sgx.report_data : q.body.td.report_data;
        assert_memory_equal(body_rd, buf + rd, 64);
        assert_int_equal(q.qe_auth_len, 32);
        assert_true(q.pck_chain_pem_len > 3000);
        /* The QE is Intel's: SGX QE isvprodid 1, TD_QE isvprodid 2 (evidence.md A2 step 5). */
        assert_int_equal(q.qe_report.isv_prod_id, v->tee == 0x81 ? 2 : 1);

        assert_int_equal(dcap_quote_verify_quote_sig(&q), DCAP_SIG_OK);
        assert_int_equal(dcap_quote_verify_qe_binding(&q), DCAP_SIG_OK);
        assert_int_equal(dcap_quote_verify_signatures(&q), DCAP_SIG_OK);
        check_pck_chain(&q, root);

        if (v->nonzero_trailer) {
            /* The file as shipped: the non-zero trailer is refused. */
            assert_int_not_equal(dcap_quote_parse(buf, v->file_len, &q, &why), 0);
            assert_string_equal(why, "non-zero bytes after the signature data");
        }
        free(buf);
    }
    X509_free(root);
    if (!seen)
        skip();
}

static void flip(uint8_t *b, size_t off)
{
    b[off] ^= 0x01;
}

static int parse_flipped(const uint8_t *orig, size_t len, size_t off, uint8_t *work,
                         struct dcap_quote *q)
{
    memcpy(work, orig, len);
    flip(work, off);
    const char *why = NULL;
    int rc = dcap_quote_parse(work, len, q, &why);
    if (rc != 0)
        fail_msg("flip at %zu did not parse: %s", off, why);
    return rc;
}

static void test_flipped_bytes_fail_the_right_check(void **state)
{
    (void)state;
    int seen = 0;
    for (size_t i = 0; i < NVECS; i++) {
        size_t len = 0;
        uint8_t *buf = load(&VECS[i], &len);
        if (!buf)
            continue;
        seen++;
        struct dcap_quote q;
        assert_int_equal(dcap_quote_parse(buf, len, &q, NULL), 0);
        size_t off_body_rd = (size_t)(q.report_data - buf);
        size_t off_sig = q.signed_len + 4;
        size_t off_key = off_sig + 64;
        size_t off_qe = (size_t)(q.qe_report_raw - buf);
        size_t off_qe_sig = off_qe + 384;
        size_t off_auth = (size_t)(q.qe_auth_data - buf);
        uint8_t *w = malloc(len);
        assert_non_null(w);

        /* Body (REPORTDATA, a measurement, the last signed byte) and header user_data: (a). */
        size_t body_offs[] = {off_body_rd, off_body_rd + 63, off_body_rd - 100, q.signed_len - 1, 30};
        for (size_t k = 0; k < sizeof body_offs / sizeof body_offs[0]; k++) {
            parse_flipped(buf, len, body_offs[k], w, &q);
            assert_int_equal(dcap_quote_verify_quote_sig(&q), DCAP_SIG_ERR_QUOTE_SIG);
            assert_int_equal(dcap_quote_verify_qe_binding(&q), DCAP_SIG_OK);
            assert_int_equal(dcap_quote_verify_signatures(&q), DCAP_SIG_ERR_QUOTE_SIG);
        }
        /* Quote signature r and s. */
        for (size_t k = 0; k < 64; k += 63) {
            parse_flipped(buf, len, off_sig + k, w, &q);
            assert_int_equal(dcap_quote_verify_signatures(&q), DCAP_SIG_ERR_QUOTE_SIG);
        }
        /* Attestation key x and y: (a) and (b) fail; (c) still holds, so the combined
         * check (chain-of-trust order c, b, a) reports the binding. */
        for (size_t k = 0; k < 64; k += 63) {
            parse_flipped(buf, len, off_key + k, w, &q);
            assert_int_equal(dcap_quote_verify_quote_sig(&q), DCAP_SIG_ERR_QUOTE_SIG);
            assert_int_equal(dcap_quote_verify_qe_binding(&q), DCAP_SIG_ERR_QE_BINDING);
            assert_int_equal(dcap_quote_verify_signatures(&q), DCAP_SIG_ERR_QE_BINDING);
        }
        /* QE report (cpu_svn, mrsigner, report_data) and its signature: (c) fails. */
        size_t qe_offs[] = {off_qe, off_qe + 128, off_qe + 320, off_qe_sig, off_qe_sig + 63};
        for (size_t k = 0; k < sizeof qe_offs / sizeof qe_offs[0]; k++) {
            parse_flipped(buf, len, qe_offs[k], w, &q);
            assert_int_equal(dcap_quote_verify_quote_sig(&q), DCAP_SIG_OK);
            assert_int_equal(dcap_quote_verify_signatures(&q), DCAP_SIG_ERR_QE_SIG);
        }
        /* QE auth data: only (b) fails. */
        for (size_t k = 0; k < q.qe_auth_len; k += 31) {
            parse_flipped(buf, len, off_auth + k, w, &q);
            assert_int_equal(dcap_quote_verify_quote_sig(&q), DCAP_SIG_OK);
            assert_int_equal(dcap_quote_verify_qe_binding(&q), DCAP_SIG_ERR_QE_BINDING);
            assert_int_equal(dcap_quote_verify_signatures(&q), DCAP_SIG_ERR_QE_BINDING);
        }
        /* A wrong-curve PCK key is refused as a chain problem, a wrong P-256 key as (c). */
        assert_int_equal(dcap_quote_parse(buf, len, &q, NULL), 0);
        EVP_PKEY *p384 = EVP_EC_gen("P-384");
        EVP_PKEY *p256 = EVP_EC_gen("P-256");
        assert_int_equal(dcap_quote_verify_qe_sig(&q, p384), DCAP_SIG_ERR_PCK_CHAIN);
        assert_int_equal(dcap_quote_verify_qe_sig(&q, p256), DCAP_SIG_ERR_QE_SIG);
        EVP_PKEY_free(p384);
        EVP_PKEY_free(p256);
        free(w);
        free(buf);
    }
    if (!seen)
        skip();
}

static void test_every_truncation_fails_and_only_zero_padding_may_follow(void **state)
{
    (void)state;
    int seen = 0;
    for (size_t i = 0; i < NVECS; i++) {
        size_t len = 0;
        uint8_t *buf = load(&VECS[i], &len);
        if (!buf)
            continue;
        seen++;
        struct dcap_quote q;
        assert_int_equal(dcap_quote_parse(buf, len, &q, NULL), 0);
        size_t qlen = q.quote_len;
        for (size_t n = 0; n < qlen; n++) {
            const char *why = NULL;
            uint8_t *t = malloc(n ? n : 1); /* exact-size copy so ASan sees over-reads */
            assert_non_null(t);
            memcpy(t, buf, n);
            if (dcap_quote_parse(t, n, &q, &why) == 0)
                fail_msg("%s truncated to %zu parsed", VECS[i].rel, n);
            assert_non_null(why);
            free(t);
        }
        /* Zero padding after the signature data is fine; any non-zero byte is not. */
        uint8_t *p = calloc(1, qlen + 100);
        assert_non_null(p);
        memcpy(p, buf, qlen);
        assert_int_equal(dcap_quote_parse(p, qlen + 100, &q, NULL), 0);
        assert_int_equal(q.quote_len, qlen);
        for (size_t k = qlen; k < qlen + 100; k += 33) {
            p[k] = 0x01;
            assert_int_not_equal(dcap_quote_parse(p, qlen + 100, &q, NULL), 0);
            p[k] = 0;
        }
        free(p);
        free(buf);
    }
    if (!seen)
        skip();
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Mutate a copy with fn and expect the parse to fail. */
static void expect_refused(const uint8_t *buf, size_t len, size_t off, const uint8_t *val,
                           size_t n, const char *what)
{
    uint8_t *w = malloc(len);
    assert_non_null(w);
    memcpy(w, buf, len);
    memcpy(w + off, val, n);
    struct dcap_quote q;
    const char *why = NULL;
    if (dcap_quote_parse(w, len, &q, &why) == 0)
        fail_msg("%s was accepted", what);
    free(w);
}

static void test_header_and_length_fields_are_enforced(void **state)
{
    (void)state;
    int seen = 0;
    for (size_t i = 0; i < NVECS; i++) {
        const struct vec *v = &VECS[i];
        size_t len = 0;
        uint8_t *buf = load(v, &len);
        if (!buf)
            continue;
        seen++;
        struct dcap_quote q;
        assert_int_equal(dcap_quote_parse(buf, len, &q, NULL), 0);
        uint8_t b[4];
        uint16_t bad_versions[] = {0, 2, 6, 0xFFFF};
        for (size_t k = 0; k < 4; k++) {
            put16(b, bad_versions[k]);
            expect_refused(buf, len, 0, b, 2, "bad version");
        }
        /* v3 <-> v4 swap: the body size and TEE type no longer agree. */
        put16(b, v->version == 3 ? 4 : 3);
        expect_refused(buf, len, 0, b, 2, "version/TEE mismatch");
        put16(b, 3);
        expect_refused(buf, len, 2, b, 2, "P-384 attestation key type");
        put32(b, v->tee == 0 ? 0x81 : 0);
        expect_refused(buf, len, 4, b, 4, "TEE type mismatch");
        put32(b, 0x80);
        expect_refused(buf, len, 4, b, 4, "unknown TEE type");
        b[0] = buf[12] ^ 1;
        expect_refused(buf, len, 12, b, 1, "non-Intel QE vendor");
        if (v->version == 5) {
            uint16_t bad_bt[] = {0, 1, 2, 4};
            for (size_t k = 0; k < 4; k++) {
                put16(b, bad_bt[k]);
                expect_refused(buf, len, 48, b, 2, "bad v5 body type");
            }
            put32(b, 584);
            expect_refused(buf, len, 50, b, 4, "v5 body size mismatch");
        }
        /* sig_data_len one more (truncated) or one less (nested lengths do not tile). */
        size_t so = q.signed_len;
        uint32_t sdl = get32(buf + so);
        put32(b, sdl + 1);
        expect_refused(buf, len, so, b, 4, "sig_data_len + 1");
        put32(b, sdl - 1);
        expect_refused(buf, len, so, b, 4, "sig_data_len - 1");
        put32(b, 0xFFFFFFFFu);
        expect_refused(buf, len, so, b, 4, "huge sig_data_len");
        size_t off_pem = (size_t)(q.pck_chain_pem - buf);
        /* Innermost certification data type must be 5 (PEM PCK chain). */
        uint16_t bad_ct[] = {1, 4, 6, 7};
        for (size_t k = 0; k < 4; k++) {
            put16(b, bad_ct[k]);
            expect_refused(buf, len, off_pem - 6, b, 2, "cert data type");
        }
        put32(b, (uint32_t)q.pck_chain_pem_len + 1);
        expect_refused(buf, len, off_pem - 4, b, 4, "PCK data size + 1");
        put32(b, (uint32_t)q.pck_chain_pem_len - 1);
        expect_refused(buf, len, off_pem - 4, b, 4, "PCK data size - 1");
        if (v->version >= 4) {
            size_t off_outer = so + 4 + 128;
            put16(b, 5);
            expect_refused(buf, len, off_outer, b, 2, "outer cert data type 5");
            uint32_t cs = get32(buf + off_outer + 2);
            put32(b, cs - 1);
            expect_refused(buf, len, off_outer + 2, b, 4, "outer size - 1");
            put32(b, cs + 1);
            expect_refused(buf, len, off_outer + 2, b, 4, "outer size + 1");
        }
        /* Auth data length one more: everything after shifts and no longer tiles. */
        size_t off_al = (size_t)(q.qe_auth_data - buf) - 2;
        put16(b, (uint16_t)(q.qe_auth_len + 1));
        expect_refused(buf, len, off_al, b, 2, "auth len + 1");
        free(buf);
    }
    if (!seen)
        skip();
}

static void test_pck_chain_decoding(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *buf = load(&VECS[4], &len); /* SGX v3 (NUL-terminated PEM) */
    if (!buf)
        skip();
    struct dcap_quote q;
    assert_int_equal(dcap_quote_parse(buf, len, &q, NULL), 0);
    STACK_OF(X509) *chain = NULL;
    assert_int_equal(dcap_quote_pck_chain(&q, &chain), 0);
    assert_int_equal(sk_X509_num(chain), 3);
    sk_X509_pop_free(chain, X509_free);
    /* Junk after the last certificate (the trailing NUL made visible) is refused. */
    size_t off_end = (size_t)(q.pck_chain_pem - buf) + q.pck_chain_pem_len - 1;
    assert_int_equal(buf[off_end], 0);
    buf[off_end] = 'x';
    assert_int_equal(dcap_quote_parse(buf, len, &q, NULL), 0);
    assert_int_not_equal(dcap_quote_pck_chain(&q, &chain), 0);
    assert_int_equal(dcap_quote_verify_signatures(&q), DCAP_SIG_ERR_PCK_CHAIN);
    /* A broken base64 body in the leaf. */
    buf[off_end] = 0;
    size_t off_b64 = (size_t)(q.pck_chain_pem - buf) + 40;
    buf[off_b64] = '*';
    assert_int_equal(dcap_quote_parse(buf, len, &q, NULL), 0);
    assert_int_equal(dcap_quote_verify_signatures(&q), DCAP_SIG_ERR_PCK_CHAIN);
    assert_int_equal(dcap_quote_verify_signatures(NULL), DCAP_SIG_ERR_ARGS);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_quotes_parse_verify_and_chain_to_the_intel_root),
        cmocka_unit_test(test_flipped_bytes_fail_the_right_check),
        cmocka_unit_test(test_every_truncation_fails_and_only_zero_padding_may_follow),
        cmocka_unit_test(test_header_and_length_fields_are_enforced),
        cmocka_unit_test(test_pck_chain_decoding),
    };
    return cmocka_run_group_tests_name("dcap_quote", tests, NULL, NULL);
}
