/*
 * test_dcap_tcb.c - the DCAP TCB-status algorithm (src/evidence/dcap/dcap_tcb.c).
 *
 * Most cases build struct dcap_tcb_info / dcap_qe_identity / dcap_pck_ext values directly in C
 * (no JSON parser involved): every status, first-match order, every error code, the TDX
 * TEE_TCB_SVN[0..1] skip with the module identity, the convergence tables, TD relaunch and the
 * advisory union. One end-to-end case runs the real quotes and collateral of
 * $TETHER_VECTORS (../shared/vectors by default; expectations from EXPECTED.txt and research
 * evidence.md B2/B3) through the collateral parser and skips when the vectors are absent.
 * Must never depend on the network or write files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "evidence/dcap/dcap_collateral.h"
#include "evidence/dcap/dcap_quote.h"
#include "evidence/dcap/dcap_tcb.h"
#include "util/util.h"
#include "lib/vectors.h"

#define D0 1731456000 /* 2024-11-13T00:00:00Z */
#define D1 1710288000 /* 2024-03-13T00:00:00Z */
#define D2 1515024000 /* 2018-01-04T00:00:00Z */

/* ---- fixtures ---- */

struct fx {
    struct dcap_pck_ext pck;
    struct dcap_sgx_report qe;
    struct dcap_tcb_level levels[4];
    struct dcap_module_identity mods[2];
    struct dcap_tcb_info ti;
    struct dcap_qe_identity qi;
    uint8_t tee[16], tee2[16], mrsignerseam[48];
    struct dcap_tcb_input in;
    struct dcap_tcb_eval out;
};

static const uint8_t QE_MRSIGNER[32] = {0x8c, 0x4f, 0x57, 0x75, 0xd7, 0x96, 0x50, 0x3e};

static void adv(struct dcap_advisories *a, const char *id)
{
    assert_true(a->n < DCAP_MAX_ADVISORIES);
    snprintf(a->id[a->n++], DCAP_ADVISORY_LEN, "%s", id);
}

static void setc(uint8_t out[16], const uint8_t *in, size_t n)
{
    memset(out, 0, 16);
    memcpy(out, in, n);
}

static void level(struct dcap_tcb_level *l, const uint8_t *sgx, size_t n, uint16_t pcesvn,
                  enum dcap_tcb_status st, int64_t date)
{
    memset(l, 0, sizeof *l);
    setc(l->sgx_comp, sgx, n);
    l->pcesvn = pcesvn;
    l->status = st;
    l->tcb_date = date;
}

static void qe_common(struct fx *f, const char *id, uint16_t prodid)
{
    snprintf(f->qi.id, sizeof f->qi.id, "%s", id);
    f->qi.version = 2;
    memcpy(f->qi.mrsigner, QE_MRSIGNER, 32);
    f->qi.isvprodid = prodid;
    f->qi.miscselect = 0;
    f->qi.miscselect_mask = 0xffffffffu;
    f->qi.attributes[0] = 0x11;
    memset(f->qi.attributes_mask, 0xff, 16);
    f->qi.attributes_mask[0] = 0xfb;
    f->qi.n_levels = 2;
    f->qi.levels[0] = (struct dcap_qe_level){.isvsvn = 8, .tcb_date = D1,
                                              .status = DCAP_TCB_UP_TO_DATE};
    f->qi.levels[1] = (struct dcap_qe_level){.isvsvn = 0, .tcb_date = D2,
                                              .status = DCAP_TCB_OUT_OF_DATE};
    adv(&f->qi.levels[1].advisories, "INTEL-SA-00615");
    memcpy(f->qe.mrsigner, QE_MRSIGNER, 32);
    f->qe.isv_prod_id = prodid;
    f->qe.isv_svn = 8;
    f->qe.misc_select = 0;
    f->qe.attributes[0] = 0x15; /* bit 2 (0x04) is outside the mask */
    f->in.pck = &f->pck;
    f->in.qe_report = &f->qe;
}

/* SGX: FMSPC 00a067110000, PCK comps 11,11,2,2,255,1 / PCESVN 13 -> level 1 (like the Phala
 * SGX sample). */
static struct fx *fx_sgx(void)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    static const uint8_t fmspc[6] = {0x00, 0xa0, 0x67, 0x11, 0x00, 0x00};
    memcpy(f->pck.fmspc, fmspc, 6);
    setc(f->pck.comp_svn, (const uint8_t[]){11, 11, 2, 2, 255, 1}, 6);
    memcpy(f->pck.cpusvn, f->pck.comp_svn, 16);
    f->pck.pcesvn = 13;
    level(&f->levels[0], (const uint8_t[]){12, 12, 2, 2, 255, 1}, 6, 13, DCAP_TCB_UP_TO_DATE, D0);
    level(&f->levels[1], (const uint8_t[]){11, 11, 2, 2, 255, 1}, 6, 13,
          DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, D1);
    adv(&f->levels[1].advisories, "INTEL-SA-00289");
    adv(&f->levels[1].advisories, "INTEL-SA-00615");
    level(&f->levels[2], (const uint8_t[]){1}, 1, 5, DCAP_TCB_OUT_OF_DATE, D2);
    adv(&f->levels[2].advisories, "INTEL-SA-00106");
    f->ti.tdx = false;
    f->ti.version = 3;
    memcpy(f->ti.fmspc, fmspc, 6);
    f->ti.levels = f->levels;
    f->ti.n_levels = 3;
    qe_common(f, "QE", 1);
    f->in.tdx = false;
    return f;
}

