"""Integer and hybrid variants of the convolution family (kernels/ref/q_conv*.c), registered in QUANTIZED.

The float handlers in conv.py check shapes and options, set the output shape, then delegate here when the
input is int8/uint8/int16 or the weights are int8 under a float input (hybrid, dynamic-range models):

    int8     int8 activations (any zero point), int8 weights per-tensor or per-channel, int32 bias
    uint8    legacy: uint8 activations and weights, per-tensor, int32 bias
    int16x8  int16 activations with zero point 0, int8 weights, int64 bias (FULLY_CONNECTED also int32)
    hybrid   float activations, constant int8 weights (symmetric, per-tensor or per-channel), float bias

Requantization multipliers are TFLite's: double(input_scale) * double(weight_scale[c]) / double(output_scale)
encoded by QuantizeMultiplier; activation clamps by CalculateActivationRangeQuantized (in float, as TFLite).
The rounding of the requantization follows the path LiteRT's x86 build takes for each op and type (ROUNDING;
measured against LiteRT, see kernels/ref/q_conv.c). Inputs that LiteRT accepts but computes wrongly (int32
bias with int16 convolutions, a per-tensor scale on hybrid depthwise weights) are refused.
"""
from __future__ import annotations


import numpy as np
from edgerun.runtime import pack
from edgerun.runtime.ops import QUANTIZED, Kernel
from edgerun.runtime.quant import float_activation_range, quantize_multiplier, round_half_away

F32, I32, U8, I64, I16, I8 = 0, 2, 3, 4, 7, 9
QRANGE = {I8: (-128, 127), U8: (0, 255), I16: (-32768, 32767)}
PREFIX = {I8: "s8", U8: "u8", I16: "s16"}

# Requantization rounding of LiteRT's x86 builtin kernels, per (op, activation type); see ops_q_conv.h.
RND_TFLITE, RND_UPWARD, RND_UPWARD8, RND_SINGLE64 = 0, 1, 2, 3
ROUNDING = {
    ("CONV_2D", I8): RND_UPWARD, ("CONV_2D", U8): RND_UPWARD,
    ("DEPTHWISE_CONV_2D", I8): RND_UPWARD8, ("DEPTHWISE_CONV_2D", U8): RND_TFLITE,
    ("TRANSPOSE_CONV", I8): RND_UPWARD8, ("TRANSPOSE_CONV", U8): RND_UPWARD,
    ("FULLY_CONNECTED", I8): RND_UPWARD, ("FULLY_CONNECTED", U8): RND_UPWARD,
    # BATCH_MATMUL int8: TFLite's double rounding (LiteRT 2.3's builtin kernel differs from "upward" at ties:
    # tests/kernels/test_qbmm_variants.py has shapes that reach them)
    # int16x8: FULLY_CONNECTED with an int64 bias runs TFLite's reference kernel with a single-rounding
    # 64-bit multiply; without bias or with an int32 bias it runs the optimized int32 GEMM (upward)
    ("FULLY_CONNECTED", I16, I64): RND_SINGLE64, ("FULLY_CONNECTED", I16, I32): RND_UPWARD,
    ("FULLY_CONNECTED", I16, None): RND_UPWARD,
}


def _rounding(ctx, xt, bias):
    key = (ctx.name, xt) if xt != I16 else (ctx.name, xt, None if bias is None else bias.type)
    return ROUNDING.get(key, RND_TFLITE)


def _act(ctx):
    act = ctx.opt("fusedActivationFunction", 0)
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(f"fused activation {act} (only NONE, RELU, RELU_N1_TO_1, RELU6)")
    return act


