/*
 * dcap_collateral.c - Intel DCAP collateral parsers (dcap_collateral.h): the signed-document
 * split, TCB Info (v2 SGX, v3 SGX and TDX) and Enclave Identity v2. The PCK extension
 * parsers live in dcap_pck.c.
 *
 * References: Intel "PCS API v4" (Get TCB Info, Get Quoting Enclave Identity: response body
 * and the tcbInfo / enclaveIdentity JSON schemas), research evidence.md A2 and C.8/C.9.
 *
 * Split: a small bounded tokenizer (never jansson) finds the exact bytes of the signed value;
 * jansson then parses the whole body and the span on their own, and both views must agree,
 * so the signed bytes and the parsed data can never disagree.
 *
 * Parse (jansson, JSON_REJECT_DUPLICATES): strict types (integers are JSON integers, never
 * reals or strings; hex is exact length, either case), bounds from the header. Unknown extra
 * members are accepted at every level - Intel adds fields over time (e.g. "category"/"type"
 * in TCB components, tdxModuleIdentities) and the signature covers them - but an unknown
 * tcbStatus string is always an error. Nothing here checks signatures, chains or time.
 */
#include "evidence/dcap/dcap_collateral.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "util/util.h"

#define SPLIT_MAX_DEPTH 32 /* nesting bound of the split tokenizer (real documents: 6) */
#define SIG_HEX_LEN 128    /* 64-byte r || s */

/* ---- status names ---- */

static const struct {
    enum dcap_tcb_status s;
    const char *name;
} STATUS_NAMES[] = {
    {DCAP_TCB_UP_TO_DATE, "UpToDate"},
    {DCAP_TCB_SW_HARDENING_NEEDED, "SWHardeningNeeded"},
    {DCAP_TCB_CONFIGURATION_NEEDED, "ConfigurationNeeded"},
    {DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, "ConfigurationAndSWHardeningNeeded"},
    {DCAP_TCB_OUT_OF_DATE, "OutOfDate"},
    {DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, "OutOfDateConfigurationNeeded"},
    {DCAP_TCB_REVOKED, "Revoked"},
    {DCAP_TCB_TD_RELAUNCH_ADVISED, "TDRelaunchAdvised"},
    {DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED, "TDRelaunchAdvisedConfigurationNeeded"},
};
#define N_STATUS_NAMES (sizeof STATUS_NAMES / sizeof STATUS_NAMES[0])

const char *dcap_tcb_status_name(enum dcap_tcb_status s)
{
    if (s == DCAP_TCB_NOT_SUPPORTED)
        return "TCBNotSupported";
    for (size_t i = 0; i < N_STATUS_NAMES; i++)
        if (STATUS_NAMES[i].s == s)
            return STATUS_NAMES[i].name;
    return "Unknown";
}

enum dcap_tcb_status dcap_tcb_status_from_name(const char *s)
{
    if (!s)
        return DCAP_TCB_UNKNOWN;
    /* Exact, case-sensitive match: PCS API v4 defines these strings only. */
    for (size_t i = 0; i < N_STATUS_NAMES; i++)
        if (strcmp(STATUS_NAMES[i].name, s) == 0)
            return STATUS_NAMES[i].s;
    return DCAP_TCB_UNKNOWN;
}

