/*
 * test_legacy.c - the INSECURE legacy binding modes (docs/protocol.md "Legacy modes") on
 * loopback: genuine connections in each mode, clean failures across modes, and the relay and
 * replay attacks of research protocol.md 9.2 T-1, T-2, T-3 (and T-8, the oracle), which
 * SUCCEED against these modes on purpose: the tests named "..._is_relayed_..." or
 * "..._is_replayed_..." assert that the attacker reads the client's secret.
 *
 * The attacker A is raw OpenSSL in this thread: a TLS server towards the victim client C
 * whose certificate callback, holding C's ClientHello, reaches the genuine server S2 (a tether
 * server in a thread, sim TEE "b", another platform of the same vendor) with C's nonce. Its
 * powers come from the test-hook build: S2's leaked TLS key (tether_test_set_leak_key) and the
 * attestation oracle (tether_test_oracle_evidence). None of them exists in libtether.
 * ra-early-exporter is covered for its own failure modes (HelloRetryRequest, a relay that
 * opens its own handshake); the relay that forwards C's ClientHello verbatim is T-4 in the
 * lab (tools/lab/attacks_legacy.c).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "binding/legacy_binder.h"
#include "binding/ratls_ext.h"
#include "lib/harness.h"
#include "testhooks/testhooks.h"
#include "tls/legacy.h"
#include "util/util.h"

static struct sim_env env;

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* the raw OpenSSL attacker writes to sockets its peers close */
    return sim_env_setup(&env);
}

static int teardown(void **state)
{
    (void)state;
    sim_env_cleanup(&env);
    return 0;
}

