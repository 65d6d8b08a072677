/*
 * fuzz_sim_evidence.c - libFuzzer harness for the sim evidence parser, the sim backend and
 * the whole verify pipeline (including the cmw_attestation container and policy appraisal).
 *
 * The trust store is built in LLVMFuzzerInitialize from a fixed, published P-256 root key, so
 * that seeds signed with the matching fixed AK key reach the chain, signature, binding and
 * policy code. These keys are for fuzzing only: they are public and must never be trusted
 * anywhere else. The harness must never touch the network or write files, except when
 * TETHER_FUZZ_WRITE_SEEDS names a directory: then Initialize (re)writes the seed corpus there
 * (fuzz/seeds/sim_evidence/) and the harness runs as usual.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tether.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "binding/binder.h"
#include "ea/ea.h"
#include "evidence/evidence.h"
#include "evidence/sim/sim.h"
#include "policy/policy.h"
#include "policy/result.h"
#include "util/bytes.h"
#include "util/util.h"
#include "verify/verify.h"

static const char ROOT_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2P+V32ZsiPMOgNjg\n"
    "3X//7WHfSBIf1dCRSJoAHNOnFsihRANCAAR/DU2zEpy/Q8LyJu4eCwHNK707Py6w\n"
    "ScG9QkkMzPEQSVp49K0YcWiywmsocUr9fsMdOimFogw0cWo9jBVos8OZ\n"
    "-----END PRIVATE KEY-----\n";
static const char AK_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwcushPnO7LHYjZYc\n"
    "RpDnbICZXpGr5LqhNnmOOq1Ku7OhRANCAAQB0R8Gd+imVVeHa3qTSyZt/fzWH3n6\n"
    "8xQRf0F6t/BpDiVTaztd2u8woj6sb4MOCA3yFJNqvDzv/TgQsGMK+bnP\n"
    "-----END PRIVATE KEY-----\n";

#define FUZZ_AT ((time_t)1800000000)        /* 2027-01-15: the fixed verification time */
#define FUZZ_NOT_BEFORE ((time_t)1577836800) /* 2020-01-01 */
#define FUZZ_NOT_AFTER ((time_t)2208988800)  /* 2040-01-01 */

static struct policy *g_policy;
static X509_STORE *g_store;
static struct binder g_binder;

static EVP_PKEY *load_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (e)
        X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       long serial)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    ASN1_TIME_set(X509_getm_notBefore(x), FUZZ_NOT_BEFORE);
    ASN1_TIME_set(X509_getm_notAfter(x), FUZZ_NOT_AFTER);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509_set_pubkey(x, key);
    X509 *iss = issuer ? issuer : x;
    add_ext(x, iss, NID_basic_constraints, issuer ? "critical,CA:FALSE" : "critical,CA:TRUE");
    add_ext(x, iss, NID_key_usage, issuer ? "critical,digitalSignature" : "critical,keyCertSign");
    add_ext(x, iss, NID_subject_key_identifier, "hash");
    if (issuer)
        add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
    return x;
}

static char *cert_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

/* ---- seed generation (only with TETHER_FUZZ_WRITE_SEEDS) ---- */

static void write_seed(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (file_write(path, data, len, 0644) != 0)
        fprintf(stderr, "cannot write %s\n", path);
}

static uint8_t *sign_evidence(EVP_PKEY *ak, X509 *ak_cert, const struct sim_body *body,
                              size_t *len)
{
    uint8_t raw[SIM_BODY_LEN], sig[128];
    size_t sig_len = sizeof sig;
    if (sim_body_encode(body, raw) != 0)
        return NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ak);
    EVP_DigestSign(md, sig, &sig_len, raw, sizeof raw);
    EVP_MD_CTX_free(md);
    uint8_t *der = NULL;
    int dlen = i2d_X509(ak_cert, &der);
    struct bytes_writer w;
    writer_init(&w, 4096);
    sim_evidence_encode(raw, der, (size_t)dlen, sig, sig_len, &w);
    OPENSSL_free(der);
    return writer_take(&w, len);
}

