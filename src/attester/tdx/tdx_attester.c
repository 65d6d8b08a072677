/*
 * tdx_attester.c - the Intel TDX guest attester ("tdx" or "tdx:CONFIGFS_TSM_REPORT_DIR").
 *
 * Produces a DCAP quote (media type DCAP_TDX_MEDIA_TYPE, src/evidence/dcap/dcap_quote.h):
 * exactly quote_len bytes of a v4 or v5 TDX quote whose REPORTDATA is the binder's
 * report_data, its PEM PCK chain inside; the collateral is the verifier's business.
 *
 * configfs-tsm only (Linux 6.7+, Documentation/ABI/testing/configfs-tsm), default root
 * /sys/kernel/config/tsm/report, through the shared sequence of src/attester/tsm.c: a fresh
 * entry; `provider` must be "tdx_guest"; read `generation`; write the 64-byte `inblob`; read
 * `outblob` (the quote the kernel obtained with TDG.VP.VMCALL<GetQuote>, at most 64 KiB);
 * re-read `generation`, which must be exactly the first value + 1 (our one write: another
 * writer raced us otherwise); rmdir the entry in every case. No privlevel, no auxblob (the
 * tdx_guest provider has neither).
 *
 * There is deliberately no /dev/tdx_guest fallback: its TDX_CMD_GET_REPORT0 returns a
 * TDREPORT, which is MAC'd with a key only this platform's CPU holds - nothing a remote
 * verifier can check. Turning it into a quote needs the quoting enclave (the kernel's
 * GetQuote path, or a user-space QGS), so without configfs-tsm the error says what is missing.
 *
 * The returned quote is refused (an error, no evidence) unless it parses (dcap_quote_parse),
 * is a TDX quote (tee_type 0x81, TD 1.0 or TD 1.5 body) and carries exactly the report_data
 * that was written (constant-time compare): a stale, raced or foreign quote never leaves here.
 * Signatures are not checked here: the attester proves nothing to itself; the peer verifies.
 *
 * Must never: produce evidence over anything but the binder's report_data (only the binder
 * path of src/tls/attest.c reaches evidence(), see attester.h) or an all-zero one; offer a
 * way to request a quote over caller-chosen data; return a quote that does not parse, is not
 * TDX or carries other report_data; reuse or leave behind a configfs entry; log or store
 * report_data.
 */
#include "attester/tdx/tdx_attester.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/dcap/dcap_quote.h"
#include "util/util.h"

struct attester {
    char root[PATH_MAX];
    struct tsm_ops ops;
};

/* Check the outblob against what we asked for; on success *quote_len is the quote's own
 * length (padding after it dropped). */
static int check_quote(const uint8_t *blob, size_t len, const uint8_t report_data[static 64],
                       size_t *quote_len, char *err, size_t errlen)
{
    struct dcap_quote q;
    const char *why = NULL;
    if (len == 0) {
        errbuf_set(err, errlen, "tdx: configfs-tsm outblob is empty (no quote: is the quoting "
                                "service of the host reachable?)");
        return -1;
    }
    if (dcap_quote_parse(blob, len, &q, &why) != 0) {
        errbuf_set(err, errlen, "tdx: configfs-tsm outblob is not a DCAP quote: %s",
                   why ? why : "?");
        return -1;
    }
    if (q.header.tee_type != DCAP_TEE_TDX ||
        (q.body_type != DCAP_BODY_TD10 && q.body_type != DCAP_BODY_TD15)) {
        errbuf_set(err, errlen,
                   "tdx: configfs-tsm outblob is not a TDX quote (TEE type 0x%x, version %u)",
                   (unsigned)q.header.tee_type, (unsigned)q.header.version);
        return -1;
    }
    /* The quote must carry exactly the report_data we wrote: anything else is stale, raced
     * or another requester's. */
    if (!ct_equal(q.report_data, report_data, 64)) {
        errbuf_set(err, errlen,
                   "tdx: configfs-tsm outblob carries another REPORT_DATA (stale or raced "
                   "quote)");
        return -1;
    }
    *quote_len = q.quote_len;
    return 0;
}

struct check_arg {
    const uint8_t *report_data;
    size_t quote_len;
};

