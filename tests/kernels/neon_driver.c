/* Runs on AArch64 or ARMv7 (under qemu-user, statically linked): every NEON micro-kernel of kernels/neon/
 * against its oracle on random cases from a fixed-seed PRNG.
 *   float   f32_conv2d_fast / f32_dwconv2d_fast / f32_fc_fast on the neon table against the reference kernels
 *           (kernels/ref/conv.c, fc.c), within a relative tolerance (FMA and summation order differ);
 *   integer the micro-kernels directly against the portable ones (int16 GEMM, 8-bit loads, depthwise, upward
 *           requantization, the int8 dot-layout GEMM), and the whole optimized kernels (s8_conv2d_dot,
 *           s8_fc_dot, s8/u8_conv2d_gemm, s8/u8_fc_gemm, s8/u8_dwconv2d_vec) against the reference kernels,
 *           bit for bit, guard band past the output included, all rounding paths and both rounding modes.
 * Every check runs under each NEON ISA this CPU supports (neon; neon-dotprod where the kernel reports SDOT).
 * Prints `cpu neon=<0|1> dotprod=<0|1>`, `cpu i8mm=<0|1>`, `path=<smmla|sdot|smull>` (the dot-layout GEMM the
 * best ISA selects; where SMMLA is selected the SDOT micro-kernel is checked beside it), one
 * line per failing case, and `N passed, M failed`; exits 1 on any failure.
 *
 *   neon_driver                       the checks
 *   neon_driver bench LAYER ISA REPS  runs LAYER (conv1x1: 64->64 on 25x5, float; dw3x3: 3x3 depthwise 64
 *                                     channels on 25x5 SAME, float; qconv1x1 / qdw3x3: the int8 ones; qgemm:
 *                                     the dot-layout GEMM micro-kernel, 32 x 256 x 64) REPS
 *                                     times under ISA (ref, portable, neon, neon-dotprod: SMMLA where the CPU
 *                                     has it, neon-sdot: SDOT forced), calling er_neon_mark()
 *                                     before the first and after the last: instruction counts between marks;
 *                                     LAYER qadd, fadd, qmaxpool, qavgpool, fmaxpool, favgpool, qsoftmax, fsoftmax,
 *                                     requant: the whole-op kernels (ISA ref or neon, see bench_op). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"
#include "edgerun/host_isa.h"
#include "opt/ukernels.h"

int er_f32_conv2d(const er_op *op); /* kernels/list/conv.inc, q_conv.inc */
int er_f32_conv2d_fast(const er_op *op);
int er_f32_dwconv2d(const er_op *op);
int er_f32_dwconv2d_fast(const er_op *op);
int er_f32_fc(const er_op *op);
int er_f32_fc_fast(const er_op *op);
int er_s8_conv2d(const er_op *op);
int er_u8_conv2d(const er_op *op);
int er_s8_fc(const er_op *op);
int er_u8_fc(const er_op *op);
int er_s8_dwconv2d(const er_op *op);
int er_u8_dwconv2d(const er_op *op);
int er_s8_conv2d_gemm(const er_op *op);
int er_u8_conv2d_gemm(const er_op *op);
int er_s8_fc_gemm(const er_op *op);
int er_u8_fc_gemm(const er_op *op);
int er_s8_dwconv2d_vec(const er_op *op);
int er_u8_dwconv2d_vec(const er_op *op);
int er_s8_conv2d_dot(const er_op *op);
int er_s8_fc_dot(const er_op *op);

#define X_MAX 40000
#define W_MAX 40000
#define Y_MAX 40000
#define C_MAX 256
#define S_MAX (1 << 20)
#define GUARD 32

static float fx[X_MAX], fw[W_MAX], fb[C_MAX], fy_opt[Y_MAX + GUARD], fy_ref[Y_MAX + GUARD];
static float fpacked[W_MAX * 2], fbias_packed[C_MAX * 2];
static int32_t koff[W_MAX];
static uint8_t xbuf[X_MAX], wbuf[W_MAX], y_opt[Y_MAX + GUARD], y_ref[Y_MAX + GUARD];
static int16_t packed16[W_MAX * 2];
static int32_t packed_dot[W_MAX]; /* corrections then int8 panels */
static int32_t bias32[C_MAX], mult[C_MAX], shift[C_MAX];
static int64_t scratch_opt[S_MAX / 8], scratch_ref[S_MAX / 8];

static int n_pass, n_fail;
static const char *isa_name = "?";

/* ---- fixed-seed PRNG (xorshift32) ---------------------------------------------------------------------- */
static uint32_t rng_state = 0x9E3779B9u;
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
static float rndf(void) { return (float)((int32_t)(rnd() % 2001u) - 1000) / 250.0f; }

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
  t.bytes = t.count * (type == ER_INT32 || type == ER_FLOAT32 ? 4 : 1);
  return t;
}

static void fail(const char *what, int idx, const char *detail) {
  printf("FAIL [%s] %s case %d: %s\n", isa_name, what, idx, detail);
  ++n_fail;
}

/* output extent and pad for SAME (style 0) or VALID (1) */
static int geometry(int32_t in, int32_t k, int32_t stride, int32_t dil, int style, int32_t *out, int32_t *pad) {
  const int32_t ek = (k - 1) * dil + 1;
  if (style == 0) {
    *out = (in + stride - 1) / stride;
    const int32_t need = (*out - 1) * stride + ek - in;
    *pad = need > 0 ? need / 2 : 0;
  } else {
    *pad = 0;
    *out = in >= ek ? (in - ek) / stride + 1 : 0;
  }
  return *out > 0;
}

/* one conv geometry: B, H, W, C (input), OC, KH, KW, strides, dilations, pads, OH, OW */
typedef struct geo {
  int32_t B, H, W, C, OC, KH, KW, sh, sw, dh, dw, pt, pl, OH, OW, groups;
} geo;

static void draw_geo(geo *g, int depthwise) {
  for (;;) {
    memset(g, 0, sizeof *g);
    g->B = PICK(1, 1, 2);
    g->H = PICK(1, 2, 3, 5, 7, 9);
    g->W = PICK(1, 3, 4, 5, 7, 8, 9, 13, 25);
    g->groups = 1;
    if (depthwise) {
      g->C = PICK(1, 3, 4, 7, 8, 9, 15, 16, 17, 24, 33, 64);
      g->OC = g->C;
    } else {
      const int32_t ic = PICK(1, 2, 3, 4, 5, 8, 16, 17, 33);
      g->C = ic;
      g->OC = PICK(1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48);
    }
    g->KH = PICK(1, 1, 2, 3, 3, 5);
    g->KW = PICK(1, 1, 2, 3, 3, 5);
    g->sh = PICK(1, 1, 2, 3);
    g->sw = PICK(1, 1, 2, 3);
    g->dh = rnd() % 4 == 0 ? 2 : 1;
    g->dw = rnd() % 4 == 0 ? 2 : 1;
    if (!depthwise && rnd() % 4 == 0) { /* pointwise: the direct GEMM paths */
      g->KH = g->KW = 1;
      g->sh = g->sw = 1;
      g->dh = g->dw = 1;
    }
    const int style = (int)(rnd() % 2);
    if (!geometry(g->H, g->KH, g->sh, g->dh, style, &g->OH, &g->pt)) continue;
    if (!geometry(g->W, g->KW, g->sw, g->dw, style, &g->OW, &g->pl)) continue;
    const int64_t wcount = depthwise ? (int64_t)g->KH * g->KW * g->OC : (int64_t)g->OC * g->KH * g->KW * g->C;
    if ((int64_t)g->B * g->H * g->W * g->C > X_MAX || wcount > W_MAX / 2) continue;
    if ((int64_t)g->B * g->OH * g->OW * g->OC > Y_MAX) continue;
    return;
  }
}

static void describe_geo(char *buf, size_t n, const geo *g) {
  snprintf(buf, n, "B=%d H=%d W=%d C=%d OC=%d K=%dx%d stride=%d,%d dil=%d,%d pad=%d,%d out=%dx%d", (int)g->B,
           (int)g->H, (int)g->W, (int)g->C, (int)g->OC, (int)g->KH, (int)g->KW, (int)g->sh, (int)g->sw, (int)g->dh,
           (int)g->dw, (int)g->pt, (int)g->pl, (int)g->OH, (int)g->OW);
}

/* ================================ float ======================================================================
 * runtime/ops/conv.py pack_panels: N8 = N rounded up to 8 columns in panels of 16 (the last 8 wide when N8 is
 * not a multiple of 16), panel row k = W[first + j][k]; bias padded to N8. */
static void pack_f32(const float *w, const float *bias, int64_t N, int64_t K) {
  const int64_t n8 = (N + 7) / 8 * 8;
  int64_t at = 0;
  for (int64_t first = 0; first < n8; first += 16) {
    const int64_t width = n8 - first < 16 ? n8 - first : 16;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < width; ++j) fpacked[at++] = first + j < N ? w[(first + j) * K + k] : 0.0f;
  }
  for (int64_t n = 0; n < n8; ++n) fbias_packed[n] = n < N ? bias[n] : 0.0f;
}

