"""Shape and data-movement ops against LiteRT: float32 models from TensorFlow's converter (tf.functions),
the same models fully quantized to int8 (bit for bit), and hand-built flatbuffers for options, dtypes and
quantization TensorFlow does not emit (uint8/int16/int32/bool tensors, new_shape options, STRIDED_SLICE
offset, uint8 requantizing concatenation, fused activations). Data movement is compared exactly on every
dtype (float32 too: a moved element must be the same bits)."""
import numpy as np
import pytest

from oracle import assert_matches_litert, edgerun_run, litert_run, random_inputs, tf_convert_function

import edgerun


def _tf():
    import tensorflow as tf

    return tf


def _fn(fn, shapes, key, q=None, dtypes=None, rep=None):
    """A tf.function converted by TensorFlow: float32 (q=None), or full-integer int8 / int16x8 with an
    integer interface (no QUANTIZE/DEQUANTIZE at the edges)."""
    tf = _tf()
    dtypes = dtypes or [tf.float32] * len(shapes)
    specs = [tf.TensorSpec(s, d) for s, d in zip(shapes, dtypes)]
    kw = {}
    if q == "int8":
        kw = dict(inference_input_type=tf.int8, inference_output_type=tf.int8)
    elif q == "int16x8":
        kw = dict(inference_input_type=tf.int16, inference_output_type=tf.int16)
    return tf_convert_function(fn, specs, quantize=q, representative=rep, key="shape-" + key, **kw)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _ops(model):
    from ai_edge_litert.interpreter import Interpreter

    return [d["op_name"] for d in Interpreter(model_content=model)._get_ops_details()]


def _check(model, op, inputs=None, exact=True):
    """The converter kept `op` (the test is about it), and edgerun matches LiteRT (exactly by default)."""
    assert op in _ops(model), f"{op} not in {_ops(model)}"
    return assert_matches_litert(model, inputs, exact=exact)


def _both_fail(model, inputs, err=edgerun.EdgerunError, match=None):
    """LiteRT refuses the model/inputs, and so does edgerun, with an edgerun error naming the op."""
    with pytest.raises(Exception):
        litert_run(model, inputs)
    with pytest.raises(err, match=match):
        edgerun_run(model, inputs)


def _one_op(op, ins, outs, options=None, consts=None):
    """A one-op model. ins/outs: lists of (shape, dtype, quant) for run-time tensors; consts: {position:
    array or (array, quant)} inserted among the op's inputs at that position (-1 entries: absent input)."""
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    consts = consts or {}
    rt = [b.tensor(f"x{i}", s, d, quant=q) for i, (s, d, q) in enumerate(ins)]
    op_in, it = [], iter(rt)
    for pos in range(len(rt) + len(consts)):
        if pos in consts:
            c = consts[pos]
            if c is None:
                op_in.append(-1)
            elif isinstance(c, tuple):
                op_in.append(b.const(f"c{pos}", c[0], quant=c[1]))
            else:
                op_in.append(b.const(f"c{pos}", np.asarray(c)))
        else:
            op_in.append(next(it))
    ys = [b.tensor(f"y{i}", s, d, quant=q) for i, (s, d, q) in enumerate(outs)]
    b.op(op, op_in, ys, options or {})
    b.inputs(rt)
    b.outputs(ys)
    return b.finish()


def _rand(shape, dtype, seed=0):
    rng = _rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return rng.uniform(-4, 4, shape).astype(dt)
    if dt == np.bool_:
        return rng.random(shape) < 0.5
    info = np.iinfo(dt)
    return rng.integers(max(info.min, -(1 << 40)), min(int(info.max), 1 << 40) + 1, shape,
                        dtype=np.int64).astype(dt)


ALL_DTYPES = [np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64, np.bool_]


# -- RESHAPE / SQUEEZE / EXPAND_DIMS -------------------------------------------------------------------
RESHAPES = [((2, 3, 4), (6, 4)), ((2, 3, 4), (-1,)), ((2, 3, 4), (4, -1, 2)), ((1, 12), (2, 1, 3, 2)),
            ((2, 3, 4), (3, 8))]


