"""Post-training quantization of an IR graph (converter/ir.py), following TFLite's published quantization
spec (https://www.tensorflow.org/lite/performance/quantization_spec).

    qg = quantize(graph, "int8", representative_data=samples)       # full integer, float interface
    qg = quantize(graph, "int8", representative_data=gen, input_type=np.uint8, output_type=np.uint8)
    qg = quantize(graph, "int16x8", representative_data=samples)    # int16 activations, int8 weights
    qg = quantize(graph, "dynamic")                                 # int8 weights, float activations

Modes
- "dynamic": dynamic-range quantization. Constant weights of FULLY_CONNECTED (per channel, axis 0), CONV_2D
  (per channel, axis 0), DEPTHWISE_CONV_2D (per channel, axis 3), BATCH_MATMUL (per tensor) and
  UNIDIRECTIONAL_SEQUENCE_LSTM (per tensor) become symmetric int8, run by the hybrid kernels; activations stay
  float. As TensorFlow's converter, weights with fewer than `min_weight_elements` (1024) values stay float.
- "int8": every float activation becomes per-tensor asymmetric int8 from calibrated ranges; weights are
  per-channel symmetric int8 in [-127, 127]; biases int32 with scale input_scale * weight_scale. Op
  constraints of the spec are kept: fixed output parameters (LOGISTIC, SOFTMAX, TANH, LOG_SOFTMAX,
  L2_NORMALIZATION) and equal input/output parameters for data-movement ops (RESHAPE, CONCATENATION, pooling,
  PAD, ...: their tensors are quantized together from the union of their ranges).
- "int16x8": as "int8" with symmetric int16 activations (zero point 0) and int64 biases.

Control flow (IF, WHILE; Graph.subgraphs) is quantized with the rest: calibration sees every execution of a
branch or loop body (converter/calibrate.py), and the tensors whose bytes TFLite copies across a subgraph
boundary (an IF operand and the branch inputs; the branch outputs and the IF result; a WHILE operand, its
result, and the cond and body inputs and body output of that loop variable) share one quantization, from the
union of their ranges (converter/quantize_control.py). Integer loop counters and bool conditions stay as they
are.

The interface of an integer model is float by default (QUANTIZE after each input, DEQUANTIZE before each
output); input_type/output_type np.int8 (np.int16 for int16x8) expose the integer tensors, np.uint8 adds a
QUANTIZE int8<->uint8 at the boundary (zero point + 128), as TFLite does.
"""
from __future__ import annotations

import copy

import numpy as np
from edgerun.converter import quantize_control as control
from edgerun.converter.ir import Graph, Op, Quant, Tensor

from edgerun.errors import ConversionError
from edgerun.schema.ops import OPS

__all__ = [
    "INT8_OPS",
    "INT16_OPS",
    "MODES",
    "affine_params",
    "quantize",
    "quantize_array",
    "quantize_bias",
    "quantize_symmetric",
]

MODES = ("dynamic", "int8", "int16x8")

# -- op tables: views of the op table (schema/ops.py), where each rule is described once --------------------

# Weighted ops: input index of the filter -> quantized axis; input index of the bias; the activation input
# whose scale multiplies the weight scale.
WEIGHTED = {d.name: {"weight": d.weighted.weight, "axis": d.weighted.axis, "bias": d.weighted.bias,
                     "x": d.weighted.x} for d in OPS if d.weighted}
# Ops whose (listed) data inputs and all outputs must share one scale and zero point ("all": every input).
SAME_SCALE = {d.name: d.same_scale for d in OPS if d.same_scale}
# Fixed output quantization (scale, zero point) by activation dtype.
FIXED = {m: {d.name: d.fixed[m] for d in OPS if d.fixed and m in d.fixed} for m in ("int8", "int16x8")}
# Ops with an int8 / int16x8 kernel in TFLite's builtin op set (checked against LiteRT by tests/converter).
INT8_OPS = frozenset(d.name for d in OPS if d.int8)
INT16_OPS = frozenset(d.name for d in OPS if d.int16)
# Constant inputs that stay int8 in int16x8 models (the int16 kernel takes an int8 operand there).
_INT8_CONST_IN_16X8 = {d.name: d.int8_in_16x8 for d in OPS if d.int8_in_16x8}
_NO_INT_REASON = {d.name: d.no_int for d in OPS if d.no_int}
# Op versions TensorFlow's converter writes for quantized ops (LiteRT registers these ranges).
_VERSIONS = {m: {d.name: d.versions[m] for d in OPS if d.versions and m in d.versions}
             for m in ("int8", "int16x8", "dynamic")}
