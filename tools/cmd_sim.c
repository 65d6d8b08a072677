/*
 * cmd_sim.c - `tether sim init DIR`: provision a simulated TEE (docs/sim.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: tether sim init DIR [--measurement HEX48] [--platform-id HEX16] [--tcb N] [--debug]\n"
    "                           [--root-from DIR]\n"
    "  Writes a sim root CA, an attestation key, sim.json and policy.json (a policy that\n"
    "  accepts exactly this simulated TEE) to DIR. --root-from shares another sim's root, to\n"
    "  model a second genuine machine.\n";

int cmd_sim(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "init") != 0)
        cli_die_usage(usage);
    static const struct option opts[] = {
        {"measurement", required_argument, 0, 'm'}, {"platform-id", required_argument, 0, 'p'},
        {"tcb", required_argument, 0, 't'},         {"debug", no_argument, 0, 'd'},
        {"root-from", required_argument, 0, 'r'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    struct tether_sim_params p = {0};
    int c;
    optind = 1;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': p.measurement_hex = optarg; break;
        case 'p': p.platform_id_hex = optarg; break;
        case 't': {
            long v = atol(optarg);
            if (v <= 0 || v > 0xffffffffL)
                cli_die_usage(usage);
            p.tcb_version = (uint32_t)v;
            break;
        }
        case 'd': p.debug = 1; break;
        case 'r': p.root_from_dir = optarg; break;
        case 'h': fputs(usage, stdout); return EXIT_PASS;
        default: cli_die_usage(usage);
        }
    }
    if (optind != argc - 1)
        cli_die_usage(usage);
    char err[512] = "";
    if (tether_sim_provision(argv[optind], &p, err, sizeof err) != 0) {
        fprintf(stderr, "tether sim init: %s\n", err);
        return EXIT_USAGE;
    }
    printf("simulated TEE provisioned in %s (policy: %s/policy.json)\n", argv[optind], argv[optind]);
    return EXIT_PASS;
}
