/*
 * intel_roots.h - the built-in Intel SGX Root CA (roots/intel/README.md): the trust anchor of
 * PCK certificates, of the TCB Signing certificate and of the Root CA CRL, for SGX and TDX
 * alike. intel_roots.c is generated from roots/intel by scripts/gen-intel-roots.sh.
 */
#ifndef TETHER_EVIDENCE_DCAP_INTEL_ROOTS_H
#define TETHER_EVIDENCE_DCAP_INTEL_ROOTS_H

/* P-256, 2018-05-21..2049-12-31, SHA-256 fingerprint 44A0196B...FAB674D3. */
extern const char intel_sgx_root_ca_pem[];

#endif
