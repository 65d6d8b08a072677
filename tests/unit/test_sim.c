/*
 * test_sim.c - the simulated TEE: provisioning (files, modes, parameter validation, shared
 * roots), the sim attester, and the sim evidence backend (round trip, strict parsing,
 * truncation at every length, tampering, chains to the wrong root or to no root).
 *
 * Must never depend on the network or on files outside its own mkdtemp directories.
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
#include "evidence/evidence.h"
#include "evidence/sim/sim.h"
#include "policy/policy.h"
#include "policy/result.h"
#include "util/util.h"

#define MEAS "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
#define PLAT "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"

static char g_top[128];      /* mkdtemp parent */
static char g_a[256];        /* sim A: own root, MEAS, PLAT, tcb 3 */
static char g_b[256];        /* sim B: shares A's root, random platform id */
static char g_c[256];        /* sim C: its own root */
static struct policy *g_pol; /* A's generated policy.json */

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

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_top, sizeof g_top, "/tmp/tether-test-sim-XXXXXX");
    if (!mkdtemp(g_top))
        return -1;
    snprintf(g_a, sizeof g_a, "%s/a", g_top);
    snprintf(g_b, sizeof g_b, "%s/b", g_top);
    snprintf(g_c, sizeof g_c, "%s/nested/c", g_top);
    char err[256];
    struct tether_sim_params pa = {.measurement_hex = MEAS, .platform_id_hex = PLAT,
                                   .tcb_version = 3};
    struct tether_sim_params pb = {.measurement_hex = MEAS, .root_from_dir = g_a};
    if (tether_sim_provision(g_a, &pa, err, sizeof err) != 0 ||
        tether_sim_provision(g_b, &pb, err, sizeof err) != 0 ||
        tether_sim_provision(g_c, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "provision: %s\n", err);
        return -1;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/policy.json", g_a);
    g_pol = policy_load_file(path, err, sizeof err);
    if (!g_pol) {
        fprintf(stderr, "policy: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    policy_free(g_pol);
    rm_dir(g_top);
    return 0;
}

static void make_binder(struct binder *b, uint8_t seed, const EVP_MD *md)
{
    uint8_t spki[91], exporter[32];
    memset(spki, seed, sizeof spki);
    memset(exporter, (uint8_t)(seed + 1), sizeof exporter);
    assert_int_equal(binder_compute(md, spki, sizeof spki, exporter, b), 0);
}

static uint8_t *make_evidence(const char *dir, const struct binder *b, size_t *len)
{
    char spec[PATH_MAX], err[256];
    snprintf(spec, sizeof spec, "sim:%s", dir);
    struct attester_handle h;
    if (attester_open(spec, &h, err, sizeof err) != 0)
        print_error("attester_open: %s\n", err);
    assert_non_null(h.state);
    uint8_t *ev = NULL;
    assert_int_equal(h.backend->evidence(h.state, b, &ev, len, err, sizeof err), 0);
    attester_close(&h);
    assert_non_null(ev);
    return ev;
}

/* Run the sim backend alone; returns the result (caller frees). */
static struct tether_result *backend_verify(const uint8_t *ev, size_t len, X509_STORE *store,
                                            time_t at, struct claims *c, int want_rc)
{
    struct tether_result *r = result_new();
    struct claims local;
    memset(&local, 0, sizeof local);
    struct claims *cl = c ? c : &local;
    struct evidence_anchors anchors = {.store = store, .origin = "policy"};
    assert_int_equal(evidence_sim.verify(ev, len, &anchors, at ? at : time(NULL), NULL, cl, r),
                     want_rc);
    if (!c)
        claims_clear(&local);
    return r;
}

static X509_STORE *anchors_a(void)
{
    return g_pol->tees[0].anchors;
}

static const char *check_field(const struct tether_result *r, const char *name, const char *f)
{
    size_t i;
    json_t *c;
    json_array_foreach(result_checks((struct tether_result *)r), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
            return json_string_value(json_object_get(c, f));
    }
    return NULL;
}

/* ---- provisioning ---- */

static void test_provision_writes_keys_0600_and_the_given_identity(void **state)
{
    (void)state;
    struct stat st;
    char path[PATH_MAX];
    assert_int_equal(stat(g_a, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof path, "%s/root.key", g_a);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/ak.key", g_a);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    snprintf(path, sizeof path, "%s/sim.json", g_a);
    json_t *sim = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(sim);
    assert_string_equal(json_string_value(json_object_get(sim, "measurement")), MEAS);
    assert_string_equal(json_string_value(json_object_get(sim, "platform_id")), PLAT);
    assert_int_equal(json_integer_value(json_object_get(sim, "tcb_version")), 3);
    assert_true(json_is_false(json_object_get(sim, "debug")));
    json_decref(sim);

    snprintf(path, sizeof path, "%s/policy.json", g_a);
    json_t *pol = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(pol);
    json_t *s = json_object_get(json_object_get(pol, "accept"), "sim");
    assert_string_equal(json_string_value(json_array_get(json_object_get(s, "trust_anchors"), 0)),
                        "root.crt");
    assert_string_equal(json_string_value(json_array_get(json_object_get(s, "measurements"), 0)),
                        MEAS);
    assert_int_equal(json_integer_value(json_object_get(s, "min_tcb")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(pol, "platform_ids"), 0)),
                        PLAT);
    assert_true(json_is_false(json_object_get(pol, "allow_debug")));
    assert_int_equal(json_integer_value(json_object_get(pol, "max_evidence_age_seconds")), 300);
    json_decref(pol);

    /* The loaded policy matches. */
    assert_true(g_pol->has_platform_ids);
    assert_int_equal(g_pol->tees[0].min_tcb, 3);
    assert_int_equal(g_pol->tees[0].n_anchors, 1);
}

static void test_provision_rejects_wrong_measurement_and_platform_lengths(void **state)
{
    (void)state;
    char dir[PATH_MAX], err[256];
    snprintf(dir, sizeof dir, "%s/bad", g_top);
    struct tether_sim_params p = {.measurement_hex = "aabb"};
    assert_int_equal(tether_sim_provision(dir, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "measurement must be exactly 48 bytes"));
    p = (struct tether_sim_params){.platform_id_hex = MEAS};
    assert_int_equal(tether_sim_provision(dir, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "platform id must be exactly 16 bytes"));
    p = (struct tether_sim_params){.platform_id_hex = "zz" PLAT};
    assert_int_equal(tether_sim_provision(dir, &p, err, sizeof err), -1);
    p = (struct tether_sim_params){.root_from_dir = "/nonexistent-tether"};
    assert_int_equal(tether_sim_provision(dir, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "root.key"));
    assert_int_equal(tether_sim_provision(NULL, NULL, err, sizeof err), -1);
}

static void test_provision_with_root_from_dir_shares_the_root_but_not_the_ak(void **state)
{
    (void)state;
    char pa[PATH_MAX], pb[PATH_MAX];
    uint8_t *a, *b;
    size_t al, bl;
    snprintf(pa, sizeof pa, "%s/root.crt", g_a);
    snprintf(pb, sizeof pb, "%s/root.crt", g_b);
    assert_int_equal(file_read(pa, 65536, &a, &al), 0);
    assert_int_equal(file_read(pb, 65536, &b, &bl), 0);
    assert_int_equal(al, bl);
    assert_memory_equal(a, b, al);
    free(a);
    free(b);
    snprintf(pa, sizeof pa, "%s/ak.crt", g_a);
    snprintf(pb, sizeof pb, "%s/ak.crt", g_b);
    assert_int_equal(file_read(pa, 65536, &a, &al), 0);
    assert_int_equal(file_read(pb, 65536, &b, &bl), 0);
    assert_true(al != bl || memcmp(a, b, al) != 0);
    free(a);
    free(b);
}

/* ---- attester ---- */

static void test_attester_open_rejects_bad_specs(void **state)
{
    (void)state;
    struct attester_handle h;
    char err[256];
    assert_int_equal(attester_open("nosuch:/x", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown TEE type"));
    assert_int_equal(attester_open("sim", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "type:argument"));
    assert_int_equal(attester_open("sim:", &h, err, sizeof err), -1);
    assert_int_equal(attester_open("sim:/nonexistent-tether-dir", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "sim.json"));
    assert_null(h.state);
    attester_close(&h);
    attester_close(NULL);
}

static void test_attester_refuses_an_all_zero_report_data(void **state)
{
    (void)state;
    char spec[PATH_MAX], err[256];
    snprintf(spec, sizeof spec, "sim:%s", g_a);
    struct attester_handle h;
    assert_int_equal(attester_open(spec, &h, err, sizeof err), 0);
    struct binder b;
    memset(&b, 0, sizeof b);
    b.hash_len = 32;
    uint8_t *ev = (uint8_t *)&b; /* must be reset to NULL */
    size_t len = 99;
    assert_int_equal(h.backend->evidence(h.state, &b, &ev, &len, err, sizeof err), -1);
    assert_null(ev);
    assert_non_null(strstr(err, "all-zero"));
    attester_close(&h);
}

/* ---- evidence ---- */

static void test_sim_round_trip_carries_binder_and_identity(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 7, EVP_sha384());
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    assert_true(evidence_sim.recognise(ev, len));
    assert_ptr_equal(evidence_backend_recognise(ev, len), &evidence_sim);
    assert_ptr_equal(evidence_backend_find("sim"), &evidence_sim);
    assert_null(evidence_backend_find("no-such-tee"));
    assert_string_equal(evidence_sim.media_type, SIM_MEDIA_TYPE);

    struct claims c;
    memset(&c, 0, sizeof c);
    time_t now = time(NULL);
    struct tether_result *r = backend_verify(ev, len, anchors_a(), 0, &c, 0);
    assert_false(r->failed);
    assert_int_equal(r->n_pass, 3); /* format, chain, signature */
    assert_string_equal(c.tee, "sim");
    assert_true(c.simulated);
    assert_memory_equal(c.report_data, b.report_data, 64);
    assert_true(c.has_report_data);
    assert_int_equal(c.key_hash_len, 48);
    assert_memory_equal(c.key_hash, b.aik_pub_hash, 48);
    char *m = hex_dup(c.measurement, c.measurement_len);
    char *p = hex_dup(c.platform_id, c.platform_id_len);
    assert_string_equal(m, MEAS);
    assert_string_equal(p, PLAT);
    free(m);
    free(p);
    assert_int_equal(c.tcb, 3);
    assert_false(c.debug);
    assert_true(c.has_timestamp);
    assert_true(c.timestamp >= (int64_t)now - 5 && c.timestamp <= (int64_t)now + 5);
    json_t *j = claims_to_json(&c);
    assert_string_equal(json_string_value(json_object_get(j, "measurement")), MEAS);
    assert_non_null(strstr(json_string_value(json_object_get(j, "ak_subject")),
                           "tether sim attestation key"));
    json_decref(j);
    claims_clear(&c);
    tether_result_free(r);
    free(ev);
}

static void test_sim_every_truncation_is_malformed_and_never_crashes(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 9, EVP_sha256());
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact-size buffer: ASan catches any over-read */
        memcpy(copy, ev, n);
        struct tether_result *r = backend_verify(copy, n, anchors_a(), 0, NULL, -1);
        assert_string_equal(tether_result_failed_code(r), "evidence_malformed");
        assert_string_equal(tether_result_failed_check(r), "evidence.format");
        tether_result_free(r);
        free(copy);
    }
    free(ev);
}

static void test_sim_trailing_byte_is_malformed(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 11, EVP_sha256());
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, ev, len);
    longer[len] = 0;
    struct tether_result *r = backend_verify(longer, len + 1, anchors_a(), 0, NULL, -1);
    assert_string_equal(tether_result_failed_code(r), "evidence_malformed");
    assert_non_null(strstr(check_field(r, "evidence.format", "detail"), "trailing"));
    tether_result_free(r);
    free(longer);
    free(ev);
}

