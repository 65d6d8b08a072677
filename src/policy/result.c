/*
 * result.c - the appraisal result: an ordered list of checks, the claims, and the verdict
 * rule (result.h), serialised as the JSON report of docs/policy.md. Also the public
 * tether_result_* accessors.
 *
 * Must never turn a failure into a pass: the verdict is computed from the recorded checks
 * only (at least one pass, no failure), never from the cached JSON, and an allocation failure
 * while recording can only make the verdict stricter. Once a check has failed, every later
 * check is recorded as "skip" ("not reached"), whatever its caller claimed.
 */
#include "tether.h"

#include "policy/result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static void result_rebuild(struct tether_result *r);

struct tether_result *result_new(void)
{
    struct tether_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->claims = json_object();
    if (!r->claims) {
        free(r);
        return NULL;
    }
    return r;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static const char *status_name(enum check_status s)
{
    switch (s) {
    case CHECK_PASS:
        return "pass";
    case CHECK_FAIL:
        return "fail";
    default:
        return "skip";
    }
}

void result_check(struct tether_result *r, const char *name, enum check_status status,
                  const char *code, const char *expected, const char *actual,
                  const char *detail)
{
    if (!r)
        return;
    if (!name)
        name = "unnamed";
    if (r->failed) {
        /* The pipeline stops at the first failure: nothing after it counts either way. */
        status = CHECK_SKIP;
        code = NULL;
        actual = NULL;
        detail = "not reached";
    }
    if (status == CHECK_PASS)
        code = "ok";
    else if (status == CHECK_SKIP)
        code = NULL; /* a skip has no code: it neither passed nor failed */
    if (status == CHECK_FAIL) {
        if (!code)
            code = "check_failed";
        r->failed = true;
        snprintf(r->failed_code, sizeof r->failed_code, "%s", code);
        snprintf(r->failed_check, sizeof r->failed_check, "%s", name);
    } else if (status == CHECK_PASS) {
        r->n_pass++;
    }
    /* One allocation holds the record and its strings. An allocation failure after a
     * failure was noted above can only make the verdict stricter (it is already "fail"); a
     * lost "pass" record lowers n_pass only in the count, never turns a fail into a pass. */
    const char *src[5] = {name, code, expected, actual, detail};
    size_t len[5], total = 0;
    for (int i = 0; i < 5; i++) {
        len[i] = src[i] ? strlen(src[i]) + 1 : 0;
        total += len[i];
    }
    if (r->n_recs == r->cap_recs) {
        size_t cap = r->cap_recs ? 2 * r->cap_recs : 32;
        struct result_rec **n = realloc(r->recs, cap * sizeof *n);
        if (!n)
            goto out;
        r->recs = n;
        r->cap_recs = cap;
    }
    struct result_rec *rec = malloc(sizeof *rec + total);
    if (!rec)
        goto out;
    rec->status = status;
    const char **dst[5] = {&rec->name, &rec->code, &rec->expected, &rec->actual, &rec->detail};
    char *p = rec->buf;
    for (int i = 0; i < 5; i++) {
        if (!src[i]) {
            *dst[i] = NULL;
            continue;
        }
        memcpy(p, src[i], len[i]);
        *dst[i] = p;
        p += len[i];
    }
    r->recs[r->n_recs++] = rec;
out:
    json_decref(r->checks);
    r->checks = NULL;
    free(r->json);
    r->json = NULL;
}

int result_fail(struct tether_result *r, const char *name, const char *code,
                const char *expected, const char *actual, const char *detail)
{
    result_check(r, name, CHECK_FAIL, code, expected, actual, detail);
    return -1;
}

void result_check_hex(struct tether_result *r, const char *name, enum check_status status,
                      const char *code, const uint8_t *expected, size_t expected_len,
                      const uint8_t *actual, size_t actual_len, const char *detail)
{
    char *e = expected ? hex_dup(expected, expected_len) : NULL;
    char *a = actual ? hex_dup(actual, actual_len) : NULL;
    result_check(r, name, status, code, e, a, detail);
    free(e);
    free(a);
}

bool result_passed(const struct tether_result *r)
{
    return r && !r->failed && r->n_pass > 0;
}

void result_set_claims(struct tether_result *r, const char *tee, bool simulated, json_t *claims)
{
    if (!r)
        return;
    snprintf(r->tee, sizeof r->tee, "%s", tee ? tee : "");
    r->simulated = simulated;
    if (claims && json_is_object(claims)) {
        json_decref(r->claims);
        r->claims = json_incref(claims);
    }
    free(r->json);
    r->json = NULL;
}

/* Serialised lazily: recording a check only drops the cache (a connection records about
 * twenty), and a connection whose caller never asks for the report never pays for it. The
 * const accessor below fills the cache on its first call (docs: not concurrently with itself
 * on one result). */
json_t *result_checks(struct tether_result *r)
{
    if (!r)
        return NULL;
    if (r->checks)
        return r->checks;
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->n_recs; i++) {
        const struct result_rec *c = r->recs[i];
        json_t *o = json_object();
        if (!o)
            continue;
        /* name, status and code are the library's own ASCII identifiers: no UTF-8 scan. */
        json_object_set_new_nocheck(o, "name", json_string(c->name));
        json_object_set_new_nocheck(o, "status", json_string_nocheck(status_name(c->status)));
        json_object_set_new_nocheck(o, "code", str_or_null(c->code));
        json_object_set_new_nocheck(o, "expected", str_or_null(c->expected));
        json_object_set_new_nocheck(o, "actual", str_or_null(c->actual));
        json_object_set_new_nocheck(o, "detail", str_or_null(c->detail));
        json_array_append_new(a, o);
    }
    r->checks = a;
    return a;
}

