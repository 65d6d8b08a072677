/*
 * fake_tdx_guest.c - TEST-ONLY stand-in for the Linux configfs-tsm "kernel" of an Intel TDX
 * guest (and for its quoting enclave and Intel's PCS), for tests/cli/tdx_e2e.sh. Never part of
 * libtether or the tether CLI. Nothing it signs chains to Intel: every key is a test key.
 *
 *   fake_tdx_guest --root DIR --state DIR [--count N] [--timeout S] [--bad-report-data]
 *
 * --state DIR: the TEST hierarchy, all ECDSA P-256 / SHA-256 (loaded when DIR/pck-key.pem
 * exists, otherwise generated and saved with its keys):
 *   root.pem      "Test SGX Root CA"          self-signed CA
 *   platform.pem  "Test SGX PCK Platform CA"  CA, signed by the root
 *   pck.pem       "Test SGX PCK Certificate"  leaf, signed by the platform CA, with the SGX
 *                                             extensions (OID 1.2.840.113741.1.13.1: PPID,
 *                                             TCB comp SVNs / PCESVN / CPUSVN, PCE-ID 0000,
 *                                             FMSPC 30606a000000, SGX type 1, platform instance
 *                                             ID, configuration)
 *   tcbsign.pem   "Test SGX TCB Signing"      leaf, signed by the root
 * and, rewritten on every start with fresh dates (issued now - 1 h, next update now + 30 d):
 *   collateral/tcbinfo.json        {"tcbInfo":{TDX v3},"signature":"<r||s hex>"} by TCB Signing
 *   collateral/tcbinfo.chain.pem   TCB Signing, root
 *   collateral/qe_identity.json    {"enclaveIdentity":{TD_QE v2},"signature":...} by TCB Signing
 *   collateral/qe_identity.chain.pem
 *   collateral/pckcrl.der          CRL by the platform CA, empty
 *   collateral/pckcrl.chain.pem    platform CA, root
 *   collateral/rootcrl.der         CRL by the root, empty
 *   collateral-revoked/...         the same set, but its pckcrl.der lists the PCK leaf
 *   policy.json                    accept.tdx: trust_anchors root.pem, collateral, the MRTD
 *   policy-other-mrtd.json         another MRTD
 *   policy-builtin-roots.json      no trust_anchors (the built-in Intel root only)
 *   policy-revoked.json            collateral-revoked instead of collateral
 *   last-quote.bin                 the quote most recently served (atomically replaced)
 *   ready                          once the root is watched
 * (policy paths are relative to the policy file.)
 *
 * --root DIR: a normal directory playing /sys/kernel/config/tsm/report. For each entry
 * directory made under it, the fake "kernel" (inotify, one bounded loop, total deadline):
 *   1. creates generation "0\n", an empty inblob, a FIFO outblob and last "provider"
 *      ("tdx_guest\n", renamed in atomically: fake_tsm_preload.so's mkdir waits for it);
 *   2. on IN_CLOSE_WRITE of inblob, bumps generation by one (configfs-tsm ABI);
 *   3. builds a v4 TDX quote: header (att key type 2, TEE 0x81, QE SVN 4, PCE SVN = the PCK's
 *      PCESVN, Intel's QE vendor ID), TD 1.0 body (TEE_TCB_SVN of the UpToDate level, MRSEAM,
 *      zero MRSIGNERSEAM, TD_ATTRIBUTES 0, XFAM 0x61ae7, the fixed MRTD and RTMRs,
 *      REPORTDATA = inblob, one bit flipped under --bad-report-data), signed by a fresh P-256
 *      attestation key; certification data type 6 = the QE report (MRSIGNER and ISVPRODID as
 *      in qe_identity.json, ISVSVN 4, report data = SHA-256(att key || auth data) || 0^32)
 *      signed by the PCK key, 32 bytes of auth data, and nested type 5 = the PEM chain (PCK,
 *      platform CA, root, NUL-terminated). Every quote is checked with the library's own
 *      dcap_quote_parse and dcap_quote_verify_signatures before it is served through the
 *      outblob FIFO (so "read outblob after writing inblob" blocks until the quote exists, as
 *      configfs does: it fetches the quote inside read()).
 * What a fake on a normal filesystem cannot do is make mkdir create the attributes, or rmdir
 * remove them: that is the job of fake_tsm_preload.so (LD_PRELOAD into the tether under test).
 *
 * Exits 0 after N quotes (--count), on SIGTERM/SIGINT, or after --timeout seconds (default
 * 30); every wait is bounded.
 *
 * The hierarchy, the collateral documents and CRLs and the quote itself are built by
 * tests/lib/tdx_fixture.c (shared with tests/unit/test_azure.c); this file keeps the state
 * directory, the policies and the kernel side.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fake_tsm_kernel.h"
#include "lib/tdx_fixture.h"

/* The fixture dies through the fake's own fake_die ("fake_tdx_guest: what", exit 1). */
static void die_hook(const char *what)
{
    fake_die(what);
}

/* ---- the state directory ---- */

static void save_buf(const char *dir, const char *name, const struct tdx_fx_buf *b)
{
    fake_write_file(dir, name, b->p, b->len);
}

static void save_cert(const char *dir, const char *name, X509 *x)
{
    struct tdx_fx_buf b = {0};
    tdx_fx_append_pem(&b, x);
    save_buf(dir, name, &b);
    tdx_fx_buf_free(&b);
}

static void save_key(const char *dir, const char *name, EVP_PKEY *k)
{
    struct tdx_fx_buf b = {0};
    tdx_fx_append_key_pem(&b, k);
    save_buf(dir, name, &b);
    tdx_fx_buf_free(&b);
}

