"""The NEON micro-kernels (kernels/neon/) against their oracles under qemu-user: neon_driver.c, statically
cross-compiled with Debian's aarch64-linux-gnu-gcc and arm-linux-gnueabihf-gcc together with the whole
desktop kernel build (kernels/ref, opt, neon, x86, exec.c, host_isa.c), runs every micro-kernel on random odd
shapes: float ones against the reference kernels (kernels/ref/conv.c, fc.c) within a relative tolerance,
integer ones against the portable micro-kernels and the reference kernels bit for bit (all rounding paths).
CPUs: qemu-aarch64 -cpu max (dot product and I8MM: the SMMLA path, SDOT checked beside it), -cpu cortex-a76
(dot product without I8MM: SDOT), -cpu cortex-a53 (no dot product: the SMULL path must be the one selected),
qemu-arm -cpu cortex-a15 (ARMv7 NEON). Also: the kernel build compiles
warning-free for AArch64 and ARMv7 (with and without NEON), and instruction counts of NEON against the
portable micro-kernels on a 1x1 convolution 64->64 over 25x5 and a 3x3 depthwise (qemu TCG plugin
platforms/mcu/plugin/er_icount.c).

Toolchains: apt-get install -y gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf qemu-user."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("neon_driver.c")
PLUGIN = ROOT / "platforms/mcu/plugin/er_icount.c"
INSTALL = "apt-get install -y gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf qemu-user"
WARN = ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-sign-compare", "-fno-strict-aliasing"]
CASES = 120  # random cases per kernel and ISA
PER_CASE = 5 + 3 + 6 + 2  # micro-kernel checks + float kernels + int8/uint8 GEMM kernels + depthwise kernels
# whole-op kernels, once per run under neon: requantization (lanes, to int8) + q_binary + int8 pools (max, avg) +
# float pools + int8 softmax + float softmax + float binary
OPS_PER_CASE = 2 + 1 + 2 + 2 + 1 + 1 + 1

# arch -> (compiler, extra flags, qemu)
ARCHS = {"aarch64": ("aarch64-linux-gnu-gcc", [], "qemu-aarch64"),
         "armv7": ("arm-linux-gnueabihf-gcc", ["-mfpu=neon"], "qemu-arm")}
# (arch, qemu cpu) -> (dotprod reported, i8mm reported, dot-layout GEMM path selected)
CPUS = {("aarch64", "max"): (1, 1, "smmla"), ("aarch64", "cortex-a76"): (1, 0, "sdot"),
        ("aarch64", "cortex-a53"): (0, 0, "smull"), ("armv7", "cortex-a15"): (0, 0, "smull")}


def _kernel_sources():
    from edgerun.kernels.build import kernel_sources

    return [Path(p) for p in kernel_sources()]


def _includes():
    return [f"-I{ROOT / 'kernels/include'}", f"-I{ROOT / 'kernels'}", f"-I{ROOT / 'kernels/list'}"]


def _have(arch):
    cc, _, qemu = ARCHS[arch]
    return shutil.which(cc) is not None and shutil.which(qemu) is not None


def _skip_unless(arch):
    return pytest.mark.skipif(not _have(arch), reason=f"{arch} cross compiler or qemu missing: {INSTALL}")


@pytest.fixture(scope="module")
def drivers(tmp_path_factory):
    """arch -> the statically linked driver (built once per module), or the compiler's complaint."""
    out, built = tmp_path_factory.mktemp("neon"), {}
    for arch, (cc, extra, _) in ARCHS.items():
        if not _have(arch):
            continue
        elf = out / f"neon_driver_{arch}"
        cmd = [cc, *WARN, "-O3", "-static", *extra, *_includes(), *map(str, _kernel_sources()), str(DRIVER),
               "-lm", "-o", str(elf)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert "warning" not in proc.stderr, proc.stderr[-4000:]
        built[arch] = elf
    return built


def _run(arch, cpu, elf, *args, plugin=None, timeout=600):
    cmd = [ARCHS[arch][2], "-cpu", cpu]
    if plugin:
        cmd += ["-plugin", plugin]
    return subprocess.run(cmd + [str(elf), *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.mark.emulated
@pytest.mark.parametrize("arch,cpu", [pytest.param(a, c, marks=_skip_unless(a), id=f"{a}-{c}")
                                      for a, c in CPUS])
def test_bit_exact_with_reference(arch, cpu, drivers):
    r = _run(arch, cpu, drivers[arch], CASES)
    dot, i8mm, path = CPUS[arch, cpu]
    assert f"cpu neon=1 dotprod={dot}" in r.stdout, r.stdout[-2000:]
    assert f"cpu i8mm={i8mm}" in r.stdout, r.stdout[-2000:]
    assert f"path={path}" in r.stdout, r.stdout[-2000:]
    n_isas = 1 + dot  # neon, and neon-dotprod where the CPU has it
    # with SMMLA selected, the SDOT GEMM is checked beside it once per case
    # the whole-op kernels: their selection once, then OPS_PER_CASE checks per case
    total = 1 + n_isas * PER_CASE * CASES + i8mm * CASES + 1 + OPS_PER_CASE * CASES
    assert f"{total} passed, 0 failed" in r.stdout, r.stdout[-4000:]
    assert r.returncode == 0


@pytest.mark.emulated
@pytest.mark.parametrize("arch,extra", [
    pytest.param("aarch64", [], marks=_skip_unless("aarch64"), id="aarch64"),
    pytest.param("armv7", ["-mfpu=neon"], marks=_skip_unless("armv7"), id="armv7-neon"),
    # without NEON kernels/neon compiles to nothing
    pytest.param("armv7", [], marks=_skip_unless("armv7"), id="armv7-vfp"),
])
def test_kernel_build_is_warning_free(arch, extra, tmp_path):
    cc = ARCHS[arch][0]
    for src in _kernel_sources():
        cmd = [cc, *WARN, "-Werror", "-O2", *extra, *_includes(), "-c", str(src), "-o", str(tmp_path / "k.o")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{src.name}: {proc.stderr[-3000:]}"


def _mark_address(elf):
    nm = shutil.which("aarch64-linux-gnu-nm") or "nm"  # reads ARM32 ELF files too
    out = subprocess.run([nm, str(elf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^([0-9a-f]+) T er_neon_mark$", out, re.M).group(1), 16)


OPS = ("qadd", "fadd", "qmaxpool", "qavgpool", "fmaxpool", "favgpool", "qsoftmax", "fsoftmax", "requant")


def instruction_counts(elf, tmp_path, layers=("conv1x1", "dw3x3", "qconv1x1", "qdw3x3"),
                       isas=("ref", "portable", "neon", "neon-sdot", "neon-dotprod"), reps=4, arch="aarch64",
                       cpu="max"):
    """{(layer, isa): guest instructions per call} under qemu (between the driver's marks)."""
    so = tmp_path / "er_icount.so"
    cc = shutil.which("cc") or "gcc"
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(so), str(PLUGIN)], check=True)
    mark = _mark_address(elf)
    counts = {}
    for layer in layers:
        for isa in isas:
            out = tmp_path / f"{layer}-{isa}.txt"
            plugin = f"{so},out={out},mark={mark:#x}"
            r = _run(arch, cpu, elf, "bench", layer, isa, reps, plugin=plugin)
            assert r.returncode == 0, r.stdout + r.stderr
            marks = [int(v) for k, v in (ln.split() for ln in out.read_text().splitlines()) if k == "mark"]
            assert len(marks) == 2, marks
            counts[layer, isa] = (marks[1] - marks[0]) // reps
    return counts


@pytest.mark.emulated
@_skip_unless("aarch64")
def test_neon_takes_fewer_instructions(drivers, tmp_path):
    counts = instruction_counts(drivers["aarch64"], tmp_path)
    counts.update(instruction_counts(drivers["aarch64"], tmp_path, layers=("qgemm",),
                                     isas=("portable", "neon", "neon-sdot", "neon-dotprod")))
    for (layer, isa), n in sorted(counts.items()):
        print(f"{layer:9s} {isa:13s} {n:>10,d}")
    for layer in ("conv1x1", "dw3x3", "qconv1x1", "qdw3x3"):
        assert counts[layer, "neon"] < counts[layer, "portable"], (layer, counts)
    assert counts["qconv1x1", "neon-sdot"] < counts["qconv1x1", "neon"], counts
    assert counts["qconv1x1", "neon-dotprod"] < counts["qconv1x1", "neon-sdot"], counts  # SMMLA under -cpu max
    assert counts["qgemm", "neon-dotprod"] < counts["qgemm", "neon-sdot"] < counts["qgemm", "neon"], counts


@pytest.mark.emulated
@pytest.mark.parametrize("arch,cpu", [pytest.param("aarch64", "max", marks=_skip_unless("aarch64"), id="aarch64"),
                                      pytest.param("armv7", "cortex-a15", marks=_skip_unless("armv7"), id="armv7")])
def test_neon_ops_take_fewer_instructions(arch, cpu, drivers, tmp_path):
    """The whole-op NEON kernels against the reference kernels (kernels/neon/README.md has the figures)."""
    counts = instruction_counts(drivers[arch], tmp_path, layers=OPS, isas=("ref", "neon"), arch=arch, cpu=cpu)
    for layer in OPS:
        print(f"{arch} {layer:9s} ref {counts[layer, 'ref']:>10,d} neon {counts[layer, 'neon']:>10,d} "
              f"{counts[layer, 'ref'] / counts[layer, 'neon']:.1f}x")
    for layer in OPS:
        assert counts[layer, "neon"] < counts[layer, "ref"], (layer, counts)


@pytest.mark.emulated
@pytest.mark.slow
@pytest.mark.parametrize("arch,cpu", [pytest.param("aarch64", "max", marks=_skip_unless("aarch64"), id="aarch64"),
                                      pytest.param("armv7", "cortex-a15", marks=_skip_unless("armv7"), id="armv7")])
def test_undefined_behaviour_sanitizer(arch, cpu, tmp_path):
    """The driver's checks with UBSan (dynamically linked against the cross sysroot's libubsan, run by qemu -L):
    no signed overflow, bad shift or misaligned access in the NEON kernels (GCC writes some intrinsics, such as
    vaddq_s32, as plain vector arithmetic, whose overflow UBSan reports)."""
    cc, extra, qemu = ARCHS[arch]
    sysroot = Path(f"/usr/{'aarch64-linux-gnu' if arch == 'aarch64' else 'arm-linux-gnueabihf'}")
    if not list((sysroot / "lib").glob("libubsan.so*")):
        pytest.skip(f"no libubsan in {sysroot} (apt-get install libubsan1-{sysroot.name.split('-')[0]}-cross)")
    elf = tmp_path / "neon_driver_ubsan"
    cmd = [cc, *WARN, "-O1", "-g", "-fsanitize=undefined", "-fno-sanitize-recover=undefined", *extra, *_includes(),
           *map(str, _kernel_sources()), str(DRIVER), "-lm", "-o", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = subprocess.run([qemu, "-L", str(sysroot), "-cpu", cpu, str(elf), "40"], capture_output=True, text=True,
                       timeout=900)
    assert "runtime error" not in r.stderr, r.stderr[-4000:]
    assert r.returncode == 0 and " 0 failed" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
