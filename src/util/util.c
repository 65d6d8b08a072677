/*
 * util.c - constant-time compare, strict hex/base64, files, clocks, error state.
 */
#define _GNU_SOURCE
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

bool ct_equal(const void *a, const void *b, size_t n)
{
    if (n == 0 || !a || !b)
        return false;
    return CRYPTO_memcmp(a, b, n) == 0;
}

bool ct_is_zero(const void *a, size_t n)
{
    const volatile uint8_t *p = a;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

char *hex_dup(const uint8_t *in, size_t n)
{
    if (n > (SIZE_MAX - 1) / 2)
        return NULL;
    char *s = malloc(2 * n + 1);
    if (s)
        hex_encode(in, n, s);
    return s;
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
    if (!in)
        return -1;
    size_t n = strlen(in);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(in[2 * i]), lo = hex_digit(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *outlen = n / 2;
    return 0;
}

char *base64_encode(const uint8_t *in, size_t n)
{
    if (n > (size_t)INT_MAX / 2)
        return NULL;
    size_t outlen = 4 * ((n + 2) / 3);
    char *s = malloc(outlen + 1);
    if (!s)
        return NULL;
    int w = EVP_EncodeBlock((unsigned char *)s, in, (int)n);
    if (w < 0 || (size_t)w != outlen) {
        free(s);
        return NULL;
    }
    s[outlen] = '\0';
    return s;
}

/* The value of c in the base64 alphabet whose last two characters are c62 and c63 ("+/", or
 * "-_" for base64url), -1 if it is not one. */
static int b64_value_of(unsigned char c, char c62, char c63)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (unsigned char)c62)
        return 62;
    if (c == (unsigned char)c63)
        return 63;
    return -1;
}

static int b64_value(unsigned char c)
{
    return b64_value_of(c, '+', '/');
}

int base64_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (inlen % 4)
        return -1;
    size_t pad = 0;
    if (inlen >= 1 && in[inlen - 1] == '=')
        pad++;
    if (inlen >= 2 && in[inlen - 2] == '=')
        pad++;
    size_t n = inlen / 4 * 3 - pad;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < inlen; i += 4) {
        int v[4];
        bool last = (i + 4 == inlen);
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + (size_t)k];
            if (c == '=' && last && (size_t)k >= 4 - pad) {
                v[k] = 0;
                continue;
            }
            v[k] = b64_value(c);
            if (v[k] < 0)
                goto bad;
        }
        uint32_t triple = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                          (uint32_t)v[3];
        /* Canonical encoding: bits hidden by the padding must be zero. */
        if (last && pad == 2 && (v[1] & 0x0f))
            goto bad;
        if (last && pad == 1 && (v[2] & 0x03))
            goto bad;
        uint8_t bytes[3] = {(uint8_t)(triple >> 16), (uint8_t)(triple >> 8), (uint8_t)triple};
        size_t take = last ? 3 - pad : 3;
        memcpy(buf + o, bytes, take);
        o += take;
    }
    *out = buf;
    *outlen = o;
    return 0;
bad:
    free(buf);
    return -1;
}

int base64url_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
{
    if (inlen % 4 == 1)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < inlen; i++) {
        int v = b64_value_of((unsigned char)in[i], '-', '_');
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-zero unused bits: not the canonical encoding */
        return -1;
    *outlen = o;
    return 0;
}

void free_secret(void *p, size_t n)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, n);
    free(p);
}

int file_read(const char *path, size_t max, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max + 1) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return -1;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        errno = EIO;
        return -1;
    }
    if (n > max) {
        free(buf);
        errno = EFBIG;
        return -1;
    }
    *out = buf;
    *outlen = n;
    return 0;
}

int file_write(const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* A fresh file only: never follow or reuse what someone else put at the temporary name. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return -1;
    const uint8_t *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, (mode_t)mode) != 0 || close(fd) != 0) {
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int parse_fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int path_join(char *out, size_t n, const char *dir, const char *file)
{
    return snprintf(out, n, "%s/%s", dir, file) < (int)n ? 0 : -1;
}

int mkdir_parents(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return -1;
    char *slash = strrchr(tmp, '/');
    if (!slash || slash == tmp)
        return 0;
    *slash = '\0';
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rfc3339_parse(const char *s, time_t *out)
{
    /* RFC 3339 5.6 date-time, second resolution, fixed width: every field digits only (sscanf
     * alone would also take a sign or a blank inside a field, e.g. "1970-+1-01"). */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return -1;
    int Y, M, D, h, m, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6 || n != 19)
        return -1;
    const char *tail = s + n;
    if (*tail == '.') { /* fractional seconds are accepted and dropped */
        tail++;
        if (*tail < '0' || *tail > '9')
            return -1;
        while (*tail >= '0' && *tail <= '9')
            tail++;
    }
    if (strcmp(tail, "Z") != 0 && strcmp(tail, "+00:00") != 0)
        return -1;
    if (Y < 1970 || Y > 9999 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 ||
        sec > 60 || h < 0 || m < 0 || sec < 0)
        return -1;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != D || back.tm_mon != M - 1) /* 2026-02-31 and the like */
        return -1;
    *out = t;
    return 0;
}

void rfc3339_format(time_t t, char buf[static 21])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void error_clear(struct error_state *e)
{
    e->category = 0;
    e->code = NULL;
    e->msg[0] = '\0';
}

void error_set(struct error_state *e, int category, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->category = category;
    e->code = code;
}

void error_append_openssl(struct error_state *e)
{
    unsigned long code;
    while ((code = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        size_t used = strlen(e->msg);
        if (used + 3 < sizeof e->msg)
            snprintf(e->msg + used, sizeof e->msg - used, " (%s)", buf);
    }
}
