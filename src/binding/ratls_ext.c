/*
 * ratls_ext.c - the interoperable RA-TLS extension value (ratls_ext.h). Sans-IO and bounded:
 * the whole value passes the strict CBOR check before any field is read, and the claims
 * buffer passes it again on its own. Must never accept a value that decodes two ways, and
 * never treat the claims as signed: they are side fields the caller compares with what the
 * hardware-signed report_data commits to.
 */
#include "binding/ratls_ext.h"

#include <string.h>

#include "util/cbor.h"
#include "util/util.h"

size_t ratls_hash_len(unsigned hash_alg)
{
    switch (hash_alg) {
    case RATLS_HASH_SHA256:
        return 32;
    case RATLS_HASH_SHA384:
        return 48;
    case RATLS_HASH_SHA512:
        return 64;
    default:
        return 0;
    }
}

#define CLAIM_PUBKEY_HASH "pubkey-hash"
#define CLAIM_NONCE "nonce"

int ratls_ext_encode(uint64_t tag, const uint8_t *evidence, size_t evidence_len,
                     const struct ratls_claims *c, struct bytes_writer *out)
{
    if (!evidence || evidence_len == 0 || !c || !c->has_pubkey_hash ||
        ratls_hash_len(c->hash_alg) != c->pubkey_hash_len ||
        (c->has_nonce && (c->nonce_len == 0 || c->nonce_len > RATLS_NONCE_MAX)))
        return -1;
    /* hash-entry = [alg-id, hash-value] (CoSWID), wrapped in a byte string. */
    struct bytes_writer he, claims;
    writer_init(&he, 128);
    writer_init(&claims, 512);
    bool ok = cbor_put_array(&he, 2) && cbor_put_uint(&he, c->hash_alg) &&
              cbor_put_bstr(&he, c->pubkey_hash, c->pubkey_hash_len) && !he.failed;
    ok = ok && cbor_put_map(&claims, c->has_nonce ? 2 : 1) &&
         cbor_put_tstr(&claims, CLAIM_PUBKEY_HASH) && cbor_put_bstr(&claims, he.data, he.len);
    if (ok && c->has_nonce)
        ok = cbor_put_tstr(&claims, CLAIM_NONCE) && cbor_put_bstr(&claims, c->nonce, c->nonce_len);
    ok = ok && !claims.failed;
    size_t mark = out->len;
    ok = ok && cbor_put_tag(out, tag) && cbor_put_array(out, 2) &&
         cbor_put_bstr(out, evidence, evidence_len) &&
         cbor_put_bstr(out, claims.data, claims.len) && !out->failed &&
         out->len - mark <= RATLS_EXT_MAX;
    writer_free(&he);
    writer_free(&claims);
    return ok ? 0 : -1;
}

