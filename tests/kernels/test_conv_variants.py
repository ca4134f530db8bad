"""The fast float conv kernels (kernels/opt/conv.c: packed-weight GEMM, channel-vectorised depthwise; the
SSE2 and AVX2+FMA instances in kernels/x86/conv_sse2.c, conv_avx2.c) against the portable reference kernels
(kernels/ref/conv.c, fc.c) and against LiteRT, on hand-built models with odd shapes.

Each model runs under every ISA this CPU supports (runtime/isa.py, as EDGERUN_ISA would choose them):
  ref       reference kernels
  portable  fast kernels, portable (4-wide vector) code
  sse2      fast kernels, SSE2 instance (x86)
  avx2      fast kernels, AVX2+FMA instance (x86 with both)
Every mode must match LiteRT (max|diff| <= 1e-3 x max|LiteRT|); the fast modes must also stay within float
rounding of the reference (different summation order, FMA). The kernel each mode selected is checked, so a
silent fallback to the reference would fail the test."""
import numpy as np
import pytest
from oracle import litert_interpreter, litert_run, random_inputs

from edgerun.runtime import isa as isa_switch

MODES = isa_switch.supported()


def _run_modes(model, monkeypatch, expect_fast, seed=0, oracle_model=None, in_place=None):
    """Outputs and selected kernel names for each mode; compared with LiteRT (on oracle_model when given:
    the same model in a form LiteRT accepts) and with each other."""
    import edgerun

    oracle_model = oracle_model or model
    inputs = random_inputs(litert_interpreter(oracle_model).get_input_details(), seed=seed)
    theirs = litert_run(oracle_model, inputs)
    outs = {}
    for mode in MODES:
        with monkeypatch.context() as m, isa_switch.selected(mode):
            if in_place is not None:  # CONV_2D windows read in place from any output width, or never
                m.setenv("EDGERUN_CONV_IN_PLACE_MIN_WIDTH", "1" if in_place else "1000000")
            it = edgerun.Interpreter(model_content=model)
            it.allocate_tensors()
            ours = _invoke(it, inputs)
        names = [st.kernel for st in it._main.graph.steps]
        if in_place is not None and mode != "ref":
            for st in it._main.graph.steps:
                if st.kernel == "f32_conv2d_fast" and st.params.fields["koff"] is not None:
                    assert in_place, "windows read in place although disabled"
                elif st.kernel == "f32_conv2d_fast" and st.scratch_bytes:
                    assert not in_place, "windows gathered although in-place reads were asked for"
        fast = [n for n in names if n.endswith("_fast")]
        if mode == "ref" or not expect_fast:
            assert not fast, (mode, names)
        else:
            assert fast, (mode, names)
        for o, t in zip(ours, theirs):
            assert o.shape == t.shape and o.dtype == t.dtype
            tol = 1e-3 * max(float(np.max(np.abs(t))), 1e-6) if t.size else 0.0
            err = float(np.max(np.abs(o - t))) if t.size else 0.0
            assert err <= tol, f"{mode}: max|edgerun - LiteRT| = {err} > {tol}"
        outs[mode] = ours
    for mode in MODES[1:]:
        for o, r in zip(outs[mode], outs["ref"]):
            scale = max(float(np.max(np.abs(r))), 1.0) if r.size else 1.0
            np.testing.assert_allclose(o, r, rtol=0, atol=2e-5 * scale, err_msg=f"{mode} vs reference")
    return outs


def _invoke(it, inputs):
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


# (batch, H, W, C, OC, KH, KW, stride_h, stride_w, dil_h, dil_w, padding (0 SAME, 1 VALID), act, groups)
CONV = [
    (1, 7, 7, 1, 1, 3, 3, 1, 1, 1, 1, 0, 0, 1),
    (1, 7, 13, 3, 5, 3, 3, 2, 2, 1, 1, 0, 3, 1),
    (2, 13, 7, 5, 17, 3, 2, 1, 3, 1, 1, 1, 1, 1),
    (1, 13, 13, 17, 33, 1, 1, 1, 1, 1, 1, 0, 0, 1),     # 1x1: direct GEMM
    (2, 7, 13, 33, 17, 1, 1, 1, 1, 1, 1, 1, 3, 1),      # 1x1 VALID, two images
    (1, 13, 13, 5, 3, 1, 1, 2, 3, 1, 1, 0, 1, 1),       # 1x1 strided: gathered
    (1, 1, 1, 33, 5, 1, 1, 1, 1, 1, 1, 0, 2, 1),        # spatial 1
    (1, 1, 1, 3, 17, 3, 3, 1, 1, 1, 1, 0, 0, 1),        # 3x3 SAME on 1x1
    (1, 13, 7, 3, 17, 3, 3, 1, 1, 2, 2, 0, 2, 1),       # dilation
    (1, 13, 13, 5, 5, 3, 2, 3, 2, 2, 3, 1, 0, 1),       # dilation with strides, VALID
    (1, 7, 7, 6, 9, 3, 3, 1, 1, 1, 1, 0, 1, 3),         # groups
    (1, 13, 7, 34, 34, 1, 1, 1, 1, 1, 1, 0, 3, 2),      # grouped 1x1 direct, 17 channels per group
    (1, 7, 13, 10, 35, 2, 3, 2, 1, 1, 1, 1, 0, 5),      # groups 5, 7 out channels per group
    (1, 13, 5, 1, 33, 5, 4, 2, 2, 1, 1, 0, 1, 1),       # one input channel, tall window (DS-CNN-like)
    (3, 7, 7, 17, 1, 3, 3, 3, 3, 1, 1, 0, 0, 1),        # one output channel, stride 3
    (1, 13, 13, 16, 48, 3, 3, 1, 1, 1, 1, 0, 3, 1),     # full panels
]


