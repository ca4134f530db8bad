/* Runs on a Cortex-M (emulated): the int8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED kernels that
 * edgerun/isa.h selects for this core (kernels/cortexm/) against the reference bodies compiled for the same
 * core (er_ref_s8_* in kernels/ref/, the oracle), bit for bit, on random cases from a fixed-seed PRNG; and the
 * in-place depthwise and 1x1 kernels (kernels/cortexm/q_conv_inplace.c), run over one buffer holding the
 * input, against the reference in-place kernels on a copy of that buffer and the not-in-place reference
 * kernels (er_ref_s8_dwconv2d, er_ref_s8_conv2d) on a copy of the input.
 * Prints `isa=<dsp|mve|ref>`, one line per failing case (naming it), and `N passed, M failed`; exits 1 on any
 * failure. Built with ER_ISA_REF the kernels are the reference itself (the check is then trivial).
 *
 * -DER_CM_BENCH instead runs a keyword-spotting block (DS-CNN, 10x25x64: depthwise 3x3, pointwise 64->64,
 * FULLY_CONNECTED 640->12, then the depthwise and pointwise layers in place), each layer optimized then
 * reference, between er_mcu_mark() calls, so the instruction counts between marks are the instructions of one
 * invoke. */
#include <stdio.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"
#include "edgerun/isa.h"
#if ER_ISA_CORTEXM
#include "../../kernels/cortexm/q_conv.h" /* the requantization blocks, checked directly below */
#endif

int er_s8_conv2d(const er_op *op); /* kernels/list/q_conv.inc */
int er_s8_dwconv2d(const er_op *op);
int er_s8_fc(const er_op *op);
int er_s8_dwconv2d_inplace(const er_op *op);
int er_s8_conv2d_1x1_inplace(const er_op *op);
#if ER_ISA_CORTEXM
int er_ref_s8_conv2d(const er_op *op);
int er_ref_s8_dwconv2d(const er_op *op);
int er_ref_s8_fc(const er_op *op);
int er_ref_s8_dwconv2d_inplace(const er_op *op);
int er_ref_s8_conv2d_1x1_inplace(const er_op *op);
#define ORACLE_CONV er_ref_s8_conv2d
#define ORACLE_DW er_ref_s8_dwconv2d
#define ORACLE_FC er_ref_s8_fc
#define ORACLE_DW_INPLACE er_ref_s8_dwconv2d_inplace
#define ORACLE_1X1_INPLACE er_ref_s8_conv2d_1x1_inplace
#else
#define ORACLE_CONV er_s8_conv2d
#define ORACLE_DW er_s8_dwconv2d
#define ORACLE_FC er_s8_fc
#define ORACLE_DW_INPLACE er_s8_dwconv2d_inplace
#define ORACLE_1X1_INPLACE er_s8_conv2d_1x1_inplace
#endif

#if ER_ISA_ARM_MVE
#define ISA_NAME "mve"
#elif ER_ISA_ARM_DSP
#define ISA_NAME "dsp"
#else
#define ISA_NAME "ref"
#endif

#define X_MAX 20000
#define W_MAX 20000
#define Y_MAX 20000
#define C_MAX 256
#define S_MAX 65536
#define GUARD 32

static int8_t xbuf[X_MAX], wbuf[W_MAX], y_opt[Y_MAX + GUARD], y_ref[Y_MAX + GUARD];
static int8_t y_nip[Y_MAX + GUARD]; /* the not-in-place reference's output in the in-place cases */
static int32_t bias32[C_MAX], mult[C_MAX], shift[C_MAX];
static int64_t bias64[C_MAX];
static int64_t scratch_opt[S_MAX / 8], scratch_ref[S_MAX / 8];

/* ---- fixed-seed PRNG (xorshift32) ---------------------------------------------------------------------- */
static uint32_t rng_state = 0x2545F491u;
static uint32_t rnd(void) {
  uint32_t v = rng_state;
  v ^= v << 13;
  v ^= v >> 17;
  v ^= v << 5;
  return rng_state = v;
}
static int32_t rnd_in(int32_t lo, int32_t hi) { return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1)); }
static int32_t pick(const int32_t *v, int n) { return v[rnd() % (uint32_t)n]; }
#define PICK(...) pick((const int32_t[]){__VA_ARGS__}, sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

/* int8 data: uniform, saturated (only -128/127), or near the ends */
static void fill8(int8_t *d, int32_t n, int style) {
  for (int32_t i = 0; i < n; ++i) {
    if (style == 1)
      d[i] = (rnd() & 1) ? 127 : -128;
    else if (style == 2)
      d[i] = (int8_t)((rnd() & 1) ? rnd_in(120, 127) : rnd_in(-128, -120));
    else
      d[i] = (int8_t)rnd_in(-128, 127);
  }
}

