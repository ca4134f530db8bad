"""The `edgerun` command: inspect, run, bench and convert models."""
from __future__ import annotations

import argparse
import sys

import numpy as np

import edgerun
from edgerun.errors import EdgerunError


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _tensor_line(d) -> str:
    q = d["quantization_parameters"]
    quant = ""
    if len(q["scales"]) == 1:
        quant = f"  scale={q['scales'][0]:.6g} zero_point={q['zero_points'][0]}"
    elif len(q["scales"]) > 1:
        quant = f"  per-channel({len(q['scales'])}) axis={q['quantized_dimension']}"
    return f"  {d['name']:<40} {np.dtype(d['dtype']).name:<8} {tuple(int(s) for s in d['shape_signature'])}{quant}"


def cmd_inspect(args) -> int:
    it = edgerun.Interpreter(model_path=args.model)
    it.allocate_tensors()
    model = it._model
    print(f"model: {args.model}  ({_human(model.size)}, schema version {model.version}"
          f"{', ' + model.description if model.description else ''})")
    print("inputs:")
    for d in it.get_input_details():
        print(_tensor_line(d))
    print("outputs:")
    for d in it.get_output_details():
        print(_tensor_line(d))
    counts: dict[str, int] = {}
    for sg in model.subgraphs:
        for op in sg.ops:
            name = op.custom_code if op.name == "CUSTOM" else op.name
            counts[name] = counts.get(name, 0) + 1
    print(f"ops ({sum(counts.values())} in {len(model.subgraphs)} subgraph(s)):")
    for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {name:<32} {n}")
    if model.signatures:
        print("signatures:")
        for s in model.signatures:
            print(f"  {s.key}: inputs {list(s.inputs)} outputs {list(s.outputs)}")
    mem = it.memory_report()
    print(f"arena: {_human(mem['arena_bytes'])}  weights: {_human(mem['weight_bytes'])}"
          f"  prepared weights: {_human(mem['prepared_weight_bytes'])}")
    return 0


def _load_inputs(it, specs):
    details = it.get_input_details()
    by_name = {d["name"]: d for d in details}
    values = {}
    for spec in specs or []:
        if "=" not in spec:
            raise SystemExit(f"edgerun run: --input takes NAME=FILE.npy, got {spec!r}")
        name, path = spec.split("=", 1)
        if name not in by_name:
            raise SystemExit(f"edgerun run: no input named {name!r}; inputs are {list(by_name)}")
        values[name] = np.load(path)
    rng = np.random.default_rng(0)
    out = []
    for d in details:
        if d["name"] in values:
            out.append(np.asarray(values[d["name"]]).astype(d["dtype"], copy=False))
            continue
        shape = tuple(int(s) for s in d["shape"])
        dt = np.dtype(d["dtype"])
        if dt.kind == "f":
            out.append(rng.uniform(-1, 1, shape).astype(dt))
        elif dt == np.bool_:
            out.append(rng.integers(0, 2, shape).astype(bool))
        else:
            info = np.iinfo(dt)
            out.append(rng.integers(info.min, int(info.max) + 1, shape, dtype=np.int64).astype(dt))
    return out


def cmd_run(args) -> int:
    if args.target:
        from edgerun.platforms import cli as device_cli

        named = {}
        for spec in args.input or []:
            if "=" not in spec:
                raise SystemExit(f"edgerun run: --input takes NAME=FILE.npy, got {spec!r}")
            name, path = spec.split("=", 1)
            named[name] = np.load(path)
        return device_cli.run_on_target(args, named)
    it = edgerun.Interpreter(model_path=args.model)
    inputs = _load_inputs(it, args.input)
    for d, x in zip(it.get_input_details(), inputs):
        if tuple(d["shape"]) != x.shape:
            it.resize_tensor_input(d["index"], x.shape)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    results = {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}
    for name, v in results.items():
        flat = v.reshape(-1)
        preview = np.array2string(flat[:8], precision=5, separator=", ")
        print(f"{name}: {v.dtype} {v.shape} {preview}{' ...' if flat.size > 8 else ''}")
    if args.output:
        np.savez(args.output, **results)
        print(f"wrote {args.output}")
    return 0


def cmd_bench(args) -> int:
    if args.target or args.adb is not None:
        from edgerun.platforms import cli as device_cli

        return device_cli.bench_on_target(args)
    from edgerun.runtime.bench import bench_model

    bench_model(args.model, runs=args.runs, warmup=args.warmup, compare_litert=not args.no_litert)
    return 0


def cmd_verify(args) -> int:
    """Check every file given without running it; exit 1 when any has a problem (all listed), else 0."""
    from edgerun.runtime.verify import verify

    status = 0
    for path in args.model:
        problems = verify(path)
        if problems:
            status = 1
            print(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
            for msg in problems:
                print(f"  {msg}")
        else:
            print(f"{path}: ok")
    return status


def _targets():
    from edgerun.platforms.codegen import TARGETS

    return TARGETS


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="edgerun", description=edgerun.__doc__)
    p.add_argument("--version", action="version", version=f"edgerun {edgerun.__version__}")
    sub = p.add_subparsers(dest="command")
    pi = sub.add_parser("inspect", help="show inputs, outputs, op table, arena and weight bytes")
    pi.add_argument("model")
    pi.set_defaults(fn=cmd_inspect)
    pr = sub.add_parser("run", help="run a model on given (or random) inputs")
    pr.add_argument("model")
    pr.add_argument("--input", action="append", metavar="NAME=FILE.npy")
    pr.add_argument("--output", metavar="OUT.npz")
    pr.add_argument("--target", choices=_targets(), help="build the model as C for this target and run it there "
                    "(boards under qemu)")
    pr.add_argument("--build-dir", metavar="DIR", help="with --target: keep the generated project and build here")
    pr.set_defaults(fn=cmd_run)
    pb = sub.add_parser("bench", help="time invoke() in edgerun and LiteRT side by side")
    pb.add_argument("model")
    pb.add_argument("--runs", type=int, default=50)
    pb.add_argument("--warmup", type=int, default=5)
    pb.add_argument("--no-litert", action="store_true")
    pb.add_argument("--target", choices=_targets(), help="flash, RAM and instructions per invoke on this board "
                    "(under qemu)")
    pb.add_argument("--json", action="store_true", help="with --target: print one JSON object")
    pb.add_argument("--adb", nargs="?", const="", metavar="SERIAL", help="with --target android-arm64: push a "
                    "benchmark and the plan to the phone (adb's only device, or SERIAL), print latency percentiles "
                    "and the per-op profile")
    pb.set_defaults(fn=cmd_bench)
    pv = sub.add_parser("verify", help="check a model file completely without running it: every offset, length, "
                        "index, shape, type, quantization, option, subgraph reference, sparse field; lists every "
                        "problem (exit 1) or says ok (exit 0)")
    pv.add_argument("model", nargs="+")
    pv.set_defaults(fn=cmd_verify)
    from edgerun.platforms import cli as device_cli

    device_cli.add_compile_parser(sub)
    try:
        from edgerun.converter import cli as convert_cli

        convert_cli.add_parser(sub)
    except ImportError:
        pass
    args = p.parse_args(argv)
    if not getattr(args, "fn", None):
        p.print_help()
        return 2
    try:
        return args.fn(args) or 0
    except EdgerunError as exc:
        print(f"edgerun: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