/* |opt - ref| <= 1e-4 * (1 + max |ref|) over the output; the guard band untouched */
static int compare_f32(const char *what, int idx, int64_t count, const char *desc) {
  float mx = 0.0f;
  for (int64_t i = 0; i < count; ++i) mx = fabsf(fy_ref[i]) > mx ? fabsf(fy_ref[i]) : mx;
  const float tol = 1e-4f * (1.0f + mx);
  for (int64_t i = 0; i < count + GUARD; ++i) {
    const int bad = i < count ? !(fabsf(fy_opt[i] - fy_ref[i]) <= tol) : memcmp(&fy_opt[i], &fy_ref[i], 4) != 0;
    if (bad) {
      char d[400];
      snprintf(d, sizeof d, "%s at %ld: opt %g ref %g (%s)", i < count ? "differs" : "wrote past the output",
               (long)i, (double)fy_opt[i], (double)fy_ref[i], desc);
      fail(what, idx, d);
      return 0;
    }
  }
  ++n_pass;
  return 1;
}

static void f32_act(er_conv_params *p) {
  switch (rnd() % 4) {
    case 0: p->act_min = -INFINITY; p->act_max = INFINITY; break;
    case 1: p->act_min = 0.0f; p->act_max = INFINITY; break;
    case 2: p->act_min = -1.0f; p->act_max = 1.0f; break;
    default: p->act_min = 0.0f; p->act_max = 6.0f; break;
  }
}

static void f32_conv_case(int idx) {
  geo g;
  draw_geo(&g, 0);
  const int64_t K = (int64_t)g.KH * g.KW * g.C;
  er_conv_params p;
  memset(&p, 0, sizeof p);
  p.stride_h = g.sh, p.stride_w = g.sw, p.dil_h = g.dh, p.dil_w = g.dw, p.pad_top = g.pt, p.pad_left = g.pl;
  p.groups = 1;
  p.depth_multiplier = 1;
  f32_act(&p);
  const int32_t xd[4] = {g.B, g.H, g.W, g.C}, wd[4] = {g.OC, g.KH, g.KW, g.C}, yd[4] = {g.B, g.OH, g.OW, g.OC};
  er_tensor x = tensor(fx, ER_FLOAT32, 4, xd), w = tensor(fw, ER_FLOAT32, 4, wd), b = tensor(fb, ER_FLOAT32, 1, &g.OC);
  er_tensor yo = tensor(fy_opt, ER_FLOAT32, 4, yd), yr = tensor(fy_ref, ER_FLOAT32, 4, yd);
  for (int64_t i = 0; i < x.count; ++i) fx[i] = rndf();
  for (int64_t i = 0; i < w.count; ++i) fw[i] = rndf();
  for (int32_t i = 0; i < g.OC; ++i) fb[i] = rndf();
  pack_f32(fw, fb, g.OC, K);
  p.packed_w = fpacked;
  p.packed_b = fbias_packed;
  p.rows = PICK(1, 2, 5, 7, 12, 24);
  int64_t at = 0;
  for (int32_t kh = 0; kh < g.KH; ++kh)
    for (int32_t kw = 0; kw < g.KW; ++kw)
      for (int32_t c = 0; c < g.C; ++c) koff[at++] = (kh * g.dh * g.W + kw * g.dw) * g.C + c;
  p.koff = rnd() & 1 ? koff : NULL;
  er_tensor *in[3] = {&x, &w, &b};
  er_tensor *out_o[1] = {&yo}, *out_r[1] = {&yr};
  er_op oo = {0, idx, 3, 1, in, out_o, &p, scratch_opt, (int64_t)4 * p.rows * K};
  er_op orf = {0, idx, 3, 1, in, out_r, &p, scratch_ref, S_MAX};
  memset(fy_opt, 0x5A, sizeof fy_opt);
  memset(fy_ref, 0x5A, sizeof fy_ref);
  const int so = er_f32_conv2d_fast(&oo), sr = er_f32_conv2d(&orf);
  char desc[300];
  describe_geo(desc, sizeof desc, &g);
  if (so != ER_OK || sr != ER_OK) {
    char d[400];
    snprintf(d, sizeof d, "status opt %d ref %d (%s)", so, sr, desc);
    fail("f32_conv2d_fast", idx, d);
    return;
  }
  compare_f32("f32_conv2d_fast", idx, yr.count, desc);
}

static void f32_dw_case(int idx) {
  geo g;
  draw_geo(&g, 1);
  if (rnd() % 3 == 0) g.KH = g.KW = 3, g.dh = g.dw = 1, g.sh = PICK(1, 2), g.sw = g.sh; /* the 3x3 row path */
  if (!geometry(g.H, g.KH, g.sh, g.dh, 0, &g.OH, &g.pt) || !geometry(g.W, g.KW, g.sw, g.dw, 0, &g.OW, &g.pl) ||
      (int64_t)g.B * g.OH * g.OW * g.OC > Y_MAX)
    draw_geo(&g, 1);
  er_conv_params p;
  memset(&p, 0, sizeof p);
  p.stride_h = g.sh, p.stride_w = g.sw, p.dil_h = g.dh, p.dil_w = g.dw, p.pad_top = g.pt, p.pad_left = g.pl;
  p.groups = 1;
  p.depth_multiplier = 1;
  f32_act(&p);
  const int32_t xd[4] = {g.B, g.H, g.W, g.C}, wd[4] = {1, g.KH, g.KW, g.OC}, yd[4] = {g.B, g.OH, g.OW, g.OC};
  er_tensor x = tensor(fx, ER_FLOAT32, 4, xd), w = tensor(fw, ER_FLOAT32, 4, wd), b = tensor(fb, ER_FLOAT32, 1, &g.OC);
  er_tensor yo = tensor(fy_opt, ER_FLOAT32, 4, yd), yr = tensor(fy_ref, ER_FLOAT32, 4, yd);
  for (int64_t i = 0; i < x.count; ++i) fx[i] = rndf();
  for (int64_t i = 0; i < w.count; ++i) fw[i] = rndf();
  for (int32_t i = 0; i < g.OC; ++i) fb[i] = rndf();
  p.packed_b = fb;
  er_tensor *in[3] = {&x, &w, &b};
  er_tensor *out_o[1] = {&yo}, *out_r[1] = {&yr};
  er_op oo = {0, idx, 3, 1, in, out_o, &p, NULL, 0};
  er_op orf = {0, idx, 3, 1, in, out_r, &p, scratch_ref, S_MAX};
  memset(fy_opt, 0x5A, sizeof fy_opt);
  memset(fy_ref, 0x5A, sizeof fy_ref);
  const int so = er_f32_dwconv2d_fast(&oo), sr = er_f32_dwconv2d(&orf);
  char desc[300];
  describe_geo(desc, sizeof desc, &g);
  if (so != ER_OK || sr != ER_OK) {
    char d[400];
    snprintf(d, sizeof d, "status opt %d ref %d (%s)", so, sr, desc);
    fail("f32_dwconv2d_fast", idx, d);
    return;
  }
  compare_f32("f32_dwconv2d_fast", idx, yr.count, desc);
}

static void f32_fc_case(int idx) {
  const int32_t M = PICK(1, 2, 3, 5, 6, 7, 12, 13, 40), K = PICK(1, 2, 3, 4, 7, 16, 17, 64, 100);
  const int32_t N = PICK(1, 3, 7, 8, 9, 16, 17, 24, 33, 64);
  er_conv_params p;
  memset(&p, 0, sizeof p);
  p.groups = 1;
  f32_act(&p);
  const int32_t xd[2] = {M, K}, wd[2] = {N, K}, yd[2] = {M, N};
  er_tensor x = tensor(fx, ER_FLOAT32, 2, xd), w = tensor(fw, ER_FLOAT32, 2, wd), b = tensor(fb, ER_FLOAT32, 1, &N);
  er_tensor yo = tensor(fy_opt, ER_FLOAT32, 2, yd), yr = tensor(fy_ref, ER_FLOAT32, 2, yd);
  for (int64_t i = 0; i < x.count; ++i) fx[i] = rndf();
  for (int64_t i = 0; i < w.count; ++i) fw[i] = rndf();
  for (int32_t i = 0; i < N; ++i) fb[i] = rndf();
  pack_f32(fw, fb, N, K);
  p.packed_w = fpacked;
  p.packed_b = fbias_packed;
  er_tensor *in[3] = {&x, &w, &b};
  er_tensor *out_o[1] = {&yo}, *out_r[1] = {&yr};
  er_op oo = {0, idx, 3, 1, in, out_o, &p, NULL, 0};
  er_op orf = {0, idx, 3, 1, in, out_r, &p, scratch_ref, S_MAX};
  memset(fy_opt, 0x5A, sizeof fy_opt);
  memset(fy_ref, 0x5A, sizeof fy_ref);
  const int so = er_f32_fc_fast(&oo), sr = er_f32_fc(&orf);
  char desc[100];
  snprintf(desc, sizeof desc, "M=%d K=%d N=%d", (int)M, (int)K, (int)N);
  if (so != ER_OK || sr != ER_OK) {
    fail("f32_fc_fast", idx, desc);
    return;
  }
  compare_f32("f32_fc_fast", idx, yr.count, desc);
}

/* ================================ integer micro-kernels ====================================================== */

static void fill16(int16_t *d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = (int16_t)(rnd() % 4 == 0 ? PICK(-255, 255, 0) : rnd_in(-255, 255));
}

static void fill8(uint8_t *d, int64_t n, int style) {
  for (int64_t i = 0; i < n; ++i) {
    if (style == 1)
      d[i] = (rnd() & 1) ? 127 : 128; /* int8 127 / -128 (uint8 127 / 128) */
    else if (style == 2)
      d[i] = (rnd() & 1) ? 0 : 255;
    else
      d[i] = (uint8_t)rnd();
  }
}

