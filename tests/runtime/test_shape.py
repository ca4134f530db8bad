"""Shape and data-movement ops against LiteRT: float32 models from TensorFlow's converter (tf.functions),
the same models fully quantized to int8 (bit for bit), and hand-built flatbuffers for options, dtypes and
quantization TensorFlow does not emit (uint8/int16/int32/bool tensors, new_shape options, STRIDED_SLICE
offset, uint8 requantizing concatenation, fused activations). Data movement is compared exactly on every
dtype (float32 too: a moved element must be the same bits)."""
import numpy as np
import pytest

from oracle import (assert_matches_litert, edgerun_run, litert_interpreter, litert_run, random_inputs,
                    tf_convert_function)

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


def _one_op(op, ins, outs, options=None, consts=None, version=1):
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
    b.op(op, op_in, ys, options or {}, version=version)
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
Q = [None, "int8", "int16x8"]  # float32, and TensorFlow's full-integer int8 and int16x8 models


# -- RESHAPE / SQUEEZE / EXPAND_DIMS -------------------------------------------------------------------
RESHAPES = [((2, 3, 4), (6, 4)), ((2, 3, 4), (-1,)), ((2, 3, 4), (4, -1, 2)), ((1, 12), (2, 1, 3, 2)),
            ((2, 3, 4), (3, 8))]


@pytest.mark.parametrize("q", Q)
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


def test_reshape_int64_shape_tensor_defers_to_option_hand_built():
    # TFLite reads the shape input only when it is an int32 vector; otherwise the new_shape option.
    model = _one_op("RESHAPE", [((2, 3, 4), np.float32, None)], [((4, 6), np.float32, None)],
                    {"newShape": [4, 6]}, consts={1: np.array([3, 8], np.int64)})
    assert_matches_litert(model, [_rand((2, 3, 4), np.float32)], exact=True)


def test_reshape_shape_tensor_wins_over_option_hand_built():
    model = _one_op("RESHAPE", [((2, 3, 4), np.float32, None)], [((3, 8), np.float32, None)],
                    {"newShape": [4, 6]}, consts={1: np.array([3, -1], np.int32)})
    assert_matches_litert(model, [_rand((2, 3, 4), np.float32)], exact=True)


@pytest.mark.parametrize("opt", [[], [0]], ids=["empty", "legacy-0"])
def test_reshape_to_scalar_option_hand_built(opt):
    # new_shape [] is a scalar; so is the legacy [0].
    model = _one_op("RESHAPE", [((1, 1, 1), np.float32, None)], [((), np.float32, None)], {"newShape": opt})
    assert_matches_litert(model, [_rand((1, 1, 1), np.float32)], exact=True)


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


@pytest.mark.parametrize("q", Q)
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


@pytest.mark.parametrize("q", Q)
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
@pytest.mark.parametrize("q", Q)
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


@pytest.mark.parametrize("q", Q)
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


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_unpack(axis, q):
    tf = _tf()
    model = _fn(lambda x: tf.unstack(x, axis=axis), [(3, 4, 2)], f"unpack-{axis}", q)
    _check(model, "UNPACK")


@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.uint8, np.bool_], ids=lambda d: np.dtype(d).name)
def test_unpack_dtypes_hand_built(dtype):
    model = _one_op("UNPACK", [((2, 3, 2), dtype, None)], [((2, 2), dtype, None)] * 3, {"num": 3, "axis": 1})
    assert_matches_litert(model, [_rand((2, 3, 2), dtype)], exact=True)


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("axis,n", [(0, 2), (1, 3), (-1, 2), (-2, 1)])
def test_split(axis, n, q):
    tf = _tf()
    model = _fn(lambda x: tf.split(x, n, axis=axis), [(4, 6, 4)], f"split-{axis}-{n}", q)
    assert_matches_litert(model, exact=True)
    if n > 1:
        assert "SPLIT" in _ops(model)


@pytest.mark.parametrize("q", Q)
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


# -- SLICE / STRIDED_SLICE -----------------------------------------------------------------------------
SLICES = [((0, 1, 2), (2, -1, 3)), ((1, 0, 0), (-1, -1, -1)), ((3, 4, 5), (1, 1, 1)), ((1, 2, 0), (2, 3, 6))]


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("begin,size", SLICES, ids=str)
def test_slice(begin, size, q):
    tf = _tf()
    model = _fn(lambda x: tf.slice(x, begin, size), [(4, 5, 6)], f"slice-{begin}-{size}", q)
    assert_matches_litert(model, exact=True)


