"""Keras 3 -> IR. Walks the functional graph (nested models included) and lowers each layer to TFLite ops
from its configuration and weights, read as numpy arrays. Works on any Keras backend and never imports
TensorFlow, so `KERAS_BACKEND=numpy` with only keras installed is enough.

Keras reads its backend once, at import. When the process has not imported keras and KERAS_BACKEND is unset,
the first conversion picks a backend that is installed, cheapest to import first: numpy (it needs jax), then
torch, then tensorflow (seconds to import). Set KERAS_BACKEND to choose.

Layout: channels_last only. A batch dimension left open (None) becomes 1; other open dimensions must be
fixed by the model's Input. Recurrent layers are unrolled over their (fixed) number of time steps."""
from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
from edgerun.converter.frontends import Emitter
from edgerun.converter.ir import RELU6, SAME, VALID, Graph, Tensor

from edgerun.errors import ConversionError

_IDENTITY_LAYERS = {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity", "InputLayer",
}


# backend -> the module it needs, in the order tried when none is chosen
_BACKENDS = (("numpy", "jax"), ("torch", "torch"), ("tensorflow", "tensorflow"))


def choose_backend() -> str | None:
    """The Keras backend conversions will use: KERAS_BACKEND if set (or keras' own, once imported), else the
    first installed of numpy, torch, tensorflow, written to KERAS_BACKEND for keras to read at import."""
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return os.environ.get("KERAS_BACKEND")
    for backend, module in _BACKENDS:
        if importlib.util.find_spec(module) is not None:
            os.environ["KERAS_BACKEND"] = backend
            return backend
    return None


def _keras():
    if "keras" in sys.modules:
        return sys.modules["keras"]
    if importlib.util.find_spec("keras") is None:
        raise ConversionError("converting a Keras model needs keras and a backend for it: "
                              "pip install 'edgerun[keras]'")
    backend = choose_backend()
    if backend is None:
        raise ConversionError("keras is installed but none of its backends is (jax, torch or tensorflow): "
                              "pip install 'edgerun[keras]' (keras with jax)")
    try:
        import keras
    except ImportError as exc:
        raise ConversionError(f"keras cannot be imported with its backend {backend!r}: {exc}; "
                              "pip install 'edgerun[keras]' or set KERAS_BACKEND to an installed backend") from None
    return keras


def load(source, batch_size: int | None = None) -> Graph:
    """A keras.Model, or the path of a `.keras` / `.h5` file, as an IR graph."""
    keras = _keras()
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise ConversionError(f"no such file: {path}")
        try:
            model = keras.models.load_model(path, compile=False)
        except ConversionError:
            raise
        except Exception as exc:  # noqa: BLE001 - Keras raises many kinds; say which file failed
            raise ConversionError(f"cannot load Keras model {path!r}: {type(exc).__name__}: {exc}") from None
    else:
        model = source
    return KerasLowering(batch_size).convert(model)


def _np(v) -> np.ndarray:
    keras = _keras()
    return np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float32)


def _pair(v, n=2):
    if isinstance(v, int):
        return (v,) * n
    return tuple(int(x) for x in v)


