/*
 * azure_vtpm.c - the "azure-vtpm" evidence backend (azure_vtpm.h has the container and the HCL
 * report layout; docs/azure.md). References: research evidence.md A1 (HCL report, binding),
 * A2 (DCAP TD quotes), A3 (TPM quote; Azure stores the bare RSA signature), C item 11; SEV-SNP
 * ABI 56860 (the embedded report, verified by the "snp" backend); Intel TDX module ABI
 * (TDREPORT_STRUCT: REPORTTYPE, REPORTDATA at +128); TPM 2.0 Part 2/3 (TPMS_ATTEST,
 * TPM2_Quote: pcrDigest over the selected PCRs); RFC 7517/7518 (the JWK of HCLAkPub:
 * base64url without padding, minimal octets).
 *
 * Checks, in order, each with its stable name, stopping at the first failure:
 *   evidence.format        the TAZV container, the HCL report (header, sizes, report type as
 *                          the container's form says, SHA-256; TDX: a TDREPORT), the runtime
 *                          claims (strict JSON), the TPMS_ATTEST, the signature length;
 *   SEV-SNP form:
 *   (the "snp" backend)    the embedded SNP report with the same anchors, collateral and time:
 *                          its evidence.format, .collateral, .chain, .signing_key, .revocation,
 *                          .signature, .tcb_binding, .chip_id checks appear as they are;
 *   evidence.hcl_binding   REPORT_DATA == SHA-256(runtime claims) || 32 zero bytes (constant
 *                          time, all 64 bytes at once);
 *   TDX form:
 *   (the "tdx" backend)    the TD quote with the same anchors, collateral and time: its
 *                          evidence.format, .chain, .signature, .pck, .collateral, .tcb_info,
 *                          .qe_identity, .revocation, .tcb_status checks appear as they are;
 *   evidence.hcl_binding   the quote's REPORTDATA == SHA-256(runtime claims) || 32 zero bytes
 *                          (constant time, 64 bytes), then the TDREPORT's REPORTDATA == the
 *                          quote's (consistency only: the TDREPORT is MAC'd, not signed);
 *   both:
 *   evidence.ak            HCLAkPub from the (now authenticated) claims: RSA-2048;
 *   evidence.tpm_signature the quote, RSASSA-PKCS1-v1_5 SHA-256 by that AK;
 *   evidence.pcrs          the supplied PCR values are exactly the quote's selection and hash
 *                          to its pcrDigest.
 *
 * Must never: use the runtime claims (the AK, the VM identity) before the SNP report or TD
 * quote that binds them has verified and the binding has been checked; compare the binding
 * with memcmp; take anything from the TDREPORT as authenticated; use the hardware REPORT_DATA
 * as the connection's report_data.
 */
#include "evidence/azure/azure_vtpm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "evidence/tpm/tpm_evidence.h"
#include "util/util.h"

#define JWK_FIELD_MAX 1024 /* base64url characters of n or e */

