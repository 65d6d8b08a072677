/*
 * tpm_verify.c - the "tpm" evidence backend (tpm_verify.h has the check order). References:
 * TPM 2.0 Library Part 2 (TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC), Part 3 (TPM2_Quote:
 * pcrDigest over the selected PCRs; qualifyingData copied to extraData), research evidence.md
 * A3, B4. Two encodings: tether's TTPM container, and Google Cloud's go-tpm-tools
 * attest.Attestation protobuf (gce.h; its section below).
 *
 * Must never: trust an AK that neither chains to a policy anchor (for a GCE attestation: or,
 * when the policy names no anchor and pins no AK, to a built-in Google vTPM root) nor is pinned
 * by the policy, accept an AK that is not a restricted signing key, report a PCR value the
 * signed digest does not cover, or take report_data from anywhere but the signed extraData.
 */
#include "evidence/tpm/tpm_verify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "evidence/tpm/gce.h"
#include "evidence/tpm/google_roots.h"
#include "evidence/tpm/tpm_evidence.h"
#include "util/util.h"
#include "util/x509util.h"

const char *tpm_alg_name(uint16_t a)
{
    switch (a) {
    case TPM_ALG_SHA1:
        return "sha1";
    case TPM_ALG_SHA256:
        return "sha256";
    case TPM_ALG_SHA384:
        return "sha384";
    case TPM_ALG_SHA512:
        return "sha512";
    case TPM_ALG_RSASSA:
        return "RSASSA";
    case TPM_ALG_RSAPSS:
        return "RSAPSS";
    case TPM_ALG_ECDSA:
        return "ECDSA";
    default:
        return "?";
    }
}

static bool ttpm_recognise(const uint8_t *ev, size_t len)
{
    return ev && len >= 8 && memcmp(ev, TPM_EVIDENCE_MAGIC, 4) == 0;
}

/* The TTPM container, or a go-tpm-tools attest.Attestation (gce.h). */
static bool tpm_recognise(const uint8_t *ev, size_t len)
{
    return ttpm_recognise(ev, len) || gce_attestation_recognise(ev, len);
}

static void claims_free_tpm(void *p)
{
    free(p);
}

int tpm_pcr_banks_match(const struct tpm_pcr_selection *sel, const struct tpm_pcr_bank *banks,
                        size_t n_banks, enum tpm_pcr_match mode, char *why, size_t n)
{
    bool exact = mode == TPM_PCR_MATCH_EXACT;
    if (exact && n_banks != sel->n_banks) {
        snprintf(why, n, "%zu PCR banks supplied, the quote selects %zu", n_banks, sel->n_banks);
        return -1;
    }
    for (size_t i = 0; i < sel->n_banks; i++) {
        if (!exact && sel->bank[i].mask == 0)
            continue;
        const struct tpm_pcr_bank *b = NULL;
        for (size_t j = 0; j < n_banks && !b; j++)
            if (banks[j].hash_alg == sel->bank[i].hash_alg)
                b = &banks[j];
        if (!b) {
            snprintf(why, n, "no values for the selected %s bank",
                     tpm_alg_name(sel->bank[i].hash_alg));
            return -1;
        }
        if (b->present != sel->bank[i].mask) {
            snprintf(why, n, "%s: PCRs supplied (mask %06x) differ from the quote's selection "
                     "(mask %06x)", tpm_alg_name(b->hash_alg), (unsigned)b->present,
                     (unsigned)sel->bank[i].mask);
            return -1;
        }
    }
    for (size_t j = 0; !exact && j < n_banks; j++) {
        bool selected = false;
        for (size_t i = 0; i < sel->n_banks; i++)
            if (sel->bank[i].hash_alg == banks[j].hash_alg && sel->bank[i].mask != 0)
                selected = true;
        if (!selected) {
            snprintf(why, n, "%s PCR values supplied that the quote does not select",
                     tpm_alg_name(banks[j].hash_alg));
            return -1;
        }
    }
    return 0;
}

/* The values hash (with hash_alg) to the quote's signed pcrDigest (Part 3, TPM2_Quote). */
static bool pcr_digest_matches(const struct tpm_quote *q, const struct tpm_pcr_bank *banks,
                               size_t n_banks, uint16_t hash_alg)
{
    uint8_t d[TPM_MAX_DIGEST];
    size_t dl = 0;
    return tpm_pcr_digest(&q->pcr_select, banks, n_banks, hash_alg, d, &dl) == 0 &&
           dl == q->pcr_digest_len && ct_equal(d, q->pcr_digest, dl);
}

