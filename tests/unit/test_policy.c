/*
 * test_policy.c - the policy language (strict parsing: every rejection has a clear message),
 * the appraisal of claims (each check passing and failing with its stable code), and the
 * result's verdict rules and JSON report.
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
#include <time.h>
#include <unistd.h>

#include "tether.h"

#include "policy/policy.h"
#include "policy/result.h"
#include "util/util.h"

#define M48 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define M48B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define P16 "11111111111111111111111111111111"
#define P16B "22222222222222222222222222222222"

static char g_dir[256];  /* a provisioned sim directory (for anchors) */
static char *g_root_pem;      /* its root.crt as text */

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
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/tether-test-policy-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char err[256];
    if (tether_sim_provision(g_dir, NULL, err, sizeof err) != 0)
        return -1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/root.crt", g_dir);
    uint8_t *data;
    size_t len;
    if (file_read(path, 65536, &data, &len) != 0)
        return -1;
    g_root_pem = malloc(len + 1);
    memcpy(g_root_pem, data, len);
    g_root_pem[len] = '\0';
    free(data);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_root_pem);
    rm_dir(g_dir);
    return 0;
}

static struct policy *parse(const char *json, const char *base, char *err, size_t errlen)
{
    return policy_parse(json, strlen(json), base, err, errlen);
}

/* ---- parsing ---- */

struct reject_case {
    const char *what;
    const char *json;
    const char *message; /* substring of the error */
};

