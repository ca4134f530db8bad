"""The kernel folders and the one ISA switch (runtime/isa.py, EDGERUN_ISA): kernels/ref/ holds only the
portable reference kernels, an unknown or unsupported EDGERUN_ISA is a clear error, and a plan prepared with
isa="ref" (how plans for devices are prepared) names only reference kernels."""
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgerun.errors import EdgerunError
from edgerun.runtime import isa as isa_switch

KERNELS = Path(__file__).resolve().parents[2] / "kernels"
# x86/ARM intrinsics, per-function target ISAs, CPU tests and vector-extension micro-kernels
NOT_REFERENCE = re.compile(r"#\s*include\s*<\w*intrin\.h>|#\s*include\s*<arm_\w+\.h>|\b_mm\d*_\w+|\b__m\d+i?\b"
                           r"|__attribute__\s*\(\(\s*target|#\s*pragma\s+(GCC|clang)\s+(target|attribute)"
                           r"|__builtin_cpu_|vector_size|\bv\w+q_[fsu]\d+\b")


def test_ref_holds_only_reference_kernels():
    files = sorted(p for p in (KERNELS / "ref").iterdir() if p.suffix in (".c", ".h"))
    assert files, "kernels/ref is empty"
    offending = {}
    for p in files:
        hits = sorted({m.group(0) for m in NOT_REFERENCE.finditer(p.read_text())})
        if hits:
            offending[f"kernels/ref/{p.name}"] = hits
    assert not offending, f"ISA-specific code in the reference kernels (move it to kernels/opt or kernels/x86): " \
                          f"{offending}"


def test_check_names_the_value_and_the_choices():
    with pytest.raises(EdgerunError, match=r"EDGERUN_ISA='avx512' is not an instruction set.*ref, portable, sse2, "
                                           r"avx2"):
        isa_switch.check("avx512")
    with pytest.raises(EdgerunError, match=r"EDGERUN_ISA='avx2': this CPU does not run avx2 code \(it runs ref, "
                                           r"portable, sse2\)"):
        isa_switch.check("avx2", cpu=("ref", "portable", "sse2"))
    assert isa_switch.check("ref") == "ref"


