"""max_loop_iterations: a WHILE loop that runs longer than the limit fails invoke() with a named InvokeError
(a hostile model cannot hang the caller); within the limit, or without one, the loop runs as LiteRT runs it."""
import numpy as np
import pytest

import edgerun
from oracle import litert_run, tf_convert_function


def _counter(n):
    import tensorflow as tf

    def f(x):
        i = tf.constant(0)
        _, y = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * 0.5 + 1.0), [i, x])
        return y

    return tf_convert_function(f, [tf.TensorSpec((4,), tf.float32)], key=f"loop-limit-{n}-v1")


def test_loop_past_the_limit_is_an_error_and_within_runs():
    model = _counter(50)
    x = np.arange(4, dtype=np.float32)
    ref = litert_run(model, [x])[0]
    for limit in (None, 50, 1000):
        it = edgerun.Interpreter(model_content=model, max_loop_iterations=limit)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]), ref, rtol=1e-6)
    it = edgerun.Interpreter(model_content=model, max_loop_iterations=49)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    with pytest.raises(edgerun.InvokeError, match="WHILE.*iteration limit"):
        it.invoke()
    with pytest.raises(ValueError, match="max_loop_iterations"):
        edgerun.Interpreter(model_content=model, max_loop_iterations=0)
