/*
 * conn.c - struct tether: one attested TLS 1.3 connection over a caller-owned socket.
 *
 * A small state machine (NEW -> TLS -> ATTEST -> READY) that works the same on blocking and
 * non-blocking sockets: every step is non-blocking inside; on a blocking socket the public
 * calls wait with poll() up to the phase's deadline. Application data is gated here: no byte
 * is written or delivered before the peer's evidence passed appraisal (seat-expat "Using the
 * TLS Connection"). Must never hand data to the caller from an unattested peer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "tls/tls_internal.h"

#define APP_QUEUE_MAX (1u << 20)     /* largest data frame, and data buffered unread */
#define REQUEST_FRAME_MAX (1u << 17) /* requests are small (context <= 255, a few extensions) */
#define DATA_FRAME_CHUNK 16384

int conn_fail(struct tether *ctx, int category, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err.msg, sizeof ctx->err.msg, fmt, ap);
    va_end(ap);
    ctx->err.category = category;
    ctx->err.code = code;
    ctx->state = ST_FAILED;
    return -1;
}

static struct tether *conn_new(struct tether_config *cfg, bool server)
{
    if (!cfg)
        return NULL;
    struct tether *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->cfg = cfg;
    config_ref(cfg);
    ctx->server = server;
    ctx->fd = -1;
    ctx->state = ST_NEW;
    bool server_attests = cfg->attest & TETHER_ATTEST_SERVER;
    bool client_attests = cfg->attest & TETHER_ATTEST_CLIENT;
    ctx->we_attest = server ? server_attests : client_attests;
    ctx->we_appraise = server ? client_attests : server_attests;
    ctx->compat = !server && cfg->cocos_compat;
    /* Per-type frame limits: requests are small; tether writes 16 KiB data frames, 1 MiB is
     * ample; authenticators up to the 16 MiB cap (cocos-ea-wire.md 4.2). */
    ea_frame_asm_init(&ctx->in, REQUEST_FRAME_MAX, EA_FRAME_MAX_PAYLOAD, APP_QUEUE_MAX);
    return ctx;
}

TETHER_API struct tether *tether_client(struct tether_config *cfg)
{
    return conn_new(cfg, false);
}

TETHER_API struct tether *tether_server(struct tether_config *cfg)
{
    return conn_new(cfg, true);
}

TETHER_API void tether_free(struct tether *ctx)
{
    if (!ctx)
        return;
    SSL_free(ctx->ssl);
    free(ctx->req_msg);
    free(ctx->seen_ctx);
    free_secret(ctx->out, ctx->out_cap);
    ea_frame_asm_free(&ctx->in);
    free_secret(ctx->app, ctx->app_cap);
    tether_result_free(ctx->result);
    EVP_PKEY_free(ctx->next_key);
    OPENSSL_free(ctx->next_cert_der);
    OPENSSL_cleanse(&ctx->x_own, sizeof ctx->x_own);
    OPENSSL_cleanse(&ctx->x_peer, sizeof ctx->x_peer);
    OPENSSL_cleanse(ctx->req_exported, sizeof ctx->req_exported);
    config_unref(ctx->cfg);
    free(ctx);
}


