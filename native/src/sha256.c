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
#include "sha256_lanes.h"

#include <string.h>

#ifdef HAVE_SHA_NI_BUILD
#define TARGET SHA_TARGET

SHA_BLOCKS(blocks_x1, 1)
SHA_BLOCKS(blocks_x2, 2)
SHA_BLOCKS(blocks_x3, 3)
SHA_BLOCKS(blocks_x4, 4)

TARGET void sha256_lane_blocks(struct lane *l, const uint8_t *p, size_t blocks) {
  const uint8_t *q[1] = {p};
  blocks_x1(l, q, blocks);
}

/* The chunk's last partial block, the 0x80 byte and its bit length, as one or two blocks. */
TARGET void sha256_lane_finish(struct lane *l, const uint8_t *tail, size_t tail_len, uint64_t total, uint8_t digest[32]) {
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

TARGET static void resume(uint32_t state[8], const uint8_t *blocks, size_t count, const uint8_t *tail, size_t tail_len, uint64_t total, uint8_t *digest) {
  struct lane l = lane_load(state);
  if (count > 0) sha256_lane_blocks(&l, blocks, count);
  if (digest) sha256_lane_finish(&l, tail, tail_len, total, digest);
  else lane_store(l, state);
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
  sha256_lane_finish(st, j->p, len % 64, len, out + 32 * j->index);
}

/* Up to lanes (1..4) chains side by side; once the chunks run out, the rest go one at a time. */
TARGET void sha256_chunks_from(const uint8_t *data, const uint32_t *ends, size_t first, size_t n, uint8_t *out, int lanes) {
  struct job jobs[4];
  struct lane st[4];
  const uint8_t *p[4];
  size_t next = first;
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
  sha256_chunks_from(data, ends, 0, n, out, lanes);
  return 1;
#else
  (void)data; (void)ends; (void)n; (void)out; (void)lanes;
  return 0;
#endif
}

int sha256_resume(uint32_t state[8], const uint8_t *blocks, size_t count, const uint8_t *tail, size_t tail_len, uint64_t total, uint8_t *digest) {
#ifdef HAVE_SHA_NI_BUILD
  if (!sha256_available()) return 0;
  resume(state, blocks, count, tail, tail_len, total, digest);
  return 1;
#else
  (void)state; (void)blocks; (void)count; (void)tail; (void)tail_len; (void)total; (void)digest;
  return 0;
#endif
}
