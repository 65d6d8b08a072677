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

#include "lib/snp_fixture.h"

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
    char json[16384];
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
    /* Not recognised when the version is out of range. */
    put32(rep, 9);
    assert_null(evidence_backend_recognise(rep, sizeof rep));
    policy_free(p);
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
        cmocka_unit_test(test_policy_parse_is_strict),
        cmocka_unit_test(test_cert_ext_reader),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
