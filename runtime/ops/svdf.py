"""SVDF with its state variable: float32, hybrid (int8 feature weights, float activations) and full integer
(int8 activations, int16 time weights and state, int32 bias; activation RELU, the only one LiteRT's integer
kernel accepts). Kernels: kernels/ref/svdf.c (the formulas are in kernels/include/edgerun/ops_svdf.h)."""
from __future__ import annotations

import numpy as np
from edgerun.runtime.ops import Kernel, register
from edgerun.runtime.ops import lstm as seq
from edgerun.runtime.quant import quantize_multiplier

F32, I32, I16, I8 = 0, 2, 7, 9


def _scale(ctx, i, t):
    if t.scale.size != 1:
        raise ctx.unsupported(f"input {i} '{t.name}' needs one (per-tensor) quantization scale, has {t.scale.size}")
    return np.float32(t.scale[0])


@register("SVDF")
def svdf(ctx):
    if len(ctx.inputs) != 5:
        raise ctx.unsupported(f"expected 5 inputs, got {len(ctx.inputs)}")
    for i, what in ((0, "input"), (1, "weights_feature"), (2, "weights_time"), (4, "state")):
        if ctx.inputs[i] is None:
            raise ctx.unsupported(f"required input {i} ({what}) is missing")
    x, wf, wt, bias, state = ctx.inputs
    if len(x.shape) != 2 or len(wf.shape) != 2 or len(wt.shape) != 2 or len(state.shape) != 2:
        raise ctx.shape_error(f"input {x.shape}, weights_feature {wf.shape}, weights_time {wt.shape} and state "
                              f"{state.shape} must all be 2-D")
    rank = int(ctx.opt("rank", 0))
    B, I = x.shape
    F, M = wf.shape[0], wt.shape[1]
    if rank < 1 or F % rank:
        raise ctx.unsupported(f"rank {rank} must be >= 1 and divide the {F} filters")
    U = F // rank
    if wf.shape[1] != I or wt.shape[0] != F or state.shape != (B, F * M) or (bias is not None and bias.shape != (U,)):
        raise ctx.shape_error(f"shapes do not fit: input {x.shape}, weights_feature {wf.shape} ([filters, {I}]), "
                              f"weights_time {wt.shape} ([{F}, memory]), bias {None if bias is None else bias.shape} "
                              f"([{U}]), state {state.shape} ([{B}, {F * M}])")
    if not seq._is_variable(ctx, state):
        raise ctx.unsupported(f"state '{state.name}' must be a variable tensor (is_variable), as TFLite requires")
    act = int(ctx.opt("fusedActivationFunction", 0))
    fields = {"batch": B, "input_size": I, "num_filters": F, "num_units": U, "rank": rank, "memory_size": M,
              "activation": act, "asymmetric": int(bool(ctx.opt("asymmetricQuantizeInputs", False)))}
    out = ctx.outputs[0]
    if x.type == F32 and wf.type == F32:
        for i, t in ((2, wt), (3, bias), (4, state)):
            if t is not None and t.type != F32:
                raise ctx.dtype_error(f"input {i} '{t.name}' is {t.type_name}, expected FLOAT32")
        if act not in range(5):
            raise ctx.unsupported(f"fused activation {act} (NONE, RELU, RELU_N1_TO_1, RELU6, TANH)")
        ctx.set_output(0, (B, U), F32)
        return Kernel("f32_svdf", ctx.new("er_svdf_params *", fields), scratch_bytes=4 * B * F)
    if x.type == F32 and wf.type == I8:
        if wt.type != I8:
            raise ctx.unsupported(f"hybrid SVDF needs INT8 weights_time, got {wt.type_name}")
        for i, t in ((3, bias), (4, state)):
            if t is not None and t.type != F32:
                raise ctx.dtype_error(f"input {i} '{t.name}' is {t.type_name}, expected FLOAT32")
        if act not in range(5):
            raise ctx.unsupported(f"fused activation {act} (NONE, RELU, RELU_N1_TO_1, RELU6, TANH)")
        _scale(ctx, 1, wf)
        _scale(ctx, 2, wt)
        ctx.set_output(0, (B, U), F32)
        scratch = 4 * B * F + 8 * B + ((B * I + 3) & ~3)
        return Kernel("h_svdf", ctx.new("er_svdf_params *", fields), scratch_bytes=scratch)
    if x.type == I8:
        want = ((1, wf, I8), (2, wt, I16), (3, bias, I32), (4, state, I16))
        for i, t, ty in want:
            if t is not None and t.type != ty:
                raise ctx.dtype_error(f"input {i} '{t.name}' is {t.type_name}; integer SVDF takes int8 input and "
                                      f"weights_feature, int16 weights_time and state, int32 bias")
        if out.type != I8:
            raise ctx.dtype_error(f"output '{out.name}' is {out.type_name}, expected INT8")
        if act != 1:
            raise ctx.unsupported(f"integer SVDF with fused activation {act}: LiteRT's kernel takes RELU only")
        s_in, s_wf, s_st, s_wt = _scale(ctx, 0, x), _scale(ctx, 1, wf), _scale(ctx, 4, state), _scale(ctx, 2, wt)
        s_out = np.float32(out.scale[0]) if out.scale.size == 1 else None
        if s_out is None:
            raise ctx.unsupported(f"output '{out.name}' needs one (per-tensor) quantization scale")
        m1, sh1 = quantize_multiplier(float(np.float32(s_in * s_wf) / s_st))
        m2, sh2 = quantize_multiplier(float(np.float32(s_st * s_wt) / s_out))
        if not (-31 <= sh1 <= 30 and -31 <= sh2 <= 30):
            raise ctx.unsupported(f"effective scales {float(s_in * s_wf / s_st):g}, {float(s_st * s_wt / s_out):g} "
                                  f"out of the fixed-point range")
        fields.update(mult1=m1, shift1=sh1, mult2=m2, shift2=sh2, input_zero_point=int(x.zero_point[0]),
                      output_zero_point=int(out.zero_point[0]))
        ctx.set_output(0, (B, U), I8)
        return Kernel("s8_svdf", ctx.new("er_svdf_params *", fields), scratch_bytes=4 * B * F)
    raise ctx.unsupported(f"input '{x.name}' {x.type_name} with weights_feature {wf.type_name}: SVDF runs float32, "
                          f"hybrid (float32 input, INT8 weights) and full integer (INT8)")