static void set_timeouts(int fd, int seconds)
{
    struct timeval tv = {.tv_sec = seconds};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static struct tether_config *legacy_server(const char *simdir, const char *mode)
{
    struct tether_config *c = server_config(simdir, TETHER_ATTEST_SERVER, NULL);
    assert_non_null(c);
    if (mode && tether_config_set_insecure_legacy_mode(c, mode) != 0)
        fail_msg("server mode %s: %s", mode, tether_config_error(c));
    return c;
}

static struct tether_config *legacy_client(const char *policy, const char *mode)
{
    struct tether_config *c = client_config(policy, NULL, TETHER_ATTEST_SERVER);
    assert_non_null(c);
    if (mode && tether_config_set_insecure_legacy_mode(c, mode) != 0)
        fail_msg("client mode %s: %s", mode, tether_config_error(c));
    return c;
}

/* ---- leaked keys (tether_test_set_leak_key) ---- */
struct leak {
    pthread_mutex_t mu;
    EVP_PKEY *keys[8];
    int n;
};

static void leak_cb(void *arg, EVP_PKEY *key)
{
    struct leak *l = arg;
    pthread_mutex_lock(&l->mu);
    if (l->n < 8 && EVP_PKEY_up_ref(key))
        l->keys[l->n++] = key;
    pthread_mutex_unlock(&l->mu);
}

static EVP_PKEY *leak_last(struct leak *l)
{
    pthread_mutex_lock(&l->mu);
    EVP_PKEY *k = l->n ? l->keys[l->n - 1] : NULL;
    if (k)
        EVP_PKEY_up_ref(k);
    pthread_mutex_unlock(&l->mu);
    return k;
}

static void leak_free(struct leak *l)
{
    for (int i = 0; i < l->n; i++)
        EVP_PKEY_free(l->keys[i]);
    l->n = 0;
}

/* ---- the victim: a tether client that sends a secret once it has accepted ---- */
struct victim {
    pthread_t th;
    struct tether_config *cfg;
    int fd;
    int rc;             /* 0: accepted (handshake returned 0) */
    char code[64];
    int category;
    char err[512];
    char secret[40];
    char reply[64];
    char result_json[8192];
};

static void *victim_main(void *arg)
{
    struct victim *v = arg;
    struct tether *t = tether_client(v->cfg);
    v->rc = -1;
    set_timeouts(v->fd, 5);
    int r = tether_connect_fd(t, v->fd, "genuine.example");
    if (r == 0)
        r = tether_handshake(t);
    v->rc = r;
    if (r == 0) {
        size_t n = strlen(v->secret);
        if (tether_write(t, v->secret, n) == (ssize_t)n) {
            ssize_t got = tether_read(t, v->reply, sizeof v->reply - 1);
            if (got > 0)
                v->reply[got] = '\0';
        }
    } else {
        snprintf(v->err, sizeof v->err, "%s", tether_error(t) ? tether_error(t) : "");
        snprintf(v->code, sizeof v->code, "%s", tether_error_code(t) ? tether_error_code(t) : "");
        v->category = tether_error_category(t);
    }
    const struct tether_result *res = tether_peer_result(t);
    if (res)
        snprintf(v->result_json, sizeof v->result_json, "%s", tether_result_json(res));
    tether_close(t);
    shutdown(v->fd, SHUT_RDWR);
    tether_free(t);
    return NULL;
}

static void victim_start(struct victim *v, struct tether_config *cfg, int fd)
{
    memset(v, 0, sizeof *v);
    v->cfg = cfg;
    v->fd = fd;
    uint8_t r[12];
    RAND_bytes(r, sizeof r);
    char hex[25];
    hex_encode(r, sizeof r, hex);
    snprintf(v->secret, sizeof v->secret, "SECRET-%s", hex);
    pthread_create(&v->th, NULL, victim_main, v);
}

static void victim_join(struct victim *v)
{
    pthread_join(v->th, NULL);
}

/* ---- genuine connections ---- */

struct genuine {
    int rc_client, rc_server;
    char client_code[64], server_code[64];
    int client_category, server_category;
    char json[8192];
    char reply[64], secret[40];
    unsigned count;
    int reattest_rc;
};

static void run_genuine(struct tether_config *scfg, struct tether_config *ccfg,
                        void (*leak)(void *, EVP_PKEY *), void *leak_arg, struct genuine *g)
{
    memset(g, 0, sizeof *g);
    int fds[2];
    socket_pair(fds);
    set_timeouts(fds[1], 5);
    struct endpoint sv = {.cfg = scfg, .fd = fds[1], .server = true, .echo = true,
                          .leak_key = leak, .leak_arg = leak_arg};
    endpoint_start(&sv);
    struct victim v;
    victim_start(&v, ccfg, fds[0]);
    victim_join(&v);
    endpoint_join(&sv);
    g->rc_client = v.rc;
    g->rc_server = sv.rc;
    snprintf(g->client_code, sizeof g->client_code, "%s", v.code);
    snprintf(g->server_code, sizeof g->server_code, "%s", sv.code);
    g->client_category = v.category;
    g->server_category = sv.category;
    snprintf(g->json, sizeof g->json, "%s", v.result_json);
    snprintf(g->reply, sizeof g->reply, "%s", v.reply);
    snprintf(g->secret, sizeof g->secret, "%s", v.secret);
    close(fds[0]);
    close(fds[1]);
}

static void each_legacy_mode_attests_and_its_report_names_the_mode(void **state)
{
    (void)state;
    static const char *const modes[] = {"ra-nonce", "ra-key", "ra-key-nonce",
                                        "ra-early-exporter"};
    for (size_t i = 0; i < 4; i++) {
        struct tether_config *s = legacy_server(env.a, modes[i]);
        struct tether_config *c = legacy_client(env.policy_a, modes[i]);
        struct genuine g;
        run_genuine(s, c, NULL, NULL, &g);
        if (g.rc_client != 0)
            fprintf(stderr, "# %s: client %s, server %s\n", modes[i], g.client_code, g.server_code);
        assert_int_equal(g.rc_client, 0);
        assert_int_equal(g.rc_server, 0);
        assert_string_equal(g.reply, g.secret); /* raw application data, echoed */
        assert_non_null(strstr(g.json, "\"verdict\":\"pass\""));
        assert_non_null(strstr(g.json, "\"name\":\"legacy.mode\""));
        char want[64];
        snprintf(want, sizeof want, "\"actual\":\"%s\"", modes[i]);
        assert_non_null(strstr(g.json, want));
        assert_non_null(strstr(g.json, "INSECURE legacy binding"));
        assert_non_null(strstr(g.json, "\"name\":\"binding.report_data\",\"status\":\"pass\""));
        assert_non_null(strstr(g.json, "\"name\":\"legacy.claims\",\"status\":\"pass\""));
        /* ra-early-exporter: the client's early exporter of its own ClientHello matched the
         * one the server computed from the bytes it received */
        bool ee = strcmp(modes[i], "ra-early-exporter") == 0;
        assert_int_equal(
            strstr(g.json, "\"name\":\"legacy.early_exporter\",\"status\":\"pass\"") != NULL,
            ee);
        tether_config_free(s);
        tether_config_free(c);
    }
}

static void legacy_connection_carries_raw_data_and_cannot_reattest(void **state)
{
    (void)state;
    struct tether_config *s = legacy_server(env.a, "ra-key-nonce");
    struct tether_config *c = legacy_client(env.policy_a, "ra-key-nonce");
    int fds[2];
    socket_pair(fds);
    struct endpoint sv = {.cfg = s, .fd = fds[1], .server = true, .echo = true};
    endpoint_start(&sv);
    struct tether *t = tether_client(c);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    assert_int_equal(tether_handshake(t), 0);
    assert_int_equal(tether_attestation_count(t), 1);
    assert_int_equal(tether_reattest(t), -1);
    assert_int_equal(tether_error_category(t), TETHER_ERR_USAGE);
    /* the usage error does not fail the connection: data still flows, unframed */
    assert_int_equal(tether_write(t, "ping", 4), 4);
    char buf[8] = "";
    assert_int_equal(tether_read(t, buf, sizeof buf), 4);
    assert_memory_equal(buf, "ping", 4);
    tether_close(t);
    tether_free(t);
    assert_int_equal(endpoint_join(&sv), 0);
    close(fds[0]);
    close(fds[1]);
    tether_config_free(s);
    tether_config_free(c);
}

static void ra_key_reuses_one_tls_key_while_nonce_modes_make_one_per_handshake(void **state)
{
    (void)state;
    static const char *const modes[] = {"ra-key", "ra-key-nonce", "ra-nonce"};
    for (size_t i = 0; i < 3; i++) {
        struct tether_config *s = legacy_server(env.a, modes[i]);
        struct tether_config *c = legacy_client(env.policy_a, modes[i]);
        struct leak l = {.mu = PTHREAD_MUTEX_INITIALIZER};
        struct genuine g;
        run_genuine(s, c, leak_cb, &l, &g);
        assert_int_equal(g.rc_client, 0);
        run_genuine(s, c, leak_cb, &l, &g);
        assert_int_equal(g.rc_client, 0);
        /* the test hook leaks the TLS certificate key of each handshake */
        assert_int_equal(l.n, 2);
        int same = EVP_PKEY_eq(l.keys[0], l.keys[1]);
        if (i == 0)
            assert_int_equal(same, 1); /* RA-TLS: one key per process */
        else
            assert_int_not_equal(same, 1);
        leak_free(&l);
        tether_config_free(s);
        tether_config_free(c);
    }
}

/* ---- mode mismatches fail cleanly ---- */

static void tether_client_refuses_a_legacy_server_with_a_clear_code(void **state)
{
    (void)state;
    struct tether_config *c = legacy_client(env.policy_a, NULL);
    /* ra-key: no nonce needed, the TLS handshake completes, the certificate gives it away */
    struct tether_config *s = legacy_server(env.a, "ra-key");
    struct genuine g;
    run_genuine(s, c, NULL, NULL, &g);
    assert_int_not_equal(g.rc_client, 0);
    assert_string_equal(g.client_code, "legacy_peer");
    assert_int_equal(g.client_category, TETHER_ERR_PROTOCOL);
    tether_config_free(s);
    /* ra-nonce: the server refuses a ClientHello without a nonce (unrecognized_name) */
    s = legacy_server(env.a, "ra-nonce");
    run_genuine(s, c, NULL, NULL, &g);
    assert_int_not_equal(g.rc_server, 0);
    assert_string_equal(g.server_code, "legacy_nonce_missing");
    assert_int_equal(g.server_category, TETHER_ERR_PROTOCOL);
    assert_int_not_equal(g.rc_client, 0);
    assert_int_equal(g.client_category, TETHER_ERR_TLS);
    tether_config_free(s);
    tether_config_free(c);
}

static void legacy_client_refuses_a_tether_server_with_a_clear_code(void **state)
{
    (void)state;
    struct tether_config *s = legacy_server(env.a, NULL);
    static const char *const modes[] = {"ra-nonce", "ra-key", "ra-key-nonce",
                                        "ra-early-exporter"};
    for (size_t i = 0; i < 4; i++) {
        struct tether_config *c = legacy_client(env.policy_a, modes[i]);
        struct genuine g;
        run_genuine(s, c, NULL, NULL, &g);
        assert_int_not_equal(g.rc_client, 0);
        assert_string_equal(g.client_code, "ratls_extension_missing");
        assert_int_equal(g.client_category, TETHER_ERR_PROTOCOL);
        assert_int_not_equal(g.rc_server, 0); /* the tether server never got its request */
        tether_config_free(c);
    }
    tether_config_free(s);
}

static void mismatched_legacy_modes_fail_on_binder_mismatch(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"ra-nonce", "ra-key-nonce"},          {"ra-key-nonce", "ra-nonce"},
        {"ra-key-nonce", "ra-key"},            {"ra-early-exporter", "ra-key-nonce"},
        {"ra-key-nonce", "ra-early-exporter"}};
    for (size_t i = 0; i < 5; i++) {
        struct tether_config *c = legacy_client(env.policy_a, pairs[i][0]);
        struct tether_config *s = legacy_server(env.a, pairs[i][1]);
        struct genuine g;
        run_genuine(s, c, NULL, NULL, &g);
        assert_int_not_equal(g.rc_client, 0);
        assert_string_equal(g.client_code, "binder_mismatch");
        assert_int_equal(g.client_category, TETHER_ERR_BINDING);
        tether_config_free(c);
        tether_config_free(s);
    }
}

