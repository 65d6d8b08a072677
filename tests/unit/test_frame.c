/*
 * test_frame.c - unit tests of the sans-IO frame assembler (src/ea/frame.h): the rules
 * src/tls/conn.c read_frame keeps, checked without a connection: header split anywhere,
 * per-type limits, growth with the received bytes only, never a byte past the frame, zero
 * length frames, clean and truncated ends, sticky errors and misuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ea/frame.h"

#define REQ_MAX (1u << 17)
#define DATA_MAX (1u << 20)

static void init(struct ea_frame_asm *a)
{
    ea_frame_asm_init(a, REQ_MAX, EA_FRAME_MAX_PAYLOAD, DATA_MAX);
}

/* A frame of type with n payload bytes (0x00, 0x01, ...) appended at out[*off]. */
static void put_frame(uint8_t *out, size_t *off, uint8_t type, uint32_t n)
{
    ea_frame_header_write(out + *off, type, n);
    *off += EA_FRAME_HEADER_LEN;
    for (uint32_t i = 0; i < n; i++)
        out[(*off)++] = (uint8_t)i;
}

static void expect_frame(struct ea_frame_asm *a, uint8_t want_type, uint32_t want_len)
{
    uint8_t type = 0;
    const uint8_t *p = NULL;
    uint32_t len = 0;
    assert_true(ea_frame_asm_frame(a, &type, &p, &len));
    assert_int_equal(type, want_type);
    assert_int_equal(len, want_len);
    if (want_len == 0)
        assert_null(p);
    for (uint32_t i = 0; i < len; i++)
        assert_int_equal(p[i], (uint8_t)i);
}

static void one_frame_in_one_feed(void **state)
{
    (void)state;
    uint8_t s[64];
    size_t n = 0, used = 0;
    put_frame(s, &n, EA_FRAME_REQUEST, 40);
    struct ea_frame_asm a;
    init(&a);
    assert_true(ea_frame_asm_idle(&a));
    assert_int_equal(ea_frame_asm_feed(&a, s, n, &used), EA_FRAME_ASM_READY);
    assert_int_equal(used, n);
    assert_false(ea_frame_asm_idle(&a));
    expect_frame(&a, EA_FRAME_REQUEST, 40);
    /* READY takes nothing more until next */
    assert_int_equal(ea_frame_asm_feed(&a, s, n, &used), EA_FRAME_ASM_READY);
    assert_int_equal(used, 0);
    ea_frame_asm_next(&a);
    assert_true(ea_frame_asm_idle(&a));
    assert_false(ea_frame_asm_frame(&a, NULL, NULL, NULL));
    ea_frame_asm_free(&a);
}

static void byte_by_byte_and_every_split(void **state)
{
    (void)state;
    uint8_t s[3 * EA_FRAME_HEADER_LEN + 300 + 7];
    size_t n = 0;
    put_frame(s, &n, EA_FRAME_AUTHENTICATOR, 300);
    put_frame(s, &n, EA_FRAME_DATA, 0);
    put_frame(s, &n, EA_FRAME_DATA, 7);
    static const uint8_t types[3] = {EA_FRAME_AUTHENTICATOR, EA_FRAME_DATA, EA_FRAME_DATA};
    static const uint32_t lens[3] = {300, 0, 7};
    /* chunk sizes 1..n: every split of headers and payloads */
    for (size_t chunk = 1; chunk <= n; chunk++) {
        struct ea_frame_asm a;
        init(&a);
        size_t off = 0, seen = 0;
        while (off < n) {
            size_t take = n - off < chunk ? n - off : chunk, used = 0;
            int st = ea_frame_asm_feed(&a, s + off, take, &used);
            off += used;
            if (st == EA_FRAME_ASM_READY) {
                assert_true(seen < 3);
                expect_frame(&a, types[seen], lens[seen]);
                seen++;
                ea_frame_asm_next(&a);
            } else {
                assert_int_equal(st, EA_FRAME_ASM_NEED_MORE);
                assert_int_equal(used, take);
            }
        }
        assert_int_equal(seen, 3);
        assert_true(ea_frame_asm_idle(&a));
        ea_frame_asm_free(&a);
    }
}

static void never_takes_a_byte_past_the_frame(void **state)
{
    (void)state;
    /* Cocos compatibility: raw application bytes follow the frame and stay with the caller. */
    uint8_t s[EA_FRAME_HEADER_LEN + 10 + 5];
    size_t n = 0, used = 0;
    put_frame(s, &n, EA_FRAME_AUTHENTICATOR, 10);
    memcpy(s + n, "hello", 5);
    struct ea_frame_asm a;
    init(&a);
    assert_int_equal(ea_frame_asm_feed(&a, s, n + 5, &used), EA_FRAME_ASM_READY);
    assert_int_equal(used, n);
    /* and the zero-copy view never offers more than the frame's remainder */
    ea_frame_asm_next(&a);
    uint8_t *dst;
    size_t room;
    assert_int_equal(ea_frame_asm_space(&a, &dst, &room), EA_FRAME_ASM_NEED_MORE);
    assert_int_equal(room, EA_FRAME_HEADER_LEN);
    assert_int_equal(ea_frame_asm_commit(&a, 2), EA_FRAME_ASM_NEED_MORE);
    assert_int_equal(ea_frame_asm_space(&a, &dst, &room), EA_FRAME_ASM_NEED_MORE);
    assert_int_equal(room, EA_FRAME_HEADER_LEN - 2);
    ea_frame_asm_free(&a);
}

