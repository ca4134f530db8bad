"""Microcontroller benchmark: the reference models (tests/platforms/mcu_models.py) compiled for every board
and run under qemu: instructions per invoke (counted by the emulator), flash (model code and weights apart)
and RAM (arena, stack high-water mark, model total), beside TFLite Micro's arena for the same model.
Instructions, not time: qemu models no cycles, so the figures compare code paths, not clock speeds.

    python benchmarks/mcu_boards.py [--json out.json] [--boards cortex-m4,cortex-m55] [--models kws]

Prints a Markdown table (the README's) and optionally writes every figure as JSON.
"""
import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests"), os.path.join(HERE, "..", "tests", "platforms")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import mcu_models as mm  # noqa: E402

MODELS = {"kws": ("KWS DS-CNN int8", mm.kws_cnn_int8),
          "mobilenet": ("MobileNetV1 0.25 96 int8", mm.mobilenet_v1_025_96_int8)}
BOARDS = ("cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55", "riscv32")


def measure(model: bytes, target: str) -> dict:
    import numpy as np

    from edgerun.platforms.codegen import compile_model
    from edgerun.platforms.codegen.runner import run_project

    with tempfile.TemporaryDirectory(prefix="edgerun-mcu-bench-") as tmp:
        project = compile_model(model, target, tmp, name="net")
        sp = project.plan.main
        rng = np.random.default_rng(0)
        step = [rng.integers(-128, 128, sp.tensors[i].shape).astype(np.int8) for i in sp.inputs]
        r = run_project(project, [step, step])
    m = r.memory
    return dict(instructions=r.instructions[-1], code_bytes=m["code_bytes"], weight_bytes=m["weight_bytes"],
                record_bytes=m["record_bytes"], flash_bytes=m["flash_bytes"], arena_bytes=m["arena_bytes"],
                stack_bytes=m["stack_bytes"], model_ram_bytes=m["model_ram_bytes"], ram_bytes=m["ram_bytes"])


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--boards", default=",".join(BOARDS))
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args(argv)
    rows = []
    for key in args.models.split(","):
        title, make = MODELS[key]
        model = make()
        try:
            tflm = mm.tflm_arena_bytes(model)
        except Exception as exc:  # noqa: BLE001 - the comparison is optional; say why it is missing
            print(f"(TFLite Micro arena unavailable: {exc})", file=sys.stderr)
            tflm = None
        for board in args.boards.split(","):
            r = measure(model, board)
            r.update(model=title, board=board, tflm_arena_bytes=tflm)
            rows.append(r)
            print(f"  {title} on {board}: {r['instructions']:,} instructions", file=sys.stderr)
    print("| model | board | instructions / invoke | code B | weights B | arena B | stack B | RAM B "
          "(model) | TFLM arena B | RAM / TFLM |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        tflm = r["tflm_arena_bytes"]
        ratio = f"{r['model_ram_bytes'] / tflm:.2f}x" if tflm else "n/a"
        print(f"| {r['model']} | {r['board']} | {r['instructions']:,} | {r['code_bytes']:,} | "
              f"{r['weight_bytes']:,} | {r['arena_bytes']:,} | {r['stack_bytes']:,} | {r['model_ram_bytes']:,} | "
              f"{f'{tflm:,}' if tflm else 'n/a'} | {ratio} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
