"""Values and layouts of the ONNX frontend: `Val` (an ONNX value - a constant, or the IR tensors holding it
by layout), layouts (a permutation tuple, or `Cols` for a 2-D value flattened from a channels-last one) and
the helpers that move arrays and shapes between them; `_Emitter` (the shared Emitter, broadcasting with
dynamic dimensions); attribute decoding and the lazy `onnx` import. See the package docstring for how
layouts are tracked."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends import Emitter
from edgerun.converter.ir import Tensor

from edgerun.errors import ConversionError

_FLOAT_TYPES = (np.float16, np.float64)
_LOWEST = float(np.finfo(np.float32).min)
_PLAIN_DTYPES = {np.dtype(t) for t in (np.float32, np.int32, np.int64, np.bool_)}
_ALT_DIM = 3  # stand-in size of a dynamic dimension when tracing which shape entries depend on it


def _onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ConversionError(f"converting ONNX models needs the onnx package ({exc}): pip install 'edgerun[onnx]'"
                              ) from None
    return onnx


# -- layouts ------------------------------------------------------------------------------------------------
class Cols:
    """Layout of a 2-D value whose IR columns are the ONNX columns permuted: ir[:, j] = onnx[:, perm[j]]."""

    __slots__ = ("_h", "perm")

    def __init__(self, perm):
        self.perm = np.asarray(perm, np.int64)
        self._h = hash(self.perm.tobytes())

    def __hash__(self):
        return self._h

    def __eq__(self, other):
        return isinstance(other, Cols) and np.array_equal(self.perm, other.perm)

    def __repr__(self):
        return f"Cols({self.perm.size})"


def _ident(r: int) -> tuple:
    return tuple(range(r))


def _cl(r: int) -> tuple:
    """Channels-last permutation of a channels-first rank-r value."""
    return (0,) + tuple(range(2, r)) + (1,) if r >= 3 else _ident(r)


def _is_perm(layout) -> bool:
    return isinstance(layout, tuple)


def _to_layout(arr, layout, rank: int) -> np.ndarray:
    """An ONNX-layout array (broadcastable to rank `rank`) in `layout`."""
    arr = np.asarray(arr)
    if arr.ndim < rank:
        arr = arr.reshape((1,) * (rank - arr.ndim) + arr.shape)
    if isinstance(layout, Cols):
        return arr[..., layout.perm] if arr.shape[-1] > 1 else arr
    return np.transpose(arr, layout)


def _drop_axes_perm(perm: tuple, axes) -> tuple:
    """The layout of a value in `perm` once the ONNX axes `axes` are removed."""
    keep = [p for p in perm if p not in axes]
    order = sorted(keep)
    return tuple(order.index(p) for p in keep)


def _bshape(*shapes) -> tuple:
    """Broadcast IR shapes (-1 = dynamic)."""
    r = max(len(s) for s in shapes)
    out = []
    for i in range(r):
        ds = [s[len(s) - r + i] for s in shapes if len(s) - r + i >= 0]
        static = {d for d in ds if d > 1}
        if len(static) > 1:
            raise ConversionError(f"shapes {list(shapes)} do not broadcast")
        out.append(static.pop() if static else (-1 if any(d < 0 for d in ds) else 1))
    return tuple(out)


def _strip_leading_ones(arr: np.ndarray) -> np.ndarray:
    while arr.ndim > 1 and arr.shape[0] == 1:
        arr = arr[0]
    return arr


def _np_float(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype in _FLOAT_TYPES or arr.dtype.kind == "V" or str(arr.dtype) == "bfloat16":
        return arr.astype(np.float32)
    return arr


class _Emitter(Emitter):
    """The shared Emitter with broadcasting that accepts -1 (dynamic) dimensions."""

    def binary(self, type: str, a, b, act: int = 0) -> Tensor:
        ref = a if isinstance(a, Tensor) else b
        a, b = self.as_tensor(a, ref.dtype), self.as_tensor(b, ref.dtype)
        opts = {"fusedActivationFunction": act} if type in ("ADD", "SUB", "MUL", "DIV") else None
        return self.op1(type, [a, b], _bshape(a.shape, b.shape), opts)


class Val:
    """An ONNX value: a constant (numpy, ONNX layout) or the IR tensors holding it, by layout."""

    def __init__(self, name: str, shape, dtype, const=None, dyn=frozenset()):
        self.name = name
        self.shape = tuple(int(d) for d in shape)  # static ONNX shape (dynamic dims computed as 1)
        self.dtype = np.dtype(dtype)
        self.const = const
        self.forms: dict = {}  # layout -> Tensor; the first is the primary layout
        self.dyn = frozenset(dyn)  # ONNX axes of dynamic size
        self.derive = None  # () -> identity-layout Tensor, for values that exist only in a column layout
        self.fold = None  # [(op, weight index, bias index, weight out-axis, first channel, channels)]
        self.fc_op = None  # the FULLY_CONNECTED without bias that computes this value (MatMul + Add fusion)
        # for constants computed from the shape of a value with dynamic dimensions: the same computation with
        # those dimensions at _ALT_DIM instead of 1 (entries that differ depend on the dynamic size)
        self.alt = None

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def primary(self):
        return next(iter(self.forms)) if self.forms else _ident(self.rank)

    def perm_layout(self):
        """The first permutation layout (column layouts skipped), or None."""
        return next((lay for lay in self.forms if _is_perm(lay)), None)

    def __repr__(self):
        kind = "const " if self.const is not None else ""
        return f"<{kind}Val {self.name!r} {self.shape} {list(self.forms)}>"


def _attr(a):
    from onnx import helper

    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [x.decode() for x in v]
    return v
