"""SavedModel -> IR through its serving signature (uses TensorFlow).

The signature function is re-traced with the batch dimension fixed to 1, its variables frozen into
constants and its calls inlined, so every tensor has a static shape. Then each GraphDef node is lowered to
TFLite ops; nodes whose inputs are all constant (weights arithmetic, shape computations) are evaluated with
TensorFlow itself. Data layout is TensorFlow's NHWC. A node type with no lowering raises ConversionError
naming the node and its type."""
from __future__ import annotations

import os
import re

import numpy as np
from edgerun.converter.frontends import Emitter
from edgerun.converter.ir import SAME, VALID, Graph, Tensor

from edgerun.errors import ConversionError

_PASS_THROUGH = {"Identity", "StopGradient", "Snapshot", "PreventGradient", "EnsureShape", "CheckNumerics"}
_BINARY = {"Add": "ADD", "AddV2": "ADD", "BiasAdd": "ADD", "Sub": "SUB", "Mul": "MUL", "RealDiv": "DIV",
           "Div": "DIV", "Maximum": "MAXIMUM", "Minimum": "MINIMUM", "SquaredDifference": "SQUARED_DIFFERENCE",
           "Pow": "POW", "FloorDiv": "FLOOR_DIV", "FloorMod": "FLOOR_MOD"}
_COMPARE = {"Greater": "GREATER", "GreaterEqual": "GREATER_EQUAL", "Less": "LESS", "LessEqual": "LESS_EQUAL",
            "Equal": "EQUAL", "NotEqual": "NOT_EQUAL"}
_UNARY = {"Relu": "RELU", "Relu6": "RELU6", "Elu": "ELU", "Sigmoid": "LOGISTIC", "Tanh": "TANH", "Exp": "EXP",
          "Log": "LOG", "Sqrt": "SQRT", "Rsqrt": "RSQRT", "Square": "SQUARE", "Abs": "ABS", "Neg": "NEG",
          "Floor": "FLOOR", "Ceil": "CEIL", "Sin": "SIN", "Cos": "COS", "Round": "ROUND", "Sign": "SIGN"}
_CONTROL_FLOW = {"Enter", "Exit", "Merge", "Switch", "NextIteration", "LoopCond", "While", "StatelessWhile", "If",
                 "StatelessIf", "TensorListReserve", "TensorListFromTensor"}
_REDUCE = {"Mean": "MEAN", "Sum": "SUM", "Max": "REDUCE_MAX", "Min": "REDUCE_MIN", "Prod": "REDUCE_PROD"}


