/*
 * fuzz_ea_request.c - libFuzzer harness for ea_request_parse (input: one AuthenticatorRequest
 * handshake message, without the frame header).
 * Invariants: whatever parses re-encodes, and the re-encoding parses to the same request
 * (parse . encode . parse == parse); ea_choose_sigalg only returns an offered scheme.
 * Must never crash, leak or read past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ea/ea.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_request(const struct ea_request *a, const struct ea_request *b)
{
    return a->msg_type == b->msg_type && a->context_len == b->context_len &&
           memcmp(a->context, b->context, a->context_len) == 0 && a->n_sigalgs == b->n_sigalgs &&
           memcmp(a->sigalgs, b->sigalgs, a->n_sigalgs * sizeof a->sigalgs[0]) == 0 &&
           a->cmw_offered == b->cmw_offered && a->framing_offered == b->framing_offered;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ea_request req, back;
    enum ea_error e = EA_OK;
    if (ea_request_parse(data, size, &req, &e) != 0) {
        if (e == EA_OK)
            abort();
        return 0;
    }
    if (req.n_sigalgs == 0 || req.n_sigalgs > EA_MAX_SIGALGS || req.context_len > EA_CONTEXT_MAX)
        abort();
    uint16_t chosen;
    if (ea_choose_sigalg(&req, &chosen) == 0) {
        bool offered = false;
        for (size_t i = 0; i < req.n_sigalgs; i++)
            offered |= req.sigalgs[i] == chosen;
        if (!offered)
            abort();
    }
    struct bytes_writer w;
    writer_init(&w, 1 << 16);
    if (ea_request_encode(&req, &w) != 0)
        abort();
    if (ea_request_parse(w.data, w.len, &back, &e) != 0 || !same_request(&req, &back))
        abort();
    writer_free(&w);
    return 0;
}
