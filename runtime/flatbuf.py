"""A lean flatbuffer reader for what loading a model needs: tables, scalars, strings and vectors read with
`struct` and `numpy.frombuffer` straight from the buffer (bytes or mmap), no copies of weights.

The generated module (schema/schema_generated.py) stays for the writer, the tests and the object-API options;
its accessors cost a Python call chain per field, which made parsing most of a model's load time. Field
numbers are the schema's field order (schema/schema.fbs). Positions read from the file are checked to lie in
it; a bad one raises ValueError or struct.error, which Model turns into ModelError.
"""
from __future__ import annotations

import struct

import numpy as np

_U32 = struct.Struct("<I").unpack_from
_I32 = struct.Struct("<i").unpack_from
_U16 = struct.Struct("<H").unpack_from
_VTABLES: dict = {}  # field count -> unpacker of a vtable's offsets
_SCALARS = {fmt: struct.Struct("<" + fmt).unpack_from for fmt in "bBhHiIqQf?"}


class Table:
    """One table: its position and the absolute position of each present field (0 when absent)."""

    __slots__ = ("buf", "declared", "fields", "pos")

    def __init__(self, buf, pos: int, size: int):
        if not 0 <= pos <= size - 4:
            raise ValueError(f"table at {pos} is outside the file")
        vt = pos - _I32(buf, pos)[0]
        if not 0 <= vt <= size - 4:
            raise ValueError(f"vtable of the table at {pos} is outside the file")
        vsize = _U16(buf, vt)[0]
        self.declared = n = max(vsize - 4, 0) // 2
        n = min(n, max(size - vt - 4, 0) // 2)  # a vtable running past the end fails only when read there
        self.buf = buf
        self.pos = pos
        vtable = _VTABLES.get(n)
        if vtable is None:
            vtable = _VTABLES[n] = struct.Struct(f"<{n}H").unpack_from
        self.fields = vtable(buf, vt + 4)  # offsets from pos, 0: absent

    def positions(self, n: int) -> tuple:
        """Absolute positions of fields 0..n-1 (0 when absent), for readers that take every field anyway."""
        f = self.fields
        if len(f) < n and self.declared > len(f):
            raise ValueError(f"vtable of the table at {self.pos} runs past the end of the file")
        pos = self.pos
        out = tuple([pos + o if o else 0 for o in f[:n]])
        return out + (0,) * (n - len(out))

    def _at(self, i: int) -> int:
        """Absolute position of field i, 0 when absent."""
        f = self.fields
        if i < len(f):
            o = f[i]
            return self.pos + o if o else 0
        if i < self.declared:
            raise ValueError(f"vtable of the table at {self.pos} runs past the end of the file")
        return 0

    def scalar(self, i: int, fmt: str, default=0):
        p = self._at(i)
        return _SCALARS[fmt](self.buf, p)[0] if p else default

    def _target(self, i: int) -> int:
        """Where the offset stored in field i points (0: field absent)."""
        p = self._at(i)
        return p + _U32(self.buf, p)[0] if p else 0

    def table(self, i: int, size: int):
        p = self._target(i)
        return Table(self.buf, p, size) if p else None

    def union_pos(self, i: int) -> int:
        return self._target(i)

    def string(self, i: int):
        """bytes, or None when absent (like the generated accessors: truncated at the end of the file)."""
        p = self._target(i)
        if not p:
            return None
        n = _U32(self.buf, p)[0]
        return bytes(self.buf[p + 4:p + 4 + n])

    def vector(self, i: int) -> tuple:
        """(start of the elements, count); (0, 0) when absent."""
        p = self._target(i)
        if not p:
            return 0, 0
        return p + 4, _U32(self.buf, p)[0]

    def ints(self, i: int, size: int) -> tuple:
        """An int32 vector as a tuple of Python ints."""
        start, n = self.vector(i)
        if not n:
            return ()
        if start + 4 * n > size:
            raise ValueError(f"int vector of {n} elements at {start} runs past the end of the file")
        return struct.unpack_from(f"<{n}i", self.buf, start)

    def array(self, i: int, dtype: str):
        """A numeric vector as a numpy view into the buffer (empty when absent)."""
        start, n = self.vector(i)
        return np.frombuffer(self.buf, dtype=dtype, count=n, offset=start) if n else np.zeros(0, dtype)

    def tables(self, i: int, size: int) -> list:
        """A vector of tables."""
        start, n = self.vector(i)
        if start + 4 * n > size:
            raise ValueError(f"table vector of {n} elements at {start} runs past the end of the file")
        buf = self.buf
        offs = struct.unpack_from(f"<{n}I", buf, start) if n else ()
        return [Table(buf, start + 4 * j + o, size) for j, o in enumerate(offs)]
