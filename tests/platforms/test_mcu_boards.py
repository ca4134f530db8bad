"""The microcontroller board layer (platforms/mcu): for every target, a C program built with its startup
code and linker script runs under qemu, reads and writes host files through semihosting, and its results
match numpy (the oracle); exit codes, instruction counts, stack high-water marks, faults and timeouts
reach Python. Build failures and missing toolchains give clear errors."""

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgerun.errors import BuildError, EmulationError, TargetError
from edgerun.platforms import mcu

PROGRAM = Path(__file__).with_name("mcu_boards_program.c")
N = 256
DEEP_BYTES = 16384


def _installed(target):
    t = mcu.TARGETS[target]
    return shutil.which(t.gcc) is not None and shutil.which(t.qemu) is not None


def _needs(target):
    return pytest.mark.skipif(not _installed(target), reason=f"{target} toolchain/qemu missing: "
                              "run platforms/mcu/install.sh")


TARGETS = [pytest.param(name, marks=_needs(name)) for name in mcu.TARGETS]


# --- the oracle -----------------------------------------------------------------------------------

def _data(seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(-1000, 1000, N).astype("<i2")
    x = rng.standard_normal(N).astype("<f4")
    return a, x


def _expected(a, x, repeat):
    """What the program computes, in numpy: FNV-1a over the payload, int and float dot products."""
    payload = a.tobytes() + x.tobytes()
    checksum = 2166136261
    for _ in range(repeat):
        for byte in payload:
            checksum = ((checksum ^ byte) * 16777619) & 0xFFFFFFFF
    isum = np.int32(repeat * int(np.dot(a.astype(np.int64), a[::-1].astype(np.int64))))
    fdot = np.float32(0)
    for _ in range(repeat):
        for xi, ai in zip(x, a.astype(np.float32)):
            fdot = np.float32(fdot + np.float32(xi * ai))  # float32 rounding after each step, in order
    return checksum, int(isum), fdot


def _write_input(folder: Path, a, x, repeat=1, exit_code=0, deep=0, mode=0):
    header = np.array([len(a), repeat, exit_code, deep, mode], dtype="<u4")
    (folder / "in.bin").write_bytes(header.tobytes() + a.tobytes() + x.tobytes())


def _read_output(folder: Path):
    raw = (folder / "out.bin").read_bytes()
    checksum, isum, wsum = (int(np.frombuffer(raw, "<u4")[0]), int(np.frombuffer(raw, "<i4")[1]),
                            int(np.frombuffer(raw, "<i4")[3]))
    return checksum, isum, np.frombuffer(raw, "<f4")[2], wsum


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    """The test program built once per target (per test worker)."""
    built = {}

    def get(target, **kwargs):
        key = (target, tuple(sorted(kwargs.items())))
        if key not in built:
            out = tmp_path_factory.mktemp(target)
            built[key] = mcu.build(target, [PROGRAM], out_dir=out, **kwargs)
        return built[key]

    return get


# --- every target ---------------------------------------------------------------------------------

@pytest.mark.emulated
@pytest.mark.parametrize("target", TARGETS)
def test_program_runs_and_matches_numpy(target, programs, tmp_path):
    elf = programs(target)
    a, x = _data()

    _write_input(tmp_path, a, x, repeat=1)
    one = mcu.run(target, elf, cwd=tmp_path, timeout=30)
    checksum, isum, fdot = _expected(a, x, 1)
    assert _read_output(tmp_path) == (checksum, isum, fdot, 7)  # wsum: 1 + 2 + 3 - 4 + 5
    assert f"checksum={checksum:08x} isum={isum} fdot=" in one.stdout
    assert one.exit_code == 0 and one.fault is None and not one.stack_overflow
    if target == "cortex-m55":
        assert "mve=ok" in one.stdout  # Helium instructions ran (the startup code enabled them)

    # Twice the work, a 16 KiB local array, and an exit code: run() raises and carries the result.
    _write_input(tmp_path, a, x, repeat=2, exit_code=3, deep=1)
    with pytest.raises(EmulationError, match=f"{target}: program.elf failed: exit code 3") as err:
        mcu.run(target, elf, cwd=tmp_path, timeout=30)
    two = err.value.result
    assert two.exit_code == 3
    checksum, isum, fdot = _expected(a, x, 2)
    assert _read_output(tmp_path) == (checksum, isum, fdot, 7)

    # Instructions: counted by the emulator, the marks isolate the loop from the semihosted I/O.
    assert len(one.marks) == len(two.marks) == 2
    assert 0 < one.spans[0] < one.instructions
    assert 1.8 < two.spans[0] / one.spans[0] < 2.2
    assert two.instructions > one.instructions

    # Stack: plausible, and the large local array shows (the high-water mark is the deepest of all call
    # paths: the C library's I/O in the first run, main + the array in the second).
    assert one.stack_size == 65536
    assert 64 < one.stack_bytes < 8192
    assert DEEP_BYTES < two.stack_bytes < DEEP_BYTES + 8192


@pytest.mark.emulated
@pytest.mark.parametrize("target", TARGETS)
def test_cpu_fault_is_reported(target, programs, tmp_path):
    a, x = _data()
    _write_input(tmp_path, a, x, mode=1)  # reads 0xFFFFFFF0, which no board maps
    with pytest.raises(EmulationError, match="CPU fault: ") as err:
        mcu.run(target, programs(target), cwd=tmp_path, timeout=30)
    assert err.value.result.exit_code == 134
    assert "pc=0x" in err.value.result.fault


@pytest.mark.parametrize("target", TARGETS)
def test_sizes_separate_weights(target, programs):
    elf = programs(target)
    s = mcu.sizes(target, elf)
    assert s["weights"] == 1000
    assert s["text"] > 1000 and s["stack"] == 65536
    assert s["flash"] == s["text"] + s["weights"] + s["rodata"] + s["data"]
    assert s["ram"] == s["data"] + s["bss"] + s["stack"]
    t = mcu.TARGETS[target]
    assert s["flash"] <= t.flash_bytes and s["ram"] <= t.ram_bytes
    symbols = mcu.symbol_sizes(elf)
    assert symbols["test_weights"] == 1000
    assert symbols["a"] == 2 * 1024 and symbols["x"] == 4 * 1024  # static arrays in .bss
    assert symbols["main"] > 0


# --- one target is enough -------------------------------------------------------------------------

@pytest.mark.emulated
@_needs("cortex-m4")
def test_timeout_kills_the_emulator(programs, tmp_path):
    a, x = _data()
    _write_input(tmp_path, a, x, mode=2)  # loops forever
    with pytest.raises(EmulationError, match=r"cortex-m4: program.elf did not finish within 1.5 s"):
        mcu.run("cortex-m4", programs("cortex-m4"), cwd=tmp_path, timeout=1.5)


@pytest.mark.emulated
@pytest.mark.parametrize("target, found", [
    pytest.param("cortex-m4", "stack overflow", marks=_needs("cortex-m4")),  # the painted limit is gone
    pytest.param("cortex-m33", "CPU fault: HardFault .* cfsr=0x100000", marks=_needs("cortex-m33")),  # MSPLIM
    pytest.param("riscv32", "stack overflow", marks=_needs("riscv32")),
])
def test_stack_overflow_is_caught(target, found, programs, tmp_path):
    elf = programs(target, stack_size=4096)  # smaller than the 16 KiB array
    a, x = _data()
    _write_input(tmp_path, a, x, deep=1)
    with pytest.raises(EmulationError, match=found):
        mcu.run(target, elf, cwd=tmp_path, timeout=30)


@_needs("cortex-m4")
def test_compile_error_names_target_command_and_message(tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("int main(void) { return undefined_name; }\n")
    with pytest.raises(BuildError) as err:
        mcu.build("cortex-m4", [bad], out_dir=tmp_path)
    message = str(err.value)
    assert message.startswith("cortex-m4: build failed")
    assert "arm-none-eabi-gcc" in message and "-mcpu=cortex-m4" in message and str(bad) in message
    assert "undefined_name" in message  # the compiler's own diagnostic


def test_missing_toolchain_and_unknown_target(tmp_path):
    absent = dataclasses.replace(mcu.TARGETS["cortex-m4"], name="cortex-m4", toolchain="edgerun-absent-")
    with pytest.raises(TargetError, match="edgerun-absent-gcc not found: run platforms/mcu/install.sh"):
        mcu.build(absent, [PROGRAM], out_dir=tmp_path)
    no_qemu = dataclasses.replace(mcu.TARGETS["riscv32"], qemu="qemu-system-edgerun-absent")
    with pytest.raises(TargetError, match="qemu-system-edgerun-absent not found: run platforms/mcu/install"):
        mcu.run(no_qemu, PROGRAM, cwd=tmp_path)
    with pytest.raises(TargetError, match="unknown MCU target 'cortex-m99'; expected one of cortex-m0plus"):
        mcu.get_target("cortex-m99")


def test_every_target_has_its_board_files():
    assert list(mcu.TARGETS) == ["cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55",
                                 "riscv32"]
    for t in mcu.TARGETS.values():
        assert (mcu.BOARDS_DIR / t.linker_script).is_file()
        assert (mcu.BOARDS_DIR / t.startup).is_file()
