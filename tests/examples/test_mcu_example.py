"""The microcontroller example (examples/mcu/run.py) end to end: int8 conversion of the bundled digits model,
C for Cortex-M4, qemu; its outputs equal the desktop interpreter's and it prints the memory table."""
import os
import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "examples" / "mcu" / "run.py"


@pytest.mark.emulated
def test_mcu_example_runs_and_matches_desktop():
    env = dict(os.environ, KERAS_BACKEND="numpy")
    done = subprocess.run([sys.executable, str(SCRIPT), "--images", "5"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "identical, bit for bit on 5 images" in out
    for row in ("flash: weights", "RAM: arena", "RAM: stack (high-water mark)", "instructions per invoke"):
        assert row in out, out