static const struct reject_case rejects[] = {
    {"syntax error reports line and column", "{\"tether_policy\": 1,\n \"accept\": }",
     "line 2, column"},
    {"duplicate key", "{\"tether_policy\":1,\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}",
     "duplicate"},
    {"duplicate key inside a TEE section",
     "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"],\"measurements\":[\"" M48 "\"]}}}",
     "duplicate"},
    {"unknown top-level key (typo)", "{\"tether_policy\":1,\"allow_debugs\":true,\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}",
     "unknown key \"allow_debugs\""},
    {"unknown key in the sim section", "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurement\":[\"" M48 "\"]}}}",
     "unknown key \"measurement\""},
    {"bad hex digit", "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[\"zz" M48 "\"]}}}",
     "accept.sim.measurements[0]"},
    {"odd-length hex", "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[\"a" M48 "\"]}}}",
     "not a hex string"},
    {"measurement of the wrong length", "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[\"aabb\"]}}}",
     "exactly 48 bytes"},
    {"measurement that is not a string", "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[42]}}}",
     "must be a hex string"},
    {"empty platform_ids", "{\"tether_policy\":1,\"platform_ids\":[],\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}",
     "platform_ids: must not be empty"},
    {"platform id longer than 64 bytes",
     "{\"tether_policy\":1,\"platform_ids\":[\"" M48 M48 "\"],\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}",
     "platform_ids[0]"},
    {"missing measurements", "{\"tether_policy\":1,\"accept\":{\"sim\":{\"min_tcb\":1}}}",
     "\"measurements\" is required"},
    {"empty measurements", "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[]}}}",
     "accept.sim.measurements: must not be empty"},
    {"unknown TEE type", "{\"tether_policy\":1,\"accept\":{\"sgx2\":{\"measurements\":[\"" M48 "\"]}}}",
     "unknown TEE type \"sgx2\""},
    {"no TEE type accepted", "{\"tether_policy\":1,\"accept\":{}}", "at least one TEE type"},
    {"accept missing", "{\"tether_policy\":1}", "\"accept\" is required"},
    {"accept not an object", "{\"tether_policy\":1,\"accept\":[\"sim\"]}", "accept: must be an object"},
    {"version missing", "{\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}", "tether_policy"},
    {"version 2", "{\"tether_policy\":2,\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}",
     "unsupported policy version"},
    {"version as a string", "{\"tether_policy\":\"1\",\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}",
     "unsupported policy version"},
    {"allow_debug as a string", "{\"tether_policy\":1,\"allow_debug\":\"false\",\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}",
     "allow_debug: must be true or false"},
    {"negative max age", "{\"tether_policy\":1,\"max_evidence_age_seconds\":-1,\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}",
     "out of range"},
    {"fractional max age", "{\"tether_policy\":1,\"max_evidence_age_seconds\":1.5,\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}",
     "must be an integer"},
    {"max age beyond ten years", "{\"tether_policy\":1,\"max_evidence_age_seconds\":400000000,\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}",
     "out of range"},
    {"negative min_tcb", "{\"tether_policy\":1,\"accept\":{\"sim\":{\"min_tcb\":-1,\"measurements\":[\"" M48 "\"]}}}",
     "accept.sim.min_tcb"},
    {"min_tcb beyond 32 bits", "{\"tether_policy\":1,\"accept\":{\"sim\":{\"min_tcb\":4294967296,\"measurements\":[\"" M48 "\"]}}}",
     "out of range"},
    {"empty trust_anchors", "{\"tether_policy\":1,\"accept\":{\"sim\":{\"trust_anchors\":[],\"measurements\":[\"" M48 "\"]}}}",
     "trust_anchors: must not be empty"},
    {"trust anchor not a string", "{\"tether_policy\":1,\"accept\":{\"sim\":{\"trust_anchors\":[1],\"measurements\":[\"" M48 "\"]}}}",
     "trust_anchors[0]"},
    {"garbage inline PEM",
     "{\"tether_policy\":1,\"accept\":{\"sim\":{\"trust_anchors\":[\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"],\"measurements\":[\"" M48 "\"]}}}",
     "trust_anchors[0]"},
    {"relative anchor path without a base directory",
     "{\"tether_policy\":1,\"accept\":{\"sim\":{\"trust_anchors\":[\"root.crt\"],\"measurements\":[\"" M48 "\"]}}}",
     "needs a base directory"},
    {"anchor file that does not exist",
     "{\"tether_policy\":1,\"accept\":{\"sim\":{\"trust_anchors\":[\"/nonexistent/tether/root.crt\"],\"measurements\":[\"" M48 "\"]}}}",
     "cannot open trust anchor"},
    {"anchor that is a directory",
     "{\"tether_policy\":1,\"accept\":{\"sim\":{\"trust_anchors\":[\"/tmp\"],\"measurements\":[\"" M48 "\"]}}}",
     "not a regular file"},
    /* accept.snp: min_abi and the guest-policy / PLATFORM_INFO keys (docs/snp.md). */
    {"snp: unknown feature key (typo of require_tsme)",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"require_tsme_en\":true,\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp: unknown key \"require_tsme_en\""},
    {"snp: unknown feature key (typo of require_page_swap_disabled)",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"require_page_swap_disable\":true,\"measurements\":[\"" M48 "\"]}}}",
     "unknown key \"require_page_swap_disable\""},
    {"snp: allow_cxl as a string",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"allow_cxl\":\"false\",\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.allow_cxl: must be true or false"},
    {"snp: require_aes_256_xts as an integer",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"require_aes_256_xts\":1,\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.require_aes_256_xts: must be true or false"},
    {"snp: require_rapl_disabled as null",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"require_rapl_disabled\":null,\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.require_rapl_disabled: must be true or false"},
    {"snp: require_ciphertext_hiding as an array",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"require_ciphertext_hiding\":[true],\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.require_ciphertext_hiding: must be true or false"},
    {"snp: require_page_swap_disabled as a string",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"require_page_swap_disabled\":\"yes\",\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.require_page_swap_disabled: must be true or false"},
    {"snp: allow_smt_enabled as an integer",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"allow_smt_enabled\":0,\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.allow_smt_enabled: must be true or false"},
    {"snp: require_tsme as a string",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"require_tsme\":\"true\",\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.require_tsme: must be true or false"},
    {"snp: require_ecc_memory as an object",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"require_ecc_memory\":{},\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.require_ecc_memory: must be true or false"},
    {"snp: require_rapl_disabled_platform as an integer",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"require_rapl_disabled_platform\":1,\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.require_rapl_disabled_platform: must be true or false"},
    {"snp: require_ciphertext_hiding_platform as a string",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"require_ciphertext_hiding_platform\":\"1\",\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.require_ciphertext_hiding_platform: must be true or false"},
    {"snp: require_alias_check_complete as null",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"require_alias_check_complete\":null,\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.require_alias_check_complete: must be true or false"},
    {"snp: min_abi as a number",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"min_abi\":1.55,\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.min_abi: must be a string \"MAJOR.MINOR\""},
    {"snp: min_abi with a build",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"min_abi\":\"1.55.29\",\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.min_abi"},
    {"snp: min_abi without a minor",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"min_abi\":\"1\",\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.min_abi"},
    {"snp: min_abi minor out of range",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"min_abi\":\"1.256\",\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.min_abi"},
    {"snp: min_abi with a sign or space",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"min_abi\":\" +1.5\",\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.min_abi"},
    {"snp: min_abi empty",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"min_abi\":\"\",\"measurements\":[\"" M48 "\"]}}}",
     "accept.snp.min_abi"},
    {"snp: duplicate feature key",
     "{\"tether_policy\":1,\"accept\":{\"snp\":{\"allow_cxl\":false,\"allow_cxl\":true,\"measurements\":[\"" M48 "\"]}}}",
     "duplicate"},
    {"top level not an object", "[1,2]", "must be a JSON object"},
    {"trailing garbage after the object",
     "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}} x", "line 1"},
};