static int fail_why(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

/* ---- the HCL report ---- */

int azure_hcl_parse(const uint8_t *buf, size_t len, struct azure_hcl *out, const char **why)
{
    if (why)
        *why = NULL;
    if (!out)
        return fail_why(why, "no output");
    memset(out, 0, sizeof *out);
    if (!buf)
        return fail_why(why, "no HCL report");
    if (len > AZURE_HCL_MAX)
        return fail_why(why, "HCL report larger than 16 KiB");
    if (len < AZURE_HCL_CLAIMS_OFF)
        return fail_why(why, "HCL report truncated (shorter than its fixed part, 0x4D4 bytes)");

    struct bytes_reader r;
    uint32_t sig = 0, reserved[3] = {0, 0, 0};
    reader_init(&r, buf, len);
    reader_u32le(&r, &sig);
    reader_u32le(&r, &out->version);
    reader_u32le(&r, &out->report_size);
    reader_u32le(&r, &out->request_type);
    reader_u32le(&r, &out->status);
    for (int i = 0; i < 3; i++)
        reader_u32le(&r, &reserved[i]);
    if (!reader_bytes(&r, AZURE_HCL_HW_REPORT_LEN, &out->hw_report))
        return fail_why(why, "HCL report truncated");
    reader_u32le(&r, &out->data_size);
    reader_u32le(&r, &out->data_version);
    reader_u32le(&r, &out->report_type);
    reader_u32le(&r, &out->hash_type);
    uint32_t vsize = 0;
    reader_u32le(&r, &vsize);
    if (r.failed || r.pos != AZURE_HCL_CLAIMS_OFF)
        return fail_why(why, "HCL report truncated");

    if (sig != AZURE_HCL_SIGNATURE)
        return fail_why(why, "not an HCL report (signature \"HCLA\")");
    if (out->version != 1 && out->version != 2)
        return fail_why(why, "unsupported HCL report version (1 or 2)");
    if (out->request_type != AZURE_HCL_REQUEST_TYPE_AK_CERT)
        return fail_why(why, "HCL request type is not 2 (the vTPM attestation report)");
    if (out->data_version != AZURE_HCL_REQUEST_DATA_VERSION)
        return fail_why(why, "HCL request data version is not 1 (another layout)");
    if (out->report_type != AZURE_HCL_REPORT_TYPE_SNP &&
        out->report_type != AZURE_HCL_REPORT_TYPE_TDX)
        return fail_why(why, "HCL report type is neither 2 (SEV-SNP) nor 4 (TDX)");
    out->tdx = out->report_type == AZURE_HCL_REPORT_TYPE_TDX;
    if (out->tdx && out->hw_report[0] != AZURE_TDREPORT_TYPE_TDX)
        return fail_why(why, "HCL report of type 4 (TDX) whose hardware report is not a "
                             "TDREPORT (REPORTTYPE.TYPE is not 0x81)");
    if (out->hash_type != AZURE_HCL_HASH_SHA256)
        return fail_why(why, "HCL report data hash type is not 1 (SHA-256)");
    /* The sizes agree with each other and with the buffer. vsize is bounded first so that the
     * sums below cannot wrap. */
    if (vsize == 0)
        return fail_why(why, "HCL report without runtime claims");
    if (vsize > len - AZURE_HCL_CLAIMS_OFF)
        return fail_why(why, "HCL runtime claims extend beyond the report");
    if (out->data_size != AZURE_HCL_REQUEST_DATA_LEN + vsize)
        return fail_why(why, "HCL data_size is not 20 + the runtime-claims size");
    if (out->report_size != AZURE_HCL_CLAIMS_OFF + vsize)
        return fail_why(why, "HCL report_size is not 0x4D4 + the runtime-claims size");
    out->claims = buf + AZURE_HCL_CLAIMS_OFF;
    out->claims_len = vsize;
    out->padding = len - AZURE_HCL_CLAIMS_OFF - vsize;
    return 0;
}

json_t *azure_hcl_claims_parse(const uint8_t *claims, size_t len, const char **why)
{
    if (why)
        *why = NULL;
    if (!claims || len == 0) {
        fail_why(why, "no runtime claims");
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *)claims, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        fail_why(why, "the runtime claims are not strict JSON (syntax, duplicate key, NUL, "
                      "or bytes after the value)");
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        fail_why(why, "the runtime claims are not a JSON object");
        return NULL;
    }
    return j;
}

/* ---- HCLAkPub ---- */

/* A JWK member: a base64url string of 1..cap bytes with no leading zero octet. */
static int jwk_uint(json_t *jwk, const char *name, uint8_t *out, size_t cap, size_t *n)
{
    json_t *v = json_object_get(jwk, name);
    if (!json_is_string(v))
        return -1;
    size_t sl = json_string_length(v);
    if (sl == 0 || sl > JWK_FIELD_MAX)
        return -1;
    if (base64url_decode(json_string_value(v), sl, out, cap, n) != 0 || *n == 0 || out[0] == 0)
        return -1;
    return 0;
}

