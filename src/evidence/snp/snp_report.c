/*
 * snp_report.c - AMD SEV-SNP ATTESTATION_REPORT parser and signature check (snp_report.h).
 *
 * Layout: SEV-SNP ABI spec 56860, Table 23 (rev 1.55+; research evidence.md A1). Every read
 * goes through the bounded little-endian reader; the input must be exactly 1184 bytes.
 *
 * Reserved fields enforced as zero (MBZ) - all are zero in every real report we hold
 * (go-sev-guest, virtee, trustee v2 and the AWS v3 VLEK report):
 *   0x04C..0x050      reserved after KEY_INFO                         (all versions)
 *   KEY_INFO 31:5     reserved bits; SIGNING_KEY values 2..6 reserved (all versions)
 *   0x188..0x1A0      reserved (v2); 0x18B..0x1A0 after CPUID (v3+)
 *   0x1EB, 0x1EF      reserved bytes after CURRENT_/COMMITTED_ version (all versions)
 *   0x1F8..0x2A0      reserved (v2..v4); 0x208..0x2A0 after the mitigation vectors (v5)
 *   R[48..72), S[48..72)  the zero padding of the P-384 values, and
 *   0x330..0x4A0      the reserved tail of the signature field       (all versions)
 * Deliberately NOT enforced (documented so a reader does not "fix" it):
 *   - POLICY reserved bits and the must-be-one bit 17: the firmware checks the guest policy at
 *     launch and newer ABIs keep adding bits (bit 25 in 1.57); appraisal belongs to the policy.
 *   - PLATFORM_INFO reserved bits: the real Turin report sets bit 6 (0x64).
 *   - TCB_VERSION reserved bytes: their position depends on the generation (Turin differs).
 *   - VMPL range: host-requested reports (ABI 1.56+) may carry values outside 0..3.
 *   - For versions > 5 the region 0x208..0x2A0 (where a later ABI adds fields) is not
 *     checked; every other MBZ check above still applies.
 * Must never: read outside the input, accept a length other than 1184, or accept an
 * unknown signature algorithm.
 */
#include "evidence/snp/snp_report.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "util/bytes.h"
#include "util/x509util.h"
#include "util/util.h"

#define OFF_RESERVED_AFTER_KEYINFO 0x04C
#define OFF_REPORTED_TCB 0x180
#define OFF_CPUID 0x188
#define OFF_CPUID_RESERVED 0x18B
#define OFF_CHIP_ID 0x1A0
#define OFF_LAUNCH_MIT 0x1F8
#define OFF_RESERVED_V5 0x208
#define OFF_SIG_R 0x2A0
#define OFF_SIG_S 0x2E8
#define OFF_SIG_RESERVED 0x330
#define SIG_COMPONENT_LEN 72
#define P384_LEN 48

static int fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Borrow n bytes and require them to be zero. */
static bool reader_mbz(struct bytes_reader *r, size_t n)
{
    const uint8_t *p;
    if (!reader_bytes(r, n, &p))
        return false;
    if (!all_zero(p, n)) {
        r->failed = true;
        return false;
    }
    return true;
}

bool snp_report_version_supported(uint32_t version)
{
    /* Versions 0 and 1 predate the published layout; v2 is the oldest seen (fw <= 1.52). */
    return version >= 2;
}

/* 56860 Table 9 and Table 23: report VERSION 2 is ABI <= 1.54, whose guest policy ends at
 * SINGLE_SOCKET (bit 20) and whose PLATFORM_INFO has only SMT_EN and TSME_EN; VERSION 3
 * (ABI 1.55) adds POLICY bits 21..24 and PLATFORM_INFO bits 2..5; VERSION 5 (ABI 1.57+) adds
 * POLICY.PAGE_SWAP_DISABLE (bit 25). Bits 17 (must be one) and 0..20 exist in every version. */
bool snp_policy_bit_defined(uint32_t version, unsigned bit)
{
    if (bit <= SNP_POLICY_SINGLE_SOCKET)
        return true;
    if (bit <= SNP_POLICY_CIPHERTEXT_HIDING)
        return version >= 3;
    if (bit == SNP_POLICY_PAGE_SWAP_DISABLE)
        return version >= 5;
    return false;
}

bool snp_platform_info_bit_defined(uint32_t version, unsigned bit)
{
    if (bit <= SNP_PLATINFO_TSME_EN)
        return true;
    if (bit <= SNP_PLATINFO_ALIAS_CHECK_COMPLETE)
        return version >= 3;
    return false;
}

