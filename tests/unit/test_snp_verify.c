/*
 * test_snp_verify.c - the SEV-SNP verifier (src/evidence/snp/snp_verify.c) and the accept.snp
 * policy (src/policy/policy.c) against a GENERATED hierarchy (tests/lib/snp_fixture.h): ARK and
 * ASK (RSA-2048 here for speed; AMD's are RSA-4096) and a P-384 VCEK/VLEK, every certificate
 * signed RSASSA-PSS SHA-384 salt 48, the VCEK carrying the AMD extensions
 * (1.3.6.1.4.1.3704.1.*). Reports are filled by hand in the 1184-byte layout (SEV-SNP ABI
 * 56860 Table 23) and signed with the VCEK (r and s little-endian). Every backend and every
 * snp policy failure code is exercised; the test ARK reaches the verifier through
 * accept.snp.trust_anchors.
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
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tether.h"

#include "evidence/evidence.h"
#include "evidence/snp/snp_certtable.h"
#include "evidence/snp/snp_evidence.h"
#include "evidence/snp/snp_report.h"
#include "evidence/snp/snp_vcek.h"
#include "policy/policy.h"
#include "policy/result.h"
#include "util/bytes.h"
#include "util/util.h"
#include "verify/verify.h"

#include "lib/http_fixture.h"
#include "lib/snp_fixture.h"
#include "lib/tmpdir.h"
#include "lib/vectors.h"

#include <sys/socket.h>
#include <sys/stat.h>

/* The shared fixture under the names this file has always used. */
#define H snp_fx
#define MEAS SNP_FX_MEAS
#define HOST SNP_FX_HOST
#define IDKEY SNP_FX_IDKEY
#define DAY SNP_FX_DAY
#define YEAR SNP_FX_YEAR
#define ARC SNP_FX_ARC
#define rspec snp_fx_spec
#define default_spec snp_fx_default_spec
#define build_report snp_fx_build_report
#define put32 snp_fx_put32
#define add_amd_int snp_fx_add_amd_int
#define add_amd_ext snp_fx_add_amd_ext

static int setup(void **state)
{
    (void)state;
    return snp_fx_setup();
}

static int teardown(void **state)
{
    (void)state;
    return snp_fx_teardown();
}


/* ---- running the pipeline ---- */

static char *hexs(const uint8_t *p, size_t n)
{
    return hex_dup(p, n);
}

/* A policy accepting the generated ARK (inline PEM) and MEAS, plus extra JSON members. */
static struct policy *make_policy(bool with_anchor, const char *extra)
{
    char *m = hexs(MEAS, 48);
    char pem[4096] = "";
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, H.ark);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    /* JSON-escape the newlines. */
    size_t o = 0;
    for (long i = 0; i < n && o + 3 < sizeof pem; i++) {
        if (data[i] == '\n') {
            pem[o++] = '\\';
            pem[o++] = 'n';
        } else {
            pem[o++] = data[i];
        }
    }
    pem[o] = '\0';
    BIO_free(b);
    char json[8192];
    snprintf(json, sizeof json,
             "{\"tether_policy\":1,\"accept\":{\"snp\":{%s%s%s\"measurements\":[\"%s\"]%s%s}}}",
             with_anchor ? "\"trust_anchors\":[\"" : "", with_anchor ? pem : "",
             with_anchor ? "\"]," : "", m, extra && extra[0] ? "," : "", extra ? extra : "");
    free(m);
    char err[512];
    struct policy *p = policy_parse(json, strlen(json), NULL, err, sizeof err);
    if (!p)
        fail_msg("policy: %s", err);
    return p;
}

struct outcome {
    bool passed;
    char check[64];
    char code[64];
    char json[32768];
};

static struct outcome run_full(const uint8_t *ev, size_t len, struct policy *p,
                               const char *const *coll, time_t at)
{
    struct outcome o;
    memset(&o, 0, sizeof o);
    struct tether_result *r = result_new();
    assert_non_null(r);
    struct verify_input in = {.evidence = ev, .evidence_len = len, .collateral = coll, .at = at};
    o.passed = verify_evidence(p, &in, r) == 0;
    snprintf(o.check, sizeof o.check, "%s", r->failed_check);
    snprintf(o.code, sizeof o.code, "%s", r->failed_code);
    snprintf(o.json, sizeof o.json, "%s", result_json(r));
    tether_result_free(r);
    return o;
}

static struct outcome run(const struct rspec *s, EVP_PKEY *key, const char *policy_extra,
                          const char *const *coll)
{
    uint8_t rep[SNP_REPORT_LEN];
    build_report(s, key, rep);
    struct policy *p = make_policy(true, policy_extra);
    struct outcome o = run_full(rep, sizeof rep, p, coll, 0);
    policy_free(p);
    return o;
}

static void expect_fail(const struct outcome *o, const char *check, const char *code)
{
    if (o->passed || strcmp(o->check, check) != 0 || strcmp(o->code, code) != 0)
        fail_msg("expected %s/%s, got %s %s/%s\n%s", check, code, o->passed ? "pass" : "fail",
                 o->check, o->code, o->json);
}

static void expect_pass(const struct outcome *o)
{
    if (!o->passed)
        fail_msg("expected pass, got %s/%s\n%s", o->check, o->code, o->json);
}

#define VCEK_COLL (const char *const[]){H.vcek_path, H.ask_path, NULL}

/* ---- tests: authenticity ---- */

static void test_vcek_report_passes(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    struct outcome o = run(&s, H.vcek_key, NULL, VCEK_COLL);
    expect_pass(&o);
    assert_non_null(strstr(o.json, "\"snp_signing_key\":\"VCEK\""));
    assert_non_null(strstr(o.json, "\"tee\":\"snp\""));
    /* A folder as collateral works too, and a v2 report (generation from productName). */
    s.version = 2;
    o = run(&s, H.vcek_key, NULL, (const char *const[]){H.dir, NULL});
    /* the folder also holds the CRL revoking this VCEK */
    expect_fail(&o, "evidence.revocation", "evidence_cert_revoked");
}

static void test_wrong_signature(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    uint8_t rep[SNP_REPORT_LEN];
    build_report(&s, H.vcek_key, rep);
    rep[0x90] ^= 1; /* measurement changed after signing */
    struct policy *p = make_policy(true, NULL);
    struct outcome o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_fail(&o, "evidence.signature", "evidence_signature_invalid");
    /* Signed by another key. */
    build_report(&s, H.vlek_key, rep);
    o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_fail(&o, "evidence.signature", "evidence_signature_invalid");
    policy_free(p);
}

static void test_chain_to_unknown_root(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    uint8_t rep[SNP_REPORT_LEN];
    build_report(&s, H.vcek_key, rep);
    struct policy *p = make_policy(false, NULL); /* built-in AMD roots only */
    struct outcome o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_fail(&o, "evidence.chain", "evidence_chain_untrusted");
    /* No policy at all: the same. */
    o = run_full(rep, sizeof rep, NULL, VCEK_COLL, 0);
    expect_fail(&o, "evidence.chain", "evidence_chain_untrusted");
    /* The ARK offered as collateral is never trusted. */
    o = run_full(rep, sizeof rep, NULL,
                 (const char *const[]){H.vcek_path, H.ask_path, H.ark_path, NULL}, 0);
    expect_fail(&o, "evidence.chain", "evidence_chain_untrusted");
    policy_free(p);
}