static EVP_PKEY *rsa_from(const uint8_t *n, size_t nl, const uint8_t *e, size_t el)
{
    EVP_PKEY *key = NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    bool ready = bn && be && bld && ctx &&
                 OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
                 OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1 &&
                 (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
                 EVP_PKEY_fromdata_init(ctx) == 1;
    if (ready && EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    ERR_clear_error();
    return key;
}

int azure_hcl_ak(json_t *claims, EVP_PKEY **key, const char **why)
{
    if (why)
        *why = NULL;
    if (!key)
        return fail_why(why, "no output");
    *key = NULL;
    json_t *keys = json_object_get(claims, "keys");
    if (!json_is_array(keys))
        return fail_why(why, "the runtime claims have no \"keys\" array");
    json_t *jwk = NULL;
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        json_t *kid = json_is_object(k) ? json_object_get(k, "kid") : NULL;
        if (!json_is_string(kid) || strcmp(json_string_value(kid), AZURE_HCL_AK_KID) != 0)
            continue;
        if (jwk)
            return fail_why(why, "more than one key with kid \"HCLAkPub\"");
        jwk = k;
    }
    if (!jwk)
        return fail_why(why, "no key with kid \"HCLAkPub\" in the runtime claims");
    json_t *kty = json_object_get(jwk, "kty");
    if (!json_is_string(kty) || strcmp(json_string_value(kty), "RSA") != 0)
        return fail_why(why, "HCLAkPub is not an RSA key (kty \"RSA\")");
    json_t *ops = json_object_get(jwk, "key_ops");
    if (ops) {
        bool sign = false;
        json_t *op;
        if (!json_is_array(ops))
            return fail_why(why, "HCLAkPub key_ops is not an array");
        json_array_foreach(ops, i, op)
            if (json_is_string(op) && strcmp(json_string_value(op), "sign") == 0)
                sign = true;
        if (!sign)
            return fail_why(why, "HCLAkPub key_ops does not allow \"sign\"");
    }
    uint8_t n[AZURE_VTPM_SIG_LEN + 1], e[8];
    size_t nl = 0, el = 0;
    if (jwk_uint(jwk, "n", n, sizeof n, &nl) != 0)
        return fail_why(why, "HCLAkPub n is not unpadded base64url of a modulus without leading "
                             "zero octets");
    if (nl != AZURE_VTPM_SIG_LEN || !(n[0] & 0x80))
        return fail_why(why, "HCLAkPub is not a 2048-bit RSA key");
    if (jwk_uint(jwk, "e", e, sizeof e, &el) != 0 || el > 4)
        return fail_why(why, "HCLAkPub e is not unpadded base64url of at most 4 octets without "
                             "leading zero octets");
    if (!(e[el - 1] & 1) || (el == 1 && e[0] < 3))
        return fail_why(why, "HCLAkPub e is not an odd exponent >= 3");
    *key = rsa_from(n, nl, e, el);
    if (!*key)
        return fail_why(why, "HCLAkPub: cannot build the RSA key");
    return 0;
}

/* ---- the TAZV container ---- */

int azure_vtpm_evidence_parse(const uint8_t *buf, size_t len, struct azure_vtpm_evidence *out,
                              const char **why)
{
    if (why)
        *why = NULL;
    if (!out)
        return fail_why(why, "no output");
    memset(out, 0, sizeof *out);
    if (!buf)
        return fail_why(why, "no evidence");
    if (len > AZURE_VTPM_MAX)
        return fail_why(why, "azure-vtpm evidence larger than 64 KiB");
    struct bytes_reader r;
    reader_init(&r, buf, len);
    const uint8_t *magic = NULL;
    uint16_t version = 0, flags = 0;
    if (!reader_bytes(&r, 4, &magic) || memcmp(magic, AZURE_VTPM_MAGIC, 4) != 0)
        return fail_why(why, "not tether azure-vtpm evidence (magic \"TAZV\")");
    reader_u16(&r, &version);
    reader_u16(&r, &flags);
    if (r.failed)
        return fail_why(why, "azure-vtpm evidence truncated");
    if (version != AZURE_VTPM_VERSION)
        return fail_why(why, "unsupported azure-vtpm evidence version");
    if (flags & ~AZURE_VTPM_FLAG_TDX)
        return fail_why(why, "unknown azure-vtpm evidence flags (only 0x0001, TDX, is defined)");
    out->tdx = (flags & AZURE_VTPM_FLAG_TDX) != 0;
    if (!reader_vec(&r, 4, &out->hcl, &out->hcl_len))
        return fail_why(why, "azure-vtpm evidence truncated");
    if (out->hcl_len == 0 || out->hcl_len > AZURE_HCL_MAX)
        return fail_why(why, "HCL report empty or larger than 16 KiB");
    if (out->tdx) {
        if (!reader_vec(&r, 4, &out->td_quote, &out->td_quote_len))
            return fail_why(why, "azure-vtpm evidence truncated");
        if (out->td_quote_len == 0 || out->td_quote_len > AZURE_TD_QUOTE_MAX)
            return fail_why(why, "TD quote empty or larger than 32 KiB");
    }
    const char *trunc = "azure-vtpm evidence truncated";
    if (tpm_field16_read(&r, TPM_MAX_ATTEST, &out->attest, &out->attest_len, why, trunc,
                         "TPMS_ATTEST empty or larger than TPM2B_ATTEST") != 0 ||
        tpm_field16_read(&r, TPM_MAX_SIG, &out->signature, &out->signature_len, why, trunc,
                         "signature empty or too large") != 0 ||
        tpm_pcr_banks_read(&r, out->banks, &out->n_banks, why, trunc) != 0)
        return -1;
    if (!reader_done(&r))
        return fail_why(why, "trailing bytes after the azure-vtpm evidence");
    return 0;
}

static bool field_ok(const uint8_t *p, size_t n, size_t max)
{
    return p && n > 0 && n <= max;
}

int azure_vtpm_evidence_encode(const struct azure_vtpm_evidence *ev, struct bytes_writer *w)
{
    if (!ev || !w || w->failed)
        return -1;
    if (!field_ok(ev->hcl, ev->hcl_len, AZURE_HCL_MAX) ||
        (ev->tdx && !field_ok(ev->td_quote, ev->td_quote_len, AZURE_TD_QUOTE_MAX)) ||
        !field_ok(ev->attest, ev->attest_len, TPM_MAX_ATTEST) ||
        !field_ok(ev->signature, ev->signature_len, TPM_MAX_SIG) ||
        !tpm_pcr_banks_ok(ev->banks, ev->n_banks))
        return -1;
    size_t start = w->len;
    writer_bytes(w, AZURE_VTPM_MAGIC, 4);
    writer_u16(w, AZURE_VTPM_VERSION);
    writer_u16(w, ev->tdx ? AZURE_VTPM_FLAG_TDX : 0);
    writer_u32(w, (uint32_t)ev->hcl_len);
    writer_bytes(w, ev->hcl, ev->hcl_len);
    if (ev->tdx) {
        writer_u32(w, (uint32_t)ev->td_quote_len);
        writer_bytes(w, ev->td_quote, ev->td_quote_len);
    }
    writer_u16(w, (uint16_t)ev->attest_len);
    writer_bytes(w, ev->attest, ev->attest_len);
    writer_u16(w, (uint16_t)ev->signature_len);
    writer_bytes(w, ev->signature, ev->signature_len);
    tpm_pcr_banks_write(w, ev->banks, ev->n_banks);
    if (w->failed)
        return -1;
    if (w->len - start > AZURE_VTPM_MAX) { /* the parser would refuse it */
        w->failed = true;
        return -1;
    }
    return 0;
}

/* ---- the backend ---- */

static bool azure_recognise(const uint8_t *ev, size_t len)
{
    return ev && len >= 8 && memcmp(ev, AZURE_VTPM_MAGIC, 4) == 0;
}

static void azure_claims_free(void *p)
{
    free(p);
}

/* The HCL claims worth reporting (only once they are authenticated). */
static json_t *hcl_json(const struct azure_hcl *h, const uint8_t sha256[32], json_t *claims,
                        bool bound)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "version", json_integer(h->version));
    json_object_set_new(o, "report_type", json_string(h->tdx ? "tdx" : "snp"));
    json_object_set_new(o, "status", json_integer(h->status));
    json_object_set_new(o, "runtime_claims_len", json_integer((json_int_t)h->claims_len));
    evidence_json_set_hex(o, "runtime_claims_sha256", sha256, 32);
    json_object_set_new(o, "bound", json_boolean(bound));
    if (!bound || !claims)
        return o;
    json_t *vmc = json_object_get(claims, "vm-configuration");
    if (json_is_object(vmc)) {
        json_t *id = json_object_get(vmc, "vmUniqueId");
        if (json_is_string(id))
            json_object_set(o, "vm_id", id);
        json_object_set_new(o, "vm_configuration", json_deep_copy(vmc));
    }
    json_t *ud = json_object_get(claims, "user-data");
    if (json_is_string(ud))
        json_object_set(o, "user_data", ud);
    return o;
}

