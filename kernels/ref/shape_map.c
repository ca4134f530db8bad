/* any_index_map: the one data-movement kernel behind transpose, slices, pads, tiles, broadcasts,
 * depth/space rearrangements and nearest-neighbour resizing. Prepare reduces each op to per-dimension
 * tables of input offsets, so this loop only sums offsets and copies runs of bytes; it is generic on the
 * element size and therefore on the dtype. */
#include <string.h>

#include "edgerun/edgerun.h"

static void fill_pad(unsigned char *dst, const unsigned char *pad, size_t es, int64_t n) {
  int uniform = 1;
  for (size_t b = 1; b < es; b++) uniform &= pad[b] == pad[0];
  if (uniform) {
    memset(dst, pad[0], (size_t)n * es);
    return;
  }
  for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * es, pad, es);
}

/* Copy one element of `es` bytes; fixed sizes let the compiler emit plain moves. */
static inline void copy_elem(unsigned char *dst, const unsigned char *src, size_t es) {
  switch (es) {
    case 1: *dst = *src; break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, es); break;
  }
}

/* A run of the innermost table that is one block of the source (consecutive offsets, `run` apart) or all
 * padding: such rows copy with one memcpy/fill per segment instead of one per element (a pad on the
 * channel axis, a concatenation-like gather). */
typedef struct {
  int64_t first, len, src; /* src < 0: padding */
} er_map_segment;

/* The segments of ti[0..inner), written to `out` when there are at most `cap` of them; their count. */
static int64_t inner_segments(const int64_t *ti, int64_t inner, int64_t run, er_map_segment *out, int64_t cap) {
  int64_t n = 0;
  for (int64_t i = 0; i < inner;) {
    int64_t j = i + 1;
    if (ti[i] < 0) {
      while (j < inner && ti[j] < 0) j++;
    } else {
      while (j < inner && ti[j] >= 0 && ti[j] == ti[j - 1] + run) j++;
    }
    if (n < cap) out[n] = (er_map_segment){i, j - i, ti[i] < 0 ? -1 : ti[i]};
    n++;
    i = j;
  }
  return n;
}

int er_any_index_map(const er_op *op) {
  const er_index_map_params *p = (const er_index_map_params *)op->params;
  const er_tensor *x = op->in[0];
  er_tensor *y = op->out[0];
  if (p == NULL || p->ndim < 1 || p->ndim > ER_MAP_MAX_DIMS || p->run < 1 || p->elem_size < 1 ||
      p->elem_size > 8)
    return ER_ERR_PARAMS;
  const size_t es = (size_t)p->elem_size;
  const int n = p->ndim;
  int64_t total = p->run;
  for (int k = 0; k < n; k++) {
    if (p->dims[k] < 0) return ER_ERR_PARAMS;
    total *= p->dims[k];
  }
  if (total != y->count || y->bytes != y->count * (int64_t)es) return ER_ERR_SHAPE;
  if (total == 0) return ER_OK;
  if (p->in_extent > x->count || x->bytes < x->count * (int64_t)es) return ER_ERR_SHAPE;

  unsigned char pad[8] = {0};
  memcpy(pad, p->pad_bytes, es);
  if (p->pad_input >= 0) {
    if (p->pad_input >= op->n_in || op->in[p->pad_input] == NULL) return ER_ERR_PARAMS;
    const er_tensor *pv = op->in[p->pad_input];
    if (pv->bytes < (int64_t)es || pv->data == NULL) return ER_ERR_SHAPE;
    memcpy(pad, pv->data, es);
  }

  const unsigned char *src = (const unsigned char *)x->data;
  unsigned char *dst = (unsigned char *)y->data;
  const int64_t *tab[ER_MAP_MAX_DIMS];
  for (int k = 0; k < n; k++) tab[k] = p->table + p->table_start[k];

  /* Odometer over the outer n-1 dims; acc[k] is the summed offset of dims < k, or -1 once padding. */
  int64_t idx[ER_MAP_MAX_DIMS] = {0};
  int64_t acc[ER_MAP_MAX_DIMS + 1];
  acc[0] = 0;
  for (int k = 0; k < n - 1; k++) {
    const int64_t t = tab[k][0];
    acc[k + 1] = (acc[k] < 0 || t < 0) ? -1 : acc[k] + t;
  }
  const int64_t inner = p->dims[n - 1];
  const int64_t run = p->run;
  const size_t run_bytes = (size_t)run * es;
  const int64_t *ti = tab[n - 1];
  /* segments when prepare gave scratch for them (it asks when rows hold at least 4 elements per segment) */
  er_map_segment *seg = (er_map_segment *)op->scratch;
  const int64_t cap = op->scratch != NULL ? op->scratch_bytes / (int64_t)sizeof(er_map_segment) : 0;
  const int64_t nseg = cap > 0 ? inner_segments(ti, inner, run, seg, cap) : 0;
  const int use_segments = nseg > 0 && nseg <= cap;
  for (;;) {
    const int64_t base = acc[n - 1];
    if (base < 0) {
      fill_pad(dst, pad, es, inner * run);
      dst += (size_t)(inner * run) * es;
    } else if (use_segments) {
      for (int64_t s = 0; s < nseg; s++) {
        unsigned char *d = dst + (size_t)(seg[s].first * run) * es;
        if (seg[s].src < 0)
          fill_pad(d, pad, es, seg[s].len * run);
        else
          memcpy(d, src + (size_t)(base + seg[s].src) * es, (size_t)(seg[s].len * run) * es);
      }
      dst += (size_t)(inner * run) * es;
    } else if (run == 1) {
      for (int64_t i = 0; i < inner; i++, dst += es) {
        if (ti[i] < 0)
          copy_elem(dst, pad, es);
        else
          copy_elem(dst, src + (size_t)(base + ti[i]) * es, es);
      }
    } else {
      for (int64_t i = 0; i < inner; i++, dst += run_bytes) {
        if (ti[i] < 0)
          fill_pad(dst, pad, es, run);
        else
          memcpy(dst, src + (size_t)(base + ti[i]) * es, run_bytes);
      }
    }
    int k = n - 2;
    while (k >= 0) {
      if (++idx[k] < p->dims[k]) break;
      idx[k] = 0;
      k--;
    }
    if (k < 0) break;
    for (int j = k; j < n - 1; j++) {
      const int64_t t = tab[j][idx[j]];
      acc[j + 1] = (acc[j] < 0 || t < 0) ? -1 : acc[j] + t;
    }
  }
  return ER_OK;
}
