/*
 * lab.h - the relay lab (tether-lab, run by `tether lab`): scripted attackers against real
 * tether clients and genuine simulated TEE servers on 127.0.0.1, one cell per (scenario,
 * mode, policy) of research protocol.md section 9 (docs/attacks.md).
 *
 * This program is linked with the TEST build of the library (src/tls with
 * -DTETHER_TEST_HOOKS, src/testhooks): it holds the test-only powers (leaked keys, leaked TLS
 * secrets, the attestation oracle). None of this code or its powers may ever reach libtether or
 * the tether command; `tether lab` only execs this binary.
 *
 * Every socket has a deadline, every loop is bounded in count and time.
 */
#ifndef TETHER_LAB_H
#define TETHER_LAB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "tether.h"

#include "binding/binder.h"
#include "ea/ea.h"
#include "util/bytes.h"

#define LAB_IO_MS 3000     /* deadline of every socket read and write */
#define LAB_TLS_MS 3000    /* the clients' TLS handshake and attestation deadlines */
#define LAB_ECHO_MS 1500   /* how long a client waits for the reply to its secret */
#define LAB_MAX_LEAKS 256  /* keys a server remembers */
#define LAB_MAX_HANDLERS 32

/* ---- modes and policies (the matrix columns) ---- */
enum lab_mode {
    LAB_TETHER,
    LAB_RA_NONCE,
    LAB_RA_KEY,
    LAB_RA_KEY_NONCE,
    LAB_RA_EARLY_EXPORTER,
    LAB_N_MODES
};
enum lab_policy { LAB_DEFAULT, LAB_PLATFORM_ID, LAB_N_POLICIES };

const char *lab_mode_name(enum lab_mode m);
const char *lab_policy_name(enum lab_policy p);
int lab_mode_parse(const char *s, enum lab_mode *m);

/* ---- a growable, locked byte log ---- */
struct lab_log {
    pthread_mutex_t lock;
    uint8_t *data;
    size_t len, cap;
};
void lab_log_init(struct lab_log *l);
void lab_log_append(struct lab_log *l, const void *p, size_t n);
bool lab_log_contains(struct lab_log *l, const char *s);
void lab_log_free(struct lab_log *l);

/* ---- the genuine attesting servers (S1 = platform P1, S2 = platform P2) ---- */
struct lab_handler;
struct lab_server {
    enum lab_mode mode;
    int platform; /* 1 or 2 */
    struct tether_config *cfg;
    int listen_fd;
    uint16_t port;
    pthread_t th;
    bool running;
    pthread_mutex_t lock; /* guards stop, the leaks, connections and each handler's done flag */
    bool stop;
    EVP_PKEY *leaked[LAB_MAX_LEAKS]; /* every key the test hook handed out (up-ref'd) */
    int n_leaked;
    unsigned connections;
    struct lab_handler *handlers[LAB_MAX_HANDLERS]; /* owned by the server thread */
    struct lab_log received; /* application data received from clients (diversion check) */
    struct lab_log keylog;   /* NSS key-log lines (T-9) */
};

/* ---- the run's environment ---- */
struct lab_env {
    char dir[256];        /* temp dir, removed at the end */
    char sim[2][320];     /* S1, S2 sim directories */
    char tee[2][340];     /* "sim:" specs */
    char *policy_json[LAB_N_POLICIES];
    struct lab_server *servers[LAB_N_MODES][2];
};

int lab_env_setup(struct lab_env *env, char *err, size_t errlen);
void lab_env_cleanup(struct lab_env *env);
/* The genuine server of a mode on platform 1 or 2, started on first use. */
struct lab_server *lab_server_get(struct lab_env *env, enum lab_mode mode, int platform,
                                  char *err, size_t errlen);
/* A leaked private key matching pub (waits up to a second for the hook to fire), up-ref'd. */
EVP_PKEY *lab_server_leaked_key_for(struct lab_server *s, EVP_PKEY *pub);
int lab_server_leak_count(struct lab_server *s);
void lab_server_leaked_keys(struct lab_server *s, EVP_PKEY **out, int max, int *n);
/* A new tether config with the lab's deadlines and the mode (legacy modes through
 * tether_config_set_insecure_legacy_mode). NULL and the library's message in err on failure. */
