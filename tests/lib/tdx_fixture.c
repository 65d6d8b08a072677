/*
 * tdx_fixture.c - TEST-ONLY: the generated PCK hierarchy, TD quotes, collateral and TDREPORTs
 * of tdx_fixture.h (moved here from tests/tools/fake_tdx_guest.c so that the unit tests build
 * the same chain). References: Intel SGX PCK Certificate and CRL Profile (the SGX extensions),
 * Intel TDX DCAP Quote Library API A.3/A.4 (quote v4, certification data 5 and 6), Intel PCS
 * API v4 (TCB Info v3, Enclave Identity v2), research evidence.md A2; TDX module ABI
 * (TDREPORT_STRUCT).
 */
#include "tdx_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "evidence/dcap/dcap_quote.h"

void (*tdx_fx_fail_hook)(const char *what);

_Noreturn void tdx_fx_fail(const char *what)
{
    if (tdx_fx_fail_hook)
        tdx_fx_fail_hook(what);
    fprintf(stderr, "tdx_fixture: %s\n", what);
    abort();
}

/* ---- the fixed platform ---- */

static const uint8_t FMSPC[6] = {0x30, 0x60, 0x6a, 0x00, 0x00, 0x00};
static const uint8_t PCE_ID[2] = {0x00, 0x00};
/* PCK TCB: the UpToDate level's sgxtcbcomponents and PCESVN; CPUSVN = the components. */
static const uint8_t COMP_SVN[16] = {3, 3, 2, 2, 4, 1, 0, 5};
static const unsigned PCESVN = 13;
/* TEE_TCB_SVN: TDX module SVN 3, module major version 1 (so TDX_01 is checked), late
 * microcode 2: the UpToDate level's tdxtcbcomponents. */
static const uint8_t TEE_TCB_SVN[16] = {3, 1, 2};
/* The lower, OutOfDate level. */
static const uint8_t OLD_COMP_SVN[16] = {2, 2, 2, 2, 3, 1, 0, 5};
static const unsigned OLD_PCESVN = 11;
static const uint8_t OLD_TEE_TCB_SVN[16] = {3, 1, 1};
static const unsigned MODULE_ISVSVN = 2; /* TDX_01 UpToDate from isvsvn 2; the TD has 3 */
static const unsigned EVAL_NUM = 17;

/* The fake TD quoting enclave. */
static const uint8_t QE_MRSIGNER[32] = {0x7e, 0x57, 0x7d, 0x9e, 0x51, 0x90, 0x00, 0x01,
                                        0x7e, 0x57, 0x7d, 0x9e, 0x51, 0x90, 0x00, 0x02,
                                        0x7e, 0x57, 0x7d, 0x9e, 0x51, 0x90, 0x00, 0x03,
                                        0x7e, 0x57, 0x7d, 0x9e, 0x51, 0x90, 0x00, 0x04};
static const uint16_t QE_ISVPRODID = 2, QE_ISVSVN = 4, QE_SVN = 4;
static const uint8_t QE_VENDOR_ID[16] = {0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C, 0x4C, 0xA9,
                                         0x94, 0x0A, 0x0D, 0xB3, 0x95, 0x7F, 0x06, 0x07};

void tdx_fx_default_td(struct tdx_fx_td *td)
{
    memset(td, 0, sizeof *td);
    for (int i = 0; i < 48; i++) {
        td->mrtd[i] = (uint8_t)(0xd0 + i);
        td->mrseam[i] = (uint8_t)(0x5e ^ i);
        for (int r = 0; r < 4; r++)
            td->rtmr[r][i] = (uint8_t)(0x10 * (r + 1) + i);
    }
    td->td_attributes = 0;
    td->xfam = 0x61ae7;
}

/* ---- the buffer ---- */

void tdx_fx_put(struct tdx_fx_buf *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            tdx_fx_fail("out of memory");
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0; /* always NUL-terminated for the JSON text */
}

