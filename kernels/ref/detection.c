/* Detection post-processing kernels: NON_MAX_SUPPRESSION_V4 / V5 (single-class NMS, V5 with Gaussian
 * Soft-NMS) as TFLite's float reference computes them, and the TFLite_Detection_PostProcess custom op.
 *
 * Candidates are kept in a binary max-heap on score whose push/pop follow the C++ standard library's
 * push_heap/pop_heap step for step (hole moved down to a leaf along the larger child, right child on
 * ties, then sifted up), so that equal scores come out in LiteRT's order. */
#include <math.h>
#include <string.h>

#include "edgerun/edgerun.h"

typedef struct er_nms_candidate {
  int32_t index;
  float score;
  int32_t suppress_begin; /* selections before this one were already compared with it */
} er_nms_candidate;
_Static_assert(sizeof(er_nms_candidate) == 12, "runtime/ops/detection.py sizes the scratch with 12 bytes");

/* -- heap of candidates (max on score) ------------------------------------------------------------------ */

static void heap_sift_up(er_nms_candidate *h, int64_t hole, int64_t top, er_nms_candidate v) {
  int64_t parent = (hole - 1) / 2;
  while (hole > top && h[parent].score < v.score) {
    h[hole] = h[parent];
    hole = parent;
    parent = (hole - 1) / 2;
  }
  h[hole] = v;
}

static void heap_push(er_nms_candidate *h, int64_t *n, er_nms_candidate v) {
  h[*n] = v;
  heap_sift_up(h, *n, 0, v);
  *n += 1;
}

/* Removes h[0]; the caller read it before. */
static void heap_pop(er_nms_candidate *h, int64_t *n) {
  const int64_t len = *n - 1;
  *n = len;
  if (len <= 0) return;
  const er_nms_candidate v = h[len];
  int64_t hole = 0, child = 0;
  while (child < (len - 1) / 2) {
    child = 2 * (child + 1);
    if (h[child].score < h[child - 1].score) child--;
    h[hole] = h[child];
    hole = child;
  }
  if ((len & 1) == 0 && child == (len - 2) / 2) {
    child = 2 * (child + 1);
    h[hole] = h[child - 1];
    hole = child - 1;
  }
  heap_sift_up(h, hole, 0, v);
}

/* -- IoU of corner-encoded boxes (corners in either order) --------------------------------------------- */

static float minf(float a, float b) { return b < a ? b : a; }
static float maxf(float a, float b) { return a < b ? b : a; }

static float box_iou(const float *a, const float *b) {
  const float ay0 = minf(a[0], a[2]), ay1 = maxf(a[0], a[2]), ax0 = minf(a[1], a[3]), ax1 = maxf(a[1], a[3]);
  const float by0 = minf(b[0], b[2]), by1 = maxf(b[0], b[2]), bx0 = minf(b[1], b[3]), bx1 = maxf(b[1], b[3]);
  const float area_a = (ay1 - ay0) * (ax1 - ax0), area_b = (by1 - by0) * (bx1 - bx0);
  if (area_a <= 0.0f || area_b <= 0.0f) return 0.0f;
  const float inter = maxf(minf(ay1, by1) - maxf(ay0, by0), 0.0f) * maxf(minf(ax1, bx1) - maxf(ax0, bx0), 0.0f);
  const float uni = area_a + area_b - inter;
  return uni == 0.0f ? 0.0f : inter / uni;
}

