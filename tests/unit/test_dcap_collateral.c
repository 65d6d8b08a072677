/*
 * test_dcap_collateral.c - the Intel DCAP collateral parsers (src/evidence/dcap/
 * dcap_collateral.c): signed-document split, TCB Info v2/v3 (SGX, TDX), Enclave Identity v2.
 *
 * Real PCS documents from $TETHER_VECTORS (../shared/vectors by default): go-tdx-guest
 * collateral and the Phala dcap-qvl decoded collateral. Each is split, its signature verified
 * over the split span with the TCB Signing certificate (first certificate of its issuer chain:
 * ECDSA P-256 / SHA-256, raw r || s), which proves the split is byte-exact, then parsed and
 * compared with EXPECTED.txt "Intel DCAP full collateral" and the documents themselves.
 * Hand-built documents cover v2, type confusion, bounds and strict types. Cases that need
 * vectors skip with a note when they are absent. Never touches the network or writes files.
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

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "evidence/dcap/dcap_collateral.h"
#include "util/util.h"
#include "lib/vectors.h"

/* ---- helpers ---- */

/* The TCB Signing key: the first certificate of an issuer chain PEM. */
static EVP_PKEY *signing_key(const char *chain_rel)
{
    size_t len;
    uint8_t *pem = test_vector("DCAP collateral", chain_rel, &len);
    if (!pem)
        return NULL;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    assert_non_null(b);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    assert_non_null(x);
    char cn[128] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    assert_string_equal(cn, "Intel SGX TCB Signing");
    EVP_PKEY *k = X509_get_pubkey(x);
    assert_non_null(k);
    X509_free(x);
    BIO_free(b);
    free(pem);
    return k;
}

/* ECDSA P-256 / SHA-256 with a raw r || s signature (converted to DER ECDSA-Sig-Value). */
static bool verify_raw(EVP_PKEY *k, const uint8_t sig[64], const uint8_t *msg, size_t n)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    assert_non_null(es);
    assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
    uint8_t *der = NULL;
    int dlen = i2d_ECDSA_SIG(es, &der);
    assert_true(dlen > 0);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_non_null(md);
    bool ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
              EVP_DigestVerify(md, der, (size_t)dlen, msg, n) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    ERR_clear_error();
    return ok;
}

/* A copy of s with the first occurrence of from replaced by to (from must occur). */
static char *subst(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at)
        fprintf(stderr, "# subst: '%s' not found\n", from);
    assert_non_null(at);
    size_t pre = (size_t)(at - s), fl = strlen(from), tl = strlen(to), sl = strlen(s);
    char *o = malloc(sl - fl + tl + 1);
    assert_non_null(o);
    memcpy(o, s, pre);
    memcpy(o + pre, to, tl);
    memcpy(o + pre + tl, at + fl, sl - pre - fl + 1);
    return o;
}

