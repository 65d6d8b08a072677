/*
 * azure_vtpm.h - the "azure-vtpm" evidence backend (docs/azure.md): an Azure confidential VM
 * (AMD SEV-SNP or Intel TDX) attests with its vTPM. The paravisor (HCL) writes an "HCL report"
 * to vTPM NV index 0x01400001: a hardware report whose REPORT_DATA commits to a runtime-claims
 * JSON, and that JSON carries the public part of the vTPM's attestation key ("HCLAkPub"). A
 * TPM2_Quote by that key then carries tether's binder in extraData and the guest's PCRs.
 *
 *   SEV-SNP: AMD root -> ASK -> VCEK -> the SNP report in the HCL report
 *            -> REPORT_DATA = SHA-256(runtime claims) || 0^32 -> AK -> quote -> binder, PCRs.
 *   TDX:     the HCL report holds a TDREPORT (MAC'd by the CPU: nothing off the machine can
 *            check it), so the evidence also carries a DCAP TD quote for that TDREPORT:
 *            Intel root -> PCK -> QE report -> attestation key -> TD quote (with TCB Info,
 *            QE Identity and CRLs as collateral) -> REPORTDATA = SHA-256(runtime claims) ||
 *            0^32 -> AK -> quote -> binder, PCRs.
 *
 * Evidence container "TAZV", media type application/vnd.tether.azure-vtpm+binary, big-endian
 * framing (the HCL report and the TD quote inside keep their own little-endian layouts):
 *
 *   magic "TAZV" | u16 version = 1 | u16 flags: 0 = SEV-SNP form, 0x0001 = TDX form (every
 *                                   other bit refused)
 *   u32 len | HCL report    exactly as read from NV index 0x01400001 (2600 bytes on Azure)
 *   TDX form only:
 *   u32 len | TD quote      the Intel DCAP TD quote (v4 or v5) the host produced for the HCL
 *                           report's TDREPORT, 1..AZURE_TD_QUOTE_MAX bytes
 *   u16 len | TPMS_ATTEST   the vTPM quote (TPM2B_ATTEST content)
 *   u16 len | signature     the bare RSASSA-PKCS1-v1_5 SHA-256 signature of TPMS_ATTEST by
 *                           HCLAkPub, as Azure stores it (256 bytes for its RSA-2048 AK)
 *   u8 n_banks, then per bank: u16 hashAlg | u32 pcr mask | popcount(mask) x digest
 *                           the PCR values the quote covers (the tpm_evidence.h encoding)
 *   nothing after it.
 * Collateral is not in the container: for SNP the VCEK, for TDX the TCB Info, QE Identity and
 * CRLs come with --collateral or from the policy (accept["azure-vtpm"].tdx.collateral), as for
 * bare SNP reports and TD quotes.
 *
 * HCL report (all integers little-endian; research evidence.md A1 "Azure CVM wrapper", and the
 * size rules of Microsoft's openvmm guest attestation test):
 *
 *   0x000 u32 signature 'HCLA' (0x414c4348)   0x004 u32 version (1 or 2)
 *   0x008 u32 report_size = 0x4D4 + variable_data_size (the bytes that are meaningful; the NV
 *         index may be longer: the rest is padding, not authenticated and ignored)
 *   0x00C u32 request_type (2)                0x010 u32 status   0x014 3 x u32 reserved
 *   0x020 1184 bytes: the SNP ATTESTATION_REPORT, or for TDX a 1024-byte TDREPORT (TDX module
 *         ABI TDREPORT_STRUCT: REPORTTYPE.TYPE 0x81 at +0, REPORTDATA at +128, TDINFO at
 *         +512 with MRTD at +528) and 160 bytes of padding
 *   0x4C0 IGVM request data: u32 data_size = 20 + variable_data_size, u32 version (1),
 *         u32 report_type (2 = SNP, 4 = TDX), u32 hash_type (1 = SHA-256),
 *         u32 variable_data_size
 *   0x4D4 variable_data_size bytes: the runtime-claims JSON ("keys": [HCLAkPub, HCLEkPub as
 *         JWK], "vm-configuration", "user-data")
 * Binding: SNP REPORT_DATA, or the TD quote's REPORTDATA, = SHA-256(runtime-claims JSON bytes)
 * || 32 zero bytes (research evidence.md A1: "For TDX the same value appears in the TD quote's
 * report_data").
 *
 * Must never: read outside the input, accept trailing bytes after the container, trust an AK
 * that does not come from runtime claims whose hash the (verified) SNP report or TD quote
 * carries, take anything from the TDREPORT as authenticated, accept an AK other than RSA-2048,
 * report a PCR value the signed pcrDigest does not cover, or take report_data from anywhere
 * but the quote's signed extraData (the hardware REPORT_DATA is the HCL binding, not the
 * connection's).
 */
#ifndef TETHER_EVIDENCE_AZURE_VTPM_H
#define TETHER_EVIDENCE_AZURE_VTPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "evidence/dcap/dcap_verify.h"
#include "evidence/evidence.h"
#include "evidence/snp/snp_verify.h"
#include "evidence/tpm/tpm.h"
#include "evidence/tpm/tpm_verify.h"
#include "util/bytes.h"

#define AZURE_VTPM_MAGIC "TAZV"
#define AZURE_VTPM_VERSION 1
#define AZURE_VTPM_MEDIA_TYPE "application/vnd.tether.azure-vtpm+binary"
#define AZURE_VTPM_MAX (64u * 1024u)  /* the whole container */
#define AZURE_VTPM_SIG_LEN 256        /* RSA-2048 */
#define AZURE_VTPM_FLAG_TDX 0x0001u   /* the TDX form: a TD quote follows the HCL report */
#define AZURE_TD_QUOTE_MAX (32u * 1024u)

