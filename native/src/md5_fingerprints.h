#ifndef CAIRN_MD5_FINGERPRINTS_H
#define CAIRN_MD5_FINGERPRINTS_H

#include <stddef.h>
#include <stdint.h>

/*
 * A set of chunks to hash with SHA-256, a slice at a time: the chunks of
 * data ending at ends[0..n) (the first starting at 0), as far as byte
 * `limit` of data. Every chunk that ends by limit gets its digest in out (32
 * bytes at 32 * its index); the chunk that runs past limit is hashed to its
 * last whole block before limit. cursor carries that progress from call to
 * call: the chunk's index, its bytes hashed (whole blocks), and its state (8
 * words); all zeros to begin.
 */
struct chunk_set {
  const uint8_t *data;
  const uint32_t *ends;
  size_t n;
  uint32_t *cursor;
  size_t limit;
  uint8_t *out;
  /* Open: one chunk that goes on past this data (a whole stream's SHA-256):
   * it starts from the cursor's state even with no bytes hashed yet, is
   * hashed to its last whole block and never finished; out is not written. */
  int open;
};

/*
 * One stream's MD5 blocks and, riding along, the SHA-256 digests of one or
 * two chunk sets over its bytes (a batch's content-defined chunks, and the
 * signed chunks of an aws-chunked body): the MD5 state md5 is advanced over
 * md5_count whole 64-byte blocks at md5_blocks. A caller feeds a batch a
 * slice at a time, each call's limits the end of the bytes its MD5 blocks
 * reach, and the last call's limits the ends of the sets.
 */
struct md5_rider {
  uint32_t *md5;
  const uint8_t *md5_blocks;
  size_t md5_count;
  struct chunk_set sets[2];
  size_t nsets;
};

/* Advances one or two riders (two: their MD5 chains interleaved, and every
 * set's lane beside them). Returns 0, touching nothing, if the CPU lacks
 * SHA-NI, count is not 1 or 2, or a rider has no set or more than two. */
int md5_fingerprints(struct md5_rider *riders, size_t count);

#endif
