/*
 * tether.c - the tether command: one binary, a table of subcommands, one file per subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"serve", cmd_serve, "run an attesting TLS server (echo or forward to a backend)"},
    {"connect", cmd_connect, "connect, appraise the server's evidence, optionally send data"},
    {"verify", cmd_verify, "verify evidence offline (authenticity, binding, policy)"},
    {"sim", cmd_sim, "provision a simulated TEE: tether sim init DIR"},
    {"lab", cmd_lab, "run the relay-attack lab: attacks T-1..T-20 vs modes (docs/attacks.md)"},
    {"probe", cmd_probe, "observe an attested-TLS endpoint: binder class, replay/relay/diversion"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: tether COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\n'tether COMMAND --help' describes each command. Exit status: 0 pass, 1 "
                 "rejected, 2 usage, 3 network/TLS, 4 internal.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_PASS;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tether %s\n", TETHER_VERSION_STRING);
        return EXIT_PASS;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tether: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