void tdx_fx_put_le(struct tdx_fx_buf *b, uint64_t v, size_t n)
{
    uint8_t t[8];
    for (size_t i = 0; i < n; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    tdx_fx_put(b, t, n);
}

void tdx_fx_put_zero(struct tdx_fx_buf *b, size_t n)
{
    static const uint8_t z[64];
    while (n) {
        size_t k = n > sizeof z ? sizeof z : n;
        tdx_fx_put(b, z, k);
        n -= k;
    }
}

void tdx_fx_putf(struct tdx_fx_buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        tdx_fx_fail("JSON fragment too long");
    tdx_fx_put(b, tmp, (size_t)n);
}

void tdx_fx_buf_free(struct tdx_fx_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void tdx_fx_hex(const uint8_t *p, size_t n, bool upper, char *out)
{
    const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void tdx_fx_rfc3339(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- DER for the SGX extensions (X.690; Intel SGX PCK Certificate and CRL Profile) ---- */

static void der_tlv(struct tdx_fx_buf *out, uint8_t tag, const uint8_t *c, size_t n)
{
    uint8_t h[6];
    size_t hl = 0;
    h[hl++] = tag;
    if (n < 0x80) {
        h[hl++] = (uint8_t)n;
    } else if (n < 0x100) {
        h[hl++] = 0x81;
        h[hl++] = (uint8_t)n;
    } else if (n < 0x10000) {
        h[hl++] = 0x82;
        h[hl++] = (uint8_t)(n >> 8);
        h[hl++] = (uint8_t)n;
    } else {
        tdx_fx_fail("DER element too long");
    }
    tdx_fx_put(out, h, hl);
    tdx_fx_put(out, c, n);
}

/* OID 1.2.840.113741.1.13.1[.a[.b]] (sub-identifiers below 128). */
static void der_sgx_oid(struct tdx_fx_buf *out, int a, int b)
{
    uint8_t c[16] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
    size_t n = 9;
    if (a > 0)
        c[n++] = (uint8_t)a;
    if (b > 0)
        c[n++] = (uint8_t)b;
    der_tlv(out, 0x06, c, n);
}

/* Minimal non-negative INTEGER (0x02) or ENUMERATED (0x0a). */
static void der_uint(struct tdx_fx_buf *out, uint8_t tag, unsigned v)
{
    uint8_t c[5];
    size_t n = 0;
    uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    size_t i = 0;
    while (i < 3 && be[i] == 0)
        i++;
    if (be[i] & 0x80)
        c[n++] = 0;
    for (; i < 4; i++)
        c[n++] = be[i];
    der_tlv(out, tag, c, n);
}

/* SEQUENCE { OID arc.a[.b], value } with value already DER in v. */
static void der_item(struct tdx_fx_buf *out, int a, int b, const struct tdx_fx_buf *v)
{
    struct tdx_fx_buf s = {0};
    der_sgx_oid(&s, a, b);
    tdx_fx_put(&s, v->p, v->len);
    der_tlv(out, 0x30, s.p, s.len);
    free(s.p);
}

static void der_item_octets(struct tdx_fx_buf *out, int a, int b, const uint8_t *d, size_t n)
{
    struct tdx_fx_buf v = {0};
    der_tlv(&v, 0x04, d, n);
    der_item(out, a, b, &v);
    free(v.p);
}

static void der_item_uint(struct tdx_fx_buf *out, int a, int b, uint8_t tag, unsigned x)
{
    struct tdx_fx_buf v = {0};
    der_uint(&v, tag, x);
    der_item(out, a, b, &v);
    free(v.p);
}

static void der_item_bool(struct tdx_fx_buf *out, int a, int b, bool x)
{
    struct tdx_fx_buf v = {0};
    uint8_t c = x ? 0xff : 0x00;
    der_tlv(&v, 0x01, &c, 1);
    der_item(out, a, b, &v);
    free(v.p);
}

static void der_item_seq(struct tdx_fx_buf *out, int a, const struct tdx_fx_buf *inner)
{
    struct tdx_fx_buf v = {0};
    der_tlv(&v, 0x30, inner->p, inner->len);
    der_item(out, a, 0, &v);
    free(v.p);
}

/* The extension value: SEQUENCE OF SEQUENCE { OID, value }. */
static void sgx_extensions(struct tdx_fx_buf *out)
{
    uint8_t ppid[16], piid[16];
    for (int i = 0; i < 16; i++) {
        ppid[i] = (uint8_t)(0xa0 + i);
        piid[i] = (uint8_t)(0xc0 + i);
    }
    struct tdx_fx_buf items = {0}, tcb = {0}, cfg = {0};
    der_item_octets(&items, 1, 0, ppid, sizeof ppid);
    for (int i = 0; i < 16; i++)
        der_item_uint(&tcb, 2, i + 1, 0x02, COMP_SVN[i]);
    der_item_uint(&tcb, 2, 17, 0x02, PCESVN);
    der_item_octets(&tcb, 2, 18, COMP_SVN, sizeof COMP_SVN);
    der_item_seq(&items, 2, &tcb);
    der_item_octets(&items, 3, 0, PCE_ID, sizeof PCE_ID);
    der_item_octets(&items, 4, 0, FMSPC, sizeof FMSPC);
    der_item_uint(&items, 5, 0, 0x0a, 1); /* Scalable */
    der_item_octets(&items, 6, 0, piid, sizeof piid);
    der_item_bool(&cfg, 7, 1, false); /* dynamicPlatform */
    der_item_bool(&cfg, 7, 2, true);  /* cachedKeys */
    der_item_bool(&cfg, 7, 3, true);  /* smtEnabled */
    der_item_seq(&items, 7, &cfg);
    der_tlv(out, 0x30, items.p, items.len);
    free(items.p);
    free(tcb.p);
    free(cfg.p);
}

/* ---- the hierarchy ---- */

static X509_NAME *name_of(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    if (!n ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                    (const unsigned char *)"Tether Test (not Intel)", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0))
        tdx_fx_fail("cannot make a name");
    return n;
}

static void add_ext_txt(X509 *x, X509 *issuer, int nid, const char *val)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, val);
    if (!e || !X509_add_ext(x, e, -1))
        tdx_fx_fail("cannot make an extension");
    X509_EXTENSION_free(e);
}

static void random_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    if (!bn || !BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        tdx_fx_fail("cannot make a serial number");
    BN_free(bn);
}

/* issuer NULL: self-signed with key. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, const char *basic,
                       const char *usage, long lifetime)
{
    X509 *x = X509_new();
    if (!x)
        tdx_fx_fail("out of memory");
    X509_set_version(x, 2);
    random_serial(x);
    time_t now = time(NULL);
    X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &now);
    X509_time_adj_ex(X509_getm_notAfter(x), 0, lifetime, &now);
    X509_NAME *s = name_of(cn);
    X509_set_subject_name(x, s);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : s);
    X509_NAME_free(s);
    X509_set_pubkey(x, key);
    X509 *iss = issuer ? issuer : x;
    add_ext_txt(x, iss, NID_basic_constraints, basic);
    add_ext_txt(x, iss, NID_key_usage, usage);
    add_ext_txt(x, iss, NID_subject_key_identifier, "hash");
    add_ext_txt(x, iss, NID_authority_key_identifier, "keyid:always");
    return x;
}

static void sign_cert(X509 *x, EVP_PKEY *key)
{
    if (X509_sign(x, key, EVP_sha256()) <= 0)
        tdx_fx_fail("cannot sign a certificate");
}

static EVP_PKEY *p256(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        tdx_fx_fail("cannot generate a P-256 key");
    return k;
}

void tdx_fx_generate(struct tdx_fx_hier *h)
{
    memset(h, 0, sizeof *h);
    h->root_key = p256();
    h->platform_key = p256();
    h->pck_key = p256();
    h->tcb_key = p256();
    h->root = make_cert(h->root_key, "Test SGX Root CA", NULL, "critical,CA:TRUE,pathlen:1",
                        "critical,keyCertSign,cRLSign", 25 * TDX_FX_YEAR);
    sign_cert(h->root, h->root_key);
    h->platform = make_cert(h->platform_key, "Test SGX PCK Platform CA", h->root,
                            "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,cRLSign",
                            10 * TDX_FX_YEAR);
    sign_cert(h->platform, h->root_key);
    h->pck = make_cert(h->pck_key, "Test SGX PCK Certificate", h->platform,
                       "critical,CA:FALSE", "critical,digitalSignature,nonRepudiation",
                       7 * TDX_FX_YEAR);
    struct tdx_fx_buf ext = {0};
    sgx_extensions(&ext);
    ASN1_OBJECT *o = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    if (!o || !os || !ASN1_OCTET_STRING_set(os, ext.p, (int)ext.len))
        tdx_fx_fail("cannot make the SGX extensions");
    X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
    if (!e || !X509_add_ext(h->pck, e, -1))
        tdx_fx_fail("cannot add the SGX extensions");
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
    free(ext.p);
    sign_cert(h->pck, h->platform_key);
    h->tcb = make_cert(h->tcb_key, "Test SGX TCB Signing", h->root,
                       "critical,CA:FALSE", "critical,digitalSignature,nonRepudiation",
                       7 * TDX_FX_YEAR);
    sign_cert(h->tcb, h->root_key);
}

void tdx_fx_hier_free(struct tdx_fx_hier *h)
{
    EVP_PKEY_free(h->root_key);
    EVP_PKEY_free(h->platform_key);
    EVP_PKEY_free(h->pck_key);
    EVP_PKEY_free(h->tcb_key);
    X509_free(h->root);
    X509_free(h->platform);
    X509_free(h->pck);
    X509_free(h->tcb);
    memset(h, 0, sizeof *h);
}

void tdx_fx_append_pem(struct tdx_fx_buf *b, X509 *x)
{
    BIO *m = BIO_new(BIO_s_mem());
    char *d = NULL;
    long n = 0;
    if (!m || PEM_write_bio_X509(m, x) != 1 || (n = BIO_get_mem_data(m, &d)) <= 0)
        tdx_fx_fail("cannot encode a certificate");
    tdx_fx_put(b, d, (size_t)n);
    BIO_free(m);
}

void tdx_fx_append_key_pem(struct tdx_fx_buf *b, EVP_PKEY *k)
{
    BIO *m = BIO_new(BIO_s_mem());
    char *d = NULL;
    long n = 0;
    if (!m || PEM_write_bio_PrivateKey(m, k, NULL, NULL, 0, NULL, NULL) != 1 ||
        (n = BIO_get_mem_data(m, &d)) <= 0)
        tdx_fx_fail("cannot encode a key");
    tdx_fx_put(b, d, (size_t)n);
    BIO_free(m);
}

/* ---- signatures: raw r || s, big-endian (Intel DCAP) ---- */

static void sign_raw(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t rs[64])
{
    uint8_t der[80];
    size_t dl = sizeof der;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (!m || EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, k) != 1 ||
        EVP_DigestSign(m, der, &dl, msg, len) != 1)
        tdx_fx_fail("cannot sign");
    EVP_MD_CTX_free(m);
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    if (!s || BN_bn2binpad(ECDSA_SIG_get0_r(s), rs, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(s), rs + 32, 32) != 32)
        tdx_fx_fail("bad ECDSA signature");
    ECDSA_SIG_free(s);
}

