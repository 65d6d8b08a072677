/*
 * core_hooks.h - extra TEST-ONLY hooks of the connection layer (src/tls/conn.c under
 * TETHER_TEST_HOOKS), used by the role-separation tests. Never in libtether or the CLI.
 */
#ifndef TETHER_TEST_CORE_HOOKS_H
#define TETHER_TEST_CORE_HOOKS_H

#include "tether.h"

/* Make the connection's own authenticators bind their evidence with binder_label (NULL: the
 * role's label) and name payload_label in the payload (NULL: the role's label). The strings
 * are borrowed and must outlive the connection. */
void tether_test_set_labels(struct tether *ctx, const char *binder_label,
                            const char *payload_label);

#endif