static bool status_is_td_relaunch(enum dcap_tcb_status s)
{
    return s == DCAP_TCB_TD_RELAUNCH_ADVISED ||
           s == DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

/* ---- signed document split ---- */

/* Bounded cursor over the body: every access checks i < n (no pointer arithmetic on input). */
struct tok {
    const uint8_t *p;
    size_t n;
    size_t i;
};

static void skip_ws(struct tok *t)
{
    /* RFC 8259 section 2: insignificant whitespace is space, tab, LF, CR only. */
    while (t->i < t->n &&
           (t->p[t->i] == ' ' || t->p[t->i] == '\t' || t->p[t->i] == '\n' || t->p[t->i] == '\r'))
        t->i++;
}

static bool take(struct tok *t, uint8_t c)
{
    if (t->i >= t->n || t->p[t->i] != c)
        return false;
    t->i++;
    return true;
}

/* At '"': skip the string, escape-aware; [*s, *e) is its raw content. */
static bool scan_string(struct tok *t, size_t *s, size_t *e)
{
    if (!take(t, '"'))
        return false;
    *s = t->i;
    while (t->i < t->n) {
        uint8_t c = t->p[t->i];
        if (c == '"') {
            *e = t->i++;
            return true;
        }
        if (c < 0x20) /* RFC 8259: control characters must be escaped */
            return false;
        if (c == '\\' && ++t->i >= t->n)
            return false;
        t->i++;
    }
    return false;
}

/* At '{': skip to the matching '}', string-aware, brackets matched by kind, depth bounded. */
static bool scan_object(struct tok *t)
{
    uint8_t want[SPLIT_MAX_DEPTH];
    size_t depth = 0;
    if (t->i >= t->n || t->p[t->i] != '{')
        return false;
    while (t->i < t->n) {
        uint8_t c = t->p[t->i];
        if (c == '"') {
            size_t s, e;
            if (!scan_string(t, &s, &e))
                return false;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == SPLIT_MAX_DEPTH)
                return false;
            want[depth++] = c == '{' ? '}' : ']';
        } else if (c == '}' || c == ']') {
            if (depth == 0 || want[depth - 1] != c)
                return false;
            if (--depth == 0) {
                t->i++;
                return true;
            }
        }
        t->i++;
    }
    return false;
}

static bool raw_equals(const struct tok *t, size_t s, size_t e, const char *lit)
{
    size_t n = strlen(lit);
    return e - s == n && memcmp(t->p + s, lit, n) == 0;
}

/* jansson's view of the body must be the tokenizer's: exactly {key: object, signature:
 * the same 128 characters}, and the span alone must parse to the same object. */
static int split_cross_check(const uint8_t *doc, size_t len, const char *key, size_t vs,
                             size_t vlen, size_t ss, const char **why)
{
    json_error_t jerr;
    int rc = -1;
    json_t *span = NULL;
    json_t *root = json_loadb((const char *)doc, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root) || json_object_size(root) != 2) {
        parse_fail(why, "collateral document is not valid JSON with exactly two members");
        goto out;
    }
    json_t *v = json_object_get(root, key);
    json_t *s = json_object_get(root, "signature");
    if (!json_is_object(v) || !json_is_string(s) || json_string_length(s) != SIG_HEX_LEN ||
        memcmp(json_string_value(s), doc + ss, SIG_HEX_LEN) != 0) {
        parse_fail(why, "collateral document: JSON parse disagrees with the split");
        goto out;
    }
    span = json_loadb((const char *)doc + vs, vlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!span || !json_equal(span, v)) {
        parse_fail(why, "collateral document: signed span does not parse to the signed value");
        goto out;
    }
    rc = 0;
out:
    json_decref(span);
    json_decref(root);
    return rc;
}

