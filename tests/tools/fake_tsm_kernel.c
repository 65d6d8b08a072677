/*
 * fake_tsm_kernel.c - TEST-ONLY: the configfs-tsm "kernel" loop and helpers shared by
 * fake_sev_guest and fake_tdx_guest (fake_tsm_kernel.h). Never part of libtether or the
 * tether CLI.
 */
#include "fake_tsm_kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#define FIFO_WAIT_MS 5000
#define MAX_ENTRIES 16

static const char *g_prog = "fake_tsm_kernel";
static volatile sig_atomic_t g_stop;

static void on_signal(int s)
{
    (void)s;
    g_stop = 1;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- state-directory helpers ---- */

void fake_die(const char *what)
{
    fprintf(stderr, "%s: %s\n", g_prog, what);
    exit(2);
}

void fake_path_in(char *out, size_t n, const char *dir, const char *name)
{
    if ((size_t)snprintf(out, n, "%s/%s", dir, name) >= n)
        fake_die("path too long");
}

void fake_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char p[PATH_MAX], t[PATH_MAX];
    fake_path_in(p, sizeof p, dir, name);
    if ((size_t)snprintf(t, sizeof t, "%s.tmp", p) >= sizeof t)
        fake_die("path too long");
    FILE *f = fopen(t, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0 || rename(t, p) != 0)
        fake_die("cannot write a state file");
}

/* A PEM object read from dir/name by rd, or death with "cannot load <what> from the state
 * directory". */
static void *load_pem(const char *dir, const char *name, void *(*rd)(FILE *f), const char *what)
{
    char p[PATH_MAX], msg[128];
    fake_path_in(p, sizeof p, dir, name);
    FILE *f = fopen(p, "r");
    void *obj = f ? rd(f) : NULL;
    if (f)
        fclose(f);
    if (!obj) {
        snprintf(msg, sizeof msg, "cannot load %s from the state directory", what);
        fake_die(msg);
    }
    return obj;
}

static void *read_cert(FILE *f)
{
    return PEM_read_X509(f, NULL, NULL, NULL);
}

static void *read_key(FILE *f)
{
    return PEM_read_PrivateKey(f, NULL, NULL, NULL);
}

X509 *fake_load_cert(const char *dir, const char *name)
{
    return load_pem(dir, name, read_cert, "a certificate");
}

EVP_PKEY *fake_load_key(const char *dir, const char *name)
{
    return load_pem(dir, name, read_key, "a key");
}

/* ---- the command line ---- */

static void usage(void)
{
    fprintf(stderr, "usage: %s --root DIR --state DIR [--count N] [--timeout S] "
                    "[--bad-report-data]\n",
            g_prog);
    exit(2);
}

void fake_tsm_args(int argc, char **argv, const char *prog, struct fake_tsm_args *a)
{
    g_prog = prog;
    memset(a, 0, sizeof *a);
    a->timeout_s = 30;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            a->root = argv[++i];
        else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
            a->state = argv[++i];
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            a->count = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            a->timeout_s = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--bad-report-data") == 0)
            a->bad_report_data = true;
        else
            usage();
    }
    if (!a->root || !a->state || a->timeout_s <= 0 || a->timeout_s > 600 || a->count < 0)
        usage();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- the configfs-like tree ---- */

static void attr_write(const char *dir, const char *name, const void *data, size_t len)
{
    char p[PATH_MAX];
    fake_path_in(p, sizeof p, dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || close(fd) != 0)
        fprintf(stderr, "%s: cannot write %s: %s\n", g_prog, p, strerror(errno));
}

static void set_generation(struct fake_tsm_entry *e)
{
    char g[32];
    snprintf(g, sizeof g, "%llu\n", (unsigned long long)e->gen);
    attr_write(e->dir, "generation", g, strlen(g));
}

void fake_tsm_bump_generation(struct fake_tsm_entry *e)
{
    e->gen++;
    set_generation(e);
}

/* The kernel side of mkdir: the attributes, then the watch (so that our own writes raise no
 * event), then provider, last and atomically (fake_tsm_preload.so's mkdir waits for it). */
