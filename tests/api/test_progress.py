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
