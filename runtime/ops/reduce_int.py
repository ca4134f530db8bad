"""Integer (int8/uint8/int16) variants of the reduce family, bit-exact with LiteRT's builtin kernels:
MAX_POOL_2D / AVERAGE_POOL_2D, MEAN / SUM / REDUCE_MAX / REDUCE_MIN / REDUCE_PROD, SOFTMAX, LOG_SOFTMAX,
L2_NORMALIZATION. The float handlers in reduce.py check shapes and options, then delegate here. Kernels:
kernels/ref/q_pool.c, q_reduce.c, q_softmax.c (params in kernels/include/edgerun/ops_q_reduce.h).

Each handler follows the path LiteRT's builtin (optimized) kernel takes for that dtype and geometry:
  - pools: no rescaling (input and output share quantization); average rounds half away from zero.
  - MEAN: 4-D input, keep_dims, axes {1, 2}, int8/uint8 -> raw sum times a multiplier derived in float32 plus a
    float32-derived bias; the channels LiteRT computes in its 16-wide vector loop (all but depth % 16, with
    LiteRT's default single thread) round the final shift half up, the rest half away from zero. Everything
    else -> (sum - zp * n) times (in/out scale) folded with 1/n into a Q31 multiplier (double rounding).
  - REDUCE_MAX / REDUCE_MIN: input and output quantization must match (no rescaling); unquantized integer
    tensors also reduce (MAX, MIN, and PROD wrapped to the element type).
  - SUM: float32 rescale round(sum * in/out + bias) + zero point.
  - REDUCE_PROD (int8/int16): product rescaled at every step by in_scale / out_scale^(1/n); over size-1 axes
    only, a plain copy.
  - SOFTMAX int8/uint8: float exp table (TFLite's optimized path on x86); int16: exp and 1/(1+x) LUTs.
  - LOG_SOFTMAX int8/uint8: float exp table, log of the sum, round to nearest even.
  - L2_NORMALIZATION: fixed-point inverse square root, output in 1/128 units.
"""
from __future__ import annotations

import math

import numpy as np

from edgerun.runtime.ops import QUANTIZED, Kernel
from edgerun.runtime.quant import quantize_multiplier

U8, I16, I8 = 3, 7, 9
QRANGE = {I8: (-128, 127), U8: (0, 255), I16: (-32768, 32767)}
ER_QRED = {"MEAN": 0, "MEAN_4D": 1, "SUM": 2, "REDUCE_MAX": 3, "REDUCE_MIN": 4, "REDUCE_PROD": 5, "PROD_RAW": 6}
f32 = np.float32


def _round_away(x: float) -> float:
    """std::round on a double: half away from zero, exact for every double."""
    a = abs(x)
    r = math.floor(a)
    if a - r >= 0.5:
        r += 1
    return math.copysign(r, x) if r else 0.0


def _qparams(t):
    """(scale as float32, zero point) of a per-tensor quantized tensor (scale 0, zp 0 when unquantized)."""
    if not t.quantized:
        return f32(0.0), 0
    return f32(t.scale[0]), int(t.zero_point[0]) if t.zero_point.size else 0


def _multiplier(ctx, real: float, max_shift: int = 30):
    """quantize_multiplier, refusing scale ratios whose shift TFLite's arithmetic cannot take."""
    m, s = quantize_multiplier(real)
    if s > max_shift:
        raise ctx.unsupported(f"requantization scale ratio {real:.6g} is too large (shift {s} > {max_shift})")
    return m, s


def _check_int(ctx, types=(I8, U8, I16), same_output=True):
    x, y = ctx.inputs[0], ctx.outputs[0]
    if x.type not in types:
        names = ", ".join({I8: "INT8", U8: "UINT8", I16: "INT16"}[t] for t in types)
        raise ctx.dtype_error(f"input '{x.name}' is {x.type_name}; integer {ctx.name} takes {names}")
    if same_output and y.type != x.type:
        raise ctx.dtype_error(f"output '{y.name}' is {y.type_name}, input is {x.type_name}")
    for t in (x, y):
        if t.scale.size > 1:
            raise ctx.unsupported(f"per-channel quantization of '{t.name}'")
    return x, y


