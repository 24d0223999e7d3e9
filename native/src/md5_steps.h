/* The MD5 compression function's 64 steps, shared by the loops that run
 * them: one chain, chains interleaved, vector lanes (md5.c), and one chain
 * with chunk fingerprints riding along (md5_fingerprints.c). */
#ifndef CAIRN_MD5_STEPS_H
#define CAIRN_MD5_STEPS_H

#include <stdint.h>

/* The steps in sixteen groups of four (one round function each): round
 * function, the registers in turn, message word, constant, rotation. A loop
 * that interleaves other work with a chain places it between groups. */
#define MD5_Q0(RF, RG, RH, RI, M) \
  RF(a, b, c, d, M[0], 0xd76aa478u, 7) \
  RF(d, a, b, c, M[1], 0xe8c7b756u, 12) \
  RF(c, d, a, b, M[2], 0x242070dbu, 17) \
  RF(b, c, d, a, M[3], 0xc1bdceeeu, 22)
#define MD5_Q1(RF, RG, RH, RI, M) \
  RF(a, b, c, d, M[4], 0xf57c0fafu, 7) \
  RF(d, a, b, c, M[5], 0x4787c62au, 12) \
  RF(c, d, a, b, M[6], 0xa8304613u, 17) \
  RF(b, c, d, a, M[7], 0xfd469501u, 22)
#define MD5_Q2(RF, RG, RH, RI, M) \
  RF(a, b, c, d, M[8], 0x698098d8u, 7) \
  RF(d, a, b, c, M[9], 0x8b44f7afu, 12) \
  RF(c, d, a, b, M[10], 0xffff5bb1u, 17) \
  RF(b, c, d, a, M[11], 0x895cd7beu, 22)
#define MD5_Q3(RF, RG, RH, RI, M) \
  RF(a, b, c, d, M[12], 0x6b901122u, 7) \
  RF(d, a, b, c, M[13], 0xfd987193u, 12) \
  RF(c, d, a, b, M[14], 0xa679438eu, 17) \
  RF(b, c, d, a, M[15], 0x49b40821u, 22)
#define MD5_Q4(RF, RG, RH, RI, M) \
  RG(a, b, c, d, M[1], 0xf61e2562u, 5) \
  RG(d, a, b, c, M[6], 0xc040b340u, 9) \
  RG(c, d, a, b, M[11], 0x265e5a51u, 14) \
  RG(b, c, d, a, M[0], 0xe9b6c7aau, 20)
#define MD5_Q5(RF, RG, RH, RI, M) \
  RG(a, b, c, d, M[5], 0xd62f105du, 5) \
  RG(d, a, b, c, M[10], 0x02441453u, 9) \
  RG(c, d, a, b, M[15], 0xd8a1e681u, 14) \
  RG(b, c, d, a, M[4], 0xe7d3fbc8u, 20)
#define MD5_Q6(RF, RG, RH, RI, M) \
  RG(a, b, c, d, M[9], 0x21e1cde6u, 5) \
  RG(d, a, b, c, M[14], 0xc33707d6u, 9) \
  RG(c, d, a, b, M[3], 0xf4d50d87u, 14) \
  RG(b, c, d, a, M[8], 0x455a14edu, 20)
#define MD5_Q7(RF, RG, RH, RI, M) \
  RG(a, b, c, d, M[13], 0xa9e3e905u, 5) \
  RG(d, a, b, c, M[2], 0xfcefa3f8u, 9) \
  RG(c, d, a, b, M[7], 0x676f02d9u, 14) \
  RG(b, c, d, a, M[12], 0x8d2a4c8au, 20)
#define MD5_Q8(RF, RG, RH, RI, M) \
  RH(a, b, c, d, M[5], 0xfffa3942u, 4) \
  RH(d, a, b, c, M[8], 0x8771f681u, 11) \
  RH(c, d, a, b, M[11], 0x6d9d6122u, 16) \
  RH(b, c, d, a, M[14], 0xfde5380cu, 23)
