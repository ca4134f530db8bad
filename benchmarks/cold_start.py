"""Cold start: `Interpreter(model_path) + allocate_tensors()` in edgerun and LiteRT (its default delegate and
BUILTIN_WITHOUT_DEFAULT_DELEGATES), same process, median of N fresh interpreters, with the ratio's direction.
edgerun twice: from its plan cache (runtime/plan_cache.py, in a folder of this run's own, written by the warm-up
load) and preparing (plan_cache=False: what the first load of a model file costs). The last two columns are a
fresh process each (median of 5): the imports (numpy excepted, which both need) plus the load, edgerun from its
cache and LiteRT's default - what an application pays at start.

Run: python benchmarks/cold_start.py [--runs N] [--profile MODEL] [--phases] [--cpu]
Models (random weights, no download; converted once with TensorFlow and kept in tests/.model_cache):
MobileNetV2 1.0 224 float32 and int8, the keyword-spotting DS-CNN int8, the LSTM+GRU classifier float32.
--phases splits edgerun's time into parse (Model), prepare (handlers, packing, planning) and materialize
(cffi records); --profile MODEL prints cProfile's top functions for that model. --cpu times process CPU time
instead of wall clock (steadier on a shared, loaded machine; both runtimes load on one thread here).
"""
from __future__ import annotations

import argparse
import gc
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]
CACHE = HERE.parent / "tests" / ".model_cache"

MODELS = ["mobilenet_v2_224-f32", "mobilenet_v2_224-int8", "kws_dscnn-int8", "lstm_gru-f32"]


def _keras(name):
    import keras

    from networks import NETWORKS

    if name.startswith("mobilenet_v2_224"):
        keras.utils.set_random_seed(0)
        return keras.applications.MobileNetV2(input_shape=(224, 224, 3), alpha=1.0, weights=None)
    return NETWORKS["kws_dscnn" if name.startswith("kws") else "recurrent"]()


def model_path(name) -> pathlib.Path:
    """The model's .tflite, converted on first use (TensorFlow's converter; full-integer int8 with int8 I/O)."""
    path = CACHE / f"cold_start-{name}.tflite"
    if not path.exists():
        import numpy as np

        from networks import _calibration
        from oracle import tf_convert

        k = _keras(name)
        if name.endswith("int8"):
            data = tf_convert(k, quantize="int8", representative=_calibration(k, n=4 if "224" in name else 16),
                              input_type=np.int8, output_type=np.int8, cache=False)
        else:
            data = tf_convert(k, cache=False)
        CACHE.mkdir(exist_ok=True)
        path.write_bytes(data)
    return path


def _edgerun(path):
    import edgerun

    it = edgerun.Interpreter(model_path=str(path))
    it.allocate_tensors()
    return it


def _edgerun_prepared(path):
    import edgerun

    it = edgerun.Interpreter(model_path=str(path), plan_cache=False)
    it.allocate_tensors()
    return it


def _fresh_child(runtime, path):
    """In a new process: import the runtime and load the model; prints the milliseconds."""
    import numpy  # noqa: F401 - both runtimes need it; its import is not theirs
    t = time.perf_counter()
    if runtime == "edgerun":
        _edgerun(path)
    else:
        _litert("xnnpack")(path)
    print(f"{(time.perf_counter() - t) * 1e3:.3f}")


def fresh_ms(runtime, path, runs=5) -> float:
    import subprocess

    out = [float(subprocess.run([sys.executable, __file__, "--fresh-child", runtime, str(path)], check=True,
                                capture_output=True, text=True).stdout.split()[-1]) for _ in range(runs)]
    return statistics.median(out)


def _litert(kind):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.AUTO if kind == "xnnpack" else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES

    def load(path):
        it = Interpreter(model_path=str(path), experimental_op_resolver_type=resolver, num_threads=1)
        it.allocate_tensors()
        return it
    return load


CLOCK = time.perf_counter


