/*
 * policy_tpm.c - accept.tpm (docs/tpm.md): which TPM-attested platforms a policy accepts.
 *
 *   "tpm": {
 *     "ak_keys": ["<SHA-256 of the AK's SubjectPublicKeyInfo DER>", ...],
 *     "trust_anchors": ["ak-ca.pem"],
 *     "pcrs": {"sha256": {"0": "<hex>", "7": "<hex>"}, "sha1": {...}}
 *   }
 *
 * The AK must be trusted one way or the other (ak_keys and/or trust_anchors: at least one is
 * required), and the PCR values are the measurement: "pcrs" is required and names at least one
 * PCR; every PCR it names must be in the quote's selection with exactly that value (the
 * values the backend reports are those the signed pcrDigest covers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/tpm/tpm_verify.h"
#include "policy/policy_internal.h"
#include "util/util.h"

struct policy_tpm {
    struct tpm_pcr_bank banks[TPM_MAX_BANKS]; /* expected values (present = constrained) */
    size_t n_banks;
};

void pol_tpm_free(struct policy_tee *tee)
{
    free(tee->tpm);
    tee->tpm = NULL;
    free(tee->pinned_keys);
    tee->pinned_keys = NULL;
    tee->n_pinned_keys = 0;
}

static const struct {
    const char *name;
    uint16_t alg;
} bank_names[] = {{"sha1", TPM_ALG_SHA1},
                  {"sha256", TPM_ALG_SHA256},
                  {"sha384", TPM_ALG_SHA384},
                  {"sha512", TPM_ALG_SHA512}};

static int parse_pcrs(json_t *v, struct policy_tpm *t, char *err, size_t errlen)
{
    if (!json_is_object(v) || json_object_size(v) == 0) {
        pol_errf(err, errlen, "accept.tpm.pcrs: must be an object of banks (\"sha256\": {\"0\": "
                              "\"<hex>\"}), not empty");
        return -1;
    }
    const char *bk;
    json_t *bv;
    json_object_foreach(v, bk, bv) {
        uint16_t alg = 0;
        for (size_t i = 0; i < sizeof bank_names / sizeof bank_names[0]; i++)
            if (strcmp(bk, bank_names[i].name) == 0)
                alg = bank_names[i].alg;
        if (!alg) {
            pol_errf(err, errlen, "accept.tpm.pcrs: unknown bank \"%.32s\" (sha1, sha256, "
                                  "sha384, sha512)", bk);
            return -1;
        }
        if (!json_is_object(bv) || json_object_size(bv) == 0) {
            pol_errf(err, errlen, "accept.tpm.pcrs.%s: must be a non-empty object of PCR index "
                                  "to hex value", bk);
            return -1;
        }
        struct tpm_pcr_bank *b = &t->banks[t->n_banks++];
        b->hash_alg = alg;
        size_t hs = tpm_hash_size(alg);
        const char *ik;
        json_t *iv;
        json_object_foreach(bv, ik, iv) {
            /* Digits only, no sign, space or leading zero: "+7" or " 7" would be PCR 7 under
             * another JSON key, and silently override the "7" a reviewer reads. */
            size_t kl = strlen(ik);
            char *end = NULL;
            long idx = kl >= 1 && kl <= 2 && strspn(ik, "0123456789") == kl ? strtol(ik, &end, 10)
                                                                             : -1;
            if (idx < 0 || idx >= TPM_PCRS || (ik[0] == '0' && ik[1])) {
                pol_errf(err, errlen, "accept.tpm.pcrs.%s: \"%.16s\" is not a PCR index 0..23",
                         bk, ik);
                return -1;
            }
            size_t n = 0;
            if (!json_is_string(iv) ||
                hex_decode(json_string_value(iv), b->value[idx], sizeof b->value[idx], &n) != 0 ||
                n != hs) {
                pol_errf(err, errlen, "accept.tpm.pcrs.%s.%ld: must be %zu bytes of hex", bk,
                         idx, hs);
                return -1;
            }
            if (b->present & (1u << idx)) {
                pol_errf(err, errlen, "accept.tpm.pcrs.%s.%ld: given twice", bk, idx);
                return -1;
            }
            b->present |= 1u << idx;
        }
    }
    return 0;
}