int snp_report_parse(const uint8_t *buf, size_t len, struct snp_report *out, const char **why)
{
    if (why)
        *why = NULL;
    if (!out)
        return fail(why, "no output");
    memset(out, 0, sizeof *out);
    if (!buf)
        return fail(why, "no report");
    /* SEV-SNP ABI 56860 Table 23: the report is exactly 0x4A0 bytes. */
    if (len != SNP_REPORT_LEN)
        return fail(why, len < SNP_REPORT_LEN ? "report truncated (must be 1184 bytes)"
                                              : "trailing bytes after the 1184-byte report");

    struct bytes_reader r;
    reader_init(&r, buf, len);
    uint32_t reserved32 = 0;
    reader_u32le(&r, &out->version);
    if (r.failed)
        return fail(why, "report truncated");
    if (!snp_report_version_supported(out->version))
        return fail(why, "unsupported report version (must be 2 or later)");
    reader_u32le(&r, &out->guest_svn);
    reader_u64le(&r, &out->policy);
    reader_copy(&r, out->family_id, sizeof out->family_id);
    reader_copy(&r, out->image_id, sizeof out->image_id);
    reader_u32le(&r, &out->vmpl);
    reader_u32le(&r, &out->signature_algo);
    reader_u64le(&r, &out->current_tcb_raw);
    reader_u64le(&r, &out->platform_info);
    reader_u32le(&r, &out->key_info);
    reader_u32le(&r, &reserved32); /* 0x04C */
    if (r.failed)
        return fail(why, "report truncated");
    /* SEV-SNP ABI 56860 Table 23: SIGNATURE_ALGO 1 = ECDSA P-384 with SHA-384; nothing else is
     * defined. */
    if (out->signature_algo != SNP_SIG_ALGO_ECDSA_P384_SHA384)
        return fail(why, "unknown signature algorithm (only 1 = ECDSA P-384/SHA-384)");
    /* SEV-SNP ABI 56860 Table 23: KEY_INFO bits 31:5 reserved, MBZ. */
    if (out->key_info >> 5)
        return fail(why, "reserved KEY_INFO bits set");
    uint32_t sk = (out->key_info >> 2) & 7u;
    /* SIGNING_KEY: 0 VCEK, 1 VLEK, 7 none; 2..6 reserved. */
    if (sk != SNP_KEY_VCEK && sk != SNP_KEY_VLEK && sk != SNP_KEY_NONE)
        return fail(why, "reserved SIGNING_KEY value");
    /* SEV-SNP ABI 56860 Table 23: 0x04C reserved, MBZ. */
    if (reserved32 != 0)
        return fail(why, "reserved field at 0x04C is not zero");

    reader_copy(&r, out->report_data, sizeof out->report_data);
    reader_copy(&r, out->measurement, sizeof out->measurement);
    reader_copy(&r, out->host_data, sizeof out->host_data);
    reader_copy(&r, out->id_key_digest, sizeof out->id_key_digest);
    reader_copy(&r, out->author_key_digest, sizeof out->author_key_digest);
    reader_copy(&r, out->report_id, sizeof out->report_id);
    reader_copy(&r, out->report_id_ma, sizeof out->report_id_ma);
    reader_u64le(&r, &out->reported_tcb_raw);
    if (r.failed || r.pos != OFF_CPUID)
        return fail(why, "report truncated");

    /* 0x188: CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP since v3; reserved (MBZ) in v2. */
    out->has_cpuid = out->version >= 3;
    if (out->has_cpuid) {
        reader_u8(&r, &out->cpuid_fam_id);
        reader_u8(&r, &out->cpuid_mod_id);
        reader_u8(&r, &out->cpuid_step);
    }
    if (!reader_mbz(&r, OFF_CHIP_ID - r.pos))
        return fail(why, out->has_cpuid ? "reserved field at 0x18B is not zero"
                                        : "reserved field at 0x188 is not zero (v2)");
    reader_copy(&r, out->chip_id, sizeof out->chip_id);
    reader_u64le(&r, &out->committed_tcb_raw);
    reader_u8(&r, &out->current_build);
    reader_u8(&r, &out->current_minor);
    reader_u8(&r, &out->current_major);
    if (!reader_mbz(&r, 1)) /* 0x1EB */
        return fail(why, "reserved byte at 0x1EB is not zero");
    reader_u8(&r, &out->committed_build);
    reader_u8(&r, &out->committed_minor);
    reader_u8(&r, &out->committed_major);
    if (!reader_mbz(&r, 1)) /* 0x1EF */
        return fail(why, "reserved byte at 0x1EF is not zero");
    reader_u64le(&r, &out->launch_tcb_raw);
    if (r.failed || r.pos != OFF_LAUNCH_MIT)
        return fail(why, "report truncated");

    /* 0x1F8: LAUNCH_MIT_VECTOR and CURRENT_MIT_VECTOR since v5; reserved before. */
    out->has_mit_vectors = out->version >= 5;
    if (out->has_mit_vectors) {
        reader_u64le(&r, &out->launch_mit_vector);
        reader_u64le(&r, &out->current_mit_vector);
    }
    if (out->version <= 5) {
        if (!reader_mbz(&r, SNP_SIGNED_LEN - r.pos))
            return fail(why, out->has_mit_vectors ? "reserved field at 0x208 is not zero"
                                                  : "reserved field at 0x1F8 is not zero");
    } else {
        const uint8_t *later;
        reader_bytes(&r, SNP_SIGNED_LEN - r.pos, &later); /* fields of a later ABI */
    }
    if (r.failed || r.pos != OFF_SIG_R)
        return fail(why, "report truncated");

    /* The signature: R and S as 72-byte little-endian values, zero-padded from 48 bytes,
     * then reserved bytes (SEV-SNP ABI 56860, ECDSA signature format table). */
    const uint8_t *sr, *ss;
    reader_bytes(&r, SIG_COMPONENT_LEN, &sr);
    reader_bytes(&r, SIG_COMPONENT_LEN, &ss);
    if (r.failed)
        return fail(why, "report truncated");
    if (!all_zero(sr + P384_LEN, SIG_COMPONENT_LEN - P384_LEN) ||
        !all_zero(ss + P384_LEN, SIG_COMPONENT_LEN - P384_LEN))
        return fail(why, "signature R or S exceeds 384 bits");
    memcpy(out->sig_r, sr, SIG_COMPONENT_LEN);
    memcpy(out->sig_s, ss, SIG_COMPONENT_LEN);
    if (!reader_mbz(&r, SNP_REPORT_LEN - OFF_SIG_RESERVED))
        return fail(why, "reserved bytes after the signature are not zero");
    if (!reader_done(&r))
        return fail(why, "report length mismatch");
    out->signed_region = buf;
    return 0;
}