def _conv_model(case, seed=0, zero_bias=False):
    from edgerun.runtime.ops.conv import out_size
    from edgerun.schema.builder import ModelBuilder

    n, h, w, c, oc, kh, kw, sh, sw, dh, dw, pad, act, groups = case
    rng = np.random.default_rng(seed)
    oh, ow = out_size(pad, h, kh, sh, dh), out_size(pad, w, kw, sw, dw)
    b = ModelBuilder()
    x = b.tensor("x", (n, h, w, c), np.float32)
    wt = b.const("w", rng.uniform(-1, 1, (oc, kh, kw, c // groups)).astype(np.float32))
    bias = rng.uniform(-1, 1, oc).astype(np.float32)
    if zero_bias:
        bias[:] = 0
    ins = [x, wt] + ([b.const("b", bias)] if seed % 2 == 0 or zero_bias else [])
    y = b.tensor("y", (n, oh, ow, oc), np.float32)
    b.op("CONV_2D", ins, [y], {"padding": pad, "strideH": sh, "strideW": sw, "dilationHFactor": dh,
                                         "dilationWFactor": dw, "fusedActivationFunction": act})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


@pytest.mark.parametrize("case", CONV, ids=lambda c: "x".join(map(str, c)))
@pytest.mark.parametrize("seed", [0, 1], ids=["bias", "nobias"])
@pytest.mark.parametrize("in_place", [True, False], ids=["inplace", "gather"])
def test_conv2d_variants(case, seed, in_place, monkeypatch):
    # LiteRT 2.3 refuses a CONV_2D without bias: it runs the same model with a zero bias
    oracle = _conv_model(case, seed, zero_bias=True) if seed % 2 else None
    _run_modes(_conv_model(case, seed), monkeypatch, expect_fast=True, oracle_model=oracle, in_place=in_place)


# (batch, H, W, C, multiplier, KH, KW, stride_h, stride_w, dil_h, dil_w, padding, act)
DEPTHWISE = [
    (1, 7, 7, 1, 1, 3, 3, 1, 1, 1, 1, 0, 0),
    (1, 13, 13, 3, 1, 3, 3, 2, 2, 1, 1, 0, 3),
    (2, 7, 13, 5, 1, 3, 2, 1, 3, 1, 1, 1, 1),
    (1, 13, 7, 17, 1, 3, 3, 1, 1, 2, 2, 0, 2),
    (1, 13, 13, 33, 1, 5, 5, 3, 3, 1, 1, 0, 3),
    (1, 7, 7, 40, 1, 3, 3, 1, 1, 1, 1, 0, 0),      # 32 + 8: both vector block sizes
    (1, 1, 1, 33, 1, 3, 3, 1, 1, 1, 1, 0, 1),
    (1, 13, 13, 5, 1, 3, 3, 2, 3, 3, 2, 1, 0),
    (1, 13, 13, 24, 1, 3, 3, 2, 2, 1, 1, 0, 3),    # 3x3 rows with weights held in registers
    (2, 13, 13, 9, 1, 3, 3, 1, 2, 2, 1, 1, 2),
    (1, 13, 11, 19, 1, 3, 3, 1, 1, 1, 1, 0, 0),
    (1, 7, 7, 3, 2, 3, 3, 1, 1, 1, 1, 0, 3),       # multipliers > 1: f32_dwconv2d_mult_fast (repeated input)
    (1, 13, 7, 5, 3, 2, 2, 2, 1, 1, 1, 1, 1),
]


def _dw_model(case, seed=0, zero_bias=False):
    from edgerun.runtime.ops.conv import out_size
    from edgerun.schema.builder import ModelBuilder

    n, h, w, c, mult, kh, kw, sh, sw, dh, dw, pad, act = case
    rng = np.random.default_rng(seed)
    oh, ow = out_size(pad, h, kh, sh, dh), out_size(pad, w, kw, sw, dw)
    b = ModelBuilder()
    x = b.tensor("x", (n, h, w, c), np.float32)
    wt = b.const("w", rng.uniform(-1, 1, (1, kh, kw, c * mult)).astype(np.float32))
    bias = rng.uniform(-1, 1, c * mult).astype(np.float32)
    if zero_bias:
        bias[:] = 0
    ins = [x, wt] + ([b.const("b", bias)] if seed % 2 == 0 or zero_bias else [])
    y = b.tensor("y", (n, oh, ow, c * mult), np.float32)
    b.op("DEPTHWISE_CONV_2D", ins, [y], {"padding": pad, "strideH": sh, "strideW": sw,
                                                   "dilationHFactor": dh, "dilationWFactor": dw,
                                                   "depthMultiplier": mult, "fusedActivationFunction": act})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


@pytest.mark.parametrize("case", DEPTHWISE, ids=lambda c: "x".join(map(str, c)))
@pytest.mark.parametrize("seed", [0, 1], ids=["bias", "nobias"])
def test_depthwise_variants(case, seed, monkeypatch):
    # LiteRT 2.3 crashes on a DEPTHWISE_CONV_2D without bias: it runs the same model with a zero bias
    oracle = _dw_model(case, seed, zero_bias=True) if seed % 2 else None
    _run_modes(_dw_model(case, seed), monkeypatch, expect_fast=True, oracle_model=oracle)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (1, 17, 5), (3, 33, 17), (7, 5, 33), (1, 100, 16), (2, 64, 12),
                                   (13, 3, 40)])
@pytest.mark.parametrize("act", [0, 1, 2, 3])
def test_fully_connected_variants(m, k, n, act, monkeypatch):
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    b = ModelBuilder()
    x = b.tensor("x", (m, k), np.float32)
    wt = b.const("w", rng.uniform(-1, 1, (n, k)).astype(np.float32))
    bias = b.const("b", rng.uniform(-1, 1, n).astype(np.float32)) if act % 2 == 0 else -1
    y = b.tensor("y", (m, n), np.float32)
    b.op("FULLY_CONNECTED", [x, wt, bias], [y], {"fusedActivationFunction": act})
    b.inputs([x])
    b.outputs([y])
    _run_modes(b.finish(), monkeypatch, expect_fast=True)


def test_fully_connected_runtime_weights_use_reference(monkeypatch):
    """Weights that are a model input cannot be packed at prepare: the reference kernel runs in every mode."""
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (3, 17), np.float32)
    wt = b.tensor("w", (5, 17), np.float32)
    y = b.tensor("y", (3, 5), np.float32)
    b.op("FULLY_CONNECTED", [x, wt, -1], [y], {"fusedActivationFunction": 1})
    b.inputs([x, wt])
    b.outputs([y])
    _run_modes(b.finish(), monkeypatch, expect_fast=False)


