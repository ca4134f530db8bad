"""Coverage-guided fuzzing of the plan-file C library with atheris (issue 12): libFuzzer mutates plan files with
the structure-aware mutator of tests/fuzz/plan_mutators.py (a quarter of the time its own byte mutations, then
resealed), and the inputs that reach new code of the C library are kept.

Coverage comes from the C itself: platforms/lib and every kernel are compiled by clang (`python -m ziglang cc`;
gcc has no libFuzzer instrumentation) with -fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp and
AddressSanitizer (UndefinedBehaviorSanitizer in trap mode: a report is SIGILL) into one shared library, which
ctypes loads inside the atheris target. atheris ships libFuzzer inside an ASan runtime (asan_with_fuzzer.so);
this script re-executes itself with it (and atheris's custom-mutator hook) preloaded, and libFuzzer registers
the library's counters and comparison hooks when ctypes loads it ("INFO: Loaded 1 modules (N inline 8-bit
counters)"; mutants it keeps show "NEW cov: ... MS: Custom-"). Each input goes
through edgerun_open_memory (alternately copied and borrowed), two invokes on zero inputs, a reset, output reads
and close; a finding is a crash or sanitizer report, a call that fails without a message, a run over
-timeout seconds or over -rss_limit_mb.

    python tests/fuzz/atheris_plans.py -max_total_time=3600 -artifact_prefix=/tmp/pfuzz/ /tmp/pfuzz/corpus   # long
    python tests/fuzz/atheris_plans.py --write-corpus DIR     # only write the seed plans
    python tests/fuzz/atheris_plans.py crash-1234abcd         # rerun one finding (ASan prints the report)

The corpus directory gets the seed plans of tests/fuzz/plan_fuzz.py (CI_SEEDS) when it has no *.plan files.
Defaults unless given: -timeout=10 -rss_limit_mb=4096 -max_len=262144; other libFuzzer flags pass through."""
from __future__ import annotations

import ctypes
import hashlib
import os
import pathlib
import random
import struct
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _p in (ROOT, HERE):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

COVERAGE = ["-fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp"]
SANITIZE = ["-fsanitize=address,undefined", "-fsanitize-trap=undefined", "-fno-omit-frame-pointer"]
CFLAGS = ["-std=c11", "-O1", "-g", "-fPIC", "-fno-strict-aliasing", "-Wno-everything"]
DEFAULT_CORPUS = pathlib.Path(tempfile.gettempdir()) / "edgerun_plan_fuzz_corpus"
LOOP_LIMIT = 10_000  # WHILE iterations a seed allows (tests/platforms/test_plan_fuzz.py)


def zig_cc() -> list:
    return [sys.executable, "-m", "ziglang", "cc"]


def build_library(cache_dir=None) -> pathlib.Path:
    """platforms/lib + kernels as one shared library with coverage counters and ASan (cached by a hash of the
    sources and flags)."""
    from concurrent.futures import ThreadPoolExecutor

    from edgerun.platforms.lib.build import include_dirs, library_sources

    srcs = library_sources()
    flags = CFLAGS + COVERAGE + SANITIZE
    h = hashlib.sha256(" ".join(flags).encode())
    for p in srcs + [f for d in include_dirs() for f in sorted(d.rglob("*.h")) + sorted(d.rglob("*.inc"))]:
        h.update(str(p).encode() + p.read_bytes())
    root = pathlib.Path(cache_dir or os.environ.get("EDGERUN_CLIB_CACHE") or
                        pathlib.Path(tempfile.gettempdir()) / "edgerun-clib")
    out = root / f"cov-{h.hexdigest()[:16]}" / "libedgerun_cov.so"
    if out.exists():
        return out
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="cov.", dir=root if root.exists() else None))
    inc = [f"-I{d}" for d in include_dirs()]
    objs = [tmp / f"{k:03d}_{s.stem}.o" for k, s in enumerate(srcs)]

    def cc(src, obj):
        done = subprocess.run([*zig_cc(), *flags, *inc, "-c", str(src), "-o", str(obj)], capture_output=True,
                              text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"zig cc {src.name}: {done.stderr[-3000:]}")

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for f in [pool.submit(cc, s, o) for s, o in zip(srcs, objs)]:
            f.result()
    so = tmp / out.name
    done = subprocess.run([*zig_cc(), "-shared", *SANITIZE, "-o", str(so), *map(str, objs), "-lm"],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"zig cc -shared: {done.stderr[-3000:]}")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        so.rename(out)
    except OSError:
        pass
    return out


def preload() -> list:
    """What the process must start with: atheris's libFuzzer inside an ASan runtime (ASan must be the first
    library of the process), and atheris's custom-mutator module: a preloaded libFuzzer looks its
    LLVMFuzzerCustomMutator hook up once, when it is loaded, so the hook must be there already."""
    import atheris

    here = pathlib.Path(atheris.__file__).parent
    return [pathlib.Path(atheris.path()) / "asan_with_fuzzer.so", *sorted(here.glob("custom_mutator.cpython-*.so"))]


