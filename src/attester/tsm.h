/*
 * tsm.h - the Linux configfs-tsm report sequence shared by the TEE attesters that use it
 * (src/attester/snp, src/attester/tdx): Documentation/ABI/testing/configfs-tsm, Linux 6.7+.
 *
 *   mkdir ROOT/<fresh unique name>      (EEXIST is an error: an entry is never reused)
 *   read  provider                      must equal the backend's provider
 *   read  privlevel_floor               optional, only when the backend writes privlevel
 *   read  generation                    gen0
 *   write inblob                        exactly 64 bytes: the binder's report_data
 *   write privlevel                     optional (the floor), for providers that have levels
 *   read  outblob                       bounded; the backend's check runs on it right away
 *   read  auxblob                       optional, bounded
 *   read  generation                    must be exactly gen0 + the number of our writes:
 *                                       anything else means another writer raced this entry
 *   rmdir the entry                     in every case
 *
 * The four filesystem primitives are an ops table so that unit tests can run this unchanged
 * sequence against a fake tree whose "kernel" side effects they emulate synchronously.
 * Production always uses tsm_posix_ops.
 *
 * Must never: reuse or leave behind an entry, follow symlinks in it, create files (no
 * O_CREAT: the kernel creates the attributes), read an attribute without a bound, accept an
 * outblob after a generation race, or log inblob. Hidden symbols, not part of the public API.
 */
#ifndef TETHER_ATTESTER_TSM_H
#define TETHER_ATTESTER_TSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSM_DEFAULT_ROOT "/sys/kernel/config/tsm/report"
#define TSM_INBLOB_LEN 64

/* Each returns 0, or -1 with errno set. read_attr allocates *out (caller frees); it fails
 * with EFBIG beyond max bytes. write_attr writes the whole buffer to an existing attribute. */
struct tsm_ops {
    int (*make_dir)(void *ctx, const char *path);
    int (*remove_dir)(void *ctx, const char *path);
    int (*read_attr)(void *ctx, const char *path, size_t max, uint8_t **out, size_t *len);
    int (*write_attr)(void *ctx, const char *path, const uint8_t *data, size_t len);
    void *ctx;
};

/* The real primitives (mkdir 0700, rmdir, open O_NOFOLLOW read/write without O_CREAT). */
extern const struct tsm_ops tsm_posix_ops;

/* What one backend asks of the sequence. */
struct tsm_request {
    const char *root;     /* the report directory, absolute */
    const char *tag;      /* error message prefix: "snp", "tdx" */
    const char *provider; /* required `provider` value: "sev_guest", "tdx_guest" */
    const uint8_t *inblob; /* TSM_INBLOB_LEN bytes */
    /* Write `privlevel` = `privlevel_floor` (0 when absent), refusing a floor above
     * privlevel_max. */
    bool write_privlevel;
    unsigned privlevel_max;
    size_t outblob_max;
    /* Read `auxblob` (absent is fine) when auxblob_max > 0. */
    size_t auxblob_max;
    /* Optional: called on outblob as soon as it is read (before auxblob and the second
     * generation read); 0 to go on, -1 with err set to refuse. */
    int (*check_outblob)(void *arg, const uint8_t *out, size_t len, char *err, size_t errlen);
    void *check_arg;
};

struct tsm_report {
    uint8_t *outblob; /* owned */
    size_t outblob_len;
    bool have_auxblob;
    uint8_t *auxblob; /* owned, NULL when absent */
    size_t auxblob_len;
    unsigned privlevel; /* what was written to privlevel (0 when not written) */
};

/* tsm_report_get's result when the root itself does not exist (mkdir gave ENOENT or ENOTDIR):
 * no configfs-tsm here; the backend words the error (or falls back). */
#define TSM_ABSENT 1

/* Run the sequence. 0 with *out filled (free with tsm_report_free), TSM_ABSENT, or -1 with
 * err set; on anything but 0, *out is empty. */
int tsm_report_get(const struct tsm_ops *ops, const struct tsm_request *req,
                   struct tsm_report *out, char *err, size_t errlen);
void tsm_report_free(struct tsm_report *r);

/* True when every primitive is set. */
bool tsm_ops_valid(const struct tsm_ops *ops);

#endif
