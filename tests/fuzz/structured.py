"""Structured fuzzing of load + allocate + invoke (issue 12): mutants from tests/fuzz/mutators.py run in a child
process, so that a crash (a signal) or a hang is a finding naming its model and seed instead of a dead test.

    python tests/fuzz/structured.py CORPUS_DIR [--seeds 0:10000] [--hang 10]   # a long run; prints figures
    python tests/fuzz/structured.py CORPUS_DIR --show MODEL SEED [-o mutant.tflite]  # rebuild one finding

CORPUS_DIR holds *.tflite models (tests/fuzz/atheris_models.py --write-corpus DIR writes the test corpus).
Each model gets the mutants of every seed in the range; the outcome of each is "ran" (inputs of zeros), "refused"
(an edgerun.EdgerunError), "foreign" (any other exception: a finding), "crash" (the child died by a signal),
"hang" (no progress for --hang seconds)."""
import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import traceback

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAX_MEMORY = 256 << 20
MAX_LOOP_ITERATIONS = 10_000


def run_model(data: bytes):
    """Load, allocate and invoke on inputs of zeros under the fuzz limits: what every mutant goes through."""
    import numpy as np

    import edgerun

    it = edgerun.Interpreter(model_content=data, max_memory_bytes=MAX_MEMORY, max_loop_iterations=MAX_LOOP_ITERATIONS)
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], np.zeros(tuple(d["shape"]), d["dtype"]))
    it.invoke()


def classify(data: bytes) -> tuple[str, str]:
    """("ran" | "refused" | "foreign", detail)."""
    import edgerun

    try:
        run_model(data)
        return "ran", ""
    except edgerun.EdgerunError as e:
        return "refused", f"{type(e).__name__}: {e}"[:200]
    except Exception as e:  # noqa: BLE001 - a foreign exception is what this looks for
        tb = traceback.extract_tb(e.__traceback__)[-1]
        return "foreign", f"{type(e).__name__}: {str(e)[:200]} at {pathlib.Path(tb.filename).name}:{tb.lineno}"


def _load_corpus(corpus_dir):
    return {p.stem: p.read_bytes() for p in sorted(pathlib.Path(corpus_dir).glob("*.tflite"))}


def _child(corpus_dir, first, last, progress, after=""):
    """Run mutants of seeds [first, last) of every model (of seed `first`, only the models after `after`); one line
    before (start) and after (result) each."""
    import warnings

    import numpy as np
    from mutators import mutant

    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    corpus = _load_corpus(corpus_dir)
    die_at = os.environ.get("EDGERUN_FUZZ_SELFTEST_DIE_AT")  # "MODEL:SEED": the harness's own test kills itself
    with open(progress, "a", buffering=1) as out:
        for seed in range(first, last):
            for name, base in corpus.items():
                if seed == first and after and name <= after:
                    continue
                data, _ = mutant(base, seed)
                out.write(json.dumps({"start": [name, seed]}) + "\n")
                t = time.perf_counter()
                if die_at == f"{name}:{seed}":
                    os.kill(os.getpid(), signal.SIGSEGV)
                kind, detail = classify(data)
                out.write(json.dumps({"model": name, "seed": seed, "kind": kind, "detail": detail,
                                      "seconds": round(time.perf_counter() - t, 4)}) + "\n")


