/* The public API of platforms/lib (include/edgerun_runtime.h) over a loaded model (src/load.c). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgerun/host_isa.h"
#include "model.h"

#ifndef EDGERUN_RUNTIME_VERSION
#define EDGERUN_RUNTIME_VERSION "0.1.0"
#endif

static edgerun_status set_error(edgerun_model *m, edgerun_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->error, sizeof m->error, fmt, ap);
  va_end(ap);
  return st;
}

static void put(char *error, size_t error_size, const char *text) {
  if (error != NULL && error_size > 0) snprintf(error, error_size, "%s", text);
}

edgerun_status edgerun_open_memory(const void *data, size_t size, int mode, edgerun_model **model, char *error,
                                   size_t error_size) {
  if (error != NULL && error_size > 0) error[0] = 0;
  if (model == NULL) {
    put(error, error_size, "edgerun_open_memory: model is NULL");
    return EDGERUN_ERROR_ARGUMENT;
  }
  *model = NULL;
  if (data == NULL || (mode != EDGERUN_COPY && mode != EDGERUN_BORROW)) {
    put(error, error_size, data == NULL ? "edgerun_open_memory: data is NULL"
                                        : "edgerun_open_memory: mode must be EDGERUN_COPY or EDGERUN_BORROW");
    return EDGERUN_ERROR_ARGUMENT;
  }
  return er_rt_load((const uint8_t *)data, size, mode == EDGERUN_BORROW ? ER_RT_BORROW : 0, NULL, model, error,
                    error_size);
}

edgerun_status edgerun_open_file(const char *path, edgerun_model **model, char *error, size_t error_size) {
  if (error != NULL && error_size > 0) error[0] = 0;
  if (model == NULL || path == NULL) {
    put(error, error_size, "edgerun_open_file: path or model is NULL");
    return EDGERUN_ERROR_ARGUMENT;
  }
  *model = NULL;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    if (error != NULL && error_size > 0) snprintf(error, error_size, "cannot open %s", path);
    return EDGERUN_ERROR_IO;
  }
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    if (error != NULL && error_size > 0) snprintf(error, error_size, "cannot read %s", path);
    return EDGERUN_ERROR_IO;
  }
  /* read into the start of what becomes the model's block (er_rt_load grows it with realloc) */
  uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
  if (buf == NULL) {
    fclose(f);
    if (error != NULL && error_size > 0) snprintf(error, error_size, "cannot allocate %ld bytes for %s", size, path);
    return EDGERUN_ERROR_MEMORY;
  }
  size_t got = fread(buf, 1, (size_t)size, f);
  fclose(f);
  if (got != (size_t)size) {
    free(buf);
    if (error != NULL && error_size > 0) snprintf(error, error_size, "short read of %s", path);
    return EDGERUN_ERROR_IO;
  }
  return er_rt_load(buf, (size_t)size, 0, buf, model, error, error_size);
}

void edgerun_close(edgerun_model *model) {
  if (model == NULL) return;
  er_pool_destroy(model->pool);
  free(model->block);
}

int32_t edgerun_input_count(const edgerun_model *model) { return model != NULL ? model->n_inputs : 0; }
int32_t edgerun_output_count(const edgerun_model *model) { return model != NULL ? model->n_outputs : 0; }

static edgerun_status io_at(edgerun_model *m, int32_t index, int output, int32_t *at) {
  int32_t n = output ? m->n_outputs : m->n_inputs;
  *at = 0;
  if (index < 0 || index >= n)
    return set_error(m, EDGERUN_ERROR_ARGUMENT, "%s index %d: the model has %d %s", output ? "output" : "input",
                     index, n, output ? "outputs" : "inputs");
  *at = output ? m->n_inputs + index : index;
  return EDGERUN_OK;
}

static edgerun_status info(edgerun_model *m, int32_t index, int output, edgerun_tensor_info *out) {
  if (m == NULL) return EDGERUN_ERROR_ARGUMENT;
  int32_t at;
  edgerun_status st = io_at(m, index, output, &at);
  if (st != EDGERUN_OK) return st;
  if (out == NULL) return set_error(m, EDGERUN_ERROR_ARGUMENT, "info is NULL");
  *out = m->io[at];
  return EDGERUN_OK;
}

