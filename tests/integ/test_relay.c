/*
 * test_relay.c - scripted attackers against tether connections (protocol.md section 9).
 *
 * Every connection runs over AF_UNIX socket pairs inside this process: the genuine endpoints
 * are tether handles in threads, the attacker is raw OpenSSL plus tether's own sans-IO EA
 * code. Test-only powers (the leaked authenticator key, evidence over chosen report_data)
 * come from the test-hook build and from calling the attester directly here; neither exists
 * in libtether.
 *
 * The relay and replay attacks also run against REAL TPM evidence: a swtpm started in the group
 * setup (tests/lib/swtpm_fixture, stopped in the group teardown or by its guardian) attests
 * through tether's TPM attester; those tests skip when swtpm is not installed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <jansson.h>

#include "attester/attester.h"
#include "binding/binder.h"
#include "ea/ea.h"
#include "evidence/tpm/tpm.h"
#include "evidence/tpm/tpm_evidence.h"
#include "lib/core_hooks.h"
#include "lib/harness.h"
#include "lib/swtpm_fixture.h"
#include "tls/tls_internal.h" /* config_ssl_ctx: T-17 looks at the TLS contexts */
#include "testhooks/testhooks.h"
#include "util/util.h"

static struct sim_env env;
static struct swtpm_fixture tpm;
static int tpm_rc = 1; /* swtpm_fixture_start: 0 running, 1 not installed, -1 error */

static int setup(void **state)
{
    (void)state;
    if (sim_env_setup(&env) != 0)
        return -1;
    /* Before any thread (the fixture forks its guardian). A failure fails the TPM tests only. */
    tpm_rc = swtpm_fixture_start(&tpm);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    swtpm_fixture_stop(&tpm);
    sim_env_cleanup(&env);
    return 0;
}

/* ---- the leaked key (T-5, T-6, T-20) ---- */
struct leak {
    EVP_PKEY *keys[4];
    int n;
};

static void leak_cb(void *arg, EVP_PKEY *key)
{
    struct leak *l = arg;
    if (l->n < 4 && EVP_PKEY_up_ref(key))
        l->keys[l->n++] = key;
}

static void leak_free(struct leak *l)
{
    for (int i = 0; i < l->n; i++)
        EVP_PKEY_free(l->keys[i]);
}

/* ---- a protocol-correct fake attester built from tether's sans-IO parts ----
 * It answers a request with evidence from the sim TEE over whatever binder the test wants
 * (the attestation-oracle power: test-only). */
struct fake_opts {
    const char *label;          /* exporter label used for the binder */
    const char *json_label;     /* label written in the payload */
    const uint8_t *evidence;    /* evidence to send instead of fresh evidence */
    size_t evidence_len;
    bool no_cmw;
    const char *tee_spec;       /* attester to use (NULL: sim:B) */
    const char *media_type;     /* payload media type (NULL: the sim's) */
    uint8_t *evidence_out;      /* copy of the evidence sent (caller frees) */
    size_t evidence_out_len;
    bool no_framing_echo;       /* do not echo tether_framing even when it was offered */
    bool corrupt_json_binding;  /* flip a bit of the payload's (unsigned) binding field */
};

static int fake_answer(SSL *ssl, bool server_role, const uint8_t *req_msg, size_t req_len,
                       struct fake_opts *o, struct bytes_writer *out)
{
    struct ea_request req;
    enum ea_error e;
    if (ea_request_parse(req_msg, req_len, &req, &e) != 0)
        return -1;
    struct ea_exporters x;
    if (raw_exporters(ssl, server_role, &x) != 0)
        return -1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = test_self_signed(key, "fake");
    uint8_t *der = NULL, *spki = NULL;
    int der_len = i2d_X509(cert, &der);
    int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki);
    uint8_t exported[32];
    const char *label = o->label ? o->label : BINDER_LABEL_SERVER;
    SSL_export_keying_material(ssl, exported, 32, label, strlen(label), req.context,
                               req.context_len, 1);
    struct binder b;
    int rc = binder_compute(x.md, spki, (size_t)spki_len, exported, &b);
    struct attester_handle h;
    char err[256];
    uint8_t *ev = NULL;
    size_t ev_len = 0;
    char spec[400];
    if (o->tee_spec)
        snprintf(spec, sizeof spec, "%s", o->tee_spec);
    else
        snprintf(spec, sizeof spec, "sim:%s", env.b);
    if (rc == 0 && !o->evidence) {
        rc = attester_open(spec, &h, err, sizeof err);
        if (rc == 0) {
            rc = h.backend->evidence(h.state, &b, &ev, &ev_len, err, sizeof err);
            attester_close(&h);
        }
    } else if (rc == 0) {
        ev = malloc(o->evidence_len);
        memcpy(ev, o->evidence, o->evidence_len);
        ev_len = o->evidence_len;
    }
    struct ea_payload p = {.version = 1, .evidence = ev, .evidence_len = ev_len};
    snprintf(p.media_type, sizeof p.media_type, "%s",
             o->media_type ? o->media_type : "application/vnd.tether.sim-evidence+binary");
    snprintf(p.exporter_label, sizeof p.exporter_label, "%s", o->json_label ? o->json_label : label);
    memcpy(p.aik_pub_hash, b.aik_pub_hash, b.hash_len);
    p.aik_pub_hash_len = b.hash_len;
    memcpy(p.binding, b.binding, b.hash_len);
    p.binding_len = b.hash_len;
    if (o->corrupt_json_binding)
        p.binding[0] ^= 0x01;
    char *json = NULL;
    size_t json_len = 0;
    if (rc == 0)
        rc = ea_payload_encode(&p, &json, &json_len);
    struct ea_authenticator_params ap = {.key = key,
                                         .cert_der = der,
                                         .cert_len = (size_t)der_len,
                                         .sigalg = EA_SIG_ECDSA_P256_SHA256,
                                         .cmw = o->no_cmw ? NULL : (uint8_t *)json,
                                         .cmw_len = o->no_cmw ? 0 : json_len,
                                         .framing = req.framing_offered && !o->no_framing_echo};
    if (rc == 0)
        rc = ea_authenticator_build(&x, req_msg, req_len, &req, &ap, out, &e);
    if (rc == 0 && o->evidence_out == NULL && ev) {
        o->evidence_out = malloc(ev_len);
        memcpy(o->evidence_out, ev, ev_len);
        o->evidence_out_len = ev_len;
    }
    free(json);
    free(ev);
    OPENSSL_free(der);
    OPENSSL_free(spki);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/* Run a tether client against a scripted server on a socket pair. The script gets the raw
 * server-side SSL after the TLS handshake. Returns the client endpoint (joined). */
typedef void (*server_script)(SSL *ssl, void *arg);

static void run_client_against(struct endpoint *cl, struct tether_config *ccfg, server_script s,
                               void *arg)
{
    int fds[2];
    socket_pair(fds);
    memset(cl, 0, sizeof *cl);
    cl->cfg = ccfg;
    cl->fd = fds[0];
    endpoint_start(cl);
    SSL_CTX *sctx = NULL;
    SSL *ssl = raw_server(fds[1], &sctx);
    if (ssl) {
        s(ssl, arg);
        SSL_shutdown(ssl);
        SSL_free(ssl);
        SSL_CTX_free(sctx);
    }
    shutdown(fds[1], SHUT_RDWR);
    endpoint_join(cl);
    close(fds[0]);
    close(fds[1]);
}

static void expect_failure(const struct endpoint *ep, const char *code, int category)
{
    if (ep->rc == 0 || strcmp(ep->code, code) != 0)
        fprintf(stderr, "# expected %s, got rc=%d code=%s err=%s\n", code, ep->rc, ep->code,
                ep->err);
    assert_int_not_equal(ep->rc, 0);
    assert_string_equal(ep->code, code);
    if (category)
        assert_int_equal(ep->category, category);
}

