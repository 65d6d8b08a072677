/*
 * fuzz_client_hello.c - libFuzzer harness for the ClientHello parser and the early exporter
 * over its bytes (src/binding/early_exporter.c), as ra-early-exporter uses them
 * (legacy_early_exporter in src/binding/legacy_binder.c).
 * Invariants: no crash, leak or read past the input; an accepted ClientHello has a session id
 * of at most 32 bytes, at least one cipher suite, at most 128 extensions, a server name inside
 * the input, and pre_shared_key only as its last extension; a refusal always says why; the
 * early exporter is computed for every accepted ClientHello without a PSK and is the same
 * when computed twice, and legacy_early_exporter agrees with tls13_early_exporter.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binding/early_exporter.h"
#include "binding/legacy_binder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    return p >= data && n <= size && (size_t)(p - data) <= size - n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct client_hello ch;
    const char *why = NULL;
    if (client_hello_parse(data, size, &ch, &why) != 0) {
        if (!why)
            abort();
        return 0;
    }
    if (why || ch.session_id_len > 32 || ch.n_cipher_suites == 0 || ch.n_extensions > 128 ||
        size < 4 || data[0] != 1 || size > CLIENT_HELLO_MAX ||
        (ch.server_name && (ch.server_name_len == 0 ||
                            !inside(ch.server_name, ch.server_name_len, data, size))))
        abort();
    uint8_t a[LEGACY_EE_LEN], b[LEGACY_EE_LEN];
    int rc = legacy_early_exporter(EVP_sha256(), data, size, a, &why);
    bool eligible = ch.offers_tls13 && !ch.has_pre_shared_key && !ch.has_early_data;
    if ((rc == 0) != eligible || (rc != 0 && !why))
        abort();
    if (rc == 0) {
        if (tls13_early_exporter(EVP_sha256(), NULL, 0, data, size, LEGACY_EE_LABEL,
                                 sizeof LEGACY_EE_LABEL - 1, NULL, 0, b, sizeof b) != 0 ||
            memcmp(a, b, sizeof a) != 0)
            abort();
    }
    return 0;
}