edgerun_status edgerun_input_info(edgerun_model *model, int32_t index, edgerun_tensor_info *out) {
  return info(model, index, 0, out);
}
edgerun_status edgerun_output_info(edgerun_model *model, int32_t index, edgerun_tensor_info *out) {
  return info(model, index, 1, out);
}

static int32_t find(edgerun_model *m, const char *name, int output) {
  if (m == NULL) return -1;
  int32_t first = output ? m->n_inputs : 0, n = output ? m->n_outputs : m->n_inputs;
  for (int32_t k = 0; name != NULL && k < n; ++k)
    if (strcmp(m->io[first + k].name, name) == 0) return k;
  set_error(m, EDGERUN_ERROR_ARGUMENT, "no %s named '%.64s'", output ? "output" : "input", name ? name : "(null)");
  return -1;
}
int32_t edgerun_input_index(edgerun_model *model, const char *name) { return find(model, name, 0); }
int32_t edgerun_output_index(edgerun_model *model, const char *name) { return find(model, name, 1); }

edgerun_status edgerun_input_buffer(edgerun_model *model, int32_t index, void **data, size_t *bytes) {
  if (model == NULL) return EDGERUN_ERROR_ARGUMENT;
  int32_t at;
  edgerun_status st = io_at(model, index, 0, &at);
  if (st != EDGERUN_OK) return st;
  if (data == NULL) return set_error(model, EDGERUN_ERROR_ARGUMENT, "data is NULL");
  *data = model->io_tensors[at]->data;
  if (bytes != NULL) *bytes = model->io[at].bytes;
  return EDGERUN_OK;
}

edgerun_status edgerun_output_buffer(edgerun_model *model, int32_t index, const void **data, size_t *bytes) {
  if (model == NULL) return EDGERUN_ERROR_ARGUMENT;
  int32_t at;
  edgerun_status st = io_at(model, index, 1, &at);
  if (st != EDGERUN_OK) return st;
  if (data == NULL) return set_error(model, EDGERUN_ERROR_ARGUMENT, "data is NULL");
  *data = model->io_tensors[at]->data;
  if (bytes != NULL) *bytes = model->io[at].bytes;
  return EDGERUN_OK;
}

static edgerun_status copy(edgerun_model *m, int32_t index, int output, void *dst, const void *src, size_t bytes) {
  if (m == NULL) return EDGERUN_ERROR_ARGUMENT;
  int32_t at;
  edgerun_status st = io_at(m, index, output, &at);
  if (st != EDGERUN_OK) return st;
  const edgerun_tensor_info *t = &m->io[at];
  if (bytes != t->bytes)
    return set_error(m, EDGERUN_ERROR_ARGUMENT, "%s %d '%.64s' holds %zu bytes, not %zu", output ? "output" : "input",
                     index, t->name, t->bytes, bytes);
  if ((output ? dst : src) == NULL && bytes > 0) return set_error(m, EDGERUN_ERROR_ARGUMENT, "data is NULL");
  if (bytes > 0) {
    void *mem = m->io_tensors[at]->data;
    if (output) memcpy(dst, mem, bytes);
    else memcpy(mem, src, bytes);
  }
  return EDGERUN_OK;
}

edgerun_status edgerun_set_input(edgerun_model *model, int32_t index, const void *data, size_t bytes) {
  return copy(model, index, 0, NULL, data, bytes);
}
edgerun_status edgerun_get_output(edgerun_model *model, int32_t index, void *data, size_t bytes) {
  return copy(model, index, 1, data, NULL, bytes);
}

static const char *kernel_status(int status) {
  switch (status) {
    case ER_ERR_PARAMS: return "op record or params inconsistent";
    case ER_ERR_UNSUPPORTED: return "type or option not implemented by the kernel";
    case ER_ERR_SHAPE: return "shapes inconsistent";
    case ER_ERR_INDEX: return "index out of range";
    case ER_ERR_KERNEL_ID: return "unknown kernel id";
    case ER_ERR_ARITH: return "arithmetic error (integer division by zero)";
    case ER_ERR_LIMIT: return "a WHILE loop ran past its iteration limit";
    default: return "kernel error";
  }
}

