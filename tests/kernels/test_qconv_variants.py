"""The optimized 8-bit conv-family kernels (kernels/opt/q_conv.c with the AVX2 micro-kernels of
kernels/x86/q_conv_avx2.c, and their portable loops) against the reference kernels (kernels/ref/q_conv.c,
q_conv_fc.c) and against LiteRT, bit for bit, on odd shapes: channels 1, 3, 5, 17, 33, spatial 1, 7, 13,
strides, dilations, paddings, depthwise multipliers, groups, per-tensor and per-channel weights, extreme zero
points and inputs pinned at the ends of the integer range.

Each model runs in edgerun under every ISA this CPU supports (runtime/isa.py, as EDGERUN_ISA would choose
them): ref (reference kernels), portable (optimized kernels, portable loops), sse2 (the x86 SSE2 GEMM),
avx2 (the x86 AVX2 micro-kernels) and avx512vnni (int8 CONV_2D / FULLY_CONNECTED on the dot layout with the
VPDPBUSD GEMM of kernels/x86/q_conv_vnni.c); the kernel names of the prepared plan are checked so that the paths
compared are really the ones named.
"""
import numpy as np
import pytest
from oracle import litert_run

from edgerun.runtime import isa as isa_switch

I8, U8 = np.int8, np.uint8


def _q(rng, shape, dtype):
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, size=shape).astype(dtype)


def _model(op, dtype, x_shape, w_shape, y_shape, options, *, per_channel, zp, w_zp=0, bias=True,
           scales=(0.05, 0.011, 0.09), seed=0, bias_range=40000, ch_spread=(0.3, 3.0)):
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    xs, ws, ys = scales
    xz, yz = zp
    wdtype = U8 if dtype == U8 else I8
    n_out = w_shape[3] if op == "DEPTHWISE_CONV_2D" else w_shape[0]
    axis = 3 if op == "DEPTHWISE_CONV_2D" else 0
    if per_channel:
        wsc = (ws * rng.uniform(*ch_spread, n_out)).astype(np.float32)
        wq = (wsc, np.zeros(n_out, np.int64), axis)
    else:
        wsc = np.array([ws], np.float32)
        wq = (ws, w_zp)
    x = b.tensor("x", x_shape, dtype, quant=(xs, xz))
    w = b.const("w", _q(rng, w_shape, wdtype), quant=wq)
    ins = [x, w]
    if bias:
        bscale = (np.float32(xs) * wsc).astype(np.float32)
        bv = rng.integers(-bias_range, bias_range, n_out, dtype=np.int64).astype(np.int32)
        bq = (bscale, np.zeros(n_out, np.int64), 0) if per_channel else (float(bscale[0]), 0)
        ins.append(b.const("b", bv, quant=bq))
    else:
        ins.append(-1)
    y = b.tensor("y", y_shape, dtype, quant=(ys, yz))
    b.op(op, ins, [y], options=options, version=3 if dtype != U8 else 1)
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def _inputs(shape, dtype, seed):
    """Random over the full range, with whole pixels and channels pinned at the minimum and maximum."""
    rng = np.random.default_rng(seed)
    x = _q(rng, shape, dtype)
    info = np.iinfo(dtype)
    flat = x.reshape(-1, shape[-1])
    flat[::3] = info.min
    flat[1::5] = info.max
    x[..., 0] = info.max
    return x


def _edgerun(model, x, isa):
    import edgerun

    with isa_switch.selected(isa):
        it = edgerun.Interpreter(model_content=model)
        it.allocate_tensors()
        names = [st.kernel for st in it._main.graph.steps]
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        return it.get_tensor(it.get_output_details()[0]["index"]), names


# avx512vnni prepares int8 CONV_2D / FULLY_CONNECTED in the dot layout (its VPDPBUSD GEMM), the rest as avx2
VNNI_KERNELS = {"s8_conv2d_madd": "s8_conv2d_dot", "s8_fc_madd": "s8_fc_dot"}


