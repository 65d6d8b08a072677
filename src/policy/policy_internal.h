/*
 * policy_internal.h - the strict JSON helpers of policy.c shared with the per-TEE policy files
 * (policy_dcap.c, policy_tpm.c, policy_azure.c). Internal, hidden symbols. Every parser writes
 * "path: what is wrong" to err.
 */
#ifndef TETHER_POLICY_INTERNAL_H
#define TETHER_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "policy/policy.h"

void pol_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *pol_json_type_name(const json_t *v);
/* Every key of obj must be in allowed (NULL-terminated). */
int pol_check_keys(json_t *obj, const char *path, const char *const *allowed, char *err,
                   size_t errlen);
int pol_parse_uint(json_t *v, const char *path, long long max, uint64_t *out, char *err,
                   size_t errlen);
int pol_parse_bool(json_t *v, const char *path, bool *out, char *err, size_t errlen);
/* A non-empty array of hex strings, each exactly exact_len bytes (or 1..64 when 0). */
int pol_parse_hex_list(json_t *arr, const char *path, size_t exact_len,
                       struct policy_value **out, size_t *n_out, char *err, size_t errlen);
int pol_parse_anchors(json_t *arr, const char *path, const char *base_dir,
                      struct policy_tee *tee, char *err, size_t errlen);
char *pol_values_string(const struct policy_value *v, size_t n);
bool pol_value_listed(const struct policy_value *v, size_t n, const uint8_t *x, size_t xlen);
/* A value against an optional allowlist (n == 0: skip with "what" as the reason). */
int pol_list_check(struct tether_result *r, const char *name, const char *code,
                       const struct policy_value *v, size_t n, const uint8_t *x, size_t xlen,
                       const char *what);

/* accept.snp (policy.c, docs/snp.md); also the "snp" member of accept["azure-vtpm"]. Sets
 * tee->snp, tee->measurements, tee->anchors and tee->cache; messages name "accept.snp". */
int pol_parse_snp(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                  size_t errlen);
/* policy.tcb and policy.snp.*; c->tee_data is a struct snp_claims. */
int pol_appraise_snp(const struct policy_tee *t, const struct claims *c,
                     struct tether_result *r);

/* accept.tdx and accept.sgx (policy_dcap.c, docs/tdx.md). */
int pol_parse_tdx(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                  size_t errlen);
int pol_parse_sgx(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                  size_t errlen);
void pol_dcap_free(struct policy_tee *tee);
/* policy.tcb_status, policy.collateral_fresh and the TDX/SGX measurement registers. */
int pol_appraise_dcap(const struct policy_tee *t, const struct claims *c,
                      struct tether_result *r);

/* accept.tpm (policy_tpm.c, docs/tpm.md). */
int pol_parse_tpm(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                  size_t errlen);
void pol_tpm_free(struct policy_tee *tee);
/* policy.tpm.pcr.* */
int pol_appraise_tpm(const struct policy_tee *t, const struct claims *c,
                     struct tether_result *r);
/* The "pcrs" object alone (accept.tpm.pcrs; messages name it so) into tee->tpm, allocated
 * here if needed; and its appraisal against a quote's authenticated PCR values. */
struct tpm_claims;
int pol_parse_tpm_pcrs(json_t *pcrs, struct policy_tee *tee, char *err, size_t errlen);
int pol_appraise_tpm_pcrs(const struct policy_tee *t, const struct tpm_claims *tc,
                          struct tether_result *r);

/* accept["azure-vtpm"] (policy_azure.c, docs/azure.md): {"snp": {accept.snp keys}} or
 * {"tdx": {accept.tdx keys}}, and "tpm": {"pcrs": ...}; appraisal: policy.azure.tee, then
 * policy.tcb and policy.snp.* on the SNP report or the accept.tdx checks on the TD quote, and
 * policy.tpm.pcr.* on the vTPM quote. */
int pol_parse_azure(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                    size_t errlen);
int pol_appraise_azure(const struct policy_tee *t, const struct claims *c,
                       struct tether_result *r);

#endif