# Dynamic range: weight input -> axis (None: per tensor).
DYNAMIC_WEIGHTS = {d.name: dict(d.dynamic) for d in OPS if d.dynamic}
_ASYM_INPUTS = frozenset(d.name for d in OPS if d.asymmetric_inputs)

_COMPARISONS = frozenset(("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"))

DEGENERATE_SCALE = 2.0 ** -20  # scale of tensors whose calibrated range is [0, 0]

_QRANGE = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255), np.dtype(np.int16): (-32768, 32767),
           np.dtype(np.int32): (-(1 << 31), (1 << 31) - 1), np.dtype(np.int64): (-(1 << 63), (1 << 63) - 1)}


# -- parameter math -------------------------------------------------------------------------------------

def _round_half_away(x):
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def affine_params(rmin: float, rmax: float, dtype=np.int8) -> tuple[float, int]:
    """(scale, zero_point) of a calibrated range, as TFLite's calibrator derives them.

    int8/uint8: asymmetric; the range is first extended to include 0, then the zero point is nudged to an
    integer in [qmin, qmax] so that 0.0 is exactly representable. int16: symmetric, zero point 0.
    """
    dt = np.dtype(dtype)
    rmin, rmax = min(float(rmin), 0.0), max(float(rmax), 0.0)
    qmin, qmax = _QRANGE[dt]
    if rmax - rmin <= 0.0:
        # Always zero in calibration (e.g. an RNN state at its first step). TF's converter writes scale 1.0,
        # which can push a consumer's requantization multiplier above 1 (LiteRT's int16 ADD then aborts);
        # a tiny scale keeps every multiplier that involves this tensor small.
        return DEGENERATE_SCALE, (qmin if dt == np.uint8 else 0)
    if dt == np.int16:
        return float(np.float32(max(-rmin, rmax) / 32767.0)), 0
    scale = (rmax - rmin) / (qmax - qmin)
    zp_from_min = qmin - rmin / scale
    if zp_from_min <= qmin:
        zp = qmin
    elif zp_from_min >= qmax:
        zp = qmax
    else:
        zp = int(_round_half_away(zp_from_min))
    return float(np.float32(scale)), int(zp)


