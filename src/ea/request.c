/*
 * request.c - the AuthenticatorRequest (RFC 9261 4): a TLS 1.3 CertificateRequest (13) or
 * ClientCertificateRequest (17) handshake message, encoded and parsed through the bounded
 * cursors of util/bytes.h. Wire form as deployed by Cocos: cocos-ea-wire.md 4.3.
 *
 * Must never read outside the given buffer, accept trailing bytes, accept a duplicated
 * extension, or accept a request without a well-formed signature_algorithms extension.
 */
#include <string.h>

#include "ea/ea.h"

/* ---- encoding ---- */

static void write_empty_extension(struct bytes_writer *w, uint16_t type)
{
    writer_u16(w, type);
    writer_u16(w, 0);
}

int ea_request_encode(const struct ea_request *req, struct bytes_writer *out)
{
    if (!req || !out || out->failed)
        return -1;
    if (req->msg_type != EA_HS_CERTIFICATE_REQUEST &&
        req->msg_type != EA_HS_CLIENT_CERTIFICATE_REQUEST)
        return -1;
    /* RFC 9261 4: "The signature_algorithms extension MUST be specified." */
    if (req->context_len > EA_CONTEXT_MAX || req->n_sigalgs == 0 || req->n_sigalgs > EA_MAX_SIGALGS)
        return -1;

    writer_u8(out, req->msg_type);
    size_t body = writer_vec_begin(out, 3);
    /* opaque certificate_request_context<0..2^8-1> */
    size_t ctx = writer_vec_begin(out, 1);
    writer_bytes(out, req->context, req->context_len);
    writer_vec_end(out, ctx, 1);
    /* Extension extensions<2..2^16-1>, in the order Cocos sends them. */
    size_t exts = writer_vec_begin(out, 2);
    writer_u16(out, EA_EXT_SIGNATURE_ALGORITHMS);
    size_t ext_data = writer_vec_begin(out, 2);
    size_t list = writer_vec_begin(out, 2);
    for (size_t i = 0; i < req->n_sigalgs; i++)
        writer_u16(out, req->sigalgs[i]);
    writer_vec_end(out, list, 2);
    writer_vec_end(out, ext_data, 2);
    if (req->cmw_offered)
        write_empty_extension(out, EA_EXT_CMW_ATTESTATION);
    if (req->framing_offered)
        write_empty_extension(out, EA_EXT_TETHER_FRAMING);
    writer_vec_end(out, exts, 2);
    writer_vec_end(out, body, 3);
    return out->failed ? -1 : 0;
}

/* ---- parsing ---- */

/* SignatureSchemeList: supported_signature_algorithms<2..2^16-2> (RFC 8446 4.2.3). */
static bool parse_signature_algorithms(const uint8_t *data, size_t len, struct ea_request *out)
{
    struct bytes_reader r, list;
    reader_init(&r, data, len);
    if (!reader_sub(&r, 2, &list) || !reader_done(&r))
        return false;
    size_t n = reader_remaining(&list);
    if (n == 0 || n % 2 != 0)
        return false;
    out->n_sigalgs = 0;
    while (reader_remaining(&list) > 0) {
        uint16_t scheme;
        if (!reader_u16(&list, &scheme))
            return false;
        /* Keep the peer's order; schemes beyond EA_MAX_SIGALGS are dropped. */
        if (out->n_sigalgs < EA_MAX_SIGALGS)
            out->sigalgs[out->n_sigalgs++] = scheme;
    }
    return reader_done(&list);
}

static bool parse_request(const uint8_t *msg, size_t len, struct ea_request *out)
{
    struct bytes_reader r, body, exts;
    uint8_t ctx_len;
    /* One bit per extension type: RFC 8446 4.2 "There MUST NOT be more than one extension of
     * the same type in a given extension block." 8 KiB, so duplicate detection stays linear. */
    uint8_t seen[65536 / 8];
    bool have_sigalgs = false;

    reader_init(&r, msg, len);
    if (!reader_u8(&r, &out->msg_type) || !reader_sub(&r, 3, &body) || !reader_done(&r))
        return false; /* the whole buffer is exactly one handshake message */
    if (out->msg_type != EA_HS_CERTIFICATE_REQUEST &&
        out->msg_type != EA_HS_CLIENT_CERTIFICATE_REQUEST)
        return false;
    /* opaque certificate_request_context<0..2^8-1>: a u8 length always fits context[255]. */
    if (!reader_u8(&body, &ctx_len) || !reader_copy(&body, out->context, ctx_len) ||
        !reader_sub(&body, 2, &exts) || !reader_done(&body))
        return false;
    out->context_len = ctx_len;

    memset(seen, 0, sizeof seen);
    while (reader_remaining(&exts) > 0) {
        uint16_t type;
        const uint8_t *data;
        size_t data_len;
        if (!reader_u16(&exts, &type) || !reader_vec(&exts, 2, &data, &data_len))
            return false;
        if (seen[type / 8] & (1u << (type % 8)))
            return false;
        seen[type / 8] |= (uint8_t)(1u << (type % 8));
        switch (type) {
        case EA_EXT_SIGNATURE_ALGORITHMS:
            if (!parse_signature_algorithms(data, data_len, out))
                return false;
            have_sigalgs = true;
            break;
        case EA_EXT_CMW_ATTESTATION: /* an offer: its data is empty (cocos-ea-wire.md 4.3) */
            if (data_len != 0)
                return false;
            out->cmw_offered = true;
            break;
        case EA_EXT_TETHER_FRAMING:
            if (data_len != 0)
                return false;
            out->framing_offered = true;
            break;
        default: /* RFC 8446 4.2: unrecognised extensions are ignored */
            break;
        }
    }
    /* RFC 9261 4: "The signature_algorithms extension MUST be specified." */
    return reader_done(&exts) && have_sigalgs;
}

int ea_request_parse(const uint8_t *msg, size_t len, struct ea_request *out, enum ea_error *err)
{
    enum ea_error dummy;
    if (!err)
        err = &dummy;
    if (!out) {
        *err = EA_ERR_INTERNAL;
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (!msg || !parse_request(msg, len, out)) {
        memset(out, 0, sizeof *out);
        *err = EA_ERR_MALFORMED;
        return -1;
    }
    *err = EA_OK;
    return 0;
}

int ea_choose_sigalg(const struct ea_request *req, uint16_t *sigalg)
{
    if (!req || !sigalg || req->n_sigalgs > EA_MAX_SIGALGS)
        return -1;
    /* The peer's preference order wins; we can mint a fresh key for any of these three. */
    for (size_t i = 0; i < req->n_sigalgs; i++) {
        switch (req->sigalgs[i]) {
        case EA_SIG_ECDSA_P256_SHA256:
        case EA_SIG_ECDSA_P384_SHA384:
        case EA_SIG_ED25519:
            *sigalg = req->sigalgs[i];
            return 0;
        default:
            break;
        }
    }
    return -1;
}
