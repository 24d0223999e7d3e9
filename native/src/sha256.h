#ifndef CAIRN_SHA256_H
#define CAIRN_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* Whether this CPU has the SHA extensions sha256_chunks needs. */
int sha256_available(void);

/*
 * The SHA-256 of each chunk of data ending at ends[i] (the first starts at 0),
 * 32 bytes each into out, with up to `lanes` (1-4) chunks hashed side by side.
 * Returns 0, touching nothing, if the CPU lacks SHA-NI.
 */
int sha256_chunks(const uint8_t *data, const uint32_t *ends, size_t n, uint8_t *out, int lanes);

/*
 * A SHA-256 carried across calls (a whole stream's): state (8 words, IV to
 * begin) advanced over count whole blocks; then, with digest, finished over
 * the last partial block, tail, for a message of `total` bytes, into digest
 * (state is then spent). Returns 0, touching nothing, if the CPU lacks SHA-NI.
 */
int sha256_resume(uint32_t state[8], const uint8_t *blocks, size_t count, const uint8_t *tail, size_t tail_len, uint64_t total, uint8_t *digest);

#endif
