/*
 * dcap_quote.c - Intel DCAP quote parser and signature checks (dcap_quote.h).
 *
 * Layout: research evidence.md A2; Intel "SGX ECDSA Quote Library API" Appendix A (v3) and
 * "TDX DCAP Quoting Library API" A.3/A.4 (v4, v5). Every read goes through the bounded
 * little-endian reader (util/bytes.h).
 *
 * Enforced (each a MUST of the Intel quote format or of Intel QVL Quote::validate()):
 *   - version 3, 4 or 5; att_key_type 2 (ECDSA-256-with-P-256; P-384 is reserved/unsupported);
 *   - tee_type 0 (SGX) or 0x81 (TDX), consistent with the version/body: v3 is SGX only, v4 is
 *     TDX only, v5 body_type 1 = SGX, 2 = TD1.0, 3 = TD1.5 with body_size equal to the size
 *     the type fixes (384/584/648);
 *   - qe_vendor_id = Intel's 939A7233F79C4CA9940A0DB3957F0607 (QVL INTEL_QE_VENDOR_ID);
 *   - the signature data is sized by sig_data_len (never by the input length) and its nested
 *     lengths tile it exactly: v3 = sig, key, QE report, QE report sig, auth data, cert data;
 *     v4/v5 = sig, key, certification data type 6 (whose size is exactly the rest) holding
 *     QE report, QE report sig, auth data, certification data type 5 (exactly the rest);
 *   - the innermost certification data is type 5 (PEM PCK chain), the only type verifiable
 *     without fetching the PCK certificate; types 1-4 and 7 are refused;
 *   - after the signature data only zero bytes are allowed (padded buffers exist: GCP's
 *     8000-byte quotes). Non-zero trailing bytes are refused by dcap_quote_parse; the
 *     verifier uses dcap_quote_parse_ex with allow_trailing, which reports them instead (the
 *     go-tdx-guest sample spr_v4_quote.dat carries a 39-byte ASCII "extra bytes" trailer that
 *     its own parser is tested to ignore; nothing signs them, nothing reads them).
 * Deliberately NOT enforced: reserved fields of the SGX/TD report bodies (the signature covers
 * them and QVL does not check them), and user_data (QE-defined).
 */
#include "evidence/dcap/dcap_quote.h"

#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "util/bytes.h"
#include "util/der.h"
#include "util/x509util.h"
#include "util/util.h"

static const uint8_t INTEL_QE_VENDOR_ID[16] = {0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C, 0x4C, 0xA9,
                                               0x94, 0x0A, 0x0D, 0xB3, 0x95, 0x7F, 0x06, 0x07};

#define PCK_CHAIN_MAX_CERTS 8

static bool skip(struct bytes_reader *r, size_t n)
{
    const uint8_t *p;
    return reader_bytes(r, n, &p);
}

/* SGX REPORT_BODY (384 B): Quote Library API "SGX Report Body", evidence.md A2. */
static bool read_sgx_report(struct bytes_reader *r, struct dcap_sgx_report *s)
{
    reader_copy(r, s->cpu_svn, 16);
    reader_u32le(r, &s->misc_select);
    skip(r, 28);
    reader_copy(r, s->attributes, 16);
    reader_copy(r, s->mrenclave, 32);
    skip(r, 32);
    reader_copy(r, s->mrsigner, 32);
    skip(r, 96);
    reader_u16le(r, &s->isv_prod_id);
    reader_u16le(r, &s->isv_svn);
    skip(r, 60);
    reader_copy(r, s->report_data, 64);
    if (r->failed)
        return false;
    s->attr_flags = s->attr_xfrm = 0;
    for (int i = 7; i >= 0; i--) {
        s->attr_flags = (s->attr_flags << 8) | s->attributes[i];
        s->attr_xfrm = (s->attr_xfrm << 8) | s->attributes[8 + i];
    }
    return true;
}