#define MD5_Q9(RF, RG, RH, RI, M) \
  RH(a, b, c, d, M[1], 0xa4beea44u, 4) \
  RH(d, a, b, c, M[4], 0x4bdecfa9u, 11) \
  RH(c, d, a, b, M[7], 0xf6bb4b60u, 16) \
  RH(b, c, d, a, M[10], 0xbebfbc70u, 23)
#define MD5_Q10(RF, RG, RH, RI, M) \
  RH(a, b, c, d, M[13], 0x289b7ec6u, 4) \
  RH(d, a, b, c, M[0], 0xeaa127fau, 11) \
  RH(c, d, a, b, M[3], 0xd4ef3085u, 16) \
  RH(b, c, d, a, M[6], 0x04881d05u, 23)
#define MD5_Q11(RF, RG, RH, RI, M) \
  RH(a, b, c, d, M[9], 0xd9d4d039u, 4) \
  RH(d, a, b, c, M[12], 0xe6db99e5u, 11) \
  RH(c, d, a, b, M[15], 0x1fa27cf8u, 16) \
  RH(b, c, d, a, M[2], 0xc4ac5665u, 23)
#define MD5_Q12(RF, RG, RH, RI, M) \
  RI(a, b, c, d, M[0], 0xf4292244u, 6) \
  RI(d, a, b, c, M[7], 0x432aff97u, 10) \
  RI(c, d, a, b, M[14], 0xab9423a7u, 15) \
  RI(b, c, d, a, M[5], 0xfc93a039u, 21)
#define MD5_Q13(RF, RG, RH, RI, M) \
  RI(a, b, c, d, M[12], 0x655b59c3u, 6) \
  RI(d, a, b, c, M[3], 0x8f0ccc92u, 10) \
  RI(c, d, a, b, M[10], 0xffeff47du, 15) \
  RI(b, c, d, a, M[1], 0x85845dd1u, 21)
#define MD5_Q14(RF, RG, RH, RI, M) \
  RI(a, b, c, d, M[8], 0x6fa87e4fu, 6) \
  RI(d, a, b, c, M[15], 0xfe2ce6e0u, 10) \
  RI(c, d, a, b, M[6], 0xa3014314u, 15) \
  RI(b, c, d, a, M[13], 0x4e0811a1u, 21)
#define MD5_Q15(RF, RG, RH, RI, M) \
  RI(a, b, c, d, M[4], 0xf7537e82u, 6) \
  RI(d, a, b, c, M[11], 0xbd3af235u, 10) \
  RI(c, d, a, b, M[2], 0x2ad7d2bbu, 15) \
  RI(b, c, d, a, M[9], 0xeb86d391u, 21)

#define MD5_STEPS(RF, RG, RH, RI, M) \
  MD5_Q0(RF, RG, RH, RI, M) MD5_Q1(RF, RG, RH, RI, M) MD5_Q2(RF, RG, RH, RI, M) MD5_Q3(RF, RG, RH, RI, M) \
  MD5_Q4(RF, RG, RH, RI, M) MD5_Q5(RF, RG, RH, RI, M) MD5_Q6(RF, RG, RH, RI, M) MD5_Q7(RF, RG, RH, RI, M) \
  MD5_Q8(RF, RG, RH, RI, M) MD5_Q9(RF, RG, RH, RI, M) MD5_Q10(RF, RG, RH, RI, M) MD5_Q11(RF, RG, RH, RI, M) \
  MD5_Q12(RF, RG, RH, RI, M) MD5_Q13(RF, RG, RH, RI, M) MD5_Q14(RF, RG, RH, RI, M) MD5_Q15(RF, RG, RH, RI, M)

