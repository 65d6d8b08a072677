/*
 * tpm_fixture.h - synthetic TPM 2.0 evidence for the tests (test_tpm.c, test_tpm_verify.c):
 * TPMT_PUBLIC, TPMS_ATTEST and TPMT_SIGNATURE built by hand and signed with OpenSSL keys, a
 * complete "TTPM" container (src/evidence/tpm/tpm_evidence.h) in one call, and the X.509
 * pieces an AK certificate needs. Test code only: every function asserts (cmocka) instead of
 * returning an error; returned buffers are the caller's to free().
 *
 * Two levels:
 *   - builders for one structure each (field-rule tests vary every field): struct
 *     tpm_fixture_attest / tpm_fixture_build_attest, struct tpm_fixture_public /
 *     tpm_fixture_build_public (tpm_fixture_ecc_public, tpm_fixture_rsa_public fill one from
 *     a key), tpm_fixture_sign (a TPMT_SIGNATURE);
 *   - tpm_fixture_evidence: a whole, valid TTPM blob from a struct tpm_fixture_spec (key, key
 *     attributes, extraData, PCR values; the quote's selection and pcrDigest are computed),
 *     with knobs that break one thing at a time.
 */
#ifndef TETHER_TEST_TPM_FIXTURE_H
#define TETHER_TEST_TPM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "evidence/tpm/tpm.h"
#include "evidence/tpm/tpm_evidence.h"
#include "util/bytes.h"

/* fixedTPM fixedParent sensitiveDataOrigin userWithAuth restricted sign: an AK. */
#define TPM_FIXTURE_AK_ATTRS 0x00050072u
#define TPM_FIXTURE_ATTR_RESTRICTED (1u << 16)
#define TPM_FIXTURE_ATTR_SIGN (1u << 18)

/* ---- one structure at a time ---------------------------------------------------------------- */

/* writer_take, asserting the writer did not fail. */
uint8_t *tpm_fixture_take(struct bytes_writer *w, size_t *len);
/* n bytes of v. */
void tpm_fixture_fill(struct bytes_writer *w, size_t n, uint8_t v);

/* TPMS_ATTEST. qualifiedSigner: signer_len bytes (nameAlg SHA-256 then 0x11 filler); clock
 * 0x0102030405060708, resetCount 7, restartCount 9, firmwareVersion 0x2019102300163636. */
struct tpm_fixture_attest {
    uint32_t magic;
    uint16_t type;
    size_t signer_len, extra_len;
    const uint8_t *extra; /* NULL: 0xA5 filler */
    uint8_t safe;
    uint32_t count; /* TPML_PCR_SELECTION count (banks written: min(count, 6)) */
    struct {
        uint16_t alg;
        uint8_t size;   /* sizeofSelect */
        uint8_t sel[4]; /* pcrSelect bytes (beyond 4: zero) */
    } bank[6];
    size_t digest_len;
    const uint8_t *digest; /* NULL: 0x5A filler */
    bool trailing;         /* one byte after the structure */
};
/* A valid quote: 64 bytes of extraData, SHA-256 PCRs 0..7 selected, a 32-byte filler digest. */
void tpm_fixture_default_attest(struct tpm_fixture_attest *s);
uint8_t *tpm_fixture_build_attest(const struct tpm_fixture_attest *s, size_t *len);
/* A quote of these PCR values: s's selection is bank i = banks[i].hash_alg with mask
 * banks[i].present (3 select bytes), its pcrDigest their digest with hash_alg, written to
 * digest (which must outlive s). */
void tpm_fixture_attest_pcrs(struct tpm_fixture_attest *s, const struct tpm_pcr_bank *banks,
                             size_t n_banks, uint16_t hash_alg, uint8_t digest[TPM_MAX_DIGEST]);

/* TPMT_PUBLIC (RSA or ECC). u1/u2 point into the caller's buffers. */
struct tpm_fixture_public {
    uint16_t type, name_alg;
    uint32_t attrs;
    size_t policy_len; /* authPolicy: 0x33 filler */
    uint16_t sym, scheme, scheme_hash;
    uint16_t bits;          /* RSA */
    uint32_t exp;           /* RSA */
    uint16_t curve;         /* ECC */
    uint16_t kdf;           /* ECC */
    const uint8_t *u1, *u2; /* modulus, or x and y */
    size_t u1_len, u2_len;
    bool trailing;
};
uint8_t *tpm_fixture_build_public(const struct tpm_fixture_public *s, size_t *len);
/* A restricted ECDSA signing key's TPMT_PUBLIC for k; xy receives x || y (2 * coord bytes)
 * and must outlive s. */
void tpm_fixture_ecc_public(EVP_PKEY *k, uint16_t curve, size_t coord, uint8_t *xy,
                            struct tpm_fixture_public *s);
/* A restricted RSA signing key's TPMT_PUBLIC for k (scheme RSASSA, RSAPSS or NULL); n
 * receives the modulus (n_len bytes) and must outlive s. */
void tpm_fixture_rsa_public(EVP_PKEY *k, uint8_t *n, size_t n_len, uint16_t scheme,
                            struct tpm_fixture_public *s);