int dcap_signed_split(const uint8_t *doc, size_t len, const char *key, const uint8_t **val,
                      size_t *val_len, uint8_t sig[64], const char **why)
{
    if (!doc || !key || !val || !val_len || !sig)
        return parse_fail(why, "null argument");
    *val = NULL;
    *val_len = 0;
    if (len > DCAP_COLLATERAL_MAX_DOC)
        return parse_fail(why, "collateral document too large");
    if (!*key || strcmp(key, "signature") == 0 || strpbrk(key, "\"\\"))
        return parse_fail(why, "invalid member name");

    struct tok t = {doc, len, 0};
    bool have_val = false, have_sig = false;
    size_t vs = 0, ve = 0, ss = 0;
    uint8_t tmp_sig[64];

    /* PCS API v4 body: {"<key>":{...},"signature":"<hex>"}, exactly these two members. */
    skip_ws(&t);
    if (!take(&t, '{'))
        return parse_fail(why, "collateral document is not a JSON object");
    for (;;) {
        size_t ks, ke;
        skip_ws(&t);
        if (!scan_string(&t, &ks, &ke))
            return parse_fail(why, "collateral document: malformed member name");
        skip_ws(&t);
        if (!take(&t, ':'))
            return parse_fail(why, "collateral document: expected ':'");
        skip_ws(&t);
        if (raw_equals(&t, ks, ke, key)) {
            if (have_val)
                return parse_fail(why, "collateral document: duplicate signed member");
            if (t.i >= t.n || t.p[t.i] != '{')
                return parse_fail(why, "collateral document: signed value is not an object");
            vs = t.i;
            if (!scan_object(&t))
                return parse_fail(why, "collateral document: malformed or too deeply nested value");
            ve = t.i;
            have_val = true;
        } else if (raw_equals(&t, ks, ke, "signature")) {
            size_t s, e;
            if (have_sig)
                return parse_fail(why, "collateral document: duplicate signature member");
            if (!scan_string(&t, &s, &e))
                return parse_fail(why, "collateral document: signature is not a string");
            /* PCS API v4: the signature is hex of the 64-byte ECDSA P-256 r || s. */
            if (e - s != SIG_HEX_LEN)
                return parse_fail(why, "collateral document: signature is not 128 hex digits");
            char hex[SIG_HEX_LEN + 1];
            size_t n = 0;
            memcpy(hex, doc + s, SIG_HEX_LEN);
            hex[SIG_HEX_LEN] = '\0';
            if (hex_decode(hex, tmp_sig, sizeof tmp_sig, &n) != 0 || n != sizeof tmp_sig)
                return parse_fail(why, "collateral document: signature is not 128 hex digits");
            ss = s;
            have_sig = true;
        } else {
            return parse_fail(why, "collateral document: unexpected member");
        }
        skip_ws(&t);
        if (take(&t, ','))
            continue;
        if (take(&t, '}'))
            break;
        return parse_fail(why, "collateral document: expected ',' or '}'");
    }
    skip_ws(&t);
    if (t.i != t.n)
        return parse_fail(why, "collateral document: trailing data");
    if (!have_val)
        return parse_fail(why, "collateral document: signed member missing");
    if (!have_sig)
        return parse_fail(why, "collateral document: signature missing");
    if (split_cross_check(doc, len, key, vs, ve - vs, ss, why) != 0)
        return -1;
    *val = doc + vs;
    *val_len = ve - vs;
    memcpy(sig, tmp_sig, sizeof tmp_sig);
    return 0;
}

/* ---- typed field helpers (jansson) ---- */

static bool get_uint(const json_t *o, const char *k, uint64_t max, uint64_t *v)
{
    const json_t *x = json_object_get(o, k);
    if (!json_is_integer(x)) /* a JSON integer: never a real, string or bool */
        return false;
    json_int_t n = json_integer_value(x);
    if (n < 0 || (uint64_t)n > max)
        return false;
    *v = (uint64_t)n;
    return true;
}

/* Exactly 2n hex digits (either case). */
static bool get_hex(const json_t *o, const char *k, uint8_t *out, size_t n)
{
    const json_t *x = json_object_get(o, k);
    size_t got = 0;
    if (!json_is_string(x) || json_string_length(x) != 2 * n)
        return false;
    return hex_decode(json_string_value(x), out, n, &got) == 0 && got == n;
}