static int attach(struct tether *ctx, int fd, const char *servername)
{
    error_clear(&ctx->err);
    if (ctx->state != ST_NEW || fd < 0) {
        error_set(&ctx->err, TETHER_ERR_USAGE, "usage",
                  fd < 0 ? "invalid socket" : "connection already has a socket");
        return -1;
    }
    if (ctx->we_appraise && !ctx->cfg->policy) {
        error_set(&ctx->err, TETHER_ERR_USAGE, "usage",
                  "this endpoint appraises its peer but has no policy (tether_config_set_policy_*)");
        return -1;
    }
    if (ctx->compat && (ctx->we_attest || !ctx->we_appraise)) {
        error_set(&ctx->err, TETHER_ERR_USAGE, "usage",
                  "Cocos compatibility supports only a client appraising an attesting server");
        return -1;
    }
    if (legacy_check_usage(ctx) != 0)
        return -1;
    if (ctx->we_attest) {
        struct attester_handle *h;
        if (config_attester(ctx->cfg, &h, &ctx->err) != 0)
            return -1;
    }
    SSL_CTX *sctx = config_ssl_ctx(ctx->cfg, ctx->server, &ctx->err);
    if (!sctx)
        return -1;
    ctx->ssl = SSL_new(sctx);
    BIO *bio = ctx->ssl ? tls_socket_bio(fd) : NULL;
    if (bio)
        SSL_set_bio(ctx->ssl, bio, bio);
    if (!ctx->ssl || !bio) {
        error_set(&ctx->err, TETHER_ERR_INTERNAL, "internal", "cannot create the TLS connection");
        error_append_openssl(&ctx->err);
        SSL_free(ctx->ssl); /* a retry starts from scratch */
        ctx->ssl = NULL;
        return -1;
    }
    SSL_set_app_data(ctx->ssl, ctx); /* for the legacy-mode callbacks */
    if (!ctx->server && servername) {
        if (SSL_set_tlsext_host_name(ctx->ssl, servername) != 1 ||
            (ctx->cfg->ca_file && SSL_set1_host(ctx->ssl, servername) != 1)) {
            error_set(&ctx->err, TETHER_ERR_USAGE, "usage", "invalid server name %s", servername);
            SSL_free(ctx->ssl);
            ctx->ssl = NULL;
            return -1;
        }
    }
    if (legacy_attach(ctx) != 0)
        return -1;
    if (ctx->server)
        SSL_set_accept_state(ctx->ssl);
    else
        SSL_set_connect_state(ctx->ssl);
    ctx->fd = fd;
    ctx->state = ST_TLS;
    return 0;
}

TETHER_API int tether_connect_fd(struct tether *ctx, int fd, const char *servername)
{
    if (!ctx)
        return -1;
    if (ctx->server) {
        error_set(&ctx->err, TETHER_ERR_USAGE, "usage", "tether_connect_fd on a server context");
        return -1;
    }
    return attach(ctx, fd, servername);
}

TETHER_API int tether_accept_fd(struct tether *ctx, int fd)
{
    if (!ctx)
        return -1;
    if (!ctx->server) {
        error_set(&ctx->err, TETHER_ERR_USAGE, "usage", "tether_accept_fd on a client context");
        return -1;
    }
    return attach(ctx, fd, NULL);
}

/* Map an OpenSSL I/O result: WANT_* codes, 0 for a clean close on read, or -1 (failed). */
static int ssl_result(struct tether *ctx, int r, const char *what)
{
    int e = SSL_get_error(ctx->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return TETHER_WANT_POLLIN;
    case SSL_ERROR_WANT_WRITE:
        return TETHER_WANT_POLLOUT;
    case SSL_ERROR_ZERO_RETURN:
        ctx->peer_closed = true;
        return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        return conn_fail(ctx, TETHER_ERR_IO, "io", "%s: %s", what,
                         errno ? strerror(errno) : "peer closed the connection");
    default:
        conn_fail(ctx, TETHER_ERR_TLS, "tls", "%s failed", what);
        error_append_openssl(&ctx->err);
        return -1;
    }
}

static int out_append(struct tether *ctx, const uint8_t *p, size_t n)
{
    if (ctx->out_off == ctx->out_len)
        ctx->out_off = ctx->out_len = 0;
    if (n > ctx->out_cap - ctx->out_len) {
        size_t need = ctx->out_len + n, cap = ctx->out_cap ? ctx->out_cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *grown = malloc(cap);
        if (!grown)
            return conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "out of memory");
        if (ctx->out_len)
            memcpy(grown, ctx->out, ctx->out_len);
        free_secret(ctx->out, ctx->out_cap);
        ctx->out = grown;
        ctx->out_cap = cap;
    }
    memcpy(ctx->out + ctx->out_len, p, n);
    ctx->out_len += n;
    return 0;
}

