/*
 * ratls_ext.h - the interoperable RA-TLS certificate extension, sans-IO: encode and decode
 * the value of the X.509 extension tcg-dice-conceptual-message-wrapper (OID 2.23.133.5.4.9)
 * as specified by CCC-Attestation interoperable-ra-tls
 * (docs/Interoperable-RA-TLS-cert-edvidence-formats.md and
 * docs/Interoperable-RA-TLS-SGX-TDX-evidence-formats.md):
 *
 *   extension value = TAG([ evidence : bstr, claims-buffer : bstr ])      (CBOR, definite)
 *   claims-buffer   = encoded map { "pubkey-hash" : bstr(encoded [alg-id, bstr H(SPKI DER)]),
 *                                   ? "nonce"      : bstr }
 *
 * TAG identifies the evidence format (IANA CBOR tags 60000/60001/60002 for Intel quotes and
 * reports). tether's simulated TEE has no registered tag: it uses the private, unregistered
 * tag RATLS_TAG_TETHER_SIM (docs/protocol.md, "Legacy modes"). alg-id is from IANA's Named
 * Information Hash Algorithm registry: 1 sha-256, 7 sha-384, 8 sha-512. Claims other than
 * "pubkey-hash" and "nonce" are ignored, as the specification requires.
 *
 * Used ONLY by the insecure legacy binding modes (src/tls/legacy.c): evidence in a certificate
 * is bound to a key (and at best a client nonce), never to one TLS connection.
 */
#ifndef TETHER_BINDING_RATLS_EXT_H
#define TETHER_BINDING_RATLS_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/bytes.h"

#define RATLS_EXT_OID "2.23.133.5.4.9" /* tcg-dice-conceptual-message-wrapper */
/* The OID's DER encoding (06 06 67 81 05 05 04 09 without tag and length). */
#define RATLS_EXT_OID_DER "\x67\x81\x05\x05\x04\x09"
#define RATLS_EXT_OID_DER_LEN 6

#define RATLS_TAG_INTEL_QUOTE 60000ull      /* IANA: Intel TEE quote (SGX/TDX ECDSA) */
#define RATLS_TAG_INTEL_REPORT 60001ull     /* IANA: TDX report / SGX report type 2 */
#define RATLS_TAG_SGX_LEGACY_REPORT 60002ull /* IANA: SGX EREPORT */
/* tether sim evidence (docs/sim.md): private, NOT registered with IANA. The four bytes spell
 * "TSIM", the sim format's own magic, so the encoded tag reads DA 54 53 49 4D. */
#define RATLS_TAG_TETHER_SIM 0x5453494Dull

#define RATLS_HASH_SHA256 1
#define RATLS_HASH_SHA384 7
#define RATLS_HASH_SHA512 8

#define RATLS_EXT_MAX (256u * 1024u) /* largest extension value accepted or produced */
#define RATLS_NONCE_MAX 64           /* Cocos <= 0.8.2 used 64 bytes; tether sends 32 */

struct ratls_claims {
    bool has_pubkey_hash;
    unsigned hash_alg;           /* RATLS_HASH_* */
    uint8_t pubkey_hash[64];     /* H(SPKI DER); 32, 48 or 64 bytes by hash_alg */
    size_t pubkey_hash_len;
    bool has_nonce;
    uint8_t nonce[RATLS_NONCE_MAX];
    size_t nonce_len;
};

/* A decoded extension value; the pointers borrow the input. */
struct ratls_ext {
    uint64_t tag;
    const uint8_t *evidence;
    size_t evidence_len;
    const uint8_t *claims_buffer; /* the raw claims-buffer bytes (the encoded map) */
    size_t claims_buffer_len;
    struct ratls_claims claims;
};

/* The hash length for a RATLS_HASH_* id, 0 if unsupported. */
size_t ratls_hash_len(unsigned hash_alg);

/* Encode TAG([evidence, claims-buffer]). The claims need a pubkey hash (the specification
 * requires one); the nonce is written when has_nonce. Map order: "pubkey-hash", "nonce". */
int ratls_ext_encode(uint64_t tag, const uint8_t *evidence, size_t evidence_len,
                     const struct ratls_claims *claims, struct bytes_writer *out);

/* Strict decode of a whole extension value (the strict CBOR profile of util/cbor.h, exactly
 * one tag over an array of exactly two byte strings, a claims map with a well-formed
 * "pubkey-hash" of a supported algorithm and at most a RATLS_NONCE_MAX-byte nonce).
 * 0 on success; -1 and a static reason otherwise. */
int ratls_ext_decode(const uint8_t *buf, size_t len, struct ratls_ext *out, const char **why);

#endif
