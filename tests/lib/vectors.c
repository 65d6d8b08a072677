/*
 * vectors.c - reading the shared test vectors (vectors.h).
 */
#include "vectors.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/util.h"

uint8_t *test_vector(const char *what, const char *rel, size_t *len)
{
    const char *v = getenv("TETHER_VECTORS");
    char path[1200];
    uint8_t *data = NULL;
    snprintf(path, sizeof path, "%s/%s", v ? v : "../shared/vectors", rel);
    if (file_read(path, 1u << 20, &data, len) != 0) {
        fprintf(stderr, "# skip: %s vector %s not found (set TETHER_VECTORS)\n", what, path);
        return NULL;
    }
    return data;
}