static void raw_pub(EVP_PKEY *k, uint8_t xy[64])
{
    uint8_t pt[65];
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n) != 1 ||
        n != 65 || pt[0] != 0x04)
        tdx_fx_fail("cannot export a P-256 public key");
    memcpy(xy, pt + 1, 64);
}

/* ---- collateral ---- */

static void components(struct tdx_fx_buf *j, const char *key, const uint8_t svn[16], bool tdx)
{
    static const char *const SGX_CAT[8][2] = {
        {"BIOS", "Early Microcode Update"}, {"OS/VMM", "SGX Late Microcode Update"},
        {"OS/VMM", "TXT SINIT"}, {"BIOS", NULL}, {"BIOS", NULL}, {"BIOS", NULL}, {NULL, NULL},
        {"OS/VMM", "SEAMLDR ACM"}};
    static const char *const TDX_CAT[3][2] = {
        {"OS/VMM", "TDX Module"}, {"OS/VMM", "TDX Module"},
        {"OS/VMM", "TDX Late Microcode Update"}};
    tdx_fx_putf(j, "\"%s\":[", key);
    for (int i = 0; i < 16; i++) {
        const char *cat = NULL, *type = NULL;
        if (!tdx && i < 8) {
            cat = SGX_CAT[i][0];
            type = SGX_CAT[i][1];
        } else if (tdx && i < 3) {
            cat = TDX_CAT[i][0];
            type = TDX_CAT[i][1];
        }
        tdx_fx_putf(j, "%s{\"svn\":%u", i ? "," : "", svn[i]);
        if (cat)
            tdx_fx_putf(j, ",\"category\":\"%s\"", cat);
        if (type)
            tdx_fx_putf(j, ",\"type\":\"%s\"", type);
        tdx_fx_putf(j, "}");
    }
    tdx_fx_putf(j, "]");
}