def _check(model, x_shape, dtype, *, ref_kernel, opt_kernel, seeds=(0, 1), litert=True):
    for seed in seeds:
        x = _inputs(x_shape, dtype, seed)
        ref, ref_names = _edgerun(model, x, "ref")
        assert ref_names == [ref_kernel]
        if litert:
            (theirs,) = litert_run(model, [x])
            np.testing.assert_array_equal(ref, theirs)
        for isa in isa_switch.supported()[1:]:
            other, names = _edgerun(model, x, isa)
            assert names == [VNNI_KERNELS.get(opt_kernel, opt_kernel) if isa == "avx512vnni" else opt_kernel], isa
            np.testing.assert_array_equal(other, ref, err_msg=isa)


def _out(size, k, stride, dil, same):
    eff = (k - 1) * dil + 1
    return (size + stride - 1) // stride if same else (size - eff) // stride + 1


def _zp(dtype, extreme):
    if dtype == U8:
        return (255, 0) if extreme == "hi" else (0, 255) if extreme == "lo" else (131, 120)
    return (127, -128) if extreme == "hi" else (-128, 127) if extreme == "lo" else (3, -5)


# (in channels, out channels, spatial, kernel (kh, kw), stride, dilation, same padding)
CONV = [
    (1, 1, 1, (1, 1), 1, 1, False),
    (3, 5, 7, (3, 3), 1, 1, True),
    (5, 17, 13, (1, 1), 1, 1, False),
    (17, 33, 7, (1, 1), 2, 1, True),
    (33, 3, 13, (3, 3), 2, 1, True),
    (3, 17, 13, (3, 2), 3, 1, False),
    (5, 5, 13, (3, 3), 1, 2, True),
    (17, 1, 7, (2, 3), 2, 2, False),
    (33, 33, 13, (1, 1), 1, 1, True),
    (1, 16, 13, (5, 5), 2, 1, True),
    (3, 8, 1, (1, 1), 1, 1, True),
]


@pytest.mark.parametrize("dtype", [I8, U8], ids=["int8", "uint8"])
@pytest.mark.parametrize("case", CONV, ids=lambda c: "c{}-o{}-s{}-k{}x{}-st{}-d{}-{}".format(
    c[0], c[1], c[2], *c[3], c[4], c[5], "same" if c[6] else "valid"))
def test_conv2d(case, dtype):
    ic, oc, s, (kh, kw), st, dil, same = case
    per_channel = dtype == I8 and oc % 2 == 1
    extreme = ["hi", "lo", None][(ic + oc) % 3]
    oh, ow = _out(s, kh, st, dil, same), _out(s + 1, kw, st, dil, same)
    model = _model("CONV_2D", dtype, (2, s, s + 1, ic), (oc, kh, kw, ic), (2, oh, ow, oc),
                   {"padding": 0 if same else 1, "strideH": st, "strideW": st, "dilationHFactor": dil,
                    "dilationWFactor": dil, "fusedActivationFunction": (ic + oc) % 4},
                   per_channel=per_channel, zp=_zp(dtype, extreme), w_zp=140 if dtype == U8 else 0)
    p = "s8" if dtype == I8 else "u8"
    _check(model, (2, s, s + 1, ic), dtype, ref_kernel=f"{p}_conv2d",
           opt_kernel="s8_conv2d_madd" if dtype == I8 else "u8_conv2d_gemm")


# (in channels per group, groups, out channels, spatial, kernel, stride, dilation, same)
GROUPED = [
    (2, 3, 9, 7, (3, 3), 1, 1, True),
    (8, 4, 64, 6, (3, 3), 1, 1, True),
    (5, 2, 34, 6, (2, 3), 2, 1, False),
    (1, 17, 17, 5, (3, 3), 1, 2, True),   # one input channel per group
    (3, 5, 40, 4, (1, 1), 1, 1, False),   # 8 output channels per group: no padding of the panels
]


