/*
 * test_early_exporter.c - the sans-IO TLS 1.3 early exporter and ClientHello parser
 * (src/binding/early_exporter.c) and ra-early-exporter's EE (src/binding/legacy_binder.c).
 *
 * The independent check: a real 0-RTT resumption handshake between two OpenSSL endpoints on a
 * socket pair, the one place where OpenSSL itself exposes the early exporter
 * (SSL_export_keying_material_early, on both sides). tls13_early_exporter, given the
 * ClientHello bytes the message callback saw and the resumption PSK of the session
 * (SSL_SESSION_get_master_key), must return the same bytes, for SHA-256 and SHA-384 suites,
 * with and without a context. The PSK-less value ra-early-exporter uses is then the same
 * computation with IKM = Hash.length zero bytes (RFC 8446 7.1), which is checked too.
 */
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
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "binding/early_exporter.h"
#include "binding/legacy_binder.h"

#define LABEL "attestation-binder"

/* ---- the ClientHello as the message callback sees it ---- */

struct seen {
    uint8_t ch[8192];
    size_t ch_len;
    int n_ch;
};

static int seen_index = -1;

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg)
{
    (void)version, (void)arg;
    struct seen *s = SSL_get_ex_data(ssl, seen_index);
    const uint8_t *p = buf;
    bool server = SSL_is_server(ssl);
    if (!s || content_type != SSL3_RT_HANDSHAKE || len < 1 || p[0] != SSL3_MT_CLIENT_HELLO ||
        (server ? write_p : !write_p))
        return;
    s->n_ch++;
    if (s->n_ch == 1 && len <= sizeof s->ch) {
        memcpy(s->ch, buf, len);
        s->ch_len = len;
    }
}

static void timeouts(int fd)
{
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* ---- a raw OpenSSL server in a thread ---- */

struct server {
    SSL_CTX *ctx;
    int fd;
    bool early;                  /* read 0-RTT data first */
    int rc;                      /* 1: handshake done */
    int early_status;
    char early_data[64];
    uint8_t ee[2][32];           /* SSL_export_keying_material_early: ctx "abc", no ctx */
    int ee_rc[2];
    struct seen seen;
};

static void *server_main(void *arg)
{
    struct server *sv = arg;
    SSL *s = SSL_new(sv->ctx);
    SSL_set_ex_data(s, seen_index, &sv->seen);
    SSL_set_fd(s, sv->fd);
    SSL_set_accept_state(s);
    sv->rc = 0;
    if (sv->early) {
        size_t n = 0, total = 0;
        for (int i = 0; i < 16; i++) {
            int r = SSL_read_early_data(s, sv->early_data + total,
                                        sizeof sv->early_data - 1 - total, &n);
            if (r == SSL_READ_EARLY_DATA_ERROR)
                goto out;
            if (r == SSL_READ_EARLY_DATA_SUCCESS)
                total += n;
            if (r == SSL_READ_EARLY_DATA_FINISH)
                break;
        }
        sv->early_status = SSL_get_early_data_status(s);
    }
    if (SSL_do_handshake(s) != 1) {
        ERR_print_errors_fp(stderr);
        goto out;
    }
    sv->rc = 1;
    sv->ee_rc[0] = SSL_export_keying_material_early(s, sv->ee[0], 32, LABEL, strlen(LABEL),
                                                    (const uint8_t *)"abc", 3);
    sv->ee_rc[1] = SSL_export_keying_material_early(s, sv->ee[1], 32, LABEL, strlen(LABEL), NULL,
                                                    0);
    SSL_write(s, "x", 1); /* the client reads this, and the tickets before it */
    char b;
    SSL_read(s, &b, 1); /* until the client closes */
    SSL_shutdown(s);    /* a clean close keeps the session in the cache (anti-replay) */
out:
    ERR_clear_error();
    SSL_free(s);
    shutdown(sv->fd, SHUT_RDWR);
    return NULL;
}

static SSL_CTX *server_ctx(const char *suite)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    assert_non_null(c);
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    assert_int_equal(SSL_CTX_set_ciphersuites(c, suite), 1);
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"ee-test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    assert_int_equal(SSL_CTX_use_certificate(c, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(c, k), 1);
    X509_free(x);
    EVP_PKEY_free(k);
    SSL_CTX_set_max_early_data(c, 1024);
    SSL_CTX_set_msg_callback(c, msg_cb);
    return c;
}

