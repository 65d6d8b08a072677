/*
 * x509util.c - see x509util.h.
 */
#include "util/x509util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* The certificate's public key, set from the key's encoded public value: X509_set_pubkey would
 * encode and then re-decode the key through OpenSSL 3.0's decoders. */
static int set_public_key(X509 *x, EVP_PKEY *key)
{
    X509_PUBKEY *pub = X509_get_X509_PUBKEY(x);
    unsigned char *enc = NULL;
    size_t len = 0;
    int ok = 0;
    if (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519) {
        enc = OPENSSL_malloc(32);
        len = 32;
        ok = enc && EVP_PKEY_get_raw_public_key(key, enc, &len) == 1 && len == 32 &&
             X509_PUBKEY_set0_param(pub, OBJ_nid2obj(NID_ED25519), V_ASN1_UNDEF, NULL, enc,
                                    (int)len);
    } else {
        char group[32];
        size_t glen = 0;
        int nid = NID_undef;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &glen) == 1)
            nid = EC_curve_nist2nid(group) != NID_undef ? EC_curve_nist2nid(group)
                                                         : OBJ_sn2nid(group);
        len = EVP_PKEY_get1_encoded_public_key(key, &enc);
        ok = nid != NID_undef && len > 0 &&
             X509_PUBKEY_set0_param(pub, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
                                    OBJ_nid2obj(nid), enc, (int)len);
    }
    if (!ok)
        OPENSSL_free(enc);
    return ok ? 0 : -1;
}

X509 *x509_new_self_issued(EVP_PKEY *key, const char *cn, long lifetime_s)
{
    X509 *x = X509_new();
    unsigned char serial[16];
    if (!x || !key || RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f; /* positive */
    serial[0] |= 0x01; /* and of full length */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    BN_free(bn);
    if (!ai)
        goto fail;
    int ok = X509_set_serialNumber(x, ai);
    ASN1_INTEGER_free(ai);
    X509_NAME *name = X509_get_subject_name(x);
    if (!ok || !X509_set_version(x, 2) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, name) || !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), lifetime_s) || set_public_key(x, key) != 0)
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

char *x509_name_string(const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s = NULL;
    if (b && n && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
        char *p = NULL;
        long len = BIO_get_mem_data(b, &p);
        if (len >= 0 && (s = malloc((size_t)len + 1)) != NULL) {
            if (len)
                memcpy(s, p, (size_t)len);
            s[len] = '\0';
        }
    }
    BIO_free(b);
    return s;
}

int x509_time(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    *out = timegm(&tm);
    return 0;
}

bool ec_key_is_curve(EVP_PKEY *k, int nid)
{
    char name[64];
    size_t len = 0;
    if (!k || !EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_group_name(k, name, sizeof name, &len) != 1)
        return false;
    int got = OBJ_sn2nid(name);
    if (got == NID_undef)
        got = EC_curve_nist2nid(name);
    return got == nid;
}

int x509_verify_at(X509_STORE *store, X509 *cert, STACK_OF(X509) *untrusted, time_t at,
                   int *err, STACK_OF(X509) **chain)
{
    int e = X509_V_ERR_UNSPECIFIED, rc = -2;
    if (chain)
        *chain = NULL;
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (ctx && X509_STORE_CTX_init(ctx, store, cert, untrusted) == 1) {
        X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_time(p, at);
        X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_USE_CHECK_TIME);
        if (X509_verify_cert(ctx) == 1) {
            e = X509_V_OK;
            rc = 0;
            if (chain)
                *chain = X509_STORE_CTX_get1_chain(ctx);
        } else {
            e = X509_STORE_CTX_get_error(ctx);
            rc = -1;
        }
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    if (err)
        *err = e;
    return rc;
}
