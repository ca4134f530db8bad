"""The converter's intermediate representation: a graph of TFLite builtin ops over NHWC tensors.

Frontends (Keras, SavedModel, ONNX) lower their layers/nodes straight to TFLite ops, so every pass and the
quantizer work on what will be written, and export is a direct walk (converter/export.py):

    g = Graph(name="main")
    x = g.input("image", (1, 28, 28, 1), np.float32)
    w = g.const("conv/kernel", weights_ohwi)
    y = g.op("CONV_2D", [x, w, b], [g.tensor("conv", (1, 26, 26, 8))],
             {"padding": VALID, "strideH": 1, "strideW": 1, "fusedActivationFunction": RELU})[0]
    g.outputs.append(y)

Options are the generated object-API field names of the op's options table (camelCase, as in
schema/schema_generated.py, e.g. `Conv2DOptionsT`), so export passes them through unchanged.
Tensors are compared by identity; names are made unique at export.
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np

# ActivationFunctionType and Padding values (schema.fbs), for frontends.
NONE, RELU, RELU_N1_TO_1, RELU6, TANH = 0, 1, 2, 3, 4
SAME, VALID = 0, 1

_ids = itertools.count()


@dataclasses.dataclass(eq=False)
class Quant:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per slice along `axis`."""

    scale: np.ndarray  # float32, shape (1,) or (channels,)
    zero_point: np.ndarray  # int64, same shape
    axis: int = 0
    min: np.ndarray | None = None  # calibrated float range, kept for the report and for TFLite tools
    max: np.ndarray | None = None

    @classmethod
    def per_tensor(cls, scale: float, zero_point: int, **kw) -> Quant:
        return cls(np.array([scale], np.float32), np.array([zero_point], np.int64), **kw)


@dataclasses.dataclass(eq=False)
class Tensor:
    name: str
    shape: tuple  # -1 marks a dynamic dimension (written to shape_signature; shape gets 1)
    dtype: np.dtype = np.dtype(np.float32)
    data: np.ndarray | None = None  # constant value
    quant: Quant | None = None
    id: int = dataclasses.field(default_factory=lambda: next(_ids))

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)
        self.dtype = np.dtype(self.dtype)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    def __repr__(self):
        kind = "const " if self.is_const else ""
        return f"<{kind}Tensor {self.name!r} {self.shape} {self.dtype}>"


@dataclasses.dataclass(eq=False)
class Op:
    type: str  # TFLite BuiltinOperator name ("CONV_2D"), or "CUSTOM"
    inputs: list  # Tensor, or None for an omitted optional input (written as -1)
    outputs: list
    options: dict = dataclasses.field(default_factory=dict)
    custom_code: str | None = None
    custom_options: bytes | None = None
    name: str = ""  # the framework layer/node it came from (error messages, quantization report)
    version: int = 1

    def __repr__(self):
        return f"<Op {self.type} {self.name!r}>"


@dataclasses.dataclass(eq=False)
class Graph:
    name: str = "main"
    inputs: list = dataclasses.field(default_factory=list)
    outputs: list = dataclasses.field(default_factory=list)
    ops: list = dataclasses.field(default_factory=list)  # topological order
    # Signature: framework names of inputs and outputs (defaults to the tensor names).
    signature_key: str = "serving_default"
    input_names: list | None = None
    output_names: list | None = None
    subgraphs: list = dataclasses.field(default_factory=list)  # extra graphs for WHILE/IF bodies
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    # -- building ----------------------------------------------------------------------------------
    def tensor(self, name: str, shape, dtype=np.float32, quant: Quant | None = None) -> Tensor:
        return Tensor(name, tuple(shape), np.dtype(dtype), None, quant)

    def const(self, name: str, value, dtype=None, quant: Quant | None = None) -> Tensor:
        arr = np.asarray(value, dtype=dtype)
        return Tensor(name, arr.shape, arr.dtype, np.array(arr, order="C"), quant)

    def input(self, name: str, shape, dtype=np.float32) -> Tensor:
        t = self.tensor(name, shape, dtype)
        self.inputs.append(t)
        return t

    def op(self, type: str, inputs, outputs, options: dict | None = None, **kw) -> list:
        self.ops.append(Op(type, list(inputs), list(outputs), dict(options or {}), **kw))
        return self.ops[-1].outputs

    # -- queries -----------------------------------------------------------------------------------
    def producers(self) -> dict:
        """tensor id -> op that writes it."""
        return {t.id: op for op in self.ops for t in op.outputs}

    def consumers(self) -> dict:
        """tensor id -> list of ops that read it."""
        out: dict = {}
        for op in self.ops:
            for t in op.inputs:
                if t is not None:
                    out.setdefault(t.id, []).append(op)
        return out

    def tensors(self) -> list:
        """Every tensor the graph references, in first-use order."""
        seen, out = set(), []
        for t in itertools.chain(self.inputs, *[op.inputs + op.outputs for op in self.ops], self.outputs):
            if t is not None and t.id not in seen:
                seen.add(t.id)
                out.append(t)
        return out

    def copy(self) -> Graph:
        """A copy whose op list, ops (inputs, outputs, options) and input/output lists can be edited without
        touching this graph; tensors are shared (treat them as values: make new ones rather than edit)."""
        ops = [dataclasses.replace(op, inputs=list(op.inputs), outputs=list(op.outputs),
                                   options=dict(op.options)) for op in self.ops]
        return dataclasses.replace(
            self, inputs=list(self.inputs), outputs=list(self.outputs), ops=ops,
            input_names=None if self.input_names is None else list(self.input_names),
            output_names=None if self.output_names is None else list(self.output_names),
            subgraphs=[s.copy() for s in self.subgraphs], metadata=dict(self.metadata))

    def is_output(self, t: Tensor) -> bool:
        return any(o is t for o in self.outputs)

    def replace_uses(self, old: Tensor, new: Tensor):
        """Make every reader of `old` (ops and graph outputs) read `new`."""
        for op in self.ops:
            op.inputs = [new if t is old else t for t in op.inputs]
        self.outputs = [new if t is old else t for t in self.outputs]
