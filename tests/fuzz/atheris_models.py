"""Coverage-guided fuzzing of load + allocate + invoke with atheris (issue 12). Inputs are model files; the mutator
is tests/fuzz/mutators.py (structure-aware: shapes, indices, options, quantization, ...) mixed with libFuzzer's
byte mutations; edgerun's Python is instrumented, so mutants that reach new code are kept. A finding is any
exception other than edgerun.EdgerunError, a signal (a crash in the C kernels), a run over -timeout seconds or
over -rss_limit_mb; libFuzzer writes the input to crash-*/timeout-*/oom-* (under -artifact_prefix).

    python tests/fuzz/atheris_models.py -max_total_time=3600 -artifact_prefix=/tmp/fuzz/ /tmp/fuzz/corpus  # long run
    python tests/fuzz/atheris_models.py --write-corpus DIR   # only write the seed models (needs TensorFlow)
    python tests/fuzz/atheris_models.py crash-1234abcd       # rerun one finding
    python tests/fuzz/structured.py DIR --show ...           # the non-coverage-guided, seeded variant

The corpus directory is seeded with the models of tests/fuzz/corpus.py (built by TensorFlow's converter, cached
by tests/oracle.py) when it has no *.tflite files; libFuzzer adds what it finds. Defaults
unless given: -timeout=10 -rss_limit_mb=4096 -max_len=131072; other libFuzzer flags pass through."""
import os
import pathlib
import random
import sys
import warnings

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_CORPUS = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "edgerun_fuzz_corpus"


def main():
    sys.path[:0] = [str(ROOT), str(HERE)]
    args = sys.argv[1:]
    if args[:1] == ["--write-corpus"]:
        import corpus as seeds

        print(seeds.write(pathlib.Path(args[1])), "models written")
        return
    dirs = [a for a in args if not a.startswith("-")]
    if not dirs:
        dirs = [str(DEFAULT_CORPUS)]
        args.append(dirs[0])
    corpus = pathlib.Path(dirs[0])
    if not corpus.is_file() and not list(corpus.glob("*.tflite")):  # a file: rerun that one input
        import corpus as seeds

        seeds.write(corpus)
    for flag, default in (("-timeout=", "10"), ("-rss_limit_mb=", "4096"), ("-max_len=", "131072")):
        if not any(a.startswith(flag) for a in args):
            args.insert(0, flag + default)

    import atheris
    import numpy as np

    with atheris.instrument_imports(include=["edgerun"], exclude=["edgerun.schema.schema_generated"]):
        import importlib
        import pkgutil

        import edgerun.runtime.interpreter
        import edgerun.runtime.model
        import edgerun.runtime.prepare
        import edgerun.runtime.verify
        from edgerun.runtime import ops

        import edgerun
        for m in pkgutil.iter_modules(ops.__path__):
            importlib.import_module(f"edgerun.runtime.ops.{m.name}")
    import mutators
    from edgerun.runtime.verify import _structure as structure_ok
    from structured import run_model

    warnings.simplefilter("ignore")
    np.seterr(all="ignore")

    def test_one_input(data: bytes):
        try:
            run_model(data)
        except edgerun.EdgerunError:
            pass

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        # a quarter byte-level; structured only for files whose structure is sound (the object API reads
        # unchecked offsets and lengths: a byte-mutated file can make it loop over a 2**31-long vector)
        if rng.randrange(4) and structure_ok(data, []):
            try:
                model = mutators.unpack(data)
                mutators.mutate(model, rng)
                out = mutators.pack(model)
                if len(out) <= max_size:
                    return out
            except Exception:  # noqa: BLE001, S110 - an unpackable file: fall back to bytes
                pass
        return atheris.Mutate(data, max_size)

    atheris.Setup([sys.argv[0], *args], test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