/* {"<index>": "<hex value>"} of the bank's PCRs. */
static json_t *pcr_bank_json(const struct tpm_pcr_bank *b)
{
    json_t *bank = json_object();
    size_t hs = tpm_hash_size(b->hash_alg);
    for (int i = 0; i < TPM_PCRS; i++)
        if (b->present & (1u << i)) {
            char k[4];
            snprintf(k, sizeof k, "%d", i);
            evidence_json_set_hex(bank, k, b->value[i], hs);
        }
    return bank;
}

int tpm_check_pcrs(struct tether_result *r, const char *pexp, const struct tpm_quote *q,
                   const struct tpm_pcr_bank *banks, size_t n_banks, enum tpm_pcr_match mode,
                   uint16_t hash_alg, struct tpm_claims *tc, json_t *x)
{
    char whyb[200];
    if (tpm_pcr_banks_match(&q->pcr_select, banks, n_banks, mode, whyb, sizeof whyb) != 0)
        return result_fail(r, "evidence.pcrs", "tpm_pcr_selection_mismatch", pexp, NULL, whyb);
    if (!pcr_digest_matches(q, banks, n_banks, hash_alg))
        return result_fail(r, "evidence.pcrs", "tpm_pcr_digest_mismatch", pexp, NULL,
                           "the PCR values do not hash to the signed pcrDigest");
    json_t *pj = json_object();
    for (size_t b = 0; b < n_banks; b++) {
        json_object_set_new(pj, tpm_alg_name(banks[b].hash_alg), pcr_bank_json(&banks[b]));
        tc->banks[b] = banks[b];
    }
    tc->n_banks = n_banks;
    json_object_set_new(x, "pcrs", pj);
    result_check(r, "evidence.pcrs", CHECK_PASS, NULL, pexp, "match", NULL);
    return 0;
}

int tpm_ak_spki_sha256(EVP_PKEY *ak, uint8_t out[32])
{
    unsigned char *spki = NULL;
    int sl = i2d_PUBKEY(ak, &spki);
    unsigned int dl = 0;
    int rc = (sl > 0 && EVP_Digest(spki, (size_t)sl, out, &dl, EVP_sha256(), NULL)) ? 0 : -1;
    OPENSSL_free(spki);
    return rc;
}

void tpm_claims_report_data(struct claims *out, const struct tpm_quote *q)
{
    if (q->extra_data_len == 64) {
        memcpy(out->report_data, q->extra_data, 64);
        out->has_report_data = true;
    }
}

void tpm_quote_counters_json(json_t *x, const struct tpm_quote *q)
{
    json_object_set_new(x, "clock", json_integer((json_int_t)(q->clock & INT64_MAX)));
    json_object_set_new(x, "reset_count", json_integer(q->reset_count));
    json_object_set_new(x, "restart_count", json_integer(q->restart_count));
    char fw[20];
    snprintf(fw, sizeof fw, "%016llx", (unsigned long long)q->firmware_version);
    json_object_set_new(x, "firmware_version", json_string(fw));
}

/* The AK's certificate chain (leaf first in the container) to the policy's anchors at time
 * at; the leaf's key must be the AK. 0, or -1 with why. */
/* The claims both TPM forms share, attached to out from here on even if a later check fails:
 * the tee name, and the platform identity = SHA-256 of the AK's SPKI (a TPM's AK names that
 * TPM). NULL, with the failure reported, on allocation or encoding failure. */
static struct tpm_claims *tpm_claims_start(struct claims *out, EVP_PKEY *ak, const char *fexp,
                                           struct tether_result *r)
{
    struct tpm_claims *tc = calloc(1, sizeof *tc);
    out->extra = json_object();
    if (!tc || !out->extra) {
        free(tc);
        result_fail(r, "evidence.format", "internal", fexp, NULL, "out of memory");
        return NULL;
    }
    out->tee_data = tc;
    out->tee_data_free = claims_free_tpm;
    snprintf(out->tee, sizeof out->tee, "tpm");
    if (tpm_ak_spki_sha256(ak, tc->ak_spki_sha256) != 0) {
        result_fail(r, "evidence.format", "internal", fexp, NULL, "cannot encode the AK");
        return NULL;
    }
    memcpy(out->platform_id, tc->ak_spki_sha256, 32);
    out->platform_id_len = 32;
    return tc;
}

