/*
 * test_snp_attester.c - the SEV-SNP attester's configfs-tsm path against a fake tree in a
 * mkdtemp directory, and the /dev/sev-guest fallback when neither interface exists.
 *
 * Design: the attester's configfs code runs unchanged; only its four filesystem primitives
 * (snp_attester.h) are wrapped, by the shared fake tree of tests/lib/fake_tsm_tree.h. The
 * wrappers call the real POSIX primitives on the temp tree and add what the kernel would do
 * synchronously: mkdir creates the attributes (provider,
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
#include "lib/fake_tsm_tree.h"
#include "lib/snp_fixture.h"
#include "util/bytes.h"
#include "util/util.h"

struct fake {
    struct fake_tsm_tree tree;
    int extra_bumps;       /* a racing writer bumps generation this often on inblob */
    bool stale;            /* outblob carries other REPORT_DATA */
    bool two_reports;      /* outblob holds 2368 bytes */
    bool no_auxblob;
    bool bad_auxblob;
    bool no_floor;
    unsigned floor;       /* privlevel_floor written on mkdir (0 by default) */
    unsigned report_vmpl; /* the VMPL the fake firmware puts in the report */
};

static struct fake g;
static EVP_PKEY *g_key; /* the firmware's test P-384 key: signs every report */

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The firmware: a v3 Milan report over rd, signed by the test key. */
static void make_report(uint8_t rep[SNP_REPORT_LEN], const uint8_t rd[64])
{
    memset(rep, 0, SNP_REPORT_LEN);
    put_le(rep, 3, 4);
    put_le(rep + 0x008, 0x30000, 8);
    put_le(rep + 0x030, g.report_vmpl, 4);
    put_le(rep + 0x034, 1, 4);
    memcpy(rep + 0x050, rd, 64);
    memset(rep + 0x090, 0x5A, 48);
    rep[0x188] = 0x19;
    rep[0x189] = 0x01;
    snp_fx_sign_report(rep, g_key);
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

/* ---- the kernel's side ---- */

static void made(struct fake_tsm_tree *tree, const char *dir)
{
    (void)tree;
    fake_tsm_write_file(dir, "privlevel", "", 0);
    if (!g.no_floor) {
        char fl[4] = {(char)('0' + g.floor), '\n', 0, 0};
        fake_tsm_write_file(dir, "privlevel_floor", fl, 2);
    }
    fake_tsm_write_file(dir, "outblob", "", 0);
    if (!g.no_auxblob) {
        size_t len = 0;
        uint8_t *t = host_table(&len);
        if (g.bad_auxblob)
            put_le(t + 16, 8, 4); /* VCEK offset inside the entry array */
        fake_tsm_write_file(dir, "auxblob", t, len);
        free(t);
    }
}

static void written(struct fake_tsm_tree *t, const char *dir, const char *attr,
                    const uint8_t *data, size_t len)
{
    (void)t;
    if (strcmp(attr, "inblob") == 0) {
        assert_int_equal(len, 64);
        uint8_t rd[64], rep[2 * SNP_REPORT_LEN];
        memcpy(rd, data, 64);
        if (g.stale)
            rd[0] ^= 0xFF;
        make_report(rep, rd);
        memcpy(rep + SNP_REPORT_LEN, rep, SNP_REPORT_LEN);
        fake_tsm_write_file(dir, "outblob", rep, g.two_reports ? sizeof rep : SNP_REPORT_LEN);
        if (g.extra_bumps)
            fake_tsm_bump_generation(dir, g.extra_bumps);
    }
    if (strcmp(attr, "privlevel") == 0)
        assert_true(len >= 1 && data[0] == (uint8_t)('0' + (g.no_floor ? 0 : g.floor)));
}

static const struct fake_tsm_hooks HOOKS = {made, written};
static const struct snp_tsm_ops FAKE_OPS = FAKE_TSM_TREE_OPS(&g.tree);

/* ---- fixtures ---- */

static struct binder g_binder;

static int group_setup(void **state)
{
    (void)state;
    g_key = EVP_EC_gen("P-384");
    memset(VCEK_DER, 0x11, sizeof VCEK_DER);
    memset(ASK_DER, 0x22, sizeof ASK_DER);
    memset(ARK_DER, 0x33, sizeof ARK_DER);
    memset(OTHER_DER, 0x44, sizeof OTHER_DER);
    return g_key && fake_tsm_test_binder(&g_binder) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(g_key);
    return 0;
}

static int setup(void **state)
{
    memset(&g, 0, sizeof g);
    return fake_tsm_tree_setup(state, &g.tree, "snp", "sev_guest", 7, &HOOKS);
}

/* Run the backend's evidence() through the fake tree; the device path never exists. */
static int run(uint8_t **ev, size_t *len, char *err, size_t errlen)
{
    char dev[300];
    snprintf(dev, sizeof dev, "%s/no-sev-guest", g.tree.root);
    struct attester *a = snp_attester_open_with(g.tree.root, dev, &FAKE_OPS, err, errlen);
    assert_non_null(a);
    int rc = attester_snp.evidence(a, &g_binder, ev, len, err, errlen);
    attester_snp.close(a);
    fake_tsm_tree_assert_clean(&g.tree);
    return rc;
}

/* The same through a spec "ROOT;OPTS" (snp_attester_parse_spec), e.g. opts "vmpl=1". */
static int run_spec(const char *opts, uint8_t **ev, size_t *len, char *err, size_t errlen)
{
    char dev[300], arg[600];
    snprintf(dev, sizeof dev, "%s/no-sev-guest", g.tree.root);
    snprintf(arg, sizeof arg, "%s;%s", g.tree.root, opts);
    struct snp_attester_spec spec;
    g.tree.made = g.tree.removed = 0; /* one entry per run */
    assert_int_equal(snp_attester_parse_spec(arg, &spec, err, errlen), 0);
    struct attester *a = snp_attester_open_spec(&spec, dev, &FAKE_OPS, err, errlen);
    assert_non_null(a);
    int rc = attester_snp.evidence(a, &g_binder, ev, len, err, errlen);
    attester_snp.close(a);
    fake_tsm_tree_assert_clean(&g.tree);
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
    assert_int_equal(snp_report_verify_signature(&e.parsed, g_key), 0);
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
    g.tree.provider = "tdx_guest";
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
    struct attester *a = snp_attester_open_with(g.tree.root, NULL, &FAKE_OPS, NULL, 0);
    assert_non_null(a);
    struct binder zero;
    memset(&zero, 0, sizeof zero);
    zero.hash_len = 32;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[256] = "";
    assert_int_equal(attester_snp.evidence(a, &zero, &ev, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "all-zero"));
    assert_int_equal(g.tree.made, 0);
    attester_snp.close(a);
}

static void test_without_configfs_or_device_the_error_is_clean(void **state)
{
    (void)state;
    char root[300], dev[300], err[512] = "";
    snprintf(root, sizeof root, "%s/no-configfs", g.tree.root);
    snprintf(dev, sizeof dev, "%s/no-sev-guest", g.tree.root);
    struct attester *a = snp_attester_open_with(root, dev, &snp_tsm_posix_ops, err, sizeof err);
    assert_non_null(a);
    uint8_t *ev = (uint8_t *)1;
    size_t len = 1;
    assert_int_equal(attester_snp.evidence(a, &g_binder, &ev, &len, err, sizeof err), -1);
    assert_null(ev);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err, "not an SEV-SNP guest"));
    attester_snp.close(a);
    assert_true(fake_tsm_dir_is_empty(g.tree.root));
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
    snprintf(spec, sizeof spec, "snp:%s", g.tree.root);
    assert_int_equal(attester_open(spec, &h, err, sizeof err), 0);
    attester_close(&h);
    assert_int_equal(attester_open("snp:relative/dir", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "absolute"));
    /* The bare form stays an error for backends that need an argument. */
    assert_int_equal(attester_open("sim", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "type:argument"));
}

