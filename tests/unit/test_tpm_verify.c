/*
 * test_tpm_verify.c - the "tpm" evidence backend (src/evidence/tpm/tpm_verify.c) and the
 * accept.tpm policy (src/policy/policy_tpm.c) through the public API only: synthetic TTPM
 * evidence from tests/lib/tpm_fixture.c, a policy given to tether_config_set_policy_json, and
 * tether_verify. Each case asserts the verdict and the first failed check and its code.
 *
 * Covered: an ECC P-256 AK pinned by accept.tpm.ak_keys with PCRs 0 and 7 (claims: tee "tpm",
 * report_data = the quote's extraData); the binder against extraData; an unpinned AK; an AK
 * certified by a test CA generated here (inline PEM, a PEM file relative to base_dir, an
 * intermediate CA), a certificate for another key, expired and not-yet-valid certificates;
 * keys that are not restricted signing keys; PCR values against the policy; supplied PCR
 * values that do not hash to the signed digest or do not match the selection; a modified
 * quote or signature; RSA-2048 AKs (RSASSA, RSAPSS) and a P-384 AK; accept.tpm parse errors;
 * recognition by content and by type name.
 * Must never depend on the network or on files outside its own mkdtemp directory.
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

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tether.h"

#include "lib/tpm_fixture.h"
#include "util/util.h"

#define DAY (24 * 3600)

static struct {
    EVP_PKEY *ak;    /* P-256 AK */
    EVP_PKEY *other; /* another P-256 key */
    EVP_PKEY *rsa;   /* RSA-2048 AK */
    EVP_PKEY *ca_key, *ca2_key, *int_key;
    char *ak_hex, *other_hex, *rsa_hex;
    X509 *ca;  /* self-signed "Test AK CA" */
    X509 *ca2; /* another CA the policy does not name */
    char *ca_pem;
    uint8_t extra[64]; /* the quote's extraData = report_data */
    uint8_t pcr0[32], pcr7[32];
    time_t now;
} g;

