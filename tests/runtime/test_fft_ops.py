"""RFFT2D and the audio custom ops AudioSpectrogram and Mfcc (runtime/ops/fft.py, kernels/ref/fft.c) against
LiteRT's builtin kernels: RFFT2D float32 in, complex64 out within 1e-5 of the output scale (a model from
TensorFlow's converter and hand-built ones that crop and zero-pad to fft_length, with batch dimensions); the
audio ops within 1e-5 (1e-4 for the 16000-sample keyword-spotting front end)."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import (
    assert_matches_litert,
    edgerun_run,
    litert_interpreter,
    litert_run,
    random_inputs,
    tf_convert_function,
)

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


# -- AudioSpectrogram and Mfcc (LiteRT's built-in custom ops) -------------------------------------------------


def _flex(**kw) -> bytes:
    from flatbuffers import flexbuffers

    b = flexbuffers.Builder()
    with b.Map():
        for k, v in kw.items():
            (b.Bool if isinstance(v, bool) else b.Int if isinstance(v, int) else b.Float)(k, v)
    return bytes(b.Finish())


def spectrogram_model(samples, channels, window, stride, squared):
    n = 1 << (window - 1).bit_length()
    frames = 0 if samples < window else 1 + (samples - window) // stride
    b = ModelBuilder()
    x, y = b.tensor("audio", (samples, channels), np.float32), b.tensor("spectrogram", (channels, frames, n // 2 + 1),
                                                                         np.float32)
    b.op("CUSTOM", [x], [y], custom_code="AudioSpectrogram",
         custom_options=_flex(window_size=window, stride=stride, magnitude_squared=squared))
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def mfcc_model(shape, rate, **options):
    b = ModelBuilder()
    x = b.tensor("spectrogram", shape, np.float32)
    y = b.tensor("mfcc", tuple(shape[:2]) + (options.get("dct_coefficient_count", 0),), np.float32)
    b.op("CUSTOM", [x, b.const("sample_rate", np.array([rate], np.int32))], [y], custom_code="Mfcc",
         custom_options=_flex(**options))
    b.inputs([x])
    b.outputs([y])
    return b.finish()


@pytest.mark.parametrize("samples,channels,window,stride,squared", [(1000, 1, 256, 128, True),
                                                                    (700, 2, 200, 75, False), (100, 1, 128, 64, True)],
                         ids=["pow2-squared", "padded-magnitude-stereo", "no-frame"])
def test_audio_spectrogram(samples, channels, window, stride, squared):
    assert_matches_litert(spectrogram_model(samples, channels, window, stride, squared), rtol=1e-5, seed=2)


@pytest.mark.parametrize("shape,rate,options", [
    ((1, 7, 129), 16000, {"upper_frequency_limit": 4000.0, "lower_frequency_limit": 20.0,  # TensorFlow's defaults
                          "filterbank_channel_count": 40, "dct_coefficient_count": 13}),
    ((2, 3, 257), 8000, {"upper_frequency_limit": 3800.0, "lower_frequency_limit": 100.0,
                         "filterbank_channel_count": 20, "dct_coefficient_count": 10})], ids=["defaults", "custom"])
def test_mfcc(shape, rate, options):
    rng = np.random.default_rng(3)
    spectrogram = (rng.standard_normal(shape) ** 2).astype(np.float32)
    spectrogram[0, 0, :] = 0  # an all-silent frame: the log's 1e-12 floor
    assert_matches_litert(mfcc_model(shape, rate, **options), [spectrogram], rtol=1e-5)


def test_mfcc_options_missing():
    """LiteRT reads a missing option as 0: no coefficients (an empty output) without dct_coefficient_count;
    edgerun does the same, and refuses a filterbank of 0 channels by name."""
    spectrogram = np.ones((1, 2, 33), np.float32)
    ours, _ = assert_matches_litert(mfcc_model((1, 2, 33), 16000, upper_frequency_limit=4000.0,
                                               filterbank_channel_count=8), [spectrogram])
    assert ours[0].shape == (1, 2, 0)
    with pytest.raises(UnsupportedOpError, match="Mfcc: options filterbank_channel_count 0"):
        edgerun.Interpreter(model_content=mfcc_model((1, 2, 33), 16000, upper_frequency_limit=4000.0)).allocate_tensors()


def test_spectrogram_then_mfcc():
    """The usual keyword-spotting front end: AudioSpectrogram feeding Mfcc."""
    b = ModelBuilder()
    x = b.tensor("audio", (16000, 1), np.float32)
    s = b.tensor("spectrogram", (1, 49, 257), np.float32)
    y = b.tensor("mfcc", (1, 49, 13), np.float32)
    b.op("CUSTOM", [x], [s], custom_code="AudioSpectrogram",
         custom_options=_flex(window_size=480, stride=320, magnitude_squared=True))
    b.op("CUSTOM", [s, b.const("sample_rate", np.array([16000], np.int32))], [y], custom_code="Mfcc",
         custom_options=_flex(upper_frequency_limit=4000.0, lower_frequency_limit=20.0, filterbank_channel_count=40,
                              dct_coefficient_count=13))
    b.inputs([x])
    b.outputs([y])
    assert_matches_litert(b.finish(), rtol=1e-4, seed=4)
