"""The prepared plan as plain data: what prepare hands to every back end.

A Plan holds no cffi object. It lists subplans (subgraph 0 first, then the subgraphs that control-flow ops
run), constants (model weights and everything prepare derived: packed weights, multipliers, tables), variables
(state kept across invoke() calls) and the size of the one arena all activations and scratch live in:

    Plan
      subplans[k]  tensors (type, shape, quantization, where the bytes live), ops, inputs, outputs
      consts[c]    numpy arrays (views into the model file where possible)
      variables[v] name, type, shape, initial value (a const id or zeros)
      arena_bytes

Each op record names its C kernel (`er_<kernel>` in kernels/list/*.inc), its parameter block as `Params`
(the C struct's type and field values; pointer fields are `ConstRef`s into consts or `SubplanRef`s), its
tensor ids, and its scratch (offset, bytes) in the arena. The desktop interpreter materializes a Plan through
cffi (runtime/materialize.py), the code generator writes the same Plan as C source (platforms/codegen).
`str(plan)` prints it.
"""
from __future__ import annotations

import dataclasses
import math
import struct
from typing import Any, Callable

import numpy as np


# Where a tensor's bytes live
ARENA = "arena"          # offset into the arena
CONST = "const"          # offset = const id
VARIABLE = "variable"    # offset = variable id (persistent, outside the arena)
NONE = "none"            # not used by any op of this subplan
OBJECT = "object"        # a Python object array kept by the interpreter (STRING tensors: runtime/strings.py)


@dataclasses.dataclass(frozen=True)
class ConstRef:
    """A pointer field: byte `offset` into constant `const`."""

    const: int
    offset: int = 0


@dataclasses.dataclass(frozen=True)
class SubplanRef:
    """A pointer field to another subplan of the same Plan (control-flow ops)."""

    subplan: int


@dataclasses.dataclass(frozen=True)
class VariableRef:
    """A pointer field to the storage of a plan variable (persistent state such as CALL_ONCE's flag)."""

    variable: int


class Params:
    """A kernel's parameter block: the C struct type (`er_qconv_params`) and its field values. A value is an
    int, a float, None (NULL pointer), a ConstRef, a SubplanRef, a nested Params (struct member) or a list
    (array member).

    Blocks that prepare reads from a handler's C struct (`params_from_cffi`) keep that struct's bytes
    (`image`) and their resolved pointer leaves (`pointers`: byte offset -> ConstRef/SubplanRef/VariableRef/None)
    and decode `fields` only when someone reads them (code generation, plan files, printing): loading a model
    on the desktop copies the image and sets its pointers (runtime/materialize.py). Reading `fields` drops
    the image, so a caller may change the fields it got."""

    __slots__ = ("_fields", "ctype", "image", "pointers")

    def __init__(self, ctype: str, fields: dict | None = None, *, image: bytes | None = None,
                 pointers: dict | None = None):
        self.ctype = ctype
        self._fields = fields
        self.image = image
        self.pointers = pointers

    @property
    def fields(self) -> dict:
        if self._fields is None:
            self._fields = _decode(self.ctype, self.image, self.pointers)
        self.image = self.pointers = None
        return self._fields

    def subplan_refs(self):
        """The SubplanRef ids of the block (nested members included), in declaration order; None when the
        block has only `fields` (the caller walks them)."""
        if self.image is None:
            return None
        return [v.subplan for v in self.pointers.values() if isinstance(v, SubplanRef)]

    def __eq__(self, other):
        return isinstance(other, Params) and self.ctype == other.ctype and self.fields == other.fields

    def __repr__(self):
        return f"Params(ctype={self.ctype!r}, fields={self.fields!r})"

    def __str__(self):
        def show(v):
            if isinstance(v, ConstRef):
                return f"&c{v.const}" + (f"+{v.offset}" if v.offset else "")
            if isinstance(v, SubplanRef):
                return f"&plan{v.subplan}"
            if isinstance(v, VariableRef):
                return f"&var{v.variable}"
            if isinstance(v, Params):
                return str(v)
            if isinstance(v, list):
                return "[" + ", ".join(show(x) for x in v) + "]"
            return "NULL" if v is None else repr(v)

        return self.ctype + "{" + ", ".join(f"{k}={show(v)}" for k, v in self.fields.items()) + "}"


@dataclasses.dataclass(frozen=True)
class RunOnce:
    """The `python` of an op record that runs subplan `subplan` once, in the interpreter: CALL_ONCE of a
    subgraph holding Python ops (a hashtable's initializer). It runs while int32 variable `done` is 0, then
    sets it."""

    subplan: int
    done: int


def floats_tuple(a) -> tuple:
    """Python floats of an array-like, in order (tolist: the same floats as float() per element, no Python
    loop)."""
    if getattr(a, "size", None) == 0:
        return ()
    return tuple(np.asarray(a, dtype=np.float64).ravel().tolist())


