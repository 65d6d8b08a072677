/*
 * sim.h - the simulated TEE evidence format, version 1 (docs/sim.md), shared by the sim
 * evidence backend (verification) and the sim attester (production).
 *
 * Layout (all integers big-endian):
 *   0 magic "TSIM" | 4 version u16 = 1 | 6 flags u16 (bit0 debug, others 0) | 8 tcb_version u32
 *   12 key_hash_len u8 (32, 48, 64) | 13 reserved[3] = 0 | 16 timestamp u64 (unix seconds)
 *   24 measurement[48] | 72 platform_id[16] | 88 report_data[64] | 152 key_hash[64]
 *   216 end of the signed body; then u16 ak_cert_len || AK cert DER || u16 sig_len || sig.
 * The signature is ECDSA P-256/SHA-256 (DER) by the AK over body[0..216). Nothing follows.
 *
 * Simulated evidence proves nothing about hardware: it exists to test and demonstrate the
 * protocol. It must never be accepted unless a policy names the sim root explicitly.
 */
#ifndef TETHER_EVIDENCE_SIM_H
#define TETHER_EVIDENCE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/evidence.h"
#include "util/bytes.h"

#define SIM_MAGIC "TSIM"
#define SIM_MAGIC_LEN 4
#define SIM_VERSION 1
#define SIM_FLAG_DEBUG 0x0001u
#define SIM_FLAGS_KNOWN SIM_FLAG_DEBUG

#define SIM_OFF_MAGIC 0
#define SIM_OFF_VERSION 4
#define SIM_OFF_FLAGS 6
#define SIM_OFF_TCB 8
#define SIM_OFF_KEY_HASH_LEN 12
#define SIM_OFF_RESERVED 13
#define SIM_OFF_TIMESTAMP 16
#define SIM_OFF_MEASUREMENT 24
#define SIM_OFF_PLATFORM_ID 72
#define SIM_OFF_REPORT_DATA 88
#define SIM_OFF_KEY_HASH 152
#define SIM_BODY_LEN 216

#define SIM_RESERVED_LEN 3
#define SIM_MEASUREMENT_LEN 48
#define SIM_PLATFORM_ID_LEN 16
#define SIM_REPORT_DATA_LEN 64
#define SIM_KEY_HASH_MAX 64

/* Smallest blob recognise() considers: body plus the two u16 length prefixes. */
#define SIM_MIN_LEN (SIM_BODY_LEN + 4)
#define SIM_SIG_MAX 72 /* DER ECDSA P-256 signature */
#define SIM_TIMESTAMP_MAX ((uint64_t)INT64_MAX)

#define SIM_MEDIA_TYPE "application/vnd.tether.sim-evidence+binary"

/* File names inside a sim directory (tether_sim_provision, the sim attester). */
#define SIM_FILE_ROOT_KEY "root.key"
#define SIM_FILE_ROOT_CERT "root.crt"
#define SIM_FILE_AK_KEY "ak.key"
#define SIM_FILE_AK_CERT "ak.crt"
#define SIM_FILE_CONFIG "sim.json"
#define SIM_FILE_POLICY "policy.json"
#define SIM_CONFIG_MAX (64u * 1024u)

/* The signed body, decoded. */
struct sim_body {
    uint16_t flags;
    uint32_t tcb_version;
    uint8_t key_hash_len;
    uint64_t timestamp;
    uint8_t measurement[SIM_MEASUREMENT_LEN];
    uint8_t platform_id[SIM_PLATFORM_ID_LEN];
    uint8_t report_data[SIM_REPORT_DATA_LEN];
    uint8_t key_hash[SIM_KEY_HASH_MAX];
};

/* A parsed blob; the pointers borrow the input. */
struct sim_evidence {
    struct sim_body body;
    const uint8_t *signed_body; /* SIM_BODY_LEN bytes */
    const uint8_t *ak_cert;
    size_t ak_cert_len;
    const uint8_t *sig;
    size_t sig_len;
};

/* Strict, bounded parse of a whole blob. On failure returns -1 and a static reason in *why. */
int sim_evidence_parse(const uint8_t *ev, size_t len, struct sim_evidence *out, const char **why);

/* Encode the body (exactly SIM_BODY_LEN bytes). Fails on values the format forbids. */
int sim_body_encode(const struct sim_body *b, uint8_t out[static SIM_BODY_LEN]);

/* body || u16 ak_cert_len || ak_cert || u16 sig_len || sig. */
int sim_evidence_encode(const uint8_t body[static SIM_BODY_LEN], const uint8_t *ak_cert,
                        size_t ak_cert_len, const uint8_t *sig, size_t sig_len,
                        struct bytes_writer *out);

extern const struct evidence_backend evidence_sim;

#endif
