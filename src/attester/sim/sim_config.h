/*
 * sim_config.h - the sim attester's sim.json (docs/sim.md), parsed from a byte buffer. Internal:
 * hidden like every library symbol (never part of the tether_ API); used by sim_attester.c,
 * which reads the file, and by fuzz/fuzz_sim_config.c.
 *
 * Must never read a file or keep a pointer into the input.
 */
#ifndef TETHER_SIM_CONFIG_H
#define TETHER_SIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence/sim/sim.h"

struct sim_config {
    uint8_t measurement[SIM_MEASUREMENT_LEN];
    uint8_t platform_id[SIM_PLATFORM_ID_LEN];
    uint32_t tcb_version;
    bool debug;
};

/* Parse sim.json from data[0..len) (name: the file name for messages, may be NULL). Exactly
 * the keys measurement (48-byte hex), platform_id (16-byte hex), tcb_version (0..2^32-1) and
 * debug (boolean), no duplicates. 0, or -1 with err set and *out zeroed. */
int sim_config_parse(const uint8_t *data, size_t len, const char *name, struct sim_config *out,
                     char *err, size_t errlen);

#endif
