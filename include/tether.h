/*
 * tether.h - the one public header of libtether: attested TLS 1.3 that cannot be relayed.
 *
 * After an ordinary TLS 1.3 handshake the relying party sends an RFC 9261 Authenticator
 * Request; the attester answers with an Exported Authenticator whose certificate carries TEE
 * evidence in a cmw_attestation extension. The evidence's hardware-signed report_data is
 *     SHA-512(Hash(SPKI || TLS-Exporter(label, certificate_request_context, 32)))
 * with label "Attestation" when the server attests and "Attestation client" when the client
 * does
 * so it is bound to the keys of this very connection (draft-fossati-seat-expat). Application
 * data is refused by the library until the peer's evidence has been appraised.
 *
 * Conventions (libtls style):
 *  - two opaque handles: a reusable configuration (struct tether_config) and a connection
 *    (struct tether); an appraisal result (struct tether_result) is read-only;
 *  - functions return 0 on success and -1 on failure; I/O functions return a byte count,
 *    -1, or TETHER_WANT_POLLIN / TETHER_WANT_POLLOUT on non-blocking sockets;
 *  - after a failure, tether_error() / tether_config_error() return a message valid until the
 *    next call on that handle, and tether_error_category() a stable category;
 *  - whoever calls *_new or tether_client/tether_server calls the matching *_free;
 *    *_free(NULL) is a no-op; get0 accessors return borrowed pointers.
 *
 * Nothing in this API produces evidence over caller-chosen report_data: evidence is only ever
 * requested by the connection code, over the binder it computes from its own TLS exporter.
 */
#ifndef TETHER_H
#define TETHER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TETHER_BUILDING_LIBRARY)
#define TETHER_API __attribute__((visibility("default")))
#else
#define TETHER_API
#endif

#define TETHER_VERSION_STRING "0.1.0"

/* Returned by tether_handshake/tether_read/tether_write/tether_close on a non-blocking socket:
 * poll the socket for reading (POLLIN) or writing (POLLOUT) and call again with the same
 * arguments. */
#define TETHER_WANT_POLLIN (-2)
#define TETHER_WANT_POLLOUT (-3)

/* Stable error categories: callers may switch on them; the numbers never change. */
enum tether_error_category {
    TETHER_ERR_NONE = 0,
    TETHER_ERR_USAGE = 1,    /* API misuse or bad configuration */
    TETHER_ERR_IO = 2,       /* socket error, peer closed, deadline passed */
    TETHER_ERR_TLS = 3,      /* TLS handshake or record failure */
    TETHER_ERR_PROTOCOL = 4, /* malformed or unexpected frame or authenticator */
    TETHER_ERR_EVIDENCE = 5, /* evidence malformed, untrusted or badly signed */
    TETHER_ERR_BINDING = 6,  /* evidence not bound to this connection */
    TETHER_ERR_POLICY = 7,   /* evidence authentic and bound, but the policy rejects it */
    TETHER_ERR_INTERNAL = 8  /* allocation or library failure */
};

/* Who attests on a connection. */
#define TETHER_ATTEST_SERVER 0x1 /* the server attests, the client appraises (default) */
#define TETHER_ATTEST_CLIENT 0x2 /* the client attests, the server appraises */
#define TETHER_ATTEST_MUTUAL (TETHER_ATTEST_SERVER | TETHER_ATTEST_CLIENT)

struct tether_config;
struct tether;
struct tether_result;

/* ---- configuration --------------------------------------------------------------------- */
/* A configuration is set up first and then shared, read-only, by any number of connections
 * (also across threads): once a connection made from it exists, its setters fail with
 * TETHER_ERR_USAGE. Its error slot is not thread-safe: use tether_verify from one thread per
 * configuration. */

TETHER_API struct tether_config *tether_config_new(void);
TETHER_API void tether_config_free(struct tether_config *config);
TETHER_API const char *tether_config_error(struct tether_config *config);
TETHER_API enum tether_error_category tether_config_error_category(struct tether_config *config);

/* Which side(s) attest: TETHER_ATTEST_SERVER (default), _CLIENT or _MUTUAL. */
TETHER_API int tether_config_set_attest(struct tether_config *config, int who);

/* The TEE this endpoint attests with, e.g. "sim:/path/to/dir". Needed by every attesting side. */
TETHER_API int tether_config_set_tee(struct tether_config *config, const char *spec);

/* The appraisal policy (JSON, docs/policy.md) used to appraise the peer's evidence. Needed by
 * every appraising side; relative file names inside a policy file resolve against its folder. */
TETHER_API int tether_config_set_policy_file(struct tether_config *config, const char *path);
TETHER_API int tether_config_set_policy_json(struct tether_config *config, const char *json,
                                             const char *base_dir);

/* Deadlines in milliseconds for the TLS handshake and for each attestation exchange (initial
 * and re-attestation). Defaults: 10000 and 10000. 0 is refused. */
TETHER_API int tether_config_set_timeouts(struct tether_config *config, unsigned handshake_ms,
                                          unsigned attest_ms);

