/*
 * fuzz_tpm_quote.c - libFuzzer harness for the TPM 2.0 structure parsers and the quote checks
 * (src/evidence/tpm/tpm.c): tpm_quote_parse, tpm_signature_parse and tpm_public_parse each on
 * the whole input, then on three slices of it:
 *     u16 len | TPMS_ATTEST | u16 len | TPMT_SIGNATURE | TPMT_PUBLIC (the rest)
 * and, when all three parse, tpm_signature_verify and tpm_pcr_digest over the quote's own
 * selection.
 * Seeds: fuzz/seeds/tpm_quote/ecc_p256.bin in that framing (synthetic: a P-256 key generated
 * at authoring time, a hand-built quote over SHA-256 PCRs 0-7 and its ECDSA-SHA256 signature,
 * which verifies), and synthetic_rsa2048_{rsassa,rsapss}.bin (fuzz/seedgen/gen_seeds.c: a fresh
 * RSA-2048 restricted signing key, RSASSA and RSAPSS over SHA-256). Recorded vectors are
 * never copied into the tree.
 * Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/tpm/tpm.h"
#include "util/bytes.h"

static void check_quote(const uint8_t *p, size_t n, const struct tpm_quote *q)
{
    if (q->qualified_signer_len > 2 + TPM_MAX_DIGEST || q->extra_data_len > TPM_MAX_DIGEST ||
        q->pcr_digest_len > TPM_MAX_DIGEST || q->pcr_select.n_banks > TPM_MAX_BANKS)
        abort();
    if (q->qualified_signer_len &&
        (q->qualified_signer < p || q->qualified_signer + q->qualified_signer_len > p + n))
        abort();
    for (size_t i = 0; i < q->pcr_select.n_banks; i++)
        if (q->pcr_select.bank[i].mask >> TPM_PCRS || !tpm_hash_size(q->pcr_select.bank[i].hash_alg))
            abort();
}

static void check_sig(const struct tpm_signature *s)
{
    if (s->sig_len == 0 || s->sig_len > sizeof s->sig || !tpm_hash_md(s->hash_alg))
        abort();
    if (s->sig_alg == TPM_ALG_ECDSA) {
        if (s->ecdsa_half == 0 || s->ecdsa_half > 66 || s->sig_len != 2 * s->ecdsa_half)
            abort();
    } else if (s->sig_alg == TPM_ALG_RSASSA || s->sig_alg == TPM_ALG_RSAPSS) {
        if (s->sig_len > 512)
            abort();
    } else {
        abort();
    }
}

static EVP_PKEY *parse_public(const uint8_t *p, size_t n)
{
    struct tpm_public pub;
    EVP_PKEY *key = NULL;
    const char *why = NULL;
    if (tpm_public_parse(p, n, &pub, &key, &why) != 0) {
        if (!why || key)
            abort();
        return NULL;
    }
    if (!key || pub.name_len != 2 + tpm_hash_size(pub.name_alg) ||
        (pub.type != TPM_ALG_RSA && pub.type != TPM_ALG_ECC))
        abort();
    return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tpm_quote q;
    static struct tpm_signature s;
    const char *why = NULL;

    /* The whole input through each parser. */
    if (tpm_quote_parse(data, size, &q, &why) == 0)
        check_quote(data, size, &q);
    else if (!why)
        abort();
    why = NULL;
    if (tpm_signature_parse(data, size, &s, &why) == 0)
        check_sig(&s);
    else if (!why)
        abort();
    EVP_PKEY_free(parse_public(data, size));

    /* Three slices. */
    struct bytes_reader r;
    const uint8_t *att, *sig, *pub;
    size_t att_len, sig_len;
    reader_init(&r, data, size);
    if (!reader_vec(&r, 2, &att, &att_len) || !reader_vec(&r, 2, &sig, &sig_len))
        return 0;
    size_t pub_len = reader_remaining(&r);
    if (!reader_bytes(&r, pub_len, &pub))
        return 0;
    int qok = tpm_quote_parse(att, att_len, &q, NULL) == 0;
    if (qok)
        check_quote(att, att_len, &q);
    int sok = tpm_signature_parse(sig, sig_len, &s, NULL) == 0;
    if (sok)
        check_sig(&s);
    EVP_PKEY *key = parse_public(pub, pub_len);
    if (key && sok)
        (void)tpm_signature_verify(&s, key, att, att_len);
    EVP_PKEY_free(key);

    if (qok && sok) {
        /* The selection's own values always give a digest of the signature's hash size. */
        static struct tpm_pcr_bank banks[TPM_MAX_BANKS];
        memset(banks, 0, sizeof banks);
        for (size_t i = 0; i < q.pcr_select.n_banks; i++) {
            banks[i].hash_alg = q.pcr_select.bank[i].hash_alg;
            banks[i].present = q.pcr_select.bank[i].mask;
            memset(banks[i].value, (int)i, sizeof banks[i].value);
        }
        uint8_t d[TPM_MAX_DIGEST];
        size_t dl = 0;
        if (tpm_pcr_digest(&q.pcr_select, banks, q.pcr_select.n_banks, s.hash_alg, d, &dl) != 0 ||
            dl != tpm_hash_size(s.hash_alg))
            abort();
        if (q.pcr_select.n_banks && banks[0].present) {
            banks[0].present &= banks[0].present - 1; /* drop one selected value */
            if (tpm_pcr_digest(&q.pcr_select, banks, q.pcr_select.n_banks, s.hash_alg, d, &dl) == 0)
                abort();
        }
    }
    return 0;
}
