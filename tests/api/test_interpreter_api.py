"""edgerun.Interpreter is a drop-in for LiteRT's Interpreter: same methods, detail dicts and errors.
Oracle: ai_edge_litert.interpreter.Interpreter on the same model."""
import numpy as np
import pytest

import edgerun
from oracle import litert_interpreter


@pytest.fixture(scope="module")
def model():
    import keras

    from oracle import tf_convert

    keras.utils.set_random_seed(1)
    inp = keras.Input((4, 4, 2), name="image")
    x = keras.layers.Conv2D(3, 3, padding="same", activation="relu")(inp)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(2, name="logits")(x)
    return tf_convert(keras.Model(inp, out))


def _same_details(a, b):
    assert set(a) == set(b)
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
        elif isinstance(a[k], dict):
            _same_details(a[k], b[k])
        else:
            assert a[k] == b[k] and type(a[k]) is type(b[k]), (k, a[k], b[k])


def test_details_match_litert(model):
    ours = edgerun.Interpreter(model_content=model)
    theirs = litert_interpreter(model)
    for a, b in zip(ours.get_input_details(), theirs.get_input_details()):
        _same_details(a, b)
    for a, b in zip(ours.get_output_details(), theirs.get_output_details()):
        _same_details(a, b)
    ta, tb = ours.get_tensor_details(), theirs.get_tensor_details()
    assert [t["name"] for t in ta] == [t["name"] for t in tb]
    for a, b in zip(ta, tb):
        _same_details(a, b)
    assert ours.get_signature_list() == theirs.get_signature_list()


def test_run_and_signature_runner_match_litert(model):
    ours = edgerun.Interpreter(model_content=model)
    theirs = litert_interpreter(model)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 4, 4, 2)).astype(np.float32)
    for it in (ours, theirs):
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
    a = ours.get_tensor(ours.get_output_details()[0]["index"])
    b = theirs.get_tensor(theirs.get_output_details()[0]["index"])
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    ra = ours.get_signature_runner()(image=x)
    rb = theirs.get_signature_runner()(image=x)
    assert set(ra) == set(rb)
    for k in ra:
        np.testing.assert_allclose(ra[k], rb[k], rtol=1e-5, atol=1e-6)
    # tensor() gives a live view
    view = ours.tensor(ours.get_output_details()[0]["index"])
    np.testing.assert_array_equal(view(), a)


def test_model_path_and_resize(model, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    it = edgerun.Interpreter(model_path=str(path), num_threads=2)
    idx = it.get_input_details()[0]["index"]
    it.resize_tensor_input(idx, [3, 4, 4, 2])
    it.allocate_tensors()
    assert tuple(it.get_input_details()[0]["shape"]) == (3, 4, 4, 2)
    x = np.random.default_rng(1).uniform(-1, 1, (3, 4, 4, 2)).astype(np.float32)
    it.set_tensor(idx, x)
    it.invoke()
    out = it.get_tensor(it.get_output_details()[0]["index"])
    assert out.shape == (3, 2)
    ref = litert_interpreter(model)
    ref.resize_tensor_input(ref.get_input_details()[0]["index"], [3, 4, 4, 2])
    ref.allocate_tensors()
    ref.set_tensor(ref.get_input_details()[0]["index"], x)
    ref.invoke()
    np.testing.assert_allclose(out, ref.get_tensor(ref.get_output_details()[0]["index"]), rtol=1e-5, atol=1e-6)


def test_set_tensor_errors(model):
    it = edgerun.Interpreter(model_content=model)
    idx = it.get_input_details()[0]["index"]
    with pytest.raises(edgerun.StateError):
        it.invoke()
    it.allocate_tensors()
    with pytest.raises(ValueError, match="FLOAT64 but expected type FLOAT32"):
        it.set_tensor(idx, np.zeros((1, 4, 4, 2)))
    with pytest.raises(ValueError, match="Dimension mismatch"):
        it.set_tensor(idx, np.zeros((1, 4, 5, 2), np.float32))
    with pytest.raises(edgerun.DtypeError):
        it.set_tensor(idx, np.zeros((1, 4, 4, 2), np.int32))
    with pytest.raises(ValueError):
        it.get_tensor(10_000)


def test_preserve_all_tensors_keeps_intermediates(model):
    it = edgerun.Interpreter(model_content=model, experimental_preserve_all_tensors=True)
    ref = litert_interpreter(model)
    ref2 = __import__("ai_edge_litert.interpreter", fromlist=["Interpreter"])
    ref = ref2.Interpreter(model_content=model, experimental_preserve_all_tensors=True,
                           experimental_op_resolver_type=ref2.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    x = np.random.default_rng(2).uniform(-1, 1, (1, 4, 4, 2)).astype(np.float32)
    for i in (it, ref):
        i.allocate_tensors()
        i.set_tensor(i.get_input_details()[0]["index"], x)
        i.invoke()
    n = len(it.get_tensor_details())  # LiteRT appends its own scratch tensors after the model's
    assert n >= 10
    for d in ref.get_tensor_details()[:n]:
        b = ref.get_tensor(d["index"])
        a = it.get_tensor(d["index"])
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=d["name"])


def test_memory_plan_has_no_live_overlap(model):
    from edgerun.runtime.planner import check_plan

    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    check_plan(it._main.graph.planner)
    mem = it.memory_report()
    assert mem["weight_bytes"] > 0 and mem["arena_bytes"] > 0


def test_invoke_is_one_c_call_without_python_ops(model):
    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    assert [s[0] for s in it._main.graph.segments] == ["c"]
