"""The speed issue's benchmark suite in one run: each model in edgerun and in LiteRT (its default XNNPACK
delegate, the bar), same process, same inputs, one thread; two threads on MobileNetV2 224; load +
allocate_tensors(); peak memory. Prints the README's table (markdown) with the ratios' directions.

Run (an idle machine; about 5 minutes): python benchmarks/suite.py [--runs N] [--json FILE]

Models (random weights, no download; converted once with TensorFlow's converter into tests/.model_cache):
MobileNetV2 1.0 224 float32 and int8, MobileNetV1 0.25 96x96 int8, the keyword-spotting DS-CNN int8, the
LSTM+GRU classifier float32, and a BlazeFace-class face detector (128x128, float32 and int8).
int8 models are full-integer with int8 input and output.

Latency: `invoke()` timed alternately in rounds (edgerun, LiteRT, edgerun, ...) so both see the same machine
state; the median of all timed invokes. Load: median of fresh `Interpreter(model_path) + allocate_tensors()`;
edgerun's three ways: from its plan cache (runtime/plan_cache.py; a folder of this run's own), preparing (the
plan cache off), and the first load of a model file with the cache on ("first load": it prepares and starts
writing the cache file on a thread of its own; the clock stops when allocate_tensors() returns).
Memory: a fresh process per (runtime, model) that loads, allocates and invokes once: the peak resident set
(VmHWM) minus the resident set before loading (after imports), so it counts the arena, packed weights, the
model bytes and whatever else each runtime allocates for the model.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import pathlib
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests"), str(HERE)]
CACHE = HERE.parent / "tests" / ".model_cache"

# name -> (builder, quantization)
SUITE = ["mobilenet_v2_224-f32", "mobilenet_v2_224-int8", "mobilenet_v1_025_96-int8", "kws_dscnn-int8",
         "lstm_gru-f32", "face_detector-f32", "face_detector-int8"]
THREADS_MODELS = ["mobilenet_v2_224-f32", "mobilenet_v2_224-int8"]


def face_detector():
    """A BlazeFace-class detector (random weights): 128x128 RGB, a 5x5 stride-2 stem, single and double
    "BlazeBlocks" (depthwise 5x5 + pointwise, residual; stride 2 with max-pool and zero channel padding on the
    skip path), two heads (16x16 and 8x8 anchors: 2 and 6 per cell) of scores and 16 box/keypoint regressors,
    reshaped and concatenated: outputs (1, 896, 1) and (1, 896, 16) as MediaPipe's short-range model."""
    import keras
    import numpy as np
    from keras import layers

    keras.utils.set_random_seed(3)

    def block(x, out_ch, stride=1, mid=None):
        in_ch = x.shape[-1]
        h = x
        if stride == 2:
            h = layers.ZeroPadding2D(((1, 2), (1, 2)))(h)
        h = layers.DepthwiseConv2D(5, strides=stride, padding="valid" if stride == 2 else "same")(h)
        if mid is not None:  # double block: project to mid, relu, depthwise again
            h = layers.Conv2D(mid, 1)(h)
            h = layers.ReLU()(h)
            h = layers.DepthwiseConv2D(5, padding="same")(h)
        h = layers.Conv2D(out_ch, 1)(h)
        skip = layers.MaxPooling2D(2)(x) if stride == 2 else x
        if out_ch > in_ch:  # zero channels on the skip path (a PAD on the channel axis)
            pad = [[0, 0], [0, 0], [0, 0], [0, out_ch - in_ch]]
            skip = layers.Lambda(lambda t: keras.ops.pad(t, pad))(skip)
        return layers.ReLU()(layers.Add()([h, skip]))

    inp = keras.Input((128, 128, 3), batch_size=1, name="image")
    x = layers.Conv2D(24, 5, strides=2, padding="same", activation="relu")(inp)
    for ch in (24, 28, 32):
        x = block(x, ch)
    x = block(x, 36, stride=2)
    for ch in (42, 48, 56, 64, 72, 80, 88):
        x = block(x, ch)
    f16 = block(x, 96, stride=2)          # 16x16
    f8 = block(f16, 96, stride=2)         # 8x8
    for _ in range(4):
        f8 = block(f8, 96, mid=24)
    heads = []
    for f, anchors in ((f16, 2), (f8, 6)):
        cls = layers.Reshape((-1, 1))(layers.Conv2D(anchors, 1)(f))
        reg = layers.Reshape((-1, 16))(layers.Conv2D(anchors * 16, 1)(f))
        heads.append((cls, reg))
    scores = layers.Concatenate(axis=1, name="scores")([heads[0][0], heads[1][0]])
    boxes = layers.Concatenate(axis=1, name="boxes")([heads[0][1], heads[1][1]])
    m = keras.Model(inp, [scores, boxes])
    rng = np.random.default_rng(3)
    for layer in m.layers:  # small weights keep the activations of the deep residual stack in range
        w = layer.get_weights()
        if w:
            layer.set_weights([rng.normal(0, 0.5 / math.sqrt(max(1, a[..., 0].size if a.ndim > 1 else 1)),
                                          a.shape).astype(np.float32) for a in w])
    return m