static int group_setup(void **state)
{
    (void)state;
    g.now = time(NULL);
    g.ak = tpm_fixture_key("P-256");
    g.other = tpm_fixture_key("P-256");
    g.rsa = tpm_fixture_key("RSA-2048");
    g.ca_key = tpm_fixture_key("P-256");
    g.ca2_key = tpm_fixture_key("P-256");
    g.int_key = tpm_fixture_key("P-384");
    g.ak_hex = tpm_fixture_spki_sha256_hex(g.ak);
    g.other_hex = tpm_fixture_spki_sha256_hex(g.other);
    g.rsa_hex = tpm_fixture_spki_sha256_hex(g.rsa);
    g.ca = tpm_fixture_cert(g.ca_key, "Test AK CA", NULL, NULL, true, g.now - DAY,
                            g.now + 3650 * DAY);
    g.ca2 = tpm_fixture_cert(g.ca2_key, "Test AK CA", NULL, NULL, true, g.now - DAY,
                             g.now + 3650 * DAY);
    g.ca_pem = tpm_fixture_pem(g.ca);
    for (size_t i = 0; i < sizeof g.extra; i++)
        g.extra[i] = (uint8_t)(0x80 + i * 3);
    memset(g.pcr0, 0x10, sizeof g.pcr0);
    memset(g.pcr7, 0x17, sizeof g.pcr7);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(g.ak);
    EVP_PKEY_free(g.other);
    EVP_PKEY_free(g.rsa);
    EVP_PKEY_free(g.ca_key);
    EVP_PKEY_free(g.ca2_key);
    EVP_PKEY_free(g.int_key);
    free(g.ak_hex);
    free(g.other_hex);
    free(g.rsa_hex);
    X509_free(g.ca);
    X509_free(g.ca2);
    free(g.ca_pem);
    return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* The usual evidence: key, extraData g.extra, SHA-256 PCRs 0 and 7. */
static void base_spec(struct tpm_fixture_spec *s, EVP_PKEY *key)
{
    tpm_fixture_spec_init(s, key);
    s->extra = g.extra;
    s->extra_len = sizeof g.extra;
    tpm_fixture_set_pcr(s, TPM_ALG_SHA256, 0, g.pcr0);
    tpm_fixture_set_pcr(s, TPM_ALG_SHA256, 7, g.pcr7);
}

static json_t *hexj(const uint8_t *p, size_t n)
{
    char *h = hex_dup(p, n);
    assert_non_null(h);
    json_t *j = json_string(h);
    free(h);
    return j;
}

/* {"sha256": {"0": pcr0, "7": pcr7}} */
static json_t *base_pcrs(void)
{
    json_t *bank = json_object();
    json_object_set_new(bank, "0", hexj(g.pcr0, 32));
    json_object_set_new(bank, "7", hexj(g.pcr7, 32));
    json_t *pcrs = json_object();
    json_object_set_new(pcrs, "sha256", bank);
    return pcrs;
}

/* {"tpm": {"ak_keys": [ak_hex]?, "trust_anchors": [anchor]?, "pcrs": pcrs?}} (steals pcrs) */
static json_t *tpm_section(const char *ak_hex, const char *anchor, json_t *pcrs)
{
    json_t *t = json_object();
    if (ak_hex)
        json_object_set_new(t, "ak_keys", json_pack("[s]", ak_hex));
    if (anchor)
        json_object_set_new(t, "trust_anchors", json_pack("[s]", anchor));
    if (pcrs)
        json_object_set_new(t, "pcrs", pcrs);
    return t;
}

/* Set the policy {"tether_policy": 1, "accept": {"tpm": tpm}} (steals tpm). */
static int set_policy(struct tether_config *cfg, json_t *tpm, const char *base_dir)
{
    json_t *root = json_pack("{s:i, s:{s:o}}", "tether_policy", 1, "accept", "tpm", tpm);
    assert_non_null(root);
    char *text = json_dumps(root, JSON_COMPACT);
    assert_non_null(text);
    int rc = tether_config_set_policy_json(cfg, text, base_dir);
    free(text);
    json_decref(root);
    return rc;
}

static struct tether_config *config_with(json_t *tpm)
{
    struct tether_config *cfg = tether_config_new();
    assert_non_null(cfg);
    if (set_policy(cfg, tpm, NULL) != 0)
        fail_msg("policy refused: %s", tether_config_error(cfg));
    return cfg;
}

/* The pinned-AK policy with the usual PCRs. */
static struct tether_config *pinned_config(const char *ak_hex)
{
    return config_with(tpm_section(ak_hex, NULL, base_pcrs()));
}

static struct tether_result *verify_full(struct tether_config *cfg, const uint8_t *ev,
                                         size_t len, const char *type, const uint8_t *binder,
                                         size_t binder_len, time_t at)
{
    struct tether_verify_params p;
    memset(&p, 0, sizeof p);
    p.evidence = ev;
    p.evidence_len = len;
    p.type = type;
    p.binder = binder;
    p.binder_len = binder_len;
    p.at = at;
    struct tether_result *r = tether_verify(cfg, &p);
    if (!r)
        fail_msg("tether_verify: %s", tether_config_error(cfg));
    return r;
}

static struct tether_result *verify_spec(struct tether_config *cfg,
                                         const struct tpm_fixture_spec *s)
{
    size_t len = 0;
    uint8_t *ev = tpm_fixture_evidence(s, &len);
    struct tether_result *r = verify_full(cfg, ev, len, NULL, NULL, 0, 0);
    free(ev);
    return r;
}

static void expect_pass(const struct tether_result *r)
{
    if (!tether_result_passed(r))
        fail_msg("expected a pass, failed at %s (%s): %s", tether_result_failed_check(r),
                 tether_result_failed_code(r), tether_result_json(r));
    assert_null(tether_result_failed_code(r));
}

static void expect_fail(const struct tether_result *r, const char *check, const char *code)
{
    assert_false(tether_result_passed(r));
    const char *c = tether_result_failed_check(r), *k = tether_result_failed_code(r);
    if (!c || !k || strcmp(c, check) != 0 || strcmp(k, code) != 0)
        fail_msg("expected %s (%s), got %s (%s): %s", check, code, c ? c : "-", k ? k : "-",
                 tether_result_json(r));
}

/* The report, parsed (caller decrefs). */
static json_t *report(const struct tether_result *r)
{
    json_error_t err;
    json_t *j = json_loads(tether_result_json(r), 0, &err);
    assert_non_null(j);
    return j;
}

/* The field ("status", "code", "detail", "actual", ...) of the check called name, or NULL. */
static const char *check_field(json_t *rep, const char *name, const char *field)
{
    json_t *checks = json_object_get(rep, "checks");
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
            return json_string_value(json_object_get(c, field));
    }
    return NULL;
}

static void expect_detail(const struct tether_result *r, const char *name, const char *needle)
{
    json_t *rep = report(r);
    const char *d = check_field(rep, name, "detail");
    if (!d || !strstr(d, needle))
        fail_msg("%s detail \"%s\" lacks \"%s\"", name, d ? d : "(null)", needle);
    json_decref(rep);
}

/* An AK certificate chain in the evidence (DER, freed by free_certs). */
static void add_cert(struct tpm_fixture_spec *s, X509 *x)
{
    assert_true(s->n_certs < TPM_EVIDENCE_MAX_CERTS);
    s->certs[s->n_certs] = tpm_fixture_der(x, &s->cert_lens[s->n_certs]);
    s->n_certs++;
}

static void free_certs(struct tpm_fixture_spec *s)
{
    for (size_t i = 0; i < s->n_certs; i++)
        free((void *)s->certs[i]);
    s->n_certs = 0;
}

/* ---- 1, 2: a pinned ECC AK; the binder ------------------------------------------------------ */