@pytest.mark.parametrize("q", [None, "int8"])
@pytest.mark.parametrize("src,dst", RESHAPES, ids=str)
def test_reshape(src, dst, q):
    tf = _tf()
    model = _fn(lambda x: tf.reshape(x, dst), [src], f"reshape-{src}-{dst}", q)
    _check(model, "RESHAPE")


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_reshape_new_shape_option_hand_built(dtype):
    # No shape tensor: TFLite reads the new_shape option (with a -1).
    model = _one_op("RESHAPE", [((2, 3, 4), dtype, None)], [((4, 6), dtype, None)], {"newShape": [4, -1]})
    assert_matches_litert(model, [_rand((2, 3, 4), dtype)], exact=True)


def test_reshape_shape_tensor_wins_over_option_hand_built():
    model = _one_op("RESHAPE", [((2, 3, 4), np.float32, None)], [((3, 8), np.float32, None)],
                    {"newShape": [4, 6]}, consts={1: np.array([3, -1], np.int32)})
    assert_matches_litert(model, [_rand((2, 3, 4), np.float32)], exact=True)


@pytest.mark.parametrize("opt", [[], [0]], ids=["empty", "legacy-0"])
def test_reshape_to_scalar_option_hand_built(opt):
    # new_shape [] is a scalar; so is the legacy [0].
    model = _one_op("RESHAPE", [((1, 1, 1), np.float32, None)], [((), np.float32, None)], {"newShape": opt})
    assert_matches_litert(model, [_rand((1, 1, 1), np.float32)], exact=True)


@pytest.mark.xfail(strict=True, reason="runtime/graph.py: a zero-element constant with an empty buffer is "
                   "taken for a tensor no op produces (ShapeError before the RESHAPE handler runs)")
def test_reshape_to_scalar():
    # The converter stores the empty shape vector as a tensor with an empty buffer.
    tf = _tf()
    model = _fn(lambda x: tf.reshape(x, []) * 2.0, [(1, 1)], "reshape-scalar")
    assert_matches_litert(model, exact=True)


def test_reshape_runtime_shape_tensor():
    tf = _tf()
    # tf.shape of a second input feeds the reshape: the shape is computed at prepare (folded SHAPE).
    model = _fn(lambda x, y: tf.reshape(x, tf.shape(y)), [(2, 6), (3, 4)], "reshape-like")
    assert_matches_litert(model, exact=True)


def test_reshape_incompatible_size_raises_shape_error():
    model = _one_op("RESHAPE", [((2, 3, 4), np.float32, None)], [((5, 5), np.float32, None)],
                    consts={1: np.array([5, 5], np.int32)})
    _both_fail(model, [_rand((2, 3, 4), np.float32)], edgerun.ShapeError, "RESHAPE")


def test_reshape_two_stretch_dims_raises_shape_error():
    model = _one_op("RESHAPE", [((2, 3, 4), np.float32, None)], [((4, 6), np.float32, None)],
                    consts={1: np.array([-1, -1], np.int32)})
    _both_fail(model, [_rand((2, 3, 4), np.float32)], edgerun.ShapeError, "RESHAPE")


@pytest.mark.parametrize("q", [None, "int8"])
@pytest.mark.parametrize("axis", [None, [1], [-1], [1, -1], [0, 3]], ids=str)
def test_squeeze(axis, q):
    tf = _tf()
    model = _fn(lambda x: tf.squeeze(x, axis=axis), [(1, 1, 3, 1)], f"squeeze-{axis}", q)
    # The converter lowers squeeze to RESHAPE, so no op check here; see the hand-built SQUEEZE below.
    assert_matches_litert(model, exact=True)


