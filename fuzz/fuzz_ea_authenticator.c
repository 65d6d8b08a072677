/*
 * fuzz_ea_authenticator.c - libFuzzer harness for ea_authenticator_validate (input: an
 * authenticator, Certificate || CertificateVerify || Finished; a leading type-2 frame header
 * whose length matches is stripped, so captured .frame files are valid seeds).
 *
 * Every input is validated against four fixed connections: the two Cocos captures (request
 * and exporters from ../shared/vectors/ea-cocos, so their authenticators validate fully) and
 * a tether request (0x0403, 0x0807, 0x0503, 0x0804; cmw and framing offered) under SHA-256 and
 * SHA-384 with fixed exporters (seeds built with them validate fully too). A validated
 * authenticator's cmw is handed to the payload parser.
 * Invariants: success means a leaf, an SPKI and n_certs >= 1; failure leaves nothing owned.
 * Must never crash, leak or read past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ea/ea.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_connection {
    const char *request_hex; /* NULL: the tether request below */
    const char *hc_hex, *fk_hex;
    int sha384;
    struct ea_exporters x;
    uint8_t request_msg[512];
    size_t request_len;
    struct ea_request request;
};

static struct fuzz_connection connections[] = {
    {/* Cocos capture, TLS_AES_128_GCM_SHA256 */
     .request_hex = "1100002f20e6fd8cd32f20f5c700fb29a53a5bb49c2de904189d59b263a8a45307f4c889b6"
                    "000c000d000400020403ff000000",
     .hc_hex = "0e213487c568a90009a112213c849a7b1419554eaa552b8e7b03e0e796af7ee0",
     .fk_hex = "ee5151a120094333b5a3a9a042bae390d370d9470cc19b7def8c9e24cda2f67f"},
    {/* Cocos capture, TLS_AES_256_GCM_SHA384 */
     .request_hex = "1100002f20cfade5c0f704626f07b9b0393a8ee205a6bb06589c13986e82ac5b028b7d305e"
                    "000c000d000400020403ff000000",
     .hc_hex = "1c5f6465077ed6e0fabf26a4a167436ecb0e21ab93062f8db5b4cafd03f4f02e518461816a82"
               "7998ba392c674805ca7a",
     .fk_hex = "07c29d4e72c1ba89d601b7393db7bb89d145ed57e50bd51687f5bbe39960fda69d9e2bdb4f78"
               "77da8055d568db4cf65e",
     .sha384 = 1},
    {.sha384 = 0}, /* tether request, SHA-256 */
    {.sha384 = 1}, /* tether request, SHA-384 */
};
#define N_CONNECTIONS (sizeof connections / sizeof connections[0])

/* The tether request: fixed context, four schemes, cmw and framing offered. */
static void tether_request(struct ea_request *r)
{
    static const uint16_t algs[] = {EA_SIG_ECDSA_P256_SHA256, EA_SIG_ED25519,
                                    EA_SIG_ECDSA_P384_SHA384, EA_SIG_RSA_PSS_RSAE_SHA256};
    memset(r, 0, sizeof *r);
    r->msg_type = EA_HS_CLIENT_CERTIFICATE_REQUEST;
    r->context_len = 32;
    for (size_t i = 0; i < r->context_len; i++)
        r->context[i] = (uint8_t)(0xc0 + i);
    memcpy(r->sigalgs, algs, sizeof algs);
    r->n_sigalgs = sizeof algs / sizeof algs[0];
    r->cmw_offered = true;
    r->framing_offered = true;
}

static void fuzz_connections_init(void)
{
    static int done;
    if (done)
        return;
    for (size_t i = 0; i < N_CONNECTIONS; i++) {
        struct fuzz_connection *c = &connections[i];
        size_t n = 0;
        c->x.md = c->sha384 ? EVP_sha384() : EVP_sha256();
        c->x.hash_len = c->sha384 ? 48 : 32;
        if (c->request_hex) {
            if (hex_decode(c->request_hex, c->request_msg, sizeof c->request_msg,
                           &c->request_len) != 0 ||
                hex_decode(c->hc_hex, c->x.hc, sizeof c->x.hc, &n) != 0 ||
                hex_decode(c->fk_hex, c->x.fk, sizeof c->x.fk, &n) != 0)
                abort();
        } else {
            struct ea_request r;
            struct bytes_writer w;
            tether_request(&r);
            writer_init(&w, sizeof c->request_msg);
            if (ea_request_encode(&r, &w) != 0)
                abort();
            memcpy(c->request_msg, w.data, w.len);
            c->request_len = w.len;
            writer_free(&w);
            for (size_t k = 0; k < c->x.hash_len; k++) {
                c->x.hc[k] = (uint8_t)(0x11 * (k + 1));
                c->x.fk[k] = (uint8_t)(0xa5 ^ k);
            }
        }
        enum ea_error e;
        if (ea_request_parse(c->request_msg, c->request_len, &c->request, &e) != 0)
            abort();
    }
    done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_connections_init();
    struct bytes_reader r;
    uint8_t type;
    uint32_t len;
    reader_init(&r, data, size);
    if (size >= EA_FRAME_HEADER_LEN && ea_frame_header_parse(data, &type, &len) == 0 &&
        type == EA_FRAME_AUTHENTICATOR && len == size - EA_FRAME_HEADER_LEN) {
        const uint8_t *skip;
        reader_bytes(&r, EA_FRAME_HEADER_LEN, &skip);
        reader_bytes(&r, len, &data);
        size = len;
    }
    /* require_cmw alternates, so both the attesting and the plain paths are exercised. */
    for (size_t i = 0; i < N_CONNECTIONS; i++) {
        struct fuzz_connection *c = &connections[i];
        struct ea_authenticator a;
        enum ea_error e = EA_OK;
        int rc = ea_authenticator_validate(&c->x, c->request_msg, c->request_len, &c->request, data,
                                           size, i % 2 == 0, &a, &e);
        if (rc != 0) {
            if (e == EA_OK || a.spki || a.cert_der)
                abort();
            continue;
        }
        if (e != EA_OK || !a.cert_der || !a.spki || a.n_certs == 0)
            abort();
        if (a.cmw) {
            struct ea_payload p;
            const char *why;
            if (ea_payload_parse(a.cmw, a.cmw_len, &p, &why) == 0)
                ea_payload_clear(&p);
        }
        ea_authenticator_clear(&a);
    }
    return 0;
}
