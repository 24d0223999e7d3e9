/* MD5 over whole 64-byte blocks, one stream at a time or several side by side.
 * MD5 is one serial chain per stream, so one stream cannot go faster than one
 * core's chain. But one chain leaves most of the core's integer units idle:
 * two to four streams (the parts of multipart uploads, parallel PUTs) hashed
 * with their steps interleaved run at nearly the cost of one, and eight with
 * AVX-512VL, where a vector step has the same dependency chain as a scalar
 * step, cost a little more than one. Padding and partial blocks are the
 * caller's (src/chunking/md5.ts). */
#include "md5.h"
#include "md5_steps.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CAIRN_MD5_X86 1
#endif

void md5_blocks(uint32_t state[4], const uint8_t *p, size_t blocks) {
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  for (size_t n = 0; n < blocks; n++, p += 64) {
    uint32_t w[16];
    memcpy(w, p, 64); /* MD5 words are little-endian, as is every target we build for */
    const uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
    MD5_STEPS(SF, SG, SH, SI, w)
    a += a0;
    b += b0;
    c += c0;
    d += d0;
  }
  state[0] = a;
  state[1] = b;
  state[2] = c;
  state[3] = d;
}

/* Two to four chains interleaved step by step: while one chain waits on its
 * previous step, the core runs the others' (on this host two chains run at
 * 1.97x one chain's bytes per second, three at 2.6x, four at 2.4x). Written
 * out per width: a loop over lanes, even unrolled, spills the states.
 * md5_xK: `count` blocks of each of K lanes; st holds their states one after
 * another and ptrs their data, both advanced. */
#define MD5_INTERLEAVED(K)                                                     \
  static void md5_x##K(uint32_t *st, const uint8_t **ptrs, size_t count) {     \
    LANES##K(LANE_IN)                                                          \
    for (size_t n = 0; n < count; n++) {                                       \
      uint32_t w[16][K];                                                       \
      LANES##K(LANE_WORDS)                                                     \
      LANES##K(LANE_SAVE)                                                      \
      MD5_STEPS(F##K, G##K, H##K, I##K, w)                                     \
      LANES##K(LANE_ADD)                                                       \
    }                                                                          \
    LANES##K(LANE_OUT)                                                         \
  }
MD5_INTERLEAVED(2)
MD5_INTERLEAVED(3)
MD5_INTERLEAVED(4)

/* Every lane with blocks left, up to four at a time, interleaved for as long
 * as the shortest of them lasts; then again with those left, until at most
 * one lane has blocks. */
static void md5_interleaved(uint32_t *states, const uint8_t **ptrs, size_t *blocks, size_t n) {
  for (;;) {
    size_t pick[4];
    size_t k = 0;
    for (size_t l = 0; l < n && k < 4; l++) {
      if (blocks[l] > 0) pick[k++] = l;
    }
    if (k < 2) return;
    size_t count = blocks[pick[0]];
    for (size_t i = 1; i < k; i++) count = blocks[pick[i]] < count ? blocks[pick[i]] : count;
    uint32_t st[16];
    const uint8_t *p[4];
    for (size_t i = 0; i < k; i++) {
      memcpy(st + 4 * i, states + 4 * pick[i], 16);
      p[i] = ptrs[pick[i]];
    }
    if (k == 2) md5_x2(st, p, count);
    else if (k == 3) md5_x3(st, p, count);
    else md5_x4(st, p, count);
    for (size_t i = 0; i < k; i++) {
      memcpy(states + 4 * pick[i], st + 4 * i, 16);
      ptrs[pick[i]] = p[i];
      blocks[pick[i]] -= count;
    }
  }
}

#ifdef CAIRN_MD5_X86
#define TARGET __attribute__((target("avx2,avx512f,avx512vl")))
#define VPIN(x) __asm__("" : "+v"(x))
/* The four round functions as vpternlogd truth tables of (b, c, d). */
#define VSTEP(a, b, c, d, table, m, k, s)                                   \
  {                                                                         \
    a = _mm256_add_epi32(a, _mm256_add_epi32(m, _mm256_set1_epi32((int)(k)))); \
    VPIN(a);                                                                \
    a = _mm256_add_epi32(a, _mm256_ternarylogic_epi32(b, c, d, table));     \
    a = _mm256_add_epi32(_mm256_rol_epi32(a, s), b);                        \
  }
