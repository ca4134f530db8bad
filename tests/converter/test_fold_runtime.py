"""Constant folding in the converter (converter/passes.py fold_constants) evaluates ops with edgerun's own
kernels: a folded model gives what the unfolded one gives, in edgerun and in LiteRT. Integer DIV truncates
(TFLite's kernel), where numpy's floor division would have changed the model's meaning."""
import numpy as np
from oracle import litert_run

import edgerun
from edgerun.converter import passes
from edgerun.converter.export import export
from edgerun.converter.ir import Graph


def _run(model, inputs):
    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]


def _graph(op, consts, dtype, shape):
    """y = ADD(x, op(*consts)): the op's inputs all constant, so fold_constants replaces it."""
    g = Graph()
    x = g.input("x", shape, dtype)
    cs = [g.const(f"c{i}", c) for i, c in enumerate(consts)]
    v = g.op(op, cs, [g.tensor("v", shape, dtype)])[0]
    y = g.op("ADD", [x, v], [g.tensor("y", shape, dtype)])[0]
    g.outputs.append(y)
    return g


def test_integer_div_folds_as_tflite_truncates():
    g = _graph("DIV", [np.array([-7, 7, -1], np.int32), np.array([2, -2, 3], np.int32)], np.int32, (3,))
    folded = passes.eliminate_dead(passes.fold_constants(g))
    assert [op.type for op in folded.ops] == ["ADD"]
    np.testing.assert_array_equal(folded.ops[0].inputs[1].data, [-3, -3, 0])
    x = np.array([10, 20, 30], np.int32)
    (theirs,) = litert_run(export(g), [x])  # LiteRT on the model as it was
    np.testing.assert_array_equal(theirs, [7, 17, 30])
    np.testing.assert_array_equal(_run(export(folded), [x])[0], theirs)
    np.testing.assert_array_equal(litert_run(export(folded), [x])[0], theirs)


def test_float_ops_fold_to_the_runtime_bits():
    """Transcendental float ops: the folded constant has exactly the bits the runtime's kernel computes when
    the same values arrive at run time (numpy's exp/tanh may differ in the last place)."""
    rng = np.random.default_rng(0)
    c = rng.uniform(-6, 6, (4, 33)).astype(np.float32)
    for op in ("EXP", "TANH", "LOGISTIC", "RSQRT", "SQRT", "LOG"):
        val = np.abs(c) + 0.1 if op in ("RSQRT", "SQRT", "LOG") else c
        folded = passes.fold_constants(_graph(op, [val], np.float32, c.shape))
        const = next(t for op_ in folded.ops for t in op_.inputs if t is not None and t.is_const)
        live = Graph()
        x = live.input("x", c.shape)
        live.outputs.append(live.op(op, [x], [live.tensor("v", c.shape)])[0])
        (at_run_time,) = _run(export(live), [val])
        assert const.data.tobytes() == at_run_time.tobytes(), op


def test_runtime_refusal_falls_back_to_the_numpy_table(monkeypatch):
    monkeypatch.setattr(passes, "_runtime_eval", lambda op: None)
    g = _graph("DIV", [np.array([-7, 7, -1, -9], np.int32), np.array([2, -2, 3, -4], np.int32)], np.int32, (4,))
    folded = passes.eliminate_dead(passes.fold_constants(g))
    np.testing.assert_array_equal(folded.ops[0].inputs[1].data, [-3, -3, 0, 2])


def test_stateful_and_random_ops_are_not_folded():
    g = Graph()
    x = g.input("x", (2, 3))
    r = g.op("RANDOM_UNIFORM", [g.const("shape", np.array([2, 3], np.int32))], [g.tensor("r", (2, 3))],
             {"seed": 1, "seed2": 2})[0]
    g.outputs.append(g.op("ADD", [x, r], [g.tensor("y", (2, 3))])[0])
    assert [op.type for op in passes.fold_constants(g).ops] == ["RANDOM_UNIFORM", "ADD"]
