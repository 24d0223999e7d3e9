/*
 * MD5 chains with chunk fingerprints riding along.
 *
 * A stream's MD5 (its ETag) is one serial chain: each step waits on the one
 * before and leaves most of the core's integer units idle. A chunk's SHA-256
 * is a serial chain too, but of SHA-NI round instructions, which run on the
 * vector side of the core. Interleaved in one loop, a block of each every
 * turn, the chains fill each other's waits. On this host (scratch/fused,
 * 2026-11-24, 256 MiB): one MD5 chain ran at 686-694 MB/s alone and at
 * 675-684 with a SHA-256 lane beside it over the same bytes; two MD5 chains
 * interleaved at 1440-1477 MB/s, and at 1272-1376 with two SHA-256 lanes;
 * while the fingerprints alone cost a core 1/2550 s a MB even four chunks
 * side by side. So the worker that owes a batch's MD5 computes its
 * fingerprints in the same pass, at little cost; and, for a body of signed
 * aws-chunked chunks, those chunks' SHA-256 as a second lane, at none
 * (scratch/fused/lanes.c, 2026-11-24, 128 MiB: one MD5 chain 752-766 MB/s
 * alone, 761-767 with one lane beside it, 762-765 with two; two chains
 * 1402-1409 with two lanes, 1255-1259 with three, 1136-1168 with four).
 */
#include "md5_fingerprints.h"

#include <string.h>

#include "md5.h"
#include "md5_steps.h"
#include "sha256.h"
#include "sha256_lanes.h"

#ifdef HAVE_SHA_NI_BUILD
/* A chunk set's progress: the chunk at hand, its bytes hashed, its lane. */
struct set {
  const struct chunk_set *args;
  size_t index, done;
  struct lane lane;
};

/* One stream's MD5 blocks and its sets, as they advance. */
struct rider {
  struct md5_rider *args;
  const uint8_t *p;
  size_t md5_count;
  struct set sets[2];
  size_t nsets;
};

SHA_TARGET static void set_open(struct set *s, const struct chunk_set *args) {
  s->args = args;
  s->index = args->cursor[0];
  s->done = args->cursor[1];
  /* A chunk with nothing hashed yet starts from the initial state; an open one goes on from the cursor's. */
  s->lane = lane_load(s->done == 0 && !args->open ? IV : args->cursor + 2);
}

SHA_TARGET static void set_close(struct set *s) {
  s->args->cursor[0] = (uint32_t)s->index;
  s->args->cursor[1] = (uint32_t)s->done;
  lane_store(s->lane, s->args->cursor + 2);
}

SHA_TARGET static void rider_open(struct rider *r, struct md5_rider *args) {
  r->args = args;
  r->p = args->md5_blocks;
  r->md5_count = args->md5_count;
  r->nsets = args->nsets;
  for (size_t i = 0; i < r->nsets; i++) set_open(&r->sets[i], &args->sets[i]);
}

SHA_TARGET static void rider_close(struct rider *r) {
  if (r->md5_count > 0) md5_blocks(r->args->md5, r->p, r->md5_count);
  for (size_t i = 0; i < r->nsets; i++) set_close(&r->sets[i]);
}

/* The whole blocks of the chunk at hand before the limit, once the chunks with
 * none left that end by the limit are finished; 0 when the rest of the chunk
 * comes with a later call, or there are no chunks left. */
SHA_TARGET static size_t set_ready(struct set *s) {
  const struct chunk_set *a = s->args;
  while (s->index < a->n) {
    const size_t start = s->index == 0 ? 0 : a->ends[s->index - 1], end = a->ends[s->index];
    const size_t at = start + s->done, stop = end < a->limit ? end : a->limit;
    if (stop >= at + 64) return (stop - at) / 64;
    if (end > a->limit || a->open) return 0;
    sha256_lane_finish(&s->lane, a->data + at, end - at, end - start, a->out + 32 * s->index);
    s->index++;
    s->done = 0;
    s->lane = lane_load(IV);
  }
  return 0;
}

SHA_TARGET static const uint8_t *set_at(const struct set *s) {
  return s->args->data + (s->index == 0 ? 0 : s->args->ends[s->index - 1]) + s->done;
}

/* whole blocks of a set with no MD5 left to ride beside: the chunks that end
 * by the limit side by side when the one at hand is untouched, else its lane. */
SHA_TARGET static void set_alone(struct set *s, size_t whole) {
  const struct chunk_set *a = s->args;
  if (s->done == 0 && !a->open) {
    size_t last = s->index;
    while (last < a->n && a->ends[last] <= a->limit) last++;
    if (last > s->index) {
      sha256_chunks_from(a->data, a->ends, s->index, last, a->out, 4);
      s->index = last;
      return;
    }
  }
  sha256_lane_blocks(&s->lane, set_at(s), whole);
  s->done += 64 * whole;
}

