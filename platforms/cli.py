"""The device side of the `edgerun` command: `compile`, and `run` / `bench` with `--target`.

    edgerun compile model.tflite --target cortex-m4 -o out/kws --name kws
    edgerun compile model.tflite --target linux-aarch64 --format plan -o kws.plan
    edgerun run model.tflite --target cortex-m4 --input x=x.npy --output out.npz
    edgerun bench model.tflite --target cortex-m4 [--json]
    edgerun run model.tflite --target linux-aarch64 [--cpu cortex-a53] --input x=x.npy --output out.npz
    edgerun bench model.tflite --target linux-armv7 [--json]

Boards run the generated C project under qemu-system; the Linux device targets run the plan file through
the C library (platforms/lib, built for the target) and its runner tools/er_run under qemu-user.
"""
from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgerun import progress
from edgerun.errors import EdgerunError
from edgerun.platforms.codegen import DEVICE_TARGETS, TARGETS, compile_model, generate, prepare_for
from edgerun.platforms.codegen.runner import run_project
from edgerun.runtime.ops import TFLITE_DTYPES


def _human(n: int) -> str:
    return f"{n:,} B" if n < 10 * 1024 else f"{n:,} B ({n / 1024:.1f} KiB)"


def add_compile_parser(sub):
    p = sub.add_parser("compile", help="write a model for a target: a C project, or a plan file for the C library")
    p.add_argument("model")
    p.add_argument("--target", required=True, choices=TARGETS)
    p.add_argument("-o", "--output", required=True, metavar="DIR|FILE",
                   help="folder to write the project into (--format c), or the plan file (--format plan)")
    p.add_argument("--format", choices=("c", "plan"), default="c",
                   help="c: generated C project (default); plan: plan file for platforms/lib (phones, Linux)")
    p.add_argument("--name", default="model", help="C prefix of the model's API (NAME_invoke, NAME_inputs, ...)")
    p.set_defaults(fn=cmd_compile)


def cmd_compile(args) -> int:
    if args.format == "plan":
        from edgerun.platforms.planfile import write_plan

        plan = prepare_for(args.model, args.target)
        data = write_plan(plan)
        Path(args.output).write_bytes(data)
        print(f"wrote {args.output} for {args.target} (kernel set {plan.isa}): plan file {_human(len(data))}, "
              f"{len(plan.kernels())} kernels, {len(plan.subplans)} subplan(s)")
        print(f"  arena {_human(plan.arena_bytes)}, variables {_human(sum(v.nbytes for v in plan.variables))}, "
              f"constants {_human(sum(int(c.nbytes) for c in plan.consts))}")
        return 0
    project = compile_model(args.model, args.target, args.output, name=args.name)
    plan = project.plan
    print(f"wrote {project.dir}/ for {args.target}: {project.name}.h, {project.name}.c, {project.name}_main.c, "
          f"{len(project.sources) - 1} kernel sources, Makefile, CMakeLists.txt")
    print(f"  kernels: {', '.join(plan.kernels())}")
    print(f"  arena {_human(plan.arena_bytes)}, variables {_human(sum(v.nbytes for v in plan.variables))}, "
          f"constants {_human(sum(int(c.nbytes) for c in plan.consts))} before unused ones are dropped")
    return 0


