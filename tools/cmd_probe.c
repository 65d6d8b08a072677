/*
 * cmd_probe.c - `tether probe HOST:PORT`: look at an attested-TLS endpoint from outside and say
 * which binder it uses and which attacks (replay, relay, diversion) it is open to, and why.
 * The work is tether_probe (src/tls/probe.c); this file parses options and prints.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char usage[] =
    "usage: tether probe HOST:PORT [--json] [--timeout MS] [--servername NAME]\n"
    "  Connects a few times (plain, with SNI nonces, with an ALPN nonce) and reports the TLS\n"
    "  version, the certificate and its attestation extensions, whether the server answers an\n"
    "  Exported Authenticator request with evidence bound to the connection's exporter, the\n"
    "  binder class, and which attacks (replay, relay, diversion) it leaves open.\n"
    "  Evidence authenticity is not checked (no policy): use 'tether connect' to appraise.\n"
    "  --json        print the report as one JSON object (docs/cli.md)\n"
    "  --timeout     deadline in ms for each connection and for the authenticator (default 3000)\n"
    "  --servername  SNI of the first (plain) connection\n"
    "Exit status: 0 the probe ran (whatever it found), 2 usage, 3 cannot connect or no TLS.\n";

static const char *s_or(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

static const char *yes_no(json_t *v)
{
    return json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "n/a";
}

static void print_duration(long long s)
{
    if (s < 0)
        printf("negative");
    else if (s >= 2 * 86400)
        printf("%lld days", s / 86400);
    else if (s >= 2 * 3600)
        printf("%lld hours", s / 3600);
    else
        printf("%lld s", s);
}

static void print_report(json_t *r)
{
    json_t *tls = json_object_get(r, "tls");
    printf("target:          %s\n", s_or(r, "target", "?"));
    printf("TLS:             %s, %s, ALPN %s\n", s_or(tls, "version", "?"), s_or(tls, "cipher", "?"),
           s_or(tls, "alpn", "none"));
    json_t *c = json_object_get(r, "certificate");
    if (json_is_object(c)) {
        printf("certificate:     %s%s, %s\n", s_or(c, "subject", "?"),
               json_is_true(json_object_get(c, "self_signed")) ? " (self-signed)" : "",
               s_or(c, "key_type", "?"));
        printf("                 valid %s .. %s (", s_or(c, "not_before", "?"),
               s_or(c, "not_after", "?"));
        json_t *lt = json_object_get(c, "lifetime_seconds");
        if (json_is_integer(lt))
            print_duration((long long)json_integer_value(lt));
        else
            printf("?");
        printf(")\n");
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(c, "extensions"), i, e)
        {
            const char *name = s_or(e, "name", "");
            bool att = json_is_true(json_object_get(e, "attestation"));
            printf("  %s %-24s %5lld bytes%s %s", att ? "[attestation]" : "             ",
                   s_or(e, "oid", "?"), (long long)json_integer_value(json_object_get(e, "length")),
                   json_is_true(json_object_get(e, "critical")) ? " critical" : "", name);
            if (att && json_string_value(json_object_get(e, "evidence_type")))
                printf(" -> %s evidence", s_or(e, "evidence_type", "?"));
            printf("\n");
        }
    }
    json_t *ce = json_object_get(r, "certificate_evidence");
    if (json_is_true(json_object_get(ce, "present"))) {
        printf("cert evidence:   %s, type %s, TEE %s\n", s_or(ce, "oid", "?"),
               s_or(ce, "evidence_type", "not parsed"), s_or(ce, "tee", "unknown"));
        if (json_string_value(json_object_get(ce, "report_data_formula")))
            printf("                 %s\n", s_or(ce, "report_data_formula", ""));
        printf("                 changes with the SNI nonce: %s; nonce needed: %s\n",
               yes_no(json_object_get(ce, "changes_with_sni_nonce")),
               yes_no(json_object_get(ce, "requires_nonce")));
    } else {
        printf("cert evidence:   none (no extension with a known attestation OID)\n");
    }
    json_t *car = json_object_get(r, "nonce_carriers");
    printf("nonce carriers:  ");
    if (json_array_size(car) == 0)
        printf("none observed");
    size_t i;
    json_t *v;
    json_array_foreach(car, i, v) printf("%s%s", i ? ", " : "", json_string_value(v));
    printf("\n");
    json_t *ea = json_object_get(r, "exported_authenticator");
    printf("exported auth.:  answered %s, valid %s", yes_no(json_object_get(ea, "answered")),
           yes_no(json_object_get(ea, "valid")));
    if (json_is_true(json_object_get(ea, "valid")))
        printf(", media type %s, TEE %s%s, exporter-bound %s", s_or(ea, "media_type", "none"),
               s_or(ea, "tee", "unknown"),
               json_is_true(json_object_get(ea, "simulated")) ? " (SIMULATED)" : "",
               yes_no(json_object_get(ea, "exporter_bound")));
    printf("\n");
    if (json_string_value(json_object_get(ea, "detail")))
        printf("                 %s\n", s_or(ea, "detail", ""));
    printf("key reused:      %s (the TLS certificate key across connections)\n",
           yes_no(json_object_get(r, "key_reused_across_connections")));
    printf("TEE:             %s%s\n", s_or(r, "tee", "unknown"),
           json_is_true(json_object_get(r, "simulated")) ? " (SIMULATED)" : "");
    printf("\nbinder class:    %s\n                 %s\n", s_or(r, "binder_class", "?"),
           s_or(r, "binder_description", ""));
    json_t *open = json_object_get(r, "open_to");
    json_t *cond = json_object_get(r, "open_to_conditions");
    static const char *const attacks[] = {"replay", "relay", "diversion"};
    printf("open to:        ");
    for (size_t k = 0; k < 3; k++) {
        json_t *a = json_object_get(open, attacks[k]);
        const char *when = json_string_value(json_object_get(cond, attacks[k]));
        printf(" %s %s%s%s%s", attacks[k],
               json_is_true(a) ? "YES" : json_is_false(a) ? "no" : "n/a", when ? " (" : "",
               when ? when : "", when ? ")" : "");
        printf(k < 2 ? ";" : "\n");
    }
    printf("why:\n");
    json_array_foreach(json_object_get(r, "reasons"), i, v) printf("  - %s\n", json_string_value(v));
    printf("(evidence authenticity not checked: the probe has no policy; use 'tether connect')\n");
}

int cmd_probe(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"timeout", required_argument, 0, 'T'},
                                         {"servername", required_argument, 0, 'S'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    bool json = false;
    long timeout = 3000;
    const char *servername = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'T': {
            char *end = NULL;
            timeout = strtol(optarg, &end, 10);
            if (!end || *end || timeout <= 0 || timeout > 600000)
                cli_die_usage(usage);
            break;
        }
        case 'S': servername = optarg; break;
        case 'h': fputs(usage, stdout); return EXIT_PASS;
        default: cli_die_usage(usage);
        }
    }
    if (optind != argc - 1)
        cli_die_usage(usage);
    signal(SIGPIPE, SIG_IGN);
    char *report = NULL;
    char err[512] = "";
    int rc = tether_probe(argv[optind], servername, (unsigned)timeout, &report, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "tether probe: %s\n", err[0] ? err : "failed");
        switch (-rc) {
        case TETHER_ERR_USAGE: return EXIT_USAGE;
        case TETHER_ERR_IO:
        case TETHER_ERR_TLS: return EXIT_IO;
        default: return EXIT_INTERNAL;
        }
    }
    if (json) {
        puts(report);
    } else {
        json_error_t e;
        json_t *r = json_loads(report, 0, &e);
        if (r)
            print_report(r);
        else
            puts(report);
        json_decref(r);
    }
    free(report);
    return EXIT_PASS;
}
