/*
 * test_verify.c - the appraisal pipeline end to end with the simulated TEE: type, authenticity,
 * binding (the hardware-signed report_data decides; empty expected values fail closed),
 * policy appraisal, the cmw_attestation container, and the report.
 *
 * Must never depend on the network or on files outside its own mkdtemp directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tether.h"

#include "attester/attester.h"
#include "binding/binder.h"
#include "ea/ea.h"
#include "evidence/evidence.h"
#include "evidence/sim/sim.h"
#include "policy/policy.h"
#include "policy/result.h"
#include "util/util.h"
#include "verify/verify.h"

#define MEAS "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
#define PLAT "0123456789abcdef0123456789abcdef"

static char g_top[128];
static char g_a[256], g_b[256], g_c[256], g_debug[256], g_lowtcb[256], g_othermeas[256];
static struct policy *g_pol; /* A's generated policy */

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_dir(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int provision(char *dir, size_t n, const char *name, const struct tether_sim_params *p)
{
    char err[256];
    snprintf(dir, n, "%s/%s", g_top, name);
    if (tether_sim_provision(dir, p, err, sizeof err) != 0) {
        fprintf(stderr, "provision %s: %s\n", name, err);
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_top, sizeof g_top, "/tmp/tether-test-verify-XXXXXX");
    if (!mkdtemp(g_top))
        return -1;
    struct tether_sim_params a = {.measurement_hex = MEAS, .platform_id_hex = PLAT,
                                  .tcb_version = 3};
    if (provision(g_a, sizeof g_a, "a", &a) != 0)
        return -1;
    struct tether_sim_params b = {.measurement_hex = MEAS, .tcb_version = 3, .root_from_dir = g_a};
    struct tether_sim_params dbg = {.measurement_hex = MEAS, .platform_id_hex = PLAT,
                                    .tcb_version = 3, .debug = 1, .root_from_dir = g_a};
    struct tether_sim_params low = {.measurement_hex = MEAS, .platform_id_hex = PLAT,
                                    .tcb_version = 2, .root_from_dir = g_a};
    struct tether_sim_params om = {.platform_id_hex = PLAT, .tcb_version = 3,
                                   .root_from_dir = g_a};
    if (provision(g_b, sizeof g_b, "b", &b) != 0 || provision(g_c, sizeof g_c, "c", NULL) != 0 ||
        provision(g_debug, sizeof g_debug, "debug", &dbg) != 0 ||
        provision(g_lowtcb, sizeof g_lowtcb, "lowtcb", &low) != 0 ||
        provision(g_othermeas, sizeof g_othermeas, "othermeas", &om) != 0)
        return -1;
    char path[PATH_MAX], err[256];
    snprintf(path, sizeof path, "%s/policy.json", g_a);
    g_pol = policy_load_file(path, err, sizeof err);
    return g_pol ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    policy_free(g_pol);
    rm_dir(g_top);
    return 0;
}

static void make_binder(struct binder *b, uint8_t seed)
{
    uint8_t spki[91], exporter[32];
    memset(spki, seed, sizeof spki);
    memset(exporter, (uint8_t)(seed + 1), sizeof exporter);
    assert_int_equal(binder_compute(EVP_sha256(), spki, sizeof spki, exporter, b), 0);
}

static uint8_t *make_evidence(const char *dir, const struct binder *b, size_t *len)
{
    char spec[PATH_MAX], err[256];
    snprintf(spec, sizeof spec, "sim:%s", dir);
    struct attester_handle h;
    assert_int_equal(attester_open(spec, &h, err, sizeof err), 0);
    uint8_t *ev = NULL;
    assert_int_equal(h.backend->evidence(h.state, b, &ev, len, err, sizeof err), 0);
    attester_close(&h);
    return ev;
}

/* A connection-style input: binding required, expected values from b. */
static struct verify_input conn_input(const uint8_t *ev, size_t len, const struct binder *b)
{
    struct verify_input in = {
        .evidence = ev,
        .evidence_len = len,
        .expected_report_data = b ? b->report_data : NULL,
        .expected_report_data_len = b ? sizeof b->report_data : 0,
        .expected_key_hash = b ? b->aik_pub_hash : NULL,
        .expected_key_hash_len = b ? b->hash_len : 0,
        .binding_required = true,
    };
    return in;
}

static struct tether_result *run(const struct policy *p, const struct verify_input *in,
                                 int want_rc)
{
    struct tether_result *r = result_new();
    assert_non_null(r);
    int rc = verify_evidence(p, in, r);
    if (rc != want_rc)
        print_error("verify_evidence: %d, report %s\n", rc, tether_result_json(r));
    assert_int_equal(rc, want_rc);
    assert_int_equal(tether_result_passed(r), want_rc == 0);
    return r;
}

/* Evidence from dir for a fresh binder, verified as a connection would under policy p. */
static struct tether_result *run_dir(const struct policy *p, const char *dir, int want_rc)
{
    struct binder b;
    make_binder(&b, 42);
    size_t len;
    uint8_t *ev = make_evidence(dir, &b, &len);
    struct verify_input in = conn_input(ev, len, &b);
    struct tether_result *r = run(p, &in, want_rc);
    free(ev);
    return r;
}

static json_t *check_named(const struct tether_result *r, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(result_checks((struct tether_result *)r), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
            return c;
    }
    return NULL;
}

static const char *field(const struct tether_result *r, const char *name, const char *f)
{
    json_t *c = check_named(r, name);
    return c ? json_string_value(json_object_get(c, f)) : NULL;
}

static void assert_failed(struct tether_result *r, const char *check, const char *code)
{
    if (!tether_result_failed_code(r) || strcmp(tether_result_failed_code(r), code) != 0)
        print_error("wanted %s/%s, report %s\n", check, code, tether_result_json(r));
    assert_string_equal(tether_result_failed_code(r), code);
    assert_string_equal(tether_result_failed_check(r), check);
    assert_string_equal(field(r, check, "status"), "fail");
    assert_string_equal(field(r, check, "code"), code);
}

static void test_genuine_bound_evidence_passes_every_check_in_pipeline_order(void **state)
{
    (void)state;
    struct tether_result *r = run_dir(g_pol, g_a, 0);
    static const char *const order[] = {
        "evidence.type",       "evidence.format",  "evidence.chain",     "evidence.signature",
        "binding.report_data", "binding.key_hash", "policy.tee_type",    "policy.measurement",
        "policy.platform_id",  "policy.tcb",       "policy.debug",       "policy.evidence_age"};
    assert_int_equal(json_array_size(result_checks((struct tether_result *)r)), 12);
    for (size_t i = 0; i < 12; i++) {
        json_t *c = json_array_get(result_checks((struct tether_result *)r), i);
        assert_string_equal(json_string_value(json_object_get(c, "name")), order[i]);
        assert_string_equal(json_string_value(json_object_get(c, "status")), "pass");
    }
    json_t *j = json_loads(tether_result_json(r), 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "pass");
    assert_string_equal(json_string_value(json_object_get(j, "tee")), "sim");
    assert_true(json_is_true(json_object_get(j, "simulated")));
    json_t *claims = json_object_get(j, "claims");
    assert_string_equal(json_string_value(json_object_get(claims, "measurement")), MEAS);
    assert_string_equal(json_string_value(json_object_get(claims, "platform_id")), PLAT);
    assert_int_equal(json_integer_value(json_object_get(claims, "tcb")), 3);
    json_decref(j);
    tether_result_free(r);
}

static void test_evidence_for_another_binder_fails_binder_mismatch(void **state)
{
    (void)state;
    struct binder b1, b2;
    make_binder(&b1, 1);
    make_binder(&b2, 2);
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b1, &len);
    struct verify_input in = conn_input(ev, len, &b2);
    in.expected_key_hash = NULL; /* only the report_data differs */
    struct tether_result *r = run(g_pol, &in, -1);
    assert_failed(r, "binding.report_data", "binder_mismatch");
    char *h = hex_dup(b1.report_data, 64);
    assert_string_equal(field(r, "binding.report_data", "actual"), h);
    free(h);
    /* The pipeline stops: no appraisal after a binding failure. */
    assert_null(check_named(r, "policy.measurement"));
    /* The claims are reported even on failure. */
    assert_string_equal(r->tee, "sim");
    tether_result_free(r);
    free(ev);
}

