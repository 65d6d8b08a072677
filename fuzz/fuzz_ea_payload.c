/*
 * fuzz_ea_payload.c - libFuzzer harness for ea_payload_parse (input: the cmw_attestation JSON).
 * Invariants: a parsed payload that encodes parses back to identical fields, and encoding is
 * idempotent (the canonical form is a fixed point). Must never crash, leak or read past the
 * input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ea/ea.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_payload(const struct ea_payload *a, const struct ea_payload *b)
{
    return a->version == b->version && strcmp(a->media_type, b->media_type) == 0 &&
           a->evidence_len == b->evidence_len &&
           memcmp(a->evidence, b->evidence, a->evidence_len) == 0 &&
           strcmp(a->exporter_label, b->exporter_label) == 0 &&
           a->aik_pub_hash_len == b->aik_pub_hash_len &&
           memcmp(a->aik_pub_hash, b->aik_pub_hash, a->aik_pub_hash_len) == 0 &&
           a->binding_len == b->binding_len && memcmp(a->binding, b->binding, a->binding_len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ea_payload p, back;
    const char *why = NULL;
    if (ea_payload_parse(data, size, &p, &why) != 0) {
        if (!why || p.evidence)
            abort();
        return 0;
    }
    char *json = NULL, *json2 = NULL;
    size_t len = 0, len2 = 0;
    /* Encoding may legitimately fail (escapes can push it over EA_CMW_MAX_JSON). */
    if (ea_payload_encode(&p, &json, &len) == 0) {
        if (ea_payload_parse((const uint8_t *)json, len, &back, &why) != 0 ||
            !same_payload(&p, &back))
            abort();
        if (ea_payload_encode(&back, &json2, &len2) != 0 || len2 != len ||
            memcmp(json, json2, len) != 0)
            abort();
        ea_payload_clear(&back);
    }
    free(json);
    free(json2);
    ea_payload_clear(&p);
    return 0;
}
