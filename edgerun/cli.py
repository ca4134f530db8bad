"""The `edgerun` command: inspect, run, bench and convert models."""
from __future__ import annotations

import argparse
import os
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
    """Inputs, outputs, ops, signatures and memory of any well-formed model; ops edgerun cannot run are listed
    (and the memory plan skipped) instead of failing."""
    from edgerun.runtime.interpreter import _details
    from edgerun.runtime.model import Model
    from edgerun.runtime.prepare import op_handler

    model = Model.from_path(args.model)
    main = model.subgraphs[0]
    print(f"model: {args.model}  ({_human(model.size)}, schema version {model.version}"
          f"{', ' + model.description if model.description else ''})")
    print("inputs:")
    for i in main.inputs:
        print(_tensor_line(_details(main, i, main.tensors[i].shape)))
    print("outputs:")
    for i in main.outputs:
        print(_tensor_line(_details(main, i, main.tensors[i].shape)))
    counts: dict[str, int] = {}
    unresolved: dict[str, str] = {}
    for sg in model.subgraphs:
        for op in sg.ops:
            name = op.custom_code if op.name == "CUSTOM" else op.name
            counts[name] = counts.get(name, 0) + 1
            try:
                op_handler(op)
            except EdgerunError:
                unresolved[name] = "custom op, not registered" if op.name == "CUSTOM" else "not supported by edgerun"
    print(f"ops ({sum(counts.values())} in {len(model.subgraphs)} subgraph(s)):")
    for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {name:<32} {n}{'   <- ' + unresolved[name] if name in unresolved else ''}")
    if model.signatures:
        print("signatures:")
        for s in model.signatures:
            print(f"  {s.key}: inputs {list(s.inputs)} outputs {list(s.outputs)}")
    if unresolved:
        print(f"unresolved ops: {', '.join(sorted(unresolved))} (edgerun.register_custom_op registers a custom "
              f"op); memory plan not shown: the model cannot be prepared without them")
        return 0
    it = edgerun.Interpreter(model_path=args.model)
    it.allocate_tensors()
    mem = it.memory_report()
    print(f"memory: arena {_human(mem['arena_bytes'])}, weights in the file {_human(mem['weight_bytes'])}, "
          f"prepared (packed) weights {_human(mem['prepared_weight_bytes'])}")
    return 0