static void test_missing_or_zero_expected_report_data_fails_closed(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 3);
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    uint8_t zero[64] = {0};

    struct verify_input in = conn_input(ev, len, &b);
    in.expected_report_data = NULL;
    in.expected_report_data_len = 0;
    struct tether_result *r = run(g_pol, &in, -1);
    assert_failed(r, "binding.report_data", "binder_expected_empty");
    tether_result_free(r);

    in = conn_input(ev, len, &b);
    in.expected_report_data = zero;
    r = run(g_pol, &in, -1);
    assert_failed(r, "binding.report_data", "binder_expected_empty");
    tether_result_free(r);

    in = conn_input(ev, len, &b);
    in.expected_report_data_len = 32; /* a truncated expected value is no value */
    r = run(g_pol, &in, -1);
    assert_failed(r, "binding.report_data", "binder_expected_empty");
    tether_result_free(r);

    in = conn_input(ev, len, &b);
    in.expected_report_data_len = 0;
    r = run(g_pol, &in, -1);
    assert_failed(r, "binding.report_data", "binder_expected_empty");
    tether_result_free(r);

    /* Even offline, an all-zero expected value given explicitly is a failure. */
    in = conn_input(ev, len, &b);
    in.binding_required = false;
    in.expected_report_data = zero;
    r = run(g_pol, &in, -1);
    assert_failed(r, "binding.report_data", "binder_expected_empty");
    tether_result_free(r);
    free(ev);
}

