/*
 * cmd_lab.c - `tether lab [--json] [--scenario ID] [--mode M]`: run the relay-attack lab
 * (docs/attacks.md).
 *
 * The lab needs powers that libtether and this command must never contain: leaked keys and
 * TLS secrets, and an attestation oracle. They live in a separate program, tether-lab, linked
 * with the test build (Makefile). This command holds no attack code and no hook: it finds
 * tether-lab ($TETHER_LAB, else next to this executable) and execs it with the arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int lab_path(char *out, size_t n)
{
    const char *env = getenv("TETHER_LAB");
    if (env && env[0]) {
        if (strlen(env) >= n)
            return -1;
        snprintf(out, n, "%s", env);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return -1;
    self[len] = 0;
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = 0;
    int w = snprintf(out, n, "%s/tether-lab", self);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

int cmd_lab(int argc, char **argv)
{
    char path[PATH_MAX];
    if (lab_path(path, sizeof path) != 0) {
        fprintf(stderr, "tether lab: cannot locate the tether-lab program (set TETHER_LAB)\n");
        return EXIT_INTERNAL;
    }
    if (access(path, X_OK) != 0) {
        fprintf(stderr,
                "tether lab: %s: %s\n"
                "  The relay lab is a separate program built from the test objects ('make' builds\n"
                "  build/tether-lab next to build/tether); set TETHER_LAB to its path.\n",
                path, strerror(errno));
        return EXIT_USAGE;
    }
    /* argv[0] is "lab"; the lab gets its own path, then the user's arguments unchanged. */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args)
        return EXIT_INTERNAL;
    args[0] = path;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    fflush(NULL);
    execv(path, args);
    fprintf(stderr, "tether lab: cannot run %s: %s\n", path, strerror(errno));
    free(args);
    return EXIT_INTERNAL;
}
