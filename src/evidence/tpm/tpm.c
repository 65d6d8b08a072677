/*
 * tpm.c - TPM 2.0 quote structures and the quote signature check (tpm.h), sans-IO.
 *
 * Layouts: TCG "TPM 2.0 Library, Part 2: Structures" (rev 1.59; section numbers below), all
 * integers big-endian (Part 1, 9.3 "byte order"); research evidence.md A3/B4. Every read goes
 * through the bounded reader (util/bytes.h); every TPM2B size is checked against its type's
 * maximum before the bytes are taken, and every structure must end exactly at its input's end.
 *
 * Enforced:
 *   - TPMS_ATTEST (10.12.12): magic TPM_GENERATED_VALUE, type TPM_ST_ATTEST_QUOTE only (the
 *     other attestation types sign other things, 10.12.11 TPMI_ST_ATTEST); qualifiedSigner
 *     TPM2B_NAME <= sizeof(TPMU_NAME) = 2 + 64 (10.5.3); extraData <= 64 (TPM2B_DATA allows
 *     sizeof(TPMT_HA) = 66; tpm.h stores at most TPM_MAX_DIGEST, see the note at the parser);
 *     TPMS_CLOCK_INFO.safe is a TPMI_YES_NO (0 or 1, 9.2); TPMS_QUOTE_INFO (10.12.4):
 *     TPML_PCR_SELECTION count <= TPM_MAX_BANKS (10.9.7, HASH_COUNT), each hash known and
 *     present once, sizeofSelect 1..3 (10.6.2; PCR_SELECT_MAX for 24 PCRs is 3), then
 *     pcrDigest TPM2B_DIGEST <= 64 (10.4.2), and nothing after.
 *   - TPMT_SIGNATURE (11.3.4): RSASSA/RSAPSS = TPMS_SIGNATURE_RSA {hash, TPM2B_PUBLIC_KEY_RSA
 *     sig <= 512} (11.3.1, MAX_RSA_KEY_BYTES for RSA-4096); ECDSA = TPMS_SIGNATURE_ECC {hash,
 *     TPM2B_ECC_PARAMETER r, s <= 66} (11.3.2, MAX_ECC_KEY_BYTES for P-521); no other scheme
 *     (TPM_ALG_NULL is a valid TPMT_SIGNATURE but signs nothing); non-empty values.
 *   - TPMT_PUBLIC (12.2.4): RSA or ECC; a known nameAlg (the name needs one); authPolicy <= 64;
 *     TPMS_RSA_PARMS (12.2.3.5): symmetric TPM_ALG_NULL, scheme NULL/RSASSA/RSAPSS with a
 *     known hash, keyBits 2048/3072/4096, exponent (0 = 2^16 + 1) odd and > 1, unique modulus
 *     exactly keyBits/8 with a non-zero first byte, and odd; TPMS_ECC_PARMS (12.2.3.6):
 *     symmetric NULL, scheme NULL/ECDSA with a known hash, curve P-256/P-384, kdf NULL,
 *     unique point of two coordinates of exactly the curve size, on the curve
 *     (EVP_PKEY_public_check_quick).
 * Reported, not enforced: objectAttributes (the caller decides what an AK must be).
 */
#include "evidence/tpm/tpm.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "util/bytes.h"
#include "util/util.h"

/* TPMA_OBJECT bits (Part 2, 8.3.2). */
#define TPMA_OBJECT_FIXEDTPM (1u << 1)
#define TPMA_OBJECT_SENSITIVEDATAORIGIN (1u << 5)
#define TPMA_OBJECT_RESTRICTED (1u << 16)
#define TPMA_OBJECT_SIGN (1u << 18)

#define TPM_MAX_NAME (2 + TPM_MAX_DIGEST)  /* sizeof(TPMU_NAME) */
#define TPM_MAX_RSA_BYTES 512              /* MAX_RSA_KEY_BYTES: RSA-4096 */
#define TPM_MAX_ECC_BYTES 66               /* MAX_ECC_KEY_BYTES: P-521 */
#define TPM_MAX_PUBLIC 1024                /* far above any TPMT_PUBLIC this file accepts */

