/*
 * sim_attester.c - the simulated TEE attester ("sim:<dir>"): signs sim evidence v1
 * (docs/sim.md) with the attestation key of a directory made by tether_sim_provision.
 *
 * Must never: sign anything but a body whose report_data and key hash come from the binder
 * the connection code computed (attester.h); write the report_data anywhere else (no log, no
 * file); sign an all-zero report_data; offer any other entry point that produces evidence.
 * Simulated evidence proves nothing about hardware.
 */
#include "attester/attester.h"
#include "attester/sim/sim_config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "evidence/sim/sim.h"
#include "util/bytes.h"
#include "util/util.h"

#define SIM_KEY_FILE_MAX (64u * 1024u)

struct attester {
    uint8_t measurement[SIM_MEASUREMENT_LEN];
    uint8_t platform_id[SIM_PLATFORM_ID_LEN];
    uint32_t tcb_version;
    bool debug;
    EVP_PKEY *ak;
    uint8_t *ak_cert;
    size_t ak_cert_len;
};


static int hex_field(json_t *o, const char *key, uint8_t *out, size_t len, const char *path,
                     char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    size_t got = 0;
    uint8_t tmp[64];
    if (!json_is_string(v) || hex_decode(json_string_value(v), tmp, sizeof tmp, &got) != 0 ||
        got != len) {
        errbuf_set(err, errlen, "%s: \"%s\" must be a hex string of exactly %zu bytes", path, key,
               len);
        return -1;
    }
    memcpy(out, tmp, len);
    return 0;
}

int sim_config_parse(const uint8_t *data, size_t len, const char *name, struct sim_config *out,
                     char *err, size_t errlen)
{
    const char *path = name ? name : SIM_FILE_CONFIG;
    struct sim_config c;
    memset(&c, 0, sizeof c);
    if (out)
        memset(out, 0, sizeof *out);
    if (!data || !out) {
        errbuf_set(err, errlen, "sim: bad arguments");
        return -1;
    }
    json_error_t jerr;
    json_t *o = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        errbuf_set(err, errlen, "sim: %.300s: line %d, column %d: %s", path, jerr.line, jerr.column,
               jerr.text);
        return -1;
    }
    int rc = -1;
    const char *key;
    json_t *v;
    if (!json_is_object(o)) {
        errbuf_set(err, errlen, "sim: %.300s: not a JSON object", path);
        goto out;
    }
    json_object_foreach(o, key, v) {
        if (strcmp(key, "measurement") != 0 && strcmp(key, "platform_id") != 0 &&
            strcmp(key, "tcb_version") != 0 && strcmp(key, "debug") != 0) {
            errbuf_set(err, errlen, "sim: %.300s: unknown key \"%.64s\"", path, key);
            goto out;
        }
    }
    if (hex_field(o, "measurement", c.measurement, SIM_MEASUREMENT_LEN, path, err, errlen) != 0 ||
        hex_field(o, "platform_id", c.platform_id, SIM_PLATFORM_ID_LEN, path, err, errlen) != 0)
        goto out;
    v = json_object_get(o, "tcb_version");
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > (json_int_t)UINT32_MAX) {
        errbuf_set(err, errlen, "sim: %.300s: \"tcb_version\" must be an integer 0..4294967295", path);
        goto out;
    }
    c.tcb_version = (uint32_t)json_integer_value(v);
    v = json_object_get(o, "debug");
    if (!json_is_boolean(v)) {
        errbuf_set(err, errlen, "sim: %.300s: \"debug\" must be true or false", path);
        goto out;
    }
    c.debug = json_is_true(v);
    *out = c;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

