/*
 * probe.c - tether_probe: look at an attested-TLS endpoint from the outside and say which
 * binder it uses and which attacks (replay, relay, diversion) that leaves open.
 *
 * A few sequential client connections, each bounded by the caller's timeout:
 *   plain    no nonce (the caller's server name as SNI, if any): record the TLS version, the
 *            certificate (extensions by OID, validity, key) and send an RFC 9261
 *            ClientCertificateRequest in the tether/Cocos framing; validate the answer with
 *            this connection's exporters and compare the evidence's report_data with the
 *            exporter binder of this connection (post-handshake, exporter-bound);
 *   sni-1,2  SNI "<64 hex>.nonce" with two different nonces: does the certificate evidence
 *            follow the nonce? is the certificate key the same on every connection?
 *   sni-1b   the first nonce again (only when the certificate carries evidence): the same
 *            nonce with another key tells nonce-only from key+nonce binders;
 *   alpn     a nonce in ALPN instead (only when the certificate carries evidence).
 * The evidence's report_data is compared with the binder formulas used in the wild
 * (protocol research 3.1); without a parseable report_data the behaviour decides. The report
 * format and the verdict table are in docs/probe.md.
 *
 * The probe does not appraise: it has no trust anchors and no policy, so it never says the
 * evidence is genuine, only how it is bound. Everything it reads from the network is parsed
 * with bounds (src/ea validators, the DER/CBOR scanner below, OpenSSL's X.509 parser).
 * Must never: send application data, reuse a request context, or block past a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tether.h"

#include "binding/binder.h"
#include "binding/early_exporter.h"
#include "binding/legacy_binder.h"
#include "ea/ea.h"
#include "evidence/evidence.h"
#include "policy/result.h"
#include "tls/probe.h"
#include "tls/sockbio.h"
#include "util/bytes.h"
#include "util/der.h"
#include "util/x509util.h"
#include "util/util.h"

#define PROBE_DEFAULT_TIMEOUT_MS 3000u
#define PROBE_AUTH_MAX (1u << 20) /* an authenticator holds one <= 64 KiB payload */
#define PROBE_NONCE_LEN 32

/* ======================================================================================
 * Known attestation OIDs and CBOR tags (research anchors.md section 4)
 * ====================================================================================== */

static const struct probe_oid oids[] = {
    /* exact entries first: the lookup returns the first match */
    {"1.2.840.113741.1337.2", false, "Intel RA-TLS: IAS attestation report (EPID)", "sgx", true},
    {"1.2.840.113741.1337.3", false, "Intel RA-TLS: IAS root certificate", "sgx", false},
    {"1.2.840.113741.1337.4", false, "Intel RA-TLS: IAS leaf certificate", "sgx", false},
    {"1.2.840.113741.1337.5", false, "Intel RA-TLS: IAS report signature", "sgx", false},
    {"1.2.840.113741.1337.6", false, "Intel RA-TLS / Gramine: SGX quote", "sgx", true},
    {"1.2.840.113741.1337", true, "Intel RA-TLS (sgx-ra-tls, rats-tls): SGX evidence or collateral",
     "sgx", true},
    {"2.23.133.5.4.9", false, "TCG DICE tagged evidence / conceptual message wrapper (Gramine, "
                              "rats-tls, librats, TNG, Intel SGX SDK)",
     NULL, true},
    {"2.23.133.5.4.2", false, "TCG DICE endorsement manifest", NULL, false},
    {"1.3.6.1.4.1.311.105.1", false, "Open Enclave: quote", "sgx", true},
    {"1.3.6.1.4.1.311.105.2", false, "Open Enclave / EGo: evidence", "sgx", true},
    {"1.3.6.1.4.1.311.105", true, "Open Enclave", "sgx", true},
    {"1.2.840.113556.10.1.1", false, "Open Enclave (legacy OID): quote", "sgx", true},
    {"1.2.840.113556.10.1.2", false, "Open Enclave (legacy OID): evidence", "sgx", true},
    {"1.3.9901.2.1", false, "Edgeless Contrast: SEV-SNP report", "snp", true},
    {"1.3.9901.2.2", false, "Edgeless Contrast: TDX quote", "tdx", true},
    {"1.3.9901.2.3", false, "Edgeless Contrast: insecure (no TEE)", "none", true},
    {"1.3.9901.2", true, "Edgeless Contrast attestation", NULL, true},
    {"1.3.9901.3.1", false, "Edgeless Contrast: workload secret", NULL, false},
    {"2.99999.1.0", false, "Cocos v1 aTLS: SEV-SNP + vTPM evidence", "snp-vtpm", true},
    {"2.99999.1.1", false, "Cocos v1 aTLS: Azure SEV-SNP evidence", "snp-azure", true},
    {"2.99999.1.2", false, "Cocos v1 aTLS: TDX evidence", "tdx", true},
    {"2.99999.1", true, "Cocos v1 aTLS evidence", NULL, true},
    {"1.3.6.1.4.1.62397.1.1", false, "Dstack RA-TLS: TDX quote", "tdx", true},
    {"1.3.6.1.4.1.62397.1.2", false, "Dstack RA-TLS: TDX event log", "tdx", false},
    {"1.3.6.1.4.1.62397.1", true, "Dstack RA-TLS", "tdx", true},
    {"1.3.6.1.4.1.58270.1.1", false, "Enarx Steward: KVM evidence", "kvm", true},
    {"1.3.6.1.4.1.58270.1.2", false, "Enarx Steward: SGX evidence", "sgx", true},
    {"1.3.6.1.4.1.58270.1.3", false, "Enarx Steward: SEV-SNP evidence", "snp", true},
    {"1.3.6.1.4.1.58270.1", true, "Enarx Steward evidence", NULL, true},
};

const struct probe_oid *probe_oid_lookup(const char *dotted)
{
    if (!dotted)
        return NULL;
    for (size_t i = 0; i < sizeof oids / sizeof oids[0]; i++) {
        size_t n = strlen(oids[i].oid);
        if (strncmp(dotted, oids[i].oid, n) != 0)
            continue;
        if (dotted[n] == '\0' || (oids[i].arc && dotted[n] == '.'))
            return &oids[i];
    }
    return NULL;
}

static const struct {
    uint64_t tag;
    const char *tee;
    const char *name;
} cbor_tags[] = {
    {60000, "sgx/tdx", "Intel TEE quote (CBOR tag 60000)"},
    {60001, "sgx/tdx", "Intel TEE report (CBOR tag 60001)"},
    {60002, "sgx", "legacy SGX report (CBOR tag 60002)"},
    {0x1a7504, "snp", "SEV-SNP evidence (CBOR tag 0x1a7504)"},
    {0x1a7505, "sev", "SEV evidence (CBOR tag 0x1a7505)"},
    {0x1a7506, "csv", "Hygon CSV evidence (CBOR tag 0x1a7506)"},
    {0xC0C000, "coco", "Confidential Containers evidence (CBOR tag 0xC0C000)"},
    {0xC0C001, "coco", "Confidential Containers token (CBOR tag 0xC0C001)"},
    {0x17A000, "tdx", "Intel Trust Authority evidence (CBOR tag 0x17A000)"},
    {0x17A001, "tdx", "Intel Trust Authority token (CBOR tag 0x17A001)"},
    {0x5453494D, "sim", "tether simulated TEE evidence (private CBOR tag 0x5453494D \"TSIM\", "
                        "not registered)"},
};

const char *probe_cbor_tag_tee(uint64_t tag, const char **name)
{
    for (size_t i = 0; i < sizeof cbor_tags / sizeof cbor_tags[0]; i++)
        if (cbor_tags[i].tag == tag) {
            if (name)
                *name = cbor_tags[i].name;
            return cbor_tags[i].tee;
        }
    return NULL;
}

/* ======================================================================================
 * The extension scanner: DER and CBOR, definite lengths, bounded
 * ====================================================================================== */

struct scan_ctx {
    struct probe_scan *out;
    bool over; /* budget exhausted */
};

static bool budget(struct scan_ctx *c)
{
    if (c->over)
        return false;
    if (++c->out->items > PROBE_SCAN_BUDGET) {
        c->over = true;
        c->out->truncated = true;
        return false;
    }
    return true;
}

static void scan_buf(struct scan_ctx *c, const uint8_t *p, size_t n, unsigned depth);

static void add_blob(struct scan_ctx *c, const uint8_t *p, size_t n)
{
    struct probe_scan *s = c->out;
    if (n < PROBE_SCAN_MIN_BLOB)
        return;
    for (size_t i = 0; i < s->n_blobs; i++)
        if (s->blobs[i].p == p && s->blobs[i].n == n)
            return;
    if (s->n_blobs == PROBE_SCAN_MAX_BLOBS) {
        s->truncated = true;
        return;
    }
    s->blobs[s->n_blobs].p = p;
    s->blobs[s->n_blobs].n = n;
    s->n_blobs++;
}

static void add_tag(struct probe_scan *s, uint64_t tag)
{
    for (size_t i = 0; i < s->n_tags; i++)
        if (s->tags[i] == tag)
            return;
    if (s->n_tags == PROBE_SCAN_MAX_TAGS) {
        s->truncated = true;
        return;
    }
    s->tags[s->n_tags++] = tag;
}

/* "type/subtype" made of printable ASCII without spaces, as a media type is. */
static void maybe_media_type(struct probe_scan *s, const uint8_t *p, size_t n)
{
    if (s->media_type[0] || n < 3 || n >= sizeof s->media_type)
        return;
    bool slash = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] <= 0x20 || p[i] >= 0x7f)
            return;
        if (p[i] == '/')
            slash = true;
    }
    if (!slash || p[0] == '/' || p[n - 1] == '/')
        return;
    memcpy(s->media_type, p, n);
    s->media_type[n] = '\0';
}

/* One DER (BER with definite lengths) TLV. 0 or -1. */
static int der_read_tlv(struct bytes_reader *r, uint8_t *cls_cons, uint32_t *tagno,
                        const uint8_t **body, size_t *len)
{
    uint8_t t;
    if (!reader_u8(r, &t))
        return -1;
    *cls_cons = t & 0xe0;
    *tagno = t & 0x1f;
    if (*tagno == 0x1f) { /* high tag number form: at most 4 more bytes */
        uint32_t v = 0;
        for (int i = 0;; i++) {
            uint8_t b;
            if (i == 4 || !reader_u8(r, &b))
                return -1;
            v = (v << 7) | (b & 0x7f);
            if (!(b & 0x80))
                break;
        }
        *tagno = v;
    }
    uint8_t l0;
    if (!reader_u8(r, &l0))
        return -1;
    size_t n;
    if (l0 < 0x80) {
        n = l0;
    } else {
        size_t nb = l0 & 0x7f;
        if (nb == 0 || nb > 4) /* indefinite, or absurd */
            return -1;
        n = 0;
        for (size_t i = 0; i < nb; i++) {
            uint8_t b;
            if (!reader_u8(r, &b))
                return -1;
            n = (n << 8) | b;
        }
    }
    if (!reader_bytes(r, n, body))
        return -1;
    *len = n;
    return 0;
}

