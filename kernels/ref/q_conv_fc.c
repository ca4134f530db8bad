/* Integer FULLY_CONNECTED (int8, uint8, int16x8; per-tensor or per-channel weights) and BATCH_MATMUL
 * (int8, int16; both operands activations with broadcast batches and adjoint flags; int8 x int8 may also
 * produce the raw int32 accumulators, which LiteRT computes without zero points). Bit-exact with LiteRT's
 * builtin kernels; requantization as in q_conv.c. */
#include <string.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint_conv.h"
#include "edgerun/isa.h"

/* FULLY_CONNECTED: input flattened to [M, K], weights [N, K], output [M, N]. One row at a time. */
static int qfc(const er_op *op, int32_t xt) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  if (x->type != xt || y->type != xt || w->type != (xt == ER_UINT8 ? ER_UINT8 : ER_INT8)) return ER_ERR_UNSUPPORTED;
  const int64_t N = w->dims[0], K = w->dims[1];
  if (K == 0 || x->count % K != 0) return ER_ERR_SHAPE;
  const int64_t M = x->count / K;
  if (y->count != M * N) return ER_ERR_SHAPE;
  if (op->scratch_bytes < (int64_t)sizeof(int64_t) * N + (int64_t)sizeof(int16_t) * K) return ER_ERR_PARAMS;
  int64_t *acc = (int64_t *)op->scratch;
  int16_t *row = (int16_t *)(acc + N);
  const int64_t chunk = xt == ER_INT16 ? ER_QC_CHUNK16 : ER_QC_CHUNK8;
  for (int64_t m = 0; m < M; ++m) {
    er_qc_load(x->data, xt, m * K, 1, K, p->input_offset, row);
    memset(acc, 0, sizeof(int64_t) * (size_t)N);
    er_qc_add_bias(acc, N, b, 0);
    if (w->type == ER_UINT8) {
      const uint8_t *wd = (const uint8_t *)w->data;
      for (int64_t n = 0; n < N; ++n) acc[n] += er_qc_dot_s16_u8(row, wd + n * K, p->weight_offset, K);
    } else {
      const int8_t *wd = (const int8_t *)w->data;
      for (int64_t n = 0; n < N; ++n) acc[n] += er_qc_dot_s16_s8(row, wd + n * K, K, chunk);
    }
    er_qc_requant(acc, N, p->multipliers, p->shifts, 0, p->rounding, 0, N, p->output_offset, p->out_min, p->out_max,
                  xt, y->data, m * N, 1);
  }
  return ER_OK;
}

#if ER_ISA_CORTEXM /* kernels/cortexm/q_conv_fc.c owns the public name and falls back to this body */
int er_ref_s8_fc(const er_op *op) { return qfc(op, ER_INT8); }
#else
int er_s8_fc(const er_op *op) { return qfc(op, ER_INT8); }
#endif
int er_u8_fc(const er_op *op) { return qfc(op, ER_UINT8); }
int er_s16_fc(const er_op *op) { return qfc(op, ER_INT16); }

/* BATCH_MATMUL: per batch, lhs to M x K and rhs to N x K (offset form) in scratch, then dot products. */
static int qbmm(const er_op *op, int32_t xt) {
  const er_qbmm_params *p = (const er_qbmm_params *)op->params;
  const er_tensor *a = op->in[0], *bt = op->in[1];
  er_tensor *y = op->out[0];
  const int raw32 = xt == ER_INT8 && y->type == ER_INT32; /* int8 x int8 -> raw int32 accumulators */
  if (a->type != xt || bt->type != xt || (y->type != xt && !raw32)) return ER_ERR_UNSUPPORTED;
  const int64_t M = p->m, N = p->n, K = p->k;
  if (y->count != p->batches * M * N) return ER_ERR_SHAPE;
  if (op->scratch_bytes < (int64_t)sizeof(int64_t) * N + (int64_t)sizeof(int16_t) * (M * K + N * K))
    return ER_ERR_PARAMS;
  int64_t *acc = (int64_t *)op->scratch;
  int16_t *am = (int16_t *)(acc + N); /* M x K */
  int16_t *bm = am + M * K;           /* N x K */
  const int wide = xt == ER_INT16;
  for (int64_t i = 0; i < p->batches; ++i) {
    const int64_t ao = p->a_offsets[i], bo = p->b_offsets[i];
    for (int64_t m = 0; m < M; ++m) { /* row m of lhs: stored M x K, or K x M when adj_x */
      if (p->adj_x)
        er_qc_load(a->data, xt, ao + m, M, K, p->a_offset, am + m * K);
      else
        er_qc_load(a->data, xt, ao + m * K, 1, K, p->a_offset, am + m * K);
    }
    for (int64_t n = 0; n < N; ++n) { /* column n of rhs: stored K x N, or N x K when adj_y */
      if (p->adj_y)
        er_qc_load(bt->data, xt, bo + n * K, 1, K, p->b_offset, bm + n * K);
      else
        er_qc_load(bt->data, xt, bo + n, N, K, p->b_offset, bm + n * K);
    }
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = 0; n < N; ++n) acc[n] = er_qc_dot_s16_s16(am + m * K, bm + n * K, K, wide);
      if (raw32) {
        int32_t *yo = (int32_t *)y->data + (i * M + m) * N;
        for (int64_t n = 0; n < N; ++n) yo[n] = er_qc_wrap32(acc[n]);
        continue;
      }
      er_qc_requant(acc, N, &p->multiplier, &p->shift, 1, p->rounding, 0, N, p->output_offset, p->out_min,
                    p->out_max, xt, y->data, (i * M + m) * N, 1);
    }
  }
  return ER_OK;
}

int er_s8_bmm(const er_op *op) { return qbmm(op, ER_INT8); }
int er_s16_bmm(const er_op *op) { return qbmm(op, ER_INT16); }
