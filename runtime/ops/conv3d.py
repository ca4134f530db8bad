"""CONV_3D and CONV_3D_TRANSPOSE (float32, LiteRT's only type). Kernels: kernels/ref/conv3d.c."""
from __future__ import annotations

from edgerun.runtime.ops import Kernel, register
from edgerun.runtime.ops.conv import out_size, pad_before
from edgerun.runtime.quant import float_activation_range

F32 = 0


@register("CONV_3D")
def conv3d(ctx):
    ctx.check_inputs(2, 3)
    x, w = ctx.inputs[0], ctx.inputs[1]
    bias = ctx.inputs[2] if len(ctx.inputs) > 2 else None
    for i, t in enumerate((x, w, bias)):
        if t is not None and t.type != F32:
            raise ctx.unsupported(f"input {i} '{t.name}' is {t.type_name}; LiteRT's kernel and edgerun take FLOAT32 "
                                  f"only")
    if len(x.shape) != 5 or len(w.shape) != 5 or w.shape[3] != x.shape[4]:
        raise ctx.shape_error(f"input {x.shape} must be [N, D, H, W, C] and filter {w.shape} [KD, KH, KW, C, O] "
                              f"with the same C")
    if bias is not None and bias.shape != (w.shape[4],):
        raise ctx.shape_error(f"bias '{bias.name}' has shape {bias.shape}, expected ({w.shape[4]},)")
    padding = ctx.opt("padding", 0)
    if padding not in (0, 1):
        raise ctx.unsupported(f"padding {padding} (SAME or VALID)")
    strides = [int(ctx.opt(f"stride{a}", 1)) for a in "DHW"]
    dil = [int(ctx.opt(f"dilation{a}Factor", 1)) for a in "DHW"]
    if min(strides + dil) < 1:
        raise ctx.unsupported(f"strides {strides} and dilations {dil} must be >= 1")
    act = ctx.opt("fusedActivationFunction", 0)
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(f"fused activation {act} (NONE, RELU, RELU_N1_TO_1, RELU6)")
    out = [out_size(padding, x.shape[1 + i], w.shape[i], strides[i], dil[i]) for i in range(3)]
    if min(out) < 0:
        raise ctx.shape_error(f"the filter {w.shape[:3]} (dilations {dil}) is larger than the input {x.shape[1:4]}")
    ctx.set_output(0, (x.shape[0], *out, w.shape[4]), F32)
    pads = [pad_before(strides[i], dil[i], x.shape[1 + i], w.shape[i], out[i]) for i in range(3)]
    lo, hi = float_activation_range(act)
    p = ctx.new("er_conv3d_params *", {"stride": strides, "dilation": dil, "pad": pads, "act_min": lo, "act_max": hi})
    return Kernel("f32_conv3d", p)


@register("CONV_3D_TRANSPOSE")
def conv3d_transpose(ctx):
    ctx.check_inputs(3, 4)
    w, x = ctx.inputs[1], ctx.inputs[2]
    bias = ctx.inputs[3] if len(ctx.inputs) > 3 else None
    for i, t in ((1, w), (2, x), (3, bias)):
        if t is not None and t.type != F32:
            raise ctx.unsupported(f"input {i} '{t.name}' is {t.type_name}; LiteRT's kernel and edgerun take FLOAT32 "
                                  f"only")
    if len(x.shape) != 5 or len(w.shape) != 5 or w.shape[4] != x.shape[4]:
        raise ctx.shape_error(f"input {x.shape} must be [N, D, H, W, C] and filter {w.shape} [KD, KH, KW, O, C] "
                              f"with the same C")
    out_shape = tuple(int(v) for v in ctx.require_const(0, "(output_shape)").reshape(-1))
    if len(out_shape) != 5 or out_shape[0] != x.shape[0] or out_shape[4] != w.shape[3] or min(out_shape) < 0:
        raise ctx.shape_error(f"output_shape {out_shape} must be [{x.shape[0]}, D, H, W, {w.shape[3]}]")
    if bias is not None and bias.shape != (w.shape[3],):
        raise ctx.shape_error(f"bias '{bias.name}' has shape {bias.shape}, expected ({w.shape[3]},)")
    padding = ctx.opt("padding", 0)
    if padding not in (0, 1):
        raise ctx.unsupported(f"padding {padding} (SAME or VALID)")
    strides = [int(ctx.opt(f"stride{a}", 1)) for a in "DHW"]
    dil = [int(ctx.opt(f"dilation{a}Factor", 1)) for a in "DHW"]
    if min(strides + dil) < 1:
        raise ctx.unsupported(f"strides {strides} and dilations {dil} must be >= 1")
    act = ctx.opt("fusedActivationFunction", 0)
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(f"fused activation {act} (NONE, RELU, RELU_N1_TO_1, RELU6)")
    ctx.set_output(0, out_shape, F32)
    # the forward convolution's padding, with the roles of input and output swapped (VALID pads nothing)
    pads = [0 if padding == 1 else pad_before(strides[i], dil[i], out_shape[1 + i], w.shape[i], x.shape[1 + i])
            for i in range(3)]
    lo, hi = float_activation_range(act)
    p = ctx.new("er_conv3d_params *", {"stride": strides, "dilation": dil, "pad": pads, "act_min": lo, "act_max": hi})
    return Kernel("f32_conv3d_transpose", p)