/* Optional TLS-layer identity (PEM files). Without it a server presents a fresh in-memory
 * self-signed certificate: the TLS certificate is not what the client trusts, the attested
 * Exported Authenticator is. */
TETHER_API int tether_config_set_keypair_file(struct tether_config *config, const char *cert_file,
                                              const char *key_file);

/* Optional Web-PKI check of the server's TLS certificate (host identity, against diversion):
 * CA bundle file; the name checked is the one given to tether_connect_fd. */
TETHER_API int tether_config_set_ca_file(struct tether_config *config, const char *ca_file);

/* Talk to a deployed Cocos aTLS v2 server (client side only): send exactly Cocos's request and
 * read exactly one authenticator, after which the stream carries raw application data and
 * re-attestation is impossible. A tether server detects Cocos clients by itself. */
TETHER_API int tether_config_set_cocos_compat(struct tether_config *config, int enable);

/* INSECURE legacy binding modes, for interoperability with deployed attested TLS and for the
 * relay lab only (docs/attacks.md). In each of them the evidence travels inside the TLS
 * handshake (in the server certificate) and is NOT bound to this connection's keys: a relay
 * or replay attacker can present it. Names:
 *   "ra-nonce"      evidence over a client nonce only (Meta Private Processing; binders #1/#2)
 *   "ra-key"        pre-handshake RA-TLS: evidence over Hash(SPKI), one key per configuration
 *                   (Intel RA-TLS, Gramine, rats-tls; binder #4)
 *   "ra-key-nonce"  SHA-512(SPKI || nonce), nonce in the ClientHello (Cocos 0.4.0-0.8.2,
 *                   Contrast; binder #6)
 *   "ra-early-exporter"  SHA-512(nonce || EE || SPKI), EE = the RFC 8446 early exporter of
 *                   the ClientHello without a PSK, computed from the ClientHello's bytes
 *                   (draft-fossati-tls-attestation-06; binder #7). EE has no secret input:
 *                   anyone who sees the ClientHello computes it. TLS 1.3 suites with SHA-256
 *                   or SHA-384; a HelloRetryRequest fails the handshake.
 * NULL or "tether" restores the default, relay-resistant mode. Both ends must use the same.
 * Only a server attesting to an appraising client, with a "sim:" TEE; no CA file, keypair file
 * or Cocos compatibility; after the handshake the stream carries raw application data and
 * re-attestation is impossible (docs/protocol.md section 15). */
TETHER_API int tether_config_set_insecure_legacy_mode(struct tether_config *config,
                                                      const char *mode);

/* ---- connections ----------------------------------------------------------------------- */

TETHER_API struct tether *tether_client(struct tether_config *config);
TETHER_API struct tether *tether_server(struct tether_config *config);
TETHER_API void tether_free(struct tether *ctx);

/* Attach a connected socket (blocking or non-blocking); the caller keeps ownership of fd.
 * servername may be NULL; it is sent as SNI and checked when a CA file is configured. */
TETHER_API int tether_connect_fd(struct tether *ctx, int fd, const char *servername);
TETHER_API int tether_accept_fd(struct tether *ctx, int fd);

/* Run the TLS handshake and the attestation exchange. 0 when the peer's evidence has been
 * appraised and passed (and our own authenticator, if we attest, has been sent).
 * Blocking sockets: returns 0 or -1, bounded by the configured deadlines.
 * Non-blocking: may return TETHER_WANT_POLLIN/POLLOUT; the deadlines still apply. */
TETHER_API int tether_handshake(struct tether *ctx);

/* Application data. Fail with TETHER_ERR_PROTOCOL until tether_handshake() has returned 0.
 * Non-blocking callers: data may already sit inside the library (TLS read-ahead, several frames
 * in one record), so after tether_handshake returns 0 and after each successful tether_read,
 * keep calling tether_read until it returns TETHER_WANT_POLLIN before waiting on the socket.
 * tether_read returns 0 at the peer's orderly close. Re-attestation requests from the peer are
 * answered inside these calls. */
TETHER_API ssize_t tether_read(struct tether *ctx, void *buf, size_t len);
TETHER_API ssize_t tether_write(struct tether *ctx, const void *buf, size_t len);

/* Ask the peer for fresh evidence over the live connection (new context, new binder). The
 * answer is processed inside later tether_read or tether_reattest_poll calls (tether_write
 * only enforces the deadline); a failed or late re-attestation fails the connection. Needs a
 * tether peer (not Cocos compat). */
TETHER_API int tether_reattest(struct tether *ctx);
/* Drive an outstanding re-attestation to completion (blocking) or one step (non-blocking):
 * 0 when none is outstanding any more, -1 on failure, TETHER_WANT_* otherwise. */
TETHER_API int tether_reattest_poll(struct tether *ctx);
/* Number of successful appraisals of the peer on this connection (1 after the handshake). */
TETHER_API unsigned tether_attestation_count(struct tether *ctx);

