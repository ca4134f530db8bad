"""Build a generated project for its target and run it on inputs: natively for `host`, under qemu for the
microcontroller targets (platforms/mcu). What `edgerun run/bench --target` and the tests use.

    result = run_project(project, [[x_step0], [x_step1], ...])   # steps, each a list with one array per input
    result.outputs[step][j], result.instructions (per invoke, emulated targets), result.memory
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
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


def build_project(project, out_dir=None, opt: str = "-O2", sanitize: bool = False) -> Path:
    """The runner executable/ELF of a project (built into out_dir, default the project's build/); on the host,
    sanitize=True builds it under AddressSanitizer and UndefinedBehaviorSanitizer (any report fails the run)."""
    out = Path(out_dir or project.dir / "build")
    out.mkdir(parents=True, exist_ok=True)
    srcs, incs = project.paths()
    srcs = srcs + [project.dir / f"{project.name}_main.c"]
    if project.target == "host":
        exe = out / f"{project.name}_run"
        san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g"] if sanitize else []
        base = ["cc", "-std=c11", opt, *san, "-Wall", "-ffunction-sections", "-fdata-sections",
                *[f"-I{i}" for i in incs], f"-I{project.dir}"]
        objs = []
        for k, src in enumerate(srcs):
            objs.append(str(out / f"{k:02d}_{src.stem}.o"))
            _compile(project, base, src, objs[-1])
        _check(project, ["cc", *san, *objs, "-Wl,--gc-sections", "-lm", "-o", str(exe)])
        return exe
    from edgerun.platforms import mcu

    # The model and its kernels first become one relocatable object, so that the link map tells their code
    # and constants apart from the C library's and the board runtime's (model_sizes).
    t = mcu.get_target(project.target)
    obj = out / f"{project.name}_model.o"
    objs = []
    for k, src in enumerate(srcs[:-1]):
        o = out / f"{k:02d}_{src.stem}.o"
        _compile(project, [t.gcc, *t.cpu_flags, *t.libc_flags[:1], *mcu.COMMON_CFLAGS, opt,
                           *[f"-I{i}" for i in incs], f"-I{project.dir}"], src, o)
        objs.append(str(o))
    _check(project, [t.gcc, *t.cpu_flags, "-nostdlib", "-r", "-o", str(obj), *objs])
    return mcu.build(project.target, [obj, srcs[-1]], [*incs, project.dir], out, defines=("ER_MCU",), opt=opt,
                     name=project.name)


def _check(project, cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"building {project.name} for {project.target} failed: {' '.join(cmd)}\n"
                         f"{done.stderr[-4000:]}")


def _compile(project, base, src, obj):
    """`base -c src -o obj`. With EDGERUN_OBJECT_CACHE naming a folder (the tests set it: every generated
    project carries the same kernel sources), an object is taken from there when the same compiler command
    has compiled the same preprocessed text before (keyed like ccache's preprocessor mode, with the project's
    folder taken out of the text and the flags), else compiled and stored."""
    cache = os.environ.get("EDGERUN_OBJECT_CACHE")
    cmd = [*base, "-c", str(src), "-o", str(obj)]
    if not cache:
        return _check(project, cmd)
    pre = subprocess.run([*base, "-E", str(src)], capture_output=True)
    if pre.returncode != 0:
        return _check(project, cmd)  # the compiler's own message
    here = str(project.dir).encode()
    key = hashlib.sha256(b"\0".join(a.encode().replace(here, b"") for a in base) + b"\0"
                         + pre.stdout.replace(here, b"")).hexdigest()
    hit = Path(cache) / f"{key}.o"
    if hit.exists():
        shutil.copyfile(hit, obj)
        return None
    _check(project, cmd)
    hit.parent.mkdir(parents=True, exist_ok=True)
    tmp = hit.with_suffix(f".{os.getpid()}.tmp")
    shutil.copyfile(obj, tmp)
    os.replace(tmp, hit)  # atomic: test workers share the folder
    return None


_MAP_LINE = re.compile(r"^ (\.[\w.$]+)\s*\n?\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)$", re.M)


def model_sizes(map_path: Path, obj_name: str) -> dict:
    """Bytes the linked program keeps of the model object, by kind: code (.text), weights
    (.rodata.er_weights), records (the other constants: tensor, op and params records, tables), data
    (.data: RAM and flash), bss (arena, variables)."""
    out = {"code": 0, "weights": 0, "records": 0, "data": 0, "bss": 0}
    text = Path(map_path).read_text()
    start = text.find("Linker script and memory map")
    for sec, size, path in _MAP_LINE.findall(text[start:]):
        if not path.endswith(obj_name):
            continue
        n = int(size, 16)
        if sec.startswith(".text"):
            out["code"] += n
        elif sec.startswith(".rodata.er_weights"):
            out["weights"] += n
        elif sec.startswith(".rodata"):
            out["records"] += n
        elif sec.startswith(".data"):
            out["data"] += n
        elif sec.startswith(".bss") or sec.startswith("COMMON"):
            out["bss"] += n
    return out


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
        sizes = mcu.sizes(project.target, exe)
        model = model_sizes(Path(exe).with_suffix(".map"), f"{project.name}_model.o")
        memory.update(
            flash_bytes=sizes["flash"], ram_bytes=sizes["ram"] - sizes["stack"] + r.stack_bytes,
            code_bytes=model["code"], weight_bytes=model["weights"], record_bytes=model["records"],
            runtime_code_bytes=sizes["text"] - model["code"], stack_bytes=r.stack_bytes,
            data_bss_bytes=sizes["data"] + sizes["bss"] - plan.arena_bytes - memory["variable_bytes"],
            model_ram_bytes=model["data"] + model["bss"] + r.stack_bytes)
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
