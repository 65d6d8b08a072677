/*
 * fuzz_rfc3339.c - libFuzzer harness for rfc3339_parse (src/util/util.c), the timestamp
 * parser behind DCAP TCB dates and nextUpdate/issueDate (dcap_collateral.c, pcs.c).
 * The input is a C string (cut at the first NUL, copied to a buffer of exactly its length
 * plus the terminator, so ASan sees any read past it).
 * Invariants: a rejection leaves the output untouched; an accepted time lies in
 * [1970-01-01, 9999-12-31T23:59:60], its second-resolution RFC 3339 form (rfc3339_format)
 * parses back to the same time, and the input's first 19 characters give the same date as
 * that form (fractional seconds dropped, "Z" and "+00:00" only), and it has the fixed shape
 * DDDD-DD-DDTDD:DD:DD (digits only: the first run found "+1" and " 1" fields accepted).
 * Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SENTINEL ((time_t)0x5a5a5a5a)
#define MAX_TIME ((time_t)253402300800) /* 10000-01-01T00:00:00Z */

static int strict_shape(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t n = nul ? (size_t)(nul - data) : size;
    char *s = malloc(n + 1);
    if (!s)
        return 0;
    memcpy(s, data, n);
    s[n] = '\0';

    time_t t = SENTINEL;
    if (rfc3339_parse(s, &t) != 0) {
        if (t != SENTINEL)
            abort(); /* a rejection writes nothing */
        free(s);
        return 0;
    }
    if (t < 0 || t > MAX_TIME)
        abort();
    if (n < 20 || !strict_shape(s))
        abort();
    free(s);

    char buf[21];
    time_t back = SENTINEL;
    rfc3339_format(t, buf);
    if (rfc3339_parse(buf, &back) != 0 || back != t)
        abort(); /* the canonical form round-trips */
    return 0;
}