@pytest.mark.parametrize("value", ["AVX2", "sve", "1"])
def test_invalid_environment_value_fails_at_load(value):
    env = dict(os.environ, EDGERUN_ISA=value)
    r = subprocess.run([sys.executable, "-c", "import edgerun.runtime.isa"], env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert f"EDGERUN_ISA={value!r} is not an instruction set" in r.stderr
    assert "use one of ref, portable, sse2, avx2" in r.stderr


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 hosts")
def test_neon_is_known_but_unsupported_on_x86():
    env = dict(os.environ, EDGERUN_ISA="neon-dotprod")
    r = subprocess.run([sys.executable, "-c", "import edgerun.runtime.isa"], env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert "EDGERUN_ISA='neon-dotprod': this CPU does not run neon-dotprod code" in r.stderr
    assert "neon" not in isa_switch.supported()


def test_environment_selects_once_at_load():
    env = dict(os.environ, EDGERUN_ISA="portable")
    code = "from edgerun.runtime import isa; from edgerun.kernels import lib; print(isa.current(), " \
           "lib.er_selected_isa())"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["portable", str(isa_switch.IDS["portable"])]


def test_best_is_supported_and_selected_by_default():
    cpu = isa_switch.supported()
    assert cpu[:2] == ("ref", "portable")
    if "EDGERUN_ISA" not in os.environ:
        assert isa_switch.current() == isa_switch.best() == cpu[-1]


def _conv_network():
    """float CONV_2D -> DEPTHWISE_CONV_2D -> FULLY_CONNECTED, then an int8 copy of the same chain"""
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(3)
    b = ModelBuilder()
    x = b.tensor("x", (1, 9, 9, 3), np.float32)
    t1 = b.tensor("t1", (1, 9, 9, 8), np.float32)
    b.op("CONV_2D", [x, b.const("w1", rng.uniform(-1, 1, (8, 3, 3, 3)).astype(np.float32)),
                     b.const("b1", rng.uniform(-1, 1, 8).astype(np.float32))], [t1],
         {"padding": 0, "strideH": 1, "strideW": 1, "fusedActivationFunction": 1})
    t2 = b.tensor("t2", (1, 5, 5, 8), np.float32)
    b.op("DEPTHWISE_CONV_2D", [t1, b.const("w2", rng.uniform(-1, 1, (1, 3, 3, 8)).astype(np.float32)),
                               b.const("b2", rng.uniform(-1, 1, 8).astype(np.float32))], [t2],
         {"padding": 0, "strideH": 2, "strideW": 2, "depthMultiplier": 1})
    y = b.tensor("y", (1, 4), np.float32)
    b.op("FULLY_CONNECTED", [t2, b.const("w3", rng.uniform(-1, 1, (4, 200)).astype(np.float32)), -1], [y], {})
    q = b.tensor("q", (1, 9, 9, 3), np.int8, quant=(0.05, 3))
    q1 = b.tensor("q1", (1, 9, 9, 8), np.int8, quant=(0.1, -2))
    b.op("CONV_2D", [q, b.const("qw1", rng.integers(-127, 128, (8, 3, 3, 3)).astype(np.int8), quant=(0.02, 0)),
                     b.const("qb1", rng.integers(-500, 500, 8).astype(np.int32), quant=(0.001, 0))], [q1],
         {"padding": 0, "strideH": 1, "strideW": 1}, version=3)
    q2 = b.tensor("q2", (1, 9, 9, 8), np.int8, quant=(0.1, -2))
    b.op("DEPTHWISE_CONV_2D", [q1, b.const("qw2", rng.integers(-127, 128, (1, 3, 3, 8)).astype(np.int8),
                                           quant=(0.02, 0)), -1], [q2],
         {"padding": 0, "strideH": 1, "strideW": 1, "depthMultiplier": 1}, version=3)
    qy = b.tensor("qy", (1, 5), np.int8, quant=(0.2, 1))
    b.op("FULLY_CONNECTED", [q2, b.const("qw3", rng.integers(-127, 128, (5, 648)).astype(np.int8),
                                         quant=(0.02, 0)), -1], [qy], {}, version=3)
    b.inputs([x, q])
    b.outputs([y, qy])
    return b.finish()


REFERENCE = ["f32_conv2d", "f32_dwconv2d", "f32_fc", "s8_conv2d", "s8_dwconv2d", "s8_fc"]
OPTIMIZED = ["f32_conv2d_fast", "f32_dwconv2d_fast", "f32_fc_fast", "s8_conv2d_madd", "s8_dwconv2d_madd",
             "s8_fc_madd"]
# avx512vnni: int8 CONV_2D / FULLY_CONNECTED in the dot layout (VPDPBUSD), the rest as avx2
OPTIMIZED_VNNI = ["f32_conv2d_fast", "f32_dwconv2d_fast", "f32_fc_fast", "s8_conv2d_dot", "s8_dwconv2d_madd",
                  "s8_fc_dot"]


def _optimized(isa):
    return OPTIMIZED_VNNI if isa == "avx512vnni" else OPTIMIZED


def _plan_kernels(isa):
    """The kernels of the plan prepared for `isa` (None: this desktop's) while the desktop runs its best ISA."""
    from edgerun.runtime.model import Model
    from edgerun.runtime.prepare import Preparer

    model = Model(_conv_network())
    shapes = {i: tuple(model.subgraphs[0].tensors[i].shape) for i in model.subgraphs[0].inputs}
    with isa_switch.selected(isa_switch.best()):
        return Preparer(model, isa=isa).prepare(shapes).kernels()


def test_ref_plan_names_only_reference_kernels():
    assert _plan_kernels("ref") == REFERENCE
    assert _plan_kernels(None) == _optimized(isa_switch.best())


def test_desktop_isa_ref_prepares_reference_kernels():
    import edgerun

    for isa, want in [("ref", REFERENCE)] + [(name, _optimized(name)) for name in isa_switch.supported()[1:]]:
        with isa_switch.selected(isa):
            it = edgerun.Interpreter(model_content=_conv_network())
            it.allocate_tensors()
            assert [st.kernel for st in it._main.graph.steps] == want, isa


def test_isa_argument_overrides_the_desktop_isa():
    """OpContext(isa="ref") (a plan for a device) picks the reference kernel whatever the desktop runs."""
    from edgerun.kernels import ffi
    from edgerun.runtime.ops import BUILTINS, OpContext, TensorInfo, load_families

    def info(i, name, shape, data=None):
        return TensorInfo(i, name, 0, shape, np.zeros(0, np.float32), np.zeros(0, np.int64), 0, data)

    class Options:
        padding, strideH, strideW, dilationHFactor, dilationWFactor, fusedActivationFunction = 0, 1, 1, 1, 1, 0

    load_families()
    w = np.ones((4, 3, 3, 2), np.float32)
    for isa, want in [("ref", "f32_conv2d"), (None, "f32_conv2d_fast")]:
        with isa_switch.selected(isa_switch.best()):
            ctx = OpContext(0, "CONV_2D", 1, Options(), None,
                            [info(0, "x", (1, 5, 5, 2)), info(1, "w", w.shape, w), None],
                            [info(2, "y", None)], ffi, isa=isa)
            assert ctx.isa == (isa or isa_switch.best())
            assert BUILTINS["CONV_2D"](ctx).name == want
