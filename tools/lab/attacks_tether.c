/*
 * attacks_tether.c - the scripted attackers against tether's default mode (research
 * protocol.md 9.2: T-3, T-5 .. T-20) and the mode-independent diversion (T-10). Each
 * attacker terminates TLS with the victim client (raw OpenSSL, its own certificate) and uses
 * tether's own sans-IO Exported Authenticator code and binder to build what it sends;
 * byte-forwarding controls only pass bytes on.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "lab/lab.h"
#include "util/util.h"

/* ---- helpers ---- */

/* The genuine server an attacker abuses: S2 ("a genuine TEE elsewhere"); when the client's
 * policy allows only P1, the attacker needs a TEE on P1 and uses S1. */
static struct lab_server *relay_target(struct lab_env *env, const struct lab_cell *cell,
                                       struct lab_outcome *o)
{
    char err[256] = "";
    int platform = cell->policy == LAB_PLATFORM_ID ? 1 : 2;
    struct lab_server *s = lab_server_get(env, cell->mode, platform, err, sizeof err);
    if (!s)
        lab_fail(o, "genuine server S%d: %s", platform, err);
    return s;
}

/* TLS with the victim client under the attacker's own certificate. */
static SSL *front_accept(struct lab_attacker *a, int *fd_out)
{
    *fd_out = -1;
    int fd = lab_attacker_accept(a);
    if (fd < 0)
        return NULL;
    EVP_PKEY *k = lab_new_key();
    X509 *x = k ? lab_self_signed(k, "attacker", NULL) : NULL;
    SSL *s = x ? lab_tls_accept(fd, k, x, NULL, NULL) : NULL;
    EVP_PKEY_free(k);
    X509_free(x);
    if (!s) {
        lab_note(a, "TLS with the client failed");
        close(fd);
        return NULL;
    }
    *fd_out = fd;
    return s;
}

static void close_ssl(SSL *s, int fd)
{
    lab_tls_free(s);
    if (fd >= 0) {
        shutdown(fd, SHUT_RDWR);
        close(fd);
    }
}

/* Wait (bounded by the socket deadline) until the client gives up on us. */
static void wait_close(SSL *c)
{
    uint8_t b[256];
    for (int i = 0; i < 4 && SSL_read(c, b, sizeof b) > 0; i++)
        ;
    ERR_clear_error();
}

struct client_request {
    uint8_t *msg;
    size_t len;
    struct ea_request req;
};

static int read_request(struct lab_attacker *a, SSL *c, struct client_request *r)
{
    uint8_t type = 0;
    enum ea_error e = EA_OK;
    memset(r, 0, sizeof *r);
    if (lab_read_frame(c, &type, &r->msg, &r->len) != 0 || type != EA_FRAME_REQUEST ||
        ea_request_parse(r->msg, r->len, &r->req, &e) != 0) {
        lab_note(a, "no authenticator request from the client");
        return -1;
    }
    return 0;
}

/* What any TLS terminator can compute for the client's connection: the binder of a leaf
 * certificate, with the exporter of the connection it shares with the client. */
static int client_binder(SSL *c, const struct client_request *r, const uint8_t *cert_der,
                         size_t cert_len, const char *label, struct binder *b)
{
    struct ea_exporters x;
    uint8_t exported[BINDER_EXPORTER_LEN];
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    int rc = -1;
    if (lab_exporters(c, true, &x) == 0 &&
        lab_export(c, label, r->req.context, r->req.context_len, exported) == 0 &&
        lab_cert_spki(cert_der, cert_len, &spki, &spki_len) == 0)
        rc = binder_compute(x.md, spki, spki_len, exported, b);
    OPENSSL_free(spki);
    return rc;
}

/* An authenticator for the client's request, valid on the client's connection: leaf
 * (key, cert), the given evidence, binder fields b and declared label. */
static int forge(SSL *c, const struct client_request *r, EVP_PKEY *key, const uint8_t *cert_der,
                 size_t cert_len, uint16_t sigalg, const uint8_t *ev, size_t ev_len,
                 const char *label, const struct binder *b, struct bytes_writer *out)
{
    struct ea_exporters x;
    char *json = NULL;
    size_t json_len = 0;
    enum ea_error e = EA_OK;
    writer_init(out, EA_FRAME_MAX_PAYLOAD);
    if (lab_exporters(c, true, &x) != 0 || lab_payload_json(ev, ev_len, label, b, &json, &json_len))
        return -1;
    struct ea_authenticator_params ap = {.key = key,
                                         .cert_der = cert_der,
                                         .cert_len = cert_len,
                                         .sigalg = sigalg,
                                         .cmw = (const uint8_t *)json,
                                         .cmw_len = json_len,
                                         .framing = r->req.framing_offered};
    int rc = ea_authenticator_build(&x, r->msg, r->len, &r->req, &ap, out, &e);
    free(json);
    return rc;
}

