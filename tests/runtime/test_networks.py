"""Whole networks made by TensorFlow's converter, run in edgerun and in LiteRT on the same inputs.
Float: max|ours - LiteRT| <= 1e-3 x max|LiteRT|. Integer (int8 full-integer): bit for bit."""
import numpy as np
import pytest

from networks import NETWORKS, _calibration, kws_dscnn, mobilenet_v2
from oracle import assert_matches_litert, tf_convert


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_float_network_matches_litert(name):
    model = tf_convert(NETWORKS[name]())
    for seed in (0, 1):
        assert_matches_litert(model, seed=seed, rtol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenet_v2", "kws_dscnn"])
def test_int8_network_bit_exact(name):
    keras_model = NETWORKS[name]()
    model = tf_convert(keras_model, quantize="int8", representative=_calibration(keras_model),
                       input_type=np.int8, output_type=np.int8)
    for seed in (0, 1):
        assert_matches_litert(model, seed=seed, exact=True)


@pytest.mark.slow
def test_int8_network_float_interface_bit_exact():
    keras_model = kws_dscnn()
    model = tf_convert(keras_model, quantize="int8", representative=_calibration(keras_model))
    assert_matches_litert(model, exact=True)


@pytest.mark.slow
def test_dynamic_range_network():
    keras_model = kws_dscnn()
    model = tf_convert(keras_model, quantize="dynamic")
    assert_matches_litert(model, rtol=1e-3)


@pytest.mark.slow
def test_float16_network():
    keras_model = mobilenet_v2()
    model = tf_convert(keras_model, quantize="float16")
    assert_matches_litert(model, rtol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenet_v2", "kws_dscnn"])
def test_int16x8_network_bit_exact(name):
    keras_model = NETWORKS[name]()
    model = tf_convert(keras_model, quantize="int16x8", representative=_calibration(keras_model))
    assert_matches_litert(model, exact=True)


@pytest.mark.slow
def test_dynamic_range_mobilenet():
    keras_model = mobilenet_v2()
    model = tf_convert(keras_model, quantize="dynamic")
    assert_matches_litert(model, rtol=1e-3)