int er_f32_nms(const er_op *op) {
  const er_nms_params *p = (const er_nms_params *)op->params;
  if (p->soft ? (op->n_in < 6 || op->n_out < 3) : (op->n_in < 5 || op->n_out < 2)) return ER_ERR_PARAMS;
  for (int32_t i = 0; i < op->n_in; ++i)
    if (!op->in[i]) return ER_ERR_PARAMS;
  for (int32_t i = 0; i < op->n_out; ++i)
    if (!op->out[i]) return ER_ERR_PARAMS;
  const er_tensor *bx = op->in[0], *sc = op->in[1], *iou_t = op->in[3], *st_t = op->in[4];
  er_tensor *sel = op->out[0], *sel_scores = p->soft ? op->out[1] : NULL, *valid = op->out[p->soft ? 2 : 1];
  const int64_t n = sc->count, m = p->max_output;
  if (bx->ndim != 2 || bx->dims[1] != 4 || bx->dims[0] != n || m < 0 || sel->count < m || valid->count < 1 ||
      iou_t->count < 1 || st_t->count < 1 || (sel_scores && sel_scores->count < m) ||
      op->scratch_bytes < n * (int64_t)sizeof(er_nms_candidate))
    return ER_ERR_SHAPE;
  const float *boxes = (const float *)bx->data, *scores = (const float *)sc->data;
  const float iou_threshold = *(const float *)iou_t->data, score_threshold = *(const float *)st_t->data;
  float sigma = 0.0f;
  if (p->soft) {
    if (op->in[5]->count < 1) return ER_ERR_SHAPE;
    sigma = *(const float *)op->in[5]->data;
    if (!(sigma >= 0.0f)) return ER_ERR_ARITH; /* LiteRT: "Invalid sigma value for soft NMS" */
  }
  int32_t *selected = (int32_t *)sel->data;
  float *selected_scores = sel_scores ? (float *)sel_scores->data : NULL;

  er_nms_candidate *heap = (er_nms_candidate *)op->scratch;
  int64_t heap_n = 0;
  for (int64_t i = 0; i < n; ++i)
    if (scores[i] > score_threshold) heap_push(heap, &heap_n, (er_nms_candidate){(int32_t)i, scores[i], 0});

  int64_t n_sel = 0;
  const int64_t n_out = heap_n < m ? heap_n : m;
  const float scale = sigma > 0.0f ? -0.5f / sigma : 0.0f;
  while (n_sel < n_out && heap_n > 0) {
    er_nms_candidate c = heap[0];
    const float original = c.score;
    heap_pop(heap, &heap_n);
    int hard = 0;
    for (int64_t j = n_sel - 1; j >= c.suppress_begin; --j) {
      const float iou = box_iou(boxes + 4 * (int64_t)c.index, boxes + 4 * (int64_t)selected[j]);
      if (iou >= iou_threshold) {
        hard = 1;
        break;
      }
      if (sigma > 0.0f) c.score = c.score * expf(scale * iou * iou);
      if (c.score <= score_threshold) break;
    }
    c.suppress_begin = (int32_t)n_sel;
    if (!hard) {
      if (c.score == original) {
        selected[n_sel] = c.index;
        if (selected_scores) selected_scores[n_sel] = c.score;
        ++n_sel;
      }
      if (c.score > score_threshold) heap_push(heap, &heap_n, c);
    }
  }
  for (int64_t i = n_sel; i < m; ++i) {
    selected[i] = 0;
    if (selected_scores) selected_scores[i] = 0.0f;
  }
  *(int32_t *)valid->data = (int32_t)n_sel;
  return ER_OK;
}

/* -- TFLite_Detection_PostProcess ---------------------------------------------------------------------- *
 * Box decoding in double as TFLite, then NMS on corner boxes. Sorting follows LiteRT's exactly: a stable
 * descending sort where it uses std::stable_sort, and for its std::partial_sort the heap selection of the
 * C++ library (make_heap over the first k, pop in each larger later value, sort_heap), so ties order alike. */

/* "a comes first": larger value first (LiteRT's comparator values[a] > values[b]) */
static int first(const float *v, int32_t a, int32_t b) { return v[a] > v[b]; }

static void sort_push(int32_t *h, int64_t hole, int64_t top, int32_t x, const float *v) {
  int64_t parent = (hole - 1) / 2;
  while (hole > top && first(v, h[parent], x)) {
    h[hole] = h[parent];
    hole = parent;
    parent = (hole - 1) / 2;
  }
  h[hole] = x;
}