def fuzz(corpus_dir, first, last, hang=10.0, log=None, nice=0):
    """Run seeds [first, last) over the corpus in child processes; a crashed or hung child is restarted after its
    mutant. Returns {"total", "ran", "refused", "findings": [...], "slowest": (seconds, model, seed)}."""
    stats = {"total": 0, "ran": 0, "refused": 0, "findings": [], "slowest": (0.0, None, None)}
    progress = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"structured_fuzz_{os.getpid()}_{first}.jsonl"
    seed, after = first, ""  # after: the model of `seed` that killed the last child; the restart goes on after it
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests" / "fuzz"),
                                                       os.environ.get("PYTHONPATH", "")]))
    while seed < last:
        progress.write_text("")
        cmd = [sys.executable, __file__, str(corpus_dir), "--child", f"{seed}:{last}", "--after", after,
               "--progress", str(progress)]
        if nice:
            cmd = ["nice", "-n", str(nice)] + cmd
        errfile = progress.with_suffix(".err")
        with open(errfile, "wb") as errf:
            child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=errf, start_new_session=True)
        size, stamp, killed = 0, time.monotonic(), False
        while child.poll() is None:
            time.sleep(0.2)
            n = progress.stat().st_size
            if n != size:
                size, stamp = n, time.monotonic()
            elif time.monotonic() - stamp > (hang if size else max(hang, 120)):  # the first: imports too
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                killed = True
        err = errfile.read_bytes().decode(errors="replace")[-2000:]
        started = last_done = None
        for line in progress.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "start" in rec:
                started = tuple(rec["start"])
                continue
            started, last_done = None, (rec["model"], rec["seed"])
            stats["total"] += 1
            stats[rec["kind"]] = stats.get(rec["kind"], 0) + 1
            if rec["kind"] == "foreign":
                stats["findings"].append(rec)
            if rec["seconds"] > stats["slowest"][0]:
                stats["slowest"] = (rec["seconds"], rec["model"], rec["seed"])
            if log:
                log.write(line + "\n")
        if child.returncode == 0 and not killed:
            break
        if started is None and last_done is None:  # died before its first mutant: the harness itself is broken
            raise RuntimeError(f"fuzz child failed (exit {child.returncode}):\n{err}")
        if started is None:  # died between mutants (heap corruption found at a free): the last one is suspect
            started = last_done
            err = f"after this mutant ran: {err.strip()[:300]}"
        kind = "hang" if killed else "crash"
        sig = f"signal {-child.returncode}" if child.returncode < 0 else f"exit {child.returncode}"
        rec = {"model": started[0], "seed": started[1], "kind": kind,
               "detail": f"{sig} {err}" if started == last_done else sig}
        stats["total"] += started != last_done
        stats["findings"].append(rec)
        if log:
            log.write(json.dumps(rec) + "\n")
        after, seed = started  # restart after the mutant that killed the child
    progress.unlink(missing_ok=True)
    progress.with_suffix(".err").unlink(missing_ok=True)
    return stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus_dir")
    ap.add_argument("--seeds", default="0:1000", help="first:last (last excluded)")
    ap.add_argument("--hang", type=float, default=10.0, help="seconds without progress that make a hang")
    ap.add_argument("--log", help="write every outcome as a JSON line to this file")
    ap.add_argument("--show", nargs=2, metavar=("MODEL", "SEED"), help="print one mutant's mutations")
    ap.add_argument("-o", "--output", help="with --show: write the mutant here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--progress", help=argparse.SUPPRESS)
    ap.add_argument("--after", default="", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    first, last = (int(x) for x in (a.child or a.seeds).split(":"))
    if a.child:
        return _child(a.corpus_dir, first, last, a.progress, a.after)
    if a.show:
        from mutators import mutant

        data, what = mutant(_load_corpus(a.corpus_dir)[a.show[0]], int(a.show[1]))
        print("\n".join(what))
        if a.output:
            pathlib.Path(a.output).write_bytes(data)
        print(*classify(data))
        return 0
    t = time.perf_counter()
    with open(a.log or os.devnull, "w") as log:
        s = fuzz(a.corpus_dir, first, last, a.hang, log)
    print(f"{s['total']} mutants in {time.perf_counter() - t:.0f} s: ran {s['ran']} ({s['ran'] / max(s['total'], 1):.1%}),"
          f" refused {s['refused']}, slowest {s['slowest'][0]:.2f} s ({s['slowest'][1]} seed {s['slowest'][2]}),"
          f" findings {len(s['findings'])}")
    for f in s["findings"]:
        print(f"  {f['kind']}: {f['model']} seed {f['seed']}: {f['detail']}")
    return 1 if s["findings"] else 0


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(pathlib.Path(__file__).parent)]
    sys.exit(main())
