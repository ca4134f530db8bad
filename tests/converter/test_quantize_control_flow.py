"""int8 / int16x8 quantization of models with control flow (issue 10): IF and WHILE subgraphs calibrated over
every execution of a branch or loop body (converter/calibrate.py) and quantized with one scale and zero
point per value crossing a subgraph boundary (converter/quantize.py).

Oracles: LiteRT on the same edgerun-written flatbuffer (bit for bit); the float model (onnxruntime for ONNX
models, LiteRT on TensorFlow's float conversion for tf.cond / tf.while_loop) within a stated number of output
steps (the output tensor's scale); TensorFlow's own int8 conversion of the same function (our error against
float at most its error plus two output steps). Models: ONNX If / Loop built with onnx.helper, tf.cond and
tf.while_loop (TensorFlow's float .tflite read back by converter/frontends/tflite.py), Silero VAD's run-time
If.
"""
import subprocess

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto as TP
from onnx import helper
from oracle import edgerun_run, litert_run
from test_onnx_control_flow import _body, _counter_loop, _if_conv_model, _if_in_loop_model, _init, _model, _vi

import edgerun
from edgerun.converter.api import convert_graph
from edgerun.converter.calibrate import calibrate
from edgerun.converter.export import export
from edgerun.converter.ir import Graph
from edgerun.converter.verify import verify
from edgerun.errors import ConversionError

F, I64, B = TP.FLOAT, TP.INT64, TP.BOOL


def _quantized(source, mode, data, **kw):
    """(flatbuffer, [output step per output, None for integer outputs]) of `source` quantized by edgerun (float interface)."""
    g = convert_graph(source, quantize=mode, representative_data=data, **kw)
    producers = g.producers()
    steps = [float(producers[t.id].inputs[0].quant.scale[0]) if t.dtype == np.float32 else None
             for t in g.outputs]
    return export(g), steps


def _check(tfl, steps, feeds, reference, within):
    """Every feed: edgerun == LiteRT bit for bit; float outputs within `within` steps of `reference`.
    Returns the largest error seen per output, in steps."""
    worst = [0.0] * len(steps)
    for ins in feeds:
        ours, theirs, want = edgerun_run(tfl, ins), litert_run(tfl, ins), reference(ins)
        for j, (a, b, w) in enumerate(zip(ours, theirs, want)):
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), \
                f"output {j}: edgerun differs from LiteRT in {int(np.sum(a != b))} values"
            if a.dtype.kind == "f":
                worst[j] = max(worst[j], float(np.abs(a.astype(np.float64) - w).max()) / steps[j])
            else:
                assert np.array_equal(a, w), f"output {j}: {a} != {w}"
    for j, w in enumerate(worst):
        assert w <= within, f"output {j}: {w:.2f} output steps from float (allowed {within})"
    return worst


def _onnx_reference(m):
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in m.graph.input]
    return lambda ins: sess.run(None, dict(zip(names, ins)))


def _uniform(shape, n, seed=0, lo=-1.0, hi=1.0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(lo, hi, shape).astype(np.float32) for _ in range(n)]


def _subgraph_types(g):
    return [[op.type for op in s.ops] for s in g.subgraphs]


# -- calibration ---------------------------------------------------------------------------------------------
def test_calibration_records_every_loop_iteration():
    """acc = 0.9 acc + i x for i = 0..3, stacked: the body's acc_out range is the union over the 4
    iterations (numpy), not its value after one or the last."""
    m = _counter_loop(scan=True)
    g = convert_graph(m)
    xs = _uniform((1, 3), 3, seed=1)
    ranges = calibrate(g, xs, progress=False)
    seen = []
    for x in xs:
        acc = x.astype(np.float64)
        for i in range(4):
            acc = acc * np.float32(0.9) + x * i
            seen.append(acc)
    body = next(s for s in g.subgraphs if any(t.name == "acc_out" for t in s.outputs))
    acc_out = next(t for t in body.outputs if t.name == "acc_out")
    lo, hi = ranges[acc_out.id]
    assert np.isclose(lo, np.min(seen), atol=1e-5) and np.isclose(hi, np.max(seen), atol=1e-5)


def test_calibration_warns_of_a_branch_never_taken():
    m = _if_conv_model()
    g = convert_graph(m)
    pos = [np.abs(x) + 0.1 for x in _uniform((1, 3, 6, 6), 2)]
    with pytest.warns(UserWarning, match=r"subgraph 2 \('.*else.*'\) never ran"):
        ranges = calibrate(g, pos, progress=False)
    computed = [t for op in g.subgraphs[1].ops for t in op.outputs]  # (the else branch's Conv output)
    assert computed and all(ranges[t.id] == (0.0, 0.0) for t in computed)


