/*
 * frame.h - a sans-IO assembler for the Cocos aTLS v2 frames ([type u8][length u32 BE]
 * [payload], cocos-ea-wire.md 4.2) read from a TLS byte stream. It holds what src/tls/conn.c
 * read_frame keeps in struct tether (in_hdr, in_hdr_got, in_type, in_len, in_buf, in_got,
 * in_cap) and its rules, so they can be unit-tested and fuzzed without a connection:
 *   - the header goes through ea_frame_header_parse, then a per-type limit;
 *   - the payload buffer grows only with the bytes actually received (4 KiB, doubling, never
 *     beyond the declared length): a forged length costs the peer, not us;
 *   - it never asks for, nor takes, a byte past the end of the current frame: in Cocos
 *     compatibility mode the bytes after a frame are raw application data and must stay in
 *     the caller's (TLS) buffer;
 *   - replaced payload buffers are wiped (free_secret): they may hold application data.
 *
 * Two ways to drive it. Zero-copy, as conn.c reads with SSL_read: ea_frame_asm_space gives
 * where the next bytes go and how many at most, the caller reads into it, ea_frame_asm_commit
 * says how many arrived. From a byte buffer (tests, fuzzing): ea_frame_asm_feed. When a frame is
 * complete (EA_FRAME_ASM_READY) ea_frame_asm_frame returns it; ea_frame_asm_next forgets it and
 * keeps the buffer for the next one. Errors are sticky.
 *
 * Must never: read or write outside its buffer; allocate more than the received bytes (rounded
 * up to the growth step) or than the type's limit; accept a header ea_frame_header_parse
 * refuses; consume bytes past the current frame.
 */
#ifndef TETHER_EA_FRAME_H
#define TETHER_EA_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ea/ea.h"

#define EA_FRAME_ASM_FIRST_CAP 4096u /* the first payload allocation (then doubling) */

enum ea_frame_asm_status {
    EA_FRAME_ASM_NEED_MORE = 0,  /* feed more bytes */
    EA_FRAME_ASM_READY = 1,      /* a whole frame: ea_frame_asm_frame, then ea_frame_asm_next */
    EA_FRAME_ASM_MALFORMED = -1, /* header refused by ea_frame_header_parse ("frame_malformed") */
    EA_FRAME_ASM_TOO_LARGE = -2, /* length above the type's limit ("frame_too_large") */
    EA_FRAME_ASM_NOMEM = -3,     /* out of memory ("internal") */
    EA_FRAME_ASM_MISUSE = -4     /* commit beyond the space given, or a NULL argument */
};

struct ea_frame_asm {
    uint32_t limit[EA_FRAME_DATA + 1]; /* per frame type; [0] unused */
    uint8_t hdr[EA_FRAME_HEADER_LEN];  /* the header as received (for error messages) */
    size_t hdr_got;
    uint8_t type;     /* valid once the header is complete */
    uint32_t len;     /* the declared payload length, <= limit[type] */
    uint8_t *buf;     /* payload; NULL until the first payload byte is expected */
    size_t got, cap;  /* payload bytes received; allocated */
    int status;       /* enum ea_frame_asm_status, sticky when negative */
};

/* Limits per type (each clamped to EA_FRAME_MAX_PAYLOAD). conn.c uses REQUEST_FRAME_MAX,
 * EA_FRAME_MAX_PAYLOAD and APP_QUEUE_MAX. */
void ea_frame_asm_init(struct ea_frame_asm *a, uint32_t request_max, uint32_t authenticator_max,
                       uint32_t data_max);
/* Wipe and free the buffer; the assembler is then as after init with no limits changed. */
void ea_frame_asm_free(struct ea_frame_asm *a);

/* Where the next bytes go: *dst, at most *n of them (n >= 1, never past this frame), with
 * NEED_MORE; READY (n = 0) while a frame waits for ea_frame_asm_next; or the sticky error. */
int ea_frame_asm_space(struct ea_frame_asm *a, uint8_t **dst, size_t *n);
/* n bytes arrived at the last *dst (n <= the last *n). NEED_MORE, READY or an error. */
int ea_frame_asm_commit(struct ea_frame_asm *a, size_t n);
/* Copy from p[0..n) up to the end of the current frame; *used says how many were taken. */
int ea_frame_asm_feed(struct ea_frame_asm *a, const uint8_t *p, size_t n, size_t *used);

/* The complete frame (payload may be NULL when len is 0); false unless READY. */
bool ea_frame_asm_frame(const struct ea_frame_asm *a, uint8_t *type, const uint8_t **payload,
                        uint32_t *len);
/* Forget the delivered frame (keep the buffer). No effect unless READY. */
void ea_frame_asm_next(struct ea_frame_asm *a);
/* True between frames: no byte of a frame received, so a close of the stream here is clean;
 * anywhere else it is "frame_truncated". */
bool ea_frame_asm_idle(const struct ea_frame_asm *a);

#endif