/* PCS API v4 dates: RFC 3339 UTC with seconds precision, exactly "YYYY-MM-DDThh:mm:ssZ". */
static bool get_date(const json_t *o, const char *k, int64_t *out)
{
    static const char SHAPE[] = "dddd-dd-ddTdd:dd:ddZ";
    const json_t *x = json_object_get(o, k);
    if (!json_is_string(x) || json_string_length(x) != sizeof SHAPE - 1)
        return false;
    const char *s = json_string_value(x);
    for (size_t i = 0; i < sizeof SHAPE - 1; i++) {
        if (SHAPE[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != SHAPE[i])
            return false;
    }
    time_t t;
    if (rfc3339_parse(s, &t) != 0) /* calendar validation (no 2023-02-30) */
        return false;
    *out = (int64_t)t;
    return true;
}

/* tcbStatus: a PCS API v4 string; unknown strings are an error, never "some status". TD
 * relaunch statuses exist only in TDX TCB Info (TD 1.5), never in SGX TCB Info or QE
 * identities. */
static bool get_status(const json_t *o, bool allow_td, enum dcap_tcb_status *out)
{
    const json_t *x = json_object_get(o, "tcbStatus");
    if (!json_is_string(x))
        return false;
    enum dcap_tcb_status s = dcap_tcb_status_from_name(json_string_value(x));
    if (s == DCAP_TCB_UNKNOWN || (!allow_td && status_is_td_relaunch(s)))
        return false;
    *out = s;
    return true;
}

/* advisoryIDs: optional array of printable-ASCII strings ("INTEL-SA-00615"), bounded. */
static bool get_advisories(const json_t *o, struct dcap_advisories *a)
{
    const json_t *x = json_object_get(o, "advisoryIDs");
    a->n = 0;
    if (!x)
        return true;
    if (!json_is_array(x) || json_array_size(x) > DCAP_MAX_ADVISORIES)
        return false;
    for (size_t i = 0; i < json_array_size(x); i++) {
        const json_t *e = json_array_get(x, i);
        if (!json_is_string(e))
            return false;
        size_t n = json_string_length(e);
        const char *s = json_string_value(e);
        if (n == 0 || n >= DCAP_ADVISORY_LEN)
            return false;
        for (size_t j = 0; j < n; j++)
            if ((unsigned char)s[j] < 0x20 || (unsigned char)s[j] > 0x7e)
                return false;
        memcpy(a->id[i], s, n);
        a->id[i][n] = '\0';
    }
    a->n = json_array_size(x);
    return true;
}

/* 8 bytes of hex, bytes[0] most significant (dcap_collateral.h). */
static bool get_hex_u64be(const json_t *o, const char *k, uint64_t *v)
{
    uint8_t b[8];
    if (!get_hex(o, k, b, sizeof b))
        return false;
    *v = 0;
    for (size_t i = 0; i < sizeof b; i++)
        *v = (*v << 8) | b[i];
    return true;
}

/* 4 bytes of hex in report byte order, as the little-endian u32 MISCSELECT of the SGX
 * report (dcap_quote.c reads misc_select with reader_u32le), so the two compare directly. */
static bool get_hex_u32le(const json_t *o, const char *k, uint32_t *v)
{
    uint8_t b[4];
    if (!get_hex(o, k, b, sizeof b))
        return false;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return true;
}

/* A short identifier copied into a fixed buffer: 1..cap-1 printable ASCII characters. */
static bool get_id(const json_t *o, const char *k, char *out, size_t cap)
{
    const json_t *x = json_object_get(o, k);
    if (!json_is_string(x))
        return false;
    size_t n = json_string_length(x);
    const char *s = json_string_value(x);
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* A signed value (TCB Info or Enclave Identity): a bounded JSON object handed to parse,
 * whose message (NULL on success) becomes *why. 0 or -1; the caller clears its output. */
static int parse_document(const uint8_t *val, size_t len, const char *too_large,
                          const char *not_object,
                          const char *(*parse)(const json_t *root, void *out), void *out,
                          const char **why)
{
    if (!val)
        return parse_fail(why, "null argument");
    if (len > DCAP_COLLATERAL_MAX_DOC)
        return parse_fail(why, too_large);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)val, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return parse_fail(why, not_object);
    }
    const char *err = parse(root, out);
    json_decref(root);
    return err ? parse_fail(why, err) : 0;
}

/* One {tcb: {isvsvn}, tcbDate, tcbStatus, advisoryIDs?} level, as the TDX module identities
 * and the Enclave Identity list them: 0, or which member is missing or malformed. */
enum { ISV_LEVEL_OK, ISV_LEVEL_SVN, ISV_LEVEL_DATE, ISV_LEVEL_STATUS, ISV_LEVEL_ADVISORIES };