static er_tensor tensor(void *data, int32_t type, int ndim, const int32_t *dims) {
  er_tensor t;
  memset(&t, 0, sizeof t);
  t.data = data;
  t.type = type;
  t.ndim = ndim;
  t.count = 1;
  for (int i = 0; i < ndim; ++i) {
    t.dims[i] = dims[i];
    t.count *= dims[i];
  }
  t.bytes = t.count * (type == ER_INT32 ? 4 : type == ER_INT64 ? 8 : 1);
  return t;
}

/* ---- one case -------------------------------------------------------------------------------------------- */

typedef struct qcase {
  const char *kind;
  int32_t B, H, W, C, KH, KW, OC, OH, OW, groups, mult_d, M, K, N;
  int32_t bias_type; /* 0 none, ER_INT32, ER_INT64 */
  int32_t per_channel, rounding, rmode, data_style, scratch_style;
  er_qconv_params p;
} qcase;

static int n_pass, n_fail;

static void describe(int idx, const qcase *c, const char *what, int64_t at, int a, int b) {
  const er_qconv_params *p = &c->p;
  printf("FAIL case %d %s: %s", idx, c->kind, what);
  if (at >= 0) printf(" at %ld: opt %d ref %d", (long)at, a, b);
  printf("\n  B=%ld H=%ld W=%ld C=%ld KH=%ld KW=%ld OC=%ld OH=%ld OW=%ld groups=%ld dm=%ld M=%ld K=%ld N=%ld\n",
         (long)c->B, (long)c->H, (long)c->W, (long)c->C, (long)c->KH, (long)c->KW, (long)c->OC, (long)c->OH,
         (long)c->OW, (long)c->groups, (long)c->mult_d, (long)c->M, (long)c->K, (long)c->N);
  printf("  stride=%ld,%ld dil=%ld,%ld pad=%ld,%ld in_off=%ld out_off=%ld clamp=[%ld,%ld] bias=%ld per_channel=%d "
         "rounding=%ld mode=%d data=%d scratch=%d\n",
         (long)p->stride_h, (long)p->stride_w, (long)p->dil_h, (long)p->dil_w, (long)p->pad_top, (long)p->pad_left,
         (long)p->input_offset, (long)p->output_offset, (long)p->out_min, (long)p->out_max, (long)c->bias_type,
         (int)c->per_channel, (long)p->rounding, (int)c->rmode, (int)c->data_style, (int)c->scratch_style);
}