class KerasLowering:
    def __init__(self, batch_size: int | None = None):
        self.batch_size = batch_size
        self.g = Graph(name="main")
        self.em = Emitter(self.g)

    # -- entry ---------------------------------------------------------------------------------------
    def convert(self, model) -> Graph:
        keras = _keras()
        if not isinstance(model, keras.Model):
            raise ConversionError(f"expected a keras.Model, got {type(model).__name__}")
        if not model.built or not _model_inputs(model):
            raise ConversionError(f"model {model.name!r} is not built: give it an Input (or call build()) "
                                  "so that its input shapes are known")
        ins, names, open_batch = [], [], []
        for kt in _model_inputs(model):
            shape = list(kt.shape)
            open_batch.append(bool(shape) and shape[0] is None and self.batch_size is None)
            if shape and shape[0] is None:
                shape[0] = self.batch_size or 1
            if any(d is None for d in shape):
                raise ConversionError(f"input {kt.name!r} has shape {tuple(kt.shape)}: only the batch dimension "
                                      "may be unknown; fix the other dimensions in the model's Input")
            name = _input_name(kt)
            dtype = np.dtype(_keras().backend.standardize_dtype(kt.dtype))
            if dtype.kind == "f":
                dtype = np.dtype(np.float32)
            ins.append(self.g.input(name, shape, dtype))
            names.append(name)
        self.g.metadata["open_batch"] = open_batch  # lowered at batch 1; converter/batch.py reopens it
        outs = self.lower_model(model, ins)
        out_names = _output_names(model, len(outs))
        final = []
        for t, name in zip(outs, out_names):
            if t.is_const or t in final or any(t is i for i in self.g.inputs):
                # an output must be written by an op: copy through a reshape
                self.em.scope = name
                s = self.em.const(np.array(t.shape, np.int32), np.int32, "shape")
                t = self.em.op1("RESHAPE", [t, s], t.shape, {"newShape": list(t.shape)})
            t.name = name
            final.append(t)
        self.g.outputs = final
        self.g.input_names, self.g.output_names = names, out_names
        return self.g

    # -- graph walking -------------------------------------------------------------------------------
    def lower_model(self, model, inputs: list) -> list:
        keras = _keras()
        fn = model
        if isinstance(model, keras.Sequential):
            fn = getattr(model, "_functional", None)
            if fn is None:
                return self._lower_sequential(model, inputs)
        if not hasattr(fn, "_nodes_by_depth") or not _is_plain_functional(fn):
            raise ConversionError(f"model {model.name!r} ({type(model).__name__}) is a subclassed model with its own "
                                  "call(); only Sequential and functional models can be converted")
        tmap = {}
        fn_inputs = fn.inputs if isinstance(fn.inputs, (list, tuple)) else keras.tree.flatten(fn.inputs)
        if len(fn_inputs) != len(inputs):
            raise ConversionError(f"model {model.name!r} takes {len(fn_inputs)} inputs, got {len(inputs)}")
        for kt, t in zip(fn_inputs, inputs):
            tmap[id(kt)] = t
        for depth in sorted(fn._nodes_by_depth, reverse=True):
            for node in fn._nodes_by_depth[depth]:
                if not node.operation or node.is_input:
                    continue
                if any(id(x) not in tmap for x in node.input_tensors):
                    continue
                args, kwargs = node.arguments.fill_in(tmap)
                outs = self.call(node.operation, args, kwargs)
                if len(outs) < len(node.outputs):
                    raise ConversionError(f"layer {node.operation.name!r} ({type(node.operation).__name__}): "
                                          f"lowered to {len(outs)} outputs, Keras has {len(node.outputs)}")
                for kt, t in zip(node.outputs, outs):
                    self._check_shape(node.operation, kt, t)
                    tmap[id(kt)] = t
        fn_outputs = keras.tree.flatten(fn.outputs)
        missing = [kt.name for kt in fn_outputs if id(kt) not in tmap]
        if missing:
            raise ConversionError(f"model {model.name!r}: outputs {missing} are not reachable from its inputs")
        return [tmap[id(kt)] for kt in fn_outputs]

    def _lower_sequential(self, model, inputs):
        x = inputs
        for layer in model.layers:
            x = self.call(layer, (x[0] if len(x) == 1 else x,), {})
        return x

    def _check_shape(self, op, kt, t):
        ks = tuple(kt.shape)
        if len(ks) != len(t.shape) or any(k is not None and k != d for k, d in zip(ks, t.shape)):
            raise ConversionError(f"layer {op.name!r} ({type(op).__name__}): converted output shape {t.shape} "
                                  f"does not match Keras' {ks}")

    def call(self, op, args, kwargs) -> list:
        """Lower one call of a layer/model/operation; returns the flat list of its outputs."""
        keras = _keras()
        cls = type(op).__name__
        saved = self.em.scope
        self.em.scope = op.name
        try:
            if isinstance(op, keras.Model):
                ins = [t for t in keras.tree.flatten(list(args)) if isinstance(t, Tensor)]
                return self.lower_model(op, ins)
            x = args[0] if args else None
            if isinstance(op, keras.layers.Layer):
                if not type(op).__module__.startswith("keras."):
                    raise ConversionError(f"layer {op.name!r} ({cls}): custom layer classes cannot be converted")
                if cls in _IDENTITY_LAYERS:
                    return keras.tree.flatten(x)
                if getattr(op, "data_format", "channels_last") == "channels_first":
                    raise ConversionError(f"layer {op.name!r} ({cls}): data_format='channels_first' is not "
                                          "supported (convert a channels_last model)")
                fn = getattr(self, "_layer_" + cls, None)
                if fn is None:
                    raise ConversionError(f"layer {op.name!r} ({cls}) is not supported by the converter")
                out = fn(op, x, kwargs)
            else:
                fn = getattr(self, "_op_" + cls, None)
                if fn is None:
                    raise ConversionError(f"operation {op.name!r} ({cls}) is not supported by the converter")
                out = fn(op, *args, **kwargs)
            return list(out) if isinstance(out, (list, tuple)) else [out]
        finally:
            self.em.scope = saved

    # -- activations ---------------------------------------------------------------------------------
    def activation(self, x: Tensor, act, who=None) -> Tensor:
        keras = _keras()
        if act is None:
            return x
        if isinstance(act, str):
            name = act
        elif getattr(act, "__module__", "").startswith("keras.") and getattr(act, "__name__", "<")[0] != "<":
            name = act.__name__  # a built-in activation (serialize() would import TensorFlow when present)
        else:
            name = keras.activations.serialize(act)
        if not isinstance(name, str):
            raise ConversionError(f"layer {who or self.em.scope!r}: custom activation {name!r} is not supported")
        return self.apply_activation(x, name)

    def apply_activation(self, x: Tensor, name: str, **kw) -> Tensor:
        em = self.em
        if name in ("linear", "identity"):
            return x
        if name == "relu":
            return em.unary("RELU", x)
        if name == "relu6":
            return em.unary("RELU6", x)
        if name == "sigmoid":
            return em.unary("LOGISTIC", x)
        if name == "tanh":
            return em.unary("TANH", x)
        if name == "softmax":
            return em.softmax(x, axis=kw.get("axis", -1))
        if name == "log_softmax":
            return em.softmax(x, axis=kw.get("axis", -1), log=True)
        if name == "elu":
            return self._elu(x, kw.get("alpha", 1.0))
        if name == "selu":
            alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
            return em.mul(self._elu(x, alpha), np.float32(scale))
        if name == "leaky_relu":
            return em.unary("LEAKY_RELU", x, {"alpha": float(kw.get("negative_slope", 0.2))})
        if name == "gelu":
            return em.unary("GELU", x, {"approximate": bool(kw.get("approximate", False))})
        if name == "hard_sigmoid":
            return em.mul(em.add(x, np.float32(3.0), act=RELU6), np.float32(1.0 / 6.0))
        if name in ("hard_silu", "hard_swish"):
            return em.unary("HARD_SWISH", x)
        if name in ("silu", "swish"):
            return em.mul(x, em.unary("LOGISTIC", x))
        if name == "softplus":
            return self._softplus(x)
        if name == "softsign":
            return em.div(x, em.add(em.unary("ABS", x), np.float32(1.0)))
        if name == "exponential":
            return em.unary("EXP", x)
        if name == "mish":
            return em.mul(x, em.unary("TANH", self._softplus(x)))
        if name == "celu":
            alpha = float(kw.get("alpha", 1.0))
            neg = em.unary("EXP", em.mul(em.binary("MINIMUM", x, np.float32(0.0)), np.float32(1.0 / alpha)))
            return em.add(em.unary("RELU", x), em.mul(em.sub(neg, np.float32(1.0)), np.float32(alpha)))
        if name == "hard_tanh":
            return em.unary("RELU_N1_TO_1", x)
        if name == "log_sigmoid":
            return em.unary("NEG", self._softplus(em.unary("NEG", x)))
        raise ConversionError(f"layer {self.em.scope!r}: activation {name!r} is not supported")

    def _elu(self, x, alpha):
        em = self.em
        if alpha == 1.0:
            return em.unary("ELU", x)
        neg = em.sub(em.unary("EXP", em.binary("MINIMUM", x, np.float32(0.0))), np.float32(1.0))
        return em.add(em.unary("RELU", x), em.mul(neg, np.float32(alpha)))

    def _softplus(self, x):
        # log(1 + exp(x)) = relu(x) + log(1 + exp(-|x|)): no overflow for large |x|
        em = self.em
        t = em.unary("LOG", em.add(em.unary("EXP", em.unary("NEG", em.unary("ABS", x))), np.float32(1.0)))
        return em.add(em.unary("RELU", x), t)

    # -- core ----------------------------------------------------------------------------------------
    def _check_quantized(self, layer):
        if getattr(layer, "quantization_mode", None):
            raise ConversionError(f"layer {layer.name!r} ({type(layer).__name__}): Keras-quantized layers "
                                  f"({layer.quantization_mode}) are not supported; convert the float model")

    def _layer_Dense(self, layer, x, kw):
        self._check_quantized(layer)
        w = _np(layer.kernel).T
        b = _np(layer.bias) if layer.use_bias else None
        x = self._float(x)
        y = self.em.fully_connected(x, self.em.const(w, name="kernel"),
                                    None if b is None else self.em.const(b, name="bias"))
        return self.activation(y, layer.activation)

    def _float(self, x):
        return x if x.dtype == np.float32 else self.em.cast(x, np.float32)

    def _layer_Activation(self, layer, x, kw):
        return self.activation(x, layer.activation)

    def _layer_ReLU(self, layer, x, kw):
        em = self.em
        mx, slope, thr = layer.max_value, float(layer.negative_slope), float(layer.threshold)
        mx = None if mx is None else float(mx)
        if thr == 0.0:
            if slope == 0.0 and mx is None:
                return em.unary("RELU", x)
            if slope == 0.0 and mx == 6.0:
                return em.unary("RELU6", x)
            y = em.unary("RELU", x) if slope == 0.0 else em.unary("LEAKY_RELU", x, {"alpha": slope})
        else:
            below = em.mul(em.sub(x, np.float32(thr)), np.float32(slope))
            y = em.select(em.compare("GREATER_EQUAL", x, np.float32(thr)), x, below)
        if mx is not None:
            y = em.binary("MINIMUM", y, np.float32(mx))
        return y

    def _layer_LeakyReLU(self, layer, x, kw):
        return self.em.unary("LEAKY_RELU", x, {"alpha": float(layer.negative_slope)})

    def _layer_ELU(self, layer, x, kw):
        return self._elu(x, float(layer.alpha))

    def _layer_PReLU(self, layer, x, kw):
        alpha = _np(layer.alpha)
        return self.em.binary("PRELU", x, self.em.const(alpha, name="alpha"))

    def _layer_Softmax(self, layer, x, kw):
        axis = layer.axis
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise ConversionError(f"layer {layer.name!r} (Softmax): softmax over several axes {axis}")
            axis = axis[0]
        return self.em.softmax(x, axis=axis)

    # -- convolutions --------------------------------------------------------------------------------
    def _conv_input(self, layer, x, rank):
        """Rank-1 layers run as 2-D ops over (B, 1, W, C)."""
        if rank == 1:
            return self.em.reshape(x, (x.shape[0], 1, x.shape[1], x.shape[2]))
        if rank != 2:
            raise ConversionError(f"layer {layer.name!r} ({type(layer).__name__}): {rank}-D convolutions are "
                                  "not supported")
        return x

    def _conv_output(self, y, rank):
        if rank == 1:
            return self.em.reshape(y, (y.shape[0], y.shape[2], y.shape[3]))
        return y

    def _padding(self, layer, x4, kernel_hw, dilation):
        """(padding enum, possibly pre-padded input) for 'same' / 'valid' / 'causal'."""
        pad = layer.padding.lower()
        if pad == "same":
            return SAME, x4
        if pad == "valid":
            return VALID, x4
        if pad == "causal":
            left = dilation[1] * (kernel_hw[1] - 1)
            return VALID, self.em.pad(x4, [[0, 0], [0, 0], [left, 0], [0, 0]])
        raise ConversionError(f"layer {layer.name!r}: padding {layer.padding!r} is not supported")

    def _conv_geometry(self, layer, rank):
        strides = _pair(layer.strides, rank)
        dil = _pair(layer.dilation_rate, rank)
        if rank == 1:
            strides, dil = (1,) + strides, (1,) + dil
        return strides, dil

    def _layer_Conv1D(self, layer, x, kw):
        return self._conv(layer, x)

    def _layer_Conv2D(self, layer, x, kw):
        return self._conv(layer, x)

    def _conv(self, layer, x):
        self._check_quantized(layer)
        rank = layer.rank
        x4 = self._conv_input(layer, x, rank)
        k = _np(layer.kernel)
        if rank == 1:
            k = k[None]  # (1, k, in/g, out)
        strides, dil = self._conv_geometry(layer, rank)
        padding, x4 = self._padding(layer, x4, k.shape[:2], dil)
        b = _np(layer.bias) if layer.use_bias else None
        groups = int(getattr(layer, "groups", 1) or 1)
        em = self.em
        w = np.transpose(k, (3, 0, 1, 2))  # OHWI
        bias = None if b is None else em.const(b, name="bias")
        if groups == 1:
            y = em.conv2d(x4, em.const(w, name="kernel"), bias, strides, dil, padding)
        else:
            y = self._grouped_conv(x4, w, b, groups, strides, dil, padding)
        return self.activation(self._conv_output(y, rank), layer.activation)

    def _grouped_conv(self, x4, w, b, groups, strides, dil, padding):
        """Grouped convolution: one CONV_2D per group over a split input, concatenated."""
        em = self.em
        xs = em.split(x4, groups, axis=3)
        per = w.shape[0] // groups
        ys = []
        for gi, xg in enumerate(xs):
            wg = em.const(np.ascontiguousarray(w[gi * per:(gi + 1) * per]), name=f"kernel_g{gi}")
            bg = None if b is None else em.const(b[gi * per:(gi + 1) * per], name=f"bias_g{gi}")
            ys.append(em.conv2d(xg, wg, bg, strides, dil, padding))
        return em.concat(ys, axis=3)

    def _layer_DepthwiseConv1D(self, layer, x, kw):
        return self._depthwise(layer, x)

    def _layer_DepthwiseConv2D(self, layer, x, kw):
        return self._depthwise(layer, x)

    def _depthwise_core(self, layer, x4, k, b, rank):
        """k: (kh, kw, C, M) depthwise kernel."""
        em = self.em
        strides, dil = self._conv_geometry(layer, rank)
        padding, x4 = self._padding(layer, x4, k.shape[:2], dil)
        kh, kw_, c, m = k.shape
        w = k.reshape(1, kh, kw_, c * m)
        return em.depthwise_conv2d(x4, em.const(w, name="depthwise_kernel"),
                                   None if b is None else em.const(b, name="bias"), m, strides, dil, padding)

    def _depthwise(self, layer, x):
        self._check_quantized(layer)
        rank = layer.rank
        x4 = self._conv_input(layer, x, rank)
        k = _np(layer.kernel)
        if rank == 1:
            k = k[None]
        b = _np(layer.bias) if layer.use_bias else None
        y = self._depthwise_core(layer, x4, k, b, rank)
        return self.activation(self._conv_output(y, rank), layer.activation)

    def _layer_SeparableConv1D(self, layer, x, kw):
        return self._separable(layer, x)

    def _layer_SeparableConv2D(self, layer, x, kw):
        return self._separable(layer, x)

    def _separable(self, layer, x):
        rank = layer.rank
        x4 = self._conv_input(layer, x, rank)
        dk = _np(layer.depthwise_kernel)
        pk = _np(layer.pointwise_kernel)
        if rank == 1:
            dk, pk = dk[None], pk[None]
        y = self._depthwise_core(layer, x4, dk, None, rank)
        b = _np(layer.bias) if layer.use_bias else None
        w = np.transpose(pk, (3, 0, 1, 2))
        em = self.em
        y = em.conv2d(y, em.const(w, name="pointwise_kernel"), None if b is None else em.const(b, name="bias"))
        return self.activation(self._conv_output(y, rank), layer.activation)

    def _layer_Conv1DTranspose(self, layer, x, kw):
        return self._conv_transpose(layer, x)

    def _layer_Conv2DTranspose(self, layer, x, kw):
        return self._conv_transpose(layer, x)

    def _conv_transpose(self, layer, x):
        rank = layer.rank
        name = f"layer {layer.name!r} ({type(layer).__name__})"
        if any(d != 1 for d in _pair(layer.dilation_rate, rank)):
            raise ConversionError(f"{name}: dilated transposed convolutions are not supported")
        x4 = self._conv_input(layer, x, rank)
        k = _np(layer.kernel)  # (kh, kw, out, in)
        if rank == 1:
            k = k[None]
        strides = _pair(layer.strides, rank)
        if rank == 1:
            strides = (1,) + strides
        if layer.output_padding is not None:
            raise ConversionError(f"{name}: output_padding is not supported")
        pad = layer.padding.lower()
        if pad not in ("same", "valid"):
            raise ConversionError(f"{name}: padding {layer.padding!r} is not supported")
        # Keras' output size: SAME = n * s, VALID = n * s + max(k - s, 0)
        out_hw = [n * s if pad == "same" else n * s + max(kk - s, 0)
                  for n, kk, s in zip(x4.shape[1:3], k.shape[:2], strides)]
        w = np.transpose(k, (2, 0, 1, 3))  # (out, kh, kw, in)
        b = _np(layer.bias) if layer.use_bias else None
        em = self.em
        y = em.transpose_conv(x4, em.const(w, name="kernel"), None if b is None else em.const(b, name="bias"),
                              out_hw, strides, SAME if pad == "same" else VALID)
        return self.activation(self._conv_output(y, rank), layer.activation)

    # -- pooling -------------------------------------------------------------------------------------
    def _pool(self, layer, x, type):
        rank = 1 if len(x.shape) == 3 else 2
        x4 = self._conv_input(layer, x, rank)
        size = _pair(layer.pool_size, rank)
        strides = _pair(layer.strides if layer.strides is not None else layer.pool_size, rank)
        if rank == 1:
            size, strides = (1,) + size, (1,) + strides
        pad = layer.padding.lower()
        y = self.em.pool2d(type, x4, size, strides, SAME if pad == "same" else VALID)
        return self._conv_output(y, rank)

    def _layer_MaxPooling1D(self, layer, x, kw):
        return self._pool(layer, x, "MAX_POOL_2D")

    _layer_MaxPooling2D = _layer_MaxPooling1D

    def _layer_AveragePooling1D(self, layer, x, kw):
        return self._pool(layer, x, "AVERAGE_POOL_2D")

    _layer_AveragePooling2D = _layer_AveragePooling1D

    def _global_pool(self, layer, x, type):
        axes = list(range(1, len(x.shape) - 1))
        return self.em.reduce(type, x, axes, bool(getattr(layer, "keepdims", False)))

    def _layer_GlobalAveragePooling1D(self, layer, x, kw):
        if kw.get("mask") is not None:
            raise ConversionError(f"layer {layer.name!r} (GlobalAveragePooling1D): masked pooling is not supported")
        return self._global_pool(layer, x, "MEAN")

    _layer_GlobalAveragePooling2D = _layer_GlobalAveragePooling1D
    _layer_GlobalAveragePooling3D = _layer_GlobalAveragePooling1D

    def _layer_GlobalMaxPooling1D(self, layer, x, kw):
        return self._global_pool(layer, x, "REDUCE_MAX")

    _layer_GlobalMaxPooling2D = _layer_GlobalMaxPooling1D
    _layer_GlobalMaxPooling3D = _layer_GlobalMaxPooling1D

    # -- normalization -------------------------------------------------------------------------------
    def _channel_shape(self, x, axes):
        """Shape of a per-channel constant over `axes` that broadcasts against x (batch dim dropped)."""
        rank = len(x.shape)
        axes = sorted(a % rank for a in axes)
        if axes == [rank - 1]:
            return (x.shape[-1],)
        return tuple(x.shape[i] if i in axes else 1 for i in range(1, rank))

    def _layer_BatchNormalization(self, layer, x, kw):
        axis = layer.axis
        axes = [axis] if isinstance(axis, int) else list(axis)
        shape = self._channel_shape(x, axes)
        n = int(np.prod(shape))
        gamma = _np(layer.gamma) if layer.scale else np.ones(n, np.float32)
        beta = _np(layer.beta) if layer.center else np.zeros(n, np.float32)
        mean, var = _np(layer.moving_mean), _np(layer.moving_variance)
        inv = (1.0 / np.sqrt(var.astype(np.float64) + layer.epsilon)) * gamma
        shift = beta - mean * inv
        em = self.em
        y = em.mul(x, em.const(inv.astype(np.float32).reshape(shape), name="scale"))
        return em.add(y, em.const(shift.astype(np.float32).reshape(shape), name="offset"))

    def _layer_LayerNormalization(self, layer, x, kw):
        em = self.em
        axes = [layer.axis] if isinstance(layer.axis, int) else list(layer.axis)
        shape = self._channel_shape(x, axes)
        mean = em.reduce("MEAN", x, axes, True)
        d = em.sub(x, mean)
        var = em.reduce("MEAN", em.mul(d, d), axes, True)
        inv = em.unary("RSQRT", em.add(var, np.float32(layer.epsilon)))
        if layer.rms_scaling:
            y = em.mul(x, inv)
            if layer.scale:
                y = em.mul(y, em.const(_np(layer.gamma).reshape(shape), name="gamma"))
            return y
        y = em.mul(d, inv)
        if layer.scale:
            y = em.mul(y, em.const(_np(layer.gamma).reshape(shape), name="gamma"))
        if layer.center:
            y = em.add(y, em.const(_np(layer.beta).reshape(shape), name="beta"))
        return y

    def _layer_UnitNormalization(self, layer, x, kw):
        axes = [layer.axis] if isinstance(layer.axis, int) else list(layer.axis)
        if sorted(a % len(x.shape) for a in axes) != [len(x.shape) - 1]:
            raise ConversionError(f"layer {layer.name!r} (UnitNormalization): only the last axis is supported")
        return self.em.unary("L2_NORMALIZATION", x)

    def _layer_Rescaling(self, layer, x, kw):
        em = self.em
        y = self._float(x)
        scale = np.asarray(layer.scale, np.float32)
        offset = np.asarray(layer.offset, np.float32)
        if np.any(scale != 1):
            y = em.mul(y, em.const(scale, name="scale"))
        if np.any(offset != 0):
            y = em.add(y, em.const(offset, name="offset"))
        return y

    def _layer_Normalization(self, layer, x, kw):
        em = self.em
        keras = _keras()
        x = self._float(x)
        mean = np.asarray(keras.ops.convert_to_numpy(layer.mean), np.float32)
        var = np.asarray(keras.ops.convert_to_numpy(layer.variance), np.float32)
        eps = keras.backend.epsilon()
        std = np.maximum(np.sqrt(var), np.float32(eps)).astype(np.float32)
        # Keras keeps the batch axis in the stored mean/variance shape: drop it for a broadcastable constant
        if mean.ndim == len(x.shape):
            mean, std = mean[0], std[0]
        if layer.invert:
            return em.add(em.mul(x, em.const(std, name="std")), em.const(mean, name="mean"))
        return em.div(em.sub(x, em.const(mean, name="mean")), em.const(std, name="std"))

    # -- merging -------------------------------------------------------------------------------------
    def _merge(self, layer, xs, op_type):
        if not isinstance(xs, (list, tuple)):
            raise ConversionError(f"layer {layer.name!r} ({type(layer).__name__}) expects a list of inputs")
        y = xs[0]
        for t in xs[1:]:
            y = self.em.binary(op_type, y, t)
        return y

    def _layer_Add(self, layer, xs, kw):
        return self._merge(layer, xs, "ADD")

    def _layer_Subtract(self, layer, xs, kw):
        return self.em.sub(xs[0], xs[1])

    def _layer_Multiply(self, layer, xs, kw):
        return self._merge(layer, xs, "MUL")

    def _layer_Maximum(self, layer, xs, kw):
        return self._merge(layer, xs, "MAXIMUM")

    def _layer_Minimum(self, layer, xs, kw):
        return self._merge(layer, xs, "MINIMUM")

    def _layer_Average(self, layer, xs, kw):
        return self.em.mul(self._merge(layer, xs, "ADD"), np.float32(1.0 / len(xs)))

    def _layer_Concatenate(self, layer, xs, kw):
        return self.em.concat(list(xs), layer.axis)

    def _layer_Dot(self, layer, xs, kw):
        a, b = xs
        axes = layer.axes
        axes = (axes, axes) if isinstance(axes, int) else tuple(axes)
        ra, rb = len(a.shape), len(b.shape)
        ax, bx = axes[0] % ra, axes[1] % rb
        if layer.normalize:
            if ax != ra - 1 or bx != rb - 1:
                raise ConversionError(f"layer {layer.name!r} (Dot): normalize=True needs the last axes")
            a, b = self.em.unary("L2_NORMALIZATION", a), self.em.unary("L2_NORMALIZATION", b)
        if ra == 2 and rb == 2:
            y = self.em.reduce("SUM", self.em.mul(a, b), [1], True)
            return y
        if ra != 3 or rb != 3 or ax == 0 or bx == 0:
            raise ConversionError(f"layer {layer.name!r} (Dot): only rank-2 and rank-3 inputs are supported")
        return self.em.batch_matmul(a, b, adj_x=(ax == 1), adj_y=(bx == 2))

    # -- reshaping -----------------------------------------------------------------------------------
    def _layer_Flatten(self, layer, x, kw):
        return self.em.reshape(x, (x.shape[0], -1))

    def _layer_Reshape(self, layer, x, kw):
        return self.em.reshape(x, (x.shape[0],) + tuple(int(d) for d in layer.target_shape))

    def _layer_Permute(self, layer, x, kw):
        return self.em.transpose(x, [0] + [int(d) for d in layer.dims])

    def _layer_RepeatVector(self, layer, x, kw):
        n = int(layer.n)
        y = self.em.reshape(x, (x.shape[0], 1, x.shape[1]))
        return self.em.tile(y, [1, n, 1])

    def _layer_ZeroPadding1D(self, layer, x, kw):
        p = _pair(layer.padding)
        return self.em.pad(x, [[0, 0], list(p), [0, 0]])

    def _layer_ZeroPadding2D(self, layer, x, kw):
        (t, b), (lft, r) = layer.padding
        return self.em.pad(x, [[0, 0], [t, b], [lft, r], [0, 0]])

    def _layer_Cropping1D(self, layer, x, kw):
        a, b = _pair(layer.cropping)
        return self.em.slice(x, [0, a, 0], [x.shape[0], x.shape[1] - a - b, x.shape[2]])

    def _layer_Cropping2D(self, layer, x, kw):
        (t, b), (lft, r) = layer.cropping
        n, h, w, c = x.shape
        return self.em.slice(x, [0, t, lft, 0], [n, h - t - b, w - lft - r, c])

    def _layer_UpSampling1D(self, layer, x, kw):
        s = int(layer.size)
        n, w, c = x.shape
        y = self.em.tile(self.em.reshape(x, (n, w, 1, c)), [1, 1, s, 1])
        return self.em.reshape(y, (n, w * s, c))

    def _layer_UpSampling2D(self, layer, x, kw):
        sh, sw = _pair(layer.size)
        h, w = x.shape[1:3]
        interp = layer.interpolation
        if interp == "nearest":
            return self.em.resize("RESIZE_NEAREST_NEIGHBOR", x, (h * sh, w * sw))
        if interp == "bilinear":
            return self.em.resize("RESIZE_BILINEAR", x, (h * sh, w * sw), half_pixel_centers=True)
        raise ConversionError(f"layer {layer.name!r} (UpSampling2D): interpolation {interp!r} is not supported")

    def _layer_Resizing(self, layer, x, kw):
        name = f"layer {layer.name!r} (Resizing)"
        if getattr(layer, "crop_to_aspect_ratio", False) or getattr(layer, "pad_to_aspect_ratio", False):
            raise ConversionError(f"{name}: crop_to_aspect_ratio / pad_to_aspect_ratio are not supported")
        size = (int(layer.height), int(layer.width))
        x = self._float(x)
        if len(x.shape) != 4:
            raise ConversionError(f"{name}: needs a batched NHWC input, got {x.shape}")
        if getattr(layer, "antialias", False) and (size[0] < x.shape[1] or size[1] < x.shape[2]):
            raise ConversionError(f"{name}: antialiased downsampling is not supported")
        if layer.interpolation == "bilinear":
            return self.em.resize("RESIZE_BILINEAR", x, size, half_pixel_centers=True)
        if layer.interpolation == "nearest":
            return self.em.resize("RESIZE_NEAREST_NEIGHBOR", x, size, half_pixel_centers=True)
        raise ConversionError(f"{name}: interpolation {layer.interpolation!r} is not supported")

    def _layer_Embedding(self, layer, x, kw):
        self._check_quantized(layer)
        if getattr(layer, "mask_zero", False):
            raise ConversionError(f"layer {layer.name!r} (Embedding): mask_zero=True (masking) is not supported")
        table = _np(layer.embeddings)
        if x.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
            x = self.em.cast(x, np.int32)
        return self.em.gather(self.em.const(table, name="embeddings"), x, 0)

    # -- wrappers ------------------------------------------------------------------------------------
    def _layer_TimeDistributed(self, layer, x, kw):
        n, t = x.shape[:2]
        inner = self.em.reshape(x, (n * t,) + tuple(x.shape[2:]))
        outs = self.call(layer.layer, (inner,), {})
        if len(outs) != 1:
            raise ConversionError(f"layer {layer.name!r} (TimeDistributed): the wrapped layer has several outputs")
        y = outs[0]
        return self.em.reshape(y, (n, t) + tuple(y.shape[1:]))

    # -- recurrent -----------------------------------------------------------------------------------
    def _rnn_inputs(self, layer, x, kw):
        name = f"layer {layer.name!r} ({type(layer).__name__})"
        if isinstance(x, (list, tuple)):
            x, states = x[0], list(x[1:])
        else:
            states = []
        init = kw.get("initial_state")
        if init is not None:
            states = list(init) if isinstance(init, (list, tuple)) else [init]
        if kw.get("mask") is not None:
            raise ConversionError(f"{name}: masking is not supported")
        if getattr(layer, "stateful", False):
            raise ConversionError(f"{name}: stateful recurrent layers are not supported")
        if len(x.shape) != 3:
            raise ConversionError(f"{name}: expects (batch, time, features), got {x.shape}")
        return self._float(x), states

    def _rnn_steps(self, layer, x, states, go_backwards):
        """Run the cell over time; returns (per-step outputs in processing order, final states)."""
        cell = layer.cell
        cls = type(layer).__name__
        em = self.em
        n, steps = x.shape[:2]
        kernel = _np(cell.kernel)
        rec = _np(cell.recurrent_kernel)
        units = rec.shape[0]
        bias = _np(cell.bias) if cell.use_bias else None
        act = cell.activation
        ract = getattr(cell, "recurrent_activation", None)
        in_bias = bias
        if cls == "GRU" and cell.reset_after and bias is not None:
            in_bias, rec_bias = bias[0], bias[1]
        else:
            rec_bias = None
        xw = em.fully_connected(x, em.const(kernel.T, name="kernel"),
                                None if in_bias is None else em.const(in_bias, name="bias"))
        xs = [em.reshape(xw, (n, xw.shape[-1]))] if steps == 1 else em.unpack(xw, axis=1)
        order = range(steps - 1, -1, -1) if go_backwards else range(steps)
        h = states[0] if states else None
        c = states[1] if len(states) > 1 else None
        outs = []
        if cls == "LSTM":
            rw = em.const(rec.T, name="recurrent_kernel")
            for t in order:
                z = xs[t] if h is None else em.add(xs[t], em.fully_connected(h, rw, None))
                zi, zf, zc, zo = em.split(z, 4, axis=1)
                i = self.activation(zi, ract)
                f = self.activation(zf, ract)
                g = self.activation(zc, act)
                o = self.activation(zo, ract)
                c = em.mul(i, g) if c is None else em.add(em.mul(f, c), em.mul(i, g))
                h = em.mul(o, self.activation(c, act))
                outs.append(h)
            return outs, [h, c]
        if cls == "GRU":
            if cell.reset_after:
                rw = em.const(rec.T, name="recurrent_kernel")
                rb = None if rec_bias is None else em.const(rec_bias, name="recurrent_bias")
                rb_parts = None if rec_bias is None else [em.const(p, name="recurrent_bias")
                                                          for p in np.split(rec_bias, 3)]
            else:
                rw_zr = em.const(np.ascontiguousarray(rec[:, :2 * units].T), name="recurrent_kernel_zr")
                rw_h = em.const(np.ascontiguousarray(rec[:, 2 * units:].T), name="recurrent_kernel_h")
            for t in order:
                xz, xr, xh = em.split(xs[t], 3, axis=1)
                if cell.reset_after:
                    if h is None:
                        parts = rb_parts
                    else:
                        parts = em.split(em.fully_connected(h, rw, rb), 3, axis=1)
                    if parts is None:  # no bias and h = 0: every recurrent term is zero
                        z = self.activation(xz, ract)
                        hh = self.activation(xh, act)
                    else:
                        z = self.activation(em.add(xz, parts[0]), ract)
                        r = self.activation(em.add(xr, parts[1]), ract)
                        hh = self.activation(em.add(xh, em.mul(r, parts[2])), act)
                else:
                    if h is None:
                        z = self.activation(xz, ract)
                        hh = self.activation(xh, act)
                    else:
                        rz, rr = em.split(em.fully_connected(h, rw_zr, None), 2, axis=1)
                        z = self.activation(em.add(xz, rz), ract)
                        r = self.activation(em.add(xr, rr), ract)
                        hh = self.activation(em.add(xh, em.fully_connected(em.mul(r, h), rw_h, None)), act)
                # h = z * h_prev + (1 - z) * hh
                h = em.sub(hh, em.mul(z, hh)) if h is None else em.add(hh, em.mul(z, em.sub(h, hh)))
                outs.append(h)
            return outs, [h]
        # SimpleRNN
        rw = em.const(rec.T, name="recurrent_kernel")
        for t in order:
            z = xs[t] if h is None else em.add(xs[t], em.fully_connected(h, rw, None))
            h = self.activation(z, act)
            outs.append(h)
        return outs, [h]

    def _rnn(self, layer, x, kw):
        x, states = self._rnn_inputs(layer, x, kw)
        outs, states = self._rnn_steps(layer, x, states, layer.go_backwards)
        y = self.em.pack(outs, axis=1) if layer.return_sequences else outs[-1]
        return [y] + states if layer.return_state else y

    _layer_LSTM = _rnn
    _layer_GRU = _rnn
    _layer_SimpleRNN = _rnn

    def _layer_Bidirectional(self, layer, x, kw):
        em = self.em
        x, states = self._rnn_inputs(layer, x, kw)
        fwd, bwd = layer.forward_layer, layer.backward_layer
        for sub in (fwd, bwd):
            if type(sub).__name__ not in ("LSTM", "GRU", "SimpleRNN"):
                raise ConversionError(f"layer {layer.name!r} (Bidirectional): wrapped layer {type(sub).__name__} "
                                      "is not supported")
        half = len(states) // 2
        em.scope = f"{layer.name}/{fwd.name}"
        fo, fs = self._rnn_steps(fwd, x, states[:half], fwd.go_backwards)
        em.scope = f"{layer.name}/{bwd.name}"
        bo, bs = self._rnn_steps(bwd, x, states[half:], bwd.go_backwards)
        em.scope = layer.name
        if layer.return_sequences:
            yf = em.pack(fo, axis=1)
            yb = em.pack(bo[::-1], axis=1)  # back in input time order
        else:
            yf, yb = fo[-1], bo[-1]
        mode = layer.merge_mode
        if mode == "concat":
            out = [em.concat([yf, yb], axis=-1)]
        elif mode == "sum":
            out = [em.add(yf, yb)]
        elif mode == "mul":
            out = [em.mul(yf, yb)]
        elif mode == "ave":
            out = [em.mul(em.add(yf, yb), np.float32(0.5))]
        elif mode is None:
            out = [yf, yb]
        else:
            raise ConversionError(f"layer {layer.name!r} (Bidirectional): merge_mode {mode!r} is not supported")
        return out + fs + bs if layer.return_state else out

    # -- keras.ops operations inside functional graphs ------------------------------------------------
    def _operand(self, v, like=None):
        if isinstance(v, Tensor):
            return v
        dtype = like.dtype if like is not None else np.float32
        return self.em.const(np.asarray(v, dtype=dtype), dtype)

    def _binop(self, type, a, b):
        like = a if isinstance(a, Tensor) else b
        return self.em.binary(type, self._operand(a, like), self._operand(b, like))

    def _op_Add(self, op, a, b):
        return self._binop("ADD", a, b)

    def _op_Subtract(self, op, a, b):
        return self._binop("SUB", a, b)

    def _op_Multiply(self, op, a, b):
        return self._binop("MUL", a, b)

    def _op_Divide(self, op, a, b):
        return self._binop("DIV", a, b)

    _op_TrueDivide = _op_Divide

    def _op_Maximum(self, op, a, b):
        return self._binop("MAXIMUM", a, b)

    def _op_Minimum(self, op, a, b):
        return self._binop("MINIMUM", a, b)

    def _op_Power(self, op, a, b):
        return self._binop("POW", a, b)

    def _unary_op(name):
        def fn(self, op, x, *args, **kw):
            return self.em.unary(name, x)

        return fn

    _op_Negative = _unary_op("NEG")
    _op_Abs = _unary_op("ABS")
    _op_Absolute = _unary_op("ABS")
    _op_Exp = _unary_op("EXP")
    _op_Log = _unary_op("LOG")
    _op_Sqrt = _unary_op("SQRT")
    _op_Rsqrt = _unary_op("RSQRT")
    _op_Square = _unary_op("SQUARE")
    _op_Tanh = _unary_op("TANH")
    _op_Sigmoid = _unary_op("LOGISTIC")
    _op_Relu = _unary_op("RELU")
    _op_Relu6 = _unary_op("RELU6")
    _op_Floor = _unary_op("FLOOR")
    _op_Ceil = _unary_op("CEIL")
    _op_Sin = _unary_op("SIN")
    _op_Cos = _unary_op("COS")

    def _op_Softmax(self, op, x, axis=-1):
        return self.em.softmax(x, axis=getattr(op, "axis", axis))

    def _op_Reshape(self, op, x, *args, **kw):
        return self.em.reshape(x, op.newshape)

    def _op_Transpose(self, op, x, *args, **kw):
        axes = op.axes if op.axes is not None else list(range(len(x.shape)))[::-1]
        return self.em.transpose(x, axes)

    def _op_Concatenate(self, op, xs, *args, **kw):
        return self.em.concat(list(xs), op.axis)

    def _op_ExpandDims(self, op, x, *args, **kw):
        shape = list(x.shape)
        axes = op.axis if isinstance(op.axis, (list, tuple)) else [op.axis]
        for a in sorted(a % (len(shape) + 1) for a in axes):
            shape.insert(a, 1)
        return self.em.reshape(x, shape)

    def _op_Squeeze(self, op, x, *args, **kw):
        axes = op.axis
        if axes is None:
            axes = [i for i, d in enumerate(x.shape) if d == 1]
        axes = [a % len(x.shape) for a in (axes if isinstance(axes, (list, tuple)) else [axes])]
        return self.em.reshape(x, [d for i, d in enumerate(x.shape) if i not in axes])

    def _reduce_op(type):
        def fn(self, op, x, *args, **kw):
            axis = op.axis
            axes = list(range(len(x.shape))) if axis is None else (list(axis) if isinstance(axis, (list, tuple))
                                                                   else [axis])
            return self.em.reduce(type, x, axes, bool(op.keepdims))

        return fn

    _op_Mean = _reduce_op("MEAN")
    _op_Sum = _reduce_op("SUM")
    _op_Max = _reduce_op("REDUCE_MAX")
    _op_Min = _reduce_op("REDUCE_MIN")

    def _op_Matmul(self, op, a, b):
        em = self.em
        if isinstance(b, Tensor) and not b.is_const or len(_shape_of(b)) != 2:
            return em.batch_matmul(self._operand(a), self._operand(b))
        w = np.asarray(b, np.float32) if not isinstance(b, Tensor) else b.data
        return em.fully_connected(a, em.const(np.ascontiguousarray(w.T), name="kernel"), None)

    def _op_GetItem(self, op, x, key):
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis or k is None or isinstance(k, Tensor) for k in key):
            raise ConversionError(f"operation {op.name!r} (GetItem): index {key!r} is not supported")
        begin, end, strides, shape, shrink, end_mask = [], [], [], [], 0, 0
        for i, d in enumerate(x.shape):
            k = key[i] if i < len(key) else slice(None)
            if isinstance(k, slice):
                s, e, st = k.indices(d)
                shape.append(len(range(s, e, st)))
                if e < 0:  # a reversed slice running to the front: -1 would wrap to the last element
                    end_mask |= 1 << i
                    e = 0
                begin.append(s), end.append(e), strides.append(st)
            else:
                k = int(k) % d
                begin.append(k), end.append(k + 1), strides.append(1)
                shrink |= 1 << i
        em = self.em
        return em.op1("STRIDED_SLICE", [x, em.const(np.array(begin, np.int32), np.int32, "begin"),
                                        em.const(np.array(end, np.int32), np.int32, "end"),
                                        em.const(np.array(strides, np.int32), np.int32, "strides")], shape,
                      {"beginMask": 0, "endMask": end_mask, "shrinkAxisMask": shrink})


def _shape_of(v):
    return v.shape if isinstance(v, Tensor) else np.shape(v)


def _model_inputs(model):
    try:
        ins = model.inputs
    except (AttributeError, ValueError):
        return []
    if ins is None:
        return []
    return list(_keras().tree.flatten(ins))


def _input_name(kt) -> str:
    hist = getattr(kt, "_keras_history", None)
    if hist is not None and getattr(hist, "operation", None) is not None:
        return hist.operation.name
    return kt.name


def _output_names(model, n):
    names = None
    try:
        names = list(model.output_names)
    except (AttributeError, ValueError, TypeError):
        pass
    if not names or len(names) != n or len(set(names)) != n:
        names = [f"output_{i}" for i in range(n)]
    return names


def _is_plain_functional(fn) -> bool:
    """A functional model whose call() is Keras' own graph walk (not overridden by a subclass)."""
    from keras.src.models.functional import Functional

    return isinstance(fn, Functional) and type(fn).call is Functional.call
