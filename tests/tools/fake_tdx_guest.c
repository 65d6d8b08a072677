/*
 * fake_tdx_guest.c - TEST-ONLY stand-in for the Linux configfs-tsm "kernel" of an Intel TDX
 * guest (and for its quoting enclave and Intel's PCS), for tests/cli/tdx_e2e.sh. Never part of
 * libtether or the tether CLI. Nothing it signs chains to Intel: every key is a test key.
 *
 *   fake_tdx_guest --root DIR --state DIR [--count N] [--timeout S] [--bad-report-data]
 *
 * --state DIR: the TEST hierarchy, all ECDSA P-256 / SHA-256 (loaded when DIR/pck-key.pem
 * exists, otherwise generated and saved with its keys):
 *   root.pem      "Test SGX Root CA"          self-signed CA
 *   platform.pem  "Test SGX PCK Platform CA"  CA, signed by the root
 *   pck.pem       "Test SGX PCK Certificate"  leaf, signed by the platform CA, with the SGX
 *                                             extensions (OID 1.2.840.113741.1.13.1: PPID,
 *                                             TCB comp SVNs / PCESVN / CPUSVN, PCE-ID 0000,
 *                                             FMSPC 30606a000000, SGX type 1, platform instance
 *                                             ID, configuration)
 *   tcbsign.pem   "Test SGX TCB Signing"      leaf, signed by the root
 * and, rewritten on every start with fresh dates (issued now - 1 h, next update now + 30 d):
 *   collateral/tcbinfo.json        {"tcbInfo":{TDX v3},"signature":"<r||s hex>"} by TCB Signing
 *   collateral/tcbinfo.chain.pem   TCB Signing, root
 *   collateral/qe_identity.json    {"enclaveIdentity":{TD_QE v2},"signature":...} by TCB Signing
 *   collateral/qe_identity.chain.pem
 *   collateral/pckcrl.der          CRL by the platform CA, empty
 *   collateral/pckcrl.chain.pem    platform CA, root
 *   collateral/rootcrl.der         CRL by the root, empty
 *   collateral-revoked/...         the same set, but its pckcrl.der lists the PCK leaf
 *   policy.json                    accept.tdx: trust_anchors root.pem, collateral, the MRTD
 *   policy-other-mrtd.json         another MRTD
 *   policy-builtin-roots.json      no trust_anchors (the built-in Intel root only)
 *   policy-revoked.json            collateral-revoked instead of collateral
 *   last-quote.bin                 the quote most recently served (atomically replaced)
 *   ready                          once the root is watched
 * (policy paths are relative to the policy file.)
 *
 * --root DIR: a normal directory playing /sys/kernel/config/tsm/report. For each entry
 * directory made under it, the fake "kernel" (inotify, one bounded loop, total deadline):
 *   1. creates generation "0\n", an empty inblob, a FIFO outblob and last "provider"
 *      ("tdx_guest\n", renamed in atomically: fake_tsm_preload.so's mkdir waits for it);
 *   2. on IN_CLOSE_WRITE of inblob, bumps generation by one (configfs-tsm ABI);
 *   3. builds a v4 TDX quote: header (att key type 2, TEE 0x81, QE SVN 4, PCE SVN = the PCK's
 *      PCESVN, Intel's QE vendor ID), TD 1.0 body (TEE_TCB_SVN of the UpToDate level, MRSEAM,
 *      zero MRSIGNERSEAM, TD_ATTRIBUTES 0, XFAM 0x61ae7, the fixed MRTD and RTMRs,
 *      REPORTDATA = inblob, one bit flipped under --bad-report-data), signed by a fresh P-256
 *      attestation key; certification data type 6 = the QE report (MRSIGNER and ISVPRODID as
 *      in qe_identity.json, ISVSVN 4, report data = SHA-256(att key || auth data) || 0^32)
 *      signed by the PCK key, 32 bytes of auth data, and nested type 5 = the PEM chain (PCK,
 *      platform CA, root, NUL-terminated). Every quote is checked with the library's own
 *      dcap_quote_parse and dcap_quote_verify_signatures before it is served through the
 *      outblob FIFO (so "read outblob after writing inblob" blocks until the quote exists, as
 *      configfs does: it fetches the quote inside read()).
 * What a fake on a normal filesystem cannot do is make mkdir create the attributes, or rmdir
 * remove them: that is the job of fake_tsm_preload.so (LD_PRELOAD into the tether under test).
 *
 * Exits 0 after N quotes (--count), on SIGTERM/SIGINT, or after --timeout seconds (default
 * 30); every wait is bounded.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "evidence/dcap/dcap_quote.h"

#include "fake_tsm_kernel.h"

#define DAY 86400L
#define YEAR (365L * DAY)

/* ---- the fixed platform and TD ---- */

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

