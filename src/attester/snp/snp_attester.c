/*
 * snp_attester.c - the AMD SEV-SNP guest attester ("snp" or "snp:CONFIGFS_TSM_REPORT_DIR").
 *
 * Produces tether's "TSNP" container (src/evidence/snp/snp_evidence.h): the firmware's
 * ATTESTATION_REPORT whose REPORT_DATA is the binder's report_data, plus the host-supplied
 * certificate table (VCEK/VLEK, ASK/ASVK, ARK) when there is one.
 *
 * 1. configfs-tsm (Linux 6.7+, Documentation/ABI/testing/configfs-tsm), default root
 *    /sys/kernel/config/tsm/report: mkdir a fresh, uniquely named entry (never reuse one that
 *    exists: EEXIST is an error); `provider` must be "sev_guest"; read `generation`; write the
 *    64-byte `inblob` and `privlevel` (the entry's `privlevel_floor`, 0 when absent: the
 *    kernel refuses a level below it); read `outblob` (exactly one 1184-byte report whose
 *    REPORT_DATA must equal ours: a stale or raced report is refused); read `auxblob` if
 *    present (GHCB 56421 4.1.8.1 certificate table); re-read `generation`, which must be
 *    exactly the first value + 2 (our two writes; configfs-tsm ABI: "generation increments
 *    each time inblob or any option is written ... userspace can detect conflicts by
 *    checking generation"); rmdir the entry in every case.
 * 2. Fallback only when the configfs root is absent (ENOENT/ENOTDIR on mkdir):
 *    /dev/sev-guest SNP_GET_EXT_REPORT (linux/sev-guest.h, msg_version 1), retried once with
 *    the size the host asks for when it answers SNP_GUEST_VMM_ERR_INVALID_LEN.
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
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "evidence/snp/snp_certtable.h"
#include "evidence/snp/snp_evidence.h"
#include "evidence/snp/snp_report.h"
#include "util/bytes.h"
#include "util/util.h"

#define ATTR_SMALL_MAX 64u              /* provider, generation, privlevel_floor */
#define OUTBLOB_MAX (16u * 1024u)       /* more than one report is refused anyway */
#define AUXBLOB_MAX (1024u * 1024u)     /* the host's table; re-encoded smaller below */
#define EXT_CERTS_INITIAL (16u * 1024u) /* kernel SEV_FW_BLOB_MAX_SIZE */
#define EXT_CERTS_MAX (256u * 1024u)
#define PAGE_4K 4096u

struct attester {
    char root[PATH_MAX];
    char device[PATH_MAX];
    struct snp_tsm_ops ops;
};

/* ---- the real primitives ---- */

static int posix_make_dir(void *ctx, const char *path)
{
    (void)ctx;
    return mkdir(path, 0700);
}

static int posix_remove_dir(void *ctx, const char *path)
{
    (void)ctx;
    return rmdir(path);
}

static int posix_read_attr(void *ctx, const char *path, size_t max, uint8_t **out, size_t *len)
{
    (void)ctx;
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    /* configfs reports no useful st_size: read to EOF, at most max + 1 bytes. */
    size_t cap = max + 1, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        if (n == cap)
            break;
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max) {
        free(buf);
        errno = EFBIG;
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int posix_write_attr(void *ctx, const char *path, const uint8_t *data, size_t len)
{
    (void)ctx;
    /* No O_CREAT: the kernel creates the attributes; we never create files. */
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            errno = e;
            return -1;
        }
        done += (size_t)w;
    }
    /* configfs commits binary attributes (inblob) on release: check close too. */
    return close(fd);
}

const struct snp_tsm_ops snp_tsm_posix_ops = {
    .make_dir = posix_make_dir,
    .remove_dir = posix_remove_dir,
    .read_attr = posix_read_attr,
    .write_attr = posix_write_attr,
    .ctx = NULL,
};

/* ---- helpers ---- */

/* Strip one trailing newline; the value must then be non-empty printable ASCII. */
static bool attr_text(const uint8_t *data, size_t len, char *out, size_t outlen)
{
    if (len && data[len - 1] == '\n')
        len--;
    if (len == 0 || len >= outlen)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (data[i] < 0x21 || data[i] > 0x7e)
            return false;
        out[i] = (char)data[i];
    }
    out[len] = '\0';
    return true;
}

static bool parse_u64_dec(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > (UINT64_MAX - 9) / 10)
            return false;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return true;
}

