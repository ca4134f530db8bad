"""edgerun/progress.py: bars on a terminal only (or forced by EDGERUN_PROGRESS), steps named as they begin."""
import io

from edgerun import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_steps_on_a_terminal_name_each_step(monkeypatch):
    monkeypatch.delenv("EDGERUN_PROGRESS", raising=False)
    out = Terminal()
    with progress.steps("cortex-m4", ["generate C", "build, run under qemu"], stream=out) as stage:
        stage("generate C")
        stage("build, run under qemu")
    text = out.getvalue()
    assert "cortex-m4" in text and "generate C" in text and "build, run under qemu" in text and "2/2" in text


def test_off_on_a_pipe_and_when_forced_off(monkeypatch):
    monkeypatch.delenv("EDGERUN_PROGRESS", raising=False)
    pipe = io.StringIO()
    with progress.steps("x", ["a"], stream=pipe) as stage:
        stage("a")
    with progress.bar("y", total=3, stream=pipe) as b:
        b.update(3)
    assert pipe.getvalue() == ""
    monkeypatch.setenv("EDGERUN_PROGRESS", "0")
    term = Terminal()
    with progress.bar("y", total=3, stream=term) as b:
        b.update(3)
    assert term.getvalue() == ""
    monkeypatch.setenv("EDGERUN_PROGRESS", "1")
    with progress.bar("z", total=2, stream=pipe) as b:
        b.update(2)
    assert "z" in pipe.getvalue() and "2/2" in pipe.getvalue()


def test_convert_shows_its_phases_when_asked(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, EDGERUN_PROGRESS="1", PYTHONPATH=str(root))
    p = subprocess.run([sys.executable, "-m", "edgerun.cli", "convert", str(root / "examples/digits/digits_cnn.keras"),
                        "-o", str(tmp_path / "m.tflite")], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "convert digits_cnn.keras" in p.stderr and "3/3" in p.stderr and "write" in p.stderr, p.stderr