static void tcb_level(struct tdx_fx_buf *j, const uint8_t sgx[16], unsigned pcesvn,
                      const uint8_t tdx[16], const char *date, const char *status,
                      const char *advisory)
{
    tdx_fx_putf(j, "{\"tcb\":{");
    components(j, "sgxtcbcomponents", sgx, false);
    tdx_fx_putf(j, ",\"pcesvn\":%u,", pcesvn);
    components(j, "tdxtcbcomponents", tdx, true);
    tdx_fx_putf(j, "},\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"", date, status);
    if (advisory)
        tdx_fx_putf(j, ",\"advisoryIDs\":[\"%s\"]", advisory);
    tdx_fx_putf(j, "}");
}

/* {"<key>":<value>,"signature":"<hex r||s over the exact value bytes>"} */
static void signed_doc(struct tdx_fx_buf *out, const char *key, const struct tdx_fx_buf *value,
                       EVP_PKEY *signer)
{
    uint8_t rs[64];
    char sig[129];
    sign_raw(signer, value->p, value->len, rs);
    tdx_fx_hex(rs, 64, false, sig);
    tdx_fx_putf(out, "{\"%s\":", key);
    tdx_fx_put(out, value->p, value->len);
    tdx_fx_putf(out, ",\"signature\":\"%s\"}", sig);
}

static void tcb_info(struct tdx_fx_buf *out, const struct tdx_fx_hier *h, const char *issue,
                     const char *next)
{
    char fmspc[13], zeros48[97];
    static const uint8_t Z[48];
    tdx_fx_hex(FMSPC, 6, false, fmspc);
    tdx_fx_hex(Z, 48, false, zeros48);
    struct tdx_fx_buf v = {0};
    tdx_fx_putf(&v, "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
                "\"fmspc\":\"%s\",\"pceId\":\"0000\",\"tcbType\":0,"
                "\"tcbEvaluationDataNumber\":%u,",
                issue, next, fmspc, EVAL_NUM);
    tdx_fx_putf(&v, "\"tdxModule\":{\"mrsigner\":\"%s\",\"attributes\":\"0000000000000000\","
                "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},",
                zeros48);
    tdx_fx_putf(&v, "\"tdxModuleIdentities\":[{\"id\":\"TDX_01\",\"mrsigner\":\"%s\","
                "\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\","
                "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%u},\"tcbDate\":\"2024-11-13T00:00:00Z\","
                "\"tcbStatus\":\"UpToDate\"}]}],",
                zeros48, MODULE_ISVSVN);
    tdx_fx_putf(&v, "\"tcbLevels\":[");
    tcb_level(&v, COMP_SVN, PCESVN, TEE_TCB_SVN, "2024-11-13T00:00:00Z", "UpToDate", NULL);
    tdx_fx_putf(&v, ",");
    tcb_level(&v, OLD_COMP_SVN, OLD_PCESVN, OLD_TEE_TCB_SVN, "2023-08-09T00:00:00Z",
              "OutOfDate", "INTEL-SA-00837");
    tdx_fx_putf(&v, "]}");
    signed_doc(out, "tcbInfo", &v, h->tcb_key);
    free(v.p);
}

static void qe_identity(struct tdx_fx_buf *out, const struct tdx_fx_hier *h, const char *issue,
                        const char *next)
{
    char mrsigner[65];
    tdx_fx_hex(QE_MRSIGNER, 32, true, mrsigner);
    struct tdx_fx_buf v = {0};
    tdx_fx_putf(&v, "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
                "\"tcbEvaluationDataNumber\":%u,\"miscselect\":\"00000000\","
                "\"miscselectMask\":\"FFFFFFFF\","
                "\"attributes\":\"11000000000000000000000000000000\","
                "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"%s\","
                "\"isvprodid\":%u,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%u},"
                "\"tcbDate\":\"2024-11-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}",
                issue, next, EVAL_NUM, mrsigner, QE_ISVPRODID, QE_ISVSVN);
    signed_doc(out, "enclaveIdentity", &v, h->tcb_key);
    free(v.p);
}

/* A v2 CRL by issuer, lastUpdate issue, nextUpdate next; revoked may be NULL. DER into out. */
static void crl(struct tdx_fx_buf *out, X509 *issuer, EVP_PKEY *key, X509 *revoked,
                long number, time_t issue, time_t next)
{
    X509_CRL *c = X509_CRL_new();
    ASN1_TIME *last = ASN1_TIME_set(NULL, issue);
    ASN1_TIME *nxt = ASN1_TIME_set(NULL, next);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    if (!c || !last || !nxt || !num || !X509_CRL_set_version(c, 1) ||
        !X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer)) ||
        !X509_CRL_set1_lastUpdate(c, last) || !X509_CRL_set1_nextUpdate(c, nxt) ||
        !ASN1_INTEGER_set(num, number) ||
        X509_CRL_add1_ext_i2d(c, NID_crl_number, num, 0, 0) != 1)
        tdx_fx_fail("cannot make a CRL");
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, c, 0);
    X509_EXTENSION *aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
                                              "keyid:always");
    if (!aki || !X509_CRL_add_ext(c, aki, -1))
        tdx_fx_fail("cannot add the CRL's authority key identifier");
    X509_EXTENSION_free(aki);
    if (revoked) {
        X509_REVOKED *r = X509_REVOKED_new();
        if (!r || !X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked)) ||
            !X509_REVOKED_set_revocationDate(r, last) || !X509_CRL_add0_revoked(c, r))
            tdx_fx_fail("cannot revoke");
    }
    X509_CRL_sort(c);
    if (X509_CRL_sign(c, key, EVP_sha256()) <= 0)
        tdx_fx_fail("cannot sign a CRL");
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(c, &der);
    if (n <= 0)
        tdx_fx_fail("cannot encode a CRL");
    tdx_fx_put(out, der, (size_t)n);
    OPENSSL_free(der);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(last);
    ASN1_TIME_free(nxt);
    X509_CRL_free(c);
}

