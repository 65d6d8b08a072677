/*
 * harness.c - fixtures for the loopback tests (see harness.h).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>

#include "util/util.h"

static const char MEASUREMENT[] =
    "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0";

int sim_env_setup(struct sim_env *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->root, sizeof e->root, "/tmp/tether-test-XXXXXX");
    if (!mkdtemp(e->root))
        return -1;
    snprintf(e->a, sizeof e->a, "%s/a", e->root);
    snprintf(e->b, sizeof e->b, "%s/b", e->root);
    char err[512];
    struct tether_sim_params pa = {.measurement_hex = MEASUREMENT,
                                   .platform_id_hex = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
                                   .tcb_version = 3};
    struct tether_sim_params pb = pa;
    pb.platform_id_hex = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
    pb.root_from_dir = e->a;
    if (tether_sim_provision(e->a, &pa, err, sizeof err) != 0 ||
        tether_sim_provision(e->b, &pb, err, sizeof err) != 0) {
        fprintf(stderr, "# sim provision: %s\n", err);
        return -1;
    }
    snprintf(e->policy_a, sizeof e->policy_a, "%s/policy.json", e->a);
    /* The same policy without the platform allowlist: diversion goes undetected. */
    snprintf(e->policy_any, sizeof e->policy_any, "%s/policy-any.json", e->a);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"tether_policy\":1,\"accept\":{\"sim\":{\"trust_anchors\":[\"root.crt\"],"
             "\"measurements\":[\"%s\"],\"min_tcb\":1}},\"max_evidence_age_seconds\":300}",
             MEASUREMENT);
    FILE *f = fopen(e->policy_any, "w");
    if (!f)
        return -1;
    fputs(json, f);
    fclose(f);
    return 0;
}

void sim_env_cleanup(struct sim_env *e)
{
    if (!e->root[0])
        return;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->root);
    if (system(cmd) != 0)
        fprintf(stderr, "# cleanup of %s failed\n", e->root);
}

struct tether_config *server_config(const char *simdir, int attest, const char *policy)
{
    struct tether_config *c = tether_config_new();
    char spec[400];
    snprintf(spec, sizeof spec, "sim:%s", simdir);
    if (!c || tether_config_set_tee(c, spec) != 0 || tether_config_set_attest(c, attest) != 0 ||
        (policy && tether_config_set_policy_file(c, policy) != 0) ||
        tether_config_set_timeouts(c, 5000, 5000) != 0) {
        fprintf(stderr, "# server config: %s\n", c ? tether_config_error(c) : "oom");
        tether_config_free(c);
        return NULL;
    }
    return c;
}

struct tether_config *client_config(const char *policy, const char *simdir, int attest)
{
    struct tether_config *c = tether_config_new();
    char spec[400];
    if (!c || tether_config_set_policy_file(c, policy) != 0 ||
        tether_config_set_attest(c, attest) != 0 || tether_config_set_timeouts(c, 5000, 5000) != 0)
        goto fail;
    if (simdir) {
        snprintf(spec, sizeof spec, "sim:%s", simdir);
        if (tether_config_set_tee(c, spec) != 0)
            goto fail;
    }
    return c;
fail:
    fprintf(stderr, "# client config: %s\n", c ? tether_config_error(c) : "oom");
    tether_config_free(c);
    return NULL;
}

#include "testhooks/testhooks.h"

static void *endpoint_main(void *arg)
{
    struct endpoint *ep = arg;
    struct tether *t = ep->server ? tether_server(ep->cfg) : tether_client(ep->cfg);
    ep->t = t;
    ep->rc = -1;
    if (!t)
        return NULL;
    if (ep->leak_key)
        tether_test_set_leak_key(t, ep->leak_key, ep->leak_arg);
    int r = ep->server ? tether_accept_fd(t, ep->fd) : tether_connect_fd(t, ep->fd, NULL);
    if (r == 0)
        r = tether_handshake(t);
    if (r == 0 && ep->echo) {
        char buf[4096];
        ssize_t n = tether_read(t, buf, sizeof buf);
        r = (n > 0 && tether_write(t, buf, (size_t)n) == n) ? 0 : -1;
    }
    ep->rc = r;
    if (r != 0) {
        snprintf(ep->err, sizeof ep->err, "%s", tether_error(t) ? tether_error(t) : "");
        snprintf(ep->code, sizeof ep->code, "%s", tether_error_code(t) ? tether_error_code(t) : "");
        ep->category = tether_error_category(t);
    }
    const struct tether_result *res = tether_peer_result(t);
    if (res)
        snprintf(ep->result_json, sizeof ep->result_json, "%s", tether_result_json(res));
    tether_close(t);
    shutdown(ep->fd, SHUT_RDWR);
    ep->t = NULL;
    tether_free(t);
    return NULL;
}