/* A block of M MD5 chains (round functions F..I, words w) with L SHA-256
 * lanes (states st, schedules g) riding along: four rounds of every lane
 * between every four steps of every chain. */
#define RIDE_STEPS(F, G, H, I, L) \
  MD5_Q0(F, G, H, I, w) SHA_ROUNDS4(L, 0); \
  MD5_Q1(F, G, H, I, w) SHA_ROUNDS4(L, 1); \
  MD5_Q2(F, G, H, I, w) SHA_ROUNDS4(L, 2); \
  MD5_Q3(F, G, H, I, w) SHA_ROUNDS4(L, 3); \
  MD5_Q4(F, G, H, I, w) SHA_ROUNDS4(L, 4); \
  MD5_Q5(F, G, H, I, w) SHA_ROUNDS4(L, 5); \
  MD5_Q6(F, G, H, I, w) SHA_ROUNDS4(L, 6); \
  MD5_Q7(F, G, H, I, w) SHA_ROUNDS4(L, 7); \
  MD5_Q8(F, G, H, I, w) SHA_ROUNDS4(L, 8); \
  MD5_Q9(F, G, H, I, w) SHA_ROUNDS4(L, 9); \
  MD5_Q10(F, G, H, I, w) SHA_ROUNDS4(L, 10); \
  MD5_Q11(F, G, H, I, w) SHA_ROUNDS4(L, 11); \
  MD5_Q12(F, G, H, I, w) SHA_ROUNDS4(L, 12); \
  MD5_Q13(F, G, H, I, w) SHA_ROUNDS4(L, 13); \
  MD5_Q14(F, G, H, I, w) SHA_ROUNDS4(L, 14); \
  MD5_Q15(F, G, H, I, w) SHA_ROUNDS4(L, 15);

/* The lanes' states in and their message words for block n; then out again. */
#define LANES_LOAD(L)                                                           \
  const __m128i mask = BSWAP_MASK;                                              \
  struct lane st[L];                                                            \
  const uint8_t *q[L];                                                          \
  __m128i g[L][4];                                                              \
  for (int j = 0; j < (L); j++) {                                               \
    st[j] = s[j]->lane;                                                         \
    q[j] = set_at(s[j]);                                                        \
  }
#define LANES_BLOCK(L, n)                                                       \
  struct lane saved[L];                                                         \
  for (int j = 0; j < (L); j++) {                                               \
    saved[j] = st[j];                                                           \
    for (int k = 0; k < 4; k++)                                                 \
      g[j][k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(q[j] + 64 * (n) + 16 * k)), mask); \
  }
#define LANES_ADD(L)                                                            \
  for (int j = 0; j < (L); j++) {                                               \
    st[j].abef = _mm_add_epi32(st[j].abef, saved[j].abef);                      \
    st[j].cdgh = _mm_add_epi32(st[j].cdgh, saved[j].cdgh);                      \
  }
#define LANES_STORE(L)                                                          \
  for (int j = 0; j < (L); j++) {                                               \
    s[j]->lane = st[j];                                                         \
    s[j]->done += 64 * count;                                                   \
  }

/* count blocks of one MD5 chain and L lanes. */
#define TOGETHER1(NAME, L)                                                      \
  SHA_TARGET static void NAME(struct rider *r, struct set **s, size_t count) { \
    uint32_t *md5 = r->args->md5;                                               \
    uint32_t a = md5[0], b = md5[1], c = md5[2], d = md5[3];                    \
    const uint8_t *p = r->p;                                                    \
    LANES_LOAD(L)                                                               \
    for (size_t n = 0; n < count; n++, p += 64) {                               \
      uint32_t w[16];                                                           \
      memcpy(w, p, 64);                                                         \
      const uint32_t a0 = a, b0 = b, c0 = c, d0 = d;                            \
      LANES_BLOCK(L, n)                                                         \
      RIDE_STEPS(SF, SG, SH, SI, L)                                             \
      a += a0;                                                                  \
      b += b0;                                                                  \
      c += c0;                                                                  \
      d += d0;                                                                  \
      LANES_ADD(L)                                                              \
    }                                                                           \
    md5[0] = a;                                                                 \
    md5[1] = b;                                                                 \
    md5[2] = c;                                                                 \
    md5[3] = d;                                                                 \
    r->p = p;                                                                   \
    r->md5_count -= count;                                                      \
    LANES_STORE(L)                                                              \
  }

/* The same for two streams: their MD5 chains interleaved step by step
 * (md5_steps.h names the pair's state st, hence md5st), the lanes between. */
