/*
 * provision.c - tether_sim_provision: creates a simulated TEE directory (docs/sim.md): sim
 * root CA (or a copy of another directory's root), attestation key and certificate, sim.json
 * and a policy.json that accepts exactly this simulated TEE.
 *
 * Must never: produce evidence (only src/attester/sim/sim_attester.c signs evidence, and only
 * for a connection's binder); write a private key with a mode other than 0600 or
 * non-atomically; accept a measurement or platform id of the wrong length.
 */
#include "tether.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "evidence/sim/sim.h"
#include "policy/policy.h"
#include "util/util.h"

#define SIM_VALIDITY_DAYS 3653 /* ten years */
#define SIM_KEY_FILE_MAX (64u * 1024u)


/* mkdir -p with mode 0700 for every directory created. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        errbuf_set(err, errlen, "sim: directory name too long");
        return -1;
    }
    for (char *p = buf + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            errbuf_set(err, errlen, "sim: cannot create %.300s: %s", buf, strerror(errno));
            return -1;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errbuf_set(err, errlen, "sim: %.300s is not a directory", dir);
        return -1;
    }
    /* Private keys go here: the folder must be ours and closed to others. */
    if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        errbuf_set(err, errlen,
                   "sim: %.300s is writable by others or not owned by us: refusing to put keys there",
                   dir);
        return -1;
    }
    return 0;
}

static EVP_PKEY *new_p256(void)
{
    return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* A certificate for key, issued by issuer (NULL: self-signed) with issuer_key. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca)
{
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    uint8_t serial[16];
    if (!x || !bn || RAND_bytes(serial, sizeof serial) != 1)
        goto bad;
    serial[0] &= 0x7f;
    serial[0] |= 0x01; /* positive, 16 bytes */
    if (!BN_bin2bn(serial, sizeof serial, bn) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        goto bad;
    if (X509_set_version(x, 2) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) || /* tolerate clock skew */
        !X509_time_adj_ex(X509_getm_notAfter(x), SIM_VALIDITY_DAYS, 0, NULL))
        goto bad;
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1)
        goto bad;
    if (X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
        X509_set_pubkey(x, key) != 1)
        goto bad;
    X509 *iss = issuer ? issuer : x;
    if (add_ext(x, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
        add_ext(x, iss, NID_key_usage,
                ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") ||
        add_ext(x, iss, NID_subject_key_identifier, "hash"))
        goto bad;
    if (issuer && add_ext(x, iss, NID_authority_key_identifier, "keyid:always"))
        goto bad;
    if (X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) <= 0)
        goto bad;
    BN_free(bn);
    return x;
bad:
    BN_free(bn);
    X509_free(x);
    return NULL;
}

