/*
 * fuzz_dcap_qeid.c - libFuzzer harness for the DCAP signed-document split and the Enclave
 * Identity parser (src/evidence/dcap/dcap_collateral.c).
 * Seeds: synthetic ones in fuzz/seeds/dcap_qeid/ (fuzz/seedgen/gen_seeds.c or hand-made), plus, at run
 * time, the recorded vectors of ../shared/vectors that scripts/fuzz-smoke.sh maps to this
 * harness (Intel PCS QE identity bodies: go-tdx-guest and Phala TD_QE, Phala SGX QE); recorded vectors are never copied into the tree.
 * The input goes through dcap_signed_split("enclaveIdentity") and, when that succeeds, the
 * span through dcap_qe_identity_parse; the input is also parsed directly as a value.
 * Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/dcap/dcap_collateral.h"

#include "dcap_signed_doc.h"

static struct dcap_qe_identity qe; /* ~130 KiB: static, not on the stack */

static void parse_and_check(const uint8_t *p, size_t n)
{
    const char *why = NULL;
    if (dcap_qe_identity_parse(p, n, &qe, &why) != 0) {
        if (!why || qe.n_levels || qe.id[0])
            abort();
        return;
    }
    if (qe.version != 2 || qe.n_levels == 0 || qe.n_levels > DCAP_MAX_QE_LEVELS ||
        (strcmp(qe.id, "QE") != 0 && strcmp(qe.id, "TD_QE") != 0 && strcmp(qe.id, "QVE") != 0))
        abort();
    for (size_t i = 0; i < qe.n_levels; i++) {
        const struct dcap_qe_level *l = &qe.levels[i];
        if (l->status == DCAP_TCB_UNKNOWN || l->status == DCAP_TCB_NOT_SUPPORTED ||
            l->status == DCAP_TCB_TD_RELAUNCH_ADVISED ||
            l->status == DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED ||
            l->advisories.n > DCAP_MAX_ADVISORIES)
            abort();
        for (size_t a = 0; a < l->advisories.n; a++)
            if (strnlen(l->advisories.id[a], DCAP_ADVISORY_LEN) >= DCAP_ADVISORY_LEN)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_signed_doc(data, size, "enclaveIdentity", parse_and_check);
    return 0;
}
