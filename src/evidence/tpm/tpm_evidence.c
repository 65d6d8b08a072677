/*
 * tpm_evidence.c - the "TTPM" TPM 2.0 evidence container (layout in tpm_evidence.h).
 *
 * Framing only: the three TPM structures are bounded here and parsed by tpm.h afterwards.
 * Bounds: TPMT_PUBLIC <= TPM_EVIDENCE_MAX_PUBLIC (an RSA-4096 TPMT_PUBLIC is about 600 bytes),
 * TPMS_ATTEST <= TPM_MAX_ATTEST (TPM2B_ATTEST), TPMT_SIGNATURE <= TPM_MAX_SIG; each non-empty.
 * PCR banks: a known hash algorithm, at most once, a mask within the 24 PCRs, and
 * popcount(mask) digests of tpm_hash_size(hashAlg) bytes in PCR index order.
 * Must never: read outside the input, accept trailing bytes, flags other than 0, more than
 * TPM_MAX_BANKS banks or TPM_EVIDENCE_MAX_CERTS certificates, an empty certificate, or a
 * container larger than TPM_EVIDENCE_MAX. The encoder refuses what the parser refuses, so
 * parse(encode(e)) succeeds and encode(parse(x)) == x.
 */
#include "evidence/tpm/tpm_evidence.h"

#include <string.h>

#include "util/util.h"

#define TPM_EVIDENCE_MAX_PUBLIC 1024u
#define PCR_ALL ((1u << TPM_PCRS) - 1)

int tpm_field16_read(struct bytes_reader *r, size_t max, const uint8_t **p, size_t *n,
                     const char **why, const char *truncated, const char *what)
{
    if (!reader_vec(r, 2, p, n))
        return parse_fail(why, truncated);
    if (*n == 0 || *n > max)
        return parse_fail(why, what);
    return 0;
}

/* u16 len | bytes, 1 <= len <= max. */
static int read_field(struct bytes_reader *r, size_t max, const uint8_t **p, size_t *n,
                      const char **why, const char *what)
{
    return tpm_field16_read(r, max, p, n, why, "tpm evidence truncated", what);
}

/* ---- the PCR banks (shared with the azure-vtpm container) ---- */

int tpm_pcr_banks_read(struct bytes_reader *r, struct tpm_pcr_bank *banks, size_t *n_banks,
                       const char **why, const char *truncated)
{
    *n_banks = 0;
    uint8_t n = 0;
    if (!reader_u8(r, &n))
        return parse_fail(why, truncated);
    if (n > TPM_MAX_BANKS)
        return parse_fail(why, "more PCR banks than TPM_MAX_BANKS");
    for (size_t i = 0; i < n; i++) {
        struct tpm_pcr_bank *b = &banks[i];
        uint16_t alg = 0;
        uint32_t mask = 0;
        reader_u16(r, &alg);
        reader_u32(r, &mask);
        if (r->failed)
            return parse_fail(why, truncated);
        size_t dsize = tpm_hash_size(alg);
        if (dsize == 0)
            return parse_fail(why, "PCR bank with an unsupported hash algorithm");
        for (size_t j = 0; j < i; j++)
            if (banks[j].hash_alg == alg)
                return parse_fail(why, "PCR bank given twice");
        if (mask & ~PCR_ALL)
            return parse_fail(why, "PCR mask names a PCR above 23");
        b->hash_alg = alg;
        b->present = mask;
        for (unsigned k = 0; k < TPM_PCRS; k++)
            if (((mask >> k) & 1u) && !reader_copy(r, b->value[k], dsize))
                return parse_fail(why, truncated);
        *n_banks = i + 1;
    }
    return 0;
}

bool tpm_pcr_banks_ok(const struct tpm_pcr_bank *banks, size_t n_banks)
{
    if (n_banks > TPM_MAX_BANKS)
        return false;
    for (size_t i = 0; i < n_banks; i++) {
        if (tpm_hash_size(banks[i].hash_alg) == 0 || (banks[i].present & ~PCR_ALL))
            return false;
        for (size_t j = 0; j < i; j++)
            if (banks[j].hash_alg == banks[i].hash_alg)
                return false;
    }
    return true;
}

int tpm_pcr_banks_write(struct bytes_writer *w, const struct tpm_pcr_bank *banks, size_t n_banks)
{
    if (!tpm_pcr_banks_ok(banks, n_banks))
        return -1;
    writer_u8(w, (uint8_t)n_banks);
    for (size_t i = 0; i < n_banks; i++) {
        const struct tpm_pcr_bank *b = &banks[i];
        size_t dsize = tpm_hash_size(b->hash_alg);
        writer_u16(w, b->hash_alg);
        writer_u32(w, b->present);
        for (unsigned k = 0; k < TPM_PCRS; k++)
            if ((b->present >> k) & 1u)
                writer_bytes(w, b->value[k], dsize);
    }
    return w->failed ? -1 : 0;
}

