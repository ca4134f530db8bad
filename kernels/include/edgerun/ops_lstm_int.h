/* Params of the full-integer LSTM kernel (s8_lstm, kernels/ref/lstm_int.c): UNIDIRECTIONAL_SEQUENCE_LSTM and
 * LSTM in TFLite's 8x8_16 form — int8 input/output/output state, int8 weights, int16 peephole and layer-norm
 * weights, int32 biases, int16 cell state with a power-of-two scale. cdef-friendly: structs and integers only.
 *
 * Tensors are named by op input index in UNIDIRECTIONAL_SEQUENCE_LSTM order (ER_LSTM_* of ops_lstm.h); -1
 * marks an absent optional input. Every requantization is a (Q31 multiplier, shift) pair as TFLite's
 * QuantizeMultiplier makes it; the handler (runtime/ops/lstm_int.py) derives them from the tensor scales. */
#ifndef EDGERUN_OPS_LSTM_INT_H
#define EDGERUN_OPS_LSTM_INT_H
#include "edgerun/core.h"

typedef struct er_lstm_int_gate {
  int32_t x_mult, x_shift;  /* input x W_x: input scale * weight scale / gate scale */
  int32_t h_mult, h_shift;  /* output state x W_h */
  int32_t c_mult, c_shift;  /* peephole: 2^cell_scale * peephole scale / gate scale */
  int32_t ln_mult, ln_shift; /* layer norm coefficient scale */
  int32_t variance_guard;   /* layer norm: the variance used when the computed one is below 1 */
} er_lstm_int_gate;

typedef struct er_lstm_int_params {
  int32_t in[24];           /* ER_LSTM_SLOTS: op input index of each slot, -1 when absent */
  int32_t n_batch;
  int32_t n_time;
  int32_t time_major;       /* input [T, B, n_input] when 1, else [B, T, n_input]; the output likewise */
  int32_t n_input;
  int32_t n_cell;
  int32_t n_output;
  int32_t input_zp;
  int32_t output_state_zp;
  int32_t hidden_zp;        /* zero point of intermediate 4 (the hidden state o .* tanh(c)) */
  int32_t cell_scale;       /* log2 of the cell state's scale, in [-15, -9] */
  int32_t cell_clip;        /* quantized cell clip (> 0: clip the cell state to [-clip, clip]) */
  int32_t proj_clip;        /* quantized projection clip, in [0, 127] */
  int32_t hidden_mult, hidden_shift; /* o .* tanh(c) (Q0.15 x Q0.15) to the hidden (or output) scale */
  int32_t proj_mult, proj_shift;     /* hidden x W_proj to the output state scale */
  er_lstm_int_gate gates[4]; /* input, forget, cell, output */
} er_lstm_int_params;

/* The 8x8_8 form (s8_lstm_8x8_8, kernels/ref/lstm_int8.c): LSTM with int8 input and 12 intermediate tensors,
 * three per gate g (input, forget, cell, output): 3g the gate's pre-activation, 3g+1 the int8 input product,
 * 3g+2 the int8 recurrent product. LiteRT computes the forget, cell and output gates (CIFG always) with a
 * float layer norm, sigmoid and tanh; the cell state is read as Q0.15 whatever its tensor's scale. */
typedef struct er_lstm_int8_gate {
  int32_t x_mult, x_shift;   /* input x W_x to the int8 product: input scale * weight scale / scale(3g+1) */
  int32_t h_mult, h_shift;   /* output state x W_h to the int8 product: state scale * weight scale / scale(3g+2) */
  int32_t x_zp, h_zp;        /* zero points of the two int8 products, in [-128, 127] */
  int32_t xa_mult, xa_shift; /* input product to the int16 gate: scale(3g+1) / scale(3g) */
  int32_t ha_mult, ha_shift; /* recurrent product to the gate: scale(3g+2) / scale(3g) (output gate: see the
                                handler, LiteRT's parameters) */
  int32_t ln_mult, ln_shift; /* layer norm coefficient scale (the float layer norm rebuilds it from these) */
} er_lstm_int8_gate;

typedef struct er_lstm_int8_params {
  int32_t in[24];            /* ER_LSTM_SLOTS: op input index of each slot, -1 when absent */
  int32_t n_batch;
  int32_t n_time;            /* time-major input [T, B, n_input] (T = 1: [B, n_input]) */
  int32_t n_input;
  int32_t n_cell;
  int32_t n_output;
  int32_t input_zp;
  int32_t output_state_zp;
  int32_t cell_clip;         /* quantized cell clip in Q0.15, in [0, 32767] (0: none) */
  int32_t proj_clip;         /* quantized projection clip, in [0, 127] (0: none) */
  int32_t proj_mult, proj_shift; /* Q0.15 hidden x W_proj to the output state scale (int64 requantization) */
  er_lstm_int8_gate gates[3];    /* forget, cell, output */
} er_lstm_int8_params;

#endif