static void test_missing_intermediate_and_cert(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    struct outcome o = run(&s, H.vcek_key, NULL, (const char *const[]){H.vcek_path, NULL});
    expect_fail(&o, "evidence.chain", "evidence_chain_untrusted");
    o = run(&s, H.vcek_key, NULL, NULL);
    expect_fail(&o, "evidence.chain", "snp_signing_cert_missing");
    o = run(&s, H.vcek_key, NULL, (const char *const[]){"/nonexistent/vcek.der", NULL});
    expect_fail(&o, "evidence.collateral", "collateral_unreadable");
}

static void test_tcb_mismatch(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    s.tcb.snp = 9; /* REPORTED_TCB differs from the VCEK SPLs */
    struct outcome o = run(&s, H.vcek_key, NULL, VCEK_COLL);
    expect_fail(&o, "evidence.tcb_binding", "vcek_tcb_mismatch");
}

static void test_chip_id_mismatch(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    s.chip[5] ^= 0xff;
    struct outcome o = run(&s, H.vcek_key, NULL, VCEK_COLL);
    expect_fail(&o, "evidence.chip_id", "vcek_chip_id_mismatch");
}

static void test_signing_key_type_mismatch(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    s.signing_key = 1; /* KEY_INFO says VLEK, the certificate is a VCEK */
    struct outcome o = run(&s, H.vcek_key, NULL, VCEK_COLL);
    expect_fail(&o, "evidence.signing_key", "snp_signing_key_mismatch");
    s.signing_key = 0; /* says VCEK, only a VLEK given */
    o = run(&s, H.vlek_key, NULL, (const char *const[]){H.vlek_path, H.asvk_path, NULL});
    expect_fail(&o, "evidence.signing_key", "snp_signing_key_mismatch");
}

static void test_vlek_passes(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    s.signing_key = 1;
    memset(s.chip, 0, sizeof s.chip); /* masked */
    struct outcome o =
        run(&s, H.vlek_key, NULL, (const char *const[]){H.vlek_path, H.asvk_path, NULL});
    expect_pass(&o);
    assert_non_null(strstr(o.json, "\"snp_csp_id\":\"CN=test-csp.example\""));
}

static void test_revoked_and_bad_crl(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    struct outcome o =
        run(&s, H.vcek_key, NULL, (const char *const[]){H.vcek_path, H.ask_path, H.crl_path, NULL});
    expect_fail(&o, "evidence.revocation", "evidence_cert_revoked");
    o = run(&s, H.vcek_key, NULL,
            (const char *const[]){H.vcek_path, H.ask_path, H.badcrl_path, NULL});
    expect_fail(&o, "evidence.revocation", "evidence_crl_invalid");
}

static void test_expired_at(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    uint8_t rep[SNP_REPORT_LEN];
    build_report(&s, H.vcek_key, rep);
    struct policy *p = make_policy(true, NULL);
    struct outcome o = run_full(rep, sizeof rep, p, VCEK_COLL, time(NULL) + 8 * YEAR);
    expect_fail(&o, "evidence.chain", "evidence_cert_expired");
    o = run_full(rep, sizeof rep, p, VCEK_COLL, time(NULL) - 2 * DAY);
    expect_fail(&o, "evidence.chain", "evidence_cert_expired");
    o = run_full(rep, sizeof rep, p, VCEK_COLL, time(NULL) + YEAR);
    expect_pass(&o);
    policy_free(p);
}

/* The warm chain cache (evidence/chain_cache.h): a second verification of the same VCEK under
 * the same policy takes the cached chain and gives the same verdict, marked "(cached)"; a
 * supplied CRL always means a full verification; a time outside the chain's validity window,
 * or a chain whose intermediate is not offered this time, misses. */
static void test_chain_cache(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    uint8_t rep[SNP_REPORT_LEN];
    build_report(&s, H.vcek_key, rep);
    struct policy *p = make_policy(true, NULL);
    struct outcome o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_pass(&o);
    assert_null(strstr(o.json, "(cached)"));
    o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_pass(&o);
    assert_non_null(strstr(o.json, "verified earlier for this policy (cached)"));
    /* Identical check outputs apart from that detail: same anchor named. */
    assert_non_null(strstr(o.json, "anchored at policy anchor"));
    /* With a CRL revoking the VCEK: fails, even after the cached pass. */
    o = run_full(rep, sizeof rep, p,
                 (const char *const[]){H.vcek_path, H.ask_path, H.crl_path, NULL}, 0);
    expect_fail(&o, "evidence.revocation", "evidence_cert_revoked");
    assert_null(strstr(o.json, "(cached)"));
    /* ... and the cache still holds the good chain for verifications without CRLs. */
    o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_pass(&o);
    assert_non_null(strstr(o.json, "(cached)"));
    /* Outside the window: a miss, and the full verification fails. */
    o = run_full(rep, sizeof rep, p, VCEK_COLL, time(NULL) + 8 * YEAR);
    expect_fail(&o, "evidence.chain", "evidence_cert_expired");
    o = run_full(rep, sizeof rep, p, VCEK_COLL, time(NULL) - 2 * DAY);
    expect_fail(&o, "evidence.chain", "evidence_cert_expired");
    /* The ASK was untrusted material of the cached chain: without it, no cached pass. */
    o = run_full(rep, sizeof rep, p, (const char *const[]){H.vcek_path, NULL}, 0);
    expect_fail(&o, "evidence.chain", "evidence_chain_untrusted");
    /* A tampered report still fails on the signature with the cached chain. */
    rep[0x90] ^= 1;
    o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_fail(&o, "evidence.signature", "evidence_signature_invalid");
    assert_non_null(strstr(o.json, "(cached)"));
    /* Another policy entry has its own cache. */
    struct policy *p2 = make_policy(true, NULL);
    rep[0x90] ^= 1;
    o = run_full(rep, sizeof rep, p2, VCEK_COLL, 0);
    expect_pass(&o);
    assert_null(strstr(o.json, "(cached)"));
    policy_free(p2);
    policy_free(p);
}

static void test_turin_fmc_and_8_byte_chip_id(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    s.turin = true;
    s.version = 5;
    struct outcome o = run(&s, H.turin_key, NULL, (const char *const[]){H.turin_path, H.ask_path, NULL});
    expect_pass(&o);
    s.tcb.fmc = 2; /* the VCEK says fmc 1 */
    o = run(&s, H.turin_key, NULL, (const char *const[]){H.turin_path, H.ask_path, NULL});
    expect_fail(&o, "evidence.tcb_binding", "vcek_tcb_mismatch");
    s.tcb.fmc = 1;
    o = run(&s, H.turin_key, "\"min_tcb\":{\"fmc\":2}",
            (const char *const[]){H.turin_path, H.ask_path, NULL});
    expect_fail(&o, "policy.tcb", "snp_tcb_fmc_too_low");
    s.chip[0] ^= 1;
    o = run(&s, H.turin_key, NULL, (const char *const[]){H.turin_path, H.ask_path, NULL});
    expect_fail(&o, "evidence.chip_id", "vcek_chip_id_mismatch");
}

