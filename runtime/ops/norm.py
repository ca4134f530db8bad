"""LOCAL_RESPONSE_NORMALIZATION (float32: the only type LiteRT's kernel takes). Kernel: kernels/ref/norm.c."""
from __future__ import annotations

import math

from edgerun.runtime.ops import Kernel, register

F32 = 0


@register("LOCAL_RESPONSE_NORMALIZATION")
def local_response_normalization(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    if x.type != F32:
        raise ctx.unsupported(f"input '{x.name}' is {x.type_name}; LiteRT's kernel and edgerun take FLOAT32 only")
    if len(x.shape) != 4:
        raise ctx.shape_error(f"input '{x.name}' must be 4-D, has shape {x.shape}")
    radius = int(ctx.opt("radius", 0))
    bias, alpha, beta = (float(ctx.opt(k, 0.0)) for k in ("bias", "alpha", "beta"))
    if radius < 0 or not all(math.isfinite(v) for v in (bias, alpha, beta)):
        raise ctx.unsupported(f"options radius {radius} (must be >= 0), bias {bias}, alpha {alpha}, beta {beta} "
                              f"(must be finite)")
    ctx.set_output(0, x.shape, F32)
    p = ctx.new("er_lrn_params *", {"depth": max(x.shape[3], 1), "radius": radius, "bias": bias, "alpha": alpha,
                                    "beta": beta})
    return Kernel("f32_lrn", p)
