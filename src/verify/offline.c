/*
 * offline.c - tether_verify(): the public offline verifier behind `tether verify`. Runs the
 * same pipeline as a live connection (src/verify/verify.c); the only differences are that
 * the expected binder is supplied by the caller and may be absent (then the binding check is
 * reported as skipped, never as passed) and that the policy is optional.
 */
#include <string.h>

#include "tether.h"

#include "binding/binder.h"
#include "tls/config_api.h"
#include "verify/verify.h"

TETHER_API struct tether_result *tether_verify(struct tether_config *cfg,
                                               const struct tether_verify_params *p)
{
    if (!cfg)
        return NULL;
    struct error_state *err = config_error(cfg);
    error_clear(err);
    if (!p || !p->evidence || p->evidence_len == 0) {
        error_set(err, TETHER_ERR_USAGE, "usage", "no evidence given");
        return NULL;
    }
    uint8_t expected[BINDER_REPORT_DATA_LEN];
    struct verify_input in = {
        .evidence = p->evidence,
        .evidence_len = p->evidence_len,
        .type = p->type,
        .at = p->at ? p->at : time(NULL),
        .collateral = p->collateral,
    };
    if (p->binder) {
        if (p->binder_len == BINDER_REPORT_DATA_LEN) {
            memcpy(expected, p->binder, sizeof expected);
        } else if (p->binder_len == 32 || p->binder_len == 48) {
            if (binder_report_data(p->binder, p->binder_len, expected) != 0) {
                error_set(err, TETHER_ERR_INTERNAL, "internal", "SHA-512 failed");
                return NULL;
            }
        } else {
            error_set(err, TETHER_ERR_USAGE, "usage",
                      "a binder is 64 bytes (report_data) or 32/48 bytes (binding), not %zu",
                      p->binder_len);
            return NULL;
        }
        in.expected_report_data = expected;
        in.expected_report_data_len = sizeof expected;
        in.binding_required = true;
    }
    struct tether_result *r = result_new();
    if (!r) {
        error_set(err, TETHER_ERR_INTERNAL, "internal", "out of memory");
        return NULL;
    }
    (void)verify_evidence(config_policy(cfg), &in, r);
    /* The JSON report is serialised on the first tether_result_json (tether.h), not here: a
     * caller that only reads the verdict does not pay for it. */
    return r;
}