/* TD report body: TD 1.0 (584 B) and TD 1.5 (648 B), TDX DCAP Quoting Library API A.3.2/A.4. */
static bool read_td_report(struct bytes_reader *r, struct dcap_td_report *t, bool td15)
{
    reader_copy(r, t->tee_tcb_svn, 16);
    reader_copy(r, t->mrseam, 48);
    reader_copy(r, t->mrsignerseam, 48);
    reader_u64le(r, &t->seam_attributes);
    reader_u64le(r, &t->td_attributes);
    reader_u64le(r, &t->xfam);
    reader_copy(r, t->mrtd, 48);
    reader_copy(r, t->mrconfigid, 48);
    reader_copy(r, t->mrowner, 48);
    reader_copy(r, t->mrownerconfig, 48);
    for (int i = 0; i < 4; i++)
        reader_copy(r, t->rtmr[i], 48);
    reader_copy(r, t->report_data, 64);
    t->is_td15 = td15;
    if (td15) {
        reader_copy(r, t->tee_tcb_svn2, 16);
        reader_copy(r, t->mrservicetd, 48);
    }
    return !r->failed;
}

int dcap_quote_parse(const uint8_t *buf, size_t len, struct dcap_quote *out, const char **why)
{
    return dcap_quote_parse_ex(buf, len, false, out, why);
}

int dcap_quote_parse_ex(const uint8_t *buf, size_t len, bool allow_trailing,
                        struct dcap_quote *out, const char **why)
{
    if (!buf || !out)
        return parse_fail(why, "null argument");
    memset(out, 0, sizeof *out);
    if (len > DCAP_MAX_INPUT_LEN)
        return parse_fail(why, "quote buffer too large");
    struct bytes_reader r;
    reader_init(&r, buf, len);
    struct dcap_quote_header *h = &out->header;
    reader_u16le(&r, &h->version);
    reader_u16le(&r, &h->att_key_type);
    reader_u32le(&r, &h->tee_type);
    reader_u16le(&r, &h->qe_svn);
    reader_u16le(&r, &h->pce_svn);
    reader_copy(&r, h->qe_vendor_id, 16);
    reader_copy(&r, h->user_data, 20);
    if (r.failed)
        return parse_fail(why, "truncated quote header");
    /* MUST: version 3 (SGX), 4 (TDX) or 5 (both); Quote Library API A.3 / TDX QL API A.3. */
    if (h->version < 3 || h->version > 5)
        return parse_fail(why, "unsupported quote version");
    /* MUST: attestation key type 2 (ECDSA-256-with-P-256); 3 (P-384) is reserved. */
    if (h->att_key_type != DCAP_ATT_KEY_ECDSA_P256)
        return parse_fail(why, "unsupported attestation key type");
    if (h->tee_type != DCAP_TEE_SGX && h->tee_type != DCAP_TEE_TDX)
        return parse_fail(why, "unknown TEE type");
    /* MUST (QVL Quote::validate): the QE vendor is Intel's QE. */
    if (memcmp(h->qe_vendor_id, INTEL_QE_VENDOR_ID, 16) != 0)
        return parse_fail(why, "QE vendor ID is not Intel's");

