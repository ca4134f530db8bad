"""Our schema against the one LiteRT ships: enum values, union member order, table field ids, field
types and defaults must all be identical, and the committed generated module must be current."""

import inspect
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgerun.schema import schema_generated as ours

theirs = pytest.importorskip("ai_edge_litert.schema_py_generated")


def _enums(mod):
    """Enum and union classes: plain classes of int constants."""
    out = {}
    for name, cls in vars(mod).items():
        if inspect.isclass(cls) and "GetRootAs" not in vars(cls) and not name.endswith("T"):
            values = {k: v for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}
            if values:
                out[name] = values
    return out


_OFFSET = re.compile(r"self\._tab\.Offset\((\d+)\)")
_FLAGS = re.compile(r"number_types\.(\w+Flags)")


def _fields(cls):
    """Accessor name -> (vtable offset, scalar flag types read, default returned)."""
    out = {}
    for name, fn in vars(cls).items():
        if not callable(fn) or name in ("Init",):
            continue
        if any(name.endswith(s) and name[: -len(s)] in vars(cls) for s in ("AsNumpy", "Length", "IsNone")):
            continue
        src = inspect.getsource(fn)
        m = _OFFSET.search(src)
        if m:
            flags = sorted(set(_FLAGS.findall(src)) - {"UOffsetTFlags"})
            out[name] = (int(m.group(1)), flags, src.strip().splitlines()[-1].strip())
    return out


def _tables(mod):
    return {n: c for n, c in vars(mod).items() if inspect.isclass(c) and "GetRootAs" in vars(c)}


def test_enums_and_unions_identical():
    a, b = _enums(ours), _enums(theirs)
    assert sorted(a) == sorted(b)
    for name in b:
        assert a[name] == b[name], name


def test_union_member_order():
    for union in ("BuiltinOptions", "BuiltinOptions2", "QuantizationDetails", "SparseIndexVector"):
        order = lambda m: sorted((v, k) for k, v in vars(getattr(m, union)).items() if isinstance(v, int))
        assert order(ours) == order(theirs), union


def test_builtin_operator_codes_spot_values():
    op = ours.BuiltinOperator
    assert (op.ADD, op.CONV_2D, op.CUSTOM, op.BATCH_MATMUL, op.PLACEHOLDER_FOR_GREATER_OP_CODES, op.GELU) == (
        0, 3, 32, 126, 127, 150)
    assert ours.TensorType.INT8 == 9 and ours.TensorType.FLOAT16 == 1


def test_table_fields_identical():
    a, b = _tables(ours), _tables(theirs)
    assert sorted(a) == sorted(b)
    for name in b:
        assert _fields(a[name]) == _fields(b[name]), name


def test_object_api_defaults_identical():
    for name, cls in vars(theirs).items():
        if name.endswith("T") and inspect.isclass(cls) and hasattr(cls, "InitFromObj"):
            assert vars(getattr(ours, name)()) == vars(cls()), name


def test_file_identifier():
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (1,), np.float32)
    b.inputs([x])
    b.outputs([x])
    data = b.finish()
    assert data[4:8] == b"TFL3"
    assert ours.Model.ModelBufferHasIdentifier(data, 0)


@pytest.mark.skipif(shutil.which("flatc") is None, reason="flatc (test extra) not installed")
def test_generated_module_is_current():
    r = subprocess.run([sys.executable, "schema/generate.py", "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_builder_model_reads_back_in_litert():
    """A model written by our builder (through our generated code) is read by LiteRT with the same
    tensors, options and quantization, and computes the same thing."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (1, 5, 5, 2), np.int8, quant=(0.5, -3))
    w = b.const("w", np.arange(3 * 3 * 3 * 2, dtype=np.int8).reshape(3, 3, 3, 2) - 20,
                quant=([0.1, 0.2, 0.3], [0, 0, 0], 0))
    bias = b.const("bias", np.array([100, -200, 300], np.int32), quant=([0.05, 0.1, 0.15], [0, 0, 0], 0))
    y = b.tensor("y", (1, 3, 3, 3), np.int8, quant=(1.0, 2))
    b.op("CONV_2D", [x, w, bias], [y], {"padding": ours.Padding.VALID, "strideH": 1, "strideW": 1,
                                          "fusedActivationFunction": ours.ActivationFunctionType.RELU})
    b.inputs([x])
    b.outputs([y])
    b.signature("serving_default", {"inp": x}, {"out": y})
    interp = Interpreter(model_content=b.finish(),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    d = interp.get_tensor_details()
    assert [t["name"] for t in d][:4] == ["x", "w", "bias", "y"]  # LiteRT may append scratch tensors
    assert list(d[1]["quantization_parameters"]["scales"]) == pytest.approx([0.1, 0.2, 0.3])
    assert interp.get_signature_list() == {"serving_default": {"inputs": ["inp"], "outputs": ["out"]}}
    xv = np.arange(50, dtype=np.int8).reshape(1, 5, 5, 2) - 25
    interp.set_tensor(interp.get_input_details()[0]["index"], xv)
    interp.invoke()
    got = interp.get_tensor(interp.get_output_details()[0]["index"])
    # Float reference of the same conv, requantized: LiteRT's integer result is within 1 LSB of it.
    xf = (xv.astype(np.float64) + 3) * 0.5
    wf = (np.arange(54).reshape(3, 3, 3, 2) - 20) * np.array([0.1, 0.2, 0.3])[:, None, None, None]
    ref = np.zeros((3, 3, 3))
    for i in range(3):
        for j in range(3):
            ref[i, j] = np.einsum("hwc,ohwc->o", xf[0, i:i + 3, j:j + 3], wf)
    ref = np.maximum(ref + np.array([100, -200, 300]) * np.array([0.05, 0.1, 0.15]), 0)
    ref_q = np.clip(np.round(ref / 1.0) + 2, -128, 127)
    assert np.abs(got[0].astype(int) - ref_q).max() <= 1


def test_large_builtin_codes_use_both_fields():
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (2, 3), np.float32)
    y = b.tensor("y", (2, 3), np.float32)
    b.op("GELU", [x], [y], {"approximate": True})
    b.inputs([x])
    b.outputs([y])
    m = ours.Model.GetRootAs(b.finish(), 0)
    code = m.OperatorCodes(0)
    assert (code.BuiltinCode(), code.DeprecatedBuiltinCode()) == (150, 127)