TETHER_API int tether_close(struct tether *ctx);

TETHER_API const char *tether_error(struct tether *ctx);
TETHER_API enum tether_error_category tether_error_category(struct tether *ctx);
/* Stable code of the first failed check (e.g. "binder_mismatch") or NULL. */
TETHER_API const char *tether_error_code(struct tether *ctx);

/* Latest appraisal of the peer's evidence (borrowed; NULL before the first one). Also set
 * when the appraisal failed, so the caller can see which check failed. */
TETHER_API const struct tether_result *tether_peer_result(struct tether *ctx);

/* TLS details of the live connection, for reports: e.g. "TLSv1.3", "TLS_AES_256_GCM_SHA384". */
TETHER_API const char *tether_conn_version(struct tether *ctx);
TETHER_API const char *tether_conn_cipher(struct tether *ctx);
/* Bytes written and read on the socket so far (TLS records included). */
TETHER_API int tether_conn_bytes(struct tether *ctx, uint64_t *sent, uint64_t *received);

/* ---- appraisal results ----------------------------------------------------------------- */

/* 1 for a passing verdict, 0 otherwise. */
TETHER_API int tether_result_passed(const struct tether_result *result);
/* The report as JSON: {"verdict":"pass"|"fail","tee":...,"simulated":...,"claims":{...},
 * "checks":[{"name","status","code","expected","actual","detail"}]} (docs/policy.md). Borrowed.
 * The first call serialises the report: do not make the first call from two threads at once. */
TETHER_API const char *tether_result_json(const struct tether_result *result);
/* Stable code of the first failed check, or NULL for a pass. Borrowed. */
TETHER_API const char *tether_result_failed_code(const struct tether_result *result);
TETHER_API const char *tether_result_failed_check(const struct tether_result *result);
TETHER_API void tether_result_free(struct tether_result *result);

/* ---- offline verification -------------------------------------------------------------- */

struct tether_verify_params {
    const uint8_t *evidence; /* the evidence blob (or a cmw_attestation JSON payload) */
    size_t evidence_len;
    const char *type;        /* NULL: recognise from the content; else "sim", ... */
    const uint8_t *binder;   /* NULL: binding check skipped; 64 bytes: expected report_data;
                                32 or 48 bytes: binding, expected report_data = SHA-512(it) */
    size_t binder_len;
    time_t at;               /* time of verification; 0 = now */
    const char *const *collateral; /* NULL-terminated list of files or folders, may be NULL */
};

/* Verify evidence offline: authenticity always; the binding when a binder is given; the policy
 * of config when one is set (else appraisal checks are reported as skipped and the verdict
 * covers authenticity and binding only). Returns a result (pass or fail) or NULL with the
 * error on config for usage and internal failures. */
TETHER_API struct tether_result *tether_verify(struct tether_config *config,
                                               const struct tether_verify_params *params);

/* ---- probing an endpoint --------------------------------------------------------------- */

/* Look at an attested-TLS endpoint from outside (addr "HOST:PORT" or "[v6]:PORT") and report
 * what can be observed: TLS version, the certificate (extensions with known attestation OIDs,
 * validity, key), nonces in SNI/ALPN, whether it answers an Exported Authenticator request and
 * whether that evidence is bound to the connection's exporter; then the binder class and the
 * attacks (replay, relay, diversion) it is open to, with reasons. Makes up to five sequential
 * connections, each step bounded by timeout_ms (0: 3000). servername (may be NULL) is the SNI
 * of the first connection. No policy and no trust anchors: evidence authenticity is NOT
 * checked; the probe describes the binding, it does not appraise. On success *report_json is
 * a JSON object (docs/probe.md) to be freed with free(). Returns 0 when the probe ran, whatever
 * it found; otherwise minus an error category (-TETHER_ERR_USAGE, -TETHER_ERR_IO: cannot
 * resolve or connect, -TETHER_ERR_TLS: no TLS handshake succeeded, -TETHER_ERR_INTERNAL),
 * with a message in errbuf. */
TETHER_API int tether_probe(const char *addr, const char *servername, unsigned timeout_ms,
                            char **report_json, char *errbuf, size_t errlen);

/* ---- simulated TEE --------------------------------------------------------------------- */

struct tether_sim_params {
    const char *measurement_hex; /* 48 bytes in hex; NULL: random */
    const char *platform_id_hex; /* exactly 16 bytes in hex; NULL: random */
    uint32_t tcb_version;        /* 0: 1 */
    int debug;                   /* the simulated TEE claims a debug build */
    const char *root_from_dir;   /* NULL: new sim root; else reuse the root of that sim dir */
};

/* Provision a simulated TEE in dir (created if needed): sim root CA, attestation key and its
 * certificate, sim.json and policy.json (a policy accepting exactly this simulated TEE).
 * errbuf receives a message on failure. Keys are written with mode 0600. */
TETHER_API int tether_sim_provision(const char *dir, const struct tether_sim_params *params,
                                    char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* TETHER_H */