    size_t body_len;
    if (h->version == 3) {
        if (h->tee_type != DCAP_TEE_SGX)
            return parse_fail(why, "v3 quote with a non-SGX TEE type");
        out->body_type = DCAP_BODY_SGX;
        body_len = DCAP_SGX_REPORT_LEN;
    } else if (h->version == 4) {
        if (h->tee_type != DCAP_TEE_TDX)
            return parse_fail(why, "v4 quote with a non-TDX TEE type");
        out->body_type = DCAP_BODY_TD10;
        body_len = DCAP_TD10_BODY_LEN;
    } else {
        /* v5: u16 body_type, u32 body_size, then the body (TDX QL API A.4 "Quote Body"). */
        uint16_t bt = 0;
        uint32_t bs = 0;
        reader_u16le(&r, &bt);
        reader_u32le(&r, &bs);
        if (r.failed)
            return parse_fail(why, "truncated v5 body descriptor");
        if (bt == DCAP_BODY_SGX)
            body_len = DCAP_SGX_REPORT_LEN;
        else if (bt == DCAP_BODY_TD10)
            body_len = DCAP_TD10_BODY_LEN;
        else if (bt == DCAP_BODY_TD15)
            body_len = DCAP_TD15_BODY_LEN;
        else
            return parse_fail(why, "unknown v5 body type");
        if (bs != body_len)
            return parse_fail(why, "v5 body size does not match the body type");
        if ((bt == DCAP_BODY_SGX) != (h->tee_type == DCAP_TEE_SGX))
            return parse_fail(why, "v5 body type does not match the TEE type");
        out->body_type = (enum dcap_body_type)bt;
    }
    if (out->body_type == DCAP_BODY_SGX) {
        if (!read_sgx_report(&r, &out->body.sgx))
            return parse_fail(why, "truncated quote body");
        out->report_data = buf + r.pos - 64;
    } else {
        bool td15 = out->body_type == DCAP_BODY_TD15;
        if (!read_td_report(&r, &out->body.td, td15))
            return parse_fail(why, "truncated quote body");
        out->report_data = buf + r.pos - (td15 ? 128 : 64);
    }
    out->signed_region = buf;
    out->signed_len = r.pos;

    /* Signature data: u32 sig_data_len, then exactly that many bytes. */
    uint32_t sdl = 0;
    if (!reader_u32le(&r, &sdl))
        return parse_fail(why, "truncated signature data length");
    if (sdl > DCAP_MAX_SIG_DATA_LEN)
        return parse_fail(why, "signature data length too large");
    out->sig_data_len = sdl;
    const uint8_t *sd;
    if (!reader_bytes(&r, sdl, &sd))
        return parse_fail(why, "signature data shorter than its length");
    out->quote_len = r.pos;
    /* Allowed after the signature data: zero padding only, unless the caller takes (and
     * reports) unsigned trailing bytes. */
    out->trailing_nonzero = !ct_is_zero(buf + r.pos, len - r.pos);
    if (out->trailing_nonzero && !allow_trailing)
        return parse_fail(why, "non-zero bytes after the signature data");

    struct bytes_reader s;
    reader_init(&s, sd, sdl);
    reader_copy(&s, out->signature, DCAP_ECDSA_SIG_LEN);
    reader_copy(&s, out->attest_key, DCAP_ECDSA_KEY_LEN);
    if (s.failed)
        return parse_fail(why, "truncated quote signature or attestation key");

    struct bytes_reader qe; /* QE report certification data */
    if (h->version == 3) {
        qe = s; /* v3: the QE report follows directly */
    } else {
        uint16_t ct = 0;
        uint32_t cs = 0;
        reader_u16le(&s, &ct);
        reader_u32le(&s, &cs);
        const uint8_t *cd;
        if (s.failed || !reader_bytes(&s, cs, &cd))
            return parse_fail(why, "truncated QE report certification data");
        /* MUST (TDX QL API A.3.9): the outer certification data is type 6. */
        if (ct != DCAP_CERT_QE_REPORT)
            return parse_fail(why, "outer certification data is not type 6 (QE report)");
        if (!reader_done(&s))
            return parse_fail(why, "bytes after the QE report certification data");
        reader_init(&qe, cd, cs);
    }
    const uint8_t *qr;
    if (!reader_bytes(&qe, DCAP_SGX_REPORT_LEN, &qr))
        return parse_fail(why, "truncated QE report");
    out->qe_report_raw = qr;
    struct bytes_reader qrr;
    reader_init(&qrr, qr, DCAP_SGX_REPORT_LEN);
    if (!read_sgx_report(&qrr, &out->qe_report))
        return parse_fail(why, "truncated QE report");
    reader_copy(&qe, out->qe_report_sig, DCAP_ECDSA_SIG_LEN);
    reader_u16le(&qe, &out->qe_auth_len);
    if (qe.failed || !reader_bytes(&qe, out->qe_auth_len, &out->qe_auth_data))
        return parse_fail(why, "truncated QE authentication data");
    uint16_t ct = 0;
    uint32_t cs = 0;
    reader_u16le(&qe, &ct);
    reader_u32le(&qe, &cs);
    if (qe.failed || !reader_bytes(&qe, cs, &out->pck_chain_pem))
        return parse_fail(why, "truncated PCK certification data");
    out->pck_chain_pem_len = cs;
    if (!reader_done(&qe))
        return parse_fail(why, "bytes after the PCK certification data");
    if (ct != DCAP_CERT_PCK_CHAIN)
        return parse_fail(why, "certification data is not a PEM PCK chain (type 5)");
    if (cs == 0)
        return parse_fail(why, "empty PCK chain");
    return 0;
}

