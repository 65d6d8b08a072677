/*
 * oracle.c - TEST-ONLY: the attestation oracle of protocol.md 9.1 / 5.4(1): evidence from a
 * TEE over report_data and a key hash the caller chooses. This is exactly the power the
 * production library must never offer (no API takes caller-chosen report_data); it exists so
 * that the tests and the relay lab can show what an attacker holding such an oracle can do.
 * Compiled only into the test objects (Makefile TESTHOOK_OBJ); scripts/check-symbols.sh
 * checks that nothing of it reaches libtether or the tether command.
 */
#include "testhooks/testhooks.h"

#include <string.h>

#include "attester/attester.h"
#include "binding/binder.h"
#include "util/util.h"

int tether_test_oracle_evidence(const char *tee_spec, const uint8_t report_data[64],
                                const uint8_t *key_hash, size_t key_hash_len, uint8_t **ev,
                                size_t *ev_len, char *err, size_t errlen)
{
    if (!ev || !ev_len || !report_data) {
        errbuf_set(err, errlen, "oracle: bad arguments");
        return -1;
    }
    *ev = NULL;
    *ev_len = 0;
    /* The sim format carries a 32-, 48- or 64-byte key hash; without one, 32 zero bytes. */
    if (key_hash && key_hash_len != 32 && key_hash_len != 48 && key_hash_len != 64) {
        errbuf_set(err, errlen, "oracle: a key hash is 32, 48 or 64 bytes, not %zu", key_hash_len);
        return -1;
    }
    struct binder b;
    memset(&b, 0, sizeof b);
    memcpy(b.report_data, report_data, sizeof b.report_data);
    b.hash_len = key_hash ? key_hash_len : 32;
    if (key_hash)
        memcpy(b.aik_pub_hash, key_hash, key_hash_len);
    struct attester_handle h;
    if (attester_open(tee_spec, &h, err, errlen) != 0)
        return -1;
    int rc = h.backend->evidence(h.state, &b, ev, ev_len, err, errlen);
    attester_close(&h);
    return rc;
}
