"""Builtin op names and op options read straight from the model buffer, without the generated flatbuffer module.

Importing schema/schema_generated.py (3,000 classes) costs about 260 ms and 41 MB of resident memory: more than
a keyword-spotting model's whole footprint. Loading needs only two things from it: the BuiltinOperator names
and each op's options table (BuiltinOptions / BuiltinOptions2). runtime/options_table.py carries both as plain
data, generated from the schema (`python -m edgerun.runtime.options --write`; tests/runtime/test_options.py
checks it is current and that every options class reads exactly as the generated object API reads it).

`read(buf, union_type, pos, second)` returns an `Options` object whose attributes have the generated object
API's names (camelCase) and values: scalars (defaults for absent fields), numpy views for vectors of scalars,
bytes for strings. Option tables with a nested table field (none in the TFLite schema today) fall back to
the generated module.
"""
from __future__ import annotations

import struct

import numpy as np

from edgerun.runtime import options_table as _t

_UNPACK = {fmt: struct.Struct("<" + fmt).unpack_from for fmt in "bBhHiIqQfd?"}
_SIZE = {fmt: struct.calcsize("<" + fmt) for fmt in "bBhHiIqQfd?"}
_DTYPE = {fmt: np.dtype("<" + ("b1" if fmt == "?" else fmt)) for fmt in "bBhHiIqQfd?"}


class Options:
    """One op's options: attribute per field (the object API's names); `_class` names the options table."""

    __slots__ = ("__dict__", "_class")

    def __init__(self, cls_name: str, values: dict):
        self._class = cls_name
        self.__dict__.update(values)

    def __repr__(self):
        return f"{self._class}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"

    def __eq__(self, other):
        return isinstance(other, Options) and self._class == other._class and all(
            np.array_equal(a, b) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else a == b
            for a, b in zip(self.__dict__.values(), other.__dict__.values()))

    __hash__ = None


def builtin_name(code: int) -> str:
    return _t.BUILTIN_NAMES.get(code, f"BUILTIN_{code}")


def read(buf, union_type: int, pos: int, second: bool = False):
    """The options table at `pos` of union member `union_type` (BuiltinOptions2 when `second`), or None for an
    unknown member. Raises struct.error / ValueError / IndexError on a malformed table (Model reports those)."""
    entry = (_t.OPTIONS2 if second else _t.OPTIONS1).get(union_type)
    if entry is None:
        return None
    cls_name, fields = entry
    if fields is None:  # a nested table somewhere: the generated object API reads it
        from edgerun.schema import schema_generated as sg

        return getattr(sg, cls_name + "T").InitFromBuf(buf, pos)
    vt = pos - _UNPACK["i"](buf, pos)[0]
    vsize = _UNPACK["H"](buf, vt)[0]
    values = {}
    for name, slot, kind, default in fields:
        off = _UNPACK["H"](buf, vt + slot)[0] if slot < vsize else 0
        if not off:
            values[name] = default
            continue
        p = pos + off
        if len(kind) == 1:
            values[name] = _UNPACK[kind](buf, p)[0]
            continue
        target = p + _UNPACK["I"](buf, p)[0]
        n = _UNPACK["I"](buf, target)[0]
        if kind == "str":
            values[name] = bytes(buf[target + 4:target + 4 + n])
            if len(values[name]) != n:
                raise ValueError(f"{cls_name}.{name}: string runs past the end of the buffer")
        else:  # "[x": a vector of scalars, as a numpy view (what the object API's ...AsNumpy returns)
            fmt = kind[1]
            if target + 4 + n * _SIZE[fmt] > len(buf):
                raise ValueError(f"{cls_name}.{name}: vector of {n} runs past the end of the buffer")
            values[name] = np.frombuffer(buf, _DTYPE[fmt], n, target + 4)
    return Options(cls_name, values)


# -- generation (development time) ------------------------------------------------------------------------

_FBS_SCALARS = {"bool": "?", "byte": "b", "ubyte": "B", "int8": "b", "uint8": "B", "short": "h", "ushort": "H",
                "int16": "h", "uint16": "H", "int": "i", "uint": "I", "int32": "i", "uint32": "I", "long": "q",
                "ulong": "Q", "int64": "q", "uint64": "Q", "float": "f", "float32": "f", "double": "d",
                "float64": "d"}


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _kind(ftype: str, schema):
    """The field's reader kind, or None for what only the object API reads (tables, structs)."""
    if ftype in _FBS_SCALARS:
        return _FBS_SCALARS[ftype]
    if ftype in schema.enums:
        return _FBS_SCALARS[schema.enums[ftype][0] or "int"]
    if ftype == "string":
        return "str"
    if ftype.startswith("[") and ftype[1:-1] in _FBS_SCALARS:
        return "[" + _FBS_SCALARS[ftype[1:-1]]
    if ftype.startswith("[") and ftype[1:-1] in schema.enums:
        return "[" + _FBS_SCALARS[schema.enums[ftype[1:-1]][0] or "int"]
    return None


def generate() -> str:
    """The text of runtime/options_table.py, from schema/schema.fbs (field ids, types) and the generated
    module (object API attribute names and defaults)."""
    from edgerun.runtime.verify import _schema
    from edgerun.schema import schema_generated as sg

    schema = _schema()
    names = {v: k for k, v in vars(sg.BuiltinOperator).items() if not k.startswith("_")}
    lines = ['"""Generated by `python -m edgerun.runtime.options --write` from schema/schema.fbs: do not edit."""',
             "# fmt: off", "BUILTIN_NAMES = {"]
    lines += [f"    {code}: {name!r}," for code, name in sorted(names.items())]
    lines.append("}")
    for var, union in (("OPTIONS1", "BuiltinOptions"), ("OPTIONS2", "BuiltinOptions2")):
        lines.append(f"{var} = {{")
        for i, cls_name in enumerate(schema.unions[union], start=1):
            obj = getattr(sg, cls_name + "T")()
            fields, ok = [], True
            for fname, ftype, fid in schema.tables[cls_name][1]:
                attr = _camel(fname)
                kind = _kind(ftype, schema)
                if attr not in vars(obj):
                    if "deprecated" in fname or kind is not None:
                        continue  # a field flatc leaves out of the object API
                    ok = False
                    break
                if kind is None:
                    ok = False
                    break
                fields.append((attr, 4 + 2 * fid, kind, getattr(obj, attr)))
            lines.append(f"    {i}: ({cls_name!r}, {tuple(fields)!r}),".replace("'", '"') if ok else
                         f"    {i}: ({cls_name!r}, None),".replace("'", '"'))
        lines.append("}")
    lines.append("# fmt: on")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import argparse
    import pathlib

    ap = argparse.ArgumentParser(description="write runtime/options_table.py from the schema")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    path = pathlib.Path(__file__).with_name("options_table.py")
    text = generate()
    if a.check:
        raise SystemExit(0 if path.read_text() == text else f"{path} is stale: python -m edgerun.runtime.options --write")
    path.write_text(text)
    print(f"wrote {path}")
