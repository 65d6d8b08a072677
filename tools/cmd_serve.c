/*
 * cmd_serve.c - `tether serve`: accept TLS connections, attest each one over its own
 * exporter, then echo or forward the application data. Each connection runs in its own
 * process with the library's deadlines, so one idle or slow peer never blocks another
 * (cocos-ea-wire.md 5.2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: tether serve --listen ADDR:PORT --tee TEE [--policy FILE] [--mutual]\n"
    "                    [--echo | --forward HOST:PORT] [--reattest SECONDS]\n"
    "                    [--count N] [--max-conns N] [--timeout MS] [--idle-timeout S]\n"
    "                    [--cert FILE --key FILE] [--insecure-legacy-mode NAME]\n"
    "  --listen      address to listen on (loopback for tests)\n"
    "  --tee         the TEE this server attests with: sim:DIR (from 'tether sim init DIR'),\n"
    "                snp[:TSM-DIR][;vmpl=N], tdx[:TSM-DIR], tpm[:TCTI][;pcrs=...][;akcert=PEM]\n"
    "  --mutual      also require and appraise the client's attestation (needs --policy)\n"
    "  --echo        echo application data back (default)\n"
    "  --forward     forward application data to a plain TCP backend\n"
    "  --reattest    with --mutual: request fresh client evidence every SECONDS\n"
    "  --count       exit after N connections (default: run forever)\n"
    "  --max-conns   concurrent connections (default 64)\n"
    "  --timeout     handshake and attestation deadline in ms (default 10000)\n"
    "  --idle-timeout  close an attested connection after SECONDS without traffic (default 300)\n"
    "  --insecure-legacy-mode  INSECURE, for interoperability tests and the relay lab only:\n"
    "                evidence in an RA-TLS certificate, not bound to the connection\n"
    "                (ra-nonce, ra-key, ra-key-nonce, ra-early-exporter; docs/protocol.md\n"
    "                \"Legacy modes\")\n";

struct serve_opts {
    const char *forward;
    int reattest;
    long idle; /* seconds without traffic before an attested connection is closed */
};

static int write_all_fd(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Write all of buf over a non-blocking tether connection. */
static int tether_write_all(struct tether *t, int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = tether_write(t, p, n);
        if (w == TETHER_WANT_POLLIN || w == TETHER_WANT_POLLOUT) {
            struct pollfd pf = {.fd = fd, .events = w == TETHER_WANT_POLLIN ? POLLIN : POLLOUT};
            if (poll(&pf, 1, 10000) <= 0)
                return -1;
            continue;
        }
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Relay between the attested connection and either itself (echo) or a backend socket. */
static int relay(struct tether *t, int fd, int backend, int reattest, long idle)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    char buf[16384];
    time_t next = reattest > 0 ? time(NULL) + reattest : 0;
    time_t last = time(NULL);
    /* Data may already wait inside the library, where poll cannot see it: records OpenSSL read
     * ahead with the end of the handshake (a legacy-mode client writes right after its
     * Finished), or data frames that tether_reattest_poll buffered. So read once before the
     * first poll, and on every round while re-attestation runs. */
    bool buffered = true;
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = backend, .events = POLLIN}};
        int n = poll(p, backend >= 0 ? 2 : 1, buffered ? 0 : 1000);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0)
            last = time(NULL);
        else if (time(NULL) - last > idle) {
            fprintf(stderr, "tether serve: closing a connection idle for %ld s\n", idle);
            return 0;
        }
        if (next && time(NULL) >= next) {
            if (tether_reattest(t) != 0)
                return -1;
            next = time(NULL) + reattest;
        }
        if (next && tether_reattest_poll(t) == -1) {
            fprintf(stderr, "tether serve: re-attestation failed: %s\n", tether_error(t));
            return -1;
        }
        if (buffered || next || (n > 0 && p[0].revents)) {
            buffered = false;
            for (;;) {
                ssize_t r = tether_read(t, buf, sizeof buf);
                if (r == TETHER_WANT_POLLIN || r == TETHER_WANT_POLLOUT)
                    break;
                if (r <= 0)
                    return r == 0 ? 0 : -1;
                if (backend >= 0 ? write_all_fd(backend, buf, (size_t)r)
                                 : tether_write_all(t, fd, buf, (size_t)r))
                    return -1;
            }
        }
        if (backend >= 0 && n > 0 && p[1].revents) {
            ssize_t r = read(backend, buf, sizeof buf);
            if (r <= 0)
                return r == 0 ? 0 : -1;
            if (tether_write_all(t, fd, buf, (size_t)r))
                return -1;
        }
    }
}