enum snp_signing_key snp_report_signing_key(const struct snp_report *r)
{
    return (enum snp_signing_key)((r->key_info >> 2) & 7u);
}

enum snp_generation snp_report_generation(const struct snp_report *r)
{
    if (!r || !r->has_cpuid)
        return SNP_GEN_UNKNOWN;
    uint8_t fam = r->cpuid_fam_id, mod = r->cpuid_mod_id;
    /* Family 19h: models 00h-0Fh Milan; 10h-1Fh and A0h-AFh Genoa (incl. Bergamo/Siena).
     * Family 1Ah: models 00h-11h Turin (research evidence.md A1, virtee/sev). */
    if (fam == 0x19) {
        if (mod <= 0x0F)
            return SNP_GEN_MILAN;
        if ((mod >= 0x10 && mod <= 0x1F) || (mod >= 0xA0 && mod <= 0xAF))
            return SNP_GEN_GENOA;
        return SNP_GEN_UNKNOWN;
    }
    if (fam == 0x1A && mod <= 0x11)
        return SNP_GEN_TURIN;
    return SNP_GEN_UNKNOWN;
}

const char *snp_generation_name(enum snp_generation g)
{
    switch (g) {
    case SNP_GEN_MILAN:
        return "Milan";
    case SNP_GEN_GENOA:
        return "Genoa";
    case SNP_GEN_TURIN:
        return "Turin";
    default:
        return "unknown";
    }
}

struct snp_tcb snp_tcb_decode(uint64_t raw, enum snp_generation g)
{
    struct snp_tcb t;
    memset(&t, 0, sizeof t);
    t.raw = raw;
#define TCB_BYTE(i) ((uint8_t)(raw >> (8 * (i))))
    if (g == SNP_GEN_TURIN) {
        /* Turin: byte0 FMC, byte1 BOOTLOADER, byte2 TEE, byte3 SNP, 4-6 reserved, byte7 UCODE. */
        t.fmc = TCB_BYTE(0);
        t.bootloader = TCB_BYTE(1);
        t.tee = TCB_BYTE(2);
        t.snp = TCB_BYTE(3);
        t.microcode = TCB_BYTE(7);
    } else {
        /* Milan/Genoa: byte0 BOOTLOADER, byte1 TEE, 2-5 reserved, byte6 SNP, byte7 UCODE. */
        t.bootloader = TCB_BYTE(0);
        t.tee = TCB_BYTE(1);
        t.snp = TCB_BYTE(6);
        t.microcode = TCB_BYTE(7);
    }
#undef TCB_BYTE
    return t;
}

int snp_report_verify_signature(const struct snp_report *r, EVP_PKEY *vcek_pub)
{
    if (!r || !r->signed_region || !vcek_pub)
        return -1;
    if (r->signature_algo != SNP_SIG_ALGO_ECDSA_P384_SHA384 ||
        snp_report_signing_key(r) == SNP_KEY_NONE || !ec_key_is_curve(vcek_pub, NID_secp384r1))
        return -1;
    int rc = -1;
    uint8_t *der = NULL;
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_lebin2bn(r->sig_r, sizeof r->sig_r, NULL);
    BIGNUM *bs = BN_lebin2bn(r->sig_s, sizeof r->sig_s, NULL);
    if (!sig || !br || !bs || ECDSA_SIG_set0(sig, br, bs) != 1)
        goto out;
    br = bs = NULL; /* owned by sig */
    int dlen = i2d_ECDSA_SIG(sig, &der);
    if (dlen <= 0)
        goto out;
    md = EVP_MD_CTX_new();
    if (md && EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, vcek_pub) == 1 &&
        EVP_DigestVerify(md, der, (size_t)dlen, r->signed_region, SNP_SIGNED_LEN) == 1)
        rc = 0;
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return rc;
}
