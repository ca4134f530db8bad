"""STRING tensors: TFLite's string buffer format and the numpy form edgerun keeps them in.

A STRING tensor's buffer is `int32 count`, `count + 1` int32 byte offsets from the buffer's start, then the
bytes of every string back to back (string i is bytes[offset[i]:offset[i + 1]]). edgerun holds string tensors
as numpy object arrays of `bytes`, outside the arena (their size depends on the data), as LiteRT's Python API
returns them; only Python kernels read or write them, so plans holding them run in the interpreter and plan
files / generated C refuse them (runtime/plan.py device_blocker).
"""
from __future__ import annotations

import struct

import numpy as np

from edgerun.errors import DtypeError, ModelError

STRING = 5
RESOURCE = 13


def decode(raw, shape, where: str) -> np.ndarray:
    """The object array (of `shape`) of a TFLite string buffer, every offset checked."""
    raw = bytes(memoryview(raw).cast("B"))
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) < 4:
        raise ModelError(f"{where}: string buffer of {len(raw)} bytes has no count")
    n = struct.unpack_from("<i", raw, 0)[0]
    if n != count:
        raise ModelError(f"{where}: string buffer holds {n} strings, shape {tuple(shape)} needs {count}")
    if 4 * (n + 2) > len(raw):
        raise ModelError(f"{where}: string buffer of {len(raw)} bytes is too short for {n} offsets")
    offs = np.frombuffer(raw, "<i4", n + 1, 4).astype(np.int64)
    if offs[0] < 4 * (n + 2) or offs[-1] > len(raw) or np.any(np.diff(offs) < 0):
        raise ModelError(f"{where}: string buffer offsets are out of order or past its {len(raw)} bytes")
    out = np.empty(count, dtype=object)
    for i in range(n):
        out[i] = raw[offs[i]:offs[i + 1]]
    return out.reshape(shape)


def encode(values) -> bytes:
    """The TFLite string buffer of an array of bytes (row-major)."""
    items = [bytes(v) for v in np.asarray(values, dtype=object).ravel()]
    n = len(items)
    offs, at = [], 4 * (n + 2)
    for s in items:
        offs.append(at)
        at += len(s)
    offs.append(at)
    return struct.pack(f"<{n + 2}i", n, *offs) + b"".join(items)


def as_bytes_array(value, where: str) -> np.ndarray:
    """A value given to set_tensor for a STRING tensor as an object array of bytes: numpy bytes (S), str (U,
    UTF-8 encoded) or object arrays of bytes/str, as LiteRT's Python API accepts them."""
    a = np.asarray(value)
    if a.dtype.kind == "S":
        return np.array([bytes(x) for x in a.ravel()] or [], dtype=object).reshape(a.shape)
    if a.dtype.kind in "UO":
        out = np.empty(a.size, dtype=object)
        for i, x in enumerate(a.ravel()):
            if isinstance(x, (bytes, np.bytes_)):
                out[i] = bytes(x)
            elif isinstance(x, str):
                out[i] = x.encode("utf-8")
            else:
                raise DtypeError(f"Cannot set tensor: element {i} is {type(x).__name__}, expected bytes or str "
                                 f"for {where}")
        return out.reshape(a.shape)
    from edgerun.runtime.ops import TFLITE_DTYPES, TYPE_NAMES

    got = next((n for k, n in TYPE_NAMES.items() if TFLITE_DTYPES.get(k) == a.dtype), str(a.dtype).upper())
    raise DtypeError(f"Cannot set tensor: Got value of type {got} but expected type STRING for {where}")


def empty(shape) -> np.ndarray:
    """A string tensor of `shape` holding empty strings."""
    out = np.empty(int(np.prod(shape, dtype=np.int64)), dtype=object)
    out[:] = b""
    return out.reshape(shape)
