/*
 * test_cbor.c - the strict CBOR profile (src/util/cbor.c), the interoperable RA-TLS extension
 * codec (src/binding/ratls_ext.c) and the legacy modes' report_data and SNI nonce carrier
 * (src/binding/legacy_binder.c): known answers, round trips, and malformed inputs that must be
 * refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "binding/legacy_binder.h"
#include "binding/ratls_ext.h"
#include "util/cbor.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static void ok(const uint8_t *p, size_t n)
{
    const char *why = NULL;
    int rc = cbor_check(p, n, &why);
    if (rc != 0)
        print_error("refused: %s\n", why);
    assert_int_equal(rc, 0);
}

static void bad(const uint8_t *p, size_t n)
{
    const char *why = NULL;
    assert_int_not_equal(cbor_check(p, n, &why), 0);
    assert_non_null(why);
}

/* ---- encoder ---- */

static void encoder_writes_shortest_arguments(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        uint8_t enc[9];
        size_t len;
    } kat[] = {
        {0, {0x00}, 1},
        {23, {0x17}, 1},
        {24, {0x18, 0x18}, 2},
        {255, {0x18, 0xff}, 2},
        {256, {0x19, 0x01, 0x00}, 3},
        {65535, {0x19, 0xff, 0xff}, 3},
        {65536, {0x1a, 0x00, 0x01, 0x00, 0x00}, 5},
        {0xffffffffull, {0x1a, 0xff, 0xff, 0xff, 0xff}, 5},
        {0x100000000ull, {0x1b, 0, 0, 0, 1, 0, 0, 0, 0}, 9},
        {UINT64_MAX, {0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        struct bytes_writer w;
        writer_init(&w, 64);
        assert_true(cbor_put_uint(&w, kat[i].v));
        assert_int_equal(w.len, kat[i].len);
        assert_memory_equal(w.data, kat[i].enc, kat[i].len);
        ok(w.data, w.len);
        struct bytes_reader r;
        uint64_t back = 0;
        reader_init(&r, w.data, w.len);
        assert_true(cbor_read_uint(&r, &back));
        assert_true(reader_done(&r));
        assert_true(back == kat[i].v);
        writer_free(&w);
    }
    /* Tags, strings, containers use the same heads. */
    struct bytes_writer w;
    writer_init(&w, 64);
    assert_true(cbor_put_tag(&w, RATLS_TAG_TETHER_SIM));
    assert_true(cbor_put_array(&w, 2));
    assert_true(cbor_put_bstr(&w, (const uint8_t *)"ab", 2));
    assert_true(cbor_put_tstr(&w, "xyz"));
    static const uint8_t want[] = {0xda, 'T', 'S', 'I', 'M', 0x82, 0x42, 'a', 'b', 0x63, 'x', 'y', 'z'};
    assert_int_equal(w.len, sizeof want);
    assert_memory_equal(w.data, want, sizeof want);
    ok(w.data, w.len);
    writer_free(&w);
}

/* ---- the strict profile ---- */

static void well_formed_items_are_accepted(void **state)
{
    (void)state;
    ok(B(0x00));
    ok(B(0x20));                         /* -1 */
    ok(B(0x40));                         /* h'' */
    ok(B(0x60));                         /* "" */
    ok(B(0x80));                         /* [] */
    ok(B(0xa0));                         /* {} */
    ok(B(0xf4));                         /* false */
    ok(B(0xf5));                         /* true */
    ok(B(0xf6));                         /* null */
    ok(B(0x63, 0xe2, 0x82, 0xac));       /* "€" */
    ok(B(0x64, 0xf0, 0x9f, 0x98, 0x80)); /* U+1F600 */
    ok(B(0xa2, 0x61, 'a', 0x01, 0x61, 'b', 0x02));
    ok(B(0xa2, 0x61, 'b', 0x01, 0x61, 'a', 0x02)); /* unsorted keys: allowed (rats-tls) */
    ok(B(0xa2, 0x01, 0x00, 0x21, 0x00));           /* 1 and -2 are different keys */
    ok(B(0xd8, 0x18, 0x41, 0x00));                 /* 24(h'00') */
    ok(B(0xc1, 0xc1, 0x00));                       /* nested tags */
    ok(B(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
}

static void non_canonical_or_indefinite_items_are_refused(void **state)
{
    (void)state;
    bad(NULL, 0);
    bad(B(0x18, 0x17));                   /* 23 in one extra byte */
    bad(B(0x19, 0x00, 0xff));             /* 255 in two */
    bad(B(0x1a, 0x00, 0x00, 0xff, 0xff)); /* 65535 in four */
    bad(B(0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff));
    bad(B(0x58, 0x01, 0x00));             /* 1-byte length written long */
    bad(B(0x98, 0x00));                   /* empty array, long count */
    bad(B(0xd8, 0x01, 0x00));             /* tag 1 written long */
    bad(B(0x1c));                         /* reserved additional information 28-30 */
    bad(B(0x1d));
    bad(B(0x1e));
    bad(B(0x5f, 0x41, 0x00, 0xff));       /* indefinite byte string */
    bad(B(0x7f, 0x61, 'a', 0xff));        /* indefinite text string */
    bad(B(0x9f, 0x00, 0xff));             /* indefinite array */
    bad(B(0xbf, 0x00, 0x00, 0xff));       /* indefinite map */
    bad(B(0xff));                         /* lone break */
    bad(B(0xf9, 0x00, 0x00));             /* half float */
    bad(B(0xfa, 0, 0, 0, 0));             /* float */
    bad(B(0xfb, 0, 0, 0, 0, 0, 0, 0, 0)); /* double */
    bad(B(0xf7));                         /* undefined */
    bad(B(0xf0));                         /* unassigned simple value */
    bad(B(0xf8, 0x20));                   /* one-byte simple value */
}

static void truncated_trailing_and_oversized_items_are_refused(void **state)
{
    (void)state;
    bad(B(0x00, 0x00));                   /* trailing byte */
    bad(B(0x80, 0x00));
    bad(B(0x42, 0x00));                   /* string shorter than its length */
    bad(B(0x19, 0x01));                   /* truncated argument */
    bad(B(0x82, 0x00));                   /* array missing an element */
    bad(B(0xa1, 0x00));                   /* map missing a value */
    bad(B(0xc1));                         /* tag without content */
    bad(B(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)); /* 2^64-1 bytes */
    bad(B(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00)); /* huge count */
    bad(B(0xbb, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00));
}

static void invalid_utf8_text_is_refused(void **state)
{
    (void)state;
    bad(B(0x61, 0x80));             /* lone continuation byte */
    bad(B(0x62, 0xc3, 0x28));       /* bad continuation */
    bad(B(0x62, 0xc0, 0x80));       /* overlong NUL */
    bad(B(0x63, 0xe0, 0x80, 0x80)); /* overlong */
    bad(B(0x63, 0xed, 0xa0, 0x80)); /* surrogate U+D800 */
    bad(B(0x64, 0xf4, 0x90, 0x80, 0x80)); /* above U+10FFFF */
    bad(B(0x61, 0xff));
    bad(B(0x62, 0xe2, 0x82));       /* truncated sequence */
    /* the same bytes are fine in a byte string */
    ok(B(0x42, 0xc3, 0x28));
}

static void duplicate_map_keys_are_refused(void **state)
{
    (void)state;
    bad(B(0xa2, 0x61, 'a', 0x00, 0x61, 'a', 0x01));
    bad(B(0xa2, 0x01, 0x00, 0x01, 0x00));
    bad(B(0xa2, 0x41, 0x00, 0x02, 0x41, 0x00, 0x03));
    bad(B(0xa3, 0x61, 'a', 0x00, 0x61, 'b', 0x00, 0x61, 'a', 0x00));
    /* a key that is itself a container */
    bad(B(0xa2, 0x81, 0x00, 0x00, 0x81, 0x00, 0x01));
    /* in a nested map */
    bad(B(0x81, 0xa2, 0x61, 'k', 0x00, 0x61, 'k', 0x00));
}

static void nesting_depth_is_bounded(void **state)
{
    (void)state;
    uint8_t buf[64];
    /* CBOR_MAX_DEPTH nested arrays around a 0: accepted; one more: refused. */
    for (size_t i = 0; i < CBOR_MAX_DEPTH; i++)
        buf[i] = 0x81;
    buf[CBOR_MAX_DEPTH] = 0x00;
    ok(buf, CBOR_MAX_DEPTH + 1);
    for (size_t i = 0; i <= CBOR_MAX_DEPTH; i++)
        buf[i] = 0x81;
    buf[CBOR_MAX_DEPTH + 1] = 0x00;
    bad(buf, CBOR_MAX_DEPTH + 2);
    /* tags and maps count too */
    for (size_t i = 0; i <= CBOR_MAX_DEPTH; i++)
        buf[i] = 0xc1;
    buf[CBOR_MAX_DEPTH + 1] = 0x00;
    bad(buf, CBOR_MAX_DEPTH + 2);
    for (size_t i = 0; i <= CBOR_MAX_DEPTH; i++)
        buf[2 * i] = 0xa1, buf[2 * i + 1] = 0x00;
    buf[2 * (CBOR_MAX_DEPTH + 1)] = 0x00;
    bad(buf, 2 * (CBOR_MAX_DEPTH + 1) + 1);
    /* cbor_skip has the same bound */
    for (size_t i = 0; i <= CBOR_MAX_DEPTH; i++)
        buf[i] = 0x81;
    buf[CBOR_MAX_DEPTH + 1] = 0x00;
    struct bytes_reader r;
    reader_init(&r, buf, CBOR_MAX_DEPTH + 2);
    assert_false(cbor_skip(&r));
}

static void maps_are_bounded_in_size(void **state)
{
    (void)state;
    size_t n = CBOR_MAP_MAX + 1;
    struct bytes_writer w;
    writer_init(&w, 8192);
    assert_true(cbor_put_map(&w, n));
    for (size_t i = 0; i < n; i++)
        assert_true(cbor_put_uint(&w, i) && cbor_put_uint(&w, 0));
    bad(w.data, w.len);
    writer_free(&w);
    writer_init(&w, 8192);
    assert_true(cbor_put_map(&w, CBOR_MAP_MAX));
    for (size_t i = 0; i < CBOR_MAP_MAX; i++)
        assert_true(cbor_put_uint(&w, i) && cbor_put_uint(&w, 0));
    ok(w.data, w.len);
    writer_free(&w);
}

static void pull_reader_refuses_wrong_types(void **state)
{
    (void)state;
    struct bytes_reader r;
    const uint8_t *p;
    size_t n;
    uint64_t v;
    reader_init(&r, B(0x61, 'a'));
    assert_false(cbor_read_bstr(&r, &p, &n));
    assert_true(r.failed);
    reader_init(&r, B(0x41, 'a'));
    assert_false(cbor_read_tstr(&r, &p, &n));
    reader_init(&r, B(0x20));
    assert_false(cbor_read_uint(&r, &v));
    reader_init(&r, B(0x80));
    assert_false(cbor_read_map(&r, &v));
    reader_init(&r, B(0xa0));
    assert_false(cbor_read_array(&r, &v));
    reader_init(&r, B(0x00));
    assert_false(cbor_read_tag(&r, &v));
    reader_init(&r, B(0x43, 'a', 'b')); /* longer than the input */
    assert_false(cbor_read_bstr(&r, &p, &n));
    /* a failed reader stays failed */
    assert_false(cbor_read_uint(&r, &v));
}

/* ---- the RA-TLS extension ---- */

static const uint8_t HASH32[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static struct ratls_claims claims_with(bool nonce)
{
    struct ratls_claims c;
    memset(&c, 0, sizeof c);
    c.has_pubkey_hash = true;
    c.hash_alg = RATLS_HASH_SHA256;
    memcpy(c.pubkey_hash, HASH32, 32);
    c.pubkey_hash_len = 32;
    if (nonce) {
        c.has_nonce = true;
        memset(c.nonce, 0xab, LEGACY_NONCE_LEN);
        c.nonce_len = LEGACY_NONCE_LEN;
    }
    return c;
}

static void extension_encoding_follows_interoperable_ra_tls_byte_for_byte(void **state)
{
    (void)state;
    struct ratls_claims c = claims_with(false);
    struct bytes_writer w;
    writer_init(&w, RATLS_EXT_MAX);
    static const uint8_t ev[] = {'T', 'S', 'I', 'M'};
    assert_int_equal(ratls_ext_encode(RATLS_TAG_TETHER_SIM, ev, sizeof ev, &c, &w), 0);
    /* TAG([h'TSIM', claims-buffer]), claims-buffer = {"pubkey-hash": h'82 01 58 20 <32>'}:
     * the layout of the Gramine, rats-tls and Intel SGX SDK certificates checked in by
     * CCC-Attestation/interoperable-ra-tls, with the private sim tag instead of 60000. */
    uint8_t want[128];
    size_t k = 0;
    const uint8_t head[] = {0xda, 0x54, 0x53, 0x49, 0x4d, 0x82, 0x44, 'T', 'S', 'I', 'M', 0x58, 0x33,
                            0xa1, 0x6b, 'p', 'u', 'b', 'k', 'e', 'y', '-', 'h', 'a', 's', 'h',
                            0x58, 0x24, 0x82, 0x01, 0x58, 0x20};
    memcpy(want, head, sizeof head);
    k = sizeof head;
    memcpy(want + k, HASH32, 32);
    k += 32;
    assert_int_equal(w.len, k);
    assert_memory_equal(w.data, want, k);
    struct ratls_ext e;
    const char *why = NULL;
    assert_int_equal(ratls_ext_decode(w.data, w.len, &e, &why), 0);
    assert_true(e.tag == RATLS_TAG_TETHER_SIM);
    assert_int_equal(e.evidence_len, sizeof ev);
    assert_memory_equal(e.evidence, ev, sizeof ev);
    assert_true(e.claims.has_pubkey_hash);
    assert_int_equal(e.claims.hash_alg, RATLS_HASH_SHA256);
    assert_memory_equal(e.claims.pubkey_hash, HASH32, 32);
    assert_false(e.claims.has_nonce);
    writer_free(&w);
}

static void extension_round_trips_with_nonce_and_every_hash(void **state)
{
    (void)state;
    static const unsigned algs[] = {RATLS_HASH_SHA256, RATLS_HASH_SHA384, RATLS_HASH_SHA512};
    uint8_t ev[700];
    for (size_t i = 0; i < sizeof ev; i++)
        ev[i] = (uint8_t)i;
    for (size_t a = 0; a < 3; a++) {
        struct ratls_claims c = claims_with(true);
        c.hash_alg = algs[a];
        c.pubkey_hash_len = ratls_hash_len(algs[a]);
        memset(c.pubkey_hash, 0x5a, c.pubkey_hash_len);
        struct bytes_writer w;
        writer_init(&w, RATLS_EXT_MAX);
        assert_int_equal(ratls_ext_encode(RATLS_TAG_INTEL_QUOTE, ev, sizeof ev, &c, &w), 0);
        struct ratls_ext e;
        const char *why = NULL;
        assert_int_equal(ratls_ext_decode(w.data, w.len, &e, &why), 0);
        assert_true(e.tag == RATLS_TAG_INTEL_QUOTE);
        assert_int_equal(e.evidence_len, sizeof ev);
        assert_int_equal(e.claims.hash_alg, algs[a]);
        assert_int_equal(e.claims.pubkey_hash_len, c.pubkey_hash_len);
        assert_true(e.claims.has_nonce);
        assert_int_equal(e.claims.nonce_len, LEGACY_NONCE_LEN);
        assert_memory_equal(e.claims.nonce, c.nonce, LEGACY_NONCE_LEN);
        /* every strict prefix is refused */
        for (size_t cut = 0; cut < w.len; cut++)
            assert_int_not_equal(ratls_ext_decode(w.data, cut, &e, &why), 0);
        writer_free(&w);
    }
}

static void encoder_refuses_incomplete_claims(void **state)
{
    (void)state;
    static const uint8_t ev[] = {1};
    struct bytes_writer w;
    writer_init(&w, RATLS_EXT_MAX);
    struct ratls_claims c = claims_with(false);
    c.has_pubkey_hash = false;
    assert_int_not_equal(ratls_ext_encode(1, ev, 1, &c, &w), 0);
    c = claims_with(false);
    c.hash_alg = 2; /* sha-256-128: not supported */
    assert_int_not_equal(ratls_ext_encode(1, ev, 1, &c, &w), 0);
    c = claims_with(false);
    c.pubkey_hash_len = 48;
    assert_int_not_equal(ratls_ext_encode(1, ev, 1, &c, &w), 0);
    c = claims_with(true);
    c.nonce_len = RATLS_NONCE_MAX + 1;
    assert_int_not_equal(ratls_ext_encode(1, ev, 1, &c, &w), 0);
    c = claims_with(false);
    assert_int_not_equal(ratls_ext_encode(1, NULL, 0, &c, &w), 0);
    writer_free(&w);
}

/* Build TAG(60000)([h'01', bstr(claims)]) around hand-made claims bytes. */
static int decode_with_claims(const uint8_t *claims, size_t n, struct ratls_ext *e)
{
    struct bytes_writer w;
    writer_init(&w, 4096);
    cbor_put_tag(&w, RATLS_TAG_INTEL_QUOTE);
    cbor_put_array(&w, 2);
    cbor_put_bstr(&w, (const uint8_t *)"\x01", 1);
    cbor_put_bstr(&w, claims, n);
    const char *why = NULL;
    int rc = ratls_ext_decode(w.data, w.len, e, &why);
    writer_free(&w);
    return rc;
}

#define PKH 0x6b, 'p', 'u', 'b', 'k', 'e', 'y', '-', 'h', 'a', 's', 'h'
#define H32 0x58, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, \
            21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32

static void unknown_claims_are_ignored_as_the_specification_requires(void **state)
{
    (void)state;
    struct ratls_ext e;
    /* rats-tls adds its own claims ("key_0": h'value_0\0'); integer keys are other claims */
    static const uint8_t c1[] = {0xa3, PKH, 0x58, 0x24, 0x82, 0x01, H32,
                                 0x65, 'k', 'e', 'y', '_', '0', 0x48, 'v', 'a', 'l', 'u', 'e', '_', '0', 0,
                                 0x01, 0x82, 0xf5, 0xf6};
    assert_int_equal(decode_with_claims(c1, sizeof c1, &e), 0);
    assert_true(e.claims.has_pubkey_hash);
    assert_false(e.claims.has_nonce);
}

static void malformed_claims_are_refused(void **state)
{
    (void)state;
    struct ratls_ext e;
    /* no pubkey-hash */
    static const uint8_t c0[] = {0xa1, 0x65, 'n', 'o', 'n', 'c', 'e', 0x41, 0x00};
    assert_int_not_equal(decode_with_claims(c0, sizeof c0, &e), 0);
    /* not a map */
    static const uint8_t c1[] = {0x80};
    assert_int_not_equal(decode_with_claims(c1, sizeof c1, &e), 0);
    /* pubkey-hash as a plain array instead of a byte string holding one */
    static const uint8_t c2[] = {0xa1, PKH, 0x82, 0x01, H32};
    assert_int_not_equal(decode_with_claims(c2, sizeof c2, &e), 0);
    /* unsupported algorithm id 2 (sha-256-128) */
    static const uint8_t c3[] = {0xa1, PKH, 0x58, 0x24, 0x82, 0x02, H32};
    assert_int_not_equal(decode_with_claims(c3, sizeof c3, &e), 0);
    /* sha-384 id with a 32-byte hash */
    static const uint8_t c4[] = {0xa1, PKH, 0x58, 0x24, 0x82, 0x07, H32};
    assert_int_not_equal(decode_with_claims(c4, sizeof c4, &e), 0);
    /* hash-entry with a third element */
    static const uint8_t c5[] = {0xa1, PKH, 0x58, 0x25, 0x83, 0x01, H32, 0x00};
    assert_int_not_equal(decode_with_claims(c5, sizeof c5, &e), 0);
    /* trailing byte inside the pubkey-hash byte string */
    static const uint8_t c6[] = {0xa1, PKH, 0x58, 0x25, 0x82, 0x01, H32, 0x00};
    assert_int_not_equal(decode_with_claims(c6, sizeof c6, &e), 0);
    /* duplicate pubkey-hash */
    static const uint8_t c7[] = {0xa2, PKH, 0x58, 0x24, 0x82, 0x01, H32, PKH, 0x58, 0x24, 0x82, 0x01, H32};
    assert_int_not_equal(decode_with_claims(c7, sizeof c7, &e), 0);
    /* nonce as text, empty nonce, 65-byte nonce */
    static const uint8_t c8[] = {0xa2, PKH, 0x58, 0x24, 0x82, 0x01, H32, 0x65, 'n', 'o', 'n', 'c', 'e', 0x61, 'x'};
    assert_int_not_equal(decode_with_claims(c8, sizeof c8, &e), 0);
    static const uint8_t c9[] = {0xa2, PKH, 0x58, 0x24, 0x82, 0x01, H32, 0x65, 'n', 'o', 'n', 'c', 'e', 0x40};
    assert_int_not_equal(decode_with_claims(c9, sizeof c9, &e), 0);
    uint8_t c10[200];
    size_t k = 0;
    static const uint8_t pre[] = {0xa2, PKH, 0x58, 0x24, 0x82, 0x01, H32, 0x65, 'n', 'o', 'n', 'c', 'e', 0x58, 65};
    memcpy(c10, pre, sizeof pre);
    k = sizeof pre;
    memset(c10 + k, 7, 65);
    k += 65;
    assert_int_not_equal(decode_with_claims(c10, k, &e), 0);
    c10[sizeof pre - 1] = 64; /* 64 bytes is the limit */
    assert_int_equal(decode_with_claims(c10, k - 1, &e), 0);
    assert_int_equal(e.claims.nonce_len, 64);
    /* trailing bytes after the claims map */
    static const uint8_t c11[] = {0xa1, PKH, 0x58, 0x24, 0x82, 0x01, H32, 0x00};
    assert_int_not_equal(decode_with_claims(c11, sizeof c11, &e), 0);
}

static void malformed_extension_envelopes_are_refused(void **state)
{
    (void)state;
    struct ratls_ext e;
    const char *why = NULL;
    /* untagged array */
    static const uint8_t x1[] = {0x82, 0x41, 0x01, 0x41, 0xa0};
    assert_int_not_equal(ratls_ext_decode(x1, sizeof x1, &e, &why), 0);
    /* tagged, but three entries (endorsements do not belong here) */
    static const uint8_t x2[] = {0xc1, 0x83, 0x41, 0x01, 0x41, 0xa0, 0x41, 0x00};
    assert_int_not_equal(ratls_ext_decode(x2, sizeof x2, &e, &why), 0);
    /* empty evidence */
    static const uint8_t x3[] = {0xc1, 0x82, 0x40, 0x41, 0xa0};
    assert_int_not_equal(ratls_ext_decode(x3, sizeof x3, &e, &why), 0);
    /* evidence as text */
    static const uint8_t x4[] = {0xc1, 0x82, 0x61, 'a', 0x41, 0xa0};
    assert_int_not_equal(ratls_ext_decode(x4, sizeof x4, &e, &why), 0);
    /* claims as a map instead of a byte string holding one */
    static const uint8_t x5[] = {0xc1, 0x82, 0x41, 0x01, 0xa0};
    assert_int_not_equal(ratls_ext_decode(x5, sizeof x5, &e, &why), 0);
    /* two tags */
    static const uint8_t x6[] = {0xc1, 0xc1, 0x82, 0x41, 0x01, 0x41, 0xa0};
    assert_int_not_equal(ratls_ext_decode(x6, sizeof x6, &e, &why), 0);
    /* a good value followed by a byte */
    struct ratls_claims c = claims_with(true);
    struct bytes_writer w;
    writer_init(&w, RATLS_EXT_MAX);
    assert_int_equal(ratls_ext_encode(7, (const uint8_t *)"e", 1, &c, &w), 0);
    writer_u8(&w, 0x00);
    assert_int_not_equal(ratls_ext_decode(w.data, w.len, &e, &why), 0);
    assert_non_null(why);
    /* indefinite-length evidence string: another reading of the same bytes */
    w.len -= 1;
    assert_int_equal(ratls_ext_decode(w.data, w.len, &e, &why), 0);
    writer_free(&w);
    static const uint8_t x7[] = {0xc1, 0x82, 0x5f, 0x41, 0x01, 0xff, 0x41, 0xa0};
    assert_int_not_equal(ratls_ext_decode(x7, sizeof x7, &e, &why), 0);
    /* empty and oversized inputs */
    assert_int_not_equal(ratls_ext_decode(NULL, 0, &e, &why), 0);
    uint8_t *big = calloc(1, RATLS_EXT_MAX + 1);
    assert_int_not_equal(ratls_ext_decode(big, RATLS_EXT_MAX + 1, &e, &why), 0);
    free(big);
}

/* ---- legacy modes: report_data and the SNI carrier ---- */

static void digest(const EVP_MD *md, const void *a, size_t an, const void *b, size_t bn,
                   uint8_t *out)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int l;
    EVP_DigestInit_ex(c, md, NULL);
    EVP_DigestUpdate(c, a, an);
    if (bn)
        EVP_DigestUpdate(c, b, bn);
    EVP_DigestFinal_ex(c, out, &l);
    EVP_MD_CTX_free(c);
}

static void legacy_report_data_follows_each_mode_formula(void **state)
{
    (void)state;
    uint8_t spki[91], nonce[LEGACY_NONCE_LEN], want[64], want_kh[32];
    memset(spki, 0x30, sizeof spki);
    memset(nonce, 0x4e, sizeof nonce);
    struct binder b;

    assert_int_equal(legacy_binder_compute(LEGACY_RA_KEY, spki, sizeof spki, NULL, 0, &b), 0);
    digest(EVP_sha512(), spki, sizeof spki, NULL, 0, want);
    digest(EVP_sha256(), spki, sizeof spki, NULL, 0, want_kh);
    assert_memory_equal(b.report_data, want, 64);
    assert_int_equal(b.hash_len, 32);
    assert_memory_equal(b.aik_pub_hash, want_kh, 32);

    assert_int_equal(legacy_binder_compute(LEGACY_RA_KEY_NONCE, spki, sizeof spki, nonce,
                                           sizeof nonce, &b), 0);
    digest(EVP_sha512(), spki, sizeof spki, nonce, sizeof nonce, want);
    assert_memory_equal(b.report_data, want, 64);
    assert_memory_equal(b.aik_pub_hash, want_kh, 32);

    /* ra-nonce: the key does not enter at all */
    assert_int_equal(legacy_binder_compute(LEGACY_RA_NONCE, NULL, 0, nonce, sizeof nonce, &b), 0);
    digest(EVP_sha512(), "tether-ra-nonce", 15, nonce, sizeof nonce, want);
    assert_memory_equal(b.report_data, want, 64);
    struct binder b2;
    assert_int_equal(legacy_binder_compute(LEGACY_RA_NONCE, spki, sizeof spki, nonce,
                                           sizeof nonce, &b2), 0);
    assert_memory_equal(b.report_data, b2.report_data, 64);
    assert_memory_equal(b.aik_pub_hash, b2.aik_pub_hash, 32);

    /* missing inputs fail instead of producing a value over nothing */
    assert_int_not_equal(legacy_binder_compute(LEGACY_RA_KEY, NULL, 0, NULL, 0, &b), 0);
    assert_int_not_equal(legacy_binder_compute(LEGACY_RA_KEY_NONCE, spki, sizeof spki, NULL, 0, &b), 0);
    assert_int_not_equal(legacy_binder_compute(LEGACY_RA_KEY_NONCE, spki, sizeof spki, nonce, 16, &b), 0);
    assert_int_not_equal(legacy_binder_compute(LEGACY_RA_NONCE, spki, sizeof spki, NULL, 0, &b), 0);
    assert_int_not_equal(legacy_binder_compute(LEGACY_NONE, spki, sizeof spki, nonce, sizeof nonce, &b), 0);
}

static void legacy_mode_names_and_sni_nonce_carrier(void **state)
{
    (void)state;
    enum legacy_mode m;
    assert_int_equal(legacy_mode_parse(NULL, &m), 0);
    assert_int_equal(m, LEGACY_NONE);
    assert_int_equal(legacy_mode_parse("tether", &m), 0);
    assert_int_equal(m, LEGACY_NONE);
    assert_int_equal(legacy_mode_parse("ra-nonce", &m), 0);
    assert_int_equal(m, LEGACY_RA_NONCE);
    assert_int_equal(legacy_mode_parse("ra-key", &m), 0);
    assert_int_equal(m, LEGACY_RA_KEY);
    assert_int_equal(legacy_mode_parse("ra-key-nonce", &m), 0);
    assert_int_equal(m, LEGACY_RA_KEY_NONCE);
    assert_int_equal(legacy_mode_parse("ra-early-exporter", &m), 0);
    assert_int_equal(m, LEGACY_RA_EARLY_EXPORTER);
    assert_string_equal(legacy_mode_name(LEGACY_RA_EARLY_EXPORTER), "ra-early-exporter");
    assert_int_equal(legacy_mode_parse("RA-KEY", &m), -1);
    assert_int_equal(legacy_mode_parse("", &m), -1);
    assert_string_equal(legacy_mode_name(LEGACY_RA_KEY_NONCE), "ra-key-nonce");

    uint8_t n[LEGACY_NONCE_LEN], back[LEGACY_NONCE_LEN];
    for (size_t i = 0; i < sizeof n; i++)
        n[i] = (uint8_t)(i * 7 + 1);
    char sni[LEGACY_SNI_LEN + 1];
    legacy_sni_encode(n, sni);
    assert_int_equal(strlen(sni), 70);
    assert_string_equal(sni + 64, ".nonce");
    assert_int_equal(legacy_sni_decode(sni, back), 0);
    assert_memory_equal(back, n, sizeof n);
    for (size_t i = 0; i < 64; i++)
        if (sni[i] >= 'a' && sni[i] <= 'f')
            sni[i] = (char)(sni[i] - 'a' + 'A');
    assert_int_equal(legacy_sni_decode(sni, back), 0); /* DNS names are case-insensitive */
    assert_memory_equal(back, n, sizeof n);
    char tmp[128];
    assert_int_not_equal(legacy_sni_decode(NULL, back), 0);
    assert_int_not_equal(legacy_sni_decode("example.com", back), 0);
    snprintf(tmp, sizeof tmp, "%.64s.nonce.", sni);
    assert_int_not_equal(legacy_sni_decode(tmp, back), 0);
    snprintf(tmp, sizeof tmp, "%.62s.nonce", sni); /* 31 bytes */
    assert_int_not_equal(legacy_sni_decode(tmp, back), 0);
    snprintf(tmp, sizeof tmp, "%.64s.NONCE", sni);
    assert_int_not_equal(legacy_sni_decode(tmp, back), 0);
    snprintf(tmp, sizeof tmp, "g%.63s.nonce", sni + 1);
    assert_int_not_equal(legacy_sni_decode(tmp, back), 0);
    snprintf(tmp, sizeof tmp, "%.64s.nonce", sni);
    assert_int_equal(legacy_sni_decode(tmp, back), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encoder_writes_shortest_arguments),
        cmocka_unit_test(well_formed_items_are_accepted),
        cmocka_unit_test(non_canonical_or_indefinite_items_are_refused),
        cmocka_unit_test(truncated_trailing_and_oversized_items_are_refused),
        cmocka_unit_test(invalid_utf8_text_is_refused),
        cmocka_unit_test(duplicate_map_keys_are_refused),
        cmocka_unit_test(nesting_depth_is_bounded),
        cmocka_unit_test(maps_are_bounded_in_size),
        cmocka_unit_test(pull_reader_refuses_wrong_types),
        cmocka_unit_test(extension_encoding_follows_interoperable_ra_tls_byte_for_byte),
        cmocka_unit_test(extension_round_trips_with_nonce_and_every_hash),
        cmocka_unit_test(encoder_refuses_incomplete_claims),
        cmocka_unit_test(unknown_claims_are_ignored_as_the_specification_requires),
        cmocka_unit_test(malformed_claims_are_refused),
        cmocka_unit_test(malformed_extension_envelopes_are_refused),
        cmocka_unit_test(legacy_report_data_follows_each_mode_formula),
        cmocka_unit_test(legacy_mode_names_and_sni_nonce_carrier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
