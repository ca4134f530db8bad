/* edgerun C ABI: tensors, op records, plans and the executor.
 *
 * This header is read twice: by the C compiler, and by kernels/build.py which feeds it to cffi's cdef.
 * Keep it cdef-friendly: plain structs, enums, prototypes, and `#define NAME <integer>` only.
 */
#ifndef EDGERUN_CORE_H
#define EDGERUN_CORE_H

#include <stddef.h>
#include <stdint.h>

#define ER_MAX_DIMS 8

/* Element types: the values are TFLite's TensorType enum, so a model's type maps across unchanged. */
#define ER_FLOAT32 0
#define ER_FLOAT16 1
#define ER_INT32 2
#define ER_UINT8 3
#define ER_INT64 4
#define ER_STRING 5
#define ER_BOOL 6
#define ER_INT16 7
#define ER_COMPLEX64 8
#define ER_INT8 9
#define ER_FLOAT64 10
#define ER_UINT64 12
#define ER_UINT32 15
#define ER_UINT16 16

/* Status codes returned by kernels and by er_exec. 0 is success. */
#define ER_OK 0
#define ER_ERR_PARAMS 1      /* op record or params inconsistent (caught by prepare normally) */
#define ER_ERR_UNSUPPORTED 2 /* kernel called with a type/option it does not implement */
#define ER_ERR_SHAPE 3       /* shapes inconsistent at run time */
#define ER_ERR_INDEX 4       /* a data-dependent index (GATHER, ...) out of range */
#define ER_ERR_KERNEL_ID 5   /* unknown kernel id in an op record */
#define ER_ERR_ARITH 6       /* arithmetic domain error that TFLite also rejects (integer division by zero) */
#define ER_ERR_LIMIT 7       /* a WHILE loop ran past the iteration limit the plan was prepared with */

/* Fused activations: values are TFLite's ActivationFunctionType. */
#define ER_ACT_NONE 0
#define ER_ACT_RELU 1
#define ER_ACT_RELU_N1_TO_1 2
#define ER_ACT_RELU6 3
#define ER_ACT_TANH 4
#define ER_ACT_SIGN_BIT 5

/* Padding: values are TFLite's Padding enum. */
#define ER_PAD_SAME 0
#define ER_PAD_VALID 1

typedef struct er_tensor {
  void *data;            /* start of the elements (arena, model buffer, or user memory) */
  int32_t type;          /* ER_FLOAT32, ... */
  int32_t ndim;
  int32_t dims[8];       /* ER_MAX_DIMS; row-major, dims[ndim-1] varies fastest */
  int64_t count;         /* number of elements, product of dims */
  int64_t bytes;
  float scale;           /* per-tensor quantization (0 when not quantized) */
  int32_t zero_point;
  int32_t n_channels;    /* >1 when per-channel; then scales/zero_points have that many entries */
  int32_t quant_dim;
  const float *scales;
  const int64_t *zero_points;
} er_tensor;

/* One op of a plan. in[i] may be NULL for an absent optional input (TFLite index -1). */
typedef struct er_op {
  int32_t kernel;        /* id from er_kernel_count()/er_kernel_name() order */
  int32_t index;         /* operator index in its subgraph, for error messages */
  int32_t n_in;
  int32_t n_out;
  er_tensor *const *in;
  er_tensor *const *out;
  const void *params;    /* kernel-specific struct, prepared once */
  void *scratch;         /* scratch memory planned in the arena; NULL when none */
  int64_t scratch_bytes;
} er_op;

/* A plan: the op records of one (sub)graph, and its input and output tensors (control-flow kernels copy
 * values into and out of the subplans they run). */
typedef struct er_plan {
  int32_t n_ops;
  const er_op *ops;
  int32_t n_inputs;
  int32_t n_outputs;
  er_tensor *const *inputs;
  er_tensor *const *outputs;
} er_plan;

typedef int (*er_kernel_fn)(const er_op *op);

/* Run ops [first, last) of a plan. On failure returns the kernel's status and stores the failing op's
 * position in the plan into *failed (when failed is not NULL). */
int er_exec(const er_plan *plan, int32_t first, int32_t last, int32_t *failed);

/* A persistent pool of worker threads (kernels/pool.c), one per interpreter or C-library model. Created
 * with the total thread count (the caller included, so threads - 1 workers start) and the scratch bytes each
 * worker needs (the largest op->scratch_bytes of the plans it runs); NULL when threads < 2, when memory or a
 * thread cannot be had, or on a build without threads (microcontrollers). Destroy joins the workers. */
typedef struct er_pool er_pool;
er_pool *er_pool_create(int32_t threads, int64_t scratch_bytes);
void er_pool_destroy(er_pool *pool);
/* 1 when this build can start threads (pthreads or Windows threads), 0 otherwise */
int er_pool_available(void);
/* the least work (multiply-adds) an op must have for its kernel to split it (default ER_PARALLEL_MIN_COST of
 * edgerun/parallel.h); 0 splits every op that has two items or more (tests of the split itself) */
void er_pool_set_min_cost(er_pool *pool, int64_t cost);

/* er_exec with the heavy kernels' work split over `pool` (NULL: as er_exec). One call at a time per pool. */
int er_exec_pooled(er_pool *pool, const er_plan *plan, int32_t first, int32_t last, int32_t *failed);

/* Run one op record (used at prepare time to fold ops whose inputs are all constant). */
int er_exec_op(const er_op *op);

/* The kernel table: ids are positions; names are "<dtype>_<op>" like "f32_conv2d". */
int32_t er_kernel_count(void);
const char *er_kernel_name(int32_t id);

/* Requantization rounding of integer kernels: 0 = TFLite's default double rounding, 1 = single rounding. */
#define ER_ROUND_DOUBLE 0
#define ER_ROUND_SINGLE 1
void er_set_rounding_mode(int mode);
int er_get_rounding_mode(void);

#endif
