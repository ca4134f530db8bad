"""No leaks: many invokes, and many create/allocate/invoke/close cycles, keep the process's resident memory
flat. The CI counts are small; the long run (a million invokes, ten thousand cycles) is
`EDGERUN_LEAK_SCALE=100 python -m pytest -q tests/api/test_leaks.py`."""
import gc
import os

import numpy as np
import pytest

import edgerun
from networks import NETWORKS, _calibration
from oracle import random_inputs, tf_convert

SCALE = int(os.environ.get("EDGERUN_LEAK_SCALE", "1"))


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def model():
    k = NETWORKS["kws_dscnn"]()
    return tf_convert(k, quantize="int8", representative=_calibration(k), input_type=np.int8, output_type=np.int8)


def _grows(fn, rounds):
    """Resident bytes gained between the end of the first tenth of the rounds and the end (warm-up excluded)."""
    warm = max(rounds // 10, 1)
    for _ in range(warm):
        fn()
    gc.collect()
    before = _rss()
    for _ in range(rounds - warm):
        fn()
    gc.collect()
    return _rss() - before


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_invokes_do_not_grow_memory(model):
    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    x = random_inputs(it.get_input_details())[0]
    it.set_tensor(it.get_input_details()[0]["index"], x)
    assert _grows(it.invoke, 10_000 * SCALE) < 1 << 20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_create_allocate_invoke_close_cycles_do_not_grow_memory(model):
    def cycle():
        it = edgerun.Interpreter(model_content=model)
        it.allocate_tensors()
        it.invoke()
        del it

    assert _grows(cycle, 200 * SCALE) < 4 << 20