struct tether_config *lab_config(enum lab_mode mode, char *err, size_t errlen);

/* ---- the victim: a real tether client ---- */
struct lab_client {
    /* in */
    enum lab_mode mode;
    enum lab_policy policy;
    struct tether_config *cfg; /* optional: reuse this config (T-17); else made from mode/policy */
    const char *attest_tee;    /* non-NULL: mutual attestation with this TEE (T-18) */
    /* out */
    bool accepted;             /* tether_handshake returned 0 */
    char code[64];             /* tether_error_code on failure */
    char error[384];
    char secret[40];           /* "SECRET-<hex>", sent as application data once accepted */
    bool sent;
    bool echoed;
};
/* Connect to 127.0.0.1:port, handshake, then send the secret and wait for its reply. 0 when
 * the client ran (whatever it decided), -1 on a lab failure (err). */
int lab_client_run(struct lab_env *env, uint16_t port, struct lab_client *c, char *err,
                   size_t errlen);

/* ---- sockets and raw TLS endpoints (net.c) ---- */
int lab_listen(uint16_t *port);
int lab_accept(int listen_fd, int timeout_ms);
int lab_dial(uint16_t port);
void lab_deadlines(int fd, int ms);
EVP_PKEY *lab_new_key(void);
/* A self-signed certificate for key; ext (may be NULL) is copied into it. */
X509 *lab_self_signed(EVP_PKEY *key, const char *cn, X509_EXTENSION *ext);

/* Raw TLS 1.3 server on fd (the attacker facing the client). key/cert may be NULL when a
 * certificate callback sets them; setup (may be NULL) adjusts the SSL_CTX before use. */
SSL *lab_tls_accept(int fd, EVP_PKEY *key, X509 *cert, void (*setup)(SSL_CTX *, void *),
                    void *arg);
/* Raw TLS 1.3 client on fd (the attacker facing a genuine server). sni may be NULL. */
SSL *lab_tls_connect(int fd, const char *sni);
void lab_tls_free(SSL *ssl);
int lab_read_frame(SSL *ssl, uint8_t *type, uint8_t **payload, size_t *len);
int lab_write_frame(SSL *ssl, uint8_t type, const uint8_t *payload, size_t len);
/* After the client accepted: read what it sends into log, pass it upstream (or echo it when
 * upstream is NULL) and the reply back. Bounded rounds; returns when the client closes. */
void lab_relay_data(SSL *client, SSL *upstream, struct lab_log *log);

/* A plain TCP forwarder between two sockets, recording each direction. */
struct lab_forward {
    int a, b;                 /* a: client side, b: server side */
    struct lab_log a_to_b, b_to_a;
};
void lab_forward_run(struct lab_forward *f); /* until either side closes or times out */

/* ---- Exported Authenticator forging (forge.c) ---- */
int lab_exporters(SSL *ssl, bool server_role, struct ea_exporters *x);
int lab_export(SSL *ssl, const char *label, const uint8_t *ctx, size_t ctx_len,
               uint8_t out[static BINDER_EXPORTER_LEN]);
/* A request as a tether client sends it (context random, cmw and framing offered). */
int lab_make_request(struct ea_request *req, struct bytes_writer *msg);

/* A genuine authenticator obtained from a server over an attacker's own connection. */
struct lab_genuine {
    uint8_t *auth;          /* the authenticator as received */
    size_t auth_len;
    uint8_t *cert_der;      /* its leaf */
    size_t cert_len;
    char *json;             /* its cmw_attestation payload */
    size_t json_len;
    uint8_t *evidence;      /* the evidence inside */
    size_t evidence_len;
    uint16_t sigalg;
};
/* On ssl (connected to a genuine server): send req_msg, read and validate the answer. */
int lab_genuine_exchange(SSL *ssl, const uint8_t *req_msg, size_t req_len,
                         const struct ea_request *req, struct lab_genuine *g, char *err,
                         size_t errlen);
