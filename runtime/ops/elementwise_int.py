"""Integer-quantized (int8 / uint8 / int16) elementwise ops, bit-exact with TFLite's builtin kernels.

The float handlers in elementwise.py check shapes and options, then delegate here through QUANTIZED[name].
Prepare-time arithmetic follows TFLite's kernels exactly, including which products and quotients of scales
are formed in float32 (MUL, DIV, the activations) and which in double (ADD/SUB/SQUARED_DIFFERENCE):
the multiplier's rounding depends on it. Lookup tables are built at prepare by TFLite's LUTPopulate
procedure, implemented in C (er_q_lut8_populate / er_q_lut16_populate) so the transform runs in C float
arithmetic with the C math library as TFLite's does; the kernels only index them.

Kernels: kernels/ref/q_elementwise.c (q_binary, q_compare), kernels/ref/q_activation.c (q_unary).
"""
from __future__ import annotations

import math

import numpy as np
from edgerun.runtime.ops import QUANTIZED, TYPE_NAMES, Kernel
from edgerun.runtime.quant import quantize_multiplier, round_half_away

I8, U8, I16, BOOL = 9, 3, 7, 6
QRANGE = {I8: (-128, 127), U8: (0, 255), I16: (-32768, 32767)}
f32 = np.float32


def _lib():
    from edgerun.kernels import lib

    return lib


# -- quantization parameters ----------------------------------------------------------------------------

def _qparams(ctx, t, what):
    """(scale as np.float32, zero point) of a per-tensor quantized tensor."""
    if not t.quantized:
        raise ctx.unsupported(f"{what} '{t.name}' ({t.type_name}) has no quantization parameters")
    if t.scale.size != 1 and not (np.all(t.scale == t.scale[0]) and np.all(t.zero_point == t.zero_point[0])):
        raise ctx.unsupported(f"{what} '{t.name}' is quantized per channel; {ctx.name} needs per-tensor")
    return f32(t.scale[0]), int(t.zero_point[0])


def _dtype_unsupported(ctx, t):
    return ctx.unsupported(f"{ctx.name} is not supported for {TYPE_NAMES.get(t, t)} inputs (as in TFLite)")


def _require(ctx, cond, what):
    if not cond:
        raise ctx.unsupported(what)


def _quantize_lt1(ctx, m: float, what: str):
    """TFLite's QuantizeMultiplierSmallerThanOneExp, which aborts for multipliers outside [0, 1)."""
    if not (0.0 <= m < 1.0):
        raise ctx.unsupported(f"{what} multiplier {m:.6g} is outside [0, 1) (TFLite rejects these scales)")
    return quantize_multiplier(m)


def _roundf(x: np.float32) -> int:
    """TfLiteRound / roundf on a float32 value: half away from zero."""
    return round_half_away(float(x))


def _checked_log2(x: np.float32):
    """TFLite's CheckedLog2 (float arithmetic): (is power of two within 1e-3, rounded log2)."""
    if x <= 0:
        return False, 0
    lg = f32(f32(math.log(float(x))) * f32(1.0 / math.log(2.0)))
    r = _roundf(lg)
    return abs(float(lg) - r) < 1e-3, r


def _act_range(ctx, act, scale: np.float32, zp: int, qmin: int, qmax: int):
    """TFLite's CalculateActivationRangeQuantized: real bounds quantized with float32 division."""

    def q(v):
        return zp + _roundf(f32(v) / scale)

    if act == 0:
        return qmin, qmax
    if act == 1:
        return max(qmin, q(0.0)), qmax
    if act == 2:
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    if act == 3:
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    raise ctx.unsupported(f"fused activation {act} on a quantized output")


# -- binary ops -----------------------------------------------------------------------------------------

def _bparams(ctx, op, **kw):
    lib = _lib()
    p = {"op": getattr(lib, op)}
    p.update(kw)
    return ctx.new("er_q_binary_params *", p)


