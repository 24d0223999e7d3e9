/*
 * SHA-256 of many chunks at once, with the SHA extensions (SHA-NI).
 *
 * One message is a serial chain: each sha256rnds2 waits for the one before.
 * The instruction's latency is several times its issue interval, so a core
 * hashing one chunk idles most of its SHA unit. Chunk fingerprints come in
 * batches of dozens of independent chunks, so up to four chains run side by
 * side in one loop, each filling the others' waits (four is near the unit's
 * issue limit here; a fifth's registers would spill).
 *
 * Only whole 64-byte blocks go through the interleaved loop; each chunk's
 * last partial block and padding are hashed on its own, on one lane.
 */
#include "sha256.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_SHA_NI_BUILD 1
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#ifdef HAVE_SHA_NI_BUILD
#define TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* The hardware rounds want the state as ABEF and CDGH. */
struct lane {
  __m128i abef, cdgh;
};

TARGET static inline struct lane lane_load(const uint32_t s[8]) {
  __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)s), 0xB1); /* CDAB */
  __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(s + 4)), 0x1B); /* EFGH */
  struct lane l;
  l.abef = _mm_alignr_epi8(dcba, hgfe, 8);
  l.cdgh = _mm_blend_epi16(hgfe, dcba, 0xF0);
  return l;
}

TARGET static inline void lane_store(struct lane l, uint32_t s[8]) {
  __m128i feba = _mm_shuffle_epi32(l.abef, 0x1B);
  __m128i dchg = _mm_shuffle_epi32(l.cdgh, 0xB1);
  _mm_storeu_si128((__m128i *)s, _mm_blend_epi16(feba, dchg, 0xF0));     /* DCBA */
  _mm_storeu_si128((__m128i *)(s + 4), _mm_alignr_epi8(dchg, feba, 8)); /* HGFE */
}

#define BSWAP_MASK _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL)

/*
 * The message schedule in groups of four words: group i (i >= 4) is
 * msg2(msg1(G[i-4], G[i-3]) + alignr(G[i-1], G[i-2]), G[i-1]).
 * LANES independent blocks are advanced together, one group at a time, so
 * every round instruction of one lane has the other lanes' to overlap with.
 */
#define SHA_ROUNDS4(L, i)                                                        \
  do {                                                                           \
    __m128i k_ = _mm_loadu_si128((const __m128i *)(K + 4 * (i)));                \
    for (int j_ = 0; j_ < (L); j_++) {                                           \
      if ((i) >= 4) {                                                            \
        __m128i t_ = _mm_alignr_epi8(g[j_][((i) - 1) & 3], g[j_][((i) - 2) & 3], 4); \
        g[j_][(i) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(g[j_][(i) & 3], g[j_][((i) - 3) & 3]), t_), \
                                              g[j_][((i) - 1) & 3]);             \
      }                                                                          \
      __m128i m_ = _mm_add_epi32(g[j_][(i) & 3], k_);                            \
      /* the first pair of rounds leaves ABEF in cdgh, the second puts it back */ \
      st[j_].cdgh = _mm_sha256rnds2_epu32(st[j_].cdgh, st[j_].abef, m_);         \
      m_ = _mm_shuffle_epi32(m_, 0x0E);                                          \
      st[j_].abef = _mm_sha256rnds2_epu32(st[j_].abef, st[j_].cdgh, m_);         \
    }                                                                            \
  } while (0)

#define SHA_BLOCKS(NAME, L)                                                               \
  TARGET static void NAME(struct lane *lanes, const uint8_t *const *p, size_t blocks) {  \
    const __m128i mask = BSWAP_MASK;                                                      \
    struct lane st[L];                                                                    \
    __m128i g[L][4];                                                                      \
    for (int j = 0; j < (L); j++) st[j] = lanes[j];                                       \
    for (size_t b = 0; b < blocks; b++) {                                                 \
      struct lane saved[L];                                                               \
      for (int j = 0; j < (L); j++) {                                                     \
        const uint8_t *q = p[j] + 64 * b;                                                 \
        saved[j] = st[j];                                                                 \
        for (int w = 0; w < 4; w++)                                                       \
          g[j][w] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(q + 16 * w)), mask); \
      }                                                                                   \
      SHA_ROUNDS4(L, 0); SHA_ROUNDS4(L, 1); SHA_ROUNDS4(L, 2); SHA_ROUNDS4(L, 3);         \
      SHA_ROUNDS4(L, 4); SHA_ROUNDS4(L, 5); SHA_ROUNDS4(L, 6); SHA_ROUNDS4(L, 7);         \
      SHA_ROUNDS4(L, 8); SHA_ROUNDS4(L, 9); SHA_ROUNDS4(L, 10); SHA_ROUNDS4(L, 11);       \
      SHA_ROUNDS4(L, 12); SHA_ROUNDS4(L, 13); SHA_ROUNDS4(L, 14); SHA_ROUNDS4(L, 15);     \
      for (int j = 0; j < (L); j++) {                                                     \
        st[j].abef = _mm_add_epi32(st[j].abef, saved[j].abef);                            \
        st[j].cdgh = _mm_add_epi32(st[j].cdgh, saved[j].cdgh);                            \
      }                                                                                   \
    }                                                                                     \
    for (int j = 0; j < (L); j++) lanes[j] = st[j];                                       \
  }