def _tensorflow():
    """TensorFlow, imported quietly (its C++ logging below errors off unless the user set a level)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise ConversionError(f"converting a SavedModel needs TensorFlow ({exc}): pip install 'edgerun[tensorflow]'"
                              ) from None
    return tf


def load(path: str, signature_key: str = "serving_default") -> Graph:
    tf = _tensorflow()
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    path = os.fspath(path)
    try:
        obj = tf.saved_model.load(path)
    except Exception as exc:  # noqa: BLE001
        raise ConversionError(f"cannot load SavedModel {path!r}: {type(exc).__name__}: {exc}") from None
    sigs = dict(obj.signatures)
    if signature_key not in sigs:
        if len(sigs) != 1:
            raise ConversionError(f"SavedModel {path!r} has no signature {signature_key!r} (has {sorted(sigs)})")
        signature_key = next(iter(sigs))
    fn = sigs[signature_key]
    args, specs = fn.structured_input_signature
    if args:
        raise ConversionError("signatures with positional inputs are not supported")
    fixed = {}
    # inputs in sorted name order (the signature's map order; loading does not keep a stable dict order)
    for name, spec in sorted(specs.items()):
        shape = list(spec.shape)
        if shape and shape[0] is None:
            shape[0] = 1
        if any(d is None for d in shape):
            raise ConversionError(f"signature input {name!r} has shape {spec.shape}: only the batch dimension may "
                                  "be unknown")
        fixed[name] = tf.TensorSpec(shape, spec.dtype, name=name)
    wrapper = tf.function(lambda **kw: fn(**kw)).get_concrete_function(**fixed)
    frozen = convert_variables_to_constants_v2(wrapper)
    outputs = wrapper.structured_outputs
    if isinstance(outputs, dict):
        out_names = sorted(outputs)  # tf.nest flattens dicts in sorted key order
    else:
        out_names = [f"output_{i}" for i in range(len(frozen.outputs))]
    placeholders = {op.name: op for op in frozen.graph.get_operations() if op.type == "Placeholder"}
    in_names = list(fixed)
    return _Lowering(frozen.graph).run(placeholders, in_names, list(frozen.outputs), out_names)


def _short(name: str) -> str:
    return re.sub(r"^(StatefulPartitionedCall/|Func/|PartitionedCall/)+", "", name)


class _Lowering:
    def __init__(self, tf_graph):
        import tensorflow as tf

        self.tf = tf
        self.tfg = tf_graph
        self.g = Graph(name="main")
        self.em = Emitter(self.g)
        self.values: dict = {}  # tf tensor name -> IR Tensor
        self.consts: dict = {}  # tf tensor name -> numpy value
        self._sess = None

    # -- driver --------------------------------------------------------------------------------------
    def run(self, placeholders, in_names, out_tensors, out_names) -> Graph:
        for name in in_names:
            op = placeholders.get(name) or next((p for n, p in placeholders.items() if n.startswith(name)), None)
            if op is None:
                raise ConversionError(f"signature input {name!r} not found in the graph")
            t = op.outputs[0]
            self.values[t.name] = self.g.input(name, tuple(t.shape), t.dtype.as_numpy_dtype)
        for op in self.tfg.get_operations():
            if op.type in ("Placeholder", "NoOp") or not op.outputs:
                continue
            self.em.scope = _short(op.name)
            if op.type == "Const":
                self.consts[op.outputs[0].name] = self.tf.make_ndarray(op.get_attr("value"))
                continue
            if op.type in _PASS_THROUGH or op.type == "IdentityN":
                for i, o in zip(op.inputs, op.outputs):
                    self._alias(o.name, i.name)
                continue
            if self._fold(op):
                continue
            fn = getattr(self, "_op_" + op.type, None)
            if fn is None:
                hint = ""
                if op.type in _CONTROL_FLOW:
                    hint = (": control flow (a loop, e.g. a Keras recurrent layer) is not supported in SavedModels;"
                            " convert the Keras model or its .keras file instead, where recurrent layers are unrolled")
                raise ConversionError(f"TensorFlow node {op.name!r} ({op.type}) is not supported by the converter"
                                      + hint)
            outs = fn(op)
            outs = outs if isinstance(outs, (list, tuple)) else [outs]
            for o, t in zip(op.outputs, outs):
                want = tuple(o.shape)
                if t.shape != want:
                    raise ConversionError(f"TensorFlow node {op.name!r} ({op.type}): converted shape {t.shape} "
                                          f"!= {want}")
                self.values[o.name] = t
        final = []
        for t, name in zip(out_tensors, out_names):
            ir = self._tensor(t.name)
            if ir.is_const or any(ir is x for x in final) or any(ir is x for x in self.g.inputs):
                self.em.scope = name
                ir = self.em.op1("RESHAPE", [ir, self.em.const(np.array(ir.shape, np.int32), np.int32, "shape")],
                                 ir.shape, {"newShape": list(ir.shape)})
            ir.name = name
            final.append(ir)
        self.g.outputs = final
        self.g.input_names, self.g.output_names = list(in_names), list(out_names)
        return self.g

    def _alias(self, dst, src):
        if src in self.consts:
            self.consts[dst] = self.consts[src]
        elif src in self.values:
            self.values[dst] = self.values[src]

    def _fold(self, op) -> bool:
        """Evaluate a node whose inputs are all constant (or a shape query of a static shape)."""
        if op.type in ("Shape", "Size", "Rank") and all(o.shape.is_fully_defined() for o in op.inputs):
            shape = [int(d) for d in op.inputs[0].shape]
            v = {"Shape": np.array(shape), "Size": np.array(int(np.prod(shape))), "Rank": np.array(len(shape))}[op.type]
            self.consts[op.outputs[0].name] = v.astype(op.outputs[0].dtype.as_numpy_dtype)
            return True
        if not all(i.name in self.consts for i in op.inputs) or op.op_def.is_stateful:
            return False
        if self._sess is None:
            self._sess = self.tf.compat.v1.Session(graph=self.tfg)
        feed = {i.name: self.consts[i.name] for i in op.inputs}
        try:
            vals = self._sess.run(list(op.outputs), feed_dict=feed)
        except Exception:  # noqa: BLE001 - left to the lowering, which names the node if unsupported
            return False
        for o, v in zip(op.outputs, vals):
            self.consts[o.name] = np.asarray(v)
        return True

    # -- helpers -------------------------------------------------------------------------------------
    def _tensor(self, name) -> Tensor:
        if name in self.values:
            return self.values[name]
        if name in self.consts:
            v = self.consts[name]
            if v.dtype == np.float64:
                v = v.astype(np.float32)
            t = self.em.g.const(_short(name.split(":")[0]), np.ascontiguousarray(v))
            self.values[name] = t
            return t
        raise ConversionError(f"TensorFlow tensor {name!r} has no value (unsupported producer)")

    def _in(self, op, i) -> Tensor:
        return self._tensor(op.inputs[i].name)

    def _const(self, op, i, what="input") -> np.ndarray:
        name = op.inputs[i].name
        if name not in self.consts:
            raise ConversionError(f"TensorFlow node {op.name!r} ({op.type}): {what} (input {i}) must be constant")
        return self.consts[name]

    def _attr(self, op, name, default=None):
        try:
            v = op.get_attr(name)
        except ValueError:
            return default
        return v.decode() if isinstance(v, bytes) else v

    def _nhwc(self, op):
        fmt = self._attr(op, "data_format", "NHWC")
        if fmt not in ("NHWC", "NWC"):
            raise ConversionError(f"TensorFlow node {op.name!r} ({op.type}): data_format {fmt} is not supported")

    def _padding(self, op, x, kernel_hw, strides, dilations):
        pad = self._attr(op, "padding")
        if pad == "SAME":
            return SAME, x
        if pad == "VALID":
            return VALID, x
        if pad == "EXPLICIT":
            p = list(self._attr(op, "explicit_paddings"))
            return VALID, self.em.pad(x, np.array(p).reshape(4, 2))
        raise ConversionError(f"TensorFlow node {op.name!r} ({op.type}): padding {pad} is not supported")

    # -- ops -----------------------------------------------------------------------------------------
    def _op_Conv2D(self, op):
        self._nhwc(op)
        x = self._in(op, 0)
        k = self._const(op, 1, "filter").astype(np.float32)  # HWIO
        s, d = self._attr(op, "strides"), self._attr(op, "dilations")
        pad, x = self._padding(op, x, k.shape[:2], s, d)
        w = np.ascontiguousarray(np.transpose(k, (3, 0, 1, 2)))
        return self.em.conv2d(x, self.em.const(w, name="filter"), None, (s[1], s[2]), (d[1], d[2]), pad)

    def _op_DepthwiseConv2dNative(self, op):
        self._nhwc(op)
        x = self._in(op, 0)
        k = self._const(op, 1, "filter").astype(np.float32)  # (kh, kw, C, M)
        s, d = self._attr(op, "strides"), self._attr(op, "dilations")
        pad, x = self._padding(op, x, k.shape[:2], s, d)
        kh, kw, c, m = k.shape
        return self.em.depthwise_conv2d(x, self.em.const(k.reshape(1, kh, kw, c * m), name="filter"), None, m,
                                        (s[1], s[2]), (d[1], d[2]), pad)

    def _op_Conv2DBackpropInput(self, op):
        self._nhwc(op)
        sizes = [int(v) for v in self._const(op, 0, "input_sizes")]
        k = self._const(op, 1, "filter").astype(np.float32)  # (kh, kw, out, in)
        x = self._in(op, 2)
        s, d = self._attr(op, "strides"), self._attr(op, "dilations")
        if list(d) != [1, 1, 1, 1]:
            raise ConversionError(f"TensorFlow node {op.name!r} (Conv2DBackpropInput): dilations are not supported")
        pad = self._attr(op, "padding")
        if pad not in ("SAME", "VALID"):
            raise ConversionError(f"TensorFlow node {op.name!r} (Conv2DBackpropInput): padding {pad}")
        w = np.ascontiguousarray(np.transpose(k, (2, 0, 1, 3)))
        return self.em.transpose_conv(x, self.em.const(w, name="filter"), None, sizes[1:3], (s[1], s[2]),
                                      SAME if pad == "SAME" else VALID)

    def _op_MatMul(self, op):
        a, ta, tb = self._in(op, 0), self._attr(op, "transpose_a"), self._attr(op, "transpose_b")
        if op.inputs[1].name in self.consts and not ta:
            w = self._const(op, 1).astype(np.float32)
            w = w if tb else w.T  # FULLY_CONNECTED wants (units, in)
            return self.em.fully_connected(a, self.em.const(np.ascontiguousarray(w), name="weights"), None)
        return self.em.batch_matmul(a, self._in(op, 1), adj_x=ta, adj_y=tb)

    def _op_BatchMatMulV2(self, op):
        return self.em.batch_matmul(self._in(op, 0), self._in(op, 1), self._attr(op, "adj_x"), self._attr(op, "adj_y"))

    _op_BatchMatMulV3 = _op_BatchMatMulV2
    _op_BatchMatMul = _op_BatchMatMulV2

    def _binary(self, op):
        a, b = self._in(op, 0), self._in(op, 1)
        if op.type == "BiasAdd":
            self._nhwc(op)
        if op.type == "Div" and a.dtype.kind != "f":
            return self.em.binary("FLOOR_DIV", a, b)
        return self.em.binary(_BINARY[op.type], a, b)

    def _compare(self, op):
        return self.em.compare(_COMPARE[op.type], self._in(op, 0), self._in(op, 1))

    def _unary(self, op):
        return self.em.unary(_UNARY[op.type], self._in(op, 0))

    def _reduce(self, op):
        axes = np.asarray(self._const(op, 1, "axes")).reshape(-1)
        x = self._in(op, 0)
        if axes.size == 0:
            return x
        return self.em.reduce(_REDUCE[op.type], x, axes, bool(self._attr(op, "keep_dims", False)))

    def _op_LeakyRelu(self, op):
        return self.em.unary("LEAKY_RELU", self._in(op, 0), {"alpha": float(self._attr(op, "alpha"))})

    def _op_Selu(self, op):
        em, x = self.em, self._in(op, 0)
        alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
        neg = em.sub(em.unary("EXP", em.binary("MINIMUM", x, np.float32(0))), np.float32(1))
        return em.mul(em.add(em.unary("RELU", x), em.mul(neg, np.float32(alpha))), np.float32(scale))

    def _op_Softplus(self, op):
        em, x = self.em, self._in(op, 0)
        t = em.unary("LOG", em.add(em.unary("EXP", em.unary("NEG", em.unary("ABS", x))), np.float32(1)))
        return em.add(em.unary("RELU", x), t)

    def _op_Softsign(self, op):
        em, x = self.em, self._in(op, 0)
        return em.div(x, em.add(em.unary("ABS", x), np.float32(1)))

    def _erfc_parts(self, z):
        """(q, sign(z)) with q = erfc(|z|) by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7): TFLite has no
        erf; Keras' exact GELU reaches TensorFlow as x/2 * erfc(-x/sqrt(2))."""
        em = self.em
        a = em.unary("ABS", z)
        t = em.div(np.float32(1.0), em.add(em.mul(a, np.float32(0.3275911)), np.float32(1.0)))
        poly = em.const(np.float32(1.061405429), np.float32, "a5")
        poly = em.mul(poly, t)
        for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
            poly = em.mul(em.add(poly, np.float32(c)), t)
        q = em.mul(poly, em.unary("EXP", em.unary("NEG", em.mul(z, z))))
        return q, em.unary("SIGN", z)

    def _op_Erfc(self, op):
        q, s = self._erfc_parts(self._in(op, 0))
        return self.em.add(self.em.mul(s, self.em.sub(q, np.float32(1.0))), np.float32(1.0))

    def _op_Erf(self, op):
        q, s = self._erfc_parts(self._in(op, 0))
        return self.em.mul(s, self.em.sub(np.float32(1.0), q))

    def _op_Softmax(self, op):
        return self.em.softmax(self._in(op, 0))

    def _op_LogSoftmax(self, op):
        return self.em.softmax(self._in(op, 0), log=True)

    def _op_Gelu(self, op):
        return self.em.unary("GELU", self._in(op, 0), {"approximate": bool(self._attr(op, "approximate", False))})

    def _pool(self, op, type):
        self._nhwc(op)
        k, s, pad = self._attr(op, "ksize"), self._attr(op, "strides"), self._attr(op, "padding")
        if k[0] != 1 or k[3] != 1 or s[0] != 1 or s[3] != 1:
            raise ConversionError(f"TensorFlow node {op.name!r} ({op.type}): pooling over batch/channels")
        return self.em.pool2d(type, self._in(op, 0), (k[1], k[2]), (s[1], s[2]), SAME if pad == "SAME" else VALID)

    def _op_MaxPool(self, op):
        return self._pool(op, "MAX_POOL_2D")

    def _op_AvgPool(self, op):
        return self._pool(op, "AVERAGE_POOL_2D")

    def _op_FusedBatchNormV3(self, op):
        if self._attr(op, "is_training"):
            raise ConversionError(f"TensorFlow node {op.name!r} ({op.type}): training-mode batch norm")
        self._nhwc(op)
        x = self._in(op, 0)
        scale, offset, mean, var = (self._const(op, i).astype(np.float64) for i in range(1, 5))
        inv = scale / np.sqrt(var + float(self._attr(op, "epsilon")))
        y = self.em.mul(x, self.em.const(inv.astype(np.float32), name="scale"))
        return [self.em.add(y, self.em.const((offset - mean * inv).astype(np.float32), name="offset"))]

    _op_FusedBatchNorm = _op_FusedBatchNormV3
    _op_FusedBatchNormV2 = _op_FusedBatchNormV3

    def _op_Reshape(self, op):
        return self.em.reshape(self._in(op, 0), tuple(op.outputs[0].shape))

    _op_Squeeze = _op_Reshape

    def _op_ExpandDims(self, op):
        return self.em.reshape(self._in(op, 0), tuple(op.outputs[0].shape))

    def _op_Transpose(self, op):
        return self.em.transpose(self._in(op, 0), self._const(op, 1, "perm"))

    def _op_ConcatV2(self, op):
        axis = int(self._const(op, len(op.inputs) - 1, "axis"))
        return self.em.concat([self._in(op, i) for i in range(len(op.inputs) - 1)], axis)

    def _op_Pack(self, op):
        return self.em.pack([self._in(op, i) for i in range(len(op.inputs))], int(self._attr(op, "axis")))

    def _op_Unpack(self, op):
        return self.em.unpack(self._in(op, 0), int(self._attr(op, "axis")))

    def _op_Split(self, op):
        return self.em.split(self._in(op, 1), int(self._attr(op, "num_split")), int(self._const(op, 0, "axis")))

    def _op_Slice(self, op):
        begin = [int(v) for v in self._const(op, 1, "begin")]
        return self.em.slice(self._in(op, 0), begin, list(op.outputs[0].shape))

    def _op_StridedSlice(self, op):
        x = self._in(op, 0)
        em = self.em
        b, e, s = (np.asarray(self._const(op, i), np.int32) for i in (1, 2, 3))
        opts = {k: int(self._attr(op, m)) for k, m in (("beginMask", "begin_mask"), ("endMask", "end_mask"),
                                                        ("ellipsisMask", "ellipsis_mask"),
                                                        ("newAxisMask", "new_axis_mask"),
                                                        ("shrinkAxisMask", "shrink_axis_mask"))}
        return em.op1("STRIDED_SLICE", [x, em.const(b, np.int32, "begin"), em.const(e, np.int32, "end"),
                                        em.const(s, np.int32, "strides")], tuple(op.outputs[0].shape), opts)

    def _op_Pad(self, op):
        return self.em.pad(self._in(op, 0), self._const(op, 1, "paddings"))

    def _op_PadV2(self, op):
        return self.em.pad(self._in(op, 0), self._const(op, 1, "paddings"), float(self._const(op, 2)))

    def _op_MirrorPad(self, op):
        x = self._in(op, 0)
        mode = self._attr(op, "mode")
        p = self.em.const(np.asarray(self._const(op, 1), np.int32), np.int32, "paddings")
        return self.em.op1("MIRROR_PAD", [x, p], tuple(op.outputs[0].shape), {"mode": 0 if mode == "REFLECT" else 1})

    def _op_Tile(self, op):
        return self.em.tile(self._in(op, 0), [int(v) for v in self._const(op, 1, "multiples")])

    def _op_GatherV2(self, op):
        axis = int(self._const(op, 2, "axis"))
        if int(self._attr(op, "batch_dims", 0)):
            raise ConversionError(f"TensorFlow node {op.name!r} (GatherV2): batch_dims is not supported")
        return self.em.gather(self._in(op, 0), self._in(op, 1), axis)

    def _op_Cast(self, op):
        return self.em.cast(self._in(op, 0), op.outputs[0].dtype.as_numpy_dtype)

    def _op_SelectV2(self, op):
        return self.em.select(self._in(op, 0), self._in(op, 1), self._in(op, 2))

    def _resize(self, op, type):
        size = [int(v) for v in self._const(op, 1, "size")]
        return self.em.resize(type, self._in(op, 0), size, bool(self._attr(op, "align_corners")),
                              bool(self._attr(op, "half_pixel_centers")))

    def _op_ResizeBilinear(self, op):
        return self._resize(op, "RESIZE_BILINEAR")

    def _op_ResizeNearestNeighbor(self, op):
        return self._resize(op, "RESIZE_NEAREST_NEIGHBOR")

    def _op_ArgMax(self, op):
        axis = self.em.const(np.asarray(self._const(op, 1), np.int32).reshape(1), np.int32, "axis")
        out_t = op.outputs[0].dtype.as_numpy_dtype
        from edgerun.schema.builder import tensor_type

        return self.em.op1("ARG_MAX", [self._in(op, 0), axis], tuple(op.outputs[0].shape),
                           {"outputType": tensor_type(out_t)}, dtype=out_t)


for _tf in _BINARY:
    setattr(_Lowering, "_op_" + _tf, _Lowering._binary)
for _tf in _COMPARE:
    setattr(_Lowering, "_op_" + _tf, _Lowering._compare)
for _tf in _UNARY:
    setattr(_Lowering, "_op_" + _tf, _Lowering._unary)
for _tf in _REDUCE:
    setattr(_Lowering, "_op_" + _tf, _Lowering._reduce)
