/* edgerun runtime: load a prepared plan file and run it. The one public header of platforms/lib.
 *
 * A plan file is made on the desktop (`edgerun compile MODEL --target linux-aarch64 --format plan -o m.plan`):
 * shapes, quantization, weight packing and memory planning are done; this library only checks the file,
 * lays it out in memory and calls the kernels. Format: platforms/lib/PLAN_FORMAT.md.
 *
 *   char err[256];
 *   edgerun_model *m;
 *   if (edgerun_open_file("m.plan", &m, err, sizeof err) != EDGERUN_OK) { puts(err); return 1; }
 *   edgerun_set_input(m, 0, x, sizeof x);        // copy in (size checked), or write edgerun_input_buffer()
 *   if (edgerun_invoke(m) != EDGERUN_OK) puts(edgerun_last_error(m));
 *   edgerun_get_output(m, 0, y, sizeof y);       // copy out (size checked), or read edgerun_output_buffer()
 *   edgerun_close(m);
 *
 * Contract:
 * - Every function returns a status; on failure the model's last error (edgerun_last_error) says what and
 *   where (field, op, tensor). Opening reports into the caller's buffer, as there is no model yet. No
 *   function aborts, prints or exits.
 * - Opening validates the whole file (every offset, length, index, count, type, rank, alignment, kernel
 *   name, struct layout, pointer range, the subplan graph) and allocates ONE block for the model: records,
 *   arena, variables (and the file's copy unless borrowed). edgerun_set_num_threads(n > 1) allocates the
 *   thread pool and its workers' scratch. Invoke allocates nothing.
 * - Models share nothing: separate models may be used from separate threads at the same time; one model
 *   from one thread at a time. Two process-wide settings of the kernels are left at their defaults and
 *   never written by a device library: the requantization rounding mode (er_rounding_mode, TFLite's double
 *   rounding). A library built with the desktop's optimized x86 kernels (linux-x86_64 plans) selects their
 *   micro-kernels process-wide (er_select_isa) when opening such a plan: open plans of one kernel set there.
 * - Inputs: write them before every invoke. A device plan lets its graph reuse input memory once read.
 * - What the loader checks besides the structure: each kernel gets the params struct it reads, at least the
 *   inputs and outputs it indexes, a tensor (not an absent -1) at every position it dereferences without a
 *   NULL test, and non-NULL params pointers wherever it dereferences them without a test (a table generated
 *   from the kernel sources, src/layout_gen.c); the lengths of per-channel and per-input arrays (conv family
 *   multipliers, shifts, channel_scales; quantize scales and zero points; concatenation tables); the ranges
 *   of the integers kernels divide or shift by (conv groups, strides, dilations, depth multiplier;
 *   requantization shifts of conv, MEAN/SUM, QUANTIZE and binary ops; conv zero-point offsets; products of
 *   GATHER's counts); index-map tables (STRIDED_SLICE, TRANSPOSE, PAD, ...) and the packed float conv's
 *   window offsets against their input; 64-bit counts and strides within +-(2^31 - 1); that every pointer
 *   and tensor lies inside its memory and that an op's outputs alias its inputs only from their start.
 * - What it trusts: the other numbers of params and the contents of constants, as the desktop's prepare step
 *   made them. Shapes in params agree with the tensors' (a convolution's padding with its output size, a
 *   reduction's or gather's strides and counts), packed weights and lookup tables are as long as the kernel
 *   reads (panel counts, table sizes) and hold what it expects, and a WHILE loop ends: it runs until its
 *   condition is false or its plan's iteration limit (`Preparer(max_loop_iterations=N)`; 0, the default, is
 *   no limit, as TFLite).
 *   The kernels check the shapes they index with only in part, so a hostile plan can still make one read or
 *   write outside its tensors, or loop without end. A CRC-32 rejects accidental corruption. Load plans you
 *   made (or verified); the resealed fuzz (tests/platforms/test_plan_fuzz.py) is what these checks meet.
 */