def _keras(base):
    import keras

    if base == "mobilenet_v1_025_96":
        keras.utils.set_random_seed(0)
        return keras.applications.MobileNet(input_shape=(96, 96, 3), alpha=0.25, weights=None)
    if base == "face_detector":
        return face_detector()
    raise KeyError(base)


def model_path(name) -> pathlib.Path:
    import cold_start

    if name in cold_start.MODELS:
        return cold_start.model_path(name)
    path = CACHE / f"suite-{name}.tflite"
    if not path.exists():
        import numpy as np

        from networks import _calibration
        from oracle import tf_convert

        base, quant = name.rsplit("-", 1)
        k = _keras(base)
        if quant == "int8":
            data = tf_convert(k, quantize="int8", representative=_calibration(k, n=8),
                              input_type=np.int8, output_type=np.int8, cache=False)
        else:
            data = tf_convert(k, cache=False)
        CACHE.mkdir(exist_ok=True)
        path.write_bytes(data)
    return path


# -- measurements ------------------------------------------------------------------------------------------

def _edgerun(path, threads=1):
    import edgerun

    it = edgerun.Interpreter(model_path=str(path), num_threads=threads)
    it.allocate_tensors()
    return it


def _edgerun_prepared(path, threads=1):
    import edgerun

    it = edgerun.Interpreter(model_path=str(path), num_threads=threads, plan_cache=False)
    it.allocate_tensors()
    return it


def _litert(path, threads=1):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=threads)
    it.allocate_tensors()
    return it


LOADERS = {"edgerun": _edgerun, "litert": _litert}


def _ready(it):
    from oracle import random_inputs

    for d, x in zip(it.get_input_details(), random_inputs(it.get_input_details())):
        it.set_tensor(d["index"], x)
    for _ in range(3):
        it.invoke()
    return it