static void test_sim_tampered_body_byte_fails_signature(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 13, EVP_sha256());
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    for (size_t i = 0; i < SIM_BODY_LEN; i++) {
        ev[i] ^= 0x01;
        struct tether_result *r = backend_verify(ev, len, anchors_a(), 0, NULL, -1);
        const char *code = tether_result_failed_code(r);
        /* Signed content: measurement, platform, report_data, used key hash, timestamp, tcb. */
        bool content = (i >= SIM_OFF_TCB && i < SIM_OFF_KEY_HASH_LEN) ||
                       (i >= SIM_OFF_TIMESTAMP + 1 && i < SIM_OFF_KEY_HASH + 32);
        if (content)
            assert_string_equal(code, "evidence_signature_invalid");
        else
            assert_true(strcmp(code, "evidence_signature_invalid") == 0 ||
                        strcmp(code, "evidence_malformed") == 0);
        tether_result_free(r);
        ev[i] ^= 0x01;
    }
    /* The signature itself. */
    ev[len - 5] ^= 0x01;
    struct tether_result *r = backend_verify(ev, len, anchors_a(), 0, NULL, -1);
    assert_string_equal(tether_result_failed_code(r), "evidence_signature_invalid");
    tether_result_free(r);
    ev[len - 5] ^= 0x01;
    r = backend_verify(ev, len, anchors_a(), 0, NULL, 0); /* restored: passes again */
    tether_result_free(r);
    free(ev);
}