void tdx_fx_collateral(const struct tdx_fx_hier *h, time_t issue, time_t next, bool revoke_pck,
                       struct tdx_fx_collateral *out)
{
    memset(out, 0, sizeof *out);
    char is[32], nx[32];
    tdx_fx_rfc3339(issue, is);
    tdx_fx_rfc3339(next, nx);
    tcb_info(&out->tcbinfo, h, is, nx);
    qe_identity(&out->qe_identity, h, is, nx);
    tdx_fx_append_pem(&out->tcb_chain, h->tcb);
    tdx_fx_append_pem(&out->tcb_chain, h->root);
    crl(&out->pckcrl, h->platform, h->platform_key, revoke_pck ? h->pck : NULL,
        revoke_pck ? 2 : 1, issue, next);
    tdx_fx_append_pem(&out->pckcrl_chain, h->platform);
    tdx_fx_append_pem(&out->pckcrl_chain, h->root);
    crl(&out->rootcrl, h->root, h->root_key, NULL, 1, issue, next);
}

void tdx_fx_collateral_files(const struct tdx_fx_collateral *c,
                             struct tdx_fx_file out[TDX_FX_COLLATERAL_FILES])
{
    const struct tdx_fx_file files[TDX_FX_COLLATERAL_FILES] = {
        {"tcbinfo.json", &c->tcbinfo},      {"tcbinfo.chain.pem", &c->tcb_chain},
        {"qe_identity.json", &c->qe_identity}, {"qe_identity.chain.pem", &c->tcb_chain},
        {"pckcrl.der", &c->pckcrl},         {"pckcrl.chain.pem", &c->pckcrl_chain},
        {"rootcrl.der", &c->rootcrl}};
    memcpy(out, files, sizeof files);
}