enum tpm_fixture_sign {
    TPM_FIXTURE_AUTO = 0,      /* tpm_fixture_spec only: from the key and its scheme */
    TPM_FIXTURE_ECDSA_PADDED,  /* r, s left-padded to the curve size (coord) */
    TPM_FIXTURE_ECDSA_MINIMAL, /* r, s without leading zero bytes */
    TPM_FIXTURE_PKCS1,         /* RSASSA-PKCS1-v1_5 */
    TPM_FIXTURE_PSS_DIGEST,    /* RSAPSS, salt = digest length */
    TPM_FIXTURE_PSS_MAX,       /* RSAPSS, salt = the maximum */
};
/* Sign msg with k (hash hash_alg): the bare signature (DER ECDSA-Sig-Value for ECDSA modes,
 * else the RSA signature), as Azure stores a vTPM quote's. Not for TPM_FIXTURE_AUTO. */
uint8_t *tpm_fixture_sign_raw(EVP_PKEY *k, enum tpm_fixture_sign mode, uint16_t hash_alg,
                              const uint8_t *msg, size_t msg_len, size_t *out_len);
/* Sign msg with k (hash hash_alg) and wrap the signature as a TPMT_SIGNATURE. */
uint8_t *tpm_fixture_sign(EVP_PKEY *k, enum tpm_fixture_sign mode, uint16_t hash_alg,
                          size_t coord, const uint8_t *msg, size_t msg_len, size_t *out_len);

/* ---- a whole TTPM blob ---------------------------------------------------------------------- */

#define TPM_FIXTURE_FLIP_ATTEST 0x1u    /* change a clock byte of TPMS_ATTEST after signing */
#define TPM_FIXTURE_FLIP_SIGNATURE 0x2u /* change the last byte of the signature value */

struct tpm_fixture_spec {
    EVP_PKEY *key;          /* the AK: EC P-256 / P-384 or RSA 2048 / 3072 / 4096 (required) */
    uint16_t rsa_scheme;    /* RSA: the TPMT_PUBLIC scheme; 0: TPM_ALG_RSASSA */
    enum tpm_fixture_sign mode; /* AUTO: ECDSA padded, PKCS1 for RSASSA, PSS_DIGEST for RSAPSS */
    uint16_t hash_alg;      /* signature (and pcrDigest) hash; 0: SHA-384 for P-384, else SHA-256 */
    uint32_t attrs;         /* objectAttributes; 0: TPM_FIXTURE_AK_ATTRS */
    const uint8_t *extra;   /* extraData; NULL: extra_len (0: 64) bytes of 0xA5 */
    size_t extra_len;
    /* The PCR values the quote covers: its selection is bank i = banks[i].hash_alg with mask
     * banks[i].present, its pcrDigest hashes these values (tpm_fixture_set_pcr fills them). */
    struct tpm_pcr_bank banks[TPM_MAX_BANKS];
    size_t n_banks;
    /* The PCR values put in the container; NULL: banks. Differing values or masks give a
     * digest or selection mismatch. */
    const struct tpm_pcr_bank *supplied;
    size_t n_supplied;
    const uint8_t *certs[TPM_EVIDENCE_MAX_CERTS]; /* AK certificate chain (DER, leaf first) */
    size_t cert_lens[TPM_EVIDENCE_MAX_CERTS];
    size_t n_certs;
    unsigned corrupt; /* TPM_FIXTURE_FLIP_* */
};

/* Zero s and set the key. */
void tpm_fixture_spec_init(struct tpm_fixture_spec *s, EVP_PKEY *key);
/* Quote PCR idx of bank alg with value (tpm_hash_size(alg) bytes; NULL: every byte
 * 0x40 + idx), adding the bank if needed. */
void tpm_fixture_set_pcr(struct tpm_fixture_spec *s, uint16_t alg, unsigned idx,
                         const uint8_t *value);
/* The complete TTPM container. */
uint8_t *tpm_fixture_evidence(const struct tpm_fixture_spec *s, size_t *len);

/* ---- keys and certificates ------------------------------------------------------------------ */

/* A fresh key: "P-256", "P-384", or "RSA-2048" / "RSA-3072" / "RSA-4096". */
EVP_PKEY *tpm_fixture_key(const char *kind);
/* SHA-256 of the key's SubjectPublicKeyInfo DER (what accept.tpm.ak_keys pins), and as hex
 * (caller frees). */
void tpm_fixture_spki_sha256(EVP_PKEY *k, uint8_t out[32]);
char *tpm_fixture_spki_sha256_hex(EVP_PKEY *k);
/* An X.509 v3 certificate for subject_key named CN=cn, valid [not_before, not_after], signed
 * by issuer_key as issuer (NULL: self-signed with subject_key). ca: basicConstraints CA:TRUE
 * and keyCertSign, else CA:FALSE and digitalSignature. */
X509 *tpm_fixture_cert(EVP_PKEY *subject_key, const char *cn, EVP_PKEY *issuer_key,
                       X509 *issuer, bool ca, time_t not_before, time_t not_after);
/* DER (caller frees) and PEM (a NUL-terminated string, caller frees). */
uint8_t *tpm_fixture_der(X509 *x, size_t *len);
char *tpm_fixture_pem(X509 *x);

#endif
