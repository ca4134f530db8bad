"""Run-time-sized tensors inside WHILE / IF (runtime/staged.py, control flow at the host): TensorFlow models whose
loop bodies or branches hold ops that need run-time values (tf.where, tf.unique, a slice at a loop index), whose
loop variables grow by concat (tf.while_loop with shape_invariants), whose tf.cond branches return different
shapes, nested loops and a tf.cond inside a loop of that kind and tf.image.non_max_suppression_padded, converted
by TensorFlow's converter, equal LiteRT (builtin kernels) output for output - dtype, shape and values - over
several invokes whose inputs change the run-time sizes. A static WHILE keeps running in C inside one plan (not
staged); plan files refuse the host-run op naming it."""
import numpy as np
import pytest
import tensorflow as tf
from oracle import assert_same_outputs, invoke_with, litert_run, tf_convert_function

import edgerun
from edgerun.errors import InvokeError, RunTimeShapeError
from edgerun.runtime.staged import StagedGraph

F = tf.float32


def _grow(x):  # (5, 3): 1..4 rounds (from the data), each appends a row of x: the loop variable grows
    n = tf.cast(tf.reduce_sum(tf.abs(x)) * 2.0, tf.int32) % 4 + 1

    def body(i, acc):
        return i + 1, tf.concat([acc, x[i:i + 1] * tf.cast(i + 1, F)], 0)

    _, acc = tf.while_loop(lambda i, a: i < n, body, [tf.constant(0), tf.zeros((0, 3), F)],
                           shape_invariants=[tf.TensorShape([]), tf.TensorShape([None, 3])])
    return acc


def _where_loop(x):  # (8,): each round appends the indices where x exceeds a rising threshold
    def body(i, acc):
        w = tf.cast(tf.where(x > tf.cast(i, F) * 0.3 - 0.5)[:, 0], F)
        return i + 1, tf.concat([acc, w], 0)

    _, acc = tf.while_loop(lambda i, a: i < 3, body, [tf.constant(0), tf.zeros((0,), F)],
                           shape_invariants=[tf.TensorShape([]), tf.TensorShape([None])])
    return acc


def _unique_loop(x):  # loop variables keep their shapes; the body's tf.unique is run-time-sized
    def body(i, s):
        u = tf.unique(tf.cast(x * tf.cast(i + 2, F), tf.int32))[0]
        return i + 1, s + tf.cast(tf.reduce_sum(u), F) + tf.cast(tf.size(u), F)

    _, s = tf.while_loop(lambda i, s: i < 4, body, [tf.constant(0), tf.constant(0.0)])
    return s


def _cond_shapes(x):  # (6,): the branches return (2,) and (12,)
    return tf.cond(tf.reduce_sum(x) > 0, lambda: x[:2] * 2.0, lambda: tf.concat([x, x * 3.0], 0))


def _nested(x):  # (4,): an outer growing loop whose body runs an inner growing loop of i + 1 rounds
    def outer(i, acc):
        def inner(j, row):
            return j + 1, tf.concat([row, x[j:j + 1] + tf.cast(i, F)], 0)

        _, row = tf.while_loop(lambda j, r: j < i + 1, inner, [tf.constant(0), tf.zeros((0,), F)],
                               shape_invariants=[tf.TensorShape([]), tf.TensorShape([None])])
        return i + 1, tf.concat([acc, row], 0)

    n = tf.cast(tf.reduce_sum(tf.abs(x)) * 2.0, tf.int32) % 3 + 1
    _, acc = tf.while_loop(lambda i, a: i < n, outer, [tf.constant(0), tf.zeros((0,), F)],
                           shape_invariants=[tf.TensorShape([]), tf.TensorShape([None])])
    return acc


def _loop_cond(x):  # (6,): a tf.cond inside the loop body appends one value or two (the IF runs at the host too)
    def body(i, acc):
        acc = tf.cond(i % 2 == 0, lambda: tf.concat([acc, x[:1] * tf.cast(i, F)], 0),
                      lambda: tf.concat([acc, x[1:3] + tf.cast(i, F)], 0))
        return i + 1, acc

    n = tf.cast(tf.reduce_sum(tf.abs(x)) * 2.0, tf.int32) % 4 + 1
    _, acc = tf.while_loop(lambda i, a: i < n, body, [tf.constant(0), tf.zeros((0,), F)],
                           shape_invariants=[tf.TensorShape([]), tf.TensorShape([None])])
    return acc


def _cond_where(x):  # (8,): one branch holds tf.where (staged inside the IF), the other is fixed
    return tf.cond(x[0] > 0, lambda: tf.reduce_sum(tf.cast(tf.where(x > 0.2), F)) + 1.0,
                   lambda: tf.reduce_max(x) * 2.0)


