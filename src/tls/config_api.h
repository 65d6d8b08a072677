/*
 * config_api.h - what the sans-IO layers may see of struct tether_config (no OpenSSL SSL
 * types): the policy and the error slot. Used by the public offline verifier.
 */
#ifndef TETHER_TLS_CONFIG_API_H
#define TETHER_TLS_CONFIG_API_H

#include "policy/policy.h"
#include "util/util.h"

struct tether_config;
const struct policy *config_policy(const struct tether_config *cfg);
struct error_state *config_error(struct tether_config *cfg);

#endif