/* "snp:[TSM-DIR][;vmpl=N]": the VMPL of the /dev/sev-guest request (0 by default), 0..3. */
static void test_the_spec_chooses_the_vmpl(void **state)
{
    (void)state;
    static const struct {
        const char *arg;
        int ok;
        const char *root;
        bool has_vmpl;
        unsigned vmpl;
        const char *msg; /* for a refusal */
    } cases[] = {
        {"", 1, "", false, 0, NULL},
        {"/sys/kernel/config/tsm/report", 1, "/sys/kernel/config/tsm/report", false, 0, NULL},
        {"vmpl=0", 1, "", true, 0, NULL},
        {"vmpl=3", 1, "", true, 3, NULL},
        {";vmpl=2", 1, "", true, 2, NULL},
        {"/r;vmpl=1", 1, "/r", true, 1, NULL},
        {"vmpl=4", 0, NULL, false, 0, "must be 0, 1, 2 or 3"},
        {"vmpl=-1", 0, NULL, false, 0, "must be 0, 1, 2 or 3"},
        {"vmpl=01", 0, NULL, false, 0, "must be 0, 1, 2 or 3"},
        {"vmpl=", 0, NULL, false, 0, "must be 0, 1, 2 or 3"},
        {"vmpl=1 ", 0, NULL, false, 0, "must be 0, 1, 2 or 3"},
        {"vmpl=x", 0, NULL, false, 0, "must be 0, 1, 2 or 3"},
        {"/r;vmpl=1;vmpl=2", 0, NULL, false, 0, "twice"},
        {"/r;VMPL=1", 0, NULL, false, 0, "expected vmpl=N"},
        {"/r;", 0, NULL, false, 0, "expected vmpl=N"},
        {"/r;/s", 0, NULL, false, 0, "expected vmpl=N"},
        {"relative;vmpl=1", 0, NULL, false, 0, "absolute"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct snp_attester_spec sp;
        char err[256] = "";
        int rc = snp_attester_parse_spec(cases[i].arg, &sp, err, sizeof err);
        if (cases[i].ok) {
            if (rc != 0)
                fail_msg("\"%s\" refused: %s", cases[i].arg, err);
            assert_string_equal(sp.root, cases[i].root);
            assert_int_equal(sp.has_vmpl, cases[i].has_vmpl);
            assert_int_equal(sp.vmpl, cases[i].vmpl);
        } else {
            if (rc == 0 || !strstr(err, cases[i].msg))
                fail_msg("\"%s\": rc %d, \"%s\" (wanted \"%s\")", cases[i].arg, rc, err,
                         cases[i].msg);
        }
    }
    /* Through attester_open, as --tee gives it. */
    struct attester_handle h;
    char err[256] = "";
    assert_int_equal(attester_open("snp:vmpl=2", &h, err, sizeof err), 0);
    attester_close(&h);
    assert_int_equal(attester_open("snp:;vmpl=3", &h, err, sizeof err), 0);
    attester_close(&h);
    assert_int_equal(attester_open("snp:vmpl=4", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "must be 0, 1, 2 or 3"));
    /* open_spec validates what it is given. */
    struct snp_attester_spec bad = {.has_vmpl = true, .vmpl = 4};
    assert_null(snp_attester_open_spec(&bad, NULL, &FAKE_OPS, err, sizeof err));
}

/* configfs-tsm with vmpl=N: the level written (privlevel_floor) and the report must be N. */
static void test_configfs_with_vmpl_checks_the_level_and_the_report(void **state)
{
    (void)state;
    uint8_t *ev = NULL;
    size_t len = 0;
    char err[512] = "";
    /* floor 1, VMPL 1 report, vmpl=1: fine. */
    g.floor = 1;
    g.report_vmpl = 1;
    assert_int_equal(run_spec("vmpl=1", &ev, &len, err, sizeof err), 0);
    struct snp_evidence e;
    const char *why = NULL;
    assert_int_equal(snp_evidence_decode(ev, len, &e, &why), 0);
    assert_int_equal(e.parsed.vmpl, 1);
    free(ev);
    ev = NULL;
    /* floor 0 but vmpl=1 asked: refused. */
    g.floor = 0;
    g.report_vmpl = 0;
    assert_int_equal(run_spec("vmpl=1", &ev, &len, err, sizeof err), -1);
    assert_null(ev);
    assert_non_null(strstr(err, "privlevel 0"));
    /* vmpl=0 asked and written, but the report says VMPL 2: refused. */
    g.report_vmpl = 2;
    assert_int_equal(run_spec("vmpl=0", &ev, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "VMPL 2 report, not VMPL 0"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fake_tsm_tree_teardown)
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
        T(test_the_spec_chooses_the_vmpl),
        T(test_configfs_with_vmpl_checks_the_level_and_the_report),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