int dcap_quote_pck_chain(const struct dcap_quote *q, STACK_OF(X509) **out)
{
    if (!q || !out || !q->pck_chain_pem || q->pck_chain_pem_len == 0 ||
        q->pck_chain_pem_len > INT_MAX)
        return -1;
    *out = NULL;
    int rc = -1;
    STACK_OF(X509) *sk = sk_X509_new_null();
    BIO *b = BIO_new_mem_buf(q->pck_chain_pem, (int)q->pck_chain_pem_len);
    if (!sk || !b)
        goto out;
    for (;;) {
        /* Only whitespace and NULs may remain after the last certificate. */
        const char *rest = NULL;
        long n = BIO_get_mem_data(b, &rest);
        bool only_ws = true;
        for (long i = 0; i < n; i++) {
            char c = rest[i];
            if (c != '\0' && c != '\n' && c != '\r' && c != ' ' && c != '\t') {
                only_ws = false;
                break;
            }
        }
        if (only_ws)
            break;
        if (sk_X509_num(sk) >= PCK_CHAIN_MAX_CERTS)
            goto out;
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!x)
            goto out;
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            goto out;
        }
    }
    if (sk_X509_num(sk) < 1)
        goto out;
    *out = sk;
    sk = NULL;
    rc = 0;
out:
    BIO_free(b);
    sk_X509_pop_free(sk, X509_free);
    ERR_clear_error();
    return rc;
}

/* A P-256 public key from raw x || y (SEC1 uncompressed with the 0x04 prefix added), refused
 * off the curve (util/der.c). */
EVP_PKEY *dcap_p256_from_raw(const uint8_t xy[DCAP_ECDSA_KEY_LEN])
{
    uint8_t pt[1 + DCAP_ECDSA_KEY_LEN];
    pt[0] = 0x04;
    memcpy(pt + 1, xy, DCAP_ECDSA_KEY_LEN);
    return ec_pubkey_from_point(256, pt, sizeof pt);
}

int dcap_ecdsa_p256_verify(EVP_PKEY *key, const uint8_t sig[DCAP_ECDSA_SIG_LEN],
                             const uint8_t *msg, size_t n)
{
    int rc = -1;
    uint8_t *der = NULL;
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *br = BN_bin2bn(sig, 32, NULL);
    BIGNUM *bs = BN_bin2bn(sig + 32, 32, NULL);
    if (!es || !br || !bs || ECDSA_SIG_set0(es, br, bs) != 1)
        goto out;
    br = bs = NULL; /* owned by es */
    int dlen = i2d_ECDSA_SIG(es, &der);
    if (dlen <= 0)
        goto out;
    md = EVP_MD_CTX_new();
    if (md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestVerify(md, der, (size_t)dlen, msg, n) == 1)
        rc = 0;
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(es);
    ERR_clear_error();
    return rc;
}

static bool parsed(const struct dcap_quote *q)
{
    return q && q->signed_region && q->signed_len > 0 && q->qe_report_raw;
}

