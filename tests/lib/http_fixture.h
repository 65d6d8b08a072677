/*
 * http_fixture.h - a tiny HTTP/1.1 server on 127.0.0.1 for the collateral tests
 * (test_collateral.c: AMD KDS, test_pcs.c: Intel PCS): one thread, an ephemeral port, poll
 * timeouts, a bounded number of requests, "Connection: close". It records each GET's request
 * line and target; the test's respond callback writes the whole response. Test code only;
 * never touches the network beyond 127.0.0.1.
 */
#ifndef TETHER_TEST_HTTP_FIXTURE_H
#define TETHER_TEST_HTTP_FIXTURE_H

#include <pthread.h>
#include <stddef.h>

#define HTTP_FIXTURE_MAX_REQ 40

struct http_fixture {
    int fd, port, running, stop;
    char base[64]; /* "http://127.0.0.1:PORT" */
    pthread_t th;
    /* Guards the request log and stop; respond may take it for the test's own state. */
    pthread_mutex_t mu;
    int max_requests;
    int nreq;
    char reqs[HTTP_FIXTURE_MAX_REQ][512];    /* request lines: "GET <target> HTTP/1.1" */
    char targets[HTTP_FIXTURE_MAX_REQ][512]; /* their targets */
    /* Answers one GET on the connected socket c (called without mu held). */
    void (*respond)(void *arg, int c, const char *target);
    void *arg;
};

/* Listen on an ephemeral loopback port and start serving at most max_requests requests
 * (<= HTTP_FIXTURE_MAX_REQ); asserts on failure. */
void http_fixture_start(struct http_fixture *h, int max_requests,
                        void (*respond)(void *arg, int c, const char *target), void *arg);
/* Stop the thread and close the port (later requests get "connection refused"); idempotent.
 * http_fixture_free also destroys the mutex. */
void http_fixture_stop(struct http_fixture *h);
void http_fixture_free(struct http_fixture *h);
/* The number of requests served so far. */
int http_fixture_requests(struct http_fixture *h);

#endif