/* evidence.hcl_binding, first part: have (the authenticated hardware REPORT_DATA) ==
 * SHA-256(runtime claims) || 32 zero bytes, all 64 bytes at once in constant time. Records the
 * failure, or nothing (the caller records the pass once every part holds). 0 or -1. */
static int hcl_binding(const struct azure_hcl *h, const uint8_t have[64], const char *bexp,
                       const char *whose, json_t *x, uint8_t want[64], struct tether_result *r)
{
    unsigned int dl = 0;
    memset(want, 0, 64);
    if (!EVP_Digest(h->claims, h->claims_len, want, &dl, EVP_sha256(), NULL) || dl != 32)
        return result_fail(r, "evidence.hcl_binding", "internal", bexp, NULL, "SHA-256 failed");
    if (!ct_equal(want, have, 64)) {
        char detail[200];
        snprintf(detail, sizeof detail, "the %s does not commit to these runtime claims (they "
                 "were altered, or belong to another report)", whose);
        result_check_hex(r, "evidence.hcl_binding", CHECK_FAIL, "azure_hcl_binding_mismatch",
                         want, 64, have, 64, detail);
        json_object_set_new(x, "hcl", hcl_json(h, want, NULL, false));
        return -1;
    }
    return 0;
}

/* The hardware report (or quote) p through its own backend be ("snp" or "tdx"), with the same
 * anchors, collateral and time: its checks are recorded in r as they are, its measurement,
 * platform identity, TCB and debug flag become out's, its tee_data (tee_size bytes, when it
 * returned one: *have) is copied to tee, its report details go to x[be->name]. The backend's
 * result, 0 or -1. */
