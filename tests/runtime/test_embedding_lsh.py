"""EMBEDDING_LOOKUP_SPARSE and LSH_PROJECTION (kernels/ref/embedding.c) against LiteRT's builtin kernels, on
hand-built models (TensorFlow's converter emits neither): outputs bit for bit, every combiner and projection
type, LSH keys of every farmhash length class (8 to 284 bytes), hashed element types float32/int8/int32."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder

from edgerun.errors import EdgerunError
from tests.oracle import edgerun_run, litert_run


def lsh_model(shape, dtype, kind, num_hash=4, num_bits=6, weight=False, seed=0):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.tensor("x", shape, dtype)
    ins = [b.const("seeds", rng.normal(size=(num_hash, num_bits)).astype(np.float32)), x]
    if weight:
        ins.append(b.const("weight", rng.normal(size=shape[0]).astype(np.float32)))
    y = b.tensor("y", (num_hash,) if kind == 1 else (num_hash * num_bits,), np.int32)
    b.op("LSH_PROJECTION", ins, [y], options={"type": kind})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


# item bytes + 4 seed bytes: 5, 8, 16, 24, 36, 44, 84, 284 (every branch of Fingerprint64)
LSH_INPUTS = [((3,), np.int8), ((3, 1), np.float32), ((4, 3), np.float32), ((2, 5), np.float32),
              ((2, 8), np.float32), ((3, 40), np.int8), ((5, 20), np.float32), ((3, 70), np.int32)]


@pytest.mark.parametrize("shape,dtype", LSH_INPUTS, ids=lambda v: str(v) if isinstance(v, tuple) else v.__name__)
def test_lsh_projection_matches_litert(shape, dtype):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=shape) * 50).astype(dtype)
    for kind in (1, 2):  # SPARSE, DENSE
        for weight in (False, True):
            model = lsh_model(shape, dtype, kind, weight=weight)
            ours, theirs = edgerun_run(model, [x])[0], litert_run(model, [x])[0]
            assert np.array_equal(ours, theirs), (kind, weight, ours, theirs)


def test_lsh_projection_32_bits_and_refusals():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    model = lsh_model((3, 2), np.float32, 1, num_hash=3, num_bits=32)
    assert np.array_equal(edgerun_run(model, [x])[0], litert_run(model, [x])[0])
    with pytest.raises(EdgerunError, match="at most 32"):
        edgerun_run(lsh_model((3, 2), np.float32, 1, num_hash=2, num_bits=33), [x])
    with pytest.raises(EdgerunError, match="projection type 0"):
        edgerun_run(lsh_model((3, 2), np.float32, 0), [x])
    with pytest.raises(RuntimeError, match="SizeOfDimension"):  # no item: LiteRT refuses, edgerun too
        litert_run(lsh_model((0, 2), np.float32, 2), [x[:0]])
    with pytest.raises(EdgerunError, match="at least one item"):
        edgerun_run(lsh_model((0, 2), np.float32, 2), [x[:0]])


def els_model(indices, dense_shape, params_shape, combiner, seed=0):
    rng = np.random.default_rng(seed)
    n = len(indices)
    b = ModelBuilder()
    ids, w = b.tensor("ids", (n,), np.int32), b.tensor("weights", (n,), np.float32)
    idx = b.const("indices", np.array(indices, np.int32).reshape(n, len(dense_shape)))
    ds = b.const("dense_shape", np.array(dense_shape, np.int32))
    p = b.const("params", rng.normal(size=params_shape).astype(np.float32))
    y = b.tensor("y", tuple(dense_shape[:-1]) + tuple(params_shape[1:]), np.float32)
    b.op("EMBEDDING_LOOKUP_SPARSE", [ids, idx, ds, w, p], [y], options={"combiner": combiner})
    b.inputs([ids, w])
    b.outputs([y])
    return b.finish()


ELS_CASES = [([[0, 0], [0, 1], [1, 0], [2, 3]], [3, 4], (5, 4)),      # buckets of 2, 1, 1 ids
             ([[0, 0], [2, 0], [2, 1]], [4, 2], (3, 2)),               # empty buckets 1 and 3 stay 0
             ([[0, 0, 0], [0, 0, 1], [1, 1, 0]], [2, 2, 2], (6, 3, 2)),  # 3-D indices, 3-D params
             ([[0], [0], [1]], [2], (4, 3))]                           # lookup rank 1: one bucket


@pytest.mark.parametrize("indices,dense_shape,params_shape", ELS_CASES, ids=["2d", "gaps", "3d", "rank1"])
def test_embedding_lookup_sparse_matches_litert(indices, dense_shape, params_shape):
    rng = np.random.default_rng(2)
    n = len(indices)
    ids = rng.integers(0, params_shape[0], n).astype(np.int32)
    w = rng.uniform(0.1, 2, n).astype(np.float32)
    for combiner in (0, 1, 2):  # SUM, MEAN, SQRTN
        model = els_model(indices, dense_shape, params_shape, combiner)
        ours, theirs = edgerun_run(model, [ids, w])[0], litert_run(model, [ids, w])[0]
        assert ours.shape == theirs.shape and np.array_equal(ours, theirs), combiner


def test_embedding_lookup_sparse_without_lookups():
    model = els_model([], [3, 4], (5, 2), 1)  # no id: every bucket stays zero
    ours, theirs = (f(model, [np.zeros(0, np.int32), np.zeros(0, np.float32)])[0] for f in (edgerun_run, litert_run))
    assert ours.shape == theirs.shape == (3, 2) and np.array_equal(ours, theirs)


def test_embedding_lookup_sparse_out_of_range_id_fails_as_litert():
    model = els_model([[0, 0], [1, 0]], [2, 2], (3, 2), 0)
    bad = [np.array([0, 3], np.int32), np.ones(2, np.float32)]
    with pytest.raises(RuntimeError, match="index out of bounds"):
        litert_run(model, bad)
    with pytest.raises(EdgerunError, match="EMBEDDING_LOOKUP_SPARSE"):
        edgerun_run(model, bad)


def test_embedding_lookup_sparse_with_run_time_dense_shape():
    """dense_shape fed at run time: the output's shape is only known then (a staged plan); as LiteRT."""
    b = ModelBuilder()
    ids, w, ds = b.tensor("ids", (2,), np.int32), b.tensor("w", (2,), np.float32), b.tensor("ds", (2,), np.int32)
    y = b.tensor("y", (2, 2), np.float32)
    b.op("EMBEDDING_LOOKUP_SPARSE", [ids, b.const("idx", np.array([[0, 0], [1, 1]], np.int32)), ds, w,
                                     b.const("p", np.arange(6, dtype=np.float32).reshape(3, 2))], [y],
         options={"combiner": 0})
    b.inputs([ids, w, ds])
    b.outputs([y])
    model = b.finish()
    for dense in ([2, 2], [3, 2]):
        feed = [np.array([2, 1], np.int32), np.array([0.5, 2.0], np.float32), np.array(dense, np.int32)]
        ours, theirs = edgerun_run(model, feed)[0], litert_run(model, feed)[0]
        assert ours.shape == theirs.shape == (dense[0], 2) and np.array_equal(ours, theirs), dense


