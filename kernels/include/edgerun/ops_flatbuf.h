/* Model loading: a subgraph's Tensor tables read in one C call (kernels/opt/flatbuf_read.c) for
 * runtime/model.py, instead of a Python object per table and field. Every position is checked to lie in the
 * file; a tensor it cannot read cleanly (anything out of bounds, a truncated vtable, a scale that is negative
 * or not finite, a zero point outside int32) is marked not ok, and the caller then reads the subgraph with
 * its Python reader, which raises the error naming the tensor (or accepts what this reader was too strict
 * for). cdef-friendly: integer #defines and declarations only. */
#ifndef EDGERUN_OPS_FLATBUF_H
#define EDGERUN_OPS_FLATBUF_H
#include "edgerun/core.h"

/* Columns of one tensor's row (int64): absolute positions in the file (0: absent) and counts. */
#define ER_TF_SHAPE 0        /* first int32 of the shape vector */
#define ER_TF_SHAPE_LEN 1
#define ER_TF_SIGNATURE 2    /* first int32 of shape_signature */
#define ER_TF_SIGNATURE_LEN 3
#define ER_TF_NAME 4         /* first byte of the name */
#define ER_TF_NAME_LEN 5
#define ER_TF_SCALE 6        /* first float32 of the quantization scales */
#define ER_TF_SCALE_LEN 7
#define ER_TF_ZERO_POINT 8   /* first int64 of the zero points */
#define ER_TF_ZERO_POINT_LEN 9
#define ER_TF_SPARSITY 10    /* the SparsityParameters table */
#define ER_TF_BUFFER 11      /* buffer index (uint32 as stored) */
#define ER_TF_TYPE 12        /* TensorType (int8 as stored) */
#define ER_TF_VARIABLE 13    /* is_variable */
#define ER_TF_QUANT_DIM 14   /* quantized_dimension */
#define ER_TF_OK 15          /* 1: every field read within the file and the quantization values valid */
#define ER_TF_COLS 16

/* The n tensors whose table offsets start at `vec` (the element after the vector's length) in buf[0, size),
 * one row of ER_TF_COLS int64 each in out. Returns how many are ok. */
int64_t er_read_tensors(const uint8_t *buf, int64_t size, int64_t vec, int64_t n, int64_t *out);

/* Columns of one Buffer table's row (int64). */
#define ER_BF_DATA 0      /* first byte of the data vector (0: absent) */
#define ER_BF_DATA_LEN 1
#define ER_BF_OFFSET 2    /* data stored after the flatbuffer (models over 2 GB): offset, size */
#define ER_BF_SIZE 3
#define ER_BF_OK 4        /* 1: every field read within the file */
#define ER_BF_COLS 5

/* The n Buffer tables whose offsets start at `vec`, one row of ER_BF_COLS int64 each. Returns how many are
 * ok (the bounds of the data itself are the caller's to check: its error names the buffer). */
int64_t er_read_buffers(const uint8_t *buf, int64_t size, int64_t vec, int64_t n, int64_t *out);

/* Columns of one Operator table's row (int64). */
#define ER_OP_OPCODE 0        /* opcode_index */
#define ER_OP_INPUTS 1        /* first int32 of inputs (0: absent) */
#define ER_OP_INPUTS_LEN 2
#define ER_OP_OUTPUTS 3
#define ER_OP_OUTPUTS_LEN 4
#define ER_OP_INTERMEDIATES 5
#define ER_OP_INTERMEDIATES_LEN 6
#define ER_OP_OPTIONS_TYPE 7  /* builtin_options_type, and where the union's table is (0: absent) */
#define ER_OP_OPTIONS 8
#define ER_OP_OPTIONS2_TYPE 9 /* builtin_options_2 */
#define ER_OP_OPTIONS2 10
#define ER_OP_CUSTOM 11       /* first byte of custom_options */
#define ER_OP_CUSTOM_LEN 12
#define ER_OP_LARGE_OFFSET 13 /* large_custom_options_offset, _size */
#define ER_OP_LARGE_SIZE 14
#define ER_OP_OK 15
#define ER_OP_COLS 16

/* The n Operator tables whose offsets start at `vec`, one row of ER_OP_COLS int64 each (vectors within the
 * file; the index values, options and large custom options are the caller's to check). Returns how many are ok. */
int64_t er_read_operators(const uint8_t *buf, int64_t size, int64_t vec, int64_t n, int64_t *out);
#endif
