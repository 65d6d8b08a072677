/*
 * bytes.c - bounded readers and writers (see bytes.h). All length arithmetic is checked
 * against the remaining input before any pointer is formed.
 */
#include "util/bytes.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void reader_init(struct bytes_reader *r, const uint8_t *data, size_t len)
{
    r->data = data;
    r->len = data ? len : 0;
    r->pos = 0;
    r->failed = false;
}

static bool reader_take(struct bytes_reader *r, size_t n, const uint8_t **p)
{
    if (r->failed || n > r->len - r->pos) {
        r->failed = true;
        return false;
    }
    *p = r->data + r->pos;
    r->pos += n;
    return true;
}

static bool reader_be(struct bytes_reader *r, size_t n, uint64_t *v)
{
    const uint8_t *p;
    if (!reader_take(r, n, &p))
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = (x << 8) | p[i];
    *v = x;
    return true;
}

bool reader_u8(struct bytes_reader *r, uint8_t *v)
{
    uint64_t x;
    if (!reader_be(r, 1, &x))
        return false;
    *v = (uint8_t)x;
    return true;
}

bool reader_u16(struct bytes_reader *r, uint16_t *v)
{
    uint64_t x;
    if (!reader_be(r, 2, &x))
        return false;
    *v = (uint16_t)x;
    return true;
}

bool reader_u24(struct bytes_reader *r, uint32_t *v)
{
    uint64_t x;
    if (!reader_be(r, 3, &x))
        return false;
    *v = (uint32_t)x;
    return true;
}

bool reader_u32(struct bytes_reader *r, uint32_t *v)
{
    uint64_t x;
    if (!reader_be(r, 4, &x))
        return false;
    *v = (uint32_t)x;
    return true;
}

bool reader_u64(struct bytes_reader *r, uint64_t *v)
{
    return reader_be(r, 8, v);
}

static bool reader_le(struct bytes_reader *r, size_t n, uint64_t *v)
{
    const uint8_t *p;
    if (!reader_take(r, n, &p))
        return false;
    uint64_t x = 0;
    for (size_t i = n; i > 0; i--)
        x = (x << 8) | p[i - 1];
    *v = x;
    return true;
}

bool reader_u16le(struct bytes_reader *r, uint16_t *v)
{
    uint64_t x;
    if (!reader_le(r, 2, &x))
        return false;
    *v = (uint16_t)x;
    return true;
}

bool reader_u32le(struct bytes_reader *r, uint32_t *v)
{
    uint64_t x;
    if (!reader_le(r, 4, &x))
        return false;
    *v = (uint32_t)x;
    return true;
}

bool reader_u64le(struct bytes_reader *r, uint64_t *v)
{
    return reader_le(r, 8, v);
}

bool reader_bytes(struct bytes_reader *r, size_t n, const uint8_t **out)
{
    return reader_take(r, n, out);
}

bool reader_copy(struct bytes_reader *r, void *out, size_t n)
{
    const uint8_t *p;
    if (!reader_take(r, n, &p))
        return false;
    if (n)
        memcpy(out, p, n);
    return true;
}

bool reader_vec(struct bytes_reader *r, int prefix_bytes, const uint8_t **out, size_t *n)
{
    uint64_t len;
    if (prefix_bytes < 1 || prefix_bytes > 4) {
        r->failed = true;
        return false;
    }
    if (!reader_be(r, (size_t)prefix_bytes, &len))
        return false;
    if (!reader_take(r, (size_t)len, out))
        return false;
    *n = (size_t)len;
    return true;
}

bool reader_sub(struct bytes_reader *r, int prefix_bytes, struct bytes_reader *sub)
{
    const uint8_t *p;
    size_t n;
    if (!reader_vec(r, prefix_bytes, &p, &n)) {
        reader_init(sub, NULL, 0);
        sub->failed = true;
        return false;
    }
    reader_init(sub, p, n);
    return true;
}

size_t reader_remaining(const struct bytes_reader *r)
{
    return r->failed ? 0 : r->len - r->pos;
}

bool reader_done(const struct bytes_reader *r)
{
    return !r->failed && r->pos == r->len;
}

