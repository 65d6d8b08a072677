/*
 * harness.h - shared fixtures for the loopback tests: provisioned simulated TEEs, tether
 * endpoints run in threads, and raw OpenSSL endpoints for the scripted attackers.
 * Test code only; linked with the test-hook build of the connection layer.
 */
#ifndef TETHER_TEST_HARNESS_H
#define TETHER_TEST_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "tether.h"

#include "ea/ea.h"

/* Two "genuine" sim TEEs sharing one root and one measurement, different platform ids. */
struct sim_env {
    char root[256];
    char a[300], b[300];           /* sim dirs */
    char policy_a[320];            /* accepts exactly A (platform-id allowlist = A) */
    char policy_any[320];          /* accepts A's measurement on any platform */
};
int sim_env_setup(struct sim_env *e);
void sim_env_cleanup(struct sim_env *e);

struct tether_config *server_config(const char *simdir, int attest, const char *policy);
struct tether_config *client_config(const char *policy, const char *simdir, int attest);

/* A tether endpoint in a thread: handshake, then optional echo of one message. */
struct endpoint {
    pthread_t th;
    struct tether_config *cfg;
    int fd;
    bool server;
    bool echo;            /* after the handshake, echo one read back */
    int rc;               /* 0 if the handshake (and echo) succeeded */
    char err[512];
    char code[64];
    int category;
    char result_json[8192];
    void (*leak_key)(void *, EVP_PKEY *);
    void *leak_arg;
    struct tether *t;     /* valid while running */
};
void endpoint_start(struct endpoint *ep);
int endpoint_join(struct endpoint *ep);

/* A self-signed certificate for key (test endpoints only). */
X509 *test_self_signed(EVP_PKEY *key, const char *cn);

/* Connected socket pair (AF_UNIX stream). */
void socket_pair(int fds[2]);

/* Raw TLS 1.3 endpoints (blocking) for attackers and probes. */
SSL *raw_server(int fd, SSL_CTX **ctx_out);
SSL *raw_client(int fd, SSL_CTX **ctx_out);
int raw_write_frame(SSL *ssl, uint8_t type, const uint8_t *payload, size_t len);
/* Reads one frame; caller frees *payload. 0 or -1. */
int raw_read_frame(SSL *ssl, uint8_t *type, uint8_t **payload, size_t *len);
/* Exporters for authenticators of a role (server_role) on ssl. */
int raw_exporters(SSL *ssl, bool server_role, struct ea_exporters *x);
/* Read vector files: returns NULL and prints a skip note if absent. */
const char *vectors_dir(void);

#endif
