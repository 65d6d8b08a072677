/*
 * bytes.h - bounded byte cursors: every parser reads through a reader, every encoder writes
 * through a writer. A reader never reads past its end; once a read fails the reader stays
 * failed, so a parser may check once at the end. Never do raw pointer arithmetic on input.
 */
#ifndef TETHER_UTIL_BYTES_H
#define TETHER_UTIL_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bytes_reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
    bool failed;
};

void reader_init(struct bytes_reader *r, const uint8_t *data, size_t len);
bool reader_u8(struct bytes_reader *r, uint8_t *v);
bool reader_u16(struct bytes_reader *r, uint16_t *v); /* big-endian */
bool reader_u24(struct bytes_reader *r, uint32_t *v);
bool reader_u32(struct bytes_reader *r, uint32_t *v);
bool reader_u64(struct bytes_reader *r, uint64_t *v);
/* Little-endian integers (hardware structures such as the SEV-SNP report). */
bool reader_u16le(struct bytes_reader *r, uint16_t *v);
bool reader_u32le(struct bytes_reader *r, uint32_t *v);
bool reader_u64le(struct bytes_reader *r, uint64_t *v);
/* Borrow n bytes (pointer into the input). */
bool reader_bytes(struct bytes_reader *r, size_t n, const uint8_t **out);
bool reader_copy(struct bytes_reader *r, void *out, size_t n);
/* Length-prefixed vectors (TLS presentation language): prefix of 1, 2 or 3 bytes. */
bool reader_vec(struct bytes_reader *r, int prefix_bytes, const uint8_t **out, size_t *n);
/* A sub-reader over a length-prefixed vector. */
bool reader_sub(struct bytes_reader *r, int prefix_bytes, struct bytes_reader *sub);
size_t reader_remaining(const struct bytes_reader *r);
/* True when nothing failed and every byte was consumed. */
bool reader_done(const struct bytes_reader *r);

struct bytes_writer {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* hard limit on len; exceeding it fails the writer */
    bool failed;
};

void writer_init(struct bytes_writer *w, size_t max);
bool writer_u8(struct bytes_writer *w, uint8_t v);
bool writer_u16(struct bytes_writer *w, uint16_t v);
bool writer_u24(struct bytes_writer *w, uint32_t v);
bool writer_u32(struct bytes_writer *w, uint32_t v);
bool writer_u64(struct bytes_writer *w, uint64_t v);
bool writer_u32le(struct bytes_writer *w, uint32_t v); /* little-endian */
bool writer_u64le(struct bytes_writer *w, uint64_t v);
bool writer_bytes(struct bytes_writer *w, const void *p, size_t n);
/* Open a length-prefixed vector: returns the offset to pass to writer_vec_end. */
size_t writer_vec_begin(struct bytes_writer *w, int prefix_bytes);
/* Close it; fails the writer if the body does not fit the prefix. */
bool writer_vec_end(struct bytes_writer *w, size_t mark, int prefix_bytes);
/* Hand the buffer to the caller (who frees it with free); the writer is reset. */
uint8_t *writer_take(struct bytes_writer *w, size_t *len);
/* Zeroise and free. */
void writer_free(struct bytes_writer *w);

#endif
