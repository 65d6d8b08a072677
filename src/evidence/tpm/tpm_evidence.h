/*
 * tpm_evidence.h - tether's TPM 2.0 evidence container ("TTPM", media type
 * application/vnd.tether.tpm-quote+binary): everything a relying party needs to check one
 * TPM2_Quote offline, in one bounded, big-endian blob (docs/tpm.md):
 *
 *   magic "TTPM" | u16 version = 1 | u16 flags = 0
 *   u16 len | TPMT_PUBLIC      the attestation key (restricted signing key)
 *   u16 len | TPMS_ATTEST      the quote (TPM2B_ATTEST content)
 *   u16 len | TPMT_SIGNATURE   its signature
 *   u8 n_banks, then per bank: u16 hashAlg | u32 pcr mask | popcount(mask) x digest
 *                              the PCR values the quote's selection covers
 *   u16 n_certs, then per certificate: u16 len | DER   the AK certificate chain, leaf first
 *                              (may be empty: the policy then pins the AK key)
 *   nothing after it.
 *
 * The quote's qualifyingData (extraData) is the connection's 64-byte report_data (binding/
 * binder.h): the TPM signs it, so it is the hardware-signed report_data of this evidence.
 * Must never: accept trailing bytes, more than TPM_MAX_BANKS banks or 8 certificates, or a
 * field longer than its TPM maximum.
 */
#ifndef TETHER_EVIDENCE_TPM_EVIDENCE_H
#define TETHER_EVIDENCE_TPM_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/tpm/tpm.h"
#include "util/bytes.h"

#define TPM_EVIDENCE_MAGIC "TTPM"
#define TPM_EVIDENCE_VERSION 1
#define TPM_EVIDENCE_MEDIA_TYPE "application/vnd.tether.tpm-quote+binary"
#define TPM_EVIDENCE_MAX (64u * 1024u)
#define TPM_EVIDENCE_MAX_CERTS 8

struct tpm_evidence {
    const uint8_t *ak_public; /* borrowed */
    size_t ak_public_len;
    const uint8_t *attest;
    size_t attest_len;
    const uint8_t *signature;
    size_t signature_len;
    struct tpm_pcr_bank banks[TPM_MAX_BANKS];
    size_t n_banks;
    const uint8_t *certs[TPM_EVIDENCE_MAX_CERTS];
    size_t cert_lens[TPM_EVIDENCE_MAX_CERTS];
    size_t n_certs;
};

/* ---- pieces shared with the azure-vtpm container (evidence/azure/azure_vtpm.h) ---- */

/* u16 len | bytes with 1 <= len <= max (borrowed into *p, *n). 0, or -1 with *why = truncated
 * when the input ends, what when the length is 0 or above max. */
int tpm_field16_read(struct bytes_reader *r, size_t max, const uint8_t **p, size_t *n,
                     const char **why, const char *truncated, const char *what);
/* The PCR values: u8 n_banks, then per bank u16 hashAlg | u32 pcr mask | popcount(mask) x
 * digest (tpm_hash_size(hashAlg) bytes each, in PCR index order). Read refuses more than
 * TPM_MAX_BANKS banks, an unknown hash, a bank given twice, a PCR above 23 (each with its own
 * *why) and a short input (*why = truncated); 0 or -1. */
int tpm_pcr_banks_read(struct bytes_reader *r, struct tpm_pcr_bank *banks, size_t *n_banks,
                       const char **why, const char *truncated);
/* What read would accept (the encoders check it before they write anything). */
bool tpm_pcr_banks_ok(const struct tpm_pcr_bank *banks, size_t n_banks);
/* Write them; -1 (nothing written) when !tpm_pcr_banks_ok, or when the writer failed. */
int tpm_pcr_banks_write(struct bytes_writer *w, const struct tpm_pcr_bank *banks, size_t n_banks);

/* 0 or -1 with *why. Checks the framing only (each field is parsed by tpm.h afterwards). */
int tpm_evidence_parse(const uint8_t *buf, size_t len, struct tpm_evidence *out,
                       const char **why);
/* Encode (the attester's side). 0 or -1. */
int tpm_evidence_encode(const struct tpm_evidence *ev, struct bytes_writer *w);

#endif
