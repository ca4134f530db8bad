"""Frontends lower a framework's model to the IR (converter/ir.py). `Emitter` is the shared toolkit: one
method per TFLite op that computes the output shape by TFLite's rules and appends the op, so a frontend
writes `y = em.conv2d(x, w, b, strides=(2, 2), padding=SAME)` and never spells out a shape."""
from __future__ import annotations

import numpy as np
from edgerun.converter.ir import NONE, SAME, VALID, Graph, Tensor

from edgerun.errors import ConversionError


def conv_out_size(size: int, filt: int, stride: int, dilation: int, padding: int) -> int:
    """TFLite's (and TensorFlow's) output size: SAME = ceil(size / stride), VALID = ceil((size - eff + 1) / stride)."""
    eff = (filt - 1) * dilation + 1
    if padding == SAME:
        return -(-size // stride)
    return (size - eff) // stride + 1


def broadcast_shapes(*shapes) -> tuple:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise ConversionError(f"shapes {list(shapes)} do not broadcast") from None


class Emitter:
    """Appends TFLite ops to `graph`, naming new tensors after the framework layer being lowered
    (`em.scope`); every method returns the output tensor (or a list for multi-output ops)."""

    def __init__(self, graph: Graph):
        self.g = graph
        self.scope = ""  # framework layer/node name: op names and tensor name prefix
        self._n = 0

    # -- basics --------------------------------------------------------------------------------------
    def _name(self, suffix: str) -> str:
        self._n += 1
        base = self.scope or "t"
        return f"{base}/{suffix}" if suffix else base

    def const(self, value, dtype=np.float32, name: str = "const") -> Tensor:
        arr = np.asarray(value, dtype=dtype)
        return self.g.const(self._name(name), np.ascontiguousarray(arr))

    def as_tensor(self, v, dtype=np.float32, name: str = "const") -> Tensor:
        return v if isinstance(v, Tensor) else self.const(v, dtype, name)

    def op(self, type: str, inputs, shapes, options=None, dtypes=None, names=None) -> list:
        """Append an op with outputs of the given shapes (dtype of the first input unless given)."""
        ins = list(inputs)
        # outputs take the type of the first non-constant input (SPLIT's axis, TRANSPOSE_CONV's shape come first)
        first = next((t for t in ins if t is not None and not t.is_const), None) or \
            next((t for t in ins if t is not None), None)
        dflt = first.dtype if first is not None else np.dtype(np.float32)
        outs = []
        for i, s in enumerate(shapes):
            dt = dflt if dtypes is None else dtypes[i]
            nm = names[i] if names is not None else self._name(type.lower() if len(shapes) == 1 else f"{type.lower()}_{i}")
            outs.append(self.g.tensor(nm, tuple(s), dt))
        return self.g.op(type, ins, outs, options or {}, name=self.scope)

    def op1(self, type, inputs, shape, options=None, dtype=None) -> Tensor:
        return self.op(type, inputs, [shape], options, None if dtype is None else [np.dtype(dtype)])[0]

    # -- elementwise ---------------------------------------------------------------------------------
    def unary(self, type: str, x: Tensor, options=None) -> Tensor:
        return self.op1(type, [x], x.shape, options)

    def binary(self, type: str, a, b, act: int = NONE) -> Tensor:
        ref = a if isinstance(a, Tensor) else b
        a, b = self.as_tensor(a, ref.dtype), self.as_tensor(b, ref.dtype)
        shape = broadcast_shapes(a.shape, b.shape)
        opts = {"fusedActivationFunction": act} if type in ("ADD", "SUB", "MUL", "DIV") else None
        return self.op1(type, [a, b], shape, opts)

    def add(self, a, b, act=NONE):
        return self.binary("ADD", a, b, act)

    def sub(self, a, b, act=NONE):
        return self.binary("SUB", a, b, act)

    def mul(self, a, b, act=NONE):
        return self.binary("MUL", a, b, act)

    def div(self, a, b, act=NONE):
        return self.binary("DIV", a, b, act)

    def compare(self, type: str, a, b) -> Tensor:
        ref = a if isinstance(a, Tensor) else b
        a, b = self.as_tensor(a, ref.dtype), self.as_tensor(b, ref.dtype)
        return self.op1(type, [a, b], broadcast_shapes(a.shape, b.shape), dtype=np.bool_)

    def select(self, cond, a, b) -> Tensor:
        shape = broadcast_shapes(cond.shape, a.shape, b.shape)
        return self.op1("SELECT_V2", [cond, a, b], shape, dtype=a.dtype)

    def cast(self, x: Tensor, dtype) -> Tensor:
        from edgerun.schema.builder import tensor_type

        dtype = np.dtype(dtype)
        if x.dtype == dtype:
            return x
        return self.op1("CAST", [x], x.shape, {"inDataType": tensor_type(x.dtype), "outDataType": tensor_type(dtype)},
                        dtype=dtype)

    # -- shape ---------------------------------------------------------------------------------------
    def reshape(self, x: Tensor, shape) -> Tensor:
        shape = [int(d) for d in shape]
        if shape.count(-1) > 1:
            raise ConversionError(f"{self.scope}: reshape to {shape} has more than one unknown dimension")
        size = int(np.prod(x.shape))
        if -1 in shape:
            known = int(np.prod([d for d in shape if d != -1]))
            shape[shape.index(-1)] = size // max(known, 1)
        if int(np.prod(shape)) != size:
            raise ConversionError(f"{self.scope}: cannot reshape {x.shape} to {tuple(shape)}")
        if tuple(shape) == x.shape:
            return x
        s = self.const(np.array(shape, np.int32), np.int32, "shape")
        return self.op1("RESHAPE", [x, s], shape, {"newShape": list(shape)})

    def transpose(self, x: Tensor, perm) -> Tensor:
        perm = [int(p) % len(x.shape) for p in perm]
        if perm == list(range(len(perm))):
            return x
        p = self.const(np.array(perm, np.int32), np.int32, "perm")
        return self.op1("TRANSPOSE", [x, p], [x.shape[i] for i in perm])

    def concat(self, xs, axis: int, act: int = NONE) -> Tensor:
        if len(xs) == 1:
            return xs[0]
        rank = len(xs[0].shape)
        axis = axis % rank
        shape = list(xs[0].shape)
        shape[axis] = sum(t.shape[axis] for t in xs)
        return self.op1("CONCATENATION", xs, shape, {"axis": axis, "fusedActivationFunction": act})

    def pack(self, xs, axis: int) -> Tensor:
        rank = len(xs[0].shape) + 1
        axis = axis % rank
        shape = list(xs[0].shape)
        shape.insert(axis, len(xs))
        return self.op1("PACK", xs, shape, {"axis": axis, "valuesCount": len(xs)})

    def unpack(self, x: Tensor, axis: int) -> list:
        axis = axis % len(x.shape)
        shape = list(x.shape)
        n = shape.pop(axis)
        return self.op("UNPACK", [x], [shape] * n, {"axis": axis, "num": n})

    def split(self, x: Tensor, num: int, axis: int) -> list:
        axis = axis % len(x.shape)
        if x.shape[axis] % num:
            raise ConversionError(f"{self.scope}: cannot split {x.shape} into {num} along axis {axis}")
        shape = list(x.shape)
        shape[axis] //= num
        ax = self.const(np.array(axis, np.int32), np.int32, "axis")
        return self.op("SPLIT", [ax, x], [shape] * num, {"numSplits": num})

    def slice(self, x: Tensor, begin, size) -> Tensor:
        size = [x.shape[i] - begin[i] if s == -1 else s for i, s in enumerate(size)]
        if list(begin) == [0] * len(begin) and list(size) == list(x.shape):
            return x
        b = self.const(np.array(begin, np.int32), np.int32, "begin")
        s = self.const(np.array(size, np.int32), np.int32, "size")
        return self.op1("SLICE", [x, b, s], size)

    def pad(self, x: Tensor, pads, value: float | None = None) -> Tensor:
        pads = np.asarray(pads, np.int32).reshape(len(x.shape), 2)
        if not pads.any():
            return x
        shape = [d + int(p.sum()) for d, p in zip(x.shape, pads)]
        p = self.const(pads, np.int32, "paddings")
        if value is None or value == 0:
            return self.op1("PAD", [x, p], shape)
        return self.op1("PADV2", [x, p, self.const(np.array(value, x.dtype), x.dtype, "pad_value")], shape)

    def tile(self, x: Tensor, multiples) -> Tensor:
        m = self.const(np.array(multiples, np.int32), np.int32, "multiples")
        return self.op1("TILE", [x, m], [d * k for d, k in zip(x.shape, multiples)])

    def gather(self, params: Tensor, indices: Tensor, axis: int = 0) -> Tensor:
        axis = axis % len(params.shape)
        shape = list(params.shape[:axis]) + list(indices.shape) + list(params.shape[axis + 1:])
        return self.op1("GATHER", [params, indices], shape, {"axis": axis, "batchDims": 0}, dtype=params.dtype)

    def reduce(self, type: str, x: Tensor, axes, keep: bool) -> Tensor:
        rank = len(x.shape)
        axes = sorted({int(a) % rank for a in axes})
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keep else \
            [d for i, d in enumerate(x.shape) if i not in axes]
        a = self.const(np.array(axes, np.int32), np.int32, "axes")
        return self.op1(type, [x, a], shape, {"keepDims": bool(keep)})

    def resize(self, type: str, x: Tensor, size, align_corners=False, half_pixel_centers=False) -> Tensor:
        s = self.const(np.array(size, np.int32), np.int32, "size")
        return self.op1(type, [x, s], [x.shape[0], size[0], size[1], x.shape[3]],
                        {"alignCorners": bool(align_corners), "halfPixelCenters": bool(half_pixel_centers)})

    # -- activations ---------------------------------------------------------------------------------
    def softmax(self, x: Tensor, beta: float = 1.0, axis: int = -1, log: bool = False) -> Tensor:
        axis = axis % len(x.shape)
        last = len(x.shape) - 1
        if axis != last:
            perm = list(range(len(x.shape)))
            perm[axis], perm[last] = last, axis
            return self.transpose(self.softmax(self.transpose(x, perm), beta, -1, log), perm)
        if log:
            if beta != 1.0:
                x = self.mul(x, np.float32(beta))
            return self.unary("LOG_SOFTMAX", x)
        return self.unary("SOFTMAX", x, {"beta": float(beta)})

    # -- convolutions --------------------------------------------------------------------------------
    def fully_connected(self, x: Tensor, w: Tensor, b: Tensor | None, act: int = NONE) -> Tensor:
        """y = x @ w.T + b over the last axis; w is (units, in). Rank > 2 keeps the leading dims."""
        units = w.shape[0]
        if x.shape[-1] != w.shape[1]:
            raise ConversionError(f"{self.scope}: input {x.shape} does not match weights {w.shape}")
        keep = len(x.shape) != 2
        shape = list(x.shape[:-1]) + [units]
        return self.op1("FULLY_CONNECTED", [x, w, b], shape,
                        {"fusedActivationFunction": act, "keepNumDims": keep})

    def conv2d(self, x, w, b, strides=(1, 1), dilation=(1, 1), padding=VALID, act=NONE) -> Tensor:
        """w is OHWI (out, kh, kw, in / groups). TFLite's kernels want a bias: zeros when there is none."""
        b = b if b is not None else self.const(np.zeros(w.shape[0], w.dtype), w.dtype, "bias")
        n, h, wd, _ = x.shape
        oh = conv_out_size(h, w.shape[1], strides[0], dilation[0], padding)
        ow = conv_out_size(wd, w.shape[2], strides[1], dilation[1], padding)
        self._check_positive(oh, ow)
        return self.op1("CONV_2D", [x, w, b], [n, oh, ow, w.shape[0]],
                        {"padding": padding, "strideH": int(strides[0]), "strideW": int(strides[1]),
                         "dilationHFactor": int(dilation[0]), "dilationWFactor": int(dilation[1]),
                         "fusedActivationFunction": act})

    def depthwise_conv2d(self, x, w, b, multiplier, strides=(1, 1), dilation=(1, 1), padding=VALID,
                         act=NONE) -> Tensor:
        """w is (1, kh, kw, in * multiplier)."""
        b = b if b is not None else self.const(np.zeros(w.shape[3], w.dtype), w.dtype, "bias")
        n, h, wd, _ = x.shape
        oh = conv_out_size(h, w.shape[1], strides[0], dilation[0], padding)
        ow = conv_out_size(wd, w.shape[2], strides[1], dilation[1], padding)
        self._check_positive(oh, ow)
        return self.op1("DEPTHWISE_CONV_2D", [x, w, b], [n, oh, ow, w.shape[3]],
                        {"padding": padding, "strideH": int(strides[0]), "strideW": int(strides[1]),
                         "dilationHFactor": int(dilation[0]), "dilationWFactor": int(dilation[1]),
                         "depthMultiplier": int(multiplier), "fusedActivationFunction": act})

    def transpose_conv(self, x, w, b, out_hw, strides=(1, 1), padding=VALID, act=NONE) -> Tensor:
        """w is (out, kh, kw, in); out_hw the output's spatial size."""
        shape = [x.shape[0], int(out_hw[0]), int(out_hw[1]), w.shape[0]]
        os_ = self.const(np.array(shape, np.int32), np.int32, "output_shape")
        return self.op1("TRANSPOSE_CONV", [os_, w, x, b], shape,
                        {"padding": padding, "strideH": int(strides[0]), "strideW": int(strides[1]),
                         "fusedActivationFunction": act})

    def pool2d(self, type: str, x, size, strides, padding, act=NONE) -> Tensor:
        n, h, wd, c = x.shape
        oh = conv_out_size(h, size[0], strides[0], 1, padding)
        ow = conv_out_size(wd, size[1], strides[1], 1, padding)
        self._check_positive(oh, ow)
        return self.op1(type, [x], [n, oh, ow, c],
                        {"padding": padding, "strideH": int(strides[0]), "strideW": int(strides[1]),
                         "filterHeight": int(size[0]), "filterWidth": int(size[1]),
                         "fusedActivationFunction": act})

    def batch_matmul(self, a, b, adj_x=False, adj_y=False) -> Tensor:
        m = a.shape[-1] if adj_x else a.shape[-2]
        n = b.shape[-2] if adj_y else b.shape[-1]
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        return self.op1("BATCH_MATMUL", [a, b], list(batch) + [m, n], {"adjX": bool(adj_x), "adjY": bool(adj_y)})

    def _check_positive(self, *dims):
        if min(dims) < 1:
            raise ConversionError(f"{self.scope}: the window is larger than the input (output size {dims})")