def median_ms(fn, path, runs):
    fn(path)  # warm: imports, kernel library, page cache (and edgerun's plan cache, written on a thread)
    if "edgerun" in sys.modules:
        from edgerun.runtime import plan_cache

        plan_cache.wait()
    times = []
    for _ in range(runs):
        gc.collect()
        t = CLOCK()
        it = fn(path)
        times.append(CLOCK() - t)
        del it
    return statistics.median(times) * 1e3


def phases_ms(path, runs):
    """edgerun's cold start split: parse, prepare (handlers, packing, planning), materialize (cffi)."""
    from edgerun.runtime.materialize import Executable
    from edgerun.runtime.model import Model, gc_paused
    from edgerun.runtime.prepare import Preparer, op_handler

    out = {"parse": [], "prepare": [], "materialize": []}
    for i in range(runs + 1):
        gc.collect()
        t0 = CLOCK()
        m = Model.from_path(str(path))
        for sg in m.subgraphs:
            for op in sg.ops:
                op_handler(op)
        t1 = CLOCK()
        sg = m.subgraphs[0]
        with gc_paused():  # as allocate_tensors() runs them (runtime/graph.py)
            plan = Preparer(m).prepare({j: tuple(sg.tensors[j].shape) for j in sg.inputs})
            t2 = CLOCK()
            Executable(plan, {})
            t3 = CLOCK()
        if i:
            out["parse"].append(t1 - t0)
            out["prepare"].append(t2 - t1)
            out["materialize"].append(t3 - t2)
    return {k: statistics.median(v) * 1e3 for k, v in out.items()}


def ratio_text(ours, theirs):
    r = ours / theirs
    return f"edgerun {r:.2f}x slower" if r > 1 else f"edgerun {1 / r:.2f}x faster"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--models", nargs="*", default=MODELS, choices=MODELS)
    ap.add_argument("--phases", action="store_true")
    ap.add_argument("--profile", choices=MODELS)
    ap.add_argument("--cpu", action="store_true", help="process CPU time instead of wall clock")
    ap.add_argument("--fresh-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.fresh_child:
        return _fresh_child(*args.fresh_child)
    import tempfile

    os.environ["EDGERUN_CACHE_DIR"] = tempfile.mkdtemp(prefix="edgerun-cold-start-")  # children inherit it
    os.environ.pop("EDGERUN_PLAN_CACHE", None)
    global CLOCK
    if args.cpu:
        CLOCK = time.process_time
    if args.profile:
        import cProfile
        import pstats

        path = model_path(args.profile)
        _edgerun(path)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(3):
            _edgerun(path)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        return
    paths = {m: model_path(m) for m in args.models}
    print(f"cold start: Interpreter(model_path) + allocate_tensors(), median of {args.runs} fresh runs "
          f"(ms, {'CPU time' if args.cpu else 'wall clock'})")
    head = (f"{'model':24} {'MB':>5} {'edgerun':>8} {'edgerun':>9} {'LiteRT':>8} {'LiteRT':>8}  "
            f"{'cached vs LiteRT default':26} {'preparing vs LiteRT default':28} {'new process: edgerun':>20} "
            f"{'LiteRT':>7}")
    print(head + "\n" + f"{'':24} {'':>5} {'cached':>8} {'preparing':>9} {'default':>8} {'builtin':>8}")
    for m, path in paths.items():
        e = median_ms(_edgerun, path, args.runs)
        ep = median_ms(_edgerun_prepared, path, args.runs)
        x = median_ms(_litert("xnnpack"), path, args.runs)
        b = median_ms(_litert("builtin"), path, args.runs)
        fe, fx = fresh_ms("edgerun", path), fresh_ms("litert", path)
        line = (f"{m:24} {path.stat().st_size / 1e6:5.1f} {e:8.2f} {ep:9.2f} {x:8.2f} {b:8.2f}  "
                f"{ratio_text(e, x):26} {ratio_text(ep, x):28} {fe:20.2f} {fx:7.2f}")
        if args.phases:
            ph = phases_ms(path, args.runs)
            line += "   [" + ", ".join(f"{k} {v:.2f}" for k, v in ph.items()) + "]"
        print(line, flush=True)


if __name__ == "__main__":
    main()
