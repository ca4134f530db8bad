"""The bundled example (examples/digits): the committed Keras model, converted by edgerun, keeps its
accuracy in float32 and int8 on the committed test split, agrees with TensorFlow's own int8 conversion of the
same model and calibration data within 0.5 point, and the int8 file is <= 0.3x the float32 file. Also runs
the example's script end to end."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

HERE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "digits"


@pytest.fixture(scope="module")
def digits():
    import keras

    model = keras.saving.load_model(HERE / "digits_cnn.keras", compile=False)
    data = np.load(HERE / "digits_data.npz")
    return model, data


def _top1(model_bytes, x, y):
    from oracle import litert_run

    return 100.0 * float(np.mean(np.argmax(litert_run(model_bytes, [x])[0], 1) == y))


def test_digits_int8_accuracy_size_and_tf_agreement(digits):
    from oracle import tf_convert

    import edgerun

    model, d = digits
    calib = [c[None] for c in d["calib_x"]]
    xte, yte = d["test_x"], d["test_y"]
    keras_acc = 100.0 * float(np.mean(np.argmax(model.predict(xte, verbose=0), 1) == yte))
    f32 = edgerun.convert(model)
    i8 = edgerun.convert(model, quantize="int8", representative_data=calib)
    tf_i8 = tf_convert(model, quantize="int8", representative=calib)
    a_f32, a_i8 = _top1(f32, xte, yte), _top1(i8, xte, yte)
    # TF's converter fixes the batch at 1 for this model's signature: run it sample by sample.
    from oracle import litert_run

    a_tf = 100.0 * float(np.mean([np.argmax(litert_run(tf_i8, [x[None]])[0]) == y for x, y in zip(xte, yte)]))
    assert keras_acc >= 95.0
    assert abs(a_f32 - keras_acc) < 1e-9
    assert a_i8 >= keras_acc - 1.0, (a_i8, keras_acc)
    assert abs(a_i8 - a_tf) <= 0.5, (a_i8, a_tf)
    assert len(i8) <= 0.3 * len(f32), (len(i8), len(f32))


@pytest.mark.slow
def test_example_script_runs(tmp_path):
    r = subprocess.run([sys.executable, str(HERE / "run.py")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "int8 file is" in r.stdout and "OK" in r.stdout