@pytest.mark.parametrize("idx_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_slice_dtypes_hand_built(dtype, idx_dtype):
    model = _one_op("SLICE", [((3, 4, 5), dtype, None)], [((2, 4, 2), dtype, None)],
                    consts={1: np.array([1, 0, 2], idx_dtype), 2: np.array([-1, -1, 2], idx_dtype)})
    assert_matches_litert(model, [_rand((3, 4, 5), dtype)], exact=True)


def test_slice_out_of_range_raises_shape_error():
    model = _one_op("SLICE", [((3, 4), np.float32, None)], [((2, 4), np.float32, None)],
                    consts={1: np.array([2, 0], np.int32), 2: np.array([2, 4], np.int32)})
    _both_fail(model, [_rand((3, 4), np.float32)], edgerun.ShapeError, "SLICE")


STRIDED = {
    "basic": lambda x: x[1:3],
    "steps": lambda x: x[:, ::2, 1:-1],
    "ellipsis-shrink": lambda x: x[..., 2],
    "negative": lambda x: x[::-1, 3:0:-2],
    "negative-to-start": lambda x: x[2::-1, :, -1:-7:-2],
    "newaxis-shrink": lambda x: x[1, None, :, -1],
    "ellipsis-newaxis": lambda x: x[-3:, ..., None],
    "mid-ellipsis": lambda x: x[None, 1:, ..., ::-3],
    "clamped": lambda x: x[-10:10, 7:-9:-1, 2:100:4],
    "shrink-neg": lambda x: x[-1, -2, ::-1],
    "all-shrink": lambda x: x[2, 3, 4],
}


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("name", sorted(STRIDED))
def test_strided_slice(name, q):
    fn = STRIDED[name]
    model = _fn(fn, [(4, 5, 6)], f"sslice-{name}", q)
    assert_matches_litert(model, exact=True)


@pytest.mark.parametrize("bm,em", [(0b101, 0), (0, 0b110), (0b111, 0b111)])
def test_strided_slice_masks(bm, em):
    tf = _tf()
    fn = lambda x: tf.strided_slice(x, [1, -2, 4], [3, 1, 0], [1, -1, -2], begin_mask=bm, end_mask=em)  # noqa
    model = _fn(fn, [(4, 5, 6)], f"sslice-masks-{bm}-{em}")
    _check(model, "STRIDED_SLICE")


SS_HAND = [
    # (begin, end, strides, options)
    ([1, 0, 2], [3, 5, 6], [1, 2, 2], {}),
    ([1, 0], [2, 3], [1, 1], {"shrinkAxisMask": 1}),
    ([0, 1], [0, 2], [1, 1], {"ellipsisMask": 1, "shrinkAxisMask": 2}),
    ([0, 0, 0], [0, 1, 0], [1, 1, 1], {"newAxisMask": 2, "beginMask": 5, "endMask": 5}),
    ([0, 0, 1], [0, 1, 3], [1, 1, 1], {"ellipsisMask": 1, "newAxisMask": 2}),
    ([-1, -1, -1], [-5, -6, -7], [-1, -2, -3], {}),
    ([3, 4, 5], [0, 0, 0], [-1, -1, -1], {"endMask": 7}),
    ([1, 2], [3, 4], [1, 1], {"ellipsisMask": 0, "shrinkAxisMask": 0}),  # fewer entries than the rank
]


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", range(len(SS_HAND)))
def test_strided_slice_hand_built(case, dtype):
    begin, end, strides, opts = SS_HAND[case]
    tf = _tf()
    # The output shape comes from TensorFlow's own strided_slice on the same arguments.
    x = _rand((4, 5, 6), dtype)
    want = tf.strided_slice(x, begin, end, strides, begin_mask=opts.get("beginMask", 0),
                            end_mask=opts.get("endMask", 0), ellipsis_mask=opts.get("ellipsisMask", 0),
                            new_axis_mask=opts.get("newAxisMask", 0),
                            shrink_axis_mask=opts.get("shrinkAxisMask", 0)).shape
    model = _one_op("STRIDED_SLICE", [((4, 5, 6), dtype, None)], [(tuple(want), dtype, None)], opts,
                    consts={k + 1: np.array(v, np.int32) for k, v in enumerate((begin, end, strides))})
    ours, _ = assert_matches_litert(model, [x], exact=True)
    assert ours[0].shape == tuple(want)


OFFSET = [
    ([1, 0, 2], [2, 5, 3], [1, 1, 1], {}),
    ([-3, 1, 0], [2, 3, 6], [1, 2, 3], {}),
    ([0, 0, 0], [1, 2, 3], [1, 1, 1], {"beginMask": 2}),
    ([2, 1, 4], [1, 1, 2], [1, 1, 1], {"shrinkAxisMask": 1}),
    ([-1, -2, -3], [1, 2, 3], [1, 1, 1], {}),
]


def _ss(begin, end, strides, opts, out_shape, in_shape=(4, 5, 6)):
    return _one_op("STRIDED_SLICE", [(in_shape, np.float32, None)], [(out_shape, np.float32, None)], opts,
                   consts={k + 1: np.array(v, np.int32) for k, v in enumerate((begin, end, strides))})


@pytest.mark.parametrize("case", range(len(OFFSET)))
def test_strided_slice_offset_hand_built(case):
    """offset=true: `end` is a size counted from `begin`. TensorFlow never emits it; LiteRT says the
    output shape."""
    begin, end, strides, opts = OFFSET[case]
    x = _rand((4, 5, 6), np.float32)
    want = litert_run(_ss(begin, end, strides, dict(opts, offset=True), (1,)), [x])[0].shape
    assert_matches_litert(_ss(begin, end, strides, dict(opts, offset=True), want), [x], exact=True)


IMPLICIT = [  # offset slices leaving dims to the ellipsis or past the entries, and their explicit spelling
    (([1], [2], [1], {}), ([1, 0, 0], [2, 5, 6], [1, 1, 1], {})),
    (([1, 1], [2, 3], [1, 2], {"ellipsisMask": 1}), ([0, 0, 1], [4, 5, 3], [1, 1, 2], {})),
    (([1, 2], [1, 2], [1, 1], {"ellipsisMask": 2}), ([1, 0, 0], [1, 5, 6], [1, 1, 1], {})),
    (([0, 2], [0, 2], [1, 1], {"newAxisMask": 1}), ([2, 0, 0], [2, 5, 6], [1, 1, 1], {})),
]


@pytest.mark.parametrize("case", range(len(IMPLICIT)))
def test_strided_slice_offset_implicit_dims_hand_built(case):
    """Dims no entry names (ellipsis, new axis, trailing) are taken whole in offset mode. LiteRT crashes on
    these models, so the oracle is LiteRT on the same slice with every dim spelled out."""
    implicit, explicit = IMPLICIT[case]
    x = _rand((4, 5, 6), np.float32)
    theirs = litert_run(_ss(*explicit[:3], dict(explicit[3], offset=True), (1,)), [x])[0]
    shape = theirs.shape if "newAxisMask" not in implicit[3] else (1,) + theirs.shape
    ours = edgerun_run(_ss(*implicit[:3], dict(implicit[3], offset=True), shape), [x])[0]
    assert ours.shape == shape
    np.testing.assert_array_equal(ours.reshape(theirs.shape), theirs)


def test_strided_slice_offset_past_the_end_raises_shape_error():
    # LiteRT sizes this output [2, 5, 30] and reads past the input; edgerun refuses it.
    with pytest.raises(edgerun.ShapeError, match="STRIDED_SLICE"):
        edgerun_run(_ss([1, 0, 2], [2, 5, 30], [1, 1, 1], {"offset": True}, (2, 5, 30)),
                    [_rand((4, 5, 6), np.float32)])


def test_strided_slice_offset_with_end_mask_unsupported():
    # LiteRT's shape ignores the end mask while its kernel honours it (writing past the output).
    with pytest.raises(edgerun.UnsupportedOpError, match="STRIDED_SLICE"):
        edgerun_run(_ss([1, 0, 2], [2, 5, 3], [1, 1, 1], {"offset": True, "endMask": 4}, (2, 5, 3)),
                    [_rand((4, 5, 6), np.float32)])


def test_strided_slice_shrink_out_of_range_raises_shape_error():
    # TensorFlow refuses x[10] on a dimension of 4; LiteRT returns unspecified data. edgerun refuses it.
    with pytest.raises(edgerun.ShapeError, match="STRIDED_SLICE"):
        edgerun_run(_ss([10, 0, 0], [11, 5, 6], [1, 1, 1], {"shrinkAxisMask": 1}, (5, 6)),
                    [_rand((4, 5, 6), np.float32)])


@pytest.mark.parametrize("op", ["SLICE", "STRIDED_SLICE"])
def test_empty_slice_feeding_concatenation_hand_built(op):
    """An empty slice (LiteRT's Python API cannot read an empty output, and TensorFlow's converter drops
    the op, so it is joined to a non-empty tensor here)."""
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (4, 5, 6), np.float32)
    e = b.tensor("e", (0, 5, 6), np.float32)
    y = b.tensor("y", (4, 5, 6), np.float32)
    if op == "SLICE":
        b.op(op, [x, b.const("b", np.array([2, 0, 0], np.int32)),
                  b.const("s", np.array([0, -1, -1], np.int32))], [e])
    else:
        b.op(op, [x, b.const("b", np.array([3, 0, 0], np.int32)), b.const("e", np.array([1, 5, 6], np.int32)),
                  b.const("s", np.array([1, 1, 1], np.int32))], [e])
    b.op("CONCATENATION", [e, x], [y], {"axis": 0})
    b.inputs([x])
    b.outputs([y])
    assert_matches_litert(b.finish(), [_rand((4, 5, 6), np.float32)], exact=True)


