/*
 * testhooks.h - TEST-ONLY powers for the relay lab and the attacker tests (protocol.md 9.1):
 * the "TEE key leak" (authenticator keys, legacy-mode TLS keys, TLS traffic secrets) and the
 * attestation oracle (evidence over chosen report_data). Compiled only into the test objects
 * (src/tls built with -DTETHER_TEST_HOOKS, plus src/testhooks/) that tests and tether-lab
 * link; never into libtether or the tether command (scripts/check-symbols.sh checks it).
 */
#ifndef TETHER_TESTHOOKS_H
#define TETHER_TESTHOOKS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "tether.h"

/* Every private key the connection creates or uses to authenticate: each fresh authenticator
 * key, and in legacy modes the TLS certificate key. cb gets a borrowed key (up-ref to keep). */
void tether_test_set_leak_key(struct tether *ctx, void (*cb)(void *arg, EVP_PKEY *key), void *arg);

/* The connection's TLS secrets, one NSS key-log line at a time ("CLIENT_TRAFFIC_SECRET_0 ..."). */
void tether_test_set_keylog(struct tether *ctx, void (*cb)(void *arg, const char *line), void *arg);

/* The attestation oracle: evidence from the TEE spec ("sim:DIR") over caller-chosen
 * report_data and key hash. Exactly what the production library never offers. */
int tether_test_oracle_evidence(const char *tee_spec, const uint8_t report_data[64],
                                const uint8_t *key_hash, size_t key_hash_len, uint8_t **ev,
                                size_t *ev_len, char *err, size_t errlen);

#endif
