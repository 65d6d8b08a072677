/*
 * fuzz_dcap_collateral_set.c - libFuzzer harness for the collateral file reader of the DCAP
 * verifier (src/evidence/dcap/dcap_verify.c add_buffer): classification (JSON / PEM / DER),
 * PCS bodies, the combined JSON bundle (signed documents as strings, hex signatures and CRLs),
 * PEM certificate chains and CRLs.
 * Seeds: synthetic ones in fuzz/seeds/dcap_collateral_set/ (fuzz/seedgen/gen_seeds.c or hand-made), plus, at run
 * time, the recorded vectors of ../shared/vectors that scripts/fuzz-smoke.sh maps to this
 * harness (the Phala bundles and PCS files); recorded vectors are never copied into the tree.
 * Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>

#include "evidence/dcap/dcap_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dcap_collateral_set *s = NULL;
    char why[400] = "";
    int rc = dcap_collateral_set_from_buffer(data, size, &s, why, sizeof why);
    if (rc != 0 && (s || !why[0]))
        abort(); /* a failure leaves nothing and says why */
    dcap_collateral_set_free(s);
    return 0;
}
