/* RESIZE_BILINEAR on NHWC tensors: f32 (TFLite's float formula), s8 and s16 (TFLite's integer reference
 * arithmetic on 10-bit fixed-point coordinates, bit-exact), u8 (TFLite's float path with +0.5 rounding).
 * Nearest-neighbour resizing is pure data movement and runs on any_index_map. */
#include <math.h>
#include <stdint.h>

#include "edgerun/edgerun.h"
#include "edgerun/fixedpoint.h"
#include "resize_coord.h"

typedef struct {
  int64_t n, ih, iw, c, oh, ow;
} dims4;

static int get_dims(const er_op *op, dims4 *d) {
  const er_tensor *x = op->in[0];
  const er_tensor *y = op->out[0];
  if (op->params == NULL) return ER_ERR_PARAMS;
  if (x->ndim != 4 || y->ndim != 4) return ER_ERR_SHAPE;
  if (x->dims[0] != y->dims[0] || x->dims[3] != y->dims[3]) return ER_ERR_SHAPE;
  d->n = x->dims[0];
  d->ih = x->dims[1];
  d->iw = x->dims[2];
  d->c = x->dims[3];
  d->oh = y->dims[1];
  d->ow = y->dims[2];
  if (x->count != d->n * d->ih * d->iw * d->c || y->count != d->n * d->oh * d->ow * d->c) return ER_ERR_SHAPE;
  if ((d->ih <= 0 || d->iw <= 0) && y->count > 0) return ER_ERR_SHAPE;
  return ER_OK;
}

int er_f32_resize_bilinear(const er_op *op) {
  dims4 d;
  int st = get_dims(op, &d);
  if (st != ER_OK) return st;
  const er_resize_params *p = (const er_resize_params *)op->params;
  const float *x = (const float *)op->in[0]->data;
  float *y = (float *)op->out[0]->data;
  const float hs = er_rz_f_scale(d.ih, d.oh, p->align_corners), ws = er_rz_f_scale(d.iw, d.ow, p->align_corners);
  for (int64_t b = 0; b < d.n; b++) {
    for (int64_t oy = 0; oy < d.oh; oy++) {
      float iy;
      int64_t y0, y1;
      er_rz_f_coord(oy, hs, p->half_pixel_centers, d.ih, &iy, &y0, &y1);
      const float dy = iy - (float)y0;
      for (int64_t ox = 0; ox < d.ow; ox++) {
        float ix;
        int64_t x0, x1;
        er_rz_f_coord(ox, ws, p->half_pixel_centers, d.iw, &ix, &x0, &x1);
        const float dx = ix - (float)x0;
        const float *r00 = x + ((b * d.ih + y0) * d.iw + x0) * d.c;
        const float *r10 = x + ((b * d.ih + y1) * d.iw + x0) * d.c;
        const float *r01 = x + ((b * d.ih + y0) * d.iw + x1) * d.c;
        const float *r11 = x + ((b * d.ih + y1) * d.iw + x1) * d.c;
        for (int64_t c = 0; c < d.c; c++) {
          *y++ = r00[c] * (1 - dy) * (1 - dx) + r10[c] * dy * (1 - dx) + r01[c] * (1 - dy) * dx +
                 r11[c] * dy * dx;
        }
      }
    }
  }
  return ER_OK;
}

/* uint8: TFLite's optimized kernel weighs the four neighbours with float products, sums them in the order
 * (y0,x0), (y0,x1), (y1,x0), (y1,x1) (float addition is not associative: the order is part of the result)
 * and adds 0.5 before truncating. */
