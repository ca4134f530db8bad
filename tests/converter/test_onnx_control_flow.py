"""ONNX control flow at run time (issue 10 item 3): If with a condition computed at run time -> TFLite IF, Loop
-> WHILE (trip count, carried condition, scan outputs). Models built with onnx.helper; converted by edgerun,
run by edgerun and by LiteRT, both compared with onnxruntime (float within 1e-3 of the output scale,
integers exact)."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto as TP
from onnx import helper, numpy_helper
from oracle import edgerun_run, litert_run

import edgerun
from edgerun.errors import ConversionError

F, I64, B = TP.FLOAT, TP.INT64, TP.BOOL


def _vi(name, elem=F, shape=None):
    return helper.make_tensor_value_info(name, elem, shape)


def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def _w(name, *shape, seed=0):
    return _init(name, np.random.default_rng(seed).uniform(-0.5, 0.5, shape).astype(np.float32))


def _body(nodes, outputs, inputs=(), inits=(), name="body"):
    return helper.make_graph(nodes, name, list(inputs), list(outputs), list(inits))


def _model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def _check(m, feeds_list, **convert_kw):
    """Convert once; for each feed dict, edgerun and LiteRT against onnxruntime. Returns the flatbuffer."""
    tfl = edgerun.convert(m, **convert_kw)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in m.graph.input]
    for feeds in feeds_list:
        ref = sess.run(None, feeds)
        ins = [feeds[n] for n in names]
        for who, got in (("edgerun", edgerun_run(tfl, ins)), ("LiteRT", litert_run(tfl, ins))):
            assert len(got) == len(ref)
            for j, (a, b) in enumerate(zip(got, ref)):
                assert a.shape == b.shape, f"{who} output {j}: shape {a.shape}, onnxruntime {b.shape}"
                if b.dtype.kind == "f":
                    scale = max(float(np.abs(b).max()), 1e-6)
                    err = float(np.abs(a.astype(np.float64) - b).max())
                    assert err <= 1e-3 * scale, f"{who} output {j}: max error {err} at scale {scale}"
                else:
                    assert a.dtype == b.dtype and np.array_equal(a, b), f"{who} output {j}: {a} != {b}"
    return tfl


def _subgraph_count(tfl):
    from edgerun.schema.schema_generated import Model

    return Model.GetRootAsModel(tfl, 0).SubgraphsLength()


# -- If ------------------------------------------------------------------------------------------------------
def _if_conv_model():
    """x [1, 3, 6, 6] -> Conv -> c (channels-last inside edgerun); If(mean(x) > 0): then Relu(c) + x-dependent
    bias, else a second Conv on c (in the branch) - both read outer values, c in its pending NHWC form."""
    x = _vi("x", F, [1, 3, 6, 6])
    then_g = _body([helper.make_node("Relu", ["c"], ["tr"]),
                    helper.make_node("ReduceMean", ["x"], ["xm"], axes=[1], keepdims=1),
                    helper.make_node("Add", ["tr", "xm"], ["t_out"])],
                   [_vi("t_out", F, [1, 4, 6, 6])], name="then")
    else_g = _body([helper.make_node("Conv", ["c", "w2"], ["e_out"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
                   [_vi("e_out", F, [1, 4, 6, 6])], inits=[_w("w2", 4, 4, 3, 3, seed=2)], name="else")
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("ReduceMean", ["x"], ["m"], keepdims=0),
             helper.make_node("Greater", ["m", "zero"], ["cond"]),
             helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Conv", ["y", "w3"], ["z"], kernel_shape=[1, 1])]
    inits = [_w("w1", 4, 3, 3, 3, seed=1), _w("b1", 4, seed=4), _w("w3", 2, 4, 1, 1, seed=3),
             _init("zero", np.float32(0))]
    return _model(nodes, [x], [_vi("z", F, [1, 2, 6, 6])], inits)


def test_if_on_a_run_time_condition_reading_a_conv_output():
    m = _if_conv_model()
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, 3, 6, 6)).astype(np.float32)
    pos, neg = np.abs(x) + 0.1, -np.abs(x) - 0.1  # both outcomes
    tfl = _check(m, [{"x": pos}, {"x": neg}])
    assert _subgraph_count(tfl) == 3
    # the Conv output enters the branches channels-last and the IF result leaves so: only the NCHW interface
    # transposes remain
    from edgerun.converter.api import convert_graph

    g = convert_graph(m)
    assert [op.type for op in g.ops].count("TRANSPOSE") == 2
    assert not any(op.type == "TRANSPOSE" for s in g.subgraphs for op in s.ops)


def test_if_with_a_dynamic_batch():
    """A symbolic batch: the IF's outputs and the branch tensors carry -1, resized to 2 at run time."""
    m = _if_conv_model()
    graphs = [m.graph] + [a.g for n in m.graph.node for a in n.attribute if a.HasField("g")]
    for vi in [m.graph.input[0]] + [o for g in graphs for o in g.output]:
        vi.type.tensor_type.shape.dim[0].dim_param = "N"
    x = np.random.default_rng(8).uniform(-1, 1, (2, 3, 6, 6)).astype(np.float32)
    tfl = _check(m, [{"x": np.abs(x)}, {"x": -np.abs(x)}])
    it = edgerun.Interpreter(model_content=tfl)
    assert list(it.get_input_details()[0]["shape_signature"]) == [-1, 3, 6, 6]


