/*
 * cbor.h - a small, strict CBOR (RFC 8949) encoder and decoder for the RA-TLS certificate
 * extension (src/binding/ratls_ext.h). Sans-IO: byte buffers through bytes_reader/writer.
 *
 * The decoder accepts a deliberately narrow profile, so that two parsers can never read one
 * input two ways:
 *   - definite lengths only (no indefinite strings, arrays or maps, no "break");
 *   - every integer argument (values, lengths, tags) in its shortest form (RFC 8949 4.2.1);
 *   - text strings must be valid UTF-8;
 *   - the simple values false, true and null only (no floats, no other simple values);
 *   - nesting (arrays, maps, tags) at most CBOR_MAX_DEPTH deep;
 *   - maps of at most CBOR_MAP_MAX entries, no key twice (compared on their encoded bytes,
 *     which are unique for a value under the shortest-form rule);
 *   - a buffer holds exactly one item: trailing bytes are an error.
 * Map key order is not checked: deployed RA-TLS encoders do not sort their claims.
 * The encoder always produces this profile.
 */
#ifndef TETHER_UTIL_CBOR_H
#define TETHER_UTIL_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/bytes.h"

#define CBOR_MAX_DEPTH 16
#define CBOR_MAP_MAX 256

enum cbor_major {
    CBOR_UINT = 0,
    CBOR_NINT = 1,
    CBOR_BSTR = 2,
    CBOR_TSTR = 3,
    CBOR_ARRAY = 4,
    CBOR_MAP = 5,
    CBOR_TAG = 6,
    CBOR_SIMPLE = 7
};

#define CBOR_FALSE 20
#define CBOR_TRUE 21
#define CBOR_NULL 22

/* ---- whole-item validation ---- */

/* 0 if buf[0..len) is exactly one item in the profile above; else -1 and a static reason. */
int cbor_check(const uint8_t *buf, size_t len, const char **why);

/* ---- pull decoding (on input that cbor_check accepted, or on any input: every read is
 * bounded and a failed read leaves the reader failed) ---- */

/* The initial byte and argument of the next item: major type and argument (the value, a
 * length, a count, a tag number or a simple value). Refuses non-shortest arguments,
 * indefinite lengths and the reserved additional-information values. */
bool cbor_read_head(struct bytes_reader *r, enum cbor_major *major, uint64_t *arg);
bool cbor_read_uint(struct bytes_reader *r, uint64_t *v);
/* Borrow the bytes of a byte or text string (no UTF-8 check here: cbor_check does it). */
bool cbor_read_bstr(struct bytes_reader *r, const uint8_t **p, size_t *n);
bool cbor_read_tstr(struct bytes_reader *r, const uint8_t **p, size_t *n);
bool cbor_read_array(struct bytes_reader *r, uint64_t *count);
bool cbor_read_map(struct bytes_reader *r, uint64_t *count);
bool cbor_read_tag(struct bytes_reader *r, uint64_t *tag);
/* Skip one whole item (with everything nested in it), at most CBOR_MAX_DEPTH deep. */
bool cbor_skip(struct bytes_reader *r);
/* True if the text string p[0..n) equals the NUL-terminated s. */
bool cbor_tstr_is(const uint8_t *p, size_t n, const char *s);

/* ---- encoding (shortest form, definite lengths) ---- */

bool cbor_put_head(struct bytes_writer *w, enum cbor_major major, uint64_t arg);
bool cbor_put_uint(struct bytes_writer *w, uint64_t v);
bool cbor_put_bstr(struct bytes_writer *w, const uint8_t *p, size_t n);
bool cbor_put_tstr(struct bytes_writer *w, const char *s);
bool cbor_put_array(struct bytes_writer *w, uint64_t count);
bool cbor_put_map(struct bytes_writer *w, uint64_t count);
bool cbor_put_tag(struct bytes_writer *w, uint64_t tag);

#endif