static void test_pinned_ecc_ak_passes(void **state)
{
    (void)state;
    struct tether_config *cfg = pinned_config(g.ak_hex);
    struct tpm_fixture_spec s;
    base_spec(&s, g.ak);
    struct tether_result *r = verify_spec(cfg, &s);
    expect_pass(r);

    json_t *rep = report(r);
    assert_string_equal(json_string_value(json_object_get(rep, "tee")), "tpm");
    assert_true(json_is_false(json_object_get(rep, "simulated")));
    json_t *claims = json_object_get(rep, "claims");
    assert_string_equal(json_string_value(json_object_get(claims, "tee")), "tpm");
    char *want = hex_dup(g.extra, sizeof g.extra);
    assert_string_equal(json_string_value(json_object_get(claims, "report_data")), want);
    assert_string_equal(json_string_value(json_object_get(claims, "extra_data")), want);
    free(want);
    assert_string_equal(json_string_value(json_object_get(claims, "ak_spki_sha256")), g.ak_hex);
    assert_string_equal(json_string_value(json_object_get(claims, "platform_id")), g.ak_hex);
    assert_true(json_is_true(json_object_get(claims, "ak_pinned")));
    assert_true(json_is_false(json_object_get(claims, "ak_certified")));
    assert_string_equal(json_string_value(json_object_get(claims, "signature_algorithm")),
                        "ECDSA");
    /* Exactly the quoted PCRs are reported. */
    json_t *bank = json_object_get(json_object_get(claims, "pcrs"), "sha256");
    assert_int_equal(json_object_size(bank), 2);
    char *h0 = hex_dup(g.pcr0, 32), *h7 = hex_dup(g.pcr7, 32);
    assert_string_equal(json_string_value(json_object_get(bank, "0")), h0);
    assert_string_equal(json_string_value(json_object_get(bank, "7")), h7);
    free(h0);
    free(h7);
    /* The checks on the way. */
    assert_string_equal(check_field(rep, "evidence.type", "actual"), "tpm");
    assert_string_equal(check_field(rep, "evidence.ak", "status"), "pass");
    assert_string_equal(check_field(rep, "evidence.signature", "status"), "pass");
    assert_string_equal(check_field(rep, "evidence.pcrs", "status"), "pass");
    assert_string_equal(check_field(rep, "evidence.chain", "actual"), "pinned");
    assert_string_equal(check_field(rep, "binding.report_data", "status"), "skip");
    assert_string_equal(check_field(rep, "policy.tpm.pcr.sha256.0", "status"), "pass");
    assert_string_equal(check_field(rep, "policy.tpm.pcr.sha256.7", "status"), "pass");
    json_decref(rep);
    tether_result_free(r);

    /* A pinned list with the AK among others; a bank policy naming only PCR 7. */
    tether_config_free(cfg);
    json_t *t = tpm_section(g.other_hex, NULL, NULL);
    json_array_append_new(json_object_get(t, "ak_keys"), json_string(g.ak_hex));
    json_t *pcrs = base_pcrs();
    json_object_del(json_object_get(pcrs, "sha256"), "0");
    json_object_set_new(t, "pcrs", pcrs);
    cfg = config_with(t);
    r = verify_spec(cfg, &s);
    expect_pass(r);
    rep = report(r);
    assert_null(check_field(rep, "policy.tpm.pcr.sha256.0", "status"));
    json_decref(rep);
    tether_result_free(r);
    tether_config_free(cfg);
}

static void test_binder(void **state)
{
    (void)state;
    struct tether_config *cfg = pinned_config(g.ak_hex);
    struct tpm_fixture_spec s;
    base_spec(&s, g.ak);
    size_t len = 0;
    uint8_t *ev = tpm_fixture_evidence(&s, &len);

    /* The 64 bytes of extraData. */
    struct tether_result *r = verify_full(cfg, ev, len, NULL, g.extra, 64, 0);
    expect_pass(r);
    json_t *rep = report(r);
    assert_string_equal(check_field(rep, "binding.report_data", "status"), "pass");
    json_decref(rep);
    tether_result_free(r);

    /* Another binder. */
    uint8_t other[64];
    memcpy(other, g.extra, 64);
    other[63] ^= 0x01;
    r = verify_full(cfg, ev, len, NULL, other, 64, 0);
    expect_fail(r, "binding.report_data", "binder_mismatch");
    tether_result_free(r);
    free(ev);

    /* A 32-byte binder b: the expected report_data is SHA-512(b). */
    uint8_t b32[32], rd[64];
    memset(b32, 0x3c, sizeof b32);
    assert_int_equal(EVP_Digest(b32, sizeof b32, rd, NULL, EVP_sha512(), NULL), 1);
    s.extra = rd;
    ev = tpm_fixture_evidence(&s, &len);
    r = verify_full(cfg, ev, len, NULL, b32, sizeof b32, 0);
    expect_pass(r);
    tether_result_free(r);
    b32[0] ^= 1;
    r = verify_full(cfg, ev, len, NULL, b32, sizeof b32, 0);
    expect_fail(r, "binding.report_data", "binder_mismatch");
    tether_result_free(r);
    free(ev);

    /* extraData that is not 64 bytes carries no report_data: no binding with it. */
    s.extra = g.extra;
    s.extra_len = 32;
    ev = tpm_fixture_evidence(&s, &len);
    r = verify_full(cfg, ev, len, NULL, NULL, 0, 0);
    expect_pass(r);
    rep = report(r);
    assert_null(json_object_get(json_object_get(rep, "claims"), "report_data"));
    json_decref(rep);
    tether_result_free(r);
    uint8_t padded[64] = {0};
    memcpy(padded, g.extra, 32);
    r = verify_full(cfg, ev, len, NULL, padded, 64, 0);
    expect_fail(r, "binding.report_data", "binder_mismatch");
    expect_detail(r, "binding.report_data", "no signed report_data");
    tether_result_free(r);
    free(ev);
    tether_config_free(cfg);
}