def lookup_model(values, n=4):
    """HASHTABLE_LOOKUP with sorted constant int32 keys and constant values of any type."""
    b = ModelBuilder()
    look = b.tensor("lookup", (n,), np.int32)
    keys = b.const("keys", np.array([-5, 0, 3, 9, 12][:len(values)], np.int32))
    if values.dtype == object:  # STRING values (TFLite's string buffer)
        from edgerun.runtime import strings

        vals = b.tensor("values", values.shape, None, type=5,
                        buffer=b.buffer(np.frombuffer(strings.encode(values), np.uint8)))
        y = b.tensor("y", (n,) + values.shape[1:], None, type=5)
    else:
        vals = b.const("values", values)
        y = b.tensor("y", (n,) + values.shape[1:], values.dtype)
    hits = b.tensor("hits", (n,), np.uint8)
    b.op("HASHTABLE_LOOKUP", [look, keys, vals], [y, hits])
    b.inputs([look])
    b.outputs([y, hits])
    return b.finish()


@pytest.mark.parametrize("values", [np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5, dtype=np.int8) - 2,
                                    np.array([b"a", b"bb", b"", b"dddd", b"e"], object)],
                         ids=["float32", "int8", "string"])
def test_hashtable_lookup_matches_litert(values):
    model = lookup_model(values)
    look = np.array([3, 4, -5, 12], np.int32)  # 4 is absent: zeros (or an empty string), hit 0
    ours, theirs = edgerun_run(model, [look]), litert_run(model, [look])
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tolist() == b.tolist(), (a, b)


def test_lsh_projection_of_strings_matches_litert():
    # LiteRT hashes the string buffer (count, offsets, bytes) cut into one piece per item
    from edgerun.runtime import strings

    for kind in (1, 2):
        for weight in (False, True):
            rng = np.random.default_rng(3)
            b = ModelBuilder()
            x = b.tensor("x", (3,), None, type=5)
            ins = [b.const("seeds", rng.normal(size=(4, 6)).astype(np.float32)), x]
            if weight:
                ins.append(b.const("weight", rng.normal(size=3).astype(np.float32)))
            y = b.tensor("y", (4,) if kind == 1 else (24,), np.int32)
            b.op("LSH_PROJECTION", ins, [y], options={"type": kind})
            b.inputs([x])
            b.outputs([y])
            model = b.finish()
            for words in ([b"a", b"bb", b"ccc"], [b"hello world", b"", b"x"]):
                x = np.array(words, object)
                assert np.array_equal(edgerun_run(model, [x])[0], litert_run(model, [x])[0]), (kind, weight, words)
    assert strings.encode([b"a"]) == b"\x01\x00\x00\x00\x0c\x00\x00\x00\x0d\x00\x00\x00a"
