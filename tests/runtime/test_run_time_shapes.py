"""Run-time-sized tensors (runtime/staged.py): models whose output shapes depend on values computed at run time
- tf.where, tf.boolean_mask, tf.unique, tf.range over a computed limit, a reshape to a computed shape - run
in stages and equal LiteRT (its dynamic tensors) output for output, shape and values, over inputs that change
the run-time sizes between invokes. SLICE with a computed begin and a static size needs no stage: its kernel
reads begin at run time (any_slice_dynamic; plan files: tests/platforms/test_run_time_shapes_plan.py)."""
import numpy as np
import pytest
import tensorflow as tf
from oracle import assert_matches_litert, litert_run, tf_convert_function

import edgerun
from edgerun.errors import InvokeError, RunTimeShapeError, StateError
from edgerun.runtime.staged import StagedGraph

F = tf.float32


def _where(x):
    return tf.cast(tf.where(x > 0), tf.float32) * 2.0


def _mask(x):
    return tf.boolean_mask(x, x[:, 0] > 0) + 1.0


def _unique(x):
    return tf.unique(tf.cast(x * 3, tf.int32))[0]


def _range(x):
    return tf.cast(tf.range(tf.cast(tf.reduce_sum(tf.abs(x)) * 3, tf.int32)), tf.float32)


def _reshape(x):  # the shape's first entry is computed (always 3): the output shape repeats
    n = tf.cast(tf.reduce_sum(tf.abs(x)) > -1, tf.int32) * 3
    return tf.reshape(x, tf.stack([n, -1])) * 2.0


def _chain(x):  # two run-time sizes in a row: the masked rows, then the unique values among them
    rows = tf.boolean_mask(x, x[:, 0] > 0)
    return tf.unique(tf.reshape(tf.cast(rows * 4, tf.int32), [-1]))[0] + 1


def _range_of_input(n):  # the value comes from the caller: the first stage starts at op 0
    return tf.range(n[0]) * 2


MODELS = {
    "where": (_where, [tf.TensorSpec((4, 5), F)]),
    "boolean_mask": (_mask, [tf.TensorSpec((6, 3), F)]),
    "unique": (_unique, [tf.TensorSpec((10,), F)]),
    "range": (_range, [tf.TensorSpec((4,), F)]),
    "reshape": (_reshape, [tf.TensorSpec((3, 4), F)]),
    "chain": (_chain, [tf.TensorSpec((7, 3), F)]),
    "range_of_input": (_range_of_input, [tf.TensorSpec((1,), tf.int32)]),
}


def _model(name):
    fn, sig = MODELS[name]
    return tf_convert_function(fn, sig, key=f"run_time_shapes-{name}-v2")


def _inputs(name, seed):
    rng = np.random.default_rng(seed)
    if name == "range_of_input":
        return [np.array([seed * 3 + 1], np.int32)]
    return [rng.uniform(-1, 1, tuple(s.shape)).astype(np.float32) for s in MODELS[name][1]]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_staged_models_equal_litert(name):
    """One interpreter over several inputs (the sizes change between invokes, cached stages are reused or
    added): every output equals LiteRT's, shape and values; the output details give the run-time shape."""
    m = _model(name)
    it = edgerun.Interpreter(model_content=m)
    it.allocate_tensors()
    assert isinstance(it._main.graph, StagedGraph)
    shapes = set()
    for seed in (0, 1, 2, 0):
        ins = _inputs(name, seed)
        for d, a in zip(it.get_input_details(), ins):
            it.set_tensor(d["index"], a)
        it.invoke()
        theirs = litert_run(m, ins)
        for d, b in zip(it.get_output_details(), theirs):
            a = it.get_tensor(d["index"])
            assert a.dtype == b.dtype and a.shape == b.shape, (name, seed, a.shape, b.shape)
            assert np.array_equal(a, b), (name, seed)
            assert tuple(d["shape"]) == b.shape
            shapes.add(b.shape)
    if name not in ("reshape", "unique"):
        assert len(shapes) > 1, f"{name}: the inputs should change the run-time size ({shapes})"


def test_staged_resize_and_memory_report():
    m = _model("boolean_mask")
    it = edgerun.Interpreter(model_content=m)
    it.allocate_tensors()
    with pytest.raises(StateError, match="invoke"):
        it.memory_report()
    x = np.random.default_rng(5).uniform(-1, 1, (9, 3)).astype(np.float32)
    it.resize_tensor_input(it.get_input_details()[0]["index"], x.shape)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    want = x[x[:, 0] > 0] + 1.0
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), want)
    rep = it.memory_report()
    assert len(rep["stages"]) == 2 and rep["arena_bytes"] > 0


def _slice_model():
    def fn(x):
        b = tf.cast(tf.reduce_sum(tf.abs(x)) * 7, tf.int32) % 4  # 0..3, computed
        return tf.slice(x, tf.stack([b, 0, 1]), [3, 2, 4]) * 2.0

    return tf_convert_function(fn, [tf.TensorSpec((6, 3, 5), F)], key="run_time_shapes-slice-v1")


def test_slice_with_computed_begin_needs_no_stage():
    m = _slice_model()
    it = edgerun.Interpreter(model_content=m)
    it.allocate_tensors()
    assert not isinstance(it._main.graph, StagedGraph)
    assert "any_slice_dynamic" in [st.kernel for st in it._main.graph.steps]
    for seed in range(4):
        assert_matches_litert(m, _inputs_slice(seed), exact=True)


def _inputs_slice(seed):
    return [np.random.default_rng(seed).uniform(-1, 1, (6, 3, 5)).astype(np.float32)]


def test_slice_with_computed_begin_out_of_range_fails_invoke():
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x, bg, y = b.tensor("x", (4, 3), np.float32), b.tensor("begin", (2,), np.int32), b.tensor("y", (2, 3), np.float32)
    b.op("SLICE", [x, bg, b.const("size", np.array([2, 3], np.int32))], [y])
    b.inputs([x, bg])
    b.outputs([y])
    it = edgerun.Interpreter(model_content=b.finish())
    it.allocate_tensors()
    xs = np.arange(12, dtype=np.float32).reshape(4, 3)
    it.set_tensor(0, xs)
    it.set_tensor(1, np.array([2, 0], np.int32))
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(2), xs[2:4])
    it.set_tensor(1, np.array([3, 0], np.int32))  # rows 3..4 of 4
    with pytest.raises(InvokeError, match="SLICE"):
        it.invoke()


def test_profile_lists_every_stage():
    from edgerun.runtime.bench import profile

    it = edgerun.Interpreter(model_content=_model("chain"))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], _inputs("chain", 0)[0])
    rows = profile(it, runs=2, warmup=1)
    names = {r.op for r in rows}
    assert {"STRIDED_SLICE", "GREATER", "GATHER", "CAST"} <= names, names  # stage 0's records and stage 1's
    assert abs(sum(r.share for r in rows) - 1.0) < 1e-6
    assert sorted(r.position for r in rows) == list(range(len(rows)))
