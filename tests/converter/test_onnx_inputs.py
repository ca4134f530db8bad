"""Fixing ONNX inputs at conversion (issue 10 item 4): input_shapes fixes dynamic dimensions (symbolic, unknown
or declared -1; -1 in the option keeps one dynamic, written -1 in shape_signature), constant_inputs turns an
input into a constant; the CLI's --input-shape / --set-input. Oracle: onnxruntime on the same inputs."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper

import edgerun
from edgerun.errors import ConversionError

ROOT = Path(__file__).resolve().parents[2]


def _model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def _conv_dynamic():
    """Conv 3x3 over x [N, 3, H, W] with symbolic N, H and an unknown W: left at size 1 the 3x3 window cannot
    fit, so the sizes must be fixed."""
    rng = np.random.default_rng(0)
    w = helper.make_tensor("w", TensorProto.FLOAT, (4, 3, 3, 3), rng.normal(size=(4, 3, 3, 3)).astype(np.float32).ravel())
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    return _model([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], [x], [y], [w])


def _ort(model, feeds):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def _edgerun(tfl, feeds_in_order):
    it = edgerun.Interpreter(model_content=tfl)
    for d, x in zip(it.get_input_details(), feeds_in_order):
        if tuple(d["shape"]) != x.shape:
            it.resize_tensor_input(d["index"], x.shape)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), feeds_in_order):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()], it


def test_input_shapes_fix_dynamic_dimensions():
    m = _conv_dynamic()
    x = np.random.default_rng(1).normal(size=(1, 3, 10, 12)).astype(np.float32)
    tfl = edgerun.convert(m, input_shapes={"x": (1, 3, 10, 12)})
    (ours,), it = _edgerun(tfl, [x])
    np.testing.assert_allclose(ours, _ort(m, {"x": x})[0], rtol=1e-4, atol=1e-4)
    assert list(it.get_input_details()[0]["shape_signature"]) == [1, 3, 10, 12]


def test_minus_one_keeps_the_batch_dynamic():
    m = _conv_dynamic()
    tfl = edgerun.convert(m, input_shapes={"x": (-1, 3, 10, 12)})
    x = np.random.default_rng(2).normal(size=(2, 3, 10, 12)).astype(np.float32)
    (ours,), it = _edgerun(tfl, [x])  # resized to batch 2 at run time
    assert list(it.get_input_details()[0]["shape_signature"]) == [-1, 3, 10, 12]
    np.testing.assert_allclose(ours, _ort(m, {"x": x})[0], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("group", [1, 2])
def test_conv_transpose_with_a_dynamic_batch(group):
    """ConvTranspose (a detector's upsampling head) with the batch left -1: TRANSPOSE_CONV's output_shape is
    computed at run time from the input's batch (SHAPE, SLICE, CONCATENATION), not the constant [1, h, w, c]
    that refused any other batch; a per-channel Mul after it (batch norm) still folds. Batch 3 in edgerun and
    LiteRT against onnxruntime."""
    from oracle import litert_run

    rng = np.random.default_rng(4)
    w = helper.make_tensor("w", TensorProto.FLOAT, (4, 6 // group, 2, 2),
                           rng.normal(size=(4, 6 // group, 2, 2)).astype(np.float32).ravel())
    s = helper.make_tensor("s", TensorProto.FLOAT, (1, 6, 1, 1), rng.uniform(0.5, 1.5, 6).astype(np.float32))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    m = _model([helper.make_node("ConvTranspose", ["x", "w"], ["t"], kernel_shape=[2, 2], strides=[2, 2],
                                 group=group),
                helper.make_node("Mul", ["t", "s"], ["y"])], [x], [y], [w, s])
    tfl = edgerun.convert(m, input_shapes={"x": (-1, 4, 5, 7)})
    xv = rng.normal(size=(3, 4, 5, 7)).astype(np.float32)
    want = _ort(m, {"x": xv})[0]
    (ours,), it = _edgerun(tfl, [xv])
    assert list(it.get_input_details()[0]["shape_signature"]) == [-1, 4, 5, 7]
    if group == 1:  # folded into the weights (two groups end in a CONCATENATION, which nothing folds into)
        assert "MUL" not in {o["op_name"] for o in it._get_ops_details()}
    for who, got in (("edgerun", ours), ("LiteRT", litert_run(tfl, [xv])[0])):
        assert got.shape == (3, 6, 10, 14), who
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()), err_msg=who)


def test_declared_minus_one_dimensions_are_dynamic():
    """An exporter's -1 (not a symbol) for the batch: converted as a dynamic dimension, no option needed."""
    rng = np.random.default_rng(3)
    w = helper.make_tensor("w", TensorProto.FLOAT, (4, 2), rng.normal(size=(4, 2)).astype(np.float32).ravel())
    b = helper.make_tensor("b", TensorProto.FLOAT, (2,), [0.5, -0.25])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [-1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [-1, 2])
    m = _model([helper.make_node("Gemm", ["x", "w", "b"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
               [x], [y], [w, b])
    tfl = edgerun.convert(m)
    xv = rng.normal(size=(1, 4)).astype(np.float32)
    (ours,), it = _edgerun(tfl, [xv])
    assert it.get_input_details()[0]["shape_signature"][0] == -1
    np.testing.assert_allclose(ours, _ort(m, {"x": xv})[0], rtol=1e-5, atol=1e-6)


def _gain_model():
    """y = x * Cast(sr) / 16000: with sr a constant the scale folds."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])
    sr = helper.make_tensor_value_info("sr", TensorProto.INT64, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])
    k = helper.make_tensor("k", TensorProto.FLOAT, (1,), [1 / 16000])
    return _model([helper.make_node("Cast", ["sr"], ["srf"], to=TensorProto.FLOAT),
                   helper.make_node("Mul", ["srf", "k"], ["g"]), helper.make_node("Mul", ["x", "g"], ["y"])],
                  [x, sr], [y], [k])


def test_constant_inputs_become_constants():
    m = _gain_model()
    tfl = edgerun.convert(m, constant_inputs={"sr": 8000})
    xv = np.linspace(-1, 1, 8, dtype=np.float32).reshape(1, 8)
    (ours,), it = _edgerun(tfl, [xv])
    assert [d["name"] for d in it.get_input_details()] == ["x"]
    np.testing.assert_allclose(ours, _ort(m, {"x": xv, "sr": np.array([8000], np.int64)})[0], rtol=1e-6)
    ops = {o["op_name"] for o in it._get_ops_details()}
    assert "CAST" not in ops, ops  # folded


@pytest.mark.parametrize("kw, match", [
    ({"input_shapes": {"q": (1, 3, 4, 4)}}, "no input 'q'; its inputs are x"),
    ({"input_shapes": {"x": (1, 3, 4)}}, "rank 3"),
    ({"input_shapes": {"x": (1, 4, 8, 8)}}, "dimension 1 is 3 in the model, not 4"),
    ({"input_shapes": {"x": (1, 3, 0, 8)}}, "dimension 2 is 0"),
    ({"constant_inputs": {"x": "abc"}}, "not a float32 value"),
])
def test_wrong_fixes_are_named(kw, match):
    with pytest.raises(ConversionError, match=match):
        edgerun.convert(_conv_dynamic(), **kw)


def test_sizes_left_dynamic_name_the_option():
    """Converted without input_shapes, H and W are 1 and the 3x3 window cannot fit: the error names the input,
    its declared dimensions and the option that fixes them."""
    with pytest.raises(ConversionError, match=r"window is larger.*input 'x' \['N', 3, 'H', \?\] has dynamic "
                                              r"dimensions.*input_shapes=.*--input-shape"):
        edgerun.convert(_conv_dynamic())


def test_serialized_model_bytes():
    """An ONNX model's bytes (as read from a package's wheel) convert like the ModelProto; bytes that are not
    an ONNX model are refused by name."""
    m = _conv_dynamic()
    kw = {"input_shapes": {"x": (1, 3, 6, 5)}}
    assert edgerun.convert(m.SerializeToString(), **kw) == edgerun.convert(m, **kw)
    with pytest.raises(ConversionError, match="not an ONNX model"):
        edgerun.convert(b"")
    with pytest.raises(ConversionError, match="cannot parse ONNX model bytes"):
        edgerun.convert(b"garbage")
    with pytest.raises(ConversionError, match="a TFLite model .* nothing to convert"):
        edgerun.convert(edgerun.convert(m, **kw))


def test_options_refused_for_keras_sources():
    with pytest.raises(ConversionError, match="apply to ONNX models"):
        edgerun.convert(str(ROOT / "examples" / "digits" / "digits_cnn.keras"), input_shapes={"x": (1, 8, 8, 1)})


def test_cli_input_shape_and_set_input(tmp_path):
    conv, gain = tmp_path / "conv.onnx", tmp_path / "gain.onnx"
    onnx.save(_conv_dynamic(), conv)
    onnx.save(_gain_model(), gain)

    def convert(*args):
        return subprocess.run([sys.executable, "-m", "edgerun.cli", "convert", *map(str, args)], check=False,
                              capture_output=True, text=True, cwd=ROOT, timeout=300)

    p = convert(conv, "-o", tmp_path / "c.tflite", "--input-shape", "x=1,3,10,12")
    assert p.returncode == 0, p.stderr
    x = np.random.default_rng(4).normal(size=(1, 3, 10, 12)).astype(np.float32)
    (ours,), _ = _edgerun((tmp_path / "c.tflite").read_bytes(), [x])
    np.testing.assert_allclose(ours, _ort(_conv_dynamic(), {"x": x})[0], rtol=1e-4, atol=1e-4)
    p = convert(gain, "-o", tmp_path / "g.tflite", "--set-input", "sr=16000")
    assert p.returncode == 0, p.stderr
    xv = np.ones((1, 8), np.float32)
    (ours,), _ = _edgerun((tmp_path / "g.tflite").read_bytes(), [xv])
    np.testing.assert_allclose(ours, xv, rtol=1e-6)
    for bad, word in ((["--input-shape", "x=1,3,a"], "integers"), (["--set-input", "sr"], "NAME=VALUE"),
                      (["--input-shape", "y=1"], "no input 'y'")):
        p = convert(conv, "-o", tmp_path / "bad.tflite", *bad)
        assert p.returncode == 1 and word in p.stderr and "Traceback" not in p.stderr, p.stderr


def _vad_like():
    """What voice-activity models do: If (sr == 16000) then a 3-tap window of x else a 2-tap one; the branches
    read the outer x and an outer weight by name."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 16])
    sr = helper.make_tensor_value_info("sr", TensorProto.INT64, [])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w3 = helper.make_tensor("w3", TensorProto.FLOAT, (1, 1, 3), [0.25, 0.5, 0.25])
    w2 = helper.make_tensor("w2", TensorProto.FLOAT, (1, 1, 2), [0.5, 0.5])
    then_g = helper.make_graph([helper.make_node("Conv", ["xs", "w3"], ["t_out"]),
                                helper.make_node("Relu", ["t_out"], ["t_y"])], "then", [],
                               [helper.make_tensor_value_info("t_y", TensorProto.FLOAT, None)])
    else_g = helper.make_graph([helper.make_node("Conv", ["xs", "w2"], ["e_y"])], "else", [],
                               [helper.make_tensor_value_info("e_y", TensorProto.FLOAT, None)], [w2])
    k = helper.make_tensor("k16", TensorProto.INT64, (), [16000])
    nodes = [helper.make_node("Mul", ["x", "two"], ["xs"]),
             helper.make_node("Equal", ["sr", "k16"], ["is16"]),
             helper.make_node("If", ["is16"], ["y"], then_branch=then_g, else_branch=else_g)]
    two = helper.make_tensor("two", TensorProto.FLOAT, (1,), [2.0])
    return _model(nodes, [x, sr], [y], [w3, k, two])


@pytest.mark.parametrize("rate", [16000, 8000])
def test_if_on_a_constant_input_folds_to_its_branch(rate):
    m = _vad_like()
    tfl = edgerun.convert(m, constant_inputs={"sr": rate})
    xv = np.random.default_rng(5).normal(size=(1, 1, 16)).astype(np.float32)
    (ours,), it = _edgerun(tfl, [xv])
    want = _ort(m, {"x": xv, "sr": np.array(rate, np.int64)})[0]
    assert ours.shape == want.shape == (1, 1, 14 if rate == 16000 else 15)
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-6)
    assert not any(o["op_name"] in ("IF", "WHILE") for o in it._get_ops_details())


def test_if_on_a_runtime_condition_names_the_fix():
    with pytest.raises(ConversionError, match="If with a condition computed at run time.*constant_inputs"):
        edgerun.convert(_vad_like())
