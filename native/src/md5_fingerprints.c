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
 * fingerprints in the same pass, at little cost.
 */
#include "md5_fingerprints.h"

#include <string.h>

#include "md5.h"
#include "md5_steps.h"
#include "sha256.h"
#include "sha256_lanes.h"

#ifdef HAVE_SHA_NI_BUILD
/* One stream's MD5 blocks and its batch's fingerprints, as they advance. */
struct rider {
  struct md5_rider *args;
  const uint8_t *p;
  size_t md5_count;
  size_t index, done;
  struct lane lane;
};

SHA_TARGET static void rider_open(struct rider *r, struct md5_rider *args) {
  r->args = args;
  r->p = args->md5_blocks;
  r->md5_count = args->md5_count;
  r->index = args->cursor[0];
  r->done = args->cursor[1];
  /* A chunk with nothing hashed yet starts from the initial state. */
  r->lane = lane_load(r->done == 0 ? IV : args->cursor + 2);
}

SHA_TARGET static void rider_close(struct rider *r) {
  if (r->md5_count > 0) md5_blocks(r->args->md5, r->p, r->md5_count);
  r->args->cursor[0] = (uint32_t)r->index;
  r->args->cursor[1] = (uint32_t)r->done;
  lane_store(r->lane, r->args->cursor + 2);
}

/* The whole blocks of the chunk at hand before the limit, once the chunks with
 * none left that end by the limit are finished; 0 when the rest of the chunk
 * comes with a later call, or there are no chunks left. */
SHA_TARGET static size_t rider_ready(struct rider *r) {
  const struct md5_rider *a = r->args;
  while (r->index < a->n) {
    const size_t start = r->index == 0 ? 0 : a->ends[r->index - 1], end = a->ends[r->index];
    const size_t at = start + r->done, stop = end < a->limit ? end : a->limit;
    if (stop >= at + 64) return (stop - at) / 64;
    if (end > a->limit) return 0;
    sha256_lane_finish(&r->lane, a->data + at, end - at, end - start, a->out + 32 * r->index);
    r->index++;
    r->done = 0;
    r->lane = lane_load(IV);
  }
  return 0;
}

SHA_TARGET static const uint8_t *rider_at(const struct rider *r) {
  return r->args->data + (r->index == 0 ? 0 : r->args->ends[r->index - 1]) + r->done;
}

/* A block of L MD5 chains (round functions F..I, words w) with L SHA-256
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

/* count blocks of one MD5 chain and one SHA-256 lane: four rounds of one
 * between every four steps of the other. */
SHA_TARGET static void together1(struct rider *r, size_t count) {
  uint32_t *md5 = r->args->md5;
  uint32_t a = md5[0], b = md5[1], c = md5[2], d = md5[3];
  const uint8_t *p = r->p, *q = rider_at(r);
  const __m128i mask = BSWAP_MASK;
  struct lane st[1] = {r->lane};
  __m128i g[1][4];
  for (size_t n = 0; n < count; n++, p += 64, q += 64) {
    uint32_t w[16];
    memcpy(w, p, 64);
    const uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
    const struct lane saved = st[0];
    for (int k = 0; k < 4; k++) g[0][k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(q + 16 * k)), mask);
    RIDE_STEPS(SF, SG, SH, SI, 1)
    a += a0;
    b += b0;
    c += c0;
    d += d0;
    st[0].abef = _mm_add_epi32(st[0].abef, saved.abef);
    st[0].cdgh = _mm_add_epi32(st[0].cdgh, saved.cdgh);
  }
  md5[0] = a;
  md5[1] = b;
  md5[2] = c;
  md5[3] = d;
  r->lane = st[0];
  r->p = p;
  r->md5_count -= count;
  r->done += 64 * count;
}

/* The same for two streams: their MD5 chains interleaved step by step, and
 * their SHA-256 lanes between. */
SHA_TARGET static void together2(struct rider *r0, struct rider *r1, size_t count) {
  uint32_t st5[8];
  memcpy(st5, r0->args->md5, 16);
  memcpy(st5 + 4, r1->args->md5, 16);
  const uint8_t *ptrs[2] = {r0->p, r1->p};
  const uint8_t *q[2] = {rider_at(r0), rider_at(r1)};
  const __m128i mask = BSWAP_MASK;
  struct lane st[2] = {r0->lane, r1->lane};
  __m128i g[2][4];
  {
    uint32_t *const md5st = st5;
#define st md5st
    LANES2(LANE_IN)
#undef st
    for (size_t n = 0; n < count; n++) {
      uint32_t w[16][2];
      LANES2(LANE_WORDS)
      LANES2(LANE_SAVE)
      const struct lane saved[2] = {st[0], st[1]};
      for (int j = 0; j < 2; j++)
        for (int k = 0; k < 4; k++) g[j][k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(q[j] + 64 * n + 16 * k)), mask);
      RIDE_STEPS(F2, G2, H2, I2, 2)
      LANES2(LANE_ADD)
      for (int j = 0; j < 2; j++) {
        st[j].abef = _mm_add_epi32(st[j].abef, saved[j].abef);
        st[j].cdgh = _mm_add_epi32(st[j].cdgh, saved[j].cdgh);
      }
    }
#define st md5st
    LANES2(LANE_OUT)
#undef st
  }
  memcpy(r0->args->md5, st5, 16);
  memcpy(r1->args->md5, st5 + 4, 16);
  r0->p = ptrs[0];
  r1->p = ptrs[1];
  r0->lane = st[0];
  r1->lane = st[1];
  r0->md5_count -= count;
  r1->md5_count -= count;
  r0->done += 64 * count;
  r1->done += 64 * count;
}

/* One rider to its limit: its two chains together while both have blocks,
 * then whichever is left alone (the chunks that end by the limit side by
 * side, once the MD5 has nothing left to carry). */
SHA_TARGET static void ride1(struct rider *r) {
  const struct md5_rider *a = r->args;
  for (size_t whole; (whole = rider_ready(r)) > 0;) {
    if (r->md5_count > 0) {
      together1(r, whole < r->md5_count ? whole : r->md5_count);
      continue;
    }
    if (r->done == 0) {
      size_t last = r->index;
      while (last < a->n && a->ends[last] <= a->limit) last++;
      if (last > r->index) {
        sha256_chunks_from(a->data, a->ends, r->index, last, a->out, 4);
        r->index = last;
        continue;
      }
    }
    sha256_lane_blocks(&r->lane, rider_at(r), whole);
    r->done += 64 * whole;
  }
}

SHA_TARGET static void ride2(struct rider *r0, struct rider *r1) {
  for (;;) {
    const size_t w0 = rider_ready(r0), w1 = rider_ready(r1);
    size_t k = w0 < w1 ? w0 : w1;
    if (r0->md5_count < k) k = r0->md5_count;
    if (r1->md5_count < k) k = r1->md5_count;
    if (k == 0) break;
    together2(r0, r1, k);
  }
  ride1(r0);
  ride1(r1);
}
#endif

int md5_fingerprints(struct md5_rider *riders, size_t count) {
#ifdef HAVE_SHA_NI_BUILD
  if (!sha256_available() || count < 1 || count > 2) return 0;
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