void endpoint_start(struct endpoint *ep)
{
    pthread_create(&ep->th, NULL, endpoint_main, ep);
}

int endpoint_join(struct endpoint *ep)
{
    pthread_join(ep->th, NULL);
    return ep->rc;
}

void socket_pair(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        perror("socketpair");
        abort();
    }
}

X509 *test_self_signed(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256());
    return x;
}

static SSL *raw_new(int fd, bool server, SSL_CTX **ctx_out)
{
    SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    if (server) {
        SSL_CTX_set_num_tickets(c, 0);
        EVP_PKEY *k = EVP_EC_gen("P-256");
        X509 *x = test_self_signed(k, "attacker");
        SSL_CTX_use_certificate(c, x);
        SSL_CTX_use_PrivateKey(c, k);
        X509_free(x);
        EVP_PKEY_free(k);
    }
    SSL *s = SSL_new(c);
    SSL_set_fd(s, fd);
    int r = server ? SSL_accept(s) : SSL_connect(s);
    if (r != 1) {
        ERR_print_errors_fp(stderr);
        SSL_free(s);
        SSL_CTX_free(c);
        return NULL;
    }
    *ctx_out = c;
    return s;
}

SSL *raw_server(int fd, SSL_CTX **ctx_out) { return raw_new(fd, true, ctx_out); }
SSL *raw_client(int fd, SSL_CTX **ctx_out) { return raw_new(fd, false, ctx_out); }

static int ssl_read_all(SSL *ssl, uint8_t *p, size_t n)
{
    while (n) {
        int r = SSL_read(ssl, p, (int)n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int raw_write_frame(SSL *ssl, uint8_t type, const uint8_t *payload, size_t len)
{
    uint8_t hdr[EA_FRAME_HEADER_LEN];
    ea_frame_header_write(hdr, type, (uint32_t)len);
    if (SSL_write(ssl, hdr, sizeof hdr) != (int)sizeof hdr)
        return -1;
    if (len && SSL_write(ssl, payload, (int)len) != (int)len)
        return -1;
    return 0;
}

int raw_read_frame(SSL *ssl, uint8_t *type, uint8_t **payload, size_t *len)
{
    uint8_t hdr[EA_FRAME_HEADER_LEN];
    uint32_t n;
    if (ssl_read_all(ssl, hdr, sizeof hdr) != 0 || ea_frame_header_parse(hdr, type, &n) != 0)
        return -1;
    *payload = malloc(n ? n : 1);
    if (!*payload || ssl_read_all(ssl, *payload, n) != 0) {
        free(*payload);
        *payload = NULL;
        return -1;
    }
    *len = n;
    return 0;
}

int raw_exporters(SSL *ssl, bool server_role, struct ea_exporters *x)
{
    x->md = SSL_CIPHER_get_handshake_digest(SSL_get_current_cipher(ssl));
    x->hash_len = (size_t)EVP_MD_get_size(x->md);
    const char *hc = server_role ? EA_LABEL_SERVER_HC : EA_LABEL_CLIENT_HC;
    const char *fk = server_role ? EA_LABEL_SERVER_FK : EA_LABEL_CLIENT_FK;
    return SSL_export_keying_material(ssl, x->hc, x->hash_len, hc, strlen(hc), NULL, 0, 1) == 1 &&
                   SSL_export_keying_material(ssl, x->fk, x->hash_len, fk, strlen(fk), NULL, 0, 1) == 1
               ? 0
               : -1;
}

const char *vectors_dir(void)
{
    const char *v = getenv("TETHER_VECTORS");
    return v ? v : "../shared/vectors";
}
