/* The VPDPBUSD GEMM of kernels/x86/q_conv_vnni.c (er_qd_ukernels_avx512vnni) against the definition of the
 * dot-layout GEMM (kernels/opt/ukernels.h: c[i * ldc + o] = sum_{k < k4} a[i * lda + k] * B[o][k]), int32 for
 * int32, swept below, at and above its tiles: rows 1..40 (6-row tiles, remainders 1-5), 8..72 channels (groups
 * of 4 panels, remainders of 1-3), k4 from 4 to 1028, lda past k4 (rows not 4-byte aligned), random int8 with
 * runs of -128 and 127 (the extreme unsigned x signed products). The words of c between rows (o >= ocp) and
 * past the last row must keep their guard value. Then the requantizing form (gemm_q) on any channel count against
 * er_qm_requant1 of the exact sums plus the bias (handed over through fold_bias, from the weight sums), guard
 * bytes included. Built by test_qconv_vnni.py, also with ASan+UBSan.
 * Usage: vnni_driver SEED; prints "SKIP ..." on a CPU without AVX-512 VNNI, else "passed N failed M". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt/ukernels.h"

static uint32_t rng_state;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static int8_t rnd8(void) {
  const uint32_t r = rnd() % 8;
  return r == 0 ? -128 : r == 1 ? 127 : (int8_t)(rnd() & 0xFF);
}

#define GUARD ((int32_t)0x5A5A5A5A)

/* B[o][k] in the dot layout: panel o / 8, group k / 4, lane o % 8, byte k % 4 */
static int64_t packed_at(int64_t k4, int64_t o, int64_t k) {
  return (o / 8) * 8 * k4 + (k / 4) * 32 + (o % 8) * 4 + k % 4;
}

int er_rounding_mode; /* kernels/ref/fixedpoint.c's switch, read by er_mul_by_quantized_multiplier */

