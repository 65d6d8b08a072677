/*
 * test_tpm_attester.c - the TPM 2.0 attester (src/attester/tpm) against a real software TPM:
 * a swtpm this test starts on 127.0.0.1 through scripts/swtpm.sh in a mkdtemp directory, and
 * its spec parser without any TPM.
 *
 * Each evidence is taken apart with the verifier's own parsers (tpm_evidence_parse,
 * tpm_quote_parse, tpm_public_parse, tpm_signature_parse/verify, tpm_pcr_digest): extraData is
 * the binder's report_data, the AK is a restricted signing key, the signature verifies, the PCR
 * values hash to the quote's pcrDigest (also across several TPM2_PCR_Read calls and after a
 * PCR extend), two binders give two quotes, the AK is the same on every open and in forked
 * children (which must not disturb the parent's), an ";akcert="
 * chain is carried (and one for another key refused), an all-zero report_data is refused.
 *
 * swtpm is started by tests/lib/swtpm_fixture (scripts/swtpm.sh, run from the repository root
 * or $TETHER_SWTPM_SCRIPT) and stopped in the group teardown and, should this process die
 * first, by the fixture's guardian child. The whole run is bounded by alarm(). Without the
 * swtpm binary the TPM cases skip with "# skip: swtpm not installed" (CI installs it:
 * scripts/deps.sh).
 *
 * Test tool mode, for tests/cli/tpm_e2e.sh only: `test_tpm_attester --emit TEE_SPEC HEX128
 * FILE` writes evidence over the given report_data to FILE through the TEST-ONLY attestation
 * oracle (src/testhooks), which is exactly what the production library never offers.
 * Must never: touch the network beyond loopback, leave a swtpm running, wait unboundedly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "attester/attester.h"
#include "attester/tpm/tpm_attester.h"
#include "binding/binder.h"
#include "evidence/tpm/tpm.h"
#include "evidence/tpm/tpm_evidence.h"
#include "lib/swtpm_fixture.h"
#include "testhooks/testhooks.h"
#include "util/util.h"

static struct {
    bool skip;
    struct swtpm_fixture tpm; /* tpm.dir, tpm.tcti */
} g;

static int group_setup(void **state)
{
    (void)state;
    int rc = swtpm_fixture_start(&g.tpm);
    if (rc == 1)
        g.skip = true;
    return rc < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    swtpm_fixture_stop(&g.tpm);
    return 0;
}

/* ---- helpers ---- */

static void spec_of(char *out, size_t n, const char *suffix)
{
    swtpm_fixture_tee_spec(&g.tpm, suffix, out, n);
}

static void random_binder(struct binder *b)
{
    memset(b, 0, sizeof *b);
    b->hash_len = 32;
    assert_int_equal(RAND_bytes(b->report_data, sizeof b->report_data), 1);
    assert_int_equal(RAND_bytes(b->aik_pub_hash, 32), 1);
}

static void open_tpm(struct attester_handle *h, const char *suffix)
{
    char spec[512], err[512] = "";
    spec_of(spec, sizeof spec, suffix);
    int rc = attester_open(spec, h, err, sizeof err);
    if (rc != 0)
        fail_msg("attester_open(%s): %s", spec, err);
    assert_string_equal(h->backend->name, "tpm");
    assert_string_equal(h->backend->media_type, TPM_EVIDENCE_MEDIA_TYPE);
}

struct checked {
    uint8_t *ev;
    size_t ev_len;
    struct tpm_evidence e;
    struct tpm_quote q;
    struct tpm_public pub;
    EVP_PKEY *key;
};

