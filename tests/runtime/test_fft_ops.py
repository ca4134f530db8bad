"""RFFT2D (runtime/ops/fft.py, kernels/ref/fft.c) against LiteRT's builtin kernel: float32 in, complex64 out
within 1e-5 of the output scale; a model from TensorFlow's converter and hand-built ones that crop and
zero-pad to fft_length, with batch dimensions."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import edgerun_run, litert_interpreter, litert_run, random_inputs, tf_convert_function

import edgerun
from edgerun.errors import UnsupportedOpError


def rfft2d_model(shape, fft_length):
    b = ModelBuilder()
    x = b.tensor("x", shape, np.float32)
    y = b.tensor("y", tuple(shape[:-2]) + (fft_length[0], fft_length[1] // 2 + 1), np.complex64)
    b.op("RFFT2D", [x, b.const("fft_length", np.array(fft_length, np.int32))], [y])
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def _check(model, seed):
    """Complex outputs compared as complex numbers: max |ours - LiteRT| <= 1e-5 max |LiteRT|."""
    inputs = random_inputs(litert_interpreter(model).get_input_details(), seed=seed)
    (theirs,), (ours,) = litert_run(model, inputs), edgerun_run(model, inputs)
    assert ours.dtype == theirs.dtype == np.complex64 and ours.shape == theirs.shape
    err = float(np.max(np.abs(ours.astype(np.complex128) - theirs)))
    assert err <= 1e-5 * float(np.max(np.abs(theirs))), f"max |ours - LiteRT| = {err:.3g}"
    return ours


def test_rfft2d_from_tensorflow():
    import tensorflow as tf

    model = tf_convert_function(lambda x: tf.signal.rfft2d(x), [tf.TensorSpec((2, 8, 16), tf.float32)],
                                key="rfft2d-2x8x16")
    assert _check(model, seed=0).shape == (2, 8, 9)


@pytest.mark.parametrize("shape,fft_length", [((3, 5), (4, 8)), ((1, 2, 6, 20), (8, 16)), ((1, 7), (1, 8)),
                                              ((32, 64), (32, 64))], ids=["pad", "crop-batch", "height-1", "large"])
def test_rfft2d_crop_pad(shape, fft_length):
    _check(rfft2d_model(shape, fft_length), seed=1)


def test_rfft2d_refuses_non_power_of_two():
    with pytest.raises(UnsupportedOpError, match=r"RFFT2D: fft_length \[4, 6\]: each must be a power of two"):
        edgerun.Interpreter(model_content=rfft2d_model((4, 6), (4, 6))).allocate_tensors()
