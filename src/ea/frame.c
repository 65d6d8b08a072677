/*
 * frame.c - the Cocos aTLS v2 frame header ([type u8][length u32 BE], cocos-ea-wire.md 4.2),
 * the sans-IO frame assembler (frame.h) and the stable strings of enum ea_error.
 *
 * Must never accept a header whose length exceeds EA_FRAME_MAX_PAYLOAD or whose type is not
 * one of the three known frame types: the caller allocates the payload from this length. The
 * assembler must never grow its buffer beyond the bytes received, nor take a byte past the
 * current frame.
 */
#include "ea/frame.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

const char *ea_error_code(enum ea_error e)
{
    switch (e) {
    case EA_OK:
        return "ok";
    case EA_ERR_MALFORMED:
        return "ea_malformed";
    case EA_ERR_EMPTY:
        return "ea_empty_authenticator";
    case EA_ERR_CONTEXT_MISMATCH:
        return "ea_context_mismatch";
    case EA_ERR_CONTEXT_REUSED:
        return "ea_context_reused";
    case EA_ERR_UNOFFERED_EXTENSION:
        return "ea_unsupported_extension";
    case EA_ERR_CMW_PLACEMENT:
        return "ea_cmw_not_on_leaf";
    case EA_ERR_CMW_MISSING:
        return "ea_cmw_missing";
    case EA_ERR_SIGALG:
        return "ea_signature_scheme_not_offered";
    case EA_ERR_CERTIFICATE:
        return "ea_bad_certificate";
    case EA_ERR_SIGNATURE:
        return "ea_bad_signature";
    case EA_ERR_FINISHED:
        return "ea_bad_finished";
    case EA_ERR_INTERNAL:
        return "internal";
    }
    return "internal";
}

int ea_frame_header_parse(const uint8_t hdr[static EA_FRAME_HEADER_LEN], uint8_t *type,
                          uint32_t *len)
{
    struct bytes_reader r;
    uint8_t t = 0;
    uint32_t n = 0;
    reader_init(&r, hdr, EA_FRAME_HEADER_LEN);
    if (!reader_u8(&r, &t) || !reader_u32(&r, &n) || !reader_done(&r))
        return -1;
    /* Cocos protocol.go rejects type 0; tether knows only types 1..3. */
    if (t == 0 || t > EA_FRAME_DATA)
        return -1;
    /* The limit excludes the 5-byte header (Cocos enforces it on read and on write). */
    if (n > EA_FRAME_MAX_PAYLOAD)
        return -1;
    *type = t;
    *len = n;
    return 0;
}

void ea_frame_header_write(uint8_t hdr[static EA_FRAME_HEADER_LEN], uint8_t type, uint32_t len)
{
    /* A fixed 5-byte output: big-endian by shifts, nothing is read from untrusted input. */
    hdr[0] = type;
    hdr[1] = (uint8_t)(len >> 24);
    hdr[2] = (uint8_t)(len >> 16);
    hdr[3] = (uint8_t)(len >> 8);
    hdr[4] = (uint8_t)len;
}

/* ---- the sans-IO frame assembler (frame.h) ---- */

static uint32_t clamp_limit(uint32_t n)
{
    return n > EA_FRAME_MAX_PAYLOAD ? EA_FRAME_MAX_PAYLOAD : n;
}

void ea_frame_asm_init(struct ea_frame_asm *a, uint32_t request_max, uint32_t authenticator_max,
                       uint32_t data_max)
{
    memset(a, 0, sizeof *a);
    a->limit[EA_FRAME_REQUEST] = clamp_limit(request_max);
    a->limit[EA_FRAME_AUTHENTICATOR] = clamp_limit(authenticator_max);
    a->limit[EA_FRAME_DATA] = clamp_limit(data_max);
    a->status = EA_FRAME_ASM_NEED_MORE;
}

void ea_frame_asm_free(struct ea_frame_asm *a)
{
    if (!a)
        return;
    free_secret(a->buf, a->cap);
    a->buf = NULL;
    a->cap = 0;
    a->hdr_got = 0;
    a->got = 0;
    a->len = 0;
    a->type = 0;
    a->status = EA_FRAME_ASM_NEED_MORE;
}

static bool header_done(const struct ea_frame_asm *a)
{
    return a->hdr_got == EA_FRAME_HEADER_LEN;
}