/* A fresh attacker leaf (P-256 key and self-signed certificate, DER). */
struct leaf {
    EVP_PKEY *key;
    uint8_t *der;
    int der_len;
};

static int leaf_new(struct leaf *l, const char *cn)
{
    memset(l, 0, sizeof *l);
    l->key = lab_new_key();
    X509 *x = l->key ? lab_self_signed(l->key, cn, NULL) : NULL;
    l->der_len = x ? i2d_X509(x, &l->der) : -1;
    X509_free(x);
    return l->der_len > 0 ? 0 : -1;
}

static void leaf_free(struct leaf *l)
{
    EVP_PKEY_free(l->key);
    OPENSSL_free(l->der);
    memset(l, 0, sizeof *l);
}

static EVP_PKEY *cert_pubkey(const uint8_t *der, size_t len)
{
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
    X509_free(x);
    return k;
}

/* A genuine authenticator from server s over the attacker's own connection (its own
 * request), and optionally the leaked key of its leaf. */
static int fetch_genuine(struct lab_server *s, struct lab_genuine *g, EVP_PKEY **key,
                         struct binder *b, char *err, size_t errlen)
{
    struct ea_request req;
    struct bytes_writer msg;
    int rc = -1;
    int fd = lab_dial(s->port);
    SSL *u = fd >= 0 ? lab_tls_connect(fd, NULL) : NULL;
    memset(g, 0, sizeof *g);
    if (!u) {
        errbuf_set(err, errlen, "cannot reach genuine server S%d", s->platform);
        goto out_nomsg;
    }
    if (lab_make_request(&req, &msg) != 0) {
        errbuf_set(err, errlen, "cannot make a request");
        goto out;
    }
    if (lab_genuine_exchange(u, msg.data, msg.len, &req, g, err, errlen) != 0)
        goto out;
    if (b) {
        /* The binder S computed for this connection (the attacker knows its exporter). */
        struct client_request r = {.msg = msg.data, .len = msg.len, .req = req};
        struct ea_exporters x;
        uint8_t exported[BINDER_EXPORTER_LEN];
        uint8_t *spki = NULL;
        size_t spki_len = 0;
        int ok = lab_exporters(u, true, &x) == 0 &&
                 lab_export(u, BINDER_LABEL_SERVER, r.req.context, r.req.context_len, exported) ==
                     0 &&
                 lab_cert_spki(g->cert_der, g->cert_len, &spki, &spki_len) == 0 &&
                 binder_compute(x.md, spki, spki_len, exported, b) == 0;
        OPENSSL_free(spki);
        if (!ok) {
            errbuf_set(err, errlen, "cannot compute the genuine binder");
            goto out;
        }
    }
    if (key) {
        EVP_PKEY *pub = cert_pubkey(g->cert_der, g->cert_len);
        *key = pub ? lab_server_leaked_key_for(s, pub) : NULL;
        EVP_PKEY_free(pub);
        if (!*key) {
            errbuf_set(err, errlen, "the key of S%d's authenticator did not leak", s->platform);
            goto out;
        }
    }
    rc = 0;
out:
    writer_free(&msg);
out_nomsg:
    close_ssl(u, -1);
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        lab_genuine_free(g);
    return rc;
}

/* ---- T-5 / T-6: full MITM relay with the leaked authenticator key ---- */

struct ea_relay {
    struct lab_server *s;
    bool rewrite_context; /* T-6 */
};

static void script_ea_relay(struct lab_attacker *a)
{
    struct ea_relay *r = a->arg;
    int cfd = -1, sfd = -1;
    SSL *c = front_accept(a, &cfd), *u = NULL;
    struct client_request cr = {0};
    struct lab_genuine g = {0};
    EVP_PKEY *pub = NULL, *key = NULL;
    struct bytes_writer fw = {0}, out = {0};
    char err[256] = "";
    if (!c || read_request(a, c, &cr) != 0)
        goto out;
    sfd = lab_dial(r->s->port);
    u = sfd >= 0 ? lab_tls_connect(sfd, NULL) : NULL;
    if (!u) {
        lab_note(a, "cannot reach S%d", r->s->platform);
        goto out;
    }
    /* Forward the client's request to S, unchanged (T-5) or with a context of our own (T-6). */
    struct ea_request sreq = cr.req;
    if (r->rewrite_context)
        RAND_bytes(sreq.context, (int)sreq.context_len);
    writer_init(&fw, 65536);
    if (ea_request_encode(&sreq, &fw) != 0 ||
        lab_genuine_exchange(u, fw.data, fw.len, &sreq, &g, err, sizeof err) != 0) {
        lab_note(a, "%s", err[0] ? err : "cannot forward the request");
        goto out;
    }
    pub = cert_pubkey(g.cert_der, g.cert_len);
    key = pub ? lab_server_leaked_key_for(r->s, pub) : NULL;
    if (!key) {
        lab_note(a, "S%d's authenticator key did not leak", r->s->platform);
        goto out;
    }
    /* S's certificate and evidence, C's context; CertificateVerify re-signed with the leaked
     * key over C's transcript, Finished with C's finished key; the JSON binder fields
     * recomputed for C's connection. Only the hardware-signed report_data is left as S made it. */
    struct binder b;
    if (client_binder(c, &cr, g.cert_der, g.cert_len, BINDER_LABEL_SERVER, &b) != 0 ||
        forge(c, &cr, key, g.cert_der, g.cert_len, g.sigalg, g.evidence, g.evidence_len,
              BINDER_LABEL_SERVER, &b, &out) != 0) {
        lab_note(a, "cannot re-sign S%d's authenticator", r->s->platform);
        goto out;
    }
    if (lab_write_frame(c, EA_FRAME_AUTHENTICATOR, out.data, out.len) != 0) {
        lab_note(a, "cannot send the authenticator");
        goto out;
    }
    lab_note(a, "relayed S%d's evidence%s, re-signed with its leaked key", r->s->platform,
             r->rewrite_context ? " (obtained under a context of its own)" : "");
    lab_relay_data(c, u, &a->plain);
out:
    writer_free(&fw);
    writer_free(&out);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    lab_genuine_free(&g);
    free(cr.msg);
    close_ssl(u, sfd);
    close_ssl(c, cfd);
}