static int cmp_i32(const char *what, int idx, const int32_t *a, const int32_t *b, int64_t n, const char *desc) {
  for (int64_t i = 0; i < n; ++i)
    if (a[i] != b[i]) {
      char d[300];
      snprintf(d, sizeof d, "at %ld: %ld vs portable %ld (%s)", (long)i, (long)a[i], (long)b[i], desc);
      fail(what, idx, d);
      return 0;
    }
  ++n_pass;
  return 1;
}

static int16_t a16[64 * 1024], b16[64 * 1024];
static int32_t c_opt[64 * 1024], c_ref[64 * 1024];

static void ukernel_cases(const er_qc_ukernels *qc, const er_qd_ukernels *qd, const er_qd_ukernels *qd2,
                          int n_cases) {
  char desc[200];
  for (int idx = 0; idx < n_cases; ++idx) {
    /* int16 GEMM */
    {
      const int64_t np = rnd_in(1, 11), kp = 2 * rnd_in(1, 40), ocp = 8 * rnd_in(1, 5);
      fill16(a16, np * kp);
      fill16(b16, ocp * kp);
      memset(c_opt, 0x5A, sizeof(int32_t) * (size_t)(np * ocp + 8));
      memset(c_ref, 0x5A, sizeof(int32_t) * (size_t)(np * ocp + 8));
      qc->gemm(a16, np, kp, b16, ocp, c_opt);
      er_qc_gemm_portable(a16, np, kp, b16, ocp, c_ref);
      snprintf(desc, sizeof desc, "np=%ld kp=%ld ocp=%ld", (long)np, (long)kp, (long)ocp);
      cmp_i32("qc gemm", idx, c_opt, c_ref, np * ocp + 8, desc);
    }
    /* 8-bit loads to offset form */
    if (qc->load8) {
      const int64_t n = rnd_in(16, 100);
      const int is_u8 = (int)(rnd() & 1);
      const int32_t off = is_u8 ? rnd_in(-255, 0) : rnd_in(-127, 128);
      fill8(xbuf, n, (int)(rnd() % 3));
      int16_t *d0 = a16, *d1 = b16;
      memset(d0, 0x5A, sizeof(int16_t) * (size_t)(n + 8));
      memset(d1, 0x5A, sizeof(int16_t) * (size_t)(n + 8));
      qc->load8(xbuf, is_u8, n, off, d0);
      for (int64_t i = 0; i < n; ++i) d1[i] = (int16_t)((is_u8 ? (int32_t)xbuf[i] : (int32_t)(int8_t)xbuf[i]) + off);
      int ok = memcmp(d0, d1, sizeof(int16_t) * (size_t)(n + 8)) == 0;
      snprintf(desc, sizeof desc, "n=%ld u8=%d off=%d", (long)n, is_u8, (int)off);
      if (ok)
        ++n_pass;
      else
        fail("qc load8", idx, desc);
    }
    /* depthwise */
    {
      const int64_t C = PICK(1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64), Cp = (C + 7) / 8 * 8, ntp = rnd_in(1, 13);
      const int is_u8 = (int)(rnd() & 1);
      const int32_t off = is_u8 ? rnd_in(-255, 0) : rnd_in(-127, 128);
      const void *taps[26];
      fill8(xbuf, 2 * ntp * C, (int)(rnd() % 3));
      for (int64_t t = 0; t < 2 * ntp; ++t) taps[t] = xbuf + t * C;
      fill16(b16, ntp * Cp * 2);
      memset(c_opt, 0x5A, sizeof(int32_t) * (size_t)(C + 8));
      memset(c_ref, 0x5A, sizeof(int32_t) * (size_t)(C + 8));
      qc->dw(taps, ntp, is_u8, off, b16, C, Cp, c_opt);
      er_qc_dw_portable(taps, ntp, is_u8, off, b16, C, Cp, c_ref);
      snprintf(desc, sizeof desc, "C=%ld ntp=%ld u8=%d off=%d", (long)C, (long)ntp, is_u8, (int)off);
      cmp_i32("qc dw", idx, c_opt, c_ref, C + 8, desc);
    }
    /* upward requantization against the scalar formula */
    if (qc->requant_upward) {
      const int64_t rows = rnd_in(1, 5), n8 = 8 * rnd_in(1, 6), ld = n8 + 8 * rnd_in(0, 1);
      const int is_u8 = (int)(rnd() & 1);
      for (int64_t i = 0; i < n8; ++i) {
        mult[i] = (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
        if (rnd() % 13 == 0) mult[i] = PICK(0x40000000, 0x7FFFFFFF, INT32_MIN, -0x40000000);
        shift[i] = rnd() % 9 == 0 ? PICK(-31, -1, 0, 1, 30) : rnd_in(-14, 8);
        bias32[i] = rnd() % 9 == 0 ? (int32_t)rnd() : rnd_in(-(1 << 18), 1 << 18);
      }
      for (int64_t i = 0; i < rows * ld; ++i)
        c_ref[i] = rnd() % 7 == 0 ? PICK(INT32_MIN, INT32_MAX, 0, -1) : (int32_t)rnd() >> rnd_in(0, 20);
      const int32_t out_offset = is_u8 ? rnd_in(0, 255) : rnd_in(-128, 127);
      int32_t lo = is_u8 ? 0 : -128, hi = is_u8 ? 255 : 127;
      if (rnd() % 3 == 0) {
        lo = rnd_in(lo, out_offset);
        hi = rnd_in(lo, hi);
      }
      const int with_bias = (int)(rnd() % 4 != 0);
      memset(y_opt, 0x5A, sizeof y_opt);
      memset(y_ref, 0x5A, sizeof y_ref);
      const int64_t done = qc->requant_upward(c_ref, rows, ld, n8, with_bias ? bias32 : NULL, mult, shift, out_offset,
                                              lo, hi, is_u8, y_opt, n8);
      int64_t expect = 0;
      while (expect < n8) {
        int has_min = 0;
        for (int l = 0; l < 8; ++l) has_min |= mult[expect + l] == INT32_MIN;
        if (has_min) break;
        expect += 8;
      }
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < done; ++o) {
          const int32_t x = with_bias ? er_wrap_add32(c_ref[r * ld + o], bias32[o]) : c_ref[r * ld + o];
          const int32_t v = er_qc_clamp64((int64_t)er_qc_mul_upward(x, mult[o], shift[o]) + out_offset, lo, hi);
          y_ref[r * n8 + o] = (uint8_t)v;
        }
      snprintf(desc, sizeof desc, "rows=%ld n8=%ld u8=%d done=%ld expect=%ld", (long)rows, (long)n8, is_u8,
               (long)done, (long)expect);
      int ok = done == expect;
      for (int64_t r = 0; ok && r < rows; ++r)
        ok = memcmp(y_opt + r * n8, y_ref + r * n8, (size_t)done) == 0;
      if (ok)
        ++n_pass;
      else
        fail("qc requant_upward", idx, desc);
    }
    /* int8 dot-layout GEMM (and the other table of the same layout, SDOT beside SMMLA) */
    for (int t = 0; t < 1 + (qd2 != NULL); ++t) {
      const er_qd_ukernels *g = t ? qd2 : qd;
      const int64_t np = rnd_in(1, 11), k4 = 4 * rnd_in(1, 40), ocp = 8 * rnd_in(1, 6);
      const int64_t lda = k4 + 4 * rnd_in(0, 2), ldc = ocp + 8 * rnd_in(0, 1);
      fill8(xbuf, np * lda, (int)(rnd() % 3));
      fill8(wbuf, ocp * k4, (int)(rnd() % 3));
      memset(c_opt, 0x5A, sizeof(int32_t) * (size_t)(np * ldc + 8));
      memset(c_ref, 0x5A, sizeof(int32_t) * (size_t)(np * ldc + 8));
      g->gemm((const int8_t *)xbuf, np, lda, k4, (const int8_t *)wbuf, ocp, c_opt, ldc);
      er_qd_ukernels_portable.gemm((const int8_t *)xbuf, np, lda, k4, (const int8_t *)wbuf, ocp, c_ref, ldc);
      snprintf(desc, sizeof desc, "np=%ld k4=%ld ocp=%ld lda=%ld ldc=%ld", (long)np, (long)k4, (long)ocp, (long)lda,
               (long)ldc);
      cmp_i32(t ? "qd gemm (second table)" : "qd gemm", idx, c_opt, c_ref, np * ldc + 8, desc);
    }
  }
}

/* ================================ whole integer kernels ====================================================== */

/* int16 offset form GEMM panels [Np / 8][Kp / 2][8][2] (runtime/ops/conv_int.py _pack_gemm) */
static void pack_gemm16(const uint8_t *w, int is_u8, int32_t woff, int64_t N, int64_t K) {
  const int64_t kp = K + (K & 1), np = (N + 7) / 8 * 8;
  for (int64_t o = 0; o < np; ++o)
    for (int64_t k = 0; k < kp; ++k) {
      int16_t v = 0;
      if (o < N && k < K) v = (int16_t)((is_u8 ? (int32_t)w[o * K + k] : (int32_t)(int8_t)w[o * K + k]) + woff);
      packed16[((o / 8) * (kp / 2) + k / 2) * 16 + (o % 8) * 2 + (k % 2)] = v;
    }
}