/* ---- 3, 4: how the AK is trusted ------------------------------------------------------------ */

static void test_unpinned_ak_untrusted(void **state)
{
    (void)state;
    struct tether_config *cfg = pinned_config(g.other_hex);
    struct tpm_fixture_spec s;
    base_spec(&s, g.ak);
    struct tether_result *r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    expect_detail(r, "evidence.chain", "neither certified");
    json_t *rep = report(r);
    const char *act = check_field(rep, "evidence.chain", "actual");
    assert_non_null(act);
    assert_non_null(strstr(act, g.ak_hex));
    json_decref(rep);
    tether_result_free(r);
    tether_config_free(cfg);

    /* Without any policy nothing can trust the AK. */
    cfg = tether_config_new();
    assert_non_null(cfg);
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    tether_result_free(r);
    tether_config_free(cfg);
}

static void test_certified_ak(void **state)
{
    (void)state;
    struct tether_config *cfg = config_with(tpm_section(NULL, g.ca_pem, base_pcrs()));
    X509 *leaf = tpm_fixture_cert(g.ak, "AK", g.ca_key, g.ca, false, g.now - DAY,
                                  g.now + 30 * DAY);
    struct tpm_fixture_spec s;
    base_spec(&s, g.ak);
    add_cert(&s, leaf);
    size_t len = 0;
    uint8_t *ev = tpm_fixture_evidence(&s, &len);
    struct tether_result *r = verify_full(cfg, ev, len, NULL, NULL, 0, 0);
    expect_pass(r);
    json_t *rep = report(r);
    assert_string_equal(check_field(rep, "evidence.chain", "actual"), "certified");
    json_t *claims = json_object_get(rep, "claims");
    assert_true(json_is_true(json_object_get(claims, "ak_certified")));
    assert_true(json_is_false(json_object_get(claims, "ak_pinned")));
    json_decref(rep);
    tether_result_free(r);

    /* Expired at the time of verification, and not yet valid. */
    r = verify_full(cfg, ev, len, NULL, NULL, 0, g.now + 31 * DAY);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    expect_detail(r, "evidence.chain", "expired");
    tether_result_free(r);
    r = verify_full(cfg, ev, len, NULL, NULL, 0, g.now - 2 * DAY);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    expect_detail(r, "evidence.chain", "not yet valid");
    tether_result_free(r);
    /* Within the leaf's validity, later than now. */
    r = verify_full(cfg, ev, len, NULL, NULL, 0, g.now + 29 * DAY);
    expect_pass(r);
    tether_result_free(r);

    /* Certified and pinned. */
    tether_config_free(cfg);
    cfg = config_with(tpm_section(g.ak_hex, g.ca_pem, base_pcrs()));
    r = verify_full(cfg, ev, len, NULL, NULL, 0, 0);
    expect_pass(r);
    rep = report(r);
    assert_string_equal(check_field(rep, "evidence.chain", "actual"), "certified and pinned");
    json_decref(rep);
    tether_result_free(r);
    /* Pinned, with an expired certificate: the pin alone trusts it. */
    r = verify_full(cfg, ev, len, NULL, NULL, 0, g.now + 31 * DAY);
    expect_pass(r);
    rep = report(r);
    assert_string_equal(check_field(rep, "evidence.chain", "actual"), "pinned");
    json_decref(rep);
    tether_result_free(r);
    tether_config_free(cfg);
    free(ev);
    free_certs(&s);

    /* The same CA from a PEM file next to the policy (base_dir) and by absolute path. */
    char dir[] = "/tmp/tether-tpmv-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/ak-ca.pem", dir);
    assert_int_equal(file_write(path, g.ca_pem, strlen(g.ca_pem), 0600), 0);
    add_cert(&s, leaf);
    ev = tpm_fixture_evidence(&s, &len);
    for (int i = 0; i < 2; i++) {
        cfg = tether_config_new();
        assert_non_null(cfg);
        int rc = set_policy(cfg, tpm_section(NULL, i == 0 ? "ak-ca.pem" : path, base_pcrs()),
                            i == 0 ? dir : NULL);
        if (rc != 0)
            fail_msg("policy refused: %s", tether_config_error(cfg));
        r = verify_full(cfg, ev, len, NULL, NULL, 0, 0);
        expect_pass(r);
        tether_result_free(r);
        tether_config_free(cfg);
    }
    /* A relative name without a base directory is refused. */
    cfg = tether_config_new();
    assert_non_null(cfg);
    assert_int_not_equal(set_policy(cfg, tpm_section(NULL, "ak-ca.pem", base_pcrs()), NULL), 0);
    assert_non_null(strstr(tether_config_error(cfg), "base directory"));
    tether_config_free(cfg);
    free(ev);
    free_certs(&s);
    unlink(path);
    rmdir(dir);
    X509_free(leaf);
}