static void sort_adjust(int32_t *h, int64_t hole, int64_t len, int32_t x, const float *v) {
  const int64_t top = hole;
  int64_t child = hole;
  while (child < (len - 1) / 2) {
    child = 2 * (child + 1);
    if (first(v, h[child], h[child - 1])) child--;
    h[hole] = h[child];
    hole = child;
  }
  if ((len & 1) == 0 && child == (len - 2) / 2) {
    child = 2 * (child + 1);
    h[hole] = h[child - 1];
    hole = child - 1;
  }
  sort_push(h, hole, top, x, v);
}

/* indices[0..k) = the k largest of values[0..n) in decreasing order, as std::partial_sort on iota leaves them */
static void partial_argsort(const float *v, int64_t n, int64_t k, int32_t *idx) {
  if (k == 1) { /* LiteRT: ArgMaxVector, the first maximum */
    int32_t best = 0;
    for (int64_t i = 1; i < n; ++i)
      if (v[i] > v[best]) best = (int32_t)i;
    idx[0] = best;
    return;
  }
  for (int64_t i = 0; i < n; ++i) idx[i] = (int32_t)i;
  if (k < 2) return;
  for (int64_t parent = (k - 2) / 2;; --parent) { /* make_heap */
    sort_adjust(idx, parent, k, idx[parent], v);
    if (parent == 0) break;
  }
  for (int64_t i = k; i < n; ++i)
    if (first(v, idx[i], idx[0])) { /* pop_heap(first, middle, i) */
      const int32_t x = idx[i];
      idx[i] = idx[0];
      sort_adjust(idx, 0, k, x, v);
    }
  for (int64_t last = k; last > 1;) { /* sort_heap */
    --last;
    const int32_t x = idx[last];
    idx[last] = idx[0];
    sort_adjust(idx, 0, last, x, v);
  }
}

/* idx[0..n) = 0..n-1 stably sorted by decreasing v (bottom-up merge sort through tmp) */
static void stable_argsort(const float *v, int64_t n, int32_t *idx, int32_t *tmp) {
  for (int64_t i = 0; i < n; ++i) idx[i] = (int32_t)i;
  int32_t *src = idx, *dst = tmp;
  for (int64_t w = 1; w < n; w *= 2) {
    for (int64_t lo = 0; lo < n; lo += 2 * w) {
      const int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      int64_t a = lo, b = mid, o = lo;
      while (a < mid && b < hi) dst[o++] = first(v, src[b], src[a]) ? src[b++] : src[a++];
      while (a < mid) dst[o++] = src[a++];
      while (b < hi) dst[o++] = src[b++];
    }
    int32_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != idx) memcpy(idx, src, (size_t)n * sizeof(int32_t));
}

static float corner_iou(const float *a, const float *b) {
  const float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
  if (area_a <= 0 || area_b <= 0) return 0.0f;
  const float inter = maxf(minf(a[2], b[2]) - maxf(a[0], b[0]), 0.0f) * maxf(minf(a[3], b[3]) - maxf(a[1], b[1]), 0.0f);
  return inter / (area_a + area_b - inter);
}

typedef struct {
  int64_t n;                     /* boxes */
  const float *boxes;            /* decoded [n, 4] ymin, xmin, ymax, xmax */
  int32_t *keep_idx, *sorted, *tmp, *active;
  float *keep_sc;
} detpp_work;

/* NMS of one class over all boxes: selected box indices (at most max_out) in decreasing score; their count */
static int64_t single_class_nms(const er_detpp_params *p, const detpp_work *w, const float *scores, int64_t max_out,
                                int32_t *selected) {
  int64_t kept = 0;
  for (int64_t i = 0; i < w->n; ++i)
    if (scores[i] >= p->score_threshold) {
      w->keep_sc[kept] = scores[i];
      w->keep_idx[kept++] = (int32_t)i;
    }
  stable_argsort(w->keep_sc, kept, w->sorted, w->tmp);
  const int64_t out_size = kept < max_out ? kept : max_out;
  int64_t n_active = kept, n_sel = 0;
  for (int64_t i = 0; i < kept; ++i) w->active[i] = 1;
  for (int64_t i = 0; i < kept; ++i) {
    if (n_active == 0 || n_sel >= out_size) break;
    if (!w->active[i]) continue;
    const int32_t bi = w->keep_idx[w->sorted[i]];
    selected[n_sel++] = bi;
    w->active[i] = 0;
    n_active--;
    for (int64_t j = i + 1; j < kept; ++j)
      if (w->active[j] && corner_iou(w->boxes + 4 * (int64_t)bi, w->boxes + 4 * (int64_t)w->keep_idx[w->sorted[j]]) >
                              p->iou_threshold) {
        w->active[j] = 0;
        n_active--;
      }
  }
  return n_sel;
}

