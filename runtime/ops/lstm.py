"""Recurrent family: UNIDIRECTIONAL_SEQUENCE_LSTM, BIDIRECTIONAL_SEQUENCE_LSTM, UNIDIRECTIONAL_SEQUENCE_RNN,
BIDIRECTIONAL_SEQUENCE_RNN, float32 and hybrid (int8 weights per tensor or per output row, float
activations quantized per batch row at every step). The state inputs are variable tensors, updated in
place and kept across invokes. Shape rules follow TFLite's; kernels in kernels/ref/lstm.c and lstm_hybrid.c.
UNIDIRECTIONAL_SEQUENCE_LSTM with an int8 input is the full-integer form (runtime/ops/lstm_int.py); other
full-integer recurrent ops are refused.

Where LiteRT 2.3 is inconsistent, edgerun computes the op's definition (tests/runtime/test_lstm.py checks each
against LiteRT's consistent path): per-channel hybrid weights (LiteRT reads one tensor scale, 0 for per-channel
tensors, so its gates drop the weights); batch-major BIDIRECTIONAL_SEQUENCE_LSTM with merged outputs and
batch > 1 (LiteRT offsets the state rows by the merged row length); BIDIRECTIONAL_SEQUENCE_RNN batch-major
cross-linking, time-major aux input of another size, and time-major hybrid. Activation NONE does follow
LiteRT: the LSTM cell output is then o * (cell gate), see kernels/ref/lstm.c."""
from __future__ import annotations

import numpy as np

from edgerun.runtime.ops import TYPE_NAMES, Kernel, lstm_int, register

F32, I8 = 0, 9
GATES = ("input", "forget", "cell", "output")

# UNIDIRECTIONAL_SEQUENCE_LSTM input order (the kernel's slots, ops_lstm.h ER_LSTM_*)
INPUT, W_X, W_H, PEEP, BIAS, PROJ_W, PROJ_B, STATE_H, STATE_C, LN = 0, 1, 5, 9, 12, 16, 17, 18, 19, 20
SLOT_NAMES = (["input"] + [f"input_to_{g}_weights" for g in GATES] + [f"recurrent_to_{g}_weights" for g in GATES]
              + [f"cell_to_{g}_weights" for g in ("input", "forget", "output")] + [f"{g}_gate_bias" for g in GATES]
              + ["projection_weights", "projection_bias", "output_state", "cell_state"]
              + [f"{g}_layer_norm_coefficients" for g in GATES])

# BIDIRECTIONAL_SEQUENCE_LSTM: op input index of each slot, per direction (no layer norm)
BI_FW = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 35, 36, -1, -1, -1, -1]
BI_BW = [0, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 37, 38, -1, -1, -1, -1]
BI_AUX, BI_FW_AUX_W, BI_BW_AUX_W = 39, (40, 41, 42, 43), (44, 45, 46, 47)


def _activation(ctx):
    act = ctx.opt("fusedActivationFunction", 0)
    if act not in (0, 1, 2, 3, 4, 5):
        raise ctx.unsupported(f"fused activation {act} (NONE, RELU, RELU_N1_TO_1, RELU6, TANH, SIGN_BIT)")
    return act


def _clips(ctx):
    cell, proj = float(ctx.opt("cellClip", 0.0)), float(ctx.opt("projClip", 0.0))
    if cell < 0 or proj < 0 or not np.isfinite(cell) or not np.isfinite(proj):
        raise ctx.unsupported(f"cell_clip {cell} and proj_clip {proj} must be finite and >= 0")
    return cell, proj


def _sequence_dims(ctx, x, time_major):
    if x.type != F32:
        if x.type in (I8, 7):
            raise ctx.unsupported(f"{x.type_name} input '{x.name}': full-integer recurrent ops are not supported "
                                  f"(float32 and hybrid int8-weight models are)")
        raise ctx.dtype_error(f"input '{x.name}' is {x.type_name}, expected FLOAT32")
    if len(x.shape) != 3:
        raise ctx.shape_error(f"input '{x.name}' must have rank 3 ([batch, time, features] or time-major), "
                              f"has shape {x.shape}")
    T, B = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    return B, T