def _add_sub(ctx):
    a, b = ctx.inputs
    y = ctx.outputs[0]
    t = a.type
    if t not in (I8, U8, I16):
        raise _dtype_unsupported(ctx, t)
    s1, z1 = _qparams(ctx, a, "input 0")
    s2, z2 = _qparams(ctx, b, "input 1")
    so, zo = _qparams(ctx, y, "output")
    qmin, qmax = QRANGE[t]
    act = ctx.opt("fusedActivationFunction", 0)
    lo, hi = _act_range(ctx, act, so, zo, qmin, qmax)
    sub = ctx.name == "SUB"
    if t == I16:
        if ctx.name == "ADD" or ctx.opt("potScaleInt16", True):
            _require(ctx, z1 == 0 and z2 == 0 and zo == 0,
                     f"int16 {ctx.name} needs zero points 0, got {z1}, {z2}, {zo}")
        if ctx.opt("potScaleInt16", True):
            pots = [_checked_log2(s) for s in (s1, s2, so)]
            if all(ok for ok, _ in pots):
                sh1, sh2 = pots[0][1] - pots[2][1], pots[1][1] - pots[2][1]
                _require(ctx, (sh1 == 0 or sh2 == 0) and sh1 <= 0 and sh2 <= 0,
                         f"int16 {ctx.name} with power-of-two scales can only shift one input right "
                         f"(shifts {sh1}, {sh2}; TFLite rejects this)")
                if not sub and tuple(a.shape) != tuple(b.shape):
                    # LiteRT runs its non-broadcasting int16 add here and aborts on mismatched shapes
                    raise ctx.unsupported("int16 ADD with power-of-two scales and broadcasting (TFLite's "
                                          "power-of-two int16 ADD does not broadcast)")
                p = _bparams(ctx, "ER_QB_SUB_POT16" if sub else "ER_QB_ADD_POT16", in1_shift=sh1, in2_shift=sh2,
                             act_min=lo, act_max=hi)
                return Kernel("q_binary", p)
    left_shift = 15 if t == I16 else 20
    twice_max = 2.0 * float(max(s1, s2))
    m1, sh1 = _quantize_lt1(ctx, float(s1) / twice_max, "input 0")
    m2, sh2 = _quantize_lt1(ctx, float(s2) / twice_max, "input 1")
    real_out = twice_max / (float(1 << left_shift) * float(so))
    mo, sho = _quantize_lt1(ctx, real_out, "output")
    p = _bparams(ctx, "ER_QB_SUB" if sub else "ER_QB_ADD", left_shift=left_shift,
                 in1_offset=-z1, in1_mult=m1, in1_shift=sh1, in2_offset=-z2, in2_mult=m2, in2_shift=sh2,
                 out_offset=zo, out_mult=mo, out_shift=sho, act_min=lo, act_max=hi)
    return Kernel("q_binary", p)


def _mul(ctx):
    a, b = ctx.inputs
    y = ctx.outputs[0]
    t = a.type
    if t not in (I8, U8, I16):
        raise _dtype_unsupported(ctx, t)
    s1, z1 = _qparams(ctx, a, "input 0")
    s2, z2 = _qparams(ctx, b, "input 1")
    so, zo = _qparams(ctx, y, "output")
    if t == I16:
        _require(ctx, z1 == 0 and z2 == 0 and zo == 0, f"int16 MUL needs zero points 0, got {z1}, {z2}, {zo}")
    qmin, qmax = QRANGE[t]
    lo, hi = _act_range(ctx, ctx.opt("fusedActivationFunction", 0), so, zo, qmin, qmax)
    m, sh = quantize_multiplier(float(f32(s1 * s2) / so))  # float32 product and quotient, as TFLite
    p = _bparams(ctx, "ER_QB_MUL", in1_offset=-z1, in2_offset=-z2, out_offset=zo, out_mult=m, out_shift=sh,
                 act_min=lo, act_max=hi)
    return Kernel("q_binary", p)


def _div(ctx):
    a, b = ctx.inputs
    y = ctx.outputs[0]
    t = a.type
    if t not in (I8, U8, I16):
        raise _dtype_unsupported(ctx, t)
    s1, z1 = _qparams(ctx, a, "input 0")
    s2, z2 = _qparams(ctx, b, "input 1")
    so, zo = _qparams(ctx, y, "output")
    qmin, qmax = QRANGE[t]
    lo, hi = _act_range(ctx, ctx.opt("fusedActivationFunction", 0), so, zo, qmin, qmax)
    m, sh = quantize_multiplier(float(s1 / f32(s2 * so)))  # float32, as TFLite
    p = _bparams(ctx, "ER_QB_DIV", in1_offset=-z1, in2_offset=-z2, out_offset=zo, out_mult=m, out_shift=sh,
                 act_min=lo, act_max=hi)
    return Kernel("q_binary", p)