int er_u8_resize_bilinear(const er_op *op) {
  dims4 d;
  int st = get_dims(op, &d);
  if (st != ER_OK) return st;
  const er_resize_params *p = (const er_resize_params *)op->params;
  const uint8_t *x = (const uint8_t *)op->in[0]->data;
  uint8_t *y = (uint8_t *)op->out[0]->data;
  const float hs = er_rz_f_scale(d.ih, d.oh, p->align_corners), ws = er_rz_f_scale(d.iw, d.ow, p->align_corners);
  for (int64_t b = 0; b < d.n; b++) {
    for (int64_t oy = 0; oy < d.oh; oy++) {
      float iy;
      int64_t y0, y1;
      er_rz_f_coord(oy, hs, p->half_pixel_centers, d.ih, &iy, &y0, &y1);
      const float dy = iy - (float)y0;
      for (int64_t ox = 0; ox < d.ow; ox++) {
        float ix;
        int64_t x0, x1;
        er_rz_f_coord(ox, ws, p->half_pixel_centers, d.iw, &ix, &x0, &x1);
        const float dx = ix - (float)x0;
        const float w00 = (1 - dy) * (1 - dx), w10 = dy * (1 - dx), w01 = (1 - dy) * dx, w11 = dy * dx;
        const uint8_t *r00 = x + ((b * d.ih + y0) * d.iw + x0) * d.c;
        const uint8_t *r10 = x + ((b * d.ih + y1) * d.iw + x0) * d.c;
        const uint8_t *r01 = x + ((b * d.ih + y0) * d.iw + x1) * d.c;
        const uint8_t *r11 = x + ((b * d.ih + y1) * d.iw + x1) * d.c;
        for (int64_t c = 0; c < d.c; c++) {
          const float v = (float)r00[c] * w00 + (float)r01[c] * w01 + (float)r10[c] * w10 +
                          (float)r11[c] * w11 + 0.5f;
          *y++ = (uint8_t)(v <= 0.0f ? 0 : (v >= 255.0f ? 255 : (int)v));
        }
      }
    }
  }
  return ER_OK;
}

static int64_t q_round20(int64_t v) {
  if (er_rounding_mode == ER_ROUND_SINGLE) {
    /* (v + 2^19) >> 20 with an arithmetic shift, written as a floor division */
    const int64_t t = v + (1 << 19);
    return t >= 0 ? t / (1 << 20) : -((-t + (1 << 20) - 1) / (1 << 20));
  }
  return (v + (v > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20);
}

#define ER_RESIZE_INT(NAME, T)                                                                              \
  int NAME(const er_op *op) {                                                                               \
    dims4 d;                                                                                                \
    int st = get_dims(op, &d);                                                                              \
    if (st != ER_OK) return st;                                                                             \
    const er_resize_params *p = (const er_resize_params *)op->params;                                       \
    const T *x = (const T *)op->in[0]->data;                                                                \
    T *y = (T *)op->out[0]->data;                                                                           \
    const int64_t hs = er_rz_q_scale(d.ih, d.oh, p->align_corners), ws = er_rz_q_scale(d.iw, d.ow, p->align_corners);  \
    for (int64_t b = 0; b < d.n; b++) {                                                                     \
      for (int64_t oy = 0; oy < d.oh; oy++) {                                                               \
        int64_t iy, y0, y1;                                                                                 \
        er_rz_q_coord(oy, hs, p->half_pixel_centers, d.ih, &iy, &y0, &y1);                                        \
        const int64_t fy = iy - (1 << 10) * y0;                                                             \
        for (int64_t ox = 0; ox < d.ow; ox++) {                                                             \
          int64_t ix, x0, x1;                                                                               \
          er_rz_q_coord(ox, ws, p->half_pixel_centers, d.iw, &ix, &x0, &x1);                                      \
          const int64_t fx = ix - (1 << 10) * x0;                                                           \
          const T *r00 = x + ((b * d.ih + y0) * d.iw + x0) * d.c;                                           \
          const T *r10 = x + ((b * d.ih + y1) * d.iw + x0) * d.c;                                           \
          const T *r01 = x + ((b * d.ih + y0) * d.iw + x1) * d.c;                                           \
          const T *r11 = x + ((b * d.ih + y1) * d.iw + x1) * d.c;                                           \
          for (int64_t c = 0; c < d.c; c++) {                                                               \
            const int64_t acc = (int64_t)r00[c] * ((1 << 10) - fy) * ((1 << 10) - fx) +                     \
                                (int64_t)r10[c] * fy * ((1 << 10) - fx) +                                   \
                                (int64_t)r01[c] * ((1 << 10) - fy) * fx + (int64_t)r11[c] * fy * fx;        \
            *y++ = (T)q_round20(acc);                                                                       \
          }                                                                                                 \
        }                                                                                                   \
      }                                                                                                     \
    }                                                                                                       \
    return ER_OK;                                                                                           \
  }

ER_RESIZE_INT(er_s8_resize_bilinear, int8_t)
ER_RESIZE_INT(er_s16_resize_bilinear, int16_t)