#ifndef EDGERUN_RUNTIME_H
#define EDGERUN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGERUN_PLAN_FORMAT_VERSION 1

typedef enum edgerun_status {
  EDGERUN_OK = 0,
  EDGERUN_ERROR_ARGUMENT = 1,    /* NULL pointer, index out of range, size mismatch, bad thread count */
  EDGERUN_ERROR_IO = 2,          /* the file cannot be opened or read */
  EDGERUN_ERROR_FORMAT = 3,      /* not a valid plan file: the message names the field */
  EDGERUN_ERROR_VERSION = 4,     /* a format version this library does not read */
  EDGERUN_ERROR_INCOMPATIBLE = 5,/* kernels, params layouts or kernel set this library lacks */
  EDGERUN_ERROR_MEMORY = 6,      /* the model's block (or a thread pool) could not be allocated */
  EDGERUN_ERROR_INVOKE = 7,      /* a kernel failed: the message names the op and the kernel's status */
  EDGERUN_ERROR_UNSUPPORTED = 8  /* a valid request this build cannot do (threads > 1 without threads) */
} edgerun_status;

/* Element types: TFLite's TensorType values. */
enum {
  EDGERUN_FLOAT32 = 0, EDGERUN_FLOAT16 = 1, EDGERUN_INT32 = 2, EDGERUN_UINT8 = 3, EDGERUN_INT64 = 4,
  EDGERUN_BOOL = 6, EDGERUN_INT16 = 7, EDGERUN_INT8 = 9, EDGERUN_FLOAT64 = 10, EDGERUN_UINT64 = 12,
  EDGERUN_UINT32 = 15, EDGERUN_UINT16 = 16
};

typedef struct edgerun_model edgerun_model;

/* An input or output. `name` lives as long as the model. scale is 0 when not quantized (per-channel
 * tensors report their first channel's). */
typedef struct edgerun_tensor_info {
  const char *name;
  int32_t type;        /* EDGERUN_FLOAT32, ... */
  int32_t ndim;
  int32_t dims[8];
  float scale;
  int32_t zero_point;
  size_t bytes;
} edgerun_tensor_info;

/* How edgerun_open_memory treats the caller's bytes. */
#define EDGERUN_COPY 0   /* copied into the model's block: the caller may free them after opening */
#define EDGERUN_BORROW 1 /* used in place (constants are not copied): they must be 16-byte aligned and
                          * outlive the model, unchanged */

/* Open a plan held in memory. On failure *model is NULL and `error` (when not NULL) holds the message. */
edgerun_status edgerun_open_memory(const void *data, size_t size, int mode, edgerun_model **model, char *error,
                                   size_t error_size);
/* Open a plan file (read whole into the model's block). */
edgerun_status edgerun_open_file(const char *path, edgerun_model **model, char *error, size_t error_size);
/* Free the model (NULL is fine). */
void edgerun_close(edgerun_model *model);

int32_t edgerun_input_count(const edgerun_model *model);
int32_t edgerun_output_count(const edgerun_model *model);
edgerun_status edgerun_input_info(edgerun_model *model, int32_t index, edgerun_tensor_info *info);
edgerun_status edgerun_output_info(edgerun_model *model, int32_t index, edgerun_tensor_info *info);
/* Position of the input/output named `name`, or -1 (and the last error set). */
int32_t edgerun_input_index(edgerun_model *model, const char *name);
int32_t edgerun_output_index(edgerun_model *model, const char *name);

/* The tensor's memory inside the model (valid until close); *bytes its size. */
edgerun_status edgerun_input_buffer(edgerun_model *model, int32_t index, void **data, size_t *bytes);
edgerun_status edgerun_output_buffer(edgerun_model *model, int32_t index, const void **data, size_t *bytes);
/* Copy in / out; `bytes` must equal the tensor's size. */
edgerun_status edgerun_set_input(edgerun_model *model, int32_t index, const void *data, size_t bytes);
edgerun_status edgerun_get_output(edgerun_model *model, int32_t index, void *data, size_t bytes);

