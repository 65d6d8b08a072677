/*
 * snp_attester.h - internal seam of the SEV-SNP attester (src/attester/snp/snp_attester.c):
 * the four filesystem primitives the configfs-tsm path (src/attester/tsm.c) uses, so that
 * tests can run the real sequence (provider check, generation race check, report_data check,
 * certificate table) against a fake tree whose "kernel" side effects (creating the attributes
 * on mkdir, producing outblob on write, bumping generation) the test emulates synchronously,
 * as configfs does.
 *
 * Production opens through attester_snp (attester_open("snp[:dir]")), which always uses the
 * real POSIX primitives; nothing in the library calls snp_attester_open_with. It only opens:
 * evidence is still produced through the backend's evidence() over the binder the connection
 * computed (attester.h), and the produced report is always parsed and checked against that
 * binder, whatever the primitives return. Hidden symbol, not part of the public API.
 */
#ifndef TETHER_ATTESTER_SNP_ATTESTER_H
#define TETHER_ATTESTER_SNP_ATTESTER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attester/attester.h"
#include "attester/tsm.h"

#define SNP_TSM_DEFAULT_ROOT TSM_DEFAULT_ROOT
#define SNP_GUEST_DEVICE "/dev/sev-guest"

/* The primitives are the generic configfs-tsm ones (attester/tsm.h); the SNP names stay as
 * aliases of them. */
#define snp_tsm_ops tsm_ops
#define snp_tsm_posix_ops tsm_posix_ops

/* Open with a configfs-tsm report root, a sev-guest device path (the fallback when the root
 * is absent) and primitives; ops is copied. No explicit VMPL (see snp_attester_spec). */
struct attester *snp_attester_open_with(const char *tsm_root, const char *device,
                                        const struct tsm_ops *ops, char *err,
                                        size_t errlen);

/* The argument of "snp:ARG" (docs/snp.md "Attester"): [TSM-DIR][;vmpl=N], e.g. "", "/dir",
 * "vmpl=1", ";vmpl=1", "/dir;vmpl=2". TSM-DIR, when given, must be absolute (the default is
 * SNP_TSM_DEFAULT_ROOT); vmpl is 0..3, at most once.
 * - /dev/sev-guest: SNP_GET_EXT_REPORT asks for VMPL N (0 without vmpl=), and the report's
 *   VMPL must be N.
 * - configfs-tsm: the shared sequence writes privlevel = the entry's privlevel_floor (tsm.h);
 *   with vmpl=N the level written, and the report's VMPL, must be N, else the report is
 *   refused (the floor is the kernel's choice, not ours). */
struct snp_attester_spec {
    char root[PATH_MAX]; /* "" : SNP_TSM_DEFAULT_ROOT */
    bool has_vmpl;
    unsigned vmpl;       /* 0..3; 0 when !has_vmpl */
};
int snp_attester_parse_spec(const char *arg, struct snp_attester_spec *out, char *err,
                            size_t errlen);
/* Open from a parsed spec (device and ops as for snp_attester_open_with). */
struct attester *snp_attester_open_spec(const struct snp_attester_spec *spec, const char *device,
                                        const struct tsm_ops *ops, char *err, size_t errlen);

#endif
