/*
 * policy_azure.c - accept["azure-vtpm"] (docs/azure.md): which Azure confidential VMs a policy
 * accepts.
 *
 *   "azure-vtpm": {
 *     "snp": { exactly the keys of accept.snp: "measurements" (required), "trust_anchors",
 *              "host_data", "id_key_digests", "author_key_digests", "chip_ids", "min_tcb",
 *              "min_firmware", "vmpl", "max_vmpl", "allow_smt", "allow_migration_agent",
 *              "require_single_socket" },
 *   or
 *     "tdx": { exactly the keys of accept.tdx: "mrtd" (required), "trust_anchors",
 *              "collateral", "rtmr0".."rtmr3", "mrseam", "mrsignerseam", "mrconfigid",
 *              "mrowner", "mrownerconfig", "xfam", "td_attributes", "tcb_statuses",
 *              "allowed_advisories", "allow_stale_collateral" },
 *     "tpm": { "pcrs": {"sha256": {"0": "<hex>", ...}, ...} }
 *   }
 *
 * Exactly one of "snp" and "tdx" (the hardware under the paravisor), and "tpm", are required:
 * the SNP measurement or MRTD on Azure is the paravisor's (the same for every VM on a given
 * firmware), so what the guest booted is only in the vTPM's PCRs. The entry's trust anchors
 * and collateral are that hardware's, so one policy accepts Azure VMs of one kind only. "tpm"
 * takes no "ak_keys" or "trust_anchors": the AK is trusted because the runtime claims that
 * carry it are bound to the verified SNP report or TD quote (evidence.hcl_binding), never by
 * the policy. Parsing and appraisal are those of accept.snp (policy.c), accept.tdx
 * (policy_dcap.c) and accept.tpm.pcrs (policy_tpm.c); their messages are re-rooted at
 * accept.azure-vtpm. Evidence of the other hardware than the policy's fails policy.azure.tee.
 */
#include <stdio.h>
#include <string.h>

#include "evidence/azure/azure_vtpm.h"
#include "policy/policy_internal.h"

/* A message of the shared parsers that begins with from gets to instead. */
static void reroot(char *err, size_t errlen, const char *from, const char *to)
{
    size_t fl = strlen(from);
    if (!err || errlen == 0 || strncmp(err, from, fl) != 0)
        return;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s%s", to, err + fl);
    snprintf(err, errlen, "%s", tmp);
}

int pol_parse_azure(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                    size_t errlen)
{
    static const char *const keys[] = {"snp", "tdx", "tpm", NULL};
    if (pol_check_keys(obj, "accept.azure-vtpm", keys, err, errlen) != 0)
        return -1;
    json_t *snp = json_object_get(obj, "snp"), *tdx = json_object_get(obj, "tdx"),
           *tpm = json_object_get(obj, "tpm");
    if (snp && tdx) {
        pol_errf(err, errlen, "accept.azure-vtpm: \"snp\" and \"tdx\" together: give exactly "
                              "one (the hardware of the Azure VMs this entry accepts)");
        return -1;
    }
    if ((!snp && !tdx) || !tpm) {
        pol_errf(err, errlen, "accept.azure-vtpm: \"snp\" or \"tdx\" (the accept.snp or "
                              "accept.tdx settings for the hardware report) and \"tpm\" (the "
                              "vTPM's expected \"pcrs\") are both required");
        return -1;
    }
    const char *hw = snp ? "snp" : "tdx";
    json_t *hwv = snp ? snp : tdx;
    if (!json_is_object(hwv)) {
        pol_errf(err, errlen, "accept.azure-vtpm.%s: must be an object, not %s", hw,
                 pol_json_type_name(hwv));
        return -1;
    }
    if (snp) {
        if (pol_parse_snp(snp, base_dir, tee, err, errlen) != 0) {
            reroot(err, errlen, "accept.snp", "accept.azure-vtpm.snp");
            return -1;
        }
    } else if (pol_parse_tdx(tdx, base_dir, tee, err, errlen) != 0) {
        reroot(err, errlen, "accept.tdx", "accept.azure-vtpm.tdx");
        return -1;
    }
    if (!json_is_object(tpm)) {
        pol_errf(err, errlen, "accept.azure-vtpm.tpm: must be an object, not %s",
                 pol_json_type_name(tpm));
        return -1;
    }
    if (json_object_get(tpm, "ak_keys") || json_object_get(tpm, "trust_anchors")) {
        pol_errf(err, errlen, "accept.azure-vtpm.tpm: no \"ak_keys\" or \"trust_anchors\": the "
                              "vTPM's AK is trusted through the HCL runtime claims bound to the "
                              "SEV-SNP report or TD quote");
        return -1;
    }
    static const char *const tkeys[] = {"pcrs", NULL};
    if (pol_check_keys(tpm, "accept.azure-vtpm.tpm", tkeys, err, errlen) != 0)
        return -1;
    json_t *pcrs = json_object_get(tpm, "pcrs");
    if (!pcrs) {
        pol_errf(err, errlen, "accept.azure-vtpm.tpm: \"pcrs\" is required (the expected PCR "
                              "values)");
        return -1;
    }
    if (pol_parse_tpm_pcrs(pcrs, tee, err, errlen) != 0) {
        reroot(err, errlen, "accept.tpm", "accept.azure-vtpm.tpm");
        return -1;
    }
    return 0;
}

int pol_appraise_azure(const struct policy_tee *t, const struct claims *c,
                       struct tether_result *r)
{
    const struct azure_claims *ac = c->tee_data;
    if ((!t->snp && !t->dcap) || !t->tpm || !ac || strcmp(c->tee, "azure-vtpm") != 0 ||
        (ac->tee != AZURE_TEE_SNP && ac->tee != AZURE_TEE_TDX)) {
        result_check(r, "policy.azure", CHECK_FAIL, "internal", NULL, NULL,
                     "azure-vtpm appraisal without its settings or claims");
        return -1;
    }
    /* The hardware the evidence comes from must be the policy's: an SNP report is never
     * appraised with TDX settings, nor the other way round. */
    const char *want = t->snp ? "SEV-SNP (accept.azure-vtpm.snp)" : "TDX (accept.azure-vtpm.tdx)";
    const char *have = ac->tee == AZURE_TEE_SNP ? "SEV-SNP" : "TDX";
    if ((ac->tee == AZURE_TEE_SNP) != (t->snp != NULL)) {
        result_check(r, "policy.azure.tee", CHECK_FAIL, "azure_tee_mismatch", want, have,
                     "the Azure VM runs on other hardware than the policy's entry accepts");
        return -1;
    }
    result_check(r, "policy.azure.tee", CHECK_PASS, NULL, want, have, NULL);
    /* The accept.snp / accept.tdx checks see the claims as their own backend gives them. */
    struct claims view = *c;
    view.extra = NULL;
    view.tee_data = ac->tee == AZURE_TEE_SNP ? (void *)&ac->snp : (void *)&ac->tdx;
    view.tee_data_free = NULL;
    int rc = 0;
    if (ac->tee == AZURE_TEE_SNP ? pol_appraise_snp(t, &view, r) != 0
                                 : pol_appraise_dcap(t, &view, r) != 0)
        rc = -1;
    if (pol_appraise_tpm_pcrs(t, &ac->tpm, r) != 0)
        rc = -1;
    return rc;
}