void lab_t5_t6_ea_relay(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    struct ea_relay r = {.s = relay_target(env, cell, o),
                         .rewrite_context = !strcmp(cell->scenario, "T-6")};
    if (!r.s)
        return;
    lab_run_attack(env, cell, o, script_ea_relay, &r, 1, NULL);
}

/* ---- T-3 (tether) and T-11: an earlier session's evidence, replayed ---- */

struct replay {
    struct lab_genuine g;
    EVP_PKEY *key;  /* S's leaked authenticator key (T-3), or NULL: the attacker's own (T-11) */
};

static void script_replay(struct lab_attacker *a)
{
    struct replay *rp = a->arg;
    for (int i = 0; i < a->sessions; i++) {
        int cfd;
        SSL *c = front_accept(a, &cfd);
        struct client_request cr = {0};
        struct bytes_writer out = {0};
        struct leaf own = {0};
        struct binder b;
        if (!c || read_request(a, c, &cr) != 0)
            goto next;
        EVP_PKEY *key = rp->key;
        const uint8_t *cert = rp->g.cert_der;
        size_t cert_len = rp->g.cert_len;
        if (!key) {
            if (leaf_new(&own, "attacker-ea") != 0)
                goto next;
            key = own.key;
            cert = own.der;
            cert_len = (size_t)own.der_len;
        }
        /* A correct binder in the JSON for the client's connection beside the old evidence. */
        if (client_binder(c, &cr, cert, cert_len, BINDER_LABEL_SERVER, &b) != 0 ||
            forge(c, &cr, key, cert, cert_len, EA_SIG_ECDSA_P256_SHA256, rp->g.evidence,
                  rp->g.evidence_len, BINDER_LABEL_SERVER, &b, &out) != 0 ||
            lab_write_frame(c, EA_FRAME_AUTHENTICATOR, out.data, out.len) != 0) {
            lab_note(a, "cannot build the replayed authenticator");
            goto next;
        }
        lab_relay_data(c, NULL, &a->plain);
    next:
        writer_free(&out);
        leaf_free(&own);
        free(cr.msg);
        close_ssl(c, cfd);
    }
    lab_note(a, rp->key ? "replayed an earlier session's certificate and evidence with the "
                          "leaked key"
                        : "sent an earlier session's evidence beside a fresh, correct binder");
}

static void replay_cell(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o,
                        bool leaked_key, int sessions)
{
    struct lab_server *s = relay_target(env, cell, o);
    if (!s)
        return;
    struct replay rp = {0};
    char err[256] = "";
    if (fetch_genuine(s, &rp.g, leaked_key ? &rp.key : NULL, NULL, err, sizeof err) != 0) {
        lab_fail(o, "session 1 with S%d: %s", s->platform, err);
        return;
    }
    lab_run_attack(env, cell, o, script_replay, &rp, sessions, NULL);
    EVP_PKEY_free(rp.key);
    lab_genuine_free(&rp.g);
}

void lab_t3_replay_tether(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    replay_cell(env, cell, o, true, 2);
}

void lab_t11_stale_evidence(struct lab_env *env, const struct lab_cell *cell,
                            struct lab_outcome *o)
{
    replay_cell(env, cell, o, false, 1);
}

/* ---- T-7 / T-9 / T-10: byte forwarding (no TLS termination) ---- */

