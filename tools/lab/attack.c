/*
 * attack.c - the attacker thread: a loopback listener the victim client dials, a scenario
 * script that runs on it, and the attacker's plaintext log ("did the attacker read the
 * client's secret?"). Also the small helpers that turn one client run into a cell outcome.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lab/lab.h"

static void *attacker_main(void *arg)
{
    struct lab_attacker *a = arg;
    a->script(a);
    return NULL;
}

int lab_attacker_start(struct lab_attacker *a, struct lab_env *env, const struct lab_cell *cell,
                       void (*script)(struct lab_attacker *), void *arg)
{
    int sessions = a->sessions > 0 ? a->sessions : 1;
    memset(a, 0, sizeof *a);
    a->env = env;
    a->cell = cell;
    a->script = script;
    a->arg = arg;
    a->sessions = sessions;
    lab_log_init(&a->plain);
    a->listen_fd = lab_listen(&a->port);
    if (a->listen_fd < 0)
        return -1;
    if (pthread_create(&a->th, NULL, attacker_main, a) != 0) {
        close(a->listen_fd);
        a->listen_fd = -1;
        return -1;
    }
    a->started = true;
    return 0;
}

void lab_attacker_join(struct lab_attacker *a)
{
    if (a->started)
        pthread_join(a->th, NULL);
    a->started = false;
    if (a->listen_fd >= 0)
        close(a->listen_fd);
    a->listen_fd = -1;
}

int lab_attacker_accept(struct lab_attacker *a)
{
    int fd = lab_accept(a->listen_fd, LAB_IO_MS);
    if (fd < 0)
        lab_note(a, "no client connection arrived");
    return fd;
}

void lab_forwarder_init(struct lab_forwarder *fw, uint16_t port, const char *unreachable)
{
    memset(fw, 0, sizeof *fw);
    fw->port = port;
    fw->unreachable = unreachable;
    lab_log_init(&fw->f.a_to_b);
    lab_log_init(&fw->f.b_to_a);
}

void lab_script_forward(struct lab_attacker *a)
{
    struct lab_forwarder *fw = a->arg;
    int cfd = lab_attacker_accept(a);
    if (cfd < 0)
        return;
    int sfd = lab_dial(fw->port);
    if (sfd < 0) {
        lab_note(a, "%s", fw->unreachable);
        close(cfd);
        return;
    }
    fw->f.a = cfd;
    fw->f.b = sfd;
    lab_forward_run(&fw->f);
    lab_log_append(&a->plain, fw->f.a_to_b.data, fw->f.a_to_b.len);
    lab_log_append(&a->plain, fw->f.b_to_a.data, fw->f.b_to_a.len);
    shutdown(cfd, SHUT_RDWR);
    shutdown(sfd, SHUT_RDWR);
    close(cfd);
    close(sfd);
}

void lab_forwarder_free(struct lab_forwarder *fw)
{
    lab_log_free(&fw->f.a_to_b);
    lab_log_free(&fw->f.b_to_a);
}

void lab_note(struct lab_attacker *a, const char *fmt, ...)
{
    /* Notes accumulate, separated by "; ". */
    size_t used = strlen(a->note);
    if (used && used + 2 < sizeof a->note) {
        memcpy(a->note + used, "; ", 3);
        used += 2;
    }
    if (used >= sizeof a->note - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->note + used, sizeof a->note - used, fmt, ap);
    va_end(ap);
}

void lab_detail(struct lab_outcome *o, const char *fmt, ...)
{
    size_t used = strlen(o->detail);
    if (used && used + 2 < sizeof o->detail) {
        memcpy(o->detail + used, "; ", 3);
        used += 2;
    }
    if (used >= sizeof o->detail - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->detail + used, sizeof o->detail - used, fmt, ap);
    va_end(ap);
}

void lab_fail(struct lab_outcome *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->reason, sizeof o->reason, fmt, ap);
    va_end(ap);
    o->lab_error = true;
}

void lab_outcome_from_client(struct lab_outcome *o, const struct lab_client *c,
                             struct lab_log *attacker_plain)
{
    o->ran = true;
    o->client_accepted = c->accepted;
    o->attacker_read_secret = c->sent && attacker_plain && lab_log_contains(attacker_plain, c->secret);
    snprintf(o->code, sizeof o->code, "%s", c->accepted ? "" : c->code);
}

void lab_run_attack(struct lab_env *env, const struct lab_cell *cell, struct lab_outcome *o,
                    void (*script)(struct lab_attacker *), void *arg, int sessions,
                    const struct lab_client *tmpl)
{
    struct lab_attacker a;
    memset(&a, 0, sizeof a);
    a.sessions = sessions;
    if (lab_attacker_start(&a, env, cell, script, arg) != 0) {
        lab_fail(o, "cannot start the attacker");
        lab_log_free(&a.plain);
        return;
    }
    int accepted = 0, read = 0, ran = 0;
    char first_code[64] = "";
    bool codes_differ = false, have_code = false;
    for (int i = 0; i < sessions; i++) {
        struct lab_client c;
        if (tmpl)
            c = *tmpl;
        else
            memset(&c, 0, sizeof c);
        if (!tmpl) {
            c.mode = cell->mode;
            c.policy = cell->policy;
        }
        char err[256] = "";
        if (lab_client_run(env, a.port, &c, err, sizeof err) != 0) {
            lab_fail(o, "client: %s", err);
            break;
        }
        ran++;
        struct lab_outcome one;
        memset(&one, 0, sizeof one);
        lab_outcome_from_client(&one, &c, &a.plain);
        accepted += one.client_accepted;
        read += one.attacker_read_secret;
        if (!one.client_accepted) {
            if (!have_code) {
                snprintf(first_code, sizeof first_code, "%s", one.code);
                have_code = true;
                if (c.error[0])
                    lab_detail(o, "client: %s", c.error);
            } else if (strcmp(first_code, one.code) != 0) {
                codes_differ = true;
            }
        }
    }
    lab_attacker_join(&a);
    o->ran = ran == sessions;
    o->client_accepted = accepted > 0;
    o->attacker_read_secret = read > 0;
    snprintf(o->code, sizeof o->code, "%s", accepted == 0 ? first_code : "");
    if (sessions > 1) {
        lab_detail(o, "%d/%d sessions accepted, %d/%d secrets read", accepted, sessions, read,
                   sessions);
        if (cell->expect == EXPECT_ATTACK && (accepted != sessions || read != sessions))
            o->check_ok = false;
        if (codes_differ) {
            lab_detail(o, "the sessions failed with different codes");
            o->check_ok = false;
        }
    }
    if (a.note[0])
        lab_detail(o, "attacker: %s", a.note);
    lab_log_free(&a.plain);
}
