/*
 * test_snp_attester.c - the SEV-SNP attester's configfs-tsm path against a fake tree in a
 * mkdtemp directory, and the /dev/sev-guest fallback when neither interface exists.
 *
 * Design: the attester's configfs code runs unchanged; only its four filesystem primitives
 * (snp_attester.h) are wrapped. The wrappers call the real POSIX primitives on the temp tree
 * and add what the kernel would do synchronously: mkdir creates the attributes (provider,
 * generation, inblob, privlevel, privlevel_floor, outblob, auxblob), every write bumps
 * generation, and writing inblob makes outblob a report over that REPORT_DATA signed by a
 * test P-384 key. Faults (a racing writer, another provider, a stale report, a bad table)
 * are switched on per test. Must never depend on the network or a real SEV-SNP guest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "attester/attester.h"
#include "attester/snp/snp_attester.h"
#include "binding/binder.h"
#include "evidence/snp/snp_certtable.h"
#include "evidence/snp/snp_evidence.h"
#include "evidence/snp/snp_report.h"
#include "util/bytes.h"
#include "util/util.h"

struct fake {
    char root[256];
    const char *provider;  /* written on mkdir */
    uint64_t generation;   /* starting value */
    int extra_bumps;       /* a racing writer bumps generation this often on inblob */
    bool stale;            /* outblob carries other REPORT_DATA */
    bool two_reports;      /* outblob holds 2368 bytes */
    bool no_auxblob;
    bool bad_auxblob;
    bool no_floor;
    EVP_PKEY *key;
    int made, removed;
    char last_dir[512];
};

static struct fake g;

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static uint64_t read_generation(const char *dir)
{
    char path[600], buf[32] = "";
    snprintf(path, sizeof path, "%s/generation", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    return strtoull(buf, NULL, 10);
}

static void bump_generation(const char *dir, int n)
{
    char buf[32];
    uint64_t v = read_generation(dir) + (uint64_t)n;
    snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)v);
    write_file(dir, "generation", buf, strlen(buf));
}

/* The firmware: a v3 Milan report over rd, signed by the test key. */
static void make_report(uint8_t rep[SNP_REPORT_LEN], const uint8_t rd[64])
{
    memset(rep, 0, SNP_REPORT_LEN);
    put_le(rep, 3, 4);
    put_le(rep + 0x008, 0x30000, 8);
    put_le(rep + 0x034, 1, 4);
    memcpy(rep + 0x050, rd, 64);
    memset(rep + 0x090, 0x5A, 48);
    rep[0x188] = 0x19;
    rep[0x189] = 0x01;
    uint8_t der[160];
    size_t dlen = sizeof der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, g.key), 1);
    assert_int_equal(EVP_DigestSign(md, der, &dlen, rep, SNP_SIGNED_LEN), 1);
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
    assert_non_null(sig);
    BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), rep + 0x2A0, 72);
    BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), rep + 0x2E8, 72);
    ECDSA_SIG_free(sig);
}

static uint8_t VCEK_DER[300], ASK_DER[200], ARK_DER[200], OTHER_DER[100];

/* A host table: VCEK, an unknown GUID (a CRL-like extra), ASK, ARK, then page padding. */
static uint8_t *host_table(size_t *len)
{
    static const uint8_t other_guid[16] = {0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d,
                                           0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea};
    const uint8_t *guids[4] = {snp_cert_guid(SNP_CERT_VCEK), other_guid,
                               snp_cert_guid(SNP_CERT_ASK), snp_cert_guid(SNP_CERT_ARK)};
    const uint8_t *ders[4] = {VCEK_DER, OTHER_DER, ASK_DER, ARK_DER};
    size_t lens[4] = {sizeof VCEK_DER, sizeof OTHER_DER, sizeof ASK_DER, sizeof ARK_DER};
    *len = 8192;
    uint8_t *t = calloc(1, *len);
    size_t off = 5 * 24;
    for (int i = 0; i < 4; i++) {
        memcpy(t + 24 * i, guids[i], 16);
        put_le(t + 24 * i + 16, off, 4);
        put_le(t + 24 * i + 20, lens[i], 4);
        memcpy(t + off, ders[i], lens[i]);
        off += lens[i];
    }
    return t;
}