static void test_sim_parse_rejects_nonzero_padding_flags_reserved_and_bad_lengths(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 15, EVP_sha256()); /* key_hash_len 32: bytes 184..216 must be zero */
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    struct sim_evidence se;
    const char *why;
    assert_int_equal(sim_evidence_parse(ev, len, &se, &why), 0);
    assert_int_equal(se.body.key_hash_len, 32);
    assert_int_equal(se.body.tcb_version, 3);
    struct {
        size_t off;
        uint8_t val;
        const char *why;
    } cases[] = {
        {SIM_OFF_KEY_HASH + 40, 1, "beyond key_hash_len"},
        {SIM_OFF_FLAGS + 1, 2, "flag"},
        {SIM_OFF_FLAGS, 0x80, "flag"},
        {SIM_OFF_RESERVED + 2, 1, "reserved"},
        {SIM_OFF_KEY_HASH_LEN, 33, "key_hash_len"},
        {SIM_OFF_VERSION + 1, 2, "version"},
        {SIM_OFF_MAGIC, 'X', "magic"},
        {SIM_OFF_TIMESTAMP, 0x80, "timestamp"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t saved = ev[cases[i].off];
        ev[cases[i].off] = cases[i].val;
        assert_int_equal(sim_evidence_parse(ev, len, &se, &why), -1);
        assert_non_null(strstr(why, cases[i].why));
        ev[cases[i].off] = saved;
    }
    /* Zero-length AK certificate and oversized signature length. */
    uint8_t *copy = malloc(len);
    memcpy(copy, ev, len);
    copy[SIM_BODY_LEN] = 0;
    copy[SIM_BODY_LEN + 1] = 0;
    assert_int_equal(sim_evidence_parse(copy, len, &se, &why), -1);
    free(copy);
    assert_false(evidence_sim.recognise(ev, SIM_MIN_LEN - 1));
    ev[SIM_OFF_VERSION + 1] = 2;
    assert_false(evidence_sim.recognise(ev, len));
    assert_null(evidence_backend_recognise(ev, len));
    free(ev);
}

