#ifndef CAIRN_XXH64_H
#define CAIRN_XXH64_H

#include <stddef.h>
#include <stdint.h>

/* XXH64 as specified in the xxHash format description (little-endian reads). */
uint64_t cairn_xxh64(const uint8_t *data, size_t length, uint64_t seed);

#endif