int dcap_quote_verify_quote_sig(const struct dcap_quote *q)
{
    if (!parsed(q))
        return DCAP_SIG_ERR_ARGS;
    EVP_PKEY *k = dcap_p256_from_raw(q->attest_key);
    if (!k) {
        ERR_clear_error();
        return DCAP_SIG_ERR_QUOTE_SIG; /* not a P-256 point: the signature cannot verify */
    }
    int rc = dcap_ecdsa_p256_verify(k, q->signature, q->signed_region, q->signed_len);
    EVP_PKEY_free(k);
    return rc == 0 ? DCAP_SIG_OK : DCAP_SIG_ERR_QUOTE_SIG;
}

int dcap_quote_verify_qe_binding(const struct dcap_quote *q)
{
    if (!parsed(q))
        return DCAP_SIG_ERR_ARGS;
    /* MUST (Quote Library API, "QE Report"): report_data = SHA-256(att key || QE auth data)
     * followed by 32 zero bytes. */
    uint8_t h[32];
    unsigned int hl = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(md, q->attest_key, DCAP_ECDSA_KEY_LEN) == 1 &&
              (q->qe_auth_len == 0 ||
               EVP_DigestUpdate(md, q->qe_auth_data, q->qe_auth_len) == 1) &&
              EVP_DigestFinal_ex(md, h, &hl) == 1 && hl == 32;
    EVP_MD_CTX_free(md);
    if (!ok)
        return DCAP_SIG_ERR_QE_BINDING;
    const uint8_t *rd = q->qe_report.report_data;
    if (!ct_equal(rd, h, 32) || !ct_is_zero(rd + 32, 32))
        return DCAP_SIG_ERR_QE_BINDING;
    return DCAP_SIG_OK;
}

int dcap_quote_verify_qe_sig(const struct dcap_quote *q, EVP_PKEY *pck_pub)
{
    if (!parsed(q) || !pck_pub)
        return DCAP_SIG_ERR_ARGS;
    if (!ec_key_is_curve(pck_pub, NID_X9_62_prime256v1))
        return DCAP_SIG_ERR_PCK_CHAIN;
    return dcap_ecdsa_p256_verify(pck_pub, q->qe_report_sig, q->qe_report_raw, DCAP_SGX_REPORT_LEN) == 0
               ? DCAP_SIG_OK
               : DCAP_SIG_ERR_QE_SIG;
}

int dcap_quote_verify_signatures(const struct dcap_quote *q)
{
    if (!parsed(q))
        return DCAP_SIG_ERR_ARGS;
    STACK_OF(X509) *chain = NULL;
    if (dcap_quote_pck_chain(q, &chain) != 0)
        return DCAP_SIG_ERR_PCK_CHAIN;
    EVP_PKEY *leaf = X509_get_pubkey(sk_X509_value(chain, 0));
    int rc = leaf ? dcap_quote_verify_qe_sig(q, leaf) : DCAP_SIG_ERR_PCK_CHAIN;
    EVP_PKEY_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    ERR_clear_error();
    if (rc != DCAP_SIG_OK)
        return rc;
    if ((rc = dcap_quote_verify_qe_binding(q)) != DCAP_SIG_OK)
        return rc;
    return dcap_quote_verify_quote_sig(q);
}

const char *dcap_sig_result_name(int rc)
{
    switch (rc) {
    case DCAP_SIG_OK: return "ok";
    case DCAP_SIG_ERR_ARGS: return "bad arguments";
    case DCAP_SIG_ERR_QUOTE_SIG: return "quote signature by the attestation key";
    case DCAP_SIG_ERR_QE_BINDING: return "QE report does not bind the attestation key";
    case DCAP_SIG_ERR_QE_SIG: return "QE report signature by the PCK key";
    case DCAP_SIG_ERR_PCK_CHAIN: return "PCK certificate chain";
    default: return "unknown";
    }
}