/* depthwise tap pairs [ceil(T / 2)][Cp][2] (_pack_depthwise) */
static void pack_dw16(const uint8_t *w, int is_u8, int32_t woff, int64_t T, int64_t C) {
  const int64_t ntp = (T + 1) / 2, cp = (C + 7) / 8 * 8;
  for (int64_t t = 0; t < 2 * ntp; ++t)
    for (int64_t c = 0; c < cp; ++c) {
      int16_t v = 0;
      if (t < T && c < C) v = (int16_t)((is_u8 ? (int32_t)w[t * C + c] : (int32_t)(int8_t)w[t * C + c]) + woff);
      packed16[((t / 2) * cp + c) * 2 + (t % 2)] = v;
    }
}

/* dot layout (_pack_dot): Np corrections input_offset * sum_k w, then int8 panels [Np / 8][K4 / 4][8][4] */
static void pack_dot(const int8_t *w, int32_t input_offset, int64_t N, int64_t K) {
  const int64_t k4 = (K + 3) / 4 * 4, np = (N + 7) / 8 * 8;
  int8_t *panels = (int8_t *)(packed_dot + np);
  for (int64_t o = 0; o < np; ++o) {
    int64_t s = 0;
    for (int64_t k = 0; k < k4; ++k) {
      const int8_t v = o < N && k < K ? w[o * K + k] : 0;
      s += v;
      panels[((o / 8) * (k4 / 4) + k / 4) * 32 + (o % 8) * 4 + (k % 4)] = v;
    }
    packed_dot[o] = (int32_t)(uint32_t)(int64_t)(input_offset * s);
  }
}

typedef struct qsetup {
  er_qconv_params p;
  int is_u8, rmode;
} qsetup;