/* Evidence for b, taken apart and checked the way a verifier would. */
static void evidence_checked(struct attester_handle *h, const struct binder *b,
                             struct checked *c)
{
    memset(c, 0, sizeof *c);
    char err[512] = "";
    int rc = h->backend->evidence(h->state, b, &c->ev, &c->ev_len, err, sizeof err);
    if (rc != 0)
        fail_msg("evidence: %s", err);
    assert_non_null(c->ev);
    const char *why = NULL;
    if (tpm_evidence_parse(c->ev, c->ev_len, &c->e, &why) != 0)
        fail_msg("tpm_evidence_parse: %s", why ? why : "?");
    if (tpm_quote_parse(c->e.attest, c->e.attest_len, &c->q, &why) != 0)
        fail_msg("tpm_quote_parse: %s", why ? why : "?");
    /* The signed qualifyingData is exactly this binder's report_data. */
    assert_int_equal(c->q.extra_data_len, 64);
    assert_memory_equal(c->q.extra_data, b->report_data, 64);
    if (tpm_public_parse(c->e.ak_public, c->e.ak_public_len, &c->pub, &c->key, &why) != 0)
        fail_msg("tpm_public_parse: %s", why ? why : "?");
    assert_true(c->pub.restricted);
    assert_true(c->pub.sign);
    assert_true(c->pub.fixed_tpm);
    assert_true(c->pub.sensitive_data_origin);
    assert_int_equal(c->pub.type, TPM_ALG_ECC);
    struct tpm_signature sig;
    if (tpm_signature_parse(c->e.signature, c->e.signature_len, &sig, &why) != 0)
        fail_msg("tpm_signature_parse: %s", why ? why : "?");
    assert_int_equal(sig.sig_alg, TPM_ALG_ECDSA);
    assert_int_equal(sig.hash_alg, TPM_ALG_SHA256);
    assert_int_equal(tpm_signature_verify(&sig, c->key, c->e.attest, c->e.attest_len), 0);
    /* The quote's signer is this AK, a primary of the endorsement hierarchy: its qualified
     * name is nameAlg || SHA-256(TPM_RH_ENDORSEMENT || Name) (TPM 2.0 Part 1, 16.6). */
    assert_int_equal(c->pub.name_alg, TPM_ALG_SHA256);
    uint8_t qn_in[4 + 2 + 32] = {0x40, 0x00, 0x00, 0x0b};
    assert_int_equal(c->pub.name_len, 2 + 32);
    memcpy(qn_in + 4, c->pub.name, c->pub.name_len);
    uint8_t qn[2 + 32] = {0x00, 0x0b};
    unsigned int qlen = 0;
    assert_int_equal(EVP_Digest(qn_in, sizeof qn_in, qn + 2, &qlen, EVP_sha256(), NULL), 1);
    assert_int_equal(c->q.qualified_signer_len, sizeof qn);
    assert_memory_equal(c->q.qualified_signer, qn, sizeof qn);
    /* The PCR values carried are the ones the quote signed. */
    uint8_t d[TPM_MAX_DIGEST];
    size_t dlen = 0;
    assert_int_equal(tpm_pcr_digest(&c->q.pcr_select, c->e.banks, c->e.n_banks, sig.hash_alg, d,
                                    &dlen),
                     0);
    assert_int_equal(dlen, c->q.pcr_digest_len);
    assert_memory_equal(d, c->q.pcr_digest, dlen);
    /* A tampered value breaks it. */
    struct tpm_pcr_bank *tb = malloc(sizeof c->e.banks);
    assert_non_null(tb);
    memcpy(tb, c->e.banks, sizeof c->e.banks);
    for (unsigned i = 0; i < TPM_PCRS; i++)
        if (tb[0].present & (1u << i)) {
            tb[0].value[i][0] ^= 1;
            break;
        }
    uint8_t d2[TPM_MAX_DIGEST];
    size_t d2len = 0;
    assert_int_equal(tpm_pcr_digest(&c->q.pcr_select, tb, c->e.n_banks, sig.hash_alg, d2, &d2len),
                     0);
    assert_memory_not_equal(d2, c->q.pcr_digest, dlen);
    free(tb);
}

static void checked_free(struct checked *c)
{
    EVP_PKEY_free(c->key);
    free(c->ev);
    memset(c, 0, sizeof *c);
}

#define SKIP_WITHOUT_SWTPM()                                                                   \
    do {                                                                                       \
        if (g.skip)                                                                            \
            skip();                                                                            \
    } while (0)

/* ---- the spec parser (no TPM) ---- */

