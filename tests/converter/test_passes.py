"""Graph passes on small hand-built IR graphs. Each rewritten graph must compute what the original computes:
both are exported and run in LiteRT on the same inputs (and the rewritten one in edgerun too); the
structure is checked (folded BN leaves one conv, activations become fusedActivationFunction, no TRANSPOSE
pairs are left) and the input graph is left untouched."""
import numpy as np
import pytest
from edgerun.converter import passes
from edgerun.converter.export import export
from edgerun.converter.ir import NONE, RELU, RELU6, RELU_N1_TO_1, SAME, TANH, VALID, Graph
from oracle import edgerun_run, litert_run

RNG = np.random.default_rng(0)


def rand(*shape, low=-1.0, high=1.0):
    return RNG.uniform(low, high, shape).astype(np.float32)


def same_outputs(before: Graph, after: Graph, rtol=1e-5):
    """LiteRT on the original == LiteRT on the rewritten == edgerun on the rewritten."""
    inputs = [rand(*t.shape, low=-3, high=3) for t in before.inputs]
    ref = litert_run(export(before), inputs)
    data = export(after)
    for name, got in (("LiteRT", litert_run(data, inputs)), ("edgerun", edgerun_run(data, inputs))):
        for a, b in zip(got, ref):
            assert a.shape == b.shape
            err = float(np.max(np.abs(a - b)))
            assert err <= rtol * max(float(np.max(np.abs(b))), 1e-6), f"{name}: max|diff| {err:.3g}"


def types(g):
    return [op.type for op in g.ops]


def conv_graph(kind="CONV_2D"):
    g = Graph()
    x = g.input("x", (1, 6, 6, 4))
    if kind == "CONV_2D":
        w = g.const("w", rand(5, 3, 3, 4))
        y = g.op("CONV_2D", [x, w, g.const("b", rand(5))], [g.tensor("conv", (1, 6, 6, 5))],
                 {"padding": SAME, "strideH": 1, "strideW": 1})[0]
    elif kind == "DEPTHWISE_CONV_2D":
        w = g.const("w", rand(1, 3, 3, 8))
        y = g.op("DEPTHWISE_CONV_2D", [x, w, g.const("b", rand(8))], [g.tensor("dw", (1, 4, 4, 8))],
                 {"padding": VALID, "strideH": 1, "strideW": 1, "depthMultiplier": 2})[0]
    elif kind == "FULLY_CONNECTED":
        w = g.const("w", rand(7, 4))
        y = g.op("FULLY_CONNECTED", [x, w, None], [g.tensor("fc", (1, 6, 6, 7))], {"keepNumDims": True})[0]
    elif kind == "TRANSPOSE_CONV":
        w = g.const("w", rand(3, 3, 3, 4))
        shape = g.const("shape", np.array([1, 12, 12, 3], np.int32))
        y = g.op("TRANSPOSE_CONV", [shape, w, x, g.const("b", rand(3))], [g.tensor("tconv", (1, 12, 12, 3))],
                 {"padding": SAME, "strideH": 2, "strideW": 2})[0]
    return g, y