static int ak_chain(const struct tpm_evidence *e, EVP_PKEY *ak,
                    const struct evidence_anchors *anchors, time_t at, char *why, size_t n)
{
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509 *leaf = NULL;
    int rc = -1;
    for (size_t i = 0; untrusted && i < e->n_certs; i++) {
        const unsigned char *p = e->certs[i];
        X509 *x = d2i_X509(NULL, &p, (long)e->cert_lens[i]);
        if (!x || p != e->certs[i] + e->cert_lens[i]) {
            X509_free(x);
            snprintf(why, n, "AK certificate %zu is not one DER certificate", i);
            goto out;
        }
        if (i == 0)
            leaf = x;
        else if (!sk_X509_push(untrusted, x)) {
            X509_free(x);
            goto out;
        }
    }
    if (!leaf) {
        snprintf(why, n, "no AK certificate");
        goto out;
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(leaf), ak) != 1) {
        snprintf(why, n, "the AK certificate is for another key than the quote's AK");
        goto out;
    }
    int err;
    int v = x509_verify_at(anchors->store, leaf, untrusted, at, &err, NULL);
    if (v == 0)
        rc = 0;
    else if (v == -1)
        snprintf(why, n, "the AK certificate does not chain to a %s trust anchor: %s",
                 anchors->origin ? anchors->origin : "policy",
                 X509_verify_cert_error_string(err));
out:
    X509_free(leaf);
    sk_X509_pop_free(untrusted, X509_free);
    ERR_clear_error();
    return rc;
}

static int ttpm_verify(const uint8_t *ev, size_t len, const struct evidence_anchors *anchors,
                       time_t at, struct claims *out, struct tether_result *r)
{
    const char *fexp = "TTPM container: TPMT_PUBLIC, TPMS_ATTEST (quote), TPMT_SIGNATURE, PCR "
                       "values";
    struct tpm_evidence e;
    struct tpm_quote q;
    struct tpm_signature sig;
    struct tpm_public pub;
    EVP_PKEY *ak = NULL;
    const char *why = NULL;
    int rc = -1;
    if (tpm_evidence_parse(ev, len, &e, &why) != 0)
        return result_fail(r, "evidence.format", "evidence_malformed", fexp, "container", why);
    if (tpm_public_parse(e.ak_public, e.ak_public_len, &pub, &ak, &why) != 0)
        return result_fail(r, "evidence.format", "evidence_malformed", fexp, "TPMT_PUBLIC", why);
    if (tpm_quote_parse(e.attest, e.attest_len, &q, &why) != 0) {
        result_fail(r, "evidence.format", "evidence_malformed", fexp, "TPMS_ATTEST", why);
        goto out;
    }
    if (tpm_signature_parse(e.signature, e.signature_len, &sig, &why) != 0) {
        result_fail(r, "evidence.format", "evidence_malformed", fexp, "TPMT_SIGNATURE", why);
        goto out;
    }
    struct tpm_claims *tc = tpm_claims_start(out, ak, fexp, r);
    if (!tc)
        goto out;
    /* The signed qualifyingData is the report_data (64 bytes when a tether binder). */
    tpm_claims_report_data(out, &q);
    memcpy(out->measurement, q.pcr_digest, q.pcr_digest_len);
    out->measurement_len = q.pcr_digest_len;
    json_t *x = out->extra;
    evidence_json_set_hex(x, "ak_spki_sha256", tc->ak_spki_sha256, 32);
    evidence_json_set_hex(x, "ak_name", pub.name, pub.name_len);
    evidence_json_set_hex(x, "extra_data", q.extra_data, q.extra_data_len);
    evidence_json_set_hex(x, "pcr_digest", q.pcr_digest, q.pcr_digest_len);
    tpm_quote_counters_json(x, &q);
    json_object_set_new(x, "signature_algorithm", json_string(tpm_alg_name(sig.sig_alg)));
    {
        char act[160];
        snprintf(act, sizeof act, "quote by a %s AK, %s over %zu PCR bank(s), %zu certificate(s)",
                 pub.type == TPM_ALG_ECC ? "ECC" : "RSA", tpm_alg_name(sig.sig_alg),
                 q.pcr_select.n_banks, e.n_certs);
        result_check(r, "evidence.format", CHECK_PASS, NULL, fexp, act, NULL);
    }

    /* evidence.ak: a restricted signing key signs only digests the TPM computed itself over
     * structures beginning with TPM_GENERATED_VALUE (Part 1, "Restricted signing keys"). */
    if (!pub.restricted || !pub.sign) {
        result_fail(r, "evidence.ak", "tpm_ak_not_restricted", "a restricted signing key (AK)",
                    pub.restricted ? "not a signing key" : "not restricted",
                    "a key that is not restricted can sign a forged TPMS_ATTEST");
        goto out;
    }
    result_check(r, "evidence.ak", CHECK_PASS, NULL, "a restricted signing key (AK)",
                 pub.fixed_tpm ? "restricted, sign, fixedTPM" : "restricted, sign", NULL);

    /* evidence.signature */
    if (tpm_signature_verify(&sig, ak, e.attest, e.attest_len) != 0) {
        result_fail(r, "evidence.signature", "evidence_signature_invalid",
                    "TPMS_ATTEST signed by the AK", "invalid", NULL);
        goto out;
    }
    result_check(r, "evidence.signature", CHECK_PASS, NULL, "TPMS_ATTEST signed by the AK",
                 "valid", NULL);

    /* evidence.pcrs: exactly the selection, hashing to the signed pcrDigest. */
    if (tpm_check_pcrs(r, "supplied PCR values = the quote's selection, and H(values) = the "
                       "signed pcrDigest", &q, e.banks, e.n_banks, TPM_PCR_MATCH_EXACT,
                       sig.hash_alg, tc, x) != 0)
        goto out;

    /* evidence.chain: the AK is trusted by certificate or by pin. */
    {
        const char *cexp = "AK certificate chain to a policy trust anchor, or an AK key pinned "
                           "by the policy (accept.tpm.ak_keys)";
        char whyb[300] = "";
        for (size_t i = 0; anchors && i < anchors->n_pinned_keys; i++)
            if (ct_equal(anchors->pinned_keys[i], tc->ak_spki_sha256, 32))
                tc->ak_pinned = true;
        if (anchors && anchors->store && e.n_certs > 0 &&
            ak_chain(&e, ak, anchors, at, whyb, sizeof whyb) == 0)
            tc->ak_certified = true;
        json_object_set_new(x, "ak_certified", json_boolean(tc->ak_certified));
        json_object_set_new(x, "ak_pinned", json_boolean(tc->ak_pinned));
        if (!tc->ak_certified && !tc->ak_pinned) {
            char *h = hex_dup(tc->ak_spki_sha256, 32);
            char act[160];
            snprintf(act, sizeof act, "AK SPKI SHA-256 %s", h ? h : "?");
            free(h);
            result_fail(r, "evidence.chain", "tpm_ak_untrusted", cexp, act,
                        whyb[0] ? whyb
                         : "the AK is neither certified by a policy anchor nor pinned by the "
                           "policy: pin it (accept.tpm.ak_keys) or give accept.tpm.trust_anchors "
                           "and an AK certificate");
            goto out;
        }
        result_check(r, "evidence.chain", CHECK_PASS, NULL, cexp,
                     tc->ak_certified ? (tc->ak_pinned ? "certified and pinned" : "certified")
                                      : "pinned",
                     NULL);
    }
    rc = 0;
out:
    EVP_PKEY_free(ak);
    return rc;
}

