"""The closed op table: one handler per TFLite op, registered by the op-family modules of this package.

A handler runs once at prepare time. It reads `ctx` (input shapes, dtypes, quantization, constant data,
options), sets every output's shape (and checks dtypes), computes the kernel's parameters, and returns what
runs at invoke time:

    @register("ADD")
    def add(ctx):
        a, b = ctx.inputs
        ctx.outputs[0].shape = broadcast_shape(ctx, a.shape, b.shape)
        p = ctx.new("er_binary_params *", {"activation": ctx.opt("fusedActivationFunction", 0)})
        return Kernel("f32_add", p)

`Kernel(name, params, scratch_bytes)` runs the C kernel `er_<name>` (listed in kernels/list/*.inc).
`PyKernel(fn)` runs `fn(inputs, outputs)` in Python with numpy arrays over the arena (custom and rare ops);
it splits the plan into C segments around it. `fn` receives `None` for absent optional inputs.
"""
from __future__ import annotations

import dataclasses
import importlib
import math
from typing import Any, Callable

import numpy as np

from edgerun.errors import DtypeError, RunTimeShapeError, ShapeError, UnsupportedOpError, op_label
from edgerun.runtime import limits
from edgerun.runtime.plan_cache import USER_CUSTOMS

from edgerun.runtime.dtypes import DTYPE_TO_TFLITE, TFLITE_DTYPES, TYPE_NAMES  # noqa: E402,F401 (re-exported)


@dataclasses.dataclass
class TensorInfo:
    """What a handler knows of a tensor at prepare time."""

    index: int
    name: str
    type: int  # TFLite TensorType
    shape: tuple | None  # None for an output until the handler sets it
    scale: np.ndarray  # float32, empty when not quantized
    zero_point: np.ndarray  # int64, empty when not quantized
    quant_dim: int = 0
    data: np.ndarray | None = None  # the value, for constants (weights, or folded at prepare)
    sparsity: Any = None  # flatc SparsityParametersT for sparse constants (DENSIFY)
    variable: int | None = None  # a resource handle (VAR_HANDLE's output): the plan variable it names

    @property
    def dtype(self) -> np.dtype:
        return TFLITE_DTYPES.get(self.type)

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, str(self.type))

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def quantized(self) -> bool:
        return self.scale.size > 0

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(map(int, self.shape)) if self.shape is not None else 0


@dataclasses.dataclass
class Kernel:
    """A C kernel call: `er_<name>(op)` with `params` (a cffi pointer, plain plan.Params, or None).
    `Kernel(None)`: nothing runs at invoke (the handler did all there is to do at prepare)."""

    name: str | None
    params: Any = None
    scratch_bytes: int = 0
    # Fold at prepare whenever every input is constant, whatever the output size (weight transforms such
    # as DEQUANTIZE of float16/int8 weights), instead of only small shape arithmetic.
    fold: bool = False


@dataclasses.dataclass
class PyKernel:
    """A Python implementation: fn(inputs: list[np.ndarray|None], outputs: list[np.ndarray]) -> None, or a
    list with a new array (or None) per output: STRING outputs whose shape depends on the data (SKIP_GRAM)
    are replaced by the arrays returned."""

    fn: Callable
    name: str = "python"
    # plan.Params naming subplans the Python op runs (CALL_ONCE of a subgraph with Python ops): lifetimes
    # reserve their arena regions as for a C control-flow record
    params: Any = None