static int populate(int in, const char *root, const struct fake_tsm_kernel *k,
                    struct fake_tsm_entry *e)
{
    char p[PATH_MAX], tmp[PATH_MAX];
    e->gen = 0;
    set_generation(e);
    for (const struct fake_tsm_attr *a = k->attrs; a->name; a++)
        attr_write(e->dir, a->name, a->text, strlen(a->text));
    for (const char *const *f = k->fifos; *f; f++) {
        fake_path_in(p, sizeof p, e->dir, *f);
        if (mkfifo(p, 0600) != 0)
            fprintf(stderr, "%s: mkfifo %s: %s\n", g_prog, p, strerror(errno));
    }
    e->wd = inotify_add_watch(in, e->dir, IN_CLOSE_WRITE | IN_DELETE_SELF);
    if (e->wd < 0)
        return -1;
    fake_path_in(tmp, sizeof tmp, root, ".fake-provider.tmp");
    attr_write(root, ".fake-provider.tmp", k->provider, strlen(k->provider));
    fake_path_in(p, sizeof p, e->dir, "provider");
    if (rename(tmp, p) != 0)
        fprintf(stderr, "%s: rename provider: %s\n", g_prog, strerror(errno));
    return 0;
}

int fake_tsm_read_small(const char *dir, const char *name, uint8_t *buf, size_t cap, size_t *n)
{
    char p[PATH_MAX];
    fake_path_in(p, sizeof p, dir, name);
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    /* One more byte means more than cap: report cap + 1. */
    uint8_t extra;
    if (got == cap && read(fd, &extra, 1) == 1)
        got++;
    close(fd);
    *n = got;
    return 0;
}

int fake_tsm_fifo_serve(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char p[PATH_MAX];
    fake_path_in(p, sizeof p, dir, name);
    long deadline = now_ms() + FIFO_WAIT_MS;
    int fd = -1;
    while ((fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
        if (errno != ENXIO || now_ms() > deadline || g_stop) {
            fprintf(stderr, "%s: nobody read %s: %s\n", g_prog, p,
                    errno == ENXIO ? "timed out" : strerror(errno));
            return -1;
        }
        poll(NULL, 0, 1);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(fd);
    return done == len ? 0 : -1;
}

/* One inotify event: a new entry, an entry gone, or a closed write for the backend. */
static void on_event(int in, const struct fake_tsm_args *a, const struct fake_tsm_kernel *k,
                     struct fake_tsm_entry ents[MAX_ENTRIES], const struct inotify_event *ev,
                     long *served)
{
    struct fake_tsm_entry *e = NULL;
    for (int i = 0; i < MAX_ENTRIES; i++)
        if (ents[i].used && ents[i].wd == ev->wd)
            e = &ents[i];
    if (!e && (ev->mask & IN_CREATE) && (ev->mask & IN_ISDIR) && ev->len) {
        for (int i = 0; i < MAX_ENTRIES && !e; i++)
            if (!ents[i].used)
                e = &ents[i];
        if (!e) {
            fprintf(stderr, "%s: too many entries\n", g_prog);
            return;
        }
        memset(e, 0, sizeof *e);
        fake_path_in(e->dir, sizeof e->dir, a->root, ev->name);
        if (populate(in, a->root, k, e) == 0)
            e->used = true;
        return;
    }
    if (!e)
        return;
    if (ev->mask & (IN_DELETE_SELF | IN_IGNORED)) {
        inotify_rm_watch(in, e->wd);
        e->used = false;
        return;
    }
    if ((ev->mask & IN_CLOSE_WRITE) && ev->len)
        k->on_write(e, ev->name, served, k->arg);
}

void fake_tsm_run(const struct fake_tsm_args *a, const struct fake_tsm_kernel *k)
{
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in < 0 || inotify_add_watch(in, a->root, IN_CREATE | IN_ONLYDIR) < 0)
        fake_die("cannot watch the root");
    fake_write_file(a->state, "ready", "ready\n", 6);

    static struct fake_tsm_entry ents[MAX_ENTRIES];
    long deadline = now_ms() + a->timeout_s * 1000L, served = 0;
    _Alignas(struct inotify_event) char buf[8192];
    while (!g_stop && (a->count == 0 || served < a->count)) {
        long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd pf = {.fd = in, .events = POLLIN};
        if (poll(&pf, 1, left > 200 ? 200 : (int)left) <= 0)
            continue;
        ssize_t n = read(in, buf, sizeof buf);
        if (n <= 0)
            continue;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
            p += sizeof *ev + ev->len;
            on_event(in, a, k, ents, ev, &served);
        }
    }
    close(in);
}
