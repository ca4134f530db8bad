"""The C library of plan files (platforms/lib) against the desktop interpreter (itself checked against LiteRT):
plans written by platforms/planfile.py, loaded and run through the C API by tools/er_run.c.

On the host, plans prepared for the host run the desktop's kernels: outputs equal bit for bit, float too.
Plans prepared for the ARM devices (kernel set neon: kernels/opt + kernels/neon) run on the library built with
Debian's cross compilers under qemu-user (marked emulated), on CPUs with and without the int8 dot product
(the library picks the micro-kernels at open; er_run reports which): integer outputs identical, float within
1e-5 relative; their generated C projects (--format c) too. Device plans of the reference kernel set run on
the host library. A fuzz
test feeds the library built with ASan/UBSan thousands of damaged plans: each is refused with a message or
runs, none crashes, hangs or trips a sanitizer. Builds are cached per source state (platforms/lib/build.py).
"""
from __future__ import annotations

import os
import random
import re
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import edgerun
import mcu_models as mm
from edgerun.platforms import planfile as pf
from edgerun.platforms.codegen import kernel_sets, prepare_for
from edgerun.platforms.lib.build import build, shared_library_size
from edgerun.runtime.ops import TFLITE_DTYPES
from test_codegen import MODELS, _compare, _desktop_steps, _if_cond, _steps

DEVICE_MODELS = ("kws_int8", "mobilenet_v2_int8", "kws_float", "recurrent_while", "while_counter", "if_cond")
# qemu CPUs per device: with the dot product (SDOT; `max` also has I8MM), without (Cortex-A53: plain NEON,
# SMULL), ARMv7 (no SDOT at all)
CPUS = {"linux-aarch64": ("max", "cortex-a53"), "linux-armv7": ("cortex-a15",)}


@pytest.fixture(scope="session")
def host_lib():
    return build("host")


def run_plan(lib, plan, steps, workdir: Path, args=(), data: bytes | None = None):
    """Write the plan file and the steps' inputs, run er_run (under qemu for a device build); the outputs per
    step, or (exit code, stdout) when it fails."""
    return run_plan_text(lib, plan, steps, workdir, args, data)[0]


def run_plan_text(lib, plan, steps, workdir: Path, args=(), data: bytes | None = None, cpu: str | None = None):
    """run_plan, and er_run's output (on qemu's `cpu` for a device build)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "model.plan"
    path.write_bytes(data if data is not None else pf.write_plan(plan))
    sp = plan.main
    for i, ti in enumerate(sp.inputs):
        with open(workdir / f"in{i}.bin", "wb") as f:
            for step in steps:
                f.write(np.ascontiguousarray(step[i]).tobytes())
    prefix = lib.run_prefix[:1] + ["-cpu", cpu] + lib.run_prefix[1:] if cpu else lib.run_prefix
    done = subprocess.run([*prefix, str(lib.er_run), *args, str(path), str(workdir)], capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        return (done.returncode, done.stdout + done.stderr), done.stdout
    outs = [[] for _ in steps]
    for j, ti in enumerate(sp.outputs):
        t = sp.tensors[ti]
        data = np.fromfile(workdir / f"out{j}.bin", TFLITE_DTYPES[t.type])
        assert data.size == t.count * len(steps)
        for k in range(len(steps)):
            outs[k].append(data[k * t.count:(k + 1) * t.count].reshape(t.shape))
    return outs, done.stdout


def check(lib, model, target, tmp_path, steps=None, exact=True, args=(), isa=None, cpu=None):
    """The plan of `model` for `target` run by `lib` equals the desktop interpreter; er_run's output."""
    steps = steps or _steps(model)
    outs, text = run_plan_text(lib, prepare_for(model, target, isa=isa), steps, tmp_path / target, args, cpu=cpu)
    assert isinstance(outs, list), f"er_run failed: {outs}"
    _compare(outs, _desktop_steps(model, steps), exact, f"{target} plan on {lib.target}{' ' + cpu if cpu else ''}")
    return text


# -- host -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MODELS))
def test_host_plan_matches_desktop(host_lib, name, tmp_path):
    check(host_lib, MODELS[name](), "host", tmp_path)


@pytest.mark.parametrize("name", DEVICE_MODELS)
def test_device_plan_on_host_library(host_lib, name, tmp_path):
    """A linux-aarch64 plan of the reference kernel set runs on any build of the library."""
    check(host_lib, MODELS[name](), "linux-aarch64", tmp_path, exact=False, isa="ref")


