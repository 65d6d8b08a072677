/*
 * snp_attester.c - the AMD SEV-SNP guest attester ("snp" or "snp:[CONFIGFS_TSM_REPORT_DIR]
 * [;vmpl=N]", snp_attester.h).
 *
 * Produces tether's "TSNP" container (src/evidence/snp/snp_evidence.h): the firmware's
 * ATTESTATION_REPORT whose REPORT_DATA is the binder's report_data, plus the host-supplied
 * certificate table (VCEK/VLEK, ASK/ASVK, ARK) when there is one.
 *
 * 1. configfs-tsm (Linux 6.7+, Documentation/ABI/testing/configfs-tsm), default root
 *    /sys/kernel/config/tsm/report, through the shared sequence of src/attester/tsm.c: a
 *    fresh, uniquely named entry (never reuse one that exists: EEXIST is an error);
 *    `provider` must be "sev_guest"; read `generation`; write the 64-byte `inblob` and
 *    `privlevel` (the entry's `privlevel_floor`, 0 when absent: the kernel refuses a level
 *    below it); read `outblob` (exactly one 1184-byte report whose REPORT_DATA must equal
 *    ours: a stale or raced report is refused); read `auxblob` if present (GHCB 56421 4.1.8.1
 *    certificate table); re-read `generation`, which must be exactly the first value + 2 (our
 *    two writes: another writer raced us otherwise); rmdir the entry in every case.
 *    With vmpl=N the written level and the report's VMPL must be N.
 * 2. Fallback only when the configfs root is absent (ENOENT/ENOTDIR on mkdir):
 *    /dev/sev-guest SNP_GET_EXT_REPORT (linux/sev-guest.h, msg_version 1) at VMPL N (vmpl=N,
 *    default 0; the report's VMPL must be N), retried once with the size the host asks for
 *    when it answers SNP_GUEST_VMM_ERR_INVALID_LEN.
 *
 * Must never: produce evidence over anything but the binder's report_data (attester.h) or an
 * all-zero one; return a report that does not parse or whose REPORT_DATA differs; reuse or
 * leave behind a configfs entry; follow symlinks in the entry; log or store report_data.
 */
#include "attester/snp/snp_attester.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <unistd.h>

#include "evidence/snp/snp_certtable.h"
#include "evidence/snp/snp_evidence.h"
#include "evidence/snp/snp_report.h"
#include "util/bytes.h"
#include "util/util.h"

#define OUTBLOB_MAX (16u * 1024u)       /* more than one report is refused anyway */
#define AUXBLOB_MAX (1024u * 1024u)     /* the host's table; re-encoded smaller below */
#define EXT_CERTS_INITIAL (16u * 1024u) /* kernel SEV_FW_BLOB_MAX_SIZE */
#define EXT_CERTS_MAX (256u * 1024u)
#define PAGE_4K 4096u

struct attester {
    char root[PATH_MAX];
    char device[PATH_MAX];
    struct tsm_ops ops;
    bool has_vmpl; /* vmpl= given in the spec */
    unsigned vmpl; /* the VMPL asked of /dev/sev-guest (0 by default), 0..3 */
};

#define SNP_VMPL_MAX 3u /* 56860: VMPL 0..3 */

/* ---- helpers ---- */

/* Check a raw report against what we asked for; 0 if it is one well-formed report with our
 * REPORT_DATA. */
static int check_report(const uint8_t *report, size_t len, const uint8_t report_data[static 64],
                        int want_vmpl, const char *source, char *err, size_t errlen)
{
    struct snp_report r;
    const char *why = NULL;
    if (len != SNP_REPORT_LEN) {
        errbuf_set(err, errlen, "snp: %s holds %zu bytes, not one 1184-byte report", source, len);
        return -1;
    }
    if (snp_report_parse(report, len, &r, &why) != 0) {
        errbuf_set(err, errlen, "snp: %s: malformed report: %s", source, why ? why : "?");
        return -1;
    }
    /* The report must carry exactly the report_data we wrote: anything else is stale, raced
     * or another requester's. */
    if (!ct_equal(r.report_data, report_data, 64)) {
        errbuf_set(err, errlen, "snp: %s carries another REPORT_DATA (stale or raced report)",
                   source);
        return -1;
    }
    /* want_vmpl >= 0: the report must come from the VMPL asked for. */
    if (want_vmpl >= 0 && r.vmpl != (uint32_t)want_vmpl) {
        errbuf_set(err, errlen, "snp: %s is a VMPL %u report, not VMPL %d as asked", source,
                   r.vmpl, want_vmpl);
        return -1;
    }
    return 0;
}

