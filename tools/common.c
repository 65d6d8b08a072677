/*
 * common.c - sockets and printing shared by the subcommands.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

static int split_addr(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':')
            return -1;
        snprintf(host, hostlen, "%.*s", (int)(end - addr - 1), addr + 1);
        colon = end + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return -1;
        snprintf(host, hostlen, "%.*s", (int)(colon - addr), addr);
    }
    snprintf(port, portlen, "%s", colon + 1);
    return port[0] ? 0 : -1;
}

static struct addrinfo *resolve(const char *addr, bool passive)
{
    char host[256], port[32];
    if (split_addr(addr, host, sizeof host, port, sizeof port) != 0) {
        fprintf(stderr, "tether: address must be HOST:PORT, got '%s'\n", addr);
        return NULL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (passive)
        hints.ai_flags = AI_PASSIVE;
    struct addrinfo *res = NULL;
    int e = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (e != 0) {
        fprintf(stderr, "tether: cannot resolve %s: %s\n", addr, gai_strerror(e));
        return NULL;
    }
    return res;
}

int cli_listen(const char *addr, int backlog)
{
    struct addrinfo *res = resolve(addr, true);
    if (!res)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, backlog) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "tether: cannot listen on %s: %s\n", addr, strerror(errno));
    return fd;
}

int cli_dial(const char *addr, int timeout_ms)
{
    struct addrinfo *res = resolve(addr, false);
    if (!res)
        return -1;
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            socklen_t l = sizeof err;
            if (poll(&p, 1, timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0 &&
                err == 0)
                break;
            if (!err)
                err = ETIMEDOUT;
        } else {
            err = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "tether: cannot connect to %s: %s\n", addr, strerror(err ? err : errno));
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int cli_exit_for(enum tether_error_category cat)
{
    switch (cat) {
    case TETHER_ERR_EVIDENCE:
    case TETHER_ERR_BINDING:
    case TETHER_ERR_POLICY:
    case TETHER_ERR_PROTOCOL:
        return EXIT_REJECT;
    case TETHER_ERR_USAGE:
        return EXIT_USAGE;
    case TETHER_ERR_IO:
    case TETHER_ERR_TLS:
        return EXIT_IO;
    default:
        return EXIT_INTERNAL;
    }
}

void cli_print_result(FILE *out, const struct tether_result *r)
{
    json_error_t e;
    json_t *j = json_loads(tether_result_json(r), 0, &e);
    if (!j) {
        fprintf(out, "%s\n", tether_result_json(r));
        return;
    }
    const char *verdict = json_string_value(json_object_get(j, "verdict"));
    const char *tee = json_string_value(json_object_get(j, "tee"));
    fprintf(out, "verdict: %s%s%s%s\n", verdict ? verdict : "?", tee && tee[0] ? " (" : "",
            tee && tee[0] ? tee : "", tee && tee[0] ? (json_is_true(json_object_get(j, "simulated")) ? ", SIMULATED TEE)" : ")") : "");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j, "checks"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *status = json_string_value(json_object_get(c, "status"));
        const char *code = json_string_value(json_object_get(c, "code"));
        const char *exp = json_string_value(json_object_get(c, "expected"));
        const char *act = json_string_value(json_object_get(c, "actual"));
        const char *det = json_string_value(json_object_get(c, "detail"));
        fprintf(out, "  [%-4s] %-24s %s", status ? status : "?", name ? name : "?",
                code ? code : "");
        if (status && strcmp(status, "fail") == 0) {
            if (exp)
                fprintf(out, "\n           expected: %s", exp);
            if (act)
                fprintf(out, "\n           actual:   %s", act);
        }
        if (det && status && strcmp(status, "pass") != 0)
            fprintf(out, "\n           %s", det);
        fputc('\n', out);
    }
    json_decref(j);
}

void cli_die_usage(const char *usage)
{
    fprintf(stderr, "%s", usage);
    exit(EXIT_USAGE);
}