/* ---- baseline: a genuine connection passes, and its report says what passed ---- */
static void genuine_connection_attests_and_echoes(void **state)
{
    (void)state;
    int fds[2];
    socket_pair(fds);
    struct endpoint sv = {.cfg = server_config(env.a, TETHER_ATTEST_SERVER, NULL), .fd = fds[1],
                          .server = true, .echo = true};
    struct tether_config *ccfg = client_config(env.policy_a, NULL, TETHER_ATTEST_SERVER);
    endpoint_start(&sv);
    struct tether *t = tether_client(ccfg);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    /* T-16 (API side): no application data before the peer is attested. */
    assert_int_equal(tether_write(t, "x", 1), -1);
    assert_string_equal(tether_error_code(t), "not_attested");
    assert_int_equal(tether_error_category(t), TETHER_ERR_PROTOCOL);
    char early[4];
    assert_int_equal(tether_read(t, early, sizeof early), -1);
    assert_string_equal(tether_error_code(t), "not_attested");
    assert_int_equal(tether_error_category(t), TETHER_ERR_PROTOCOL);
    assert_int_equal(tether_handshake(t), 0);
    const struct tether_result *r = tether_peer_result(t);
    assert_non_null(r);
    assert_true(tether_result_passed(r));
    const char *json = tether_result_json(r);
    assert_non_null(strstr(json, "\"verdict\":\"pass\""));
    assert_non_null(strstr(json, "binding.report_data"));
    assert_non_null(strstr(json, "\"simulated\":true"));
    assert_int_equal(tether_write(t, "hello", 5), 5);
    char buf[16] = {0};
    assert_int_equal(tether_read(t, buf, sizeof buf), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_string_equal(tether_conn_version(t), "TLSv1.3");
    tether_close(t);
    tether_free(t);
    assert_int_equal(endpoint_join(&sv), 0);
    close(fds[0]);
    close(fds[1]);
    tether_config_free(sv.cfg);
    tether_config_free(ccfg);
}

/* ---- T-5 / T-6: full MITM relay with the authenticator key leaked ---- */
struct relay_opts {
    bool rewrite_context;  /* T-6 */
    bool fix_json_binder;  /* also rewrite the unsigned JSON binder for C's connection */
    /* The genuine server's and the client's configurations (borrowed; NULL: sim TEE B attests,
     * the client accepts the sim measurement on any platform, both made and freed here). */
    struct tether_config *server_cfg;
    struct tether_config *client_cfg;
};

static void relay_with_leaked_key(struct relay_opts *ro, struct endpoint *cl_out)
{
    int cpair[2], spair[2];
    socket_pair(cpair);
    socket_pair(spair);
    struct leak leak = {0};
    struct endpoint sv = {.cfg = ro->server_cfg ? ro->server_cfg
                                                : server_config(env.b, TETHER_ATTEST_SERVER, NULL),
                          .fd = spair[1], .server = true, .echo = true,
                          .leak_key = leak_cb, .leak_arg = &leak};
    struct endpoint *cl = cl_out;
    memset(cl, 0, sizeof *cl);
    cl->cfg = ro->client_cfg ? ro->client_cfg
                             : client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    cl->fd = cpair[0];
    endpoint_start(cl);
    endpoint_start(&sv);
    SSL_CTX *c1 = NULL, *c2 = NULL;
    SSL *to_client = raw_server(cpair[1], &c1); /* attacker's own certificate */
    SSL *to_server = raw_client(spair[0], &c2);
    assert_non_null(to_client);
    assert_non_null(to_server);
    uint8_t type, *req = NULL, *auth = NULL;
    size_t req_len, auth_len;
    assert_int_equal(raw_read_frame(to_client, &type, &req, &req_len), 0);
    assert_int_equal(type, EA_FRAME_REQUEST);
    struct ea_request creq, sreq;
    enum ea_error e;
    assert_int_equal(ea_request_parse(req, req_len, &creq, &e), 0);
    /* Forward C's request to S2, unchanged (T-5) or with another context (T-6). */
    struct bytes_writer fw;
    writer_init(&fw, 65536);
    sreq = creq;
    if (ro->rewrite_context)
        RAND_bytes(sreq.context, (int)sreq.context_len);
    assert_int_equal(ea_request_encode(&sreq, &fw), 0);
    assert_int_equal(raw_write_frame(to_server, EA_FRAME_REQUEST, fw.data, fw.len), 0);
    assert_int_equal(raw_read_frame(to_server, &type, &auth, &auth_len), 0);
    assert_int_equal(type, EA_FRAME_AUTHENTICATOR);
    /* Open S2's authenticator with the A-S2 exporters (the attacker holds that connection). */
    struct ea_exporters x_as, x_ca;
    assert_int_equal(raw_exporters(to_server, true, &x_as), 0);
    assert_int_equal(raw_exporters(to_client, true, &x_ca), 0);
    struct ea_authenticator a;
    assert_int_equal(ea_authenticator_validate(&x_as, fw.data, fw.len, &sreq, auth, auth_len, true,
                                               &a, &e), 0);
    assert_int_equal(leak.n, 1);
    /* Re-sign CertificateVerify over C's transcript with the leaked key and recompute Finished
     * with the C-A finished key: S2's certificate and evidence, C's context. */
    char *json = NULL;
    size_t json_len = 0;
    struct ea_payload p;
    assert_int_equal(ea_payload_parse(a.cmw, a.cmw_len, &p, &(const char *){NULL}), 0);
    if (ro->fix_json_binder) {
        uint8_t exported[32];
        SSL_export_keying_material(to_client, exported, 32, "Attestation", 11, creq.context,
                                   creq.context_len, 1);
        struct binder b;
        assert_int_equal(binder_compute(x_ca.md, a.spki, a.spki_len, exported, &b), 0);
        memcpy(p.binding, b.binding, b.hash_len);
    }
    assert_int_equal(ea_payload_encode(&p, &json, &json_len), 0);
    struct ea_authenticator_params ap = {.key = leak.keys[0], .cert_der = a.cert_der,
                                         .cert_len = a.cert_len, .sigalg = a.sigalg,
                                         .cmw = (uint8_t *)json, .cmw_len = json_len,
                                         .framing = a.framing};
    struct bytes_writer out;
    writer_init(&out, EA_FRAME_MAX_PAYLOAD);
    assert_int_equal(ea_authenticator_build(&x_ca, req, req_len, &creq, &ap, &out, &e), 0);
    assert_int_equal(raw_write_frame(to_client, EA_FRAME_AUTHENTICATOR, out.data, out.len), 0);
    endpoint_join(cl);
    SSL_shutdown(to_server);
    shutdown(spair[0], SHUT_RDWR);
    endpoint_join(&sv);
    writer_free(&out);
    writer_free(&fw);
    free(json);
    ea_payload_clear(&p);
    ea_authenticator_clear(&a);
    free(req);
    free(auth);
    SSL_free(to_client);
    SSL_free(to_server);
    SSL_CTX_free(c1);
    SSL_CTX_free(c2);
    leak_free(&leak);
    if (!ro->server_cfg)
        tether_config_free(sv.cfg);
    if (!ro->client_cfg)
        tether_config_free(cl->cfg);
    for (int i = 0; i < 2; i++) {
        close(cpair[i]);
        close(spair[i]);
    }
}

static void relay_with_leaked_key_fails_on_binder_mismatch(void **state)
{
    (void)state;
    struct relay_opts ro = {0};
    struct endpoint cl;
    relay_with_leaked_key(&ro, &cl);
    /* The authenticator itself verified (the attacker holds the key): the binder decided. */
    expect_failure(&cl, "binder_mismatch", TETHER_ERR_BINDING);
    assert_non_null(strstr(cl.result_json, "\"name\":\"authenticator\",\"status\":\"pass\""));
    assert_non_null(strstr(cl.result_json, "\"name\":\"evidence.signature\",\"status\":\"pass\""));
}

static void relay_with_context_rewrite_fails_on_binder_mismatch(void **state)
{
    (void)state;
    struct relay_opts ro = {.rewrite_context = true};
    struct endpoint cl;
    relay_with_leaked_key(&ro, &cl);
    expect_failure(&cl, "binder_mismatch", TETHER_ERR_BINDING);
}

static void relay_with_rewritten_json_binder_still_fails_on_hardware_report_data(void **state)
{
    (void)state;
    struct relay_opts ro = {.fix_json_binder = true};
    struct endpoint cl;
    relay_with_leaked_key(&ro, &cl);
    expect_failure(&cl, "binder_mismatch", TETHER_ERR_BINDING);
}

/* ---- T-7: byte-forwarding control: attestation passes, the attacker sees no plaintext ---- */
struct forwarder {
    int a, b;
    uint8_t seen[1 << 16];
    size_t seen_len;
};

static void *forward_main(void *arg)
{
    struct forwarder *f = arg;
    struct pollfd p[2] = {{.fd = f->a, .events = POLLIN}, {.fd = f->b, .events = POLLIN}};
    for (int rounds = 0; rounds < 10000; rounds++) {
        if (poll(p, 2, 5000) <= 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (!p[i].revents)
                continue;
            uint8_t buf[4096];
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n <= 0)
                return NULL;
            if ((size_t)n <= sizeof f->seen - f->seen_len) {
                memcpy(f->seen + f->seen_len, buf, (size_t)n);
                f->seen_len += (size_t)n;
            }
            if (write(p[1 - i].fd, buf, (size_t)n) != n)
                return NULL;
        }
    }
    return NULL;
}

static void byte_forwarding_relay_attests_but_attacker_reads_nothing(void **state)
{
    (void)state;
    int cpair[2], spair[2];
    socket_pair(cpair);
    socket_pair(spair);
    struct forwarder *f = calloc(1, sizeof *f);
    f->a = cpair[1];
    f->b = spair[0];
    pthread_t th;
    pthread_create(&th, NULL, forward_main, f);
    struct endpoint sv = {.cfg = server_config(env.b, TETHER_ATTEST_SERVER, NULL), .fd = spair[1],
                          .server = true, .echo = true};
    endpoint_start(&sv);
    struct tether_config *ccfg = client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    struct tether *t = tether_client(ccfg);
    assert_int_equal(tether_connect_fd(t, cpair[0], NULL), 0);
    assert_int_equal(tether_handshake(t), 0);
    const char secret[] = "SECRET-7f3a9c";
    assert_int_equal(tether_write(t, secret, sizeof secret - 1), (ssize_t)(sizeof secret - 1));
    char buf[64] = {0};
    assert_int_equal(tether_read(t, buf, sizeof buf), (ssize_t)(sizeof secret - 1));
    tether_close(t);
    tether_free(t);
    shutdown(cpair[0], SHUT_RDWR);
    assert_int_equal(endpoint_join(&sv), 0);
    shutdown(spair[1], SHUT_RDWR);
    pthread_join(th, NULL);
    assert_null(memmem(f->seen, f->seen_len, "SECRET", 6));
    assert_true(f->seen_len > 1000);
    free(f);
    tether_config_free(sv.cfg);
    tether_config_free(ccfg);
    for (int i = 0; i < 2; i++) {
        close(cpair[i]);
        close(spair[i]);
    }
}

/* ---- T-10: diversion to another genuine platform ---- */
static void diversion_passes_without_and_fails_with_platform_policy(void **state)
{
    (void)state;
    for (int with_policy = 0; with_policy < 2; with_policy++) {
        int fds[2];
        socket_pair(fds);
        struct endpoint sv = {.cfg = server_config(env.b, TETHER_ATTEST_SERVER, NULL),
                              .fd = fds[1], .server = true};
        struct endpoint cl = {.cfg = client_config(with_policy ? env.policy_a : env.policy_any,
                                                   NULL, TETHER_ATTEST_SERVER),
                              .fd = fds[0]};
        endpoint_start(&sv);
        endpoint_start(&cl);
        endpoint_join(&cl);
        endpoint_join(&sv);
        if (with_policy) {
            expect_failure(&cl, "platform_not_allowed", TETHER_ERR_POLICY);
        } else {
            assert_int_equal(cl.rc, 0);
            /* The report says the platform was not checked. */
            assert_non_null(strstr(cl.result_json, "\"name\":\"policy.platform_id\",\"status\":\"skip\""));
        }
        tether_config_free(sv.cfg);
        tether_config_free(cl.cfg);
        close(fds[0]);
        close(fds[1]);
    }
}

/* ---- scripted malicious servers ---- */
static void script_empty_authenticator(SSL *ssl, void *arg)
{
    (void)arg;
    uint8_t type, *req;
    size_t len;
    if (raw_read_frame(ssl, &type, &req, &len) != 0)
        return;
    struct ea_request r;
    enum ea_error e;
    ea_request_parse(req, len, &r, &e);
    struct ea_exporters x;
    raw_exporters(ssl, true, &x);
    /* Cocos's empty-authenticator construction: Finished over HC || request || Certificate
     * with an empty list (cocos-ea-wire.md 4.4). Cocos's client accepts it. */
    uint8_t cert[4 + 1 + 255 + 3];
    size_t cl = 0;
    cert[cl++] = EA_HS_CERTIFICATE;
    uint32_t body = 1 + (uint32_t)r.context_len + 3;
    cert[cl++] = 0;
    cert[cl++] = (uint8_t)(body >> 8);
    cert[cl++] = (uint8_t)body;
    cert[cl++] = (uint8_t)r.context_len;
    memcpy(cert + cl, r.context, r.context_len);
    cl += r.context_len;
    cert[cl++] = 0;
    cert[cl++] = 0;
    cert[cl++] = 0;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    uint8_t th[64], mac[64];
    unsigned thl = 0, macl = 0;
    EVP_DigestInit_ex(h, x.md, NULL);
    EVP_DigestUpdate(h, x.hc, x.hash_len);
    EVP_DigestUpdate(h, req, len);
    EVP_DigestUpdate(h, cert, cl);
    EVP_DigestFinal_ex(h, th, &thl);
    EVP_MD_CTX_free(h);
    HMAC(x.md, x.fk, (int)x.hash_len, th, thl, mac, &macl);
    uint8_t fin[4 + 64] = {EA_HS_FINISHED, 0, 0, (uint8_t)macl};
    memcpy(fin + 4, mac, macl);
    raw_write_frame(ssl, EA_FRAME_AUTHENTICATOR, fin, 4 + macl);
    free(req);
}

