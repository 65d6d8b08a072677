/*
 * fuzz_ea_frame.c - libFuzzer harness for the frame header: reads the input as a stream of
 * frames the way a receiver does (5-byte header, then exactly `length` payload bytes) and
 * hands request payloads to the request parser.
 * Invariants: an accepted header has type 1..3 and length <= 16 MiB, and writing it back
 * gives the same five bytes. Must never crash, leak or read past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ea/ea.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bytes_reader r;
    reader_init(&r, data, size);
    while (reader_remaining(&r) >= EA_FRAME_HEADER_LEN) {
        uint8_t hdr[EA_FRAME_HEADER_LEN], again[EA_FRAME_HEADER_LEN], type = 0;
        uint32_t len = 0;
        const uint8_t *payload;
        if (!reader_copy(&r, hdr, sizeof hdr) || ea_frame_header_parse(hdr, &type, &len) != 0)
            break;
        if (type < EA_FRAME_REQUEST || type > EA_FRAME_DATA || len > EA_FRAME_MAX_PAYLOAD)
            abort();
        ea_frame_header_write(again, type, len);
        if (memcmp(again, hdr, sizeof hdr) != 0)
            abort();
        if (!reader_bytes(&r, len, &payload))
            break; /* a short read: the receiver would wait for more */
        if (type == EA_FRAME_REQUEST) {
            struct ea_request req;
            enum ea_error e;
            (void)ea_request_parse(payload, len, &req, &e);
        }
    }
    return 0;
}
