/*
 * x509util.h - small certificate helpers shared by the attester, the legacy modes, the probe
 * and the evidence verifiers: a fresh self-issued certificate skeleton, names and times as
 * text, and one chain verification primitive (the trust decision stays with the caller).
 */
#ifndef TETHER_UTIL_X509UTIL_H
#define TETHER_UTIL_X509UTIL_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

/* A self-issued v3 certificate for key: random positive serial, CN=cn as subject and issuer,
 * valid from 5 minutes ago for lifetime_s seconds; unsigned and without extensions (the caller
 * adds them and signs). The public key is set from its encoded form, without the OpenSSL 3.0
 * decoder round trip of X509_set_pubkey, so the object holds no decoded key: fine for DER
 * output (an authenticator leaf); call X509_set_pubkey before using it as a TLS certificate.
 * EC (named curve) and Ed25519 keys. */
X509 *x509_new_self_issued(EVP_PKEY *key, const char *cn, long lifetime_s);

/* One-line RFC 2253 form of a name; caller frees. NULL on failure. */
char *x509_name_string(const X509_NAME *n);

/* True if k is an EC key on the named curve nid (NID_X9_62_prime256v1, NID_secp384r1). */
bool ec_key_is_curve(EVP_PKEY *k, int nid);

/* An ASN1_TIME as Unix time. 0 or -1. */
int x509_time(const ASN1_TIME *t, time_t *out);

/* Verify cert to store at time at (X509_V_FLAG_USE_CHECK_TIME); untrusted may be NULL.
 * 0 on success, with *chain (leaf first, up-referenced, sk_X509_pop_free it; NULL if it could
 * not be copied) when chain is non-NULL. -1 if the chain does not verify, with *err the
 * X509_V_ERR_* code; -2 if the verification context could not be set up, with *err
 * X509_V_ERR_UNSPECIFIED. err may be NULL. Clears the OpenSSL error queue. */
int x509_verify_at(X509_STORE *store, X509 *cert, STACK_OF(X509) *untrusted, time_t at,
                   int *err, STACK_OF(X509) **chain);

#endif
