/*
 * snp_vcek.h - the AMD extensions of a VCEK or VLEK certificate (arc 1.3.6.1.4.1.3704.1;
 * AMD "Versioned Chip Endorsement Key (VCEK) Certificate and KDS Interface Specification"
 * 57230, section "VCEK Certificate Extensions"; VLEK: same document, cspId; research
 * evidence.md A1): structVersion (.1), productName (.2), the SPLs (.3.1 bootloader, .3.2 TEE,
 * .3.3 SNP, .3.8 microcode, .3.9 FMC on Turin), hwID (.4, raw bytes: 64, or 8 on Turin) and
 * cspId (.5, VLEK only).
 * Must never: accept a duplicated AMD extension, an SPL outside 0..255, trailing bytes after
 * an extension's DER value, or a hwID of another length than 64 or 8 bytes.
 */
#ifndef TETHER_EVIDENCE_SNP_VCEK_H
#define TETHER_EVIDENCE_SNP_VCEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#define SNP_CERT_PRODUCT_MAX 64
#define SNP_CERT_CSPID_MAX 256

struct snp_cert_ext {
    bool has_struct_version;
    long struct_version;
    bool has_product_name;
    char product_name[SNP_CERT_PRODUCT_MAX + 1];
    bool has_bl, has_tee, has_snp, has_ucode, has_fmc;
    uint8_t bl, tee, snp, ucode, fmc;
    bool has_hwid;
    uint8_t hwid[64];
    size_t hwid_len;              /* 64, or 8 (Turin) */
    bool has_csp_id;              /* VLEK */
    char csp_id[SNP_CERT_CSPID_MAX + 1];
    size_t csp_id_len;
};

/* Read the AMD extensions of x. 0 on success (absent extensions are left unset), -1 with a
 * reason in why if one is malformed or duplicated. */
int snp_cert_ext_read(X509 *x, struct snp_cert_ext *out, const char **why);
/* The same from a DER certificate (the fuzz entry point). */
int snp_cert_ext_read_der(const uint8_t *der, size_t len, struct snp_cert_ext *out,
                          const char **why);
/* The generation named by productName ("Milan-B0" -> Milan, "Genoa", "Turin"), or 0. */
int snp_cert_product_generation(const struct snp_cert_ext *e);

#endif
