"""Build a generated project for its target and run it on inputs: natively for `host`, under qemu for the
microcontroller targets (platforms/mcu). What `edgerun run/bench --target` and the tests use.

    result = run_project(project, [[x_step0], [x_step1], ...])   # steps, each a list with one array per input
    result.outputs[step][j], result.instructions (per invoke, emulated targets), result.memory
"""
from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import numpy as np

from edgerun.errors import BuildError, EmulationError, ShapeError
from edgerun.runtime.ops import TFLITE_DTYPES


@dataclasses.dataclass
class RunResult:
    outputs: list                 # per step: list of arrays, one per model output
    instructions: list            # per invoke (emulated targets; empty on host)
    memory: dict                  # flash/RAM figures (emulated targets), arena and variable bytes
    stdout: str = ""


def _io(plan, which):
    sp = plan.main
    return [sp.tensors[i] for i in (sp.inputs if which == "in" else sp.outputs)]


def build_project(project, out_dir=None, opt: str = "-O2") -> Path:
    """The runner executable/ELF of a project (built into out_dir, default the project's build/)."""
    out = Path(out_dir or project.dir / "build")
    out.mkdir(parents=True, exist_ok=True)
    srcs, incs = project.paths()
    srcs = srcs + [project.dir / f"{project.name}_main.c"]
    if project.target == "host":
        exe = out / f"{project.name}_run"
        cmd = ["cc", "-std=c11", opt, "-Wall", "-ffunction-sections", "-fdata-sections",
               *[f"-I{i}" for i in incs], f"-I{project.dir}", *map(str, srcs), "-Wl,--gc-sections", "-lm",
               "-o", str(exe)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise BuildError(f"building {project.name} for host failed: {' '.join(cmd)}\n{done.stderr[-4000:]}")
        return exe
    from edgerun.platforms import mcu

    return mcu.build(project.target, srcs, [*incs, project.dir], out, defines=("ER_MCU",), opt=opt,
                     name=project.name)


def run_project(project, steps: list, out_dir=None, timeout: float = 600.0, exe=None) -> RunResult:
    """Run the project's model once per step (each step: one array per input); outputs per step."""
    plan = project.plan
    ins, outs = _io(plan, "in"), _io(plan, "out")
    work = Path(out_dir or project.dir / "run")
    work.mkdir(parents=True, exist_ok=True)
    for i, t in enumerate(ins):
        dt = TFLITE_DTYPES[t.type]
        with open(work / f"in{i}.bin", "wb") as f:
            for k, step in enumerate(steps):
                x = np.asarray(step[i])
                if x.dtype != dt or x.shape != tuple(t.shape):
                    raise ShapeError(f"step {k}: input {i} '{t.name}' must be {dt} {tuple(t.shape)}, got "
                                     f"{x.dtype} {x.shape}")
                f.write(np.ascontiguousarray(x).tobytes())
    for j in range(len(outs)):
        (work / f"out{j}.bin").unlink(missing_ok=True)
    exe = exe or build_project(project)
    memory = {"arena_bytes": plan.arena_bytes, "variable_bytes": sum(v.nbytes for v in plan.variables)}
    instructions = []
    if project.target == "host":
        done = subprocess.run([str(exe)], cwd=work, capture_output=True, text=True, timeout=timeout)
        stdout = done.stdout
        if done.returncode != 0:
            raise EmulationError(f"{project.name} on host exited with {done.returncode}: {stdout.strip()}")
    else:
        from edgerun.platforms import mcu

        r = mcu.run(project.target, exe, cwd=work, timeout=timeout)
        stdout = r.stdout
        instructions = list(r.spans[0::2])  # marks bracket each invoke: spans alternate invoke / I/O
        memory.update(mcu.sizes(project.target, exe))
        memory["stack_bytes"] = r.stack_bytes
    results = [[] for _ in steps]
    for j, t in enumerate(outs):
        dt = TFLITE_DTYPES[t.type]
        data = np.fromfile(work / f"out{j}.bin", dtype=dt)
        per = t.count
        if data.size != per * len(steps):
            raise EmulationError(f"out{j}.bin holds {data.size} values, expected {per} x {len(steps)} steps")
        for k in range(len(steps)):
            results[k].append(data[k * per:(k + 1) * per].reshape(t.shape))
    return RunResult(results, instructions, memory, stdout)