static void test_container_with_cert_table(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    uint8_t rep[SNP_REPORT_LEN];
    build_report(&s, H.vcek_key, rep);
    unsigned char *vd = NULL, *ad = NULL;
    int vl = i2d_X509(H.vcek, &vd), al = i2d_X509(H.ask, &ad);
    struct snp_cert_blob certs[] = {{SNP_CERT_VCEK, vd, (size_t)vl},
                                    {SNP_CERT_ASK, ad, (size_t)al}};
    struct bytes_writer tw, cw;
    writer_init(&tw, SNP_EVIDENCE_CERTTABLE_MAX);
    assert_int_equal(snp_certtable_encode(certs, 2, &tw), 0);
    size_t tl = 0;
    uint8_t *table = writer_take(&tw, &tl);
    writer_init(&cw, SNP_EVIDENCE_MAX);
    assert_int_equal(snp_evidence_encode(rep, sizeof rep, table, tl, &cw), 0);
    size_t el = 0;
    uint8_t *ev = writer_take(&cw, &el);
    const struct evidence_backend *be = evidence_backend_recognise(ev, el);
    assert_non_null(be);
    assert_string_equal(be->name, "snp");
    struct policy *p = make_policy(true, NULL);
    struct outcome o = run_full(ev, el, p, NULL, 0);
    expect_pass(&o);
    ev[el - 1] ^= 1; /* corrupt the last certificate's signature */
    o = run_full(ev, el, p, NULL, 0);
    assert_false(o.passed);
    policy_free(p);
    free(ev);
    free(table);
    OPENSSL_free(vd);
    OPENSSL_free(ad);
}

static void test_malformed(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    uint8_t rep[SNP_REPORT_LEN];
    build_report(&s, H.vcek_key, rep);
    struct policy *p = make_policy(true, NULL);
    rep[0x4C] = 1; /* reserved MBZ */
    struct outcome o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_fail(&o, "evidence.format", "evidence_malformed");
    /* Not recognised when the version is one the parser refuses (0, 1), nor with another
     * signature algorithm. Later versions are recognised: see test_later_version. */
    put32(rep, 1);
    assert_null(evidence_backend_recognise(rep, sizeof rep));
    put32(rep, 0);
    assert_null(evidence_backend_recognise(rep, sizeof rep));
    put32(rep, 3);
    put32(rep + 0x34, 2);
    assert_null(evidence_backend_recognise(rep, sizeof rep));
    policy_free(p);
}


/* ---- recognition follows the parser: a later report version ---- */

/* A bare v6 report (not yet published when this was written): the parser accepts every version
 * from 2 on from the layout alone, and recognition uses the same rule, so it is verified
 * without --type. (Before: recognition stopped at 5 and gave evidence_unrecognised.) */
static void test_later_version(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    s.version = 6;
    uint8_t rep[SNP_REPORT_LEN];
    build_report(&s, H.vcek_key, rep);
    const struct evidence_backend *be = evidence_backend_recognise(rep, sizeof rep);
    assert_non_null(be);
    assert_string_equal(be->name, "snp");
    struct snp_report parsed;
    const char *why = NULL;
    assert_int_equal(snp_report_parse(rep, sizeof rep, &parsed, &why), 0);
    assert_true(snp_report_version_supported(6) && snp_report_version_supported(2));
    assert_false(snp_report_version_supported(1));
    struct policy *p = make_policy(true, NULL);
    struct outcome o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_pass(&o);
    assert_non_null(strstr(o.json, "\"snp_report_version\":6"));
    assert_non_null(strstr(o.json, "version 2 or later"));
    policy_free(p);
}

/* ---- REPORTED_TCB, not CURRENT_TCB ---- */

static void test_vcek_matches_current_not_reported(void **state)
{
    (void)state;
    struct snp_fx_tcb other = H.tcb;
    other.snp = 9;
    other.ucode = 116;
    /* The VCEK (H.tcb) equals CURRENT_TCB, not REPORTED_TCB: must fail. */
    struct rspec s = default_spec();
    s.tcb = other;
    s.current_tcb = &H.tcb;
    s.committed_tcb = &H.tcb;
    s.launch_tcb = &H.tcb;
    struct outcome o = run(&s, H.vcek_key, NULL, VCEK_COLL);
    expect_fail(&o, "evidence.tcb_binding", "vcek_tcb_mismatch");
    assert_non_null(strstr(o.json, "REPORTED_TCB"));
    /* The VCEK equals REPORTED_TCB while CURRENT_TCB moved on (an update not yet reported):
     * passes. */
    s = default_spec();
    s.current_tcb = &other;
    s.committed_tcb = &other;
    o = run(&s, H.vcek_key, NULL, VCEK_COLL);
    expect_pass(&o);
}

/* ---- platform identity: CHIP_ID, or the VLEK's cspId ---- */

static struct policy *platform_policy(const char *platform_hex)
{
    char *m = hexs(MEAS, 48);
    char json[2048], err[512];
    snprintf(json, sizeof json,
             "{\"tether_policy\":1,\"accept\":{\"snp\":{\"trust_anchors\":[\"%s\"],"
             "\"measurements\":[\"%s\"]}},\"platform_ids\":[\"%s\"]}",
             H.ark_path, m, platform_hex);
    free(m);
    struct policy *p = policy_parse(json, strlen(json), NULL, err, sizeof err);
    if (!p)
        fail_msg("policy: %s", err);
    return p;
}

static void test_platform_not_allowed(void **state)
{
    (void)state;
    uint8_t rep[SNP_REPORT_LEN];
    /* VCEK: the platform identity is CHIP_ID. */
    struct rspec s = default_spec();
    build_report(&s, H.vcek_key, rep);
    uint8_t other[64];
    memcpy(other, H.chip, 64);
    other[63] ^= 1;
    char *oh = hexs(other, 64), *ch = hexs(H.chip, 64);
    struct policy *p = platform_policy(oh);
    struct outcome o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_fail(&o, "policy.platform_id", "platform_not_allowed");
    assert_non_null(strstr(o.json, ch)); /* the actual CHIP_ID is shown */
    policy_free(p);
    p = platform_policy(ch);
    o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_pass(&o);
    policy_free(p);
    free(oh);
    free(ch);
    /* VLEK: the platform identity is the cspId's bytes (CHIP_ID is masked). */
    s = default_spec();
    s.signing_key = 1;
    memset(s.chip, 0, sizeof s.chip);
    build_report(&s, H.vlek_key, rep);
    const char *csp = "CN=test-csp.example";
    char *cs = hexs((const uint8_t *)csp, strlen(csp));
    p = platform_policy(cs);
    const char *const vcoll[] = {H.vlek_path, H.asvk_path, NULL};
    o = run_full(rep, sizeof rep, p, vcoll, 0);
    expect_pass(&o);
    policy_free(p);
    const char *other_csp = "CN=other-csp.example";
    char *os = hexs((const uint8_t *)other_csp, strlen(other_csp));
    p = platform_policy(os);
    o = run_full(rep, sizeof rep, p, vcoll, 0);
    expect_fail(&o, "policy.platform_id", "platform_not_allowed");
    policy_free(p);
    free(cs);
    free(os);
}

/* ---- binding: expected report_data ---- */

static void test_binder_mismatch(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    uint8_t rep[SNP_REPORT_LEN], want[64];
    build_report(&s, H.vcek_key, rep); /* report_data 0x01..0x40 */
    for (int i = 0; i < 64; i++)
        want[i] = (uint8_t)(i + 1);
    struct policy *p = make_policy(true, NULL);
    struct tether_result *r = result_new();
    struct verify_input in = {.evidence = rep, .evidence_len = sizeof rep,
                              .collateral = VCEK_COLL, .expected_report_data = want,
                              .expected_report_data_len = 64};
    assert_int_equal(verify_evidence(p, &in, r), 0);
    tether_result_free(r);
    want[17] ^= 0x80;
    r = result_new();
    assert_int_not_equal(verify_evidence(p, &in, r), 0);
    assert_string_equal(r->failed_check, "binding.report_data");
    assert_string_equal(r->failed_code, "binder_mismatch");
    tether_result_free(r);
    policy_free(p);
}

