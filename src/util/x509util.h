/*
 * x509util.h - small certificate helpers shared by the attester, the legacy modes, the probe
 * and the evidence verifiers: a fresh self-issued certificate skeleton, names and times as
 * text. Never verifies anything: chains are checked where the trust decision is made.
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

#endif
