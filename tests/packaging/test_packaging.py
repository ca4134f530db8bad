"""Packages that build anywhere (issue 11): `python -m build` on a copy of the tracked files makes a complete
sdist and, from it, an abi3 wheel that auditwheel tags manylinux, writes nothing into the source tree, and that
wheel installs into a fresh venv (no system packages) where the installed edgerun runs a model matching LiteRT.
Slow (two compiles of the kernels); `pytest -m slow tests/packaging`."""
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _tracked_copy(dest: Path) -> set:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    names = [n for n in files.decode().split("\0") if n and (ROOT / n).is_file()]
    for n in names:
        (dest / n).parent.mkdir(parents=True, exist_ok=True)
        (dest / n).write_bytes((ROOT / n).read_bytes())
    return {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pkg")
    src, dist = tmp / "src", tmp / "dist"
    before = _tracked_copy(src)
    env = dict(os.environ, EDGERUN_BUILD_DIR=str(tmp / "build"))
    p = subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "-o", str(dist), str(src)],
                       capture_output=True, text=True, env=env, timeout=1500)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    after = {q.relative_to(src).as_posix() for q in src.rglob("*") if q.is_file()}
    return {"tmp": tmp, "dist": dist, "new_in_tree": sorted(after - before), "tracked": before}


def test_build_leaves_the_source_tree_clean(built):
    assert built["new_in_tree"] == [], built["new_in_tree"][:20]


def test_sdist_is_complete(built):
    (sdist,) = built["dist"].glob("*.tar.gz")
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    needed = [n for n in built["tracked"] if n.startswith(("kernels/", "schema/", "platforms/", "runtime/",
                                                              "converter/", "edgerun/"))
              and n.endswith((".c", ".h", ".inc", ".fbs", ".py", ".ld", ".S", ".java", ".txt"))]
    missing = [n for n in needed if n not in names]
    assert not missing, missing[:20]


def test_wheel_is_abi3_and_manylinux(built):
    (wheel,) = built["dist"].glob("*.whl")
    assert "-cp310-abi3-" in wheel.name, wheel.name
    with zipfile.ZipFile(wheel) as z:
        so = [n for n in z.namelist() if n.endswith(".so")]
    assert so == ["edgerun/kernels/_kernels.abi3.so"], so
    out = built["tmp"] / "repaired"
    p = subprocess.run([sys.executable, "-m", "auditwheel", "repair", "-w", str(out), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    (fixed,) = out.glob("*.whl")
    assert "-cp310-abi3-manylinux_" in fixed.name and fixed.name.endswith("_x86_64.whl" if os.uname().machine ==
                                                                        "x86_64" else ".whl"), fixed.name


def test_wheel_built_from_the_sdist_installs_in_a_fresh_venv_and_runs(built, tmp_path):
    """`python -m build` compiles the wheel from the sdist (not from the tree), so this is the sdist's build;
    installing that wheel (rather than compiling the sdist a second time) keeps the test to one compile."""
    from edgerun.schema.builder import ModelBuilder
    from oracle import litert_run

    (wheel,) = built["dist"].glob("*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = dict(os.environ, EDGERUN_BUILD_DIR=str(tmp_path / "build"))
    env.pop("PYTHONPATH", None)
    p = subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True, env=env,
                       timeout=1500)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    b = ModelBuilder()
    x = b.tensor("x", (1, 6), np.float32)
    w = b.const("w", np.arange(18, dtype=np.float32).reshape(3, 6) / 7)
    y = b.tensor("y", (1, 3), np.float32)
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    b.inputs([x])
    b.outputs([y])
    model = tmp_path / "m.tflite"
    model.write_bytes(b.finish())
    xv = np.linspace(-1, 1, 6, dtype=np.float32).reshape(1, 6)
    np.save(tmp_path / "x.npy", xv)
    p = subprocess.run([str(venv / "bin" / "edgerun"), "run", str(model), "--input", f"x={tmp_path / 'x.npy'}",
                        "--output", str(tmp_path / "y.npz")], capture_output=True, text=True, cwd=tmp_path, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    where = subprocess.run([str(py), "-c", "import edgerun; print(edgerun.__file__)"], capture_output=True,
                           text=True, cwd=tmp_path, env=env).stdout
    assert str(venv) in where, where  # the installed package, not the checkout
    np.testing.assert_allclose(np.load(tmp_path / "y.npz")["y"], litert_run(model.read_bytes(), [xv])[0],
                               rtol=1e-6)
