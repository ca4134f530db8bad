/* Prepare-time weight packing (declarations and layouts: edgerun/ops_pack.h). One pass over the weights in C
 * instead of numpy's padding copy, transposing view and reductions: packing was most of a model's
 * allocate_tensors() time (MobileNetV2 224 float32: ~3.4 M weights). No allocation; runs once per load. */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/ops_pack.h"
#include "ukernels.h"

#define ER_PACK_PANEL 16 /* ERPK_NR of gemm_f32_packed.h */
_Static_assert(ER_PACK_QM_HEADER_WORDS == ER_QM_HEADER_WORDS && ER_PACK_QM_RQ_WORDS == ER_QM_RQ_WORDS,
               "edgerun/ops_pack.h repeats the madd blob's word counts of ukernels.h");

/* Destination-order loops: each output panel is written once, front to back, reading its source rows side by
 * side (a column-order write touched every cache line of a panel once per column). */
void er_pack_f32_panels(const float *w, const float *bias, int64_t n, int64_t k, int64_t groups, float *out_w,
                        float *out_b) {
  static const float zero = 0.0f;
  const int64_t ng = n / groups, ng8 = (ng + 7) / 8 * 8;
  for (int64_t g = 0; g < groups; ++g) {
    const float *wg = w + g * ng * k;
    float *dst = out_w + g * ng8 * k;
    for (int64_t c0 = 0; c0 < ng8; c0 += ER_PACK_PANEL) {
      const int64_t width = ng8 - c0 >= ER_PACK_PANEL ? ER_PACK_PANEL : ng8 - c0; /* 16, or a last 8 */
      const float *rows[ER_PACK_PANEL];
      int64_t step[ER_PACK_PANEL];
      for (int64_t j = 0; j < width; ++j) {
        const int real = c0 + j < ng;
        rows[j] = real ? wg + (c0 + j) * k : &zero; /* padding columns read one zero over and over */
        step[j] = real;
      }
      for (int64_t kk = 0; kk < k; ++kk)
        for (int64_t j = 0; j < width; ++j) *dst++ = rows[j][kk * step[j]];
    }
    for (int64_t c = 0; c < ng8; ++c) out_b[g * ng8 + c] = c < ng ? bias[g * ng + c] : 0.0f;
  }
}

/* Rows [n0, n0 + 8) of w [n, k] as groups of `grp` bytes: [k_padded / grp][8][grp], zero padded. */
static void er_pack_s8_group(const int8_t *w, int64_t n, int64_t k, int64_t n0, int64_t grp, int64_t kpad, int8_t *dst) {
  for (int64_t q = 0; q < kpad; q += grp) {
    const int64_t take = k - q < grp ? k - q : grp;
    for (int64_t j = 0; j < 8; ++j, dst += grp) {
      if (n0 + j < n && take == grp) {
        memcpy(dst, w + (n0 + j) * k + q, (size_t)grp);
      } else {
        memset(dst, 0, (size_t)grp);
        if (n0 + j < n) memcpy(dst, w + (n0 + j) * k + q, (size_t)take);
      }
    }
  }
}

static int32_t er_pack_row_sum(const int8_t *row, int64_t k) { /* k < 2^24: exact in int32 */
  int32_t sum = 0;
  for (int64_t kk = 0; kk < k; ++kk) sum += row[kk];
  return sum;
}

void er_pack_s8_dot(const int8_t *w, int64_t n, int64_t k, int64_t input_offset, int32_t *out) {
  const int64_t k4 = (k + 3) / 4 * 4, np = (n + 7) / 8 * 8;
  for (int64_t r = 0; r < np; ++r) {
    const int64_t sum = r < n ? er_pack_row_sum(w + r * k, k) : 0;
    /* wraps to int32 as the kernels' int32 sums do (unsigned arithmetic: no overflow) */
    out[r] = (int32_t)(uint32_t)((uint64_t)input_offset * (uint64_t)sum);
  }
  int8_t *panels = (int8_t *)(out + np);
  for (int64_t n0 = 0; n0 < np; n0 += 8) er_pack_s8_group(w, n, k, n0, 4, k4, panels + n0 * k4);
  int32_t *sums = out + np + np * k4 / 4; /* the weight sums themselves, for kernels with another offset */
  for (int64_t r = 0; r < np; ++r) sums[r] = r < n ? er_pack_row_sum(w + r * k, k) : 0;
}