def test_calibration_refuses_a_loop_that_does_not_end(monkeypatch):
    from edgerun.converter import calibrate as cal

    monkeypatch.setattr(cal, "MAX_LOOP_ITERATIONS", 10)
    g = convert_graph(_counter_loop(scan=False))  # 50 iterations for x < 0
    with pytest.raises(ConversionError, match=r"calibration: WHILE \('loop'\) in 'main' ran more than 10 "
                                              r"iterations on a representative sample"):
        cal.calibrate(g, _uniform((1, 3), 1, lo=-1, hi=-0.5), progress=False)


# -- ONNX If / Loop ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode, within", [("int8", 4), ("int16x8", 384)])
def test_onnx_if_both_branches(mode, within):
    """Conv -> If(mean(x) > 0): Relu + mean (then) or a second Conv (else) -> Conv; calibrated on samples
    taking both branches. (int16: an int8 weight step is ~256 int16 output steps, see test_quantize.py.)"""
    m = _if_conv_model()
    xs = _uniform((1, 3, 6, 6), 16)
    data = [np.abs(x) + 0.1 for x in xs[:8]] + [-np.abs(x) - 0.1 for x in xs[8:]]
    tfl, steps = _quantized(m, mode, data)
    feeds = [[np.abs(x) + 0.1] for x in _uniform((1, 3, 6, 6), 3, seed=9)]
    feeds += [[-np.abs(x) - 0.1] for x in _uniform((1, 3, 6, 6), 3, seed=10)]
    _check(tfl, steps, feeds, _onnx_reference(m), within)


def test_if_operands_and_branch_tensors_share_one_quantization():
    g = convert_graph(_if_conv_model(), quantize="int8",
                      representative_data=[np.abs(x) + 0.1 for x in _uniform((1, 3, 6, 6), 4)]
                      + [-np.abs(x) - 0.1 for x in _uniform((1, 3, 6, 6), 4, seed=3)])
    verify(g, "after quantize")  # the IR checker: subgraph references, operand/result counts and types
    (op,) = [op for op in g.ops if op.type == "IF"]
    then_g, else_g = (g.subgraphs[op.options[f] - 1] for f in ("thenSubgraphIndex", "elseSubgraphIndex"))

    def q(t):
        return float(t.quant.scale[0]), int(t.quant.zero_point[0])

    assert op.inputs[0].dtype == np.bool_
    for k, t in enumerate(op.inputs[1:]):
        assert t.dtype == np.int8 and q(t) == q(then_g.inputs[k]) == q(else_g.inputs[k])
    for k, t in enumerate(op.outputs):
        assert t.dtype == np.int8 and q(t) == q(then_g.outputs[k]) == q(else_g.outputs[k])


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_onnx_loop_with_scan_output(mode):
    """Loop with a fixed trip count: the counter is CAST to float in the body (a QUANTIZE after the cast), each
    iteration's value is written into a scan buffer (DYNAMIC_UPDATE_SLICE, same scale). Rounding at every
    op of every iteration adds up: within 6 int8 steps, 256 int16 steps (one int8 step)."""
    m = _counter_loop(scan=True)
    tfl, steps = _quantized(m, mode, _uniform((1, 3), 16))
    _check(tfl, steps, [[x] for x in _uniform((1, 3), 4, seed=5)], _onnx_reference(m),
           within=6 if mode == "int8" else 256)


def test_onnx_loop_with_condition_on_a_large_value():
    """acc = 0.9 acc + i x while i < 50 and sum(acc) < 6: with x < 0 the trip count ends the loop (50
    iterations, |acc| up to ~400: scale > 1, so the LESS compares dequantized floats, which TFLite's integer
    comparison cannot). The loop variable initialised from x gets a requantized copy: x keeps its own scale.
    Positive x ends the loop on the condition: bit-exact with LiteRT (the count may differ from float's)."""
    m = _counter_loop(scan=False)
    data = _uniform((1, 3), 16, lo=-1, hi=-0.2) + _uniform((1, 3), 8, seed=2, lo=0.2, hi=1)
    g = convert_graph(m, quantize="int8", representative_data=data)
    body = next(s for s in g.subgraphs if "LESS" in [op.type for op in s.ops] and "ADD" in [op.type for op in s.ops])
    less = next(op for op in body.ops if op.type == "LESS")
    assert all(t.dtype == np.float32 for t in less.inputs)
    x_int8 = g.ops[0].outputs[0]
    assert float(x_int8.quant.scale[0]) < 0.01  # not the loop variable's ~2
    tfl, steps = _quantized(m, "int8", data)
    _check(tfl, steps, [[x] for x in _uniform((1, 3), 3, seed=4, lo=-1, hi=-0.2)], _onnx_reference(m), within=6)
    _check(tfl, steps, [[x] for x in _uniform((1, 3), 3, seed=6, lo=0.2, hi=1)], lambda ins: litert_run(tfl, ins),
           within=0)