/* TDX (module 1.5): FMSPC 90c06f000000, PCK 3,3,2,2,4,1,0,5 / 13, TEE_TCB_SVN 0b 01 04 ->
 * level 0, module TDX_01 level 0 (like go-tdx-guest's EMR v5 sample). */
static struct fx *fx_tdx(void)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    static const uint8_t fmspc[6] = {0x90, 0xc0, 0x6f, 0x00, 0x00, 0x00};
    static const uint8_t comps[8] = {3, 3, 2, 2, 4, 1, 0, 5};
    static const uint8_t older[8] = {2, 2, 2, 2, 3, 1, 0, 5};
    memcpy(f->pck.fmspc, fmspc, 6);
    setc(f->pck.comp_svn, comps, 8);
    f->pck.pcesvn = 13;
    level(&f->levels[0], comps, 8, 13, DCAP_TCB_UP_TO_DATE, D0);
    setc(f->levels[0].tdx_comp, (const uint8_t[]){5, 0, 3}, 3);
    level(&f->levels[1], older, 8, 13, DCAP_TCB_OUT_OF_DATE, D1);
    setc(f->levels[1].tdx_comp, (const uint8_t[]){5, 0, 2}, 3);
    adv(&f->levels[1].advisories, "INTEL-SA-01036");
    adv(&f->levels[1].advisories, "INTEL-SA-01079");
    level(&f->levels[2], older, 8, 5, DCAP_TCB_OUT_OF_DATE, D2);
    setc(f->levels[2].tdx_comp, (const uint8_t[]){5, 0, 2}, 3);
    adv(&f->levels[2].advisories, "INTEL-SA-00106");
    for (int i = 0; i < 3; i++)
        f->levels[i].has_tdx_comp = true;
    f->ti.tdx = true;
    f->ti.version = 3;
    memcpy(f->ti.fmspc, fmspc, 6);
    f->ti.levels = f->levels;
    f->ti.n_levels = 3;
    f->ti.has_tdx_module = true;
    f->ti.tdx_module_attributes_mask = ~0ull;
    /* tdxModuleIdentities: TDX_03 then TDX_01 (document order, as PCS serves them) */
    struct dcap_module_identity *m3 = &f->mods[0], *m1 = &f->mods[1];
    snprintf(m3->id, sizeof m3->id, "TDX_03");
    m3->attributes_mask = ~0ull;
    m3->n_levels = 1;
    m3->levels[0] = (struct dcap_module_level){.isvsvn = 3, .tcb_date = D0,
                                                .status = DCAP_TCB_UP_TO_DATE};
    snprintf(m1->id, sizeof m1->id, "TDX_01");
    m1->attributes_mask = ~0ull;
    m1->n_levels = 3;
    m1->levels[0] = (struct dcap_module_level){.isvsvn = 6, .tcb_date = D0,
                                                .status = DCAP_TCB_UP_TO_DATE};
    m1->levels[1] = (struct dcap_module_level){.isvsvn = 4, .tcb_date = D1,
                                                .status = DCAP_TCB_OUT_OF_DATE};
    adv(&m1->levels[1].advisories, "INTEL-SA-01036");
    adv(&m1->levels[1].advisories, "INTEL-SA-09999");
    m1->levels[2] = (struct dcap_module_level){.isvsvn = 2, .tcb_date = D2,
                                                .status = DCAP_TCB_REVOKED};
    f->ti.module_ids = f->mods;
    f->ti.n_module_ids = 2;
    qe_common(f, "TD_QE", 2);
    setc(f->tee, (const uint8_t[]){0x0b, 1, 4}, 3);
    f->in.tdx = true;
    f->in.tee_tcb_svn = f->tee;
    f->in.tee_tcb_svn2 = NULL;
    f->in.mrsignerseam = f->mrsignerseam;
    f->in.seam_attributes = 0;
    return f;
}

static int eval(struct fx *f)
{
    int rc = dcap_tcb_evaluate(&f->ti, &f->qi, &f->in, &f->out);
    if (rc == 0)
        assert_null(f->out.code);
    else
        assert_non_null(f->out.code);
    return rc;
}

static void expect_status(struct fx *f, enum dcap_tcb_status want)
{
    if (eval(f) != 0)
        fail_msg("evaluate failed: %s (%s)", f->out.code, f->out.why);
    if (f->out.status != want)
        fail_msg("status %d, want %d", (int)f->out.status, (int)want);
}

static void expect_error(struct fx *f, const char *code)
{
    assert_int_equal(eval(f), -1);
    assert_string_equal(f->out.code, code);
    assert_true(f->out.why[0] != '\0');
}

