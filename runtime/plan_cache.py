"""The desktop interpreter's plan cache: a model's prepared plan kept as a plan file, so that the next
`Interpreter(model_path)` + `allocate_tensors()` of the same file, in this process or another, opens it in C
(platforms/lib's loader, compiled into the kernels extension) instead of preparing it again in Python.

    it = Interpreter(model_path=p); it.allocate_tensors()   # prepares; <dir>/plans/<key>.plan is written on a
                                                            # thread meanwhile (plan_cache.wait() joins it)
    it = Interpreter(model_path=p); it.allocate_tensors()   # maps that file; the C library lays it out

What the plan depends on makes the key: the model file (absolute path, size, modification and change times in
ns, inode), the options that change a plan (experimental_preserve_all_tensors, max_loop_iterations), the kernel
set, and this edgerun build (its version and kernels extension; in a source checkout also the size and time of
every Python file under runtime/ and schema/ and of platforms/planfile.py). A model given as bytes
(model_content) is keyed by their length and SHA-256 instead of the file. Only the main graph at the model's own
input shapes is cached; a model that a plan file cannot hold (Python custom ops, STRING tensors, run-time-sized
tensors) is prepared every time, as is one whose variables a signature of another subgraph shares.

Where: EDGERUN_CACHE_DIR, else $XDG_CACHE_HOME/edgerun, else ~/.cache/edgerun. Off: EDGERUN_PLAN_CACHE=0 or
Interpreter(..., plan_cache=False). The folder keeps at most EDGERUN_PLAN_CACHE_BYTES (default 2 GiB) of plans,
the least recently written go first. A file is written under a temporary name and renamed into place, so a
reader sees a whole file or none; one that does not open (damaged, another format) is ignored and replaced.
The CRC-32 of cached files is not checked on open (that would cost a third of LiteRT's whole load of a 14 MB
model): every structural check of the loader still runs, and the file is this machine's own.

A cache file is the plan file followed by what the interpreter needs without the model (JSON): the inputs' and
outputs' details, the variables' keys, the memory report; then that part's length and the tag below.
"""
from __future__ import annotations

import mmap
import os
import json
import struct
import threading
import zlib
import time

TAG = b"ERCACHE1"
TRAILER = struct.Struct("<Q8s")
DEFAULT_LIMIT = 2 << 30

_build_id: str | None = None
# custom codes a user registered in this process (runtime/ops.register_custom_op): their plans depend on the
# user's code, so the cache stays off while there are any
USER_CUSTOMS: set = set()


def enabled(option) -> bool:
    if option is not None:
        return bool(option)
    return os.environ.get("EDGERUN_PLAN_CACHE", "1") not in ("0", "", "off", "false", "no")


def folder() -> str:
    base = os.environ.get("EDGERUN_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "edgerun")
    return os.path.join(base, "plans")


def _sources(root: str, out: list):
    for e in os.scandir(root):
        if e.is_dir(follow_symlinks=False) and not e.name.startswith((".", "_")):
            _sources(e.path, out)
        elif e.name.endswith(".py"):
            st = e.stat()
            out.append((e.path, st.st_size, st.st_mtime_ns))


def build_id() -> str:
    """This edgerun build, once per process."""
    global _build_id
    if _build_id is None:
        import edgerun
        from edgerun.kernels import _kernels

        parts = [edgerun.__version__]
        for path in (_kernels.__file__, edgerun.__file__):
            st = os.stat(path)
            parts.append((path, st.st_size, st.st_mtime_ns))
        runtime = os.path.dirname(os.path.abspath(__file__))
        root = os.path.dirname(runtime)
        if os.path.isfile(os.path.join(root, "kernels", "build.py")):  # a source checkout: files change in place
            files: list = []
            for sub in ("runtime", "schema"):
                _sources(os.path.join(root, sub), files)
            st = os.stat(os.path.join(root, "platforms", "planfile.py"))
            files.append(("planfile", st.st_size, st.st_mtime_ns))
            parts.append(sorted(files))
        _build_id = _digest(repr(parts))
    return _build_id


def _digest(text: str) -> str:
    """16 hex digits of a text (CRC-32 and Adler-32: no hashing library to load; the entry holds the whole key
    text, which a load compares, so a clash of digests can only cost a miss)."""
    b = text.encode()
    return f"{zlib.crc32(b):08x}{zlib.adler32(b):08x}"


def key(model_path, options: tuple) -> str | None:
    """The cache key of a model file with these options (a text; its file is named by its digest); None when
    the file cannot be read (the model loader reports that)."""
    from edgerun.runtime import isa

    try:
        path = os.path.abspath(os.fspath(model_path))
        st = os.stat(path)
    except (OSError, TypeError, ValueError):
        return None
    text = repr((path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev, options, isa.current(),
                 build_id()))
    return text


def content_key(content, options: tuple) -> str | None:
    """The cache key of a model given as bytes: their length and SHA-256 (about 0.55 ms a MB here, against the
    several ms a MB that preparing costs), with the options; None when they are not bytes-like (the model
    loader reports that)."""
    import hashlib

    from edgerun.runtime import isa

    try:
        view = memoryview(content)
    except TypeError:
        return None
    digest = hashlib.sha256(view).hexdigest()
    return repr(("bytes", view.nbytes, digest, options, isa.current(), build_id()))


def _encode(x):
    """The interpreter's facts as JSON (never pickle: a cache folder is data, loading it runs no code): numpy
    arrays, dtypes, tuples and dicts with other keys than strings are tagged."""
    import numpy as np

    if isinstance(x, np.ndarray):
        return {"__nd__": [x.dtype.str, list(x.shape), x.reshape(-1).tolist()]}
    if isinstance(x, type) and issubclass(x, np.generic):
        return {"__dt__": np.dtype(x).str}
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, tuple):
        return {"__tu__": [_encode(v) for v in x]}
    if isinstance(x, list):
        return [_encode(v) for v in x]
    if isinstance(x, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in x):
            return {k: _encode(v) for k, v in x.items()}
        return {"__di__": [[_encode(k), _encode(v)] for k, v in x.items()]}
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    raise TypeError(f"plan cache: cannot keep a {type(x).__name__}")