static void legacy_modes_are_opt_in_and_refuse_what_they_cannot_do(void **state)
{
    (void)state;
    struct tether_config *c = tether_config_new();
    /* every mode by its exact name only; an unknown name lists them */
    assert_int_equal(tether_config_set_insecure_legacy_mode(c, "ra-early-exporter"), 0);
    assert_int_equal(tether_config_set_insecure_legacy_mode(c, "RA-EARLY-EXPORTER"), -1);
    assert_int_equal(tether_config_error_category(c), TETHER_ERR_USAGE);
    assert_non_null(strstr(tether_config_error(c), "ra-early-exporter"));
    assert_int_equal(tether_config_set_insecure_legacy_mode(c, "ra-tls"), -1);
    assert_int_equal(tether_config_error_category(c), TETHER_ERR_USAGE);
    assert_int_equal(tether_config_set_insecure_legacy_mode(c, "tether"), 0);
    assert_int_equal(tether_config_set_insecure_legacy_mode(c, NULL), 0);
    assert_int_equal(tether_config_set_insecure_legacy_mode(NULL, "ra-key"), -1);
    tether_config_free(c);

    int fds[2];
    socket_pair(fds);
    /* mutual attestation */
    c = client_config(env.policy_a, env.a, TETHER_ATTEST_MUTUAL);
    assert_int_equal(tether_config_set_insecure_legacy_mode(c, "ra-key-nonce"), 0);
    struct tether *t = tether_client(c);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), -1);
    assert_int_equal(tether_error_category(t), TETHER_ERR_USAGE);
    tether_free(t);
    tether_config_free(c);
    /* a CA file on the client */
    c = legacy_client(env.policy_a, "ra-nonce");
    char ca[400];
    snprintf(ca, sizeof ca, "%s/root.crt", env.a);
    assert_int_equal(tether_config_set_ca_file(c, ca), 0);
    t = tether_client(c);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), -1);
    assert_int_equal(tether_error_category(t), TETHER_ERR_USAGE);
    tether_free(t);
    tether_config_free(c);
    /* Cocos compatibility */
    c = legacy_client(env.policy_a, "ra-key");
    assert_int_equal(tether_config_set_cocos_compat(c, 1), 0);
    t = tether_client(c);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), -1);
    assert_int_equal(tether_error_category(t), TETHER_ERR_USAGE);
    tether_free(t);
    tether_config_free(c);
    /* a TLS keypair file on the server */
    c = legacy_server(env.a, "ra-key-nonce");
    char crt[400], key[400];
    snprintf(crt, sizeof crt, "%s/ak.crt", env.a);
    snprintf(key, sizeof key, "%s/ak.key", env.a);
    assert_int_equal(tether_config_set_keypair_file(c, crt, key), 0);
    t = tether_server(c);
    assert_int_equal(tether_accept_fd(t, fds[1]), -1);
    assert_int_equal(tether_error_category(t), TETHER_ERR_USAGE);
    tether_free(t);
    tether_config_free(c);
    close(fds[0]);
    close(fds[1]);
}

