"""Recurrent ops against LiteRT: UNIDIRECTIONAL_SEQUENCE_LSTM (float32: CIFG, peephole, projection with bias
and clips, layer norm, diagonal recurrent weights, every fused activation, time-major both ways; hybrid int8
weights per tensor and per channel, symmetric and asymmetric input quantization), BIDIRECTIONAL_SEQUENCE_LSTM,
UNIDIRECTIONAL_SEQUENCE_RNN and BIDIRECTIONAL_SEQUENCE_RNN, on hand-built flatbuffers (schema/builder.py) and
on models from TensorFlow's converter (Keras 2 `tf_keras` LSTM layers, fused by the converter). State tensors
are variables: consecutive invokes continue the sequence in both interpreters.
Tolerance: 1e-5 of the output scale (float gates and hybrid paths alike)."""
import numpy as np
import pytest

from oracle import assert_matches_litert, edgerun_run, invoke_pair, litert_interpreter, litert_run, stateful_pair

RTOL = 1e-5
GATES = "ifco"


def _quant_rows(a, per_channel, row_mult=None):
    """Symmetric int8 of `a`: per tensor -> (q, scale), per channel (axis 0) -> (q, scales).
    row_mult: per-row integer multipliers (powers of two) that the per-channel scales carry, so that the
    same dequantized values have a per-tensor twin (see _twin_models)."""
    if not per_channel:
        s = float(np.abs(a).max()) / 127
        return np.clip(np.round(a / s), -127, 127).astype(np.int8), s
    rows = a.reshape(a.shape[0], -1)
    s = np.abs(rows).max(axis=1) / 127
    s[s == 0] = 1.0
    q = np.clip(np.round(rows / s[:, None]), -127, 127).astype(np.int8).reshape(a.shape)
    return q, s.astype(np.float32)


