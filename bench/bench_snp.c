/*
 * bench_snp.c - AMD SEV-SNP verifications per second per core with a warm chain cache,
 * against OpenSSL's own ECDSA P-384 verification rate measured in the same process.
 *   (a) EVP_DigestVerify (SHA-384, P-384) of the report's signature over its 672 signed
 *       bytes with the VCEK's key: the one public-key operation a warm verification needs;
 *   (b) tether_verify of the same report with the VCEK as collateral and a policy accepting
 *       it (the chain is verified once, then cached per policy entry).
 * Five rounds, each runs (a) then (b) N times; the median ops/s of each and the ratio
 * cost(b)/cost(a) are reported. Output: one JSON line (docs/performance.md).
 * Usage: bench_snp REPORT.bin VCEK.der [N]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bench_util.h"
#include "tether.h"

#define SIGNED_LEN 0x2A0

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_snp REPORT.bin VCEK.der [N]\n");
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 300;
    if (n < 10)
        n = 10;
    size_t rlen = 0, vlen = 0;
    unsigned char *rep = slurp(argv[1], &rlen), *vcek = slurp(argv[2], &vlen);
    if (!rep || !vcek || rlen != 1184) {
        fprintf(stderr, "bench_snp: cannot read a 1184-byte report and a VCEK\n");
        return 1;
    }
    const unsigned char *p = vcek;
    X509 *x = d2i_X509(NULL, &p, (long)vlen);
    EVP_PKEY *pub = x ? X509_get0_pubkey(x) : NULL;
    /* The signature: R and S little-endian, 72 bytes each, at 0x2A0 and 0x2E8. */
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *br = BN_lebin2bn(rep + 0x2A0, 72, NULL), *bs = BN_lebin2bn(rep + 0x2E8, 72, NULL);
    unsigned char *sig = NULL;
    int siglen = es && br && bs && ECDSA_SIG_set0(es, br, bs) == 1 ? i2d_ECDSA_SIG(es, &sig) : 0;
    if (!pub || siglen <= 0) {
        fprintf(stderr, "bench_snp: bad VCEK or signature\n");
        return 1;
    }

    /* The policy: accept snp (built-in AMD roots) with this report's measurement; the test
     * vector is a debug guest. */
    char meas[97], policy[512];
    for (int i = 0; i < 48; i++)
        snprintf(meas + 2 * i, 3, "%02x", rep[0x90 + i]);
    snprintf(policy, sizeof policy,
             "{\"tether_policy\":1,\"allow_debug\":true,"
             "\"accept\":{\"snp\":{\"measurements\":[\"%s\"]}}}",
             meas);
    struct tether_config *cfg = tether_config_new();
    if (!cfg || tether_config_set_policy_json(cfg, policy, NULL) != 0) {
        fprintf(stderr, "bench_snp: policy: %s\n", cfg ? tether_config_error(cfg) : "oom");
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s", argv[2]);
    const char *coll[] = {path, NULL};
    struct tether_verify_params vp = {.evidence = rep, .evidence_len = rlen, .collateral = coll};

    /* Warm up both, and check that the verification passes (else the figure is meaningless). */
    if (bench_verify_passes("bench_snp", cfg, &vp) != 0)
        return 1;

    double ra[ROUNDS], rb[ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            EVP_MD_CTX *md = EVP_MD_CTX_new();
            if (!md || EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, pub) != 1 ||
                EVP_DigestVerify(md, sig, (size_t)siglen, rep, SIGNED_LEN) != 1) {
                fprintf(stderr, "bench_snp: P-384 verify failed\n");
                return 1;
            }
            EVP_MD_CTX_free(md);
        }
        double t1 = now_s();
        if (bench_verify_n("bench_snp", cfg, &vp, n) != 0)
            return 1;
        double t2 = now_s();
        ra[round] = n / (t1 - t0);
        rb[round] = n / (t2 - t1);
    }
    double ratios[ROUNDS];
    for (int i = 0; i < ROUNDS; i++)
        ratios[i] = ra[i] / rb[i]; /* cost(b)/cost(a) of the same round */
    bench_report(n, ra, rb, ratios, "p384_verify_per_s", "snp_verify_per_s", "P-384 verify",
                 "SNP verification, warm cache", "1.2");
    OPENSSL_free(sig);
    ECDSA_SIG_free(es);
    X509_free(x);
    free(rep);
    free(vcek);
    tether_config_free(cfg);
    return 0;
}