static void empty_authenticator_is_rejected(void **state)
{
    (void)state;
    struct endpoint cl;
    struct tether_config *c = client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    run_client_against(&cl, c, script_empty_authenticator, NULL);
    expect_failure(&cl, "ea_empty_authenticator", TETHER_ERR_PROTOCOL);
    tether_config_free(c);
}

struct fake_script {
    struct fake_opts o;
    uint8_t *frame_out; /* the authenticator sent (caller frees) */
    size_t frame_out_len;
    const uint8_t *replay; /* send this authenticator instead */
    size_t replay_len;
};

static void script_fake(SSL *ssl, void *arg)
{
    struct fake_script *fs = arg;
    uint8_t type, *req;
    size_t len;
    if (raw_read_frame(ssl, &type, &req, &len) != 0)
        return;
    if (fs->replay) {
        raw_write_frame(ssl, EA_FRAME_AUTHENTICATOR, fs->replay, fs->replay_len);
    } else {
        struct bytes_writer w;
        writer_init(&w, EA_FRAME_MAX_PAYLOAD);
        if (fake_answer(ssl, true, req, len, &fs->o, &w) == 0) {
            raw_write_frame(ssl, EA_FRAME_AUTHENTICATOR, w.data, w.len);
            fs->frame_out = malloc(w.len);
            memcpy(fs->frame_out, w.data, w.len);
            fs->frame_out_len = w.len;
        }
        writer_free(&w);
    }
    /* Wait for the client's verdict (it closes on failure). */
    uint8_t b;
    SSL_read(ssl, &b, 1);
    free(req);
}

/* One connection of the tether client c against the fake attester answering with options o:
 * the client must refuse it with code (and category, unless 0). cl keeps the outcome for the
 * caller's further checks. */
static void run_fake_expect(struct tether_config *c, struct fake_opts o, const char *code,
                            int category, struct endpoint *cl)
{
    struct fake_script fs = {.o = o};
    run_client_against(cl, c, script_fake, &fs);
    expect_failure(cl, code, category);
    free(fs.o.evidence_out);
    free(fs.frame_out);
}

/* T-17, client side: a server that issues tickets gets no resumption from a tether client. */
struct ticket_server {
    SSL_CTX *ctx;
    int reused;
    int tickets_sent;
};

static void ticket_server_conn(struct ticket_server *ts, struct tether_config *ccfg)
{
    int fds[2];
    socket_pair(fds);
    struct endpoint cl = {.cfg = ccfg, .fd = fds[0]};
    endpoint_start(&cl);
    SSL *ssl = SSL_new(ts->ctx);
    SSL_set_fd(ssl, fds[1]);
    assert_int_equal(SSL_accept(ssl), 1);
    if (SSL_session_reused(ssl))
        ts->reused++;
    struct fake_script fs = {0};
    script_fake(ssl, &fs); /* answers as a genuine attester would */
    ts->tickets_sent += (int)SSL_get_num_tickets(ssl);
    SSL_free(ssl);
    shutdown(fds[1], SHUT_RDWR);
    endpoint_join(&cl);
    assert_int_equal(cl.rc, 0);
    free(fs.frame_out);
    free(fs.o.evidence_out);
    close(fds[0]);
    close(fds[1]);
}

static void client_never_resumes_from_a_ticket_issuing_server(void **state)
{
    (void)state;
    struct tether_config *ccfg = client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    /* A server that issues two tickets per connection and would resume from them. */
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_num_tickets(c, 2);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(c, (const unsigned char *)"t17", 3);
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = test_self_signed(k, "tickets");
    SSL_CTX_use_certificate(c, x);
    SSL_CTX_use_PrivateKey(c, k);
    X509_free(x);
    EVP_PKEY_free(k);
    struct ticket_server ts = {.ctx = c};
    for (int i = 0; i < 3; i++)
        ticket_server_conn(&ts, ccfg);
    assert_true(ts.tickets_sent > 0); /* the server did offer tickets ... */
    assert_int_equal(ts.reused, 0);   /* ... and no connection resumed */
    SSL_CTX_free(c);
    tether_config_free(ccfg);
}

static void independent_attester_is_accepted_then_its_replay_is_rejected(void **state)
{
    (void)state;
    struct tether_config *c = client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    struct fake_script fs = {0};
    struct endpoint cl;
    /* The fake attester follows the wire format with tether's parts but its own glue: the
     * tether client accepts it. */
    run_client_against(&cl, c, script_fake, &fs);
    assert_int_equal(cl.rc, 0);
    assert_non_null(fs.frame_out);
    /* T-15: the same authenticator on another connection. */
    struct fake_script replay = {.replay = fs.frame_out, .replay_len = fs.frame_out_len};
    run_client_against(&cl, c, script_fake, &replay);
    expect_failure(&cl, "ea_context_mismatch", TETHER_ERR_PROTOCOL);
    /* T-11: stale evidence (from the first connection) beside a fresh, correct binder. */
    struct fake_script stale = {.o = {.evidence = fs.o.evidence_out,
                                      .evidence_len = fs.o.evidence_out_len}};
    run_client_against(&cl, c, script_fake, &stale);
    expect_failure(&cl, "binder_mismatch", TETHER_ERR_BINDING);
    free(fs.frame_out);
    free(stale.frame_out);
    free(fs.o.evidence_out);
    free(stale.o.evidence_out);
    tether_config_free(c);
}

static void exporter_label_confusion_is_rejected(void **state)
{
    (void)state;
    struct tether_config *c = client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    struct endpoint cl;
    /* T-13: the payload declares the draft's other label and binds with it. */
    run_fake_expect(c, (struct fake_opts){.label = "Attestation Binding"},
                    "exporter_label_mismatch", TETHER_ERR_PROTOCOL, &cl);
    /* ... or declares the right label but bound with the other one. */
    run_fake_expect(c,
                    (struct fake_opts){.label = "Attestation Binding",
                                       .json_label = "Attestation"},
                    "binder_mismatch", TETHER_ERR_BINDING, &cl);
    /* Role confusion: server evidence bound with the CLIENT's label, payload naming the
     * server's ... */
    run_fake_expect(c,
                    (struct fake_opts){.label = BINDER_LABEL_CLIENT,
                                       .json_label = BINDER_LABEL_SERVER},
                    "binder_mismatch", TETHER_ERR_BINDING, &cl);
    /* ... or naming the client's label. */
    run_fake_expect(c, (struct fake_opts){.label = BINDER_LABEL_CLIENT}, "exporter_label_mismatch",
                    TETHER_ERR_PROTOCOL, &cl);
    tether_config_free(c);
}

static void authenticator_without_cmw_attestation_is_rejected(void **state)
{
    (void)state;
    struct tether_config *c = client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    struct endpoint cl;
    run_fake_expect(c, (struct fake_opts){.no_cmw = true}, "ea_cmw_missing", TETHER_ERR_PROTOCOL,
                    &cl);
    tether_config_free(c);
}

/* ---- T-18: reflection in mutual mode ---- */
static void script_reflect(SSL *ssl, void *arg)
{
    (void)arg;
    uint8_t type, *req, *auth = NULL;
    size_t len, auth_len;
    if (raw_read_frame(ssl, &type, &req, &len) != 0)
        return;
    struct ea_request r;
    enum ea_error e;
    ea_request_parse(req, len, &r, &e);
    /* Ask the client to attest with the client's own context ... */
    r.msg_type = EA_HS_CERTIFICATE_REQUEST;
    struct bytes_writer w;
    writer_init(&w, 65536);
    ea_request_encode(&r, &w);
    raw_write_frame(ssl, EA_FRAME_REQUEST, w.data, w.len);
    writer_free(&w);
    /* ... and hand its authenticator back as ours. */
    if (raw_read_frame(ssl, &type, &auth, &auth_len) == 0)
        raw_write_frame(ssl, EA_FRAME_AUTHENTICATOR, auth, auth_len);
    uint8_t b;
    SSL_read(ssl, &b, 1);
    free(auth);
    free(req);
}

static void reflected_authenticator_is_rejected_in_mutual_mode(void **state)
{
    (void)state;
    struct tether_config *c = client_config(env.policy_any, env.a, TETHER_ATTEST_MUTUAL);
    struct endpoint cl;
    run_client_against(&cl, c, script_reflect, NULL);
    expect_failure(&cl, "ea_bad_signature", TETHER_ERR_PROTOCOL);
    tether_config_free(c);
}

/* ---- scripted malicious clients against a tether server ---- */
static void run_server_against(struct endpoint *sv, struct tether_config *scfg,
                               void (*script)(SSL *, void *), void *arg, const char *groups,
                               int max_version)
{
    int fds[2];
    socket_pair(fds);
    memset(sv, 0, sizeof *sv);
    sv->cfg = scfg;
    sv->fd = fds[1];
    sv->server = true;
    sv->echo = true;
    endpoint_start(sv);
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    if (max_version)
        SSL_CTX_set_max_proto_version(c, max_version);
    if (groups)
        SSL_CTX_set1_groups_list(c, groups);
    SSL *ssl = SSL_new(c);
    SSL_set_fd(ssl, fds[0]);
    if (SSL_connect(ssl) == 1 && script)
        script(ssl, arg);
    SSL_free(ssl);
    SSL_CTX_free(c);
    shutdown(fds[0], SHUT_RDWR);
    endpoint_join(sv);
    close(fds[0]);
    close(fds[1]);
}

/* A tether server (config scfg, freed here) against the scripted client: it must refuse with
 * code (and category, unless 0). sv keeps the outcome for the caller's further checks. */
static void run_server_expect(struct tether_config *scfg, void (*script)(SSL *, void *),
                              void *arg, const char *code, int category, struct endpoint *sv)
{
    run_server_against(sv, scfg, script, arg, NULL, 0);
    expect_failure(sv, code, category);
    tether_config_free(scfg);
    sv->cfg = NULL;
}

static void send_request_ctx(SSL *ssl, size_t ctx_len, bool cmw, bool framing);

/* A scripted client that sends one request of this shape, then waits for the verdict. */
struct request_shape {
    size_t ctx_len;
    bool cmw, framing;
};

static void script_request(SSL *ssl, void *arg)
{
    const struct request_shape *rs = arg;
    send_request_ctx(ssl, rs->ctx_len, rs->cmw, rs->framing);
    uint8_t b;
    SSL_read(ssl, &b, 1);
}