/* Collateral issued now - 1 h, next update now + 30 d, into state/sub. */
static void write_collateral(const char *state, const char *sub, const struct tdx_fx_hier *h,
                             bool revoke_pck)
{
    char dir[PATH_MAX];
    fake_path_in(dir, sizeof dir, state, sub);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        fake_die("cannot create the collateral directory");
    time_t now = time(NULL);
    struct tdx_fx_collateral c;
    tdx_fx_collateral(h, now - 3600, now + 30 * TDX_FX_DAY, revoke_pck, &c);
    struct tdx_fx_file files[TDX_FX_COLLATERAL_FILES];
    tdx_fx_collateral_files(&c, files);
    for (size_t i = 0; i < TDX_FX_COLLATERAL_FILES; i++)
        save_buf(dir, files[i].name, files[i].buf);
    tdx_fx_collateral_free(&c);
}

static void write_policy(const char *dir, const char *name, bool anchors, const char *coll,
                         const uint8_t mrtd[48])
{
    char m[97];
    tdx_fx_hex(mrtd, 48, false, m);
    struct tdx_fx_buf j = {0};
    tdx_fx_putf(&j, "{\"tether_policy\":1,\"accept\":{\"tdx\":{%s\"collateral\":[\"%s\"],"
                "\"mrtd\":[\"%s\"]}}}\n",
                anchors ? "\"trust_anchors\":[\"root.pem\"]," : "", coll, m);
    save_buf(dir, name, &j);
    tdx_fx_buf_free(&j);
}

static void setup_state(struct tdx_fx_hier *h, const char *dir)
{
    char p[PATH_MAX];
    fake_path_in(p, sizeof p, dir, "pck-key.pem");
    if (access(p, F_OK) == 0) {
        memset(h, 0, sizeof *h);
        h->root_key = fake_load_key(dir, "root-key.pem");
        h->platform_key = fake_load_key(dir, "platform-key.pem");
        h->tcb_key = fake_load_key(dir, "tcbsign-key.pem");
        h->pck_key = fake_load_key(dir, "pck-key.pem");
        h->root = fake_load_cert(dir, "root.pem");
        h->platform = fake_load_cert(dir, "platform.pem");
        h->tcb = fake_load_cert(dir, "tcbsign.pem");
        h->pck = fake_load_cert(dir, "pck.pem");
    } else {
        tdx_fx_generate(h);
        save_key(dir, "root-key.pem", h->root_key);
        save_key(dir, "platform-key.pem", h->platform_key);
        save_key(dir, "tcbsign-key.pem", h->tcb_key);
        save_cert(dir, "root.pem", h->root);
        save_cert(dir, "platform.pem", h->platform);
        save_cert(dir, "tcbsign.pem", h->tcb);
        save_cert(dir, "pck.pem", h->pck);
        save_key(dir, "pck-key.pem", h->pck_key); /* last: marks a complete state */
    }
    write_collateral(dir, "collateral", h, false);
    write_collateral(dir, "collateral-revoked", h, true);
    struct tdx_fx_td td;
    tdx_fx_default_td(&td);
    uint8_t other[48];
    memcpy(other, td.mrtd, 48);
    other[47] ^= 0xff;
    write_policy(dir, "policy.json", true, "collateral", td.mrtd);
    write_policy(dir, "policy-other-mrtd.json", true, "collateral", other);
    write_policy(dir, "policy-builtin-roots.json", false, "collateral", td.mrtd);
    write_policy(dir, "policy-revoked.json", true, "collateral-revoked", td.mrtd);
}

/* ---- the kernel side: a quote on every inblob ---- */

struct tdx {
    const struct tdx_fx_hier *h;
    const char *state;
    bool bad;
};

static void on_write(struct fake_tsm_entry *e, const char *name, long *served, void *arg)
{
    const struct tdx *t = arg;
    if (strcmp(name, "inblob") != 0)
        return;
    uint8_t rd[64];
    size_t got = 0;
    memset(rd, 0, sizeof rd);
    bool ok = fake_tsm_read_small(e->dir, "inblob", rd, sizeof rd, &got) == 0 && got <= 64;
    fake_tsm_bump_generation(e);
    if (!ok) {
        /* configfs-tsm refuses an inblob over 64 bytes (a shorter one is zero-padded, as
         * here); the real attester always writes exactly 64. */
        fprintf(stderr, "fake_tdx_guest: inblob is longer than 64 bytes\n");
        return;
    }
    if (t->bad)
        rd[0] ^= 0x01;
    struct tdx_fx_buf q = {0};
    tdx_fx_build_quote(t->h, NULL, rd, &q);
    fake_write_file(t->state, "last-quote.bin", q.p, q.len);
    if (fake_tsm_fifo_serve(e->dir, "outblob", q.p, q.len) == 0)
        (*served)++;
    fprintf(stderr, "fake_tdx_guest: served quote %ld (%zu bytes)%s\n", *served, q.len,
            t->bad ? " (REPORT_DATA differs from inblob)" : "");
    tdx_fx_buf_free(&q);
}

int main(int argc, char **argv)
{
    static const struct fake_tsm_attr ATTRS[] = {{"inblob", ""}, {NULL, NULL}};
    static const char *const FIFOS[] = {"outblob", NULL};
    struct fake_tsm_args a;
    fake_tsm_args(argc, argv, "fake_tdx_guest", &a);
    tdx_fx_fail_hook = die_hook;

    struct tdx_fx_hier h;
    setup_state(&h, a.state);

    struct tdx t = {.h = &h, .state = a.state, .bad = a.bad_report_data};
    const struct fake_tsm_kernel k = {"tdx_guest\n", ATTRS, FIFOS, on_write, &t};
    fake_tsm_run(&a, &k);
    tdx_fx_hier_free(&h);
    return 0;
}
