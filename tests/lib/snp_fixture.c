/*
 * snp_fixture.c - the generated SEV-SNP hierarchy and reports of snp_fixture.h (moved here
 * from test_snp_verify.c to be shared with test_azure.c and tests/tools/fake_sev_guest.c).
 * Test code only; no cmocka (the fake does not link it): failures go to snp_fx_fail.
 */
#include "snp_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "util/util.h"

const uint8_t SNP_FX_MEAS[48] = {0xa1, 0xb2, 0xc3, 0xd4, 0x11};
const uint8_t SNP_FX_HOST[32] = {0x42, 0x43};
const uint8_t SNP_FX_IDKEY[48] = {0x77, 0x01};

/* ---- the generated hierarchy ---- */

struct snp_fx_hier snp_fx;

void (*snp_fx_fail_hook)(const char *what);

_Noreturn void snp_fx_fail(const char *what)
{
    if (snp_fx_fail_hook)
        snp_fx_fail_hook(what);
    fprintf(stderr, "snp_fixture: %s\n", what);
    abort();
}

static void need(bool ok, const char *what)
{
    if (!ok)
        snp_fx_fail(what);
}

EVP_PKEY *snp_fx_rsa_key(void)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    need(k != NULL, "cannot generate an RSA key");
    return k;
}

EVP_PKEY *snp_fx_p384_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-384");
    need(k != NULL, "cannot generate a P-384 key");
    return k;
}

void snp_fx_default_platform(uint8_t chip[64], struct snp_fx_tcb *tcb)
{
    for (int i = 0; i < 64; i++)
        chip[i] = (uint8_t)(0x80 + i);
    *tcb = (struct snp_fx_tcb){.fmc = 1, .bl = 3, .tee = 0, .snp = 8, .ucode = 115};
}

void snp_fx_sign_cert(X509 *x, EVP_PKEY *key)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    need(m && EVP_DigestSignInit(m, &pc, EVP_sha384(), NULL, key) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha384()) == 1 && X509_sign_ctx(x, m) > 0,
         "cannot sign a certificate");
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
    need(e != NULL, "cannot make an extension");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

void snp_fx_add_amd_ext(X509 *x, const char *oid, const uint8_t *val, size_t n)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, val, (int)n);
    X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
    need(e != NULL, "cannot make an AMD extension");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
}

void snp_fx_add_amd_int(X509 *x, const char *oid, long v)
{
    ASN1_INTEGER *ai = ASN1_INTEGER_new();
    ASN1_INTEGER_set(ai, v);
    unsigned char *der = NULL;
    int n = i2d_ASN1_INTEGER(ai, &der);
    snp_fx_add_amd_ext(x, oid, der, (size_t)n);
    OPENSSL_free(der);
    ASN1_INTEGER_free(ai);
}

static void add_amd_ia5(X509 *x, const char *oid, const char *s)
{
    ASN1_IA5STRING *a = ASN1_IA5STRING_new();
    ASN1_STRING_set(a, s, -1);
    unsigned char *der = NULL;
    int n = i2d_ASN1_IA5STRING(a, &der);
    snp_fx_add_amd_ext(x, oid, der, (size_t)n);
    OPENSSL_free(der);
    ASN1_IA5STRING_free(a);
}

X509 *snp_fx_cert(EVP_PKEY *key, const char *cn, X509 *issuer, const char *issuer_cn, bool ca,
                  long serial, long from, long to)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    time_t now = time(NULL);
    X509_time_adj_ex(X509_getm_notBefore(x), 0, from, &now);
    X509_time_adj_ex(X509_getm_notAfter(x), 0, to, &now);
    X509_NAME *s = name_of(cn), *i = name_of(issuer_cn ? issuer_cn : cn);
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