static struct lab_server *forward_cell(struct lab_env *env, const struct lab_cell *cell,
                                       struct lab_outcome *o, struct lab_forwarder *fw,
                                       struct lab_client *c)
{
    lab_forwarder_init(fw, 0, "cannot reach the server"); /* the caller frees it in any case */
    char err[256] = "";
    struct lab_server *s2 = lab_server_get(env, cell->mode, 2, err, sizeof err);
    if (!s2) {
        lab_fail(o, "genuine server S2: %s", err);
        return NULL;
    }
    fw->port = s2->port;
    struct lab_attacker a;
    memset(&a, 0, sizeof a);
    if (lab_attacker_start(&a, env, cell, lab_script_forward, fw) != 0) {
        lab_fail(o, "cannot start the forwarder");
        lab_log_free(&a.plain);
        return NULL;
    }
    memset(c, 0, sizeof *c);
    c->mode = cell->mode;
    c->policy = cell->policy;
    if (lab_client_run(env, a.port, c, err, sizeof err) != 0)
        lab_fail(o, "client: %s", err);
    lab_attacker_join(&a);
    lab_outcome_from_client(o, c, &a.plain);
    if (!c->accepted && c->error[0])
        lab_detail(o, "client: %s", c->error);
    if (a.note[0])
        lab_detail(o, "attacker: %s", a.note);
    lab_log_free(&a.plain);
    return s2;
}

void lab_t7_byte_forward(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    struct lab_forwarder fw;
    struct lab_client c;
    if (forward_cell(env, cell, o, &fw, &c)) {
        size_t seen = fw.f.a_to_b.len + fw.f.b_to_a.len;
        lab_detail(o, "forwarded %zu bytes of ciphertext", seen);
        o->check_ok = seen > 1000; /* the whole session went through the attacker */
    }
    lab_forwarder_free(&fw);
}

void lab_t9_leaked_secrets(struct lab_env *env, const struct lab_cell *cell,
                           struct lab_outcome *o)
{
    struct lab_forwarder fw;
    struct lab_client c;
    struct lab_server *s2 = forward_cell(env, cell, o, &fw, &c);
    if (s2 && o->ran) {
        /* Decrypt the recorded client records with the secrets leaked from S2. */
        struct lab_log plain;
        lab_log_init(&plain);
        char why[256] = "";
        pthread_mutex_lock(&s2->keylog.lock);
        int n = lab_decrypt_client_records(fw.f.a_to_b.data, fw.f.a_to_b.len, fw.f.b_to_a.data,
                                           fw.f.b_to_a.len, (const char *)s2->keylog.data,
                                           s2->keylog.len, &plain, why, sizeof why);
        pthread_mutex_unlock(&s2->keylog.lock);
        if (n < 0)
            lab_detail(o, "decryption failed: %s", why);
        else
            lab_detail(o, "decrypted %d client records with S2's leaked CLIENT_TRAFFIC_SECRET_0",
                       n);
        o->attacker_read_secret = c.sent && lab_log_contains(&plain, c.secret);
        lab_log_free(&plain);
    }
    lab_forwarder_free(&fw);
}

void lab_t10_diversion(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    struct lab_forwarder fw;
    struct lab_client c;
    struct lab_server *s2 = forward_cell(env, cell, o, &fw, &c);
    if (s2 && o->ran) {
        /* The diversion worked when the client's secret reached S2 (platform P2). */
        bool reached = c.sent && lab_log_contains(&s2->received, c.secret);
        lab_detail(o, "re-routed to S2 (platform P2): client %s, secret %s S2",
                   c.accepted ? "accepted" : "refused", reached ? "delivered to" : "never reached");
        o->check_ok = c.accepted == reached;
    }
    lab_forwarder_free(&fw);
}

/* ---- T-8, T-13, T-14: the attestation oracle (tether mode) ---- */

struct oracle {
    const char *tee;      /* the genuine TEE whose attestation interface is exposed */
    const char *label;    /* exporter label used for the binder and declared in the payload */
    bool cmw_on_non_leaf; /* T-14 */
};

/* Certificate message with two entries: the leaf (framing echo only) and a second
 * certificate carrying cmw_attestation. */
static int certificate_non_leaf_cmw(const struct client_request *r, const struct leaf *l,
                                    const struct leaf *second, const char *json, size_t json_len,
                                    struct bytes_writer *w)
{
    writer_init(w, EA_FRAME_MAX_PAYLOAD);
    writer_u8(w, EA_HS_CERTIFICATE);
    size_t body = writer_vec_begin(w, 3);
    size_t ctx = writer_vec_begin(w, 1);
    writer_bytes(w, r->req.context, r->req.context_len);
    writer_vec_end(w, ctx, 1);
    size_t list = writer_vec_begin(w, 3);
    size_t cert = writer_vec_begin(w, 3);
    writer_bytes(w, l->der, (size_t)l->der_len);
    writer_vec_end(w, cert, 3);
    size_t exts = writer_vec_begin(w, 2);
    if (r->req.framing_offered) {
        writer_u16(w, EA_EXT_TETHER_FRAMING);
        writer_u16(w, 0);
    }
    writer_vec_end(w, exts, 2);
    cert = writer_vec_begin(w, 3);
    writer_bytes(w, second->der, (size_t)second->der_len);
    writer_vec_end(w, cert, 3);
    exts = writer_vec_begin(w, 2);
    writer_u16(w, EA_EXT_CMW_ATTESTATION);
    size_t data = writer_vec_begin(w, 2);
    size_t cmw = writer_vec_begin(w, 2);
    writer_bytes(w, json, json_len);
    writer_vec_end(w, cmw, 2);
    writer_vec_end(w, data, 2);
    writer_vec_end(w, exts, 2);
    writer_vec_end(w, list, 3);
    writer_vec_end(w, body, 3);
    return w->failed ? -1 : 0;
}

