#include "gear_cdc.h"

/* Returns the length of the chunk starting at p, or 0 when the boundary is
 * not yet determined by the available bytes. */
static size_t next_cut(const uint8_t *p, size_t available, int final,
                       const gear_params *g) {
  if (available <= g->min_size) {
    return final ? available : 0;
  }
  size_t end = available < g->max_size ? available : g->max_size;
  size_t normal = g->normal_size < end ? g->normal_size : end;
  const uint32_t *gear = g->gear;
  uint32_t h = 0;
  size_t i = g->min_size;
  for (; i < normal; i++) {
    h = (h << 1) + gear[p[i]];
    if ((h & g->mask_small) == 0) return i + 1;
  }
  for (; i < end; i++) {
    h = (h << 1) + gear[p[i]];
    if ((h & g->mask_large) == 0) return i + 1;
  }
  /* No content boundary before end: a forced cut at max_size is certain,
   * but a short remainder is only a chunk once the stream has ended. */
  if (end == g->max_size || final) return end;
  return 0;
}

size_t gear_find_cuts_scalar(const uint8_t *data, size_t length, int final,
                             const gear_params *params, uint32_t *cuts,
                             size_t max_cuts) {
  size_t start = 0;
  size_t count = 0;
  while (start < length && count < max_cuts) {
    size_t len = next_cut(data + start, length - start, final, params);
    if (len == 0) break;
    start += len;
    cuts[count++] = (uint32_t)start;
  }
  return count;
}

size_t gear_find_cuts(const uint8_t *data, size_t length, int final,
                      const gear_params *params, uint32_t *cuts,
                      size_t max_cuts) {
  /* Below a few registers past min_size the vector setup (the table's
   * planes) costs more than the bytes it would hash. */
  if (length > (size_t)params->min_size + 256 && gear_avx512_supported())
    return gear_find_cuts_avx512(data, length, final, params, cuts, max_cuts);
  return gear_find_cuts_scalar(data, length, final, params, cuts, max_cuts);
}
