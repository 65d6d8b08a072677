/*
 * der.h - a minimal, strict DER walker for the one thing the hot path needs from a
 * certificate: its SubjectPublicKeyInfo, byte-exact, and a public key built from it without
 * OpenSSL 3.0's decoder machinery (which costs more than an ECDSA verification per call).
 * Bounded; rejects indefinite and non-minimal lengths and trailing bytes.
 */
#ifndef TETHER_UTIL_DER_H
#define TETHER_UTIL_DER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* Check the outer structure of an X.509 certificate (RFC 5280 4.1: SEQUENCE of tbsCertificate,
 * signatureAlgorithm, signatureValue; tbsCertificate fields in order up to the SPKI) spanning
 * exactly der[0..len), and point *spki at the whole SubjectPublicKeyInfo TLV. */
int der_cert_spki(const uint8_t *der, size_t len, const uint8_t **spki, size_t *spki_len);

/* A public key from a DER SubjectPublicKeyInfo. Fast paths for EC P-256 and P-384
 * (uncompressed points, checked to be on the curve) and Ed25519; other key types go through
 * d2i_PUBKEY. NULL if malformed. */
EVP_PKEY *der_spki_to_pkey(const uint8_t *spki, size_t len);

/* 1 when the DER SubjectPublicKeyInfo holds exactly key's public key (same algorithm, curve
 * and point; compared on the encodings for P-256, P-384 and Ed25519 without building a key),
 * 0 otherwise or when the SPKI is malformed. */
int der_spki_matches_key(const uint8_t *spki, size_t len, EVP_PKEY *key);

/* A P-256 (bits 256) or P-384 (bits 384) public key from an uncompressed SEC 1 point
 * (0x04 || x || y), checked to be on the curve. NULL otherwise. */
EVP_PKEY *ec_pubkey_from_point(int bits, const uint8_t *pt, size_t n);

#endif
