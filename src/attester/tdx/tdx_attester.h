/*
 * tdx_attester.h - internal seam of the Intel TDX attester (src/attester/tdx/tdx_attester.c):
 * open it over any configfs-tsm primitives (attester/tsm.h), so that tests can run the real
 * sequence (provider check, generation race check) and the real quote checks (parses, is a
 * TDX quote, carries exactly the binder's report_data) against a fake tree whose "kernel"
 * side effects they emulate synchronously.
 *
 * Production opens through attester_tdx (attester_open("tdx[:dir]")), which always uses
 * tsm_posix_ops; nothing in the library calls tdx_attester_open_with. It only opens: evidence
 * is still produced through the backend's evidence() over the binder the connection computed
 * (attester.h), and the quote is always parsed and checked against that binder, whatever the
 * primitives return. Hidden symbol, not part of the public API.
 */
#ifndef TETHER_ATTESTER_TDX_ATTESTER_H
#define TETHER_ATTESTER_TDX_ATTESTER_H

#include <stddef.h>
#include <stdint.h>

#include "attester/attester.h"
#include "attester/tsm.h"

#define TDX_TSM_DEFAULT_ROOT TSM_DEFAULT_ROOT
#define TDX_TSM_PROVIDER "tdx_guest"
/* Bound on the configfs-tsm outblob (a real quote is ~5 KiB; padded ones 8000 B). */
#define TDX_OUTBLOB_MAX (64u * 1024u)

/* Open with a configfs-tsm report root (absolute; "" or NULL for the default) and
 * primitives; ops is copied. */
struct attester *tdx_attester_open_with(const char *tsm_root, const struct tsm_ops *ops,
                                        char *err, size_t errlen);

#endif