struct client_run {
    SSL_SESSION *resume; /* in: resume this session with 0-RTT */
    SSL_SESSION *session; /* out: the session after the handshake (tickets read) */
    int rc;
    int early_status;
    uint8_t ee[2][32];
    int ee_rc[2];
    struct seen seen;
};

static void run_pair(SSL_CTX *sctx, SSL_CTX *cctx, struct client_run *cr, struct server *sv)
{
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    timeouts(fds[0]);
    timeouts(fds[1]);
    memset(sv, 0, sizeof *sv);
    sv->ctx = sctx;
    sv->fd = fds[1];
    sv->early = cr->resume != NULL;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, server_main, sv), 0);

    SSL *s = SSL_new(cctx);
    SSL_set_ex_data(s, seen_index, &cr->seen);
    SSL_set_fd(s, fds[0]);
    if (cr->resume) {
        assert_int_equal(SSL_set_session(s, cr->resume), 1);
        size_t w = 0;
        assert_int_equal(SSL_write_early_data(s, "early!", 6, &w), 1);
        assert_int_equal(w, 6);
    }
    cr->rc = SSL_connect(s);
    if (cr->rc != 1)
        ERR_print_errors_fp(stderr);
    char b = 0;
    if (cr->rc == 1 && SSL_read(s, &b, 1) == 1) { /* the tickets arrive before this byte */
        cr->early_status = SSL_get_early_data_status(s);
        cr->ee_rc[0] = SSL_export_keying_material_early(s, cr->ee[0], 32, LABEL, strlen(LABEL),
                                                        (const uint8_t *)"abc", 3);
        cr->ee_rc[1] = SSL_export_keying_material_early(s, cr->ee[1], 32, LABEL, strlen(LABEL),
                                                        NULL, 0);
        cr->session = SSL_get1_session(s);
    }
    ERR_clear_error();
    SSL_shutdown(s);
    SSL_free(s);
    shutdown(fds[0], SHUT_RDWR);
    pthread_join(th, NULL);
    close(fds[0]);
    close(fds[1]);
}