struct tsm_entry {
    struct attester *a;
    char dir[PATH_MAX];
    char *err;
    size_t errlen;
};

static int entry_path(const struct tsm_entry *e, const char *attr, char *out, size_t n)
{
    if (path_join(out, n, e->dir, attr) != 0) {
        errbuf_set(e->err, e->errlen, "snp: configfs path too long");
        return -1;
    }
    return 0;
}

/* Read an attribute; optional attributes that do not exist give *present = false. */
static int entry_read(const struct tsm_entry *e, const char *attr, size_t max, uint8_t **out,
                      size_t *len, bool *present)
{
    char path[PATH_MAX];
    if (entry_path(e, attr, path, sizeof path) != 0)
        return -1;
    if (present)
        *present = true;
    if (e->a->ops.read_attr(e->a->ops.ctx, path, max, out, len) != 0) {
        if (present && errno == ENOENT) {
            *present = false;
            return 0;
        }
        errbuf_set(e->err, e->errlen, "snp: cannot read configfs-tsm %s: %s", attr,
                   errno == EFBIG ? "too large" : strerror(errno));
        return -1;
    }
    return 0;
}

static int entry_read_text(const struct tsm_entry *e, const char *attr, char *out, size_t n,
                           bool *present)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (entry_read(e, attr, ATTR_SMALL_MAX, &data, &len, present) != 0)
        return -1;
    if (present && !*present)
        return 0;
    bool ok = attr_text(data, len, out, n);
    free(data);
    if (!ok) {
        errbuf_set(e->err, e->errlen, "snp: configfs-tsm %s is not a plain value", attr);
        return -1;
    }
    return 0;
}

static int entry_read_u64(const struct tsm_entry *e, const char *attr, uint64_t *v,
                          bool *present)
{
    char text[ATTR_SMALL_MAX];
    if (entry_read_text(e, attr, text, sizeof text, present) != 0)
        return -1;
    if (present && !*present)
        return 0;
    if (!parse_u64_dec(text, v)) {
        errbuf_set(e->err, e->errlen, "snp: configfs-tsm %s is not a decimal number", attr);
        return -1;
    }
    return 0;
}

static int entry_write(const struct tsm_entry *e, const char *attr, const uint8_t *data,
                       size_t len)
{
    char path[PATH_MAX];
    if (entry_path(e, attr, path, sizeof path) != 0)
        return -1;
    if (e->a->ops.write_attr(e->a->ops.ctx, path, data, len) != 0) {
        errbuf_set(e->err, e->errlen, "snp: cannot write configfs-tsm %s: %s", attr,
                   strerror(errno));
        return -1;
    }
    return 0;
}

/* Check a raw report against what we asked for; 0 if it is one well-formed report with our
 * REPORT_DATA. */
static int check_report(const uint8_t *report, size_t len, const uint8_t report_data[static 64],
                        const char *source, char *err, size_t errlen)
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

/* ---- configfs-tsm ---- */

/* The sequence inside a freshly made entry. *report (exactly 1184 bytes, checked) and
 * *certs (compacted, possibly NULL) are the caller's on success. */