static void test_spec_defaults(void **state)
{
    (void)state;
    struct tpm_attester_spec s;
    char err[256] = "";
    assert_int_equal(tpm_attester_parse_spec("", &s, err, sizeof err), 0);
    assert_string_equal(s.tcti, TPM_ATTESTER_DEFAULT_TCTI);
    assert_int_equal(s.pcrs.n_banks, 1);
    assert_int_equal(s.pcrs.bank[0].hash_alg, TPM_ALG_SHA256);
    assert_int_equal(s.pcrs.bank[0].mask, 0xffu);
    assert_string_equal(s.akcert, "");

    assert_int_equal(tpm_attester_parse_spec("swtpm:host=127.0.0.1,port=2321", &s, err,
                                             sizeof err),
                     0);
    assert_string_equal(s.tcti, "swtpm:host=127.0.0.1,port=2321");
    assert_int_equal(s.pcrs.bank[0].mask, 0xffu);

    assert_int_equal(tpm_attester_parse_spec(
                         "swtpm:port=1;pcrs=sha256:0,1,2,7+sha1:0;akcert=/x/ak.pem", &s, err,
                         sizeof err),
                     0);
    assert_string_equal(s.tcti, "swtpm:port=1");
    assert_int_equal(s.pcrs.n_banks, 2);
    assert_int_equal(s.pcrs.bank[0].hash_alg, TPM_ALG_SHA256);
    assert_int_equal(s.pcrs.bank[0].mask, 0x87u);
    assert_int_equal(s.pcrs.bank[1].hash_alg, TPM_ALG_SHA1);
    assert_int_equal(s.pcrs.bank[1].mask, 0x1u);
    assert_string_equal(s.akcert, "/x/ak.pem");

    /* Empty TCTI with options: the default device. */
    assert_int_equal(tpm_attester_parse_spec(";pcrs=sha384:16-23,0+sha512:23", &s, err,
                                             sizeof err),
                     0);
    assert_string_equal(s.tcti, TPM_ATTESTER_DEFAULT_TCTI);
    assert_int_equal(s.pcrs.bank[0].hash_alg, TPM_ALG_SHA384);
    assert_int_equal(s.pcrs.bank[0].mask, 0xff0001u);
    assert_int_equal(s.pcrs.bank[1].hash_alg, TPM_ALG_SHA512);
    assert_int_equal(s.pcrs.bank[1].mask, 0x800000u);
}

