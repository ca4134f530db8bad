"""The fuzz corpus: the real models of tests/runtime/test_robustness.py (TensorFlow's converter, cached by
tests/oracle.py), written once per session as NAME.tflite files."""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "runtime"))


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory):
    from test_robustness import _corpus

    d = tmp_path_factory.mktemp("corpus")
    for name, data in _corpus().items():
        (d / f"{name}.tflite").write_bytes(data)
    return d
