"""The device side of the `edgerun` command: `compile`, and `run` / `bench` with `--target`.

    edgerun compile model.tflite --target cortex-m4 -o out/kws --name kws
    edgerun compile model.tflite --target linux-aarch64 --format plan -o kws.plan
    edgerun run model.tflite --target cortex-m4 --input x=x.npy --output out.npz
    edgerun bench model.tflite --target cortex-m4 [--json]
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from edgerun.errors import EdgerunError
from edgerun.platforms.codegen import TARGETS, compile_model, generate, prepare_for
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


def _steps_from_inputs(plan, inputs: dict, model_path: str):
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
            x = inputs[t.name]
            if x.shape != tuple(t.shape) or x.dtype != dt:
                raise EdgerunError(f"input {t.name!r} must be {dt} {tuple(t.shape)}, the file holds {x.dtype} "
                                   f"{x.shape}")
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


def run_on_target(args, inputs: dict) -> int:
    """`edgerun run MODEL --target T`: build for T, run (under emulation for boards), write the outputs."""
    with tempfile.TemporaryDirectory(prefix="edgerun-run-") as tmp:
        project = _project(args, args.build_dir or tmp)
        step, random_names = _steps_from_inputs(project.plan, inputs, args.model)
        if random_names:
            print(f"random inputs for {', '.join(random_names)} (seed 0)")
        result = run_project(project, [step])
    outs = {project.plan.main.tensors[ti].name: a for ti, a in zip(project.plan.main.outputs, result.outputs[0])}
    for name, v in outs.items():
        flat = v.reshape(-1)
        print(f"{name}: {v.dtype} {v.shape} {np.array2string(flat[:8], precision=5, separator=', ')}"
              f"{' ...' if flat.size > 8 else ''}")
    if result.instructions:
        print(f"{args.target}: {result.instructions[0]:,} instructions per invoke (counted by the emulator)")
    if args.output:
        np.savez(args.output, **outs)
        print(f"wrote {args.output}")
    return 0


def bench_on_target(args) -> int:
    """`edgerun bench MODEL --target T`: flash, RAM and instructions per invoke of the compiled model."""
    if getattr(args, "adb", None) is not None:  # a phone over adb: platforms/adb.py
        from edgerun.platforms.adb import bench_adb_cli

        return bench_adb_cli(args)
    if args.target == "host":
        raise EdgerunError("bench --target host: `edgerun bench MODEL` times the desktop interpreter; --target "
                           "measures the emulated boards")
    with tempfile.TemporaryDirectory(prefix="edgerun-bench-") as tmp:
        project = _project(args, tmp)
        step, _ = _steps_from_inputs(project.plan, {}, args.model)
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