static void zero_rtt_case(const char *suite, const EVP_MD *md)
{
    SSL_CTX *sctx = server_ctx(suite);
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
    assert_int_equal(SSL_CTX_set_ciphersuites(cctx, suite), 1);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_msg_callback(cctx, msg_cb);

    /* 1. a full handshake: no PSK, and OpenSSL refuses the early exporter */
    struct client_run first = {0};
    struct server sv;
    run_pair(sctx, cctx, &first, &sv);
    assert_int_equal(first.rc, 1);
    assert_int_equal(sv.rc, 1);
    assert_non_null(first.session);
    assert_true(SSL_SESSION_get_max_early_data(first.session) > 0);
    assert_int_equal(first.ee_rc[1], 0); /* what made tether believe it impossible */
    assert_int_equal(first.seen.n_ch, 1);
    assert_int_equal(sv.seen.n_ch, 1);
    /* both sides saw the same bytes, and the PSK-less value agrees on both */
    assert_int_equal(first.seen.ch_len, sv.seen.ch_len);
    assert_memory_equal(first.seen.ch, sv.seen.ch, first.seen.ch_len);
    struct client_hello ch;
    const char *why = NULL;
    assert_int_equal(client_hello_parse(first.seen.ch, first.seen.ch_len, &ch, &why), 0);
    assert_true(ch.offers_tls13 && ch.has_key_share && !ch.has_pre_shared_key);
    uint8_t ee_legacy[LEGACY_EE_LEN];
    assert_int_equal(legacy_early_exporter(md, first.seen.ch, first.seen.ch_len, ee_legacy, &why), 0);

    /* 2. resumption with 0-RTT: OpenSSL now exports the early exporter on both sides */
    struct client_run second = {.resume = first.session};
    run_pair(sctx, cctx, &second, &sv);
    assert_int_equal(second.rc, 1);
    assert_int_equal(sv.rc, 1);
    assert_int_equal(sv.early_status, SSL_EARLY_DATA_ACCEPTED);
    assert_int_equal(second.early_status, SSL_EARLY_DATA_ACCEPTED);
    assert_string_equal(sv.early_data, "early!");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(second.ee_rc[i], 1);
        assert_int_equal(sv.ee_rc[i], 1);
        assert_memory_equal(second.ee[i], sv.ee[i], 32);
    }
    assert_int_equal(second.seen.ch_len, sv.seen.ch_len);
    assert_memory_equal(second.seen.ch, sv.seen.ch, second.seen.ch_len);
    assert_int_equal(client_hello_parse(second.seen.ch, second.seen.ch_len, &ch, &why), 0);
    assert_true(ch.has_pre_shared_key && ch.has_early_data);

    /* the resumption PSK, and our computation over the captured ClientHello */
    uint8_t psk[64];
    size_t hl = (size_t)EVP_MD_get_size(md);
    assert_int_equal(SSL_SESSION_get_master_key(first.session, psk, sizeof psk), hl);
    uint8_t ours[32];
    assert_int_equal(tls13_early_exporter(md, psk, hl, second.seen.ch, second.seen.ch_len, LABEL,
                                          strlen(LABEL), (const uint8_t *)"abc", 3, ours, 32),
                     0);
    assert_memory_equal(ours, sv.ee[0], 32);
    assert_int_equal(tls13_early_exporter(md, psk, hl, second.seen.ch, second.seen.ch_len, LABEL,
                                          strlen(LABEL), NULL, 0, ours, 32),
                     0);
    assert_memory_equal(ours, sv.ee[1], 32);
    /* any change to the inputs changes the value */
    uint8_t other[32];
    assert_int_equal(tls13_early_exporter(md, psk, hl, second.seen.ch, second.seen.ch_len,
                                          "attestation-bindex", strlen(LABEL), NULL, 0, other, 32),
                     0);
    assert_memory_not_equal(other, ours, 32);
    psk[0] ^= 1;
    assert_int_equal(tls13_early_exporter(md, psk, hl, second.seen.ch, second.seen.ch_len, LABEL,
                                          strlen(LABEL), NULL, 0, other, 32),
                     0);
    assert_memory_not_equal(other, ours, 32);

    /* 3. no PSK means IKM = Hash.length zero bytes (RFC 8446 7.1): the PSK-less value of the
     *    first ClientHello is exactly the computation OpenSSL agreed with, with a zero PSK */
    uint8_t zero[64] = {0}, with_zero[32], without[32];
    assert_int_equal(tls13_early_exporter(md, zero, hl, first.seen.ch, first.seen.ch_len, LABEL,
                                          strlen(LABEL), NULL, 0, with_zero, 32),
                     0);
    assert_int_equal(tls13_early_exporter(md, NULL, 0, first.seen.ch, first.seen.ch_len, LABEL,
                                          strlen(LABEL), NULL, 0, without, 32),
                     0);
    assert_memory_equal(with_zero, without, 32);
    assert_memory_equal(without, ee_legacy, 32);
    /* ra-early-exporter refuses a ClientHello that offers a PSK or early data */
    assert_int_equal(legacy_early_exporter(md, second.seen.ch, second.seen.ch_len, ee_legacy, &why),
                     -1);
    assert_non_null(why);

    SSL_SESSION_free(first.session);
    SSL_SESSION_free(second.session);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

static void early_exporter_matches_openssl_in_0rtt_with_sha256(void **state)
{
    (void)state;
    zero_rtt_case("TLS_AES_128_GCM_SHA256", EVP_sha256());
}

static void early_exporter_matches_openssl_in_0rtt_with_sha384(void **state)
{
    (void)state;
    zero_rtt_case("TLS_AES_256_GCM_SHA384", EVP_sha384());
}

/* ---- arguments and the parser ---- */

