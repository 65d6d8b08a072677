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
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
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

#define REPORT_LEN 1184
#define SIGNED_LEN 0x2A0
#define DAY 86400L
#define YEAR (365L * DAY)
#define FIFO_WAIT_MS 5000
#define MAX_ENTRIES 16

static const uint8_t MEAS[48] = {0xa1, 0xb2, 0xc3, 0xd4, 0x11, 0xe2, 0x5e};
static const uint8_t TCB_BL = 3, TCB_TEE = 0, TCB_SNP = 8, TCB_UCODE = 115;

static volatile sig_atomic_t g_stop;
static void on_signal(int s)
{
    (void)s;
    g_stop = 1;
}

static void die(const char *what)
{
    fprintf(stderr, "fake_sev_guest: %s\n", what);
    exit(2);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

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
        die("cannot sign a certificate");
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
        die("cannot make an extension");
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
        die("cannot make an AMD extension");
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
        die("cannot generate keys");
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

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
    if ((size_t)snprintf(out, n, "%s/%s", dir, name) >= n)
        die("path too long");
}

static void save_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k)
{
    char p[PATH_MAX];
    path_in(p, sizeof p, dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        die("cannot write the state directory");
    int ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    if (fclose(f) != 0 || ok != 1)
        die("cannot write a PEM file");
}

static X509 *load_cert(const char *dir, const char *name)
{
    char p[PATH_MAX];
    path_in(p, sizeof p, dir, name);
    FILE *f = fopen(p, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!x)
        die("cannot load a certificate from the state directory");
    return x;
}

static EVP_PKEY *load_key(const char *dir, const char *name)
{
    char p[PATH_MAX];
    path_in(p, sizeof p, dir, name);
    FILE *f = fopen(p, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!k)
        die("cannot load a key from the state directory");
    return k;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char p[PATH_MAX], t[PATH_MAX];
    path_in(p, sizeof p, dir, name);
    if ((size_t)snprintf(t, sizeof t, "%s.tmp", p) >= sizeof t)
        die("path too long");
    FILE *f = fopen(t, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(t, p) != 0)
        die("cannot write a state file");
}

static void write_policies(const char *dir)
{
    char m[97], other[97], ark[PATH_MAX], json[2 * PATH_MAX];
    uint8_t om[48];
    hex(MEAS, 48, m);
    memcpy(om, MEAS, 48);
    om[47] ^= 0xff;
    hex(om, 48, other);
    path_in(ark, sizeof ark, dir, "ark.pem");
#define POLICY_FMT "{\"tether_policy\":1,\"accept\":{\"snp\":{%s%s%s\"measurements\":[\"%s\"]}}}\n"
    snprintf(json, sizeof json, POLICY_FMT, "\"trust_anchors\":[\"", ark, "\"],", m);
    write_text(dir, "policy.json", json);
    snprintf(json, sizeof json, POLICY_FMT, "\"trust_anchors\":[\"", ark, "\"],", other);
    write_text(dir, "policy-other-measurement.json", json);
    snprintf(json, sizeof json, POLICY_FMT, "", "", "", m);
    write_text(dir, "policy-builtin-roots.json", json);
}

static void setup_state(struct hier *h, const char *dir)
{
    char p[PATH_MAX];
    chip_of(h->chip);
    path_in(p, sizeof p, dir, "vcek-key.pem");
    if (access(p, F_OK) == 0) {
        h->ark_key = load_key(dir, "ark-key.pem");
        h->ask_key = load_key(dir, "ask-key.pem");
        h->vcek_key = load_key(dir, "vcek-key.pem");
        h->ark = load_cert(dir, "ark.pem");
        h->ask = load_cert(dir, "ask.pem");
        h->vcek = load_cert(dir, "vcek.pem");
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
        die("cannot sign the report");
    EVP_MD_CTX_free(m);
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
    if (!es)
        die("bad ECDSA signature");
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
            die("cannot encode a certificate");
        total += (size_t)dl[i];
    }
    uint8_t *t = calloc(1, total);
    if (!t)
        die("out of memory");
    size_t off = 4 * 24;
    for (int i = 0; i < 3; i++) {
        if (guid_bytes(guids[i], t + 24 * i) != 0)
            die("bad GUID");
        put32(t + 24 * i + 16, (uint32_t)off);
        put32(t + 24 * i + 20, (uint32_t)dl[i]);
        memcpy(t + off, der[i], (size_t)dl[i]);
        off += (size_t)dl[i];
        OPENSSL_free(der[i]);
    }
    *len = total;
    return t;
}

/* ---- the configfs-like tree ---- */

struct entry {
    bool used;
    int wd;
    char dir[PATH_MAX];
    uint64_t gen;
    bool have_inblob;
    uint8_t inblob[64];
};

static void attr_write(const char *dir, const char *name, const void *data, size_t len)
{
    char p[PATH_MAX];
    path_in(p, sizeof p, dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || close(fd) != 0)
        fprintf(stderr, "fake_sev_guest: cannot write %s: %s\n", p, strerror(errno));
}

static void set_generation(struct entry *e)
{
    char g[32];
    snprintf(g, sizeof g, "%llu\n", (unsigned long long)e->gen);
    attr_write(e->dir, "generation", g, strlen(g));
}

/* The kernel side of mkdir: the attributes, then the watch (so that our own writes raise no
 * event), then provider, last and atomically (fake_tsm_preload.so's mkdir waits for it). */
static int populate(int in, const char *root, struct entry *e)
{
    char p[PATH_MAX], tmp[PATH_MAX];
    e->gen = 0;
    set_generation(e);
    attr_write(e->dir, "privlevel_floor", "0\n", 2);
    attr_write(e->dir, "inblob", NULL, 0);
    attr_write(e->dir, "privlevel", NULL, 0);
    path_in(p, sizeof p, e->dir, "outblob");
    if (mkfifo(p, 0600) != 0)
        fprintf(stderr, "fake_sev_guest: mkfifo %s: %s\n", p, strerror(errno));
    path_in(p, sizeof p, e->dir, "auxblob");
    if (mkfifo(p, 0600) != 0)
        fprintf(stderr, "fake_sev_guest: mkfifo %s: %s\n", p, strerror(errno));
    e->wd = inotify_add_watch(in, e->dir, IN_CLOSE_WRITE | IN_DELETE_SELF);
    if (e->wd < 0)
        return -1;
    path_in(tmp, sizeof tmp, root, ".fake-provider.tmp");
    attr_write(root, ".fake-provider.tmp", "sev_guest\n", 10);
    path_in(p, sizeof p, e->dir, "provider");
    if (rename(tmp, p) != 0)
        fprintf(stderr, "fake_sev_guest: rename provider: %s\n", strerror(errno));
    return 0;
}

static int read_small(const char *dir, const char *name, uint8_t *buf, size_t cap, size_t *n)
{
    char p[PATH_MAX];
    path_in(p, sizeof p, dir, name);
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    ssize_t r = read(fd, buf, cap);
    close(fd);
    if (r < 0)
        return -1;
    *n = (size_t)r;
    return 0;
}

/* Serve data through a FIFO once the reader is there (bounded wait). */
static int fifo_serve(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char p[PATH_MAX];
    path_in(p, sizeof p, dir, name);
    long deadline = now_ms() + FIFO_WAIT_MS;
    int fd = -1;
    while ((fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
        if (errno != ENXIO || now_ms() > deadline || g_stop) {
            fprintf(stderr, "fake_sev_guest: nobody read %s: %s\n", p,
                    errno == ENXIO ? "timed out" : strerror(errno));
            return -1;
        }
        poll(NULL, 0, 1);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(fd);
    return done == len ? 0 : -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: fake_sev_guest --root DIR --state DIR [--count N] [--timeout S] "
                    "[--bad-report-data]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *root = NULL, *state = NULL;
    long count = 0, timeout_s = 30;
    bool bad = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            root = argv[++i];
        else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
            state = argv[++i];
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            timeout_s = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--bad-report-data") == 0)
            bad = true;
        else
            usage();
    }
    if (!root || !state || timeout_s <= 0 || timeout_s > 600 || count < 0)
        usage();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct hier h;
    memset(&h, 0, sizeof h);
    setup_state(&h, state);
    size_t aux_len = 0;
    uint8_t *aux = cert_table(&h, &aux_len);

    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in < 0 || inotify_add_watch(in, root, IN_CREATE | IN_ONLYDIR) < 0)
        die("cannot watch the root");
    write_text(state, "ready", "ready\n");

    static struct entry ents[MAX_ENTRIES];
    long deadline = now_ms() + timeout_s * 1000L, served = 0;
    _Alignas(struct inotify_event) char buf[8192];
    while (!g_stop && (count == 0 || served < count)) {
        long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd pf = {.fd = in, .events = POLLIN};
        if (poll(&pf, 1, left > 200 ? 200 : (int)left) <= 0)
            continue;
        ssize_t n = read(in, buf, sizeof buf);
        if (n <= 0)
            continue;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
            p += sizeof *ev + ev->len;
            struct entry *e = NULL;
            for (int i = 0; i < MAX_ENTRIES; i++)
                if (ents[i].used && ents[i].wd == ev->wd)
                    e = &ents[i];
            if (!e && (ev->mask & IN_CREATE) && (ev->mask & IN_ISDIR) && ev->len) {
                for (int i = 0; i < MAX_ENTRIES && !e; i++)
                    if (!ents[i].used)
                        e = &ents[i];
                if (!e) {
                    fprintf(stderr, "fake_sev_guest: too many entries\n");
                    continue;
                }
                memset(e, 0, sizeof *e);
                path_in(e->dir, sizeof e->dir, root, ev->name);
                if (populate(in, root, e) == 0)
                    e->used = true;
                continue;
            }
            if (!e)
                continue;
            if (ev->mask & (IN_DELETE_SELF | IN_IGNORED)) {
                inotify_rm_watch(in, e->wd);
                e->used = false;
                continue;
            }
            if (!(ev->mask & IN_CLOSE_WRITE) || !ev->len)
                continue;
            if (strcmp(ev->name, "inblob") == 0) {
                size_t got = 0;
                e->have_inblob = read_small(e->dir, "inblob", e->inblob, 64, &got) == 0 &&
                                 got == 64;
                e->gen++;
                set_generation(e);
            } else if (strcmp(ev->name, "privlevel") == 0) {
                uint8_t lv[8];
                size_t got = 0;
                uint32_t vmpl = 0;
                if (read_small(e->dir, "privlevel", lv, sizeof lv, &got) == 0 && got > 0 &&
                    lv[0] >= '0' && lv[0] <= '3')
                    vmpl = (uint32_t)(lv[0] - '0');
                e->gen++;
                set_generation(e);
                if (!e->have_inblob) {
                    fprintf(stderr, "fake_sev_guest: privlevel before a 64-byte inblob\n");
                    continue;
                }
                uint8_t rd[64], report[REPORT_LEN];
                memcpy(rd, e->inblob, 64);
                if (bad)
                    rd[0] ^= 0x01;
                build_report(&h, rd, vmpl, report);
                if (fifo_serve(e->dir, "outblob", report, sizeof report) == 0 &&
                    fifo_serve(e->dir, "auxblob", aux, aux_len) == 0)
                    served++;
                fprintf(stderr, "fake_sev_guest: served report %ld%s\n", served,
                        bad ? " (REPORT_DATA differs from inblob)" : "");
            }
        }
    }
    free(aux);
    close(in);
    EVP_PKEY_free(h.ark_key);
    EVP_PKEY_free(h.ask_key);
    EVP_PKEY_free(h.vcek_key);
    X509_free(h.ark);
    X509_free(h.ask);
    X509_free(h.vcek);
    return 0;
}