#define VF(a, b, c, d, m, k, s) VSTEP(a, b, c, d, 0xca, m, k, s)
#define VG(a, b, c, d, m, k, s) VSTEP(a, b, c, d, 0xe4, m, k, s)
#define VH(a, b, c, d, m, k, s) VSTEP(a, b, c, d, 0x96, m, k, s)
#define VI(a, b, c, d, m, k, s) VSTEP(a, b, c, d, 0x39, m, k, s)

/* Words off..off+7 of eight blocks, turned into one vector per word. */
TARGET static inline void transpose8(const uint8_t *const p[8], int off, __m256i out[8]) {
  __m256i r[8], t[8], u[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_si256((const __m256i *)(p[i] + off));
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 4; i++) {
    out[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
    out[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
  }
}

/* Up to eight lanes until fewer than five have blocks left. A lane with none
 * reads a block of zeros and keeps its state. ptrs and blocks are left where
 * each lane stopped, for the interleaved scalar loops to finish: below five
 * lanes they are faster (four vector lanes run at 1851 MB/s on this host, four
 * interleaved chains at 1890, three at 2000). */
TARGET static void md5_x8(uint32_t *states, const uint8_t **ptrs, size_t *blocks, size_t n) {
  static const uint8_t zeros[64];
  uint32_t sa[8] = {0}, sb[8] = {0}, sc[8] = {0}, sd[8] = {0};
  for (size_t l = 0; l < n; l++) {
    sa[l] = states[4 * l];
    sb[l] = states[4 * l + 1];
    sc[l] = states[4 * l + 2];
    sd[l] = states[4 * l + 3];
  }
  __m256i a = _mm256_loadu_si256((const __m256i *)sa), b = _mm256_loadu_si256((const __m256i *)sb);
  __m256i c = _mm256_loadu_si256((const __m256i *)sc), d = _mm256_loadu_si256((const __m256i *)sd);
  const uint8_t *p[8];
  for (;;) {
    __mmask8 active = 0;
    int live = 0;
    for (size_t l = 0; l < 8; l++) {
      if (l < n && blocks[l] > 0) {
        active |= (__mmask8)(1u << l);
        p[l] = ptrs[l];
        live++;
      } else {
        p[l] = zeros;
      }
    }
    if (live < 5) break;
    __m256i m[16];
    transpose8(p, 0, m);
    transpose8(p, 32, m + 8);
    const __m256i a0 = a, b0 = b, c0 = c, d0 = d;
    MD5_STEPS(VF, VG, VH, VI, m)
    a = _mm256_mask_add_epi32(a0, active, a, a0);
    b = _mm256_mask_add_epi32(b0, active, b, b0);
    c = _mm256_mask_add_epi32(c0, active, c, c0);
    d = _mm256_mask_add_epi32(d0, active, d, d0);
    for (size_t l = 0; l < n; l++) {
      if (active & (1u << l)) {
        ptrs[l] += 64;
        blocks[l]--;
      }
    }
  }
  _mm256_storeu_si256((__m256i *)sa, a);
  _mm256_storeu_si256((__m256i *)sb, b);
  _mm256_storeu_si256((__m256i *)sc, c);
  _mm256_storeu_si256((__m256i *)sd, d);
  for (size_t l = 0; l < n; l++) {
    states[4 * l] = sa[l];
    states[4 * l + 1] = sb[l];
    states[4 * l + 2] = sc[l];
    states[4 * l + 3] = sd[l];
  }
}
#endif

int md5_lanes_vectorized(void) {
#ifdef CAIRN_MD5_X86
  /* Not cached: workers call this at once, and the check is a few loads. */
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
#else
  return 0;
#endif
}

void md5_lanes(uint32_t *states, const uint8_t **ptrs, size_t *blocks, size_t n, int side_by_side) {
  if (side_by_side) {
#ifdef CAIRN_MD5_X86
    if (n >= 5 && md5_lanes_vectorized()) {
      for (size_t first = 0; first < n; first += 8) {
        const size_t group = n - first < 8 ? n - first : 8;
        if (group >= 5) md5_x8(states + 4 * first, ptrs + first, blocks + first, group);
      }
    }
#endif
    md5_interleaved(states, ptrs, blocks, n);
  }
  /* Whatever is left: one lane, or every lane one at a time. */
  for (size_t l = 0; l < n; l++) {
    if (blocks[l] > 0) md5_blocks(states + 4 * l, ptrs[l], blocks[l]);
    ptrs[l] += 64 * blocks[l];
    blocks[l] = 0;
  }
}