static void script_oracle(struct lab_attacker *a)
{
    struct oracle *or = a->arg;
    int cfd;
    SSL *c = front_accept(a, &cfd);
    struct client_request cr = {0};
    struct leaf l = {0}, second = {0};
    struct bytes_writer out = {0}, cert_msg = {0};
    uint8_t *ev = NULL;
    size_t ev_len = 0;
    char *json = NULL;
    size_t json_len = 0;
    char err[256] = "";
    struct binder b;
    if (!c || read_request(a, c, &cr) != 0 || leaf_new(&l, "attacker-ea") != 0)
        goto out;
    /* The binder for the client's connection and the attacker's own leaf, then evidence over
     * exactly that from the oracle: nothing in it is relayed. */
    if (client_binder(c, &cr, l.der, (size_t)l.der_len, or->label, &b) != 0 ||
        lab_oracle_evidence(or->tee, &b, &ev, &ev_len, err, sizeof err) != 0) {
        lab_note(a, "oracle: %s", err[0] ? err : "binder failed");
        goto out;
    }
    if (!or->cmw_on_non_leaf) {
        if (forge(c, &cr, l.key, l.der, (size_t)l.der_len, EA_SIG_ECDSA_P256_SHA256, ev, ev_len,
                  or->label, &b, &out) != 0) {
            lab_note(a, "cannot build the authenticator");
            goto out;
        }
    } else {
        struct ea_exporters x;
        if (leaf_new(&second, "attacker-intermediate") != 0 ||
            lab_payload_json(ev, ev_len, or->label, &b, &json, &json_len) != 0 ||
            certificate_non_leaf_cmw(&cr, &l, &second, json, json_len, &cert_msg) != 0 ||
            lab_exporters(c, true, &x) != 0) {
            lab_note(a, "cannot build the two-entry certificate");
            goto out;
        }
        writer_init(&out, EA_FRAME_MAX_PAYLOAD);
        if (lab_authenticator_from_certificate(&x, cr.msg, cr.len, cert_msg.data, cert_msg.len,
                                               l.key, EA_SIG_ECDSA_P256_SHA256, &out) != 0) {
            lab_note(a, "cannot sign the authenticator");
            goto out;
        }
    }
    if (lab_write_frame(c, EA_FRAME_AUTHENTICATOR, out.data, out.len) != 0)
        goto out;
    lab_note(a, "evidence from %s's oracle over the client connection's binder (label \"%s\")%s",
             or->tee == a->env->tee[0] ? "S1" : "S2", or->label,
             or->cmw_on_non_leaf ? ", cmw_attestation on the second certificate" : "");
    lab_relay_data(c, NULL, &a->plain);
out:
    free(ev);
    free(json);
    free(cr.msg);
    writer_free(&out);
    writer_free(&cert_msg);
    leaf_free(&l);
    leaf_free(&second);
    close_ssl(c, cfd);
}

void lab_t8_oracle_tether(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    /* With the platform-id policy the oracle must be on an allowed platform (S1). */
    struct oracle or = {.tee = env->tee[cell->policy == LAB_PLATFORM_ID ? 0 : 1],
                        .label = BINDER_LABEL_SERVER};
    lab_run_attack(env, cell, o, script_oracle, &or, 1, NULL);
}

void lab_t13_label_confusion(struct lab_env *env, const struct lab_cell *cell,
                             struct lab_outcome *o)
{
    /* Even an attacker with the oracle cannot make the client accept the other label. */
    struct oracle or = {.tee = env->tee[1], .label = "Attestation Binding"};
    lab_run_attack(env, cell, o, script_oracle, &or, 1, NULL);
}

void lab_t14_cmw_placement(struct lab_env *env, const struct lab_cell *cell,
                           struct lab_outcome *o)
{
    struct oracle or = {.tee = env->tee[1], .label = BINDER_LABEL_SERVER, .cmw_on_non_leaf = true};
    lab_run_attack(env, cell, o, script_oracle, &or, 1, NULL);
}

/* ---- T-12: empty or all-zero expected report_data ---- */