X509 *snp_fx_leaf(EVP_PKEY *key, EVP_PKEY *signer, bool vlek, bool turin, const uint8_t *hwid,
                  const struct snp_fx_tcb *t, long to)
{
    X509 *x = snp_fx_cert(key, vlek ? "SEV-VLEK" : "SEV-VCEK", NULL,
                          vlek ? "SEV-VLEK-Test" : "SEV-Test", false, 0, -SNP_FX_DAY, to);
    snp_fx_add_amd_int(x, SNP_FX_ARC "1", turin ? 1 : 0);
    add_amd_ia5(x, SNP_FX_ARC "2", turin ? "Turin" : "Milan-B0");
    snp_fx_add_amd_int(x, SNP_FX_ARC "3.1", t->bl);
    snp_fx_add_amd_int(x, SNP_FX_ARC "3.2", t->tee);
    snp_fx_add_amd_int(x, SNP_FX_ARC "3.3", t->snp);
    snp_fx_add_amd_int(x, SNP_FX_ARC "3.8", t->ucode);
    if (turin)
        snp_fx_add_amd_int(x, SNP_FX_ARC "3.9", t->fmc);
    if (vlek)
        add_amd_ia5(x, SNP_FX_ARC "5", "CN=test-csp.example");
    else
        snp_fx_add_amd_ext(x, SNP_FX_ARC "4", hwid, turin ? 8 : 64);
    snp_fx_sign_cert(x, signer);
    return x;
}

static void write_der(const char *path, X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    need(n > 0 && file_write(path, der, (size_t)n, 0644) == 0, "cannot write a DER file");
    OPENSSL_free(der);
}

static void write_pem(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    need(f != NULL, "cannot write a PEM file");
    PEM_write_X509(f, x);
    fclose(f);
}

void snp_fx_write_crl(const char *path, X509 *issuer, EVP_PKEY *key, X509 *revoked, long from,
                      long to, bool der)
{
    X509_CRL *c = X509_CRL_new();
    X509_CRL_set_version(c, 1);
    X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer));
    time_t now = time(NULL);
    ASN1_TIME *a = ASN1_TIME_adj(NULL, now, 0, from), *b = ASN1_TIME_adj(NULL, now, 0, to);
    X509_CRL_set1_lastUpdate(c, a);
    X509_CRL_set1_nextUpdate(c, b);
    if (revoked) {
        X509_REVOKED *r = X509_REVOKED_new();
        X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked));
        X509_REVOKED_set_revocationDate(r, a);
        X509_CRL_add0_revoked(c, r);
    }
    X509_CRL_sort(c);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    need(EVP_DigestSignInit(m, &pc, EVP_sha384(), NULL, key) == 1, "cannot sign a CRL");
    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48);
    need(X509_CRL_sign_ctx(c, m) > 0, "cannot sign a CRL");
    EVP_MD_CTX_free(m);
    if (der) {
        unsigned char *d = NULL;
        int n = i2d_X509_CRL(c, &d);
        need(n > 0 && file_write(path, d, (size_t)n, 0644) == 0, "cannot write a DER CRL");
        OPENSSL_free(d);
    } else {
        FILE *f = fopen(path, "w");
        need(f != NULL, "cannot write a CRL");
        PEM_write_X509_CRL(f, c);
        fclose(f);
    }
    ASN1_TIME_free(a);
    ASN1_TIME_free(b);
    X509_CRL_free(c);
}

static void write_crl(const char *path, X509 *issuer, EVP_PKEY *key, X509 *revoked)
{
    snp_fx_write_crl(path, issuer, key, revoked, -3600, 30 * SNP_FX_DAY, false);
}

