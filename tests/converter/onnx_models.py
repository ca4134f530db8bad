"""Small ONNX models for the ONNX frontend's tests, built with onnx.helper (no torch needed).

    m = Model()
    x = m.input("x", (1, 3, 8, 8))
    y = m.node("Conv", [x, m.w(4, 3, 3, 3), m.w(4)], pads=[1, 1, 1, 1])
    model = m.build(m.node("Relu", [y]))

CASES maps a test id to a function returning (model, inputs or None); None = uniform(-1, 1) floats."""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, checker, helper, numpy_helper, shape_inference

OPSET = 17


class Model:
    def __init__(self, seed: int = 0, opset: int = OPSET):
        self.nodes, self.inits, self.inputs = [], [], []
        self.rng = np.random.default_rng(seed)
        self.opset = opset
        self._k = 0

    def _name(self, hint):
        self._k += 1
        return f"{hint}_{self._k}"

    def input(self, name, shape, dtype=TensorProto.FLOAT):
        self.inputs.append(helper.make_tensor_value_info(name, dtype, list(shape)))
        return name

    def const(self, arr, name=None):
        name = name or self._name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def w(self, *shape, scale=0.5, positive=False):
        """A random float32 initializer."""
        a = self.rng.uniform(0.1 if positive else -1, 1, shape).astype(np.float32) * scale
        return self.const(a)

    def ints(self, values):
        return self.const(np.array(values, np.int64))

    def node(self, op, inputs, n_out=1, name=None, **attrs):
        outs = [self._name(op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=name or self._name(op), **attrs))
        return outs[0] if n_out == 1 else outs

    def build(self, *outputs, out_types=None):
        # graph outputs need a type and shape: take them from ONNX's shape inference of the output-less graph
        g = helper.make_graph(self.nodes, "test", self.inputs, [], initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", self.opset)], ir_version=8)
        inf = shape_inference.infer_shapes(m).graph
        inferred = {vi.name: vi for vi in list(inf.input) + list(inf.value_info)
                    if vi.type.tensor_type.HasField("shape")}
        for o in outputs:
            if o in inferred:
                m.graph.output.append(inferred[o])
            else:
                elem = (out_types or {}).get(o, TensorProto.FLOAT)
                m.graph.output.append(helper.make_tensor_value_info(o, elem, None))
        checker.check_model(m)
        return m


# -- single ops ----------------------------------------------------------------------------------------------
def unary(op, shape=(1, 3, 5, 6), conv_first=True, positive=False, opset=OPSET, **attrs):
    """Conv (so the op runs on a channels-last value) then the op."""
    def build():
        m = Model(opset=opset)
        x = m.input("x", shape)
        if conv_first and len(shape) == 4:
            x = m.node("Conv", [x, m.w(4, shape[1], 1, 1), m.w(4)])
        if positive:
            x = m.node("Add", [m.node("Abs", [x]), m.const(np.float32(0.1))])
        return m.build(m.node(op, [x], **attrs)), None
    return build


def conv(x_shape=(1, 3, 9, 8), w_shape=(4, 3, 3, 3), bias=True, **attrs):
    def build():
        m = Model()
        x = m.input("x", x_shape)
        ins = [x, m.w(*w_shape)] + ([m.w(w_shape[0])] if bias else [])
        return m.build(m.node("Conv", ins, **attrs)), None
    return build


def conv_transpose(x_shape=(1, 4, 5, 6), w_shape=(4, 3, 3, 3), **attrs):
    def build():
        m = Model()
        x = m.input("x", x_shape)
        return m.build(m.node("ConvTranspose", [x, m.w(*w_shape), m.w(w_shape[1] * attrs.get("group", 1))],
                              **attrs)), None
    return build


def pool(op, x_shape=(1, 3, 9, 9), **attrs):
    def build():
        m = Model()
        x = m.input("x", x_shape)
        y = m.node("Conv", [x, m.w(4, x_shape[1], *([1] * (len(x_shape) - 2)))])
        return m.build(m.node(op, [y], **attrs)), None
    return build


def binary_const(op, const_shape, x_shape=(1, 4, 5, 6), positive=False):
    """x (after a Conv: channels-last) op constant of an NCHW broadcasting shape."""
    def build():
        m = Model()
        x = m.input("x", x_shape)
        y = m.node("Conv", [x, m.w(x_shape[1], x_shape[1], 1, 1)])
        c = m.w(*const_shape, positive=positive, scale=1.0) if const_shape else m.const(np.float32(0.7))
        if positive:
            y = m.node("Add", [m.node("Abs", [y]), m.const(np.float32(0.5))])
        return m.build(m.node(op, [y, c])), None
    return build


def binary_two_inputs(op, a_shape, b_shape):
    def build():
        m = Model()
        a = m.input("a", a_shape)
        b = m.input("b", b_shape)
        if len(a_shape) == 4:
            a = m.node("Conv", [a, m.w(a_shape[1], a_shape[1], 1, 1)])
        return m.build(m.node(op, [a, b])), None
    return build


def gemm(x_shape=(2, 6), units=5, bias_shape=(5,), **attrs):
    def build():
        m = Model()
        x = m.input("x", x_shape)
        k = x_shape[0] if attrs.get("transA") else x_shape[1]
        w = m.w(units, k) if attrs.get("transB") else m.w(k, units)
        ins = [x, w] + ([m.w(*bias_shape)] if bias_shape is not None else [])
        return m.build(m.node("Gemm", ins, **attrs)), None
    return build


def matmul(a_shape, b_shape, b_const=True):
    def build():
        m = Model()
        a = m.input("a", a_shape)
        b = m.w(*b_shape) if b_const else m.input("b", b_shape)
        return m.build(m.node("MatMul", [a, b])), None
    return build


def batchnorm(x_shape=(1, 4, 5, 5), after_conv=False, conv_extra_use=False):
    def build():
        m = Model()
        x = m.input("x", x_shape)
        c = x_shape[1]
        if after_conv:
            x = m.node("Conv", [x, m.w(c, c, 3, 3), m.w(c)], pads=[1, 1, 1, 1])
        y = m.node("BatchNormalization", [x, m.w(c, positive=True, scale=2), m.w(c), m.w(c),
                                          m.w(c, positive=True, scale=2)], epsilon=1e-3)
        outs = [y]
        if conv_extra_use:
            outs.append(m.node("Relu", [x]))
        return m.build(*outs), None
    return build


def resize(mode, ctm, x_shape=(1, 3, 4, 5), scales=None, sizes=None, nearest_mode="round_prefer_floor"):
    def build():
        m = Model(opset=13)
        x = m.input("x", x_shape)
        y = m.node("Conv", [x, m.w(3, x_shape[1], 1, 1)])
        roi = m.const(np.zeros(0, np.float32))
        sc = m.const(np.array(scales, np.float32)) if scales is not None else ""
        ins = [y, roi, sc] + ([m.ints(sizes)] if sizes is not None else [])
        if scales is None:
            ins[2] = m.const(np.zeros(0, np.float32))
        return m.build(m.node("Resize", ins, mode=mode, coordinate_transformation_mode=ctm,
                              nearest_mode=nearest_mode)), None
    return build


def flatten_chain(dynamic=False):
    """torch's x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape, then Gemm."""
    m = Model()
    x = m.input("x", ("N" if dynamic else 2, 3, 4, 4))
    y = m.node("Conv", [x, m.w(5, 3, 3, 3), m.w(5)], pads=[1, 1, 1, 1])
    y = m.node("Relu", [y])
    s = m.node("Shape", [y])
    n = m.node("Gather", [s, m.const(np.array(0, np.int64))], axis=0)
    n = m.node("Unsqueeze", [n, m.ints([0])])
    shape = m.node("Concat", [n, m.ints([-1])], axis=0)
    f = m.node("Reshape", [y, shape])
    z = m.node("Gemm", [f, m.w(7, 80), m.w(7)], transB=1)
    return m.build(z), None


def small_cnn(batch=1, dynamic=False):
    """Conv-BN-Relu-MaxPool-Conv-GlobalAvgPool-Flatten-Gemm-Softmax."""
    def build():
        m = Model(seed=3)
        x = m.input("x", ("N" if dynamic else batch, 3, 16, 16))
        y = m.node("Conv", [x, m.w(8, 3, 3, 3), m.w(8)], pads=[1, 1, 1, 1])
        y = m.node("BatchNormalization", [y, m.w(8, positive=True, scale=2), m.w(8), m.w(8),
                                          m.w(8, positive=True, scale=2)])
        y = m.node("Relu", [y])
        y = m.node("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
        y = m.node("Conv", [y, m.w(16, 8, 3, 3, scale=0.3), m.w(16)], pads=[1, 1, 1, 1], strides=[2, 2])
        y = m.node("Relu", [y])
        y = m.node("GlobalAveragePool", [y])
        y = m.node("Flatten", [y], axis=1)
        y = m.node("Gemm", [y, m.w(10, 16), m.w(10)], transB=1)
        return m.build(m.node("Softmax", [y], axis=1)), None
    return build


def cnn_flatten_spatial():
    """Conv -> Flatten of a (N, C, H, W) activation with H, W > 1 -> Gemm: weight rows permuted, no
    transpose."""
    m = Model(seed=4)
    x = m.input("x", (2, 3, 8, 8))
    y = m.node("Conv", [x, m.w(4, 3, 3, 3), m.w(4)], strides=[2, 2], pads=[1, 1, 1, 1])
    y = m.node("Relu", [y])
    y = m.node("Flatten", [y])
    y = m.node("Dropout", [y])
    y = m.node("Gemm", [y, m.w(64, 6), m.w(6)])
    return m.build(y), None


def mlp(dynamic=False):
    def build():
        m = Model(seed=5)
        x = m.input("x", ("batch" if dynamic else 3, 12))
        y = m.node("Gemm", [x, m.w(32, 12), m.w(32)], transB=1)
        y = m.node("Relu", [y])
        y = m.node("MatMul", [y, m.w(32, 16)])
        y = m.node("Add", [y, m.w(16)])
        y = m.node("Tanh", [y])
        y = m.node("Gemm", [y, m.w(16, 4), m.w(4)], alpha=0.5, beta=2.0)
        return m.build(m.node("LogSoftmax", [y], axis=-1)), None
    return build


def recurrent(op, direction="forward", layout=0, T=5, N=2, I=4, H=3, init=False, peep=False, seq_out=True,
              **attrs):
    def build():
        m = Model(seed=6)
        G = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
        D = 2 if direction == "bidirectional" else 1
        x = m.input("x", (T, N, I) if layout == 0 else (N, T, I))
        ins = [x, m.w(D, G * H, I), m.w(D, G * H, H), m.w(D, 2 * G * H), ""]
        if init:
            sh = (D, N, H) if layout == 0 else (N, D, H)
            ins.append(m.input("h0", sh))
            if op == "LSTM":
                ins.append(m.input("c0", sh))
        if peep:
            while len(ins) < 7:
                ins.append("")
            ins.append(m.w(D, 3 * H))
        n_out = 3 if op == "LSTM" else 2
        outs = m.node(op, ins, n_out=n_out, hidden_size=H, direction=direction, layout=layout, **attrs)
        return m.build(*(outs if seq_out else outs[1:])), None
    return build


def lstm_classifier():
    """LSTM over a sequence, last hidden state -> Gemm (what a torch nn.LSTM + Linear exports)."""
    m = Model(seed=7)
    T, N, I, H = 6, 2, 5, 8
    x = m.input("x", (T, N, I))
    y, yh, _yc = m.node("LSTM", [x, m.w(1, 4 * H, I), m.w(1, 4 * H, H), m.w(1, 8 * H)], n_out=3,
                        hidden_size=H)
    h = m.node("Squeeze", [yh, m.ints([0])])
    z = m.node("Gemm", [h, m.w(3, H), m.w(3)], transB=1)
    return m.build(z, y), None


def gelu_erf(order):
    """The three ways torch/tf exports erf-GELU."""
    m = Model()
    x = m.input("x", (2, 7))
    x = m.node("MatMul", [x, m.w(7, 6)])
    d = m.node("Div", [x, m.const(np.float32(np.sqrt(2.0)))])
    e = m.node("Erf", [d])
    a = m.node("Add", [e, m.const(np.float32(1.0))])
    if order == 0:  # (x * (1 + erf)) * 0.5
        y = m.node("Mul", [m.node("Mul", [x, a]), m.const(np.float32(0.5))])
    elif order == 1:  # (0.5 x) * (1 + erf)
        y = m.node("Mul", [m.node("Mul", [x, m.const(np.float32(0.5))]), a])
    else:  # x * ((1 + erf) * 0.5)
        y = m.node("Mul", [x, m.node("Mul", [a, m.const(np.float32(0.5))])])
    return m.build(y), None


def hardswish_spelled(variant):
    """Hard-swish as Paddle2ONNX writes it after a conv: x * Clip(x + 3, 0, 6) / 6. variant 1: operands swapped
    and * (1/6); 2: opset 10 (Clip's bounds as attributes); 3: not hard-swish (Mul by the conv's input side
    of another branch), which must stay as it is."""
    m = Model(opset=10 if variant == 2 else OPSET)
    x = m.node("Conv", [m.input("x", (1, 3, 6, 7)), m.w(4, 3, 3, 3), m.w(4)], pads=[1, 1, 1, 1])
    if variant == 1:
        a = m.node("Add", [m.const(np.float32(3.0)), x])
    else:
        a = m.node("Add", [x, m.const(np.float32(3.0))])
    if variant == 2:
        c = m.node("Clip", [a], min=0.0, max=6.0)
    else:
        c = m.node("Clip", [a, m.const(np.float32(0.0)), m.const(np.float32(6.0))])
    if variant == 1:
        return m.build(m.node("Mul", [m.const(np.float32(1 / 6)), m.node("Mul", [c, x])])), None
    other = m.node("Relu", [x]) if variant == 3 else x
    return m.build(m.node("Div", [m.node("Mul", [other, c]), m.const(np.float32(6.0))])), None


def layernorm(shape=(2, 5, 8), axis=-1):
    m = Model(opset=17)
    x = m.input("x", shape)
    n = int(np.prod(shape[axis % len(shape):]))
    sc_shape = shape[axis % len(shape):]
    y = m.node("LayerNormalization", [x, m.w(*sc_shape, positive=True), m.w(*sc_shape)], axis=axis)
    del n
    return m.build(y), None


def layernorm_decomposed():
    """What torch < opset 17 exports: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul, Add."""
    m = Model(opset=13)
    x = m.input("x", (2, 4, 6))
    mu = m.node("ReduceMean", [x], axes=[-1])
    d = m.node("Sub", [x, mu])
    v = m.node("ReduceMean", [m.node("Pow", [d, m.const(np.float32(2))])], axes=[-1])
    s = m.node("Sqrt", [m.node("Add", [v, m.const(np.float32(1e-5))])])
    y = m.node("Add", [m.node("Mul", [m.node("Div", [d, s]), m.w(6)]), m.w(6)])
    return m.build(y), None


def attention():
    """Single-head self-attention: MatMul with a transposed key (BATCH_MATMUL adj_y), Softmax, MatMul."""
    m = Model(seed=8)
    x = m.input("x", (2, 5, 8))
    q = m.node("MatMul", [x, m.w(8, 8)])
    k = m.node("MatMul", [x, m.w(8, 8)])
    v = m.node("MatMul", [x, m.w(8, 8)])
    kt = m.node("Transpose", [k], perm=[0, 2, 1])
    s = m.node("Mul", [m.node("MatMul", [q, kt]), m.const(np.float32(1 / np.sqrt(8)))])
    p = m.node("Softmax", [s], axis=-1)
    return m.build(m.node("MatMul", [p, v])), None


def channel_ops():
    """Reductions, Concat, Split, Slice, Softmax over the channel axis of a channels-last activation."""
    m = Model(seed=9)
    x = m.input("x", (1, 6, 5, 4))
    y = m.node("Conv", [x, m.w(6, 6, 1, 1), m.w(6)])
    a, b = m.node("Split", [y, m.ints([2, 4])], n_out=2, axis=1)
    c = m.node("Concat", [b, a, m.w(1, 1, 5, 4)], axis=1)
    s = m.node("Slice", [c, m.ints([1, 1]), m.ints([6, 4]), m.ints([1, 2]), m.ints([2, 1])])
    sm = m.node("Softmax", [s], axis=1)
    r = m.node("ReduceSum", [sm, m.ints([1])], keepdims=0)
    return m.build(sm, r), None


def conv_chain_transposes():
    """Transpose to NHWC and back, Squeeze/Unsqueeze, Gather on the channel axis, Pad: layout bookkeeping."""
    m = Model(seed=10)
    x = m.input("x", (1, 3, 6, 6))
    y = m.node("Conv", [x, m.w(4, 3, 3, 3)], pads=[1, 1, 1, 1])
    t = m.node("Transpose", [y], perm=[0, 2, 3, 1])
    t = m.node("Relu", [t])
    t = m.node("Add", [t, m.w(4)])  # broadcast over the last (channel) axis of the NHWC value
    u = m.node("Transpose", [t], perm=[0, 3, 1, 2])
    p = m.node("Pad", [u, m.ints([0, 0, 1, 2, 0, 0, 2, 1])], mode="reflect")
    g = m.node("Gather", [p, m.ints([3, 0])], axis=1)
    g2 = m.node("Gather", [p, m.const(np.array(2, np.int64))], axis=1)
    us = m.node("Unsqueeze", [g2, m.ints([1])])
    q = m.node("Concat", [g, us], axis=1)
    return m.build(q), None


def vit_patch_embed():
    """Conv patchify -> view(N, D, -1) (shape chain) -> transpose(1, 2) -> LayerNorm -> MatMul + Add."""
    m = Model(seed=11)
    x = m.input("x", (1, 3, 8, 8))
    y = m.node("Conv", [x, m.w(6, 3, 4, 4), m.w(6)], strides=[4, 4])
    s = m.node("Shape", [y])
    nd = m.node("Slice", [s, m.ints([0]), m.ints([2])])
    shape = m.node("Concat", [nd, m.ints([-1])], axis=0)
    f = m.node("Reshape", [y, shape])  # (1, 6, 4)
    t = m.node("Transpose", [f], perm=[0, 2, 1])  # (1, 4, 6)
    n = m.node("LayerNormalization", [t, m.w(6, positive=True), m.w(6)], axis=-1)
    z = m.node("Add", [m.node("MatMul", [n, m.w(6, 5)]), m.w(5)])
    return m.build(z), None


def spatial_attention(axis=1):
    """(N, C, H, W) -> (N, C, H*W) -> softmax (over channels: axis 1, positions: axis 2) -> back to
    (N, C, H, W) -> residual add -> Conv."""
    def build():
        m = Model(seed=12)
        x = m.input("x", (2, 4, 3, 5))
        y = m.node("Conv", [x, m.w(4, 4, 1, 1), m.w(4)])
        f = m.node("Reshape", [y, m.ints([2, 4, 15])])
        p = m.node("Softmax", [f], axis=axis)
        b = m.node("Reshape", [p, m.ints([0, 0, 3, 5])])
        z = m.node("Add", [b, y])
        return m.build(m.node("Conv", [z, m.w(2, 4, 3, 3)], pads=[1, 1, 1, 1])), None
    return build


def reshape_needs_nchw():
    """(N, C, H, W) -> (N, C*H, W): C and H are not adjacent channels-last, so a transpose back is needed."""
    m = Model(seed=13)
    x = m.input("x", (1, 3, 4, 5))
    y = m.node("Conv", [x, m.w(3, 3, 1, 1)])
    return m.build(m.node("Relu", [m.node("Reshape", [y, m.ints([1, 12, 5])])])), None


def old_opset_ops(opset):
    """Attribute forms of opsets < 13 (Squeeze/Unsqueeze/Split axes, Clip, ReduceSum, Softmax coercion)."""
    def build():
        m = Model(seed=14, opset=opset)
        x = m.input("x", (1, 4, 6, 6))
        y = m.node("Conv", [x, m.w(4, 4, 3, 3), m.w(4)], pads=[1, 1, 1, 1])
        if opset >= 11:
            y = m.node("Clip", [y, m.const(np.float32(-0.5)), m.const(np.float32(0.8))])
        else:
            y = m.node("Clip", [y], min=-0.5, max=0.8)
        a, b = m.node("Split", [y], n_out=2, axis=1, split=[1, 3])
        r = m.node("ReduceSum", [b], axes=[2, 3], keepdims=1)
        sq = m.node("Squeeze", [r], axes=[2, 3])
        us = m.node("Unsqueeze", [sq], axes=[2])
        sm = m.node("Softmax", [a], axis=1)
        if opset >= 10:
            sl = m.node("Slice", [sm, m.ints([1]), m.ints([5]), m.ints([2])])
        else:
            sl = m.node("Slice", [sm], starts=[1], ends=[5], axes=[2])
        return m.build(us, sl), None
    return build


def new_opset_ops(opset):
    """Input forms of opsets >= 13/18 (Squeeze/Unsqueeze/Reduce axes as inputs, Split num_outputs, Pad
    axes)."""
    def build():
        m = Model(seed=15, opset=opset)
        x = m.input("x", (1, 4, 6, 6))
        y = m.node("Conv", [x, m.w(4, 4, 3, 3), m.w(4)], pads=[1, 1, 1, 1])
        a, b = m.node("Split", [y], n_out=2, axis=1, num_outputs=2)
        r = m.node("ReduceMean", [a, m.ints([2, 3])], keepdims=0)
        mx = m.node("ReduceMax", [b, m.ints([1])], keepdims=1)
        us = m.node("Unsqueeze", [r, m.ints([-1])])
        p = m.node("Pad", [mx, m.ints([1, 2, 0, 1]), m.const(np.float32(0.25)), m.ints([2, 3])])
        return m.build(us, p), None
    return build


def upsample_opset9(mode, scales=(1, 1, 2, 2)):
    def build():
        m = Model(opset=9)
        x = m.input("x", (1, 2, 3, 4))
        y = m.node("Conv", [x, m.w(2, 2, 1, 1)])
        return m.build(m.node("Upsample", [y, m.const(np.array(scales, np.float32))], mode=mode)), None
    return build


def misc_elementwise():
    """Where/Equal/Greater, Cast, Expand, Tile, variadic Max/Sum/Mean, Pow by a tensor, Identity, Neg."""
    m = Model(seed=16)
    x = m.input("x", (2, 3, 4))
    z = m.input("z", (2, 3, 4))
    c = m.node("Greater", [x, m.const(np.float32(0.1))])
    w = m.node("Where", [c, x, m.node("Neg", [z])])
    gi = m.node("Cast", [m.node("Greater", [z, x])], to=TensorProto.INT32)
    e = m.node("Equal", [gi, m.const(np.int32(1))])
    ef = m.node("Cast", [e], to=TensorProto.FLOAT)
    mx = m.node("Max", [w, z, m.w(4)])
    sm = m.node("Sum", [mx, ef, x])
    mean = m.node("Mean", [sm, z])
    ex = m.node("Expand", [m.node("Identity", [mean]), m.ints([2, 2, 3, 4])])
    t = m.node("Tile", [ex, m.ints([1, 1, 2, 1])])
    p = m.node("Pow", [m.node("Abs", [t]), m.w(4, positive=True)])
    return m.build(p), None


def embedding():
    """Gather of a constant table with int64 index inputs (torch nn.Embedding), then a mean over tokens."""
    m = Model(seed=17)
    ids = m.input("ids", (2, 5), TensorProto.INT64)
    e = m.node("Gather", [m.w(10, 6), ids], axis=0)
    return m.build(m.node("ReduceMean", [e], axes=[1], keepdims=0)), None


def clip_variants():
    m = Model(seed=18, opset=13)
    x = m.input("x", (2, 8))
    y = m.node("MatMul", [x, m.w(8, 6, scale=8.0)])
    outs = [m.node("Clip", [y, m.const(np.float32(0)), m.const(np.float32(6))]),
            m.node("Clip", [y, m.const(np.float32(-1)), m.const(np.float32(1))]),
            m.node("Clip", [y, m.const(np.float32(0))]),
            m.node("Clip", [y, "", m.const(np.float32(0.3))]),
            m.node("Clip", [y, m.const(np.float32(-2)), m.const(np.float32(1.5))])]
    return m.build(*outs), None


def bn_after_gemm():
    m = Model(seed=19)
    x = m.input("x", (3, 6))
    y = m.node("Gemm", [x, m.w(5, 6), m.w(5)], transB=1)
    y = m.node("BatchNormalization", [y, m.w(5, positive=True), m.w(5), m.w(5), m.w(5, positive=True)])
    return m.build(y), None


def resize_opset18_axes():
    m = Model(opset=18)
    x = m.input("x", (1, 2, 3, 4))
    y = m.node("Conv", [x, m.w(2, 2, 1, 1)])
    z = m.node("Resize", [y, "", "", m.ints([6, 7])], axes=[2, 3], mode="linear",
               coordinate_transformation_mode="half_pixel")
    return m.build(z), None


def squeeze_all_and_flatten_axis2():
    m = Model(seed=20)
    x = m.input("x", (1, 3, 4, 5))
    y = m.node("Conv", [x, m.w(1, 3, 4, 1)])  # (1, 1, 1, 5)
    s = m.node("Squeeze", [y])
    z = m.node("Conv", [x, m.w(2, 3, 1, 1)])
    f = m.node("Flatten", [z], axis=2)  # (2, 20)
    return m.build(s, f), None


def resnet_block():
    m = Model(seed=21)
    x = m.input("x", (1, 8, 8, 8))

    def cbn(t, k, relu=True, stride=1):
        t = m.node("Conv", [t, m.w(8, 8, k, k, scale=0.3), m.w(8)], pads=[k // 2] * 4, strides=[stride] * 2)
        t = m.node("BatchNormalization", [t, m.w(8, positive=True, scale=2), m.w(8), m.w(8),
                                          m.w(8, positive=True, scale=2)])
        return m.node("Relu", [t]) if relu else t
    y = cbn(cbn(x, 3), 3, relu=False)
    y = m.node("Relu", [m.node("Add", [y, x])])
    y = m.node("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    return m.build(y), None


def mobilenet_block():
    """Conv-BN-HardSwish, depthwise-BN-ReLU6 (Clip), squeeze-excite (GAP, 1x1 convs, HardSigmoid, Mul),
    1x1 projection + residual."""
    m = Model(seed=22)
    x = m.input("x", (1, 4, 10, 10))
    y = m.node("Conv", [x, m.w(16, 4, 1, 1), m.w(16)])
    y = m.node("BatchNormalization", [y, m.w(16, positive=True), m.w(16), m.w(16), m.w(16, positive=True)])
    y = m.node("HardSwish", [y])
    y = m.node("Conv", [y, m.w(16, 1, 3, 3), m.w(16)], group=16, pads=[1, 1, 1, 1])
    y = m.node("Clip", [y, m.const(np.float32(0)), m.const(np.float32(6))])
    s = m.node("GlobalAveragePool", [y])
    s = m.node("Relu", [m.node("Conv", [s, m.w(4, 16, 1, 1), m.w(4)])])
    s = m.node("HardSigmoid", [m.node("Conv", [s, m.w(16, 4, 1, 1), m.w(16)])], alpha=1 / 6, beta=0.5)
    y = m.node("Mul", [y, s])
    y = m.node("Conv", [y, m.w(4, 16, 1, 1), m.w(4)])
    return m.build(m.node("Add", [y, x])), None


def lstm_dynamic_batch():
    m = Model(seed=23)
    T, I, H = 3, 4, 5
    x = m.input("x", (T, "N", I))
    y, yh, _yc = m.node("LSTM", [x, m.w(1, 4 * H, I), m.w(1, 4 * H, H), m.w(1, 8 * H)], n_out=3,
                        hidden_size=H)
    return m.build(y, yh), None


def torch_batch_first_lstm(bidirectional=False):
    """What torch exports for nn.LSTM(batch_first=True): Transpose (N,T,I)->(T,N,I), LSTM, Transpose/Squeeze
    of Y back to (N, T, D*H)."""
    def build():
        m = Model(seed=24)
        N, T, I, H = 2, 4, 3, 5
        D = 2 if bidirectional else 1
        x = m.input("x", (N, T, I))
        xt = m.node("Transpose", [x], perm=[1, 0, 2])
        y, yh, _yc = m.node("LSTM", [xt, m.w(D, 4 * H, I), m.w(D, 4 * H, H), m.w(D, 8 * H)], n_out=3,
                           hidden_size=H, direction="bidirectional" if bidirectional else "forward")
        y = m.node("Transpose", [y], perm=[0, 2, 1, 3])  # (T, N, D, H)
        y = m.node("Reshape", [y, m.ints([0, 0, -1])])  # (T, N, D*H)
        y = m.node("Transpose", [y], perm=[1, 0, 2])  # (N, T, D*H)
        z = m.node("Gemm", [m.node("Flatten", [m.node("Transpose", [yh], perm=[1, 0, 2])]), m.w(3, D * H)],
                   transB=1)
        return m.build(y, z), None
    return build


def misc_unary_logic_reduce():
    """Round/Sin/Cos/Sign, Mod (fmod), logic ops on comparisons, ReduceProd/L1/SumSquare/LogSumExp/LogSum,
    and Size/ConstantOfShape (folded)."""
    m = Model(seed=25, opset=13)
    x = m.input("x", (2, 3, 4))
    y = m.node("Mul", [x, m.const(np.float32(3.0))])
    u = m.node("Add", [m.node("Add", [m.node("Round", [y]), m.node("Sin", [y])]),
                       m.node("Mul", [m.node("Cos", [y]), m.node("Sign", [y])])])
    md = m.node("Mod", [y, m.const(np.float32(0.7))], fmod=1)
    a = m.node("GreaterOrEqual", [x, m.const(np.float32(0))])
    b = m.node("LessOrEqual", [x, m.const(np.float32(0.5))])
    lg = m.node("Cast", [m.node("Or", [m.node("And", [a, b]), m.node("Not", [a])])], to=TensorProto.FLOAT)
    ones = m.node("ConstantOfShape", [m.node("Shape", [x])], value=helper.make_tensor("v", TensorProto.FLOAT,
                                                                                       [1], [1.0]))
    size = m.node("Cast", [m.node("Size", [x])], to=TensorProto.FLOAT)
    pos = m.node("Add", [m.node("Abs", [x]), ones])
    r = [m.node("ReduceProd", [pos], axes=[1], keepdims=1),
         m.node("ReduceL1", [x], axes=[2], keepdims=1),
         m.node("ReduceSumSquare", [x], axes=[1, 2], keepdims=1),
         m.node("ReduceLogSumExp", [x], axes=[2], keepdims=1),
         m.node("ReduceLogSum", [pos], axes=[0], keepdims=1)]
    s = m.node("Sum", [m.node("Add", [u, md]), lg, m.node("Div", [x, size])] + r)
    return m.build(s), None


def int_mod():
    m = Model(opset=13)
    x = m.input("x", (2, 5), TensorProto.INT32)
    y = m.node("Mod", [x, m.const(np.array([3, 2, 4, 5, 7], np.int32))])
    return m.build(y, out_types={y: TensorProto.INT32}), [np.arange(-5, 5, dtype=np.int32).reshape(2, 5) * 3]


def bn_behind_shared_identity():
    """Conv -> Identity -> {BatchNormalization, Relu}: the conv is read twice, so BN must not be folded."""
    m = Model(seed=26)
    x = m.input("x", (1, 3, 5, 5))
    y = m.node("Identity", [m.node("Conv", [x, m.w(3, 3, 3, 3), m.w(3)], pads=[1, 1, 1, 1])])
    b = m.node("BatchNormalization", [y, m.w(3, positive=True), m.w(3), m.w(3), m.w(3, positive=True)])
    return m.build(b, m.node("Relu", [y])), None


def matmul_add_shared():
    """MatMul whose output feeds an Add with a bias AND another op: the bias must not be fused."""
    m = Model(seed=27)
    x = m.input("x", (2, 3, 4))
    y = m.node("MatMul", [x, m.w(4, 5)])
    return m.build(m.node("Add", [y, m.w(5)]), m.node("Neg", [y])), None


def resize_opset10(scales, mode="nearest"):
    def build():
        m = Model(opset=10)
        x = m.input("x", (1, 2, 6, 6))
        y = m.node("Conv", [x, m.w(2, 2, 1, 1)])
        return m.build(m.node("Resize", [y, m.const(np.array(scales, np.float32))], mode=mode)), None
    return build


def resize_nearest_floor_down():
    m = Model(opset=13)
    x = m.input("x", (1, 2, 6, 6))
    y = m.node("Conv", [x, m.w(2, 2, 1, 1)])
    z = m.node("Resize", [y, "", m.const(np.array([1, 1, 0.6, 0.5], np.float32))], mode="nearest",
               coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    return m.build(z), None


def reshape_merging_dynamic_batch():
    """A literal Reshape to (1, -1) of a dynamic-batch input merges the batch into axis 1."""
    m = Model()
    x = m.input("x", ("N", 4))
    y = m.node("Reshape", [m.node("Relu", [x]), m.ints([1, -1])])
    return m.build(m.node("ReduceSum", [y, m.ints([0])], keepdims=1)), None


def pixel_shuffle_6d():
    """PixelShuffle as torch exports it without DepthToSpace: Reshape to 6-D, Transpose, Reshape back."""
    m = Model(seed=28)
    n, c, r, h, w = 1, 2, 2, 3, 4
    x = m.input("x", (n, c * r * r, h, w))
    y = m.node("Conv", [x, m.w(c * r * r, c * r * r, 1, 1), m.w(c * r * r)])
    y = m.node("Reshape", [y, m.ints([n, c, r, r, h, w])])
    y = m.node("Transpose", [y], perm=[0, 1, 4, 2, 5, 3])
    y = m.node("Reshape", [y, m.ints([n, c, h * r, w * r])])
    return m.build(m.node("Conv", [y, m.w(3, c, 3, 3)], pads=[1, 1, 1, 1])), None


def detection_head():
    """Conv head -> permute(0, 2, 3, 1) -> reshape(N, -1, 4) (box regressions), concatenated over two
    levels."""
    m = Model(seed=29)
    x = m.input("x", (1, 3, 8, 8))
    f1 = m.node("Relu", [m.node("Conv", [x, m.w(4, 3, 3, 3), m.w(4)], pads=[1, 1, 1, 1])])
    f2 = m.node("Relu", [m.node("Conv", [f1, m.w(4, 4, 3, 3), m.w(4)], pads=[1, 1, 1, 1], strides=[2, 2])])
    outs = []
    for f in (f1, f2):
        h = m.node("Conv", [f, m.w(8, 4, 1, 1), m.w(8)])
        h = m.node("Transpose", [h], perm=[0, 2, 3, 1])
        outs.append(m.node("Reshape", [h, m.ints([1, -1, 4])]))
    return m.build(m.node("Concat", outs, axis=1)), None
