"""The optimized 8-bit conv-family kernels (kernels/opt/q_conv.c with the AVX2 micro-kernels of
kernels/x86/q_conv_avx2.c, and their portable loops) against the reference kernels (kernels/ref/q_conv.c,
q_conv_fc.c) and against LiteRT, bit for bit, on odd shapes: channels 1, 3, 5, 17, 33, spatial 1, 7, 13,
strides, dilations, paddings, depthwise multipliers, groups, per-tensor and per-channel weights, extreme zero
points and inputs pinned at the ends of the integer range.

Each model runs in edgerun under every ISA this CPU supports (runtime/isa.py, as EDGERUN_ISA would choose
them): ref (reference kernels), portable (optimized kernels, portable loops), sse2 (the x86 SSE2 GEMM) and
avx2 (the x86 AVX2 micro-kernels); the kernel names of the prepared plan are checked so that the paths
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
           scales=(0.05, 0.011, 0.09), seed=0):
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    xs, ws, ys = scales
    xz, yz = zp
    wdtype = U8 if dtype == U8 else I8
    n_out = w_shape[3] if op == "DEPTHWISE_CONV_2D" else w_shape[0]
    axis = 3 if op == "DEPTHWISE_CONV_2D" else 0
    if per_channel:
        wsc = (ws * rng.uniform(0.3, 3.0, n_out)).astype(np.float32)
        wq = (wsc, np.zeros(n_out, np.int64), axis)
    else:
        wsc = np.array([ws], np.float32)
        wq = (ws, w_zp)
    x = b.tensor("x", x_shape, dtype, quant=(xs, xz))
    w = b.const("w", _q(rng, w_shape, wdtype), quant=wq)
    ins = [x, w]
    if bias:
        bscale = (np.float32(xs) * wsc).astype(np.float32)
        bv = rng.integers(-40000, 40000, n_out).astype(np.int32)
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


def _check(model, x_shape, dtype, *, ref_kernel, opt_kernel, seeds=(0, 1)):
    for seed in seeds:
        x = _inputs(x_shape, dtype, seed)
        (theirs,) = litert_run(model, [x])
        ref, ref_names = _edgerun(model, x, "ref")
        assert ref_names == [ref_kernel]
        np.testing.assert_array_equal(ref, theirs)
        for isa in isa_switch.supported()[1:]:
            other, names = _edgerun(model, x, isa)
            assert names == [opt_kernel], isa
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
    _check(model, (2, s, s + 1, ic), dtype, ref_kernel=f"{p}_conv2d", opt_kernel=f"{p}_conv2d_gemm")


def test_conv2d_grouped_runs_the_reference():
    """Grouped convolutions keep the reference kernel (LiteRT's reference path, double rounding)."""
    model = _model("CONV_2D", I8, (1, 7, 7, 6), (9, 3, 3, 2), (1, 7, 7, 9), {"padding": 0, "strideH": 1, "strideW": 1},
                   per_channel=True, zp=_zp(I8, "hi"))
    _check(model, (1, 7, 7, 6), I8, ref_kernel="s8_conv2d", opt_kernel="s8_conv2d")


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
           opt_kernel=f"{p}_dwconv2d_vec" if mult == 1 else f"{p}_dwconv2d")


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
    _check(model, (m, k), dtype, ref_kernel=f"{p}_fc", opt_kernel=f"{p}_fc_gemm")