void lab_genuine_free(struct lab_genuine *g);

/* The cmw_attestation JSON for evidence with binder fields b (label as declared). */
int lab_payload_json(const uint8_t *ev, size_t ev_len, const char *label, const struct binder *b,
                     char **json, size_t *json_len);
/* Evidence from the attestation oracle (test hook) over b->report_data. */
int lab_oracle_evidence(const char *tee_spec, const struct binder *b, uint8_t **ev,
                        size_t *ev_len, char *err, size_t errlen);
/* Certificate || CertificateVerify || Finished for an arbitrary Certificate message (the
 * attacker controls every byte of it; T-14 puts the evidence on a non-leaf entry). */
int lab_authenticator_from_certificate(const struct ea_exporters *x, const uint8_t *req_msg,
                                       size_t req_len, const uint8_t *cert_msg,
                                       size_t cert_msg_len, EVP_PKEY *key, uint16_t sigalg,
                                       struct bytes_writer *out);
/* DER SubjectPublicKeyInfo of a certificate (owned by the caller, OPENSSL_free). */
int lab_cert_spki(const uint8_t *der, size_t len, uint8_t **spki, size_t *spki_len);

/* ---- TLS 1.3 record decryption from leaked secrets (record.c, T-9) ---- */
/* Decrypt the client-to-server application records of a recorded connection with the
 * CLIENT_TRAFFIC_SECRET_0 found in keylog (NSS format); appends the plaintext to out. Returns
 * the number of records decrypted, -1 when the secret or cipher suite was not found. */
int lab_decrypt_client_records(const uint8_t *c2s, size_t c2s_len, const uint8_t *s2c,
                               size_t s2c_len, const char *keylog, size_t keylog_len,
                               struct lab_log *out, char *why, size_t whylen);
/* T-4: decrypt a server's handshake records (s2c: its ServerHello onwards) with the
 * SERVER_HANDSHAKE_TRAFFIC_SECRET of client_random from keylog; the handshake plaintext
 * (EncryptedExtensions, Certificate, ...) is appended to out and the suite to *suite. Returns
 * the number of records decrypted, -1 when the secret or the ServerHello is missing. */
int lab_decrypt_server_handshake(const uint8_t client_random[32], const uint8_t *s2c,
                                 size_t s2c_len, const char *keylog, size_t keylog_len,
                                 struct lab_log *out, uint16_t *suite, char *why, size_t whylen);

/* ---- cells ---- */
enum lab_expect {
    EXPECT_ATTACK,      /* client accepts and the attacker reads the secret */
    EXPECT_DIVERTED,    /* client accepts; its secret reached the other platform (T-10) */
    EXPECT_BLOCKED,     /* client refuses (with expect_code if given); nothing read */
    EXPECT_ACCEPTED,    /* client accepts, attacker reads nothing (controls, design checks) */
    EXPECT_NOT_RUNNABLE /* the library refuses the mode (no cell expects it any more) */
};

struct lab_cell;
struct lab_outcome {
    bool ran;              /* false: not runnable (reason) */
    bool client_accepted;
    bool attacker_read_secret;
    char code[64];         /* the victim's failure code, "" if none */
    bool check_ok;         /* the scenario's own extra condition held */
    char detail[512];      /* what happened, one line */
    char reason[384];      /* not runnable: why; lab failure: what */
    bool lab_error;        /* the lab itself failed (counts as a deviation) */
};

typedef void (*lab_scenario_fn)(struct lab_env *env, const struct lab_cell *cell,
                                struct lab_outcome *out);

struct lab_cell {
    const char *scenario;  /* "T-1" ... "T-20" */
    enum lab_mode mode;
    enum lab_policy policy;
    lab_scenario_fn run;
    enum lab_expect expect;
    const char *expect_code; /* NULL: any failure */
    bool residual;           /* the attack succeeds by design: no binding can stop it */
    const char *expected;    /* short text */
    const char *variant;     /* NULL, or the sub-case of a scenario with two (T-4) */
};

