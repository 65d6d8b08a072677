/*
 * frame.c - the Cocos aTLS v2 frame header ([type u8][length u32 BE], cocos-ea-wire.md 4.2)
 * and the stable strings of enum ea_error.
 *
 * Must never accept a header whose length exceeds EA_FRAME_MAX_PAYLOAD or whose type is not
 * one of the three known frame types: the caller allocates the payload from this length.
 */
#include "ea/ea.h"

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
