/*
 * attacks_legacy.c - the attackers against the INSECURE legacy modes (research protocol.md
 * 9.2-9.3: T-1, T-2, T-3, T-8 against ra-nonce / ra-key / ra-key-nonce / ra-early-exporter,
 * and T-4, the early-exporter relay, in its two variants). The legacy modes carry the evidence
 * inside the TLS handshake (server certificate), so these attackers work on the TLS layer
 * itself.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "binding/early_exporter.h"
#include "binding/legacy_binder.h"
#include "binding/ratls_ext.h"
#include "lab/lab.h"
#include "tls/legacy.h"

/* ---- helpers ---- */

static enum legacy_mode legacy_of(enum lab_mode m)
{
    enum legacy_mode lm = LEGACY_NONE;
    if (legacy_mode_parse(lab_mode_name(m), &lm) != 0)
        lm = LEGACY_NONE;
    return lm;
}

static struct lab_server *s2_of(struct lab_env *env, const struct lab_cell *cell,
                                struct lab_outcome *o)
{
    char err[256] = "";
    struct lab_server *s = lab_server_get(env, cell->mode, 2, err, sizeof err);
    if (!s)
        lab_fail(o, "genuine server S2: %s", err);
    return s;
}

static void close_fd(int fd)
{
    if (fd >= 0) {
        shutdown(fd, SHUT_RDWR);
        close(fd);
    }
}

/* ---- T-1 / T-2: relay inside the handshake ----
 * The attacker reads the client's nonce from the ClientHello's server_name (in clear),
 * opens its own connection to S2 with the same server_name, and S2 mints a certificate with
 * evidence over that nonce. T-1 copies the evidence extension into a certificate for the
 * attacker's own key (no extraction needed); T-2 presents S2's certificate unchanged, with
 * S2's extracted TLS key. All of this runs in the certificate callback of the attacker's
 * handshake with the client, before it answers the ClientHello. */

struct handshake_relay {
    struct lab_attacker *a;
    struct lab_server *s;
    bool leaked_key;  /* T-2 */
    SSL *up;          /* the attacker's connection to S2 */
    int up_fd;
};

static int relay_cert_cb(SSL *ssl, void *arg)
{
    struct handshake_relay *r = arg;
    if (r->up)
        return 1; /* again after a HelloRetryRequest: already in place */
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    r->up_fd = lab_dial(r->s->port);
    r->up = r->up_fd >= 0 ? lab_tls_connect(r->up_fd, sni) : NULL;
    if (!r->up) {
        lab_note(r->a, "cannot open the relayed handshake with S2");
        return 0;
    }
    X509 *scert = SSL_get1_peer_certificate(r->up);
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    if (scert && r->leaked_key) {
        key = lab_server_leaked_key_for(r->s, X509_get0_pubkey(scert));
        cert = scert;
        scert = NULL;
        if (!key)
            lab_note(r->a, "S2's TLS key did not leak");
    } else if (scert) {
        const uint8_t *v = NULL;
        size_t n = 0;
        key = lab_new_key();
        if (key && legacy_cert_extension(scert, &v, &n) == 0)
            cert = legacy_cert_with_extension(key, v, n);
        if (!cert)
            lab_note(r->a, "S2's certificate has no evidence extension to copy");
    }
    int ok = key && cert && SSL_use_certificate(ssl, cert) == 1 &&
             SSL_use_PrivateKey(ssl, key) == 1;
    if (ok)
        lab_note(r->a, "%s; %s",
                 sni ? "copied the client's nonce (server_name) into its own handshake with S2"
                     : "opened its own handshake with S2 (the client sent no nonce)",
                 r->leaked_key ? "presented S2's certificate with its leaked TLS key"
                               : "copied S2's evidence into a certificate for its own key");
    X509_free(scert);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok ? 1 : 0;
}