def activation_range_q(act: int, scale: float, zp: int, qmin: int, qmax: int) -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized: zp + round(f / scale) with the division in float32."""

    def q(v):
        return zp + round_half_away(float(np.float32(v) / np.float32(scale)))

    if act == 1:
        return max(qmin, q(0.0)), qmax
    if act == 3:
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if act == 2:
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    return qmin, qmax


def _scalar_quant(ctx, t, what):
    if not t.quantized:
        raise ctx.dtype_error(f"{what} '{t.name}' ({t.type_name}) has no quantization parameters")
    if t.scale.size != 1:
        raise ctx.unsupported(f"{what} '{t.name}' must be quantized per-tensor, has {t.scale.size} scales")
    zp = int(t.zero_point[0]) if t.zero_point.size else 0
    return float(t.scale[0]), zp


def _weight_scales(ctx, w, n, dim):
    """Per-output-channel weight scales (n entries) and the weight zero point (must be uniform)."""
    if getattr(w, "sparsity", None) is not None:
        raise ctx.unsupported(f"sparse weights '{w.name}' (densify them first)")
    if not w.quantized:
        raise ctx.dtype_error(f"weights '{w.name}' ({w.type_name}) have no quantization parameters")
    s = np.asarray(w.scale, dtype=np.float32)
    if s.size == 1:
        s = np.repeat(s, n)
    elif s.size != n:
        raise ctx.unsupported(f"weights '{w.name}' have {s.size} scales for {n} output channels")
    elif w.quant_dim != dim:
        raise ctx.unsupported(f"weights '{w.name}' are quantized along dimension {w.quant_dim}, "
                              f"expected {dim}")
    zps = np.asarray(w.zero_point, dtype=np.int64) if w.zero_point.size else np.zeros(1, np.int64)
    if zps.size > 1 and np.any(zps != zps.reshape(-1)[0]):
        raise ctx.unsupported(f"weights '{w.name}' have differing zero points per channel")
    return s, int(zps.reshape(-1)[0])


def _multipliers(ctx, in_scale, w_scales, out_scale):
    """Per output channel, quantize_multiplier(in_scale * w_scale / out_scale) (float64, that order)."""
    real = float(in_scale) * np.asarray(w_scales, dtype=np.float64).reshape(-1) / float(out_scale)
    if not np.isfinite(real).all():
        raise ctx.unsupported(f"requantization multipliers input scale {in_scale} * weight scale / output scale "
                              f"{out_scale} are not finite")
    qs, ss = pack.quantize_multipliers(real)
    return ctx.const_ptr(qs, "int32_t *"), ctx.const_ptr(ss, "int32_t *")


def _check_bias(ctx, i, xt):
    b = ctx.inputs[i] if len(ctx.inputs) > i else None
    if b is None:
        return None
    ok = {F32: (F32,), I16: (I64, I32) if ctx.name == "FULLY_CONNECTED" else (I64,)}.get(xt, (I32,))
    if b.type not in ok:
        names = {F32: "FLOAT32", I32: "INT32", I64: "INT64"}
        raise ctx.dtype_error(f"bias '{b.name}' is {b.type_name}; with {ctx.inputs[0].type_name} input it "
                              f"must be {' or '.join(names[t] for t in ok)}")
    return b


def _integer_params(ctx, x, w, y, n_out, wdim, bias):
    """Type checks and requantization params shared by CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, FC."""
    xt = x.type
    if xt not in PREFIX:
        raise ctx.dtype_error(f"input '{x.name}' is {x.type_name}")
    if y.type != xt:
        raise ctx.dtype_error(f"output '{y.name}' is {y.type_name}, input is {x.type_name}")
    want_w = U8 if xt == U8 else I8
    if w.type != want_w:
        raise ctx.dtype_error(f"weights '{w.name}' are {w.type_name}; {x.type_name} input needs "
                              f"{'UINT8' if want_w == U8 else 'INT8'} weights")
    in_s, in_zp = _scalar_quant(ctx, x, "input")
    out_s, out_zp = _scalar_quant(ctx, y, "output")
    w_s, w_zp = _weight_scales(ctx, w, n_out, wdim)
    if xt == U8 and w.scale.size != 1:
        raise ctx.unsupported("uint8 weights must be quantized per-tensor")
    if xt != U8 and w_zp != 0:
        raise ctx.unsupported(f"int8 weights '{w.name}' must be symmetric (zero point {w_zp})")
    if xt == I16 and (in_zp != 0 or out_zp != 0):
        raise ctx.unsupported(f"int16 activations need zero point 0 (input {in_zp}, output {out_zp})")
    mult, shift = _multipliers(ctx, in_s, w_s, out_s)
    lo, hi = activation_range_q(_act(ctx), out_s, out_zp, *QRANGE[xt])
    return dict(input_offset=-in_zp, weight_offset=-w_zp, output_offset=out_zp, out_min=lo, out_max=hi,
                multipliers=mult, shifts=shift, rounding=_rounding(ctx, xt, bias))


def _hybrid_params(ctx, w, n_out, wdim):
    if w.type != I8:
        raise ctx.unsupported(f"hybrid (float input) with {w.type_name} weights: only INT8 weights")
    if not w.is_const:
        raise ctx.unsupported(f"hybrid (float input) needs constant weights; '{w.name}' is not")
    if ctx.outputs[0].type != F32:
        y = ctx.outputs[0]
        raise ctx.dtype_error(f"output '{y.name}' is {y.type_name}, expected FLOAT32")
    w_s, w_zp = _weight_scales(ctx, w, n_out, wdim)
    if w_zp != 0:
        raise ctx.unsupported(f"hybrid weights '{w.name}' must be symmetric (zero point {w_zp})")
    lo, hi = float_activation_range(_act(ctx))
    return w_s, dict(channel_scales=ctx.const_ptr(w_s, "float *"), f_min=lo, f_max=hi)


# -- optimized 8-bit paths (kernels/opt/q_conv.c) --------------------------------------------------
# Constant weights are packed here in int16 offset form; the kernels' int32 dot products are exact while
# K * 255 * 255 < 2^31 (else the reference kernels run). With ctx.isa == "ref" the reference kernels run and
# nothing is packed; otherwise the micro-kernels are those selected at load (runtime/isa.py).
OPT_PB = 32          # GEMM rows per block (ER_QC_PB in kernels/opt/q_conv.c)
OPT_MAX_K = (2**31 - 1) // (255 * 255)


def _bias_ok(bias):
    return bias is None or bias.type == I32


def _use_opt(ctx, xt, w, k):
    return (ctx.isa != "ref" and xt in (I8, U8) and w.is_const
            and w.data is not None and 0 < k <= OPT_MAX_K)


def _opt_fields(ctx, packed, kp, ocp):
    return dict(w_packed=ctx.const_ptr(packed, "int16_t *"), k_padded=int(kp), oc_padded=int(ocp))


def _pack_gemm(w2d, weight_offset):
    """[N, K] weights -> int16 offset form panels [Np / 8][Kp / 2][8][2] (zero padded)."""
    n, k = w2d.shape
    kp, np_ = k + (k & 1), (n + 7) // 8 * 8
    full = np.zeros((np_, kp), np.int16)
    full[:n, :k] = w2d.astype(np.int16) + np.int16(weight_offset)
    out = np.empty((np_ // 8, kp // 2, 8, 2), np.int16)
    # each k pair moves as one int32 (a quarter of the elements to transpose)
    out.view(np.int32).reshape(np_ // 8, kp // 2, 8)[...] = full.view(np.int32).reshape(np_ // 8, 8, kp // 2) \
        .transpose(0, 2, 1)
    return out, kp, np_


# ARM plans (ctx.isa "neon", "neon-dotprod") and x86's "avx512vnni": int8 CONV_2D / FULLY_CONNECTED weights
# stay raw int8 in groups of 4 k (what SDOT and VPDPBUSD read; kernels/opt/q_conv_dot.c), the input zero point
# folded into per-channel corrections.
DOT_ISAS = ("neon", "neon-dotprod", "avx512vnni")


def _use_dot(ctx, xt, q):
    return ctx.isa in DOT_ISAS and xt == I8 and q["weight_offset"] == 0


def _pack_dot(w2d, input_offset):
    """[N, K] int8 weights -> Np int32 corrections input_offset * sum_k w[n][k], then int8 panels
    [Np / 8][K4 / 4][8][4] (Np = N rounded up to 8, K4 = K rounded up to 4, zero padded), then the Np weight
    sums (avx512vnni's unsigned activations fold 128 times them into the bias); as int32 words."""
    return pack.s8_dot(w2d, input_offset)


def _dot_kernel(ctx, name, w2d, q, extra):
    packed, k4, np_ = _pack_dot(w2d, q["input_offset"])
    p = ctx.new("er_qconv_params *", dict(extra, groups=1, depth_multiplier=1, **q,
                                          **_opt_fields(ctx, packed, k4, np_)))
    return Kernel(name, p, scratch_bytes=OPT_PB * (k4 + 4 * np_) + 4 * np_)


def _pack_depthwise(w, weight_offset):
    """[1, KH, KW, C] weights -> int16 offset form tap pairs [ceil(T / 2)][Cp][2] (zero padded)."""
    _, kh, kw, c = w.shape
    t = kh * kw
    ntp, cp = (t + 1) // 2, (c + 7) // 8 * 8
    full = np.zeros((2 * ntp, cp), np.int16)
    full[:t, :c] = w.reshape(t, c).astype(np.int16) + np.int16(weight_offset)
    return np.ascontiguousarray(full.reshape(ntp, 2, cp).transpose(0, 2, 1)), cp


# int8 on the "madd" layout (s8_conv2d_madd, s8_fc_madd, s8_dwconv2d_madd of kernels/opt/q_conv.c, layout in ops_q_conv.h): int8 weights, the
# input zero point folded into the bias (bias + input_offset * sum of the channel's weights, int32 wrapping),
# and the constants of a one-step "upward" requantization, in one blob.


# x86 plans (ARM plans keep the dot and int16 layouts; avx512vnni's CONV_2D / FULLY_CONNECTED take the dot
# layout first, its depthwise this one)
MADD_ISAS = ("portable", "sse2", "avx2", "avx512vnni")


def _s8_madd_ok(ctx, xt, bias):
    return ctx.isa in MADD_ISAS and xt == I8 and (bias is None or (bias.type == I32 and bias.is_const and bias.data is not None))


def _qm_view(ctx, q, n):
    """The multipliers and shifts of _integer_params as numpy views (no list of ints)."""
    return (np.frombuffer(ctx.ffi.buffer(q["multipliers"], 4 * n), np.int32),
            np.frombuffer(ctx.ffi.buffer(q["shifts"], 4 * n), np.int32))


def _pack_s8_gemm(ctx, q, w2d, bias):
    """[N, K] int8 weights -> (blob, kp, np): the madd head (header, folded bias, requantization constants;
    kernels/opt/pack.c er_pack_qm_blob) then panels [Np / 8][Kp / 2][8][2] int8 (zero padded)."""
    mult, shift = _qm_view(ctx, q, w2d.shape[0])
    return pack.s8_madd_gemm(w2d, mult, shift, None if bias is None else bias.data, q["input_offset"])


def _pack_s8_depthwise(ctx, q, w, bias):
    """[1, KH, KW, C] int8 weights -> (blob, Cp): the madd head then tap pairs [ceil(T / 2)][Cp][2] int8."""
    c = w.shape[3]
    cp = (c + 7) // 8 * 8
    mult, shift = _qm_view(ctx, q, c)
    return pack.s8_madd_depthwise(w, cp, mult, shift, None if bias is None else bias.data, q["input_offset"]), cp


# -- CONV_2D -------------------------------------------------------------------------------------------
def conv2d(ctx, geo, groups):
    x, w, y = ctx.inputs[0], ctx.inputs[1], ctx.outputs[0]
    oc, kh, kw, ic = w.shape
    ow = y.shape[2]
    bias = _check_bias(ctx, 2, x.type)
    if x.type == F32:
        w_s, hp = _hybrid_params(ctx, w, oc, 0)
        # TFLite: per-channel (asymmetric input quantization) only when the channel scales differ
        per_channel = w_s.size > 1 and bool(np.any(w_s != w_s[0])) and w.scale.size > 1
        p = ctx.new("er_qconv_params *", dict(geo, groups=groups, depth_multiplier=1,
                                              hq_mode=1 if per_channel else 0, **hp))
        return Kernel("h_conv2d", p, scratch_bytes=2 * kh * kw * ic + x.size // max(x.shape[0], 1))
    q = _integer_params(ctx, x, w, y, oc, 0, bias)
    if groups > 1:  # LiteRT runs grouped convolutions with its reference kernel
        q["rounding"] = RND_TFLITE
    k = kh * kw * ic
    icp = ic + (ic & 1)
    if groups > 1 and _bias_ok(bias) and _use_opt(ctx, x.type, w, kh * kw * icp):
        # one int16 GEMM per group (kernels/opt/q_conv_group.c): K ordered (kh, kw, channel) with the group's
        # channels padded to even, each group's output channels padded to 8, so the panels of all groups pack as
        # one [groups * ocgp, kh * kw * icp] matrix
        ocg = oc // groups
        ocgp = (ocg + 7) // 8 * 8
        wg = np.zeros((groups, ocgp, kh * kw, icp), np.asarray(w.data).dtype)
        wg[:, :ocg, :, :ic] = np.asarray(w.data).reshape(groups, ocg, kh * kw, ic)
        packed, kp, _ = _pack_gemm(wg.reshape(groups * ocgp, kh * kw * icp), q["weight_offset"])
        p = ctx.new("er_qconv_params *", dict(geo, groups=groups, depth_multiplier=1, **q,
                                              **_opt_fields(ctx, packed, kp, ocgp)))
        # scratch: the input in offset form, group-major, each plane ending in a row of zeros (int16, 16-byte
        # aligned), then per thread OPT_PB output pixels' tap offsets, int32 sums and gathered rows (at least one
        # pixel's channels)
        planes = -(-2 * groups * (x.size // x.shape[3] + 1) * icp // 16) * 16
        rows = max(OPT_PB * (8 * kh * kw + 4 * ocgp + 2 * kp), 2 * x.shape[3])
        return Kernel(f"{PREFIX[x.type]}_conv2d_group_gemm", p, scratch_bytes=planes + rows)
    if groups == 1 and _bias_ok(bias) and _use_opt(ctx, x.type, w, k) and _use_dot(ctx, x.type, q):
        return _dot_kernel(ctx, "s8_conv2d_dot", np.asarray(w.data).reshape(oc, k), q, geo)
    if groups == 1 and _s8_madd_ok(ctx, x.type, bias) and _use_opt(ctx, x.type, w, k):
        packed, kp, ocp = _pack_s8_gemm(ctx, q, np.asarray(w.data).reshape(oc, k), bias)
        p = ctx.new("er_qconv_params *", dict(geo, groups=1, depth_multiplier=1, **q,
                                              **_opt_fields(ctx, packed, kp, ocp)))
        return Kernel("s8_conv2d_madd", p, scratch_bytes=OPT_PB * 2 * kp)
    if groups == 1 and _bias_ok(bias) and _use_opt(ctx, x.type, w, k):
        packed, kp, ocp = _pack_gemm(np.asarray(w.data).reshape(oc, k), q["weight_offset"])
        p = ctx.new("er_qconv_params *", dict(geo, groups=1, depth_multiplier=1, **q,
                                              **_opt_fields(ctx, packed, kp, ocp)))
        return Kernel(f"{PREFIX[x.type]}_conv2d_gemm", p, scratch_bytes=OPT_PB * (2 * kp + 4 * ocp))
    p = ctx.new("er_qconv_params *", dict(geo, groups=groups, depth_multiplier=1, **q))
    # the reference needs one window (K int16) and one pixel's accumulators; 4 * k lets the Cortex-M DSP
    # variant (kernels/cortexm/q_conv.c) gather two windows at a time
    return Kernel(f"{PREFIX[x.type]}_conv2d", p, scratch_bytes=8 * (oc // groups) + 4 * k)


# -- DEPTHWISE_CONV_2D ---------------------------------------------------------------------------------
def depthwise_conv2d(ctx, geo, multiplier):
    x, w, y = ctx.inputs[0], ctx.inputs[1], ctx.outputs[0]
    oc = w.shape[3]
    bias = _check_bias(ctx, 2, x.type)
    if x.type == F32:
        if w.scale.size != oc:  # LiteRT reads one scale per channel (garbage beyond a per-tensor scale)
            raise ctx.unsupported(f"hybrid DEPTHWISE_CONV_2D needs per-channel weight scales ({oc}), "
                                  f"'{w.name}' has {w.scale.size}")
        w_s, hp = _hybrid_params(ctx, w, oc, 3)
        p = ctx.new("er_qconv_params *", dict(geo, groups=1, depth_multiplier=multiplier, hq_mode=1, **hp))
        return Kernel("h_dwconv2d", p, scratch_bytes=8 * oc + x.size // max(x.shape[0], 1))
    q = _integer_params(ctx, x, w, y, oc, 3, bias)
    kh, kw = w.shape[1], w.shape[2]
    if multiplier > 1 and oc == x.shape[3] * multiplier and _s8_madd_ok(ctx, x.type, bias) \
            and _use_opt(ctx, x.type, w, kh * kw):
        # the multiplier-1 kernel over the input with each channel repeated `multiplier` times, written to the
        # start of the scratch (kernels/opt/q_conv_group.c)
        packed, cp = _pack_s8_depthwise(ctx, q, np.asarray(w.data), bias)
        ntp = (kh * kw + 1) // 2
        p = ctx.new("er_qconv_params *", dict(geo, groups=1, depth_multiplier=1, **q,
                                              **_opt_fields(ctx, packed, 2 * ntp, cp)))
        repeated = -(-x.size * multiplier // 16) * 16
        return Kernel("s8_dwconv2d_mult_madd", p, scratch_bytes=repeated + 16 * ntp
                      + oc * (1 + (y.shape[2] - 1) * geo["stride_w"]))
    if multiplier > 1 and oc == x.shape[3] * multiplier and _bias_ok(bias) and _use_opt(ctx, x.type, w, kh * kw):
        # the same over the int16 offset-form kernels (uint8; int8 of the ARM plans)
        packed, cp = _pack_depthwise(np.asarray(w.data), q["weight_offset"])
        ntp = (kh * kw + 1) // 2
        p = ctx.new("er_qconv_params *", dict(geo, groups=1, depth_multiplier=1, **q,
                                              **_opt_fields(ctx, packed, 2 * ntp, cp)))
        repeated = -(-x.size * multiplier // 16) * 16
        name = "s8_dwconv2d_mult_vec" if x.type == I8 else "u8_dwconv2d_mult_vec"
        return Kernel(name, p, scratch_bytes=repeated + 16 * ntp + 4 * cp * y.shape[2] + oc)
    if multiplier == 1 and oc == x.shape[3] and _s8_madd_ok(ctx, x.type, bias) and _use_opt(ctx, x.type, w, kh * kw):
        packed, cp = _pack_s8_depthwise(ctx, q, np.asarray(w.data), bias)
        ntp = (kh * kw + 1) // 2
        p = ctx.new("er_qconv_params *", dict(geo, groups=1, depth_multiplier=1, **q,
                                              **_opt_fields(ctx, packed, 2 * ntp, cp)))
        return Kernel("s8_dwconv2d_madd", p, scratch_bytes=16 * ntp + oc * (1 + (y.shape[2] - 1) * geo["stride_w"]))
    if multiplier == 1 and oc == x.shape[3] and _bias_ok(bias) and _use_opt(ctx, x.type, w, kh * kw):
        packed, cp = _pack_depthwise(np.asarray(w.data), q["weight_offset"])
        ntp = (kh * kw + 1) // 2
        p = ctx.new("er_qconv_params *", dict(geo, groups=1, depth_multiplier=1, **q,
                                              **_opt_fields(ctx, packed, 2 * ntp, cp)))
        return Kernel(f"{PREFIX[x.type]}_dwconv2d_vec", p, scratch_bytes=16 * ntp + 4 * cp * y.shape[2] + oc)
    p = ctx.new("er_qconv_params *", dict(geo, groups=1, depth_multiplier=multiplier, **q))
    return Kernel(f"{PREFIX[x.type]}_dwconv2d", p, scratch_bytes=12 * oc + 2 * x.shape[3])


# -- FULLY_CONNECTED -----------------------------------------------------------------------------------
def fully_connected(ctx):
    x, w, y = ctx.inputs[0], ctx.inputs[1], ctx.outputs[0]
    n, k = w.shape
    bias = _check_bias(ctx, 2, x.type)
    if x.type == F32:
        _, hp = _hybrid_params(ctx, w, n, 0)
        mode = 1 if ctx.opt("asymmetricQuantizeInputs", False) else 0
        p = ctx.new("er_qconv_params *", dict(groups=1, depth_multiplier=1, hq_mode=mode, **hp))
        return Kernel("h_fc", p, scratch_bytes=3 * k)
    q = _integer_params(ctx, x, w, y, n, 0, bias)
    if _bias_ok(bias) and _use_opt(ctx, x.type, w, k) and _use_dot(ctx, x.type, q):
        return _dot_kernel(ctx, "s8_fc_dot", np.asarray(w.data).reshape(n, k), q, {})
    if _s8_madd_ok(ctx, x.type, bias) and _use_opt(ctx, x.type, w, k):
        packed, kp, np_ = _pack_s8_gemm(ctx, q, np.asarray(w.data).reshape(n, k), bias)
        p = ctx.new("er_qconv_params *", dict(groups=1, depth_multiplier=1, **q,
                                              **_opt_fields(ctx, packed, kp, np_)))
        return Kernel("s8_fc_madd", p, scratch_bytes=OPT_PB * 2 * kp)
    if _bias_ok(bias) and _use_opt(ctx, x.type, w, k):
        packed, kp, np_ = _pack_gemm(np.asarray(w.data).reshape(n, k), q["weight_offset"])
        p = ctx.new("er_qconv_params *", dict(groups=1, depth_multiplier=1, **q,
                                              **_opt_fields(ctx, packed, kp, np_)))
        return Kernel(f"{PREFIX[x.type]}_fc_gemm", p, scratch_bytes=OPT_PB * (2 * kp + 4 * np_))
    p = ctx.new("er_qconv_params *", dict(groups=1, depth_multiplier=1, **q))
    return Kernel(f"{PREFIX[x.type]}_fc", p, scratch_bytes=8 * n + 2 * k)


# -- TRANSPOSE_CONV ------------------------------------------------------------------------------------
def transpose_conv(ctx, geo):
    w, x, y = ctx.inputs[1], ctx.inputs[2], ctx.outputs[0]
    oc = w.shape[0]
    bias = _check_bias(ctx, 3, x.type)
    if x.type == F32:
        _, hp = _hybrid_params(ctx, w, oc, 0)  # LiteRT quantizes the input asymmetrically in every case
        p = ctx.new("er_qconv_params *", dict(geo, groups=1, depth_multiplier=1, hq_mode=1, **hp))
        return Kernel("h_tconv2d", p, scratch_bytes=8 * y.size // max(y.shape[0], 1) + 2 * x.shape[3]
                      + x.size // max(x.shape[0], 1))
    q = _integer_params(ctx, x, w, y, oc, 0, bias)
    _, kh, kw, ic = w.shape
    if _use_opt(ctx, x.type, w, ic) and (bias is None or bias.type == I32):
        # one int16 GEMM column per (kh, kw, oc) (kernels/opt/q_conv.c tconv_gemm); scratch: the int64
        # accumulators, then up to 64 KiB of pixel rows and their int32 sums
        packed, kp, np_ = _pack_gemm(np.asarray(w.data).transpose(1, 2, 0, 3).reshape(kh * kw * oc, ic),
                                     q["weight_offset"])
        rows = max(1, min(x.shape[1] * x.shape[2], (64 << 10) // (2 * kp + 4 * np_)))
        p = ctx.new("er_qconv_params *", dict(geo, groups=1, depth_multiplier=1, **q,
                                              **_opt_fields(ctx, packed, kp, np_)))
        return Kernel(f"{PREFIX[x.type]}_tconv2d_gemm", p, scratch_bytes=8 * y.size + rows * (2 * kp + 4 * np_))
    p = ctx.new("er_qconv_params *", dict(geo, groups=1, depth_multiplier=1, **q))
    return Kernel(f"{PREFIX[x.type]}_tconv2d", p, scratch_bytes=8 * y.size + 2 * x.shape[3])


# -- BATCH_MATMUL --------------------------------------------------------------------------------------
def batch_matmul(ctx, geo):
    a, b, y = ctx.inputs[0], ctx.inputs[1], ctx.outputs[0]
    m, n, k = geo["m"], geo["n"], geo["k"]
    if a.type == F32:
        return _hybrid_bmm(ctx, geo)
    if a.type not in (I8, I16) or b.type != a.type:
        raise ctx.dtype_error(f"operands {a.type_name} x {b.type_name}: integer BATCH_MATMUL needs INT8 x "
                              f"INT8 or INT16 x INT16")
    # int8 on the int16 GEMM (kernels/opt/q_conv.c s8_bmm_gemm) while its int32 sums are exact; per thread: the
    # packed rhs, a block of lhs rows, their int32 sums, one row widened to int64
    fast = ctx.isa != "ref" and a.type == I8 and k * 255 * 255 < 2**31
    kp, np8 = k + (k & 1), -(-n // 8) * 8
    fast_scratch = 2 * np8 * kp + 2 * OPT_PB * kp + 4 * OPT_PB * np8 + 8 * n
    if a.type == I8 and y.type == I32:
        # LiteRT's int8 x int8 -> int32 BATCH_MATMUL: raw products, zero points not applied
        p = ctx.new("er_qbmm_params *", dict(geo, a_offset=0, b_offset=0))
        if fast:
            return Kernel("s8_bmm_gemm", p, scratch_bytes=fast_scratch)
        return Kernel("s8_bmm", p, scratch_bytes=8 * n + 2 * (m * k + n * k))
    if y.type != a.type:
        raise ctx.unsupported(f"{a.type_name} BATCH_MATMUL with {y.type_name} output")
    a_s, a_zp = _scalar_quant(ctx, a, "lhs")
    b_s, b_zp = _scalar_quant(ctx, b, "rhs")
    o_s, o_zp = _scalar_quant(ctx, y, "output")
    if a.type == I16 and (a_zp or b_zp or o_zp):
        raise ctx.unsupported(f"int16 BATCH_MATMUL needs zero points 0 (lhs {a_zp}, rhs {b_zp}, "
                              f"output {o_zp})")
    mult, shift = quantize_multiplier(float(a_s) * float(b_s) / float(o_s))
    lo, hi = QRANGE[a.type]
    p = ctx.new("er_qbmm_params *", dict(geo, a_offset=-a_zp, b_offset=-b_zp, output_offset=o_zp, out_min=lo,
                                         out_max=hi, multiplier=mult, shift=shift,
                                         rounding=_rounding(ctx, a.type, None)))
    if fast:
        return Kernel("s8_bmm_gemm", p, scratch_bytes=fast_scratch)
    return Kernel(f"{PREFIX[a.type]}_bmm", p, scratch_bytes=8 * n + 2 * (m * k + n * k))


def _hybrid_bmm(ctx, geo):
    b, y = ctx.inputs[1], ctx.outputs[0]
    n, k = geo["n"], geo["k"]
    if b.type != I8:
        raise ctx.unsupported(f"hybrid BATCH_MATMUL (float lhs) with {b.type_name} rhs: only INT8")
    if not b.is_const:
        raise ctx.unsupported(f"hybrid BATCH_MATMUL needs a constant rhs; '{b.name}' is not")
    if y.type != F32:
        raise ctx.dtype_error(f"output '{y.name}' is {y.type_name}, expected FLOAT32")
    if not b.quantized:
        raise ctx.dtype_error(f"rhs '{b.name}' has no quantization parameters")
    if np.any(np.asarray(b.zero_point) != 0):
        raise ctx.unsupported(f"hybrid rhs '{b.name}' must be symmetric")
    adj_y = geo["adj_y"]
    data = np.asarray(b.data, dtype=np.int8)
    packed = data if adj_y else np.swapaxes(data, -1, -2)  # [..., N, K]
    packed = np.ascontiguousarray(packed).reshape(-1, n, k)
    row_sums = packed.astype(np.int32).sum(axis=2, dtype=np.int32)
    scales = np.asarray(b.scale, dtype=np.float32)
    per_channel = scales.size > 1
    if per_channel:
        # the channel axis must be the output column axis n
        ndim = len(b.shape)
        col_axis = ndim - 2 if adj_y else ndim - 1
        if b.quant_dim != col_axis or scales.size != n:
            raise ctx.unsupported(f"hybrid rhs '{b.name}' quantized along dimension {b.quant_dim} "
                                  f"({scales.size} scales); only per output column")
    p = ctx.new("er_qbmm_params *", dict(
        geo, hq_mode=1 if ctx.opt("asymmetricQuantizeInputs", False) else 0,
        b_packed=ctx.const_ptr(packed, "int8_t *"),
        b_row_sums=ctx.const_ptr(row_sums.reshape(-1), "int32_t *"),
        b_scales=ctx.const_ptr(scales, "float *"), b_per_channel=int(per_channel)))
    return Kernel("h_bmm", p, scratch_bytes=4 * k + 2 * k + k)


QUANTIZED["CONV_2D"] = conv2d
QUANTIZED["DEPTHWISE_CONV_2D"] = depthwise_conv2d
QUANTIZED["FULLY_CONNECTED"] = fully_connected
QUANTIZED["TRANSPOSE_CONV"] = transpose_conv
QUANTIZED["BATCH_MATMUL"] = batch_matmul