/* ---- Google Cloud vTPM: go-tpm-tools attest.Attestation (gce.h) ---------------------------
 *
 * Checks, in order: evidence.format (the protobuf, the AK's TPMT_PUBLIC, every quote's
 * TPMS_ATTEST and TPMT_SIGNATURE), evidence.ak (a restricted signing key), evidence.signature
 * (every quote by the AK), evidence.quotes (one boot, one nonce: every quote has the same
 * extraData, resetCount and restartCount, and its own PCR bank), evidence.pcrs (each quote's
 * PCR values are exactly its selection and hash to its pcrDigest), evidence.chain (the AK
 * certificate's key is ak_pub, and it chains at the verification time to the policy's
 * accept.tpm.trust_anchors, else - unless the policy pins AKs and names no anchors: then only
 * its pins count - to the built-in Google vTPM roots; or the policy pins the AK).
 * Intermediates: the evidence's (field 7) and the built-in ones, as untrusted material only.
 * The event log, the instance info and a TEE attestation (fields 3, 4, 5, 8, 9) are not
 * covered by the quotes' signatures and are not used. */

static X509_STORE *google_store;      /* the built-in roots */
static STACK_OF(X509) *google_inter;  /* the built-in intermediates */
static pthread_once_t google_once = PTHREAD_ONCE_INIT;

static X509 *pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

static void google_init(void)
{
    X509_STORE *st = X509_STORE_new();
    STACK_OF(X509) *in = sk_X509_new_null();
    bool ok = st && in;
    for (size_t i = 0; ok && i < GOOGLE_ROOTS; i++) {
        X509 *x = pem_cert(google_roots[i].pem);
        ok = x && X509_STORE_add_cert(st, x) == 1;
        X509_free(x);
    }
    for (size_t i = 0; ok && i < GOOGLE_INTERMEDIATES; i++) {
        X509 *x = pem_cert(google_intermediates[i].pem);
        ok = x && sk_X509_push(in, x) > 0;
        if (!ok)
            X509_free(x);
    }
    if (ok) {
        google_store = st;
        google_inter = in;
    } else {
        X509_STORE_free(st);
        sk_X509_pop_free(in, X509_free);
    }
    ERR_clear_error();
}