static void relay_setup(SSL_CTX *c, void *arg)
{
    SSL_CTX_set_cert_cb(c, relay_cert_cb, arg);
}

static void script_handshake_relay(struct lab_attacker *a)
{
    struct handshake_relay *r = a->arg;
    r->a = a;
    r->up = NULL;
    r->up_fd = -1;
    int fd = lab_attacker_accept(a);
    if (fd < 0)
        return;
    SSL *c = lab_tls_accept(fd, NULL, NULL, relay_setup, r);
    if (c)
        lab_relay_data(c, r->up, &a->plain);
    else
        lab_note(a, "the client refused the handshake");
    lab_tls_free(c);
    close_fd(fd);
    lab_tls_free(r->up);
    close_fd(r->up_fd);
    r->up = NULL;
}

void lab_t1_nonce_relay(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    struct handshake_relay r = {.s = s2_of(env, cell, o)};
    if (r.s)
        lab_run_attack(env, cell, o, script_handshake_relay, &r, 1, NULL);
}

void lab_t2_key_relay(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    struct handshake_relay r = {.s = s2_of(env, cell, o), .leaked_key = true};
    if (r.s)
        lab_run_attack(env, cell, o, script_handshake_relay, &r, 1, NULL);
}

/* ---- T-3: replay of one session's certificate and extracted key ---- */

struct legacy_replay {
    X509 *cert;
    EVP_PKEY *key;
};

static void script_legacy_replay(struct lab_attacker *a)
{
    struct legacy_replay *rp = a->arg;
    for (int i = 0; i < a->sessions; i++) {
        int fd = lab_attacker_accept(a);
        if (fd < 0)
            return;
        SSL *c = lab_tls_accept(fd, rp->key, rp->cert, NULL, NULL);
        if (c)
            lab_relay_data(c, NULL, &a->plain);
        lab_tls_free(c);
        close_fd(fd);
    }
    lab_note(a, "served the certificate and leaked key of an earlier S2 session to every client");
}

void lab_t3_replay(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    if (cell->mode == LAB_TETHER) {
        lab_t3_replay_tether(env, cell, o);
        return;
    }
    struct lab_server *s = s2_of(env, cell, o);
    if (!s)
        return;
    /* Session 1: the attacker's own connection to S2 (with a nonce of its own, if the mode
     * wants one); it keeps the certificate and the key that leaks from S2. */
    struct legacy_replay rp = {0};
    char sni[LEGACY_SNI_LEN + 1];
    uint8_t nonce[LEGACY_NONCE_LEN];
    bool nonce_mode = legacy_mode_has_nonce(legacy_of(cell->mode));
    if (nonce_mode) {
        RAND_bytes(nonce, sizeof nonce);
        legacy_sni_encode(nonce, sni);
    }
    int fd = lab_dial(s->port);
    SSL *up = fd >= 0 ? lab_tls_connect(fd, nonce_mode ? sni : NULL) : NULL;
    rp.cert = up ? SSL_get1_peer_certificate(up) : NULL;
    rp.key = rp.cert ? lab_server_leaked_key_for(s, X509_get0_pubkey(rp.cert)) : NULL;
    lab_tls_free(up);
    close_fd(fd);
    if (!rp.key) {
        lab_fail(o, "session 1 with S2 gave no certificate and leaked key");
    } else {
        lab_run_attack(env, cell, o, script_legacy_replay, &rp, 2, NULL);
    }
    X509_free(rp.cert);
    EVP_PKEY_free(rp.key);
}

/* ---- T-8: evidence from the attestation oracle, in the handshake ---- */

struct legacy_oracle {
    struct lab_attacker *a;
    const char *tee;
    enum legacy_mode mode;
    uint8_t ch[CLIENT_HELLO_MAX]; /* ra-early-exporter: the client's ClientHello, as received */
    size_t ch_len;
};

