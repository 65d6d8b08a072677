/*
 * cmd_connect.c - `tether connect`: connect, appraise the server's evidence over this
 * connection's exporter, print the report, and only then send application data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

static const char usage[] =
    "usage: tether connect ADDR:PORT --policy FILE [--send TEXT] [--json]\n"
    "                      [--tee sim:DIR] [--reattest SECONDS --rounds N]\n"
    "                      [--servername NAME] [--ca-file FILE] [--cocos-compat] [--timeout MS]\n"
    "                      [--insecure-legacy-mode NAME]\n"
    "  --policy        appraisal policy for the server's evidence (docs/policy.md)\n"
    "  --send          after a passing appraisal, send TEXT and print the reply\n"
    "  --json          print one JSON object (connection, attestation report, reply)\n"
    "  --tee           also attest this client (mutual attestation)\n"
    "  --reattest      request fresh evidence every SECONDS on the live connection, --rounds times\n"
    "  --cocos-compat  talk to a deployed Cocos aTLS v2 server (one exchange, raw data after)\n"
    "  --insecure-legacy-mode NAME  INSECURE, for interoperability tests and the relay lab\n"
    "                  only: appraise evidence in the server's RA-TLS certificate, which is NOT\n"
    "                  bound to this connection (ra-nonce, ra-key, ra-key-nonce,\n"
    "                  ra-early-exporter;\n"
    "                  docs/protocol.md \"Legacy modes\")\n";

int cmd_connect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, 0, 'p'},  {"send", required_argument, 0, 's'},
        {"json", no_argument, 0, 'j'},          {"tee", required_argument, 0, 't'},
        {"reattest", required_argument, 0, 'r'}, {"rounds", required_argument, 0, 'R'},
        {"servername", required_argument, 0, 'S'}, {"ca-file", required_argument, 0, 'C'},
        {"cocos-compat", no_argument, 0, 'c'},  {"timeout", required_argument, 0, 'T'},
        {"insecure-legacy-mode", required_argument, 0, 'L'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *policy = NULL, *send = NULL, *tee = NULL, *servername = NULL, *ca = NULL;
    const char *legacy = NULL;
    bool json = false, compat = false;
    long reattest = 0, rounds = 1, timeout = 10000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': policy = optarg; break;
        case 's': send = optarg; break;
        case 'j': json = true; break;
        case 't': tee = optarg; break;
        case 'r': reattest = atol(optarg); if (reattest <= 0) cli_die_usage(usage); break;
        case 'R': rounds = atol(optarg); if (rounds <= 0 || rounds > 1000) cli_die_usage(usage); break;
        case 'S': servername = optarg; break;
        case 'C': ca = optarg; break;
        case 'c': compat = true; break;
        case 'T': timeout = atol(optarg); if (timeout <= 0) cli_die_usage(usage); break;
        case 'L': legacy = optarg; break;
        case 'h': fputs(usage, stdout); return EXIT_PASS;
        default: cli_die_usage(usage);
        }
    }
    if (optind != argc - 1 || !policy)
        cli_die_usage(usage);
    const char *addr = argv[optind];
    if (legacy && (tee || ca || compat || reattest)) {
        fprintf(stderr, "tether connect: --insecure-legacy-mode cannot be combined with --tee, "
                        "--ca-file, --cocos-compat or --reattest\n");
        return EXIT_USAGE;
    }
    if (legacy)
        fprintf(stderr,
                "tether connect: WARNING: INSECURE legacy binding mode \"%s\": the evidence "
                "travels in the TLS certificate and is NOT bound to this connection; a relay or "
                "replay attacker can present it. For interoperability tests and the relay lab "
                "only (docs/protocol.md, \"Legacy modes\").\n",
                legacy);
    signal(SIGPIPE, SIG_IGN);

    struct tether_config *cfg = tether_config_new();
    if (!cfg)
        return EXIT_INTERNAL;
    if (tether_config_set_policy_file(cfg, policy) != 0 ||
        (tee && (tether_config_set_tee(cfg, tee) != 0 ||
                 tether_config_set_attest(cfg, TETHER_ATTEST_MUTUAL) != 0)) ||
        (ca && tether_config_set_ca_file(cfg, ca) != 0) ||
        tether_config_set_cocos_compat(cfg, compat) != 0 ||
        (legacy && tether_config_set_insecure_legacy_mode(cfg, legacy) != 0) ||
        tether_config_set_timeouts(cfg, (unsigned)timeout, (unsigned)timeout) != 0) {
        fprintf(stderr, "tether connect: %s\n", tether_config_error(cfg));
        tether_config_free(cfg);
        return EXIT_USAGE;
    }
    int fd = cli_dial(addr, (int)timeout);
    if (fd < 0) {
        tether_config_free(cfg);
        return EXIT_IO;
    }
    struct tether *t = tether_client(cfg);
    int rc = EXIT_INTERNAL;
    char *reply = NULL;
    size_t reply_len = 0;
    bool no_reply = false;
    const char *closed_msg = tee ? "the server closed the connection without replying (it may "
                                   "have rejected this client's attestation)"
                                 : "the server closed the connection without replying";
    if (!t)
        goto out;
    int hs = tether_connect_fd(t, fd, servername);
    if (hs == 0)
        hs = tether_handshake(t);
    const struct tether_result *res = tether_peer_result(t);
    if (hs != 0) {
        rc = cli_exit_for(tether_error_category(t));
    } else {
        rc = EXIT_PASS;
        for (long i = 1; i < rounds && reattest > 0; i++) {
            sleep((unsigned)reattest);
            if (tether_reattest(t) != 0 || tether_reattest_poll(t) != 0) {
                rc = cli_exit_for(tether_error_category(t));
                break;
            }
            if (!json)
                fprintf(stderr, "tether connect: re-attestation %u passed\n",
                        tether_attestation_count(t));
        }
        res = tether_peer_result(t);
        if (rc == EXIT_PASS && send) {
            size_t n = strlen(send);
            if (tether_write(t, send, n) != (ssize_t)n) {
                rc = cli_exit_for(tether_error_category(t));
            } else {
                /* Read the reply until the peer closes, the echo is complete or 3 s pass. */
                reply = malloc(65536);
                time_t until = time(NULL) + 3;
                while (reply && reply_len < n && time(NULL) < until) {
                    ssize_t r = tether_read(t, reply + reply_len, 65535 - reply_len);
                    if (r < 0) {
                        rc = cli_exit_for(tether_error_category(t));
                        break;
                    }
                    if (r == 0) {
                        /* In mutual mode the server's only way to say "your evidence was
                         * rejected" is to close: never report that as success. */
                        if (reply_len == 0) {
                            rc = EXIT_IO;
                            no_reply = true;
                        }
                        break;
                    }
                    reply_len += (size_t)r;
                }
                if (reply)
                    reply[reply_len] = '\0';
            }
        }
    }
    uint64_t sent = 0, recv = 0;
    tether_conn_bytes(t, &sent, &recv);
    if (json) {
        json_t *o = json_object();
        json_t *conn = json_object();
        json_object_set_new(conn, "peer", json_string(addr));
        json_object_set_new(conn, "tls_version", tether_conn_version(t) ? json_string(tether_conn_version(t)) : json_null());
        json_object_set_new(conn, "cipher", tether_conn_cipher(t) ? json_string(tether_conn_cipher(t)) : json_null());
        json_object_set_new(conn, "bytes_sent", json_integer((json_int_t)sent));
        json_object_set_new(conn, "bytes_received", json_integer((json_int_t)recv));
        json_object_set_new(conn, "attestations", json_integer(tether_attestation_count(t)));
        json_object_set_new(o, "connection", conn);
        json_error_t e;
        json_t *att = res ? json_loads(tether_result_json(res), 0, &e) : NULL;
        json_object_set_new(o, "attestation", att ? att : json_null());
        const char *emsg = no_reply ? closed_msg : tether_error(t) ? tether_error(t) : "failed";
        const char *ecode = no_reply ? "peer_closed" : tether_error_code(t);
        json_object_set_new(o, "error", rc ? json_string(emsg) : json_null());
        json_object_set_new(o, "error_code", rc && ecode ? json_string(ecode) : json_null());
        if (send)
            json_object_set_new(o, "reply", reply ? json_stringn(reply, reply_len) : json_null());
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
        json_decref(o);
    } else {
        if (tether_conn_version(t))
            printf("connected to %s (%s, %s)\n", addr, tether_conn_version(t), tether_conn_cipher(t));
        if (res)
            cli_print_result(stdout, res);
        if (rc != EXIT_PASS && no_reply) {
            fprintf(stderr, "tether connect: [peer_closed] %s\n", closed_msg);
        } else if (rc != EXIT_PASS) {
            const char *code = tether_error_code(t);
            fprintf(stderr, "tether connect: %s%s%s%s\n", code ? "[" : "", code ? code : "",
                    code ? "] " : "", tether_error(t) ? tether_error(t) : "failed");
        } else {
            printf("attested connection: %u appraisal(s) passed; application data unlocked\n",
                   tether_attestation_count(t));
            if (send)
                printf("reply: %.*s\n", (int)reply_len, reply ? reply : "");
        }
    }
    tether_close(t);
out:
    free(reply);
    tether_free(t);
    close(fd);
    tether_config_free(cfg);
    return rc;
}