@pytest.mark.parametrize("n", [4, 5])
def test_strided_slice_more_entries_than_rank_hand_built(n):
    # LiteRT ignores entries past the input's rank (TensorFlow would refuse them).
    b, e, st = [0, 1, 0, 0, 0][:n], [2, 2, 4, 5, 1][:n], [1, 1, 2, 1, 1][:n]
    model = _ss(b, e, st, {}, (2, 1, 2), in_shape=(2, 3, 4))
    assert_matches_litert(model, [_rand((2, 3, 4), np.float32)], exact=True)


def test_strided_slice_zero_stride_raises_shape_error():
    model = _one_op("STRIDED_SLICE", [((4, 5), np.float32, None)], [((2, 5), np.float32, None)],
                    consts={1: np.array([0, 0], np.int32), 2: np.array([2, 5], np.int32),
                            3: np.array([1, 0], np.int32)})
    _both_fail(model, [_rand((4, 5), np.float32)], edgerun.ShapeError, "STRIDED_SLICE")


# -- PAD / PADV2 / MIRROR_PAD --------------------------------------------------------------------------
PADS = [[[1, 2], [0, 3]], [[0, 0], [2, 2]], [[3, 0], [0, 0]]]


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("value", [0.0, 1.5, -0.75])
@pytest.mark.parametrize("pads", PADS, ids=str)
def test_pad(pads, value, q):
    tf = _tf()
    p = [[0, 1]] + pads + [[1, 0]]
    model = _fn(lambda x: tf.pad(x, p, constant_values=value), [(2, 3, 4, 2)], f"pad-{pads}-{value}", q)
    if q == "int16x8" and value:
        # The int16x8 converter leaves PADV2's constant value in float32: LiteRT refuses the model, and so
        # must edgerun.
        _both_fail(model, random_inputs(litert_interpreter(model).get_input_details()), edgerun.DtypeError,
                   "PADV2")
        return
    _check(model, "PAD" if value == 0 else "PADV2")


@pytest.mark.parametrize("pad_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype,quant", [(np.float32, None), (np.int8, (0.1, -7)), (np.uint8, (0.1, 131)),
                                         (np.int16, (0.1, 0)), (np.int32, None), (np.int64, None)],
                         ids=lambda v: np.dtype(v).name if isinstance(v, type) else str(v))
def test_pad_dtypes_hand_built(dtype, quant, pad_dtype):
    pads = np.array([[1, 0], [2, 3]], pad_dtype)
    model = _one_op("PAD", [((3, 2), dtype, quant)], [((4, 7), dtype, quant)], consts={1: pads})
    assert_matches_litert(model, [_rand((3, 2), dtype)], exact=True)


@pytest.mark.parametrize("dtype,quant,value", [(np.float32, None, -2.5), (np.int8, (0.1, -7), 5),
                                               (np.uint8, (0.1, 131), 7), (np.int16, (0.1, 0), -300),
                                               (np.int32, None, 9), (np.int64, None, -4)],
                         ids=lambda v: np.dtype(v).name if isinstance(v, type) else str(v))
@pytest.mark.parametrize("const_value", [True, False], ids=["const", "input"])
def test_padv2_hand_built(dtype, quant, value, const_value):
    pads = np.array([[0, 2], [1, 1], [0, 0]], np.int32)
    cv = np.array([value], dtype)
    if const_value:
        model = _one_op("PADV2", [((2, 3, 2), dtype, quant)], [((4, 5, 2), dtype, quant)],
                        consts={1: pads, 2: (cv, quant)})
        ins = [_rand((2, 3, 2), dtype)]
    else:
        model = _one_op("PADV2", [((2, 3, 2), dtype, quant), ((1,), dtype, quant)],
                        [((4, 5, 2), dtype, quant)], consts={1: pads})
        ins = [_rand((2, 3, 2), dtype), cv]
    assert_matches_litert(model, ins, exact=True)