static void send_request(SSL *ssl, bool cmw, bool framing, const uint8_t *ctx32)
{
    struct ea_request r = {.msg_type = EA_HS_CLIENT_CERTIFICATE_REQUEST, .context_len = 32,
                           .n_sigalgs = 1, .cmw_offered = cmw, .framing_offered = framing};
    r.sigalgs[0] = EA_SIG_ECDSA_P256_SHA256;
    if (ctx32)
        memcpy(r.context, ctx32, 32);
    else
        RAND_bytes(r.context, 32);
    struct bytes_writer w;
    writer_init(&w, 65536);
    ea_request_encode(&r, &w);
    raw_write_frame(ssl, EA_FRAME_REQUEST, w.data, w.len);
    writer_free(&w);
}

static void script_data_first(SSL *ssl, void *arg)
{
    (void)arg;
    raw_write_frame(ssl, EA_FRAME_DATA, (const uint8_t *)"SECRET", 6);
    uint8_t b;
    SSL_read(ssl, &b, 1);
}

static void application_data_before_attestation_is_refused(void **state)
{
    (void)state;
    struct endpoint sv;
    run_server_expect(server_config(env.a, TETHER_ATTEST_SERVER, NULL), script_data_first, NULL,
                      "data_before_attestation", TETHER_ERR_PROTOCOL, &sv);
}

static void request_without_cmw_attestation_is_refused(void **state)
{
    (void)state;
    struct endpoint sv;
    struct request_shape no_cmw = {.ctx_len = 32, .cmw = false, .framing = true};
    run_server_expect(server_config(env.a, TETHER_ATTEST_SERVER, NULL), script_request, &no_cmw,
                      "cmw_not_offered", TETHER_ERR_PROTOCOL, &sv);
}

struct ticket_probe {
    int tickets;
    int auth_ok;
};

static int count_ticket(SSL *ssl, SSL_SESSION *sess)
{
    struct ticket_probe *tp = SSL_get_app_data(ssl);
    (void)sess;
    tp->tickets++;
    return 0;
}

static void script_reuse_context_and_count_tickets(SSL *ssl, void *arg)
{
    struct ticket_probe *tp = arg;
    SSL_set_app_data(ssl, tp);
    uint8_t ctx[32];
    RAND_bytes(ctx, sizeof ctx);
    send_request(ssl, true, true, ctx);
    uint8_t type, *auth;
    size_t len;
    if (raw_read_frame(ssl, &type, &auth, &len) == 0 && type == EA_FRAME_AUTHENTICATOR)
        tp->auth_ok = 1;
    free(auth);
    /* T-15: the same context again on this connection. */
    send_request(ssl, true, true, ctx);
    uint8_t b;
    SSL_read(ssl, &b, 1);
}

static void context_reuse_is_rejected_and_no_ticket_is_sent(void **state)
{
    (void)state;
    struct endpoint sv;
    struct ticket_probe tp = {0};
    int fds[2];
    socket_pair(fds);
    memset(&sv, 0, sizeof sv);
    sv.cfg = server_config(env.a, TETHER_ATTEST_SERVER, NULL);
    sv.fd = fds[1];
    sv.server = true;
    sv.echo = true;
    endpoint_start(&sv);
    /* A client that would keep tickets (T-17): tether's server must send none. */
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    SSL_CTX_clear_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, count_ticket);
    SSL *ssl = SSL_new(c);
    SSL_set_fd(ssl, fds[0]);
    assert_int_equal(SSL_connect(ssl), 1);
    script_reuse_context_and_count_tickets(ssl, &tp);
    SSL_free(ssl);
    SSL_CTX_free(c);
    shutdown(fds[0], SHUT_RDWR);
    endpoint_join(&sv);
    close(fds[0]);
    close(fds[1]);
    assert_int_equal(tp.auth_ok, 1);
    assert_int_equal(tp.tickets, 0);
    expect_failure(&sv, "ea_context_reused", TETHER_ERR_PROTOCOL);
    tether_config_free(sv.cfg);
}

static int request_and_read(SSL *ssl);

static void script_attest_once(SSL *ssl, void *arg)
{
    *(int *)arg = request_and_read(ssl);
}

static void tls12_and_weak_groups_are_refused(void **state)
{
    (void)state;
    struct endpoint sv;
    run_server_against(&sv, server_config(env.a, TETHER_ATTEST_SERVER, NULL), NULL, NULL, NULL,
                       TLS1_2_VERSION);
    expect_failure(&sv, "tls", TETHER_ERR_TLS);
    /* OpenSSL's reason, kept in the message: the version, not something else, failed. */
    assert_non_null(strstr(sv.err, "unsupported protocol"));
    assert_null(strstr(sv.result_json, "verdict")); /* no appraisal was ever started */
    tether_config_free(sv.cfg);
    run_server_against(&sv, server_config(env.a, TETHER_ATTEST_SERVER, NULL), NULL, NULL,
                       "ffdhe2048", 0);
    expect_failure(&sv, "tls", TETHER_ERR_TLS);
    assert_non_null(strstr(sv.err, "no suitable key share"));
    tether_config_free(sv.cfg);
    /* Control: the same client with a strong group gets through the TLS handshake. */
    int answered = 0;
    run_server_against(&sv, server_config(env.a, TETHER_ATTEST_SERVER, NULL),
                       script_attest_once, &answered, "X25519", 0);
    assert_int_equal(answered, 1);
    tether_config_free(sv.cfg);
}

/* ---- T-20: a fresh authenticator key for every connection ---- */
static void every_connection_gets_a_distinct_authenticator_key(void **state)
{
    (void)state;
    struct leak leak = {0};
    struct tether_config *scfg = server_config(env.a, TETHER_ATTEST_SERVER, NULL);
    struct tether_config *ccfg = client_config(env.policy_a, NULL, TETHER_ATTEST_SERVER);
    for (int i = 0; i < 3; i++) {
        int fds[2];
        socket_pair(fds);
        struct endpoint sv = {.cfg = scfg, .fd = fds[1], .server = true, .leak_key = leak_cb,
                              .leak_arg = &leak};
        struct endpoint cl = {.cfg = ccfg, .fd = fds[0]};
        endpoint_start(&sv);
        endpoint_start(&cl);
        assert_int_equal(endpoint_join(&cl), 0);
        endpoint_join(&sv);
        close(fds[0]);
        close(fds[1]);
    }
    assert_int_equal(leak.n, 3);
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            assert_int_not_equal(EVP_PKEY_eq(leak.keys[i], leak.keys[j]), 1);
    leak_free(&leak);
    tether_config_free(scfg);
    tether_config_free(ccfg);
}

/* ---- mutual attestation and re-attestation on a live connection ---- */
static void *mutual_server_main(void *arg)
{
    struct endpoint *ep = arg;
    struct tether *t = tether_server(ep->cfg);
    ep->rc = -1;
    if (tether_accept_fd(t, ep->fd) == 0 && tether_handshake(t) == 0) {
        /* Echo, answering the client's re-attestation requests inside tether_read, and ask
         * the client for fresh evidence once. */
        char buf[256];
        int ok = tether_reattest(t) == 0 && tether_reattest_poll(t) == 0 &&
                 tether_attestation_count(t) == 2;
        ssize_t n;
        while (ok && (n = tether_read(t, buf, sizeof buf)) > 0)
            ok = tether_write(t, buf, (size_t)n) == n;
        ep->rc = ok ? 0 : -1;
    }
    if (ep->rc)
        snprintf(ep->err, sizeof ep->err, "%s", tether_error(t) ? tether_error(t) : "");
    tether_close(t);
    tether_free(t);
    return NULL;
}

static void mutual_attestation_with_reattestation_on_live_connection(void **state)
{
    (void)state;
    int fds[2];
    socket_pair(fds);
    struct endpoint sv = {.cfg = server_config(env.a, TETHER_ATTEST_MUTUAL, env.policy_any),
                          .fd = fds[1], .server = true};
    pthread_create(&sv.th, NULL, mutual_server_main, &sv);
    struct tether_config *ccfg = client_config(env.policy_a, env.b, TETHER_ATTEST_MUTUAL);
    struct tether *t = tether_client(ccfg);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    assert_int_equal(tether_handshake(t), 0);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(tether_reattest(t), 0);
        assert_int_equal(tether_reattest_poll(t), 0);
    }
    assert_int_equal(tether_attestation_count(t), 4);
    assert_int_equal(tether_write(t, "ping", 4), 4);
    char buf[8] = {0};
    assert_int_equal(tether_read(t, buf, sizeof buf), 4);
    assert_memory_equal(buf, "ping", 4);
    tether_close(t);
    shutdown(fds[0], SHUT_WR);
    pthread_join(sv.th, NULL);
    if (sv.rc)
        fprintf(stderr, "# server: %s\n", sv.err);
    assert_int_equal(sv.rc, 0);
    tether_free(t);
    tether_config_free(sv.cfg);
    tether_config_free(ccfg);
    close(fds[0]);
    close(fds[1]);
}

/* ---- non-blocking sockets: WANT_POLLIN/WANT_POLLOUT, the same protocol ---- */
static int wait_want(int fd, ssize_t r)
{
    struct pollfd p = {.fd = fd, .events = r == TETHER_WANT_POLLIN ? POLLIN : POLLOUT};
    return poll(&p, 1, 5000) == 1 ? 0 : -1;
}

static void non_blocking_client_attests_with_want_results(void **state)
{
    (void)state;
    int fds[2];
    socket_pair(fds);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    struct endpoint sv = {.cfg = server_config(env.a, TETHER_ATTEST_SERVER, NULL), .fd = fds[1],
                          .server = true, .echo = true};
    struct tether_config *ccfg = client_config(env.policy_a, NULL, TETHER_ATTEST_SERVER);
    struct tether *t = tether_client(ccfg);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    /* No server yet: the ClientHello goes out and the call must return to the caller rather
     * than block. (Starting the server first made this depend on thread scheduling.) */
    int r = tether_handshake(t);
    assert_int_equal(r, TETHER_WANT_POLLIN);
    endpoint_start(&sv);
    do
        assert_int_equal(wait_want(fds[0], r), 0);
    while ((r = tether_handshake(t)) == TETHER_WANT_POLLIN || r == TETHER_WANT_POLLOUT);
    assert_int_equal(r, 0);
    ssize_t w;
    while ((w = tether_write(t, "nonblock", 8)) == TETHER_WANT_POLLIN || w == TETHER_WANT_POLLOUT)
        assert_int_equal(wait_want(fds[0], w), 0);
    assert_int_equal(w, 8);
    char buf[16] = {0};
    ssize_t n;
    while ((n = tether_read(t, buf, sizeof buf)) == TETHER_WANT_POLLIN || n == TETHER_WANT_POLLOUT)
        assert_int_equal(wait_want(fds[0], n), 0);
    assert_int_equal(n, 8);
    assert_memory_equal(buf, "nonblock", 8);
    tether_close(t);
    tether_free(t);
    assert_int_equal(endpoint_join(&sv), 0);
    tether_config_free(sv.cfg);
    tether_config_free(ccfg);
    close(fds[0]);
    close(fds[1]);
}

