"""The edgerun command line: --version, inspect, run (random and given inputs), bench; errors are readable."""
import subprocess
import sys

import numpy as np
import pytest

import edgerun
from edgerun.cli import main


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    import keras

    from oracle import tf_convert

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((6,), batch_size=1, name="x"), keras.layers.Dense(3, name="out")])
    p = tmp_path_factory.mktemp("cli") / "m.tflite"
    p.write_bytes(tf_convert(m))
    return p


def test_version():
    out = subprocess.run([sys.executable, "-m", "edgerun.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and edgerun.__version__ in out.stdout


def test_inspect(model_file, capsys):
    assert main(["inspect", str(model_file)]) == 0
    out = capsys.readouterr().out
    assert "FULLY_CONNECTED" in out and "memory: arena" in out and "weights" in out and "inputs:" in out


def test_run_random_and_given_inputs(model_file, tmp_path, capsys):
    assert main(["run", str(model_file)]) == 0
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(1, 6)
    np.save(tmp_path / "x.npy", x)
    name = edgerun.Interpreter(model_path=str(model_file)).get_input_details()[0]["name"]
    out = tmp_path / "out.npz"
    assert main(["run", str(model_file), "--input", f"{name}={tmp_path / 'x.npy'}", "--output", str(out)]) == 0
    got = np.load(out)
    from oracle import litert_run

    (want,) = litert_run(model_file.read_bytes(), [x])
    np.testing.assert_allclose(list(got.values())[0], want, rtol=1e-5, atol=1e-6)


def test_bad_file_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model at all")
    assert main(["inspect", str(bad)]) == 1
    assert "not a TFLite model" in capsys.readouterr().err


def test_bench_runs(model_file, capsys):
    assert main(["bench", str(model_file), "--runs", "3", "--warmup", "1"]) == 0
    out = capsys.readouterr().out
    assert "edgerun" in out and "LiteRT" in out
