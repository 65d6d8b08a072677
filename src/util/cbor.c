/*
 * cbor.c - the strict CBOR profile of cbor.h. Every length is checked against the bytes left
 * before it is used; recursion is bounded by CBOR_MAX_DEPTH; maps by CBOR_MAP_MAX entries.
 * Must never accept an input that another reading could decode differently (indefinite
 * lengths, non-shortest arguments, duplicate keys, trailing bytes).
 */
#include "util/cbor.h"

#include <stdlib.h>
#include <string.h>

/* Head of the next item, with the reason when it is refused. */
static bool head(struct bytes_reader *r, enum cbor_major *major, uint64_t *arg, const char **why)
{
    uint8_t ib;
    if (!reader_u8(r, &ib)) {
        *why = "truncated item";
        return false;
    }
    *major = (enum cbor_major)(ib >> 5);
    uint8_t ai = ib & 0x1f;
    if (ai < 24) {
        *arg = ai;
        return true;
    }
    if (*major == CBOR_SIMPLE) {
        /* 24: a one-byte simple value; 25-27: floats; 31: break. None is in the profile. */
        r->failed = true;
        *why = ai == 31 ? "indefinite length or break"
                        : "floats and extended simple values are not accepted";
        return false;
    }
    if (ai > 27) {
        r->failed = true;
        *why = ai == 31 ? "indefinite length" : "reserved additional information";
        return false;
    }
    static const uint64_t min_for[4] = {24, 0x100, 0x10000, 0x100000000ull};
    size_t nbytes = (size_t)1 << (ai - 24);
    uint64_t v = 0;
    for (size_t i = 0; i < nbytes; i++) {
        uint8_t b;
        if (!reader_u8(r, &b)) {
            *why = "truncated item";
            return false;
        }
        v = (v << 8) | b;
    }
    if (v < min_for[ai - 24]) {
        r->failed = true;
        *why = "argument not in its shortest form";
        return false;
    }
    *arg = v;
    return true;
}

bool cbor_read_head(struct bytes_reader *r, enum cbor_major *major, uint64_t *arg)
{
    const char *why;
    return head(r, major, arg, &why);
}

static bool expect(struct bytes_reader *r, enum cbor_major want, uint64_t *arg)
{
    enum cbor_major m;
    if (!cbor_read_head(r, &m, arg))
        return false;
    if (m != want) {
        r->failed = true;
        return false;
    }
    return true;
}

bool cbor_read_uint(struct bytes_reader *r, uint64_t *v)
{
    return expect(r, CBOR_UINT, v);
}

static bool read_string(struct bytes_reader *r, enum cbor_major want, const uint8_t **p, size_t *n)
{
    uint64_t len;
    if (!expect(r, want, &len))
        return false;
    if (len > reader_remaining(r)) {
        r->failed = true;
        return false;
    }
    *n = (size_t)len;
    return reader_bytes(r, *n, p);
}

bool cbor_read_bstr(struct bytes_reader *r, const uint8_t **p, size_t *n)
{
    return read_string(r, CBOR_BSTR, p, n);
}

bool cbor_read_tstr(struct bytes_reader *r, const uint8_t **p, size_t *n)
{
    return read_string(r, CBOR_TSTR, p, n);
}

bool cbor_read_array(struct bytes_reader *r, uint64_t *count)
{
    return expect(r, CBOR_ARRAY, count);
}

bool cbor_read_map(struct bytes_reader *r, uint64_t *count)
{
    return expect(r, CBOR_MAP, count) && (*count <= CBOR_MAP_MAX || (r->failed = true, false));
}

bool cbor_read_tag(struct bytes_reader *r, uint64_t *tag)
{
    return expect(r, CBOR_TAG, tag);
}

bool cbor_tstr_is(const uint8_t *p, size_t n, const char *s)
{
    size_t sl = strlen(s);
    return n == sl && memcmp(p, s, n) == 0;
}

