"""`edgerun convert`: files in, .tflite out (checked against Keras in LiteRT and edgerun), the size report,
readable errors."""
import subprocess
import sys

import numpy as np
import pytest
from convert_checks import check_model_bytes, keras_outputs, op_types, random_inputs_for

from edgerun.cli import main

keras = pytest.importorskip("keras")
layers = keras.layers


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    keras.utils.set_random_seed(0)
    inp = keras.Input((10, 10, 3), name="image")
    x = layers.Conv2D(16, 3, use_bias=False)(inp)
    x = layers.BatchNormalization(moving_variance_initializer="ones", beta_initializer="ones")(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(32, 3, strides=2, activation="relu")(x)
    x = layers.Flatten()(x)
    out = layers.Dense(5, activation="softmax", name="probs")(x)
    model = keras.Model(inp, out)
    path = tmp_path_factory.mktemp("cli") / "model.keras"
    model.save(path)
    return model, path


def test_convert_keras_file(keras_file, tmp_path, capsys):
    model, path = keras_file
    out = tmp_path / "sub" / "model.tflite"
    assert main(["convert", str(path), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    data = out.read_bytes()
    assert op_types(data) == ["CONV_2D", "CONV_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    inputs = random_inputs_for(model)
    check_model_bytes(data, inputs, keras_outputs(model, inputs))


def test_float16_report(keras_file, tmp_path, capsys):
    model, path = keras_file
    out = tmp_path / "m16.tflite"
    assert main(["convert", str(path), "-o", str(out), "--quantize", "float16", "--report"]) == 0
    text = capsys.readouterr().out
    assert "size: source" in text and "float32 model" in text and "float16 model" in text
    inputs = random_inputs_for(model)
    check_model_bytes(out.read_bytes(), inputs, keras_outputs(model, inputs), rtol=1e-2)


def test_int8_with_calibration_and_report(keras_file, tmp_path, capsys):
    """The quantizer (converter/quantize.py) and report (converter/report.py) reached through the command:
    the int8 model runs in LiteRT close to Keras (2% of the output range) and bit-exact in edgerun."""
    pytest.importorskip("edgerun.converter.quantize")
    pytest.importorskip("edgerun.converter.report")
    from oracle import assert_matches_litert, litert_run

    model, path = keras_file
    cal = np.random.default_rng(0).uniform(-1, 1, (16, 10, 10, 3)).astype(np.float32)
    np.save(tmp_path / "cal.npy", cal)
    out = tmp_path / "int8.tflite"
    assert main(["convert", str(path), "-o", str(out), "--quantize", "int8", "--calibration",
                 str(tmp_path / "cal.npy"), "--report"]) == 0
    text = capsys.readouterr().out
    assert "int8 model" in text and "Quantization report" in text
    data = out.read_bytes()
    assert "QUANTIZE" in op_types(data)
    ref = keras_outputs(model, [cal[:1]])[0]
    got = litert_run(data, [cal[:1]])[0]
    assert np.max(np.abs(got - ref)) <= 0.02 * np.max(np.abs(ref))
    assert_matches_litert(data, [cal[:1]], exact=True)


def test_command_line_subprocess(keras_file, tmp_path):
    _, path = keras_file
    out = tmp_path / "m.tflite"
    r = subprocess.run([sys.executable, "-m", "edgerun.cli", "convert", str(path), "-o", str(out), "--report"],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert out.stat().st_size > 0 and "size: source" in r.stdout


def test_errors_are_readable(keras_file, tmp_path, capsys):
    _, path = keras_file
    out = str(tmp_path / "x.tflite")
    assert main(["convert", str(tmp_path / "missing.keras"), "-o", out]) == 1
    assert "edgerun: error:" in capsys.readouterr().err
    assert main(["convert", str(path), "-o", out, "--quantize", "int8"]) == 1
    assert "representative" in capsys.readouterr().err
    assert main(["convert", str(path), "-o", out, "--input-type", "int8"]) == 1
    assert "input_type" in capsys.readouterr().err
    np.save(tmp_path / "cal.npy", np.zeros((4, 7), np.float32))
    assert main(["convert", str(path), "-o", out, "--quantize", "int8", "--calibration",
                 str(tmp_path / "cal.npy")]) == 1
    assert "edgerun: error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["convert", str(path), "-o", out, "--quantize", "int3"])