static void draw_quant(qsetup *q, int32_t n, int is_u8) {
  memset(q, 0, sizeof *q);
  q->is_u8 = is_u8;
  const int per_channel = !is_u8 && (rnd() & 1);
  const int big = rnd() % 5 == 0;
  for (int32_t i = 0; i < n; ++i) {
    if (i > 0 && !per_channel) {
      mult[i] = mult[0];
      shift[i] = shift[0];
      continue;
    }
    mult[i] = (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
    shift[i] = big ? rnd_in(-2, 8) : rnd_in(-14, -4);
    if (rnd() % 17 == 0) mult[i] = PICK(0x40000000, 0x7FFFFFFF);
    if (rnd() % 23 == 0) shift[i] = PICK(-31, 30, 0);
  }
  for (int32_t i = 0; i < n; ++i) bias32[i] = rnd() % 9 == 0 ? (int32_t)rnd() : rnd_in(-(1 << 18), 1 << 18);
  er_qconv_params *p = &q->p;
  p->multipliers = mult;
  p->shifts = shift;
  p->groups = 1;
  p->depth_multiplier = 1;
  if (is_u8) {
    p->input_offset = -rnd_in(0, 255);
    p->weight_offset = -rnd_in(0, 255);
    p->output_offset = rnd_in(0, 255);
    p->out_min = 0;
    p->out_max = 255;
  } else {
    p->input_offset = rnd() % 6 == 0 ? PICK(-127, 128, 0) : rnd_in(-127, 128);
    p->output_offset = rnd_in(-128, 127);
    p->out_min = -128;
    p->out_max = 127;
  }
  if (rnd() % 3 == 0) {
    p->out_min = rnd_in(p->out_min, p->output_offset);
    p->out_max = rnd_in(p->out_min, is_u8 ? 255 : 127);
  }
  p->rounding = PICK(ER_QC_RND_TFLITE, ER_QC_RND_UPWARD, ER_QC_RND_UPWARD8);
  q->rmode = (int)(rnd() & 1);
}

static void run_q(const char *what, int idx, er_kernel_fn opt, er_kernel_fn ref, qsetup *q, er_tensor *x,
                  er_tensor *w, er_tensor *b, er_tensor *y_o, er_tensor *y_r, int64_t opt_scratch, const char *desc) {
  er_tensor *in[3] = {x, w, b};
  er_tensor *out_o[1] = {y_o}, *out_r[1] = {y_r};
  er_op oo = {0, idx, b ? 3 : 2, 1, in, out_o, &q->p, scratch_opt, opt_scratch};
  er_op orf = {0, idx, b ? 3 : 2, 1, in, out_r, &q->p, scratch_ref, S_MAX};
  memset(y_opt, 0x5A, sizeof y_opt);
  memset(y_ref, 0x5A, sizeof y_ref);
  memset(scratch_opt, 0xA5, (size_t)(opt_scratch < S_MAX ? opt_scratch : S_MAX));
  er_set_rounding_mode(q->rmode);
  const int so = opt(&oo), sr = ref(&orf);
  er_set_rounding_mode(0);
  char d[500];
  if (so != ER_OK || sr != ER_OK) {
    snprintf(d, sizeof d, "status opt %d ref %d (%s)", so, sr, desc);
    fail(what, idx, d);
    return;
  }
  for (int64_t i = 0; i < y_r->count + GUARD; ++i)
    if (y_opt[i] != y_ref[i]) {
      snprintf(d, sizeof d, "%s at %ld: opt %d ref %d (%s; in_off=%d out_off=%d clamp=[%d,%d] rounding=%d mode=%d)",
               i < y_r->count ? "differs" : "wrote past the output", (long)i, y_opt[i], y_ref[i], desc,
               (int)q->p.input_offset, (int)q->p.output_offset, (int)q->p.out_min, (int)q->p.out_max,
               (int)q->p.rounding, q->rmode);
      fail(what, idx, d);
      return;
    }
  ++n_pass;
}

static void set_geo(er_qconv_params *p, const geo *g) {
  p->stride_h = g->sh, p->stride_w = g->sw, p->dil_h = g->dh, p->dil_w = g->dw, p->pad_top = g->pt;
  p->pad_left = g->pl;
}

/* CONV_2D: which = 0 s8 dot layout, 1 s8 int16 layout, 2 u8 int16 layout */
static void q_conv_case(int idx, int which) {
  geo g;
  draw_geo(&g, 0);
  const int is_u8 = which == 2;
  qsetup q;
  draw_quant(&q, g.OC, is_u8);
  set_geo(&q.p, &g);
  const int64_t K = (int64_t)g.KH * g.KW * g.C;
  const int32_t xt = is_u8 ? ER_UINT8 : ER_INT8;
  const int32_t xd[4] = {g.B, g.H, g.W, g.C}, wd[4] = {g.OC, g.KH, g.KW, g.C}, yd[4] = {g.B, g.OH, g.OW, g.OC};
  er_tensor x = tensor(xbuf, xt, 4, xd), w = tensor(wbuf, xt, 4, wd), b = tensor(bias32, ER_INT32, 1, &g.OC);
  er_tensor yo = tensor(y_opt, xt, 4, yd), yr = tensor(y_ref, xt, 4, yd);
  const int style = rnd() % 4 == 0 ? 1 + (int)(rnd() % 2) : 0;
  fill8(xbuf, x.count, style);
  fill8(wbuf, w.count, style);
  const int64_t ocp = (g.OC + 7) / 8 * 8;
  er_kernel_fn opt, ref = is_u8 ? er_u8_conv2d : er_s8_conv2d;
  int64_t scratch;
  if (which == 0) {
    pack_dot((const int8_t *)wbuf, q.p.input_offset, g.OC, K);
    q.p.w_packed = (const int16_t *)(const void *)packed_dot;
    q.p.k_padded = (int32_t)((K + 3) / 4 * 4);
    opt = er_s8_conv2d_dot;
    scratch = 32 * (q.p.k_padded + 4 * ocp) + 4 * ocp;
  } else {
    pack_gemm16(wbuf, is_u8, q.p.weight_offset, g.OC, K);
    q.p.w_packed = packed16;
    q.p.k_padded = (int32_t)(K + (K & 1));
    opt = is_u8 ? er_u8_conv2d_gemm : er_s8_conv2d_gemm;
    scratch = 32 * (2 * q.p.k_padded + 4 * ocp);
  }
  q.p.oc_padded = (int32_t)ocp;
  char desc[300];
  describe_geo(desc, sizeof desc, &g);
  const char *names[3] = {"s8_conv2d_dot", "s8_conv2d_gemm", "u8_conv2d_gemm"};
  run_q(names[which], idx, opt, ref, &q, &x, &w, rnd() % 4 ? &b : NULL, &yo, &yr, scratch, desc);
}

static void q_fc_case(int idx, int which) {
  const int32_t M = PICK(1, 2, 3, 4, 5, 7, 13, 33, 40), K = PICK(1, 2, 3, 4, 5, 8, 15, 16, 17, 33, 64, 257);
  const int32_t N = PICK(1, 3, 7, 8, 9, 16, 17, 24, 33, 40);
  const int is_u8 = which == 2;
  qsetup q;
  draw_quant(&q, N, is_u8);
  const int32_t xt = is_u8 ? ER_UINT8 : ER_INT8;
  const int32_t xd[2] = {M, K}, wd[2] = {N, K}, yd[2] = {M, N};
  er_tensor x = tensor(xbuf, xt, 2, xd), w = tensor(wbuf, xt, 2, wd), b = tensor(bias32, ER_INT32, 1, &N);
  er_tensor yo = tensor(y_opt, xt, 2, yd), yr = tensor(y_ref, xt, 2, yd);
  const int style = rnd() % 4 == 0 ? 1 + (int)(rnd() % 2) : 0;
  fill8(xbuf, x.count, style);
  fill8(wbuf, w.count, style);
  const int64_t np = (N + 7) / 8 * 8;
  er_kernel_fn opt, ref = is_u8 ? er_u8_fc : er_s8_fc;
  int64_t scratch;
  if (which == 0) {
    pack_dot((const int8_t *)wbuf, q.p.input_offset, N, K);
    q.p.w_packed = (const int16_t *)(const void *)packed_dot;
    q.p.k_padded = (K + 3) / 4 * 4;
    opt = er_s8_fc_dot;
    scratch = 32 * (q.p.k_padded + 4 * np) + 4 * np;
  } else {
    pack_gemm16(wbuf, is_u8, q.p.weight_offset, N, K);
    q.p.w_packed = packed16;
    q.p.k_padded = K + (K & 1);
    opt = is_u8 ? er_u8_fc_gemm : er_s8_fc_gemm;
    scratch = 32 * (2 * q.p.k_padded + 4 * np);
  }
  q.p.oc_padded = (int32_t)np;
  char desc[100];
  snprintf(desc, sizeof desc, "M=%d K=%d N=%d", (int)M, (int)K, (int)N);
  const char *names[3] = {"s8_fc_dot", "s8_fc_gemm", "u8_fc_gemm"};
  run_q(names[which], idx, opt, ref, &q, &x, &w, rnd() % 4 ? &b : NULL, &yo, &yr, scratch, desc);
}

static void q_dw_case(int idx, int is_u8) {
  geo g;
  draw_geo(&g, 1);
  qsetup q;
  draw_quant(&q, g.OC, is_u8);
  set_geo(&q.p, &g);
  const int32_t xt = is_u8 ? ER_UINT8 : ER_INT8;
  const int32_t xd[4] = {g.B, g.H, g.W, g.C}, wd[4] = {1, g.KH, g.KW, g.OC}, yd[4] = {g.B, g.OH, g.OW, g.OC};
  er_tensor x = tensor(xbuf, xt, 4, xd), w = tensor(wbuf, xt, 4, wd), b = tensor(bias32, ER_INT32, 1, &g.OC);
  er_tensor yo = tensor(y_opt, xt, 4, yd), yr = tensor(y_ref, xt, 4, yd);
  const int style = rnd() % 4 == 0 ? 1 + (int)(rnd() % 2) : 0;
  fill8(xbuf, x.count, style);
  fill8(wbuf, w.count, style);
  const int64_t T = (int64_t)g.KH * g.KW, ntp = (T + 1) / 2, cp = (g.C + 7) / 8 * 8;
  pack_dw16(wbuf, is_u8, q.p.weight_offset, T, g.C);
  q.p.w_packed = packed16;
  q.p.k_padded = (int32_t)(2 * ntp);
  q.p.oc_padded = (int32_t)cp;
  char desc[300];
  describe_geo(desc, sizeof desc, &g);
  run_q(is_u8 ? "u8_dwconv2d_vec" : "s8_dwconv2d_vec", idx, is_u8 ? er_u8_dwconv2d_vec : er_s8_dwconv2d_vec,
        is_u8 ? er_u8_dwconv2d : er_s8_dwconv2d, &q, &x, &w, rnd() % 4 ? &b : NULL, &yo, &yr,
        16 * ntp + 4 * cp * g.OW + g.C, desc);
}

/* ================================ whole-op NEON kernels (er_op_kernels_neon) ================== */
#if ER_HAVE_NEON_UKERNELS
#include "neon/fixedpoint_neon.h"

static uint8_t ya[Y_MAX + GUARD], yb[Y_MAX + GUARD];

/* qn_rq_apply (fixedpoint_neon.h) lane by lane against er_mul_by_quantized_multiplier / _lt1 on edge values,
 * shifts -31..30 (right shifts 0..31), both rounding modes; then er_requant_s8__neon against the scalar form */
static void requant_case(int idx) {
  static const int32_t edge[] = {INT32_MIN, INT32_MIN + 1, -65536, -32769, -32768, -3, -2, -1, 0, 1, 2, 3, 32767,
                                 32768, 65535, INT32_MAX - 1, INT32_MAX, 0x40000000, -0x40000000};
  const int mode = (int)(rnd() & 1), lt1 = (int)(rnd() & 1);
  const int32_t m = rnd() % 5 == 0 ? PICK(0x40000000, 0x7FFFFFFF, 0x40000001, 0x55555555, INT32_MIN)
                                   : (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
  int32_t s = rnd_in(-31, mode ? 30 : 31);
  if (lt1 && s > 0) s = -s;
  if (m == INT32_MIN && mode) s = rnd_in(-31, 0); /* single rounding: |x * m| < 2^62 either way */
  int32_t in[64], got[64], want[64];
  for (int i = 0; i < 64; ++i) in[i] = i < 19 ? edge[i] : rnd() % 3 ? (int32_t)rnd() >> rnd_in(0, 31) : (int32_t)rnd();
  er_rounding_mode = mode;
  const qn_rq q = qn_rq_init(m, s, lt1);
  for (int i = 0; i < 64; i += 4) vst1q_s32(got + i, qn_rq_apply(vld1q_s32(in + i), &q));
  for (int i = 0; i < 64; ++i)
    want[i] = lt1 ? er_mul_by_quantized_multiplier_lt1(in[i], m, s) : er_mul_by_quantized_multiplier(in[i], m, s);
  char desc[160];
  snprintf(desc, sizeof desc, "mode=%d lt1=%d mult=%ld shift=%ld", mode, lt1, (long)m, (long)s);
  cmp_i32("requant lanes", idx, got, want, 64, desc);
  /* to int8 */
  const int64_t n = rnd_in(1, 61);
  const int32_t off = rnd_in(-128, 127), lo = rnd_in(-128, 0), hi = rnd_in(lo, 127);
  memset(ya, 0x5A, (size_t)n + 8);
  memset(yb, 0x5A, (size_t)n + 8);
  if (m != INT32_MIN || !mode) {
    er_requant_s8__neon(in + (64 - n), n, m, s, off, lo, hi, (int8_t *)ya);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = (int64_t)er_mul_by_quantized_multiplier(in[64 - n + i], m, s) + off;
      yb[i] = (uint8_t)(int8_t)(v < lo ? lo : v > hi ? hi : v);
    }
  }
  er_rounding_mode = 0;
  if (memcmp(ya, yb, (size_t)n + 8) == 0)
    ++n_pass;
  else
    fail("requant s8", idx, desc);
}

static int cmp_bytes(const char *what, int idx, int64_t n, const char *desc) {
  for (int64_t i = 0; i < n + GUARD; ++i)
    if (ya[i] != yb[i]) {
      char d[400];
      snprintf(d, sizeof d, "at %ld: %d vs reference %d (%s)", (long)i, ya[i], yb[i], desc);
      fail(what, idx, d);
      return 0;
    }
  ++n_pass;
  return 1;
}

/* int8/uint8 ADD, SUB, MUL with broadcasting against kernels/ref/q_elementwise.c, both rounding modes */
static void q_binary_case(int idx) {
  const int op_kind = PICK(ER_QB_ADD, ER_QB_ADD, ER_QB_SUB, ER_QB_MUL), is_u8 = (int)(rnd() % 3 == 0);
  const int type = is_u8 ? ER_UINT8 : ER_INT8;
  const int nd = rnd_in(1, 4);
  int32_t yd[4], ad[4], bd[4];
  int64_t total = 1;
  for (int i = 0; i < nd; ++i) {
    yd[i] = total > 1000 ? PICK(1, 2, 3) : PICK(1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33);
    total *= yd[i];
  }
  if (nd == 1 && rnd() % 2) yd[0] = rnd_in(1, 300);
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
  er_tensor a = tensor(xbuf, type, na, ad), b = tensor(wbuf, type, nb, bd);
  er_tensor y0 = tensor(ya, type, nd, yd), y1 = tensor(yb, type, nd, yd);
  fill8(xbuf, a.count, (int)(rnd() % 4 == 0));
  fill8(wbuf, b.count, (int)(rnd() % 4 == 0) * 2);
  er_q_binary_params p;
  memset(&p, 0, sizeof p);
  p.op = op_kind;
  p.left_shift = rnd() % 4 ? 20 : rnd_in(0, 23);
  p.in1_offset = is_u8 ? -rnd_in(0, 255) : -rnd_in(-128, 127);
  p.in2_offset = is_u8 ? -rnd_in(0, 255) : -rnd_in(-128, 127);
  p.in1_mult = (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu)), p.in1_shift = rnd_in(-12, 0);
  p.in2_mult = (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu)), p.in2_shift = rnd_in(-12, 0);
  p.out_mult = (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
  p.out_shift = op_kind == ER_QB_MUL ? rnd_in(-16, 2) : rnd_in(-p.left_shift - 4, 0);
  p.out_offset = is_u8 ? rnd_in(0, 255) : rnd_in(-128, 127);
  p.act_min = is_u8 ? 0 : -128, p.act_max = is_u8 ? 255 : 127;
  if (rnd() % 3 == 0) p.act_min = rnd_in(p.act_min, p.out_offset), p.act_max = rnd_in(p.act_min, p.act_max);
  er_rounding_mode = (int)(rnd() % 3 == 0);
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
  char desc[200];
  snprintf(desc, sizeof desc, "op=%d u8=%d rank=%d style=%d n=%ld rmode=%d status %d/%d", op_kind, is_u8, nd, style,
           (long)y0.count, er_rounding_mode, s0, s1);
  er_rounding_mode = 0;
  if (s0 != s1)
    fail("q_binary", idx, desc);
  else
    cmp_bytes("q_binary", idx, y0.count, desc);
}

