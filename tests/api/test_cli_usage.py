"""Wrong usages of the edgerun command (issue 11): each is one line on stderr naming the file, input, option or
op, exit 1 (2 for usage), never a traceback. Runs the real command in a subprocess, as a user would."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits"


def edgerun(*args, cwd=None, **env_extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **env_extra)
    return subprocess.run([sys.executable, "-m", "edgerun.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def _fail(p, code, *words):
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout, p.stderr
    for w in words:
        assert str(w) in p.stderr, (w, p.stderr)
    if code == 1:
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A float model with input 'x' (1, 6) -> FULLY_CONNECTED -> 'y' (1, 3)."""
    b = ModelBuilder()
    x = b.tensor("x", (1, 6), np.float32)
    w = b.const("w", np.arange(18, dtype=np.float32).reshape(3, 6) / 10)
    y = b.tensor("y", (1, 3), np.float32)
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    b.inputs([x])
    b.outputs([y])
    path = tmp_path_factory.mktemp("usage") / "fc.tflite"
    path.write_bytes(b.finish())
    return path


def _custom_model(path, code, options=b""):
    b = ModelBuilder()
    v = b.tensor("v", (1, 2, 2, 1), np.float32)
    i = b.tensor("i", (1, 2, 2, 1), np.float32)
    z = b.tensor("z", (1, 4, 4, 1), np.float32)
    b.op("CUSTOM", [v, i], [z], custom_code=code, custom_options=options)
    b.inputs([v, i])
    b.outputs([z])
    path.write_bytes(b.finish())
    return path


def test_missing_model_file(tmp_path):
    for cmd in ("inspect", "run", "bench"):
        _fail(edgerun(cmd, tmp_path / "nope.tflite"), 1, "nope.tflite")
    p = edgerun("verify", tmp_path / "nope.tflite")  # verify reports on stdout, one block per file
    assert p.returncode == 1 and "nope.tflite" in p.stdout and "Traceback" not in p.stderr, p.stdout + p.stderr


def test_input_file_problems(model, tmp_path):
    _fail(edgerun("run", model, "--input", f"x={tmp_path / 'none.npy'}"), 1, "none.npy", "--input")
    (tmp_path / "text.npy").write_text("1,2,3,4,5,6")
    _fail(edgerun("run", model, "--input", f"x={tmp_path / 'text.npy'}"), 1, "text.npy", "not a .npy")
    np.savez(tmp_path / "two.npz", a=np.zeros(6), b=np.zeros(6))
    _fail(edgerun("run", model, "--input", f"x={tmp_path / 'two.npz'}"), 1, "two.npz", "2 arrays")
    np.save(tmp_path / "x.npy", np.zeros((1, 6), np.float32))
    _fail(edgerun("run", model, "--input", f"x={tmp_path / 'x.npy'}", "--input", f"x={tmp_path / 'x.npy'}"), 1,
          "--input x", "twice")
    _fail(edgerun("run", model, "--input", f"q={tmp_path / 'x.npy'}"), 1, "--input q", "inputs are x")
    _fail(edgerun("run", model, "--input", "x"), 1, "NAME=FILE.npy")


def test_wrong_shape_and_dtype_are_refused_unless_asked(model, tmp_path):
    np.save(tmp_path / "long.npy", np.ones((2, 6), np.float32))
    _fail(edgerun("run", model, "--input", f"x={tmp_path / 'long.npy'}"), 1, "'x'", "(1, 6)", "(2, 6)", "--resize")
    p = edgerun("run", model, "--input", f"x={tmp_path / 'long.npy'}", "--resize", "--output", tmp_path / "r.npz")
    assert p.returncode == 0 and "resized" in p.stdout, p.stdout + p.stderr
    np.testing.assert_allclose(np.load(tmp_path / "r.npz")["y"], np.ones((2, 6)) @ (np.arange(18).reshape(3, 6).T / 10),
                               rtol=1e-6)
    np.save(tmp_path / "f64.npy", np.ones((1, 6), np.float64))
    _fail(edgerun("run", model, "--input", f"x={tmp_path / 'f64.npy'}"), 1, "'x'", "float32", "float64", "--cast")
    p = edgerun("run", model, "--input", f"x={tmp_path / 'f64.npy'}", "--cast")
    assert p.returncode == 0 and "cast from float64 to float32" in p.stdout, p.stdout + p.stderr