@pytest.mark.parametrize("dims", [None, [], [1], [-1], [0, -3], [-4, 3]], ids=str)
def test_squeeze_hand_built(dims):
    src = (1, 1, 3, 1)
    if dims:
        keep = [d for i, d in enumerate(src) if i not in {a % 4 for a in dims}]
    else:
        keep = [d for d in src if d != 1]
    opts = {} if dims is None else {"squeezeDims": dims}
    model = _one_op("SQUEEZE", [(src, np.int8, (0.1, 3))], [(tuple(keep), np.int8, (0.1, 3))], opts)
    assert_matches_litert(model, [_rand(src, np.int8)], exact=True)


def test_squeeze_non_unit_dim_raises_shape_error():
    model = _one_op("SQUEEZE", [((1, 3, 1), np.float32, None)], [((1, 1), np.float32, None)],
                    {"squeezeDims": [1]})
    _both_fail(model, [_rand((1, 3, 1), np.float32)], edgerun.ShapeError, "SQUEEZE")


@pytest.mark.parametrize("q", [None, "int8"])
@pytest.mark.parametrize("axis", [0, 2, -1, -3])
def test_expand_dims(axis, q):
    tf = _tf()
    model = _fn(lambda x: tf.expand_dims(x, axis), [(3, 4)], f"expand-{axis}", q)
    assert_matches_litert(model, exact=True)


@pytest.mark.parametrize("axis_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("axis", [0, 3, -1, -4])
def test_expand_dims_hand_built(axis, axis_dtype):
    src = (2, 3, 4)
    shape = list(src)
    shape.insert(axis if axis >= 0 else axis + 4, 1)
    model = _one_op("EXPAND_DIMS", [(src, np.int16, (0.5, 0))], [(tuple(shape), np.int16, (0.5, 0))],
                    consts={1: np.array([axis], axis_dtype)})
    assert_matches_litert(model, [_rand(src, np.int16)], exact=True)


# -- CONCATENATION / PACK / UNPACK / SPLIT / SPLIT_V ---------------------------------------------------
@pytest.mark.parametrize("q", [None, "int8"])
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_concatenation(axis, q):
    tf = _tf()
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    for k, s in enumerate(shapes):
        s[axis] = k + 1
    model = _fn(lambda a, b, c: tf.concat([a, b, c], axis=axis), [tuple(s) for s in shapes],
                f"concat-{axis}", q)
    _check(model, "CONCATENATION")


def test_concatenation_int8_different_ranges():
    """Inputs calibrated to different ranges: the converter makes the concatenation's operands share one
    scale (requantizing where needed); whatever it emits, edgerun must agree bit for bit."""
    tf = _tf()
    rng = _rng(1)
    rep = [[rng.uniform(-1, 1, (2, 3)).astype(np.float32), rng.uniform(-5, 3, (2, 4)).astype(np.float32)]
           for _ in range(16)]
    model = _fn(lambda a, b: tf.concat([a, b], axis=1), [(2, 3), (2, 4)], "concat-ranges", "int8", rep=rep)
    _check(model, "CONCATENATION")


@pytest.mark.parametrize("act", [1, 2, 3])  # RELU, RELU_N1_TO_1, RELU6
def test_concatenation_fused_activation_hand_built(act):
    """LiteRT refuses a fused activation on CONCATENATION (the converter never fuses one); edgerun accepts
    RELU/RELU_N1_TO_1/RELU6 and must equal LiteRT running the concatenation followed by that activation."""
    from edgerun.schema.builder import ModelBuilder

    ins = [_rand((2, 3), np.float32, 1) * 3, _rand((2, 2), np.float32, 2) * 3]
    fused = _one_op("CONCATENATION", [((2, 3), np.float32, None), ((2, 2), np.float32, None)],
                    [((2, 5), np.float32, None)], {"axis": -1, "fusedActivationFunction": act})
    b = ModelBuilder()
    a, c = b.tensor("a", (2, 3), np.float32), b.tensor("c", (2, 2), np.float32)
    t, y = b.tensor("t", (2, 5), np.float32), b.tensor("y", (2, 5), np.float32)
    b.op("CONCATENATION", [a, c], [t], {"axis": -1})
    b.op({1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}[act], [t], [y])
    b.inputs([a, c])
    b.outputs([y])
    np.testing.assert_array_equal(edgerun_run(fused, ins)[0], litert_run(b.finish(), ins)[0])


def test_concatenation_fused_tanh_unsupported_hand_built():
    model = _one_op("CONCATENATION", [((2, 3), np.float32, None), ((2, 2), np.float32, None)],
                    [((2, 5), np.float32, None)], {"axis": -1, "fusedActivationFunction": 4})
    _both_fail(model, [_rand((2, 3), np.float32), _rand((2, 2), np.float32)], edgerun.UnsupportedOpError,
               "CONCATENATION")


def test_concatenation_fused_relu_from_converter():
    tf = _tf()
    model = _fn(lambda a, b: tf.nn.relu(tf.concat([a, b], axis=0)), [(2, 3), (1, 3)], "concat-relu")
    _check(model, "CONCATENATION")


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64, np.bool_, np.float32],
                         ids=lambda d: np.dtype(d).name)