int conn_queue_frame(struct tether *ctx, uint8_t type, const uint8_t *payload, size_t len)
{
    if (len > EA_FRAME_MAX_PAYLOAD)
        return conn_fail(ctx, TETHER_ERR_PROTOCOL, "frame_too_large", "frame of %zu bytes", len);
    uint8_t hdr[EA_FRAME_HEADER_LEN];
    ea_frame_header_write(hdr, type, (uint32_t)len);
    if (out_append(ctx, hdr, sizeof hdr) != 0 || out_append(ctx, payload, len) != 0)
        return -1;
    return 0;
}

/* Write queued bytes. 1 when drained, WANT_* or -1. */
static int flush(struct tether *ctx)
{
    while (ctx->out_off < ctx->out_len) {
        ERR_clear_error();
        size_t n = ctx->out_len - ctx->out_off;
        int w = SSL_write(ctx->ssl, ctx->out + ctx->out_off, n > INT32_MAX ? INT32_MAX : (int)n);
        if (w <= 0) {
            int r = ssl_result(ctx, w, "write");
            if (r == 0)
                return conn_fail(ctx, TETHER_ERR_IO, "io", "peer closed the connection");
            return r;
        }
        ctx->out_off += (size_t)w;
    }
    ctx->out_off = ctx->out_len = 0;
    return 1;
}

/* Read into dst up to n bytes. Returns bytes read (> 0), 0 at the peer's close, WANT_*, -1. */
static int read_some(struct tether *ctx, uint8_t *dst, size_t n)
{
    ERR_clear_error();
    int r = SSL_read(ctx->ssl, dst, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0)
        return r;
    return ssl_result(ctx, r, "read");
}

/* Assemble one frame (src/ea/frame.c keeps the header, the per-type limits and the payload
 * buffer). 1 when a whole frame is ready, WANT_*, 0 at the peer's close between frames, -1.
 * Reads exactly the frame's bytes, never more: in Cocos compatibility mode the bytes after
 * the frame are raw application data and stay in the TLS buffer. */
static int read_frame(struct tether *ctx)
{
    struct ea_frame_asm *a = &ctx->in;
    for (;;) {
        uint8_t *dst = NULL;
        size_t n = 0;
        int st = ea_frame_asm_space(a, &dst, &n);
        switch (st) {
        case EA_FRAME_ASM_READY:
            return 1;
        case EA_FRAME_ASM_NEED_MORE:
            break;
        case EA_FRAME_ASM_MALFORMED:
            return conn_fail(ctx, TETHER_ERR_PROTOCOL, "frame_malformed",
                             "malformed frame header %02x %02x%02x%02x%02x", a->hdr[0], a->hdr[1],
                             a->hdr[2], a->hdr[3], a->hdr[4]);
        case EA_FRAME_ASM_TOO_LARGE:
            return conn_fail(ctx, TETHER_ERR_PROTOCOL, "frame_too_large",
                             "frame type %u of %u bytes exceeds its limit", a->type, a->len);
        case EA_FRAME_ASM_NOMEM:
            return conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "out of memory");
        default:
            return conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "frame assembler misuse");
        }
        int r = read_some(ctx, dst, n);
        if (r == 0) {
            if (ea_frame_asm_idle(a))
                return 0;
            return conn_fail(ctx, TETHER_ERR_PROTOCOL, "frame_truncated",
                             "peer closed inside a frame");
        }
        if (r < 0)
            return r;
        ea_frame_asm_commit(a, (size_t)r); /* errors surface from ea_frame_asm_space */
    }
}

static bool attest_done(const struct tether *ctx)
{
    return (!ctx->we_appraise || ctx->n_appraised > 0) && (!ctx->we_attest || ctx->sent_auth) &&
           ctx->out_len == ctx->out_off;
}

static bool may_carry_data(const struct tether *ctx)
{
    return ctx->state == ST_READY && ctx->framed;
}

