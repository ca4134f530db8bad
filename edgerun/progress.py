"""Progress bars for long work: calibration, target builds and emulated runs, long benchmarks. tqdm on stderr,
shown only when that stream is a terminal (logs and pipes stay clean); EDGERUN_PROGRESS=0 turns them off
everywhere, EDGERUN_PROGRESS=1 on even without a terminal.

    with progress.bar("Calibrating", total=len(samples), unit="sample") as bar:
        for s in samples: ...; bar.update()
    with progress.steps("cortex-m4", ["generate C", "build", "run under qemu"]) as step:
        step("generate C"); ...
"""
from __future__ import annotations

import contextlib
import os
import sys


def enabled(stream=None) -> bool:
    """Whether bars are drawn on `stream` (default stderr)."""
    env = os.environ.get("EDGERUN_PROGRESS", "")
    if env in ("0", "1"):
        return env == "1"
    stream = stream if stream is not None else sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def bar(desc: str, total: int | None = None, unit: str = "it", stream=None, enable: bool | None = None):
    """A tqdm bar (a context manager with .update(n)), or a silent stand-in when bars are off."""
    stream = stream if stream is not None else sys.stderr
    if not (enabled(stream) if enable is None else enable):
        return _Silent()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=stream, leave=True, dynamic_ncols=True,
                mininterval=0.1)


@contextlib.contextmanager
def steps(desc: str, names: list[str], stream=None, enable: bool | None = None):
    """A bar over named steps: call step(name) as each begins; the bar shows the current one."""
    b = bar(desc, total=len(names), unit="step", stream=stream, enable=enable)
    started = []

    def step(name: str):
        if started:
            b.update(1)
        started.append(name)
        b.set_postfix_str(name, refresh=True)

    with b:
        yield step
        if started:
            b.update(1)


class _Silent:
    n = 0

    def update(self, n: int = 1):
        self.n += n

    def set_postfix_str(self, *_a, **_k):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