def test_concatenation_dtypes_hand_built(dtype):
    q = (0.25, 5) if dtype in (np.int8, np.uint8) else ((0.25, 0) if dtype == np.int16 else None)
    model = _one_op("CONCATENATION", [((3, 2, 2), dtype, q), ((3, 1, 2), dtype, q), ((3, 4, 2), dtype, q)],
                    [((3, 7, 2), dtype, q)], {"axis": 1})
    assert_matches_litert(model, [_rand((3, 2, 2), dtype, 1), _rand((3, 1, 2), dtype, 2),
                                  _rand((3, 4, 2), dtype, 3)], exact=True)


@pytest.mark.parametrize("axis", [0, 1])
def test_concatenation_uint8_requantizes_hand_built(axis):
    # uint8 inputs with their own scale/zero point: TFLite requantizes each to the output's.
    sa, sb = [(2, 3), (2, 3)], [(5, 3), (2, 4)]
    out = [(7, 3), (2, 7)]
    model = _one_op("CONCATENATION", [(sa[axis], np.uint8, (0.05, 3)), (sb[axis], np.uint8, (0.11, 200)),
                                      (sa[axis], np.uint8, (0.08, 1))],
                    [((9, 3) if axis == 0 else (2, 10), np.uint8, (0.08, 1))], {"axis": axis})
    del out
    assert_matches_litert(model, exact=True)


@pytest.mark.parametrize("sa,za,sb,zb,so,zo", [(0.5, 0, 0.25, 128, 1.0, 0), (0.1, 7, 0.3, 250, 0.2, 128),
                                                 (1.0, 255, 2.0, 0, 0.75, 3)], ids=str)
def test_concatenation_uint8_requantize_all_values_hand_built(sa, za, sb, zb, so, zo):
    # Every uint8 value through scales that make exact .5 ties (rounding) and out-of-range results (clamping).
    model = _one_op("CONCATENATION", [((1, 256), np.uint8, (sa, za)), ((1, 256), np.uint8, (sb, zb))],
                    [((2, 256), np.uint8, (so, zo))], {"axis": 0})
    x = np.arange(256, dtype=np.uint8).reshape(1, 256)
    assert_matches_litert(model, [x, x[:, ::-1].copy()], exact=True)


def test_concatenation_int8_different_scales_rejected_hand_built():
    # TFLite's int8 kernel requires every input to share the output's scale and zero point.
    model = _one_op("CONCATENATION", [((2, 3), np.int8, (0.05, 3)), ((2, 4), np.int8, (0.11, -3))],
                    [((2, 7), np.int8, (0.08, 1))], {"axis": 1})
    _both_fail(model, [_rand((2, 3), np.int8), _rand((2, 4), np.int8)], edgerun.UnsupportedOpError,
               "CONCATENATION")


def test_concatenation_int16_different_scales_hand_built():
    # LiteRT's int16 concatenation copies the stored values whatever the scales; so does edgerun.
    model = _one_op("CONCATENATION", [((2, 3), np.int16, (0.05, 0)), ((2, 4), np.int16, (0.11, 0))],
                    [((2, 7), np.int16, (0.08, 0))], {"axis": 1})
    assert_matches_litert(model, exact=True)


