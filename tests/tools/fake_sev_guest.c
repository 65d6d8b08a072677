/*
 * fake_sev_guest.c - TEST-ONLY stand-in for the Linux configfs-tsm "kernel" of an SEV-SNP
 * guest, for tests/cli/snp_e2e.sh. Never part of libtether or the tether CLI.
 *
 *   fake_sev_guest --root DIR --state DIR [--count N] [--timeout S] [--bad-report-data]
 *
 * --state DIR: the test hierarchy (ARK and ASK RSA-2048, P-384 VCEK with the AMD extensions,
 * every certificate RSASSA-PSS SHA-384 salt 48, as tests/unit/test_snp_verify.c builds it). If
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
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fake_tsm_kernel.h"

#define REPORT_LEN 1184
#define SIGNED_LEN 0x2A0
#define DAY 86400L
#define YEAR (365L * DAY)

static const uint8_t MEAS[48] = {0xa1, 0xb2, 0xc3, 0xd4, 0x11, 0xe2, 0x5e};
static const uint8_t TCB_BL = 3, TCB_TEE = 0, TCB_SNP = 8, TCB_UCODE = 115;

/* ---- the hierarchy ---- */

struct hier {
    EVP_PKEY *ark_key, *ask_key, *vcek_key;
    X509 *ark, *ask, *vcek;
    uint8_t chip[64];
};

static void sign_pss(X509 *x, EVP_PKEY *key)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    if (!m || EVP_DigestSignInit(m, &pc, EVP_sha384(), NULL, key) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha384()) != 1 || X509_sign_ctx(x, m) <= 0)
        fake_die("cannot sign a certificate");
    EVP_MD_CTX_free(m);
}

static X509_NAME *name_of(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Test AMD", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    return n;
}

static void add_ext_txt(X509 *x, X509 *issuer, int nid, const char *val)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, val);
    if (!e)
        fake_die("cannot make an extension");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

static void add_amd_ext(X509 *x, const char *oid, const uint8_t *val, size_t n)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, val, (int)n);
    X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
    if (!e)
        fake_die("cannot make an AMD extension");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
}

static void add_amd_int(X509 *x, const char *oid, long v)
{
    ASN1_INTEGER *ai = ASN1_INTEGER_new();
    ASN1_INTEGER_set(ai, v);
    unsigned char *der = NULL;
    int n = i2d_ASN1_INTEGER(ai, &der);
    add_amd_ext(x, oid, der, (size_t)n);
    OPENSSL_free(der);
    ASN1_INTEGER_free(ai);
}

