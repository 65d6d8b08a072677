/*
 * net.c - loopback sockets with deadlines, raw OpenSSL TLS 1.3 endpoints for the attacker,
 * frame I/O, a plaintext relay and a byte forwarder. Everything listens on 127.0.0.1 only;
 * every socket gets a receive and send deadline, every loop a round limit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "lab/lab.h"
#include "util/util.h"

void lab_deadlines(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int lab_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int lab_accept(int listen_fd, int timeout_ms)
{
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r != 1)
        return -1;
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        lab_deadlines(fd, LAB_IO_MS);
    return fd;
}

int lab_dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    lab_deadlines(fd, LAB_IO_MS);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

EVP_PKEY *lab_new_key(void)
{
    return EVP_EC_gen("P-256");
}

X509 *lab_self_signed(EVP_PKEY *key, const char *cn, X509_EXTENSION *ext)
{
    X509 *x = X509_new();
    uint8_t serial[8];
    if (!x || RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    BN_free(bn);
    int ok = ai && X509_set_serialNumber(x, ai);
    ASN1_INTEGER_free(ai);
    X509_NAME *name = X509_get_subject_name(x);
    if (!ok || !X509_set_version(x, 2) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, name) || !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 3600) || !X509_set_pubkey(x, key) ||
        (ext && !X509_add_ext(x, ext, -1)) ||
        !X509_sign(x, key, EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256()))
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

static SSL *tls_new(int fd, bool server, void (*setup)(SSL_CTX *, void *), void *arg)
{
    SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!c)
        return NULL;
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    /* The order tether clients use, so the attacker's two connections negotiate the same
     * suite (and hash) as the victim's: what it relays is then well-formed for both. */
    SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                "TLS_CHACHA20_POLY1305_SHA256");
    if (server)
        SSL_CTX_set_num_tickets(c, 0);
    if (setup)
        setup(c, arg);
    SSL *s = SSL_new(c);
    SSL_CTX_free(c); /* the SSL keeps its own reference */
    if (s && SSL_set_fd(s, fd) != 1) {
        SSL_free(s);
        s = NULL;
    }
    return s;
}

SSL *lab_tls_accept(int fd, EVP_PKEY *key, X509 *cert, void (*setup)(SSL_CTX *, void *),
                    void *arg)
{
    SSL *s = tls_new(fd, true, setup, arg);
    if (!s)
        return NULL;
    if (key && cert && (SSL_use_certificate(s, cert) != 1 || SSL_use_PrivateKey(s, key) != 1)) {
        SSL_free(s);
        return NULL;
    }
    ERR_clear_error();
    if (SSL_accept(s) != 1) {
        ERR_clear_error();
        SSL_free(s);
        return NULL;
    }
    return s;
}

SSL *lab_tls_connect(int fd, const char *sni)
{
    SSL *s = tls_new(fd, false, NULL, NULL);
    if (!s)
        return NULL;
    if (sni && SSL_set_tlsext_host_name(s, sni) != 1) {
        SSL_free(s);
        return NULL;
    }
    ERR_clear_error();
    if (SSL_connect(s) != 1) {
        ERR_clear_error();
        SSL_free(s);
        return NULL;
    }
    return s;
}

void lab_tls_free(SSL *ssl)
{
    if (!ssl)
        return;
    ERR_clear_error();
    SSL_shutdown(ssl); /* close_notify; do not wait for the peer's */
    SSL_free(ssl);
    ERR_clear_error();
}

static int read_all(SSL *ssl, uint8_t *p, size_t n)
{
    /* Each SSL_read is bounded by the socket's receive deadline; at most n reads. */
    for (size_t rounds = 0; n && rounds < 1u << 20; rounds++) {
        int r = SSL_read(ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return n ? -1 : 0;
}

int lab_write_frame(SSL *ssl, uint8_t type, const uint8_t *payload, size_t len)
{
    if (len > EA_FRAME_MAX_PAYLOAD)
        return -1;
    uint8_t *buf = malloc(EA_FRAME_HEADER_LEN + len);
    if (!buf)
        return -1;
    ea_frame_header_write(buf, type, (uint32_t)len);
    if (len)
        memcpy(buf + EA_FRAME_HEADER_LEN, payload, len);
    int total = (int)(EA_FRAME_HEADER_LEN + len);
    int w = SSL_write(ssl, buf, total);
    free(buf);
    return w == total ? 0 : -1;
}

int lab_read_frame(SSL *ssl, uint8_t *type, uint8_t **payload, size_t *len)
{
    uint8_t hdr[EA_FRAME_HEADER_LEN];
    uint32_t n;
    *payload = NULL;
    if (read_all(ssl, hdr, sizeof hdr) != 0 || ea_frame_header_parse(hdr, type, &n) != 0)
        return -1;
    *payload = malloc(n ? n : 1);
    if (!*payload || read_all(ssl, *payload, n) != 0) {
        free(*payload);
        *payload = NULL;
        return -1;
    }
    *len = n;
    return 0;
}

void lab_relay_data(SSL *client, SSL *upstream, struct lab_log *log)
{
    uint8_t buf[16384];
    for (int round = 0; round < 8; round++) {
        int n = SSL_read(client, buf, sizeof buf);
        if (n <= 0)
            break;
        lab_log_append(log, buf, (size_t)n);
        if (!upstream) {
            if (SSL_write(client, buf, n) != n)
                break;
            continue;
        }
        if (SSL_write(upstream, buf, n) != n)
            break;
        int m = SSL_read(upstream, buf, sizeof buf);
        if (m <= 0 || SSL_write(client, buf, m) != m)
            break;
    }
    ERR_clear_error();
}

void lab_forward_run(struct lab_forward *f)
{
    struct pollfd p[2] = {{.fd = f->a, .events = POLLIN}, {.fd = f->b, .events = POLLIN}};
    int64_t until = now_ms() + 5 * LAB_IO_MS; /* a loopback session takes milliseconds */
    for (int rounds = 0; rounds < 4096 && now_ms() < until; rounds++) {
        int r = poll(p, 2, LAB_IO_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        for (int i = 0; i < 2; i++) {
            if (!p[i].revents)
                continue;
            uint8_t buf[16384];
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n <= 0) {
                /* Pass the close on, so the other side sees it at once. */
                shutdown(p[1 - i].fd, SHUT_WR);
                return;
            }
            lab_log_append(i == 0 ? &f->a_to_b : &f->b_to_a, buf, (size_t)n);
            if (send(p[1 - i].fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
                return;
        }
    }
}