int main(int argc, char **argv) {
  rng_state = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 1u;
  if (!rng_state) rng_state = 1;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512vnni") || !__builtin_cpu_supports("avx512vl") ||
      !__builtin_cpu_supports("avx512bw")) {
    printf("SKIP this CPU has no AVX-512 VNNI\n");
    return 0;
  }
  static const int64_t K4S[] = {4, 8, 12, 16, 20, 64, 68, 260, 1028};
  int passed = 0, failed = 0;
  for (int64_t np = 1; np <= 40; ++np) {
    for (int64_t ocp = 8; ocp <= 72; ocp += 8) {
      const int64_t k4 = K4S[rnd() % (sizeof K4S / sizeof K4S[0])];
      const int64_t lda = k4 + (int64_t)(rnd() % 3) * 3, ldc = ocp + (int64_t)(rnd() % 2) * 5;
      int8_t *a = malloc((size_t)(np * lda)), *b = malloc((size_t)(ocp * k4));
      int32_t *c = malloc(sizeof(int32_t) * (size_t)(np * ldc + 8));
      for (int64_t i = 0; i < np * lda; ++i) a[i] = rnd8();
      for (int64_t i = 0; i < ocp * k4; ++i) b[i] = rnd8();
      for (int64_t i = 0; i < np * ldc + 8; ++i) c[i] = GUARD;
      er_qd_ukernels_avx512vnni.gemm(a, np, lda, k4, b, ocp, c, ldc);
      int bad = 0;
      for (int64_t i = 0; i < np && !bad; ++i) {
        for (int64_t o = 0; o < ldc; ++o) {
          int32_t want = GUARD;
          if (o < ocp) {
            int64_t s = 0;
            for (int64_t k = 0; k < k4; ++k) s += a[i * lda + k] * b[packed_at(k4, o, k)];
            want = (int32_t)s;
          }
          if (c[i * ldc + o] != want) {
            printf("np %lld ocp %lld k4 %lld lda %lld ldc %lld: c[%lld][%lld] = %d, expected %d\n", (long long)np,
                   (long long)ocp, (long long)k4, (long long)lda, (long long)ldc, (long long)i, (long long)o,
                   c[i * ldc + o], want);
            bad = 1;
            break;
          }
        }
      }
      for (int64_t i = np * ldc; i < np * ldc + 8 && !bad; ++i) bad = c[i] != GUARD;
      if (bad) ++failed; else ++passed;
      free(a);
      free(b);
      free(c);
    }
  }
  /* gemm_q: sums + bias requantized by er_qm_out, against er_qm_requant1 of the exact sums (both rounding modes of
   * er_mul_by_quantized_multiplier, every rounding split, multipliers of INT32_MIN, left shifts) */
  static int32_t mult[80], shift[80], bias[80], folded[80], wsum[80];
  for (int t = 0; t < 600; ++t) {
    const int64_t np = 1 + (int64_t)(rnd() % 40), oc = 1 + (int64_t)(rnd() % 72), ocp = (oc + 7) / 8 * 8;
    const int64_t k4 = K4S[rnd() % (sizeof K4S / sizeof K4S[0])], lda = k4 + (int64_t)(rnd() % 2) * 5;
    const int64_t ldd = oc + (int64_t)(rnd() % 2) * 7;
    er_rounding_mode = (int)(rnd() % 2);
    /* a third of the cases: every channel in the one-step form (shifts -22..-1, no INT32_MIN), whose whole panel
     * groups gemm_q writes packed */
    const int plain = t % 3 == 0;
    for (int64_t o = 0; o < oc; ++o) {
      mult[o] = !plain && rnd() % 50 == 0 ? INT32_MIN : (int32_t)((1u << 30) + rnd() % (1u << 30));
      shift[o] = plain ? -(int32_t)(1 + rnd() % 22)
                 : rnd() % 10 == 0 ? (int32_t)(rnd() % 3) : -(int32_t)(1 + rnd() % (rnd() % 2 ? 31 : 12));
      bias[o] = rnd() % 4 == 0 ? (int32_t)rnd() : (int32_t)(rnd() % 80001) - 40000;
    }
    er_qm_out q;
    memset(&q, 0, sizeof q);
    q.bias = folded; /* the combined bias as the op hands it to gemm_q: through fold_bias below */
    q.mult = mult;
    q.shift = shift;
    const uint32_t split = plain ? 0 : rnd() % 3;
    q.up_end = split == 0 ? oc : split == 1 ? (oc / 8) * 8 : 0;
    q.vec_end = q.up_end;
    q.out_offset = (int32_t)(rnd() % 256) - 128;
    q.lo = -128 + (int32_t)(rnd() % 3) * 20;
    q.hi = 127 - (int32_t)(rnd() % 3) * 20;
    int8_t *a = malloc((size_t)(np * lda)), *b = malloc((size_t)(ocp * k4)), *d = malloc((size_t)(np * ldd + 16));
    for (int64_t i = 0; i < np * lda; ++i) a[i] = rnd8();
    for (int64_t i = 0; i < ocp * k4; ++i) b[i] = rnd8();
    for (int64_t i = 0; i < np * ldd + 16; ++i) d[i] = 0x5A;
    memcpy(folded, bias, sizeof bias);
    for (int64_t o = 0; o < oc; ++o) { /* the weight sums as er_pack_s8_dot packs them after the panels */
      wsum[o] = 0;
      for (int64_t k = 0; k < k4; ++k) wsum[o] += b[packed_at(k4, o, k)];
    }
    er_qd_ukernels_avx512vnni.fold_bias(wsum, oc, folded);
    er_qd_ukernels_avx512vnni.gemm_q(a, np, lda, k4, b, oc, &q, d, ldd);
    int bad = 0;
    for (int64_t i = 0; i < np && !bad; ++i) {
      for (int64_t o = 0; o < ldd; ++o) {
        int8_t want = 0x5A;
        if (o < oc) {
          int64_t s = 0;
          for (int64_t k = 0; k < k4; ++k) s += a[i * lda + k] * b[packed_at(k4, o, k)];
          want = er_qm_requant1((int32_t)(uint32_t)((uint32_t)s + (uint32_t)bias[o]), o, &q);
        }
        if (d[i * ldd + o] != want) {
          printf("gemm_q np %lld oc %lld k4 %lld up_end %lld mode %d: dst[%lld][%lld] = %d, expected %d\n",
                 (long long)np, (long long)oc, (long long)k4, (long long)q.up_end, er_rounding_mode, (long long)i,
                 (long long)o, d[i * ldd + o], want);
          bad = 1;
          break;
        }
      }
    }
    for (int64_t i = np * ldd; i < np * ldd + 16 && !bad; ++i) bad = d[i] != 0x5A;
    if (bad) ++failed; else ++passed;
    free(a);
    free(b);
    free(d);
  }
  printf("passed %d failed %d\n", passed, failed);
  return failed != 0;
}
