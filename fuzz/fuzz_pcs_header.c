/*
 * fuzz_pcs_header.c - libFuzzer harness for the decoder of Intel PCS issuer-chain response
 * headers (src/collateral/pcs.c pcs_percent_decode: strict %XX, printable ASCII only, bounded).
 * A decoded chain must never be longer than its input.
 * Seeds: synthetic ones in fuzz/seeds/pcs_header/ (fuzz/seedgen/gen_seeds.c or hand-made), plus, at run
 * time, the recorded vectors of ../shared/vectors that scripts/fuzz-smoke.sh maps to this
 * harness (a percent-encoded real TCB Info issuer chain, encoded at run time); recorded vectors are never copied into the tree.
 * Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>

#include "collateral/pcs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *out = NULL;
    size_t n = 0;
    if (pcs_percent_decode((const char *)data, size, &out, &n) == 0) {
        if (!out || n > size)
            abort();
    } else if (out) {
        abort(); /* a failure leaves nothing */
    }
    free(out);
    return 0;
}