def test_nested_if_and_integer_outputs():
    """If inside If (the inner one reads the outer graph's input and the outer branch's value); int64 result
    exact."""
    x = _vi("x", F, [1, 5])
    k = _vi("k", I64, [1])
    inner_then = _body([helper.make_node("Mul", ["x", "two"], ["it"])], [_vi("it", F, [1, 5])], name="ithen")
    inner_else = _body([helper.make_node("Sub", ["x", "ta"], ["ie"])], [_vi("ie", F, [1, 5])], name="ielse")
    outer_then = _body([helper.make_node("Abs", ["x"], ["ta"]),
                        helper.make_node("Greater", ["k", "three"], ["c2"]),
                        helper.make_node("If", ["c2"], ["ti"], then_branch=inner_then, else_branch=inner_else),
                        helper.make_node("Add", ["k", "k"], ["tk"])],
                       [_vi("ti", F, [1, 5]), _vi("tk", I64, [1])], name="othen")
    outer_else = _body([helper.make_node("Tanh", ["x"], ["ee"]), helper.make_node("Add", ["k", "three"], ["ek"])],
                       [_vi("ee", F, [1, 5]), _vi("ek", I64, [1])], name="oelse")
    nodes = [helper.make_node("Greater", ["k", "zero"], ["c1"]),
             helper.make_node("If", ["c1"], ["y", "yk"], then_branch=outer_then, else_branch=outer_else)]
    inits = [_init("zero", np.array([0], np.int64)), _init("three", np.array([3], np.int64)),
             _init("two", np.float32(2))]
    m = _model(nodes, [x, k], [_vi("y", F, [1, 5]), _vi("yk", I64, [1])], inits)
    xv = np.random.default_rng(1).uniform(-1, 1, (1, 5)).astype(np.float32)
    tfl = _check(m, [{"x": xv, "k": np.array([kv], np.int64)} for kv in (5, 2, -4)])
    assert _subgraph_count(tfl) == 5


def test_vad_like_if_on_an_input_flag():
    """A voice-activity-detector-like step: a flag input chooses between a small conv path and a GRU-ish
    recurrent update of a state; both return (probability, new state)."""
    x = _vi("x", F, [1, 2, 16])
    h = _vi("h", F, [1, 8])
    flag = _vi("flag", B, [])
    conv_path = _body(
        [helper.make_node("Conv", ["x", "cw", "cb"], ["c1"], kernel_shape=[3], strides=[2], pads=[1, 1]),
         helper.make_node("Relu", ["c1"], ["c2"]),
         helper.make_node("ReduceMean", ["c2"], ["c3"], axes=[2], keepdims=0),
         helper.make_node("Add", ["c3", "h"], ["a_h"]),
         helper.make_node("MatMul", ["a_h", "ow"], ["a_o"]),
         helper.make_node("Sigmoid", ["a_o"], ["a_p"])],
        [_vi("a_p", F, [1, 1]), _vi("a_h", F, [1, 8])],
        inits=[_w("cw", 8, 2, 3, seed=5), _w("cb", 8, seed=6)], name="conv_path")
    gru_path = _body(
        [helper.make_node("ReduceMean", ["x"], ["g0"], axes=[1], keepdims=0),
         helper.make_node("MatMul", ["g0", "gx"], ["g1"]),
         helper.make_node("MatMul", ["h", "gh"], ["g2"]),
         helper.make_node("Add", ["g1", "g2"], ["g3"]),
         helper.make_node("Sigmoid", ["g3"], ["z"]),
         helper.make_node("Tanh", ["g3"], ["n"]),
         helper.make_node("Sub", ["h", "n"], ["d"]),
         helper.make_node("Mul", ["z", "d"], ["zd"]),
         helper.make_node("Add", ["n", "zd"], ["b_h"]),
         helper.make_node("MatMul", ["b_h", "ow"], ["b_o"]),
         helper.make_node("Sigmoid", ["b_o"], ["b_p"])],
        [_vi("b_p", F, [1, 1]), _vi("b_h", F, [1, 8])],
        inits=[_w("gx", 16, 8, seed=7), _w("gh", 8, 8, seed=8)], name="gru_path")
    nodes = [helper.make_node("If", ["flag"], ["p", "hn"], then_branch=conv_path, else_branch=gru_path)]
    m = _model(nodes, [x, h, flag], [_vi("p", F, [1, 1]), _vi("hn", F, [1, 8])], [_w("ow", 8, 1, seed=9)])
    rng = np.random.default_rng(2)
    xv = rng.uniform(-1, 1, (1, 2, 16)).astype(np.float32)
    hv = rng.uniform(-1, 1, (1, 8)).astype(np.float32)
    _check(m, [{"x": xv, "h": hv, "flag": np.array(f)} for f in (True, False)])