static void test_offline_without_binder_skips_binding_and_says_so(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 4);
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    struct verify_input in = {.evidence = ev, .evidence_len = len};
    struct tether_result *r = run(g_pol, &in, 0);
    assert_string_equal(field(r, "binding.report_data", "status"), "skip");
    assert_string_equal(field(r, "binding.report_data", "detail"),
                        "no binder given: evidence freshness and channel binding not checked");
    assert_string_equal(field(r, "binding.key_hash", "status"), "skip");
    tether_result_free(r);
    free(ev);
}

static void test_signed_key_hash_must_match_the_authenticator_key(void **state)
{
    (void)state;
    struct binder b, other;
    make_binder(&b, 5);
    make_binder(&other, 6);
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    struct verify_input in = conn_input(ev, len, &b);
    in.expected_key_hash = other.aik_pub_hash;
    struct tether_result *r = run(g_pol, &in, -1);
    assert_failed(r, "binding.key_hash", "key_hash_mismatch");
    tether_result_free(r);
    in = conn_input(ev, len, &b);
    in.expected_key_hash_len = 48; /* right prefix, wrong length */
    r = run(g_pol, &in, -1);
    assert_failed(r, "binding.key_hash", "key_hash_mismatch");
    tether_result_free(r);
    free(ev);
}

/* T-11: a correct binder does not make old evidence fresh; the signed timestamp decides. */
static void test_stale_evidence_with_correct_binder_is_too_old(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 7);
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    struct verify_input in = conn_input(ev, len, &b);
    in.at = time(NULL) + 301;
    struct tether_result *r = run(g_pol, &in, -1);
    assert_string_equal(field(r, "binding.report_data", "status"), "pass");
    assert_failed(r, "policy.evidence_age", "evidence_too_old");
    tether_result_free(r);

    in.at = time(NULL) - 120;
    r = run(g_pol, &in, -1);
    assert_failed(r, "policy.evidence_age", "evidence_from_future");
    tether_result_free(r);
    free(ev);
}

static void test_evidence_from_another_platform_with_the_same_root_is_not_allowed(void **state)
{
    (void)state;
    /* B shares A's root and measurement: authentic, bound, but another machine (diversion). */
    struct tether_result *r = run_dir(g_pol, g_b, -1);
    assert_string_equal(field(r, "evidence.chain", "status"), "pass");
    assert_string_equal(field(r, "policy.measurement", "status"), "pass");
    assert_failed(r, "policy.platform_id", "platform_not_allowed");
    assert_string_equal(field(r, "policy.platform_id", "expected"), PLAT);
    tether_result_free(r);
}