static void test_sim_ak_from_another_root_is_untrusted(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 17, EVP_sha256());
    size_t len;
    uint8_t *ev = make_evidence(g_c, &b, &len);
    struct tether_result *r = backend_verify(ev, len, anchors_a(), 0, NULL, -1);
    assert_string_equal(tether_result_failed_code(r), "evidence_chain_untrusted");
    assert_string_equal(tether_result_failed_check(r), "evidence.chain");
    assert_non_null(strstr(check_field(r, "evidence.chain", "detail"),
                           "unable to get local issuer certificate"));
    tether_result_free(r);
    free(ev);
}

static void test_sim_without_anchor_fails_closed_and_names_the_fix(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 19, EVP_sha256());
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    struct tether_result *r = backend_verify(ev, len, NULL, 0, NULL, -1);
    assert_string_equal(tether_result_failed_code(r), "evidence_no_trust_anchor");
    assert_non_null(strstr(check_field(r, "evidence.chain", "detail"),
                           "the policy must name the sim root"));
    tether_result_free(r);
    free(ev);
}

static void test_sim_chain_is_checked_at_the_verification_time(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 21, EVP_sha256());
    size_t len;
    uint8_t *ev = make_evidence(g_a, &b, &len);
    time_t later = time(NULL) + (time_t)11 * 366 * 86400; /* after the ten-year validity */
    struct tether_result *r = backend_verify(ev, len, anchors_a(), later, NULL, -1);
    assert_string_equal(tether_result_failed_code(r), "evidence_chain_untrusted");
    assert_non_null(strstr(check_field(r, "evidence.chain", "detail"), "expired"));
    tether_result_free(r);
    time_t before = time(NULL) - 86400; /* before notBefore */
    r = backend_verify(ev, len, anchors_a(), before, NULL, -1);
    assert_string_equal(tether_result_failed_code(r), "evidence_chain_untrusted");
    tether_result_free(r);
    free(ev);
}

