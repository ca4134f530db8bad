"""Full-integer LSTM: UNIDIRECTIONAL_SEQUENCE_LSTM and LSTM with an int8 input, in TFLite's 8x8_16 form (int8
input, output and output state; int8 symmetric weights; int16 peephole and layer-norm weights; int32 biases;
int16 cell state with a power-of-two scale; 5 intermediate tensors: the gate matmul scales 0-3, read with layer
norm only, and the hidden state 4). Reached from the float handlers (lstm.py, recurrent_cells.py) when the
input is INT8. Kernel s8_lstm (kernels/ref/lstm_int.c); this module derives its multipliers as TFLite's
Prepare does (the effective scales in float32, QuantizeMultiplier of each).

The 8x8_8 form (12 intermediates, LSTM only) goes to lstm_int8.py (kernel s8_lstm_8x8_8).

What LiteRT runs and edgerun refuses, by name: cell state scales outside 2^-15..2^-9 (LiteRT's tanh then
leaves its buffer unwritten); per-channel weights (LiteRT reads one scale); peephole weights with a projection
to more outputs than cells (LiteRT reads past the cell state)."""
from __future__ import annotations

import math

import numpy as np

from edgerun.runtime.ops import Kernel, lstm_int8

I8, I16, I32 = 9, 7, 2
GATES = ("input", "forget", "cell", "output")
INPUT, W_X, W_H, PEEP, BIAS, PROJ_W, PROJ_B, STATE_H, STATE_C, LN = 0, 1, 5, 9, 12, 16, 17, 18, 19, 20
f32 = np.float32


def _op_desc(ctx):
    desc = getattr(ctx.runtime, "desc", None)
    if desc is None:
        return None
    for op in desc.ops:
        if op.index == ctx.index:
            return op, desc
    return None


def _scale(t) -> np.float32:
    return f32(t.scale[0])


_zp = lstm_int8.zero_point


