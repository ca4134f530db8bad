"""`edgerun run/bench MODEL --target linux-aarch64|linux-armv7` (platforms/cli.py): the command, run in a
subprocess as a user would, builds the C library and er_run for the target and runs the NEON plan under
qemu-user. Oracle: `edgerun run MODEL` on the desktop interpreter with the same input files (same npz keys;
integers identical, float within 1e-5 relative). Wrong usages: one line on stderr, exit 1.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edgerun
from edgerun.platforms import planfile as pf
from edgerun.platforms.codegen import prepare_for
from oracle import random_inputs
from test_codegen import MODELS

ROOT = Path(__file__).resolve().parents[2]


def edgerun_cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "edgerun.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=900)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """name -> (model path, [--input NAME=FILE.npy ...]) for a few codegen test models."""
    d = tmp_path_factory.mktemp("models")
    out = {}
    for name in ("kws_int8", "kws_float", "if_cond"):
        path = d / f"{name}.tflite"
        path.write_bytes(MODELS[name]())
        details = edgerun.Interpreter(model_path=str(path)).get_input_details()
        specs = []
        for k, (det, x) in enumerate(zip(details, random_inputs(details, seed=3))):
            np.save(d / f"{name}_in{k}.npy", x)
            specs += ["--input", f"{det['name']}={d / f'{name}_in{k}.npy'}"]
        out[name] = (path, specs)
    return out


def _one_line_error(done, *words):
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    err = done.stderr.strip()
    assert "\n" not in err and "Traceback" not in err and err.startswith("edgerun: error: "), err
    for w in words:
        assert w in err, err
    return err


def _compare(ours: Path, theirs: Path):
    a, b = np.load(ours), np.load(theirs)
    assert sorted(a.files) == sorted(b.files)
    for k in b.files:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        if b[k].dtype.kind == "f":
            err = float(np.max(np.abs(a[k].astype(np.float64) - b[k]))) if b[k].size else 0.0
            assert err <= 1e-5 * float(np.max(np.abs(b[k]))), (k, err)
        else:
            assert np.array_equal(a[k], b[k]), k


# -- under qemu --------------------------------------------------------------------------------------------
@pytest.mark.emulated
@pytest.mark.parametrize("target, cpu, name", [("linux-aarch64", None, "kws_int8"),
                                               ("linux-aarch64", "cortex-a53", "kws_int8"),
                                               ("linux-aarch64", None, "if_cond"),
                                               ("linux-armv7", None, "kws_float")])
def test_run_matches_the_host_run(files, target, cpu, name, tmp_path):
    model, specs = files[name]
    host = edgerun_cli("run", model, *specs, "--output", tmp_path / "host.npz")
    assert host.returncode == 0, host.stderr
    dev = edgerun_cli("run", model, *specs, "--target", target, *(["--cpu", cpu] if cpu else []),
                      "--output", tmp_path / "dev.npz")
    assert dev.returncode == 0, dev.stdout + dev.stderr
    _compare(tmp_path / "dev.npz", tmp_path / "host.npz")
    # which micro-kernels the library chose on qemu's CPU (default `max`: the dot product)
    dot = target == "linux-aarch64" and cpu != "cortex-a53"
    assert f"kernel set neon, micro-kernels {'neon-dotprod' if dot else 'neon'}," in dev.stdout, dev.stdout
    if name == "kws_int8":
        assert ("int8 dot GEMM sdot" in dev.stdout or "int8 dot GEMM i8mm" in dev.stdout) if dot else \
            "int8 dot GEMM smull" in dev.stdout, dev.stdout


@pytest.mark.emulated
def test_bench_json(files, tmp_path):
    model, _ = files["kws_int8"]
    done = edgerun_cli("bench", model, "--target", "linux-aarch64", "--json", "--runs", "4", "--warmup", "1")
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout.strip().splitlines()[-1])
    plan = prepare_for(str(model), "linux-aarch64")
    assert r["target"] == "linux-aarch64" and r["emulated"] is True and r["runner"] == "qemu-aarch64"
    assert r["kernel_set"] == "neon" and r["micro_kernels"] == "neon-dotprod"
    assert r["plan_file_bytes"] == len(pf.write_plan(plan))
    assert r["arena_bytes"] == plan.arena_bytes
    assert 0 < r["library_stripped_bytes"] <= 1024 * 1024
    # the model's one block holds the arena; the heap peak is that block plus the runner's few buffers
    assert r["arena_bytes"] <= r["model_block_bytes"] <= r["peak_heap_bytes"] < r["model_block_bytes"] + 65536
    assert r["max_rss_kib"] * 1024 > r["peak_heap_bytes"]
    t = r["latency_us"]
    assert r["runs"] == 4 and 0 < t["min"] <= t["median"] <= t["max"]


@pytest.mark.emulated
def test_bench_table_says_emulated(files):
    model, _ = files["kws_float"]
    done = edgerun_cli("bench", model, "--target", "linux-armv7", "--runs", "2", "--warmup", "0")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "under qemu-arm (emulated: not the device's speed)" in text and "(emulated)" in text, text
    for word in ("library", "plan file", "model block", "peak heap", "max RSS", "latency"):
        assert word in text, text


# -- wrong usages ------------------------------------------------------------------------------------------
def test_unknown_input_name(files):
    model, _ = files["kws_int8"]
    bad = model.parent / "kws_int8_in0.npy"
    _one_line_error(edgerun_cli("run", model, "--target", "linux-aarch64", "--input", f"nope={bad}"), "nope")


def test_wrong_shape(files, tmp_path):
    model, specs = files["kws_int8"]
    name = specs[1].split("=")[0]
    np.save(tmp_path / "x.npy", np.zeros((1, 49, 10), np.int8))
    _one_line_error(edgerun_cli("run", model, "--target", "linux-aarch64", "--input", f"{name}={tmp_path / 'x.npy'}"),
                    name, "(1, 49, 10, 1)", "(1, 49, 10)")


def test_wrong_dtype(files, tmp_path):
    model, specs = files["kws_int8"]
    name = specs[1].split("=")[0]
    np.save(tmp_path / "x.npy", np.zeros((1, 49, 10, 1), np.float32))
    _one_line_error(edgerun_cli("run", model, "--target", "linux-armv7", "--input", f"{name}={tmp_path / 'x.npy'}"),
                    name, "int8", "float32")


@pytest.mark.parametrize("target", ["android-arm64", "android-armv7", "ios-arm64"])
def test_phones_need_a_device(files, target):
    model, _ = files["kws_int8"]
    err = _one_line_error(edgerun_cli("run", model, "--target", target), "device")
    assert ("linux-armv7" if "armv7" in target else "linux-aarch64") in err


def test_cpu_is_checked(files):
    model, _ = files["kws_int8"]
    _one_line_error(edgerun_cli("run", model, "--target", "linux-aarch64", "--cpu", "pentium"), "pentium",
                    "cortex-a53")
    _one_line_error(edgerun_cli("bench", model, "--target", "cortex-m4", "--cpu", "max"), "--cpu")
