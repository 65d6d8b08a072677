/*
 * gce.c - the bounded protobuf wire-format reader and the go-tpm-tools attest.Attestation
 * parser (gce.h has the message layout and the rules). References: the protobuf encoding
 * specification (varints, wire types, maps as repeated entry messages {1: key, 2: value});
 * google/go-tpm-tools proto/attest.proto and proto/tpm.proto (field numbers, checked against
 * the real GCE vectors of ../shared/vectors/tpm/go-tpm-tools).
 *
 * Must never: read outside the input or the enclosing message, loop without consuming input,
 * recurse deeper than GCE_PB_MAX_DEPTH, accept a field of interest twice, or accept a value
 * larger than its bound.
 */
#include "evidence/tpm/gce.h"

#include <string.h>

static int bad(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

void gce_pb_init(struct gce_pb *m, const uint8_t *p, size_t len)
{
    m->p = p;
    m->len = p ? len : 0;
    m->pos = 0;
    m->depth = 0;
}

int gce_pb_varint(const uint8_t *p, size_t n, uint64_t *v, size_t *used)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 10; i++) {
        if (i >= n)
            return -1; /* truncated */
        uint8_t c = p[i];
        /* The tenth byte carries bit 63 only. */
        if (i == 9 && (c & 0x7e))
            return -1;
        x |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *v = x;
            *used = i + 1;
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

static uint64_t le_value(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

int gce_pb_next(struct gce_pb *m, struct gce_pb_field *f, const char **why)
{
    memset(f, 0, sizeof *f);
    if (m->pos >= m->len)
        return 0;
    const uint8_t *p = m->p + m->pos;
    size_t left = m->len - m->pos, used = 0;
    uint64_t key = 0;
    if (gce_pb_varint(p, left, &key, &used) != 0)
        return bad(why, "protobuf: malformed field key (varint)");
    if (key > UINT32_MAX || (key >> 3) == 0)
        return bad(why, "protobuf: field number out of range (0 or above 2^29 - 1)");
    f->number = (uint32_t)(key >> 3);
    f->wire = (unsigned)(key & 7);
    p += used;
    left -= used;
    size_t body = 0;
    switch (f->wire) {
    case GCE_PB_VARINT: {
        size_t vu = 0;
        if (gce_pb_varint(p, left, &f->value, &vu) != 0)
            return bad(why, "protobuf: malformed varint value");
        body = vu;
        break;
    }
    case GCE_PB_I64:
    case GCE_PB_I32: {
        size_t w = f->wire == GCE_PB_I64 ? 8 : 4;
        if (left < w)
            return bad(why, "protobuf: truncated fixed-width value");
        f->data = p;
        f->len = w;
        f->value = le_value(p, w);
        body = w;
        break;
    }
    case GCE_PB_LEN: {
        uint64_t l = 0;
        size_t lu = 0;
        if (gce_pb_varint(p, left, &l, &lu) != 0)
            return bad(why, "protobuf: malformed length (varint)");
        if (l > left - lu)
            return bad(why, "protobuf: length-delimited field longer than its message");
        f->data = p + lu;
        f->len = (size_t)l;
        body = lu + (size_t)l;
        break;
    }
    case GCE_PB_SGROUP:
    case GCE_PB_EGROUP:
        return bad(why, "protobuf: groups (wire types 3, 4) are not supported");
    default:
        return bad(why, "protobuf: invalid wire type (6 or 7)");
    }
    m->pos += used + body;
    return 1;
}

int gce_pb_enter(const struct gce_pb *m, const struct gce_pb_field *f, struct gce_pb *child,
                 const char **why)
{
    if (f->wire != GCE_PB_LEN)
        return bad(why, "protobuf: an embedded message must be length-delimited");
    if (m->depth + 1 > GCE_PB_MAX_DEPTH)
        return bad(why, "protobuf: messages nested too deeply");
    if (!f->data || f->data < m->p || f->len > (size_t)(m->p + m->len - f->data))
        return bad(why, "protobuf: embedded message outside its parent");
    gce_pb_init(child, f->data, f->len);
    child->depth = m->depth + 1;
    return 0;
}

/* ---- attest.Attestation ------------------------------------------------------------------ */

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

bool gce_attestation_recognise(const uint8_t *buf, size_t len)
{
    /* Tag 0x0a = field 1, wire type 2. */
    if (!buf || len < 8 || len > GCE_MAX_LEN || buf[0] != 0x0a)
        return false;
    uint64_t l = 0;
    size_t used = 0;
    if (gce_pb_varint(buf + 1, len - 1, &l, &used) != 0 || l < 8 || l > GCE_MAX_AK_PUB ||
        l > len - 1 - used)
        return false;
    const uint8_t *pub = buf + 1 + used;
    uint16_t type = be16(pub), name_alg = be16(pub + 2);
    return (type == TPM_ALG_RSA || type == TPM_ALG_ECC) && tpm_hash_size(name_alg) != 0;
}

/* One map<uint32, bytes> entry {1: key, 2: value} into bank (sizes checked by the caller). */
static int pcr_entry(const struct gce_pb *parent, const struct gce_pb_field *ef,
                     struct tpm_pcr_bank *bank, size_t lens[TPM_PCRS], const char **why)
{
    struct gce_pb e;
    struct gce_pb_field f;
    if (gce_pb_enter(parent, ef, &e, why) != 0)
        return -1;
    uint64_t key = 0; /* absent: the default, 0 */
    const uint8_t *val = NULL;
    size_t vlen = 0;
    bool have_key = false, have_val = false;
    int r;
    while ((r = gce_pb_next(&e, &f, why)) == 1) {
        if (f.number == 1) {
            if (f.wire != GCE_PB_VARINT || have_key)
                return bad(why, "PCRs.pcrs: map key twice or not a varint");
            key = f.value;
            have_key = true;
        } else if (f.number == 2) {
            if (f.wire != GCE_PB_LEN || have_val)
                return bad(why, "PCRs.pcrs: map value twice or not bytes");
            val = f.data;
            vlen = f.len;
            have_val = true;
        }
    }
    if (r < 0)
        return -1;
    if (key >= TPM_PCRS)
        return bad(why, "PCRs.pcrs: PCR index above 23");
    if (bank->present & (1u << key))
        return bad(why, "PCRs.pcrs: a PCR index given twice");
    if (vlen > TPM_MAX_DIGEST)
        return bad(why, "PCRs.pcrs: PCR value longer than any digest");
    if (vlen)
        memcpy(bank->value[key], val, vlen);
    lens[key] = vlen;
    bank->present |= 1u << key;
    return 0;
}

/* PCRs {1: hash, 2: map<uint32, bytes> pcrs}. */
static int parse_pcrs(const struct gce_pb *parent, const struct gce_pb_field *pf,
                      struct tpm_pcr_bank *bank, const char **why)
{
    struct gce_pb m;
    struct gce_pb_field f;
    size_t lens[TPM_PCRS] = {0};
    bool have_hash = false;
    uint64_t hash = 0;
    if (gce_pb_enter(parent, pf, &m, why) != 0)
        return -1;
    memset(bank, 0, sizeof *bank);
    int r;
    while ((r = gce_pb_next(&m, &f, why)) == 1) {
        if (f.number == 1) {
            if (f.wire != GCE_PB_VARINT || have_hash)
                return bad(why, "PCRs.hash: given twice or not a varint");
            hash = f.value;
            have_hash = true;
        } else if (f.number == 2) {
            if (f.wire != GCE_PB_LEN)
                return bad(why, "PCRs.pcrs: a map entry must be length-delimited");
            if (pcr_entry(&m, &f, bank, lens, why) != 0)
                return -1;
        }
    }
    if (r < 0)
        return -1;
    size_t hs = hash <= UINT16_MAX ? tpm_hash_size((uint16_t)hash) : 0;
    if (hs == 0)
        return bad(why, "PCRs.hash: missing or not a supported TPM hash algorithm");
    bank->hash_alg = (uint16_t)hash;
    for (unsigned i = 0; i < TPM_PCRS; i++)
        if ((bank->present & (1u << i)) && lens[i] != hs)
            return bad(why, "PCRs.pcrs: a PCR value is not of the bank's digest size");
    return 0;
}

/* Quote {1: quote, 2: raw_sig, 3: pcrs}. */
static int parse_quote(const struct gce_pb *parent, const struct gce_pb_field *qf,
                       struct gce_quote *q, const char **why)
{
    struct gce_pb m;
    struct gce_pb_field f;
    bool have_pcrs = false;
    if (gce_pb_enter(parent, qf, &m, why) != 0)
        return -1;
    int r;
    while ((r = gce_pb_next(&m, &f, why)) == 1) {
        switch (f.number) {
        case 1:
            if (f.wire != GCE_PB_LEN || q->quote)
                return bad(why, "Quote.quote: given twice or not bytes");
            if (f.len == 0 || f.len > TPM_MAX_ATTEST)
                return bad(why, "Quote.quote: empty or larger than a TPM2B_ATTEST");
            q->quote = f.data;
            q->quote_len = f.len;
            break;
        case 2:
            if (f.wire != GCE_PB_LEN || q->raw_sig)
                return bad(why, "Quote.raw_sig: given twice or not bytes");
            if (f.len == 0 || f.len > TPM_MAX_SIG)
                return bad(why, "Quote.raw_sig: empty or larger than a TPMT_SIGNATURE");
            q->raw_sig = f.data;
            q->raw_sig_len = f.len;
            break;
        case 3:
            if (have_pcrs)
                return bad(why, "Quote.pcrs: given twice");
            if (parse_pcrs(&m, &f, &q->pcrs, why) != 0)
                return -1;
            have_pcrs = true;
            break;
        default:
            break; /* unknown: skipped */
        }
    }
    if (r < 0)
        return -1;
    if (!q->quote || !q->raw_sig || !have_pcrs)
        return bad(why, "Quote: quote, raw_sig and pcrs are all required");
    return 0;
}

static int cert_field(const struct gce_pb_field *f, const char *what, const char **why)
{
    if (f->wire != GCE_PB_LEN)
        return bad(why, what);
    if (f->len == 0 || f->len > GCE_MAX_CERT)
        return bad(why, "Attestation: a certificate is empty or larger than 8 KiB");
    return 0;
}

int gce_attestation_parse(const uint8_t *buf, size_t len, struct gce_attestation *out,
                          const char **why)
{
    if (!out)
        return bad(why, "no output");
    memset(out, 0, sizeof *out);
    if (!buf || len == 0)
        return bad(why, "empty input");
    if (len > GCE_MAX_LEN)
        return bad(why, "Attestation: larger than 1 MiB");
    struct gce_pb m;
    struct gce_pb_field f;
    gce_pb_init(&m, buf, len);
    int r;
    while ((r = gce_pb_next(&m, &f, why)) == 1) {
        switch (f.number) {
        case 1: /* ak_pub */
            if (f.wire != GCE_PB_LEN || out->ak_pub)
                return bad(why, "Attestation.ak_pub: given twice or not bytes");
            if (f.len == 0 || f.len > GCE_MAX_AK_PUB)
                return bad(why, "Attestation.ak_pub: empty or larger than 1 KiB");
            out->ak_pub = f.data;
            out->ak_pub_len = f.len;
            break;
        case 2: /* quotes */
            if (out->n_quotes == GCE_MAX_QUOTES)
                return bad(why, "Attestation.quotes: more than 4 quotes");
            if (parse_quote(&m, &f, &out->quotes[out->n_quotes], why) != 0)
                return -1;
            out->n_quotes++;
            break;
        case 3: /* event_log */
        case 5: /* canonical_event_log */
            if (f.wire != GCE_PB_LEN)
                return bad(why, "Attestation: an event log must be bytes");
            if (f.number == 3)
                out->event_log_len = f.len;
            else
                out->canonical_event_log_len = f.len;
            break;
        case 4: /* instance_info */
            if (f.wire != GCE_PB_LEN)
                return bad(why, "Attestation.instance_info: not a message");
            out->has_instance_info = true;
            break;
        case 6: /* ak_cert */
            if (cert_field(&f, "Attestation.ak_cert: not bytes", why) != 0)
                return -1;
            if (out->ak_cert)
                return bad(why, "Attestation.ak_cert: given twice");
            out->ak_cert = f.data;
            out->ak_cert_len = f.len;
            break;
        case 7: /* intermediate_certs */
            if (cert_field(&f, "Attestation.intermediate_certs: not bytes", why) != 0)
                return -1;
            if (out->n_intermediates == GCE_MAX_INTERMEDIATES)
                return bad(why, "Attestation.intermediate_certs: more than 8 certificates");
            out->intermediates[out->n_intermediates] = f.data;
            out->intermediate_lens[out->n_intermediates++] = f.len;
            break;
        case 8: /* sev_snp_attestation */
        case 9: /* tdx_attestation */
            if (f.wire != GCE_PB_LEN)
                return bad(why, "Attestation.tee_attestation: not a message");
            if (out->tee_attestation)
                return bad(why, "Attestation.tee_attestation: given twice");
            out->tee_attestation = f.number;
            break;
        default:
            break; /* unknown: skipped (bounded by the reader) */
        }
    }
    if (r < 0)
        return -1;
    if (!out->ak_pub)
        return bad(why, "Attestation.ak_pub: missing");
    if (out->n_quotes == 0)
        return bad(why, "Attestation.quotes: no quote");
    return 0;
}
