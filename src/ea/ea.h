/*
 * ea.h - RFC 9261 Exported Authenticators and the Cocos aTLS v2 framing, sans-IO.
 *
 * Everything here works on byte buffers and on exporter values the caller obtained from its
 * own TLS connection (src/tls). Nothing here touches a socket or an SSL object. Wire format:
 * docs/protocol.md; deployed form: research cocos-ea-wire.md section 4.
 */
#ifndef TETHER_EA_H
#define TETHER_EA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "util/bytes.h"

/* ---- frames: [type u8][length u32 BE][payload] ---- */
#define EA_FRAME_HEADER_LEN 5
#define EA_FRAME_MAX_PAYLOAD (16u << 20) /* 16 MiB, exclusive of the header (Cocos protocol.go) */

enum ea_frame_type {
    EA_FRAME_REQUEST = 1,       /* AuthenticatorRequest handshake message */
    EA_FRAME_AUTHENTICATOR = 2, /* Certificate || CertificateVerify || Finished */
    EA_FRAME_DATA = 3           /* application data (tether framing only) */
};

/* Parse a 5-byte header; rejects type 0, types above EA_FRAME_DATA and oversized lengths. */
int ea_frame_header_parse(const uint8_t hdr[static EA_FRAME_HEADER_LEN], uint8_t *type,
                          uint32_t *len);
void ea_frame_header_write(uint8_t hdr[static EA_FRAME_HEADER_LEN], uint8_t type, uint32_t len);

/* ---- handshake message types and extensions ---- */
#define EA_HS_CERTIFICATE_REQUEST 13        /* the server asks the client to authenticate */
#define EA_HS_CLIENT_CERTIFICATE_REQUEST 17 /* the client asks the server (RFC 9261 4) */
#define EA_HS_CERTIFICATE 11
#define EA_HS_CERTIFICATE_VERIFY 15
#define EA_HS_FINISHED 20

#define EA_EXT_SIGNATURE_ALGORITHMS 0x000d
#define EA_EXT_CMW_ATTESTATION 0xff00 /* private-use codepoint used by Cocos */
#define EA_EXT_TETHER_FRAMING 0xff7e  /* tether: after this exchange all traffic is framed */

#define EA_SIG_ECDSA_P256_SHA256 0x0403
#define EA_SIG_ECDSA_P384_SHA384 0x0503
#define EA_SIG_RSA_PSS_RSAE_SHA256 0x0804
#define EA_SIG_ED25519 0x0807

#define EA_CONTEXT_MIN 32 /* tether requires at least 32 random bytes */
#define EA_CONTEXT_MAX 255
#define EA_MAX_SIGALGS 16

/* Stable failure codes of this layer (ea_error_code maps them to strings). */
enum ea_error {
    EA_OK = 0,
    EA_ERR_MALFORMED,           /* "ea_malformed" */
    EA_ERR_EMPTY,               /* "ea_empty_authenticator" */
    EA_ERR_CONTEXT_MISMATCH,    /* "ea_context_mismatch" */
    EA_ERR_CONTEXT_REUSED,      /* "ea_context_reused" */
    EA_ERR_UNOFFERED_EXTENSION, /* "ea_unsupported_extension" */
    EA_ERR_CMW_PLACEMENT,       /* "ea_cmw_not_on_leaf" */
    EA_ERR_CMW_MISSING,         /* "ea_cmw_missing" */
    EA_ERR_SIGALG,              /* "ea_signature_scheme_not_offered" */
    EA_ERR_CERTIFICATE,         /* "ea_bad_certificate" */
    EA_ERR_SIGNATURE,           /* "ea_bad_signature" */
    EA_ERR_FINISHED,            /* "ea_bad_finished" */
    EA_ERR_INTERNAL             /* "internal" */
};
const char *ea_error_code(enum ea_error e);

/* A parsed AuthenticatorRequest. */
struct ea_request {
    uint8_t msg_type; /* 13 or 17 */
    uint8_t context[EA_CONTEXT_MAX];
    size_t context_len;
    uint16_t sigalgs[EA_MAX_SIGALGS]; /* in the peer's order; extra entries beyond 16 dropped */
    size_t n_sigalgs;
    bool cmw_offered;     /* empty cmw_attestation extension present */
    bool framing_offered; /* empty tether_framing extension present */
};

/* Encode a request handshake message (msg_type || u24 len || body): context, then
 * signature_algorithms, then cmw_attestation (if offered), then tether_framing (if offered).
 * With only 0x0403, cmw and no framing, the bytes equal Cocos's default request. */
int ea_request_encode(const struct ea_request *req, struct bytes_writer *out);
/* Parse a request message; the whole buffer must be one message. Rejects: unknown msg_type,
 * duplicated extensions, missing signature_algorithms, non-empty cmw_attestation or
 * tether_framing data, trailing bytes. Unknown extensions are ignored (RFC 8446 4.2). */
int ea_request_parse(const uint8_t *msg, size_t len, struct ea_request *out, enum ea_error *err);