static int tsm_sequence(const struct tsm_entry *e, const uint8_t report_data[static 64],
                        uint8_t **report, uint8_t **certs, size_t *certs_len)
{
    char *err = e->err;
    size_t errlen = e->errlen;
    char provider[ATTR_SMALL_MAX];
    if (entry_read_text(e, "provider", provider, sizeof provider, NULL) != 0)
        return -1;
    if (strcmp(provider, "sev_guest") != 0) {
        errbuf_set(err, errlen, "snp: configfs-tsm provider is \"%.32s\", not \"sev_guest\"",
                   provider);
        return -1;
    }
    uint64_t floor = 0;
    bool have_floor = false;
    if (entry_read_u64(e, "privlevel_floor", &floor, &have_floor) != 0)
        return -1;
    if (!have_floor)
        floor = 0;
    if (floor > 3) { /* sev_guest: privlevel is a VMPL, 0..3 */
        errbuf_set(err, errlen, "snp: configfs-tsm privlevel_floor %llu is not a VMPL",
                   (unsigned long long)floor);
        return -1;
    }
    uint64_t gen0 = 0, gen1 = 0;
    if (entry_read_u64(e, "generation", &gen0, NULL) != 0)
        return -1;
    if (gen0 > UINT64_MAX - 2) {
        errbuf_set(err, errlen, "snp: configfs-tsm generation out of range");
        return -1;
    }
    if (entry_write(e, "inblob", report_data, 64) != 0)
        return -1;
    char lvl[4];
    snprintf(lvl, sizeof lvl, "%u\n", (unsigned)floor);
    if (entry_write(e, "privlevel", (const uint8_t *)lvl, strlen(lvl)) != 0)
        return -1;

    uint8_t *out = NULL, *aux = NULL;
    size_t out_len = 0, aux_len = 0;
    bool have_aux = false;
    int rc = -1;
    if (entry_read(e, "outblob", OUTBLOB_MAX, &out, &out_len, NULL) != 0)
        goto done;
    if (check_report(out, out_len, report_data, "configfs-tsm outblob", err, errlen) != 0)
        goto done;
    if (entry_read(e, "auxblob", AUXBLOB_MAX, &aux, &aux_len, &have_aux) != 0)
        goto done;
    if (entry_read_u64(e, "generation", &gen1, NULL) != 0)
        goto done;
    if (gen1 != gen0 + 2) {
        errbuf_set(err, errlen,
                   "snp: configfs-tsm generation changed from %llu to %llu (expected %llu): "
                   "another writer raced this report; refused",
                   (unsigned long long)gen0, (unsigned long long)gen1,
                   (unsigned long long)(gen0 + 2));
        goto done;
    }
    if (have_aux && compact_certtable(aux, aux_len, certs, certs_len, "configfs-tsm auxblob",
                                      err, errlen) != 0)
        goto done;
    *report = out;
    out = NULL;
    rc = 0;
done:
    free(out);
    free(aux);
    return rc;
}

/* 1 if the root is absent (fall back), 0 on success, -1 on a definite failure. */
static int tsm_report(struct attester *a, const uint8_t report_data[static 64], uint8_t **report,
                      uint8_t **certs, size_t *certs_len, char *err, size_t errlen)
{
    struct tsm_entry e = {.a = a, .err = err, .errlen = errlen};
    uint8_t rnd[8];
    char name[64], hex[17];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        errbuf_set(err, errlen, "snp: no randomness for the configfs entry name");
        return -1;
    }
    hex_encode(rnd, sizeof rnd, hex);
    snprintf(name, sizeof name, "tether-%ld-%s", (long)getpid(), hex);
    if (path_join(e.dir, sizeof e.dir, a->root, name) != 0) {
        errbuf_set(err, errlen, "snp: configfs path too long");
        return -1;
    }
    if (a->ops.make_dir(a->ops.ctx, e.dir) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 1;
        errbuf_set(err, errlen, "snp: cannot create a configfs-tsm report entry under %.300s: %s",
                   a->root, strerror(errno));
        return -1;
    }
    int rc = tsm_sequence(&e, report_data, report, certs, certs_len);
    if (a->ops.remove_dir(a->ops.ctx, e.dir) != 0 && rc == 0) {
        /* The report is fine, but leaving entries behind is a leak worth reporting. */
        errbuf_set(err, errlen, "snp: cannot remove configfs-tsm entry %.300s: %s", e.dir,
                   strerror(errno));
        free(*report);
        *report = NULL;
        free(*certs);
        *certs = NULL;
        *certs_len = 0;
        return -1;
    }
    if (rc != 0) {
        free(*certs);
        *certs = NULL;
        *certs_len = 0;
    }
    return rc;
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
        req.data.vmpl = 0;
        req.certs_address = (uint64_t)(uintptr_t)cbuf;
        req.certs_len = (uint32_t)cap;
        g.msg_version = 1;
        g.req_data = (uint64_t)(uintptr_t)&req;
        g.resp_data = (uint64_t)(uintptr_t)resp;
        if (ioctl(fd, TETHER_SNP_GET_EXT_REPORT, &g) == 0) {
            const uint8_t *rep;
            if (device_response_report(resp, SNP_RESP_LEN, &rep, err, errlen) != 0 ||
                check_report(rep, SNP_REPORT_LEN, report_data, a->device, err, errlen) != 0)
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
    if (!ops || !ops->make_dir || !ops->remove_dir || !ops->read_attr || !ops->write_attr) {
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

static struct attester *snp_open(const char *arg, char *err, size_t errlen)
{
    return snp_attester_open_with(arg, SNP_GUEST_DEVICE, &snp_tsm_posix_ops, err, errlen);
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
    if (rc == 1)
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