void writer_init(struct bytes_writer *w, size_t max)
{
    w->data = NULL;
    w->len = 0;
    w->cap = 0;
    w->max = max;
    w->failed = false;
}

static bool writer_reserve(struct bytes_writer *w, size_t n)
{
    if (w->failed || n > w->max || w->len > w->max - n) {
        w->failed = true;
        return false;
    }
    if (w->len + n <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n)
        cap = cap > SIZE_MAX / 2 ? w->len + n : cap * 2;
    uint8_t *p = malloc(cap);
    if (!p) {
        w->failed = true;
        return false;
    }
    if (w->len)
        memcpy(p, w->data, w->len);
    if (w->data) {
        OPENSSL_cleanse(w->data, w->cap);
        free(w->data);
    }
    w->data = p;
    w->cap = cap;
    return true;
}

static bool writer_be(struct bytes_writer *w, uint64_t v, size_t n)
{
    if (!writer_reserve(w, n))
        return false;
    for (size_t i = 0; i < n; i++)
        w->data[w->len + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    w->len += n;
    return true;
}

bool writer_u8(struct bytes_writer *w, uint8_t v) { return writer_be(w, v, 1); }
bool writer_u16(struct bytes_writer *w, uint16_t v) { return writer_be(w, v, 2); }
bool writer_u24(struct bytes_writer *w, uint32_t v)
{
    if (v > 0xffffffu) {
        w->failed = true;
        return false;
    }
    return writer_be(w, v, 3);
}
bool writer_u32(struct bytes_writer *w, uint32_t v) { return writer_be(w, v, 4); }
bool writer_u64(struct bytes_writer *w, uint64_t v) { return writer_be(w, v, 8); }

static bool writer_le(struct bytes_writer *w, uint64_t v, size_t n)
{
    if (!writer_reserve(w, n))
        return false;
    for (size_t i = 0; i < n; i++)
        w->data[w->len + i] = (uint8_t)(v >> (8 * i));
    w->len += n;
    return true;
}

bool writer_u32le(struct bytes_writer *w, uint32_t v) { return writer_le(w, v, 4); }
bool writer_u64le(struct bytes_writer *w, uint64_t v) { return writer_le(w, v, 8); }

bool writer_bytes(struct bytes_writer *w, const void *p, size_t n)
{
    if (!writer_reserve(w, n))
        return false;
    if (n)
        memcpy(w->data + w->len, p, n);
    w->len += n;
    return true;
}

size_t writer_vec_begin(struct bytes_writer *w, int prefix_bytes)
{
    size_t mark = w->len;
    if (prefix_bytes < 1 || prefix_bytes > 4) {
        w->failed = true;
        return mark;
    }
    writer_be(w, 0, (size_t)prefix_bytes);
    return mark;
}

bool writer_vec_end(struct bytes_writer *w, size_t mark, int prefix_bytes)
{
    if (w->failed || prefix_bytes < 1 || prefix_bytes > 4 || mark + (size_t)prefix_bytes > w->len) {
        w->failed = true;
        return false;
    }
    size_t body = w->len - mark - (size_t)prefix_bytes;
    uint64_t limit = (prefix_bytes == 4) ? 0xffffffffull : ((1ull << (8 * prefix_bytes)) - 1);
    if (body > limit) {
        w->failed = true;
        return false;
    }
    for (int i = 0; i < prefix_bytes; i++)
        w->data[mark + (size_t)i] = (uint8_t)(body >> (8 * (prefix_bytes - 1 - i)));
    return true;
}

uint8_t *writer_take(struct bytes_writer *w, size_t *len)
{
    if (w->failed) {
        writer_free(w);
        return NULL;
    }
    uint8_t *p = w->data;
    if (!p) /* an empty but successful writer still returns a valid pointer */
        p = malloc(1);
    *len = w->len;
    w->data = NULL;
    w->len = w->cap = 0;
    return p;
}

void writer_free(struct bytes_writer *w)
{
    if (w->data) {
        OPENSSL_cleanse(w->data, w->cap);
        free(w->data);
    }
    w->data = NULL;
    w->len = w->cap = 0;
}