/* ---- CRLs: the revocation rule ---- */

static bool check_status(const struct outcome *o, const char *name, const char *status)
{
    char want[128];
    snprintf(want, sizeof want, "\"name\":\"%s\",\"status\":\"%s\"", name, status);
    return strstr(o->json, want) != NULL;
}

static void test_crl_rules(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    char crl[256];
    snprintf(crl, sizeof crl, "%s/rules.crl", H.dir);
    const char *const coll[] = {H.vcek_path, H.ask_path, crl, NULL};
    /* AMD KDS's shape: the ARK's CRL listing the ASK. */
    snp_fx_write_crl(crl, H.ark, H.ark_key, H.ask, -3600, 7 * DAY, true);
    struct outcome o = run(&s, H.vcek_key, NULL, coll);
    expect_fail(&o, "evidence.revocation", "evidence_cert_revoked");
    assert_non_null(strstr(o.json, "CN=SEV-Test,O=Test AMD is revoked"));
    /* The ARK's CRL listing nothing of the chain, as a plain file: applied, but the ARK issues
     * both the VCEK and the VLEK CRL under one name, so it may be the other key type's and
     * does not count as a check: skip, saying why (in a bundle or from KDS it counts). */
    snp_fx_write_crl(crl, H.ark, H.ark_key, NULL, -3600, 7 * DAY, false);
    o = run(&s, H.vcek_key, NULL, coll);
    expect_pass(&o);
    assert_true(check_status(&o, "evidence.revocation", "skip"));
    assert_non_null(strstr(o.json, "0 CRL(s) checked, 0 not issued by a CA of this chain, "
                                   "1 ARK CRL(s) of unknown key type"));
    /* The ASK's CRL (it lists VCEKs; an ASVK's would list VLEKs): no ambiguity, checked. */
    snp_fx_write_crl(crl, H.ask, H.ask_key, NULL, -3600, 7 * DAY, false);
    o = run(&s, H.vcek_key, NULL, coll);
    expect_pass(&o);
    assert_true(check_status(&o, "evidence.revocation", "pass"));
    assert_non_null(strstr(o.json, "1 CRL(s) checked"));
    /* Expired (nextUpdate passed) and not yet valid (thisUpdate ahead): fail closed. */
    snp_fx_write_crl(crl, H.ark, H.ark_key, NULL, -10 * DAY, -DAY, true);
    o = run(&s, H.vcek_key, NULL, coll);
    expect_fail(&o, "evidence.revocation", "evidence_crl_expired");
    snp_fx_write_crl(crl, H.ask, H.ask_key, NULL, DAY, 10 * DAY, true);
    o = run(&s, H.vcek_key, NULL, coll);
    expect_fail(&o, "evidence.revocation", "evidence_crl_expired");
    /* ... but the same CRL is current at a later --at. */
    uint8_t rep[SNP_REPORT_LEN];
    build_report(&s, H.vcek_key, rep);
    struct policy *p = make_policy(true, NULL);
    o = run_full(rep, sizeof rep, p, coll, time(NULL) + 2 * DAY);
    expect_pass(&o);
    /* An expired CRL next to a current one of the same CA: the current one decides. */
    char crl2[256];
    snprintf(crl2, sizeof crl2, "%s/rules2.crl", H.dir);
    snp_fx_write_crl(crl, H.ark, H.ark_key, NULL, -10 * DAY, -DAY, true);
    snp_fx_write_crl(crl2, H.ark, H.ark_key, NULL, -3600, DAY, true);
    o = run_full(rep, sizeof rep, p, (const char *const[]){H.vcek_path, H.ask_path, crl, crl2, NULL},
                 0);
    expect_pass(&o);
    policy_free(p);
    unlink(crl2);
    /* Only an unrelated issuer's CRL: nothing was checked - skip, not pass. */
    EVP_PKEY *ok = snp_fx_rsa_key();
    X509 *other = snp_fx_cert(ok, "Other-CA", NULL, NULL, true, 9, -DAY, YEAR);
    snp_fx_sign_cert(other, ok);
    snp_fx_write_crl(crl, other, ok, H.ask, -3600, 7 * DAY, true);
    o = run(&s, H.vcek_key, NULL, coll);
    expect_pass(&o);
    assert_true(check_status(&o, "evidence.revocation", "skip"));
    assert_non_null(strstr(o.json, "0 CRL(s) checked, 1 not issued by a CA of this chain"));
    X509_free(other);
    EVP_PKEY_free(ok);
    /* No CRL at all: skip. */
    o = run(&s, H.vcek_key, NULL, VCEK_COLL);
    assert_true(check_status(&o, "evidence.revocation", "skip"));
    unlink(crl);
}

/* ---- CRLs and chains from an offline bundle folder (docs/collateral.md layout) ---- */

static void bundle_file(const char *dir, const char *rel, char *out, size_t n)
{
    assert_int_equal(path_join(out, n, dir, rel), 0);
    assert_int_equal(mkdir_parents(out), 0);
}

static void test_bundle_crl_and_chain(void **state)
{
    (void)state;
    char b[64] = "/tmp/tether-snp-bundle-XXXXXX", crl[512], chain[512];
    assert_non_null(mkdtemp(b));
    bundle_file(b, "snp/Milan/crl.der", crl, sizeof crl);
    bundle_file(b, "snp/Milan/cert_chain.pem", chain, sizeof chain);
    struct rspec s = default_spec();
    /* The ARK's CRL revoking the ASK at DIR/snp/Milan/crl.der is used. */
    snp_fx_write_crl(crl, H.ark, H.ark_key, H.ask, -3600, 7 * DAY, true);
    struct outcome o = run(&s, H.vcek_key, NULL, (const char *const[]){H.vcek_path, H.ask_path, b, NULL});
    expect_fail(&o, "evidence.revocation", "evidence_cert_revoked");
    assert_non_null(strstr(o.json, "(1 from bundles)"));
    /* A v2 report (generation unknown until the chain): every generation's file is read. */
    s.version = 2;
    o = run(&s, H.vcek_key, NULL, (const char *const[]){H.vcek_path, H.ask_path, b, NULL});
    expect_fail(&o, "evidence.revocation", "evidence_cert_revoked");
    s.version = 3;
    /* A current CRL revoking nothing: checked, pass. */
    snp_fx_write_crl(crl, H.ark, H.ark_key, NULL, -3600, 7 * DAY, true);
    o = run(&s, H.vcek_key, NULL, (const char *const[]){H.vcek_path, H.ask_path, b, NULL});
    expect_pass(&o);
    assert_true(check_status(&o, "evidence.revocation", "pass"));
    /* An expired bundle CRL fails closed. */
    snp_fx_write_crl(crl, H.ark, H.ark_key, NULL, -10 * DAY, -DAY, true);
    o = run(&s, H.vcek_key, NULL, (const char *const[]){H.vcek_path, H.ask_path, b, NULL});
    expect_fail(&o, "evidence.revocation", "evidence_crl_expired");
    unlink(crl);
    /* The bundle's cert_chain.pem (ASK then ARK) supplies the ASK; its ARK stays untrusted. */
    FILE *f = fopen(chain, "w");
    assert_non_null(f);
    PEM_write_X509(f, H.ask);
    PEM_write_X509(f, H.ark);
    fclose(f);
    o = run(&s, H.vcek_key, NULL, (const char *const[]){H.vcek_path, b, NULL});
    expect_pass(&o);
    uint8_t rep[SNP_REPORT_LEN];
    build_report(&s, H.vcek_key, rep);
    o = run_full(rep, sizeof rep, NULL, (const char *const[]){H.vcek_path, b, NULL}, 0);
    expect_fail(&o, "evidence.chain", "evidence_chain_untrusted");
    /* A malformed bundle file is an error, not "absent" (the bundle is authoritative). */
    f = fopen(crl, "w");
    assert_non_null(f);
    fputs("not a CRL", f);
    fclose(f);
    o = run(&s, H.vcek_key, NULL, (const char *const[]){H.vcek_path, H.ask_path, b, NULL});
    expect_fail(&o, "evidence.collateral", "collateral_unreadable");
    tmpdir_remove(b);
}

