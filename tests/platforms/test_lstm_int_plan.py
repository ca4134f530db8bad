"""The full-integer LSTM kernels (s8_lstm, kernels/ref/lstm_int.c; s8_lstm_8x8_8, kernels/ref/lstm_int8.c) in
plan files run by the C library (er_run on this host) give the desktop interpreter's outputs over 3 steps: the
int8 output state (starting at its zero point) and the int16 cell state are plan variables that carry over
between steps; and in generated C (codegen) built for this host."""
import os
import sys

import numpy as np
import pytest
from test_clib import check, host_lib  # noqa: F401  (the session fixture)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "runtime"))
from lstm_int_models import IntLstm


@pytest.mark.parametrize("op,kw", [("UNIDIRECTIONAL_SEQUENCE_LSTM", {"layer_norm": True, "peephole": True, "P": 4,
                                                                     "proj_bias": True}),
                                   ("LSTM", {"cifg": True, "cell_clip": 0.3})], ids=["sequence", "lstm"])
def test_lstm_int8_plan_matches_desktop(host_lib, op, kw, tmp_path):  # noqa: F811
    m = IntLstm(op=op, **kw)
    steps = [m.inputs(seed=s) for s in (1, 2, 3)]
    check(host_lib, m.model, "host", tmp_path, steps=steps)
    check(host_lib, m.model, "linux-aarch64", tmp_path, steps=steps, isa="ref")


def _lstm_8x8_8():
    r = np.random.default_rng(5)
    return IntLstm(op="LSTM", B=3, I=5, C=7, P=4, n_intermediates=12, layer_norm=True, proj_bias=True,
                   cell_scale_log2=-15, cell_clip=0.4, proj_clip=0.3, in_scale=0.01, out_scale=0.05, w_range=2.0,
                   inter_q=[(float(r.uniform(0.02, 0.5)), int(r.integers(-10, 11))) for _ in range(12)])


def test_lstm_8x8_8_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    """The 8x8_8 kernel (s8_lstm_8x8_8, float layer norm and activations) in a plan file over 3 steps."""
    m = _lstm_8x8_8()
    steps = [m.inputs(seed=s) for s in (1, 2, 3)]
    check(host_lib, m.model, "host", tmp_path, steps=steps)
    check(host_lib, m.model, "linux-aarch64", tmp_path, steps=steps, isa="ref")


@pytest.mark.slow
def test_lstm_int8_generated_c_matches_desktop(tmp_path):
    """The same kernel in generated C (the microcontroller path, built and run on this host: ~100 s, the
    project's kernel build)."""
    from test_codegen import _check

    m = IntLstm(op="UNIDIRECTIONAL_SEQUENCE_LSTM", cifg=True, peephole=True, P=4, time_major=True)
    _check(m.model, "host", tmp_path, steps=[m.inputs(seed=s) for s in (1, 2, 3)])
    m = _lstm_8x8_8()
    _check(m.model, "host", tmp_path / "8x8_8", steps=[m.inputs(seed=s) for s in (1, 2, 3)])
