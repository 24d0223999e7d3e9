#ifndef CAIRN_MD5_FINGERPRINTS_H
#define CAIRN_MD5_FINGERPRINTS_H

#include <stddef.h>
#include <stdint.h>

/*
 * One stream's MD5 blocks and, riding along, the SHA-256 fingerprints of a
 * batch's chunks: the MD5 state md5 is advanced over md5_count whole 64-byte
 * blocks at md5_blocks, and the chunks of data ending at ends[0..n) (the
 * first starting at 0) as far as byte `limit` of data. Every chunk that ends
 * by limit gets its digest in out (32 bytes at 32 * its index); the chunk that
 * runs past limit is hashed to its last whole block before limit. cursor
 * carries that progress from call to call: the chunk's index, its bytes
 * hashed (whole blocks), and its state (8 words); all zeros to begin. A
 * caller feeds a batch a slice at a time, each call's limit the end of the
 * bytes its MD5 blocks reach, and the last call's limit the batch's end.
 */
struct md5_rider {
  uint32_t *md5;
  const uint8_t *md5_blocks;
  size_t md5_count;
  const uint8_t *data;
  const uint32_t *ends;
  size_t n;
  uint32_t *cursor;
  size_t limit;
  uint8_t *out;
};

/* Advances one or two riders (two: their four chains interleaved). Returns
 * 0, touching nothing, if the CPU lacks SHA-NI or count is not 1 or 2. */
int md5_fingerprints(struct md5_rider *riders, size_t count);

#endif