/* The first ClientHello the attacker's server SSL receives (message callback). */
static void oracle_msg_cb(int write_p, int version, int content_type, const void *buf,
                          size_t len, SSL *ssl, void *arg)
{
    (void)version, (void)ssl;
    struct legacy_oracle *or = arg;
    const uint8_t *p = buf;
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len >= 1 &&
        p[0] == SSL3_MT_CLIENT_HELLO && or->ch_len == 0 && len <= sizeof or->ch) {
        memcpy(or->ch, buf, len);
        or->ch_len = len;
    }
}

static int oracle_cert_cb(SSL *ssl, void *arg)
{
    struct legacy_oracle *or = arg;
    uint8_t nonce[LEGACY_NONCE_LEN];
    bool has_nonce = legacy_mode_has_nonce(or->mode);
    if (has_nonce &&
        legacy_sni_decode(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), nonce) != 0) {
        lab_note(or->a, "the client sent no nonce");
        return 0;
    }
    EVP_PKEY *key = lab_new_key();
    uint8_t *spki = NULL, *ev = NULL;
    int spki_len = key ? i2d_PUBKEY(key, &spki) : -1;
    size_t ev_len = 0;
    struct binder b;
    struct bytes_writer w;
    writer_init(&w, RATLS_EXT_MAX);
    X509 *cert = NULL;
    char err[256] = "";
    int ok = 0;
    /* ra-early-exporter: the early exporter is a function of the ClientHello the attacker
     * holds in clear, with no secret input: it computes it as the client will. */
    uint8_t ee[LEGACY_EE_LEN];
    bool use_ee = legacy_mode_uses_early_exporter(or->mode);
    const char *why = NULL;
    const SSL_CIPHER *suite = SSL_get_pending_cipher(ssl);
    if (use_ee && legacy_early_exporter(suite ? SSL_CIPHER_get_handshake_digest(suite) : NULL,
                                        or->ch, or->ch_len, ee, &why) != 0) {
        lab_note(or->a, "no early exporter: %s", why ? why : "?");
        goto out;
    }
    /* What the client will expect for the attacker's own key, signed by the oracle. */
    if (spki_len <= 0 ||
        legacy_binder_compute_ee(or->mode, spki, (size_t)spki_len, has_nonce ? nonce : NULL,
                                 has_nonce ? sizeof nonce : 0, use_ee ? ee : NULL,
                                 use_ee ? sizeof ee : 0, &b) != 0)
        goto out;
    if (lab_oracle_evidence(or->tee, &b, &ev, &ev_len, err, sizeof err) != 0) {
        lab_note(or->a, "oracle: %s", err);
        goto out;
    }
    struct ratls_claims claims;
    memset(&claims, 0, sizeof claims);
    claims.has_pubkey_hash = true;
    claims.hash_alg = RATLS_HASH_SHA256;
    claims.pubkey_hash_len = 32;
    unsigned dl = 0;
    if (!EVP_Digest(spki, (size_t)spki_len, claims.pubkey_hash, &dl, EVP_sha256(), NULL))
        goto out;
    if (has_nonce) {
        claims.has_nonce = true;
        memcpy(claims.nonce, nonce, sizeof nonce);
        claims.nonce_len = sizeof nonce;
    }
    if (ratls_ext_encode(RATLS_TAG_TETHER_SIM, ev, ev_len, &claims, &w) != 0 ||
        !(cert = legacy_cert_with_extension(key, w.data, w.len)))
        goto out;
    ok = SSL_use_certificate(ssl, cert) == 1 && SSL_use_PrivateKey(ssl, key) == 1;
    if (ok)
        lab_note(or->a, "a certificate for its own key with evidence from S2's oracle%s",
                 use_ee ? " over the early exporter it computed from the client's ClientHello"
                        : "");
out:
    writer_free(&w);
    free(ev);
    OPENSSL_free(spki);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok;
}