static int parse_isv_level(const json_t *jl, uint64_t max_svn, bool allow_td, uint64_t *isvsvn,
                           int64_t *date, enum dcap_tcb_status *status,
                           struct dcap_advisories *advisories)
{
    const json_t *tcb = json_is_object(jl) ? json_object_get(jl, "tcb") : NULL;
    if (!json_is_object(tcb) || !get_uint(tcb, "isvsvn", max_svn, isvsvn))
        return ISV_LEVEL_SVN;
    if (!get_date(jl, "tcbDate", date))
        return ISV_LEVEL_DATE;
    if (!get_status(jl, allow_td, status))
        return ISV_LEVEL_STATUS;
    if (!get_advisories(jl, advisories))
        return ISV_LEVEL_ADVISORIES;
    return ISV_LEVEL_OK;
}

/* ---- TCB Info ---- */

/* PCS API v4, TCB Info v3: sgxtcbcomponents / tdxtcbcomponents are arrays of exactly 16
 * objects {svn, category?, type?}; svn 0..255. */
static const char *parse_components(const json_t *a, uint8_t out[16], bool sgx)
{
    if (!json_is_array(a) || json_array_size(a) != 16)
        return sgx ? "tcbInfo: sgxtcbcomponents is not an array of 16"
                   : "tcbInfo: tdxtcbcomponents is not an array of 16";
    for (size_t i = 0; i < 16; i++) {
        const json_t *c = json_array_get(a, i);
        uint64_t svn;
        if (!json_is_object(c) || !get_uint(c, "svn", 255, &svn))
            return "tcbInfo: TCB component svn missing or not 0..255";
        const json_t *cat = json_object_get(c, "category"), *typ = json_object_get(c, "type");
        if ((cat && !json_is_string(cat)) || (typ && !json_is_string(typ)))
            return "tcbInfo: TCB component category/type is not a string";
        out[i] = (uint8_t)svn;
    }
    return NULL;
}

static const char *parse_tcb_level(const json_t *jl, unsigned version, bool tdx,
                                   struct dcap_tcb_level *l)
{
    const json_t *tcb = json_is_object(jl) ? json_object_get(jl, "tcb") : NULL;
    uint64_t v;
    const char *err;
    if (!json_is_object(tcb))
        return "tcbInfo: tcbLevels[].tcb missing or not an object";
    if (version == 3) {
        if ((err = parse_components(json_object_get(tcb, "sgxtcbcomponents"), l->sgx_comp,
                                    true)))
            return err;
        const json_t *tc = json_object_get(tcb, "tdxtcbcomponents");
        if (tdx) {
            /* PCS API v4, TDX TCB Info v3: every level carries tdxtcbcomponents. */
            if (!tc)
                return "tcbInfo: TDX level without tdxtcbcomponents";
            if ((err = parse_components(tc, l->tdx_comp, false)))
                return err;
            l->has_tdx_comp = true;
        } else if (tc) {
            return "tcbInfo: tdxtcbcomponents in an SGX TCB Info";
        }
    } else {
        /* PCS API v3, TCB Info v2: sgxtcbcomp01svn .. sgxtcbcomp16svn. */
        for (int i = 0; i < 16; i++) {
            char name[24];
            snprintf(name, sizeof name, "sgxtcbcomp%02dsvn", i + 1);
            if (!get_uint(tcb, name, 255, &v))
                return "tcbInfo: v2 sgxtcbcompNNsvn missing or not 0..255";
            l->sgx_comp[i] = (uint8_t)v;
        }
    }
    if (!get_uint(tcb, "pcesvn", 65535, &v))
        return "tcbInfo: pcesvn missing or not 0..65535";
    l->pcesvn = (uint16_t)v;
    if (!get_date(jl, "tcbDate", &l->tcb_date))
        return "tcbInfo: tcbLevels[].tcbDate missing or not YYYY-MM-DDThh:mm:ssZ";
    if (!get_status(jl, tdx, &l->status))
        return "tcbInfo: tcbLevels[].tcbStatus missing or unknown";
    if (!get_advisories(jl, &l->advisories))
        return "tcbInfo: advisoryIDs malformed or too many";
    return NULL;
}

