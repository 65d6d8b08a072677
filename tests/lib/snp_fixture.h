/*
 * snp_fixture.h - a GENERATED AMD SEV-SNP hierarchy and signed reports for the tests
 * (test_snp_verify.c, test_azure.c): ARK and ASK/ASVK (RSA-2048 here for speed; AMD's are
 * RSA-4096) and P-384 VCEK, VLEK and Turin VCEK, every certificate signed RSASSA-PSS SHA-384
 * salt 48, the VCEKs carrying the AMD extensions (1.3.6.1.4.1.3704.1.*) encoded here; CRLs;
 * and 1184-byte ATTESTATION_REPORTs (SEV-SNP ABI 56860 Table 23) filled by hand and signed with
 * a VCEK (r and s little-endian). Test code only, shared by the unit tests and
 * tests/tools/fake_sev_guest.c (tests/cli/snp_e2e.sh), never linked into libtether or the
 * tether CLI. No cmocka (the fake does not link it): every function succeeds or dies through
 * snp_fx_fail, which calls snp_fx_fail_hook when the program installed one (it must not
 * return) and otherwise prints the message and aborts. The files live in snp_fx.dir from
 * snp_fx_setup to snp_fx_teardown.
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

/* Dies: the hook (it must not return), else the message on stderr and abort(). */
extern void (*snp_fx_fail_hook)(const char *what);
_Noreturn void snp_fx_fail(const char *what);

struct snp_fx_tcb {
    uint8_t fmc, bl, tee, snp, ucode;
};
/* The test platform: CHIP_ID = hwID 0x80, 0x81, ..., TCB fmc 1, bl 3, tee 0, snp 8, ucode 115. */
void snp_fx_default_platform(uint8_t chip[64], struct snp_fx_tcb *tcb);

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

/* Certificate pieces (also for tests that build odd certificates, and the fake guest). */
EVP_PKEY *snp_fx_rsa_key(void);  /* RSA-2048 (the ARK, ASK and ASVK here) */
EVP_PKEY *snp_fx_p384_key(void); /* P-384 (VCEK, VLEK) */
/* An unsigned X.509 v3 certificate for key, "O=Test AMD, CN=cn", issued by issuer_cn (NULL:
 * cn), valid from now + from to now + to seconds; ca: critical CA:TRUE and keyCertSign,
 * cRLSign (issuer, or the certificate itself, as the extension context). */
X509 *snp_fx_cert(EVP_PKEY *key, const char *cn, X509 *issuer, const char *issuer_cn, bool ca,
                  long serial, long from, long to);
/* Sign as AMD does: RSASSA-PSS SHA-384, salt 48, MGF1 SHA-384. */
void snp_fx_sign_cert(X509 *x, EVP_PKEY *key);
/* A VCEK ("SEV-VCEK" by "SEV-Test": hwID = hwid, 64 bytes, or 8 for Turin) or VLEK ("SEV-VLEK"
 * by "SEV-VLEK-Test": a CSP ID) for key with the AMD extensions (product, TCB t), valid from a
 * day ago to now + to, signed by signer. */
X509 *snp_fx_leaf(EVP_PKEY *key, EVP_PKEY *signer, bool vlek, bool turin, const uint8_t *hwid,
                  const struct snp_fx_tcb *t, long to);
void snp_fx_add_amd_ext(X509 *x, const char *oid, const uint8_t *val, size_t n);
void snp_fx_add_amd_int(X509 *x, const char *oid, long v);

/* A report. */
struct snp_fx_spec {
    uint32_t version;
    uint64_t policy;
    uint64_t platform_info; /* PLATFORM_INFO (0x040); 0 unless a test sets bits */
    uint32_t vmpl;
    uint32_t signing_key; /* 0 VCEK, 1 VLEK */
    bool turin;
    struct snp_fx_tcb tcb; /* REPORTED_TCB (and CURRENT, COMMITTED, LAUNCH unless below) */
    /* CURRENT_TCB (0x038), COMMITTED_TCB (0x1E0), LAUNCH_TCB (0x1F0); NULL: tcb. */
    const struct snp_fx_tcb *current_tcb, *committed_tcb, *launch_tcb;
    uint8_t chip[64];
    uint8_t fw[3];         /* major, minor, build */
    const uint8_t *report_data; /* 64 bytes; NULL: 0x01, 0x02, ..., 0x40 */
};
/* Version 3, policy 0x30000 (SMT, reserved bit 17), PLATFORM_INFO 0, VMPL 0, VCEK, Milan,
 * snp_fx.tcb and snp_fx.chip, firmware 1.55.29. */
struct snp_fx_spec snp_fx_default_spec(void);
/* Fill the 1184-byte layout and sign it with key (ECDSA P-384 SHA-384). */
void snp_fx_build_report(const struct snp_fx_spec *s, EVP_PKEY *key,
                         uint8_t out[SNP_REPORT_LEN]);
/* Sign [0, SNP_SIGNED_LEN) of rep with key: R and S as 72-byte little-endian values at 0x2A0
 * and 0x2E8, the rest of the signature area zero. */
void snp_fx_sign_report(uint8_t rep[SNP_REPORT_LEN], EVP_PKEY *key);

/* A CRL (v2, RSASSA-PSS SHA-384 salt 48) issued by issuer's name and signed with key, listing
 * revoked's serial (NULL: no entry), thisUpdate now + from, nextUpdate now + to seconds, written
 * to path as DER (der) or PEM. */
void snp_fx_write_crl(const char *path, X509 *issuer, EVP_PKEY *key, X509 *revoked, long from,
                      long to, bool der);

void snp_fx_put32(uint8_t *p, uint32_t v); /* little-endian */
void snp_fx_put64(uint8_t *p, uint64_t v);

#endif
