"""Structure-aware fuzzing of plan files against the C library under ASan/UBSan (issue 12): mutants of
tests/fuzz/plan_mutators.py (fields and records of the parsed plan, resealed) of the plans of the codegen test
models go to platforms/lib/tools/er_fuzz.c built with the sanitizers, in batches (one er_fuzz process per
batch, which forks one child per mutant with a per-mutant alarm): each must be refused with a message, or
open, invoke twice, reset and close. A signal, a sanitizer report, an API misbehaviour or a hang is a finding.

    python tests/fuzz/plan_fuzz.py --seeds 0:3000 --jobs 1 --out /tmp/plan-sfuzz    # a long run; prints figures
    python tests/fuzz/plan_fuzz.py --show kws_int8-host 1234 [-o mutant.plan]          # one mutant: what was done,
                                                                                       # and what the library says

Seeds (--models, default all 15): int8 and float CNNs (KWS, MobileNet v1), float16 and dynamic-range weights,
an LSTM+GRU with WHILE, a WHILE counter, IF, a sparse FC, streaming models with variables and CALL_ONCE; for the
host and linux-x86_64 (their optimized kernel set), for devices with the reference kernels, and one plan prepared
for the NEON kernel set ("kws_int8-neon"): the host library refuses the set "neon" (this CPU does not run it), so
the seed carries the set name "portable", whose kernel instances and packed layouts the NEON plan uses. WHILE
loops get the fuzz loop limit (tests/platforms/test_plan_fuzz.py)."""
from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _p in (ROOT, HERE, ROOT / "tests" / "platforms", ROOT / "tests", ROOT / "platforms" / "lib"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import plan_mutators as pm

# label -> (model of tests/platforms/test_codegen.py, target, kernel set or None for the target's default)
SEEDS = {"kws_int8-host": ("kws_int8", "host", None), "kws_int8-x86_64": ("kws_int8", "linux-x86_64", None),
         "kws_int8-aarch64": ("kws_int8", "linux-aarch64", "ref"),
         "kws_int8-neon": ("kws_int8", "linux-aarch64", "neon"),
         "mobilenet_v1-host": ("mobilenet_v1_025_int8", "host", None), "kws_float-host": ("kws_float", "host", None),
         "kws_float16-aarch64": ("kws_float16", "linux-aarch64", "ref"),
         "kws_dynamic-host": ("kws_dynamic", "host", None),
         "lstm_while-host": ("recurrent_while", "host", None),
         "lstm_while-aarch64": ("recurrent_while", "linux-aarch64", "ref"),
         "while_counter-host": ("while_counter", "host", None), "if_cond-host": ("if_cond", "host", None),
         "sparse_fc-aarch64": ("sparse_fc", "linux-aarch64", "ref"),
         "streaming_int8-android": ("streaming_int8", "android-arm64", "ref"),
         "streaming_float-host": ("streaming_float", "host", None)}
# the CI sample: small plans of every kind (MobileNet's 640 KB would dominate the time)
CI_SEEDS = ["kws_int8-host", "kws_int8-neon", "kws_float-host", "lstm_while-aarch64", "while_counter-host",
            "if_cond-host", "streaming_int8-android", "streaming_float-host"]
ENV = {"ASAN_OPTIONS": "detect_leaks=1:allocator_may_return_null=1",
       "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}


def seed_plan(label: str) -> bytes:
    """The plan file of a seed (TensorFlow's converter, cached by tests/oracle.py)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("EDGERUN_CONV_IN_PLACE_MIN_WIDTH", "1")  # packed float convs read windows in place
    from edgerun.platforms import planfile as pf
    from edgerun.platforms.codegen import prepare_for
    from test_plan_fuzz import LOOP_LIMIT, model_bytes

    name, target, isa = SEEDS[label]
    plan = prepare_for(model_bytes(name), target, isa=isa)
    for sp in plan.subplans:
        for op in sp.ops:
            if op.kernel == "ctl_while" and not op.params.fields["max_iterations"]:
                op.params.fields["max_iterations"] = LOOP_LIMIT
    data = pf.write_plan(plan)
    if isa == "neon":  # the same kernels and layouts as the portable set, which this host runs
        raw = pm.parse(data)
        raw["header"][56:72] = b"portable".ljust(16, b"\0")
        data = pm.write(raw)
    return data


def fuzz_binary() -> pathlib.Path:
    from edgerun.platforms.lib.build import build

    return build("host", sanitize=True).er_fuzz


def run_batches(files: list, jobs: int = 1, batch: int = 250, timeout: int = 10) -> dict:
    """er_fuzz over `files` in batches of `batch` (one process each, `jobs` at once): {"refused", "ran",
    "invoke-errors", "failures": [lines], "slowest": (ms, path), "stderr"}."""
    exe = fuzz_binary()
    env = dict(os.environ, **ENV)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="er-plan-fuzz."))
    total = {"refused": 0, "ran": 0, "invoke-errors": 0, "failures": [], "slowest": (0.0, None), "stderr": ""}
    lists = []
    for k in range(0, len(files), batch):
        lst = tmp / f"batch{k // batch:05d}.txt"
        lst.write_text("\n".join(map(str, files[k:k + batch])) + "\n")
        lists.append(lst)
    running = []
    while lists or running:
        while lists and len(running) < jobs:
            running.append(subprocess.Popen([str(exe), "--timeout", str(timeout), str(lists.pop(0))], env=env,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        p = running.pop(0)
        out, err = p.communicate()
        lines = out.splitlines()
        head = lines[0] if lines else ""
        for key in ("refused", "ran", "invoke-errors"):
            m = re.search(rf"\b{key} (\d+)", head)
            total[key] += int(m.group(1)) if m else 0
        m = re.search(r"slowest-ms ([\d.]+) slowest (\S+)", head)
        if m and float(m.group(1)) > total["slowest"][0]:
            total["slowest"] = (float(m.group(1)), m.group(2))
        total["failures"] += lines[1:] if lines else [f"er_fuzz exited {p.returncode} without a summary"]
        if p.returncode != 0:
            total["stderr"] += err[-6000:]
    return total


def write_mutants(seeds: dict, first: int, last: int, out: pathlib.Path) -> list:
    """Mutants of seeds [first, last) of every plan in `seeds` ({label: bytes}) as LABEL-SEED.plan files."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for label, data in seeds.items():
        for s in range(first, last):
            p = out / f"{label}-{s}.plan"
            p.write_bytes(pm.mutant(data, s)[0])
            files.append(p)
    return files


def fuzz(labels: list, first: int, last: int, out: pathlib.Path, jobs: int = 1, timeout: int = 10,
         chunk: int = 100, progress: bool = False) -> dict:
    """Figures of a run: total, refused, ran, invoke-errors, failures, slowest; the seconds it took. Mutants are
    written `chunk` seeds at a time and deleted once they pass (the failing ones stay in `out`); `progress`
    prints the figures so far and the new failures after each chunk."""
    t = time.perf_counter()
    seeds = {label: seed_plan(label) for label in labels}
    total = {"total": 0, "refused": 0, "ran": 0, "invoke-errors": 0, "failures": [], "slowest": (0.0, None),
             "stderr": ""}
    for lo in range(first, last, chunk):
        files = write_mutants(seeds, lo, min(lo + chunk, last), out)
        part = run_batches(files, jobs, timeout=timeout)
        total["total"] += len(files)
        for key in ("refused", "ran", "invoke-errors", "failures", "stderr"):
            total[key] += part[key]
        total["slowest"] = max(total["slowest"], part["slowest"], key=lambda x: x[0])
        failed = {f.split(":")[0] for f in part["failures"]}
        for f in files:
            if str(f) not in failed:
                f.unlink()
        total["seconds"] = time.perf_counter() - t
        if progress:
            print(f"seeds {first}:{min(lo + chunk, last)}: {summary(total)}", flush=True)
            for f in part["failures"]:
                print("  " + f, flush=True)
    return total


def summary(s: dict) -> str:
    loaded = s["ran"] + s["invoke-errors"]
    return (f"{s['total']} plan mutants in {s['seconds']:.0f} s: loaded {loaded} ({loaded / max(s['total'], 1):.1%}), "
            f"ran {s['ran']} ({s['ran'] / max(s['total'], 1):.1%}), invoke errors {s['invoke-errors']}, refused "
            f"{s['refused']}, slowest {s['slowest'][0]:.0f} ms ({s['slowest'][1]}), findings {len(s['failures'])}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0:1000", help="first:last mutant seeds per plan (last excluded)")
    ap.add_argument("--models", default=",".join(SEEDS), help="comma-separated seed labels")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=10, help="seconds per mutant")
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path(tempfile.gettempdir()) / "plan-sfuzz")
    ap.add_argument("--show", nargs=2, metavar=("LABEL", "SEED"), help="one mutant: its mutations and outcome")
    ap.add_argument("-o", "--output", type=pathlib.Path, help="with --show: write the mutant here")
    a = ap.parse_args(argv)
    if a.show:
        data, what = pm.mutant(seed_plan(a.show[0]), int(a.show[1]))
        print("\n".join(what))
        path = a.output or a.out / f"{a.show[0]}-{a.show[1]}.plan"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        lst = path.with_suffix(".list")
        lst.write_text(f"{path}\n")
        done = subprocess.run([str(fuzz_binary()), "--verbose", str(lst)], env=dict(os.environ, **ENV), text=True,
                              capture_output=True, check=False)
        print(done.stderr + done.stdout)
        return done.returncode
    first, last = (int(x) for x in a.seeds.split(":"))
    s = fuzz(a.models.split(","), first, last, a.out, a.jobs, a.timeout, progress=True)
    print(summary(s))
    if s["stderr"]:
        print(s["stderr"], file=sys.stderr)
    return 1 if s["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