size_t tpm_hash_size(uint16_t alg)
{
    switch (alg) {
    case TPM_ALG_SHA1:
        return 20;
    case TPM_ALG_SHA256:
        return 32;
    case TPM_ALG_SHA384:
        return 48;
    case TPM_ALG_SHA512:
        return 64;
    default:
        return 0;
    }
}

const EVP_MD *tpm_hash_md(uint16_t alg)
{
    switch (alg) {
    case TPM_ALG_SHA1:
        return EVP_sha1();
    case TPM_ALG_SHA256:
        return EVP_sha256();
    case TPM_ALG_SHA384:
        return EVP_sha384();
    case TPM_ALG_SHA512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

/* A TPM2B: u16 size, then size bytes; refused (reader failed) above max. */
static bool read_tpm2b(struct bytes_reader *r, size_t max, const uint8_t **p, size_t *n)
{
    uint16_t size = 0;
    if (!reader_u16(r, &size))
        return false;
    if (size > max) {
        r->failed = true;
        return false;
    }
    *n = size;
    return reader_bytes(r, size, p);
}

/* ---- TPMS_ATTEST ------------------------------------------------------------------------ */

/* TPML_PCR_SELECTION (Part 2, 10.9.7) of TPMS_PCR_SELECTION (10.6.2). */
static int read_pcr_selection(struct bytes_reader *r, struct tpm_pcr_selection *sel,
                              const char **why)
{
    uint32_t count = 0;
    if (!reader_u32(r, &count))
        return parse_fail(why, "truncated TPML_PCR_SELECTION");
    if (count > TPM_MAX_BANKS)
        return parse_fail(why, "TPML_PCR_SELECTION has more banks than TPM_MAX_BANKS");
    for (uint32_t i = 0; i < count; i++) {
        uint16_t alg = 0;
        uint8_t size = 0;
        reader_u16(r, &alg);
        reader_u8(r, &size);
        if (r->failed)
            return parse_fail(why, "truncated TPMS_PCR_SELECTION");
        if (tpm_hash_size(alg) == 0)
            return parse_fail(why, "PCR bank with an unsupported hash algorithm");
        for (uint32_t j = 0; j < i; j++)
            if (sel->bank[j].hash_alg == alg)
                return parse_fail(why, "PCR bank selected twice");
        /* PCR_SELECT_MIN..PCR_SELECT_MAX: 24 PCRs need 3 bytes; a TPM with more PCRs (or a
         * selection padded beyond 24) is not one this library can check. */
        if (size < 1 || size > 3)
            return parse_fail(why, "PCR sizeofSelect must be 1..3");
        uint32_t mask = 0;
        for (uint8_t k = 0; k < size; k++) {
            uint8_t b = 0;
            if (!reader_u8(r, &b))
                return parse_fail(why, "truncated pcrSelect");
            mask |= (uint32_t)b << (8 * k); /* byte k bit j = PCR 8k + j (10.6.1) */
        }
        sel->bank[i].hash_alg = alg;
        sel->bank[i].mask = mask;
        sel->n_banks = i + 1;
    }
    return 0;
}

int tpm_quote_parse(const uint8_t *buf, size_t len, struct tpm_quote *out, const char **why)
{
    if (why)
        *why = NULL;
    if (!out)
        return parse_fail(why, "no output");
    memset(out, 0, sizeof *out);
    if (!buf)
        return parse_fail(why, "no quote");
    if (len > TPM_MAX_ATTEST)
        return parse_fail(why, "TPMS_ATTEST larger than TPM2B_ATTEST allows");
    struct bytes_reader r;
    reader_init(&r, buf, len);

    uint32_t magic = 0;
    uint16_t type = 0;
    reader_u32(&r, &magic);
    reader_u16(&r, &type);
    if (r.failed)
        return parse_fail(why, "truncated TPMS_ATTEST header");
    if (magic != TPM_GENERATED_VALUE)
        return parse_fail(why, "TPMS_ATTEST magic is not TPM_GENERATED_VALUE");
    if (type != TPM_ST_ATTEST_QUOTE)
        return parse_fail(why, "TPMS_ATTEST is not a quote (TPM_ST_ATTEST_QUOTE)");

    if (!read_tpm2b(&r, TPM_MAX_NAME, &out->qualified_signer, &out->qualified_signer_len))
        return parse_fail(why, "bad qualifiedSigner (TPM2B_NAME)");
    /* TPM2B_DATA may hold sizeof(TPMT_HA) = 66 bytes; TPM2_Quote's qualifyingData in practice
     * is a nonce or digest (tether's is 64 bytes) and tpm.h keeps at most TPM_MAX_DIGEST. */
    const uint8_t *extra = NULL;
    size_t extra_len = 0;
    if (!read_tpm2b(&r, TPM_MAX_DIGEST, &extra, &extra_len))
        return parse_fail(why, "bad extraData (TPM2B_DATA larger than 64 bytes or truncated)");
    if (extra_len)
        memcpy(out->extra_data, extra, extra_len);
    out->extra_data_len = extra_len;

    /* TPMS_CLOCK_INFO (10.11.1). */
    uint8_t safe = 0;
    reader_u64(&r, &out->clock);
    reader_u32(&r, &out->reset_count);
    reader_u32(&r, &out->restart_count);
    reader_u8(&r, &safe);
    reader_u64(&r, &out->firmware_version);
    if (r.failed)
        return parse_fail(why, "truncated TPMS_CLOCK_INFO / firmwareVersion");
    if (safe > 1)
        return parse_fail(why, "TPMS_CLOCK_INFO.safe is not a TPMI_YES_NO");
    out->safe = safe == 1;

    /* TPMU_ATTEST for a quote: TPMS_QUOTE_INFO (10.12.4). */
    if (read_pcr_selection(&r, &out->pcr_select, why) != 0)
        return -1;
    const uint8_t *pd = NULL;
    size_t pd_len = 0;
    if (!read_tpm2b(&r, TPM_MAX_DIGEST, &pd, &pd_len))
        return parse_fail(why, "bad pcrDigest (TPM2B_DIGEST larger than 64 bytes or truncated)");
    if (pd_len)
        memcpy(out->pcr_digest, pd, pd_len);
    out->pcr_digest_len = pd_len;
    if (!reader_done(&r))
        return parse_fail(why, "trailing bytes after TPMS_ATTEST");
    return 0;
}

/* ---- TPMT_SIGNATURE --------------------------------------------------------------------- */

int tpm_signature_parse(const uint8_t *buf, size_t len, struct tpm_signature *out,
                        const char **why)
{
    if (why)
        *why = NULL;
    if (!out)
        return parse_fail(why, "no output");
    memset(out, 0, sizeof *out);
    if (!buf)
        return parse_fail(why, "no signature");
    struct bytes_reader r;
    reader_init(&r, buf, len);
    uint16_t sig_alg = 0, hash_alg = 0;
    reader_u16(&r, &sig_alg);
    reader_u16(&r, &hash_alg);
    if (r.failed)
        return parse_fail(why, "truncated TPMT_SIGNATURE header");
    if (sig_alg != TPM_ALG_RSASSA && sig_alg != TPM_ALG_RSAPSS && sig_alg != TPM_ALG_ECDSA)
        return parse_fail(why, "unsupported TPMT_SIGNATURE algorithm");
    if (tpm_hash_size(hash_alg) == 0)
        return parse_fail(why, "unsupported TPMT_SIGNATURE hash algorithm");
    out->sig_alg = sig_alg;
    out->hash_alg = hash_alg;

    if (sig_alg == TPM_ALG_ECDSA) {
        /* TPMS_SIGNATURE_ECC (11.3.2): r and s, each a TPM2B_ECC_PARAMETER. */
        const uint8_t *rp = NULL, *sp = NULL;
        size_t rn = 0, sn = 0;
        if (!read_tpm2b(&r, TPM_MAX_ECC_BYTES, &rp, &rn) ||
            !read_tpm2b(&r, TPM_MAX_ECC_BYTES, &sp, &sn))
            return parse_fail(why, "bad ECDSA r or s (TPM2B_ECC_PARAMETER larger than 66 or "
                                   "truncated)");
        if (rn == 0 || sn == 0)
            return parse_fail(why, "empty ECDSA r or s");
        size_t half = rn > sn ? rn : sn;
        memset(out->sig, 0, 2 * half);
        memcpy(out->sig + (half - rn), rp, rn);
        memcpy(out->sig + half + (half - sn), sp, sn);
        out->ecdsa_half = half;
        out->sig_len = 2 * half;
    } else {
        /* TPMS_SIGNATURE_RSA (11.3.1): TPM2B_PUBLIC_KEY_RSA sig. */
        const uint8_t *sp = NULL;
        size_t sn = 0;
        if (!read_tpm2b(&r, TPM_MAX_RSA_BYTES, &sp, &sn))
            return parse_fail(why, "bad RSA signature (TPM2B larger than 512 or truncated)");
        if (sn == 0)
            return parse_fail(why, "empty RSA signature");
        memcpy(out->sig, sp, sn);
        out->sig_len = sn;
    }
    if (!reader_done(&r))
        return parse_fail(why, "trailing bytes after TPMT_SIGNATURE");
    return 0;
}

/* ---- TPMT_PUBLIC ------------------------------------------------------------------------ */

/* TPMT_SYM_DEF_OBJECT (11.1.7) of a signing key: TPM_ALG_NULL, which has no keyBits/mode. */
static int read_symmetric_null(struct bytes_reader *r, const char **why)
{
    uint16_t alg = 0;
    if (!reader_u16(r, &alg))
        return parse_fail(why, "truncated TPMT_PUBLIC parameters");
    if (alg != TPM_ALG_NULL)
        return parse_fail(why, "TPMT_PUBLIC symmetric must be TPM_ALG_NULL for a signing key");
    return 0;
}

/* TPMT_RSA_SCHEME / TPMT_ECC_SCHEME (11.2.4.2, 11.2.5.6): u16 scheme, then a TPMS_SCHEME_HASH
 * unless it is TPM_ALG_NULL. a and b are the allowed non-NULL schemes. */
static int read_sig_scheme(struct bytes_reader *r, uint16_t a, uint16_t b, const char **why)
{
    uint16_t scheme = 0, hash = 0;
    if (!reader_u16(r, &scheme))
        return parse_fail(why, "truncated TPMT_PUBLIC scheme");
    if (scheme == TPM_ALG_NULL)
        return 0;
    if (scheme != a && scheme != b)
        return parse_fail(why, "TPMT_PUBLIC scheme is not a supported signing scheme");
    if (!reader_u16(r, &hash))
        return parse_fail(why, "truncated TPMT_PUBLIC scheme");
    if (tpm_hash_size(hash) == 0)
        return parse_fail(why, "TPMT_PUBLIC scheme hash algorithm unsupported");
    return 0;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_key(const uint8_t *n, size_t n_len, uint32_t e)
{
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL);
    BIGNUM *be = BN_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bn && be && bld && BN_set_word(be, e) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
        pkey = pkey_fromdata("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return pkey;
}

static EVP_PKEY *ec_key(const char *group, const uint8_t *x, const uint8_t *y, size_t coord)
{
    uint8_t point[1 + 2 * 48];
    EVP_PKEY *pkey = NULL;
    if (coord > 48)
        return NULL;
    point[0] = 0x04; /* SEC 1 uncompressed point */
    memcpy(point + 1, x, coord);
    memcpy(point + 1 + coord, y, coord);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * coord) == 1)
        pkey = pkey_fromdata("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* The point is on the curve. (Not used for RSA: OpenSSL's RSA public check runs a
 * Miller-Rabin test on n, ~4 ms for RSA-2048; the parser checks n odd and e odd itself.) */
static EVP_PKEY *on_curve(EVP_PKEY *pkey)
{
    if (!pkey)
        return NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!ctx || EVP_PKEY_public_check_quick(ctx) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

int tpm_public_parse(const uint8_t *buf, size_t len, struct tpm_public *out, EVP_PKEY **key,
                     const char **why)
{
    if (why)
        *why = NULL;
    if (key)
        *key = NULL;
    if (!out || !key)
        return parse_fail(why, "no output");
    memset(out, 0, sizeof *out);
    if (!buf)
        return parse_fail(why, "no TPMT_PUBLIC");
    if (len > TPM_MAX_PUBLIC)
        return parse_fail(why, "TPMT_PUBLIC too large");
    struct bytes_reader r;
    reader_init(&r, buf, len);

    uint16_t type = 0, name_alg = 0;
    uint32_t attrs = 0;
    reader_u16(&r, &type);
    reader_u16(&r, &name_alg);
    reader_u32(&r, &attrs);
    if (r.failed)
        return parse_fail(why, "truncated TPMT_PUBLIC header");
    if (type != TPM_ALG_RSA && type != TPM_ALG_ECC)
        return parse_fail(why, "TPMT_PUBLIC type is not RSA or ECC");
    /* +TPMI_ALG_HASH admits TPM_ALG_NULL (no name); a quoting key needs a name. */
    const EVP_MD *name_md = tpm_hash_md(name_alg);
    if (!name_md)
        return parse_fail(why, "TPMT_PUBLIC nameAlg unsupported");
    const uint8_t *policy = NULL;
    size_t policy_len = 0;
    if (!read_tpm2b(&r, TPM_MAX_DIGEST, &policy, &policy_len))
        return parse_fail(why, "bad authPolicy (TPM2B_DIGEST larger than 64 bytes or truncated)");

    EVP_PKEY *pkey = NULL;
    if (type == TPM_ALG_RSA) {
        uint16_t bits = 0;
        uint32_t exponent = 0;
        if (read_symmetric_null(&r, why) != 0 ||
            read_sig_scheme(&r, TPM_ALG_RSASSA, TPM_ALG_RSAPSS, why) != 0)
            return -1;
        reader_u16(&r, &bits);
        reader_u32(&r, &exponent);
        if (r.failed)
            return parse_fail(why, "truncated TPMS_RSA_PARMS");
        if (bits != 2048 && bits != 3072 && bits != 4096)
            return parse_fail(why, "TPMT_PUBLIC RSA keyBits must be 2048, 3072 or 4096");
        if (exponent == 0)
            exponent = 65537; /* 12.2.3.5: zero means the default exponent 2^16 + 1 */
        if (exponent < 3 || (exponent & 1) == 0)
            return parse_fail(why, "TPMT_PUBLIC RSA exponent is not an odd number > 1");
        const uint8_t *n = NULL;
        size_t n_len = 0;
        if (!read_tpm2b(&r, TPM_MAX_RSA_BYTES, &n, &n_len))
            return parse_fail(why, "bad RSA unique (TPM2B_PUBLIC_KEY_RSA)");
        if (n_len != (size_t)bits / 8 || n[0] == 0)
            return parse_fail(why, "RSA modulus is not keyBits long");
        if ((n[n_len - 1] & 1) == 0)
            return parse_fail(why, "RSA modulus is even");
        if (!reader_done(&r))
            return parse_fail(why, "trailing bytes after TPMT_PUBLIC");
        pkey = rsa_key(n, n_len, exponent);
        if (!pkey)
            return parse_fail(why, "RSA public key rejected by OpenSSL");
    } else {
        uint16_t curve = 0, kdf = 0;
        if (read_symmetric_null(&r, why) != 0 ||
            read_sig_scheme(&r, TPM_ALG_ECDSA, TPM_ALG_ECDSA, why) != 0)
            return -1;
        reader_u16(&r, &curve);
        reader_u16(&r, &kdf);
        if (r.failed)
            return parse_fail(why, "truncated TPMS_ECC_PARMS");
        size_t coord;
        const char *group;
        if (curve == TPM_ECC_NIST_P256) {
            coord = 32;
            group = "prime256v1";
        } else if (curve == TPM_ECC_NIST_P384) {
            coord = 48;
            group = "secp384r1";
        } else {
            return parse_fail(why, "TPMT_PUBLIC ECC curve must be NIST P-256 or P-384");
        }
        if (kdf != TPM_ALG_NULL)
            return parse_fail(why, "TPMT_PUBLIC ECC kdf must be TPM_ALG_NULL");
        const uint8_t *x = NULL, *y = NULL;
        size_t x_len = 0, y_len = 0;
        if (!read_tpm2b(&r, TPM_MAX_ECC_BYTES, &x, &x_len) ||
            !read_tpm2b(&r, TPM_MAX_ECC_BYTES, &y, &y_len))
            return parse_fail(why, "bad ECC unique (TPMS_ECC_POINT)");
        if (x_len != coord || y_len != coord)
            return parse_fail(why, "ECC point coordinates are not the curve size");
        if (!reader_done(&r))
            return parse_fail(why, "trailing bytes after TPMT_PUBLIC");
        pkey = on_curve(ec_key(group, x, y, coord));
        if (!pkey)
            return parse_fail(why, "ECC public key is not a valid point on its curve");
    }

    /* Name (Part 1, 16 "Names"): nameAlg || H_nameAlg(TPMT_PUBLIC). */
    unsigned int dlen = 0;
    out->name[0] = (uint8_t)(name_alg >> 8);
    out->name[1] = (uint8_t)name_alg;
    if (EVP_Digest(buf, len, out->name + 2, &dlen, name_md, NULL) != 1 ||
        dlen != tpm_hash_size(name_alg)) {
        EVP_PKEY_free(pkey);
        return parse_fail(why, "name digest failed");
    }
    out->name_len = 2 + dlen;
    out->type = type;
    out->name_alg = name_alg;
    out->attributes = attrs;
    out->restricted = (attrs & TPMA_OBJECT_RESTRICTED) != 0;
    out->sign = (attrs & TPMA_OBJECT_SIGN) != 0;
    out->fixed_tpm = (attrs & TPMA_OBJECT_FIXEDTPM) != 0;
    out->sensitive_data_origin = (attrs & TPMA_OBJECT_SENSITIVEDATAORIGIN) != 0;
    *key = pkey;
    return 0;
}

/* ---- signature check -------------------------------------------------------------------- */

/* r || s (each half bytes, big-endian) as a DER ECDSA-Sig-Value; caller frees *der. */
static int ecdsa_der(const uint8_t *sig, size_t half, uint8_t **der, size_t *der_len)
{
    int ret = -1;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);
    if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
        goto out;
    r = s = NULL; /* owned by es */
    uint8_t *p = NULL;
    int n = i2d_ECDSA_SIG(es, &p);
    if (n <= 0)
        goto out;
    *der = p;
    *der_len = (size_t)n;
    ret = 0;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return ret;
}

int tpm_signature_verify(const struct tpm_signature *sig, EVP_PKEY *key, const uint8_t *attest,
                         size_t attest_len)
{
    if (!sig || !key || !attest || attest_len == 0 || sig->sig_len == 0 ||
        sig->sig_len > sizeof sig->sig)
        return -1;
    const EVP_MD *md = tpm_hash_md(sig->hash_alg);
    if (!md)
        return -1;
    int kt = EVP_PKEY_get_base_id(key);
    const uint8_t *s = sig->sig;
    size_t s_len = sig->sig_len;
    uint8_t *der = NULL;
    switch (sig->sig_alg) {
    case TPM_ALG_RSASSA:
        if (kt != EVP_PKEY_RSA)
            return -1;
        break;
    case TPM_ALG_RSAPSS:
        if (kt != EVP_PKEY_RSA && kt != EVP_PKEY_RSA_PSS)
            return -1;
        break;
    case TPM_ALG_ECDSA:
        if (kt != EVP_PKEY_EC || sig->ecdsa_half == 0 || 2 * sig->ecdsa_half != sig->sig_len)
            return -1;
        if (ecdsa_der(sig->sig, sig->ecdsa_half, &der, &s_len) != 0)
            return -1;
        s = der;
        break;
    default:
        return -1;
    }
    /* An RSASSA or RSAPSS signature is exactly k = modulus-size bytes (RFC 8017 8.1.1, 8.2.1);
     * the TPM's TPM2B_PUBLIC_KEY_RSA carries all k bytes, leading zeros included. */
    if (kt != EVP_PKEY_EC && s_len != (size_t)EVP_PKEY_get_size(key))
        return -1;

    int ok = 0;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (!mctx || EVP_DigestVerifyInit(mctx, &pctx, md, NULL, key) != 1)
        goto out;
    if (sig->sig_alg == TPM_ALG_RSASSA) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
            goto out;
    } else if (sig->sig_alg == TPM_ALG_RSAPSS) {
        /* Part 1 (rev 1.38+) B.7: the TPM's salt is "the largest size allowed by the key size
         * and message digest size", or, for a TPM compliant with FIPS 186-4, the digest size
         * (libtpms uses the digest size where it fits). The hash and MGF1 hash are the scheme's hash (Part 2,
         * 11.2.1.2). Neither length is signalled in the signature, so the salt length is
         * recovered from the encoding (RSA_PSS_SALTLEN_AUTO); any salt length is a sound PSS
         * signature by the key, so accepting both conventions weakens nothing. */
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1)
            goto out;
    }
    ok = EVP_DigestVerify(mctx, s, s_len, attest, attest_len) == 1;
out:
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(der);
    return ok ? 0 : -1;
}