/* pooling geometry shared by the int and float cases */
static void draw_pool(er_pool_params *p, int32_t *xd, int32_t *yd) {
  memset(p, 0, sizeof *p);
  const int big = rnd() % 8 == 0; /* windows past 256 taps (the int8 average's 32-bit sums) */
  xd[0] = rnd_in(1, 2), xd[1] = big ? rnd_in(17, 22) : rnd_in(1, 12), xd[2] = big ? rnd_in(17, 20) : rnd_in(1, 12);
  xd[3] = PICK(1, 3, 4, 7, 8, 9, 15, 16, 17, 24, 33);
  p->filter_h = big ? xd[1] : rnd_in(1, 5), p->filter_w = big ? xd[2] : rnd_in(1, 5);
  p->stride_h = rnd_in(1, 3), p->stride_w = rnd_in(1, 3);
  const int style = (int)(rnd() & 1);
  int32_t oh, ow, pt, pl;
  if (!geometry(xd[1], p->filter_h, p->stride_h, 1, style, &oh, &pt) ||
      !geometry(xd[2], p->filter_w, p->stride_w, 1, style, &ow, &pl))
  { /* an empty VALID output: 1x1 SAME instead */
    p->filter_h = p->filter_w = 1;
    geometry(xd[1], 1, p->stride_h, 1, 0, &oh, &pt);
    geometry(xd[2], 1, p->stride_w, 1, 0, &ow, &pl);
  }
  p->pad_top = pt, p->pad_left = pl;
  yd[0] = xd[0], yd[1] = oh, yd[2] = ow, yd[3] = xd[3];
}

static void q_pool_case(int idx, int avg) {
  er_pool_params p;
  int32_t xd[4], yd[4];
  draw_pool(&p, xd, yd);
  const int is_u8 = (int)(rnd() & 1), type = is_u8 ? ER_UINT8 : ER_INT8;
  p.out_min = is_u8 ? 0 : -128, p.out_max = is_u8 ? 255 : 127;
  if (rnd() % 3 == 0) p.out_min = rnd_in(p.out_min, p.out_max), p.out_max = rnd_in(p.out_min, p.out_max);
  er_tensor x = tensor(xbuf, type, 4, xd), y0 = tensor(ya, type, 4, yd), y1 = tensor(yb, type, 4, yd);
  fill8(xbuf, x.count, (int)(rnd() % 3));
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
  char desc[200];
  snprintf(desc, sizeof desc, "%s u8=%d x=%dx%dx%dx%d f=%dx%d s=%dx%d pad=%d,%d status %d/%d", avg ? "avg" : "max",
           is_u8,
           xd[0], xd[1], xd[2], xd[3], p.filter_h, p.filter_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left, s0, s1);
  if (s0 != s1)
    fail("q_pool", idx, desc);
  else
    cmp_bytes(avg ? "q_avgpool2d" : "q_maxpool2d", idx, y0.count, desc);
}

static void f_pool_case(int idx, int avg) {
  er_pool_params p;
  int32_t xd[4], yd[4];
  draw_pool(&p, xd, yd);
  p.act_min = -FLT_MAX, p.act_max = FLT_MAX;
  if (rnd() % 2) p.act_min = 0.0f, p.act_max = rnd() % 2 ? 6.0f : FLT_MAX;
  er_tensor x = tensor(fx, ER_FLOAT32, 4, xd);
  er_tensor y0 = tensor(fy_opt, ER_FLOAT32, 4, yd), y1 = tensor(fy_ref, ER_FLOAT32, 4, yd);
  for (int64_t i = 0; i < x.count; ++i) fx[i] = rndf();
  er_tensor *in[1] = {&x}, *out0[1] = {&y0}, *out1[1] = {&y1};
  er_op op;
  memset(&op, 0, sizeof op);
  op.params = &p, op.n_in = 1, op.n_out = 1, op.in = in;
  memset(fy_opt, 0x5A, sizeof fy_opt);
  memset(fy_ref, 0x5A, sizeof fy_ref);
  op.out = out0;
  const int s0 = avg ? er_op_kernels_selected->f32_avgpool2d(&op) : er_op_kernels_selected->f32_maxpool2d(&op);
  op.out = out1;
  const int s1 = avg ? er_f32_avgpool2d(&op) : er_f32_maxpool2d(&op);
  char desc[200];
  snprintf(desc, sizeof desc, "%s x=%dx%dx%dx%d f=%dx%d s=%dx%d status %d/%d", avg ? "avg" : "max", xd[0], xd[1], xd[2],
           xd[3], p.filter_h, p.filter_w, p.stride_h, p.stride_w, s0, s1);
  /* the same steps per lane: equal bit for bit */
  if (s0 != s1 || memcmp(fy_opt, fy_ref, sizeof(float) * (size_t)(y0.count + GUARD)) != 0)
    fail(avg ? "f32_avgpool2d" : "f32_maxpool2d", idx, desc);
  else
    ++n_pass;
}

static void q_softmax_case(int idx) {
  er_q_softmax_params p;
  memset(&p, 0, sizeof p);
  p.rows = rnd_in(1, 5), p.depth = PICK(1, 2, 3, 4, 7, 8, 9, 10, 15, 16, 17, 33, 100, 1001);
  const int is_u8 = (int)(rnd() % 3 == 0), out_u8 = rnd() % 3 == 0 ? !is_u8 : is_u8;
  p.beta = rnd() % 2 ? 1.0f : (float)rnd_in(1, 40) / 10.0f;
  p.input_scale = (float)rnd_in(1, 500) / 1000.0f;
  p.output_scale = rnd() % 3 ? 1.0f / 256.0f : (float)rnd_in(1, 100) / 5000.0f;
  p.output_zp = out_u8 ? 0 : rnd() % 3 ? -128 : rnd_in(-128, 127);
  int32_t d[2] = {(int32_t)p.rows, (int32_t)p.depth};
  er_tensor x = tensor(xbuf, is_u8 ? ER_UINT8 : ER_INT8, 2, d);
  er_tensor y0 = tensor(ya, out_u8 ? ER_UINT8 : ER_INT8, 2, d), y1 = tensor(yb, out_u8 ? ER_UINT8 : ER_INT8, 2, d);
  fill8(xbuf, x.count, (int)(rnd() % 4 == 0));
  er_tensor *in[1] = {&x}, *out0[1] = {&y0}, *out1[1] = {&y1};
  er_op op;
  memset(&op, 0, sizeof op);
  op.params = &p, op.n_in = 1, op.n_out = 1, op.in = in, op.scratch = scratch_opt, op.scratch_bytes = 1024;
  memset(ya, 0x5A, sizeof ya);
  memset(yb, 0x5A, sizeof yb);
  op.out = out0;
  const int s0 = er_op_kernels_selected->q_softmax(&op);
  op.out = out1, op.scratch = scratch_ref;
  const int s1 = er_q_softmax(&op);
  char desc[200];
  snprintf(desc, sizeof desc, "rows=%ld depth=%ld u8=%d/%d beta=%g in_scale=%g out_scale=%g zp=%d status %d/%d",
           (long)p.rows, (long)p.depth, is_u8, out_u8, p.beta, p.input_scale, p.output_scale, (int)p.output_zp, s0, s1);
  if (s0 != s1)
    fail("q_softmax", idx, desc);
  else
    cmp_bytes("q_softmax", idx, y0.count, desc);
}

static double softmax_worst; /* over all cases, printed */

static void f_softmax_case(int idx) {
  er_softmax_params p;
  memset(&p, 0, sizeof p);
  p.rows = rnd_in(1, 5), p.depth = PICK(1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 100, 1001);
  p.beta = rnd() % 2 ? 1.0f : (float)rnd_in(1, 40) / 10.0f;
  const float spread = (float)PICK(1, 5, 20, 50);
  int32_t d[2] = {(int32_t)p.rows, (int32_t)p.depth};
  er_tensor x = tensor(fx, ER_FLOAT32, 2, d);
  er_tensor y0 = tensor(fy_opt, ER_FLOAT32, 2, d), y1 = tensor(fy_ref, ER_FLOAT32, 2, d);
  for (int64_t i = 0; i < x.count; ++i) fx[i] = rndf() * spread;
  er_tensor *in[1] = {&x}, *out0[1] = {&y0}, *out1[1] = {&y1};
  er_op op;
  memset(&op, 0, sizeof op);
  op.params = &p, op.n_in = 1, op.n_out = 1, op.in = in;
  op.out = out0;
  const int s0 = er_op_kernels_selected->f32_softmax(&op);
  op.out = out1;
  const int s1 = er_f32_softmax(&op);
  double worst = 0.0;
  for (int64_t i = 0; i < x.count; ++i) {
    const double a = fy_opt[i], b = fy_ref[i], m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    const double e = m < 1e-30 ? 0.0 : fabs(a - b) / m;
    if (!(e <= worst)) worst = e; /* NaN too */
  }
  if (worst > softmax_worst) softmax_worst = worst;
  char desc[200];
  snprintf(desc, sizeof desc, "rows=%ld depth=%ld beta=%g spread=%g worst rel %.3g status %d/%d", (long)p.rows,
           (long)p.depth, p.beta, spread, worst, s0, s1);
  if (s0 != s1 || !(worst <= 1e-6))
    fail("f32_softmax", idx, desc);
  else
    ++n_pass;
}

