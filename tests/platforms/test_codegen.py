"""Generated C (platforms/codegen) against the desktop interpreter, which is itself checked against LiteRT
elsewhere: on the host bit for bit for every model (float too: the same kernels), on the emulated boards bit
for bit for integer models and within 1e-5 relative for float ones. The plan handed to the code generator is
plain data (no cffi object), and the desktop materializes that same data.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import edgerun
import mcu_models as mm
from edgerun.errors import UnsupportedOpError
from edgerun.platforms.codegen import compile_model, prepare_for
from edgerun.platforms.codegen.runner import run_project
from edgerun.runtime import plan as P
from networks import NETWORKS, _calibration
from oracle import random_inputs, tf_convert, tf_convert_function

BOARDS = ("cortex-m0plus", "cortex-m4", "cortex-m55", "riscv32")


def _int8(name):
    k = NETWORKS[name]()
    return tf_convert(k, quantize="int8", representative=_calibration(k), input_type=np.int8,
                      output_type=np.int8)


def _while_counter():
    import tensorflow as tf

    def f(x):
        i = tf.constant(0)
        _, y = tf.while_loop(lambda i, y: i < 7, lambda i, y: (i + 1, y * 0.5 + 1.0), [i, x])
        return y

    return tf_convert_function(f, [tf.TensorSpec((4,), tf.float32)], key="control-while-v1")


def _if_cond():
    import tensorflow as tf

    def f(x, flag):
        return tf.cond(flag[0] > 0, lambda: tf.nn.relu(x) * 2.0, lambda: x - 1.0)

    return tf_convert_function(f, [tf.TensorSpec((2, 3), tf.float32), tf.TensorSpec((1,), tf.float32)],
                               key="control-if-v1")


def _sparse():
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    m = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(8)])
    for layer in m.layers:
        w, b = layer.get_weights()
        layer.set_weights([(w * (rng.random(w.shape) < 0.15)).astype(np.float32), b])
    return tf_convert(m, optimizations=[tf.lite.Optimize.EXPERIMENTAL_SPARSITY])


MODELS = {
    "kws_int8": mm.kws_cnn_int8,
    "mobilenet_v1_025_int8": mm.mobilenet_v1_025_96_int8,
    "mobilenet_v2_int8": lambda: _int8("mobilenet_v2"),
    "kws_float": lambda: tf_convert(NETWORKS["kws_dscnn"]()),
    "kws_float16": lambda: tf_convert(NETWORKS["kws_dscnn"](), quantize="float16"),
    "kws_dynamic": lambda: tf_convert(NETWORKS["kws_dscnn"](), quantize="dynamic"),
    "recurrent_while": lambda: tf_convert(NETWORKS["recurrent"]()),
    "while_counter": _while_counter,
    "if_cond": _if_cond,
    "sparse_fc": _sparse,
}


def _desktop_steps(model, steps):
    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    outs = []
    for step in steps:
        for d, x in zip(it.get_input_details(), step):
            it.set_tensor(d["index"], x)
        it.invoke()
        outs.append([it.get_tensor(d["index"]) for d in it.get_output_details()])
    return outs


def _steps(model, n=2):
    it = edgerun.Interpreter(model_content=model)
    return [random_inputs(it.get_input_details(), seed=s) for s in range(n)]


def _compare(ours, theirs, exact, what):
    assert len(ours) == len(theirs)
    for k, (a_step, b_step) in enumerate(zip(ours, theirs)):
        for j, (a, b) in enumerate(zip(a_step, b_step)):
            assert a.dtype == b.dtype and a.shape == b.shape, f"{what}: step {k} output {j}"
            if exact or a.dtype.kind != "f":
                assert np.array_equal(a, b), f"{what}: step {k} output {j} differs: {a.ravel()[:6]} vs {b.ravel()[:6]}"
            else:
                err = float(np.max(np.abs(a.astype(np.float64) - b)))
                assert err <= 1e-5 * float(np.max(np.abs(b))), f"{what}: step {k} output {j}: max error {err:.3g}"


def _check(model, target, tmp_path, steps=None, exact=True):
    steps = steps or _steps(model)
    project = compile_model(model, target, tmp_path / target, name="net")
    result = run_project(project, steps)
    _compare(result.outputs, _desktop_steps(model, steps), exact, target)
    return result


# -- the plan is data -----------------------------------------------------------------------------------
def _walk(value, path="plan"):
    """Every leaf of a plan (dataclasses, Params, lists, dicts), with where it is."""
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _walk(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, P.Params):
        yield from _walk(value.fields, f"{path}<{value.ctype}>")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, value


@pytest.mark.parametrize("name", ["kws_int8", "recurrent_while"])
@pytest.mark.parametrize("target", ["host", "cortex-m4"])
def test_plan_is_plain_data(name, target):
    from edgerun.kernels import ffi

    plan = prepare_for(MODELS[name](), target)
    leaves = list(_walk(plan))
    bad = [p for p, v in leaves if isinstance(v, ffi.CData)]
    assert not bad, f"cffi objects in the plan: {bad[:3]}"
    assert all(isinstance(v, (int, float, str, bool, type(None), np.ndarray, P.ConstRef, P.SubplanRef,
                              P.VariableRef)) for _, v in leaves), {type(v) for _, v in leaves}
    text = str(plan)
    assert "arena" in text and plan.kernels()[0] in text
    if target != "host":  # a device plan calls reference kernels only (ISA variants are chosen at C build)
        assert not any(k.endswith(("_gemm", "_vec", "_fast")) for k in plan.kernels()), plan.kernels()


def test_while_is_an_executor_record():
    plan = prepare_for(MODELS["recurrent_while"](), "host")
    kernels = plan.kernels()
    assert "ctl_while" in kernels and "python" not in kernels and len(plan.subplans) >= 3


# -- host: every model, bit for bit -----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MODELS))
def test_host_matches_desktop(name, tmp_path):
    _check(MODELS[name](), "host", tmp_path)


@pytest.mark.parametrize("flag", [1.0, -1.0])
def test_host_if_both_branches(flag, tmp_path):
    model = _if_cond()
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3)).astype(np.float32)
    _check(model, "host", tmp_path, steps=[[x, np.array([flag], np.float32)]])


@pytest.mark.parametrize("name, plan_for", [("recurrent_while", "host"), ("kws_int8", "cortex-m4"),
                                            ("streaming_int8", "cortex-m4")])
def test_host_under_sanitizers(name, plan_for, tmp_path):
    """The generated C, its executor and kernels run clean under ASan/UBSan on the host: control flow (WHILE),
    a device plan's in-place kernels, resource variables and CALL_ONCE (a device plan built for the host)."""
    from edgerun.platforms.codegen import generate
    from edgerun.platforms.codegen.runner import build_project

    if name == "streaming_int8":
        model = mm.streaming_model("int8")
        steps = [[f] for f in mm.streaming_frames(model, 5)]
    else:
        model = MODELS[name]()
        steps = _steps(model)
    plan = prepare_for(model, plan_for)
    plan.target = "host"
    project = generate(plan, tmp_path / "p", name="net")
    result = run_project(project, steps, exe=build_project(project, opt="-O1", sanitize=True))
    _compare(result.outputs, _desktop_steps(model, steps), plan_for == "host", f"{plan_for} plan")


