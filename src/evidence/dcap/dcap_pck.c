/*
 * dcap_pck.c - the SGX extensions of an Intel PCK certificate (dcap_collateral.h): a bounded,
 * strict DER walker over the extension value (OID 1.2.840.113741.1.13.1).
 *
 * Reference: Intel "SGX PCK Certificate and CRL Profile", section "SGX Extensions"; research
 * evidence.md A2 "PCK certificate SGX extensions". The value is
 *   SGXExtensions ::= SEQUENCE OF SEQUENCE { sgxExtensionId OBJECT IDENTIFIER, value ANY }
 * with, under the arc 1.2.840.113741.1.13.1:
 *   .1 PPID OCTET STRING (16)
 *   .2 TCB SEQUENCE OF SEQUENCE { OID .2.N, value }: .2.1-.2.16 INTEGER (0..255) component SVNs,
 *      .2.17 PCESVN INTEGER (0..65535), .2.18 CPUSVN OCTET STRING (16)
 *   .3 PCE-ID OCTET STRING (2)
 *   .4 FMSPC OCTET STRING (6)
 *   .5 SGX type ENUMERATED (0 Standard, 1 Scalable, 2 Scalable with integrity)
 *   .6 PlatformInstanceID OCTET STRING (16) (Platform CA leaves only; optional)
 *   .7 Configuration SEQUENCE OF SEQUENCE { OID .7.N, BOOLEAN }: .7.1 dynamicPlatform,
 *      .7.2 cachedKeys, .7.3 smtEnabled (optional, each member optional)
 *
 * Strictness (X.690 DER): single-byte tags, definite minimal lengths, minimal non-negative
 * INTEGER/ENUMERATED contents, BOOLEAN exactly 00 or FF, no trailing bytes at any level, every
 * element an OID under the arc, no OID twice, all required elements present, the TCB element
 * with exactly its 18 components. Elements may come in any order (SEQUENCE OF).
 *
 * Forward compatibility: Intel has added elements to this extension over time (.6 and .7 came
 * with the Platform CA). An unknown direct child of the arc (1.2.840.113741.1.13.1.N, N not
 * 1..7) at the top level, or of .7 inside Configuration (.7.N, N not 1..3), is therefore
 * accepted and its value skipped (it must still be one well-formed TLV), but never twice, and at
 * most PCK_MAX_UNKNOWN of them. The .2 TCB element is fixed by the profile: anything but its 18
 * components is rejected. Any other OID (outside the arc, or a grandchild such as .2.1 at the
 * top level) is rejected.
 */
#include "evidence/dcap/dcap_collateral.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "util/bytes.h"

#define PCK_EXT_OID "1.2.840.113741.1.13.1"
#define PCK_EXT_MAX_LEN 8192u /* real values: 453-556 bytes */
#define PCK_MAX_UNKNOWN 16

