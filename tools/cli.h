/*
 * cli.h - shared pieces of the tether command: exit codes, sockets, output.
 * The CLI uses only the public API (include/tether.h).
 */
#ifndef TETHER_CLI_H
#define TETHER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tether.h"

/* Exit codes (docs/cli.md). */
#define EXIT_PASS 0     /* attested / verified: verdict pass */
#define EXIT_REJECT 1   /* the peer or the evidence was rejected: a check failed */
#define EXIT_USAGE 2    /* bad command line or configuration */
#define EXIT_IO 3       /* network, TLS or timeout failure */
#define EXIT_INTERNAL 4

int cmd_serve(int argc, char **argv);
int cmd_connect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_probe(int argc, char **argv);

/* "HOST:PORT" or "[v6]:PORT". */
int cli_listen(const char *addr, int backlog);
int cli_dial(const char *addr, int timeout_ms);
/* Exit code for a failed connection, by error category. */
int cli_exit_for(enum tether_error_category cat);
/* Print a result for people: verdict line and one line per check. */
void cli_print_result(FILE *out, const struct tether_result *r);
void cli_die_usage(const char *usage) __attribute__((noreturn));

#endif
