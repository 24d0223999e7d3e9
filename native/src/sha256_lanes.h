/*
 * The SHA-256 lane machinery shared by the chunk fingerprint loops
 * (sha256.c) and the loop that runs them beside an MD5 chain
 * (md5_fingerprints.c): the state as the SHA-NI rounds want it, and four
 * rounds of any number of independent blocks at a time.
 */
#ifndef CAIRN_SHA256_LANES_H
#define CAIRN_SHA256_LANES_H

#include <stddef.h>
#include <stdint.h>

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
#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* The hardware rounds want the state as ABEF and CDGH. */
struct lane {
  __m128i abef, cdgh;
};

SHA_TARGET static inline struct lane lane_load(const uint32_t s[8]) {
  __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)s), 0xB1); /* CDAB */
  __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(s + 4)), 0x1B); /* EFGH */
  struct lane l;
  l.abef = _mm_alignr_epi8(dcba, hgfe, 8);
  l.cdgh = _mm_blend_epi16(hgfe, dcba, 0xF0);
  return l;
}

SHA_TARGET static inline void lane_store(struct lane l, uint32_t s[8]) {
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
  SHA_TARGET static void NAME(struct lane *lanes, const uint8_t *const *p, size_t blocks) {  \
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


/* One chain over whole blocks (exported by sha256.c). */
void sha256_lane_blocks(struct lane *l, const uint8_t *p, size_t blocks);

/* A chunk's last partial block, the 0x80 byte and its bit length, then its digest (exported by sha256.c). */
void sha256_lane_finish(struct lane *l, const uint8_t *tail, size_t tail_len, uint64_t total, uint8_t digest[32]);

/* The chunks first..n-1 of data ending at ends[i] (chunk i starting at ends[i-1], or 0), up to four side by side. */
void sha256_chunks_from(const uint8_t *data, const uint32_t *ends, size_t first, size_t n, uint8_t *out, int lanes);
#endif /* HAVE_SHA_NI_BUILD */

#endif
