"""`edgerun bench`: latency of invoke() in edgerun and, in the same run, in LiteRT (quoted as a ratio)."""
from __future__ import annotations

import statistics
import time

import numpy as np


def _inputs(details, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for d in details:
        shape = tuple(int(s) for s in d["shape"])
        dt = np.dtype(d["dtype"])
        if dt.kind == "f":
            out.append(rng.uniform(-1, 1, shape).astype(dt))
        else:
            info = np.iinfo(dt) if dt != np.bool_ else None
            out.append(rng.integers(0, 2, shape).astype(bool) if info is None else
                       rng.integers(info.min, int(info.max) + 1, shape, dtype=np.int64).astype(dt))
    return out


def time_interpreter(it, runs=50, warmup=5):
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), _inputs(it.get_input_details())):
        it.set_tensor(d["index"], x)
    for _ in range(warmup):
        it.invoke()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t0)
    return times


def bench_model(path, runs=50, warmup=5, compare_litert=True, out=print):
    import edgerun

    rows = []
    ours = time_interpreter(edgerun.Interpreter(model_path=path), runs, warmup)
    rows.append(("edgerun", ours))
    if compare_litert:
        try:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError:
            out("LiteRT (ai-edge-litert) is not installed: no comparison")
        else:
            rows.append(("LiteRT (XNNPACK)", time_interpreter(Interpreter(model_path=path), runs, warmup)))
            rows.append(("LiteRT (builtin)", time_interpreter(Interpreter(
                model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES),
                runs, warmup)))
    base = statistics.median(ours)
    out(f"{'runtime':<20} {'median ms':>10} {'p90 ms':>10} {'min ms':>10} {'edgerun/x':>10}")
    result = {}
    for name, ts in rows:
        med = statistics.median(ts)
        p90 = sorted(ts)[int(0.9 * (len(ts) - 1))]
        out(f"{name:<20} {med * 1e3:>10.3f} {p90 * 1e3:>10.3f} {min(ts) * 1e3:>10.3f} {base / med:>10.2f}")
        result[name] = med
    return result
