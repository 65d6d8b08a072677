/*
 * fuzz_cbor.c - libFuzzer harness for the strict CBOR profile (src/util/cbor.c).
 * Invariants: cbor_check never crashes, leaks or reads past the input; an input it accepts is
 * exactly one item, which cbor_skip consumes to the last byte; the pull reader never reports
 * a string that lies outside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/cbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    int rc = cbor_check(data, size, &why);
    struct bytes_reader r;
    reader_init(&r, data, size);
    bool skipped = cbor_skip(&r);
    if (rc == 0) {
        if (why || !skipped || !reader_done(&r))
            abort();
    } else if (!why) {
        abort();
    }
    /* Pull-read the top level as a string or container head, whatever it is. */
    reader_init(&r, data, size);
    const uint8_t *p;
    size_t n;
    if (cbor_read_bstr(&r, &p, &n) && (p < data || n > size || p + n > data + size))
        abort();
    reader_init(&r, data, size);
    if (cbor_read_tstr(&r, &p, &n) && (p < data || n > size || p + n > data + size))
        abort();
    return 0;
}
