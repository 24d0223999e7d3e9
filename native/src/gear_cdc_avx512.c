#include "gear_cdc.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/*
 * The same cut search as gear_cdc.c, sixteen positions at a time.
 *
 * The scalar loop is one dependent step per byte (h = 2h + gear[b]) plus a
 * test and a branch, about six instructions a byte. Here a register of
 * sixteen positions costs about twenty-five vector instructions:
 *
 * - Table lookups without gathers: the 256-entry table is held as four byte
 *   planes of 256 bytes (four registers each) and looked up with VPERMI2B,
 *   sixty-four positions at a time. The input bytes are first permuted so that
 *   interleaving the four planes' bytes leaves each position's 32-bit entry in
 *   position order.
 * - The recurrence as a prefix sum: within sixteen positions,
 *   h[i] = sum over k <= i of entry[i - k] << k, in four shift-and-add steps;
 *   the hash carried in from the position before adds (carry << (i + 1)).
 *   Only the carry crosses from one register to the next, in two steps.
 * - One test a register: a position that is a cut under either mask has
 *   (h & mask_small & mask_large) == 0, so that test (about one position in
 *   8 KiB passes it with the default masks) picks the positions the exact
 *   test then runs on. Lanes past the end are dropped there too.
 *
 * Arithmetic is modulo 2^32 throughout, as in the scalar loop, so the cuts
 * are the same cuts; tests hold the two (and the TypeScript reference) to it.
 */

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi,bmi,bmi2")))

typedef struct {
  __m512i plane[4][4];
} gear_planes;

TARGET static void planes_of(const uint32_t *gear, gear_planes *t) {
  uint8_t bytes[256];
  for (int b = 0; b < 4; b++) {
    for (int i = 0; i < 256; i++) bytes[i] = (uint8_t)(gear[i] >> (8 * b));
    for (int r = 0; r < 4; r++) t->plane[b][r] = _mm512_loadu_si512(bytes + 64 * r);
  }
}

/* The sixty-four positions' entries, sixteen to a register, in position order. */
TARGET static inline void entries64(__m512i x, const gear_planes *t, __m512i perm, __m512i d[4]) {
  x = _mm512_permutexvar_epi8(perm, x);
  __mmask64 upper = _mm512_movepi8_mask(x);
  __m512i p[4];
  for (int b = 0; b < 4; b++) {
    __m512i lo = _mm512_permutex2var_epi8(t->plane[b][0], x, t->plane[b][1]);
    __m512i hi = _mm512_permutex2var_epi8(t->plane[b][2], x, t->plane[b][3]);
    p[b] = _mm512_mask_blend_epi8(upper, lo, hi);
  }
  __m512i w01lo = _mm512_unpacklo_epi8(p[0], p[1]), w01hi = _mm512_unpackhi_epi8(p[0], p[1]);
  __m512i w23lo = _mm512_unpacklo_epi8(p[2], p[3]), w23hi = _mm512_unpackhi_epi8(p[2], p[3]);
  d[0] = _mm512_unpacklo_epi16(w01lo, w23lo);
  d[1] = _mm512_unpackhi_epi16(w01lo, w23lo);
  d[2] = _mm512_unpacklo_epi16(w01hi, w23hi);
  d[3] = _mm512_unpackhi_epi16(w01hi, w23hi);
}

/* x[i] + (x[i - n] << n) in every lane, x[i - n] being 0 below lane n. */
#define SCAN_STEP(x, n) _mm512_add_epi32((x), _mm512_slli_epi32(_mm512_alignr_epi32((x), _mm512_setzero_si512(), 16 - (n)), (n)))

TARGET size_t gear_find_cuts_avx512(const uint8_t *data, size_t length, int final, const gear_params *g, uint32_t *cuts, size_t max_cuts) {
  gear_planes t;
  planes_of(g->gear, &t);
  /* Byte 16k + 4m + j takes position 16m + 4k + j: the unpacks interleave within 128-bit lanes. */
  uint8_t order[64];
  for (int k = 0; k < 4; k++)
    for (int m = 0; m < 4; m++)
      for (int j = 0; j < 4; j++) order[16 * k + 4 * m + j] = (uint8_t)(16 * m + 4 * k + j);
  const __m512i perm = _mm512_loadu_si512(order);
  const __m512i shifts = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
  const __m512i lane15 = _mm512_set1_epi32(15);
  const __m512i both = _mm512_set1_epi32((int)(g->mask_small & g->mask_large));
  size_t start = 0, count = 0;
  while (start < length && count < max_cuts) {
    const uint8_t *p = data + start;
    size_t available = length - start, len = 0;
    if (available <= g->min_size) {
      if (!final) break;
      len = available;
    } else {
      size_t end = available < g->max_size ? available : g->max_size;
      size_t normal = g->normal_size < end ? g->normal_size : end;
      __m512i carry = _mm512_setzero_si512(); /* the hash at the position before, in every lane */
      for (size_t i = g->min_size; i < end && !len; i += 64) {
        size_t n = end - i;
        __m512i x = n >= 64 ? _mm512_loadu_si512(p + i) : _mm512_maskz_loadu_epi8(_bzhi_u64(~0ull, (unsigned)n), p + i);
        __m512i d[4];
        entries64(x, &t, perm, d);
        for (int m = 0; m < 4; m++) {
          size_t base = i + 16 * (size_t)m;
          if (base >= end) break;
          __m512i v = SCAN_STEP(SCAN_STEP(SCAN_STEP(SCAN_STEP(d[m], 1), 2), 4), 8);
          __m512i h = _mm512_add_epi32(v, _mm512_sllv_epi32(carry, shifts));
          uint32_t maybe = _mm512_testn_epi32_mask(h, both);
          if (__builtin_expect(maybe != 0, 0)) {
            uint32_t lanes[16];
            _mm512_storeu_si512(lanes, h);
            for (; maybe; maybe &= maybe - 1) {
              unsigned l = (unsigned)__builtin_ctz(maybe);
              size_t at = base + l;
              if (at >= end) break;
              if (!(lanes[l] & (at < normal ? g->mask_small : g->mask_large))) {
                len = at + 1;
                break;
              }
            }
            if (len) break;
          }
          carry = _mm512_add_epi32(_mm512_permutexvar_epi32(lane15, v), _mm512_slli_epi32(carry, 16));
        }
      }
      if (!len) {
        /* As the scalar loop: a forced cut at max_size, or the stream's end. */
        if (end != g->max_size && !final) break;
        len = end;
      }
    }
    start += len;
    cuts[count++] = (uint32_t)start;
  }
  return count;
}

int gear_avx512_supported(void) {
  /* Not cached: workers call this at once, and the check is a few loads. */
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi") &&
         __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
}

#else

size_t gear_find_cuts_avx512(const uint8_t *data, size_t length, int final, const gear_params *g, uint32_t *cuts, size_t max_cuts) {
  (void)data, (void)length, (void)final, (void)g, (void)cuts, (void)max_cuts;
  return 0;
}

int gear_avx512_supported(void) { return 0; }

#endif