class OpContext:
    """Prepare-time view of one op. Handlers raise through ctx.unsupported / ctx.shape_error."""

    def __init__(self, index, name, version, options, custom_options, inputs, outputs, ffi, runtime=None,
                 isa: str | None = None, max_memory_bytes: int | None = None):
        self.index = index
        self.name = name  # builtin op name ("CONV_2D") or the custom code ("MaxPoolingWithArgmax2D")
        self.version = version
        self.options = options  # flatc object-API options (e.g. Conv2DOptionsT), or None
        self.custom_options = custom_options  # bytes or None
        self.inputs: list[TensorInfo | None] = inputs
        self.outputs: list[TensorInfo] = outputs
        self.ffi = ffi
        self.runtime = runtime  # the preparing subgraph (WHILE/IF reach other subgraphs through it)
        self.keepalive: list = []
        self.const_arrays: list = []  # arrays that params point into (they become constants of the plan)
        self.prepared_bytes = 0  # bytes of packed/derived constants made by the handler
        # every size the handler derives from the model is checked against this before it allocates
        self.max_memory_bytes = limits.resolve(max_memory_bytes)
        if isa is None:
            from edgerun.runtime.isa import current  # EDGERUN_ISA, checked and selected at its first import

            isa = current()
        # the kernel ISA the plan is prepared for (runtime/isa.py NAMES; None above: this desktop's): "ref" =
        # reference kernels only, no ISA-specific packing (plans for devices); else the optimized kernels
        self.isa = isa

    # -- options -------------------------------------------------------------------------------------
    def opt(self, field: str, default=None):
        """An option's value (flatc camelCase field name), or `default` when the op has no options."""
        if self.options is None:
            return default
        return getattr(self.options, field, default)

    # -- memory the kernel points at -----------------------------------------------------------------
    def new(self, ctype: str, init=None):
        """ffi.new kept alive for the life of the plan."""
        obj = self.ffi.new(ctype, init)
        self.keepalive.append(obj)
        return obj

    def const_ptr(self, array: np.ndarray, ctype: str = "void *"):
        """A C pointer to a prepared constant array (packed weights, tables), kept alive with the plan.
        The array is made C-contiguous and its bytes count toward the interpreter's weight memory."""
        self.reserve(int(np.asarray(array).nbytes), "a prepared constant")
        array = np.ascontiguousarray(array)
        self.keepalive.append(array)
        self.const_arrays.append(array)
        self.prepared_bytes += array.nbytes
        buf = self.ffi.from_buffer(array, require_writable=False)
        self.keepalive.append(buf)
        return self.ffi.cast(ctype, buf)

    def reserve(self, nbytes: int, what: str) -> int:
        """Check that `nbytes` (exact int arithmetic) for `what` fits the memory limit, before allocating it;
        prepared constants of this op count together."""
        total = self.prepared_bytes + int(nbytes)
        if total > self.max_memory_bytes:  # the message (the op's label) is made only to raise
            limits.check_bytes(total, f"{self.label}: {what}", self.max_memory_bytes)
        return total - self.prepared_bytes

    # -- errors --------------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return op_label(self.index, self.name)

    def unsupported(self, what: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.label}: {what}")

    def needs_value(self, tensors, what: str) -> RunTimeShapeError:
        """The op's output shape depends on the run-time values of `tensors` (TensorInfo or indices): the
        Interpreter then prepares what follows once those values exist (runtime/staged.py)."""
        idx = [t if isinstance(t, int) else t.index for t in tensors]
        return RunTimeShapeError(f"{self.label}: {what}, so its output shape is known only at run time (the "
                                 f"desktop Interpreter runs such graphs in stages; plan files and generated C need "
                                 f"every shape at prepare)", idx)

    def shape_error(self, what: str) -> ShapeError:
        return ShapeError(f"{self.label}: {what}")

    def dtype_error(self, what: str) -> DtypeError:
        return DtypeError(f"{self.label}: {what}")

    def check_inputs(self, at_least: int, at_most: int | None = None):
        n = len(self.inputs)
        if n < at_least or (at_most is not None and n > at_most):
            want = at_least if at_most == at_least else f"{at_least}..{at_most if at_most is not None else 'n'}"
            raise UnsupportedOpError(f"{self.label}: expected {want} inputs, got {n}")
        for i in range(at_least):
            if self.inputs[i] is None:
                raise UnsupportedOpError(f"{self.label}: required input {i} is missing")

    def declared_shape(self, i: int):
        """Output i's shape as the model file declares it (None when unknown)."""
        out = self.outputs[i]
        desc = getattr(self.runtime, "desc", None)
        if desc is None or out.index < 0:
            return None
        shape = desc.tensors[out.index].shape
        return tuple(shape) if shape is not None else None

    def require_const(self, i: int, what: str = "") -> np.ndarray:
        t = self.inputs[i]
        if t is None:
            raise self.unsupported(f"input {i} {what or ''} is missing")
        if t.data is None:
            raise self.needs_value([t], f"input {i} {what or ''} is computed at run time".replace("  ", " "))
        return t.data

    def set_output(self, i: int, shape, type: int | None = None):
        """Set output i's shape; when `type` is given, check the model declares that output type."""
        out = self.outputs[i]
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise self.shape_error(f"output {i} ('{out.name}') would have a negative dimension {shape}")
        dt = out.dtype
        limits.tensor_bytes(shape, dt.itemsize if dt is not None and dt.kind != "O" else 1,
                            lambda: f"{self.label}: output {i} '{out.name}'", self.max_memory_bytes)
        if type is not None and out.type != type:
            raise self.dtype_error(
                f"output {i} ('{out.name}') is {out.type_name}, expected {TYPE_NAMES.get(type, type)}"
            )
        out.shape = shape