/* ---- the CRL from AMD KDS (a loopback mirror) into the --kds-cache directory ---- */

struct kds_srv {
    struct http_fixture http;
    int mode;    /* 0: 429 once then the CRL, 1: the CRL, 2: 404, 3: 500 */
    int n429;
    uint8_t *crl;
    size_t crl_len;
};

static void kds_respond(void *arg, int c, const char *target)
{
    struct kds_srv *k = arg;
    char hdr[256];
    int status = 200, n;
    const char *extra = "";
    pthread_mutex_lock(&k->http.mu);
    int mode = k->mode, first = mode == 0 && k->n429++ == 0;
    pthread_mutex_unlock(&k->http.mu);
    bool crl = strcmp(target, "/vcek/v1/Milan/crl") == 0;
    if (!crl || mode == 2)
        status = 404;
    else if (mode == 3)
        status = 500;
    else if (first) {
        status = 429;
        extra = "Retry-After: 1\r\n";
    }
    size_t blen = status == 200 ? k->crl_len : 0;
    n = snprintf(hdr, sizeof hdr,
                 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                 blen, extra);
    (void)send(c, hdr, (size_t)n, MSG_NOSIGNAL);
    if (blen)
        (void)send(c, k->crl, blen, MSG_NOSIGNAL);
}

static void set_kds_crl(struct kds_srv *k, X509 *revoked)
{
    char path[256];
    snprintf(path, sizeof path, "%s/kds.crl", H.dir);
    snp_fx_write_crl(path, H.ark, H.ark_key, revoked, -3600, 7 * DAY, true);
    pthread_mutex_lock(&k->http.mu);
    free(k->crl);
    assert_int_equal(file_read(path, 1 << 20, &k->crl, &k->crl_len), 0);
    pthread_mutex_unlock(&k->http.mu);
    unlink(path);
}

static void test_kds_crl_fetch(void **state)
{
    (void)state;
    struct kds_srv k;
    memset(&k, 0, sizeof k);
    http_fixture_start(&k.http, 12, kds_respond, &k);
    set_kds_crl(&k, H.ask); /* the ARK's CRL revoking the ASK */
    char cache[64] = "/tmp/tether-snp-kds-XXXXXX", kds[96];
    assert_non_null(mkdtemp(cache));
    snprintf(kds, sizeof kds, "kds:%s", cache);
    const char *old = getenv("TETHER_KDS_URL");
    char *saved = old ? strdup(old) : NULL;
    setenv("TETHER_KDS_URL", k.http.base, 1);
    struct rspec s = default_spec();
    const char *const coll[] = {H.vcek_path, H.ask_path, kds, NULL};
    /* 429 with Retry-After: 1, then the CRL: fetched, cached, and it revokes the ASK. */
    struct outcome o = run(&s, H.vcek_key, NULL, coll);
    expect_fail(&o, "evidence.revocation", "evidence_cert_revoked");
    assert_int_equal(http_fixture_requests(&k.http), 2);
    assert_string_equal(k.http.targets[1], "/vcek/v1/Milan/crl");
    assert_true(tmpdir_file_mode(cache, "snp/Milan/crl.der", NULL));
    /* Fresh in the cache: no request, same verdict. */
    o = run(&s, H.vcek_key, NULL, coll);
    expect_fail(&o, "evidence.revocation", "evidence_cert_revoked");
    assert_int_equal(http_fixture_requests(&k.http), 2);
    /* A v2 report whose VCEK names no product: the generation is known only once the chain
     * is verified against the built-in ARKs, and the CRL is looked up then. Against a policy
     * anchor (as here) no generation can be named: fail closed, where it used to be skipped
     * silently. */
    tmpdir_remove(cache);
    assert_non_null(mkdtemp(strcpy(cache, "/tmp/tether-snp-kds-XXXXXX")));
    snprintf(kds, sizeof kds, "kds:%s", cache);
    X509 *np = snp_fx_cert(H.vcek_key, "SEV-VCEK", NULL, "SEV-Test", false, 0, -DAY, YEAR);
    snp_fx_add_amd_int(np, SNP_FX_ARC "1", 0); /* structVersion; no productName (.2) */
    snp_fx_add_amd_int(np, SNP_FX_ARC "3.1", H.tcb.bl);
    snp_fx_add_amd_int(np, SNP_FX_ARC "3.2", H.tcb.tee);
    snp_fx_add_amd_int(np, SNP_FX_ARC "3.3", H.tcb.snp);
    snp_fx_add_amd_int(np, SNP_FX_ARC "3.8", H.tcb.ucode);
    snp_fx_add_amd_ext(np, SNP_FX_ARC "4", H.chip, 64);
    snp_fx_sign_cert(np, H.ask_key);
    char np_path[256];
    snprintf(np_path, sizeof np_path, "%s/vcek-no-product.pem", H.dir);
    FILE *nf = fopen(np_path, "w");
    assert_non_null(nf);
    PEM_write_X509(nf, np);
    fclose(nf);
    X509_free(np);
    s.version = 2;
    o = run(&s, H.vcek_key, NULL, (const char *const[]){np_path, H.ask_path, kds, NULL});
    expect_fail(&o, "evidence.revocation", "evidence_crl_unavailable");
    assert_non_null(strstr(o.json, "the generation is unknown"));
    assert_int_equal(http_fixture_requests(&k.http), 2);
    s.version = 3;
    unlink(np_path);
    /* A new cache, a CRL revoking nothing: checked, pass. */
    tmpdir_remove(cache);
    assert_non_null(mkdtemp(strcpy(cache, "/tmp/tether-snp-kds-XXXXXX")));
    snprintf(kds, sizeof kds, "kds:%s", cache);
    k.mode = 1;
    set_kds_crl(&k, NULL);
    o = run(&s, H.vcek_key, NULL, coll);
    expect_pass(&o);
    assert_true(check_status(&o, "evidence.revocation", "pass"));
    assert_non_null(strstr(o.json, "KDS CRL for Milan"));
    tmpdir_remove(cache);
    /* KDS answers 404: no CRL to check - skip, with the reason. */
    assert_non_null(mkdtemp(strcpy(cache, "/tmp/tether-snp-kds-XXXXXX")));
    snprintf(kds, sizeof kds, "kds:%s", cache);
    k.mode = 2;
    o = run(&s, H.vcek_key, NULL, coll);
    expect_pass(&o);
    assert_true(check_status(&o, "evidence.revocation", "skip"));
    assert_non_null(strstr(o.json, "KDS has no CRL"));
    /* KDS fails (HTTP 500) and nothing is cached: fail closed. */
    k.mode = 3;
    o = run(&s, H.vcek_key, NULL, coll);
    expect_fail(&o, "evidence.revocation", "evidence_crl_unavailable");
    /* The mirror gone: a cached CRL still answers (revoking the ASK here). */
    k.mode = 1;
    set_kds_crl(&k, H.ask);
    o = run(&s, H.vcek_key, NULL, coll);
    expect_fail(&o, "evidence.revocation", "evidence_cert_revoked");
    int before = http_fixture_requests(&k.http);
    http_fixture_stop(&k.http);
    o = run(&s, H.vcek_key, NULL, coll);
    expect_fail(&o, "evidence.revocation", "evidence_cert_revoked");
    assert_int_equal(http_fixture_requests(&k.http), before);
    if (saved)
        setenv("TETHER_KDS_URL", saved, 1);
    else
        unsetenv("TETHER_KDS_URL");
    free(saved);
    tmpdir_remove(cache);
    http_fixture_free(&k.http);
    free(k.crl);
}

