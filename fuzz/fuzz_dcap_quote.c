/*
 * fuzz_dcap_quote.c - libFuzzer harness for the Intel DCAP quote parser, the PEM PCK chain
 * decoder and the three signature checks (src/evidence/dcap/dcap_quote.c).
 * Seeds: synthetic ones in fuzz/seeds/dcap_quote/ (fuzz/seedgen/gen_seeds.c or hand-made), plus, at run
 * time, the recorded vectors of ../shared/vectors that scripts/fuzz-smoke.sh maps to this
 * harness (the real TDX v4, v5/TD1.5 and SGX v3 quotes); recorded vectors are never copied into the tree.
 * Every parsed quote goes through the full signature path with its embedded keys.
 * Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/dcap/dcap_quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dcap_quote q;
    const char *why = NULL;
    if (dcap_quote_parse(data, size, &q, &why) != 0) {
        if (!why)
            abort();
        return 0;
    }
    /* Invariants of a parsed quote: everything borrowed lies inside the input. */
    if (q.signed_region != data || q.quote_len > size ||
        q.quote_len != q.signed_len + 4 + (size_t)q.sig_data_len ||
        q.report_data < data || q.report_data + 64 > data + q.signed_len ||
        q.qe_report_raw < data || q.qe_report_raw + 384 > data + q.quote_len ||
        q.pck_chain_pem < data || q.pck_chain_pem + q.pck_chain_pem_len > data + q.quote_len ||
        q.pck_chain_pem_len == 0)
        abort();
    for (size_t i = q.quote_len; i < size; i++)
        if (data[i])
            abort();
    (void)dcap_sig_result_name(dcap_quote_verify_signatures(&q));
    (void)dcap_quote_verify_quote_sig(&q);
    (void)dcap_quote_verify_qe_binding(&q);
    return 0;
}
