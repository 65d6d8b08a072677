/*
 * fuzz_der.c - libFuzzer harness for the certificate SPKI walker and the SPKI key builder
 * (src/util/der.c): bounded, no crash, and any SPKI found lies inside the input.
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
    EVP_PKEY_free(der_spki_to_pkey(data, size));
    return 0;
}
