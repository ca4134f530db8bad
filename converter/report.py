"""Quantization report: how far each activation of a quantized model is from the float model's, tensor by
tensor (matched by name), in the manner of TFLite's quantization debugger.

    print(quantization_report(float_bytes, int8_bytes, samples))

For every tensor present in both models (same name; the float model's tensor is a float activation), over all
samples: RMSE and max |error| between the float activation and the dequantized quantized one, also relative to
the float tensor's range (max - min) and, for quantized tensors, in quantization steps (RMSE / scale). Both
models run in edgerun's interpreter with every tensor preserved (pass `interpreter_factory` to run another
LiteRT-compatible interpreter). Samples are float inputs of the float model, in the forms representative data
takes (array, list of arrays per input, dict by input name); they are quantized for integer model inputs.

Models with control flow: the tensors of the IF branches and WHILE cond/body subgraphs get rows too, named
"subgraph/tensor" (TensorError.subgraph), compared over every execution of their subgraph (both models read
back into IR and run by calibration's control-flow runner; edgerun's interpreter only).
"""
from __future__ import annotations

import dataclasses

import numpy as np
from edgerun.converter.calibrate import TensorRecorder, iter_samples

from edgerun.errors import ConversionError

__all__ = ["TensorError", "quantization_errors", "quantization_report"]


@dataclasses.dataclass
class TensorError:
    name: str
    op: str  # the op writing the tensor in the quantized model ("input" for model inputs)
    dtype: str  # the quantized model's type of the tensor
    scale: float  # 0.0 when not quantized per tensor
    zero_point: int
    count: int = 0  # values compared
    sq_sum: float = 0.0
    sig_sum: float = 0.0  # sum of the float values squared (SQNR)
    max_abs: float = 0.0
    lo: float = np.inf  # float range
    hi: float = -np.inf
    subgraph: str = ""  # the subgraph holding the tensor ("" for the main graph); its name prefixes `name`

    @property
    def rmse(self) -> float:
        return float(np.sqrt(self.sq_sum / self.count)) if self.count else 0.0

    @property
    def range(self) -> float:
        return float(self.hi - self.lo) if self.count else 0.0

    @property
    def rel_rmse(self) -> float:
        return self.rmse / self.range if self.range > 0 else 0.0

    @property
    def rel_max(self) -> float:
        return self.max_abs / self.range if self.range > 0 else 0.0

    @property
    def sqnr_db(self) -> float:
        """Signal-to-quantization-noise ratio: float power over error power, in dB (inf when exact)."""
        if self.sq_sum == 0:
            return float("inf")
        return float(10 * np.log10(self.sig_sum / self.sq_sum)) if self.sig_sum > 0 else float("-inf")

    @property
    def rmse_steps(self) -> float:
        return self.rmse / self.scale if self.scale > 0 else float("nan")


def _dequantize(a: np.ndarray, d: dict) -> np.ndarray:
    if a.dtype.kind == "f":
        return a.astype(np.float64)
    qp = d["quantization_parameters"]
    scales, zps = np.asarray(qp["scales"], np.float64), np.asarray(qp["zero_points"], np.float64)
    if scales.size == 0:
        return a.astype(np.float64)
    if scales.size == 1:
        return (a.astype(np.float64) - zps[0]) * scales[0]
    shape = [1] * a.ndim
    shape[qp["quantized_dimension"]] = -1
    return (a.astype(np.float64) - zps.reshape(shape)) * scales.reshape(shape)


def _to_input(a: np.ndarray, d: dict) -> np.ndarray:
    dt = np.dtype(d["dtype"])
    if dt.kind == "f":
        return a.astype(dt)
    scale, zp = d["quantization"]
    if scale == 0:
        return a.astype(dt)
    info = np.iinfo(dt)
    return np.clip(np.round(a / scale) + zp, info.min, info.max).astype(dt)


def _producers(interp) -> dict:
    desc = getattr(getattr(interp, "_main", None), "desc", None)
    if desc is not None:  # edgerun's interpreter: from the model itself (_get_ops_details has no RESOURCE type)
        return {int(o): op.custom_code if op.name == "CUSTOM" else op.name for op in desc.ops for o in op.outputs}
    try:
        ops = interp._get_ops_details()
    except AttributeError:
        return {}
    return {int(o): op["op_name"] for op in ops for o in op["outputs"]}


