/*
 * binder.h - the one place that turns (exporter value, SPKI, role) into the binding and the
 * 64-byte report_data that the evidence must carry (draft-fossati-seat-expat, Cocos
 * eaattestation/binding.go):
 *     exported_value = TLS-Exporter(label, certificate_request_context, 32)
 *     aik_pub_hash   = Hash(SPKI)
 *     binding        = Hash(SPKI || exported_value)
 *     report_data    = SHA-512(binding)
 * Hash is the TLS cipher suite's hash. label is "Attestation" when the server attests and
 * "Attestation client" when the client attests (role separation: a reflected authenticator can
 * never carry a binder valid for the other direction).
 */
#ifndef TETHER_BINDING_BINDER_H
#define TETHER_BINDING_BINDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define BINDER_EXPORTER_LEN 32
#define BINDER_REPORT_DATA_LEN 64
#define BINDER_LABEL_SERVER "Attestation"
#define BINDER_LABEL_CLIENT "Attestation client"

/* The exporter label for evidence produced by the server (server_attests) or the client. */
const char *binder_label(bool server_attests);

struct binder {
    size_t hash_len; /* 32 or 48 */
    uint8_t aik_pub_hash[64];
    uint8_t binding[64];
    uint8_t report_data[BINDER_REPORT_DATA_LEN];
};

/* Compute all three values. Fails on an empty SPKI, an all-zero exporter value or an
 * unsupported hash. */
int binder_compute(const EVP_MD *md, const uint8_t *spki, size_t spki_len,
                   const uint8_t exported_value[static BINDER_EXPORTER_LEN], struct binder *out);

/* report_data = SHA-512(binding). */
int binder_report_data(const uint8_t *binding, size_t binding_len,
                       uint8_t report_data[static BINDER_REPORT_DATA_LEN]);

#endif