def test_depthwise_then_conv_chain(monkeypatch):
    """A MobileNet-like block (1x1 expand, 3x3 depthwise stride 2, 1x1 project, dense head) end to end."""
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(5)
    b = ModelBuilder()
    x = b.tensor("x", (1, 13, 13, 5), np.float32)
    w1 = b.const("w1", rng.uniform(-1, 1, (30, 1, 1, 5)).astype(np.float32))
    b1 = b.const("b1", rng.uniform(-1, 1, 30).astype(np.float32))
    t1 = b.tensor("t1", (1, 13, 13, 30), np.float32)
    b.op("CONV_2D", [x, w1, b1], [t1], {"padding": 0, "strideH": 1, "strideW": 1, "fusedActivationFunction": 3})
    w2 = b.const("w2", rng.uniform(-1, 1, (1, 3, 3, 30)).astype(np.float32))
    b2 = b.const("b2", rng.uniform(-1, 1, 30).astype(np.float32))
    t2 = b.tensor("t2", (1, 7, 7, 30), np.float32)
    b.op("DEPTHWISE_CONV_2D", [t1, w2, b2], [t2], {"padding": 0, "strideH": 2, "strideW": 2,
                                                    "depthMultiplier": 1, "fusedActivationFunction": 3})
    w3 = b.const("w3", rng.uniform(-1, 1, (9, 1, 1, 30)).astype(np.float32))
    t3 = b.tensor("t3", (1, 7, 7, 9), np.float32)
    b3 = b.const("b3", rng.uniform(-1, 1, 9).astype(np.float32))
    b.op("CONV_2D", [t2, w3, b3], [t3], {"padding": 1, "strideH": 1, "strideW": 1})
    w4 = b.const("w4", rng.uniform(-1, 1, (4, 7 * 7 * 9)).astype(np.float32))
    y = b.tensor("y", (1, 4), np.float32)
    b.op("FULLY_CONNECTED", [t3, w4, -1], [y], {})
    b.inputs([x])
    b.outputs([y])
    _run_modes(b.finish(), monkeypatch, expect_fast=True)