/* Re-encode the host's table keeping only the certificates a verifier uses (VCEK or VLEK,
 * ASK/ASVK, ARK), so that the container stays small. An empty or certificate-less table
 * gives *out = NULL, *out_len = 0. */
static int compact_certtable(const uint8_t *table, size_t len, uint8_t **out, size_t *out_len,
                             const char *source, char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    if (len == 0)
        return 0;
    struct snp_certtable *t = calloc(1, sizeof *t);
    if (!t) {
        errbuf_set(err, errlen, "snp: out of memory");
        return -1;
    }
    const char *why = NULL;
    if (snp_certtable_parse(table, len, t, &why) != 0) {
        errbuf_set(err, errlen, "snp: %s: malformed certificate table: %s", source,
                   why ? why : "?");
        free(t);
        return -1;
    }
    struct snp_cert_blob keep[SNP_CERT_KIND_COUNT];
    size_t n = 0;
    for (int k = 0; k < SNP_CERT_KIND_COUNT; k++) {
        const struct snp_cert_entry *e = snp_certtable_find(t, (enum snp_cert_kind)k);
        if (e) {
            keep[n].kind = e->kind;
            keep[n].der = e->der;
            keep[n].len = e->len;
            n++;
        }
    }
    int rc = 0;
    if (n) {
        struct bytes_writer w;
        writer_init(&w, SNP_EVIDENCE_CERTTABLE_MAX);
        if (snp_certtable_encode(keep, n, &w) != 0) {
            writer_free(&w);
            errbuf_set(err, errlen, "snp: %s: the certificates exceed %u bytes", source,
                       SNP_EVIDENCE_CERTTABLE_MAX);
            rc = -1;
        } else if (!(*out = writer_take(&w, out_len))) {
            errbuf_set(err, errlen, "snp: out of memory");
            rc = -1;
        }
    }
    free(t);
    return rc;
}

static int make_container(const uint8_t *report, const uint8_t *certs, size_t certs_len,
                          uint8_t **ev, size_t *ev_len, char *err, size_t errlen)
{
    struct bytes_writer w;
    writer_init(&w, SNP_EVIDENCE_MAX);
    if (snp_evidence_encode(report, SNP_REPORT_LEN, certs, certs_len, &w) != 0) {
        writer_free(&w);
        errbuf_set(err, errlen, "snp: cannot encode the evidence");
        return -1;
    }
    *ev = writer_take(&w, ev_len);
    if (!*ev) {
        errbuf_set(err, errlen, "snp: out of memory");
        return -1;
    }
    return 0;
}

/* ---- configfs-tsm (the shared sequence, attester/tsm.h) ---- */

struct outblob_check {
    const uint8_t *report_data;
};

static int check_outblob(void *arg, const uint8_t *out, size_t len, char *err, size_t errlen)
{
    const struct outblob_check *c = arg;
    /* Any VMPL here: the level is the kernel's floor (vmpl=N is checked after the sequence). */
    return check_report(out, len, c->report_data, -1, "configfs-tsm outblob", err, errlen);
}

/* TSM_ABSENT if the root is absent (fall back), 0 on success, -1 on a definite failure.
 * *report (exactly 1184 bytes, checked) and *certs (compacted, possibly NULL) are the
 * caller's on success. */