class Library:
    """The C library through ctypes: run(data) opens, invokes twice, resets, reads the outputs, closes."""

    def __init__(self, path):
        lib = self.lib = ctypes.CDLL(str(path))
        p, i32, sz = ctypes.c_void_p, ctypes.c_int32, ctypes.c_size_t
        lib.edgerun_open_memory.argtypes = [p, sz, ctypes.c_int, ctypes.POINTER(p), ctypes.c_char_p, sz]
        lib.edgerun_open_memory.restype = ctypes.c_int
        for name in ("edgerun_input_count", "edgerun_output_count"):
            getattr(lib, name).argtypes, getattr(lib, name).restype = [p], i32
        lib.edgerun_input_buffer.argtypes = [p, i32, ctypes.POINTER(p), ctypes.POINTER(sz)]
        lib.edgerun_output_buffer.argtypes = [p, i32, ctypes.POINTER(p), ctypes.POINTER(sz)]
        for name in ("edgerun_invoke", "edgerun_reset_variables"):
            getattr(lib, name).argtypes, getattr(lib, name).restype = [p], ctypes.c_int
        lib.edgerun_last_error.argtypes, lib.edgerun_last_error.restype = [p], ctypes.c_char_p
        lib.edgerun_close.argtypes, lib.edgerun_close.restype = [p], None
        self.calls = 0

    def run(self, data: bytes) -> str:
        """"refused", "ran" or "invoke-error"; raises AssertionError when the API misbehaves."""
        lib = self.lib
        borrow = self.calls & 1
        self.calls += 1
        buf = ctypes.create_string_buffer(len(data) + 16)
        at = -ctypes.addressof(buf) % 16  # borrowed bytes must be 16-aligned
        ctypes.memmove(ctypes.addressof(buf) + at, data, len(data))
        m, err = ctypes.c_void_p(), ctypes.create_string_buffer(256)
        st = lib.edgerun_open_memory(ctypes.addressof(buf) + at, len(data), borrow, ctypes.byref(m), err, 256)
        if st != 0:
            assert not m.value and err.value, f"open failed with status {st}, model {m.value}, message {err.value}"
            return "refused"
        outcome = "ran"
        try:
            for _ in range(2):
                for k in range(lib.edgerun_input_count(m)):
                    ptr, n = ctypes.c_void_p(), ctypes.c_size_t()
                    assert lib.edgerun_input_buffer(m, k, ctypes.byref(ptr), ctypes.byref(n)) == 0
                    if n.value:
                        ctypes.memset(ptr, 0, n.value)
                if lib.edgerun_invoke(m) != 0:
                    assert lib.edgerun_last_error(m), "invoke failed without a message"
                    outcome = "invoke-error"
                    break
            lib.edgerun_reset_variables(m)
            for k in range(lib.edgerun_output_count(m)):
                ptr, n = ctypes.c_void_p(), ctypes.c_size_t()
                assert lib.edgerun_output_buffer(m, k, ctypes.byref(ptr), ctypes.byref(n)) == 0
                if n.value:
                    ctypes.string_at(ptr, n.value)
        finally:
            lib.edgerun_close(m)
        del buf  # borrowed: freed only after close
        return outcome


def loops_forever(data: bytes) -> bool:
    """A WHILE whose iteration limit a byte mutation raised past LOOP_LIMIT (or cleared): trusted by the
    library (include/edgerun_runtime.h), so not a finding; such inputs are skipped."""
    import plan_mutators as pm

    try:
        raw = pm.parse(data)
    except (pm.ParseError, struct.error):
        return False
    for blk, leaves in _blocks_with_leaves(raw):
        for v, leaf in zip(blk["values"], leaves):
            if leaf == "max_iterations" and v[0] == 0 and not 0 < v[2] <= LOOP_LIMIT:
                return True
    return False


def _blocks_with_leaves(raw):
    import plan_mutators as pm

    names = pm._leaf_names(raw)
    return [(b, names[b["struct"]]) for b in raw["params"] if b["struct"] in names]


def write_corpus(corpus: pathlib.Path) -> int:
    import plan_fuzz

    corpus.mkdir(parents=True, exist_ok=True)
    for label in plan_fuzz.CI_SEEDS:
        (corpus / f"{label}.plan").write_bytes(plan_fuzz.seed_plan(label))
    return len(plan_fuzz.CI_SEEDS)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--write-corpus"]:
        print(write_corpus(pathlib.Path(args[1])), "plans written")
        return
    dirs = [a for a in args if not a.startswith("-")]
    if not dirs:
        dirs = [str(DEFAULT_CORPUS)]
        args.append(dirs[0])
    corpus = pathlib.Path(dirs[0])
    lib_path = build_library()
    libs = ":".join(map(str, preload()))
    if os.environ.get("LD_PRELOAD") != libs:
        if not corpus.is_file() and not list(corpus.glob("*.plan")):  # a file: rerun that one input
            write_corpus(corpus)
        env = dict(os.environ, LD_PRELOAD=libs,
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "detect_leaks=0:allocator_may_return_null=1"))
        os.execve(sys.executable, [sys.executable, __file__, *args], env)
    del os.environ["LD_PRELOAD"]  # not for the processes ASan starts (llvm-symbolizer)
    for flag, default in (("-timeout=", "10"), ("-rss_limit_mb=", "4096"), ("-max_len=", "262144")):
        if not any(a.startswith(flag) for a in args):
            args.insert(0, flag + default)

    import atheris
    import plan_mutators as pm

    lib = Library(lib_path)

    def test_one_input(data: bytes):
        if loops_forever(data):
            return
        lib.run(data)

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if rng.randrange(4):
            try:
                raw = pm.parse(data)
                pm.mutate(raw, rng)
                out = pm.write(raw)
                if len(out) <= max_size:
                    return out
            except (pm.ParseError, struct.error, IndexError, ValueError, OverflowError):
                pass  # a byte mutant that does not parse: fall back to bytes
        return pm.reseal(bytearray(atheris.Mutate(data, max_size)))

    atheris.Setup([sys.argv[0], *args], test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