/* A minimal, well-formed TLS 1.3 ClientHello with a server_name. */
static size_t build_ch(uint8_t *out, const char *sni, bool dup_ext, bool psk_not_last)
{
    uint8_t body[512];
    size_t n = 0;
    body[n++] = 0x03, body[n++] = 0x03;
    for (int i = 0; i < 32; i++)
        body[n++] = (uint8_t)i;
    body[n++] = 0;                                       /* session id */
    body[n++] = 0, body[n++] = 2, body[n++] = 0x13, body[n++] = 0x01; /* suites */
    body[n++] = 1, body[n++] = 0;                        /* compression */
    size_t ext_len_at = n;
    n += 2;
    size_t ext_start = n;
    /* supported_versions: 43, len 3, list len 2, 0x0304 */
    const uint8_t sv[] = {0, 43, 0, 3, 2, 3, 4};
    memcpy(body + n, sv, sizeof sv);
    n += sizeof sv;
    if (psk_not_last) {
        const uint8_t psk[] = {0, 41, 0, 0};
        memcpy(body + n, psk, sizeof psk);
        n += sizeof psk;
    }
    size_t sl = strlen(sni);
    body[n++] = 0, body[n++] = 0;                        /* server_name */
    body[n++] = (uint8_t)((sl + 5) >> 8), body[n++] = (uint8_t)(sl + 5);
    body[n++] = (uint8_t)((sl + 3) >> 8), body[n++] = (uint8_t)(sl + 3);
    body[n++] = 0;
    body[n++] = (uint8_t)(sl >> 8), body[n++] = (uint8_t)sl;
    memcpy(body + n, sni, sl);
    n += sl;
    if (dup_ext) {
        memcpy(body + n, sv, sizeof sv);
        n += sizeof sv;
    }
    size_t el = n - ext_start;
    body[ext_len_at] = (uint8_t)(el >> 8), body[ext_len_at + 1] = (uint8_t)el;
    out[0] = 1, out[1] = 0, out[2] = (uint8_t)(n >> 8), out[3] = (uint8_t)n;
    memcpy(out + 4, body, n);
    return n + 4;
}

static void client_hello_parser_is_strict(void **state)
{
    (void)state;
    uint8_t m[600];
    size_t n = build_ch(m, "abc.nonce", false, false);
    struct client_hello ch;
    const char *why = NULL;
    assert_int_equal(client_hello_parse(m, n, &ch, &why), 0);
    assert_null(why);
    assert_true(ch.offers_tls13);
    assert_int_equal(ch.n_extensions, 2);
    assert_int_equal(ch.n_cipher_suites, 1);
    assert_int_equal(ch.server_name_len, 9);
    assert_memory_equal(ch.server_name, "abc.nonce", 9);
    assert_int_equal(ch.random[31], 31);
    /* every truncation and one trailing byte are refused */
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(client_hello_parse(m, k, &ch, &why), -1);
        assert_non_null(why);
    }
    m[n] = 0;
    assert_int_equal(client_hello_parse(m, n + 1, &ch, &why), -1);
    /* wrong type */
    m[0] = 2;
    assert_int_equal(client_hello_parse(m, n, &ch, &why), -1);
    /* a duplicated extension; pre_shared_key not last */
    n = build_ch(m, "x", true, false);
    assert_int_equal(client_hello_parse(m, n, &ch, &why), -1);
    n = build_ch(m, "x", false, true);
    assert_int_equal(client_hello_parse(m, n, &ch, &why), -1);
    assert_int_equal(client_hello_parse(NULL, 0, &ch, &why), -1);
}

static void early_exporter_refuses_bad_arguments(void **state)
{
    (void)state;
    uint8_t m[600], out[32];
    size_t n = build_ch(m, "abc.nonce", false, false);
    assert_int_equal(tls13_early_exporter(EVP_sha256(), NULL, 0, m, n, LABEL, strlen(LABEL), NULL,
                                          0, out, 32),
                     0);
    assert_int_equal(tls13_early_exporter(EVP_sha512(), NULL, 0, m, n, LABEL, strlen(LABEL), NULL,
                                          0, out, 32),
                     -1); /* not a TLS 1.3 hash */
    assert_int_equal(tls13_early_exporter(EVP_sha256(), NULL, 0, m, n - 1, LABEL, strlen(LABEL),
                                          NULL, 0, out, 32),
                     -1); /* length does not match the header */
    assert_int_equal(tls13_early_exporter(EVP_sha256(), m, 31, m, n, LABEL, strlen(LABEL), NULL, 0,
                                          out, 32),
                     -1); /* PSK of the wrong length */
    assert_int_equal(tls13_early_exporter(EVP_sha256(), NULL, 0, m, n, LABEL, strlen(LABEL), NULL,
                                          0, out, 0),
                     -1);
    char long_label[300];
    memset(long_label, 'a', sizeof long_label);
    assert_int_equal(tls13_early_exporter(EVP_sha256(), NULL, 0, m, n, long_label,
                                          sizeof long_label, NULL, 0, out, 32),
                     -1);
    /* SHA-256 and SHA-384 give different values over the same ClientHello */
    uint8_t a[32], b[32];
    assert_int_equal(legacy_early_exporter(EVP_sha256(), m, n, a, &(const char *){NULL}), 0);
    assert_int_equal(legacy_early_exporter(EVP_sha384(), m, n, b, &(const char *){NULL}), 0);
    assert_memory_not_equal(a, b, 32);
    /* one byte of the ClientHello changes it */
    m[10] ^= 1;
    assert_int_equal(legacy_early_exporter(EVP_sha256(), m, n, b, &(const char *){NULL}), 0);
    assert_memory_not_equal(a, b, 32);
}