def ints_tuple(a) -> tuple:
    if getattr(a, "size", None) == 0:
        return ()
    a = np.asarray(a)
    return tuple((a if a.dtype.kind in "iu" else a.astype(np.int64)).ravel().tolist())


class _QuantField:
    """PlanTensor.scale / zero_point: a tuple whenever read. Prepare may store the model's numpy array
    instead; it becomes the tuple at the first read. A plan that the desktop materializes hands its per-channel
    parameters to C as those arrays (PlanTensor.qarrays) and never reads the tuples: thousands of Python
    numbers per model that loading no longer makes."""

    def __init__(self, convert):
        self.convert = convert

    def __set_name__(self, owner, name):
        self.attr = "_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            return ()  # the dataclass field's default
        v = obj.__dict__[self.attr]
        if type(v) is np.ndarray:
            t = obj.__dict__[self.attr] = self.convert(v)
            qa = obj.__dict__.get("qarrays")
            if qa is not None and qa[0] is v:  # the arrays stay valid for the tuple made of them
                obj.qarrays = (t,) + qa[1:]
            return t
        return v

    def __set__(self, obj, value):
        obj.__dict__[self.attr] = value


@dataclasses.dataclass
class PlanTensor:
    index: int
    name: str
    type: int                    # TFLite TensorType
    shape: tuple
    # per-tensor: one entry; per-channel: one per channel (tuples; prepare may store numpy arrays, read as
    # tuples: _QuantField)
    scale: tuple = _QuantField(floats_tuple)
    zero_point: tuple = _QuantField(ints_tuple)
    quant_dim: int = 0
    storage: str = NONE          # ARENA, CONST, VARIABLE or NONE
    offset: int = 0              # arena byte offset, const id or variable id
    nbytes: int = 0
    # (scale, float32 array, int64 array): the quantization as prepare had it in numpy, so that materializing
    # does not convert the tuples back (valid while `scale` is that very value, tuple or pending array; copies
    # start without it)
    qarrays: tuple | None = dataclasses.field(default=None, init=False, repr=False, compare=False)

    @property
    def count(self) -> int:
        return math.prod(map(int, self.shape)) if self.shape is not None else 0

    def quant_arrays(self):
        """(float32 scales, int64 zero points) as prepare kept them (qarrays), without making the tuples; None
        when it kept none, `scale` changed since, or the arrays do not match it."""
        qa = self.qarrays
        raw = self.__dict__["_scale"]
        if qa is None or qa[0] is not raw or not qa[1].size == len(raw) == qa[2].size:
            return None
        return qa[1], qa[2]


@dataclasses.dataclass
class PlanOp:
    index: int                   # operator index in its subgraph (error messages)
    op: str                      # op type ("CONV_2D", a custom code, ...)
    kernel: str                  # C kernel name without the er_ prefix; "python" for a Python kernel
    params: Params | None
    inputs: list                 # tensor ids of the subplan, -1 for an absent optional input
    outputs: list
    scratch_offset: int = 0      # arena byte offset of the op's scratch
    scratch_bytes: int = 0
    python: Callable | None = None  # fn(inputs, outputs) for ops implemented in Python (desktop only)

    @property
    def label(self) -> str:
        return f"op #{self.index} {self.op}"


@dataclasses.dataclass
class Subplan:
    subgraph: int                # the model's subgraph index
    tensors: list                # PlanTensor per tensor id
    ops: list                    # PlanOp in execution order
    inputs: list
    outputs: list
    arena_offset: int = 0        # start of this subplan's region of the arena
    arena_bytes: int = 0         # size of that region (nested subplans included)
    preserve_inputs: bool = True  # inputs stay intact for the whole run (TFLite); False: they die at last use


@dataclasses.dataclass
class Variable:
    key: tuple                   # ("tensor", subgraph, tensor index) or ("resource", container, shared_name)
    name: str
    type: int
    shape: tuple
    initial: int | None = None   # const id of the initial value, None for zeros
    nbytes: int = 0


