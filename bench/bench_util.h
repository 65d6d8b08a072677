/*
 * bench_util.h - helpers shared by the verification benchmarks (bench_snp.c, bench_dcap.c):
 * the clock, reading an input file, and the five-round "OpenSSL alone (a) vs tether_verify
 * (b)" protocol: warm-up check, timed loop of tether_verify, medians and the report (one
 * JSON line on stdout, a summary on stderr; docs/performance.md). Header-only.
 */
#ifndef TETHER_BENCH_UTIL_H
#define TETHER_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tether.h"

#define ROUNDS 5

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole file (at most 1 MiB); NULL if it cannot be opened. Caller frees. */
static inline unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One tether_verify that must pass (the warm-up: else the figure is meaningless). 0 or -1
 * with the reason on stderr. */
static inline int bench_verify_passes(const char *prog, struct tether_config *cfg,
                                      const struct tether_verify_params *vp)
{
    struct tether_result *res = tether_verify(cfg, vp);
    if (!res || tether_result_failed_code(res)) {
        fprintf(stderr, "%s: verification does not pass: %s/%s\n", prog,
                res ? tether_result_failed_check(res) : "?",
                res ? tether_result_failed_code(res) : tether_config_error(cfg));
        return -1;
    }
    tether_result_free(res);
    return 0;
}

/* n passing tether_verify calls (b); 0 or -1 with the reason on stderr. */
static inline int bench_verify_n(const char *prog, struct tether_config *cfg,
                                 const struct tether_verify_params *vp, int n)
{
    for (int i = 0; i < n; i++) {
        struct tether_result *res = tether_verify(cfg, vp);
        if (!res || tether_result_failed_code(res)) {
            fprintf(stderr, "%s: verification failed\n", prog);
            return -1;
        }
        tether_result_free(res);
    }
    return 0;
}

/* Sorts the per-round rates ra (a) and rb (b) and ratios (cost(b)/cost(a) of a round), then
 * prints {"ops", "rounds", a_key, b_key, "ratio_median", "ratio_of_medians"} on stdout and
 * "a_what: ops/s (us); b_what: ops/s (us); cost ratio (target <= target)" on stderr. */
static inline void bench_report(int n, double ra[ROUNDS], double rb[ROUNDS],
                                double ratios[ROUNDS], const char *a_key, const char *b_key,
                                const char *a_what, const char *b_what, const char *target)
{
    qsort(ra, ROUNDS, sizeof ra[0], cmp_double);
    qsort(rb, ROUNDS, sizeof rb[0], cmp_double);
    qsort(ratios, ROUNDS, sizeof ratios[0], cmp_double);
    printf("{\"ops\":%d,\"rounds\":%d,\"%s\":%.0f,\"%s\":%.0f,"
           "\"ratio_median\":%.3f,\"ratio_of_medians\":%.3f}\n",
           n, ROUNDS, a_key, ra[ROUNDS / 2], b_key, rb[ROUNDS / 2], ratios[ROUNDS / 2],
           ra[ROUNDS / 2] / rb[ROUNDS / 2]);
    fprintf(stderr, "%s: %.0f/s (%.1f us); %s: %.0f/s (%.1f us); cost ratio %.2f (target <= %s)\n",
            a_what, ra[ROUNDS / 2], 1e6 / ra[ROUNDS / 2], b_what, rb[ROUNDS / 2],
            1e6 / rb[ROUNDS / 2], ratios[ROUNDS / 2], target);
}

#endif