/* Handle one complete frame. */
static int dispatch_frame(struct tether *ctx)
{
    int rc = 0;
    uint8_t type = 0;
    const uint8_t *payload = NULL;
    uint32_t len = 0;
    if (!ea_frame_asm_frame(&ctx->in, &type, &payload, &len))
        return conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "no frame to dispatch");
    switch (type) {
    case EA_FRAME_REQUEST:
        rc = attest_answer_request(ctx, payload, len);
        break;
    case EA_FRAME_AUTHENTICATOR:
        rc = attest_check_authenticator(ctx, payload, len);
        break;
    case EA_FRAME_DATA:
        /* T-16: application data before the attestation finished is a protocol violation. */
        if (!may_carry_data(ctx))
            return conn_fail(ctx, TETHER_ERR_PROTOCOL, "data_before_attestation",
                             "peer sent application data before attestation completed");
        if (ctx->app_len - ctx->app_off + len > APP_QUEUE_MAX)
            return conn_fail(ctx, TETHER_ERR_PROTOCOL, "data_overflow",
                             "too much application data buffered during re-attestation");
        if (ctx->app_off == ctx->app_len)
            ctx->app_off = ctx->app_len = 0;
        if (len > ctx->app_cap - ctx->app_len) {
            size_t pending = ctx->app_len - ctx->app_off;
            size_t cap = pending + len;
            if (cap < DATA_FRAME_CHUNK)
                cap = DATA_FRAME_CHUNK;
            uint8_t *grown = malloc(cap);
            if (!grown)
                return conn_fail(ctx, TETHER_ERR_INTERNAL, "internal", "out of memory");
            if (pending)
                memcpy(grown, ctx->app + ctx->app_off, pending);
            ctx->app_len = pending;
            ctx->app_off = 0;
            free_secret(ctx->app, ctx->app_cap);
            ctx->app = grown;
            ctx->app_cap = cap;
        }
        if (len)
            memcpy(ctx->app + ctx->app_len, payload, len);
        ctx->app_len += len;
        break;
    default:
        return conn_fail(ctx, TETHER_ERR_PROTOCOL, "frame_malformed", "unknown frame type %u",
                         type);
    }
    ea_frame_asm_next(&ctx->in);
    return rc;
}

/* One non-blocking step of the handshake phases. 1 when READY, WANT_*, -1. */
static int handshake_step(struct tether *ctx)
{
    for (;;) {
        if (ctx->state == ST_FAILED)
            return -1;
        if (ctx->state == ST_READY)
            return 1;
        if (now_ms() > ctx->deadline)
            return conn_fail(ctx, TETHER_ERR_IO, "timeout", "%s did not complete in time",
                             ctx->state == ST_TLS ? "TLS handshake" : "attestation exchange");
        if (ctx->state == ST_TLS) {
            ERR_clear_error();
            int r = SSL_do_handshake(ctx->ssl);
            if (r != 1) {
                int w = ssl_result(ctx, r, "TLS handshake");
                /* The server's flight is out and the client is verifying it (OpenSSL waits in
                 * TLS_ST_EARLY_DATA for the client's second flight, with 0-RTT off too): use
                 * the wait to prepare this connection's authenticator key. */
                if (w == TETHER_WANT_POLLIN && ctx->server &&
                    ctx->cfg->legacy_mode == LEGACY_NONE &&
                    (SSL_get_state(ctx->ssl) == TLS_ST_EARLY_DATA ||
                     SSL_get_state(ctx->ssl) == TLS_ST_SR_FINISHED))
                    attest_prepare_key(ctx);
                if (w == 0)
                    return conn_fail(ctx, TETHER_ERR_TLS, "tls", "peer closed during handshake");
                if (w == -1) /* ssl_result chose tls or io; a legacy callback may know better */
                    legacy_handshake_failed(ctx);
                return w;
            }
            if (attest_on_tls_done(ctx) != 0)
                return -1;
            /* INSECURE legacy modes end here: the evidence was in the certificate. */
            int lr = legacy_on_tls_done(ctx);
            if (lr < 0)
                return -1;
            if (lr > 0) {
                ctx->state = ST_READY;
                return 1;
            }
            ctx->state = ST_ATTEST;
            ctx->deadline = now_ms() + (int64_t)ctx->cfg->attest_ms;
            /* The client speaks first (Cocos order). A server asks first only when it
             * appraises and does not attest (client-only attestation); in mutual mode its
             * request follows its answer to the client's. */
            if (ctx->we_appraise && (!ctx->server || !ctx->we_attest) &&
                attest_send_request(ctx) != 0)
                return -1;
            continue;
        }
        /* ST_ATTEST */
        int f = flush(ctx);
        if (f != 1)
            return f;
        if (attest_prepare(ctx) != 0)
            return -1;
        if (attest_done(ctx)) {
            /* A Cocos peer gets raw application data after its one authenticator. */
            if (!ctx->compat)
                ctx->framed = true;
            ctx->state = ST_READY;
            return 1;
        }
        int r = read_frame(ctx);
        if (r == 0)
            return conn_fail(ctx, TETHER_ERR_IO, "peer_closed",
                             "peer closed the connection during attestation");
        if (r < 0)
            return r;
        bool first_request = ctx->in.type == EA_FRAME_REQUEST && !ctx->sent_auth;
        if (dispatch_frame(ctx) != 0)
            return -1;
        /* Mutual: the server asks the client once it has answered the client's request. */
        if (first_request && ctx->server && ctx->we_appraise && !ctx->req_outstanding &&
            ctx->n_appraised == 0 && attest_send_request(ctx) != 0)
            return -1;
    }
}

