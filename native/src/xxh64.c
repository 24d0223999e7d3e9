#include "xxh64.h"

#include <string.h>

static const uint64_t P1 = 0x9E3779B185EBCA87ULL;
static const uint64_t P2 = 0xC2B2AE3D27D4EB4FULL;
static const uint64_t P3 = 0x165667B19E3779F9ULL;
static const uint64_t P4 = 0x85EBCA77C2B2AE63ULL;
static const uint64_t P5 = 0x27D4EB2F165667C5ULL;

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* memcpy keeps unaligned reads defined; the targets we build on are little-endian. */
static inline uint64_t read64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static inline uint32_t read32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline uint64_t accumulate(uint64_t acc, uint64_t lane) {
  acc += lane * P2;
  acc = rotl64(acc, 31);
  return acc * P1;
}

static inline uint64_t merge_accumulator(uint64_t h, uint64_t acc) {
  h ^= accumulate(0, acc);
  return h * P1 + P4;
}

uint64_t cairn_xxh64(const uint8_t *data, size_t length, uint64_t seed) {
  const uint8_t *p = data;
  const uint8_t *end = data + length;
  uint64_t h;

  if (length >= 32) {
    uint64_t a1 = seed + P1 + P2;
    uint64_t a2 = seed + P2;
    uint64_t a3 = seed;
    uint64_t a4 = seed - P1;
    const uint8_t *last_stripe = end - 32;
    do {
      a1 = accumulate(a1, read64(p));
      a2 = accumulate(a2, read64(p + 8));
      a3 = accumulate(a3, read64(p + 16));
      a4 = accumulate(a4, read64(p + 24));
      p += 32;
    } while (p <= last_stripe);
    h = rotl64(a1, 1) + rotl64(a2, 7) + rotl64(a3, 12) + rotl64(a4, 18);
    h = merge_accumulator(h, a1);
    h = merge_accumulator(h, a2);
    h = merge_accumulator(h, a3);
    h = merge_accumulator(h, a4);
  } else {
    h = seed + P5;
  }

  h += (uint64_t)length;

  while (p + 8 <= end) {
    h ^= accumulate(0, read64(p));
    h = rotl64(h, 27) * P1 + P4;
    p += 8;
  }
  if (p + 4 <= end) {
    h ^= (uint64_t)read32(p) * P1;
    h = rotl64(h, 23) * P2 + P3;
    p += 4;
  }
  while (p < end) {
    h ^= (uint64_t)(*p) * P5;
    h = rotl64(h, 11) * P1;
    p++;
  }

  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}
