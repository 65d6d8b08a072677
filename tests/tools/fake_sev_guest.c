/*
 * fake_sev_guest.c - TEST-ONLY stand-in for the Linux configfs-tsm "kernel" of an SEV-SNP
 * guest, for tests/cli/snp_e2e.sh. Never part of libtether or the tether CLI.
 *
 *   fake_sev_guest --root DIR --state DIR [--count N] [--timeout S] [--bad-report-data]
 *
 * --state DIR: the test hierarchy (ARK and ASK RSA-2048, P-384 VCEK with the AMD extensions,
 * every certificate RSASSA-PSS SHA-384 salt 48, as tests/lib/snp_fixture.c builds it). If
 * DIR/vcek-key.pem exists it is loaded, otherwise generated and saved. Also written there:
 * ark.pem, policy.json (trust_anchors = ark.pem, measurements = the fixed MEASUREMENT),
 * policy-other-measurement.json, policy-builtin-roots.json (no trust_anchors), and "ready"
 * once the root is watched.
 *
 * --root DIR: a normal directory playing /sys/kernel/config/tsm/report. For each entry
 * directory made under it, the fake "kernel" (inotify, one bounded loop, total deadline):
 *   1. creates generation "0\n", privlevel_floor "0\n", empty inblob and privlevel, FIFOs
 *      outblob and auxblob, and last "provider" ("sev_guest\n", renamed in atomically);
 *   2. on IN_CLOSE_WRITE of inblob and of privlevel, bumps generation by one each (configfs-tsm
 *      ABI: every write of inblob or an option increments it);
 *   3. after privlevel, builds a v3 Milan report (CPUID 0x19/0x01) with REPORT_DATA = inblob
 *      (or inblob with one bit flipped under --bad-report-data), VMPL = privlevel, the fixed
 *      MEASUREMENT, CHIP_ID = the VCEK hwID, REPORTED_TCB = the VCEK SPLs, signed by the VCEK
 *      key (r, s little-endian), and serves it through the outblob FIFO, then the GHCB
 *      certificate table (VCEK, ASK, ARK) through the auxblob FIFO.
 * The FIFOs make "read outblob after writing privlevel" block until the report exists, as
 * configfs does (it builds the report inside read()). What a fake on a normal filesystem
 * cannot do is make mkdir create the attributes, or rmdir remove them: that is the job of
 * fake_tsm_preload.so (LD_PRELOAD into the tether under test), see there.
 *
 * Exits 0 after N reports (--count), on SIGTERM/SIGINT, or after --timeout seconds
 * (default 30); every wait is bounded.
 *
 * The certificates and the report itself are built by tests/lib/snp_fixture.c (shared with the
 * unit tests: the same platform, TCB, MEASUREMENT and signing scheme); this file keeps the state
 * directory, the policies, the certificate table and the kernel side.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fake_tsm_kernel.h"
#include "lib/snp_fixture.h"
#include "util/util.h"

/* The fixture dies through the fake's own fake_die ("fake_sev_guest: what", exit 1). */
static void die_hook(const char *what)
{
    fake_die(what);
}

/* ---- the hierarchy ---- */

struct hier {
    EVP_PKEY *ark_key, *ask_key, *vcek_key;
    X509 *ark, *ask, *vcek;
};

static void generate(struct hier *h)
{
    uint8_t chip[64];
    struct snp_fx_tcb tcb;
    snp_fx_default_platform(chip, &tcb);
    h->ark_key = snp_fx_rsa_key();
    h->ask_key = snp_fx_rsa_key();
    h->vcek_key = snp_fx_p384_key();
    h->ark = snp_fx_cert(h->ark_key, "ARK-Test", NULL, NULL, true, 1, -SNP_FX_DAY,
                         25 * SNP_FX_YEAR);
    snp_fx_sign_cert(h->ark, h->ark_key);
    h->ask = snp_fx_cert(h->ask_key, "SEV-Test", h->ark, "ARK-Test", true, 2, -SNP_FX_DAY,
                         25 * SNP_FX_YEAR);
    snp_fx_sign_cert(h->ask, h->ark_key);
    h->vcek = snp_fx_leaf(h->vcek_key, h->ask_key, false, false, chip, &tcb, 7 * SNP_FX_YEAR);
}

