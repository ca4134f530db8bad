"""Hand-built full-integer LSTM models (UNIDIRECTIONAL_SEQUENCE_LSTM and LSTM), quantized as TFLite's quantizer
quantizes the 8x8_16 LSTM: int8 asymmetric input/output/output state, int8 symmetric per-tensor weights, int16
symmetric peephole and layer-norm weights, int32 biases (scale input*weight, or layer-norm scale / 1024 with
layer norm; projection bias: hidden scale * projection weight scale), int16 cell state with a power-of-two
scale, and the intermediates: 5 (gate matmul outputs, int16 symmetric, read only with layer norm; the hidden
state, int8 asymmetric) or 12 for the 8x8_8 form. Shared by tests/runtime/test_lstm_int.py and
schema/probe_models.py-style probes."""
from __future__ import annotations

import numpy as np

GATES = "ifco"


def _sym(a, bits):
    qmax = (1 << (bits - 1)) - 1
    s = float(np.abs(a).max()) / qmax or 1.0
    dt = np.int8 if bits == 8 else np.int16
    return np.clip(np.round(a / s), -qmax, qmax).astype(dt), s


class IntLstm:
    """op: "UNIDIRECTIONAL_SEQUENCE_LSTM" or "LSTM" (one step, input [B, I]).
    n_intermediates: 5 (8x8_16) or 12 (8x8_8); drop: names of quantization parameters to leave out
    ("intermediate0".."intermediate4", "cell_state"), for the bad-model tests. w_range: the weights' real range
    (+-); inter_q: (scale, zero point) of each intermediate, overriding the defaults; retype: {constant name:
    numpy dtype} to store a constant with another type (for the bad-model tests)."""

    def __init__(self, op="UNIDIRECTIONAL_SEQUENCE_LSTM", B=2, T=4, I=5, C=6, P=None, cifg=False, peephole=False,
                 proj_bias=False, layer_norm=False, cell_clip=0.0, proj_clip=0.0, time_major=False, seed=0,
                 cell_scale_log2=-11, n_intermediates=5, drop=(), in_scale=0.02, in_zp=3, out_scale=1 / 128,
                 out_zp=-2, hidden_scale=1 / 200, hidden_zp=4, gate_scale=2.0 ** -12, w_range=0.5, inter_q=None,
                 retype=None):
        from edgerun.schema.builder import ModelBuilder

        rng = np.random.default_rng(seed)
        O = P or C
        self.arrays, self.scales = {}, None
        self.op = op
        if op == "LSTM":
            self.shape = (B, I)
            yshape = (B, O)
        else:
            self.shape = (T, B, I) if time_major else (B, T, I)
            yshape = (T, B, O) if time_major else (B, T, O)
        b = ModelBuilder()

        def const(name, arr, quant):
            return b.const(name, arr.astype((retype or {}).get(name, arr.dtype)), quant=quant)
        x = b.tensor("x", self.shape, np.int8, quant=(in_scale, in_zp))
        w_scales = {}

        def weight(name, shape, present=True, scale=w_range):
            if not present:
                return -1
            q, s = _sym(rng.uniform(-scale, scale, shape), 8)
            w_scales[name] = s
            self.arrays[name] = q
            return const(name, q, quant=(s, 0))

        def vec16(name, n, present, lo, hi):
            if not present:
                return -1
            q, s = _sym(rng.uniform(lo, hi, n), 16)
            w_scales[name] = s
            self.arrays[name] = q
            return const(name, q, quant=(s, 0))

        ins = [x]
        ins += [weight(f"w_x_{g}", (C, I), not (cifg and g == "i")) for g in GATES]
        ins += [weight(f"w_h_{g}", (C, O), not (cifg and g == "i")) for g in GATES]
        ins += [vec16(f"peep_{g}", C, peephole and not (cifg and g == "i"), -0.5, 0.5) for g in "ifo"]
        ln = {g: vec16(f"ln_{g}", C, layer_norm and not (cifg and g == "i"), 0.3, 1.5) for g in GATES}
        for g in GATES:  # gate biases
            if cifg and g == "i":
                ins.append(-1)
                continue
            if layer_norm:
                s = w_scales[f"ln_{g}"] / 1024
                val = rng.uniform(-0.5, 0.5, C)
            else:
                s = w_scales[f"w_x_{g}"] * in_scale
                val = rng.uniform(-0.3, 0.3, C) + (1.0 if g == "f" else 0.0)
            self.arrays[f"bias_{g}"] = np.round(val / s).astype(np.int32)
            ins.append(const(f"bias_{g}", self.arrays[f"bias_{g}"], quant=(s, 0)))
        ins.append(weight("proj_w", (O, C), P is not None))
        if P is not None and proj_bias:
            s = w_scales["proj_w"] * hidden_scale
            self.arrays["proj_b"] = np.round(rng.uniform(-0.1, 0.1, O) / s).astype(np.int32)
            ins.append(const("proj_b", self.arrays["proj_b"], quant=(s, 0)))
        else:
            ins.append(-1)
        cs = 2.0 ** cell_scale_log2
        h = b.tensor("h", (B, O), np.int8, quant=(out_scale, out_zp), is_variable=True)
        c = b.tensor("c", (B, C), np.int16, quant=None if "cell_state" in drop else (cs, 0), is_variable=True)
        ins += [h, c]
        ins += [ln[g] for g in GATES]
        y = b.tensor("y", yshape, np.int8, quant=(out_scale, out_zp))
        inter = []
        for k in range(n_intermediates):
            q = None if f"intermediate{k}" in drop else (
                (hidden_scale, hidden_zp) if (k == 4 and n_intermediates == 5) else (gate_scale * (1 + k % 3), 0))
            if inter_q is not None and f"intermediate{k}" not in drop:
                q = inter_q[k]
            dt = np.int8 if (k == 4 and n_intermediates == 5) or n_intermediates == 12 else np.int16
            inter.append(b.tensor(f"intermediate_{k}", (), dt, quant=q))
        opts = {"fusedActivationFunction": 4, "cellClip": cell_clip, "projClip": proj_clip}
        if op != "LSTM":
            opts["timeMajor"] = time_major
        b.op(op, ins, [y], opts, intermediates=inter)
        b.inputs([x])
        b.outputs([y])
        self.model = b.finish()
        self.scales = w_scales

    def inputs(self, seed=1):
        return [np.random.default_rng(seed).integers(-128, 128, self.shape).astype(np.int8)]
