/*
 * env.c - the lab's world: two genuine simulated TEEs (same measurement, platform ids P1 and
 * P2, one shared sim root), the two client policies ("default": measurement and root only;
 * "platform-id": also the allowlist {P1}), the genuine tether servers of each mode with the
 * test hooks attached, and the victim client.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "lab/lab.h"
#include "testhooks/testhooks.h"
#include "util/util.h"

/* 48 bytes: the one workload both genuine TEEs run. */
static const char MEASUREMENT[] = "1ab0c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091"
                                  "a2b3c4d5e6f708192a3b4c5d6e7f8091";
static const char *const PLATFORM[2] = {"01010101010101010101010101010101",
                                        "02020202020202020202020202020202"};

static const char *const mode_names[LAB_N_MODES] = {"tether", "ra-nonce", "ra-key",
                                                    "ra-key-nonce", "ra-early-exporter"};

const char *lab_mode_name(enum lab_mode m)
{
    return m < LAB_N_MODES ? mode_names[m] : "?";
}

const char *lab_policy_name(enum lab_policy p)
{
    return p == LAB_PLATFORM_ID ? "platform-id" : "default";
}

int lab_mode_parse(const char *s, enum lab_mode *m)
{
    for (int i = 0; i < LAB_N_MODES; i++)
        if (!strcmp(s, mode_names[i])) {
            *m = (enum lab_mode)i;
            return 0;
        }
    return -1;
}

/* ---- logs ---- */

void lab_log_init(struct lab_log *l)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->lock, NULL);
}

void lab_log_append(struct lab_log *l, const void *p, size_t n)
{
    pthread_mutex_lock(&l->lock);
    if (n <= (64u << 20) - l->len) {
        if (l->len + n > l->cap) {
            size_t cap = l->cap ? l->cap : 4096;
            while (cap < l->len + n)
                cap *= 2;
            uint8_t *grown = realloc(l->data, cap);
            if (grown) {
                l->data = grown;
                l->cap = cap;
            }
        }
        if (l->len + n <= l->cap) {
            memcpy(l->data + l->len, p, n);
            l->len += n;
        }
    }
    pthread_mutex_unlock(&l->lock);
}

bool lab_log_contains(struct lab_log *l, const char *s)
{
    pthread_mutex_lock(&l->lock);
    bool found = s[0] && l->len && memmem(l->data, l->len, s, strlen(s)) != NULL;
    pthread_mutex_unlock(&l->lock);
    return found;
}

void lab_log_free(struct lab_log *l)
{
    free(l->data);
    l->data = NULL;
    l->len = l->cap = 0;
    pthread_mutex_destroy(&l->lock);
}

/* ---- environment ---- */

static char *policy_text(bool platform_allowlist)
{
    char *s = NULL;
    int n;
    if (platform_allowlist)
        n = asprintf(&s,
                     "{\"tether_policy\":1,\"accept\":{\"sim\":{\"trust_anchors\":[\"root.crt\"],"
                     "\"measurements\":[\"%s\"],\"min_tcb\":1}},\"platform_ids\":[\"%s\"],"
                     "\"max_evidence_age_seconds\":300}",
                     MEASUREMENT, PLATFORM[0]);
    else
        n = asprintf(&s,
                     "{\"tether_policy\":1,\"accept\":{\"sim\":{\"trust_anchors\":[\"root.crt\"],"
                     "\"measurements\":[\"%s\"],\"min_tcb\":1}},\"max_evidence_age_seconds\":300}",
                     MEASUREMENT);
    return n < 0 ? NULL : s;
}