/* quantization constants of n output channels (per-tensor: all the same) */
static void make_quant(qcase *c, int32_t n) {
  c->per_channel = (int)(rnd() & 1);
  const int big = (rnd() % 5) == 0; /* multipliers that saturate the output */
  for (int32_t i = 0; i < n; ++i) {
    if (i > 0 && !c->per_channel) {
      mult[i] = mult[0];
      shift[i] = shift[0];
      continue;
    }
    mult[i] = (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
    shift[i] = big ? rnd_in(-2, 8) : rnd_in(-14, -4);
    if (rnd() % 17 == 0) mult[i] = PICK(0x40000000, 0x7FFFFFFF);
    if (rnd() % 23 == 0) shift[i] = PICK(-31, 30, 0);
  }
  const int bsel = (int)(rnd() % 4);
  c->bias_type = bsel == 0 ? 0 : bsel == 3 ? ER_INT64 : ER_INT32;
  for (int32_t i = 0; i < n; ++i) {
    const int wide = rnd() % 9 == 0; /* biases that make the int32 accumulator wrap */
    bias32[i] = wide ? (int32_t)rnd() : rnd_in(-(1 << 18), 1 << 18);
    bias64[i] = wide ? ((int64_t)(int32_t)rnd() << 20) + rnd() : bias32[i];
  }
  er_qconv_params *p = &c->p;
  p->multipliers = mult;
  p->shifts = shift;
  p->input_offset = rnd() % 6 == 0 ? PICK(-127, 128, 0) : rnd_in(-127, 128);
  p->output_offset = rnd_in(-128, 127);
  p->out_min = -128;
  p->out_max = 127;
  if (rnd() % 3 == 0) {
    p->out_min = rnd_in(-128, 0);
    p->out_max = rnd_in(p->out_min, 127);
  }
  c->rounding = PICK(ER_QC_RND_TFLITE, ER_QC_RND_UPWARD, ER_QC_RND_UPWARD8);
  p->rounding = c->rounding;
  c->rmode = (int)(rnd() & 1);
  c->data_style = (int)(rnd() % 4 == 0 ? 1 + rnd() % 2 : 0);
}

/* Runs opt and oracle on the same op (own scratch and output each) and compares status and output bytes,
 * including a guard band past the output. */
static void run_case(int idx, qcase *c, er_kernel_fn opt, er_kernel_fn ref, er_tensor *x, er_tensor *w,
                     er_tensor *b, er_tensor *y_o, er_tensor *y_r, int64_t ref_scratch, int64_t opt_scratch) {
  if (ref_scratch > S_MAX || opt_scratch > S_MAX) {
    printf("case %d: scratch %ld over the driver's buffer\n", idx, (long)ref_scratch);
    ++n_fail;
    return;
  }
  er_tensor *in[3] = {x, w, b};
  er_tensor *out_o[1] = {y_o}, *out_r[1] = {y_r};
  er_op oo = {0, idx, b ? 3 : 2, 1, in, out_o, &c->p, scratch_opt, opt_scratch};
  er_op orf = {0, idx, b ? 3 : 2, 1, in, out_r, &c->p, scratch_ref, ref_scratch};
  memset(y_opt, 0x5A, sizeof y_opt);
  memset(y_ref, 0x5A, sizeof y_ref);
  memset(scratch_opt, 0xA5, sizeof scratch_opt);
  er_set_rounding_mode(c->rmode);
  const int so = opt(&oo);
  const int sr = ref(&orf);
  er_set_rounding_mode(0);
  if (so != sr) {
    describe(idx, c, "status differs", -1, so, sr);
    ++n_fail;
    return;
  }
  if (sr != ER_OK) {
    describe(idx, c, "reference refused the case", -1, so, sr);
    ++n_fail;
    return;
  }
  for (int64_t i = 0; i < y_r->count + GUARD; ++i) {
    if (y_opt[i] != y_ref[i]) {
      describe(idx, c, i < y_r->count ? "output differs" : "wrote past the output", i, y_opt[i], y_ref[i]);
      ++n_fail;
      return;
    }
  }
  ++n_pass;
}

/* output extent and pad for SAME, VALID or an explicit pad */
static int geometry(int32_t in, int32_t k, int32_t stride, int32_t dil, int style, int32_t *out, int32_t *pad) {
  const int32_t ek = (k - 1) * dil + 1;
  if (style == 0) { /* SAME */
    *out = (in + stride - 1) / stride;
    const int32_t need = (*out - 1) * stride + ek - in;
    *pad = need > 0 ? need / 2 : 0;
  } else if (style == 1) { /* VALID */
    *pad = 0;
    *out = in >= ek ? (in - ek) / stride + 1 : 0;
  } else { /* explicit pad, possibly larger than the kernel */
    *pad = rnd_in(0, k);
    const int32_t span = in + 2 * *pad;
    *out = span >= ek ? (span - ek) / stride + 1 : 0;
  }
  return *out > 0;
}

static int64_t opt_scratch_for(const qcase *c, int64_t ref_scratch, int64_t col) {
  /* 0: the reference formula (what a plan gives); 1: one column; 2: two columns (the optimized kernels
   * need no more; the reference refuses less than its formula) */
  if (!ER_ISA_CORTEXM) return ref_scratch;
  if (c->scratch_style == 1) return col;
  if (c->scratch_style == 2) return 2 * col;
  return ref_scratch;
}

static void conv_case(int idx) {
  qcase c;
  memset(&c, 0, sizeof c);
  c.kind = "s8_conv2d";
  for (;;) {
    c.B = PICK(1, 1, 1, 2);
    c.H = PICK(1, 3, 5, 9, 10);
    c.W = PICK(1, 5, 9, 25);
    c.groups = rnd() % 5 == 0 ? PICK(2, 3) : 1;
    const int32_t ic = PICK(1, 3, 4, 7, 8, 16, 17);
    c.C = ic * c.groups;
    c.OC = c.groups * PICK(1, 2, 3, 4, 5, 7, 8, 17);
    c.KH = PICK(1, 1, 2, 3, 5);
    c.KW = PICK(1, 1, 2, 3, 5);
    c.p.stride_h = PICK(1, 2);
    c.p.stride_w = PICK(1, 2);
    c.p.dil_h = rnd() % 4 == 0 ? 2 : 1;
    c.p.dil_w = rnd() % 4 == 0 ? 2 : 1;
    if (rnd() % 5 == 0) { /* pointwise (1x1, stride 1, no padding, one group): MVE reads it in place */
      c.groups = 1;
      c.C = ic;
      c.OC = PICK(1, 3, 4, 8, 17);
      c.KH = c.KW = 1;
      c.p.stride_h = c.p.stride_w = 1;
    }
    const int style = (int)(rnd() % 3);
    if (!geometry(c.H, c.KH, c.p.stride_h, c.p.dil_h, style, &c.OH, &c.p.pad_top)) continue;
    if (!geometry(c.W, c.KW, c.p.stride_w, c.p.dil_w, style, &c.OW, &c.p.pad_left)) continue;
    if ((int64_t)c.B * c.H * c.W * c.C > X_MAX || (int64_t)c.OC * c.KH * c.KW * ic > W_MAX) continue;
    if ((int64_t)c.B * c.OH * c.OW * c.OC > Y_MAX) continue;
    break;
  }
  c.p.groups = c.groups;
  c.p.depth_multiplier = 1;
  make_quant(&c, c.OC);
  c.scratch_style = (int)(rnd() % 3);
  const int32_t ic = c.C / c.groups, K = c.KH * c.KW * ic;
  const int32_t xd[4] = {c.B, c.H, c.W, c.C}, wd[4] = {c.OC, c.KH, c.KW, ic}, yd[4] = {c.B, c.OH, c.OW, c.OC};
  er_tensor x = tensor(xbuf, ER_INT8, 4, xd), w = tensor(wbuf, ER_INT8, 4, wd);
  er_tensor yo = tensor(y_opt, ER_INT8, 4, yd), yr = tensor(y_ref, ER_INT8, 4, yd);
  er_tensor b = tensor(c.bias_type == ER_INT64 ? (void *)bias64 : (void *)bias32,
                       c.bias_type == ER_INT64 ? ER_INT64 : ER_INT32, 1, &c.OC);
  fill8(xbuf, (int32_t)x.count, c.data_style);
  fill8(wbuf, (int32_t)w.count, c.data_style);
  const int64_t ref_scratch = 8LL * c.OW * (c.OC / c.groups) + 2LL * c.OW * K;
  run_case(idx, &c, er_s8_conv2d, ORACLE_CONV, &x, &w, c.bias_type ? &b : NULL, &yo, &yr, ref_scratch,
           opt_scratch_for(&c, ref_scratch, 2LL * K));
}

static void dw_case(int idx) {
  qcase c;
  memset(&c, 0, sizeof c);
  c.kind = "s8_dwconv2d";
  for (;;) {
    c.B = PICK(1, 1, 1, 2);
    c.H = PICK(1, 3, 5, 9, 10);
    c.W = PICK(1, 5, 9, 25);
    c.C = PICK(1, 3, 4, 7, 8, 15, 16, 17, 33, 64);
    c.mult_d = PICK(1, 1, 1, 2);
    c.OC = c.C * c.mult_d;
    c.KH = PICK(1, 3, 3, 5);
    c.KW = PICK(1, 3, 3, 5);
    c.p.stride_h = PICK(1, 2);
    c.p.stride_w = PICK(1, 2);
    c.p.dil_h = rnd() % 4 == 0 ? 2 : 1;
    c.p.dil_w = rnd() % 4 == 0 ? 2 : 1;
    const int style = (int)(rnd() % 3);
    if (!geometry(c.H, c.KH, c.p.stride_h, c.p.dil_h, style, &c.OH, &c.p.pad_top)) continue;
    if (!geometry(c.W, c.KW, c.p.stride_w, c.p.dil_w, style, &c.OW, &c.p.pad_left)) continue;
    if ((int64_t)c.B * c.H * c.W * c.C > X_MAX || (int64_t)c.OC * c.KH * c.KW > W_MAX) continue;
    if ((int64_t)c.B * c.OH * c.OW * c.OC > Y_MAX) continue;
    break;
  }
  c.p.groups = 1;
  c.p.depth_multiplier = c.mult_d;
  make_quant(&c, c.OC);
  const int32_t xd[4] = {c.B, c.H, c.W, c.C}, wd[4] = {1, c.KH, c.KW, c.OC}, yd[4] = {c.B, c.OH, c.OW, c.OC};
  er_tensor x = tensor(xbuf, ER_INT8, 4, xd), w = tensor(wbuf, ER_INT8, 4, wd);
  er_tensor yo = tensor(y_opt, ER_INT8, 4, yd), yr = tensor(y_ref, ER_INT8, 4, yd);
  er_tensor b = tensor(c.bias_type == ER_INT64 ? (void *)bias64 : (void *)bias32,
                       c.bias_type == ER_INT64 ? ER_INT64 : ER_INT32, 1, &c.OC);
  fill8(xbuf, (int32_t)x.count, c.data_style);
  fill8(wbuf, (int32_t)w.count, c.data_style);
  const int64_t ref_scratch = 12LL * c.OC + 2LL * c.C;
  run_case(idx, &c, er_s8_dwconv2d, ORACLE_DW, &x, &w, c.bias_type ? &b : NULL, &yo, &yr, ref_scratch, ref_scratch);
}

static void fc_case(int idx) {
  qcase c;
  memset(&c, 0, sizeof c);
  c.kind = "s8_fc";
  for (;;) {
    c.M = PICK(1, 1, 2, 3, 5);
    c.K = PICK(1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 33, 64, 65, 640);
    c.N = PICK(1, 2, 3, 4, 5, 7, 12, 17, 32);
    if ((int64_t)c.M * c.K <= X_MAX && (int64_t)c.N * c.K <= W_MAX && (int64_t)c.M * c.N <= Y_MAX) break;
  }
  c.p.groups = 1;
  c.p.depth_multiplier = 1;
  make_quant(&c, c.N);
  c.scratch_style = (int)(rnd() % 3);
  const int32_t xd[2] = {c.M, c.K}, wd[2] = {c.N, c.K}, yd[2] = {c.M, c.N};
  er_tensor x = tensor(xbuf, ER_INT8, 2, xd), w = tensor(wbuf, ER_INT8, 2, wd);
  er_tensor yo = tensor(y_opt, ER_INT8, 2, yd), yr = tensor(y_ref, ER_INT8, 2, yd);
  er_tensor b = tensor(c.bias_type == ER_INT64 ? (void *)bias64 : (void *)bias32,
                       c.bias_type == ER_INT64 ? ER_INT64 : ER_INT32, 1, &c.N);
  fill8(xbuf, (int32_t)x.count, c.data_style);
  fill8(wbuf, (int32_t)w.count, c.data_style);
  const int64_t ref_scratch = 8LL * c.N + 2LL * c.K;
  run_case(idx, &c, er_s8_fc, ORACLE_FC, &x, &w, c.bias_type ? &b : NULL, &yo, &yr, ref_scratch,
           opt_scratch_for(&c, ref_scratch, 2LL * c.K));
}

/* ---- in-place cases -------------------------------------------------------------------------------------- */

/* Ring rows of s8_dwconv2d_inplace (ring_rows in kernels/ref/q_conv_inplace.c and runtime/inplace.py): the
 * cases record which ring sizes they reached. */
static int32_t ring_rows(int32_t H, int32_t W, int32_t OH, int32_t OW, int32_t stride, int32_t pad_top) {
  int32_t R = 0;
  for (int32_t oh = 0; oh < OH; ++oh) {
    int32_t hi = ((oh + 1) * OW + W - 1) / W - 1;
    if (hi > H - 1) hi = H - 1;
    const int32_t lo = oh * stride - pad_top > 0 ? oh * stride - pad_top : 0;
    if (hi - lo + 1 > R) R = hi - lo + 1;
  }
  return R;
}
static uint32_t rings_seen; /* bit R: a case with R ring rows ran */
static int n_forward, n_backward; /* 1x1 cases run forward (OC <= IC) and backward */

/* The in-place kernel `opt` over y_opt (holding the input, receiving the output), the reference in-place
 * kernel over y_ref (the same bytes), both with `scratch` bytes (the plan's figure); and the not-in-place
 * reference `nip` from xbuf to y_nip with `nip_scratch`. The two buffers must agree on every byte, guard
 * band past max(input, output) included, and the output on its first y->count bytes with y_nip. */
static void run_inplace(int idx, qcase *c, er_kernel_fn opt, er_kernel_fn ref, er_kernel_fn nip, int ndim,
                        const int32_t *xd, const er_tensor *w, er_tensor *b, const int32_t *yd, int64_t scratch,
                        int64_t nip_scratch) {
  if (scratch > S_MAX || nip_scratch > S_MAX) {
    printf("case %d: scratch %ld over the driver's buffer\n", idx, (long)scratch);
    ++n_fail;
    return;
  }
  er_tensor xo = tensor(y_opt, ER_INT8, ndim, xd), yo = tensor(y_opt, ER_INT8, ndim, yd);
  er_tensor xr = tensor(y_ref, ER_INT8, ndim, xd), yr = tensor(y_ref, ER_INT8, ndim, yd);
  er_tensor xn = tensor(xbuf, ER_INT8, ndim, xd), yn = tensor(y_nip, ER_INT8, ndim, yd);
  er_tensor wt = *w;
  er_tensor *in_o[3] = {&xo, &wt, b}, *in_r[3] = {&xr, &wt, b}, *in_n[3] = {&xn, &wt, b};
  er_tensor *out_o[1] = {&yo}, *out_r[1] = {&yr}, *out_n[1] = {&yn};
  const int nin = b ? 3 : 2;
  er_op oo = {0, idx, nin, 1, in_o, out_o, &c->p, scratch_opt, scratch};
  er_op orf = {0, idx, nin, 1, in_r, out_r, &c->p, scratch_ref, scratch};
  er_op onp = {0, idx, nin, 1, in_n, out_n, &c->p, scratch_ref, nip_scratch};
  const int64_t span = xo.count > yo.count ? xo.count : yo.count;
  memset(y_opt, 0x5A, sizeof y_opt);
  memset(y_ref, 0x5A, sizeof y_ref);
  memset(y_nip, 0x5A, sizeof y_nip);
  memcpy(y_opt, xbuf, (size_t)xo.count);
  memcpy(y_ref, xbuf, (size_t)xo.count);
  memset(scratch_opt, 0xA5, sizeof scratch_opt);
  er_set_rounding_mode(c->rmode);
  const int so = opt(&oo);
  const int sr = ref(&orf);
  const int sn = nip(&onp);
  er_set_rounding_mode(0);
  if (so != sr || sr != ER_OK || sn != ER_OK) {
    describe(idx, c, "status differs or a reference refused the case", -1, so, sr != ER_OK ? sr : sn);
    ++n_fail;
    return;
  }
  for (int64_t i = 0; i < span + GUARD; ++i) {
    if (y_opt[i] != y_ref[i]) {
      describe(idx, c, i < yo.count ? "output differs from the in-place reference"
                       : i < span   ? "input bytes past the output differ from the in-place reference"
                                    : "wrote past the buffer",
               i, y_opt[i], y_ref[i]);
      ++n_fail;
      return;
    }
  }
  for (int64_t i = 0; i < yo.count; ++i) {
    if (y_opt[i] != y_nip[i]) {
      describe(idx, c, "output differs from the not-in-place reference", i, y_opt[i], y_nip[i]);
      ++n_fail;
      return;
    }
  }
  ++n_pass;
}

static void dw_inplace_case(int idx) {
  qcase c;
  memset(&c, 0, sizeof c);
  c.kind = "s8_dwconv2d_inplace";
  for (;;) {
    c.B = PICK(1, 1, 1, 2);
    c.H = PICK(1, 2, 3, 5, 7, 9, 10, 13);
    c.W = PICK(1, 2, 3, 5, 9, 25);
    c.C = PICK(1, 3, 4, 7, 8, 15, 16, 17, 33, 64);
    c.KH = PICK(1, 2, 3, 3, 5);
    c.KW = PICK(1, 2, 3, 3, 5);
    c.p.stride_h = PICK(1, 2);
    c.p.stride_w = PICK(1, 2);
    c.p.dil_h = rnd() % 5 == 0 ? 2 : 1;
    c.p.dil_w = rnd() % 5 == 0 ? 2 : 1;
    const int style = (int)(rnd() % 3);
    if (!geometry(c.H, c.KH, c.p.stride_h, c.p.dil_h, style, &c.OH, &c.p.pad_top)) continue;
    if (!geometry(c.W, c.KW, c.p.stride_w, c.p.dil_w, style, &c.OW, &c.p.pad_left)) continue;
    if (c.OH > c.H || c.OW > c.W) continue; /* the plan only runs these in place */
    if ((int64_t)c.B * c.H * c.W * c.C > X_MAX || (int64_t)c.KH * c.KW * c.C > W_MAX) continue;
    break;
  }
  c.OC = c.C;
  c.mult_d = 1;
  c.p.groups = 1;
  c.p.depth_multiplier = 1;
  make_quant(&c, c.C);
  const int32_t R = ring_rows(c.H, c.W, c.OH, c.OW, c.p.stride_h, c.p.pad_top);
  rings_seen |= 1u << (R < 31 ? R : 31);
  const int32_t xd[4] = {c.B, c.H, c.W, c.C}, wd[4] = {1, c.KH, c.KW, c.C}, yd[4] = {c.B, c.OH, c.OW, c.C};
  er_tensor w = tensor(wbuf, ER_INT8, 4, wd);
  er_tensor b = tensor(c.bias_type == ER_INT64 ? (void *)bias64 : (void *)bias32,
                       c.bias_type == ER_INT64 ? ER_INT64 : ER_INT32, 1, &c.C);
  fill8(xbuf, c.B * c.H * c.W * c.C, c.data_style);
  fill8(wbuf, (int32_t)w.count, c.data_style);
  run_inplace(idx, &c, er_s8_dwconv2d_inplace, ORACLE_DW_INPLACE, ORACLE_DW, 4, xd, &w, c.bias_type ? &b : NULL, yd,
              14LL * c.C + (int64_t)R * c.W * c.C, 12LL * c.C + 2LL * c.C);
}

static void conv1x1_inplace_case(int idx) {
  qcase c;
  memset(&c, 0, sizeof c);
  c.kind = "s8_conv2d_1x1_inplace";
  for (;;) {
    c.B = PICK(1, 1, 1, 2);
    c.H = PICK(1, 2, 3, 5, 10);
    c.W = PICK(1, 3, 5, 25);
    c.C = PICK(1, 3, 4, 7, 8, 16, 17, 33, 64);
    c.OC = PICK(1, 2, 3, 4, 5, 8, 17, 33, 64);
    const int64_t px = (int64_t)c.B * c.H * c.W;
    if (px * c.C > X_MAX || px * c.C > Y_MAX || px * c.OC > Y_MAX || (int64_t)c.OC * c.C > W_MAX) continue;
    break;
  }
  c.KH = c.KW = 1;
  c.OH = c.H;
  c.OW = c.W;
  c.p.groups = 1;
  c.p.depth_multiplier = 1;
  c.p.stride_h = c.p.stride_w = c.p.dil_h = c.p.dil_w = 1;
  make_quant(&c, c.OC);
  if (c.OC <= c.C)
    ++n_forward;
  else
    ++n_backward;
  const int32_t xd[4] = {c.B, c.H, c.W, c.C}, wd[4] = {c.OC, 1, 1, c.C}, yd[4] = {c.B, c.H, c.W, c.OC};
  er_tensor w = tensor(wbuf, ER_INT8, 4, wd);
  er_tensor b = tensor(c.bias_type == ER_INT64 ? (void *)bias64 : (void *)bias32,
                       c.bias_type == ER_INT64 ? ER_INT64 : ER_INT32, 1, &c.OC);
  fill8(xbuf, c.B * c.H * c.W * c.C, c.data_style);
  fill8(wbuf, (int32_t)w.count, c.data_style);
  run_inplace(idx, &c, er_s8_conv2d_1x1_inplace, ORACLE_1X1_INPLACE, ORACLE_CONV, 4, xd, &w, c.bias_type ? &b : NULL,
              yd, 8LL * c.OC + 2LL * c.C, 8LL * c.W * c.OC + 2LL * c.W * c.C);
}

/* The kernels' requantization (er_cm_requant_n, and er_cm_requant4 on MVE) against er_qc_requant, the
 * reference helper, on blocks of 4 channels with edge accumulators, multipliers and shifts, every rounding
 * rule (the UPWARD8 boundary inside and outside the block), int32/int64/no bias and empty clamps. */
static void requant_case(int idx) {
#if ER_ISA_CORTEXM
  qcase c;
  memset(&c, 0, sizeof c);
  c.kind = "requant";
  const int32_t nch = PICK(4, 8, 12, 13, 16);
  make_quant(&c, nch);
  for (int32_t i = 0; i < nch; ++i) {
    if (rnd() % 5 == 0) mult[i] = PICK(INT32_MIN, INT32_MAX, 0x40000000, 1, 0);
    if (rnd() % 5 == 0) shift[i] = rnd_in(-31, 30);
  }
  if (rnd() % 8 == 0) {
    c.p.out_min = rnd_in(-128, 127);
    c.p.out_max = rnd_in(-128, 127);
  }
  const int ties = rnd() % 3 == 0; /* multiplier 1/2, small values and shifts: rounding ties everywhere */
  if (ties) {
    for (int32_t i = 0; i < nch; ++i) {
      mult[i] = 0x40000000;
      shift[i] = rnd_in(-4, 0);
    }
    c.bias_type = 0;
  }
  const int32_t c0 = rnd_in(0, nch - 4), n = rnd_in(1, 4);
  int32_t acc[4];
  int64_t acc64[4];
  for (int j = 0; j < 4; ++j) {
    acc[j] = rnd() % 4 == 0 ? PICK(INT32_MIN, INT32_MAX, 0, -1, 1, 1 << 30, -(1 << 30)) : (int32_t)rnd() >> rnd_in(0, 31);
    if (ties) acc[j] = rnd_in(-64, 64);
    acc64[j] = acc[j];
  }
  const int32_t nb = nch;
  er_tensor b = tensor(c.bias_type == ER_INT64 ? (void *)bias64 : (void *)bias32,
                       c.bias_type == ER_INT64 ? ER_INT64 : ER_INT32, 1, &nb);
  er_set_rounding_mode(c.rmode);
  const er_cm_rq rq = er_cm_rq_make(&c.p, c.bias_type ? &b : NULL, nch);
  int8_t got[4], want[4], got4[4];
  er_cm_requant_n(&rq, acc, c0, n, got);
#if ER_ISA_ARM_MVE
  memset(got4, 0x5A, sizeof got4);
  er_cm_requant4(&rq, vld1q_s32(acc), c0, n, got4);
#else
  memcpy(got4, got, sizeof got4);
#endif
  er_qc_add_bias(acc64, n, c.bias_type ? &b : NULL, c0);
  er_qc_requant(acc64, n, mult + c0, shift + c0, 0, c.rounding, c0, nch, c.p.output_offset, c.p.out_min,
                c.p.out_max, ER_INT8, want, 0, 1);
  er_set_rounding_mode(0);
  for (int32_t j = 0; j < n; ++j) {
    if (got[j] != want[j] || got4[j] != want[j]) {
      describe(idx, &c, "requantization differs", j, got[j] != want[j] ? got[j] : got4[j], want[j]);
      printf("  channels %ld.. of %ld, acc %ld mult %ld shift %ld\n", (long)c0, (long)nch, (long)acc[j],
             (long)mult[c0 + j], (long)shift[c0 + j]);
      ++n_fail;
      return;
    }
  }
  ++n_pass;
#else
  (void)idx;
  ++n_pass;
#endif
}

#ifndef ER_CM_CASES
#define ER_CM_CASES 300
#endif

#ifdef ER_CM_BENCH
#include "er_mcu.h"

/* one layer of the block: opt then reference, each between marks (4 marks; for an in-place layer the
 * input is copied into its buffer before each run, outside the measured spans) */
static void bench(const char *name, er_kernel_fn opt, er_kernel_fn ref, er_op *op, er_tensor *y,
                  const int8_t *input, int32_t in_bytes) {
  if (input) memcpy(y->data, input, (size_t)in_bytes);
  er_mcu_mark();
  const int so = opt(op);
  er_mcu_mark();
  memcpy(y_opt, y->data, (size_t)y->count);
  if (input) memcpy(y->data, input, (size_t)in_bytes);
  er_mcu_mark();
  const int sr = ref(op);
  er_mcu_mark();
  const int same = so == sr && memcmp(y_opt, y->data, (size_t)y->count) == 0;
  printf("bench %s status %d %d %s\n", name, so, sr, same ? "same" : "DIFFERENT");
  if (!same) ++n_fail;
}

int main(void) {
  static int8_t act[10 * 25 * 64], out[10 * 25 * 64];
  printf("isa=%s\n", ISA_NAME);
  fill8(act, (int32_t)sizeof act, 0);
  fill8(wbuf, W_MAX, 0);
  qcase c;
  memset(&c, 0, sizeof c);
  make_quant(&c, 64);
  er_qconv_params *p = &c.p;
  p->rounding = ER_QC_RND_TFLITE;
  p->groups = 1;
  p->depth_multiplier = 1;
  p->stride_h = p->stride_w = p->dil_h = p->dil_w = 1;
  p->out_min = -128;
  p->out_max = 127;
  const int32_t ad[4] = {1, 10, 25, 64}, dww[4] = {1, 3, 3, 64}, pww[4] = {64, 1, 1, 64}, n64 = 64;
  er_tensor x = tensor(act, ER_INT8, 4, ad), y = tensor(out, ER_INT8, 4, ad);
  er_tensor b = tensor(bias32, ER_INT32, 1, &n64);
  er_tensor *out_t[1] = {&y};
  /* depthwise 3x3, SAME */
  er_tensor wdw = tensor(wbuf, ER_INT8, 4, dww);
  er_tensor *in_dw[3] = {&x, &wdw, &b};
  p->pad_top = p->pad_left = 1;
  er_op dw = {0, 0, 3, 1, in_dw, out_t, p, scratch_ref, 12 * 64 + 2 * 64};
  bench("dwconv 10x25x64 3x3", er_s8_dwconv2d, ORACLE_DW, &dw, &y, NULL, 0);
  /* pointwise 64 -> 64 */
  er_tensor wpw = tensor(wbuf, ER_INT8, 4, pww);
  er_tensor *in_pw[3] = {&x, &wpw, &b};
  p->pad_top = p->pad_left = 0;
  er_op pw = {0, 1, 3, 1, in_pw, out_t, p, scratch_ref, 8 * 25 * 64 + 2 * 25 * 64};
  bench("conv 1x1 10x25 64->64", er_s8_conv2d, ORACLE_CONV, &pw, &y, NULL, 0);
  /* FULLY_CONNECTED 640 -> 12 */
  const int32_t fxd[2] = {1, 640}, fwd[2] = {12, 640}, fyd[2] = {1, 12}, n12 = 12;
  er_tensor fx = tensor(act, ER_INT8, 2, fxd), fw = tensor(wbuf, ER_INT8, 2, fwd), fy = tensor(out, ER_INT8, 2, fyd);
  er_tensor fb = tensor(bias32, ER_INT32, 1, &n12);
  er_tensor *in_fc[3] = {&fx, &fw, &fb};
  er_tensor *out_fc[1] = {&fy};
  er_op fc = {0, 2, 3, 1, in_fc, out_fc, p, scratch_ref, 8 * 12 + 2 * 640};
  bench("fc 640->12", er_s8_fc, ORACLE_FC, &fc, &fy, NULL, 0);
  /* the depthwise and pointwise layers in place: input and output in `out` (a ring of 2 rows, one column) */
  er_tensor xi = tensor(out, ER_INT8, 4, ad);
  er_tensor *in_dwi[3] = {&xi, &wdw, &b}, *in_pwi[3] = {&xi, &wpw, &b};
  p->pad_top = p->pad_left = 1;
  er_op dwi = {0, 3, 3, 1, in_dwi, out_t, p, scratch_ref, 14 * 64 + 2 * 25 * 64};
  bench("dwconv in place 10x25x64 3x3", er_s8_dwconv2d_inplace, ORACLE_DW_INPLACE, &dwi, &y, act, (int32_t)sizeof act);
  p->pad_top = p->pad_left = 0;
  er_op pwi = {0, 4, 3, 1, in_pwi, out_t, p, scratch_ref, 8 * 64 + 2 * 64};
  bench("conv 1x1 in place 10x25 64->64", er_s8_conv2d_1x1_inplace, ORACLE_1X1_INPLACE, &pwi, &y, act,
        (int32_t)sizeof act);
  printf("%d failed\n", n_fail);
  return n_fail ? 1 : 0;
}

#else

int main(void) {
  printf("isa=%s\n", ISA_NAME);
  int idx = 0;
  for (int i = 0; i < ER_CM_CASES; ++i) conv_case(idx++);
  for (int i = 0; i < ER_CM_CASES; ++i) dw_case(idx++);
  for (int i = 0; i < ER_CM_CASES; ++i) fc_case(idx++);
  for (int i = 0; i < 10 * ER_CM_CASES; ++i) requant_case(idx++);
  for (int i = 0; i < 2 * ER_CM_CASES; ++i) dw_inplace_case(idx++);
  for (int i = 0; i < 2 * ER_CM_CASES; ++i) conv1x1_inplace_case(idx++);
  printf("ring rows seen:");
  for (int r = 0; r < 32; ++r)
    if (rings_seen >> r & 1u) printf(" %d", r);
  printf("\n1x1 forward %d backward %d\n", n_forward, n_backward);
  printf("%d passed, %d failed\n", n_pass, n_fail);
  return n_fail ? 1 : 0;
}

#endif