def activation_range_q(ctx, act, t):
    """TFLite's CalculateActivationRangeQuantized: zero_point + round(f / scale) in float32."""
    qmin, qmax = QRANGE[t.type]
    if act == 0:
        return qmin, qmax
    scale, zp = _qparams(t)
    if scale == 0:
        raise ctx.unsupported(f"fused activation on unquantized output '{t.name}'")

    def q(v):
        return zp + int(_round_away(float(f32(v) / scale)))

    if act == 1:
        return max(qmin, q(0.0)), qmax
    if act == 3:
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if act == 2:
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ctx.unsupported(f"fused activation {act}")


# -- pooling --------------------------------------------------------------------------------------------

def pool2d(ctx, geo, act):
    if ctx.name == "L2_POOL_2D":
        raise ctx.unsupported(f"{ctx.inputs[0].type_name} input (TFLite has no integer L2_POOL_2D)")
    x, y = _check_int(ctx)
    if geo["filter_h"] * geo["filter_w"] >= 1 << 16:
        raise ctx.unsupported(f"pool window {geo['filter_h']}x{geo['filter_w']} (the int32 window sum could "
                              f"overflow)")
    lo, hi = activation_range_q(ctx, act, y)
    p = ctx.new("er_pool_params *", dict(geo, out_min=lo, out_max=hi))
    return Kernel("q_maxpool2d" if ctx.name == "MAX_POOL_2D" else "q_avgpool2d", p)


# -- reductions -----------------------------------------------------------------------------------------

def _raw_axes(ctx):
    """The axis tensor's values in model order, made non-negative and de-duplicated (as LiteRT)."""
    r = len(ctx.inputs[0].shape)
    out = []
    for a in np.asarray(ctx.inputs[1].data).reshape(-1).tolist():
        a = a + r if a < 0 else a
        if a not in out:
            out.append(a)
    return out