/* ---- client-only attestation: the server asks first ---- */
static void client_only_attestation_passes_and_server_sees_the_report(void **state)
{
    (void)state;
    int fds[2];
    socket_pair(fds);
    struct tether_config *scfg = tether_config_new();
    assert_int_equal(tether_config_set_attest(scfg, TETHER_ATTEST_CLIENT), 0);
    assert_int_equal(tether_config_set_policy_file(scfg, env.policy_a), 0);
    struct endpoint sv = {.cfg = scfg, .fd = fds[1], .server = true};
    struct endpoint cl = {.cfg = server_config(env.a, TETHER_ATTEST_CLIENT, NULL), .fd = fds[0]};
    endpoint_start(&sv);
    endpoint_start(&cl);
    assert_int_equal(endpoint_join(&cl), 0);
    assert_int_equal(endpoint_join(&sv), 0);
    assert_non_null(strstr(sv.result_json, "\"verdict\":\"pass\""));
    tether_config_free(scfg);
    tether_config_free(cl.cfg);
    close(fds[0]);
    close(fds[1]);
}

/* ---- frames that share a TLS record are each delivered (no frame is lost) ---- */
struct collector {
    struct tether_config *cfg;
    int fd;
    char buf[16384];
    size_t len;
    int delay_ms;  /* > 0: after the first message, wait and answer "pong" */
    int rc;
};

static void *collector_main(void *arg)
{
    struct collector *c = arg;
    struct tether *t = tether_server(c->cfg);
    c->rc = -1;
    if (tether_accept_fd(t, c->fd) == 0 && tether_handshake(t) == 0) {
        ssize_t n;
        while ((n = tether_read(t, c->buf + c->len, sizeof c->buf - c->len)) > 0) {
            c->len += (size_t)n;
            if (c->delay_ms) {
                usleep((useconds_t)c->delay_ms * 1000);
                if (tether_write(t, "pong", 4) != 4)
                    break;
                c->delay_ms = 0;
            }
        }
        c->rc = n == 0 ? 0 : -1;
    }
    tether_close(t);
    tether_free(t);
    return NULL;
}

static void frames_sharing_a_record_are_all_delivered(void **state)
{
    (void)state;
    int fds[2];
    socket_pair(fds);
    struct collector c = {.cfg = server_config(env.a, TETHER_ATTEST_SERVER, NULL), .fd = fds[1]};
    pthread_t th;
    pthread_create(&th, NULL, collector_main, &c);
    struct tether_config *ccfg = client_config(env.policy_a, NULL, TETHER_ATTEST_SERVER);
    struct tether *t = tether_client(ccfg);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    assert_int_equal(tether_handshake(t), 0);
    static char big[10000];
    memset(big, 'x', sizeof big);
    /* A large frame grows the server's frame buffer; then a request and two small data
     * frames leave in one write, so they arrive in one TLS record. */
    assert_int_equal(tether_write(t, big, sizeof big), (ssize_t)sizeof big);
    assert_int_equal(tether_reattest(t), 0);
    assert_int_equal(tether_write(t, "abc", 3), 3);
    assert_int_equal(tether_write(t, "def", 3), 3);
    assert_int_equal(tether_reattest_poll(t), 0);
    assert_int_equal(tether_attestation_count(t), 2);
    tether_close(t);
    shutdown(fds[0], SHUT_WR);
    pthread_join(th, NULL);
    assert_int_equal(c.rc, 0);
    assert_int_equal(c.len, sizeof big + 6);
    assert_memory_equal(c.buf + sizeof big, "abcdef", 6);
    tether_free(t);
    tether_config_free(c.cfg);
    tether_config_free(ccfg);
    close(fds[0]);
    close(fds[1]);
}

/* ---- a blocking read outlives a re-attestation that was answered in time ---- */
static void blocking_read_after_answered_reattestation_does_not_time_out(void **state)
{
    (void)state;
    int fds[2];
    socket_pair(fds);
    struct collector c = {.cfg = server_config(env.a, TETHER_ATTEST_SERVER, NULL), .fd = fds[1],
                          .delay_ms = 700};
    pthread_t th;
    pthread_create(&th, NULL, collector_main, &c);
    struct tether_config *ccfg = client_config(env.policy_a, NULL, TETHER_ATTEST_SERVER);
    tether_config_set_timeouts(ccfg, 5000, 300); /* re-attestation must be answered in 300 ms */
    struct tether *t = tether_client(ccfg);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    assert_int_equal(tether_handshake(t), 0);
    assert_int_equal(tether_reattest(t), 0);
    assert_int_equal(tether_write(t, "ping", 4), 4);
    char buf[8] = {0};
    /* The answer comes at once; the data only after 700 ms: the read must wait for it. */
    ssize_t n = tether_read(t, buf, sizeof buf);
    if (n < 0)
        fprintf(stderr, "# read: %s\n", tether_error(t));
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "pong", 4);
    assert_int_equal(tether_attestation_count(t), 2);
    tether_close(t);
    shutdown(fds[0], SHUT_WR);
    pthread_join(th, NULL);
    tether_free(t);
    tether_config_free(c.cfg);
    tether_config_free(ccfg);
    close(fds[0]);
    close(fds[1]);
}

/* ---- deadlines: an idle peer cannot hold a connection forever ---- */
static void idle_peer_hits_the_attestation_deadline(void **state)
{
    (void)state;
    int fds[2];
    socket_pair(fds);
    struct tether_config *c = client_config(env.policy_a, NULL, TETHER_ATTEST_SERVER);
    tether_config_set_timeouts(c, 500, 500);
    struct endpoint cl = {.cfg = c, .fd = fds[0]};
    endpoint_start(&cl);
    SSL_CTX *sctx;
    SSL *ssl = raw_server(fds[1], &sctx); /* completes TLS, then says nothing */
    endpoint_join(&cl);
    expect_failure(&cl, "timeout", TETHER_ERR_IO);
    SSL_free(ssl);
    SSL_CTX_free(sctx);
    tether_config_free(c);
    close(fds[0]);
    close(fds[1]);
}

/* ---- the relay and replay against REAL TPM evidence (swtpm) ----
 * The genuine server attests with tether's TPM attester on the swtpm the group setup started
 * ("tpm:swtpm:host=127.0.0.1,port=P"); the client's policy pins that TPM's AK and PCR 0,
 * learned first from evidence the test oracle produced on the same TPM. The TPM's quote is
 * genuine in every case: what decides is its extraData (the hardware-signed report_data),
 * which belongs to the connection it was made for.
 * swtpm has no resource manager: 3 object slots, and each open TPM attester holds one AK. At
 * most two are open at once here: the server configuration's (for its lifetime) and the
 * oracle's or the fake attester's (during one call). Each test is bounded by alarm(); if it
 * fires, the process exits and the fixture's guardian stops swtpm. */
#define TPM_TEST_SECONDS 30

static void tpm_time_limit(int sig)
{
    (void)sig;
    static const char m[] = "# TPM test: time limit reached, exiting (the guardian stops swtpm)\n";
    ssize_t w = write(2, m, sizeof m - 1);
    (void)w;
    _exit(1);
}

static int tpm_test_setup(void **state)
{
    (void)state;
    signal(SIGALRM, tpm_time_limit);
    alarm(TPM_TEST_SECONDS);
    return 0;
}

static int tpm_test_teardown(void **state)
{
    (void)state;
    alarm(0);
    return 0;
}

#define TPM_SKIP_NOTE "# skip: swtpm not installed (apt-get install swtpm swtpm-tools)\n"
#define TPM_OR_SKIP()                                                                          \
    do {                                                                                       \
        if (tpm_rc == 1) {                                                                     \
            fputs(TPM_SKIP_NOTE, stderr);                                                      \
            skip();                                                                            \
        }                                                                                      \
        if (tpm_rc != 0)                                                                       \
            fail_msg("swtpm did not start (see the setup's message above)");                   \
    } while (0)

/* What a relying party pins: SHA-256 of the AK's SubjectPublicKeyInfo DER and PCR 0 (sha256). */
struct tpm_identity {
    char ak[65];
    char pcr0[65];
};

static void tpm_learn(struct tpm_identity *id)
{
    uint8_t rd[64];
    assert_int_equal(RAND_bytes(rd, sizeof rd), 1);
    uint8_t *ev = NULL;
    size_t ev_len = 0;
    char err[512] = "";
    if (tether_test_oracle_evidence(tpm.spec, rd, NULL, 0, &ev, &ev_len, err, sizeof err) != 0)
        fail_msg("oracle evidence from %s: %s", tpm.spec, err);
    struct tpm_evidence e;
    struct tpm_public pub;
    EVP_PKEY *ak = NULL;
    const char *why = NULL;
    if (tpm_evidence_parse(ev, ev_len, &e, &why) != 0 ||
        tpm_public_parse(e.ak_public, e.ak_public_len, &pub, &ak, &why) != 0)
        fail_msg("oracle evidence: %s", why ? why : "?");
    unsigned char *spki = NULL;
    int spki_len = i2d_PUBKEY(ak, &spki);
    assert_true(spki_len > 0);
    uint8_t h[32];
    unsigned int hl = 0;
    assert_int_equal(EVP_Digest(spki, (size_t)spki_len, h, &hl, EVP_sha256(), NULL), 1);
    hex_encode(h, sizeof h, id->ak);
    id->pcr0[0] = 0;
    for (size_t i = 0; i < e.n_banks; i++)
        if (e.banks[i].hash_alg == TPM_ALG_SHA256 && (e.banks[i].present & 1u))
            hex_encode(e.banks[i].value[0], 32, id->pcr0);
    assert_int_equal(strlen(id->pcr0), 64);
    OPENSSL_free(spki);
    EVP_PKEY_free(ak);
    free(ev);
}

/* c's error as the test's failure (c is freed first). */
static void config_failed(struct tether_config *c, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tether_config_error(c));
    tether_config_free(c);
    fail_msg("%s: %s", what, msg);
}

static struct tether_config *tpm_server_config(void)
{
    struct tether_config *c = tether_config_new();
    assert_non_null(c);
    if (tether_config_set_tee(c, tpm.spec) != 0 ||
        tether_config_set_attest(c, TETHER_ATTEST_SERVER) != 0 ||
        tether_config_set_timeouts(c, 5000, 5000) != 0)
        config_failed(c, "TPM server config");
    return c;
}

static struct tether_config *tpm_client_config(const struct tpm_identity *id)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"tether_policy\":1,\"accept\":{\"tpm\":{\"ak_keys\":[\"%s\"],"
             "\"pcrs\":{\"sha256\":{\"0\":\"%s\"}}}}}",
             id->ak, id->pcr0);
    struct tether_config *c = tether_config_new();
    assert_non_null(c);
    if (tether_config_set_policy_json(c, json, NULL) != 0 ||
        tether_config_set_attest(c, TETHER_ATTEST_SERVER) != 0 ||
        tether_config_set_timeouts(c, 5000, 5000) != 0)
        config_failed(c, "TPM client config");
    return c;
}

