"""Full-integer LSTM against LiteRT's builtin kernels: UNIDIRECTIONAL_SEQUENCE_LSTM and LSTM with int8
input/output, int8 weights, int16 cell state, int32 biases (TFLite's "8x8_16" form), on hand-built models
(tests/runtime/lstm_int_models.py; TensorFlow's converter segfaults producing a full-integer Keras LSTM).
Outputs must be identical over multi-step sequences (UNIDIRECTIONAL_SEQUENCE_LSTM, 4 steps) and over streamed
invokes (the state tensors are variables: LSTM, 3 invokes).

What LiteRT 2.x runs (probed with these models, ai_edge_litert 2.21, BUILTIN_WITHOUT_DEFAULT_DELEGATES):
- 8x8_16 (5 intermediates: the gate matmul scales 0-3, read only with layer norm, and the hidden state 4), both
  ops: plain, CIFG, peephole, projection with and without bias, layer norm, all of these together, cell and
  projection clips, time-major and batch-major. Cell state scales 2^-15 .. 2^-9. Outside that range LiteRT's
  tanh of the cell state writes nothing (UNIDIRECTIONAL_SEQUENCE_LSTM gives stale values, LSTM zeros): edgerun
  refuses such models by name.
- 8x8_8 (12 intermediates): LSTM only (UNIDIRECTIONAL_SEQUENCE_LSTM refuses it at prepare); LiteRT runs it
  only with layer norm and a projection with bias and crashes the process otherwise; its gates are computed
  in float. edgerun runs it (tests/runtime/test_lstm_int8x8_8.py).
- Hybrid (float activations, int8 weights): LSTM, UNIDIRECTIONAL_SEQUENCE_LSTM and BIDIRECTIONAL_SEQUENCE_LSTM;
  edgerun runs these already (tests/runtime/test_lstm.py, test_recurrent_cells.py).
Random variants, sizes, scales and zero points (test_sequence_lstm_int8_random; a sweep of 200 such seeds x both
ops was bit-exact too). Two LiteRT behaviours edgerun reproduces: an INT8 variable tensor without a value starts (and resets) at its
zero point, not at 0; and the peephole term runs over n_output values per row read as one flat array, which
differs from the definition with a projection to fewer outputs than cells (case "peephole-projection")."""
import functools

import numpy as np
import pytest
from lstm_int_models import IntLstm
from oracle import assert_matches_litert, invoke_pair, stateful_pair

from edgerun.errors import UnsupportedOpError

CASES = {
    "plain": {},
    "cifg": dict(cifg=True),
    "peephole": dict(peephole=True),
    "projection-bias": dict(P=4, proj_bias=True),
    "projection": dict(P=4, I=3),
    "layer-norm": dict(layer_norm=True),
    "layer-norm-cifg-peephole-projection": dict(layer_norm=True, cifg=True, peephole=True, P=3, proj_bias=True),
    "peephole-projection": dict(peephole=True, P=4),
    "clips": dict(cell_clip=0.3, proj_clip=0.2, P=5),
    "time-major": dict(time_major=True, B=1, T=5, C=8, I=4),
    "time-major-peephole-projection": dict(time_major=True, B=3, T=3, peephole=True, P=4),
    "cell-scale-2^-15": dict(cell_scale_log2=-15, layer_norm=True),
    "cell-scale-2^-9": dict(cell_scale_log2=-9, C=4),
}


@functools.lru_cache(maxsize=None)
def _model(op, case):
    return IntLstm(op=op, **CASES[case])


@pytest.mark.parametrize("case", sorted(CASES))
def test_sequence_lstm_int8(case):
    m = _model("UNIDIRECTIONAL_SEQUENCE_LSTM", case)
    _, theirs = assert_matches_litert(m.model, m.inputs(), exact=True)
    assert len(np.unique(theirs[0])) > 4  # the case computes something


def _step(its, x):
    theirs, ours = invoke_pair(its, x)
    assert np.array_equal(theirs, ours), f"LiteRT {theirs.tolist()}\nedgerun {ours.tolist()}"
    return ours