/* The fixed TD measurements (policy.json accepts MRTD). */
static uint8_t MRTD[48], MRSEAM[48], RTMR[4][48];
static void fixed_measurements(void)
{
    for (int i = 0; i < 48; i++) {
        MRTD[i] = (uint8_t)(0xd0 + i);
        MRSEAM[i] = (uint8_t)(0x5e ^ i);
        for (int r = 0; r < 4; r++)
            RTMR[r][i] = (uint8_t)(0x10 * (r + 1) + i);
    }
}

/* ---- a growable byte buffer (DER, JSON, quotes) ---- */

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            fake_die("out of memory");
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0; /* always NUL-terminated for the JSON text */
}

static void put_le(struct buf *b, uint64_t v, size_t n)
{
    uint8_t t[8];
    for (size_t i = 0; i < n; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    put(b, t, n);
}

static void put_zero(struct buf *b, size_t n)
{
    static const uint8_t z[64];
    while (n) {
        size_t k = n > sizeof z ? sizeof z : n;
        put(b, z, k);
        n -= k;
    }
}

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        fake_die("JSON fragment too long");
    put(b, tmp, (size_t)n);
}

/* ---- DER for the SGX extensions (X.690; Intel SGX PCK Certificate and CRL Profile) ---- */

static void der_tlv(struct buf *out, uint8_t tag, const uint8_t *c, size_t n)
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
        fake_die("DER element too long");
    }
    put(out, h, hl);
    put(out, c, n);
}

/* OID 1.2.840.113741.1.13.1[.a[.b]] (sub-identifiers below 128). */
static void der_sgx_oid(struct buf *out, int a, int b)
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
static void der_uint(struct buf *out, uint8_t tag, unsigned v)
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
static void der_item(struct buf *out, int a, int b, const struct buf *v)
{
    struct buf s = {0};
    der_sgx_oid(&s, a, b);
    put(&s, v->p, v->len);
    der_tlv(out, 0x30, s.p, s.len);
    free(s.p);
}

static void der_item_octets(struct buf *out, int a, int b, const uint8_t *d, size_t n)
{
    struct buf v = {0};
    der_tlv(&v, 0x04, d, n);
    der_item(out, a, b, &v);
    free(v.p);
}

static void der_item_uint(struct buf *out, int a, int b, uint8_t tag, unsigned x)
{
    struct buf v = {0};
    der_uint(&v, tag, x);
    der_item(out, a, b, &v);
    free(v.p);
}

static void der_item_bool(struct buf *out, int a, int b, bool x)
{
    struct buf v = {0};
    uint8_t c = x ? 0xff : 0x00;
    der_tlv(&v, 0x01, &c, 1);
    der_item(out, a, b, &v);
    free(v.p);
}

static void der_item_seq(struct buf *out, int a, const struct buf *inner)
{
    struct buf v = {0};
    der_tlv(&v, 0x30, inner->p, inner->len);
    der_item(out, a, 0, &v);
    free(v.p);
}

/* The extension value: SEQUENCE OF SEQUENCE { OID, value }. */
static void sgx_extensions(struct buf *out)
{
    uint8_t ppid[16], piid[16];
    for (int i = 0; i < 16; i++) {
        ppid[i] = (uint8_t)(0xa0 + i);
        piid[i] = (uint8_t)(0xc0 + i);
    }
    struct buf items = {0}, tcb = {0}, cfg = {0};
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

struct hier {
    EVP_PKEY *root_key, *platform_key, *pck_key, *tcb_key;
    X509 *root, *platform, *pck, *tcb;
};

static X509_NAME *name_of(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    if (!n ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                    (const unsigned char *)"Tether Test (not Intel)", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0))
        fake_die("cannot make a name");
    return n;
}