static void test_spec_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        ";pcrs=",                       /* empty selection */
        ";pcrs=sha256",                 /* no PCRs */
        ";pcrs=sha256:",                /* no PCRs */
        ";pcrs=md5:0",                  /* unknown bank */
        ";pcrs=sha256:24",              /* out of range */
        ";pcrs=sha256:100",             /* out of range */
        ";pcrs=sha256:7-3",             /* reversed range */
        ";pcrs=sha256:0,",              /* trailing comma */
        ";pcrs=sha256:0+",              /* trailing + */
        ";pcrs=sha256:0+sha256:1",      /* bank twice */
        ";pcrs=sha256:0;pcrs=sha1:0",   /* key twice */
        ";pcrs=sha256:0 ",              /* junk */
        ";pcrs=sha1:0+sha256:0+sha384:0+sha512:0+sha1:1",
        ";akcert=",                     /* no path */
        ";akcert=a;akcert=b",           /* twice */
        ";foo=bar",                     /* unknown key */
        ";pcrs",                        /* no '=' */
        "swtpm;",                       /* empty option */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tpm_attester_spec s;
        char err[256] = "";
        if (tpm_attester_parse_spec(bad[i], &s, err, sizeof err) == 0)
            fail_msg("accepted bad spec \"%s\"", bad[i]);
        assert_true(strncmp(err, "tpm: ", 5) == 0);
    }
    /* And through attester_open: a clear error, no TPM touched. */
    struct attester_handle h;
    char err[256] = "";
    assert_int_equal(attester_open("tpm:;pcrs=sha999:0", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown PCR bank"));
}

/* ---- against swtpm ---- */

static void test_quote_binds_report_data(void **state)
{
    (void)state;
    SKIP_WITHOUT_SWTPM();
    struct attester_handle h;
    open_tpm(&h, NULL);
    struct binder b1, b2;
    random_binder(&b1);
    random_binder(&b2);
    struct checked c1, c2;
    evidence_checked(&h, &b1, &c1);
    evidence_checked(&h, &b2, &c2);
    /* Default selection sha256:0-7, one bank, values carried. */
    assert_int_equal(c1.q.pcr_select.n_banks, 1);
    assert_int_equal(c1.q.pcr_select.bank[0].hash_alg, TPM_ALG_SHA256);
    assert_int_equal(c1.q.pcr_select.bank[0].mask, 0xffu);
    assert_int_equal(c1.e.n_banks, 1);
    assert_int_equal(c1.e.banks[0].present, 0xffu);
    assert_int_equal(c1.e.n_certs, 0);
    /* Two binders, two quotes, one AK. */
    assert_memory_not_equal(c1.q.extra_data, c2.q.extra_data, 64);
    assert_memory_equal(c2.q.extra_data, b2.report_data, 64);
    assert_int_equal(c1.e.ak_public_len, c2.e.ak_public_len);
    assert_memory_equal(c1.e.ak_public, c2.e.ak_public, c1.e.ak_public_len);
    /* The quote signed for b1 does not carry b2's report_data. */
    assert_memory_not_equal(c1.q.extra_data, b2.report_data, 64);
    checked_free(&c1);
    checked_free(&c2);
    attester_close(&h);
}

static void test_ak_is_stable_across_opens(void **state)
{
    (void)state;
    SKIP_WITHOUT_SWTPM();
    struct attester_handle h1, h2;
    open_tpm(&h1, NULL);
    open_tpm(&h2, ";pcrs=sha1:0");
    struct binder b;
    random_binder(&b);
    struct checked c1, c2;
    evidence_checked(&h1, &b, &c1);
    evidence_checked(&h2, &b, &c2);
    assert_int_equal(c1.e.ak_public_len, c2.e.ak_public_len);
    assert_memory_equal(c1.e.ak_public, c2.e.ak_public, c1.e.ak_public_len);
    assert_int_equal(c2.q.pcr_select.bank[0].hash_alg, TPM_ALG_SHA1);
    checked_free(&c1);
    checked_free(&c2);
    attester_close(&h1);
    attester_close(&h2);
}

/* 4 banks x 24 PCRs: 96 values, at most 8 per TPM2_PCR_Read. */
static void test_many_pcrs(void **state)
{
    (void)state;
    SKIP_WITHOUT_SWTPM();
    struct attester_handle h;
    open_tpm(&h, ";pcrs=sha256:0-23+sha1:0-23+sha384:0-23+sha512:0-23");
    struct binder b;
    random_binder(&b);
    struct checked c;
    evidence_checked(&h, &b, &c);
    assert_int_equal(c.q.pcr_select.n_banks, 4);
    assert_int_equal(c.e.n_banks, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(c.e.banks[i].present, 0xffffffu);
    assert_int_equal(c.e.banks[0].hash_alg, TPM_ALG_SHA256);
    assert_int_equal(c.e.banks[1].hash_alg, TPM_ALG_SHA1);
    assert_int_equal(c.e.banks[2].hash_alg, TPM_ALG_SHA384);
    assert_int_equal(c.e.banks[3].hash_alg, TPM_ALG_SHA512);
    checked_free(&c);
    attester_close(&h);
}

/* Extend PCR 16 (debug PCR) directly through ESYS: the evidence carries the new value, which
 * is SHA-256(old || data). */
static void test_extended_pcr(void **state)
{
    (void)state;
    SKIP_WITHOUT_SWTPM();
    struct attester_handle h;
    open_tpm(&h, ";pcrs=sha256:16");
    struct binder b;
    random_binder(&b);
    struct checked before, after;
    evidence_checked(&h, &b, &before);

    TSS2_TCTI_CONTEXT *tcti = NULL;
    ESYS_CONTEXT *esys = NULL;
    assert_int_equal(Tss2_TctiLdr_Initialize(swtpm_fixture_tcti(&g.tpm), &tcti), TSS2_RC_SUCCESS);
    assert_int_equal(Esys_Initialize(&esys, tcti, NULL), TSS2_RC_SUCCESS);
    TPML_DIGEST_VALUES dv;
    memset(&dv, 0, sizeof dv);
    dv.count = 1;
    dv.digests[0].hashAlg = TPM2_ALG_SHA256;
    uint8_t data[32];
    assert_int_equal(RAND_bytes(data, sizeof data), 1);
    memcpy(dv.digests[0].digest.sha256, data, 32);
    assert_int_equal(Esys_PCR_Extend(esys, ESYS_TR_PCR16, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &dv),
                     TSS2_RC_SUCCESS);
    Esys_Finalize(&esys);
    Tss2_TctiLdr_Finalize(&tcti);

    random_binder(&b);
    evidence_checked(&h, &b, &after);
    uint8_t cat[64], want[32];
    memcpy(cat, before.e.banks[0].value[16], 32);
    memcpy(cat + 32, data, 32);
    unsigned int wl = 0;
    assert_int_equal(EVP_Digest(cat, sizeof cat, want, &wl, EVP_sha256(), NULL), 1);
    assert_memory_equal(after.e.banks[0].value[16], want, 32);
    assert_memory_not_equal(after.q.pcr_digest, before.q.pcr_digest, 32);
    checked_free(&before);
    checked_free(&after);
    attester_close(&h);
}

static void test_zero_report_data_refused(void **state)
{
    (void)state;
    SKIP_WITHOUT_SWTPM();
    struct attester_handle h;
    open_tpm(&h, NULL);
    struct binder b;
    memset(&b, 0, sizeof b);
    b.hash_len = 32;
    uint8_t *ev = (uint8_t *)&b;
    size_t ev_len = 1;
    char err[256] = "";
    assert_int_equal(h.backend->evidence(h.state, &b, &ev, &ev_len, err, sizeof err), -1);
    assert_null(ev);
    assert_int_equal(ev_len, 0);
    assert_non_null(strstr(err, "all-zero"));
    attester_close(&h);
}

/* tether serve forks a child per connection after opening the attester: each child must use
 * its own TPM connection and AK (the parent's AK must survive the child's close), and produce
 * the same AK. */
static void test_fork(void **state)
{
    (void)state;
    SKIP_WITHOUT_SWTPM();
    struct attester_handle h;
    open_tpm(&h, NULL);
    struct binder b0;
    random_binder(&b0);
    struct checked c0;
    evidence_checked(&h, &b0, &c0);
    for (int k = 0; k < 2; k++) {
        struct binder b;
        random_binder(&b);
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            alarm(20);
            uint8_t *ev = NULL;
            size_t ev_len = 0;
            char err[512] = "";
            int rc = h.backend->evidence(h.state, &b, &ev, &ev_len, err, sizeof err);
            if (rc != 0)
                fprintf(stderr, "# child: %s\n", err);
            uint32_t n = rc == 0 ? (uint32_t)ev_len : 0;
            if (write(p[1], &n, sizeof n) != (ssize_t)sizeof n ||
                (n && write(p[1], ev, n) != (ssize_t)n))
                rc = -1;
            free(ev);
            attester_close(&h);
            _exit(rc == 0 ? 0 : 1);
        }
        close(p[1]);
        uint32_t n = 0;
        uint8_t *buf = malloc(TPM_EVIDENCE_MAX);
        assert_non_null(buf);
        size_t got = 0;
        ssize_t r;
        while ((r = read(p[0], buf + got, TPM_EVIDENCE_MAX - got)) > 0)
            got += (size_t)r;
        close(p[0]);
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_true(got > sizeof n);
        memcpy(&n, buf, sizeof n);
        assert_int_equal(got, sizeof n + n);
        struct tpm_evidence e;
        struct tpm_quote q;
        const char *why = NULL;
        assert_int_equal(tpm_evidence_parse(buf + sizeof n, n, &e, &why), 0);
        assert_int_equal(tpm_quote_parse(e.attest, e.attest_len, &q, &why), 0);
        assert_memory_equal(q.extra_data, b.report_data, 64);
        assert_int_equal(e.ak_public_len, c0.e.ak_public_len);
        assert_memory_equal(e.ak_public, c0.e.ak_public, e.ak_public_len);
        free(buf);
    }
    /* The parent's AK is still loaded and usable. */
    struct checked c1;
    random_binder(&b0);
    evidence_checked(&h, &b0, &c1);
    checked_free(&c0);
    checked_free(&c1);
    attester_close(&h);
}

/* A certificate for key, issued by ca_key (self-signed when key == ca_key). */
static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *ca_key, const char *cn, const char *issuer_cn)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_NAME *in = X509_get_issuer_name(x);
    X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_ASC, (const unsigned char *)issuer_cn, -1, -1,
                               0);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
    return x;
}

