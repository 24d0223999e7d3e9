/*
 * An MD5 chain with chunk fingerprints riding along.
 *
 * A stream's MD5 (its ETag) is one serial chain: each step waits on the one
 * before and leaves most of the core's integer units idle. A chunk's SHA-256
 * is a serial chain too, but of SHA-NI round instructions, which run on the
 * vector side of the core. Interleaved in one loop, a block of each every
 * turn, the two chains fill each other's waits: on this host one MD5 chain ran
 * at 686-694 MB/s alone and at 675-684 with a SHA-256 lane beside it over the
 * same bytes, while the fingerprints alone cost a core 1/2550 s a MB even four
 * chunks side by side (scratch/fused, 2026-11-24). So a worker that owes a
 * batch's MD5 computes its fingerprints in the same pass, at almost no cost.
 */
#include "md5_fingerprints.h"

#include <string.h>

#include "md5.h"
#include "md5_steps.h"
#include "sha256.h"
#include "sha256_lanes.h"

#ifdef HAVE_SHA_NI_BUILD
/* count blocks of the MD5 chain at p and of one SHA-256 lane at q, a group of
 * four steps of one between groups of four rounds of the other. */
SHA_TARGET static void together(uint32_t md5[4], const uint8_t *p, struct lane *lane, const uint8_t *q, size_t count) {
  uint32_t a = md5[0], b = md5[1], c = md5[2], d = md5[3];
  const __m128i mask = BSWAP_MASK;
  struct lane st[1] = {*lane};
  __m128i g[1][4];
  for (size_t n = 0; n < count; n++, p += 64, q += 64) {
    uint32_t w[16];
    memcpy(w, p, 64);
    const uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
    const struct lane saved = st[0];
    for (int k = 0; k < 4; k++) g[0][k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(q + 16 * k)), mask);
    MD5_Q0(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 0);
    MD5_Q1(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 1);
    MD5_Q2(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 2);
    MD5_Q3(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 3);
    MD5_Q4(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 4);
    MD5_Q5(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 5);
    MD5_Q6(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 6);
    MD5_Q7(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 7);
    MD5_Q8(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 8);
    MD5_Q9(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 9);
    MD5_Q10(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 10);
    MD5_Q11(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 11);
    MD5_Q12(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 12);
    MD5_Q13(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 13);
    MD5_Q14(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 14);
    MD5_Q15(SF, SG, SH, SI, w)
    SHA_ROUNDS4(1, 15);
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
  *lane = st[0];
}

SHA_TARGET static void advance(uint32_t md5[4], const uint8_t *p, size_t md5_count, const uint8_t *data,
                               const uint32_t *ends, size_t n, uint32_t cursor[10], size_t limit, uint8_t *out) {
  size_t index = cursor[0], done = cursor[1];
  /* A chunk with nothing hashed yet starts from the initial state. */
  struct lane lane = lane_load(done == 0 ? IV : cursor + 2);
  while (index < n) {
    const size_t start = index == 0 ? 0 : ends[index - 1], end = ends[index];
    const size_t at = start + done, stop = end < limit ? end : limit;
    const size_t whole = stop > at ? (stop - at) / 64 : 0;
    if (whole > 0) {
      const size_t k = whole < md5_count ? whole : md5_count;
      if (k > 0) {
        together(md5, p, &lane, data + at, k);
        p += 64 * k;
        md5_count -= k;
        done += 64 * k;
      } else {
        sha256_lane_blocks(&lane, data + at, whole);
        done += 64 * whole;
      }
      continue;
    }
    /* The rest of a chunk that runs past limit comes with a later call. */
    if (end > limit) break;
    sha256_lane_finish(&lane, data + at, end - at, end - start, out + 32 * index);
    index++;
    done = 0;
    lane = lane_load(IV);
    if (md5_count == 0) {
      /* Nothing left for the MD5 chain to carry: the chunks that end within limit go side by side. */
      size_t last = index;
      while (last < n && ends[last] <= limit) last++;
      if (last > index) sha256_chunks_from(data, ends, index, last, out, 4);
      index = last;
    }
  }
  if (md5_count > 0) md5_blocks(md5, p, md5_count);
  cursor[0] = (uint32_t)index;
  cursor[1] = (uint32_t)done;
  lane_store(lane, cursor + 2);
}
#endif

int md5_fingerprints(uint32_t md5[4], const uint8_t *p, size_t md5_count, const uint8_t *data, const uint32_t *ends,
                     size_t n, uint32_t cursor[10], size_t limit, uint8_t *out) {
#ifdef HAVE_SHA_NI_BUILD
  if (!sha256_available()) return 0;
  advance(md5, p, md5_count, data, ends, n, cursor, limit, out);
  return 1;
#else
  (void)md5; (void)p; (void)md5_count; (void)data; (void)ends; (void)n; (void)cursor; (void)limit; (void)out;
  return 0;
#endif
}
