"""A float .tflite as a conversion source (converter/frontends/tflite.py): damaged files are refused with a
ConversionError naming the subgraph and what is wrong, never an IndexError or a silently wrong tensor."""
import numpy as np
import pytest

from edgerun.converter.frontends import tflite
from edgerun.errors import ConversionError
from edgerun.schema.builder import ModelBuilder


def _model():
    b = ModelBuilder()
    x, y = b.tensor("x", (1, 4), np.float32), b.tensor("y", (1, 4), np.float32)
    b.op("ADD", [x, b.const("c", np.arange(4, dtype=np.float32).reshape(1, 4))], [y])
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def _damaged(change):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "fuzz"))
    from mutators import pack, unpack

    m = unpack(_model())
    change(m)
    return pack(m)


def test_a_float_model_reads_back():
    g = tflite.load(_model())
    assert [op.type for op in g.ops] == ["ADD"] and g.inputs[0].name == "x"
    assert np.array_equal(g.ops[0].inputs[1].data, np.arange(4, dtype=np.float32).reshape(1, 4))


@pytest.mark.parametrize("change, match", [
    (lambda m: setattr(m.subgraphs[0], "inputs", np.array([-2], np.int32)), "an input names tensor -2"),
    (lambda m: setattr(m.subgraphs[0], "outputs", np.array([7], np.int32)), "an output names tensor 7"),
    (lambda m: setattr(m.subgraphs[0].operators[0], "outputs", np.array([-1], np.int32)), "op 0's output"),
    (lambda m: setattr(m.subgraphs[0].operators[0], "opcodeIndex", 5), "subgraph 0: IndexError"),
    (lambda m: setattr(m.buffers[m.subgraphs[0].tensors[2].buffer], "data", np.zeros(3, np.uint8)),
     "subgraph 0: ValueError"),
], ids=["negative input", "output past the tensors", "op output -1", "opcode index", "buffer size"])
def test_damaged_model_is_refused_by_name(change, match):
    with pytest.raises(ConversionError, match=f"malformed TFLite model: .*{match}"):
        tflite.load(_damaged(change))