static bool fd_blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && !(fl & O_NONBLOCK);
}

/* Run step until it returns something other than WANT_*, polling on a blocking socket. The
 * socket is switched to non-blocking for the duration so that no read can outlive the
 * deadline, and restored afterwards. */
static int drive(struct tether *ctx, int (*step)(struct tether *), const int64_t *deadline)
{
    int fl = fcntl(ctx->fd, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK))
        return step(ctx);
    fcntl(ctx->fd, F_SETFL, fl | O_NONBLOCK);
    int r;
    for (;;) {
        r = step(ctx);
        if (r != TETHER_WANT_POLLIN && r != TETHER_WANT_POLLOUT)
            break;
        int64_t left = *deadline - now_ms(); /* re-read: a phase change moves it */
        if (left <= 0) {
            r = conn_fail(ctx, TETHER_ERR_IO, "timeout", "peer did not answer in time");
            break;
        }
        struct pollfd p = {.fd = ctx->fd, .events = r == TETHER_WANT_POLLIN ? POLLIN : POLLOUT};
        int pr = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (pr < 0 && errno != EINTR) {
            r = conn_fail(ctx, TETHER_ERR_IO, "io", "poll: %s", strerror(errno));
            break;
        }
    }
    fcntl(ctx->fd, F_SETFL, fl);
    return r;
}

TETHER_API int tether_handshake(struct tether *ctx)
{
    if (!ctx)
        return -1;
    switch (ctx->state) {
    case ST_NEW:
        error_set(&ctx->err, TETHER_ERR_USAGE, "usage", "no socket attached");
        return -1;
    case ST_READY:
        return 0;
    case ST_FAILED:
    case ST_CLOSED:
        if (!ctx->err.msg[0])
            error_set(&ctx->err, TETHER_ERR_USAGE, "usage", "connection is closed");
        return -1;
    default:
        break;
    }
    if (ctx->deadline == 0)
        ctx->deadline = now_ms() + (int64_t)ctx->cfg->handshake_ms;
    int r = drive(ctx, handshake_step, &ctx->deadline);
    if (r == 1)
        return 0;
    return r;
}

static int gate(struct tether *ctx)
{
    if (ctx->state == ST_READY)
        return 0;
    if (ctx->state == ST_FAILED || ctx->state == ST_CLOSED)
        return -1;
    error_set(&ctx->err, TETHER_ERR_PROTOCOL, "not_attested",
              "application data refused: the peer has not been attested yet "
              "(call tether_handshake until it returns 0)");
    return -1;
}

