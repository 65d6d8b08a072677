/*
 * bench_dcap.c - Intel TDX quote verifications per second per core with warm collateral,
 * against the cost of the two P-256 signature verifications every verification must do,
 * measured with OpenSSL in the same process and round:
 *   (a) EVP_DigestVerify (SHA-256, P-256) of the QE report signature (PCK key) and of the
 *       quote signature (attestation key), keys imported once, outside the loop;
 *   (b) tether_verify of the same quote against a policy that accepts its MRTD and holds the
 *       collateral (TCB Info, QE Identity, CRLs, loaded and verified once: "warm"), at a time
 *       inside the collateral's window. Everything else — quote parsing, PEM chain decoding,
 *       chain-cache lookup, the attestation key import from the quote, the QE binding hash,
 *       PCK extensions, TCB-status algorithm, revocation lookups, claims and report — is
 *       the overhead measured.
 * Five rounds, each runs (a) then (b) N times; the median ops/s of each and the ratio
 * cost(b)/cost(a) are reported. Output: one JSON line (docs/performance.md).
 * Usage: bench_dcap QUOTE(v4) COLLATERAL AT(RFC3339) [N]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bench_util.h"
#include "tether.h"

/* Quote v4 layout (Intel TDX DCAP Quoting Library API A.3): 48-byte header, 584-byte TD 1.0
 * body, u32 signature data length, signature, attestation key, certification data type 6
 * (u16 type, u32 size) holding the 384-byte QE report and its signature. */
#define SIGNED_LEN 632
#define SIG_OFF 636
#define AKEY_OFF 700
#define QE_REPORT_OFF 770
#define QE_SIG_OFF 1154
#define MRTD_OFF (48 + 136)

static int der_sig(const unsigned char rs[64], unsigned char **out)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
    int n = es && r && s && ECDSA_SIG_set0(es, r, s) == 1 ? i2d_ECDSA_SIG(es, out) : 0;
    ECDSA_SIG_free(es);
    return n;
}

static EVP_PKEY *p256(const unsigned char xy[64])
{
    unsigned char pt[65] = {0x04};
    memcpy(pt + 1, xy, 64);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt);
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    if (!c || EVP_PKEY_fromdata_init(c) != 1 || EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p) != 1)
        k = NULL;
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(b);
    return k;
}

static int verify(EVP_PKEY *k, const unsigned char *sig, int siglen, const unsigned char *msg,
                  size_t n)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestVerify(md, sig, (size_t)siglen, msg, n) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_dcap QUOTE COLLATERAL AT [N]\n");
        return 2;
    }
    int n = argc > 4 ? atoi(argv[4]) : 300;
    if (n < 10)
        n = 10;
    size_t qlen = 0;
    unsigned char *q = slurp(argv[1], &qlen);
    if (!q || qlen < QE_SIG_OFF + 64 || q[0] != 4) {
        fprintf(stderr, "bench_dcap: cannot read a TDX v4 quote from %s\n", argv[1]);
        return 1;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!strptime(argv[3], "%Y-%m-%dT%H:%M:%SZ", &tm)) {
        fprintf(stderr, "bench_dcap: AT must be RFC 3339 UTC\n");
        return 2;
    }
    time_t at = timegm(&tm);

    /* (a)'s material: the PCK leaf from the quote's PEM chain, the attestation key. */
    const char *pem = memmem(q, qlen, "-----BEGIN CERTIFICATE-----", 27);
    BIO *bio = pem ? BIO_new_mem_buf(pem, (int)(qlen - (size_t)((const unsigned char *)pem - q)))
                   : NULL;
    X509 *leaf = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    EVP_PKEY *pck = leaf ? X509_get0_pubkey(leaf) : NULL, *ak = p256(q + AKEY_OFF);
    unsigned char *qsig = NULL, *esig = NULL;
    int qsl = der_sig(q + SIG_OFF, &qsig), esl = der_sig(q + QE_SIG_OFF, &esig);
    if (!pck || !ak || qsl <= 0 || esl <= 0 || verify(ak, qsig, qsl, q, SIGNED_LEN) != 0 ||
        verify(pck, esig, esl, q + QE_REPORT_OFF, 384) != 0) {
        fprintf(stderr, "bench_dcap: the quote's two signatures do not verify\n");
        return 1;
    }

    /* (b): the policy holds the collateral. */
    char mrtd[97], policy[8192];
    for (int i = 0; i < 48; i++)
        snprintf(mrtd + 2 * i, 3, "%02x", q[MRTD_OFF + i]);
    char *coll = realpath(argv[2], NULL);
    if (!coll) {
        fprintf(stderr, "bench_dcap: %s not found\n", argv[2]);
        return 1;
    }
    snprintf(policy, sizeof policy,
             "{\"tether_policy\":1,\"allow_debug\":true,\"max_evidence_age_seconds\":0,"
             "\"accept\":{\"tdx\":{\"mrtd\":[\"%s\"],\"collateral\":[\"%s\"]}}}",
             mrtd, coll);
    free(coll);
    struct tether_config *cfg = tether_config_new();
    if (!cfg || tether_config_set_policy_json(cfg, policy, NULL) != 0) {
        fprintf(stderr, "bench_dcap: policy: %s\n", cfg ? tether_config_error(cfg) : "oom");
        return 1;
    }
    struct tether_verify_params vp = {.evidence = q, .evidence_len = qlen, .at = at};
    if (bench_verify_passes("bench_dcap", cfg, &vp) != 0)
        return 1;

    double ra[ROUNDS], rb[ROUNDS], ratios[ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_s();
        for (int i = 0; i < n; i++)
            if (verify(pck, esig, esl, q + QE_REPORT_OFF, 384) != 0 ||
                verify(ak, qsig, qsl, q, SIGNED_LEN) != 0) {
                fprintf(stderr, "bench_dcap: P-256 verify failed\n");
                return 1;
            }
        double t1 = now_s();
        if (bench_verify_n("bench_dcap", cfg, &vp, n) != 0)
            return 1;
        double t2 = now_s();
        ra[round] = n / (t1 - t0); /* pairs of P-256 verifications per second */
        rb[round] = n / (t2 - t1);
        ratios[round] = ra[round] / rb[round];
    }
    bench_report(n, ra, rb, ratios, "p256_verify_pairs_per_s", "tdx_verify_per_s",
                 "two P-256 verifies", "TDX quote verification, warm collateral", "1.5");
    OPENSSL_free(qsig);
    OPENSSL_free(esig);
    EVP_PKEY_free(ak);
    X509_free(leaf);
    free(q);
    tether_config_free(cfg);
    return 0;
}
