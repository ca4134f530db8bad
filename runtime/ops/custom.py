"""Built-in custom ops of public MediaPipe vision models (selfie segmentation, hand detector, ...):
Convolution2DTransposeBias, MaxPoolingWithArgmax2D, MaxUnpooling2D. Their custom options are the raw bytes
of TFLite's C params structs (little-endian int32 fields): TfLitePoolParams = padding, stride_width,
stride_height, filter_width, filter_height, activation; TfLiteTransposeConvParams = padding, stride_width,
stride_height. In those structs padding is 1 for SAME and 2 for VALID. Kernels: kernels/ref/mediapipe.c."""
from __future__ import annotations

import struct

from edgerun.runtime.ops import Kernel, register_custom
from edgerun.runtime.ops.conv import out_size, pad_before
from edgerun.runtime.quant import float_activation_range

F32 = 0
C_SAME, C_VALID = 1, 2


def _ints(ctx, n: int, fields: str) -> list:
    raw = ctx.custom_options or b""
    if len(raw) < 4 * n:
        raise ctx.unsupported(f"custom options hold {len(raw)} bytes, expected at least {4 * n} ({fields})")
    return list(struct.unpack_from(f"<{n}i", raw))


def _float_io(ctx, n_in):
    ctx.check_inputs(n_in, n_in)
    for i, t in enumerate(ctx.inputs):
        if t.type != F32:
            raise ctx.dtype_error(f"input {i} '{t.name}' is {t.type_name}; only FLOAT32 is supported")
        if len(t.shape) != 4 and i < 2 and ctx.name != "Convolution2DTransposeBias":
            raise ctx.shape_error(f"input {i} '{t.name}' must be 4-D NHWC, has shape {t.shape}")
    for i, t in enumerate(ctx.outputs):
        if t.type != F32:
            raise ctx.dtype_error(f"output {i} '{t.name}' is {t.type_name}; only FLOAT32 is supported")


def _pool_options(ctx):
    padding, sw, sh, fw, fh, act = _ints(ctx, 6, "TfLitePoolParams")
    if padding not in (C_SAME, C_VALID):
        raise ctx.unsupported(f"padding {padding} (1 = SAME, 2 = VALID)")
    if min(sw, sh, fw, fh) < 1:
        raise ctx.unsupported(f"strides ({sh}, {sw}) and filter ({fh}, {fw}) must be >= 1")
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(f"fused activation {act}")
    return padding, sw, sh, fw, fh, act


@register_custom("MaxPoolingWithArgmax2D")
def max_pool_argmax(ctx):
    _float_io(ctx, 1)
    if len(ctx.outputs) != 2:
        raise ctx.unsupported(f"expected 2 outputs (values, indices), got {len(ctx.outputs)}")
    padding, sw, sh, fw, fh, act = _pool_options(ctx)
    n, h, w, c = ctx.inputs[0].shape
    pad = 0 if padding == C_SAME else 1  # the builtin Padding enum that out_size takes
    oh, ow = out_size(pad, h, fh, sh), out_size(pad, w, fw, sw)
    if oh <= 0 or ow <= 0:
        raise ctx.shape_error(f"window {fh}x{fw} does not fit the input {h}x{w}")
    ctx.set_output(0, (n, oh, ow, c))
    ctx.set_output(1, (n, oh, ow, c))
    lo, hi = float_activation_range(act)
    p = ctx.new("er_pool_params *", dict(filter_h=fh, filter_w=fw, stride_h=sh, stride_w=sw,
                                          pad_top=pad_before(sh, 1, h, fh, oh), pad_left=pad_before(sw, 1, w, fw, ow),
                                          act_min=lo, act_max=hi))
    return Kernel("f32_maxpool_argmax", p)


@register_custom("MaxUnpooling2D")
def max_unpooling(ctx):
    _float_io(ctx, 2)
    _, sw, sh, fw, fh, _ = _pool_options(ctx)
    x, idx = ctx.inputs
    if idx.shape != x.shape:
        raise ctx.shape_error(f"indices shape {idx.shape} differs from values shape {x.shape}")
    n, h, w, c = x.shape
    oh, ow = h * fh, w * fw
    ctx.set_output(0, (n, oh, ow, c))
    p = ctx.new("er_pool_params *", dict(filter_h=fh, filter_w=fw, stride_h=sh, stride_w=sw,
                                          pad_top=pad_before(sh, 1, oh, fh, h), pad_left=pad_before(sw, 1, ow, fw, w)))
    return Kernel("f32_max_unpool", p)


@register_custom("Convolution2DTransposeBias")
def transpose_conv_bias(ctx):
    _float_io(ctx, 3)
    padding, sw, sh = _ints(ctx, 3, "TfLiteTransposeConvParams")
    if padding not in (C_SAME, C_VALID):
        raise ctx.unsupported(f"padding {padding} (1 = SAME, 2 = VALID)")
    if min(sw, sh) < 1:
        raise ctx.unsupported(f"strides ({sh}, {sw}) must be >= 1")
    x, wt, b = ctx.inputs
    if len(x.shape) != 4 or len(wt.shape) != 4 or len(b.shape) != 1:
        raise ctx.shape_error(f"expected input 4-D, weights 4-D (OHWI), bias 1-D; got {x.shape}, {wt.shape}, "
                              f"{b.shape}")
    o, kh, kw, ci = wt.shape
    if ci != x.shape[3] or b.shape[0] != o:
        raise ctx.shape_error(f"weights {wt.shape} do not match input channels {x.shape[3]} / bias {b.shape}")
    n, h, w, _ = x.shape
    pad_h = max(0, kh - (h - 1) % sh - 1) if padding == C_SAME else 0
    pad_w = max(0, kw - (w - 1) % sw - 1) if padding == C_SAME else 0
    ctx.set_output(0, (n, sh * (h - 1) + kh - pad_h, sw * (w - 1) + kw - pad_w, o))
    p = ctx.new("er_pool_params *", dict(stride_h=sh, stride_w=sw, pad_top=pad_h // 2, pad_left=pad_w // 2))
    return Kernel("f32_tconv_bias", p)
