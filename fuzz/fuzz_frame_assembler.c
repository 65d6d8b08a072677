/*
 * fuzz_frame_assembler.c - libFuzzer harness for the sans-IO frame assembler (src/ea/frame.h),
 * the reassembly src/tls/conn.c read_frame performs on the TLS byte stream.
 *
 * Input: one control byte, then the stream. The control byte seeds the chunking (how many
 * bytes each "SSL_read" returns: 1..N, varying) and picks the driver: the zero-copy
 * space/commit pair (as conn.c uses it) or ea_frame_asm_feed. The same stream is also fed in
 * one piece to a second assembler, and both must deliver the same frames and stop at the same
 * place with the same status: chunking must never change what is assembled.
 * Invariants: a delivered frame has type 1..3, a length within its type's limit and exactly the
 * payload bytes that followed its header; no byte past a frame is taken; the buffer never
 * exceeds the declared length; a header
 * refused is one ea_frame_header_parse refuses (or one over the type's limit); while a payload
 * is read, the space offered never reaches past the declared length. Request payloads
 * go on to the request parser, as dispatch_frame does.
 * Seeds: fuzz/seeds/frame_assembler/ (synthetic streams of several frames). Must never touch
 * the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ea/ea.h"
#include "ea/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limits, so that the too-large path and the growth are reached by short inputs. */
#define REQ_MAX 300u
#define AUTH_MAX 9000u
#define DATA_MAX 5000u
#define MAX_FRAMES 64

struct seen {
    uint8_t type;
    uint32_t len;
    size_t off; /* offset of the payload in the stream */
};

static uint32_t limit_of(uint8_t type)
{
    return type == EA_FRAME_REQUEST ? REQ_MAX : type == EA_FRAME_DATA ? DATA_MAX : AUTH_MAX;
}

/* Check a delivered frame against the stream, record it. */
static void deliver(struct ea_frame_asm *a, const uint8_t *s, size_t pos, struct seen *out,
                    size_t *n_out)
{
    uint8_t type = 0;
    const uint8_t *p = NULL;
    uint32_t len = 0;
    if (!ea_frame_asm_frame(a, &type, &p, &len))
        abort();
    if (type < EA_FRAME_REQUEST || type > EA_FRAME_DATA || len > limit_of(type))
        abort();
    if (len > pos || (len && (!p || memcmp(p, s + pos - len, len) != 0)) || (!len && p))
        abort(); /* exactly the bytes that followed the header */
    if (type == EA_FRAME_REQUEST) {
        struct ea_request req;
        enum ea_error e;
        (void)ea_request_parse(p ? p : (const uint8_t *)"", len, &req, &e);
    }
    if (*n_out < MAX_FRAMES) {
        out[*n_out].type = type;
        out[*n_out].len = len;
        out[*n_out].off = pos - len;
    }
    (*n_out)++;
    ea_frame_asm_next(a);
}

/* Run the stream through an assembler; returns the final status, *stop the bytes taken. */
static int run(const uint8_t *s, size_t n, uint8_t ctl, bool chunked, struct seen *out,
               size_t *n_out, size_t *stop)
{
    struct ea_frame_asm a;
    ea_frame_asm_init(&a, REQ_MAX, AUTH_MAX, DATA_MAX);
    size_t pos = 0;
    uint32_t rng = 0x9e3779b9u ^ ctl;
    int st = EA_FRAME_ASM_NEED_MORE;
    bool zero_copy = chunked && (ctl & 1);
    *n_out = 0;
    while (pos < n) {
        size_t avail = n - pos;
        if (chunked) {
            rng = rng * 1103515245u + 12345u;
            size_t max = (size_t)((ctl >> 1) & 63) + 1;
            size_t c = (size_t)(rng >> 16) % max + 1;
            if (c < avail)
                avail = c;
        }
        if (zero_copy) {
            uint8_t *dst;
            size_t room;
            st = ea_frame_asm_space(&a, &dst, &room);
            if (st != EA_FRAME_ASM_NEED_MORE)
                break;
            if (room == 0 || !dst)
                abort();
            /* the buffer never exceeds the declared length */
            if (a.hdr_got == EA_FRAME_HEADER_LEN && a.got + room > a.len)
                abort();
            size_t take = avail < room ? avail : room;
            memcpy(dst, s + pos, take);
            pos += take;
            st = ea_frame_asm_commit(&a, take);
        } else {
            size_t used = 0;
            st = ea_frame_asm_feed(&a, s + pos, avail, &used);
            if (used > avail)
                abort();
            pos += used;
        }
        if (st == EA_FRAME_ASM_READY)
            deliver(&a, s, pos, out, n_out);
        else if (st != EA_FRAME_ASM_NEED_MORE)
            break;
    }
    if (st < 0) {
        /* the refused header: ea_frame_header_parse refuses it, or it is over its limit */
        uint8_t t;
        uint32_t l;
        if (a.hdr_got != EA_FRAME_HEADER_LEN)
            abort();
        int parsed = ea_frame_header_parse(a.hdr, &t, &l);
        if (st == EA_FRAME_ASM_MALFORMED ? parsed == 0
                                         : (st != EA_FRAME_ASM_TOO_LARGE || parsed != 0 ||
                                            l <= limit_of(t)))
            abort();
    }
    *stop = pos;
    ea_frame_asm_free(&a);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    /* A copy of exactly the stream, so ASan sees any read past it. */
    size_t n = size - 1;
    uint8_t *s = malloc(n ? n : 1);
    if (!s)
        return 0;
    memcpy(s, data + 1, n);
    static struct seen a[MAX_FRAMES], b[MAX_FRAMES];
    size_t na = 0, nb = 0, stop_a = 0, stop_b = 0;
    int st_a = run(s, n, ctl, true, a, &na, &stop_a);
    int st_b = run(s, n, ctl, false, b, &nb, &stop_b);
    if (st_a != st_b || na != nb || stop_a != stop_b)
        abort(); /* chunking changed what was assembled */
    for (size_t i = 0; i < na && i < MAX_FRAMES; i++)
        if (a[i].type != b[i].type || a[i].len != b[i].len || a[i].off != b[i].off)
            abort();
    free(s);
    return 0;
}