def _is_variable(ctx, t):
    desc = getattr(ctx.runtime, "desc", None)
    return desc is None or t.index < 0 or bool(desc.tensors[t.index].is_variable)


def _state(ctx, t, what, n, shape_hint):
    if t is None:
        raise ctx.unsupported(f"{what} is missing (a variable tensor is required)")
    if t.type != F32:
        raise ctx.dtype_error(f"{what} '{t.name}' is {t.type_name}, expected FLOAT32")
    if not _is_variable(ctx, t):
        raise ctx.unsupported(f"{what} '{t.name}' must be a variable tensor (is_variable), as TFLite requires")
    if t.size != n:
        raise ctx.shape_error(f"{what} '{t.name}' has shape {t.shape}, expected {n} elements {shape_hint}")


class _Weights:
    """Type discipline of one direction's weights: all float32, or all int8 (hybrid)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.kind = None  # F32 or I8

    def matrix(self, t, what, shape):
        ctx = self.ctx
        if tuple(t.shape) != tuple(shape):
            raise ctx.shape_error(f"{what} '{t.name}' has shape {t.shape}, expected {tuple(shape)}")
        if t.type not in (F32, I8):
            raise ctx.unsupported(f"{what} '{t.name}' is {t.type_name} (float32 or int8 weights)")
        if self.kind is None:
            self.kind = t.type
        elif t.type != self.kind:
            raise ctx.unsupported(f"{what} '{t.name}' is {t.type_name} while other weights are "
                                  f"{TYPE_NAMES[self.kind]} (mixed weight types)")
        if t.type == I8:
            if t.sparsity is not None:
                raise ctx.unsupported(f"{what} '{t.name}': sparse hybrid weights")
            if not t.quantized:
                raise ctx.unsupported(f"{what} '{t.name}' is INT8 without a quantization scale")
            if np.any(t.zero_point != 0):
                raise ctx.unsupported(f"{what} '{t.name}': hybrid weights must be symmetric (zero point 0), "
                                      f"have {t.zero_point.tolist()[:4]}")
            if t.scale.size > 1 and (t.quant_dim != 0 or t.scale.size != shape[0]):
                raise ctx.unsupported(f"{what} '{t.name}': per-channel scales must run along dimension 0 "
                                      f"({shape[0]} of them); have {t.scale.size} on dimension {t.quant_dim}")

    def vector(self, t, what, n, weight=False):
        """A float vector (bias, layer norm); or a vector weight (peephole, diagonal) typed like the matrices."""
        ctx = self.ctx
        if t.size != n or len(t.shape) != 1:
            raise ctx.shape_error(f"{what} '{t.name}' has shape {t.shape}, expected ({n},)")
        if weight:
            self.matrix(t, what, (n,))
        elif t.type != F32:
            raise ctx.dtype_error(f"{what} '{t.name}' is {t.type_name}, expected FLOAT32")


def _lstm_direction(ctx, slots, *, B, T, x, diagonal, label="", aux=None, aux_w=(-1,) * 4):
    """Check one LSTM direction whose tensors sit at op inputs `slots` (-1 absent). Returns the er_lstm_dir
    fields and the weight kind."""
    ins = ctx.inputs

    def get(s):
        i = slots[s]
        return ins[i] if 0 <= i < len(ins) else None

    def name(s):
        return f"{label}{SLOT_NAMES[s]}"

    w = _Weights(ctx)
    I = x.shape[2]
    wf = get(W_X + 1)
    for s in (W_X + 1, W_X + 2, W_X + 3, W_H + 1, W_H + 2, W_H + 3, BIAS + 1, BIAS + 2, BIAS + 3):
        if get(s) is None:
            raise ctx.unsupported(f"required input {name(s)} is missing")
    if len(wf.shape) != 2:
        raise ctx.shape_error(f"{name(W_X + 1)} '{wf.name}' must be 2-D, has shape {wf.shape}")
    C = wf.shape[0]
    rf = get(W_H + 1)
    if diagonal:
        O = C
    else:
        if len(rf.shape) != 2:
            raise ctx.shape_error(f"{name(W_H + 1)} '{rf.name}' must be 2-D [n_cell, n_output], has shape "
                                  f"{rf.shape}")
        O = rf.shape[1]
    cifg = get(W_X) is None
    if cifg != (get(W_H) is None):
        raise ctx.shape_error(f"{name(W_X)} and {name(W_H)} must be both present or both absent (CIFG)")
    for g in range(4):
        if cifg and g == 0:
            continue
        w.matrix(get(W_X + g), name(W_X + g), (C, I))
        if diagonal:
            w.vector(get(W_H + g), name(W_H + g), C, weight=True)
        else:
            w.matrix(get(W_H + g), name(W_H + g), (C, O))
        w.vector(get(BIAS + g), name(BIAS + g), C)
    peep = [get(PEEP + k) for k in range(3)]
    if (peep[1] is None) != (peep[2] is None) or (peep[1] is None and peep[0] is not None) or \
            (peep[1] is not None and peep[0] is None and not cifg):
        raise ctx.shape_error("peephole weights (cell_to_*_weights) must be all present or all absent")
    for k in range(3):
        if peep[k] is not None and not (cifg and k == 0):
            w.vector(peep[k], name(PEEP + k), C, weight=True)
    pw, pb = get(PROJ_W), get(PROJ_B)
    if pb is not None and pw is None:
        raise ctx.shape_error(f"{name(PROJ_B)} is given without {name(PROJ_W)}")
    if pw is not None:
        if len(pw.shape) != 2 or pw.shape[1] != C:
            raise ctx.shape_error(f"{name(PROJ_W)} '{pw.name}' has shape {pw.shape}, expected [n_output, {C}]")
        if diagonal and pw.shape[0] != C:
            raise ctx.unsupported("diagonal recurrent weights with a projection to a different size")
        if pw.shape[0] != O:
            raise ctx.shape_error(f"{name(PROJ_W)} '{pw.name}' projects to {pw.shape[0]} outputs, the recurrent "
                                  f"weights take {O}")
        w.matrix(pw, name(PROJ_W), (O, C))
        if pb is not None:
            w.vector(pb, name(PROJ_B), O)
    elif O != C:
        raise ctx.shape_error(f"without projection the output size {O} must equal the cell size {C}")
    lns = [get(LN + g) for g in range(4)]
    use_ln = lns[1] is not None
    for g in range(4):
        if cifg and g == 0:
            continue
        if (lns[g] is not None) != use_ln:
            raise ctx.shape_error("layer norm coefficients must be all present or all absent")
        if use_ln:
            w.vector(lns[g], name(LN + g), C)
    _state(ctx, get(STATE_H), name(STATE_H), B * O, f"([{B}, {O}])")
    _state(ctx, get(STATE_C), name(STATE_C), B * C, f"([{B}, {C}])")
    A = 0
    aux_slots = [-1] * 4
    if aux is not None and 0 <= aux_w[1] < len(ins) and ins[aux_w[1]] is not None:
        A = aux.shape[2]
        for g in range(4):
            t = ins[aux_w[g]] if 0 <= aux_w[g] < len(ins) else None
            if cifg and g == 0:
                continue
            if t is None:
                raise ctx.unsupported(f"{label}aux_input_to_{GATES[g]}_weights is missing")
            w.matrix(t, f"{label}aux_input_to_{GATES[g]}_weights", (C, A))
            aux_slots[g] = aux_w[g]
    if diagonal and w.kind == I8:
        raise ctx.unsupported("diagonal recurrent weights with int8 (hybrid) weights")
    in_slots = [s if (s >= 0 and s < len(ins) and ins[s] is not None) else -1 for s in slots]
    if cifg:
        for s in (W_X, W_H, PEEP, BIAS, LN):
            in_slots[s] = -1
    if not use_ln:
        for g in range(4):
            in_slots[LN + g] = -1
    d = dict(**{"in": in_slots}, aux_in=-1, aux_w=aux_slots, n_input=I, n_aux=A,
             n_cell=C, n_output=O)
    return d, w.kind


def _scratch_lstm(B, dirs, hybrid):
    n = 0
    for d in dirs:
        s = 4 * 4 * B * d["n_cell"]
        if hybrid:
            s += 8 * 4 * B + B * (d["n_input"] + d["n_aux"] + d["n_output"] + d["n_cell"])
        n = max(n, s)
    return n


def _lstm_kernel(ctx, dirs, kinds, *, B, T, time_major, diagonal=False):
    if len(set(kinds)) != 1:
        raise ctx.unsupported("the two directions have different weight types")
    hybrid = kinds[0] == I8
    cell_clip, proj_clip = _clips(ctx)
    p = ctx.new("er_lstm_params *", dict(
        n_batch=B, n_time=T, time_major=int(time_major), activation=_activation(ctx), cell_clip=cell_clip,
        proj_clip=proj_clip, diagonal=int(diagonal),
        asymmetric=int(bool(ctx.opt("asymmetricQuantizeInputs", False))),
        n_dirs=len(dirs), dirs=dirs))
    return Kernel("h_lstm" if hybrid else "f32_lstm", p, scratch_bytes=_scratch_lstm(B, dirs, hybrid))


def _check_count(ctx, counts):
    """Most inputs are optional (-1): check the count and the one always-required input."""
    if len(ctx.inputs) not in counts:
        raise ctx.unsupported(f"expected {' or '.join(map(str, counts))} inputs, got {len(ctx.inputs)}")
    if ctx.inputs[0] is None:
        raise ctx.unsupported("required input 0 (input) is missing")


def _seq_shape(time_major, B, T, n):
    return (T, B, n) if time_major else (B, T, n)


@register("UNIDIRECTIONAL_SEQUENCE_LSTM")
def unidirectional_sequence_lstm(ctx):
    _check_count(ctx, (20, 24))
    x = ctx.inputs[0]
    time_major = bool(ctx.opt("timeMajor", False))
    diagonal = bool(ctx.opt("diagonalRecurrentTensors", False))
    if x.type == I8:  # full-integer (8x8_16): runtime/ops/lstm_int.py
        if len(x.shape) != 3:
            raise ctx.shape_error(f"input '{x.name}' must have rank 3, has shape {x.shape}")
        if diagonal:
            raise ctx.unsupported("diagonal recurrent weights in a full-integer LSTM")
        T, B = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
        return lstm_int.integer_lstm(ctx, SLOT_NAMES, B=B, T=T, time_major=time_major,
                                     out_shape=lambda O: _seq_shape(time_major, B, T, O))
    B, T = _sequence_dims(ctx, x, time_major)
    slots = list(range(24))
    d, kind = _lstm_direction(ctx, slots, B=B, T=T, x=x, diagonal=diagonal)
    O = d["n_output"]
    ctx.set_output(0, _seq_shape(time_major, B, T, O), type=F32)
    d.update(out=0, out_offset=0, out_row=O, forward=1)
    return _lstm_kernel(ctx, [d], [kind], B=B, T=T, time_major=time_major, diagonal=diagonal)


@register("BIDIRECTIONAL_SEQUENCE_LSTM")
def bidirectional_sequence_lstm(ctx):
    _check_count(ctx, (48,))
    x = ctx.inputs[0]
    time_major = bool(ctx.opt("timeMajor", True))
    merge = bool(ctx.opt("mergeOutputs", False))
    B, T = _sequence_dims(ctx, x, time_major)
    aux = ctx.inputs[BI_AUX]
    use_aux_w = aux is not None and ctx.inputs[BI_FW_AUX_W[1]] is not None
    if aux is not None and (aux.type != F32 or len(aux.shape) != 3 or tuple(aux.shape[:2]) != tuple(x.shape[:2])):
        raise ctx.shape_error(f"aux_input '{aux.name}' ({aux.type_name} {aux.shape}) must be FLOAT32 with the "
                              f"input's first two dimensions {tuple(x.shape[:2])}")
    if (ctx.inputs[BI_FW_AUX_W[1]] is None) != (ctx.inputs[BI_BW_AUX_W[1]] is None) or \
            (aux is None and ctx.inputs[BI_FW_AUX_W[1]] is not None):
        raise ctx.unsupported("aux input weights need the aux input and both directions' weights")
    fw, k_fw = _lstm_direction(ctx, BI_FW, B=B, T=T, x=x, diagonal=False, label="fw_",
                               aux=aux if use_aux_w else None, aux_w=BI_FW_AUX_W)
    # With an aux input but no aux weights the backward cell reads the aux input (stacked bidirectional
    # layers with cross-linking), as TFLite does.
    bw_x_index = BI_AUX if (aux is not None and not use_aux_w) else 0
    bw_slots = list(BI_BW)
    bw_slots[INPUT] = bw_x_index
    bw, k_bw = _lstm_direction(ctx, bw_slots, B=B, T=T, x=ctx.inputs[bw_x_index], diagonal=False, label="bw_",
                               aux=aux if use_aux_w else None, aux_w=BI_BW_AUX_W)
    if use_aux_w:
        fw["aux_in"] = bw["aux_in"] = BI_AUX
    Of, Ob = fw["n_output"], bw["n_output"]
    if merge:
        if len(ctx.outputs) != 1:
            raise ctx.unsupported(f"merge_outputs with {len(ctx.outputs)} outputs (expected 1)")
        ctx.set_output(0, _seq_shape(time_major, B, T, Of + Ob), type=F32)
        fw.update(out=0, out_offset=0, out_row=Of + Ob, forward=1)
        bw.update(out=0, out_offset=Of, out_row=Of + Ob, forward=0)
    else:
        if len(ctx.outputs) != 2:
            raise ctx.unsupported(f"{len(ctx.outputs)} outputs (expected fw_output and bw_output)")
        ctx.set_output(0, _seq_shape(time_major, B, T, Of), type=F32)
        ctx.set_output(1, _seq_shape(time_major, B, T, Ob), type=F32)
        fw.update(out=0, out_offset=0, out_row=Of, forward=1)
        bw.update(out=1, out_offset=0, out_row=Ob, forward=0)
    return _lstm_kernel(ctx, [fw, bw], [k_fw, k_bw], B=B, T=T, time_major=time_major)


# -- RNN ---------------------------------------------------------------------------------------------------

def _rnn_direction(ctx, idx, *, B, x, label="", aux=None, aux_w=-1):
    """idx: op input indices of (input, weights, recurrent weights, bias, hidden state)."""
    ins = ctx.inputs
    t = [ins[i] if 0 <= i < len(ins) else None for i in idx]
    names = [f"{label}{n}" for n in ("input", "weights", "recurrent_weights", "bias", "hidden_state")]
    for k in range(1, 4):
        if t[k] is None:
            raise ctx.unsupported(f"required input {names[k]} is missing")
    w = _Weights(ctx)
    if len(t[1].shape) != 2:
        raise ctx.shape_error(f"{names[1]} '{t[1].name}' must be 2-D, has shape {t[1].shape}")
    U, I = t[1].shape[0], x.shape[2]
    w.matrix(t[1], names[1], (U, I))
    w.matrix(t[2], names[2], (U, U))
    w.vector(t[3], names[3], U)
    _state(ctx, t[4], names[4], B * U, f"([{B}, {U}])")
    A, aw = 0, -1
    if aux is not None and 0 <= aux_w < len(ins) and ins[aux_w] is not None:
        A = aux.shape[2]
        w.matrix(ins[aux_w], f"{label}aux_weights", (U, A))
        aw = aux_w
    return dict(**{"in": list(idx)}, aux_in=-1, aux_w=aw, n_input=I, n_aux=A, n_units=U), w.kind


def _rnn_kernel(ctx, dirs, kinds, *, B, T, time_major):
    if len(set(kinds)) != 1:
        raise ctx.unsupported("the two directions have different weight types")
    hybrid = kinds[0] == I8
    p = ctx.new("er_rnn_params *", dict(
        n_batch=B, n_time=T, time_major=int(time_major), activation=_activation(ctx),
        asymmetric=int(bool(ctx.opt("asymmetricQuantizeInputs", False))), n_dirs=len(dirs), dirs=dirs))
    scratch = 0
    if hybrid:
        scratch = max(8 * 3 * B + B * (d["n_input"] + d["n_aux"] + d["n_units"]) for d in dirs)
    return Kernel("h_rnn" if hybrid else "f32_rnn", p, scratch_bytes=scratch)


@register("UNIDIRECTIONAL_SEQUENCE_RNN")
def unidirectional_sequence_rnn(ctx):
    ctx.check_inputs(5, 5)
    x = ctx.inputs[0]
    time_major = bool(ctx.opt("timeMajor", False))
    B, T = _sequence_dims(ctx, x, time_major)
    d, kind = _rnn_direction(ctx, (0, 1, 2, 3, 4), B=B, x=x)
    U = d["n_units"]
    ctx.set_output(0, _seq_shape(time_major, B, T, U), type=F32)
    d.update(out=0, out_offset=0, out_row=U, forward=1)
    return _rnn_kernel(ctx, [d], [kind], B=B, T=T, time_major=time_major)


@register("BIDIRECTIONAL_SEQUENCE_RNN")
def bidirectional_sequence_rnn(ctx):
    ctx.check_inputs(9, 12)
    x = ctx.inputs[0]
    time_major = bool(ctx.opt("timeMajor", False))
    merge = bool(ctx.opt("mergeOutputs", False))
    B, T = _sequence_dims(ctx, x, time_major)
    ins = ctx.inputs
    aux = ins[9] if len(ins) > 9 else None
    fw_aw = 10 if len(ins) > 10 and ins[10] is not None else -1
    bw_aw = 11 if len(ins) > 11 and ins[11] is not None else -1
    if (fw_aw < 0) != (bw_aw < 0) or (aux is None and fw_aw >= 0):
        raise ctx.unsupported("aux weights need the aux input and both directions' weights")
    if aux is not None and (aux.type != F32 or len(aux.shape) != 3 or tuple(aux.shape[:2]) != tuple(x.shape[:2])):
        raise ctx.shape_error(f"aux_input '{aux.name}' ({aux.type_name} {aux.shape}) must be FLOAT32 with the "
                              f"input's first two dimensions {tuple(x.shape[:2])}")
    use_aux_w = fw_aw >= 0
    fw, k_fw = _rnn_direction(ctx, (0, 1, 2, 3, 4), B=B, x=x, label="fw_", aux=aux if use_aux_w else None,
                              aux_w=fw_aw)
    bw_x = 9 if (aux is not None and not use_aux_w) else 0
    bw, k_bw = _rnn_direction(ctx, (bw_x, 5, 6, 7, 8), B=B, x=ins[bw_x], label="bw_",
                              aux=aux if use_aux_w else None, aux_w=bw_aw)
    if use_aux_w:
        fw["aux_in"] = bw["aux_in"] = 9
    Uf, Ub = fw["n_units"], bw["n_units"]
    if merge:
        ctx.set_output(0, _seq_shape(time_major, B, T, Uf + Ub), type=F32)
        fw.update(out=0, out_offset=0, out_row=Uf + Ub, forward=1)
        bw.update(out=0, out_offset=Uf, out_row=Uf + Ub, forward=0)
    else:
        if len(ctx.outputs) != 2:
            raise ctx.unsupported(f"{len(ctx.outputs)} outputs (expected fw_output and bw_output)")
        ctx.set_output(0, _seq_shape(time_major, B, T, Uf), type=F32)
        ctx.set_output(1, _seq_shape(time_major, B, T, Ub), type=F32)
        fw.update(out=0, out_offset=0, out_row=Uf, forward=1)
        bw.update(out=1, out_offset=0, out_row=Ub, forward=0)
    return _rnn_kernel(ctx, [fw, bw], [k_fw, k_bw], B=B, T=T, time_major=time_major)
