/*
 * fake_tsm_tree.c - the synchronous fake configfs-tsm tree of the attester unit tests
 * (fake_tsm_tree.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_tsm_tree.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

void fake_tsm_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static uint64_t read_generation(const char *dir)
{
    char path[600], buf[32] = "";
    snprintf(path, sizeof path, "%s/generation", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    return strtoull(buf, NULL, 10);
}

void fake_tsm_bump_generation(const char *dir, int n)
{
    char buf[32];
    uint64_t v = read_generation(dir) + (uint64_t)n;
    snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)v);
    fake_tsm_write_file(dir, "generation", buf, strlen(buf));
}

int fake_tsm_make_dir(void *ctx, const char *path)
{
    struct fake_tsm_tree *t = ctx;
    if (tsm_posix_ops.make_dir(NULL, path) != 0)
        return -1;
    t->made++;
    char buf[64];
    snprintf(buf, sizeof buf, "%s\n", t->provider);
    fake_tsm_write_file(path, "provider", buf, strlen(buf));
    snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)t->generation);
    fake_tsm_write_file(path, "generation", buf, strlen(buf));
    fake_tsm_write_file(path, "inblob", "", 0);
    if (t->hooks && t->hooks->made)
        t->hooks->made(t, path);
    return 0;
}

int fake_tsm_remove_dir(void *ctx, const char *path)
{
    struct fake_tsm_tree *t = ctx;
    /* configfs removes the attributes with the directory. */
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                char p[800];
                snprintf(p, sizeof p, "%s/%s", path, de->d_name);
                unlink(p);
            }
        }
        closedir(d);
    }
    if (tsm_posix_ops.remove_dir(NULL, path) != 0)
        return -1;
    t->removed++;
    return 0;
}

int fake_tsm_read_attr(void *ctx, const char *path, size_t max, uint8_t **out, size_t *len)
{
    (void)ctx;
    return tsm_posix_ops.read_attr(NULL, path, max, out, len);
}

int fake_tsm_write_attr(void *ctx, const char *path, const uint8_t *data, size_t len)
{
    struct fake_tsm_tree *t = ctx;
    if (tsm_posix_ops.write_attr(NULL, path, data, len) != 0)
        return -1;
    char dir[600];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    assert_non_null(slash);
    *slash = '\0';
    fake_tsm_bump_generation(dir, 1);
    if (t->hooks && t->hooks->written)
        t->hooks->written(t, dir, slash + 1, data, len);
    return 0;
}

int fake_tsm_tree_setup(void **state, struct fake_tsm_tree *t, const char *tag,
                        const char *provider, uint64_t generation,
                        const struct fake_tsm_hooks *hooks)
{
    *state = t;
    memset(t, 0, sizeof *t);
    t->provider = provider;
    t->generation = generation;
    t->hooks = hooks;
    snprintf(t->root, sizeof t->root, "/tmp/tether-%s-XXXXXX", tag);
    return mkdtemp(t->root) ? 0 : -1;
}

int fake_tsm_tree_teardown(void **state)
{
    const struct fake_tsm_tree *t = *state;
    rmdir(t->root);
    return 0;
}

bool fake_tsm_dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    bool empty = true;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = false;
    closedir(d);
    return empty;
}

void fake_tsm_tree_assert_clean(const struct fake_tsm_tree *t)
{
    assert_int_equal(t->made, 1);
    assert_int_equal(t->removed, 1);
    assert_true(fake_tsm_dir_is_empty(t->root));
}

int fake_tsm_test_binder(struct binder *b)
{
    uint8_t spki[91], exporter[32];
    memset(spki, 0x42, sizeof spki);
    memset(exporter, 0x24, sizeof exporter);
    return binder_compute(EVP_sha256(), spki, sizeof spki, exporter, b);
}