static void add_ext_txt(X509 *x, X509 *issuer, int nid, const char *val)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, val);
    if (!e || !X509_add_ext(x, e, -1))
        fake_die("cannot make an extension");
    X509_EXTENSION_free(e);
}

static void random_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    if (!bn || !BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        fake_die("cannot make a serial number");
    BN_free(bn);
}

/* issuer NULL: self-signed with key. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, const char *basic,
                       const char *usage, long lifetime)
{
    X509 *x = X509_new();
    if (!x)
        fake_die("out of memory");
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
        fake_die("cannot sign a certificate");
}

static EVP_PKEY *p256(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        fake_die("cannot generate a P-256 key");
    return k;
}

static void generate(struct hier *h)
{
    h->root_key = p256();
    h->platform_key = p256();
    h->pck_key = p256();
    h->tcb_key = p256();
    h->root = make_cert(h->root_key, "Test SGX Root CA", NULL, "critical,CA:TRUE,pathlen:1",
                        "critical,keyCertSign,cRLSign", 25 * YEAR);
    sign_cert(h->root, h->root_key);
    h->platform = make_cert(h->platform_key, "Test SGX PCK Platform CA", h->root,
                            "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,cRLSign",
                            10 * YEAR);
    sign_cert(h->platform, h->root_key);
    h->pck = make_cert(h->pck_key, "Test SGX PCK Certificate", h->platform,
                       "critical,CA:FALSE", "critical,digitalSignature,nonRepudiation",
                       7 * YEAR);
    struct buf ext = {0};
    sgx_extensions(&ext);
    ASN1_OBJECT *o = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    if (!o || !os || !ASN1_OCTET_STRING_set(os, ext.p, (int)ext.len))
        fake_die("cannot make the SGX extensions");
    X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
    if (!e || !X509_add_ext(h->pck, e, -1))
        fake_die("cannot add the SGX extensions");
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
    free(ext.p);
    sign_cert(h->pck, h->platform_key);
    h->tcb = make_cert(h->tcb_key, "Test SGX TCB Signing", h->root,
                       "critical,CA:FALSE", "critical,digitalSignature,nonRepudiation",
                       7 * YEAR);
    sign_cert(h->tcb, h->root_key);
}

static void append_pem(struct buf *b, X509 *x)
{
    BIO *m = BIO_new(BIO_s_mem());
    char *d = NULL;
    long n = 0;
    if (!m || PEM_write_bio_X509(m, x) != 1 || (n = BIO_get_mem_data(m, &d)) <= 0)
        fake_die("cannot encode a certificate");
    put(b, d, (size_t)n);
    BIO_free(m);
}

static void save_cert(const char *dir, const char *name, X509 *x)
{
    struct buf b = {0};
    append_pem(&b, x);
    fake_write_file(dir, name, b.p, b.len);
    free(b.p);
}

static void save_key(const char *dir, const char *name, EVP_PKEY *k)
{
    BIO *m = BIO_new(BIO_s_mem());
    char *d = NULL;
    long n = 0;
    if (!m || PEM_write_bio_PrivateKey(m, k, NULL, NULL, 0, NULL, NULL) != 1 ||
        (n = BIO_get_mem_data(m, &d)) <= 0)
        fake_die("cannot encode a key");
    fake_write_file(dir, name, d, (size_t)n);
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
        fake_die("cannot sign");
    EVP_MD_CTX_free(m);
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    if (!s || BN_bn2binpad(ECDSA_SIG_get0_r(s), rs, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(s), rs + 32, 32) != 32)
        fake_die("bad ECDSA signature");
    ECDSA_SIG_free(s);
}

static void raw_pub(EVP_PKEY *k, uint8_t xy[64])
{
    uint8_t pt[65];
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n) != 1 ||
        n != 65 || pt[0] != 0x04)
        fake_die("cannot export a P-256 public key");
    memcpy(xy, pt + 1, 64);
}

/* ---- collateral ---- */

