/* Runs natively on x86-64 (tests/kernels/test_op_kernels_x86.py builds it with the whole desktop kernel build):
 * the whole-op kernels of er_op_kernels_avx2 (er_op_kernels_selected after er_select_isa(ER_HOST_ISA_AVX2))
 * against the reference kernels on random cases, bit for bit, and the lane requantization of
 * kernels/x86/fixedpoint_avx2.h against edgerun/fixedpoint.h on edge values, both rounding modes.
 * Usage: x86_ops_driver CASES SEED. Prints "passed N failed M"; every failure on its own line. */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgerun/edgerun.h"
#include "edgerun/host_isa.h"
#include "opt/ukernels.h"
#include "x86/fixedpoint_avx2.h"

#define N_MAX (1 << 18)
#define GUARD 64

static uint8_t abuf[N_MAX], bbuf[N_MAX], ya[N_MAX + GUARD], yb[N_MAX + GUARD];
static int n_pass, n_fail;

static uint32_t rng_state = 0x9E3779B9u;
static uint32_t rnd(void) {
  uint32_t v = rng_state;
  v ^= v << 13;
  v ^= v >> 17;
  v ^= v << 5;
  return rng_state = v;
}
static int32_t rnd_in(int32_t lo, int32_t hi) {
  return (int32_t)((int64_t)lo + (int64_t)(rnd() % (uint32_t)((int64_t)hi - lo + 1)));
}
static int32_t pick(const int32_t *v, int n) { return v[rnd() % (uint32_t)n]; }
#define PICK(...) pick((const int32_t[]){__VA_ARGS__}, sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

static void fail(const char *what, int idx, const char *detail) {
  printf("FAIL %s case %d: %s\n", what, idx, detail);
  ++n_fail;
}

/* The output bytes ya (the ISA form) and yb (the reference) agree over count bytes and the guard after them,
 * and so do the two statuses: a pass, or a failure naming the first differing byte. */
static void check_bytes(const char *what, int idx, const char *desc, int s0, int s1, int64_t count) {
  if (s0 != s1) {
    fail(what, idx, desc);
    return;
  }
  for (int64_t i = 0; i < count + GUARD; ++i)
    if (ya[i] != yb[i]) {
      char d[400];
      snprintf(d, sizeof d, "at %ld: %d vs reference %d (%s)", (long)i, ya[i], yb[i], desc);
      fail(what, idx, d);
      return;
    }
  ++n_pass;
}

static er_tensor tensor(void *data, int32_t type, int ndim, const int32_t *dims) {
  er_tensor t;
  memset(&t, 0, sizeof t);
  t.data = data, t.type = type, t.ndim = ndim, t.count = 1;
  for (int i = 0; i < ndim; ++i) t.dims[i] = dims[i], t.count *= dims[i];
  t.bytes = t.count;
  return t;
}