def test_pad_negative_raises_shape_error():
    model = _one_op("PAD", [((3, 2), np.float32, None)], [((2, 2), np.float32, None)],
                    consts={1: np.array([[-1, 0], [0, 0]], np.int32)})
    _both_fail(model, [_rand((3, 2), np.float32)], edgerun.ShapeError, "PAD")


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC"])
@pytest.mark.parametrize("pads", [[[1, 2], [0, 3]], [[3, 3], [2, 1]], [[0, 0], [4, 0]]], ids=str)
def test_mirror_pad(pads, mode, q):
    tf = _tf()
    if mode == "REFLECT":
        pads = [[min(a, 3), min(b, 3)] for a, b in pads]
    p = [[0, 0]] + pads + [[0, 0]]
    model = _fn(lambda x: tf.pad(x, p, mode=mode), [(2, 4, 5, 3)], f"mirror-{pads}-{mode}", q)
    _check(model, "MIRROR_PAD")


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint8], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("mode", [0, 1])
def test_mirror_pad_dtypes_hand_built(mode, dtype):
    q = (0.5, 0) if dtype in (np.int16, np.uint8) else None
    pads = np.array([[2, 1], [1, 2 + mode]], np.int64)
    out = (3 + 3, 4 + 3 + mode)
    model = _one_op("MIRROR_PAD", [((3, 4), dtype, q)], [(out, dtype, q)], {"mode": mode}, consts={1: pads})
    assert_matches_litert(model, [_rand((3, 4), dtype)], exact=True)


def test_mirror_pad_too_large_raises_shape_error():
    model = _one_op("MIRROR_PAD", [((3, 4), np.float32, None)], [((3, 12), np.float32, None)], {"mode": 0},
                    consts={1: np.array([[0, 0], [4, 4]], np.int32)})
    _both_fail(model, [_rand((3, 4), np.float32)], edgerun.ShapeError, "MIRROR_PAD")


# -- TRANSPOSE / TILE / BROADCAST_TO / REVERSE_V2 ------------------------------------------------------
PERMS = [(1, 0), (0, 2, 1), (2, 0, 1), (3, 1, 0, 2), (4, 2, 0, 3, 1), (5, 0, 4, 1, 3, 2), (0, 1, 2, 3, 5, 4)]


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("perm", PERMS, ids=str)
def test_transpose(perm, q):
    tf = _tf()
    shape = (2, 3, 4, 1, 3, 2)[:len(perm)]
    model = _fn(lambda x: tf.transpose(x, perm), [shape], f"transpose-{perm}", q)
    _check(model, "TRANSPOSE")


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_transpose_dtypes_hand_built(dtype):
    perm = np.array([2, 0, 3, 1], np.int32)
    model = _one_op("TRANSPOSE", [((2, 3, 4, 5), dtype, None)], [((4, 2, 5, 3), dtype, None)],
                    consts={1: perm})
    assert_matches_litert(model, [_rand((2, 3, 4, 5), dtype)], exact=True)


def test_transpose_7d_hand_built():
    model = _one_op("TRANSPOSE", [((1, 2, 3, 2, 1, 2, 2), np.int8, None)],
                    [((2, 2, 1, 2, 3, 2, 1), np.int8, None)], consts={1: np.arange(7)[::-1].astype(np.int32)})
    assert_matches_litert(model, [_rand((1, 2, 3, 2, 1, 2, 2), np.int8)], exact=True)


def test_transpose_bad_perm_raises_shape_error():
    # LiteRT runs [1, 1] (reading the input as if it were a permutation); edgerun refuses it.
    model = _one_op("TRANSPOSE", [((2, 3), np.float32, None)], [((3, 3), np.float32, None)],
                    consts={1: np.array([1, 1], np.int32)})
    with pytest.raises(edgerun.ShapeError, match="TRANSPOSE"):
        edgerun_run(model, [_rand((2, 3), np.float32)])


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("mult", [(2, 1, 3), (1, 1, 1), (3, 2, 1)], ids=str)
def test_tile(mult, q):
    tf = _tf()
    model = _fn(lambda x: tf.tile(x, mult), [(2, 3, 2)], f"tile-{mult}", q)
    assert_matches_litert(model, exact=True)


