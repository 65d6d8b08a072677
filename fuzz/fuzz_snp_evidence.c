/*
 * fuzz_snp_evidence.c - libFuzzer harness for tether's "TSNP" SEV-SNP evidence container
 * (src/evidence/snp/snp_evidence.c): decode, and re-encode what decoded to the same bytes.
 * Seeds: fuzz/seeds/snp_evidence/. Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/snp/snp_evidence.h"
#include "util/bytes.h"

#include "container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct snp_evidence e;
    const char *why = NULL;
    if (snp_evidence_decode(data, size, &e, &why) != 0) {
        if (!why)
            abort();
        return 0;
    }
    if (e.report_len != SNP_REPORT_LEN || e.has_certs != (e.certtable_len != 0))
        abort();
    struct bytes_writer w;
    writer_init(&w, SNP_EVIDENCE_MAX);
    fuzz_reencodes(snp_evidence_encode(e.report, e.report_len, e.certtable, e.certtable_len, &w),
                   &w, data, size);
    return 0;
}
