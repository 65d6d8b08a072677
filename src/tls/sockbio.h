/*
 * sockbio.h - the socket BIO of every tether TLS connection: no SIGPIPE, ever.
 */
#ifndef TETHER_TLS_SOCKBIO_H
#define TETHER_TLS_SOCKBIO_H

#include <openssl/bio.h>

/* A socket BIO on fd (BIO_NOCLOSE) whose writes never raise SIGPIPE. NULL on failure. */
BIO *tls_socket_bio(int fd);

#endif
