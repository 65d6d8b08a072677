/*
 * fuzz_probe_cert.c - libFuzzer harness for tether probe's certificate-extension scanner
 * (src/tls/probe.c): the DER/CBOR walker that looks for evidence inside an extension value,
 * and the certificate description built on it. Bounded, no crash, every blob found lies inside
 * the input, and the description of any certificate OpenSSL parses serialises.
 *
 * The input is tried twice: as an extension value, and as a DER certificate.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "tls/probe.h"

static void check_scan(const uint8_t *data, size_t size)
{
    struct probe_scan s;
    probe_scan_value(data, size, &s);
    if (s.n_blobs > PROBE_SCAN_MAX_BLOBS || s.n_tags > PROBE_SCAN_MAX_TAGS)
        abort();
    for (size_t i = 0; i < s.n_blobs; i++)
        if (s.blobs[i].p < data || s.blobs[i].n > size ||
            s.blobs[i].p + s.blobs[i].n > data + size || s.blobs[i].n < PROBE_SCAN_MIN_BLOB)
            abort();
    if (s.media_type[sizeof s.media_type - 1] != '\0')
        abort();
    const uint8_t *ev = NULL;
    size_t ev_len = 0;
    if (probe_scan_evidence(&s, &ev, &ev_len) && (ev < data || ev + ev_len > data + size))
        abort();
    for (size_t i = 0; i < s.n_tags; i++) {
        const char *name = NULL;
        (void)probe_cbor_tag_tee(s.tags[i], &name);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_scan(data, size);
    const unsigned char *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)size);
    if (x) {
        json_t *j = probe_cert_json(x);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (j && !s)
            abort(); /* every string in the description must be valid UTF-8 */
        free(s);
        json_decref(j);
        X509_free(x);
    }
    ERR_clear_error();
    return 0;
}
