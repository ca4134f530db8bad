/* The whole-op kernels an optimized plan names (q_binary_opt, ...): each calls the form selected at load for
 * this CPU (er_op_kernels_selected, kernels/host_isa.c: the reference kernel, or its NEON / AVX2 form in
 * kernels/neon/, kernels/x86/, which handle their fast cases and pass the rest to the reference). Same
 * params and tensors as the reference kernel of the same name without _opt; integer results identical. */
#include "edgerun/edgerun.h"
#include "ukernels.h"

int er_q_binary_opt(const er_op *op) { return er_op_kernels_selected->q_binary(op); }
int er_q_maxpool2d_opt(const er_op *op) { return er_op_kernels_selected->q_maxpool2d(op); }
int er_q_avgpool2d_opt(const er_op *op) { return er_op_kernels_selected->q_avgpool2d(op); }
int er_f32_maxpool2d_opt(const er_op *op) { return er_op_kernels_selected->f32_maxpool2d(op); }
int er_f32_avgpool2d_opt(const er_op *op) { return er_op_kernels_selected->f32_avgpool2d(op); }
int er_q_softmax_opt(const er_op *op) { return er_op_kernels_selected->q_softmax(op); }
int er_f32_softmax_opt(const er_op *op) { return er_op_kernels_selected->f32_softmax(op); }
int er_f32_binary_opt(const er_op *op) { return er_op_kernels_selected->f32_binary(op); }
int er_any_quantize_opt(const er_op *op) { return er_op_kernels_selected->any_quantize(op); }
int er_any_dequantize_opt(const er_op *op) { return er_op_kernels_selected->any_dequantize(op); }