/* tdxModuleIdentities[] (PCS API v4, TDX TCB Info v3). */
static const char *parse_module_identity(const json_t *jm, struct dcap_module_identity *m)
{
    if (!json_is_object(jm))
        return "tcbInfo: tdxModuleIdentities[] is not an object";
    if (!get_id(jm, "id", m->id, sizeof m->id))
        return "tcbInfo: tdxModuleIdentities[].id missing or malformed";
    if (!get_hex(jm, "mrsigner", m->mrsigner, sizeof m->mrsigner))
        return "tcbInfo: tdxModuleIdentities[].mrsigner is not 96 hex digits";
    if (!get_hex_u64be(jm, "attributes", &m->attributes) ||
        !get_hex_u64be(jm, "attributesMask", &m->attributes_mask))
        return "tcbInfo: tdxModuleIdentities[].attributes(Mask) is not 16 hex digits";
    const json_t *lv = json_object_get(jm, "tcbLevels");
    if (!json_is_array(lv) || json_array_size(lv) == 0 ||
        json_array_size(lv) > DCAP_MAX_MODULE_LEVELS)
        return "tcbInfo: tdxModuleIdentities[].tcbLevels missing, empty or too many";
    static const char *const LEVEL_ERR[] = {
        [ISV_LEVEL_SVN] = "tcbInfo: module tcbLevels[].tcb.isvsvn missing or not 0..255",
        [ISV_LEVEL_DATE] = "tcbInfo: module tcbLevels[].tcbDate missing or malformed",
        [ISV_LEVEL_STATUS] = "tcbInfo: module tcbLevels[].tcbStatus missing or unknown",
        [ISV_LEVEL_ADVISORIES] = "tcbInfo: module advisoryIDs malformed or too many",
    };
    for (size_t i = 0; i < json_array_size(lv); i++) {
        struct dcap_module_level *l = &m->levels[i];
        uint64_t v;
        int bad = parse_isv_level(json_array_get(lv, i), 255, true, &v, &l->tcb_date,
                                  &l->status, &l->advisories);
        if (bad)
            return LEVEL_ERR[bad];
        l->isvsvn = (uint8_t)v;
    }
    m->n_levels = json_array_size(lv);
    return NULL;
}

