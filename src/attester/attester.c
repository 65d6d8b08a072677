/*
 * attester.c - opens an attester backend from a "type:arg" spec (e.g. "sim:/path/to/dir"), or
 * a bare "type" for backends whose argument is optional ("snp", "tdx", "tpm").
 *
 * Must never produce evidence itself or expose a way to request evidence over caller-chosen
 * report_data: it only dispatches open/close; evidence is requested by src/tls/attest.c alone,
 * over the binder it computed from its own connection.
 */
#include "attester/attester.h"

#include <stdio.h>
#include <string.h>

static const struct attester_backend *const attester_backends[] = {
    &attester_sim, &attester_snp, &attester_tdx, &attester_tpm, NULL};

static void set_err(char *err, size_t errlen, const char *msg, const char *spec)
{
    if (err && errlen)
        snprintf(err, errlen, "%s%s%.200s%s", msg, spec ? " (\"" : "", spec ? spec : "",
                 spec ? "\")" : "");
}

int attester_open(const char *spec, struct attester_handle *h, char *err, size_t errlen)
{
    if (!h) {
        set_err(err, errlen, "no attester handle", NULL);
        return -1;
    }
    memset(h, 0, sizeof *h);
    if (!spec || !spec[0]) {
        set_err(err, errlen, "no TEE given: expected \"type:argument\", e.g. \"sim:/path/to/dir\"",
                NULL);
        return -1;
    }
    const char *colon = strchr(spec, ':');
    if (!colon) {
        for (size_t i = 0; attester_backends[i]; i++)
            if (attester_backends[i]->arg_optional && strcmp(attester_backends[i]->name, spec) == 0) {
                struct attester *a = attester_backends[i]->open("", err, errlen);
                if (!a)
                    return -1;
                h->backend = attester_backends[i];
                h->state = a;
                return 0;
            }
    }
    if (!colon || colon == spec) {
        set_err(err, errlen,
                "TEE spec must be \"type:argument\", e.g. \"sim:/path/to/dir\"", spec);
        return -1;
    }
    size_t nlen = (size_t)(colon - spec);
    const struct attester_backend *be = NULL;
    for (size_t i = 0; attester_backends[i]; i++)
        if (strlen(attester_backends[i]->name) == nlen &&
            strncmp(attester_backends[i]->name, spec, nlen) == 0)
            be = attester_backends[i];
    if (!be) {
        char known[128] = "";
        for (size_t i = 0; attester_backends[i]; i++) {
            size_t used = strlen(known);
            snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                     attester_backends[i]->name);
        }
        if (err && errlen)
            snprintf(err, errlen, "unknown TEE type \"%.*s\" (known: %s)", (int)(nlen > 32 ? 32 : nlen),
                     spec, known);
        return -1;
    }
    struct attester *a = be->open(colon + 1, err, errlen);
    if (!a)
        return -1;
    h->backend = be;
    h->state = a;
    return 0;
}

void attester_close(struct attester_handle *h)
{
    if (!h)
        return;
    if (h->backend && h->state)
        h->backend->close(h->state);
    h->backend = NULL;
    h->state = NULL;
}
