/*
 * legacy_binder.h - what the evidence commits to in tether's INSECURE legacy binding modes
 * (docs/protocol.md, "Legacy modes"), and the ClientHello carrier of their nonce. Sans-IO.
 *
 * Each mode models a deployed intra-/pre-handshake design, and none of them binds the evidence
 * to one TLS connection's keys (research protocol.md 3.1, binders #1/#2, #4, #6, #7):
 *   ra-nonce          report_data = SHA-512("tether-ra-nonce" || N)       nonce only
 *   ra-key            report_data = SHA-512(SPKI DER)                     key only, no freshness
 *   ra-key-nonce      report_data = SHA-512(SPKI DER || N)                key and client nonce
 *   ra-early-exporter report_data = SHA-512(N || EE || SPKI DER)          nonce, ClientHello, key
 * N is the client's 32-byte nonce, carried in the ClientHello's server_name as
 * "<64 lower-case hex digits>.nonce". EE is TLS-Early-Exporter("attestation-binder", "", 32)
 * of the handshake's ClientHello without a PSK (early_exporter.h): a function of public bytes
 * only. The sim evidence's signed key-hash field holds SHA-256(SPKI DER) in the three key
 * modes, and SHA-256("tether-ra-nonce" || N) in ra-nonce, which binds no key at all.
 *
 * The only callers are src/tls/legacy.c (expected values at the relying party, the evidence
 * request at the attester) and tests. These functions never produce evidence.
 */
#ifndef TETHER_BINDING_LEGACY_BINDER_H
#define TETHER_BINDING_LEGACY_BINDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "binding/binder.h"

enum legacy_mode {
    LEGACY_NONE = 0,     /* tether's own relay-resistant protocol */
    LEGACY_RA_NONCE,     /* binders #1/#2: Meta Private Processing style */
    LEGACY_RA_KEY,       /* binder #4: Intel RA-TLS, Gramine, rats-tls */
    LEGACY_RA_KEY_NONCE, /* binder #6: Cocos 0.4.0-0.8.2, Edgeless Contrast */
    LEGACY_RA_EARLY_EXPORTER, /* binder #7: draft-fossati-tls-attestation-06 */
};

#define LEGACY_NONCE_LEN 32
#define LEGACY_RA_NONCE_LABEL "tether-ra-nonce"
#define LEGACY_SNI_SUFFIX ".nonce"
#define LEGACY_SNI_LEN (2 * LEGACY_NONCE_LEN + 6) /* 70 characters */
/* ra-early-exporter: TLS-Early-Exporter(LEGACY_EE_LABEL, "", LEGACY_EE_LEN), as in
 * draft-fossati-tls-attestation-06's channel_binder. */
#define LEGACY_EE_LABEL "attestation-binder"
#define LEGACY_EE_LEN 32

/* Parse a mode name ("ra-nonce", "ra-key", "ra-key-nonce", "ra-early-exporter"; NULL or
 * "tether" for LEGACY_NONE). 0 on success; -1 for an unknown name. */
int legacy_mode_parse(const char *name, enum legacy_mode *out);
const char *legacy_mode_name(enum legacy_mode m);
bool legacy_mode_has_nonce(enum legacy_mode m);
bool legacy_mode_binds_key(enum legacy_mode m);
/* The mode commits to the early exporter of the handshake's ClientHello. */
bool legacy_mode_uses_early_exporter(enum legacy_mode m);

/* The mode's values: report_data (64 bytes), the 32-byte key-hash field (hash_len 32) for the
 * evidence. spki is the certificate's DER SubjectPublicKeyInfo, byte-exact; the nonce is
 * required (LEGACY_NONCE_LEN bytes) in the nonce modes and ignored in ra-key; early_exporter
 * (LEGACY_EE_LEN bytes) is required in ra-early-exporter and ignored otherwise.
 * -1 on a missing input or an unknown mode. */
int legacy_binder_compute_ee(enum legacy_mode m, const uint8_t *spki, size_t spki_len,
                             const uint8_t *nonce, size_t nonce_len,
                             const uint8_t *early_exporter, size_t early_exporter_len,
                             struct binder *out);
/* The same without an early exporter (fails for ra-early-exporter). */
int legacy_binder_compute(enum legacy_mode m, const uint8_t *spki, size_t spki_len,
                          const uint8_t *nonce, size_t nonce_len, struct binder *out);

/* ra-early-exporter's EE from the exact bytes of the handshake's (only) ClientHello message
 * and the negotiated cipher suite's hash md. The ClientHello must parse strictly
 * (client_hello_parse), offer TLS 1.3, and carry neither pre_shared_key nor early_data (the
 * mode is defined for a full handshake without a PSK); md must be SHA-256 or SHA-384.
 * 0, or -1 with *why (a static string). */
int legacy_early_exporter(const EVP_MD *md, const uint8_t *client_hello, size_t ch_len,
                          uint8_t out[static LEGACY_EE_LEN], const char **why);

/* The server_name carrying a nonce: "<hex>.nonce" into out (LEGACY_SNI_LEN + 1 bytes). */
void legacy_sni_encode(const uint8_t nonce[static LEGACY_NONCE_LEN],
                       char out[static LEGACY_SNI_LEN + 1]);
/* Strictly parse it back (64 hex digits of either case, then ".nonce", nothing else).
 * 0 or -1. */
int legacy_sni_decode(const char *name, uint8_t nonce[static LEGACY_NONCE_LEN]);

#endif
