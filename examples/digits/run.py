"""The main job on the bundled example (README's first command):

  1. load the trained Keras model (examples/digits/digits_cnn.keras) and its calibration/test split;
  2. convert it with edgerun to float32 and to int8 (calibrated on the 200 calibration images);
  3. report each model's size and top-1 accuracy on the 400 test images against the Keras model;
  4. run both in edgerun, and in LiteRT when it is installed (agreement between the two);
  5. benchmark invoke() latency in edgerun and LiteRT side by side.

No TensorFlow is needed: Keras runs on its numpy backend unless another one is configured. Models are
written to examples/digits/out/.
"""
from __future__ import annotations

import os
import pathlib
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "out"


def accuracy_keras(model, x, y):
    p = model.predict(x, batch_size=len(x), verbose=0)
    return float((np.argmax(p, 1) == y).mean()), p


def run_tflite(interpreter_cls, model: bytes, x, **kw):
    """Outputs of a .tflite classifier for every image, batched in one invoke."""
    it = interpreter_cls(model_content=model, **kw)
    inp = it.get_input_details()[0]
    it.resize_tensor_input(inp["index"], (len(x),) + tuple(x.shape[1:]))
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    out = it.get_output_details()[0]
    xs = x
    if np.dtype(inp["dtype"]) != np.float32:  # integer interface: quantize with the input's parameters
        scale, zp = inp["quantization"]
        info = np.iinfo(inp["dtype"])
        xs = np.clip(np.round(x / scale) + zp, info.min, info.max).astype(inp["dtype"])
    it.set_tensor(inp["index"], xs)
    it.invoke()
    y = it.get_tensor(out["index"])
    if np.dtype(out["dtype"]) != np.float32:
        scale, zp = out["quantization"]
        y = (y.astype(np.float32) - zp) * scale
    return y


def litert():
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        return None, None
    return Interpreter, dict(experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def main() -> int:
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    import keras

    import edgerun
    from edgerun.runtime.bench import bench_model

    model = keras.saving.load_model(HERE / "digits_cnn.keras", compile=False)
    data = np.load(HERE / "digits_data.npz")
    calib, xte, yte = data["calib_x"], data["test_x"], data["test_y"]
    print(f"edgerun {edgerun.__version__} · Keras {keras.__version__} ({keras.backend.backend()} backend)")
    print(f"digits: {len(calib)} calibration images, {len(xte)} test images")

    keras_acc, keras_probs = accuracy_keras(model, xte, yte)
    OUT.mkdir(exist_ok=True)
    models = {}
    t0 = time.perf_counter()
    models["float32"] = edgerun.convert(model)
    t1 = time.perf_counter()
    models["int8"] = edgerun.convert(model, quantize="int8", representative_data=[c[None] for c in calib])
    t2 = time.perf_counter()
    print(f"converted: float32 in {t1 - t0:.2f} s, int8 (with calibration) in {t2 - t1:.2f} s")

    lite_cls, lite_kw = litert()
    rows = []
    for name, tfl in models.items():
        path = OUT / f"digits_{name}.tflite"
        path.write_bytes(tfl)
        ours = run_tflite(edgerun.Interpreter, tfl, xte)
        acc = float((ours.argmax(1) == yte).mean())
        agree = float((ours.argmax(1) == keras_probs.argmax(1)).mean())
        row = dict(name=name, bytes=len(tfl), acc=acc, agree=agree, path=path)
        if lite_cls is not None:
            theirs = run_tflite(lite_cls, tfl, xte, **lite_kw)
            row["litert_acc"] = float((theirs.argmax(1) == yte).mean())
            row["litert_maxdiff"] = float(np.abs(ours - theirs).max())
        rows.append(row)

    print()
    print(f"{'model':<10} {'size (B)':>10} {'top-1':>8} {'Δ vs Keras':>11} {'= Keras top-1':>14} {'LiteRT top-1':>13} "
          f"{'max|edgerun-LiteRT|':>20}")
    print(f"{'keras':<10} {'':>10} {keras_acc * 100:>7.2f}% {'':>11} {'':>14}")
    for r in rows:
        lt = f"{r['litert_acc'] * 100:>12.2f}%" if "litert_acc" in r else f"{'n/a':>13}"
        md = f"{r['litert_maxdiff']:>20.3g}" if "litert_maxdiff" in r else f"{'n/a':>20}"
        print(f"{r['name']:<10} {r['bytes']:>10,} {r['acc'] * 100:>7.2f}% {(r['acc'] - keras_acc) * 100:>+10.2f}pt "
              f"{r['agree'] * 100:>13.2f}% {lt} {md}")
    f32 = rows[0]["bytes"]
    print(f"int8 file is {rows[1]['bytes'] / f32:.2f}x the float32 file")
    print("models written to " + ", ".join(str(r["path"]) for r in rows))

    print()
    for r in rows:
        print(f"benchmark {r['name']} (batch 1):")
        bench_model(str(r["path"]), runs=200, warmup=20, compare_litert=lite_cls is not None)
    ok = rows[0]["acc"] >= keras_acc - 1e-9 and rows[1]["acc"] >= keras_acc - 0.01
    print("\nOK" if ok else "\nWARNING: accuracy below the Keras model's")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