/* Is p[0..n) a sequence of well-formed TLVs (constructed ones recursively)? */
static bool der_valid(struct scan_ctx *c, const uint8_t *p, size_t n, unsigned depth)
{
    if (depth > PROBE_SCAN_MAX_DEPTH || n == 0)
        return false;
    struct bytes_reader r;
    reader_init(&r, p, n);
    while (reader_remaining(&r) > 0) {
        uint8_t cc;
        uint32_t tagno;
        const uint8_t *b;
        size_t bl;
        if (!budget(c) || der_read_tlv(&r, &cc, &tagno, &b, &bl) != 0)
            return false;
        if ((cc & 0x20) && bl > 0 && !der_valid(c, b, bl, depth + 1))
            return false;
    }
    return true;
}

static void der_walk(struct scan_ctx *c, const uint8_t *p, size_t n, unsigned depth)
{
    struct bytes_reader r;
    reader_init(&r, p, n);
    while (reader_remaining(&r) > 0 && budget(c)) {
        uint8_t cc;
        uint32_t tagno;
        const uint8_t *b;
        size_t bl;
        if (der_read_tlv(&r, &cc, &tagno, &b, &bl) != 0)
            return;
        if (cc & 0x20) {
            if (bl > 0)
                der_walk(c, b, bl, depth + 1);
            continue;
        }
        bool universal = (cc & 0xc0) == 0;
        if (universal && tagno == 4) /* OCTET STRING: may hold evidence, CBOR or DER */
            scan_buf(c, b, bl, depth + 1);
        else if (universal && tagno == 3 && bl > 1 && b[0] == 0) /* BIT STRING, whole bytes */
            scan_buf(c, b + 1, bl - 1, depth + 1);
        else if (universal && (tagno == 12 || tagno == 19 || tagno == 22)) /* UTF8/Printable/IA5 */
            maybe_media_type(c->out, b, bl);
        else if ((cc & 0xc0) == 0x80) /* context-specific primitive: opaque */
            scan_buf(c, b, bl, depth + 1);
    }
}

/* One CBOR item head. Indefinite lengths and reserved values are refused (-1). */
static int cbor_head(struct bytes_reader *r, uint8_t *major, uint64_t *arg)
{
    uint8_t ib;
    if (!reader_u8(r, &ib))
        return -1;
    *major = ib >> 5;
    uint8_t ai = ib & 0x1f;
    if (ai < 24) {
        *arg = ai;
        return 0;
    }
    switch (ai) {
    case 24: {
        uint8_t v;
        if (!reader_u8(r, &v))
            return -1;
        *arg = v;
        return 0;
    }
    case 25: {
        uint16_t v;
        if (!reader_u16(r, &v))
            return -1;
        *arg = v;
        return 0;
    }
    case 26: {
        uint32_t v;
        if (!reader_u32(r, &v))
            return -1;
        *arg = v;
        return 0;
    }
    case 27:
        return reader_u64(r, arg) ? 0 : -1;
    default:
        return -1;
    }
}

/* Walk (or, with walk false, only check) one CBOR data item. 0 or -1. */
static int cbor_item(struct scan_ctx *c, struct bytes_reader *r, unsigned depth, bool walk)
{
    if (depth > PROBE_SCAN_MAX_DEPTH || !budget(c))
        return -1;
    uint8_t major;
    uint64_t arg;
    if (cbor_head(r, &major, &arg) != 0)
        return -1;
    switch (major) {
    case 0:
    case 1:
    case 7: /* integers, simple values and floats: the head is the whole item */
        return 0;
    case 2:
    case 3: {
        const uint8_t *b;
        if (arg > reader_remaining(r) || !reader_bytes(r, (size_t)arg, &b))
            return -1;
        if (walk && major == 2)
            scan_buf(c, b, (size_t)arg, depth + 1);
        else if (walk)
            maybe_media_type(c->out, b, (size_t)arg);
        return 0;
    }
    case 4:
    case 5: {
        /* Every item takes at least one byte: a count beyond the bytes left is malformed. */
        uint64_t items = arg;
        if (major == 5) {
            if (items > SIZE_MAX / 2)
                return -1;
            items *= 2;
        }
        if (items > reader_remaining(r))
            return -1;
        for (uint64_t i = 0; i < items; i++)
            if (cbor_item(c, r, depth + 1, walk) != 0)
                return -1;
        return 0;
    }
    case 6:
        if (walk)
            add_tag(c->out, arg);
        return cbor_item(c, r, depth + 1, walk);
    default:
        return -1;
    }
}

static bool cbor_valid(struct scan_ctx *c, const uint8_t *p, size_t n, unsigned depth)
{
    struct bytes_reader r;
    reader_init(&r, p, n);
    return n > 0 && cbor_item(c, &r, depth, false) == 0 && reader_done(&r);
}

static void scan_buf(struct scan_ctx *c, const uint8_t *p, size_t n, unsigned depth)
{
    add_blob(c, p, n);
    if (depth > PROBE_SCAN_MAX_DEPTH || n == 0 || c->over)
        return;
    /* Validate before walking, so that each buffer is walked at most once per reading. A
     * buffer can be well-formed as both DER and CBOR: an RA-TLS extension (CBOR tag over an
     * array) whose bytes, by chance of its keys and signatures, also parse as DER TLVs. Walk
     * every reading that is valid, or the CBOR tag that names the evidence is missed. */
    bool der = der_valid(c, p, n, depth);
    bool cbor = cbor_valid(c, p, n, depth);
    if (der)
        der_walk(c, p, n, depth);
    if (cbor) {
        struct bytes_reader r;
        reader_init(&r, p, n);
        (void)cbor_item(c, &r, depth, true);
    }
}

void probe_scan_value(const uint8_t *val, size_t len, struct probe_scan *out)
{
    memset(out, 0, sizeof *out);
    if (!val || len == 0)
        return;
    struct scan_ctx c = {.out = out, .over = false};
    scan_buf(&c, val, len, 0);
}

const struct evidence_backend *probe_scan_evidence(const struct probe_scan *s,
                                                   const uint8_t **ev, size_t *ev_len)
{
    for (size_t i = 0; i < s->n_blobs; i++) {
        const struct evidence_backend *b = evidence_backend_recognise(s->blobs[i].p, s->blobs[i].n);
        if (b) {
            *ev = s->blobs[i].p;
            *ev_len = s->blobs[i].n;
            return b;
        }
    }
    return NULL;
}

/* ======================================================================================
 * Certificate description
 * ====================================================================================== */

static json_t *jstr(const char *s)
{
    json_t *j = s ? json_string(s) : NULL; /* NULL also for invalid UTF-8 */
    return j ? j : json_null();
}

static json_t *jhex(const uint8_t *p, size_t n)
{
    char *h = hex_dup(p, n);
    json_t *j = jstr(h);
    free(h);
    return j;
}


static bool asn1_time(const ASN1_TIME *t, time_t *out)
{
    return x509_time(t, out) == 0;
}

static void key_type(X509 *x, char *buf, size_t n)
{
    EVP_PKEY *k = X509_get0_pubkey(x);
    ERR_clear_error();
    if (!k) {
        snprintf(buf, n, "unknown");
        return;
    }
    if (EVP_PKEY_is_a(k, "EC")) {
        char g[64] = "";
        size_t gl = 0;
        if (EVP_PKEY_get_group_name(k, g, sizeof g, &gl) != 1)
            snprintf(g, sizeof g, "?");
        const char *nice = !strcmp(g, "prime256v1")  ? "P-256"
                           : !strcmp(g, "secp384r1") ? "P-384"
                           : !strcmp(g, "secp521r1") ? "P-521"
                                                     : g;
        snprintf(buf, n, "EC %s", nice);
    } else if (EVP_PKEY_is_a(k, "ED25519")) {
        snprintf(buf, n, "Ed25519");
    } else if (EVP_PKEY_is_a(k, "ED448")) {
        snprintf(buf, n, "Ed448");
    } else if (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS")) {
        snprintf(buf, n, "%s %d", EVP_PKEY_is_a(k, "RSA") ? "RSA" : "RSA-PSS", EVP_PKEY_get_bits(k));
    } else {
        const char *t = EVP_PKEY_get0_type_name(k);
        snprintf(buf, n, "%s", t ? t : "unknown");
    }
    ERR_clear_error();
}

/* The SPKI exactly as it stands in the certificate (what a binder hashes). Caller frees. */
static int cert_spki(X509 *x, uint8_t **spki, size_t *spki_len)
{
    uint8_t *der = NULL;
    int n = i2d_X509(x, &der);
    const uint8_t *s = NULL;
    size_t sl = 0;
    *spki = NULL;
    if (n > 0 && der_cert_spki(der, (size_t)n, &s, &sl) == 0 && (*spki = malloc(sl)) != NULL) {
        memcpy(*spki, s, sl);
        *spki_len = sl;
    }
    OPENSSL_free(der);
    if (!*spki) { /* not strict DER: OpenSSL's own encoding of the key */
        uint8_t *p = NULL;
        int k = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &p);
        if (k > 0 && (*spki = malloc((size_t)k)) != NULL) {
            memcpy(*spki, p, (size_t)k);
            *spki_len = (size_t)k;
        }
        OPENSSL_free(p);
    }
    ERR_clear_error();
    return *spki ? 0 : -1;
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int l = 0;
    if (!EVP_Digest(p, n, out, &l, EVP_sha256(), NULL))
        memset(out, 0, 32);
}

/* Evidence inside one extension value: type, TEE, media type, CBOR tags. */
struct ext_evidence {
    struct probe_scan scan;
    const struct evidence_backend *backend;
    const uint8_t *ev;
    size_t ev_len;
    const char *tag_tee, *tag_name;
};

static void ext_evidence_find(const uint8_t *val, size_t len, struct ext_evidence *e)
{
    memset(e, 0, sizeof *e);
    probe_scan_value(val, len, &e->scan);
    e->backend = probe_scan_evidence(&e->scan, &e->ev, &e->ev_len);
    for (size_t i = 0; i < e->scan.n_tags && !e->tag_tee; i++)
        e->tag_tee = probe_cbor_tag_tee(e->scan.tags[i], &e->tag_name);
}

