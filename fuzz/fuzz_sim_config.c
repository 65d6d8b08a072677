/*
 * fuzz_sim_config.c - libFuzzer harness for the sim attester's sim.json parser
 * (src/attester/sim/sim_attester.c sim_config_parse, the buffer-level half of load_config).
 * Invariants: a rejection always says why (a terminated, non-empty message) and leaves the
 * output zeroed; an accepted config has exactly the four keys, and its canonical JSON
 * (re-encoded here with jansson) parses back to the same fields. Parsing is deterministic.
 * Seeds: fuzz/seeds/sim_config/ (what tether_sim_provision writes, and small variants).
 * Must never touch the network or read or write files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attester/sim/sim_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct sim_config zero;
    struct sim_config c, again;
    char err[512];
    err[0] = '\0';
    /* A copy of exactly size bytes (never NUL-terminated), so ASan sees any read past it. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    if (sim_config_parse(buf, size, "sim.json", &c, err, sizeof err) != 0) {
        if (!memchr(err, '\0', sizeof err) || !err[0] || memcmp(&c, &zero, sizeof c) != 0)
            abort();
        free(buf);
        return 0;
    }
    if (sim_config_parse(buf, size, NULL, &again, err, sizeof err) != 0 ||
        memcmp(&c, &again, sizeof c) != 0)
        abort(); /* deterministic */
    free(buf);

    /* Canonical form: parses back to the same fields. */
    char m[2 * SIM_MEASUREMENT_LEN + 1], p[2 * SIM_PLATFORM_ID_LEN + 1];
    hex(c.measurement, sizeof c.measurement, m);
    hex(c.platform_id, sizeof c.platform_id, p);
    json_t *o = json_pack("{s:s, s:s, s:I, s:b}", "measurement", m, "platform_id", p,
                          "tcb_version", (json_int_t)c.tcb_version, "debug", c.debug ? 1 : 0);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!s)
        return 0; /* out of memory */
    if (sim_config_parse((const uint8_t *)s, strlen(s), NULL, &again, err, sizeof err) != 0 ||
        memcmp(&c, &again, sizeof c) != 0)
        abort();
    free(s);
    return 0;
}