void lab_t12_empty_expected(struct lab_env *env, const struct lab_cell *cell,
                            struct lab_outcome *o)
{
    char err[256] = "";
    struct lab_server *s2 = lab_server_get(env, cell->mode, 2, err, sizeof err);
    struct lab_genuine g = {0};
    struct binder b;
    if (!s2 || fetch_genuine(s2, &g, NULL, &b, err, sizeof err) != 0) {
        lab_fail(o, "genuine evidence from S2: %s", err);
        return;
    }
    struct tether_config *cfg = tether_config_new();
    if (!cfg || tether_config_set_policy_json(cfg, env->policy_json[cell->policy], env->sim[0])) {
        lab_fail(o, "verifier config: %s", cfg ? tether_config_error(cfg) : "oom");
        tether_config_free(cfg);
        lab_genuine_free(&g);
        return;
    }
    /* Control: the same evidence verifies against its true report_data. */
    struct tether_verify_params p = {.evidence = g.evidence,
                                     .evidence_len = g.evidence_len,
                                     .binder = b.report_data,
                                     .binder_len = sizeof b.report_data};
    struct tether_result *ok = tether_verify(cfg, &p);
    bool control = ok && tether_result_passed(ok);
    tether_result_free(ok);
    /* The attack: an expected value that was never set (all zero). */
    static const uint8_t zero[64];
    p.binder = zero;
    p.binder_len = sizeof zero;
    struct tether_result *r = tether_verify(cfg, &p);
    o->ran = r != NULL;
    o->client_accepted = r && tether_result_passed(r);
    o->attacker_read_secret = false;
    const char *code = r ? tether_result_failed_code(r) : NULL;
    snprintf(o->code, sizeof o->code, "%s", code ? code : "");
    o->check_ok = control;
    lab_detail(o, "genuine S2 evidence: verifies against its true report_data (%s); against an "
                  "all-zero expected value: %s",
               control ? "pass" : "FAIL", o->client_accepted ? "pass" : "fail");
    if (!r)
        lab_fail(o, "tether_verify: %s", tether_config_error(cfg));
    tether_result_free(r);
    tether_config_free(cfg);
    lab_genuine_free(&g);
}

/* ---- T-15: a whole authenticator from another connection ---- */

static void script_replay_whole(struct lab_attacker *a)
{
    struct lab_genuine *g = a->arg;
    int cfd;
    SSL *c = front_accept(a, &cfd);
    struct client_request cr = {0};
    if (c && read_request(a, c, &cr) == 0 &&
        lab_write_frame(c, EA_FRAME_AUTHENTICATOR, g->auth, g->auth_len) == 0) {
        lab_note(a, "replayed S2's authenticator from another connection, byte for byte");
        lab_relay_data(c, NULL, &a->plain);
    }
    free(cr.msg);
    close_ssl(c, cfd);
}

void lab_t15_authenticator_replay(struct lab_env *env, const struct lab_cell *cell,
                                  struct lab_outcome *o)
{
    char err[256] = "";
    struct lab_server *s2 = lab_server_get(env, cell->mode, 2, err, sizeof err);
    struct lab_genuine g = {0};
    if (!s2 || fetch_genuine(s2, &g, NULL, NULL, err, sizeof err) != 0) {
        lab_fail(o, "genuine authenticator from S2: %s", err);
        return;
    }
    lab_run_attack(env, cell, o, script_replay_whole, &g, 1, NULL);
    lab_genuine_free(&g);
}

/* ---- T-16: application data before attestation ---- */

static void script_data_first(struct lab_attacker *a)
{
    int cfd;
    SSL *c = front_accept(a, &cfd);
    struct client_request cr = {0};
    static const char injected[] = "INJECTED-BEFORE-ATTESTATION";
    if (c && read_request(a, c, &cr) == 0 &&
        lab_write_frame(c, EA_FRAME_DATA, (const uint8_t *)injected, sizeof injected - 1) == 0) {
        lab_note(a, "sent an application-data frame before any authenticator");
        wait_close(c);
    }
    free(cr.msg);
    close_ssl(c, cfd);
}

void lab_t16_data_first(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    lab_run_attack(env, cell, o, script_data_first, NULL, 1, NULL);
}

/* ---- T-17: tickets, resumption, 0-RTT ---- */

struct tickets {
    int psk_offered;   /* ClientHellos with pre_shared_key or early_data */
    int resumed;
    int hellos;
};

static int count_psk(SSL *s, int *al, void *arg)
{
    (void)al;
    struct tickets *t = arg;
    const unsigned char *ext;
    size_t len;
    t->hellos++;
    if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_psk, &ext, &len) == 1 ||
        SSL_client_hello_get0_ext(s, TLSEXT_TYPE_early_data, &ext, &len) == 1)
        t->psk_offered++;
    return SSL_CLIENT_HELLO_SUCCESS;
}