/* RFC 3629: shortest forms only, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (len > n - i)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

struct span {
    size_t off, len;
};

/* Validate one item at r (depth = number of enclosing arrays, maps and tags). */
static bool check_item(struct bytes_reader *r, unsigned depth, const char **why)
{
    enum cbor_major m;
    uint64_t arg;
    if (!head(r, &m, &arg, why))
        return false;
    switch (m) {
    case CBOR_UINT:
    case CBOR_NINT:
        return true;
    case CBOR_BSTR:
    case CBOR_TSTR: {
        const uint8_t *p;
        if (arg > reader_remaining(r) || !reader_bytes(r, (size_t)arg, &p)) {
            r->failed = true;
            *why = "string longer than the input";
            return false;
        }
        if (m == CBOR_TSTR && !utf8_valid(p, (size_t)arg)) {
            r->failed = true;
            *why = "text string is not valid UTF-8";
            return false;
        }
        return true;
    }
    case CBOR_ARRAY:
    case CBOR_TAG:
        if (depth >= CBOR_MAX_DEPTH) {
            r->failed = true;
            *why = "nested too deeply";
            return false;
        }
        if (m == CBOR_TAG)
            return check_item(r, depth + 1, why);
        /* Each element takes at least one byte: a count beyond the input fails fast. */
        if (arg > reader_remaining(r)) {
            r->failed = true;
            *why = "array longer than the input";
            return false;
        }
        for (uint64_t i = 0; i < arg; i++)
            if (!check_item(r, depth + 1, why))
                return false;
        return true;
    case CBOR_MAP: {
        if (depth >= CBOR_MAX_DEPTH) {
            r->failed = true;
            *why = "nested too deeply";
            return false;
        }
        if (arg > CBOR_MAP_MAX) {
            r->failed = true;
            *why = "map has too many entries";
            return false;
        }
        if (arg > reader_remaining(r) / 2) {
            r->failed = true;
            *why = "map longer than the input";
            return false;
        }
        if (arg == 0)
            return true;
        struct span *keys = malloc((size_t)arg * sizeof *keys);
        if (!keys) {
            r->failed = true;
            *why = "out of memory";
            return false;
        }
        bool ok = true;
        for (size_t i = 0; ok && i < (size_t)arg; i++) {
            size_t start = r->pos;
            ok = check_item(r, depth + 1, why);
            if (!ok)
                break;
            keys[i].off = start;
            keys[i].len = r->pos - start;
            for (size_t k = 0; k < i; k++) {
                if (keys[k].len == keys[i].len &&
                    memcmp(r->data + keys[k].off, r->data + keys[i].off, keys[i].len) == 0) {
                    r->failed = true;
                    *why = "duplicate map key";
                    ok = false;
                    break;
                }
            }
            if (ok)
                ok = check_item(r, depth + 1, why);
        }
        free(keys);
        return ok;
    }
    case CBOR_SIMPLE:
        if (arg == CBOR_FALSE || arg == CBOR_TRUE || arg == CBOR_NULL)
            return true;
        r->failed = true;
        *why = "simple value other than false, true or null";
        return false;
    }
    return false;
}

int cbor_check(const uint8_t *buf, size_t len, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    struct bytes_reader r;
    reader_init(&r, buf, len);
    if (!buf || len == 0) {
        *why = "empty input";
        return -1;
    }
    if (!check_item(&r, 0, why))
        return -1;
    if (reader_remaining(&r) != 0) {
        *why = "trailing bytes after the item";
        return -1;
    }
    return 0;
}

static bool skip_item(struct bytes_reader *r, unsigned depth)
{
    enum cbor_major m;
    uint64_t arg;
    const uint8_t *p;
    if (!cbor_read_head(r, &m, &arg))
        return false;
    switch (m) {
    case CBOR_BSTR:
    case CBOR_TSTR:
        if (arg > reader_remaining(r)) {
            r->failed = true;
            return false;
        }
        return reader_bytes(r, (size_t)arg, &p);
    case CBOR_ARRAY:
    case CBOR_MAP:
    case CBOR_TAG: {
        if (depth >= CBOR_MAX_DEPTH) {
            r->failed = true;
            return false;
        }
        if (m == CBOR_TAG)
            return skip_item(r, depth + 1);
        uint64_t items = arg;
        if (m == CBOR_MAP) {
            if (arg > CBOR_MAP_MAX) {
                r->failed = true;
                return false;
            }
            items = arg * 2;
        }
        if (items > reader_remaining(r)) {
            r->failed = true;
            return false;
        }
        for (uint64_t i = 0; i < items; i++)
            if (!skip_item(r, depth + 1))
                return false;
        return true;
    }
    default:
        return true;
    }
}

bool cbor_skip(struct bytes_reader *r)
{
    return skip_item(r, 0);
}

/* ---- encoder ---- */

bool cbor_put_head(struct bytes_writer *w, enum cbor_major major, uint64_t arg)
{
    uint8_t mt = (uint8_t)((unsigned)major << 5);
    if (arg < 24)
        return writer_u8(w, (uint8_t)(mt | arg));
    if (arg <= 0xff)
        return writer_u8(w, mt | 24) && writer_u8(w, (uint8_t)arg);
    if (arg <= 0xffff)
        return writer_u8(w, mt | 25) && writer_u16(w, (uint16_t)arg);
    if (arg <= 0xffffffffull)
        return writer_u8(w, mt | 26) && writer_u32(w, (uint32_t)arg);
    return writer_u8(w, mt | 27) && writer_u64(w, arg);
}

bool cbor_put_uint(struct bytes_writer *w, uint64_t v)
{
    return cbor_put_head(w, CBOR_UINT, v);
}

bool cbor_put_bstr(struct bytes_writer *w, const uint8_t *p, size_t n)
{
    return cbor_put_head(w, CBOR_BSTR, n) && (n == 0 || writer_bytes(w, p, n));
}

bool cbor_put_tstr(struct bytes_writer *w, const char *s)
{
    size_t n = strlen(s);
    return cbor_put_head(w, CBOR_TSTR, n) && (n == 0 || writer_bytes(w, s, n));
}

bool cbor_put_array(struct bytes_writer *w, uint64_t count)
{
    return cbor_put_head(w, CBOR_ARRAY, count);
}

bool cbor_put_map(struct bytes_writer *w, uint64_t count)
{
    return cbor_put_head(w, CBOR_MAP, count);
}

bool cbor_put_tag(struct bytes_writer *w, uint64_t tag)
{
    return cbor_put_head(w, CBOR_TAG, tag);
}