def _steps_from_inputs(plan, inputs: dict, model_path: str, cast: bool = False):
    """One step of inputs in the plan's order: given arrays (checked), random ones for the rest."""
    rng = np.random.default_rng(0)
    step, random_names = [], []
    names = [plan.main.tensors[i].name for i in plan.main.inputs]
    for name in inputs:
        if name not in names:
            raise EdgerunError(f"{model_path}: no input named {name!r}; inputs are {names}")
    for ti in plan.main.inputs:
        t = plan.main.tensors[ti]
        dt = TFLITE_DTYPES[t.type]
        if t.name in inputs:
            x = np.asarray(inputs[t.name])
            if x.dtype != dt and cast and (dt.kind == "f" or x.size == 0 or (
                    np.iinfo(dt).min <= x.min() and x.max() <= np.iinfo(dt).max)):
                x = x.astype(dt)  # --cast, as a host run
            if x.shape != tuple(t.shape) or x.dtype != dt:
                raise EdgerunError(f"{model_path}: input {t.name!r} must be {dt} {tuple(t.shape)}, the file holds "
                                   f"{x.dtype} {x.shape}{' (--cast converts values in range)' if x.dtype != dt else ''}")
            step.append(x)
            continue
        random_names.append(t.name)
        if dt.kind == "f":
            step.append(rng.uniform(-1, 1, t.shape).astype(dt))
        elif dt == np.bool_:
            step.append(rng.integers(0, 2, t.shape).astype(bool))
        else:
            info = np.iinfo(dt)
            step.append(rng.integers(info.min, int(info.max) + 1, t.shape, dtype=np.int64).astype(dt))
    return step, random_names


def _project(args, workdir):
    return generate(prepare_for(args.model, args.target), Path(workdir) / "project", name="model")


# -- Linux devices: the plan file through the C library under qemu-user ----------------------------------
LINUX_DEVICES = ("linux-aarch64", "linux-armv7", "linux-x86_64")  # built here; ARM ones run under qemu-user
_REPORT = {"kernels": re.compile(r"^kernels: set (\S+), micro-kernels (\S+), int8 dot GEMM (\S+)$", re.M),
           "memory": re.compile(r"^memory: model (\d+) B, arena (\d+) B, heap peak (-?\d+) B, max RSS (-?\d+) KiB$",
                                re.M),
           "time": re.compile(r"^time: (\d+) invokes, min ([\d.]+) us, median ([\d.]+) us, max ([\d.]+) us$", re.M)}


def _check_target(args):
    """Phones need a phone; --cpu picks qemu's CPU for the ARM Linux targets only."""
    target, cpu = args.target, getattr(args, "cpu", None)
    if target in DEVICE_TARGETS and target not in LINUX_DEVICES:
        adb = " or `edgerun bench MODEL --target android-arm64 --adb` with a phone" if "android" in target else ""
        raise EdgerunError(f"--target {target} runs on a device, not here (an app with the C library and the plan "
                           f"of `edgerun compile --format plan`{adb}); to run the same NEON plan under emulation "
                           f"use --target {'linux-armv7' if 'armv7' in target else 'linux-aarch64'}")
    if cpu and target not in ("linux-aarch64", "linux-armv7"):
        raise EdgerunError(f"--cpu {cpu}: only for --target linux-aarch64 or linux-armv7 (qemu-user's CPU)")
    if cpu:
        from edgerun.platforms.lib.build import TOOLCHAINS

        qemu = TOOLCHAINS[target][3][0]
        try:
            known = subprocess.run([qemu, "-cpu", "help"], capture_output=True, text=True).stdout.split()
        except OSError:
            raise EdgerunError(f"--cpu {cpu}: {qemu} not found (bash platforms/lib/install.sh installs it)") from None
        if cpu not in known:
            raise EdgerunError(f"--cpu {cpu!r} is not a CPU {qemu} emulates; choose from "
                               f"{', '.join(k for k in known if not k.endswith(':') and k != 'Available')}")


