"""Data-family ops (runtime/ops/data_index.py, data_math.py) against LiteRT's builtin kernels: one hand-built
one-op model per (op, type), run by both interpreters on the same inputs. Integer and moved outputs are
compared bit for bit, float math within 1e-3 of the output scale. Types LiteRT does not run are refused by
both; data-dependent errors (indices out of range) fail in both."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import assert_matches_litert, edgerun_run, litert_run, tf_convert_function

import edgerun

F32, F64, I8, U8, I16, U16, I32, U32, I64, BOOL = (np.float32, np.float64, np.int8, np.uint8, np.int16,
                                                   np.uint16, np.int32, np.uint32, np.int64, np.bool_)
C64, C128 = np.complex64, np.complex128


def _name(d):
    return np.dtype(d).name


def _one_op(op, ins, outs, options=None, consts=None):
    """A one-op model: ins/outs are (shape, dtype) or (shape, dtype, quant) of run-time tensors; consts maps an
    input position to a constant array (or (array, quant)), inserted among the run-time inputs."""
    b = ModelBuilder()
    consts = consts or {}
    rt = [b.tensor(f"x{i}", t[0], t[1], quant=t[2] if len(t) > 2 else None) for i, t in enumerate(ins)]
    op_in, it = [], iter(rt)
    for pos in range(len(rt) + len(consts)):
        if pos in consts:
            c = consts[pos]
            op_in.append(b.const(f"c{pos}", c[0], quant=c[1]) if isinstance(c, tuple) else b.const(f"c{pos}", c))
        else:
            op_in.append(next(it))
    ys = [b.tensor(f"y{i}", t[0], t[1], quant=t[2] if len(t) > 2 else None) for i, t in enumerate(outs)]
    b.op(op, op_in, ys, options)
    b.inputs(rt)
    b.outputs(ys)
    return b.finish()


def _rand(shape, dtype, seed=0, lo=None, hi=None):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "c":
        return (rng.uniform(-4, 4, shape) + 1j * rng.uniform(-4, 4, shape)).astype(dt)
    if dt.kind == "f":
        return rng.uniform(-4 if lo is None else lo, 4 if hi is None else hi, shape).astype(dt)
    if dt == np.bool_:
        return rng.random(shape) < 0.5
    info = np.iinfo(dt)
    lo = info.min if lo is None else lo
    hi = int(info.max) if hi is None else hi
    return rng.integers(lo, hi + 1, shape, dtype=np.int64).astype(dt)


def _ops(model):
    from ai_edge_litert.interpreter import Interpreter

    return {d["op_name"] for d in Interpreter(model_content=model)._get_ops_details()}


def _both_fail(model, inputs, match=None):
    with pytest.raises((RuntimeError, ValueError)):  # LiteRT's prepare / invoke failures
        litert_run(model, inputs)
    with pytest.raises(edgerun.EdgerunError, match=match):
        edgerun_run(model, inputs)


# -- ONE_HOT ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, I32, I64, I8, U8, BOOL], ids=_name)
@pytest.mark.parametrize("itype,axis", [(I32, -1), (I64, 0), (I32, 1)], ids=str)
def test_one_hot(dtype, itype, axis):
    shape = (3, 4)
    out = {-1: (3, 4, 5), 0: (5, 3, 4), 1: (3, 5, 4)}[axis]
    model = _one_op("ONE_HOT", [(shape, itype), ((), dtype), ((), dtype)], [(out, dtype)], {"axis": axis},
                    consts={1: np.array(5, np.int32)})
    ix = _rand(shape, itype, lo=-2, hi=6)  # out-of-range indices select nothing
    if itype == I64:
        ix[0, 0] = (1 << 32) + 2  # LiteRT compares static_cast<int>(index): 2
    on, off = _rand((), dtype, 1), _rand((), dtype, 2)
    assert_matches_litert(model, [ix, on, off], exact=True)


def test_one_hot_int16_refused_like_litert():
    model = _one_op("ONE_HOT", [((3,), I32)], [((3, 4), I16)], {"axis": -1},
                    consts={1: np.array(4, np.int32), 2: np.array(1, I16), 3: np.array(0, I16)})
    _both_fail(model, [np.array([0, 1, 2], np.int32)], match="ONE_HOT.*INT16")


# -- CUMSUM -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, I32, I64], ids=_name)
@pytest.mark.parametrize("axis,exclusive,reverse", [(0, False, False), (-1, True, False), (1, False, True),
                                                    (1, True, True)], ids=str)
def test_cumsum(dtype, axis, exclusive, reverse):
    model = _one_op("CUMSUM", [((2, 5, 3), dtype)], [((2, 5, 3), dtype)],
                    {"exclusive": exclusive, "reverse": reverse}, consts={1: np.array(axis, np.int32)})
    x = _rand((2, 5, 3), dtype)  # full integer range: sums wrap as in LiteRT
    assert_matches_litert(model, [x], exact=dtype != F32)


def test_cumsum_int8_refused_like_litert():
    model = _one_op("CUMSUM", [((3,), I8)], [((3,), I8)], None, consts={1: np.array(0, np.int32)})
    _both_fail(model, [np.zeros(3, I8)], match="CUMSUM.*INT8")


# -- TOPK_V2 ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, U8, I8, I16, I32, I64], ids=_name)
@pytest.mark.parametrize("itype", [I32, I16], ids=_name)
def test_topk(dtype, itype):
    model = _one_op("TOPK_V2", [((3, 2, 9), dtype)], [((3, 2, 4), dtype), ((3, 2, 4), itype)],
                    consts={1: np.array(4, np.int32)})
    x = _rand((3, 2, 9), dtype, lo=-3, hi=3)  # many ties: the lower index comes first
    assert_matches_litert(model, [x], exact=True)


@pytest.mark.parametrize("k", [0, 1, 7])
def test_topk_k_edges(k):
    model = _one_op("TOPK_V2", [((7,), F32)], [((k,), F32), ((k,), I32)], consts={1: np.array(k, np.int32)})
    assert_matches_litert(model, [_rand((7,), F32)], exact=True)


# -- SCATTER_ND -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, U8, I8, I32, I64, BOOL], ids=_name)
def test_scatter_nd(dtype):
    # duplicate indices add (wrapping for integers, or-ing for bool)
    model = _one_op("SCATTER_ND", [((5, 2), I32), ((5, 3), dtype)], [((4, 2, 3), dtype)],
                    consts={2: np.array([4, 2, 3], np.int32)})
    ix = np.array([[0, 1], [3, 0], [0, 1], [2, 1], [3, 0]], np.int32)
    assert_matches_litert(model, [ix, _rand((5, 3), dtype)], exact=True)


def test_scatter_nd_out_of_range_fails_like_litert():
    model = _one_op("SCATTER_ND", [((2, 1), I32), ((2,), F32)], [((4,), F32)], consts={2: np.array([4], np.int32)})
    _both_fail(model, [np.array([[0], [4]], np.int32), np.ones(2, F32)], match="SCATTER_ND")


def test_scatter_nd_int64_indices_refused_like_litert():
    model = _one_op("SCATTER_ND", [((2, 1), I64), ((2,), F32)], [((4,), F32)], consts={2: np.array([4], np.int64)})
    _both_fail(model, [np.array([[0], [1]], np.int64), np.ones(2, F32)], match="SCATTER_ND.*INT64")


# -- EMBEDDING_LOOKUP -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, F64, I8, U8, I16, U16, I32, U32, I64, BOOL], ids=_name)
def test_embedding_lookup(dtype):
    model = _one_op("EMBEDDING_LOOKUP", [((4,), I32)], [((4, 2, 3), dtype)], consts={1: _rand((5, 2, 3), dtype)})
    assert_matches_litert(model, [np.array([4, 0, 0, 2], np.int32)], exact=True)


@pytest.mark.parametrize("dtype", [I8, U8], ids=_name)
@pytest.mark.parametrize("per_row", [False, True], ids=["per-tensor", "per-row"])
def test_embedding_lookup_hybrid(dtype, per_row):
    # int8/uint8 tables dequantized to float32; LiteRT reads the bytes as int8 for both
    scale = np.linspace(0.01, 0.05, 5).astype(np.float32) if per_row else 0.02
    w = _rand((5, 6), dtype)
    model = _one_op("EMBEDDING_LOOKUP", [((3,), I32)], [((3, 6), F32)],
                    consts={1: (w, {"scale": scale, "zero_point": 0})})
    assert_matches_litert(model, [np.array([1, 4, 1], np.int32)], exact=True)


def test_embedding_lookup_out_of_range_fails_like_litert():
    model = _one_op("EMBEDDING_LOOKUP", [((2,), I32)], [((2, 3), F32)], consts={1: _rand((4, 3), F32)})
    _both_fail(model, [np.array([0, 4], np.int32)], match="EMBEDDING_LOOKUP")


# -- DYNAMIC_UPDATE_SLICE ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, F64, I8, U8, I16, U16, I32, U32, I64, BOOL], ids=_name)
@pytest.mark.parametrize("itype", [I32, I64], ids=_name)
def test_dynamic_update_slice(dtype, itype):
    model = _one_op("DYNAMIC_UPDATE_SLICE", [((4, 5, 3), dtype), ((2, 3, 3), dtype), ((3,), itype)],
                    [((4, 5, 3), dtype)])
    x, u = _rand((4, 5, 3), dtype, 1), _rand((2, 3, 3), dtype, 2)
    for start in ([1, 2, 0], [-3, 9, 1]):  # starts are clamped into range
        assert_matches_litert(model, [x, u, np.array(start, itype)], exact=True)


# -- ADD_N, BROADCAST_ARGS, RANK --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, I32], ids=_name)
def test_add_n(dtype):
    model = _one_op("ADD_N", [((2, 3), dtype)] * 3, [((2, 3), dtype)])
    assert_matches_litert(model, [_rand((2, 3), dtype, s) for s in range(3)], exact=dtype != F32)


def test_add_n_int64_refused_like_litert():
    model = _one_op("ADD_N", [((2,), I64)] * 2, [((2,), I64)])
    _both_fail(model, [np.ones(2, I64)] * 2, match="ADD_N.*INT64")


@pytest.mark.parametrize("dtype", [I32, I64], ids=_name)
def test_broadcast_args(dtype):
    model = _one_op("BROADCAST_ARGS", [((3,), dtype), ((1,), dtype)], [((3,), dtype)])
    assert_matches_litert(model, [np.array([2, 1, 7], dtype), np.array([7], dtype)], exact=True)
    model = _one_op("BROADCAST_ARGS", [((2,), dtype), ((4,), dtype)], [((4,), dtype)])
    assert_matches_litert(model, [np.array([1, 3], dtype), np.array([5, 6, 7, 3], dtype)], exact=True)
    # shapes that do not broadcast: LiteRT aborts the process (not run here), edgerun raises
    with pytest.raises(edgerun.EdgerunError, match="BROADCAST_ARGS"):
        edgerun_run(model, [np.array([2, 3], dtype), np.array([5, 6, 7, 4], dtype)])


@pytest.mark.parametrize("shape", [(), (3,), (2, 1, 4, 3)], ids=str)
def test_rank(shape):
    model = _one_op("RANK", [(shape, F32)], [((), I32)])
    assert_matches_litert(model, [_rand(shape, F32)], exact=True)


# -- segment reductions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["UNSORTED_SEGMENT_SUM", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX",
                                "UNSORTED_SEGMENT_MIN"])
@pytest.mark.parametrize("dtype", [F32, I32], ids=_name)
def test_unsorted_segment(op, dtype):
    # ids of rank 2 over data (3, 2, 4); segment 3 stays empty (the op's identity), -1 is skipped
    model = _one_op(op, [((3, 2, 4), dtype), ((3, 2), I32)], [((4, 4), dtype)], consts={2: np.array([4], np.int32)})
    ids = np.array([[0, 2], [-1, 0], [1, 2]], np.int32)
    x = _rand((3, 2, 4), dtype, lo=-50, hi=50)
    assert_matches_litert(model, [x, ids], exact=dtype != F32)


def test_unsorted_segment_id_out_of_range_fails_like_litert():
    model = _one_op("UNSORTED_SEGMENT_SUM", [((3,), F32), ((3,), I32)], [((2,), F32)],
                    consts={2: np.array([2], np.int32)})
    _both_fail(model, [np.ones(3, F32), np.array([0, 2, 1], np.int32)], match="UNSORTED_SEGMENT_SUM")


@pytest.mark.parametrize("dtype", [F32, I32], ids=_name)
def test_segment_sum(dtype):
    model = _one_op("SEGMENT_SUM", [((5, 3), dtype)], [((3, 3), dtype)],
                    consts={1: np.array([0, 0, 1, 2, 2], np.int32)})
    assert_matches_litert(model, [_rand((5, 3), dtype)], exact=dtype != F32)


def test_segment_sum_ids_with_a_gap_fail_like_litert():
    model = _one_op("SEGMENT_SUM", [((4,), F32)], [((3,), F32)], consts={1: np.array([0, 0, 2, 2], np.int32)})
    _both_fail(model, [np.ones(4, F32)], match="SEGMENT_SUM.*grow by 0 or 1")


# -- BUCKETIZE, ATAN2, BITWISE_XOR, RIGHT_SHIFT -----------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, F64, I32, I64], ids=_name)
def test_bucketize(dtype):
    bounds = [-2.5, -1.0, 0.0, 0.0, 1.5, 3.0]
    model = _one_op("BUCKETIZE", [((4, 6), dtype)], [((4, 6), I32)], {"boundaries": bounds})
    x = _rand((4, 6), dtype, lo=-4, hi=4)
    x.ravel()[:6] = np.array(bounds).astype(dtype)  # values on a boundary go above it
    assert_matches_litert(model, [x], exact=True)


@pytest.mark.parametrize("dtype", [F32, F64], ids=_name)
def test_atan2(dtype):
    model = _one_op("ATAN2", [((3, 4), dtype), ((3, 4), dtype)], [((3, 4), dtype)])
    y, x = _rand((3, 4), dtype, 1), _rand((3, 4), dtype, 2)
    x[0, :2] = 0
    y[0, 0] = 0
    assert_matches_litert(model, [y, x], rtol=1e-6)


@pytest.mark.parametrize("op", ["BITWISE_XOR", "RIGHT_SHIFT"])
@pytest.mark.parametrize("dtype", [I8, U8, I16, U16, I32, U32], ids=_name)
def test_bitwise(op, dtype):
    model = _one_op(op, [((2, 3, 4), dtype), ((3, 1), dtype)], [((2, 3, 4), dtype)])
    a = _rand((2, 3, 4), dtype, 1)
    bits = np.dtype(dtype).itemsize * 8
    b = _rand((3, 1), dtype, 2) if op == "BITWISE_XOR" else np.array([[-3 if dtype in (I8, I16, I32) else 0],
                                                                       [bits + 5], [3]]).astype(dtype)
    assert_matches_litert(model, [a, b], exact=True)


# -- MATRIX_DIAG, MATRIX_SET_DIAG, REVERSE_SEQUENCE -------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, I8, U8, I16, I32, I64], ids=_name)
def test_matrix_diag(dtype):
    model = _one_op("MATRIX_DIAG", [((2, 3), dtype)], [((2, 3, 3), dtype)])
    assert_matches_litert(model, [_rand((2, 3), dtype)], exact=True)


@pytest.mark.parametrize("dtype", [F32, I8, U8, I16, I32, I64], ids=_name)
@pytest.mark.parametrize("rows,cols", [(3, 5), (4, 2)], ids=str)
def test_matrix_set_diag(dtype, rows, cols):
    model = _one_op("MATRIX_SET_DIAG", [((2, rows, cols), dtype), ((2, min(rows, cols)), dtype)],
                    [((2, rows, cols), dtype)])
    assert_matches_litert(model, [_rand((2, rows, cols), dtype, 1), _rand((2, min(rows, cols)), dtype, 2)],
                          exact=True)


def test_matrix_diag_bool_follows_tensorflow():
    # LiteRT 2.3's BOOL kernels misplace the diagonal (MATRIX_DIAG of [[F, T, T], [T, F, F]] puts all six
    # values in the first matrix); edgerun follows TensorFlow's definition, checked against numpy
    x = _rand((2, 3), BOOL)
    (ours,) = edgerun_run(_one_op("MATRIX_DIAG", [((2, 3), BOOL)], [((2, 3, 3), BOOL)]), [x])
    np.testing.assert_array_equal(ours, np.stack([np.diag(r) for r in x]))
    m, d = _rand((2, 3, 5), BOOL, 1), _rand((2, 3), BOOL, 2)
    (ours,) = edgerun_run(_one_op("MATRIX_SET_DIAG", [((2, 3, 5), BOOL), ((2, 3), BOOL)], [((2, 3, 5), BOOL)]),
                          [m, d])
    want = m.copy()
    want[:, np.arange(3), np.arange(3)] = d
    np.testing.assert_array_equal(ours, want)


@pytest.mark.parametrize("dtype", [F32, U8, I16, I32, I64], ids=_name)
@pytest.mark.parametrize("itype", [I32, I64], ids=_name)
@pytest.mark.parametrize("seq_dim,batch_dim", [(1, 0), (0, 2)], ids=str)
def test_reverse_sequence(dtype, itype, seq_dim, batch_dim):
    shape = (4, 5, 3)
    model = _one_op("REVERSE_SEQUENCE", [(shape, dtype), ((shape[batch_dim],), itype)], [(shape, dtype)],
                    {"seqDim": seq_dim, "batchDim": batch_dim})
    lens = np.array([0, shape[seq_dim], 2, -1, 1][:shape[batch_dim]], itype)
    assert_matches_litert(model, [_rand(shape, dtype), lens], exact=True)


def test_reverse_sequence_int8_refused_like_litert():
    model = _one_op("REVERSE_SEQUENCE", [((2, 3), I8), ((2,), I32)], [((2, 3), I8)], {"seqDim": 1, "batchDim": 0})
    _both_fail(model, [np.zeros((2, 3), I8), np.array([1, 2], np.int32)], match="REVERSE_SEQUENCE.*INT8")


# -- SPARSE_TO_DENSE, UNIQUE ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, I32, I64, I8, U8], ids=_name)
@pytest.mark.parametrize("itype", [I32, I64], ids=_name)
def test_sparse_to_dense(dtype, itype):
    model = _one_op("SPARSE_TO_DENSE", [((3, 2), itype), ((3,), dtype), ((), dtype)], [((3, 4), dtype)],
                    {"validateIndices": False}, consts={1: np.array([3, 4], itype)})
    ix = np.array([[0, 1], [2, 3], [1, 0]], itype)
    assert_matches_litert(model, [ix, _rand((3,), dtype, 1), _rand((), dtype, 2)], exact=True)
    # a scalar value for every index, 1-D indices
    model = _one_op("SPARSE_TO_DENSE", [((2,), itype), ((), dtype), ((), dtype)], [((5,), dtype)],
                    {"validateIndices": False}, consts={1: np.array([5], itype)})
    assert_matches_litert(model, [np.array([4, 1], itype), _rand((), dtype, 1), _rand((), dtype, 2)], exact=True)


def test_sparse_to_dense_out_of_range_fails_like_litert():
    model = _one_op("SPARSE_TO_DENSE", [((2, 1), I32), ((2,), F32), ((), F32)], [((4,), F32)],
                    {"validateIndices": False}, consts={1: np.array([4], np.int32)})
    _both_fail(model, [np.array([[0], [4]], np.int32), np.ones(2, F32), np.float32(0)], match="SPARSE_TO_DENSE")


@pytest.mark.parametrize("dtype", [F32, I8, U8, I16, I32, I64], ids=_name)
@pytest.mark.parametrize("itype", [I32, I64], ids=_name)
def test_unique_of_a_constant(dtype, itype):
    # UNIQUE's output size depends on the values: edgerun runs it on constants (folded at prepare); a
    # second op (ADD_N / any copy) is not needed, the outputs are the constants themselves
    x = np.array([3, 1, 3, 0, 1, 7, 0], dtype)
    b = ModelBuilder()
    c = b.const("x", x)
    yv = b.tensor("values", (4,), dtype)
    yi = b.tensor("idx", (7,), itype)
    b.op("UNIQUE", [c], [yv, yi], {"idxOutType": 2 if itype == I32 else 4})
    b.inputs([])
    b.outputs([yv, yi])
    assert_matches_litert(b.finish(), [], exact=True)


def test_unique_of_a_runtime_input_runs_in_stages():
    """The output size is the number of distinct input values: the Interpreter prepares the op once the input
    exists (runtime/staged.py), as LiteRT sizes its dynamic output at invoke."""
    model = _one_op("UNIQUE", [((4,), F32)], [((4,), F32), ((4,), I32)], {"idxOutType": 2})
    for x in ([1, 1, 1, 1], [3, 1, 3, 0], [4, 3, 2, 1]):
        assert_matches_litert(model, [np.array(x, F32)], exact=True)


# -- BITCAST, DILATE, REAL, IMAG, COMPLEX_ABS -------------------------------------------------------------
@pytest.mark.parametrize("src,dst,shape_in,shape_out", [
    (F32, I32, (2, 3), (2, 3)), (F32, U8, (2, 3), (2, 3, 4)), (I8, I32, (3, 4), (3,)),
    (I64, I16, (2,), (2, 4)), (BOOL, U8, (5,), (5,))], ids=str)
def test_bitcast(src, dst, shape_in, shape_out):
    model = _one_op("BITCAST", [(shape_in, src)], [(shape_out, dst)])
    assert_matches_litert(model, [_rand(shape_in, src)], exact=True)


@pytest.mark.parametrize("dtype", [F32, I8, U8, I16, I32, I64, BOOL], ids=_name)
def test_dilate(dtype):
    model = _one_op("DILATE", [((2, 3, 4), dtype), ((), dtype)], [((2, 7, 7), dtype)],
                    consts={1: np.array([1, 3, 2], np.int32)})
    assert_matches_litert(model, [_rand((2, 3, 4), dtype, 1), _rand((), dtype, 2)], exact=True)


@pytest.mark.parametrize("op", ["REAL", "IMAG", "COMPLEX_ABS"])
@pytest.mark.parametrize("ctype,ftype", [(C64, F32), (C128, F64)], ids=["complex64", "complex128"])
def test_complex_parts(op, ctype, ftype):
    model = _one_op(op, [((3, 4), ctype)], [((3, 4), ftype)])
    assert_matches_litert(model, [_rand((3, 4), ctype)], rtol=1e-6, exact=op != "COMPLEX_ABS")


# -- the ops as TensorFlow's converter writes them ----------------------------------------------------------
def test_tensorflow_converted_model():
    """One tf.function using 15 of the ops, converted by TensorFlow (its options and input layouts)."""
    import tensorflow as tf

    def fn(x, ids, xi, lens):
        top = tf.math.top_k(x, k=3)
        return (tf.one_hot(ids, 6, on_value=2.0, off_value=-1.0, axis=0),
                tf.math.cumsum(x, axis=1, exclusive=True, reverse=True), top[0], top[1],
                tf.scatter_nd(tf.constant([[1], [0], [1]]), x, [4, 8]),
                tf.math.add_n([x, x * 2.0, x + 1.0]),
                tf.math.unsorted_segment_max(x, tf.constant([1, 0, 1]), 3),
                tf.math.segment_sum(x, tf.constant([0, 0, 1])),
                tf.raw_ops.Bucketize(input=x, boundaries=[-0.5, 0.0, 0.5]),
                tf.math.atan2(x, x * 0.5 + 0.25),
                tf.bitwise.bitwise_xor(xi, tf.constant(12345)),
                tf.bitwise.right_shift(xi, tf.constant([0, 1, 2, 3, 4, 5, 31, 7])),
                tf.linalg.diag(x[0]), tf.linalg.set_diag(x, x[:, 0]),
                tf.reverse_sequence(x, lens, seq_axis=1, batch_axis=0))

    spec = [tf.TensorSpec((3, 8), tf.float32), tf.TensorSpec((4,), tf.int32), tf.TensorSpec((3, 8), tf.int32),
            tf.TensorSpec((3,), tf.int32)]
    model = tf_convert_function(fn, spec, key="data-ops-tf-v1")
    assert {"ONE_HOT", "CUMSUM", "TOPK_V2", "SCATTER_ND", "ADD_N", "UNSORTED_SEGMENT_MAX", "SEGMENT_SUM",
            "BUCKETIZE", "ATAN2", "BITWISE_XOR", "RIGHT_SHIFT", "MATRIX_DIAG", "MATRIX_SET_DIAG",
            "REVERSE_SEQUENCE"} <= _ops(model)
    rng = np.random.default_rng(0)
    inputs = [rng.uniform(-1, 1, (3, 8)).astype(F32), np.array([0, 5, 7, -1], I32),
              rng.integers(-(1 << 31), 1 << 31, (3, 8)).astype(I32), np.array([8, 0, 3], I32)]
    assert_matches_litert(model, inputs)


# -- empty tensors ------------------------------------------------------------------------------------------
EMPTY = {
    "ONE_HOT": lambda: (_one_op("ONE_HOT", [((0, 3), I32), ((), F32), ((), F32)], [((0, 3, 5), F32)], {"axis": -1},
                                consts={1: np.array(5, np.int32)}),
                        [np.zeros((0, 3), I32), np.float32(1), np.float32(0)]),
    "CUMSUM": lambda: (_one_op("CUMSUM", [((2, 0, 3), F32)], [((2, 0, 3), F32)], None,
                               consts={1: np.array(1, np.int32)}), [np.zeros((2, 0, 3), F32)]),
    "TOPK_V2": lambda: (_one_op("TOPK_V2", [((0, 5), I32)], [((0, 2), I32), ((0, 2), I32)],
                                consts={1: np.array(2, np.int32)}), [np.zeros((0, 5), I32)]),
    "SCATTER_ND": lambda: (_one_op("SCATTER_ND", [((0, 1), I32), ((0,), F32)], [((4,), F32)],
                                   consts={2: np.array([4], np.int32)}), [np.zeros((0, 1), I32), np.zeros(0, F32)]),
    "DYNAMIC_UPDATE_SLICE": lambda: (_one_op("DYNAMIC_UPDATE_SLICE", [((4, 3), F32), ((0, 3), F32), ((2,), I32)],
                                             [((4, 3), F32)]),
                                     [_rand((4, 3), F32), np.zeros((0, 3), F32), np.array([2, 0], I32)]),
    "UNSORTED_SEGMENT_SUM": lambda: (_one_op("UNSORTED_SEGMENT_SUM", [((0, 3), F32), ((0,), I32)], [((2, 3), F32)],
                                             consts={2: np.array([2], np.int32)}),
                                     [np.zeros((0, 3), F32), np.zeros(0, I32)]),
    "MATRIX_DIAG": lambda: (_one_op("MATRIX_DIAG", [((2, 0), F32)], [((2, 0, 0), F32)]), [np.zeros((2, 0), F32)]),
    "REVERSE_SEQUENCE": lambda: (_one_op("REVERSE_SEQUENCE", [((2, 0), F32), ((2,), I32)], [((2, 0), F32)],
                                         {"seqDim": 1, "batchDim": 0}), [np.zeros((2, 0), F32), np.zeros(2, I32)]),
    "BITWISE_XOR": lambda: (_one_op("BITWISE_XOR", [((0, 3), I32), ((3,), I32)], [((0, 3), I32)]),
                            [np.zeros((0, 3), I32), np.ones(3, I32)]),
    "ATAN2": lambda: (_one_op("ATAN2", [((0,), F32), ((0,), F32)], [((0,), F32)]), [np.zeros(0, F32)] * 2),
}


@pytest.mark.parametrize("op", sorted(EMPTY))
def test_empty_tensors(op):
    model, inputs = EMPTY[op]()
    assert_matches_litert(model, inputs, exact=True)
