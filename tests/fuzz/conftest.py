"""The fuzz corpus: the real models of tests/runtime/test_robustness.py plus control flow (IF, a WHILE counter)
and a streaming model with variables and CALL_ONCE (TensorFlow's converter, cached by tests/oracle.py), written
once per session as NAME.tflite files."""
import pathlib
import sys

import pytest

TESTS = pathlib.Path(__file__).parents[1]
sys.path[:0] = [str(TESTS / "runtime"), str(TESTS / "platforms")]


def control_models() -> dict:
    import tensorflow as tf
    from mcu_models import streaming_model
    from oracle import tf_convert_function

    def if_cond(x, flag):
        return tf.cond(flag[0] > 0, lambda: tf.nn.relu(x) * 2.0, lambda: x - 1.0)

    def while_counter(x):
        _, y = tf.while_loop(lambda i, y: i < 7, lambda i, y: (i + 1, y * 0.5 + 1.0), [tf.constant(0), x])
        return y

    return {"if-cond": tf_convert_function(if_cond, [tf.TensorSpec((2, 3), tf.float32),
                                                     tf.TensorSpec((1,), tf.float32)], key="control-if-v1"),
            "while-counter": tf_convert_function(while_counter, [tf.TensorSpec((4,), tf.float32)],
                                                 key="control-while-v1"),
            "streaming-int8": streaming_model("int8")}


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory):
    from test_robustness import _corpus

    d = tmp_path_factory.mktemp("corpus")
    for name, data in {**_corpus(), **control_models()}.items():
        (d / f"{name}.tflite").write_bytes(data)
    return d