static void test_policy_rejects_each_malformed_policy_with_a_clear_message(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rejects / sizeof rejects[0]; i++) {
        char err[512] = "";
        struct policy *p = parse(rejects[i].json, NULL, err, sizeof err);
        if (p || !strstr(err, rejects[i].message)) {
            print_error("case \"%s\": got %s, message \"%s\" (wanted \"%s\")\n", rejects[i].what,
                        p ? "a policy" : "NULL", err, rejects[i].message);
            policy_free(p);
            fail();
        }
    }
}

static void test_policy_rejects_too_many_values_and_oversized_text(void **state)
{
    (void)state;
    size_t cap = 300 * 104 + 256;
    char *s = malloc(cap);
    size_t used = (size_t)snprintf(s, cap, "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[");
    for (int i = 0; i < POLICY_MAX_VALUES + 1; i++)
        used += (size_t)snprintf(s + used, cap - used, "%s\"%s\"", i ? "," : "", M48);
    snprintf(s + used, cap - used, "]}}}");
    char err[256];
    struct policy *p = parse(s, NULL, err, sizeof err);
    assert_null(p);
    assert_non_null(strstr(err, "too many values"));
    free(s);

    size_t big = 1024 * 1024 + 2;
    s = malloc(big + 1);
    memset(s, ' ', big);
    s[big] = '\0';
    p = policy_parse(s, big, NULL, err, sizeof err);
    assert_null(p);
    assert_non_null(strstr(err, "larger than 1 MiB"));
    free(s);
}

static void test_policy_minimal_sim_policy_has_strict_defaults(void **state)
{
    (void)state;
    char err[256];
    struct policy *p =
        parse("{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[\"" M48 "\"]}}}", NULL,
              err, sizeof err);
    assert_non_null(p);
    assert_int_equal(p->n_tees, 1);
    assert_string_equal(p->tees[0].name, "sim");
    assert_null(p->tees[0].anchors);
    assert_int_equal(p->tees[0].n_measurements, 1);
    assert_int_equal(p->tees[0].measurements[0].len, 48);
    assert_false(p->tees[0].has_min_tcb);
    assert_false(p->has_platform_ids);
    assert_false(p->allow_debug);
    assert_int_equal(p->max_evidence_age, 300);
    assert_non_null(policy_find_tee(p, "sim"));
    assert_null(policy_find_tee(p, "snp"));
    policy_free(p);
}

