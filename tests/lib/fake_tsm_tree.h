/*
 * fake_tsm_tree.h - a synchronous fake configfs-tsm tree for the attester unit tests
 * (test_snp_attester.c, test_tdx_attester.c): the four filesystem primitives of attester/tsm.h
 * call the real POSIX ones on a mkdtemp directory and add what the kernel would do at once:
 * mkdir creates provider, generation and an empty inblob (then the backend's own attributes),
 * rmdir removes the attributes with the directory, and every write bumps generation (then the
 * backend answers it). Test code only; never touches a real configfs.
 */
#ifndef TETHER_TEST_FAKE_TSM_TREE_H
#define TETHER_TEST_FAKE_TSM_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attester/tsm.h"
#include "binding/binder.h"

struct fake_tsm_tree;

struct fake_tsm_hooks {
    /* After mkdir made provider, generation and inblob in dir. */
    void (*made)(struct fake_tsm_tree *t, const char *dir);
    /* After data was written to dir/attr and generation bumped once. */
    void (*written)(struct fake_tsm_tree *t, const char *dir, const char *attr,
                    const uint8_t *data, size_t len);
};

struct fake_tsm_tree {
    char root[256];       /* the mkdtemp report directory */
    const char *provider; /* written on mkdir */
    uint64_t generation;  /* starting value */
    int made, removed;    /* mkdir / rmdir calls that succeeded */
    const struct fake_tsm_hooks *hooks;
};

/* The ops table over t: {fake_tsm_*, .ctx = t}. */
#define FAKE_TSM_TREE_OPS(t)                                                                    \
    {                                                                                           \
        .make_dir = fake_tsm_make_dir, .remove_dir = fake_tsm_remove_dir,                       \
        .read_attr = fake_tsm_read_attr, .write_attr = fake_tsm_write_attr, .ctx = (t)          \
    }
int fake_tsm_make_dir(void *ctx, const char *path);
int fake_tsm_remove_dir(void *ctx, const char *path);
int fake_tsm_read_attr(void *ctx, const char *path, size_t max, uint8_t **out, size_t *len);
int fake_tsm_write_attr(void *ctx, const char *path, const uint8_t *data, size_t len);

/* Reset t and make its root /tmp/tether-<tag>-XXXXXX: 0, or -1 (a cmocka setup result);
 * state (cmocka's) gets t. */
int fake_tsm_tree_setup(void **state, struct fake_tsm_tree *t, const char *tag,
                        const char *provider, uint64_t generation,
                        const struct fake_tsm_hooks *hooks);
/* The cmocka teardown: remove the (empty) root of the tree in *state. */
int fake_tsm_tree_teardown(void **state);
/* After one evidence() call, whatever its result: the entry was made once and removed, and
 * nothing is left under the root (asserted). */
void fake_tsm_tree_assert_clean(const struct fake_tsm_tree *t);
/* The binder the attester tests request evidence for (fixed SPKI and exporter bytes). */
int fake_tsm_test_binder(struct binder *b);

/* dir/name with exactly these bytes (asserted). */
void fake_tsm_write_file(const char *dir, const char *name, const void *data, size_t len);
/* Add n to dir/generation: a racing writer. */
void fake_tsm_bump_generation(const char *dir, int n);
bool fake_tsm_dir_is_empty(const char *path);

#endif
