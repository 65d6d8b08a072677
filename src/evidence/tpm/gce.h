/*
 * gce.h - Google Cloud (GCE Shielded / Confidential VM) vTPM evidence: the protobuf message
 * attest.Attestation of google/go-tpm-tools (proto/attest.proto, proto/tpm.proto), read with
 * a bounded protobuf wire-format reader. Sans-IO; research evidence.md A3/B4.
 *
 *   message Attestation {            // proto/attest.proto
 *     bytes ak_pub = 1;                 TPMT_PUBLIC of the attestation key
 *     repeated tpm.Quote quotes = 2;    one quote per PCR bank
 *     bytes event_log = 3;              skipped (not replayed)
 *     GCEInstanceInfo instance_info = 4;  skipped (unsigned)
 *     bytes canonical_event_log = 5;    skipped
 *     bytes ak_cert = 6;                X.509 DER, optional
 *     repeated bytes intermediate_certs = 7;  X.509 DER, optional
 *     oneof tee_attestation { sev_snp_attestation = 8; tdx_attestation = 9; }  skipped
 *   }
 *   message Quote { bytes quote = 1;  // TPMS_ATTEST
 *                   bytes raw_sig = 2;  // TPMT_SIGNATURE
 *                   PCRs pcrs = 3; }
 *   message PCRs { HashAlgo hash = 1;   // enum value = the TPM_ALG id (SHA1 4, SHA256 11, ...)
 *                  map<uint32, bytes> pcrs = 2; }  // entries {1: key, 2: value}
 *
 * Wire format (protobuf encoding spec): a varint is at most 10 bytes and at most 64 bits; a
 * length-delimited field never extends past its enclosing message; wire types 0, 1, 2 and 5
 * of unknown fields are skipped; groups (3, 4) and wire types 6 and 7 are refused; nesting is
 * limited to GCE_PB_MAX_DEPTH.
 *
 * Stricter than protobuf, on purpose (a verifier must not pick one of two readings): a
 * singular field of interest given twice, a known field with another wire type, a PCR index
 * given twice, a PCR value whose size is not its bank's digest size, and more than
 * GCE_MAX_QUOTES quotes or GCE_MAX_INTERMEDIATES intermediates are refused.
 * Borrowed pointers point into the caller's buffer. Must never read outside the input.
 */
#ifndef TETHER_EVIDENCE_TPM_GCE_H
#define TETHER_EVIDENCE_TPM_GCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/tpm/tpm.h"

#define GCE_MAX_LEN (1024u * 1024u)   /* whole message (event logs are tens of KiB) */
#define GCE_MAX_QUOTES TPM_MAX_BANKS   /* one per bank */
#define GCE_MAX_INTERMEDIATES 8
#define GCE_MAX_AK_PUB 1024u           /* an RSA-4096 TPMT_PUBLIC is about 600 bytes */
#define GCE_MAX_CERT 8192u
#define GCE_PB_MAX_DEPTH 8

/* ---- protobuf wire format ---------------------------------------------------------------- */

enum gce_pb_wire {
    GCE_PB_VARINT = 0,
    GCE_PB_I64 = 1,
    GCE_PB_LEN = 2,
    GCE_PB_SGROUP = 3,
    GCE_PB_EGROUP = 4,
    GCE_PB_I32 = 5,
};

/* A message being read: bytes [p, p + len), position pos, nesting depth (0 = top level). */
struct gce_pb {
    const uint8_t *p;
    size_t len, pos;
    unsigned depth;
};

struct gce_pb_field {
    uint32_t number;      /* 1 .. 2^29 - 1 */
    unsigned wire;        /* enum gce_pb_wire: 0, 1, 2 or 5 */
    uint64_t value;       /* VARINT; I64 and I32: the little-endian value */
    const uint8_t *data;  /* LEN (also I64 / I32): the field's bytes, borrowed */
    size_t len;
};

void gce_pb_init(struct gce_pb *m, const uint8_t *p, size_t len);
/* One varint at p (at most n bytes readable): 0 with *v and *used, or -1 (truncated, longer
 * than 10 bytes, or more than 64 bits). */
int gce_pb_varint(const uint8_t *p, size_t n, uint64_t *v, size_t *used);
/* The next field: 1, 0 at the end of the message, -1 (malformed, *why set). */
int gce_pb_next(struct gce_pb *m, struct gce_pb_field *f, const char **why);
/* The embedded message of a LEN field of m, one level deeper: 0 or -1 (*why). */
int gce_pb_enter(const struct gce_pb *m, const struct gce_pb_field *f, struct gce_pb *child,
                 const char **why);

/* ---- attest.Attestation ------------------------------------------------------------------ */

struct gce_quote {
    const uint8_t *quote; /* TPMS_ATTEST, borrowed */
    size_t quote_len;
    const uint8_t *raw_sig; /* TPMT_SIGNATURE, borrowed */
    size_t raw_sig_len;
    struct tpm_pcr_bank pcrs; /* hash_alg = PCRs.hash; present = the map's keys */
};

struct gce_attestation {
    const uint8_t *ak_pub; /* TPMT_PUBLIC, borrowed */
    size_t ak_pub_len;
    struct gce_quote quotes[GCE_MAX_QUOTES];
    size_t n_quotes;
    const uint8_t *ak_cert; /* DER, borrowed; NULL if absent */
    size_t ak_cert_len;
    const uint8_t *intermediates[GCE_MAX_INTERMEDIATES]; /* DER, borrowed */
    size_t intermediate_lens[GCE_MAX_INTERMEDIATES];
    size_t n_intermediates;
    /* Present but not used (not covered by the quotes' signatures, or another evidence type). */
    size_t event_log_len, canonical_event_log_len;
    bool has_instance_info;
    unsigned tee_attestation; /* 0, or the field: 8 = SEV-SNP, 9 = TDX */
};

/* Cheap structural recognition: the message starts with field 1 (ak_pub), length-delimited,
 * whose content begins like a TPMT_PUBLIC (type RSA or ECC, a known nameAlg). */
bool gce_attestation_recognise(const uint8_t *buf, size_t len);

/* Parse the whole message (len <= GCE_MAX_LEN): ak_pub present (<= GCE_MAX_AK_PUB), 1 ..
 * GCE_MAX_QUOTES quotes each with quote (<= TPM_MAX_ATTEST), raw_sig (<= TPM_MAX_SIG) and pcrs
 * (a supported hash, values of exactly its digest size, PCR indexes < 24, each once), the
 * certificates non-empty and <= GCE_MAX_CERT. The TPM structures themselves are not parsed
 * here (tpm.h does that). 0, or -1 with *why. */
int gce_attestation_parse(const uint8_t *buf, size_t len, struct gce_attestation *out,
                          const char **why);

#endif
