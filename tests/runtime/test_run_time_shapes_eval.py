"""Stages evaluated at the host (runtime/staged.py StagedGraph._evaluate): a later stage whose folded values
or input shapes were not seen before runs each op's kernel once on the values instead of being prepared as a
plan used once (WHERE over fresh data changes the sizes on every invoke); a key seen again is prepared, kept.
Oracle: LiteRT (builtin kernels) on the same inputs, outputs equal in dtype, shape and values."""
import numpy as np
import pytest
import tensorflow as tf
from oracle import assert_same_outputs, invoke_with, litert_run, tf_convert_function

import edgerun
from edgerun.runtime.bench import profile
from edgerun.runtime.staged import StagedGraph

F = tf.float32


def _mask(x):
    return tf.boolean_mask(x, x[:, 0] > 0) * 3.0 + 1.0


def _chain(x):  # two run-time sizes in a row: the masked rows, then the unique values among them
    rows = tf.boolean_mask(x, x[:, 0] > 0)
    return tf.unique(tf.reshape(tf.cast(rows * 4, tf.int32), [-1]))[0] + 1


def _where_int(x):
    idx = tf.where(x > 0.2)
    return tf.gather_nd(tf.cast(x * 100, tf.int32), idx), tf.cast(idx, tf.int32) * 2


def _mask_int8(x):  # quantized: QUANTIZE, int8 compare/gather/mul/add in the evaluated stage, DEQUANTIZE
    return tf.boolean_mask(x, x[:, 0] > 0) * 3.0 + 1.0


MODELS = {"mask": (_mask, (8, 3)), "chain": (_chain, (7, 3)), "where_int": (_where_int, (6, 5)),
          "mask_int8": (_mask_int8, (8, 3))}


def _model(name):
    fn, shape = MODELS[name]
    return tf_convert_function(fn, [tf.TensorSpec(shape, F)], quantize="int8" if name.endswith("int8") else None,
                               key=f"run_time_shapes_eval-{name}-v1")


def _invoke(it, x):
    return invoke_with(it, [x])


def _evaluated(it):
    return [st for st in it._main.graph.stages_run if st.values is not None]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_evaluated_stages_equal_litert(name):
    m = _model(name)
    it = edgerun.Interpreter(model_content=m)
    it.allocate_tensors()
    assert isinstance(it._main.graph, StagedGraph)
    rng = np.random.default_rng(3)
    shape = MODELS[name][1]
    n_eval, sizes = 0, set()
    for k in range(10):
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        if k == 5:
            x[:] = -1.0  # nothing selected: zero-sized tensors in the evaluated stage
        ours = _invoke(it, x)
        assert_same_outputs(ours, litert_run(m, [x]), f"{name} input {k}")
        n_eval += bool(_evaluated(it))
        sizes.add(ours[0].shape)
    assert n_eval >= 8, n_eval  # the first invoke prepares (finds where the stages end), later ones evaluate
    assert len(sizes) > 3, sizes


def test_repeated_values_are_prepared_and_kept():
    """A key evaluated once and seen again is prepared and kept: the third invoke on the same input prepares,
    the fourth finds the kept stage; every output equals LiteRT."""
    m = _model("mask")
    it = edgerun.Interpreter(model_content=m)
    it.allocate_tensors()
    rng = np.random.default_rng(4)
    a, b = (rng.uniform(-1, 1, (8, 3)).astype(np.float32) for _ in range(2))
    want_b = litert_run(m, [b])
    assert_same_outputs(_invoke(it, a), litert_run(m, [a]), "first")  # prepared (stops not known yet)
    assert_same_outputs(_invoke(it, b), want_b, "b once")
    assert _evaluated(it)
    for k in range(2):
        assert_same_outputs(_invoke(it, b), want_b, f"b again {k}")
        assert not _evaluated(it) and len(it._main.graph.stages_run) == 2
    assert_same_outputs(_invoke(it, a), litert_run(m, [a]), "a again")  # kept from the first invoke
    assert not _evaluated(it)


def test_profile_and_memory_report_after_evaluated_invokes():
    m = _model("mask")
    it = edgerun.Interpreter(model_content=m)
    it.allocate_tensors()
    rng = np.random.default_rng(5)
    for _ in range(3):
        x = rng.uniform(-1, 1, (8, 3)).astype(np.float32)
        assert_same_outputs(_invoke(it, x), litert_run(m, [x]), "invoke")
    assert _evaluated(it)
    rep = it.memory_report()
    assert len(rep["stages"]) == 2
    rows = profile(it, runs=2, warmup=0)  # the profiler's invokes run prepared stages: per-op records
    assert {"GREATER", "GATHER", "ADD"} <= {r.op for r in rows}, [r.op for r in rows]
    assert_same_outputs([it.get_tensor(d["index"]) for d in it.get_output_details()], litert_run(m, [x]), "profiled")


