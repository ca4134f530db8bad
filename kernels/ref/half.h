/* IEEE binary16 <-> binary32 in portable C (no _Float16: the cross targets' compilers do not all have it).
 * er_f16_to_f32 is exact (NaN payloads kept); er_f32_to_f16 rounds to nearest, ties to even, overflows to inf,
 * and writes every NaN as its sign | 0x7e00, as Eigen::half's conversion (what LiteRT's float16 kernels use). */
#ifndef EDGERUN_REF_HALF_H
#define EDGERUN_REF_HALF_H
#include <stdint.h>
#include <string.h>

static inline float er_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
  if (e == 0x1fu) {
    bits = sign | 0x7f800000u | (m << 13); /* inf, NaN */
  } else if (e) {
    bits = sign | ((e + 112u) << 23) | (m << 13);
  } else if (!m) {
    bits = sign;
  } else { /* subnormal: m * 2^-24, normalized */
    e = 113u;
    while (!(m & 0x400u)) {
      m <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static inline uint16_t er_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  const uint32_t a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);  /* NaN */
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 (and inf): inf */
  uint32_t r, rem, half;
  if (a < 0x38800000u) {                   /* below 2^-14: a subnormal half or zero, in units of 2^-24 */
    if (a < 0x33000000u) return sign;       /* below 2^-25 (2^-25 itself ties to 0) */
    const uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u, shift = 126u - e; /* 14..24 */
    r = m >> shift;
    rem = m & ((1u << shift) - 1u);
    half = 1u << (shift - 1u);
  } else {
    r = (a - 0x38000000u) >> 13; /* rebias the exponent 127 -> 15, keep 10 mantissa bits */
    rem = a & 0x1fffu;
    half = 0x1000u;
  }
  if (rem > half || (rem == half && (r & 1u))) ++r; /* a carry into the exponent is right */
  return (uint16_t)(sign | r);
}

/* A NaN result of an op on halves, as LiteRT on x86 writes it: the quieted NaN operand (the last one when
 * both are NaN), else the x86 default NaN (negative). Keeps NaN signs the same on every target. */
static inline uint16_t er_f16_nan2(uint16_t a, uint16_t b) {
  if ((b & 0x7fffu) > 0x7c00u) return (uint16_t)((b & 0x8000u) | 0x7e00u);
  if ((a & 0x7fffu) > 0x7c00u) return (uint16_t)((a & 0x8000u) | 0x7e00u);
  return 0xfe00u;
}

#endif