/* DER content octets of the arc 1.2.840.113741.1.13.1. */
static const uint8_t ARC[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
#define ARC_LEN sizeof ARC

enum { TAG_BOOLEAN = 0x01, TAG_INTEGER = 0x02, TAG_OCTET = 0x04, TAG_OID = 0x06,
       TAG_ENUM = 0x0a, TAG_SEQUENCE = 0x30 };

enum { SUB_PPID = 1, SUB_TCB = 2, SUB_PCEID = 3, SUB_FMSPC = 4, SUB_TYPE = 5, SUB_PIID = 6,
       SUB_CONFIG = 7 };

struct tlv {
    uint8_t tag;
    const uint8_t *body;
    size_t len;
};

/* Unknown OIDs seen so far (duplicate detection), bounded. */
struct unknown_set {
    struct tlv oid[PCK_MAX_UNKNOWN];
    size_t n;
};

static int fail(struct dcap_pck_ext *out, const char **why, const char *reason)
{
    memset(out, 0, sizeof *out);
    *why = reason;
    return -1;
}

/* Every entry point starts here: *why = "", out cleared (or -1 when there is no out). */
static int begin(struct dcap_pck_ext *out, const char **why)
{
    *why = "";
    if (!out) {
        *why = "PCK SGX extension: no output";
        return -1;
    }
    memset(out, 0, sizeof *out);
    return 0;
}

/* One TLV: single-byte tag (no high-tag-number form), definite minimal length of at most two
 * length octets (the whole value is bounded by PCK_EXT_MAX_LEN). */
static int der_next(struct bytes_reader *r, struct tlv *t)
{
    uint8_t l0;
    if (!reader_u8(r, &t->tag) || (t->tag & 0x1f) == 0x1f || !reader_u8(r, &l0))
        return -1;
    size_t len;
    if (l0 < 0x80) {
        len = l0;
    } else {
        size_t nb = l0 & 0x7fu;
        if (nb == 0 || nb > 2) /* indefinite (BER), or longer than the bound */
            return -1;
        len = 0;
        for (size_t i = 0; i < nb; i++) {
            uint8_t b;
            if (!reader_u8(r, &b) || (i == 0 && b == 0))
                return -1; /* non-minimal: leading zero length octet */
            len = (len << 8) | b;
        }
        if (len < 0x80)
            return -1; /* non-minimal: fits the short form */
    }
    return reader_bytes(r, len, &t->body) ? (t->len = len, 0) : -1;
}

/* A DER INTEGER/ENUMERATED body: minimal two's complement, non-negative, <= max. */
static int der_uint(const struct tlv *t, uint8_t tag, uint32_t max, uint32_t *out)
{
    if (t->tag != tag || t->len == 0 || t->len > 3)
        return -1;
    if (t->body[0] & 0x80)
        return -1; /* negative */
    if (t->len > 1 && t->body[0] == 0 && !(t->body[1] & 0x80))
        return -1; /* non-minimal: redundant leading zero */
    uint32_t v = 0;
    for (size_t i = 0; i < t->len; i++)
        v = (v << 8) | t->body[i];
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

static int der_octets(const struct tlv *t, size_t want, uint8_t *out)
{
    if (t->tag != TAG_OCTET || t->len != want)
        return -1;
    memcpy(out, t->body, want);
    return 0;
}

/* DER BOOLEAN: exactly one octet, 0x00 or 0xFF (X.690 11.1). */
static int der_bool(const struct tlv *t, bool *out)
{
    if (t->tag != TAG_BOOLEAN || t->len != 1 || (t->body[0] != 0x00 && t->body[0] != 0xff))
        return -1;
    *out = t->body[0] == 0xff;
    return 0;
}

/* Well-formed OID content octets (X.690 8.19): non-empty, no subidentifier starting with 0x80,
 * the last octet ends a subidentifier. */
static bool oid_well_formed(const struct tlv *t)
{
    if (t->tag != TAG_OID || t->len == 0 || (t->body[t->len - 1] & 0x80))
        return false;
    bool start = true;
    for (size_t i = 0; i < t->len; i++) {
        if (start && t->body[i] == 0x80)
            return false;
        start = !(t->body[i] & 0x80);
    }
    return true;
}

/* Is the OID exactly prefix.N, prefix = ARC followed by the extra octets, with N one
 * subidentifier? 0 with *n = N (saturated at 0xffffffff), -1 otherwise. */
static int oid_child(const struct tlv *t, const uint8_t *extra, size_t extra_len, uint32_t *n)
{
    size_t plen = ARC_LEN + extra_len;
    if (!oid_well_formed(t) || t->len <= plen || memcmp(t->body, ARC, ARC_LEN) != 0 ||
        (extra_len && memcmp(t->body + ARC_LEN, extra, extra_len) != 0))
        return -1;
    uint64_t v = 0;
    for (size_t i = plen; i < t->len; i++) {
        if (i + 1 < t->len && !(t->body[i] & 0x80))
            return -1; /* more than one subidentifier: a grandchild, not a child */
        v = (v << 7) | (t->body[i] & 0x7fu);
        if (v > 0xffffffffu)
            v = 0xffffffffu;
    }
    *n = (uint32_t)v;
    return 0;
}

/* An unknown OID under the arc: remember it, reject a second occurrence or too many. */
static int unknown_add(struct unknown_set *u, const struct tlv *oid)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->oid[i].len == oid->len && memcmp(u->oid[i].body, oid->body, oid->len) == 0)
            return -1;
    if (u->n >= PCK_MAX_UNKNOWN)
        return -1;
    u->oid[u->n++] = *oid;
    return 0;
}