def test_onnx_if_inside_a_loop():
    """Loop body holding an If (Mul or Sub by the outer x, captured through two levels of subgraphs)."""
    m = _if_in_loop_model()
    tfl, steps = _quantized(m, "int8", _uniform((1, 3), 16, lo=-2, hi=2))
    _check(tfl, steps, [[x] for x in _uniform((1, 3), 4, seed=7, lo=-2, hi=2)], _onnx_reference(m), within=4)


def _fixed_into_loop_model():
    """If(sum(x) > 0): sigmoid(x) (then) or 3x (else) -> h0; Loop 3 times: h = sigmoid(h) + x."""
    body = _body([helper.make_node("Sigmoid", ["h_in"], ["s"]),
                  helper.make_node("Add", ["s", "x"], ["h_out"]),
                  helper.make_node("Identity", ["c_in"], ["c_out"])],
                 [_vi("c_out", B, []), _vi("h_out", F, [1, 4])],
                 inputs=[_vi("i", I64, []), _vi("c_in", B, []), _vi("h_in", F, [1, 4])])
    then_g = _body([helper.make_node("Sigmoid", ["x"], ["t"])], [_vi("t", F, [1, 4])], name="then")
    else_g = _body([helper.make_node("Mul", ["x", "three"], ["e"])], [_vi("e", F, [1, 4])],
                   inits=[_init("three", np.float32(3))], name="else")
    nodes = [helper.make_node("ReduceSum", ["x"], ["sx"], keepdims=0),
             helper.make_node("Greater", ["sx", "zero"], ["pos"]),
             helper.make_node("If", ["pos"], ["h0"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Loop", ["trips", "", "h0"], ["h"], body=body)]
    inits = [_init("trips", np.array(3, np.int64)), _init("zero", np.float32(0))]
    return _model(nodes, [_vi("x", F, [1, 4])], [_vi("h", F, [1, 4])], inits)


def test_fixed_output_into_a_loop_variable_is_requantized():
    """A LOGISTIC output (fixed 1/256, -128) returned by an IF branch whose result has a wider range (the else
    branch's 3x, and the loop variable it initialises): it is requantized in the branch."""
    m = _fixed_into_loop_model()
    data = _uniform((1, 4), 8, lo=0, hi=1) + _uniform((1, 4), 8, seed=1, lo=-1, hi=0)
    g = convert_graph(m, quantize="int8", representative_data=data)
    types = _subgraph_types(g)
    assert types[0] == ["LOGISTIC", "QUANTIZE"], types
    tfl, steps = _quantized(m, "int8", data)
    feeds = [[x] for x in _uniform((1, 4), 3, seed=2, lo=0, hi=1) + _uniform((1, 4), 3, seed=3, lo=-1, hi=0)]
    _check(tfl, steps, feeds, _onnx_reference(m), within=4)


def test_report_covers_subgraph_tensors():
    """converter/report.py compares the tensors of the IF branches and the WHILE cond and body on every
    execution, in rows named "subgraph/tensor". Float side: ranges and counts of the body's sigmoid over all 3
    rounds computed here in numpy; quantized side: a damaged constant in the else branch shows in that
    branch's rows (and the loop after it), not in the then branch's."""
    from edgerun.converter.report import quantization_errors, quantization_report

    m = _fixed_into_loop_model()
    data = _uniform((1, 4), 8, lo=0, hi=1) + _uniform((1, 4), 8, seed=1, lo=-1, hi=0)
    fm = export(convert_graph(m))
    qg = convert_graph(m, quantize="int8", representative_data=data)
    errs = {e.name: e for e in quantization_errors(fm, export(qg), data)}
    assert {"sx", "h0", "h0/then/t", "h0/else/e", "h/body/s", "h/body/h_out"} <= set(errs), sorted(errs)
    assert errs["h/body/s"].subgraph == "h/body" and errs["h/body/s"].op == "LOGISTIC"
    assert errs["h0/then/t"].scale == 1 / 256 and errs["h0/then/t"].zero_point == -128

    def sigmoid(v):
        return 1 / (1 + np.exp(-v.astype(np.float64)))

    s_all, pos = [], 0
    for x in data:
        h = sigmoid(x) if x.sum() > 0 else 3 * x.astype(np.float64)
        pos += x.sum() > 0
        for _ in range(3):
            s = sigmoid(h)
            s_all.append(s)
            h = s + x
    s_all = np.concatenate(s_all)
    body_s = errs["h/body/s"]
    assert body_s.count == s_all.size == 16 * 3 * 4
    assert abs(body_s.lo - s_all.min()) < 1e-6 and abs(body_s.hi - s_all.max()) < 1e-6
    assert errs["h0/then/t"].count == 4 * pos and errs["h0/else/e"].count == 4 * (16 - pos)
    for name, e in errs.items():
        assert e.rmse_steps < 1 if e.scale > 0 else e.rel_rmse < 0.01, (name, e.rmse_steps, e.rel_rmse)

    else_g = next(g for g in qg.subgraphs if g.name.endswith("else"))
    (mul,) = [op for op in else_g.ops if op.type == "MUL"]
    three = mul.inputs[1]
    three.data = (three.data.astype(np.int16) // 2).astype(np.int8)  # 3x becomes about 1.5x
    errs = {e.name: e for e in quantization_errors(fm, export(qg), data)}
    assert errs["h0/then/t"].rel_rmse < 0.01 and errs["h0/then/x"].rel_rmse < 0.01
    assert errs["h0/else/e"].rel_rmse > 0.1 and errs["h/body/h_in"].rel_rmse > 0.02
    text = quantization_report(fm, export(qg), data)
    assert "worst tensor: h0/else/e " in text.splitlines()[-1], text
    assert any(ln.split()[:2] == ["h/body/s", "LOGISTIC"] for ln in text.splitlines()), text


def _tanh_into_loop_of_logistic(reshape):
    """IR: h = tanh(x); WHILE i < 3: h = [RESHAPE] LOGISTIC(h). The loop variable joins TANH's fixed output
    (1/128, 0) and, through the RESHAPE (same scale), LOGISTIC's (1/256, -128)."""
    g = Graph()
    x = g.input("x", (1, 4))
    (t,) = g.op("TANH", [x], [g.tensor("t", (1, 4))])
    cond = Graph(name="cond")
    ci = cond.input("c_i", (), np.int32)
    cond.input("c_h", (1, 4))
    cond.outputs = cond.op("LESS", [ci, cond.const("three", np.array(3, np.int32))],
                           [cond.tensor("go", (), np.bool_)])
    body = Graph(name="body")
    bi, bh = body.input("b_i", (), np.int32), body.input("b_h", (1, 4))
    (i1,) = body.op("ADD", [bi, body.const("one", np.array(1, np.int32))], [body.tensor("b_i1", (), np.int32)])
    (s,) = body.op("LOGISTIC", [bh], [body.tensor("s", (1, 4))])
    if reshape:
        (s,) = body.op("RESHAPE", [s, body.const("shape", np.array([1, 4], np.int32))],
                       [body.tensor("h_out", (1, 4))], {"newShape": [1, 4]})
    body.outputs = [i1, s]
    g.subgraphs = [cond, body]
    outs = [g.tensor("i_end", (), np.int32), g.tensor("h", (1, 4))]
    g.op("WHILE", [g.const("i0", np.array(0, np.int32)), t], outs, {"condSubgraphIndex": 1, "bodySubgraphIndex": 2})
    g.outputs = [outs[1]]
    return g


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
@pytest.mark.parametrize("reshape", [True, False])
@pytest.mark.parametrize("lo", [0.0, -1.0])
def test_loop_variable_between_two_fixed_quantizations(reshape, lo, mode):
    """A loop variable initialised by TANH (fixed 1/128, 0) and written by LOGISTIC (fixed 1/256, -128) in the
    body keeps one of them and the other side is requantized where it is written. With x >= 0 (the variable in
    [0, 1)) and a RESHAPE after the LOGISTIC, the variable keeps TANH's quantization (tied first) and the
    RESHAPE's input is requantized (before: refused, the RESHAPE handing the loop variable LOGISTIC's fixed
    quantization). int16x8: both fixed quantizations are 1/32768. Bit-exact with LiteRT, within 2 output
    steps of float."""
    from edgerun.converter.quantize import quantize

    g = _tanh_into_loop_of_logistic(reshape)
    data = _uniform((1, 4), 16, lo=lo, hi=2)
    q = quantize(g, mode, representative_data=data, progress=False)
    verify(q, "after quantize")
    body = q.subgraphs[1]
    logistic = next(op for op in body.ops if op.type == "LOGISTIC")
    tanh = next(op for op in q.ops if op.type == "TANH")
    fixed = {"int8": ((1 / 256, -128), (1 / 128, 0)), "int16x8": ((1 / 32768, 0), (1 / 32768, 0))}[mode]
    for t, want in zip((logistic.outputs[0], tanh.outputs[0]), fixed):
        assert (float(t.quant.scale[0]), int(t.quant.zero_point[0])) == want
    if mode == "int16x8":  # one fixed quantization for both: nothing to requantize
        _check(export(q), [float(q.ops[-1].inputs[0].quant.scale[0])],
               [[x] for x in _uniform((1, 4), 4, seed=3, lo=lo, hi=2)], _tanh_logistic_reference, within=2)
        return
    assert [op.name for sg in [q] + q.subgraphs for op in sg.ops if op.name.endswith("/requantize")]
    (deq,) = [op for op in q.ops if op.type == "DEQUANTIZE"]
    step = float(deq.inputs[0].quant.scale[0])

    _check(export(q), [step], [[x] for x in _uniform((1, 4), 4, seed=3, lo=lo, hi=2)], _tanh_logistic_reference,
           within=2)


def _tanh_logistic_reference(ins):
    v = np.tanh(ins[0].astype(np.float64))
    for _ in range(3):
        v = 1 / (1 + np.exp(-v))
    return [v]


def test_an_op_output_losing_its_fixed_quantization_is_named():
    """The last check of the quantizer (quantize_control.check_fixed_kept): a LOGISTIC output whose group ended
    with another fixed quantization is refused naming the op, its subgraph and the tensor."""
    from edgerun.converter.quantize import _Groups
    from edgerun.converter.quantize_control import check_fixed_kept

    g = _tanh_into_loop_of_logistic(reshape=False)
    s = g.subgraphs[1].ops[1].outputs[0]
    groups = _Groups()
    groups.add(s.id, (0.0, 1.0))
    with pytest.raises(ConversionError, match=r"LOGISTIC in subgraph 2 \(body\): its output 's' needs the fixed "
                                              r"quantization \(0.00390625, -128\)"):
        check_fixed_kept(g, groups, {s.id: (1 / 128, 0)}, {"LOGISTIC": (1 / 256, -128)}, "int8")
    check_fixed_kept(g, groups, {s.id: (1 / 256, -128)}, {"LOGISTIC": (1 / 256, -128)}, "int8")


# -- refusals ------------------------------------------------------------------------------------------------
def test_an_op_without_integer_kernel_in_a_branch_is_named_with_its_subgraph():
    then_g = _body([helper.make_node("Sin", ["x"], ["t"])], [_vi("t", F, [1, 4])], name="then")
    else_g = _body([helper.make_node("Neg", ["x"], ["e"])], [_vi("e", F, [1, 4])], name="else")
    nodes = [helper.make_node("ReduceSum", ["x"], ["sx"], keepdims=0),
             helper.make_node("Greater", ["sx", "zero"], ["pos"]),
             helper.make_node("If", ["pos"], ["y"], then_branch=then_g, else_branch=else_g, name="pick")]
    m = _model(nodes, [_vi("x", F, [1, 4])], [_vi("y", F, [1, 4])], [_init("zero", np.float32(0))])
    with pytest.raises(ConversionError, match=r"cannot quantize to int8: SIN .*no int8 kernel for SIN in subgraph "
                                              r"1 \(.*then.*\)"):
        edgerun.convert(m, quantize="int8", representative_data=_uniform((1, 4), 2))


def test_a_loop_variable_float_on_one_side_only_is_refused():
    """A hand-built IR graph whose WHILE body returns an int32 where the operand is float."""
    g = Graph(name="main")
    x = g.input("x", (2,))
    cond = Graph(name="cond")
    ci = cond.input("in", (2,))
    cond.outputs = [cond.op("LESS", [cond.const("zero", np.zeros(2, np.float32)), ci], [cond.tensor("c", (2,), np.bool_)])[0]]
    cond.ops[-1].inputs = [ci, ci]
    body = Graph(name="body")
    bi = body.input("in", (2,))
    body.outputs = [body.op("CAST", [bi], [body.tensor("i", (2,), np.int32)])[0]]
    y = g.op("WHILE", [x], [g.tensor("y", (2,))], {"condSubgraphIndex": 1, "bodySubgraphIndex": 2})[0]
    g.outputs = [y]
    g.subgraphs = [cond, body]
    with pytest.raises(ConversionError, match=r"WHILE: the tensors of one operand / loop variable differ in type "
                                              r"\('x' float32, 'y' float32, 'in' float32, 'in' float32, 'i' int32\)"):
        edgerun.converter.quantize.quantize(g, "int8", representative_data=[np.zeros(2, np.float32)])


# -- TensorFlow: tf.cond, tf.while_loop ----------------------------------------------------------------------
def _tf_functions():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    w1, w2 = (rng.uniform(-0.5, 0.5, (8, 8)).astype(np.float32) for _ in range(2))

    def while_fn(x):
        # (no loop variable passes through the body unchanged: TensorFlow's calibrator crashes on those,
        # tensorflow/tensorflow#75140)
        def body(i, h, acc):
            h = tf.tanh(tf.matmul(h, w1) + 0.1)
            return i + 1, h, acc + h

        _, h, acc = tf.while_loop(lambda i, h, acc: i < 4, body, (tf.constant(0), x, tf.zeros_like(x)))
        return tf.matmul(h, w2) + acc

    def cond_fn(x):
        return tf.cond(tf.reduce_sum(x) > 0, lambda: tf.nn.relu(tf.matmul(x, w1)),
                       lambda: tf.sigmoid(tf.matmul(x, w2)))

    return {"while_loop": while_fn, "cond": cond_fn}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["while_loop", "cond"])
def test_tensorflow_control_flow_against_tf_int8(name):
    """tf.while_loop (4 rounds of tanh(h W + 0.1), summed) and tf.cond (relu or sigmoid of a matmul): edgerun's
    int8 bit-exact with LiteRT, within 6 output steps of float and no further than TensorFlow's int8 + 2 steps
    (on calibration samples, taking both branches: an input beyond the calibrated ranges of the branch it takes
    saturates, in TensorFlow's int8 as in ours)."""
    pytest.importorskip("tensorflow")
    import tensorflow as tf
    from oracle import tf_convert_function

    from edgerun.converter.api import load

    fn = _tf_functions()[name]
    spec = [tf.TensorSpec((1, 8), tf.float32)]
    data = [[x] for x in _uniform((1, 8), 32)]
    key = f"quantize-control-flow-{name}-v1"
    flt = tf_convert_function(fn, spec, key=key)
    theirs = tf_convert_function(fn, spec, quantize="int8", representative=data, key=key)
    g = load(flt)  # TensorFlow's float .tflite read back (converter/frontends/tflite.py)
    assert g.subgraphs and {"WHILE", "IF"} & {op.type for op in g.ops}
    tfl, steps = _quantized(flt, "int8", data)
    feeds = data[:8]
    assert {bool(x.sum() > 0) for x, in feeds} == {True, False}
    worst = _check(tfl, steps, feeds, lambda ins: litert_run(flt, ins), within=6)
    tf_worst = max(float(np.abs(litert_run(theirs, ins)[0] - litert_run(flt, ins)[0]).max()) for ins in feeds)
    assert worst[0] <= tf_worst / steps[0] + 2, (worst, tf_worst / steps[0])


@pytest.mark.slow
def test_tensorflow_loop_reading_its_input_in_the_body():
    """h = tanh(h W + x) 4 times, x read inside the body: TensorFlow's WHILE passes x through the body
    unchanged, which TensorFlow's own int8 calibrator crashes on (tensorflow/tensorflow#75140, not run
    here); edgerun quantizes the float .tflite: bit-exact with LiteRT, within 6 output steps of float."""
    pytest.importorskip("tensorflow")
    import tensorflow as tf
    from oracle import tf_convert_function

    w = np.random.default_rng(0).uniform(-0.5, 0.5, (8, 8)).astype(np.float32)

    def fn(x):
        _, h = tf.while_loop(lambda i, h: i < 4, lambda i, h: (i + 1, tf.tanh(tf.matmul(h, w) + x)),
                             (tf.constant(0), x))
        return h

    flt = tf_convert_function(fn, [tf.TensorSpec((1, 8), tf.float32)], key="quantize-control-flow-captured-v1")
    data = [[x] for x in _uniform((1, 8), 32)]
    tfl, steps = _quantized(flt, "int8", data)
    _check(tfl, steps, data[:8], lambda ins: litert_run(flt, ins), within=6)


@pytest.mark.slow
@pytest.mark.parametrize("mode, within", [("int8", 6), ("int16x8", 256)])
def test_tensorflow_loop_with_a_float_condition(mode, within):
    """while sum(h) < 5: h = 1.1 h + 0.1 - the cond subgraph reduces and compares a quantized loop variable
    (int16x8: the LESS reads floats, the bound's scale differs). Bit-exact with LiteRT; against float on the
    calibration samples (the same trip counts)."""
    pytest.importorskip("tensorflow")
    import tensorflow as tf
    from oracle import tf_convert_function

    def fn(x):
        return tf.while_loop(lambda h: tf.reduce_sum(h) < 5.0, lambda h: (h * 1.1 + 0.1,), (x,))[0]

    flt = tf_convert_function(fn, [tf.TensorSpec((1, 8), tf.float32)], key="quantize-control-flow-float-cond-v1")
    data = [[x] for x in _uniform((1, 8), 16, lo=-0.5, hi=1.0)]
    tfl, steps = _quantized(flt, mode, data)
    _check(tfl, steps, data[:6], lambda ins: litert_run(flt, ins), within=within)


def test_float_tflite_round_trip_and_refusals(tmp_path):
    """A float .tflite with IF / WHILE read back (bytes or path) and written again runs as the original in
    LiteRT (bit for bit: the same ops); quantized models, and float conversion of a .tflite (nothing to do),
    are refused by name."""
    from edgerun.converter.api import load

    m = _counter_loop(scan=True)
    flt = edgerun.convert(m)
    path = tmp_path / "loop.tflite"
    path.write_bytes(flt)
    for source in (flt, str(path)):
        again = export(load(source))
        for x in _uniform((1, 3), 3, seed=8):
            assert all(np.array_equal(a, b) for a, b in zip(litert_run(again, [x]), litert_run(flt, [x])))
    q = edgerun.convert(flt, quantize="int8", representative_data=_uniform((1, 3), 8))
    with pytest.raises(ConversionError, match=r"subgraph 0 \(main\): tensor '.*' is already quantized"):
        edgerun.convert(q, quantize="int8", representative_data=_uniform((1, 3), 2))
    with pytest.raises(ConversionError, match="input_shapes / constant_inputs apply to ONNX models"):
        edgerun.convert(flt, quantize="int8", representative_data=_uniform((1, 3), 2), input_shapes={"x": (1, 3)})
    with pytest.raises(ConversionError, match="a TFLite model already: nothing to convert without quantize="):
        edgerun.convert(str(path))


# -- Silero VAD ----------------------------------------------------------------------------------------------
def _vad_sample(sr, k):
    r = np.random.default_rng(k)
    t = np.arange(256) / sr
    x = 0.3 * np.sin(2 * np.pi * r.uniform(100, 1000) * t) * r.uniform(0, 1) + r.normal(size=256) * 0.05
    return [x.astype(np.float32)[None], (r.normal(size=(2, 1, 128)) * 0.3).astype(np.float32),
            np.array(sr, np.int64)]


@pytest.mark.parametrize("mode, prob_err", [("int16x8", 0.06), ("int8", 0.5)])
def test_silero_vad_run_time_sample_rate(mode, prob_err):
    """Silero VAD v6 with its top-level If on the sample rate left to run time (both networks in IF
    branches), calibrated on both rates: bit-exact with LiteRT at both rates. Against float (onnxruntime),
    speech probability: int16x8 within 0.06; int8 within 0.5 only - int8 loses as much on this model without
    the If (sr fixed at conversion, the If folded), so the loss is the model's under per-tensor int8, not the
    control flow's."""
    from test_onnx_control_flow import _silero_model

    m = _silero_model("silero_vad.onnx")
    data = [_vad_sample(sr, k) for k in range(16) for sr in (16000, 8000)]
    tfl, steps = _quantized(m, mode, data, input_shapes={"input": (1, 256), "state": (2, 1, 128)})
    ref = _onnx_reference(m)
    for sr in (16000, 8000):
        for k in range(100, 104):
            ins = _vad_sample(sr, k)
            ours, theirs = edgerun_run(tfl, ins), litert_run(tfl, ins)
            assert all(np.array_equal(a, b) for a, b in zip(ours, theirs)), f"sr {sr} sample {k}"
            err = float(np.abs(ours[0] - ref(ins)[0]).max())
            assert err <= prob_err, f"{mode} sr {sr} sample {k}: probability off by {err:.3f}"


# -- plan files and generated C ------------------------------------------------------------------------------
@pytest.mark.slow
def test_quantized_if_and_while_plan_and_generated_c_match_desktop(tmp_path):
    """The int8 If-then-Loop model (a fixed output requantized into the IF result) as a host plan
    file run by the C library and as a generated C project: outputs equal to the desktop interpreter's."""
    from edgerun.platforms import planfile as pf
    from edgerun.platforms.codegen import compile_model, prepare_for
    from edgerun.platforms.codegen.runner import run_project
    from edgerun.platforms.lib.build import build

    m = _fixed_into_loop_model()
    data = _uniform((1, 4), 8, lo=0, hi=1) + _uniform((1, 4), 8, seed=1, lo=-1, hi=0)
    model = edgerun.convert(m, quantize="int8", representative_data=data, input_type=np.int8,
                            output_type=np.int8)
    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    steps = [[np.random.default_rng(s).integers(-128, 128, (1, 4), dtype=np.int64).astype(np.int8)]
             for s in range(4)]
    want = []
    for step in steps:
        it.set_tensor(it.get_input_details()[0]["index"], step[0])
        it.invoke()
        want.append(it.get_tensor(it.get_output_details()[0]["index"]).copy())
    # generated C, host
    result = run_project(compile_model(model, "host", tmp_path / "c", name="net"), steps)
    for k, w in enumerate(want):
        assert np.array_equal(result.outputs[k][0], w), f"generated C, step {k}"
    # plan file, host C library
    lib = build("host")
    plan = prepare_for(model, "host")
    work = tmp_path / "plan"
    work.mkdir()
    (work / "model.plan").write_bytes(pf.write_plan(plan))
    with open(work / "in0.bin", "wb") as f:
        for step in steps:
            f.write(step[0].tobytes())
    done = subprocess.run([*lib.run_prefix, str(lib.er_run), str(work / "model.plan"), str(work)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    got = np.fromfile(work / "out0.bin", np.int8).reshape(len(steps), 1, 4)
    for k, w in enumerate(want):
        assert np.array_equal(got[k], w), f"plan file, step {k}"


# -- comparisons -------------------------------------------------------------------------------------------
def test_litert_int16_less_compares_raw_integers():
    """Why int16x8 comparisons of inputs with different scales stay float: LiteRT's int16 LESS ignores the
    quantization (1.0 as 100 * 0.01 against 25.0 as 50 * 0.5: False), unlike its int8 LESS."""
    from edgerun.converter.ir import Quant

    outs = {}
    for dt, a, b in ((np.int16, 100, 50), (np.int8, 100, 50)):
        g = Graph(name="main")
        x = g.input("x", (1,), dt)
        x.quant = Quant.per_tensor(0.01, 0)
        y = g.const("y", np.array([b], dt), quant=Quant.per_tensor(0.5, 0))
        g.outputs = g.op("LESS", [x, y], [g.tensor("less", (1,), np.bool_)], version=2)
        outs[np.dtype(dt).name] = bool(litert_run(export(g), [np.array([a], dt)])[0][0])
    assert outs == {"int16": False, "int8": True}


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_comparison_the_integer_kernel_cannot_do_compares_floats(mode):
    """x [1, 8] -> sum * 100 (range ~ +-400: an int8 scale > 1) < 6: the LESS reads dequantized floats (int8:
    the scale; int16x8: the constant's scale differs from the sum's); its bool output equals the float
    model's on every sample not within a few steps of the bound."""
    g = Graph(name="main")
    x = g.input("x", (1, 8))
    s = g.op("SUM", [x, g.const("axes", np.array([1], np.int32))], [g.tensor("s", (1,))], {"keepDims": False})[0]
    big = g.op("MUL", [s, g.const("hundred", np.array([100.0], np.float32))], [g.tensor("big", (1,))],
               {"fusedActivationFunction": 0})[0]
    g.outputs = g.op("LESS", [big, g.const("six", np.array([6.0], np.float32))], [g.tensor("less", (1,), np.bool_)])
    data = _uniform((1, 8), 32)
    qg = convert_graph(g, quantize=mode, representative_data=data, optimize=False)
    less = next(op for op in qg.ops if op.type == "LESS")
    assert all(t.dtype == np.float32 for t in less.inputs)
    tfl, flt = export(qg), export(g)
    for (x_,) in [[x_] for x_ in _uniform((1, 8), 16, seed=3)]:
        if abs(float(x_.sum()) * 100 - 6) < 20:
            continue
        assert edgerun_run(tfl, [x_])[0] == litert_run(tfl, [x_])[0] == litert_run(flt, [x_])[0]


def test_branches_returning_their_input_and_a_constant():
    """Hand-built IR: IF(cond) returns x itself (then) or a constant (else); both quantized with the IF
    result's parameters. Against the float graph in LiteRT: within one output step."""
    g = Graph(name="main")
    x, flag = g.input("x", (1, 4)), g.input("flag", (1,), np.bool_)
    then_g = Graph(name="then")
    then_g.outputs = [then_g.input("x", (1, 4))]
    else_g = Graph(name="else")
    else_g.input("x", (1, 4))
    else_g.outputs = [else_g.const("c", np.array([[0.5, -0.25, 1.5, 0.0]], np.float32))]
    y = g.op("IF", [flag, x], [g.tensor("y", (1, 4))], {"thenSubgraphIndex": 1, "elseSubgraphIndex": 2})[0]
    g.outputs = g.op("MUL", [y, x], [g.tensor("z", (1, 4))], {"fusedActivationFunction": 0})
    g.subgraphs = [then_g, else_g]
    data = [[x_, np.array([k % 2 == 0])] for k, x_ in enumerate(_uniform((1, 4), 16))]
    tfl, steps = _quantized(g, "int8", data, optimize=False)
    qg = convert_graph(g, quantize="int8", representative_data=data, optimize=False)
    assert qg.subgraphs[1].outputs[0].is_const and qg.subgraphs[1].outputs[0].dtype == np.int8
    flt = export(g)
    feeds = [[x_, np.array([flag_])] for x_ in _uniform((1, 4), 3, seed=5) for flag_ in (True, False)]
    _check(tfl, steps, feeds, lambda ins: litert_run(flt, ins), within=1.5)