static void test_certificate_for_another_key_or_ca(void **state)
{
    (void)state;
    struct tether_config *cfg = config_with(tpm_section(NULL, g.ca_pem, base_pcrs()));
    struct tpm_fixture_spec s;
    base_spec(&s, g.ak);

    /* A valid certificate by the trusted CA, for another key. */
    X509 *wrong = tpm_fixture_cert(g.other, "AK", g.ca_key, g.ca, false, g.now - DAY,
                                   g.now + 30 * DAY);
    add_cert(&s, wrong);
    struct tether_result *r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    expect_detail(r, "evidence.chain", "another key");
    tether_result_free(r);
    free_certs(&s);
    X509_free(wrong);

    /* The AK certified by a CA the policy does not name (same subject name). */
    X509 *stray = tpm_fixture_cert(g.ak, "AK", g.ca2_key, g.ca2, false, g.now - DAY,
                                   g.now + 30 * DAY);
    add_cert(&s, stray);
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    expect_detail(r, "evidence.chain", "does not chain");
    tether_result_free(r);
    /* ... also when that CA's certificate comes along in the evidence. */
    add_cert(&s, g.ca2);
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    tether_result_free(r);
    free_certs(&s);
    X509_free(stray);

    /* No certificate at all. */
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    tether_result_free(r);

    /* A certificate that is not DER. */
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    s.certs[0] = junk;
    s.cert_lens[0] = sizeof junk;
    s.n_certs = 1;
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    expect_detail(r, "evidence.chain", "not one DER certificate");
    tether_result_free(r);
    s.n_certs = 0;
    tether_config_free(cfg);
}

static void test_intermediate_ca(void **state)
{
    (void)state;
    struct tether_config *cfg = config_with(tpm_section(NULL, g.ca_pem, base_pcrs()));
    X509 *inter = tpm_fixture_cert(g.int_key, "Test AK intermediate", g.ca_key, g.ca, true,
                                   g.now - DAY, g.now + 365 * DAY);
    X509 *leaf = tpm_fixture_cert(g.ak, "AK", g.int_key, inter, false, g.now - DAY,
                                  g.now + 30 * DAY);
    struct tpm_fixture_spec s;
    base_spec(&s, g.ak);
    add_cert(&s, leaf);
    add_cert(&s, inter);
    struct tether_result *r = verify_spec(cfg, &s);
    expect_pass(r);
    tether_result_free(r);
    free_certs(&s);
    /* Without the intermediate the chain is incomplete. */
    add_cert(&s, leaf);
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    tether_result_free(r);
    free_certs(&s);
    /* The intermediate first (not the AK's certificate). */
    add_cert(&s, inter);
    add_cert(&s, leaf);
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    expect_detail(r, "evidence.chain", "another key");
    tether_result_free(r);
    free_certs(&s);
    X509_free(inter);
    X509_free(leaf);
    tether_config_free(cfg);
}

/* ---- 5: the key must be a restricted signing key -------------------------------------------- */

static void test_key_not_restricted(void **state)
{
    (void)state;
    struct tether_config *cfg = pinned_config(g.ak_hex);
    struct tpm_fixture_spec s;
    base_spec(&s, g.ak);
    s.attrs = TPM_FIXTURE_AK_ATTRS & ~TPM_FIXTURE_ATTR_RESTRICTED;
    struct tether_result *r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.ak", "tpm_ak_not_restricted");
    json_t *rep = report(r);
    assert_string_equal(check_field(rep, "evidence.ak", "actual"), "not restricted");
    json_decref(rep);
    tether_result_free(r);

    s.attrs = TPM_FIXTURE_AK_ATTRS & ~TPM_FIXTURE_ATTR_SIGN;
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.ak", "tpm_ak_not_restricted");
    rep = report(r);
    assert_string_equal(check_field(rep, "evidence.ak", "actual"), "not a signing key");
    json_decref(rep);
    tether_result_free(r);
    tether_config_free(cfg);
}

/* ---- 6, 7: PCRs ----------------------------------------------------------------------------- */