static void ticket_server_setup(SSL_CTX *c, void *arg)
{
    /* A server that issues tickets and would resume from them. */
    SSL_CTX_set_num_tickets(c, 2);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(c, (const unsigned char *)"lab-t17", 7);
    SSL_CTX_set_max_early_data(c, 16384);
    SSL_CTX_set_client_hello_cb(c, count_psk, arg);
}

static void script_tickets(struct lab_attacker *a)
{
    struct tickets *t = a->arg;
    /* One SSL_CTX for both connections, so a ticket from the first could resume the second. */
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY *k = lab_new_key();
    X509 *x = k ? lab_self_signed(k, "ticket-server", NULL) : NULL;
    if (!ctx || !x)
        goto out;
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    ticket_server_setup(ctx, t);
    SSL_CTX_use_certificate(ctx, x);
    SSL_CTX_use_PrivateKey(ctx, k);
    for (int i = 0; i < a->sessions; i++) {
        int fd = lab_attacker_accept(a);
        if (fd < 0)
            break;
        SSL *s = SSL_new(ctx);
        if (s && SSL_set_fd(s, fd) == 1 && SSL_accept(s) == 1) {
            if (SSL_session_reused(s))
                t->resumed++;
            /* Tickets are out; the client's request gets no answer: close. */
            struct client_request cr = {0};
            if (read_request(a, s, &cr) == 0)
                free(cr.msg);
        }
        ERR_clear_error();
        close_ssl(s, fd);
    }
out:
    EVP_PKEY_free(k);
    X509_free(x);
    SSL_CTX_free(ctx);
}

static int count_new_session(SSL *ssl, SSL_SESSION *sess)
{
    (void)sess;
    int *n = SSL_get_app_data(ssl);
    (*n)++;
    return 0;
}

/* A ticket-hungry raw client against the genuine server: how many tickets does S send? */
static int tickets_from_genuine(struct lab_server *s)
{
    int fd = lab_dial(s->port);
    if (fd < 0)
        return -1;
    int n = 0;
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    int result = -1;
    if (!c)
        goto out;
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    SSL_CTX_clear_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, count_new_session);
    ssl = SSL_new(c);
    if (!ssl || SSL_set_fd(ssl, fd) != 1)
        goto out;
    SSL_set_app_data(ssl, &n);
    if (SSL_connect(ssl) != 1)
        goto out;
    /* Let any ticket arrive: ask for attestation and read the answer. */
    struct ea_request req;
    struct bytes_writer msg;
    struct lab_genuine g;
    char err[128];
    if (lab_make_request(&req, &msg) == 0 &&
        lab_genuine_exchange(ssl, msg.data, msg.len, &req, &g, err, sizeof err) == 0) {
        lab_genuine_free(&g);
        result = n;
    }
    writer_free(&msg);
out:
    ERR_clear_error();
    lab_tls_free(ssl);
    SSL_CTX_free(c);
    close(fd);
    return result;
}

void lab_t17_tickets(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    char err[256] = "";
    struct lab_server *s2 = lab_server_get(env, cell->mode, 2, err, sizeof err);
    if (!s2) {
        lab_fail(o, "genuine server S2: %s", err);
        return;
    }
    int from_genuine = tickets_from_genuine(s2);
    /* Two connections from one client configuration (a shared TLS context could resume). */
    struct lab_client tmpl;
    memset(&tmpl, 0, sizeof tmpl);
    tmpl.mode = cell->mode;
    tmpl.policy = cell->policy;
    tmpl.cfg = lab_config(cell->mode, err, sizeof err);
    if (!tmpl.cfg ||
        tether_config_set_policy_json(tmpl.cfg, env->policy_json[cell->policy], env->sim[0])) {
        lab_fail(o, "client config: %s", err[0] ? err : tether_config_error(tmpl.cfg));
        tether_config_free(tmpl.cfg);
        return;
    }
    struct tickets t = {0};
    lab_run_attack(env, cell, o, script_tickets, &t, 2, &tmpl);
    tether_config_free(tmpl.cfg);
    lab_detail(o, "S2 sent %d tickets; the attacker's server issued 2 per connection; the client "
                  "offered a PSK or early data in %d of %d ClientHellos; %d resumed",
               from_genuine, t.psk_offered, t.hellos, t.resumed);
    o->check_ok = o->check_ok && from_genuine == 0 && t.hellos == 2 && t.psk_offered == 0 &&
                  t.resumed == 0;
    /* The attack "succeeds" only by resuming: count a resumption as acceptance. */
    if (t.resumed)
        o->client_accepted = true;
}

/* ---- T-18: reflection in mutual attestation ---- */