/* float ADD, SUB, MUL, MAXIMUM, MINIMUM with broadcasting against kernels/ref/binary.c, bit for bit (no
 * subnormals in the data: ARMv7's NEON would flush them) */
static void f_binary_case(int idx) {
  const int kind = PICK(ER_BIN_ADD, ER_BIN_SUB, ER_BIN_MUL, ER_BIN_MAX, ER_BIN_MIN);
  const int nd = rnd_in(1, 4);
  int32_t yd[4], ad[4], bd[4];
  int64_t total = 1;
  for (int i = 0; i < nd; ++i) {
    yd[i] = total > 1000 ? PICK(1, 2, 3) : PICK(1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33);
    total *= yd[i];
  }
  if (nd == 1 && rnd() % 2) yd[0] = rnd_in(1, 300);
  int na = nd, nb = nd;
  for (int i = 0; i < nd; ++i) ad[i] = bd[i] = yd[i];
  const int style = (int)(rnd() % 4); /* 0 same shape, 1 b scalar, 2 b broadcast dims, 3 a lower rank */
  if (style == 1) nb = 0;
  if (style == 2)
    for (int i = 0; i < nd; ++i) bd[i] = rnd() % 2 ? 1 : yd[i];
  if (style == 3) {
    na = rnd_in(0, nd);
    for (int i = 0; i < na; ++i) ad[i] = yd[nd - na + i];
  }
  er_tensor a = tensor(fx, ER_FLOAT32, na, ad), b = tensor(fw, ER_FLOAT32, nb, bd);
  er_tensor y0 = tensor(fy_opt, ER_FLOAT32, nd, yd), y1 = tensor(fy_ref, ER_FLOAT32, nd, yd);
  for (int64_t i = 0; i < a.count; ++i) fx[i] = rndf();
  for (int64_t i = 0; i < b.count; ++i) fw[i] = rnd() % 16 ? rndf() : fx[i % a.count]; /* some ties */
  if (rnd() % 8 == 0) fx[0] = NAN;
  er_binary_params p;
  memset(&p, 0, sizeof p);
  p.op = kind, p.act_min = -FLT_MAX, p.act_max = FLT_MAX;
  if (rnd() % 2) p.act_min = rnd() % 2 ? 0.0f : -1.0f, p.act_max = rnd() % 2 ? 6.0f : 1.0f;
  er_tensor *in[2] = {&a, &b}, *out0[1] = {&y0}, *out1[1] = {&y1};
  er_op op;
  memset(&op, 0, sizeof op);
  op.params = &p, op.n_in = 2, op.n_out = 1, op.in = in;
  memset(fy_opt, 0x5A, sizeof fy_opt);
  memset(fy_ref, 0x5A, sizeof fy_ref);
  op.out = out0;
  const int s0 = er_op_kernels_selected->f32_binary(&op);
  op.out = out1;
  const int s1 = er_f32_binary(&op);
  char desc[200];
  snprintf(desc, sizeof desc, "op=%d rank=%d style=%d n=%ld status %d/%d", kind, nd, style, (long)y0.count, s0, s1);
  if (s0 != s1 || memcmp(fy_opt, fy_ref, sizeof(float) * (size_t)(y0.count + GUARD)) != 0)
    fail("f32_binary", idx, desc);
  else
    ++n_pass;
}

static void op_cases(int n) {
  for (int i = 0; i < n; ++i) {
    requant_case(i);
    q_binary_case(i);
    q_pool_case(i, 0);
    q_pool_case(i, 1);
    f_pool_case(i, 0);
    f_pool_case(i, 1);
    q_softmax_case(i);
    f_softmax_case(i);
    f_binary_case(i);
  }
}
#endif

/* ================================ bench =================================================================== */

__attribute__((noinline)) void er_neon_mark(void) { __asm__ volatile("" ::: "memory"); }

#define BENCH_SDOT 100 /* bench "neon-sdot": neon-dotprod with the SDOT GEMM even where SMMLA is selected */

static int bench(const char *layer, int isa, int reps) {
  const int sdot = isa == BENCH_SDOT;
  if (sdot) isa = ER_HOST_ISA_NEON_DOTPROD;
  if (er_select_isa(isa) != ER_OK) {
    printf("isa %d not supported\n", isa);
    return 2;
  }
#if ER_HAVE_NEON_DOTPROD_UKERNELS
  if (sdot) er_qd_selected = &er_qd_ukernels_neon_dotprod;
#endif
  if (!strcmp(layer, "qgemm")) { /* the dot-layout GEMM micro-kernel alone: 32 rows x 256 k x 64 channels */
    fill8(xbuf, 32 * 256, 0);
    fill8(wbuf, 64 * 256, 0);
    er_neon_mark();
    for (int r = 0; r < reps; ++r)
      er_qd_selected->gemm((const int8_t *)xbuf, 32, 256, 256, (const int8_t *)wbuf, 64, c_opt, 64);
    er_neon_mark();
    printf("bench %s isa=%d reps=%d\n", layer, isa, reps);
    return 0;
  }
  const int32_t H = 25, W = 5, C = 64;
  geo g = {1, H, W, C, C, 1, 1, 1, 1, 1, 1, 0, 0, H, W, 1};
  const int dw = strstr(layer, "dw3x3") != NULL;
  if (dw) g.KH = g.KW = 3, g.pt = g.pl = 1;
  const int32_t xd[4] = {1, H, W, C}, yd[4] = {1, H, W, C};
  const int32_t wd[4] = {dw ? 1 : C, g.KH, g.KW, C};
  er_op op;
  memset(&op, 0, sizeof op);
  er_tensor x, w, b, y;
  er_tensor *in[3] = {&x, &w, &b}, *out[1] = {&y};
  er_conv_params fp;
  qsetup q;
  memset(&fp, 0, sizeof fp);
  er_kernel_fn fn;
  if (layer[0] == 'q') {
    draw_quant(&q, C, 0);
    set_geo(&q.p, &g);
    q.p.rounding = dw ? ER_QC_RND_UPWARD8 : ER_QC_RND_UPWARD;
    q.rmode = 0;
    x = tensor(xbuf, ER_INT8, 4, xd), w = tensor(wbuf, ER_INT8, 4, wd), y = tensor(y_opt, ER_INT8, 4, yd);
    b = tensor(bias32, ER_INT32, 1, &C);
    fill8(xbuf, x.count, 0);
    fill8(wbuf, w.count, 0);
    if (dw) {
      pack_dw16(wbuf, 0, 0, 9, C);
      q.p.w_packed = packed16, q.p.k_padded = 10, q.p.oc_padded = C;
      fn = isa == ER_HOST_ISA_REF ? er_s8_dwconv2d : er_s8_dwconv2d_vec;
    } else if (isa == ER_HOST_ISA_NEON || isa == ER_HOST_ISA_NEON_DOTPROD) {
      pack_dot((const int8_t *)wbuf, q.p.input_offset, C, C);
      q.p.w_packed = (const int16_t *)(const void *)packed_dot, q.p.k_padded = C, q.p.oc_padded = C;
      fn = er_s8_conv2d_dot;
    } else {
      pack_gemm16(wbuf, 0, 0, C, C);
      q.p.w_packed = packed16, q.p.k_padded = C, q.p.oc_padded = C;
      fn = isa == ER_HOST_ISA_REF ? er_s8_conv2d : er_s8_conv2d_gemm;
    }
    op.params = &q.p;
  } else {
    fp.stride_h = fp.stride_w = fp.dil_h = fp.dil_w = 1;
    fp.pad_top = fp.pad_left = g.pt;
    fp.groups = fp.depth_multiplier = 1;
    fp.act_min = 0.0f, fp.act_max = 6.0f;
    x = tensor(fx, ER_FLOAT32, 4, xd), w = tensor(fw, ER_FLOAT32, 4, wd), y = tensor(fy_opt, ER_FLOAT32, 4, yd);
    b = tensor(fb, ER_FLOAT32, 1, &C);
    for (int64_t i = 0; i < x.count; ++i) fx[i] = rndf();
    for (int64_t i = 0; i < w.count; ++i) fw[i] = rndf();
    for (int32_t i = 0; i < C; ++i) fb[i] = rndf();
    if (dw) {
      fp.packed_b = fb;
      fn = isa == ER_HOST_ISA_REF ? er_f32_dwconv2d : er_f32_dwconv2d_fast;
    } else {
      pack_f32(fw, fb, C, C);
      fp.packed_w = fpacked, fp.packed_b = fbias_packed, fp.rows = 12;
      fn = isa == ER_HOST_ISA_REF ? er_f32_conv2d : er_f32_conv2d_fast;
    }
    op.params = &fp;
  }
  op.n_in = 3, op.n_out = 1, op.in = in, op.out = out, op.scratch = scratch_opt, op.scratch_bytes = S_MAX;
  int st = ER_OK;
  er_neon_mark();
  for (int r = 0; r < reps; ++r) st |= fn(&op);
  er_neon_mark();
  printf("bench %s isa=%d reps=%d status=%d\n", layer, isa, reps, st);
  return st != ER_OK;
}

