"""The probe models of schema/probe.py: one hand-built one-op model per op of the op table and per type.

A recipe (`@_recipe("ADD", ...)`) builds the model for one probed type `m.t` with `_Model`'s helpers: `x` a
non-constant input (fed with ones), `c` a constant, `weight`/`bias` a filter and bias in the form the
quantizer writes, `out` an output (fixed output quantization from the op table). `model(op, type)` returns
(flatbuffer, feeds) or None when the op has no recipe.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
from edgerun.schema.ops import op_def

PROBE_TYPES = ("float32", "float16", "int8", "uint8", "int16", "int32", "int64", "bool")
_QUANT = {"int8": (0.05, 0), "uint8": (0.05, 128), "int16": (0.05, 0)}
_STRING, _RESOURCE = 5, 13  # TensorType


def _string_buffer(values: list) -> bytes:
    """TFLite's string tensor buffer: int32 count, count + 1 int32 offsets from the buffer's start, the bytes."""
    offsets = [4 * (len(values) + 2)]
    for v in values:
        offsets.append(offsets[-1] + len(v))
    return np.array([len(values), *offsets], "<i4").tobytes() + b"".join(values)


_NP = {"float32": np.float32, "float16": np.float16, "int8": np.int8, "uint8": np.uint8, "int16": np.int16,
       "int32": np.int32, "int64": np.int64, "bool": np.bool_, "complex64": np.complex64, "uint64": np.uint64}


class _Model:
    """One probe model under construction: `t` is the probed type."""

    def __init__(self, op: str, t: str):
        from edgerun.schema.builder import ModelBuilder

        self.op, self.t, self.b = op, t, ModelBuilder("edgerun op probe")
        self.ins, self.args, self.outs, self.feeds = [], [], [], []
        self.quantized = t in _QUANT

    def _q(self, dtype, q=None):
        if q == ():  # explicitly not quantized
            return None
        return q if q is not None else (_QUANT.get(dtype) if dtype in _QUANT else None)

    def x(self, shape, dtype=None, q=None):
        """A non-constant input of type `dtype` (default: the probed type), fed with ones ('1 2 3' strings)."""
        dtype = dtype or self.t
        if dtype == "string":
            i = self.b.tensor(f"in{len(self.args)}", shape, None, type=_STRING)
            self.ins.append(i)
            self.args.append(i)
            self.feeds.append(np.full(shape, b"1 2 3", object))
            return i
        i = self.b.tensor(f"in{len(self.args)}", shape, _NP[dtype], quant=self._q(dtype, q))
        self.ins.append(i)
        self.args.append(i)
        self.feeds.append(np.ones(shape, _NP[dtype]))
        return i

    def c(self, value, dtype=None, q=None):
        """A constant (default type: the probed type)."""
        dtype = dtype or self.t
        if dtype == "string":
            values = [bytes(v) for v in np.asarray(value, object).reshape(-1)]
            i = self.b.tensor(f"c{len(self.args)}", np.shape(value), None, type=_STRING,
                              buffer=self.b.buffer(np.frombuffer(_string_buffer(values), np.uint8)))
            self.args.append(i)
            return i
        i = self.b.const(f"c{len(self.args)}", np.asarray(value, _NP[dtype]), quant=self._q(dtype, q))
        self.args.append(i)
        return i

    def none(self):
        self.args.append(-1)

    def weight(self, shape, axis=0):
        """A filter: float for float types, int8 per channel (uint8 per tensor) for quantized ones."""
        v = (np.arange(np.prod(shape)).reshape(shape) % 5 - 2)
        if not self.quantized:
            return self.c(v * 0.1, self.t)
        if self.t == "uint8":
            return self.c(v + 128, "uint8", q=(0.02, 128))
        n = shape[axis]
        return self.c(v, "int8", q=([0.02] * n, [0] * n, axis))

    def bias(self, n):
        if not self.quantized:
            return self.c(np.zeros(n), self.t)
        return self.c(np.zeros(n), "int64" if self.t == "int16" else "int32", q=([0.001] * n, [0] * n))

    def out(self, dtype=None, shape=(1,), q=None):
        dtype = dtype or self.t
        if dtype in ("string", "resource"):
            i = self.b.tensor(f"out{len(self.outs)}", shape, None, type=_STRING if dtype == "string" else _RESOURCE)
            self.outs.append(i)
            return i
        q = self._fixed_quant(dtype) if q is None else (None if q == () else q)
        i = self.b.tensor(f"out{len(self.outs)}", shape, _NP[dtype], quant=q)
        self.outs.append(i)
        return i

    def _fixed_quant(self, dtype):
        d = op_def(self.op)
        mode = {"int8": "int8", "uint8": "int8", "int16": "int16x8"}.get(dtype)
        if dtype != self.t or mode is None or d is None or not d.fixed or mode not in d.fixed:
            return self._q(dtype)
        scale, zp = d.fixed[mode]
        return (scale, zp + 128 if dtype == "uint8" else zp)

    def finish(self, options=None, custom_options: dict | None = None, intermediates=None) -> bytes:
        if not self.outs:
            self.out()
        if custom_options is not None:
            self.b.op("CUSTOM", self.args, self.outs, custom_code=self.op, custom_options=_flex(custom_options))
        else:
            self.b.op(self.op, self.args, self.outs, options, version=_first_version(self.op),
                      intermediates=intermediates)
        self.b.inputs(self.ins)
        self.b.outputs(self.outs)
        return self.b.finish()


def _flex(options: dict) -> bytes:
    """A custom op's flexbuffer map of options."""
    from flatbuffers import flexbuffers

    b = flexbuffers.Builder()
    with b.Map():
        for k, v in options.items():
            (b.Bool if isinstance(v, bool) else b.Int if isinstance(v, int) else b.Float)(k, v)
    return bytes(b.Finish())


