#include "crc.h"

#include <string.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

typedef struct {
  uint64_t poly; /* reflected */
  int width;
  uint64_t table[8][256];
  uint64_t x2n[64]; /* x^(2^k) mod poly, reflected */
} crc_model;

static crc_model models[3];
static int hw_crc32c = 0;

/* Multiplies a and b modulo the polynomial, in the reflected representation
 * where the top bit of the width stands for x^0. */
static uint64_t mult_mod(const crc_model *m, uint64_t a, uint64_t b) {
  uint64_t bit = (uint64_t)1 << (m->width - 1);
  uint64_t p = 0;
  for (;;) {
    if (a & bit) {
      p ^= b;
      if ((a & (bit - 1)) == 0) break;
    }
    bit >>= 1;
    b = (b & 1) ? (b >> 1) ^ m->poly : b >> 1;
  }
  return p;
}

static void init_model(crc_model *m, uint64_t poly, int width) {
  m->poly = poly;
  m->width = width;
  uint64_t mask = width == 64 ? ~(uint64_t)0 : (((uint64_t)1 << width) - 1);
  for (int i = 0; i < 256; i++) {
    uint64_t c = (uint64_t)i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    m->table[0][i] = c & mask;
  }
  for (int i = 0; i < 256; i++) {
    for (int t = 1; t < 8; t++) {
      uint64_t prev = m->table[t - 1][i];
      m->table[t][i] = ((prev >> 8) ^ m->table[0][prev & 0xff]) & mask;
    }
  }
  m->x2n[0] = (uint64_t)1 << (width - 2); /* x^1 */
  for (int k = 1; k < 64; k++) m->x2n[k] = mult_mod(m, m->x2n[k - 1], m->x2n[k - 1]);
}

void cairn_crc_init(void) {
  init_model(&models[CAIRN_CRC32], 0xEDB88320u, 32);
  init_model(&models[CAIRN_CRC32C], 0x82F63B78u, 32);
  init_model(&models[CAIRN_CRC64NVME], 0x9A6C9329AC4BC9B5ull, 64);
#if defined(__x86_64__)
  __builtin_cpu_init();
  hw_crc32c = __builtin_cpu_supports("sse4.2");
#endif
}

/* Slice-by-8 over the reflected table: eight bytes per step. */
static uint64_t crc_sw(const crc_model *m, uint64_t crc, const uint8_t *p, size_t n) {
  uint64_t mask = m->width == 64 ? ~(uint64_t)0 : (((uint64_t)1 << m->width) - 1);
  crc = ~crc & mask;
  const uint64_t(*t)[256] = m->table;
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    v ^= crc;
    crc = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^ t[4][(v >> 24) & 0xff] ^
          t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc & mask;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint64_t crc32c_hw(uint64_t crc, const uint8_t *p, size_t n) {
  uint64_t c = ~crc & 0xffffffffu;
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  while (n--) c = _mm_crc32_u8((uint32_t)c, *p++);
  return ~c & 0xffffffffu;
}
#endif

uint64_t cairn_crc(cairn_crc_kind kind, uint64_t prev, const uint8_t *data, size_t length) {
#if defined(__x86_64__)
  if (kind == CAIRN_CRC32C && hw_crc32c) return crc32c_hw(prev, data, length);
#endif
  return crc_sw(&models[kind], prev, data, length);
}

uint64_t cairn_crc_combine(cairn_crc_kind kind, uint64_t crc_a, uint64_t crc_b, uint64_t length_b) {
  const crc_model *m = &models[kind];
  /* x^(8 * length_b) mod poly, by the binary expansion of length_b, starting at x^0. */
  uint64_t p = (uint64_t)1 << (m->width - 1);
  int k = 3;
  while (length_b) {
    if (length_b & 1) p = mult_mod(m, m->x2n[k & 63], p);
    length_b >>= 1;
    k++;
  }
  return mult_mod(m, p, crc_a) ^ crc_b;
}
