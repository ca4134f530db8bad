"""The x86 int8 depthwise of the madd plan (s8_dwconv2d_madd) against the reference kernel, bit for bit: avx512vnni's
row loop (kernels/x86/q_dw_vnni.c: tap pairs on VPDPWSSD; full blocks of 32 channels, the last one partial; half
blocks of 16 channels for two pixels at once, for C <= 16 and the last 1-16 channels of others) and, on the same
shapes, avx2's per-pixel micro-kernel (kernels/x86/q_conv_avx2.c), at and around those blocks: odd pixel counts
leave one pixel alone, chunks of 128 channels (+ up to 16), kernels with 1, 2, 5, 8 and 13 tap pairs (fixed and
generic forms) and 25 (past the row loop's limit: the driver's rows on AVX2's micro-kernel),
strides, dilations, SAME/VALID padding (border pixels with zero-point taps), per-channel scales with multipliers
above 1 (shift >= 0: the scalar requantization) and tiny ones (shift below -31), biases that wrap the int32
accumulators, both rounding modes ("upward" and TFLite's double rounding, forced), and 1 vs 3 threads; every
channel count 1..67 with many rounding ties, where blocks mix TFLite's and "upward" lanes, in double and single
rounding (er_rounding_mode 1).
Each ISA is skipped on CPUs without it."""
import numpy as np
import pytest
from edgerun.runtime import isa as isa_switch
from test_qconv_variants import I8, _force_rounding, _inputs, _model, _out

ISAS = [pytest.param(i, marks=pytest.mark.skipif(i not in isa_switch.supported(),
                                                 reason=f"this CPU (or its OS) does not run {i} code"))
        for i in ("avx2", "avx512vnni")]


def _run(model, x, isa, threads=1):
    import edgerun

    with isa_switch.selected(isa):
        it = edgerun.Interpreter(model_content=model, num_threads=threads)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        return it.get_tensor(it.get_output_details()[0]["index"]), [st.kernel for st in it._main.graph.steps]


# (channels, height, width, kernel (kh, kw), stride, dilation, same, scales (input, weight, output), bias range)
CASES = [
    (1, 5, 6, (3, 3), 1, 1, True, (0.05, 0.011, 0.09), 40000),
    (7, 6, 7, (3, 3), 2, 1, True, (0.05, 0.011, 0.09), 40000),
    (12, 4, 5, (3, 3), 2, 1, True, (0.05, 0.011, 0.09), 40000),
    (16, 7, 9, (3, 3), 1, 1, True, (0.05, 0.011, 0.09), 2**31 - 1),
    (17, 5, 5, (5, 5), 1, 1, True, (0.5, 0.4, 0.09), 40000),        # multipliers > 1 beside < 1
    (31, 4, 7, (3, 3), 1, 2, True, (0.05, 0.011, 0.09), 40000),
    (32, 5, 8, (2, 2), 2, 1, False, (0.05, 0.011, 0.09), 40000),
    (33, 3, 3, (3, 3), 1, 1, True, (0.05, 0.011, 0.001), 2**31 - 1),
    (48, 6, 5, (3, 1), 1, 1, True, (0.05, 0.011, 0.09), 40000),
    (64, 5, 5, (1, 1), 1, 1, False, (0.05, 0.011, 3e6), 40000),      # shifts below -31
    (80, 4, 6, (4, 4), 1, 1, True, (0.05, 0.011, 0.09), 40000),
    (130, 3, 4, (3, 3), 2, 1, True, (0.05, 0.011, 0.09), 40000),
    (145, 3, 3, (3, 3), 1, 1, False, (0.05, 0.011, 0.09), 40000),
    (300, 2, 3, (3, 3), 1, 1, True, (0.05, 0.011, 0.09), 40000),
    (24, 9, 8, (7, 7), 1, 1, True, (0.05, 0.011, 0.09), 40000),       # 25 tap pairs: AVX2's micro-kernel
]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("rounding", [None, "tflite", "upward"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "c{}-{}x{}-k{}x{}-st{}-d{}-{}-o{:g}".format(
    c[0], c[1], c[2], *c[3], c[4], c[5], "same" if c[6] else "valid", c[7][2]))
def test_depthwise_blocks(case, rounding, isa, monkeypatch):
    monkeypatch.setenv("EDGERUN_PARALLEL_MIN_COST", "0")  # 3 threads split even these small ops (by rows)
    c, h, w, (kh, kw), st, dil, same, scales, brange = case
    _force_rounding(monkeypatch, "DEPTHWISE_CONV_2D", rounding)
    oh, ow = _out(h, kh, st, dil, same), _out(w, kw, st, dil, same)
    model = _model("DEPTHWISE_CONV_2D", I8, (2, h, w, c), (1, kh, kw, c), (2, oh, ow, c),
                   {"padding": 0 if same else 1, "strideH": st, "strideW": st, "dilationHFactor": dil,
                    "dilationWFactor": dil, "depthMultiplier": 1, "fusedActivationFunction": c % 4},
                   per_channel=True, zp=[(127, -128), (-128, 127), (3, -5)][c % 3], scales=scales,
                   bias_range=brange, ch_spread=(0.1, 10.0), seed=c)
    x = _inputs((2, h, w, c), I8, c)
    ref, ref_names = _run(model, x, "ref")
    assert ref_names == ["s8_dwconv2d"]
    for threads in (1, 3):
        out, names = _run(model, x, isa, threads)
        assert names == ["s8_dwconv2d_madd"]
        np.testing.assert_array_equal(out, ref, err_msg=f"{threads} threads")


@pytest.mark.skipif("avx512vnni" not in isa_switch.supported(), reason="no AVX-512 VNNI on this CPU")
def test_avx2_plan_runs_on_avx512vnni():
    """A plan prepared for avx2 (the same madd blob) invoked under avx512vnni takes the VPDPWSSD rows and gives the
    same bytes."""
    import edgerun

    model = _model("DEPTHWISE_CONV_2D", I8, (1, 6, 7, 40), (1, 3, 3, 40), (1, 6, 7, 40),
                   {"padding": 0, "strideH": 1, "strideW": 1, "depthMultiplier": 1}, per_channel=True, zp=(3, -5))
    x = _inputs((1, 6, 7, 40), I8, 0)
    ref, _ = _run(model, x, "ref")
    with isa_switch.selected("avx2"):
        it = edgerun.Interpreter(model_content=model)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
    with isa_switch.selected("avx512vnni"):
        it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), ref)