def latency_ms(path, runs, threads=1) -> dict:
    """Median invoke time of each runtime, timed alternately in rounds of 5 invokes."""
    its = {name: _ready(load(path, threads)) for name, load in LOADERS.items()}
    times = {name: [] for name in its}
    for _ in range(max(1, runs // 5)):
        for name, it in its.items():
            for _ in range(5):
                t = time.perf_counter()
                it.invoke()
                times[name].append(time.perf_counter() - t)
    return {name: statistics.median(v) * 1e3 for name, v in times.items()}


def load_ms(path, runs) -> dict:
    """Median load of each runtime: edgerun from its plan cache ("edgerun"), edgerun preparing ("prepared"),
    LiteRT; and edgerun's first load with an empty cache (prepare; the cache file is written on a thread
    meanwhile; median of 3)."""
    from edgerun.runtime import plan_cache

    out = {}
    for name, load in dict(LOADERS, prepared=_edgerun_prepared).items():
        load(path)
        plan_cache.wait()
        t = []
        for _ in range(runs):
            gc.collect()
            s = time.perf_counter()
            it = load(path)
            t.append(time.perf_counter() - s)
            del it
        out[name] = statistics.median(t) * 1e3
    t = []
    for _ in range(3):
        plan_cache.clear()
        gc.collect()
        s = time.perf_counter()
        it = _edgerun(path)
        t.append(time.perf_counter() - s)
        plan_cache.wait()
        del it
    out["first"] = statistics.median(t) * 1e3
    return out


def _status_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def _memory_child(runtime, path):
    import numpy  # noqa: F401 - imports before the baseline
    if runtime == "edgerun":
        import edgerun  # noqa: F401
        from edgerun.runtime import materialize  # noqa: F401
    else:
        import ai_edge_litert.interpreter  # noqa: F401
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM to the current resident set
        f.write("5")
    base = _status_kb("VmRSS")
    it = _ready(LOADERS[runtime](path))
    print(json.dumps({"peak_kb": _status_kb("VmHWM") - base}))
    del it


def memory_mb(path) -> dict:
    out = {}
    for runtime in LOADERS:
        r = subprocess.run([sys.executable, __file__, "--memory-child", runtime, str(path)], capture_output=True,
                           text=True, check=True)
        out[runtime] = json.loads(r.stdout.strip().splitlines()[-1])["peak_kb"] / 1024
    return out


def ratio_text(ours, theirs, what="slower", other="faster"):
    r = ours / theirs
    return f"{r:.2f}x {what}" if r > 1 else f"{1 / r:.2f}x {other}"


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100, help="timed invokes per runtime and model (default 100)")
    ap.add_argument("--load-runs", type=int, default=7)
    ap.add_argument("--models", nargs="*", default=SUITE, choices=SUITE)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        return _memory_child(*args.memory_child)
    import platform
    import tempfile

    # the plan cache in a folder of this run's own (the memory children inherit it)
    os.environ["EDGERUN_CACHE_DIR"] = tempfile.mkdtemp(prefix="edgerun-suite-cache-")
    os.environ.pop("EDGERUN_PLAN_CACHE", None)
    rows = {}
    for name in args.models:
        path = model_path(name)
        rows[name] = {"latency_ms": latency_ms(path, args.runs), "load_ms": load_ms(path, args.load_runs),
                      "memory_mb": memory_mb(path)}
        if name in THREADS_MODELS:
            rows[name]["latency_2t_ms"] = latency_ms(path, args.runs, threads=2)
        print(f"{name}: {json.dumps(rows[name])}", file=sys.stderr, flush=True)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"edgerun vs LiteRT {_litert_version()} (default XNNPACK delegate), {cpu}, {os.cpu_count()} cores; "
          f"latency: median of {args.runs} invokes, one thread; load: Interpreter + allocate_tensors(), median of "
          f"{args.load_runs} (edgerun from its plan cache; preparing, with the cache off; the first load, which "
          f"prepares and starts writing the cache file, median of 3); memory: peak resident set of a fresh process that loads "
          f"and invokes.\n")
    print("| model | edgerun ms | LiteRT ms | latency | load ms (edgerun cached / LiteRT) | edgerun preparing / "
          "first load ms | peak MB (edgerun / LiteRT) |")
    print("|---|---:|---:|---|---|---|---|")
    for name, r in rows.items():
        e, x = r["latency_ms"]["edgerun"], r["latency_ms"]["litert"]
        le, lx = r["load_ms"]["edgerun"], r["load_ms"]["litert"]
        lp, lf = r["load_ms"]["prepared"], r["load_ms"]["first"]
        me, mx = r["memory_mb"]["edgerun"], r["memory_mb"]["litert"]
        print(f"| {name} | {e:.3f} | {x:.3f} | edgerun {ratio_text(e, x)} | {le:.2f} / {lx:.2f} "
              f"({ratio_text(le, lx)}) | {lp:.1f} ({ratio_text(lp, lx)}) / {lf:.1f} | {me:.1f} / {mx:.1f} "
              f"({ratio_text(me, mx, 'more', 'less')}) |")
    for kind in ("f32", "int8"):
        rs = [r["latency_ms"]["edgerun"] / r["latency_ms"]["litert"] for n, r in rows.items() if n.endswith(kind)]
        if rs:
            print(f"\n{kind}: geometric mean of edgerun/LiteRT latency {geomean(rs):.2f} "
                  f"(bar: {'0.9' if kind == 'f32' else '1.0'}), worst {max(rs):.2f} (bar 1.3)", end="")
    print()
    for name in THREADS_MODELS:
        if name in rows and "latency_2t_ms" in rows[name]:
            one, two = rows[name]["latency_ms"], rows[name]["latency_2t_ms"]
            print(f"{name} on 2 threads: edgerun {ratio_text(two['edgerun'], one['edgerun'])} than on one "
                  f"({two['edgerun']:.3f} ms; bar: 1.70x faster), LiteRT {ratio_text(two['litert'], one['litert'])} "
                  f"({two['litert']:.3f} ms)")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))


def _litert_version():
    try:
        from importlib.metadata import version

        return version("ai-edge-litert")
    except Exception:  # noqa: BLE001
        return "?"


if __name__ == "__main__":
    main()
