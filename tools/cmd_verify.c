#define _GNU_SOURCE
/*
 * cmd_verify.c - `tether verify`: offline verification of evidence. Authenticity always; the
 * binding when --binder is given (reported as skipped otherwise); appraisal with --policy.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* util from the library is hidden; the CLI keeps its own tiny readers. */
static int read_file(const char *path, unsigned char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        if (cap >= (64u << 20)) {
            free(buf);
            buf = NULL;
            break;
        }
        unsigned char *g = realloc(buf, cap * 2);
        if (!g) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = g;
        cap *= 2;
    }
    fclose(f);
    if (!buf)
        return -1;
    *out = buf;
    *len = n;
    return 0;
}

static int parse_hex(const char *s, unsigned char *out, size_t cap, size_t *len)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
            return -1;
        out[i] = (unsigned char)v;
    }
    *len = n / 2;
    return 0;
}

static const char usage[] =
    "usage: tether verify --evidence FILE [--policy FILE] [--collateral PATH]...\n"
    "                     [--binder HEX] [--at RFC3339] [--type TYPE] [--json]\n"
    "  --evidence    raw evidence, or a cmw_attestation JSON payload; type recognised by content\n"
    "  --policy      appraise against this policy (else appraisal is reported as skipped)\n"
    "  --binder      expected report_data (64 bytes hex) or binding (32/48 bytes hex)\n"
    "  --at          time of verification, e.g. 2025-06-01T00:00:00Z (default: now)\n"
    "  --type        force the evidence type (sim, snp, tdx, sgx, tpm, azure-vtpm)\n"
    "  --collateral  certificates and CRLs (DER or PEM; files or folders), e.g. an SNP VCEK;\n"
    "                a folder is also searched as an offline bundle (docs/collateral.md)\n"
    "  --kds-cache DIR  fetch a missing SNP VCEK from AMD KDS into DIR (network opt-in;\n"
    "                TETHER_KDS_URL names a mirror)\n"
    "  --pcs-cache DIR  fetch missing TDX/SGX collateral (TCB Info, QE Identity, CRLs) from\n"
    "                Intel PCS into DIR (network opt-in; TETHER_PCS_URL names a mirror)\n";

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"evidence", required_argument, 0, 'e'}, {"policy", required_argument, 0, 'p'},
        {"collateral", required_argument, 0, 'c'}, {"binder", required_argument, 0, 'b'},
        {"kds-cache", required_argument, 0, 'k'}, {"pcs-cache", required_argument, 0, 'P'},
        {"at", required_argument, 0, 'a'},       {"type", required_argument, 0, 't'},
        {"json", no_argument, 0, 'j'},           {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *evidence = NULL, *policy = NULL, *binder = NULL, *at = NULL, *type = NULL;
    const char *collateral[33] = {0};
    int ncoll = 0;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'e': evidence = optarg; break;
        case 'p': policy = optarg; break;
        case 'c': if (ncoll == 32) cli_die_usage(usage); collateral[ncoll++] = optarg; break;
        case 'k': {
            /* The library reads "kds:DIR" in the collateral list as the KDS opt-in. */
            static char kds[4200];
            if (ncoll == 32 || snprintf(kds, sizeof kds, "kds:%s", optarg) >= (int)sizeof kds)
                cli_die_usage(usage);
            collateral[ncoll++] = kds;
            break;
        }
        case 'P': {
            /* ... and "pcs:DIR" as the Intel PCS opt-in. */
            static char pcs[4200];
            if (ncoll == 32 || snprintf(pcs, sizeof pcs, "pcs:%s", optarg) >= (int)sizeof pcs)
                cli_die_usage(usage);
            collateral[ncoll++] = pcs;
            break;
        }
        case 'b': binder = optarg; break;
        case 'a': at = optarg; break;
        case 't': type = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(usage, stdout); return EXIT_PASS;
        default: cli_die_usage(usage);
        }
    }
    if (!evidence || optind != argc)
        cli_die_usage(usage);
    struct tether_verify_params p = {.type = type, .collateral = ncoll ? collateral : NULL};
    unsigned char bind[64];
    size_t bind_len = 0;
    if (binder) {
        if (parse_hex(binder, bind, sizeof bind, &bind_len) != 0) {
            fprintf(stderr, "tether verify: --binder must be hex (64, 48 or 32 bytes)\n");
            return EXIT_USAGE;
        }
        p.binder = bind;
        p.binder_len = bind_len;
    }
    if (at) {
        struct tm tm = {0};
        char *end = strptime(at, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end || (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)) {
            fprintf(stderr, "tether verify: --at must be RFC 3339 UTC, e.g. 2025-06-01T00:00:00Z\n");
            return EXIT_USAGE;
        }
        struct tm want = tm, back;
        p.at = timegm(&tm);
        gmtime_r(&p.at, &back);
        if (back.tm_mday != want.tm_mday || back.tm_mon != want.tm_mon ||
            back.tm_year != want.tm_year) {
            fprintf(stderr, "tether verify: --at %s is not a valid date\n", at);
            return EXIT_USAGE;
        }
    }
    unsigned char *ev = NULL;
    size_t ev_len = 0;
    if (read_file(evidence, &ev, &ev_len) != 0) {
        fprintf(stderr, "tether verify: cannot read %s\n", evidence);
        return EXIT_USAGE;
    }
    p.evidence = ev;
    p.evidence_len = ev_len;
    struct tether_config *cfg = tether_config_new();
    int rc = EXIT_INTERNAL;
    if (!cfg)
        goto out;
    if (policy && tether_config_set_policy_file(cfg, policy) != 0) {
        fprintf(stderr, "tether verify: %s\n", tether_config_error(cfg));
        rc = EXIT_USAGE;
        goto out;
    }
    struct tether_result *r = tether_verify(cfg, &p);
    if (!r) {
        fprintf(stderr, "tether verify: %s\n", tether_config_error(cfg));
        rc = cli_exit_for(tether_config_error_category(cfg));
        goto out;
    }
    if (json)
        puts(tether_result_json(r));
    else
        cli_print_result(stdout, r);
    rc = tether_result_passed(r) ? EXIT_PASS : EXIT_REJECT;
    tether_result_free(r);
out:
    tether_config_free(cfg);
    free(ev);
    return rc;
}