static void growth_follows_the_bytes_received(void **state)
{
    (void)state;
    /* A data frame declaring 1 MiB: nothing is allocated for the bytes not yet received. */
    struct ea_frame_asm a;
    init(&a);
    uint8_t hdr[EA_FRAME_HEADER_LEN];
    size_t used = 0;
    ea_frame_header_write(hdr, EA_FRAME_DATA, DATA_MAX);
    assert_int_equal(ea_frame_asm_feed(&a, hdr, sizeof hdr, &used), EA_FRAME_ASM_NEED_MORE);
    assert_null(a.buf);
    uint8_t *dst;
    size_t room;
    assert_int_equal(ea_frame_asm_space(&a, &dst, &room), EA_FRAME_ASM_NEED_MORE);
    assert_int_equal(a.cap, EA_FRAME_ASM_FIRST_CAP);
    assert_int_equal(room, EA_FRAME_ASM_FIRST_CAP);
    memset(dst, 0xab, room);
    assert_int_equal(ea_frame_asm_commit(&a, room), EA_FRAME_ASM_NEED_MORE);
    assert_int_equal(ea_frame_asm_space(&a, &dst, &room), EA_FRAME_ASM_NEED_MORE);
    assert_int_equal(a.cap, 2 * EA_FRAME_ASM_FIRST_CAP);
    assert_int_equal(room, EA_FRAME_ASM_FIRST_CAP);
    assert_int_equal(a.buf[0], 0xab); /* kept across the growth */
    ea_frame_asm_free(&a);

    /* never beyond the declared length */
    init(&a);
    ea_frame_header_write(hdr, EA_FRAME_REQUEST, 100);
    assert_int_equal(ea_frame_asm_feed(&a, hdr, sizeof hdr, &used), EA_FRAME_ASM_NEED_MORE);
    assert_int_equal(ea_frame_asm_space(&a, &dst, &room), EA_FRAME_ASM_NEED_MORE);
    assert_int_equal(a.cap, 100);
    assert_int_equal(room, 100);
    ea_frame_asm_free(&a);
}

static void header_errors_are_sticky(void **state)
{
    (void)state;
    static const uint8_t bad[][EA_FRAME_HEADER_LEN] = {
        {0, 0, 0, 0, 1},       /* type 0 */
        {4, 0, 0, 0, 1},       /* unknown type */
        {2, 0x01, 0, 0, 1},    /* above 16 MiB */
        {0xff, 0xff, 0xff, 0xff, 0xff},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ea_frame_asm a;
        size_t used = 0;
        init(&a);
        assert_int_equal(ea_frame_asm_feed(&a, bad[i], EA_FRAME_HEADER_LEN, &used),
                         EA_FRAME_ASM_MALFORMED);
        assert_int_equal(used, EA_FRAME_HEADER_LEN);
        assert_memory_equal(a.hdr, bad[i], EA_FRAME_HEADER_LEN); /* for the message */
        assert_int_equal(ea_frame_asm_feed(&a, bad[i], 1, &used), EA_FRAME_ASM_MALFORMED);
        assert_int_equal(used, 0);
        assert_false(ea_frame_asm_idle(&a));
        ea_frame_asm_free(&a);
    }
}

