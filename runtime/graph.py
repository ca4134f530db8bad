"""A prepared subgraph on the desktop: prepare (runtime/prepare.py) makes the plan, plain data; materialize
(runtime/materialize.py) makes it real through cffi. invoke() is one C call for models without
Python-implemented ops.
"""
from __future__ import annotations

from edgerun.runtime import plan as P
from edgerun.runtime.materialize import Executable
from edgerun.runtime.model import gc_paused
from edgerun.runtime.prepare import Preparer, op_handler  # noqa: F401  (op_handler: re-exported)


class PreparedGraph:
    """One subgraph of a model, prepared for given input shapes and materialized."""

    def __init__(self, model, index: int, input_shapes: dict, preserve_all: bool = False, owner=None,
                 variables: dict | None = None, isa: str | None = None, max_memory_bytes: int | None = None,
                 max_loop_iterations: int | None = None, threads: int = 1):
        self.model = model
        self.desc = model.subgraphs[index]
        self.index = index
        self.variables = variables if variables is not None else {}
        preparer = Preparer(model, isa=isa, preserve_all=preserve_all, max_memory_bytes=max_memory_bytes,
                            max_loop_iterations=max_loop_iterations)
        with gc_paused():
            self.plan = preparer.prepare(input_shapes, index)
            self.planner = preparer.planners[len(preparer.planners) - 1]  # the main subplan's, completed last
            self.exe = Executable(self.plan, self.variables, threads=threads)
        self.views = self.exe.views
        self.arena_size = self.plan.arena_bytes
        self.folded = self.plan.info["folded"]
        self.prepared_bytes = self.plan.info["prepared_bytes"]
        self.weight_bytes = sum(int(t.data.nbytes) for t in self.desc.tensors if t.data is not None)

    @property
    def tensors(self) -> list:
        """PlanTensor per tensor id of this subgraph (shape, type, storage)."""
        return self.plan.main.tensors

    @property
    def steps(self) -> list:
        """The main subplan's op records (PlanOp: op type, kernel name, params, tensors)."""
        return self.plan.main.ops

    @property
    def segments(self) -> list:
        """("c", first, last) runs of C op records and ("py", PlanOp) Python ops of the main subplan."""
        return self.exe.segments

    def variable_items(self) -> list:
        """(key, array) of every variable of the plan."""
        return [(v.key, a) for v, a in zip(self.plan.variables, self.exe.var_arrays)]

    def variable_bytes(self) -> int:
        return sum(v.nbytes for v in self.plan.variables)

    def tensor_view(self, ti: int):
        return self.views[ti]

    def reset_variables(self):
        self.exe.reset_variables()

    def invoke(self):
        self.exe.invoke()


__all__ = ["PreparedGraph", "op_handler", "P"]
