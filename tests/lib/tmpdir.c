/*
 * tmpdir.c - temporary directory helpers (tmpdir.h).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tmpdir.h"

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

int tmpdir_file_mode(const char *dir, const char *rel, mode_t *mode)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    if (stat(p, &st) != 0)
        return 0;
    if (mode)
        *mode = st.st_mode & 07777;
    return 1;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

void tmpdir_remove(const char *dir)
{
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}