static const char *parse_tcb_info(const json_t *root, struct dcap_tcb_info *out)
{
    uint64_t v;
    const char *err;

    /* PCS API v4 serves TCB Info v3; v2 (PCS API v3, SGX only) is still accepted. */
    if (!get_uint(root, "version", 3, &v) || v < 2)
        return "tcbInfo: version missing or not 2 or 3";
    out->version = (unsigned)v;
    const json_t *id = json_object_get(root, "id");
    if (out->version == 3) {
        /* TCB Info v3: id is "SGX" or "TDX" (required). */
        if (!json_is_string(id))
            return "tcbInfo: v3 id missing";
        if (strcmp(json_string_value(id), "TDX") == 0)
            out->tdx = true;
        else if (strcmp(json_string_value(id), "SGX") != 0)
            return "tcbInfo: id is neither SGX nor TDX";
    } else if (id) {
        /* TCB Info v2 has no id and is SGX: a v2 document claiming TDX is a type confusion. */
        if (json_is_string(id) && strcmp(json_string_value(id), "TDX") == 0)
            return "tcbInfo: TDX TCB Info requires version 3";
        if (!json_is_string(id) || strcmp(json_string_value(id), "SGX") != 0)
            return "tcbInfo: v2 id is not SGX";
    }
    if (!get_date(root, "issueDate", &out->issue_date))
        return "tcbInfo: issueDate missing or not YYYY-MM-DDThh:mm:ssZ";
    if (!get_date(root, "nextUpdate", &out->next_update))
        return "tcbInfo: nextUpdate missing or not YYYY-MM-DDThh:mm:ssZ";
    if (!get_hex(root, "fmspc", out->fmspc, sizeof out->fmspc))
        return "tcbInfo: fmspc is not 12 hex digits";
    if (!get_hex(root, "pceId", out->pce_id, sizeof out->pce_id))
        return "tcbInfo: pceId is not 4 hex digits";
    /* tcbType 0 is the only defined TCB level composition; another type would need a
     * comparison rule this library does not know, so it is refused rather than guessed. */
    if (!get_uint(root, "tcbType", 0, &v))
        return "tcbInfo: tcbType missing or not 0";
    out->tcb_type = 0;
    if (!get_uint(root, "tcbEvaluationDataNumber", UINT32_MAX, &v))
        return "tcbInfo: tcbEvaluationDataNumber missing or out of range";
    out->eval_num = (unsigned)v;

    const json_t *mod = json_object_get(root, "tdxModule");
    const json_t *mids = json_object_get(root, "tdxModuleIdentities");
    if (!out->tdx) {
        if (mod || mids)
            return "tcbInfo: TDX module fields in an SGX TCB Info";
    } else {
        /* TDX TCB Info v3: tdxModule {mrsigner, attributes, attributesMask} is required. */
        if (!json_is_object(mod))
            return "tcbInfo: TDX TCB Info without tdxModule";
        if (!get_hex(mod, "mrsigner", out->tdx_module_mrsigner,
                     sizeof out->tdx_module_mrsigner))
            return "tcbInfo: tdxModule.mrsigner is not 96 hex digits";
        if (!get_hex_u64be(mod, "attributes", &out->tdx_module_attributes) ||
            !get_hex_u64be(mod, "attributesMask", &out->tdx_module_attributes_mask))
            return "tcbInfo: tdxModule.attributes(Mask) is not 16 hex digits";
        out->has_tdx_module = true;
        /* tdxModuleIdentities is optional (TDX module 1.5+; absent from 2023 documents). */
        if (mids) {
            size_t n = json_is_array(mids) ? json_array_size(mids) : 0;
            if (n == 0 || n > DCAP_MAX_MODULE_IDS)
                return "tcbInfo: tdxModuleIdentities not an array of 1..16";
            out->module_ids = calloc(n, sizeof *out->module_ids);
            if (!out->module_ids)
                return "out of memory";
            for (size_t i = 0; i < n; i++) {
                if ((err = parse_module_identity(json_array_get(mids, i), &out->module_ids[i])))
                    return err;
                /* The module identity is looked up by id: two entries with one id would
                 * make the lookup order-dependent. */
                for (size_t j = 0; j < i; j++)
                    if (strcmp(out->module_ids[j].id, out->module_ids[i].id) == 0)
                        return "tcbInfo: duplicate tdxModuleIdentities id";
            }
            out->n_module_ids = n;
        }
    }

    /* tcbLevels: required, non-empty. PCS API v4 lists them newest (highest) TCB first and
     * the signature protects that order; it is kept as is (the TCB algorithm takes the first
     * level the platform meets). */
    const json_t *lv = json_object_get(root, "tcbLevels");
    size_t n = json_is_array(lv) ? json_array_size(lv) : 0;
    if (n == 0 || n > DCAP_MAX_TCB_LEVELS)
        return "tcbInfo: tcbLevels missing, empty or more than 128";
    out->levels = calloc(n, sizeof *out->levels);
    if (!out->levels)
        return "out of memory";
    for (size_t i = 0; i < n; i++)
        if ((err = parse_tcb_level(json_array_get(lv, i), out->version, out->tdx,
                                   &out->levels[i])))
            return err;
    out->n_levels = n;
    return NULL;
}

static const char *parse_tcb_info_cb(const json_t *root, void *out)
{
    return parse_tcb_info(root, out);
}

int dcap_tcb_info_parse(const uint8_t *val, size_t len, struct dcap_tcb_info *out,
                        const char **why)
{
    if (!out)
        return parse_fail(why, "null argument");
    memset(out, 0, sizeof *out);
    if (parse_document(val, len, "tcbInfo too large",
                       "tcbInfo is not a JSON object (or has duplicate keys)", parse_tcb_info_cb,
                       out, why) != 0) {
        dcap_tcb_info_free(out);
        return -1;
    }
    return 0;
}

void dcap_tcb_info_free(struct dcap_tcb_info *ti)
{
    if (!ti)
        return;
    free(ti->levels);
    free(ti->module_ids);
    memset(ti, 0, sizeof *ti);
}

/* ---- Enclave identity ---- */

