"""runtime/options.py reads op options without the generated flatbuffer module: every options class of the
schema reads as the generated object API reads it, the generated table is current, and loading a model no
longer imports schema_generated (260 ms, 41 MB)."""
import subprocess
import sys

import flatbuffers
import numpy as np
import pytest

from edgerun.runtime import options, options_table
from edgerun.schema import schema_generated as sg

CLASSES = [(False, t, name) for t, (name, _f) in options_table.OPTIONS1.items()] + \
          [(True, t, name) for t, (name, _f) in options_table.OPTIONS2.items()]


def test_table_is_current():
    with open(options_table.__file__) as f:
        assert f.read() == options.generate(), "stale: python -m edgerun.runtime.options --write"


def test_every_builtin_operator_has_its_name():
    for name, code in vars(sg.BuiltinOperator).items():
        if not name.startswith("_"):
            assert options.builtin_name(code) == name
    assert options.builtin_name(100000) == "BUILTIN_100000"


def _non_default(obj, kind, k):
    """A value for a field unlike its default, by the reader kind of its field."""
    if kind == "?":
        return True
    if kind in "fd":
        return 0.5 + k
    if len(kind) == 1:
        return 3 + k
    if kind == "str":
        return f"s{k}".encode()
    if kind == "[?":
        return [True, False, True]
    if kind[1] in "fd":
        return [1.5, -2.0, 3.25]
    return [1, 2, 3 + k]


@pytest.mark.parametrize("second,utype,name", CLASSES, ids=[c[2] for c in CLASSES])
@pytest.mark.parametrize("filled", [False, True], ids=["defaults", "set"])
def test_reads_as_the_object_api(second, utype, name, filled):
    cls = getattr(sg, name + "T")
    obj = cls()
    fields = (options_table.OPTIONS2 if second else options_table.OPTIONS1)[utype][1]
    if filled:
        for k, (attr, _slot, kind, _default) in enumerate(fields):
            setattr(obj, attr, _non_default(obj, kind, k))
    b = flatbuffers.Builder(64)
    b.Finish(obj.Pack(b))
    buf = bytes(b.Output())
    pos = int.from_bytes(buf[:4], "little")
    want = cls.InitFromBuf(buf, pos)
    got = options.read(buf, utype, pos, second)
    assert got._class == name
    assert set(vars(got)) == set(vars(want)), name
    for attr, value in vars(want).items():
        ours = getattr(got, attr)
        if isinstance(value, np.ndarray) or isinstance(ours, np.ndarray):
            assert isinstance(ours, np.ndarray) and ours.dtype == np.asarray(value).dtype, (name, attr)
            np.testing.assert_array_equal(ours, value, err_msg=f"{name}.{attr}")
        else:
            assert ours == value and type(ours) is type(value), (name, attr, ours, value)


def test_unknown_member_and_truncated_vector():
    assert options.read(b"\0" * 16, 250, 4) is None
    obj = sg.ReshapeOptionsT()
    obj.newShape = [1, 2, 3]
    b = flatbuffers.Builder(64)
    b.Finish(obj.Pack(b))
    buf = bytes(b.Output())
    pos = int.from_bytes(buf[:4], "little")
    utype = next(t for t, (n, _f) in options_table.OPTIONS1.items() if n == "ReshapeOptions")
    with pytest.raises(ValueError, match="ReshapeOptions.newShape"):
        options.read(buf[:-8], utype, pos)


def test_loading_does_not_import_the_generated_module(tmp_path):
    from oracle import tf_convert_function
    import tensorflow as tf

    model = tf_convert_function(lambda x: tf.nn.relu(tf.reshape(x, (2, 3)) * 2.0), [tf.TensorSpec((3, 2))],
                                key="options-no-generated")
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    code = ("import sys, numpy as np, edgerun\n"
            f"it = edgerun.Interpreter(model_path={str(path)!r}); it.allocate_tensors()\n"
            "it.set_tensor(it.get_input_details()[0]['index'], np.ones((3, 2), np.float32)); it.invoke()\n"
            "print(it.get_tensor(it.get_output_details()[0]['index']).tolist())\n"
            "print('edgerun.schema.schema_generated' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == str([[2.0] * 3] * 2)
    assert out[1] == "False"