/* ---- the attacker ---- */

enum attack_kind {
    RELAY_OWN_KEY,    /* T-1 / T-2 without the leak: S2's extension in A's own certificate */
    RELAY_LEAKED_KEY, /* T-2: S2's certificate, signed for with S2's leaked TLS key */
    REPLAY,           /* T-3: a certificate and key captured earlier, no S2 contact */
    ORACLE,           /* T-8: A's own key, evidence from the oracle over its report_data */
};

struct attacker {
    enum attack_kind kind;
    const char *mode;          /* S2's legacy mode */
    struct tether_config *s2;  /* S2's configuration (ra-key: shared across sessions) */
    X509 *replay_cert;         /* REPLAY */
    EVP_PKEY *replay_key;
    /* results */
    bool s2_reached;
    X509 *s2_cert;             /* S2's certificate as A received it (up-ref'd) */
    EVP_PKEY *s2_key;          /* S2's leaked key */
    char read[128];            /* plaintext A read from C */
    char why[256];             /* a lab failure */
};

/* A's TLS client towards S2, sending C's server_name. */
static SSL *dial_s2(int fd, const char *sni, SSL_CTX **out)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    SSL *s = SSL_new(c);
    SSL_set_fd(s, fd);
    if (sni)
        SSL_set_tlsext_host_name(s, sni);
    if (SSL_connect(s) != 1) {
        ERR_print_errors_fp(stderr);
        SSL_free(s);
        SSL_CTX_free(c);
        return NULL;
    }
    *out = c;
    return s;
}