static void result_rebuild(struct tether_result *r)
{
    free(r->json);
    r->json = NULL;
    json_t *o = json_object();
    if (!o)
        return;
    json_object_set_new(o, "verdict", json_string(result_passed(r) ? "pass" : "fail"));
    json_object_set_new(o, "tee", r->tee[0] ? json_string(r->tee) : json_null());
    json_object_set_new(o, "simulated", json_boolean(r->simulated));
    json_object_set(o, "claims", r->claims);
    json_t *checks = result_checks(r);
    if (checks)
        json_object_set(o, "checks", checks);
    else
        json_object_set_new(o, "checks", json_array());
    r->json = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(o);
}

const char *result_json(struct tether_result *r)
{
    if (!r)
        return NULL;
    if (!r->json)
        result_rebuild(r);
    return tether_result_json(r);
}

/* ---- public accessors ---- */

TETHER_API int tether_result_passed(const struct tether_result *result)
{
    return result_passed(result) ? 1 : 0;
}

TETHER_API const char *tether_result_json(const struct tether_result *result)
{
    if (!result)
        return NULL;
    if (!result->json) /* first call: serialise (a cache; the result itself never changes) */
        result_rebuild((struct tether_result *)result);
    if (result->json)
        return result->json;
    /* Serialisation failed for lack of memory: still a valid report, never a false pass. */
    return result_passed(result) ? "{\"verdict\":\"pass\",\"error\":\"report unavailable\"}"
                                 : "{\"verdict\":\"fail\",\"error\":\"report unavailable\"}";
}

TETHER_API const char *tether_result_failed_code(const struct tether_result *result)
{
    if (!result || result_passed(result))
        return NULL;
    if (!result->failed)
        return "no_check_passed";
    return result->failed_code;
}

TETHER_API const char *tether_result_failed_check(const struct tether_result *result)
{
    if (!result || !result->failed)
        return NULL;
    return result->failed_check;
}

TETHER_API void tether_result_free(struct tether_result *result)
{
    if (!result)
        return;
    for (size_t i = 0; i < result->n_recs; i++)
        free(result->recs[i]);
    free(result->recs);
    json_decref(result->checks);
    json_decref(result->claims);
    free(result->json);
    free(result);
}