def _nms(boxes, scores):
    sel, n = tf.image.non_max_suppression_padded(boxes, scores, max_output_size=5, iou_threshold=0.5,
                                                 score_threshold=0.1, pad_to_max_output_size=True)
    return sel, n


MODELS = {
    "grow": (_grow, [tf.TensorSpec((5, 3), F)]),
    "where_loop": (_where_loop, [tf.TensorSpec((8,), F)]),
    "unique_loop": (_unique_loop, [tf.TensorSpec((8,), F)]),
    "cond_shapes": (_cond_shapes, [tf.TensorSpec((6,), F)]),
    "nested": (_nested, [tf.TensorSpec((4,), F)]),
    "loop_cond": (_loop_cond, [tf.TensorSpec((6,), F)]),
    "cond_where": (_cond_where, [tf.TensorSpec((8,), F)]),
    "nms_padded": (_nms, [tf.TensorSpec((10, 4), F), tf.TensorSpec((10,), F)]),
}


def _model(name):
    fn, sig = MODELS[name]
    return tf_convert_function(fn, sig, key=f"run_time_shapes_control-{name}-v1")


def _inputs(name, seed):
    rng = np.random.default_rng(seed)
    if name == "nms_padded":
        c = rng.uniform(0, 1, (10, 2))
        boxes = np.concatenate([c, c + rng.uniform(0.1, 0.5, (10, 2))], 1).astype(np.float32)
        return [boxes, rng.uniform(0, 1, (10,)).astype(np.float32)]
    return [rng.uniform(-1, 1, tuple(s.shape)).astype(np.float32) for s in MODELS[name][1]]


def _same(ours, theirs, what):
    assert_same_outputs(ours, theirs, what, float_tol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_control_flow_with_run_time_shapes_equals_litert(name):
    """One interpreter over several inputs: every output equals LiteRT's (dtype, shape, values); the op runs at
    the host (a stage of its own) and the run-time sizes change between invokes."""
    m = _model(name)
    it = edgerun.Interpreter(model_content=m)
    it.allocate_tensors()
    g = it._main.graph
    assert isinstance(g, StagedGraph)
    shapes = set()
    for seed in (0, 1, 2, 3, 0):
        ins = _inputs(name, seed)
        ours = invoke_with(it, ins)
        theirs = litert_run(m, ins)
        _same(ours, theirs, (name, seed))
        for d, b in zip(it.get_output_details(), theirs):
            assert tuple(d["shape"]) == b.shape
        shapes.add(tuple(b.shape for b in theirs))
    assert any(st.host is not None for st in g.stages_run), name
    if name in ("grow", "where_loop", "cond_shapes", "nested", "loop_cond"):
        assert len(shapes) > 1, f"{name}: the inputs should change the run-time sizes ({shapes})"


def test_nested_loop_runs_its_body_staged():
    """The outer body holds the inner run-time-sized WHILE: it runs as a staged graph of that subgraph, whose
    own host stage runs the inner loop."""
    it = edgerun.Interpreter(model_content=_model("nested"))
    it.allocate_tensors()
    invoke_with(it, _inputs("nested", 1))
    staged = list(it._main.graph.subgraphs.staged.values())
    assert staged and any(st.host is not None and st.host.op.name == "WHILE" for g in staged for st in g.stages_run)
    assert it.memory_report()["arena_bytes"] > 0


def _counting(it):
    """Count the graphs prepared from here on (the main stages', the subgraph runs' and their stages')."""
    g = it._main.graph
    calls = []
    make = g.make_graph

    def counted(model, shapes, index):
        calls.append(index)
        return make(model, shapes, index)

    g.make_graph = g.subgraphs.make_graph = counted
    return calls


def test_rounds_prepare_only_what_their_shapes_reach():
    """The growing loop: the cond (which never reads the growing tensor) is prepared once; a round prepares
    only the body stage its new shape reaches; a second invoke with the same inputs prepares nothing."""
    it = edgerun.Interpreter(model_content=_model("grow"))
    it.allocate_tensors()
    calls = _counting(it)
    x = [(np.arange(15).reshape(5, 3) % 3 - 1).astype(np.float32) * 0.11 + 0.11]  # sum |x| 1.65: 4 rounds
    first = invoke_with(it, x)
    _same(first, litert_run(_model("grow"), x), "grow")
    rounds = first[0].shape[0]
    assert rounds == 4
    cond, body = next(st.host for st in it._main.graph.stages_run if st.host is not None).subs
    assert calls.count(cond) == 1
    body_stages = [st for c in it._main.graph.subgraphs.staged[body].cache.values() for st in c.values()]
    assert len(body_stages) <= rounds + 2, len(body_stages)  # the stages not reading the tensor: kept once
    calls.clear()
    second = invoke_with(it, x)
    assert calls == []
    _same(second, first, "repeat")


def test_static_while_stays_one_plan_in_c():
    """A loop whose variables keep their shapes and whose body has fixed shapes is not staged: one plan, the
    loop a C record (ctl_while)."""
    def fn(x):
        _, y = tf.while_loop(lambda i, y: i < 5, lambda i, y: (i + 1, y * 0.5 + 1.0), [tf.constant(0), x])
        return y

    m = tf_convert_function(fn, [tf.TensorSpec((4,), F)], key="run_time_shapes_control-static-v1")
    it = edgerun.Interpreter(model_content=m)
    it.allocate_tensors()
    assert not isinstance(it._main.graph, StagedGraph)
    assert "ctl_while" in [st.kernel for st in it._main.graph.steps]
    x = np.arange(4, dtype=np.float32)
    _same(invoke_with(it, [x]), litert_run(m, [x]), "static")


def test_keras_lstm_gru_while_is_not_staged():
    """Keras LSTM + GRU layers (WHILE loops of fixed shapes): one plan, run in C, as before."""
    import keras
    from oracle import tf_convert

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 3), batch_size=1), keras.layers.LSTM(5, return_sequences=True),
                              keras.layers.GRU(4), keras.layers.Dense(2)])
    m = tf_convert(model)
    it = edgerun.Interpreter(model_content=m)
    it.allocate_tensors()
    assert not isinstance(it._main.graph, StagedGraph)
    steps = it._main.graph.steps
    assert "ctl_while" in [st.kernel for st in steps] and all(st.kernel != "python" for st in steps)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(invoke_with(it, [x])[0], litert_run(m, [x])[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,pattern", [
    ("grow", r"op #\d+ WHILE: body subgraph \d+: op #\d+ STRIDED_SLICE: begin .*run time.*plan files"),
    ("unique_loop", r"op #\d+ WHILE: body subgraph \d+: op #\d+ .*run time.*plan files"),
    ("cond_shapes", r"op #\d+ IF: output 0 has shape \(2,\) in the then branch .*\(12,\) in the else branch.*plan"),
    ("nested", r"op #\d+ WHILE: body subgraph \d+: op #\d+ WHILE: body subgraph \d+: op #\d+ STRIDED_SLICE"),
    ("loop_cond", r"op #\d+ WHILE: body subgraph \d+: op #\d+ IF: output 0 has shape"),
    ("cond_where", r"op #\d+ IF: then subgraph \d+: op #\d+ WHERE: .*plan files"),
])
def test_plan_files_refuse_control_flow_with_run_time_shapes(name, pattern):
    from edgerun.platforms.codegen import prepare_for

    with pytest.raises(RunTimeShapeError, match=pattern):
        prepare_for(_model(name), "host")