/* The exporter values an authenticator depends on, for one role (RFC 9261 5.1):
 *   hc = TLS-Exporter("EXPORTER-{server|client} authenticator handshake context", "", Hash.len)
 *   fk = TLS-Exporter("EXPORTER-{server|client} authenticator finished key", "", Hash.len)
 * md is the TLS cipher suite's hash. */
struct ea_exporters {
    const EVP_MD *md;
    size_t hash_len;
    uint8_t hc[64];
    uint8_t fk[64];
};
#define EA_LABEL_SERVER_HC "EXPORTER-server authenticator handshake context"
#define EA_LABEL_SERVER_FK "EXPORTER-server authenticator finished key"
#define EA_LABEL_CLIENT_HC "EXPORTER-client authenticator handshake context"
#define EA_LABEL_CLIENT_FK "EXPORTER-client authenticator finished key"

/* Inputs to build an authenticator. */
struct ea_authenticator_params {
    EVP_PKEY *key;           /* the leaf's private key */
    const uint8_t *cert_der; /* the leaf certificate */
    size_t cert_len;
    uint16_t sigalg;         /* must be offered by the request and fit the key */
    const uint8_t *cmw;      /* the cmw_attestation content (JSON payload), on the leaf only */
    size_t cmw_len;
    bool framing;            /* echo tether_framing (empty) on the leaf; only if offered */
};

/* Pick the first scheme offered by the request that we can sign with a fresh key:
 * 0x0403, 0x0503 or 0x0807. Returns 0 and the scheme, -1 if none. */
int ea_choose_sigalg(const struct ea_request *req, uint16_t *sigalg);

/* Build Certificate || CertificateVerify || Finished answering request_msg (the request
 * message bytes exactly as received). cmw_attestation may only be sent if offered. */
int ea_authenticator_build(const struct ea_exporters *x, const uint8_t *request_msg,
                           size_t request_len, const struct ea_request *request,
                           const struct ea_authenticator_params *params, struct bytes_writer *out,
                           enum ea_error *err);

/* A validated authenticator: pointers borrow the authenticator buffer. */
struct ea_authenticator {
    const uint8_t *cert_der; /* leaf certificate */
    size_t cert_len;
    const uint8_t *cmw;      /* cmw_attestation content, NULL if absent */
    size_t cmw_len;
    bool framing;            /* tether_framing present on the leaf */
    uint16_t sigalg;
    size_t n_certs;
    uint8_t *spki;           /* DER SubjectPublicKeyInfo of the leaf (owned) */
    size_t spki_len;
};

/* Validate an authenticator answering request_msg (RFC 9261 5.2, in this order):
 *  1. parse the three messages, nothing after them; a Finished-only (empty) authenticator is
 *     EA_ERR_EMPTY (tether always requires attestation; cocos-ea-wire.md 5.1);
 *  2. Certificate context equals the request's (EA_ERR_CONTEXT_MISMATCH);
 *  3. at least one entry; every entry extension was offered in the request
 *     (EA_ERR_UNOFFERED_EXTENSION); cmw_attestation only on the first entry
 *     (EA_ERR_CMW_PLACEMENT); present on the leaf when require_cmw (EA_ERR_CMW_MISSING);
 *  4. the leaf parses as X.509 (EA_ERR_CERTIFICATE);
 *  5. CertificateVerify scheme was offered and fits the leaf key (EA_ERR_SIGALG), signature
 *     over 0x20*64 || "Exported Authenticator" || 0x00 || Hash(HC || request || Certificate)
 *     (EA_ERR_SIGNATURE);
 *  6. Finished = HMAC(FK, Hash(HC || request || Certificate || CertificateVerify)), compared in
 *     constant time (EA_ERR_FINISHED).
 * On success fills out (free with ea_authenticator_clear). */
int ea_authenticator_validate(const struct ea_exporters *x, const uint8_t *request_msg,
                              size_t request_len, const struct ea_request *request,
                              const uint8_t *auth, size_t auth_len, bool require_cmw,
                              struct ea_authenticator *out, enum ea_error *err);
void ea_authenticator_clear(struct ea_authenticator *a);

/* ---- cmw_attestation payload (canonical JSON, cocos-ea-wire.md 4.6) ---- */
#define EA_CMW_MAX_JSON 65529 /* the payload must fit one 65 535-byte extension block */

struct ea_payload {
    int version;          /* 1 */
    char media_type[128]; /* may be empty */
    uint8_t *evidence;    /* owned */
    size_t evidence_len;
    char exporter_label[64];
    uint8_t aik_pub_hash[64];
    size_t aik_pub_hash_len;
    uint8_t binding[64];
    size_t binding_len;
};

/* Canonical form, byte-compatible with Cocos (Go encoding/json, field order version,
 * media_type, evidence, binder{exporter_label, aik_pub_hash, binding}). Caller frees *json. */
int ea_payload_encode(const struct ea_payload *p, char **json, size_t *len);
/* Strict parse: valid UTF-8 JSON object, no duplicate keys, version 1, padded standard base64,
 * evidence and binder required; unknown keys ignored. why receives a short reason. */
int ea_payload_parse(const uint8_t *json, size_t len, struct ea_payload *out, const char **why);
void ea_payload_clear(struct ea_payload *p);

#endif
