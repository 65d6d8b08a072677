/*
 * policy_dcap.c - accept.tdx and accept.sgx (docs/tdx.md): which Intel TDX trust domains and
 * SGX enclaves a policy accepts, on which TCB statuses, and whether stale collateral may do.
 *
 * Strict like the rest of the policy: unknown keys, bad hex, unknown status names and empty
 * lists are errors. Defaults are the strict ones: TCB status UpToDate only, collateral must be
 * fresh (every nextUpdate after the time of verification), any advisory is acceptable only
 * when its status is. A TCB status of "no matching level" (TCBNotSupported) can never be
 * accepted: Intel does not know the platform's TCB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/dcap/dcap_verify.h"
#include "policy/policy_internal.h"
#include "util/util.h"

enum {
    /* TDX registers with allowlists (48 bytes) */
    L_RTMR0, L_RTMR1, L_RTMR2, L_RTMR3, L_MRSEAM, L_MRSIGNERSEAM, L_MRCONFIGID, L_MROWNER,
    L_MROWNERCONFIG,
    /* 8-byte values, as the 16 hex digits of the number */
    L_XFAM, L_TD_ATTRIBUTES,
    /* SGX */
    L_MRSIGNER,
    L_N
};

static const struct {
    const char *key;
    size_t len;
    bool tdx;
} lists[L_N] = {
    [L_RTMR0] = {"rtmr0", 48, true},           [L_RTMR1] = {"rtmr1", 48, true},
    [L_RTMR2] = {"rtmr2", 48, true},           [L_RTMR3] = {"rtmr3", 48, true},
    [L_MRSEAM] = {"mrseam", 48, true},         [L_MRSIGNERSEAM] = {"mrsignerseam", 48, true},
    [L_MRCONFIGID] = {"mrconfigid", 48, true}, [L_MROWNER] = {"mrowner", 48, true},
    [L_MROWNERCONFIG] = {"mrownerconfig", 48, true},
    [L_XFAM] = {"xfam", 8, true},              [L_TD_ATTRIBUTES] = {"td_attributes", 8, true},
    [L_MRSIGNER] = {"mrsigner", 32, false},
};

struct policy_dcap {
    bool tdx;
    struct policy_value *v[L_N];
    size_t n[L_N];
    bool has_isv_prod_id, has_min_isv_svn;
    uint64_t isv_prod_id, min_isv_svn;
    unsigned statuses; /* bit (1 << enum dcap_tcb_status) */
    char (*advisories)[DCAP_ADVISORY_LEN];
    size_t n_advisories;
    bool has_advisories;
    bool allow_stale;
};

void pol_dcap_free(struct policy_tee *tee)
{
    struct policy_dcap *d = tee->dcap;
    if (d) {
        for (int i = 0; i < L_N; i++)
            free(d->v[i]);
        free(d->advisories);
        free(d);
    }
    tee->dcap = NULL;
    dcap_collateral_set_free(tee->collateral);
    tee->collateral = NULL;
}

static int parse_strings(json_t *arr, const char *path, size_t maxlen, size_t *n_out, char *err,
                         size_t errlen)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > POLICY_MAX_VALUES) {
        pol_errf(err, errlen, "%s: must be a non-empty array of at most %d strings", path,
                 POLICY_MAX_VALUES);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *s = json_array_get(arr, i);
        if (!json_is_string(s) || json_string_length(s) == 0 ||
            json_string_length(s) >= maxlen) {
            pol_errf(err, errlen, "%s[%zu]: must be a non-empty string shorter than %zu", path, i,
                     maxlen);
            return -1;
        }
    }
    *n_out = json_array_size(arr);
    return 0;
}