/* the whole-op kernels: qadd / fadd (int8 ADD / float ADD + RELU6 of two 25x5x64 tensors), qmaxpool /
 * qavgpool (int8 3x3 stride 1 SAME pooling over 25x5x64), fmaxpool / favgpool (the float ones), qsoftmax /
 * fsoftmax (one row of 1000), requant (8000 int32 accumulators to int8); ISA ref: the reference kernel, neon:
 * the selected NEON form */
static int bench_op(const char *layer, int isa, int reps) {
  if (er_select_isa(isa == ER_HOST_ISA_REF ? ER_HOST_ISA_REF : ER_HOST_ISA_NEON) != ER_OK) return 2;
  const er_op_kernels *k = isa == ER_HOST_ISA_REF ? &er_op_kernels_ref : er_op_kernels_selected;
  int32_t d4[4] = {1, 25, 5, 64}, d2[2] = {1, 1000};
  er_tensor a = tensor(xbuf, ER_INT8, 4, d4), b = tensor(wbuf, ER_INT8, 4, d4), y = tensor(y_opt, ER_INT8, 4, d4);
  er_tensor *in[2] = {&a, &b}, *out[1] = {&y};
  er_op op;
  memset(&op, 0, sizeof op);
  op.n_in = 2, op.n_out = 1, op.in = in, op.out = out, op.scratch = scratch_opt, op.scratch_bytes = S_MAX;
  fill8(xbuf, 8000, 0);
  fill8(wbuf, 8000, 0);
  for (int i = 0; i < 8000; ++i) fx[i] = rndf(), fw[i] = rndf(), c_ref[i] = (int32_t)rnd() >> 12;
  er_q_binary_params qb = {ER_QB_ADD, 0, 20, 3, 1623821475, -10, -5, 1809844388, -10, -7, 1256307600, -19, -128,
                           127};
  er_pool_params pp = {3, 3, 1, 1, 1, 1, -FLT_MAX, FLT_MAX, -128, 127};
  er_q_softmax_params qs;
  er_softmax_params fs;
  memset(&qs, 0, sizeof qs);
  memset(&fs, 0, sizeof fs);
  qs.rows = 1, qs.depth = 1000, qs.beta = 1.0f, qs.input_scale = 0.1f, qs.output_scale = 1.0f / 256;
  qs.output_zp = -128;
  fs.rows = 1, fs.depth = 1000, fs.beta = 1.0f;
  er_kernel_fn fn = NULL;
  er_binary_params fb = {ER_BIN_ADD, 0.0f, 6.0f, 0, 0};
  if (!strcmp(layer, "qadd")) op.params = &qb, fn = k->q_binary;
  if (!strcmp(layer, "fadd")) {
    a = tensor(fx, ER_FLOAT32, 4, d4), b = tensor(fw, ER_FLOAT32, 4, d4), y = tensor(fy_opt, ER_FLOAT32, 4, d4);
    op.params = &fb, fn = k->f32_binary;
  }
  if (!strcmp(layer, "qmaxpool")) op.params = &pp, op.n_in = 1, fn = k->q_maxpool2d;
  if (!strcmp(layer, "qavgpool")) op.params = &pp, op.n_in = 1, fn = k->q_avgpool2d;
  if (!strcmp(layer, "fmaxpool") || !strcmp(layer, "favgpool")) {
    a = tensor(fx, ER_FLOAT32, 4, d4), y = tensor(fy_opt, ER_FLOAT32, 4, d4);
    op.params = &pp, op.n_in = 1, fn = layer[1] == 'm' ? k->f32_maxpool2d : k->f32_avgpool2d;
  }
  if (!strcmp(layer, "qsoftmax")) {
    a = tensor(xbuf, ER_INT8, 2, d2), y = tensor(y_opt, ER_INT8, 2, d2);
    op.params = &qs, op.n_in = 1, fn = k->q_softmax;
  }
  if (!strcmp(layer, "fsoftmax")) {
    a = tensor(fx, ER_FLOAT32, 2, d2), y = tensor(fy_opt, ER_FLOAT32, 2, d2);
    op.params = &fs, op.n_in = 1, fn = k->f32_softmax;
  }
  int st = ER_OK;
  if (!strcmp(layer, "requant")) {
    er_neon_mark();
    for (int r = 0; r < reps; ++r) {
      if (isa == ER_HOST_ISA_REF)
        for (int i = 0; i < 8000; ++i) {
          const int64_t v = (int64_t)er_mul_by_quantized_multiplier(c_ref[i], 1256307600, -9) - 3;
          ((int8_t *)y_opt)[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
        }
      else
        er_requant_s8__neon(c_ref, 8000, 1256307600, -9, -3, -128, 127, (int8_t *)y_opt);
    }
    er_neon_mark();
  } else {
    if (!fn) return 2;
    er_neon_mark();
    for (int r = 0; r < reps; ++r) st |= fn(&op);
    er_neon_mark();
  }
  printf("bench %s isa=%d reps=%d status=%d\n", layer, isa, reps, st);
  return st != ER_OK;
}

static int isa_id(const char *name) {
  if (!strcmp(name, "ref")) return ER_HOST_ISA_REF;
  if (!strcmp(name, "portable")) return ER_HOST_ISA_PORTABLE;
  if (!strcmp(name, "neon")) return ER_HOST_ISA_NEON;
  if (!strcmp(name, "neon-dotprod")) return ER_HOST_ISA_NEON_DOTPROD;
  if (!strcmp(name, "neon-sdot")) return BENCH_SDOT;
  return -1;
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "bench")) {
    static const char *const ops[] = {"qadd",     "fadd",     "qmaxpool", "qavgpool", "fmaxpool",
                                      "favgpool", "qsoftmax", "fsoftmax", "requant"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; ++i)
      if (!strcmp(argv[2], ops[i])) return bench_op(argv[2], isa_id(argv[3]), atoi(argv[4]));
    return bench(argv[2], isa_id(argv[3]), atoi(argv[4]));
  }
  const int n = argc > 1 ? atoi(argv[1]) : 150; /* random cases per kernel and ISA */
  const int bits = er_host_isa_supported();
  const int has_neon = bits >> ER_HOST_ISA_NEON & 1, has_dot = bits >> ER_HOST_ISA_NEON_DOTPROD & 1;
  printf("cpu neon=%d dotprod=%d\n", has_neon, has_dot);
  if (!has_neon) {
    printf("0 passed, 1 failed\n");
    return 1;
  }
  er_select_isa(has_dot ? ER_HOST_ISA_NEON_DOTPROD : ER_HOST_ISA_NEON);
  int path_ok = 1, has_i8mm = 0;
#if ER_HAVE_NEON_DOTPROD_UKERNELS
  has_i8mm = er_host_has_i8mm();
  printf("cpu i8mm=%d\n", has_i8mm);
  printf("path=%s\n", er_qd_selected == &er_qd_ukernels_neon_i8mm      ? "smmla"
                       : er_qd_selected == &er_qd_ukernels_neon_dotprod ? "sdot"
                                                                        : "smull");
  path_ok = er_qd_selected == (!has_dot    ? &er_qd_ukernels_neon
                               : has_i8mm ? &er_qd_ukernels_neon_i8mm
                                          : &er_qd_ukernels_neon_dotprod);
#else
  printf("cpu i8mm=0\npath=smull\n");
  (void)has_i8mm;
#endif
  if (path_ok)
    ++n_pass;
  else
    fail("selection", 0, "the selected dot-layout GEMM does not match the CPU's features");
  const int isas[2] = {ER_HOST_ISA_NEON, ER_HOST_ISA_NEON_DOTPROD};
  for (int s = 0; s < 1 + has_dot; ++s) {
    er_select_isa(isas[s]);
    isa_name = s ? "neon-dotprod" : "neon";
    const int before = n_pass + n_fail;
    /* the selected dot-layout GEMM, and SDOT beside it when SMMLA is the one selected */
#if ER_HAVE_NEON_DOTPROD_UKERNELS
    ukernel_cases(&er_qc_ukernels_neon, er_qd_selected, s && has_i8mm ? &er_qd_ukernels_neon_dotprod : NULL, n);
#else
    ukernel_cases(&er_qc_ukernels_neon, er_qd_selected, NULL, n);
#endif
    for (int i = 0; i < n; ++i) {
      f32_conv_case(i);
      f32_dw_case(i);
      f32_fc_case(i);
      for (int which = 0; which < 3; ++which) {
        q_conv_case(i, which);
        q_fc_case(i, which);
      }
      q_dw_case(i, 0);
      q_dw_case(i, 1);
    }
    printf("isa %s: %d checks\n", isa_name, n_pass + n_fail - before);
  }
  /* the whole-op kernels (no dot product in them): once, under neon */
  er_select_isa(ER_HOST_ISA_NEON);
  isa_name = "neon ops";
  const int before = n_pass + n_fail;
  if (er_op_kernels_selected == &er_op_kernels_neon)
    ++n_pass;
  else
    fail("selection", 0, "the neon ISA does not select the NEON whole-op kernels");
  op_cases(n);
  printf("isa %s: %d checks (f32_softmax worst relative difference %.3g)\n", isa_name, n_pass + n_fail - before,
         softmax_worst);
  printf("%d passed, %d failed\n", n_pass, n_fail);
  return n_fail ? 1 : 0;
}