static int verify_inner(const struct evidence_backend *be, const uint8_t *p, size_t n,
                        const struct evidence_anchors *anchors, time_t at,
                        const char *const *collateral, void *tee, size_t tee_size, bool *have,
                        struct claims *out, json_t *x, struct tether_result *r)
{
    struct claims inner;
    memset(&inner, 0, sizeof inner);
    int src = be->verify(p, n, anchors, at, collateral, &inner, r);
    memcpy(out->measurement, inner.measurement, sizeof out->measurement);
    out->measurement_len = inner.measurement_len;
    memcpy(out->platform_id, inner.platform_id, sizeof out->platform_id);
    out->platform_id_len = inner.platform_id_len;
    out->tcb = inner.tcb;
    out->has_tcb = inner.has_tcb;
    out->debug = inner.debug;
    *have = inner.tee_data != NULL;
    if (*have)
        memcpy(tee, inner.tee_data, tee_size);
    if (inner.extra)
        json_object_set(x, be->name, inner.extra);
    claims_clear(&inner);
    return src != 0 ? -1 : 0;
}

/* The SEV-SNP form: every check of the "snp" backend on the embedded report, then
 * evidence.hcl_binding against its REPORT_DATA. */
static int verify_snp(const struct azure_hcl *h, json_t *claims_json,
                      const struct evidence_anchors *anchors, time_t at,
                      const char *const *collateral, struct azure_claims *ac, struct claims *out,
                      json_t *x, struct tether_result *r)
{
    bool have_snp = false;
    if (verify_inner(&evidence_snp, h->hw_report, AZURE_HCL_HW_REPORT_LEN, anchors, at,
                     collateral, &ac->snp, sizeof ac->snp, &have_snp, out, x, r) != 0)
        return -1;
    if (!have_snp)
        return result_fail(r, "evidence.hcl_binding", "internal", NULL, NULL,
                           "the snp backend returned no report");

    const char *bexp = "SNP REPORT_DATA = SHA-256(runtime claims) || 32 zero bytes";
    uint8_t want[64];
    const uint8_t *have = ac->snp.report.report_data;
    if (hcl_binding(h, have, bexp, "SNP report", x, want, r) != 0)
        return -1;
    result_check_hex(r, "evidence.hcl_binding", CHECK_PASS, NULL, want, sizeof want, have, 64,
                     NULL);
    json_object_set_new(x, "hcl", hcl_json(h, want, claims_json, true));
    return 0;
}