@pytest.mark.parametrize("mode", [0, 1], ids=["double_rounding", "single_rounding"])
@pytest.mark.parametrize("dtype", [I8, U8], ids=["int8", "uint8"])
@pytest.mark.parametrize("case", GROUPED, ids=lambda c: "ic{}-g{}-o{}-s{}-k{}x{}-st{}-d{}-{}".format(
    *c[:4], *c[4], c[5], c[6], "same" if c[7] else "valid"))
def test_conv2d_grouped(case, dtype, mode):
    """Grouped convolutions: one int16 GEMM per group (kernels/opt/q_conv_group.c) with LiteRT's double rounding
    (its reference path), vectorised on AVX2; in er_rounding_mode 1 (TFLite's single rounding) against the
    reference kernel, which LiteRT's build does not offer."""
    from edgerun.kernels import lib

    ic, g, oc, s, (kh, kw), st, dil, same = case
    # no bias only where LiteRT is not asked: it refuses a grouped CONV_2D without one
    extreme = ["hi", "lo", None][oc % 3]
    oh, ow = _out(s, kh, st, dil, same), _out(s + 1, kw, st, dil, same)
    model = _model("CONV_2D", dtype, (2, s, s + 1, ic * g), (oc, kh, kw, ic), (2, oh, ow, oc),
                   {"padding": 0 if same else 1, "strideH": st, "strideW": st, "dilationHFactor": dil,
                    "dilationWFactor": dil, "fusedActivationFunction": oc % 4},
                   per_channel=dtype == I8 and oc % 2 == 0, zp=_zp(dtype, extreme), w_zp=140 if dtype == U8 else 0,
                   bias=oc != 17 or mode == 0, scales=(0.05, 0.011, 0.02 if oc % 2 else 0.09))
    p = "s8" if dtype == I8 else "u8"
    lib.er_set_rounding_mode(mode)
    try:
        _check(model, (2, s, s + 1, ic * g), dtype, ref_kernel=f"{p}_conv2d", opt_kernel=f"{p}_conv2d_group_gemm",
               litert=mode == 0)
    finally:
        lib.er_set_rounding_mode(0)


# (channels, multiplier, spatial, kernel, stride, dilation, same)
DEPTHWISE = [
    (1, 1, 7, (3, 3), 1, 1, True),
    (3, 1, 13, (3, 3), 2, 1, True),
    (5, 1, 7, (5, 5), 1, 1, False),
    (17, 1, 13, (3, 3), 1, 2, True),
    (33, 1, 7, (2, 2), 2, 1, False),
    (16, 1, 1, (3, 3), 1, 1, True),
    (8, 1, 13, (3, 1), 3, 1, True),
    (24, 1, 7, (1, 1), 1, 1, True),
    (5, 2, 7, (3, 3), 1, 1, True),
    (3, 3, 13, (3, 3), 2, 1, False),
    (16, 2, 9, (3, 3), 1, 1, True),
    (1, 8, 6, (2, 2), 1, 2, True),
]


@pytest.mark.parametrize("dtype", [I8, U8], ids=["int8", "uint8"])
@pytest.mark.parametrize("case", DEPTHWISE, ids=lambda c: "c{}-m{}-s{}-k{}x{}-st{}-d{}-{}".format(
    c[0], c[1], c[2], *c[3], c[4], c[5], "same" if c[6] else "valid"))
