/* Params of the shape kernel family (data movement, gather, resize). cdef-friendly: structs and integer
 * #defines only. Most kernels are generic on the element size, so one kernel serves every dtype. */
#ifndef EDGERUN_OPS_SHAPE_H
#define EDGERUN_OPS_SHAPE_H
#include "edgerun/core.h"

#define ER_MAP_MAX_DIMS 16

/* any_index_map: out[i_0, ..., i_{n-1}, r] = in[t_0[i_0] + ... + t_{n-1}[i_{n-1}] + r] for r < run, where
 * t_k = table + table_start[k] holds element offsets into input 0. A negative entry in any table marks a
 * padding position: the element is the pad value. Serves TRANSPOSE, SLICE, STRIDED_SLICE, REVERSE_V2,
 * PAD, PADV2, MIRROR_PAD, TILE, BROADCAST_TO, DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND and
 * RESIZE_NEAREST_NEIGHBOR, whose tables are computed at prepare. */
typedef struct er_index_map_params {
  int32_t ndim;                    /* 1..ER_MAP_MAX_DIMS */
  int32_t elem_size;               /* bytes per element */
  int64_t run;                     /* contiguous elements per innermost table entry (>= 1) */
  int64_t dims[16];                /* ER_MAP_MAX_DIMS: view dims of the output (times run = count) */
  int64_t table_start[16];         /* ER_MAP_MAX_DIMS */
  const int64_t *table;
  int64_t in_extent;               /* input 0 must hold at least this many elements */
  int32_t pad_input;               /* >= 0: the pad value is element 0 of that input; else pad_bytes */
  uint8_t pad_bytes[8];
} er_index_map_params;

/* any_concat / any_split: for each of `outer` steps, part j (input j of a concat, output j of a split)
 * contributes inner_bytes[j] bytes. f32_concat also clamps the result to [act_min, act_max]. A split reads
 * input `src_input` (SPLIT takes the axis first). */
typedef struct er_concat_params {
  int64_t outer;
  int32_t n;
  int32_t src_input;
  const int64_t *inner_bytes;
  float act_min;
  float act_max;
} er_concat_params;

/* u8_concat: CONCATENATION of uint8 inputs with their own scale/zero point, requantized to the output's
 * with TFLite's float formula: q = round(x * scale[j] + bias[j]) + out_zero_point, clamped to [0, 255]. */
typedef struct er_concat_q_params {
  int64_t outer;
  int32_t n;
  const int64_t *inner;            /* elements per outer step, per input */
  const float *scale;              /* in_scale / out_scale (float32 arithmetic, as TFLite) */
  const float *bias;               /* -in_zero_point * scale */
  const int32_t *same;             /* 1: input params equal the output's, copy bytes */
  int32_t out_zero_point;
} er_concat_q_params;

/* any_gather: params [batch, outer, coord, inner] and indices [batch, n_idx] -> out [batch, outer, n_idx,
 * inner]. An index outside [0, coord) fails with ER_ERR_INDEX. */
typedef struct er_gather_params {
  int64_t batch;
  int64_t outer;
  int64_t coord;
  int64_t inner_bytes;
  int64_t n_idx;
  int32_t idx_size;                /* 2, 4 or 8 (int16, int32, int64 indices) */
} er_gather_params;

/* any_gather_nd: indices [n, k] address slices of slice_elems elements in params; the flat position
 * sum(index_j * strides[j]) must lie in [0, params count - slice_elems] (TFLite's check), else
 * ER_ERR_INDEX. */
typedef struct er_gather_nd_params {
  int64_t n;
  int32_t k;
  int32_t idx_size;                /* 2, 4 or 8 */
  int32_t elem_size;
  int64_t slice_elems;
  int64_t strides[8];              /* ER_MAX_DIMS, in elements */
} er_gather_nd_params;

/* RESIZE_BILINEAR kernels (f32, s8, s16, u8): NHWC input and output; output H, W come from the output. */
typedef struct er_resize_params {
  int32_t align_corners;
  int32_t half_pixel_centers;
} er_resize_params;

/* any_space_to_batch: NHWC (3D inputs as W = 1) -> [bh*bw*N, OH, OW, C], padding with pad_bytes. */
typedef struct er_space_batch_params {
  int32_t block_h;
  int32_t block_w;
  int32_t pad_top;
  int32_t pad_left;
  int32_t elem_size;
  uint8_t pad_bytes[8];
} er_space_batch_params;

#endif
