/*
 * http_fixture.c - the loopback HTTP/1.1 server of the collateral tests (http_fixture.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *server_main(void *arg)
{
    struct http_fixture *h = arg;
    for (int served = 0; served < h->max_requests;) {
        pthread_mutex_lock(&h->mu);
        int stop = h->stop;
        pthread_mutex_unlock(&h->mu);
        if (stop)
            break;
        struct pollfd pf = { .fd = h->fd, .events = POLLIN };
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int c = accept(h->fd, NULL, NULL);
        if (c < 0)
            continue;
        char req[4096];
        size_t n = 0;
        req[0] = '\0';
        while (n < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
            struct pollfd cp = { .fd = c, .events = POLLIN };
            if (poll(&cp, 1, 3000) <= 0)
                break;
            ssize_t r = recv(c, req + n, sizeof req - 1 - n, 0);
            if (r <= 0)
                break;
            n += (size_t)r;
            req[n] = '\0';
        }
        char target[512] = "";
        if (sscanf(req, "GET %511s HTTP/1.1", target) == 1) {
            pthread_mutex_lock(&h->mu);
            size_t ll = strcspn(req, "\r\n");
            snprintf(h->reqs[h->nreq], sizeof h->reqs[0], "%.*s", (int)ll, req);
            snprintf(h->targets[h->nreq], sizeof h->targets[0], "%s", target);
            h->nreq++;
            pthread_mutex_unlock(&h->mu);
            served++;
            h->respond(h->arg, c, target);
        }
        close(c);
    }
    return NULL;
}

void http_fixture_start(struct http_fixture *h, int max_requests,
                        void (*respond)(void *arg, int c, const char *target), void *arg)
{
    assert_true(max_requests > 0 && max_requests <= HTTP_FIXTURE_MAX_REQ);
    h->max_requests = max_requests;
    h->respond = respond;
    h->arg = arg;
    pthread_mutex_init(&h->mu, NULL);
    h->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(h->fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(h->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(h->fd, 8), 0);
    socklen_t al = sizeof a;
    getsockname(h->fd, (struct sockaddr *)&a, &al);
    h->port = ntohs(a.sin_port);
    snprintf(h->base, sizeof h->base, "http://127.0.0.1:%d", h->port);
    assert_int_equal(pthread_create(&h->th, NULL, server_main, h), 0);
    h->running = 1;
}

void http_fixture_stop(struct http_fixture *h)
{
    if (!h->running)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->th, NULL);
    close(h->fd);
    h->running = 0;
}

void http_fixture_free(struct http_fixture *h)
{
    http_fixture_stop(h);
    pthread_mutex_destroy(&h->mu);
}

int http_fixture_requests(struct http_fixture *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->nreq;
    pthread_mutex_unlock(&h->mu);
    return n;
}