/* ---- the wrapped primitives ---- */

static int fake_make_dir(void *ctx, const char *path)
{
    struct fake *f = ctx;
    if (snp_tsm_posix_ops.make_dir(NULL, path) != 0)
        return -1;
    f->made++;
    snprintf(f->last_dir, sizeof f->last_dir, "%s", path);
    char buf[64];
    snprintf(buf, sizeof buf, "%s\n", f->provider);
    write_file(path, "provider", buf, strlen(buf));
    snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)f->generation);
    write_file(path, "generation", buf, strlen(buf));
    write_file(path, "inblob", "", 0);
    write_file(path, "privlevel", "", 0);
    if (!f->no_floor)
        write_file(path, "privlevel_floor", "0\n", 2);
    write_file(path, "outblob", "", 0);
    if (!f->no_auxblob) {
        size_t len = 0;
        uint8_t *t = host_table(&len);
        if (f->bad_auxblob)
            put_le(t + 16, 8, 4); /* VCEK offset inside the entry array */
        write_file(path, "auxblob", t, len);
        free(t);
    }
    return 0;
}

static int fake_remove_dir(void *ctx, const char *path)
{
    struct fake *f = ctx;
    /* configfs removes the attributes with the directory. */
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                char p[800];
                snprintf(p, sizeof p, "%s/%s", path, de->d_name);
                unlink(p);
            }
        }
        closedir(d);
    }
    if (snp_tsm_posix_ops.remove_dir(NULL, path) != 0)
        return -1;
    f->removed++;
    return 0;
}

static int fake_read_attr(void *ctx, const char *path, size_t max, uint8_t **out, size_t *len)
{
    (void)ctx;
    return snp_tsm_posix_ops.read_attr(NULL, path, max, out, len);
}

static int fake_write_attr(void *ctx, const char *path, const uint8_t *data, size_t len)
{
    struct fake *f = ctx;
    if (snp_tsm_posix_ops.write_attr(NULL, path, data, len) != 0)
        return -1;
    char dir[600];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    assert_non_null(slash);
    *slash = '\0';
    const char *attr = slash + 1;
    bump_generation(dir, 1);
    if (strcmp(attr, "inblob") == 0) {
        assert_int_equal(len, 64);
        uint8_t rd[64], rep[2 * SNP_REPORT_LEN];
        memcpy(rd, data, 64);
        if (f->stale)
            rd[0] ^= 0xFF;
        make_report(rep, rd);
        memcpy(rep + SNP_REPORT_LEN, rep, SNP_REPORT_LEN);
        write_file(dir, "outblob", rep, f->two_reports ? sizeof rep : SNP_REPORT_LEN);
        if (f->extra_bumps)
            bump_generation(dir, f->extra_bumps);
    }
    if (strcmp(attr, "privlevel") == 0)
        assert_true(len >= 1 && data[0] == '0');
    return 0;
}

static const struct snp_tsm_ops FAKE_OPS = {
    .make_dir = fake_make_dir,
    .remove_dir = fake_remove_dir,
    .read_attr = fake_read_attr,
    .write_attr = fake_write_attr,
    .ctx = &g,
};

/* ---- fixtures ---- */

static struct binder g_binder;

