/*
 * fuzz_gce_attestation.c - libFuzzer harness for Google Cloud vTPM evidence
 * (src/evidence/tpm/gce.c, and its verification in src/evidence/tpm/tpm_verify.c):
 *   1. the bounded protobuf reader alone: every field of the input, entering every
 *      length-delimited field as a message as deep as the reader allows (malformed inner
 *      messages are fine; the reader must consume at least one byte per field and stay inside
 *      its message);
 *   2. gce_attestation_parse: everything it returns lies inside the input and within its
 *      bounds (quotes, certificates, PCR values of the bank's digest size);
 *   3. the "tpm" backend's verify with the built-in Google roots, at a fixed time, when the
 *      input is recognised as an attestation: a verdict with a failed check, or a pass.
 * Seeds: none in the tree; at run time scripts/fuzz-smoke.sh adds the two recorded GCE
 * Shielded-VM attestations of ../shared/vectors/tpm/go-tpm-tools (gce-cos-85-{no-nonce,
 * nonce9009}.pb), which are never copied into the tree.
 * Must never touch the network or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/evidence.h"
#include "evidence/tpm/gce.h"
#include "evidence/tpm/tpm_verify.h"
#include "policy/result.h"
#include "tether.h"

static void inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    if (n && (!p || p < data || n > size || p > data + size - n))
        abort();
}

/* Walk m; enter every length-delimited field. Returns the fields seen. */
static size_t walk(struct gce_pb *m, const uint8_t *data, size_t size)
{
    struct gce_pb_field f;
    size_t seen = 0;
    for (;;) {
        size_t before = m->pos;
        const char *why = NULL;
        int r = gce_pb_next(m, &f, &why);
        if (r < 0) {
            if (!why)
                abort();
            return seen;
        }
        if (r == 0)
            return seen;
        if (m->pos <= before || m->pos > m->len || f.number == 0 || f.wire == GCE_PB_SGROUP ||
            f.wire == GCE_PB_EGROUP || f.wire > GCE_PB_I32)
            abort();
        seen++;
        if (f.wire == GCE_PB_LEN) {
            inside(f.data, f.len, m->p, m->len);
            struct gce_pb child;
            if (gce_pb_enter(m, &f, &child, &why) == 0) {
                if (child.depth != m->depth + 1 || child.depth > GCE_PB_MAX_DEPTH)
                    abort();
                seen += walk(&child, data, size);
            } else if (m->depth + 1 <= GCE_PB_MAX_DEPTH) {
                abort(); /* a length-delimited field inside its parent can always be entered */
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gce_pb m;
    gce_pb_init(&m, data, size);
    (void)walk(&m, data, size);

    static struct gce_attestation g;
    const char *why = NULL;
    if (gce_attestation_parse(data, size, &g, &why) != 0) {
        if (!why)
            abort();
    } else {
        if (!g.ak_pub || g.ak_pub_len == 0 || g.ak_pub_len > GCE_MAX_AK_PUB || g.n_quotes == 0 ||
            g.n_quotes > GCE_MAX_QUOTES || g.n_intermediates > GCE_MAX_INTERMEDIATES)
            abort();
        inside(g.ak_pub, g.ak_pub_len, data, size);
        for (size_t i = 0; i < g.n_quotes; i++) {
            const struct gce_quote *q = &g.quotes[i];
            size_t hs = tpm_hash_size(q->pcrs.hash_alg);
            if (!q->quote || !q->raw_sig || q->quote_len > TPM_MAX_ATTEST ||
                q->raw_sig_len > TPM_MAX_SIG || hs == 0 || (q->pcrs.present >> TPM_PCRS) != 0)
                abort();
            inside(q->quote, q->quote_len, data, size);
            inside(q->raw_sig, q->raw_sig_len, data, size);
        }
        if (g.ak_cert && (g.ak_cert_len == 0 || g.ak_cert_len > GCE_MAX_CERT))
            abort();
        inside(g.ak_cert, g.ak_cert_len, data, size);
        for (size_t i = 0; i < g.n_intermediates; i++) {
            if (g.intermediate_lens[i] == 0 || g.intermediate_lens[i] > GCE_MAX_CERT)
                abort();
            inside(g.intermediates[i], g.intermediate_lens[i], data, size);
        }
    }

    if (gce_attestation_recognise(data, size)) {
        struct tether_result *r = result_new();
        struct claims c;
        struct evidence_anchors none;
        memset(&c, 0, sizeof c);
        memset(&none, 0, sizeof none);
        if (!r)
            abort();
        int rc = evidence_tpm.verify(data, size, &none, (time_t)1748736000, NULL, &c, r);
        if ((rc == 0) != !r->failed)
            abort();
        if (rc == 0 && (strcmp(c.tee, "tpm") != 0 || !c.tee_data))
            abort();
        claims_clear(&c);
        tether_result_free(r);
    }
    return 0;
}
