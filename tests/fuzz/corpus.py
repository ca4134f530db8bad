"""The seed models of the fuzzers: the real models of tests/runtime/test_robustness.py plus control flow (IF, a
WHILE counter), a streaming model with variables and CALL_ONCE, a float CNN (the keyword-spotting DS-CNN), a
sparse model (TensorFlow's EXPERIMENTAL_SPARSITY: DENSIFY and sparse FC weights) and a model with a custom op
(MaxPoolingWithArgmax2D and its options struct) (TensorFlow's converter, cached by tests/oracle.py)."""
import os
import pathlib
import sys

TESTS = pathlib.Path(__file__).resolve().parents[1]


def seed_models() -> dict:
    """{name: model bytes}."""
    for p in (TESTS, TESTS / "runtime", TESTS / "platforms"):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf
    from mcu_models import streaming_model
    from networks import kws_dscnn
    from oracle import tf_convert, tf_convert_function
    from test_codegen import _sparse
    from test_custom_ops import _argmax_model
    from test_robustness import _corpus

    def if_cond(x, flag):
        return tf.cond(flag[0] > 0, lambda: tf.nn.relu(x) * 2.0, lambda: x - 1.0)

    def while_counter(x):
        _, y = tf.while_loop(lambda i, y: i < 7, lambda i, y: (i + 1, y * 0.5 + 1.0), [tf.constant(0), x])
        return y

    return {**_corpus(),
            "if-cond": tf_convert_function(if_cond, [tf.TensorSpec((2, 3), tf.float32),
                                                     tf.TensorSpec((1,), tf.float32)], key="control-if-v1"),
            "while-counter": tf_convert_function(while_counter, [tf.TensorSpec((4,), tf.float32)],
                                                 key="control-while-v1"),
            "streaming-int8": streaming_model("int8"),
            "kws-float": tf_convert(kws_dscnn()),
            "sparse-fc": _sparse(),
            "custom-argmax": _argmax_model((1, 8, 9, 3), 0, 2, 2, 3, 3, (4, 5))}


def write(corpus_dir: pathlib.Path) -> int:
    """The seed models as NAME.tflite files in `corpus_dir`; their count."""
    corpus_dir = pathlib.Path(corpus_dir)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    models = seed_models()
    for name, data in models.items():
        (corpus_dir / f"{name}.tflite").write_bytes(data)
    return len(models)
