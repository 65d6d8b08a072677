/*
 * util.h - small helpers shared by every layer: constant-time comparison, hex and base64
 * codecs (strict), secure free, time, error state.
 */
#ifndef TETHER_UTIL_UTIL_H
#define TETHER_UTIL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Constant-time equality of two equal-length buffers (CRYPTO_memcmp). n == 0 is "not equal":
 * an empty expected value never matches. */
bool ct_equal(const void *a, const void *b, size_t n);
/* Constant-time "all bytes are zero". */
bool ct_is_zero(const void *a, size_t n);

/* Lower-case hex; out must hold 2*n+1 bytes. */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Strict hex (upper or lower case, even length, no separators). Returns 0, -1 if malformed or
 * longer than cap. */
int hex_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen);
/* Allocating hex: caller frees. NULL on allocation failure. */
char *hex_dup(const uint8_t *in, size_t n);
/* The value of one hex digit (either case), -1 if c is not one. */
int hex_digit(char c);

/* Standard padded base64 (RFC 4648 section 4), no line breaks. Caller frees. */
char *base64_encode(const uint8_t *in, size_t n);
/* Strict decode: standard alphabet, canonical padding, no whitespace. Caller frees *out. */
int base64_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen);

/* Strict unpadded base64url (RFC 4648 section 5; RFC 7515 section 2): no '=', no whitespace,
 * unused bits zero. Into out (at most cap bytes). 0, or -1 if malformed or longer than cap. */
int base64url_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen);

/* Zeroise then free. */
void free_secret(void *p, size_t n);

/* Read a whole file (at most max bytes). Caller frees. -1 and errno on failure. */
int file_read(const char *path, size_t max, uint8_t **out, size_t *outlen);
/* Write a file atomically with the given mode. */
int file_write(const char *path, const void *data, size_t len, unsigned mode);

/* A parser's failure: *why = msg (unless why is NULL), then -1 to return. */
int parse_fail(const char **why, const char *msg);
/* Format a message into a caller's buffer (err may be NULL). */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* dir/file into out; -1 if it does not fit. */
int path_join(char *out, size_t n, const char *dir, const char *file);
/* mkdir -p of the directory part of path (mode 0755; existing directories are fine). */
int mkdir_parents(const char *path);

/* Monotonic milliseconds. */
int64_t now_ms(void);

/* RFC 3339 UTC ("2026-11-27T21:09:47Z"): parse (Z or +00:00 only) and format (buf >= 21). */
int rfc3339_parse(const char *s, time_t *out);
void rfc3339_format(time_t t, char buf[static 21]);

/* Error state carried by every handle. code is a stable string (or NULL), category one of
 * enum tether_error_category. */
struct error_state {
    int category;
    const char *code;
    char msg[512];
};
void error_clear(struct error_state *e);
void error_set(struct error_state *e, int category, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Append OpenSSL's error queue (and clear it) to the message. */
void error_append_openssl(struct error_state *e);

#endif