void tdx_fx_collateral_free(struct tdx_fx_collateral *c)
{
    tdx_fx_buf_free(&c->tcbinfo);
    tdx_fx_buf_free(&c->qe_identity);
    tdx_fx_buf_free(&c->tcb_chain);
    tdx_fx_buf_free(&c->pckcrl);
    tdx_fx_buf_free(&c->pckcrl_chain);
    tdx_fx_buf_free(&c->rootcrl);
}

/* ---- the quote ---- */

/* SGX report body (384 B): the QE report. */
static void qe_report(struct tdx_fx_buf *b, const uint8_t report_data[64])
{
    tdx_fx_put(b, COMP_SVN, 16); /* CPUSVN */
    tdx_fx_put_le(b, 0, 4);      /* MISCSELECT */
    tdx_fx_put_zero(b, 28);
    tdx_fx_put_le(b, 0x11, 8); /* ATTRIBUTES flags: INIT | MODE64 (qe_identity: 11 00 .. ) */
    tdx_fx_put_le(b, 0, 8);    /* XFRM */
    uint8_t mrenclave[32];
    for (int i = 0; i < 32; i++)
        mrenclave[i] = (uint8_t)(0xe0 + i);
    tdx_fx_put(b, mrenclave, 32);
    tdx_fx_put_zero(b, 32);
    tdx_fx_put(b, QE_MRSIGNER, 32);
    tdx_fx_put_zero(b, 96);
    tdx_fx_put_le(b, QE_ISVPRODID, 2);
    tdx_fx_put_le(b, QE_ISVSVN, 2);
    tdx_fx_put_zero(b, 60);
    tdx_fx_put(b, report_data, 64);
}

