"""Malformed and hostile model files raise ModelError (a ValueError) naming the problem; never crash."""
import numpy as np
import pytest

import edgerun
from edgerun.errors import ModelError, UnsupportedOpError


def test_empty_and_short():
    for content in (b"", b"abc", b"\x00" * 7):
        with pytest.raises(ModelError, match="too short"):
            edgerun.Interpreter(model_content=content)


def test_wrong_identifier():
    with pytest.raises(ModelError, match="identifier"):
        edgerun.Interpreter(model_content=b"\x10\x00\x00\x00ONNX" + b"\x00" * 64)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="cannot open"):
        edgerun.Interpreter(model_path=str(tmp_path / "nope.tflite"))


def test_error_is_value_error():
    assert issubclass(ModelError, ValueError)
    assert issubclass(UnsupportedOpError, ValueError)


def test_truncations_of_a_real_model(dense_model):
    """Every prefix of a real model either loads or raises ModelError; nothing else escapes."""
    data = dense_model
    for cut in list(range(8, len(data), max(1, len(data) // 97))):
        try:
            edgerun.Interpreter(model_content=data[:cut])
        except ModelError:
            pass


def test_random_byte_flips_never_crash(dense_model):
    """Corrupt bytes in a real model: load, allocate and invoke either work or raise an edgerun error."""
    rng = np.random.default_rng(0)
    base = bytearray(dense_model)
    for trial in range(300):
        data = bytearray(base)
        for _ in range(int(rng.integers(1, 6))):
            data[int(rng.integers(8, len(data)))] = int(rng.integers(0, 256))
        try:
            it = edgerun.Interpreter(model_content=bytes(data))
            it.allocate_tensors()
            for d in it.get_input_details():
                x = np.zeros(tuple(d["shape"]), d["dtype"])
                it.set_tensor(d["index"], x)
            it.invoke()
        except edgerun.EdgerunError:
            pass


def test_unknown_op_is_named():
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (1, 4), np.float32)
    y = b.tensor("y", (1, 4), np.float32)
    b.op("CUSTOM", [x], [y], custom_code="NoSuchOp")
    b.inputs([x])
    b.outputs([y])
    with pytest.raises(UnsupportedOpError, match=r"op #0.*NoSuchOp"):
        edgerun.Interpreter(model_content=b.finish())


def _mutate(rng, base: bytes) -> bytes:
    """Corrupt a model the ways hostile files do: random bytes, flipped bits, and 32-bit fields set to
    boundary values (0, 1, -1, INT_MAX, INT_MIN, 255, 65535) — offsets, lengths, counts, indices, scales."""
    data = bytearray(base)
    mode = int(rng.integers(0, 3))
    for _ in range(int(rng.integers(1, 8))):
        i = int(rng.integers(8, len(data)))
        if mode == 0:
            data[i] = int(rng.integers(0, 256))
        elif mode == 1:
            data[i] ^= 1 << int(rng.integers(0, 8))
        else:
            j = i - i % 4
            if j + 4 <= len(data):
                v = int(rng.choice([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 255, 65535]))
                data[j:j + 4] = v.to_bytes(4, "little")
    return bytes(data)


def _quantized_cnn():
    from oracle import tf_convert

    import keras

    m = keras.Sequential([keras.Input((8, 8, 2)), keras.layers.Conv2D(4, 3, activation="relu"),
                          keras.layers.DepthwiseConv2D(3), keras.layers.GlobalAveragePooling2D(),
                          keras.layers.Dense(3, activation="softmax")])
    return tf_convert(m, quantize="int8", input_type=np.int8, output_type=np.int8)


def _recurrent():
    from oracle import tf_convert

    import keras

    m = keras.Sequential([keras.Input((4, 3), batch_size=1), keras.layers.GRU(5)])
    return tf_convert(m)


@pytest.mark.parametrize("make", [_quantized_cnn, _recurrent], ids=["int8-cnn", "gru-while"])
def test_hostile_mutations_of_real_models(make):
    """Loading, preparing and invoking a corrupted int8 CNN or a WHILE model either works or raises an
    edgerun error (the process would die on a crash)."""
    base = make()
    rng = np.random.default_rng(1)
    for _ in range(400):
        try:
            it = edgerun.Interpreter(model_content=_mutate(rng, base))
            it.allocate_tensors()
            for d in it.get_input_details():
                it.set_tensor(d["index"], np.zeros(tuple(d["shape"]), d["dtype"]))
            it.invoke()
        except edgerun.EdgerunError:
            pass