_RECIPES: dict = {}
_VERSIONS = None


def _first_version(op: str) -> int:
    """The lowest version LiteRT registers for `op` (tests/oracle_ops.json, written by tests/litert_probe.py):
    BROADCAST_TO starts at 2."""
    global _VERSIONS
    if _VERSIONS is None:
        path = pathlib.Path(__file__).parents[1] / "tests" / "oracle_ops.json"
        try:
            _VERSIONS = {k: v[0] for k, v in json.loads(path.read_text())["builtin"].items() if v}
        except (OSError, ValueError, KeyError):
            _VERSIONS = {}
    return _VERSIONS.get(op, 1)



def _recipe(*names):
    def deco(fn):
        for n in names:
            _RECIPES[n] = fn
        return fn
    return deco


# -- elementwise -------------------------------------------------------------------------------------------
@_recipe("ABS", "CEIL", "COS", "ELU", "EXP", "FLOOR", "HARD_SWISH", "LOG", "LOGISTIC", "NEG", "RELU", "RELU6",
         "RELU_0_TO_1", "RELU_N1_TO_1", "ROUND", "RSQRT", "SIN", "SQRT", "SQUARE", "SIGN", "TANH", "ZEROS_LIKE",
         "ONES_LIKE", "L2_NORMALIZATION", "LOGICAL_NOT", "BITCAST")
def _unary(m):
    m.x((1, 2, 3))
    return m.finish()


@_recipe("GELU")
def _gelu(m):
    m.x((1, 2, 3))
    return m.finish({"approximate": False})


@_recipe("LEAKY_RELU")
def _leaky(m):
    m.x((1, 2, 3))
    return m.finish({"alpha": 0.2})


@_recipe("SOFTMAX", "LOG_SOFTMAX")
def _softmax(m):
    m.x((1, 2, 3))
    return m.finish({"beta": 1.0} if m.op == "SOFTMAX" else None)


@_recipe("LOCAL_RESPONSE_NORMALIZATION")
def _lrn(m):
    m.x((1, 2, 2, 4))
    return m.finish({"radius": 2, "bias": 1.0, "alpha": 1.0, "beta": 0.5})


@_recipe("FAKE_QUANT")
def _fake_quant(m):
    m.x((1, 2, 3))
    return m.finish({"min": -1.0, "max": 1.0, "numBits": 8})


@_recipe("ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "POW", "FLOOR_DIV",
         "FLOOR_MOD", "ATAN2", "BITWISE_XOR", "RIGHT_SHIFT", "LOGICAL_AND", "LOGICAL_OR", "ADD_N", "PRELU",
         "EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "STABLEHLO_ADD",
         "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM", "STABLEHLO_MINIMUM", "STABLEHLO_AND", "STABLEHLO_SHIFT_LEFT")
def _binary(m):
    m.x((1, 2, 3))
    if m.op == "PRELU":  # int16 PRELU takes an int8 alpha (the op table's int8_in_16x8), as the quantizer writes
        alpha = np.full((1, 1, 3), 0.5 if not m.quantized else 10)
        m.c(alpha, "int8" if m.t == "int16" else m.t, q=(0.05, 0) if m.quantized else None)
    else:
        m.x((1, 2, 3))
    if m.op in ("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"):
        m.out("bool")
    return m.finish()


@_recipe("SELECT", "SELECT_V2")
def _select(m):
    m.x((1, 2, 3), "bool")
    m.x((1, 2, 3))
    m.x((1, 2, 3))
    return m.finish()


@_recipe("BATCH_MATMUL")
def _bmm(m):
    m.x((1, 2, 3))
    m.x((1, 3, 2))
    return m.finish()