static int load_config(struct attester *a, const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (path_join(path, sizeof path, dir, SIM_FILE_CONFIG) != 0) {
        errbuf_set(err, errlen, "sim: directory name too long");
        return -1;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if (file_read(path, SIM_CONFIG_MAX, &data, &len) != 0) {
        errbuf_set(err, errlen, "sim: cannot read %.300s (run `tether sim init`): %s", path,
               strerror(errno));
        return -1;
    }
    struct sim_config c;
    int rc = sim_config_parse(data, len, path, &c, err, errlen);
    free(data);
    if (rc != 0)
        return -1;
    memcpy(a->measurement, c.measurement, sizeof a->measurement);
    memcpy(a->platform_id, c.platform_id, sizeof a->platform_id);
    a->tcb_version = c.tcb_version;
    a->debug = c.debug;
    return 0;
}

static int load_keys(struct attester *a, const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    X509 *cert = NULL;
    int rc = -1;

    if (path_join(path, sizeof path, dir, SIM_FILE_AK_KEY) != 0 ||
        file_read(path, SIM_KEY_FILE_MAX, &data, &len) != 0) {
        errbuf_set(err, errlen, "sim: cannot read %.300s: %s", path, strerror(errno));
        goto out;
    }
    bio = BIO_new_mem_buf(data, (int)len);
    a->ak = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    bio = NULL;
    free_secret(data, len);
    data = NULL;
    if (!a->ak) {
        errbuf_set(err, errlen, "sim: %.300s: not a PEM private key", path);
        goto out;
    }
    if (path_join(path, sizeof path, dir, SIM_FILE_AK_CERT) != 0 ||
        file_read(path, SIM_KEY_FILE_MAX, &data, &len) != 0) {
        errbuf_set(err, errlen, "sim: cannot read %.300s: %s", path, strerror(errno));
        goto out;
    }
    bio = BIO_new_mem_buf(data, (int)len);
    cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    if (!cert) {
        errbuf_set(err, errlen, "sim: %.300s: not a PEM certificate", path);
        goto out;
    }
    if (X509_check_private_key(cert, a->ak) != 1) {
        errbuf_set(err, errlen, "sim: %s does not match %s", SIM_FILE_AK_KEY, SIM_FILE_AK_CERT);
        goto out;
    }
    char group[64] = "";
    size_t glen = 0;
    if (!EVP_PKEY_is_a(a->ak, "EC") ||
        EVP_PKEY_get_utf8_string_param(a->ak, "group", group, sizeof group, &glen) != 1 ||
        (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
        errbuf_set(err, errlen, "sim: the attestation key must be an EC P-256 key");
        goto out;
    }
    int n = i2d_X509(cert, NULL);
    if (n <= 0 || n > 0xffff) {
        errbuf_set(err, errlen, "sim: %.300s: certificate too large", path);
        goto out;
    }
    a->ak_cert = malloc((size_t)n);
    if (!a->ak_cert) {
        errbuf_set(err, errlen, "sim: out of memory");
        goto out;
    }
    unsigned char *p = a->ak_cert;
    i2d_X509(cert, &p);
    a->ak_cert_len = (size_t)n;
    rc = 0;
out:
    BIO_free(bio);
    X509_free(cert);
    free(data);
    ERR_clear_error();
    return rc;
}

static void sim_close(struct attester *a)
{
    if (!a)
        return;
    EVP_PKEY_free(a->ak);
    free(a->ak_cert);
    free_secret(a, sizeof *a);
}

static struct attester *sim_open(const char *arg, char *err, size_t errlen)
{
    if (!arg || !arg[0]) {
        errbuf_set(err, errlen, "sim: no directory given (\"sim:/path/to/dir\")");
        return NULL;
    }
    struct attester *a = calloc(1, sizeof *a);
    if (!a) {
        errbuf_set(err, errlen, "sim: out of memory");
        return NULL;
    }
    if (load_config(a, arg, err, errlen) != 0 || load_keys(a, arg, err, errlen) != 0) {
        sim_close(a);
        return NULL;
    }
    return a;
}

static int sim_evidence(struct attester *a, const struct binder *b, uint8_t **ev, size_t *ev_len,
                        char *err, size_t errlen)
{
    if (ev)
        *ev = NULL;
    if (ev_len)
        *ev_len = 0;
    if (!a || !b || !ev || !ev_len) {
        errbuf_set(err, errlen, "sim: bad arguments");
        return -1;
    }
    if (b->hash_len != 32 && b->hash_len != 48 && b->hash_len != 64) {
        errbuf_set(err, errlen, "sim: unsupported key hash length %zu", b->hash_len);
        return -1;
    }
    if (ct_is_zero(b->report_data, sizeof b->report_data)) {
        errbuf_set(err, errlen, "sim: refusing to sign an all-zero report_data");
        return -1;
    }
    time_t now = time(NULL);
    if (now < 0) {
        errbuf_set(err, errlen, "sim: no usable clock");
        return -1;
    }
    struct sim_body body;
    memset(&body, 0, sizeof body);
    body.flags = a->debug ? SIM_FLAG_DEBUG : 0;
    body.tcb_version = a->tcb_version;
    body.key_hash_len = (uint8_t)b->hash_len;
    body.timestamp = (uint64_t)now;
    memcpy(body.measurement, a->measurement, sizeof body.measurement);
    memcpy(body.platform_id, a->platform_id, sizeof body.platform_id);
    memcpy(body.report_data, b->report_data, sizeof body.report_data);
    memcpy(body.key_hash, b->aik_pub_hash, b->hash_len);

    uint8_t raw[SIM_BODY_LEN];
    uint8_t sig[SIM_SIG_MAX + 64];
    size_t sig_len = sizeof sig;
    if (sim_body_encode(&body, raw) != 0) {
        errbuf_set(err, errlen, "sim: cannot encode the evidence body");
        return -1;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, a->ak) == 1 &&
             EVP_DigestSign(md, sig, &sig_len, raw, sizeof raw) == 1 && sig_len <= SIM_SIG_MAX;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    if (!ok) {
        errbuf_set(err, errlen, "sim: signing the evidence failed");
        return -1;
    }
    struct bytes_writer w;
    writer_init(&w, SIM_BODY_LEN + 4 + a->ak_cert_len + sig_len);
    if (sim_evidence_encode(raw, a->ak_cert, a->ak_cert_len, sig, sig_len, &w) != 0) {
        writer_free(&w);
        errbuf_set(err, errlen, "sim: cannot encode the evidence");
        return -1;
    }
    *ev = writer_take(&w, ev_len);
    if (!*ev) {
        errbuf_set(err, errlen, "sim: out of memory");
        return -1;
    }
    return 0;
}

const struct attester_backend attester_sim = {
    .name = "sim",
    .media_type = SIM_MEDIA_TYPE,
    .open = sim_open,
    .evidence = sim_evidence,
    .close = sim_close,
};