/* Contact the genuine S2 with C's server name; keep its certificate and leaked key. */
static int reach_s2(struct attacker *a, const char *sni)
{
    int fds[2];
    socket_pair(fds);
    set_timeouts(fds[0], 5);
    set_timeouts(fds[1], 5);
    struct leak l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct endpoint s2 = {.cfg = a->s2, .fd = fds[1], .server = true, .leak_key = leak_cb,
                          .leak_arg = &l};
    endpoint_start(&s2);
    SSL_CTX *cctx = NULL;
    SSL *ssl = dial_s2(fds[0], sni, &cctx);
    if (ssl) {
        a->s2_cert = SSL_get1_peer_certificate(ssl);
        SSL_shutdown(ssl);
        SSL_free(ssl);
        SSL_CTX_free(cctx);
    }
    shutdown(fds[0], SHUT_RDWR);
    endpoint_join(&s2);
    a->s2_key = leak_last(&l);
    leak_free(&l);
    close(fds[0]);
    close(fds[1]);
    a->s2_reached = a->s2_cert && a->s2_key && X509_check_private_key(a->s2_cert, a->s2_key) == 1;
    if (!a->s2_reached)
        snprintf(a->why, sizeof a->why, "could not reach S2 (%s)", s2.code);
    return a->s2_reached ? 0 : -1;
}

/* A's own certificate carrying ext (S2's extension, or one A built). */
static X509 *own_cert(EVP_PKEY *key, const X509 *donor)
{
    const uint8_t *v;
    size_t n;
    if (legacy_cert_extension(donor, &v, &n) != 0)
        return NULL;
    return legacy_cert_with_extension(key, v, n);
}

/* T-8: evidence over the report_data of A's own key and C's nonce, from the oracle. */
static X509 *oracle_cert(EVP_PKEY *key, const char *mode, const uint8_t *nonce)
{
    enum legacy_mode m;
    if (legacy_mode_parse(mode, &m) != 0)
        return NULL;
    uint8_t *spki = NULL;
    int spki_len = i2d_PUBKEY(key, &spki);
    struct binder b;
    uint8_t *ev = NULL;
    size_t ev_len = 0;
    char err[256], spec[400];
    snprintf(spec, sizeof spec, "sim:%s", env.b);
    X509 *x = NULL;
    struct bytes_writer w;
    writer_init(&w, RATLS_EXT_MAX);
    if (spki_len > 0 &&
        legacy_binder_compute(m, spki, (size_t)spki_len, nonce, LEGACY_NONCE_LEN, &b) == 0 &&
        tether_test_oracle_evidence(spec, b.report_data, b.aik_pub_hash, b.hash_len, &ev, &ev_len,
                                    err, sizeof err) == 0) {
        struct ratls_claims c = {.has_pubkey_hash = true, .hash_alg = RATLS_HASH_SHA256,
                                 .pubkey_hash_len = 32, .has_nonce = true,
                                 .nonce_len = LEGACY_NONCE_LEN};
        unsigned int dl;
        EVP_Digest(spki, (size_t)spki_len, c.pubkey_hash, &dl, EVP_sha256(), NULL);
        memcpy(c.nonce, nonce, LEGACY_NONCE_LEN);
        if (ratls_ext_encode(RATLS_TAG_TETHER_SIM, ev, ev_len, &c, &w) == 0)
            x = legacy_cert_with_extension(key, w.data, w.len);
    }
    writer_free(&w);
    free(ev);
    OPENSSL_free(spki);
    return x;
}

