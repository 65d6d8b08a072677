/*
 * verify.c - the appraisal pipeline (verify.h): container, evidence type, authenticity,
 * binding, policy; in that order, stopping at the first failure.
 *
 * Must never: compare the binding against anything but the hardware-signed report_data the
 * backend extracted (the binder fields of a cmw_attestation payload are informational and
 * ignored here); accept an empty, short or all-zero expected report_data; compare secrets
 * with memcmp; appraise the policy before authenticity and binding have passed.
 */
#include "verify/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding/binder.h"
#include "ea/ea.h"
#include "util/util.h"

static void known_types(char *buf, size_t n)
{
    buf[0] = '\0';
    for (size_t i = 0; evidence_backends[i]; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, n - used, "%s%s", i ? ", " : "", evidence_backends[i]->name);
    }
}

static void accepted_types(const struct policy *p, char *buf, size_t n)
{
    buf[0] = '\0';
    for (size_t i = 0; i < p->n_tees; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, n - used, "%s%s", i ? ", " : "", p->tees[i].name);
    }
}

static const struct evidence_backend *backend_by_media_type(const char *mt)
{
    if (!mt || !mt[0])
        return NULL;
    for (size_t i = 0; evidence_backends[i]; i++)
        if (strcmp(evidence_backends[i]->media_type, mt) == 0)
            return evidence_backends[i];
    return NULL;
}

/* Step 1: which backend, and does the policy accept that type at all. */
static const struct evidence_backend *pick_backend(const struct policy *policy,
                                                   const struct verify_input *in,
                                                   const uint8_t *ev, size_t ev_len,
                                                   const char *media_type,
                                                   struct tether_result *r)
{
    const char *name = "evidence.type";
    char known[128], accepted[128];
    known_types(known, sizeof known);
    const struct evidence_backend *be = NULL;
    if (in->type) {
        be = evidence_backend_find(in->type);
        if (!be) {
            char detail[256];
            snprintf(detail, sizeof detail, "unknown evidence type \"%.64s\" (known: %s)",
                     in->type, known);
            result_check(r, name, CHECK_FAIL, "evidence_unrecognised", known, in->type, detail);
            return NULL;
        }
    } else {
        be = backend_by_media_type(media_type);
        if (!be)
            be = evidence_backend_recognise(ev, ev_len);
        if (!be) {
            char detail[256];
            snprintf(detail, sizeof detail, "not a recognised evidence format (known: %s)", known);
            result_check(r, name, CHECK_FAIL, "evidence_unrecognised", known, NULL, detail);
            return NULL;
        }
    }
    if (policy) {
        accepted_types(policy, accepted, sizeof accepted);
        if (!policy_find_tee(policy, be->name)) {
            result_check(r, name, CHECK_FAIL, "tee_not_accepted", accepted, be->name,
                         "the policy does not accept this TEE type");
            return NULL;
        }
        result_check(r, name, CHECK_PASS, NULL, accepted, be->name, NULL);
    } else {
        result_check(r, name, CHECK_PASS, NULL, known, be->name, NULL);
    }
    return be;
}

/* Step 3a: the hardware-signed report_data against the locally computed expected value. */
static int check_report_data(const struct verify_input *in, const struct claims *c,
                             struct tether_result *r)
{
    const char *name = "binding.report_data";
    const uint8_t *exp = in->expected_report_data;
    size_t exp_len = in->expected_report_data_len;
    if (!exp) {
        if (in->binding_required) {
            result_check_hex(r, name, CHECK_FAIL, "binder_expected_empty", NULL, 0,
                             c->has_report_data ? c->report_data : NULL, sizeof c->report_data,
                             "no expected report_data although binding is required: failing "
                             "closed");
            return -1;
        }
        result_check(r, name, CHECK_SKIP, NULL, NULL, NULL,
                     "no binder given: evidence freshness and channel binding not checked");
        return 0;
    }
    if (exp_len != BINDER_REPORT_DATA_LEN || ct_is_zero(exp, exp_len)) {
        char detail[160];
        snprintf(detail, sizeof detail,
                 "the expected report_data is %s: failing closed",
                 exp_len != BINDER_REPORT_DATA_LEN ? "not 64 bytes long" : "all zero");
        result_check_hex(r, name, CHECK_FAIL, "binder_expected_empty", exp,
                         exp_len > 64 ? 64 : exp_len, NULL, 0, detail);
        return -1;
    }
    if (!c->has_report_data) {
        result_check_hex(r, name, CHECK_FAIL, "binder_mismatch", exp, exp_len, NULL, 0,
                         "the evidence carries no signed report_data");
        return -1;
    }
    if (!ct_equal(c->report_data, exp, BINDER_REPORT_DATA_LEN)) {
        result_check_hex(r, name, CHECK_FAIL, "binder_mismatch", exp, exp_len, c->report_data,
                         sizeof c->report_data,
                         "the hardware-signed report_data does not commit to this connection's "
                         "binder (relayed, replayed or stale evidence)");
        return -1;
    }
    result_check_hex(r, name, CHECK_PASS, NULL, exp, exp_len, c->report_data,
                     sizeof c->report_data, NULL);
    return 0;
}

