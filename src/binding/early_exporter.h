/*
 * early_exporter.h - the TLS 1.3 early exporter (RFC 8446 7.1, 7.5) computed from the bytes
 * of a ClientHello, and a strict, bounded parser of the ClientHello handshake message. Sans-IO:
 * no SSL object, no socket; only OpenSSL's digests and EVP_KDF "HKDF".
 *
 *   Early Secret                 = HKDF-Extract(salt = 0^Hash.length, IKM = PSK or 0^Hash.length)
 *   early_exporter_master_secret = Derive-Secret(Early Secret, "e exp master", ClientHello)
 *   TLS-Early-Exporter(label, context, L)
 *       = HKDF-Expand-Label(Derive-Secret(early_exporter_master_secret, label, ""),
 *                           "exporter", Hash(context), L)
 *   Derive-Secret(S, l, M) = HKDF-Expand-Label(S, l, Transcript-Hash(M), Hash.length)
 *
 * Transcript-Hash(ClientHello) is the hash of the whole ClientHello handshake message: the
 * 4-byte header (type 1, 24-bit length) and the body, byte-exact, as sent.
 *
 * WITHOUT a PSK (psk == NULL) nothing in this computation is secret: whoever has seen the
 * ClientHello, which travels in clear, computes the same value. It is a keyed hash of public
 * bytes, not a secret of the connection (research protocol.md 1.3). tether's INSECURE legacy
 * mode ra-early-exporter uses it exactly so (docs/protocol.md 15.5).
 */
#ifndef TETHER_BINDING_EARLY_EXPORTER_H
#define TETHER_BINDING_EARLY_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define CLIENT_HELLO_MAX (64 * 1024) /* bytes of a ClientHello message we look at */
#define EARLY_EXPORTER_MAX_OUT 255   /* the largest L we compute */
#define EARLY_EXPORTER_MAX_LABEL 249 /* 255 - strlen("tls13 ") */

/* TLS-Early-Exporter(label, context, out_len) over the ClientHello message ch (header
 * included). md is the cipher suite's hash (SHA-256 or SHA-384: the only TLS 1.3 hashes).
 * psk NULL: the handshake has no PSK (the IKM is Hash.length zero bytes); otherwise the PSK
 * (psk_len = Hash.length). context may be NULL with context_len 0 (in TLS 1.3 an absent and
 * an empty context give the same value). The ClientHello is only checked to be one handshake
 * message of type client_hello of its stated length (early_exporter callers that need more
 * use client_hello_parse). 0, or -1 on a bad argument or a KDF failure (out is zeroed). */
int tls13_early_exporter(const EVP_MD *md, const uint8_t *psk, size_t psk_len,
                         const uint8_t *ch, size_t ch_len, const char *label, size_t label_len,
                         const uint8_t *context, size_t context_len, uint8_t *out,
                         size_t out_len);

/* What a ClientHello says, as far as tether needs it. Pointers borrow from the input. */
struct client_hello {
    uint16_t legacy_version;
    uint8_t random[32];
    size_t session_id_len;
    size_t n_cipher_suites;
    size_t n_extensions;
    bool has_supported_versions; /* extension 43 */
    bool offers_tls13;           /* 0x0304 in supported_versions */
    bool has_key_share;          /* extension 51 */
    bool has_pre_shared_key;     /* extension 41 (must be the last one) */
    bool has_early_data;         /* extension 42 */
    const uint8_t *server_name;  /* the first host_name of extension 0, NULL if none */
    size_t server_name_len;
};

/* Strictly parse one ClientHello handshake message (RFC 8446 4.1.2): the 4-byte header with
 * the exact length, legacy_version, random, a session id of at most 32 bytes, a non-empty
 * even-length cipher suite list, compression methods, and an extensions block that fills the
 * rest exactly; every extension inside it; no extension type twice; pre_shared_key last;
 * server_name well-formed if present. At most CLIENT_HELLO_MAX bytes and 128 extensions.
 * 0 and *out filled, or -1 with *why (a static string) on anything else. */
int client_hello_parse(const uint8_t *msg, size_t len, struct client_hello *out,
                       const char **why);

#endif