def test_depthwise(case, dtype):
    c, mult, s, (kh, kw), st, dil, same = case
    oc = c * mult
    per_channel = dtype == I8 and c % 2 == 1
    extreme = ["hi", "lo", None][c % 3]
    oh, ow = _out(s, kh, st, dil, same), _out(s + 2, kw, st, dil, same)
    model = _model("DEPTHWISE_CONV_2D", dtype, (2, s, s + 2, c), (1, kh, kw, oc), (2, oh, ow, oc),
                   {"padding": 0 if same else 1, "strideH": st, "strideW": st, "dilationHFactor": dil,
                    "dilationWFactor": dil, "depthMultiplier": mult, "fusedActivationFunction": c % 4},
                   per_channel=per_channel, zp=_zp(dtype, extreme), w_zp=133 if dtype == U8 else 0)
    p = "s8" if dtype == I8 else "u8"
    _check(model, (2, s, s + 2, c), dtype, ref_kernel=f"{p}_dwconv2d",
           opt_kernel=(("s8_dwconv2d_madd" if dtype == I8 else "u8_dwconv2d_vec") if mult == 1
                       else "s8_dwconv2d_mult_madd" if dtype == I8 else "u8_dwconv2d_mult_vec"))


@pytest.mark.parametrize("case", [c for c in DEPTHWISE if c[1] > 1], ids=lambda c: "c{}-m{}".format(*c[:2]))
def test_depthwise_multiplier_single_rounding(case):
    """int8 multipliers > 1 (s8_dwconv2d_mult_madd: the multiplier-1 kernel over the repeated input) in
    er_rounding_mode 1, against the reference kernel."""
    from edgerun.kernels import lib

    c, mult, s, (kh, kw), st, dil, same = case
    oh, ow = _out(s, kh, st, dil, same), _out(s + 2, kw, st, dil, same)
    model = _model("DEPTHWISE_CONV_2D", I8, (1, s, s + 2, c), (1, kh, kw, c * mult), (1, oh, ow, c * mult),
                   {"padding": 0 if same else 1, "strideH": st, "strideW": st, "dilationHFactor": dil,
                    "dilationWFactor": dil, "depthMultiplier": mult, "fusedActivationFunction": c % 4},
                   per_channel=True, zp=_zp(I8, None), scales=(0.05, 0.011, 0.02))
    lib.er_set_rounding_mode(1)
    try:
        _check(model, (1, s, s + 2, c), I8, ref_kernel="s8_dwconv2d", opt_kernel="s8_dwconv2d_mult_madd",
               litert=False)
    finally:
        lib.er_set_rounding_mode(0)


@pytest.mark.parametrize("case", [c for c in DEPTHWISE if c[1] > 1], ids=lambda c: "c{}-m{}".format(*c[:2]))
def test_depthwise_multiplier_offset_form(case, monkeypatch):
    """int8 multipliers > 1 as ARM plans run them (s8_dwconv2d_mult_vec: the int16 offset-form depthwise over the
    repeated input), forced on this CPU by leaving the madd layout to no ISA; against the reference."""
    from edgerun.runtime.ops import conv_int

    monkeypatch.setattr(conv_int, "MADD_ISAS", ())
    c, mult, s, (kh, kw), st, dil, same = case
    oh, ow = _out(s, kh, st, dil, same), _out(s + 2, kw, st, dil, same)
    model = _model("DEPTHWISE_CONV_2D", I8, (1, s, s + 2, c), (1, kh, kw, c * mult), (1, oh, ow, c * mult),
                   {"padding": 0 if same else 1, "strideH": st, "strideW": st, "dilationHFactor": dil,
                    "dilationWFactor": dil, "depthMultiplier": mult, "fusedActivationFunction": c % 4},
                   per_channel=True, zp=_zp(I8, "lo"), scales=(0.05, 0.011, 0.02))
    _check(model, (1, s, s + 2, c), I8, ref_kernel="s8_dwconv2d", opt_kernel="s8_dwconv2d_mult_vec", litert=False)


# (rows, K, N)
FC = [(1, 1, 1), (1, 3, 5), (7, 17, 33), (13, 33, 17), (40, 5, 3), (3, 64, 24), (2, 257, 10)]


