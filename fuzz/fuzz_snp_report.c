/*
 * fuzz_snp_report.c - libFuzzer harness for the SEV-SNP ATTESTATION_REPORT parser, the
 * generation/TCB decoders and the signature check (src/evidence/snp/snp_report.c).
 * Seeds: synthetic ones in fuzz/seeds/snp_report/ (fuzz/seedgen/gen_seeds.c or hand-made), plus, at run
 * time, the recorded vectors of ../shared/vectors that scripts/fuzz-smoke.sh maps to this
 * harness (the real reports of ../shared/vectors/snp); recorded vectors are never copied into the tree.
 * The key is generated at start-up: signatures never verify,
 * but the r/s conversion and the OpenSSL call run on every input that parses.
 * Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "evidence/snp/snp_report.h"

static EVP_PKEY *g_key;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_key = EVP_EC_gen("P-384");
    if (!g_key)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct snp_report r;
    const char *why = NULL;
    if (snp_report_parse(data, size, &r, &why) != 0) {
        if (!why)
            abort();
        return 0;
    }
    if (size != SNP_REPORT_LEN || r.signed_region != data)
        abort();
    enum snp_generation gen = snp_report_generation(&r);
    (void)snp_generation_name(gen);
    (void)snp_report_signing_key(&r);
    struct snp_tcb t = snp_tcb_decode(r.reported_tcb_raw, gen);
    if (t.raw != r.reported_tcb_raw)
        abort();
    (void)snp_tcb_decode(r.current_tcb_raw, SNP_GEN_TURIN);
    if (snp_report_verify_signature(&r, g_key) == 0)
        abort(); /* nobody else holds this key */
    return 0;
}
