/*
 * amd_roots.h - the built-in AMD SEV-SNP roots, one set per generation (roots/amd/README.md):
 * the ARK is the trust anchor, the ASK (issuer of VCEKs) and ASVK (issuer of VLEKs) are
 * intermediates. amd_roots.c is generated from roots/amd by scripts/gen-amd-roots.sh.
 */
#ifndef TETHER_EVIDENCE_SNP_AMD_ROOTS_H
#define TETHER_EVIDENCE_SNP_AMD_ROOTS_H

#include "evidence/snp/snp_report.h"

#define AMD_ROOT_SETS 3

struct amd_root_set {
    enum snp_generation gen;
    const char *name;     /* "Milan", "Genoa", "Turin" */
    const char *ark_pem;  /* trust anchor (self-signed, RSA-4096, RSASSA-PSS SHA-384) */
    const char *ask_pem;  /* VCEK issuer, signed by the ARK */
    const char *asvk_pem; /* VLEK issuer, signed by the ARK */
};

extern const struct amd_root_set amd_roots[AMD_ROOT_SETS];

#endif
