/*
 * tdx_fixture.h - TEST-ONLY: a GENERATED Intel SGX/TDX PCK hierarchy (every key a test key,
 * nothing chains to Intel), the v4 TD quotes it signs, the signed collateral that matches it,
 * and bare TDREPORTs. Shared by tests/tools/fake_tdx_guest.c (tests/cli/tdx_e2e.sh) and
 * tests/unit/test_azure.c; linked into every unit test (tests/lib) and into the fake, never
 * into libtether or the tether CLI.
 *
 * Pure: it builds bytes in memory and writes no file; the caller stores them. No cmocka (the
 * fake does not link it): every function succeeds or dies through tdx_fx_fail, which calls
 * tdx_fx_fail_hook when the program installed one (it must not return) and otherwise prints
 * the message and aborts.
 *
 * The hierarchy, all ECDSA P-256 / SHA-256, valid from one day ago:
 *   root      "Test SGX Root CA"          self-signed CA, 25 years
 *   platform  "Test SGX PCK Platform CA"  CA, signed by the root, 10 years
 *   pck       "Test SGX PCK Certificate"  leaf, signed by the platform CA, 7 years, with the SGX
 *                                         extensions (OID 1.2.840.113741.1.13.1: PPID
 *                                         a0 a1 .. af, TCB comp SVNs / PCESVN / CPUSVN, PCE-ID
 *                                         0000, FMSPC 30606a000000, SGX type 1, platform
 *                                         instance ID c0 c1 .. cf, configuration)
 *   tcb       "Test SGX TCB Signing"      leaf, signed by the root, 7 years
 *
 * The collateral (tdx_fx_collateral): TDX TCB Info v3 for that FMSPC with an UpToDate level
 * (the quote's) and an OutOfDate one, the TD_QE identity v2, both {"<doc>":...,"signature":
 * "<r||s hex>"} by the TCB Signing key; the PCK CRL by the platform CA (optionally listing the
 * PCK leaf) and the Root CA CRL, DER; the issuer chains as PEM.
 *
 * The quote (tdx_fx_build_quote, research evidence.md A2): v4 header (att key type 2, TEE 0x81,
 * QE SVN 4, PCE SVN = the PCK's PCESVN, Intel's QE vendor ID), TD 1.0 body from struct
 * tdx_fx_td and report_data, signed by a fresh P-256 attestation key; certification data type
 * 6 = the QE report (MRSIGNER and ISVPRODID as in the QE identity, ISVSVN 4, report data =
 * SHA-256(att key || auth data) || 0^32) signed by the PCK key, 32 bytes of auth data, and
 * nested type 5 = the PEM chain (PCK, platform CA, root, NUL-terminated). Every quote is
 * checked with the library's own dcap_quote_parse and dcap_quote_verify_signatures before it
 * is returned.
 */
#ifndef TETHER_TEST_TDX_FIXTURE_H
#define TETHER_TEST_TDX_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define TDX_FX_DAY 86400L
#define TDX_FX_YEAR (365L * TDX_FX_DAY)
#define TDX_FX_TDREPORT_LEN 1024

/* Dies: the hook (it must not return), else the message on stderr and abort(). */
extern void (*tdx_fx_fail_hook)(const char *what);
_Noreturn void tdx_fx_fail(const char *what);

/* ---- a growable byte buffer, always NUL-terminated after len ---- */