def _read_array(spec: str, path: str):
    """The array of `--input spec` from a .npy file (or an .npz holding exactly one array)."""
    if not os.path.isfile(path):
        raise EdgerunError(f"--input {spec}: no such file {path!r}")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - numpy raises ValueError, OSError, UnpicklingError...
        raise EdgerunError(f"--input {spec}: {path!r} is not a .npy array file ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if isinstance(data, np.ndarray):
        return data
    with data:
        if len(data.files) != 1:
            raise EdgerunError(f"--input {spec}: {path!r} is an .npz archive with {len(data.files)} arrays "
                               f"({', '.join(data.files[:8])}); give one .npy file per input")
        return data[data.files[0]]


def name_value_pairs(specs, option: str, form: str = "NAME=VALUE") -> dict:
    """Repeated `option NAME=VALUE` arguments as {name: value}; a malformed or repeated one is an error."""
    pairs = {}
    for spec in specs or []:
        name, sep, value = spec.partition("=")
        if not sep or not name or not value:
            raise EdgerunError(f"{option} takes {form}, got {spec!r}")
        if name in pairs:
            raise EdgerunError(f"{option} {name} is given twice")
        pairs[name] = value
    return pairs


def _named_inputs(specs) -> dict:
    return {name: _read_array(f"{name}={path}", path)
            for name, path in name_value_pairs(specs, "--input", "NAME=FILE.npy").items()}


def print_outputs(outs: dict, output: str | None):
    """Each output's dtype, shape and first values; with --output, all of them written to an .npz."""
    for name, v in outs.items():
        flat = v.reshape(-1)
        preview = np.array2string(flat[:8], precision=5, separator=", ")
        print(f"{name}: {v.dtype} {v.shape} {preview}{' ...' if flat.size > 8 else ''}")
    if output:
        print(f"wrote {_save_outputs(output, outs)}")


def _check_against(d, x, args):
    """x for input detail d: refused when its shape or dtype differs, unless --resize / --cast allow it."""
    name, want_dt, want_shape = d["name"], np.dtype(d["dtype"]), tuple(int(s) for s in d["shape"])
    if x.dtype != want_dt:
        if not args.cast:
            raise EdgerunError(f"input {name!r} is {want_dt} in the model but the file holds {x.dtype}: pass --cast "
                               f"to convert it")
        if want_dt.kind in "iu" and x.dtype.kind in "iuf" and x.size:
            info = np.iinfo(want_dt)
            if x.min() < info.min or x.max() > info.max:
                raise EdgerunError(f"--cast: input {name!r} has values outside {want_dt}'s range "
                                   f"[{info.min}, {info.max}]")
        print(f"note: input {name!r} cast from {x.dtype} to {want_dt} (--cast)")
        x = x.astype(want_dt)
    if x.shape != want_shape:
        if not args.resize:
            raise EdgerunError(f"input {name!r} has shape {want_shape} in the model but the file holds {x.shape}: "
                               f"pass --resize to resize the input")
        print(f"note: input {name!r} resized from {want_shape} to {x.shape} (--resize)")
    return x


def cmd_run(args) -> int:
    named = _named_inputs(args.input)
    if args.target:
        from edgerun.platforms import cli as device_cli

        return device_cli.run_on_target(args, named)
    it = edgerun.Interpreter(model_path=args.model)
    details = it.get_input_details()
    unknown = sorted(set(named) - {d["name"] for d in details})
    if unknown:
        raise EdgerunError(f"--input {unknown[0]}: the model has no input of that name; its inputs are "
                           f"{', '.join(d['name'] for d in details)}")
    from edgerun.runtime.bench import random_inputs

    inputs = []
    for d, x in zip(details, random_inputs(details)):
        if d["name"] in named:
            x = _check_against(d, named[d["name"]], args)
            if tuple(d["shape"]) != x.shape:
                it.resize_tensor_input(d["index"], x.shape)
        else:
            kind = "uniform(-1, 1)" if x.dtype.kind == "f" else "uniform over the type's range"
            print(f"note: input {d['name']!r} not given (--input {d['name']}=FILE.npy): random {kind} {x.dtype} "
                  f"{x.shape}, seed 0")
        inputs.append(x)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    print_outputs({d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}, args.output)
    return 0


def _save_outputs(path: str, results: dict) -> str:
    """np.savez into path (folders created; '.npz' appended as numpy does): the path written."""
    path = path if path.endswith(".npz") else path + ".npz"
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        np.savez(path, **results)
    except OSError as exc:
        raise EdgerunError(f"--output {path}: cannot write ({exc.strerror or exc})") from None
    return path


def cmd_bench(args) -> int:
    if args.target or args.adb is not None:
        from edgerun.platforms import cli as device_cli

        return device_cli.bench_on_target(args)
    from edgerun.runtime.bench import bench_model

    if args.top is not None and not args.profile:
        print("note: --top is ignored without --profile", file=sys.stderr)
    bench_model(args.model, runs=args.runs, warmup=args.warmup, threads=args.threads,
                compare_litert=not args.no_litert, with_profile=args.profile, top=args.top or 20,
                as_json=args.json)
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


def cmd_report(args) -> int:
    from edgerun.runtime.report import summary, write_report

    print(summary(*write_report(args.model, args.o, args.float, args.samples, args.runs)))
    return 0


def cmd_cache(args) -> int:
    """The interpreter's plan cache: where it is, what it holds; --clear empties it."""
    from edgerun.runtime import plan_cache

    where = plan_cache.folder()
    if args.clear:
        print(f"{where}: removed {plan_cache.clear()} cached plan(s)")
        return 0
    files = plan_cache.entries()
    state = "on" if plan_cache.enabled(None) else "off (EDGERUN_PLAN_CACHE=0)"
    text = os.environ.get("EDGERUN_PLAN_CACHE_BYTES", "")
    if text and not text.strip().isdigit():
        print(f"edgerun: warning: EDGERUN_PLAN_CACHE_BYTES={text!r} is not a byte count: the default limit applies",
              file=sys.stderr)
    print(f"plan cache {state}: {where}")
    print(f"  {len(files)} plan(s), {sum(size for _, size in files):,} bytes "
          f"(limit {plan_cache.limit_bytes():,}: EDGERUN_PLAN_CACHE_BYTES)")
    return 0


def _count(least: int):
    """argparse type: an integer >= least (a usage error, exit 2, otherwise)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return parse


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
    pr.add_argument("--input", action="append", metavar="NAME=FILE.npy",
                    help="an input's value (repeat per input); inputs not given are random, and say so")
    pr.add_argument("--output", metavar="OUT.npz", help="write the outputs by name (folders are created)")
    pr.add_argument("--resize", action="store_true", help="resize an input to the shape of its file")
    pr.add_argument("--cast", action="store_true", help="convert an input file of another dtype to the model's")
    pr.add_argument("--target", choices=_targets(), help="build the model as C for this target and run it there "
                    "(boards under qemu)")
    pr.add_argument("--build-dir", metavar="DIR", help="with --target: keep the generated project and build here")
    pr.add_argument("--cpu", help="with --target linux-aarch64|linux-armv7: qemu's CPU (max, cortex-a53, ...)")
    pr.set_defaults(fn=cmd_run)
    pb = sub.add_parser("bench", help="time invoke() in edgerun and LiteRT side by side; --profile: per-op time")
    pb.add_argument("model")
    pb.add_argument("--runs", type=_count(1), default=50, help="timed runs (default 50)")
    pb.add_argument("--warmup", type=_count(0), default=5, help="untimed runs first (default 5)")
    pb.add_argument("--threads", type=_count(1), default=1, help="threads for each runtime (default 1)")
    pb.add_argument("--profile", action="store_true", help="per-op time in edgerun, slowest first")
    pb.add_argument("--top", type=_count(1), default=None, help="with --profile: ops listed (default 20)")
    pb.add_argument("--no-litert", action="store_true", help="time edgerun alone")
    pb.add_argument("--target", choices=_targets(), help="flash, RAM and instructions per invoke on this board "
                    "(under qemu)")
    pb.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    pb.add_argument("--cpu", help="with --target linux-aarch64|linux-armv7: qemu's CPU (max, cortex-a53, ...)")
    pb.add_argument("--adb", nargs="?", const="", metavar="SERIAL", help="with --target android-arm64: push a "
                    "benchmark and the plan to the phone (adb's only device, or SERIAL), print latency percentiles "
                    "and the per-op profile")
    pb.set_defaults(fn=cmd_bench)
    pv = sub.add_parser("verify", help="check a model file completely without running it: every offset, length, "
                        "index, shape, type, quantization, option, subgraph reference, sparse field; lists every "
                        "problem (exit 1) or says ok (exit 0)")
    pv.add_argument("model", nargs="+")
    pv.set_defaults(fn=cmd_verify)
    pp = sub.add_parser("report", help="write one self-contained HTML page: graph diagram, memory plan timeline, "
                        "per-op profile and (with --float) per-layer quantization error")
    pp.add_argument("model")
    pp.add_argument("-o", metavar="REPORT.html", help="where to write (default: MODEL's name + .report.html)")
    pp.add_argument("--float", metavar="FLOAT.tflite", help="the float model to compare a quantized MODEL with")
    pp.add_argument("--samples", metavar="DATA.npy|npz", help="with --float: inputs to compare on (default 8 random)")
    pp.add_argument("--runs", type=_count(1), default=10, help="profiled invokes (default 10)")
    pp.set_defaults(fn=cmd_report)
    pc = sub.add_parser("cache", help="the interpreter's plan cache: where it is and what it holds (--clear "
                                      "empties it)")
    pc.add_argument("--clear", action="store_true", help="remove every cached plan")
    pc.set_defaults(fn=cmd_cache)
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
    except OSError as exc:  # a file the user named cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"edgerun: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("edgerun: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
