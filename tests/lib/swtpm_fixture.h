/*
 * swtpm_fixture.h - a real software TPM 2.0 (swtpm) on 127.0.0.1 for the tests that need one
 * (test_tpm_attester.c, test_relay.c), started through scripts/swtpm.sh with its state in a
 * fresh mkdtemp directory.
 *
 * swtpm_fixture_start starts it (a fresh TPM: a new endorsement seed, so a new AK) and a
 * guardian child that outlives a crash of this process: it blocks on a pipe only this process
 * holds (close-on-exec, so neither swtpm nor any other child keeps it open) and, on EOF (this
 * process's exit, however it happens: a failed assert, abort, alarm()), stops swtpm and
 * removes the directory. swtpm_fixture_stop does both at once and reaps the guardian; it is
 * idempotent and safe after a failed or skipped start and on a zeroed struct, so call it
 * from every teardown.
 * Start before creating threads (it forks).
 *
 * The script is scripts/swtpm.sh relative to the working directory (the repository root, as
 * scripts/run-tests.sh runs the tests) or $TETHER_SWTPM_SCRIPT. Test code only. Must never:
 * bind anything but loopback, leave a swtpm running, wait unboundedly (swtpm.sh bounds its own
 * waits).
 */
#ifndef TETHER_TEST_SWTPM_FIXTURE_H
#define TETHER_TEST_SWTPM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct swtpm_fixture {
    char script[512];
    char dir[256];    /* mkdtemp: the caller may put its own files here (removed at stop) */
    char state[300];  /* swtpm state dir, dir/swtpm */
    int port;         /* TPM command port (control channel: port + 1) */
    char tcti[128];   /* swtpm:host=127.0.0.1,port=P */
    char spec[160];   /* tpm:swtpm:host=127.0.0.1,port=P (tether_config_set_tee) */
    pid_t guardian;   /* valid when guarded */
    int guardian_fd;  /* the pipe's write end, valid when guarded */
    bool guarded;
    bool running;
};

/* 1 if an executable swtpm is on $PATH. */
bool swtpm_fixture_installed(void);

/* Starts swtpm. 0: running (f->tcti, f->spec, f->dir set); 1: skip, swtpm is not installed
 * ("# skip: swtpm not installed ..." printed); -1: error (message on stderr, nothing left
 * running). f need not be initialised. */
int swtpm_fixture_start(struct swtpm_fixture *f);

/* Stops swtpm, removes f->dir and reaps the guardian. Idempotent. */
void swtpm_fixture_stop(struct swtpm_fixture *f);

/* "swtpm:host=127.0.0.1,port=P" (a TCTI for Tss2_TctiLdr_Initialize), "" if not running. */
const char *swtpm_fixture_tcti(const struct swtpm_fixture *f);

/* "tpm:swtpm:host=127.0.0.1,port=P" followed by suffix (e.g. ";pcrs=sha256:0"; NULL for
 * none), written to out: a TEE spec for attester_open or tether_config_set_tee. Returns out,
 * or "" (not running, or out too small). */
const char *swtpm_fixture_tee_spec(const struct swtpm_fixture *f, const char *suffix, char *out,
                                   size_t outlen);

#endif
