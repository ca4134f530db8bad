"""The avx512vnni ISA's int8 GEMM (kernels/x86/q_conv_vnni.c: VPDPBUSD on the dot layout of
kernels/opt/q_conv_dot.c, activations made unsigned and the 128 * sum(w) surplus taken off) against the
reference kernels, bit for bit: FULLY_CONNECTED and 1x1 CONV_2D at and around the micro-kernel's tiles (6 rows x
4 panels of 8 channels, remainders of 1-5 rows and 1-3 panels, the driver's 32-row blocks, K not a multiple of
4), sums at the extremes of the unsigned x signed products, and plans prepared for one x86 ISA run under the
other. Odd shapes, strides, dilations, padding, per-channel scales and every rounding mode run under
avx512vnni in test_qconv_variants.py (which runs every ISA of the CPU). Skipped on CPUs without AVX-512 VNNI."""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from edgerun.runtime import isa as isa_switch
from test_qconv_variants import I8, _inputs, _model, _zp

pytestmark = pytest.mark.skipif("avx512vnni" not in isa_switch.supported(),
                                reason="this CPU (or its OS) does not run AVX-512 VNNI code")


def _run(model, x, prepare_isa, run_isa=None):
    """Output and kernel names of `model` prepared under prepare_isa and invoked under run_isa (default the
    same)."""
    import edgerun

    with isa_switch.selected(prepare_isa):
        it = edgerun.Interpreter(model_content=model)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
    with isa_switch.selected(run_isa or prepare_isa):
        it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]), [st.kernel for st in it._main.graph.steps]


# (rows M, K, channels N): rows 1-5 (the remainder tile), 6, 7, 12, 13, 33 and 37 (past a 32-row block);
# channels 8 (1 panel), 16, 24 (2, 3), 32 (one group of 4), 40, 56, 72 (a group and a remainder), odd counts
FC = [(1, 1, 8), (2, 7, 3), (5, 4, 16), (6, 67, 24), (7, 64, 32), (12, 5, 40), (13, 129, 56), (33, 9, 72),
      (37, 258, 17), (4, 2048, 33)]


@pytest.mark.parametrize("case", FC, ids=lambda c: "m{}-k{}-n{}".format(*c))
def test_fully_connected_tiles(case):
    m, k, n = case
    model = _model("FULLY_CONNECTED", I8, (m, k), (n, k), (m, n), {"fusedActivationFunction": (m + n) % 4},
                   per_channel=False, zp=_zp(I8, ["hi", "lo", None][n % 3]), scales=(0.05, 0.011, 0.3),
                   bias=n % 5 != 0, seed=m + n)
    x = _inputs((m, k), I8, m)
    ref, ref_names = _run(model, x, "ref")
    out, names = _run(model, x, "avx512vnni")
    assert (ref_names, names) == (["s8_fc"], ["s8_fc_dot"])
    np.testing.assert_array_equal(out, ref)


# 1x1 stride 1: the driver hands the input pixels to the GEMM as they are (C a multiple of 4), else im2col
@pytest.mark.parametrize("ic,oc", [(20, 44), (8, 48), (13, 9)])
def test_conv2d_1x1(ic, oc):
    model = _model("CONV_2D", I8, (1, 7, 9, ic), (oc, 1, 1, ic), (1, 7, 9, oc),
                   {"padding": 1, "strideH": 1, "strideW": 1, "fusedActivationFunction": oc % 4},
                   per_channel=True, zp=_zp(I8, None), seed=ic)
    x = _inputs((1, 7, 9, ic), I8, 3)
    ref, _ = _run(model, x, "ref")
    out, names = _run(model, x, "avx512vnni")
    assert names == ["s8_conv2d_dot"]
    np.testing.assert_array_equal(out, ref)


def _extreme_fc(k, w_value, zp):
    """FULLY_CONNECTED whose weights all equal w_value, scaled so that sums of K * 128 * 128 land inside the
    output range (an error of one unsigned surplus, 128 * sum(w), would not)."""
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (4, k), I8, quant=(1.0, zp))
    w = b.const("w", np.full((16, k), w_value, np.int8), quant=(1.0, 0))
    y = b.tensor("y", (4, 16), I8, quant=(k * 256 / 100.0, 0))
    b.op("FULLY_CONNECTED", [x, w, -1], [y], options={}, version=3)
    b.inputs([x])
    b.outputs([y])
    return b.finish()


@pytest.mark.parametrize("w_value", [-128, 127])
@pytest.mark.parametrize("zp", [0, -128, 127])
def test_extreme_sums(w_value, zp):
    k = 4099
    x = np.empty((4, k), np.int8)
    x[0], x[1], x[2], x[3] = 127, -128, 0, np.tile(np.array([127, -128], np.int8), k)[:k]
    model = _extreme_fc(k, w_value, zp)
    ref, _ = _run(model, x, "ref")
    out, names = _run(model, x, "avx512vnni")
    assert names == ["s8_fc_dot"]
    np.testing.assert_array_equal(out, ref)
    assert len(np.unique(ref)) > 1  # not all clamped to one end


@pytest.mark.parametrize("prepare_isa,run_isa,kernel", [("avx2", "avx512vnni", "s8_conv2d_madd"),
                                                         ("avx512vnni", "avx2", "s8_conv2d_dot")])
def test_plans_cross_x86_isas(prepare_isa, run_isa, kernel):
    """A plan prepared for avx2 (madd layout) runs where avx512vnni is selected, and an avx512vnni plan (dot
    layout) where only avx2 is (its GEMM then on the portable loop)."""
    model = _model("CONV_2D", I8, (1, 6, 7, 5), (17, 3, 3, 5), (1, 6, 7, 17),
                   {"padding": 0, "strideH": 1, "strideW": 1, "fusedActivationFunction": 1},
                   per_channel=True, zp=_zp(I8, "lo"), seed=5)
    x = _inputs((1, 6, 7, 5), I8, 1)
    ref, _ = _run(model, x, "ref")
    out, names = _run(model, x, prepare_isa, run_isa)
    assert names == [kernel]
    np.testing.assert_array_equal(out, ref)


# -- the micro-kernel alone (vnni_driver.c): int32 sums against the definition, and the words it must not write
ROOT = Path(__file__).resolve().parents[2]
CC = shutil.which("cc") or shutil.which("gcc")


def _driver(tmp_path, flags):
    cmd = [CC, "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-Wno-sign-compare",
           "-Wno-unused-function", *flags, f"-I{ROOT / 'kernels/include'}", f"-I{ROOT / 'kernels'}",
           str(ROOT / "kernels/x86/q_conv_vnni.c"), str(Path(__file__).with_name("vnni_driver.c")),
           "-o", str(tmp_path / "vnni_driver")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return tmp_path / "vnni_driver"


@pytest.mark.skipif(CC is None, reason="needs a C compiler")
@pytest.mark.parametrize("flags", [["-O2"], ["-O1", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer",
                                             "-fno-sanitize-recover=undefined"]], ids=["O2", "asan-ubsan"])
def test_gemm_microkernel_sweep(tmp_path, flags):
    exe = _driver(tmp_path, flags)
    proc = subprocess.run([str(exe), "7"], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0 and "failed 0" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "passed 960 " in proc.stdout  # gemm: 40 row counts x 9 channel counts; gemm_q: 600 random cases