@pytest.mark.parametrize("quantize", mm.STREAMING_QUANTIZE)
def test_streaming_20_steps_host(quantize, tmp_path):
    model = mm.streaming_model(quantize)
    frames = mm.streaming_frames(model, 20)
    _check(model, "host", tmp_path, steps=[[f] for f in frames])


# -- boards under qemu ----------------------------------------------------------------------------------
@pytest.mark.emulated
@pytest.mark.parametrize("target", BOARDS + ("cortex-m7", "cortex-m33"))
def test_kws_on_board(target, tmp_path):
    result = _check(MODELS["kws_int8"](), target, tmp_path)
    assert result.instructions and min(result.instructions) > 0


@pytest.mark.emulated
@pytest.mark.slow
@pytest.mark.parametrize("target", BOARDS)
def test_mobilenet_v1_on_board(target, tmp_path):
    _check(MODELS["mobilenet_v1_025_int8"](), target, tmp_path, steps=_steps(MODELS["mobilenet_v1_025_int8"](), 1))


@pytest.mark.emulated
@pytest.mark.parametrize("quantize", mm.STREAMING_QUANTIZE)
@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m0plus", "riscv32"])
def test_streaming_20_steps_on_board(quantize, target, tmp_path):
    if quantize is None and target != "cortex-m4":
        pytest.skip("float streaming: cortex-m4 only (integer variants on every core)")
    model = mm.streaming_model(quantize)
    frames = mm.streaming_frames(model, 20)
    _check(model, target, tmp_path, steps=[[f] for f in frames], exact=quantize is not None)