def integer_lstm(ctx, names, *, B, T, time_major, out_shape):
    """The s8_lstm kernel for the op's 24 inputs (LSTM / UNIDIRECTIONAL_SEQUENCE_LSTM order); `names` the slot
    names for messages."""
    ins = ctx.inputs
    reader = lstm_int8.Slots(ctx, names, "a full-integer LSTM", "required input {name} is missing")
    get, need, _mult = reader.get, reader.need, reader.multiplier

    found = _op_desc(ctx)
    inter = list(found[0].intermediates) if found else []
    if len(inter) == 12:
        if ctx.name != "LSTM":
            raise ctx.unsupported("the 8x8_8 integer LSTM (12 intermediate tensors) runs only as the LSTM op "
                                  "(LiteRT refuses it for UNIDIRECTIONAL_SEQUENCE_LSTM); this op takes the 8x8_16 "
                                  "form (5 intermediates)")
        return lstm_int8.lstm_8x8_8(ctx, names, inter, found[1], B=B, T=T, out_shape=out_shape)
    x = need(INPUT, (I8,))
    I = x.shape[-1]
    wf = need(W_X + 1, (I8,))
    if len(wf.shape) != 2 or wf.shape[1] != I:
        raise ctx.shape_error(f"{names[W_X + 1]} '{wf.name}' has shape {wf.shape}, expected [n_cell, {I}]")
    C = wf.shape[0]
    rf = need(W_H + 1, (I8,))
    if len(rf.shape) != 2 or rf.shape[0] != C:
        raise ctx.shape_error(f"{names[W_H + 1]} '{rf.name}' has shape {rf.shape}, expected [{C}, n_output]")
    O = rf.shape[1]
    cifg = get(W_X) is None
    if cifg != (get(W_H) is None):
        raise ctx.shape_error(f"{names[W_X]} and {names[W_H]} must be both present or both absent (CIFG)")
    use_ln = get(LN + 1) is not None
    peep = get(PEEP + 2) is not None
    gates = range(1 if cifg else 0, 4)
    for g in gates:
        for s, shape in ((W_X + g, (C, I)), (W_H + g, (C, O))):
            t = need(s, (I8,))
            if tuple(t.shape) != shape:
                raise ctx.shape_error(f"{names[s]} '{t.name}' has shape {t.shape}, expected {shape}")
            if np.any(t.zero_point != 0):
                raise ctx.unsupported(f"{names[s]} '{t.name}': integer LSTM weights must be symmetric (zero point 0)")
        for s, types, present in ((BIAS + g, (I32,), True), (LN + g, (I16,), use_ln),
                                  (PEEP + (2 if g == 3 else g), (I16,), peep and g != 2)):
            t = get(s)
            if not present:
                if t is not None and s >= LN:
                    raise ctx.shape_error("layer norm coefficients must be all present or all absent")
                continue
            t = need(s, types)
            if t.size != C or len(t.shape) != 1:
                raise ctx.shape_error(f"{names[s]} '{t.name}' has shape {t.shape}, expected ({C},)")
    if cifg and (get(BIAS) is not None or get(PEEP) is not None or get(LN) is not None):
        raise ctx.shape_error("a CIFG LSTM (no input gate weights) takes no input gate bias, peephole or layer norm")
    if get(PEEP + 1) is not None and not peep:
        raise ctx.shape_error("peephole weights (cell_to_*_weights) must be all present or all absent")
    pw, pb = get(PROJ_W), get(PROJ_B)
    if pw is not None:
        need(PROJ_W, (I8,))
        if tuple(pw.shape) != (O, C):
            raise ctx.shape_error(f"{names[PROJ_W]} '{pw.name}' has shape {pw.shape}, expected ({O}, {C})")
        if pb is not None:
            need(PROJ_B, (I32,))
            if pb.size != O:
                raise ctx.shape_error(f"{names[PROJ_B]} '{pb.name}' has shape {pb.shape}, expected ({O},)")
    elif pb is not None:
        raise ctx.shape_error(f"{names[PROJ_B]} is given without {names[PROJ_W]}")
    elif O != C:
        raise ctx.shape_error(f"without projection the output size {O} must equal the cell size {C}")
    if peep and O > C:
        raise ctx.unsupported(f"peephole weights with a projection to {O} outputs from {C} cells (LiteRT's integer "
                              f"kernel reads {O} cell values per row)")
    h, c = need(STATE_H, (I8,)), need(STATE_C, (I16,))
    for t, s, n in ((h, STATE_H, B * O), (c, STATE_C, B * C)):
        desc = getattr(ctx.runtime, "desc", None)
        if desc is not None and t.index >= 0 and not desc.tensors[t.index].is_variable:
            raise ctx.unsupported(f"{names[s]} '{t.name}' must be a variable tensor (is_variable), as TFLite requires")
        if t.size != n:
            raise ctx.shape_error(f"{names[s]} '{t.name}' has shape {t.shape}, expected {n} elements")
    cs = float(c.scale[0])
    m, e = math.frexp(cs)
    if m != 0.5 or _zp(c) != 0:
        raise ctx.unsupported(f"{names[STATE_C]} '{c.name}' has scale {cs:.6g} and zero point {_zp(c)}; the integer "
                              f"LSTM needs a power-of-two scale and zero point 0")
    cell_log2 = e - 1
    if not -15 <= cell_log2 <= -9:
        raise ctx.unsupported(f"{names[STATE_C]} '{c.name}' has scale 2^{cell_log2}; the integer LSTM runs cell "
                              f"state scales 2^-15 .. 2^-9 (LiteRT leaves its tanh unwritten outside them)")
    y = ctx.outputs[0]
    if y.type != I8:
        raise ctx.dtype_error(f"output '{y.name}' is {y.type_name}, expected INT8")
    if not y.quantized:
        raise ctx.unsupported(f"output '{y.name}' has no quantization scale (a full-integer LSTM needs one)")

    # intermediates: 5 tensors (8x8_16); 0-3 read with layer norm, 4 (hidden) always
    if len(inter) != 5:
        raise ctx.unsupported(f"a full-integer LSTM needs 5 intermediate tensors (gate and hidden scales; LSTM also "
                              f"takes 12, the 8x8_8 form), the op has {len(inter)}")
    desc = found[1]
    iscale, izp = [], []
    for k in range(5):
        if k < 4 and not use_ln:
            iscale.append(f32(2.0 ** -12))
            izp.append(0)
            continue
        ti = inter[k]
        t = desc.tensors[ti] if 0 <= ti < len(desc.tensors) else None
        if t is None or t.scale.size == 0 or not (float(t.scale[0]) > 0 and math.isfinite(float(t.scale[0]))):
            what = f"intermediate {k} ({'hidden state' if k == 4 else GATES[k] + ' gate'} scale)"
            raise ctx.unsupported(f"{what} '{t.name if t is not None else ti}' has no quantization scale")
        iscale.append(f32(t.scale[0]))
        izp.append(int(t.zero_point[0]) if t.zero_point.size else 0)

    # effective scales, in float32 as TFLite computes them
    in_s, hs = _scale(x), _scale(h)
    gate_p = []
    for g in range(4):
        d = {"x_mult": 0, "x_shift": 0, "h_mult": 0, "h_shift": 0, "c_mult": 0, "c_shift": 0, "ln_mult": 0,
             "ln_shift": 0, "variance_guard": 1}
        if g in gates:
            d["x_mult"], d["x_shift"] = _mult(f32(f32(_scale(get(W_X + g)) * in_s) / iscale[g]),
                                              f"{GATES[g]} gate input")
            d["h_mult"], d["h_shift"] = _mult(f32(f32(_scale(get(W_H + g)) * hs) / iscale[g]),
                                              f"{GATES[g]} gate recurrent")
            p = get(PEEP + (2 if g == 3 else g)) if g != 2 else None
            pscale = float(_scale(p)) if (peep and p is not None) else None
            eff_c = f32(2.0 ** cell_log2 * pscale / float(iscale[g])) if pscale is not None else f32(1.0)
            d["c_mult"], d["c_shift"] = _mult(eff_c, f"{GATES[g]} gate peephole")
            ln_s = _scale(get(LN + g)) if use_ln else f32(1.0)
            d["ln_mult"], d["ln_shift"] = _mult(ln_s, f"{GATES[g]} layer norm")
            if d["ln_shift"] + 12 > 30:
                raise ctx.unsupported(f"{GATES[g]} layer norm scale {float(ln_s):.6g} is too large")
            d["variance_guard"] = max(1, int(f32(f32(10000) * ln_s)))
        gate_p.append(d)
    hidden = f32(2.0 ** -15 / float(iscale[4]) * 2.0 ** -15)
    hidden_mult, hidden_shift = _mult(hidden, "hidden state")
    proj_mult, proj_shift = 0, 0
    if pw is not None:
        proj_mult, proj_shift = _mult(f32(f32(_scale(pw) * iscale[4]) / hs), "projection")
    cell_clip, proj_clip = float(ctx.opt("cellClip", 0.0)), float(ctx.opt("projClip", 0.0))
    if not (cell_clip >= 0 and proj_clip >= 0 and math.isfinite(cell_clip) and math.isfinite(proj_clip)):
        raise ctx.unsupported(f"cell_clip {cell_clip} and proj_clip {proj_clip} must be finite and >= 0")
    q_cell = int(min(max(f32(f32(cell_clip) / f32(cs)), -32768.0), 32767.0)) if cell_clip > 0 else 0
    q_proj = int(min(max(f32(f32(proj_clip) / _scale(y)), -128.0), 127.0)) if proj_clip > 0 else 0
    slots = [i if (i < len(ins) and ins[i] is not None) else -1 for i in range(24)]
    if not use_ln:
        slots[LN:LN + 4] = [-1] * 4
    ctx.set_output(0, out_shape(O), type=I8)
    params = ctx.new("er_lstm_int_params *", dict(
        **{"in": slots}, n_batch=B, n_time=T, time_major=int(time_major), n_input=I, n_cell=C, n_output=O,
        input_zp=_zp(x), output_state_zp=_zp(h), hidden_zp=izp[4], cell_scale=cell_log2, cell_clip=q_cell,
        proj_clip=q_proj, hidden_mult=hidden_mult, hidden_shift=hidden_shift, proj_mult=proj_mult,
        proj_shift=proj_shift, gates=gate_p))
    scratch = 4 * (8 * C + O) + 2 * 4 * B * C + B * C
    return Kernel("s8_lstm", params, scratch_bytes=scratch)
