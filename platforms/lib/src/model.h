/* The loaded model: everything lives in one block allocated at open (src/load.c); src/runtime.c is the
 * public API over it. Internal to the library. */
#ifndef EDGERUN_MODEL_H
#define EDGERUN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "edgerun/edgerun.h"
#include "edgerun_runtime.h"

#define ERR_TEXT 256

typedef struct er_rt_op_info {
  int32_t index;        /* operator index in its subgraph */
  const char *op;       /* op type name ("CONV_2D") */
  const char *kernel;   /* kernel name ("s8_conv2d") */
  int32_t params;       /* params block, -1 none */
  uint64_t calls;       /* profile (main subplan only, edgerun_set_profiling): zero from open */
  uint64_t ns;
} er_rt_op_info;

typedef struct er_rt_variable {
  uint8_t *data;
  size_t bytes;
  const uint8_t *initial;  /* NULL: zeros */
} er_rt_variable;

struct edgerun_model {
  char error[ERR_TEXT];
  void *block;             /* what malloc returned: the one allocation of the model */
  size_t block_bytes;
  char target[16];
  char kernel_set[16];
  uint8_t *arena;
  size_t arena_bytes;
  int32_t n_subplans;
  er_plan *plans;          /* [n_subplans], subplan 0 is the main graph */
  er_rt_op_info *ops0;     /* op infos of the main subplan (messages) */
  int32_t n_variables;
  er_rt_variable *variables;
  int32_t n_inputs, n_outputs;
  edgerun_tensor_info *io;   /* inputs then outputs */
  er_tensor **io_tensors;    /* inputs then outputs */
  int32_t threads;
  er_pool *pool;             /* threads > 1: the workers (edgerun_set_num_threads; NULL when 1) */
  int32_t profiling;         /* edgerun_set_profiling: invoke times each op of the main subplan */
  er_tensor *tensors0;       /* the main subplan's tensors, by the model's tensor index (er_rt_tensors) */
  int32_t n_tensors0;
};

#define ER_RT_BORROW 1      /* constants used in place (EDGERUN_BORROW) */
#define ER_RT_NO_CHECKSUM 2 /* skip the CRC-32 (the desktop's own plan cache, written atomically by this process
                             * kind: every structural check still runs) */
#define ER_RT_QUIET 4       /* messages formatted only when the open fails (then it runs again with them) */

/* Validate `data` and build the model in one block (copying the file unless ER_RT_BORROW). On failure returns
 * the status and writes the message into err. */
edgerun_status er_rt_load(const uint8_t *data, size_t size, int flags, void *owned, edgerun_model **out, char *err,
                          size_t err_size);

/* For the desktop interpreter's plan cache (runtime/plan_cache.py), which opens cached plans through this
 * library: open borrowed bytes without the checksum, quietly; the main subplan's tensor records (count in *count),
 * indexed by the model's tensor ids (data NULL where the plan keeps no bytes); a variable's memory. */
edgerun_status er_rt_open_cached(const void *data, size_t size, edgerun_model **model, char *error,
                                 size_t error_size);
er_tensor *er_rt_tensors(edgerun_model *model, int32_t *count);
edgerun_status er_rt_variable_data(edgerun_model *model, int32_t index, void **data, size_t *bytes);

#endif
