/*
 * snp_fixture.h - a GENERATED AMD SEV-SNP hierarchy and signed reports for the tests
 * (test_snp_verify.c, test_azure.c): ARK and ASK/ASVK (RSA-2048 here for speed; AMD's are
 * RSA-4096) and P-384 VCEK, VLEK and Turin VCEK, every certificate signed RSASSA-PSS SHA-384
 * salt 48, the VCEKs carrying the AMD extensions (1.3.6.1.4.1.3704.1.*) encoded here; CRLs;
 * and 1184-byte ATTESTATION_REPORTs (SEV-SNP ABI 56860 Table 23) filled by hand and signed with
 * a VCEK (r and s little-endian). Test code only: every function asserts (cmocka) instead of
 * returning an error. The files live in snp_fx.dir from snp_fx_setup to snp_fx_teardown.
 */
#ifndef TETHER_TEST_SNP_FIXTURE_H
#define TETHER_TEST_SNP_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "evidence/snp/snp_report.h"

#define SNP_FX_DAY 86400L
#define SNP_FX_YEAR (365L * SNP_FX_DAY)
#define SNP_FX_ARC "1.3.6.1.4.1.3704.1." /* the AMD VCEK extension arc */

/* The report's MEASUREMENT, HOST_DATA and ID_KEY_DIGEST. */
extern const uint8_t SNP_FX_MEAS[48];
extern const uint8_t SNP_FX_HOST[32];
extern const uint8_t SNP_FX_IDKEY[48];

struct snp_fx_tcb {
    uint8_t fmc, bl, tee, snp, ucode;
};

/* The hierarchy (valid from one day ago; ARK, ASK, ASVK 25 years, VCEKs 7, VLEK 1). Files:
 * ask.pem, asvk.der, vcek.der, vlek.pem, turin.der, ark.pem, ask.crl (revokes the VCEK),
 * bad.crl (signed by the wrong key). */
struct snp_fx_hier {
    char dir[128];
    EVP_PKEY *ark_key, *ask_key, *asvk_key, *vcek_key, *vlek_key, *turin_key;
    X509 *ark, *ask, *asvk, *vcek, *vlek, *turin_vcek;
    char ask_path[200], asvk_path[200], vcek_path[200], vlek_path[200], turin_path[200],
        crl_path[200], badcrl_path[200], ark_path[200];
    uint8_t chip[64];       /* CHIP_ID = hwID: 0x80, 0x81, ... */
    struct snp_fx_tcb tcb;  /* the VCEKs' TCB: fmc 1, bl 3, tee 0, snp 8, ucode 115 */
};
extern struct snp_fx_hier snp_fx;

/* Generate the hierarchy into snp_fx (and a fresh folder); remove it all. 0 or -1. */
int snp_fx_setup(void);
int snp_fx_teardown(void);

/* Certificate pieces (also for tests that build odd certificates). */
void snp_fx_add_amd_ext(X509 *x, const char *oid, const uint8_t *val, size_t n);
void snp_fx_add_amd_int(X509 *x, const char *oid, long v);

/* A report. */
struct snp_fx_spec {
    uint32_t version;
    uint64_t policy;
    uint32_t vmpl;
    uint32_t signing_key; /* 0 VCEK, 1 VLEK */
    bool turin;
    struct snp_fx_tcb tcb; /* REPORTED_TCB (and CURRENT, COMMITTED, LAUNCH) */
    uint8_t chip[64];
    uint8_t fw[3];         /* major, minor, build */
    const uint8_t *report_data; /* 64 bytes; NULL: 0x01, 0x02, ..., 0x40 */
};
/* Version 3, policy 0x30000 (SMT, reserved bit 17), VMPL 0, VCEK, Milan, snp_fx.tcb and
 * snp_fx.chip, firmware 1.55.29. */
struct snp_fx_spec snp_fx_default_spec(void);
/* Fill the 1184-byte layout and sign it with key (ECDSA P-384 SHA-384). */
void snp_fx_build_report(const struct snp_fx_spec *s, EVP_PKEY *key,
                         uint8_t out[SNP_REPORT_LEN]);

void snp_fx_put32(uint8_t *p, uint32_t v); /* little-endian */
void snp_fx_put64(uint8_t *p, uint64_t v);

#endif
