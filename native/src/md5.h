#ifndef CAIRN_MD5_H
#define CAIRN_MD5_H

#include <stddef.h>
#include <stdint.h>

/* Advances one MD5 state (a, b, c, d) over whole 64-byte blocks. */
void md5_blocks(uint32_t state[4], const uint8_t *p, size_t blocks);

/* Advances n states (4 words each, one after another) over blocks[l] whole
 * blocks at ptrs[l]; side by side (interleaved chains, or vector lanes where
 * the CPU has them and there are enough lanes) when `side_by_side` is set,
 * else one lane after another. ptrs and blocks are consumed (left at the end,
 * and 0). */
void md5_lanes(uint32_t *states, const uint8_t **ptrs, size_t *blocks, size_t n, int side_by_side);

/* Whether md5_lanes can use vector lanes (AVX-512VL) on this CPU. */
int md5_lanes_vectorized(void);

#endif
