/*
 * tsm.c - the configfs-tsm report sequence (tsm.h), shared by the SEV-SNP and TDX attesters.
 *
 * configfs-tsm ABI (Documentation/ABI/testing/configfs-tsm): "generation increments each time
 * inblob or any option is written ... userspace can detect conflicts by checking generation";
 * so the second read of `generation` must be the first plus exactly our writes.
 *
 * Must never: reuse or leave behind an entry, follow symlinks, create files, read without a
 * bound, return an outblob after a generation race, or log or store the inblob.
 */
#include "attester/tsm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "util/util.h"

#define ATTR_SMALL_MAX 64u /* provider, generation, privlevel_floor */

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

const struct tsm_ops tsm_posix_ops = {
    .make_dir = posix_make_dir,
    .remove_dir = posix_remove_dir,
    .read_attr = posix_read_attr,
    .write_attr = posix_write_attr,
    .ctx = NULL,
};

bool tsm_ops_valid(const struct tsm_ops *ops)
{
    return ops && ops->make_dir && ops->remove_dir && ops->read_attr && ops->write_attr;
}

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
    const struct tsm_ops *ops;
    const struct tsm_request *req;
    char dir[PATH_MAX];
    char *err;
    size_t errlen;
};

static int entry_path(const struct tsm_entry *e, const char *attr, char *out, size_t n)
{
    if (path_join(out, n, e->dir, attr) != 0) {
        errbuf_set(e->err, e->errlen, "%s: configfs path too long", e->req->tag);
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
    if (e->ops->read_attr(e->ops->ctx, path, max, out, len) != 0) {
        if (present && errno == ENOENT) {
            *present = false;
            return 0;
        }
        errbuf_set(e->err, e->errlen, "%s: cannot read configfs-tsm %s: %s", e->req->tag, attr,
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
        errbuf_set(e->err, e->errlen, "%s: configfs-tsm %s is not a plain value", e->req->tag,
                   attr);
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
        errbuf_set(e->err, e->errlen, "%s: configfs-tsm %s is not a decimal number",
                   e->req->tag, attr);
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
    if (e->ops->write_attr(e->ops->ctx, path, data, len) != 0) {
        errbuf_set(e->err, e->errlen, "%s: cannot write configfs-tsm %s: %s", e->req->tag, attr,
                   strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the sequence ---- */

/* Inside a freshly made entry; *out is the caller's on success. */
static int entry_sequence(const struct tsm_entry *e, struct tsm_report *out)
{
    const struct tsm_request *req = e->req;
    char *err = e->err;
    size_t errlen = e->errlen;
    char provider[ATTR_SMALL_MAX];
    if (entry_read_text(e, "provider", provider, sizeof provider, NULL) != 0)
        return -1;
    if (strcmp(provider, req->provider) != 0) {
        errbuf_set(err, errlen, "%s: configfs-tsm provider is \"%.32s\", not \"%s\"", req->tag,
                   provider, req->provider);
        return -1;
    }
    uint64_t floor = 0;
    if (req->write_privlevel) {
        bool have_floor = false;
        if (entry_read_u64(e, "privlevel_floor", &floor, &have_floor) != 0)
            return -1;
        if (!have_floor)
            floor = 0;
        if (floor > req->privlevel_max) {
            errbuf_set(err, errlen,
                       "%s: configfs-tsm privlevel_floor %llu is out of range (0..%u)", req->tag,
                       (unsigned long long)floor, req->privlevel_max);
            return -1;
        }
    }
    uint64_t writes = req->write_privlevel ? 2 : 1;
    uint64_t gen0 = 0, gen1 = 0;
    if (entry_read_u64(e, "generation", &gen0, NULL) != 0)
        return -1;
    if (gen0 > UINT64_MAX - writes) {
        errbuf_set(err, errlen, "%s: configfs-tsm generation out of range", req->tag);
        return -1;
    }
    if (entry_write(e, "inblob", req->inblob, TSM_INBLOB_LEN) != 0)
        return -1;
    if (req->write_privlevel) {
        char lvl[24];
        snprintf(lvl, sizeof lvl, "%u\n", (unsigned)floor);
        if (entry_write(e, "privlevel", (const uint8_t *)lvl, strlen(lvl)) != 0)
            return -1;
    }

    uint8_t *blob = NULL, *aux = NULL;
    size_t blob_len = 0, aux_len = 0;
    bool have_aux = false;
    int rc = -1;
    if (entry_read(e, "outblob", req->outblob_max, &blob, &blob_len, NULL) != 0)
        goto done;
    if (req->check_outblob &&
        req->check_outblob(req->check_arg, blob, blob_len, err, errlen) != 0)
        goto done;
    if (req->auxblob_max > 0 &&
        entry_read(e, "auxblob", req->auxblob_max, &aux, &aux_len, &have_aux) != 0)
        goto done;
    if (entry_read_u64(e, "generation", &gen1, NULL) != 0)
        goto done;
    if (gen1 != gen0 + writes) {
        errbuf_set(err, errlen,
                   "%s: configfs-tsm generation changed from %llu to %llu (expected %llu): "
                   "another writer raced this report; refused",
                   req->tag, (unsigned long long)gen0, (unsigned long long)gen1,
                   (unsigned long long)(gen0 + writes));
        goto done;
    }
    out->outblob = blob;
    out->outblob_len = blob_len;
    out->have_auxblob = have_aux;
    out->auxblob = have_aux ? aux : NULL;
    out->auxblob_len = have_aux ? aux_len : 0;
    out->privlevel = (unsigned)floor;
    blob = aux = NULL;
    rc = 0;
done:
    free(blob);
    free(aux);
    return rc;
}

int tsm_report_get(const struct tsm_ops *ops, const struct tsm_request *req,
                   struct tsm_report *out, char *err, size_t errlen)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!tsm_ops_valid(ops) || !req || !out || !req->root || !req->tag || !req->provider ||
        !req->inblob || req->outblob_max == 0) {
        errbuf_set(err, errlen, "%s: bad arguments", req && req->tag ? req->tag : "tsm");
        return -1;
    }
    struct tsm_entry e = {.ops = ops, .req = req, .err = err, .errlen = errlen};
    uint8_t rnd[8];
    char name[64], hex[17];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        errbuf_set(err, errlen, "%s: no randomness for the configfs entry name", req->tag);
        return -1;
    }
    hex_encode(rnd, sizeof rnd, hex);
    snprintf(name, sizeof name, "tether-%ld-%s", (long)getpid(), hex);
    if (path_join(e.dir, sizeof e.dir, req->root, name) != 0) {
        errbuf_set(err, errlen, "%s: configfs path too long", req->tag);
        return -1;
    }
    if (ops->make_dir(ops->ctx, e.dir) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return TSM_ABSENT;
        errbuf_set(err, errlen, "%s: cannot create a configfs-tsm report entry under %.300s: %s",
                   req->tag, req->root, strerror(errno));
        return -1;
    }
    int rc = entry_sequence(&e, out);
    if (ops->remove_dir(ops->ctx, e.dir) != 0 && rc == 0) {
        /* The report is fine, but leaving entries behind is a leak worth reporting. */
        errbuf_set(err, errlen, "%s: cannot remove configfs-tsm entry %.300s: %s", req->tag,
                   e.dir, strerror(errno));
        tsm_report_free(out);
        return -1;
    }
    return rc;
}

void tsm_report_free(struct tsm_report *r)
{
    if (!r)
        return;
    free(r->outblob);
    free(r->auxblob);
    memset(r, 0, sizeof *r);
}
