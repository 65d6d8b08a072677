/*
 * fuzz_policy.c - libFuzzer harness for the policy parser (policy_parse) and, for every
 * input that parses, the appraisal of fixed claims against it.
 *
 * Must never touch the network or write files. Relative trust-anchor paths are rejected
 * (no base directory is given); absolute ones are read only if they name regular files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tether.h"

#include "evidence/evidence.h"
#include "policy/policy.h"
#include "policy/result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct policy *p = policy_parse((const char *)data, size, NULL, err, sizeof err);
    if (!p) {
        if (!memchr(err, '\0', sizeof err))
            abort(); /* the message is always terminated */
        return 0;
    }
    struct claims c;
    memset(&c, 0, sizeof c);
    strcpy(c.tee, "sim");
    c.simulated = true;
    memset(c.measurement, 0x5a, 48);
    c.measurement_len = 48;
    memset(c.platform_id, 0x01, 16);
    c.platform_id_len = 16;
    c.tcb = 2;
    c.has_tcb = true;
    c.timestamp = 1800000000 - 10;
    c.has_timestamp = true;
    struct tether_result *r = result_new();
    int rc = policy_appraise(p, &c, (time_t)1800000000, r);
    if (rc == 0 && r->failed)
        abort();
    (void)tether_result_json(r);
    tether_result_free(r);
    policy_free(p);
    return 0;
}