static void script_reflect(struct lab_attacker *a)
{
    int cfd;
    SSL *c = front_accept(a, &cfd);
    struct client_request cr = {0};
    uint8_t type = 0, *auth = NULL;
    size_t auth_len = 0;
    struct bytes_writer w = {0};
    if (!c || read_request(a, c, &cr) != 0)
        goto out;
    /* Ask the client to attest with its own context ... */
    struct ea_request r = cr.req;
    r.msg_type = EA_HS_CERTIFICATE_REQUEST;
    writer_init(&w, 65536);
    if (ea_request_encode(&r, &w) != 0 || lab_write_frame(c, EA_FRAME_REQUEST, w.data, w.len) ||
        lab_read_frame(c, &type, &auth, &auth_len) != 0 || type != EA_FRAME_AUTHENTICATOR) {
        lab_note(a, "the client did not attest");
        goto out;
    }
    /* ... and hand its authenticator back as the server's. */
    if (lab_write_frame(c, EA_FRAME_AUTHENTICATOR, auth, auth_len) == 0) {
        lab_note(a, "reflected the client's own authenticator");
        lab_relay_data(c, NULL, &a->plain);
    }
out:
    writer_free(&w);
    free(auth);
    free(cr.msg);
    close_ssl(c, cfd);
}

void lab_t18_reflection(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    struct lab_client tmpl;
    memset(&tmpl, 0, sizeof tmpl);
    tmpl.mode = cell->mode;
    tmpl.policy = cell->policy;
    tmpl.attest_tee = env->tee[0]; /* the client attests with the same image */
    lab_run_attack(env, cell, o, script_reflect, NULL, 1, &tmpl);
}

/* ---- T-19: weak TLS parameters ---- */

static void weak_setup(SSL_CTX *c, void *arg)
{
    if (arg) { /* TLS 1.2 only */
        SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
    } else { /* TLS 1.3 with a finite-field group only */
        SSL_CTX_set1_groups_list(c, "ffdhe2048");
    }
}

static void script_weak(struct lab_attacker *a)
{
    for (int i = 0; i < a->sessions; i++) {
        int fd = lab_attacker_accept(a);
        if (fd < 0)
            return;
        EVP_PKEY *k = lab_new_key();
        X509 *x = k ? lab_self_signed(k, "weak", NULL) : NULL;
        SSL *s = x ? lab_tls_accept(fd, k, x, weak_setup, i == 0 ? (void *)1 : NULL) : NULL;
        if (s) {
            lab_note(a, "%s handshake completed", i == 0 ? "TLS 1.2" : "FFDHE");
            lab_relay_data(s, NULL, &a->plain);
        } else {
            lab_note(a, "%s: the client refused the handshake", i == 0 ? "TLS 1.2" : "ffdhe2048");
        }
        EVP_PKEY_free(k);
        X509_free(x);
        close_ssl(s, fd);
    }
}

void lab_t19_weak_tls(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    lab_run_attack(env, cell, o, script_weak, NULL, 2, NULL);
}

/* ---- T-20: one authenticator key per connection and per instance ---- */

void lab_t20_key_reuse(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    char err[256] = "";
    struct lab_server *s[2];
    EVP_PKEY *keys[4] = {0};
    int n_keys = 0, accepted = 0;
    for (int p = 0; p < 2; p++) {
        s[p] = lab_server_get(env, cell->mode, p + 1, err, sizeof err);
        if (!s[p]) {
            lab_fail(o, "genuine server S%d: %s", p + 1, err);
            return;
        }
    }
    for (int i = 0; i < 4; i++) {
        struct lab_server *srv = s[i / 2];
        int before = lab_server_leak_count(srv);
        struct lab_client c;
        memset(&c, 0, sizeof c);
        c.mode = cell->mode;
        c.policy = LAB_DEFAULT;
        if (lab_client_run(env, srv->port, &c, err, sizeof err) != 0) {
            lab_fail(o, "client: %s", err);
            break;
        }
        accepted += c.accepted;
        EVP_PKEY *all[LAB_MAX_LEAKS];
        int n = 0;
        lab_server_leaked_keys(srv, all, LAB_MAX_LEAKS, &n);
        for (int j = 0; j < n; j++) {
            if (j == before && n_keys < 4)
                keys[n_keys++] = all[j];
            else
                EVP_PKEY_free(all[j]);
        }
    }
    int distinct = 0;
    for (int i = 0; i < n_keys; i++) {
        bool unique = true;
        for (int j = 0; j < n_keys; j++)
            if (i != j && EVP_PKEY_eq(keys[i], keys[j]) == 1)
                unique = false;
        distinct += unique;
    }
    for (int i = 0; i < n_keys; i++)
        EVP_PKEY_free(keys[i]);
    o->ran = !o->lab_error;
    o->client_accepted = accepted == 4;
    o->attacker_read_secret = false;
    o->check_ok = n_keys == 4 && distinct == 4;
    lab_detail(o, "4 connections (2 to S1, 2 to S2): %d accepted, %d authenticator keys seen, %d "
                  "distinct",
               accepted, n_keys, distinct);
}