int snp_fx_setup(void)
{
    memset(&snp_fx, 0, sizeof snp_fx);
    snprintf(snp_fx.dir, sizeof snp_fx.dir, "/tmp/tether-snp-XXXXXX");
    if (!mkdtemp(snp_fx.dir))
        return -1;
    snp_fx_default_platform(snp_fx.chip, &snp_fx.tcb);
    snp_fx.ark_key = snp_fx_rsa_key();
    snp_fx.ask_key = snp_fx_rsa_key();
    snp_fx.asvk_key = snp_fx_rsa_key();
    snp_fx.vcek_key = snp_fx_p384_key();
    snp_fx.vlek_key = snp_fx_p384_key();
    snp_fx.turin_key = snp_fx_p384_key();
    snp_fx.ark = snp_fx_cert(snp_fx.ark_key, "ARK-Test", NULL, NULL, true, 1, -SNP_FX_DAY,
                             25 * SNP_FX_YEAR);
    snp_fx_sign_cert(snp_fx.ark, snp_fx.ark_key);
    snp_fx.ask = snp_fx_cert(snp_fx.ask_key, "SEV-Test", snp_fx.ark, "ARK-Test", true, 2,
                             -SNP_FX_DAY, 25 * SNP_FX_YEAR);
    snp_fx_sign_cert(snp_fx.ask, snp_fx.ark_key);
    snp_fx.asvk = snp_fx_cert(snp_fx.asvk_key, "SEV-VLEK-Test", snp_fx.ark, "ARK-Test", true, 3,
                              -SNP_FX_DAY, 25 * SNP_FX_YEAR);
    snp_fx_sign_cert(snp_fx.asvk, snp_fx.ark_key);
    snp_fx.vcek = snp_fx_leaf(snp_fx.vcek_key, snp_fx.ask_key, false, false, snp_fx.chip,
                              &snp_fx.tcb, 7 * SNP_FX_YEAR);
    snp_fx.vlek = snp_fx_leaf(snp_fx.vlek_key, snp_fx.asvk_key, true, false, NULL, &snp_fx.tcb,
                              SNP_FX_YEAR);
    snp_fx.turin_vcek = snp_fx_leaf(snp_fx.turin_key, snp_fx.ask_key, false, true, snp_fx.chip,
                                    &snp_fx.tcb, 7 * SNP_FX_YEAR);
    snprintf(snp_fx.ask_path, sizeof snp_fx.ask_path, "%s/ask.pem", snp_fx.dir);
    snprintf(snp_fx.asvk_path, sizeof snp_fx.asvk_path, "%s/asvk.der", snp_fx.dir);
    snprintf(snp_fx.vcek_path, sizeof snp_fx.vcek_path, "%s/vcek.der", snp_fx.dir);
    snprintf(snp_fx.vlek_path, sizeof snp_fx.vlek_path, "%s/vlek.pem", snp_fx.dir);
    snprintf(snp_fx.turin_path, sizeof snp_fx.turin_path, "%s/turin.der", snp_fx.dir);
    snprintf(snp_fx.crl_path, sizeof snp_fx.crl_path, "%s/ask.crl", snp_fx.dir);
    snprintf(snp_fx.badcrl_path, sizeof snp_fx.badcrl_path, "%s/bad.crl", snp_fx.dir);
    snprintf(snp_fx.ark_path, sizeof snp_fx.ark_path, "%s/ark.pem", snp_fx.dir);
    write_pem(snp_fx.ask_path, snp_fx.ask);
    write_der(snp_fx.asvk_path, snp_fx.asvk);
    write_der(snp_fx.vcek_path, snp_fx.vcek);
    write_pem(snp_fx.vlek_path, snp_fx.vlek);
    write_der(snp_fx.turin_path, snp_fx.turin_vcek);
    write_pem(snp_fx.ark_path, snp_fx.ark);
    write_crl(snp_fx.crl_path, snp_fx.ask, snp_fx.ask_key, snp_fx.vcek);     /* revokes the VCEK */
    write_crl(snp_fx.badcrl_path, snp_fx.ask, snp_fx.asvk_key, snp_fx.vcek); /* wrong signer */
    return 0;
}

int snp_fx_teardown(void)
{
    const char *files[] = {snp_fx.ask_path,   snp_fx.asvk_path,  snp_fx.vcek_path,
                           snp_fx.vlek_path,  snp_fx.turin_path, snp_fx.crl_path,
                           snp_fx.badcrl_path, snp_fx.ark_path};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rmdir(snp_fx.dir);
    X509 *xs[] = {snp_fx.ark, snp_fx.ask, snp_fx.asvk, snp_fx.vcek, snp_fx.vlek, snp_fx.turin_vcek};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        X509_free(xs[i]);
    EVP_PKEY *ks[] = {snp_fx.ark_key,  snp_fx.ask_key,  snp_fx.asvk_key,
                      snp_fx.vcek_key, snp_fx.vlek_key, snp_fx.turin_key};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        EVP_PKEY_free(ks[i]);
    return 0;
}

/* ---- reports ---- */