def _decode(x):
    import numpy as np

    if isinstance(x, list):
        return [_decode(v) for v in x]
    if not isinstance(x, dict):
        return x
    if "__nd__" in x:
        dt, shape, values = x["__nd__"]
        return np.array(values, np.dtype(dt)).reshape(shape)
    if "__dt__" in x:
        return np.dtype(x["__dt__"]).type
    if "__tu__" in x:
        return tuple(_decode(v) for v in x["__tu__"])
    if "__di__" in x:
        return {_decode(k): _decode(v) for k, v in x["__di__"]}
    return {k: _decode(v) for k, v in x.items()}


class Entry:
    """An open cache file: the plan bytes (a read-only map) and the interpreter's part."""

    def __init__(self, path: str, mm: mmap.mmap, plan_bytes: int, meta: dict):
        self.path = path
        self.map = mm
        self.plan_bytes = plan_bytes
        self.meta = meta


def load(k: str) -> Entry | None:
    """The entry of key k, or None (absent, or not a whole cache file of this key)."""
    path = os.path.join(folder(), _digest(k) + ".plan")
    try:
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # absent, or empty (mmap of 0 bytes)
        return None
    try:
        n = len(mm)
        if n < TRAILER.size:
            raise ValueError
        meta_bytes, tag = TRAILER.unpack_from(mm, n - TRAILER.size)
        plan_bytes = n - TRAILER.size - meta_bytes
        if tag != TAG or plan_bytes < 16:
            raise ValueError
        meta = _decode(json.loads(mm[plan_bytes:n - TRAILER.size]))
        if not isinstance(meta, dict) or meta.get("key") != k:
            raise ValueError
    except Exception:  # noqa: BLE001 - any damage: not a usable entry; prepare instead (and rewrite it)
        mm.close()
        return None
    return Entry(path, mm, plan_bytes, meta)


_pending: list = []
_pending_lock = threading.Lock()


def store_later(k: str, plan, meta: dict):
    """store() on a thread of its own, so that the load that prepared the plan does not wait for the file (its
    Python part shares the interpreter lock; writing and the checksum release it). Not a daemon: a process
    that ends meanwhile finishes the file first. wait() joins the writes still running."""
    t = threading.Thread(target=store, args=(k, plan, meta), name="edgerun-plan-cache", daemon=False)
    with _pending_lock:
        _pending[:] = [p for p in _pending if p.is_alive()]
        _pending.append(t)
    t.start()


def wait():
    """Wait for the cache files being written (tests; a benchmark before it measures the next load)."""
    with _pending_lock:
        pending = list(_pending)
    for t in pending:
        t.join()


def store(k: str, plan, meta: dict) -> bool:
    """Write the entry of key k (the plan file, then meta). False when the plan cannot be a plan file or the
    folder cannot be written: caching is best effort and never fails the interpreter."""
    from edgerun.errors import EdgerunError
    from edgerun.platforms.planfile import plan_parts

    try:
        parts = plan_parts(plan, keep_unused=True)
    except EdgerunError:
        return False
    meta = dict(meta, key=k)
    try:
        blob = json.dumps(_encode(meta), separators=(",", ":")).encode()
    except TypeError:  # a fact JSON cannot hold: no cache file rather than a wrong one
        return False
    import tempfile

    where = folder()
    tmp = None
    try:
        os.makedirs(where, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".plan", dir=where)
        with os.fdopen(fd, "wb") as f:
            for p in parts:
                f.write(p)
            f.write(blob)
            f.write(TRAILER.pack(len(blob), TAG))
        os.replace(tmp, os.path.join(where, _digest(k) + ".plan"))
        tmp = None
        _trim(where)
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            _unlink(tmp)


def limit_bytes() -> int:
    """The folder's byte limit (EDGERUN_PLAN_CACHE_BYTES, else DEFAULT_LIMIT)."""
    text = os.environ.get("EDGERUN_PLAN_CACHE_BYTES")
    try:
        return int(text) if text else DEFAULT_LIMIT
    except ValueError:
        return DEFAULT_LIMIT


def entries() -> list:
    """(path, bytes) of every cached plan."""
    where = folder()
    if not os.path.isdir(where):
        return []
    return [(e.path, e.stat().st_size) for e in os.scandir(where)
            if e.name.endswith(".plan") and not e.name.startswith(".tmp-")]


def _trim(where: str):
    """Keep the folder under its byte limit: the least recently written plans go first."""
    limit = limit_bytes()
    files = []
    now = time.time_ns()
    for e in os.scandir(where):
        if not e.name.endswith(".plan"):
            continue
        st = e.stat()
        if e.name.startswith(".tmp-"):  # a write a killed process left half done (an hour is beyond any write)
            if now - st.st_mtime_ns > 3600 * 10**9:
                _unlink(e.path)
            continue
        files.append((st.st_mtime_ns, st.st_size, e.path))
    total = sum(f[1] for f in files)
    for _, size, path in sorted(files):
        if total <= limit:
            break
        _unlink(path)  # a process that has it open keeps its mapping
        total -= size


def _unlink(path: str):
    try:
        os.unlink(path)
    except OSError:
        pass


def clear() -> int:
    """Remove every cached plan; the number removed."""
    files = entries()
    for path, _ in files:
        _unlink(path)
    return len(files)
