"""The fuzz corpus (tests/fuzz/corpus.py), written once per session as NAME.tflite files."""
import corpus
import pytest


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    corpus.write(d)
    return d
