"""The x86 int8 depthwise of the madd plan (s8_dwconv2d_madd) against the reference kernel, bit for bit: avx512vnni's
row loop (kernels/x86/q_dw_vnni.c: tap pairs on VPDPWSSD; full blocks of 32 channels, the last one partial; half
blocks of 16 channels for two pixels at once, for C <= 16 and the last 1-16 channels of others) and, on the same
shapes, avx2's per-pixel micro-kernel (kernels/x86/q_conv_avx2.c), at and around those blocks: odd pixel counts
leave one pixel alone, chunks of 128 channels (+ up to 16), kernels with 1, 2, 5, 8 and 13 tap pairs (fixed and
generic forms) and 25 (past the row loop's limit: the driver's rows on AVX2's micro-kernel),
strides, dilations, SAME/VALID padding (border pixels with zero-point taps), per-channel scales with multipliers
above 1 (shift >= 0: the scalar requantization) and tiny ones (shift below -31), biases that wrap the int32
accumulators, both rounding modes ("upward" and TFLite's double rounding, forced), and 1 vs 3 threads.
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