@_recipe("CAST")
def _cast(m):
    m.x((1, 2, 3), q=())
    m.out("int32" if m.t == "float32" else "float32", q=())
    return m.finish()


@_recipe("QUANTIZE")
def _quantize(m):
    m.x((1, 2, 3))
    m.out("int8" if m.t == "float32" else m.t, q=(0.1, 0) if m.t != "uint8" else (0.1, 128))
    return m.finish()


@_recipe("DEQUANTIZE")
def _dequantize(m):
    m.x((1, 2, 3), q=_QUANT.get(m.t, (0.05, 0)) if m.t in ("int8", "uint8", "int16") else None)
    m.out("float32")
    return m.finish()


# -- convolution, pooling ---------------------------------------------------------------------------------
@_recipe("CONV_2D")
def _conv(m):
    m.x((1, 5, 5, 2))
    m.weight((3, 3, 3, 2), 0)
    m.bias(3)
    return m.finish({"padding": 1, "strideH": 1, "strideW": 1})


@_recipe("DEPTHWISE_CONV_2D")
def _dwconv(m):
    m.x((1, 5, 5, 2))
    m.weight((1, 3, 3, 2), 3)
    m.bias(2)
    return m.finish({"padding": 1, "strideH": 1, "strideW": 1, "depthMultiplier": 1})


@_recipe("FULLY_CONNECTED")
def _fc(m):
    m.x((1, 4))
    m.weight((3, 4), 0)
    m.bias(3)
    return m.finish()


@_recipe("TRANSPOSE_CONV")
def _tconv(m):
    m.c([1, 5, 5, 3], "int32")
    m.weight((3, 3, 3, 2), 0)
    m.x((1, 3, 3, 2))
    return m.finish({"padding": 1, "strideH": 1, "strideW": 1})


@_recipe("CONV_3D")
def _conv3d(m):
    m.x((1, 3, 3, 3, 2))
    m.weight((2, 2, 2, 2, 3), 4)
    return m.finish({"padding": 1, "strideD": 1, "strideH": 1, "strideW": 1, "dilationDFactor": 1,
                     "dilationHFactor": 1, "dilationWFactor": 1})


@_recipe("CONV_3D_TRANSPOSE")
def _conv3d_t(m):
    m.c([1, 4, 4, 4, 3], "int32")
    m.weight((2, 2, 2, 3, 2), 3)
    m.x((1, 3, 3, 3, 2))
    return m.finish({"padding": 1, "strideD": 1, "strideH": 1, "strideW": 1, "dilationDFactor": 1,
                     "dilationHFactor": 1, "dilationWFactor": 1})


@_recipe("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D")
def _pool(m):
    m.x((1, 4, 4, 2))
    return m.finish({"padding": 1, "strideH": 2, "strideW": 2, "filterHeight": 2, "filterWidth": 2})


# -- shapes and data movement ------------------------------------------------------------------------------
@_recipe("RESHAPE")
def _reshape(m):
    m.x((1, 4, 2))
    m.c([2, 4], "int32")
    return m.finish({"newShape": [2, 4]})


@_recipe("SQUEEZE")
def _squeeze(m):
    m.x((1, 4, 2))
    return m.finish({"squeezeDims": [0]})


@_recipe("EXPAND_DIMS")
def _expand(m):
    m.x((4, 2))
    m.c([0], "int32")
    return m.finish()


@_recipe("SHAPE", "RANK")
def _shape(m):
    m.x((4, 2))
    m.out("int32")
    return m.finish({"outType": 2} if m.op == "SHAPE" else None)


@_recipe("CONCATENATION", "PACK")
def _concat(m):
    m.x((2, 3))
    m.x((2, 3))
    return m.finish({"axis": 1} if m.op == "CONCATENATION" else {"valuesCount": 2, "axis": 0})


@_recipe("UNPACK")
def _unpack(m):
    m.x((2, 3))
    m.out()
    m.out()
    return m.finish({"num": 2, "axis": 0})


@_recipe("PAD", "MIRROR_PAD", "PADV2")
def _pad(m):
    m.x((1, 3, 3, 1))
    m.c([[0, 0], [1, 1], [1, 1], [0, 0]], "int32")
    if m.op == "PADV2":
        m.c(0)
    return m.finish({"mode": 0} if m.op == "MIRROR_PAD" else None)


@_recipe("TRANSPOSE")
def _transpose(m):
    m.x((1, 2, 3))
    m.c([0, 2, 1], "int32")
    return m.finish()


@_recipe("GATHER", "GATHER_ND")
def _gather(m):
    m.x((4,) if m.t == "string" else (4, 3))  # LiteRT gathers strings from 1-D tensors only
    m.c([0, 2] if m.op == "GATHER" else [[1], [2]], "int32")
    return m.finish({"axis": 0} if m.op == "GATHER" else None)


