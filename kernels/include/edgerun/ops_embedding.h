/* Params of the embedding/hashing kernels (kernels/ref/embedding.c): EMBEDDING_LOOKUP_SPARSE and
 * LSH_PROJECTION. cdef-friendly: structs and integer #defines only. */
#ifndef EDGERUN_OPS_EMBEDDING_H
#define EDGERUN_OPS_EMBEDDING_H
#include "edgerun/core.h"

/* f32_embedding_lookup_sparse: ids [N] int32, indices [N, lookup_rank] int32, dense_shape [lookup_rank] int32,
 * weights [N] float32, params [rows, embedding...] float32 -> out [dense_shape[:-1], embedding...]. Row ids[i]
 * times weights[i] is summed into the output row its indices (all but the last) select; consecutive ids with
 * the same output row form a bucket that MEAN divides by its total weight and SQRTN by the square root of its
 * weights' squares (TFLite's order, in float). */
#define ER_COMBINER_SUM 0
#define ER_COMBINER_MEAN 1
#define ER_COMBINER_SQRTN 2
typedef struct er_embedding_sparse_params {
  int64_t rows;            /* params dim 0 */
  int64_t embedding_size;  /* product of params dims 1.. */
  int64_t buckets;         /* product of dense_shape[:-1]: output rows */
  int32_t lookups;         /* N */
  int32_t lookup_rank;
  int32_t combiner;        /* ER_COMBINER_* */
} er_embedding_sparse_params;

/* i32_lsh_projection: hash seeds [num_hash, num_bits] float32, input [items, ...] (any fixed-size type: its
 * bytes are hashed), weight [items] float32 (optional) -> int32. Each bit is the sign of the sum over items of
 * weight * Fingerprint64(seed bytes ++ item bytes) (farmhash's, as a double). Dense: one output per bit;
 * sparse: one per hash, its bits packed plus hash * 2^num_bits. Scratch: 4 + item_bytes bytes. */
typedef struct er_lsh_params {
  int64_t items;
  int64_t item_bytes;
  int32_t num_hash;
  int32_t num_bits;
  int32_t sparse;
} er_lsh_params;

/* any_hashtable_lookup (HASHTABLE_LOOKUP): lookups [N] int32, keys [K] int32 (ascending), values [K, ...] of any
 * fixed-size type -> out [N, ...] (the row of the key found, zeros when none) and hits [N] uint8. */
typedef struct er_hashtable_lookup_params {
  int64_t row_bytes;
} er_hashtable_lookup_params;

#endif