int pol_parse_tpm(json_t *obj, const char *base_dir, struct policy_tee *tee, char *err,
                  size_t errlen)
{
    static const char *const keys[] = {"ak_keys", "trust_anchors", "pcrs", NULL};
    if (pol_check_keys(obj, "accept.tpm", keys, err, errlen) != 0)
        return -1;
    struct policy_tpm *t = calloc(1, sizeof *t);
    tee->tpm = t;
    if (!t) {
        pol_errf(err, errlen, "out of memory");
        return -1;
    }
    json_t *v;
    if ((v = json_object_get(obj, "ak_keys")) != NULL) {
        struct policy_value *vals = NULL;
        size_t n = 0;
        if (pol_parse_hex_list(v, "accept.tpm.ak_keys", 32, &vals, &n, err, errlen) != 0)
            return -1;
        tee->pinned_keys = calloc(n, sizeof *tee->pinned_keys);
        if (!tee->pinned_keys) {
            free(vals);
            pol_errf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            memcpy(tee->pinned_keys[i], vals[i].bytes, 32);
        tee->n_pinned_keys = n;
        free(vals);
    }
    if ((v = json_object_get(obj, "trust_anchors")) != NULL &&
        pol_parse_anchors(v, "accept.tpm.trust_anchors", base_dir, tee, err, errlen) != 0)
        return -1;
    if (!tee->n_pinned_keys && !tee->anchors) {
        pol_errf(err, errlen, "accept.tpm: give \"ak_keys\" (pinned attestation keys) or "
                              "\"trust_anchors\" (CAs of AK certificates), or both");
        return -1;
    }
    if (!(v = json_object_get(obj, "pcrs"))) {
        pol_errf(err, errlen, "accept.tpm: \"pcrs\" is required (the expected PCR values)");
        return -1;
    }
    return parse_pcrs(v, t, err, errlen);
}

int pol_parse_tpm_pcrs(json_t *pcrs, struct policy_tee *tee, char *err, size_t errlen)
{
    if (!tee->tpm && !(tee->tpm = calloc(1, sizeof *tee->tpm))) {
        pol_errf(err, errlen, "out of memory");
        return -1;
    }
    return parse_pcrs(pcrs, tee->tpm, err, errlen);
}

int pol_appraise_tpm(const struct policy_tee *t, const struct claims *c,
                     struct tether_result *r)
{
    const struct tpm_claims *tc = c->tee_data;
    if (!t->tpm || !tc) {
        result_check(r, "policy.tpm.pcrs", CHECK_FAIL, "internal", NULL, NULL,
                     "TPM appraisal without TPM settings or claims");
        return -1;
    }
    int rc = pol_appraise_tpm_pcrs(t, tc, r);
    result_check(r, "policy.measurement", CHECK_SKIP, NULL, "the PCR values above", NULL,
                 "a TPM's measurement is its PCR values (accept.tpm.pcrs)");
    return rc;
}

int pol_appraise_tpm_pcrs(const struct policy_tee *t, const struct tpm_claims *tc,
                          struct tether_result *r)
{
    const struct policy_tpm *p = t->tpm;
    if (!p || !tc) {
        result_check(r, "policy.tpm.pcrs", CHECK_FAIL, "internal", NULL, NULL,
                     "TPM appraisal without TPM settings or claims");
        return -1;
    }
    int rc = 0;
    for (size_t b = 0; b < p->n_banks; b++) {
        const struct tpm_pcr_bank *want = &p->banks[b];
        const struct tpm_pcr_bank *have = NULL;
        for (size_t j = 0; j < tc->n_banks; j++)
            if (tc->banks[j].hash_alg == want->hash_alg)
                have = &tc->banks[j];
        size_t hs = tpm_hash_size(want->hash_alg);
        const char *bn = "?";
        for (size_t i = 0; i < sizeof bank_names / sizeof bank_names[0]; i++)
            if (bank_names[i].alg == want->hash_alg)
                bn = bank_names[i].name;
        for (int i = 0; i < TPM_PCRS; i++) {
            if (!(want->present & (1u << i)))
                continue;
            char name[48], *e = hex_dup(want->value[i], hs);
            snprintf(name, sizeof name, "policy.tpm.pcr.%s.%d", bn, i);
            if (!have || !(have->present & (1u << i))) {
                result_check(r, name, CHECK_FAIL, "tpm_pcr_not_quoted", e, NULL,
                             "the quote does not cover this PCR");
                rc = -1;
            } else if (!ct_equal(have->value[i], want->value[i], hs)) {
                char *a = hex_dup(have->value[i], hs);
                result_check(r, name, CHECK_FAIL, "tpm_pcr_mismatch", e, a,
                             "the PCR value differs from the policy's");
                free(a);
                rc = -1;
            } else {
                result_check(r, name, CHECK_PASS, NULL, e, e, NULL);
            }
            free(e);
        }
    }
    return rc;
}
