/* int8 FULLY_CONNECTED for Cortex-M, bit-exact with kernels/ref/q_conv_fc.c: input rows packed two at a
 * time into scratch in the GEMM's column layout (kernels/cortexm/q_conv.h), then the GEMM. The reference's
 * scratch (8 * N + 2 * K bytes) always holds one row; two when it holds 2 * sizeof(column) * K. Falls back
 * to the reference body for other types, tensors with more than 2^31 elements, too little scratch and (MVE)
 * input offsets outside [-127, 128]. */
#include "q_conv.h"

#if ER_ISA_CORTEXM

int er_s8_fc(const er_op *op) {
  const er_qconv_params *p = (const er_qconv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  if (x->type != ER_INT8 || w->type != ER_INT8 || y->type != ER_INT8) return er_ref_s8_fc(op);
  const int64_t N64 = w->dims[0], K64 = w->dims[1];
  if (K64 <= 0 || x->count % K64 != 0 || y->count != (x->count / K64) * N64) return er_ref_s8_fc(op); /* errors */
  const int64_t col_bytes = (int64_t)sizeof(er_cm_col_t) * K64;
  if (!er_cm_small(x) || !er_cm_small(w) || !er_cm_small(y) || op->scratch_bytes < col_bytes ||
      (ER_ISA_ARM_MVE && (p->input_offset < -127 || p->input_offset > 128)))
    return er_ref_s8_fc(op);
  const int32_t N = (int32_t)N64, K = (int32_t)K64, M = (int32_t)(x->count / K64);
  const int32_t maxrows = op->scratch_bytes >= 2 * col_bytes ? 2 : 1;
  er_cm_col_t *cols = (er_cm_col_t *)op->scratch;
  const er_cm_rq rq = er_cm_rq_make(p, b, N);
  const int8_t *xd = (const int8_t *)x->data;
  int8_t *yd = (int8_t *)y->data;
  for (int32_t m = 0; m < M; m += maxrows) {
    const int32_t nrows = M - m < maxrows ? M - m : maxrows;
    for (int32_t j = 0; j < nrows; ++j) er_cm_pack_col(xd + (m + j) * K, K, 0, K, p->input_offset, cols + j * K);
    er_cm_s8_gemm(cols, nrows, K, p->input_offset, (const int8_t *)w->data, N, 0, &rq, yd + m * N,
                  yd + (m + nrows - 1) * N);
  }
  return ER_OK;
}

#endif