@pytest.mark.emulated
@pytest.mark.slow
@pytest.mark.parametrize("target", ["cortex-m4", "riscv32"])
def test_mobilenet_v2_int8_on_board(target, tmp_path):
    model = MODELS["mobilenet_v2_int8"]()
    _check(model, target, tmp_path, steps=_steps(model, 1))


@pytest.mark.emulated
@pytest.mark.parametrize("name", ["kws_float", "recurrent_while", "if_cond", "sparse_fc", "kws_float16"])
def test_float_models_on_cortex_m4(name, tmp_path):
    """Float on a board: within 1e-5 relative. The board runs the reference kernels (sums in another order
    than the desktop's vectorised ones) with its own libm, so bits may differ."""
    _check(MODELS[name](), "cortex-m4", tmp_path, exact=False)


@pytest.mark.emulated
@pytest.mark.parametrize("name", ["kws_int8", "mobilenet_v1_025_int8"])
def test_ram_against_tflm_on_cortex_m4(name, tmp_path):
    """edgerun's RAM for the model on Cortex-M4 (arena + variables + the stack's high-water mark + the model's
    other data/bss, measured in the linked program under qemu) at most 0.6x the arena TFLite Micro reports for
    the same model; code (text without weights) of the keyword-spotting CNN at most 32 KiB."""
    model = MODELS[name]()
    result = _check(model, "cortex-m4", tmp_path, steps=_steps(model, 1))
    m = result.memory
    tflm = mm.tflm_arena_bytes(model) if _has_tflm() else {"kws_int8": 24_208}.get(name, 103_696)
    print(f"{name} on cortex-m4: model RAM {m['model_ram_bytes']} B (arena {m['arena_bytes']}, stack "
          f"{m['stack_bytes']}), TFLM arena {tflm} B: {m['model_ram_bytes'] / tflm:.2f}x; code {m['code_bytes']} B")
    assert m["model_ram_bytes"] <= 0.6 * tflm, (m, tflm)
    if name == "kws_int8":
        assert m["code_bytes"] <= 32 * 1024, m


def _has_tflm():
    try:
        import tflite_micro  # noqa: F401
    except ImportError:
        return False
    return True


# -- refusals -------------------------------------------------------------------------------------------
def test_python_custom_op_is_refused_by_name(tmp_path):
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (4,), np.float32)
    y = b.tensor("y", (4,), np.float32)
    b.op("CUSTOM", [x], [y], custom_code="MyPyOp")
    b.inputs([x])
    b.outputs([y])
    model = b.finish()
    edgerun.register_custom_op("MyPyOp", lambda ins, outs: np.copyto(outs[0], ins[0] * 2))
    assert edgerun.Interpreter(model_content=model) is not None
    with pytest.raises(UnsupportedOpError, match="MyPyOp.*Python"):
        compile_model(model, "cortex-m4", tmp_path / "p")


def test_unknown_target_is_a_clear_error(tmp_path):
    with pytest.raises(edgerun.EdgerunError, match="unknown target 'cortex-m99'"):
        compile_model(MODELS["kws_int8"](), "cortex-m99", tmp_path)
