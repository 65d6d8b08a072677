/*
 * der.c - see der.h. Never trusts a length before checking it against the bytes left.
 */
#include "util/der.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "util/bytes.h"
#include "util/x509util.h"

/* Read one TLV with a single-byte tag; *body points into the input. */
static int der_tlv(struct bytes_reader *r, uint8_t *tag, const uint8_t **body, size_t *n)
{
    uint8_t l0;
    if (!reader_u8(r, tag) || (*tag & 0x1f) == 0x1f || !reader_u8(r, &l0))
        return -1;
    size_t len;
    if (l0 < 0x80) {
        len = l0;
    } else {
        size_t nb = l0 & 0x7f;
        if (nb == 0 || nb > 3) /* indefinite, or over 16 MiB */
            return -1;
        len = 0;
        for (size_t i = 0; i < nb; i++) {
            uint8_t b;
            if (!reader_u8(r, &b) || (i == 0 && b == 0))
                return -1; /* non-minimal: leading zero */
            len = (len << 8) | b;
        }
        if (len < 0x80)
            return -1; /* non-minimal: fits the short form */
    }
    return reader_bytes(r, len, body) ? (*n = len, 0) : -1;
}

static int expect(struct bytes_reader *r, uint8_t want, const uint8_t **body, size_t *n)
{
    uint8_t tag;
    return der_tlv(r, &tag, body, n) == 0 && tag == want ? 0 : -1;
}

int der_cert_spki(const uint8_t *der, size_t len, const uint8_t **spki, size_t *spki_len)
{
    struct bytes_reader top, cert, tbs;
    const uint8_t *b;
    size_t n;
    reader_init(&top, der, len);
    if (expect(&top, 0x30, &b, &n) != 0 || !reader_done(&top))
        return -1;
    reader_init(&cert, b, n);
    if (expect(&cert, 0x30, &b, &n) != 0) /* tbsCertificate */
        return -1;
    reader_init(&tbs, b, n);
    const uint8_t *tmp;
    size_t tn;
    if (expect(&cert, 0x30, &tmp, &tn) != 0 || expect(&cert, 0x03, &tmp, &tn) != 0 ||
        !reader_done(&cert)) /* signatureAlgorithm, signatureValue */
        return -1;
    uint8_t tag;
    if (der_tlv(&tbs, &tag, &tmp, &tn) != 0)
        return -1;
    if (tag == 0xa0 && der_tlv(&tbs, &tag, &tmp, &tn) != 0) /* [0] version */
        return -1;
    if (tag != 0x02) /* serialNumber */
        return -1;
    /* signature, issuer, validity, subject */
    for (int i = 0; i < 4; i++)
        if (expect(&tbs, 0x30, &tmp, &tn) != 0)
            return -1;
    size_t start = tbs.pos;
    if (expect(&tbs, 0x30, &tmp, &tn) != 0)
        return -1;
    *spki = tbs.data + start;
    *spki_len = tbs.pos - start;
    return 0;
}

static const uint8_t OID_EC_PUBLIC_KEY[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t OID_P256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t OID_P384[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t OID_ED25519[] = {0x2b, 0x65, 0x70};

static bool oid_is(const uint8_t *b, size_t n, const uint8_t *oid, size_t oid_len)
{
    return n == oid_len && memcmp(b, oid, n) == 0;
}

/* Domain-parameter-only keys, one per curve, built once per process: importing a point into a
 * copy of one costs about a sixth of EVP_PKEY_fromdata with a group name, which rebuilds the
 * group every call (26 us against 4 us on this machine; docs/performance.md). */
static EVP_PKEY *ec_template[2];
static pthread_once_t ec_template_once = PTHREAD_ONCE_INIT;

static void ec_template_init(void)
{
    static const char *const groups[2] = {"P-256", "P-384"};
    for (int i = 0; i < 2; i++) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        OSSL_PARAM params[] = {
            OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)groups[i], 0),
            OSSL_PARAM_END,
        };
        if (!c || EVP_PKEY_fromdata_init(c) != 1 ||
            EVP_PKEY_fromdata(c, &ec_template[i], EVP_PKEY_KEY_PARAMETERS, params) != 1)
            ec_template[i] = NULL;
        EVP_PKEY_CTX_free(c);
    }
    ERR_clear_error();
}

EVP_PKEY *ec_pubkey_from_point(int bits, const uint8_t *pt, size_t n)
{
    size_t want = bits == 256 ? 65 : bits == 384 ? 97 : 0;
    /* SEC 1 2.3.3: only the uncompressed form is accepted here. */
    if (want == 0 || !pt || n != want || pt[0] != 0x04 ||
        pthread_once(&ec_template_once, ec_template_init) != 0)
        return NULL;
    EVP_PKEY *tmpl = ec_template[bits == 256 ? 0 : 1];
    EVP_PKEY *pk = tmpl ? EVP_PKEY_new() : NULL;
    /* EVP_PKEY_set1_encoded_public_key goes through EC_POINT_oct2point, which refuses a point
     * off the curve (SEC 1 3.2.2.1 partial validation; P-256 and P-384 have cofactor 1, so a
     * point on the curve has the group's order); tests/unit/test_der.c proves it. */
    if (pk && (EVP_PKEY_copy_parameters(pk, tmpl) != 1 ||
               EVP_PKEY_set1_encoded_public_key(pk, pt, n) != 1)) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    ERR_clear_error();
    return pk;
}

