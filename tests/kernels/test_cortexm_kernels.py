"""The Cortex-M int8 conv kernels (kernels/cortexm/: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, and the in-place
depthwise and 1x1 convolutions) against the reference kernels (the oracle: kernels/ref/ bodies, er_ref_s8_*,
compiled for the same core), bit for bit, on every core the device build optimizes for, under qemu
(platforms/mcu). In-place kernels run over one buffer holding the input and are checked against the reference
in-place kernel on a copy of it and against the not-in-place reference kernel on a copy of the input. The
driver (cortexm_driver.c) draws the cases from a fixed-seed PRNG and names any failing one. Also: the
ER_ISA_REF switch gives the reference build, and the optimized kernels take fewer instructions than the
reference on a keyword-spotting block."""
import re
import shutil
from pathlib import Path

import pytest

from edgerun.platforms import mcu

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("cortexm_driver.c")
SOURCES = [DRIVER, ROOT / "kernels/ref/q_conv.c", ROOT / "kernels/ref/q_conv_fc.c", ROOT / "kernels/ref/q_conv_inplace.c",
           ROOT / "kernels/ref/fixedpoint.c", ROOT / "kernels/cortexm/q_conv.c", ROOT / "kernels/cortexm/q_conv_fc.c",
           ROOT / "kernels/cortexm/q_conv_inplace.c"]
INCLUDE = [ROOT / "kernels/include"]
CASES = 300  # per kernel (ER_CM_CASES in the driver; ten times as many requantization blocks, twice as many
#              in-place cases of each kind)
PER_CASES = 3 + 10 + 2 * 2

# core -> the ISA edgerun/isa.h must select for it
CORES = {"cortex-m4": "dsp", "cortex-m7": "dsp", "cortex-m33": "dsp", "cortex-m55": "mve"}


def _installed(target):
    t = mcu.TARGETS[target]
    return shutil.which(t.gcc) is not None and shutil.which(t.qemu) is not None


def _cores(names):
    return [pytest.param(n, marks=pytest.mark.skipif(not _installed(n), reason=f"{n} toolchain/qemu missing: "
                                                     "run platforms/mcu/install.sh")) for n in names]


def _run(core, tmp_path, defines=(), timeout=300):
    elf = mcu.build(core, SOURCES, INCLUDE, tmp_path, defines=defines, name="cortexm_driver")
    return mcu.run(core, elf, cwd=tmp_path, timeout=timeout, check=False)


@pytest.mark.emulated
@pytest.mark.parametrize("core", _cores(CORES))
def test_bit_exact_with_reference(core, tmp_path):
    r = _run(core, tmp_path, defines=[f"ER_CM_CASES={CASES}"])
    assert f"isa={CORES[core]}" in r.stdout, r.stdout
    assert r.fault is None and not r.stack_overflow, (r.fault, r.stderr)
    assert f"{PER_CASES * CASES} passed, 0 failed" in r.stdout, r.stdout[-4000:]
    assert r.exit_code == 0
    # the in-place cases reach rings of 1 to 5 rows and run the 1x1 kernel both ways
    assert "ring rows seen: 1 2 3 4 5" in r.stdout, r.stdout[-400:]
    fwd, bwd = map(int, re.search(r"1x1 forward (\d+) backward (\d+)", r.stdout).groups())
    assert fwd > 50 and bwd > 50, (fwd, bwd)


@pytest.mark.emulated
@pytest.mark.parametrize("core", _cores(["cortex-m4", "cortex-m55"]))
def test_reference_switch(core, tmp_path):
    """ER_ISA_REF: the public kernels are the reference ones (no er_ref_* needed, nothing from cortexm/)."""
    r = _run(core, tmp_path, defines=["ER_ISA_REF", "ER_CM_CASES=5"])
    assert "isa=ref" in r.stdout and f"{PER_CASES * 5} passed, 0 failed" in r.stdout, r.stdout
    syms = mcu.symbol_sizes(tmp_path / "cortexm_driver.elf", core)
    assert "er_ref_s8_conv2d" not in syms and "er_cm_s8_gemm" not in syms and "er_ref_s8_dwconv2d_inplace" not in syms


def _bench(core, tmp_path):
    r = _run(core, tmp_path, defines=["ER_CM_BENCH"])
    assert r.exit_code == 0 and r.stdout.count(" same") == 5, r.stdout
    names = re.findall(r"bench (.+?) status", r.stdout)
    spans = r.spans  # marks per layer: before opt, after opt, before ref, after ref
    assert len(names) == 5 and len(spans) == 4 * 5 - 1, (names, spans)
    return {name: (spans[4 * i], spans[4 * i + 2]) for i, name in enumerate(names)}


@pytest.mark.emulated
@pytest.mark.parametrize("core", _cores(CORES))
def test_fewer_instructions_than_reference(core, tmp_path):
    counts = _bench(core, tmp_path)
    for name, (opt, ref) in counts.items():
        print(f"{core} {name}: optimized {opt} reference {ref} instructions ({ref / opt:.1f}x)")
        assert opt * 1.6 < ref, (core, name, opt, ref)  # a fallback to the reference would fail this
