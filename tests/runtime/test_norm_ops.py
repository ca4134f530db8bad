"""LOCAL_RESPONSE_NORMALIZATION (runtime/ops/norm.py, kernels/ref/norm.c) against LiteRT's builtin kernel:
float32 (its only type), within 1e-5 of the output scale; a model from TensorFlow's converter and hand-built
ones for window edges (radius 0, radius past the depth, depth 1)."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import assert_matches_litert, tf_convert_function

import edgerun
from edgerun.errors import UnsupportedOpError


def lrn_model(shape, radius, bias=1.0, alpha=0.1, beta=0.75, dtype=np.float32):
    b = ModelBuilder()
    x, y = b.tensor("x", shape, dtype), b.tensor("y", shape, dtype)
    b.op("LOCAL_RESPONSE_NORMALIZATION", [x], [y], {"radius": radius, "bias": bias, "alpha": alpha, "beta": beta})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def test_lrn_from_tensorflow():
    import tensorflow as tf

    def fn(x):
        return tf.nn.local_response_normalization(x, depth_radius=2, bias=2.0, alpha=1e-2, beta=0.75)

    model = tf_convert_function(fn, [tf.TensorSpec((1, 5, 4, 12), tf.float32)], key="lrn-1x5x4x12-r2")
    assert_matches_litert(model, rtol=1e-5, seed=0)


@pytest.mark.parametrize("shape,radius,beta", [((2, 3, 3, 7), 0, 0.5), ((1, 2, 2, 5), 9, 1.0),
                                               ((1, 3, 1, 1), 2, 0.75), ((1, 1, 1, 16), 3, 0.25)])
def test_lrn_windows(shape, radius, beta):
    assert_matches_litert(lrn_model(shape, radius, beta=beta), rtol=1e-5, seed=1)


def test_lrn_refuses_other_types():
    with pytest.raises(UnsupportedOpError, match="LOCAL_RESPONSE_NORMALIZATION: input 'x' is INT8"):
        edgerun.Interpreter(model_content=lrn_model((1, 2, 2, 4), 1, dtype=np.int8)).allocate_tensors()