static void test_pcrs_against_the_policy(void **state)
{
    (void)state;
    struct tpm_fixture_spec s;
    base_spec(&s, g.ak);
    size_t len = 0;
    uint8_t *ev = tpm_fixture_evidence(&s, &len);

    /* PCR 7 differs from the policy's value. */
    json_t *pcrs = base_pcrs();
    uint8_t v[32];
    memset(v, 0x77, sizeof v);
    json_object_set_new(json_object_get(pcrs, "sha256"), "7", hexj(v, 32));
    struct tether_config *cfg = config_with(tpm_section(g.ak_hex, NULL, pcrs));
    struct tether_result *r = verify_full(cfg, ev, len, NULL, NULL, 0, 0);
    expect_fail(r, "policy.tpm.pcr.sha256.7", "tpm_pcr_mismatch");
    json_t *rep = report(r);
    char *h7 = hex_dup(g.pcr7, 32), *hv = hex_dup(v, 32);
    assert_string_equal(check_field(rep, "policy.tpm.pcr.sha256.7", "actual"), h7);
    assert_string_equal(check_field(rep, "policy.tpm.pcr.sha256.7", "expected"), hv);
    assert_string_equal(check_field(rep, "policy.tpm.pcr.sha256.0", "status"), "pass");
    free(h7);
    free(hv);
    json_decref(rep);
    tether_result_free(r);
    tether_config_free(cfg);

    /* The policy names PCR 9, which the quote does not select. */
    pcrs = base_pcrs();
    json_object_set_new(json_object_get(pcrs, "sha256"), "9", hexj(v, 32));
    cfg = config_with(tpm_section(g.ak_hex, NULL, pcrs));
    r = verify_full(cfg, ev, len, NULL, NULL, 0, 0);
    expect_fail(r, "policy.tpm.pcr.sha256.9", "tpm_pcr_not_quoted");
    tether_result_free(r);
    tether_config_free(cfg);

    /* ... or a bank the quote does not select. */
    char h0s[41];
    memset(h0s, '0', 40);
    h0s[40] = '\0';
    pcrs = base_pcrs();
    json_object_set_new(pcrs, "sha1", json_pack("{s:s}", "0", h0s));
    cfg = config_with(tpm_section(g.ak_hex, NULL, pcrs));
    r = verify_full(cfg, ev, len, NULL, NULL, 0, 0);
    expect_fail(r, "policy.tpm.pcr.sha1.0", "tpm_pcr_not_quoted");
    tether_result_free(r);
    tether_config_free(cfg);
    free(ev);

    /* Two banks in the quote, both constrained. */
    tpm_fixture_set_pcr(&s, TPM_ALG_SHA1, 4, NULL);
    ev = tpm_fixture_evidence(&s, &len);
    pcrs = base_pcrs();
    uint8_t v1[20];
    memset(v1, 0x44, sizeof v1);
    json_object_set_new(pcrs, "sha1", json_pack("{s:o}", "4", hexj(v1, 20)));
    cfg = config_with(tpm_section(g.ak_hex, NULL, pcrs));
    r = verify_full(cfg, ev, len, NULL, NULL, 0, 0);
    expect_pass(r);
    tether_result_free(r);
    tether_config_free(cfg);
    free(ev);
}

static void test_supplied_pcrs_checked(void **state)
{
    (void)state;
    struct tether_config *cfg = pinned_config(g.ak_hex);
    struct tpm_fixture_spec s;
    base_spec(&s, g.ak);
    static struct tpm_pcr_bank sup[TPM_MAX_BANKS];

    /* A supplied value that is not the quoted one. */
    memcpy(sup, s.banks, sizeof sup);
    sup[0].value[7][0] ^= 0x01;
    s.supplied = sup;
    s.n_supplied = s.n_banks;
    struct tether_result *r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.pcrs", "tpm_pcr_digest_mismatch");
    tether_result_free(r);

    /* A PCR the selection does not cover. */
    memcpy(sup, s.banks, sizeof sup);
    sup[0].present |= 1u << 9;
    memset(sup[0].value[9], 0x99, 32);
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.pcrs", "tpm_pcr_selection_mismatch");
    tether_result_free(r);

    /* A selected PCR left out. */
    memcpy(sup, s.banks, sizeof sup);
    sup[0].present &= ~(1u << 7);
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.pcrs", "tpm_pcr_selection_mismatch");
    tether_result_free(r);

    /* No values at all, or an extra bank. */
    s.n_supplied = 0;
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.pcrs", "tpm_pcr_selection_mismatch");
    tether_result_free(r);
    memcpy(sup, s.banks, sizeof sup);
    memset(&sup[1], 0, sizeof sup[1]);
    sup[1].hash_alg = TPM_ALG_SHA1;
    sup[1].present = 1u;
    s.n_supplied = 2;
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.pcrs", "tpm_pcr_selection_mismatch");
    tether_result_free(r);

    /* The right bank under another algorithm. */
    memcpy(sup, s.banks, sizeof sup);
    sup[0].hash_alg = TPM_ALG_SHA384;
    s.n_supplied = 1;
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.pcrs", "tpm_pcr_selection_mismatch");
    tether_result_free(r);
    tether_config_free(cfg);
}

/* ---- 8: the signature ----------------------------------------------------------------------- */

static void test_signature(void **state)
{
    (void)state;
    struct tether_config *cfg = pinned_config(g.ak_hex);
    struct tpm_fixture_spec s;
    base_spec(&s, g.ak);
    s.corrupt = TPM_FIXTURE_FLIP_ATTEST;
    struct tether_result *r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.signature", "evidence_signature_invalid");
    tether_result_free(r);
    s.corrupt = TPM_FIXTURE_FLIP_SIGNATURE;
    r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.signature", "evidence_signature_invalid");
    tether_result_free(r);
    /* A P-256 AK signing with SHA-384: the pcrDigest is made with the signature's hash. */
    s.corrupt = 0;
    s.hash_alg = TPM_ALG_SHA384;
    r = verify_spec(cfg, &s);
    expect_pass(r);
    tether_result_free(r);
    tether_config_free(cfg);
}

/* ---- 9: RSA and P-384 AKs ------------------------------------------------------------------- */