def _sqdiff(ctx):
    a, b = ctx.inputs
    y = ctx.outputs[0]
    if a.type != I8:
        raise _dtype_unsupported(ctx, a.type)
    s1, z1 = _qparams(ctx, a, "input 0")
    s2, z2 = _qparams(ctx, b, "input 1")
    so, zo = _qparams(ctx, y, "output")
    left_shift = 7
    twice_max = 2.0 * float(max(s1, s2))
    m1, sh1 = _quantize_lt1(ctx, float(s1) / twice_max, "input 0")
    m2, sh2 = _quantize_lt1(ctx, float(s2) / twice_max, "input 1")
    mo, sho = _quantize_lt1(ctx, twice_max * twice_max / (float(1 << (2 * left_shift)) * float(so)), "output")
    p = _bparams(ctx, "ER_QB_SQDIFF", left_shift=left_shift, in1_offset=-z1, in1_mult=m1, in1_shift=sh1,
                 in2_offset=-z2, in2_mult=m2, in2_shift=sh2, out_offset=zo, out_mult=mo, out_shift=sho,
                 act_min=-128, act_max=127)
    return Kernel("q_binary", p)


def _max_min(ctx):
    t = ctx.inputs[0].type
    if t not in (I8, U8, I16):
        raise _dtype_unsupported(ctx, t)
    # TFLite compares the stored integers; the output is written with the inputs' encoding
    return Kernel("q_binary", _bparams(ctx, "ER_QB_MAX" if ctx.name == "MAXIMUM" else "ER_QB_MIN"))


def _floor_div_mod(ctx):
    t = ctx.inputs[0].type
    if t not in (I8, I16):
        raise _dtype_unsupported(ctx, t)
    # TFLite's FLOOR_DIV / FLOOR_MOD work on the stored integers, ignoring quantization
    return Kernel("q_binary", _bparams(ctx, "ER_QB_FLOOR_DIV" if ctx.name == "FLOOR_DIV" else "ER_QB_FLOOR_MOD"))


def _prelu(ctx):
    x, alpha = ctx.inputs
    y = ctx.outputs[0]
    t = x.type
    if t == I16 and alpha.type != I8:
        # LiteRT's int16 PRELU takes an int8 alpha (an int16 alpha tensor is read as int8 bytes there)
        raise ctx.unsupported("int16 PRELU needs an int8 alpha tensor (as TFLite), alpha is "
                              f"{alpha.type_name}")
    if t not in (I8, U8, I16):
        raise _dtype_unsupported(ctx, t)
    if tuple(y.shape) != tuple(x.shape):
        raise ctx.shape_error(f"alpha {alpha.shape} must broadcast to the input's shape {x.shape}")
    si, zi = _qparams(ctx, x, "input")
    sa, za = _qparams(ctx, alpha, "alpha")
    so, zo = _qparams(ctx, y, "output")
    m1, sh1 = quantize_multiplier(float(si / so))
    m2, sh2 = quantize_multiplier(float(f32(si * sa) / so))
    qmin, qmax = QRANGE[t]
    p = _bparams(ctx, "ER_QB_PRELU", in1_offset=-zi, in1_mult=m1, in1_shift=sh1, in2_offset=-za,
                 out_offset=zo, out_mult=m2, out_shift=sh2, act_min=qmin, act_max=qmax)
    return Kernel("q_binary", p)


def _pow(ctx):
    raise _dtype_unsupported(ctx, ctx.inputs[0].type)


COMPARE_OPS = {"LESS": "ER_QB_LESS", "LESS_EQUAL": "ER_QB_LESS_EQUAL", "GREATER": "ER_QB_GREATER",
               "GREATER_EQUAL": "ER_QB_GREATER_EQUAL", "EQUAL": "ER_QB_EQUAL", "NOT_EQUAL": "ER_QB_NOT_EQUAL"}