@_recipe("SLICE")
def _slice(m):
    m.x((1, 3, 3, 2))
    m.c([0, 1, 1, 0], "int32")
    m.c([1, 2, 2, 2], "int32")
    m.out(shape=(1, 2, 2, 2))  # LiteRT checks the declared rank
    return m.finish()


@_recipe("STRIDED_SLICE")
def _strided(m):
    m.x((1, 4, 4, 2))
    m.c([0, 0, 1, 0], "int32")
    m.c([1, 4, 4, 2], "int32")
    m.c([1, 2, 1, 1], "int32")
    return m.finish()


@_recipe("SPLIT")
def _split(m):
    m.c([3], "int32")
    m.x((1, 2, 2, 4))
    m.out()
    m.out()
    return m.finish({"numSplits": 2})


@_recipe("SPLIT_V")
def _split_v(m):
    m.x((1, 2, 2, 4))
    m.c([1, 3], "int32")
    m.c(3, "int32")
    m.out()
    m.out()
    return m.finish({"numSplits": 2})


@_recipe("SPACE_TO_DEPTH", "DEPTH_TO_SPACE")
def _s2d(m):
    m.x((1, 4, 4, 4))
    return m.finish({"blockSize": 2})


@_recipe("BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND")
def _b2s(m):
    m.x((4, 2, 2, 1) if m.op == "BATCH_TO_SPACE_ND" else (1, 4, 4, 1))
    m.c([2, 2], "int32")
    m.c([[0, 0], [0, 0]], "int32")
    return m.finish()


@_recipe("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR")
def _resize(m):
    m.x((1, 2, 2, 1))
    m.c([4, 4], "int32")
    return m.finish()


@_recipe("TILE")
def _tile(m):
    m.x((2, 3))
    m.c([2, 1], "int32")
    return m.finish()


@_recipe("BROADCAST_TO")
def _broadcast_to(m):
    m.x((1, 3))
    m.c([2, 3], "int32")
    return m.finish()


@_recipe("REVERSE_V2")
def _reverse(m):
    m.x((2, 3))
    m.c([1], "int32")
    return m.finish()


@_recipe("FILL")
def _fill(m):
    m.c([2, 3], "int32")
    m.x(())
    return m.finish()


@_recipe("RANGE")
def _range(m):
    m.c(0)
    m.c(4)
    m.c(1)
    return m.finish()


@_recipe("WHERE")
def _where(m):
    m.c(np.eye(2, 3))  # a constant: edgerun runs data-dependent output shapes only when known at prepare
    m.out("int64")
    return m.finish()


@_recipe("REVERSE_SEQUENCE")
def _revseq(m):
    m.x((2, 3, 2))
    m.c([1, 2], "int32")
    return m.finish({"seqDim": 1, "batchDim": 0})


@_recipe("MATRIX_DIAG")
def _mdiag(m):
    m.x((2, 3))
    return m.finish()


@_recipe("MATRIX_SET_DIAG")
def _msetdiag(m):
    m.x((2, 3, 3))
    m.x((2, 3))
    return m.finish()


@_recipe("ONE_HOT")
def _one_hot(m):
    m.x((3,), "int32")
    m.c(3, "int32")
    m.c(1)
    m.c(0)
    return m.finish({"axis": -1})


@_recipe("SCATTER_ND")
def _scatter(m):
    m.c([[0], [2]], "int32")
    m.x((2, 3))
    m.c([4, 3], "int32")
    return m.finish()


@_recipe("SPARSE_TO_DENSE")
def _s2dense(m):
    m.c([[0], [2]], "int32")
    m.c([4], "int32")
    m.x((2,))
    m.c(0)
    return m.finish()


@_recipe("DYNAMIC_UPDATE_SLICE")
def _dus(m):
    m.x((4, 4))
    m.x((2, 2))
    m.c([1, 1], "int32")
    return m.finish()


@_recipe("BROADCAST_ARGS")
def _bargs(m):
    m.x((2,))
    m.x((2,))
    return m.finish()


@_recipe("DILATE")
def _dilate(m):
    m.x((2, 2))
    m.c([2, 2], "int32")
    m.c(0)
    return m.finish()


@_recipe("EMBEDDING_LOOKUP")
def _embedding(m):
    m.c([0, 2], "int32")
    m.x((4, 3))
    return m.finish()


@_recipe("UNIQUE")
def _unique(m):
    m.c([1, 0, 1, 2, 0])  # a constant, as WHERE
    m.out()
    m.out("int32")
    return m.finish({"idxOutType": 2})