@pytest.mark.parametrize("mult_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_tile_dtypes_hand_built(dtype, mult_dtype):
    model = _one_op("TILE", [((2, 1, 3), dtype, None)], [((4, 3, 3), dtype, None)],
                    consts={1: np.array([2, 3, 1], mult_dtype)})
    assert_matches_litert(model, [_rand((2, 1, 3), dtype)], exact=True)


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("src,dst", [((3, 1), (2, 3, 4)), ((1,), (3, 2)), ((2, 1, 3), (2, 4, 3)),
                                     ((1, 1, 1, 2), (2, 1, 3, 2))], ids=str)
def test_broadcast_to(src, dst, q):
    tf = _tf()
    model = _fn(lambda x: tf.broadcast_to(x, dst), [src], f"bcast-{src}-{dst}", q)
    assert_matches_litert(model, exact=True)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_broadcast_to_dtypes_hand_built(dtype):
    model = _one_op("BROADCAST_TO", [((3, 1), dtype, None)], [((2, 3, 4), dtype, None)],
                    consts={1: np.array([2, 3, 4], np.int64)}, version=2)
    assert_matches_litert(model, [_rand((3, 1), dtype)], exact=True)


def test_broadcast_to_incompatible_raises_shape_error():
    model = _one_op("BROADCAST_TO", [((3, 2), np.float32, None)], [((3, 4), np.float32, None)],
                    consts={1: np.array([3, 4], np.int32)}, version=2)
    _both_fail(model, [_rand((3, 2), np.float32)], edgerun.ShapeError, "BROADCAST_TO")


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("axes", [[0], [1], [-1], [1, 2], [1, 2, 3]], ids=str)
def test_reverse_v2(axes, q):
    tf = _tf()
    model = _fn(lambda x: tf.reverse(x, axes), [(2, 3, 4, 2)], f"reverse-{axes}", q)
    _check(model, "REVERSE_V2")


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_reverse_v2_dtypes_hand_built(dtype):
    model = _one_op("REVERSE_V2", [((3, 4, 2), dtype, None)], [((3, 4, 2), dtype, None)],
                    consts={1: np.array([-2], np.int32)})
    assert_matches_litert(model, [_rand((3, 4, 2), dtype)], exact=True)


@pytest.mark.parametrize("axes", [[0, 2], [2, 0, 3], [-1, 1]], ids=str)
def test_reverse_v2_non_contiguous_axes_hand_built(axes):
    """LiteRT reverses only contiguous axes; edgerun takes any set, checked against LiteRT reversing one axis
    at a time."""
    from edgerun.schema.builder import ModelBuilder

    x = _rand((2, 3, 4, 2), np.int8)
    model = _one_op("REVERSE_V2", [((2, 3, 4, 2), np.int8, None)], [((2, 3, 4, 2), np.int8, None)],
                    consts={1: np.array(axes, np.int32)})
    b = ModelBuilder()
    t = b.tensor("x", (2, 3, 4, 2), np.int8)
    first = t
    for k, a in enumerate(axes):
        y = b.tensor(f"y{k}", (2, 3, 4, 2), np.int8)
        b.op("REVERSE_V2", [t, b.const(f"a{k}", np.array([a], np.int32))], [y])
        t = y
    b.inputs([first])
    b.outputs([t])
    np.testing.assert_array_equal(edgerun_run(model, [x])[0], litert_run(b.finish(), [x])[0])


# -- GATHER / GATHER_ND --------------------------------------------------------------------------------
GATHERS = [  # (params shape, indices, axis, batch_dims)
    ((5, 3), [4, 0, 2, 2], 0, 0),
    ((2, 5, 3), [[1, 4], [0, 3]], 1, 0),
    ((2, 3, 6), [5, 0, 1], -1, 0),
    ((2, 4, 3), [[3, 1], [0, 0]], 1, 1),
    ((2, 3, 4, 2), [[[1], [2], [0]], [[3], [3], [0]]], 2, 2),
    ((4, 3), 2, 0, 0),
]


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("idx_dtype", ["int32", "int64"])
@pytest.mark.parametrize("case", range(len(GATHERS)))
def test_gather(case, idx_dtype, q):
    tf = _tf()
    shape, idx, axis, bd = GATHERS[case]
    ix = np.array(idx, idx_dtype)
    model = _fn(lambda x: tf.gather(x, ix, axis=axis, batch_dims=bd), [shape], f"gather-{case}-{idx_dtype}",
                q)
    _check(model, "GATHER")


@pytest.mark.parametrize("idx_dtype", [np.int32, np.int64])
def test_gather_runtime_indices(idx_dtype):
    tf = _tf()
    model = _fn(lambda x, i: tf.gather(x, i, axis=1), [(3, 5, 2), (2, 4)], f"gather-rt-{np.dtype(idx_dtype)}",
                dtypes=[tf.float32, tf.as_dtype(idx_dtype)])
    ix = np.array([[4, 0, 1, 1], [3, 2, 2, 0]], idx_dtype)
    _check(model, "GATHER", [_rand((3, 5, 2), np.float32), ix])


@pytest.mark.parametrize("bad", [-1, 5])
def test_gather_index_out_of_range_fails(bad):
    tf = _tf()
    model = _fn(lambda x, i: tf.gather(x, i, axis=1), [(3, 5, 2), (2,)], "gather-rt-bad",
                dtypes=[tf.float32, tf.int32])
    _both_fail(model, [_rand((3, 5, 2), np.float32), np.array([0, bad], np.int32)], edgerun.InvokeError)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_gather_dtypes_hand_built(dtype):
    model = _one_op("GATHER", [((4, 3), dtype, None), ((2, 2), np.int32, None)], [((2, 2, 3), dtype, None)],
                    {"axis": 0})
    assert_matches_litert(model, [_rand((4, 3), dtype), np.array([[3, 0], [1, 1]], np.int32)], exact=True)


@pytest.mark.parametrize("idx_dtype", [np.int16, np.int32, np.int64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("axis,bd,out", [(1, 1, (2, 3, 2)), (-1, -1, (2, 3, 3)), (2, -1, (2, 3, 3)),
                                         (0, 0, (2, 3, 3, 4))], ids=str)
def test_gather_axis_batch_dims_hand_built(axis, bd, out, idx_dtype):
    # params (2, 3, 4), indices (2, 3); a negative batch_dims counts from the indices' rank.
    model = _one_op("GATHER", [((2, 3, 4), np.int8, (0.5, 1)), ((2, 3), idx_dtype, None)],
                    [(out, np.int8, (0.5, 1))], {"axis": axis, "batchDims": bd})
    ix = np.array([[1, 0, 1], [0, 1, 1]], idx_dtype)
    assert_matches_litert(model, [_rand((2, 3, 4), np.int8), ix], exact=True)


GATHER_ND = [((4, 3), [[1, 2], [3, 0]]), ((4, 3), [[2], [0], [3]]), ((2, 3, 4), [[[0, 2], [1, 1]]]),
             ((2, 3, 4), [[1, 2, 3], [0, 0, 0]]), ((2, 3, 4), [1, 2])]


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("idx_dtype", ["int32", "int64"])
@pytest.mark.parametrize("case", range(len(GATHER_ND)))
def test_gather_nd(case, idx_dtype, q):
    tf = _tf()
    shape, idx = GATHER_ND[case]
    ix = np.array(idx, idx_dtype)
    model = _fn(lambda x: tf.gather_nd(x, ix), [shape], f"gathernd-{case}-{idx_dtype}", q)
    _check(model, "GATHER_ND")


@pytest.mark.parametrize("idx_dtype", [np.int16, np.int32, np.int64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_gather_nd_dtypes_hand_built(dtype, idx_dtype):
    model = _one_op("GATHER_ND", [((3, 4, 2), dtype, None), ((2, 2), idx_dtype, None)],
                    [((2, 2), dtype, None)])
    assert_matches_litert(model, [_rand((3, 4, 2), dtype), np.array([[2, 3], [0, 1]], idx_dtype)], exact=True)


def test_gather_nd_index_out_of_range_fails():
    model = _one_op("GATHER_ND", [((3, 4), np.float32, None), ((1, 2), np.int32, None)],
                    [((1,), np.float32, None)])
    _both_fail(model, [_rand((3, 4), np.float32), np.array([[3, 3]], np.int32)], edgerun.InvokeError)


# -- RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR ---------------------------------------------------------
RESIZE_SIZES = [((4, 5), (7, 9)), ((6, 8), (3, 5)), ((3, 3), (6, 6)), ((5, 7), (5, 7)), ((1, 4), (3, 1)),
                ((4, 4), (8, 15)), ((3, 7), (41, 19))]
FLAGS = [(False, False), (True, False), (False, True)]


def _resize_fn(kind, size, align, half):
    tf = _tf()
    op = tf.raw_ops.ResizeBilinear if kind == "bilinear" else tf.raw_ops.ResizeNearestNeighbor
    return lambda x: op(images=x, size=list(size), align_corners=align, half_pixel_centers=half)


@pytest.mark.parametrize("q", [None, "int8", "int16x8"])
@pytest.mark.parametrize("flags", FLAGS, ids=["plain", "align", "half"])
@pytest.mark.parametrize("src,dst", RESIZE_SIZES, ids=str)
@pytest.mark.parametrize("kind", ["bilinear", "nearest"])
def test_resize(kind, src, dst, flags, q):
    align, half = flags
    shape = (2,) + src + (3,)
    model = _fn(_resize_fn(kind, dst, align, half), [shape], f"resize-{kind}-{src}-{dst}-{flags}", q)
    op = "RESIZE_BILINEAR" if kind == "bilinear" else "RESIZE_NEAREST_NEIGHBOR"
    _check(model, op, exact=q is not None or kind == "nearest")


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("flags", FLAGS, ids=["plain", "align", "half"])
@pytest.mark.parametrize("src,dst", RESIZE_SIZES, ids=str)
def test_resize_bilinear_integer_hand_built(src, dst, flags, dtype):
    """Every integer dtype over its full range (extremes included), bit for bit."""
    align, half = flags
    q = (0.05, 0) if dtype == np.int16 else (0.05, 3)
    shape = (1,) + src + (4,)
    model = _one_op("RESIZE_BILINEAR", [(shape, dtype, q)], [((1,) + dst + (4,), dtype, q)],
                    {"alignCorners": align, "halfPixelCenters": half}, consts={1: np.array(dst, np.int32)})
    x = _rand(shape, dtype)
    info = np.iinfo(dtype)
    x.flat[::5] = info.max
    x.flat[1::7] = info.min
    assert_matches_litert(model, [x], exact=True)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int8, np.int16, np.int32, np.bool_],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("flags", FLAGS, ids=["plain", "align", "half"])
def test_resize_nearest_dtypes_hand_built(flags, dtype):
    align, half = flags
    model = _one_op("RESIZE_NEAREST_NEIGHBOR", [((1, 3, 5, 2), dtype, None)], [((1, 7, 4, 2), dtype, None)],
                    {"alignCorners": align, "halfPixelCenters": half}, consts={1: np.array([7, 4], np.int32)})
    assert_matches_litert(model, [_rand((1, 3, 5, 2), dtype)], exact=True)


def test_resize_align_and_half_together_rejected():
    model = _one_op("RESIZE_BILINEAR", [((1, 3, 3, 1), np.float32, None)], [((1, 6, 6, 1), np.float32, None)],
                    {"alignCorners": True, "halfPixelCenters": True}, consts={1: np.array([6, 6], np.int32)})
    _both_fail(model, [_rand((1, 3, 3, 1), np.float32)], edgerun.UnsupportedOpError, "RESIZE_BILINEAR")


# -- DEPTH_TO_SPACE / SPACE_TO_DEPTH / SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND ---------------------------
@pytest.mark.parametrize("q", Q[:2])  # the converter has no int16x8 DEPTH_TO_SPACE
@pytest.mark.parametrize("block", [2, 3])
def test_depth_to_space(block, q):
    tf = _tf()
    model = _fn(lambda x: tf.nn.depth_to_space(x, block), [(2, 3, 2, 2 * block * block)], f"d2s-{block}", q)
    _check(model, "DEPTH_TO_SPACE")


@pytest.mark.parametrize("q", Q[:2])  # the converter has no int16x8 SPACE_TO_DEPTH
@pytest.mark.parametrize("block", [2, 3])
def test_space_to_depth(block, q):
    tf = _tf()
    model = _fn(lambda x: tf.nn.space_to_depth(x, block), [(2, 2 * block, 3 * block, 3)], f"s2d-{block}", q)
    _check(model, "SPACE_TO_DEPTH")


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int32, np.int64],
                         ids=lambda d: np.dtype(d).name)
def test_depth_space_dtypes_hand_built(dtype):
    x = _rand((1, 2, 3, 8), dtype)
    model = _one_op("DEPTH_TO_SPACE", [((1, 2, 3, 8), dtype, None)], [((1, 4, 6, 2), dtype, None)],
                    {"blockSize": 2})
    assert_matches_litert(model, [x], exact=True)
    model = _one_op("SPACE_TO_DEPTH", [((1, 2, 4, 3), dtype, None)], [((1, 1, 2, 12), dtype, None)],
                    {"blockSize": 2})
    assert_matches_litert(model, [_rand((1, 2, 4, 3), dtype)], exact=True)


S2B = [((2, 4, 6, 3), [2, 2], [[0, 0], [0, 0]]), ((1, 5, 4, 2), [2, 3], [[1, 0], [1, 1]]),
       ((2, 3, 3, 1), [3, 1], [[0, 0], [2, 0]]), ((2, 5, 3), [2], [[1, 0]])]


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("case", range(len(S2B)))
def test_space_to_batch_nd(case, q):
    tf = _tf()
    shape, block, pads = S2B[case]
    model = _fn(lambda x: tf.space_to_batch_nd(x, block, pads), [shape], f"s2b-{case}", q)
    _check(model, "SPACE_TO_BATCH_ND")


B2S = [((8, 2, 3, 3), [2, 2], [[0, 0], [0, 0]]), ((6, 3, 2, 2), [2, 3], [[1, 0], [1, 2]]),
       ((4, 3, 2), [2], [[0, 1]]), ((6, 2, 2, 1), [3, 1], [[2, 1], [0, 0]])]


@pytest.mark.parametrize("q", Q)
@pytest.mark.parametrize("case", range(len(B2S)))
def test_batch_to_space_nd(case, q):
    tf = _tf()
    shape, block, crops = B2S[case]
    model = _fn(lambda x: tf.batch_to_space(x, block, crops), [shape], f"b2s-{case}", q)
    _check(model, "BATCH_TO_SPACE_ND")


@pytest.mark.parametrize("dtype,quant", [(np.float32, None), (np.int8, (0.1, -9)), (np.uint8, (0.1, 77)),
                                         (np.int16, (0.1, 0)), (np.int32, None), (np.int64, None)],
                         ids=lambda v: np.dtype(v).name if isinstance(v, type) else str(v))
def test_space_batch_dtypes_hand_built(dtype, quant):
    # Padding takes the zero point of quantized tensors.
    pads = np.array([[1, 0], [2, 1]], np.int32)
    model = _one_op("SPACE_TO_BATCH_ND", [((1, 3, 3, 2), dtype, quant)], [((4, 2, 3, 2), dtype, quant)],
                    consts={1: np.array([2, 2], np.int32), 2: pads})
    assert_matches_litert(model, [_rand((1, 3, 3, 2), dtype)], exact=True)
    model = _one_op("BATCH_TO_SPACE_ND", [((4, 2, 3, 2), dtype, quant)], [((1, 3, 3, 2), dtype, quant)],
                    consts={1: np.array([2, 2], np.int32), 2: pads})
    assert_matches_litert(model, [_rand((4, 2, 3, 2), dtype)], exact=True)


def test_space_to_batch_indivisible_raises_shape_error():
    model = _one_op("SPACE_TO_BATCH_ND", [((1, 3, 4, 1), np.float32, None)],
                    [((4, 1, 2, 1), np.float32, None)],
                    consts={1: np.array([2, 2], np.int32), 2: np.zeros((2, 2), np.int32)})
    _both_fail(model, [_rand((1, 3, 4, 1), np.float32)], edgerun.ShapeError, "SPACE_TO_BATCH_ND")


# -- SHAPE and dynamic shapes --------------------------------------------------------------------------
@pytest.mark.parametrize("out", ["int32", "int64"])
def test_shape(out):
    tf = _tf()
    model = _fn(lambda x: tf.shape(x, out_type=getattr(tf, out)), [(None, 3, None)], f"shape-{out}")
    assert "SHAPE" in _ops(model)
    for shp in [(2, 3, 4), (5, 3, 1)]:
        assert_matches_litert(model, [_rand(shp, np.float32)], exact=True)


@pytest.mark.parametrize("out", [np.int32, np.int64])
def test_shape_hand_built(out):
    from edgerun.schema.builder import tensor_type

    model = _one_op("SHAPE", [((2, 3, 4, 1), np.int8, None)], [((4,), out, None)],
                    {"outType": tensor_type(out)})
    assert_matches_litert(model, [_rand((2, 3, 4, 1), np.int8)], exact=True)


def _dynamic_model():
    tf = _tf()

    def fn(x):
        n = tf.shape(x)[0]
        y = tf.reshape(x, [n, 3, 2])  # SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE
        z = tf.concat([y, y[:, ::-1] * 2.0], axis=1)
        return z[:, 1:5, ::-1], tf.reshape(z, [-1])

    return _fn(fn, [(None, 6)], "dynamic")


def test_dynamic_batch_resized():
    """A model with a None dimension, resized with resize_tensor_input (twice on one interpreter)."""
    model = _dynamic_model()
    ops = _ops(model)
    assert {"RESHAPE", "CONCATENATION", "STRIDED_SLICE"} <= set(ops), ops
    ours = edgerun.Interpreter(model_content=model)
    theirs = litert_interpreter(model)
    for n in (3, 1, 5):
        x = _rand((n, 6), np.float32, seed=n)
        res = []
        for it in (ours, theirs):
            it.resize_tensor_input(it.get_input_details()[0]["index"], [n, 6])
            it.allocate_tensors()
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
            res.append([it.get_tensor(d["index"]) for d in it.get_output_details()])
        assert len(res[0]) == len(res[1])
        for a, b in zip(*res):
            assert a.shape == b.shape
            np.testing.assert_array_equal(a, b)


def test_dynamic_resize_to_incompatible_shape_raises_shape_error():
    model = _dynamic_model()
    with pytest.raises(Exception):
        litert_run(model, [_rand((2, 7), np.float32)])
    ours = edgerun.Interpreter(model_content=model)
    ours.resize_tensor_input(ours.get_input_details()[0]["index"], [2, 7])
    with pytest.raises(edgerun.ShapeError, match="RESHAPE"):
        ours.allocate_tensors()


def test_resize_to_size_of_another_input():
    """The resize size comes from a second input's shape (SHAPE -> STRIDED_SLICE), computed at prepare."""
    tf = _tf()
    model = _fn(lambda x, y: tf.image.resize(x, tf.shape(y)[1:3], method="nearest"),
                [(1, 3, 4, 2), (1, None, None, 1)], "resize-like")
    ours = edgerun.Interpreter(model_content=model)
    theirs = litert_interpreter(model)
    for hw in [(5, 7), (2, 9)]:
        ins = [_rand((1, 3, 4, 2), np.float32), np.zeros((1,) + hw + (1,), np.float32)]
        res = []
        for it in (ours, theirs):
            it.resize_tensor_input(it.get_input_details()[1]["index"], ins[1].shape)
            it.allocate_tensors()
            for d, v in zip(it.get_input_details(), ins):
                it.set_tensor(d["index"], v)
            it.invoke()
            res.append(it.get_tensor(it.get_output_details()[0]["index"]))
        assert res[0].shape == res[1].shape == (1,) + hw + (2,)
        np.testing.assert_array_equal(res[0], res[1])


def test_strided_slice_random_hand_built():
    """Random begin/end/strides and masks on a 4-D input, 150 cases, against LiteRT. Cases TensorFlow itself
    refuses (e.g. a shrunk index out of range) are skipped; TensorFlow's result shape is the declared one."""
    tf = _tf()
    rng = _rng(42)
    shape = (3, 4, 5, 2)
    x = _rand(shape, np.int16)
    done = 0
    while done < 150:
        n = int(rng.integers(1, 6))
        begin = rng.integers(-6, 7, n).astype(np.int32)
        end = rng.integers(-6, 7, n).astype(np.int32)
        strides = rng.choice([-3, -2, -1, 1, 2, 3], n).astype(np.int32)
        masks = [int(rng.integers(0, 1 << n)) for _ in range(2)]
        ell = int(1 << rng.integers(0, n)) if rng.random() < 0.3 else 0
        new = int(rng.integers(0, 1 << n)) & ~ell if rng.random() < 0.3 else 0
        shrink = int(rng.integers(0, 1 << n)) & ~ell & ~new if rng.random() < 0.5 else 0
        opts = {"beginMask": masks[0], "endMask": masks[1], "ellipsisMask": ell, "newAxisMask": new,
                "shrinkAxisMask": shrink}
        try:
            want = tf.strided_slice(x, begin, end, strides, begin_mask=masks[0], end_mask=masks[1],
                                    ellipsis_mask=ell, new_axis_mask=new, shrink_axis_mask=shrink).numpy()
        except Exception:
            continue
        if want.size == 0 or want.ndim == 0:
            continue  # LiteRT's Python API cannot read empty or (here) scalar outputs
        model = _one_op("STRIDED_SLICE", [(shape, np.int16, None)], [(want.shape, np.int16, None)], opts,
                        consts={1: begin, 2: end, 3: strides})
        ours, theirs = edgerun_run(model, [x])[0], litert_run(model, [x])[0]
        case = (begin.tolist(), end.tolist(), strides.tolist(), opts)
        # (LiteRT departs from TensorFlow where an ellipsis stands for no dimension; LiteRT is the oracle.)
        assert ours.shape == theirs.shape and np.array_equal(ours, theirs), case
        done += 1


def _random_index_map_case(rng, t):
    """One random PAD / MIRROR_PAD / TILE / TRANSPOSE / SLICE / REVERSE_V2 / BROADCAST_TO / GATHER model
    on a rank 1-5 tensor (these share edgerun's index-map kernel and its table simplification)."""
    r = int(rng.integers(1, 6))
    shape = tuple(int(v) for v in rng.integers(1, 5, r))
    kind = ["PAD", "MIRROR_PAD", "TILE", "TRANSPOSE", "SLICE", "REVERSE_V2", "BROADCAST_TO", "GATHER"][t % 8]
    opts, consts, version = {}, {}, 1
    if kind == "PAD":
        p = rng.integers(0, 3, (r, 2))
        out = tuple(int(d + a + b) for d, (a, b) in zip(shape, p))
        consts = {1: p.astype(np.int32)}
    elif kind == "MIRROR_PAD":
        mode = int(rng.integers(0, 2))
        opts = {"mode": mode}
        p = np.array([rng.integers(0, d - 1 + mode + 1, 2) for d in shape])
        out = tuple(int(d + a + b) for d, (a, b) in zip(shape, p))
        consts = {1: p.astype(np.int32)}
    elif kind == "TILE":
        m = rng.integers(1, 3, r)
        out = tuple(int(d * k) for d, k in zip(shape, m))
        consts = {1: m.astype(np.int32)}
    elif kind == "TRANSPOSE":
        perm = rng.permutation(r)
        out = tuple(shape[k] for k in perm)
        consts = {1: perm.astype(np.int32)}
    elif kind == "SLICE":
        b = np.array([rng.integers(0, d) for d in shape])
        s = np.array([rng.integers(1, d - v + 1) for d, v in zip(shape, b)])
        s = np.where(rng.random(r) < 0.3, -1, s)
        out = tuple(int(d - v if w == -1 else w) for d, v, w in zip(shape, b, s))
        consts = {1: b.astype(np.int32), 2: s.astype(np.int32)}
    elif kind == "REVERSE_V2":
        out = shape
        consts = {1: np.array([rng.integers(-r, r)], np.int32)}
    elif kind == "BROADCAST_TO":
        lead = tuple(int(v) for v in rng.integers(1, 3, int(rng.integers(0, 2))))
        out = lead + shape
        shape = tuple(1 if rng.random() < 0.4 else d for d in shape)
        consts, version = {1: np.array(out, np.int32)}, 2
    else:
        ax = int(rng.integers(0, r))
        idx = rng.integers(0, shape[ax], int(rng.integers(1, 4))).astype(np.int32)
        out = shape[:ax] + (idx.size,) + shape[ax + 1:]
        consts, opts = {1: idx}, {"axis": ax}
    return kind, shape, out, opts, consts, version


def test_index_map_ops_random_hand_built():
    rng = _rng(11)
    for t in range(240):
        dtype = [np.int8, np.float32, np.int16, np.int64, np.uint8][t % 5]
        kind, shape, out, opts, consts, version = _random_index_map_case(rng, t)
        model = _one_op(kind, [(shape, dtype, None)], [(out, dtype, None)], opts, consts=consts,
                        version=version)
        x = _rand(shape, dtype, t)
        ours, theirs = edgerun_run(model, [x])[0], litert_run(model, [x])[0]
        assert ours.shape == theirs.shape and np.array_equal(ours, theirs), (kind, shape, opts, consts)
