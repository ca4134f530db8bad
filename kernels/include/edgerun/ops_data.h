/* Params of the data kernel family (kernels/ref/data_index.c, data_math.c): index ops (ONE_HOT, TOPK_V2,
 * SCATTER_ND, EMBEDDING_LOOKUP, DYNAMIC_UPDATE_SLICE, segment reductions, SPARSE_TO_DENSE, MATRIX_DIAG,
 * MATRIX_SET_DIAG, REVERSE_SEQUENCE, BROADCAST_ARGS) and math ops (CUMSUM, ADD_N, BUCKETIZE, ATAN2,
 * BITWISE_XOR, RIGHT_SHIFT, REAL, IMAG, COMPLEX_ABS). cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_DATA_H
#define EDGERUN_OPS_DATA_H
#include "edgerun/core.h"

/* any_one_hot: indices [outer, inner] (int32 or int64; compared as int, as TFLite) -> out [outer, depth,
 * inner] = on (input 2) where index == j, else off (input 3); elements of elem_size bytes. */
typedef struct er_one_hot_params {
  int64_t outer;
  int64_t depth;
  int64_t inner;
  int32_t idx_size;                /* 4 or 8 */
  int32_t elem_size;               /* 1, 4 or 8 */
} er_one_hot_params;

/* CUMSUM (f32/i32/i64): the input viewed as [outer, n, inner], summed along n in order. */
typedef struct er_scan_params {
  int64_t outer;
  int64_t n;
  int64_t inner;
  int32_t exclusive;
  int32_t reverse;
} er_scan_params;

/* TOPK_V2: rows of row_size values -> the k largest per row, in decreasing order (ties: lower index first),
 * values in output 0 and int32/int16 indices in output 1. Scratch: k int32 positions. */
typedef struct er_topk_params {
  int64_t rows;
  int64_t row_size;
  int64_t k;
  int32_t idx_size;                /* 2 or 4 */
} er_topk_params;

/* SCATTER_ND: int32 indices [n, k]; output zeroed, then each slice of `slice` elements of the updates is
 * added at the flat position sum(index_j * strides[j]), which must lie in [0, out count - slice] (TFLite's
 * check), else ER_ERR_INDEX. */
typedef struct er_scatter_nd_params {
  int64_t n;
  int32_t k;
  int32_t pad_;
  int64_t slice;
  int64_t strides[8];              /* ER_MAX_DIMS, in elements */
} er_scatter_nd_params;

/* f32_embedding_hybrid: EMBEDDING_LOOKUP of an int8/uint8 table [rows, cols] (bytes read as int8, as
 * TFLite) -> float32 rows scaled by scales[0] (n_scales 1) or scales[row] (n_scales == rows). */
typedef struct er_embedding_params {
  int64_t rows;
  int64_t cols;
  int64_t n_scales;
  const float *scales;
} er_embedding_params;

/* any_dynamic_update_slice: out = operand (input 0) with update (input 1) written at the start indices
 * (input 2, int32/int64), each clamped to [0, dims - upd] as TFLite. */
typedef struct er_dus_params {
  int32_t ndim;
  int32_t elem_size;
  int32_t idx_size;                /* 4 or 8 */
  int32_t pad_;
  int64_t dims[8];                 /* ER_MAX_DIMS: operand (= output) dims */
  int64_t upd[8];                  /* update dims */
} er_dus_params;

/* any_slice_dynamic: SLICE whose begin (input 1, int32/int64, one entry per dimension) is read at run time and
 * whose size is static: out = x[begin : begin + size] per dimension. A begin outside [0, dims - size] fails with
 * ER_ERR_INDEX, as TFLite's SLICE fails its invoke. */
typedef struct er_slice_dynamic_params {
  int32_t ndim;
  int32_t elem_size;
  int32_t idx_size;                /* 4 or 8 */
  int32_t pad_;
  int64_t dims[8];                 /* ER_MAX_DIMS: input dims */
  int64_t size[8];                 /* output dims */
} er_slice_dynamic_params;

/* Segment reductions (UNSORTED_SEGMENT_SUM/PROD/MAX/MIN, SEGMENT_SUM): data [n_ids, inner], int32 segment
 * ids [n_ids] -> out [segments, inner], starting from the op's identity. An id outside [0, segments) fails
 * with ER_ERR_INDEX. */
#define ER_SEG_SUM 0
#define ER_SEG_PROD 1
#define ER_SEG_MAX 2
#define ER_SEG_MIN 3
typedef struct er_segment_params {
  int32_t op;                      /* ER_SEG_* */
  int32_t pad_;
  int64_t n_ids;
  int64_t inner;
  int64_t segments;
} er_segment_params;

/* BUCKETIZE: out[i] = the number of boundaries <= x[i] (std::upper_bound over sorted float32 boundaries,
 * compared in the input's arithmetic as C++ does). */
typedef struct er_bucketize_params {
  int64_t n_bounds;
  const float *bounds;
} er_bucketize_params;

/* any_matrix_diag / any_matrix_set_diag: [batch, rows, cols] matrices whose main diagonal (min(rows, cols)
 * elements per matrix) comes from a [batch, min] input; MATRIX_DIAG fills the rest with zero bytes,
 * MATRIX_SET_DIAG with input 0. */
typedef struct er_matrix_diag_params {
  int64_t batch;
  int64_t rows;
  int64_t cols;
  int32_t elem_size;
} er_matrix_diag_params;

/* any_reverse_sequence: in each slice b of the batch dimension, the first seq_lengths[b] elements along
 * the sequence dimension are reversed. A length outside [0, seq_dim] fails with ER_ERR_INDEX. */
typedef struct er_reverse_seq_params {
  int64_t batch_dim;
  int64_t batch_stride;            /* in elements */
  int64_t seq_dim;
  int64_t seq_stride;
  int32_t elem_size;
  int32_t idx_size;                /* 4 or 8 */
} er_reverse_seq_params;

/* any_sparse_to_dense: out (dims) = default (input 3); then out[indices[i]] = values[i] (or the one
 * scalar value). indices [n, k] int32/int64; an index outside dims fails with ER_ERR_INDEX. */
typedef struct er_sparse_to_dense_params {
  int64_t n;
  int32_t k;
  int32_t idx_size;                /* 4 or 8 */
  int32_t elem_size;
  int32_t scalar_value;            /* 1: input 2 holds one value for all indices */
  int64_t dims[8];                 /* ER_MAX_DIMS */
} er_sparse_to_dense_params;

/* any_broadcast_args: numpy broadcast of two int32/int64 shape vectors (inputs 0 and 1); incompatible
 * shapes fail with ER_ERR_SHAPE. */
typedef struct er_broadcast_args_params {
  int32_t idx_size;                /* 4 or 8 */
} er_broadcast_args_params;

/* any_complex_part: REAL (part 0) or IMAG (part 1) of complex64/complex128. */
typedef struct er_complex_part_params {
  int32_t part;
} er_complex_part_params;

#endif