static int tsm_report(struct attester *a, const uint8_t report_data[static 64], uint8_t **report,
                      uint8_t **certs, size_t *certs_len, char *err, size_t errlen)
{
    struct outblob_check check = {.report_data = report_data};
    const struct tsm_request req = {
        .root = a->root,
        .tag = "snp",
        .provider = "sev_guest",
        .inblob = report_data,
        .write_privlevel = true,
        .privlevel_max = 3, /* sev_guest: privlevel is a VMPL, 0..3 */
        .outblob_max = OUTBLOB_MAX,
        .auxblob_max = AUXBLOB_MAX,
        .check_outblob = check_outblob,
        .check_arg = &check,
    };
    struct tsm_report r;
    int rc = tsm_report_get(&a->ops, &req, &r, err, errlen);
    if (rc != 0)
        return rc;
    /* vmpl=N: configfs-tsm wrote privlevel = privlevel_floor; refuse any other level, and a
     * report from another VMPL. */
    if (a->has_vmpl) {
        if (r.privlevel != a->vmpl) {
            errbuf_set(err, errlen,
                       "snp: vmpl=%u asked, but configfs-tsm requested privlevel %u (the "
                       "entry's privlevel_floor); refused",
                       a->vmpl, r.privlevel);
            tsm_report_free(&r);
            return -1;
        }
        if (check_report(r.outblob, r.outblob_len, report_data, (int)a->vmpl,
                         "configfs-tsm outblob", err, errlen) != 0) {
            tsm_report_free(&r);
            return -1;
        }
    }
    if (r.have_auxblob && compact_certtable(r.auxblob, r.auxblob_len, certs, certs_len,
                                            "configfs-tsm auxblob", err, errlen) != 0) {
        tsm_report_free(&r);
        return -1;
    }
    *report = r.outblob;
    r.outblob = NULL;
    tsm_report_free(&r);
    return 0;
}

/* ---- /dev/sev-guest SNP_GET_EXT_REPORT (linux/sev-guest.h, copied to build without it) ---- */

struct tether_snp_report_req {
    uint8_t user_data[64];
    uint32_t vmpl;
    uint8_t rsvd[28]; /* must be zero */
};

struct tether_snp_ext_report_req {
    struct tether_snp_report_req data;
    uint64_t certs_address;
    uint32_t certs_len;
};

struct tether_snp_guest_request_ioctl {
    uint8_t msg_version;
    uint64_t req_data;
    uint64_t resp_data;
    union {
        uint64_t exitinfo2;
        struct {
            uint32_t fw_error;
            uint32_t vmm_error;
        };
    };
};

_Static_assert(sizeof(struct tether_snp_report_req) == 96, "snp_report_req layout");
_Static_assert(sizeof(struct tether_snp_guest_request_ioctl) == 32, "snp_guest_request_ioctl");

#define TETHER_SNP_GET_EXT_REPORT _IOWR('S', 0x2, struct tether_snp_guest_request_ioctl)
#define TETHER_SNP_VMM_ERR_INVALID_LEN 1u
#define SNP_RESP_LEN 4000u
#define MSG_REPORT_RSP_HEADER 0x20

/* MSG_REPORT_RSP (SEV-SNP ABI 56860, "MSG_REPORT_RSP Message Structure"): u32 STATUS, u32 REPORT_SIZE, 24 reserved, then
 * the report. */
static int device_response_report(const uint8_t *resp, size_t len, const uint8_t **report,
                                  char *err, size_t errlen)
{
    struct bytes_reader r;
    uint32_t status = 0, size = 0;
    const uint8_t *rsvd;
    reader_init(&r, resp, len);
    reader_u32le(&r, &status);
    reader_u32le(&r, &size);
    reader_bytes(&r, MSG_REPORT_RSP_HEADER - 8, &rsvd);
    if (r.failed) {
        errbuf_set(err, errlen, "snp: short response from the firmware");
        return -1;
    }
    if (status != 0) {
        errbuf_set(err, errlen, "snp: the firmware refused the report request (status 0x%x)",
                   status);
        return -1;
    }
    if (size != SNP_REPORT_LEN || !reader_bytes(&r, SNP_REPORT_LEN, report)) {
        errbuf_set(err, errlen, "snp: the firmware returned a %u-byte report, not 1184", size);
        return -1;
    }
    return 0;
}

