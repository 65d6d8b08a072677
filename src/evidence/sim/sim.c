/*
 * sim.c - the simulated TEE evidence backend ("sim"): strict parsing of the v1 format
 * (sim.h, docs/sim.md), the AK certificate chain to a policy-named sim root at the time of
 * verification, and the ECDSA P-256 signature over the 216-byte body.
 *
 * Must never: accept evidence without a trust anchor from the policy (there is no built-in
 * sim root), read past the input (every read goes through a bytes_reader), accept trailing
 * bytes, or look at the policy's measurements or the expected binder (src/policy and
 * src/verify do that).
 */
#include "evidence/sim/sim.h"
#include "util/x509util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/result.h"
#include "util/util.h"

static bool sim_recognise(const uint8_t *ev, size_t len)
{
    if (!ev || len < SIM_MIN_LEN)
        return false;
    return memcmp(ev + SIM_OFF_MAGIC, SIM_MAGIC, SIM_MAGIC_LEN) == 0 &&
           ev[SIM_OFF_VERSION] == 0 && ev[SIM_OFF_VERSION + 1] == SIM_VERSION;
}

int sim_evidence_parse(const uint8_t *ev, size_t len, struct sim_evidence *out, const char **why)
{
    static const char *reason_none = "";
    memset(out, 0, sizeof *out);
    *why = reason_none;
    if (!ev || len < SIM_MIN_LEN)
        return parse_fail(why, "shorter than the 220-byte minimum (216-byte body and two length "
                               "prefixes)");

    struct bytes_reader rd;
    reader_init(&rd, ev, len);
    const uint8_t *magic = NULL;
    uint16_t version = 0;
    uint8_t reserved[SIM_RESERVED_LEN] = {0};
    struct sim_body *b = &out->body;

    if (!reader_bytes(&rd, SIM_MAGIC_LEN, &magic) || memcmp(magic, SIM_MAGIC, SIM_MAGIC_LEN) != 0)
        return parse_fail(why, "bad magic (expected \"TSIM\")");
    if (!reader_u16(&rd, &version) || version != SIM_VERSION)
        return parse_fail(why, "unsupported format version (expected 1)");
    if (!reader_u16(&rd, &b->flags) || (b->flags & ~SIM_FLAGS_KNOWN) != 0)
        return parse_fail(why, "unknown flag bits set");
    if (!reader_u32(&rd, &b->tcb_version))
        return parse_fail(why, "truncated body");
    if (!reader_u8(&rd, &b->key_hash_len))
        return parse_fail(why, "truncated body");
    if (b->key_hash_len != 32 && b->key_hash_len != 48 && b->key_hash_len != 64)
        return parse_fail(why, "key_hash_len must be 32, 48 or 64");
    if (!reader_copy(&rd, reserved, sizeof reserved))
        return parse_fail(why, "truncated body");
    if (!ct_is_zero(reserved, sizeof reserved))
        return parse_fail(why, "reserved bytes are not zero");
    if (!reader_u64(&rd, &b->timestamp))
        return parse_fail(why, "truncated body");
    if (b->timestamp > SIM_TIMESTAMP_MAX)
        return parse_fail(why, "timestamp out of range");
    if (!reader_copy(&rd, b->measurement, sizeof b->measurement) ||
        !reader_copy(&rd, b->platform_id, sizeof b->platform_id) ||
        !reader_copy(&rd, b->report_data, sizeof b->report_data) ||
        !reader_copy(&rd, b->key_hash, sizeof b->key_hash))
        return parse_fail(why, "truncated body");
    if (!ct_is_zero(b->key_hash + b->key_hash_len, SIM_KEY_HASH_MAX - b->key_hash_len))
        return parse_fail(why, "key_hash bytes beyond key_hash_len are not zero");
    if (rd.pos != SIM_BODY_LEN)
        return parse_fail(why, "internal: body length mismatch");
    out->signed_body = ev;

    if (!reader_vec(&rd, 2, &out->ak_cert, &out->ak_cert_len))
        return parse_fail(why, "truncated AK certificate");
    if (out->ak_cert_len == 0)
        return parse_fail(why, "empty AK certificate");
    if (!reader_vec(&rd, 2, &out->sig, &out->sig_len))
        return parse_fail(why, "truncated signature");
    if (out->sig_len == 0 || out->sig_len > SIM_SIG_MAX)
        return parse_fail(why, "signature length out of range (1..72 bytes)");
    if (!reader_done(&rd))
        return parse_fail(why, "trailing bytes after the signature");
    return 0;
}