# (batch, H, W, C, OC, KH, KW, stride_h, stride_w, padding (0 SAME, 1 VALID), act, bias)
TCONV = [
    (1, 4, 5, 3, 9, 3, 3, 2, 2, 0, 0, True),
    (2, 3, 3, 1, 1, 2, 2, 1, 1, 1, 1, False),
    (1, 7, 6, 17, 5, 4, 4, 2, 2, 0, 3, True),      # the decoder shape: 4x4 stride 2
    (1, 5, 5, 8, 33, 3, 2, 1, 3, 1, 2, True),
    (1, 1, 1, 5, 16, 5, 5, 3, 3, 0, 0, True),
    (1, 9, 4, 40, 24, 1, 1, 2, 1, 0, 1, False),
]


def _tconv_model(case, zero_bias=False):
    from edgerun.runtime.ops.conv import out_size
    from edgerun.schema.builder import ModelBuilder

    n, h, w, c, oc, kh, kw, sh, sw, pad, act, bias = case
    # the output size whose forward convolution gives back (h, w)
    oh = next(o for o in range(1, h * sh + kh + 1) if out_size(pad, o, kh, sh) == h and o >= (h - 1) * sh + 1)
    ow = next(o for o in range(1, w * sw + kw + 1) if out_size(pad, o, kw, sw) == w and o >= (w - 1) * sw + 1)
    rng = np.random.default_rng(sum(case[:9]))
    b = ModelBuilder()
    x = b.tensor("x", (n, h, w, c), np.float32)
    shape = b.const("shape", np.array([n, oh, ow, oc], np.int32))
    wt = b.const("w", rng.uniform(-1, 1, (oc, kh, kw, c)).astype(np.float32))
    ins = [shape, wt, x]
    if bias or zero_bias:
        ins.append(b.const("b", (rng.uniform(-1, 1, oc) if bias else np.zeros(oc)).astype(np.float32)))
    y = b.tensor("y", (n, oh, ow, oc), np.float32)
    b.op("TRANSPOSE_CONV", ins, [y], {"padding": pad, "strideH": sh, "strideW": sw, "fusedActivationFunction": act})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


@pytest.mark.parametrize("case", TCONV, ids=lambda c: "x".join(map(str, c)))
def test_transpose_conv_variants(case, monkeypatch):
    """The fast TRANSPOSE_CONV (one GEMM of every input pixel by KH * KW * OC packed columns, then the scatter)
    in every mode against the reference kernel and LiteRT."""
    _run_modes(_tconv_model(case), monkeypatch, expect_fast=True,
               oracle_model=None if case[-1] else _tconv_model(case, zero_bias=True))


# (a shape, b shape, adj_x, adj_y, b constant)
BMM = [
    ((1, 5, 7), (1, 7, 3), False, False, False),
    ((2, 3, 17, 33), (2, 3, 33, 9), False, False, False),
    ((4, 33, 17), (4, 24, 33), True, True, False),     # both adjoint (attention's Q K^T)
    ((3, 1, 6, 5), (1, 4, 5, 40), False, False, False),  # broadcast batches
    ((2, 9, 16), (16, 8), False, False, True),          # constant right-hand side (a MatMul layer)
    ((1, 1, 64), (1, 10, 64), False, True, False),
    ((2, 13, 3), (2, 13, 1), True, False, False),
]


@pytest.mark.parametrize("case", BMM, ids=lambda c: f"{c[0]}x{c[1]}-ax{int(c[2])}-ay{int(c[3])}-c{int(c[4])}")
def test_batch_matmul_variants(case, monkeypatch):
    from edgerun.schema.builder import ModelBuilder

    sa, sb, ax, ay, const = case
    rng = np.random.default_rng(len(sa) * 100 + sa[-1])
    m = sa[-1] if ax else sa[-2]
    n = sb[-2] if ay else sb[-1]
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    b = ModelBuilder()
    x = b.tensor("a", sa, np.float32)
    y = b.const("b", rng.uniform(-1, 1, sb).astype(np.float32)) if const else b.tensor("b", sb, np.float32)
    out = b.tensor("y", tuple(batch) + (m, n), np.float32)
    b.op("BATCH_MATMUL", [x, y], [out], {"adjX": ax, "adjY": ay})
    b.inputs([x] if const else [x, y])
    b.outputs([out])
    _run_modes(b.finish(), monkeypatch, expect_fast=True)
