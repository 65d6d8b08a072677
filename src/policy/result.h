/*
 * result.h - the appraisal result shared by every TEE type: a verdict, the claims and an
 * ordered list of checks, each with a stable code and expected/actual values. Serialised as
 * the JSON report documented in docs/policy.md; exposed publicly as struct tether_result.
 *
 * Rule: the verdict is "pass" only if at least one check passed and no check failed. Checks
 * after the first failure are recorded as "skip".
 */
#ifndef TETHER_POLICY_RESULT_H
#define TETHER_POLICY_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum check_status { CHECK_PASS, CHECK_FAIL, CHECK_SKIP };

/* One recorded check: the strings live in the same allocation (buf). */
struct result_rec {
    enum check_status status;
    const char *name, *code, *expected, *actual, *detail; /* code..detail may be NULL */
    char buf[];
};

struct tether_result {
    struct result_rec **recs; /* the checks, in order (a check is one allocation: recording
                                 is cheap; JSON is built only when asked for) */
    size_t n_recs, cap_recs;
    json_t *checks;          /* cache: the checks as a JSON array, built by result_checks */
    json_t *claims;          /* object */
    char tee[16];            /* "sim", "snp", ... or "" if unknown */
    bool simulated;
    bool failed;             /* a check failed */
    int n_pass;
    char failed_code[64];
    char failed_check[64];
    char *json;              /* cached serialisation, rebuilt after every change */
};

struct tether_result *result_new(void);
/* Record a check. expected/actual/detail may be NULL. After a failure has been recorded,
 * further CHECK_PASS records are downgraded to CHECK_SKIP with detail "not reached". */
void result_check(struct tether_result *r, const char *name, enum check_status status,
                  const char *code, const char *expected, const char *actual,
                  const char *detail);
/* A CHECK_FAIL record; returns -1, so that a check can end with "return result_fail(...)". */
int result_fail(struct tether_result *r, const char *name, const char *code,
                const char *expected, const char *actual, const char *detail);
/* Convenience for hex values. */
void result_check_hex(struct tether_result *r, const char *name, enum check_status status,
                      const char *code, const uint8_t *expected, size_t expected_len,
                      const uint8_t *actual, size_t actual_len, const char *detail);
bool result_passed(const struct tether_result *r);
/* Claims: set once the evidence is parsed. The object is copied (reference taken). */
void result_set_claims(struct tether_result *r, const char *tee, bool simulated, json_t *claims);
const char *result_json(struct tether_result *r); /* (re)serialise, cached */
/* The checks as a JSON array of {name, status, code, expected, actual, detail} (borrowed,
 * cached until the next check is recorded). */
json_t *result_checks(struct tether_result *r);

#endif
