/* Params of the StableHLO-style kernels (kernels/ref/stablehlo.c): the STABLEHLO_* elementwise ops and PAD that
 * LiteRT's builtin resolver runs, and REDUCE_WINDOW. Type-generic ("any_"): the tensors' type selects the
 * arithmetic. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_STABLEHLO_H
#define EDGERUN_OPS_STABLEHLO_H
#include "edgerun/core.h"

/* any_hlo_binary: y = a op b elementwise, same shapes, no broadcast, no quantization (integers wrap). */
#define ER_HLO_ADD 0
#define ER_HLO_MULTIPLY 1
#define ER_HLO_MAXIMUM 2
#define ER_HLO_MINIMUM 3
#define ER_HLO_AND 4
#define ER_HLO_SHIFT_LEFT 5
typedef struct er_hlo_binary_params {
  int32_t op;
} er_hlo_binary_params;

/* any_reduce_window: y[o] = init (fn) every element of the window at o * stride + k * window_dilation - pad_lo
 * of x dilated by base_dilation, padded with init (positions off the input or between dilated elements are init).
 * fn: TFLite's ReduceWindowFunction. */
#define ER_RW_ADD 1
#define ER_RW_MUL 2
#define ER_RW_MINIMUM 3
#define ER_RW_MAXIMUM 4
#define ER_RW_ALL 5
#define ER_RW_ANY 6
typedef struct er_reduce_window_params {
  int32_t fn;
  int32_t window[8];
  int32_t stride[8];
  int32_t base_dilation[8];
  int32_t window_dilation[8];
  int32_t pad_lo[8];
} er_reduce_window_params;

/* any_hlo_pad: y = x with lo[d] (may be negative: a crop) before, interior[d] elements between neighbours and
 * the rest up to y's shape after, the new elements = the padding value (in[1], one element). */
typedef struct er_hlo_pad_params {
  int32_t lo[8];
  int32_t interior[8];
} er_hlo_pad_params;

/* any_hlo_gather (STABLEHLO_GATHER): operand x, start indices (INT32 or INT64) -> y. Each output element: its
 * batch coordinates (the output dims whose offset_operand_dim is -1, in order) pick an index vector of n_index
 * values along index_vector_dim of the indices (== their rank: one value, no such dim); value k starts operand
 * dim start_index_map[k], clamped to [0, dim - slice_sizes[dim]]; each other output dim d adds its coordinate
 * to operand dim offset_operand_dim[d]. Any element type (copied by size). */
typedef struct er_hlo_gather_params {
  int32_t n_index;
  int32_t index_vector_dim;
  int32_t start_index_map[8];
  int32_t slice_sizes[8];
  int32_t offset_operand_dim[8];
} er_hlo_gather_params;

/* any_hlo_scatter (STABLEHLO_SCATTER): y = x, then for each element of updates (in order): its scatter
 * coordinates (the updates dims whose window_operand_dim is -1, in order) pick an index vector of n_index
 * values of the indices (INT32/INT64) along index_vector_dim; value k starts operand dim
 * scatter_dims_to_operand_dims[k]; each window dim adds its coordinate to operand dim window_operand_dim[d];
 * an element landing outside y is dropped; else y[at] = y[at] (fn) update, fn: 0 = replace, or an ER_RW_*
 * (ADD, MUL, MINIMUM, MAXIMUM): the update computations LiteRT's kernel recognises. */
typedef struct er_hlo_scatter_params {
  int32_t fn;
  int32_t n_index;
  int32_t index_vector_dim;
  int32_t scatter_dims_to_operand_dims[8];
  int32_t window_operand_dim[8];
} er_hlo_scatter_params;

/* ctl_composite (STABLEHLO_COMPOSITE): runs the decomposition subplan, the op's inputs copied into its inputs and
 * its outputs into the op's outputs (an executor record, as IF's branches). */
typedef struct er_composite_params {
  const er_plan *decomposition;
} er_composite_params;

/* ctl_case (STABLEHLO_CASE): input 0 (an INT32 scalar) picks branches[index], an index outside [0, n) the last
 * one; inputs 1.. are copied into the branch's inputs, its outputs into the op's. n <= 8 branches (entries past n
 * repeat the last: never NULL). */
typedef struct er_case_params {
  int32_t n;
  const er_plan *branches[8];
} er_case_params;

#endif