def quantize_symmetric(w: np.ndarray, axis: int | None, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric weight quantization to [-(2^(b-1)-1), 2^(b-1)-1] (int8: [-127, 127]), per channel along
    `axis` or per tensor (axis None). Returns (int8 values, float32 scales)."""
    qmax = (1 << (bits - 1)) - 1
    w = np.asarray(w, dtype=np.float32)
    if axis is None:
        m = np.array([np.max(np.abs(w), initial=0.0)], np.float64)
    else:
        axes = tuple(i for i in range(w.ndim) if i != axis)
        m = np.max(np.abs(w), axis=axes, initial=0.0).astype(np.float64)
    scales = np.where(m > 0, m / qmax, 1.0).astype(np.float32)
    return _apply_scales(w, scales, axis, qmax), scales


def _apply_scales(w, scales, axis, qmax=127):
    shape = [1] * w.ndim
    if axis is not None:
        shape[axis] = -1
    s = scales.astype(np.float64).reshape(shape) if axis is not None else np.float64(scales[0])
    return np.clip(_round_half_away(w.astype(np.float64) / s), -qmax, qmax).astype(np.int8)


def quantize_bias(b: np.ndarray, scales: np.ndarray, dtype=np.int32) -> np.ndarray:
    """Bias values / (input_scale * weight_scale), rounded half away from zero, saturated to dtype."""
    qmin, qmax = _QRANGE[np.dtype(dtype)]
    q = _round_half_away(np.asarray(b, np.float64) / np.asarray(scales, np.float64))
    return np.clip(q, qmin, qmax).astype(dtype)


def quantize_array(x: np.ndarray, scale: float, zero_point: int, dtype) -> np.ndarray:
    """Per-tensor affine quantization of a constant (round half away from zero, saturating)."""
    qmin, qmax = _QRANGE[np.dtype(dtype)]
    q = _round_half_away(np.asarray(x, np.float64) / scale) + zero_point
    return np.clip(q, qmin, qmax).astype(dtype)


# -- entry point ----------------------------------------------------------------------------------------

def quantize(graph: Graph, mode: str, *, representative_data=None, input_type=None, output_type=None,
             min_weight_elements: int = 1024, progress: bool = True) -> Graph:
    """Return a quantized copy of `graph` (the input graph is not modified). See the module docstring."""
    if mode not in MODES:
        raise ConversionError(f"unknown quantization mode {mode!r}; expected one of {', '.join(MODES)}")
    if mode == "dynamic":
        for what, t in (("input_type", input_type), ("output_type", output_type)):
            if t is not None and np.dtype(t) != np.float32:
                raise ConversionError(f"{what}={np.dtype(t)}: dynamic-range models keep a float32 interface")
        return _dynamic(graph, min_weight_elements)
    return _FullInteger(graph, mode, representative_data, input_type, output_type, progress).run()


def _label(op: Op) -> str:
    return f"{op.type} ({op.name!r})" if op.name else op.type


def _is_float(t) -> bool:
    return t is not None and t.dtype == np.float32


def _is_value_cast(op: Op) -> bool:
    """A CAST between float32 and an integer or bool type (e.g. a loop counter turned into a float)."""
    return op.type == "CAST" and len(op.inputs) == 1 and len(op.outputs) == 1 and op.inputs[0] is not None \
        and _is_float(op.inputs[0]) != _is_float(op.outputs[0])


def _new_const(like: Tensor, data: np.ndarray, quant: Quant) -> Tensor:
    data = np.array(data, order="C")  # (np.ascontiguousarray would make a 0-d constant 1-d)
    return Tensor(like.name, data.shape, data.dtype, data, quant)


# -- dynamic range ---------------------------------------------------------------------------------------

def _dynamic(graph: Graph, min_elements: int) -> Graph:
    g = copy.deepcopy(graph)
    cache: dict = {}
    for op in g.ops:
        spec = DYNAMIC_WEIGHTS.get(op.type)
        if not spec:
            continue
        cands = [(i, ax) for i, ax in spec.items() if i < len(op.inputs) and _is_float(op.inputs[i])
                 and op.inputs[i].is_const]
        if not cands:
            continue
        if op.type == "UNIDIRECTIONAL_SEQUENCE_LSTM":
            # The hybrid LSTM kernel needs all of its weights in int8, or none.
            if max(op.inputs[i].data.size for i, _ in cands) < min_elements:
                continue
        elif op.type == "BATCH_MATMUL":
            if op.options.get("adjY") or op.inputs[0] is None or not _is_float(op.inputs[0]):
                continue
            cands = [(i, ax) for i, ax in cands if op.inputs[i].data.size >= min_elements]
        else:
            cands = [(i, ax) for i, ax in cands if op.inputs[i].data.size >= min_elements]
        if not cands:
            continue
        for i, ax in cands:
            w = op.inputs[i]
            key = (w.id, ax)
            if key not in cache:
                q, scales = quantize_symmetric(w.data, ax)
                cache[key] = _new_const(w, q, Quant(scales, np.zeros(scales.size, np.int64),
                                                    axis=0 if ax is None else ax))
            op.inputs[i] = cache[key]
        if op.type in _ASYM_INPUTS:
            op.options["asymmetricQuantizeInputs"] = True
        op.version = max(op.version, _VERSIONS["dynamic"].get(op.type, 1))
    return g


# -- full integer ----------------------------------------------------------------------------------------

class _Groups:
    """Union-find over tensor ids: tensors that must share one quantization."""

    def __init__(self):
        self.parent: dict = {}
        self.fixed: dict = {}  # root -> (scale, zp)
        self.range: dict = {}  # root -> [min, max]
        self.symmetric: set = set()

    def add(self, tid, rng):
        if tid not in self.parent:
            self.parent[tid] = tid
            self.range[tid] = [float(rng[0]), float(rng[1])]

    def find(self, tid):
        root = tid
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[tid] != root:
            self.parent[tid], tid = root, self.parent[tid]
        return root

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        self.parent[rb] = ra
        self.range[ra] = [min(self.range[ra][0], self.range[rb][0]), max(self.range[ra][1], self.range[rb][1])]
        if rb in self.fixed:
            self.fixed[ra] = self.fixed.pop(rb)
        if rb in self.symmetric:
            self.symmetric.add(ra)
        return ra


class _FullInteger:
    def __init__(self, graph, mode, data, input_type, output_type, progress):
        self.src = graph
        self.mode = mode
        self.act = np.dtype(np.int8 if mode == "int8" else np.int16)
        self.bias_dtype = np.dtype(np.int32 if mode == "int8" else np.int64)
        self.data = data
        self.progress = progress
        allowed = (np.dtype(np.float32), self.act) + ((np.dtype(np.uint8),) if mode == "int8" else ())
        self.io = []
        for what, t in (("input_type", input_type), ("output_type", output_type)):
            dt = np.dtype(np.float32) if t is None else np.dtype(t)
            if dt not in allowed:
                raise ConversionError(f"{what}={dt} is not supported for {mode} quantization (expected one of "
                                      f"{', '.join(str(a) for a in allowed)})")
            self.io.append(dt)

    # .. checks ..
    def _check_ops(self, g: Graph):
        table = INT8_OPS if self.mode == "int8" else INT16_OPS
        bad = []
        for scope, op in control.scoped_ops(g):
            bad_before = len(bad)
            touches_float = any(_is_float(t) for t in op.inputs + op.outputs)
            if not touches_float or _is_value_cast(op):
                continue
            if op.type in _NO_INT_REASON:
                bad.append(f"{_label(op)}: {_NO_INT_REASON[op.type]}")
            elif op.type not in table:
                bad.append(f"{_label(op)}: TFLite has no {self.mode} kernel for {op.type}")
            elif any(t is not None and t.dtype.kind == "f" and t.dtype != np.float32 for t in op.inputs):
                bad.append(f"{_label(op)}: float16/float64 tensors cannot be quantized")
            elif op.options.get("fusedActivationFunction", 0) not in (0, 1, 2, 3):
                bad.append(f"{_label(op)}: fused activation {op.options['fusedActivationFunction']} has no "
                           f"integer kernel (only NONE, RELU, RELU_N1_TO_1, RELU6)")
            w = WEIGHTED.get(op.type)
            if w and op.type != "FULLY_CONNECTED" and op.type in table and (
                    len(op.inputs) <= w["weight"] or op.inputs[w["weight"]] is None
                    or not op.inputs[w["weight"]].is_const):
                bad.append(f"{_label(op)}: the filter must be a constant to be quantized per channel")
            if w and op.type in table and len(op.inputs) > w["bias"] and op.inputs[w["bias"]] is not None \
                    and not op.inputs[w["bias"]].is_const:
                bad.append(f"{_label(op)}: the bias must be a constant")
            if scope:
                bad[bad_before:] = [f"{b} in {scope}" for b in bad[bad_before:]]
        bad += control.check_types(g)
        if bad:
            raise ConversionError(f"cannot quantize to {self.mode}: " + "; ".join(bad))

    # .. main ..
    def run(self) -> Graph:
        g = copy.deepcopy(self.src)  # Tensor ids are kept, so calibration ranges apply to the copy
        self._check_ops(g)
        from edgerun.converter.calibrate import calibrate

        ranges = calibrate(self.src, self.data, progress=self.progress)
        self.g = g
        self.graphs = [g] + list(g.subgraphs)
        self.home = {id(op): sg for sg in self.graphs for op in sg.ops}  # op -> the graph holding it
        self._unshare_consts()
        self._isolate_casts()
        groups = self.groups = _Groups()
        weight_slots = set()
        for op in self._ops():
            w = WEIGHTED.get(op.type)
            if w:
                weight_slots.add((id(op), w["bias"]))
                if op.inputs[w["weight"]] is not None and op.inputs[w["weight"]].is_const:
                    weight_slots.add((id(op), w["weight"]))
        self.weight_slots = weight_slots
        # Members: every float tensor but weights and biases.
        def member(t):
            if t.id in self.keep_float:
                return
            if t.is_const:
                groups.add(t.id, (float(np.min(t.data, initial=0.0)), float(np.max(t.data, initial=0.0))))
            else:
                groups.add(t.id, ranges.get(t.id, (0.0, 0.0)))

        for sg in self.graphs:
            for t in sg.inputs + sg.outputs:  # (a subgraph may return one of its inputs or a constant)
                if _is_float(t):
                    member(t)
        for op in self._ops():
            for i, t in enumerate(op.inputs):
                if _is_float(t) and (id(op), i) not in weight_slots:
                    member(t)
            for t in op.outputs:
                if _is_float(t):
                    member(t)
        fixed = FIXED[self.mode]
        for op in self._ops():
            if op.type in fixed and _is_float(op.outputs[0]):
                groups.fixed[groups.find(op.outputs[0].id)] = fixed[op.type]
            if op.type == "FULLY_CONNECTED" and _is_float(op.inputs[1]) and not op.inputs[1].is_const:
                groups.symmetric.add(groups.find(op.inputs[1].id))
        inserts = []  # (before op or None: at the end, graph, new op)
        uses = control.read_counts(self.graphs)
        for op in self._ops():
            if op.type in ("IF", "WHILE"):
                for position in control.tied_positions(g, op):
                    inserts += control.tie(groups, position, uses=uses, home=self.home,
                                           representable=lambda p, r: self._representable(p, r, self.act))
        for op in self._ops():
            if op.type in SAME_SCALE:
                inserts += [(before, self.home[id(before)], new) for before, new in self._merge(op)]
        for before, sg, new in inserts:
            sg.ops.insert(len(sg.ops) if before is None else sg.ops.index(before), new)
        self.params = {}
        for tid in groups.parent:
            root = groups.find(tid)
            if root not in self.params:
                self.params[root] = self._group_params(root)
        control.check_fixed_kept(g, groups, self.params, fixed, self.mode)
        self._float_comparisons()
        self._rewrite()
        self._interface()
        self._set_versions()
        return g

    def _float_comparisons(self):
        """Comparisons TFLite's integer kernels cannot do compare dequantized floats instead (the result is
        bool, nothing after it changes): int8 takes each input scale as a multiplier below one (a scale of 1
        or more, e.g. a loop bound on a large accumulated value, is refused); int16 compares the raw integers,
        right only when both inputs share one scale."""
        for op in self._ops():
            if op.type not in _COMPARISONS:
                continue
            data = [(i, t) for i, t in enumerate(op.inputs) if _is_float(t) and t.id not in self.keep_float]
            params = {self.params[self.groups.find(t.id)] for _, t in data}
            if self.mode == "int8" and not any(p[0] >= 1.0 for p in params):
                continue
            if self.mode == "int16x8" and len(params) < 2:
                continue
            sg = self.home[id(op)]
            for i, t in data:
                if t.is_const:
                    f = Tensor(t.name, t.shape, t.dtype, t.data)
                else:
                    f = Tensor(f"{t.name}_float", t.shape, np.float32)
                    sg.ops.insert(sg.ops.index(op), Op("DEQUANTIZE", [t], [f], name=f"{t.name}/dequantize"))
                op.inputs[i] = f
                self.keep_float.add(f.id)

    def _ops(self):
        """Every op of the main graph and of its subgraphs (a snapshot: inserting ops while iterating is safe)."""
        return [op for sg in self.graphs for op in list(sg.ops)]

    def _isolate_casts(self):
        """A CAST between float and an integer type converts values, not quantized numbers: its float side stays
        float32, joined to the quantized graph by a QUANTIZE (after a cast to float) or a DEQUANTIZE (before a
        cast from float)."""
        self.keep_float = set()
        for op in self._ops():
            if not _is_value_cast(op):
                continue
            sg = self.home[id(op)]
            src, dst = op.inputs[0], op.outputs[0]
            if _is_float(dst):
                f = Tensor(f"{dst.name}_float", dst.shape, np.float32)
                op.outputs[0] = f
                new = Op("QUANTIZE", [f], [dst], name=f"{op.name or dst.name}/quantize")
                sg.ops.insert(sg.ops.index(op) + 1, new)
            elif not src.is_const:
                f = Tensor(f"{src.name}_float", src.shape, np.float32)
                op.inputs[0] = f
                new = Op("DEQUANTIZE", [src], [f], name=f"{op.name or src.name}/dequantize")
                sg.ops.insert(sg.ops.index(op), new)
            else:
                continue
            self.home[id(new)] = sg
            self.keep_float.add(f.id)

    def _unshare_consts(self):
        """A float constant read as data by several ops gets one copy per use (each may get its own
        quantization)."""
        seen = set()
        for op in self._ops():
            for i, t in enumerate(op.inputs):
                if _is_float(t) and t.is_const:
                    if t.id in seen:
                        op.inputs[i] = Tensor(t.name, t.shape, t.dtype, t.data, None)
                    seen.add(op.inputs[i].id)

    def _representable(self, params, rng, dtype):
        scale, zp = params
        qmin, qmax = _QRANGE[dtype]
        lo, hi = scale * (qmin - zp), scale * (qmax - zp)
        return rng[0] >= lo - scale and rng[1] <= hi + scale

    def _merge(self, op):
        """Unify the quantization of a same-scale op's data inputs and outputs. Inputs carrying another fixed
        quantization (e.g. a LOGISTIC output into CONCATENATION with a conv output) are requantized."""
        gr = self.groups
        idxs = SAME_SCALE[op.type]
        idxs = range(len(op.inputs)) if idxs == "all" else idxs
        pad = op.inputs[2] if op.type == "PADV2" and len(op.inputs) > 2 else None
        if pad is not None and _is_float(pad) and pad.is_const and pad.data.size == 1 and _is_float(op.inputs[0]):
            # a pad value outside the data's range (max pooling's -inf or -FLT_MAX padding) is quantized to the
            # nearest end of that range, as TFLite does, instead of stretching the shared scale to reach it
            lo0, hi0 = gr.range[gr.find(op.inputs[0].id)]
            v = min(max(float(np.asarray(pad.data).reshape(-1)[0]), lo0), hi0)
            gr.range[gr.find(pad.id)] = [v, v]
            for t in op.outputs:  # calibration saw the raw pad value in the output too
                if _is_float(t):
                    gr.range[gr.find(t.id)] = [lo0, hi0]
        ins = [(i, op.inputs[i]) for i in idxs if i < len(op.inputs) and _is_float(op.inputs[i])]
        outs = [t for t in op.outputs if _is_float(t)]
        if not ins and not outs:
            return []
        fixed_params = {gr.fixed[gr.find(t.id)] for _, t in ins if gr.find(t.id) in gr.fixed}
        free = [t for _, t in ins if gr.find(t.id) not in gr.fixed] + outs
        # An output already holding a fixed quantization: tied to a loop variable or IF result that keeps one
        # (e.g. a RESHAPE of a LOGISTIC output written back to a loop variable that a TANH output initialises).
        out_fixed = sorted({gr.fixed[gr.find(t.id)] for t in outs if gr.find(t.id) in gr.fixed})
        if len(out_fixed) > 1:
            names = ", ".join(repr(t.name) for t in outs if gr.find(t.id) in gr.fixed)
            raise ConversionError(f"cannot quantize to {self.mode}: {_label(op)}: its outputs {names} are tied "
                                  f"across control-flow boundaries to different fixed quantizations {out_fixed}, "
                                  f"but the op needs one quantization for all of its outputs")

        def span(ts):
            return [min(gr.range[gr.find(t.id)][0] for t in ts), max(gr.range[gr.find(t.id)][1] for t in ts)]

        # A fixed output decides; else keep one fixed quantization when it can represent every member (e.g.
        # TANH's [-1, 1] also holds a LOGISTIC output); otherwise the free members decide and the fixed inputs
        # are requantized.
        keep = out_fixed[0] if out_fixed else None
        for params in [] if out_fixed else sorted(fixed_params):
            if self._representable(params, span([t for _, t in ins] + outs), self.act):
                keep = params
                break
        if keep is None and not fixed_params:
            members = [t for _, t in ins] + outs
            for t in members[1:]:
                gr.union(members[0].id, t.id)
            return []
        if keep is None and not free:
            keep = min(fixed_params)
        if out_fixed:
            base = next(t for t in outs if gr.fixed.get(gr.find(t.id)) == keep)
        elif keep is not None:
            base = next(t for _, t in ins if gr.fixed.get(gr.find(t.id)) == keep)
        else:
            base = free[0]
        for t in free:
            gr.union(base.id, t.id)
        new_ops = []
        for i, t in ins:
            root = gr.find(t.id)
            if root in gr.fixed and gr.fixed[root] != keep:
                r = Tensor(f"{t.name}_requantized", t.shape, t.dtype)
                gr.add(r.id, gr.range[root])
                gr.union(base.id, r.id)
                op.inputs[i] = r
                new_ops.append((op, Op("QUANTIZE", [t], [r], name=f"{op.name or t.name}/requantize")))
            elif root in gr.fixed:
                gr.union(base.id, t.id)
        return new_ops

    def _group_params(self, root):
        gr = self.groups
        if root in gr.fixed:
            return gr.fixed[root]
        lo, hi = gr.range[root]
        if root in gr.symmetric:
            bound = max(-lo, hi, 0.0)
            qmax = _QRANGE[self.act][1]
            return (float(np.float32(bound / qmax)) if bound > 0 else DEGENERATE_SCALE), 0
        return affine_params(lo, hi, self.act)

    def _quant_of(self, t) -> Quant:
        gr = self.groups
        root = gr.find(t.id)
        scale, zp = self.params[root]
        if self.mode == "int8":  # as TensorFlow's converter: int8 models carry no calibrated min/max
            return Quant.per_tensor(scale, zp)
        lo, hi = gr.range[root]
        return Quant.per_tensor(scale, zp, min=np.array([lo], np.float32), max=np.array([hi], np.float32))

    def _rewrite(self):
        done = set()
        for op in self._ops():
            w = WEIGHTED.get(op.type)
            if w:
                self._quantize_weights(op, w)
            for i, t in enumerate(op.inputs):
                if _is_float(t) and (id(op), i) not in self.weight_slots and t.is_const \
                        and t.id not in self.keep_float:
                    data = np.asarray(t.data).reshape(t.shape)
                    if self.mode == "int16x8" and i in _INT8_CONST_IN_16X8.get(op.type, ()):
                        # e.g. PRELU's alpha: LiteRT's int16 kernel reads it as int8
                        scale, zp = affine_params(float(data.min(initial=0.0)), float(data.max(initial=0.0)),
                                                  np.int8)
                        op.inputs[i] = _new_const(t, quantize_array(data, scale, zp, np.int8),
                                                  Quant.per_tensor(scale, zp))
                        continue
                    q = self._quant_of(t)
                    op.inputs[i] = _new_const(t, quantize_array(data, float(q.scale[0]), int(q.zero_point[0]),
                                                                self.act), Quant(q.scale, q.zero_point))
            for t in op.inputs + op.outputs:
                if _is_float(t) and not t.is_const and t.id not in done and t.id not in self.keep_float:
                    done.add(t.id)
                    t.quant = self._quant_of(t)
                    t.dtype = self.act
            if self.mode == "int16x8":
                if op.type in ("ADD", "SUB"):
                    op.options["potScaleInt16"] = False
                if op.type in ("CONV_2D", "FULLY_CONNECTED"):
                    op.options["quantizedBiasType"] = 4  # INT64
        for sg in self.graphs:
            for t in sg.inputs:
                if _is_float(t) and t.id not in done:  # an input no op reads
                    done.add(t.id)
                    t.quant = self._quant_of(t)
                    t.dtype = self.act
            if sg is self.g:
                continue
            for k, t in enumerate(sg.outputs):
                if _is_float(t) and t.is_const:  # a branch returning a constant
                    q = self._quant_of(t)
                    sg.outputs[k] = _new_const(t, quantize_array(np.asarray(t.data).reshape(t.shape),
                                                                 float(q.scale[0]), int(q.zero_point[0]), self.act),
                                               Quant(q.scale, q.zero_point))

    def _quantize_weights(self, op, w):
        x = op.inputs[w["x"]]
        wt = op.inputs[w["weight"]]
        axis = w["axis"]
        in_scale = np.float64(self.params[self.groups.find(x.id)][0])
        bias = op.inputs[w["bias"]] if len(op.inputs) > w["bias"] else None
        if bias is None and op.type in ("CONV_2D", "DEPTHWISE_CONV_2D") and wt.is_const:
            # LiteRT's CONV_2D/DEPTHWISE_CONV_2D kernels require the bias input: write zeros, as TF does.
            bias = Tensor(f"{op.name or op.type.lower()}/bias", (wt.shape[w["axis"]],), np.float32,
                          np.zeros(wt.shape[w["axis"]], np.float32))
            op.inputs = (op.inputs + [None] * 3)[:3]
            op.inputs[w["bias"]] = bias
        if wt.is_const:
            q, scales = quantize_symmetric(wt.data, axis)
            if bias is not None:
                # Keep |bias / (input_scale * weight_scale)| within the bias type: widen a channel's weight
                # scale where a large bias would overflow (rare; TFLite's quantizer does the same).
                bmax = float(_QRANGE[self.bias_dtype][1])
                need = np.abs(bias.data.astype(np.float64)).reshape(-1) / (in_scale * bmax)
                if scales.size == 1:
                    need = np.array([need.max(initial=0.0)])
                if need.shape == scales.shape and np.any(need > scales):
                    scales = np.maximum(scales, (need * 1.0001).astype(np.float32))
                    q = _apply_scales(np.asarray(wt.data, np.float32), scales, axis)
            op.inputs[w["weight"]] = _new_const(wt, q, Quant(scales, np.zeros(scales.size, np.int64), axis=axis))
        else:  # FULLY_CONNECTED with activation weights: a symmetric per-tensor member of its own group
            scales = np.array([self.params[self.groups.find(wt.id)][0]], np.float32)
        if bias is not None and op.type == "FULLY_CONNECTED" and not np.any(bias.data):
            op.inputs[w["bias"]] = None  # an all-zero bias is left out (optional for FC), as TF does
            bias = None
        if bias is not None:
            bscales = (in_scale * scales.astype(np.float64)).astype(np.float32)
            denom = bscales.astype(np.float64)
            if denom.size > 1:
                denom = denom.reshape(bias.data.shape)
            bq = quantize_bias(bias.data, denom, self.bias_dtype)
            op.inputs[w["bias"]] = _new_const(bias, bq, Quant(bscales, np.zeros(bscales.size, np.int64)))

    def _interface(self):
        g = self.g
        in_t, out_t = self.io
        pre = []
        for k, t in enumerate(list(g.inputs)):
            if t.quant is None or t.dtype != self.act:
                continue
            if in_t == self.act:
                continue
            name = t.name
            q = t.quant
            inner = Tensor(f"{name}_{self.act.name}", t.shape, self.act, None, q)
            g.replace_uses(t, inner)
            if in_t == np.float32:
                outer = Tensor(name, t.shape, np.float32)
            else:  # uint8
                outer = Tensor(name, t.shape, np.uint8, None,
                               Quant(q.scale, q.zero_point + 128, min=q.min, max=q.max))
            g.inputs[k] = outer
            pre.append(Op("QUANTIZE", [outer], [inner], name=f"{name}/quantize"))
        g.ops[:0] = pre
        done = {}
        for k, t in enumerate(list(g.outputs)):
            if t.quant is None or t.dtype != self.act or out_t == self.act:
                continue
            if t.id in done:
                g.outputs[k] = done[t.id]
                continue
            name = t.name
            if any(t is i for i in g.inputs):
                continue
            t.name = f"{name}_{self.act.name}"
            if out_t == np.float32:
                outer = Tensor(name, t.shape, np.float32)
                g.ops.append(Op("DEQUANTIZE", [t], [outer], name=f"{name}/dequantize"))
            else:
                q = t.quant
                outer = Tensor(name, t.shape, np.uint8, None,
                               Quant(q.scale, q.zero_point + 128, min=q.min, max=q.max))
                g.ops.append(Op("QUANTIZE", [t], [outer], name=f"{name}/quantize"))
            done[t.id] = outer
            g.outputs[k] = outer

    def _set_versions(self):
        table = _VERSIONS[self.mode]
        for op in self._ops():
            if any(t is not None and t.quant is not None for t in op.inputs + op.outputs):
                op.version = max(op.version, table.get(op.type, 1))