static void oracle_setup(SSL_CTX *c, void *arg)
{
    SSL_CTX_set_cert_cb(c, oracle_cert_cb, arg);
    SSL_CTX_set_msg_callback(c, oracle_msg_cb);
    SSL_CTX_set_msg_callback_arg(c, arg);
}

static void script_legacy_oracle(struct lab_attacker *a)
{
    struct legacy_oracle *or = a->arg;
    or->a = a;
    int fd = lab_attacker_accept(a);
    if (fd < 0)
        return;
    SSL *c = lab_tls_accept(fd, NULL, NULL, oracle_setup, or);
    if (c)
        lab_relay_data(c, NULL, &a->plain);
    lab_tls_free(c);
    close_fd(fd);
}

void lab_t8_oracle(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    if (cell->mode == LAB_TETHER) {
        lab_t8_oracle_tether(env, cell, o);
        return;
    }
    struct legacy_oracle *or = calloc(1, sizeof *or);
    if (!or) {
        lab_fail(o, "out of memory");
        return;
    }
    or->tee = env->tee[1];
    or->mode = legacy_of(cell->mode);
    lab_run_attack(env, cell, o, script_legacy_oracle, or, 1, NULL);
    free(or);
}

/* ---- T-4: the early-exporter relay (ra-early-exporter) ----
 * The early exporter is over C's ClientHello, so S2 must see C's ClientHello byte for byte:
 * the attacker forwards it. S2 then answers under keys from C's key share, which the attacker
 * does not have: its Certificate (with the evidence) is encrypted (research protocol.md 4.1,
 * "Caveat"). Byte relay: the attacker can only keep forwarding; C talks to S2 end to end and
 * the attacker reads nothing. Clear-evidence hook: S2's handshake traffic secret leaks (the
 * test-only key log), the attacker decrypts S2's Certificate, then answers C with its OWN key
 * share, S2's certificate and S2's leaked key: C's early exporter matches, C accepts, and the
 * attacker has C's keys (the model's G2/G3 failure, 9.3 "fails*"). */

/* Record types after S2's ServerHello: 20 (CCS) and 23 only, none of them handshake. */
static bool server_flight_encrypted(const uint8_t *p, size_t n, int *records)
{
    size_t off = 0;
    int i = 0;
    bool after_sh = false;
    for (; i < 256 && n - off >= 5; i++) {
        size_t len = (size_t)p[off + 3] << 8 | p[off + 4];
        if (n - off - 5 < len)
            break;
        if (after_sh && p[off] == 22)
            return false;
        if (!after_sh && p[off] == 22 && len > 0 && p[off + 5] == 2)
            after_sh = true;
        off += 5 + len;
    }
    *records = i;
    return after_sh;
}

/* Byte relay. */
void lab_t4_byte_relay(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o)
{
    struct lab_server *s2 = s2_of(env, cell, o);
    if (!s2)
        return;
    struct lab_forwarder fw;
    lab_forwarder_init(&fw, s2->port, "cannot reach S2");
    lab_run_attack(env, cell, o, lab_script_forward, &fw, 1, NULL);
    int records = 0;
    bool encrypted = server_flight_encrypted(fw.f.b_to_a.data, fw.f.b_to_a.len, &records);
    bool oid_in_clear = fw.f.b_to_a.len >= RATLS_EXT_OID_DER_LEN &&
                        memmem(fw.f.b_to_a.data, fw.f.b_to_a.len, RATLS_EXT_OID_DER,
                               RATLS_EXT_OID_DER_LEN) != NULL;
    lab_detail(o, "forwarded the client's ClientHello to S2 verbatim; S2's %d records after its "
                  "ServerHello are %s, the evidence extension %s in clear: the attacker cannot "
                  "read the evidence or answer with its own key share",
               records, encrypted ? "all encrypted" : "NOT all encrypted",
               oid_in_clear ? "IS" : "never appears");
    o->check_ok = o->check_ok && encrypted && !oid_in_clear && fw.f.b_to_a.len > 500;
    lab_forwarder_free(&fw);
}

