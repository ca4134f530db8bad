"""The bundled digits classifier on a microcontroller, end to end:

  1. convert examples/digits/digits_cnn.keras to full int8 with edgerun (calibrated on its 200 images);
  2. compile it for a Cortex-M4 (`edgerun.compile`: a C project with const weights, one static arena, no heap);
  3. build it with arm-none-eabi-gcc and run it under qemu (MPS2-AN386 board, files through semihosting)
     on 20 test images;
  4. compare with the desktop interpreter (bit for bit) and with the labels;
  5. print the memory table (flash: code, weights, records; RAM: arena, variables, stack) and the
     instructions per invoke counted by the emulator.

Needs the cross compiler and qemu (`bash platforms/mcu/install.sh`, which `make test` runs). Writes the
C project to examples/mcu/out/digits_m4/.  Usage: python examples/mcu/run.py [--target cortex-m4] [--images 20]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
DIGITS = HERE.parent / "digits"
OUT = HERE / "out"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="cortex-m4")
    ap.add_argument("--images", type=int, default=20)
    args = ap.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    import keras

    import edgerun
    from edgerun.platforms.codegen.runner import run_project

    model = keras.saving.load_model(DIGITS / "digits_cnn.keras", compile=False)
    data = np.load(DIGITS / "digits_data.npz")
    calib, xte, yte = data["calib_x"], data["test_x"][:args.images], data["test_y"][:args.images]
    tfl = edgerun.convert(model, quantize="int8", representative_data=[c[None] for c in calib],
                          input_type=np.int8, output_type=np.int8)
    OUT.mkdir(exist_ok=True)
    (OUT / "digits_int8.tflite").write_bytes(tfl)
    print(f"converted to int8: {len(tfl):,} B ({OUT / 'digits_int8.tflite'})")

    project = edgerun.compile(tfl, args.target, OUT / f"digits_{args.target}", name="digits")
    print(f"compiled for {args.target}: {project.dir}/ ({', '.join(project.plan.kernels())})")

    it = edgerun.Interpreter(model_content=tfl)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    scale, zp = inp["quantization"]
    xq = np.clip(np.round(xte / scale) + zp, -128, 127).astype(np.int8)
    steps = [[x[None]] for x in xq]
    desktop = []
    for s in steps:
        it.set_tensor(inp["index"], s[0])
        it.invoke()
        desktop.append(it.get_tensor(out["index"]))

    print(f"building with the cross compiler and running {len(steps)} images under qemu ...")
    result = run_project(project, steps)
    board = [o[0] for o in result.outputs]
    same = all(np.array_equal(a, b) for a, b in zip(board, desktop))
    acc = float(np.mean([int(np.argmax(o)) == int(y) for o, y in zip(board, yte)]))
    m = result.memory
    print()
    print(f"{args.target} vs desktop interpreter: {'identical, bit for bit' if same else 'DIFFERENT'} on "
          f"{len(steps)} images; top-1 on the board {acc * 100:.1f}%")
    print()
    print(f"{'memory on ' + args.target:<34}{'bytes':>10}")
    rows = [("flash: model code (kernels, executor)", m["code_bytes"]), ("flash: weights", m["weight_bytes"]),
            ("flash: tensor/op/param records", m["record_bytes"]),
            ("flash: C library, startup, runner", m["runtime_code_bytes"]), ("flash total", m["flash_bytes"]),
            ("RAM: arena", m["arena_bytes"]), ("RAM: variables", m["variable_bytes"]),
            ("RAM: stack (high-water mark)", m["stack_bytes"]), ("RAM: model total", m["model_ram_bytes"]),
            ("RAM: program total (incl. C library)", m["ram_bytes"])]
    for name, n in rows:
        print(f"  {name:<40}{n:>10,}")
    print(f"instructions per invoke (qemu count, not cycles): {int(np.median(result.instructions)):,}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