/* ---- the TTPM container ---- */

int tpm_evidence_parse(const uint8_t *buf, size_t len, struct tpm_evidence *out,
                       const char **why)
{
    if (why)
        *why = NULL;
    if (!out)
        return parse_fail(why, "no output");
    memset(out, 0, sizeof *out);
    if (!buf)
        return parse_fail(why, "no evidence");
    if (len > TPM_EVIDENCE_MAX)
        return parse_fail(why, "tpm evidence too large");

    struct bytes_reader r;
    reader_init(&r, buf, len);
    const uint8_t *magic;
    uint16_t version = 0, flags = 0;
    if (!reader_bytes(&r, 4, &magic) || memcmp(magic, TPM_EVIDENCE_MAGIC, 4) != 0)
        return parse_fail(why, "not tether tpm evidence (magic \"TTPM\")");
    reader_u16(&r, &version);
    reader_u16(&r, &flags);
    if (r.failed)
        return parse_fail(why, "tpm evidence truncated");
    if (version != TPM_EVIDENCE_VERSION)
        return parse_fail(why, "unsupported tpm evidence version");
    if (flags != 0)
        return parse_fail(why, "tpm evidence flags must be zero");

    if (read_field(&r, TPM_EVIDENCE_MAX_PUBLIC, &out->ak_public, &out->ak_public_len, why,
                   "TPMT_PUBLIC empty or too large") != 0 ||
        read_field(&r, TPM_MAX_ATTEST, &out->attest, &out->attest_len, why,
                   "TPMS_ATTEST empty or larger than TPM2B_ATTEST") != 0 ||
        read_field(&r, TPM_MAX_SIG, &out->signature, &out->signature_len, why,
                   "TPMT_SIGNATURE empty or too large") != 0)
        return -1;

    if (tpm_pcr_banks_read(&r, out->banks, &out->n_banks, why, "tpm evidence truncated") != 0)
        return -1;

    uint16_t n_certs = 0;
    if (!reader_u16(&r, &n_certs))
        return parse_fail(why, "tpm evidence truncated");
    if (n_certs > TPM_EVIDENCE_MAX_CERTS)
        return parse_fail(why, "more than 8 AK certificates");
    for (size_t i = 0; i < n_certs; i++) {
        if (read_field(&r, 0xffffu, &out->certs[i], &out->cert_lens[i], why,
                       "empty AK certificate") != 0)
            return -1;
        out->n_certs = i + 1;
    }
    if (!reader_done(&r))
        return parse_fail(why, "trailing bytes after the tpm evidence");
    return 0;
}

static bool field_ok(const uint8_t *p, size_t n, size_t max)
{
    return p && n > 0 && n <= max;
}

int tpm_evidence_encode(const struct tpm_evidence *ev, struct bytes_writer *w)
{
    if (!ev || !w || w->failed)
        return -1;
    if (!field_ok(ev->ak_public, ev->ak_public_len, TPM_EVIDENCE_MAX_PUBLIC) ||
        !field_ok(ev->attest, ev->attest_len, TPM_MAX_ATTEST) ||
        !field_ok(ev->signature, ev->signature_len, TPM_MAX_SIG) ||
        !tpm_pcr_banks_ok(ev->banks, ev->n_banks) || ev->n_certs > TPM_EVIDENCE_MAX_CERTS)
        return -1;
    for (size_t i = 0; i < ev->n_certs; i++)
        if (!field_ok(ev->certs[i], ev->cert_lens[i], 0xffffu))
            return -1;

    size_t start = w->len;
    writer_bytes(w, TPM_EVIDENCE_MAGIC, 4);
    writer_u16(w, TPM_EVIDENCE_VERSION);
    writer_u16(w, 0);
    writer_u16(w, (uint16_t)ev->ak_public_len);
    writer_bytes(w, ev->ak_public, ev->ak_public_len);
    writer_u16(w, (uint16_t)ev->attest_len);
    writer_bytes(w, ev->attest, ev->attest_len);
    writer_u16(w, (uint16_t)ev->signature_len);
    writer_bytes(w, ev->signature, ev->signature_len);
    tpm_pcr_banks_write(w, ev->banks, ev->n_banks);
    writer_u16(w, (uint16_t)ev->n_certs);
    for (size_t i = 0; i < ev->n_certs; i++) {
        writer_u16(w, (uint16_t)ev->cert_lens[i]);
        writer_bytes(w, ev->certs[i], ev->cert_lens[i]);
    }
    if (w->failed)
        return -1;
    if (w->len - start > TPM_EVIDENCE_MAX) { /* the parser would refuse it */
        w->failed = true;
        return -1;
    }
    return 0;
}