static int reattest_expired(struct tether *ctx)
{
    if (ctx->req_outstanding && now_ms() > ctx->req_deadline)
        return conn_fail(ctx, TETHER_ERR_IO, "timeout", "re-attestation was not answered in time");
    return 0;
}

/* Read frames until application data is queued. 1 when data is queued, 0 at close, WANT_*, -1. */
static int fill(struct tether *ctx, bool until_answered)
{
    for (;;) {
        if (reattest_expired(ctx))
            return -1;
        int f = flush(ctx);
        if (f != 1)
            return f;
        if (ctx->app_len > ctx->app_off)
            return 1;
        if (until_answered && !ctx->req_outstanding)
            return 2; /* the re-attestation deadline no longer applies */
        int r = read_frame(ctx);
        if (r <= 0)
            return r;
        if (dispatch_frame(ctx) != 0)
            return -1;
    }
}

static int fill_step(struct tether *ctx)
{
    return fill(ctx, false);
}

static int fill_until_answered_step(struct tether *ctx)
{
    return fill(ctx, true);
}

TETHER_API ssize_t tether_read(struct tether *ctx, void *buf, size_t len)
{
    if (!ctx || (!buf && len))
        return -1;
    if (gate(ctx) != 0)
        return -1;
    if (len == 0)
        return 0;
    if (!ctx->framed) {
        int r = read_some(ctx, buf, len);
        return r;
    }
    if (ctx->app_len == ctx->app_off) {
        /* A blocking read must still wake up for an unanswered re-attestation's deadline. */
        int r = ctx->req_outstanding && fd_blocking(ctx->fd)
                    ? drive(ctx, fill_until_answered_step, &ctx->req_deadline)
                    : fill_step(ctx);
        if (r == 2) /* answered and appraised: now wait for data without that deadline */
            r = fill_step(ctx);
        if (r <= 0)
            return r;
    }
    size_t n = ctx->app_len - ctx->app_off;
    if (n > len)
        n = len;
    memcpy(buf, ctx->app + ctx->app_off, n);
    ctx->app_off += n;
    return (ssize_t)n;
}

TETHER_API ssize_t tether_write(struct tether *ctx, const void *buf, size_t len)
{
    if (!ctx || (!buf && len))
        return -1;
    if (gate(ctx) != 0)
        return -1;
    if (reattest_expired(ctx))
        return -1;
    if (ctx->write_commit == 0) {
        if (len == 0)
            return 0;
        size_t n = len > DATA_FRAME_CHUNK ? DATA_FRAME_CHUNK : len;
        if (!ctx->framed) {
            if (out_append(ctx, buf, n) != 0)
                return -1;
        } else if (conn_queue_frame(ctx, EA_FRAME_DATA, buf, n) != 0) {
            return -1;
        }
        ctx->write_commit = n;
    }
    /* Retry semantics as in OpenSSL and libtls: after a WANT_*, call again with the same
     * arguments; the count is returned once the bytes are on their way. */
    int f = flush(ctx);
    if (f != 1)
        return f;
    ssize_t n = (ssize_t)ctx->write_commit;
    ctx->write_commit = 0;
    return n;
}

TETHER_API int tether_reattest(struct tether *ctx)
{
    if (!ctx)
        return -1;
    if (gate(ctx) != 0)
        return -1;
    if (!ctx->we_appraise || !ctx->framed) {
        error_set(&ctx->err, TETHER_ERR_USAGE, "usage",
                  !ctx->we_appraise ? "this endpoint does not appraise its peer"
                                    : "re-attestation needs a tether peer (not Cocos compat, "
                                      "not a legacy mode)");
        return -1;
    }
    if (ctx->req_outstanding)
        return 0;
    return attest_send_request(ctx);
}

