/*
 * swtpm_fixture.c - a software TPM on loopback for the tests (see swtpm_fixture.h).
 */
#define _GNU_SOURCE
#include "swtpm_fixture.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

bool swtpm_fixture_installed(void)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char p[1200];
        snprintf(p, sizeof p, "%s/swtpm", d[0] ? d : ".");
        if (access(p, X_OK) == 0)
            return true;
    }
    return false;
}

/* sh SCRIPT CMD STATE, its output (both streams) in out. 0 on exit status 0. */
static int run_script(const struct swtpm_fixture *f, const char *cmd, char *out, size_t outlen)
{
    char line[1024];
    snprintf(line, sizeof line, "sh '%s' %s '%s' 2>&1", f->script, cmd, f->state);
    out[0] = 0;
    FILE *p = popen(line, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* A child that outlives a crash of this process: it blocks on a pipe only we write to and,
 * on EOF (our exit, however it happens), stops swtpm and removes the directory. The write end
 * is close-on-exec: the swtpm daemon and every other program we start must not hold it, or
 * the EOF would never come while swtpm runs. */
static int start_guardian(struct swtpm_fixture *f)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "sh '%s' stop '%s'; rm -rf '%s'", f->script, f->state, f->dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[1]);
        /* Off the test's stdout at once: a TAP reader waits for every holder of that pipe. */
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            if (null > 2)
                close(null);
        }
        char c;
        while (read(p[0], &c, 1) > 0)
            ;
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    f->guardian = pid;
    f->guardian_fd = p[1];
    f->guarded = true;
    return 0;
}

int swtpm_fixture_start(struct swtpm_fixture *f)
{
    memset(f, 0, sizeof *f);
    f->guardian = -1;
    f->guardian_fd = -1;
    if (!swtpm_fixture_installed()) {
        fprintf(stderr, "# skip: swtpm not installed (apt-get install swtpm swtpm-tools)\n");
        printf("# skip: swtpm not installed\n");
        return 1;
    }
    const char *s = getenv("TETHER_SWTPM_SCRIPT");
    snprintf(f->script, sizeof f->script, "%s", s && s[0] ? s : "scripts/swtpm.sh");
    if (access(f->script, R_OK) != 0) {
        fprintf(stderr, "# %s not found: run from the repository root or set "
                        "TETHER_SWTPM_SCRIPT\n", f->script);
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/tether-tpm.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        fprintf(stderr, "# swtpm fixture: mkdtemp %s failed\n", f->dir);
        f->dir[0] = 0;
        return -1;
    }
    snprintf(f->state, sizeof f->state, "%s/swtpm", f->dir);
    if (start_guardian(f) != 0) {
        fprintf(stderr, "# swtpm fixture: cannot start the guardian\n");
        swtpm_fixture_stop(f);
        return -1;
    }
    char out[512];
    if (run_script(f, "start", out, sizeof out) != 0) {
        fprintf(stderr, "# swtpm.sh start failed: %s\n", out);
        swtpm_fixture_stop(f);
        return -1;
    }
    f->port = atoi(out);
    if (f->port <= 0 || f->port > 65534) {
        fprintf(stderr, "# swtpm.sh start printed no port: %s\n", out);
        swtpm_fixture_stop(f);
        return -1;
    }
    snprintf(f->tcti, sizeof f->tcti, "swtpm:host=127.0.0.1,port=%d", f->port);
    snprintf(f->spec, sizeof f->spec, "tpm:%s", f->tcti);
    f->running = true;
    return 0;
}

void swtpm_fixture_stop(struct swtpm_fixture *f)
{
    if (f->dir[0]) {
        char out[512];
        if (f->state[0] && run_script(f, "stop", out, sizeof out) != 0)
            fprintf(stderr, "# swtpm.sh stop: %s\n", out);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "# could not remove %s\n", f->dir);
        f->dir[0] = 0;
    }
    if (f->guarded) {
        close(f->guardian_fd);
        /* Its own stop finds nothing left to stop: quick. */
        waitpid(f->guardian, NULL, 0);
        f->guarded = false;
        f->guardian = -1;
        f->guardian_fd = -1;
    }
    f->running = false;
    f->tcti[0] = 0;
    f->spec[0] = 0;
}

const char *swtpm_fixture_tcti(const struct swtpm_fixture *f)
{
    return f->running ? f->tcti : "";
}

const char *swtpm_fixture_tee_spec(const struct swtpm_fixture *f, const char *suffix, char *out,
                                   size_t outlen)
{
    if (!out || outlen == 0)
        return "";
    int n = snprintf(out, outlen, "%s%s", f->spec, suffix ? suffix : "");
    if (!f->running || n < 0 || (size_t)n >= outlen)
        out[0] = 0;
    return out;
}
