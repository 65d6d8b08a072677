/*
 * vectors.h - reading the shared test vectors ($TETHER_VECTORS, ../shared/vectors by default).
 * Test code only.
 */
#ifndef TETHER_TEST_VECTORS_H
#define TETHER_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

/* The vector file rel (at most 1 MiB): caller frees. NULL when it cannot be read, with
 * "# skip: <what> vector <path> not found (set TETHER_VECTORS)" on stderr. */
uint8_t *test_vector(const char *what, const char *rel, size_t *len);

#endif
