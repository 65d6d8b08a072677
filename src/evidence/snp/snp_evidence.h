/*
 * snp_evidence.h - tether's SEV-SNP evidence container ("TSNP"): the bytes the snp attester
 * sends and the snp verifier receives, so that the verifier gets the report and the
 * certificates the host supplied (VCEK or VLEK, ASK/ASVK, ARK) in one self-describing blob.
 *
 * Media type: SNP_EVIDENCE_MEDIA_TYPE. Format version 1 (container integers are big-endian,
 * like every tether-defined format; the report and the table inside keep AMD's little-endian):
 *
 *   offset  size  field
 *   0       4     magic "TSNP" (54 53 4E 50)
 *   4       2     format version = 1
 *   6       2     flags, reserved: must be 0
 *   8       4     report_len: must be 1184 (SNP_REPORT_LEN)
 *   12      1184  ATTESTATION_REPORT, verbatim from the firmware (SEV-SNP ABI 56860 Table 23)
 *   1196    4     certtable_len: 0 (no certificates: the verifier fetches them, e.g. the VCEK
 *                 from AMD KDS) or 24..SNP_EVIDENCE_CERTTABLE_MAX
 *   1200    n     certificate table in the GHCB 56421 4.1.8.1 layout (snp_certtable.h): entry
 *                 array, all-zero terminator, DER certificates; offsets from its own start
 *   nothing may follow.
 *
 * The certificates are unauthenticated transport: the verifier must chain them to its own
 * AMD roots (and check the leaf against REPORTED_TCB / CHIP_ID); the table's presence or
 * absence must never change what the verifier accepts. SNP_EVIDENCE_CERTTABLE_MAX keeps the
 * whole container well inside one EA cmw payload (EA_CMW_MAX_JSON, base64 inside JSON); the
 * attester re-encodes the host's table keeping only VCEK/VLEK/ASK/ARK to stay inside it.
 *
 * snp_evidence_decode accepts only a well-formed container: the report must parse
 * (snp_report_parse) and a non-empty table must parse (snp_certtable_parse). Signature,
 * chain, TCB and policy are the verifier's job.
 * Must never: read outside the input, accept trailing bytes or non-zero flags.
 */
#ifndef TETHER_EVIDENCE_SNP_EVIDENCE_H
#define TETHER_EVIDENCE_SNP_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/snp/snp_certtable.h"
#include "evidence/snp/snp_report.h"
#include "util/bytes.h"

#define SNP_EVIDENCE_MEDIA_TYPE "application/vnd.tether.snp-evidence+binary"
#define SNP_EVIDENCE_MAGIC "TSNP"
#define SNP_EVIDENCE_VERSION 1
#define SNP_EVIDENCE_HEADER_LEN 12
#define SNP_EVIDENCE_CERTTABLE_MAX (32u * 1024u)
#define SNP_EVIDENCE_MAX (SNP_EVIDENCE_HEADER_LEN + SNP_REPORT_LEN + 4 + SNP_EVIDENCE_CERTTABLE_MAX)

struct snp_evidence {
    const uint8_t *report; /* borrows the input; SNP_REPORT_LEN bytes */
    size_t report_len;
    const uint8_t *certtable; /* borrows the input; NULL when certtable_len is 0 */
    size_t certtable_len;
    struct snp_report parsed;   /* parsed.signed_region borrows the input */
    bool has_certs;
    struct snp_certtable certs; /* valid when has_certs; entries borrow the input */
};

/* Decode a container. 0, or -1 with a short reason in *why. */
int snp_evidence_decode(const uint8_t *buf, size_t len, struct snp_evidence *out,
                        const char **why);

/* Encode a container; report_len must be SNP_REPORT_LEN, certtable may be NULL with length 0.
 * Does not parse its inputs (the attester has). 0 or -1. */
int snp_evidence_encode(const uint8_t *report, size_t report_len, const uint8_t *certtable,
                        size_t certtable_len, struct bytes_writer *w);

#endif