int sim_body_encode(const struct sim_body *b, uint8_t out[static SIM_BODY_LEN])
{
    if ((b->flags & ~SIM_FLAGS_KNOWN) != 0 || b->timestamp > SIM_TIMESTAMP_MAX ||
        (b->key_hash_len != 32 && b->key_hash_len != 48 && b->key_hash_len != 64))
        return -1;
    struct bytes_writer w;
    writer_init(&w, SIM_BODY_LEN);
    static const uint8_t zero[SIM_KEY_HASH_MAX];
    writer_bytes(&w, SIM_MAGIC, SIM_MAGIC_LEN);
    writer_u16(&w, SIM_VERSION);
    writer_u16(&w, b->flags);
    writer_u32(&w, b->tcb_version);
    writer_u8(&w, b->key_hash_len);
    writer_bytes(&w, zero, SIM_RESERVED_LEN);
    writer_u64(&w, b->timestamp);
    writer_bytes(&w, b->measurement, SIM_MEASUREMENT_LEN);
    writer_bytes(&w, b->platform_id, SIM_PLATFORM_ID_LEN);
    writer_bytes(&w, b->report_data, SIM_REPORT_DATA_LEN);
    writer_bytes(&w, b->key_hash, b->key_hash_len);
    writer_bytes(&w, zero, SIM_KEY_HASH_MAX - (size_t)b->key_hash_len);
    size_t n = 0;
    uint8_t *p = writer_take(&w, &n);
    if (!p || n != SIM_BODY_LEN) {
        free(p);
        return -1;
    }
    memcpy(out, p, SIM_BODY_LEN);
    free(p);
    return 0;
}

int sim_evidence_encode(const uint8_t body[static SIM_BODY_LEN], const uint8_t *ak_cert,
                        size_t ak_cert_len, const uint8_t *sig, size_t sig_len,
                        struct bytes_writer *out)
{
    if (!ak_cert || ak_cert_len == 0 || ak_cert_len > 0xffff || !sig || sig_len == 0 ||
        sig_len > SIM_SIG_MAX)
        return -1;
    writer_bytes(out, body, SIM_BODY_LEN);
    writer_u16(out, (uint16_t)ak_cert_len);
    writer_bytes(out, ak_cert, ak_cert_len);
    writer_u16(out, (uint16_t)sig_len);
    writer_bytes(out, sig, sig_len);
    return out->failed ? -1 : 0;
}


static void fill_claims(const struct sim_evidence *se, struct claims *c)
{
    const struct sim_body *b = &se->body;
    claims_clear(c);
    snprintf(c->tee, sizeof c->tee, "sim");
    c->simulated = true;
    memcpy(c->measurement, b->measurement, SIM_MEASUREMENT_LEN);
    c->measurement_len = SIM_MEASUREMENT_LEN;
    memcpy(c->platform_id, b->platform_id, SIM_PLATFORM_ID_LEN);
    c->platform_id_len = SIM_PLATFORM_ID_LEN;
    c->tcb = b->tcb_version;
    c->has_tcb = true;
    c->debug = (b->flags & SIM_FLAG_DEBUG) != 0;
    memcpy(c->report_data, b->report_data, SIM_REPORT_DATA_LEN);
    c->has_report_data = true;
    memcpy(c->key_hash, b->key_hash, b->key_hash_len);
    c->key_hash_len = b->key_hash_len;
    c->timestamp = (int64_t)b->timestamp;
    c->has_timestamp = true;
    c->extra = json_object();
    if (c->extra)
        json_object_set_new(c->extra, "sim_format_version", json_integer(SIM_VERSION));
}

static int check_chain(X509 *ak, const struct sim_evidence *se,
                       const struct evidence_anchors *anchors, time_t at,
                       struct tether_result *r, const char *subject, const char *issuer)
{
    const char *expected = "chain from the AK certificate to a sim root named by the policy";
    char actual[600];
    snprintf(actual, sizeof actual, "subject \"%s\", issuer \"%s\"", subject ? subject : "?",
             issuer ? issuer : "?");
    if (!anchors || !anchors->store) {
        result_check(r, "evidence.chain", CHECK_FAIL, "evidence_no_trust_anchor", expected,
                     actual,
                     "no trust anchor for sim evidence: the policy must name the sim root in "
                     "accept.sim.trust_anchors (e.g. the root.crt of the sim directory)");
        return -1;
    }
    int err;
    STACK_OF(X509) *chain = NULL;
    int ok = x509_verify_at(anchors->store, ak, NULL, at, &err, &chain);
    if (ok == -2) {
        result_check(r, "evidence.chain", CHECK_FAIL, "internal", expected, actual,
                     "could not set up certificate verification");
        return -1;
    }
    if (ok == 0)
        chain_cache_add_ex(anchors->cache, se->ak_cert, se->ak_cert_len, ak, chain, NULL);
    sk_X509_pop_free(chain, X509_free);
    if (ok != 0) {
        char detail[300];
        snprintf(detail, sizeof detail, "AK certificate does not chain to a %s trust anchor: %s",
                 anchors->origin ? anchors->origin : "configured",
                 X509_verify_cert_error_string(err));
        result_check(r, "evidence.chain", CHECK_FAIL, "evidence_chain_untrusted", expected,
                     actual, detail);
        return -1;
    }
    result_check(r, "evidence.chain", CHECK_PASS, NULL, expected, actual, NULL);
    return 0;
}