@dataclasses.dataclass
class Plan:
    subplans: list
    consts: list                 # numpy arrays
    variables: list
    arena_bytes: int
    target: str = "desktop"
    isa: str = ""
    alignment: int = 64
    info: dict = dataclasses.field(default_factory=dict)  # folded-op count, prepared bytes, ...

    @property
    def main(self) -> Subplan:
        return self.subplans[0]

    def kernels(self) -> list:
        """Names of the C kernels the plan calls, in first-use order."""
        seen = {}
        for sp in self.subplans:
            for op in sp.ops:
                if op.python is None:
                    seen.setdefault(op.kernel, None)
        return list(seen)

    def python_ops(self) -> list:
        return [(sp.subgraph, op) for sp in self.subplans for op in sp.ops if op.python is not None]

    def device_blocker(self) -> str | None:
        """Why this plan cannot leave the desktop interpreter for a fixed-size target (plan file, generated
        C), or None: a STRING or hashtable tensor (variable-size data, kept as Python objects)."""
        for sp in self.subplans:
            for t in sp.tensors:
                if t.storage != NONE and t.type in (5, 13) and (t.storage != VARIABLE or
                                                               self.variables[t.offset].type in (5, 13)):
                    what = "STRING" if t.type == 5 else "hashtable"
                    return (f"subgraph {sp.subgraph} tensor {t.index} '{t.name}' is a {what} tensor; plan files "
                            f"and generated C carry fixed-size tensors only (string and hashtable ops run in the "
                            f"interpreter)")
        return None

    def __str__(self):
        lines = [f"plan for {self.target} ({self.isa}): arena {self.arena_bytes} B, {len(self.consts)} consts "
                 f"({sum(int(c.nbytes) for c in self.consts)} B), {len(self.variables)} variables"]
        for v in self.variables:
            lines.append(f"  var{self.variables.index(v)} {v.name} type {v.type} {tuple(v.shape)} "
                         f"init {'c%d' % v.initial if v.initial is not None else 'zeros'}")
        for k, sp in enumerate(self.subplans):
            lines.append(f"plan{k} (subgraph {sp.subgraph}) arena [{sp.arena_offset}, "
                         f"{sp.arena_offset + sp.arena_bytes}) inputs {sp.inputs} outputs {sp.outputs}")
            for t in sp.tensors:
                if t.storage != NONE:
                    lines.append(f"  t{t.index} {t.name!r} type {t.type} {tuple(t.shape)} {t.storage}:{t.offset}"
                                 + (f" q{list(t.scale)[:2]}/{list(t.zero_point)[:2]}" if t.scale else ""))
            for op in sp.ops:
                scratch = f" scratch {op.scratch_bytes}@{op.scratch_offset}" if op.scratch_bytes else ""
                lines.append(f"  {op.label}: {op.kernel}({op.inputs} -> {op.outputs}){scratch} {op.params or ''}")
        return "\n".join(lines)


def params_from_cffi(ffi, ptr, resolve) -> Params:
    """Plain data from a cffi struct pointer: the struct's bytes, and its pointers resolved by
    `resolve(address, ctype) -> ConstRef | SubplanRef` (None for NULL is handled here), in declaration
    order; the other fields are decoded from the bytes when read (Params.fields)."""
    t = ffi.typeof(ptr)
    if t.kind != "pointer":
        ptr = ffi.addressof(ptr)
        t = ffi.typeof(ptr)
    t = t.item
    image = ffi.buffer(ptr)[:]
    pointers = {}
    for off, cname in pointer_leaves(ffi, t):
        addr = _ADDR(image, off)[0]
        pointers[off] = None if addr == 0 else resolve(addr, cname)
    return Params(t.cname.replace("struct ", ""), image=image, pointers=pointers)


_ADDR = struct.Struct("P").unpack_from
_LEAVES: dict = {}


def pointer_leaves(ffi, t) -> list:
    """(byte offset, C type name) of every pointer leaf of struct type `t` (nested structs and arrays
    included), in declaration order; computed once per type."""
    out = _LEAVES.get(t)
    if out is None:
        out = []

        def walk(ft, off):
            if ft.kind == "struct":
                for name, f in ft.fields:
                    walk(f.type, off + f.offset)
            elif ft.kind == "array":
                for i in range(ft.length):
                    walk(ft.item, off + i * ffi.sizeof(ft.item))
            elif ft.kind == "pointer":
                out.append((off, ft.cname))
            elif ft.kind not in ("primitive", "enum"):
                raise TypeError(f"cannot represent a field of C type {ft.cname} in a plan")

        walk(t, 0)
        _LEAVES[t] = out
    return out


def _decode(ctype: str, image: bytes, pointers: dict) -> dict:
    """The fields of a params block from its struct bytes and resolved pointers."""
    from edgerun.kernels import ffi

    t = ffi.typeof(ctype)
    obj = ffi.new(ctype + " *")
    ffi.memmove(obj, image, len(image))
    return _struct(ffi, t, obj[0], lambda addr, cname: None, pointers, 0).fields


def _struct(ffi, t, obj, resolve, pointers=None, base=0) -> Params:
    fields = {}
    for name, f in t.fields:
        fields[name] = _value(ffi, f.type, getattr(obj, name), resolve, pointers, base + f.offset)
    return Params(t.cname.replace("struct ", ""), fields)


def _value(ffi, t, v, resolve, pointers=None, off=0) -> Any:
    if t.kind == "primitive":
        return float(v) if t.cname in ("float", "double") else int(v)
    if t.kind == "struct":
        return _struct(ffi, t, v, resolve, pointers, off)
    if t.kind == "array":
        size = ffi.sizeof(t.item)
        return [_value(ffi, t.item, v[i], resolve, pointers, off + i * size) for i in range(t.length)]
    if t.kind == "pointer":
        if pointers is not None:
            return pointers.get(off)
        addr = int(ffi.cast("uintptr_t", v))
        return None if addr == 0 else resolve(addr, t.cname)
    if t.kind == "enum":
        return int(v)
    raise TypeError(f"cannot represent a field of C type {t.cname} in a plan")
