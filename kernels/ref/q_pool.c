/* Integer 2-D pooling over NHWC (int8, uint8, int16), as TFLite's builtin kernels: input and output share
 * scale and zero point (no rescaling). MAX_POOL_2D takes the window maximum; AVERAGE_POOL_2D sums the in-bounds
 * window in int32 and divides with rounding half away from zero ((acc +- count/2) / count, C division).
 * Both clamp to the fused activation range [out_min, out_max]. */
#include "edgerun/edgerun.h"

#define POOL_MAX 0
#define POOL_AVG 1

#define QPOOL_LOOP(T)                                                                         \
  do {                                                                                        \
    const T *xd = (const T *)x->data;                                                         \
    T *yd = (T *)y->data;                                                                     \
    for (int64_t n = 0; n < B; ++n)                                                           \
      for (int64_t oh = 0; oh < OH; ++oh)                                                     \
        for (int64_t ow = 0; ow < OW; ++ow) {                                                 \
          const int64_t h0 = oh * p->stride_h - p->pad_top, w0 = ow * p->stride_w - p->pad_left; \
          const int64_t hs = h0 < 0 ? 0 : h0, ws = w0 < 0 ? 0 : w0;                           \
          const int64_t he = h0 + p->filter_h > H ? H : h0 + p->filter_h;                     \
          const int64_t we = w0 + p->filter_w > W ? W : w0 + p->filter_w;                     \
          if (he <= hs || we <= ws) return ER_ERR_SHAPE;                                      \
          const int32_t count = (int32_t)((he - hs) * (we - ws));                             \
          T *yo = yd + ((n * OH + oh) * OW + ow) * C;                                         \
          for (int64_t c = 0; c < C; ++c) {                                                   \
            int32_t acc = kind == POOL_MAX ? INT32_MIN : 0;                                   \
            for (int64_t ih = hs; ih < he; ++ih)                                              \
              for (int64_t iw = ws; iw < we; ++iw) {                                          \
                const int32_t v = xd[((n * H + ih) * W + iw) * C + c];                        \
                if (kind == POOL_MAX) acc = v > acc ? v : acc;                                \
                else acc += v;                                                                \
              }                                                                               \
            if (kind == POOL_AVG)                                                             \
              acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;          \
            yo[c] = (T)er_clamp_i32(acc, p->out_min, p->out_max);                             \
          }                                                                                   \
        }                                                                                     \
  } while (0)

#include "edgerun/fixedpoint.h"

static int pool_q(const er_op *op, int kind) {
  const er_pool_params *p = (const er_pool_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (x->ndim != 4 || y->ndim != 4) return ER_ERR_SHAPE;
  const int64_t B = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
  const int64_t OH = y->dims[1], OW = y->dims[2];
  if (y->dims[0] != B || y->dims[3] != C || x->type != y->type) return ER_ERR_SHAPE;
  /* The window sum of int16 values fits int32 for windows below 2^16 elements. */
  if ((int64_t)p->filter_h * p->filter_w >= ((int64_t)1 << 16)) return ER_ERR_UNSUPPORTED;
  switch (x->type) {
    case ER_INT8: QPOOL_LOOP(int8_t); break;
    case ER_UINT8: QPOOL_LOOP(uint8_t); break;
    case ER_INT16: QPOOL_LOOP(int16_t); break;
    default: return ER_ERR_UNSUPPORTED;
  }
  return ER_OK;
}

int er_q_maxpool2d(const er_op *op) { return pool_q(op, POOL_MAX); }
int er_q_avgpool2d(const er_op *op) { return pool_q(op, POOL_AVG); }