static inline uint32_t rol32(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

/* In each step a + m + k does not depend on the previous step, only the
 * function of b, c and d does: the empty asm keeps the compiler from folding
 * that sum into the chain (one add more on the critical path costs 20%). */
#define PIN(x) __asm__("" : "+r"(x))
#define SF(a, b, c, d, m, k, s) { a += (m) + (k); PIN(a); a += ((c ^ d) & b) ^ d; a = rol32(a, s) + b; }
#define SG(a, b, c, d, m, k, s) { a += (m) + (k); a += ~d & c; PIN(a); a += d & b; a = rol32(a, s) + b; }
#define SH(a, b, c, d, m, k, s) { a += (m) + (k); PIN(a); a += (c ^ d) ^ b; a = rol32(a, s) + b; }
#define SI(a, b, c, d, m, k, s) { a += (m) + (k); PIN(a); a += c ^ (b | ~d); a = rol32(a, s) + b; }

/* Chains of several streams interleaved step by step (md5.c), for K = 2 to 4:
 * a lane's registers are a0..d0, a1..d1 and so on, its words w[i][l]. */
#define LANE(S, l, a, b, c, d, m, k, s) S(a##l, b##l, c##l, d##l, (m)[l], k, s)
#define W2(S, a, b, c, d, m, k, s) LANE(S, 0, a, b, c, d, m, k, s) LANE(S, 1, a, b, c, d, m, k, s)
#define W3(S, a, b, c, d, m, k, s) W2(S, a, b, c, d, m, k, s) LANE(S, 2, a, b, c, d, m, k, s)
#define W4(S, a, b, c, d, m, k, s) W3(S, a, b, c, d, m, k, s) LANE(S, 3, a, b, c, d, m, k, s)
#define F2(a, b, c, d, m, k, s) W2(SF, a, b, c, d, m, k, s)
#define G2(a, b, c, d, m, k, s) W2(SG, a, b, c, d, m, k, s)
#define H2(a, b, c, d, m, k, s) W2(SH, a, b, c, d, m, k, s)
#define I2(a, b, c, d, m, k, s) W2(SI, a, b, c, d, m, k, s)
#define F3(a, b, c, d, m, k, s) W3(SF, a, b, c, d, m, k, s)
#define G3(a, b, c, d, m, k, s) W3(SG, a, b, c, d, m, k, s)
#define H3(a, b, c, d, m, k, s) W3(SH, a, b, c, d, m, k, s)
#define I3(a, b, c, d, m, k, s) W3(SI, a, b, c, d, m, k, s)
#define F4(a, b, c, d, m, k, s) W4(SF, a, b, c, d, m, k, s)
#define G4(a, b, c, d, m, k, s) W4(SG, a, b, c, d, m, k, s)
#define H4(a, b, c, d, m, k, s) W4(SH, a, b, c, d, m, k, s)
#define I4(a, b, c, d, m, k, s) W4(SI, a, b, c, d, m, k, s)

#define LANE_IN(l) \
  uint32_t a##l = st[4 * l], b##l = st[4 * l + 1], c##l = st[4 * l + 2], d##l = st[4 * l + 3]; \
  const uint8_t *p##l = ptrs[l];
#define LANE_WORDS(l) for (int i = 0; i < 16; i++) memcpy(&w[i][l], p##l + 4 * i, 4);
#define LANE_SAVE(l) const uint32_t sa##l = a##l, sb##l = b##l, sc##l = c##l, sd##l = d##l;
#define LANE_ADD(l) a##l += sa##l; b##l += sb##l; c##l += sc##l; d##l += sd##l; p##l += 64;
#define LANE_OUT(l) st[4 * l] = a##l; st[4 * l + 1] = b##l; st[4 * l + 2] = c##l; st[4 * l + 3] = d##l; ptrs[l] = p##l;

#define LANES2(M) M(0) M(1)
#define LANES3(M) LANES2(M) M(2)
#define LANES4(M) LANES3(M) M(3)

#endif
