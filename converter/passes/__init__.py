"""Graph rewrites run between a frontend and export. Each pass is a function Graph -> Graph that leaves its
argument untouched (it works on `graph.copy()`); `run_passes` applies them to a fixed point. One module per
pass (converter/passes/<name>.py); shared helpers in common.py.

    remove_identities     reshapes/transposes/casts that change nothing, x*1, x+0
    fold_constants        ops whose inputs are all constant, evaluated by edgerun's own kernels
    fold_batchnorm        per-channel MUL/ADD/SUB (inference batch norm) into the conv/FC before it
    fuse_activations      RELU/RELU6/RELU_N1_TO_1 into the op before it (fusedActivationFunction)
    cancel_transposes     TRANSPOSE followed by TRANSPOSE: composed, or dropped when they cancel
    collapse_reshapes     RESHAPE followed by RESHAPE: one RESHAPE
    eliminate_dead        ops whose outputs nothing reads
    dedup_constants       constant tensors with identical type, shape and bytes become one
"""
from __future__ import annotations

from edgerun.converter.ir import Graph
from edgerun.converter.passes.cancel_transposes import cancel_transposes
from edgerun.converter.passes.collapse_reshapes import collapse_reshapes
from edgerun.converter.passes.dedup_constants import dedup_constants
from edgerun.converter.passes.eliminate_dead import eliminate_dead
from edgerun.converter.passes.fold_batchnorm import fold_batchnorm
from edgerun.converter.passes.fold_constants import _runtime_eval, fold_constants  # noqa: F401 - patch point
from edgerun.converter.passes.fuse_activations import ACTIVATIONS, FUSES_ACTIVATION, fuse_activations
from edgerun.converter.passes.remove_identities import remove_identities

__all__ = ["ACTIVATIONS", "FUSES_ACTIVATION", "PASSES", "VERIFY", "cancel_transposes", "collapse_reshapes", "dedup_constants",
           "eliminate_dead", "fold_batchnorm", "fold_constants", "fuse_activations", "remove_identities",
           "run_passes"]

PASSES = [remove_identities, fold_constants, fold_batchnorm, fuse_activations, cancel_transposes,
          collapse_reshapes, remove_identities, eliminate_dead, dedup_constants]


# run_passes(verify=None) verifies when this is true (the converter tests turn it on in their conftest)
VERIFY = False


def run_passes(graph: Graph, passes=None, max_rounds: int = 4, verify: bool | None = None) -> Graph:
    """Apply the passes in order, repeating until the op list stops changing. verify=True (or VERIFY) checks
    the graph (converter/verify.py) before the passes and after each one, naming the pass that broke it."""
    verify = VERIFY if verify is None else verify
    return _run(graph, PASSES if passes is None else passes, max_rounds, verify, None)


def _run(graph: Graph, passes, max_rounds: int, verify: bool, root_subgraphs) -> Graph:
    check = _checker(verify, root_subgraphs)
    check(graph, "before the passes")
    for _ in range(max_rounds):
        before = [(op.type, len(op.inputs)) for op in graph.ops]
        for p in passes:
            graph = p(graph)
            check(graph, f"after {getattr(p, '__name__', p)}")
        if [(op.type, len(op.inputs)) for op in graph.ops] == before:
            break
    if graph.subgraphs:  # IF branches / WHILE bodies: the same passes (their inputs and outputs are kept)
        graph.subgraphs = [_run(s, passes, max_rounds, verify, graph.subgraphs) for s in graph.subgraphs]
        check(graph, "after the passes over its subgraphs")
    return graph


def _checker(verify: bool, root_subgraphs):
    if not verify:
        return lambda graph, where: None
    from edgerun.converter.verify import verify as check

    return lambda graph, where: check(graph, where, subgraphs=root_subgraphs)
