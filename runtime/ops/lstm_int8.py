"""The 8x8_8 full-integer LSTM: the LSTM op with an int8 input and 12 intermediate tensors, as LiteRT 2.3 runs it
(kernel s8_lstm_8x8_8, kernels/ref/lstm_int8.c). Reached from lstm_int.integer_lstm.

What LiteRT computes, derived from its outputs on hand-built models (tests/runtime/test_lstm_int8x8_8.py):
intermediates 3g, 3g+1, 3g+2 (g = input, forget, cell, output) are gate g's int16 pre-activation and its int8
input and recurrent products; the forget, cell and output gates are computed (CIFG always: input gate weights
and peephole weights, when given, are not read), each with a float layer norm and float sigmoid / tanh; the
cell state is read as Q0.15 whatever its tensor's scale. LiteRT runs the form only with layer norm and a
projection with bias (it crashes otherwise); UNIDIRECTIONAL_SEQUENCE_LSTM refuses 12 intermediates. Two of
its quirks are kept: the output gate rescales its recurrent product with the multiplier LiteRT reads one
array past the end of the rescaling multipliers (the forget gate's recurrent shift as the multiplier, the
output gate's recurrent shift as the shift) and the cell gate's input zero point (intermediate 7); and with a
cell state scale other than 2^-15 both clips are dropped (LiteRT's prepare stops at its 2^-15 check before
the clips, and the op runs anyway).
"""
from __future__ import annotations

import math

import numpy as np

from edgerun.runtime.ops import TYPE_NAMES, Kernel
from edgerun.runtime.quant import quantize_multiplier

I8, I16, I32 = 9, 7, 2
INPUT, W_X, W_H, BIAS, PROJ_W, PROJ_B, STATE_H, STATE_C, LN = 0, 1, 5, 12, 16, 17, 18, 19, 20
GATES = ("forget", "cell", "output")  # gates 1..3 of LiteRT's order (input, forget, cell, output)
f32 = np.float32


class Slots:
    """An integer LSTM's inputs by slot (the 24 of the LSTM op's order), read for one form: `form` names it in
    messages ("a full-integer LSTM"), `missing` says why an absent required slot is refused (a format string
    with {name}). lstm_int.py reads its 8x8_16 form with it too."""

    def __init__(self, ctx, names, form: str, missing: str):
        self.ctx, self.names, self.form, self.missing = ctx, names, form, missing

    def get(self, s):
        ins = self.ctx.inputs
        return ins[s] if s < len(ins) else None

    def need(self, s, types, what=None, shape=None):
        """Slot s, present, of one of `types`, quantized with one positive scale (and of `shape`)."""
        ctx, name, t = self.ctx, self.names[s], self.get(s)
        if t is None:
            raise ctx.unsupported(self.missing.format(name=name))
        if t.type not in types:
            raise ctx.dtype_error(f"{what or name} '{t.name}' is {t.type_name}, expected "
                                  f"{' or '.join(TYPE_NAMES[k] for k in types)} in {self.form}")
        if not t.quantized:
            raise ctx.unsupported(f"{name} '{t.name}' has no quantization scale ({self.form} needs one)")
        if t.scale.size > 1:
            raise ctx.unsupported(f"{name} '{t.name}' is quantized per channel; {self.form} takes one scale per "
                                  f"tensor (as LiteRT, which reads only the first)")
        if not (float(t.scale[0]) > 0 and math.isfinite(float(t.scale[0]))):
            raise ctx.unsupported(f"{name} '{t.name}' has scale {float(t.scale[0])}")
        if shape is not None and tuple(t.shape) != tuple(shape):
            raise ctx.shape_error(f"{name} '{t.name}' has shape {t.shape}, expected {tuple(shape)}")
        return t

    def multiplier(self, m, what, lo=-31, hi=30):
        """TFLite's (multiplier, shift) of a positive real scale, refused outside the shifts [lo, hi]."""
        q, s = quantize_multiplier(float(m))
        if not (math.isfinite(float(m)) and float(m) >= 0 and lo <= s <= hi):
            raise self.ctx.unsupported(f"the {what} scale {float(m):.6g} is outside what {self.form} represents")
        return q, s