/* One SEQUENCE { OID, value } element of a SEQUENCE OF, filling the whole element. */
static int der_pair(struct bytes_reader *r, struct tlv *oid, struct tlv *val)
{
    struct tlv el;
    struct bytes_reader in;
    if (der_next(r, &el) != 0 || el.tag != TAG_SEQUENCE)
        return -1;
    reader_init(&in, el.body, el.len);
    if (der_next(&in, oid) != 0 || oid->tag != TAG_OID || der_next(&in, val) != 0 ||
        !reader_done(&in))
        return -1;
    return 0;
}

/* The .2 TCB and .7 Configuration values: SEQUENCE OF SEQUENCE { OID .sub.N, value }, and
 * what to say when the value, a member, or a member's OID is not that. */
struct member_seq {
    uint8_t sub;
    const char *not_seq, *malformed, *bad_oid;
};

static int seq_open(const struct member_seq *s, const struct tlv *v, struct bytes_reader *r,
                    const char **why)
{
    if (v->tag != TAG_SEQUENCE) {
        *why = s->not_seq;
        return -1;
    }
    reader_init(r, v->body, v->len);
    return 0;
}

/* The next member; *n = N of its OID .sub.N. */
static int seq_next(const struct member_seq *s, struct bytes_reader *r, struct tlv *oid,
                    struct tlv *val, uint32_t *n, const char **why)
{
    if (der_pair(r, oid, val) != 0) {
        *why = s->malformed;
        return -1;
    }
    if (oid_child(oid, &s->sub, 1, n) != 0) {
        *why = s->bad_oid;
        return -1;
    }
    return 0;
}

/* .2 TCB: exactly the 18 components .2.1 .. .2.18, each once, in any order. */
static int parse_tcb(const struct tlv *v, struct dcap_pck_ext *out, const char **why)
{
    static const struct member_seq TCB = {
        SUB_TCB, "PCK SGX extension: TCB (.2) is not a SEQUENCE",
        "PCK SGX extension: malformed TCB (.2) component",
        "PCK SGX extension: TCB (.2) holds an OID that is not .2.1-.2.18"};
    struct bytes_reader r;
    if (seq_open(&TCB, v, &r, why) != 0)
        return -1;
    uint32_t seen = 0;
    while (reader_remaining(&r) > 0) {
        struct tlv oid, val;
        uint32_t n = 0;
        if (seq_next(&TCB, &r, &oid, &val, &n, why) != 0)
            return -1;
        if (n < 1 || n > 18) { /* 1.2.840.113741.1.13.1.2.N, N in 1..18 */
            *why = TCB.bad_oid;
            return -1;
        }
        if (seen & (1u << n)) {
            *why = "PCK SGX extension: duplicate TCB component";
            return -1;
        }
        seen |= 1u << n;
        uint32_t x = 0;
        if (n <= 16) { /* .2.1-.2.16: SGX TCB component SVN, INTEGER 0..255 */
            if (der_uint(&val, TAG_INTEGER, 255, &x) != 0) {
                *why = "PCK SGX extension: a TCB component SVN is not a DER INTEGER 0..255";
                return -1;
            }
            out->comp_svn[n - 1] = (uint8_t)x;
        } else if (n == 17) { /* .2.17 PCESVN, INTEGER 0..65535 */
            if (der_uint(&val, TAG_INTEGER, 65535, &x) != 0) {
                *why = "PCK SGX extension: PCESVN (.2.17) is not a DER INTEGER 0..65535";
                return -1;
            }
            out->pcesvn = (uint16_t)x;
        } else if (der_octets(&val, 16, out->cpusvn) != 0) { /* .2.18 CPUSVN */
            *why = "PCK SGX extension: CPUSVN (.2.18) is not a 16-byte OCTET STRING";
            return -1;
        }
    }
    if (seen != 0x7fffeu) { /* bits 1..18 */
        *why = "PCK SGX extension: TCB (.2) lacks a component";
        return -1;
    }
    return 0;
}

