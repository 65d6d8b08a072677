/*
 * snp_certtable.c - the GHCB extended-report certificate table (snp_certtable.h).
 *
 * GHCB spec 56421, 4.1.8.1 (SNP Extended Guest Request): "the certificate table is an array
 * of GUID/offset/length entries, terminated by an entry of all zeroes; offsets are relative to
 * the start of the table". The bounds below are ours (the spec sets none): at most 64 entries,
 * at most 64 KiB per certificate, every certificate inside the table, after the entry array,
 * and not overlapping another one.
 * Must never: read outside the input, do pointer arithmetic outside the bounded reader, or
 * accept a certificate that overlaps the entry array or another certificate.
 */
#include "evidence/snp/snp_certtable.h"

#include <string.h>

/* GHCB spec 56421, Table "Certificate GUIDs"; RFC 4122 byte order. */
static const uint8_t GUIDS[SNP_CERT_KIND_COUNT][SNP_GUID_LEN] = {
    [SNP_CERT_VCEK] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9,
                       0x3b, 0xe8, 0xac, 0xcd},
    [SNP_CERT_VLEK] = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0,
                       0x45, 0xa0, 0xb8, 0xa1},
    [SNP_CERT_ASK] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae,
                      0xf3, 0x27, 0xc7, 0x82},
    [SNP_CERT_ARK] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6,
                      0x01, 0x4c, 0xd0, 0xae},
};

static int fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

const uint8_t *snp_cert_guid(enum snp_cert_kind k)
{
    return (unsigned)k < SNP_CERT_KIND_COUNT ? GUIDS[k] : NULL;
}

const char *snp_cert_kind_name(enum snp_cert_kind k)
{
    switch (k) {
    case SNP_CERT_VCEK:
        return "VCEK";
    case SNP_CERT_VLEK:
        return "VLEK";
    case SNP_CERT_ASK:
        return "ASK";
    case SNP_CERT_ARK:
        return "ARK";
    default:
        return "other";
    }
}

static enum snp_cert_kind kind_of(const uint8_t guid[SNP_GUID_LEN])
{
    for (int k = 0; k < SNP_CERT_KIND_COUNT; k++)
        if (memcmp(guid, GUIDS[k], SNP_GUID_LEN) == 0)
            return (enum snp_cert_kind)k;
    return SNP_CERT_OTHER;
}

static bool zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

int snp_certtable_parse(const uint8_t *buf, size_t len, struct snp_certtable *out,
                        const char **why)
{
    if (why)
        *why = NULL;
    if (!out)
        return fail(why, "no output");
    memset(out, 0, sizeof *out);
    if (!buf || len < SNP_CERTTABLE_ENTRY_LEN)
        return fail(why, "certificate table truncated (no terminator)");

    struct bytes_reader r;
    reader_init(&r, buf, len);
    bool terminated = false;
    for (size_t i = 0; i <= SNP_CERTTABLE_MAX_ENTRIES; i++) {
        const uint8_t *guid;
        uint32_t off = 0, n = 0;
        reader_bytes(&r, SNP_GUID_LEN, &guid);
        reader_u32le(&r, &off);
        reader_u32le(&r, &n);
        if (r.failed)
            return fail(why, "certificate table truncated (no terminator)");
        if (zero(guid, SNP_GUID_LEN)) {
            /* GHCB 56421 4.1.8.1: the terminator is an entry of all zeroes. */
            if (off != 0 || n != 0)
                return fail(why, "certificate table terminator is not all zero");
            terminated = true;
            break;
        }
        if (i == SNP_CERTTABLE_MAX_ENTRIES)
            break;
        struct snp_cert_entry *e = &out->entries[out->count++];
        memcpy(e->guid, guid, SNP_GUID_LEN);
        e->kind = kind_of(guid);
        e->offset = off;
        e->len = n;
    }
    if (!terminated)
        return fail(why, "certificate table has more than 64 entries");
    size_t array_end = r.pos; /* terminator included */
    out->used_len = array_end;

    for (size_t i = 0; i < out->count; i++) {
        struct snp_cert_entry *e = &out->entries[i];
        if (e->len == 0)
            return fail(why, "certificate table entry with zero length");
        if (e->len > SNP_CERT_MAX_LEN)
            return fail(why, "certificate larger than 64 KiB");
        if (e->offset < array_end)
            return fail(why, "certificate overlaps the entry array");
        if (e->offset > len || e->len > len - e->offset)
            return fail(why, "certificate outside the table");
        for (size_t j = 0; j < i; j++) {
            const struct snp_cert_entry *o = &out->entries[j];
            if (memcmp(o->guid, e->guid, SNP_GUID_LEN) == 0)
                return fail(why, "duplicate GUID in the certificate table");
            if ((size_t)e->offset < (size_t)o->offset + o->len &&
                (size_t)o->offset < (size_t)e->offset + e->len)
                return fail(why, "certificates overlap");
        }
        /* Borrow through a fresh bounded reader positioned at the offset. */
        struct bytes_reader c;
        const uint8_t *skip;
        reader_init(&c, buf, len);
        if (!reader_bytes(&c, e->offset, &skip) || !reader_bytes(&c, e->len, &e->der))
            return fail(why, "certificate outside the table");
        if ((size_t)e->offset + e->len > out->used_len)
            out->used_len = (size_t)e->offset + e->len;
    }
    return 0;
}

const struct snp_cert_entry *snp_certtable_find(const struct snp_certtable *t,
                                                enum snp_cert_kind k)
{
    if (!t || (unsigned)k >= SNP_CERT_KIND_COUNT)
        return NULL;
    for (size_t i = 0; i < t->count && i < SNP_CERTTABLE_MAX_ENTRIES; i++)
        if (t->entries[i].kind == k)
            return &t->entries[i];
    return NULL;
}

int snp_certtable_encode(const struct snp_cert_blob *certs, size_t count,
                         struct bytes_writer *w)
{
    if (!w || (count && !certs) || count > SNP_CERTTABLE_MAX_ENTRIES)
        return -1;
    bool seen[SNP_CERT_KIND_COUNT] = {false};
    size_t off = (count + 1) * SNP_CERTTABLE_ENTRY_LEN;
    for (size_t i = 0; i < count; i++) {
        const struct snp_cert_blob *c = &certs[i];
        if ((unsigned)c->kind >= SNP_CERT_KIND_COUNT || seen[c->kind] || !c->der || c->len == 0 ||
            c->len > SNP_CERT_MAX_LEN || off > UINT32_MAX - c->len)
            return -1;
        seen[c->kind] = true;
        writer_bytes(w, GUIDS[c->kind], SNP_GUID_LEN);
        writer_u32le(w, (uint32_t)off);
        writer_u32le(w, (uint32_t)c->len);
        off += c->len;
    }
    static const uint8_t terminator[SNP_CERTTABLE_ENTRY_LEN];
    writer_bytes(w, terminator, sizeof terminator);
    for (size_t i = 0; i < count; i++)
        writer_bytes(w, certs[i].der, certs[i].len);
    return w->failed ? -1 : 0;
}