static void write_pem_chain(const char *path, X509 *a, X509 *b)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, a), 1);
    if (b)
        assert_int_equal(PEM_write_X509(f, b), 1);
    fclose(f);
}

static void test_akcert(void **state)
{
    (void)state;
    SKIP_WITHOUT_SWTPM();
    /* The AK's public key, from a first evidence. */
    struct attester_handle h;
    open_tpm(&h, NULL);
    struct binder b;
    random_binder(&b);
    struct checked c;
    evidence_checked(&h, &b, &c);
    attester_close(&h);

    EVP_PKEY *ca = EVP_EC_gen("P-256");
    EVP_PKEY *other = EVP_EC_gen("P-256");
    assert_non_null(ca);
    assert_non_null(other);
    X509 *root = make_cert(ca, ca, "test AK CA", "test AK CA");
    X509 *leaf = make_cert(c.key, ca, "test AK", "test AK CA");
    X509 *wrong = make_cert(other, ca, "not the AK", "test AK CA");
    char good_path[400], bad_path[400], suffix[450];
    snprintf(good_path, sizeof good_path, "%s/ak-chain.pem", g.tpm.dir);
    snprintf(bad_path, sizeof bad_path, "%s/other-chain.pem", g.tpm.dir);
    write_pem_chain(good_path, leaf, root);
    write_pem_chain(bad_path, wrong, root);

    snprintf(suffix, sizeof suffix, ";akcert=%s", good_path);
    open_tpm(&h, suffix);
    struct checked cc;
    random_binder(&b);
    evidence_checked(&h, &b, &cc);
    assert_int_equal(cc.e.n_certs, 2);
    unsigned char *der = NULL;
    int n = i2d_X509(leaf, &der);
    assert_true(n > 0);
    assert_int_equal(cc.e.cert_lens[0], (size_t)n);
    assert_memory_equal(cc.e.certs[0], der, (size_t)n);
    OPENSSL_free(der);
    checked_free(&cc);
    attester_close(&h);

    /* A chain whose leaf certifies another key: refused at open. */
    char spec[600], err[512] = "";
    snprintf(spec, sizeof spec, "%s;akcert=%s", g.tpm.spec, bad_path);
    assert_int_equal(attester_open(spec, &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not certify"));
    /* A missing file: refused at open. */
    snprintf(spec, sizeof spec, "%s;akcert=%s/nonexistent.pem", g.tpm.spec, g.tpm.dir);
    assert_int_equal(attester_open(spec, &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read akcert"));

    X509_free(root);
    X509_free(leaf);
    X509_free(wrong);
    EVP_PKEY_free(ca);
    EVP_PKEY_free(other);
    checked_free(&c);
}

/* Nothing listens there (a port we hold bound without listening: connect is refused): a
 * clear open error, promptly. */
static void test_no_tpm_there(void **state)
{
    (void)state;
    SKIP_WITHOUT_SWTPM();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    char spec[256], err[512] = "";
    snprintf(spec, sizeof spec, "tpm:swtpm:host=127.0.0.1,port=%u", (unsigned)ntohs(sa.sin_port));
    struct attester_handle h;
    int64_t t0 = now_ms();
    assert_int_equal(attester_open(spec, &h, err, sizeof err), -1);
    assert_true(now_ms() - t0 < 10000);
    assert_true(strncmp(err, "tpm: ", 5) == 0);
    close(fd);
}

/* ---- test tool mode for tests/cli/tpm_e2e.sh ---- */

static int emit(const char *spec, const char *hex, const char *path)
{
    uint8_t rd[64];
    size_t n = 0;
    if (hex_decode(hex, rd, sizeof rd, &n) != 0 || n != 64) {
        fprintf(stderr, "--emit: report_data must be 128 hex digits\n");
        return 2;
    }
    uint8_t *ev = NULL;
    size_t ev_len = 0;
    char err[512] = "";
    if (tether_test_oracle_evidence(spec, rd, NULL, 0, &ev, &ev_len, err, sizeof err) != 0) {
        fprintf(stderr, "--emit: %s\n", err);
        return 1;
    }
    int rc = file_write(path, ev, ev_len, 0644) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "--emit: cannot write %s: %s\n", path, strerror(errno));
    free(ev);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--emit") == 0) {
        alarm(30);
        return emit(argv[2], argv[3], argv[4]);
    }
    /* Hard bound on the whole run; the guardian stops swtpm if this fires. */
    alarm(120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_defaults),
        cmocka_unit_test(test_spec_refused),
        cmocka_unit_test(test_quote_binds_report_data),
        cmocka_unit_test(test_ak_is_stable_across_opens),
        cmocka_unit_test(test_many_pcrs),
        cmocka_unit_test(test_extended_pcr),
        cmocka_unit_test(test_zero_report_data_refused),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_akcert),
        cmocka_unit_test(test_no_tpm_there),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