static void save_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k)
{
    char p[PATH_MAX];
    fake_path_in(p, sizeof p, dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        fake_die("cannot write the state directory");
    int ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    if (fclose(f) != 0 || ok != 1)
        fake_die("cannot write a PEM file");
}

static void write_policies(const char *dir)
{
    char m[97], other[97], ark[PATH_MAX], json[2 * PATH_MAX];
    uint8_t om[48];
    hex_encode(SNP_FX_MEAS, 48, m);
    memcpy(om, SNP_FX_MEAS, 48);
    om[47] ^= 0xff;
    hex_encode(om, 48, other);
    fake_path_in(ark, sizeof ark, dir, "ark.pem");
#define POLICY_FMT "{\"tether_policy\":1,\"accept\":{\"snp\":{%s%s%s\"measurements\":[\"%s\"]}}}\n"
    snprintf(json, sizeof json, POLICY_FMT, "\"trust_anchors\":[\"", ark, "\"],", m);
    fake_write_file(dir, "policy.json", json, strlen(json));
    snprintf(json, sizeof json, POLICY_FMT, "\"trust_anchors\":[\"", ark, "\"],", other);
    fake_write_file(dir, "policy-other-measurement.json", json, strlen(json));
    snprintf(json, sizeof json, POLICY_FMT, "", "", "", m);
    fake_write_file(dir, "policy-builtin-roots.json", json, strlen(json));
}

static void setup_state(struct hier *h, const char *dir)
{
    char p[PATH_MAX];
    fake_path_in(p, sizeof p, dir, "vcek-key.pem");
    if (access(p, F_OK) == 0) {
        h->ark_key = fake_load_key(dir, "ark-key.pem");
        h->ask_key = fake_load_key(dir, "ask-key.pem");
        h->vcek_key = fake_load_key(dir, "vcek-key.pem");
        h->ark = fake_load_cert(dir, "ark.pem");
        h->ask = fake_load_cert(dir, "ask.pem");
        h->vcek = fake_load_cert(dir, "vcek.pem");
    } else {
        generate(h);
        save_pem(dir, "ark-key.pem", NULL, h->ark_key);
        save_pem(dir, "ask-key.pem", NULL, h->ask_key);
        save_pem(dir, "ark.pem", h->ark, NULL);
        save_pem(dir, "ask.pem", h->ask, NULL);
        save_pem(dir, "vcek.pem", h->vcek, NULL);
        save_pem(dir, "vcek-key.pem", NULL, h->vcek_key); /* last: marks a complete state */
    }
    write_policies(dir);
}

/* ---- the report and the certificate table ---- */

/* SEV-SNP ABI 56860 Table 23: the fixture's version 3 Milan report (the test platform's TCB
 * and CHIP_ID, firmware 1.55.29) with this VMPL and REPORT_DATA, signed with the VCEK. */
static void build_report(const struct hier *h, const uint8_t report_data[64], uint32_t vmpl,
                         uint8_t out[SNP_REPORT_LEN])
{
    struct snp_fx_spec s = snp_fx_default_spec();
    snp_fx_default_platform(s.chip, &s.tcb);
    s.vmpl = vmpl;
    s.report_data = report_data;
    snp_fx_build_report(&s, h->vcek_key, out);
}

static int guid_bytes(const char *s, uint8_t out[16])
{
    size_t n = 0;
    for (; *s && n < 32; s++) {
        if (*s == '-')
            continue;
        int v = (*s >= '0' && *s <= '9') ? *s - '0' : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (n % 2 == 0)
            out[n / 2] = (uint8_t)(v << 4);
        else
            out[n / 2] |= (uint8_t)v;
        n++;
    }
    return n == 32 ? 0 : -1;
}

/* GHCB 56421 4.1.8.1: entries { GUID, u32 offset, u32 length }, a zero terminator, the DER. */
static uint8_t *cert_table(const struct hier *h, size_t *len)
{
    static const char *const guids[3] = {"63da758d-e664-4564-adc5-f4b93be8accd", /* VCEK */
                                         "4ab7b379-bbac-4fe4-a02f-05aef327c782", /* ASK */
                                         "c0b406a4-a803-4952-9743-3fb6014cd0ae"}; /* ARK */
    X509 *xs[3] = {h->vcek, h->ask, h->ark};
    unsigned char *der[3] = {NULL, NULL, NULL};
    int dl[3];
    size_t total = 4 * 24;
    for (int i = 0; i < 3; i++) {
        dl[i] = i2d_X509(xs[i], &der[i]);
        if (dl[i] <= 0)
            fake_die("cannot encode a certificate");
        total += (size_t)dl[i];
    }
    uint8_t *t = calloc(1, total);
    if (!t)
        fake_die("out of memory");
    size_t off = 4 * 24;
    for (int i = 0; i < 3; i++) {
        if (guid_bytes(guids[i], t + 24 * i) != 0)
            fake_die("bad GUID");
        snp_fx_put32(t + 24 * i + 16, (uint32_t)off);
        snp_fx_put32(t + 24 * i + 20, (uint32_t)dl[i]);
        memcpy(t + off, der[i], (size_t)dl[i]);
        off += (size_t)dl[i];
        OPENSSL_free(der[i]);
    }
    *len = total;
    return t;
}

/* ---- the kernel side: report on privlevel ---- */

struct sev {
    const struct hier *h;
    bool bad;
    uint8_t *aux;
    size_t aux_len;
};

/* inblob is kept; privlevel builds the report over it and serves it, then the table. */
static void on_write(struct fake_tsm_entry *e, const char *name, long *served, void *arg)
{
    const struct sev *s = arg;
    if (strcmp(name, "inblob") == 0) {
        size_t got = 0;
        e->have_inblob = fake_tsm_read_small(e->dir, "inblob", e->inblob, 64, &got) == 0 &&
                         got >= 64;
        fake_tsm_bump_generation(e);
    } else if (strcmp(name, "privlevel") == 0) {
        uint8_t lv[8];
        size_t got = 0;
        uint32_t vmpl = 0;
        if (fake_tsm_read_small(e->dir, "privlevel", lv, sizeof lv, &got) == 0 && got > 0 &&
            lv[0] >= '0' && lv[0] <= '3')
            vmpl = (uint32_t)(lv[0] - '0');
        fake_tsm_bump_generation(e);
        if (!e->have_inblob) {
            fprintf(stderr, "fake_sev_guest: privlevel before a 64-byte inblob\n");
            return;
        }
        uint8_t rd[64], report[SNP_REPORT_LEN];
        memcpy(rd, e->inblob, 64);
        if (s->bad)
            rd[0] ^= 0x01;
        build_report(s->h, rd, vmpl, report);
        if (fake_tsm_fifo_serve(e->dir, "outblob", report, sizeof report) == 0 &&
            fake_tsm_fifo_serve(e->dir, "auxblob", s->aux, s->aux_len) == 0)
            (*served)++;
        fprintf(stderr, "fake_sev_guest: served report %ld%s\n", *served,
                s->bad ? " (REPORT_DATA differs from inblob)" : "");
    }
}

int main(int argc, char **argv)
{
    static const struct fake_tsm_attr ATTRS[] = {
        {"privlevel_floor", "0\n"}, {"inblob", ""}, {"privlevel", ""}, {NULL, NULL}};
    static const char *const FIFOS[] = {"outblob", "auxblob", NULL};
    struct fake_tsm_args a;
    fake_tsm_args(argc, argv, "fake_sev_guest", &a);
    snp_fx_fail_hook = die_hook;

    struct hier h;
    memset(&h, 0, sizeof h);
    setup_state(&h, a.state);
    struct sev s = {.h = &h, .bad = a.bad_report_data};
    s.aux = cert_table(&h, &s.aux_len);

    const struct fake_tsm_kernel k = {"sev_guest\n", ATTRS, FIFOS, on_write, &s};
    fake_tsm_run(&a, &k);
    free(s.aux);
    EVP_PKEY_free(h.ark_key);
    EVP_PKEY_free(h.ask_key);
    EVP_PKEY_free(h.vcek_key);
    X509_free(h.ark);
    X509_free(h.ask);
    X509_free(h.vcek);
    return 0;
}