@_recipe("BUCKETIZE")
def _bucketize(m):
    m.x((4,))
    m.out("int32")
    return m.finish({"boundaries": [0.5, 1.5]})


# -- reductions ---------------------------------------------------------------------------------------------
@_recipe("MEAN", "SUM", "REDUCE_PROD", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_ANY", "REDUCE_ALL")
def _reduce(m):
    m.x((1, 3, 3, 2))
    m.c([1, 2], "int32")
    return m.finish({"keepDims": False})


@_recipe("ARG_MAX", "ARG_MIN")
def _argmax(m):
    m.x((2, 3))
    m.c([1], "int32")
    m.out("int32")
    return m.finish({"outputType": 2})


@_recipe("CUMSUM")
def _cumsum(m):
    m.x((2, 3))
    m.c(1, "int32")
    return m.finish()


@_recipe("TOPK_V2")
def _topk(m):
    m.x((2, 5))
    m.c(2, "int32")
    m.out()
    m.out("int32")
    return m.finish()


@_recipe("SEGMENT_SUM")
def _segsum(m):
    m.x((3, 2))
    m.c([0, 0, 1], "int32")
    return m.finish()


@_recipe("UNSORTED_SEGMENT_SUM", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_MIN")
def _unsorted(m):
    m.x((3, 2))
    m.c([0, 1, 0], "int32")
    m.c([2], "int32")
    return m.finish()


# -- recurrent ----------------------------------------------------------------------------------------------
def _state(m, shape):
    i = m.b.tensor(f"state{len(m.args)}", shape, _NP[m.t], is_variable=True)
    m.args.append(i)


def _lstm_args(m, n_in=3, n_cell=4):
    for _ in range(4):
        m.weight((n_cell, n_in))
    for _ in range(4):
        m.weight((n_cell, n_cell))
    for _ in range(3):
        m.none()
    for _ in range(4):
        m.bias(n_cell)
    m.none()
    m.none()


def _lstm_int8(m):
    """The full-integer (8x8_16) form as TFLite's quantizer writes it: int8 symmetric per-tensor weights, int32
    biases, int8 output state and int16 cell state (scale 2^-11) variables, 5 intermediates (gate scales, used
    with layer norm only, and the hidden state)."""
    m.x((1, 2, 3) if m.op != "LSTM" else (1, 3))
    w = np.arange(12) % 5 - 2
    for shape in [(4, 3)] * 4 + [(4, 4)] * 4:
        m.c(np.resize(w, shape), "int8", q=(0.02, 0))
    for _ in range(3):
        m.none()
    for _ in range(4):
        m.c(np.zeros(4), "int32", q=(0.001, 0))
    m.none()
    m.none()
    for dtype, q in (("int8", (0.05, 0)), ("int16", (2.0 ** -11, 0))):
        i = m.b.tensor(f"state{len(m.args)}", (1, 4), _NP[dtype], quant=q, is_variable=True)
        m.args.append(i)
    for _ in range(4):
        m.none()
    m.out("int8", (1, 2, 4) if m.op != "LSTM" else (1, 4), q=(0.05, 0))
    inter = [m.b.tensor(f"intermediate{k}", (), np.int16 if k < 4 else np.int8,
                        quant=(2.0 ** -12, 0) if k < 4 else (0.007, 0)) for k in range(5)]
    opts = {"fusedActivationFunction": 4, "cellClip": 0.0, "projClip": 0.0}
    if m.op != "LSTM":
        opts["timeMajor"] = False
    return m.finish(opts, intermediates=inter)


@_recipe("UNIDIRECTIONAL_SEQUENCE_LSTM", "LSTM")
def _lstm(m):
    if m.t == "int8":
        return _lstm_int8(m)
    m.x((1, 2, 3) if m.op != "LSTM" else (1, 3))
    _lstm_args(m)
    _state(m, (1, 4))
    _state(m, (1, 4))
    for _ in range(4):
        m.none()
    opts = {"fusedActivationFunction": 4, "cellClip": 0.0, "projClip": 0.0}
    if m.op != "LSTM":
        opts["timeMajor"] = False
    return m.finish(opts)


@_recipe("BIDIRECTIONAL_SEQUENCE_LSTM")
def _bilstm(m):
    m.x((2, 1, 3))
    _lstm_args(m)
    _lstm_args(m)
    for _ in range(4):
        _state(m, (1, 4))
    for _ in range(9):
        m.none()
    m.out()
    m.out()
    return m.finish({"fusedActivationFunction": 4, "mergeOutputs": False, "timeMajor": True})


@_recipe("RNN", "UNIDIRECTIONAL_SEQUENCE_RNN")
def _rnn(m):
    m.x((1, 3) if m.op == "RNN" else (1, 2, 3))
    m.weight((4, 3))
    m.weight((4, 4))
    m.bias(4)
    _state(m, (1, 4))
    opts = {"fusedActivationFunction": 1}
    if m.op != "RNN":
        opts["timeMajor"] = False
    return m.finish(opts)


@_recipe("BIDIRECTIONAL_SEQUENCE_RNN")
def _birnn(m):
    m.x((1, 2, 3))
    for _ in range(2):
        m.weight((4, 3))
        m.weight((4, 4))
        m.bias(4)
        _state(m, (1, 4))
    for _ in range(3):
        m.none()
    m.out()
    m.out()
    return m.finish({"fusedActivationFunction": 1, "timeMajor": False, "mergeOutputs": False})


@_recipe("SVDF")
def _svdf(m):
    m.x((1, 3))
    m.weight((4, 3))
    m.weight((4, 2))
    m.bias(4)
    _state(m, (1, 8))
    return m.finish({"rank": 1, "fusedActivationFunction": 0})


# -- detection, signal, randomness -------------------------------------------------------------------------
@_recipe("NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5")
def _nms(m):
    m.x((4, 4))
    m.x((4,))
    m.c(2, "int32")
    m.c(0.5, "float32")
    m.c(0.0, "float32")
    m.out("int32")
    if m.op == "NON_MAX_SUPPRESSION_V5":
        m.c(0.0, "float32")
        m.out("float32")
    m.out("int32")
    return m.finish()


@_recipe("RFFT2D")
def _rfft2d(m):
    m.x((2, 4))
    m.c([2, 4], "int32")
    m.out("complex64")
    return m.finish()


@_recipe("REAL", "IMAG", "COMPLEX_ABS")
def _complex(m):
    m.x((2, 3))
    m.out("float32" if m.t == "complex64" else m.t)
    return m.finish()


@_recipe("RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL")
def _random(m):
    m.c([2, 3], "int32")
    return m.finish({"seed": 1, "seed2": 2})


@_recipe("MULTINOMIAL")
def _multinomial(m):
    m.x((1, 3))
    m.c(2, "int32")
    m.out("int64")
    return m.finish({"seed": 1, "seed2": 2})


# -- strings and hashtables -----------------------------------------------------------------------------------
@_recipe("HASHTABLE", "HASHTABLE_IMPORT", "HASHTABLE_FIND", "HASHTABLE_SIZE")
def _hashtable(m):
    """HASHTABLE -> HASHTABLE_IMPORT (constants) -> HASHTABLE_FIND, HASHTABLE_SIZE: one model for the four ops,
    typed by the keys (values: string for int64 keys, else int64)."""
    value = "string" if m.t == "int64" else "int64"
    codes = {"string": _STRING, "int64": 4, "int32": 2, "float32": 0, "bool": 6, "int8": 9, "uint8": 3,
             "int16": 7, "float16": 1}
    keys = m.x((2,))
    h = m.b.tensor("table", (1,), None, type=_RESOURCE)
    m.b.op("HASHTABLE", [], [h], {"tableId": 1, "keyDtype": codes[m.t], "valueDtype": codes[value]})
    m.args = []
    ck = m.c([b"1 2 3", b"x"] if m.t == "string" else [1, 0])
    cv = m.c([b"one", b"zero"] if value == "string" else [1, 0], value)
    m.b.op("HASHTABLE_IMPORT", [h, ck, cv], [])
    default = m.c([b"?"] if value == "string" else [-1], value)
    y, n = m.out(value, shape=(2,), q=()), m.out("int64", q=())
    m.b.op("HASHTABLE_FIND", [h, keys, default], [y])
    m.b.op("HASHTABLE_SIZE", [h], [n])
    m.b.inputs(m.ins)
    m.b.outputs(m.outs)
    return m.b.finish()


@_recipe("SKIP_GRAM")
def _skip_gram(m):
    if m.t != "string":
        raise TypeError("SKIP_GRAM reads strings only")
    m.x((1,))
    m.out(shape=(0,))
    return m.finish({"ngramSize": 2, "maxSkipSize": 1, "includeAllNgrams": False})


# -- control flow: branches and bodies that pass their input through ------------------------------------------
def _identity_subgraph(m, name, shape):
    sg = m.b.subgraph(name)
    i = sg.tensor("i", shape, _NP[m.t], quant=m._q(m.t))
    sg.inputs([i])
    sg.outputs([i])
    return sg


@_recipe("IF")
def _if(m):
    m.x((), "bool")
    m.x((2,))
    _identity_subgraph(m, "then", (2,))
    _identity_subgraph(m, "else", (2,))
    m.out(shape=(2,))
    return m.finish({"thenSubgraphIndex": 1, "elseSubgraphIndex": 2})


@_recipe("WHILE")
def _while(m):
    m.x((2,))
    cond = m.b.subgraph("cond")  # false at once: the loop runs no step
    i = cond.tensor("i", (2,), _NP[m.t], quant=m._q(m.t))
    c = cond.const("false", np.array(False))
    cond.inputs([i])
    cond.outputs([c])
    _identity_subgraph(m, "body", (2,))
    m.out(shape=(2,))
    return m.finish({"condSubgraphIndex": 1, "bodySubgraphIndex": 2})


@_recipe("VAR_HANDLE", "ASSIGN_VARIABLE", "READ_VARIABLE")
def _variables(m):
    """VAR_HANDLE -> ASSIGN_VARIABLE(input) -> READ_VARIABLE: one model for the three ops, typed by the value."""
    from edgerun.schema import schema_generated as fb

    x = m.x((2,))
    res = m.b.tensor("handle", (), None, type=fb.TensorType.RESOURCE)
    y = m.out(shape=(2,))
    m.b.op("VAR_HANDLE", [], [res], {"sharedName": "v"})
    m.b.op("ASSIGN_VARIABLE", [res, x], [])
    m.b.op("READ_VARIABLE", [res], [y])
    m.b.inputs([x])
    m.b.outputs([y])
    return m.b.finish()


@_recipe("REDUCE_WINDOW")
def _reduce_window(m):
    m.x((1, 4))
    m.c(0)
    for v in ([1, 2], [1, 1], [1, 1]):  # window shape, strides, dilations
        m.c(v, "int64")
    return m.finish({"reduceFunction": 1})  # ADD


@_recipe("STABLEHLO_PAD")
def _hlo_pad(m):
    m.x((2, 2))
    m.c(0)
    return m.finish({"edgePaddingLow": [1, 0], "edgePaddingHigh": [0, 1], "interiorPadding": [1, 0]})


@_recipe("STABLEHLO_GATHER")
def _hlo_gather(m):
    m.x((3, 4))
    m.c([[2], [0]], "int64")
    m.out(shape=(2, 4))
    return m.finish({"offsetDims": [1], "collapsedSliceDims": [0], "startIndexMap": [0], "indexVectorDim": 1,
                     "sliceSizes": [1, 4]})


def _add_body(m, name="body"):
    """A StableHLO body subgraph: two scalars of the probed type -> their STABLEHLO_ADD."""
    sg = m.b.subgraph(name)
    a, b = (sg.tensor(n, (), _NP[m.t], quant=m._q(m.t)) for n in ("a", "b"))
    y = sg.tensor("y", (), _NP[m.t], quant=m._q(m.t))
    sg.op("STABLEHLO_ADD", [a, b], [y])
    sg.inputs([a, b])
    sg.outputs([y])


@_recipe("STABLEHLO_SCATTER")
def _hlo_scatter(m):
    m.x((3, 4))
    m.c([[0], [2]], "int64")
    m.x((2, 4))
    _add_body(m)
    m.out(shape=(3, 4))
    return m.finish({"updateWindowDims": [1], "insertedWindowDims": [0], "scatterDimsToOperandDims": [0],
                     "indexVectorDim": 1, "updateComputationSubgraphIndex": 1})


@_recipe("STABLEHLO_REDUCE_WINDOW")
def _hlo_reduce_window(m):
    m.x((1, 4))
    m.c(0)
    _add_body(m)
    m.out(shape=(1, 3))
    return m.finish({"windowDimensions": [1, 2], "windowStrides": [1, 1], "baseDilations": [1, 1],
                     "windowDilations": [1, 1], "padding": [0, 0, 0, 0], "bodySubgraphIndex": 1})


@_recipe("STABLEHLO_COMPOSITE")
def _hlo_composite(m):
    m.x((2,))
    _identity_subgraph(m, "decomposition", (2,))
    m.out(shape=(2,))
    return m.finish({"name": "edgerun.probe", "decompositionSubgraphIndex": 1, "version": 1,
                     "compositeAttributes": list(_flex({})), "compositeAttributesFormat": 1})  # FLEXBUFFERS


@_recipe("STABLEHLO_CASE")
def _hlo_case(m):
    """Branches without operands, each giving a constant of the probed type."""
    m.x((), "int32")
    for k in range(2):
        sg = m.b.subgraph(f"branch{k}")
        c = sg.const("c", np.full((2,), k, _NP[m.t]), quant=m._q(m.t))
        sg.inputs([])
        sg.outputs([c])
    m.out(shape=(2,))
    return m.finish({"branchSubgraphIndices": [1, 2]})


@_recipe("STABLEHLO_RNG_BIT_GENERATOR")
def _hlo_rng(m):
    """Typed by the random output; the state is uint64."""
    m.x((2,), "uint64")
    m.out("uint64", shape=(2,))
    m.out(shape=(2, 3))
    return m.finish({"algorithm": 1})  # PHILOX


@_recipe("DENSIFY")
def _densify(m):
    from edgerun.schema import schema_generated as fb

    def dim(fmt, dense=0, segments=None, indices=None):
        d = fb.DimensionMetadataT()
        d.format, d.denseSize = fmt, dense
        if segments is not None:
            d.arraySegmentsType = d.arrayIndicesType = fb.SparseIndexVector.Int32Vector
            d.arraySegments, d.arrayIndices = fb.Int32VectorT(), fb.Int32VectorT()
            d.arraySegments.values, d.arrayIndices.values = list(segments), list(indices)
        return d

    sp = fb.SparsityParametersT()  # CSR of [[0, 2, 0], [3, 0, 4]]
    sp.traversalOrder, sp.blockMap, sp.dimMetadata = [0, 1], None, [dim(0, 2), dim(1, 0, [0, 1, 3], [1, 0, 2])]
    i = m.b.const("sparse", np.array([2, 3, 4], _NP[m.t]), shape=(2, 3), sparsity=sp, quant=m._q(m.t))
    m.args.append(i)
    m.out(shape=(2, 3))
    return m.finish()


@_recipe("EMBEDDING_LOOKUP_SPARSE")
def _embedding_sparse(m):
    m.c([0, 2, 1], "int32")
    m.c([[0, 0], [0, 1], [1, 0]], "int32")
    m.c([2, 2], "int32")
    m.c([1.0, 1.0, 1.0], "float32")
    m.x((4, 2))
    return m.finish({"combiner": 0})


@_recipe("LSH_PROJECTION")
def _lsh(m):
    m.c(np.arange(6).reshape(2, 3) * 0.25, "float32")
    m.x((2,) if m.t == "string" else (2, 4))
    m.out("int32", shape=(6,), q=())
    return m.finish({"type": 2})


@_recipe("HASHTABLE_LOOKUP")
def _hashtable_lookup(m):
    m.c([1, 3], "int32")
    m.c([1, 2, 3], "int32")
    m.x((3, 2))
    m.out()
    m.out("uint8", q=())
    return m.finish()


# -- custom ops LiteRT's builtin resolver registers -----------------------------------------------------------
@_recipe("TFLite_Detection_PostProcess")
def _detection(m):
    m.x((1, 6, 4))
    m.x((1, 6, 3))
    m.c(np.tile([0.5, 0.5, 0.2, 0.2], (6, 1)), "float32" if not m.quantized else m.t,
        q=(0.01, 0) if m.quantized else None)
    for shape in ((1, 3, 4), (1, 3), (1, 3), (1,)):
        m.out("float32", shape=shape)
    return m.finish(custom_options={
        "y_scale": 10.0, "x_scale": 10.0, "h_scale": 5.0, "w_scale": 5.0, "nms_score_threshold": 0.3,
        "nms_iou_threshold": 0.5, "num_classes": 2, "max_detections": 3, "max_classes_per_detection": 1,
        "detections_per_class": 3, "use_regular_nms": False})


@_recipe("AudioSpectrogram")
def _spectrogram(m):
    m.x((200, 1))
    m.out(shape=(1, 2, 65))
    return m.finish(custom_options={"window_size": 128, "stride": 64, "magnitude_squared": True})


@_recipe("Mfcc")
def _mfcc(m):
    m.x((1, 2, 65))
    m.c([16000], "int32")
    m.out(shape=(1, 2, 13))
    return m.finish(custom_options={"upper_frequency_limit": 4000.0, "lower_frequency_limit": 20.0,
                                    "filterbank_channel_count": 40, "dct_coefficient_count": 13})


# -- entry points ---------------------------------------------------------------------------------------
_STRING_OPS = ("HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "SKIP_GRAM", "GATHER",
               "RESHAPE", "CONCATENATION", "FILL", "TILE", "LSH_PROJECTION")


def probe_types(d) -> tuple:
    """The types probed for op `d` (complex ops add complex64, string ops and a few data movers string)."""
    extra = ("complex64",) if d.name in ("REAL", "IMAG", "COMPLEX_ABS") else ()
    extra += ("string",) if d.name in _STRING_OPS else ()
    return PROBE_TYPES + extra


def model(op: str, t: str) -> tuple[bytes, list] | None:
    """(one-op model of `op` whose principal type is `t`, input feeds), or None when there is no recipe or the
    recipe cannot write that type."""
    fn = _RECIPES.get(op)
    if fn is None:
        return None
    m = _Model(op, t)
    try:
        data = fn(m)
    except Exception:  # noqa: BLE001 - a type the writer cannot express (e.g. a quantized bool) is not probed
        return None
    return data, m.feeds


