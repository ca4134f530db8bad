/* The VPDPBUSD GEMM of kernels/x86/q_conv_vnni.c (er_qd_ukernels_avx512vnni) against the definition of the
 * dot-layout GEMM (kernels/opt/ukernels.h: c[i * ldc + o] = sum_{k < k4} a[i * lda + k] * B[o][k]), int32 for
 * int32, swept below, at and above its tiles: rows 1..40 (6-row tiles, remainders 1-5), 8..72 channels (groups
 * of 4 panels, remainders of 1-3), k4 from 4 to 1028, lda past k4 (rows not 4-byte aligned), random int8 with
 * runs of -128 and 127 (the extreme unsigned x signed products). The words of c between rows (o >= ocp) and
 * past the last row must keep their guard value. Built by test_qconv_vnni.py, also with ASan+UBSan.
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

int main(int argc, char **argv) {
  rng_state = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 1u;
  if (!rng_state) rng_state = 1;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512vnni") || !__builtin_cpu_supports("avx512vl")) {
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
          if (o < ocp) { /* B[o][k] at panel o / 8, group k / 4, lane o % 8, byte k % 4 */
            int64_t s = 0;
            for (int64_t k = 0; k < k4; ++k) s += a[i * lda + k] * b[(o / 8) * 8 * k4 + (k / 4) * 32 + (o % 8) * 4 + k % 4];
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
  printf("passed %d failed %d\n", passed, failed);
  return failed != 0;
}