int ea_frame_asm_space(struct ea_frame_asm *a, uint8_t **dst, size_t *n)
{
    if (!a || !dst || !n)
        return EA_FRAME_ASM_MISUSE;
    *dst = NULL;
    *n = 0;
    if (a->status != EA_FRAME_ASM_NEED_MORE)
        return a->status;
    if (!header_done(a)) {
        *dst = a->hdr + a->hdr_got;
        *n = EA_FRAME_HEADER_LEN - a->hdr_got;
        return EA_FRAME_ASM_NEED_MORE;
    }
    /* Payload (a->got < a->len here: a complete frame is READY). Grow with the bytes actually
     * received: a forged length costs the peer, not us. */
    if (a->got == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : EA_FRAME_ASM_FIRST_CAP;
        if (cap > a->len)
            cap = a->len;
        uint8_t *grown = malloc(cap);
        if (!grown)
            return a->status = EA_FRAME_ASM_NOMEM;
        if (a->got)
            memcpy(grown, a->buf, a->got);
        free_secret(a->buf, a->cap);
        a->buf = grown;
        a->cap = cap;
    }
    /* Never past this frame: the bytes after it belong to the next frame (or, in Cocos
     * compatibility mode, to the application). A buffer kept from an earlier, longer frame
     * may be larger than this one. */
    *dst = a->buf + a->got;
    *n = (a->cap < a->len ? a->cap : a->len) - a->got;
    return EA_FRAME_ASM_NEED_MORE;
}

int ea_frame_asm_commit(struct ea_frame_asm *a, size_t n)
{
    if (!a)
        return EA_FRAME_ASM_MISUSE;
    if (a->status != EA_FRAME_ASM_NEED_MORE)
        return n ? (a->status < 0 ? a->status : EA_FRAME_ASM_MISUSE) : a->status;
    if (!header_done(a)) {
        if (n > EA_FRAME_HEADER_LEN - a->hdr_got)
            return a->status = EA_FRAME_ASM_MISUSE;
        a->hdr_got += n;
        if (!header_done(a))
            return EA_FRAME_ASM_NEED_MORE;
        if (ea_frame_header_parse(a->hdr, &a->type, &a->len) != 0)
            return a->status = EA_FRAME_ASM_MALFORMED;
        if (a->len > a->limit[a->type])
            return a->status = EA_FRAME_ASM_TOO_LARGE;
        a->got = 0;
        if (a->len == 0)
            return a->status = EA_FRAME_ASM_READY;
        return EA_FRAME_ASM_NEED_MORE;
    }
    if (n > (a->cap < a->len ? a->cap : a->len) - a->got)
        return a->status = EA_FRAME_ASM_MISUSE;
    a->got += n;
    if (a->got == a->len)
        return a->status = EA_FRAME_ASM_READY;
    return EA_FRAME_ASM_NEED_MORE;
}

int ea_frame_asm_feed(struct ea_frame_asm *a, const uint8_t *p, size_t n, size_t *used)
{
    if (used)
        *used = 0;
    if (!a || !used || (!p && n))
        return EA_FRAME_ASM_MISUSE;
    int st = a->status;
    while (st == EA_FRAME_ASM_NEED_MORE && *used < n) {
        uint8_t *dst;
        size_t room;
        st = ea_frame_asm_space(a, &dst, &room);
        if (st != EA_FRAME_ASM_NEED_MORE)
            break;
        size_t take = n - *used < room ? n - *used : room;
        memcpy(dst, p + *used, take);
        *used += take;
        st = ea_frame_asm_commit(a, take);
    }
    return st;
}

bool ea_frame_asm_frame(const struct ea_frame_asm *a, uint8_t *type, const uint8_t **payload,
                        uint32_t *len)
{
    if (!a || a->status != EA_FRAME_ASM_READY)
        return false;
    if (type)
        *type = a->type;
    if (payload)
        *payload = a->len ? a->buf : NULL;
    if (len)
        *len = a->len;
    return true;
}

void ea_frame_asm_next(struct ea_frame_asm *a)
{
    if (!a || a->status != EA_FRAME_ASM_READY)
        return;
    a->hdr_got = 0;
    a->got = 0;
    a->len = 0;
    a->type = 0;
    a->status = EA_FRAME_ASM_NEED_MORE;
}

bool ea_frame_asm_idle(const struct ea_frame_asm *a)
{
    return a && a->status == EA_FRAME_ASM_NEED_MORE && a->hdr_got == 0;
}
