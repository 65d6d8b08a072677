/*
 * google_roots.h - the built-in Google Cloud vTPM certificate authorities (roots/google/README.md)
 * that certify the attestation keys of GCE Shielded and Confidential VMs: the roots are trust
 * anchors, the intermediates only untrusted chain material (an AK certificate must still chain
 * through one of them, or through one the evidence carries, to a root). google_roots.c is
 * generated from roots/google by scripts/gen-google-roots.sh.
 */
#ifndef TETHER_EVIDENCE_TPM_GOOGLE_ROOTS_H
#define TETHER_EVIDENCE_TPM_GOOGLE_ROOTS_H

#define GOOGLE_ROOTS 2
#define GOOGLE_INTERMEDIATES 3

struct google_cert {
    const char *name; /* the file name in roots/google, without ".pem" */
    const char *pem;
};

/* "EK/AK CA Root" (2022..2122) and "tpm_ek_v1_cloud_host_root-signer" (2018..2118). */
extern const struct google_cert google_roots[GOOGLE_ROOTS];
/* tpm_ek_v1_cloud_host-signer 2 and 3 (under tpm_ek_root_1), "EK/AK CA Intermediate" (under
 * gcp_ek_ak_ca_root). */
extern const struct google_cert google_intermediates[GOOGLE_INTERMEDIATES];

#endif