void er_pack_s8_pairs(const int8_t *w, int64_t n, int64_t k, int8_t *out, int32_t *sums) {
  const int64_t kp = k + (k & 1), np = (n + 7) / 8 * 8;
  for (int64_t r = 0; r < n; ++r) sums[r] = er_pack_row_sum(w + r * k, k);
  for (int64_t n0 = 0; n0 < np; n0 += 8) er_pack_s8_group(w, n, k, n0, 2, kp, out + n0 * kp);
}

void er_pack_s8_dw_pairs(const int8_t *w, int64_t taps, int64_t c, int64_t cp, int8_t *out, int32_t *sums) {
  const int64_t ntp = (taps + 1) / 2;
  memset(out, 0, (size_t)(ntp * cp * 2));
  for (int64_t ch = 0; ch < c; ++ch) sums[ch] = 0;
  for (int64_t t = 0; t < taps; ++t) {
    const int8_t *src = w + t * c;
    int8_t *dst = out + (t / 2) * cp * 2 + (t & 1);
    for (int64_t ch = 0; ch < c; ++ch) {
      dst[2 * ch] = src[ch];
      sums[ch] += src[ch];
    }
  }
}

void er_pack_qm_blob(const int32_t *mult, const int32_t *shift, const int32_t *sums, const int32_t *bias,
                     int64_t n, int64_t cp, int64_t input_offset, int32_t *out) {
  int32_t *head = out, *b = out + ER_QM_HEADER_WORDS, *rq = b + cp;
  memset(out, 0, sizeof(int32_t) * (size_t)(ER_QM_HEADER_WORDS + cp + cp / 8 * ER_QM_RQ_WORDS));
  int ok = 1;
  for (int64_t c = 0; c < n; ++c) {
    uint64_t v = (uint64_t)input_offset * (uint64_t)(int64_t)sums[c] + (uint64_t)(int64_t)(bias ? bias[c] : 0);
    b[c] = (int32_t)(uint32_t)v;
    if (shift[c] > -1 || mult[c] == INT32_MIN) ok = 0;
  }
  head[0] = ok;
  if (!ok) return;
  for (int64_t blk = 0; blk < cp / 8; ++blk) {
    int32_t *o = rq + blk * ER_QM_RQ_WORDS;
    for (int j = 0; j < 8; ++j) {
      const int64_t c = blk * 8 + j;
      const int32_t m = c < n ? mult[c] : 0;
      const int64_t r = c < n ? -(int64_t)shift[c] : 1; /* >= 1 */
      const int64_t rc = (INT64_C(1) << 30) + (INT64_C(1) << (30 + (r < 32 ? r : 32)));
      o[j] = m;
      if (j & 1) o[8 + (j - 1)] = m; /* words 8, 10, 12, 14: the odd channels' multipliers */
      int32_t *rcw = o + (j & 1 ? 24 : 16) + (j / 2) * 2; /* int64, little-endian words */
      rcw[0] = (int32_t)(uint32_t)((uint64_t)rc & 0xffffffffu);
      rcw[1] = (int32_t)(uint32_t)((uint64_t)rc >> 32);
      o[32 + j] = (int32_t)(r - 1);
    }
  }
}

void er_quantize_multipliers(const double *m, int64_t n, int32_t *q, int32_t *shift) {
  for (int64_t i = 0; i < n; ++i) {
    int e = 0;
    const double f = frexp(m[i], &e);
    double v = floor(fabs(f) * 2147483648.0 + 0.5);
    if (v == 2147483648.0) {
      v /= 2;
      e += 1;
    }
    if (e < -31) {
      v = 0;
      e = 0;
    }
    q[i] = (int32_t)(f < 0 ? -v : v);
    shift[i] = e;
  }
}
