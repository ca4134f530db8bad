"""RFFT2D (float32 -> complex64, LiteRT's only types). Kernel: kernels/ref/fft.c."""
from __future__ import annotations

from edgerun.runtime.ops import Kernel, register

F32, I32, C64 = 0, 2, 8


@register("RFFT2D")
def rfft2d(ctx):
    ctx.check_inputs(2, 2)
    x, fl = ctx.inputs
    if x.type != F32:
        raise ctx.unsupported(f"input '{x.name}' is {x.type_name}; LiteRT's kernel and edgerun take FLOAT32 only")
    if len(x.shape) < 2:
        raise ctx.shape_error(f"input '{x.name}' must have rank >= 2, has shape {x.shape}")
    if fl.type != I32 or fl.shape != (2,):
        raise ctx.shape_error(f"fft_length '{fl.name}' must be INT32 of shape (2,), is {fl.type_name} {fl.shape}")
    h, w = (int(v) for v in ctx.require_const(1, "(fft_length)").reshape(-1))
    for v in (h, w):
        if v < 1 or v & (v - 1):
            raise ctx.unsupported(f"fft_length {[h, w]}: each must be a power of two")
    if w < 2:
        raise ctx.unsupported(f"fft_length {[h, w]}: a width of 1 is not supported")
    outer = 1
    for d in x.shape[:-2]:
        outer *= d
    ctx.set_output(0, tuple(x.shape[:-2]) + (h, w // 2 + 1), C64)
    p = ctx.new("er_rfft2d_params *", {"outer": outer, "in_h": x.shape[-2], "in_w": x.shape[-1], "fft_h": h,
                                        "fft_w": w})
    return Kernel("f32_rfft2d", p, scratch_bytes=ctx.reserve(16 * (h * w + max(h, w)), "scratch"))