/* Growable string for hand-built documents. */
struct sb {
    char *p;
    size_t n, cap;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(need >= 0);
    if (b->n + (size_t)need + 1 > b->cap) {
        b->cap = (b->n + (size_t)need + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

static int parse_tcb(const char *s, const char **why)
{
    struct dcap_tcb_info ti;
    int rc = dcap_tcb_info_parse((const uint8_t *)s, strlen(s), &ti, why);
    if (rc != 0) {
        static const struct dcap_tcb_info zero;
        assert_memory_equal(&ti, &zero, sizeof zero); /* failure leaves *out empty */
    }
    dcap_tcb_info_free(&ti);
    return rc;
}

static int parse_qe(const char *s, const char **why)
{
    struct dcap_qe_identity *qe = malloc(sizeof *qe);
    assert_non_null(qe);
    int rc = dcap_qe_identity_parse((const uint8_t *)s, strlen(s), qe, why);
    free(qe);
    return rc;
}

/* parse (parse_tcb or parse_qe) of doc with its first "from" replaced by "to" gives want. */
static void check_subst(int (*parse)(const char *, const char **), const char *doc,
                        const char *from, const char *to, int want)
{
    const char *why = NULL;
    char *m = subst(doc, from, to);
    assert_int_equal(parse(m, &why), want);
    free(m);
}

static int split_str(const char *doc, const char *key)
{
    const uint8_t *v;
    size_t vl;
    uint8_t sig[64];
    const char *why = NULL;
    int rc = dcap_signed_split((const uint8_t *)doc, strlen(doc), key, &v, &vl, sig, &why);
    if (rc != 0)
        assert_non_null(why);
    return rc;
}

/* The signed value of a real document as a NUL-terminated copy; NULL if the vector is absent. */
static char *real_span(const char *rel, const char *key)
{
    size_t len, vl;
    const uint8_t *v;
    uint8_t sig[64];
    uint8_t *doc = test_vector("DCAP collateral", rel, &len);
    if (!doc)
        return NULL;
    assert_int_equal(dcap_signed_split(doc, len, key, &v, &vl, sig, NULL), 0);
    char *s = malloc(vl + 1);
    assert_non_null(s);
    memcpy(s, v, vl);
    s[vl] = '\0';
    free(doc);
    return s;
}

static void assert_date(int64_t t, const char *want)
{
    char buf[21];
    rfc3339_format((time_t)t, buf);
    assert_string_equal(buf, want);
}

#define SPR_TCB "tdx/go-tdx-guest/collateral/tcbinfo_50806f000000_2023-06-18.json"
#define EMR_TCB "tdx/go-tdx-guest/collateral/tcbinfo_90c06f000000_2026-02-01.json"
#define SGX_TCB "sgx/phala-dcap-qvl/decoded/sgx_quote_tcb_info.json"
#define TDQE_ID "tdx/go-tdx-guest/collateral/qe_identity_TD_QE_2023-06-08.json"
#define SGXQE_ID "sgx/phala-dcap-qvl/decoded/sgx_quote_qe_identity.json"

/* ---- real documents ---- */

struct tcb_vec {
    const char *rel, *chain;
    bool tdx;
    const char *issue, *next;
    unsigned eval;
    const char *fmspc_hex;
    size_t n_levels, n_mods;
    uint8_t l0_sgx[16];
    uint16_t l0_pcesvn;
    uint8_t l0_tdx[16];
    const char *l0_date;
    enum dcap_tcb_status l0_status;
    size_t l0_adv;
    size_t last_adv;
    const char *last_adv_id;
};

static const struct tcb_vec TCB_VECS[] = {
    {SPR_TCB, "tdx/go-tdx-guest/collateral/tcbinfo_issuer_chain.pem", true,
     "2023-06-18T08:42:58Z", "2023-07-18T08:42:58Z", 15, "50806f000000", 2, 0,
     {5, 5, 2, 2, 3, 1, 0, 3}, 11, {3, 0, 5}, "2023-02-15T00:00:00Z", DCAP_TCB_UP_TO_DATE, 0,
     13, "INTEL-SA-00477"},
    {EMR_TCB, "tdx/go-tdx-guest/collateral/tcbinfo_issuer_chain.pem", true,
     "2026-02-01T14:49:26Z", "2026-03-03T14:49:26Z", 18, "90c06f000000", 3, 2,
     {3, 3, 2, 2, 4, 1, 0, 5}, 13, {5, 0, 3}, "2024-11-13T00:00:00Z", DCAP_TCB_UP_TO_DATE, 0,
     19, "INTEL-SA-01111"},
    {"tdx/phala-dcap-qvl/decoded/tdx_quote_tcb_info.json",
     "tdx/phala-dcap-qvl/decoded/tdx_quote_tcb_info_issuer_chain.pem", true,
     "2025-06-19T10:16:03Z", "2025-07-19T10:16:03Z", 17, "b0c06f000000", 2, 2,
     {2, 2, 2, 2, 3, 1, 0, 5}, 11, {5, 0, 2}, "2024-03-13T00:00:00Z", DCAP_TCB_UP_TO_DATE, 0,
     14, "INTEL-SA-00837"},
    {"tdx/phala-dcap-qvl/decoded/tdx_quote_outdated_tcb_info.json",
     "tdx/phala-dcap-qvl/decoded/tdx_quote_outdated_tcb_info_issuer_chain.pem", true,
     "2026-02-18T10:58:51Z", "2026-03-20T10:58:51Z", 18, "90c06f000000", 3, 2,
     {3, 3, 2, 2, 4, 1, 0, 5}, 13, {5, 0, 3}, "2024-11-13T00:00:00Z", DCAP_TCB_UP_TO_DATE, 0,
     19, "INTEL-SA-01111"},
    {SGX_TCB, "sgx/phala-dcap-qvl/decoded/sgx_quote_tcb_info_issuer_chain.pem", false,
     "2025-06-19T10:56:11Z", "2025-07-19T10:56:11Z", 17, "00a067110000", 11, 0,
     {11, 11, 2, 2, 255, 1, 12, 0}, 13, {0}, "2024-03-13T00:00:00Z",
     DCAP_TCB_SW_HARDENING_NEEDED, 1, 20, "INTEL-SA-00615"},
};
#define N_TCB_VECS (sizeof TCB_VECS / sizeof TCB_VECS[0])

static void test_status_names_round_trip(void **state)
{
    (void)state;
    for (int s = DCAP_TCB_UP_TO_DATE; s <= DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
         s++) {
        const char *n = dcap_tcb_status_name((enum dcap_tcb_status)s);
        assert_int_equal(dcap_tcb_status_from_name(n), s);
    }
    assert_string_equal(dcap_tcb_status_name(DCAP_TCB_UP_TO_DATE), "UpToDate");
    assert_string_equal(dcap_tcb_status_name(DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED),
                        "ConfigurationAndSWHardeningNeeded");
    assert_string_equal(dcap_tcb_status_name(DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED),
                        "TDRelaunchAdvisedConfigurationNeeded");
    assert_string_equal(dcap_tcb_status_name(DCAP_TCB_NOT_SUPPORTED), "TCBNotSupported");
    assert_string_equal(dcap_tcb_status_name(DCAP_TCB_UNKNOWN), "Unknown");
    assert_string_equal(dcap_tcb_status_name((enum dcap_tcb_status)99), "Unknown");
    assert_int_equal(dcap_tcb_status_from_name("TCBNotSupported"), DCAP_TCB_UNKNOWN);
    assert_int_equal(dcap_tcb_status_from_name("Unknown"), DCAP_TCB_UNKNOWN);
    assert_int_equal(dcap_tcb_status_from_name("uptodate"), DCAP_TCB_UNKNOWN);
    assert_int_equal(dcap_tcb_status_from_name("UpToDate "), DCAP_TCB_UNKNOWN);
    assert_int_equal(dcap_tcb_status_from_name(""), DCAP_TCB_UNKNOWN);
    assert_int_equal(dcap_tcb_status_from_name(NULL), DCAP_TCB_UNKNOWN);
}

/* A real PCS body (rel, signed by the first certificate of chain): split by key, the span
 * checked against the body and the signature, and the other key name refused. Returns the body
 * (caller frees; *v, *vl: the signed value in it), or NULL if the vector is absent. */
static uint8_t *real_signed_value(const char *rel, const char *chain, const char *key,
                                  const uint8_t **v, size_t *vl)
{
    size_t len;
    uint8_t *doc = test_vector("DCAP collateral", rel, &len);
    if (!doc)
        return NULL;
    EVP_PKEY *k = signing_key(chain);
    assert_non_null(k);
    uint8_t sig[64];
    const char *why = NULL;
    const char *other = strcmp(key, "tcbInfo") == 0 ? "enclaveIdentity" : "tcbInfo";
    assert_int_equal(dcap_signed_split(doc, len, key, v, vl, sig, &why), 0);
    /* Compact PCS bodies: {"<key>":{...},"signature":"..."} */
    assert_ptr_equal(*v, doc + strlen("{\"") + strlen(key) + strlen("\":"));
    assert_int_equal((*v)[0], '{');
    assert_int_equal((*v)[*vl - 1], '}');
    assert_true(verify_raw(k, sig, *v, *vl));
    /* the wrong key name is refused */
    assert_int_equal(dcap_signed_split(doc, len, other, v, vl, sig, &why), -1);
    assert_int_equal(dcap_signed_split(doc, len, key, v, vl, sig, &why), 0);
    EVP_PKEY_free(k);
    return doc;
}

static void test_real_tcb_info_split_verify_parse(void **state)
{
    (void)state;
    size_t done = 0;
    for (size_t i = 0; i < N_TCB_VECS; i++) {
        const struct tcb_vec *e = &TCB_VECS[i];
        const uint8_t *v;
        size_t vl;
        uint8_t *doc = real_signed_value(e->rel, e->chain, "tcbInfo", &v, &vl);
        if (!doc)
            continue;
        const char *why = NULL;
        struct dcap_tcb_info ti;
        if (dcap_tcb_info_parse(v, vl, &ti, &why) != 0)
            fail_msg("%s: %s", e->rel, why);
        assert_int_equal(ti.tdx, e->tdx);
        assert_int_equal(ti.version, 3);
        assert_date(ti.issue_date, e->issue);
        assert_date(ti.next_update, e->next);
        assert_int_equal(ti.eval_num, e->eval);
        char hex[13];
        hex_encode(ti.fmspc, 6, hex);
        assert_string_equal(hex, e->fmspc_hex);
        assert_int_equal(ti.pce_id[0], 0);
        assert_int_equal(ti.pce_id[1], 0);
        assert_int_equal(ti.tcb_type, 0);
        assert_int_equal(ti.n_levels, e->n_levels);
        assert_int_equal(ti.n_module_ids, e->n_mods);
        const struct dcap_tcb_level *l0 = &ti.levels[0], *ll = &ti.levels[ti.n_levels - 1];
        assert_memory_equal(l0->sgx_comp, e->l0_sgx, 16);
        assert_int_equal(l0->pcesvn, e->l0_pcesvn);
        assert_int_equal(l0->has_tdx_comp, e->tdx);
        if (e->tdx)
            assert_memory_equal(l0->tdx_comp, e->l0_tdx, 16);
        assert_date(l0->tcb_date, e->l0_date);
        assert_int_equal(l0->status, e->l0_status);
        assert_int_equal(l0->advisories.n, e->l0_adv);
        assert_int_equal(ll->status, DCAP_TCB_OUT_OF_DATE);
        assert_int_equal(ll->advisories.n, e->last_adv);
        assert_string_equal(ll->advisories.id[ll->advisories.n - 1], e->last_adv_id);
        assert_int_equal(ti.has_tdx_module, e->tdx);
        if (e->tdx) {
            static const uint8_t zero48[48];
            assert_memory_equal(ti.tdx_module_mrsigner, zero48, 48);
            assert_true(ti.tdx_module_attributes == 0);
            assert_true(ti.tdx_module_attributes_mask == UINT64_MAX);
        }
        if (e->n_mods == 2) {
            assert_string_equal(ti.module_ids[0].id, "TDX_03");
            assert_int_equal(ti.module_ids[0].n_levels, 1);
            assert_int_equal(ti.module_ids[0].levels[0].isvsvn, 3);
            assert_int_equal(ti.module_ids[0].levels[0].status, DCAP_TCB_UP_TO_DATE);
            assert_string_equal(ti.module_ids[1].id, "TDX_01");
            assert_true(ti.module_ids[1].attributes_mask == UINT64_MAX);
            assert_int_equal(ti.module_ids[1].levels[1].status, DCAP_TCB_OUT_OF_DATE);
            if (ti.module_ids[1].n_levels == 3) /* the 2026 documents */
                assert_string_equal(ti.module_ids[1].levels[1].advisories.id[0],
                                    "INTEL-SA-01036");
            else
                assert_int_equal(ti.module_ids[1].levels[1].advisories.n, 0);
        }
        if (!e->tdx) /* EXPECTED.txt: the SGX platform matches this level */
            assert_int_equal(ti.levels[1].status,
                             DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
        dcap_tcb_info_free(&ti);
        assert_null(ti.levels);
        assert_int_equal(ti.n_levels, 0);
        dcap_tcb_info_free(&ti); /* idempotent */
        free(doc);
        done++;
    }
    if (done == 0)
        skip();
}

struct qe_vec {
    const char *rel, *chain, *id;
    const char *issue, *next;
    unsigned eval;
    const char *mrsigner;
    uint16_t prodid;
    size_t n_levels;
    uint16_t l0_isvsvn;
    const char *l0_date;
};

static const struct qe_vec QE_VECS[] = {
    {TDQE_ID, "tdx/go-tdx-guest/collateral/qeidentity_issuer_chain.pem", "TD_QE",
     "2023-06-08T07:24:59Z", "2023-07-08T07:24:59Z", 15,
     "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5", 2, 1, 4,
     "2023-02-15T00:00:00Z"},
    {"tdx/phala-dcap-qvl/decoded/tdx_quote_qe_identity.json",
     "tdx/phala-dcap-qvl/decoded/tdx_quote_qe_identity_issuer_chain.pem", "TD_QE",
     "2025-06-19T10:32:27Z", "2025-07-19T10:32:27Z", 17,
     "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5", 2, 1, 4,
     "2024-03-13T00:00:00Z"},
    {"tdx/phala-dcap-qvl/decoded/tdx_quote_outdated_qe_identity.json",
     "tdx/phala-dcap-qvl/decoded/tdx_quote_outdated_qe_identity_issuer_chain.pem", "TD_QE",
     "2026-02-18T10:42:15Z", "2026-03-20T10:42:15Z", 18,
     "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5", 2, 1, 4,
     "2024-11-13T00:00:00Z"},
    {SGXQE_ID, "sgx/phala-dcap-qvl/decoded/sgx_quote_qe_identity_issuer_chain.pem", "QE",
     "2025-06-19T10:01:18Z", "2025-07-19T10:01:18Z", 17,
     "8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff", 1, 6, 8,
     "2024-03-13T00:00:00Z"},
};
#define N_QE_VECS (sizeof QE_VECS / sizeof QE_VECS[0])

static void test_real_qe_identity_split_verify_parse(void **state)
{
    (void)state;
    size_t done = 0;
    struct dcap_qe_identity *qe = malloc(sizeof *qe);
    assert_non_null(qe);
    for (size_t i = 0; i < N_QE_VECS; i++) {
        const struct qe_vec *e = &QE_VECS[i];
        const uint8_t *v;
        size_t vl;
        uint8_t *doc = real_signed_value(e->rel, e->chain, "enclaveIdentity", &v, &vl);
        if (!doc)
            continue;
        const char *why = NULL;
        if (dcap_qe_identity_parse(v, vl, qe, &why) != 0)
            fail_msg("%s: %s", e->rel, why);
        assert_string_equal(qe->id, e->id);
        assert_int_equal(qe->version, 2);
        assert_date(qe->issue_date, e->issue);
        assert_date(qe->next_update, e->next);
        assert_int_equal(qe->eval_num, e->eval);
        char hex[65];
        hex_encode(qe->mrsigner, 32, hex);
        assert_string_equal(hex, e->mrsigner);
        assert_int_equal(qe->isvprodid, e->prodid);
        assert_int_equal(qe->miscselect, 0);
        assert_int_equal(qe->miscselect_mask, 0xFFFFFFFFu);
        /* attributes 11000000..., mask FBFFFFFFFFFFFFFF0000000000000000 (report byte order) */
        static const uint8_t attr[16] = {0x11};
        static const uint8_t mask[16] = {0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
        assert_memory_equal(qe->attributes, attr, 16);
        assert_memory_equal(qe->attributes_mask, mask, 16);
        assert_int_equal(qe->n_levels, e->n_levels);
        assert_int_equal(qe->levels[0].isvsvn, e->l0_isvsvn);
        assert_date(qe->levels[0].tcb_date, e->l0_date);
        assert_int_equal(qe->levels[0].status, DCAP_TCB_UP_TO_DATE);
        assert_int_equal(qe->levels[0].advisories.n, 0);
        if (e->n_levels == 6) {
            const struct dcap_qe_level *l = &qe->levels[5];
            assert_int_equal(l->isvsvn, 1);
            assert_date(l->tcb_date, "2018-08-15T00:00:00Z");
            assert_int_equal(l->status, DCAP_TCB_OUT_OF_DATE);
            assert_int_equal(l->advisories.n, 6);
            assert_string_equal(l->advisories.id[0], "INTEL-SA-00202");
            assert_string_equal(l->advisories.id[5], "INTEL-SA-00615");
        }
        free(doc);
        done++;
    }
    free(qe);
    if (done == 0)
        skip();
}

/* ---- the split is byte-exact and strict ---- */

static void test_span_changes_break_the_signature_and_layout_does_not(void **state)
{
    (void)state;
    size_t len, vl;
    uint8_t *doc = test_vector("DCAP collateral", SPR_TCB, &len);
    if (!doc)
        skip();
    EVP_PKEY *k = signing_key("tdx/go-tdx-guest/collateral/tcbinfo_issuer_chain.pem");
    const uint8_t *v;
    uint8_t sig[64], sig2[64];
    assert_int_equal(dcap_signed_split(doc, len, "tcbInfo", &v, &vl, sig, NULL), 0);
    size_t off = (size_t)(v - doc);

    /* one byte inside the span: "tcbEvaluationDataNumber":15 -> 16; still splits, no longer
     * verifies */
    char *s = malloc(len + 1);
    memcpy(s, doc, len);
    s[len] = '\0';
    char *m = subst(s, "\"tcbEvaluationDataNumber\":15", "\"tcbEvaluationDataNumber\":16");
    assert_int_equal(dcap_signed_split((uint8_t *)m, len, "tcbInfo", &v, &vl, sig2, NULL), 0);
    assert_false(verify_raw(k, sig2, v, vl));
    free(m);
    /* every single-bit flip of the first 200 span bytes breaks the signature */
    for (size_t i = 0; i < 200; i++) {
        doc[off + i] ^= 0x01;
        if (dcap_signed_split(doc, len, "tcbInfo", &v, &vl, sig2, NULL) == 0)
            assert_false(verify_raw(k, sig2, v, vl));
        doc[off + i] ^= 0x01;
    }
    /* a changed signature digit: still 128 hex digits, no longer verifies */
    char *sd = strstr(s, "\"signature\":\"") + strlen("\"signature\":\"");
    char keep = *sd;
    *sd = keep == '0' ? '1' : '0';
    const uint8_t *v2;
    size_t vl2;
    assert_int_equal(dcap_signed_split((uint8_t *)s, len, "tcbInfo", &v2, &vl2, sig2, NULL), 0);
    assert_false(verify_raw(k, sig2, v2, vl2));
    *sd = keep;
    assert_int_equal(dcap_signed_split((uint8_t *)s, len, "tcbInfo", &v2, &vl2, sig2, NULL), 0);
    assert_true(verify_raw(k, sig2, v2, vl2));

    /* Layout outside the span does not matter: whitespace, member order. */
    char *span = real_span(SPR_TCB, "tcbInfo");
    const char *sighex = strstr(s, "\"signature\":\"") + strlen("\"signature\":\"");
    char hexsig[129];
    memcpy(hexsig, sighex, 128);
    hexsig[128] = '\0';
    struct sb b = {0};
    sb_printf(&b, " \r\n\t{ \"signature\" :\t\"%s\" ,\n \"tcbInfo\" : %s \n}\n\n ", hexsig, span);
    assert_int_equal(dcap_signed_split((uint8_t *)b.p, b.n, "tcbInfo", &v2, &vl2, sig2, NULL), 0);
    assert_int_equal(vl2, strlen(span));
    assert_memory_equal(v2, span, vl2);
    assert_memory_equal(sig2, sig, 64);
    assert_true(verify_raw(k, sig2, v2, vl2));
    /* lower-case and upper-case signature hex decode alike */
    for (size_t i = 0; i < 128; i++)
        if (hexsig[i] >= 'a' && hexsig[i] <= 'f')
            hexsig[i] = (char)(hexsig[i] - 'a' + 'A');
    b.n = 0;
    sb_printf(&b, "{\"tcbInfo\":%s,\"signature\":\"%s\"}", span, hexsig);
    assert_int_equal(dcap_signed_split((uint8_t *)b.p, b.n, "tcbInfo", &v2, &vl2, sig2, NULL), 0);
    assert_memory_equal(sig2, sig, 64);
    free(b.p);
    free(span);
    free(s);
    EVP_PKEY_free(k);
    free(doc);
}

#define SIG128 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" \
               "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"

static void test_split_rejects_malformed_bodies(void **state)
{
    (void)state;
    /* baseline */
    assert_int_equal(split_str("{\"tcbInfo\":{\"a\":1},\"signature\":\"" SIG128 "\"}", "tcbInfo"), 0);
    assert_int_equal(split_str("{\"signature\":\"" SIG128 "\",\"tcbInfo\":{}}", "tcbInfo"), 0);
    /* braces, brackets and escaped quotes inside strings do not end the span */
    {
        const char *d = "{\"tcbInfo\":{\"a\":\"}\\\"{]\",\"b\":[{\"c\":\"\\\\\"}]},\"signature\":\"" SIG128 "\"}";
        const uint8_t *v;
        size_t vl;
        uint8_t sig[64];
        assert_int_equal(dcap_signed_split((const uint8_t *)d, strlen(d), "tcbInfo", &v, &vl, sig, NULL), 0);
        assert_int_equal(vl, strlen("{\"a\":\"}\\\"{]\",\"b\":[{\"c\":\"\\\\\"}]}"));
        assert_int_equal(sig[0], 0x00);
        assert_int_equal(sig[1], 0x11);
        assert_int_equal(sig[63], 0xFF);
    }
    static const char *const BAD[] = {
        /* duplicate members */
        "{\"tcbInfo\":{},\"tcbInfo\":{},\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":{},\"signature\":\"" SIG128 "\",\"signature\":\"" SIG128 "\"}",
        /* other members, anywhere */
        "{\"x\":1,\"tcbInfo\":{},\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":{},\"x\":1,\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":{},\"signature\":\"" SIG128 "\",\"x\":1}",
        "{\"tcbInfo\":{},\"enclaveIdentity\":{},\"signature\":\"" SIG128 "\"}",
        /* the key spelled with an escape is another member to the tokenizer */
        "{\"tcb\\u0049nfo\":{},\"signature\":\"" SIG128 "\"}",
        /* missing members */
        "{\"tcbInfo\":{}}",
        "{\"signature\":\"" SIG128 "\"}",
        "{}",
        "",
        " ",
        /* trailing data */
        "{\"tcbInfo\":{},\"signature\":\"" SIG128 "\"}x",
        "{\"tcbInfo\":{},\"signature\":\"" SIG128 "\"}}",
        "{\"tcbInfo\":{},\"signature\":\"" SIG128 "\"} {}",
        /* punctuation */
        "{\"tcbInfo\":{},,\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":{},\"signature\":\"" SIG128 "\",}",
        "{\"tcbInfo\"{},\"signature\":\"" SIG128 "\"}",
        "[\"tcbInfo\",{},\"signature\",\"" SIG128 "\"]",
        /* value not an object */
        "{\"tcbInfo\":[],\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":\"{}\",\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":null,\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":1,\"signature\":\"" SIG128 "\"}",
        /* malformed value: mismatched brackets, bad inner JSON, inner duplicates, NUL */
        "{\"tcbInfo\":{\"a\":[}]},\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":{\"a\" 1},\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":{\"a\":1,\"a\":2},\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":{\"a\":\"\\u0000\"},\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":{\"a\":\"\x01\"},\"signature\":\"" SIG128 "\"}",
        "{\"tcbInfo\":{\"a\":\"\xff\"},\"signature\":\"" SIG128 "\"}",
        /* signature: 127 / 129 / 0 digits, non-hex, escaped, not a string */
        "{\"tcbInfo\":{},\"signature\":\"" SIG128 "0\"}",
        "{\"tcbInfo\":{},\"signature\":\"\"}",
        "{\"tcbInfo\":{},\"signature\":\"g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
        "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}",
        "{\"tcbInfo\":{},\"signature\":\"\\u0030112233445566778899aabbccddeeff00112233445566778899aabbccdd"
        "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}",
        "{\"tcbInfo\":{},\"signature\":\" 0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
        "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}",
        "{\"tcbInfo\":{},\"signature\":1}",
        "{\"tcbInfo\":{},\"signature\":[\"" SIG128 "\"]}",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        if (split_str(BAD[i], "tcbInfo") != -1)
            fail_msg("accepted bad body #%zu: %s", i, BAD[i]);
    }
    /* 127 hex digits */
    char d127[300];
    snprintf(d127, sizeof d127, "{\"tcbInfo\":{},\"signature\":\"%.127s\"}", SIG128);
    assert_int_equal(split_str(d127, "tcbInfo"), -1);

    /* nesting: 32 levels (value included) pass, 33 fail */
    for (int depth = 32; depth <= 33; depth++) {
        struct sb b = {0};
        sb_printf(&b, "{\"tcbInfo\":{\"a\":");
        for (int i = 1; i < depth; i++)
            sb_printf(&b, "[");
        sb_printf(&b, "1");
        for (int i = 1; i < depth; i++)
            sb_printf(&b, "]");
        sb_printf(&b, "},\"signature\":\"%s\"}", SIG128);
        assert_int_equal(split_str(b.p, "tcbInfo"), depth == 32 ? 0 : -1);
        free(b.p);
    }

    /* arguments */
    const char *ok = "{\"tcbInfo\":{},\"signature\":\"" SIG128 "\"}";
    const uint8_t *v;
    size_t vl;
    uint8_t sig[64];
    const char *why = NULL;
    assert_int_equal(dcap_signed_split(NULL, 1, "tcbInfo", &v, &vl, sig, &why), -1);
    assert_int_equal(dcap_signed_split((const uint8_t *)ok, strlen(ok), NULL, &v, &vl, sig, &why), -1);
    assert_int_equal(dcap_signed_split((const uint8_t *)ok, strlen(ok), "tcbInfo", NULL, &vl, sig, &why), -1);
    assert_int_equal(dcap_signed_split((const uint8_t *)ok, strlen(ok), "", &v, &vl, sig, &why), -1);
    assert_int_equal(dcap_signed_split((const uint8_t *)ok, strlen(ok), "signature", &v, &vl, sig, &why), -1);
    assert_int_equal(dcap_signed_split((const uint8_t *)ok, strlen(ok), "tcbInfo", &v, &vl, sig, NULL), 0);

    /* size bound: a valid body padded with whitespace past DCAP_COLLATERAL_MAX_DOC */
    size_t big = DCAP_COLLATERAL_MAX_DOC + 1;
    uint8_t *p = malloc(big);
    assert_non_null(p);
    memset(p, ' ', big);
    memcpy(p, ok, strlen(ok));
    assert_int_equal(dcap_signed_split(p, big, "tcbInfo", &v, &vl, sig, &why), -1);
    assert_string_equal(why, "collateral document too large");
    assert_int_equal(dcap_signed_split(p, big - 1, "tcbInfo", &v, &vl, sig, &why), 0);
    free(p);
}

/* Phala's bundle {"tcb_info":"<json as a string>","tcb_info_signature":...} is another
 * format (handled by the collateral loader), never a PCS body. */
static void test_phala_combined_format_is_not_a_pcs_body(void **state)
{
    (void)state;
    size_t len;
    uint8_t *doc = test_vector("DCAP collateral",
                               "sgx/phala-dcap-qvl/sgx_v3_quote_collateral.json", &len);
    if (!doc)
        skip();
    const uint8_t *v;
    size_t vl;
    uint8_t sig[64];
    const char *why = NULL;
    assert_int_equal(dcap_signed_split(doc, len, "tcbInfo", &v, &vl, sig, &why), -1);
    assert_int_equal(dcap_signed_split(doc, len, "tcb_info", &v, &vl, sig, &why), -1);
    assert_int_equal(dcap_signed_split(doc, len, "enclaveIdentity", &v, &vl, sig, &why), -1);
    assert_int_equal(dcap_signed_split(doc, len, "qe_identity", &v, &vl, sig, &why), -1);
    free(doc);
}

/* Every proper prefix of every real document (and of its signed value) is refused. */
static void test_every_truncation_fails(void **state)
{
    (void)state;
    static const struct {
        const char *rel, *key;
    } DOCS[] = {
        {SPR_TCB, "tcbInfo"},
        {EMR_TCB, "tcbInfo"},
        {SGX_TCB, "tcbInfo"},
        {TDQE_ID, "enclaveIdentity"},
        {SGXQE_ID, "enclaveIdentity"},
    };
    size_t done = 0;
    struct dcap_qe_identity *qe = malloc(sizeof *qe);
    assert_non_null(qe);
    for (size_t d = 0; d < sizeof DOCS / sizeof DOCS[0]; d++) {
        size_t len;
        uint8_t *full = test_vector("DCAP collateral", DOCS[d].rel, &len);
        if (!full)
            continue;
        bool tcb = strcmp(DOCS[d].key, "tcbInfo") == 0;
        size_t core = len;
        while (core > 0 && (full[core - 1] == '\n' || full[core - 1] == ' '))
            core--;
        const uint8_t *v;
        size_t vl;
        uint8_t sig[64];
        for (size_t n = 0; n <= len; n++) {
            /* a fresh heap copy of exactly n bytes, so ASan sees any over-read */
            uint8_t *cut = malloc(n ? n : 1);
            assert_non_null(cut);
            memcpy(cut, full, n);
            const char *why = NULL;
            int rc = dcap_signed_split(cut, n, DOCS[d].key, &v, &vl, sig, &why);
            if (n < core) {
                if (rc != -1)
                    fail_msg("%s: prefix %zu accepted", DOCS[d].rel, n);
                assert_non_null(why);
            } else {
                assert_int_equal(rc, 0);
            }
            free(cut);
        }
        assert_int_equal(dcap_signed_split(full, len, DOCS[d].key, &v, &vl, sig, NULL), 0);
        for (size_t n = 0; n < vl; n++) {
            uint8_t *cut = malloc(n ? n : 1);
            assert_non_null(cut);
            memcpy(cut, v, n);
            const char *why = NULL;
            if (tcb) {
                struct dcap_tcb_info ti;
                assert_int_equal(dcap_tcb_info_parse(cut, n, &ti, &why), -1);
                assert_null(ti.levels);
                assert_null(ti.module_ids);
            } else {
                assert_int_equal(dcap_qe_identity_parse(cut, n, qe, &why), -1);
            }
            assert_non_null(why);
            free(cut);
        }
        free(full);
        done++;
    }
    free(qe);
    if (done == 0)
        skip();
}

/* ---- TCB Info content rules ---- */

static void test_unknown_and_misplaced_statuses_are_refused(void **state)
{
    (void)state;
    char *spr = real_span(SPR_TCB, "tcbInfo");
    char *sgx = real_span(SGX_TCB, "tcbInfo");
    char *qe = real_span(TDQE_ID, "enclaveIdentity");
    if (!spr || !sgx || !qe) {
        free(spr);
        free(sgx);
        free(qe);
        skip();
    }
    const char *why = NULL;
    static const char *const UNKNOWN[] = {"UpToDatf", "TCBNotSupported", "Unknown", "uptodate",
                                          "", "UpToDate\\u0000"};
    for (size_t i = 0; i < sizeof UNKNOWN / sizeof UNKNOWN[0]; i++) {
        char to[64];
        snprintf(to, sizeof to, "\"tcbStatus\":\"%s\"", UNKNOWN[i]);
        check_subst(parse_tcb, spr, "\"tcbStatus\":\"OutOfDate\"", to, -1); /* the last level */
        check_subst(parse_qe, qe, "\"tcbStatus\":\"UpToDate\"", to, -1);
    }
    check_subst(parse_tcb, spr, "\"tcbStatus\":\"OutOfDate\"", "\"tcbStatus\":[\"OutOfDate\"]", -1);
    check_subst(parse_tcb, spr, "\"tcbStatus\":\"OutOfDate\"",
                "\"tcbStatusX\":\"OutOfDate\"", -1); /* missing */
    /* TD relaunch statuses: TDX TCB Info only */
    check_subst(parse_tcb, spr, "\"tcbStatus\":\"OutOfDate\"",
                "\"tcbStatus\":\"TDRelaunchAdvised\"", 0);
    check_subst(parse_tcb, sgx, "\"tcbStatus\":\"OutOfDate\"",
                "\"tcbStatus\":\"TDRelaunchAdvised\"", -1);
    check_subst(parse_qe, qe, "\"tcbStatus\":\"UpToDate\"",
                "\"tcbStatus\":\"TDRelaunchAdvised\"", -1);
    /* every document status is accepted in an SGX document */
    static const char *const OK[] = {"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                                     "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                                     "OutOfDateConfigurationNeeded", "Revoked"};
    for (size_t i = 0; i < sizeof OK / sizeof OK[0]; i++) {
        char to[80];
        snprintf(to, sizeof to, "\"tcbStatus\":\"%s\"", OK[i]);
        char *m = subst(sgx, "\"tcbStatus\":\"SWHardeningNeeded\"", to);
        struct dcap_tcb_info ti;
        assert_int_equal(dcap_tcb_info_parse((uint8_t *)m, strlen(m), &ti, &why), 0);
        assert_int_equal(ti.levels[0].status, dcap_tcb_status_from_name(OK[i]));
        dcap_tcb_info_free(&ti);
        free(m);
    }
    free(spr);
    free(sgx);
    free(qe);
}

/* A TCB Info v2 document (PCS API v3, SGX only): sgxtcbcompNNsvn, no id. */
static char *v2_doc(size_t nlevels, const char *top_extra, const char *l0_extra)
{
    struct sb b = {0};
    sb_printf(&b, "{%s\"version\":2,\"issueDate\":\"2019-05-01T00:00:00Z\","
                  "\"nextUpdate\":\"2019-05-31T00:00:00Z\",\"fmspc\":\"00906Ea10000\","
                  "\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":5,\"tcbLevels\":[",
              top_extra);
    for (size_t l = 0; l < nlevels; l++) {
        sb_printf(&b, "%s{\"tcb\":{", l ? "," : "");
        for (int c = 1; c <= 16; c++)
            sb_printf(&b, "\"sgxtcbcomp%02dsvn\":%d,", c, c == 1 ? (int)(nlevels - l) : c - 1);
        sb_printf(&b, "\"pcesvn\":%d},\"tcbDate\":\"2019-0%d-13T00:00:00Z\",\"tcbStatus\":\"%s\"%s}",
                  9 - (int)(l % 8), 5 - (int)(l % 4), l ? "OutOfDate" : "UpToDate",
                  l == 0 ? l0_extra : "");
    }
    sb_printf(&b, "]}");
    return b.p;
}

static void test_tcb_info_v2_sgx(void **state)
{
    (void)state;
    char *d = v2_doc(2, "", ",\"advisoryIDs\":[\"INTEL-SA-00233\"]");
    struct dcap_tcb_info ti;
    const char *why = NULL;
    if (dcap_tcb_info_parse((uint8_t *)d, strlen(d), &ti, &why) != 0)
        fail_msg("v2: %s", why);
    assert_false(ti.tdx);
    assert_int_equal(ti.version, 2);
    assert_date(ti.issue_date, "2019-05-01T00:00:00Z");
    assert_date(ti.next_update, "2019-05-31T00:00:00Z");
    static const uint8_t fmspc[6] = {0x00, 0x90, 0x6E, 0xA1, 0x00, 0x00};
    assert_memory_equal(ti.fmspc, fmspc, 6);
    assert_int_equal(ti.eval_num, 5);
    assert_false(ti.has_tdx_module);
    assert_int_equal(ti.n_module_ids, 0);
    assert_int_equal(ti.n_levels, 2);
    static const uint8_t l0[16] = {2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    assert_memory_equal(ti.levels[0].sgx_comp, l0, 16);
    assert_int_equal(ti.levels[0].sgx_comp[0], 2);
    assert_int_equal(ti.levels[1].sgx_comp[0], 1);
    assert_int_equal(ti.levels[0].pcesvn, 9);
    assert_int_equal(ti.levels[1].pcesvn, 8);
    assert_false(ti.levels[0].has_tdx_comp);
    assert_int_equal(ti.levels[0].status, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(ti.levels[1].status, DCAP_TCB_OUT_OF_DATE);
    assert_date(ti.levels[0].tcb_date, "2019-05-13T00:00:00Z");
    assert_int_equal(ti.levels[0].advisories.n, 1);
    assert_string_equal(ti.levels[0].advisories.id[0], "INTEL-SA-00233");
    dcap_tcb_info_free(&ti);

    /* inside a PCS body, the split hands back exactly this value */
    struct sb b = {0};
    sb_printf(&b, "{\"tcbInfo\":%s,\"signature\":\"%s\"}", d, SIG128);
    const uint8_t *v;
    size_t vl;
    uint8_t sig[64];
    assert_int_equal(dcap_signed_split((uint8_t *)b.p, b.n, "tcbInfo", &v, &vl, sig, &why), 0);
    assert_int_equal(vl, strlen(d));
    assert_memory_equal(v, d, vl);
    assert_int_equal(dcap_tcb_info_parse(v, vl, &ti, &why), 0);
    dcap_tcb_info_free(&ti);
    free(b.p);

    /* explicit "id":"SGX" in v2 is tolerated; a missing component is not */
    char *m = v2_doc(1, "\"id\":\"SGX\",", "");
    assert_int_equal(parse_tcb(m, &why), 0);
    free(m);
    check_subst(parse_tcb, d, "\"sgxtcbcomp16svn\":15,", "", -1);
    check_subst(parse_tcb, d, "\"sgxtcbcomp16svn\":15", "\"sgxtcbcomp16svn\":256", -1);
    /* v3-style components do not replace the v2 fields */
    check_subst(parse_tcb, d, "\"version\":2", "\"version\":3,\"id\":\"SGX\"", -1);
    free(d);
}

static void test_type_confusion_is_refused(void **state)
{
    (void)state;
    const char *why = NULL;
    /* an SGX v2-style document claiming TDX */
    char *d = v2_doc(2, "\"id\":\"TDX\",", "");
    assert_int_equal(parse_tcb(d, &why), -1);
    assert_string_equal(why, "tcbInfo: TDX TCB Info requires version 3");
    check_subst(parse_tcb, d, "\"version\":2", "\"version\":3", -1); /* v3 TDX with v2 components */
    free(d);
    d = v2_doc(1, "\"id\":\"SEV\",", "");
    assert_int_equal(parse_tcb(d, &why), -1);
    free(d);

    char *spr = real_span(SPR_TCB, "tcbInfo");
    char *sgx = real_span(SGX_TCB, "tcbInfo");
    if (!spr || !sgx) {
        free(spr);
        free(sgx);
        skip();
    }
    /* TDX without tdxtcbcomponents in one level */
    const char *tdxc = strstr(spr, ",\"tdxtcbcomponents\"");
    const char *tdxe = strstr(tdxc, "]}");
    assert_non_null(tdxe);
    char *cut = strdup(spr);
    memmove(cut + (tdxc - spr), cut + (tdxe - spr) + 1, strlen(tdxe + 1) + 1);
    assert_int_equal(parse_tcb(cut, &why), -1);
    assert_string_equal(why, "tcbInfo: TDX level without tdxtcbcomponents");
    free(cut);
    /* a TDX document relabelled SGX: tdxModule / tdxtcbcomponents refused */
    check_subst(parse_tcb, spr, "\"id\":\"TDX\"", "\"id\":\"SGX\"", -1);
    /* TDX without tdxModule */
    check_subst(parse_tcb, spr, "\"tdxModule\"", "\"tdxModuleX\"", -1);
    /* SGX with TDX fields */
    check_subst(parse_tcb, sgx, "\"tcbLevels\"", "\"tdxModuleIdentities\":[],\"tcbLevels\"", -1);
    check_subst(parse_tcb, sgx, "\"pcesvn\":13", "\"pcesvn\":13,\"tdxtcbcomponents\":[]", -1);
    /* an SGX document relabelled TDX lacks tdxModule and tdxtcbcomponents */
    check_subst(parse_tcb, sgx, "\"id\":\"SGX\"", "\"id\":\"TDX\"", -1);
    check_subst(parse_tcb, sgx, "\"id\":\"SGX\"", "\"id\":\"sgx\"", -1);
    check_subst(parse_tcb, sgx, "\"id\":\"SGX\",", "", -1); /* v3 requires id */
    free(spr);
    free(sgx);
}

static void test_tcb_info_field_rules(void **state)
{
    (void)state;
    char *spr = real_span(SPR_TCB, "tcbInfo");
    char *emr = real_span(EMR_TCB, "tcbInfo");
    if (!spr || !emr) {
        free(spr);
        free(emr);
        skip();
    }
    const char *why = NULL;
    static const struct {
        const char *from, *to;
        int rc;
    } CASES[] = {
        /* versions, type, number */
        {"\"version\":3", "\"version\":4", -1},
        {"\"version\":3", "\"version\":1", -1},
        {"\"version\":3", "\"version\":3.0", -1},
        {"\"version\":3", "\"version\":\"3\"", -1},
        {"\"tcbType\":0", "\"tcbType\":1", -1},
        {"\"tcbType\":0,", "", -1},
        {"\"tcbEvaluationDataNumber\":15", "\"tcbEvaluationDataNumber\":-1", -1},
        {"\"tcbEvaluationDataNumber\":15", "\"tcbEvaluationDataNumber\":4294967296", -1},
        {"\"tcbEvaluationDataNumber\":15", "\"tcbEvaluationDataNumber\":4294967295", 0},
        /* hex fields: exact length, hex only, either case */
        {"\"fmspc\":\"50806f000000\"", "\"fmspc\":\"50806F000000\"", 0},
        {"\"fmspc\":\"50806f000000\"", "\"fmspc\":\"50806f00000\"", -1},
        {"\"fmspc\":\"50806f000000\"", "\"fmspc\":\"50806f00000000\"", -1},
        {"\"fmspc\":\"50806f000000\"", "\"fmspc\":\"50806g000000\"", -1},
        {"\"fmspc\":\"50806f000000\"", "\"fmspc\":\"50806f\\u0030\\u00300000\"", 0},
        {"\"pceId\":\"0000\"", "\"pceId\":\"000\"", -1},
        {"\"pceId\":\"0000\"", "\"pceId\":0", -1},
        {"\"mrsigner\":\"0000", "\"mrsigner\":\"000", -1},
        {"\"attributes\":\"0000000000000000\"", "\"attributes\":\"00000000000000000\"", -1},
        {"\"attributesMask\":\"FFFFFFFFFFFFFFFF\"", "\"attributesMask\":\"FFFFFFFFFFFFFFF\"", -1},
        /* dates: exactly YYYY-MM-DDThh:mm:ssZ and a real calendar day */
        {"\"issueDate\":\"2023-06-18T08:42:58Z\"", "\"issueDate\":\"2023-06-18T08:42:58.000Z\"", -1},
        {"\"issueDate\":\"2023-06-18T08:42:58Z\"", "\"issueDate\":\"2023-06-18T08:42:58+00:00\"", -1},
        {"\"issueDate\":\"2023-06-18T08:42:58Z\"", "\"issueDate\":\"2023-06-18t08:42:58z\"", -1},
        {"\"issueDate\":\"2023-06-18T08:42:58Z\"", "\"issueDate\":\"2023-02-30T08:42:58Z\"", -1},
        {"\"issueDate\":\"2023-06-18T08:42:58Z\"", "\"issueDate\":\"2023-06- 8T08:42:58Z\"", -1},
        {"\"issueDate\":\"2023-06-18T08:42:58Z\"", "\"issueDate\":\"2023-06-18T24:42:58Z\"", -1},
        {"\"issueDate\":\"2023-06-18T08:42:58Z\"", "\"issueDate\":1687077778", -1},
        {"\"nextUpdate\":\"2023-07-18T08:42:58Z\",", "", -1},
        {"\"tcbDate\":\"2023-02-15T00:00:00Z\"", "\"tcbDate\":\"2023-02-15\"", -1},
        /* SVNs: integers 0..255, pcesvn 0..65535 */
        {"{\"svn\":5,", "{\"svn\":255,", 0},
        {"{\"svn\":5,", "{\"svn\":256,", -1},
        {"{\"svn\":5,", "{\"svn\":-1,", -1},
        {"{\"svn\":5,", "{\"svn\":5.0,", -1},
        {"{\"svn\":5,", "{\"svn\":\"5\",", -1},
        {"{\"svn\":5,", "{\"svn\":true,", -1},
        {"{\"svn\":5,", "{", -1},
        {"{\"svn\":5,\"category\":\"BIOS\"", "{\"svn\":5,\"category\":1", -1},
        {"\"pcesvn\":11", "\"pcesvn\":65535", 0},
        {"\"pcesvn\":11", "\"pcesvn\":65536", -1},
        {"{\"svn\":3,\"category\":\"OS/VMM\",\"type\":\"TDX Module\"}",
         "{\"svn\":256,\"category\":\"OS/VMM\",\"type\":\"TDX Module\"}", -1},
        /* 15 or 17 components */
        {"{\"svn\":0},{\"svn\":0}],\"pcesvn\"", "{\"svn\":0}],\"pcesvn\"", -1},
        {"{\"svn\":0},{\"svn\":0}],\"pcesvn\"", "{\"svn\":0},{\"svn\":0},{\"svn\":0}],\"pcesvn\"", -1},
        /* levels */
        {"\"tcbLevels\":[", "\"tcbLevels\":[1,", -1},
        {"\"tcb\":{", "\"tcb\":[{", -1},
        /* advisories: strings of 1..31 printable characters */
        {"\"INTEL-SA-00477\"", "\"INTEL-SA-0047700000000000000000\"", 0},   /* 31 */
        {"\"INTEL-SA-00477\"", "\"INTEL-SA-00477000000000000000000\"", -1}, /* 32 */
        {"\"INTEL-SA-00477\"", "\"\"", -1},
        {"\"INTEL-SA-00477\"", "\"INTEL\\tSA\"", -1},
        {"\"INTEL-SA-00477\"", "477", -1},
        {"\"advisoryIDs\":[", "\"advisoryIDs\":[\"A\"],\"x\":[", 0},
        /* unknown members are accepted at every level (Intel adds fields over time) */
        {"{\"id\":\"TDX\"", "{\"future\":{\"a\":[1,2]},\"id\":\"TDX\"", 0},
        {"\"tcb\":{", "\"tcb\":{\"future\":1,", 0},
        {"\"tcbDate\"", "\"future\":\"x\",\"tcbDate\"", 0},
        {"{\"svn\":5,", "{\"svn\":5,\"future\":null,", 0},
        {"\"attributesMask\"", "\"future\":0,\"attributesMask\"", 0},
        /* duplicate keys anywhere */
        {"\"version\":3", "\"version\":3,\"version\":3", -1},
        {"{\"svn\":5,", "{\"svn\":5,\"svn\":5,", -1},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char *m = subst(spr, CASES[i].from, CASES[i].to);
        int rc = parse_tcb(m, &why);
        if (rc != CASES[i].rc)
            fail_msg("case %zu (%s -> %s): rc %d, want %d (%s)", i, CASES[i].from, CASES[i].to,
                     rc, CASES[i].rc, rc ? why : "ok");
        free(m);
    }
    /* 64 advisories are fine, 65 are not (the list of level 1 replaced) */
    for (size_t n = 64; n <= 65; n++) {
        struct sb b = {0};
        sb_printf(&b, "\"advisoryIDs\":[");
        for (size_t i = 0; i < n; i++)
            sb_printf(&b, "%s\"INTEL-SA-%05zu\"", i ? "," : "", i);
        sb_printf(&b, "]");
        const char *a = strstr(spr, "\"advisoryIDs\":[");
        const char *z = strchr(a, ']');
        struct sb d = {0};
        sb_printf(&d, "%.*s%s%s", (int)(a - spr), spr, b.p, z + 1);
        struct dcap_tcb_info ti;
        int rc = dcap_tcb_info_parse((uint8_t *)d.p, d.n, &ti, &why);
        assert_int_equal(rc, n == 64 ? 0 : -1);
        if (rc == 0) {
            assert_int_equal(ti.levels[1].advisories.n, 64);
            assert_string_equal(ti.levels[1].advisories.id[63], "INTEL-SA-00063");
            dcap_tcb_info_free(&ti);
        }
        free(d.p);
        free(b.p);
    }
    /* levels: 128 fine, 129 not, none not */
    for (size_t n = 127; n <= 129; n++) {
        char *d = v2_doc(n, "", "");
        assert_int_equal(parse_tcb(d, &why), n <= 128 ? 0 : -1);
        free(d);
    }
    check_subst(parse_tcb, spr, "\"tcbLevels\":[", "\"tcbLevels\":[],\"x\":[", -1);

    /* module identities: attributes as big-endian u64 of the bytes, ids unique, bounds */
    char *m = subst(emr, "\"attributes\":\"0000000000000000\"", "\"attributes\":\"0102030405060708\"");
    struct dcap_tcb_info ti;
    assert_int_equal(dcap_tcb_info_parse((uint8_t *)m, strlen(m), &ti, &why), 0);
    assert_true(ti.tdx_module_attributes == 0x0102030405060708ull); /* tdxModule comes first */
    assert_true(ti.module_ids[0].attributes == 0);
    dcap_tcb_info_free(&ti);
    free(m);
    m = subst(emr, "\"id\":\"TDX_03\"", "\"id\":\"TDX_01\"");
    assert_int_equal(parse_tcb(m, &why), -1);
    assert_string_equal(why, "tcbInfo: duplicate tdxModuleIdentities id");
    free(m);
    static const char *const BADID[] = {"\"\"", "\"TDX 03\"", "\"TDX_030000000000\"", "3"};
    for (size_t i = 0; i < sizeof BADID / sizeof BADID[0]; i++) {
        char to[40];
        snprintf(to, sizeof to, "\"id\":%s", BADID[i]);
        check_subst(parse_tcb, emr, "\"id\":\"TDX_03\"", to, -1);
    }
    m = subst(emr, "\"id\":\"TDX_03\"", "\"id\":\"TDX_03000000000\""); /* 15 chars */
    assert_int_equal(parse_tcb(m, &why), 0);
    free(m);
    check_subst(parse_tcb, emr, "{\"tcb\":{\"isvsvn\":3}", "{\"tcb\":{\"isvsvn\":256}", -1);
    check_subst(parse_tcb, emr, "\"tdxModuleIdentities\":[",
                "\"tdxModuleIdentities\":[],\"x\":[", -1); /* present but empty */
    /* 16 module identities fine, 17 not; 32 module levels fine, 33 not */
    for (size_t n = 16; n <= 17; n++) {
        struct sb b = {0};
        sb_printf(&b, "\"tdxModuleIdentities\":[");
        for (size_t i = 2; i < n; i++)
            sb_printf(&b, "{\"id\":\"TDX_%02zX\",\"mrsigner\":\"%096d\",\"attributes\":\"%016d\","
                          "\"attributesMask\":\"%016d\",\"tcbLevels\":[{\"tcb\":{\"isvsvn\":1},"
                          "\"tcbDate\":\"2024-11-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]},",
                      0x40 + i, 0, 0, 0);
        m = subst(emr, "\"tdxModuleIdentities\":[", b.p);
        assert_int_equal(dcap_tcb_info_parse((uint8_t *)m, strlen(m), &ti, &why),
                         n == 16 ? 0 : -1);
        if (n == 16) {
            assert_int_equal(ti.n_module_ids, 16);
            assert_string_equal(ti.module_ids[15].id, "TDX_01");
            dcap_tcb_info_free(&ti);
        }
        free(m);
        free(b.p);
    }
    for (size_t n = 32; n <= 33; n++) {
        struct sb b = {0};
        sb_printf(&b, "\"tcbLevels\":[");
        for (size_t i = 1; i < n; i++)
            sb_printf(&b, "{\"tcb\":{\"isvsvn\":%zu},\"tcbDate\":\"2024-11-13T00:00:00Z\","
                          "\"tcbStatus\":\"OutOfDate\"},", 200 - i);
        /* prepend to the first module's tcbLevels (after "TDX_03") */
        const char *at = strstr(emr, "\"TDX_03\"");
        const char *tl = strstr(at, "\"tcbLevels\":[");
        struct sb d = {0};
        sb_printf(&d, "%.*s%s%s", (int)(tl - emr), emr, b.p, tl + strlen("\"tcbLevels\":["));
        assert_int_equal(dcap_tcb_info_parse((uint8_t *)d.p, d.n, &ti, &why), n == 32 ? 0 : -1);
        if (n == 32) {
            assert_int_equal(ti.module_ids[0].n_levels, 32);
            assert_int_equal(ti.module_ids[0].levels[0].isvsvn, 199);
            assert_int_equal(ti.module_ids[0].levels[31].isvsvn, 3);
            dcap_tcb_info_free(&ti);
        }
        free(d.p);
        free(b.p);
    }
    /* not an object, not JSON, too large, NULL */
    assert_int_equal(parse_tcb("[]", &why), -1);
    assert_int_equal(parse_tcb("{}", &why), -1);
    assert_int_equal(parse_tcb("", &why), -1);
    assert_int_equal(parse_tcb("{\"version\":3} x", &why), -1);
    assert_int_equal(dcap_tcb_info_parse((const uint8_t *)spr, DCAP_COLLATERAL_MAX_DOC + 1, &ti, &why), -1);
    assert_string_equal(why, "tcbInfo too large");
    assert_int_equal(dcap_tcb_info_parse(NULL, 0, &ti, &why), -1);
    assert_int_equal(dcap_tcb_info_parse((const uint8_t *)spr, strlen(spr), NULL, &why), -1);
    assert_int_equal(dcap_tcb_info_parse((const uint8_t *)spr, strlen(spr), &ti, NULL), 0);
    dcap_tcb_info_free(&ti);
    dcap_tcb_info_free(NULL);
    free(spr);
    free(emr);
}

/* A failure after the levels and module identities were allocated frees them (ASan). */
static void test_late_failure_leaves_nothing_allocated(void **state)
{
    (void)state;
    char *emr = real_span(EMR_TCB, "tcbInfo");
    if (!emr)
        skip();
    const char *why = NULL;
    /* the last level's status is the last thing parsed */
    const char *last = strstr(emr, "\"tcbDate\":\"2018-01-04T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"");
    assert_non_null(last);
    char *m = subst(emr, "\"tcbDate\":\"2018-01-04T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"",
                    "\"tcbDate\":\"2018-01-04T00:00:00Z\",\"tcbStatus\":\"OutOfDat\"");
    struct dcap_tcb_info ti;
    memset(&ti, 0xA5, sizeof ti);
    assert_int_equal(dcap_tcb_info_parse((uint8_t *)m, strlen(m), &ti, &why), -1);
    static const struct dcap_tcb_info zero;
    assert_memory_equal(&ti, &zero, sizeof zero);
    free(m);
    /* a module identity failing after the first was parsed */
    check_subst(parse_tcb, emr, "{\"tcb\":{\"isvsvn\":2}", "{\"tcb\":{\"isvsvn\":-2}", -1);
    free(emr);
}

/* ---- Enclave identity rules ---- */

static void test_qe_identity_field_rules(void **state)
{
    (void)state;
    char *qe = real_span(SGXQE_ID, "enclaveIdentity");
    if (!qe)
        skip();
    const char *why = NULL;
    struct dcap_qe_identity *q = malloc(sizeof *q);
    assert_non_null(q);
    /* miscselect: the bytes of the report, kept as the report's LE u32 */
    char *m = subst(qe, "\"miscselect\":\"00000000\"", "\"miscselect\":\"01020304\"");
    char *m2 = subst(m, "\"miscselectMask\":\"FFFFFFFF\"", "\"miscselectMask\":\"fffffff0\"");
    assert_int_equal(dcap_qe_identity_parse((uint8_t *)m2, strlen(m2), q, &why), 0);
    assert_int_equal(q->miscselect, 0x04030201u);
    assert_int_equal(q->miscselect_mask, 0xF0FFFFFFu);
    assert_string_equal(q->id, "QE");
    free(m2);
    free(m);
    static const struct {
        const char *from, *to;
        int rc;
    } CASES[] = {
        {"\"id\":\"QE\"", "\"id\":\"QVE\"", 0},
        {"\"id\":\"QE\"", "\"id\":\"TD_QE\"", 0},
        {"\"id\":\"QE\"", "\"id\":\"qe\"", -1},
        {"\"id\":\"QE\"", "\"id\":\"PCE\"", -1},
        {"\"id\":\"QE\"", "\"id\":\"TD_QE_LONGER\"", -1},
        {"\"id\":\"QE\",", "", -1},
        {"\"version\":2", "\"version\":1", -1},
        {"\"version\":2", "\"version\":3", -1},
        {"\"version\":2", "\"version\":2.0", -1},
        {"\"issueDate\":\"2025-06-19T10:01:18Z\"", "\"issueDate\":\"2025-06-19T10:01:18\"", -1},
        {"\"nextUpdate\":\"2025-07-19T10:01:18Z\",", "", -1},
        {"\"tcbEvaluationDataNumber\":17", "\"tcbEvaluationDataNumber\":\"17\"", -1},
        {"\"miscselect\":\"00000000\"", "\"miscselect\":\"0000000\"", -1},
        {"\"miscselect\":\"00000000\"", "\"miscselect\":\"000000000\"", -1},
        {"\"miscselectMask\":\"FFFFFFFF\"", "\"miscselectMask\":\"FFFFFFFX\"", -1},
        {"\"attributes\":\"11000000000000000000000000000000\"",
         "\"attributes\":\"1100000000000000000000000000000\"", -1},
        {"\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\"",
         "\"attributesMask\":\"FBFFFFFFFFFFFFFF00000000000000000\"", -1},
        {"\"mrsigner\":\"8C4F", "\"mrsigner\":\"8C4", -1},
        {"\"isvprodid\":1", "\"isvprodid\":65535", 0},
        {"\"isvprodid\":1", "\"isvprodid\":65536", -1},
        {"\"isvprodid\":1", "\"isvprodid\":-1", -1},
        {"{\"tcb\":{\"isvsvn\":8}", "{\"tcb\":{\"isvsvn\":65535}", 0},
        {"{\"tcb\":{\"isvsvn\":8}", "{\"tcb\":{\"isvsvn\":65536}", -1},
        {"{\"tcb\":{\"isvsvn\":8}", "{\"tcb\":{}", -1},
        {"\"tcbDate\":\"2024-03-13T00:00:00Z\"", "\"tcbDate\":\"2024-13-13T00:00:00Z\"", -1},
        {"\"tcbLevels\":[", "\"tcbLevels\":[],\"x\":[", -1},
        {"\"tcbLevels\":[", "\"tcbLevels\":{},\"x\":[", -1},
        {"\"INTEL-SA-00615\"", "\"INTEL-SA-00615\",7", -1},
        {"\"isvprodid\":1", "\"isvprodid\":1,\"future\":[{}]", 0},
        {"{\"tcb\":{\"isvsvn\":8}", "{\"tcb\":{\"isvsvn\":8,\"x\":1},\"y\":2", 0},
        {"\"isvprodid\":1", "\"isvprodid\":1,\"isvprodid\":1", -1},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        m = subst(qe, CASES[i].from, CASES[i].to);
        int rc = dcap_qe_identity_parse((uint8_t *)m, strlen(m), q, &why);
        if (rc != CASES[i].rc)
            fail_msg("case %zu (%s -> %s): rc %d, want %d (%s)", i, CASES[i].from, CASES[i].to,
                     rc, CASES[i].rc, rc ? why : "ok");
        if (rc != 0) {
            static const uint8_t zero[64];
            assert_memory_equal(q->id, zero, sizeof q->id);
            assert_int_equal(q->n_levels, 0);
        }
        free(m);
    }
    /* 64 levels fine, 65 not */
    for (size_t n = 64; n <= 65; n++) {
        struct sb b = {0};
        sb_printf(&b, "\"tcbLevels\":[");
        for (size_t i = 6; i < n; i++)
            sb_printf(&b, "{\"tcb\":{\"isvsvn\":%zu},\"tcbDate\":\"2024-03-13T00:00:00Z\","
                          "\"tcbStatus\":\"Revoked\"},", 1000 - i);
        m = subst(qe, "\"tcbLevels\":[", b.p);
        assert_int_equal(dcap_qe_identity_parse((uint8_t *)m, strlen(m), q, &why),
                         n == 64 ? 0 : -1);
        if (n == 64) {
            assert_int_equal(q->n_levels, 64);
            assert_int_equal(q->levels[0].status, DCAP_TCB_REVOKED);
            assert_int_equal(q->levels[63].isvsvn, 1);
        }
        free(m);
        free(b.p);
    }
    assert_int_equal(parse_qe("[]", &why), -1);
    assert_int_equal(parse_qe("{}", &why), -1);
    assert_int_equal(dcap_qe_identity_parse(NULL, 0, q, &why), -1);
    assert_int_equal(dcap_qe_identity_parse((uint8_t *)qe, strlen(qe), NULL, &why), -1);
    assert_int_equal(dcap_qe_identity_parse((uint8_t *)qe, DCAP_COLLATERAL_MAX_DOC + 1, q, &why), -1);
    free(q);
    free(qe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names_round_trip),
        cmocka_unit_test(test_real_tcb_info_split_verify_parse),
        cmocka_unit_test(test_real_qe_identity_split_verify_parse),
        cmocka_unit_test(test_span_changes_break_the_signature_and_layout_does_not),
        cmocka_unit_test(test_split_rejects_malformed_bodies),
        cmocka_unit_test(test_phala_combined_format_is_not_a_pcs_body),
        cmocka_unit_test(test_every_truncation_fails),
        cmocka_unit_test(test_unknown_and_misplaced_statuses_are_refused),
        cmocka_unit_test(test_tcb_info_v2_sgx),
        cmocka_unit_test(test_type_confusion_is_refused),
        cmocka_unit_test(test_tcb_info_field_rules),
        cmocka_unit_test(test_late_failure_leaves_nothing_allocated),
        cmocka_unit_test(test_qe_identity_field_rules),
    };
    return cmocka_run_group_tests_name("dcap_collateral", tests, NULL, NULL);
}