void snp_fx_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void snp_fx_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t tcb_raw(const struct snp_fx_tcb *t, bool turin)
{
    if (turin)
        return (uint64_t)t->fmc | (uint64_t)t->bl << 8 | (uint64_t)t->tee << 16 |
               (uint64_t)t->snp << 24 | (uint64_t)t->ucode << 56;
    return (uint64_t)t->bl | (uint64_t)t->tee << 8 | (uint64_t)t->snp << 48 |
           (uint64_t)t->ucode << 56;
}

struct snp_fx_spec snp_fx_default_spec(void)
{
    struct snp_fx_spec s;
    memset(&s, 0, sizeof s);
    s.version = 3;
    s.policy = 0x30000; /* SMT allowed, reserved bit 17 */
    s.tcb = snp_fx.tcb;
    memcpy(s.chip, snp_fx.chip, 64);
    s.fw[0] = 1;
    s.fw[1] = 55;
    s.fw[2] = 29;
    return s;
}

/* Fill the 1184-byte layout (56860 Table 23) and sign it with key (r, s little-endian). */
void snp_fx_build_report(const struct snp_fx_spec *s, EVP_PKEY *key,
                         uint8_t out[SNP_REPORT_LEN])
{
    memset(out, 0, SNP_REPORT_LEN);
    snp_fx_put32(out + 0x00, s->version);
    snp_fx_put32(out + 0x04, 4);
    snp_fx_put64(out + 0x08, s->policy);
    snp_fx_put32(out + 0x30, s->vmpl);
    snp_fx_put32(out + 0x34, 1);
    snp_fx_put64(out + 0x38, tcb_raw(s->current_tcb ? s->current_tcb : &s->tcb, s->turin));
    snp_fx_put64(out + 0x40, s->platform_info);
    snp_fx_put32(out + 0x48, s->signing_key << 2);
    for (int i = 0; i < 64; i++)
        out[0x50 + i] = s->report_data ? s->report_data[i] : (uint8_t)(i + 1);
    memcpy(out + 0x90, SNP_FX_MEAS, 48);
    memcpy(out + 0xC0, SNP_FX_HOST, 32);
    memcpy(out + 0xE0, SNP_FX_IDKEY, 48);
    snp_fx_put64(out + 0x180, tcb_raw(&s->tcb, s->turin));
    if (s->version >= 3) {
        out[0x188] = s->turin ? 0x1A : 0x19;
        out[0x189] = s->turin ? 0x02 : 0x01;
        out[0x18A] = 1;
    }
    if (s->turin) {
        memcpy(out + 0x1A0, s->chip, 8);
    } else {
        memcpy(out + 0x1A0, s->chip, 64);
    }
    snp_fx_put64(out + 0x1E0, tcb_raw(s->committed_tcb ? s->committed_tcb : &s->tcb, s->turin));
    out[0x1E8] = s->fw[2];
    out[0x1E9] = s->fw[1];
    out[0x1EA] = s->fw[0];
    out[0x1EC] = s->fw[2];
    out[0x1ED] = s->fw[1];
    out[0x1EE] = s->fw[0];
    snp_fx_put64(out + 0x1F0, tcb_raw(s->launch_tcb ? s->launch_tcb : &s->tcb, s->turin));
    snp_fx_sign_report(out, key);
}

void snp_fx_sign_report(uint8_t rep[SNP_REPORT_LEN], EVP_PKEY *key)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned char sig[160];
    size_t sl = sizeof sig;
    need(m && EVP_DigestSignInit(m, NULL, EVP_sha384(), NULL, key) == 1 &&
             EVP_DigestSign(m, sig, &sl, rep, SNP_SIGNED_LEN) == 1,
         "cannot sign the report");
    EVP_MD_CTX_free(m);
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
    need(es != NULL, "bad ECDSA signature");
    memset(rep + SNP_SIGNED_LEN, 0, SNP_REPORT_LEN - SNP_SIGNED_LEN);
    need(BN_bn2lebinpad(ECDSA_SIG_get0_r(es), rep + 0x2A0, 72) == 72 &&
             BN_bn2lebinpad(ECDSA_SIG_get0_s(es), rep + 0x2E8, 72) == 72,
         "cannot store the signature");
    ECDSA_SIG_free(es);
}
