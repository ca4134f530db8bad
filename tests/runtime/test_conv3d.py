"""CONV_3D and CONV_3D_TRANSPOSE (runtime/ops/conv3d.py, kernels/ref/conv3d.c) against LiteRT's builtin
kernels (float32, their only type) within 1e-5 of the output scale: a model from TensorFlow's converter,
hand-built ones with strides, dilations, SAME/VALID padding, bias and fused activations."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import assert_matches_litert, tf_convert_function

SAME, VALID = 0, 1


def conv3d_model(x_shape, w_shape, padding, strides=(1, 1, 1), dilations=(1, 1, 1), bias=True, act=0, seed=0):
    from edgerun.runtime.ops.conv import out_size

    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.tensor("x", x_shape, np.float32)
    w = b.const("filter", rng.standard_normal(w_shape).astype(np.float32))
    bi = b.const("bias", rng.standard_normal(w_shape[4]).astype(np.float32)) if bias else -1
    out = [out_size(padding, x_shape[1 + i], w_shape[i], strides[i], dilations[i]) for i in range(3)]
    y = b.tensor("y", (x_shape[0], *out, w_shape[4]), np.float32)
    opts = {"padding": padding, "fusedActivationFunction": act}
    for a, s, d in zip("DHW", strides, dilations):
        opts[f"stride{a}"], opts[f"dilation{a}Factor"] = s, d
    b.op("CONV_3D", [x, w, bi], [y], opts)
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def test_conv3d_from_tensorflow():
    import tensorflow as tf

    w = tf.constant(np.random.default_rng(0).standard_normal((3, 3, 2, 4, 5)).astype(np.float32))
    model = tf_convert_function(lambda x: tf.nn.conv3d(x, w, strides=[1, 1, 2, 1, 1], padding="SAME"),
                                [tf.TensorSpec((1, 5, 6, 4, 4), tf.float32)], key="conv3d-1x5x6x4x4-k332-s121")
    assert_matches_litert(model, rtol=1e-5, seed=0)


CASES = {  # x shape, filter shape, padding, strides, dilations, bias, activation
    "valid": ((2, 4, 5, 6, 3), (2, 3, 1, 3, 4), VALID, (1, 1, 1), (1, 1, 1), True, 0),
    "same-strides-relu": ((1, 6, 5, 7, 2), (3, 2, 3, 2, 3), SAME, (2, 1, 3), (1, 1, 1), True, 1),
    "same-dilations-relu6": ((1, 7, 6, 6, 2), (2, 2, 2, 2, 2), SAME, (1, 1, 1), (2, 1, 3), False, 3),
    "valid-strides-dilations": ((1, 5, 5, 5, 1), (3, 3, 3, 1, 1), VALID, (2, 2, 2), (2, 2, 1), True, 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_conv3d_cases(case):
    assert_matches_litert(conv3d_model(*CASES[case]), rtol=1e-5, seed=1)


def conv3d_transpose_model(x_shape, w_shape, out_shape, padding, strides, dilations, bias, act, seed=0):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.tensor("x", x_shape, np.float32)
    ins = [b.const("output_shape", np.array(out_shape, np.int32)),
           b.const("filter", rng.standard_normal(w_shape).astype(np.float32)), x]
    if bias:
        ins.append(b.const("bias", rng.standard_normal(w_shape[3]).astype(np.float32)))
    y = b.tensor("y", out_shape, np.float32)
    opts = {"padding": padding, "fusedActivationFunction": act}
    for a, s, d in zip("DHW", strides, dilations):
        opts[f"stride{a}"], opts[f"dilation{a}Factor"] = s, d
    b.op("CONV_3D_TRANSPOSE", ins, [y], opts)
    b.inputs([x])
    b.outputs([y])
    return b.finish()


TRANSPOSE_CASES = {  # x shape, filter [KD, KH, KW, O, C], output shape, padding, strides, dilations, bias, act
    "valid": ((1, 4, 4, 4, 2), (2, 2, 2, 3, 2), (1, 5, 5, 5, 3), VALID, (1, 1, 1), (1, 1, 1), True, 0),
    "same-strides": ((1, 3, 4, 2, 2), (3, 3, 2, 3, 2), (1, 6, 8, 4, 3), SAME, (2, 2, 2), (1, 1, 1), True, 0),
    "valid-strides-relu-no-bias": ((2, 3, 3, 3, 1), (2, 3, 2, 2, 1), (2, 6, 7, 6, 2), VALID, (2, 2, 2), (1, 1, 1),
                                   False, 1),
    "valid-dilations": ((1, 3, 3, 3, 2), (2, 2, 2, 2, 2), (1, 5, 5, 5, 2), VALID, (1, 1, 1), (2, 2, 2), True, 0),
}


@pytest.mark.parametrize("case", list(TRANSPOSE_CASES))
def test_conv3d_transpose(case):
    assert_matches_litert(conv3d_transpose_model(*TRANSPOSE_CASES[case]), rtol=1e-5, seed=2)