def _compare(ctx):
    a, b = ctx.inputs
    t = a.type
    if t not in (I8, U8, I16):
        raise _dtype_unsupported(ctx, t)
    if t == I16 and ctx.name not in ("EQUAL", "NOT_EQUAL"):
        # TFLite orders int16 stored values directly; only (NOT_)EQUAL rescale quantized int16
        return Kernel("q_compare", _bparams(ctx, COMPARE_OPS[ctx.name], rescale=0))
    s1, z1 = _qparams(ctx, a, "input 0")
    s2, z2 = _qparams(ctx, b, "input 1")
    # TFLite: both sides -> ((q - zp) << 8) * scale, the scale itself as the multiplier
    m1, sh1 = _quantize_lt1(ctx, float(s1), "input 0 scale as")
    m2, sh2 = _quantize_lt1(ctx, float(s2), "input 1 scale as")
    p = _bparams(ctx, COMPARE_OPS[ctx.name], rescale=1, left_shift=8, in1_offset=-z1, in1_mult=m1,
                 in1_shift=sh1, in2_offset=-z2, in2_mult=m2, in2_shift=sh2)
    return Kernel("q_compare", p)


# -- unary ops ------------------------------------------------------------------------------------------

def _uparams(ctx, op, **kw):
    lib = _lib()
    p = {"op": getattr(lib, op)}
    p.update(kw)
    return ctx.new("er_q_unary_params *", p)


def _io(ctx, types):
    x, y = ctx.inputs[0], ctx.outputs[0]
    if x.type not in types:
        raise _dtype_unsupported(ctx, x.type)
    si, zi = _qparams(ctx, x, "input")
    so, zo = _qparams(ctx, y, "output")
    if x.type == I16 and (zi != 0 or zo != 0):
        raise ctx.unsupported(f"int16 {ctx.name} needs zero points 0, got {zi} and {zo}")
    return x.type, si, zi, so, zo


RELU_BOUNDS = {"RELU": (0.0, math.inf), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0),
               "RELU_0_TO_1": (0.0, 1.0)}


def _relu(ctx):
    types = (I8, U8, I16) if ctx.name in ("RELU", "RELU6") else (I8, U8)
    t, si, zi, so, zo = _io(ctx, types)
    qmin, qmax = QRANGE[t]
    lo_f, hi_f = RELU_BOUNDS[ctx.name]
    lo = max(qmin, zo + _roundf(f32(lo_f) / so))
    hi = qmax if hi_f == math.inf else min(qmax, zo + _roundf(f32(hi_f) / so))
    m, sh = quantize_multiplier(float(si / so))
    return Kernel("q_unary", _uparams(ctx, "ER_QU_RELU", in_zero_point=zi, out_zero_point=zo, mult=m, shift=sh,
                                      act_min=lo, act_max=hi))


def _leaky_relu(ctx):
    _t, si, zi, so, zo = _io(ctx, (I8, U8, I16))
    alpha = f32(ctx.opt("alpha", 0.0))
    ma, sha = quantize_multiplier(float(f32(si * alpha) / so))
    mi, shi = quantize_multiplier(float(si / so))
    return Kernel("q_unary", _uparams(ctx, "ER_QU_LEAKY_RELU", in_zero_point=zi, out_zero_point=zo, mult=mi,
                                      shift=shi, mult2=abs(ma), shift2=sha, flag=1 if ma < 0 else 0))


def _downscale_16(m: int) -> int:
    """TFLite's DownScaleInt32ToInt16Multiplier."""
    if m >= (1 << 31) - 1 - (1 << 15):
        return 32767
    return (m + (1 << 15)) >> 16


def _hard_swish(ctx):
    _t, si, zi, so, zo = _io(ctx, (I8, U8))
    hires = f32(f32(1.0 / 128.0) * si)
    reluish_scale = f32(3.0 / 32768.0)
    mo, eo = quantize_multiplier(float(hires / so))
    _require(ctx, eo <= 0, f"HARD_SWISH output multiplier {float(hires / so):.6g} >= 1 (TFLite rejects it)")
    mr, er = quantize_multiplier(float(hires / reluish_scale))
    return Kernel("q_unary", _uparams(ctx, "ER_QU_HARD_SWISH", in_zero_point=zi, out_zero_point=zo,
                                      mult=_downscale_16(mo), shift=eo, mult2=_downscale_16(mr), shift2=er))


def _abs(ctx):
    x = ctx.inputs[0]
    if x.type == I16 and not x.quantized:
        return Kernel("q_unary", _uparams(ctx, "ER_QU_ABS", flag=2))  # plain int16 |x|, as TFLite
    _t, si, zi, so, zo = _io(ctx, (I8, I16))
    rescale = bool(si != so)
    m, sh = quantize_multiplier(float(si / so)) if rescale else (0, 0)
    return Kernel("q_unary", _uparams(ctx, "ER_QU_ABS", in_zero_point=zi, out_zero_point=zo, mult=m, shift=sh,
                                      flag=int(rescale)))