def test_neon_plan_is_refused_on_x86(host_lib, tmp_path):
    """A plan packed for the NEON kernels names its kernel set; the desktop library says it does not run it."""
    model = MODELS["kws_int8"]()
    plan = prepare_for(model, "linux-aarch64")
    assert plan.isa == "neon" and {"s8_conv2d_dot", "s8_fc_dot"} <= set(plan.kernels()), plan.kernels()
    code, text = run_plan(host_lib, plan, _steps(model, 1), tmp_path)
    assert code == 4 and "kernel set 'neon'" in text and "linux-aarch64" in text, text


def test_arm_targets_share_one_neon_plan():
    """Every ARM target gets the same NEON plan (the device picks its micro-kernels), only the header's target
    differs; a kernel set the target does not take is refused by name."""
    from edgerun.platforms.codegen import TargetNameError

    model = MODELS["kws_int8"]()
    plans = {t: prepare_for(model, t) for t in ("linux-aarch64", "linux-armv7", "android-arm64", "android-armv7",
                                                "ios-arm64")}
    ref = plans["linux-aarch64"]
    for t, plan in plans.items():
        assert plan.isa == "neon" and plan.alignment == 64, t
        assert str(plan).replace(t, "linux-aarch64") == str(ref), t
        assert all(np.array_equal(a, b) for a, b in zip(plan.consts, ref.consts)), t
    with pytest.raises(TargetNameError, match="kernel set 'avx2' is not one for target linux-armv7: ref, neon"):
        prepare_for(model, "linux-armv7", isa="avx2")
    with pytest.raises(TargetNameError, match="for target cortex-m4: ref$"):
        prepare_for(model, "cortex-m4", isa="neon")


@pytest.mark.parametrize("flag", [1.0, -1.0])
def test_if_both_branches(host_lib, flag, tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3)).astype(np.float32)
    check(host_lib, _if_cond(), "host", tmp_path, steps=[[x, np.array([flag], np.float32)]])


@pytest.mark.parametrize("quantize", mm.STREAMING_QUANTIZE)
def test_streaming_20_steps(host_lib, quantize, tmp_path):
    model = mm.streaming_model(quantize)
    check(host_lib, model, "host", tmp_path, steps=[[f] for f in mm.streaming_frames(model, 20)])


def test_streaming_reset_restarts_the_stream(host_lib, tmp_path):
    """edgerun_reset_variables before every step: each step is the first of a fresh stream, as the desktop
    interpreter's reset_all_variables()."""
    model = mm.streaming_model("int8")
    frames = mm.streaming_frames(model, 5)
    outs = run_plan(host_lib, prepare_for(model, "android-arm64", isa="ref"), [[f] for f in frames], tmp_path,
                    ["--reset"])
    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    for k, f in enumerate(frames):
        it.reset_all_variables()
        it.set_tensor(it.get_input_details()[0]["index"], f)
        it.invoke()
        assert np.array_equal(outs[k][0], it.get_tensor(it.get_output_details()[0]["index"])), k


def test_borrowed_memory(host_lib, tmp_path):
    check(host_lib, MODELS["kws_int8"](), "host", tmp_path, args=["--borrow"])


