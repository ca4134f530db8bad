/* Runs natively on x86-64 (tests/kernels/test_op_kernels_x86.py builds it with the whole desktop kernel build):
 * the whole-op kernels of er_op_kernels_avx2 (er_op_kernels_selected after er_select_isa(ER_HOST_ISA_AVX2))
 * against the reference kernels on random cases, bit for bit, and the lane requantization of
 * kernels/x86/fixedpoint_avx2.h against edgerun/fixedpoint.h on edge values, both rounding modes.
 * Usage: x86_ops_driver CASES SEED. Prints "passed N failed M"; every failure on its own line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/host_isa.h"
#include "opt/ukernels.h"
#include "x86/fixedpoint_avx2.h"

#define N_MAX (1 << 17)
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
  if (s0 != s1) {
    fail("q_binary", idx, desc);
    return;
  }
  for (int64_t i = 0; i < y0.count + GUARD; ++i)
    if (ya[i] != yb[i]) {
      char d[400];
      snprintf(d, sizeof d, "at %ld: %d vs reference %d (%s)", (long)i, ya[i], yb[i], desc);
      fail("q_binary", idx, d);
      return;
    }
  ++n_pass;
}

int main(int argc, char **argv) {
  const int cases = argc > 1 ? atoi(argv[1]) : 200;
  if (argc > 2) rng_state = (uint32_t)strtoul(argv[2], NULL, 0) | 1u;
  if (er_select_isa(ER_HOST_ISA_AVX2) != ER_OK) {
    printf("SKIP this CPU does not run avx2\n");
    return 0;
  }
  if (er_op_kernels_selected->q_binary != er_q_binary__avx2) fail("table", 0, "avx2 does not select er_q_binary__avx2");
  for (int i = 0; i < cases; ++i) {
    requant_case(i);
    q_binary_case(i);
  }
  printf("passed %d failed %d\n", n_pass, n_fail);
  return n_fail != 0;
}