static int write_bio(const char *dir, const char *file, BIO *bio, unsigned mode, char *err,
                     size_t errlen)
{
    char path[PATH_MAX];
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    if (path_join(path, sizeof path, dir, file) != 0 || n < 0) {
        errbuf_set(err, errlen, "sim: directory name too long");
        return -1;
    }
    if (file_write(path, p, (size_t)n, mode) != 0) {
        errbuf_set(err, errlen, "sim: cannot write %.300s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_key(const char *dir, const char *file, EVP_PKEY *key, char *err, size_t errlen)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    if (!bio)
        bio = BIO_new(BIO_s_mem());
    int rc = -1;
    if (!bio || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
        errbuf_set(err, errlen, "sim: cannot encode %s", file);
    else
        rc = write_bio(dir, file, bio, 0600, err, errlen);
    BIO_free(bio);
    return rc;
}

static int write_cert(const char *dir, const char *file, X509 *cert, char *err, size_t errlen)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = -1;
    if (!bio || PEM_write_bio_X509(bio, cert) != 1)
        errbuf_set(err, errlen, "sim: cannot encode %s", file);
    else
        rc = write_bio(dir, file, bio, 0644, err, errlen);
    BIO_free(bio);
    return rc;
}

/* Read root.key and root.crt of another sim directory. */
static int load_root(const char *from, EVP_PKEY **key, X509 **cert, char *err, size_t errlen)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    BIO *bio;
    if (path_join(path, sizeof path, from, SIM_FILE_ROOT_KEY) != 0 ||
        file_read(path, SIM_KEY_FILE_MAX, &data, &len) != 0) {
        errbuf_set(err, errlen, "sim: cannot read %.300s: %s", path, strerror(errno));
        return -1;
    }
    bio = BIO_new_mem_buf(data, (int)len);
    *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    free_secret(data, len);
    if (!*key) {
        errbuf_set(err, errlen, "sim: %.300s: not a PEM private key", path);
        return -1;
    }
    if (path_join(path, sizeof path, from, SIM_FILE_ROOT_CERT) != 0 ||
        file_read(path, SIM_KEY_FILE_MAX, &data, &len) != 0) {
        errbuf_set(err, errlen, "sim: cannot read %.300s: %s", path, strerror(errno));
        return -1;
    }
    bio = BIO_new_mem_buf(data, (int)len);
    *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    free(data);
    if (!*cert) {
        errbuf_set(err, errlen, "sim: %.300s: not a PEM certificate", path);
        return -1;
    }
    if (X509_check_private_key(*cert, *key) != 1) {
        errbuf_set(err, errlen, "sim: %.300s: root.key does not match root.crt", from);
        return -1;
    }
    return 0;
}

static int hex_param(const char *hex, size_t want, uint8_t *out, const char *what, char *err,
                     size_t errlen)
{
    if (!hex)
        return RAND_bytes(out, (int)want) == 1 ? 0 : -1;
    uint8_t tmp[64];
    size_t got = 0;
    if (hex_decode(hex, tmp, sizeof tmp, &got) != 0 || got != want) {
        errbuf_set(err, errlen, "sim: the %s must be exactly %zu bytes in hex (%zu hex digits)", what,
               want, 2 * want);
        return -1;
    }
    memcpy(out, tmp, want);
    return 0;
}

static int write_json(const char *dir, const char *file, json_t *o, char *err, size_t errlen)
{
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char path[PATH_MAX];
    int rc = -1;
    if (!s)
        errbuf_set(err, errlen, "sim: out of memory");
    else if (path_join(path, sizeof path, dir, file) != 0)
        errbuf_set(err, errlen, "sim: directory name too long");
    else {
        size_t n = strlen(s);
        s[n] = '\n'; /* json_dumps ends with the NUL we overwrite; write n+1 bytes */
        if (file_write(path, s, n + 1, 0644) != 0)
            errbuf_set(err, errlen, "sim: cannot write %.300s: %s", path, strerror(errno));
        else
            rc = 0;
        s[n] = '\0';
    }
    free(s);
    return rc;
}

TETHER_API int tether_sim_provision(const char *dir, const struct tether_sim_params *params,
                                    char *errbuf, size_t errlen)
{
    static const struct tether_sim_params defaults = {0};
    const struct tether_sim_params *pp = params ? params : &defaults;
    uint8_t measurement[SIM_MEASUREMENT_LEN], platform_id[SIM_PLATFORM_ID_LEN];
    uint32_t tcb = pp->tcb_version ? pp->tcb_version : 1;
    EVP_PKEY *root_key = NULL, *ak_key = NULL;
    X509 *root = NULL, *ak = NULL;
    json_t *sim = NULL, *pol = NULL;
    char mhex[2 * SIM_MEASUREMENT_LEN + 1], phex[2 * SIM_PLATFORM_ID_LEN + 1];
    int rc = -1;

    errbuf_set(errbuf, errlen, "sim: provisioning failed");
    if (!dir || !dir[0]) {
        errbuf_set(errbuf, errlen, "sim: no directory given");
        return -1;
    }
    if (hex_param(pp->measurement_hex, sizeof measurement, measurement, "measurement", errbuf,
                  errlen) != 0 ||
        hex_param(pp->platform_id_hex, sizeof platform_id, platform_id, "platform id", errbuf,
                  errlen) != 0)
        return -1;
    if (make_dirs(dir, errbuf, errlen) != 0)
        return -1;

    if (pp->root_from_dir) {
        if (load_root(pp->root_from_dir, &root_key, &root, errbuf, errlen) != 0)
            goto out;
    } else {
        uint8_t tag[4];
        char cn[64], taghex[9];
        root_key = new_p256();
        if (!root_key || RAND_bytes(tag, sizeof tag) != 1) {
            errbuf_set(errbuf, errlen, "sim: cannot generate the root key");
            goto out;
        }
        hex_encode(tag, sizeof tag, taghex);
        snprintf(cn, sizeof cn, "tether sim root %s", taghex);
        root = make_cert(root_key, cn, NULL, NULL, true);
        if (!root) {
            errbuf_set(errbuf, errlen, "sim: cannot create the root certificate");
            goto out;
        }
    }
    ak_key = new_p256();
    ak = ak_key ? make_cert(ak_key, "tether sim attestation key", root, root_key, false) : NULL;
    if (!ak) {
        errbuf_set(errbuf, errlen, "sim: cannot create the attestation key and certificate");
        goto out;
    }
    if (write_key(dir, SIM_FILE_ROOT_KEY, root_key, errbuf, errlen) != 0 ||
        write_cert(dir, SIM_FILE_ROOT_CERT, root, errbuf, errlen) != 0 ||
        write_key(dir, SIM_FILE_AK_KEY, ak_key, errbuf, errlen) != 0 ||
        write_cert(dir, SIM_FILE_AK_CERT, ak, errbuf, errlen) != 0)
        goto out;

    hex_encode(measurement, sizeof measurement, mhex);
    hex_encode(platform_id, sizeof platform_id, phex);
    sim = json_pack("{s:s, s:s, s:I, s:b}", "measurement", mhex, "platform_id", phex,
                    "tcb_version", (json_int_t)tcb, "debug", pp->debug ? 1 : 0);
    pol = json_pack("{s:i, s:{s:{s:[s], s:[s], s:I}}, s:[s], s:b, s:i}", "tether_policy", 1,
                    "accept", "sim", "trust_anchors", SIM_FILE_ROOT_CERT, "measurements", mhex,
                    "min_tcb", (json_int_t)tcb, "platform_ids", phex, "allow_debug",
                    pp->debug ? 1 : 0, "max_evidence_age_seconds", 300);
    if (!sim || !pol) {
        errbuf_set(errbuf, errlen, "sim: out of memory");
        goto out;
    }
    if (write_json(dir, SIM_FILE_CONFIG, sim, errbuf, errlen) != 0 ||
        write_json(dir, SIM_FILE_POLICY, pol, errbuf, errlen) != 0)
        goto out;

    /* Self-check: the policy we wrote must load (and find the root it names). */
    char path[PATH_MAX], perr[256];
    if (path_join(path, sizeof path, dir, SIM_FILE_POLICY) != 0) {
        errbuf_set(errbuf, errlen, "sim: directory name too long");
        goto out;
    }
    struct policy *check = policy_load_file(path, perr, sizeof perr);
    if (!check) {
        errbuf_set(errbuf, errlen, "sim: the generated policy does not load: %s", perr);
        goto out;
    }
    policy_free(check);
    rc = 0;
    if (errbuf && errlen)
        errbuf[0] = '\0';
out:
    json_decref(sim);
    json_decref(pol);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(ak_key);
    X509_free(root);
    X509_free(ak);
    ERR_clear_error();
    return rc;
}