/* The TDX form: every check of the "tdx" backend on the TD quote (chain, signatures, PCK,
 * collateral, revocation, TCB status), then evidence.hcl_binding against its REPORTDATA, and
 * the TDREPORT's REPORTDATA against the quote's. The TDREPORT is MAC'd with a key only the CPU
 * has: that last comparison is a consistency check (the quote was made for this HCL report),
 * not an authentication; nothing else of the TDREPORT is used. */
static int verify_tdx(const struct azure_vtpm_evidence *e, const struct azure_hcl *h,
                      json_t *claims_json, const struct evidence_anchors *anchors, time_t at,
                      const char *const *collateral, struct azure_claims *ac, struct claims *out,
                      json_t *x, struct tether_result *r)
{
    bool have_tdx = false;
    if (verify_inner(&evidence_tdx, e->td_quote, e->td_quote_len, anchors, at, collateral,
                     &ac->tdx, sizeof ac->tdx, &have_tdx, out, x, r) != 0)
        return -1;
    if (!have_tdx || !ac->tdx.tdx)
        return result_fail(r, "evidence.hcl_binding", "internal", NULL, NULL,
                           "the tdx backend returned no TD report");

    const char *bexp = "TD quote REPORTDATA = SHA-256(runtime claims) || 32 zero bytes, and the "
                       "HCL report's TDREPORT carries the same REPORTDATA";
    uint8_t want[64];
    const uint8_t *have = ac->tdx.td.report_data;
    if (hcl_binding(h, have, bexp, "TD quote", x, want, r) != 0)
        return -1;
    const uint8_t *tdr = h->hw_report + AZURE_TDREPORT_REPORTDATA_OFF;
    if (!ct_equal(tdr, have, 64)) {
        result_check_hex(r, "evidence.hcl_binding", CHECK_FAIL, "azure_tdreport_mismatch", have,
                         64, tdr, 64,
                         "the HCL report's TDREPORT has another REPORTDATA than the TD quote: "
                         "the quote was not made for this HCL report (a consistency check: the "
                         "TDREPORT itself cannot be authenticated off the machine)");
        json_object_set_new(x, "hcl", hcl_json(h, want, NULL, false));
        return -1;
    }
    result_check_hex(r, "evidence.hcl_binding", CHECK_PASS, NULL, want, sizeof want, have, 64,
                     "TDREPORT REPORTDATA consistent with the quote (not authenticated: the "
                     "TDREPORT is MAC'd)");
    json_object_set_new(x, "hcl", hcl_json(h, want, claims_json, true));
    return 0;
}