static void rfc3339(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void components(struct buf *j, const char *key, const uint8_t svn[16], bool tdx)
{
    static const char *const SGX_CAT[8][2] = {
        {"BIOS", "Early Microcode Update"}, {"OS/VMM", "SGX Late Microcode Update"},
        {"OS/VMM", "TXT SINIT"}, {"BIOS", NULL}, {"BIOS", NULL}, {"BIOS", NULL}, {NULL, NULL},
        {"OS/VMM", "SEAMLDR ACM"}};
    static const char *const TDX_CAT[3][2] = {
        {"OS/VMM", "TDX Module"}, {"OS/VMM", "TDX Module"},
        {"OS/VMM", "TDX Late Microcode Update"}};
    putf(j, "\"%s\":[", key);
    for (int i = 0; i < 16; i++) {
        const char *cat = NULL, *type = NULL;
        if (!tdx && i < 8) {
            cat = SGX_CAT[i][0];
            type = SGX_CAT[i][1];
        } else if (tdx && i < 3) {
            cat = TDX_CAT[i][0];
            type = TDX_CAT[i][1];
        }
        putf(j, "%s{\"svn\":%u", i ? "," : "", svn[i]);
        if (cat)
            putf(j, ",\"category\":\"%s\"", cat);
        if (type)
            putf(j, ",\"type\":\"%s\"", type);
        putf(j, "}");
    }
    putf(j, "]");
}

static void tcb_level(struct buf *j, const uint8_t sgx[16], unsigned pcesvn,
                      const uint8_t tdx[16], const char *date, const char *status,
                      const char *advisory)
{
    putf(j, "{\"tcb\":{");
    components(j, "sgxtcbcomponents", sgx, false);
    putf(j, ",\"pcesvn\":%u,", pcesvn);
    components(j, "tdxtcbcomponents", tdx, true);
    putf(j, "},\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"", date, status);
    if (advisory)
        putf(j, ",\"advisoryIDs\":[\"%s\"]", advisory);
    putf(j, "}");
}

/* {"<key>":<value>,"signature":"<hex r||s over the exact value bytes>"} */
static void signed_doc(const char *dir, const char *name, const char *key,
                       const struct buf *value, EVP_PKEY *signer)
{
    uint8_t rs[64];
    char sig[129];
    sign_raw(signer, value->p, value->len, rs);
    fake_hex(rs, 64, false, sig);
    struct buf d = {0};
    putf(&d, "{\"%s\":", key);
    put(&d, value->p, value->len);
    putf(&d, ",\"signature\":\"%s\"}", sig);
    fake_write_file(dir, name, d.p, d.len);
    free(d.p);
}

static void write_tcb_info(const char *dir, const struct hier *h, const char *issue,
                           const char *next)
{
    char fmspc[13], zeros48[97];
    static const uint8_t Z[48];
    fake_hex(FMSPC, 6, false, fmspc);
    fake_hex(Z, 48, false, zeros48);
    struct buf v = {0};
    putf(&v, "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
             "\"fmspc\":\"%s\",\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":%u,",
         issue, next, fmspc, EVAL_NUM);
    putf(&v, "\"tdxModule\":{\"mrsigner\":\"%s\",\"attributes\":\"0000000000000000\","
             "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},",
         zeros48);
    putf(&v, "\"tdxModuleIdentities\":[{\"id\":\"TDX_01\",\"mrsigner\":\"%s\","
             "\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\","
             "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%u},\"tcbDate\":\"2024-11-13T00:00:00Z\","
             "\"tcbStatus\":\"UpToDate\"}]}],",
         zeros48, MODULE_ISVSVN);
    putf(&v, "\"tcbLevels\":[");
    tcb_level(&v, COMP_SVN, PCESVN, TEE_TCB_SVN, "2024-11-13T00:00:00Z", "UpToDate", NULL);
    putf(&v, ",");
    tcb_level(&v, OLD_COMP_SVN, OLD_PCESVN, OLD_TEE_TCB_SVN, "2023-08-09T00:00:00Z",
              "OutOfDate", "INTEL-SA-00837");
    putf(&v, "]}");
    signed_doc(dir, "tcbinfo.json", "tcbInfo", &v, h->tcb_key);
    free(v.p);
}

static void write_qe_identity(const char *dir, const struct hier *h, const char *issue,
                              const char *next)
{
    char mrsigner[65];
    fake_hex(QE_MRSIGNER, 32, true, mrsigner);
    struct buf v = {0};
    putf(&v, "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
             "\"tcbEvaluationDataNumber\":%u,\"miscselect\":\"00000000\","
             "\"miscselectMask\":\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\","
             "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"%s\","
             "\"isvprodid\":%u,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%u},"
             "\"tcbDate\":\"2024-11-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}",
         issue, next, EVAL_NUM, mrsigner, QE_ISVPRODID, QE_ISVSVN);
    signed_doc(dir, "qe_identity.json", "enclaveIdentity", &v, h->tcb_key);
    free(v.p);
}

/* A v2 CRL by issuer, this update now - 1 h, next update now + 30 d; revoked may be NULL. */
static void write_crl(const char *dir, const char *name, X509 *issuer, EVP_PKEY *key,
                      X509 *revoked, long number)
{
    X509_CRL *crl = X509_CRL_new();
    time_t now = time(NULL);
    ASN1_TIME *last = ASN1_TIME_adj(NULL, now, 0, -3600);
    ASN1_TIME *next = ASN1_TIME_adj(NULL, now, 30, 0);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    if (!crl || !last || !next || !num || !X509_CRL_set_version(crl, 1) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) ||
        !X509_CRL_set1_lastUpdate(crl, last) || !X509_CRL_set1_nextUpdate(crl, next) ||
        !ASN1_INTEGER_set(num, number) ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
        fake_die("cannot make a CRL");
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
    X509_EXTENSION *aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
                                              "keyid:always");
    if (!aki || !X509_CRL_add_ext(crl, aki, -1))
        fake_die("cannot add the CRL's authority key identifier");
    X509_EXTENSION_free(aki);
    if (revoked) {
        X509_REVOKED *r = X509_REVOKED_new();
        if (!r || !X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked)) ||
            !X509_REVOKED_set_revocationDate(r, last) || !X509_CRL_add0_revoked(crl, r))
            fake_die("cannot revoke");
    }
    X509_CRL_sort(crl);
    if (X509_CRL_sign(crl, key, EVP_sha256()) <= 0)
        fake_die("cannot sign a CRL");
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(crl, &der);
    if (n <= 0)
        fake_die("cannot encode a CRL");
    fake_write_file(dir, name, der, (size_t)n);
    OPENSSL_free(der);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
}