static int reattest_step(struct tether *ctx)
{
    for (;;) {
        if (ctx->state == ST_FAILED)
            return -1;
        if (reattest_expired(ctx))
            return -1;
        int f = flush(ctx);
        if (f != 1)
            return f;
        if (!ctx->req_outstanding)
            return 1;
        if (attest_prepare(ctx) != 0)
            return -1;
        int r = read_frame(ctx);
        if (r == 0)
            return conn_fail(ctx, TETHER_ERR_IO, "peer_closed",
                             "peer closed the connection during re-attestation");
        if (r < 0)
            return r;
        if (dispatch_frame(ctx) != 0)
            return -1;
    }
}

TETHER_API int tether_reattest_poll(struct tether *ctx)
{
    if (!ctx)
        return -1;
    if (gate(ctx) != 0)
        return -1;
    if (!ctx->req_outstanding)
        return 0;
    int r = drive(ctx, reattest_step, &ctx->req_deadline);
    return r == 1 ? 0 : r;
}

TETHER_API unsigned tether_attestation_count(struct tether *ctx)
{
    return ctx ? ctx->n_appraised : 0;
}

TETHER_API int tether_close(struct tether *ctx)
{
    if (!ctx)
        return -1;
    /* close_notify also after a failed appraisal (as Cocos does), once TLS is up; but after a
     * failure nothing that was queued (data, an authenticator) is sent any more. */
    if (ctx->ssl && ctx->state != ST_CLOSED && SSL_is_init_finished(ctx->ssl)) {
        int64_t until = now_ms() + 1000;
        if (ctx->state == ST_FAILED)
            ctx->out_off = ctx->out_len = 0;
        else if (ctx->out_off < ctx->out_len)
            (void)drive(ctx, flush, &until);
        ERR_clear_error();
        (void)SSL_shutdown(ctx->ssl); /* send close_notify; do not wait for the peer's */
    }
    if (ctx->state != ST_FAILED)
        ctx->state = ST_CLOSED;
    return 0;
}

TETHER_API const char *tether_error(struct tether *ctx)
{
    return ctx && ctx->err.msg[0] ? ctx->err.msg : NULL;
}

TETHER_API enum tether_error_category tether_error_category(struct tether *ctx)
{
    return ctx ? (enum tether_error_category)ctx->err.category : TETHER_ERR_USAGE;
}

TETHER_API const char *tether_error_code(struct tether *ctx)
{
    return ctx ? ctx->err.code : NULL;
}

TETHER_API const struct tether_result *tether_peer_result(struct tether *ctx)
{
    return ctx ? ctx->result : NULL;
}

TETHER_API const char *tether_conn_version(struct tether *ctx)
{
    return ctx && ctx->version[0] ? ctx->version : NULL;
}

TETHER_API const char *tether_conn_cipher(struct tether *ctx)
{
    return ctx && ctx->cipher[0] ? ctx->cipher : NULL;
}

TETHER_API int tether_conn_bytes(struct tether *ctx, uint64_t *sent, uint64_t *received)
{
    if (!ctx || !ctx->ssl)
        return -1;
    BIO *rb = SSL_get_rbio(ctx->ssl), *wb = SSL_get_wbio(ctx->ssl);
    if (sent)
        *sent = wb ? BIO_number_written(wb) : 0;
    if (received)
        *received = rb ? BIO_number_read(rb) : 0;
    return 0;
}

#ifdef TETHER_TEST_HOOKS
void tether_test_set_leak_key(struct tether *ctx, void (*cb)(void *, EVP_PKEY *), void *arg)
{
    ctx->test_leak_key = cb;
    ctx->test_leak_arg = arg;
}

void tether_test_set_keylog(struct tether *ctx, void (*cb)(void *, const char *), void *arg)
{
    ctx->test_keylog = cb;
    ctx->test_keylog_arg = arg;
}

/* Declared in tests/lib/core_hooks.h (test code only). */
void tether_test_set_labels(struct tether *ctx, const char *binder_label,
                            const char *payload_label);
void tether_test_set_labels(struct tether *ctx, const char *binder_label,
                            const char *payload_label)
{
    ctx->test_binder_label = binder_label;
    ctx->test_payload_label = payload_label;
}
#endif