/* Run the model once. Variables (state) carry over to the next invoke. */
edgerun_status edgerun_invoke(edgerun_model *model);
/* Threads for invoke (default 1: no thread is started). n > 1 starts n - 1 worker threads, kept until the next
 * call or close, over which convolution, depthwise and fully-connected split their work (results are the same
 * for every count); this call allocates, invoke never does. Outside 1..1024: EDGERUN_ERROR_ARGUMENT; a build
 * without threads: EDGERUN_ERROR_UNSUPPORTED; threads or memory refused: EDGERUN_ERROR_MEMORY; each with a
 * message, the previous setting kept. */
edgerun_status edgerun_set_num_threads(edgerun_model *model, int32_t threads);
/* Every variable back to its initial value (zeros when it has none): the next invoke starts a new stream. */
edgerun_status edgerun_reset_variables(edgerun_model *model);

/* Per-op profile. Off by default; off, invoke runs exactly as without it (one flag test per invoke). On,
 * invoke reads CLOCK_MONOTONIC at each boundary between the op records of the main graph and adds the time
 * and a call to that record's entry; the entries are part of the model's block (nothing allocated). An
 * entry's time runs from the end of the previous record to the end of its own, so the entries of an invoke
 * add up to its walk of the op records (the caller's time around edgerun_invoke is a little more).
 * Control flow: a WHILE, IF or CALL_ONCE record's time includes every op of the subplans it runs (its
 * condition, body, branches), which have no entries of their own; a model that is one WHILE loop shows one
 * entry. Entries follow the plan's op records: an operator the desktop prepared as two kernels has two
 * entries with its index, one folded away at prepare has none. */
typedef struct edgerun_op_profile {
  int32_t index;          /* the operator's index in the model's main graph (the .tflite's op number) */
  const char *op;         /* its op type ("CONV_2D", "WHILE"); lives as long as the model */
  const char *kernel;     /* the kernel its record calls ("s8_conv2d"); lives as long as the model */
  uint64_t calls;         /* profiled invokes that reached it */
  uint64_t nanoseconds;   /* its accumulated time over them */
} edgerun_op_profile;

/* Op records of the main graph: the entries of the profile, 0..count-1 in execution order. */
int32_t edgerun_op_count(const edgerun_model *model);
/* on != 0 starts timing (entries keep what they hold), 0 stops it (entries stay readable). */
edgerun_status edgerun_set_profiling(edgerun_model *model, int32_t on);
/* Entry `index` (0..edgerun_op_count-1); calls and nanoseconds are 0 until a profiled invoke. */
edgerun_status edgerun_profile(edgerun_model *model, int32_t index, edgerun_op_profile *out);
/* Every entry's calls and time back to 0. */
edgerun_status edgerun_reset_profile(edgerun_model *model);

/* The message of the last failure on this model ("" when none). Valid until the next call on the model. */
const char *edgerun_last_error(const edgerun_model *model);
const char *edgerun_status_name(edgerun_status status);

/* Facts about an open model: the target and kernel set its plan was made for, the bytes of its block
 * (records, arena, variables, and the file's copy unless borrowed) and of its arena. */
const char *edgerun_model_target(const edgerun_model *model);
const char *edgerun_model_kernel_set(const edgerun_model *model);
size_t edgerun_model_bytes(const edgerun_model *model);
size_t edgerun_arena_bytes(const edgerun_model *model);

/* This library: its version and the kernel sets it runs, comma-separated ("ref,portable,sse2,avx2,avx512vnni"). */
const char *edgerun_runtime_version(void);
const char *edgerun_kernel_sets(void);

#ifdef __cplusplus
}
#endif

#endif
