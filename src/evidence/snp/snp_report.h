/*
 * snp_report.h - AMD SEV-SNP ATTESTATION_REPORT (SEV-SNP ABI spec 56860, Table 23, rev 1.55+;
 * research evidence.md A1): a bounded, sans-IO parser for report versions 2, 3 and 5 (and
 * any later version from the layout alone), and the report-signature check. All integers in
 * the report are little-endian; the signed region is bytes [0, 0x2A0).
 * Must never: read outside the 1184-byte report, accept trailing bytes, or accept reserved
 * fields that the specification says must be zero.
 */
#ifndef TETHER_EVIDENCE_SNP_REPORT_H
#define TETHER_EVIDENCE_SNP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define SNP_REPORT_LEN 0x4A0    /* 1184 */
#define SNP_SIGNED_LEN 0x2A0    /* 672 */
#define SNP_SIG_ALGO_ECDSA_P384_SHA384 1

/* KEY_INFO.SIGNING_KEY (bits 4:2) */
enum snp_signing_key { SNP_KEY_VCEK = 0, SNP_KEY_VLEK = 1, SNP_KEY_NONE = 7 };

/* GUEST_POLICY (56860 section 4.3, Table 9 "Guest Policy Structure"; the report's POLICY at
 * 0x008). Positions cross-checked with Linux include/linux/psp-sev.h SNP_POLICY_MASK_*.
 * Bits 21..24 were reserved (MBZ) before ABI 1.55 (report VERSION 2), bit 25 before the ABI
 * of report VERSION 5: see snp_policy_bit_defined. */
#define SNP_POLICY_ABI_MINOR_SHIFT 0      /* 7:0 */
#define SNP_POLICY_ABI_MAJOR_SHIFT 8      /* 15:8 */
#define SNP_POLICY_SMT 16                 /* SMT allowed */
#define SNP_POLICY_RSVD_MBO 17            /* reserved, must be one */
#define SNP_POLICY_MIGRATE_MA 18
#define SNP_POLICY_DEBUG 19
#define SNP_POLICY_SINGLE_SOCKET 20
#define SNP_POLICY_CXL_ALLOW 21           /* 1.55+ */
#define SNP_POLICY_MEM_AES_256_XTS 22     /* 1.55+ */
#define SNP_POLICY_RAPL_DIS 23            /* 1.55+ */
#define SNP_POLICY_CIPHERTEXT_HIDING 24   /* 1.55+ (CIPHERTEXT_HIDING_DRAM) */
#define SNP_POLICY_PAGE_SWAP_DISABLE 25   /* report VERSION 5+ */

/* PLATFORM_INFO (56860 Table 23 field PLATFORM_INFO at 0x040; its own table "PLATFORM_INFO
 * Field" in later revisions). Positions cross-checked with virtee/sev PlatformInfo. Bits 2..5
 * are reserved in a VERSION 2 report: see snp_platform_info_bit_defined. */
#define SNP_PLATINFO_SMT_EN 0
#define SNP_PLATINFO_TSME_EN 1
#define SNP_PLATINFO_ECC_EN 2                 /* VERSION 3+ */
#define SNP_PLATINFO_RAPL_DIS 3               /* VERSION 3+ */
#define SNP_PLATINFO_CIPHERTEXT_HIDING_EN 4   /* VERSION 3+ (CIPHERTEXT_HIDING_DRAM_EN) */
#define SNP_PLATINFO_ALIAS_CHECK_COMPLETE 5   /* VERSION 3+ (BadRAM, CVE-2024-21944) */

/* Whether a POLICY / PLATFORM_INFO bit is defined in a report of this VERSION (rather than
 * reserved, must-be-zero, in that version's ABI). A reserved bit never counts as "set". */
bool snp_policy_bit_defined(uint32_t version, unsigned bit);
bool snp_platform_info_bit_defined(uint32_t version, unsigned bit);

/* The CPU generation, from CPUID_FAM_ID/CPUID_MOD_ID (v3+) or unknown (v2). */
enum snp_generation { SNP_GEN_UNKNOWN = 0, SNP_GEN_MILAN, SNP_GEN_GENOA, SNP_GEN_TURIN };

/* TCB_VERSION decoded per generation (Milan/Genoa: bl, tee, snp, ucode; Turin adds fmc). */
struct snp_tcb {
    uint64_t raw;
    uint8_t fmc; /* Turin only */
    uint8_t bootloader;
    uint8_t tee;
    uint8_t snp;
    uint8_t microcode;
};

struct snp_report {
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t vmpl;
    uint32_t signature_algo;
    uint64_t current_tcb_raw;
    uint64_t platform_info;
    uint32_t key_info;            /* author_key_en bit0, mask_chip_key bit1, signing key 4:2 */
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    uint64_t reported_tcb_raw;
    bool has_cpuid;               /* v3+ */
    uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step;
    uint8_t chip_id[64];
    uint64_t committed_tcb_raw;
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_tcb_raw;
    bool has_mit_vectors;         /* v5+ */
    uint64_t launch_mit_vector, current_mit_vector;
    uint8_t sig_r[72], sig_s[72]; /* little-endian, zero-padded P-384 values */
    const uint8_t *signed_region; /* borrows the input: [0, SNP_SIGNED_LEN) */
};

/* The report versions the parser accepts: 2 and every later version (56860 Table 23: VERSION
 * 2 for ABI <= 1.54, 3 from 1.55, 5 from 1.57; a later version keeps the layout and adds
 * fields only in regions reserved before, so it is parsed from the layout alone). Versions 0
 * and 1 predate the published layout. Backend recognition uses this same predicate. */
bool snp_report_version_supported(uint32_t version);

/* Parse exactly one report (len must be SNP_REPORT_LEN). why gets a short reason. */
int snp_report_parse(const uint8_t *buf, size_t len, struct snp_report *out, const char **why);

enum snp_signing_key snp_report_signing_key(const struct snp_report *r);
/* The generation from the CPUID fields (v3+); SNP_GEN_UNKNOWN for v2 (then try the roots). */
enum snp_generation snp_report_generation(const struct snp_report *r);
const char *snp_generation_name(enum snp_generation g); /* "Milan", "Genoa", "Turin", "unknown" */
/* Decode a TCB_VERSION for a generation (the Turin layout differs). */
struct snp_tcb snp_tcb_decode(uint64_t raw, enum snp_generation g);

/* ECDSA P-384 / SHA-384 over the signed region with the VCEK/VLEK public key; r and s are
 * converted from 72-byte little-endian. 0 if valid. */
int snp_report_verify_signature(const struct snp_report *r, EVP_PKEY *vcek_pub);

#endif