static const char *parse_qe_identity(const json_t *root, struct dcap_qe_identity *out)
{
    uint64_t v;
    /* PCS API v4, Enclave Identity v2: id is "QE", "TD_QE" or "QVE". */
    const json_t *id = json_object_get(root, "id");
    const char *ids = json_is_string(id) ? json_string_value(id) : "";
    if (strcmp(ids, "QE") != 0 && strcmp(ids, "TD_QE") != 0 && strcmp(ids, "QVE") != 0)
        return "enclaveIdentity: id is not QE, TD_QE or QVE";
    memcpy(out->id, ids, strlen(ids) + 1);
    if (!get_uint(root, "version", 2, &v) || v != 2)
        return "enclaveIdentity: version is not 2";
    out->version = 2;
    if (!get_date(root, "issueDate", &out->issue_date))
        return "enclaveIdentity: issueDate missing or not YYYY-MM-DDThh:mm:ssZ";
    if (!get_date(root, "nextUpdate", &out->next_update))
        return "enclaveIdentity: nextUpdate missing or not YYYY-MM-DDThh:mm:ssZ";
    if (!get_uint(root, "tcbEvaluationDataNumber", UINT32_MAX, &v))
        return "enclaveIdentity: tcbEvaluationDataNumber missing or out of range";
    out->eval_num = (unsigned)v;
    /* miscselect(Mask): 4 bytes in report byte order, stored as the LE u32 the SGX report
     * carries; attributes(Mask): the 16 report bytes as is. */
    if (!get_hex_u32le(root, "miscselect", &out->miscselect) ||
        !get_hex_u32le(root, "miscselectMask", &out->miscselect_mask))
        return "enclaveIdentity: miscselect(Mask) is not 8 hex digits";
    if (!get_hex(root, "attributes", out->attributes, sizeof out->attributes) ||
        !get_hex(root, "attributesMask", out->attributes_mask, sizeof out->attributes_mask))
        return "enclaveIdentity: attributes(Mask) is not 32 hex digits";
    if (!get_hex(root, "mrsigner", out->mrsigner, sizeof out->mrsigner))
        return "enclaveIdentity: mrsigner is not 64 hex digits";
    if (!get_uint(root, "isvprodid", 65535, &v))
        return "enclaveIdentity: isvprodid missing or not 0..65535";
    out->isvprodid = (uint16_t)v;

    /* tcbLevels: required, non-empty, ordered by isvsvn descending (PCS API v4); kept in
     * document order. */
    const json_t *lv = json_object_get(root, "tcbLevels");
    size_t n = json_is_array(lv) ? json_array_size(lv) : 0;
    if (n == 0 || n > DCAP_MAX_QE_LEVELS)
        return "enclaveIdentity: tcbLevels missing, empty or more than 64";
    static const char *const LEVEL_ERR[] = {
        [ISV_LEVEL_SVN] = "enclaveIdentity: tcbLevels[].tcb.isvsvn missing or not 0..65535",
        [ISV_LEVEL_DATE] = "enclaveIdentity: tcbLevels[].tcbDate missing or malformed",
        [ISV_LEVEL_STATUS] = "enclaveIdentity: tcbLevels[].tcbStatus missing or unknown",
        [ISV_LEVEL_ADVISORIES] = "enclaveIdentity: advisoryIDs malformed or too many",
    };
    for (size_t i = 0; i < n; i++) {
        struct dcap_qe_level *l = &out->levels[i];
        int bad = parse_isv_level(json_array_get(lv, i), 65535, false, &v, &l->tcb_date,
                                  &l->status, &l->advisories);
        if (bad)
            return LEVEL_ERR[bad];
        l->isvsvn = (uint16_t)v;
    }
    out->n_levels = n;
    return NULL;
}

static const char *parse_qe_identity_cb(const json_t *root, void *out)
{
    return parse_qe_identity(root, out);
}

int dcap_qe_identity_parse(const uint8_t *val, size_t len, struct dcap_qe_identity *out,
                           const char **why)
{
    if (!out)
        return parse_fail(why, "null argument");
    memset(out, 0, sizeof *out);
    if (parse_document(val, len, "enclaveIdentity too large",
                       "enclaveIdentity is not a JSON object (or has duplicate keys)",
                       parse_qe_identity_cb, out, why) != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}