void tdx_fx_build_quote(const struct tdx_fx_hier *h, const struct tdx_fx_td *tdp,
                        const uint8_t report_data[64], struct tdx_fx_buf *q)
{
    struct tdx_fx_td dflt;
    if (!tdp) {
        tdx_fx_default_td(&dflt);
        tdp = &dflt;
    }
    if (q->len != 0)
        tdx_fx_fail("internal: the quote buffer is not empty");
    /* Header (48). */
    tdx_fx_put_le(q, 4, 2);
    tdx_fx_put_le(q, DCAP_ATT_KEY_ECDSA_P256, 2);
    tdx_fx_put_le(q, DCAP_TEE_TDX, 4);
    tdx_fx_put_le(q, QE_SVN, 2);
    tdx_fx_put_le(q, PCESVN, 2);
    tdx_fx_put(q, QE_VENDOR_ID, 16);
    uint8_t user[20] = {0};
    for (int i = 0; i < 16; i++)
        user[i] = (uint8_t)(0xa0 + i); /* QE/platform ID: the PPID here */
    tdx_fx_put(q, user, 20);
    /* TD 1.0 body (584). */
    static const uint8_t Z[48];
    tdx_fx_put(q, TEE_TCB_SVN, 16);
    tdx_fx_put(q, tdp->mrseam, 48);
    tdx_fx_put(q, Z, 48);        /* MRSIGNERSEAM: the Intel module (tcbinfo tdxModule.mrsigner) */
    tdx_fx_put_le(q, 0, 8);      /* SEAM_ATTRIBUTES */
    tdx_fx_put_le(q, tdp->td_attributes, 8);
    tdx_fx_put_le(q, tdp->xfam, 8);
    tdx_fx_put(q, tdp->mrtd, 48);
    tdx_fx_put(q, Z, 48);        /* MRCONFIGID */
    tdx_fx_put(q, Z, 48);        /* MROWNER */
    tdx_fx_put(q, Z, 48);        /* MROWNERCONFIG */
    for (int r = 0; r < 4; r++)
        tdx_fx_put(q, tdp->rtmr[r], 48);
    tdx_fx_put(q, report_data, 64);
    if (q->len != DCAP_HEADER_LEN + DCAP_TD10_BODY_LEN)
        tdx_fx_fail("internal: quote layout");

    /* A fresh attestation key signs header || body. */
    EVP_PKEY *ak = p256();
    uint8_t sig[64], key[64], auth[32], ka[96], qe_rd[64], qe_sig[64];
    sign_raw(ak, q->p, q->len, sig);
    raw_pub(ak, key);
    EVP_PKEY_free(ak);
    for (int i = 0; i < 32; i++)
        auth[i] = (uint8_t)i;
    memcpy(ka, key, 64);
    memcpy(ka + 64, auth, 32);
    memset(qe_rd, 0, sizeof qe_rd);
    SHA256(ka, sizeof ka, qe_rd);

    struct tdx_fx_buf cert6 = {0}, pem = {0};
    qe_report(&cert6, qe_rd);
    sign_raw(h->pck_key, cert6.p, DCAP_SGX_REPORT_LEN, qe_sig);
    tdx_fx_put(&cert6, qe_sig, 64);
    tdx_fx_put_le(&cert6, sizeof auth, 2);
    tdx_fx_put(&cert6, auth, sizeof auth);
    tdx_fx_append_pem(&pem, h->pck);
    tdx_fx_append_pem(&pem, h->platform);
    tdx_fx_append_pem(&pem, h->root);
    tdx_fx_put_le(&cert6, DCAP_CERT_PCK_CHAIN, 2);
    tdx_fx_put_le(&cert6, pem.len + 1, 4);
    tdx_fx_put(&cert6, pem.p, pem.len + 1); /* with its NUL */

    tdx_fx_put_le(q, 64 + 64 + 2 + 4 + cert6.len, 4); /* sig_data_len */
    tdx_fx_put(q, sig, 64);
    tdx_fx_put(q, key, 64);
    tdx_fx_put_le(q, DCAP_CERT_QE_REPORT, 2);
    tdx_fx_put_le(q, cert6.len, 4);
    tdx_fx_put(q, cert6.p, cert6.len);
    free(cert6.p);
    free(pem.p);

    /* Never return a quote the library itself would not parse and verify. */
    struct dcap_quote dq;
    const char *why = NULL;
    if (dcap_quote_parse(q->p, q->len, &dq, &why) != 0) {
        fprintf(stderr, "tdx_fixture: built a quote that does not parse: %s\n", why);
        tdx_fx_fail("internal: bad quote");
    }
    int rc = dcap_quote_verify_signatures(&dq);
    if (rc != DCAP_SIG_OK || dq.quote_len != q->len || dq.body_type != DCAP_BODY_TD10 ||
        memcmp(dq.report_data, report_data, 64) != 0) {
        fprintf(stderr, "tdx_fixture: built quote fails its self-check: %s\n",
                dcap_sig_result_name(rc));
        tdx_fx_fail("internal: bad quote");
    }
}