static int azure_verify(const uint8_t *ev, size_t len, const struct evidence_anchors *anchors,
                        time_t at, const char *const *collateral, struct claims *out,
                        struct tether_result *r)
{
    const char *fexp = "TAZV container v1 (flags 0: SEV-SNP; 0x0001: TDX, with a TD quote): HCL "
                       "report ('HCLA' v1/v2, report type SEV-SNP or TDX as the flags say, "
                       "SHA-256, consistent sizes, runtime claims as strict JSON), TPMS_ATTEST "
                       "(quote), 256-byte RSA signature, PCR values";
    struct azure_vtpm_evidence e;
    struct azure_hcl h;
    struct tpm_quote q;
    const char *why = NULL;
    json_t *claims_json = NULL;
    EVP_PKEY *ak = NULL;
    int rc = -1;

    /* ---- evidence.format ---- */
    if (azure_vtpm_evidence_parse(ev, len, &e, &why) != 0)
        return result_fail(r, "evidence.format", "evidence_malformed", fexp, "container", why);
    if (azure_hcl_parse(e.hcl, e.hcl_len, &h, &why) != 0)
        return result_fail(r, "evidence.format", "evidence_malformed", fexp, "HCL report", why);
    if (h.tdx != e.tdx)
        return result_fail(r, "evidence.format", "evidence_malformed", fexp, "HCL report",
                           e.tdx ? "a TDX-form container whose HCL report is not of type 4 "
                                   "(TDX)"
                                 : "an SEV-SNP-form container whose HCL report is of type 4 "
                                   "(TDX): the TDX form (flags 0x0001) carries the TD quote it "
                                   "needs");
    if (!(claims_json = azure_hcl_claims_parse(h.claims, h.claims_len, &why)))
        return result_fail(r, "evidence.format", "evidence_malformed", fexp, "runtime claims", why);
    if (tpm_quote_parse(e.attest, e.attest_len, &q, &why) != 0) {
        result_fail(r, "evidence.format", "evidence_malformed", fexp, "TPMS_ATTEST", why);
        goto out;
    }
    if (e.signature_len != AZURE_VTPM_SIG_LEN) {
        result_fail(r, "evidence.format", "evidence_malformed", fexp, "signature",
                    "the quote signature is not 256 bytes (RSA-2048, as Azure stores it)");
        goto out;
    }
    struct azure_claims *ac = calloc(1, sizeof *ac);
    json_t *x = json_object(), *tx = json_object();
    if (!ac || !x || !tx) {
        free(ac);
        json_decref(x);
        json_decref(tx);
        result_fail(r, "evidence.format", "internal", fexp, NULL, "out of memory");
        goto out;
    }
    claims_clear(out);
    snprintf(out->tee, sizeof out->tee, "azure-vtpm");
    ac->tee = e.tdx ? AZURE_TEE_TDX : AZURE_TEE_SNP;
    out->tee_data = ac;
    out->tee_data_free = azure_claims_free;
    out->extra = x;
    json_object_set_new(x, "platform", json_string(e.tdx ? "tdx" : "snp"));
    json_object_set_new(x, "tpm", tx);
    /* The signed qualifyingData is the connection's report_data (64 bytes: a tether binder). */
    tpm_claims_report_data(out, &q);
    evidence_json_set_hex(tx, "extra_data", q.extra_data, q.extra_data_len);
    evidence_json_set_hex(tx, "pcr_digest", q.pcr_digest, q.pcr_digest_len);
    tpm_quote_counters_json(tx, &q);
    json_object_set_new(tx, "signature_algorithm", json_string("RSASSA"));
    json_object_set_new(tx, "ak_source", json_string("HCLAkPub (HCL runtime claims)"));
    {
        char act[240], tq[48] = "";
        if (e.tdx)
            snprintf(tq, sizeof tq, ", TD quote of %zu bytes", e.td_quote_len);
        snprintf(act, sizeof act, "%s form: HCL report v%u (%zu bytes, %zu bytes of runtime "
                 "claims)%s, quote over %zu PCR bank(s), %zu bank(s) of values",
                 e.tdx ? "TDX" : "SEV-SNP", h.version, e.hcl_len, h.claims_len, tq,
                 q.pcr_select.n_banks, e.n_banks);
        result_check(r, "evidence.format", CHECK_PASS, NULL, fexp, act, NULL);
    }