static void write_chain(const char *dir, const char *name, X509 *a, X509 *b)
{
    struct buf p = {0};
    append_pem(&p, a);
    append_pem(&p, b);
    fake_write_file(dir, name, p.p, p.len);
    free(p.p);
}

static void write_collateral(const char *state, const char *sub, const struct hier *h,
                             bool revoke_pck)
{
    char dir[PATH_MAX], issue[32], next[32];
    fake_path_in(dir, sizeof dir, state, sub);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        fake_die("cannot create the collateral directory");
    time_t now = time(NULL);
    rfc3339(now - 3600, issue);
    rfc3339(now + 30 * DAY, next);
    write_tcb_info(dir, h, issue, next);
    write_chain(dir, "tcbinfo.chain.pem", h->tcb, h->root);
    write_qe_identity(dir, h, issue, next);
    write_chain(dir, "qe_identity.chain.pem", h->tcb, h->root);
    write_crl(dir, "pckcrl.der", h->platform, h->platform_key, revoke_pck ? h->pck : NULL,
              revoke_pck ? 2 : 1);
    write_chain(dir, "pckcrl.chain.pem", h->platform, h->root);
    write_crl(dir, "rootcrl.der", h->root, h->root_key, NULL, 1);
}

static void write_policy(const char *dir, const char *name, bool anchors, const char *coll,
                         const uint8_t mrtd[48])
{
    char m[97];
    fake_hex(mrtd, 48, false, m);
    struct buf j = {0};
    putf(&j, "{\"tether_policy\":1,\"accept\":{\"tdx\":{%s\"collateral\":[\"%s\"],"
             "\"mrtd\":[\"%s\"]}}}\n",
         anchors ? "\"trust_anchors\":[\"root.pem\"]," : "", coll, m);
    fake_write_file(dir, name, j.p, j.len);
    free(j.p);
}

