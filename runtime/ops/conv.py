"""Convolution family: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV, BATCH_MATMUL.
Shape rules and padding follow TFLite (SAME puts the odd extra pixel at the bottom/right).
Kernels: kernels/ref/conv.c, kernels/ref/fc.c (portable reference); float CONV_2D, DEPTHWISE_CONV_2D
(multiplier 1), FULLY_CONNECTED and TRANSPOSE_CONV with constant weights, and every float BATCH_MATMUL (its
right-hand side packed at run time), run the fast kernels of kernels/opt/conv.c on weights packed here once (panels of 16 output channels, see kernels/opt/gemm_f32_packed.h), on the
micro-kernels selected at load (runtime/isa.py). With ctx.isa == "ref" the reference kernels run and nothing
is packed. Environment, read at prepare: EDGERUN_CONV_IN_PLACE_MIN_WIDTH (default 12) is the output width
from which CONV_2D reads windows in place.
Integer variants in runtime/ops/conv_int.py."""
from __future__ import annotations

import os

import numpy as np
from edgerun.runtime import pack
from edgerun.runtime.ops import QUANTIZED, Kernel, register
from edgerun.runtime.quant import float_activation_range

F32 = 0


def out_size(padding: int, size: int, filt: int, stride: int, dilation: int = 1) -> int:
    """TFLite's ComputeOutSize: SAME = ceil(size / stride), VALID = ceil((size - eff + 1) / stride)."""
    eff = (filt - 1) * dilation + 1
    if padding == 0:  # SAME
        return (size + stride - 1) // stride
    if padding == 1:  # VALID
        return (size + stride - eff) // stride
    raise ValueError(padding)