Handler = Callable[[OpContext], "Kernel | PyKernel"]

BUILTINS: dict[str, Handler] = {}
# Integer-quantized variants of ops whose float handler lives elsewhere: name -> handler (the float handler
# delegates here when its inputs are quantized int8/uint8/int16).
QUANTIZED: dict[str, Handler] = {}
CUSTOMS: dict[str, Handler] = {}
# Builtin ops on STRING tensors (runtime/ops/strings.py): name -> handler, used instead of BUILTINS[name] when an
# input or output of the op is STRING.
STRING_OPS: dict[str, Handler] = {}
# Builtin ops on FLOAT16 tensors (runtime/ops/elementwise_f16.py): used instead of BUILTINS[name] when a
# tensor of the op is FLOAT16.
FLOAT16_OPS: dict[str, Handler] = {}

# Folding at prepare: an op whose inputs are all constant is run once while preparing and its outputs
# become constants, when the outputs hold at most this many bytes (shape arithmetic, small tables).
FOLD_MAX_BYTES = 1 << 16


def register(*names: str):
    """Register a handler for one or more builtin ops (by TFLite BuiltinOperator name)."""

    def deco(fn):
        for n in names:
            if n in BUILTINS:
                raise RuntimeError(f"builtin op {n} registered twice")
            BUILTINS[n] = fn
        return fn

    return deco


def register_custom(code: str):
    """Register a built-in implementation of a custom op (by its custom_code)."""

    def deco(fn):
        CUSTOMS[code] = fn
        return fn

    return deco


def register_custom_op(code: str, fn: Callable | None = None, *, shape_fn: Callable | None = None,
                       c_kernel: str | None = None, params_fn: Callable | None = None):
    """Public API: make a custom op runnable.

    Python path: fn(inputs, outputs) computes outputs (numpy arrays) from inputs;
    shape_fn(input_shapes, custom_options) -> list of output shapes (default: the model's declared shapes).
    C path: c_kernel names a kernel compiled into edgerun (`er_<name>`), params_fn(ctx) -> cffi params.
    """
    if (fn is None) == (c_kernel is None):
        raise ValueError("register_custom_op needs exactly one of fn (Python) or c_kernel (C)")

    def handler(ctx: OpContext):
        if shape_fn is not None:
            shapes = shape_fn([t.shape if t is not None else None for t in ctx.inputs], ctx.custom_options)
            for i, s in enumerate(shapes):
                ctx.set_output(i, s)
        else:
            for i, out in enumerate(ctx.outputs):
                if out.shape is None:
                    declared = ctx.declared_shape(i)
                    if declared is None:
                        raise ctx.shape_error(f"output {i} has no declared shape; pass shape_fn to "
                                              f"register_custom_op")
                    ctx.set_output(i, declared)
        if c_kernel is not None:
            return Kernel(c_kernel, params_fn(ctx) if params_fn else None)
        return PyKernel(fn, name=code)

    CUSTOMS[code] = handler
    USER_CUSTOMS.add(code)
    return handler



def broadcast_shape(ctx: OpContext, *shapes) -> tuple:
    """numpy-style broadcast of shapes, raising a ShapeError that names the op."""
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise ctx.shape_error(f"shapes {', '.join(str(tuple(s)) for s in shapes)} do not broadcast") from None


# Op-family modules. Each imports this package and registers its handlers at import. A family module
# handles every dtype of its ops (f32, s8, s16, u8, hybrid) and mirrors kernels/ref/<family>*.c.
FAMILIES = ["conv", "elementwise", "reduce", "shape", "misc", "control", "quantize",
            "conv_int", "elementwise_int", "reduce_int", "custom", "lstm", "variables",
            "detection", "data_index", "data_math",
            "recurrent_cells",
            "norm",
            "svdf",
            "fft",
            "conv3d",
            "random",
            "stablehlo",
            "hashtable",
            "strings",
            "embedding",
            "elementwise_f16"]


def load_families():
    for fam in FAMILIES:
        try:
            importlib.import_module(f"edgerun.runtime.ops.{fam}")
        except ModuleNotFoundError as exc:
            if exc.name != f"edgerun.runtime.ops.{fam}":
                raise
