/*
 * test_probe_scan.c - the probe's extension scanner (src/tls/probe.c): it must find the CBOR
 * tag and the evidence in every RA-TLS extension, including values whose bytes also happen
 * to be well-formed DER (a CI failure: about one sim AK key in fifteen made some of its
 * extensions parse both ways, and the scanner then walked only the DER reading).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "attester/attester.h"
#include "binding/ratls_ext.h"
#include "lib/harness.h"
#include "tls/probe.h"
#include "util/bytes.h"

static bool has_tag(const struct probe_scan *s, uint64_t tag)
{
    for (size_t i = 0; i < s->n_tags; i++)
        if (s->tags[i] == tag)
            return true;
    return false;
}

/* D8 20 | 58 1E | 30 bytes: CBOR tag 32 over a 30-byte byte string, and also one DER TLV
 * (private primitive tag 24, length 32). Both readings are walked. */
static void ambiguous_der_and_cbor(void **state)
{
    (void)state;
    uint8_t v[34] = {0xd8, 0x20, 0x58, 0x1e};
    for (size_t i = 4; i < sizeof v; i++)
        v[i] = (uint8_t)(0x30 + i);
    struct probe_scan s;
    probe_scan_value(v, sizeof v, &s);
    assert_false(s.truncated);
    assert_true(has_tag(&s, 32));
    bool inner = false;
    for (size_t i = 0; i < s.n_blobs; i++)
        inner |= s.blobs[i].p == v + 4 && s.blobs[i].n == 30;
    assert_true(inner);
}

/* A DER-only value still scans as before: an OCTET STRING holding a CBOR-tagged byte string. */
static void der_wrapping_cbor(void **state)
{
    (void)state;
    /* 04 1A | DA 54 53 49 4D (tag 0x5453494D) | 54 (bstr of 20) | 20 bytes */
    uint8_t v[2 + 26] = {0x04, 26, 0xda, 0x54, 0x53, 0x49, 0x4d, 0x54};
    memset(v + 8, 0xab, 20);
    struct probe_scan s;
    probe_scan_value(v, sizeof v, &s);
    assert_true(has_tag(&s, 0x5453494D));
}

/* Real RA-TLS extensions from freshly provisioned sim TEEs: every one must show the sim tag
 * and have its evidence recognised by the sim backend. Several AK keys, many evidences each,
 * because the ambiguity depends on the bytes of both. */
static void real_extensions_from_many_sims(void **state)
{
    (void)state;
    char dir[] = "/tmp/tether-probe-scan.XXXXXX";
    assert_non_null(mkdtemp(dir));
    unsigned misses = 0, total = 0;
    for (int k = 0; k < 8; k++) {
        char sim[sizeof dir + 16], spec[sizeof sim + 8], err[256];
        snprintf(sim, sizeof sim, "%s/s%d", dir, k);
        snprintf(spec, sizeof spec, "sim:%s", sim);
        assert_int_equal(tether_sim_provision(sim, NULL, err, sizeof err), 0);
        struct attester_handle h;
        assert_int_equal(attester_open(spec, &h, err, sizeof err), 0);
        for (int it = 0; it < 150; it++) {
            struct binder b;
            memset(&b, 0, sizeof b);
            assert_int_equal(RAND_bytes(b.report_data, sizeof b.report_data), 1);
            b.hash_len = 32;
            assert_int_equal(RAND_bytes(b.aik_pub_hash, 32), 1);
            uint8_t *ev = NULL;
            size_t ev_len = 0;
            assert_int_equal(h.backend->evidence(h.state, &b, &ev, &ev_len, err, sizeof err), 0);
            struct ratls_claims c;
            memset(&c, 0, sizeof c);
            c.has_pubkey_hash = true;
            c.hash_alg = RATLS_HASH_SHA256;
            c.pubkey_hash_len = 32;
            assert_int_equal(RAND_bytes(c.pubkey_hash, 32), 1);
            c.has_nonce = (it & 1) != 0;
            c.nonce_len = c.has_nonce ? 32 : 0;
            if (c.has_nonce)
                assert_int_equal(RAND_bytes(c.nonce, 32), 1);
            struct bytes_writer w;
            writer_init(&w, RATLS_EXT_MAX);
            assert_int_equal(ratls_ext_encode(RATLS_TAG_TETHER_SIM, ev, ev_len, &c, &w), 0);
            struct probe_scan s;
            probe_scan_value(w.data, w.len, &s);
            const uint8_t *found = NULL;
            size_t found_len = 0;
            const struct evidence_backend *be = probe_scan_evidence(&s, &found, &found_len);
            if (!has_tag(&s, RATLS_TAG_TETHER_SIM) || !be || strcmp(be->name, "sim") != 0 ||
                found_len != ev_len || memcmp(found, ev, ev_len) != 0)
                misses++;
            total++;
            writer_free(&w);
            free(ev);
        }
        attester_close(&h);
    }
    char cmd[sizeof dir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    print_message("%u extensions, %u missed\n", total, misses);
    assert_int_equal(misses, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ambiguous_der_and_cbor),
        cmocka_unit_test(der_wrapping_cbor),
        cmocka_unit_test(real_extensions_from_many_sims),
    };
    return cmocka_run_group_tests_name("probe_scan", tests, NULL, NULL);
}
