#ifndef CAIRN_GEAR_CDC_H
#define CAIRN_GEAR_CDC_H

#include <stddef.h>
#include <stdint.h>

/* Normalized gear chunking. The semantics are pinned by the TypeScript
 * reference in src/chunking/gear-chunker.ts; tests compare the two. */
typedef struct {
  const uint32_t *gear; /* 256 entries */
  uint32_t min_size;
  uint32_t normal_size;
  uint32_t max_size;
  uint32_t mask_small; /* used before normal_size: more bits, cuts are rarer */
  uint32_t mask_large; /* used after normal_size: fewer bits, cuts are likelier */
} gear_params;

/* Finds the cuts of every chunk that is fully determined by data[0, length).
 * Writes chunk end offsets (exclusive, relative to data) into cuts, at most
 * max_cuts of them, and returns how many were written. When final is 0, a
 * chunk whose boundary could still depend on bytes after length is left for
 * the caller to resubmit together with more data. */
size_t gear_find_cuts(const uint8_t *data, size_t length, int final,
                      const gear_params *params, uint32_t *cuts,
                      size_t max_cuts);

/* The same search one byte at a time, on any CPU: what gear_find_cuts does
 * where the vector search cannot run, and what tests hold it to. */
size_t gear_find_cuts_scalar(const uint8_t *data, size_t length, int final,
                             const gear_params *params, uint32_t *cuts,
                             size_t max_cuts);

/* Sixteen positions at a time (gear_cdc_avx512.c); only where
 * gear_avx512_supported() says the CPU has AVX-512 VBMI. */
size_t gear_find_cuts_avx512(const uint8_t *data, size_t length, int final,
                             const gear_params *params, uint32_t *cuts,
                             size_t max_cuts);
int gear_avx512_supported(void);

#endif
