/*
 * container.h - the checks shared by the container harnesses (fuzz_tpm_evidence.c,
 * fuzz_azure_vtpm.c, fuzz_snp_evidence.c): a borrowed field lies inside the input, the quote
 * fields of the two TPM containers (TTPM and TAZV) keep their TPM bounds and their PCR values
 * hash like the quote's selection says, and what parsed re-encodes to the input byte for byte.
 * Each aborts when its contract is broken.
 */
#ifndef TETHER_FUZZ_CONTAINER_H
#define TETHER_FUZZ_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/tpm/tpm.h"
#include "util/bytes.h"

/* p[0..n) lies inside data[0..size). */
static inline bool fuzz_inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    return p >= data && p + n <= data + size;
}

/* The quote fields both TPM containers carry: TPMS_ATTEST and the signature inside the input
 * and within TPM2B_ATTEST / TPM_MAX_SIG, at most TPM_MAX_BANKS PCR banks. */
static inline void fuzz_tpm_quote_fields(const uint8_t *data, size_t size, const uint8_t *attest,
                                         size_t attest_len, const uint8_t *sig, size_t sig_len,
                                         size_t n_banks)
{
    if (!fuzz_inside(attest, attest_len, data, size) || attest_len > TPM_MAX_ATTEST ||
        !fuzz_inside(sig, sig_len, data, size) || sig_len > TPM_MAX_SIG ||
        n_banks > TPM_MAX_BANKS)
        abort();
}

/* The PCR digest of q's selection over banks with hash_alg, when it can be computed, has
 * hash_alg's size. */
static inline void fuzz_pcr_digest(const struct tpm_quote *q, const struct tpm_pcr_bank *banks,
                                   size_t n_banks, uint16_t hash_alg)
{
    uint8_t d[TPM_MAX_DIGEST];
    size_t dl = 0;
    if (tpm_pcr_digest(&q->pcr_select, banks, n_banks, hash_alg, d, &dl) == 0 &&
        dl != tpm_hash_size(hash_alg))
        abort();
}

/* The encoder returned rc == 0 and w holds exactly the input (w is reset). */
static inline void fuzz_reencodes(int rc, struct bytes_writer *w, const uint8_t *data,
                                  size_t size)
{
    if (rc != 0)
        abort();
    size_t len = 0;
    uint8_t *enc = writer_take(w, &len);
    if (!enc || len != size || memcmp(enc, data, size) != 0)
        abort();
    free(enc);
}

#endif
