/*
 * fuzz_azure_vtpm.c - libFuzzer harness for the "azure-vtpm" evidence (src/evidence/azure/):
 * the TAZV container (parse; what parses re-encodes to the input byte for byte), the HCL
 * report inside it and - so that mutations reach it without the container's framing - the
 * input itself as an HCL report (parse; the claims lie inside the input and agree with the
 * sizes; the runtime claims through the strict JSON parser and the HCLAkPub extraction), the
 * quote, the TD quote of the TDX form (DCAP parser), and the whole backend with no anchors
 * and no collateral (it must fail, and never crash).
 * Seeds: fuzz/seeds/azure_vtpm/, built by tests/unit/test_azure.c (TETHER_AZURE_SEED_DIR):
 * valid_sha256.bin (the full chain, one SHA-256 bank, 2600-byte HCL report),
 * valid_two_banks_v1.bin (HCL version 1, SHA-256 and SHA-1 banks), exact_length_no_padding.bin
 * (the HCL report ends with its claims), valid_tdx.bin (the TDX form: a TDREPORT in the HCL
 * report, a v4 TD quote). All are signed by test keys (the test AMD and PCK hierarchies, a
 * test AK).
 * Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tether.h"

#include "evidence/azure/azure_vtpm.h"
#include "evidence/dcap/dcap_quote.h"
#include "evidence/snp/snp_report.h"
#include "policy/result.h"
#include "util/bytes.h"

#include "container.h"

static void hcl(const uint8_t *p, size_t n)
{
    struct azure_hcl h;
    const char *why = NULL;
    if (azure_hcl_parse(p, n, &h, &why) != 0) {
        if (!why)
            abort();
        return;
    }
    if (h.claims != p + AZURE_HCL_CLAIMS_OFF || h.claims_len == 0 ||
        AZURE_HCL_CLAIMS_OFF + h.claims_len + h.padding != n ||
        h.report_size != AZURE_HCL_CLAIMS_OFF + h.claims_len ||
        h.data_size != AZURE_HCL_REQUEST_DATA_LEN + h.claims_len ||
        h.hw_report != p + AZURE_HCL_HW_REPORT_OFF ||
        h.tdx != (h.report_type == AZURE_HCL_REPORT_TYPE_TDX) ||
        (h.tdx && h.hw_report[0] != AZURE_TDREPORT_TYPE_TDX))
        abort();
    struct snp_report rep;
    if (!h.tdx)
        (void)snp_report_parse(h.hw_report, AZURE_HCL_HW_REPORT_LEN, &rep, NULL);
    json_t *j = azure_hcl_claims_parse(h.claims, h.claims_len, &why);
    if (!j) {
        if (!why)
            abort();
        return;
    }
    EVP_PKEY *k = NULL;
    why = NULL;
    int rc = azure_hcl_ak(j, &k, &why);
    if ((rc == 0) != (k != NULL) || (rc != 0 && !why))
        abort();
    if (k && EVP_PKEY_get_bits(k) != 2048)
        abort();
    EVP_PKEY_free(k);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct azure_vtpm_evidence e;
    const char *why = NULL;
    hcl(data, size);
    if (azure_vtpm_evidence_parse(data, size, &e, &why) != 0) {
        if (!why)
            abort();
        return 0;
    }
    /* Everything borrowed lies inside the input. */
    fuzz_tpm_quote_fields(data, size, e.attest, e.attest_len, e.signature, e.signature_len,
                          e.n_banks);
    if (!fuzz_inside(e.hcl, e.hcl_len, data, size) || e.hcl_len == 0 ||
        e.hcl_len > AZURE_HCL_MAX ||
        (e.tdx && (!fuzz_inside(e.td_quote, e.td_quote_len, data, size) ||
                   e.td_quote_len == 0 || e.td_quote_len > AZURE_TD_QUOTE_MAX)) ||
        (!e.tdx && (e.td_quote || e.td_quote_len)) || (size >= 8 && e.tdx != (data[7] == 1)))
        abort();
    hcl(e.hcl, e.hcl_len);
    if (e.tdx) {
        static struct dcap_quote dq;
        (void)dcap_quote_parse_ex(e.td_quote, e.td_quote_len, true, &dq, NULL);
    }
    static struct tpm_quote q;
    if (tpm_quote_parse(e.attest, e.attest_len, &q, NULL) == 0)
        fuzz_pcr_digest(&q, e.banks, e.n_banks, TPM_ALG_SHA256);

    struct bytes_writer w;
    writer_init(&w, AZURE_VTPM_MAX);
    fuzz_reencodes(azure_vtpm_evidence_encode(&e, &w), &w, data, size);

    /* The backend: without a VCEK the embedded SNP report cannot verify, nor a TD quote
     * without collateral (and its test PCK chain does not reach Intel's root). */
    struct tether_result *r = result_new();
    if (!r)
        return 0;
    struct claims c;
    memset(&c, 0, sizeof c);
    struct evidence_anchors anchors = {.origin = "fuzz"};
    if (evidence_azure.verify(data, size, &anchors, 1700000000, NULL, &c, r) == 0 || !r->failed)
        abort();
    claims_clear(&c);
    tether_result_free(r);
    return 0;
}