@pytest.mark.parametrize("op", ["GRU", "LSTM"])
def test_recurrent_op_inside_a_branch(op):
    """A streaming step: the flag runs the recurrent op over 5 frames from the carried state h0, or skips."""
    hid, ng = 4, {"GRU": 3, "LSTM": 4}[op]
    lstm = op == "LSTM"
    rnn = _body([helper.make_node(op, ["x", "W", "R", "Bb", "", "h0"] + (["c0"] if lstm else []),
                                  ["Y", "Yh"] + (["Yc"] if lstm else []), hidden_size=hid)],
                [_vi("Yh", F, [1, 1, hid])], name="rnn",
                inits=[_w("W", 1, ng * hid, 3, seed=1), _w("R", 1, ng * hid, hid, seed=2),
                       _w("Bb", 1, 2 * ng * hid, seed=3)] + ([_init("c0", np.zeros((1, 1, hid), np.float32))]
                                                             if lstm else []))
    skip = _body([helper.make_node("Tanh", ["h0"], ["ht"])], [_vi("ht", F, [1, 1, hid])], name="skip")
    nodes = [helper.make_node("If", ["flag"], ["h"], then_branch=rnn, else_branch=skip)]
    m = _model(nodes, [_vi("x", F, [5, 1, 3]), _vi("h0", F, [1, 1, hid]), _vi("flag", B, [])],
               [_vi("h", F, [1, 1, hid])])
    rng = np.random.default_rng(10)
    x, h0 = rng.uniform(-1, 1, (5, 1, 3)).astype(np.float32), rng.uniform(-1, 1, (1, 1, hid)).astype(np.float32)
    _check(m, [{"x": x, "h0": h0, "flag": np.array(f)} for f in (True, False)])


