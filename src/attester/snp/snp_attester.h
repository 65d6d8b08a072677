/*
 * snp_attester.h - internal seam of the SEV-SNP attester (src/attester/snp/snp_attester.c):
 * the five filesystem primitives the configfs-tsm path uses, so that tests can run the real
 * sequence (provider check, generation race check, report_data check, certificate table)
 * against a fake tree whose "kernel" side effects (creating the attributes on mkdir, producing
 * outblob on write, bumping generation) the test emulates synchronously, as configfs does.
 *
 * Production opens through attester_snp (attester_open("snp[:dir]")), which always uses the
 * real POSIX primitives; nothing in the library calls snp_attester_open_with. It only opens:
 * evidence is still produced through the backend's evidence() over the binder the connection
 * computed (attester.h), and the produced report is always parsed and checked against that
 * binder, whatever the primitives return. Hidden symbol, not part of the public API.
 */
#ifndef TETHER_ATTESTER_SNP_ATTESTER_H
#define TETHER_ATTESTER_SNP_ATTESTER_H

#include <stddef.h>
#include <stdint.h>

#include "attester/attester.h"

#define SNP_TSM_DEFAULT_ROOT "/sys/kernel/config/tsm/report"
#define SNP_GUEST_DEVICE "/dev/sev-guest"

/* Each returns 0, or -1 with errno set. read_attr allocates *out (caller frees); it fails
 * with EFBIG beyond max bytes. write_attr writes the whole buffer to an existing attribute. */
struct snp_tsm_ops {
    int (*make_dir)(void *ctx, const char *path);
    int (*remove_dir)(void *ctx, const char *path);
    int (*read_attr)(void *ctx, const char *path, size_t max, uint8_t **out, size_t *len);
    int (*write_attr)(void *ctx, const char *path, const uint8_t *data, size_t len);
    void *ctx;
};

/* The real primitives (mkdir 0700, rmdir, open O_NOFOLLOW read/write without O_CREAT). */
extern const struct snp_tsm_ops snp_tsm_posix_ops;

/* Open with a configfs-tsm report root, a sev-guest device path (the fallback when the root
 * is absent) and primitives; ops is copied. */
struct attester *snp_attester_open_with(const char *tsm_root, const char *device,
                                        const struct snp_tsm_ops *ops, char *err,
                                        size_t errlen);

#endif