static int parse_common(json_t *obj, const char *sec, const char *base_dir,
                        struct policy_tee *tee, struct policy_dcap *d, char *err, size_t errlen)
{
    char path[96];
    json_t *v;
    if ((v = json_object_get(obj, "trust_anchors")) != NULL) {
        snprintf(path, sizeof path, "%s.trust_anchors", sec);
        if (pol_parse_anchors(v, path, base_dir, tee, err, errlen) != 0)
            return -1;
    }
    if ((v = json_object_get(obj, "collateral")) != NULL) {
        snprintf(path, sizeof path, "%s.collateral", sec);
        size_t n;
        if (parse_strings(v, path, 1024, &n, err, errlen) != 0)
            return -1;
        const char **paths = calloc(n, sizeof *paths);
        if (!paths) {
            pol_errf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            paths[i] = json_string_value(json_array_get(v, i));
        char why[400];
        int rc = dcap_collateral_set_load(paths, n, base_dir, &tee->collateral, why, sizeof why);
        free(paths);
        if (rc != 0) {
            pol_errf(err, errlen, "%s: %s", path, why);
            return -1;
        }
    }
    d->statuses = 1u << DCAP_TCB_UP_TO_DATE;
    if ((v = json_object_get(obj, "tcb_statuses")) != NULL) {
        snprintf(path, sizeof path, "%s.tcb_statuses", sec);
        size_t n;
        if (parse_strings(v, path, 64, &n, err, errlen) != 0)
            return -1;
        d->statuses = 0;
        for (size_t i = 0; i < n; i++) {
            const char *s = json_string_value(json_array_get(v, i));
            enum dcap_tcb_status st = dcap_tcb_status_from_name(s);
            if (st == DCAP_TCB_UNKNOWN || st == DCAP_TCB_NOT_SUPPORTED) {
                pol_errf(err, errlen, "%s[%zu]: \"%.64s\" is not an acceptable TCB status "
                         "(UpToDate, SWHardeningNeeded, ConfigurationNeeded, "
                         "ConfigurationAndSWHardeningNeeded, OutOfDate, "
                         "OutOfDateConfigurationNeeded, TDRelaunchAdvised, "
                         "TDRelaunchAdvisedConfigurationNeeded; Revoked is allowed but unwise)",
                         path, i, s);
                return -1;
            }
            d->statuses |= 1u << st;
        }
    }
    if ((v = json_object_get(obj, "allowed_advisories")) != NULL) {
        snprintf(path, sizeof path, "%s.allowed_advisories", sec);
        size_t n;
        if (parse_strings(v, path, DCAP_ADVISORY_LEN, &n, err, errlen) != 0)
            return -1;
        d->advisories = calloc(n, sizeof *d->advisories);
        if (!d->advisories) {
            pol_errf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            snprintf(d->advisories[i], DCAP_ADVISORY_LEN, "%s",
                     json_string_value(json_array_get(v, i)));
        d->n_advisories = n;
        d->has_advisories = true;
    }
    if ((v = json_object_get(obj, "allow_stale_collateral")) != NULL) {
        snprintf(path, sizeof path, "%s.allow_stale_collateral", sec);
        if (pol_parse_bool(v, path, &d->allow_stale, err, errlen) != 0)
            return -1;
    }
    for (int i = 0; i < L_N; i++) {
        if (lists[i].tdx != d->tdx || !(v = json_object_get(obj, lists[i].key)))
            continue;
        snprintf(path, sizeof path, "%s.%s", sec, lists[i].key);
        if (pol_parse_hex_list(v, path, lists[i].len, &d->v[i], &d->n[i], err, errlen) != 0)
            return -1;
    }
    return 0;
}

static struct policy_dcap *new_dcap(struct policy_tee *tee, bool tdx, char *err, size_t errlen)
{
    struct policy_dcap *d = calloc(1, sizeof *d);
    if (!d)
        pol_errf(err, errlen, "out of memory");
    else
        d->tdx = tdx;
    tee->dcap = d;
    return d;
}

int pol_parse_tdx(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                  size_t errlen)
{
    static const char *const keys[] = {
        "trust_anchors", "collateral", "mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrseam",
        "mrsignerseam", "mrconfigid", "mrowner", "mrownerconfig", "xfam", "td_attributes",
        "tcb_statuses", "allowed_advisories", "allow_stale_collateral", NULL};
    if (pol_check_keys(obj, "accept.tdx", keys, err, errlen) != 0)
        return -1;
    struct policy_dcap *d = new_dcap(tee, true, err, errlen);
    if (!d)
        return -1;
    json_t *m = json_object_get(obj, "mrtd");
    if (!m) {
        pol_errf(err, errlen, "accept.tdx: \"mrtd\" is required (the allowed 48-byte MRTD "
                              "values, in hex)");
        return -1;
    }
    if (pol_parse_hex_list(m, "accept.tdx.mrtd", 48, &tee->measurements, &tee->n_measurements,
                           err, errlen) != 0)
        return -1;
    return parse_common(obj, "accept.tdx", base_dir, tee, d, err, errlen);
}

int pol_parse_sgx(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                  size_t errlen)
{
    static const char *const keys[] = {
        "trust_anchors", "collateral", "mrenclave", "mrsigner", "isv_prod_id", "min_isv_svn",
        "tcb_statuses", "allowed_advisories", "allow_stale_collateral", NULL};
    if (pol_check_keys(obj, "accept.sgx", keys, err, errlen) != 0)
        return -1;
    struct policy_dcap *d = new_dcap(tee, false, err, errlen);
    if (!d)
        return -1;
    json_t *m = json_object_get(obj, "mrenclave");
    if (m && pol_parse_hex_list(m, "accept.sgx.mrenclave", 32, &tee->measurements,
                                &tee->n_measurements, err, errlen) != 0)
        return -1;
    json_t *v;
    if ((v = json_object_get(obj, "isv_prod_id")) != NULL) {
        if (pol_parse_uint(v, "accept.sgx.isv_prod_id", 0xffff, &d->isv_prod_id, err, errlen))
            return -1;
        d->has_isv_prod_id = true;
    }
    if ((v = json_object_get(obj, "min_isv_svn")) != NULL) {
        if (pol_parse_uint(v, "accept.sgx.min_isv_svn", 0xffff, &d->min_isv_svn, err, errlen))
            return -1;
        d->has_min_isv_svn = true;
    }
    if (parse_common(obj, "accept.sgx", base_dir, tee, d, err, errlen) != 0)
        return -1;
    /* An enclave is named by MRENCLAVE, or by its signer and product (SGX SDK identity). */
    if (!m && !(d->n[L_MRSIGNER] && d->has_isv_prod_id)) {
        pol_errf(err, errlen, "accept.sgx: give \"mrenclave\", or \"mrsigner\" together with "
                              "\"isv_prod_id\"");
        return -1;
    }
    return 0;
}

/* ---- appraisal ---- */

static void u64_be(uint64_t v, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static int appraise_status(const struct policy_dcap *d, const struct dcap_claims *dc,
                           struct tether_result *r)
{
    char exp[400] = "";
    for (int s = DCAP_TCB_UP_TO_DATE; s <= DCAP_TCB_NOT_SUPPORTED; s++)
        if (d->statuses & (1u << s)) {
            size_t u = strlen(exp);
            snprintf(exp + u, sizeof exp - u, "%s%s", u ? ", " : "",
                     dcap_tcb_status_name((enum dcap_tcb_status)s));
        }
    const char *act = dcap_tcb_status_name(dc->tcb.status);
    if (!(d->statuses & (1u << dc->tcb.status))) {
        result_check(r, "policy.tcb_status", CHECK_FAIL, "dcap_tcb_status_not_allowed", exp, act,
                     dc->tcb.status == DCAP_TCB_NOT_SUPPORTED
                         ? "no TCB level of Intel's TCB Info matches this platform"
                         : "the platform's TCB status is not one the policy accepts "
                           "(accept.*.tcb_statuses)");
        return -1;
    }
    result_check(r, "policy.tcb_status", CHECK_PASS, NULL, exp, act, NULL);
    return 0;
}

static int appraise_advisories(const struct policy_dcap *d, const struct dcap_claims *dc,
                               struct tether_result *r)
{
    char act[512] = "";
    for (size_t i = 0; i < dc->tcb.advisories.n; i++) {
        size_t u = strlen(act);
        snprintf(act + u, sizeof act - u, "%s%s", u ? ", " : "", dc->tcb.advisories.id[i]);
    }
    if (!d->has_advisories) {
        result_check(r, "policy.advisories", CHECK_SKIP, NULL, "any", act[0] ? act : "none",
                     "no allowed_advisories in the policy: the accepted TCB status decides");
        return 0;
    }
    char exp[512] = "";
    for (size_t i = 0; i < d->n_advisories; i++) {
        size_t u = strlen(exp);
        snprintf(exp + u, sizeof exp - u, "%s%s", u ? ", " : "", d->advisories[i]);
    }
    for (size_t i = 0; i < dc->tcb.advisories.n; i++) {
        bool ok = false;
        for (size_t j = 0; j < d->n_advisories && !ok; j++)
            ok = strcmp(dc->tcb.advisories.id[i], d->advisories[j]) == 0;
        if (!ok) {
            char detail[128];
            snprintf(detail, sizeof detail, "%s is not in accept.*.allowed_advisories",
                     dc->tcb.advisories.id[i]);
            result_check(r, "policy.advisories", CHECK_FAIL, "dcap_advisory_not_allowed", exp,
                         act, detail);
            return -1;
        }
    }
    result_check(r, "policy.advisories", CHECK_PASS, NULL, exp, act[0] ? act : "none", NULL);
    return 0;
}

static int appraise_fresh(const struct policy_dcap *d, const struct dcap_claims *dc,
                          struct tether_result *r)
{
    const char *exp = d->allow_stale ? "fresh or stale (allow_stale_collateral)"
                                     : "every collateral item before its nextUpdate";
    if (dc->fresh) {
        result_check(r, "policy.collateral_fresh", CHECK_PASS, NULL, exp, "fresh", NULL);
        return 0;
    }
    char act[220];
    snprintf(act, sizeof act, "stale: %s", dc->stale);
    if (!d->allow_stale) {
        result_check(r, "policy.collateral_fresh", CHECK_FAIL, "dcap_collateral_stale", exp, act,
                     "collateral past its nextUpdate: fetch current collateral (--pcs-cache), "
                     "verify at a time inside its window (--at), or set allow_stale_collateral");
        return -1;
    }
    result_check(r, "policy.collateral_fresh", CHECK_PASS, NULL, exp, act, NULL);
    return 0;
}

int pol_appraise_dcap(const struct policy_tee *t, const struct claims *c,
                      struct tether_result *r)
{
    const struct policy_dcap *d = t->dcap;
    const struct dcap_claims *dc = c->tee_data;
    if (!d || !dc || dc->tdx != d->tdx || !dc->has_tcb) {
        result_check(r, "policy.tcb_status", CHECK_FAIL, "internal", NULL, NULL,
                     "DCAP appraisal without DCAP settings, claims or a TCB status");
        return -1;
    }
    int rc = 0;
    if (d->tdx) {
        const struct dcap_td_report *td = &dc->td;
        const uint8_t *regs[] = {td->rtmr[0], td->rtmr[1], td->rtmr[2], td->rtmr[3], td->mrseam,
                                 td->mrsignerseam, td->mrconfigid, td->mrowner,
                                 td->mrownerconfig};
        for (int i = L_RTMR0; i <= L_MROWNERCONFIG; i++) {
            char name[48], code[48], what[80];
            snprintf(name, sizeof name, "policy.tdx.%s", lists[i].key);
            snprintf(code, sizeof code, "tdx_%s_not_allowed", lists[i].key);
            snprintf(what, sizeof what, "no accept.tdx.%s in the policy", lists[i].key);
            if (pol_list_check(r, name, code, d->v[i], d->n[i], regs[i], 48, what) != 0)
                rc = -1;
        }
        uint8_t xfam[8], attrs[8];
        u64_be(td->xfam, xfam);
        u64_be(td->td_attributes, attrs);
        if (pol_list_check(r, "policy.tdx.xfam", "tdx_xfam_not_allowed", d->v[L_XFAM],
                               d->n[L_XFAM], xfam, 8, "no accept.tdx.xfam in the policy") != 0)
            rc = -1;
        if (pol_list_check(r, "policy.tdx.td_attributes", "tdx_td_attributes_not_allowed",
                               d->v[L_TD_ATTRIBUTES], d->n[L_TD_ATTRIBUTES], attrs, 8,
                               "no accept.tdx.td_attributes in the policy") != 0)
            rc = -1;
    } else {
        const struct dcap_sgx_report *e = &dc->sgx;
        if (pol_list_check(r, "policy.sgx.mrsigner", "sgx_mrsigner_not_allowed",
                               d->v[L_MRSIGNER], d->n[L_MRSIGNER], e->mrsigner, 32,
                               "no accept.sgx.mrsigner in the policy") != 0)
            rc = -1;
        char exp[32], act[32];
        snprintf(act, sizeof act, "%u", e->isv_prod_id);
        if (d->has_isv_prod_id) {
            snprintf(exp, sizeof exp, "%llu", (unsigned long long)d->isv_prod_id);
            bool ok = e->isv_prod_id == d->isv_prod_id;
            result_check(r, "policy.sgx.isv_prod_id", ok ? CHECK_PASS : CHECK_FAIL,
                         ok ? NULL : "sgx_isv_prod_id_not_allowed", exp, act, NULL);
            if (!ok)
                rc = -1;
        } else {
            result_check(r, "policy.sgx.isv_prod_id", CHECK_SKIP, NULL, "any", act,
                         "no accept.sgx.isv_prod_id in the policy");
        }
        snprintf(act, sizeof act, "%u", e->isv_svn);
        if (d->has_min_isv_svn) {
            snprintf(exp, sizeof exp, ">= %llu", (unsigned long long)d->min_isv_svn);
            bool ok = e->isv_svn >= d->min_isv_svn;
            result_check(r, "policy.sgx.isv_svn", ok ? CHECK_PASS : CHECK_FAIL,
                         ok ? NULL : "sgx_isv_svn_too_low", exp, act, NULL);
            if (!ok)
                rc = -1;
        } else {
            result_check(r, "policy.sgx.isv_svn", CHECK_SKIP, NULL, "any", act,
                         "no accept.sgx.min_isv_svn in the policy");
        }
        if (!t->n_measurements)
            result_check(r, "policy.measurement", CHECK_SKIP, NULL, "any MRENCLAVE", NULL,
                         "the policy names the enclave by MRSIGNER and ISV product id");
    }
    if (appraise_status(d, dc, r) != 0)
        rc = -1;
    if (appraise_advisories(d, dc, r) != 0)
        rc = -1;
    if (appraise_fresh(d, dc, r) != 0)
        rc = -1;
    return rc;
}
