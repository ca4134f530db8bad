"""`edgerun bench` and the profiler: latency of invoke() in edgerun and, in the same run, in LiteRT (its default
XNNPACK delegate and its builtin kernels), quoted as ratios with their direction; and per-op time.

    stats = bench_model("kws.tflite", runs=100)          # prints the table, returns a dict (also --json)
    for row in profile("kws.tflite")[:5]: print(row)     # slowest ops first

The profiler runs each op record alone between two clock reads (perf_counter), so its total is a little above
a plain invoke's; shares are of the profiled total."""
from __future__ import annotations

import dataclasses
import json
import os
import statistics
import time

import numpy as np

from edgerun.runtime.staged import StagedGraph

LITERT_XNNPACK = "LiteRT (XNNPACK)"
LITERT_BUILTIN = "LiteRT (builtin)"


def random_inputs(details, seed=0):
    """Deterministic inputs for the given input details: uniform(-1, 1) floats, integers over their range."""
    rng = np.random.default_rng(seed)
    out = []
    for d in details:
        shape = tuple(int(s) for s in d["shape"])
        dt = np.dtype(d["dtype"])
        if dt.kind == "f":
            out.append(rng.uniform(-1, 1, shape).astype(dt))
        elif dt == np.bool_:
            out.append(rng.integers(0, 2, shape).astype(bool))
        elif dt.kind == "S":  # STRING: words of 0 to 8 lowercase letters
            n = int(np.prod(shape, dtype=np.int64))
            words = [bytes(rng.integers(97, 123, rng.integers(0, 9)).astype(np.uint8)) for _ in range(n)]
            out.append(np.array(words, dtype=object).reshape(shape))
        else:
            info = np.iinfo(dt)
            out.append(rng.integers(info.min, int(info.max) + 1, shape, dtype=np.int64).astype(dt))
    return out


def _feed(it, inputs=None):
    it.allocate_tensors()
    details = it.get_input_details()
    for d, x in zip(details, inputs if inputs is not None else random_inputs(details)):
        it.set_tensor(d["index"], x)


def time_interpreter(it, runs=50, warmup=5, inputs=None, bar=None) -> list[float]:
    """Seconds per invoke() over `runs` runs after `warmup` untimed ones (bar: a progress bar to advance,
    outside the timed region)."""
    _feed(it, inputs)
    for _ in range(warmup):
        it.invoke()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t0)
        if bar is not None:
            bar.update()
    return times


def summarize(times) -> dict:
    """min / median / p90 / p99 / mean in milliseconds (percentiles by nearest rank)."""
    s = sorted(times)

    def pct(p):
        return s[min(len(s) - 1, max(0, int(np.ceil(p / 100 * len(s))) - 1))] * 1e3

    return {"min_ms": s[0] * 1e3, "median_ms": statistics.median(s) * 1e3, "p90_ms": pct(90), "p99_ms": pct(99),
            "mean_ms": statistics.fmean(s) * 1e3, "runs": len(s)}


def ratio_text(ours: float, theirs: float, peer: str) -> str:
    """'edgerun 1.66x slower than LiteRT (XNNPACK)' from two medians (the direction written out)."""
    if ours <= theirs:
        return f"edgerun {theirs / ours:.2f}x faster than {peer}"
    return f"edgerun {ours / theirs:.2f}x slower than {peer}"


# -- profile -------------------------------------------------------------------------------------------

@dataclasses.dataclass
class OpTime:
    position: int          # place in execution order
    index: int             # operator index in the model's main subgraph
    op: str                # op type
    kernel: str            # the kernel prepare chose ("python" for a Python custom op)
    input_shapes: list
    output_shapes: list
    ms: float              # mean time per invoke
    share: float           # of the profiled total

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def profile(model, runs: int = 20, warmup: int = 2, inputs=None) -> list[OpTime]:
    """Per-op time of `model` (a path, bytes or an Interpreter, allocated or not), slowest first."""
    import edgerun

    if isinstance(model, (str, os.PathLike)):
        it = edgerun.Interpreter(model_path=os.fspath(model), plan_cache=False)  # timed op by op: prepared
    elif isinstance(model, (bytes, bytearray, memoryview)):
        it = edgerun.Interpreter(model_content=bytes(model), plan_cache=False)
    else:
        it = model
    if runs < 1:
        raise ValueError(f"profile: runs must be at least 1, got {runs}")
    if getattr(it._main, "graph", None) is None or inputs is not None:
        _feed(it, inputs)
    it._main.uncache()  # a graph opened from the plan cache: prepared again, to time its records one by one
    for _ in range(warmup):
        it.invoke()
    graph = it._main.ensure()
    if isinstance(graph, StagedGraph):  # run-time-sized tensors: each stage's records, in order
        per: dict = {}
        for _ in range(runs):
            graph.invoke(per)
        parts = [(sp, per.get(st.start, [0.0] * len(sp.ops)))
                 for st, sp in ((st, graph.stage_records(st)) for st in graph.stages_run)]
    else:
        seconds = [0.0] * len(graph.plan.main.ops)
        for _ in range(runs):
            graph.exe.invoke(seconds)
        parts = [(graph.plan.main, seconds)]
    total = sum(sum(s) for _, s in parts) or 1.0

    def shapes(tensors, ids):
        return [list(tensors[i].shape) if i >= 0 and tensors[i].shape is not None else None for i in ids]

    rows = []
    for sp, seconds in parts:
        for op, s in zip(sp.ops, seconds):
            rows.append(OpTime(len(rows), op.index, op.op, op.kernel, shapes(sp.tensors, op.inputs),
                               shapes(sp.tensors, op.outputs), s / runs * 1e3, s / total))
    return sorted(rows, key=lambda r: -r.ms)