static int group_setup(void **state)
{
    (void)state;
    g.key = EVP_EC_gen("P-384");
    memset(VCEK_DER, 0x11, sizeof VCEK_DER);
    memset(ASK_DER, 0x22, sizeof ASK_DER);
    memset(ARK_DER, 0x33, sizeof ARK_DER);
    memset(OTHER_DER, 0x44, sizeof OTHER_DER);
    uint8_t spki[91], exporter[32];
    memset(spki, 0x42, sizeof spki);
    memset(exporter, 0x24, sizeof exporter);
    return g.key && binder_compute(EVP_sha256(), spki, sizeof spki, exporter, &g_binder) == 0
               ? 0
               : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(g.key);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    EVP_PKEY *key = g.key;
    memset(&g, 0, sizeof g);
    g.key = key;
    g.provider = "sev_guest";
    g.generation = 7;
    snprintf(g.root, sizeof g.root, "/tmp/tether-snp-XXXXXX");
    return mkdtemp(g.root) ? 0 : -1;
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    bool empty = true;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = false;
    closedir(d);
    return empty;
}

static int teardown(void **state)
{
    (void)state;
    rmdir(g.root);
    return 0;
}

/* Run the backend's evidence() through the fake tree; the device path never exists. */
static int run(uint8_t **ev, size_t *len, char *err, size_t errlen)
{
    char dev[300];
    snprintf(dev, sizeof dev, "%s/no-sev-guest", g.root);
    struct attester *a = snp_attester_open_with(g.root, dev, &FAKE_OPS, err, errlen);
    assert_non_null(a);
    int rc = attester_snp.evidence(a, &g_binder, ev, len, err, errlen);
    attester_snp.close(a);
    /* Whatever happened, the entry was made once and removed, and nothing is left. */
    assert_int_equal(g.made, 1);
    assert_int_equal(g.removed, 1);
    assert_true(dir_is_empty(g.root));
    return rc;
}

/* ---- tests ---- */

static void test_configfs_report_is_bound_to_the_binder_and_carries_the_certificates(void **state)
{
    (void)state;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[512] = "";
    assert_int_equal(run(&ev, &len, err, sizeof err), 0);
    struct snp_evidence e;
    const char *why = NULL;
    assert_int_equal(snp_evidence_decode(ev, len, &e, &why), 0);
    assert_memory_equal(e.parsed.report_data, g_binder.report_data, 64);
    assert_int_equal(snp_report_verify_signature(&e.parsed, g.key), 0);
    assert_true(e.has_certs);
    /* Compacted: VCEK, ASK, ARK kept; the unknown entry and the page padding dropped. */
    assert_int_equal(e.certs.count, 3);
    const struct snp_cert_entry *c = snp_certtable_find(&e.certs, SNP_CERT_VCEK);
    assert_non_null(c);
    assert_int_equal(c->len, sizeof VCEK_DER);
    assert_memory_equal(c->der, VCEK_DER, sizeof VCEK_DER);
    assert_non_null(snp_certtable_find(&e.certs, SNP_CERT_ASK));
    assert_non_null(snp_certtable_find(&e.certs, SNP_CERT_ARK));
    assert_int_equal(e.certtable_len, 4 * 24 + sizeof VCEK_DER + sizeof ASK_DER + sizeof ARK_DER);
    assert_string_equal(attester_snp.media_type, SNP_EVIDENCE_MEDIA_TYPE);
    free(ev);
}

static void test_no_auxblob_and_no_floor_give_a_report_without_certificates(void **state)
{
    (void)state;
    g.no_auxblob = true;
    g.no_floor = true;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[512] = "";
    assert_int_equal(run(&ev, &len, err, sizeof err), 0);
    assert_int_equal(len, 1200);
    struct snp_evidence e;
    const char *why = NULL;
    assert_int_equal(snp_evidence_decode(ev, len, &e, &why), 0);
    assert_false(e.has_certs);
    free(ev);
}

static void test_a_racing_writer_changing_generation_is_refused(void **state)
{
    (void)state;
    g.extra_bumps = 1;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[512] = "";
    assert_int_equal(run(&ev, &len, err, sizeof err), -1);
    assert_null(ev);
    assert_non_null(strstr(err, "generation"));
}

static void test_another_provider_is_refused(void **state)
{
    (void)state;
    g.provider = "tdx_guest";
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[512] = "";
    assert_int_equal(run(&ev, &len, err, sizeof err), -1);
    assert_null(ev);
    assert_non_null(strstr(err, "tdx_guest"));
}