static void test_rsa_and_p384_aks(void **state)
{
    (void)state;
    struct tether_config *cfg = pinned_config(g.rsa_hex);
    struct tpm_fixture_spec s;
    const struct {
        uint16_t scheme;
        enum tpm_fixture_sign mode;
        const char *alg;
    } cases[] = {
        {TPM_ALG_RSASSA, TPM_FIXTURE_AUTO, "RSASSA"},
        {TPM_ALG_RSAPSS, TPM_FIXTURE_PSS_DIGEST, "RSAPSS"},
        {TPM_ALG_RSAPSS, TPM_FIXTURE_PSS_MAX, "RSAPSS"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        base_spec(&s, g.rsa);
        s.rsa_scheme = cases[i].scheme;
        s.mode = cases[i].mode;
        struct tether_result *r = verify_spec(cfg, &s);
        expect_pass(r);
        json_t *rep = report(r);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(rep, "claims"),
                                              "signature_algorithm")),
            cases[i].alg);
        json_decref(rep);
        tether_result_free(r);
        s.corrupt = TPM_FIXTURE_FLIP_ATTEST;
        r = verify_spec(cfg, &s);
        expect_fail(r, "evidence.signature", "evidence_signature_invalid");
        tether_result_free(r);
    }
    /* The ECC AK is not the pinned RSA key. */
    base_spec(&s, g.ak);
    struct tether_result *r = verify_spec(cfg, &s);
    expect_fail(r, "evidence.chain", "tpm_ak_untrusted");
    tether_result_free(r);
    tether_config_free(cfg);

    /* A P-384 AK signing with SHA-384 over the SHA-256 bank. */
    EVP_PKEY *k384 = tpm_fixture_key("P-384");
    char *h384 = tpm_fixture_spki_sha256_hex(k384);
    cfg = pinned_config(h384);
    base_spec(&s, k384);
    r = verify_spec(cfg, &s);
    expect_pass(r);
    tether_result_free(r);
    tether_config_free(cfg);
    free(h384);
    EVP_PKEY_free(k384);
}

/* ---- 10: accept.tpm errors ------------------------------------------------------------------ */

static void expect_refused(json_t *tpm, const char *needle)
{
    struct tether_config *cfg = tether_config_new();
    assert_non_null(cfg);
    char *text = json_dumps(tpm, JSON_COMPACT);
    assert_non_null(text);
    if (set_policy(cfg, tpm, NULL) == 0)
        fail_msg("accepted: %s", text);
    assert_int_equal(tether_config_error_category(cfg), TETHER_ERR_USAGE);
    const char *msg = tether_config_error(cfg);
    if (!msg || !strstr(msg, needle))
        fail_msg("%s: message \"%s\" lacks \"%s\"", text, msg ? msg : "(null)", needle);
    free(text);
    tether_config_free(cfg);
}

static json_t *pcrs_with(const char *bank, const char *index, const char *hex)
{
    return json_pack("{s:{s:s}}", bank, index, hex);
}

static void test_policy_errors(void **state)
{
    (void)state;
    char h32[65], h20[41];
    memset(h32, 'a', 64);
    h32[64] = '\0';
    memset(h20, 'b', 40);
    h20[40] = '\0';

    /* Neither ak_keys nor trust_anchors. */
    expect_refused(tpm_section(NULL, NULL, base_pcrs()), "ak_keys");
    /* No pcrs, empty pcrs, an empty bank. */
    expect_refused(tpm_section(g.ak_hex, NULL, NULL), "pcrs");
    expect_refused(tpm_section(g.ak_hex, NULL, json_object()), "pcrs");
    expect_refused(tpm_section(g.ak_hex, NULL, json_pack("{s:{}}", "sha256")), "sha256");
    /* Bad PCR indices. */
    const char *bad_idx[] = {"24", "07", "-1", "", "x", "7x", "100", "+7", " 7", "-0", "+07"};
    for (size_t i = 0; i < sizeof bad_idx / sizeof bad_idx[0]; i++)
        expect_refused(tpm_section(g.ak_hex, NULL, pcrs_with("sha256", bad_idx[i], h32)),
                       "not a PCR index");
    /* "7" twice under two spellings cannot happen any more; the same index twice is refused
     * (JSON rejects the literal duplicate key itself). */
    {
        json_t *pc = pcrs_with("sha256", "7", h32);
        json_t *bank = json_object_get(pc, "sha256");
        json_object_set_new(bank, "7 ", json_string(h32)); /* refused as an index anyway */
        expect_refused(tpm_section(g.ak_hex, NULL, pc), "not a PCR index");
    }
    /* A bank that is not one. */
    expect_refused(tpm_section(g.ak_hex, NULL, pcrs_with("md5", "0", h32)), "unknown bank");
    expect_refused(tpm_section(g.ak_hex, NULL, pcrs_with("SHA256", "0", h32)), "unknown bank");
    /* Values of the wrong size for the bank, or not hex. */
    expect_refused(tpm_section(g.ak_hex, NULL, pcrs_with("sha256", "0", h20)), "32 bytes");
    expect_refused(tpm_section(g.ak_hex, NULL, pcrs_with("sha1", "0", h32)), "20 bytes");
    expect_refused(tpm_section(g.ak_hex, NULL, pcrs_with("sha256", "0", "zz")), "32 bytes");
    expect_refused(tpm_section(g.ak_hex, NULL, json_pack("{s:{s:i}}", "sha256", "0", 1)),
                   "32 bytes");
    /* ak_keys: not 32 bytes, empty, not an array. */
    expect_refused(tpm_section(h20, NULL, base_pcrs()), "ak_keys");
    json_t *t = tpm_section(NULL, NULL, base_pcrs());
    json_object_set_new(t, "ak_keys", json_array());
    expect_refused(t, "ak_keys");
    t = tpm_section(NULL, NULL, base_pcrs());
    json_object_set_new(t, "ak_keys", json_string(g.ak_hex));
    expect_refused(t, "ak_keys");
    /* trust_anchors: not a certificate. */
    const char *junk_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    expect_refused(tpm_section(NULL, junk_pem, base_pcrs()), "trust_anchors");
    /* An unknown key. */
    t = tpm_section(g.ak_hex, NULL, base_pcrs());
    json_object_set_new(t, "measurements", json_pack("[s]", h32));
    expect_refused(t, "measurements");

    /* The valid forms: every bank, PCRs 0 and 23. */
    struct tether_config *cfg = tether_config_new();
    assert_non_null(cfg);
    char h48[97], h64[129];
    memset(h48, 'c', 96);
    h48[96] = '\0';
    memset(h64, 'd', 128);
    h64[128] = '\0';
    json_t *pcrs = json_pack("{s:{s:s}, s:{s:s, s:s}, s:{s:s}, s:{s:s}}", "sha1", "0", h20,
                             "sha256", "0", h32, "23", h32, "sha384", "10", h48, "sha512",
                             "16", h64);
    if (set_policy(cfg, tpm_section(g.ak_hex, g.ca_pem, pcrs), NULL) != 0)
        fail_msg("refused: %s", tether_config_error(cfg));
    tether_config_free(cfg);
}

