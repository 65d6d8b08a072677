/*
 * fuzz_dcap_tcbinfo.c - libFuzzer harness for the DCAP signed-document split and the TCB Info
 * parser (src/evidence/dcap/dcap_collateral.c).
 * Seeds: synthetic ones in fuzz/seeds/dcap_tcbinfo/ (fuzz/seedgen/gen_seeds.c or hand-made), plus, at run
 * time, the recorded vectors of ../shared/vectors that scripts/fuzz-smoke.sh maps to this
 * harness (Intel PCS TCB Info bodies: go-tdx-guest SPR/EMR TDX v3, Phala TDX v3 and SGX v3); recorded vectors are never copied into the tree.
 * The input goes through dcap_signed_split("tcbInfo") and, when that succeeds, the span through
 * dcap_tcb_info_parse; the input is also parsed directly as a tcbInfo value.
 * Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/dcap/dcap_collateral.h"

#include "dcap_signed_doc.h"

static void parse_and_check(const uint8_t *p, size_t n)
{
    struct dcap_tcb_info ti;
    const char *why = NULL;
    if (dcap_tcb_info_parse(p, n, &ti, &why) != 0) {
        if (!why || ti.levels || ti.module_ids || ti.n_levels || ti.n_module_ids)
            abort();
        return;
    }
    /* Invariants of a parsed TCB Info: the header's bounds and the type rules. */
    if ((ti.version != 2 && ti.version != 3) || (ti.tdx && ti.version != 3) ||
        ti.n_levels == 0 || ti.n_levels > DCAP_MAX_TCB_LEVELS || !ti.levels ||
        ti.n_module_ids > DCAP_MAX_MODULE_IDS || ti.has_tdx_module != ti.tdx ||
        (ti.n_module_ids && !ti.tdx))
        abort();
    for (size_t i = 0; i < ti.n_levels; i++) {
        const struct dcap_tcb_level *l = &ti.levels[i];
        if (l->has_tdx_comp != ti.tdx || l->status == DCAP_TCB_UNKNOWN ||
            l->status == DCAP_TCB_NOT_SUPPORTED || l->advisories.n > DCAP_MAX_ADVISORIES)
            abort();
        for (size_t a = 0; a < l->advisories.n; a++)
            if (strnlen(l->advisories.id[a], DCAP_ADVISORY_LEN) >= DCAP_ADVISORY_LEN)
                abort();
    }
    for (size_t m = 0; m < ti.n_module_ids; m++) {
        const struct dcap_module_identity *mi = &ti.module_ids[m];
        if (mi->n_levels == 0 || mi->n_levels > DCAP_MAX_MODULE_LEVELS ||
            strnlen(mi->id, sizeof mi->id) >= sizeof mi->id)
            abort();
        (void)dcap_tcb_status_name(mi->levels[0].status);
    }
    dcap_tcb_info_free(&ti);
    if (ti.levels || ti.module_ids)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_signed_doc(data, size, "tcbInfo", parse_and_check);
    return 0;
}