static void early_exporter_binder_covers_nonce_exporter_and_key(void **state)
{
    (void)state;
    uint8_t spki[40], nonce[LEGACY_NONCE_LEN], ee[LEGACY_EE_LEN];
    memset(spki, 0x30, sizeof spki);
    memset(nonce, 7, sizeof nonce);
    memset(ee, 9, sizeof ee);
    struct binder b, b2;
    enum legacy_mode m = LEGACY_RA_EARLY_EXPORTER;
    assert_int_equal(legacy_binder_compute_ee(m, spki, sizeof spki, nonce, sizeof nonce, ee,
                                              sizeof ee, &b),
                     0);
    /* report_data = SHA-512(N || EE || SPKI); key-hash = SHA-256(SPKI) */
    uint8_t in[sizeof nonce + sizeof ee + sizeof spki], want[64];
    memcpy(in, nonce, sizeof nonce);
    memcpy(in + sizeof nonce, ee, sizeof ee);
    memcpy(in + sizeof nonce + sizeof ee, spki, sizeof spki);
    unsigned int dl = 0;
    assert_true(EVP_Digest(in, sizeof in, want, &dl, EVP_sha512(), NULL));
    assert_memory_equal(b.report_data, want, 64);
    assert_true(EVP_Digest(spki, sizeof spki, want, &dl, EVP_sha256(), NULL));
    assert_memory_equal(b.aik_pub_hash, want, 32);
    assert_int_equal(b.hash_len, 32);
    /* every input is required; each one changes the value */
    assert_int_equal(legacy_binder_compute(m, spki, sizeof spki, nonce, sizeof nonce, &b2), -1);
    assert_int_equal(legacy_binder_compute_ee(m, spki, sizeof spki, nonce, sizeof nonce, ee, 16,
                                              &b2),
                     -1);
    assert_int_equal(legacy_binder_compute_ee(m, spki, sizeof spki, NULL, 0, ee, sizeof ee, &b2),
                     -1);
    assert_int_equal(legacy_binder_compute_ee(m, NULL, 0, nonce, sizeof nonce, ee, sizeof ee, &b2),
                     -1);
    ee[0] ^= 1;
    assert_int_equal(legacy_binder_compute_ee(m, spki, sizeof spki, nonce, sizeof nonce, ee,
                                              sizeof ee, &b2),
                     0);
    assert_memory_not_equal(b.report_data, b2.report_data, 64);
    /* the mode is known by name, carries a nonce and binds the key */
    enum legacy_mode parsed;
    assert_int_equal(legacy_mode_parse("ra-early-exporter", &parsed), 0);
    assert_int_equal(parsed, LEGACY_RA_EARLY_EXPORTER);
    assert_string_equal(legacy_mode_name(parsed), "ra-early-exporter");
    assert_true(legacy_mode_has_nonce(parsed) && legacy_mode_binds_key(parsed) &&
                legacy_mode_uses_early_exporter(parsed));
    assert_false(legacy_mode_uses_early_exporter(LEGACY_RA_KEY_NONCE));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a peer that gives up must fail an assertion, not the run */
    seen_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(early_exporter_matches_openssl_in_0rtt_with_sha256),
        cmocka_unit_test(early_exporter_matches_openssl_in_0rtt_with_sha384),
        cmocka_unit_test(client_hello_parser_is_strict),
        cmocka_unit_test(early_exporter_refuses_bad_arguments),
        cmocka_unit_test(early_exporter_binder_covers_nonce_exporter_and_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