@pytest.mark.parametrize("single", [0, 1], ids=["double", "single"])
@pytest.mark.parametrize("rounding", [None, "tflite"])
@pytest.mark.parametrize("isa", ISAS)
def test_depthwise_every_channel_count_at_ties(isa, rounding, single, monkeypatch):
    """Channels 1..67 (blocks whose last channels take TFLite's rounding beside "upward" ones: UPWARD8's C % 8,
    all of them when forced) with multipliers of 1/32..1/128 so that many sums fall on a rounding tie (TFLite
    rounds negative ties away from zero, "upward" up), in TFLite's double rounding and in single-rounding mode
    (er_rounding_mode 1), kernels 1x1/3x3/5x5, strides 1 and 2, dilation 2, SAME and VALID, per-channel
    scales: equal to the reference."""
    from edgerun.kernels import lib

    _force_rounding(monkeypatch, "DEPTHWISE_CONV_2D", rounding)
    lib.er_set_rounding_mode(single)
    try:
        for c in range(1, 68):
            k, st, dil, same = (1, 3, 5)[c % 3], 1 + c % 2, 2 if c % 5 == 0 else 1, c % 4 != 1
            h, w = 9, 10
            oh, ow = _out(h, k, st, dil, same), _out(w, k, st, dil, same)
            model = _model("DEPTHWISE_CONV_2D", I8, (1, h, w, c), (1, k, k, c), (1, oh, ow, c),
                           {"padding": 0 if same else 1, "strideH": st, "strideW": st, "dilationHFactor": dil,
                            "dilationWFactor": dil, "depthMultiplier": 1},
                           per_channel=True, zp=(3, -5), scales=(0.05, 0.011, 0.0352 * k), bias_range=300,
                           ch_spread=(0.5, 2.0), seed=c)
            x = _inputs((1, h, w, c), I8, c)
            ref, _ = _run(model, x, "ref")
            out, names = _run(model, x, isa)
            assert names == ["s8_dwconv2d_madd"]
            np.testing.assert_array_equal(out, ref, err_msg=f"{c} channels, kernel {k}, stride {st}")
    finally:
        lib.er_set_rounding_mode(0)