/* A's certificate callback on its server SSL towards C: it runs with C's ClientHello in hand. */
static int attacker_cert_cb(SSL *ssl, void *arg)
{
    struct attacker *a = arg;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    switch (a->kind) {
    case REPLAY:
        key = a->replay_key;
        cert = a->replay_cert;
        EVP_PKEY_up_ref(key);
        X509_up_ref(cert);
        break;
    case ORACLE: {
        uint8_t nonce[LEGACY_NONCE_LEN];
        if (legacy_sni_decode(sni, nonce) != 0)
            return 0;
        key = EVP_EC_gen("P-256");
        cert = oracle_cert(key, a->mode, nonce);
        break;
    }
    case RELAY_OWN_KEY:
    case RELAY_LEAKED_KEY:
        if (reach_s2(a, sni) != 0)
            return 0;
        if (a->kind == RELAY_LEAKED_KEY) {
            key = a->s2_key;
            cert = a->s2_cert;
            EVP_PKEY_up_ref(key);
            X509_up_ref(cert);
        } else {
            key = EVP_EC_gen("P-256");
            cert = own_cert(key, a->s2_cert);
        }
        break;
    }
    int ok = key && cert && SSL_use_certificate(ssl, cert) == 1 &&
             SSL_use_PrivateKey(ssl, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok;
}

/* Run one session: C (legacy client, policy accepting S2's platform) against A. */
static void run_attack(struct attacker *a, const char *client_mode, struct victim *v)
{
    int fds[2];
    socket_pair(fds);
    set_timeouts(fds[1], 5);
    struct tether_config *ccfg = legacy_client(env.policy_any, client_mode);
    victim_start(v, ccfg, fds[0]);
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
    SSL_CTX_set_num_tickets(sctx, 0);
    SSL_CTX_set_cert_cb(sctx, attacker_cert_cb, a);
    SSL *ssl = SSL_new(sctx);
    SSL_set_fd(ssl, fds[1]);
    if (SSL_accept(ssl) == 1) {
        /* C accepted or refused after the handshake; if it accepted, its secret arrives. */
        int n = SSL_read(ssl, a->read, sizeof a->read - 1);
        if (n > 0) {
            a->read[n] = '\0';
            SSL_write(ssl, a->read, n); /* echo, so that C notices nothing */
        }
    }
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(sctx);
    shutdown(fds[1], SHUT_RDWR);
    victim_join(v);
    close(fds[0]);
    close(fds[1]);
    tether_config_free(ccfg);
}

static void attacker_clear(struct attacker *a)
{
    X509_free(a->s2_cert);
    EVP_PKEY_free(a->s2_key);
    a->s2_cert = NULL;
    a->s2_key = NULL;
    a->read[0] = '\0';
}

static void assert_attack_succeeded(const struct attacker *a, const struct victim *v)
{
    if (v->rc != 0)
        fprintf(stderr, "# victim refused: %s (%s) %s\n", v->code, v->err, a->why);
    assert_int_equal(v->rc, 0);                 /* C reports "attested" ... */
    assert_string_equal(a->read, v->secret);    /* ... and A reads C's secret */
    assert_string_equal(v->reply, v->secret);   /* C noticed nothing */
}

static void assert_attack_blocked(const struct attacker *a, const struct victim *v,
                                  const char *code, int category)
{
    if (v->rc == 0 || strcmp(v->code, code) != 0)
        fprintf(stderr, "# expected %s, got rc=%d code=%s err=%s\n", code, v->rc, v->code, v->err);
    assert_int_not_equal(v->rc, 0);
    assert_string_equal(v->code, code);
    assert_int_equal(v->category, category);
    assert_string_equal(a->read, ""); /* nothing reached A */
}

/* T-1 (binders #1/#2): C's nonce forwarded to S2, S2's evidence presented with A's OWN key. */
static void nonce_only_binding_is_relayed_without_any_key(void **state)
{
    (void)state;
    struct attacker a = {.kind = RELAY_OWN_KEY, .mode = "ra-nonce"};
    a.s2 = legacy_server(env.b, a.mode);
    struct victim v;
    run_attack(&a, "ra-nonce", &v);
    assert_true(a.s2_reached);
    assert_attack_succeeded(&a, &v);
    /* the report shows what was (not) checked */
    assert_non_null(strstr(v.result_json, "\"name\":\"binding.key_hash\",\"status\":\"skip\""));
    attacker_clear(&a);
    tether_config_free(a.s2);
}

/* T-2 negative control (binder #6): without S2's key, A's own key breaks H(SPKI || N). */
static void key_nonce_binding_stops_the_relay_without_the_key(void **state)
{
    (void)state;
    struct attacker a = {.kind = RELAY_OWN_KEY, .mode = "ra-key-nonce"};
    a.s2 = legacy_server(env.b, a.mode);
    struct victim v;
    run_attack(&a, "ra-key-nonce", &v);
    assert_true(a.s2_reached);
    assert_attack_blocked(&a, &v, "binder_mismatch", TETHER_ERR_BINDING);
    attacker_clear(&a);
    tether_config_free(a.s2);
}

/* T-2 (binder #6, Cocos <= 0.8.2 / Contrast, CVE-2026-33697): with S2's leaked TLS key, A
 * presents S2's certificate unchanged and signs C's transcript: C accepts. */
static void key_nonce_binding_is_relayed_with_the_leaked_tls_key(void **state)
{
    (void)state;
    struct attacker a = {.kind = RELAY_LEAKED_KEY, .mode = "ra-key-nonce"};
    a.s2 = legacy_server(env.b, a.mode);
    struct victim v;
    run_attack(&a, "ra-key-nonce", &v);
    assert_true(a.s2_reached);
    assert_attack_succeeded(&a, &v);
    attacker_clear(&a);
    tether_config_free(a.s2);
}

/* T-3 (binder #4, RA-TLS): S2's certificate and leaked key, captured once, replayed to C in
 * later sessions without ever contacting S2 again. */
static void key_only_binding_is_replayed_in_later_sessions(void **state)
{
    (void)state;
    struct attacker a = {.kind = RELAY_LEAKED_KEY, .mode = "ra-key"};
    a.s2 = legacy_server(env.b, a.mode);
    assert_int_equal(reach_s2(&a, NULL), 0); /* session 1: A as an ordinary client of S2 */
    struct attacker r = {.kind = REPLAY, .replay_cert = a.s2_cert, .replay_key = a.s2_key};
    for (int session = 2; session <= 4; session++) {
        struct victim v;
        r.read[0] = '\0';
        run_attack(&r, "ra-key", &v);
        assert_attack_succeeded(&r, &v);
    }
    attacker_clear(&a);
    tether_config_free(a.s2);
}

/* T-3 against ra-key-nonce: the captured certificate commits to an old nonce. */
static void key_nonce_binding_stops_the_replay_of_an_old_certificate(void **state)
{
    (void)state;
    struct attacker a = {.kind = RELAY_LEAKED_KEY, .mode = "ra-key-nonce"};
    a.s2 = legacy_server(env.b, a.mode);
    uint8_t n[LEGACY_NONCE_LEN];
    char sni[LEGACY_SNI_LEN + 1];
    RAND_bytes(n, sizeof n);
    legacy_sni_encode(n, sni);
    assert_int_equal(reach_s2(&a, sni), 0); /* session 1, under some earlier nonce */
    struct attacker r = {.kind = REPLAY, .replay_cert = a.s2_cert, .replay_key = a.s2_key};
    struct victim v;
    run_attack(&r, "ra-key-nonce", &v);
    assert_attack_blocked(&r, &v, "binder_mismatch", TETHER_ERR_BINDING);
    attacker_clear(&a);
    tether_config_free(a.s2);
}

/* T-8 (residual): an attestation oracle defeats every legacy binding (and tether's). */
static void oracle_evidence_defeats_every_legacy_binding(void **state)
{
    (void)state;
    static const char *const modes[] = {"ra-nonce", "ra-key-nonce"};
    for (size_t i = 0; i < 2; i++) {
        struct attacker a = {.kind = ORACLE, .mode = modes[i]};
        struct victim v;
        run_attack(&a, modes[i], &v);
        assert_attack_succeeded(&a, &v);
    }
}

/* ---- the key-log hook ---- */
struct keylog {
    pthread_mutex_t mu;
    int lines;
    bool client_traffic, server_traffic, exporter;
};

static void keylog_cb(void *arg, const char *line)
{
    struct keylog *k = arg;
    pthread_mutex_lock(&k->mu);
    k->lines++;
    k->client_traffic |= strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0;
    k->server_traffic |= strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0;
    k->exporter |= strncmp(line, "EXPORTER_SECRET ", 16) == 0;
    pthread_mutex_unlock(&k->mu);
}

static void keylog_hook_reports_the_secrets_of_its_own_connection_only(void **state)
{
    (void)state;
    struct tether_config *s = legacy_server(env.a, NULL);
    struct tether_config *c = legacy_client(env.policy_a, NULL);
    struct keylog mine = {.mu = PTHREAD_MUTEX_INITIALIZER};
    int fds[2];
    socket_pair(fds);
    struct endpoint sv = {.cfg = s, .fd = fds[1], .server = true, .echo = true};
    endpoint_start(&sv);
    struct tether *t = tether_client(c);
    tether_test_set_keylog(t, keylog_cb, &mine);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    assert_int_equal(tether_handshake(t), 0);
    assert_int_equal(tether_write(t, "x", 1), 1);
    char b;
    assert_int_equal(tether_read(t, &b, 1), 1);
    tether_close(t);
    tether_free(t);
    assert_int_equal(endpoint_join(&sv), 0);
    close(fds[0]);
    close(fds[1]);
    assert_true(mine.client_traffic && mine.server_traffic && mine.exporter);
    /* five TLS 1.3 secrets, from this client's SSL only (the server's are not delivered: it
     * installed no key-log callback of its own) */
    assert_int_equal(mine.lines, 5);
    tether_config_free(s);
    tether_config_free(c);
}

/* ---- ra-early-exporter and HelloRetryRequest ---- */

struct hrr_client {
    int fd;
    const char *groups;
    bool sni_nonce;
    int rc;
};

/* A raw OpenSSL client whose first key share the server cannot use (P-521): HRR. */
static void *hrr_client_main(void *arg)
{
    struct hrr_client *h = arg;
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set1_groups_list(c, h->groups);
    SSL *s = SSL_new(c);
    SSL_set_fd(s, h->fd);
    uint8_t n[LEGACY_NONCE_LEN];
    char sni[LEGACY_SNI_LEN + 1];
    RAND_bytes(n, sizeof n);
    legacy_sni_encode(n, sni);
    SSL_set_tlsext_host_name(s, sni);
    h->rc = SSL_connect(s);
    ERR_clear_error();
    SSL_free(s);
    SSL_CTX_free(c);
    shutdown(h->fd, SHUT_RDWR);
    return NULL;
}

static void early_exporter_mode_refuses_a_hello_retry_request(void **state)
{
    (void)state;
    /* server side: the second ClientHello is refused with its own code */
    struct tether_config *s = legacy_server(env.a, "ra-early-exporter");
    int fds[2];
    socket_pair(fds);
    set_timeouts(fds[0], 5);
    set_timeouts(fds[1], 5);
    struct endpoint sv = {.cfg = s, .fd = fds[1], .server = true};
    endpoint_start(&sv);
    struct hrr_client h = {.fd = fds[0], .groups = "P-521:X25519", .sni_nonce = true};
    pthread_t th;
    pthread_create(&th, NULL, hrr_client_main, &h);
    pthread_join(th, NULL);
    assert_int_not_equal(endpoint_join(&sv), 0);
    assert_string_equal(sv.code, "legacy_hrr_unsupported");
    assert_int_equal(sv.category, TETHER_ERR_PROTOCOL);
    assert_int_not_equal(h.rc, 1);
    close(fds[0]);
    close(fds[1]);
    /* the same client without the retry (X25519 first) completes the TLS handshake */
    socket_pair(fds);
    set_timeouts(fds[0], 5);
    set_timeouts(fds[1], 5);
    struct endpoint sv2 = {.cfg = s, .fd = fds[1], .server = true};
    endpoint_start(&sv2);
    struct hrr_client ok = {.fd = fds[0], .groups = "X25519:P-521", .sni_nonce = true};
    pthread_create(&th, NULL, hrr_client_main, &ok);
    pthread_join(th, NULL);
    endpoint_join(&sv2);
    assert_int_equal(ok.rc, 1);
    close(fds[0]);
    close(fds[1]);
    tether_config_free(s);

    /* client side: a server that asks for another key share makes the client fail with the
     * same code, whatever the server does next */
    struct tether_config *c = legacy_client(env.policy_a, "ra-early-exporter");
    socket_pair(fds);
    set_timeouts(fds[1], 5);
    struct victim v;
    victim_start(&v, c, fds[0]);
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
    SSL_CTX_set_num_tickets(sctx, 0);
    SSL_CTX_set1_groups_list(sctx, "P-384");
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t ext[4] = {0xd9, 0xd9, 0xf7, 0x00}; /* any bytes: never reached */
    X509 *x = legacy_cert_with_extension(k, ext, sizeof ext);
    SSL_CTX_use_certificate(sctx, x);
    SSL_CTX_use_PrivateKey(sctx, k);
    SSL *ssl = SSL_new(sctx);
    SSL_set_fd(ssl, fds[1]);
    SSL_accept(ssl);
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(sctx);
    X509_free(x);
    EVP_PKEY_free(k);
    shutdown(fds[1], SHUT_RDWR);
    victim_join(&v);
    assert_int_not_equal(v.rc, 0);
    assert_string_equal(v.code, "legacy_hrr_unsupported");
    assert_int_equal(v.category, TETHER_ERR_PROTOCOL);
    close(fds[0]);
    close(fds[1]);
    tether_config_free(c);
}

/* T-1/T-2 against ra-early-exporter: A must open its OWN handshake with S2 to get evidence,
 * so S2's early exporter is over A's ClientHello, not C's: even S2's leaked key does not
 * help (the relay that forwards C's ClientHello itself is in the lab, T-4). */
static void early_exporter_binding_stops_the_relay_with_its_own_client_hello(void **state)
{
    (void)state;
    for (int leaked = 0; leaked < 2; leaked++) {
        struct attacker a = {.kind = leaked ? RELAY_LEAKED_KEY : RELAY_OWN_KEY,
                             .mode = "ra-early-exporter"};
        a.s2 = legacy_server(env.b, a.mode);
        struct victim v;
        run_attack(&a, "ra-early-exporter", &v);
        assert_true(a.s2_reached);
        assert_attack_blocked(&a, &v, "binder_mismatch", TETHER_ERR_BINDING);
        attacker_clear(&a);
        tether_config_free(a.s2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_legacy_mode_attests_and_its_report_names_the_mode),
        cmocka_unit_test(legacy_connection_carries_raw_data_and_cannot_reattest),
        cmocka_unit_test(ra_key_reuses_one_tls_key_while_nonce_modes_make_one_per_handshake),
        cmocka_unit_test(tether_client_refuses_a_legacy_server_with_a_clear_code),
        cmocka_unit_test(legacy_client_refuses_a_tether_server_with_a_clear_code),
        cmocka_unit_test(mismatched_legacy_modes_fail_on_binder_mismatch),
        cmocka_unit_test(legacy_modes_are_opt_in_and_refuse_what_they_cannot_do),
        cmocka_unit_test(nonce_only_binding_is_relayed_without_any_key),
        cmocka_unit_test(key_nonce_binding_stops_the_relay_without_the_key),
        cmocka_unit_test(key_nonce_binding_is_relayed_with_the_leaked_tls_key),
        cmocka_unit_test(key_only_binding_is_replayed_in_later_sessions),
        cmocka_unit_test(key_nonce_binding_stops_the_replay_of_an_old_certificate),
        cmocka_unit_test(oracle_evidence_defeats_every_legacy_binding),
        cmocka_unit_test(keylog_hook_reports_the_secrets_of_its_own_connection_only),
        cmocka_unit_test(early_exporter_mode_refuses_a_hello_retry_request),
        cmocka_unit_test(early_exporter_binding_stops_the_relay_with_its_own_client_hello),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