static int serve_one(struct tether_config *cfg, int fd, const struct serve_opts *o)
{
    struct tether *t = tether_server(cfg);
    int rc = EXIT_INTERNAL;
    if (!t)
        goto out;
    if (tether_accept_fd(t, fd) != 0 || tether_handshake(t) != 0) {
        const char *code = tether_error_code(t);
        fprintf(stderr, "tether serve: connection failed%s%s%s: %s\n", code ? " [" : "",
                code ? code : "", code ? "]" : "", tether_error(t));
        const struct tether_result *r = tether_peer_result(t);
        if (r)
            cli_print_result(stderr, r);
        rc = cli_exit_for(tether_error_category(t));
        goto out;
    }
    fprintf(stderr, "tether serve: attested connection ready (%s, %s)%s\n", tether_conn_version(t),
            tether_conn_cipher(t), tether_peer_result(t) ? ", client attested" : "");
    int backend = -1;
    if (o->forward && (backend = cli_dial(o->forward, 5000)) < 0) {
        rc = EXIT_IO;
        goto out;
    }
    rc = relay(t, fd, backend, o->reattest, o->idle) == 0 ? EXIT_PASS : EXIT_IO;
    if (backend >= 0)
        close(backend);
    tether_close(t);
out:
    tether_free(t);
    return rc;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'}, {"tee", required_argument, 0, 't'},
        {"policy", required_argument, 0, 'p'}, {"mutual", no_argument, 0, 'm'},
        {"echo", no_argument, 0, 'e'},         {"forward", required_argument, 0, 'f'},
        {"reattest", required_argument, 0, 'r'}, {"count", required_argument, 0, 'n'},
        {"max-conns", required_argument, 0, 'M'}, {"timeout", required_argument, 0, 'T'},
        {"cert", required_argument, 0, 'c'},   {"key", required_argument, 0, 'k'},
        {"idle-timeout", required_argument, 0, 'I'},
        {"insecure-legacy-mode", required_argument, 0, 'L'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *listen_addr = NULL, *tee = NULL, *policy = NULL, *cert = NULL, *key = NULL;
    const char *legacy = NULL;
    struct serve_opts o = {.idle = 300};
    bool mutual = false;
    long count = -1, max_conns = 64, timeout = 10000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen_addr = optarg; break;
        case 't': tee = optarg; break;
        case 'p': policy = optarg; break;
        case 'm': mutual = true; break;
        case 'e': o.forward = NULL; break;
        case 'f': o.forward = optarg; break;
        case 'r': o.reattest = atoi(optarg); if (o.reattest <= 0) cli_die_usage(usage); break;
        case 'n': count = atol(optarg); if (count <= 0) cli_die_usage(usage); break;
        case 'M': max_conns = atol(optarg); if (max_conns <= 0) cli_die_usage(usage); break;
        case 'T': timeout = atol(optarg); if (timeout <= 0) cli_die_usage(usage); break;
        case 'c': cert = optarg; break;
        case 'I': o.idle = atol(optarg); if (o.idle <= 0) cli_die_usage(usage); break;
        case 'k': key = optarg; break;
        case 'L': legacy = optarg; break;
        case 'h': fputs(usage, stdout); return EXIT_PASS;
        default: cli_die_usage(usage);
        }
    }
    if (!listen_addr || !tee || optind != argc)
        cli_die_usage(usage);
    if (mutual && !policy) {
        fprintf(stderr, "tether serve: --mutual needs --policy to appraise the client\n");
        return EXIT_USAGE;
    }
    if (o.reattest && !mutual) {
        fprintf(stderr, "tether serve: --reattest requests fresh evidence from the client and so "
                        "needs --mutual (clients re-attest the server with 'tether connect "
                        "--reattest')\n");
        return EXIT_USAGE;
    }
    if (legacy && (mutual || cert || key)) {
        fprintf(stderr, "tether serve: --insecure-legacy-mode cannot be combined with --mutual or "
                        "--cert/--key (legacy modes make their own RA-TLS certificate and only "
                        "the server attests)\n");
        return EXIT_USAGE;
    }
    if (legacy)
        fprintf(stderr,
                "tether serve: WARNING: INSECURE legacy binding mode \"%s\": the evidence "
                "travels in the TLS certificate and is NOT bound to this connection; a relay or "
                "replay attacker can present it. For interoperability tests and the relay lab "
                "only (docs/protocol.md, \"Legacy modes\").\n",
                legacy);
    struct tether_config *cfg = tether_config_new();
    if (!cfg)
        return EXIT_INTERNAL;
    if (tether_config_set_tee(cfg, tee) != 0 ||
        (legacy && tether_config_set_insecure_legacy_mode(cfg, legacy) != 0) ||
        (policy && tether_config_set_policy_file(cfg, policy) != 0) ||
        tether_config_set_attest(cfg, mutual ? TETHER_ATTEST_MUTUAL : TETHER_ATTEST_SERVER) != 0 ||
        tether_config_set_timeouts(cfg, (unsigned)timeout, (unsigned)timeout) != 0 ||
        ((cert || key) && tether_config_set_keypair_file(cfg, cert, key) != 0)) {
        fprintf(stderr, "tether serve: %s\n", tether_config_error(cfg));
        tether_config_free(cfg);
        return EXIT_USAGE;
    }
    int lfd = cli_listen(listen_addr, 128);
    if (lfd < 0) {
        tether_config_free(cfg);
        return EXIT_IO;
    }
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "tether serve: listening on %s, attesting with %s%s%s%s\n", listen_addr, tee,
            mutual ? ", mutual" : "", legacy ? ", INSECURE legacy mode " : "",
            legacy ? legacy : "");
    long served = 0, active = 0;
    int worst = EXIT_PASS;
    while (count < 0 || served < count) {
        int status;
        pid_t done;
        while ((done = waitpid(-1, &status, active >= max_conns ? 0 : WNOHANG)) > 0) {
            active--;
            if (WIFEXITED(status) && WEXITSTATUS(status) > worst)
                worst = WEXITSTATUS(status);
        }
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("tether serve: accept");
            break;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            int rc = serve_one(cfg, fd, &o);
            close(fd);
            tether_config_free(cfg);
            _exit(rc);
        }
        close(fd);
        if (pid < 0) {
            perror("tether serve: fork");
            continue;
        }
        active++;
        served++;
    }
    int status;
    while (active > 0 && waitpid(-1, &status, 0) > 0) {
        active--;
        if (WIFEXITED(status) && WEXITSTATUS(status) > worst)
            worst = WEXITSTATUS(status);
    }
    close(lfd);
    tether_config_free(cfg);
    return worst;
}