def _neg(ctx):
    t = ctx.inputs[0].type
    if t not in (I8, I16):
        raise _dtype_unsupported(ctx, t)
    # TFLite negates the stored integers, ignoring quantization
    return Kernel("q_unary", _uparams(ctx, "ER_QU_NEG"))


# LUT transforms (ER_QF_*): TFLite builds tables for these
def _lut8(ctx, fn, si, zi, so, zo, t, param=0.0):
    lib, ffi = _lib(), ctx.ffi
    lut = np.zeros(256, np.uint8)
    rc = lib.er_q_lut8_populate(getattr(lib, fn), float(param), float(si), zi, float(so), zo,
                                1 if t == I8 else 0, ffi.cast("uint8_t *", ffi.from_buffer(lut)))
    if rc:
        raise ctx.unsupported(f"lookup table {fn}")
    return Kernel("q_unary", _uparams(ctx, "ER_QU_LUT8", table=ctx.const_ptr(lut, "void *")))


def _lut16(ctx, fn, si, zi, so, zo, param=0.0, flag=0):
    lib, ffi = _lib(), ctx.ffi
    lut = np.zeros(513, np.int16)
    rc = lib.er_q_lut16_populate(getattr(lib, fn), float(param), float(si), zi, float(so), zo,
                                 ffi.cast("int16_t *", ffi.from_buffer(lut)))
    if rc:
        raise ctx.unsupported(f"lookup table {fn}")
    return Kernel("q_unary", _uparams(ctx, "ER_QU_LUT16", in_zero_point=zi, flag=flag,
                                      table=ctx.const_ptr(lut, "void *")))


# TFLite's sigmoid_table_uint16: sigmoid(i / 24) in 0.16 fixed point, 256 entries (a constant of TFLite's
# int16 LOGISTIC/TANH; its values are not plain roundings of sigmoid, so they are kept as given).
_SIGMOID_TABLE = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064,
    42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464,
    50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503,
    56823, 57133, 57433, 57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666,
    62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968,
    64030, 64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687,
    64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258, 65269, 65280, 65291,
    65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367, 65374, 65381, 65387, 65393, 65399, 65404,
    65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465,
    65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524, 65525, 65525,
    65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530,
    65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65535], np.uint16)


def _sigmoid16(ctx, si, so):
    """int16 LOGISTIC/TANH: TFLite's reference integer kernels over the sigmoid table."""
    tanh = ctx.name == "TANH"
    ok, l2 = _checked_log2(so)
    _require(ctx, ok and l2 == -15, f"int16 {ctx.name} needs output scale 1/32768, got {float(so):.6g}")
    pot, lg = _checked_log2(si)
    left_shift = 12 + lg
    pot = pot and (left_shift in ((0, 1) if tanh else (0,)))
    if pot:
        # TFLite's builtin resolver then runs gemmlowp's 16-bit fixed-point tanh/logistic
        op = "ER_QU_TANH16_FX" if tanh else "ER_QU_LOGISTIC16_FX"
        return Kernel("q_unary", _uparams(ctx, op, shift=left_shift))
    mult = float(si) * 4096.0 * 3.0
    left_shift = 0
    while mult <= 32767.0 / 2.0 and left_shift <= 30:
        left_shift += 1
        mult *= 2.0
    op = "ER_QU_TANH16" if tanh else "ER_QU_LOGISTIC16"
    return Kernel("q_unary", _uparams(ctx, op, mult=int(mult), shift=left_shift,
                                      table=ctx.const_ptr(_SIGMOID_TABLE, "void *")))


def _logistic_tanh(ctx):
    t, si, zi, so, zo = _io(ctx, (I8, U8, I16))
    if t == I16:
        return _sigmoid16(ctx, si, so)
    if ctx.name == "LOGISTIC":
        _require(ctx, float(so) == 1.0 / 256, f"{ctx.name} needs output scale 1/256, got {float(so):.6g}")
        return _lut8(ctx, "ER_QF_LOGISTIC", si, zi, so, zo, t)
    return _lut8(ctx, "ER_QF_TANH", si, zi, so, zo, t)


