"""Conversion with only what it needs (issue 11): a Keras file converts with keras and jax alone (TensorFlow
blocked from importing, KERAS_BACKEND unset: the converter picks an installed backend itself), and a missing
framework is one line naming the pip extra, exit 1, no traceback. Each case runs `edgerun convert` in a fresh
interpreter whose import system refuses the blocked packages, as if they were not installed."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits"

RUNNER = '''
import importlib.abc, sys
BLOCKED = {blocked!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}")
        return None
sys.meta_path.insert(0, Block())
import importlib.util
_find = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in BLOCKED else _find(name, *a)
sys.path.insert(0, {root!r})
import edgerun.cli
rc = edgerun.cli.main(sys.argv[1:])
print("loaded:", sorted(m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules))
sys.exit(rc)
'''


def _convert(tmp_path, blocked, *args):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(blocked=set(blocked), root=str(ROOT)))
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    return subprocess.run([sys.executable, str(script), "convert", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)


def test_keras_int8_without_tensorflow(tmp_path):
    data = np.load(DIGITS / "digits_data.npz")
    np.save(tmp_path / "calib.npy", data["calib_x"][:32])
    out = tmp_path / "d.tflite"
    p = _convert(tmp_path, {"tensorflow"}, DIGITS / "digits_cnn.keras", "-o", out, "--quantize", "int8",
                 "--calibration", tmp_path / "calib.npy")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "loaded: ['jax', 'keras']" in p.stdout, p.stdout
    assert "Traceback" not in p.stderr and "cuda" not in p.stderr.lower(), p.stderr
    # the converted model is the real thing: int8 inside, and LiteRT's builtin kernels agree bit for bit
    from oracle import edgerun_run, litert_run

    model = out.read_bytes()
    x = data["test_x"][:1].astype(np.float32)
    ours, theirs = edgerun_run(model, [x])[0], litert_run(model, [x])[0]
    np.testing.assert_array_equal(ours, theirs)
    assert (ours.argmax(-1) == data["test_y"][:1]).all()


@pytest.mark.parametrize("blocked, source, extra", [
    ({"keras"}, DIGITS / "digits_cnn.keras", "edgerun[keras]"),
    ({"jax", "torch", "tensorflow"}, DIGITS / "digits_cnn.keras", "edgerun[keras]"),
    ({"onnx"}, "model.onnx", "edgerun[onnx]"),
    ({"tensorflow"}, "saved", "edgerun[tensorflow]"),
])
def test_missing_framework_names_the_extra(tmp_path, blocked, source, extra):
    if source == "model.onnx":
        source = tmp_path / "model.onnx"
        source.write_bytes(b"\x08\x07")  # never parsed: the import fails first
    elif source == "saved":
        source = tmp_path / "saved"
        source.mkdir()
        (source / "saved_model.pb").write_bytes(b"")
    p = _convert(tmp_path, blocked, source, "-o", tmp_path / "x.tflite")
    assert p.returncode == 1, p.stdout + p.stderr
    assert extra in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
