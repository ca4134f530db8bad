"""The single-step RNN and LSTM ops (runtime/ops/recurrent_cells.py, run by the sequence kernels of
kernels/ref/lstm.c with one time step) against LiteRT's builtin kernels over 4 streamed invokes (the state
variables carry over): float32 and hybrid int8 weights, within 1e-5 of the output scale (the criterion is 1e-3;
the float sums differ only in order)."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import litert_interpreter

import edgerun
from edgerun.errors import UnsupportedOpError

B, I, C = 2, 3, 4


def _weights(b, rng, hybrid):
    def w(name, shape, quantize=hybrid):
        a = (rng.standard_normal(shape) * 0.5).astype(np.float32)
        if not quantize:
            return b.const(name, a)
        s = float(np.abs(a).max()) / 127
        return b.const(name, np.round(a / s).astype(np.int8), quant=(s, 0))
    return w


def rnn_model(act=4, hybrid=False, seed=0):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    w = _weights(b, rng, hybrid)
    x = b.tensor("x", (B, I), np.float32)
    ins = [x, w("weights", (C, I)), w("recurrent_weights", (C, C)), w("bias", (C,), False),
           b.tensor("hidden_state", (B, C), np.float32, is_variable=True)]
    y = b.tensor("y", (B, C), np.float32)
    b.op("RNN", ins, [y], {"fusedActivationFunction": act})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def lstm_model(peephole=False, proj=False, cifg=False, ln=False, hybrid=False, act=4, clip=0.0, seed=0,
               kernel_type=0):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    w = _weights(b, rng, hybrid)
    O = 3 if proj else C
    x = b.tensor("x", (B, I), np.float32)
    skip = (lambda g: cifg and g == 0)  # CIFG: no input gate
    ins = [x]
    ins += [-1 if skip(g) else w(f"input_to_{g}", (C, I)) for g in range(4)]
    ins += [-1 if skip(g) else w(f"recurrent_to_{g}", (C, O)) for g in range(4)]
    ins += [-1 if skip(g) or not peephole else w(f"cell_to_{g}", (C,)) for g in range(3)]
    ins += [-1 if skip(g) else w(f"bias_{g}", (C,), False) for g in range(4)]
    ins += [w("projection", (O, C)) if proj else -1, w("projection_bias", (O,), False) if proj else -1]
    ins += [b.tensor("output_state", (B, O), np.float32, is_variable=True),
            b.tensor("cell_state", (B, C), np.float32, is_variable=True)]
    if ln:
        ins += [-1 if skip(g) else w(f"layer_norm_{g}", (C,), False) for g in range(4)]
    y = b.tensor("y", (B, O), np.float32)
    b.op("LSTM", ins, [y], {"fusedActivationFunction": act, "cellClip": clip, "kernelType": kernel_type})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def _stream(model, steps=4, seed=1):
    rng = np.random.default_rng(seed)
    theirs, ours = litert_interpreter(model), edgerun.Interpreter(model_content=model)
    for it in (theirs, ours):
        it.allocate_tensors()
    for _ in range(steps):
        x = rng.standard_normal((B, I)).astype(np.float32)
        outs = []
        for it in (theirs, ours):
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
            outs.append(it.get_tensor(it.get_output_details()[0]["index"]))
        assert outs[0].shape == outs[1].shape
        err = float(np.max(np.abs(outs[1] - outs[0])))
        assert err <= 1e-5 * float(np.max(np.abs(outs[0]))), f"max |ours - LiteRT| = {err:.3g}"


@pytest.mark.parametrize("act,hybrid", [(0, False), (1, False), (4, False), (4, True)],
                         ids=["none", "relu", "tanh", "hybrid"])
def test_rnn(act, hybrid):
    _stream(rnn_model(act, hybrid))


LSTM_CASES = {"plain": {}, "peephole-projection": {"peephole": True, "proj": True}, "cifg": {"cifg": True},
              "layer-norm": {"ln": True}, "layer-norm-cifg-peephole": {"ln": True, "cifg": True, "peephole": True},
              "cell-clip-relu": {"clip": 0.5, "act": 1}, "hybrid": {"hybrid": True},
              "hybrid-peephole-projection": {"hybrid": True, "peephole": True, "proj": True}}


@pytest.mark.parametrize("case", list(LSTM_CASES))
def test_lstm(case):
    _stream(lstm_model(**LSTM_CASES[case]))


def test_lstm_basic_kernel_is_refused():
    with pytest.raises(UnsupportedOpError, match="LSTM: kernel type BASIC"):
        edgerun.Interpreter(model_content=lstm_model(kernel_type=1)).allocate_tensors()