static void add_amd_ia5(X509 *x, const char *oid, const char *s)
{
    ASN1_IA5STRING *a = ASN1_IA5STRING_new();
    ASN1_STRING_set(a, s, -1);
    unsigned char *der = NULL;
    int n = i2d_ASN1_IA5STRING(a, &der);
    add_amd_ext(x, oid, der, (size_t)n);
    OPENSSL_free(der);
    ASN1_IA5STRING_free(a);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *issuer_cn, X509 *issuer,
                       bool ca, long serial, long to)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    time_t now = time(NULL);
    X509_time_adj_ex(X509_getm_notBefore(x), 0, -DAY, &now);
    X509_time_adj_ex(X509_getm_notAfter(x), 0, to, &now);
    X509_NAME *s = name_of(cn), *i = name_of(issuer_cn);
    X509_set_subject_name(x, s);
    X509_set_issuer_name(x, i);
    X509_NAME_free(s);
    X509_NAME_free(i);
    X509_set_pubkey(x, key);
    if (ca) {
        add_ext_txt(x, issuer ? issuer : x, NID_basic_constraints, "critical,CA:TRUE");
        add_ext_txt(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    return x;
}

#define ARC "1.3.6.1.4.1.3704.1."

static void chip_of(uint8_t chip[64])
{
    for (int i = 0; i < 64; i++)
        chip[i] = (uint8_t)(0x80 + i);
}

static void generate(struct hier *h)
{
    h->ark_key = EVP_RSA_gen(2048);
    h->ask_key = EVP_RSA_gen(2048);
    h->vcek_key = EVP_EC_gen("P-384");
    if (!h->ark_key || !h->ask_key || !h->vcek_key)
        fake_die("cannot generate keys");
    h->ark = make_cert(h->ark_key, "ARK-Test", "ARK-Test", NULL, true, 1, 25 * YEAR);
    sign_pss(h->ark, h->ark_key);
    h->ask = make_cert(h->ask_key, "SEV-Test", "ARK-Test", h->ark, true, 2, 25 * YEAR);
    sign_pss(h->ask, h->ark_key);
    h->vcek = make_cert(h->vcek_key, "SEV-VCEK", "SEV-Test", NULL, false, 0, 7 * YEAR);
    add_amd_int(h->vcek, ARC "1", 0);
    add_amd_ia5(h->vcek, ARC "2", "Milan-B0");
    add_amd_int(h->vcek, ARC "3.1", TCB_BL);
    add_amd_int(h->vcek, ARC "3.2", TCB_TEE);
    add_amd_int(h->vcek, ARC "3.3", TCB_SNP);
    add_amd_int(h->vcek, ARC "3.8", TCB_UCODE);
    add_amd_ext(h->vcek, ARC "4", h->chip, 64);
    sign_pss(h->vcek, h->ask_key);
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
    fake_hex(MEAS, 48, false, m);
    memcpy(om, MEAS, 48);
    om[47] ^= 0xff;
    fake_hex(om, 48, false, other);
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
    chip_of(h->chip);
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

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t tcb_raw(void)
{
    return (uint64_t)TCB_BL | (uint64_t)TCB_TEE << 8 | (uint64_t)TCB_SNP << 48 |
           (uint64_t)TCB_UCODE << 56;
}

/* SEV-SNP ABI 56860 Table 23, version 3, Milan; signed with the VCEK (r, s little-endian). */
static void build_report(const struct hier *h, const uint8_t report_data[64], uint32_t vmpl,
                         uint8_t out[REPORT_LEN])
{
    memset(out, 0, REPORT_LEN);
    put32(out + 0x00, 3);       /* VERSION */
    put32(out + 0x04, 4);       /* GUEST_SVN */
    put64(out + 0x08, 0x30000); /* POLICY: SMT, reserved bit 17 */
    put32(out + 0x30, vmpl);
    put32(out + 0x34, 1);       /* SIGNATURE_ALGO: ECDSA P-384 SHA-384 */
    put64(out + 0x38, tcb_raw()); /* CURRENT_TCB */
    put32(out + 0x48, 0);       /* KEY_INFO: signed by the VCEK */
    memcpy(out + 0x50, report_data, 64);
    memcpy(out + 0x90, MEAS, 48);
    put64(out + 0x180, tcb_raw()); /* REPORTED_TCB */
    out[0x188] = 0x19;          /* CPUID family: Milan */
    out[0x189] = 0x01;          /* model */
    out[0x18A] = 1;             /* stepping */
    memcpy(out + 0x1A0, h->chip, 64);
    put64(out + 0x1E0, tcb_raw()); /* COMMITTED_TCB */
    out[0x1E8] = 29;            /* CURRENT build, minor, major */
    out[0x1E9] = 55;
    out[0x1EA] = 1;
    out[0x1EC] = 29;            /* COMMITTED */
    out[0x1ED] = 55;
    out[0x1EE] = 1;
    put64(out + 0x1F0, tcb_raw()); /* LAUNCH_TCB */
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned char sig[160];
    size_t sl = sizeof sig;
    if (!m || EVP_DigestSignInit(m, NULL, EVP_sha384(), NULL, h->vcek_key) != 1 ||
        EVP_DigestSign(m, sig, &sl, out, SIGNED_LEN) != 1)
        fake_die("cannot sign the report");
    EVP_MD_CTX_free(m);
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
    if (!es)
        fake_die("bad ECDSA signature");
    BN_bn2lebinpad(ECDSA_SIG_get0_r(es), out + 0x2A0, 72);
    BN_bn2lebinpad(ECDSA_SIG_get0_s(es), out + 0x2E8, 72);
    ECDSA_SIG_free(es);
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
        put32(t + 24 * i + 16, (uint32_t)off);
        put32(t + 24 * i + 20, (uint32_t)dl[i]);
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
        uint8_t rd[64], report[REPORT_LEN];
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