static void per_type_limits(void **state)
{
    (void)state;
    struct {
        uint8_t type;
        uint32_t len;
        int want;
    } cases[] = {
        {EA_FRAME_REQUEST, REQ_MAX, EA_FRAME_ASM_NEED_MORE},
        {EA_FRAME_REQUEST, REQ_MAX + 1, EA_FRAME_ASM_TOO_LARGE},
        {EA_FRAME_DATA, DATA_MAX, EA_FRAME_ASM_NEED_MORE},
        {EA_FRAME_DATA, DATA_MAX + 1, EA_FRAME_ASM_TOO_LARGE},
        {EA_FRAME_AUTHENTICATOR, EA_FRAME_MAX_PAYLOAD, EA_FRAME_ASM_NEED_MORE},
        {EA_FRAME_AUTHENTICATOR, EA_FRAME_MAX_PAYLOAD + 1, EA_FRAME_ASM_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ea_frame_asm a;
        uint8_t hdr[EA_FRAME_HEADER_LEN];
        size_t used = 0;
        init(&a);
        ea_frame_header_write(hdr, cases[i].type, cases[i].len);
        assert_int_equal(ea_frame_asm_feed(&a, hdr, sizeof hdr, &used), cases[i].want);
        if (cases[i].want == EA_FRAME_ASM_TOO_LARGE) {
            assert_int_equal(a.type, cases[i].type);
            assert_int_equal(a.len, cases[i].len);
        }
        assert_null(a.buf); /* nothing allocated for a refused or unreceived payload */
        ea_frame_asm_free(&a);
    }
    /* limits above the protocol's are clamped to it */
    struct ea_frame_asm a;
    ea_frame_asm_init(&a, UINT32_MAX, UINT32_MAX, UINT32_MAX);
    assert_int_equal(a.limit[EA_FRAME_REQUEST], EA_FRAME_MAX_PAYLOAD);
    assert_int_equal(a.limit[EA_FRAME_DATA], EA_FRAME_MAX_PAYLOAD);
    ea_frame_asm_free(&a);
}

static void idle_tells_clean_close_from_truncation(void **state)
{
    (void)state;
    uint8_t s[EA_FRAME_HEADER_LEN + 4];
    size_t n = 0, used = 0;
    put_frame(s, &n, EA_FRAME_DATA, 4);
    for (size_t cut = 0; cut <= n; cut++) {
        struct ea_frame_asm a;
        init(&a);
        int st = ea_frame_asm_feed(&a, s, cut, &used);
        if (cut == 0)
            assert_true(ea_frame_asm_idle(&a)); /* close here: clean */
        else if (cut < n)
            assert_false(ea_frame_asm_idle(&a)); /* close here: frame_truncated */
        else
            assert_int_equal(st, EA_FRAME_ASM_READY);
        ea_frame_asm_free(&a);
    }
}

static void misuse_is_refused(void **state)
{
    (void)state;
    struct ea_frame_asm a;
    uint8_t *dst;
    size_t room, used = 7;
    init(&a);
    assert_int_equal(ea_frame_asm_space(NULL, &dst, &room), EA_FRAME_ASM_MISUSE);
    assert_int_equal(ea_frame_asm_feed(&a, NULL, 3, &used), EA_FRAME_ASM_MISUSE);
    assert_int_equal(used, 0);
    assert_int_equal(ea_frame_asm_feed(&a, NULL, 0, &used), EA_FRAME_ASM_NEED_MORE);
    /* committing more than the space given is refused, and sticky */
    assert_int_equal(ea_frame_asm_space(&a, &dst, &room), EA_FRAME_ASM_NEED_MORE);
    assert_int_equal(ea_frame_asm_commit(&a, room + 1), EA_FRAME_ASM_MISUSE);
    assert_int_equal(ea_frame_asm_space(&a, &dst, &room), EA_FRAME_ASM_MISUSE);
    assert_null(dst);
    assert_int_equal(room, 0);
    ea_frame_asm_free(&a);
    ea_frame_asm_free(NULL);
    assert_false(ea_frame_asm_idle(NULL));
}

static void a_kept_buffer_offers_only_the_shorter_frame(void **state)
{
    (void)state;
    /* a long frame, then a short one: the buffer kept from the first is larger than the
     * second, and the bytes after the second must still stay with the caller */
    uint8_t s[2 * EA_FRAME_HEADER_LEN + 600 + 3 + 4];
    size_t n = 0, used = 0;
    put_frame(s, &n, EA_FRAME_DATA, 600);
    put_frame(s, &n, EA_FRAME_DATA, 3);
    memcpy(s + n, "tail", 4);
    struct ea_frame_asm a;
    init(&a);
    assert_int_equal(ea_frame_asm_feed(&a, s, n + 4, &used), EA_FRAME_ASM_READY);
    expect_frame(&a, EA_FRAME_DATA, 600);
    size_t off = used;
    ea_frame_asm_next(&a);
    uint8_t *dst;
    size_t room;
    assert_int_equal(ea_frame_asm_feed(&a, s + off, EA_FRAME_HEADER_LEN, &used),
                     EA_FRAME_ASM_NEED_MORE);
    off += used;
    assert_int_equal(ea_frame_asm_space(&a, &dst, &room), EA_FRAME_ASM_NEED_MORE);
    assert_int_equal(room, 3);
    assert_true(a.cap >= 600);
    assert_int_equal(ea_frame_asm_commit(&a, 4), EA_FRAME_ASM_MISUSE);
    ea_frame_asm_free(&a);
    init(&a);
    assert_int_equal(ea_frame_asm_feed(&a, s, n + 4, &used), EA_FRAME_ASM_READY);
    ea_frame_asm_next(&a);
    off = used;
    assert_int_equal(ea_frame_asm_feed(&a, s + off, n + 4 - off, &used), EA_FRAME_ASM_READY);
    assert_int_equal(off + used, n); /* "tail" left untouched */
    expect_frame(&a, EA_FRAME_DATA, 3);
    ea_frame_asm_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_frame_in_one_feed),
        cmocka_unit_test(byte_by_byte_and_every_split),
        cmocka_unit_test(never_takes_a_byte_past_the_frame),
        cmocka_unit_test(growth_follows_the_bytes_received),
        cmocka_unit_test(header_errors_are_sticky),
        cmocka_unit_test(per_type_limits),
        cmocka_unit_test(idle_tells_clean_close_from_truncation),
        cmocka_unit_test(misuse_is_refused),
        cmocka_unit_test(a_kept_buffer_offers_only_the_shorter_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