def test_io_description(host_lib, tmp_path):
    model = MODELS["kws_int8"]()
    plan = prepare_for(model, "linux-armv7", isa="ref")
    (tmp_path / "m.plan").write_bytes(pf.write_plan(plan))
    done = subprocess.run([str(host_lib.er_run), "--info", str(tmp_path / "m.plan")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    it = edgerun.Interpreter(model_content=model)
    d = it.get_input_details()[0]
    scale, zp = d["quantization"]
    assert f"input 0 '{d['name']}' type 9 shape ({', '.join(map(str, d['shape']))}) scale {scale:g} " \
           f"zero_point {zp}" in done.stdout, done.stdout
    assert "target linux-armv7, kernel set ref" in done.stdout


@pytest.mark.parametrize("name", ["mobilenet_v2_int8", "kws_float", "recurrent_while"])
def test_threads_give_the_desktop_outputs(host_lib, name, tmp_path):
    """edgerun_set_num_threads(3): convolution, depthwise and FC split their work over two workers; every
    output still equals the desktop's bit for bit (float too: ranges follow the single-thread tiling)."""
    text = check(host_lib, MODELS[name](), "host", tmp_path, args=["--threads", "3"])
    assert "threads 3" in text, text


@pytest.mark.parametrize("n", ["0", "1025"])
def test_thread_counts_out_of_range_are_refused(host_lib, tmp_path, n):
    model = MODELS["while_counter"]()
    code, text = run_plan(host_lib, prepare_for(model, "host"), _steps(model, 1), tmp_path, ["--threads", n])
    assert code == 5 and f"threads must be between 1 and 1024, got {n}" in text, text


def _with_text(data: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new) and old in data
    return pf.fix_checksum(data.replace(old, new, 1))


def test_unknown_kernels_are_named(host_lib, tmp_path):
    model = MODELS["kws_int8"]()
    plan = prepare_for(model, "linux-aarch64", isa="ref")
    data = _with_text(pf.write_plan(plan), b"q_softmax\0", b"q_softmix\0")
    code, text = run_plan(host_lib, plan, _steps(model, 1), tmp_path, data=data)
    assert code == 4 and "does not have: q_softmix" in text, text


def test_other_kernel_set_is_refused(host_lib, tmp_path):
    model = MODELS["kws_int8"]()
    plan = prepare_for(model, "linux-aarch64", isa="ref")
    data = bytearray(pf.write_plan(plan))
    data[56:72] = b"neon-dotprod".ljust(16, b"\0")
    code, text = run_plan(host_lib, plan, _steps(model, 1), tmp_path, data=pf.fix_checksum(data))
    assert code == 4 and "kernel set 'neon-dotprod'" in text and "compile the model for this device" in text, text


@pytest.mark.parametrize("cut", [0, 50, 400, -16])
def test_truncated_or_corrupt_files_are_refused(host_lib, tmp_path, cut):
    model = MODELS["if_cond"]()
    plan = prepare_for(model, "host")
    data = pf.write_plan(plan)
    data = data[:cut] if cut >= 0 else data[:cut // 2] + bytes([data[cut // 2] ^ 1]) + data[cut // 2 + 1:]
    code, text = run_plan(host_lib, plan, _steps(model, 1), tmp_path, data=data)
    assert code == 4 and ("truncated" in text or "too short" in text or "checksum" in text or "bad magic" in text), text


# -- devices under qemu -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def device_libs():
    return {}


def _device(device_libs, target):
    if target not in device_libs:
        device_libs[target] = build(target)
    return device_libs[target]


_KERNELS_LINE = re.compile(r"^kernels: set (\S+), micro-kernels (\S+), int8 dot GEMM (\S+)$", re.M)


def _check_paths(text: str, target: str, cpu: str, plan_kernels):
    """er_run's report of the micro-kernels the library chose for this CPU: the dot-product ones where qemu's
    CPU has them (Cortex-A53 and ARMv7 do not), and the int8 dot-layout GEMM path when the plan calls it."""
    found = _KERNELS_LINE.search(text)
    assert found, text
    kernel_set, isa, dot = found.groups()
    assert kernel_set == "neon"
    dotprod = target == "linux-aarch64" and cpu != "cortex-a53"
    assert isa == ("neon-dotprod" if dotprod else "neon"), text
    if {"s8_conv2d_dot", "s8_fc_dot"} & set(plan_kernels):
        # SDOT, or SMMLA where the CPU also has the int8 matrix multiply (`max`) and kernels/neon has it
        assert dot in ("sdot", "i8mm") if dotprod else dot == "smull", text
    return dot


def _device_cases():
    """(target, cpu, model) of every codegen test model; MobileNetV2 int8 slow."""
    out = []
    for target, cpus in CPUS.items():
        for cpu in cpus:
            for name in sorted(MODELS):
                marks = [pytest.mark.slow] if name == "mobilenet_v2_int8" else []
                out.append(pytest.param(target, cpu, name, marks=marks, id=f"{target}-{cpu}-{name}"))
    return out


@pytest.mark.emulated
@pytest.mark.parametrize("target, cpu, name", _device_cases())
def test_device_matches_desktop(device_libs, target, cpu, name, tmp_path):
    model = MODELS[name]()
    steps = _steps(model, 1 if name == "mobilenet_v2_int8" else 2)
    text = check(_device(device_libs, target), model, target, tmp_path, steps=steps, exact=False, cpu=cpu)
    _check_paths(text, target, cpu, prepare_for(model, target).kernels())


@pytest.mark.emulated
@pytest.mark.parametrize("target, cpu", [(t, c) for t, cpus in CPUS.items() for c in cpus])
@pytest.mark.parametrize("quantize", mm.STREAMING_QUANTIZE)
def test_device_streaming_20_steps(device_libs, target, cpu, quantize, tmp_path):
    model = mm.streaming_model(quantize)
    text = check(_device(device_libs, target), model, target, tmp_path, exact=False, cpu=cpu,
                 steps=[[f] for f in mm.streaming_frames(model, 20)])
    _check_paths(text, target, cpu, prepare_for(model, target).kernels())


@pytest.mark.emulated
@pytest.mark.parametrize("target, cpu", [("linux-aarch64", "max"), ("linux-armv7", "cortex-a15")])
def test_device_threads(device_libs, target, cpu, tmp_path):
    """The pool on the phones' ABIs (pthreads of bionic/glibc; qemu-user runs the threads): 3 threads give the
    desktop's outputs."""
    model = MODELS["kws_int8"]()
    text = check(_device(device_libs, target), model, target, tmp_path, exact=False, cpu=cpu, args=["--threads", "3"])
    assert "threads 3" in text, text


@pytest.mark.emulated
def test_device_dot_paths_all_ran(device_libs, tmp_path):
    """One plan, three CPUs: the KWS int8 plan's int8 GEMMs run SDOT on a Cortex-A76 (dot product, no I8MM),
    SDOT or SMMLA on `max`, and the plain NEON path on a Cortex-A53, each equal to the desktop."""
    model = MODELS["kws_int8"]()
    lib = _device(device_libs, "linux-aarch64")
    plan = prepare_for(model, "linux-aarch64")
    paths = {cpu: _check_paths(check(lib, model, "linux-aarch64", tmp_path / cpu, cpu=cpu), "linux-aarch64",
                               cpu, plan.kernels()) for cpu in ("max", "cortex-a76", "cortex-a53")}
    assert paths["cortex-a76"] == "sdot" and paths["cortex-a53"] == "smull", paths


@pytest.mark.emulated
@pytest.mark.parametrize("target, name", [("linux-aarch64", "kws_int8"), ("linux-armv7", "kws_float")])
def test_device_c_project(target, name, tmp_path):
    """`edgerun compile --target linux-*` (--format c): the generated project holds the opt/ and neon/ sources
    its NEON plan needs, builds with its own Makefile (the target's cross compiler) and runs under qemu."""
    from edgerun.platforms.codegen import compile_model
    from edgerun.platforms.lib.build import TOOLCHAINS

    model = MODELS[name]()
    project = compile_model(model, target, tmp_path / "p", name="net")
    assert project.plan.isa == "neon"
    assert "kernels/host_isa.c" in project.sources and any(s.startswith("kernels/neon/") for s in project.sources)
    done = subprocess.run(["make", "-s", "-j2", "-C", str(project.dir), "net_run"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    steps = _steps(model)
    sp = project.plan.main
    for i, _ in enumerate(sp.inputs):
        (project.dir / f"in{i}.bin").write_bytes(b"".join(np.ascontiguousarray(st[i]).tobytes() for st in steps))
    qemu = TOOLCHAINS[target][3]
    for cpu in CPUS[target]:
        run = subprocess.run([qemu[0], "-cpu", cpu, *qemu[1:], str(project.dir / "net_run")], cwd=project.dir,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        outs = [[] for _ in steps]
        for j, ti in enumerate(sp.outputs):
            t = sp.tensors[ti]
            data = np.fromfile(project.dir / f"out{j}.bin", TFLITE_DTYPES[t.type])
            for k in range(len(steps)):
                outs[k].append(data[k * t.count:(k + 1) * t.count].reshape(t.shape))
        _compare(outs, _desktop_steps(model, steps), False, f"{target} C project on {cpu}")


@pytest.mark.emulated
def test_desktop_packed_plan_is_refused_on_arm(device_libs, tmp_path):
    import edgerun.runtime.isa as isa

    if isa.current() == "ref":
        pytest.skip("this desktop prepares reference plans")
    model = MODELS["kws_int8"]()
    code, text = run_plan(_device(device_libs, "linux-aarch64"), prepare_for(model, "linux-x86_64"),
                          _steps(model, 1), tmp_path)
    packed = kernel_sets("linux-x86_64")[-1]  # avx2 on an avx512vnni desktop (the library has no such set)
    assert code == 4 and f"kernel set '{packed}'" in text and "linux-x86_64" in text, text


def test_stripped_aarch64_library_size():
    """The issue's budget: the stripped arm64 library with every kernel at most 1 MiB."""
    size = shared_library_size("linux-aarch64")
    print(f"stripped linux-aarch64 libedgerun_runtime.so: {size['bytes']:,} B ({size['bytes'] / 1024:.0f} KiB)")
    assert size["bytes"] <= 1024 * 1024, size


# -- fuzz -------------------------------------------------------------------------------------------------
def structural_fields(data: bytes) -> list:
    """(offset, size) of every field of a plan file that says where or how many (header, section table, counts,
    offset tables, string references, records of kernels, structs, tensors, ops, variables, consts, and params
    value tags, ids and pointer ranges). Not: integer and float values of params and const bytes, which are
    the plan's numbers (trusted: see include/edgerun_runtime.h)."""
    f = [(8, 4), (16, 8), (72, 8), (80, 4), (84, 4)] + [(56, 4)]
    h = pf.read_header(data)
    for k in range(7):
        f += [(96 + 24 * k, 4), (96 + 24 * k + 8, 8), (96 + 24 * k + 16, 8)]
    sec = h["sections"]

    def u32(at):
        return struct.unpack_from("<I", data, at)[0]

    off = sec[pf.KERNELS][0]
    f.append((off, 4))
    f += [(off + 4 + 4 * k, 4) for k in range(2 * u32(off))]
    off = sec[pf.STRUCTS][0]
    f.append((off, 4))
    f += [(off + 4 + 4 * k, 4) for k in range(4 * u32(off))]
    off = sec[pf.PARAMS][0]
    n = u32(off)
    f.append((off, 4))
    for k in range(n):
        f.append((off + 4 + 8 * k, 8))
        b = off + struct.unpack_from("<Q", data, off + 4 + 8 * k)[0]
        f += [(b, 4), (b + 4, 4)]
        for v in range(u32(b + 4)):
            at = b + 8 + 24 * v
            f += [(at, 4)]
            if u32(at) >= pf.V_NULL:
                f += [(at + 4, 4), (at + 8, 8), (at + 16, 8)]
    off = sec[pf.SUBPLANS][0]
    f.append((off, 4))
    for k in range(u32(off)):
        f.append((off + 4 + 8 * k, 8))
        r = off + struct.unpack_from("<Q", data, off + 4 + 8 * k)[0]
        _, nt, no, ni, nout = struct.unpack_from("<iIIII", data, r)
        f += [(r + 4 * j, 4) for j in range(6)] + [(r + 24, 8), (r + 32, 8)]
        r += 40
        f += [(r + 4 * j, 4) for j in range(ni + nout)]
        r += 4 * (ni + nout)
        for _ in range(nt):
            f += [(r, 4), (r + 4, 4), (r + 8, 4), (r + 12, 4), (r + 16, 8), (r + 24, 8)]
            f += [(r + 32 + 4 * j, 4) for j in range(12)]
            ns, nz = struct.unpack_from("<II", data, r + 72)
            r += 80 + 4 * ns + 8 * nz
        for _ in range(no):
            f += [(r + 4 * j, 4) for j in range(6)] + [(r + 24, 8), (r + 32, 8), (r + 40, 4)]
            n_in, n_out = struct.unpack_from("<II", data, r + 16)
            f += [(r + 44 + 4 * j, 4) for j in range(n_in + n_out)]
            r += 44 + 4 * (n_in + n_out)
    off = sec[pf.VARIABLES][0]
    f.append((off, 4))
    for k in range(u32(off)):
        r = off + 4 + 60 * k
        f += [(r + 4 * j, 4) for j in range(12)] + [(r + 48, 8), (r + 56, 4)]
    off = sec[pf.CONSTS][0]
    f.append((off, 4))
    f += [(off + 8 + 8 * k, 8) for k in range(2 * u32(off))]
    return f


def _boundary(size: int, old: int, limits: list, rng: random.Random) -> int:
    bits = 8 * size
    choices = [0, 1, 2, 3, 7, 8, 15, 16, 255, 256, (1 << bits) - 1, (1 << bits) - 2, (1 << (bits - 1)) - 1,
               1 << (bits - 1), old + 1, old - 1, old * 2, old + 16, old ^ (1 << rng.randrange(bits)),
               rng.getrandbits(bits)] + limits + [x + 1 for x in limits] + [x - 1 for x in limits]
    return rng.choice(choices) % (1 << bits)


def mutants(data: bytes, n_sealed: int, n_raw: int, seed: int) -> list:
    """Damaged copies of a plan file. Sealed ones (checksum recomputed, so they reach the structural checks):
    boundary values or flipped bits in structural fields, one to three at a time. Raw ones (checksum left
    stale): truncations, flipped bytes anywhere, boundary values at any offset."""
    rng = random.Random(seed)
    fields = structural_fields(data)
    limits = [len(data)] + [v for off, length in pf.read_header(data)["sections"].values() for v in (off, length)]
    out = []
    for _ in range(n_sealed):
        m = bytearray(data)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            at, size = rng.choice(fields)
            old = int.from_bytes(m[at:at + size], "little")
            m[at:at + size] = _boundary(size, old, limits, rng).to_bytes(size, "little")
        out.append(("sealed", pf.fix_checksum(m)))
    for k in range(n_raw):
        m = bytearray(data)
        kind = k % 3
        if kind == 0:
            m = m[:rng.randrange(len(m))]
        elif kind == 1:
            for _ in range(rng.randrange(1, 5)):
                m[rng.randrange(len(m))] ^= 1 << rng.randrange(8)
        else:
            at = rng.randrange(len(m) - 8)
            m[at:at + 8] = _boundary(8, 0, limits, rng).to_bytes(8, "little")
        if bytes(m) != data:  # a value written over equal bytes changes nothing
            out.append(("raw", bytes(m)))
    return out


@pytest.fixture(scope="module")
def fuzz_plans():
    return {"kws_int8 host": prepare_for(MODELS["kws_int8"](), "host"),
            "recurrent_while linux-aarch64": prepare_for(MODELS["recurrent_while"](), "linux-aarch64"),
            "streaming android-arm64": prepare_for(mm.streaming_model("int8"), "android-arm64")}


def test_fuzz_damaged_plans_under_sanitizers(fuzz_plans, tmp_path):
    """At least 2,000 mutants of 3 plans: each is refused or runs; no crash, hang or sanitizer report."""
    lib = build("host", sanitize=True)
    lists = {"sealed": [], "raw": []}
    n = 0
    for k, (what, plan) in enumerate(fuzz_plans.items()):
        for kind, m in mutants(pf.write_plan(plan), 600, 150, seed=k):
            p = tmp_path / f"m{n:05d}.plan"
            p.write_bytes(m)
            lists[kind].append(str(p))
            n += 1
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    procs = {}
    for kind, paths in lists.items():
        half = len(paths) // 2
        for part, chunk in (("a", paths[:half]), ("b", paths[half:])):
            lst = tmp_path / f"{kind}-{part}.txt"
            lst.write_text("\n".join(chunk) + "\n")
            procs[(kind, part)] = subprocess.Popen([str(lib.er_fuzz), "--timeout", "10", str(lst)], env=env,
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    totals = {}
    for (kind, part), p in procs.items():
        out, err = p.communicate(timeout=900)
        assert p.returncode == 0, f"{kind} mutants: {out}\n{err[-3000:]}"
        words = out.splitlines()[0].split()  # "refused R ran N invoke-errors E failures F slowest-ms T slowest PATH"
        counts = {k: int(v) for k, v in zip(words[0:8:2], words[1:8:2])}
        for key, v in counts.items():
            totals[(kind, key)] = totals.get((kind, key), 0) + v
    print(f"fuzz: {n} mutants: " + ", ".join(f"{kind} {key} {v}" for (kind, key), v in sorted(totals.items())))
    assert n >= 2000
    assert totals[("raw", "ran")] == 0 and totals[("raw", "invoke-errors")] == 0, totals  # the checksum stops all
    assert totals[("sealed", "refused")] > 0 and totals[("sealed", "ran")] > 0, totals


def test_variable_initial_values_from_the_first_invoke(host_lib, tmp_path):
    """A variable tensor stored with a value starts with it in the C library as in the desktop interpreter (the
    library applied it only on edgerun_reset_variables): out = x + state, then state = out."""
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (5,), np.float32)
    state = b.tensor("state", (5,), np.float32, is_variable=True,
                     buffer=b.buffer(np.array([1.5, -2.0, 3.25, 0.5, 7.0], np.float32)))
    y = b.tensor("y", (5,), np.float32)
    b.op("ADD", [x, state], [y])
    b.inputs([x])
    b.outputs([y])
    model = b.finish()
    steps = [[np.arange(5, dtype=np.float32)], [np.ones(5, np.float32)]]
    outs = run_plan(host_lib, prepare_for(model, "host"), steps, tmp_path)
    assert isinstance(outs, list), outs
    want = _desktop_steps(model, steps)
    assert np.array_equal(want[0][0], np.arange(5) + np.array([1.5, -2.0, 3.25, 0.5, 7.0], np.float32))
    for k in range(2):
        assert np.array_equal(outs[k][0], want[k][0]), k
