"""FAKE_QUANT on tensors that are not float32 (runtime/ops/random.py, kernels/ref/random.c), against LiteRT's
builtin kernel, which does not check the type and reads and writes every element as 4 bytes of float32.
INT32 is well defined that way (each element's bits are a float32 in and out): edgerun computes it, bit for bit
as LiteRT. The other types LiteRT accepts (float16, int8, uint8, int16, int64, bool) read and write past the
tensors or leave half the output unwritten: edgerun refuses them, and the op table says why
(schema/ops.py LITERT_UNDEFINED)."""
import json
import pathlib

import numpy as np
import pytest
from edgerun.errors import UnsupportedOpError
from edgerun.schema.builder import ModelBuilder
from edgerun.schema.ops import LITERT_UNDEFINED, op_def
from oracle import edgerun_run, litert_run

OPTIONS = {"min": -1.3, "max": 2.1, "numBits": 7}


def fake_quant_model(dtype, n):
    b = ModelBuilder()
    x, y = b.tensor("x", (n,), dtype), b.tensor("y", (n,), dtype)
    b.op("FAKE_QUANT", [x], [y], OPTIONS)
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def test_int32_is_float32_bits_as_litert():
    """Every kind of bit pattern: floats in and around the range, NaNs, infinities, subnormals, signed zeros,
    and random words. Equal to LiteRT and to the float32 op on the same bits."""
    rng = np.random.default_rng(0)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 2.1, -1.3, 0.5, 3e38], np.float32)
    x = np.concatenate([special.view(np.int32), rng.uniform(-3, 3, 200).astype(np.float32).view(np.int32),
                        rng.integers(-2 ** 31, 2 ** 31, 300, dtype=np.int64).astype(np.int32)])
    ours = edgerun_run(fake_quant_model(np.int32, x.size), [x])[0]
    assert ours.dtype == np.int32
    assert np.array_equal(ours, litert_run(fake_quant_model(np.int32, x.size), [x])[0])
    as_float = edgerun_run(fake_quant_model(np.float32, x.size), [x.view(np.float32)])[0]
    assert np.array_equal(ours, as_float.view(np.int32))


def test_litert_reads_other_types_as_float32():
    """The claim of the op table, on int16: LiteRT's output bytes are the float32 results of the input's bytes
    read as float32 (the first half of the values, the part inside both tensors)."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 3, 8).astype(np.float32).view(np.int16)  # 16 int16 values: 8 floats' bytes
    theirs = litert_run(fake_quant_model(np.int16, x.size), [x])[0]
    expect = edgerun_run(fake_quant_model(np.float32, 8), [x.view(np.float32)])[0]
    assert theirs.tobytes() == expect.tobytes()


@pytest.mark.parametrize("dtype", LITERT_UNDEFINED["FAKE_QUANT"][0].split())
def test_undefined_types_refused(dtype):
    with pytest.raises(UnsupportedOpError, match=f"FAKE_QUANT.*input 'x' is {dtype.upper()}; edgerun takes "
                                                 f"FLOAT32 \\(and INT32.*does not check the type"):
        edgerun_run(fake_quant_model(np.dtype(dtype), 4), [np.zeros(4, dtype)])


def test_undefined_pairs_are_litert_only():
    """Every pair listed as undefined is one LiteRT's probe accepted and edgerun does not run."""
    probed = json.loads((pathlib.Path(__file__).parents[2] / "schema" / "litert_ops.json").read_text())["ops"]
    for op, (types, why) in LITERT_UNDEFINED.items():
        for t in types.split():
            assert probed[op][t] == "ok" and t not in op_def(op).types, (op, t)
