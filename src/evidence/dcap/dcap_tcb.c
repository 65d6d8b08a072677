/*
 * dcap_tcb.c - the DCAP TCB-status algorithm (dcap_tcb.h). Pure functions over parsed
 * structures: no allocation, no I/O, every loop bounded by the DCAP_MAX_* constants.
 *
 * References: Intel "PCS API v4" (TCB Info v3 and Enclave Identity v2 semantics), Intel's QVL
 * (SGX-TDX-DCAP-QuoteVerificationLibrary: QuoteVerifier.cpp 4.1.2.4.9-4.1.2.4.17,
 * Checks/TcbLevelCheck.cpp, Checks/TdxModuleCheck.cpp, Checks/TDRelaunchCheck.cpp,
 * EnclaveReportVerifier.cpp), research evidence.md A2 "TCB status". This is an independent
 * implementation of the documented behaviour; the rule each step follows is noted beside it.
 *
 * Order (QVL QuoteVerifier::verify): TCB Info applicability (type, FMSPC, PCE-ID), TDX module
 * identity (MRSIGNERSEAM, SEAMATTRIBUTES), QE identity, then the TCB levels and convergence.
 */
#include "evidence/dcap/dcap_tcb.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

__attribute__((format(printf, 3, 4))) static int fail(struct dcap_tcb_eval *out,
                                                      const char *code, const char *fmt, ...)
{
    out->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof out->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* Statuses a tcbLevels entry of TCB Info may carry (PCS v4 TCB Info "tcbStatus"). */
static bool platform_status_valid(enum dcap_tcb_status s)
{
    switch (s) {
    case DCAP_TCB_UP_TO_DATE:
    case DCAP_TCB_SW_HARDENING_NEEDED:
    case DCAP_TCB_CONFIGURATION_NEEDED:
    case DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
    case DCAP_TCB_OUT_OF_DATE:
    case DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED:
    case DCAP_TCB_REVOKED:
        return true;
    default:
        return false;
    }
}

/* Statuses of TDX module identity levels and QE identity levels: UpToDate, OutOfDate, Revoked
 * (PCS v4; QVL VALID_MODULE_TCB_STATUSES and the enclave identity statuses). */
static bool identity_status_valid(enum dcap_tcb_status s)
{
    return s == DCAP_TCB_UP_TO_DATE || s == DCAP_TCB_OUT_OF_DATE || s == DCAP_TCB_REVOKED;
}

static bool config_needed(enum dcap_tcb_status s)
{
    return s == DCAP_TCB_CONFIGURATION_NEEDED ||
           s == DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED ||
           s == DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED ||
           s == DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

/* Converge a platform status with a QE or TDX module identity status (QVL
 * convergeTcbStatusWithQeTcbStatus / convergeTcbStatusWithTdxModuleStatus): an OutOfDate
 * identity makes UpToDate/SWHardeningNeeded OutOfDate and ConfigurationNeeded/
 * ConfigurationAndSWHardeningNeeded OutOfDateConfigurationNeeded; a Revoked identity makes
 * the result Revoked; otherwise the platform status stands. */
static enum dcap_tcb_status converge(enum dcap_tcb_status platform, enum dcap_tcb_status id)
{
    if (id == DCAP_TCB_OUT_OF_DATE) {
        if (platform == DCAP_TCB_UP_TO_DATE || platform == DCAP_TCB_SW_HARDENING_NEEDED)
            return DCAP_TCB_OUT_OF_DATE;
        if (platform == DCAP_TCB_CONFIGURATION_NEEDED ||
            platform == DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
            return DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
    if (id == DCAP_TCB_REVOKED)
        return DCAP_TCB_REVOKED;
    return platform;
}

/* Append the distinct advisory IDs of src to dst, in order. The union is bounded by
 * DCAP_MAX_ADVISORIES (a real level carries about 20); IDs beyond it are dropped. */
static void advisories_add(struct dcap_advisories *dst, const struct dcap_advisories *src)
{
    size_t n = min_sz(src->n, DCAP_MAX_ADVISORIES);
    for (size_t i = 0; i < n; i++) {
        char id[DCAP_ADVISORY_LEN];
        memcpy(id, src->id[i], DCAP_ADVISORY_LEN);
        id[DCAP_ADVISORY_LEN - 1] = '\0';
        bool dup = false;
        for (size_t j = 0; j < dst->n && !dup; j++)
            dup = strcmp(dst->id[j], id) == 0;
        if (dup || dst->n >= DCAP_MAX_ADVISORIES)
            continue;
        memcpy(dst->id[dst->n++], id, DCAP_ADVISORY_LEN);
    }
}

/* ---- platform TCB level (QVL TcbLevelCheck matchTcbLevels) ---- */

/* The PCK's SGX TCB meets the level: every one of the 16 PCK component SVNs >= the level's
 * sgxtcbcomponents[i].svn and PCESVN >= the level's pcesvn (QVL 4.1.2.4.17.1-2). */
static bool sgx_meets(const struct dcap_pck_ext *pck, const struct dcap_tcb_level *l)
{
    for (size_t i = 0; i < 16; i++)
        if (pck->comp_svn[i] < l->sgx_comp[i])
            return false;
    return pck->pcesvn >= l->pcesvn;
}

/* TEE_TCB_SVN meets the level's tdxtcbcomponents (QVL 4.1.2.4.17.3, isTdxTcbHigherOrEqual):
 * every byte >= the level's svn, except that bytes 0 and 1 are skipped when TEE_TCB_SVN[1] > 0
 * (TDX module 1.5 and later: byte 1 is the module major version, byte 0 its SVN, judged by the
 * module identity TDX_<byte 1> instead). A level without TDX components never matches. */
static bool tdx_meets(const uint8_t tee[16], const struct dcap_tcb_level *l)
{
    if (!l->has_tdx_comp)
        return false;
    for (size_t i = tee[1] > 0 ? 2 : 0; i < 16; i++)
        if (tee[i] < l->tdx_comp[i])
            return false;
    return true;
}

/* The first level (document order) that the platform meets; -1 if none. With tee == NULL
 * (SGX, or the SGX-only level of a TDX quote) only the SGX part is compared. */
static int match_platform(const struct dcap_tcb_info *ti, const struct dcap_pck_ext *pck,
                          const uint8_t *tee)
{
    size_t n = ti->levels ? min_sz(ti->n_levels, DCAP_MAX_TCB_LEVELS) : 0;
    for (size_t i = 0; i < n; i++)
        if (sgx_meets(pck, &ti->levels[i]) && (!tee || tdx_meets(tee, &ti->levels[i])))
            return (int)i;
    return -1;
}

/* ---- TDX module identity (QVL TdxModuleCheck) ---- */

/* tdxModuleIdentities entry "TDX_<%02X of version>"; QVL compares case-insensitively. */
static const struct dcap_module_identity *find_module(const struct dcap_tcb_info *ti,
                                                      uint8_t version, char id_out[16])
{
    char want[16];
    snprintf(want, sizeof want, "TDX_%02X", (unsigned)version);
    if (id_out)
        memcpy(id_out, want, sizeof want);
    size_t n = ti->module_ids ? min_sz(ti->n_module_ids, DCAP_MAX_MODULE_IDS) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *id = ti->module_ids[i].id;
        size_t k = 0;
        for (; k < sizeof ti->module_ids[i].id && want[k]; k++) {
            char c = id[k];
            if (c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            if (c != want[k])
                break;
        }
        if (k < sizeof ti->module_ids[i].id && want[k] == '\0' && id[k] == '\0')
            return &ti->module_ids[i];
    }
    return NULL;
}

/* The first module level with isvsvn <= TEE_TCB_SVN[0] (QVL checkTdxModuleTcbStatus); -1 if
 * none. */
static int match_module(const struct dcap_module_identity *m, uint8_t isvsvn)
{
    size_t n = min_sz(m->n_levels, DCAP_MAX_MODULE_LEVELS);
    for (size_t i = 0; i < n; i++)
        if (isvsvn >= m->levels[i].isvsvn)
            return (int)i;
    return -1;
}

/* SEAMATTRIBUTES as the document writes it. The quote parser reads the field as a
 * little-endian u64, the TCB Info parser stores the hex byte string big-endian (bytes[0] << 56);
 * both stand for the same 8 raw bytes, so compare them in the document's byte order. */
static uint64_t seam_attributes_doc_order(uint64_t le)
{
    uint64_t be = 0;
    for (int i = 0; i < 8; i++)
        be = (be << 8) | ((le >> (8 * i)) & 0xffu);
    return be;
}

/* QVL 4.1.2.4.11: MRSIGNERSEAM == mrsigner and (SEAMATTRIBUTES & attributesMask) == attributes
 * of the TDX module identity (TEE_TCB_SVN[1] > 0) or of tdxModule (TEE_TCB_SVN[1] == 0). */
static int check_module_identity(const struct dcap_tcb_info *ti, const struct dcap_tcb_input *in,
                                 const struct dcap_module_identity **mod,
                                 struct dcap_tcb_eval *out)
{
    const uint8_t *mrsigner;
    uint64_t attrs, mask;
    *mod = NULL;
    if (in->tee_tcb_svn[1] > 0) {
        out->module_checked = true;
        *mod = find_module(ti, in->tee_tcb_svn[1], out->module_id);
        if (!*mod)
            return fail(out, DCAP_TCB_ERR_MODULE,
                        "TCB Info has no TDX module identity %s (TEE_TCB_SVN[1] = %u)",
                        out->module_id, (unsigned)in->tee_tcb_svn[1]);
        mrsigner = (*mod)->mrsigner;
        attrs = (*mod)->attributes;
        mask = (*mod)->attributes_mask;
    } else {
        /* Fail closed: a TDX TCB Info v3 always carries tdxModule (PCS v4). */
        if (!ti->has_tdx_module)
            return fail(out, DCAP_TCB_ERR_MODULE, "TDX TCB Info has no tdxModule");
        mrsigner = ti->tdx_module_mrsigner;
        attrs = ti->tdx_module_attributes;
        mask = ti->tdx_module_attributes_mask;
    }
    const char *what = out->module_checked ? out->module_id : "tdxModule";
    if (memcmp(in->mrsignerseam, mrsigner, 48) != 0)
        return fail(out, DCAP_TCB_ERR_MODULE, "MRSIGNERSEAM differs from the mrsigner of %s",
                    what);
    if ((seam_attributes_doc_order(in->seam_attributes) & mask) != attrs)
        return fail(out, DCAP_TCB_ERR_MODULE,
                    "SEAMATTRIBUTES under attributesMask differ from the attributes of %s", what);
    return 0;
}

/* ---- QE identity (QVL EnclaveReportVerifier, 4.1.2.4.14-15) ---- */

int dcap_qe_identity_check(const struct dcap_qe_identity *qi, const struct dcap_sgx_report *qe,
                           bool tdx, struct dcap_tcb_eval *out)
{
    if (!out)
        return -1;
    out->code = NULL;
    out->why[0] = '\0';
    out->qe_level = -1;
    out->qe_status = DCAP_TCB_UNKNOWN;
    out->qe_tcb_date = 0;
    if (!qi || !qe)
        return fail(out, DCAP_TCB_ERR_QE_ID, "no QE identity or QE report");
    /* 4.1.2.4.14: TD_QE identity for a TDX quote, QE for an SGX quote. */
    const char *kind = tdx ? "TD_QE" : "QE";
    size_t klen = strlen(kind) + 1;
    if (memcmp(qi->id, kind, klen) != 0)
        return fail(out, DCAP_TCB_ERR_QE_KIND, "QE identity is not %s (%s quote)", kind,
                    tdx ? "TDX" : "SGX");
    /* EnclaveReportVerifier: MRSIGNER, ISVPRODID equal; MISCSELECT and ATTRIBUTES under their
     * masks. */
    if (memcmp(qe->mrsigner, qi->mrsigner, sizeof qi->mrsigner) != 0)
        return fail(out, DCAP_TCB_ERR_QE_ID, "QE report MRSIGNER differs from the QE identity");
    if (qe->isv_prod_id != qi->isvprodid)
        return fail(out, DCAP_TCB_ERR_QE_ID, "QE report ISVPRODID %u, QE identity %u",
                    (unsigned)qe->isv_prod_id, (unsigned)qi->isvprodid);
    if ((qe->misc_select & qi->miscselect_mask) != qi->miscselect)
        return fail(out, DCAP_TCB_ERR_QE_ID,
                    "QE report MISCSELECT under miscselectMask differs from the QE identity");
    for (size_t i = 0; i < 16; i++)
        if ((qe->attributes[i] & qi->attributes_mask[i]) != qi->attributes[i])
            return fail(out, DCAP_TCB_ERR_QE_ID,
                        "QE report ATTRIBUTES under attributesMask differ from the QE identity");
    /* The first tcbLevels entry with ISVSVN >= its isvsvn gives the QE TCB status. */
    size_t n = min_sz(qi->n_levels, DCAP_MAX_QE_LEVELS);
    for (size_t i = 0; i < n; i++)
        if (qe->isv_svn >= qi->levels[i].isvsvn) {
            out->qe_level = (int)i;
            out->qe_status = qi->levels[i].status;
            out->qe_tcb_date = qi->levels[i].tcb_date;
            return 0;
        }
    return fail(out, DCAP_TCB_ERR_QE_TCB, "QE ISVSVN %u is below every QE identity level",
                (unsigned)qe->isv_svn);
}

/* ---- TD relaunch (TD 1.5 bodies) ----
 *
 * Intel QVL checkForRelaunch (TDRelaunchCheck.cpp, "a literal implementation from
 * documentation"), applied to the status after the TDX module convergence and before the QE
 * convergence, only for TD 1.5 bodies (TEE_TCB_SVN2 present). Relaunch is advised when ALL of:
 *   (1) the QE status is not OutOfDate or Revoked;
 *   (2) the SGX part alone (the first level meeting the PCK SGX components and PCESVN) is
 *       UpToDate, SWHardeningNeeded, ConfigurationNeeded or ConfigurationAndSWHardeningNeeded;
 *   (3) the TDX status (matched level converged with the module) is OutOfDate or
 *       OutOfDateConfigurationNeeded;
 *   (4) the TDX module status is OutOfDate (so only when TEE_TCB_SVN[1] > 0);
 *   (5) TEE_TCB_SVN2 reaches the newest level (tcbLevels[0]): if TEE_TCB_SVN2[1] == 0,
 *       SVN2[0] >= its tdxtcbcomponents[0] and SVN2[2] >= its tdxtcbcomponents[2]; otherwise the
 *       module identity TDX_<SVN2[1]> exists (else DCAP_TCB_ERR_MODULE, as QVL's
 *       TDX_MODULE_MISMATCH) and SVN2[0] >= its first level's isvsvn and SVN2[2] >=
 *       tcbLevels[0].tdxtcbcomponents[2].
 * Conservative addition (beyond QVL): re-evaluating with TEE_TCB_SVN2 in place of TEE_TCB_SVN
 * (platform level with the same index 0-1 rule, converged with the level of module
 * TDX_<SVN2[1]> for SVN2[0], or UpToDate when SVN2[1] == 0) must give UpToDate or
 * SWHardeningNeeded, or ConfigurationNeeded / ConfigurationAndSWHardeningNeeded; no match,
 * OutOfDate* or Revoked keeps the OutOfDate status.
 * The result is TDRelaunchAdvisedConfigurationNeeded when the SGX status, the TDX status or the
 * re-evaluated status is a Configuration* status, else TDRelaunchAdvised. */
static int relaunch(const struct dcap_tcb_info *ti, const struct dcap_tcb_input *in,
                    enum dcap_tcb_status sgx_status, enum dcap_tcb_status tdx_status,
                    struct dcap_tcb_eval *out, enum dcap_tcb_status *result)
{
    const uint8_t *svn2 = in->tee_tcb_svn2;
    *result = tdx_status;
    if (out->qe_status == DCAP_TCB_OUT_OF_DATE || out->qe_status == DCAP_TCB_REVOKED) /* (1) */
        return 0;
    if (!(sgx_status == DCAP_TCB_UP_TO_DATE || sgx_status == DCAP_TCB_SW_HARDENING_NEEDED ||
          sgx_status == DCAP_TCB_CONFIGURATION_NEEDED ||
          sgx_status == DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)) /* (2) */
        return 0;
    if (tdx_status != DCAP_TCB_OUT_OF_DATE &&
        tdx_status != DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED) /* (3) */
        return 0;
    if (out->module_status != DCAP_TCB_OUT_OF_DATE) /* (4) */
        return 0;
    if (!ti->levels || ti->n_levels == 0 || !ti->levels[0].has_tdx_comp)
        return 0;
    const struct dcap_tcb_level *latest = &ti->levels[0];
    const struct dcap_module_identity *m2 = NULL;
    if (svn2[1] == 0) { /* (5) */
        if (svn2[0] < latest->tdx_comp[0] || svn2[2] < latest->tdx_comp[2])
            return 0;
    } else {
        char id2[16];
        m2 = find_module(ti, svn2[1], id2);
        if (!m2)
            return fail(out, DCAP_TCB_ERR_MODULE,
                        "TCB Info has no TDX module identity %s for TEE_TCB_SVN2", id2);
        if (m2->n_levels == 0 || svn2[0] < m2->levels[0].isvsvn ||
            svn2[2] < latest->tdx_comp[2])
            return 0;
    }
    /* Conservative re-evaluation with TEE_TCB_SVN2. */
    int l2 = match_platform(ti, in->pck, svn2);
    if (l2 < 0 || !platform_status_valid(ti->levels[l2].status))
        return 0;
    enum dcap_tcb_status m2_status = DCAP_TCB_UP_TO_DATE;
    if (m2) {
        int ml2 = match_module(m2, svn2[0]);
        if (ml2 < 0 || !identity_status_valid(m2->levels[ml2].status))
            return 0;
        m2_status = m2->levels[ml2].status;
    }
    enum dcap_tcb_status re = converge(ti->levels[l2].status, m2_status);
    if (re != DCAP_TCB_UP_TO_DATE && re != DCAP_TCB_SW_HARDENING_NEEDED &&
        re != DCAP_TCB_CONFIGURATION_NEEDED &&
        re != DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
        return 0;
    *result = config_needed(sgx_status) || config_needed(tdx_status) || config_needed(re)
                  ? DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
                  : DCAP_TCB_TD_RELAUNCH_ADVISED;
    return 0;
}

/* ---- the whole evaluation ---- */

int dcap_tcb_evaluate(const struct dcap_tcb_info *ti, const struct dcap_qe_identity *qi,
                      const struct dcap_tcb_input *in, struct dcap_tcb_eval *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    out->platform_level = -1;
    out->module_level = -1;
    out->qe_level = -1;
    if (!ti || !qi || !in || !in->pck || !in->qe_report)
        return fail(out, DCAP_TCB_ERR_TYPE, "missing TCB Info, QE identity, PCK or QE report");
    if (in->tdx && (!in->tee_tcb_svn || !in->mrsignerseam))
        return fail(out, DCAP_TCB_ERR_TYPE, "TDX quote without TEE_TCB_SVN or MRSIGNERSEAM");
    const struct dcap_pck_ext *pck = in->pck;

    /* QVL 4.1.2.4.9: TCB Info id "TDX" (v3+) for a TDX quote, "SGX" for an SGX quote. */
    if (ti->tdx != in->tdx)
        return fail(out, DCAP_TCB_ERR_TYPE, "%s TCB Info for a %s quote", ti->tdx ? "TDX" : "SGX",
                    in->tdx ? "TDX" : "SGX");
    if (ti->tdx && ti->version < 3)
        return fail(out, DCAP_TCB_ERR_TYPE, "TDX TCB Info version %u (3 or later needed)",
                    ti->version);
    /* 4.1.2.4.10: FMSPC and PCE-ID of the PCK certificate equal those of the TCB Info. */
    if (memcmp(ti->fmspc, pck->fmspc, sizeof pck->fmspc) != 0)
        return fail(out, DCAP_TCB_ERR_FMSPC,
                    "TCB Info FMSPC %02x%02x%02x%02x%02x%02x, PCK %02x%02x%02x%02x%02x%02x",
                    ti->fmspc[0], ti->fmspc[1], ti->fmspc[2], ti->fmspc[3], ti->fmspc[4],
                    ti->fmspc[5], pck->fmspc[0], pck->fmspc[1], pck->fmspc[2], pck->fmspc[3],
                    pck->fmspc[4], pck->fmspc[5]);
    if (memcmp(ti->pce_id, pck->pce_id, sizeof pck->pce_id) != 0)
        return fail(out, DCAP_TCB_ERR_PCEID, "TCB Info PCE-ID %02x%02x, PCK %02x%02x",
                    ti->pce_id[0], ti->pce_id[1], pck->pce_id[0], pck->pce_id[1]);

    /* 4.1.2.4.11: TDX module identity. */
    const struct dcap_module_identity *mod = NULL;
    if (in->tdx && check_module_identity(ti, in, &mod, out) != 0)
        return -1;

    /* 4.1.2.4.14-15: QE identity (mismatch and "no level" are errors here). */
    if (dcap_qe_identity_check(qi, in->qe_report, in->tdx, out) != 0)
        return -1;

    /* 4.1.2.4.17: platform level. For TDX the matched level must meet both the SGX and the
     * TDX components (QVL tdxTcbLevel); sgx_level is the first meeting the SGX part only
     * (QVL sgxTcbLevel), used by the relaunch rule. */
    const uint8_t *tee = in->tdx ? in->tee_tcb_svn : NULL;
    int sgx_level = match_platform(ti, pck, NULL);
    int level = tee ? match_platform(ti, pck, tee) : sgx_level;
    out->platform_level = level;
    if (level < 0) {
        /* No level: TCB_NOT_SUPPORTED, a status for the policy; QE convergence does not
         * apply (QVL returns before it). */
        out->platform_status = DCAP_TCB_NOT_SUPPORTED;
        out->status = DCAP_TCB_NOT_SUPPORTED;
        if (out->qe_level >= 0)
            advisories_add(&out->advisories, &qi->levels[out->qe_level].advisories);
        return 0;
    }
    const struct dcap_tcb_level *pl = &ti->levels[level];
    out->platform_status = pl->status;
    out->platform_tcb_date = pl->tcb_date;
    out->tcb_date = pl->tcb_date;

    /* 4.1.2.4.17.4.1: TDX module TCB level, TDX_<TEE_TCB_SVN[1]> judged by TEE_TCB_SVN[0];
     * UpToDate when TEE_TCB_SVN[1] == 0 (TD 1.0 module: the TDX components decide). */
    enum dcap_tcb_status module_status = DCAP_TCB_UP_TO_DATE;
    if (mod) {
        out->module_level = match_module(mod, in->tee_tcb_svn[0]);
        if (out->module_level < 0)
            return fail(out, DCAP_TCB_ERR_MODULE_TCB,
                        "TDX module %s ISVSVN %u is below every module identity level",
                        out->module_id, (unsigned)in->tee_tcb_svn[0]);
        module_status = mod->levels[out->module_level].status;
    }
    out->module_status = in->tdx ? module_status : DCAP_TCB_UNKNOWN;

    /* Advisories: platform level, module level, QE level; distinct, in that order. */
    advisories_add(&out->advisories, &pl->advisories);
    if (mod)
        advisories_add(&out->advisories, &mod->levels[out->module_level].advisories);
    advisories_add(&out->advisories, &qi->levels[out->qe_level].advisories);

    /* A status string that cannot appear where it was found makes the result Unknown
     * (QVL TCB_UNRECOGNIZED_STATUS): the policy rejects it. */
    if (!platform_status_valid(pl->status) || !identity_status_valid(out->qe_status) ||
        (in->tdx && !identity_status_valid(module_status))) {
        out->status = DCAP_TCB_UNKNOWN;
        return 0;
    }

    enum dcap_tcb_status st = pl->status;
    if (in->tdx) {
        st = converge(st, module_status); /* convergeTcbStatusWithTdxModuleStatus */
        /* 4.1.2.4.17.4.3: TD relaunch, TD 1.5 bodies only (see relaunch() above). */
        if (st != DCAP_TCB_REVOKED && in->tee_tcb_svn2 && sgx_level >= 0) {
            enum dcap_tcb_status r;
            if (relaunch(ti, in, ti->levels[sgx_level].status, st, out, &r) != 0)
                return -1;
            st = r;
        }
    }
    out->status = converge(st, out->qe_status); /* convergeTcbStatusWithQeTcbStatus */
    return 0;
}