static void setup_state(struct hier *h, const char *dir)
{
    char p[PATH_MAX];
    fake_path_in(p, sizeof p, dir, "pck-key.pem");
    if (access(p, F_OK) == 0) {
        h->root_key = fake_load_key(dir, "root-key.pem");
        h->platform_key = fake_load_key(dir, "platform-key.pem");
        h->tcb_key = fake_load_key(dir, "tcbsign-key.pem");
        h->pck_key = fake_load_key(dir, "pck-key.pem");
        h->root = fake_load_cert(dir, "root.pem");
        h->platform = fake_load_cert(dir, "platform.pem");
        h->tcb = fake_load_cert(dir, "tcbsign.pem");
        h->pck = fake_load_cert(dir, "pck.pem");
    } else {
        generate(h);
        save_key(dir, "root-key.pem", h->root_key);
        save_key(dir, "platform-key.pem", h->platform_key);
        save_key(dir, "tcbsign-key.pem", h->tcb_key);
        save_cert(dir, "root.pem", h->root);
        save_cert(dir, "platform.pem", h->platform);
        save_cert(dir, "tcbsign.pem", h->tcb);
        save_cert(dir, "pck.pem", h->pck);
        save_key(dir, "pck-key.pem", h->pck_key); /* last: marks a complete state */
    }
    write_collateral(dir, "collateral", h, false);
    write_collateral(dir, "collateral-revoked", h, true);
    uint8_t other[48];
    memcpy(other, MRTD, 48);
    other[47] ^= 0xff;
    write_policy(dir, "policy.json", true, "collateral", MRTD);
    write_policy(dir, "policy-other-mrtd.json", true, "collateral", other);
    write_policy(dir, "policy-builtin-roots.json", false, "collateral", MRTD);
    write_policy(dir, "policy-revoked.json", true, "collateral-revoked", MRTD);
}

/* ---- the quote ---- */

/* SGX report body (384 B): the QE report. */
static void qe_report(struct buf *b, const uint8_t report_data[64])
{
    put(b, COMP_SVN, 16); /* CPUSVN */
    put_le(b, 0, 4);      /* MISCSELECT */
    put_zero(b, 28);
    put_le(b, 0x11, 8); /* ATTRIBUTES flags: INIT | MODE64 (qe_identity: 11 00 .. ) */
    put_le(b, 0, 8);    /* XFRM */
    uint8_t mrenclave[32];
    for (int i = 0; i < 32; i++)
        mrenclave[i] = (uint8_t)(0xe0 + i);
    put(b, mrenclave, 32);
    put_zero(b, 32);
    put(b, QE_MRSIGNER, 32);
    put_zero(b, 96);
    put_le(b, QE_ISVPRODID, 2);
    put_le(b, QE_ISVSVN, 2);
    put_zero(b, 60);
    put(b, report_data, 64);
}

/* A v4 TDX quote over report_data (research evidence.md A2), checked before it is returned. */
static void build_quote(const struct hier *h, const uint8_t report_data[64], struct buf *q)
{
    /* Header (48). */
    put_le(q, 4, 2);
    put_le(q, DCAP_ATT_KEY_ECDSA_P256, 2);
    put_le(q, DCAP_TEE_TDX, 4);
    put_le(q, QE_SVN, 2);
    put_le(q, PCESVN, 2);
    put(q, QE_VENDOR_ID, 16);
    uint8_t user[20] = {0};
    for (int i = 0; i < 16; i++)
        user[i] = (uint8_t)(0xa0 + i); /* QE/platform ID: the PPID here */
    put(q, user, 20);
    /* TD 1.0 body (584). */
    static const uint8_t Z[48];
    put(q, TEE_TCB_SVN, 16);
    put(q, MRSEAM, 48);
    put(q, Z, 48);           /* MRSIGNERSEAM: the Intel module (tcbinfo tdxModule.mrsigner) */
    put_le(q, 0, 8);         /* SEAM_ATTRIBUTES */
    put_le(q, 0, 8);         /* TD_ATTRIBUTES: not DEBUG */
    put_le(q, 0x61ae7, 8);   /* XFAM */
    put(q, MRTD, 48);
    put(q, Z, 48);           /* MRCONFIGID */
    put(q, Z, 48);           /* MROWNER */
    put(q, Z, 48);           /* MROWNERCONFIG */
    for (int r = 0; r < 4; r++)
        put(q, RTMR[r], 48);
    put(q, report_data, 64);
    if (q->len != DCAP_HEADER_LEN + DCAP_TD10_BODY_LEN)
        fake_die("internal: quote layout");

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

    struct buf cert6 = {0}, pem = {0};
    qe_report(&cert6, qe_rd);
    sign_raw(h->pck_key, cert6.p, DCAP_SGX_REPORT_LEN, qe_sig);
    put(&cert6, qe_sig, 64);
    put_le(&cert6, sizeof auth, 2);
    put(&cert6, auth, sizeof auth);
    append_pem(&pem, h->pck);
    append_pem(&pem, h->platform);
    append_pem(&pem, h->root);
    put_le(&cert6, DCAP_CERT_PCK_CHAIN, 2);
    put_le(&cert6, pem.len + 1, 4);
    put(&cert6, pem.p, pem.len + 1); /* with its NUL */

    put_le(q, 64 + 64 + 2 + 4 + cert6.len, 4); /* sig_data_len */
    put(q, sig, 64);
    put(q, key, 64);
    put_le(q, DCAP_CERT_QE_REPORT, 2);
    put_le(q, cert6.len, 4);
    put(q, cert6.p, cert6.len);
    free(cert6.p);
    free(pem.p);

    /* Never serve a quote the library itself would not parse and verify. */
    struct dcap_quote dq;
    const char *why = NULL;
    if (dcap_quote_parse(q->p, q->len, &dq, &why) != 0) {
        fprintf(stderr, "fake_tdx_guest: built a quote that does not parse: %s\n", why);
        fake_die("internal: bad quote");
    }
    int rc = dcap_quote_verify_signatures(&dq);
    if (rc != DCAP_SIG_OK || dq.quote_len != q->len || dq.body_type != DCAP_BODY_TD10 ||
        memcmp(dq.report_data, report_data, 64) != 0) {
        fprintf(stderr, "fake_tdx_guest: built quote fails its self-check: %s\n",
                dcap_sig_result_name(rc));
        fake_die("internal: bad quote");
    }
}

