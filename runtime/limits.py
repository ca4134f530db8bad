"""Bounds on what a model file can make edgerun allocate or loop over (issue 12).

Prepare compares every size it derives from the file (tensor bytes, index tables, packed weights, scratch,
variables, the arena) with one limit, `max_memory_bytes`, before allocating anything, with exact integer
arithmetic (no int64 wrap-around), and raises MemoryLimitError naming the tensor or op and the bytes asked.
The default is tied to the machine: min(physical RAM / 2, 16 GiB).
"""
from __future__ import annotations

import math
import os

from edgerun.errors import MemoryLimitError

GiB = 1 << 30
MAX_DIM = (1 << 31) - 1  # er_tensor dims are int32
INDEX_BYTES = 8  # prepare may build one int64 entry per index of each output dimension (index maps)


def physical_memory() -> int:
    """Bytes of physical RAM (8 GiB when the platform does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 8 * GiB


_DEFAULT = []


def default_max_memory_bytes() -> int:
    if not _DEFAULT:
        _DEFAULT.append(min(physical_memory() // 2, 16 * GiB))
    return _DEFAULT[0]


def resolve(max_memory_bytes) -> int:
    """The limit to use: the caller's (a positive int) or the machine's default (None)."""
    if max_memory_bytes is None:
        return default_max_memory_bytes()
    if isinstance(max_memory_bytes, bool) or not isinstance(max_memory_bytes, int) or max_memory_bytes <= 0:
        raise ValueError(f"max_memory_bytes must be a positive int, got {max_memory_bytes!r}")
    return int(max_memory_bytes)


def fmt(n: int) -> str:
    if n >= GiB:
        return f"{n:,} bytes ({n / GiB:,.1f} GiB)"
    if n >= 1 << 20:
        return f"{n:,} bytes ({n / (1 << 20):,.1f} MiB)"
    return f"{n:,} bytes"


def check_bytes(nbytes: int, what: str, limit: int) -> int:
    """`nbytes` if it is within `limit`, else a MemoryLimitError naming `what`."""
    nbytes = int(nbytes)
    if nbytes > limit:
        raise MemoryLimitError(f"{what} needs {fmt(nbytes)}, more than max_memory_bytes={limit:,}")
    return nbytes


def tensor_bytes(shape, itemsize: int, what, limit: int) -> int:
    """Bytes of a tensor of `shape`, checked: dims non-negative and int32, the size (exact, and the
    per-dimension index tables prepare may build) within `limit`. `what` names the tensor in the error: a
    string, or a function making it (called only to raise: prepare checks every tensor of a model)."""
    shape = tuple(map(int, shape))
    if shape and (min(shape) < 0 or max(shape) > MAX_DIM):
        d = next(d for d in shape if d < 0 or d > MAX_DIM)
        what = what() if callable(what) else what
        raise MemoryLimitError(f"{what}: dimension {d} of shape {shape} is outside 0..{MAX_DIM}")
    nbytes = math.prod(shape) * int(itemsize)
    if nbytes > limit or sum(shape) * INDEX_BYTES > limit:  # the messages are formatted only when raised
        what = what() if callable(what) else what
        check_bytes(nbytes, f"{what} of shape {shape}", limit)
        check_bytes(sum(shape) * INDEX_BYTES, f"the index tables of {what} of shape {shape}", limit)
    return nbytes


def threads_for(num_threads) -> int:
    """The threads an interpreter's kernels use for LiteRT's `num_threads`: None, 0 and 1 give one (no thread
    is started); -1 one per CPU this process may run on; n > 1 gives n."""
    if num_threads is None or num_threads in (0, 1):
        return 1
    if num_threads == -1:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    return int(num_threads)