static void test_two_machines_sharing_a_root_pass_one_policy_listing_both(void **state)
{
    (void)state;
    char path[PATH_MAX], err[256];
    snprintf(path, sizeof path, "%s/sim.json", g_b);
    json_t *simb = json_load_file(path, 0, NULL);
    assert_non_null(simb);
    const char *plat_b = json_string_value(json_object_get(simb, "platform_id"));
    assert_string_not_equal(plat_b, PLAT);
    json_t *pol = json_pack("{s:i, s:{s:{s:[s], s:[s], s:i}}, s:[s,s]}", "tether_policy", 1,
                            "accept", "sim", "trust_anchors", "root.crt", "measurements", MEAS,
                            "min_tcb", 3, "platform_ids", PLAT, plat_b);
    char *s = json_dumps(pol, 0);
    struct policy *p = policy_parse(s, strlen(s), g_a, err, sizeof err);
    assert_non_null(p);
    struct tether_result *ra = run_dir(p, g_a, 0);
    struct tether_result *rb = run_dir(p, g_b, 0);
    assert_string_equal(field(rb, "policy.platform_id", "actual"), plat_b);
    assert_string_equal(field(ra, "policy.platform_id", "actual"), PLAT);
    tether_result_free(ra);
    tether_result_free(rb);
    policy_free(p);
    free(s);
    json_decref(pol);
    json_decref(simb);
}

static void test_debug_tee_is_not_allowed(void **state)
{
    (void)state;
    struct tether_result *r = run_dir(g_pol, g_debug, -1);
    assert_failed(r, "policy.debug", "debug_not_allowed");
    tether_result_free(r);
}

static void test_low_tcb_is_rejected(void **state)
{
    (void)state;
    struct tether_result *r = run_dir(g_pol, g_lowtcb, -1);
    assert_failed(r, "policy.tcb", "tcb_too_low");
    assert_string_equal(field(r, "policy.tcb", "expected"), ">= 3");
    assert_string_equal(field(r, "policy.tcb", "actual"), "2");
    tether_result_free(r);
}

static void test_unlisted_measurement_is_rejected(void **state)
{
    (void)state;
    struct tether_result *r = run_dir(g_pol, g_othermeas, -1);
    assert_failed(r, "policy.measurement", "measurement_not_allowed");
    tether_result_free(r);
}

static void test_ak_from_another_root_is_untrusted(void **state)
{
    (void)state;
    struct tether_result *r = run_dir(g_pol, g_c, -1);
    assert_failed(r, "evidence.chain", "evidence_chain_untrusted");
    assert_null(check_named(r, "binding.report_data"));
    tether_result_free(r);
}

static void test_policy_without_anchors_or_no_policy_fails_closed(void **state)
{
    (void)state;
    char err[256];
    const char *json = "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[\"" MEAS "\"]}}}";
    struct policy *p = policy_parse(json, strlen(json), NULL, err, sizeof err);
    assert_non_null(p);
    struct tether_result *r = run_dir(p, g_a, -1);
    assert_failed(r, "evidence.chain", "evidence_no_trust_anchor");
    assert_non_null(strstr(field(r, "evidence.chain", "detail"), "the policy must name the sim root"));
    tether_result_free(r);
    policy_free(p);
    /* No policy at all: nothing is trusted either. */
    r = run_dir(NULL, g_a, -1);
    assert_failed(r, "evidence.chain", "evidence_no_trust_anchor");
    tether_result_free(r);
}

static void test_unrecognised_and_unaccepted_types_fail_first(void **state)
{
    (void)state;
    uint8_t junk[300];
    memset(junk, 0x41, sizeof junk);
    struct verify_input in = {.evidence = junk, .evidence_len = sizeof junk,
                              .binding_required = true};
    struct tether_result *r = run(g_pol, &in, -1);
    assert_failed(r, "evidence.type", "evidence_unrecognised");
    assert_int_equal(json_array_size(result_checks((struct tether_result *)r)), 1);
    tether_result_free(r);

    in.type = "no-such-tee";
    r = run(g_pol, &in, -1);
    assert_failed(r, "evidence.type", "evidence_unrecognised");
    tether_result_free(r);

    in.type = "snp"; /* a known type the policy does not accept */
    r = run(g_pol, &in, -1);
    assert_failed(r, "evidence.type", "tee_not_accepted");
    tether_result_free(r);

    in.type = "sim"; /* forced type: the backend's strict parser decides */
    r = run(g_pol, &in, -1);
    assert_failed(r, "evidence.format", "evidence_malformed");
    tether_result_free(r);

    in.type = NULL;
    in.evidence_len = 0;
    r = run(g_pol, &in, -1);
    assert_failed(r, "evidence.format", "evidence_malformed");
    tether_result_free(r);

    /* A policy that accepts only another TEE type. */
    char err[256];
    const char *json = "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[\"" MEAS "\"]}}}";
    struct policy *p = policy_parse(json, strlen(json), NULL, err, sizeof err);
    snprintf(p->tees[0].name, sizeof p->tees[0].name, "snp");
    r = run_dir(p, g_a, -1);
    assert_failed(r, "evidence.type", "tee_not_accepted");
    assert_string_equal(field(r, "evidence.type", "actual"), "sim");
    assert_string_equal(field(r, "evidence.type", "expected"), "snp");
    tether_result_free(r);
    policy_free(p);
}

