/* Params of the recurrent kernel family: UNIDIRECTIONAL_SEQUENCE_LSTM, BIDIRECTIONAL_SEQUENCE_LSTM,
 * UNIDIRECTIONAL_SEQUENCE_RNN, BIDIRECTIONAL_SEQUENCE_RNN (float32, and hybrid: int8 weights with float
 * activations). cdef-friendly: structs and integer #defines only.
 *
 * One kernel call runs one or two directions. Each direction names its tensors by op input index in the
 * canonical order of UNIDIRECTIONAL_SEQUENCE_LSTM (the ER_LSTM_* slots below); -1 marks an absent optional
 * input. Shapes were checked at prepare; the kernels re-check what they index with. */
#ifndef EDGERUN_OPS_LSTM_H
#define EDGERUN_OPS_LSTM_H
#include "edgerun/core.h"

/* LSTM slots (UNIDIRECTIONAL_SEQUENCE_LSTM input order). Gates in the order input, forget, cell, output. */
#define ER_LSTM_INPUT 0
#define ER_LSTM_W_X 1        /* 1..4: input_to_{input,forget,cell,output}_weights [n_cell, n_input] */
#define ER_LSTM_W_H 5        /* 5..8: recurrent_to_*_weights [n_cell, n_output] (or [n_cell] diagonal) */
#define ER_LSTM_PEEP 9       /* 9..11: cell_to_{input,forget,output}_weights [n_cell] */
#define ER_LSTM_BIAS 12      /* 12..15: {input,forget,cell,output}_gate_bias [n_cell] */
#define ER_LSTM_PROJ_W 16    /* [n_output, n_cell] */
#define ER_LSTM_PROJ_B 17    /* [n_output] */
#define ER_LSTM_H 18         /* output state (variable) [n_batch, n_output] */
#define ER_LSTM_C 19         /* cell state (variable) [n_batch, n_cell] */
#define ER_LSTM_LN 20        /* 20..23: {input,forget,cell,output}_layer_norm_coefficients [n_cell] */
#define ER_LSTM_SLOTS 24

typedef struct er_lstm_dir {
  int32_t in[24];         /* ER_LSTM_SLOTS: op input index of each slot, -1 when absent */
  int32_t aux_in;         /* op input index of the auxiliary input (bidirectional ops), -1 when none */
  int32_t aux_w[4];       /* aux_input_to_{input,forget,cell,output}_weights [n_cell, n_aux], -1 when none */
  int32_t out;            /* op output index this direction writes */
  int32_t out_offset;     /* element offset of this direction inside an output row (merged outputs) */
  int32_t out_row;        /* elements per output row (n_output, or the sum of both directions when merged) */
  int32_t forward;        /* 1: time 0..T-1; 0: T-1..0 */
  int32_t n_input;
  int32_t n_aux;
  int32_t n_cell;
  int32_t n_output;
} er_lstm_dir;

typedef struct er_lstm_params {
  int32_t n_batch;
  int32_t n_time;
  int32_t time_major;     /* input [T, B, n_input] when 1, else [B, T, n_input]; outputs likewise */
  int32_t activation;     /* ER_ACT_*: the cell gate's and the cell output's activation */
  float cell_clip;        /* > 0: clip the cell state to [-cell_clip, cell_clip] */
  float proj_clip;        /* > 0: clip the projection output */
  int32_t diagonal;       /* recurrent weights are diagonals [n_cell] (diagonal_recurrent_tensors) */
  int32_t asymmetric;     /* hybrid: quantize activations asymmetrically (asymmetric_quantize_inputs) */
  int32_t n_dirs;         /* 1 or 2 */
  er_lstm_dir dirs[2];
} er_lstm_params;

/* RNN slots (UNIDIRECTIONAL_SEQUENCE_RNN input order). */
#define ER_RNN_INPUT 0
#define ER_RNN_W_X 1         /* input weights [n_units, n_input] */
#define ER_RNN_W_H 2         /* recurrent weights [n_units, n_units] */
#define ER_RNN_BIAS 3        /* [n_units] */
#define ER_RNN_H 4           /* hidden state (variable) [n_batch, n_units] */
#define ER_RNN_SLOTS 5

typedef struct er_rnn_dir {
  int32_t in[5];          /* ER_RNN_SLOTS */
  int32_t aux_in;
  int32_t aux_w;          /* aux input weights [n_units, n_aux], -1 when none */
  int32_t out;
  int32_t out_offset;
  int32_t out_row;
  int32_t forward;
  int32_t n_input;
  int32_t n_aux;
  int32_t n_units;
} er_rnn_dir;

typedef struct er_rnn_params {
  int32_t n_batch;
  int32_t n_time;
  int32_t time_major;
  int32_t activation;
  int32_t asymmetric;
  int32_t n_dirs;
  er_rnn_dir dirs[2];
} er_rnn_params;

#endif