static int check_signature(X509 *ak, const struct sim_evidence *se, struct tether_result *r)
{
    const char *expected = "ECDSA P-256 SHA-256 signature by the AK over the 216-byte body";
    EVP_PKEY *pk = X509_get0_pubkey(ak);
    if (!ec_key_is_curve(pk, NID_X9_62_prime256v1)) {
        ERR_clear_error();
        result_check(r, "evidence.signature", CHECK_FAIL, "evidence_signature_invalid", expected,
                     "AK key is not an EC P-256 key", NULL);
        return -1;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
             EVP_DigestVerify(md, se->sig, se->sig_len, se->signed_body, SIM_BODY_LEN) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    if (!ok) {
        result_check(r, "evidence.signature", CHECK_FAIL, "evidence_signature_invalid", expected,
                     "signature does not verify", NULL);
        return -1;
    }
    result_check(r, "evidence.signature", CHECK_PASS, NULL, expected, "valid", NULL);
    return 0;
}

static int sim_verify(const uint8_t *ev, size_t len, const struct evidence_anchors *anchors,
                      time_t at, const char *const *collateral, struct claims *out,
                      struct tether_result *r)
{
    (void)collateral; /* the sim format needs none */
    struct sim_evidence se;
    const char *why = NULL;
    const char *expected = "sim evidence format v1";
    if (sim_evidence_parse(ev, len, &se, &why) != 0) {
        result_check(r, "evidence.format", CHECK_FAIL, "evidence_malformed", expected, NULL, why);
        return -1;
    }
    fill_claims(&se, out);

    /* A certificate that chained before, at this time, needs neither parsing nor chain
     * verification again (evidence/chain_cache.h). */
    X509 *ak = anchors && anchors->store ? chain_cache_lookup(anchors->cache, se.ak_cert,
                                                              se.ak_cert_len, at)
                                         : NULL;
    bool cached = ak != NULL;
    const unsigned char *p = se.ak_cert;
    if (!ak)
        ak = d2i_X509(NULL, &p, (long)se.ak_cert_len);
    else
        p = se.ak_cert + se.ak_cert_len;
    if (!ak || p != se.ak_cert + se.ak_cert_len) {
        X509_free(ak);
        ERR_clear_error();
        result_check(r, "evidence.format", CHECK_FAIL, "evidence_malformed", expected, NULL,
                     "the AK certificate is not exactly one DER X.509 certificate");
        return -1;
    }
    char *subject = x509_name_string(X509_get_subject_name(ak));
    char *issuer = x509_name_string(X509_get_issuer_name(ak));
    if (out->extra && subject)
        json_object_set_new(out->extra, "ak_subject", json_string(subject));
    if (out->extra && issuer)
        json_object_set_new(out->extra, "ak_issuer", json_string(issuer));

    char actual[128];
    snprintf(actual, sizeof actual, "sim evidence v1, %zu bytes (AK certificate %zu, signature %zu)",
             len, se.ak_cert_len, se.sig_len);
    result_check(r, "evidence.format", CHECK_PASS, NULL, expected, actual, NULL);

    int rc;
    if (cached) {
        char detail[600];
        snprintf(detail, sizeof detail, "subject \"%s\", issuer \"%s\" (verified earlier, cached)",
                 subject ? subject : "?", issuer ? issuer : "?");
        result_check(r, "evidence.chain", CHECK_PASS, NULL,
                     "chain from the AK certificate to a sim root named by the policy", detail,
                     NULL);
        rc = 0;
    } else {
        rc = check_chain(ak, &se, anchors, at, r, subject, issuer);
    }
    if (rc == 0)
        rc = check_signature(ak, &se, r);
    free(subject);
    free(issuer);
    X509_free(ak);
    return rc;
}

const struct evidence_backend evidence_sim = {
    .name = "sim",
    .media_type = SIM_MEDIA_TYPE,
    .recognise = sim_recognise,
    .verify = sim_verify,
};
