/*
 * test_der.c - the DER shortcut for certificate SPKIs (src/util/der.c): it must agree with
 * OpenSSL's full parser on real certificates and refuse what OpenSSL refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "util/der.h"

static X509 *make_cert(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"t", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 60);
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256());
    return x;
}

static void check_key_type(EVP_PKEY *key)
{
    X509 *x = make_cert(key);
    unsigned char *der = NULL, *spki_ref = NULL;
    int n = i2d_X509(x, &der);
    int m = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki_ref);
    const uint8_t *spki;
    size_t spki_len;
    assert_int_equal(der_cert_spki(der, (size_t)n, &spki, &spki_len), 0);
    /* byte-exact: the same SPKI bytes OpenSSL re-encodes */
    assert_int_equal(spki_len, (size_t)m);
    assert_memory_equal(spki, spki_ref, spki_len);
    EVP_PKEY *pk = der_spki_to_pkey(spki, spki_len);
    assert_non_null(pk);
    assert_int_equal(EVP_PKEY_eq(pk, key), 1);
    /* truncated or extended: refused */
    for (int cut = 0; cut < n; cut += 7)
        assert_int_not_equal(der_cert_spki(der, (size_t)cut, &spki, &spki_len), 0);
    EVP_PKEY_free(pk);
    OPENSSL_free(der);
    OPENSSL_free(spki_ref);
    X509_free(x);
}

static void spki_matches_openssl_for_p256_p384_ed25519(void **state)
{
    (void)state;
    EVP_PKEY *keys[3] = {EVP_EC_gen("P-256"), EVP_EC_gen("P-384"),
                         EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")};
    for (int i = 0; i < 3; i++) {
        check_key_type(keys[i]);
        EVP_PKEY_free(keys[i]);
    }
}

static void point_off_the_curve_is_refused(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    unsigned char *spki = NULL;
    int n = i2d_PUBKEY(k, &spki);
    assert_true(n > 65);
    /* the last byte of Y: the point is no longer on the curve */
    spki[n - 1] ^= 0x01;
    assert_null(der_spki_to_pkey(spki, (size_t)n));
    spki[n - 1] ^= 0x01;
    EVP_PKEY *ok = der_spki_to_pkey(spki, (size_t)n);
    assert_non_null(ok);
    /* compressed or hybrid point encodings are not what tether's fast path accepts */
    spki[n - 65] = 0x06;
    assert_null(der_spki_to_pkey(spki, (size_t)n));
    EVP_PKEY_free(ok);
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
}

/* The raw-point import every EC verifier uses (SPKI, DCAP attestation keys): the same key
 * as OpenSSL's, and refused off the curve, at the point at infinity, or in another form. */
static void raw_points_p256_p384(void **state)
{
    (void)state;
    const int bits[2] = {256, 384};
    for (int i = 0; i < 2; i++) {
        EVP_PKEY *k = EVP_EC_gen(bits[i] == 256 ? "P-256" : "P-384");
        unsigned char *pt = NULL;
        size_t n = EVP_PKEY_get1_encoded_public_key(k, &pt);
        assert_int_equal(n, bits[i] == 256 ? 65 : 97);
        EVP_PKEY *pk = ec_pubkey_from_point(bits[i], pt, n);
        assert_non_null(pk);
        assert_int_equal(EVP_PKEY_eq(pk, k), 1);
        EVP_PKEY_free(pk);
        /* the other curve's size, a truncated point, an unknown size */
        assert_null(ec_pubkey_from_point(bits[i] == 256 ? 384 : 256, pt, n));
        assert_null(ec_pubkey_from_point(bits[i], pt, n - 1));
        assert_null(ec_pubkey_from_point(521, pt, n));
        pt[n - 1] ^= 0x01; /* off the curve */
        assert_null(ec_pubkey_from_point(bits[i], pt, n));
        pt[n - 1] ^= 0x01;
        pt[0] = 0x02; /* compressed marker on an uncompressed length */
        assert_null(ec_pubkey_from_point(bits[i], pt, n));
        memset(pt, 0, n); /* the all-zero "point" */
        pt[0] = 0x04;
        assert_null(ec_pubkey_from_point(bits[i], pt, n));
        assert_null(ec_pubkey_from_point(bits[i], NULL, n));
        OPENSSL_free(pt);
        EVP_PKEY_free(k);
    }
}

/* The builder's "is this the leaf's key" check (src/ea): true only for the very key. */
static void spki_matches_only_its_own_key(void **state)
{
    (void)state;
    EVP_PKEY *keys[4] = {EVP_EC_gen("P-256"), EVP_EC_gen("P-384"),
                         EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"),
                         EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)};
    EVP_PKEY *others[4] = {EVP_EC_gen("P-256"), EVP_EC_gen("P-384"),
                           EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"),
                           EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)};
    for (int i = 0; i < 4; i++) {
        unsigned char *spki = NULL;
        int n = i2d_PUBKEY(keys[i], &spki);
        assert_true(n > 0);
        assert_int_equal(der_spki_matches_key(spki, (size_t)n, keys[i]), 1);
        for (int j = 0; j < 4; j++) /* another key of each type, including the same type */
            assert_int_equal(der_spki_matches_key(spki, (size_t)n, others[j]), 0);
        for (int j = 0; j < 4; j++)
            if (j != i)
                assert_int_equal(der_spki_matches_key(spki, (size_t)n, keys[j]), 0);
        assert_int_equal(der_spki_matches_key(spki, (size_t)n - 1, keys[i]), 0);
        assert_int_equal(der_spki_matches_key(spki, (size_t)n, NULL), 0);
        spki[n - 1] ^= 0x01; /* the last byte of the key */
        assert_int_equal(der_spki_matches_key(spki, (size_t)n, keys[i]), 0);
        OPENSSL_free(spki);
    }
    for (int i = 0; i < 4; i++) {
        EVP_PKEY_free(keys[i]);
        EVP_PKEY_free(others[i]);
    }
}

static void non_minimal_and_indefinite_lengths_are_refused(void **state)
{
    (void)state;
    const uint8_t indefinite[] = {0x30, 0x80, 0x00, 0x00};
    const uint8_t non_minimal[] = {0x30, 0x81, 0x03, 0x02, 0x01, 0x00};
    const uint8_t leading_zero[] = {0x30, 0x82, 0x00, 0x83};
    const uint8_t *s;
    size_t n;
    assert_int_not_equal(der_cert_spki(indefinite, sizeof indefinite, &s, &n), 0);
    assert_int_not_equal(der_cert_spki(non_minimal, sizeof non_minimal, &s, &n), 0);
    assert_int_not_equal(der_cert_spki(leading_zero, sizeof leading_zero, &s, &n), 0);
    assert_null(der_spki_to_pkey(non_minimal, sizeof non_minimal));
    assert_null(der_spki_to_pkey(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spki_matches_openssl_for_p256_p384_ed25519),
        cmocka_unit_test(point_off_the_curve_is_refused),
        cmocka_unit_test(raw_points_p256_p384),
        cmocka_unit_test(spki_matches_only_its_own_key),
        cmocka_unit_test(non_minimal_and_indefinite_lengths_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