int lab_env_setup(struct lab_env *env, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(env->dir, sizeof env->dir, "%s/tether-lab-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(env->dir)) {
        errbuf_set(err, errlen, "cannot create a temporary directory: %s", strerror(errno));
        env->dir[0] = 0;
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        snprintf(env->sim[i], sizeof env->sim[i], "%s/s%d", env->dir, i + 1);
        snprintf(env->tee[i], sizeof env->tee[i], "sim:%s", env->sim[i]);
        struct tether_sim_params p = {.measurement_hex = MEASUREMENT,
                                      .platform_id_hex = PLATFORM[i],
                                      .tcb_version = 1,
                                      .root_from_dir = i ? env->sim[0] : NULL};
        char msg[512] = "";
        if (tether_sim_provision(env->sim[i], &p, msg, sizeof msg) != 0) {
            errbuf_set(err, errlen, "provisioning sim TEE S%d: %s", i + 1, msg);
            return -1;
        }
    }
    env->policy_json[LAB_DEFAULT] = policy_text(false);
    env->policy_json[LAB_PLATFORM_ID] = policy_text(true);
    if (!env->policy_json[0] || !env->policy_json[1]) {
        errbuf_set(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static void server_stop(struct lab_server *s);

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0)
        fprintf(stderr, "tether-lab: could not remove %s: %s\n", path, strerror(errno));
    return 0;
}

/* Only our own mkdtemp directory, depth first, never following links. */
static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void lab_env_cleanup(struct lab_env *env)
{
    for (int m = 0; m < LAB_N_MODES; m++)
        for (int p = 0; p < 2; p++)
            if (env->servers[m][p]) {
                server_stop(env->servers[m][p]);
                env->servers[m][p] = NULL;
            }
    for (int i = 0; i < LAB_N_POLICIES; i++) {
        free(env->policy_json[i]);
        env->policy_json[i] = NULL;
    }
    if (env->dir[0])
        remove_tree(env->dir);
    env->dir[0] = 0;
}

static int set_mode(struct tether_config *c, enum lab_mode mode, char *err, size_t errlen)
{
    if (mode == LAB_TETHER)
        return 0;
    if (tether_config_set_insecure_legacy_mode(c, lab_mode_name(mode)) != 0) {
        errbuf_set(err, errlen, "%s", tether_config_error(c) ? tether_config_error(c)
                                                               : "mode refused by the library");
        return -1;
    }
    return 0;
}

struct tether_config *lab_config(enum lab_mode mode, char *err, size_t errlen)
{
    struct tether_config *c = tether_config_new();
    if (!c) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    if (tether_config_set_timeouts(c, LAB_TLS_MS, LAB_TLS_MS) != 0) {
        errbuf_set(err, errlen, "%s", tether_config_error(c));
        tether_config_free(c);
        return NULL;
    }
    if (set_mode(c, mode, err, errlen) != 0) {
        tether_config_free(c);
        return NULL;
    }
    return c;
}

static struct tether_config *client_config(struct lab_env *env, const struct lab_client *lc,
                                           char *err, size_t errlen)
{
    struct tether_config *c = lab_config(lc->mode, err, errlen);
    if (!c)
        return NULL;
    if (tether_config_set_policy_json(c, env->policy_json[lc->policy], env->sim[0]) != 0 ||
        (lc->attest_tee && (tether_config_set_tee(c, lc->attest_tee) != 0 ||
                            tether_config_set_attest(c, TETHER_ATTEST_MUTUAL) != 0))) {
        errbuf_set(err, errlen, "client config: %s", tether_config_error(c));
        tether_config_free(c);
        return NULL;
    }
    return c;
}

/* ---- genuine servers ---- */

struct lab_handler {
    struct lab_server *s;
    int fd;
    pthread_t th;
    bool done; /* under s->lock */
};

static void leak_cb(void *arg, EVP_PKEY *key)
{
    struct lab_server *s = arg;
    pthread_mutex_lock(&s->lock);
    if (s->n_leaked < LAB_MAX_LEAKS && EVP_PKEY_up_ref(key))
        s->leaked[s->n_leaked++] = key;
    pthread_mutex_unlock(&s->lock);
}

static void keylog_cb(void *arg, const char *line)
{
    struct lab_server *s = arg;
    lab_log_append(&s->keylog, line, strlen(line));
    lab_log_append(&s->keylog, "\n", 1);
}

/* One connection: attest, then echo what the client sends (bounded rounds). */
static void *handler_main(void *arg)
{
    struct lab_handler *h = arg;
    struct lab_server *s = h->s;
    struct tether *t = tether_server(s->cfg);
    if (t) {
        tether_test_set_leak_key(t, leak_cb, s);
        tether_test_set_keylog(t, keylog_cb, s);
        if (tether_accept_fd(t, h->fd) == 0 && tether_handshake(t) == 0) {
            char buf[4096];
            for (int round = 0; round < 16; round++) {
                ssize_t n = tether_read(t, buf, sizeof buf);
                if (n <= 0)
                    break;
                lab_log_append(&s->received, buf, (size_t)n);
                if (tether_write(t, buf, (size_t)n) != n)
                    break;
            }
        }
        tether_close(t);
        tether_free(t);
    }
    shutdown(h->fd, SHUT_RDWR);
    pthread_mutex_lock(&s->lock);
    h->done = true;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void handler_reap(struct lab_handler *h)
{
    pthread_join(h->th, NULL);
    close(h->fd);
    free(h);
}

static bool server_stopping(struct lab_server *s)
{
    pthread_mutex_lock(&s->lock);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

static void *server_main(void *arg)
{
    struct lab_server *s = arg;
    int64_t until = now_ms() + 300000; /* a lab run takes seconds; never outlive 5 minutes */
    while (!server_stopping(s) && now_ms() < until) {
        int fd = lab_accept(s->listen_fd, 50);
        if (fd < 0)
            continue;
        /* A free slot: reap finished handlers; if all are busy, wait for the oldest. */
        int slot = -1;
        for (int i = 0; i < LAB_MAX_HANDLERS; i++) {
            struct lab_handler *h = s->handlers[i];
            pthread_mutex_lock(&s->lock);
            bool done = h && h->done;
            pthread_mutex_unlock(&s->lock);
            if (done) {
                handler_reap(h);
                s->handlers[i] = NULL;
            }
            if (!s->handlers[i] && slot < 0)
                slot = i;
        }
        if (slot < 0) {
            shutdown(s->handlers[0]->fd, SHUT_RDWR);
            handler_reap(s->handlers[0]);
            s->handlers[0] = NULL;
            slot = 0;
        }
        struct lab_handler *h = calloc(1, sizeof *h);
        if (!h) {
            close(fd);
            continue;
        }
        h->s = s;
        h->fd = fd;
        pthread_mutex_lock(&s->lock);
        s->connections++;
        pthread_mutex_unlock(&s->lock);
        if (pthread_create(&h->th, NULL, handler_main, h) != 0) {
            close(fd);
            free(h);
            continue;
        }
        s->handlers[slot] = h;
    }
    for (int i = 0; i < LAB_MAX_HANDLERS; i++) {
        struct lab_handler *h = s->handlers[i];
        if (!h)
            continue;
        shutdown(h->fd, SHUT_RDWR);
        handler_reap(h);
        s->handlers[i] = NULL;
    }
    return NULL;
}

static void server_stop(struct lab_server *s)
{
    if (s->running) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->th, NULL);
    }
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    for (int i = 0; i < s->n_leaked; i++)
        EVP_PKEY_free(s->leaked[i]);
    tether_config_free(s->cfg);
    lab_log_free(&s->received);
    lab_log_free(&s->keylog);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

struct lab_server *lab_server_get(struct lab_env *env, enum lab_mode mode, int platform,
                                  char *err, size_t errlen)
{
    if (platform < 1 || platform > 2 || mode >= LAB_N_MODES)
        return NULL;
    struct lab_server **slot = &env->servers[mode][platform - 1];
    if (*slot)
        return *slot;
    struct lab_server *s = calloc(1, sizeof *s);
    if (!s) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    s->mode = mode;
    s->platform = platform;
    s->listen_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    lab_log_init(&s->received);
    lab_log_init(&s->keylog);
    s->cfg = lab_config(mode, err, errlen);
    if (!s->cfg)
        goto fail;
    if (tether_config_set_tee(s->cfg, env->tee[platform - 1]) != 0 ||
        tether_config_set_attest(s->cfg, TETHER_ATTEST_SERVER) != 0) {
        errbuf_set(err, errlen, "server config: %s", tether_config_error(s->cfg));
        goto fail;
    }
    s->listen_fd = lab_listen(&s->port);
    if (s->listen_fd < 0) {
        errbuf_set(err, errlen, "cannot listen on 127.0.0.1: %s", strerror(errno));
        goto fail;
    }
    if (pthread_create(&s->th, NULL, server_main, s) != 0) {
        errbuf_set(err, errlen, "cannot start a server thread");
        goto fail;
    }
    s->running = true;
    *slot = s;
    return s;
fail:
    server_stop(s);
    return NULL;
}

EVP_PKEY *lab_server_leaked_key_for(struct lab_server *s, EVP_PKEY *pub)
{
    /* The hook fires before the key is used, but in the server's thread: allow it 1 s. */
    for (int tries = 0; tries < 100; tries++) {
        pthread_mutex_lock(&s->lock);
        for (int i = s->n_leaked - 1; i >= 0; i--)
            if (EVP_PKEY_eq(s->leaked[i], pub) == 1 && EVP_PKEY_up_ref(s->leaked[i])) {
                EVP_PKEY *k = s->leaked[i];
                pthread_mutex_unlock(&s->lock);
                return k;
            }
        pthread_mutex_unlock(&s->lock);
        usleep(10000);
    }
    return NULL;
}

int lab_server_leak_count(struct lab_server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->n_leaked;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void lab_server_leaked_keys(struct lab_server *s, EVP_PKEY **out, int max, int *n)
{
    pthread_mutex_lock(&s->lock);
    *n = 0;
    for (int i = 0; i < s->n_leaked && *n < max; i++)
        if (EVP_PKEY_up_ref(s->leaked[i]))
            out[(*n)++] = s->leaked[i];
    pthread_mutex_unlock(&s->lock);
}

/* ---- the victim client ---- */

int lab_client_run(struct lab_env *env, uint16_t port, struct lab_client *c, char *err,
                   size_t errlen)
{
    c->accepted = c->sent = c->echoed = false;
    c->code[0] = c->error[0] = 0;
    uint8_t rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        errbuf_set(err, errlen, "no randomness");
        return -1;
    }
    memcpy(c->secret, "SECRET-", 7);
    hex_encode(rnd, sizeof rnd, c->secret + 7);
    struct tether_config *cfg = c->cfg;
    if (!cfg) {
        cfg = client_config(env, c, err, errlen);
        if (!cfg)
            return -1;
    }
    int rc = -1;
    struct tether *t = NULL;
    int fd = lab_dial(port);
    if (fd < 0) {
        errbuf_set(err, errlen, "cannot connect to 127.0.0.1:%u: %s", port, strerror(errno));
        goto out;
    }
    t = tether_client(cfg);
    if (!t || tether_connect_fd(t, fd, NULL) != 0) {
        errbuf_set(err, errlen, "client: %s", t && tether_error(t) ? tether_error(t) : "oom");
        goto out;
    }
    rc = 0;
    if (tether_handshake(t) != 0) {
        snprintf(c->code, sizeof c->code, "%s", tether_error_code(t) ? tether_error_code(t) : "");
        snprintf(c->error, sizeof c->error, "%s", tether_error(t) ? tether_error(t) : "");
        goto out;
    }
    c->accepted = true;
    size_t n = strlen(c->secret);
    c->sent = tether_write(t, c->secret, n) == (ssize_t)n;
    if (c->sent) {
        /* The reply is a courtesy of whoever answers: wait briefly, then go on. */
        lab_deadlines(fd, LAB_ECHO_MS);
        char buf[128];
        ssize_t r = tether_read(t, buf, sizeof buf);
        c->echoed = r > 0;
    }
out:
    if (t) {
        tether_close(t);
        tether_free(t);
    }
    if (fd >= 0) {
        shutdown(fd, SHUT_RDWR);
        close(fd);
    }
    if (cfg != c->cfg)
        tether_config_free(cfg);
    return rc;
}