json_t *probe_cert_json(X509 *x)
{
    json_t *o = json_object();
    if (!o || !x)
        return o;
    char *subj = x509_name_string(X509_get_subject_name(x));
    char *iss = x509_name_string(X509_get_issuer_name(x));
    json_object_set_new(o, "subject", jstr(subj));
    json_object_set_new(o, "issuer", jstr(iss));
    bool same_name = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
    EVP_PKEY *pk = X509_get0_pubkey(x);
    bool self_signed = same_name && pk && X509_verify(x, pk) == 1;
    ERR_clear_error();
    json_object_set_new(o, "self_signed", json_boolean(self_signed));
    free(subj);
    free(iss);

    time_t nb = 0, na = 0;
    bool hb = asn1_time(X509_get0_notBefore(x), &nb), ha = asn1_time(X509_get0_notAfter(x), &na);
    char tb[21];
    if (hb && nb >= 0 && nb <= 253402300799LL) {
        rfc3339_format(nb, tb);
        json_object_set_new(o, "not_before", json_string(tb));
    } else {
        json_object_set_new(o, "not_before", json_null());
    }
    if (ha && na >= 0 && na <= 253402300799LL) {
        rfc3339_format(na, tb);
        json_object_set_new(o, "not_after", json_string(tb));
    } else {
        json_object_set_new(o, "not_after", json_null());
    }
    json_object_set_new(o, "lifetime_seconds",
                        hb && ha ? json_integer((json_int_t)na - (json_int_t)nb) : json_null());
    char kt[64];
    key_type(x, kt, sizeof kt);
    json_object_set_new(o, "key_type", json_string(kt));
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    uint8_t d[32];
    if (cert_spki(x, &spki, &spki_len) == 0) {
        sha256(spki, spki_len, d);
        json_object_set_new(o, "key_sha256", jhex(d, 32));
    } else {
        json_object_set_new(o, "key_sha256", json_null());
    }
    free(spki);
    unsigned int dl = 0;
    if (X509_digest(x, EVP_sha256(), d, &dl) == 1 && dl == 32)
        json_object_set_new(o, "sha256", jhex(d, 32));
    ERR_clear_error();

    json_t *exts = json_array();
    int n = X509_get_ext_count(x);
    for (int i = 0; i < n && exts; i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        ASN1_OBJECT *obj = ext ? X509_EXTENSION_get_object(ext) : NULL;
        ASN1_OCTET_STRING *val = ext ? X509_EXTENSION_get_data(ext) : NULL;
        if (!obj || !val)
            continue;
        char oid[128];
        int ol = OBJ_obj2txt(oid, sizeof oid, obj, 1);
        if (ol <= 0 || (size_t)ol >= sizeof oid)
            snprintf(oid, sizeof oid, "(unprintable OID)");
        const struct probe_oid *info = probe_oid_lookup(oid);
        int nid = OBJ_obj2nid(obj);
        const char *name = info ? info->name : nid != NID_undef ? OBJ_nid2ln(nid) : NULL;
        json_t *e = json_object();
        json_object_set_new(e, "oid", json_string(oid));
        json_object_set_new(e, "name", jstr(name));
        json_object_set_new(e, "critical", json_boolean(X509_EXTENSION_get_critical(ext) > 0));
        const uint8_t *vp = ASN1_STRING_get0_data(val);
        int vl = ASN1_STRING_length(val);
        json_object_set_new(e, "length", json_integer(vl));
        json_object_set_new(e, "attestation", json_boolean(info != NULL));
        if (info && vp && vl > 0) {
            struct ext_evidence ee;
            ext_evidence_find(vp, (size_t)vl, &ee);
            const char *tee = info->tee ? info->tee : ee.tag_tee;
            if (ee.backend)
                tee = ee.backend->name;
            json_object_set_new(e, "tee", jstr(tee));
            json_object_set_new(e, "evidence_type", jstr(ee.backend ? ee.backend->name : NULL));
            json_object_set_new(e, "media_type", jstr(ee.scan.media_type[0] ? ee.scan.media_type
                                                                             : NULL));
            json_t *tags = json_array();
            for (size_t t = 0; t < ee.scan.n_tags; t++)
                json_array_append_new(tags, json_integer((json_int_t)(ee.scan.tags[t] & INT64_MAX)));
            json_object_set_new(e, "cbor_tags", tags);
        }
        json_array_append_new(exts, e);
    }
    ERR_clear_error();
    json_object_set_new(o, "extensions", exts ? exts : json_array());
    return o;
}

/* ======================================================================================
 * Sockets and TLS with deadlines
 * ====================================================================================== */


static int split_addr(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;
    if (!addr || !addr[0])
        return -1;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':' || (size_t)(end - addr - 1) >= hostlen)
            return -1;
        snprintf(host, hostlen, "%.*s", (int)(end - addr - 1), addr + 1);
        colon = end + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || colon == addr || (size_t)(colon - addr) >= hostlen)
            return -1;
        snprintf(host, hostlen, "%.*s", (int)(colon - addr), addr);
    }
    if (!colon[1] || strlen(colon + 1) >= portlen)
        return -1;
    snprintf(port, portlen, "%s", colon + 1);
    return 0;
}

/* A non-blocking connected socket, or -1 with why. The name lookup itself is not bounded by
 * the deadline (getaddrinfo has no timeout); the connection attempts are. */