static void test_policy_full_policy_with_inline_pem_anchor_parses(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:i, s:{s:{s:[s], s:[s,s], s:i}}, s:[s,s], s:b, s:i}",
                          "tether_policy", 1, "accept", "sim", "trust_anchors", g_root_pem,
                          "measurements", M48, M48B, "min_tcb", 7, "platform_ids", P16, "AABB",
                          "allow_debug", 1, "max_evidence_age_seconds", 0);
    char *s = json_dumps(o, 0);
    char err[256];
    struct policy *p = parse(s, NULL, err, sizeof err);
    assert_non_null(p);
    assert_non_null(p->tees[0].anchors);
    assert_int_equal(p->tees[0].n_anchors, 1);
    assert_int_equal(p->tees[0].n_measurements, 2);
    assert_true(p->tees[0].has_min_tcb);
    assert_int_equal(p->tees[0].min_tcb, 7);
    assert_true(p->has_platform_ids);
    assert_int_equal(p->n_platform_ids, 2);
    assert_int_equal(p->platform_ids[1].len, 2);
    assert_true(p->allow_debug);
    assert_int_equal(p->max_evidence_age, 0);
    policy_free(p);
    free(s);
    json_decref(o);
}

/* Every accept.snp feature key parses with its documented type (docs/policy.md). */
static void test_policy_snp_feature_keys_parse(void **state)
{
    (void)state;
    static const char *const good[] = {
        "\"min_abi\":\"1.55\"", "\"min_abi\":\"0.0\"", "\"min_abi\":\"255.255\"",
        "\"allow_cxl\":true", "\"require_aes_256_xts\":true", "\"require_rapl_disabled\":false",
        "\"require_ciphertext_hiding\":true", "\"require_page_swap_disabled\":true",
        "\"allow_smt_enabled\":false", "\"require_tsme\":true", "\"require_ecc_memory\":true",
        "\"require_rapl_disabled_platform\":true", "\"require_ciphertext_hiding_platform\":true",
        "\"require_alias_check_complete\":true",
        "\"min_abi\":\"1.51\",\"allow_cxl\":false,\"require_aes_256_xts\":true,"
        "\"require_rapl_disabled\":true,\"require_ciphertext_hiding\":true,"
        "\"require_page_swap_disabled\":true,\"allow_smt_enabled\":true,\"require_tsme\":true,"
        "\"require_ecc_memory\":true,\"require_rapl_disabled_platform\":true,"
        "\"require_ciphertext_hiding_platform\":true,\"require_alias_check_complete\":true",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char json[2048], err[512] = "";
        snprintf(json, sizeof json,
                 "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurements\":[\"" M48 "\"],%s}}}",
                 good[i]);
        struct policy *p = parse(json, NULL, err, sizeof err);
        if (!p)
            fail_msg("refused %s: %s", good[i], err);
        assert_non_null(policy_find_tee(p, "snp"));
        policy_free(p);
    }
}

static void test_policy_relative_anchor_path_resolves_against_base_dir(void **state)
{
    (void)state;
    const char *json = "{\"tether_policy\":1,\"accept\":{\"sim\":{\"trust_anchors\":[\"root.crt\"],"
                       "\"measurements\":[\"" M48 "\"]}}}";
    char err[512];
    struct policy *p = parse(json, g_dir, err, sizeof err);
    assert_non_null(p);
    assert_int_equal(p->tees[0].n_anchors, 1);
    policy_free(p);
    /* The generated policy.json names root.crt relatively and loads from its own folder. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/policy.json", g_dir);
    p = policy_load_file(path, err, sizeof err);
    assert_non_null(p);
    assert_string_equal(p->source, path);
    assert_non_null(p->tees[0].anchors);
    assert_true(p->has_platform_ids);
    policy_free(p);
    /* A relative name that does not exist in base_dir is an error, not "no anchor". */
    p = parse(json, "/nonexistent-tether-dir", err, sizeof err);
    assert_null(p);
    assert_non_null(strstr(err, "cannot open trust anchor"));
}

