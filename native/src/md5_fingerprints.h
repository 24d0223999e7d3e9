#ifndef CAIRN_MD5_FINGERPRINTS_H
#define CAIRN_MD5_FINGERPRINTS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Advances the MD5 state md5 over md5_count whole 64-byte blocks at p and,
 * in the same pass, the SHA-256 fingerprints of the chunks of data ending at
 * ends[0..n) (the first starting at 0) as far as byte `limit` of data. Every
 * chunk that ends by limit gets its digest in out (32 bytes at 32 * its
 * index); the chunk that runs past limit is hashed to its last whole block
 * before limit. cursor carries that progress from call to call: the chunk's
 * index, its bytes hashed (whole blocks), and its state (8 words); all zeros
 * to begin. A caller feeds a batch a slice at a time, each call's limit the
 * end of the bytes its MD5 blocks reach, and the last call's limit the
 * batch's end. Returns 0, touching nothing, if the CPU lacks SHA-NI.
 */
int md5_fingerprints(uint32_t md5[4], const uint8_t *p, size_t md5_count, const uint8_t *data, const uint32_t *ends,
                     size_t n, uint32_t cursor[10], size_t limit, uint8_t *out);

#endif