def quantization_errors(float_model: bytes, quant_model: bytes, samples, interpreter_factory=None) -> list:
    """Per matched tensor, a TensorError accumulated over all samples (in the float model's tensor order)."""
    fr = TensorRecorder(float_model, interpreter_factory)
    qr = TensorRecorder(quant_model, interpreter_factory)
    fdet = {d["index"]: d for d in fr.interp.get_tensor_details()}
    qdet = {d["name"]: d for d in qr.interp.get_tensor_details()}
    written = set(_producers(fr.interp)) | {d["index"] for d in fr.inputs}
    const = set(fdet) - written  # weights and other constants: no op writes them
    producers = _producers(qr.interp)
    pairs = []
    for i, d in fdet.items():
        if i in const or np.dtype(d["dtype"]) != np.float32 or d["name"] not in qdet:
            continue
        qd = qdet[d["name"]]
        if np.dtype(qd["dtype"]).kind not in "fiu":
            continue
        scale, zp = qd["quantization"]
        op = "input" if qd["index"] in {x["index"] for x in qr.inputs} else producers.get(qd["index"], "?")
        pairs.append((i, qd, TensorError(d["name"], op, np.dtype(qd["dtype"]).name, float(scale), int(zp))))
    if not pairs:
        raise ConversionError("the two models have no float activation tensor names in common")
    specs = [(d["name"], tuple(int(s) for s in (d["shape_signature"] if len(d["shape_signature"]) else d["shape"])),
              np.float32) for d in fr.inputs]
    subs = _Subgraphs(float_model, quant_model, interpreter_factory, fr.interp.num_subgraphs())
    for arrays in iter_samples(samples, specs):
        fr.run(arrays)
        q_arrays = [_to_input(a, d) for a, d in zip(arrays, qr.inputs)]
        qr.run(q_arrays)
        for fi, qd, err in pairs:
            _accumulate(err, fr.get(fi).astype(np.float64), _dequantize(qr.get(qd["index"]), qd))
        subs.run(arrays, q_arrays)
    return [e for _, _, e in pairs if e.count] + [e for e in subs.errors if e.count]


def _accumulate(err: TensorError, f: np.ndarray, q: np.ndarray):
    if f.shape != q.shape:
        return
    diff = q - f
    fin = np.isfinite(f)
    err.count += int(fin.sum())
    err.sq_sum += float(np.sum(diff[fin] ** 2))
    err.sig_sum += float(np.sum(f[fin] ** 2))
    err.max_abs = max(err.max_abs, float(np.max(np.abs(diff[fin]), initial=0.0)))
    if fin.any():
        err.lo = min(err.lo, float(f[fin].min()))
        err.hi = max(err.hi, float(f[fin].max()))


