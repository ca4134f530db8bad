"""Threads: separate interpreters in separate threads give the single-thread outputs (the C call releases the
GIL, so they run in parallel); one interpreter used by two threads at once raises a clear StateError instead of
corrupting its arena. Oracle: the same model run alone in the main thread."""
import threading

import numpy as np
import pytest

import edgerun
from networks import NETWORKS, _calibration
from oracle import random_inputs, tf_convert


@pytest.fixture(scope="module")
def model():
    k = NETWORKS["kws_dscnn"]()
    return tf_convert(k, quantize="int8", representative=_calibration(k), input_type=np.int8, output_type=np.int8)


def _run(it, x):
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def test_four_interpreters_in_four_threads(model):
    it0 = edgerun.Interpreter(model_content=model)
    it0.allocate_tensors()
    xs = [random_inputs(it0.get_input_details(), seed=s)[0] for s in range(4)]
    expected = [_run(it0, x) for x in xs]
    results, errors = {}, []

    def work(k):
        try:
            it = edgerun.Interpreter(model_content=model)
            it.allocate_tensors()
            for _ in range(50):
                results[k] = _run(it, xs[k])
        except Exception as exc:  # noqa: BLE001 - reported below with the thread's number
            errors.append((k, exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for k in range(4):
        assert np.array_equal(results[k], expected[k]), f"thread {k}"


def test_one_interpreter_from_two_threads_is_refused(model):
    """While one thread is inside invoke(), another thread's invoke() on the same interpreter raises
    StateError (it would share the arena and variables)."""
    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    it._busy.acquire()  # what a running invoke() holds
    try:
        with pytest.raises(edgerun.StateError, match="already running in another thread"):
            it.invoke()
    finally:
        it._busy.release()
    it.invoke()  # free again
