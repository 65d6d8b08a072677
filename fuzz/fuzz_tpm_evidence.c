/*
 * fuzz_tpm_evidence.c - libFuzzer harness for tether's "TTPM" TPM 2.0 evidence container
 * (src/evidence/tpm/tpm_evidence.c): parse; when it parses, every field through the tpm.h
 * parsers (TPMT_PUBLIC, TPMS_ATTEST, TPMT_SIGNATURE, then the signature check and the PCR
 * digest of the quote's selection over the container's banks), and re-encode: the encoding of
 * what parsed must be the input, byte for byte.
 * Seeds: fuzz/seeds/tpm_evidence/ecc_p256.bin (synthetic P-256 AK, as in fuzz_tpm_quote) and
 * synthetic_*.bin from fuzz/seedgen/gen_seeds.c (fresh keys: RSA-2048 RSASSA with SHA-1 and
 * SHA-256 banks and an AK certificate, RSA-2048 RSAPSS, P-384 over SHA-384); every signature
 * verifies and every PCR digest matches. Recorded vectors are never copied into the tree.
 * Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/tpm/tpm_evidence.h"
#include "util/bytes.h"

#include "container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tpm_evidence e;
    const char *why = NULL;
    if (tpm_evidence_parse(data, size, &e, &why) != 0) {
        if (!why)
            abort();
        return 0;
    }
    /* Everything borrowed lies inside the input. */
    fuzz_tpm_quote_fields(data, size, e.attest, e.attest_len, e.signature, e.signature_len,
                          e.n_banks);
    if (!fuzz_inside(e.ak_public, e.ak_public_len, data, size) ||
        e.n_certs > TPM_EVIDENCE_MAX_CERTS)
        abort();
    for (size_t i = 0; i < e.n_certs; i++)
        if (e.cert_lens[i] == 0 || !fuzz_inside(e.certs[i], e.cert_lens[i], data, size))
            abort();

    static struct tpm_quote q;
    static struct tpm_signature s;
    struct tpm_public pub;
    EVP_PKEY *key = NULL;
    int pok = tpm_public_parse(e.ak_public, e.ak_public_len, &pub, &key, NULL) == 0;
    int qok = tpm_quote_parse(e.attest, e.attest_len, &q, NULL) == 0;
    int sok = tpm_signature_parse(e.signature, e.signature_len, &s, NULL) == 0;
    if (pok != (key != NULL))
        abort();
    if (pok && sok)
        (void)tpm_signature_verify(&s, key, e.attest, e.attest_len);
    if (qok && sok)
        fuzz_pcr_digest(&q, e.banks, e.n_banks, s.hash_alg);
    EVP_PKEY_free(key);

    struct bytes_writer w;
    writer_init(&w, TPM_EVIDENCE_MAX);
    fuzz_reencodes(tpm_evidence_encode(&e, &w), &w, data, size);
    return 0;
}