static void put_detection(er_tensor *const *out, int64_t slot, const float *box, float cls, float score) {
  memcpy((float *)out[0]->data + 4 * slot, box, 4 * sizeof(float));
  ((float *)out[1]->data)[slot] = cls;
  ((float *)out[2]->data)[slot] = score;
}

static int detection_postprocess(const er_op *op, int quantized) {
  const er_detpp_params *p = (const er_detpp_params *)op->params;
  if (op->n_in < 3 || op->n_out < 4) return ER_ERR_PARAMS;
  for (int i = 0; i < 3; ++i)
    if (!op->in[i]) return ER_ERR_PARAMS;
  for (int i = 0; i < 4; ++i)
    if (!op->out[i]) return ER_ERR_PARAMS;
  const er_tensor *enc = op->in[0], *cls = op->in[1], *anc = op->in[2];
  if (enc->ndim != 3 || cls->ndim != 3 || anc->ndim != 2) return ER_ERR_SHAPE;
  const int64_t n = enc->dims[1], box_len = enc->dims[2], c = cls->dims[2], k = p->num_classes;
  const int64_t m = p->max_detections, mc = p->max_classes_per_detection;
  if (enc->dims[0] != 1 || cls->dims[0] != 1 || cls->dims[1] != n || box_len < 4 || anc->dims[0] != n ||
      anc->dims[1] != 4 || k < 1 || c < k || c - k > 1 || m < 0 || mc < 1 || p->detections_per_class < 1)
    return ER_ERR_SHAPE;
  if (op->out[0]->count < 4 * m * mc || op->out[1]->count < m * mc || op->out[2]->count < m * mc ||
      op->out[3]->count < 1)
    return ER_ERR_SHAPE;
  const int64_t words = 16 * n + n * c + n * k + 5 * m;
  if (op->scratch_bytes < words * 4) return ER_ERR_SHAPE;
  const int64_t label_offset = c - k;

  float *boxes = (float *)op->scratch;
  float *deq = boxes + 4 * n;
  detpp_work w = {n, boxes, (int32_t *)(deq + n * c), NULL, NULL, NULL, NULL};
  w.keep_sc = (float *)(w.keep_idx + n);
  w.sorted = (int32_t *)(w.keep_sc + n);
  w.tmp = w.sorted + n;
  w.active = w.tmp + n;
  int32_t *selected = w.active + n;
  float *class_scores = (float *)(selected + n);
  int32_t *after_idx = (int32_t *)(class_scores + n);
  float *after_sc = (float *)(after_idx + n + m);
  int32_t *sorted2 = (int32_t *)(after_sc + n + m);
  float *sorted_vals = (float *)(sorted2 + n + m);
  float *max_scores = sorted_vals + m;
  int32_t *class_idx = (int32_t *)(max_scores + n);
  int32_t *merge_tmp = class_idx + n * k;

  /* decode (double arithmetic, as TFLite) */
  for (int64_t i = 0; i < n; ++i) {
    float e[4], a[4];
    for (int j = 0; j < 4; ++j) {
      if (quantized) {
        e[j] = ((float)((const uint8_t *)enc->data)[i * box_len + j] - (float)enc->zero_point) * enc->scale;
        a[j] = ((float)((const uint8_t *)anc->data)[i * 4 + j] - (float)anc->zero_point) * anc->scale;
      } else {
        e[j] = ((const float *)enc->data)[i * box_len + j];
        a[j] = ((const float *)anc->data)[i * 4 + j];
      }
    }
    const float yc = (float)((double)e[0] / (double)p->y_scale * (double)a[2] + (double)a[0]);
    const float xc = (float)((double)e[1] / (double)p->x_scale * (double)a[3] + (double)a[1]);
    const float hh = (float)(0.5 * exp((double)e[2] / (double)p->h_scale) * (double)a[2]);
    const float hw = (float)(0.5 * exp((double)e[3] / (double)p->w_scale) * (double)a[3]);
    float *b = boxes + 4 * i;
    b[0] = yc - hh;
    b[1] = xc - hw;
    b[2] = yc + hh;
    b[3] = xc + hw;
    if (b[0] > b[2] || b[1] > b[3]) return ER_ERR_ARITH; /* LiteRT: ValidateBoxes */
  }
  const float *scores = (const float *)cls->data;
  if (quantized) {
    for (int64_t i = 0; i < n * c; ++i)
      deq[i] = (float)((double)cls->scale * (double)((int32_t)((const uint8_t *)cls->data)[i] - cls->zero_point));
    scores = deq;
  }

  er_tensor *const *out = op->out;
  int64_t n_out = 0;
  if (p->regular) {
    for (int64_t col = 0; col < k; ++col) {
      for (int64_t row = 0; row < n; ++row) class_scores[row] = scores[row * c + col + label_offset];
      const int64_t n_sel = single_class_nms(p, &w, class_scores, p->detections_per_class, selected);
      int64_t o = n_out;
      for (int64_t s = 0; s < n_sel; ++s, ++o) {
        after_idx[o] = (int32_t)(selected[s] * c + col + label_offset);
        after_sc[o] = class_scores[selected[s]];
      }
      const int64_t n_sort = o < m ? o : m;
      stable_argsort(after_sc, o, sorted2, merge_tmp);
      for (int64_t r = 0; r < n_sort; ++r) {
        const int32_t t = sorted2[r];
        sorted2[r] = after_idx[t];
        sorted_vals[r] = after_sc[t];
      }
      for (int64_t r = 0; r < n_sort; ++r) {
        after_idx[r] = sorted2[r];
        after_sc[r] = sorted_vals[r];
      }
      n_out = n_sort;
    }
    static const float zero[4] = {0, 0, 0, 0};
    for (int64_t slot = 0; slot < m; ++slot) {
      if (slot < n_out) {
        const int64_t anchor = after_idx[slot] / c;
        put_detection(out, slot, boxes + 4 * anchor, (float)(after_idx[slot] - anchor * c - label_offset),
                      after_sc[slot]);
      } else {
        put_detection(out, slot, zero, 0.0f, 0.0f);
      }
    }
    for (int64_t slot = m; slot < m * mc; ++slot) put_detection(out, slot, zero, 0.0f, 0.0f);
  } else {
    const int64_t per_anchor = mc < k ? mc : k;
    for (int64_t row = 0; row < n; ++row) {
      int32_t *ci = class_idx + row * k;
      partial_argsort(scores + row * c + label_offset, k, per_anchor, ci);
      max_scores[row] = scores[row * c + label_offset + ci[0]];
    }
    const int64_t n_sel = single_class_nms(p, &w, max_scores, m, selected);
    static const float zero[4] = {0, 0, 0, 0};
    for (int64_t slot = 0; slot < m * mc; ++slot) put_detection(out, slot, zero, 0.0f, 0.0f);
    for (int64_t s = 0; s < n_sel; ++s) {
      const float *box_scores = scores + selected[s] * c + label_offset;
      const int32_t *ci = class_idx + selected[s] * k;
      for (int64_t col = 0; col < per_anchor; ++col)
        put_detection(out, mc * s + col, boxes + 4 * (int64_t)selected[s], (float)ci[col], box_scores[ci[col]]);
    }
    n_out = n_sel;
  }
  *(float *)out[3]->data = (float)n_out;
  return ER_OK;
}

int er_f32_detection_postprocess(const er_op *op) { return detection_postprocess(op, 0); }
int er_u8_detection_postprocess(const er_op *op) { return detection_postprocess(op, 1); }
