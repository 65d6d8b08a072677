/*
 * snp_verify.h - the AMD SEV-SNP evidence backend ("snp", docs/snp.md): a bare 1184-byte
* ATTESTATION_REPORT (versions 2..5, SIGNATURE_ALGO 1) or the TSNP container of snp_evidence.h
 * (report + certificate table), its VCEK or VLEK certificate from
 * --collateral files (DER or PEM), the chain VCEK <- ASK <- ARK or VLEK <- ASVK <- ARK to the
 * built-in AMD ARKs (roots/amd) or to extra anchors from the policy's accept.snp.trust_anchors,
 * optional AMD CRLs, the report signature, and the binding of the certificate to the report
 * (TCB SPLs = REPORTED_TCB, hwID = CHIP_ID).
 */
#ifndef TETHER_EVIDENCE_SNP_VERIFY_H
#define TETHER_EVIDENCE_SNP_VERIFY_H

#include <stdbool.h>

#include "evidence/evidence.h"
#include "evidence/snp/snp_report.h"

/* The authenticated report, for the snp policy checks (claims.tee_data when tee is "snp"). */
struct snp_claims {
    struct snp_report report;   /* signed_region is NULL: the input is gone by appraisal */
    enum snp_generation gen;    /* from CPUID (v3+), else the chain, else the VCEK's productName */
    bool vlek;                  /* signed by a VLEK */
    struct snp_tcb reported;    /* REPORTED_TCB decoded for gen */
};

extern const struct evidence_backend evidence_snp;

#endif
