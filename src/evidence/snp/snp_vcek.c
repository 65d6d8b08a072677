/*
 * snp_vcek.c - the AMD VCEK/VLEK certificate extensions (snp_vcek.h). Each extnValue holds a
 * DER element directly (INTEGER for the versions and SPLs, IA5String for productName and
 * cspId), except hwID, whose extnValue is the raw chip identifier (VCEK spec 57230, table
 * "VCEK Certificate Extensions"; research evidence.md A1 and pitfall C.3).
 */
#include "evidence/snp/snp_vcek.h"

#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "evidence/snp/snp_report.h"

#define AMD_ARC "1.3.6.1.4.1.3704.1."

enum ext_kind { K_INT, K_SPL, K_IA5, K_HWID };

struct ext_def {
    const char *oid;
    enum ext_kind kind;
    size_t field; /* which member (index into the switch below) */
};

enum { F_STRUCT, F_PRODUCT, F_BL, F_TEE, F_SNP, F_UCODE, F_FMC, F_HWID, F_CSPID };

static const struct ext_def defs[] = {
    {AMD_ARC "1", K_INT, F_STRUCT},   {AMD_ARC "2", K_IA5, F_PRODUCT},
    {AMD_ARC "3.1", K_SPL, F_BL},     {AMD_ARC "3.2", K_SPL, F_TEE},
    {AMD_ARC "3.3", K_SPL, F_SNP},    {AMD_ARC "3.8", K_SPL, F_UCODE},
    {AMD_ARC "3.9", K_SPL, F_FMC},    {AMD_ARC "4", K_HWID, F_HWID},
    {AMD_ARC "5", K_IA5, F_CSPID},
};

static int fail(const char **why, const char *reason)
{
    *why = reason;
    ERR_clear_error();
    return -1;
}

/* A DER INTEGER filling exactly the buffer. */
static int read_integer(const uint8_t *p, size_t n, long *out)
{
    const unsigned char *q = p;
    ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &q, (long)n);
    if (!ai || q != p + n) {
        ASN1_INTEGER_free(ai);
        return -1;
    }
    int64_t v64 = 0;
    int ok = ASN1_INTEGER_get_int64(&v64, ai);
    ASN1_INTEGER_free(ai);
    if (ok != 1 || v64 < 0 || v64 > 0x7fffffff)
        return -1;
    *out = (long)v64;
    return 0;
}

/* A DER IA5String filling exactly the buffer, printable ASCII, at most max bytes. */
static int read_ia5(const uint8_t *p, size_t n, char *out, size_t max, size_t *len)
{
    const unsigned char *q = p;
    ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &q, (long)n);
    if (!s || q != p + n) {
        ASN1_IA5STRING_free(s);
        return -1;
    }
    int sl = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    if (sl < 0 || (size_t)sl > max) {
        ASN1_IA5STRING_free(s);
        return -1;
    }
    for (int i = 0; i < sl; i++)
        if (d[i] < 0x20 || d[i] > 0x7e) {
            ASN1_IA5STRING_free(s);
            return -1;
        }
    memcpy(out, d, (size_t)sl);
    out[sl] = '\0';
    *len = (size_t)sl;
    ASN1_IA5STRING_free(s);
    return 0;
}

