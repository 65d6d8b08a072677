/*
 * tmpdir.h - temporary directory helpers for the cache tests (test_collateral.c, test_pcs.c).
 * Test code only.
 */
#ifndef TETHER_TEST_TMPDIR_H
#define TETHER_TEST_TMPDIR_H

#include <sys/types.h>

/* 1 if dir/rel exists (*mode, when not NULL, gets its permission bits), 0 if not. */
int tmpdir_file_mode(const char *dir, const char *rel, mode_t *mode);
/* rm -r dir (no symlink is followed). */
void tmpdir_remove(const char *dir);

#endif