/* The key kinds the fast paths know; SPKI_OTHER goes through OpenSSL's decoder. */
enum spki_kind { SPKI_BAD, SPKI_P256, SPKI_P384, SPKI_ED25519, SPKI_OTHER };

/* RFC 5280 4.1.2.7 SubjectPublicKeyInfo: the key kind and the subjectPublicKey bits. */
static enum spki_kind spki_parts(const uint8_t *spki, size_t len, const uint8_t **key,
                                 size_t *key_len)
{
    struct bytes_reader top, seq, alg;
    const uint8_t *b, *oid, *param = NULL, *bits;
    size_t n, oid_len, param_len = 0, bits_len;
    uint8_t tag = 0;
    reader_init(&top, spki, len);
    if (expect(&top, 0x30, &b, &n) != 0 || !reader_done(&top))
        return SPKI_BAD;
    reader_init(&seq, b, n);
    if (expect(&seq, 0x30, &b, &n) != 0 || expect(&seq, 0x03, &bits, &bits_len) != 0 ||
        !reader_done(&seq) || bits_len < 1 || bits[0] != 0) /* no unused bits */
        return SPKI_BAD;
    reader_init(&alg, b, n);
    if (expect(&alg, 0x06, &oid, &oid_len) != 0)
        return SPKI_BAD;
    if (reader_remaining(&alg) && der_tlv(&alg, &tag, &param, &param_len) != 0)
        return SPKI_BAD;
    if (!reader_done(&alg))
        return SPKI_BAD;
    *key = bits + 1;
    *key_len = bits_len - 1;
    if (oid_is(oid, oid_len, OID_EC_PUBLIC_KEY, sizeof OID_EC_PUBLIC_KEY) && param && tag == 0x06) {
        if (oid_is(param, param_len, OID_P256, sizeof OID_P256))
            return SPKI_P256;
        if (oid_is(param, param_len, OID_P384, sizeof OID_P384))
            return SPKI_P384;
    } else if (oid_is(oid, oid_len, OID_ED25519, sizeof OID_ED25519)) {
        /* RFC 8410 3: parameters absent */
        return param || *key_len != 32 ? SPKI_BAD : SPKI_ED25519;
    }
    return SPKI_OTHER;
}

static EVP_PKEY *spki_decode(const uint8_t *spki, size_t len)
{
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);
    if (pk && p != spki + len) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    ERR_clear_error();
    return pk;
}

EVP_PKEY *der_spki_to_pkey(const uint8_t *spki, size_t len)
{
    const uint8_t *key = NULL;
    size_t key_len = 0;
    EVP_PKEY *pk = NULL;
    switch (spki_parts(spki, len, &key, &key_len)) {
    case SPKI_BAD:
        return NULL;
    case SPKI_P256:
        return ec_pubkey_from_point(256, key, key_len);
    case SPKI_P384:
        return ec_pubkey_from_point(384, key, key_len);
    case SPKI_ED25519:
        pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, key_len);
        ERR_clear_error();
        return pk;
    case SPKI_OTHER:
        break;
    }
    /* Anything else: OpenSSL's general decoder (slower, but complete). */
    return spki_decode(spki, len);
}

int der_spki_matches_key(const uint8_t *spki, size_t len, EVP_PKEY *key)
{
    const uint8_t *pub = NULL;
    size_t pub_len = 0, n = 0;
    uint8_t mine[97];
    if (!key)
        return 0;
    /* Public values: a plain comparison of the encodings is enough. */
    enum spki_kind kind = spki_parts(spki, len, &pub, &pub_len);
    switch (kind) {
    case SPKI_BAD:
        return 0;
    case SPKI_P256:
    case SPKI_P384:
        if (!ec_key_is_curve(key, kind == SPKI_P256 ? NID_X9_62_prime256v1 : NID_secp384r1)) {
            ERR_clear_error();
            return 0;
        }
        if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, mine,
                                            sizeof mine, &n) != 1)
            break; /* not conclusive here: the general comparison below decides */
        ERR_clear_error();
        /* A key set to emit compressed points would differ here and be refused: every key
         * tether makes or imports uses the uncompressed form (SEC 1 2.3.3). */
        return n == pub_len && memcmp(mine, pub, n) == 0;
    case SPKI_ED25519:
        n = sizeof mine;
        if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
            EVP_PKEY_get_raw_public_key(key, mine, &n) != 1) {
            ERR_clear_error();
            return 0;
        }
        return n == pub_len && memcmp(mine, pub, n) == 0;
    case SPKI_OTHER:
        break;
    }
    ERR_clear_error();
    EVP_PKEY *theirs = der_spki_to_pkey(spki, len);
    int eq = theirs && EVP_PKEY_eq(theirs, key) == 1;
    EVP_PKEY_free(theirs);
    ERR_clear_error();
    return eq;
}