int snp_cert_ext_read(X509 *x, struct snp_cert_ext *out, const char **why)
{
    memset(out, 0, sizeof *out);
    *why = "";
    if (!x)
        return fail(why, "no certificate");
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        ASN1_OBJECT *obj = OBJ_txt2obj(defs[i].oid, 1);
        if (!obj)
            return fail(why, "internal: bad OID");
        int idx = X509_get_ext_by_OBJ(x, obj, -1);
        int dup = idx >= 0 ? X509_get_ext_by_OBJ(x, obj, idx) : -1;
        ASN1_OBJECT_free(obj);
        if (idx < 0)
            continue;
        if (dup >= 0)
            return fail(why, "an AMD certificate extension appears twice");
        ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(x, idx));
        if (!os)
            return fail(why, "an AMD certificate extension has no value");
        const uint8_t *p = ASN1_STRING_get0_data(os);
        int il = ASN1_STRING_length(os);
        if (!p || il <= 0)
            return fail(why, "an AMD certificate extension is empty");
        size_t n = (size_t)il;
        long v = 0;
        size_t slen = 0;
        switch (defs[i].kind) {
        case K_INT:
            if (read_integer(p, n, &v) != 0)
                return fail(why, "structVersion (1.3.6.1.4.1.3704.1.1) is not a DER INTEGER");
            out->has_struct_version = true;
            out->struct_version = v;
            break;
        case K_SPL: {
            if (read_integer(p, n, &v) != 0 || v > 255)
                return fail(why, "an SPL extension (1.3.6.1.4.1.3704.1.3.x) is not a DER "
                                 "INTEGER 0..255");
            uint8_t b = (uint8_t)v;
            switch (defs[i].field) {
            case F_BL: out->has_bl = true; out->bl = b; break;
            case F_TEE: out->has_tee = true; out->tee = b; break;
            case F_SNP: out->has_snp = true; out->snp = b; break;
            case F_UCODE: out->has_ucode = true; out->ucode = b; break;
            default: out->has_fmc = true; out->fmc = b; break;
            }
            break;
        }
        case K_IA5:
            if (defs[i].field == F_PRODUCT) {
                if (read_ia5(p, n, out->product_name, SNP_CERT_PRODUCT_MAX, &slen) != 0)
                    return fail(why, "productName (1.3.6.1.4.1.3704.1.2) is not a printable "
                                     "IA5String of at most 64 characters");
                out->has_product_name = true;
            } else {
                if (read_ia5(p, n, out->csp_id, SNP_CERT_CSPID_MAX, &out->csp_id_len) != 0 ||
                    out->csp_id_len == 0)
                    return fail(why, "cspId (1.3.6.1.4.1.3704.1.5) is not a printable "
                                     "IA5String of 1..256 characters");
                out->has_csp_id = true;
            }
            break;
        case K_HWID:
            /* Raw bytes, no DER tag: 64 bytes, 8 on Turin (57230; research pitfall C.3). */
            if (n != 64 && n != 8)
                return fail(why, "hwID (1.3.6.1.4.1.3704.1.4) is not 64 or 8 raw bytes");
            memcpy(out->hwid, p, n);
            out->hwid_len = n;
            out->has_hwid = true;
            break;
        }
    }
    ERR_clear_error();
    return 0;
}

int snp_cert_ext_read_der(const uint8_t *der, size_t len, struct snp_cert_ext *out,
                          const char **why)
{
    memset(out, 0, sizeof *out);
    *why = "";
    if (!der || len == 0 || len > 65536)
        return fail(why, "certificate missing or too large");
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x || p != der + len) {
        X509_free(x);
        return fail(why, "not exactly one DER X.509 certificate");
    }
    int rc = snp_cert_ext_read(x, out, why);
    X509_free(x);
    return rc;
}

int snp_cert_product_generation(const struct snp_cert_ext *e)
{
    if (!e->has_product_name)
        return SNP_GEN_UNKNOWN;
    /* "Milan-B0", "Milan" (VLEK), "Genoa", "Turin": the part before the stepping. */
    size_t n = strcspn(e->product_name, "-");
    if (n == 5 && strncmp(e->product_name, "Milan", 5) == 0)
        return SNP_GEN_MILAN;
    if (n == 5 && strncmp(e->product_name, "Genoa", 5) == 0)
        return SNP_GEN_GENOA;
    if (n == 5 && strncmp(e->product_name, "Turin", 5) == 0)
        return SNP_GEN_TURIN;
    return SNP_GEN_UNKNOWN;
}