def test_random_inputs_are_announced_and_output_folders_created(model, tmp_path):
    out = tmp_path / "new" / "deeper" / "out.npz"
    p = edgerun("run", model, "--output", out)
    assert p.returncode == 0, p.stderr
    assert "input 'x' not given" in p.stdout and "random" in p.stdout and f"wrote {out}" in p.stdout
    assert np.load(out)["y"].shape == (1, 3)


@pytest.mark.parametrize("args", [("--runs", "0"), ("--runs", "x"), ("--warmup", "-1"), ("--threads", "0")])
def test_bench_usage_errors(model, args):
    _fail(edgerun("bench", model, *args), 2, args[0])


def test_bench_when_litert_cannot_run_the_model(tmp_path):
    """MediaPipe's MaxUnpooling2D with SAME padding: edgerun runs it, LiteRT resolves it in neither mode."""
    import struct

    opts = struct.pack("<iiiiiiiii", 1, 2, 2, 2, 2, 0, 0, 0, 0)  # padding SAME, strides 2x2, filter 2x2
    path = _custom_model(tmp_path / "unpool.tflite", "MaxUnpooling2D", opts)
    p = edgerun("bench", path, "--runs", "3", "--warmup", "0")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "cannot run this model" in p.stdout and "edgerun alone" in p.stdout, p.stdout
    assert "median" in p.stdout


def test_inspect_lists_unresolved_custom_ops(tmp_path):
    path = _custom_model(tmp_path / "mystery.tflite", "MysteryOp")
    p = edgerun("inspect", path)
    assert p.returncode == 0, p.stderr
    assert "MysteryOp" in p.stdout and "not registered" in p.stdout and "unresolved ops: MysteryOp" in p.stdout


def test_bench_json_and_profile(model):
    p = edgerun("bench", model, "--runs", "5", "--warmup", "1", "--json", "--profile")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    s = data["runtimes"]["edgerun"]
    assert s["min_ms"] <= s["median_ms"] <= s["p90_ms"] <= s["p99_ms"] and s["runs"] == 5
    (row,) = data["profile"]
    assert row["op"] == "FULLY_CONNECTED" and row["output_shapes"] == [[1, 3]] and row["share"] == 1.0
    if "LiteRT (XNNPACK)" in data["runtimes"]:
        r = data["ratios"]["LiteRT (XNNPACK)"]
        assert r["text"].startswith("edgerun ") and (" faster than " in r["text"]) == (r["edgerun_over_peer"] <= 1)


def test_convert_ignored_and_bad_options(tmp_path):
    src = DIGITS / "digits_cnn.keras"
    np.save(tmp_path / "c.npy", np.zeros((4, 8, 8, 1), np.float32))
    p = edgerun("convert", src, "-o", tmp_path / "m.tflite", "--calibration", tmp_path / "c.npy")
    assert p.returncode == 0, p.stderr
    assert "--calibration is ignored" in p.stderr
    _fail(edgerun("convert", src, "-o", tmp_path / "m.tflite", "--input-type", "int8"), 1, "input_type")
    _fail(edgerun("convert", tmp_path / "missing.keras", "-o", tmp_path / "m.tflite"), 1, "missing.keras")
    _fail(edgerun("convert", src, "-o", tmp_path / "m.tflite", "--quantize", "int7"), 2, "--quantize")


def test_progress_only_on_a_terminal_or_when_asked(model):
    """Not a terminal (this subprocess): no bar; EDGERUN_PROGRESS=1: tqdm's bar on stderr."""
    quiet = edgerun("bench", model, "--runs", "4", "--warmup", "0", "--no-litert")
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    shown = edgerun("bench", model, "--runs", "4", "--warmup", "0", "--no-litert", EDGERUN_PROGRESS="1")
    assert shown.returncode == 0 and "bench" in shown.stderr and "4/4" in shown.stderr, shown.stderr
