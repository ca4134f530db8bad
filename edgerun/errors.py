"""The one exception hierarchy of edgerun. Messages name the op (index and type), tensor or field."""


class EdgerunError(Exception):
    """Base class of every error edgerun raises on purpose."""


class ModelError(EdgerunError, ValueError):
    """The model file is malformed, truncated, not a TFLite flatbuffer, or inconsistent."""


class UnsupportedOpError(EdgerunError, ValueError):
    """An op, op version, data type or option that edgerun does not implement."""


class RunTimeShapeError(UnsupportedOpError):
    """An op whose output shape depends on values known only at run time (WHERE, UNIQUE, RANGE, a RESHAPE to
    a computed shape, ...). The desktop Interpreter runs such a graph in stages, preparing what follows each
    such op once its values exist (runtime/staged.py), and runs a WHILE/IF with such tensors inside at the
    host; plan files and generated C need every shape at prepare and raise this. `tensors`: the indices of the
    tensors whose values the op needs; `op_index`, `subplan`: where (set by the preparer); `host_op`: the op
    is a WHILE/IF whose subgraphs have run-time-sized tensors or change shapes (run at the host)."""

    def __init__(self, message: str, tensors=()):
        super().__init__(message)
        self.tensors = tuple(int(t) for t in tensors)
        self.op_index = -1
        self.subplan = -1
        self.host_op = False


class ShapeError(EdgerunError, ValueError):
    """Shapes that do not agree: a wrong input shape, or a model whose shapes cannot be inferred."""


class DtypeError(EdgerunError, ValueError):
    """A tensor given with the wrong data type."""


class InvokeError(EdgerunError, RuntimeError):
    """A kernel failed at run time (for example a data-dependent index out of range)."""


class MemoryLimitError(EdgerunError, MemoryError):
    """A model needs more memory than the limit (Interpreter(max_memory_bytes=...)); the message names the
    tensor or op and the bytes asked. Raised before anything that large is allocated."""


class StateError(EdgerunError, RuntimeError):
    """An API call out of order, e.g. invoke() before allocate_tensors()."""


class ConversionError(EdgerunError, ValueError):
    """The converter cannot convert a layer or node; the message names it and its type."""


class TargetError(EdgerunError, ValueError):
    """A device target that is unknown, or whose toolchain or emulator is not installed."""


class BuildError(EdgerunError, RuntimeError):
    """Compiling or linking for a device target failed; the message names the target and the command."""


class EmulationError(EdgerunError, RuntimeError):
    """A program run under an emulator failed: non-zero exit, CPU fault, stack overflow or timeout."""


def op_label(index, name):
    """How messages name an op: `op #3 CONV_2D`."""
    return f"op #{index} {name}"
