/*
 * fuzz_dcap_pck_ext.c - libFuzzer harness for the PCK certificate SGX extension parser
 * (src/evidence/dcap/dcap_pck.c, dcap_pck_ext_parse_der). The input is the extension VALUE
 * (the DER SEQUENCE of {OID, value}).
 * Seeds: synthetic ones in fuzz/seeds/dcap_pck_ext/ (fuzz/seedgen/gen_seeds.c or hand-made), plus, at run
 * time, the recorded vectors of ../shared/vectors that scripts/fuzz-smoke.sh maps to this
 * harness (the extension values of the real PCK leaves, extracted at run time); recorded vectors are never copied into the tree.
 * Invariants: never crashes, leaks or reads past the input; a rejection always gives a reason
 * and leaves the output zeroed; an accepted value has an SGX type 0..2 and its Configuration
 * flags only when has_configuration; parsing is deterministic.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/dcap/dcap_collateral.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the input. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    struct dcap_pck_ext e, e2;
    const char *why = NULL, *why2 = NULL;
    int rc = dcap_pck_ext_parse_der(buf, size, &e, &why);
    if (!why)
        abort();
    if (rc == 0) {
        if (e.sgx_type < 0 || e.sgx_type > 2)
            abort();
        if (!e.has_configuration && (e.dynamic_platform || e.cached_keys || e.smt_enabled))
            abort();
        if (!e.has_platform_instance_id && !all_zero(e.platform_instance_id, 16))
            abort();
    } else {
        if (why[0] == '\0' || !all_zero(&e, sizeof e))
            abort();
    }
    int rc2 = dcap_pck_ext_parse_der(buf, size, &e2, &why2);
    if (rc2 != rc || (rc == 0 && memcmp(&e, &e2, sizeof e) != 0))
        abort();
    free(buf);
    return 0;
}
