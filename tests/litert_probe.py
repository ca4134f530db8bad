"""Which ops LiteRT's builtin resolver (BUILTIN_WITHOUT_DEFAULT_DELEGATES) runs: for every BuiltinOperator of
schema/schema.fbs, and for the custom codes named below, a hand-built one-op model is given to LiteRT's
interpreter at versions 1, 2, ... until it answers "Didn't find op for builtin opcode" (not registered).

    python tests/litert_probe.py            # rewrites tests/oracle_ops.json
    python tests/litert_probe.py --check    # exit 1 when the file differs from what LiteRT says now

The result (tests/oracle_ops.json) is data for the op x type table of the docs and for tests:
  builtin: {op: [lowest, highest] registered version, or null when not registered}
  custom: {custom code: true/false}
Resolution happens when the interpreter is built, before any shape or type check, so the one-op models only
need a plausible tensor. Some kernels' Init crashes on such a model (LiteRT's Mfcc reads its options without a
check): probes run in a child process, and a crash after resolution counts as registered.
"""
from __future__ import annotations

import json
import pathlib
import sys

OUT = pathlib.Path(__file__).with_name("oracle_ops.json")
sys.path.insert(0, str(OUT.parent.parent))  # the repo root: edgerun importable when run as a script
RESOLVER = "BUILTIN_WITHOUT_DEFAULT_DELEGATES"
MAX_VERSION = 16
# custom ops LiteRT's builtin resolvers may register (the rest of the custom ops TensorFlow emits need Flex)
CUSTOM_CODES = ["AudioSpectrogram", "Mfcc", "TFLite_Detection_PostProcess", "MaxPoolingWithArgmax2D",
                "MaxUnpooling2D", "Convolution2DTransposeBias", "RandomUniform", "RandomStandardNormal",
                "Multinomial", "NumericVerify", "Densify"]
NOT_FOUND = ("Didn't find op for builtin opcode", "Didn't find custom op", "Encountered unresolved custom op")


def _model(name: str, version: int, custom: bool) -> bytes:
    import numpy as np
    from flatbuffers import flexbuffers

    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (2,), np.float32)
    y = b.tensor("y", (2,), np.float32)
    if custom:
        b.op("CUSTOM", [x], [y], custom_code=name, version=version, custom_options=flexbuffers.Dumps({}))
    else:
        b.op(name, [x], [y], version=version)
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def _child(jobs: list[str]) -> None:
    """Probe `jobs` ("B:NAME:VERSION" or "C:CODE:1"), printing "job<TAB>ok|missing|error <message>"."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    for job in jobs:
        kind, name, version = job.split(":")
        print(job, "start", sep="\t", flush=True)
        try:
            it = Interpreter(model_content=_model(name, int(version), kind == "C"),
                             experimental_op_resolver_type=getattr(OpResolverType, RESOLVER))
            if kind == "C":  # unresolved custom ops are reported at prepare, not when the interpreter is built
                it.allocate_tensors()
            res = "ok"
        except Exception as exc:  # noqa: BLE001 - any message LiteRT gives is data here
            msg = str(exc).replace("\n", " ")
            res = "missing" if any(m in msg for m in NOT_FOUND) else "error " + msg[:200]
        print(job, res, sep="\t", flush=True)


def _run_jobs(jobs: list[str]) -> dict[str, str]:
    """Run jobs in child processes (edgerun.schema.probe's runner: a child that dies mid-job marks that job)."""
    from edgerun.schema.probe import run_in_children

    return run_in_children([sys.executable, __file__], jobs)


def probe() -> dict:
    import importlib.metadata

    from edgerun.schema import schema_generated as fb

    skip = ("CUSTOM", "PLACEHOLDER_FOR_GREATER_OP_CODES")
    names = sorted(n for n in vars(fb.BuiltinOperator) if not n.startswith("_") and n not in skip)
    # versions 1..3 of every op (BROADCAST_TO starts at 2), then further versions while they resolve
    res = _run_jobs([f"B:{n}:{v}" for n in names for v in (1, 2, 3)])
    found = {n: [v for v in (1, 2, 3) if res[f"B:{n}:{v}"] != "missing"] for n in names}
    pending = {n: 4 for n in names if 3 in found[n]}
    while pending:
        res = _run_jobs([f"B:{n}:{v}" for n, v in pending.items()])
        for n, v in pending.items():
            if res[f"B:{n}:{v}"] != "missing":
                found[n].append(v)
        pending = {n: v + 1 for n, v in pending.items() if found[n][-1] == v and v < MAX_VERSION}
    builtin = {n: [min(v), max(v)] if v else None for n, v in found.items()}
    res = _run_jobs([f"C:{c}:1" for c in CUSTOM_CODES])
    custom = {c: res[f"C:{c}:1"] != "missing" for c in CUSTOM_CODES}
    return {
        "litert": importlib.metadata.version("ai-edge-litert"),
        "resolver": RESOLVER,
        "how": "tests/litert_probe.py: a one-op model per op and version; null = LiteRT's resolver registers "
               "no version of the op",
        "builtin": builtin,
        "custom": custom,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        _child(argv[1:])
        return 0
    data = probe()
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if argv[:1] == ["--check"]:
        if OUT.read_text() != text:
            print(f"{OUT} is out of date: run python tests/litert_probe.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    reg = sum(v is not None for v in data["builtin"].values())
    print(f"{OUT}: {reg} of {len(data['builtin'])} builtin ops registered; customs {data['custom']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