static void expect_report_check(const char *result_json, const char *name, const char *status)
{
    char want[128];
    snprintf(want, sizeof want, "\"name\":\"%s\",\"status\":\"%s\"", name, status);
    if (!strstr(result_json, want))
        fail_msg("report lacks %s: %s", want, result_json);
}

/* The report's claims: tee "tpm", not simulated, and the AK they name is the pinned one. */
static void expect_tpm_claims(const char *result_json, const struct tpm_identity *id)
{
    json_error_t je;
    json_t *root = json_loads(result_json, 0, &je);
    if (!root)
        fail_msg("report is not JSON (%s): %s", je.text, result_json);
    json_t *claims = json_object_get(root, "claims");
    const char *tee = json_string_value(json_object_get(root, "tee"));
    const char *ctee = json_string_value(json_object_get(claims, "tee"));
    const char *ak = json_string_value(json_object_get(claims, "ak_spki_sha256"));
    int ok = tee && strcmp(tee, "tpm") == 0 && ctee && strcmp(ctee, "tpm") == 0 &&
             json_is_false(json_object_get(claims, "simulated")) && ak &&
             strcmp(ak, id->ak) == 0;
    json_decref(root);
    if (!ok)
        fail_msg("report: expected tee \"tpm\" and AK %s: %s", id->ak, result_json);
}

static void tpm_genuine_connection_attests(void **state)
{
    (void)state;
    TPM_OR_SKIP();
    struct tpm_identity id;
    tpm_learn(&id);
    int fds[2];
    socket_pair(fds);
    struct endpoint sv = {.cfg = tpm_server_config(), .fd = fds[1], .server = true, .echo = true};
    struct tether_config *ccfg = tpm_client_config(&id);
    endpoint_start(&sv);
    struct tether *t = tether_client(ccfg);
    assert_non_null(t);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    int hs = tether_handshake(t);
    if (hs != 0)
        fprintf(stderr, "# handshake: %s (%s)\n", tether_error(t), tether_error_code(t));
    assert_int_equal(hs, 0);
    const struct tether_result *r = tether_peer_result(t);
    assert_non_null(r);
    assert_true(tether_result_passed(r));
    const char *json = tether_result_json(r);
    assert_non_null(strstr(json, "\"verdict\":\"pass\""));
    expect_tpm_claims(json, &id);
    expect_report_check(json, "evidence.signature", "pass");
    expect_report_check(json, "evidence.pcrs", "pass");
    expect_report_check(json, "evidence.chain", "pass");
    expect_report_check(json, "binding.report_data", "pass");
    assert_int_equal(tether_write(t, "hello tpm", 9), 9);
    char buf[16] = {0};
    assert_int_equal(tether_read(t, buf, sizeof buf), 9);
    assert_memory_equal(buf, "hello tpm", 9);
    tether_close(t);
    tether_free(t);
    if (endpoint_join(&sv) != 0)
        fprintf(stderr, "# server: %s\n", sv.err);
    assert_int_equal(sv.rc, 0);
    close(fds[0]);
    close(fds[1]);
    /* The pins are enforced: the same server under a policy expecting another PCR 0 fails. */
    struct tpm_identity other = id;
    other.pcr0[0] = other.pcr0[0] == '0' ? '1' : '0';
    struct tether_config *wrong = tpm_client_config(&other);
    socket_pair(fds);
    sv = (struct endpoint){.cfg = sv.cfg, .fd = fds[1], .server = true};
    struct endpoint cl = {.cfg = wrong, .fd = fds[0]};
    endpoint_start(&sv);
    endpoint_start(&cl);
    endpoint_join(&cl);
    endpoint_join(&sv);
    assert_int_not_equal(cl.rc, 0);
    assert_int_equal(cl.category, TETHER_ERR_POLICY);
    expect_report_check(cl.result_json, "binding.report_data", "pass");
    close(fds[0]);
    close(fds[1]);
    tether_config_free(wrong);
    tether_config_free(sv.cfg);
    tether_config_free(ccfg);
}

/* T-5 with a TPM: the attacker forwards C's request to the genuine TPM-attested server and
 * re-signs the server's authenticator over C's transcript with the leaked key, first as is,
 * then with the unsigned JSON binder rewritten for C's connection. The quote verifies and its
 * AK is the pinned one; its extraData is bound to the attacker's connection to the server. */
static void tpm_relay_with_leaked_key_fails_on_binder_mismatch(void **state)
{
    (void)state;
    TPM_OR_SKIP();
    struct tpm_identity id;
    tpm_learn(&id);
    struct tether_config *scfg = tpm_server_config();
    struct tether_config *ccfg = tpm_client_config(&id);
    for (int fix = 0; fix < 2; fix++) {
        struct relay_opts ro = {.fix_json_binder = fix, .server_cfg = scfg, .client_cfg = ccfg};
        struct endpoint cl;
        relay_with_leaked_key(&ro, &cl);
        expect_failure(&cl, "binder_mismatch", TETHER_ERR_BINDING);
        expect_report_check(cl.result_json, "authenticator", "pass");
        expect_report_check(cl.result_json, "evidence.signature", "pass");
        expect_report_check(cl.result_json, "evidence.chain", "pass");
        expect_tpm_claims(cl.result_json, &id);
    }
    tether_config_free(scfg);
    tether_config_free(ccfg);
}

/* T-11 / T-15 with a TPM: an attester following the wire format (its own glue, a genuine
 * quote over its binder) is accepted; its authenticator replayed on a second connection is
 * refused on the context, and its quote beside a fresh, correct binder on the binder. */
static void tpm_replayed_quote_fails(void **state)
{
    (void)state;
    TPM_OR_SKIP();
    struct tpm_identity id;
    tpm_learn(&id);
    struct tether_config *c = tpm_client_config(&id);
    struct fake_script fs = {.o = {.tee_spec = tpm.spec, .media_type = TPM_EVIDENCE_MEDIA_TYPE}};
    struct endpoint cl;
    run_client_against(&cl, c, script_fake, &fs);
    if (cl.rc != 0)
        fprintf(stderr, "# first connection: %s (%s)\n", cl.err, cl.code);
    assert_int_equal(cl.rc, 0);
    assert_non_null(fs.frame_out);
    assert_non_null(fs.o.evidence_out);
    expect_tpm_claims(cl.result_json, &id);
    expect_report_check(cl.result_json, "binding.report_data", "pass");
    struct fake_script replay = {.replay = fs.frame_out, .replay_len = fs.frame_out_len};
    run_client_against(&cl, c, script_fake, &replay);
    expect_failure(&cl, "ea_context_mismatch", TETHER_ERR_PROTOCOL);
    struct fake_script stale = {.o = {.evidence = fs.o.evidence_out,
                                      .evidence_len = fs.o.evidence_out_len,
                                      .media_type = TPM_EVIDENCE_MEDIA_TYPE}};
    run_client_against(&cl, c, script_fake, &stale);
    expect_failure(&cl, "binder_mismatch", TETHER_ERR_BINDING);
    expect_report_check(cl.result_json, "authenticator", "pass");
    expect_report_check(cl.result_json, "evidence.signature", "pass");
    expect_report_check(cl.result_json, "evidence.chain", "pass");
    expect_tpm_claims(cl.result_json, &id);
    free(fs.frame_out);
    free(stale.frame_out);
    free(fs.o.evidence_out);
    free(stale.o.evidence_out);
    tether_config_free(c);
}

/* ======================================================================================
 * Audit gaps (role separation, Cocos compatibility, failure codes never triggered before).
 * ====================================================================================== */

/* ---- a raw scripted server in a thread, the tether client in the test's own thread ---- */
struct script_thread {
    pthread_t th;
    int fd;
    server_script script;
    void *arg;
};

static void *script_thread_main(void *arg)
{
    struct script_thread *st = arg;
    SSL_CTX *sctx = NULL;
    SSL *ssl = raw_server(st->fd, &sctx);
    if (ssl) {
        st->script(ssl, st->arg);
        SSL_shutdown(ssl);
        SSL_free(ssl);
        SSL_CTX_free(sctx);
    }
    shutdown(st->fd, SHUT_RDWR);
    return NULL;
}

static void script_thread_start(struct script_thread *st, int fd, server_script s, void *arg)
{
    memset(st, 0, sizeof *st);
    st->fd = fd;
    st->script = s;
    st->arg = arg;
    pthread_create(&st->th, NULL, script_thread_main, st);
}

/* A request with any context length, scheme list {0x0403}. */
static void send_request_ctx(SSL *ssl, size_t ctx_len, bool cmw, bool framing)
{
    struct ea_request r = {.msg_type = EA_HS_CLIENT_CERTIFICATE_REQUEST, .context_len = ctx_len,
                           .n_sigalgs = 1, .cmw_offered = cmw, .framing_offered = framing};
    r.sigalgs[0] = EA_SIG_ECDSA_P256_SHA256;
    RAND_bytes(r.context, (int)ctx_len);
    struct bytes_writer w;
    writer_init(&w, 65536);
    ea_request_encode(&r, &w);
    raw_write_frame(ssl, EA_FRAME_REQUEST, w.data, w.len);
    writer_free(&w);
}

/* ---- 1. role-separated binder labels in mutual mode ----
 * The client attests to a mutual tether server with its own authenticators' binder label and
 * payload label overridden by the test hook (tests/lib/core_hooks.h). */
static void mutual_client_with_labels(const char *binder_label, const char *payload_label,
                                      struct endpoint *sv)
{
    int fds[2];
    socket_pair(fds);
    memset(sv, 0, sizeof *sv);
    sv->cfg = server_config(env.a, TETHER_ATTEST_MUTUAL, env.policy_any);
    sv->fd = fds[1];
    sv->server = true;
    endpoint_start(sv);
    struct tether_config *ccfg = client_config(env.policy_a, env.b, TETHER_ATTEST_MUTUAL);
    struct tether *t = tether_client(ccfg);
    tether_test_set_labels(t, binder_label, payload_label);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    /* The client appraises the server and answers its request; it does not learn the
     * server's verdict (no error frame), so its handshake may pass or see the close. */
    (void)tether_handshake(t);
    tether_close(t);
    shutdown(fds[0], SHUT_RDWR);
    endpoint_join(sv);
    tether_free(t);
    tether_config_free(ccfg);
    tether_config_free(sv->cfg);
    close(fds[0]);
    close(fds[1]);
}

