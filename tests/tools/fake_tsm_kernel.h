/*
 * fake_tsm_kernel.h - TEST-ONLY: what the fake configfs-tsm "kernels" (fake_sev_guest.c for
 * tests/cli/snp_e2e.sh, fake_tdx_guest.c for tests/cli/tdx_e2e.sh) share: their command line,
 * the bounded inotify loop that plays the kernel side of mkdir / write / rmdir on a normal
 * directory, the FIFO attributes, and small state-directory helpers. Linked into those two
 * tools only, never into libtether or the tether CLI.
 *
 *   <tool> --root DIR --state DIR [--count N] [--timeout S] [--bad-report-data]
 *
 * For each entry directory made under --root, the loop (one inotify descriptor, a total
 * deadline) creates generation "0\n", the backend's regular attributes and FIFOs, watches the
 * entry (after those writes, so they raise no event), and last renames "provider" in
 * atomically (fake_tsm_preload.so's mkdir waits for it). Every IN_CLOSE_WRITE of an attribute
 * goes to the backend's on_write; an entry's removal forgets it. It writes DIR/ready (--state)
 * once the root is watched, and returns after --count reports, on SIGTERM/SIGINT or at the
 * deadline (--timeout, default 30 s); every wait is bounded.
 */
#ifndef TETHER_FAKE_TSM_KERNEL_H
#define TETHER_FAKE_TSM_KERNEL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* ---- state-directory helpers (each dies with "<prog>: what" on failure) ---- */

_Noreturn void fake_die(const char *what);
/* dir/name into out. */
void fake_path_in(char *out, size_t n, const char *dir, const char *name);
/* Write dir/name atomically (a .tmp file renamed over it). */
void fake_write_file(const char *dir, const char *name, const void *data, size_t len);
X509 *fake_load_cert(const char *dir, const char *name);
EVP_PKEY *fake_load_key(const char *dir, const char *name);

/* ---- the command line ---- */

struct fake_tsm_args {
    const char *root, *state;
    long count, timeout_s;
    bool bad_report_data;
};

/* Parse the command line (usage and exit 2 when it is wrong), name the program for every
 * message, and install the SIGTERM/SIGINT handlers (SIGPIPE ignored). */
void fake_tsm_args(int argc, char **argv, const char *prog, struct fake_tsm_args *a);

/* ---- the fake kernel ---- */

struct fake_tsm_entry {
    bool used;
    int wd;
    char dir[PATH_MAX];
    uint64_t gen;
    /* The backend's own: the last inblob read, when it serves the report later. */
    bool have_inblob;
    uint8_t inblob[64];
};

struct fake_tsm_attr {
    const char *name, *text;
};

struct fake_tsm_kernel {
    const char *provider;              /* the provider attribute: "sev_guest\n" */
    const struct fake_tsm_attr *attrs; /* regular attributes made on mkdir; {NULL} ends */
    const char *const *fifos;          /* FIFO attributes made on mkdir; NULL ends */
    /* A write of attribute name in e was closed; *served counts the reports served. */
    void (*on_write)(struct fake_tsm_entry *e, const char *name, long *served, void *arg);
    void *arg;
};

/* Run the fake kernel on a->root until a->count reports, a signal or the deadline. */
void fake_tsm_run(const struct fake_tsm_args *a, const struct fake_tsm_kernel *k);

/* For on_write: bump e's generation by one (configfs-tsm: every write of inblob or an option
 * increments it); read at most cap bytes of an attribute (*n = cap + 1 when it holds more);
 * serve data to the reader of a FIFO attribute (bounded wait for the reader). 0 or -1. */
void fake_tsm_bump_generation(struct fake_tsm_entry *e);
int fake_tsm_read_small(const char *dir, const char *name, uint8_t *buf, size_t cap, size_t *n);
int fake_tsm_fifo_serve(const char *dir, const char *name, const uint8_t *data, size_t len);

#endif