static void test_cmw_payload_container_is_unwrapped_and_its_binder_copy_ignored(void **state)
{
    (void)state;
    struct binder b, other;
    make_binder(&b, 8);
    make_binder(&other, 9);
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    struct ea_payload pl;
    memset(&pl, 0, sizeof pl);
    pl.version = 1;
    snprintf(pl.media_type, sizeof pl.media_type, "%s", SIM_MEDIA_TYPE);
    pl.evidence = ev;
    pl.evidence_len = len;
    snprintf(pl.exporter_label, sizeof pl.exporter_label, "Attestation");
    /* The payload's binder copy claims another connection: it must not matter. */
    memcpy(pl.aik_pub_hash, other.aik_pub_hash, 32);
    pl.aik_pub_hash_len = 32;
    memcpy(pl.binding, other.binding, 32);
    pl.binding_len = 32;
    char *json = NULL;
    size_t jlen = 0;
    assert_int_equal(ea_payload_encode(&pl, &json, &jlen), 0);

    struct verify_input in = conn_input((const uint8_t *)json, jlen, &b);
    struct tether_result *r = run(g_pol, &in, 0);
    assert_string_equal(field(r, "evidence.container", "status"), "pass");
    assert_string_equal(field(r, "evidence.container", "detail"), "cmw_attestation payload");
    assert_string_equal(json_string_value(json_object_get(json_array_get(result_checks((struct tether_result *)r), 0), "name")),
                        "evidence.container");
    tether_result_free(r);

    /* Bound to the payload's (other) binder instead: the signed report_data says no. */
    in = conn_input((const uint8_t *)json, jlen, &other);
    r = run(g_pol, &in, -1);
    assert_failed(r, "binding.report_data", "binder_mismatch");
    tether_result_free(r);

    const char *bad = "{\"version\":1}";
    in = conn_input((const uint8_t *)bad, strlen(bad), &b);
    r = run(g_pol, &in, -1);
    assert_failed(r, "evidence.container", "evidence_malformed");
    tether_result_free(r);
    free(json);
    free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genuine_bound_evidence_passes_every_check_in_pipeline_order),
        cmocka_unit_test(test_evidence_for_another_binder_fails_binder_mismatch),
        cmocka_unit_test(test_missing_or_zero_expected_report_data_fails_closed),
        cmocka_unit_test(test_offline_without_binder_skips_binding_and_says_so),
        cmocka_unit_test(test_signed_key_hash_must_match_the_authenticator_key),
        cmocka_unit_test(test_stale_evidence_with_correct_binder_is_too_old),
        cmocka_unit_test(test_evidence_from_another_platform_with_the_same_root_is_not_allowed),
        cmocka_unit_test(test_two_machines_sharing_a_root_pass_one_policy_listing_both),
        cmocka_unit_test(test_debug_tee_is_not_allowed),
        cmocka_unit_test(test_low_tcb_is_rejected),
        cmocka_unit_test(test_unlisted_measurement_is_rejected),
        cmocka_unit_test(test_ak_from_another_root_is_untrusted),
        cmocka_unit_test(test_policy_without_anchors_or_no_policy_fails_closed),
        cmocka_unit_test(test_unrecognised_and_unaccepted_types_fail_first),
        cmocka_unit_test(test_cmw_payload_container_is_unwrapped_and_its_binder_copy_ignored),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
