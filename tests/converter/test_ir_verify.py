"""The IR verifier (converter/verify.py): well-formed graphs pass, each kind of broken graph is refused with a
ConversionError naming the op and tensor, and run_passes(verify=True) names the pass that broke a graph."""
import numpy as np
import pytest
from edgerun.converter import passes
from edgerun.converter.ir import Graph, Tensor
from edgerun.converter.verify import verify

from edgerun.errors import ConversionError


def small():
    """x -> ADD(x, c) -> RELU -> output; returns the graph and its tensors."""
    g = Graph()
    x = g.input("x", (1, 4))
    c = g.const("c", np.ones((1, 4), np.float32))
    a = g.op("ADD", [x, c], [g.tensor("a", (1, 4))], name="add0")[0]
    y = g.op("RELU", [a], [g.tensor("y", (1, 4))], name="relu0")[0]
    g.outputs.append(y)
    return g, x, c, a, y


def with_if(then_inputs=1, index=1):
    g = Graph()
    cond, x = g.input("cond", (1,), np.bool_), g.input("x", (1, 4))
    for k in range(2):
        sg = Graph(name=f"branch{k}")
        i = sg.input("i", (1, 4))
        for _ in range(then_inputs - 1 if k == 0 else 0):
            sg.input("extra", (1, 4))
        sg.outputs.append(sg.op("NEG" if k else "ABS", [i], [sg.tensor("o", (1, 4))])[0])
        g.subgraphs.append(sg)
    y = g.op("IF", [cond, x], [g.tensor("y", (1, 4))], {"thenSubgraphIndex": index, "elseSubgraphIndex": 2},
             name="if0")[0]
    g.outputs.append(y)
    return g


def test_well_formed_graphs_pass():
    verify(small()[0])
    verify(with_if())
    verify(Graph())


def test_reading_a_tensor_nobody_produces():
    g, *_ = small()
    g.ops[1].inputs = [Tensor("ghost", (1, 4))]
    with pytest.raises(ConversionError, match=r"op 1 RELU 'relu0' reads tensor 'ghost'.*neither a graph input"):
        verify(g)


def test_reading_before_the_write():
    g, *_ = small()
    g.ops.reverse()
    with pytest.raises(ConversionError, match=r"op 0 RELU 'relu0' reads tensor 'a'.*written by a later op"):
        verify(g)


def test_writes_to_constants_inputs_and_twice():
    g, _, c, _, _ = small()
    g.ops[1].outputs = [c]
    with pytest.raises(ConversionError, match=r"op 1 RELU 'relu0' writes the constant 'c'"):
        verify(g)
    g, x, _, _, _ = small()
    g.ops[1].outputs = [x]
    with pytest.raises(ConversionError, match=r"op 1 RELU 'relu0' writes the graph input 'x'"):
        verify(g)
    g, _, _, a, _ = small()
    g.ops[1].outputs = [a]
    with pytest.raises(ConversionError, match=r"op 1 RELU 'relu0' writes tensor 'a'.*already written by op 0 ADD"):
        verify(g)


def test_ids_shapes_dtypes_and_outputs():
    g, _, _, a, _ = small()
    g.ops[1].outputs = [Tensor("twin", (1, 4), id=a.id)]
    with pytest.raises(ConversionError, match=r"shares id"):
        verify(g)
    g, _, _, _, y = small()
    y.shape = None
    with pytest.raises(ConversionError, match=r"op 1 RELU 'relu0' output 0 'y' has no valid shape"):
        verify(g)
    g, _, _, a, _ = small()
    a.dtype = "float32"
    with pytest.raises(ConversionError, match=r"'a' has no dtype"):
        verify(g)
    g, _, c, _, _ = small()
    c.data = np.ones((4,), np.float32)
    with pytest.raises(ConversionError, match=r"op 0 ADD 'add0' input 1 'c': constant data of shape \(4,\) for "
                                              r"declared shape \(1, 4\)"):
        verify(g)
    g, *_ = small()
    g.outputs.append(Tensor("lost", (1,)))
    with pytest.raises(ConversionError, match=r"graph output 1 'lost'"):
        verify(g)


def test_subgraph_references():
    with pytest.raises(ConversionError, match=r"op 0 IF 'if0': thenSubgraphIndex=3 names no subgraph \(there are 2\)"):
        verify(with_if(index=3))
    with pytest.raises(ConversionError, match=r"op 0 IF 'if0': thenSubgraphIndex subgraph 'branch0' takes 2 inputs"):
        verify(with_if(then_inputs=2))
    g = with_if()
    g.subgraphs[1].ops[0].inputs = [Tensor("outer", (1, 4))]
    with pytest.raises(ConversionError, match=r"subgraph 2 \(branch1\).*op 0 NEG reads tensor 'outer'"):
        verify(g)


def test_run_passes_names_the_breaking_pass():
    def break_it(graph):
        g = graph.copy()
        g.ops[-1].inputs = [Tensor("dangling", (1, 4))]
        return g

    g, *_ = small()
    assert passes.VERIFY  # turned on for the converter tests by their conftest
    with pytest.raises(ConversionError, match=r"after break_it.*reads tensor 'dangling'"):
        passes.run_passes(g, [passes.remove_identities, break_it])
    g, *_ = small()
    passes.run_passes(g, [break_it], verify=False)  # off: the broken graph goes through
    out = passes.run_passes(small()[0], verify=True)
    assert [op.type for op in out.ops] == ["ADD"]  # RELU fused