static void mutual_client_evidence_with_server_role_label_is_rejected(void **state)
{
    (void)state;
    struct endpoint sv;
    /* Control: the hook with the client's own labels changes nothing. */
    mutual_client_with_labels(BINDER_LABEL_CLIENT, BINDER_LABEL_CLIENT, &sv);
    if (sv.rc != 0)
        fprintf(stderr, "# control: %s %s\n", sv.code, sv.err);
    assert_int_equal(sv.rc, 0);
    assert_non_null(strstr(sv.result_json, "\"verdict\":\"pass\""));
    /* Evidence bound with the SERVER's label, payload naming the client's: the hardware-
     * signed report_data does not match what the server recomputes for a client. */
    mutual_client_with_labels(BINDER_LABEL_SERVER, BINDER_LABEL_CLIENT, &sv);
    expect_failure(&sv, "binder_mismatch", TETHER_ERR_BINDING);
    assert_non_null(strstr(sv.result_json, "\"verdict\":\"fail\""));
    /* The payload naming the server's label (bound with it, too): refused at the label. */
    mutual_client_with_labels(BINDER_LABEL_SERVER, BINDER_LABEL_SERVER, &sv);
    expect_failure(&sv, "exporter_label_mismatch", TETHER_ERR_PROTOCOL);
    /* ... and naming it while bound correctly: still refused at the label. */
    mutual_client_with_labels(NULL, BINDER_LABEL_SERVER, &sv);
    expect_failure(&sv, "exporter_label_mismatch", TETHER_ERR_PROTOCOL);
}

/* ---- 2. --cocos-compat: exactly Cocos's request, then raw application data ---- */
struct compat_probe {
    uint8_t type;
    uint8_t req[128];
    size_t req_len;
    int auth_sent;
    char raw_in[8];
    int raw_in_len;
};

static void script_compat_server(SSL *ssl, void *arg)
{
    struct compat_probe *cp = arg;
    uint8_t *req = NULL;
    size_t len = 0;
    if (raw_read_frame(ssl, &cp->type, &req, &len) != 0)
        return;
    cp->req_len = len < sizeof cp->req ? len : sizeof cp->req;
    memcpy(cp->req, req, cp->req_len);
    struct fake_opts o = {0};
    struct bytes_writer w;
    writer_init(&w, EA_FRAME_MAX_PAYLOAD);
    if (fake_answer(ssl, true, req, len, &o, &w) == 0 &&
        raw_write_frame(ssl, EA_FRAME_AUTHENTICATOR, w.data, w.len) == 0)
        cp->auth_sent = 1;
    writer_free(&w);
    free(o.evidence_out);
    free(req);
    /* Raw application data from here on: exactly the 4 bytes the client wrote, no header. */
    int n = 0;
    while (n < 4) {
        int r = SSL_read(ssl, cp->raw_in + n, 4 - n);
        if (r <= 0)
            break;
        n += r;
    }
    cp->raw_in_len = n;
    SSL_write(ssl, "pong", 4);
    uint8_t b;
    SSL_read(ssl, &b, 1);
}

static void cocos_compat_client_sends_cocos_request_then_raw_data(void **state)
{
    (void)state;
    int fds[2];
    socket_pair(fds);
    struct compat_probe cp = {0};
    struct script_thread st;
    script_thread_start(&st, fds[1], script_compat_server, &cp);
    struct tether_config *ccfg = client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    assert_int_equal(tether_config_set_cocos_compat(ccfg, 1), 0);
    struct tether *t = tether_client(ccfg);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    int hr = tether_handshake(t);
    if (hr != 0)
        fprintf(stderr, "# compat client: %s\n", tether_error(t));
    assert_int_equal(hr, 0);
    assert_int_equal(tether_attestation_count(t), 1);
    /* No re-attestation in Cocos mode. */
    assert_int_equal(tether_reattest(t), -1);
    assert_string_equal(tether_error_code(t), "usage");
    assert_int_equal(tether_write(t, "ping", 4), 4);
    char buf[8] = {0};
    assert_int_equal(tether_read(t, buf, sizeof buf), 4);
    assert_memory_equal(buf, "pong", 4);
    tether_close(t);
    shutdown(fds[0], SHUT_RDWR);
    pthread_join(st.th, NULL);
    /* Cocos's 56-byte request (protocol.md 6): frame type 1, payload 51 bytes. */
    assert_int_equal(cp.type, EA_FRAME_REQUEST);
    assert_int_equal(cp.req_len, 51);
    static const uint8_t head[] = {0x11, 0x00, 0x00, 0x2f, 0x20};
    static const uint8_t tail[] = {0x00, 0x0c, 0x00, 0x0d, 0x00, 0x04, 0x00,
                                   0x02, 0x04, 0x03, 0xff, 0x00, 0x00, 0x00};
    assert_memory_equal(cp.req, head, sizeof head);
    assert_memory_equal(cp.req + 5 + 32, tail, sizeof tail);
    struct ea_request r;
    enum ea_error e;
    assert_int_equal(ea_request_parse(cp.req, cp.req_len, &r, &e), 0);
    assert_int_equal(r.n_sigalgs, 1);
    assert_int_equal(r.sigalgs[0], EA_SIG_ECDSA_P256_SHA256);
    assert_true(r.cmw_offered);
    assert_false(r.framing_offered);
    assert_int_equal(cp.auth_sent, 1);
    assert_int_equal(cp.raw_in_len, 4);
    assert_memory_equal(cp.raw_in, "ping", 4); /* raw: no type 3 frame header */
    tether_free(t);
    tether_config_free(ccfg);
    close(fds[0]);
    close(fds[1]);
}

static void cocos_compat_client_attests_a_tether_server_and_exchanges_raw_data(void **state)
{
    (void)state;
    int fds[2];
    socket_pair(fds);
    struct endpoint sv = {.cfg = server_config(env.a, TETHER_ATTEST_SERVER, NULL), .fd = fds[1],
                          .server = true, .echo = true};
    endpoint_start(&sv);
    struct tether_config *ccfg = client_config(env.policy_a, NULL, TETHER_ATTEST_SERVER);
    assert_int_equal(tether_config_set_cocos_compat(ccfg, 1), 0);
    struct tether *t = tether_client(ccfg);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    assert_int_equal(tether_handshake(t), 0);
    assert_true(tether_result_passed(tether_peer_result(t)));
    assert_int_equal(tether_write(t, "compat", 6), 6);
    char buf[16] = {0};
    assert_int_equal(tether_read(t, buf, sizeof buf), 6);
    assert_memory_equal(buf, "compat", 6);
    tether_close(t);
    tether_free(t);
    assert_int_equal(endpoint_join(&sv), 0);
    tether_config_free(sv.cfg);
    tether_config_free(ccfg);
    close(fds[0]);
    close(fds[1]);
}

/* ---- 5. failure codes at the attester (scripted clients against a tether server) ---- */
static void request_with_short_context_is_refused(void **state)
{
    (void)state;
    struct endpoint sv;
    struct request_shape short_ctx = {.ctx_len = 16, .cmw = true, .framing = true};
    run_server_expect(server_config(env.a, TETHER_ATTEST_SERVER, NULL), script_request,
                      &short_ctx, "ea_context_too_short", TETHER_ERR_PROTOCOL, &sv);
}

struct flood {
    int answered;
};

static int request_and_read(SSL *ssl)
{
    send_request_ctx(ssl, 32, true, true);
    uint8_t type, *auth = NULL;
    size_t len;
    int ok = raw_read_frame(ssl, &type, &auth, &len) == 0 && type == EA_FRAME_AUTHENTICATOR;
    free(auth);
    return ok;
}

static void script_flood(SSL *ssl, void *arg)
{
    struct flood *f = arg;
    /* Eight answered at once, then after a pause one more, then one too fast. */
    for (int i = 0; i < 8; i++)
        f->answered += request_and_read(ssl);
    usleep(600 * 1000);
    f->answered += request_and_read(ssl);
    send_request_ctx(ssl, 32, true, true);
    uint8_t b;
    SSL_read(ssl, &b, 1);
}

static void request_flood_is_rate_limited(void **state)
{
    (void)state;
    struct endpoint sv;
    struct flood f = {0};
    run_server_expect(server_config(env.a, TETHER_ATTEST_SERVER, NULL), script_flood, &f,
                      "too_many_requests", TETHER_ERR_PROTOCOL, &sv);
    assert_int_equal(f.answered, 9);
}

static void mutual_server_requires_framing(void **state)
{
    (void)state;
    struct endpoint sv;
    struct request_shape unframed = {.ctx_len = 32, .cmw = true, .framing = false};
    run_server_expect(server_config(env.a, TETHER_ATTEST_MUTUAL, env.policy_any), script_request,
                      &unframed, "framing_required", TETHER_ERR_PROTOCOL, &sv);
}

static void script_unframed_reattest(SSL *ssl, void *arg)
{
    int *answered = arg;
    *answered = request_and_read(ssl);
    send_request_ctx(ssl, 32, true, false); /* a re-attestation without tether_framing */
    uint8_t b;
    SSL_read(ssl, &b, 1);
}

static void script_unsolicited_authenticator(SSL *ssl, void *arg)
{
    (void)arg;
    static const uint8_t junk[] = {EA_HS_FINISHED, 0, 0, 1, 0};
    raw_write_frame(ssl, EA_FRAME_AUTHENTICATOR, junk, sizeof junk);
    uint8_t b;
    SSL_read(ssl, &b, 1);
}

static void unexpected_frames_at_the_server_are_refused(void **state)
{
    (void)state;
    struct endpoint sv;
    int answered = 0;
    run_server_expect(server_config(env.a, TETHER_ATTEST_SERVER, NULL), script_unframed_reattest,
                      &answered, "unexpected_request", TETHER_ERR_PROTOCOL, &sv);
    assert_int_equal(answered, 1);
    /* A server that appraises nobody never asked for an authenticator. */
    run_server_expect(server_config(env.a, TETHER_ATTEST_SERVER, NULL),
                      script_unsolicited_authenticator, NULL, "unexpected_authenticator",
                      TETHER_ERR_PROTOCOL, &sv);
}

/* ---- 5. failure codes at the relying party (scripted servers against a tether client) ---- */
static void framing_not_echoed_is_refused(void **state)
{
    (void)state;
    struct tether_config *c = client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    struct endpoint cl;
    run_fake_expect(c, (struct fake_opts){.no_framing_echo = true}, "framing_refused",
                    TETHER_ERR_PROTOCOL, &cl);
    tether_config_free(c);
}

static void unsigned_payload_binder_disagreeing_is_refused(void **state)
{
    (void)state;
    struct tether_config *c = client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    struct endpoint cl;
    /* The evidence is correctly bound; only the informational JSON copy is wrong. */
    run_fake_expect(c, (struct fake_opts){.corrupt_json_binding = true},
                    "payload_binder_mismatch", TETHER_ERR_PROTOCOL, &cl);
    assert_non_null(strstr(cl.result_json, "payload.binder"));
    /* Every check before it passed: only the unsigned copy decided. */
    assert_non_null(strstr(cl.result_json, "binding.report_data"));
    tether_config_free(c);
}

