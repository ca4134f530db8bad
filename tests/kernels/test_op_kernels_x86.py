"""The x86 whole-op kernels of er_op_kernels_avx2 (kernels/x86/q_elementwise_avx2.c, q_pool_avx2.c,
q_softmax_avx2.c, binary_avx2.c, pool_avx2.c; the lane requantization of kernels/x86/fixedpoint_avx2.h) against
the reference kernels, bit for bit. x86_ops_driver.c, built natively with the whole desktop kernel build, selects
avx2 and runs random cases, checking the bytes past each output too:
  - int8/uint8 ADD/SUB/MUL: odd and empty shapes, broadcast scalars and dimensions, lower ranks, extreme
    multipliers (INT32_MIN, negative, 1), shifts -31..30, left shifts 0..31, offsets up to +-40000, narrowed
    activation ranges, both rounding modes; ops the kernel passes on to the reference (MAXIMUM, SQDIFF);
  - int8/uint8 max/average pools: channel tails, windows past 256 taps, narrowed ranges; int16 passed on;
  - int8/uint8 softmax: mixed in/out types, odd depths;
  - float ADD/SUB/MUL/MAXIMUM/MINIMUM and max/average pools: NaN, infinities, signed zeros, subnormals, clamps;
  - float softmax (kernels/x86/softmax_avx2.c, not bit-exact: within 1e-5 relative): odd depths, rows of 1,
    -inf/huge/NaN inputs, rows all -inf, beta 0..4; LOG_SOFTMAX passed on.
The avx512vnni table's own int8/uint8 ADD/SUB (er_q_binary__avx512, same file) runs the same random ADD/SUB/MUL
cases with that ISA selected (what it passes on goes to AVX2's kernel).
Also built with ASan+UBSan (slow): no report from the AVX2 and AVX-512 code.

These kernels are not yet reached by a plan (no kernel of the list calls through er_op_kernels_selected), so
they are tested here at the C level rather than through the runtime's ops."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("x86_ops_driver.c")
WARN = ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-sign-compare", "-fno-strict-aliasing"]
INCLUDES = [f"-I{ROOT / 'kernels/include'}", f"-I{ROOT / 'kernels'}", f"-I{ROOT / 'kernels/list'}"]
OWN = [ROOT / "kernels/x86/q_elementwise_avx2.c", ROOT / "kernels/x86/q_pool_avx2.c", ROOT / "kernels/x86/q_softmax_avx2.c",
       ROOT / "kernels/x86/binary_avx2.c", ROOT / "kernels/x86/softmax_avx2.c",
       ROOT / "kernels/x86/pool_avx2.c", ROOT / "kernels/host_isa.c"]

CC = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(
    CC is None or subprocess.run(["uname", "-m"], capture_output=True, text=True, check=False).stdout.strip() != "x86_64",
    reason="needs an x86-64 host with a C compiler")


def _sources():
    from edgerun.kernels.build import kernel_sources

    return [*kernel_sources(), str(DRIVER)]


def _build(out, flags):
    cmd = [CC, *WARN, *flags, *INCLUDES, *_sources(), "-lm", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def _run(exe, cases, seed, *isa):
    proc = subprocess.run([str(exe), str(cases), str(seed), *isa], capture_output=True, text=True, timeout=900,
                          check=False)
    if proc.stdout.startswith("SKIP"):
        pytest.skip(proc.stdout.strip())
    return proc


def test_own_files_compile_warning_free(tmp_path):
    for src in OWN:
        cmd = [CC, *WARN, "-Werror", "-O2", *INCLUDES, "-c", str(src), "-o", str(tmp_path / "k.o")]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{src.name}: {proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("x86ops") / "drv", ["-O2"])


@pytest.mark.parametrize("seed", [1, 0xBEEF])
def test_avx2_op_kernels_equal_reference(driver, seed):
    proc = _run(driver, 3000, seed)
    assert proc.returncode == 0 and "failed 0" in proc.stdout, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "passed 21000 " in proc.stdout, proc.stdout[-500:]  # requant, q_binary, q_pool, q_softmax, f32_binary, f32_pool, f32_softmax


def test_avx512_q_binary_equals_reference(driver):
    """avx512vnni's int8/uint8 ADD/SUB (er_q_binary__avx512: 16 lanes, the inputs' rescale in 32-bit arithmetic)
    on the same random cases; single-rounding mode, MUL and parameters outside its exact range go on to AVX2's."""
    proc = _run(driver, 6000, 0xADD, "avx512vnni")
    assert proc.returncode == 0 and "passed 6000 failed 0" in proc.stdout, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.slow
def test_avx2_op_kernels_sanitized(tmp_path):
    exe = _build(tmp_path / "drv", ["-O1", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer"])
    proc = _run(exe, 1500, 7)
    assert proc.returncode == 0 and "failed 0" in proc.stdout, proc.stdout[-4000:] + proc.stderr[-2000:]
    wide = _run(exe, 1500, 7, "avx512vnni")
    assert wide.returncode == 0 and "failed 0" in wide.stdout, wide.stdout[-4000:] + wide.stderr[-2000:]
    proc.stderr += wide.stderr
    # reports of the reference's own int32 sums on absurd parameters are not ours; the AVX2 code must have none
    ours = [line for line in proc.stderr.splitlines()
            if "runtime error" in line and ("x86/" in line or "x86_ops_driver" in line)]
    assert not ours, "\n".join(ours[:20])
    assert "AddressSanitizer" not in proc.stderr, proc.stderr[-4000:]