def test_concatenation_mismatched_shapes_raise_shape_error():
    model = _one_op("CONCATENATION", [((2, 3), np.float32, None), ((3, 4), np.float32, None)],
                    [((2, 7), np.float32, None)], {"axis": 1})
    _both_fail(model, [_rand((2, 3), np.float32), _rand((3, 4), np.float32)], edgerun.ShapeError,
               "CONCATENATION")


@pytest.mark.parametrize("q", [None, "int8"])
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_pack(axis, q):
    tf = _tf()
    model = _fn(lambda a, b, c: tf.stack([a, b, c], axis=axis), [(2, 3)] * 3, f"pack-{axis}", q)
    _check(model, "PACK")


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int16], ids=lambda d: np.dtype(d).name)
def test_pack_dtypes_hand_built(dtype):
    q = (0.5, 7) if dtype == np.uint8 else ((0.5, 0) if dtype == np.int16 else None)
    model = _one_op("PACK", [((2, 3), dtype, q), ((2, 3), dtype, q)], [((2, 2, 3), dtype, q)],
                    {"valuesCount": 2, "axis": -2})
    assert_matches_litert(model, [_rand((2, 3), dtype, 1), _rand((2, 3), dtype, 2)], exact=True)


@pytest.mark.parametrize("q", [None, "int8"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_unpack(axis, q):
    tf = _tf()
    model = _fn(lambda x: tf.unstack(x, axis=axis), [(3, 4, 2)], f"unpack-{axis}", q)
    _check(model, "UNPACK")


@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.uint8, np.bool_], ids=lambda d: np.dtype(d).name)
def test_unpack_dtypes_hand_built(dtype):
    model = _one_op("UNPACK", [((2, 3, 2), dtype, None)], [((2, 2), dtype, None)] * 3, {"num": 3, "axis": 1})
    assert_matches_litert(model, [_rand((2, 3, 2), dtype)], exact=True)


@pytest.mark.parametrize("q", [None, "int8"])
@pytest.mark.parametrize("axis,n", [(0, 2), (1, 3), (-1, 2), (-2, 1)])
def test_split(axis, n, q):
    tf = _tf()
    model = _fn(lambda x: tf.split(x, n, axis=axis), [(4, 6, 4)], f"split-{axis}-{n}", q)
    assert_matches_litert(model, exact=True)
    if n > 1:
        assert "SPLIT" in _ops(model)


@pytest.mark.parametrize("q", [None, "int8"])
@pytest.mark.parametrize("sizes,axis", [([2, -1, 1], 1), ([1, 3], -1), ([-1, 2], 0), ([3, 0, 3], 1)],
                         ids=str)
def test_split_v(sizes, axis, q):
    tf = _tf()
    model = _fn(lambda x: tf.split(x, sizes, axis=axis), [(4, 6, 4)], f"splitv-{sizes}-{axis}", q)
    _check(model, "SPLIT_V")


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int16, np.uint8], ids=lambda d: np.dtype(d).name)
def test_split_dtypes_hand_built(dtype):
    model = _one_op("SPLIT", [((2, 6), dtype, None)], [((2, 2), dtype, None)] * 3, {"numSplits": 3},
                    consts={0: np.array(-1, np.int32)})
    assert_matches_litert(model, [_rand((2, 6), dtype)], exact=True)
    model = _one_op("SPLIT_V", [((2, 6), dtype, None)], [((2, 1), dtype, None), ((2, 5), dtype, None)],
                    {"numSplits": 2}, consts={1: np.array([1, -1], np.int32), 2: np.array([1], np.int32)})
    assert_matches_litert(model, [_rand((2, 6), dtype)], exact=True)


def test_split_uneven_raises_shape_error():
    model = _one_op("SPLIT", [((2, 5), np.float32, None)], [((2, 2), np.float32, None)] * 2, {"numSplits": 2},
                    consts={0: np.array(1, np.int32)})
    _both_fail(model, [_rand((2, 5), np.float32)], edgerun.ShapeError, "SPLIT")
