/*
 * verify.h - the appraisal pipeline used both by connections and by offline verification,
 * in the order that fails closed:
 *   1. recognise the evidence type (or take the forced one) and check the policy accepts it;
 *   2. authenticity: the backend verifies the signature chain to a trust anchor;
 *   3. binding: the hardware-signed report_data equals the expected value (constant time;
 *      an empty or all-zero expected value is itself a failure), and the signed key hash, where
 *      the type has one, equals the expected attester key hash;
 *   4. policy appraisal.
 * Every step records checks in the result; the first failure stops the pipeline.
 */
#ifndef TETHER_VERIFY_H
#define TETHER_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "evidence/evidence.h"
#include "policy/policy.h"
#include "policy/result.h"

struct verify_input {
    const uint8_t *evidence;
    size_t evidence_len;
    const char *type;                 /* forced type or NULL */
    const uint8_t *expected_report_data; /* NULL: binding check skipped (offline only) */
    size_t expected_report_data_len;  /* must be 64 when given */
    const uint8_t *expected_key_hash; /* NULL: key-hash check skipped */
    size_t expected_key_hash_len;
    bool binding_required;            /* connections: true; a NULL expected value then fails */
    bool no_container;                /* connections: the payload was already unwrapped, so
                                         evidence that looks like another payload is not opened */
    time_t at;
    const char *const *collateral;
};

/* Runs the pipeline; policy may be NULL (offline, no appraisal: policy checks are "skip").
 * Returns 0 if the verdict is pass. The result is filled either way. */
int verify_evidence(const struct policy *policy, const struct verify_input *in,
                    struct tether_result *r);

#endif