#define TOGETHER2(NAME, L)                                                      \
  SHA_TARGET static void NAME(struct rider *r0, struct rider *r1, struct set **s, size_t count) { \
    uint32_t md5st[8];                                                          \
    memcpy(md5st, r0->args->md5, 16);                                           \
    memcpy(md5st + 4, r1->args->md5, 16);                                       \
    const uint8_t *ptrs[2] = {r0->p, r1->p};                                    \
    LANES_LOAD(L)                                                               \
    {                                                                           \
      PAIR_IN                                                                   \
      for (size_t n = 0; n < count; n++) {                                      \
        uint32_t w[16][2];                                                      \
        LANES2(LANE_WORDS)                                                      \
        LANES2(LANE_SAVE)                                                       \
        LANES_BLOCK(L, n)                                                       \
        RIDE_STEPS(F2, G2, H2, I2, L)                                           \
        LANES2(LANE_ADD)                                                        \
        LANES_ADD(L)                                                            \
      }                                                                         \
      PAIR_OUT                                                                  \
    }                                                                           \
    memcpy(r0->args->md5, md5st, 16);                                           \
    memcpy(r1->args->md5, md5st + 4, 16);                                       \
    r0->p = ptrs[0];                                                            \
    r1->p = ptrs[1];                                                            \
    r0->md5_count -= count;                                                     \
    r1->md5_count -= count;                                                     \
    LANES_STORE(L)                                                              \
  }

/* LANE_IN and LANE_OUT (md5_steps.h) read and write the pair's state as st. */
#define PAIR_IN                                                                 \
  uint32_t a0 = md5st[0], b0 = md5st[1], c0 = md5st[2], d0 = md5st[3];          \
  uint32_t a1 = md5st[4], b1 = md5st[5], c1 = md5st[6], d1 = md5st[7];          \
  const uint8_t *p0 = ptrs[0], *p1 = ptrs[1];
#define PAIR_OUT                                                                \
  md5st[0] = a0; md5st[1] = b0; md5st[2] = c0; md5st[3] = d0;                   \
  md5st[4] = a1; md5st[5] = b1; md5st[6] = c1; md5st[7] = d1;                   \
  ptrs[0] = p0; ptrs[1] = p1;

TOGETHER1(together1_1, 1)
TOGETHER1(together1_2, 2)
TOGETHER2(together2_1, 1)
TOGETHER2(together2_2, 2)
TOGETHER2(together2_3, 3)
TOGETHER2(together2_4, 4)

/* The sets of a rider with blocks ready, into s; returns how many, and the fewest blocks any has in *fewest. */
SHA_TARGET static size_t ready_sets(struct rider *r, struct set **s, size_t *fewest) {
  size_t k = 0;
  for (size_t i = 0; i < r->nsets; i++) {
    const size_t whole = set_ready(&r->sets[i]);
    if (whole == 0) continue;
    s[k++] = &r->sets[i];
    if (whole < *fewest) *fewest = whole;
  }
  return k;
}

/* One rider to its limits: its chains together while the MD5 and a set have
 * blocks, then each set alone. */
SHA_TARGET static void ride1(struct rider *r) {
  for (;;) {
    struct set *s[2];
    size_t fewest = SIZE_MAX;
    const size_t lanes = ready_sets(r, s, &fewest);
    if (lanes == 0) return;
    if (r->md5_count == 0) {
      set_alone(s[0], fewest);
      continue;
    }
    const size_t k = fewest < r->md5_count ? fewest : r->md5_count;
    if (lanes == 1) together1_1(r, s, k);
    else together1_2(r, s, k);
  }
}

SHA_TARGET static void ride2(struct rider *r0, struct rider *r1) {
  for (;;) {
    struct set *s[4];
    size_t fewest = SIZE_MAX;
    const size_t l0 = ready_sets(r0, s, &fewest);
    const size_t lanes = l0 + ready_sets(r1, s + l0, &fewest);
    size_t k = fewest;
    if (r0->md5_count < k) k = r0->md5_count;
    if (r1->md5_count < k) k = r1->md5_count;
    if (lanes == 0 || k == 0) break;
    switch (lanes) {
      case 1: together2_1(r0, r1, s, k); break;
      case 2: together2_2(r0, r1, s, k); break;
      case 3: together2_3(r0, r1, s, k); break;
      default: together2_4(r0, r1, s, k); break;
    }
  }
  ride1(r0);
  ride1(r1);
}
#endif

int md5_fingerprints(struct md5_rider *riders, size_t count) {
#ifdef HAVE_SHA_NI_BUILD
  if (!sha256_available() || count < 1 || count > 2) return 0;
  for (size_t i = 0; i < count; i++)
    if (riders[i].nsets < 1 || riders[i].nsets > 2) return 0;
  struct rider r[2];
  for (size_t i = 0; i < count; i++) rider_open(&r[i], &riders[i]);
  if (count == 2) ride2(&r[0], &r[1]);
  else ride1(&r[0]);
  for (size_t i = 0; i < count; i++) rider_close(&r[i]);
  return 1;
#else
  (void)riders;
  (void)count;
  return 0;
#endif
}