    /* ---- the hardware report through its own backend, then evidence.hcl_binding ---- */
    if (e.tdx ? verify_tdx(&e, &h, claims_json, anchors, at, collateral, ac, out, x, r)
              : verify_snp(&h, claims_json, anchors, at, collateral, ac, out, x, r))
        goto out;

    /* ---- evidence.ak ---- */
    const char *akexp = "HCLAkPub in the bound runtime claims: an RSA-2048 JWK";
    if (azure_hcl_ak(claims_json, &ak, &why) != 0) {
        result_fail(r, "evidence.ak", "azure_ak_invalid", akexp, NULL, why);
        goto out;
    }
    if (tpm_ak_spki_sha256(ak, ac->tpm.ak_spki_sha256) != 0) {
        result_fail(r, "evidence.ak", "internal", akexp, NULL, "cannot encode the AK");
        goto out;
    }
    evidence_json_set_hex(tx, "ak_spki_sha256", ac->tpm.ak_spki_sha256, 32);
    result_check(r, "evidence.ak", CHECK_PASS, NULL, akexp, "RSA-2048", NULL);

    /* ---- evidence.tpm_signature: Azure's bare signature as an RSASSA TPMT_SIGNATURE ---- */
    {
        const char *sexp = "TPMS_ATTEST signed by HCLAkPub, RSASSA-PKCS1-v1_5 SHA-256";
        struct tpm_signature sig;
        memset(&sig, 0, sizeof sig);
        sig.sig_alg = TPM_ALG_RSASSA;
        sig.hash_alg = TPM_ALG_SHA256;
        memcpy(sig.sig, e.signature, e.signature_len); /* 256 <= sizeof sig.sig */
        sig.sig_len = e.signature_len;
        if (tpm_signature_verify(&sig, ak, e.attest, e.attest_len) != 0) {
            ERR_clear_error();
            result_fail(r, "evidence.tpm_signature", "evidence_signature_invalid", sexp, "invalid",
                        "the vTPM quote is not signed by the AK of the runtime claims");
            goto out;
        }
        result_check(r, "evidence.tpm_signature", CHECK_PASS, NULL, sexp, "valid", NULL);
    }

    /* ---- evidence.pcrs: the selected banks with a non-empty mask, nothing else ---- */
    if (tpm_check_pcrs(r, "supplied PCR values = the quote's selection, and SHA-256(values) = "
                       "the signed pcrDigest", &q, e.banks, e.n_banks, TPM_PCR_MATCH_NONEMPTY,
                       TPM_ALG_SHA256, &ac->tpm, tx) != 0)
        goto out;
    rc = 0;
out:
    EVP_PKEY_free(ak);
    json_decref(claims_json);
    ERR_clear_error();
    return rc;
}

const struct evidence_backend evidence_azure = {
    .name = "azure-vtpm",
    .media_type = AZURE_VTPM_MEDIA_TYPE,
    .recognise = azure_recognise,
    .verify = azure_verify,
};
