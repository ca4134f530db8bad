/* CONCATENATION / PACK (any_concat, f32_concat, u8_concat) and SPLIT / SPLIT_V / UNPACK (any_split).
 * Prepare folds the axis into an `outer` count and per-part byte widths, so these are rows of memcpy. */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"

static int check_parts(const er_concat_params *p, er_tensor *const *parts, int n_parts, const er_tensor *whole,
                       int64_t *row) {
  if (p == NULL || p->n != n_parts || p->outer < 0) return ER_ERR_PARAMS;
  int64_t r = 0;
  for (int j = 0; j < n_parts; j++) {
    if (parts[j] == NULL) return ER_ERR_PARAMS;
    if (p->inner_bytes[j] < 0 || parts[j]->bytes != p->outer * p->inner_bytes[j]) return ER_ERR_SHAPE;
    r += p->inner_bytes[j];
  }
  if (whole->bytes != p->outer * r) return ER_ERR_SHAPE;
  *row = r;
  return ER_OK;
}

int er_any_concat(const er_op *op) {
  const er_concat_params *p = (const er_concat_params *)op->params;
  int64_t row;
  int st = check_parts(p, op->in, op->n_in, op->out[0], &row);
  if (st != ER_OK) return st;
  unsigned char *dst = (unsigned char *)op->out[0]->data;
  for (int64_t o = 0; o < p->outer; o++) {
    for (int j = 0; j < p->n; j++) {
      const size_t w = (size_t)p->inner_bytes[j];
      if (w == 0) continue;
      memcpy(dst, (const unsigned char *)op->in[j]->data + (size_t)o * w, w);
      dst += w;
    }
  }
  return ER_OK;
}

/* Float concatenation with a fused activation clamp (edgerun accepts it; LiteRT rejects activations). */
int er_f32_concat(const er_op *op) {
  int st = er_any_concat(op);
  if (st != ER_OK) return st;
  const er_concat_params *p = (const er_concat_params *)op->params;
  float *y = (float *)op->out[0]->data;
  const float lo = p->act_min, hi = p->act_max;
  for (int64_t i = 0; i < op->out[0]->count; i++) {
    float v = y[i];
    y[i] = v < lo ? lo : (v > hi ? hi : v);
  }
  return ER_OK;
}

int er_any_split(const er_op *op) {
  const er_concat_params *p = (const er_concat_params *)op->params;
  if (p == NULL || p->src_input < 0 || p->src_input >= op->n_in || op->in[p->src_input] == NULL)
    return ER_ERR_PARAMS;
  int64_t row;
  int st = check_parts(p, op->out, op->n_out, op->in[p->src_input], &row);
  if (st != ER_OK) return st;
  const unsigned char *src = (const unsigned char *)op->in[p->src_input]->data;
  for (int64_t o = 0; o < p->outer; o++) {
    for (int j = 0; j < p->n; j++) {
      const size_t w = (size_t)p->inner_bytes[j];
      if (w == 0) continue;
      memcpy((unsigned char *)op->out[j]->data + (size_t)o * w, src, w);
      src += w;
    }
  }
  return ER_OK;
}

int er_u8_concat(const er_op *op) {
  const er_concat_q_params *p = (const er_concat_q_params *)op->params;
  if (p == NULL || p->n != op->n_in || p->outer < 0) return ER_ERR_PARAMS;
  int64_t row = 0;
  for (int j = 0; j < p->n; j++) {
    if (op->in[j] == NULL) return ER_ERR_PARAMS;
    if (p->inner[j] < 0 || op->in[j]->bytes != p->outer * p->inner[j]) return ER_ERR_SHAPE;
    row += p->inner[j];
  }
  if (op->out[0]->bytes != p->outer * row) return ER_ERR_SHAPE;
  uint8_t *dst = (uint8_t *)op->out[0]->data;
  for (int64_t o = 0; o < p->outer; o++) {
    for (int j = 0; j < p->n; j++) {
      const int64_t w = p->inner[j];
      const uint8_t *src = (const uint8_t *)op->in[j]->data + o * w;
      if (p->same[j]) {
        if (w) memcpy(dst, src, (size_t)w);
      } else {
        const float s = p->scale[j], b = p->bias[j];
        for (int64_t i = 0; i < w; i++) {
          /* float32 product and sum, rounded half away from zero, as TFLite's ConcatenationWithScaling. */
          const float f = roundf((float)src[i] * s + b);
          /* Out of int32 range (or NaN), x86's conversion gives INT32_MIN; do the same without UB. */
          const int64_t r = (f >= -2147483648.0f && f < 2147483648.0f) ? (int64_t)f : INT32_MIN;
          const int64_t v = r + p->out_zero_point;
          dst[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
        }
      }
      dst += w;
    }
  }
  return ER_OK;
}