def test_loop_at_the_host_keeps_the_iteration_limit():
    m = _model("where_loop")  # 3 rounds
    x = _inputs("where_loop", 0)
    for limit in (3, None):
        it = edgerun.Interpreter(model_content=m, max_loop_iterations=limit)
        it.allocate_tensors()
        _same(invoke_with(it, x), litert_run(m, x), limit)
    it = edgerun.Interpreter(model_content=m, max_loop_iterations=2)
    it.allocate_tensors()
    with pytest.raises(InvokeError, match="WHILE.*iteration limit"):
        invoke_with(it, x)


def test_memory_report_and_profile_list_the_host_stage():
    from edgerun.runtime.bench import profile

    it = edgerun.Interpreter(model_content=_model("cond_shapes"))
    it.allocate_tensors()
    invoke_with(it, _inputs("cond_shapes", 0))
    rep = it.memory_report()
    assert [s.get("host") for s in rep["stages"]] == [None, "IF"] and rep["arena_bytes"] > 0
    rows = profile(it, runs=2, warmup=1)
    assert "IF" in {r.op for r in rows} and {r.kernel for r in rows if r.op == "IF"} == {"host"}
    assert abs(sum(r.share for r in rows) - 1.0) < 1e-6


@pytest.mark.parametrize("name", ["nested", "loop_cond"])
def test_hostile_mutations_run_or_raise_edgerun_errors(name):
    """Corrupted models whose control flow runs at the host (loops bounded by max_loop_iterations) either run
    or raise an edgerun error: no Python exception of another kind, no crash."""
    from test_model_errors import _mutate

    base, rng = _model(name), np.random.default_rng(7)
    for _ in range(150):
        try:
            it = edgerun.Interpreter(model_content=_mutate(rng, base), max_loop_iterations=50)
            it.allocate_tensors()
            for d in it.get_input_details():
                it.set_tensor(d["index"], np.full(tuple(d["shape"]), 0.3, d["dtype"]))
            it.invoke()
        except edgerun.EdgerunError:
            pass
