/*
 * bench_connect.c - time to a verified attested connection (sim TEE) against a plain TLS 1.3
 * handshake with the same OpenSSL, groups and key type, measured in the same run on loopback
 * TCP, interleaved so that both see the same machine state. Also bytes on the wire.
 *
 * Output: one JSON object (for docs/performance.md) and a readable summary on stderr.
 * Usage: bench_connect SIMDIR POLICY [ITERATIONS]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tether.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 64) ||
        getsockname(fd, (struct sockaddr *)&a, &l)) {
        perror("listen");
        exit(1);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        perror("connect");
        exit(1);
    }
    return fd;
}

/* ---- plain TLS 1.3 baseline: the same profile tether uses, minus attestation ---- */
static SSL_CTX *plain_server_ctx(void)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set1_groups_list(c, "X25519:P-256:P-384");
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_read_ahead(c, 1);
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"bench", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    SSL_CTX_use_certificate(c, x);
    SSL_CTX_use_PrivateKey(c, k);
    X509_free(x);
    EVP_PKEY_free(k);
    return c;
}

struct server {
    int lfd;
    int n;
    bool tether;
    SSL_CTX *plain;
    struct tether_config *cfg;
};

static void *server_main(void *arg)
{
    struct server *s = arg;
    for (int i = 0; i < s->n; i++) {
        int fd = accept(s->lfd, NULL, NULL);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char b;
        if (s->tether) {
            struct tether *t = tether_server(s->cfg);
            if (tether_accept_fd(t, fd) || tether_handshake(t))
                fprintf(stderr, "server: %s\n", tether_error(t));
            (void)tether_read(t, &b, 1); /* wait for the client's close */
            tether_free(t);
        } else {
            SSL *ssl = SSL_new(s->plain);
            SSL_set_fd(ssl, fd);
            if (SSL_accept(ssl) != 1)
                fprintf(stderr, "plain server handshake failed\n");
            (void)SSL_read(ssl, &b, 1);
            SSL_free(ssl);
        }
        close(fd);
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_connect SIMDIR POLICY [ITERATIONS]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int n = argc > 3 ? atoi(argv[3]) : 300;
    char spec[512];
    snprintf(spec, sizeof spec, "sim:%s", argv[1]);
    struct tether_config *scfg = tether_config_new(), *ccfg = tether_config_new();
    if (tether_config_set_tee(scfg, spec) || tether_config_set_policy_file(ccfg, argv[2])) {
        fprintf(stderr, "config: %s %s\n", tether_config_error(scfg) ? tether_config_error(scfg) : "",
                tether_config_error(ccfg) ? tether_config_error(ccfg) : "");
        return 1;
    }
    SSL_CTX *pc = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(pc, TLS1_3_VERSION);
    SSL_CTX_set1_groups_list(pc, "X25519:P-256:P-384");
    SSL_CTX_set_ciphersuites(pc, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                 "TLS_CHACHA20_POLY1305_SHA256");
    SSL_CTX_set_verify(pc, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_read_ahead(pc, 1); /* as libtether does: the baseline gets the same I/O */
    SSL_CTX_set_options(pc, SSL_OP_NO_TICKET);

    int pport, tport;
    struct server ps = {.lfd = listen_any(&pport), .n = n + 10, .plain = plain_server_ctx()};
    struct server ts = {.lfd = listen_any(&tport), .n = n + 10, .tether = true, .cfg = scfg};
    pthread_t pt, tt;
    pthread_create(&pt, NULL, server_main, &ps);
    pthread_create(&tt, NULL, server_main, &ts);

    double *plain = calloc((size_t)n, sizeof *plain), *att = calloc((size_t)n, sizeof *att);
    uint64_t plain_bytes = 0, att_bytes = 0;
    char cipher_plain[64] = "", cipher_att[64] = "";
    for (int i = -10; i < n; i++) { /* 10 warm-up rounds of each */
        double t0 = now_us();
        int fd = dial(pport);
        SSL *ssl = SSL_new(pc);
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) != 1) {
            fprintf(stderr, "plain handshake failed\n");
            return 1;
        }
        double t1 = now_us();
        if (i >= 0) {
            plain[i] = t1 - t0;
            plain_bytes = BIO_number_read(SSL_get_rbio(ssl)) + BIO_number_written(SSL_get_wbio(ssl));
            snprintf(cipher_plain, sizeof cipher_plain, "%s", SSL_get_cipher_name(ssl));
        }
        SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);

        t0 = now_us();
        fd = dial(tport);
        struct tether *t = tether_client(ccfg);
        if (tether_connect_fd(t, fd, NULL) || tether_handshake(t)) {
            fprintf(stderr, "attested handshake failed: %s\n", tether_error(t));
            return 1;
        }
        t1 = now_us();
        if (i >= 0) {
            att[i] = t1 - t0;
            uint64_t s = 0, r = 0;
            tether_conn_bytes(t, &s, &r);
            att_bytes = s + r;
            snprintf(cipher_att, sizeof cipher_att, "%s", tether_conn_cipher(t));
        }
        tether_close(t);
        tether_free(t);
        close(fd);
    }
    pthread_join(pt, NULL);
    pthread_join(tt, NULL);
    double pm = pct(plain, n, 0.5), am = pct(att, n, 0.5);
    double p90 = pct(plain, n, 0.9), a90 = pct(att, n, 0.9);
    printf("{\"iterations\":%d,\"plain_tls13\":{\"median_us\":%.1f,\"p90_us\":%.1f,\"bytes\":%llu,"
           "\"cipher\":\"%s\"},\"attested\":{\"median_us\":%.1f,\"p90_us\":%.1f,\"bytes\":%llu,"
           "\"cipher\":\"%s\"},\"ratio_median\":%.3f,\"ratio_bytes\":%.3f}\n",
           n, pm, p90, (unsigned long long)plain_bytes, cipher_plain, am, a90,
           (unsigned long long)att_bytes, cipher_att, am / pm, (double)att_bytes / (double)plain_bytes);
    fprintf(stderr,
            "plain TLS 1.3 handshake:      median %7.1f us  p90 %7.1f us  %5llu bytes\n"
            "attested connection (sim):    median %7.1f us  p90 %7.1f us  %5llu bytes\n"
            "ratio (attested / plain):     %.2f x time, %.2f x bytes\n",
            pm, p90, (unsigned long long)plain_bytes, am, a90, (unsigned long long)att_bytes,
            am / pm, (double)att_bytes / (double)plain_bytes);
    free(plain);
    free(att);
    SSL_CTX_free(pc);
    SSL_CTX_free(ps.plain);
    tether_config_free(scfg);
    tether_config_free(ccfg);
    return 0;
}
