/*
 * tpm.h - TPM 2.0 quote structures, sans-IO: TPMS_ATTEST (the signed quote), TPMT_SIGNATURE,
 * TPMT_PUBLIC (the attestation key), the PCR digest, and the signature check. All TPM integers
 * are big-endian (TPM 2.0 Library Part 2, "Structures"). Research evidence.md A3, B4.
 *
 * Borrowed pointers point into the caller's buffer and live as long as it does.
 * Must never: read outside the input, accept trailing bytes inside a structure, accept a
 * TPM2B whose size exceeds its type's maximum, or accept a PCR selection that is not the one
 * whose values were supplied.
 */
#ifndef TETHER_EVIDENCE_TPM_H
#define TETHER_EVIDENCE_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define TPM_GENERATED_VALUE 0xff544347u /* TPMS_ATTEST.magic */
#define TPM_ST_ATTEST_QUOTE 0x8018u
#define TPM_ALG_RSA 0x0001u
#define TPM_ALG_SHA1 0x0004u
#define TPM_ALG_SHA256 0x000bu
#define TPM_ALG_SHA384 0x000cu
#define TPM_ALG_SHA512 0x000du
#define TPM_ALG_NULL 0x0010u
#define TPM_ALG_RSASSA 0x0014u
#define TPM_ALG_RSAPSS 0x0016u
#define TPM_ALG_ECDSA 0x0018u
#define TPM_ALG_ECC 0x0023u
#define TPM_ECC_NIST_P256 0x0003u
#define TPM_ECC_NIST_P384 0x0004u

#define TPM_MAX_DIGEST 64
#define TPM_MAX_BANKS 4     /* SHA-1, SHA-256, SHA-384, SHA-512 */
#define TPM_PCRS 24
#define TPM_MAX_ATTEST 1024 /* TPM2B_ATTEST bound */
#define TPM_MAX_SIG 1024    /* RSA-4096 plus headers */

/* The digest size of a TPM hash algorithm id; 0 if unsupported. */
size_t tpm_hash_size(uint16_t alg);
/* The OpenSSL digest of a TPM hash algorithm id; NULL if unsupported. */
const EVP_MD *tpm_hash_md(uint16_t alg);

struct tpm_pcr_selection {
    size_t n_banks;
    struct {
        uint16_t hash_alg;
        uint32_t mask; /* bit i = PCR i (sizeofSelect <= 3 bytes; more is refused) */
    } bank[TPM_MAX_BANKS];
};

/* TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE. */
struct tpm_quote {
    const uint8_t *qualified_signer; /* TPM2B_NAME content, borrowed */
    size_t qualified_signer_len;
    uint8_t extra_data[TPM_MAX_DIGEST]; /* TPM2B_DATA qualifyingData: the nonce / binder */
    size_t extra_data_len;
    uint64_t clock;
    uint32_t reset_count, restart_count;
    bool safe;
    uint64_t firmware_version;
    struct tpm_pcr_selection pcr_select;
    uint8_t pcr_digest[TPM_MAX_DIGEST];
    size_t pcr_digest_len;
};

/* Parse exactly one TPMS_ATTEST (len bytes, nothing after it). 0 or -1 with *why. */
int tpm_quote_parse(const uint8_t *buf, size_t len, struct tpm_quote *out, const char **why);

/* TPMT_SIGNATURE: RSASSA / RSAPSS (sig = the RSA signature) or ECDSA (sig = r || s, each
 * left-padded to the curve size). */
struct tpm_signature {
    uint16_t sig_alg;  /* TPM_ALG_RSASSA, TPM_ALG_RSAPSS, TPM_ALG_ECDSA */
    uint16_t hash_alg; /* TPM_ALG_SHA256, ... */
    uint8_t sig[512 + 2];
    size_t sig_len;
    size_t ecdsa_half; /* ECDSA: size of r (= size of s) */
};
/* Parse exactly one TPMT_SIGNATURE. 0 or -1 with *why. */
int tpm_signature_parse(const uint8_t *buf, size_t len, struct tpm_signature *out,
                        const char **why);

/* TPMT_PUBLIC of a signing key (RSA 2048/3072/4096 or ECC P-256/P-384) as an OpenSSL key;
 * also its TPM name (nameAlg || H(TPMT_PUBLIC)). *key is new (caller frees). Attributes are
 * reported: restricted + sign (an attestation key) is what a quote needs. 0 or -1. */
struct tpm_public {
    uint16_t type, name_alg;
    uint32_t attributes;
    bool restricted, sign, fixed_tpm, sensitive_data_origin;
    uint8_t name[2 + TPM_MAX_DIGEST];
    size_t name_len;
};
int tpm_public_parse(const uint8_t *buf, size_t len, struct tpm_public *out, EVP_PKEY **key,
                     const char **why);

/* The signature over the TPMS_ATTEST bytes by key, with the algorithm the signature names
 * (RSASSA-PKCS1-v1_5, RSA-PSS with salt length = digest length or auto, ECDSA). 0 if valid. */
int tpm_signature_verify(const struct tpm_signature *sig, EVP_PKEY *key, const uint8_t *attest,
                         size_t attest_len);

/* PCR values for one bank: value[i] valid where the bank's selection has bit i. */
struct tpm_pcr_bank {
    uint16_t hash_alg;
    uint32_t present; /* bit i: value[i] given */
    uint8_t value[TPM_PCRS][TPM_MAX_DIGEST];
};
/* pcrDigest = H_sig(concatenation of the selected PCR values, banks in selection order, PCRs
 * in index order), where H_sig is the quote signature's hash algorithm (TPM 2.0 Part 3,
 * TPM2_Quote). -1 if a selected value is missing. */
int tpm_pcr_digest(const struct tpm_pcr_selection *sel, const struct tpm_pcr_bank *banks,
                   size_t n_banks, uint16_t hash_alg, uint8_t *out, size_t *out_len);

#endif
