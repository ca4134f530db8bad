"""`edgerun convert SOURCE -o OUT.tflite [--quantize MODE] [--calibration DATA] [--input-type T]
[--output-type T] [--report]` (added to the `edgerun` command by edgerun/cli.py)."""
from __future__ import annotations

import os

import numpy as np

from edgerun.errors import ConversionError

MODES = ["float16", "dynamic", "int8", "int16x8"]
IO_TYPES = ["float32", "int8", "uint8", "int16"]


def add_parser(sub):
    p = sub.add_parser("convert", help="convert a Keras (.keras/.h5), SavedModel or ONNX model to .tflite")
    p.add_argument("source", help="a .keras or .h5 file, a SavedModel directory, an .onnx file, or a float "
                                  ".tflite to quantize (--quantize)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.tflite")
    p.add_argument("--quantize", choices=MODES, default=None,
                   help="float16 weights, dynamic-range int8 weights, full int8, or int16 activations x int8 weights")
    p.add_argument("--calibration", metavar="DATA.npy|.npz",
                   help="representative inputs for int8/int16x8: a .npy array whose first axis runs over samples "
                        "(one-input models), or a .npz with one such array per input name")
    p.add_argument("--input-type", choices=IO_TYPES, default=None, help="interface type of a full-integer model")
    p.add_argument("--output-type", choices=IO_TYPES, default=None, help="interface type of a full-integer model")
    p.add_argument("--input-shape", action="append", metavar="NAME=D,D,...",
                   help="ONNX: fix an input's dynamic dimensions (-1 keeps one dynamic); repeat per input")
    p.add_argument("--set-input", action="append", metavar="NAME=VALUE[,VALUE...]|NAME=FILE.npy",
                   help="ONNX: make an input a constant (e.g. a sample rate) so what depends on it folds")
    p.add_argument("--no-optimize", action="store_true", help="skip the graph passes (BN folding, fusion, ...)")
    p.add_argument("--report", action="store_true", help="print sizes (and, when quantizing, the accuracy report)")
    p.set_defaults(fn=cmd_convert)
    return p


def load_calibration(path: str):
    if not os.path.exists(path):
        raise ConversionError(f"no such calibration file: {path!r}")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise ConversionError(f"cannot read calibration data {path!r}: {exc}") from None
    if isinstance(data, np.ndarray):
        return data
    with data:
        return {k: data[k] for k in data.files}


def _pairs(specs, option: str) -> dict:
    from edgerun.cli import name_value_pairs

    return name_value_pairs(specs, option)


def parse_input_shapes(specs) -> dict:
    """--input-shape x=1,3,320,320 -> {"x": (1, 3, 320, 320)}."""
    shapes = {}
    for name, value in _pairs(specs, "--input-shape").items():
        try:
            shapes[name] = tuple(int(d) for d in value.split(","))
        except ValueError:
            raise ConversionError(f"--input-shape {name}={value}: expected integers separated by commas") from None
    return shapes


def parse_set_inputs(specs) -> dict:
    """--set-input sr=16000 / v=0.5,1 / x=x.npy -> {name: numpy value}."""
    values = {}
    for name, value in _pairs(specs, "--set-input").items():
        if value.endswith(".npy"):
            values[name] = load_calibration(value) if os.path.exists(value) else None
            if values[name] is None:
                raise ConversionError(f"--set-input {name}: no such file {value!r}")
            continue
        try:
            nums = [float(v) for v in value.split(",")]
        except ValueError:
            raise ConversionError(f"--set-input {name}={value}: expected numbers separated by commas or a "
                                  f".npy file") from None
        arr = np.array(nums)
        if np.all(arr == np.round(arr)) and "." not in value and "e" not in value.lower():
            arr = arr.astype(np.int64)
        values[name] = arr[0] if arr.size == 1 else arr
    return values


def _size(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path)


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def cmd_convert(args) -> int:
    import sys

    from edgerun.converter.api import convert_graph, random_samples, representative_samples
    from edgerun.converter.export import export

    if args.calibration and args.quantize not in ("int8", "int16x8"):
        print(f"edgerun convert: warning: --calibration is ignored without --quantize int8 or int16x8 (quantize: "
              f"{args.quantize or 'none'})", file=sys.stderr)
        args.calibration = None

    calibration = load_calibration(args.calibration) if args.calibration else None
    optimize = not args.no_optimize
    fixed = {"input_shapes": parse_input_shapes(args.input_shape), "constant_inputs": parse_set_inputs(args.set_input)}
    need_float = args.report and args.quantize is not None
    float_graph = None
    if need_float:  # the float model: the report compares against it; frontends run once
        float_graph = convert_graph(args.source, optimize=optimize, **fixed)
        source = float_graph
    else:
        source = args.source
    from edgerun import progress

    names = ["read", "optimize"] + (["quantize"] if args.quantize in ("dynamic", "int8", "int16x8") else []) + ["write"]
    with progress.steps(f"convert {os.path.basename(os.path.normpath(args.source))}", names) as stage:
        graph = convert_graph(source, quantize=args.quantize, representative_data=calibration,
                              input_type=args.input_type, output_type=args.output_type,
                              optimize=optimize and float_graph is None, stage=stage,
                              **({} if float_graph is not None else fixed))
        stage("write")
        data = export(graph)
    out_dir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)
    with open(args.output, "wb") as f:
        f.write(data)
    print(f"wrote {args.output} ({_human(len(data))}, {len(graph.ops)} ops"
          f"{', ' + args.quantize if args.quantize else ', float32'})")
    if args.report:
        print(f"size: source {_human(_size(args.source))} -> {args.output} {_human(len(data))}")
        if float_graph is not None:
            float_bytes = export(float_graph)
            print(f"size: float32 model {_human(len(float_bytes))} -> {args.quantize} model {_human(len(data))} "
                  f"({len(data) / len(float_bytes):.0%})")
            try:
                from edgerun.converter.report import quantization_report
            except ImportError:
                print("(quantization report not available in this build)")
                return 0
            if calibration is None:
                print("(no --calibration data: the report runs on 8 random uniform(-1, 1) inputs)")
                samples = random_samples(float_graph)
            else:
                samples = representative_samples(calibration, float_graph)
            print(quantization_report(float_bytes, data, samples))
    return 0
