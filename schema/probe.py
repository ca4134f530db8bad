"""Which (op, type) pairs a runtime runs: one hand-built one-op model per op of the op table (schema/ops.py) and
per type, given to edgerun's interpreter or to LiteRT's (BUILTIN_WITHOUT_DEFAULT_DELEGATES resolver). A pair
runs when the model prepares and invokes; any refusal is recorded with its message.

    python -m edgerun.schema.probe --litert     # rewrites schema/litert_ops.json (LiteRT 2.3's answers)
    python -m edgerun.schema.probe --edgerun    # prints the types edgerun runs per op
    python -m edgerun.schema.probe --write-runs # rewrites the op table's _RUNS (the types edgerun runs)

The type of a pair is the op's principal data type: input 0 for most ops, the value type for FILL/ONE_HOT/
SCATTER_ND/SPARSE_TO_DENSE/RANDOM_*, the params for EMBEDDING_LOOKUP, the value of a variable (one model
VAR_HANDLE -> ASSIGN_VARIABLE -> READ_VARIABLE), the keys of a hashtable, the operand IF/WHILE pass through.
int8/uint8/int16 tensors carry quantization (int16: zero point 0; fixed output parameters as the op table
says). CALL_ONCE and the ops LiteRT does not register (most StableHLO ops, three custom ops) have no recipe
(schema/probe_models.py).
LiteRT's probes run in child processes (some of its kernels abort on models they do not support).
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

from edgerun.schema.ops import OPS
from edgerun.schema.probe_models import _RECIPES, PROBE_TYPES, model, probe_types  # noqa: F401

LITERT_JSON = pathlib.Path(__file__).with_name("litert_ops.json")


def _invoke(it, feeds) -> str:
    """Allocate, feed, invoke and read every output of an interpreter of either runtime: 'ok' or it raises."""
    it.allocate_tensors()
    for det, v in zip(it.get_input_details(), feeds):
        it.set_tensor(det["index"], v)
    it.invoke()
    for det in it.get_output_details():
        it.get_tensor(det["index"])
    return "ok"


def run_edgerun(data: bytes, feeds) -> str:
    """'ok', or the refusal: 'ErrorClass: message'."""
    import edgerun

    try:
        it = edgerun.Interpreter(model_content=data)
        return _invoke(it, feeds)
    except Exception as exc:  # noqa: BLE001 - the refusal is the answer
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"


def run_litert(data: bytes, feeds) -> str:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        it = Interpreter(model_content=data,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        return _invoke(it, feeds)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


def jobs() -> list[tuple[str, str]]:
    return [(d.name, t) for d in OPS if d.name in _RECIPES for t in probe_types(d)]


def probe_edgerun() -> dict:
    """{op: {type: 'ok' | refusal}} for every op with a recipe."""
    out: dict = {}
    for op, t in jobs():
        built = model(op, t)
        if built is not None:
            out.setdefault(op, {})[t] = run_edgerun(*built)
    return out


def _child(keys: list[str]) -> None:
    for key in keys:
        op, t = key.split(":")
        print(key, "start", sep="\t", flush=True)
        built = model(op, t)
        res = "no model" if built is None else run_litert(*built)
        print(key, res, sep="\t", flush=True)


def outputs_of(it, feeds) -> list:
    """Every output of an interpreter of either runtime after one invoke (copies)."""
    _invoke(it, feeds)
    return [it.get_tensor(det["index"]) for det in it.get_output_details()]


def _child_outputs(folder: str, keys: list[str]) -> None:
    """LiteRT's outputs of each probe model, saved as folder/OP:TYPE.npz (arrays out0, out1, ...)."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    for key in keys:
        op, t = key.split(":")
        print(key, "start", sep="\t", flush=True)
        built = model(op, t)
        if built is None:
            print(key, "no model", sep="\t", flush=True)
            continue
        try:
            it = Interpreter(model_content=built[0],
                             experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            outs = outputs_of(it, built[1])
        except Exception as exc:  # noqa: BLE001 - the refusal is the answer
            print(key, f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}", sep="\t", flush=True)
            continue
        np.savez(pathlib.Path(folder) / f"{key}.npz", **{f"out{i}": np.asarray(a) for i, a in enumerate(outs)})
        print(key, "ok", sep="\t", flush=True)


def litert_outputs(keys: list[str], folder) -> dict:
    """{OP:TYPE: [LiteRT's output arrays] or its refusal text}, each batch in a child process."""
    import numpy as np

    answers = run_in_children([sys.executable, "-m", "edgerun.schema.probe", "--save-outputs", str(folder)], keys)
    out = {}
    for key, res in answers.items():
        if res == "ok":
            with np.load(pathlib.Path(folder) / f"{key}.npz", allow_pickle=True) as z:
                out[key] = [z[f"out{i}"] for i in range(len(z.files))]
        else:
            out[key] = res
    return out


def run_in_children(command: list[str], jobs: list[str]) -> dict[str, str]:
    """{job: answer} from `command + ["--child", *jobs]` child processes, which print "job<TAB>start" before
    a job and "job<TAB>answer" after it: a child that dies mid-job marks that job 'crashed (signal N)' and a
    new child goes on with the rest. Shared by this probe and tests/litert_probe.py."""
    results: dict[str, str] = {}
    todo = list(jobs)
    while todo:
        proc = subprocess.run([*command, "--child", *todo], capture_output=True, text=True, check=False)
        current = None
        for line in proc.stdout.splitlines():
            job, _, res = line.partition("\t")
            if res == "start":
                current = job
            else:
                results[job] = res
                current = None
        if current is not None:
            results[current] = f"crashed (signal {-proc.returncode})"
        todo = [j for j in todo if j not in results]
        if proc.returncode == 0 and todo:
            raise RuntimeError(f"probe child exited without answering {todo[:3]}: {proc.stderr[-500:]}")
    return results


def probe_litert() -> dict:
    """{op: {type: 'ok' | refusal}} from LiteRT, each batch in a child process (a crash marks the job)."""
    results = run_in_children([sys.executable, "-m", "edgerun.schema.probe"], [f"{op}:{t}" for op, t in jobs()])
    out: dict = {}
    for key, res in results.items():
        op, t = key.split(":")
        if res != "no model":
            out.setdefault(op, {})[t] = res
    return out


def write_runs() -> None:
    """Rewrite the _RUNS block of schema/ops.py: probed ops get the types edgerun runs now, the others keep
    their declared types (review the diff: a type that disappeared is a regression or a recipe change)."""
    from edgerun.schema.ops import TYPES

    answers = probe_edgerun()
    items = []
    for d in OPS:
        if d.name in answers:
            types = " ".join(t for t in TYPES if answers[d.name].get(t) == "ok")
        else:
            types = " ".join(d.types)
        if types:
            items.append(f'"{d.name}": "{types}", ')
    text, line = "_RUNS = {\n", "    "
    for it in items:
        if len(line) + len(it) > 111:
            text += line.rstrip() + "\n"
            line = "    "
        line += it
    text += line.rstrip() + "\n}\n"
    path = pathlib.Path(__file__).with_name("ops.py")
    src = path.read_text()
    start = src.index("_RUNS = {\n")
    end = src.index("\n}\n", start) + 3
    path.write_text(src[:start] + text + src[end:])


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        _child(argv[1:])
        return 0
    if argv[:1] == ["--save-outputs"] and argv[2:3] == ["--child"]:
        _child_outputs(argv[1], argv[3:])
        return 0
    if argv[:1] == ["--litert"]:
        import importlib.metadata

        data = {"litert": importlib.metadata.version("ai-edge-litert"),
                "resolver": "BUILTIN_WITHOUT_DEFAULT_DELEGATES",
                "how": "schema/probe.py: one hand-built one-op model per (op, type); 'ok' = prepared and "
                       "invoked, else LiteRT's refusal",
                "ops": probe_litert()}
        LITERT_JSON.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        runs = sum(v == "ok" for r in data["ops"].values() for v in r.values())
        print(f"{LITERT_JSON}: {runs} (op, type) pairs run of {sum(len(r) for r in data['ops'].values())}")
        return 0
    if argv[:1] == ["--edgerun"]:
        for op, res in probe_edgerun().items():
            print(op, " ".join(t for t, v in res.items() if v == "ok"), sep="\t")
        return 0
    if argv[:1] == ["--write-runs"]:
        write_runs()
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