static uint64_t now_ns(void) {
  struct timespec t;
  if (clock_gettime(CLOCK_MONOTONIC, &t) != 0) return 0;
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* er_exec over the main subplan with one clock read per op boundary: an op's time runs from the end of the
 * previous one (the loop's few instructions included) to its own end, so the ops' times add up to the walk. */
static int exec_profiled(edgerun_model *m, const er_plan *plan, int32_t *failed) {
  uint64_t t = now_ns();
  for (int32_t i = 0; i < plan->n_ops; ++i) {
    int status = er_exec_pooled(m->pool, plan, i, i + 1, NULL);
    uint64_t end = now_ns();
    m->ops0[i].calls += 1;
    m->ops0[i].ns += end >= t ? end - t : 0;
    t = end;
    if (status != ER_OK) {
      *failed = i;
      return status;
    }
  }
  return ER_OK;
}

edgerun_status edgerun_invoke(edgerun_model *model) {
  if (model == NULL) return EDGERUN_ERROR_ARGUMENT;
  const er_plan *main = &model->plans[0];
  int32_t failed = -1;
  int status = model->profiling ? exec_profiled(model, main, &failed)
                                : er_exec_pooled(model->pool, main, 0, main->n_ops, &failed);
  if (status == ER_OK) {
    model->error[0] = 0;
    return EDGERUN_OK;
  }
  if (failed < 0 || failed >= main->n_ops)
    return set_error(model, EDGERUN_ERROR_INVOKE, "invoke failed: %s (status %d)", kernel_status(status), status);
  const er_rt_op_info *op = &model->ops0[failed];
  return set_error(model, EDGERUN_ERROR_INVOKE, "op #%d %.40s: kernel %.40s failed: %s (status %d)", op->index, op->op,
                   op->kernel, kernel_status(status), status);
}

edgerun_status edgerun_set_num_threads(edgerun_model *model, int32_t threads) {
  if (model == NULL) return EDGERUN_ERROR_ARGUMENT;
  if (threads < 1 || threads > 1024)
    return set_error(model, EDGERUN_ERROR_ARGUMENT, "threads must be between 1 and 1024, got %d", threads);
  if (threads == model->threads) return EDGERUN_OK;
  er_pool *pool = NULL;
  if (threads > 1) {
    if (!er_pool_available())
      return set_error(model, EDGERUN_ERROR_UNSUPPORTED, "%d threads requested: this build has no threads (neither "
                       "POSIX nor Windows); the model keeps running on %d", threads, model->threads);
    int64_t scratch = 0; /* every worker gets as much scratch as the largest op's */
    for (int32_t k = 0; k < model->n_subplans; ++k)
      for (int32_t i = 0; i < model->plans[k].n_ops; ++i)
        if (model->plans[k].ops[i].scratch_bytes > scratch) scratch = model->plans[k].ops[i].scratch_bytes;
    pool = er_pool_create(threads, scratch);
    if (pool == NULL)
      return set_error(model, EDGERUN_ERROR_MEMORY, "%d threads requested: the system refused %d threads or %lld "
                       "bytes of scratch each; the model keeps running on %d", threads, threads - 1,
                       (long long)scratch, model->threads);
  }
  er_pool_destroy(model->pool);
  model->pool = pool;
  model->threads = threads;
  return EDGERUN_OK;
}

int32_t edgerun_op_count(const edgerun_model *model) { return model != NULL ? model->plans[0].n_ops : 0; }

edgerun_status edgerun_set_profiling(edgerun_model *model, int32_t on) {
  if (model == NULL) return EDGERUN_ERROR_ARGUMENT;
  model->profiling = on != 0;
  return EDGERUN_OK;
}

edgerun_status edgerun_profile(edgerun_model *model, int32_t index, edgerun_op_profile *out) {
  if (model == NULL) return EDGERUN_ERROR_ARGUMENT;
  int32_t n = model->plans[0].n_ops;
  if (index < 0 || index >= n)
    return set_error(model, EDGERUN_ERROR_ARGUMENT, "op record %d: the main graph has %d", index, n);
  if (out == NULL) return set_error(model, EDGERUN_ERROR_ARGUMENT, "profile is NULL");
  const er_rt_op_info *op = &model->ops0[index];
  *out = (edgerun_op_profile){op->index, op->op, op->kernel, op->calls, op->ns};
  return EDGERUN_OK;
}

edgerun_status edgerun_reset_profile(edgerun_model *model) {
  if (model == NULL) return EDGERUN_ERROR_ARGUMENT;
  for (int32_t i = 0; i < model->plans[0].n_ops; ++i) {
    model->ops0[i].calls = 0;
    model->ops0[i].ns = 0;
  }
  return EDGERUN_OK;
}

edgerun_status edgerun_reset_variables(edgerun_model *model) {
  if (model == NULL) return EDGERUN_ERROR_ARGUMENT;
  for (int32_t k = 0; k < model->n_variables; ++k) {
    er_rt_variable *v = &model->variables[k];
    if (v->bytes == 0) continue;
    if (v->initial != NULL) memcpy(v->data, v->initial, v->bytes);
    else memset(v->data, 0, v->bytes);
  }
  return EDGERUN_OK;
}

const char *edgerun_last_error(const edgerun_model *model) {
  return model != NULL ? model->error : "no model (NULL)";
}

const char *edgerun_status_name(edgerun_status status) {
  switch (status) {
    case EDGERUN_OK: return "ok";
    case EDGERUN_ERROR_ARGUMENT: return "invalid argument";
    case EDGERUN_ERROR_IO: return "i/o error";
    case EDGERUN_ERROR_FORMAT: return "invalid plan file";
    case EDGERUN_ERROR_VERSION: return "unsupported plan format version";
    case EDGERUN_ERROR_INCOMPATIBLE: return "plan incompatible with this library";
    case EDGERUN_ERROR_MEMORY: return "out of memory";
    case EDGERUN_ERROR_INVOKE: return "invoke failed";
    case EDGERUN_ERROR_UNSUPPORTED: return "unsupported";
  }
  return "unknown status";
}

const char *edgerun_model_target(const edgerun_model *model) { return model != NULL ? model->target : ""; }
const char *edgerun_model_kernel_set(const edgerun_model *model) { return model != NULL ? model->kernel_set : ""; }
size_t edgerun_model_bytes(const edgerun_model *model) { return model != NULL ? model->block_bytes : 0; }
size_t edgerun_arena_bytes(const edgerun_model *model) { return model != NULL ? model->arena_bytes : 0; }

const char *edgerun_runtime_version(void) { return EDGERUN_RUNTIME_VERSION; }

/* what this build compiled; src/load.c also asks the CPU (er_host_isa_supported) before accepting a set */
const char *edgerun_kernel_sets(void) {
#if defined(__x86_64__) || defined(__i386__)
  return "ref,portable,sse2,avx2,avx512vnni";
#elif defined(__aarch64__) && defined(ER_HOST_ISA_NEON_DOTPROD)
  return "ref,portable,neon,neon-dotprod";
#elif defined(__ARM_NEON) && defined(ER_HOST_ISA_NEON)
  return "ref,portable,neon";
#else
  return "ref,portable";
#endif
}

/* -- the desktop interpreter's plan cache (model.h) ----------------------------------------------------- */
edgerun_status er_rt_open_cached(const void *data, size_t size, edgerun_model **model, char *error,
                                 size_t error_size) {
  if (error != NULL && error_size > 0) error[0] = 0;
  if (model == NULL || data == NULL) {
    put(error, error_size, "er_rt_open_cached: data or model is NULL");
    return EDGERUN_ERROR_ARGUMENT;
  }
  *model = NULL;
  return er_rt_load((const uint8_t *)data, size, ER_RT_BORROW | ER_RT_NO_CHECKSUM | ER_RT_QUIET, NULL, model, error,
                    error_size);
}

er_tensor *er_rt_tensors(edgerun_model *model, int32_t *count) {
  if (count != NULL) *count = model != NULL ? model->n_tensors0 : 0;
  return model != NULL ? model->tensors0 : NULL;
}

edgerun_status er_rt_variable_data(edgerun_model *model, int32_t index, void **data, size_t *bytes) {
  if (model == NULL || data == NULL || bytes == NULL) return EDGERUN_ERROR_ARGUMENT;
  if (index < 0 || index >= model->n_variables)
    return set_error(model, EDGERUN_ERROR_ARGUMENT, "variable %d of %d", index, model->n_variables);
  *data = model->variables[index].data;
  *bytes = model->variables[index].bytes;
  return EDGERUN_OK;
}