/* ---- appraisal ---- */

static struct policy *std_policy(const char *extra)
{
    char json[2048], err[256];
    snprintf(json, sizeof json,
             "{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[\"" M48B "\",\"" M48
             "\"],\"min_tcb\":5}}%s}",
             extra);
    struct policy *p = parse(json, NULL, err, sizeof err);
    if (!p)
        print_error("policy: %s\n", err);
    assert_non_null(p);
    return p;
}

static void good_claims(struct claims *c, time_t now)
{
    memset(c, 0, sizeof *c);
    snprintf(c->tee, sizeof c->tee, "sim");
    c->simulated = true;
    hex_decode(M48, c->measurement, sizeof c->measurement, &c->measurement_len);
    hex_decode(P16, c->platform_id, sizeof c->platform_id, &c->platform_id_len);
    c->tcb = 5;
    c->has_tcb = true;
    c->timestamp = (int64_t)now - 10;
    c->has_timestamp = true;
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

static const char *status_of(const struct tether_result *r, const char *name)
{
    json_t *c = check_named(r, name);
    return c ? json_string_value(json_object_get(c, "status")) : "absent";
}

static const char *field_of(const struct tether_result *r, const char *name, const char *field)
{
    json_t *c = check_named(r, name);
    return c ? json_string_value(json_object_get(c, field)) : NULL;
}

/* Appraise claims and return the result. */
static struct tether_result *appraise(const char *policy_extra, const struct claims *c,
                                      time_t now, int want_rc)
{
    struct policy *p = std_policy(policy_extra);
    struct tether_result *r = result_new();
    assert_non_null(r);
    assert_int_equal(policy_appraise(p, c, now, r), want_rc);
    policy_free(p);
    return r;
}

static void test_appraisal_of_good_claims_passes_every_check_in_order(void **state)
{
    (void)state;
    time_t now = time(NULL);
    struct claims c;
    good_claims(&c, now);
    struct tether_result *r = appraise(",\"platform_ids\":[\"" P16 "\"]", &c, now, 0);
    static const char *const order[] = {"policy.tee_type", "policy.measurement",
                                        "policy.platform_id", "policy.tcb", "policy.debug",
                                        "policy.evidence_age"};
    assert_int_equal(json_array_size(result_checks((struct tether_result *)r)), 6);
    for (size_t i = 0; i < 6; i++) {
        json_t *ck = json_array_get(result_checks((struct tether_result *)r), i);
        assert_string_equal(json_string_value(json_object_get(ck, "name")), order[i]);
        assert_string_equal(json_string_value(json_object_get(ck, "status")), "pass");
        assert_string_equal(json_string_value(json_object_get(ck, "code")), "ok");
        assert_non_null(json_string_value(json_object_get(ck, "expected")));
        assert_non_null(json_string_value(json_object_get(ck, "actual")));
    }
    assert_true(tether_result_passed(r));
    assert_null(tether_result_failed_code(r));
    assert_string_equal(field_of(r, "policy.measurement", "actual"), M48);
    assert_string_equal(field_of(r, "policy.tcb", "expected"), ">= 5");
    assert_string_equal(field_of(r, "policy.tcb", "actual"), "5");
    assert_string_equal(field_of(r, "policy.platform_id", "expected"), P16);
    tether_result_free(r);
}

static void test_appraisal_rejects_unaccepted_tee_type(void **state)
{
    (void)state;
    time_t now = time(NULL);
    struct claims c;
    good_claims(&c, now);
    snprintf(c.tee, sizeof c.tee, "snp");
    struct tether_result *r = appraise("", &c, now, -1);
    assert_string_equal(tether_result_failed_code(r), "tee_not_accepted");
    assert_string_equal(tether_result_failed_check(r), "policy.tee_type");
    assert_string_equal(field_of(r, "policy.tee_type", "actual"), "snp");
    assert_string_equal(field_of(r, "policy.tee_type", "expected"), "sim");
    assert_false(tether_result_passed(r));
    tether_result_free(r);
}

static void test_appraisal_rejects_measurement_not_in_allowlist(void **state)
{
    (void)state;
    time_t now = time(NULL);
    struct claims c;
    good_claims(&c, now);
    c.measurement[47] ^= 1;
    struct tether_result *r = appraise("", &c, now, -1);
    assert_string_equal(tether_result_failed_code(r), "measurement_not_allowed");
    assert_string_equal(tether_result_failed_check(r), "policy.measurement");
    assert_non_null(strstr(field_of(r, "policy.measurement", "expected"), "one of: " M48B));
    /* The checks after the failure are reported as not reached. */
    assert_string_equal(status_of(r, "policy.debug"), "skip");
    assert_string_equal(field_of(r, "policy.debug", "detail"), "not reached");
    tether_result_free(r);
}

static void test_appraisal_without_platform_allowlist_skips_and_says_diversion_undetected(
    void **state)
{
    (void)state;
    time_t now = time(NULL);
    struct claims c;
    good_claims(&c, now);
    struct tether_result *r = appraise("", &c, now, 0);
    assert_string_equal(status_of(r, "policy.platform_id"), "skip");
    assert_non_null(strstr(field_of(r, "policy.platform_id", "detail"), "diversion"));
    assert_string_equal(field_of(r, "policy.platform_id", "actual"), P16);
    assert_true(tether_result_passed(r)); /* a skip does not fail the verdict */
    tether_result_free(r);
}

static void test_appraisal_rejects_platform_not_in_allowlist(void **state)
{
    (void)state;
    time_t now = time(NULL);
    struct claims c;
    good_claims(&c, now);
    struct tether_result *r = appraise(",\"platform_ids\":[\"" P16B "\"]", &c, now, -1);
    assert_string_equal(tether_result_failed_code(r), "platform_not_allowed");
    assert_string_equal(field_of(r, "policy.platform_id", "expected"), P16B);
    assert_string_equal(field_of(r, "policy.platform_id", "actual"), P16);
    tether_result_free(r);
    /* Same bytes, different length: not a match. */
    c.platform_id_len = 8;
    r = appraise(",\"platform_ids\":[\"" P16 "\"]", &c, now, -1);
    assert_string_equal(tether_result_failed_code(r), "platform_not_allowed");
    tether_result_free(r);
}

static void test_appraisal_rejects_low_tcb_and_skips_without_minimum(void **state)
{
    (void)state;
    time_t now = time(NULL);
    struct claims c;
    good_claims(&c, now);
    c.tcb = 4;
    struct tether_result *r = appraise("", &c, now, -1);
    assert_string_equal(tether_result_failed_code(r), "tcb_too_low");
    assert_string_equal(field_of(r, "policy.tcb", "expected"), ">= 5");
    assert_string_equal(field_of(r, "policy.tcb", "actual"), "4");
    tether_result_free(r);

    char err[256];
    struct policy *p = parse("{\"tether_policy\":1,\"accept\":{\"sim\":{\"measurements\":[\"" M48
                             "\"]}}}",
                             NULL, err, sizeof err);
    r = result_new();
    assert_int_equal(policy_appraise(p, &c, now, r), 0);
    assert_string_equal(status_of(r, "policy.tcb"), "skip");
    policy_free(p);
    tether_result_free(r);
}

static void test_appraisal_rejects_debug_unless_allowed(void **state)
{
    (void)state;
    time_t now = time(NULL);
    struct claims c;
    good_claims(&c, now);
    c.debug = true;
    struct tether_result *r = appraise("", &c, now, -1);
    assert_string_equal(tether_result_failed_code(r), "debug_not_allowed");
    assert_string_equal(field_of(r, "policy.debug", "actual"), "true");
    assert_string_equal(field_of(r, "policy.debug", "expected"), "false");
    tether_result_free(r);
    r = appraise(",\"allow_debug\":true", &c, now, 0);
    assert_string_equal(status_of(r, "policy.debug"), "pass");
    tether_result_free(r);
}

static void test_appraisal_rejects_old_and_future_evidence_by_signed_timestamp(void **state)
{
    (void)state;
    time_t now = time(NULL);
    struct claims c;
    good_claims(&c, now);

    c.timestamp = (int64_t)now - 301;
    struct tether_result *r = appraise("", &c, now, -1);
    assert_string_equal(tether_result_failed_code(r), "evidence_too_old");
    assert_non_null(strstr(field_of(r, "policy.evidence_age", "actual"), "age 301 s"));
    assert_non_null(strstr(field_of(r, "policy.evidence_age", "expected"), "age <= 300 s"));
    tether_result_free(r);

    c.timestamp = (int64_t)now - 300;
    r = appraise("", &c, now, 0);
    tether_result_free(r);

    c.timestamp = (int64_t)now - 100;
    r = appraise(",\"max_evidence_age_seconds\":60", &c, now, -1);
    assert_string_equal(tether_result_failed_code(r), "evidence_too_old");
    tether_result_free(r);

    c.timestamp = (int64_t)now - 86400 * 365;
    r = appraise(",\"max_evidence_age_seconds\":0", &c, now, 0); /* 0 = no limit */
    tether_result_free(r);

    c.timestamp = (int64_t)now + 61;
    r = appraise("", &c, now, -1);
    assert_string_equal(tether_result_failed_code(r), "evidence_from_future");
    tether_result_free(r);

    c.timestamp = (int64_t)now + 60; /* within the clock-skew tolerance */
    r = appraise("", &c, now, 0);
    tether_result_free(r);

    c.timestamp = INT64_MAX; /* extreme values: no overflow, no crash */
    r = appraise("", &c, now, -1);
    assert_string_equal(tether_result_failed_code(r), "evidence_from_future");
    tether_result_free(r);
    c.timestamp = INT64_MIN;
    r = appraise("", &c, now, -1);
    assert_string_equal(tether_result_failed_code(r), "evidence_too_old");
    tether_result_free(r);

    c.has_timestamp = false;
    r = appraise("", &c, now, 0);
    assert_string_equal(status_of(r, "policy.evidence_age"), "skip");
    tether_result_free(r);
}

static void test_appraisal_fails_closed_on_a_tee_entry_without_measurements(void **state)
{
    (void)state;
    time_t now = time(NULL);
    struct claims c;
    good_claims(&c, now);
    struct policy *p = std_policy("");
    p->tees[0].n_measurements = 0; /* as a programmatic caller might build it */
    struct tether_result *r = result_new();
    assert_int_equal(policy_appraise(p, &c, now, r), -1);
    assert_string_equal(tether_result_failed_code(r), "measurement_not_allowed");
    policy_free(p);
    tether_result_free(r);
}

/* ---- results ---- */

static void test_result_verdict_needs_a_pass_and_no_failure(void **state)
{
    (void)state;
    struct tether_result *r = result_new();
    assert_false(tether_result_passed(r));
    assert_string_equal(tether_result_failed_code(r), "no_check_passed");
    assert_null(tether_result_failed_check(r));
    result_check(r, "a", CHECK_SKIP, NULL, NULL, NULL, "skipped");
    assert_false(tether_result_passed(r)); /* skips alone never pass */
    result_check(r, "b", CHECK_PASS, "ignored", "x", "x", NULL);
    assert_true(tether_result_passed(r));
    json_t *j = json_loads(tether_result_json(r), 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "pass");
    json_t *b = json_array_get(json_object_get(j, "checks"), 1);
    assert_string_equal(json_string_value(json_object_get(b, "code")), "ok");
    assert_true(json_is_null(json_object_get(b, "detail")));
    json_t *a = json_array_get(json_object_get(j, "checks"), 0);
    assert_true(json_is_null(json_object_get(a, "code")));
    assert_true(json_is_null(json_object_get(j, "tee")));
    json_decref(j);

    result_check(r, "c", CHECK_FAIL, "boom", "1", "2", "failed here");
    result_check(r, "d", CHECK_PASS, NULL, "1", "1", NULL);
    result_check(r, "e", CHECK_FAIL, "later", NULL, NULL, NULL);
    assert_false(tether_result_passed(r));
    assert_string_equal(tether_result_failed_code(r), "boom");
    assert_string_equal(tether_result_failed_check(r), "c");
    j = json_loads(tether_result_json(r), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "fail");
    json_t *d = json_array_get(json_object_get(j, "checks"), 3);
    assert_string_equal(json_string_value(json_object_get(d, "status")), "skip");
    assert_string_equal(json_string_value(json_object_get(d, "detail")), "not reached");
    json_t *e = json_array_get(json_object_get(j, "checks"), 4);
    assert_string_equal(json_string_value(json_object_get(e, "status")), "skip");
    json_decref(j);

    json_t *claims = json_pack("{s:s}", "measurement", "aa");
    result_set_claims(r, "sim", true, claims);
    json_decref(claims);
    j = json_loads(tether_result_json(r), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "tee")), "sim");
    assert_true(json_is_true(json_object_get(j, "simulated")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "claims"), "measurement")), "aa");
    json_decref(j);
    tether_result_free(r);
    tether_result_free(NULL);
    assert_int_equal(tether_result_passed(NULL), 0);
    assert_null(tether_result_json(NULL));
}