static void test_an_outblob_over_other_report_data_is_refused(void **state)
{
    (void)state;
    g.stale = true;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[512] = "";
    assert_int_equal(run(&ev, &len, err, sizeof err), -1);
    assert_null(ev);
    assert_non_null(strstr(err, "REPORT_DATA"));
}

static void test_an_outblob_that_is_not_one_report_is_refused(void **state)
{
    (void)state;
    g.two_reports = true;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[512] = "";
    assert_int_equal(run(&ev, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "2368"));
}

static void test_a_malformed_auxblob_is_refused(void **state)
{
    (void)state;
    g.bad_auxblob = true;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[512] = "";
    assert_int_equal(run(&ev, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "certificate table"));
}

static void test_an_all_zero_report_data_is_refused_before_touching_configfs(void **state)
{
    (void)state;
    struct attester *a = snp_attester_open_with(g.root, NULL, &FAKE_OPS, NULL, 0);
    assert_non_null(a);
    struct binder zero;
    memset(&zero, 0, sizeof zero);
    zero.hash_len = 32;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[256] = "";
    assert_int_equal(attester_snp.evidence(a, &zero, &ev, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "all-zero"));
    assert_int_equal(g.made, 0);
    attester_snp.close(a);
}

static void test_without_configfs_or_device_the_error_is_clean(void **state)
{
    (void)state;
    char root[300], dev[300], err[512] = "";
    snprintf(root, sizeof root, "%s/no-configfs", g.root);
    snprintf(dev, sizeof dev, "%s/no-sev-guest", g.root);
    struct attester *a = snp_attester_open_with(root, dev, &snp_tsm_posix_ops, err, sizeof err);
    assert_non_null(a);
    uint8_t *ev = (uint8_t *)1;
    size_t len = 1;
    assert_int_equal(attester_snp.evidence(a, &g_binder, &ev, &len, err, sizeof err), -1);
    assert_null(ev);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err, "not an SEV-SNP guest"));
    attester_snp.close(a);
    assert_true(dir_is_empty(g.root));
}

static void test_snp_specs_open_through_attester_open(void **state)
{
    (void)state;
    struct attester_handle h;
    char err[512] = "";
    /* Opening never probes the hardware; evidence on this (non-SNP) host fails cleanly. */
    assert_int_equal(attester_open("snp", &h, err, sizeof err), 0);
    assert_ptr_equal(h.backend, &attester_snp);
    uint8_t *ev = NULL;
    size_t len = 0;
    if (access("/sys/kernel/config/tsm/report", F_OK) != 0 && access("/dev/sev-guest", F_OK) != 0) {
        assert_int_equal(h.backend->evidence(h.state, &g_binder, &ev, &len, err, sizeof err), -1);
        assert_non_null(strstr(err, "not an SEV-SNP guest"));
    }
    attester_close(&h);
    assert_int_equal(attester_open("snp:", &h, err, sizeof err), 0);
    attester_close(&h);
    char spec[300];
    snprintf(spec, sizeof spec, "snp:%s", g.root);
    assert_int_equal(attester_open(spec, &h, err, sizeof err), 0);
    attester_close(&h);
    assert_int_equal(attester_open("snp:relative/dir", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "absolute"));
    /* The bare form stays an error for backends that need an argument. */
    assert_int_equal(attester_open("sim", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "type:argument"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_configfs_report_is_bound_to_the_binder_and_carries_the_certificates),
        T(test_no_auxblob_and_no_floor_give_a_report_without_certificates),
        T(test_a_racing_writer_changing_generation_is_refused),
        T(test_another_provider_is_refused),
        T(test_an_outblob_over_other_report_data_is_refused),
        T(test_an_outblob_that_is_not_one_report_is_refused),
        T(test_a_malformed_auxblob_is_refused),
        T(test_an_all_zero_report_data_is_refused_before_touching_configfs),
        T(test_without_configfs_or_device_the_error_is_clean),
        T(test_snp_specs_open_through_attester_open),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