static X509 *der_cert(const uint8_t *d, size_t n)
{
    const unsigned char *p = d;
    X509 *x = n <= GCE_MAX_CERT ? d2i_X509(NULL, &p, (long)n) : NULL;
    if (x && p != d + n) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

static void set_cert_json(json_t *o, X509 *x)
{
    char *s = x509_name_string(X509_get_issuer_name(x));
    if (s)
        json_object_set_new(o, "ak_cert_issuer", json_string(s));
    free(s);
    time_t t = 0;
    char buf[21];
    if (x509_time(X509_get0_notBefore(x), &t) == 0) {
        rfc3339_format(t, buf);
        json_object_set_new(o, "ak_cert_not_before", json_string(buf));
    }
    if (x509_time(X509_get0_notAfter(x), &t) == 0) {
        rfc3339_format(t, buf);
        json_object_set_new(o, "ak_cert_not_after", json_string(buf));
    }
}

/* The AK certificate (leaf) to the anchors at time at; the untrusted material is the
 * evidence's intermediates and the built-in ones. 0 with *root (the anchor's subject, caller
 * frees), or -1 with why. */
static int gce_chain(const struct gce_attestation *g, X509 *leaf, X509_STORE *store,
                     const char *origin, time_t at, char **root, char *why, size_t n)
{
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    STACK_OF(X509) *chain = NULL;
    int rc = -1;
    *root = NULL;
    if (!untrusted) {
        snprintf(why, n, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < g->n_intermediates; i++) {
        X509 *x = der_cert(g->intermediates[i], g->intermediate_lens[i]);
        if (!x) {
            snprintf(why, n, "intermediate certificate %zu (field 7) is not one DER certificate",
                     i);
            goto out;
        }
        if (sk_X509_push(untrusted, x) <= 0) {
            X509_free(x);
            snprintf(why, n, "out of memory");
            goto out;
        }
    }
    pthread_once(&google_once, google_init); /* the built-in intermediates, with any anchors */
    for (int i = 0; google_inter && i < sk_X509_num(google_inter); i++) {
        X509 *x = sk_X509_value(google_inter, i);
        if (X509_up_ref(x) != 1 || sk_X509_push(untrusted, x) <= 0) {
            X509_free(x);
            snprintf(why, n, "out of memory");
            goto out;
        }
    }
    int err;
    int v = x509_verify_at(store, leaf, untrusted, at, &err, &chain);
    if (v == -2) {
        snprintf(why, n, "out of memory");
        goto out;
    }
    if (v != 0) {
        snprintf(why, n, "the AK certificate does not chain to a %s trust anchor: %s", origin,
                 X509_verify_cert_error_string(err));
        goto out;
    }
    X509 *top = chain ? sk_X509_value(chain, sk_X509_num(chain) - 1) : NULL;
    *root = top ? x509_name_string(X509_get_subject_name(top)) : NULL;
    rc = 0;
out:
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(untrusted, X509_free);
    ERR_clear_error();
    return rc;
}

static int gce_verify(const uint8_t *ev, size_t len, const struct evidence_anchors *anchors,
                      time_t at, struct claims *out, struct tether_result *r)
{
    const char *fexp = "go-tpm-tools attest.Attestation: ak_pub (TPMT_PUBLIC), quotes "
                       "(TPMS_ATTEST, TPMT_SIGNATURE, PCR values), ak_cert";
    struct gce_attestation *g = calloc(1, sizeof *g);
    struct tpm_quote q[GCE_MAX_QUOTES];
    struct tpm_signature sig[GCE_MAX_QUOTES];
    struct tpm_public pub;
    EVP_PKEY *ak = NULL;
    X509 *leaf = NULL;
    const char *why = NULL;
    char whyb[400];
    int rc = -1;
    if (!g)
        return result_fail(r, "evidence.format", "internal", fexp, NULL, "out of memory");
    if (gce_attestation_parse(ev, len, g, &why) != 0) {
        result_fail(r, "evidence.format", "evidence_malformed", fexp, "protobuf", why);
        goto out;
    }
    if (tpm_public_parse(g->ak_pub, g->ak_pub_len, &pub, &ak, &why) != 0) {
        result_fail(r, "evidence.format", "evidence_malformed", fexp, "ak_pub (TPMT_PUBLIC)", why);
        goto out;
    }
    for (size_t i = 0; i < g->n_quotes; i++) {
        const struct gce_quote *gq = &g->quotes[i];
        const char *what = NULL;
        if (tpm_quote_parse(gq->quote, gq->quote_len, &q[i], &why) != 0)
            what = "TPMS_ATTEST";
        else if (tpm_signature_parse(gq->raw_sig, gq->raw_sig_len, &sig[i], &why) != 0)
            what = "TPMT_SIGNATURE";
        if (what) {
            snprintf(whyb, sizeof whyb, "quote %zu (%s bank): %s: %s", i,
                     tpm_alg_name(gq->pcrs.hash_alg), what, why ? why : "malformed");
            result_fail(r, "evidence.format", "evidence_malformed", fexp, what, whyb);
            goto out;
        }
    }
    if (g->ak_cert && !(leaf = der_cert(g->ak_cert, g->ak_cert_len))) {
        result_fail(r, "evidence.format", "evidence_malformed", fexp, "ak_cert",
                    "the AK certificate (field 6) is not one DER certificate");
        goto out;
    }

    /* The claims, from here on even if a later check fails. */
    struct tpm_claims *tc = tpm_claims_start(out, ak, fexp, r);
    if (!tc)
        goto out;
    /* The measurement: the pcrDigest of the SHA-256 bank's quote, else of the first. */
    size_t mq = 0;
    for (size_t i = 0; i < g->n_quotes; i++)
        if (g->quotes[i].pcrs.hash_alg == TPM_ALG_SHA256) {
            mq = i;
            break;
        }
    memcpy(out->measurement, q[mq].pcr_digest, q[mq].pcr_digest_len);
    out->measurement_len = q[mq].pcr_digest_len;
    /* The signed extraData of the first quote (evidence.quotes checks the others equal it):
     * a 64-byte value is report_data (a tether binder); anything else is a caller's nonce. */
    tpm_claims_report_data(out, &q[0]);
    json_t *x = out->extra;
    json_object_set_new(x, "format", json_string("gce-attestation"));
    evidence_json_set_hex(x, "ak_spki_sha256", tc->ak_spki_sha256, 32);
    evidence_json_set_hex(x, "ak_name", pub.name, pub.name_len);
    evidence_json_set_hex(x, "extra_data", q[0].extra_data, q[0].extra_data_len);
    if (q[0].extra_data_len != 64)
        evidence_json_set_hex(x, "nonce", q[0].extra_data, q[0].extra_data_len);
    tpm_quote_counters_json(x, &q[0]);
    {
        json_t *qa = json_array();
        for (size_t i = 0; qa && i < g->n_quotes; i++) {
            json_t *qo = json_object();
            json_object_set_new(qo, "bank", json_string(tpm_alg_name(g->quotes[i].pcrs.hash_alg)));
            evidence_json_set_hex(qo, "pcr_digest", q[i].pcr_digest, q[i].pcr_digest_len);
            json_object_set_new(qo, "signature_algorithm",
                                json_string(tpm_alg_name(sig[i].sig_alg)));
            json_object_set_new(qo, "signature_hash", json_string(tpm_alg_name(sig[i].hash_alg)));
            json_array_append_new(qa, qo);
        }
        json_object_set_new(x, "quotes", qa);
    }
    if (g->event_log_len)
        json_object_set_new(x, "event_log_bytes", json_integer((json_int_t)g->event_log_len));
    if (g->canonical_event_log_len)
        json_object_set_new(x, "canonical_event_log_bytes",
                            json_integer((json_int_t)g->canonical_event_log_len));
    if (g->tee_attestation)
        json_object_set_new(x, "tee_attestation",
                            json_string(g->tee_attestation == 8 ? "sev_snp (not verified)"
                                                                : "tdx (not verified)"));
    if (leaf)
        set_cert_json(x, leaf);
    json_object_set_new(x, "intermediate_certs", json_integer((json_int_t)g->n_intermediates));
    {
        char banks[64] = "";
        for (size_t i = 0; i < g->n_quotes; i++) {
            size_t l = strlen(banks);
            snprintf(banks + l, sizeof banks - l, "%s%s", i ? ", " : "",
                     tpm_alg_name(g->quotes[i].pcrs.hash_alg));
        }
        char act[300];
        snprintf(act, sizeof act, "%zu quote(s) (%s) by an %s AK, %s certificate, %zu "
                 "intermediate(s)", g->n_quotes, banks, pub.type == TPM_ALG_ECC ? "ECC" : "RSA",
                 leaf ? "an AK" : "no AK", g->n_intermediates);
        /* What the quotes' signatures do not cover is reported, not used. */
        char detail[200] = "";
        const char *unused[3] = {g->event_log_len ? "the event log (not replayed)" : NULL,
                                 g->canonical_event_log_len ? "the canonical event log" : NULL,
                                 g->tee_attestation ? "the TEE attestation (field 8/9)" : NULL};
        for (size_t i = 0; i < 3; i++)
            if (unused[i]) {
                size_t l = strlen(detail);
                snprintf(detail + l, sizeof detail - l, "%s%s", l ? ", " : "not used: ",
                         unused[i]);
            }
        result_check(r, "evidence.format", CHECK_PASS, NULL, fexp, act,
                     detail[0] ? detail : NULL);
    }

    /* evidence.ak */
    if (!pub.restricted || !pub.sign) {
        result_fail(r, "evidence.ak", "tpm_ak_not_restricted", "a restricted signing key (AK)",
                    pub.restricted ? "not a signing key" : "not restricted",
                    "a key that is not restricted can sign a forged TPMS_ATTEST");
        goto out;
    }
    result_check(r, "evidence.ak", CHECK_PASS, NULL, "a restricted signing key (AK)",
                 pub.fixed_tpm ? "restricted, sign, fixedTPM" : "restricted, sign", NULL);

    /* evidence.signature: every quote. */
    for (size_t i = 0; i < g->n_quotes; i++)
        if (tpm_signature_verify(&sig[i], ak, g->quotes[i].quote, g->quotes[i].quote_len) != 0) {
            snprintf(whyb, sizeof whyb, "quote %zu (%s bank) is not signed by the AK", i,
                     tpm_alg_name(g->quotes[i].pcrs.hash_alg));
            result_fail(r, "evidence.signature", "evidence_signature_invalid",
                        "every TPMS_ATTEST signed by the AK", "invalid", whyb);
            goto out;
        }
    {
        char act[64];
        snprintf(act, sizeof act, "%zu of %zu valid", g->n_quotes, g->n_quotes);
        result_check(r, "evidence.signature", CHECK_PASS, NULL,
                     "every TPMS_ATTEST signed by the AK", act, NULL);
    }

    /* evidence.quotes: the quotes belong together (one nonce, one boot, one bank each). */
    {
        const char *qexp = "every quote: the same extraData (nonce), resetCount and "
                           "restartCount, and its own PCR bank";
        whyb[0] = 0;
        for (size_t i = 1; i < g->n_quotes && !whyb[0]; i++) {
            /* (ct_equal is false for zero bytes: two empty extraData are equal.) */
            if (q[i].extra_data_len != q[0].extra_data_len ||
                (q[0].extra_data_len &&
                 !ct_equal(q[i].extra_data, q[0].extra_data, q[0].extra_data_len)))
                snprintf(whyb, sizeof whyb, "quote %zu has another extraData than quote 0", i);
            else if (q[i].reset_count != q[0].reset_count ||
                     q[i].restart_count != q[0].restart_count)
                snprintf(whyb, sizeof whyb, "quote %zu is from another boot than quote 0 "
                         "(resetCount/restartCount differ)", i);
            for (size_t j = 0; j < i && !whyb[0]; j++)
                if (g->quotes[j].pcrs.hash_alg == g->quotes[i].pcrs.hash_alg)
                    snprintf(whyb, sizeof whyb, "quotes %zu and %zu both give the %s bank", j, i,
                             tpm_alg_name(g->quotes[i].pcrs.hash_alg));
        }
        if (whyb[0]) {
            result_fail(r, "evidence.quotes", "tpm_quotes_inconsistent", qexp, NULL, whyb);
            goto out;
        }
        result_check(r, "evidence.quotes", CHECK_PASS, NULL, qexp, "consistent", NULL);
    }

    /* evidence.pcrs: per quote, its one bank is exactly its selection and hashes to its
     * pcrDigest (with the signature's hash, TPM2_Quote). */
    {
        const char *pexp = "each quote's PCR values = its selection, and H(values) = its signed "
                           "pcrDigest";
        for (size_t i = 0; i < g->n_quotes; i++) {
            const struct tpm_pcr_bank *b = &g->quotes[i].pcrs;
            const struct tpm_pcr_selection *sel = &q[i].pcr_select;
            if (sel->n_banks != 1 || sel->bank[0].hash_alg != b->hash_alg ||
                sel->bank[0].mask != b->present) {
                snprintf(whyb, sizeof whyb, "quote %zu: the %s PCR values (mask %06x) are not "
                         "the quote's selection (%zu bank(s), first %s mask %06x)", i,
                         tpm_alg_name(b->hash_alg), (unsigned)b->present, sel->n_banks,
                         sel->n_banks ? tpm_alg_name(sel->bank[0].hash_alg) : "-",
                         sel->n_banks ? (unsigned)sel->bank[0].mask : 0u);
                result_fail(r, "evidence.pcrs", "tpm_pcr_selection_mismatch", pexp, NULL, whyb);
                goto out;
            }
            if (!pcr_digest_matches(&q[i], b, 1, sig[i].hash_alg)) {
                snprintf(whyb, sizeof whyb, "quote %zu: the %s PCR values do not hash to the "
                         "signed pcrDigest", i, tpm_alg_name(b->hash_alg));
                result_fail(r, "evidence.pcrs", "tpm_pcr_digest_mismatch", pexp, NULL, whyb);
                goto out;
            }
        }
        json_t *pj = json_object();
        for (size_t i = 0; i < g->n_quotes; i++) {
            const struct tpm_pcr_bank *b = &g->quotes[i].pcrs;
            json_object_set_new(pj, tpm_alg_name(b->hash_alg), pcr_bank_json(b));
            tc->banks[i] = *b;
        }
        tc->n_banks = g->n_quotes;
        json_object_set_new(x, "pcrs", pj);
        result_check(r, "evidence.pcrs", CHECK_PASS, NULL, pexp, "match", NULL);
    }

    /* evidence.chain */
    {
        const char *cexp = "AK certificate (key = ak_pub) chain to the policy's "
                           "accept.tpm.trust_anchors (else, unless the policy pins AKs, the "
                           "built-in Google vTPM roots), or an AK key pinned by the policy "
                           "(accept.tpm.ak_keys)";
        X509_STORE *store = NULL;
        const char *origin = NULL;
        char *root = NULL;
        whyb[0] = 0;
        for (size_t i = 0; anchors && i < anchors->n_pinned_keys; i++)
            if (ct_equal(anchors->pinned_keys[i], tc->ak_spki_sha256, 32))
                tc->ak_pinned = true;
        /* The policy's anchors; else, unless the policy trusts exactly its pinned AKs, the
         * built-in Google roots (a pins-only policy is not widened to every Google AK). */
        bool pins_only = false;
        if (anchors && anchors->store) {
            store = anchors->store;
            origin = anchors->origin ? anchors->origin : "policy";
        } else if (anchors && anchors->n_pinned_keys) {
            pins_only = true;
        } else {
            pthread_once(&google_once, google_init);
            store = google_store;
            origin = "built-in Google vTPM";
        }
        if (leaf) {
            if (EVP_PKEY_eq(X509_get0_pubkey(leaf), ak) != 1) {
                ERR_clear_error();
                result_fail(r, "evidence.chain", "tpm_ak_cert_mismatch", cexp, NULL,
                            "the AK certificate (field 6) is for another key than ak_pub");
                goto out;
            }
            /* A certificate for a key that may not sign (an EK certificate of the same CA) is
             * not an AK certificate. */
            uint32_t ku = X509_get_key_usage(leaf);
            if (ku != UINT32_MAX && !(ku & KU_DIGITAL_SIGNATURE)) {
                result_fail(r, "evidence.chain", "tpm_ak_cert_mismatch", cexp, NULL,
                            "the AK certificate's key usage excludes digitalSignature");
                goto out;
            }
            if (pins_only)
                snprintf(whyb, sizeof whyb, "the policy trusts only its pinned AKs "
                         "(accept.tpm.ak_keys, no trust_anchors): the AK certificate is not "
                         "used");
            else if (!store)
                snprintf(whyb, sizeof whyb, "no trust anchor store (built-in roots unusable)");
            else if (gce_chain(g, leaf, store, origin, at, &root, whyb, sizeof whyb) == 0)
                tc->ak_certified = true;
        } else {
            snprintf(whyb, sizeof whyb, "the attestation carries no AK certificate (field 6) "
                     "and the policy does not pin the AK (accept.tpm.ak_keys)");
        }
        json_object_set_new(x, "ak_certified", json_boolean(tc->ak_certified));
        json_object_set_new(x, "ak_pinned", json_boolean(tc->ak_pinned));
        if (root)
            json_object_set_new(x, "ak_cert_root", json_string(root));
        if (!tc->ak_certified && !tc->ak_pinned) {
            char *h = hex_dup(tc->ak_spki_sha256, 32);
            char act[160];
            snprintf(act, sizeof act, "AK SPKI SHA-256 %s", h ? h : "?");
            free(h);
            result_fail(r, "evidence.chain", "tpm_ak_untrusted", cexp, act, whyb);
            free(root);
            goto out;
        }
        char act[400];
        if (tc->ak_certified)
            snprintf(act, sizeof act, "certified%s: AK certificate to %s (%s trust anchor)",
                     tc->ak_pinned ? " and pinned" : "", root ? root : "?", origin);
        else
            snprintf(act, sizeof act, "pinned");
        free(root);
        result_check(r, "evidence.chain", CHECK_PASS, NULL, cexp, act,
                     !tc->ak_certified && whyb[0] ? whyb : NULL);
    }
    rc = 0;
out:
    X509_free(leaf);
    EVP_PKEY_free(ak);
    free(g);
    return rc;
}

static int tpm_verify(const uint8_t *ev, size_t len, const struct evidence_anchors *anchors,
                      time_t at, const char *const *collateral, struct claims *out,
                      struct tether_result *r)
{
    (void)collateral;
    if (!ttpm_recognise(ev, len) && ev && len && ev[0] == 0x0a)
        return gce_verify(ev, len, anchors, at, out, r);
    return ttpm_verify(ev, len, anchors, at, out, r);
}

const struct evidence_backend evidence_tpm = {
    .name = "tpm",
    .media_type = TPM_EVIDENCE_MEDIA_TYPE,
    .recognise = tpm_recognise,
    .verify = tpm_verify,
};