/* ---- the real Turin VCEK chains to the built-in Turin roots ---- */

static void test_real_turin_vcek_chain(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *der = test_vector("AMD Turin VCEK", "snp/virtee-sev/turin_vcek.der", &len);
    if (!der) {
        print_message("# skip: the Turin VCEK vector is absent (set TETHER_VECTORS)\n");
        skip();
    }
    const unsigned char *q = der;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    assert_non_null(x);
    struct snp_cert_ext e;
    const char *why = NULL;
    assert_int_equal(snp_cert_ext_read(x, &e, &why), 0);
    assert_true(e.has_hwid && e.hwid_len == 8 && e.has_fmc);
    X509_free(x);
    /* No report exists for it: a synthetic Turin v5 report with its hwID and SPLs, signed by
     * another key. The chain (checked before the signature) must pass to ARK-Turin with the
     * built-in roots only; then the signature fails, as it must. */
    struct rspec s = default_spec();
    s.turin = true;
    s.version = 5;
    memset(s.chip, 0, sizeof s.chip);
    memcpy(s.chip, e.hwid, 8);
    s.tcb = (struct snp_fx_tcb){.fmc = e.fmc, .bl = e.bl, .tee = e.tee, .snp = e.snp,
                                .ucode = e.ucode};
    uint8_t rep[SNP_REPORT_LEN];
    build_report(&s, H.turin_key, rep);
    char path[256];
    snprintf(path, sizeof path, "%s/real_turin.der", H.dir);
    assert_int_equal(file_write(path, der, len, 0644), 0);
    struct policy *p = make_policy(false, NULL);
    time_t at = 1767225600; /* 2026-01-01T00:00:00Z, inside 2024-11-06 .. 2031-11-06 */
    struct outcome o = run_full(rep, sizeof rep, p, (const char *const[]){path, NULL}, at);
    expect_fail(&o, "evidence.signature", "evidence_signature_invalid");
    assert_true(check_status(&o, "evidence.chain", "pass"));
    assert_non_null(strstr(o.json, "anchored at built-in AMD ARK-Turin"));
    /* The same certificate with its signature altered does not chain. */
    der[len - 8] ^= 1;
    assert_int_equal(file_write(path, der, len, 0644), 0);
    o = run_full(rep, sizeof rep, p, (const char *const[]){path, NULL}, at);
    expect_fail(&o, "evidence.chain", "evidence_chain_untrusted");
    policy_free(p);
    unlink(path);
    free(der);
}

/* ---- tests: the accept.snp policy ---- */

static void test_policy_checks(void **state)
{
    (void)state;
    struct rspec s = default_spec();
    struct outcome o;
    char *hd = hexs(HOST, 32), *ik = hexs(IDKEY, 48), *ch = hexs(H.chip, 64);
    char buf[1024];
    /* Everything stated and satisfied. */
    snprintf(buf, sizeof buf,
             "\"host_data\":[\"%s\"],\"id_key_digests\":[\"%s\"],\"chip_ids\":[\"%s\"],"
             "\"min_tcb\":{\"bootloader\":3,\"tee\":0,\"snp\":8,\"microcode\":115},"
             "\"min_firmware\":\"1.55.29\",\"max_vmpl\":0",
             hd, ik, ch);
    o = run(&s, H.vcek_key, buf, VCEK_COLL);
    expect_pass(&o);

    struct {
        const char *extra;
        const char *check, *code;
        uint64_t policy_bits;
        uint32_t vmpl;
    } cases[] = {
        {"\"min_tcb\":{\"bootloader\":4}", "policy.tcb", "snp_tcb_bootloader_too_low", 0, 0},
        {"\"min_tcb\":{\"tee\":1}", "policy.tcb", "snp_tcb_tee_too_low", 0, 0},
        {"\"min_tcb\":{\"snp\":9}", "policy.tcb", "snp_tcb_snp_too_low", 0, 0},
        {"\"min_tcb\":{\"microcode\":200}", "policy.tcb", "snp_tcb_microcode_too_low", 0, 0},
        {"\"min_firmware\":\"1.55.30\"", "policy.snp.firmware", "snp_firmware_too_old", 0, 0},
        {"\"min_firmware\":\"2.0\"", "policy.snp.firmware", "snp_firmware_too_old", 0, 0},
        {NULL, "policy.snp.vmpl", "snp_vmpl_not_allowed", 0, 1},
        {"\"max_vmpl\":1", "policy.snp.vmpl", "snp_vmpl_not_allowed", 0, 2},
        {"\"vmpl\":2", "policy.snp.vmpl", "snp_vmpl_not_allowed", 0, 1},
        {NULL, "policy.snp.migration_agent", "snp_migration_agent_not_allowed", 1ull << 18, 0},
        {"\"allow_smt\":false", "policy.snp.smt", "snp_smt_not_allowed", 0, 0},
        {"\"require_single_socket\":true", "policy.snp.single_socket",
         "snp_single_socket_required", 0, 0},
        {"\"host_data\":[\"" "0000000000000000000000000000000000000000000000000000000000000001"
         "\"]", "policy.snp.host_data", "snp_host_data_not_allowed", 0, 0},
        {"\"id_key_digests\":[\"" "00000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000001\"]", "policy.snp.id_key_digest",
         "snp_id_key_not_allowed", 0, 0},
        {"\"author_key_digests\":[\"" "0000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000001\"]", "policy.snp.author_key_digest",
         "snp_author_key_not_allowed", 0, 0},
        {"\"chip_ids\":[\"0102030405060708\"]", "policy.snp.chip_id", "snp_chip_id_not_allowed",
         0, 0},
        {NULL, "policy.debug", "debug_not_allowed", 1ull << 19, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rspec c = default_spec();
        c.policy |= cases[i].policy_bits;
        c.vmpl = cases[i].vmpl;
        o = run(&c, H.vcek_key, cases[i].extra, VCEK_COLL);
        expect_fail(&o, cases[i].check, cases[i].code);
    }
    /* The allowances. */
    s.policy |= (1ull << 18) | (1ull << 20);
    s.vmpl = 2;
    o = run(&s, H.vcek_key, "\"allow_migration_agent\":true,\"require_single_socket\":true,"
                            "\"vmpl\":2", VCEK_COLL);
    expect_pass(&o);

    /* The measurement and the top-level platform_ids (= CHIP_ID). */
    s = default_spec();
    uint8_t rep[SNP_REPORT_LEN];
    build_report(&s, H.vcek_key, rep);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"tether_policy\":1,\"accept\":{\"snp\":{\"trust_anchors\":[\"%s\"],"
             "\"measurements\":[\"%096d\"]}}}", H.ark_path, 0);
    char err[512];
    struct policy *p = policy_parse(json, strlen(json), NULL, err, sizeof err);
    assert_non_null(p);
    o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_fail(&o, "policy.measurement", "measurement_not_allowed");
    policy_free(p);
    char *m = hexs(MEAS, 48);
    snprintf(json, sizeof json,
             "{\"tether_policy\":1,\"accept\":{\"snp\":{\"trust_anchors\":[\"%s\"],"
             "\"measurements\":[\"%s\"]}},\"platform_ids\":[\"%s\"]}", H.ark_path, m, ch);
    p = policy_parse(json, strlen(json), NULL, err, sizeof err);
    assert_non_null(p);
    o = run_full(rep, sizeof rep, p, VCEK_COLL, 0);
    expect_pass(&o);
    policy_free(p);
    free(m);
    free(hd);
    free(ik);
    free(ch);
}

