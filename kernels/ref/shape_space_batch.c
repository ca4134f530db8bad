/* any_space_to_batch: SPACE_TO_BATCH_ND on NHWC (3D inputs run as W = 1), generic on element size.
 * Output batch ob = (by * block_w + bx) * N + n reads padded input row oy * block_h + by - pad_top.
 * (BATCH_TO_SPACE_ND needs no padding and runs on any_index_map.) */
#include <string.h>

#include "edgerun/edgerun.h"

int er_any_space_to_batch(const er_op *op) {
  const er_space_batch_params *p = (const er_space_batch_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (p == NULL || p->block_h < 1 || p->block_w < 1 || p->elem_size < 1 || p->elem_size > 8)
    return ER_ERR_PARAMS;
  if (x->ndim < 3 || x->ndim > 4 || y->ndim != x->ndim) return ER_ERR_SHAPE;
  const size_t es = (size_t)p->elem_size;
  const int64_t n = x->dims[0], ih = x->dims[1], iw = x->ndim == 4 ? x->dims[2] : 1;
  const int64_t c = x->dims[x->ndim - 1];
  const int64_t ob = y->dims[0], oh = y->dims[1], ow = y->ndim == 4 ? y->dims[2] : 1;
  if (y->dims[y->ndim - 1] != c || ob != n * p->block_h * p->block_w) return ER_ERR_SHAPE;
  if (x->bytes != n * ih * iw * c * (int64_t)es || y->bytes != ob * oh * ow * c * (int64_t)es) return ER_ERR_SHAPE;
  const unsigned char *src = (const unsigned char *)x->data;
  unsigned char *dst = (unsigned char *)y->data;
  const size_t row = (size_t)c * es;
  for (int64_t b = 0; b < ob; b++) {
    const int64_t in_b = b % n;
    const int64_t blk = b / n;
    const int64_t by = blk / p->block_w, bx = blk % p->block_w;
    for (int64_t yy = 0; yy < oh; yy++) {
      const int64_t sy = yy * p->block_h + by - p->pad_top;
      for (int64_t xx = 0; xx < ow; xx++, dst += row) {
        const int64_t sx = xx * p->block_w + bx - p->pad_left;
        if (sy < 0 || sy >= ih || sx < 0 || sx >= iw) {
          for (int64_t k = 0; k < c; k++) memcpy(dst + (size_t)k * es, p->pad_bytes, es);
        } else if (row) {
          memcpy(dst, src + (size_t)(((in_b * ih + sy) * iw + sx) * c) * es, row);
        }
      }
    }
  }
  return ER_OK;
}