/* ---- 11: recognition ------------------------------------------------------------------------ */

static void test_type_recognition(void **state)
{
    (void)state;
    struct tether_config *cfg = pinned_config(g.ak_hex);
    struct tpm_fixture_spec s;
    base_spec(&s, g.ak);
    size_t len = 0;
    uint8_t *ev = tpm_fixture_evidence(&s, &len);
    struct tether_result *r = verify_full(cfg, ev, len, NULL, NULL, 0, 0);
    expect_pass(r);
    tether_result_free(r);
    r = verify_full(cfg, ev, len, "tpm", NULL, 0, 0);
    expect_pass(r);
    tether_result_free(r);
    r = verify_full(cfg, ev, len, "tpm2", NULL, 0, 0);
    expect_fail(r, "evidence.type", "evidence_unrecognised");
    tether_result_free(r);
    /* Not TTPM at all, though named "tpm". */
    uint8_t bad[64];
    memcpy(bad, ev, sizeof bad);
    bad[0] = 'X';
    r = verify_full(cfg, bad, sizeof bad, "tpm", NULL, 0, 0);
    expect_fail(r, "evidence.format", "evidence_malformed");
    tether_result_free(r);
    r = verify_full(cfg, bad, sizeof bad, NULL, NULL, 0, 0);
    expect_fail(r, "evidence.type", "evidence_unrecognised");
    tether_result_free(r);
    /* Truncated evidence. */
    r = verify_full(cfg, ev, len - 1, NULL, NULL, 0, 0);
    expect_fail(r, "evidence.format", "evidence_malformed");
    tether_result_free(r);
    tether_config_free(cfg);

    /* A policy that accepts only the simulated TEE. */
    cfg = tether_config_new();
    assert_non_null(cfg);
    char meas[97];
    memset(meas, '5', 96);
    meas[96] = '\0';
    json_t *root = json_pack("{s:i, s:{s:{s:[s]}}}", "tether_policy", 1, "accept", "sim",
                             "measurements", meas);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    assert_int_equal(tether_config_set_policy_json(cfg, text, NULL), 0);
    free(text);
    r = verify_full(cfg, ev, len, NULL, NULL, 0, 0);
    expect_fail(r, "evidence.type", "tee_not_accepted");
    tether_result_free(r);
    tether_config_free(cfg);
    free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_ecc_ak_passes),
        cmocka_unit_test(test_binder),
        cmocka_unit_test(test_unpinned_ak_untrusted),
        cmocka_unit_test(test_certified_ak),
        cmocka_unit_test(test_certificate_for_another_key_or_ca),
        cmocka_unit_test(test_intermediate_ca),
        cmocka_unit_test(test_key_not_restricted),
        cmocka_unit_test(test_pcrs_against_the_policy),
        cmocka_unit_test(test_supplied_pcrs_checked),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_rsa_and_p384_aks),
        cmocka_unit_test(test_policy_errors),
        cmocka_unit_test(test_type_recognition),
    };
    return cmocka_run_group_tests_name("tpm_verify", tests, group_setup, group_teardown);
}
