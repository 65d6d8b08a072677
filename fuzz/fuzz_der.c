/*
 * fuzz_der.c - libFuzzer harness for the certificate SPKI walker, the SPKI key builder, the
 * SPKI-to-key comparison and the raw EC point import (src/util/der.c): bounded, no crash, any
 * SPKI found lies inside the input, and a key built from an SPKI always matches that SPKI
 * (der_spki_to_pkey and der_spki_matches_key agree).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "util/der.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *spki;
    size_t n;
    if (der_cert_spki(data, size, &spki, &n) == 0) {
        if (spki < data || spki + n > data + size)
            abort();
        EVP_PKEY_free(der_spki_to_pkey(spki, n));
    }
    EVP_PKEY *k = der_spki_to_pkey(data, size);
    if (k && der_spki_matches_key(data, size, k) != 1)
        abort();
    EVP_PKEY_free(k);
    EVP_PKEY_free(ec_pubkey_from_point(256, data, size));
    EVP_PKEY_free(ec_pubkey_from_point(384, data, size));
    return 0;
}