def pad_before(stride: int, dilation: int, size: int, filt: int, out: int) -> int:
    """TFLite's ComputePaddingWithOffset: half the total padding before (the odd pixel goes after)."""
    eff = (filt - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2


def _act(ctx):
    act = ctx.opt("fusedActivationFunction", 0)
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(f"fused activation {act} (only NONE, RELU, RELU_N1_TO_1, RELU6)")
    return act


def _padding(ctx):
    pad = ctx.opt("padding", 0)
    if pad not in (0, 1):
        raise ctx.unsupported(f"padding {pad}")
    return pad


def _conv_geometry(ctx, x, kh, kw):
    pad = _padding(ctx)
    sh, sw = ctx.opt("strideH", 1), ctx.opt("strideW", 1)
    dh, dw = ctx.opt("dilationHFactor", 1), ctx.opt("dilationWFactor", 1)
    if min(sh, sw, dh, dw) < 1:
        raise ctx.unsupported(f"strides ({sh}, {sw}) and dilations ({dh}, {dw}) must be >= 1")
    H, W = x.shape[1], x.shape[2]
    oh, ow = out_size(pad, H, kh, sh, dh), out_size(pad, W, kw, sw, dw)
    if oh < 0 or ow < 0:
        raise ctx.shape_error(f"filter {kh}x{kw} (dilation {dh}x{dw}) is larger than the input {H}x{W}")
    return dict(stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dw,
                pad_top=pad_before(sh, dh, H, kh, oh), pad_left=pad_before(sw, dw, W, kw, ow)), oh, ow


def _check_rank(ctx, i, rank, what):
    t = ctx.inputs[i]
    if len(t.shape) != rank:
        raise ctx.shape_error(f"{what} (input {i} '{t.name}') must have rank {rank}, has shape {t.shape}")


def _bias_check(ctx, i, n):
    if len(ctx.inputs) > i and ctx.inputs[i] is not None:
        b = ctx.inputs[i]
        if b.size != n:
            raise ctx.shape_error(f"bias (input {i}) has {b.size} elements, expected {n}")


PANEL = 16  # output channels per packed weight panel (ERPK_NR in kernels/opt/gemm_f32_packed.h)


def _in_place_min_width():
    """CONV_2D outputs at least this wide read their windows in place (EDGERUN_CONV_IN_PLACE_MIN_WIDTH; the
    tests move it to exercise both ways)."""
    return int(os.environ.get("EDGERUN_CONV_IN_PLACE_MIN_WIDTH", "12"))


def _fast_enabled(ctx):
    return ctx.isa != "ref"


def _const_bias(ctx, i, n):
    """The bias as float32 (zeros when absent), or None when it is not a constant."""
    if len(ctx.inputs) <= i or ctx.inputs[i] is None:
        return np.zeros(n, np.float32)
    b = ctx.inputs[i]
    if b.data is None or b.type != F32:
        return None
    return np.asarray(b.data, np.float32).reshape(-1)


def pack_panels(w, bias, groups):
    """Weights [N, K] (N = groups * Ng) and bias [N] -> per group, Ng rounded up to Ng8 (a multiple of 8)
    columns in panels of PANEL rows transposed to [K, PANEL], the last panel PANEL / 2 wide when Ng8 is not a
    multiple of PANEL (zero-padded past Ng); the bias padded to Ng8 per group (in C: runtime/pack.py)."""
    return pack.f32_panels(w, bias, groups)


def _float_or_quantized(ctx):
    x = ctx.inputs[0]
    if x.type == F32 and ctx.inputs[1].type == F32:
        if ctx.outputs[0].type != F32:  # the float kernels write float32: a narrower output would overflow
            raise ctx.dtype_error(f"float32 input and weights with a {ctx.outputs[0].type_name} output")
        return None
    h = QUANTIZED.get(ctx.name)
    if h is None:
        raise ctx.unsupported(f"input {x.type_name} with weights {ctx.inputs[1].type_name}")
    return h


@register("CONV_2D")
def conv2d(ctx):
    ctx.check_inputs(2, 3)
    _check_rank(ctx, 0, 4, "input")
    _check_rank(ctx, 1, 4, "filter")
    x, w = ctx.inputs[0], ctx.inputs[1]
    oc, kh, kw, ic = w.shape
    if ic == 0 or x.shape[3] % ic:
        raise ctx.shape_error(f"input channels {x.shape[3]} are not a multiple of the filter's {ic}")
    groups = x.shape[3] // ic
    if oc % groups:
        raise ctx.shape_error(f"{oc} output channels do not split into {groups} groups")
    _bias_check(ctx, 2, oc)
    geo, oh, ow = _conv_geometry(ctx, x, kh, kw)
    ctx.set_output(0, (x.shape[0], oh, ow, oc))
    h = _float_or_quantized(ctx)
    if h:
        return h(ctx, geo=geo, groups=groups)
    lo, hi = float_activation_range(_act(ctx))
    bias = _const_bias(ctx, 2, oc)
    if _fast_enabled(ctx) and w.data is not None and bias is not None:
        k = kh * kw * ic
        wp, bp = pack_panels(np.asarray(w.data, np.float32).reshape(oc, k), bias, groups)
        direct = kh == kw == 1 and geo["stride_h"] == geo["stride_w"] == 1 and \
            geo["pad_top"] == geo["pad_left"] == 0
        rows = min(oh * ow, max(12, (8192 // k) // 12 * 12)) if oh * ow else 1
        c, wdt = x.shape[3], x.shape[2]
        # offset of window value (kh, kw, ic) from the window's corner in the input, for in-place reads
        koff = ((np.arange(kh) * geo["dil_h"] * wdt * c)[:, None, None]
                + (np.arange(kw) * geo["dil_w"] * c)[:, None] + np.arange(ic)).reshape(-1)
        # reading windows in place pays off on wide outputs; narrow ones gather blocks of rows instead
        in_place = ow >= _in_place_min_width() and koff.size and koff.max() < 2**31
        koff_ptr = ctx.const_ptr(koff.astype(np.int32), "int32_t *") if in_place else ctx.ffi.NULL
        p = ctx.new("er_conv_params *", dict(geo, groups=groups, depth_multiplier=1, act_min=lo, act_max=hi,
                                             packed_w=ctx.const_ptr(wp, "float *"),
                                             packed_b=ctx.const_ptr(bp, "float *"), rows=rows,
                                             koff=koff_ptr))
        return Kernel("f32_conv2d_fast", p, scratch_bytes=0 if direct else 4 * rows * k)
    p = ctx.new("er_conv_params *", dict(geo, groups=groups, depth_multiplier=1, act_min=lo, act_max=hi))
    return Kernel("f32_conv2d", p, scratch_bytes=4 * ow * kh * kw * ic)


@register("DEPTHWISE_CONV_2D")
def depthwise_conv2d(ctx):
    ctx.check_inputs(2, 3)
    _check_rank(ctx, 0, 4, "input")
    _check_rank(ctx, 1, 4, "filter")
    x, w = ctx.inputs[0], ctx.inputs[1]
    _, kh, kw, oc = w.shape
    c = x.shape[3]
    if c == 0 or oc % c:
        raise ctx.shape_error(f"filter output channels {oc} are not a multiple of input channels {c}")
    mult = oc // c
    declared = ctx.opt("depthMultiplier", mult)
    if declared not in (0, mult) and c != 1:
        raise ctx.shape_error(f"depth_multiplier {declared} disagrees with filter channels {oc} / input {c}")
    _bias_check(ctx, 2, oc)
    geo, oh, ow = _conv_geometry(ctx, x, kh, kw)
    ctx.set_output(0, (x.shape[0], oh, ow, oc))
    h = _float_or_quantized(ctx)
    if h:
        return h(ctx, geo=geo, multiplier=mult)
    lo, hi = float_activation_range(_act(ctx))
    bias = _const_bias(ctx, 2, oc)
    if _fast_enabled(ctx) and mult == 1 and bias is not None:
        p = ctx.new("er_conv_params *", dict(geo, groups=1, depth_multiplier=1, act_min=lo, act_max=hi,
                                             packed_b=ctx.const_ptr(bias, "float *")))
        return Kernel("f32_dwconv2d_fast", p)
    if _fast_enabled(ctx) and mult > 1 and bias is not None:
        # the multiplier-1 kernel over the input with each channel repeated mult times, written to scratch
        # (kernels/opt/q_conv_group.c)
        p = ctx.new("er_conv_params *", dict(geo, groups=1, depth_multiplier=1, act_min=lo, act_max=hi,
                                             packed_b=ctx.const_ptr(bias, "float *")))
        return Kernel("f32_dwconv2d_mult_fast", p, scratch_bytes=-(-4 * x.size * mult // 16) * 16)
    p = ctx.new("er_conv_params *", dict(geo, groups=1, depth_multiplier=mult, act_min=lo, act_max=hi))
    return Kernel("f32_dwconv2d", p, scratch_bytes=4 * oc)


@register("FULLY_CONNECTED")
def fully_connected(ctx):
    ctx.check_inputs(2, 3)
    x, w = ctx.inputs[0], ctx.inputs[1]
    if ctx.opt("weightsFormat", 0) != 0:
        raise ctx.unsupported("weights_format SHUFFLED4x16INT8")
    if len(w.shape) != 2:
        raise ctx.shape_error(f"weights must be 2-D, have shape {w.shape}")
    n, k = w.shape
    if k == 0 or x.size % k:
        raise ctx.shape_error(f"input of shape {x.shape} does not flatten into rows of {k}")
    _bias_check(ctx, 2, n)
    if ctx.opt("keepNumDims", False):
        if x.shape[-1] != k:
            raise ctx.shape_error(f"keep_num_dims needs the input's last dimension {x.shape[-1]} to equal {k}")
        ctx.set_output(0, tuple(x.shape[:-1]) + (n,))
    else:
        ctx.set_output(0, (x.size // k, n))
    h = _float_or_quantized(ctx)
    if h:
        return h(ctx)
    lo, hi = float_activation_range(_act(ctx))
    bias = _const_bias(ctx, 2, n)
    if _fast_enabled(ctx) and w.data is not None and bias is not None:
        wp, bp = pack_panels(np.asarray(w.data, np.float32).reshape(n, k), bias, 1)
        return Kernel("f32_fc_fast", ctx.new("er_conv_params *", dict(
            act_min=lo, act_max=hi, groups=1, packed_w=ctx.const_ptr(wp, "float *"),
            packed_b=ctx.const_ptr(bp, "float *"))))
    return Kernel("f32_fc", ctx.new("er_conv_params *", dict(act_min=lo, act_max=hi, groups=1)))


@register("TRANSPOSE_CONV")
def transpose_conv(ctx):
    ctx.check_inputs(3, 4)
    shape = ctx.require_const(0, "output_shape")
    _check_rank(ctx, 1, 4, "filter")
    _check_rank(ctx, 2, 4, "input")
    w, x = ctx.inputs[1], ctx.inputs[2]
    shape = [int(v) for v in np.asarray(shape).reshape(-1)]
    if len(shape) != 4:
        raise ctx.shape_error(f"output_shape must have 4 values, has {shape}")
    oc, kh, kw, ic = w.shape
    if ic != x.shape[3] or shape[3] != oc or shape[0] != x.shape[0]:
        raise ctx.shape_error(f"output_shape {shape}, filter {w.shape} and input {x.shape} disagree")
    _bias_check(ctx, 3, oc)
    pad = _padding(ctx)
    sh, sw = ctx.opt("strideH", 1), ctx.opt("strideW", 1)
    if min(sh, sw) < 1:
        raise ctx.unsupported(f"strides ({sh}, {sw})")
    oh_in = out_size(pad, shape[1], kh, sh)
    ow_in = out_size(pad, shape[2], kw, sw)
    geo = dict(stride_h=sh, stride_w=sw, dil_h=1, dil_w=1,
               pad_top=pad_before(sh, 1, shape[1], kh, oh_in), pad_left=pad_before(sw, 1, shape[2], kw, ow_in))
    ctx.set_output(0, shape)
    if x.type != F32 or w.type != F32:
        h = QUANTIZED.get(ctx.name)
        if h is None:
            raise ctx.unsupported(f"input {x.type_name} with weights {w.type_name}")
        return h(ctx, geo=geo)
    lo, hi = float_activation_range(_act(ctx))
    if _fast_enabled(ctx) and w.data is not None and _const_bias(ctx, 3, oc) is not None:
        # one GEMM column per (kh, kw, oc): the filter as [KH * KW * OC, C], packed; zero bias (added last)
        n = kh * kw * oc
        wp, bp = pack_panels(np.asarray(w.data, np.float32).transpose(1, 2, 0, 3).reshape(n, ic),
                             np.zeros(n, np.float32), 1)
        rows = int(max(1, min(x.shape[1] * x.shape[2], (64 << 10) // (4 * n))))
        p = ctx.new("er_conv_params *", dict(geo, groups=1, act_min=lo, act_max=hi, rows=rows,
                                             packed_w=ctx.const_ptr(wp, "float *"),
                                             packed_b=ctx.const_ptr(bp, "float *")))
        return Kernel("f32_tconv2d_fast", p, scratch_bytes=4 * rows * n)
    return Kernel("f32_tconv2d", ctx.new("er_conv_params *", dict(geo, groups=1, act_min=lo, act_max=hi)))


def bmm_geometry(ctx):
    """Output shape and per-batch element offsets for BATCH_MATMUL with broadcast batch dimensions."""
    a, b = ctx.inputs[0], ctx.inputs[1]
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise ctx.shape_error(f"operands must have rank >= 2, have {a.shape} and {b.shape}")
    adj_x, adj_y = bool(ctx.opt("adjX", False)), bool(ctx.opt("adjY", False))
    m, k = (a.shape[-1], a.shape[-2]) if adj_x else (a.shape[-2], a.shape[-1])
    k2, n = (b.shape[-1], b.shape[-2]) if adj_y else (b.shape[-2], b.shape[-1])
    if k != k2:
        raise ctx.shape_error(f"inner dimensions differ: {a.shape}{' (adj_x)' if adj_x else ''} x "
                              f"{b.shape}{' (adj_y)' if adj_y else ''}")
    try:
        batch = np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    except ValueError:
        raise ctx.shape_error(f"batch dimensions of {a.shape} and {b.shape} do not broadcast") from None
    nb = int(np.prod(batch, dtype=np.int64))
    ia = np.broadcast_to(np.arange(int(np.prod(a.shape[:-2], dtype=np.int64))).reshape(a.shape[:-2] or ()),
                         batch).reshape(-1)
    ib = np.broadcast_to(np.arange(int(np.prod(b.shape[:-2], dtype=np.int64))).reshape(b.shape[:-2] or ()),
                         batch).reshape(-1)
    return dict(adj_x=adj_x, adj_y=adj_y, batches=nb, m=m, n=n, k=k,
                a_offsets=ctx.const_ptr((ia * m * k).astype(np.int64), "int64_t *"),
                b_offsets=ctx.const_ptr((ib * k * n).astype(np.int64), "int64_t *")), tuple(batch) + (m, n)


@register("BATCH_MATMUL")
def batch_matmul(ctx):
    ctx.check_inputs(2, 2)
    geo, shape = bmm_geometry(ctx)
    ctx.set_output(0, shape)
    a, b = ctx.inputs
    if a.type != F32 or b.type != F32:
        h = QUANTIZED.get(ctx.name)
        if h is None:
            raise ctx.unsupported(f"operands {a.type_name} x {b.type_name}")
        return h(ctx, geo=geo)
    p = ctx.new("er_bmm_params *", geo)
    if _fast_enabled(ctx):
        # per thread: a zero bias and the right-hand side packed in panels (N rounded up to 8), and the
        # left-hand side transposed when adj_x
        m, n, k = geo["m"], geo["n"], geo["k"]
        n8 = -(-n // 8) * 8
        return Kernel("f32_bmm_fast", p, scratch_bytes=4 * (n8 + k * n8 + (m * k if geo["adj_x"] else 0)))
    return Kernel("f32_bmm", p, scratch_bytes=4 * (geo["m"] * geo["k"] + geo["n"] * geo["k"]))
