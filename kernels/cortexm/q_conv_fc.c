/* int8 FULLY_CONNECTED for Cortex-M, bit-exact with kernels/ref/q_conv_fc.c: the GEMM of
 * kernels/cortexm/q_conv.h on two input rows at a time. DSP: the rows are packed into scratch in its int16
 * column layout (the reference's scratch, 8 * N + 2 * K bytes, always holds one row; two when it holds 4 * K
 * bytes); MVE reads the int8 rows in place and needs no scratch. Falls back to the reference body for other
 * types, shape errors, tensors with more than 2^31 elements, too little scratch (DSP, under 2 * K bytes) and
 * (MVE) input offsets outside [-127, 128]. */
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
  /* MVE columns are the int8 rows themselves: no copy, no scratch */
  if (!er_cm_small(x) || !er_cm_small(w) || !er_cm_small(y) || (!ER_ISA_ARM_MVE && op->scratch_bytes < col_bytes) ||
      (ER_ISA_ARM_MVE && (p->input_offset < -127 || p->input_offset > 128)))
    return er_ref_s8_fc(op);
  const int32_t N = (int32_t)N64, K = (int32_t)K64, M = (int32_t)(x->count / K64);
  const int32_t maxrows = ER_ISA_ARM_MVE || op->scratch_bytes >= 2 * col_bytes ? 2 : 1;
  const er_cm_rq rq = er_cm_rq_make(p, b, N);
  const int8_t *xd = (const int8_t *)x->data;
  int8_t *yd = (int8_t *)y->data;
  for (int32_t m = 0; m < M; m += maxrows) {
    const int32_t nrows = M - m < maxrows ? M - m : maxrows;
#if ER_ISA_ARM_MVE
    const er_cm_col_t *cols = xd + m * K;
#else
    er_cm_col_t *cols = (er_cm_col_t *)op->scratch;
    for (int32_t j = 0; j < nrows; ++j) er_cm_pack_col(xd + (m + j) * K, K, 0, K, p->input_offset, cols + j * K);
#endif
    er_cm_s8_gemm(cols, nrows, K, p->input_offset, (const int8_t *)w->data, N, 0, &rq, yd + m * N,
                  yd + (m + nrows - 1) * N);
  }
  return ER_OK;
}

#endif
