/*
 * fuzz_snp_certtable.c - libFuzzer harness for the GHCB extended-report certificate table
 * parser and encoder (src/evidence/snp/snp_certtable.c). Checks the parser's promises on
 * every accepted input (each blob inside the input, after the entry array, at most 64 KiB)
 * and that re-encoding the known certificates parses back to the same bytes.
 * Seeds: fuzz/seeds/snp_certtable/. Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/snp/snp_certtable.h"
#include "util/bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct snp_certtable t, back;
    const char *why = NULL;
    if (snp_certtable_parse(data, size, &t, &why) != 0) {
        if (!why)
            abort();
        return 0;
    }
    size_t array_end = (t.count + 1) * SNP_CERTTABLE_ENTRY_LEN;
    if (t.count > SNP_CERTTABLE_MAX_ENTRIES || t.used_len > size || array_end > size)
        abort();
    struct snp_cert_blob keep[SNP_CERT_KIND_COUNT];
    size_t n = 0;
    for (size_t i = 0; i < t.count; i++) {
        const struct snp_cert_entry *e = &t.entries[i];
        if (e->der < data + array_end || e->len == 0 || e->len > SNP_CERT_MAX_LEN ||
            e->der + e->len > data + size)
            abort();
    }
    for (int k = 0; k < SNP_CERT_KIND_COUNT; k++) {
        const struct snp_cert_entry *e = snp_certtable_find(&t, (enum snp_cert_kind)k);
        if (e) {
            keep[n].kind = e->kind;
            keep[n].der = e->der;
            keep[n].len = e->len;
            n++;
        }
    }
    struct bytes_writer w;
    writer_init(&w, 1u << 20);
    if (snp_certtable_encode(keep, n, &w) != 0)
        abort();
    size_t len = 0;
    uint8_t *enc = writer_take(&w, &len);
    if (!enc || snp_certtable_parse(enc, len, &back, &why) != 0 || back.count != n)
        abort();
    for (size_t i = 0; i < n; i++) {
        const struct snp_cert_entry *e = snp_certtable_find(&back, keep[i].kind);
        if (!e || e->len != keep[i].len || memcmp(e->der, keep[i].der, e->len) != 0)
            abort();
    }
    free(enc);
    return 0;
}
