/*
 * fuzz_snp_vcek_ext.c - libFuzzer harness for the AMD VCEK/VLEK extension reader
 * (src/evidence/snp/snp_vcek.c). The input is a DER certificate.
 * Invariants: never crashes, leaks or reads past the input; an accepted certificate has a
 * hwID of 64 or 8 bytes when it has one, NUL-terminated printable strings of the stated
 * lengths, and a reason is always given on rejection.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/snp/snp_vcek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct snp_cert_ext e;
    const char *why = NULL;
    int rc = snp_cert_ext_read_der(data, size, &e, &why);
    if (!why)
        abort();
    if (rc == 0) {
        if (e.has_hwid && e.hwid_len != 64 && e.hwid_len != 8)
            abort();
        if (e.has_csp_id && (e.csp_id_len == 0 || strlen(e.csp_id) != e.csp_id_len))
            abort();
        if (e.has_product_name && strlen(e.product_name) > SNP_CERT_PRODUCT_MAX)
            abort();
        (void)snp_cert_product_generation(&e);
    } else if (why[0] == '\0') {
        abort();
    }
    return 0;
}
