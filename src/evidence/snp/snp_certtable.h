/*
 * snp_certtable.h - the SEV-SNP extended-report certificate table (GHCB spec 56421, 4.1.8.1
 * "SNP Extended Guest Request"; Linux configfs-tsm `auxblob` for sev_guest, /dev/sev-guest
 * SNP_GET_EXT_REPORT certs buffer): a sans-IO, strictly bounded parser and an encoder.
 *
 * Layout: an array of 24-byte entries { GUID[16]; u32 offset; u32 length } (integers
 * little-endian, GUID in RFC 4122 byte order, i.e. the hex digits of the string in order),
 * terminated by an all-zero entry. Offsets are from the start of the table. Certificates are
 * DER. Bytes after the last certificate are padding (the kernel hands back whole pages).
 *
 * Accepted only when: there is a terminator within the first SNP_CERTTABLE_MAX_ENTRIES + 1
 * entries; every entry has a non-zero GUID, 0 < length <= SNP_CERT_MAX_LEN and
 * [offset, offset+length) lies inside the table and after the entry array (terminator
 * included); no two certificates overlap; no GUID appears twice.
 * Must never: read outside the input, or return a blob that overlaps the entry array.
 */
#ifndef TETHER_EVIDENCE_SNP_CERTTABLE_H
#define TETHER_EVIDENCE_SNP_CERTTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/bytes.h"

#define SNP_CERTTABLE_ENTRY_LEN 24
#define SNP_CERTTABLE_MAX_ENTRIES 64 /* not counting the terminator */
#define SNP_CERT_MAX_LEN (64u * 1024u)
#define SNP_GUID_LEN 16

/* The certificate kinds with a GUID assigned by the GHCB spec 56421 (Table "Certificate GUIDs").
 * The ASK and the ASVK share one GUID: with a VLEK leaf the intermediate is the ASVK. */
enum snp_cert_kind {
    SNP_CERT_VCEK = 0, /* 63da758d-e664-4564-adc5-f4b93be8accd */
    SNP_CERT_VLEK,     /* a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
    SNP_CERT_ASK,      /* 4ab7b379-bbac-4fe4-a02f-05aef327c782 (ASK or ASVK) */
    SNP_CERT_ARK,      /* c0b406a4-a803-4952-9743-3fb6014cd0ae */
    SNP_CERT_KIND_COUNT,
    SNP_CERT_OTHER = SNP_CERT_KIND_COUNT
};

struct snp_cert_entry {
    uint8_t guid[SNP_GUID_LEN];
    enum snp_cert_kind kind;
    uint32_t offset;
    const uint8_t *der; /* borrows the parsed input */
    size_t len;
};

struct snp_certtable {
    size_t count; /* entries before the terminator */
    struct snp_cert_entry entries[SNP_CERTTABLE_MAX_ENTRIES];
    size_t used_len; /* end of the last certificate (or of the entry array): the rest is padding */
};

/* The GUID of a kind (16 bytes), NULL for SNP_CERT_OTHER. */
const uint8_t *snp_cert_guid(enum snp_cert_kind k);
const char *snp_cert_kind_name(enum snp_cert_kind k); /* "VCEK", "VLEK", "ASK", "ARK", "other" */

/* Parse a table. 0 on success; -1 with a short reason in *why. Entries borrow buf. */
int snp_certtable_parse(const uint8_t *buf, size_t len, struct snp_certtable *out,
                        const char **why);

/* The entry of a kind, or NULL if absent. */
const struct snp_cert_entry *snp_certtable_find(const struct snp_certtable *t,
                                                enum snp_cert_kind k);

/* Encode a table holding the given certificates (count <= SNP_CERTTABLE_MAX_ENTRIES, each
 * kind at most once, none SNP_CERT_OTHER), entry array first, certificates packed after it in
 * the given order, no padding. 0 or -1. */
struct snp_cert_blob {
    enum snp_cert_kind kind;
    const uint8_t *der;
    size_t len;
};
int snp_certtable_encode(const struct snp_cert_blob *certs, size_t count,
                         struct bytes_writer *w);

#endif
