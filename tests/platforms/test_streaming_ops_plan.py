"""The SVDF kernels (kernels/ref/svdf.c: float, hybrid, int8), LOCAL_RESPONSE_NORMALIZATION and the audio front
end (AudioSpectrogram + Mfcc) and CONV_3D in plan files run by the C library (er_run on this host) give the desktop
interpreter's outputs over 3 steps (the SVDF state variables carry over between steps). RFFT2D is not here: the
library's loader has no complex64 tensors."""
import os
import sys

import numpy as np
import pytest
from test_clib import check, host_lib  # noqa: F401  (the session fixture)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "runtime"))
from test_conv3d import conv3d_model
from test_fft_ops import _flex
from test_norm_ops import lrn_model
from test_svdf import svdf_model


def _steps(kind, n=3):
    rng = np.random.default_rng(0)
    if kind == "int8":
        return [[rng.integers(-128, 128, (2, 5)).astype(np.int8)] for _ in range(n)]
    return [[rng.standard_normal((2, 5)).astype(np.float32)] for _ in range(n)]


@pytest.mark.parametrize("kind", ["float", "hybrid", "int8"])
def test_svdf_plan_matches_desktop(host_lib, kind, tmp_path):  # noqa: F811
    model = svdf_model(kind, act=1)
    check(host_lib, model, "host", tmp_path, steps=_steps(kind))
    check(host_lib, model, "linux-aarch64", tmp_path, steps=_steps(kind), isa="ref")


def test_lrn_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    rng = np.random.default_rng(1)
    steps = [[rng.standard_normal((1, 2, 3, 7)).astype(np.float32)] for _ in range(2)]
    check(host_lib, lrn_model((1, 2, 3, 7), 2), "host", tmp_path, steps=steps)



def test_audio_front_end_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x, s, y = (b.tensor("audio", (1600, 1), np.float32), b.tensor("spectrogram", (1, 9, 129), np.float32),
               b.tensor("mfcc", (1, 9, 10), np.float32))
    b.op("CUSTOM", [x], [s], custom_code="AudioSpectrogram",
         custom_options=_flex(window_size=240, stride=160, magnitude_squared=True))
    b.op("CUSTOM", [s, b.const("sample_rate", np.array([8000], np.int32))], [y], custom_code="Mfcc",
         custom_options=_flex(upper_frequency_limit=3800.0, lower_frequency_limit=20.0, filterbank_channel_count=20,
                              dct_coefficient_count=10))
    b.inputs([x])
    b.outputs([s, y])
    rng = np.random.default_rng(3)
    steps = [[rng.standard_normal((1600, 1)).astype(np.float32)] for _ in range(2)]
    check(host_lib, b.finish(), "host", tmp_path, steps=steps)


def test_conv3d_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    rng = np.random.default_rng(4)
    steps = [[rng.standard_normal((1, 6, 5, 7, 2)).astype(np.float32)] for _ in range(2)]
    check(host_lib, conv3d_model((1, 6, 5, 7, 2), (3, 2, 3, 2, 3), 0, (2, 1, 3), (1, 2, 1), True, 1), "host",
          tmp_path, steps=steps)