static int dial(const char *host, const char *port, int64_t deadline, char *why, size_t whylen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(host, port, &hints, &res);
    if (e != 0) {
        errbuf_set(why, whylen, "cannot resolve %s: %s", host, gai_strerror(e));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        err = errno;
        if (err == EINPROGRESS) {
            err = ETIMEDOUT;
            for (;;) {
                int64_t left = deadline - now_ms();
                if (left <= 0)
                    break;
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                int pr = poll(&p, 1, left > 1000 ? 1000 : (int)left);
                if (pr < 0 && errno == EINTR)
                    continue;
                if (pr == 1) {
                    socklen_t l = sizeof err;
                    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
                        err = errno;
                    break;
                }
                if (pr < 0) {
                    err = errno;
                    break;
                }
            }
            if (err == 0)
                break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        errbuf_set(why, whylen, "cannot connect to %s port %s: %s", host, port,
                   strerror(err ? err : ECONNREFUSED));
    return fd;
}

enum io_result { IO_OK = 1, IO_CLOSED = 0, IO_ERROR = -1, IO_TIMEOUT = -2 };

/* After an SSL call returned r <= 0: wait for the socket. IO_OK to retry the call. */
static int ssl_wait(SSL *ssl, int fd, int r, int64_t deadline)
{
    int e = SSL_get_error(ssl, r);
    short events;
    if (e == SSL_ERROR_WANT_READ)
        events = POLLIN;
    else if (e == SSL_ERROR_WANT_WRITE)
        events = POLLOUT;
    else if (e == SSL_ERROR_ZERO_RETURN)
        return IO_CLOSED;
    else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        return IO_CLOSED; /* EOF or reset without close_notify */
    else
        return IO_ERROR;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return IO_TIMEOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int pr = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (pr > 0)
            return IO_OK;
        if (pr < 0 && errno != EINTR)
            return IO_ERROR;
    }
}

static int ssl_write_all(SSL *ssl, int fd, const uint8_t *p, size_t n, int64_t deadline)
{
    while (n) {
        ERR_clear_error();
        int w = SSL_write(ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        int r = ssl_wait(ssl, fd, w, deadline);
        if (r != IO_OK)
            return r == IO_CLOSED ? IO_ERROR : r;
    }
    return IO_OK;
}

/* Read exactly n bytes: IO_OK, IO_CLOSED (peer closed first; *got says how many came),
 * IO_ERROR or IO_TIMEOUT. */
static int ssl_read_n(SSL *ssl, int fd, uint8_t *buf, size_t n, size_t *got, int64_t deadline)
{
    *got = 0;
    while (*got < n) {
        ERR_clear_error();
        size_t want = n - *got;
        int r = SSL_read(ssl, buf + *got, want > INT32_MAX ? INT32_MAX : (int)want);
        if (r > 0) {
            *got += (size_t)r;
            continue;
        }
        int w = ssl_wait(ssl, fd, r, deadline);
        if (w != IO_OK)
            return w;
    }
    return IO_OK;
}

/* ======================================================================================
 * Observations
 * ====================================================================================== */

struct cert_evidence {
    bool present;         /* an extension with a known evidence OID */
    char oid[96];
    const struct probe_oid *info;
    uint8_t value_sha256[32];
    const struct evidence_backend *backend; /* recognised evidence, else NULL */
    char media_type[128];
    const char *tag_tee, *tag_name;
    struct claims claims; /* filled when backend != NULL (authenticity NOT checked) */
};

struct ea_obs {
    bool requested, answered, valid, empty, framing, has_evidence;
    bool exporter_bound;         /* signed report_data == SHA-512(binding) of this connection */
    bool rd_checked;             /* the evidence was parsed and its report_data compared */
    bool payload_binder_matches; /* the unsigned payload binder equals this connection's */
    bool label_ok;
    char detail[512];
    char media_type[128];
    char label[64];
    uint16_t sigalg;
    uint8_t key_sha256[32];
    const struct evidence_backend *backend;
    struct claims claims;
};

struct conn_obs {
    const char *label;     /* "plain", "sni-1", ... */
    char sni[200];         /* sent SNI, "" for none */
    char alpn_offered[80]; /* offered ALPN protocol, "" for none */
    const char *carrier;   /* "sni", "alpn" or NULL */
    uint8_t nonce[PROBE_NONCE_LEN];
    char nonce_hex[2 * PROBE_NONCE_LEN + 1];
    bool has_nonce;
    bool attempted, tcp_ok, tls_ok;
    char error[256];
    int tls_version;
    char version[32], cipher[64], alpn[64];
    X509 *cert;
    json_t *chain;         /* [{"subject","issuer"}] */
    uint8_t *spki;
    size_t spki_len;
    uint8_t key_sha256[32], cert_sha256[32];
    struct cert_evidence cev;
    /* report_data formula found for the certificate evidence on this connection */
    int formula_class;     /* FORMULA_* */
    char formula[160];
    int key_hash_covers_spki; /* -1 unknown, 0 no, 1 yes */
    struct ea_obs ea;
    /* The ClientHello we sent (message callback) and its early exporter, RFC 8446 without a
     * PSK: TLS-Early-Exporter("attestation-binder", "", 32) with the suite's hash. */
    uint8_t *ch;
    size_t ch_len;
    int n_ch;
    uint8_t ee[LEGACY_EE_LEN];
    bool has_ee;
};

enum { FORMULA_NONE = 0, FORMULA_KEY, FORMULA_NONCE, FORMULA_KEY_NONCE, FORMULA_EARLY_EXPORTER };

static void conn_obs_clear(struct conn_obs *c)
{
    X509_free(c->cert);
    json_decref(c->chain);
    free(c->spki);
    claims_clear(&c->cev.claims);
    claims_clear(&c->ea.claims);
    free(c->ch);
    memset(c, 0, sizeof *c);
}

/* The first ClientHello this connection sends, byte-exact (bounded); later ones counted. */
static void probe_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                         SSL *ssl, void *arg)
{
    (void)version, (void)ssl;
    struct conn_obs *c = arg;
    const uint8_t *p = buf;
    if (!c || !write_p || content_type != SSL3_RT_HANDSHAKE || len < 1 ||
        p[0] != SSL3_MT_CLIENT_HELLO)
        return;
    if (c->n_ch < 2)
        c->n_ch++;
    if (c->n_ch == 1 && len <= CLIENT_HELLO_MAX && (c->ch = malloc(len)) != NULL) {
        memcpy(c->ch, buf, len);
        c->ch_len = len;
    }
}

/* The early exporter of a TLS 1.3 handshake with one ClientHello (no HelloRetryRequest). */
static void observe_early_exporter(SSL *ssl, struct conn_obs *c)
{
    const SSL_CIPHER *ci = SSL_get_current_cipher(ssl);
    const char *why = NULL;
    c->has_ee = SSL_version(ssl) == TLS1_3_VERSION && c->n_ch == 1 && c->ch && ci &&
                legacy_early_exporter(SSL_CIPHER_get_handshake_digest(ci), c->ch, c->ch_len,
                                      c->ee, &why) == 0;
}

/* Claims of recognised evidence, without trust anchors: the backend parses and fills the
 * claims, then stops at the chain check. The probe never says the evidence is genuine. */
static void evidence_claims(const struct evidence_backend *b, const uint8_t *ev, size_t n,
                            struct claims *c)
{
    struct tether_result *r = result_new();
    if (!r)
        return;
    (void)b->verify(ev, n, NULL, time(NULL), NULL, c, r);
    tether_result_free(r);
}

static void observe_cert_evidence(struct conn_obs *c)
{
    int n = X509_get_ext_count(c->cert);
    for (int i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(c->cert, i);
        ASN1_OBJECT *obj = ext ? X509_EXTENSION_get_object(ext) : NULL;
        ASN1_OCTET_STRING *val = ext ? X509_EXTENSION_get_data(ext) : NULL;
        char oid[96];
        int ol = obj ? OBJ_obj2txt(oid, sizeof oid, obj, 1) : -1;
        if (!val || ol <= 0 || (size_t)ol >= sizeof oid)
            continue;
        const struct probe_oid *info = probe_oid_lookup(oid);
        if (!info || !info->evidence)
            continue;
        struct cert_evidence *e = &c->cev;
        e->present = true;
        snprintf(e->oid, sizeof e->oid, "%s", oid);
        e->info = info;
        const uint8_t *vp = ASN1_STRING_get0_data(val);
        int vl = ASN1_STRING_length(val);
        if (!vp || vl <= 0)
            break;
        sha256(vp, (size_t)vl, e->value_sha256);
        struct ext_evidence ee;
        ext_evidence_find(vp, (size_t)vl, &ee);
        e->backend = ee.backend;
        e->tag_tee = ee.tag_tee;
        e->tag_name = ee.tag_name;
        snprintf(e->media_type, sizeof e->media_type, "%s", ee.scan.media_type);
        if (ee.backend)
            evidence_claims(ee.backend, ee.ev, ee.ev_len, &e->claims);
        break;
    }
    ERR_clear_error();
}

static void observe_tls(SSL *ssl, struct conn_obs *c)
{
    c->tls_version = SSL_version(ssl);
    snprintf(c->version, sizeof c->version, "%s", SSL_get_version(ssl));
    const SSL_CIPHER *ci = SSL_get_current_cipher(ssl);
    snprintf(c->cipher, sizeof c->cipher, "%s", ci ? SSL_CIPHER_get_name(ci) : "");
    const unsigned char *a = NULL;
    unsigned int al = 0;
    SSL_get0_alpn_selected(ssl, &a, &al);
    if (a && al) {
        size_t k = 0;
        for (unsigned int i = 0; i < al && k + 1 < sizeof c->alpn; i++)
            c->alpn[k++] = a[i] >= 0x20 && a[i] < 0x7f ? (char)a[i] : '?';
        c->alpn[k] = '\0';
    }
    c->cert = SSL_get1_peer_certificate(ssl);
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    c->chain = json_array();
    for (int i = 0; chain && c->chain && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        char *s = x509_name_string(X509_get_subject_name(x)), *is = x509_name_string(X509_get_issuer_name(x));
        json_t *e = json_object();
        json_object_set_new(e, "subject", jstr(s));
        json_object_set_new(e, "issuer", jstr(is));
        json_array_append_new(c->chain, e);
        free(s);
        free(is);
    }
    if (c->cert) {
        unsigned int dl = 0;
        if (X509_digest(c->cert, EVP_sha256(), c->cert_sha256, &dl) != 1)
            memset(c->cert_sha256, 0, sizeof c->cert_sha256);
        if (cert_spki(c->cert, &c->spki, &c->spki_len) == 0)
            sha256(c->spki, c->spki_len, c->key_sha256);
        observe_cert_evidence(c);
    }
    ERR_clear_error();
}

/* ======================================================================================
 * The Exported Authenticator exchange
 * ====================================================================================== */

static int export(SSL *ssl, const char *label, const uint8_t *ctx, size_t ctx_len, uint8_t *out,
                  size_t n)
{
    return SSL_export_keying_material(ssl, out, n, label, strlen(label), ctx, ctx_len, 1) == 1
               ? 0
               : -1;
}

static const char *io_text(int r)
{
    switch (r) {
    case IO_CLOSED:
        return "the server closed the connection";
    case IO_TIMEOUT:
        return "no answer before the deadline";
    default:
        return "read failed";
    }
}

static void ea_validate_answer(SSL *ssl, struct ea_obs *o, const struct ea_request *req,
                               const uint8_t *req_msg, size_t req_len, const uint8_t *auth,
                               size_t auth_len)
{
    const SSL_CIPHER *ci = SSL_get_current_cipher(ssl);
    struct ea_exporters x;
    memset(&x, 0, sizeof x);
    x.md = ci ? SSL_CIPHER_get_handshake_digest(ci) : NULL;
    x.hash_len = x.md ? (size_t)EVP_MD_get_size(x.md) : 0;
    if (!x.md || x.hash_len > sizeof x.hc ||
        export(ssl, EA_LABEL_SERVER_HC, NULL, 0, x.hc, x.hash_len) != 0 ||
        export(ssl, EA_LABEL_SERVER_FK, NULL, 0, x.fk, x.hash_len) != 0) {
        snprintf(o->detail, sizeof o->detail, "cannot compute this connection's exporters");
        ERR_clear_error();
        return;
    }
    struct ea_authenticator a;
    enum ea_error e = EA_OK;
    if (ea_authenticator_validate(&x, req_msg, req_len, req, auth, auth_len, false, &a, &e) != 0) {
        if (e == EA_ERR_EMPTY) {
            o->valid = true;
            o->empty = true;
            snprintf(o->detail, sizeof o->detail,
                     "an empty (Finished-only) authenticator: the server declined to attest");
        } else {
            snprintf(o->detail, sizeof o->detail,
                     "the authenticator does not validate against this connection (%s)",
                     ea_error_code(e));
        }
        OPENSSL_cleanse(&x, sizeof x);
        return;
    }
    o->valid = true;
    o->framing = a.framing;
    o->sigalg = a.sigalg;
    sha256(a.spki, a.spki_len, o->key_sha256);
    struct ea_payload p;
    memset(&p, 0, sizeof p);
    const char *why = NULL;
    if (!a.cmw) {
        snprintf(o->detail, sizeof o->detail,
                 "a valid authenticator without cmw_attestation: no evidence");
        goto out;
    }
    if (ea_payload_parse(a.cmw, a.cmw_len, &p, &why) != 0) {
        snprintf(o->detail, sizeof o->detail, "the cmw_attestation payload is malformed (%s)",
                 why ? why : "?");
        goto out;
    }
    o->has_evidence = true;
    snprintf(o->media_type, sizeof o->media_type, "%s", p.media_type);
    snprintf(o->label, sizeof o->label, "%s", p.exporter_label);
    o->label_ok = strcmp(p.exporter_label, BINDER_LABEL_SERVER) == 0;

    /* The binder of THIS connection for our context, with the fixed server label. */
    uint8_t exported[BINDER_EXPORTER_LEN];
    struct binder b;
    memset(&b, 0, sizeof b);
    if (export(ssl, BINDER_LABEL_SERVER, req->context, req->context_len, exported,
               sizeof exported) != 0 ||
        binder_compute(x.md, a.spki, a.spki_len, exported, &b) != 0) {
        ERR_clear_error();
        snprintf(o->detail, sizeof o->detail, "cannot compute this connection's binder");
        OPENSSL_cleanse(exported, sizeof exported);
        goto out;
    }
    OPENSSL_cleanse(exported, sizeof exported);
    o->payload_binder_matches = p.binding_len == b.hash_len &&
                                memcmp(p.binding, b.binding, b.hash_len) == 0;
    o->backend = evidence_backend_recognise(p.evidence, p.evidence_len);
    if (o->backend) {
        evidence_claims(o->backend, p.evidence, p.evidence_len, &o->claims);
        if (o->claims.has_report_data) {
            o->rd_checked = true;
            o->exporter_bound =
                memcmp(o->claims.report_data, b.report_data, sizeof b.report_data) == 0;
        }
    }
    if (o->exporter_bound)
        snprintf(o->detail, sizeof o->detail,
                 "the evidence's report_data equals SHA-512(Hash(SPKI || TLS-Exporter(\"%s\", "
                 "context, 32))) of this connection",
                 BINDER_LABEL_SERVER);
    else if (o->rd_checked)
        snprintf(o->detail, sizeof o->detail,
                 "the evidence's report_data does NOT equal this connection's exporter binder");
    else
        snprintf(o->detail, sizeof o->detail,
                 "evidence type not recognised by tether (media type \"%s\"): its report_data "
                 "could not be compared; the unsigned payload binder %s this connection's",
                 p.media_type, o->payload_binder_matches ? "equals" : "differs from");
out:
    ea_payload_clear(&p);
    ea_authenticator_clear(&a);
    OPENSSL_cleanse(&x, sizeof x);
}

/* Send a Cocos/tether AuthenticatorRequest and wait (bounded) for a type-2 frame. */
static void ea_exchange(SSL *ssl, int fd, struct ea_obs *o, unsigned timeout_ms)
{
    struct ea_request req;
    memset(&req, 0, sizeof req);
    req.msg_type = EA_HS_CLIENT_CERTIFICATE_REQUEST;
    req.context_len = 32;
    req.sigalgs[0] = EA_SIG_ECDSA_P256_SHA256;
    req.sigalgs[1] = EA_SIG_ED25519;
    req.sigalgs[2] = EA_SIG_ECDSA_P384_SHA384;
    req.n_sigalgs = 3;
    req.cmw_offered = true;
    req.framing_offered = true;
    if (RAND_bytes(req.context, (int)req.context_len) != 1) {
        snprintf(o->detail, sizeof o->detail, "no randomness for the request context");
        return;
    }
    struct bytes_writer w;
    writer_init(&w, 65536);
    uint8_t hdr[EA_FRAME_HEADER_LEN];
    uint8_t *auth = NULL;
    if (ea_request_encode(&req, &w) != 0 || w.failed) {
        snprintf(o->detail, sizeof o->detail, "cannot encode the request");
        goto out;
    }
    ea_frame_header_write(hdr, EA_FRAME_REQUEST, (uint32_t)w.len);
    int64_t deadline = now_ms() + (int64_t)timeout_ms;
    o->requested = true;
    int r = ssl_write_all(ssl, fd, hdr, sizeof hdr, deadline);
    if (r == IO_OK)
        r = ssl_write_all(ssl, fd, w.data, w.len, deadline);
    if (r != IO_OK) {
        snprintf(o->detail, sizeof o->detail, "could not send the request (%s)", io_text(r));
        goto out;
    }
    uint8_t in[EA_FRAME_HEADER_LEN];
    size_t got = 0;
    r = ssl_read_n(ssl, fd, in, sizeof in, &got, deadline);
    if (r != IO_OK) {
        if (got == 0)
            snprintf(o->detail, sizeof o->detail, "no answer to the request: %s%s",
                     io_text(r), r == IO_TIMEOUT ? "" : " without answering");
        else
            snprintf(o->detail, sizeof o->detail, "%zu bytes that are not a frame, then: %s",
                     got, io_text(r));
        if (r == IO_TIMEOUT && got == 0)
            snprintf(o->detail, sizeof o->detail,
                     "no answer to the request within %u ms", timeout_ms);
        goto out;
    }
    uint8_t type = 0;
    uint32_t len = 0;
    if (ea_frame_header_parse(in, &type, &len) != 0) {
        snprintf(o->detail, sizeof o->detail,
                 "the server answered with data that is not a frame (%02x %02x %02x %02x %02x)",
                 in[0], in[1], in[2], in[3], in[4]);
        goto out;
    }
    if (type != EA_FRAME_AUTHENTICATOR) {
        bool echo = false;
        if (type == EA_FRAME_REQUEST && len == w.len) {
            uint8_t back[512];
            if (len <= sizeof back && ssl_read_n(ssl, fd, back, len, &got, deadline) == IO_OK &&
                memcmp(back, w.data, len) == 0)
                echo = true;
        }
        snprintf(o->detail, sizeof o->detail, "%s",
                 echo ? "the server echoed the request back: it does not speak RFC 9261 "
                        "Exported Authenticators (an echo service?)"
                      : "the server answered with a frame that is not an authenticator");
        goto out;
    }
    o->answered = true;
    if (len > PROBE_AUTH_MAX) {
        snprintf(o->detail, sizeof o->detail, "an authenticator frame of %u bytes (too large)", len);
        goto out;
    }
    auth = malloc(len ? len : 1);
    if (!auth) {
        snprintf(o->detail, sizeof o->detail, "out of memory");
        goto out;
    }
    r = ssl_read_n(ssl, fd, auth, len, &got, deadline);
    if (r != IO_OK) {
        snprintf(o->detail, sizeof o->detail, "the authenticator frame was cut short (%s)",
                 io_text(r));
        goto out;
    }
    ea_validate_answer(ssl, o, &req, w.data, w.len, auth, len);
out:
    free(auth);
    writer_free(&w);
    ERR_clear_error();
}

/* ======================================================================================
 * One probing connection
 * ====================================================================================== */

static SSL_CTX *probe_ssl_ctx(void)
{
    SSL_CTX *x = SSL_CTX_new(TLS_client_method());
    if (!x)
        return NULL;
    /* Whatever the server speaks from TLS 1.2 up: an older version is itself a finding. */
    SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(x, TLS1_3_VERSION);
    SSL_CTX_set_verify(x, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_options(x, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(x, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return x;
}

struct probe_run {
    const char *addr;
    char host[256], port[32];
    unsigned timeout_ms;
    SSL_CTX *ctx;
};

/* 0 when TLS came up; -1 (TCP) or -2 (TLS) otherwise, with c->error. */
static int probe_connect(struct probe_run *pr, struct conn_obs *c, bool do_ea)
{
    c->attempted = true;
    int64_t deadline = now_ms() + (int64_t)pr->timeout_ms;
    int fd = dial(pr->host, pr->port, deadline, c->error, sizeof c->error);
    if (fd < 0)
        return -1;
    c->tcp_ok = true;
    int rc = -2;
    SSL *ssl = SSL_new(pr->ctx);
    BIO *bio = ssl ? tls_socket_bio(fd) : NULL;
    if (!ssl || !bio) {
        BIO_free(bio);
        snprintf(c->error, sizeof c->error, "cannot create a TLS connection");
        goto out;
    }
    SSL_set_bio(ssl, bio, bio);
    SSL_set_msg_callback(ssl, probe_msg_cb);
    SSL_set_msg_callback_arg(ssl, c);
    if (c->sni[0] && SSL_set_tlsext_host_name(ssl, c->sni) != 1) {
        snprintf(c->error, sizeof c->error, "invalid server name");
        goto out;
    }
    if (c->alpn_offered[0]) {
        uint8_t wire[1 + sizeof c->alpn_offered];
        size_t n = strlen(c->alpn_offered);
        wire[0] = (uint8_t)n;
        memcpy(wire + 1, c->alpn_offered, n);
        if (SSL_set_alpn_protos(ssl, wire, (unsigned)(n + 1)) != 0) { /* 0 is success */
            snprintf(c->error, sizeof c->error, "cannot offer ALPN");
            goto out;
        }
    }
    SSL_set_connect_state(ssl);
    for (;;) {
        ERR_clear_error();
        int r = SSL_do_handshake(ssl);
        if (r == 1)
            break;
        int w = ssl_wait(ssl, fd, r, deadline);
        if (w == IO_OK)
            continue;
        unsigned long e = ERR_peek_error();
        char es[160] = "";
        if (e)
            ERR_error_string_n(e, es, sizeof es);
        snprintf(c->error, sizeof c->error, "TLS handshake failed: %s%s%s",
                 w == IO_TIMEOUT ? "no answer before the deadline"
                 : w == IO_CLOSED ? "the server closed the connection"
                                  : "protocol error",
                 es[0] ? ": " : "", es);
        goto out;
    }
    c->tls_ok = true;
    rc = 0;
    observe_tls(ssl, c);
    observe_early_exporter(ssl, c);
    if (do_ea) {
        if (c->tls_version == TLS1_3_VERSION)
            ea_exchange(ssl, fd, &c->ea, pr->timeout_ms);
        else
            snprintf(c->ea.detail, sizeof c->ea.detail,
                     "not requested: Exported Authenticators need TLS 1.3 (the server "
                     "negotiated %s)",
                     c->version);
    }
    ERR_clear_error();
    (void)SSL_shutdown(ssl); /* close_notify; do not wait for the server's */
out:
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
    return rc;
}

/* ======================================================================================
 * report_data formulas seen in the wild (protocol research 3.1)
 * ====================================================================================== */

struct part {
    const uint8_t *p;
    size_t n;
};

static bool digest(const EVP_MD *md, const struct part *parts, size_t np, uint8_t out[64],
                   unsigned *outlen)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestInit_ex(c, md, NULL) == 1;
    for (size_t i = 0; ok && i < np; i++)
        ok = EVP_DigestUpdate(c, parts[i].p, parts[i].n) == 1;
    ok = ok && EVP_DigestFinal_ex(c, out, outlen) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

/* report_data "is" h when it starts with h (a shorter hash is zero- or otherwise padded). */
static bool rd_is(const uint8_t rd[64], const uint8_t *h, size_t hl)
{
    return hl >= 32 && hl <= 64 && memcmp(rd, h, hl) == 0;
}

/* Look for report_data among H(inputs) and SHA-512(H(inputs)), H in the usual hashes. */
static int match_formula(const uint8_t rd[64], const struct conn_obs *c, char *desc, size_t dl)
{
    /* Labels seen before the nonce: Meta-style "nonce", tether's own ra-nonce mode. */
    static const char nonce_word[] = "nonce", ra_nonce_word[] = "tether-ra-nonce";
    struct cand {
        int cls;
        const char *what;
        struct part parts[3];
        size_t np;
    } cands[24];
    size_t nc = 0;
    const struct part spki = {c->spki, c->spki_len};
    const struct part nraw = {c->nonce, PROBE_NONCE_LEN};
    const struct part nhex = {(const uint8_t *)c->nonce_hex, 2 * PROBE_NONCE_LEN};
    const struct part word = {(const uint8_t *)nonce_word, sizeof nonce_word - 1};
    const struct part raword = {(const uint8_t *)ra_nonce_word, sizeof ra_nonce_word - 1};
    if (c->spki) {
        cands[nc++] = (struct cand){FORMULA_KEY, "SPKI", {spki}, 1};
    }
    if (c->has_ee) /* binder #3: the early exporter alone */
        cands[nc++] = (struct cand){FORMULA_EARLY_EXPORTER, "early-exporter",
                                    {{c->ee, LEGACY_EE_LEN}}, 1};
    if (c->has_nonce) {
        cands[nc++] = (struct cand){FORMULA_NONCE, "nonce", {nraw}, 1};
        cands[nc++] = (struct cand){FORMULA_NONCE, "nonce-hex-text", {nhex}, 1};
        cands[nc++] = (struct cand){FORMULA_NONCE, "\"nonce\" || nonce", {word, nraw}, 2};
        cands[nc++] = (struct cand){FORMULA_NONCE, "\"nonce\" || nonce-hex-text", {word, nhex}, 2};
        cands[nc++] = (struct cand){FORMULA_NONCE, "\"tether-ra-nonce\" || nonce", {raword, nraw}, 2};
        if (c->spki) {
            cands[nc++] = (struct cand){FORMULA_KEY_NONCE, "SPKI || nonce", {spki, nraw}, 2};
            cands[nc++] = (struct cand){FORMULA_KEY_NONCE, "SPKI || nonce-hex-text", {spki, nhex}, 2};
            cands[nc++] = (struct cand){FORMULA_KEY_NONCE, "nonce || SPKI", {nraw, spki}, 2};
            cands[nc++] = (struct cand){FORMULA_KEY_NONCE, "nonce-hex-text || SPKI", {nhex, spki}, 2};
        }
        /* draft-fossati-tls-attestation-06 binders #5 and #7 (tether's ra-early-exporter) */
        if (c->has_ee) {
            const struct part ee = {c->ee, LEGACY_EE_LEN};
            cands[nc++] = (struct cand){FORMULA_EARLY_EXPORTER, "nonce || early-exporter",
                                        {nraw, ee}, 2};
            if (c->spki)
                cands[nc++] = (struct cand){FORMULA_EARLY_EXPORTER,
                                            "nonce || early-exporter || SPKI", {nraw, ee, spki}, 3};
        }
        /* the nonce itself as report_data */
        if (rd_is(rd, c->nonce, PROBE_NONCE_LEN)) {
            snprintf(desc, dl, "report_data = nonce (zero-padded)");
            return FORMULA_NONCE;
        }
    }
    static const struct {
        const char *name;
        const EVP_MD *(*md)(void);
    } hashes[] = {{"SHA-256", EVP_sha256}, {"SHA-384", EVP_sha384}, {"SHA-512", EVP_sha512},
                  {"SHA3-256", EVP_sha3_256}, {"SHA3-512", EVP_sha3_512}};
    for (size_t i = 0; i < nc; i++) {
        for (size_t h = 0; h < sizeof hashes / sizeof hashes[0]; h++) {
            uint8_t d[64], d2[64];
            unsigned l = 0, l2 = 0;
            if (!digest(hashes[h].md(), cands[i].parts, cands[i].np, d, &l))
                continue;
            if (rd_is(rd, d, l)) {
                snprintf(desc, dl, "report_data%s = %s(%s)", l < 64 ? "[0..32)" : "",
                         hashes[h].name, cands[i].what);
                if (l == 48)
                    snprintf(desc, dl, "report_data[0..48) = %s(%s)", hashes[h].name,
                             cands[i].what);
                return cands[i].cls;
            }
            struct part inner = {d, l};
            if (l < 64 && digest(EVP_sha512(), &inner, 1, d2, &l2) && rd_is(rd, d2, l2)) {
                snprintf(desc, dl, "report_data = SHA-512(%s(%s))", hashes[h].name,
                         cands[i].what);
                return cands[i].cls;
            }
        }
    }
    return FORMULA_NONE;
}

/* Does the evidence's signed key hash equal Hash(SPKI) of the certificate? */
static int key_hash_covers(const struct conn_obs *c)
{
    const struct claims *cl = &c->cev.claims;
    if (!c->spki || cl->key_hash_len == 0)
        return -1;
    if (ct_is_zero(cl->key_hash, cl->key_hash_len))
        return 0;
    const EVP_MD *md = cl->key_hash_len == 32   ? EVP_sha256()
                       : cl->key_hash_len == 48 ? EVP_sha384()
                                                : EVP_sha512();
    uint8_t d[64];
    unsigned l = 0;
    struct part p = {c->spki, c->spki_len};
    if (!digest(md, &p, 1, d, &l) || l != cl->key_hash_len)
        return -1;
    return memcmp(d, cl->key_hash, l) == 0 ? 1 : 0;
}

static void analyse_cert_evidence(struct conn_obs *c)
{
    c->key_hash_covers_spki = -1;
    if (!c->tls_ok || !c->cev.present || !c->cev.claims.has_report_data)
        return;
    c->formula_class = match_formula(c->cev.claims.report_data, c, c->formula, sizeof c->formula);
    c->key_hash_covers_spki = key_hash_covers(c);
}

/* ======================================================================================
 * Verdict
 * ====================================================================================== */

struct verdict {
    const char *cls;      /* stable identifier */
    const char *label;    /* for people */
    int replay, relay, diversion; /* 1, 0, or -1 (not applicable) */
    const char *replay_if, *relay_if, *diversion_if; /* conditions, or NULL */
    json_t *reasons;
};

static void reason(struct verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(struct verdict *v, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_array_append_new(v->reasons, jstr(buf));
}

static bool same_key(const struct conn_obs *a, const struct conn_obs *b)
{
    return a->tls_ok && b->tls_ok && a->spki && b->spki &&
           memcmp(a->key_sha256, b->key_sha256, 32) == 0;
}

static bool rd_equal(const struct conn_obs *a, const struct conn_obs *b)
{
    return memcmp(a->cev.claims.report_data, b->cev.claims.report_data, 64) == 0;
}

static bool has_rd(const struct conn_obs *c)
{
    return c->tls_ok && c->cev.present && c->cev.claims.has_report_data;
}

#define N_CONNS 5
enum { C_PLAIN = 0, C_SNI1, C_SNI2, C_SNI1B, C_ALPN };

static const char *class_label(const char *cls)
{
    if (!strcmp(cls, "exporter-bound"))
        return "exporter-bound post-handshake (tether / draft-fossati-seat-expat)";
    if (!strcmp(cls, "nonce-only"))
        return "nonce-only (evidence over a client nonce, not over the connection's keys)";
    if (!strcmp(cls, "key-bound"))
        return "key-bound, no nonce (pre-handshake RA-TLS style)";
    if (!strcmp(cls, "key+nonce"))
        return "key+nonce (certificate key and client nonce, intra-handshake)";
    if (!strcmp(cls, "early-exporter"))
        return "early-exporter (the TLS early exporter of the ClientHello, computable by anyone "
               "who sees it; intra-handshake)";
    if (!strcmp(cls, "unbound"))
        return "evidence observed, binding undetermined";
    return "no attestation observed";
}

static void set_open(struct verdict *v, int replay, int relay, int diversion)
{
    v->replay = replay;
    v->relay = relay;
    v->diversion = diversion;
}

static void diversion_reason(struct verdict *v, const struct claims *cl)
{
    char pid[2 * 64 + 1] = "";
    if (cl && cl->platform_id_len)
        hex_encode(cl->platform_id, cl->platform_id_len, pid);
    v->diversion_if = "unless the relying party's policy pins a platform identity";
    reason(v,
           "diversion: open unless the relying party's policy pins a platform identity "
           "(e.g. platform_ids): the probe has no policy, so it cannot know%s%s%s",
           pid[0] ? "; the evidence names platform_id " : "", pid, pid[0] ? ", which a policy can pin" : "");
}

static void legacy_verdict(struct verdict *v, struct conn_obs *cs, bool key_reused)
{
    struct conn_obs *rd_conn = NULL;
    int cls = FORMULA_NONE;
    /* A formula found on a nonce-carrying connection says the most; then the plain one. */
    const int order[] = {C_SNI1, C_SNI2, C_SNI1B, C_ALPN, C_PLAIN};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        struct conn_obs *c = &cs[order[i]];
        if (c->formula_class != FORMULA_NONE) {
            rd_conn = c;
            cls = c->formula_class;
            break;
        }
    }
    const struct conn_obs *s1 = &cs[C_SNI1], *s2 = &cs[C_SNI2], *s1b = &cs[C_SNI1B];
    bool rd_s = has_rd(s1) && has_rd(s2);
    bool changes = rd_s && !rd_equal(s1, s2);
    const struct conn_obs *any = NULL;
    for (int i = 0; i < N_CONNS && !any; i++)
        if (cs[i].tls_ok && cs[i].cev.present)
            any = &cs[i];
    const char *where = any ? any->cev.oid : "?";
    const char *name = any && any->cev.info ? any->cev.info->name : "attestation";
    reason(v, "the server certificate carries evidence in extension %s (%s): it travels inside "
              "the TLS handshake, not after it",
           where, name);

    bool same_nonce_other_key_same_rd =
        has_rd(s1) && has_rd(s1b) && !same_key(s1, s1b) && rd_equal(s1, s1b);
    if (cls == FORMULA_NONE && rd_s) {
        if (!changes)
            cls = FORMULA_KEY;
        else if (same_nonce_other_key_same_rd)
            cls = FORMULA_NONCE;
        else if (s1->key_hash_covers_spki == 1)
            cls = FORMULA_KEY_NONCE;
        else
            cls = FORMULA_NONCE; /* undetermined key coverage: assume the weaker binder */
    }
    if (cls == FORMULA_NONE) {
        /* No parseable report_data: only the bytes can be compared. */
        bool bytes_known = s1->tls_ok && s2->tls_ok && s1->cev.present && s2->cev.present;
        bool bytes_same = bytes_known && memcmp(s1->cev.value_sha256, s2->cev.value_sha256, 32) == 0;
        if (bytes_same) {
            v->cls = "key-bound";
            reason(v, "the evidence is byte-for-byte the same on connections with different "
                      "SNI nonces: it does not depend on anything the client sends");
            set_open(v, 1, 1, 1);
        } else {
            v->cls = "unbound";
            reason(v, "tether cannot parse this evidence (no report_data to compare), and it "
                      "differs between connections: its binder could not be determined; "
                      "assuming the worst");
            set_open(v, 1, 1, 1);
        }
        v->replay_if = v->relay_if = "with a leaked certificate key, if the evidence covers it";
        return;
    }
    if (rd_conn)
        reason(v, "%s (observed on the %s connection)", rd_conn->formula, rd_conn->label);
    if (rd_s)
        reason(v, changes ? "evidence changed when the SNI nonce changed: its signed "
                            "report_data differs between two nonces"
                          : "evidence did not change when the SNI nonce changed: its signed "
                            "report_data is the same for two nonces");
    reason(v, key_reused ? "the certificate key is the same across connections"
                         : "the certificate key differs between connections");
    switch (cls) {
    case FORMULA_NONCE:
        v->cls = "nonce-only";
        if (same_nonce_other_key_same_rd)
            reason(v, "the same nonce with a different certificate key gave the same "
                      "report_data: the evidence does not cover the key");
        else if (!rd_conn)
            reason(v, "whether the evidence also covers the certificate key could not be "
                      "determined; assuming it does not (the weaker binder)");
        set_open(v, 0, 1, 1);
        reason(v, "relay: open to a plain man in the middle: it forwards the client's nonce to "
                  "a genuine server and presents the evidence it gets back with its own key; "
                  "no key needs to leak (protocol research binders #1/#2)");
        reason(v, "replay: closed: each connection's fresh nonce is in the evidence");
        break;
    case FORMULA_KEY:
        v->cls = "key-bound";
        set_open(v, 1, 1, 1);
        v->replay_if = v->relay_if = "with a leaked certificate key";
        reason(v, "replay: open with a leaked certificate key: the evidence names only the key, "
                  "so whoever extracts that key can present this evidence %s (binder #4)",
               key_reused ? "for as long as the key lives (one key serves every connection)"
                          : "again");
        reason(v, "relay: open with a leaked certificate key: the attacker completes the "
                  "handshake with it and presents the genuine evidence, which names nothing of "
                  "the client's connection (binder #4)");
        break;
    case FORMULA_EARLY_EXPORTER:
        v->cls = "early-exporter";
        set_open(v, 0, 1, 1);
        v->relay_if = "with a leaked certificate key and the genuine TEE's evidence read out of "
                      "its encrypted handshake (e.g. a leaked handshake traffic secret)";
        reason(v, "the evidence covers the early exporter of the client's ClientHello: without "
                  "a PSK it has no secret input, so anyone who sees the ClientHello computes "
                  "it; it ties the evidence to the ClientHello, not to the connection's keys "
                  "(binders #3/#5/#7, draft-fossati-tls-attestation-06)");
        reason(v, "relay: open with a leaked certificate key once the genuine TEE's evidence "
                  "can be read: the attacker forwards the client's ClientHello verbatim to a "
                  "genuine TEE (whose Certificate is then encrypted under the client's key "
                  "share), and with that evidence and key answers the client with its own key "
                  "share; a relay that opens its own handshake fails (another ClientHello)");
        reason(v, "replay: closed: each connection's ClientHello%s is in the evidence",
               rd_conn && rd_conn->has_nonce ? " and fresh nonce" : "");
        break;
    default:
        v->cls = "key+nonce";
        set_open(v, 0, 1, 1);
        v->relay_if = "with a leaked certificate key";
        reason(v, "relay: open with a leaked certificate key of any genuine TEE running the "
                  "accepted workload: the attacker feeds the client's nonce to that TEE and "
                  "completes the handshake with the leaked key (binder #6; CVE-2026-33697, "
                  "GHSA-hjgc-jc5v-fw7h)");
        reason(v, "replay: closed: each connection's fresh nonce is in the evidence");
        break;
    }
    diversion_reason(v, any ? &any->cev.claims : NULL);
}

static void make_verdict(struct verdict *v, struct conn_obs *cs, bool key_reused,
                         bool cert_evidence)
{
    const struct conn_obs *p = &cs[C_PLAIN];
    const struct ea_obs *ea = &p->ea;
    if (ea->valid && ea->has_evidence && (ea->exporter_bound || (!ea->rd_checked &&
                                                                  ea->payload_binder_matches))) {
        v->cls = "exporter-bound";
        set_open(v, 0, 0, 1);
        if (ea->exporter_bound)
            reason(v, "the server answered an Exported Authenticator request after the "
                      "handshake; the authenticator's evidence report_data equals "
                      "SHA-512(Hash(SPKI || TLS-Exporter(\"Attestation\", context, 32))) of "
                      "this connection (binding level 3)");
        else
            reason(v, "the server answered an Exported Authenticator request and the payload's "
                      "binder equals this connection's exporter binding; tether cannot parse "
                      "the evidence (media type \"%s\"), so the hardware-signed report_data "
                      "itself was not compared",
                   ea->media_type);
        reason(v, "relay: closed: evidence made for another TLS connection carries that "
                  "connection's exporter, which never equals this one's");
        reason(v, "replay: closed: the request context is 32 fresh random bytes and the "
                  "exporter is unique to the connection");
        if (cs[C_SNI1].ea.valid && memcmp(cs[C_SNI1].ea.key_sha256, ea->key_sha256, 32) != 0)
            reason(v, "the authenticator key differs between two connections (a fresh key per "
                      "authenticator)");
        else if (cs[C_SNI1].ea.valid)
            reason(v, "the authenticator key is the SAME on two connections: a leaked key "
                      "would serve more than one connection (the exporter binding still holds)");
        diversion_reason(v, &ea->claims);
        if (cert_evidence)
            reason(v, "the certificate ALSO carries in-handshake evidence: a relying party that "
                      "accepts that evidence without the authenticator gets none of the above");
        return;
    }
    if (cert_evidence) {
        legacy_verdict(v, cs, key_reused);
        return;
    }
    if (ea->valid && ea->has_evidence) {
        v->cls = "unbound";
        set_open(v, 1, 1, 1);
        reason(v, "the server answered an Exported Authenticator request, but %s", ea->detail);
        return;
    }
    v->cls = "no-attestation";
    set_open(v, -1, -1, -1);
    reason(v, "no certificate extension with a known attestation OID on any connection");
    reason(v, "no attested Exported Authenticator: %s",
           ea->detail[0] ? ea->detail : "not requested");
    reason(v, "replay, relay and diversion of attestation do not apply: there is no "
              "attestation to trust; the server is authenticated by its certificate alone, if "
              "at all");
}

/* ======================================================================================
 * The report
 * ====================================================================================== */

static json_t *jtri(int v)
{
    return v < 0 ? json_null() : json_boolean(v);
}

static json_t *conn_json(const struct conn_obs *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(c->label));
    json_object_set_new(o, "sni", c->sni[0] ? jstr(c->sni) : json_null());
    json_object_set_new(o, "alpn_offered", c->alpn_offered[0] ? jstr(c->alpn_offered) : json_null());
    json_object_set_new(o, "tls", json_boolean(c->tls_ok));
    json_object_set_new(o, "error", c->error[0] ? jstr(c->error) : json_null());
    if (!c->tls_ok)
        return o;
    json_object_set_new(o, "version", jstr(c->version));
    json_object_set_new(o, "cert_sha256", c->cert ? jhex(c->cert_sha256, 32) : json_null());
    json_object_set_new(o, "key_sha256", c->spki ? jhex(c->key_sha256, 32) : json_null());
    if (c->cev.present) {
        json_object_set_new(o, "evidence_sha256", jhex(c->cev.value_sha256, 32));
        json_object_set_new(o, "report_data", c->cev.claims.has_report_data
                                                  ? jhex(c->cev.claims.report_data, 64)
                                                  : json_null());
        json_object_set_new(o, "report_data_formula", c->formula[0] ? jstr(c->formula) : json_null());
    }
    if (c->ea.requested) {
        json_object_set_new(o, "ea_answered", json_boolean(c->ea.answered));
        json_object_set_new(o, "ea_exporter_bound", json_boolean(c->ea.exporter_bound));
        if (c->ea.valid && !c->ea.empty)
            json_object_set_new(o, "ea_key_sha256", jhex(c->ea.key_sha256, 32));
    }
    return o;
}

static json_t *ea_json(const struct conn_obs *p, const struct conn_obs *second)
{
    const struct ea_obs *e = &p->ea;
    json_t *o = json_object();
    json_object_set_new(o, "requested", json_boolean(e->requested));
    json_object_set_new(o, "answered", json_boolean(e->answered));
    json_object_set_new(o, "valid", json_boolean(e->valid));
    json_object_set_new(o, "empty", json_boolean(e->empty));
    json_object_set_new(o, "tether_framing", json_boolean(e->framing));
    char s[8];
    snprintf(s, sizeof s, "0x%04x", e->sigalg);
    json_object_set_new(o, "signature_scheme", e->valid && !e->empty ? json_string(s) : json_null());
    json_object_set_new(o, "media_type", e->media_type[0] ? jstr(e->media_type) : json_null());
    json_object_set_new(o, "exporter_label", e->label[0] ? jstr(e->label) : json_null());
    json_object_set_new(o, "evidence_type", jstr(e->backend ? e->backend->name : NULL));
    json_object_set_new(o, "tee", e->claims.tee[0] ? jstr(e->claims.tee) : json_null());
    json_object_set_new(o, "simulated", json_boolean(e->claims.simulated));
    json_object_set_new(o, "platform_id", e->claims.platform_id_len
                                              ? jhex(e->claims.platform_id, e->claims.platform_id_len)
                                              : json_null());
    json_object_set_new(o, "report_data_checked", json_boolean(e->rd_checked));
    json_object_set_new(o, "exporter_bound", json_boolean(e->exporter_bound));
    json_object_set_new(o, "payload_binder_matches", json_boolean(e->payload_binder_matches));
    json_object_set_new(o, "authenticity_checked", json_false());
    json_object_set_new(o, "key_fresh_per_connection",
                        e->valid && !e->empty && second->ea.valid && !second->ea.empty
                            ? json_boolean(memcmp(e->key_sha256, second->ea.key_sha256, 32) != 0)
                            : json_null());
    json_object_set_new(o, "detail", e->detail[0] ? jstr(e->detail) : json_null());
    return o;
}

static json_t *cert_evidence_json(struct conn_obs *cs)
{
    const struct conn_obs *any = NULL;
    for (int i = 0; i < N_CONNS && !any; i++)
        if (cs[i].tls_ok && cs[i].cev.present)
            any = &cs[i];
    json_t *o = json_object();
    json_object_set_new(o, "present", json_boolean(any != NULL));
    if (!any)
        return o;
    const struct cert_evidence *e = &any->cev;
    json_object_set_new(o, "oid", jstr(e->oid));
    json_object_set_new(o, "name", jstr(e->info ? e->info->name : NULL));
    json_object_set_new(o, "evidence_type", jstr(e->backend ? e->backend->name : NULL));
    const char *tee = e->claims.tee[0] ? e->claims.tee : e->info && e->info->tee ? e->info->tee : e->tag_tee;
    json_object_set_new(o, "tee", jstr(tee));
    json_object_set_new(o, "simulated", json_boolean(e->claims.simulated));
    json_object_set_new(o, "media_type", e->media_type[0] ? jstr(e->media_type) : json_null());
    json_object_set_new(o, "cbor_tag", jstr(e->tag_name));
    json_object_set_new(o, "authenticity_checked", json_false());
    const char *formula = NULL;
    for (int i = 0; i < N_CONNS && !formula; i++)
        if (cs[i].formula[0] && cs[i].has_nonce)
            formula = cs[i].formula;
    for (int i = 0; i < N_CONNS && !formula; i++)
        if (cs[i].formula[0])
            formula = cs[i].formula;
    json_object_set_new(o, "report_data_formula", jstr(formula));
    const struct conn_obs *s1 = &cs[C_SNI1], *s2 = &cs[C_SNI2], *s1b = &cs[C_SNI1B];
    json_object_set_new(o, "changes_with_sni_nonce",
                        has_rd(s1) && has_rd(s2) ? json_boolean(!rd_equal(s1, s2)) : json_null());
    json_object_set_new(o, "same_nonce_same_report_data",
                        has_rd(s1) && has_rd(s1b) ? json_boolean(rd_equal(s1, s1b)) : json_null());
    json_object_set_new(o, "key_hash_covers_certificate_key",
                        jtri(s1->tls_ok ? s1->key_hash_covers_spki : any->key_hash_covers_spki));
    bool plain_failed = cs[C_PLAIN].attempted && !cs[C_PLAIN].tls_ok && s1->tls_ok;
    bool plain_no_ev = cs[C_PLAIN].tls_ok && !cs[C_PLAIN].cev.present;
    json_object_set_new(o, "requires_nonce", json_boolean(plain_failed || plain_no_ev));
    return o;
}

static void fill_nonce(struct conn_obs *c, const char *carrier)
{
    if (RAND_bytes(c->nonce, sizeof c->nonce) != 1)
        return;
    c->has_nonce = true;
    c->carrier = carrier;
    hex_encode(c->nonce, sizeof c->nonce, c->nonce_hex);
}

TETHER_API int tether_probe(const char *addr, const char *servername, unsigned timeout_ms,
                            char **report_json, char *errbuf, size_t errlen)
{
    if (report_json)
        *report_json = NULL;
    if (errbuf && errlen)
        errbuf[0] = '\0';
    struct probe_run pr;
    memset(&pr, 0, sizeof pr);
    if (!report_json || !addr ||
        split_addr(addr, pr.host, sizeof pr.host, pr.port, sizeof pr.port) != 0) {
        errbuf_set(errbuf, errlen, "the target must be HOST:PORT or [IPv6]:PORT");
        return -TETHER_ERR_USAGE;
    }
    if (servername && (!servername[0] || strlen(servername) > 253)) {
        errbuf_set(errbuf, errlen, "invalid server name");
        return -TETHER_ERR_USAGE;
    }
    pr.addr = addr;
    pr.timeout_ms = timeout_ms ? timeout_ms : PROBE_DEFAULT_TIMEOUT_MS;
    pr.ctx = probe_ssl_ctx();
    if (!pr.ctx) {
        errbuf_set(errbuf, errlen, "cannot set up TLS");
        ERR_clear_error();
        return -TETHER_ERR_INTERNAL;
    }
    struct conn_obs *cs = calloc(N_CONNS, sizeof *cs);
    json_t *rep = NULL;
    int rc = -TETHER_ERR_INTERNAL;
    if (!cs)
        goto out;
    static const char *const labels[N_CONNS] = {"plain", "sni-nonce-1", "sni-nonce-2",
                                                "sni-nonce-1-again", "alpn-nonce"};
    for (int i = 0; i < N_CONNS; i++)
        cs[i].label = labels[i];

    /* 1. plain, with the EA request */
    if (servername)
        snprintf(cs[C_PLAIN].sni, sizeof cs[C_PLAIN].sni, "%s", servername);
    int r0 = probe_connect(&pr, &cs[C_PLAIN], true);
    if (r0 == -1) { /* nothing listens (or cannot resolve): stop here */
        errbuf_set(errbuf, errlen, "%s", cs[C_PLAIN].error);
        rc = -TETHER_ERR_IO;
        goto out;
    }
    /* 2, 3. SNI nonces */
    fill_nonce(&cs[C_SNI1], "sni");
    fill_nonce(&cs[C_SNI2], "sni");
    for (int i = C_SNI1; i <= C_SNI2; i++)
        snprintf(cs[i].sni, sizeof cs[i].sni, "%s.nonce", cs[i].nonce_hex);
    (void)probe_connect(&pr, &cs[C_SNI1], cs[C_PLAIN].ea.answered);
    /* Neither a plain nor a nonce-carrying handshake worked: a third try tells nothing new. */
    if (cs[C_PLAIN].tls_ok || cs[C_SNI1].tls_ok)
        (void)probe_connect(&pr, &cs[C_SNI2], false);
    bool cert_evidence = false;
    for (int i = 0; i < N_CONNS; i++)
        cert_evidence |= cs[i].tls_ok && cs[i].cev.present;
    /* 4, 5. only when the certificate carries evidence */
    if (cert_evidence) {
        struct conn_obs *c = &cs[C_SNI1B]; /* the first nonce again, fresh observation */
        memcpy(c->nonce, cs[C_SNI1].nonce, sizeof c->nonce);
        memcpy(c->nonce_hex, cs[C_SNI1].nonce_hex, sizeof c->nonce_hex);
        memcpy(c->sni, cs[C_SNI1].sni, sizeof c->sni);
        c->has_nonce = cs[C_SNI1].has_nonce;
        c->carrier = "sni";
        (void)probe_connect(&pr, c, false);
        fill_nonce(&cs[C_ALPN], "alpn");
        snprintf(cs[C_ALPN].alpn_offered, sizeof cs[C_ALPN].alpn_offered, "%s",
                 cs[C_ALPN].nonce_hex);
        if (servername)
            snprintf(cs[C_ALPN].sni, sizeof cs[C_ALPN].sni, "%s", servername);
        (void)probe_connect(&pr, &cs[C_ALPN], false);
    }
    if (!cs[C_PLAIN].tls_ok)
        snprintf(cs[C_PLAIN].ea.detail, sizeof cs[C_PLAIN].ea.detail,
                 "not requested: the connection without a nonce failed (%s)", cs[C_PLAIN].error);
    int first = -1;
    for (int i = 0; i < N_CONNS; i++) {
        if (cs[i].tls_ok && first < 0)
            first = i;
        analyse_cert_evidence(&cs[i]);
    }
    if (first < 0) {
        errbuf_set(errbuf, errlen, "%s", cs[C_PLAIN].error);
        rc = cs[C_PLAIN].tcp_ok ? -TETHER_ERR_TLS : -TETHER_ERR_IO;
        goto out;
    }
    const struct conn_obs *f = &cs[first];

    /* key reuse over every connection that came up */
    bool key_reused = false, key_compared = false;
    for (int i = 0; i < N_CONNS; i++)
        for (int j = i + 1; j < N_CONNS; j++)
            if (cs[i].tls_ok && cs[j].tls_ok && cs[i].spki && cs[j].spki) {
                key_compared = true;
                key_reused |= same_key(&cs[i], &cs[j]);
            }

    struct verdict v;
    memset(&v, 0, sizeof v);
    v.reasons = json_array();
    rep = json_object();
    if (!v.reasons || !rep) {
        json_decref(v.reasons);
        goto out;
    }
    make_verdict(&v, cs, key_reused, cert_evidence);
    if (!cs[C_PLAIN].tls_ok && cs[C_SNI1].tls_ok)
        reason(&v, "the server refused the connection without a nonce (%s) and accepted the one "
                   "with an SNI nonce: it requires a nonce in the ClientHello",
               cs[C_PLAIN].error);
    if (f->tls_version != TLS1_3_VERSION)
        reason(&v, "TLS: the server negotiated %s, not TLS 1.3: post-handshake attestation "
                   "with Exported Authenticators (draft-fossati-seat-expat) needs TLS 1.3",
               f->version);

    json_object_set_new(rep, "target", jstr(addr));
    json_object_set_new(rep, "servername", jstr(servername));
    json_t *tls = json_object();
    json_object_set_new(tls, "version", jstr(f->version));
    json_object_set_new(tls, "cipher", jstr(f->cipher));
    json_object_set_new(tls, "alpn", f->alpn[0] ? jstr(f->alpn) : json_null());
    json_object_set_new(tls, "tls13", json_boolean(f->tls_version == TLS1_3_VERSION));
    json_object_set_new(tls, "observed_on", json_string(f->label));
    json_object_set_new(rep, "tls", tls);
    json_t *cert = f->cert ? probe_cert_json(f->cert) : json_null();
    if (json_is_object(cert))
        json_object_set(cert, "chain", f->chain ? f->chain : json_null());
    json_object_set_new(rep, "certificate", cert ? cert : json_null());
    json_object_set_new(rep, "certificate_evidence", cert_evidence_json(cs));

    json_t *carriers = json_array();
    const struct conn_obs *pl = &cs[C_PLAIN];
    bool sni_carrier = false, alpn_carrier = false;
    if (cert_evidence) {
        for (int i = C_SNI1; i <= C_SNI1B; i++)
            sni_carrier |= cs[i].formula_class == FORMULA_NONCE ||
                           cs[i].formula_class == FORMULA_KEY_NONCE ||
                           cs[i].formula_class == FORMULA_EARLY_EXPORTER;
        if (has_rd(&cs[C_SNI1]) && has_rd(&cs[C_SNI2]) && same_key(&cs[C_SNI1], &cs[C_SNI2]) &&
            !rd_equal(&cs[C_SNI1], &cs[C_SNI2]))
            sni_carrier = true;
        alpn_carrier = cs[C_ALPN].formula_class == FORMULA_NONCE ||
                       cs[C_ALPN].formula_class == FORMULA_KEY_NONCE ||
                       cs[C_ALPN].formula_class == FORMULA_EARLY_EXPORTER;
        if (has_rd(&cs[C_ALPN]) && has_rd(pl) && same_key(&cs[C_ALPN], pl) &&
            !rd_equal(&cs[C_ALPN], pl))
            alpn_carrier = true;
    }
    if (sni_carrier)
        json_array_append_new(carriers, json_string("sni"));
    if (alpn_carrier)
        json_array_append_new(carriers, json_string("alpn"));
    if (sni_carrier)
        reason(&v, "nonce carrier: SNI (\"<64 hex>.nonce\"): the evidence follows the nonce sent "
                   "there");
    if (alpn_carrier)
        reason(&v, "nonce carrier: ALPN: the evidence follows the nonce sent there");
    json_object_set_new(rep, "nonce_carriers", carriers);
    json_object_set_new(rep, "exported_authenticator", ea_json(pl, &cs[C_SNI1]));
    json_object_set_new(rep, "key_reused_across_connections",
                        key_compared ? json_boolean(key_reused) : json_null());
    if (key_compared && key_reused && !strcmp(v.cls, "exporter-bound"))
        reason(&v, "the TLS certificate key is the same across connections; it carries no "
                   "evidence and is not what the relying party trusts, the per-authenticator "
                   "key is");
    const char *tee = pl->ea.claims.tee[0] ? pl->ea.claims.tee : NULL;
    bool simulated = pl->ea.claims.tee[0] ? pl->ea.claims.simulated : false;
    for (int i = 0; i < N_CONNS && !tee; i++)
        if (cs[i].tls_ok && cs[i].cev.present) {
            const struct cert_evidence *e = &cs[i].cev;
            tee = e->claims.tee[0] ? e->claims.tee : e->info && e->info->tee ? e->info->tee : e->tag_tee;
            simulated = e->claims.simulated;
        }
    json_object_set_new(rep, "tee", jstr(tee));
    json_object_set_new(rep, "simulated", json_boolean(simulated));
    if (simulated)
        reason(&v, "the TEE is SIMULATED: its evidence proves nothing about hardware");
    json_object_set_new(rep, "binder_class", json_string(v.cls));
    json_object_set_new(rep, "binder_description", json_string(class_label(v.cls)));
    json_t *open = json_object();
    json_object_set_new(open, "replay", jtri(v.replay));
    json_object_set_new(open, "relay", jtri(v.relay));
    json_object_set_new(open, "diversion", jtri(v.diversion));
    json_object_set_new(rep, "open_to", open);
    json_t *cond = json_object();
    json_object_set_new(cond, "replay", jstr(v.replay == 1 ? v.replay_if : NULL));
    json_object_set_new(cond, "relay", jstr(v.relay == 1 ? v.relay_if : NULL));
    json_object_set_new(cond, "diversion", jstr(v.diversion == 1 ? v.diversion_if : NULL));
    json_object_set_new(rep, "open_to_conditions", cond);
    json_object_set_new(rep, "reasons", v.reasons);
    json_object_set_new(rep, "appraised", json_false());
    json_t *conns = json_array();
    for (int i = 0; i < N_CONNS; i++)
        if (cs[i].attempted)
            json_array_append_new(conns, conn_json(&cs[i]));
    json_object_set_new(rep, "connections", conns);

    size_t need = json_dumpb(rep, NULL, 0, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char *s = need ? malloc(need + 1) : NULL;
    if (!s || json_dumpb(rep, s, need, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != need) {
        free(s);
        errbuf_set(errbuf, errlen, "out of memory");
        goto out;
    }
    s[need] = '\0';
    *report_json = s;
    rc = 0;
out:
    if (rc == -TETHER_ERR_INTERNAL && errbuf && errlen && !errbuf[0])
        errbuf_set(errbuf, errlen, "out of memory");
    json_decref(rep);
    if (cs)
        for (int i = 0; i < N_CONNS; i++)
            conn_obs_clear(&cs[i]);
    free(cs);
    SSL_CTX_free(pr.ctx);
    ERR_clear_error();
    return rc;
}
