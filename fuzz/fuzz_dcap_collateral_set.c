/*
 * fuzz_dcap_collateral_set.c - libFuzzer harness for the collateral file reader of the DCAP
 * verifier (src/evidence/dcap/dcap_verify.c add_buffer): classification (JSON / PEM / DER),
 * PCS bodies, the combined JSON bundle (signed documents as strings, hex signatures and CRLs),
 * PEM certificate chains and CRLs. Seeds: fuzz/seeds/dcap_collateral_set/ (the real Phala
 * bundles and decoded PCS files of ../shared/vectors).
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
