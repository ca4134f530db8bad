"""The microcontroller reference models (tests/platforms/mcu_models.py): made by TensorFlow's converter, with
the ops expected; the streaming model's resource-variable semantics in LiteRT (the oracle edgerun follows);
edgerun against LiteRT on the streaming model, step by step and across reset_all_variables()."""
import numpy as np
import pytest

import mcu_models as mm

STEPS = 20
STREAM_OPS = ["CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "STRIDED_SLICE", "CONCATENATION", "ASSIGN_VARIABLE",
              "RESHAPE", "CONV_2D", "RESHAPE", "FULLY_CONNECTED"]


def _io(model):
    from oracle import litert_interpreter

    it = litert_interpreter(model)
    return it.get_input_details(), it.get_output_details()


def _init_value_tensor(model):
    """The model and the tensor whose constant the init subgraph assigns to the variable."""
    from edgerun.schema import schema_generated as fb

    m = fb.Model.GetRootAs(model, 0)
    init = m.Subgraphs(1)
    assign = init.Operators(init.OperatorsLength() - 1)
    return m, init.Tensors(assign.Inputs(1))


def _variable_type(model) -> int:
    """The TensorType of the value the init subgraph assigns to the variable."""
    return _init_value_tensor(model)[1].Type()


def _initial_value(model) -> np.ndarray:
    from edgerun.schema import schema_generated as fb

    m, t = _init_value_tensor(model)
    dtype = {fb.TensorType.FLOAT32: np.float32, fb.TensorType.INT8: np.int8}[t.Type()]
    return m.Buffers(t.Buffer()).DataAsNumpy().view(dtype).reshape(t.ShapeAsNumpy())


def test_kws_cnn_int8():
    model = mm.kws_cnn_int8()
    assert mm.op_lists(model) == [["CONV_2D"] + ["DEPTHWISE_CONV_2D", "CONV_2D"] * 4
                                  + ["AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"]]
    (i,), (o,) = _io(model)
    assert tuple(i["shape"]) == (1, 49, 10, 1) and i["dtype"] == np.int8
    assert tuple(o["shape"]) == (1, 12) and o["dtype"] == np.int8


@pytest.mark.parametrize("classes", [2])
def test_mobilenet_v1_025_96_int8(classes):
    model = mm.mobilenet_v1_025_96_int8(classes)
    ops = mm.op_lists(model)
    assert len(ops) == 1
    assert ops[0] == (["CONV_2D"] + ["DEPTHWISE_CONV_2D", "CONV_2D"] * 13
                      + ["MEAN", "CONV_2D", "RESHAPE", "SOFTMAX"])
    (i,), (o,) = _io(model)
    assert tuple(i["shape"]) == (1, 96, 96, 3) and i["dtype"] == np.int8
    assert tuple(o["shape"]) == (1, classes) and o["dtype"] == np.int8


@pytest.mark.parametrize("quantize", mm.STREAMING_QUANTIZE)
def test_streaming_model_ops(quantize):
    from edgerun.schema import schema_generated as fb

    model = mm.streaming_model(quantize)
    main, init = mm.op_lists(model)
    if quantize == "int8_float_var":
        assert main == STREAM_OPS[:4] + ["QUANTIZE", "CONCATENATION", "DEQUANTIZE"] + STREAM_OPS[5:]
    else:
        assert main == STREAM_OPS
    assert init == ["VAR_HANDLE", "ASSIGN_VARIABLE"]
    assert _variable_type(model) == (fb.TensorType.INT8 if quantize == "int8" else fb.TensorType.FLOAT32)
    (i,), (o,) = _io(model)
    dtype = np.float32 if quantize is None else np.int8
    assert tuple(i["shape"]) == (1, 1, mm.STREAM_FEATURES) and i["dtype"] == dtype
    assert tuple(o["shape"]) == (1, mm.STREAM_CLASSES) and o["dtype"] == dtype


@pytest.fixture(scope="module", params=mm.STREAMING_QUANTIZE, ids=lambda q: q or "float")
def stream(request):
    """(model, 20 frames, LiteRT's 20 outputs) — the recorded oracle of the streaming tests."""
    model = mm.streaming_model(request.param)
    frames = mm.streaming_frames(model, STEPS)
    return model, frames, mm.litert_steps(model, frames)


def test_litert_state_is_real(stream):
    """Every step's output differs, and a fresh interpreter replays the same 20 outputs."""
    model, frames, outs = stream
    assert len(outs) == STEPS
    assert len({o.tobytes() for o in outs}) == STEPS
    again = mm.litert_steps(model, frames)
    assert all(np.array_equal(a, b) for a, b in zip(outs, again))


def test_litert_same_frame_depends_on_history(stream):
    """The same frame at step 0 and at step 10 gives different outputs: the window carries earlier frames."""
    model, frames, outs = stream
    replay = mm.litert_steps(model, frames[:10] + [frames[0]])
    assert not np.array_equal(replay[10], outs[0])