@pytest.mark.parametrize("case", ["plain", "cifg", "peephole-projection", "layer-norm-cifg-peephole-projection",
                                  "clips"])
def test_lstm_int8_streamed(case):
    """LSTM (one step per invoke): 3 invokes carry the state; reset_all_variables starts over (from the state's
    zero point, as LiteRT)."""
    m = _model("LSTM", case)
    its = stateful_pair(m.model)
    xs = [m.inputs(seed=s)[0] for s in (1, 2, 1)]
    first, _, again = [_step(its, x) for x in xs]
    assert not np.array_equal(first, again)  # same input, other state
    for it in its:
        it.reset_all_variables()
    assert np.array_equal(_step(its, xs[0]), first)


def test_sequence_lstm_int8_state_carries_over():
    m = _model("UNIDIRECTIONAL_SEQUENCE_LSTM", "layer-norm-cifg-peephole-projection")
    its = stateful_pair(m.model)
    x = m.inputs()[0]
    assert not np.array_equal(_step(its, x), _step(its, x))


def _refused(model, *words):
    import edgerun

    with pytest.raises(UnsupportedOpError) as e:
        edgerun.Interpreter(model_content=model).allocate_tensors()
    for w in words:
        assert w in str(e.value), str(e.value)


@pytest.mark.parametrize("op", ["UNIDIRECTIONAL_SEQUENCE_LSTM", "LSTM"])
def test_missing_intermediate_scales_are_refused(op):
    _refused(IntLstm(op=op, drop=("intermediate4",)).model, op, "intermediate 4", "intermediate_4",
             "no quantization scale")
    _refused(IntLstm(op=op, layer_norm=True, drop=("intermediate1",)).model, op, "intermediate 1 (forget gate",
             "intermediate_1")
    _refused(IntLstm(op=op, drop=("cell_state",)).model, op, "cell_state", "'c'")


def test_unsupported_integer_forms_are_refused():
    _refused(IntLstm(op="UNIDIRECTIONAL_SEQUENCE_LSTM", n_intermediates=12, layer_norm=True, cifg=True, P=4,
                     proj_bias=True).model, "UNIDIRECTIONAL_SEQUENCE_LSTM", "8x8_8")
    _refused(IntLstm(cell_scale_log2=-8).model, "UNIDIRECTIONAL_SEQUENCE_LSTM", "2^-8", "cell_state")
    _refused(IntLstm(op="LSTM", peephole=True, P=8).model, "LSTM", "peephole", "8 outputs from 6 cells")


def _random_case(seed):
    r = np.random.default_rng(100 + seed)
    C = int(r.integers(4, 9))
    kw = dict(B=int(r.integers(1, 3)), T=int(r.integers(3, 6)), I=int(r.integers(2, 7)), C=C,
              cifg=bool(r.integers(2)), peephole=bool(r.integers(2)), layer_norm=bool(r.integers(2)),
              time_major=bool(r.integers(2)), seed=seed, cell_scale_log2=int(r.integers(-15, -8)),
              in_scale=float(r.uniform(0.005, 0.05)), in_zp=int(r.integers(-20, 21)),
              out_scale=float(r.uniform(0.003, 0.02)), out_zp=int(r.integers(-20, 21)),
              hidden_scale=float(r.uniform(0.002, 0.01)), hidden_zp=int(r.integers(-10, 11)),
              gate_scale=float(r.uniform(0.5, 2.0)) * 2.0 ** -12)
    if r.integers(2):
        kw.update(P=int(r.integers(2, C + 1)), proj_bias=bool(r.integers(2)))
    if r.integers(3) == 0:
        kw.update(cell_clip=float(r.uniform(0.2, 2.0)), proj_clip=float(r.uniform(0.1, 1.0)))
    return kw


@pytest.mark.parametrize("seed", range(8))
def test_sequence_lstm_int8_random(seed):
    """Random variants, sizes, scales and zero points (batch 1-2, 3-5 steps, 4-8 cells)."""
    m = IntLstm(**_random_case(seed))
    assert_matches_litert(m.model, m.inputs(seed=seed), exact=True)