def reduce(ctx, axes, view, op):
    x, y = _check_int(ctx)
    name = ctx.name
    n = int(view["n_red"])
    (s_in, zp_in), (s_out, zp_out) = _qparams(x), _qparams(y)
    kw = dict(view, input_zp=zp_in, output_zp=zp_out)
    if not x.quantized and not y.quantized and name in ("REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"):
        # Plain integers (TFLite's generic reduction): max, min, or the product wrapped to the type.
        kw.update(mode=ER_QRED[name] if name != "REDUCE_PROD" else ER_QRED["PROD_RAW"])
        return _reduce_kernel(ctx, kw)
    if not x.quantized or not y.quantized:
        raise ctx.unsupported(f"{x.type_name} {name} needs quantization parameters on input and output")
    if name in ("MEAN", "SUM") and x.type == I16 and (zp_in or zp_out):
        raise ctx.unsupported(f"INT16 {name} with non-zero zero points (input {zp_in}, output {zp_out})")
    if name == "MEAN" and x.size == 0:
        # LiteRT fills the output of a MEAN over an empty input with T's quiet NaN, i.e. 0 for integers.
        kw.update(mode=ER_QRED["SUM"], scale=0.0, fbias=0.0, output_zp=0)
    elif name == "MEAN":
        raw = _raw_axes(ctx)
        if (x.type in (I8, U8) and ctx.opt("keepDims", False) and len(x.shape) == 4
                and sorted(raw) == [1, 2] and len(raw) == 2):
            # TFLite's optimized 4-D mean over height and width: float32 prepare arithmetic.
            num = f32(x.shape[1] * x.shape[2])
            temp = f32(f32(zp_in) * s_in) / s_out
            temp = temp + f32(0.5) if temp > 0 else temp - f32(0.5)
            bias = zp_out - int(temp)
            m, s = _multiplier(ctx, float(s_in / (num * s_out)))
            depth = x.shape[3]
            # the channels in TFLite's 16-wide loop (one thread, as LiteRT by default) round differently
            kw.update(mode=ER_QRED["MEAN_4D"], multiplier=m, shift=s, bias=bias, depth=depth,
                      vec_channels=depth - depth % 16)
        else:
            m, s = _multiplier(ctx, float(s_in) / float(s_out))
            if n > 0:
                k = min(n.bit_length() - 1, 32, 31 + s)
                m, s = (m << k) // n, s - k
            kw.update(mode=ER_QRED["MEAN"], multiplier=m, shift=s)
    elif name == "SUM":
        scale = s_in / s_out
        kw.update(mode=ER_QRED["SUM"], scale=scale, fbias=f32(f32(-zp_in) * scale) * f32(n))
    elif name in ("REDUCE_MAX", "REDUCE_MIN"):
        if s_in != s_out or zp_in != zp_out:
            raise ctx.unsupported(f"{name} with different input and output quantization "
                                  f"({s_in}, {zp_in}) vs ({s_out}, {zp_out})")
        kw.update(mode=ER_QRED[name])
    elif name == "REDUCE_PROD":
        if x.type == U8:
            raise ctx.unsupported("quantized UINT8 REDUCE_PROD (TFLite supports INT8 and INT16)")
        if x.type == I16 and (zp_in or zp_out):
            raise ctx.unsupported(f"INT16 REDUCE_PROD with non-zero zero points ({zp_in}, {zp_out})")
        if n == 0:
            raise ctx.shape_error(f"{name} over an empty axis")
        if n == 1:
            # Every reduced axis has size 1: TFLite's optimized kernel drops them and copies the input
            # unchanged (no rescaling), which a one-element MAX does.
            kw.update(mode=ER_QRED["REDUCE_MAX"])
        else:
            scaling = float(s_in) / math.pow(float(s_out), 1.0 / (x.size // y.size))
            m, s = _multiplier(ctx, scaling, max_shift=14)  # TFLite's 64-bit rescale shifts by 15 - s
            kw.update(mode=ER_QRED[name], multiplier=m, shift=s)
    else:
        raise ctx.unsupported(f"integer {name}")
    return _reduce_kernel(ctx, kw)


def _reduce_kernel(ctx, kw):
    return Kernel("q_reduce", ctx.new("er_q_reduce_params *", kw))


# -- softmax, log softmax -------------------------------------------------------------------------------

def _lut_int16(input_scale, input_zp, output_scale, output_zp, fn):
    """TFLite's LUTPopulate<int16_t> in double: 512 interpolation segments plus the end point."""
    input_min = input_scale * (-32768 - input_zp)
    input_max = input_scale * (32767 - input_zp)
    output_min = output_scale * (-32768 - output_zp)
    output_max = output_scale * (32767 - output_zp)
    steps = 512
    step = (input_max - input_min) / steps
    half_step = step / 2
    inv = 65536.0 / (output_max - output_min)
    lut = np.zeros(steps + 1, np.int16)
    for i in range(steps):
        val = fn(input_min + i * step)
        val_mid = fn(input_min + i * step + half_step)
        val_next = fn(input_min + (i + 1) * step)
        sample = _round_away(val * inv)
        interp = _round_away((val_next * inv + _round_away(val * inv)) / 2)
        mid = _round_away(val_mid * inv)
        bias = _round_away((interp - mid) / 2)
        lut[i] = int(min(max(sample - bias, -32768.0), 32767.0))
    lut[steps] = int(min(max(_round_away(fn(input_max) * inv), -32768.0), 32767.0))
    return lut


_LUTS = {}


def _softmax_luts():
    if not _LUTS:
        rng = 65535
        _LUTS["exp"] = _lut_int16(10.0 / rng, 32767, 2.0 / rng, 0, math.exp)
        _LUTS["recip"] = _lut_int16(1.0 / rng, -32768, 2.0 / rng, 0, lambda v: 1.0 / (1.0 + v))
    return _LUTS["exp"], _LUTS["recip"]


def softmax(ctx, rows, depth, beta):
    x, y = _check_int(ctx, same_output=False)
    if not x.quantized or not y.quantized:
        raise ctx.unsupported(f"{x.type_name} {ctx.name} without quantization parameters")
    (s_in, zp_in), (s_out, zp_out) = _qparams(x), _qparams(y)
    kw = dict(rows=rows, depth=depth, beta=f32(beta), input_scale=s_in, output_scale=s_out, output_zp=zp_out)
    if ctx.name == "LOG_SOFTMAX":
        if x.type == I16 or y.type != x.type:
            raise ctx.dtype_error(f"LOG_SOFTMAX {x.type_name} -> {y.type_name} (TFLite: int8 or uint8, same "
                                  f"output type)")
        want_zp = 127 if x.type == I8 else 255
        if float(s_out) != 16.0 / 256 or zp_out != want_zp:
            raise ctx.unsupported(f"LOG_SOFTMAX output quantization ({float(s_out)}, {zp_out}); TFLite requires "
                                  f"(0.0625, {want_zp})")
        return Kernel("q_log_softmax", ctx.new("er_q_softmax_params *", kw), scratch_bytes=256 * 4)
    if x.type == I16:
        if y.type != I16:
            raise ctx.dtype_error(f"SOFTMAX INT16 -> {y.type_name} (TFLite: INT16 output)")
        if zp_in or zp_out:
            raise ctx.unsupported(f"INT16 SOFTMAX with non-zero zero points ({zp_in}, {zp_out})")
        if abs(float(s_out) - 1.0 / 32768) > 0.001 / 32768:
            raise ctx.unsupported(f"INT16 SOFTMAX output scale {float(s_out)} (TFLite requires 1/32768)")
        exp_lut, recip_lut = _softmax_luts()
        m, s = _multiplier(ctx, float(f32(s_in * f32(beta))) / (10.0 / 65535.0))
        kw.update(input_multiplier=m, input_left_shift=s, exp_lut=ctx.const_ptr(exp_lut, "int16_t *"),
                  recip_lut=ctx.const_ptr(recip_lut, "int16_t *"))
        return Kernel("s16_softmax", ctx.new("er_q_softmax_params *", kw))
    allowed = {I8: (I8, I16), U8: (U8, I16)}[x.type]
    if y.type not in allowed:
        raise ctx.dtype_error(f"SOFTMAX {x.type_name} -> {y.type_name} (TFLite: {x.type_name} or INT16 output)")
    if x.type == I8 and y.type == I8 and (zp_out != -128 or abs(float(s_out) - 1.0 / 256) > 0.001 / 256):
        raise ctx.unsupported(f"INT8 SOFTMAX output quantization ({float(s_out)}, {zp_out}); TFLite requires "
                              f"(1/256, -128)")
    return Kernel("q_softmax", ctx.new("er_q_softmax_params *", kw), scratch_bytes=256 * 4)


# -- L2 normalization -----------------------------------------------------------------------------------

def l2_normalization(ctx, rows, depth):
    x, y = _check_int(ctx, types=(I8, U8))
    if ctx.opt("fusedActivationFunction", 0) != 0:
        raise ctx.unsupported("fused activation on L2_NORMALIZATION")
    if not x.quantized or not y.quantized:
        raise ctx.unsupported(f"{x.type_name} L2_NORMALIZATION without quantization parameters")
    (s_in, zp_in), (s_out, zp_out) = _qparams(x), _qparams(y)
    want_zp = 0 if y.type == I8 else 128
    if float(s_out) != 1.0 / 128 or zp_out != want_zp:
        raise ctx.unsupported(f"L2_NORMALIZATION output quantization ({float(s_out)}, {zp_out}); TFLite "
                              f"requires (1/128, {want_zp})")
    p = ctx.new("er_q_l2norm_params *", dict(rows=rows, depth=depth, input_zp=zp_in))
    return Kernel("q_l2norm", p)


for _name in ("MAX_POOL_2D", "AVERAGE_POOL_2D", "L2_POOL_2D"):
    QUANTIZED[_name] = pool2d
for _name in ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"):
    QUANTIZED[_name] = reduce
QUANTIZED["SOFTMAX"] = softmax
QUANTIZED["LOG_SOFTMAX"] = softmax
QUANTIZED["L2_NORMALIZATION"] = l2_normalization