static int device_report(struct attester *a, const uint8_t report_data[static 64],
                         uint8_t **report, uint8_t **certs, size_t *certs_len, char *err,
                         size_t errlen)
{
    int fd = open(a->device, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
            errbuf_set(err, errlen,
                       "snp: not an SEV-SNP guest: neither configfs-tsm (%.200s) nor %.200s "
                       "is present",
                       a->root, a->device);
        else
            errbuf_set(err, errlen, "snp: cannot open %.300s: %s", a->device, strerror(errno));
        return -1;
    }
    int rc = -1;
    size_t cap = EXT_CERTS_INITIAL;
    uint8_t *cbuf = NULL;
    uint8_t *resp = calloc(1, SNP_RESP_LEN);
    if (!resp) {
        errbuf_set(err, errlen, "snp: out of memory");
        goto out;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        free(cbuf);
        cbuf = calloc(1, cap);
        if (!cbuf) {
            errbuf_set(err, errlen, "snp: out of memory");
            goto out;
        }
        struct tether_snp_ext_report_req req;
        struct tether_snp_guest_request_ioctl g;
        memset(&req, 0, sizeof req);
        memset(&g, 0, sizeof g);
        memset(resp, 0, SNP_RESP_LEN);
        memcpy(req.data.user_data, report_data, 64);
        req.data.vmpl = a->vmpl; /* 0 unless the spec says vmpl=N (0..3) */
        req.certs_address = (uint64_t)(uintptr_t)cbuf;
        req.certs_len = (uint32_t)cap;
        g.msg_version = 1;
        g.req_data = (uint64_t)(uintptr_t)&req;
        g.resp_data = (uint64_t)(uintptr_t)resp;
        if (ioctl(fd, TETHER_SNP_GET_EXT_REPORT, &g) == 0) {
            const uint8_t *rep;
            if (device_response_report(resp, SNP_RESP_LEN, &rep, err, errlen) != 0 ||
                check_report(rep, SNP_REPORT_LEN, report_data, (int)a->vmpl, a->device, err,
                             errlen) != 0)
                goto out;
            /* An all-zero first entry means the host supplied no certificates. */
            size_t clen = cap;
            bool none = true;
            for (size_t i = 0; i < SNP_CERTTABLE_ENTRY_LEN && i < clen; i++)
                none = none && cbuf[i] == 0;
            if (!none && compact_certtable(cbuf, clen, certs, certs_len, a->device, err,
                                           errlen) != 0)
                goto out;
            *report = malloc(SNP_REPORT_LEN);
            if (!*report) {
                free(*certs);
                *certs = NULL;
                *certs_len = 0;
                errbuf_set(err, errlen, "snp: out of memory");
                goto out;
            }
            memcpy(*report, rep, SNP_REPORT_LEN);
            rc = 0;
            goto out;
        }
        int e = errno;
        /* GHCB 56421 4.1.8.1: too small a certificate buffer fails with INVALID_LEN and the
         * kernel reports the size needed in certs_len; retry once with it. */
        if (attempt == 0 && g.vmm_error == TETHER_SNP_VMM_ERR_INVALID_LEN &&
            req.certs_len > cap && req.certs_len <= EXT_CERTS_MAX) {
            cap = ((size_t)req.certs_len + PAGE_4K - 1) / PAGE_4K * PAGE_4K;
            continue;
        }
        errbuf_set(err, errlen, "snp: SNP_GET_EXT_REPORT failed: %s (firmware 0x%x, vmm 0x%x)",
                   strerror(e), g.fw_error, g.vmm_error);
        goto out;
    }
out:
    free(cbuf);
    free(resp);
    close(fd);
    return rc;
}

/* ---- backend ---- */

struct attester *snp_attester_open_with(const char *tsm_root, const char *device,
                                        const struct snp_tsm_ops *ops, char *err,
                                        size_t errlen)
{
    if (!tsm_root || !tsm_root[0])
        tsm_root = SNP_TSM_DEFAULT_ROOT;
    if (!device || !device[0])
        device = SNP_GUEST_DEVICE;
    if (!tsm_ops_valid(ops)) {
        errbuf_set(err, errlen, "snp: bad arguments");
        return NULL;
    }
    if (tsm_root[0] != '/') {
        errbuf_set(err, errlen, "snp: the configfs-tsm report directory must be an absolute path");
        return NULL;
    }
    struct attester *a = calloc(1, sizeof *a);
    if (!a) {
        errbuf_set(err, errlen, "snp: out of memory");
        return NULL;
    }
    if (snprintf(a->root, sizeof a->root, "%s", tsm_root) >= (int)sizeof a->root ||
        snprintf(a->device, sizeof a->device, "%s", device) >= (int)sizeof a->device) {
        free(a);
        errbuf_set(err, errlen, "snp: path too long");
        return NULL;
    }
    a->ops = *ops;
    return a;
}

