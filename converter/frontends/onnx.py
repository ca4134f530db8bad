"""ONNX -> IR: the path PyTorch users take (torch.onnx.export -> .onnx -> edgerun.convert).

    from edgerun.converter.frontends import onnx as onnx_frontend
    graph = onnx_frontend.load("model.onnx")              # a path, an onnx.ModelProto or serialized bytes
    graph = onnx_frontend.load("model.onnx", nhwc_io=True)

The `onnx` package is imported lazily (only this path needs it). Default-domain operators of opsets 7 to 21
(and newer, where the operator did not change) are read; other domains (com.microsoft, ...) are refused.

Layout
------
ONNX is channels-first (NCHW); TFLite's kernels are channels-last (NHWC). The frontend does the change
itself by tracking, for every ONNX value, the layouts in which it exists as IR tensors. A layout is a
permutation `perm` with `ir_tensor = numpy.transpose(onnx_value, perm)` (NHWC of an NCHW value is
(0, 2, 3, 1)), or a column layout for a 2-D value that flattens a channels-last activation (its columns in
H, W, C order instead of C, H, W).

- Conv, ConvTranspose, pooling, Resize/Upsample, DepthToSpace/SpaceToDepth take channels-last inputs and
  give channels-last outputs: no TRANSPOSE around them.
- Elementwise ops, activations and normalizations run in whatever layout their input has; constants with
  NCHW broadcasting shapes ((1, C, 1, 1), (C, 1, 1), ...) are permuted to match.
- Axis attributes (Concat, Split, Slice, Pad, Gather, Softmax, Reduce*, ArgMax, Squeeze, Unsqueeze,
  Flatten, ...) are remapped into the layout. An ONNX Transpose costs nothing: it only changes the recorded
  layout of its output.
- A TRANSPOSE op is emitted only where a value is needed in a layout it does not have yet (a RESHAPE instead
  when only size-1 dimensions move), e.g. a Reshape of a channels-last activation to a rank other than 2.
- Flatten, or a Reshape to (N, -1), of a channels-last activation gives the column layout; a following
  Gemm/MatMul with constant weights has its weight rows permuted, so flattening costs no transpose either.
- Conv/ConvTranspose/Gemm followed by BatchNormalization have the normalization folded into their
  weights and bias; otherwise BatchNormalization becomes MUL + ADD.

Interface: by default the graph keeps the ONNX interface so its results compare directly with onnxruntime.
A 4-D input stays NCHW and is followed by one TRANSPOSE to NHWC (when something needs channels-last); a 4-D
output computed channels-last gets one TRANSPOSE back to NCHW. `load(source, nhwc_io=True)` makes 4-D
inputs and outputs NHWC instead (no transposes at the edges).

Shapes: static shapes are used throughout. Every node whose inputs are all constant (Constant, and the
Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains torch emits for flatten/view, since Shape of a
value is known) is evaluated at conversion time with onnx's reference evaluator. A dynamic input dimension
(dim_param or unknown) is computed with size 1 and written as -1 in the IR input shape (the flatbuffer's
shape_signature), and tracked through the graph: the shape-chain constants remember which entries came
from it, so a Reshape writes -1 for the one entry that follows the dynamic size (computed from it, copied
by a 0, or else the -1 entry) and the batch can be resized at run time. Other consumers of such constants
(Expand, Tile, ConstantOfShape, Slice bounds, Resize sizes) and recurrent ops over a dynamic sequence
length are fixed to size 1 (or refused). Float16, bfloat16 and float64 values become float32.

Operators: Conv (1-D/2-D, groups, depthwise, dilations, strides, auto_pad, asymmetric pads -> PAD + VALID),
ConvTranspose (groups, output_padding, output_shape), Gemm, MatMul (FULLY_CONNECTED / BATCH_MATMUL; a
following Add of a constant vector becomes the bias),
Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean, Mod, Sqrt, Exp, Log, Abs, Neg, Reciprocal, Floor, Ceil,
Round, Sin, Cos, Sign, Erf (in x * 0.5 * (1 + erf(x / sqrt 2)) -> GELU), Gelu, Relu, LeakyRelu, PRelu,
Elu, Selu, Celu, Sigmoid, Tanh, HardSigmoid, HardSwish, Softplus, Softsign, Mish, Clip, Softmax,
LogSoftmax, BatchNormalization, InstanceNormalization, LayerNormalization, MaxPool, AveragePool
(count_include_pad, ceil_mode), GlobalAveragePool, GlobalMaxPool, Flatten, Reshape, Transpose, Squeeze,
Unsqueeze, Concat, Split, Slice, Gather, Pad (constant, reflect, edge), Resize/Upsample (nearest, linear;
align_corners, half_pixel, pytorch_half_pixel, asymmetric, tf_half_pixel_for_nn), DepthToSpace,
SpaceToDepth, ReduceMean/Sum/Max/Min/Prod/L1/L2/SumSquare/LogSumExp/LogSum, ArgMax, ArgMin, Identity,
Dropout (inference), Cast, Expand, Tile, Where, Equal, Greater, Less, GreaterOrEqual, LessOrEqual, Not, And,
Or, Shape, Size, ConstantOfShape, Constant, LSTM, GRU, RNN (unrolled over their static sequence length;
forward, reverse, bidirectional, peepholes, clip, batch-first layout), If (a condition known at conversion
inlines the taken branch - make the inputs it depends on constant with constant_inputs; a run-time condition
gives a TFLite IF), Loop (a TFLite WHILE; scan outputs when the trip count is known at conversion and the
loop cannot stop early), Scan (opset 9+: a WHILE over the scanned axis, any axes and directions).

Control flow: each If branch / Loop / Scan body becomes an IR subgraph (Graph.subgraphs of the main graph,
nested ones included). Outer run-time values a body reads by name become extra operands of the IF/WHILE and
inputs of its subgraphs, in one layout both sides agree on (the value's first permutation layout, so a
channels-last Conv output enters a branch without TRANSPOSEs); outer constants are copied in. IF outputs leave
in the then branch's layout (the else branch transposes to it if it must); loop-carried values, iteration
counters and scan buffers are in the ONNX layout. Branch outputs must agree in rank, type and shape;
loop-carried values must keep their type and shape.
Anything else raises ConversionError naming the node and its op_type.
"""
from __future__ import annotations

import math
import os

import numpy as np
from edgerun.converter.frontends import Emitter
from edgerun.converter.ir import SAME, VALID, Graph, Tensor

from edgerun.errors import ConversionError

__all__ = ["fix_inputs", "load"]

_FLOAT_TYPES = (np.float16, np.float64)
_LOWEST = float(np.finfo(np.float32).min)
_PLAIN_DTYPES = {np.dtype(t) for t in (np.float32, np.int32, np.int64, np.bool_)}
_ALT_DIM = 3  # stand-in size of a dynamic dimension when tracing which shape entries depend on it


def _onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ConversionError(f"converting ONNX models needs the onnx package ({exc}): pip install 'edgerun[onnx]'"
                              ) from None
    return onnx


def load(source, nhwc_io: bool = False, input_shapes: dict | None = None,
         constant_inputs: dict | None = None) -> Graph:
    """The IR graph of an ONNX model: the path of a .onnx file, an onnx.ModelProto or its serialized bytes.

    nhwc_io=False keeps the ONNX (NCHW) interface for 4-D inputs/outputs; True makes them NHWC.
    input_shapes {name: shape}: fix an input's dynamic (symbolic, unknown or negative) dimensions; -1 in the
    given shape leaves that dimension dynamic. constant_inputs {name: value}: the input becomes a constant
    of that value (in the input's type), so what depends on it is folded (e.g. an If on a sample rate)."""
    onnx = _onnx()
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise ConversionError(f"no such file: {path!r}")
        try:
            model = onnx.load(path)
        except Exception as exc:  # noqa: BLE001 - protobuf/IO errors of many kinds: name the file
            raise ConversionError(f"cannot read ONNX model {path!r}: {type(exc).__name__}: {exc}") from None
    elif isinstance(source, onnx.ModelProto):
        model = source
    elif isinstance(source, (bytes, bytearray)):
        try:
            model = onnx.load_from_string(bytes(source))
        except Exception as exc:  # noqa: BLE001
            raise ConversionError(f"cannot parse ONNX model bytes: {type(exc).__name__}: {exc}") from None
    else:
        raise ConversionError(f"expected the path of an .onnx file or an onnx.ModelProto, got "
                              f"{type(source).__name__}")
    if input_shapes or constant_inputs:
        model = fix_inputs(model, input_shapes or {}, constant_inputs or {})
    return _Lowering(model, nhwc_io).convert()


def fix_inputs(model, input_shapes: dict, constant_inputs: dict):
    """A copy of `model` with input shapes fixed and some inputs turned into initializers (see load())."""
    onnx = _onnx()
    from onnx import helper, numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    inits = {t.name for t in m.graph.initializer}
    inputs = {vi.name: vi for vi in m.graph.input if vi.name not in inits}
    for what, names in (("input_shapes", input_shapes), ("constant_inputs", constant_inputs)):
        unknown = [n for n in names if n not in inputs]
        if unknown:
            raise ConversionError(f"{what}: the model has no input {unknown[0]!r}; its inputs are "
                                  f"{', '.join(inputs) or '(none)'}")
    for name, shape in input_shapes.items():
        dims = inputs[name].type.tensor_type.shape.dim
        try:
            shape = [int(d) for d in shape]
        except (TypeError, ValueError):
            raise ConversionError(f"input_shapes[{name!r}]: expected a sequence of integers, got {shape!r}") from None
        if len(shape) != len(dims):
            raise ConversionError(f"input_shapes[{name!r}] = {tuple(shape)} has rank {len(shape)}; the model's "
                                  f"input has rank {len(dims)}")
        for i, (d, want) in enumerate(zip(dims, shape)):
            if want == 0 or want < -1:
                raise ConversionError(f"input_shapes[{name!r}]: dimension {i} is {want}; use a size >= 1, or -1 "
                                      f"to leave it dynamic")
            static = d.HasField("dim_value") and d.dim_value > 0
            if static and want != -1 and want != d.dim_value:
                raise ConversionError(f"input_shapes[{name!r}]: dimension {i} is {d.dim_value} in the model, "
                                      f"not {want}")
            if want > 0 and not static:
                d.Clear()
                d.dim_value = want
    for name, value in constant_inputs.items():
        vi = inputs[name]
        tt = vi.type.tensor_type
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type))
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf" or (dtype.kind in "iub" and arr.dtype.kind == "f"
                                            and not np.all(arr == np.round(arr))):
            raise ConversionError(f"constant_inputs[{name!r}]: {value!r} is not a {dtype} value")
        arr = arr.astype(dtype)
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tt.shape.dim]
        if tt.HasField("shape"):
            if arr.ndim == 0 and len(dims) and all(d in (1, None) for d in dims):
                arr = arr.reshape((1,) * len(dims))
            if arr.ndim != len(dims) or any(d is not None and d != a for d, a in zip(dims, arr.shape)):
                raise ConversionError(f"constant_inputs[{name!r}]: shape {arr.shape} does not fit the input's "
                                      f"{tuple(d if d else '?' for d in dims)}")
        m.graph.initializer.append(numpy_helper.from_array(arr, name))
        m.graph.input.remove(vi)
    return m


# -- layouts ------------------------------------------------------------------------------------------------
class Cols:
    """Layout of a 2-D value whose IR columns are the ONNX columns permuted: ir[:, j] = onnx[:, perm[j]]."""

    __slots__ = ("_h", "perm")

    def __init__(self, perm):
        self.perm = np.asarray(perm, np.int64)
        self._h = hash(self.perm.tobytes())

    def __hash__(self):
        return self._h

    def __eq__(self, other):
        return isinstance(other, Cols) and np.array_equal(self.perm, other.perm)

    def __repr__(self):
        return f"Cols({self.perm.size})"


def _ident(r: int) -> tuple:
    return tuple(range(r))


def _cl(r: int) -> tuple:
    """Channels-last permutation of a channels-first rank-r value."""
    return (0,) + tuple(range(2, r)) + (1,) if r >= 3 else _ident(r)


def _is_perm(layout) -> bool:
    return isinstance(layout, tuple)


def _to_layout(arr, layout, rank: int) -> np.ndarray:
    """An ONNX-layout array (broadcastable to rank `rank`) in `layout`."""
    arr = np.asarray(arr)
    if arr.ndim < rank:
        arr = arr.reshape((1,) * (rank - arr.ndim) + arr.shape)
    if isinstance(layout, Cols):
        return arr[..., layout.perm] if arr.shape[-1] > 1 else arr
    return np.transpose(arr, layout)


def _drop_axes_perm(perm: tuple, axes) -> tuple:
    """The layout of a value in `perm` once the ONNX axes `axes` are removed."""
    keep = [p for p in perm if p not in axes]
    order = sorted(keep)
    return tuple(order.index(p) for p in keep)


def _bshape(*shapes) -> tuple:
    """Broadcast IR shapes (-1 = dynamic)."""
    r = max(len(s) for s in shapes)
    out = []
    for i in range(r):
        ds = [s[len(s) - r + i] for s in shapes if len(s) - r + i >= 0]
        static = {d for d in ds if d > 1}
        if len(static) > 1:
            raise ConversionError(f"shapes {list(shapes)} do not broadcast")
        out.append(static.pop() if static else (-1 if any(d < 0 for d in ds) else 1))
    return tuple(out)


def _strip_leading_ones(arr: np.ndarray) -> np.ndarray:
    while arr.ndim > 1 and arr.shape[0] == 1:
        arr = arr[0]
    return arr


def _np_float(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype in _FLOAT_TYPES or arr.dtype.kind == "V" or str(arr.dtype) == "bfloat16":
        return arr.astype(np.float32)
    return arr


class _Emitter(Emitter):
    """The shared Emitter with broadcasting that accepts -1 (dynamic) dimensions."""

    def binary(self, type: str, a, b, act: int = 0) -> Tensor:
        ref = a if isinstance(a, Tensor) else b
        a, b = self.as_tensor(a, ref.dtype), self.as_tensor(b, ref.dtype)
        opts = {"fusedActivationFunction": act} if type in ("ADD", "SUB", "MUL", "DIV") else None
        return self.op1(type, [a, b], _bshape(a.shape, b.shape), opts)


class Val:
    """An ONNX value: a constant (numpy, ONNX layout) or the IR tensors holding it, by layout."""

    def __init__(self, name: str, shape, dtype, const=None, dyn=frozenset()):
        self.name = name
        self.shape = tuple(int(d) for d in shape)  # static ONNX shape (dynamic dims computed as 1)
        self.dtype = np.dtype(dtype)
        self.const = const
        self.forms: dict = {}  # layout -> Tensor; the first is the primary layout
        self.dyn = frozenset(dyn)  # ONNX axes of dynamic size
        self.derive = None  # () -> identity-layout Tensor, for values that exist only in a column layout
        self.fold = None  # [(op, weight index, bias index, weight out-axis, first channel, channels)]
        self.fc_op = None  # the FULLY_CONNECTED without bias that computes this value (MatMul + Add fusion)
        # for constants computed from the shape of a value with dynamic dimensions: the same computation with
        # those dimensions at _ALT_DIM instead of 1 (entries that differ depend on the dynamic size)
        self.alt = None

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def primary(self):
        return next(iter(self.forms)) if self.forms else _ident(self.rank)

    def perm_layout(self):
        """The first permutation layout (column layouts skipped), or None."""
        return next((lay for lay in self.forms if _is_perm(lay)), None)

    def __repr__(self):
        kind = "const " if self.const is not None else ""
        return f"<{kind}Val {self.name!r} {self.shape} {list(self.forms)}>"


def _attr(a):
    from onnx import helper

    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [x.decode() for x in v]
    return v


_UNARY = {"Relu": "RELU", "Sigmoid": "LOGISTIC", "Tanh": "TANH", "Exp": "EXP", "Log": "LOG", "Sqrt": "SQRT",
          "Abs": "ABS", "Neg": "NEG", "Floor": "FLOOR", "Ceil": "CEIL", "Round": "ROUND", "Sin": "SIN",
          "Cos": "COS", "Not": "LOGICAL_NOT", "Sign": "SIGN", "HardSwish": "HARD_SWISH"}
_BINARY = {"Add": "ADD", "Sub": "SUB", "Mul": "MUL", "Div": "DIV", "Max": "MAXIMUM", "Min": "MINIMUM",
           "And": "LOGICAL_AND", "Or": "LOGICAL_OR"}
_COMPARE = {"Equal": "EQUAL", "Greater": "GREATER", "Less": "LESS", "GreaterOrEqual": "GREATER_EQUAL",
            "LessOrEqual": "LESS_EQUAL"}
_REDUCE = {"ReduceMean": "MEAN", "ReduceSum": "SUM", "ReduceMax": "REDUCE_MAX", "ReduceMin": "REDUCE_MIN",
           "ReduceProd": "REDUCE_PROD"}
_NO_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
            "Bernoulli", "If", "Loop", "Scan"}