@pytest.mark.parametrize("dtype", [I8, U8], ids=["int8", "uint8"])
@pytest.mark.parametrize("case", FC, ids=lambda c: "m{}-k{}-n{}".format(*c))
def test_fully_connected(case, dtype):
    m, k, n = case
    extreme = ["hi", "lo", None][(k + n) % 3]
    model = _model("FULLY_CONNECTED", dtype, (m, k), (n, k), (m, n), {"fusedActivationFunction": (m + k) % 4},
                   per_channel=False, zp=_zp(dtype, extreme), w_zp=126 if dtype == U8 else 0, bias=n != 5,
                   scales=(0.05, 0.011, 0.3))
    p = "s8" if dtype == I8 else "u8"
    _check(model, (m, k), dtype, ref_kernel=f"{p}_fc", opt_kernel="s8_fc_madd" if dtype == I8 else "u8_fc_gemm")


# -- the int8 "madd" kernels (s8_conv2d_madd, s8_fc_madd, s8_dwconv2d_madd: int8 weights, zero point folded into
# the bias, requantized in registers) against the reference kernel, at and around their tiles (4 rows x 16
# channels, depthwise 16 / 8 / 1-7 channels), under every rounding mode the params can name (forced for the
# op, so the reference is the oracle, not LiteRT), with multipliers whose shift is >= 0 (the general
# requantization form) beside < 0 (the one-step form), and biases near the int32 limits (accumulators that wrap
# and reach the extremes of the 64-bit products).
RND = {"tflite": 0, "upward": 1, "upward8": 2}


def _force_rounding(monkeypatch, op, rounding):
    from edgerun.runtime.ops import conv_int

    if rounding is not None:
        monkeypatch.setitem(conv_int.ROUNDING, (op, conv_int.I8), RND[rounding])  # the plan's type code, not np.int8


# (out channels, spatial (rows = s * (s + 1)), kernel, scales (input, weight, output), bias range)
MADD_CONV = [
    (7, 1, 1, (0.05, 0.011, 0.09), 40000),
    (8, 2, 3, (0.05, 0.011, 0.09), 40000),
    (9, 3, 1, (0.5, 0.4, 0.09), 40000),          # real multipliers > 1: shift >= 0
    (15, 1, 3, (0.05, 0.011, 0.09), 2**31 - 1),  # accumulators wrap
    (16, 2, 1, (0.05, 0.011, 0.001), 2**31 - 1),  # large multipliers on extreme accumulators
    (17, 3, 3, (0.05, 0.011, 0.09), 40000),
    (24, 1, 1, (0.05, 0.011, 0.09), 40000),
    (31, 2, 1, (0.05, 0.011, 0.09), 40000),
    (33, 4, 2, (0.05, 0.011, 0.09), 40000),
]


@pytest.mark.parametrize("rounding", [None, "tflite", "upward", "upward8"])
@pytest.mark.parametrize("case", MADD_CONV, ids=lambda c: "o{}-s{}-k{}-m{}-b{}".format(
    c[0], c[1], c[2], c[3][0] * c[3][1] / c[3][2], c[4]))
def test_madd_conv2d_edges(case, rounding, monkeypatch):
    oc, s, k, scales, brange = case
    ic = 5 if k > 1 else 19
    _force_rounding(monkeypatch, "CONV_2D", rounding)
    extreme = ["hi", "lo", None][oc % 3]
    model = _model("CONV_2D", I8, (1, s, s + 1, ic), (oc, k, k, ic), (1, s, s + 1, oc),
                   {"padding": 0, "strideH": 1, "strideW": 1, "fusedActivationFunction": oc % 4},
                   per_channel=oc % 2 == 1, zp=_zp(I8, extreme), scales=scales, bias_range=brange,
                   ch_spread=(0.1, 10.0), seed=oc)
    _check(model, (1, s, s + 1, ic), I8, ref_kernel="s8_conv2d", opt_kernel="s8_conv2d_madd",
           litert=rounding is None)


