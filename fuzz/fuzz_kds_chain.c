/*
 * fuzz_kds_chain.c - libFuzzer harness for the collateral parsers (src/collateral): the strict
 * PEM chain splitter (every certificate found lies inside its output block and parses as DER
 * X.509), the DER certificate/CRL checks and the KDS base-URL policy. Bounded, no crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collateral/collateral.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct collateral_chain ch;
    if (collateral_pem_chain_split(data, size, &ch) == 0) {
        if (ch.count == 0 || ch.count > 4 || !ch.buf)
            abort();
        for (size_t i = 0; i < ch.count; i++)
            if (!collateral_is_der_cert(ch.cert[i].p, ch.cert[i].n) || ch.cert[i].p < ch.buf ||
                ch.cert[i].p + ch.cert[i].n > ch.buf + size)
                abort();
        free(ch.buf);
    }
    (void)collateral_is_der_cert(data, size);
    (void)collateral_is_der_crl(data, size);
    if (size < 512) {
        char url[512], err[256];
        memcpy(url, data, size);
        url[size] = '\0';
        (void)collateral_url_allowed(url, err, sizeof err);
    }
    return 0;
}