/* ---- the kernel side: a quote on every inblob ---- */

struct tdx {
    const struct hier *h;
    const char *state;
    bool bad;
};

static void on_write(struct fake_tsm_entry *e, const char *name, long *served, void *arg)
{
    const struct tdx *t = arg;
    if (strcmp(name, "inblob") != 0)
        return;
    uint8_t rd[64];
    size_t got = 0;
    memset(rd, 0, sizeof rd);
    bool ok = fake_tsm_read_small(e->dir, "inblob", rd, sizeof rd, &got) == 0 && got <= 64;
    fake_tsm_bump_generation(e);
    if (!ok) {
        /* configfs-tsm refuses an inblob over 64 bytes (a shorter one is zero-padded, as
         * here); the real attester always writes exactly 64. */
        fprintf(stderr, "fake_tdx_guest: inblob is longer than 64 bytes\n");
        return;
    }
    if (t->bad)
        rd[0] ^= 0x01;
    struct buf q = {0};
    build_quote(t->h, rd, &q);
    fake_write_file(t->state, "last-quote.bin", q.p, q.len);
    if (fake_tsm_fifo_serve(e->dir, "outblob", q.p, q.len) == 0)
        (*served)++;
    fprintf(stderr, "fake_tdx_guest: served quote %ld (%zu bytes)%s\n", *served, q.len,
            t->bad ? " (REPORT_DATA differs from inblob)" : "");
    free(q.p);
}

int main(int argc, char **argv)
{
    static const struct fake_tsm_attr ATTRS[] = {{"inblob", ""}, {NULL, NULL}};
    static const char *const FIFOS[] = {"outblob", NULL};
    struct fake_tsm_args a;
    fake_tsm_args(argc, argv, "fake_tdx_guest", &a);

    fixed_measurements();
    struct hier h;
    memset(&h, 0, sizeof h);
    setup_state(&h, a.state);

    struct tdx t = {.h = &h, .state = a.state, .bad = a.bad_report_data};
    const struct fake_tsm_kernel k = {"tdx_guest\n", ATTRS, FIFOS, on_write, &t};
    fake_tsm_run(&a, &k);
    EVP_PKEY_free(h.root_key);
    EVP_PKEY_free(h.platform_key);
    EVP_PKEY_free(h.pck_key);
    EVP_PKEY_free(h.tcb_key);
    X509_free(h.root);
    X509_free(h.platform);
    X509_free(h.pck);
    X509_free(h.tcb);
    return 0;
}