class _Lowering:
    def __init__(self, model, nhwc_io: bool):
        self.model = model
        self.nhwc_io = bool(nhwc_io)
        self.opset = 1
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                self.opset = int(imp.version)
        self.g = Graph(name="main")
        self.root = self.g  # holds every subgraph (If branches, Loop bodies), nested ones too
        self.em = _Emitter(self.g)
        self.vals: dict = {}
        self.uses: dict = {}
        self.outputs: set = set()
        self.node = None  # the node being lowered (error messages)
        self._k = 0
        self._ref_shapes: dict = {}
        self._named: set = set()  # ids of IR tensors already named after an ONNX value

    # -- errors and small helpers ------------------------------------------------------------------------
    def err(self, msg: str) -> ConversionError:
        n = self.node
        if n is None:
            return ConversionError(msg)
        name = n.name or (f"<unnamed, output {n.output[0]!r}>" if n.output else "<unnamed>")
        return ConversionError(f"node {name!r} ({n.op_type}): {msg}")

    def const_of(self, v: Val | None, what: str) -> np.ndarray:
        if v is None:
            raise self.err(f"{what} is missing")
        if v.const is None:
            raise self.err(f"{what} ({v.name!r}) must be a constant (an initializer or computable at "
                           "conversion time)")
        return v.const

    def ints_of(self, v, what) -> list:
        return [int(x) for x in np.asarray(self.const_of(v, what)).reshape(-1)]

    def _tmp(self, hint="t") -> str:
        self._k += 1
        return f"%{hint}{self._k}"

    def cval(self, arr, name=None) -> Val:
        arr = _np_float(np.asarray(arr))
        return Val(name or self._tmp("c"), arr.shape, arr.dtype, const=arr)

    def new(self, t: Tensor, layout, shape, dyn=frozenset(), name=None) -> Val:
        v = Val(name or self._tmp(), shape, t.dtype, dyn=dyn)
        v.forms[layout] = t
        return v

    def cconst(self, arr, dtype=None, name="const") -> Tensor:
        arr = np.asarray(arr) if dtype is None else np.asarray(arr, dtype=dtype)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        return self.em.const(arr, arr.dtype, name)

    @staticmethod
    def _dyn_aligned(v: Val, rank: int) -> set:
        return {a + rank - v.rank for a in v.dyn}

    # -- IR shape ops --------------------------------------------------------------------------------------
    def reshape(self, t: Tensor, shape) -> Tensor:
        """RESHAPE to `shape`; -1 marks a dynamic dimension (at most one)."""
        shape = [int(d) for d in shape]
        if tuple(shape) == tuple(t.shape):
            return t
        if shape.count(-1) > 1:
            raise self.err(f"cannot reshape {t.shape} to {tuple(shape)}: more than one dynamic dimension")
        s = self.cconst(np.array(shape, np.int32), name="shape")
        return self.em.op1("RESHAPE", [t, s], shape, {"newShape": list(shape)})

    def permute(self, t: Tensor, r) -> Tensor:
        """TRANSPOSE by r, or a RESHAPE when only size-1 dimensions move."""
        r = [int(p) for p in r]
        if r == list(range(len(r))):
            return t
        shape = [t.shape[i] for i in r]
        moved = [i for i in r if t.shape[i] != 1]
        if moved == sorted(moved) and shape.count(-1) <= 1:
            return self.reshape(t, shape)
        p = self.cconst(np.array(r, np.int32), name="perm")
        return self.em.op1("TRANSPOSE", [t, p], shape)

    def ir_shape(self, v: Val, layout) -> tuple:
        if isinstance(layout, Cols):
            shape = list(v.shape)
            dyn = v.dyn
            return tuple(-1 if i in dyn else d for i, d in enumerate(shape))
        return tuple(-1 if p in v.dyn else v.shape[p] for p in layout)

    def ir(self, v: Val, layout=None) -> Tensor:
        """v as an IR tensor in `layout` (default: the ONNX layout); emits a TRANSPOSE/RESHAPE if needed."""
        layout = _ident(v.rank) if layout is None else layout
        if v.const is not None:
            key = ("const", layout)
            t = v.forms.get(key)
            if t is None:
                arr = np.ascontiguousarray(_to_layout(v.const, layout, v.rank))
                if arr.ndim == 0:
                    arr = arr.reshape(1)
                t = self.g.const(v.name if not v.name.startswith("%") else self.em._name("const"), arr)
                v.forms[key] = t
            return t
        t = v.forms.get(layout)
        if t is not None:
            return t
        if isinstance(layout, Cols):
            raise self.err(f"internal: {v.name!r} has no column layout")
        src_l = v.perm_layout()
        if src_l is None:
            if v.derive is None:
                raise self.err(f"internal: {v.name!r} has no IR tensor")
            t0 = v.derive()
            src_l = _ident(v.rank)
            v.forms[src_l] = t0
            if layout == src_l:
                return t0
        src = v.forms[src_l]
        t = self.permute(src, [src_l.index(p) for p in layout])
        if t is not src:
            kind = "nhwc" if layout == _cl(v.rank) else "nchw" if layout == _ident(v.rank) else "perm"
            t.name = f"{v.name.lstrip('%')}/{kind}"
        v.forms[layout] = t
        return t

    # -- entry ---------------------------------------------------------------------------------------------
    def convert(self) -> Graph:
        onnx = _onnx()
        from onnx import numpy_helper

        graph = self.model.graph
        if self.opset < 7:
            raise ConversionError(f"ONNX opset {self.opset} is not supported (7 or newer)")
        if len(graph.sparse_initializer):
            raise ConversionError("sparse initializers are not supported")
        inits = set()
        for t in graph.initializer:
            try:
                arr = numpy_helper.to_array(t)
            except Exception as exc:  # noqa: BLE001
                raise ConversionError(f"initializer {t.name!r}: {exc}") from None
            self.vals[t.name] = self.cval(arr, t.name)
            inits.add(t.name)
        self._count_uses(graph.node)
        for o in graph.output:
            self.outputs.add(o.name)
            self.uses[o.name] = self.uses.get(o.name, 0) + 1
        try:
            inferred = onnx.shape_inference.infer_shapes(self.model)
            for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
                tt = vi.type.tensor_type
                if tt.HasField("shape"):
                    self._ref_shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0
                                                      else None for d in tt.shape.dim)
        except Exception:  # noqa: BLE001 - shape inference is only a cross-check
            self._ref_shapes = {}
        in_names = []
        for vi in graph.input:
            if vi.name in inits:
                continue
            self._graph_input(vi)
            in_names.append(vi.name)
        nodes = self._fuse_gelu(list(graph.node))
        for node in nodes:
            self._lower(node)
        self.node = None
        outs, out_names = [], []
        for o in graph.output:
            outs.append(self._graph_output(o.name, outs))
            out_names.append(o.name)
        self.g.outputs = outs
        self.g.input_names, self.g.output_names = in_names, out_names
        return self.g

    def _graph_input(self, vi):
        from onnx import helper

        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            raise ConversionError(f"input {vi.name!r}: only tensor inputs are supported")
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type))
        if dtype in _FLOAT_TYPES or dtype.kind == "V":
            dtype = np.dtype(np.float32)
        if not tt.HasField("shape"):
            raise ConversionError(f"input {vi.name!r} has no shape: give the model a static input shape")
        shape, dyn = [], set()
        for i, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value == 0:
                raise ConversionError(f"input {vi.name!r} has a zero-size dimension")
            if d.HasField("dim_value") and d.dim_value > 0:
                shape.append(int(d.dim_value))
            else:
                shape.append(1)
                dyn.add(i)
        v = Val(vi.name, shape, dtype, dyn=dyn)
        layout = _cl(4) if (self.nhwc_io and len(shape) == 4) else _ident(len(shape))
        t = self.g.input(vi.name, self.ir_shape(v, layout), dtype)
        v.forms[layout] = t
        self.vals[vi.name] = v

    def _graph_output(self, name: str, done: list) -> Tensor:
        v = self.vals.get(name)
        if v is None:
            raise ConversionError(f"graph output {name!r} is not produced by any node")
        layout = _cl(4) if (self.nhwc_io and v.rank == 4) else _ident(v.rank)
        self.em.scope = name
        t = self.ir(v, layout)
        if t.is_const or any(t is i for i in self.g.inputs) or any(t is o for o in done):
            shape = self.ir_shape(v, layout)  # a 0-d constant is stored with shape (1,)
            s = self.em.const(np.array(shape, np.int32).reshape(len(shape)), np.int32, "shape")
            t = self.em.op1("RESHAPE", [t, s], shape, {"newShape": list(shape)})
        t.name = name
        return t

    # -- node loop -----------------------------------------------------------------------------------------
    def _lower(self, node):
        self.node = node
        op = node.op_type
        if node.domain not in ("", "ai.onnx"):
            raise self.err(f"operator domain {node.domain!r} is not supported (only the default ONNX domain)")
        ins = []
        for n in node.input:
            if not n:
                ins.append(None)
            elif n not in self.vals:
                raise self.err(f"input {n!r} is not defined before this node")
            else:
                ins.append(self.vals[n])
        at = {a.name: _attr(a) for a in node.attribute}
        self.em.scope = node.name or (node.output[0] if node.output else op)
        outs = None
        try:
            if op not in _NO_FOLD and all(v is None or v.const is not None for v in ins) and \
                    (any(v is not None for v in ins) or op in ("Constant", "ConstantOfShape", "Range")):
                outs = self._fold(node, ins)
            if outs is None:
                fn = getattr(self, "_op_" + op, None)
                if fn is None:
                    raise self.err(f"operator {op} is not supported")
                outs = fn(node, ins, at)
        except ConversionError:
            raise
        except Exception as exc:
            raise self.err(f"{type(exc).__name__}: {exc}") from exc
        if isinstance(outs, Val):
            outs = [outs]
        for i, oname in enumerate(node.output):
            if not oname:
                continue
            if i >= len(outs) or outs[i] is None:
                if self.uses.get(oname):
                    raise self.err(f"output {i} ({oname!r}) is not supported")
                continue
            self._bind(oname, outs[i])

    def _bind(self, name: str, v: Val):
        ref = self._ref_shapes.get(name)
        if ref is not None and len(ref) == v.rank:
            bad = [(a, b) for a, b in zip(v.shape, ref) if b is not None and b != a]
            if bad and not v.dyn:
                raise self.err(f"internal: shape {v.shape} of {name!r} differs from ONNX's inferred {ref}")
        if v.name.startswith("%"):
            v.name = name
            for key, t in v.forms.items():
                if isinstance(key, tuple) and key and key[0] == "const":
                    continue
                if id(t) not in self._named and not any(t is i for i in self.g.inputs):
                    t.name = name if key == v.primary else f"{name}/{'nhwc' if key == _cl(v.rank) else 'l'}"
                    self._named.add(id(t))
        self.vals[name] = v

    def _evaluator(self, node, ins):
        from onnx import helper
        from onnx.reference import ReferenceEvaluator

        inputs = []
        for n, v in zip(node.input, ins):
            if n and n not in [i.name for i in inputs]:
                elem = helper.np_dtype_to_tensor_dtype(v.const.dtype)
                inputs.append(helper.make_tensor_value_info(n, elem, None))
        outputs = [helper.make_value_info(o, helper.TypeProto()) for o in node.output if o]
        g = helper.make_graph([node], "fold", inputs, outputs)
        m = helper.make_model(g, opset_imports=list(self.model.opset_import),
                              ir_version=self.model.ir_version)
        return ReferenceEvaluator(m)

    def _fold(self, node, ins):
        feeds = {n: v.const for n, v in zip(node.input, ins) if n}
        try:
            ev = self._evaluator(node, ins)
            res = ev.run(None, feeds)
        except Exception:  # noqa: BLE001 - the op is lowered instead
            return None
        outs = [self.cval(np.asarray(r)) for r in res]
        if any(v is not None and v.alt is not None for v in ins):
            alt_feeds = {n: (v.alt if v.alt is not None else v.const) for n, v in zip(node.input, ins) if n}
            try:
                alts = ev.run(None, alt_feeds)
            except Exception:  # noqa: BLE001 - no dependency tracking through this node
                alts = [None] * len(outs)
            for v, a in zip(outs, alts):
                if a is not None and np.shape(a) == v.shape:
                    v.alt = _np_float(np.asarray(a)).astype(v.dtype)
        return outs

    # -- GELU pattern ----------------------------------------------------------------------------------------
    def _static_const(self, name, producers):
        from onnx import numpy_helper

        v = self.vals.get(name)
        if v is not None and v.const is not None:
            return v.const
        p = producers.get(name)
        if p is not None and p.op_type == "Constant":
            for a in p.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
                if a.name == "value_float":
                    return np.float32(a.f)
        return None

    def _fuse_gelu(self, nodes):
        """x * 0.5 * (1 + erf(x / sqrt(2))) (any order of the final multiplications) -> one Gelu node."""
        from onnx import helper

        producers = {o: n for n in nodes for o in n.output}
        consumers: dict = {}
        for n in nodes:
            for i in n.input:
                consumers.setdefault(i, []).append(n)

        def near(name, value):
            c = self._static_const(name, producers)
            if c is None or np.size(c) != 1:
                return False
            return abs(float(np.asarray(c).reshape(-1)[0]) - value) < 1e-4

        def only(name):
            cs = consumers.get(name, [])
            return cs[0] if len(cs) == 1 and name not in self.outputs else None

        skip, replace = set(), {}
        for e in nodes:
            if e.op_type != "Erf" or e.domain not in ("", "ai.onnx"):
                continue
            d = producers.get(e.input[0])
            if d is None or only(d.output[0]) is not e:
                continue
            r2 = math.sqrt(2.0)
            if (d.op_type == "Div" and near(d.input[1], r2)) or \
                    (d.op_type == "Mul" and near(d.input[1], 1 / r2)):
                x = d.input[0]
            elif d.op_type == "Mul" and near(d.input[0], 1 / r2):
                x = d.input[1]
            else:
                continue
            add = only(e.output[0])
            if add is None or add.op_type != "Add":
                continue
            if not (near(add.input[1], 1.0) or near(add.input[0], 1.0)):
                continue
            cur, chain, have_x, have_half = add.output[0], [d, e, add], False, False
            ok = False
            for _ in range(2):
                m = only(cur)
                if m is None or m.op_type != "Mul":
                    break
                other = m.input[1] if m.input[0] == cur else m.input[0]
                hp = producers.get(other)
                if other == x:
                    have_x = True
                elif near(other, 0.5):
                    have_half = True
                elif hp is not None and hp.op_type == "Mul" and x in hp.input and \
                        near(hp.input[1] if hp.input[0] == x else hp.input[0], 0.5):
                    have_x = have_half = True
                else:
                    break
                chain.append(m)
                cur = m.output[0]
                if have_x and have_half:
                    ok = True
                    break
            if not ok:
                continue
            for n in chain[:-1]:
                skip.add(id(n))
            replace[id(chain[-1])] = helper.make_node("Gelu", [x], [cur], name=e.name or cur, domain="")
        return [replace.get(id(n), n) for n in nodes if id(n) not in skip]

    # -- generic elementwise on values -----------------------------------------------------------------------
    def pick_layout(self, vals, rank, allow_cols=True):
        """The layout for an op over `vals`: one every full-rank operand has if possible, else the one most
        of them have (channels-last on a tie: convolutions are the likely consumers)."""
        cands = [v for v in vals if v.const is None and v.rank == rank]
        if not cands:
            return _ident(rank)
        lower = any(v.const is None and v.rank < rank for v in vals)
        ok = [lay for lay in cands[0].forms if not (isinstance(lay, Cols) and (lower or not allow_cols))]
        for lay in ok:
            if all(lay in c.forms for c in cands[1:]):
                return lay
        if len(cands) > 1:
            counts: dict = {}
            for c in cands:
                for lay in c.forms:
                    if _is_perm(lay):
                        counts[lay] = counts.get(lay, 0) + 1
            if counts:
                best = max(counts.values())
                tops = [lay for lay, n in counts.items() if n == best]
                return _cl(rank) if _cl(rank) in tops else tops[0]
        lay = cands[0].primary
        if isinstance(lay, Cols) and (lower or not allow_cols or any(lay not in c.forms for c in cands[1:])):
            return cands[0].perm_layout() or _ident(rank)
        return lay

    def ew(self, type: str, operands, options=None, dtype=None, const_dtypes=None) -> Val:
        """An elementwise/broadcasting op over values (or ONNX-layout numpy constants); the output is in the
        layout of the first full-rank non-constant operand."""
        vals = [o if isinstance(o, Val) else self.cval(np.asarray(o)) for o in operands]
        for v in vals:
            if v.const is None and v.dtype not in _PLAIN_DTYPES:
                raise self.err(f"{type} on {v.dtype} values is not supported (TFLite's integer kernels below "
                               "32 bits need quantized tensors)")
        rank = max(v.rank for v in vals)
        static = tuple(int(d) for d in np.broadcast_shapes(*[v.shape for v in vals]))
        layout = self.pick_layout(vals, rank)
        ref = next((v.dtype for v in vals if v.const is None), vals[0].dtype)
        ins = []
        for i, v in enumerate(vals):
            if v.const is not None:
                cd = const_dtypes[i] if const_dtypes is not None and const_dtypes[i] is not None else ref
                arr = _strip_leading_ones(_to_layout(v.const, layout, rank)).astype(cd)
                ins.append(self.cconst(arr, name="const"))
            elif v.rank == rank:
                ins.append(self.ir(v, layout))
            else:
                t = self.ir(v)
                t = self.reshape(t, (1,) * (rank - v.rank) + tuple(t.shape))
                ins.append(self.permute(t, layout))
        shape = _bshape(*[t.shape for t in ins])
        if len(shape) < rank:
            shape = (1,) * (rank - len(shape)) + shape
        dyn = set()
        for v in vals:
            if v.const is None:
                dyn |= self._dyn_aligned(v, rank)
        out = self.em.op1(type, ins, shape, options, dtype=dtype)
        return self.new(out, layout, static, dyn)

    def unary(self, type: str, x: Val, options=None, dtype=None) -> Val:
        if x.const is not None or (x.dtype not in _PLAIN_DTYPES and type != "CAST"):
            return self.ew(type, [x], options, dtype)
        lay = x.primary
        t = self.ir(x, lay)
        out = self.em.op1(type, [t], t.shape, options, dtype=dtype)
        v = self.new(out, lay, x.shape, x.dyn)
        if isinstance(lay, Cols):
            v.derive = self._derive_via(x, type, options, dtype)
        return v

    def _derive_via(self, x, type, options, dtype):
        def f():
            t = self.ir(x)
            return self.em.op1(type, [t], t.shape, options, dtype=dtype)
        return f

    def add(self, a, b):
        return self.ew("ADD", [a, b], {"fusedActivationFunction": 0})

    def sub(self, a, b):
        return self.ew("SUB", [a, b], {"fusedActivationFunction": 0})

    def mul(self, a, b):
        return self.ew("MUL", [a, b], {"fusedActivationFunction": 0})

    def div(self, a, b):
        return self.ew("DIV", [a, b], {"fusedActivationFunction": 0})

    def reduce(self, type: str, x: Val, axes, keep: bool) -> Val:
        r = x.rank
        axes = sorted({int(a) % r for a in axes}) if r else []
        static = tuple(1 if i in axes else d for i, d in enumerate(x.shape)) if keep else \
            tuple(d for i, d in enumerate(x.shape) if i not in axes)
        lay = x.primary
        if isinstance(lay, Cols) and 1 not in axes:
            lay = x.perm_layout() or _ident(r)
        t = self.ir(x, lay)
        if isinstance(lay, Cols):
            ir_axes = axes
            out_lay = _ident(len(static))
        else:
            ir_axes = [lay.index(a) for a in axes]
            out_lay = lay if keep else _drop_axes_perm(lay, axes)
        if keep:
            dyn = {a for a in x.dyn if a not in axes}
        else:
            dyn = {a - sum(1 for b in axes if b < a) for a in x.dyn if a not in axes}
        if not axes:
            return x
        y = self.em.reduce(type, t, ir_axes, keep)
        return self.new(y, out_lay, static, dyn)

    # -- activations ---------------------------------------------------------------------------------------
    def _op_Relu(self, node, ins, at):
        return self.unary("RELU", ins[0])

    def _unary_op(self, node, ins, at):
        return self.unary(_UNARY[node.op_type], ins[0],
                          dtype=np.bool_ if node.op_type == "Not" else None)

    _op_Sigmoid = _op_Tanh = _op_Exp = _op_Log = _op_Sqrt = _op_Abs = _op_Neg = _unary_op
    _op_Floor = _op_Ceil = _op_Round = _op_Sin = _op_Cos = _op_Not = _op_Sign = _op_HardSwish = _unary_op

    def _op_Reciprocal(self, node, ins, at):
        return self.div(np.array(1, np.float32), ins[0])

    def _op_LeakyRelu(self, node, ins, at):
        return self.unary("LEAKY_RELU", ins[0], {"alpha": float(at.get("alpha", 0.01))})

    def _op_PRelu(self, node, ins, at):
        x, slope = ins
        if slope.const is None:
            # max(x, 0) + slope * min(x, 0)
            return self.add(self.unary("RELU", x), self.mul(slope, self.ew("MINIMUM", [x, np.float32(0)])))
        s = np.asarray(slope.const, np.float32)
        if s.size == 1:
            return self.unary("LEAKY_RELU", x, {"alpha": float(s.reshape(-1)[0])})
        return self.ew("PRELU", [x, s])

    def _elu(self, x, alpha):
        if alpha == 1.0:
            return self.unary("ELU", x)
        neg = self.sub(self.unary("EXP", self.ew("MINIMUM", [x, np.float32(0)])), np.float32(1))
        return self.add(self.unary("RELU", x), self.mul(neg, np.float32(alpha)))

    def _op_Elu(self, node, ins, at):
        return self._elu(ins[0], float(at.get("alpha", 1.0)))

    def _op_Selu(self, node, ins, at):
        alpha = float(at.get("alpha", 1.67326319217681884765625))
        gamma = float(at.get("gamma", 1.05070102214813232421875))
        return self.mul(self._elu(ins[0], alpha), np.float32(gamma))

    def _op_Celu(self, node, ins, at):
        x, alpha = ins[0], float(at.get("alpha", 1.0))
        neg = self.unary("EXP", self.mul(self.ew("MINIMUM", [x, np.float32(0)]), np.float32(1.0 / alpha)))
        return self.add(self.unary("RELU", x), self.mul(self.sub(neg, np.float32(1)), np.float32(alpha)))

    def _softplus(self, x):
        # log(1 + exp(x)) = relu(x) + log(1 + exp(-|x|)): no overflow
        e = self.unary("EXP", self.unary("NEG", self.unary("ABS", x)))
        t = self.unary("LOG", self.add(e, np.float32(1)))
        return self.add(self.unary("RELU", x), t)

    def _op_Softplus(self, node, ins, at):
        return self._softplus(ins[0])

    def _op_Softsign(self, node, ins, at):
        x = ins[0]
        return self.div(x, self.add(self.unary("ABS", x), np.float32(1)))

    def _op_Mish(self, node, ins, at):
        x = ins[0]
        return self.mul(x, self.unary("TANH", self._softplus(x)))

    def _op_HardSigmoid(self, node, ins, at):
        alpha, beta = float(at.get("alpha", 0.2)), float(at.get("beta", 0.5))
        # clip(a x + b, 0, 1) = relu6(6a x + 6b) / 6
        y = self.add(self.mul(ins[0], np.float32(6 * alpha)), np.float32(6 * beta))
        return self.mul(self.unary("RELU6", y), np.float32(1 / 6))

    def _op_Gelu(self, node, ins, at):
        approx = at.get("approximate", "none")
        return self.unary("GELU", ins[0], {"approximate": approx == "tanh"})

    def _op_Erf(self, node, ins, at):
        raise self.err("Erf is only supported inside a GELU pattern x * 0.5 * (1 + erf(x / sqrt(2)))")

    def _op_Clip(self, node, ins, at):
        x = ins[0]
        if self.opset < 11:
            lo, hi = at.get("min"), at.get("max")
            lo_v = hi_v = None
        else:
            lo_v = ins[1] if len(ins) > 1 else None
            hi_v = ins[2] if len(ins) > 2 else None
            lo, hi = (float(np.asarray(v.const).reshape(-1)[0]) if v is not None and v.const is not None
                      else None for v in (lo_v, hi_v))
        if lo is not None and lo <= _LOWEST:
            lo = None
        if hi is not None and hi >= -_LOWEST:
            hi = None
        dynamic = (lo_v is not None and lo_v.const is None) or (hi_v is not None and hi_v.const is None)
        if not dynamic and x.dtype == np.float32:
            if (lo, hi) == (0.0, 6.0):
                return self.unary("RELU6", x)
            if (lo, hi) == (-1.0, 1.0):
                return self.unary("RELU_N1_TO_1", x)
            if (lo, hi) == (0.0, None):
                return self.unary("RELU", x)
            if (lo, hi) == (0.0, 1.0):
                return self.unary("RELU_0_TO_1", x)
        y = x
        lo_o, hi_o = (v if (v is not None and v.const is None) else
                      (None if c is None else np.array(c, x.dtype)) for v, c in ((lo_v, lo), (hi_v, hi)))
        if lo_o is not None:
            y = self.ew("MAXIMUM", [y, lo_o])
        if hi_o is not None:
            y = self.ew("MINIMUM", [y, hi_o])
        return y

    def _softmax(self, node, ins, at, log):
        x = ins[0]
        r = x.rank
        axis = int(at.get("axis", 1 if self.opset < 13 else -1)) % r
        type = "LOG_SOFTMAX" if log else "SOFTMAX"
        opts = None if log else {"beta": 1.0}
        if self.opset < 13 and axis != r - 1:
            # opsets < 13: softmax over the flattened dims >= axis
            t = self.ir(x)
            outer, inner = int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:]))
            dyn_outer = any(a < axis for a in x.dyn)
            t2 = self.reshape(t, (-1 if dyn_outer else outer, inner))
            y = self.em.op1(type, [t2], t2.shape, opts)
            y = self.reshape(y, t.shape)
            return self.new(y, _ident(r), x.shape, x.dyn)
        lay = x.primary
        if isinstance(lay, Cols):
            if axis == 1:
                return self.unary(type, x, opts)
            lay = x.perm_layout() or _ident(r)
        if lay.index(axis) != r - 1:
            lay = tuple(p for p in lay if p != axis) + (axis,)
        t = self.ir(x, lay)
        y = self.em.op1(type, [t], t.shape, opts)
        return self.new(y, lay, x.shape, x.dyn)

    def _op_Softmax(self, node, ins, at):
        return self._softmax(node, ins, at, False)

    def _op_LogSoftmax(self, node, ins, at):
        return self._softmax(node, ins, at, True)

    # -- elementwise ---------------------------------------------------------------------------------------
    def _binary_op(self, node, ins, at):
        type = _BINARY[node.op_type]
        opts = {"fusedActivationFunction": 0} if type in ("ADD", "SUB", "MUL", "DIV") else None
        vals = [v for v in ins if v is not None]
        y = vals[0]
        for v in vals[1:]:
            y = self.ew(type, [y, v], opts)
        return y

    def _op_Add(self, node, ins, at):
        if len(ins) == 2:
            for (v, c), name in zip((ins, ins[::-1]), node.input):
                fused = self._fuse_bias(v, c, name)
                if fused is not None:
                    return fused
        return self._binary_op(node, ins, at)

    def _fuse_bias(self, v: Val, c: Val, name: str):
        """FULLY_CONNECTED without bias (MatMul) + constant vector over its units -> its bias."""
        op = v.fc_op
        if op is None or c.const is None or v.const is not None or not self._sole_use(v, name) or \
                len(op.inputs) < 3 or op.inputs[2] is not None:
            return None
        units = v.shape[-1]
        b = np.asarray(c.const, np.float32)
        if b.ndim > v.rank or any(d != 1 for d in b.shape[:-1]) or b.shape[-1:] not in ((units,), (1,)):
            return None
        if np.broadcast_shapes(b.shape, v.shape) != v.shape:
            return None
        op.inputs[2] = self.em.const(np.broadcast_to(b.reshape(-1), (units,)).copy(), np.float32, "bias")
        v.fc_op = None
        return v

    _op_Sub = _op_Mul = _op_Div = _op_Max = _op_Min = _op_And = _op_Or = _binary_op

    def _op_Sum(self, node, ins, at):
        y = ins[0]
        for v in ins[1:]:
            y = self.add(y, v)
        return y

    def _op_Mean(self, node, ins, at):
        return self.mul(self._op_Sum(node, ins, at), np.float32(1.0 / len(ins)))

    def _op_Mod(self, node, ins, at):
        if int(at.get("fmod", 0)) == 1:
            if ins[0].dtype.kind == "f":
                # fmod: a - b * trunc(a / b)
                a, b = ins
                q = self.div(a, b)
                tq = self.mul(self.unary("SIGN", q), self.unary("FLOOR", self.unary("ABS", q)))
                return self.sub(a, self.mul(b, tq))
            raise self.err("integer Mod with fmod=1 is not supported")
        return self.ew("FLOOR_MOD", ins)

    def _op_Pow(self, node, ins, at):
        x, e = ins
        if x.dtype not in (np.dtype(np.float32), np.dtype(np.int32)):
            raise self.err(f"Pow of {x.dtype} values is not supported (float32, int32)")
        if e.dtype != x.dtype:
            e = self.cval(np.asarray(e.const).astype(x.dtype)) if e.const is not None else \
                self._op_Cast(node, [e], {"to": _onnx().helper.np_dtype_to_tensor_dtype(x.dtype)})
        if e.const is not None and np.size(e.const) == 1 and x.dtype.kind == "f":
            p = float(np.asarray(e.const).reshape(-1)[0])
            if p == 1.0:
                return x
            if p == 2.0:
                return self.ew("MUL", [x, x], {"fusedActivationFunction": 0})
            if p == 3.0:
                return self.mul(self.ew("MUL", [x, x], {"fusedActivationFunction": 0}), x)
            if p == 0.5:
                return self.unary("SQRT", x)
            if p == -0.5:
                return self.unary("RSQRT", x)
            if p == -1.0:
                return self.div(np.array(1, np.float32), x)
        return self.ew("POW", [x, e])

    def _compare_op(self, node, ins, at):
        return self.ew(_COMPARE[node.op_type], ins, dtype=np.bool_)

    _op_Equal = _op_Greater = _op_Less = _op_GreaterOrEqual = _op_LessOrEqual = _compare_op

    def _op_Where(self, node, ins, at):
        c, a, b = ins
        dt = a.dtype if a.const is None or b.const is not None else b.dtype
        return self.ew("SELECT_V2", [c, a, b], dtype=dt, const_dtypes=[np.bool_, dt, dt])

    def _op_Identity(self, node, ins, at):
        return ins[0]

    def _count_uses(self, nodes):
        """Uses of each value by these nodes and by the nodes of their subgraphs (If/Loop/Scan bodies read
        outer values by name), so no pass takes a value read inside a branch for unused."""
        for node in nodes:
            for n in node.input:
                if n:
                    self.uses[n] = self.uses.get(n, 0) + 1
            for a in node.attribute:
                for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                    self._count_uses(g.node)
                    for o in g.output:
                        self.uses[o.name] = self.uses.get(o.name, 0) + 1

    def _op_If(self, node, ins, at):
        """An If whose condition is known at conversion (a constant, or computed from shapes and constant
        inputs: constant_inputs / --set-input) is replaced by the nodes of the branch it takes; otherwise it
        becomes a TFLite IF (_if_at_run_time)."""
        cond = ins[0]
        if cond.const is None:
            return self._if_at_run_time(node, cond, at)
        if np.asarray(cond.const).size != 1:
            raise self.err(f"If condition has {np.asarray(cond.const).size} elements; it must have one")
        branch = at["then_branch"] if bool(np.asarray(cond.const).reshape(-1)[0]) else at["else_branch"]
        from onnx import numpy_helper

        for t in branch.initializer:
            self.vals[t.name] = self.cval(numpy_helper.to_array(t), t.name)
        for inner in branch.node:
            self._lower(inner)
        self.node = node
        missing = [o.name for o in branch.output if o.name not in self.vals]
        if missing:
            raise self.err(f"If branch output {missing[0]!r} is not produced in the branch")
        if len(branch.output) != len(node.output):
            raise self.err(f"If branch has {len(branch.output)} outputs, the node {len(node.output)}")
        return [self.vals[o.name] for o in branch.output]

    # -- control flow at run time: If -> IF, Loop -> WHILE ----------------------------------------------------
    # A branch or loop body becomes an IR subgraph of the root graph (graph.subgraphs; TFLite subgraph index =
    # 1 + position), lowered like a small model of its own with the graph, emitter and value table swapped
    # (_Scope): outer run-time values it reads by name become extra operands of the IF/WHILE and inputs of the
    # subgraph (in their _crossing_layout), outer constants are copied in. Nested If/Loop/Scan inside a body
    # recurse through the same methods.
    @staticmethod
    def _free_names(graph) -> list:
        """Names a graph's nodes (and their nested subgraphs) read without defining them, in first-use order."""
        defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
        out: list = []
        for n in graph.node:
            names = list(n.input)
            for a in n.attribute:
                for sub in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                    names += _Lowering._free_names(sub)
            for x in names:
                if x and x not in defined and x not in out:
                    out.append(x)
            defined.update(o for o in n.output if o)
        for o in graph.output:
            if o.name not in defined and o.name not in out:
                out.append(o.name)
        return out

    def _captured(self, *graphs) -> list:
        """[(name, outer Val)] for the outer values the bodies read."""
        names: list = []
        for g in graphs:
            names += [n for n in self._free_names(g) if n not in names]
        out = []
        for n in names:
            if n not in self.vals:
                raise self.err(f"a {self.node.op_type} body reads {n!r}, which is not defined before this node")
            out.append((n, self.vals[n]))
        return out

    @staticmethod
    def _crossing_layout(v: Val) -> tuple:
        """The layout a run-time value keeps when it enters or leaves a branch: its first permutation layout
        (e.g. channels-last after a Conv, so no TRANSPOSE pair surrounds the boundary), else the ONNX one."""
        if v.const is not None:
            return _ident(v.rank)
        return v.perm_layout() or _ident(v.rank)

    def _operand(self, v: Val) -> Tensor:
        """v in the ONNX layout with exactly its IR shape (0-d stays 0-d): an operand crossing into a body."""
        t = self.ir(v)
        shape = self.ir_shape(v, _ident(v.rank))
        if tuple(t.shape) == shape:
            return t
        if v.const is not None:
            arr = np.asarray(v.const, dtype=t.dtype).reshape(shape)
            return self.g.const(self.em._name("const"), arr)
        return self._copy(t, shape)

    def _copy(self, t: Tensor, shape) -> Tensor:
        """A RESHAPE of t to `shape` (a new tensor even when the shape is the same)."""
        shape = tuple(int(d) for d in shape)
        if shape.count(-1) > 1:
            raise self.err(f"cannot pass {t.name!r} {shape} across a subgraph boundary: more than one dynamic "
                           "dimension")
        s = self.em.const(np.array(shape, np.int32).reshape(len(shape)), np.int32, "shape")
        return self.em.op1("RESHAPE", [t, s], shape, {"newShape": list(shape)})

    class _Scope:
        """Lowering into a fresh subgraph: swaps the graph, emitter and value table, restores them on exit.
        A ConversionError raised inside gets `where` (which body of which node) appended."""

        def __init__(self, low, name: str, where: str = ""):
            self.low, self.g, self.where = low, Graph(name=name), where

        def __enter__(self):
            lo = self.low
            self.saved = (lo.g, lo.em, lo.vals, lo.node, lo.em.scope)
            lo.g, lo.em, lo.vals = self.g, _Emitter(self.g), {}
            lo.em.scope = self.saved[4]
            return self.g

        def __exit__(self, exc_type, exc, tb):
            lo = self.low
            lo.g, lo.em, lo.vals, lo.node, lo.em.scope = self.saved
            if self.where and exc_type is not None and issubclass(exc_type, ConversionError):
                raise ConversionError(f"{exc} [in {self.where}]") from None
            return False

    def _sub_input(self, name, shape, dtype, dyn=frozenset(), layout=None) -> Val:
        """A new input of the current subgraph holding an ONNX value in `layout` (default the ONNX layout);
        bound to `name` if given."""
        v = Val(name or self._tmp("in"), shape, dtype, dyn=dyn)
        layout = _ident(v.rank) if layout is None else layout
        t = self.g.input(name or self.em._name("in"), self.ir_shape(v, layout), dtype)
        v.forms[layout] = t
        if name:
            self.vals[name] = v
        return v

    def _capture_operands(self, captured) -> list:
        """The outer tensors for the run-time entries of `captured`, each in its crossing layout."""
        return [self.ir(v, self._crossing_layout(v)) for _, v in captured if v.const is None]

    def _bind_captured(self, captured) -> list:
        """Bind the outer values a body reads: constants are copied in, run-time values become inputs (in their
        crossing layout). Returns the input Vals, in the order of the run-time entries of `captured`."""
        ins = []
        for name, ov in captured:
            if ov.const is not None:
                v = Val(name, ov.shape, ov.dtype, const=ov.const, dyn=ov.dyn)
                v.alt = ov.alt
                self.vals[name] = v
            else:
                ins.append(self._sub_input(name, ov.shape, ov.dtype, ov.dyn, self._crossing_layout(ov)))
        return ins

    def _lower_body(self, body):
        """Lower a body's initializers and nodes into the current subgraph; its output Vals."""
        from onnx import numpy_helper

        outer = self.node
        for t in body.initializer:
            self.vals[t.name] = self.cval(numpy_helper.to_array(t), t.name)
        for inner in self._fuse_gelu(list(body.node)):
            self._lower(inner)
        self.node = outer
        outs = []
        for o in body.output:
            if o.name not in self.vals:
                raise self.err(f"body output {o.name!r} is not produced in the body")
            outs.append(self.vals[o.name])
        return outs

    def _sub_output(self, v: Val, done: list, shape=None, layout=None) -> Tensor:
        """v in `layout` (default the ONNX layout) as an output of the current subgraph, after the outputs
        `done`: an op's result (a copy of a constant, an input or a value already returned), of IR shape
        `shape` (default v's in that layout)."""
        layout = _ident(v.rank) if layout is None else layout
        shape = self.ir_shape(v, layout) if shape is None else tuple(shape)
        t = self.ir(v, layout)
        if t.is_const:
            arr = np.asarray(t.data).reshape(tuple(max(d, 1) for d in shape))
            t = self.g.const(self.em._name("const"), arr)
            return self._copy(t, shape)
        if tuple(t.shape) != shape or any(t is i for i in self.g.inputs) or any(t is o for o in done):
            return self._copy(t, shape)
        return t

    def _loop_output(self, v: Val, var: Val, done: list) -> Tensor:
        """The body output for loop variable `var`: its input tensor itself when v is var (WHILE copies
        nothing for it), else like _sub_output."""
        t = self._input_tensor(var)
        return t if v is var else self._sub_output(v, done, t.shape)

    @staticmethod
    def _input_tensor(v: Val) -> Tensor:
        """The subgraph input tensor of a Val made by _sub_input (its first form)."""
        return next(iter(v.forms.values()))

    def _add_subgraph(self, sg: Graph) -> int:
        self.root.subgraphs.append(sg)
        return len(self.root.subgraphs)  # subgraph 0 is the main graph

    def _label(self, node) -> str:
        return (node.name or (node.output[0] if node.output else node.op_type)).replace("/", "_")

    def _if_at_run_time(self, node, cond: Val, at):
        """If with a run-time condition -> IF(cond, captured...) with a then and an else subgraph; both take the
        outer run-time values either branch reads, in the same order, and return the node's outputs."""
        if int(np.prod(cond.shape)) != 1:
            raise self.err(f"If condition has shape {cond.shape}; it must have one element")
        branches = [at["then_branch"], at["else_branch"]]
        captured = self._captured(*branches)
        operands = self._capture_operands(captured)
        c = self.ir(cond)
        label = self._label(node)
        results, graphs, layouts = [], [], None
        for which, b in zip(("then", "else"), branches):
            if len(b.output) != len(node.output):
                raise self.err(f"{which} branch has {len(b.output)} outputs, the node {len(node.output)}")
            where = (f"the {which} branch of If {node.name or label!r}, whose condition is computed at run time "
                     "so both branches are converted; if it depends on an input fixed in practice, "
                     "constant_inputs=... / --set-input folds the If")
            with self._Scope(self, f"{label}/{which}", where) as sg:
                self._bind_captured(captured)
                vals = self._lower_body(b)
                if layouts is None:  # outputs leave in the then branch's layouts (the else branch follows)
                    layouts = [self._crossing_layout(v) for v in vals]
                for v, lay in zip(vals, layouts):
                    sg.outputs.append(self._sub_output(v, sg.outputs, layout=lay if len(lay) == v.rank else None))
            results.append(vals)
            graphs.append(sg)
        shapes, dtypes, dyns = [], [], []
        for j, (a, b) in enumerate(zip(*results)):
            oname = node.output[j] or f"output {j}"
            sa, sb = graphs[0].outputs[j].shape, graphs[1].outputs[j].shape
            why = (f"rank {a.rank} in the then branch and {b.rank}" if a.rank != b.rank else
                   f"type {a.dtype} in the then branch and {b.dtype}" if a.dtype != b.dtype else
                   f"shape {sa} in the then branch and {sb}" if sa != sb else None)
            if why:
                raise self.err(f"If with a condition computed at run time: output {oname!r} has {why} in the "
                               "else branch, and a TFLite IF needs branch outputs of one type and shape; if the "
                               "condition depends on an input that is fixed in practice (a sample rate, a mode "
                               "flag), make that input a constant (convert(constant_inputs=...), --set-input "
                               "NAME=VALUE) and the If folds")
            shapes.append(sa)
            dtypes.append(a.dtype)
            dyns.append(a.dyn | b.dyn)
        ti, ei = self._add_subgraph(graphs[0]), self._add_subgraph(graphs[1])
        outs = self.em.op("IF", [c] + operands, shapes, {"thenSubgraphIndex": ti, "elseSubgraphIndex": ei},
                          dtypes=dtypes)
        return [self.new(t, lay if len(lay) == a.rank else _ident(a.rank), a.shape, dyn)
                for t, a, dyn, lay in zip(outs, results[0], dyns, layouts)]

    def _scalar_operand(self, v: Val | None, default, dtype, what: str) -> Tensor:
        """A one-element value (or `default` when absent) as a 0-d tensor of `dtype`."""
        if v is None:
            return self.g.const(self.em._name(what), np.array(default, dtype))
        if int(np.prod(v.shape)) != 1:
            raise self.err(f"{what} has shape {v.shape}; it must have one element")
        if v.const is not None:
            return self.g.const(self.em._name(what), np.asarray(v.const, dtype).reshape(()))
        if v.dtype != np.dtype(dtype):
            raise self.err(f"{what} is {v.dtype}, expected {np.dtype(dtype)}")
        t = self.ir(v)
        return t if t.shape == () else self._copy(t, ())

    def _op_Loop(self, node, ins, at):
        """Loop -> WHILE over (iteration i, trip count M, condition, loop-carried values..., scan buffers...,
        captured outer values...). cond subgraph: i < M and condition; body subgraph: the ONNX body with
        iter_num = i, returning i + 1. Scan outputs need a trip count known at conversion and a condition that
        cannot end the loop early: each iteration writes its value into row i of a (M, ...) buffer
        (DYNAMIC_UPDATE_SLICE)."""
        body = at["body"]
        M, c0, vs = (ins + [None, None])[0], (ins + [None, None])[1], ins[2:]
        n_v = len(vs)
        if len(body.input) != 2 + n_v:
            raise self.err(f"Loop body has {len(body.input)} inputs, expected {2 + n_v} (iteration number, "
                           "condition and the loop-carried values)")
        n_scan = len(body.output) - 1 - n_v
        if n_scan < 0:
            raise self.err(f"Loop body has {len(body.output)} outputs, expected at least {1 + n_v}")
        for v in vs:
            if v is None:
                raise self.err("an absent loop-carried value is not supported")
        captured = self._captured(body)
        i64, b8 = np.dtype(np.int64), np.dtype(np.bool_)
        i0 = self.g.const(self.em._name("iteration"), np.array(0, i64))
        m_t = self._scalar_operand(M, np.iinfo(np.int64).max, i64, "trip count M")
        c_t = self._scalar_operand(c0, True, b8, "loop condition")
        v_ts = [self._operand(v) for v in vs]
        cap_ts = self._capture_operands(captured)
        label = self._label(node)
        with self._Scope(self, f"{label}/body", f"the body of {node.op_type} {node.name or label!r}") as bg:
            i_v = self._sub_input(body.input[0].name or None, (), i64)
            m_v = self._sub_input(None, (), i64)
            c_v = self._sub_input(body.input[1].name or None, (), b8)
            v_in = [self._sub_input(body.input[2 + k].name or None, v.shape, v.dtype, v.dyn)
                    for k, v in enumerate(vs)]
            cap_in = self._bind_captured(captured)
            outs = self._lower_body(body)
            cond_out, v_out, scan_out = outs[0], outs[1:1 + n_v], outs[1 + n_v:]
            trips = self._scan_trips(M, c0, cond_out, c_v, n_scan)
            one = self.g.const(self.em._name("one"), np.array(1, i64))  # 0-d (em.const makes it 1-d)
            res = [self.em.op1("ADD", [i_v.forms[_ident(0)], one], (), {"fusedActivationFunction": 0}),
                   self._loop_output(m_v, m_v, [])]
            if cond_out.dtype != b8 or int(np.prod(cond_out.shape)) != 1:
                raise self.err(f"Loop body condition {cond_out.name!r} is {cond_out.dtype} {cond_out.shape}; "
                               "expected one bool")
            res.append(self._loop_output(cond_out, c_v, res))
            for k, (a, b) in enumerate(zip(v_in, v_out)):
                if a.dtype != b.dtype or a.shape != b.shape:
                    raise self.err(f"loop-carried value {k} ({body.output[1 + k].name!r}) changes from "
                                   f"{a.dtype} {a.shape} to {b.dtype} {b.shape} in the body; TFLite's WHILE "
                                   "needs loop variables of fixed type and shape")
                res.append(self._loop_output(b, a, res))
            bufs_in, buf0 = [], []
            for k, y in enumerate(scan_out):
                if y.dyn:
                    raise self.err(f"scan output {body.output[1 + n_v + k].name!r} has a dynamic shape")
                shape = (trips,) + y.shape
                bufs_in.append(self._sub_input(None, shape, y.dtype))
                buf0.append(np.zeros(shape, y.dtype))
                res.append(self._scan_write(bufs_in[-1], y, i_v.forms[_ident(0)]))
            res += [self._loop_output(v, v, res) for v in cap_in]
            bg.outputs = res
            # loop variables in WHILE order: i, M, condition, carried, scan buffers, captured
            order = [i_v, m_v, c_v] + v_in + bufs_in + cap_in
            bg.inputs = [self._input_tensor(v) for v in order]
        with self._Scope(self, f"{label}/cond") as cg:
            var = [cg.input(self.em._name("in"), t.shape, t.dtype) for t in bg.inputs]
            less = self.em.op1("LESS", [var[0], var[1]], (), dtype=b8)
            cg.outputs = [self.em.op1("LOGICAL_AND", [less, var[2]], (), dtype=b8)]
        ci, bi = self._add_subgraph(cg), self._add_subgraph(bg)
        buf_ts = [self.g.const(self.em._name("scan_init"), b) for b in buf0]
        loop_in = [i0, m_t, c_t] + v_ts + buf_ts + cap_ts
        outs_t = self.em.op("WHILE", loop_in, [t.shape for t in bg.inputs],
                            {"condSubgraphIndex": ci, "bodySubgraphIndex": bi},
                            dtypes=[t.dtype for t in bg.inputs])
        finals = [self.new(t, _ident(v.rank), v.shape, v.dyn) for t, v in zip(outs_t[3:3 + n_v], vs)]
        scans = [self.new(t, _ident(len(t.shape)), t.shape) for t in outs_t[3 + n_v:3 + n_v + n_scan]]
        return finals + scans

    def _scan_trips(self, M, c0, cond_out, c_in, n_scan) -> int:
        """The number of iterations of a Loop with scan outputs (refused unless known at conversion)."""
        if not n_scan:
            return 0
        if M is None or M.const is None:
            raise self.err("Loop with scan outputs needs a trip count M known at conversion (the outputs' length "
                           "is fixed in TFLite); fix it with input_shapes/constant_inputs or remove the scan outputs")
        trips = int(np.asarray(M.const).reshape(-1)[0])
        if trips < 1:
            raise self.err(f"Loop with scan outputs and trip count {trips}: empty scan outputs are not supported")
        always = cond_out.const is not None and bool(np.asarray(cond_out.const).reshape(-1)[0])
        passthrough = cond_out is c_in and (c0 is None or (c0.const is not None and
                                                           bool(np.asarray(c0.const).reshape(-1)[0])))
        if not (always or passthrough):
            raise self.err("Loop with scan outputs whose condition is computed in the body may stop early, "
                           "which gives scan outputs of run-time length; not supported")
        return trips

    def _scan_write(self, buf: Val, y: Val, i_t: Tensor, axis: int = 0) -> Tensor:
        """buf with position i_t (a 0-d int64 tensor) along `axis` replaced by y (DYNAMIC_UPDATE_SLICE)."""
        upd = self._copy(self._operand(y), y.shape[:axis] + (1,) + y.shape[axis:])
        i1 = self._copy(i_t, (1,))
        parts = []
        if axis:
            parts.append(self.em.const(np.zeros(axis, np.int64), np.int64, "zeros"))
        parts.append(i1)
        if y.rank - axis:
            parts.append(self.em.const(np.zeros(y.rank - axis, np.int64), np.int64, "zeros"))
        start = self.em.concat(parts, 0)
        b = buf.forms[_ident(buf.rank)]
        return self.em.op1("DYNAMIC_UPDATE_SLICE", [b, upd, start], b.shape)

    def _op_Scan(self, node, ins, at):
        """Scan (opset 9+) -> WHILE over (i, trip count, states..., scanned inputs..., output buffers...,
        captured...): the body reads slice i (or T-1-i, reversed) of each scanned input with GATHER and writes
        its scan outputs into position i (or T-1-i) along their axis with DYNAMIC_UPDATE_SLICE."""
        if self.opset < 9:
            raise self.err("Scan before opset 9 (with sequence_lens) is not supported")
        body = at["body"]
        n_in = int(at["num_scan_inputs"])
        n_st = len(ins) - n_in
        n_out = len(body.output) - n_st
        if n_st < 0 or n_out < 0 or len(body.input) != len(ins):
            raise self.err(f"Scan body has {len(body.input)} inputs and {len(body.output)} outputs for "
                           f"{n_st} states and {n_in} scanned inputs")
        states, xs = ins[:n_st], ins[n_st:]
        if any(v is None for v in ins):
            raise self.err("an absent Scan input is not supported")
        in_axes = [int(a) for a in at.get("scan_input_axes", [0] * n_in)]
        in_dirs = [int(d) for d in at.get("scan_input_directions", [0] * n_in)]
        out_axes = [int(a) for a in at.get("scan_output_axes", [0] * n_out)]
        out_dirs = [int(d) for d in at.get("scan_output_directions", [0] * n_out)]
        in_axes = [a % x.rank for a, x in zip(in_axes, xs)]
        lengths = {x.shape[a] for x, a in zip(xs, in_axes)}
        if any(a in x.dyn for x, a in zip(xs, in_axes)):
            raise self.err("Scan over an axis of dynamic length is not supported (fix it with input_shapes)")
        if len(lengths) != 1:
            raise self.err(f"scanned inputs have different lengths {sorted(lengths)} along their scan axes")
        trips = lengths.pop()
        if trips < 1:
            raise self.err("Scan over an empty axis is not supported")
        captured = self._captured(body)
        i64 = np.dtype(np.int64)
        i0 = self.g.const(self.em._name("iteration"), np.array(0, i64))
        m_t = self.g.const(self.em._name("trips"), np.array(trips, i64))
        st_ts = [self._operand(v) for v in states]
        x_ts = [self._operand(v) for v in xs]
        cap_ts = self._capture_operands(captured)
        label = self._label(node)
        with self._Scope(self, f"{label}/body", f"the body of {node.op_type} {node.name or label!r}") as bg:
            i_v = self._sub_input(None, (), i64)
            m_v = self._sub_input(None, (), i64)
            st_in = [self._sub_input(body.input[k].name or None, v.shape, v.dtype, v.dyn)
                     for k, v in enumerate(states)]
            x_in = [self._sub_input(None, v.shape, v.dtype, v.dyn) for v in xs]
            i_t = i_v.forms[_ident(0)]
            last = self.g.const(self.em._name("last"), np.array(trips - 1, i64))
            rev = None
            if any(in_dirs) or any(out_dirs):
                rev = self.em.op1("SUB", [last, i_t], (), {"fusedActivationFunction": 0})
            for k, (x, a, d) in enumerate(zip(x_in, in_axes, in_dirs)):
                idx = self._copy(rev if d else i_t, (1,))
                xt = x.forms[_ident(x.rank)]
                shape = tuple(xt.shape)
                g = self.em.op1("GATHER", [xt, idx], shape[:a] + (1,) + shape[a + 1:], {"axis": a, "batchDims": 0})
                sl_shape = shape[:a] + shape[a + 1:]
                v = self.new(self._copy(g, sl_shape), _ident(len(sl_shape)),
                             x.shape[:a] + x.shape[a + 1:], {b - (b > a) for b in x.dyn if b != a})
                self._bind(body.input[n_st + k].name, v)
            cap_in = self._bind_captured(captured)
            outs = self._lower_body(body)
            res = [self.em.op1("ADD", [i_t, self.g.const(self.em._name("one"), np.array(1, i64))], (),
                               {"fusedActivationFunction": 0}), self._loop_output(m_v, m_v, [])]
            for k, (a, b) in enumerate(zip(st_in, outs[:n_st])):
                if a.dtype != b.dtype or a.shape != b.shape:
                    raise self.err(f"Scan state {k} ({body.output[k].name!r}) changes from {a.dtype} {a.shape} "
                                   f"to {b.dtype} {b.shape} in the body")
                res.append(self._loop_output(b, a, res))
            res += [self._loop_output(x, x, res) for x in x_in]
            bufs_in, buf0 = [], []
            for k, (y, a, d) in enumerate(zip(outs[n_st:], out_axes, out_dirs)):
                if y.dyn:
                    raise self.err(f"scan output {body.output[n_st + k].name!r} has a dynamic shape")
                a %= y.rank + 1
                shape = y.shape[:a] + (trips,) + y.shape[a:]
                bufs_in.append(self._sub_input(None, shape, y.dtype))
                buf0.append(np.zeros(shape, y.dtype))
                res.append(self._scan_write(bufs_in[-1], y, rev if d else i_t, a))
            res += [self._loop_output(v, v, res) for v in cap_in]
            bg.outputs = res
            order = [i_v, m_v] + st_in + x_in + bufs_in + cap_in
            bg.inputs = [self._input_tensor(v) for v in order]
        with self._Scope(self, f"{label}/cond") as cg:
            var = [cg.input(self.em._name("in"), t.shape, t.dtype) for t in bg.inputs]
            cg.outputs = [self.em.op1("LESS", [var[0], var[1]], (), dtype=np.bool_)]
        ci, bi = self._add_subgraph(cg), self._add_subgraph(bg)
        buf_ts = [self.g.const(self.em._name("scan_init"), b) for b in buf0]
        loop_in = [i0, m_t] + st_ts + x_ts + buf_ts + cap_ts
        outs_t = self.em.op("WHILE", loop_in, [t.shape for t in bg.inputs],
                            {"condSubgraphIndex": ci, "bodySubgraphIndex": bi},
                            dtypes=[t.dtype for t in bg.inputs])
        finals = [self.new(t, _ident(v.rank), v.shape, v.dyn) for t, v in zip(outs_t[2:2 + n_st], states)]
        first = 2 + n_st + n_in
        scans = [self.new(t, _ident(len(t.shape)), t.shape) for t in outs_t[first:first + n_out]]
        return finals + scans

    def _op_Dropout(self, node, ins, at):
        training = ins[2] if len(ins) > 2 else None
        if training is not None and (training.const is None or bool(np.asarray(training.const).any())):
            raise self.err("training_mode Dropout (random) is not supported")
        return [ins[0], self.cval(np.ones(ins[0].shape, np.bool_))]

    def _op_Cast(self, node, ins, at):
        from edgerun.schema.builder import tensor_type
        from onnx import helper

        x = ins[0]
        to = np.dtype(helper.tensor_dtype_to_np_dtype(int(at["to"])))
        if to in _FLOAT_TYPES or to.kind == "V":
            to = np.dtype(np.float32)
        if to == x.dtype:
            return x
        try:
            opts = {"inDataType": tensor_type(x.dtype), "outDataType": tensor_type(to)}
        except Exception:  # noqa: BLE001
            raise self.err(f"cast from {x.dtype} to {to} is not supported") from None
        return self.unary("CAST", x, opts, dtype=to)

    # -- shapes --------------------------------------------------------------------------------------------
    def _op_Shape(self, node, ins, at):
        x = ins[0]
        start, end = int(at.get("start", 0)), at.get("end")
        sl = slice(start, None if end is None else int(end))
        v = self.cval(np.array(x.shape, np.int64)[sl])
        if x.dyn:
            v.alt = np.array([_ALT_DIM if i in x.dyn else d for i, d in enumerate(x.shape)], np.int64)[sl]
        return v

    def _op_Size(self, node, ins, at):
        x = ins[0]
        v = self.cval(np.array(int(np.prod(x.shape)), np.int64))
        if x.dyn:
            v.alt = np.array(int(np.prod([_ALT_DIM if i in x.dyn else d for i, d in enumerate(x.shape)])),
                             np.int64)
        return v

    def _flatten_2d(self, x: Val, target, dyn0: bool) -> Val:
        """x -> (target[0], target[1]) where target[0] == x.shape[0]: in x's layout when it keeps the first
        axis in front (column layout), else from the ONNX layout."""
        lay = x.perm_layout()
        n = -1 if dyn0 else target[0]
        if lay is not None and lay[0] == 0 and x.rank >= 2 and not (x.dyn - {0}):
            t = self.ir(x, lay)
            k = int(np.prod(x.shape[1:]))
            colperm = np.arange(k).reshape(x.shape[1:]).transpose([p - 1 for p in lay[1:]]).reshape(-1)
            y = self.reshape(t, (n, target[1]))
            if np.array_equal(colperm, np.arange(k)):
                return self.new(y, _ident(2), target, {0} if dyn0 else ())
            v = self.new(y, Cols(colperm), target, {0} if dyn0 else ())
            v.derive = lambda: self.reshape(self.ir(x), (n, target[1]))
            return v
        y = self.reshape(self.ir(x), (n, target[1]))
        return self.new(y, _ident(2), target, {0} if dyn0 else ())

    def _reshape_in_layout(self, x: Val, target, out_dyn=None) -> Val | None:
        """A reshape that only merges/splits groups of axes which are contiguous (and in order) in x's layout
        runs in that layout: e.g. channels-last (N, C, H, W) -> (N, C, H*W) gives (N, H*W, C) = layout
        (0, 2, 1), no transpose. None when the groups do not allow it (or x is in the ONNX layout anyway)."""
        lay = x.perm_layout()
        if lay is None or lay == _ident(x.rank) or x.const is not None:
            return None
        groups = _reshape_groups(x.shape, target)
        if groups is None:
            return None
        for a in x.dyn:  # a dynamic axis must stay a group of its own
            g = next(((gi, gj) for gi, gj in groups if a in gi), None)
            if g is None or g[0] != [a] or len(g[1]) != 1:
                return None
        pos = {p: i for i, p in enumerate(lay)}
        keyed = []
        prev = -1.0
        for gi, gj in groups:
            big = [a for a in gi if x.shape[a] != 1 or a in x.dyn]
            if not big:  # only size-1 axes: keep it right after the group before it
                prev += 1e-3
                keyed.append((prev, gj))
                continue
            ps = [pos[a] for a in big]
            if ps != sorted(ps):
                return None
            prev = float(ps[0])
            keyed.append((prev, gj, ps))
        # no other group's non-1 axis may sit between a group's first and last non-1 axis
        spans = [(k[2][0], k[2][-1]) for k in keyed if len(k) == 3]
        for a0, a1 in spans:
            for b0, b1 in spans:
                if (a0, a1) != (b0, b1) and a0 < b0 < a1:
                    return None
        order = [a for k in sorted(keyed, key=lambda k: k[0]) for a in k[1]]
        new_lay = tuple(order)
        dyn = {gj[0] for gi, gj in groups if len(gi) == 1 and gi[0] in x.dyn}
        if out_dyn is not None and dyn != set(out_dyn):
            return None
        shape = [-1 if a in dyn else target[a] for a in new_lay]
        t = self.ir(x, lay)
        return self.new(self.reshape(t, shape), new_lay, target, dyn)

    def _reshape_to_layout(self, x: Val, target, out_lay, out_dyn) -> Val | None:
        """The reshape as a RESHAPE producing `out_lay`, from x in the layout that makes it one (emitting at
        most one TRANSPOSE of x); None when no input layout does (an output group would be split)."""
        groups = _reshape_groups(x.shape, target)
        if groups is None:
            return None
        for a in x.dyn:
            g = next(((gi, gj) for gi, gj in groups if a in gi), None)
            if g is None or g[0] != [a] or len(g[1]) != 1:
                return None
        dyn = {gj[0] for gi, gj in groups if len(gi) == 1 and gi[0] in x.dyn}
        if dyn != set(out_dyn):
            return None
        pos = {a: i for i, a in enumerate(out_lay)}
        keyed, prev = [], -1.0
        for gi, gj in groups:
            big = [a for a in gj if target[a] != 1 or a in dyn]
            if not big:
                prev += 1e-3
                keyed.append((prev, gi))
                continue
            ps = [pos[a] for a in big]
            if ps != sorted(ps) or ps[-1] - ps[0] != len(ps) - 1:
                return None
            prev = float(ps[0])
            keyed.append((prev, gi))
        in_lay = tuple(a for _, gi in sorted(keyed, key=lambda k: k[0]) for a in gi)
        t = self.ir(x, in_lay)
        shape = [-1 if a in dyn else target[a] for a in out_lay]
        return self.new(self.reshape(t, shape), out_lay, target, dyn)

    def _op_Flatten(self, node, ins, at):
        x = ins[0]
        axis = int(at.get("axis", 1))
        if axis < 0:
            axis += x.rank
        target = (int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:])))
        dyn0 = 0 in x.dyn and axis >= 1
        if x.dyn - {0}:
            raise self.err("flattening a dynamic dimension other than the batch is not supported")
        if axis == 1:
            return self._flatten_2d(x, target, dyn0)
        if axis == 0 and 0 in x.dyn:
            raise self.err("Flatten(axis=0) of a dynamic batch is not supported")
        if not x.dyn:
            v = self._reshape_in_layout(x, target)
            if v is not None:
                return v
        y = self.reshape(self.ir(x), (-1 if dyn0 else target[0], target[1]))
        return self.new(y, _ident(2), target, {0} if dyn0 else ())

    def _op_Reshape(self, node, ins, at):
        x, s = ins
        shape = self.ints_of(s, "the target shape")
        allowzero = int(at.get("allowzero", 0))
        target = []
        for i, d in enumerate(shape):
            target.append(x.shape[i] if (d == 0 and not allowzero) else d)
        size = int(np.prod(x.shape))
        if target.count(-1) > 1:
            raise self.err(f"target shape {shape} has more than one -1")
        if -1 in target:
            known = int(np.prod([d for d in target if d != -1]))
            target[target.index(-1)] = size // max(known, 1)
        if int(np.prod(target)) != size:
            raise self.err(f"cannot reshape {x.shape} to {tuple(shape)}")
        target = tuple(target)
        dyn = self._reshape_dyn(x, s, shape, allowzero)
        if target == x.shape and dyn == set(x.dyn):
            return x
        v = self._reshape_in_layout(x, target, dyn)
        if v is not None:
            return v
        lay = x.perm_layout()
        if len(target) == 4 and lay not in (None, _ident(x.rank)):
            # a channels-last value reshaped to 4-D (pixel shuffle, ...): produce channels-last directly
            v = self._reshape_to_layout(x, target, _cl(4), dyn)
            if v is not None:
                return v
        if len(target) == 2 and x.rank >= 2 and target[0] == x.shape[0] and dyn <= {0} and \
                (x.dyn <= {0}) and (0 in dyn) == (0 in x.dyn):
            return self._flatten_2d(x, target, 0 in dyn)
        out = [-1 if i in dyn else d for i, d in enumerate(target)]
        y = self.reshape(self.ir(x), out)
        return self.new(y, _ident(len(target)), target, dyn)

    def _reshape_dyn(self, x: Val, s: Val, shape, allowzero) -> set:
        """Output axes of a Reshape that follow x's dynamic size: copied by a 0 entry, computed from the
        dynamic dimension (a Shape chain), or else the -1 entry. More than one: none (static)."""
        if not x.dyn:
            return set()
        alt = None if s.alt is None else [int(a) for a in np.asarray(s.alt).reshape(-1)]
        dyn = set()
        for i, d in enumerate(shape):
            if (d == 0 and not allowzero and i in x.dyn) or (alt is not None and alt[i] != d):
                dyn.add(i)
        if not dyn and -1 in shape:
            dyn.add(shape.index(-1))
        return dyn if len(dyn) == 1 else set()

    def _op_Transpose(self, node, ins, at):
        x = ins[0]
        perm = [int(p) for p in at.get("perm", list(range(x.rank))[::-1])]
        if x.perm_layout() is None:
            self.ir(x)
        v = Val(self._tmp(), [x.shape[p] for p in perm], x.dtype, dyn={perm.index(a) for a in x.dyn})
        for q, t in x.forms.items():
            if _is_perm(q):
                v.forms[tuple(perm.index(qi) for qi in q)] = t
        return v

    def _axes_input(self, node, ins, at, idx=1):
        if "axes" in at:
            return [int(a) for a in at["axes"]]
        if len(ins) > idx and ins[idx] is not None:
            return self.ints_of(ins[idx], "axes")
        return None

    def _op_Squeeze(self, node, ins, at):
        x = ins[0]
        axes = self._axes_input(node, ins, at)
        if axes is None:
            axes = [i for i, d in enumerate(x.shape) if d == 1 and i not in x.dyn]
        axes = sorted({a % x.rank for a in axes})
        for a in axes:
            if x.shape[a] != 1 or a in x.dyn:
                raise self.err(f"cannot squeeze axis {a} of size {x.shape[a]}")
        if not axes:
            return x
        lay = x.perm_layout() or _ident(x.rank)
        t = self.ir(x, lay)
        new_lay = _drop_axes_perm(lay, axes)
        shape = [d for i, d in enumerate(t.shape) if lay[i] not in axes]
        static = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        dyn = {a - sum(1 for b in axes if b < a) for a in x.dyn}
        return self.new(self.reshape(t, shape), new_lay, static, dyn)

    def _op_Unsqueeze(self, node, ins, at):
        x = ins[0]
        axes = self._axes_input(node, ins, at)
        r = x.rank + len(axes)
        axes = sorted({a % r for a in axes})
        old = [i for i in range(r) if i not in axes]  # old axis k -> new axis old[k]
        static = [1] * r
        for k, i in enumerate(old):
            static[i] = x.shape[k]
        lay = x.perm_layout() or _ident(x.rank)
        t = self.ir(x, lay)
        new_lay = tuple(old[p] for p in lay) + tuple(axes)
        shape = list(t.shape) + [1] * len(axes)
        return self.new(self.reshape(t, shape), new_lay, static, {old[a] for a in x.dyn})

    def _op_Concat(self, node, ins, at):
        vals = [v for v in ins if v is not None and 0 not in v.shape]
        if not vals:
            return ins[0]
        r = vals[0].rank
        axis = int(at["axis"]) % r
        if axis in set().union(*[v.dyn for v in vals]):
            raise self.err("concatenation along a dynamic dimension is not supported")
        lay = self.pick_layout(vals, r, allow_cols=False)
        dt = next((v.dtype for v in vals if v.const is None), vals[0].dtype)
        ts = []
        for v in vals:
            if v.const is not None:
                ts.append(self.cconst(_to_layout(v.const.astype(dt), lay, r), name="const"))
            else:
                ts.append(self.ir(v, lay))
        static = list(vals[0].shape)
        static[axis] = sum(v.shape[axis] for v in vals)
        if len(ts) == 1:
            return vals[0]
        y = self.em.concat(ts, lay.index(axis))
        dyn = set().union(*[v.dyn for v in vals if v.const is None])
        return self.new(y, lay, static, dyn)

    def _op_Split(self, node, ins, at):
        x = ins[0]
        axis = int(at.get("axis", 0)) % x.rank
        n = len(node.output)
        if "split" in at:
            sizes = [int(s) for s in at["split"]]
        elif len(ins) > 1 and ins[1] is not None:
            sizes = self.ints_of(ins[1], "split")
        else:
            d = x.shape[axis]
            k = int(at.get("num_outputs", n))
            per = -(-d // k)
            sizes = [per] * (k - 1) + [d - per * (k - 1)]
        if sum(sizes) != x.shape[axis] or axis in x.dyn:
            raise self.err(f"cannot split {x.shape} into {sizes} along axis {axis}")
        lay = x.perm_layout() or _ident(x.rank)
        t = self.ir(x, lay)
        ia = lay.index(axis)
        shapes = []
        for s in sizes:
            sh = list(t.shape)
            sh[ia] = s
            shapes.append(sh)
        if len(set(sizes)) == 1:
            ax = self.cconst(np.array([ia], np.int32), name="axis")
            outs = self.em.op("SPLIT", [ax, t], shapes, {"numSplits": len(sizes)})
        else:
            ss = self.cconst(np.array(sizes, np.int32), name="size_splits")
            ax = self.cconst(np.array([ia], np.int32), name="axis")
            outs = self.em.op("SPLIT_V", [t, ss, ax], shapes, {"numSplits": len(sizes)})
        res = []
        for s, o in zip(sizes, outs):
            st = list(x.shape)
            st[axis] = s
            res.append(self.new(o, lay, st, x.dyn))
        return res

    def _op_Slice(self, node, ins, at):
        x = ins[0]
        r = x.rank
        if self.opset < 10:
            starts, ends = [int(v) for v in at["starts"]], [int(v) for v in at["ends"]]
            axes = [int(v) for v in at.get("axes", range(len(starts)))]
            steps = [1] * len(starts)
        else:
            starts = self.ints_of(ins[1], "starts")
            ends = self.ints_of(ins[2], "ends")
            given = [len(ins) > k and ins[k] is not None for k in (3, 4)]
            axes = self.ints_of(ins[3], "axes") if given[0] else list(range(len(starts)))
            steps = self.ints_of(ins[4], "steps") if given[1] else [1] * len(starts)
        lay = x.perm_layout() or _ident(r)
        t = self.ir(x, lay)
        begin, end, strides = [0] * r, [0] * r, [1] * r
        bmask = emask = (1 << r) - 1
        static = list(x.shape)
        changed = False
        for s, e, a, st in zip(starts, ends, axes, steps):
            a %= r
            if st == 0:
                raise self.err("slice step 0")
            d = x.shape[a]
            b_, e_, st_ = slice(s, e, st).indices(d)
            n = len(range(b_, e_, st_))
            if n == d and st_ == 1:
                continue
            if a in x.dyn:
                raise self.err(f"slicing the dynamic axis {a} is not supported")
            changed = True
            ia = lay.index(a)
            static[a] = n
            begin[ia], strides[ia] = b_, st_
            bmask &= ~(1 << ia)
            if st_ < 0 and e_ < 0:
                end[ia] = 0
            else:
                end[ia] = e_
                emask &= ~(1 << ia)
        if not changed:
            return x
        shape = tuple(-1 if lay[i] in x.dyn else static[lay[i]] for i in range(r))
        em = self.em
        y = em.op1("STRIDED_SLICE", [t, self.cconst(np.array(begin, np.int32), name="begin"),
                                     self.cconst(np.array(end, np.int32), name="end"),
                                     self.cconst(np.array(strides, np.int32), name="strides")], shape,
                   {"beginMask": bmask, "endMask": emask, "ellipsisMask": 0, "newAxisMask": 0,
                    "shrinkAxisMask": 0, "offset": False})
        return self.new(y, lay, static, x.dyn)

    def _op_Gather(self, node, ins, at):
        data, idx = ins
        r = data.rank
        axis = int(at.get("axis", 0)) % r
        if idx.const is not None:
            ids = np.asarray(idx.const).astype(np.int64)
            d = data.shape[axis]
            if axis in data.dyn:
                raise self.err("gathering along a dynamic axis is not supported")
            if np.any(ids < -d) or np.any(ids >= d):
                raise self.err(f"indices out of range for axis {axis} of size {d}")
            ids = np.where(ids < 0, ids + d, ids)
            lay = data.perm_layout() or _ident(r)
            if ids.ndim <= 1:
                t = self.ir(data, lay)
                ia = lay.index(axis)
                if ids.ndim == 0:
                    k = int(ids)
                    begin = [0] * r
                    end = [0] * r
                    begin[ia], end[ia] = k, k + 1
                    shape = [s for i, s in enumerate(t.shape) if i != ia]
                    mask = ((1 << r) - 1) & ~(1 << ia)
                    y = self.em.op1("STRIDED_SLICE",
                                    [t, self.cconst(np.array(begin, np.int32), name="begin"),
                                     self.cconst(np.array(end, np.int32), name="end"),
                                     self.cconst(np.ones(r, np.int32), name="strides")], shape,
                                    {"beginMask": mask, "endMask": mask, "ellipsisMask": 0, "newAxisMask": 0,
                                     "shrinkAxisMask": 1 << ia, "offset": False})
                    static = [s for i, s in enumerate(data.shape) if i != axis]
                    dyn = {a - (a > axis) for a in data.dyn}
                    return self.new(y, _drop_axes_perm(lay, {axis}), static, dyn)
                shape = list(t.shape)
                shape[ia] = ids.size
                y = self.em.op1("GATHER", [t, self.cconst(ids.astype(np.int32), name="indices")], shape,
                                {"axis": ia, "batchDims": 0})
                static = list(data.shape)
                static[axis] = ids.size
                return self.new(y, lay, static, data.dyn)
            idx_t = self.cconst(ids.astype(np.int32), name="indices")
        else:
            idx_t = self.ir(idx)
            if idx_t.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
                raise self.err(f"indices of type {idx_t.dtype} are not supported")
            if axis in data.dyn:
                raise self.err("gathering along a dynamic axis is not supported")
            # ONNX counts negative indices from the end; TFLite's GATHER refuses them
            # of the indices' rank, so a 0-d index (a Loop's iteration number) stays 0-d
            size = np.array(data.shape[axis], idx_t.dtype).reshape((1,) * len(idx_t.shape))
            d = self.g.const(self.em._name("axis_size"), size)
            idx_t = self.em.op1("FLOOR_MOD", [idx_t, d], idx_t.shape)
        t = self.ir(data)
        shape = list(t.shape[:axis]) + list(idx_t.shape) + list(t.shape[axis + 1:])
        y = self.em.op1("GATHER", [t, idx_t], shape, {"axis": axis, "batchDims": 0}, dtype=t.dtype)
        static = list(data.shape[:axis]) + list(idx.shape) + list(data.shape[axis + 1:])
        dyn = {a for a in data.dyn if a < axis} | {a + idx.rank - 1 for a in data.dyn if a > axis}
        if idx.const is None:
            dyn |= {a + axis for a in idx.dyn}
        return self.new(y, _ident(len(static)), static, dyn)

    def _op_Pad(self, node, ins, at):
        x = ins[0]
        r = x.rank
        mode = at.get("mode", "constant")
        if self.opset < 11:
            pads = [int(p) for p in at["pads"]]
            value = float(at.get("value", 0.0))
            axes = list(range(r))
        else:
            pads = self.ints_of(ins[1], "pads")
            value = 0.0
            if len(ins) > 2 and ins[2] is not None:
                cv = np.asarray(self.const_of(ins[2], "constant_value")).reshape(-1)
                value = float(cv[0]) if cv.size else 0.0
            axes = self.ints_of(ins[3], "axes") if len(ins) > 3 and ins[3] is not None else list(range(r))
        axes = [a % r for a in axes]
        n = len(axes)
        per = [[0, 0] for _ in range(r)]
        for k, a in enumerate(axes):
            per[a] = [pads[k], pads[k + n]]
        if any(p < 0 for pp in per for p in pp):
            raise self.err("negative pads (cropping) are not supported")
        if any(per[a] != [0, 0] for a in x.dyn):
            raise self.err("padding a dynamic dimension is not supported")
        if all(pp == [0, 0] for pp in per):
            return x
        lay = x.perm_layout() or _ident(r)
        t = self.ir(x, lay)
        ir_pads = [per[p] for p in lay]
        static = [d + sum(per[i]) for i, d in enumerate(x.shape)]
        shape = [d if d < 0 else d + sum(p) for d, p in zip(t.shape, ir_pads)]
        if mode == "constant":
            if value == 0.0:
                y = self.em.op1("PAD", [t, self.cconst(np.array(ir_pads, np.int32), name="paddings")], shape)
            else:
                y = self.em.op1("PADV2", [t, self.cconst(np.array(ir_pads, np.int32), name="paddings"),
                                          self.cconst(np.array([value], t.dtype), name="value")], shape)
        elif mode == "reflect":
            for i, (b, e) in enumerate(ir_pads):
                if max(b, e) >= max(t.shape[i], 1):
                    raise self.err("reflect padding wider than the input")
            pc = self.cconst(np.array(ir_pads, np.int32), name="paddings")
            y = self.em.op1("MIRROR_PAD", [t, pc], shape, {"mode": 0})
        elif mode == "edge":
            y = t
            for i, (b, e) in enumerate(ir_pads):
                if b == 0 and e == 0:
                    continue
                d = t.shape[i]
                ids = np.clip(np.arange(-b, d + e), 0, d - 1).astype(np.int32)
                sh = list(y.shape)
                sh[i] = ids.size
                y = self.em.op1("GATHER", [y, self.cconst(ids, name="indices")], sh,
                                {"axis": i, "batchDims": 0})
        else:
            raise self.err(f"pad mode {mode!r} is not supported")
        return self.new(y, lay, static, x.dyn)

    def _op_Expand(self, node, ins, at):
        x, s = ins
        shape = self.ints_of(s, "shape")
        static = tuple(int(d) for d in np.broadcast_shapes(x.shape, tuple(shape)))
        if static == x.shape:
            return x
        r = len(static)
        if x.rank == r:
            lay = x.perm_layout() or _ident(r)
            t = self.ir(x, lay)
        else:
            lay = _ident(r)
            t = self.reshape(self.ir(x), (1,) * (r - x.rank) + tuple(self.ir(x).shape))
        target = [static[p] for p in lay]
        y = self.em.op1("BROADCAST_TO", [t, self.cconst(np.array(target, np.int32), name="shape")], target)
        self.g.ops[-1].version = 2  # LiteRT registers BROADCAST_TO from version 2
        return self.new(y, lay, static, self._dyn_aligned(x, r))

    def _op_Tile(self, node, ins, at):
        x, rep = ins
        reps = self.ints_of(rep, "repeats")
        lay = x.perm_layout() or _ident(x.rank)
        t = self.ir(x, lay)
        m = [reps[p] for p in lay]
        shape = [d * k if d > 0 else d for d, k in zip(t.shape, m)]
        y = self.em.op1("TILE", [t, self.cconst(np.array(m, np.int32), name="multiples")], shape)
        return self.new(y, lay, [d * k for d, k in zip(x.shape, reps)], x.dyn)

    def _op_ConstantOfShape(self, node, ins, at):
        raise self.err("ConstantOfShape needs a constant shape")

    def _op_DepthToSpace(self, node, ins, at):
        x = ins[0]
        b = int(at["blocksize"])
        mode = at.get("mode", "DCR")
        n, c, h, w = x.shape
        t = self.ir(x, _cl(4))
        if mode == "CRD":
            cc = c // (b * b)
            ids = np.array([ci * b * b + i * b + j for i in range(b) for j in range(b) for ci in range(cc)],
                           np.int32)
            t = self.em.op1("GATHER", [t, self.cconst(ids, name="indices")], t.shape,
                            {"axis": 3, "batchDims": 0})
        y = self.em.op1("DEPTH_TO_SPACE", [t], [t.shape[0], h * b, w * b, c // (b * b)], {"blockSize": b})
        return self.new(y, _cl(4), (n, c // (b * b), h * b, w * b), x.dyn)

    def _op_SpaceToDepth(self, node, ins, at):
        x = ins[0]
        b = int(at["blocksize"])
        n, c, h, w = x.shape
        t = self.ir(x, _cl(4))
        y = self.em.op1("SPACE_TO_DEPTH", [t], [t.shape[0], h // b, w // b, c * b * b], {"blockSize": b})
        if at.get("mode", "DCR") == "CRD":  # channel c * b * b + i * b + j instead of (i * b + j) * C + c
            ids = np.array([(i * b + j) * c + ci for ci in range(c) for i in range(b) for j in range(b)],
                           np.int32)
            y = self.em.op1("GATHER", [y, self.cconst(ids, name="indices")], y.shape,
                            {"axis": 3, "batchDims": 0})
        return self.new(y, _cl(4), (n, c * b * b, h // b, w // b), x.dyn)

    # -- reductions ----------------------------------------------------------------------------------------
    def _reduce_axes(self, node, ins, at):
        x = ins[0]
        axes = self._axes_input(node, ins, at)
        if axes is None or (len(axes) == 0):
            if int(at.get("noop_with_empty_axes", 0)) and axes is not None or \
                    (axes is None and int(at.get("noop_with_empty_axes", 0))):
                return None
            axes = list(range(x.rank))
        return [a % x.rank for a in axes]

    def _reduce_op(self, node, ins, at):
        axes = self._reduce_axes(node, ins, at)
        if axes is None:
            return ins[0]
        keep = bool(int(at.get("keepdims", 1)))
        type = _REDUCE[node.op_type]
        if ins[0].dtype == np.bool_:
            type = {"REDUCE_MAX": "REDUCE_ANY", "REDUCE_MIN": "REDUCE_ALL"}.get(type)
            if type is None:
                raise self.err("this reduction of bool values is not supported")
        return self.reduce(type, ins[0], axes, keep)

    _op_ReduceMean = _op_ReduceSum = _op_ReduceMax = _op_ReduceMin = _op_ReduceProd = _reduce_op

    def _op_ReduceSumSquare(self, node, ins, at):
        axes = self._reduce_axes(node, ins, at)
        x = ins[0]
        sq = self.ew("MUL", [x, x], {"fusedActivationFunction": 0})
        return sq if axes is None else self.reduce("SUM", sq, axes, bool(int(at.get("keepdims", 1))))

    def _op_ReduceL2(self, node, ins, at):
        return self.unary("SQRT", self._op_ReduceSumSquare(node, ins, at))

    def _op_ReduceL1(self, node, ins, at):
        axes = self._reduce_axes(node, ins, at)
        a = self.unary("ABS", ins[0])
        return a if axes is None else self.reduce("SUM", a, axes, bool(int(at.get("keepdims", 1))))

    def _op_ReduceLogSumExp(self, node, ins, at):
        axes = self._reduce_axes(node, ins, at)
        x = ins[0]
        if axes is None:
            return x
        keep = bool(int(at.get("keepdims", 1)))
        m = self.reduce("REDUCE_MAX", x, axes, True)
        s = self.reduce("SUM", self.unary("EXP", self.sub(x, m)), axes, keep)
        mm = m if keep else self.reduce("REDUCE_MAX", x, axes, False)
        return self.add(self.unary("LOG", s), mm)

    def _op_ReduceLogSum(self, node, ins, at):
        axes = self._reduce_axes(node, ins, at)
        x = ins[0]
        s = x if axes is None else self.reduce("SUM", x, axes, bool(int(at.get("keepdims", 1))))
        return self.unary("LOG", s)

    def _arg(self, node, ins, at, type):
        x = ins[0]
        last = bool(int(at.get("select_last_index", 0)))
        axis = int(at.get("axis", 0)) % x.rank
        keep = bool(int(at.get("keepdims", 1)))
        lay = x.perm_layout() or _ident(x.rank)
        t = self.ir(x, lay)
        ia = lay.index(axis)
        shape = [d for i, d in enumerate(t.shape) if i != ia]
        ax = self.cconst(np.array([ia], np.int32), name="axis")
        if last:  # the first extremum of the reversed axis, counted from the end
            t = self.em.op1("REVERSE_V2", [t, ax], t.shape)
        y = self.em.op1(type, [t, ax], shape, {"outputType": 4}, dtype=np.int64)
        if last:
            y = self.em.op1("SUB", [self.cconst(np.array([x.shape[axis] - 1], np.int64), name="last"), y],
                            shape, {"fusedActivationFunction": 0}, dtype=np.int64)
        static = [d for i, d in enumerate(x.shape) if i != axis]
        dyn = {a - (a > axis) for a in x.dyn if a != axis}
        if not keep:
            return self.new(y, _drop_axes_perm(lay, {axis}), static, dyn)
        kshape = list(t.shape)
        kshape[ia] = 1
        y = self.reshape(y, kshape)
        st = list(x.shape)
        st[axis] = 1
        return self.new(y, lay, st, {a for a in x.dyn if a != axis})

    def _op_ArgMax(self, node, ins, at):
        return self._arg(node, ins, at, "ARG_MAX")

    def _op_ArgMin(self, node, ins, at):
        return self._arg(node, ins, at, "ARG_MIN")

    # -- normalization -------------------------------------------------------------------------------------
    def _op_BatchNormalization(self, node, ins, at):
        if int(at.get("training_mode", 0)):
            raise self.err("training_mode=1 is not supported")
        for o in node.output[1:]:
            if o and self.uses.get(o):
                raise self.err("the running statistics outputs are not supported")
        x = ins[0]
        scale, bias, mean, var = [np.asarray(self.const_of(v, w), np.float64)
                                  for v, w in zip(ins[1:5], ("scale", "B", "mean", "var"))]
        eps = float(at.get("epsilon", 1e-5))
        s = scale / np.sqrt(var + eps)
        sh = bias - mean * s
        if x.fold is not None and self._sole_use(x, node.input[0]):
            self._fold_scale(x, s, sh)
            x.fold = None
            return x
        cshape = (x.shape[1],) + (1,) * (x.rank - 2)
        y = self.mul(x, s.astype(np.float32).reshape(cshape))
        return self.add(y, sh.astype(np.float32).reshape(cshape))

    def _sole_use(self, v: Val, name: str) -> bool:
        """This node is the only reader of v (under its own name and the name it is read by here)."""
        return all(self.uses.get(n, 0) == 1 and n not in self.outputs for n in {v.name, name})

    def _fold_scale(self, x: Val, s, sh):
        for op, wi, bi, ax, start, count in x.fold:
            w = op.inputs[wi]
            wd = np.asarray(w.data, np.float64)
            shape = [1] * wd.ndim
            shape[ax] = count
            ss = s[start:start + count]
            op.inputs[wi] = Tensor(w.name, w.shape, np.float32, (wd * ss.reshape(shape)).astype(np.float32))
            while len(op.inputs) <= bi:
                op.inputs.append(None)
            b = op.inputs[bi]
            bd = np.zeros(count) if b is None else np.asarray(b.data, np.float64).reshape(-1)
            nb = (bd * ss + sh[start:start + count]).astype(np.float32)
            op.inputs[bi] = Tensor(b.name if b is not None else w.name + "_bias", (count,), np.float32, nb)

    def _op_InstanceNormalization(self, node, ins, at):
        x = ins[0]
        scale = np.asarray(self.const_of(ins[1], "scale"), np.float32)
        bias = np.asarray(self.const_of(ins[2], "B"), np.float32)
        eps = float(at.get("epsilon", 1e-5))
        axes = list(range(2, x.rank))
        cshape = (x.shape[1],) + (1,) * (x.rank - 2)
        y = self._normalize(x, axes, eps)
        return self.add(self.mul(y, scale.reshape(cshape)), bias.reshape(cshape))

    def _normalize(self, x, axes, eps, want_stats=False):
        mean = self.reduce("MEAN", x, axes, True)
        d = self.sub(x, mean)
        var = self.reduce("MEAN", self.ew("MUL", [d, d], {"fusedActivationFunction": 0}), axes, True)
        inv = self.unary("RSQRT", self.add(var, np.float32(eps)))
        y = self.mul(d, inv)
        return (y, mean, inv) if want_stats else y

    def _op_LayerNormalization(self, node, ins, at):
        x = ins[0]
        axis = int(at.get("axis", -1)) % x.rank
        eps = float(at.get("epsilon", 1e-5))
        y, mean, inv = self._normalize(x, list(range(axis, x.rank)), eps, want_stats=True)
        if len(ins) > 1 and ins[1] is not None:
            y = self.mul(y, ins[1])
        if len(ins) > 2 and ins[2] is not None:
            y = self.add(y, ins[2])
        return [y, mean, inv]

    # -- convolutions ----------------------------------------------------------------------------------------
    def _spatial(self, node, x, k_hw, at, transposed=False):
        """Common conv/pool attributes over 1 or 2 spatial dims, as 2-D lists."""
        ns = x.rank - 2
        if ns not in (1, 2):
            raise self.err(f"{ns}-D spatial inputs are not supported (1-D and 2-D are)")
        strides = [int(s) for s in at.get("strides", [1] * ns)]
        dil = [int(d) for d in at.get("dilations", [1] * ns)]
        pads = [int(p) for p in at.get("pads", [0] * (2 * ns))]
        if ns == 1:
            strides, dil = [1] + strides, [1] + dil
            pads = [0, pads[0], 0, pads[1]]
        return strides, dil, pads

    def _to4d(self, x: Val) -> Tensor:
        """x channels-last as a 4-D IR tensor (a 1-D spatial input gets H = 1)."""
        t = self.ir(x, _cl(x.rank))
        if x.rank == 3:
            t = self.reshape(t, (t.shape[0], 1, t.shape[1], t.shape[2]))
        return t

    def _from4d(self, y: Tensor, x: Val, c_out: int) -> Val:
        n = x.shape[0]
        if x.rank == 3:
            y3 = self.reshape(y, (y.shape[0], y.shape[2], y.shape[3]))
            return self.new(y3, _cl(3), (n, c_out, y.shape[2]), {0} & x.dyn)
        return self.new(y, _cl(4), (n, c_out, y.shape[1], y.shape[2]), {0} & x.dyn)

    def _padding(self, in_hw, k_hw, strides, dil, pads, auto_pad):
        """(TFLite padding, explicit [[top, bottom], [left, right]] or None, output size) for ONNX pads."""
        eff = [(k - 1) * d + 1 for k, d in zip(k_hw, dil)]
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            pb, pe = [], []
            for i in range(2):
                out = -(-in_hw[i] // strides[i])
                total = max((out - 1) * strides[i] + eff[i] - in_hw[i], 0)
                lo = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
                pb.append(lo)
                pe.append(total - lo)
        elif auto_pad == "VALID":
            pb, pe = [0, 0], [0, 0]
        else:
            pb, pe = [pads[0], pads[1]], [pads[2], pads[3]]
        out = [(in_hw[i] + pb[i] + pe[i] - eff[i]) // strides[i] + 1 for i in range(2)]
        if min(out) < 1:
            raise self.err(f"the window is larger than the padded input (output size {out})")
        if pb == [0, 0] and pe == [0, 0]:
            return VALID, None, out
        same = True
        for i in range(2):
            o = -(-in_hw[i] // strides[i])
            total = max((o - 1) * strides[i] + eff[i] - in_hw[i], 0)
            if o != out[i] or total // 2 != pb[i]:
                same = False
        if same:
            return SAME, None, out
        return VALID, [[pb[0], pe[0]], [pb[1], pe[1]]], out

    def _pad4d(self, t: Tensor, hw_pads, value=None) -> Tensor:
        p = [[0, 0], hw_pads[0], hw_pads[1], [0, 0]]
        shape = [t.shape[0], t.shape[1] + sum(hw_pads[0]), t.shape[2] + sum(hw_pads[1]), t.shape[3]]
        pc = self.cconst(np.array(p, np.int32), name="paddings")
        if value is None:
            return self.em.op1("PAD", [t, pc], shape)
        pv = self.cconst(np.array([value], np.float32), name="pad_value")
        return self.em.op1("PADV2", [t, pc, pv], shape)

    def _op_Conv(self, node, ins, at):
        x, wv = ins[0], ins[1]
        bv = ins[2] if len(ins) > 2 else None
        W = np.asarray(self.const_of(wv, "the weights"), np.float32)
        B = None if bv is None else np.asarray(self.const_of(bv, "the bias"), np.float32)
        if x.rank == 3:
            W = W[:, :, None, :]
        if W.ndim != 4 or x.rank not in (3, 4):
            raise self.err(f"input {x.shape} / weights {W.shape}: only 1-D and 2-D convolutions are "
                           "supported")
        strides, dil, pads = self._spatial(node, x, W.shape[2:], at)
        group = int(at.get("group", 1))
        cin = x.shape[1]
        m = W.shape[0]
        if W.shape[1] * group != cin or m % group:
            raise self.err(f"weights {W.shape} do not match {cin} input channels in {group} groups")
        t = self._to4d(x)
        padding, explicit, _ = self._padding(t.shape[1:3], W.shape[2:], strides, dil, pads,
                                               at.get("auto_pad", "NOTSET"))
        if explicit is not None:
            t = self._pad4d(t, explicit)
        em = self.em
        bias = None if B is None else em.const(B, np.float32, "bias")
        fold = []
        if group == 1:
            w = em.const(W.transpose(0, 2, 3, 1), np.float32, "weights")
            y = em.conv2d(t, w, bias, strides, dil, padding)
            fold.append((em.g.ops[-1], 1, 2, 0, 0, m))
        elif group == cin and W.shape[1] == 1:
            mult = m // cin
            w = em.const(W.reshape(m, W.shape[2], W.shape[3]).transpose(1, 2, 0)[None], np.float32, "weights")
            y = em.depthwise_conv2d(t, w, bias, mult, strides, dil, padding)
            fold.append((em.g.ops[-1], 1, 2, 3, 0, m))
        else:
            xs = em.split(t, group, axis=3)
            per = m // group
            ys = []
            for gi, xg in enumerate(xs):
                wg = np.ascontiguousarray(W[gi * per:(gi + 1) * per].transpose(0, 2, 3, 1))
                wg = em.const(wg, np.float32, f"weights_g{gi}")
                bg = None if B is None else em.const(B[gi * per:(gi + 1) * per], np.float32, f"bias_g{gi}")
                ys.append(em.conv2d(xg, wg, bg, strides, dil, padding))
                fold.append((em.g.ops[-1], 1, 2, 0, gi * per, per))
            y = em.concat(ys, axis=3)
        v = self._from4d(y, x, m)
        v.fold = fold
        return v

    def _op_ConvTranspose(self, node, ins, at):
        x, wv = ins[0], ins[1]
        bv = ins[2] if len(ins) > 2 else None
        W = np.asarray(self.const_of(wv, "the weights"), np.float32)  # (Cin, Cout/g, kh, kw)
        B = None if bv is None else np.asarray(self.const_of(bv, "the bias"), np.float32)
        if x.rank == 3:
            W = W[:, :, None, :]
        if W.ndim != 4 or x.rank not in (3, 4):
            raise self.err("only 1-D and 2-D transposed convolutions are supported")
        ns = x.rank - 2
        strides, dil, pads = self._spatial(node, x, W.shape[2:], at, transposed=True)
        if any(d != 1 for d in dil):
            raise self.err("dilated transposed convolutions are not supported")
        group = int(at.get("group", 1))
        opad = [int(p) for p in at.get("output_padding", [0] * ns)]
        if ns == 1:
            opad = [0] + opad
        cin, per = W.shape[0], W.shape[1]
        if cin != x.shape[1] or cin % group:
            raise self.err(f"weights {W.shape} do not match {x.shape[1]} input channels")
        m = per * group
        t = self._to4d(x)
        in_hw = t.shape[1:3]
        k = W.shape[2:]
        full = [strides[i] * (in_hw[i] - 1) + k[i] for i in range(2)]
        auto = at.get("auto_pad", "NOTSET")
        if "output_shape" in at:
            osz = [int(s) for s in at["output_shape"]][-ns:]
            if ns == 1:
                osz = [1] + osz
            pb = []
            for i in range(2):
                total = full[i] + opad[i] - osz[i]
                pb.append(total // 2 if auto == "SAME_UPPER" else total - total // 2)
            out = osz
        elif auto in ("SAME_UPPER", "SAME_LOWER"):
            out = [in_hw[i] * strides[i] for i in range(2)]
            pb = []
            for i in range(2):
                total = full[i] + opad[i] - out[i]
                pb.append(total // 2 if auto == "SAME_UPPER" else total - total // 2)
        else:
            if auto == "VALID":
                pads = [0, 0, 0, 0]
            pb = [pads[0], pads[1]]
            out = [full[i] + opad[i] - pads[i] - pads[i + 2] for i in range(2)]
        if min(out) < 1 or min(pb) < 0:
            raise self.err(f"unsupported output size {out} / padding {pb}")
        em = self.em
        n = t.shape[0]

        def tconv(xt, Wg, Bg, size, padding):
            # (out, kh, kw, in)
            w = em.const(np.ascontiguousarray(Wg.transpose(1, 2, 3, 0)), np.float32, "weights")
            b = None if Bg is None else em.const(Bg, np.float32, "bias")
            shape = [n, int(size[0]), int(size[1]), Wg.shape[1]]
            os_ = self.cconst(np.array([1 if n < 0 else n] + shape[1:], np.int32), name="output_shape")
            y = em.op1("TRANSPOSE_CONV", [os_, w, xt, b], shape,
                       {"padding": padding, "strideH": int(strides[0]), "strideW": int(strides[1]),
                        "fusedActivationFunction": 0})
            return y, em.g.ops[-1]

        same = True
        for i in range(2):
            o = out[i]
            total = max((-(-o // strides[i]) - 1) * strides[i] + k[i] - o, 0)
            if -(-o // strides[i]) != in_hw[i] or total // 2 != pb[i]:
                same = False
        if same:
            padding, size, crop = SAME, out, None
        else:
            # TFLite wants (size - k) // s + 1 == input size for VALID: compute at least the full output, then
            # crop the ONNX window (positions past the full output, from output_padding, only get the bias)
            size = [max(full[i], pb[i] + out[i]) for i in range(2)]
            if any(size[i] > full[i] + strides[i] - 1 for i in range(2)):
                raise self.err(f"output size {out} with padding {pb} is not supported")
            padding = VALID
            crop = None if (size == out and pb == [0, 0]) else pb
        xs = [t] if group == 1 else em.split(t, group, axis=3)
        ys, fold = [], []
        cg = cin // group
        for gi, xg in enumerate(xs):
            Wg = W[gi * cg:(gi + 1) * cg]
            Bg = None if B is None else B[gi * per:(gi + 1) * per]
            y, op = tconv(xg, Wg, Bg, size, padding)
            ys.append(y)
            fold.append((op, 1, 3, 0, gi * per, per))
        y = em.concat(ys, axis=3) if len(ys) > 1 else ys[0]
        if crop is not None:
            b_ = self.cconst(np.array([0, crop[0], crop[1], 0], np.int32), name="begin")
            s_ = self.cconst(np.array([-1, out[0], out[1], -1], np.int32), name="size")
            y = em.op1("SLICE", [y, b_, s_], [y.shape[0], out[0], out[1], y.shape[3]])
        v = self._from4d(y, x, m)
        v.fold = fold if crop is None else None
        return v

    def _pool_attrs(self, node, x, at):
        ns = x.rank - 2
        k = [int(v) for v in at["kernel_shape"]]
        if ns not in (1, 2) or len(k) != ns:
            raise self.err("only 1-D and 2-D pooling is supported")
        if any(int(d) != 1 for d in at.get("dilations", [1] * ns)):
            raise self.err("dilated pooling is not supported")
        strides, _, pads = self._spatial(node, x, k, at)
        if ns == 1:
            k = [1] + k
        return k, strides, pads

    def _op_MaxPool(self, node, ins, at):
        if len(node.output) > 1 and node.output[1] and self.uses.get(node.output[1]):
            raise self.err("the Indices output of MaxPool is not supported")
        x = ins[0]
        k, strides, pads = self._pool_attrs(node, x, at)
        t = self._to4d(x)
        padding, explicit, _ = self._pool_padding(t, k, strides, pads, at)
        if explicit is not None:
            t = self._pad4d(t, explicit, _LOWEST)
        y = self.em.pool2d("MAX_POOL_2D", t, k, strides, padding)
        return [self._from4d(y, x, x.shape[1]), None]

    def _pool_padding(self, t, k, strides, pads, at):
        in_hw = t.shape[1:3]
        padding, explicit, out = self._padding(in_hw, k, strides, [1, 1], pads, at.get("auto_pad", "NOTSET"))
        if int(at.get("ceil_mode", 0)):
            if padding == SAME and explicit is None:
                total = [max((out[i] - 1) * strides[i] + k[i] - in_hw[i], 0) for i in range(2)]
                explicit = [[total[i] // 2, total[i] - total[i] // 2] for i in range(2)]
            elif explicit is None:
                explicit = [[0, 0], [0, 0]]
            new_out, changed = [], False
            for i in range(2):
                lo, hi = explicit[i]
                span = in_hw[i] + lo + hi - k[i]
                o = -(-span // strides[i]) + 1
                if (o - 1) * strides[i] >= in_hw[i] + lo:  # the last window must start inside
                    o -= 1
                extra = max((o - 1) * strides[i] + k[i] - (in_hw[i] + lo + hi), 0)
                if extra:
                    explicit[i] = [lo, hi + extra]
                    changed = True
                new_out.append(o)
            if changed or explicit != [[0, 0], [0, 0]]:
                if not changed and padding == SAME:
                    return SAME, None, new_out
                return VALID, explicit, new_out
            return VALID, None, new_out
        return padding, explicit, out

    def _op_AveragePool(self, node, ins, at):
        x = ins[0]
        k, strides, pads = self._pool_attrs(node, x, at)
        t = self._to4d(x)
        include = bool(int(at.get("count_include_pad", 0)))
        in_hw = t.shape[1:3]
        padding, explicit, out = self._pool_padding(t, k, strides, pads, at)
        em = self.em
        if explicit is None and (padding == VALID or not include):
            y = em.pool2d("AVERAGE_POOL_2D", t, k, strides, padding)
            return self._from4d(y, x, x.shape[1])
        if explicit is None:  # SAME with count_include_pad: make the padding explicit
            total = [max((out[i] - 1) * strides[i] + k[i] - in_hw[i], 0) for i in range(2)]
            explicit = [[total[i] // 2, total[i] - total[i] // 2] for i in range(2)]
        # the ONNX pads (without the ceil-mode extension) bound what count_include_pad counts
        if at.get("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER", "VALID"):
            onnx_pads = None
        else:
            onnx_pads = [[pads[0], pads[2]], [pads[1], pads[3]]]
        tp = self._pad4d(t, explicit)
        y = em.pool2d("AVERAGE_POOL_2D", tp, k, strides, VALID)
        counts = []
        for i in range(2):
            lo, hi = explicit[i]
            if include:
                olo, ohi = onnx_pads[i] if onnx_pads is not None else (lo, hi)
                valid_lo, valid_hi = -olo, in_hw[i] + ohi
            else:
                valid_lo, valid_hi = 0, in_hw[i]
            c = []
            for o in range(out[i]):
                s = o * strides[i] - lo
                c.append(max(min(s + k[i], valid_hi) - max(s, valid_lo), 0))
            counts.append(np.array(c, np.float64))
        cnt = np.outer(counts[0], counts[1])
        if np.any(cnt == 0):
            raise self.err("a pooling window covers no input")
        factor = (k[0] * k[1] / cnt).astype(np.float32)
        if not np.allclose(factor, 1.0):
            y = em.mul(y, em.const(factor.reshape(out[0], out[1], 1), np.float32, "count_scale"))
        return self._from4d(y, x, x.shape[1])

    def _global_pool(self, x, type):
        if x.rank < 3:
            raise self.err(f"input {x.shape} has no spatial dimensions")
        return self.reduce(type, x, list(range(2, x.rank)), True)

    def _op_GlobalAveragePool(self, node, ins, at):
        return self._global_pool(ins[0], "MEAN")

    def _op_GlobalMaxPool(self, node, ins, at):
        return self._global_pool(ins[0], "REDUCE_MAX")

    # -- resize ----------------------------------------------------------------------------------------------
    def _op_Upsample(self, node, ins, at):
        x = ins[0]
        scales = at.get("scales")
        if scales is None:
            scales = [float(s) for s in np.asarray(self.const_of(ins[1], "scales")).reshape(-1)]
        mode = at.get("mode", "nearest")
        return self._resize(x, [float(s) for s in scales], None, mode, "asymmetric", "simple")

    def _op_Resize(self, node, ins, at):
        x = ins[0]
        if self.opset < 11:
            scales_v, sizes_v = ins[1], None
            default_ctm = "asymmetric"
        else:
            scales_v = ins[2] if len(ins) > 2 else None
            sizes_v = ins[3] if len(ins) > 3 else None
            default_ctm = "half_pixel"
        scales = sizes = None
        if sizes_v is not None and np.size(self.const_of(sizes_v, "sizes")):
            sizes = self.ints_of(sizes_v, "sizes")
        elif scales_v is not None and np.size(self.const_of(scales_v, "scales")):
            scales = [float(s) for s in np.asarray(scales_v.const).reshape(-1)]
        else:
            raise self.err("needs scales or sizes")
        axes = at.get("axes")
        if axes is not None:
            full_sc = [1.0] * x.rank
            full_sz = list(x.shape)
            for k, a in enumerate(axes):
                if scales is not None:
                    full_sc[a % x.rank] = scales[k]
                else:
                    full_sz[a % x.rank] = sizes[k]
            scales = full_sc if scales is not None else None
            sizes = full_sz if sizes is not None else None
        if int(at.get("antialias", 0)):
            raise self.err("antialias=1 is not supported")
        if at.get("keep_aspect_ratio_policy", "stretch") != "stretch" and sizes is not None:
            raise self.err("keep_aspect_ratio_policy other than 'stretch' is not supported")
        mode = at.get("mode", "nearest")
        ctm = at.get("coordinate_transformation_mode", default_ctm)
        nearest = at.get("nearest_mode", "round_prefer_floor") if self.opset >= 11 else "simple"
        return self._resize(x, scales, sizes, mode, ctm, nearest)

    def _resize(self, x, scales, sizes, mode, ctm, nearest_mode):
        if x.rank != 4:
            raise self.err(f"only 4-D (N, C, H, W) inputs can be resized, got {x.shape}")
        if sizes is not None:
            out = [int(s) for s in sizes]
            sc = [out[i] / x.shape[i] for i in range(4)]
        else:
            sc = list(scales)
            out = [int(np.floor(np.float32(x.shape[i]) * np.float32(sc[i]))) for i in range(4)]
        if out[0] != x.shape[0] or out[1] != x.shape[1]:
            raise self.err("resizing the batch or channel dimension is not supported")
        if out[2:] == list(x.shape[2:]) and all(abs(s - 1.0) < 1e-9 for s in sc[2:]):
            return x
        in_hw = x.shape[2:]
        t = self.ir(x, _cl(4))
        em = self.em
        if mode == "linear" or mode == "bilinear":
            for i in range(2):
                if abs(sc[2 + i] * in_hw[i] - out[2 + i]) > 1e-4 * out[2 + i] and ctm != "align_corners":
                    raise self.err(f"scale {sc[2 + i]} does not give an integral size from {in_hw[i]}")
            if ctm == "align_corners":
                flags = (True, False)
            elif ctm == "half_pixel" or (ctm == "pytorch_half_pixel" and min(out[2:]) > 1):
                flags = (False, True)
            elif ctm == "asymmetric":
                flags = (False, False)
            else:
                raise self.err(f"coordinate_transformation_mode {ctm!r} is not supported for linear resizing")
            y = em.resize("RESIZE_BILINEAR", t, out[2:], align_corners=flags[0], half_pixel_centers=flags[1])
            return self.new(y, _cl(4), out, x.dyn)
        if mode != "nearest":
            raise self.err(f"resize mode {mode!r} is not supported (nearest, linear)")
        maps = [self._onnx_nearest(in_hw[i], out[2 + i], sc[2 + i], ctm, nearest_mode) for i in range(2)]
        for ac, hp in ((False, False), (False, True), (True, False), (True, True)):
            if all(np.array_equal(maps[i], _tfl_nearest(in_hw[i], out[2 + i], ac, hp)) for i in range(2)):
                y = em.resize("RESIZE_NEAREST_NEIGHBOR", t, out[2:], align_corners=ac, half_pixel_centers=hp)
                return self.new(y, _cl(4), out, x.dyn)
        y = t
        for i in range(2):
            sh = list(y.shape)
            sh[1 + i] = out[2 + i]
            y = em.op1("GATHER", [y, self.cconst(maps[i].astype(np.int32), name="indices")], sh,
                       {"axis": 1 + i, "batchDims": 0})
        return self.new(y, _cl(4), out, x.dyn)

    def _onnx_nearest(self, n_in, n_out, scale, ctm, nearest_mode):
        o = np.arange(n_out, dtype=np.float32)
        s = np.float32(scale)
        if ctm == "half_pixel":
            xo = (o + np.float32(0.5)) / s - np.float32(0.5)
        elif ctm == "pytorch_half_pixel":
            xo = (o + np.float32(0.5)) / s - np.float32(0.5) if n_out > 1 else np.zeros_like(o)
        elif ctm == "align_corners":
            xo = o * np.float32((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros_like(o)
        elif ctm == "asymmetric":
            xo = o / s
        elif ctm == "tf_half_pixel_for_nn":
            xo = (o + np.float32(0.5)) / s
        else:
            raise self.err(f"coordinate_transformation_mode {ctm!r} is not supported for nearest resizing")
        if nearest_mode == "round_prefer_floor":
            idx = np.ceil(xo - np.float32(0.5))
        elif nearest_mode == "round_prefer_ceil":
            idx = np.floor(xo + np.float32(0.5))
        elif nearest_mode == "floor":
            idx = np.floor(xo)
        elif nearest_mode == "ceil":
            idx = np.ceil(xo)
        elif nearest_mode == "simple":  # Upsample, Resize-10: floor when upsampling, ceil when downsampling
            idx = np.floor(xo) if scale >= 1 else np.ceil(xo)
        else:
            raise self.err(f"nearest_mode {nearest_mode!r} is not supported")
        return np.clip(idx, 0, n_in - 1).astype(np.int64)

    # -- dense -----------------------------------------------------------------------------------------------
    def fc(self, x: Val, W: np.ndarray, bias) -> Val:
        """x @ W.T + bias over the last axis; W is (units, in)."""
        W = np.asarray(W, np.float32)
        units = W.shape[0]
        em = self.em
        if x.rank == 1:
            t = self.reshape(self.ir(x), (1, x.shape[0]))
            y = em.fully_connected(t, em.const(W, np.float32, "weights"),
                                   None if bias is None else em.const(bias, np.float32, "bias"))
            return self.new(self.reshape(y, (units,)), (0,), (units,))
        cols = next((lay for lay in x.forms if isinstance(lay, Cols)), None) if x.rank == 2 else None
        if cols is not None:
            lay = cols
            W = W[:, cols.perm]
        else:
            lay = x.perm_layout()
            if lay is None or lay[-1] != x.rank - 1:
                lay = _ident(x.rank)
        if x.const is not None:
            lay = _ident(x.rank)
        t = self.ir(x, lay)
        if t.shape[-1] != W.shape[1]:
            raise self.err(f"input {x.shape} does not match weights with {W.shape[1]} inputs")
        b = None if bias is None else em.const(np.asarray(bias, np.float32).reshape(units), np.float32,
                                               "bias")
        y = em.fully_connected(t, em.const(W, np.float32, "weights"), b)
        out_lay = _ident(2) if isinstance(lay, Cols) else lay
        v = self.new(y, out_lay, x.shape[:-1] + (units,), {a for a in x.dyn if a != x.rank - 1})
        if x.rank == 2:  # BatchNormalization normalizes axis 1: the units only for 2-D outputs
            v.fold = [(em.g.ops[-1], 1, 2, 0, 0, units)]
        if bias is None and (isinstance(out_lay, Cols) or out_lay[-1] == x.rank - 1):
            v.fc_op = em.g.ops[-1]
        return v

    def _op_Gemm(self, node, ins, at):
        A, B = ins[0], ins[1]
        C = ins[2] if len(ins) > 2 else None
        alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
        ta, tb = int(at.get("transA", 0)), int(at.get("transB", 0))
        if ta:
            A = self._op_Transpose(node, [A], {"perm": [1, 0]})
        if B.const is not None:
            W = np.asarray(B.const, np.float64)
            W = (W if tb else W.T) * alpha
            n = W.shape[0]
            bias, post = None, None
            if C is not None and beta != 0.0:
                if C.const is not None:
                    c = np.asarray(C.const, np.float64) * beta
                    if c.size == 1:
                        bias = np.full(n, c.reshape(-1)[0])
                    elif c.shape in ((n,), (1, n)):
                        bias = c.reshape(n)
                    else:
                        post = c.astype(np.float32)
                else:
                    post = C if beta == 1.0 else self.mul(C, np.float32(beta))
            y = self.fc(A, W.astype(np.float32), None if bias is None else bias.astype(np.float32))
            if post is not None:
                y.fold = None
                y = self.add(y, post)
            return y
        Bv = self._op_Transpose(node, [B], {"perm": [1, 0]}) if tb else B
        y = self._batch_matmul(A, Bv)
        if alpha != 1.0:
            y = self.mul(y, np.float32(alpha))
        if C is not None and beta != 0.0:
            y = self.add(y, C if beta == 1.0 else self.mul(C, np.float32(beta)))
        return y

    def _op_MatMul(self, node, ins, at):
        A, B = ins
        if B.const is not None and B.rank == 2 and A.rank >= 1:
            return self.fc(A, np.asarray(B.const, np.float32).T, None)
        if B.const is not None and B.rank == 1 and A.rank >= 2:
            y = self.fc(A, np.asarray(B.const, np.float32)[None], None)
            y.fold = None
            t = self.ir(y)
            return self.new(self.reshape(t, t.shape[:-1]), _ident(A.rank - 1), A.shape[:-1], y.dyn)
        return self._batch_matmul(A, B)

    def _mm_operand(self, v: Val, rank: int):
        """(IR tensor of rank `rank`, adjoint flag) for a BATCH_MATMUL operand."""
        r = v.rank
        swapped = _ident(r - 2) + (r - 1, r - 2) if r >= 2 else None
        if v.const is None and swapped is not None and v.primary == swapped:
            t, adj = self.ir(v, swapped), True
        else:
            t, adj = self.ir(v), False
        if r < rank:
            t = self.reshape(t, (1,) * (rank - r) + tuple(t.shape))
        return t, adj

    def _batch_matmul(self, A: Val, B: Val) -> Val:
        squeeze_a = squeeze_b = False
        if A.rank == 1:
            A = self._op_Unsqueeze(None, [A], {"axes": [0]})
            squeeze_a = True
        if B.rank == 1:
            B = self._op_Unsqueeze(None, [B], {"axes": [1]})
            squeeze_b = True
        rank = max(A.rank, B.rank)
        ta, adj_a = self._mm_operand(A, rank)
        tb, adj_b = self._mm_operand(B, rank)
        m = A.shape[-2]
        n = B.shape[-1]
        batch = _bshape(ta.shape[:-2], tb.shape[:-2]) if rank > 2 else ()
        y = self.em.op1("BATCH_MATMUL", [ta, tb], list(batch) + [m, n],
                        {"adjX": adj_a, "adjY": adj_b, "asymmetricQuantizeInputs": False})
        static = tuple(int(d) for d in np.broadcast_shapes(A.shape[:-2], B.shape[:-2])) + (m, n)
        dyn = {a + rank - A.rank for a in A.dyn if a < A.rank - 1} | \
            {a + rank - B.rank for a in B.dyn if a < B.rank - 2}
        v = self.new(y, _ident(rank), static, dyn)
        if squeeze_a or squeeze_b:
            axes = ([rank - 2] if squeeze_a else []) + ([rank - 1] if squeeze_b else [])
            v = self._op_Squeeze(None, [v], {"axes": axes})
        return v

    # -- recurrent -----------------------------------------------------------------------------------------
    def _rnn_act(self, t: Tensor, name: str, alpha=None, beta=None) -> Tensor:
        em = self.em
        name = {n.lower(): n for n in ("Sigmoid", "Tanh", "Relu", "HardSigmoid", "LeakyRelu", "Affine",
                                       "ScaledTanh")}.get(name.lower(), name)
        if name == "Sigmoid":
            return em.unary("LOGISTIC", t)
        if name == "Tanh":
            return em.unary("TANH", t)
        if name == "Relu":
            return em.unary("RELU", t)
        if name == "HardSigmoid":
            a = 0.2 if alpha is None else alpha
            b = 0.5 if beta is None else beta
            y = em.add(em.mul(t, np.float32(6 * a)), np.float32(6 * b))
            return em.mul(em.unary("RELU6", y), np.float32(1 / 6))
        if name == "LeakyRelu":
            return em.unary("LEAKY_RELU", t, {"alpha": float(0.01 if alpha is None else alpha)})
        if name == "Affine":
            return em.add(em.mul(t, np.float32(alpha)), np.float32(beta))
        if name == "ScaledTanh":
            return em.mul(em.unary("TANH", em.mul(t, np.float32(beta))), np.float32(alpha))
        raise self.err(f"recurrent activation {name!r} is not supported")

    def _rnn_setup(self, node, ins, at, ngates, default_acts):
        X = ins[0]
        W = np.asarray(self.const_of(ins[1], "W"), np.float32)
        R = np.asarray(self.const_of(ins[2], "R"), np.float32)
        direction = at.get("direction", "forward")
        D = 2 if direction == "bidirectional" else 1
        H = int(at.get("hidden_size", R.shape[-1]))
        B = ins[3] if len(ins) > 3 else None
        B = np.zeros((D, 2 * ngates * H), np.float32) if B is None else \
            np.asarray(self.const_of(B, "B"), np.float32)
        seq = ins[4] if len(ins) > 4 else None
        layout = int(at.get("layout", 0))
        time_axis = 0 if layout == 0 else 1
        T = X.shape[time_axis]
        if time_axis in X.dyn:
            raise self.err("a dynamic sequence length is not supported (recurrent ops are unrolled)")
        if seq is not None:
            lens = np.asarray(self.const_of(seq, "sequence_lens")).reshape(-1)
            if np.any(lens != T):
                raise self.err("sequence_lens shorter than the sequence are not supported")
        acts = list(at.get("activations", default_acts * D))
        alphas = list(at.get("activation_alpha", []))
        betas = list(at.get("activation_beta", []))
        params = []
        for a in acts:
            if a in ("HardSigmoid", "LeakyRelu", "Affine", "ScaledTanh", "Elu", "ThresholdedRelu"):
                has_beta = a in ("HardSigmoid", "Affine", "ScaledTanh")
                params.append((alphas.pop(0) if alphas else None,
                               betas.pop(0) if betas and has_beta else None))
            else:
                params.append((None, None))
        if len(acts) != len(default_acts) * D:
            raise self.err(f"expected {len(default_acts) * D} activations, got {len(acts)}")
        clip = at.get("clip")
        # torch's batch_first LSTMs transpose (N, T, I) -> (T, N, I) before the op: use the untransposed
        # tensor and run over its axis 1 rather than emitting the TRANSPOSE
        swap = (1, 0, 2)
        if swap in X.forms and (X.primary == swap or _ident(3) not in X.forms):
            x_t, ir_time = X.forms[swap], 1 - time_axis
        else:
            x_t, ir_time = self.ir(X), time_axis
        if x_t.dtype != np.float32:
            raise self.err("recurrent ops need float inputs")

        def states(v):
            if v is None:
                return [None] * D
            if v.const is not None and not np.any(v.const):
                return [None] * D
            t = self.ir(v)  # (D, N, H) or (N, D, H)
            if D == 1:
                return [self.reshape(t, (t.shape[1 - layout] if layout else t.shape[1], H))]
            parts = self.em.unpack(t, axis=0 if layout == 0 else 1)
            return parts
        return {"X": X, "x_t": x_t, "W": W, "R": R, "B": B, "D": D, "H": H, "T": T, "layout": layout,
                "time_axis": ir_time, "acts": acts, "params": params, "clip": clip, "states": states,
                "direction": direction}

    def _rnn_steps_input(self, s, d, Wd, bias):
        """Per-step input projections (N, G*H) for direction d."""
        em = self.em
        xw = em.fully_connected(s["x_t"], em.const(Wd, np.float32, "W"), em.const(bias, np.float32, "B"))
        ta = s["time_axis"]
        if s["T"] == 1:
            shape = [d_ for i, d_ in enumerate(xw.shape) if i != ta]
            return [self.reshape(xw, shape)]
        return em.unpack(xw, axis=ta)

    def _clip(self, t, clip):
        if clip is None:
            return t
        em = self.em
        return em.binary("MINIMUM", em.binary("MAXIMUM", t, np.float32(-clip)), np.float32(clip))

    def _rnn_outputs(self, node, s, per_dir_h, last_h, last_c=None):
        """Y, Y_h, Y_c values from the per-direction hidden states (time order). They are built batch-major
        in the IR when the input tensor is (then the ONNX values get the matching permutation layouts)."""
        em = self.em
        layout, D, H, T = s["layout"], s["D"], s["H"], s["T"]
        X = s["X"]
        bm = s["time_axis"] == 1  # IR batch-major
        onnx_batch = 1 if layout == 0 else 0
        n_static = X.shape[onnx_batch]
        dyn_b = onnx_batch in X.dyn
        nb = -1 if dyn_b else n_static
        outs = [None, None, None]
        names = list(node.output) + [""] * 3
        if names[0] and self.uses.get(names[0]):
            ys = []
            for hs in per_dir_h:
                if T == 1:
                    ys.append(self.reshape(hs[0], [nb, 1, H] if bm else [1, nb, H]))
                else:
                    ys.append(em.pack(hs, axis=1 if bm else 0))
            if D == 1:
                y = self.reshape(ys[0], (nb, T, 1, H) if bm else (T, 1, nb, H))
            else:
                y = em.pack(ys, axis=2 if bm else 1)
            # IR (N, T, D, H) if bm else (T, D, N, H)
            if layout == 0:
                static, lay, dyn = (T, D, n_static, H), ((2, 0, 1, 3) if bm else _ident(4)), {2}
            else:
                static, lay, dyn = (n_static, T, D, H), (_ident(4) if bm else (1, 2, 0, 3)), {0}
            outs[0] = self.new(y, lay, static, dyn if dyn_b else set())
        for k, last in ((1, last_h), (2, last_c)):
            if last is None or not (names[k] and self.uses.get(names[k])):
                continue
            if D == 1:
                y = self.reshape(last[0], (nb, 1, H) if bm else (1, nb, H))
            else:
                y = em.pack(last, axis=1 if bm else 0)
            # IR (N, D, H) if bm else (D, N, H)
            if layout == 0:
                static, lay, dyn = (D, n_static, H), ((1, 0, 2) if bm else _ident(3)), {1}
            else:
                static, lay, dyn = (n_static, D, H), (_ident(3) if bm else (1, 0, 2)), {0}
            outs[k] = self.new(y, lay, static, dyn if dyn_b else set())
        return outs

    def _op_LSTM(self, node, ins, at):
        s = self._rnn_setup(node, ins, at, 4, ["Sigmoid", "Tanh", "Tanh"])
        em = self.em
        D, H = s["D"], s["H"]
        P = ins[7] if len(ins) > 7 else None
        P = None if P is None else np.asarray(self.const_of(P, "P"), np.float32)
        h0 = s["states"](ins[5] if len(ins) > 5 else None)
        c0 = s["states"](ins[6] if len(ins) > 6 else None)
        input_forget = int(at.get("input_forget", 0))
        per_dir, last_h, last_c = [], [], []
        for d in range(D):
            reverse = s["direction"] == "reverse" or d == 1
            bias = s["B"][d, :4 * H] + s["B"][d, 4 * H:]
            xs = self._rnn_steps_input(s, d, s["W"][d], bias)
            rw = em.const(s["R"][d], np.float32, "R")
            fa, ga, ha = s["acts"][3 * d:3 * d + 3]
            fp, gp, hp = s["params"][3 * d:3 * d + 3]
            pi = po = pf = None
            if P is not None and np.any(P[d]):
                pi, po, pf = (em.const(P[d, k * H:(k + 1) * H], np.float32, f"P{k}") for k in range(3))
            h, c = h0[d], c0[d]
            hs = []
            for t in (range(s["T"] - 1, -1, -1) if reverse else range(s["T"])):
                z = xs[t] if h is None else em.add(xs[t], em.fully_connected(h, rw, None))
                zi, zo, zf, zc = em.split(z, 4, axis=1)
                if pi is not None and c is not None:
                    zi = em.add(zi, em.mul(c, pi))
                    zf = em.add(zf, em.mul(c, pf))
                i = self._rnn_act(self._clip(zi, s["clip"]), fa, *fp)
                g = self._rnn_act(self._clip(zc, s["clip"]), ga, *gp)
                if input_forget:
                    f = em.binary("SUB", np.float32(1.0), i)
                else:
                    f = self._rnn_act(self._clip(zf, s["clip"]), fa, *fp)
                c = em.mul(i, g) if c is None else em.add(em.mul(f, c), em.mul(i, g))
                if po is not None:
                    zo = em.add(zo, em.mul(c, po))
                o = self._rnn_act(self._clip(zo, s["clip"]), fa, *fp)
                h = em.mul(o, self._rnn_act(c, ha, *hp))
                hs.append(h)
            if reverse:
                hs = hs[::-1]
            per_dir.append(hs)
            last_h.append(h)
            last_c.append(c)
        return self._rnn_outputs(node, s, per_dir, last_h, last_c)

    def _op_GRU(self, node, ins, at):
        s = self._rnn_setup(node, ins, at, 3, ["Sigmoid", "Tanh"])
        em = self.em
        D, H = s["D"], s["H"]
        lbr = int(at.get("linear_before_reset", 0))
        h0 = s["states"](ins[5] if len(ins) > 5 else None)
        per_dir, last_h = [], []
        for d in range(D):
            reverse = s["direction"] == "reverse" or d == 1
            wb, rb = s["B"][d, :3 * H], s["B"][d, 3 * H:]
            bias = wb + np.concatenate([rb[:2 * H], np.zeros(H, np.float32) if lbr else rb[2 * H:]])
            xs = self._rnn_steps_input(s, d, s["W"][d], bias)
            R = s["R"][d]
            rzr = em.const(R[:2 * H], np.float32, "R_zr")
            rh = em.const(R[2 * H:], np.float32, "R_h")
            rbh = em.const(rb[2 * H:], np.float32, "Rb_h")
            fa, ga = s["acts"][2 * d:2 * d + 2]
            fp, gp = s["params"][2 * d:2 * d + 2]
            h = h0[d]
            hs = []
            for t in (range(s["T"] - 1, -1, -1) if reverse else range(s["T"])):
                xz, xr, xh = em.split(xs[t], 3, axis=1)
                if h is None:
                    z = self._rnn_act(self._clip(xz, s["clip"]), fa, *fp)
                    if lbr:
                        r = self._rnn_act(self._clip(xr, s["clip"]), fa, *fp)
                        pre = em.add(xh, em.mul(r, rbh))
                    else:
                        pre = xh
                    ht = self._rnn_act(self._clip(pre, s["clip"]), ga, *gp)
                    h = em.sub(ht, em.mul(z, ht))
                else:
                    hz, hr = em.split(em.fully_connected(h, rzr, None), 2, axis=1)
                    z = self._rnn_act(self._clip(em.add(xz, hz), s["clip"]), fa, *fp)
                    r = self._rnn_act(self._clip(em.add(xr, hr), s["clip"]), fa, *fp)
                    if lbr:
                        pre = em.add(xh, em.mul(r, em.fully_connected(h, rh, rbh)))
                    else:
                        pre = em.add(xh, em.fully_connected(em.mul(r, h), rh, None))
                    ht = self._rnn_act(self._clip(pre, s["clip"]), ga, *gp)
                    h = em.add(ht, em.mul(z, em.sub(h, ht)))
                hs.append(h)
            if reverse:
                hs = hs[::-1]
            per_dir.append(hs)
            last_h.append(h)
        return self._rnn_outputs(node, s, per_dir, last_h)[:2]

    def _op_RNN(self, node, ins, at):
        s = self._rnn_setup(node, ins, at, 1, ["Tanh"])
        em = self.em
        D, H = s["D"], s["H"]
        h0 = s["states"](ins[5] if len(ins) > 5 else None)
        per_dir, last_h = [], []
        for d in range(D):
            reverse = s["direction"] == "reverse" or d == 1
            bias = s["B"][d, :H] + s["B"][d, H:]
            xs = self._rnn_steps_input(s, d, s["W"][d], bias)
            rw = em.const(s["R"][d], np.float32, "R")
            fa, fp = s["acts"][d], s["params"][d]
            h = h0[d]
            hs = []
            for t in (range(s["T"] - 1, -1, -1) if reverse else range(s["T"])):
                z = xs[t] if h is None else em.add(xs[t], em.fully_connected(h, rw, None))
                h = self._rnn_act(self._clip(z, s["clip"]), fa, *fp)
                hs.append(h)
            if reverse:
                hs = hs[::-1]
            per_dir.append(hs)
            last_h.append(h)
        return self._rnn_outputs(node, s, per_dir, last_h)[:2]


def _reshape_groups(src, dst):
    """Pair consecutive axes of two shapes of equal size into groups with equal products:
    [(src axes, dst axes), ...], or None."""
    i = j = 0
    groups = []
    while i < len(src) or j < len(dst):
        gi, gj, ps, pd = [], [], 1, 1
        if i < len(src):
            gi.append(i)
            ps *= src[i]
            i += 1
        if j < len(dst):
            gj.append(j)
            pd *= dst[j]
            j += 1
        while ps != pd:
            if ps < pd:
                if i >= len(src):
                    return None
                gi.append(i)
                ps *= src[i]
                i += 1
            else:
                if j >= len(dst):
                    return None
                gj.append(j)
                pd *= dst[j]
                j += 1
        groups.append((gi, gj))
    return groups


def _tfl_nearest(n_in, n_out, align_corners, half_pixel):
    """TFLite's RESIZE_NEAREST_NEIGHBOR source index per output position."""
    if align_corners and n_out > 1:
        scale = np.float32((n_in - 1) / (n_out - 1))
    else:
        scale = np.float32(n_in / n_out)
    offset = np.float32(0.5 if half_pixel else 0.0)
    o = np.arange(n_out, dtype=np.float32)
    v = (o + offset) * scale
    # TfLiteRound rounds half away from zero
    idx = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)) if align_corners else np.floor(v)
    idx = np.minimum(idx, n_in - 1)
    if half_pixel:
        idx = np.maximum(idx, 0)
    return idx.astype(np.int64)