/* Step 3b: the signed attester key hash, where the type has one. */
static int check_key_hash(const struct verify_input *in, const struct claims *c,
                          struct tether_result *r)
{
    const char *name = "binding.key_hash";
    if (!in->expected_key_hash) {
        result_check(r, name, CHECK_SKIP, NULL, NULL, NULL, "no expected key hash given");
        return 0;
    }
    if (c->key_hash_len == 0) {
        result_check_hex(r, name, CHECK_SKIP, NULL, in->expected_key_hash,
                         in->expected_key_hash_len > 64 ? 64 : in->expected_key_hash_len, NULL, 0,
                         "this evidence type carries no key hash");
        return 0;
    }
    size_t elen = in->expected_key_hash_len;
    bool ok = elen == c->key_hash_len && ct_equal(c->key_hash, in->expected_key_hash, elen);
    if (!ok) {
        result_check_hex(r, name, CHECK_FAIL, "key_hash_mismatch", in->expected_key_hash,
                         elen > 64 ? 64 : elen, c->key_hash, c->key_hash_len,
                         "the key hash signed in the evidence is not the hash of the "
                         "authenticator's key");
        return -1;
    }
    result_check_hex(r, name, CHECK_PASS, NULL, in->expected_key_hash, elen, c->key_hash,
                     c->key_hash_len, NULL);
    return 0;
}

int verify_evidence(const struct policy *policy, const struct verify_input *in,
                    struct tether_result *r)
{
    if (!r)
        return -1;
    if (!in || !in->evidence || in->evidence_len == 0) {
        result_check(r, "evidence.format", CHECK_FAIL, "evidence_malformed", NULL, NULL,
                     "no evidence given");
        return -1;
    }
    time_t at = in->at ? in->at : time(NULL);
    const uint8_t *ev = in->evidence;
    size_t ev_len = in->evidence_len;

    /* Step 0: a cmw_attestation payload carries the evidence; only its bytes are used. */
    struct ea_payload payload;
    memset(&payload, 0, sizeof payload);
    bool have_payload = false;
    if (ev[0] == '{' && !in->no_container) {
        const char *why = NULL;
        if (ea_payload_parse(ev, ev_len, &payload, &why) != 0) {
            result_check(r, "evidence.container", CHECK_FAIL, "evidence_malformed",
                         "cmw_attestation payload", NULL, why ? why : "malformed payload");
            ea_payload_clear(&payload);
            return -1;
        }
        have_payload = true;
        if (!payload.evidence || payload.evidence_len == 0) {
            result_check(r, "evidence.container", CHECK_FAIL, "evidence_malformed",
                         "cmw_attestation payload", NULL, "the payload carries no evidence");
            ea_payload_clear(&payload);
            return -1;
        }
        result_check(r, "evidence.container", CHECK_PASS, NULL, "cmw_attestation payload",
                     payload.media_type[0] ? payload.media_type : NULL,
                     "cmw_attestation payload");
        ev = payload.evidence;
        ev_len = payload.evidence_len;
    }

    struct claims claims;
    memset(&claims, 0, sizeof claims);
    int rc = -1;

    /* Step 1: type. */
    const struct evidence_backend *be =
        pick_backend(policy, in, ev, ev_len, have_payload ? payload.media_type : NULL, r);
    if (!be)
        goto out;

    /* Step 2: authenticity, with the anchors the policy names for this type. */
    const struct policy_tee *pt = policy ? policy_find_tee(policy, be->name) : NULL;
    struct evidence_anchors anchors = {.store = pt ? pt->anchors : NULL, .origin = "policy",
                                       .cache = pt ? pt->cache : NULL,
                                       .collateral_set = pt ? pt->collateral : NULL,
                                       .pinned_keys = pt ? (const uint8_t(*)[32])pt->pinned_keys
                                                         : NULL,
                                       .n_pinned_keys = pt ? pt->n_pinned_keys : 0};
    int vrc = be->verify(ev, ev_len, &anchors, at, in->collateral, &claims, r);
    if (claims.tee[0]) {
        json_t *cj = claims_to_json(&claims);
        result_set_claims(r, claims.tee, claims.simulated, cj);
        json_decref(cj);
    }
    if (vrc != 0 || r->failed) {
        if (!r->failed) /* a backend that failed without saying why */
            result_check(r, "evidence.authenticity", CHECK_FAIL, "evidence_malformed", NULL, NULL,
                         "the evidence backend rejected the evidence");
        goto out;
    }

    /* Step 3: binding. */
    if (check_report_data(in, &claims, r) != 0)
        goto out;
    if (check_key_hash(in, &claims, r) != 0)
        goto out;

    /* Step 4: appraisal. */
    if (!policy)
        result_check(r, "policy", CHECK_SKIP, NULL, NULL, NULL,
                     "no policy given: appraisal not performed");
    else if (policy_appraise(policy, &claims, at, r) != 0)
        goto out;

    rc = result_passed(r) ? 0 : -1;
out:
    claims_clear(&claims);
    if (have_payload)
        ea_payload_clear(&payload);
    return rc;
}