/* ---- the TDREPORT ---- */

static void le64_at(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void tdx_fx_build_tdreport(const struct tdx_fx_td *tdp, const uint8_t report_data[64],
                           uint8_t out[TDX_FX_TDREPORT_LEN])
{
    struct tdx_fx_td dflt;
    if (!tdp) {
        tdx_fx_default_td(&dflt);
        tdp = &dflt;
    }
    memset(out, 0, TDX_FX_TDREPORT_LEN);
    /* REPORTMACSTRUCT (256): REPORTTYPE {TYPE 0x81 = TDX, SUBTYPE 0, VERSION 0, reserved},
     * reserved 12, CPUSVN 16, TEE_TCB_INFO_HASH 48, TEE_INFO_HASH 48, REPORTDATA 64 at +128,
     * reserved 32, MAC 32 (left zero). */
    out[0] = 0x81;
    memcpy(out + 16, COMP_SVN, 16);
    memcpy(out + 128, report_data, 64);
    /* TEE_TCB_INFO (239) at +256: VALID 8, TEE_TCB_SVN 16, MRSEAM 48, MRSIGNERSEAM 48 (zero),
     * ATTRIBUTES 8, ... */
    memset(out + 256, 0xff, 8);
    memcpy(out + 264, TEE_TCB_SVN, 16);
    memcpy(out + 280, tdp->mrseam, 48);
    /* TDINFO (512) at +512: ATTRIBUTES 8, XFAM 8, MRTD 48, MRCONFIGID 48, MROWNER 48,
     * MROWNERCONFIG 48, RTMR 4 x 48, SERVTD_HASH 48, reserved 64. */
    le64_at(out + 512, tdp->td_attributes);
    le64_at(out + 520, tdp->xfam);
    memcpy(out + 528, tdp->mrtd, 48);
    for (int r = 0; r < 4; r++)
        memcpy(out + 720 + 48 * r, tdp->rtmr[r], 48);
}
