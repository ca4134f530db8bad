/* Float FULLY_CONNECTED (input flattened to [batches, K], weights [N, K]) and BATCH_MATMUL
 * (broadcast batches, adjoint flags; both operands brought to inner-product form in scratch). */
#include <string.h>

#include "edgerun/edgerun.h"
#include "gemm.h"

int er_f32_fc(const er_op *op) {
  const er_conv_params *p = (const er_conv_params *)op->params;
  const er_tensor *x = op->in[0], *w = op->in[1];
  const er_tensor *b = op->n_in > 2 ? op->in[2] : NULL;
  er_tensor *y = op->out[0];
  const int64_t N = w->dims[0], K = w->dims[1];
  if (K == 0 || x->count % K != 0) return ER_ERR_SHAPE;
  const int64_t M = x->count / K;
  if (y->count != M * N) return ER_ERR_SHAPE;
  er_gemm_f32_nt(M, N, K, (const float *)x->data, K, (const float *)w->data, b ? (const float *)b->data : NULL,
                 (float *)y->data, N, p->act_min, p->act_max);
  return ER_OK;
}

int er_f32_bmm(const er_op *op) {
  const er_bmm_params *p = (const er_bmm_params *)op->params;
  const float *a = (const float *)op->in[0]->data, *b = (const float *)op->in[1]->data;
  float *y = (float *)op->out[0]->data;
  const int64_t M = p->m, N = p->n, K = p->k;
  float *at = (float *)op->scratch;  /* M x K */
  float *bt = at + M * K;            /* N x K */
  if (op->scratch_bytes < (int64_t)sizeof(float) * (M * K + N * K)) return ER_ERR_PARAMS;
  for (int64_t i = 0; i < p->batches; ++i) {
    const float *ai = a + p->a_offsets[i], *bi = b + p->b_offsets[i];
    if (p->adj_x) { /* stored K x M */
      for (int64_t k = 0; k < K; ++k)
        for (int64_t m = 0; m < M; ++m) at[m * K + k] = ai[k * M + m];
    } else {
      memcpy(at, ai, sizeof(float) * (size_t)(M * K));
    }
    if (p->adj_y) { /* stored N x K already */
      memcpy(bt, bi, sizeof(float) * (size_t)(N * K));
    } else { /* stored K x N */
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) bt[n * K + k] = bi[k * N + n];
    }
    er_gemm_f32_nt(M, N, K, at, K, bt, NULL, y + i * M * N, N, -3.402823466e38f, 3.402823466e38f);
  }
  return ER_OK;
}