static void test_sim_shared_root_dirs_verify_under_one_anchor_set(void **state)
{
    (void)state;
    struct binder b;
    make_binder(&b, 23, EVP_sha256());
    size_t la, lb;
    uint8_t *ea = make_evidence(g_a, &b, &la);
    uint8_t *eb = make_evidence(g_b, &b, &lb);
    struct claims ca, cb;
    memset(&ca, 0, sizeof ca);
    memset(&cb, 0, sizeof cb);
    struct tether_result *ra = backend_verify(ea, la, anchors_a(), 0, &ca, 0);
    struct tether_result *rb = backend_verify(eb, lb, anchors_a(), 0, &cb, 0);
    assert_memory_equal(ca.measurement, cb.measurement, 48);
    assert_memory_not_equal(ca.platform_id, cb.platform_id, 16);
    claims_clear(&ca);
    claims_clear(&cb);
    tether_result_free(ra);
    tether_result_free(rb);
    free(ea);
    free(eb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provision_writes_keys_0600_and_the_given_identity),
        cmocka_unit_test(test_provision_rejects_wrong_measurement_and_platform_lengths),
        cmocka_unit_test(test_provision_with_root_from_dir_shares_the_root_but_not_the_ak),
        cmocka_unit_test(test_attester_open_rejects_bad_specs),
        cmocka_unit_test(test_attester_refuses_an_all_zero_report_data),
        cmocka_unit_test(test_sim_round_trip_carries_binder_and_identity),
        cmocka_unit_test(test_sim_every_truncation_is_malformed_and_never_crashes),
        cmocka_unit_test(test_sim_trailing_byte_is_malformed),
        cmocka_unit_test(test_sim_tampered_body_byte_fails_signature),
        cmocka_unit_test(test_sim_parse_rejects_nonzero_padding_flags_reserved_and_bad_lengths),
        cmocka_unit_test(test_sim_ak_from_another_root_is_untrusted),
        cmocka_unit_test(test_sim_without_anchor_fails_closed_and_names_the_fix),
        cmocka_unit_test(test_sim_chain_is_checked_at_the_verification_time),
        cmocka_unit_test(test_sim_shared_root_dirs_verify_under_one_anchor_set),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