struct lab_scenario_info {
    const char *id;
    const char *title;
    const char *models; /* the deployed system or class it models */
};
const struct lab_scenario_info *lab_scenario(const char *id);
extern const struct lab_scenario_info lab_scenarios[];
extern const size_t lab_n_scenarios;
extern const struct lab_cell lab_cells[];
extern const size_t lab_n_cells;

bool lab_as_expected(const struct lab_cell *c, const struct lab_outcome *o);

/* Scenario runners (attacks_tether.c, attacks_legacy.c). */
void lab_t1_nonce_relay(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t2_key_relay(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t3_replay(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
/* T-4 against ra-early-exporter: the ClientHello relayed verbatim to S2 (byte relay), and the
 * same with S2's handshake secret leaked so that its Certificate can be read (hook). */
void lab_t4_byte_relay(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t4_clear_evidence(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t5_t6_ea_relay(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t7_byte_forward(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t8_oracle(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t9_leaked_secrets(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t10_diversion(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t11_stale_evidence(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t12_empty_expected(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t13_label_confusion(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t14_cmw_placement(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t15_authenticator_replay(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t16_data_first(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t17_tickets(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t18_reflection(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t19_weak_tls(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t20_key_reuse(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
/* The tether-mode halves of T-3 and T-8 (the legacy halves are in attacks_legacy.c). */
void lab_t3_replay_tether(struct lab_env *, const struct lab_cell *, struct lab_outcome *);
void lab_t8_oracle_tether(struct lab_env *, const struct lab_cell *, struct lab_outcome *);

/* ---- the attacker thread (attack.c) ---- */
struct lab_attacker {
    struct lab_env *env;
    const struct lab_cell *cell;
    int listen_fd;
    uint16_t port;
    pthread_t th;
    bool started;
    void (*script)(struct lab_attacker *a);
    void *arg;              /* scenario state */
    int sessions;           /* client connections the script serves (default 1) */
    struct lab_log plain;   /* everything the attacker read in plaintext from the client */
    char note[384];         /* what the attacker did or why it stopped */
};
int lab_attacker_start(struct lab_attacker *a, struct lab_env *env, const struct lab_cell *cell,
                       void (*script)(struct lab_attacker *), void *arg);
void lab_attacker_join(struct lab_attacker *a);
/* Accept the next client connection (deadline LAB_IO_MS); -1 and a note on timeout. */
int lab_attacker_accept(struct lab_attacker *a);
void lab_note(struct lab_attacker *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lab_detail(struct lab_outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lab_fail(struct lab_outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The byte-forwarding attacker (no TLS termination): lab_script_forward, a script whose arg is
 * a struct lab_forwarder, accepts the client, dials port and forwards both ways until either
 * side closes. All it sees is ciphertext: that is its plaintext log. unreachable: its note
 * when port cannot be dialled. */
struct lab_forwarder {
    uint16_t port;
    const char *unreachable;
    struct lab_forward f;
};
void lab_forwarder_init(struct lab_forwarder *fw, uint16_t port, const char *unreachable);
void lab_script_forward(struct lab_attacker *a);
void lab_forwarder_free(struct lab_forwarder *fw); /* the two recorded directions */

/* Start script on an attacker thread, run `sessions` victim clients through it one after the
 * other (inputs from tmpl, or the cell's mode and policy when tmpl is NULL), and fill the
 * outcome: accepted / read when any session was; for an expected attack, every session must
 * have succeeded; every failed session must report the same code. */
void lab_run_attack(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o,
                    void (*script)(struct lab_attacker *), void *arg, int sessions,
                    const struct lab_client *tmpl);

/* Fill the outcome's client fields from one client run and the attacker's log. */
void lab_outcome_from_client(struct lab_outcome *o, const struct lab_client *c,
                             struct lab_log *attacker_plain);

#endif
