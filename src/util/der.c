/*
 * der.c - see der.h. Never trusts a length before checking it against the bytes left.
 */
#include "util/der.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "util/bytes.h"

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

static EVP_PKEY *ec_from_point(const char *group, const uint8_t *pt, size_t n)
{
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, n),
        OSSL_PARAM_END,
    };
    if (!c || EVP_PKEY_fromdata_init(c) != 1 ||
        EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    EVP_PKEY_CTX_free(c);
    /* No separate on-curve check: the EC import (EC_POINT_oct2point, which sets affine
     * coordinates) refuses points off the curve; tests/unit/test_der.c proves it. */
    ERR_clear_error();
    return pk;
}

EVP_PKEY *der_spki_to_pkey(const uint8_t *spki, size_t len)
{
    struct bytes_reader top, seq, alg;
    const uint8_t *b, *oid, *param = NULL, *bits;
    size_t n, oid_len, param_len = 0, bits_len;
    uint8_t tag;
    reader_init(&top, spki, len);
    if (expect(&top, 0x30, &b, &n) != 0 || !reader_done(&top))
        return NULL;
    reader_init(&seq, b, n);
    if (expect(&seq, 0x30, &b, &n) != 0 || expect(&seq, 0x03, &bits, &bits_len) != 0 ||
        !reader_done(&seq) || bits_len < 1 || bits[0] != 0) /* no unused bits */
        return NULL;
    reader_init(&alg, b, n);
    if (expect(&alg, 0x06, &oid, &oid_len) != 0)
        return NULL;
    if (reader_remaining(&alg) && der_tlv(&alg, &tag, &param, &param_len) != 0)
        return NULL;
    if (!reader_done(&alg))
        return NULL;
    const uint8_t *key = bits + 1;
    size_t key_len = bits_len - 1;
    if (oid_is(oid, oid_len, OID_EC_PUBLIC_KEY, sizeof OID_EC_PUBLIC_KEY) && param && tag == 0x06) {
        if (oid_is(param, param_len, OID_P256, sizeof OID_P256))
            return key_len == 65 && key[0] == 0x04 ? ec_from_point("P-256", key, key_len) : NULL;
        if (oid_is(param, param_len, OID_P384, sizeof OID_P384))
            return key_len == 97 && key[0] == 0x04 ? ec_from_point("P-384", key, key_len) : NULL;
    } else if (oid_is(oid, oid_len, OID_ED25519, sizeof OID_ED25519)) {
        if (param || key_len != 32) /* RFC 8410 3: parameters absent */
            return NULL;
        EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, key_len);
        ERR_clear_error();
        return pk;
    }
    /* Anything else: OpenSSL's general decoder (slower, but complete). */
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);
    if (pk && p != spki + len) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    ERR_clear_error();
    return pk;
}