#define P_BIT(n) (1ull << (n))

/* min_abi, the guest policy bits of ABI 1.55+ and PLATFORM_INFO (56860 Table 9, Table 23):
 * every code, the passing case, the defaults, and bits a report version does not define. */
static void test_policy_feature_bits(void **state)
{
    (void)state;
    struct outcome o;
    static const char ALL[] =
        "\"min_abi\":\"1.55\",\"allow_cxl\":true,\"require_aes_256_xts\":true,"
        "\"require_rapl_disabled\":true,\"require_ciphertext_hiding\":true,"
        "\"require_page_swap_disabled\":true,\"allow_smt_enabled\":true,\"require_tsme\":true,"
        "\"require_ecc_memory\":true,\"require_rapl_disabled_platform\":true,"
        "\"require_ciphertext_hiding_platform\":true,\"require_alias_check_complete\":true";
    /* A v5 report with every feature: ABI 1.55, POLICY bits 21..25, PLATFORM_INFO 0..5. */
    struct rspec full = default_spec();
    full.version = 5;
    full.policy = 0x30000 | 0x0137 /* ABI 1.55 */ | P_BIT(21) | P_BIT(22) | P_BIT(23) |
                  P_BIT(24) | P_BIT(25);
    full.platform_info = 0x3f;
    o = run(&full, H.vcek_key, ALL, VCEK_COLL);
    expect_pass(&o);
    static const char *const names[] = {
        "policy.snp.abi", "policy.snp.cxl", "policy.snp.mem_aes_256_xts",
        "policy.snp.rapl_disabled", "policy.snp.ciphertext_hiding",
        "policy.snp.page_swap_disabled", "policy.snp.platform.smt", "policy.snp.platform.tsme",
        "policy.snp.platform.ecc", "policy.snp.platform.rapl_disabled",
        "policy.snp.platform.ciphertext_hiding", "policy.snp.platform.alias_check"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!check_status(&o, names[i], "pass"))
            fail_msg("%s is not a pass\n%s", names[i], o.json);
    assert_non_null(strstr(o.json, "\"snp_policy_page_swap_disable\":true"));
    assert_non_null(strstr(o.json, "\"snp_platform_alias_check_complete\":true"));

    /* Defaults: nothing required (skips), CXL refused, SMT_EN accepted. */
    struct rspec s = default_spec();
    s.platform_info = P_BIT(0);
    o = run(&s, H.vcek_key, NULL, VCEK_COLL);
    expect_pass(&o);
    assert_true(check_status(&o, "policy.snp.abi", "skip"));
    assert_true(check_status(&o, "policy.snp.cxl", "pass"));
    assert_true(check_status(&o, "policy.snp.mem_aes_256_xts", "skip"));
    assert_true(check_status(&o, "policy.snp.page_swap_disabled", "skip"));
    assert_true(check_status(&o, "policy.snp.platform.smt", "pass"));
    assert_true(check_status(&o, "policy.snp.platform.alias_check", "skip"));
    assert_non_null(strstr(o.json, "no accept.snp.require_tsme in the policy"));

    /* Each code, one at a time, from the full report (without CXL_ALLOW unless a case sets
     * it) with one bit taken away. */
    struct {
        const char *extra;
        const char *check, *code;
        uint64_t policy_clear, platform_clear, policy_set, platform_set;
    } cases[] = {
        {"\"min_abi\":\"1.56\"", "policy.snp.abi", "snp_abi_too_old", 0, 0, 0, 0},
        {"\"min_abi\":\"2.0\"", "policy.snp.abi", "snp_abi_too_old", 0, 0, 0, 0},
        {NULL, "policy.snp.cxl", "snp_cxl_not_allowed", 0, 0, P_BIT(21), 0},
        {"\"allow_cxl\":false", "policy.snp.cxl", "snp_cxl_not_allowed", 0, 0, P_BIT(21), 0},
        {"\"require_aes_256_xts\":true", "policy.snp.mem_aes_256_xts",
         "snp_aes_256_xts_required", P_BIT(22), 0, 0, 0},
        {"\"require_rapl_disabled\":true", "policy.snp.rapl_disabled",
         "snp_rapl_disable_required", P_BIT(23), 0, 0, 0},
        {"\"require_ciphertext_hiding\":true", "policy.snp.ciphertext_hiding",
         "snp_ciphertext_hiding_required", P_BIT(24), 0, 0, 0},
        {"\"require_page_swap_disabled\":true", "policy.snp.page_swap_disabled",
         "snp_page_swap_disable_required", P_BIT(25), 0, 0, 0},
        {"\"allow_smt_enabled\":false", "policy.snp.platform.smt",
         "snp_platform_smt_not_allowed", 0, 0, 0, 0},
        {"\"require_tsme\":true", "policy.snp.platform.tsme", "snp_platform_tsme_required", 0,
         P_BIT(1), 0, 0},
        {"\"require_ecc_memory\":true", "policy.snp.platform.ecc", "snp_platform_ecc_required",
         0, P_BIT(2), 0, 0},
        {"\"require_rapl_disabled_platform\":true", "policy.snp.platform.rapl_disabled",
         "snp_platform_rapl_disable_required", 0, P_BIT(3), 0, 0},
        {"\"require_ciphertext_hiding_platform\":true", "policy.snp.platform.ciphertext_hiding",
         "snp_platform_ciphertext_hiding_required", 0, P_BIT(4), 0, 0},
        {"\"require_alias_check_complete\":true", "policy.snp.platform.alias_check",
         "snp_platform_alias_check_incomplete", 0, P_BIT(5), 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rspec c = full;
        c.policy &= ~(P_BIT(21) | cases[i].policy_clear);
        c.platform_info &= ~cases[i].platform_clear;
        c.policy |= cases[i].policy_set;
        c.platform_info |= cases[i].platform_set;
        o = run(&c, H.vcek_key, cases[i].extra, VCEK_COLL);
        expect_fail(&o, cases[i].check, cases[i].code);
        /* expected and actual are in the result */
        assert_non_null(strstr(o.json, "\"status\":\"fail\""));
    }
    /* The values appear in expected/actual. */
    o = run(&full, H.vcek_key, "\"allow_cxl\":true,\"min_abi\":\"1.56\"", VCEK_COLL);
    assert_non_null(strstr(o.json, "\"expected\":\">= 1.56\",\"actual\":\"1.55\""));
    struct rspec c = full;
    c.platform_info &= ~P_BIT(5);
    o = run(&c, H.vcek_key, "\"allow_cxl\":true,\"require_alias_check_complete\":true",
            VCEK_COLL);
    assert_non_null(strstr(o.json, "\"expected\":\"PLATFORM_INFO.ALIAS_CHECK_COMPLETE (bit 5) "
                                   "set\",\"actual\":\"PLATFORM_INFO.ALIAS_CHECK_COMPLETE (bit 5) "
                                   "clear\""));

    /* Bits reserved in older report versions (56860: POLICY 21..24 and PLATFORM_INFO 2..5
     * from version 3, POLICY 25 from version 5) never satisfy a requirement, even if set. */
    struct rspec v2 = full;
    v2.version = 2;
    o = run(&v2, H.vcek_key, "\"allow_cxl\":true,\"require_aes_256_xts\":true", VCEK_COLL);
    expect_fail(&o, "policy.snp.mem_aes_256_xts", "snp_aes_256_xts_required");
    assert_non_null(strstr(o.json, "(reserved in report version 2)"));
    assert_non_null(strstr(o.json, "predates this bit"));
    assert_null(strstr(o.json, "\"snp_policy_mem_aes_256_xts\""));
    o = run(&v2, H.vcek_key, "\"allow_cxl\":true,\"require_ecc_memory\":true", VCEK_COLL);
    expect_fail(&o, "policy.snp.platform.ecc", "snp_platform_ecc_required");
    /* A set reserved CXL bit still fails the default prohibition (fail closed). */
    o = run(&v2, H.vcek_key, NULL, VCEK_COLL);
    expect_fail(&o, "policy.snp.cxl", "snp_cxl_not_allowed");
    /* SMT_EN and TSME_EN exist in version 2. */
    v2.policy = 0x30000;
    v2.platform_info = P_BIT(0) | P_BIT(1);
    o = run(&v2, H.vcek_key, "\"require_tsme\":true", VCEK_COLL);
    expect_pass(&o);
    /* PAGE_SWAP_DISABLE is reserved before version 5. */
    struct rspec v3 = full;
    v3.version = 3;
    o = run(&v3, H.vcek_key, "\"allow_cxl\":true,\"require_page_swap_disabled\":true",
            VCEK_COLL);
    expect_fail(&o, "policy.snp.page_swap_disabled", "snp_page_swap_disable_required");
    v3.policy &= ~P_BIT(25);
    /* Everything but page swap holds on a version 3 report. */
    o = run(&v3, H.vcek_key,
            "\"min_abi\":\"1.55\",\"allow_cxl\":true,\"require_aes_256_xts\":true,"
            "\"require_rapl_disabled\":true,\"require_ciphertext_hiding\":true,"
            "\"require_tsme\":true,\"require_ecc_memory\":true,"
            "\"require_rapl_disabled_platform\":true,\"require_ciphertext_hiding_platform\":true,"
            "\"require_alias_check_complete\":true",
            VCEK_COLL);
    expect_pass(&o);
}

static void test_policy_parse_is_strict(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"tether_policy\":1,\"accept\":{\"snp\":{}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],\"typo\":1}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],\"vmpl\":0,"
        "\"max_vmpl\":1}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],\"vmpl\":4}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"min_tcb\":{\"snp\":256}}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"min_tcb\":{\"sp\":1}}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"min_firmware\":\"1.x\"}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"min_firmware\":\"1.2.3.4\"}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"allow_smt\":\"no\"}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"host_data\":[\"00\"]}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"chip_ids\":[\"0011\"]}}}",
        /* min_abi and the feature-bit keys */
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"min_abi\":\"1.55.1\"}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"min_abi\":\"1.256\"}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"min_abi\":\"1\"}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"min_abi\":\"-1.5\"}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"min_abi\":155}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"allow_cxl\":1}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"require_tsme\":\"true\"}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"require_alias_check_complete\":null}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"require_page_swap_disable\":true}}}",
        "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"%s\"],"
        "\"require_tsme_en\":true}}}",
    };
    char *m = hexs(MEAS, 48);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[1024], err[512];
        /* "%s" stands for the measurement */
        const char *at = strstr(bad[i], "%s");
        if (at)
            snprintf(json, sizeof json, "%.*s%s%s", (int)(at - bad[i]), bad[i], m, at + 2);
        else
            snprintf(json, sizeof json, "%s", bad[i]);
        struct policy *p = policy_parse(json, strlen(json), NULL, err, sizeof err);
        if (p)
            fail_msg("accepted: %s", json);
        assert_true(strstr(err, "accept.snp") != NULL);
    }
    free(m);
}

