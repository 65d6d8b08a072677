/*
 * tpm_attester.h - the TPM 2.0 attester ("tpm", "tpm:TCTI-CONFIG[;pcrs=SEL][;akcert=PATH]"),
 * through the tss2 ESYS API (docs/tpm.md). The backend itself is attester_tpm (attester.h);
 * this header exposes only the spec parser, which the unit tests exercise without a TPM.
 */
#ifndef TETHER_ATTESTER_TPM_ATTESTER_H
#define TETHER_ATTESTER_TPM_ATTESTER_H

#include <limits.h>
#include <stddef.h>

#include "attester/attester.h"
#include "evidence/tpm/tpm.h"

/* The kernel's resource manager: what a TPM-equipped Linux host has. */
#define TPM_ATTESTER_DEFAULT_TCTI "device:/dev/tpmrm0"
/* PCR selection when the spec names none: the firmware / boot-loader PCRs. */
#define TPM_ATTESTER_DEFAULT_PCRS "sha256:0-7"
#define TPM_ATTESTER_TCTI_MAX 256

struct tpm_attester_spec {
    char tcti[TPM_ATTESTER_TCTI_MAX];  /* passed to Tss2_TctiLdr_Initialize as is */
    struct tpm_pcr_selection pcrs;     /* banks in the order given; each mask non-empty */
    char akcert[PATH_MAX];             /* PEM chain of the AK, leaf first; "" for none */
};

/* Parse the part of the spec after "tpm:" ("" for the bare "tpm"):
 *   [TCTI] { ";pcrs=" BANK { "+" BANK } | ";akcert=" PATH }
 *   BANK = ("sha1" | "sha256" | "sha384" | "sha512") ":" ITEM { "," ITEM }
 *   ITEM = N | N "-" M   (0 <= N <= M <= 23)
 * An empty TCTI means TPM_ATTESTER_DEFAULT_TCTI, no pcrs= TPM_ATTESTER_DEFAULT_PCRS. Unknown
 * or repeated keys, a repeated bank, more than TPM_MAX_BANKS banks are refused. 0 or -1. */
int tpm_attester_parse_spec(const char *arg, struct tpm_attester_spec *out, char *err,
                            size_t errlen);

/* Parse a PCR selection ("sha256:0-7+sha1:0"). 0 or -1. */
int tpm_attester_parse_pcrs(const char *s, size_t len, struct tpm_pcr_selection *out, char *err,
                            size_t errlen);

#endif