def test_onnx_nonzero_gather_nd_many_invokes():
    """torch's x[x > 0] as ONNX exports it (Greater, NonZero, Transpose, GatherND) over fresh data."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Greater", ["x", "zero"], ["m"]), helper.make_node("NonZero", ["m"], ["nz"]),
             helper.make_node("Transpose", ["nz"], ["idx"], perm=[1, 0]),
             helper.make_node("GatherND", ["x", "idx"], ["y"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, (16, 16))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.asarray(np.float32(0)), "zero")])
    data = edgerun.convert(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=8))
    it = edgerun.Interpreter(model_content=data)
    it.allocate_tensors()
    rng = np.random.default_rng(6)
    for k in range(12):
        x = rng.uniform(-1, 1, (16, 16)).astype(np.float32)
        ours = _invoke(it, x)
        assert_same_outputs(ours, litert_run(data, [x]), f"input {k}")
        np.testing.assert_array_equal(ours[0], x[x > 0])
    assert _evaluated(it)


def test_stage_not_evaluable_is_prepared(monkeypatch):
    """An op that is no plain C kernel (here GATHER made a Python op for the evaluation) makes the stage one to
    prepare, on every later invoke too; outputs still equal LiteRT."""
    from edgerun.runtime import staged
    from edgerun.runtime.ops import PyKernel

    real = staged.op_handler

    def handler(op):
        h = real(op)
        return (lambda ctx: PyKernel(lambda i, o: None)) if op.name == "GATHER" else h

    monkeypatch.setattr(staged, "op_handler", handler)
    m = _model("mask")
    it = edgerun.Interpreter(model_content=m)
    it.allocate_tensors()
    rng = np.random.default_rng(7)
    for k in range(4):
        x = rng.uniform(-1, 1, (8, 3)).astype(np.float32)
        assert_same_outputs(_invoke(it, x), litert_run(m, [x]), f"input {k}")
        assert not _evaluated(it) and all(st.graph is not None for st in it._main.graph.stages_run)
    assert it._main.graph.no_eval


def test_error_while_evaluating_prepares_the_stage(monkeypatch):
    """A kernel failing during the evaluation: the stage is prepared instead (its plan raises what it always
    raised, here nothing: the plan's kernels run); outputs equal LiteRT."""
    from edgerun.errors import InvokeError
    from edgerun.runtime import staged

    def failing(*a, **k):
        raise InvokeError("test: kernel failed")

    m = _model("where_int")
    it = edgerun.Interpreter(model_content=m)
    it.allocate_tensors()
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, (6, 5)).astype(np.float32)
    assert_same_outputs(_invoke(it, x), litert_run(m, [x]), "first")
    monkeypatch.setattr(staged, "_fold", failing)
    for k in range(3):
        x = rng.uniform(-1, 1, (6, 5)).astype(np.float32)
        assert_same_outputs(_invoke(it, x), litert_run(m, [x]), f"input {k}")
        assert not _evaluated(it)


def test_memory_limit_over_evaluated_stage_refuses_as_prepared():
    """max_memory_bytes between what the first stage needs and what the masked rows need: the evaluation
    refuses, the stage is prepared, and the plan's refusal (MemoryLimitError naming max_memory_bytes) is what
    the caller sees, as without the evaluation."""
    from edgerun.errors import MemoryLimitError

    m = _model("mask")
    big = np.ones((20000, 3), np.float32)
    limit = None
    for lim in (400_000, 600_000, 800_000, 1_000_000, 1_500_000):
        it = edgerun.Interpreter(model_content=m, max_memory_bytes=lim)
        it.resize_tensor_input(it.get_input_details()[0]["index"], big.shape)
        try:
            it.allocate_tensors()
            it.set_tensor(it.get_input_details()[0]["index"], -big)  # nothing selected: fits
            it.invoke()
        except MemoryLimitError:
            continue
        limit = lim
        break
    if limit is None:
        pytest.skip("no limit between the stages' needs found")
    with pytest.raises(MemoryLimitError, match="max_memory_bytes"):
        it.set_tensor(it.get_input_details()[0]["index"], big)  # every row selected: over the limit
        it.invoke()