/* .7 Configuration: .7.1 dynamicPlatform, .7.2 cachedKeys, .7.3 smtEnabled, each optional. */
static int parse_config(const struct tlv *v, struct dcap_pck_ext *out, struct unknown_set *u,
                        const char **why)
{
    static const struct member_seq CONFIG = {
        SUB_CONFIG, "PCK SGX extension: Configuration (.7) is not a SEQUENCE",
        "PCK SGX extension: malformed Configuration (.7) member",
        "PCK SGX extension: Configuration (.7) holds an OID that is not .7.N"};
    struct bytes_reader r;
    if (seq_open(&CONFIG, v, &r, why) != 0)
        return -1;
    unsigned seen = 0;
    while (reader_remaining(&r) > 0) {
        struct tlv oid, val;
        uint32_t n = 0;
        if (seq_next(&CONFIG, &r, &oid, &val, &n, why) != 0)
            return -1;
        if (n < 1 || n > 3) { /* unknown .7.x: forward compatibility, see the top comment */
            if (unknown_add(u, &oid) != 0) {
                *why = "PCK SGX extension: duplicate or too many unknown Configuration members";
                return -1;
            }
            continue;
        }
        if (seen & (1u << n)) {
            *why = "PCK SGX extension: duplicate Configuration member";
            return -1;
        }
        seen |= 1u << n;
        bool b = false;
        if (der_bool(&val, &b) != 0) {
            *why = "PCK SGX extension: a Configuration member is not a DER BOOLEAN";
            return -1;
        }
        if (n == 1)
            out->dynamic_platform = b;
        else if (n == 2)
            out->cached_keys = b;
        else
            out->smt_enabled = b;
    }
    out->has_configuration = true;
    return 0;
}

