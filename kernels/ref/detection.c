/* Detection post-processing kernels: NON_MAX_SUPPRESSION_V4 / V5 (single-class NMS, V5 with Gaussian
 * Soft-NMS) as TFLite's float reference computes them.
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