SHA_BLOCKS(blocks_x1, 1)
SHA_BLOCKS(blocks_x2, 2)
SHA_BLOCKS(blocks_x3, 3)
SHA_BLOCKS(blocks_x4, 4)

/* The chunk's last partial block, the 0x80 byte and its bit length, as one or two blocks. */
TARGET static void finish(struct lane *l, const uint8_t *tail, size_t tail_len, uint64_t total, uint8_t digest[32]) {
  uint8_t last[128];
  memset(last, 0, sizeof last);
  if (tail_len > 0) memcpy(last, tail, tail_len); /* tail may be NULL for an empty chunk of empty data */
  last[tail_len] = 0x80;
  size_t blocks = tail_len + 9 > 64 ? 2 : 1;
  uint64_t bits = total * 8;
  for (int i = 0; i < 8; i++) last[64 * blocks - 1 - i] = (uint8_t)(bits >> (8 * i));
  const uint8_t *p[1] = {last};
  for (size_t b = 0; b < blocks; b++) {
    p[0] = last + 64 * b;
    blocks_x1(l, p, 1);
  }
  uint32_t s[8];
  lane_store(*l, s);
  for (int i = 0; i < 8; i++) {
    digest[4 * i] = (uint8_t)(s[i] >> 24);
    digest[4 * i + 1] = (uint8_t)(s[i] >> 16);
    digest[4 * i + 2] = (uint8_t)(s[i] >> 8);
    digest[4 * i + 3] = (uint8_t)s[i];
  }
}

struct job {
  const uint8_t *p;   /* next whole block */
  size_t blocks;      /* whole blocks left */
  size_t start, end;  /* the chunk in data */
  size_t index;
};

TARGET static int take(struct job *j, const uint8_t *data, const uint32_t *ends, size_t n, size_t *next, struct lane *st) {
  if (*next >= n) return 0;
  size_t i = (*next)++;
  j->index = i;
  j->start = i == 0 ? 0 : ends[i - 1];
  j->end = ends[i];
  j->p = data + j->start;
  j->blocks = (j->end - j->start) / 64;
  *st = lane_load(IV);
  return 1;
}

TARGET static void done(struct job *j, struct lane *st, uint8_t *out) {
  size_t len = j->end - j->start;
  finish(st, j->p, len % 64, len, out + 32 * j->index);
}

/* Up to lanes (1..4) chains side by side; once the chunks run out, the rest go one at a time. */
TARGET static void chunks_ni(const uint8_t *data, const uint32_t *ends, size_t n, uint8_t *out, int lanes) {
  struct job jobs[4];
  struct lane st[4];
  const uint8_t *p[4];
  size_t next = 0;
  int active = 0;
  while (active < lanes && take(&jobs[active], data, ends, n, &next, &st[active])) active++;
  while (active == lanes && lanes > 1) {
    size_t k = jobs[0].blocks;
    for (int j = 1; j < lanes; j++)
      if (jobs[j].blocks < k) k = jobs[j].blocks;
    if (k > 0) {
      for (int j = 0; j < lanes; j++) p[j] = jobs[j].p;
      if (lanes == 2) blocks_x2(st, p, k);
      else if (lanes == 3) blocks_x3(st, p, k);
      else blocks_x4(st, p, k);
      for (int j = 0; j < lanes; j++) {
        jobs[j].p += 64 * k;
        jobs[j].blocks -= k;
      }
    }
    for (int j = 0; j < active;) {
      if (jobs[j].blocks > 0) {
        j++;
        continue;
      }
      done(&jobs[j], &st[j], out);
      if (take(&jobs[j], data, ends, n, &next, &st[j])) {
        j++;
        continue;
      }
      active--;
      jobs[j] = jobs[active];
      st[j] = st[active];
    }
  }
  for (int j = 0; j < active; j++) {
    p[0] = jobs[j].p;
    blocks_x1(&st[j], p, jobs[j].blocks);
    jobs[j].p += 64 * jobs[j].blocks;
    done(&jobs[j], &st[j], out);
  }
  struct job one;
  struct lane l;
  while (take(&one, data, ends, n, &next, &l)) {
    p[0] = one.p;
    blocks_x1(&l, p, one.blocks);
    one.p += 64 * one.blocks;
    done(&one, &l, out);
  }
}
#endif

int sha256_available(void) {
#ifdef HAVE_SHA_NI_BUILD
  /* Not cached: workers call this at once, and the check is a few loads. */
  __builtin_cpu_init();
  return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
#else
  return 0;
#endif
}

int sha256_chunks(const uint8_t *data, const uint32_t *ends, size_t n, uint8_t *out, int lanes) {
#ifdef HAVE_SHA_NI_BUILD
  if (!sha256_available() || lanes < 1 || lanes > 4) return 0;
  chunks_ni(data, ends, n, out, lanes);
  return 1;
#else
  (void)data; (void)ends; (void)n; (void)out; (void)lanes;
  return 0;
#endif
}