int dcap_pck_ext_parse_der(const uint8_t *der, size_t len, struct dcap_pck_ext *out,
                           const char **why)
{
    static const char *const missing[] = {
        [SUB_PPID] = "PCK SGX extension: PPID (.1) missing",
        [SUB_TCB] = "PCK SGX extension: TCB (.2) missing",
        [SUB_PCEID] = "PCK SGX extension: PCE-ID (.3) missing",
        [SUB_FMSPC] = "PCK SGX extension: FMSPC (.4) missing",
        [SUB_TYPE] = "PCK SGX extension: SGX type (.5) missing",
    };
    const char *dummy;
    if (!why)
        why = &dummy;
    if (begin(out, why) != 0)
        return -1;
    if (!der || len == 0 || len > PCK_EXT_MAX_LEN)
        return fail(out, why, "PCK SGX extension: empty or larger than 8 KiB");

    struct bytes_reader top, r;
    struct tlv seq;
    reader_init(&top, der, len);
    if (der_next(&top, &seq) != 0 || seq.tag != TAG_SEQUENCE || !reader_done(&top))
        return fail(out, why, "PCK SGX extension: not exactly one DER SEQUENCE");
    reader_init(&r, seq.body, seq.len);

    struct unknown_set unknown = {.n = 0};
    unsigned seen = 0;
    while (reader_remaining(&r) > 0) {
        struct tlv oid, val;
        if (der_pair(&r, &oid, &val) != 0)
            return fail(out, why, "PCK SGX extension: malformed element (not SEQUENCE "
                                  "{OID, value})");
        uint32_t n = 0;
        if (oid_child(&oid, NULL, 0, &n) != 0)
            return fail(out, why, "PCK SGX extension: element OID is not "
                                  "1.2.840.113741.1.13.1.N");
        if (n < SUB_PPID || n > SUB_CONFIG) {
            /* Unknown element under the arc: accepted for forward compatibility (see top). */
            if (unknown_add(&unknown, &oid) != 0)
                return fail(out, why, "PCK SGX extension: duplicate or too many unknown "
                                      "elements");
            continue;
        }
        if (seen & (1u << n))
            return fail(out, why, "PCK SGX extension: duplicate element");
        seen |= 1u << n;
        uint32_t x = 0;
        switch (n) {
        case SUB_PPID:
            if (der_octets(&val, 16, out->ppid) != 0)
                return fail(out, why, "PCK SGX extension: PPID (.1) is not a 16-byte OCTET "
                                      "STRING");
            break;
        case SUB_TCB:
            if (parse_tcb(&val, out, why) != 0)
                return fail(out, why, *why);
            break;
        case SUB_PCEID:
            if (der_octets(&val, 2, out->pce_id) != 0)
                return fail(out, why, "PCK SGX extension: PCE-ID (.3) is not a 2-byte OCTET "
                                      "STRING");
            break;
        case SUB_FMSPC:
            if (der_octets(&val, 6, out->fmspc) != 0)
                return fail(out, why, "PCK SGX extension: FMSPC (.4) is not a 6-byte OCTET "
                                      "STRING");
            break;
        case SUB_TYPE:
            /* The profile defines 0 Standard, 1 Scalable, 2 Scalable with integrity; an
             * unknown platform type is rejected rather than guessed at. */
            if (der_uint(&val, TAG_ENUM, 2, &x) != 0)
                return fail(out, why, "PCK SGX extension: SGX type (.5) is not a DER "
                                      "ENUMERATED 0..2");
            out->sgx_type = (int)x;
            break;
        case SUB_PIID:
            if (der_octets(&val, 16, out->platform_instance_id) != 0)
                return fail(out, why, "PCK SGX extension: PlatformInstanceID (.6) is not a "
                                      "16-byte OCTET STRING");
            out->has_platform_instance_id = true;
            break;
        default: /* SUB_CONFIG */
            if (parse_config(&val, out, &unknown, why) != 0)
                return fail(out, why, *why);
            break;
        }
    }
    for (unsigned i = SUB_PPID; i <= SUB_TYPE; i++)
        if (!(seen & (1u << i)))
            return fail(out, why, missing[i]);
    *why = "";
    return 0;
}

int dcap_pck_ext_from_cert(X509 *leaf, struct dcap_pck_ext *out, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    if (begin(out, why) != 0)
        return -1;
    if (!leaf)
        return fail(out, why, "PCK SGX extension: no certificate");
    ASN1_OBJECT *obj = OBJ_txt2obj(PCK_EXT_OID, 1);
    if (!obj) {
        ERR_clear_error();
        return fail(out, why, "PCK SGX extension: internal error (OID)");
    }
    int idx = X509_get_ext_by_OBJ(leaf, obj, -1);
    int dup = idx >= 0 ? X509_get_ext_by_OBJ(leaf, obj, idx) : -1;
    ASN1_OBJECT_free(obj);
    if (idx < 0) {
        ERR_clear_error();
        return fail(out, why, "PCK SGX extension (1.2.840.113741.1.13.1) not in the "
                              "certificate");
    }
    if (dup >= 0)
        return fail(out, why, "PCK SGX extension (1.2.840.113741.1.13.1) appears twice");
    X509_EXTENSION *ext = X509_get_ext(leaf, idx);
    ASN1_OCTET_STRING *os = ext ? X509_EXTENSION_get_data(ext) : NULL;
    const uint8_t *p = os ? ASN1_STRING_get0_data(os) : NULL;
    int n = os ? ASN1_STRING_length(os) : -1;
    if (!p || n <= 0) {
        ERR_clear_error();
        return fail(out, why, "PCK SGX extension has no value");
    }
    return dcap_pck_ext_parse_der(p, (size_t)n, out, why);
}
