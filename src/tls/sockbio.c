/*
 * sockbio.c - the socket BIO every tether TLS connection (and the probe) uses: OpenSSL's
 * socket BIO, except that writes use send(MSG_NOSIGNAL), because a library must never kill its
 * host process with SIGPIPE when a peer goes away.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls/sockbio.h"

/* A socket BIO that never raises SIGPIPE (send with MSG_NOSIGNAL): a library must not kill
 * its host process when a peer goes away. Otherwise it behaves like OpenSSL's socket BIO. */
static int nosig_write(BIO *b, const char *buf, int len)
{
    int fd = (int)BIO_get_fd(b, NULL);
    ssize_t n;
    do
        n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    BIO_clear_retry_flags(b);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_write(b);
    if (n < 0 && errno == ENOTSOCK) { /* a pipe or file: plain write */
        do
            n = write(fd, buf, (size_t)len);
        while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            BIO_set_retry_write(b);
    }
    return (int)n;
}

static BIO_METHOD *nosig_meth;
static void nosig_init(void)
{
    const BIO_METHOD *sock = BIO_s_socket();
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "tether socket");
    if (!m)
        return;
    if (!BIO_meth_set_write(m, nosig_write) || !BIO_meth_set_read(m, BIO_meth_get_read(sock)) ||
        !BIO_meth_set_puts(m, BIO_meth_get_puts(sock)) ||
        !BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(sock)) ||
        !BIO_meth_set_create(m, BIO_meth_get_create(sock)) ||
        !BIO_meth_set_destroy(m, BIO_meth_get_destroy(sock))) {
        BIO_meth_free(m);
        return;
    }
    nosig_meth = m;
}

BIO *tls_socket_bio(int fd)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, nosig_init);
    BIO *b = nosig_meth ? BIO_new(nosig_meth) : NULL;
    if (b)
        BIO_set_fd(b, fd, BIO_NOCLOSE);
    return b;
}