/* An unknown key names itself, the likely intended key when one is close, and the allowed
 * keys (or, for the long accept.snp list, where they are documented). */
static void test_unknown_key_suggests_the_nearest(void **state)
{
    (void)state;
    char err[512] = "";
    const char *typo = "{\"tether_policy\":1,\"accept\":{\"snp\":{\"measurments\":[]}}}";
    assert_null(policy_parse(typo, strlen(typo), NULL, err, sizeof err));
    assert_non_null(strstr(err, "unknown key \"measurments\""));
    assert_non_null(strstr(err, "did you mean \"measurements\"?"));
    assert_non_null(strstr(err, "docs/policy.md"));
    const char *far = "{\"tether_policy\":1,\"accept\":{\"sim\":{\"zzzzzzzzz\":[]}}}";
    assert_null(policy_parse(far, strlen(far), NULL, err, sizeof err));
    assert_non_null(strstr(err, "unknown key \"zzzzzzzzz\""));
    assert_null(strstr(err, "did you mean"));
    assert_non_null(strstr(err, "\"trust_anchors\", \"measurements\", \"min_tcb\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_rejects_each_malformed_policy_with_a_clear_message),
        cmocka_unit_test(test_policy_rejects_too_many_values_and_oversized_text),
        cmocka_unit_test(test_policy_minimal_sim_policy_has_strict_defaults),
        cmocka_unit_test(test_policy_full_policy_with_inline_pem_anchor_parses),
        cmocka_unit_test(test_policy_snp_feature_keys_parse),
        cmocka_unit_test(test_policy_relative_anchor_path_resolves_against_base_dir),
        cmocka_unit_test(test_appraisal_of_good_claims_passes_every_check_in_order),
        cmocka_unit_test(test_appraisal_rejects_unaccepted_tee_type),
        cmocka_unit_test(test_appraisal_rejects_measurement_not_in_allowlist),
        cmocka_unit_test(test_appraisal_without_platform_allowlist_skips_and_says_diversion_undetected),
        cmocka_unit_test(test_appraisal_rejects_platform_not_in_allowlist),
        cmocka_unit_test(test_appraisal_rejects_low_tcb_and_skips_without_minimum),
        cmocka_unit_test(test_appraisal_rejects_debug_unless_allowed),
        cmocka_unit_test(test_appraisal_rejects_old_and_future_evidence_by_signed_timestamp),
        cmocka_unit_test(test_appraisal_fails_closed_on_a_tee_entry_without_measurements),
        cmocka_unit_test(test_result_verdict_needs_a_pass_and_no_failure),
        cmocka_unit_test(test_unknown_key_suggests_the_nearest),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