static void script_request_to_client(SSL *ssl, void *arg)
{
    (void)arg;
    uint8_t type, *req;
    size_t len;
    if (raw_read_frame(ssl, &type, &req, &len) != 0)
        return;
    free(req);
    struct ea_request r = {.msg_type = EA_HS_CERTIFICATE_REQUEST, .context_len = 32,
                           .n_sigalgs = 1, .cmw_offered = true, .framing_offered = true};
    r.sigalgs[0] = EA_SIG_ECDSA_P256_SHA256;
    RAND_bytes(r.context, 32);
    struct bytes_writer w;
    writer_init(&w, 65536);
    ea_request_encode(&r, &w);
    raw_write_frame(ssl, EA_FRAME_REQUEST, w.data, w.len);
    writer_free(&w);
    uint8_t b;
    SSL_read(ssl, &b, 1);
}

/* The fake attester answers, then sends the same authenticator once more, unasked. */
static void script_answer_twice(SSL *ssl, void *arg)
{
    struct fake_script *fs = arg;
    uint8_t type, *req;
    size_t len;
    if (raw_read_frame(ssl, &type, &req, &len) != 0)
        return;
    struct bytes_writer w;
    writer_init(&w, EA_FRAME_MAX_PAYLOAD);
    if (fake_answer(ssl, true, req, len, &fs->o, &w) == 0) {
        raw_write_frame(ssl, EA_FRAME_AUTHENTICATOR, w.data, w.len);
        raw_write_frame(ssl, EA_FRAME_AUTHENTICATOR, w.data, w.len);
    }
    writer_free(&w);
    free(req);
    uint8_t b;
    SSL_read(ssl, &b, 1);
}

static void unexpected_frames_at_the_client_are_refused(void **state)
{
    (void)state;
    struct tether_config *c = client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    struct endpoint cl;
    /* A client that does not attest is asked to. */
    run_client_against(&cl, c, script_request_to_client, NULL);
    expect_failure(&cl, "unexpected_request", TETHER_ERR_PROTOCOL);
    /* An authenticator nobody asked for, after a valid one. */
    int fds[2];
    socket_pair(fds);
    struct fake_script fs = {0};
    struct script_thread st;
    script_thread_start(&st, fds[1], script_answer_twice, &fs);
    struct tether *t = tether_client(c);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    assert_int_equal(tether_handshake(t), 0);
    char buf[8];
    assert_int_equal(tether_read(t, buf, sizeof buf), -1);
    assert_string_equal(tether_error_code(t), "unexpected_authenticator");
    assert_int_equal(tether_error_category(t), TETHER_ERR_PROTOCOL);
    tether_close(t);
    shutdown(fds[0], SHUT_RDWR);
    pthread_join(st.th, NULL);
    tether_free(t);
    free(fs.o.evidence_out);
    close(fds[0]);
    close(fds[1]);
    tether_config_free(c);
}

/* ---- 4. T-16, client side: data frames from the server before its authenticator ---- */
static void script_data_before_authenticator(SSL *ssl, void *arg)
{
    (void)arg;
    uint8_t type, *req;
    size_t len;
    if (raw_read_frame(ssl, &type, &req, &len) != 0)
        return;
    free(req);
    raw_write_frame(ssl, EA_FRAME_DATA, (const uint8_t *)"SECRET", 6);
    uint8_t b;
    SSL_read(ssl, &b, 1);
}

static void server_data_before_its_authenticator_is_refused(void **state)
{
    (void)state;
    struct tether_config *c = client_config(env.policy_any, NULL, TETHER_ATTEST_SERVER);
    int fds[2];
    socket_pair(fds);
    struct script_thread st;
    script_thread_start(&st, fds[1], script_data_before_authenticator, NULL);
    /* Bounded even if the read gate were broken and tether_read blocked in the socket. */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct tether *t = tether_client(c);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    char buf[8];
    /* Before attestation, reading is refused by the gate without touching the socket. */
    assert_int_equal(tether_read(t, buf, sizeof buf), -1);
    assert_string_equal(tether_error_code(t), "not_attested");
    assert_int_equal(tether_handshake(t), -1);
    assert_string_equal(tether_error_code(t), "data_before_attestation");
    assert_int_equal(tether_error_category(t), TETHER_ERR_PROTOCOL);
    /* The connection is failed for good: the data is never delivered. */
    assert_int_equal(tether_read(t, buf, sizeof buf), -1);
    assert_string_equal(tether_error_code(t), "data_before_attestation");
    tether_close(t);
    shutdown(fds[0], SHUT_RDWR);
    pthread_join(st.th, NULL);
    tether_free(t);
    close(fds[0]);
    close(fds[1]);
    tether_config_free(c);
}

/* ---- 4. T-17: no tickets and no 0-RTT in tether's own TLS contexts ----
 * A client cannot even try 0-RTT against tether (no ticket, so no PSK to send early data
 * under); what is checked here is the configuration that would refuse it if it did:
 * OpenSSL's default would accept 16 KiB of early data on a resumed session. */
static void tls_contexts_allow_no_early_data_and_no_tickets(void **state)
{
    (void)state;
    struct tether_config *cfg = server_config(env.a, TETHER_ATTEST_SERVER, env.policy_a);
    for (int server = 0; server < 2; server++) {
        struct error_state err;
        memset(&err, 0, sizeof err);
        SSL_CTX *x = config_ssl_ctx(cfg, server, &err);
        assert_non_null(x);
        assert_int_equal(SSL_CTX_get_max_early_data(x), 0);
        assert_int_equal(SSL_CTX_get_recv_max_early_data(x), 0);
        assert_true(SSL_CTX_get_options(x) & SSL_OP_NO_TICKET);
        assert_int_equal(SSL_CTX_get_session_cache_mode(x), SSL_SESS_CACHE_OFF);
        if (server)
            assert_int_equal(SSL_CTX_get_num_tickets(x), 0);
        assert_int_equal(SSL_CTX_get_min_proto_version(x), TLS1_3_VERSION);
    }
    tether_config_free(cfg);
}

/* ---- 4. T-20: every re-attestation on one connection uses a fresh key ---- */
static void reattestation_uses_a_fresh_authenticator_key_each_round(void **state)
{
    (void)state;
    struct leak leak = {0};
    int fds[2];
    socket_pair(fds);
    struct endpoint sv = {.cfg = server_config(env.a, TETHER_ATTEST_SERVER, NULL), .fd = fds[1],
                          .server = true, .echo = true, .leak_key = leak_cb, .leak_arg = &leak};
    endpoint_start(&sv);
    struct tether_config *ccfg = client_config(env.policy_a, NULL, TETHER_ATTEST_SERVER);
    struct tether *t = tether_client(ccfg);
    assert_int_equal(tether_connect_fd(t, fds[0], NULL), 0);
    assert_int_equal(tether_handshake(t), 0);
    /* The echo server answers re-attestations inside its tether_read. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tether_reattest(t), 0);
        assert_int_equal(tether_reattest_poll(t), 0);
    }
    assert_int_equal(tether_attestation_count(t), 4);
    assert_int_equal(tether_write(t, "k", 1), 1);
    char b[4];
    assert_int_equal(tether_read(t, b, sizeof b), 1);
    tether_close(t);
    tether_free(t);
    assert_int_equal(endpoint_join(&sv), 0);
    assert_int_equal(leak.n, 4);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            assert_int_not_equal(EVP_PKEY_eq(leak.keys[i], leak.keys[j]), 1);
    leak_free(&leak);
    tether_config_free(sv.cfg);
    tether_config_free(ccfg);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    /* The raw attacker endpoints use OpenSSL's own socket BIO; tether's never raises it. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(genuine_connection_attests_and_echoes),
        cmocka_unit_test(relay_with_leaked_key_fails_on_binder_mismatch),
        cmocka_unit_test(relay_with_context_rewrite_fails_on_binder_mismatch),
        cmocka_unit_test(relay_with_rewritten_json_binder_still_fails_on_hardware_report_data),
        cmocka_unit_test(byte_forwarding_relay_attests_but_attacker_reads_nothing),
        cmocka_unit_test(diversion_passes_without_and_fails_with_platform_policy),
        cmocka_unit_test(empty_authenticator_is_rejected),
        cmocka_unit_test(independent_attester_is_accepted_then_its_replay_is_rejected),
        cmocka_unit_test(client_never_resumes_from_a_ticket_issuing_server),
        cmocka_unit_test(exporter_label_confusion_is_rejected),
        cmocka_unit_test(authenticator_without_cmw_attestation_is_rejected),
        cmocka_unit_test(reflected_authenticator_is_rejected_in_mutual_mode),
        cmocka_unit_test(application_data_before_attestation_is_refused),
        cmocka_unit_test(request_without_cmw_attestation_is_refused),
        cmocka_unit_test(context_reuse_is_rejected_and_no_ticket_is_sent),
        cmocka_unit_test(tls12_and_weak_groups_are_refused),
        cmocka_unit_test(every_connection_gets_a_distinct_authenticator_key),
        cmocka_unit_test(mutual_attestation_with_reattestation_on_live_connection),
        cmocka_unit_test(non_blocking_client_attests_with_want_results),
        cmocka_unit_test(client_only_attestation_passes_and_server_sees_the_report),
        cmocka_unit_test(frames_sharing_a_record_are_all_delivered),
        cmocka_unit_test(blocking_read_after_answered_reattestation_does_not_time_out),
        cmocka_unit_test(idle_peer_hits_the_attestation_deadline),
        cmocka_unit_test(mutual_client_evidence_with_server_role_label_is_rejected),
        cmocka_unit_test(cocos_compat_client_sends_cocos_request_then_raw_data),
        cmocka_unit_test(cocos_compat_client_attests_a_tether_server_and_exchanges_raw_data),
        cmocka_unit_test(request_with_short_context_is_refused),
        cmocka_unit_test(request_flood_is_rate_limited),
        cmocka_unit_test(mutual_server_requires_framing),
        cmocka_unit_test(unexpected_frames_at_the_server_are_refused),
        cmocka_unit_test(framing_not_echoed_is_refused),
        cmocka_unit_test(unsigned_payload_binder_disagreeing_is_refused),
        cmocka_unit_test(unexpected_frames_at_the_client_are_refused),
        cmocka_unit_test(server_data_before_its_authenticator_is_refused),
        cmocka_unit_test(reattestation_uses_a_fresh_authenticator_key_each_round),
        cmocka_unit_test(tls_contexts_allow_no_early_data_and_no_tickets),
        cmocka_unit_test_setup_teardown(tpm_genuine_connection_attests, tpm_test_setup,
                                        tpm_test_teardown),
        cmocka_unit_test_setup_teardown(tpm_relay_with_leaked_key_fails_on_binder_mismatch,
                                        tpm_test_setup, tpm_test_teardown),
        cmocka_unit_test_setup_teardown(tpm_replayed_quote_fails, tpm_test_setup,
                                        tpm_test_teardown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