/* The claims map: "pubkey-hash" required, "nonce" optional, anything else ignored. */
static int decode_claims(const uint8_t *buf, size_t len, struct ratls_claims *c, const char **why)
{
    const char *cw = NULL;
    if (cbor_check(buf, len, &cw) != 0)
        return parse_fail(why, "claims buffer is not strict CBOR");
    struct bytes_reader r;
    reader_init(&r, buf, len);
    uint64_t n;
    if (!cbor_read_map(&r, &n))
        return parse_fail(why, "claims buffer is not a map");
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *k, *v;
        size_t kn, vn;
        enum cbor_major m;
        uint64_t arg;
        struct bytes_reader peek = r;
        if (!cbor_read_head(&peek, &m, &arg))
            return parse_fail(why, "claims buffer truncated");
        if (m != CBOR_TSTR) {
            /* Claim names are text strings; a key of another type is some other claim. */
            if (!cbor_skip(&r) || !cbor_skip(&r))
                return parse_fail(why, "claims buffer truncated");
            continue;
        }
        if (!cbor_read_tstr(&r, &k, &kn))
            return parse_fail(why, "claims buffer truncated");
        bool is_hash = cbor_tstr_is(k, kn, CLAIM_PUBKEY_HASH);
        bool is_nonce = cbor_tstr_is(k, kn, CLAIM_NONCE);
        if (!is_hash && !is_nonce) {
            if (!cbor_skip(&r))
                return parse_fail(why, "claims buffer truncated");
            continue;
        }
        if (!cbor_read_bstr(&r, &v, &vn))
            return parse_fail(why, is_hash ? "\"pubkey-hash\" is not a byte string"
                                           : "\"nonce\" is not a byte string");
        if (is_nonce) {
            if (vn == 0 || vn > RATLS_NONCE_MAX)
                return parse_fail(why, "\"nonce\" is empty or longer than 64 bytes");
            memcpy(c->nonce, v, vn);
            c->nonce_len = vn;
            c->has_nonce = true;
            continue;
        }
        /* pubkey-hash-value: the encoded hash-entry [alg-id, hash-value], nothing after it. */
        if (cbor_check(v, vn, &cw) != 0)
            return parse_fail(why, "\"pubkey-hash\" is not strict CBOR");
        struct bytes_reader h;
        reader_init(&h, v, vn);
        uint64_t cnt, alg;
        const uint8_t *hv;
        size_t hn;
        if (!cbor_read_array(&h, &cnt) || cnt != 2 || !cbor_read_uint(&h, &alg) ||
            !cbor_read_bstr(&h, &hv, &hn) || !reader_done(&h))
            return parse_fail(why, "\"pubkey-hash\" is not [alg-id, hash-value]");
        size_t want = alg <= 0xff ? ratls_hash_len((unsigned)alg) : 0;
        if (want == 0)
            return parse_fail(why, "\"pubkey-hash\" uses an unsupported hash (need sha-256, "
                                   "sha-384 or sha-512: ids 1, 7, 8)");
        if (hn != want)
            return parse_fail(why, "\"pubkey-hash\" length does not match its algorithm");
        c->hash_alg = (unsigned)alg;
        memcpy(c->pubkey_hash, hv, hn);
        c->pubkey_hash_len = hn;
        c->has_pubkey_hash = true;
    }
    if (!reader_done(&r))
        return parse_fail(why, "claims buffer malformed");
    if (!c->has_pubkey_hash)
        return parse_fail(why, "claims lack the required \"pubkey-hash\"");
    return 0;
}

int ratls_ext_decode(const uint8_t *buf, size_t len, struct ratls_ext *out, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!out)
        return parse_fail(why, "no output");
    memset(out, 0, sizeof *out);
    if (!buf || len == 0)
        return parse_fail(why, "empty extension");
    if (len > RATLS_EXT_MAX)
        return parse_fail(why, "extension larger than 256 KiB");
    const char *cw = NULL;
    if (cbor_check(buf, len, &cw) != 0)
        return parse_fail(why, cw ? cw : "not strict CBOR");
    struct bytes_reader r;
    reader_init(&r, buf, len);
    uint64_t tag, n;
    if (!cbor_read_tag(&r, &tag))
        return parse_fail(why, "not a tagged CBOR item (the tag names the evidence format)");
    if (!cbor_read_array(&r, &n) || n != 2)
        return parse_fail(why, "the tagged item is not an array of two entries [evidence, claims]");
    if (!cbor_read_bstr(&r, &out->evidence, &out->evidence_len) || out->evidence_len == 0)
        return parse_fail(why, "evidence is not a non-empty byte string");
    if (!cbor_read_bstr(&r, &out->claims_buffer, &out->claims_buffer_len))
        return parse_fail(why, "claims buffer is not a byte string");
    if (!reader_done(&r))
        return parse_fail(why, "trailing data after the claims buffer");
    out->tag = tag;
    if (decode_claims(out->claims_buffer, out->claims_buffer_len, &out->claims, why) != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}
