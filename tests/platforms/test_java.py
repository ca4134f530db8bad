"""The Android binding (platforms/android: jni/edgerun_jni.c, the ai.edgerun Java classes) on the desktop JVM.

The JNI file is compiled for the host with `cc -shared -fPIC` against the JDK's headers and linked with the
host build of the C library (platforms/lib/build.py, cached); the Java classes and a small Java program
(platforms/android/desktop-test/EdgerunJavaTest.java) are compiled with javac. Python writes plan files
(platforms/planfile.py) and inputs, the Java program runs them through ai.edgerun.Interpreter and writes the
outputs, which must equal edgerun's Python interpreter: integers bit for bit, floats within 1e-5 relative.
Failures must surface as Java exceptions with the C library's own message (compared with what tools/er_run
prints for the same plan). Skipped when javac/java are missing. Also: platforms/android/CMakeLists.txt built
for the host JVM, and for iOS (no Xcode here) the library compiled for aarch64-macos with `zig cc`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edgerun
import mcu_models as mm
from edgerun.platforms import planfile as pf
from edgerun.platforms.codegen import prepare_for
from edgerun.platforms.lib.build import CFLAGS, build, include_dirs, library_sources

ANDROID = Path(__file__).resolve().parents[2] / "platforms" / "android"
IOS = ANDROID.parent / "ios"
TARGET = "linux-x86_64"  # what `edgerun compile MODEL --target linux-x86_64 --format plan` writes


JAVA_TEST = ANDROID / "desktop-test" / "EdgerunJavaTest.java"  # the Java side: modes in its header


@pytest.fixture(scope="session")
def jvm(tmp_path_factory):
    """(java command prefix, er_run) with libedgerun_jni.so and the classes built once per session."""
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("javac/java not found: a JDK is needed to test the Java binding")
    javac = Path(os.path.realpath(shutil.which("javac")))
    java_home = javac.parents[1]
    jni_inc = java_home / "include"
    if not (jni_inc / "jni.h").exists():
        pytest.skip(f"jni.h not found under {jni_inc} (JAVA_HOME from {javac}): a JDK with headers is needed")
    lib = build("host")
    out = tmp_path_factory.mktemp("java")
    so = out / "libedgerun_jni.so"
    inc = [f"-I{d}" for d in [jni_inc, jni_inc / "linux", *include_dirs()]]
    done = subprocess.run(["cc", "-shared", "-fPIC", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", *inc,
                           str(ANDROID / "jni" / "edgerun_jni.c"), str(lib.library), "-lm", "-o", str(so)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    srcs = sorted(map(str, (ANDROID / "java" / "ai" / "edgerun").glob("*.java")))
    # --release 8: the language level build.gradle states for Android (and the desktop test program with it)
    done = subprocess.run([str(javac), "--release", "8", "-Xlint:all", "-Werror", "-d", str(out / "classes"),
                           *srcs, str(JAVA_TEST)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    java = [str(javac.parent / "java"), "-Xshare:auto", "-XX:TieredStopAtLevel=1",
            f"-Djava.library.path={out}", "-cp", str(out / "classes"), "EdgerunJavaTest"]
    return java, lib.er_run


def java_run(jvm, *args, threads: int | None = None) -> str:
    env = dict(os.environ, EDGERUN_JAVA_TEST_THREADS=str(threads)) if threads else None
    done = subprocess.run([*jvm[0], *map(str, args)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _float_model() -> bytes:
    """Two inputs, two outputs, no TensorFlow: a 3x3 conv (bias, ReLU) and a fully connected layer."""
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(3)
    b = ModelBuilder()
    g = b
    x = g.tensor("image", (1, 8, 8, 3), np.float32)
    w = g.const("conv/w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32))
    bias = g.const("conv/b", rng.standard_normal(4).astype(np.float32))
    y = g.tensor("features", (1, 8, 8, 4), np.float32)
    g.op("CONV_2D", [x, w, bias], [y], options={"padding": 0, "strideH": 1, "strideW": 1,
                                                 "fusedActivationFunction": 1})
    v = g.tensor("vector", (1, 16), np.float32)
    fw = g.const("fc/w", rng.standard_normal((5, 16)).astype(np.float32))
    z = g.tensor("logits", (1, 5), np.float32)
    g.op("FULLY_CONNECTED", [v, fw, -1], [z])
    g.inputs([x, v])
    g.outputs([y, z])
    return b.finish()


def _inputs(model: bytes, steps: int, seed: int = 0) -> list[list[np.ndarray]]:
    it = edgerun.Interpreter(model_content=model)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        step = []
        for d in it.get_input_details():
            dt = np.dtype(d["dtype"])
            if dt.kind == "f":
                step.append(rng.uniform(-1, 1, d["shape"]).astype(dt))
            else:
                info = np.iinfo(dt)
                step.append(rng.integers(info.min, info.max, d["shape"], endpoint=True).astype(dt))
        out.append(step)
    return out


def _desktop(model: bytes, steps, reset_at: int = -1):
    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    outs = []
    for k, step in enumerate(steps):
        if k == reset_at:
            it.reset_all_variables()
        for d, x in zip(it.get_input_details(), step):
            it.set_tensor(d["index"], x)
        it.invoke()
        outs.append([it.get_tensor(d["index"]).copy() for d in it.get_output_details()])
    return it, outs


def _java_steps(jvm, model, steps, workdir: Path, how="file", io="array", reset_at=-1, threads=None):
    """Run `steps` through the Java program (on `threads` threads); (its stdout, outputs per step)."""
    workdir.mkdir(parents=True, exist_ok=True)
    plan = workdir / "model.plan"
    plan.write_bytes(pf.write_plan(prepare_for(model, TARGET)))
    for i in range(len(steps[0])):
        (workdir / f"in{i}.bin").write_bytes(b"".join(np.ascontiguousarray(s[i]).tobytes() for s in steps))
    text = java_run(jvm, "run", how, io, reset_at, plan, workdir, threads=threads)
    it = edgerun.Interpreter(model_content=model)
    outs = [[] for _ in steps]
    for j, d in enumerate(it.get_output_details()):
        data = np.fromfile(workdir / f"out{j}.bin", d["dtype"])
        n = int(np.prod(d["shape"]))
        assert data.size == n * len(steps), f"output {j}: {data.size} elements for {len(steps)} steps"
        for k in range(len(steps)):
            outs[k].append(data[k * n:(k + 1) * n].reshape(d["shape"]))
    return text, outs


def _compare(ours, theirs, what):
    for k, (a_step, b_step) in enumerate(zip(ours, theirs, strict=True)):
        for j, (a, b) in enumerate(zip(a_step, b_step, strict=True)):
            assert a.dtype == b.dtype and a.shape == b.shape, f"{what}: step {k} output {j}"
            if a.dtype.kind != "f":
                assert np.array_equal(a, b), \
                    f"{what}: step {k} output {j}: {a.ravel()[:8]} vs {b.ravel()[:8]}"
            else:
                err = float(np.max(np.abs(a.astype(np.float64) - b)))
                assert err <= 1e-5 * float(np.max(np.abs(b))), \
                    f"{what}: step {k} output {j}: max error {err:.3g}"


def _er_run_error(er_run, args) -> str:
    """The C library's message for the same request through tools/er_run (its last printed line)."""
    done = subprocess.run([str(er_run), *map(str, args)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0, done.stdout
    return done.stdout.strip().splitlines()[-1]


# -- outputs against the Python interpreter ---------------------------------------------------------------
@pytest.mark.parametrize("how,io", [("file", "array"), ("bytes", "direct"), ("buffer", "heap")])
def test_kws_int8_bit_exact(jvm, tmp_path, how, io):
    model = mm.kws_cnn_int8()
    steps = _inputs(model, 3)
    text, outs = _java_steps(jvm, model, steps, tmp_path, how, io)
    assert "3 steps" in text
    _compare(outs, _desktop(model, steps)[1], f"Java ({how}, {io}) kws int8")  # integers: bit for bit


@pytest.mark.parametrize("io", ["array", "direct"])
def test_float_two_inputs_two_outputs(jvm, tmp_path, io):
    model = _float_model()
    steps = _inputs(model, 2, seed=1)
    _, outs = _java_steps(jvm, model, steps, tmp_path, "file", io)
    _compare(outs, _desktop(model, steps)[1], f"Java ({io}) float")


def test_tensor_descriptions(jvm, tmp_path):
    """getInputTensor/getOutputTensor: name, type code, shape, scale, zero point, bytes as Python has them."""
    model = mm.kws_cnn_int8()
    text, _ = _java_steps(jvm, model, _inputs(model, 1), tmp_path)
    it = edgerun.Interpreter(model_content=model)
    for kind, details in (("input", it.get_input_details()), ("output", it.get_output_details())):
        for k, d in enumerate(details):
            line = next(s for s in text.splitlines() if s.startswith(f"{kind} {k}|"))
            _, name, code, shape, scale, zp, nbytes = line.split("|")
            scale_py, zp_py = d["quantization"]
            assert name == d["name"] and int(code) == 9
            assert shape == "[" + ", ".join(map(str, d["shape"])) + "]"
            assert np.float32(scale) == np.float32(scale_py) and int(zp) == zp_py
            assert int(nbytes) == int(np.prod(d["shape"])) * np.dtype(d["dtype"]).itemsize
    assert f"target {TARGET}" in text


def test_reset_variables_restarts_the_stream(jvm, tmp_path):
    model = mm.streaming_model("int8")
    steps = [[f] for f in mm.streaming_frames(model, 6)]
    _, outs = _java_steps(jvm, model, steps, tmp_path, reset_at=3)
    _compare(outs, _desktop(model, steps, reset_at=3)[1], "Java streaming, reset before step 3")
    # and the reset matters: without it the outputs after step 3 differ from a restarted stream
    _, plain = _desktop(model, steps)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(outs[3:], plain[3:]))


# -- failures as Java exceptions ---------------------------------------------------------------------------
@pytest.mark.parametrize("cut", [0, 50, 400, -16])
def test_truncated_or_corrupt_plan_throws_the_library_message(jvm, tmp_path, cut):
    data = pf.write_plan(prepare_for(mm.kws_cnn_int8(), TARGET))
    data = data[:cut] if cut >= 0 else data[:cut // 2] + bytes([data[cut // 2] ^ 1]) + data[cut // 2 + 1:]
    plan = tmp_path / "bad.plan"
    plan.write_bytes(data)
    expected = _er_run_error(jvm[1], [plan, tmp_path]).split(": ", 2)[2]  # "PATH: status name: message"
    text = java_run(jvm, "open-error", plan)
    lines = text.splitlines()
    assert len(lines) == 3, text
    for how, line in zip(("file", "bytes", "buffer"), lines):
        assert line.startswith(f"{how}: EdgerunException status=3 message="), text
        assert line.split(" message=", 1)[1] == expected, (line, expected)
    assert "truncated" in expected or "too short" in expected or "checksum" in expected or "magic" in expected


def test_missing_file_throws_io_error(jvm, tmp_path):
    text = java_run(jvm, "open-error", tmp_path / "nowhere.plan")
    line = text.splitlines()[0]
    assert line.startswith("file: EdgerunException status=2 message=") and "nowhere.plan" in line, text


def test_wrong_inputs_throw_illegal_argument(jvm, tmp_path):
    model = mm.kws_cnn_int8()
    plan = tmp_path / "m.plan"
    plan.write_bytes(pf.write_plan(prepare_for(model, TARGET)))
    name = edgerun.Interpreter(model_content=model).get_input_details()[0]["name"]
    text = java_run(jvm, "wrong-input", plan)
    got = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    for key in ("short", "type", "buffer-size", "null"):
        assert got[key].startswith("IllegalArgumentException message=input 0 '" + name + "'"), (key, text)
    assert "elements, needs" in got["short"] and "double[]" in got["type"] and "byte[]" in got["type"]
    assert "bytes remaining" in got["buffer-size"]
    assert got["count"].startswith("IllegalArgumentException") and "1 input(s), 0 given" in got["count"]
    assert got["output"].startswith("IllegalArgumentException message=output 0 '")
    assert text.rstrip().endswith("still runs")


def test_set_num_threads(jvm, tmp_path):
    """setNumThreads(2) starts the library's pool, 0 throws the library's message, 1 stops it again."""
    plan = tmp_path / "m.plan"
    plan.write_bytes(pf.write_plan(prepare_for(_float_model(), TARGET)))
    expected = _er_run_error(jvm[1], ["--threads", "0", plan, tmp_path])
    lines = java_run(jvm, "threads", plan).splitlines()
    assert lines[0] == "2: ok", lines
    assert lines[1] == f"0: EdgerunException status=1 message={expected}", lines
    assert "threads must be between 1 and 1024, got 0" in expected
    assert lines[2] == "1: ok", lines


def test_kws_int8_on_three_threads_bit_exact(jvm, tmp_path):
    model = mm.kws_cnn_int8()
    steps = _inputs(model, 2)
    text, outs = _java_steps(jvm, model, steps, tmp_path, threads=3)
    assert "2 steps" in text
    _compare(outs, _desktop(model, steps)[1], "Java kws int8 on 3 threads")


def test_use_after_close(jvm, tmp_path):
    plan = tmp_path / "m.plan"
    plan.write_bytes(pf.write_plan(prepare_for(_float_model(), TARGET)))
    text = java_run(jvm, "closed", plan)
    assert text.strip() == "closed: IllegalStateException message=the interpreter is closed", text



def test_cmakelists_builds_a_working_library(jvm, tmp_path):
    """platforms/android/CMakeLists.txt (the NDK's build file) configured for the host JVM: its
    libedgerun_jni.so runs the int8 KWS plan bit for bit like the Python interpreter."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake not found: the CMakeLists.txt check needs it")
    b = tmp_path / "build"
    for cmd in (["cmake", "-S", str(ANDROID), "-B", str(b), "-DCMAKE_BUILD_TYPE=Release"],
                ["cmake", "--build", str(b), "-j", str(os.cpu_count() or 2)]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    so = b / "libedgerun_jni.so"
    exported = subprocess.run(["nm", "-D", "--defined-only", str(so)], capture_output=True, text=True).stdout
    names = [line.split()[-1] for line in exported.splitlines() if line.strip()]
    assert names and all(n.startswith("Java_ai_edgerun_") for n in names), names
    model = mm.kws_cnn_int8()
    steps = _inputs(model, 2, seed=5)
    java = [jvm[0][0], f"-Dedgerun.jni.library={so}", *jvm[0][1:]]
    _, outs = _java_steps((java, jvm[1]), model, steps, tmp_path / "run", "file", "direct")
    _compare(outs, _desktop(model, steps)[1], "CMake-built libedgerun_jni.so")


# -- iOS: the C library for arm64 Apple targets --------------------------------------------------------------
# No Xcode here: `zig cc` (PyPI's ziglang, bundling clang and macOS libc headers) compiles the library for
# aarch64-macos (Apple silicon: the NEON kernels and the ARM dispatch, as on iOS) and links tools/er_run as a
# Mach-O. aarch64-ios needs Apple's SDK headers (zig has none), so build_xcframework.sh is not run here.
def _zig():
    try:
        import ziglang  # noqa: F401
    except ImportError:
        pytest.skip("ziglang not installed (pip install ziglang): the aarch64-macos check needs zig cc")
    return [sys.executable, "-m", "ziglang", "cc"]


def test_c_library_compiles_for_aarch64_macos(tmp_path):
    import concurrent.futures

    zig = _zig()
    inc = [f"-I{d}" for d in include_dirs()]
    srcs = library_sources()
    objs = [tmp_path / f"{k:03d}_{p.stem}.o" for k, p in enumerate(srcs)]

    def cc(args):
        return subprocess.run([*zig, "-target", "aarch64-macos", *args], capture_output=True, text=True,
                              timeout=300)

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        done = list(pool.map(lambda so: cc([*CFLAGS, *inc, "-c", str(so[0]), "-o", str(so[1])]),
                             zip(srcs, objs)))
    for src, d in zip(srcs, done):
        assert d.returncode == 0 and "warning:" not in d.stderr, f"{src}: {d.stderr[-3000:]}"
    exe = tmp_path / "er_run"
    er_run = ANDROID.parent / "lib" / "tools" / "er_run.c"
    d = cc([*CFLAGS, *inc, str(er_run), *map(str, objs), "-lm", "-o", str(exe)])
    assert d.returncode == 0, d.stderr[-3000:]
    data = exe.read_bytes()
    # Mach-O 64-bit, CPU type arm64
    assert data[:4] == bytes.fromhex("cffaedfe") and data[4:8] == (0x0100000C).to_bytes(4, "little")
    assert b"ref,portable,neon,neon-dotprod" in data  # the library's kernel sets: the NEON kernels are in


def test_module_map_imports_the_c_api(tmp_path):
    """module.modulemap as Swift would use it: Clang's module import of EdgerunRuntime (from Objective-C)."""
    zig = _zig()
    src = tmp_path / "use.m"
    src.write_text("@import EdgerunRuntime;\n"
                   "int use(void) { edgerun_model *m = 0; char e[8];\n"
                   "  return edgerun_open_file(\"x\", &m, e, sizeof e) == EDGERUN_OK\n"
                   "         ? edgerun_input_count(m) : -1; }\n")
    d = subprocess.run([*zig, "-target", "aarch64-macos", "-x", "objective-c", "-fmodules",
                        f"-fmodules-cache-path={tmp_path / 'mc'}", f"-I{IOS}", "-c", str(src), "-o",
                        str(tmp_path / "use.o")], capture_output=True, text=True, timeout=300)
    assert d.returncode == 0, d.stderr[-3000:]


def test_xcframework_script_lists_the_library_sources():
    """build_xcframework.sh compiles the same files as platforms/lib/build.py (the rest needs Xcode)."""
    d = subprocess.run(["bash", str(IOS / "build_xcframework.sh"), "--list-sources"], capture_output=True,
                       text=True, timeout=60)
    assert d.returncode == 0, d.stderr
    assert [Path(p).resolve() for p in d.stdout.split()] == [p.resolve() for p in library_sources()]
