"""int8 CONV_2D and FULLY_CONNECTED prepared for the ARM ISAs (runtime/ops/conv_int.py packs the weights in
the dot layout of kernels/opt/q_conv_dot.c: raw int8 in groups of 4 k, the input zero point folded into
per-channel corrections) against the reference kernels, bit for bit, on the shapes of
test_qconv_variants.py, with extreme zero points and inputs pinned at the ends of the range. On this
desktop the dot-layout kernels run on their portable micro-kernel (the NEON ones are checked under qemu by
test_neon_kernels.py), so this checks the packing and the driver (im2col with zero-point padding, the
corrections, requantization)."""
import numpy as np
import pytest
from test_qconv_variants import CONV, FC, I8, _inputs, _model, _out, _zp

from edgerun.runtime import isa as isa_switch


def _run(model, x, isa, monkeypatch):
    """Prepare as if this desktop's ISA were `isa` (plans for a device are prepared for its ISA), run here."""
    import edgerun

    with monkeypatch.context() as m:
        m.setattr(isa_switch, "_current", isa)
        it = edgerun.Interpreter(model_content=model)
        it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]), [st.kernel for st in it._main.graph.steps]


@pytest.mark.parametrize("extreme", ["hi", "lo", None])
@pytest.mark.parametrize("case", CONV, ids=lambda c: "c{}-o{}-s{}-k{}x{}-st{}-d{}-{}".format(
    c[0], c[1], c[2], *c[3], c[4], c[5], "same" if c[6] else "valid"))
def test_conv2d(case, extreme, monkeypatch):
    ic, oc, s, (kh, kw), st, dil, same = case
    oh, ow = _out(s, kh, st, dil, same), _out(s + 1, kw, st, dil, same)
    model = _model("CONV_2D", I8, (2, s, s + 1, ic), (oc, kh, kw, ic), (2, oh, ow, oc),
                   {"padding": 0 if same else 1, "strideH": st, "strideW": st, "dilationHFactor": dil,
                    "dilationWFactor": dil, "fusedActivationFunction": (ic + oc) % 4},
                   per_channel=oc % 2 == 1, zp=_zp(I8, extreme))
    x = _inputs((2, s, s + 1, ic), I8, 0)
    ref, ref_names = _run(model, x, "ref", monkeypatch)
    assert ref_names == ["s8_conv2d"]
    for isa in ("neon", "neon-dotprod"):
        dot, names = _run(model, x, isa, monkeypatch)
        assert names == ["s8_conv2d_dot"]
        np.testing.assert_array_equal(dot, ref, err_msg=isa)


@pytest.mark.parametrize("extreme", ["hi", "lo", None])
@pytest.mark.parametrize("case", FC, ids=lambda c: "m{}-k{}-n{}".format(*c))
def test_fully_connected(case, extreme, monkeypatch):
    m, k, n = case
    model = _model("FULLY_CONNECTED", I8, (m, k), (n, k), (m, n), {"fusedActivationFunction": (m + k) % 4},
                   per_channel=False, zp=_zp(I8, extreme), bias=n != 5, scales=(0.05, 0.011, 0.3))
    x = _inputs((m, k), I8, 1)
    ref, ref_names = _run(model, x, "ref", monkeypatch)
    assert ref_names == ["s8_fc"]
    dot, names = _run(model, x, "neon", monkeypatch)
    assert names == ["s8_fc_dot"]
    np.testing.assert_array_equal(dot, ref)


# first layers whose windows cross the image's edges: a keyword-spotting CNN's 10x4 stride-2 window over one
# channel (each row of a border window: zero-point padding, one run of adjacent pixels, padding), wider than the
# image, 3 channels, and a dilated window (tap by tap)
EDGES = [  # (input h, w, channels), out channels, kernel (kh, kw), stride, dilation
    ((49, 10, 1), 64, (10, 4), 2, 1),
    ((7, 3, 1), 9, (5, 7), 1, 1),
    ((11, 9, 3), 8, (3, 3), 2, 1),
    ((9, 8, 2), 5, (3, 4), 1, 2),
]


@pytest.mark.parametrize("case", EDGES, ids=lambda c: "x{}x{}x{}-o{}-k{}x{}-st{}-d{}".format(*c[0], c[1], *c[2],
                                                                                             c[3], c[4]))
@pytest.mark.parametrize("extreme", ["hi", "lo"])
def test_conv2d_border_windows(case, extreme, monkeypatch):
    (h, w, ic), oc, (kh, kw), st, dil = case
    oh, ow = _out(h, kh, st, dil, True), _out(w, kw, st, dil, True)
    model = _model("CONV_2D", I8, (1, h, w, ic), (oc, kh, kw, ic), (1, oh, ow, oc),
                   {"padding": 0, "strideH": st, "strideW": st, "dilationHFactor": dil, "dilationWFactor": dil,
                    "fusedActivationFunction": 0}, per_channel=True, zp=_zp(I8, extreme))
    x = _inputs((1, h, w, ic), I8, 2)
    ref, _ = _run(model, x, "ref", monkeypatch)
    for isa in [i for i in ("neon", "avx512vnni") if i == "neon" or i in isa_switch.supported()]:
        dot, names = _run(model, x, isa, monkeypatch)
        assert names == ["s8_conv2d_dot"]
        np.testing.assert_array_equal(dot, ref, err_msg=isa)