def format_profile(rows: list[OpTime], top: int = 20) -> list[str]:
    total = sum(r.ms for r in rows)
    lines = [f"per-op profile (edgerun; each op timed alone, mean per invoke; total {total:.3f} ms)",
             f"  {'op #':>5} {'op':<24} {'kernel':<26} {'output shape':<20} {'ms':>8} {'share':>7}"]
    for r in rows[:top]:
        shape = "x".join(map(str, r.output_shapes[0])) if r.output_shapes and r.output_shapes[0] else "-"
        lines.append(f"  {r.index:>5} {r.op[:24]:<24} {r.kernel[:26]:<26} {shape[:20]:<20} {r.ms:>8.4f} "
                     f"{r.share:>6.1%}")
    if len(rows) > top:
        rest = rows[top:]
        lines.append(f"  ... {len(rest)} more ops: {sum(r.ms for r in rest):.4f} ms "
                     f"({sum(r.share for r in rest):.1%})")
    by_type: dict[str, float] = {}
    for r in rows:
        by_type[r.op] = by_type.get(r.op, 0.0) + r.share
    lines.append("  by op type: " + ", ".join(f"{k} {v:.0%}" for k, v in
                                             sorted(by_type.items(), key=lambda kv: -kv[1])[:6]))
    return lines


# -- bench ---------------------------------------------------------------------------------------------

def _litert(path, threads, builtin):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kw = {"num_threads": threads}
    if builtin:
        kw["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    return Interpreter(model_path=path, **kw)


def bench_model(path, runs=50, warmup=5, threads=1, compare_litert=True, with_profile=False, top=20,
                as_json=False, out=print) -> dict:
    """Time `path` in edgerun and (unless compare_litert=False) in LiteRT, same inputs, same process; print a
    table (or one JSON object) and return the same data as a dict."""
    from edgerun import progress

    path = os.fspath(path)
    bar = progress.bar("bench", total=runs * (3 if compare_litert else 1), unit="run")
    with bar:
        result = _bench(path, runs, warmup, threads, compare_litert, bar)
    if with_profile:
        result["profile"] = [r.as_dict() for r in profile(result.pop("_it"), runs=max(1, min(runs, 20)), warmup=1)]
    result.pop("_it", None)
    if as_json:
        out(json.dumps(result, indent=1))
        return result
    _print(result, out, with_profile, top)
    return result


def _bench(path, runs, warmup, threads, compare_litert, bar) -> dict:
    import edgerun

    it = edgerun.Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    inputs = random_inputs(it.get_input_details())
    result = {"model": path, "runs": runs, "warmup": warmup, "threads": threads,
              "inputs": "random (seed 0): uniform(-1, 1) floats, integers over their range", "runtimes": {},
              "notes": []}
    result["runtimes"]["edgerun"] = summarize(time_interpreter(it, runs, warmup, inputs, bar))
    if compare_litert:
        try:
            import ai_edge_litert  # noqa: F401
        except ImportError:
            result["notes"].append("LiteRT (pip install ai-edge-litert) is not installed: edgerun alone")
        else:
            for name, builtin in ((LITERT_XNNPACK, False), (LITERT_BUILTIN, True)):
                try:
                    lit = _litert(path, threads, builtin)
                    times = time_interpreter(lit, runs, warmup, inputs, bar)
                except Exception as exc:  # noqa: BLE001 - LiteRT raises RuntimeError/ValueError; say which
                    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    result["notes"].append(f"{name} cannot run this model ({msg}): edgerun alone")
                    break
                result["runtimes"][name] = summarize(times)
    ours = result["runtimes"]["edgerun"]["median_ms"]
    result["ratios"] = {name: {"edgerun_over_peer": ours / r["median_ms"],
                               "text": ratio_text(ours, r["median_ms"], name)}
                        for name, r in result["runtimes"].items() if name != "edgerun"}
    result["_it"] = it
    return result


def _print(result, out, with_profile, top):
    path, runs, warmup, threads = result["model"], result["runs"], result["warmup"], result["threads"]
    ours = result["runtimes"]["edgerun"]["median_ms"]
    out(f"{path}: {runs} timed runs after {warmup} warm-up, {threads} thread{'s' if threads != 1 else ''}, "
        f"random inputs (seed 0)")
    out(f"  {'runtime':<18} {'min ms':>9} {'median ms':>10} {'p90 ms':>9} {'p99 ms':>9}")
    for name, s in result["runtimes"].items():
        out(f"  {name:<18} {s['min_ms']:>9.3f} {s['median_ms']:>10.3f} {s['p90_ms']:>9.3f} {s['p99_ms']:>9.3f}")
    for name, r in result["ratios"].items():
        out(f"  {r['text']} (median {ours:.3f} vs {result['runtimes'][name]['median_ms']:.3f} ms)")
    for note in result["notes"]:
        out(f"  note: {note}")
    if with_profile:
        for line in format_profile([OpTime(**r) for r in result["profile"]], top):
            out(line)