class _Lstm:
    """A hand-built UNIDIRECTIONAL_SEQUENCE_LSTM model. hybrid: None, "tensor" or "channel"."""

    def __init__(self, B=2, T=4, I=5, C=6, P=None, cifg=False, peephole=False, proj_bias=False, layer_norm=False,
                 act=4, cell_clip=0.0, proj_clip=0.0, time_major=False, diagonal=False, hybrid=None, asym=False,
                 seed=0, state_variable=True, twin_multipliers=False):
        from edgerun.schema.builder import ModelBuilder

        rng = np.random.default_rng(seed)
        O = P or C
        self.shape = (T, B, I) if time_major else (B, T, I)
        b = ModelBuilder()
        x = b.tensor("x", self.shape, np.float32)

        def weight(name, shape, present=True, quantizable=True, scale=0.6):
            if not present:
                return -1
            a = rng.uniform(-scale, scale, shape).astype(np.float32)
            if hybrid and quantizable:
                if twin_multipliers:
                    # rows (axis 0) with scale s * m (m in 1, 2, 4) and values within 127 / m: the per-tensor
                    # twin of this tensor (scale s, values q * m) dequantizes to the same numbers
                    rows = a.reshape(shape[0], -1)
                    m = np.array([1, 2, 4])[np.arange(shape[0]) % 3].astype(np.float32)[:, None]
                    s = float(np.abs(a).max()) / 127
                    q = np.clip(np.round(rows / s / m), -(127 // m), 127 // m).astype(np.int8)
                    if hybrid == "channel":
                        return b.const(name, q.reshape(shape), quant=((s * m[:, 0]).astype(np.float32),
                                                                      np.zeros(shape[0], np.int64), 0))
                    return b.const(name, (q.astype(np.int16) * m.astype(np.int16)).astype(np.int8).reshape(shape),
                                   quant=(s, 0))
                q, s = _quant_rows(a, hybrid == "channel")
                if hybrid == "channel":
                    return b.const(name, q, quant=(s, np.zeros(s.size, np.int64), 0))
                return b.const(name, q, quant=(s, 0))
            return b.const(name, a)

        ins = [x]
        ins += [weight(f"w_x_{g}", (C, I), not (cifg and g == "i")) for g in GATES]
        ins += [weight(f"w_h_{g}", (C,) if diagonal else (C, O), not (cifg and g == "i")) for g in GATES]
        ins += [weight(f"peep_{g}", (C,), peephole and not (cifg and g == "i")) for g in "ifo"]
        ins += [weight(f"bias_{g}", (C,), not (cifg and g == "i"), quantizable=False) for g in GATES]
        ins.append(weight("proj_w", (O, C), P is not None))
        ins.append(weight("proj_b", (O,), P is not None and proj_bias, quantizable=False, scale=0.2))
        states = [b.tensor("h", (B, O), np.float32, is_variable=state_variable),
                  b.tensor("c", (B, C), np.float32, is_variable=state_variable)]
        ins += states
        ins += [weight(f"ln_{g}", (C,), layer_norm and not (cifg and g == "i"), quantizable=False, scale=1.5)
                for g in GATES]
        y = b.tensor("y", (T, B, O) if time_major else (B, T, O), np.float32)
        b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [y],
             {"fusedActivationFunction": act, "cellClip": cell_clip, "projClip": proj_clip, "timeMajor": time_major,
              "asymmetricQuantizeInputs": asym, "diagonalRecurrentTensors": diagonal})
        b.inputs([x] + ([] if state_variable else states))  # plain state tensors must come from somewhere
        b.outputs([y])
        self.model = b.finish()

    def inputs(self, seed=1, scale=1.0):
        return [np.random.default_rng(seed).uniform(-scale, scale, self.shape).astype(np.float32)]


def _check(m, rtol=RTOL, **kw):
    ours, theirs = assert_matches_litert(m.model, m.inputs(**kw), rtol=rtol)
    assert np.abs(theirs[0]).max() > 1e-3  # the case computes something
    return ours, theirs


FLOAT_CASES = {
    "basic": dict(),
    "batch1": dict(B=1, T=7),
    "cifg": dict(cifg=True),
    "peephole": dict(peephole=True),
    "cifg-peephole": dict(cifg=True, peephole=True),
    "projection": dict(P=4),
    "projection-bias-clips": dict(P=4, proj_bias=True, cell_clip=0.3, proj_clip=0.15),
    "cell-clip": dict(cell_clip=0.2, I=9),
    "layer-norm": dict(layer_norm=True),
    "layer-norm-cifg-peephole-projection": dict(layer_norm=True, cifg=True, peephole=True, P=3, proj_bias=True),
    "time-major": dict(time_major=True, B=3),
    "time-major-everything": dict(time_major=True, B=3, peephole=True, P=5, proj_bias=True, layer_norm=True,
                                  cell_clip=0.5, proj_clip=0.4),
    "diagonal": dict(diagonal=True),
    "diagonal-peephole-time-major": dict(diagonal=True, peephole=True, time_major=True),
    "larger": dict(B=3, T=9, I=17, C=24, P=11, proj_bias=True, peephole=True),
}


@pytest.mark.parametrize("case", sorted(FLOAT_CASES))
def test_lstm_float(case):
    _check(_Lstm(**FLOAT_CASES[case]))


# fused activation of the cell gate and the cell output: NONE, RELU, RELU_N1_TO_1, RELU6, TANH, SIGN_BIT.
# With NONE, LiteRT's output is o * (cell gate) rather than o * c (its kernels apply the activation from the
# cell state into the cell gate's buffer and NONE writes nothing); edgerun follows LiteRT.
@pytest.mark.parametrize("act", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("cifg", [False, True])
def test_lstm_activations(act, cifg):
    m = _Lstm(act=act, cifg=cifg, P=4 if act == 0 else None)
    _, theirs = assert_matches_litert(m.model, m.inputs(scale=2.0), rtol=RTOL)
    if act != 5:  # SIGN_BIT: the cell state never goes negative from zero, the output is exactly 0 in both
        assert np.abs(theirs[0]).max() > 1e-3


HYBRID_CASES = {
    "basic": dict(),
    "peephole-projection-layer-norm": dict(peephole=True, P=5, proj_bias=True, layer_norm=True),
    "cifg-time-major-clips": dict(cifg=True, time_major=True, B=3, peephole=True, P=4, cell_clip=0.4,
                                  proj_clip=0.3),
    "larger": dict(B=3, T=8, I=19, C=23, P=13, proj_bias=True),
}


@pytest.mark.parametrize("asym", [False, True], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("case", sorted(HYBRID_CASES))
def test_lstm_hybrid_per_tensor(case, asym):
    _check(_Lstm(hybrid="tensor", asym=asym, **HYBRID_CASES[case]))


@pytest.mark.parametrize("asym", [False, True], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("case", sorted(HYBRID_CASES))
def test_lstm_hybrid_per_channel(case, asym):
    """Per-channel int8 weights. LiteRT 2.3's hybrid LSTM reads only a tensor's single scale (0 for per-channel
    tensors, so its gates ignore the weights); the oracle is LiteRT on the per-tensor twin model whose weights
    dequantize to the same values (row scales s*m, m a power of two, against scale s and values q*m)."""
    kw = dict(HYBRID_CASES[case], asym=asym, twin_multipliers=True)
    ours = edgerun_run(_Lstm(hybrid="channel", **kw).model, _Lstm(hybrid="channel", **kw).inputs())
    twin = _Lstm(hybrid="tensor", **kw)
    assert edgerun_run(twin.model, twin.inputs())[0].tobytes() == ours[0].tobytes()
    _check(twin)


def _step(its, x):
    theirs, ours = invoke_pair(its, x)
    err = float(np.abs(ours - theirs).max())
    assert err <= RTOL * float(np.abs(theirs).max()), f"max|ours-LiteRT| = {err:.3g}"
    return ours


@pytest.mark.parametrize("kw", [dict(), dict(hybrid="tensor", asym=True, P=4, peephole=True, time_major=True)],
                         ids=["float", "hybrid"])
def test_lstm_state_persists_across_invokes(kw):
    m = _Lstm(**kw)
    its = stateful_pair(m.model)
    x1, x2 = m.inputs(seed=1)[0], m.inputs(seed=2)[0]
    first = _step(its, x1)
    second = _step(its, x2)
    again = _step(its, x1)  # same input, different state: a different answer
    assert not np.allclose(first, again)
    fresh = edgerun_run(m.model, [x2])[0]  # a fresh interpreter starts from zero state
    assert not np.allclose(fresh, second)
    for it in its:
        it.reset_all_variables()
    assert np.array_equal(_step(its, x1), first)


def test_lstm_state_must_be_variable():
    """TFLite writes the states in place and requires variable tensors; graph inputs are refused."""
    import edgerun
    from edgerun.errors import UnsupportedOpError

    it = edgerun.Interpreter(model_content=_Lstm(state_variable=False).model)
    with pytest.raises(UnsupportedOpError, match="output_state 'h' must be a variable tensor"):
        it.allocate_tensors()


def test_lstm_refusals():
    """Unsupported or malformed LSTMs raise an edgerun error naming the op (no crash, no garbage)."""
    from edgerun.errors import EdgerunError
    from edgerun.schema.builder import ModelBuilder

    def build(x_dtype=np.float32, act=4, wshape=(6, 5), w_dtype=np.float32, cifg_half=False):
        b = ModelBuilder()
        x = b.tensor("x", (2, 3, 5), x_dtype, quant=(0.1, 0) if x_dtype != np.float32 else None)
        rng = np.random.default_rng(0)
        w = [b.const(f"w{k}", rng.uniform(-1, 1, wshape).astype(w_dtype),
                     quant=(0.01, 0) if w_dtype == np.int8 else None) for k in range(4)]
        r = [b.const(f"r{k}", rng.uniform(-1, 1, (6, 6)).astype(np.float32)) for k in range(4)]
        if cifg_half:
            r[0] = -1
        bias = [b.const(f"b{k}", np.zeros(6, np.float32) + k) for k in range(4)]
        h = b.tensor("h", (2, 6), np.float32, is_variable=True)
        c = b.tensor("c", (2, 6), np.float32, is_variable=True)
        y = b.tensor("y", (2, 3, 6), np.float32)
        b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x] + w + r + [-1] * 3 + bias + [-1, -1, h, c] + [-1] * 4, [y],
             {"fusedActivationFunction": act})
        b.inputs([x])
        b.outputs([y])
        return b.finish()

    import edgerun

    for model, pattern in [(build(x_dtype=np.int8), "full-integer"), (build(act=6), "fused activation"),
                           (build(wshape=(6, 4)), "shape"), (build(cifg_half=True), "CIFG")]:
        it = edgerun.Interpreter(model_content=model)
        with pytest.raises(EdgerunError, match=pattern) as e:
            it.allocate_tensors()
        assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in str(e.value)


# -- BIDIRECTIONAL_SEQUENCE_LSTM ---------------------------------------------------------------------------

def _bilstm(B=2, T=4, I=5, C=(6, 6), P=(None, None), merge=False, time_major=True, aux=None, hybrid=None,
            asym=False, peephole=False, cifg=False, seed=0):
    """aux: None, "weights" (aux input with aux weights in both directions) or "cross" (the backward cell reads
    the aux input)."""
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    shape = (T, B, I) if time_major else (B, T, I)
    x = b.tensor("x", shape, np.float32)
    A = 3
    ax = b.tensor("aux", shape[:2] + ((A if aux == "weights" else I),), np.float32) if aux else -1

    def weight(name, shp, present=True, quantizable=True):
        if not present:
            return -1
        a = rng.uniform(-0.6, 0.6, shp).astype(np.float32)
        if hybrid and quantizable:
            q, s = _quant_rows(a, False)
            return b.const(name, q, quant=(s, 0))
        return b.const(name, a)

    ins = [x]
    states = []
    for k, d in enumerate("fb"):
        Cd, Od = C[k], P[k] or C[k]
        ins += [weight(f"{d}_w_x_{g}", (Cd, I), not (cifg and g == "i")) for g in GATES]
        ins += [weight(f"{d}_w_h_{g}", (Cd, Od), not (cifg and g == "i")) for g in GATES]
        ins += [weight(f"{d}_peep_{g}", (Cd,), peephole and not (cifg and g == "i")) for g in "ifo"]
        ins += [weight(f"{d}_bias_{g}", (Cd,), not (cifg and g == "i"), quantizable=False) for g in GATES]
        ins += [weight(f"{d}_proj_w", (Od, Cd), P[k] is not None), weight(f"{d}_proj_b", (Od,), P[k] is not None,
                                                                        quantizable=False)]
        states += [b.tensor(f"{d}_h", (B, Od), np.float32, is_variable=True),
                   b.tensor(f"{d}_c", (B, Cd), np.float32, is_variable=True)]
    ins += states + [ax]
    for k, d in enumerate("fb"):
        ins += [weight(f"{d}_aux_w_{g}", (C[k], A), aux == "weights" and not (cifg and g == "i")) for g in GATES]
    O = [P[k] or C[k] for k in range(2)]
    oshape = (lambda n: (T, B, n)) if time_major else (lambda n: (B, T, n))
    outs = [b.tensor("y", oshape(O[0] + O[1]), np.float32)] if merge else \
        [b.tensor("y_fw", oshape(O[0]), np.float32), b.tensor("y_bw", oshape(O[1]), np.float32)]
    b.op("BIDIRECTIONAL_SEQUENCE_LSTM", ins, outs,
         {"fusedActivationFunction": 4, "mergeOutputs": merge, "timeMajor": time_major,
          "asymmetricQuantizeInputs": asym})
    b.inputs([x] + ([ax] if aux else []))
    b.outputs(outs)
    r = np.random.default_rng(seed + 1)
    inputs = [r.uniform(-1, 1, shape).astype(np.float32)]
    if aux:
        inputs.append(r.uniform(-1, 1, shape[:2] + ((A if aux == "weights" else I),)).astype(np.float32))
    return b.finish(), inputs


BILSTM_CASES = {
    "separate-outputs": dict(),
    "merged": dict(merge=True),
    "batch-major-merged-batch1": dict(time_major=False, merge=True, B=1),
    "projection-peephole-cifg": dict(P=(3, 3), peephole=True, cifg=True),
    "aux-weights": dict(aux="weights"),
    "aux-cross-linked": dict(aux="cross", time_major=False),
    "hybrid": dict(hybrid=True, P=(4, 4), peephole=True),
    "hybrid-asymmetric-aux": dict(hybrid=True, asym=True, aux="weights", merge=True),
}


@pytest.mark.parametrize("case", sorted(BILSTM_CASES))
def test_bidirectional_lstm(case):
    model, inputs = _bilstm(**BILSTM_CASES[case])
    assert_matches_litert(model, inputs, rtol=RTOL)


@pytest.mark.parametrize("hybrid", [False, True])
def test_bidirectional_lstm_batch_major_merged(hybrid):
    """Batch-major with merged outputs and batch > 1: LiteRT 2.3 offsets the state of batch b by b * (merged
    row length) instead of b * n_output (it reads and writes past the state tensors; batch 0 is right, the
    others are not). The oracle is LiteRT on the same op with separate outputs, concatenated."""
    merged, inputs = _bilstm(time_major=False, merge=True, B=3, hybrid=hybrid, P=(4, 4))
    separate, _ = _bilstm(time_major=False, merge=False, B=3, hybrid=hybrid, P=(4, 4))
    fw, bw = litert_run(separate, inputs)
    want = np.concatenate([fw, bw], axis=-1)
    got = edgerun_run(merged, inputs)[0]
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= RTOL * np.abs(want).max()


# -- UNIDIRECTIONAL_SEQUENCE_RNN / BIDIRECTIONAL_SEQUENCE_RNN ---------------------------------------------

def _rnn(B=2, T=5, I=4, U=6, act=4, time_major=False, hybrid=False, asym=False, bidirectional=False, merge=False,
         aux=None, aux_size=3, seed=0):
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    shape = (T, B, I) if time_major else (B, T, I)
    x = b.tensor("x", shape, np.float32)

    def weight(name, shp, quantizable=True):
        a = rng.uniform(-0.7, 0.7, shp).astype(np.float32)
        if hybrid and quantizable:
            q, s = _quant_rows(a, False)
            return b.const(name, q, quant=(s, 0))
        return b.const(name, a)

    oshape = (lambda n: (T, B, n)) if time_major else (lambda n: (B, T, n))
    r = np.random.default_rng(seed + 1)
    inputs = [r.uniform(-1, 1, shape).astype(np.float32)]
    opts = {"fusedActivationFunction": act, "timeMajor": time_major, "asymmetricQuantizeInputs": asym}
    if not bidirectional:
        ins = [x, weight("w", (U, I)), weight("r", (U, U)), weight("b", (U,), False),
               b.tensor("h", (B, U), np.float32, is_variable=True)]
        outs = [b.tensor("y", oshape(U), np.float32)]
        b.op("UNIDIRECTIONAL_SEQUENCE_RNN", ins, outs, opts)
        b.inputs([x])
    else:
        U2, A = U + 2, aux_size
        ins = [x, weight("fw_w", (U, I)), weight("fw_r", (U, U)), weight("fw_b", (U,), False),
               b.tensor("fw_h", (B, U), np.float32, is_variable=True),
               weight("bw_w", (U2, I)), weight("bw_r", (U2, U2)), weight("bw_b", (U2,), False),
               b.tensor("bw_h", (B, U2), np.float32, is_variable=True)]
        if aux:
            ax = b.tensor("aux", shape[:2] + ((A if aux == "weights" else I),), np.float32)
            inputs.append(r.uniform(-1, 1, shape[:2] + ((A if aux == "weights" else I),)).astype(np.float32))
            ins.append(ax)
            ins += [weight("fw_aux_w", (U, A)), weight("bw_aux_w", (U2, A))] if aux == "weights" else [-1, -1]
        else:
            ins += [-1, -1, -1]  # LiteRT wants all 12 inputs
        outs = [b.tensor("y", oshape(U + U2), np.float32)] if merge else \
            [b.tensor("y_fw", oshape(U), np.float32), b.tensor("y_bw", oshape(U2), np.float32)]
        b.op("BIDIRECTIONAL_SEQUENCE_RNN", ins, outs, dict(opts, mergeOutputs=merge))
        b.inputs([x] + ([ins[9]] if aux else []))
    b.outputs(outs)
    return b.finish(), inputs


RNN_CASES = {
    "tanh": dict(),
    "relu-time-major": dict(act=1, time_major=True, B=3),
    "none": dict(act=0, T=3),
    "relu6-batch1": dict(act=3, B=1),
    "hybrid": dict(hybrid=True, U=9, I=7),
    "hybrid-time-major": dict(hybrid=True, time_major=True, B=3),
    "hybrid-asymmetric": dict(hybrid=True, asym=True, U=9, I=7, B=3),
    "bidirectional": dict(bidirectional=True),
    "bidirectional-merged-time-major": dict(bidirectional=True, merge=True, time_major=True),
    "bidirectional-aux-weights": dict(bidirectional=True, aux="weights"),
    "bidirectional-merged": dict(bidirectional=True, merge=True, B=3),
    "bidirectional-cross-linked-time-major": dict(bidirectional=True, aux="cross", merge=True, time_major=True),
    "bidirectional-hybrid": dict(bidirectional=True, hybrid=True),
    "bidirectional-hybrid-asymmetric-aux": dict(bidirectional=True, hybrid=True, asym=True, aux="weights",
                                                aux_size=4),
}


@pytest.mark.parametrize("case", sorted(RNN_CASES))
def test_rnn(case):
    model, inputs = _rnn(**RNN_CASES[case])
    assert_matches_litert(model, inputs, rtol=RTOL)


def _rnn_vs_transposed_litert(kw):
    """edgerun on the op with kw's layout vs LiteRT on the other layout with the sequences transposed."""
    ours_model, inputs = _rnn(bidirectional=True, **kw)
    their_model, _ = _rnn(bidirectional=True, **dict(kw, time_major=not kw["time_major"]))
    theirs = litert_run(their_model, [np.ascontiguousarray(a.transpose(1, 0, 2)) for a in inputs])
    ours = edgerun_run(ours_model, inputs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        b = b.transpose(1, 0, 2)
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= RTOL * np.abs(b).max()


# Layouts where LiteRT 2.3's BIDIRECTIONAL_SEQUENCE_RNN disagrees with its own other layout; the oracle is
# LiteRT's run of the other layout on the transposed sequences:
#  - cross-linking (aux input, no aux weights: the backward cell reads the aux input): batch-major, LiteRT's
#    backward cell reads the regular input instead (time-major it reads the aux input);
#  - time-major float with aux weights and an aux size different from the input size (LiteRT's time-major
#    aux rows are off: equal sizes agree);
#  - time-major hybrid: LiteRT's results differ from its batch-major ones (and from a float reference) from
#    the first step on when T > 1, with or without aux input.
RNN_LAYOUT_CASES = {
    "cross-linked-batch-major": dict(aux="cross", time_major=False),
    "aux-weights-time-major": dict(aux="weights", time_major=True),
    "hybrid-time-major": dict(hybrid=True, time_major=True, merge=True),
    "hybrid-asymmetric-aux-time-major": dict(hybrid=True, asym=True, aux="weights", aux_size=4, time_major=True),
}


@pytest.mark.parametrize("case", sorted(RNN_LAYOUT_CASES))
def test_bidirectional_rnn_layouts(case):
    _rnn_vs_transposed_litert(RNN_LAYOUT_CASES[case])


# -- models from TensorFlow's converter ------------------------------------------------------------------

@pytest.mark.parametrize("quantize", [None, "dynamic"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_converted_keras2_lstm(quantize, go_backwards):
    """TensorFlow's converter fuses Keras 2 (tf_keras) LSTM layers into UNIDIRECTIONAL_SEQUENCE_LSTM (Keras 3
    layers become WHILE loops); with dynamic-range quantization the weights become per-tensor int8 (hybrid)."""
    tf_keras = pytest.importorskip("tf_keras")
    from oracle import tf_convert

    tf_keras.utils.set_random_seed(0)
    m = tf_keras.Sequential([tf_keras.Input((6, 40), batch_size=2),
                             tf_keras.layers.LSTM(40, return_sequences=True, go_backwards=go_backwards),
                             tf_keras.layers.LSTM(24)])
    model = tf_convert(m, quantize=quantize)
    it = litert_interpreter(model)
    ops = [d["op_name"] for d in it._get_ops_details()]
    assert ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 2, ops
    if quantize == "dynamic":
        types = {it.get_tensor_details()[i]["dtype"] for d in it._get_ops_details()
                 if d["op_name"] == "UNIDIRECTIONAL_SEQUENCE_LSTM" for i in d["inputs"][1:9] if i >= 0}
        assert np.int8 in types
    assert_matches_litert(model, rtol=RTOL)
