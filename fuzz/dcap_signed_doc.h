/*
 * dcap_signed_doc.h - the body shared by the DCAP signed-document harnesses
 * (fuzz_dcap_tcbinfo.c, fuzz_dcap_qeid.c): the input goes through dcap_signed_split(key) and,
 * when that succeeds, the span through the harness's parse_and_check; the input is also
 * parsed directly as a value. Aborts when the split breaks its contract.
 */
#ifndef TETHER_FUZZ_DCAP_SIGNED_DOC_H
#define TETHER_FUZZ_DCAP_SIGNED_DOC_H

#include <stdint.h>
#include <stdlib.h>

#include "evidence/dcap/dcap_collateral.h"

static inline void fuzz_signed_doc(const uint8_t *data, size_t size, const char *key,
                                   void (*parse_and_check)(const uint8_t *p, size_t n))
{
    const uint8_t *v = NULL;
    size_t vl = 0;
    uint8_t sig[64];
    const char *why = NULL;
    if (dcap_signed_split(data, size, key, &v, &vl, sig, &why) == 0) {
        /* the span lies inside the input and is one object */
        if (!v || vl < 2 || v < data || vl > size || (size_t)(v - data) > size - vl ||
            v[0] != '{' || v[vl - 1] != '}')
            abort();
        parse_and_check(v, vl);
    } else if (!why || v || vl) {
        abort();
    }
    parse_and_check(data, size);
}

#endif