static int check_outblob(void *arg, const uint8_t *out, size_t len, char *err, size_t errlen)
{
    struct check_arg *c = arg;
    return check_quote(out, len, c->report_data, &c->quote_len, err, errlen);
}

struct attester *tdx_attester_open_with(const char *tsm_root, const struct tsm_ops *ops,
                                        char *err, size_t errlen)
{
    if (!tsm_root || !tsm_root[0])
        tsm_root = TDX_TSM_DEFAULT_ROOT;
    if (!tsm_ops_valid(ops)) {
        errbuf_set(err, errlen, "tdx: bad arguments");
        return NULL;
    }
    if (tsm_root[0] != '/') {
        errbuf_set(err, errlen, "tdx: the configfs-tsm report directory must be an absolute path");
        return NULL;
    }
    struct attester *a = calloc(1, sizeof *a);
    if (!a) {
        errbuf_set(err, errlen, "tdx: out of memory");
        return NULL;
    }
    if (snprintf(a->root, sizeof a->root, "%s", tsm_root) >= (int)sizeof a->root) {
        free(a);
        errbuf_set(err, errlen, "tdx: path too long");
        return NULL;
    }
    a->ops = *ops;
    return a;
}

static struct attester *tdx_open(const char *arg, char *err, size_t errlen)
{
    return tdx_attester_open_with(arg, &tsm_posix_ops, err, errlen);
}

static void tdx_close(struct attester *a)
{
    free(a);
}

static int tdx_evidence(struct attester *a, const struct binder *b, uint8_t **ev, size_t *ev_len,
                        char *err, size_t errlen)
{
    if (ev)
        *ev = NULL;
    if (ev_len)
        *ev_len = 0;
    if (!a || !b || !ev || !ev_len) {
        errbuf_set(err, errlen, "tdx: bad arguments");
        return -1;
    }
    if (ct_is_zero(b->report_data, sizeof b->report_data)) {
        errbuf_set(err, errlen, "tdx: refusing to request a quote over an all-zero report_data");
        return -1;
    }
    struct check_arg c = {.report_data = b->report_data, .quote_len = 0};
    const struct tsm_request req = {
        .root = a->root,
        .tag = "tdx",
        .provider = TDX_TSM_PROVIDER,
        .inblob = b->report_data,
        .write_privlevel = false,
        .outblob_max = TDX_OUTBLOB_MAX,
        .auxblob_max = 0,
        .check_outblob = check_outblob,
        .check_arg = &c,
    };
    struct tsm_report r;
    int rc = tsm_report_get(&a->ops, &req, &r, err, errlen);
    if (rc == TSM_ABSENT) {
        errbuf_set(err, errlen,
                   "tdx: not a TDX guest with configfs-tsm: %.300s does not exist (needs Linux "
                   "6.7+ with CONFIG_TSM_REPORTS and the tdx_guest driver, and configfs "
                   "mounted at /sys/kernel/config; /dev/tdx_guest alone gives only a MAC'd "
                   "TDREPORT, not a quote)",
                   a->root);
        return -1;
    }
    if (rc != 0)
        return -1;
    /* Checked by check_outblob before the generation check: 0 < quote_len <= outblob_len. */
    if (c.quote_len == 0 || c.quote_len > r.outblob_len) {
        tsm_report_free(&r);
        errbuf_set(err, errlen, "tdx: internal error: quote length");
        return -1;
    }
    if (c.quote_len == r.outblob_len) {
        *ev = r.outblob;
        r.outblob = NULL;
    } else {
        *ev = malloc(c.quote_len);
        if (!*ev) {
            tsm_report_free(&r);
            errbuf_set(err, errlen, "tdx: out of memory");
            return -1;
        }
        memcpy(*ev, r.outblob, c.quote_len);
    }
    *ev_len = c.quote_len;
    tsm_report_free(&r);
    return 0;
}

const struct attester_backend attester_tdx = {
    .name = "tdx",
    .media_type = DCAP_TDX_MEDIA_TYPE,
    .arg_optional = true,
    .open = tdx_open,
    .evidence = tdx_evidence,
    .close = tdx_close,
};