int snp_attester_parse_spec(const char *arg, struct snp_attester_spec *out, char *err,
                            size_t errlen)
{
    if (!out) {
        errbuf_set(err, errlen, "snp: bad arguments");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (!arg)
        arg = "";
    size_t len = strlen(arg);
    if (len >= PATH_MAX + 16) {
        errbuf_set(err, errlen, "snp: TEE argument too long");
        return -1;
    }
    /* Pieces separated by ';': the first is TSM-DIR unless it is an option. */
    const char *p = arg;
    bool first = true;
    for (;;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        if (n >= 5 && strncmp(p, "vmpl=", 5) == 0) {
            const char *v = p + 5;
            size_t vn = n - 5;
            if (out->has_vmpl) {
                errbuf_set(err, errlen, "snp: vmpl= given twice");
                return -1;
            }
            /* exactly one digit 0..3 */
            if (vn != 1 || v[0] < '0' || v[0] > '0' + (int)SNP_VMPL_MAX) {
                errbuf_set(err, errlen, "snp: vmpl=%.*s: must be 0, 1, 2 or 3", (int)(vn > 16 ? 16 : vn),
                           v);
                return -1;
            }
            out->has_vmpl = true;
            out->vmpl = (unsigned)(v[0] - '0');
        } else if (first) {
            if (n >= sizeof out->root) {
                errbuf_set(err, errlen, "snp: path too long");
                return -1;
            }
            memcpy(out->root, p, n);
            out->root[n] = '\0';
            if (n && out->root[0] != '/') {
                errbuf_set(err, errlen,
                           "snp: the configfs-tsm report directory must be an absolute path");
                return -1;
            }
        } else {
            errbuf_set(err, errlen, "snp: option \"%.*s\": expected vmpl=N (0..3)",
                       (int)(n > 32 ? 32 : n), p);
            return -1;
        }
        first = false;
        if (!semi)
            break;
        p = semi + 1;
    }
    return 0;
}

struct attester *snp_attester_open_spec(const struct snp_attester_spec *spec, const char *device,
                                        const struct tsm_ops *ops, char *err, size_t errlen)
{
    if (!spec || (spec->has_vmpl && spec->vmpl > SNP_VMPL_MAX) ||
        (!spec->has_vmpl && spec->vmpl != 0)) {
        errbuf_set(err, errlen, "snp: bad arguments");
        return NULL;
    }
    struct attester *a = snp_attester_open_with(spec->root, device, ops, err, errlen);
    if (a) {
        a->has_vmpl = spec->has_vmpl;
        a->vmpl = spec->vmpl;
    }
    return a;
}

static struct attester *snp_open(const char *arg, char *err, size_t errlen)
{
    struct snp_attester_spec spec;
    if (snp_attester_parse_spec(arg, &spec, err, errlen) != 0)
        return NULL;
    return snp_attester_open_spec(&spec, SNP_GUEST_DEVICE, &tsm_posix_ops, err, errlen);
}

static void snp_close(struct attester *a)
{
    free(a);
}

static int snp_evidence(struct attester *a, const struct binder *b, uint8_t **ev, size_t *ev_len,
                        char *err, size_t errlen)
{
    if (ev)
        *ev = NULL;
    if (ev_len)
        *ev_len = 0;
    if (!a || !b || !ev || !ev_len) {
        errbuf_set(err, errlen, "snp: bad arguments");
        return -1;
    }
    if (ct_is_zero(b->report_data, sizeof b->report_data)) {
        errbuf_set(err, errlen, "snp: refusing to request a report over an all-zero report_data");
        return -1;
    }
    uint8_t *report = NULL, *certs = NULL;
    size_t certs_len = 0;
    int rc = tsm_report(a, b->report_data, &report, &certs, &certs_len, err, errlen);
    if (rc == TSM_ABSENT)
        rc = device_report(a, b->report_data, &report, &certs, &certs_len, err, errlen);
    if (rc == 0)
        rc = make_container(report, certs, certs_len, ev, ev_len, err, errlen);
    free(report);
    free(certs);
    return rc;
}

const struct attester_backend attester_snp = {
    .name = "snp",
    .media_type = SNP_EVIDENCE_MEDIA_TYPE,
    .arg_optional = true,
    .open = snp_open,
    .evidence = snp_evidence,
    .close = snp_close,
};