/* ---- PCR digest ------------------------------------------------------------------------- */

static const struct tpm_pcr_bank *find_bank(const struct tpm_pcr_bank *banks, size_t n,
                                            uint16_t alg)
{
    for (size_t i = 0; i < n; i++)
        if (banks[i].hash_alg == alg)
            return &banks[i];
    return NULL;
}

static const uint32_t PCR_ALL = (1u << TPM_PCRS) - 1;

/* Strict: the supplied values must be exactly the selected ones. A missing value is refused
 * (the digest cannot be formed), and so is a value the selection does not cover (nothing
 * signed it, so no caller may read it as attested), and a bank supplied twice. */
int tpm_pcr_digest(const struct tpm_pcr_selection *sel, const struct tpm_pcr_bank *banks,
                   size_t n_banks, uint16_t hash_alg, uint8_t *out, size_t *out_len)
{
    if (!sel || !out || !out_len || (n_banks && !banks) || n_banks > TPM_MAX_BANKS ||
        sel->n_banks > TPM_MAX_BANKS)
        return -1;
    const EVP_MD *md = tpm_hash_md(hash_alg);
    if (!md)
        return -1;
    for (size_t i = 0; i < n_banks; i++) {
        if (find_bank(banks, i, banks[i].hash_alg))
            return -1; /* supplied twice */
        uint32_t want = 0;
        for (size_t j = 0; j < sel->n_banks; j++)
            if (sel->bank[j].hash_alg == banks[i].hash_alg)
                want = sel->bank[j].mask;
        if (banks[i].present != want)
            return -1; /* a value the quote does not cover, or one it needs that is absent */
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ret = -1;
    if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1)
        goto out;
    for (size_t j = 0; j < sel->n_banks; j++) {
        uint32_t mask = sel->bank[j].mask;
        size_t dsize = tpm_hash_size(sel->bank[j].hash_alg);
        if (dsize == 0 || (mask & ~PCR_ALL) != 0)
            goto out;
        for (size_t k = 0; k < j; k++)
            if (sel->bank[k].hash_alg == sel->bank[j].hash_alg)
                goto out;
        if (mask == 0)
            continue;
        const struct tpm_pcr_bank *b = find_bank(banks, n_banks, sel->bank[j].hash_alg);
        if (!b || (b->present & mask) != mask)
            goto out;
        for (unsigned i = 0; i < TPM_PCRS; i++)
            if ((mask >> i) & 1u)
                if (EVP_DigestUpdate(ctx, b->value[i], dsize) != 1)
                    goto out;
    }
    unsigned int dlen = 0;
    if (EVP_DigestFinal_ex(ctx, out, &dlen) != 1)
        goto out;
    *out_len = dlen;
    ret = 0;
out:
    EVP_MD_CTX_free(ctx);
    return ret;
}