struct tdx_fx_buf {
    uint8_t *p;
    size_t len, cap;
};
void tdx_fx_put(struct tdx_fx_buf *b, const void *d, size_t n);
void tdx_fx_put_le(struct tdx_fx_buf *b, uint64_t v, size_t n);
void tdx_fx_put_zero(struct tdx_fx_buf *b, size_t n);
void tdx_fx_putf(struct tdx_fx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tdx_fx_buf_free(struct tdx_fx_buf *b);

/* Lower- or upper-case hex of n bytes into out (2n + 1 bytes). */
void tdx_fx_hex(const uint8_t *p, size_t n, bool upper, char *out);
/* RFC 3339 UTC, "YYYY-MM-DDTHH:MM:SSZ". */
void tdx_fx_rfc3339(time_t t, char out[32]);

/* ---- the hierarchy ---- */

struct tdx_fx_hier {
    EVP_PKEY *root_key, *platform_key, *pck_key, *tcb_key;
    X509 *root, *platform, *pck, *tcb;
};
void tdx_fx_generate(struct tdx_fx_hier *h);
void tdx_fx_hier_free(struct tdx_fx_hier *h);
/* The PEM of a certificate or a private key, appended to b. */
void tdx_fx_append_pem(struct tdx_fx_buf *b, X509 *x);
void tdx_fx_append_key_pem(struct tdx_fx_buf *b, EVP_PKEY *k);

/* ---- the collateral ---- */

struct tdx_fx_collateral {
    struct tdx_fx_buf tcbinfo;      /* tcbinfo.json */
    struct tdx_fx_buf qe_identity;  /* qe_identity.json */
    struct tdx_fx_buf tcb_chain;    /* TCB Signing, root (PEM): the issuer chain of both */
    struct tdx_fx_buf pckcrl;       /* DER, by the platform CA */
    struct tdx_fx_buf pckcrl_chain; /* platform CA, root (PEM) */
    struct tdx_fx_buf rootcrl;      /* DER, by the root, empty */
};
/* Documents issued at issue with nextUpdate next (the CRLs: lastUpdate, nextUpdate); the PCK
 * CRL lists the PCK leaf when revoke_pck. */
void tdx_fx_collateral(const struct tdx_fx_hier *h, time_t issue, time_t next, bool revoke_pck,
                       struct tdx_fx_collateral *out);
void tdx_fx_collateral_free(struct tdx_fx_collateral *c);
/* The collateral as the files of a collateral folder: tcbinfo.json, tcbinfo.chain.pem,
 * qe_identity.json, qe_identity.chain.pem (the TCB chain again), pckcrl.der, pckcrl.chain.pem,
 * rootcrl.der; the buffers are c's. */
#define TDX_FX_COLLATERAL_FILES 7
struct tdx_fx_file {
    const char *name;
    const struct tdx_fx_buf *buf;
};
void tdx_fx_collateral_files(const struct tdx_fx_collateral *c,
                             struct tdx_fx_file out[TDX_FX_COLLATERAL_FILES]);

/* ---- the TD, its TDREPORT and its quote ---- */

struct tdx_fx_td {
    uint8_t mrtd[48], mrseam[48], rtmr[4][48];
    uint64_t td_attributes, xfam;
};
/* The fixed TD the collateral's UpToDate level fits: MRTD d0 d1 .., MRSEAM 5e ^ i, RTMR[r]
 * 0x10 (r + 1) + i, TD_ATTRIBUTES 0 (not DEBUG), XFAM 0x61ae7. */
void tdx_fx_default_td(struct tdx_fx_td *td);
/* A v4 quote of td (NULL: the default) over report_data, appended to q (empty on entry). */
void tdx_fx_build_quote(const struct tdx_fx_hier *h, const struct tdx_fx_td *td,
                        const uint8_t report_data[64], struct tdx_fx_buf *q);
/* A TDREPORT_STRUCT (TDX module ABI: REPORTMACSTRUCT 256 with REPORTTYPE 0x81 and REPORTDATA
 * at +128, TEE_TCB_INFO 239 + 17 reserved, TDINFO 512 with ATTRIBUTES, XFAM, MRTD at +528,
 * RTMRs) of td; the MAC is zero: nothing off the machine can check it anyway. */
void tdx_fx_build_tdreport(const struct tdx_fx_td *td, const uint8_t report_data[64],
                           uint8_t out[TDX_FX_TDREPORT_LEN]);

#endif