class _Subgraphs:
    """The tensors of the subgraphs (IF branches, WHILE cond and body), matched by subgraph position and tensor
    name, compared on every execution: both models are read back into IR and run by calibration's
    control-flow runner, which sees each subgraph tensor every time its subgraph runs; the k-th value of a
    float tensor is compared with the k-th value of its quantized twin (a loop that runs a different number of
    rounds in the two models is compared over the rounds both ran). Rows are named "subgraph/tensor".
    Only for edgerun's interpreter (interpreter_factory None) and models with subgraphs."""

    def __init__(self, float_model: bytes, quant_model: bytes, interpreter_factory, n_subgraphs: int):
        self.errors: list = []
        self.pairs: list = []  # (float Tensor.id, quantized Tensor, TensorError)
        if interpreter_factory is not None or n_subgraphs < 2:
            return
        import warnings

        from edgerun.converter.frontends.tflite import load

        try:
            fg, qg = load(float_model), load(quant_model, quantized=True)
        except ConversionError as exc:  # e.g. a custom op: the main graph's rows are still right
            warnings.warn(f"quantization report: subgraph tensors not compared ({exc})", stacklevel=3)
            return
        if not fg.subgraphs or len(fg.subgraphs) != len(qg.subgraphs):
            return
        for fs, qs in zip(fg.subgraphs, qg.subgraphs):
            qby = {t.name: t for t in qs.tensors()}
            producers = {t.id: op.type for op in qs.ops for t in op.outputs}
            q_inputs = {t.id for t in qs.inputs}
            for t in fs.tensors():
                qt = qby.get(t.name)
                if t.is_const or t.dtype != np.float32 or qt is None or qt.is_const or qt.dtype.kind not in "fiu":
                    continue
                per_tensor = qt.quant is not None and qt.quant.scale.size == 1
                scale, zp = (float(qt.quant.scale[0]), int(qt.quant.zero_point[0])) if per_tensor else (0.0, 0)
                op = "input" if qt.id in q_inputs else producers.get(qt.id, "?")
                err = TensorError(f"{fs.name}/{t.name}", op, qt.dtype.name, scale, zp, subgraph=fs.name)
                self.pairs.append((t.id, qt, err))
                self.errors.append(err)
        from edgerun.converter.calibrate import _ControlFlowRunner

        self.f_ids = {fid for fid, _, _ in self.pairs}
        self.q_ids = {qt.id for _, qt, _ in self.pairs}
        self.fg, self.qg = fg, qg
        self.seen: dict = {}
        self.f_runner = _ControlFlowRunner(fg, self._observer(self.f_ids))
        self.q_runner = _ControlFlowRunner(qg, self._observer(self.q_ids))

    def _observer(self, ids):
        def observe(tid, a):
            if tid in ids:
                self.seen.setdefault(tid, []).append(np.array(a))
        return observe

    def run(self, f_arrays, q_arrays):
        if not self.pairs:
            return
        self.seen = {}
        self.f_runner.run(self.fg, f_arrays)
        self.q_runner.run(self.qg, q_arrays)
        for fid, qt, err in self.pairs:
            for f, q in zip(self.seen.get(fid, ()), self.seen.get(qt.id, ())):
                _accumulate(err, f.astype(np.float64), _dequantize_ir(q, qt))


def _dequantize_ir(a: np.ndarray, t) -> np.ndarray:
    if a.dtype.kind == "f" or t.quant is None:
        return a.astype(np.float64)
    scales, zps = t.quant.scale.astype(np.float64), t.quant.zero_point.astype(np.float64)
    if scales.size == 1:
        return (a.astype(np.float64) - zps[0]) * scales[0]
    shape = [1] * a.ndim
    shape[t.quant.axis] = -1
    return (a.astype(np.float64) - zps.reshape(shape)) * scales.reshape(shape)


def quantization_report(float_model_bytes: bytes, quant_model_bytes: bytes, samples, *,
                        interpreter_factory=None) -> str:
    """A text table of per-tensor errors of the quantized model against the float model, plus file sizes."""
    errs = quantization_errors(float_model_bytes, quant_model_bytes, samples, interpreter_factory)
    fsize, qsize = len(float_model_bytes), len(quant_model_bytes)
    lines = [f"Quantization report: {len(errs)} tensors compared",
             f"  file size: float {fsize:,} B -> quantized {qsize:,} B ({qsize / fsize:.3f}x)", ""]
    w = max([len("tensor")] + [len(e.name) for e in errs])
    lines.append(f"{'tensor':<{w}}  {'op':<18} {'type':<7} {'scale':>10} {'zp':>6} {'rmse':>10} {'max_abs':>10} "
                 f"{'rmse/rng':>9} {'max/rng':>9} {'rmse/scale':>10}")
    for e in errs:
        steps = f"{e.rmse_steps:10.3f}" if e.scale > 0 else f"{'-':>10}"
        scale = f"{e.scale:10.4g}" if e.scale > 0 else f"{'-':>10}"
        zp = f"{e.zero_point:6d}" if e.scale > 0 else f"{'-':>6}"
        lines.append(f"{e.name:<{w}}  {e.op[:18]:<18} {e.dtype:<7} {scale} {zp} {e.rmse:10.4g} {e.max_abs:10.4g} "
                     f"{100 * e.rel_rmse:8.3f}% {100 * e.rel_max:8.3f}% {steps}")
    if errs:
        worst = max(errs, key=lambda e: e.rel_rmse)
        lines += ["", (f"worst tensor: {worst.name} (rmse {100 * worst.rel_rmse:.3f}% of its range, "
                       f"max |error| {100 * worst.rel_max:.3f}%)")]
    return "\n".join(lines) + "\n"