# (channels, spatial, kernel, stride, scales, bias range)
MADD_DW = [
    (1, 5, 3, 1, (0.05, 0.011, 0.09), 40000),
    (7, 6, 3, 2, (0.05, 0.011, 0.09), 40000),
    (8, 5, 5, 1, (0.5, 0.4, 0.09), 40000),
    (15, 4, 3, 1, (0.05, 0.011, 0.09), 2**31 - 1),
    (16, 7, 3, 2, (0.05, 0.011, 0.001), 2**31 - 1),
    (23, 5, 3, 1, (0.05, 0.011, 0.09), 40000),
    (24, 3, 2, 1, (0.05, 0.011, 0.09), 40000),
    (40, 6, 3, 1, (0.05, 0.011, 0.09), 40000),
]


@pytest.mark.parametrize("rounding", [None, "tflite", "upward", "upward8"])
@pytest.mark.parametrize("case", MADD_DW, ids=lambda c: "c{}-s{}-k{}-st{}-m{}-b{}".format(
    c[0], c[1], c[2], c[3], c[4][0] * c[4][1] / c[4][2], c[5]))
def test_madd_depthwise_edges(case, rounding, monkeypatch):
    c, s, k, st, scales, brange = case
    _force_rounding(monkeypatch, "DEPTHWISE_CONV_2D", rounding)
    extreme = ["hi", "lo", None][c % 3]
    oh, ow = _out(s, k, st, 1, True), _out(s + 3, k, st, 1, True)
    model = _model("DEPTHWISE_CONV_2D", I8, (1, s, s + 3, c), (1, k, k, c), (1, oh, ow, c),
                   {"padding": 0, "strideH": st, "strideW": st, "depthMultiplier": 1,
                    "fusedActivationFunction": c % 4},
                   per_channel=c % 2 == 1, zp=_zp(I8, extreme), scales=scales, bias_range=brange,
                   ch_spread=(0.1, 10.0), seed=c)
    _check(model, (1, s, s + 3, c), I8, ref_kernel="s8_dwconv2d", opt_kernel="s8_dwconv2d_madd",
           litert=rounding is None)


@pytest.mark.parametrize("rounding", [None, "tflite", "upward8"])
@pytest.mark.parametrize("case", [(1, 2, 17), (3, 9, 8), (4, 16, 16), (5, 31, 9), (9, 40, 33)],
                         ids=lambda c: "m{}-k{}-n{}".format(*c))
def test_madd_fully_connected_edges(case, rounding, monkeypatch):
    m, k, n = case
    _force_rounding(monkeypatch, "FULLY_CONNECTED", rounding)
    model = _model("FULLY_CONNECTED", I8, (m, k), (n, k), (m, n), {"fusedActivationFunction": (m + n) % 4},
                   per_channel=False, zp=_zp(I8, ["hi", "lo", None][n % 3]), scales=(0.05, 0.011, 0.02),
                   bias_range=2**31 - 1 if n % 2 else 40000, seed=n)
    _check(model, (m, k), I8, ref_kernel="s8_fc", opt_kernel="s8_fc_madd", litert=rounding is None)


def test_madd_packs_int8_weights():
    """The int8 kernels keep their weights int8: the prepared bytes are K per channel plus the folded bias and
    the requantization constants (24 bytes per channel) and the multipliers/shifts, not 2 K per channel."""
    import edgerun

    oc, k = 64, 3 * 3 * 32
    model = _model("CONV_2D", I8, (1, 5, 6, 32), (oc, 3, 3, 32), (1, 5, 6, oc),
                   {"padding": 0, "strideH": 1, "strideW": 1}, per_channel=True, zp=(3, -5))
    cpu = isa_switch.supported()
    with isa_switch.selected("avx2" if "avx2" in cpu else cpu[-1]):  # avx512vnni takes the dot layout
        it = edgerun.Interpreter(model_content=model)
        it.allocate_tensors()
        assert [st.kernel for st in it._main.graph.steps] == ["s8_conv2d_madd"]
        packed = it.memory_report()["prepared_weight_bytes"]
    assert oc * k <= packed <= oc * k + oc * (24 + 8) + 32