def _elu(ctx):
    t, si, zi, so, zo = _io(ctx, (I8,))
    return _lut8(ctx, "ER_QF_ELU", si, zi, so, zo, t)


def _gelu(ctx):
    t, si, zi, so, zo = _io(ctx, (I8, U8, I16))
    fn = "ER_QF_GELU_TANH" if ctx.opt("approximate", False) else "ER_QF_GELU"
    if t == I16:
        return _lut16(ctx, fn, si, zi, so, zo)
    return _lut8(ctx, fn, si, zi, so, zo, t)


def _exp(ctx):
    t, si, zi, so, zo = _io(ctx, (I8, I16))
    if t == I16:
        return _lut16(ctx, "ER_QF_EXP", si, zi, so, zo)
    return _lut8(ctx, "ER_QF_EXP", si, zi, so, zo, t)


def _log(ctx):
    t, si, zi, so, zo = _io(ctx, (I8, I16))
    qmin = QRANGE[t][0]
    out_min = f32(f32(qmin - zo) * so)  # log of values <= 0 maps to the output's minimum
    if t == I16:
        return _lut16(ctx, "ER_QF_LOG", si, zi, so, zo, param=out_min)
    return _lut8(ctx, "ER_QF_LOG", si, zi, so, zo, t, param=out_min)


def _sqrt(ctx):
    _t, si, zi, so, zo = _io(ctx, (I8, I16))
    # TFLite evaluates quantized SQRT in float: trunc(sqrtf(si * (q - zi)) / so) + zo
    return Kernel("q_unary", _uparams(ctx, "ER_QU_SQRT", in_zero_point=zi, out_zero_point=zo, in_scale=float(si),
                                      out_scale=float(so)))


def _rsqrt(ctx):
    t, si, zi, so, zo = _io(ctx, (I8, I16))
    if t == I16:
        return _lut16(ctx, "ER_QF_RSQRT", si, zi, so, zo, param=f32(f32(32767) * so), flag=1)
    scale = 1.0 / float(f32(f32(math.sqrt(float(si))) * so))
    m, sh = quantize_multiplier(scale)
    return Kernel("q_unary", _uparams(ctx, "ER_QU_RSQRT", in_zero_point=zi, out_zero_point=zo, mult=m, shift=sh))


def _select(ctx):
    """SELECT/SELECT_V2 between quantized tensors with different scales: TFLite copies the stored integers
    without rescaling (the float handler has checked shapes and types)."""
    return Kernel("any_select")


def _unsupported_unary(ctx):
    raise _dtype_unsupported(ctx, ctx.inputs[0].type)


for _n in ("ADD", "SUB"):
    QUANTIZED[_n] = _add_sub
QUANTIZED["MUL"] = _mul
QUANTIZED["DIV"] = _div
QUANTIZED["SQUARED_DIFFERENCE"] = _sqdiff
QUANTIZED["MAXIMUM"] = _max_min
QUANTIZED["MINIMUM"] = _max_min
QUANTIZED["FLOOR_DIV"] = _floor_div_mod
QUANTIZED["FLOOR_MOD"] = _floor_div_mod
QUANTIZED["PRELU"] = _prelu
QUANTIZED["POW"] = _pow
for _n in COMPARE_OPS:
    QUANTIZED[_n] = _compare
for _n in RELU_BOUNDS:
    QUANTIZED[_n] = _relu
QUANTIZED["LEAKY_RELU"] = _leaky_relu
QUANTIZED["HARD_SWISH"] = _hard_swish
QUANTIZED["ABS"] = _abs
QUANTIZED["NEG"] = _neg
QUANTIZED["LOGISTIC"] = _logistic_tanh
QUANTIZED["TANH"] = _logistic_tanh
QUANTIZED["ELU"] = _elu
QUANTIZED["GELU"] = _gelu
QUANTIZED["EXP"] = _exp
QUANTIZED["LOG"] = _log
QUANTIZED["SQRT"] = _sqrt
QUANTIZED["RSQRT"] = _rsqrt
QUANTIZED["SELECT"] = _select
QUANTIZED["SELECT_V2"] = _select
for _n in ("SIN", "COS", "SQUARE", "FLOOR", "CEIL", "ROUND", "SIGN"):
    QUANTIZED[_n] = _unsupported_unary