static void write_seeds(const char *dir, EVP_PKEY *ak, X509 *ak_cert)
{
    struct sim_body body;
    memset(&body, 0, sizeof body);
    body.tcb_version = 2;
    body.key_hash_len = (uint8_t)g_binder.hash_len;
    body.timestamp = (uint64_t)FUZZ_AT - 10;
    memset(body.measurement, 0x5a, sizeof body.measurement);
    memset(body.platform_id, 0x01, sizeof body.platform_id);
    memcpy(body.report_data, g_binder.report_data, 64);
    memcpy(body.key_hash, g_binder.aik_pub_hash, g_binder.hash_len);
    size_t len;
    uint8_t *ev = sign_evidence(ak, ak_cert, &body, &len);
    write_seed(dir, "valid.bin", ev, len);
    write_seed(dir, "truncated.bin", ev, len / 2);

    struct ea_payload pl;
    memset(&pl, 0, sizeof pl);
    pl.version = 1;
    snprintf(pl.media_type, sizeof pl.media_type, "%s", SIM_MEDIA_TYPE);
    pl.evidence = ev;
    pl.evidence_len = len;
    snprintf(pl.exporter_label, sizeof pl.exporter_label, "Attestation");
    memcpy(pl.aik_pub_hash, g_binder.aik_pub_hash, g_binder.hash_len);
    pl.aik_pub_hash_len = g_binder.hash_len;
    memcpy(pl.binding, g_binder.binding, g_binder.hash_len);
    pl.binding_len = g_binder.hash_len;
    char *json = NULL;
    size_t jlen = 0;
    if (ea_payload_encode(&pl, &json, &jlen) == 0)
        write_seed(dir, "cmw_payload.json", json, jlen);
    free(json);
    free(ev);

    body.flags = SIM_FLAG_DEBUG;
    ev = sign_evidence(ak, ak_cert, &body, &len);
    write_seed(dir, "debug.bin", ev, len);
    free(ev);
    body.flags = 0;
    body.tcb_version = 1;
    body.timestamp = (uint64_t)FUZZ_AT - 1000;
    body.key_hash_len = 64;
    memset(body.key_hash, 0x33, 64);
    ev = sign_evidence(ak, ak_cert, &body, &len);
    write_seed(dir, "old_lowtcb_keyhash64.bin", ev, len);
    free(ev);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    EVP_PKEY *root_key = load_key(ROOT_KEY), *ak_key = load_key(AK_KEY);
    if (!root_key || !ak_key)
        abort();
    X509 *root = make_cert(root_key, "tether fuzz sim root", NULL, NULL, 1);
    X509 *ak = make_cert(ak_key, "tether sim attestation key", root, root_key, 2);

    uint8_t spki[64], exporter[32];
    memset(spki, 0x42, sizeof spki);
    memset(exporter, 0x24, sizeof exporter);
    if (binder_compute(EVP_sha256(), spki, sizeof spki, exporter, &g_binder) != 0)
        abort();

    char *pem = cert_pem(root);
    char m[97], p[33];
    uint8_t mb[48], pb[16];
    memset(mb, 0x5a, sizeof mb);
    memset(pb, 0x01, sizeof pb);
    hex_encode(mb, sizeof mb, m);
    hex_encode(pb, sizeof pb, p);
    json_t *o = json_pack("{s:i, s:{s:{s:[s], s:[s], s:i}}, s:[s]}", "tether_policy", 1,
                          "accept", "sim", "trust_anchors", pem, "measurements", m, "min_tcb", 2,
                          "platform_ids", p);
    char *s = json_dumps(o, 0);
    char err[256];
    g_policy = policy_parse(s, strlen(s), NULL, err, sizeof err);
    if (!g_policy) {
        fprintf(stderr, "fuzz policy: %s\n", err);
        abort();
    }
    g_store = g_policy->tees[0].anchors;

    const char *seed_dir = getenv("TETHER_FUZZ_WRITE_SEEDS");
    if (seed_dir)
        write_seeds(seed_dir, ak_key, ak);

    free(s);
    json_decref(o);
    free(pem);
    X509_free(root);
    X509_free(ak);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(ak_key);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The parser alone. */
    struct sim_evidence se;
    const char *why;
    (void)sim_evidence_parse(data, size, &se, &why);
    (void)evidence_sim.recognise(data, size);

    /* The backend alone. */
    struct tether_result *r = result_new();
    struct claims c;
    memset(&c, 0, sizeof c);
    struct evidence_anchors anchors = {.store = g_store, .origin = "fuzz"};
    (void)evidence_sim.verify(data, size, &anchors, FUZZ_AT, NULL, &c, r);
    json_t *j = claims_to_json(&c);
    json_decref(j);
    claims_clear(&c);
    tether_result_free(r);

    /* The pipeline, as a connection would run it. */
    struct verify_input in = {
        .evidence = data,
        .evidence_len = size,
        .expected_report_data = g_binder.report_data,
        .expected_report_data_len = sizeof g_binder.report_data,
        .expected_key_hash = g_binder.aik_pub_hash,
        .expected_key_hash_len = g_binder.hash_len,
        .binding_required = true,
        .at = FUZZ_AT,
    };
    r = result_new();
    int rc = verify_evidence(g_policy, &in, r);
    const char *report = tether_result_json(r);
    if (!report || (rc == 0) != (tether_result_passed(r) == 1))
        abort();
    tether_result_free(r);
    return 0;
}
