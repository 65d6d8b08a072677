/*
 * attester.h - the attester backend interface: produce evidence for one connection.
 *
 * Never exported, never reachable from the public API with caller-chosen data: the callers
 * are src/tls/attest.c, which passes the report_data it computed with binder_compute() from its
 * own connection's exporter and its own fresh authenticator key, and, in the opt-in INSECURE
 * legacy modes only, src/tls/legacy.c legacy_make_identity, which derives it with
 * legacy_binder_compute() from the certificate it is building and the client's nonce. There is
 * no attestation oracle in this library (docs/threat-model.md); the test-only one lives in
 * src/testhooks/oracle.c, outside it.
 */
#ifndef TETHER_ATTESTER_H
#define TETHER_ATTESTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "binding/binder.h"

struct attester;

struct attester_backend {
    const char *name;
    const char *media_type;
    /* The spec may be the bare name ("snp"): open then gets "". */
    bool arg_optional;
    /* Open from the part of the spec after "name:" (e.g. a directory). */
    struct attester *(*open)(const char *arg, char *err, size_t errlen);
    /* Evidence whose signed report_data is b->report_data and whose key hash (where the
     * format has one) is b->aik_pub_hash. Caller frees *ev. */
    int (*evidence)(struct attester *a, const struct binder *b, uint8_t **ev, size_t *ev_len,
                    char *err, size_t errlen);
    void (*close)(struct attester *a);
};

struct attester_handle {
    const struct attester_backend *backend;
    struct attester *state;
};

/* Open "type:arg" (e.g. "sim:/var/lib/tether/sim"), or a bare "type" for a backend whose
 * argument is optional (e.g. "snp", "tdx", "tpm"). */
int attester_open(const char *spec, struct attester_handle *h, char *err, size_t errlen);
void attester_close(struct attester_handle *h);

extern const struct attester_backend attester_sim;
/* AMD SEV-SNP guest: "snp" or "snp:CONFIGFS_TSM_REPORT_DIR" (src/attester/snp/snp_attester.c). */
extern const struct attester_backend attester_snp;
/* Intel TDX guest: "tdx" or "tdx:CONFIGFS_TSM_REPORT_DIR", configfs-tsm only; the evidence
 * is the DCAP quote (src/attester/tdx/tdx_attester.c). */
extern const struct attester_backend attester_tdx;
/* TPM 2.0 through tss2 ESYS: "tpm" (device:/dev/tpmrm0) or "tpm:TCTI[;pcrs=SEL][;akcert=PATH]";
 * the evidence is the TTPM container of a TPM2_Quote (src/attester/tpm/tpm_attester.c). */
extern const struct attester_backend attester_tpm;

#endif
