"""The ONNX frontend's driver: load() and fix_inputs(), and _Lowering, which walks the graph's nodes
(_lower), keeps the value table (ONNX name -> Val), makes IR tensors of values in the layouts asked for
(ir, permute, reshape), binds graph inputs and outputs, and provides the layout-generic elementwise
helpers (pick_layout, ew, unary, add, sub, mul, div) the op families use. The _op_<Type> methods come
from the mixins of the family modules (see the package docstring)."""
from __future__ import annotations

import os

import numpy as np
from edgerun.converter.frontends.onnx.bitwise import BitwiseMixin
from edgerun.converter.frontends.onnx.control_flow import ControlFlowMixin
from edgerun.converter.frontends.onnx.conv import ConvPoolMixin
from edgerun.converter.frontends.onnx.dense import DenseMixin
from edgerun.converter.frontends.onnx.detection import DetectionMixin
from edgerun.converter.frontends.onnx.einsum import EinsumMixin
from edgerun.converter.frontends.onnx.elementwise import ElementwiseMixin
from edgerun.converter.frontends.onnx.folding import _NO_FOLD, FoldingMixin
from edgerun.converter.frontends.onnx.indexing import IndexingMixin
from edgerun.converter.frontends.onnx.layout import (
    _FLOAT_TYPES,
    _PLAIN_DTYPES,
    Cols,
    Val,
    _attr,
    _bshape,
    _cl,
    _Emitter,
    _ident,
    _is_perm,
    _np_float,
    _onnx,
    _strip_leading_ones,
    _to_layout,
)
from edgerun.converter.frontends.onnx.normalization import NormalizationMixin
from edgerun.converter.frontends.onnx.recurrent import RecurrentMixin
from edgerun.converter.frontends.onnx.reductions import ReductionsMixin
from edgerun.converter.frontends.onnx.shapes import ShapesMixin
from edgerun.converter.ir import Graph, Tensor

from edgerun.errors import ConversionError

__all__ = ["fix_inputs", "load"]


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
        if bytes(source[4:8]) == b"TFL3":
            raise ConversionError("the bytes are a TFLite model (file identifier TFL3), not an ONNX model: "
                                  "nothing to convert, run it with edgerun.Interpreter(model_content=...)")
        try:
            model = onnx.load_from_string(bytes(source))
        except Exception as exc:  # noqa: BLE001
            raise ConversionError(f"cannot parse ONNX model bytes: {type(exc).__name__}: {exc}") from None
        if not model.HasField("graph"):
            raise ConversionError(f"the {len(source)} bytes are not an ONNX model (no graph in them)")
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


class _Lowering(ElementwiseMixin, ShapesMixin, ReductionsMixin, NormalizationMixin, ConvPoolMixin, DenseMixin, RecurrentMixin, ControlFlowMixin, IndexingMixin, EinsumMixin, DetectionMixin, BitwiseMixin, FoldingMixin):
    """ONNX model -> IR Graph. Driver state and helpers here; op lowerings in the family mixins."""

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

    def dynamic_inputs_hint(self) -> str:
        """'' or, when graph inputs have dynamic dimensions (computed as 1 while converting), a sentence naming
        them and the option that fixes them: appended to errors that a real size would avoid."""
        inits = {t.name for t in self.model.graph.initializer}
        dyn = []
        for vi in self.model.graph.input:
            dims = vi.type.tensor_type.shape.dim if vi.type.HasField("tensor_type") else []
            if vi.name in inits or not any(not (d.HasField("dim_value") and d.dim_value > 0) for d in dims):
                continue
            shown = ", ".join(str(d.dim_value) if d.HasField("dim_value")
                              else repr(d.dim_param) if d.dim_param else "?" for d in dims)
            dyn.append(f"{vi.name!r} [{shown}]")
        if not dyn:
            return ""
        return (f"; the model's input{'s' if len(dyn) > 1 else ''} {', '.join(dyn)} "
                f"{'have' if len(dyn) > 1 else 'has'} dynamic dimensions, computed as 1 here: fix their sizes with "
                f"convert(..., input_shapes={{name: (...)}}) or the CLI's --input-shape NAME=D,D,...")

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
        nodes = self._fuse_patterns(list(graph.node))
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
        if t.is_const or any(t is i for i in self.g.inputs) or any(t is o for o in done) or len(t.shape) != v.rank:
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
                # over 0-d values a 0-d constant: a (1,) one would make the result 1-D
                ins.append(self.g.const(self.em._name("const"), arr.reshape(())) if rank == 0 else
                           self.cconst(arr, name="const"))
            elif v.rank == rank:
                ins.append(self.ir(v, layout))
            else:
                t = self.ir(v)  # (a 0-d value's tensor may be 1-D (1,): its rank is v.rank's)
                t = self.reshape(t, (1,) * (rank - v.rank) + tuple(t.shape)[len(t.shape) - v.rank:])
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