static int32_t rnd_mult(void) {
  return rnd() % 5 == 0 ? PICK(0x40000000, 0x7FFFFFFF, 0x40000001, 0x55555555, INT32_MIN, 1, -0x40000000)
                        : (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
}

/* qa_rq_apply lane by lane against er_mul_by_quantized_multiplier / _lt1: edge inputs and multipliers, shifts
 * -31..30, both rounding modes */
__attribute__((target("avx2"))) static void requant_case(int idx) {
  static const int32_t edge[] = {INT32_MIN, INT32_MIN + 1, -65536, -32769, -32768, -3, -2, -1, 0, 1, 2, 3, 32767,
                                 32768, 65535, INT32_MAX - 1, INT32_MAX, 0x40000000, -0x40000000, -0x40000001};
  const int mode = (int)(rnd() & 1), lt1 = (int)(rnd() & 1);
  const int32_t m = rnd_mult(), s = rnd_in(-31, 30);
  int32_t in[64], got[64], want[64];
  for (int i = 0; i < 64; ++i) in[i] = i < 20 ? edge[i] : rnd() % 3 ? (int32_t)rnd() >> rnd_in(0, 31) : (int32_t)rnd();
  er_rounding_mode = mode;
  const qa_rq q = qa_rq_init(m, s, lt1);
  for (int i = 0; i < 64; i += 8)
    _mm256_storeu_si256((__m256i *)(got + i), qa_rq_apply(_mm256_loadu_si256((const __m256i *)(in + i)), &q));
  for (int i = 0; i < 64; ++i)
    want[i] = lt1 ? er_mul_by_quantized_multiplier_lt1(in[i], m, s) : er_mul_by_quantized_multiplier(in[i], m, s);
  er_rounding_mode = 0;
  for (int i = 0; i < 64; ++i)
    if (got[i] != want[i]) {
      char d[200];
      snprintf(d, sizeof d, "mode=%d lt1=%d mult=%ld shift=%ld x=%ld: %ld, scalar %ld", mode, lt1, (long)m, (long)s,
               (long)in[i], (long)got[i], (long)want[i]);
      fail("requant lanes", idx, d);
      return;
    }
  ++n_pass;
}

/* int8/uint8 ADD, SUB, MUL with broadcasting against kernels/ref/q_elementwise.c, both rounding modes; also
 * ops and types the AVX2 kernel passes to the reference */
static void q_binary_case(int idx) {
  const int op_kind = rnd() % 16 == 0 ? PICK(ER_QB_MAX, ER_QB_SQDIFF) : PICK(ER_QB_ADD, ER_QB_ADD, ER_QB_SUB, ER_QB_MUL);
  const int is_u8 = (int)(rnd() % 3 == 0), type = is_u8 ? ER_UINT8 : ER_INT8;
  const int nd = rnd_in(1, 4);
  int32_t yd[4], ad[4], bd[4];
  int64_t total = 1;
  for (int i = 0; i < nd; ++i) {
    yd[i] = total > 400 ? PICK(1, 2, 3) : PICK(1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 32, 33, 63, 65);
    total *= yd[i];
  }
  if (nd == 1 && rnd() % 2) yd[0] = rnd_in(0, 300);
  if (nd == 1 && rnd() % 4 == 0) yd[0] = rnd_in(500, 1500); /* long rows: the table path of ADD/SUB */
  int na = nd, nb = nd;
  for (int i = 0; i < nd; ++i) ad[i] = bd[i] = yd[i];
  const int style = (int)(rnd() % 5); /* 0 same shape, 1 b scalar, 2 a scalar, 3 b broadcast dims, 4 a lower rank */
  if (style == 1) nb = 0;
  if (style == 2) na = 1, ad[0] = 1;
  if (style == 3)
    for (int i = 0; i < nd; ++i) bd[i] = rnd() % 2 ? 1 : yd[i];
  if (style == 4) {
    na = rnd_in(0, nd);
    for (int i = 0; i < na; ++i) ad[i] = yd[nd - na + i];
  }
  er_tensor a = tensor(abuf, type, na, ad), b = tensor(bbuf, type, nb, bd);
  er_tensor y0 = tensor(ya, type, nd, yd), y1 = tensor(yb, type, nd, yd);
  const int fa = (int)(rnd() % 4), fb = (int)(rnd() % 4);
  for (int64_t i = 0; i < a.count; ++i) abuf[i] = fa == 1 ? (rnd() & 1 ? 127 : 128) : fa == 2 ? (rnd() & 1 ? 0 : 255) : (uint8_t)rnd();
  for (int64_t i = 0; i < b.count; ++i) bbuf[i] = fb == 1 ? (rnd() & 1 ? 127 : 128) : fb == 2 ? (rnd() & 1 ? 0 : 255) : (uint8_t)rnd();
  er_q_binary_params p;
  memset(&p, 0, sizeof p);
  p.op = op_kind;
  const int extreme = rnd() % 4 == 0;
  p.left_shift = extreme ? rnd_in(0, 31) : rnd() % 4 ? 20 : rnd_in(0, 23);
  p.in1_offset = extreme && rnd() % 2 ? rnd_in(-40000, 40000) : is_u8 ? -rnd_in(0, 255) : -rnd_in(-128, 127);
  p.in2_offset = extreme && rnd() % 2 ? rnd_in(-40000, 40000) : is_u8 ? -rnd_in(0, 255) : -rnd_in(-128, 127);
  p.in1_mult = extreme ? rnd_mult() : (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
  p.in2_mult = extreme ? rnd_mult() : (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
  p.out_mult = extreme ? rnd_mult() : (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
  p.in1_shift = extreme ? rnd_in(-31, 30) : rnd_in(-12, 0);
  p.in2_shift = extreme ? rnd_in(-31, 30) : rnd_in(-12, 0);
  p.out_shift = extreme ? rnd_in(-31, 30) : op_kind == ER_QB_MUL ? rnd_in(-16, 2) : rnd_in(-p.left_shift - 4, 0);
  p.out_offset = is_u8 ? rnd_in(0, 255) : rnd_in(-128, 127);
  p.act_min = is_u8 ? 0 : -128, p.act_max = is_u8 ? 255 : 127;
  if (rnd() % 3 == 0) p.act_min = rnd_in(p.act_min, p.out_offset), p.act_max = rnd_in(p.act_min, p.act_max);
  er_rounding_mode = (int)(rnd() % 2);
  /* the reference's own int32 arithmetic must stay defined: (x + off1) * (x + off2) for MUL */
  if (op_kind == ER_QB_MUL || op_kind == ER_QB_SQDIFF) {
    if (p.in1_offset > 32000 || p.in1_offset < -32000) p.in1_offset /= 2;
    if (p.in2_offset > 32000 || p.in2_offset < -32000) p.in2_offset /= 2;
  }
  if (op_kind == ER_QB_SQDIFF) p.left_shift = rnd_in(0, 7), p.in1_shift = p.in2_shift = rnd_in(-12, 0);
  er_tensor *in[2] = {&a, &b}, *out0[1] = {&y0}, *out1[1] = {&y1};
  er_op op;
  memset(&op, 0, sizeof op);
  op.params = &p, op.n_in = 2, op.n_out = 1, op.in = in;
  memset(ya, 0x5A, sizeof ya);
  memset(yb, 0x5A, sizeof yb);
  op.out = out0;
  const int s0 = er_op_kernels_selected->q_binary(&op);
  op.out = out1;
  const int s1 = er_q_binary(&op);
  char desc[300];
  snprintf(desc, sizeof desc,
           "op=%d u8=%d rank=%d style=%d n=%ld rmode=%d ls=%d offs=%d,%d shifts=%d,%d,%d mults=%d,%d,%d status %d/%d",
           op_kind, is_u8, nd, style, (long)y0.count, er_rounding_mode, p.left_shift, p.in1_offset, p.in2_offset,
           p.in1_shift, p.in2_shift, p.out_shift, p.in1_mult, p.in2_mult, p.out_mult, s0, s1);
  er_rounding_mode = 0;
  check_bytes("q_binary", idx, desc, s0, s1, y0.count);
}

/* output extent and pad for SAME (style 0) or VALID (1) */
static int geometry(int32_t in, int32_t k, int32_t stride, int style, int32_t *out, int32_t *pad) {
  if (style == 0) {
    *out = (in + stride - 1) / stride;
    const int32_t need = (*out - 1) * stride + k - in;
    *pad = need > 0 ? need / 2 : 0;
  } else {
    *pad = 0;
    *out = in >= k ? (in - k) / stride + 1 : 0;
  }
  return *out > 0;
}

/* int8/uint8 max and average pooling against kernels/ref/q_pool.c: odd channel counts (tails), windows past
 * 256 taps (32-bit sums), narrowed activation ranges; int16 passed on to the reference */
static void q_pool_case(int idx) {
  er_pool_params p;
  memset(&p, 0, sizeof p);
  const int big = rnd() % 8 == 0, avg = (int)(rnd() & 1);
  const int type = rnd() % 12 == 0 ? ER_INT16 : rnd() % 3 == 0 ? ER_UINT8 : ER_INT8, es = type == ER_INT16 ? 2 : 1;
  int32_t xd[4], yd[4];
  xd[0] = rnd_in(1, 2), xd[1] = big ? rnd_in(17, 22) : rnd_in(1, 12), xd[2] = big ? rnd_in(17, 20) : rnd_in(1, 12);
  xd[3] = PICK(1, 3, 8, 15, 16, 17, 31, 32, 33, 64, 65, 96, 100);
  p.filter_h = big ? xd[1] : rnd_in(1, 5), p.filter_w = big ? xd[2] : rnd_in(1, 5);
  p.stride_h = rnd_in(1, 3), p.stride_w = rnd_in(1, 3);
  const int style = (int)(rnd() & 1);
  int32_t oh, ow, pt, pl;
  if (!geometry(xd[1], p.filter_h, p.stride_h, style, &oh, &pt) ||
      !geometry(xd[2], p.filter_w, p.stride_w, style, &ow, &pl)) {
    p.filter_h = p.filter_w = 1;
    geometry(xd[1], 1, p.stride_h, 0, &oh, &pt);
    geometry(xd[2], 1, p.stride_w, 0, &ow, &pl);
  }
  p.pad_top = pt, p.pad_left = pl;
  yd[0] = xd[0], yd[1] = oh, yd[2] = ow, yd[3] = xd[3];
  const int32_t tmin = type == ER_UINT8 ? 0 : type == ER_INT8 ? -128 : -32768;
  const int32_t tmax = type == ER_UINT8 ? 255 : type == ER_INT8 ? 127 : 32767;
  p.out_min = tmin, p.out_max = tmax;
  if (rnd() % 3 == 0) p.out_min = rnd_in(tmin, tmax), p.out_max = rnd_in(p.out_min, tmax);
  er_tensor x = tensor(abuf, type, 4, xd), y0 = tensor(ya, type, 4, yd), y1 = tensor(yb, type, 4, yd);
  const int fill = (int)(rnd() % 4);
  for (int64_t i = 0; i < x.count * es; ++i)
    abuf[i] = fill == 1 ? (rnd() & 1 ? 127 : 128) : fill == 2 ? (rnd() & 1 ? 0 : 255) : (uint8_t)rnd();
  er_tensor *in[1] = {&x}, *out0[1] = {&y0}, *out1[1] = {&y1};
  er_op op;
  memset(&op, 0, sizeof op);
  op.params = &p, op.n_in = 1, op.n_out = 1, op.in = in;
  memset(ya, 0x5A, sizeof ya);
  memset(yb, 0x5A, sizeof yb);
  op.out = out0;
  const int s0 = avg ? er_op_kernels_selected->q_avgpool2d(&op) : er_op_kernels_selected->q_maxpool2d(&op);
  op.out = out1;
  const int s1 = avg ? er_q_avgpool2d(&op) : er_q_maxpool2d(&op);
  char desc[300];
  snprintf(desc, sizeof desc, "avg=%d type=%d x=%dx%dx%dx%d f=%dx%d s=%dx%d pad=%d,%d range=%d..%d status %d/%d", avg,
           type, xd[0], xd[1], xd[2], xd[3], p.filter_h, p.filter_w, p.stride_h, p.stride_w, pt, pl, p.out_min,
           p.out_max, s0, s1);
  check_bytes("q_pool", idx, desc, s0, s1, y0.count * es);
}

static float scratch_a[256], scratch_b[256];

/* int8/uint8 SOFTMAX against kernels/ref/q_softmax.c (in/out types mixed, odd depths, saturated rows) */
static void q_softmax_case(int idx) {
  er_q_softmax_params p;
  memset(&p, 0, sizeof p);
  p.rows = rnd_in(1, 5), p.depth = PICK(1, 2, 3, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 100, 1001);
  const int is_u8 = (int)(rnd() % 3 == 0), out_u8 = rnd() % 3 == 0 ? !is_u8 : is_u8;
  p.beta = rnd() % 2 ? 1.0f : (float)rnd_in(1, 40) / 10.0f;
  p.input_scale = (float)rnd_in(1, 500) / 1000.0f;
  p.output_scale = rnd() % 3 ? 1.0f / 256.0f : (float)rnd_in(1, 100) / 5000.0f;
  p.output_zp = out_u8 ? 0 : rnd() % 3 ? -128 : rnd_in(-128, 127);
  int32_t d[2] = {(int32_t)p.rows, (int32_t)p.depth};
  er_tensor x = tensor(abuf, is_u8 ? ER_UINT8 : ER_INT8, 2, d);
  er_tensor y0 = tensor(ya, out_u8 ? ER_UINT8 : ER_INT8, 2, d), y1 = tensor(yb, out_u8 ? ER_UINT8 : ER_INT8, 2, d);
  const int fill = (int)(rnd() % 4);
  for (int64_t i = 0; i < x.count; ++i) abuf[i] = fill == 1 ? (rnd() & 1 ? 127 : 128) : (uint8_t)rnd();
  er_tensor *in[1] = {&x}, *out0[1] = {&y0}, *out1[1] = {&y1};
  er_op op;
  memset(&op, 0, sizeof op);
  op.params = &p, op.n_in = 1, op.n_out = 1, op.in = in, op.scratch = scratch_a, op.scratch_bytes = sizeof scratch_a;
  memset(ya, 0x5A, sizeof ya);
  memset(yb, 0x5A, sizeof yb);
  op.out = out0;
  const int s0 = er_op_kernels_selected->q_softmax(&op);
  op.out = out1, op.scratch = scratch_b;
  const int s1 = er_q_softmax(&op);
  char desc[200];
  snprintf(desc, sizeof desc, "rows=%ld depth=%ld u8=%d/%d beta=%g in_scale=%g out_scale=%g zp=%d status %d/%d",
           (long)p.rows, (long)p.depth, is_u8, out_u8, p.beta, p.input_scale, p.output_scale, (int)p.output_zp, s0, s1);
  check_bytes("q_softmax", idx, desc, s0, s1, y0.count);
}

static float fa[N_MAX / 4], fb[N_MAX / 4];

static double f_softmax_worst; /* over all cases, printed */
static float fsa[8192 + GUARD / 4], fsb[8192 + GUARD / 4];

/* float SOFTMAX against kernels/ref/softmax.c within 1e-5 relative (LiteRT's float softmax tolerance; the
 * vector exp and the lane sum are not the reference's): odd depths, rows of 1, betas 0..4, wide spreads,
 * -inf and huge inputs, rows all -inf (NaN, as the reference), a NaN element; LOG_SOFTMAX passed on */
static void f_softmax_case(int idx) {
  er_softmax_params p;
  memset(&p, 0, sizeof p);
  p.rows = rnd_in(1, 5), p.depth = PICK(1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 100, 1001);
  p.beta = rnd() % 2 ? 1.0f : (float)rnd_in(0, 40) / 10.0f;
  p.log = rnd() % 8 == 0;
  const float spread = (float)PICK(1, 5, 20, 50, 1000);
  const int special = (int)(rnd() % 6); /* 1: some -inf, 2: some +-1e30, 3: a row all -inf, 4: a NaN */
  int32_t d[2] = {(int32_t)p.rows, (int32_t)p.depth};
  er_tensor x = tensor(fa, ER_FLOAT32, 2, d);
  er_tensor y0 = tensor(fsa, ER_FLOAT32, 2, d), y1 = tensor(fsb, ER_FLOAT32, 2, d);
  for (int64_t i = 0; i < x.count; ++i) {
    fa[i] = ((float)(rnd() % 200001) / 100000.0f - 1.0f) * spread;
    if (special == 1 && rnd() % 4 == 0) fa[i] = -INFINITY;
    if (special == 2 && rnd() % 8 == 0) fa[i] = rnd() % 2 ? 1e30f : -1e30f;
  }
  if (special == 3)
    for (int64_t i = 0; i < p.depth; ++i) fa[i] = -INFINITY;
  if (special == 4) fa[rnd() % (uint32_t)x.count] = NAN;
  er_tensor *in[1] = {&x}, *out0[1] = {&y0}, *out1[1] = {&y1};
  er_op op;
  memset(&op, 0, sizeof op);
  op.params = &p, op.n_in = 1, op.n_out = 1, op.in = in;
  memset(fsa, 0x5A, sizeof fsa);
  memset(fsb, 0x5A, sizeof fsb);
  op.out = out0;
  const int s0 = er_op_kernels_selected->f32_softmax(&op);
  op.out = out1;
  const int s1 = er_f32_softmax(&op);
  const float *a = fsa, *b = fsb;
  double worst = 0.0;
  int64_t at = -1;
  for (int64_t i = 0; i < x.count; ++i) {
    const double m = fabs(a[i]) > fabs(b[i]) ? fabs(a[i]) : fabs(b[i]);
    const double e = isnan(a[i]) || isnan(b[i]) ? (isnan(a[i]) && isnan(b[i]) ? 0.0 : INFINITY)
                     : m < 1e-30 ? 0.0 : fabs((double)a[i] - b[i]) / m;
    if (e > worst) worst = e, at = i;
  }
  if (worst > f_softmax_worst && worst != INFINITY) f_softmax_worst = worst;
  char desc[300];
  snprintf(desc, sizeof desc, "rows=%ld depth=%ld beta=%g log=%d spread=%g special=%d worst rel %.3g at %ld (%g vs %g) status %d/%d",
           (long)p.rows, (long)p.depth, p.beta, p.log, spread, special, worst, (long)at, at < 0 ? 0.0 : a[at],
           at < 0 ? 0.0 : b[at], s0, s1);
  if (s0 != s1 || !(worst <= 1e-5) || memcmp(fsa + x.count, fsb + x.count, GUARD))
    fail("f32_softmax", idx, desc);
  else
    ++n_pass;
}

/* n floats and the guard bytes after them equal bit for bit, except that any NaN equals any NaN: the sign and
 * payload of a NaN from two NaN operands depend on the operand order the compiler chose for the reference's
 * commutative a + b (it differs between -O1 and -O2 builds of the same source) */
static int same_floats(const void *p, const void *q, int64_t n) {
  const float *x = (const float *)p, *y = (const float *)q;
  for (int64_t i = 0; i < n; ++i)
    if (!(isnan(x[i]) && isnan(y[i])) && memcmp(x + i, y + i, sizeof(float)) != 0) return 0;
  return memcmp(x + n, y + n, GUARD) == 0;
}

static float rnd_float(void) {
  switch (rnd() % 16) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return -0.0f;
    case 4: return 0.0f;
    case 5: return 1e-40f; /* subnormal */
    case 6: return (float)rnd_in(-8, 8); /* ties between the operands */
    default: return (float)((int32_t)(rnd() % 20001u) - 10000) / 997.0f;
  }
}

/* float ADD, SUB, MUL (activation clamps), MAXIMUM, MINIMUM with broadcasting against kernels/ref/binary.c, bit for
 * bit (NaN, infinities, signed zeros, subnormals); DIV passed on to the reference */
static void f_binary_case(int idx) {
  er_binary_params p;
  memset(&p, 0, sizeof p);
  p.op = PICK(ER_BIN_ADD, ER_BIN_SUB, ER_BIN_MUL, ER_BIN_MAX, ER_BIN_MIN, ER_BIN_DIV);
  const int kind = (int)(rnd() % 3);
  p.act_min = kind == 0 ? -INFINITY : kind == 1 ? 0.0f : -1.0f;
  p.act_max = kind == 0 ? INFINITY : kind == 1 ? 6.0f : 1.0f;
  const int nd = rnd_in(1, 4);
  int32_t yd[4], ad[4], bd[4];
  int64_t total = 1;
  for (int i = 0; i < nd; ++i) {
    yd[i] = total > 400 ? PICK(1, 2, 3) : PICK(1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33);
    total *= yd[i];
  }
  int na = nd, nb = nd;
  for (int i = 0; i < nd; ++i) ad[i] = bd[i] = yd[i];
  const int style = (int)(rnd() % 5);
  if (style == 1) nb = 0;
  if (style == 2) na = 1, ad[0] = 1;
  if (style == 3)
    for (int i = 0; i < nd; ++i) bd[i] = rnd() % 2 ? 1 : yd[i];
  if (style == 4) {
    na = rnd_in(0, nd);
    for (int i = 0; i < na; ++i) ad[i] = yd[nd - na + i];
  }
  er_tensor a = tensor(fa, ER_FLOAT32, na, ad), b = tensor(fb, ER_FLOAT32, nb, bd);
  er_tensor y0 = tensor(ya, ER_FLOAT32, nd, yd), y1 = tensor(yb, ER_FLOAT32, nd, yd);
  for (int64_t i = 0; i < a.count; ++i) fa[i] = rnd_float();
  for (int64_t i = 0; i < b.count; ++i) fb[i] = rnd_float();
  er_tensor *in[2] = {&a, &b}, *out0[1] = {&y0}, *out1[1] = {&y1};
  er_op op;
  memset(&op, 0, sizeof op);
  op.params = &p, op.n_in = 2, op.n_out = 1, op.in = in;
  memset(ya, 0x5A, sizeof ya);
  memset(yb, 0x5A, sizeof yb);
  op.out = out0;
  const int s0 = er_op_kernels_selected->f32_binary(&op);
  op.out = out1;
  const int s1 = er_f32_binary(&op);
  char desc[200];
  snprintf(desc, sizeof desc, "op=%d rank=%d style=%d n=%ld act=%d status %d/%d", p.op, nd, style, (long)y0.count, kind,
           s0, s1);
  if (s0 != s1 || !same_floats(ya, yb, y0.count))
    fail("f32_binary", idx, desc);
  else
    ++n_pass;
}

/* float max and average pooling against kernels/ref/pool.c, bit for bit (NaN, infinities, clamps) */
static void f_pool_case(int idx) {
  er_pool_params p;
  memset(&p, 0, sizeof p);
  const int avg = (int)(rnd() & 1);
  int32_t xd[4], yd[4];
  xd[0] = rnd_in(1, 2), xd[1] = rnd_in(1, 12), xd[2] = rnd_in(1, 12), xd[3] = PICK(1, 3, 7, 8, 9, 15, 16, 17, 24, 33);
  p.filter_h = rnd_in(1, 5), p.filter_w = rnd_in(1, 5), p.stride_h = rnd_in(1, 3), p.stride_w = rnd_in(1, 3);
  const int style = (int)(rnd() & 1);
  int32_t oh, ow, pt, pl;
  if (!geometry(xd[1], p.filter_h, p.stride_h, style, &oh, &pt) ||
      !geometry(xd[2], p.filter_w, p.stride_w, style, &ow, &pl)) {
    p.filter_h = p.filter_w = 1;
    geometry(xd[1], 1, p.stride_h, 0, &oh, &pt);
    geometry(xd[2], 1, p.stride_w, 0, &ow, &pl);
  }
  p.pad_top = pt, p.pad_left = pl;
  yd[0] = xd[0], yd[1] = oh, yd[2] = ow, yd[3] = xd[3];
  const int kind = (int)(rnd() % 3);
  p.act_min = kind == 0 ? -INFINITY : kind == 1 ? 0.0f : -1.0f;
  p.act_max = kind == 0 ? INFINITY : kind == 1 ? 6.0f : 1.0f;
  er_tensor x = tensor(fa, ER_FLOAT32, 4, xd), y0 = tensor(ya, ER_FLOAT32, 4, yd), y1 = tensor(yb, ER_FLOAT32, 4, yd);
  for (int64_t i = 0; i < x.count; ++i) fa[i] = rnd() % 4 ? (float)((int32_t)(rnd() % 20001u) - 10000) / 997.0f : rnd_float();
  er_tensor *in[1] = {&x}, *out0[1] = {&y0}, *out1[1] = {&y1};
  er_op op;
  memset(&op, 0, sizeof op);
  op.params = &p, op.n_in = 1, op.n_out = 1, op.in = in;
  memset(ya, 0x5A, sizeof ya);
  memset(yb, 0x5A, sizeof yb);
  op.out = out0;
  const int s0 = avg ? er_op_kernels_selected->f32_avgpool2d(&op) : er_op_kernels_selected->f32_maxpool2d(&op);
  op.out = out1;
  const int s1 = avg ? er_f32_avgpool2d(&op) : er_f32_maxpool2d(&op);
  char desc[200];
  snprintf(desc, sizeof desc, "avg=%d x=%dx%dx%dx%d f=%dx%d s=%dx%d act=%d status %d/%d", avg, xd[0], xd[1], xd[2], xd[3],
           p.filter_h, p.filter_w, p.stride_h, p.stride_w, kind, s0, s1);
  if (s0 != s1 || !same_floats(ya, yb, y0.count))
    fail("f32_pool", idx, desc);
  else
    ++n_pass;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* microseconds per call of fn, best of 5 runs of reps calls */
static double time_op(er_kernel_fn fn, er_op *op, int reps) {
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const double t0 = now_s();
    for (int i = 0; i < reps; ++i) fn(op);
    const double t = (now_s() - t0) / reps * 1e6;
    best = t < best ? t : best;
  }
  return best;
}

/* `bench`: reference against AVX2 on MobileNetV2 int8 shapes (ADD of two 56x56x24 / 14x14x64 maps, the
 * 7x7x1280 global average pool) and a float softmax over 64 rows of 1000 */
static int bench(void) {
  static const int32_t shapes[][4] = {{1, 56, 56, 24}, {1, 14, 14, 64}};
  for (int k = 0; k < 2; ++k) {
    er_tensor a = tensor(abuf, ER_INT8, 4, shapes[k]), b = tensor(bbuf, ER_INT8, 4, shapes[k]);
    er_tensor y = tensor(ya, ER_INT8, 4, shapes[k]);
    for (int64_t i = 0; i < a.count; ++i) abuf[i] = (uint8_t)rnd(), bbuf[i] = (uint8_t)rnd();
    er_q_binary_params p = {ER_QB_ADD, 0, 20, 3, 1518500250, -2, -5, 1297438540, -1, 7, 1903804928, -19, -128, 127};
    er_tensor *in[2] = {&a, &b}, *out[1] = {&y};
    er_op op;
    memset(&op, 0, sizeof op);
    op.params = &p, op.n_in = 2, op.n_out = 1, op.in = in, op.out = out;
    const double tr = time_op(er_q_binary, &op, 20), tv = time_op(er_op_kernels_selected->q_binary, &op, 200);
    printf("ADD %dx%dx%d: ref %.1f us, avx2 %.1f us (%.1fx)\n", shapes[k][1], shapes[k][2], shapes[k][3], tr, tv,
           tr / tv);
  }
  const int32_t xd[4] = {1, 7, 7, 1280}, yd[4] = {1, 1, 1, 1280};
  er_tensor x = tensor(abuf, ER_INT8, 4, xd), y = tensor(ya, ER_INT8, 4, yd);
  er_pool_params pp;
  memset(&pp, 0, sizeof pp);
  pp.filter_h = pp.filter_w = 7, pp.stride_h = pp.stride_w = 1, pp.out_min = -128, pp.out_max = 127;
  er_tensor *in[1] = {&x}, *out[1] = {&y};
  er_op op;
  memset(&op, 0, sizeof op);
  op.params = &pp, op.n_in = 1, op.n_out = 1, op.in = in, op.out = out;
  const double tr = time_op(er_q_avgpool2d, &op, 50), tv = time_op(er_op_kernels_selected->q_avgpool2d, &op, 500);
  printf("AVERAGE_POOL_2D 7x7x1280: ref %.1f us, avx2 %.1f us (%.1fx)\n", tr, tv, tr / tv);
  {
    /* float SOFTMAX over 64 rows of 1000 */
    er_softmax_params sp;
    memset(&sp, 0, sizeof sp);
    sp.rows = 64, sp.depth = 1000, sp.beta = 1.0f;
    const int32_t sd[2] = {64, 1000};
    er_tensor sx = tensor(fa, ER_FLOAT32, 2, sd), sy = tensor(fb, ER_FLOAT32, 2, sd);
    for (int64_t i = 0; i < sx.count; ++i) fa[i] = (float)(rnd() % 2001) / 1000.0f - 1.0f;
    er_tensor *sin[1] = {&sx}, *sout[1] = {&sy};
    er_op sop;
    memset(&sop, 0, sizeof sop);
    sop.params = &sp, sop.n_in = 1, sop.n_out = 1, sop.in = sin, sop.out = sout;
    const double sr = time_op(er_f32_softmax, &sop, 20), sv = time_op(er_op_kernels_selected->f32_softmax, &sop, 200);
    printf("SOFTMAX 64x1000 float: ref %.1f us, avx2 %.1f us (%.1fx)\n", sr, sv, sr / sv);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "bench")) {
    if (er_select_isa(ER_HOST_ISA_AVX2) != ER_OK) return 0;
    return bench();
  }
  const int cases = argc > 1 ? atoi(argv[1]) : 200;
  if (argc > 2) rng_state = (uint32_t)strtoul(argv[2], NULL, 0) | 1u;
  if (argc > 3 && !strcmp(argv[3], "avx512vnni")) { /* the avx512vnni table: its own ADD/SUB, AVX2's others */
    if (er_select_isa(ER_HOST_ISA_AVX512VNNI) != ER_OK) {
      printf("SKIP this CPU does not run avx512vnni\n");
      return 0;
    }
    if (er_op_kernels_selected->q_binary != er_q_binary__avx512 ||
        er_op_kernels_selected->q_maxpool2d != er_q_maxpool2d__avx2)
      fail("table", 0, "avx512vnni does not select er_q_binary__avx512 and AVX2's other kernels");
    for (int i = 0; i < cases; ++i) q_binary_case(i);
    printf("passed %d failed %d\n", n_pass, n_fail);
    return n_fail != 0;
  }
  if (er_select_isa(ER_HOST_ISA_AVX2) != ER_OK) {
    printf("SKIP this CPU does not run avx2\n");
    return 0;
  }
  if (er_op_kernels_selected->q_binary != er_q_binary__avx2 || er_op_kernels_selected->q_maxpool2d != er_q_maxpool2d__avx2 ||
      er_op_kernels_selected->q_avgpool2d != er_q_avgpool2d__avx2 || er_op_kernels_selected->q_softmax != er_q_softmax__avx2 ||
      er_op_kernels_selected->f32_binary != er_f32_binary__avx2 ||
      er_op_kernels_selected->f32_softmax != er_f32_softmax__avx2 ||
      er_op_kernels_selected->f32_maxpool2d != er_f32_maxpool2d__avx2 ||
      er_op_kernels_selected->f32_avgpool2d != er_f32_avgpool2d__avx2)
    fail("table", 0, "avx2 does not select the kernels of kernels/x86/");
  for (int i = 0; i < cases; ++i) {
    requant_case(i);
    q_binary_case(i);
    q_pool_case(i);
    q_softmax_case(i);
    f_binary_case(i);
    f_pool_case(i);
    f_softmax_case(i);
  }
  printf("passed %d failed %d (f32_softmax worst rel %.3g)\n", n_pass, n_fail, f_softmax_worst);
  return n_fail != 0;
}