def _preserving(model):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    return Interpreter(model_content=model, experimental_preserve_all_tensors=True,
                       experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def _tensor(it, name):
    return next(t["index"] for t in it.get_tensor_details() if t["name"] == name)


def test_litert_first_step_reads_the_initial_value(stream):
    """CALL_ONCE assigns the initial value (non-zero) before the first READ_VARIABLE."""
    model, frames, _ = stream
    it = _preserving(model)
    it.allocate_tensors()
    mm.run_steps(it, frames[:1])
    init = _initial_value(model)
    assert init.any()
    assert np.array_equal(it.get_tensor(_tensor(it, "ReadVariableOp")), init)


def test_litert_variable_persists_across_invoke(stream):
    """The window READ_VARIABLE returns at step k+1 is the one ASSIGN_VARIABLE wrote at step k."""
    model, frames, _ = stream
    it = _preserving(model)
    it.allocate_tensors()
    read, written = _tensor(it, "ReadVariableOp"), _tensor(it, "concat")
    prev = None
    for x in frames[:5]:
        mm.run_steps(it, [x])
        r, w = it.get_tensor(read), it.get_tensor(written)
        if prev is not None:
            if r.dtype == prev.dtype:
                assert np.array_equal(r, prev)
            else:   # int8_float_var: the window is written back through DEQUANTIZE
                s, z = it.get_tensor_details()[written]["quantization"]
                np.testing.assert_allclose(r, (prev.astype(np.float32) - z) * s, rtol=0, atol=1e-6)
        prev = w.copy()


def test_litert_reset_all_variables_leaves_resource_variables(stream):
    """reset_all_variables() neither zeroes nor re-initializes resource variables: the steps after it are
    those of an interpreter that was never reset."""
    model, frames, outs = stream
    assert all(np.array_equal(a, b) for a, b in zip(mm.litert_steps(model, frames, reset_after=10), outs))


def test_litert_allocate_tensors_again_keeps_state(stream):
    from oracle import litert_interpreter

    model, frames, outs = stream
    it = litert_interpreter(model)
    it.allocate_tensors()
    first = mm.run_steps(it, frames[:5])
    it.allocate_tensors()
    assert all(np.array_equal(a, b) for a, b in zip(first + mm.run_steps(it, frames[5:]), outs))


def test_streaming_matches_litert(stream):
    """edgerun against LiteRT over 20 steps of one interpreter, then reset_all_variables() and 20 more:
    int8 bit for bit, float within 1e-5 relative. edgerun's reset_all_variables() restarts the stream (every
    variable back to its state before the first invoke, CALL_ONCE's initializer runs again), so the 20 steps
    after it equal a fresh LiteRT interpreter's. (LiteRT 2.3's own reset leaves resource variables alone, see
    mcu_models; there is then no way to restart a stream but a new interpreter.)"""
    import edgerun

    model, frames, _ = stream
    fresh = mm.litert_steps(model, frames)
    theirs = fresh + fresh
    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    ours = mm.run_steps(it, frames)
    it.reset_all_variables()
    ours += mm.run_steps(it, frames)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype == b.dtype and a.shape == b.shape, f"step {k}"
        if a.dtype.kind == "f":
            err = float(np.max(np.abs(a.astype(np.float64) - b)))
            assert err <= 1e-5 * float(np.max(np.abs(b))), f"step {k}: max|ours-LiteRT| {err:.3g}"
        else:
            assert np.array_equal(a, b), f"step {k}: ours {a.ravel()} LiteRT {b.ravel()}"


@pytest.mark.parametrize("name", ["kws_cnn_int8", "mobilenet_v1_025_96_int8"])
def test_tflm_arena_near_published(name):
    """TFLite Micro's arena for our model is within 2% of the published figure for its kind."""
    pytest.importorskip("tflite_micro")
    arena = mm.tflm_arena_bytes(getattr(mm, name)())
    published = mm.PUBLISHED_TFLM_ARENA[name]
    assert abs(arena - published) <= 0.02 * published, (arena, published)


def test_tflm_runs_streaming_like_litert(stream):
    """TFLite Micro runs the streaming model as LiteRT does: int8 bit for bit, float within 1e-5 relative."""
    runtime = pytest.importorskip("tflite_micro").runtime
    model, frames, outs = stream
    it = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
    for k, (x, ref) in enumerate(zip(frames, outs)):
        it.set_input(x, 0)
        it.invoke()
        got = it.get_output(0)
        if ref.dtype.kind == "f":
            assert np.max(np.abs(got - ref)) <= 1e-5 * np.max(np.abs(ref)), f"step {k}"
        else:
            assert np.array_equal(got, ref), f"step {k}"