/* Clear-evidence hook. */
struct t4_hook {
    struct lab_attacker *a;
    struct lab_server *s;
    uint8_t ch[CLIENT_HELLO_MAX];
    size_t ch_len;
    bool done;
};

static void t4_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                      SSL *ssl, void *arg)
{
    (void)version, (void)ssl;
    struct t4_hook *h = arg;
    const uint8_t *p = buf;
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len >= 1 &&
        p[0] == SSL3_MT_CLIENT_HELLO && h->ch_len == 0 && len <= sizeof h->ch) {
        memcpy(h->ch, buf, len);
        h->ch_len = len;
    }
}

/* The leaf of a TLS 1.3 Certificate message in the handshake stream hs. */
static X509 *leaf_of_handshake(const uint8_t *hs, size_t n)
{
    size_t off = 0;
    for (int i = 0; i < 16 && n - off >= 4; i++) {
        uint8_t type = hs[off];
        size_t len = (size_t)hs[off + 1] << 16 | (size_t)hs[off + 2] << 8 | hs[off + 3];
        if (n - off - 4 < len)
            return NULL;
        const uint8_t *b = hs + off + 4;
        if (type == 11) { /* ctx<0..255> list<0..2^24-1> { cert<1..2^24-1>, exts<0..2^16-1> } */
            if (len < 1 || len < 1u + b[0] + 3 + 3)
                return NULL;
            const uint8_t *c = b + 1 + b[0] + 3;
            size_t cl = (size_t)c[0] << 16 | (size_t)c[1] << 8 | c[2];
            if (cl > len - (size_t)(c + 3 - b))
                return NULL;
            const uint8_t *d = c + 3;
            return d2i_X509(NULL, &d, (long)cl);
        }
        off += 4 + len;
    }
    return NULL;
}