@pytest.mark.parametrize("kind", ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"])
def test_fold_batchnorm(kind):
    g, y = conv_graph(kind)
    n = y.shape[-1]
    m = g.op("MUL", [y, g.const("scale", rand(n, low=0.5, high=1.5))], [g.tensor("bn_mul", y.shape)])[0]
    a = g.op("ADD", [m, g.const("offset", rand(n))], [g.tensor("bn_add", y.shape)],
             {"fusedActivationFunction": RELU6})[0]
    g.outputs.append(a)
    before = types(g)
    out = passes.fold_batchnorm(g)
    assert types(out) == [kind]
    assert out.ops[0].options["fusedActivationFunction"] == RELU6 and out.outputs[0] is a
    assert types(g) == before and g.ops[0].options.get("fusedActivationFunction", NONE) == NONE  # pure
    same_outputs(g, out)


def test_fold_batchnorm_scalar_and_sub_without_bias():
    g, y = conv_graph("FULLY_CONNECTED")  # no bias: the fold creates one
    m = g.op("MUL", [g.const("s", np.array([1.7], np.float32)), y], [g.tensor("m", y.shape)])[0]
    s = g.op("SUB", [m, g.const("o", rand(7))], [g.tensor("s", y.shape)])[0]
    g.outputs.append(s)
    out = passes.fold_batchnorm(g)
    assert types(out) == ["FULLY_CONNECTED"] and out.ops[0].inputs[2] is not None
    same_outputs(g, out)


def test_fold_batchnorm_leaves_what_it_cannot_fold():
    # conv output read twice; a spatially varying MUL; a conv with a fused activation already
    g, y = conv_graph()
    m1 = g.op("MUL", [y, g.const("s", rand(5))], [g.tensor("m1", y.shape)])[0]
    g.outputs += [m1, y]
    assert types(passes.fold_batchnorm(g)) == ["CONV_2D", "MUL"]
    g, y = conv_graph()
    m = g.op("MUL", [y, g.const("s", rand(6, 6, 5))], [g.tensor("m", y.shape)])[0]
    g.outputs.append(m)
    assert types(passes.fold_batchnorm(g)) == ["CONV_2D", "MUL"]
    g, y = conv_graph()
    g.ops[0].options["fusedActivationFunction"] = RELU
    m = g.op("MUL", [y, g.const("s", rand(5))], [g.tensor("m", y.shape)])[0]
    g.outputs.append(m)
    out = passes.fold_batchnorm(g)
    assert types(out) == ["CONV_2D", "MUL"]
    same_outputs(g, out)


def test_remove_identities_with_a_dynamic_batch():
    """x + 0 and x * 1 on a tensor whose batch is dynamic (-1) are removed (the check crashed on -1)."""
    g = Graph()
    x = g.input("x", (-1, 4))
    a = g.op("ADD", [x, g.const("zero", np.zeros((1, 4), np.float32))], [g.tensor("a", (-1, 4))])[0]
    r = g.op("RELU", [a], [g.tensor("r", (-1, 4))])[0]
    g.outputs.append(g.op("MUL", [r, g.const("one", np.ones(4, np.float32))], [g.tensor("m", (-1, 4))])[0])
    assert types(passes.remove_identities(g)) == ["RELU"]


def test_fold_batchnorm_with_a_dynamic_batch():
    """A batch left dynamic (-1 in the IR shapes, input_shapes={'x': (-1, ...)}) folds like a fixed one
    (it used to crash in np.broadcast_shapes)."""
    g = Graph()
    x = g.input("x", (-1, 6, 6, 4))
    w, b, s = rand(5, 3, 3, 4), rand(5), rand(5, low=0.5, high=1.5)
    y = g.op("CONV_2D", [x, g.const("w", w), g.const("b", b)], [g.tensor("conv", (-1, 6, 6, 5))],
             {"padding": SAME, "strideH": 1, "strideW": 1})[0]
    g.outputs.append(g.op("MUL", [y, g.const("s", s)], [g.tensor("m", (-1, 6, 6, 5))])[0])
    out = passes.fold_batchnorm(g)
    assert types(out) == ["CONV_2D"]
    np.testing.assert_allclose(out.ops[0].inputs[1].data, w * s[:, None, None, None], rtol=1e-6)
    np.testing.assert_allclose(out.ops[0].inputs[2].data, b * s, rtol=1e-6)


@pytest.mark.parametrize("producer", ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL"])
@pytest.mark.parametrize("act", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_fuse_activation(producer, act):
    if producer in ("ADD", "SUB", "MUL"):
        g = Graph()
        x, z = g.input("x", (1, 4, 4, 3)), g.input("z", (1, 4, 4, 3))
        y = g.op(producer, [x, z], [g.tensor("y", x.shape)], {"fusedActivationFunction": NONE})[0]
    else:
        g, y = conv_graph(producer)
    r = g.op(act, [y], [g.tensor("act", y.shape)])[0]
    g.outputs.append(r)
    out = passes.fuse_activations(g)
    assert types(out) == [producer]
    assert out.ops[0].options["fusedActivationFunction"] == {"RELU": RELU, "RELU6": RELU6,
                                                              "RELU_N1_TO_1": RELU_N1_TO_1}[act]
    assert out.outputs[0] is r
    same_outputs(g, out)


def test_fuse_activation_refusals():
    # TANH: TFLite float kernels do not apply a fused TANH; CONCATENATION rejects any fused activation;
    # an intermediate that is also a graph output must stay visible
    g = Graph()
    x = g.input("x", (1, 4))
    y = g.op("ADD", [x, x], [g.tensor("y", (1, 4))])[0]
    t = g.op("TANH", [y], [g.tensor("t", (1, 4))])[0]
    c = g.op("CONCATENATION", [t, x], [g.tensor("c", (1, 8))], {"axis": 1})[0]
    r = g.op("RELU", [c], [g.tensor("r", (1, 8))])[0]
    g.outputs.append(r)
    assert types(passes.fuse_activations(g)) == ["ADD", "TANH", "CONCATENATION", "RELU"]
    g2 = Graph()
    x = g2.input("x", (1, 4))
    y = g2.op("ADD", [x, x], [g2.tensor("y", (1, 4))])[0]
    r = g2.op("RELU", [y], [g2.tensor("r", (1, 4))])[0]
    g2.outputs += [y, r]
    assert types(passes.fuse_activations(g2)) == ["ADD", "RELU"]
    assert TANH not in [op.options.get("fusedActivationFunction") for op in passes.run_passes(g).ops]


def transpose(g, x, perm, name):
    shape = tuple(x.shape[p] for p in perm)
    return g.op("TRANSPOSE", [x, g.const(name + "/perm", np.array(perm, np.int32))], [g.tensor(name, shape)])[0]


def test_cancel_transpose_pairs():
    g = Graph()
    x = g.input("x", (1, 3, 4, 5))
    a = transpose(g, x, [0, 2, 3, 1], "nchw_to_nhwc")  # (1, 4, 5, 3)
    r = g.op("RELU", [a], [g.tensor("relu", a.shape)])[0]
    b = transpose(g, r, [0, 3, 1, 2], "back")           # (1, 3, 4, 5)
    c = transpose(g, b, [0, 2, 3, 1], "again")          # (1, 4, 5, 3): cancels with `back`
    d = transpose(g, c, [0, 3, 1, 2], "and_back")
    e = transpose(g, d, [0, 1, 3, 2], "swap")            # composes with and_back into one
    g.outputs += [g.op("ADD", [e, e], [g.tensor("out", e.shape)])[0]]
    out = passes.run_passes(g)
    t = types(out)
    assert t.count("TRANSPOSE") == 2, t  # x -> relu needs one, relu -> out one composed
    for op, nxt in zip(out.ops, out.ops[1:]):
        assert not (op.type == nxt.type == "TRANSPOSE" and nxt.inputs[0] is op.outputs[0])
    same_outputs(g, out)


def test_transpose_pair_to_output_is_removed():
    g = Graph()
    x = g.input("x", (1, 2, 3))
    y = g.op("RELU", [x], [g.tensor("y", x.shape)])[0]
    a = transpose(g, y, [0, 2, 1], "a")
    b = transpose(g, a, [0, 2, 1], "out")
    g.outputs.append(b)
    out = passes.run_passes(g)
    assert types(out) == ["RELU"] and out.outputs[0].name == "out"
    same_outputs(g, out)


def test_collapse_reshapes_and_identities():
    g = Graph()
    x = g.input("x", (1, 4, 6))

    def reshape(t, shape, name):
        return g.op("RESHAPE", [t, g.const(name + "/shape", np.array(shape, np.int32))],
                    [g.tensor(name, shape)], {"newShape": list(shape)})[0]

    a = reshape(x, (1, 24), "a")
    b = reshape(a, (1, 2, 12), "b")
    c = reshape(b, (2, 12), "c")
    one = g.op("MUL", [c, g.const("one", np.ones((12,), np.float32))], [g.tensor("times_one", (2, 12))])[0]
    same = reshape(one, (2, 12), "same")
    g.outputs.append(g.op("LOGISTIC", [same], [g.tensor("out", (2, 12))])[0])
    out = passes.run_passes(g)
    assert types(out) == ["RESHAPE", "LOGISTIC"], types(out)
    same_outputs(g, out)


def test_fold_constants_and_dead_code():
    g = Graph()
    x = g.input("x", (1, 3))
    c1, c2 = g.const("c1", rand(3)), g.const("c2", rand(3))
    s = g.op("ADD", [c1, c2], [g.tensor("s", (3,))])[0]
    e = g.op("EXP", [s], [g.tensor("e", (3,))])[0]
    r = g.op("RESHAPE", [e, g.const("shp", np.array([1, 3], np.int32))], [g.tensor("r", (1, 3))],
             {"newShape": [1, 3]})[0]
    y = g.op("MUL", [x, r], [g.tensor("y", (1, 3))])[0]
    g.op("LOGISTIC", [x], [g.tensor("unused", (1, 3))])
    g.outputs.append(y)
    out = passes.eliminate_dead(passes.fold_constants(g))
    assert types(out) == ["MUL"]
    np.testing.assert_allclose(out.ops[0].inputs[1].data, np.exp(c1.data + c2.data).reshape(1, 3), rtol=1e-6)
    same_outputs(g, out)


def test_dedup_constants():
    g = Graph()
    x = g.input("x", (1, 4))
    w = rand(4, 4)
    y = g.op("FULLY_CONNECTED", [x, g.const("w1", w), None], [g.tensor("y", (1, 4))])[0]
    z = g.op("FULLY_CONNECTED", [y, g.const("w2", w.copy()), None], [g.tensor("z", (1, 4))])[0]
    g.outputs.append(z)
    out = passes.dedup_constants(g)
    assert out.ops[0].inputs[1] is out.ops[1].inputs[1]
    assert g.ops[0].inputs[1] is not g.ops[1].inputs[1]
    same_outputs(g, out)