def test_if_refusals_name_the_node():
    x = _vi("x", F, [1, 4])
    then_g = _body([helper.make_node("Relu", ["x"], ["t"])], [_vi("t", F, [1, 4])], name="then")
    else_g = _body([helper.make_node("ReduceSum", ["x"], ["e"], keepdims=0)], [_vi("e", F, [])], name="else")
    nodes = [helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
             helper.make_node("Greater", ["s", "zero"], ["c"]),
             helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g, name="pick")]
    g = helper.make_graph(nodes, "g", [x], [_vi("y", F, None)], [_init("zero", np.float32(0))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ConversionError, match=r"node 'pick' \(If\).*rank 2 in the then branch and 0"):
        edgerun.convert(m)
    # an error inside a branch names the node, the branch and the way out
    else_g = _body([helper.make_node("Det", ["x"], ["e"])], [_vi("e", F, [])], name="else")
    nodes[-1] = helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g, name="pick")
    g = helper.make_graph(nodes, "g", [x], [_vi("y", F, None)], [_init("zero", np.float32(0))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ConversionError, match=r"\(Det\): operator Det is not supported \[in the else branch of If "
                                              r"'pick'.*constant_inputs"):
        edgerun.convert(m)


# -- Loop ----------------------------------------------------------------------------------------------------
def _counter_loop(scan: bool, m_input: bool = False, no_m: bool = False):
    """acc = x; repeat at most M times: acc = acc * 0.9 + x * i; count += 1; continue while sum(acc) < limit
    (without scan) - or, with scan, a fixed M = 4 and the per-iteration acc stacked."""
    body_nodes = [helper.make_node("Cast", ["i"], ["fi"], to=F),
                  helper.make_node("Mul", ["x", "fi"], ["xi"]),
                  helper.make_node("Mul", ["acc_in", "decay"], ["ad"]),
                  helper.make_node("Add", ["ad", "xi"], ["acc_out"]),
                  helper.make_node("Add", ["cnt_in", "one"], ["cnt_out"])]
    outs = [_vi("c_out", B, []), _vi("acc_out", F, [1, 3]), _vi("cnt_out", I64, [1])]
    if scan:
        body_nodes.append(helper.make_node("Identity", ["c_in"], ["c_out"]))
        body_nodes.append(helper.make_node("Relu", ["acc_out"], ["sc"]))
        outs.append(_vi("sc", F, [1, 3]))
    else:
        body_nodes += [helper.make_node("ReduceSum", ["acc_out"], ["s"], keepdims=0),
                       helper.make_node("Less", ["s", "limit"], ["c_out"])]
    body = _body(body_nodes, outs, inputs=[_vi("i", I64, []), _vi("c_in", B, []), _vi("acc_in", F, [1, 3]),
                                           _vi("cnt_in", I64, [1])])
    node_outs = ["acc", "cnt"] + (["stack"] if scan else [])
    inputs = [_vi("x", F, [1, 3])] + ([_vi("M", I64, [])] if m_input else [])
    m_name = "" if no_m else "M" if m_input else "trips"
    nodes = [helper.make_node("Loop", [m_name, "" if scan else "go", "x", "cnt0"],
                              node_outs, body=body, name="loop")]
    inits = [_init("decay", np.float32(0.9)), _init("one", np.array([1], np.int64)),
             _init("limit", np.float32(6.0)), _init("cnt0", np.array([0], np.int64)),
             _init("go", np.array(True))] + ([] if m_input else [_init("trips", np.array(4 if scan else 50,
                                                                                         np.int64))])
    outputs = [_vi("acc", F, [1, 3]), _vi("cnt", I64, [1])] + ([_vi("stack", F, [4, 1, 3])] if scan else [])
    return _model(nodes, inputs, outputs, inits)


def test_loop_with_trip_count_and_carried_condition():
    m = _counter_loop(scan=False)
    rng = np.random.default_rng(3)
    # the condition ends the loop after a few iterations (positive x) or the trip count does (negative x)
    feeds = [{"x": np.abs(rng.uniform(0.2, 1, (1, 3))).astype(np.float32)},
             {"x": -np.abs(rng.uniform(0.2, 1, (1, 3))).astype(np.float32)}]
    _check(m, feeds)
    _check(_counter_loop(scan=False, no_m=True), feeds[:1])  # no trip count: a while loop


def test_loop_with_run_time_trip_count():
    m = _counter_loop(scan=False, m_input=True)
    x = -np.abs(np.random.default_rng(4).uniform(0.2, 1, (1, 3))).astype(np.float32)
    _check(m, [{"x": x, "M": np.array(n, np.int64)} for n in (0, 1, 7)])


def test_loop_with_scan_output():
    m = _counter_loop(scan=True)
    x = np.random.default_rng(5).uniform(-1, 1, (1, 3)).astype(np.float32)
    _check(m, [{"x": x}])


def _if_in_loop_model():
    """Loop body holding an If (Mul or Sub by the outer x): the If reads a body input (acc) and the outer graph's x
    through two levels of subgraphs."""
    then_g = _body([helper.make_node("Mul", ["acc_in", "x"], ["t"])], [_vi("t", F, [1, 3])], name="then")
    else_g = _body([helper.make_node("Sub", ["acc_in", "x"], ["e"])], [_vi("e", F, [1, 3])], name="else")
    body = _body([helper.make_node("Less", ["i", "two"], ["early"]),
                  helper.make_node("If", ["early"], ["acc_out"], then_branch=then_g, else_branch=else_g),
                  helper.make_node("Identity", ["c_in"], ["c_out"])],
                 [_vi("c_out", B, []), _vi("acc_out", F, [1, 3])],
                 inputs=[_vi("i", I64, []), _vi("c_in", B, []), _vi("acc_in", F, [1, 3])])
    nodes = [helper.make_node("Loop", ["trips", "", "acc0"], ["acc"], body=body)]
    inits = [_init("trips", np.array(5, np.int64)), _init("two", np.array(2, np.int64)),
             _init("acc0", np.ones((1, 3), np.float32))]
    return _model(nodes, [_vi("x", F, [1, 3])], [_vi("acc", F, [1, 3])], inits)


def test_if_inside_a_loop_body():
    m = _if_in_loop_model()
    x = np.random.default_rng(7).uniform(-2, 2, (1, 3)).astype(np.float32)
    tfl = _check(m, [{"x": x}])
    assert _subgraph_count(tfl) == 5


def test_nested_loop_gathering_row_i_and_if_passing_an_outer_value():
    """acc += tab[i] (Gather by the 0-d iteration number), then an inner Loop halves acc twice; an If returns
    the outer tab itself (Identity) or its negation."""
    inner = _body([helper.make_node("Mul", ["a_in", "half"], ["a_out"]), helper.make_node("Identity", ["ci"], ["co"])],
                  [_vi("co", B, []), _vi("a_out", F, [3])],
                  inputs=[_vi("j", I64, []), _vi("ci", B, []), _vi("a_in", F, [3])], name="inner")
    body = _body([helper.make_node("Gather", ["tab", "i"], ["row"], axis=0),
                  helper.make_node("Add", ["acc_in", "row"], ["s1"]),
                  helper.make_node("Loop", ["two", "", "s1"], ["acc_out"], body=inner),
                  helper.make_node("Identity", ["c_in"], ["c_out"])],
                 [_vi("c_out", B, []), _vi("acc_out", F, [3])],
                 inputs=[_vi("i", I64, []), _vi("c_in", B, []), _vi("acc_in", F, [3])])
    then_g = _body([helper.make_node("Identity", ["tab"], ["tt"])], [_vi("tt", F, [4, 3])], name="then")
    else_g = _body([helper.make_node("Neg", ["tab"], ["nt"])], [_vi("nt", F, [4, 3])], name="else")
    nodes = [helper.make_node("Relu", ["x"], ["tab"]),
             helper.make_node("Loop", ["four", "", "zero3"], ["acc"], body=body),
             helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
             helper.make_node("Greater", ["s", "z"], ["c"]),
             helper.make_node("If", ["c"], ["sel"], then_branch=then_g, else_branch=else_g)]
    inits = [_init("four", np.array(4, np.int64)), _init("two", np.array(2, np.int64)),
             _init("half", np.float32(0.5)), _init("zero3", np.zeros(3, np.float32)), _init("z", np.float32(0))]
    m = _model(nodes, [_vi("x", F, [4, 3])], [_vi("acc", F, [3]), _vi("sel", F, [4, 3])], inits)
    x = np.random.default_rng(9).uniform(-1, 1, (4, 3)).astype(np.float32)
    _check(m, [{"x": np.abs(x)}, {"x": -np.abs(x)}])


def test_loop_scan_output_of_run_time_length_is_refused():
    m = _counter_loop(scan=True, m_input=True)
    with pytest.raises(ConversionError, match=r"node 'loop' \(Loop\).*trip count M known at conversion"):
        edgerun.convert(m)


# -- Scan ----------------------------------------------------------------------------------------------------
def test_scan_forward_and_reverse_axes():
    """Scan over x1 [5, 3] (axis 0, forward) and x2 [3, 5] (axis 1, reversed) with a state s [3]:
    s = 0.5 s + x1_t * x2_t; outputs tanh(s) stacked on axis 0 and s + mean(x1) (an outer run-time value)
    stacked on axis 1 in reverse."""
    body = _body([helper.make_node("Mul", ["s_in", "half"], ["sh"]),
                  helper.make_node("Mul", ["a_t", "b_t"], ["ab"]),
                  helper.make_node("Add", ["sh", "ab"], ["s_out"]),
                  helper.make_node("Tanh", ["s_out"], ["y1_t"]),
                  helper.make_node("Add", ["s_out", "mean"], ["y2_t"])],
                 [_vi("s_out", F, [3]), _vi("y1_t", F, [3]), _vi("y2_t", F, [3])],
                 inputs=[_vi("s_in", F, [3]), _vi("a_t", F, [3]), _vi("b_t", F, [3])],
                 inits=[_init("half", np.float32(0.5))])
    nodes = [helper.make_node("ReduceMean", ["x1"], ["mean"], axes=[0], keepdims=0),
             helper.make_node("Scan", ["s0", "x1", "x2"], ["s", "y1", "y2"], body=body, num_scan_inputs=2,
                              scan_input_axes=[0, 1], scan_input_directions=[0, 1], scan_output_axes=[0, 1],
                              scan_output_directions=[0, 1])]
    m = _model(nodes, [_vi("s0", F, [3]), _vi("x1", F, [5, 3]), _vi("x2", F, [3, 5])],
               [_vi("s", F, [3]), _vi("y1", F, [5, 3]), _vi("y2", F, [3, 5])])
    rng = np.random.default_rng(6)
    _check(m, [{"s0": rng.uniform(-1, 1, 3).astype(np.float32), "x1": rng.uniform(-1, 1, (5, 3)).astype(np.float32),
                "x2": rng.uniform(-1, 1, (3, 5)).astype(np.float32)}])


def test_loop_variable_changing_shape_is_refused():
    """A decoder-style loop appending to a carried value: TFLite's WHILE keeps loop variable shapes."""
    body = _body([helper.make_node("Concat", ["seq_in", "x"], ["seq_out"], axis=1),
                  helper.make_node("Identity", ["c_in"], ["c_out"])],
                 [_vi("c_out", B, []), _vi("seq_out", F, [1, None])],
                 inputs=[_vi("i", I64, []), _vi("c_in", B, []), _vi("seq_in", F, [1, None])])
    nodes = [helper.make_node("Loop", ["trips", "", "x"], ["seq"], body=body, name="grow")]
    m = _model(nodes, [_vi("x", F, [1, 2])], [_vi("seq", F, [1, None])], [_init("trips", np.array(3, np.int64))])
    with pytest.raises(ConversionError, match=r"node 'grow' \(Loop\).*changes from float32 \(1, 2\) to float32 "
                                              r"\(1, 4\).*fixed type and shape"):
        edgerun.convert(m)


# -- a real model --------------------------------------------------------------------------------------------
def _silero_model(name):
    """A model file shipped in the silero-vad wheel (tests/packaged_models.py: the pinned wheel, read with
    zipfile; `make test-models` fetches it), or a skip."""
    from packaged_models import wheel_member

    return onnx.load_from_string(wheel_member("silero-vad", "silero_vad/data/" + name))


def test_silero_vad_with_a_run_time_sample_rate():
    """Silero VAD v6: a top-level If on sr == 16000 (8 kHz and 16 kHz networks with STFT conv, encoder and
    LSTM decoder, nested shape Ifs that fold); sr left a run-time input -> a TFLite IF of both networks.
    Both rates in edgerun and LiteRT against onnxruntime."""
    m = _silero_model("silero_vad.onnx")
    rng = np.random.default_rng(11)
    x = (rng.normal(size=(1, 256)) * 0.1).astype(np.float32)
    st = (rng.normal(size=(2, 1, 128)) * 0.1).astype(np.float32)
    tfl = _check(m, [{"input": x, "state": st, "sr": np.array(sr, np.int64)} for sr in (16000, 8000)],
                 input_shapes={"input": (1, 256), "state": (2, 1, 128)})
    assert _subgraph_count(tfl) == 3


# -- from PyTorch --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_torch_cond_and_while_loop():
    """torch.cond -> ONNX If -> TFLite IF and torch's while_loop -> ONNX Loop -> WHILE (torch.onnx.export,
    dynamo), edgerun and LiteRT against PyTorch within 1e-4 of the output scale."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    from torch._higher_order_ops.while_loop import while_loop

    class Pick(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Conv1d(2, 4, 3, padding=1), torch.nn.Conv1d(2, 4, 5, padding=2)

        def forward(self, x):
            return torch.cond(x.sum() > 0, lambda x: torch.relu(self.a(x)), lambda x: torch.tanh(self.b(x)), (x,))

    class Steps(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 4)

        def forward(self, x):
            return while_loop(lambda i, h: i < 5, lambda i, h: (i + 1, torch.tanh(self.lin(h))),
                              (torch.tensor(0), x))[1]

    torch.manual_seed(0)
    for module, x in ((Pick(), torch.randn(1, 2, 16)), (Steps(), torch.randn(1, 4))):
        module.eval()
        model = torch.onnx.export(module, (x,), dynamo=True, verbose=False).model_proto
        tfl = edgerun.convert(model)
        for xx in ((x.abs(), -x.abs()) if isinstance(module, Pick) else (x,)):
            want = module(xx).detach().numpy()
            for who, got in (("edgerun", edgerun_run(tfl, [xx.numpy()])[0]),
                             ("LiteRT", litert_run(tfl, [xx.numpy()])[0])):
                err = float(np.abs(got - want).max())
                assert err <= 1e-4 * float(np.abs(want).max()), f"{type(module).__name__} {who}: {err}"