/* Read one whole record from fd into log: its type, or -1. */
static int read_record(int fd, struct lab_log *log)
{
    uint8_t hdr[5], *body = NULL;
    size_t have = 0;
    while (have < sizeof hdr) {
        ssize_t r = read(fd, hdr + have, sizeof hdr - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    size_t len = (size_t)hdr[3] << 8 | hdr[4];
    if (len > (1 << 14) + 256 || !(body = malloc(len ? len : 1)))
        return -1;
    for (have = 0; have < len;) {
        ssize_t r = read(fd, body + have, len - have);
        if (r <= 0) {
            free(body);
            return -1;
        }
        have += (size_t)r;
    }
    lab_log_append(log, hdr, sizeof hdr);
    lab_log_append(log, body, len);
    free(body);
    return hdr[0];
}

static int t4_client_hello_cb(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    struct t4_hook *h = arg;
    if (h->done) /* again after a HelloRetryRequest */
        return SSL_CLIENT_HELLO_SUCCESS;
    if (h->ch_len < 4 + 2 + 32) {
        lab_note(h->a, "no ClientHello captured");
        return SSL_CLIENT_HELLO_ERROR;
    }
    /* 1. C's ClientHello, byte for byte, to S2 (one record per 16 KiB). */
    int fd = lab_dial(h->s->port);
    if (fd < 0) {
        lab_note(h->a, "cannot reach S2");
        return SSL_CLIENT_HELLO_ERROR;
    }
    lab_deadlines(fd, LAB_IO_MS);
    bool sent = true;
    for (size_t off = 0; off < h->ch_len && sent;) {
        size_t n = h->ch_len - off > 16384 ? 16384 : h->ch_len - off;
        uint8_t hdr[5] = {22, 3, 1, (uint8_t)(n >> 8), (uint8_t)n};
        sent = write(fd, hdr, 5) == 5 && write(fd, h->ch + off, n) == (ssize_t)n;
        off += n;
    }
    /* 2. S2's answer: ServerHello in clear, the rest under keys from C's key share.
     * 3. The hook: S2's leaked SERVER_HANDSHAKE_TRAFFIC_SECRET opens its Certificate. Read
     *    record by record until the Certificate decrypts (S2 then waits for a Finished that
     *    never comes). */
    struct lab_log s2c;
    lab_log_init(&s2c);
    char why[256] = "";
    uint16_t suite = 0;
    int records = 0;
    X509 *cert = NULL;
    for (; sent && !cert && records < 32; records++) {
        int type = read_record(fd, &s2c);
        if (type < 0)
            break;
        if (type != 23)
            continue;
        struct lab_log hs;
        lab_log_init(&hs);
        pthread_mutex_lock(&h->s->keylog.lock);
        int opened = lab_decrypt_server_handshake(h->ch + 4 + 2, s2c.data, s2c.len,
                                                  (const char *)h->s->keylog.data,
                                                  h->s->keylog.len, &hs, &suite, why, sizeof why);
        pthread_mutex_unlock(&h->s->keylog.lock);
        if (opened > 0)
            cert = leaf_of_handshake(hs.data, hs.len);
        lab_log_free(&hs);
    }
    close_fd(fd);
    lab_log_free(&s2c);
    EVP_PKEY *key = cert ? lab_server_leaked_key_for(h->s, X509_get0_pubkey(cert)) : NULL;
    /* 4. Answer C with the suite S2 chose (same hash, so the same early exporter), our own
     *    key share, S2's certificate and S2's leaked key. */
    const char *suite_name = suite == 0x1301   ? "TLS_AES_128_GCM_SHA256"
                             : suite == 0x1302 ? "TLS_AES_256_GCM_SHA384"
                             : suite == 0x1303 ? "TLS_CHACHA20_POLY1305_SHA256"
                                               : NULL;
    int ok = cert && key && suite_name && SSL_set_ciphersuites(ssl, suite_name) == 1 &&
             SSL_use_certificate(ssl, cert) == 1 && SSL_use_PrivateKey(ssl, key) == 1;
    if (ok)
        lab_note(h->a, "forwarded the client's ClientHello to S2 verbatim, read %d records, "
                       "decrypted S2's Certificate with its leaked handshake secret; answered "
                       "the client with its own key share, S2's certificate and leaked key",
                 records);
    else
        lab_note(h->a, "S2's evidence not obtained (%d records; %s%s%s)", records,
                 why[0] ? why : "", cert ? "" : " no certificate", key ? "" : " no leaked key");
    h->done = ok;
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok ? SSL_CLIENT_HELLO_SUCCESS : SSL_CLIENT_HELLO_ERROR;
}

static void t4_setup(SSL_CTX *c, void *arg)
{
    SSL_CTX_set_msg_callback(c, t4_msg_cb);
    SSL_CTX_set_msg_callback_arg(c, arg);
    SSL_CTX_set_client_hello_cb(c, t4_client_hello_cb, arg);
}

static void script_t4_hook(struct lab_attacker *a)
{
    struct t4_hook *h = a->arg;
    h->a = a;
    h->ch_len = 0;
    h->done = false;
    int fd = lab_attacker_accept(a);
    if (fd < 0)
        return;
    SSL *c = lab_tls_accept(fd, NULL, NULL, t4_setup, h);
    if (c)
        lab_relay_data(c, NULL, &a->plain);
    else
        lab_note(a, "the client refused the handshake");
    lab_tls_free(c);
    close_fd(fd);
}

void lab_t4_clear_evidence(struct lab_env *env, const struct lab_cell *cell,
                           struct lab_outcome *o)
{
    struct t4_hook *h = calloc(1, sizeof *h);
    if (!h) {
        lab_fail(o, "out of memory");
        return;
    }
    h->s = s2_of(env, cell, o);
    if (h->s)
        lab_run_attack(env, cell, o, script_t4_hook, h, 1, NULL);
    free(h);
}