static const enum dcap_tcb_status PLATFORM_STATUSES[] = {
    DCAP_TCB_UP_TO_DATE,          DCAP_TCB_SW_HARDENING_NEEDED,
    DCAP_TCB_CONFIGURATION_NEEDED, DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    DCAP_TCB_OUT_OF_DATE,         DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    DCAP_TCB_REVOKED,
};
#define NPS (sizeof PLATFORM_STATUSES / sizeof PLATFORM_STATUSES[0])

/* ---- cases ---- */

/* Every document status passes through unchanged when the QE is UpToDate; statuses that cannot
 * appear in a tcbLevels entry give Unknown; no level gives NOT_SUPPORTED. */
static void test_every_status(void **state)
{
    (void)state;
    struct fx *f = fx_sgx();
    expect_status(f, DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(f->out.platform_level, 1);
    assert_int_equal(f->out.platform_tcb_date, D1);
    assert_int_equal(f->out.tcb_date, D1);
    assert_int_equal(f->out.qe_level, 0);
    assert_int_equal(f->out.qe_status, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(f->out.qe_tcb_date, D1);
    assert_false(f->out.module_checked);
    for (size_t i = 0; i < NPS; i++) {
        f->levels[1].status = PLATFORM_STATUSES[i];
        expect_status(f, PLATFORM_STATUSES[i]);
        assert_int_equal(f->out.platform_status, PLATFORM_STATUSES[i]);
    }
    const enum dcap_tcb_status bad[] = {DCAP_TCB_UNKNOWN, DCAP_TCB_NOT_SUPPORTED,
                                        DCAP_TCB_TD_RELAUNCH_ADVISED,
                                        DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED, 99};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f->levels[1].status = bad[i];
        expect_status(f, DCAP_TCB_UNKNOWN);
    }
    f->levels[1].status = DCAP_TCB_UP_TO_DATE;
    /* A QE level with a status QE identities never carry also gives Unknown. */
    f->qi.levels[0].status = DCAP_TCB_SW_HARDENING_NEEDED;
    expect_status(f, DCAP_TCB_UNKNOWN);
    f->qi.levels[0].status = DCAP_TCB_UP_TO_DATE;

    /* Below every level: NOT_SUPPORTED is a status (0), not an error. */
    f->pck.comp_svn[0] = 0;
    expect_status(f, DCAP_TCB_NOT_SUPPORTED);
    assert_int_equal(f->out.platform_level, -1);
    assert_int_equal(f->out.platform_status, DCAP_TCB_NOT_SUPPORTED);
    assert_int_equal(f->out.tcb_date, 0);
    /* ... whatever the QE says */
    f->qi.levels[0].status = DCAP_TCB_REVOKED;
    expect_status(f, DCAP_TCB_NOT_SUPPORTED);
    f->qe.isv_svn = 0;
    expect_status(f, DCAP_TCB_NOT_SUPPORTED);
    /* Empty TCB Info */
    f->ti.n_levels = 0;
    expect_status(f, DCAP_TCB_NOT_SUPPORTED);
    free(f);
}

static void test_first_match_in_document_order(void **state)
{
    (void)state;
    struct fx *f = fx_sgx();
    f->pck.comp_svn[0] = f->pck.comp_svn[1] = 12; /* meets level 0 too */
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(f->out.platform_level, 0);
    assert_int_equal(f->out.tcb_date, D0);
    /* Document order, not "best": a lower level listed first wins. */
    struct dcap_tcb_level tmp = f->levels[0];
    f->levels[0] = f->levels[1];
    f->levels[1] = tmp;
    expect_status(f, DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(f->out.platform_level, 0);
    free(f);

    f = fx_sgx();
    f->pck.pcesvn = 12; /* PCESVN below levels 0 and 1 */
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    assert_int_equal(f->out.platform_level, 2);
    assert_int_equal(f->out.tcb_date, D2);
    f->pck.pcesvn = 13;
    /* One component below (index 15): all 16 must be >= */
    f->levels[1].sgx_comp[15] = 1;
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    assert_int_equal(f->out.platform_level, 2);
    /* The PCK's component SVNs decide, not its CPUSVN octets. */
    f->levels[1].sgx_comp[15] = 0;
    memset(f->pck.cpusvn, 0, 16);
    expect_status(f, DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    free(f);
}

static void test_error_codes(void **state)
{
    (void)state;
    struct fx *f = fx_sgx();
    f->ti.tdx = true;
    expect_error(f, DCAP_TCB_ERR_TYPE);
    free(f);
    f = fx_tdx();
    f->ti.tdx = false;
    expect_error(f, DCAP_TCB_ERR_TYPE);
    f->ti.tdx = true;
    f->ti.version = 2;
    expect_error(f, DCAP_TCB_ERR_TYPE);
    f->ti.version = 3;
    f->in.tee_tcb_svn = NULL;
    expect_error(f, DCAP_TCB_ERR_TYPE);
    free(f);

    f = fx_sgx();
    f->ti.fmspc[5] ^= 1;
    expect_error(f, DCAP_TCB_ERR_FMSPC);
    f->ti.fmspc[5] ^= 1;
    f->ti.pce_id[1] = 1;
    expect_error(f, DCAP_TCB_ERR_PCEID);
    f->ti.pce_id[1] = 0;
    expect_status(f, DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    /* QE identity */
    snprintf(f->qi.id, sizeof f->qi.id, "TD_QE");
    expect_error(f, DCAP_TCB_ERR_QE_KIND);
    snprintf(f->qi.id, sizeof f->qi.id, "QVE");
    expect_error(f, DCAP_TCB_ERR_QE_KIND);
    snprintf(f->qi.id, sizeof f->qi.id, "QE");
    f->qe.mrsigner[31] ^= 1;
    expect_error(f, DCAP_TCB_ERR_QE_ID);
    f->qe.mrsigner[31] ^= 1;
    f->qe.isv_prod_id = 2;
    expect_error(f, DCAP_TCB_ERR_QE_ID);
    f->qe.isv_prod_id = 1;
    f->qe.misc_select = 1;
    expect_error(f, DCAP_TCB_ERR_QE_ID);
    f->qe.misc_select = 0;
    f->qe.attributes[15] = 0x80;
    expect_error(f, DCAP_TCB_ERR_QE_ID);
    f->qe.attributes[15] = 0;
    f->qi.levels[1].isvsvn = 3;
    f->qe.isv_svn = 2;
    expect_error(f, DCAP_TCB_ERR_QE_TCB);
    free(f);

    /* A TDX quote judged with a QE (not TD_QE) identity */
    f = fx_tdx();
    snprintf(f->qi.id, sizeof f->qi.id, "QE");
    expect_error(f, DCAP_TCB_ERR_QE_KIND);
    free(f);

    /* Errors outrank NOT_SUPPORTED: a mismatch is reported even when no level matches. */
    f = fx_sgx();
    f->pck.comp_svn[0] = 0;
    f->qe.isv_prod_id = 9;
    expect_error(f, DCAP_TCB_ERR_QE_ID);
    free(f);

    /* Missing inputs */
    f = fx_sgx();
    assert_int_equal(dcap_tcb_evaluate(NULL, &f->qi, &f->in, &f->out), -1);
    assert_int_equal(dcap_tcb_evaluate(&f->ti, NULL, &f->in, &f->out), -1);
    f->in.pck = NULL;
    assert_int_equal(dcap_tcb_evaluate(&f->ti, &f->qi, &f->in, &f->out), -1);
    assert_int_equal(dcap_tcb_evaluate(&f->ti, &f->qi, &f->in, NULL), -1);
    free(f);
}

static void test_tdx_module_and_index_skip(void **state)
{
    (void)state;
    struct fx *f = fx_tdx();
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(f->out.platform_level, 0);
    assert_int_equal(f->out.tcb_date, D0);
    assert_true(f->out.module_checked);
    assert_string_equal(f->out.module_id, "TDX_01");
    assert_int_equal(f->out.module_level, 0);
    assert_int_equal(f->out.module_status, DCAP_TCB_UP_TO_DATE);

    /* TEE_TCB_SVN[1] > 0: bytes 0 and 1 are not compared with tdxtcbcomponents. */
    f->levels[0].tdx_comp[0] = 0x20;
    f->levels[0].tdx_comp[1] = 0x20;
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(f->out.platform_level, 0);
    /* but byte 2 and up are */
    f->tee[2] = 2;
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    assert_int_equal(f->out.platform_level, 1);
    f->tee[2] = 4;
    f->levels[0].tdx_comp[15] = 1;
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    assert_int_equal(f->out.platform_level, 1);
    f->levels[0].tdx_comp[15] = 0;

    /* TEE_TCB_SVN[1] == 0 (TD 1.0 module): all 16 bytes compared, tdxModule checked, no
     * module identity level. */
    f->tee[1] = 0;
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    assert_int_equal(f->out.platform_level, 1);
    assert_false(f->out.module_checked);
    assert_int_equal(f->out.module_level, -1);
    assert_int_equal(f->out.module_status, DCAP_TCB_UP_TO_DATE);
    f->levels[0].tdx_comp[0] = 5;
    f->levels[0].tdx_comp[1] = 0;
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    f->mrsignerseam[47] = 1;
    expect_error(f, DCAP_TCB_ERR_MODULE); /* against tdxModule */
    memcpy(f->ti.tdx_module_mrsigner, f->mrsignerseam, 48);
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    f->ti.has_tdx_module = false; /* fail closed */
    expect_error(f, DCAP_TCB_ERR_MODULE);
    free(f);

    /* Module identity: found case-insensitively; missing; MRSIGNER; attributes. */
    f = fx_tdx();
    snprintf(f->mods[1].id, sizeof f->mods[1].id, "tdx_01");
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    assert_string_equal(f->out.module_id, "TDX_01");
    f->tee[1] = 2; /* TDX_02 does not exist */
    expect_error(f, DCAP_TCB_ERR_MODULE);
    assert_non_null(strstr(f->out.why, "TDX_02"));
    f->tee[1] = 0x1b; /* the id is %02X */
    snprintf(f->mods[1].id, sizeof f->mods[1].id, "TDX_1B");
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    f->tee[1] = 1;
    snprintf(f->mods[1].id, sizeof f->mods[1].id, "TDX_01");
    f->mrsignerseam[0] = 0xaa;
    expect_error(f, DCAP_TCB_ERR_MODULE);
    memcpy(f->mods[1].mrsigner, f->mrsignerseam, 48);
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    /* SEAMATTRIBUTES: the quote's LE u64 0x01 is the byte string 01 00 .. 00, which the
     * document writes "0100000000000000" (stored as 0x0100000000000000). */
    f->in.seam_attributes = 1;
    expect_error(f, DCAP_TCB_ERR_MODULE);
    f->mods[1].attributes = 0x0100000000000000ull;
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    f->mods[1].attributes = 0;
    f->mods[1].attributes_mask = 0x00ffffffffffffffull; /* byte 0 masked off */
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    f->mods[1].attributes_mask = 0xfeffffffffffffffull;
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    f->mods[1].attributes_mask = 0xffull; /* a little-endian comparison would see 1 & 0xff */
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    f->mods[1].attributes_mask = ~0ull;
    f->in.seam_attributes = 0;

    /* Module TCB level: first with isvsvn <= TEE_TCB_SVN[0] */
    f->tee[0] = 5;
    expect_status(f, DCAP_TCB_OUT_OF_DATE); /* module level 1 OutOfDate converges */
    assert_int_equal(f->out.module_level, 1);
    assert_int_equal(f->out.module_status, DCAP_TCB_OUT_OF_DATE);
    assert_int_equal(f->out.platform_status, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(f->out.tcb_date, D0);
    f->tee[0] = 2;
    expect_status(f, DCAP_TCB_REVOKED);
    assert_int_equal(f->out.module_level, 2);
    f->tee[0] = 1;
    expect_error(f, DCAP_TCB_ERR_MODULE_TCB);
    /* With no platform level, NOT_SUPPORTED comes first (QVL order). */
    f->pck.pcesvn = 1;
    expect_status(f, DCAP_TCB_NOT_SUPPORTED);
    free(f);

    /* A TDX level without tdxtcbcomponents never matches. */
    f = fx_tdx();
    f->levels[0].has_tdx_comp = false;
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    assert_int_equal(f->out.platform_level, 1);
    free(f);
}

/* QVL convergeTcbStatusWithQeTcbStatus / convergeTcbStatusWithTdxModuleStatus. */
static void test_convergence_tables(void **state)
{
    (void)state;
    const enum dcap_tcb_status with_ood[NPS] = {
        DCAP_TCB_OUT_OF_DATE,                      /* UpToDate */
        DCAP_TCB_OUT_OF_DATE,                      /* SWHardeningNeeded */
        DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, /* ConfigurationNeeded */
        DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, /* ConfigurationAndSWHardeningNeeded */
        DCAP_TCB_OUT_OF_DATE,                      /* OutOfDate */
        DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, /* OutOfDateConfigurationNeeded */
        DCAP_TCB_REVOKED,                          /* Revoked */
    };
    /* QE OutOfDate (ISVSVN 7 < 8: level 1) */
    struct fx *f = fx_sgx();
    f->qe.isv_svn = 7;
    for (size_t i = 0; i < NPS; i++) {
        f->levels[1].status = PLATFORM_STATUSES[i];
        expect_status(f, with_ood[i]);
        assert_int_equal(f->out.qe_status, DCAP_TCB_OUT_OF_DATE);
        assert_int_equal(f->out.qe_level, 1);
        assert_int_equal(f->out.platform_status, PLATFORM_STATUSES[i]);
    }
    /* QE Revoked: always Revoked */
    f->qi.levels[1].status = DCAP_TCB_REVOKED;
    for (size_t i = 0; i < NPS; i++) {
        f->levels[1].status = PLATFORM_STATUSES[i];
        expect_status(f, DCAP_TCB_REVOKED);
    }
    free(f);

    /* TDX module OutOfDate (TEE_TCB_SVN[0] = 4) and Revoked (2), QE UpToDate */
    f = fx_tdx();
    for (size_t i = 0; i < NPS; i++) {
        f->levels[0].status = PLATFORM_STATUSES[i];
        f->tee[0] = 4;
        expect_status(f, with_ood[i]);
        assert_int_equal(f->out.module_status, DCAP_TCB_OUT_OF_DATE);
        f->tee[0] = 2;
        expect_status(f, DCAP_TCB_REVOKED);
        f->tee[0] = 6;
        expect_status(f, PLATFORM_STATUSES[i]);
    }
    /* Module OutOfDate then QE OutOfDate: still OutOfDate(ConfigurationNeeded) */
    f->levels[0].status = DCAP_TCB_CONFIGURATION_NEEDED;
    f->tee[0] = 4;
    f->qe.isv_svn = 0;
    expect_status(f, DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
    free(f);
}

/* TD 1.5 relaunch (QVL checkForRelaunch plus the conservative re-evaluation, dcap_tcb.c). */
static void test_td_relaunch(void **state)
{
    (void)state;
    struct fx *f = fx_tdx();
    setc(f->tee, (const uint8_t[]){4, 1, 3}, 3); /* module TDX_01 level 1: OutOfDate */
    setc(f->tee2, (const uint8_t[]){6, 1, 3}, 3); /* the updated module: level 0 */
    expect_status(f, DCAP_TCB_OUT_OF_DATE);       /* TD 1.0 body: no SVN2 */
    f->in.tee_tcb_svn2 = f->tee2;
    expect_status(f, DCAP_TCB_TD_RELAUNCH_ADVISED);
    assert_int_equal(f->out.platform_status, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(f->out.module_status, DCAP_TCB_OUT_OF_DATE);
    assert_int_equal(f->out.tcb_date, D0);

    /* Configuration variant */
    f->levels[0].status = DCAP_TCB_CONFIGURATION_NEEDED;
    expect_status(f, DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED);
    f->levels[0].status = DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED;
    expect_status(f, DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED);
    f->levels[0].status = DCAP_TCB_SW_HARDENING_NEEDED;
    expect_status(f, DCAP_TCB_TD_RELAUNCH_ADVISED);
    f->levels[0].status = DCAP_TCB_UP_TO_DATE;

    /* SVN2 no newer than SVN: nothing to relaunch into */
    memcpy(f->tee2, f->tee, 16);
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    /* SVN2[0] reaches the newest module level but SVN2[2] is below tcbLevels[0] */
    setc(f->tee2, (const uint8_t[]){6, 1, 2}, 3);
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    /* QE OutOfDate: no relaunch, plain QE convergence */
    setc(f->tee2, (const uint8_t[]){6, 1, 3}, 3);
    f->qe.isv_svn = 0;
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    f->qe.isv_svn = 8;
    expect_status(f, DCAP_TCB_TD_RELAUNCH_ADVISED);
    /* Module Revoked: Revoked, never relaunch */
    f->tee[0] = 2;
    expect_status(f, DCAP_TCB_REVOKED);
    f->tee[0] = 4;
    /* Platform OutOfDate on its own (module UpToDate): QVL requires the module to be the
     * outdated part */
    f->tee[0] = 6;
    f->tee[2] = 2; /* level 1: OutOfDate */
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    f->tee[2] = 3;
    f->tee[0] = 4;
    /* SGX part alone OutOfDate (PCK below level 0): no relaunch */
    f->pck.comp_svn[0] = 2;
    f->pck.comp_svn[1] = 2;
    f->pck.comp_svn[4] = 3;
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    free(f);

    /* SVN2 names a module the TCB Info does not know: QVL's TDX_MODULE_MISMATCH */
    f = fx_tdx();
    setc(f->tee, (const uint8_t[]){4, 1, 3}, 3);
    setc(f->tee2, (const uint8_t[]){6, 2, 3}, 3);
    f->in.tee_tcb_svn2 = f->tee2;
    expect_error(f, DCAP_TCB_ERR_MODULE);
    /* ... and one it knows: TDX_03 ISVSVN 3 */
    setc(f->tee2, (const uint8_t[]){3, 3, 3}, 3);
    expect_status(f, DCAP_TCB_TD_RELAUNCH_ADVISED);
    /* SVN2[1] == 0: SVN2[0] and SVN2[2] against tcbLevels[0].tdxtcbcomponents */
    setc(f->tee2, (const uint8_t[]){5, 0, 3}, 3);
    expect_status(f, DCAP_TCB_TD_RELAUNCH_ADVISED);
    setc(f->tee2, (const uint8_t[]){4, 0, 3}, 3);
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    free(f);

    /* Conservative: QVL's two-byte test passes but re-evaluating with SVN2 finds no
     * UpToDate level (SVN2[3] is below every level's tdxtcbcomponents[3]). */
    f = fx_tdx();
    for (int i = 0; i < 3; i++)
        f->levels[i].tdx_comp[3] = 1;
    setc(f->tee, (const uint8_t[]){4, 1, 3, 1}, 4);
    setc(f->tee2, (const uint8_t[]){6, 1, 3, 0}, 4);
    f->in.tee_tcb_svn2 = f->tee2;
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    f->tee2[3] = 1;
    expect_status(f, DCAP_TCB_TD_RELAUNCH_ADVISED);
    free(f);
}

static void test_advisories_union(void **state)
{
    (void)state;
    struct fx *f = fx_tdx();
    setc(f->tee, (const uint8_t[]){4, 1, 2}, 3); /* platform level 1, module level 1 */
    f->qi.levels[0].advisories.n = 0;
    adv(&f->qi.levels[0].advisories, "INTEL-SA-09999");
    adv(&f->qi.levels[0].advisories, "INTEL-SA-00615");
    expect_status(f, DCAP_TCB_OUT_OF_DATE);
    const char *want[] = {"INTEL-SA-01036", "INTEL-SA-01079", "INTEL-SA-09999",
                          "INTEL-SA-00615"};
    assert_int_equal(f->out.advisories.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(f->out.advisories.id[i], want[i]);

    /* UpToDate everywhere: no advisories */
    setc(f->tee, (const uint8_t[]){0x0b, 1, 4}, 3);
    f->qi.levels[0].advisories.n = 0;
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(f->out.advisories.n, 0);

    /* Bounded: 64 platform + 64 QE distinct IDs give the first 64. */
    f->levels[0].advisories.n = 0;
    for (int i = 0; i < DCAP_MAX_ADVISORIES; i++) {
        char id[DCAP_ADVISORY_LEN];
        snprintf(id, sizeof id, "INTEL-SA-%05d", i);
        adv(&f->levels[0].advisories, id);
        snprintf(id, sizeof id, "INTEL-SA-%05d", 100 + i);
        adv(&f->qi.levels[0].advisories, id);
    }
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(f->out.advisories.n, DCAP_MAX_ADVISORIES);
    assert_string_equal(f->out.advisories.id[63], "INTEL-SA-00063");
    /* An unterminated 32-byte ID is cut, never overread. */
    f->levels[0].advisories.n = 1;
    memset(f->levels[0].advisories.id[0], 'A', DCAP_ADVISORY_LEN);
    f->qi.levels[0].advisories.n = 0;
    expect_status(f, DCAP_TCB_UP_TO_DATE);
    assert_int_equal(strlen(f->out.advisories.id[0]), DCAP_ADVISORY_LEN - 1);
    free(f);

    /* SGX: platform [00289, 00615] + QE level 1 [00615] -> [00289, 00615] */
    f = fx_sgx();
    f->qe.isv_svn = 0;
    expect_status(f, DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
    assert_int_equal(f->out.advisories.n, 2);
    assert_string_equal(f->out.advisories.id[0], "INTEL-SA-00289");
    assert_string_equal(f->out.advisories.id[1], "INTEL-SA-00615");
    free(f);
}

static void test_qe_identity_check_alone(void **state)
{
    (void)state;
    struct fx *f = fx_sgx();
    struct dcap_tcb_eval *o = &f->out;
    assert_int_equal(dcap_qe_identity_check(&f->qi, &f->qe, false, o), 0);
    assert_int_equal(o->qe_level, 0);
    assert_int_equal(o->qe_status, DCAP_TCB_UP_TO_DATE);
    assert_null(o->code);
    assert_int_equal(dcap_qe_identity_check(&f->qi, &f->qe, true, o), -1);
    assert_string_equal(o->code, DCAP_TCB_ERR_QE_KIND);
    /* Bits outside the masks do not matter */
    f->qi.miscselect_mask = 0xfffffff0u;
    f->qe.misc_select = 0x0f;
    f->qe.attributes[0] = 0x15;
    assert_int_equal(dcap_qe_identity_check(&f->qi, &f->qe, false, o), 0);
    /* ... bits inside do */
    f->qe.misc_select = 0x10;
    assert_int_equal(dcap_qe_identity_check(&f->qi, &f->qe, false, o), -1);
    assert_string_equal(o->code, DCAP_TCB_ERR_QE_ID);
    f->qe.misc_select = 0;
    f->qe.attributes[0] = 0x01;
    assert_int_equal(dcap_qe_identity_check(&f->qi, &f->qe, false, o), -1);
    f->qe.attributes[0] = 0x11;
    /* Levels: first with ISVSVN >= isvsvn */
    f->qe.isv_svn = 100;
    assert_int_equal(dcap_qe_identity_check(&f->qi, &f->qe, false, o), 0);
    assert_int_equal(o->qe_level, 0);
    f->qe.isv_svn = 7;
    assert_int_equal(dcap_qe_identity_check(&f->qi, &f->qe, false, o), 0);
    assert_int_equal(o->qe_level, 1);
    assert_int_equal(o->qe_status, DCAP_TCB_OUT_OF_DATE);
    assert_int_equal(o->qe_tcb_date, D2);
    f->qi.n_levels = 1;
    assert_int_equal(dcap_qe_identity_check(&f->qi, &f->qe, false, o), -1);
    assert_string_equal(o->code, DCAP_TCB_ERR_QE_TCB);
    f->qi.n_levels = 0;
    assert_int_equal(dcap_qe_identity_check(&f->qi, &f->qe, false, o), -1);
    assert_int_equal(dcap_qe_identity_check(NULL, &f->qe, false, o), -1);
    free(f);
}

/* ---- end to end with the real vectors and the collateral parser ---- */

struct e2e {
    const char *quote;
    size_t nonzero_trailer;
    const char *tcbinfo, *qeid;
    enum dcap_tcb_status status;
    const char *tcb_date; /* NULL: none */
    const char *advisories[4];
};

#define GT "tdx/go-tdx-guest/"
#define PT "tdx/phala-dcap-qvl/"
#define PS "sgx/phala-dcap-qvl/"
static const struct e2e E2E[] = {
    {GT "spr_v4_quote.dat", 39, GT "collateral/tcbinfo_50806f000000_2023-06-18.json",
     GT "collateral/qe_identity_TD_QE_2023-06-08.json", DCAP_TCB_NOT_SUPPORTED, NULL, {NULL}},
    {GT "emr_v5_quote.dat", 0, GT "collateral/tcbinfo_90c06f000000_2026-02-01.json",
     GT "collateral/qe_identity_TD_QE_2023-06-08.json", DCAP_TCB_UP_TO_DATE,
     "2024-11-13T00:00:00Z", {NULL}},
    {PT "emr_v4_quote.bin", 0, PT "decoded/tdx_quote_tcb_info.json",
     PT "decoded/tdx_quote_qe_identity.json", DCAP_TCB_UP_TO_DATE, "2024-03-13T00:00:00Z",
     {NULL}},
    {PT "emr_v5_quote_outdated.bin", 0, PT "decoded/tdx_quote_outdated_tcb_info.json",
     PT "decoded/tdx_quote_outdated_qe_identity.json", DCAP_TCB_NOT_SUPPORTED, NULL, {NULL}},
    {PS "sgx_v3_quote.bin", 0, PS "decoded/sgx_quote_tcb_info.json",
     PS "decoded/sgx_quote_qe_identity.json", DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
     "2024-03-13T00:00:00Z", {"INTEL-SA-00289", "INTEL-SA-00615", NULL}},
};

static void test_real_vectors_end_to_end(void **state)
{
    (void)state;
    int seen = 0;
    for (size_t i = 0; i < sizeof E2E / sizeof E2E[0]; i++) {
        const struct e2e *t = &E2E[i];
        size_t ql = 0, tl = 0, il = 0;
        uint8_t *qb = test_vector("DCAP", t->quote, &ql);
        uint8_t *tb = test_vector("DCAP", t->tcbinfo, &tl);
        uint8_t *ib = test_vector("DCAP", t->qeid, &il);
        if (!qb || !tb || !ib) {
            free(qb), free(tb), free(ib);
            continue;
        }
        seen++;
        const char *why = NULL;
        struct dcap_quote q;
        if (dcap_quote_parse(qb, ql - t->nonzero_trailer, &q, &why) != 0)
            fail_msg("%s: %s", t->quote, why);
        STACK_OF(X509) *chain = NULL;
        assert_int_equal(dcap_quote_pck_chain(&q, &chain), 0);
        struct dcap_pck_ext pck;
        if (dcap_pck_ext_from_cert(sk_X509_value(chain, 0), &pck, &why) != 0)
            fail_msg("%s: %s", t->quote, why);
        sk_X509_pop_free(chain, X509_free);

        const uint8_t *val;
        size_t vl;
        uint8_t sig[64];
        struct dcap_tcb_info ti;
        if (dcap_signed_split(tb, tl, "tcbInfo", &val, &vl, sig, &why) != 0 ||
            dcap_tcb_info_parse(val, vl, &ti, &why) != 0)
            fail_msg("%s: %s", t->tcbinfo, why);
        struct dcap_qe_identity *qi = calloc(1, sizeof *qi);
        assert_non_null(qi);
        if (dcap_signed_split(ib, il, "enclaveIdentity", &val, &vl, sig, &why) != 0 ||
            dcap_qe_identity_parse(val, vl, qi, &why) != 0)
            fail_msg("%s: %s", t->qeid, why);

        struct dcap_tcb_input in = {.pck = &pck, .qe_report = &q.qe_report};
        if (q.body_type != DCAP_BODY_SGX) {
            in.tdx = true;
            in.tee_tcb_svn = q.body.td.tee_tcb_svn;
            in.tee_tcb_svn2 = q.body.td.is_td15 ? q.body.td.tee_tcb_svn2 : NULL;
            in.mrsignerseam = q.body.td.mrsignerseam;
            in.seam_attributes = q.body.td.seam_attributes;
        }
        struct dcap_tcb_eval *out = calloc(1, sizeof *out);
        assert_non_null(out);
        if (dcap_tcb_evaluate(&ti, qi, &in, out) != 0)
            fail_msg("%s: %s (%s)", t->quote, out->code, out->why);
        fprintf(stderr, "# %s: %s (platform level %d, module %s level %d, QE %s)\n", t->quote,
                dcap_tcb_status_name(out->status), out->platform_level,
                out->module_checked ? out->module_id : "-", out->module_level,
                dcap_tcb_status_name(out->qe_status));
        assert_int_equal(out->status, t->status);
        assert_int_equal(out->qe_status, DCAP_TCB_UP_TO_DATE);
        if (t->tcb_date) {
            time_t d;
            assert_int_equal(rfc3339_parse(t->tcb_date, &d), 0);
            assert_int_equal(out->tcb_date, (int64_t)d);
        } else {
            assert_int_equal(out->platform_level, -1);
            assert_int_equal(out->tcb_date, 0);
        }
        size_t na = 0;
        while (na < 4 && t->advisories[na])
            na++;
        if (t->status != DCAP_TCB_NOT_SUPPORTED) {
            assert_int_equal(out->advisories.n, na);
            for (size_t k = 0; k < na; k++)
                assert_string_equal(out->advisories.id[k], t->advisories[k]);
        }
        /* The wrong kind of QE identity for this quote is refused. */
        snprintf(qi->id, sizeof qi->id, "%s", in.tdx ? "QE" : "TD_QE");
        assert_int_equal(dcap_tcb_evaluate(&ti, qi, &in, out), -1);
        assert_string_equal(out->code, DCAP_TCB_ERR_QE_KIND);

        free(out);
        free(qi);
        dcap_tcb_info_free(&ti);
        free(qb), free(tb), free(ib);
    }
    if (seen == 0)
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_status),
        cmocka_unit_test(test_first_match_in_document_order),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_tdx_module_and_index_skip),
        cmocka_unit_test(test_convergence_tables),
        cmocka_unit_test(test_td_relaunch),
        cmocka_unit_test(test_advisories_union),
        cmocka_unit_test(test_qe_identity_check_alone),
        cmocka_unit_test(test_real_vectors_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