def zero_point(t) -> int:
    return int(t.zero_point[0]) if t.zero_point.size else 0


def lstm_8x8_8(ctx, names, inter, desc, *, B, T, out_shape):
    """The s8_lstm_8x8_8 kernel; `inter` the op's 12 intermediate tensor indices, `desc` the model description."""
    ins = ctx.inputs
    reader = Slots(ctx, names, "an 8x8_8 integer LSTM",
                   "the 8x8_8 integer LSTM (12 intermediates) needs {name}; LiteRT runs this form only with layer "
                   "norm coefficients and a projection with bias (it crashes without them)")
    zp, mult = zero_point, reader.multiplier

    def need(s, types, shape=None):
        return reader.need(s, types, shape=shape)

    x = need(INPUT, (I8,))
    I = x.shape[-1]
    wf = need(W_X + 1, (I8,))
    if len(wf.shape) != 2 or wf.shape[1] != I:
        raise ctx.shape_error(f"{names[W_X + 1]} '{wf.name}' has shape {wf.shape}, expected [n_cell, {I}]")
    C = wf.shape[0]
    if C > 1 << 24:
        raise ctx.unsupported(f"{C} cells: the 8x8_8 integer LSTM kernel takes at most 2^24")
    pw = need(PROJ_W, (I8,))
    if len(pw.shape) != 2 or pw.shape[1] != C:
        raise ctx.shape_error(f"{names[PROJ_W]} '{pw.name}' has shape {pw.shape}, expected [n_output, {C}]")
    O = pw.shape[0]
    need(PROJ_B, (I32,), (O,))
    w = {}
    for g in (1, 2, 3):
        for s, shape in ((W_X + g, (C, I)), (W_H + g, (C, O))):
            t = need(s, (I8,), shape)
            if zp(t) != 0:
                raise ctx.unsupported(f"{names[s]} '{t.name}': integer LSTM weights must be symmetric (zero point 0)")
            w[s] = t
        need(BIAS + g, (I32,), (C,))
        w[LN + g] = need(LN + g, (I16,), (C,))
    h, c = need(STATE_H, (I8,)), need(STATE_C, (I16,))
    for t in (x, h):
        if not -128 <= zp(t) <= 127:
            raise ctx.unsupported(f"'{t.name}' has zero point {zp(t)}, outside int8")
    for t, s, n in ((h, STATE_H, B * O), (c, STATE_C, B * C)):
        if t.index >= 0 and not desc.tensors[t.index].is_variable:
            raise ctx.unsupported(f"{names[s]} '{t.name}' must be a variable tensor (is_variable), as TFLite requires")
        if t.size != n:
            raise ctx.shape_error(f"{names[s]} '{t.name}' has shape {t.shape}, expected {n} elements")
    cs = float(c.scale[0])
    m, e = math.frexp(cs)
    if m != 0.5 or zp(c) != 0 or e - 1 > -9:
        raise ctx.unsupported(f"{names[STATE_C]} '{c.name}' has scale {cs:.6g} and zero point {zp(c)}; the 8x8_8 "
                              f"integer LSTM needs a power-of-two scale of at most 2^-9 and zero point 0")
    y = ctx.outputs[0]
    if y.type != I8 or not y.quantized:
        raise ctx.dtype_error(f"output '{y.name}' is {y.type_name}, expected quantized INT8")

    sc, zps = [], []
    for k, ti in enumerate(inter):
        t = desc.tensors[ti] if 0 <= ti < len(desc.tensors) else None
        if t is None or t.scale.size == 0 or not (float(t.scale[0]) > 0 and math.isfinite(float(t.scale[0]))):
            raise ctx.unsupported(f"intermediate {k} '{t.name if t is not None else ti}' has no quantization "
                                  f"scale (LiteRT reads all 12)")
        sc.append(f32(t.scale[0]))
        zps.append(int(t.zero_point[0]) if t.zero_point.size else 0)
    for k in (4, 5, 7, 8, 10, 11):
        if not -128 <= zps[k] <= 127:
            raise ctx.unsupported(f"intermediate {k} has zero point {zps[k]}; the 8x8_8 LSTM's products are int8")

    # effective scales, in float32 as TFLite's prepare computes them
    in_s, hs = f32(x.scale[0]), f32(h.scale[0])
    ratio = {(g, j): mult(f32(sc[3 * g + j] / sc[3 * g]), f"intermediate {3 * g + j} / intermediate {3 * g}")
             for g in (1, 2, 3) for j in (1, 2)}
    gates = []
    for g in (1, 2, 3):
        name = GATES[g - 1]
        d = {}
        d["x_mult"], d["x_shift"] = mult(f32(f32(f32(w[W_X + g].scale[0]) * in_s) / sc[3 * g + 1]),
                                         f"{name} gate input")
        d["h_mult"], d["h_shift"] = mult(f32(f32(f32(w[W_H + g].scale[0]) * hs) / sc[3 * g + 2]),
                                         f"{name} gate recurrent")
        d["x_zp"], d["h_zp"] = zps[3 * g + 1], zps[3 * g + 2]
        d["xa_mult"], d["xa_shift"] = ratio[(g, 1)]
        d["ha_mult"], d["ha_shift"] = ratio[(g, 2)]
        if g == 3:  # LiteRT's output gate: (multiplier, shift) = (shift of 5/3, shift of 11/9), zero point 7
            d["ha_mult"], d["ha_shift"], d["h_zp"] = ratio[(1, 2)][1], ratio[(3, 2)][1], zps[7]
        d["ln_mult"], d["ln_shift"] = mult(f32(w[LN + g].scale[0]), f"{name} layer norm", -1000, 1000)
        gates.append(d)
    proj_mult, proj_shift = mult(f32(float(f32(pw.scale[0])) * 2.0 ** -15 / float(hs)), "projection", hi=14)
    cell_clip, proj_clip = float(ctx.opt("cellClip", 0.0)), float(ctx.opt("projClip", 0.0))
    if not (cell_clip >= 0 and proj_clip >= 0 and math.isfinite(cell_clip) and math.isfinite(proj_clip)):
        raise ctx.unsupported(f"cell_clip {cell_clip} and proj_clip {proj_clip} must be finite and >= 0")
    q_cell = q_proj = 0
    if cs == 2.0 ** -15:  # LiteRT's prepare stops at this check otherwise, before it sets the clips
        if 0 < cell_clip < 1:
            q_cell = int(min(max(f32(f32(cell_clip) / f32(cs)), f32(-32768)), f32(32767)))
        if proj_clip > 0:
            q_proj = int(min(max(f32(f32(proj_clip) / f32(y.scale[0])), f32(-128)), f32(127)))
    q_cell, q_proj = max(q_cell, 0), max(q_proj, 0)
    slots = [i if (i < len(ins) and ins[i] is not None) else -1 for i in range(24)]
    ctx.set_output(0, out_shape(O), type=I8)
    params = ctx.new("er_lstm_int8_params *", dict(
        **{"in": slots}, n_batch=B, n_time=T, n_input=I, n_cell=C, n_output=O, input_zp=zp(x),
        output_state_zp=zp(h), cell_clip=q_cell, proj_clip=q_proj, proj_mult=proj_mult, proj_shift=proj_shift,
        gates=gates))
    return Kernel("s8_lstm_8x8_8", params, scratch_bytes=2 * B * C + 2 * 3 * B * C)