/* ---- the VCEK extension reader on the generated certificates ---- */

static void test_cert_ext_reader(void **state)
{
    (void)state;
    struct snp_cert_ext e;
    const char *why = NULL;
    assert_int_equal(snp_cert_ext_read(H.vcek, &e, &why), 0);
    assert_true(e.has_hwid && e.hwid_len == 64 && !e.has_csp_id);
    assert_int_equal(e.ucode, 115);
    assert_int_equal(snp_cert_ext_read(H.turin_vcek, &e, &why), 0);
    assert_true(e.has_fmc && e.hwid_len == 8 && e.struct_version == 1);
    assert_int_equal(snp_cert_ext_read(H.vlek, &e, &why), 0);
    assert_true(e.has_csp_id && !e.has_hwid);
    /* A duplicated or malformed extension is refused. */
    X509 *x = X509_dup(H.vcek);
    add_amd_int(x, ARC "3.3", 8);
    assert_int_equal(snp_cert_ext_read(x, &e, &why), -1);
    X509_free(x);
    x = X509_dup(H.ask);
    add_amd_int(x, ARC "3.8", 300);
    assert_int_equal(snp_cert_ext_read(x, &e, &why), -1);
    X509_free(x);
    x = X509_dup(H.ask);
    add_amd_ext(x, ARC "4", H.chip, 63);
    assert_int_equal(snp_cert_ext_read(x, &e, &why), -1);
    X509_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vcek_report_passes),
        cmocka_unit_test(test_wrong_signature),
        cmocka_unit_test(test_chain_to_unknown_root),
        cmocka_unit_test(test_missing_intermediate_and_cert),
        cmocka_unit_test(test_tcb_mismatch),
        cmocka_unit_test(test_chip_id_mismatch),
        cmocka_unit_test(test_signing_key_type_mismatch),
        cmocka_unit_test(test_vlek_passes),
        cmocka_unit_test(test_revoked_and_bad_crl),
        cmocka_unit_test(test_expired_at),
        cmocka_unit_test(test_chain_cache),
        cmocka_unit_test(test_turin_fmc_and_8_byte_chip_id),
        cmocka_unit_test(test_container_with_cert_table),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_policy_checks),
        cmocka_unit_test(test_policy_feature_bits),
        cmocka_unit_test(test_policy_parse_is_strict),
        cmocka_unit_test(test_cert_ext_reader),
        cmocka_unit_test(test_later_version),
        cmocka_unit_test(test_vcek_matches_current_not_reported),
        cmocka_unit_test(test_platform_not_allowed),
        cmocka_unit_test(test_binder_mismatch),
        cmocka_unit_test(test_crl_rules),
        cmocka_unit_test(test_bundle_crl_and_chain),
        cmocka_unit_test(test_kds_crl_fetch),
        cmocka_unit_test(test_real_turin_vcek_chain),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
