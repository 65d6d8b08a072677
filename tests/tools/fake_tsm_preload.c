/*
 * fake_tsm_preload.c - TEST-ONLY LD_PRELOAD shim (build/tests/fake_tsm_preload.so) giving a
 * normal directory the two configfs properties an asynchronous fake cannot provide; used by
 * tests/cli/snp_e2e.sh with tests/tools/fake_sev_guest.c. Never part of libtether or tether.
 *
 * With TETHER_FAKE_TSM_ROOT=DIR in the environment, for a directory directly under DIR:
 *   mkdir: configfs creates an item's attributes inside mkdir(2), so the attester reads
 *          `provider` right after it. Here mkdir returns only once the fake kernel has
 *          populated the entry (it renames `provider` in last), or after 5 s.
 *   rmdir: configfs removes the attributes with the item; a normal directory must be empty.
 *          Here the known attribute names are unlinked first.
 * Everything else (what is read, written, checked) is the unmodified production attester.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static const char *const ATTRS[] = {"provider", "generation", "privlevel_floor", "privlevel",
                                    "inblob", "outblob", "auxblob"};

/* True if path is DIR/NAME with DIR the fake root and NAME one component. */
static int under_root(const char *path)
{
    const char *root = getenv("TETHER_FAKE_TSM_ROOT");
    if (!root || !root[0])
        return 0;
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (strncmp(path, root, n) != 0 || path[n] != '/' || !path[n + 1])
        return 0;
    return strchr(path + n + 1, '/') == NULL;
}

int mkdir(const char *path, mode_t mode)
{
    int (*real)(const char *, mode_t) = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    int rc = real(path, mode);
    if (rc != 0 || !under_root(path))
        return rc;
    int e = errno;
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/provider", path) < (int)sizeof p) {
        for (int i = 0; i < 5000 && access(p, F_OK) != 0; i++)
            poll(NULL, 0, 1);
    }
    errno = e;
    return 0;
}

int rmdir(const char *path)
{
    int (*real)(const char *) = (int (*)(const char *))dlsym(RTLD_NEXT, "rmdir");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    if (under_root(path)) {
        char p[PATH_MAX];
        for (size_t i = 0; i < sizeof ATTRS / sizeof ATTRS[0]; i++)
            if (snprintf(p, sizeof p, "%s/%s", path, ATTRS[i]) < (int)sizeof p)
                unlink(p);
    }
    return real(path);
}
