/*
 * snp_evidence.c - the "TSNP" SEV-SNP evidence container (format in snp_evidence.h).
 * Must never: read outside the input, accept trailing bytes, non-zero flags, a report that
 * does not parse or a certificate table that does not parse.
 */
#include "evidence/snp/snp_evidence.h"

#include <string.h>

static int fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

int snp_evidence_decode(const uint8_t *buf, size_t len, struct snp_evidence *out,
                        const char **why)
{
    if (why)
        *why = NULL;
    if (!out)
        return fail(why, "no output");
    memset(out, 0, sizeof *out);
    if (!buf)
        return fail(why, "no evidence");
    if (len > SNP_EVIDENCE_MAX)
        return fail(why, "snp evidence too large");

    struct bytes_reader r;
    reader_init(&r, buf, len);
    const uint8_t *magic;
    uint16_t version = 0, flags = 0;
    uint32_t rlen = 0, clen = 0;
    if (!reader_bytes(&r, 4, &magic) || memcmp(magic, SNP_EVIDENCE_MAGIC, 4) != 0)
        return fail(why, "not tether snp evidence (magic \"TSNP\")");
    reader_u16(&r, &version);
    reader_u16(&r, &flags);
    reader_u32(&r, &rlen);
    if (r.failed)
        return fail(why, "snp evidence truncated");
    if (version != SNP_EVIDENCE_VERSION)
        return fail(why, "unsupported snp evidence version");
    if (flags != 0)
        return fail(why, "snp evidence flags must be zero");
    if (rlen != SNP_REPORT_LEN)
        return fail(why, "snp evidence report length must be 1184");
    if (!reader_bytes(&r, rlen, &out->report))
        return fail(why, "snp evidence truncated");
    out->report_len = rlen;
    if (!reader_u32(&r, &clen))
        return fail(why, "snp evidence truncated");
    if (clen > SNP_EVIDENCE_CERTTABLE_MAX)
        return fail(why, "snp evidence certificate table too large");
    if (clen) {
        if (!reader_bytes(&r, clen, &out->certtable))
            return fail(why, "snp evidence truncated");
        out->certtable_len = clen;
    }
    if (!reader_done(&r))
        return fail(why, "trailing bytes after the snp evidence");

    const char *w = NULL;
    if (snp_report_parse(out->report, out->report_len, &out->parsed, &w) != 0)
        return fail(why, w ? w : "malformed report");
    if (clen) {
        if (snp_certtable_parse(out->certtable, out->certtable_len, &out->certs, &w) != 0)
            return fail(why, w ? w : "malformed certificate table");
        out->has_certs = true;
    }
    return 0;
}

int snp_evidence_encode(const uint8_t *report, size_t report_len, const uint8_t *certtable,
                        size_t certtable_len, struct bytes_writer *w)
{
    if (!w || !report || report_len != SNP_REPORT_LEN ||
        certtable_len > SNP_EVIDENCE_CERTTABLE_MAX || (certtable_len && !certtable))
        return -1;
    writer_bytes(w, SNP_EVIDENCE_MAGIC, 4);
    writer_u16(w, SNP_EVIDENCE_VERSION);
    writer_u16(w, 0);
    writer_u32(w, (uint32_t)report_len);
    writer_bytes(w, report, report_len);
    writer_u32(w, (uint32_t)certtable_len);
    if (certtable_len)
        writer_bytes(w, certtable, certtable_len);
    return w->failed ? -1 : 0;
}
