/*
 * evidence.c - the registry of compiled-in evidence backends and the common claims.
 *
 * Adding a TEE type: one line in evidence_backends[] (and a policy table entry in
 * src/policy/policy.c). Must never verify or appraise anything itself: recognition here is
 * only a hint about which backend to try; authenticity is the backend's job.
 */
#include "evidence/evidence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/azure/azure_vtpm.h"
#include "evidence/dcap/dcap_verify.h"
#include "evidence/sim/sim.h"
#include "evidence/tpm/tpm_verify.h"
#include "evidence/snp/snp_verify.h"
#include "util/util.h"

const struct evidence_backend *const evidence_backends[] = {
    &evidence_sim, &evidence_snp, &evidence_tdx, &evidence_sgx, &evidence_tpm,
    &evidence_azure, NULL};

const struct evidence_backend *evidence_backend_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; evidence_backends[i]; i++)
        if (strcmp(evidence_backends[i]->name, name) == 0)
            return evidence_backends[i];
    return NULL;
}

const struct evidence_backend *evidence_backend_recognise(const uint8_t *ev, size_t len)
{
    if (!ev || len == 0)
        return NULL;
    for (size_t i = 0; evidence_backends[i]; i++)
        if (evidence_backends[i]->recognise(ev, len))
            return evidence_backends[i];
    return NULL;
}

void claims_clear(struct claims *c)
{
    if (!c)
        return;
    json_decref(c->extra);
    if (c->tee_data && c->tee_data_free)
        c->tee_data_free(c->tee_data);
    memset(c, 0, sizeof *c);
}

void evidence_json_set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    /* Hex is ASCII: no UTF-8 scan (claims carry a few dozen of these per verification). */
    char buf[2 * 64 + 1];
    char *h = n <= 64 ? buf : hex_dup(p, n);
    if (!h)
        return;
    if (h == buf)
        hex_encode(p, n, buf);
    json_object_set_new_nocheck(o, key, json_stringn_nocheck(h, 2 * n));
    if (h != buf)
        free(h);
}

json_t *claims_to_json(const struct claims *c)
{
    json_t *o = json_object();
    if (!o || !c)
        return o;
    if (c->tee[0])
        json_object_set_new(o, "tee", json_string(c->tee));
    json_object_set_new(o, "simulated", json_boolean(c->simulated));
    if (c->measurement_len)
        evidence_json_set_hex(o, "measurement", c->measurement, c->measurement_len);
    if (c->platform_id_len)
        evidence_json_set_hex(o, "platform_id", c->platform_id, c->platform_id_len);
    if (c->has_tcb) {
        if (c->tcb <= (uint64_t)INT64_MAX) {
            json_object_set_new(o, "tcb", json_integer((json_int_t)c->tcb));
        } else {
            char buf[32];
            snprintf(buf, sizeof buf, "%llu", (unsigned long long)c->tcb);
            json_object_set_new(o, "tcb", json_string(buf));
        }
    }
    json_object_set_new(o, "debug", json_boolean(c->debug));
    if (c->has_report_data)
        evidence_json_set_hex(o, "report_data", c->report_data, sizeof c->report_data);
    if (c->key_hash_len)
        evidence_json_set_hex(o, "key_hash", c->key_hash, c->key_hash_len);
    if (c->has_timestamp) {
        json_object_set_new(o, "timestamp", json_integer((json_int_t)c->timestamp));
        /* RFC 3339 only for years 1970..9999; other values stay numeric. */
        if (c->timestamp >= 0 && c->timestamp <= 253402300799LL) {
            char buf[21];
            rfc3339_format((time_t)c->timestamp, buf);
            json_object_set_new(o, "time", json_string(buf));
        }
    }
    /* Type-specific claims never override the common ones. */
    if (c->extra && json_is_object(c->extra))
        json_object_update_missing(o, c->extra);
    return o;
}