/* The HCL report (offsets above). */
#define AZURE_HCL_MAX (16u * 1024u)
#define AZURE_HCL_SIGNATURE 0x414c4348u /* "HCLA" read as a little-endian u32 */
#define AZURE_HCL_HW_REPORT_OFF 0x20
#define AZURE_HCL_HW_REPORT_LEN 0x4A0   /* 1184: the SNP report, or TDREPORT + padding */
#define AZURE_HCL_REQUEST_DATA_OFF 0x4C0
#define AZURE_HCL_REQUEST_DATA_LEN 20
#define AZURE_HCL_CLAIMS_OFF 0x4D4
#define AZURE_HCL_REQUEST_TYPE_AK_CERT 2
#define AZURE_HCL_REQUEST_DATA_VERSION 1
#define AZURE_HCL_REPORT_TYPE_SNP 2
#define AZURE_HCL_REPORT_TYPE_TDX 4
#define AZURE_HCL_HASH_SHA256 1
#define AZURE_HCL_AK_KID "HCLAkPub"
/* The TDREPORT at AZURE_HCL_HW_REPORT_OFF (TDX module ABI, TDREPORT_STRUCT). */
#define AZURE_TDREPORT_LEN 1024
#define AZURE_TDREPORT_TYPE_TDX 0x81    /* REPORTMACSTRUCT.REPORTTYPE.TYPE, byte 0 */
#define AZURE_TDREPORT_REPORTDATA_OFF 128
#define AZURE_TDREPORT_MRTD_OFF 528

/* ---- the HCL report ---- */

struct azure_hcl {
    uint32_t version, report_size, request_type, status;
    uint32_t data_size, data_version, report_type, hash_type;
    const uint8_t *hw_report;    /* AZURE_HCL_HW_REPORT_LEN bytes, borrowed */
    bool tdx;                    /* report_type 4: hw_report starts with a TDREPORT */
    const uint8_t *claims;       /* the runtime-claims JSON, borrowed */
    size_t claims_len;
    size_t padding;              /* bytes after report_size (ignored) */
};
/* Parse an HCL report (layout and size rules above; report type SNP or TDX, hash SHA-256, the
 * claims non-empty; for TDX, REPORTTYPE.TYPE of the TDREPORT is 0x81). Does not parse the SNP
 * report or the JSON. 0, or -1 with *why. */
int azure_hcl_parse(const uint8_t *buf, size_t len, struct azure_hcl *out, const char **why);

/* The runtime claims as strict JSON (jansson, duplicate keys refused; an object). New
 * reference, or NULL with *why. */
json_t *azure_hcl_claims_parse(const uint8_t *claims, size_t len, const char **why);

/* The vTPM AK from the runtime claims: the one "keys" entry with kid "HCLAkPub", kty "RSA",
 * n (2048 bits) and e (odd, 3..2^32-1) in unpadded base64url with no leading zero octets, and
 * key_ops, when present, containing "sign". *key is new (caller frees). 0, or -1 with *why. */
int azure_hcl_ak(json_t *claims, EVP_PKEY **key, const char **why);

/* ---- the TAZV container ---- */

struct azure_vtpm_evidence {
    bool tdx;                    /* the TDX form (flags AZURE_VTPM_FLAG_TDX) */
    const uint8_t *hcl;          /* borrowed */
    size_t hcl_len;
    const uint8_t *td_quote;     /* TDX form only, borrowed */
    size_t td_quote_len;
    const uint8_t *attest;
    size_t attest_len;
    const uint8_t *signature;
    size_t signature_len;
    struct tpm_pcr_bank banks[TPM_MAX_BANKS];
    size_t n_banks;
};
/* The framing only (flags 0 or AZURE_VTPM_FLAG_TDX, HCL 1..AZURE_HCL_MAX bytes, TD quote
 * 1..AZURE_TD_QUOTE_MAX in the TDX form, TPMS_ATTEST 1..TPM_MAX_ATTEST, signature
 * 1..TPM_MAX_SIG, PCR banks with a known hash at most once, PCRs 0..23). 0, or -1 with *why. */
int azure_vtpm_evidence_parse(const uint8_t *buf, size_t len, struct azure_vtpm_evidence *out,
                              const char **why);
/* Encode (the attester's side, tests). Refuses what the parser refuses. 0 or -1. */
int azure_vtpm_evidence_encode(const struct azure_vtpm_evidence *ev, struct bytes_writer *w);

/* ---- the backend ---- */

/* Authenticated values for the policy (claims.tee_data when tee is "azure-vtpm"): the SNP
 * report's (accept["azure-vtpm"].snp) or the TD quote's (accept["azure-vtpm"].tdx), as the tee
 * discriminator says, and the vTPM quote's (accept["azure-vtpm"].tpm.pcrs; ak_certified and
 * ak_pinned are false: the AK is trusted through the HCL binding). */
enum azure_tee {
    AZURE_TEE_SNP = 1,
    AZURE_TEE_TDX = 2,
};
struct azure_claims {
    enum azure_tee tee;
    struct snp_claims snp;   /* AZURE_TEE_SNP */
    struct dcap_claims tdx;  /* AZURE_TEE_TDX (tdx.tdx is true) */
    struct tpm_claims tpm;
};

extern const struct evidence_backend evidence_azure;

#endif