def _run_plan(args, steps, plan, workdir: Path, er_args=()):
    """Write the plan and the inputs into workdir, run er_run for the target: (outputs by name, er_run's report
    lines parsed, the Build, how it ran: qemu's command and CPU, or "" natively)."""
    from edgerun.platforms.lib.build import build
    from edgerun.platforms.planfile import write_plan

    lib = build(args.target)
    prefix = list(lib.run_prefix)
    cpu = getattr(args, "cpu", None)
    if cpu:
        prefix[1:1] = ["-cpu", cpu]
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "model.plan").write_bytes(write_plan(plan))
    for i, x in enumerate(steps):
        (workdir / f"in{i}.bin").write_bytes(np.ascontiguousarray(x).tobytes())
    cmd = [*prefix, str(lib.er_run), *er_args, str(workdir / "model.plan"), str(workdir)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise EdgerunError(f"{args.model} on {args.target}: er_run exited with {done.returncode}: "
                           f"{(done.stdout + done.stderr).strip()}")
    outs = {}
    for j, ti in enumerate(plan.main.outputs):
        t = plan.main.tensors[ti]
        data = np.fromfile(workdir / f"out{j}.bin", TFLITE_DTYPES[t.type])
        outs[t.name] = data[-t.count:].reshape(t.shape) if t.count else data.reshape(t.shape)
    report = {k: r.search(done.stdout).groups() for k, r in _REPORT.items() if r.search(done.stdout)}
    return outs, report, lib, " ".join(prefix[:3] if cpu else prefix[:1])


def _run_linux_device(args, inputs: dict):
    with progress.steps(args.target, ["prepare the plan", "build the library, run"]) as stage:
        stage("prepare the plan")
        plan = prepare_for(args.model, args.target)
        step, random_names = _steps_from_inputs(plan, inputs, args.model, getattr(args, "cast", False))
        stage("build the library, run")
        with tempfile.TemporaryDirectory(prefix="edgerun-run-") as tmp:
            outs, report, _, runner = _run_plan(args, step, plan, Path(args.build_dir or tmp))
    if random_names:
        print(f"random inputs for {', '.join(random_names)} (seed 0)")
    s, isa, dot = report["kernels"]
    print(f"{args.target} ({runner or 'native'}): kernel set {s}, micro-kernels {isa}, int8 dot GEMM {dot}")
    return outs


def run_on_target(args, inputs: dict) -> int:
    """`edgerun run MODEL --target T`: build for T, run (under emulation for boards), write the outputs."""
    from edgerun.cli import print_outputs

    _check_target(args)
    if args.target in LINUX_DEVICES:
        print_outputs(_run_linux_device(args, inputs), args.output)
        return 0
    with progress.steps(args.target, ["generate C", "build, run under qemu"]) as stage, \
            tempfile.TemporaryDirectory(prefix="edgerun-run-") as tmp:
        stage("generate C")
        project = _project(args, args.build_dir or tmp)
        step, random_names = _steps_from_inputs(project.plan, inputs, args.model)
        stage("build, run under qemu")
        result = run_project(project, [step])
    if random_names:
        print(f"random inputs for {', '.join(random_names)} (seed 0)")
    if result.instructions:
        print(f"{args.target}: {result.instructions[0]:,} instructions per invoke (counted by the emulator)")
    print_outputs({project.plan.main.tensors[ti].name: a
                   for ti, a in zip(project.plan.main.outputs, result.outputs[0])}, args.output)
    return 0


def bench_on_target(args) -> int:
    """`edgerun bench MODEL --target T`: flash, RAM and instructions per invoke of the compiled model."""
    if getattr(args, "adb", None) is not None:  # a phone over adb: platforms/adb.py
        from edgerun.platforms.adb import bench_adb_cli

        return bench_adb_cli(args)
    if args.target == "host":
        raise EdgerunError("bench --target host: `edgerun bench MODEL` times the desktop interpreter; --target "
                           "measures the emulated boards")
    _check_target(args)
    if args.target in LINUX_DEVICES:
        return _bench_linux_device(args)
    with progress.steps(args.target, ["generate C", "build, run under qemu"]) as stage, \
            tempfile.TemporaryDirectory(prefix="edgerun-bench-") as tmp:
        stage("generate C")
        project = _project(args, tmp)
        step, _ = _steps_from_inputs(project.plan, {}, args.model)
        stage("build, run under qemu")
        result = run_project(project, [step, step])
    m = result.memory
    report = {
        "model": str(args.model), "target": args.target,
        "flash_bytes": m["flash_bytes"], "code_bytes": m["code_bytes"], "weight_bytes": m["weight_bytes"],
        "record_bytes": m["record_bytes"], "runtime_code_bytes": m["runtime_code_bytes"],
        "ram_bytes": m["ram_bytes"], "arena_bytes": m["arena_bytes"], "variable_bytes": m["variable_bytes"],
        "stack_bytes": m["stack_bytes"], "data_bss_bytes": m["data_bss_bytes"],
        "instructions": result.instructions[-1],
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{args.model} on {args.target} (qemu; sizes from the linked program)")
    print(f"  flash          {_human(report['flash_bytes'])}")
    print(f"    model code     {_human(report['code_bytes'])}   (kernels, executor, invoke)")
    print(f"    weights        {_human(report['weight_bytes'])}")
    print(f"    records        {_human(report['record_bytes'])}   (tensor, op and parameter records, tables)")
    print(f"    runtime code   {_human(report['runtime_code_bytes'])}   (C library, board startup, file runner)")
    print(f"  RAM            {_human(report['ram_bytes'])}")
    print(f"    arena          {_human(report['arena_bytes'])}")
    print(f"    variables      {_human(report['variable_bytes'])}")
    print(f"    stack (peak)   {_human(report['stack_bytes'])}")
    print(f"    other data/bss {_human(report['data_bss_bytes'])}")
    print(f"  instructions per invoke: {report['instructions']:,} (counted by the emulator; not cycles)")
    return 0


def _bench_linux_device(args) -> int:
    """Sizes (stripped library, plan file), memory (arena, the model's block, the run's heap peak) and the
    latency of er_run under qemu-user: emulated time, not the device's speed."""
    from edgerun.platforms.lib.build import shared_library_size
    from edgerun.platforms.planfile import write_plan

    runs, warmup = max(1, args.runs), max(0, args.warmup)
    with progress.steps(args.target, ["prepare the plan", "build the library, run"]) as stage:
        stage("prepare the plan")
        plan = prepare_for(args.model, args.target)
        step, _ = _steps_from_inputs(plan, {}, args.model)
        stage("build the library, run")
        with tempfile.TemporaryDirectory(prefix="edgerun-bench-") as tmp:
            _, report, lib, runner = _run_plan(args, step, plan, Path(tmp),
                                               ["--warmup", str(warmup), "--repeat", str(runs)])
    kernel_set, isa, dot = report["kernels"]
    model_b, arena_b, heap_b, rss_kib = map(int, report["memory"])
    n, t_min, t_med, t_max = report["time"]
    out = {
        "model": str(args.model), "target": args.target, "runner": runner or "native",
        "kernel_set": kernel_set, "micro_kernels": isa, "int8_dot_gemm": dot,
        "library_stripped_bytes": shared_library_size(args.target)["bytes"], "plan_file_bytes": len(write_plan(plan)),
        "arena_bytes": arena_b, "model_block_bytes": model_b, "peak_heap_bytes": heap_b,
        "max_rss_kib": rss_kib, "emulated": bool(lib.run_prefix), "runs": int(n),
        "latency_us": {"min": float(t_min), "median": float(t_med), "max": float(t_max)},
    }
    if args.json:
        print(json.dumps(out))
        return 0
    where = f"under {runner} (emulated: not the device's speed)" if lib.run_prefix else "natively"
    print(f"{args.model} on {args.target}, {where}")
    print(f"  kernels        set {kernel_set}; micro-kernels {isa}; int8 dot GEMM {dot}")
    print(f"  library        {_human(out['library_stripped_bytes'])}   (stripped shared library, every kernel)")
    print(f"  plan file      {_human(out['plan_file_bytes'])}")
    print(f"  memory         {_human(model_b)} model block (arena {_human(arena_b)} inside), "
          f"peak heap {_human(heap_b) if heap_b >= 0 else 'unknown'}")
    print(f"                 max RSS {rss_kib:,} KiB (the whole process{', qemu included' if lib.run_prefix else ''})")
    print(f"  {'latency':<15}min {float(t_min) / 1e3:.3f} ms, median {float(t_med) / 1e3:.3f} ms, "
          f"max {float(t_max) / 1e3:.3f} ms over {n} runs{' (emulated)' if lib.run_prefix else ''}")
    return 0
