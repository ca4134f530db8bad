"""DENSIFY of sparse constant weights: models from TensorFlow's converter (EXPERIMENTAL_SPARSITY on pruned
weights) and hand-built CSR / block-sparse encodings, against LiteRT; malformed sparsity metadata raises."""
import numpy as np
import pytest

import edgerun
from oracle import assert_matches_litert, tf_convert


def _pruned_model(seed=0):
    import keras

    rng = np.random.default_rng(seed)
    m = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(8)])
    for layer in m.layers:
        w, b = layer.get_weights()
        w = w * (rng.random(w.shape) < 0.15)  # 85% zeros: the converter stores it sparse
        layer.set_weights([w.astype(np.float32), b])
    return m


def test_sparse_dense_layers_from_tf_converter():
    import tensorflow as tf

    model = tf_convert(_pruned_model(), optimizations=[tf.lite.Optimize.EXPERIMENTAL_SPARSITY])
    from edgerun.runtime.model import Model

    ops = {op.name for op in Model(model).subgraphs[0].ops}
    assert "DENSIFY" in ops, ops
    assert_matches_litert(model)


def _sparse_fc_model(dense_w, sparsity, values):
    from edgerun.schema import schema_generated as fb
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (2, dense_w.shape[1]), np.float32)
    ws = b.const("w_sparse", values.astype(np.float32), shape=dense_w.shape, sparsity=sparsity)
    w = b.tensor("w", dense_w.shape, np.float32)
    y = b.tensor("y", (2, dense_w.shape[0]), np.float32)
    b.op("DENSIFY", [ws], [w])
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    b.inputs([x])
    b.outputs([y])
    assert fb
    return b.finish()


def _dim(fmt, dense_size=0, segments=None, indices=None):
    from edgerun.schema import schema_generated as fb

    d = fb.DimensionMetadataT()
    d.format, d.denseSize = fmt, dense_size
    if segments is not None:
        d.arraySegmentsType = fb.SparseIndexVector.Int32Vector
        d.arraySegments = fb.Int32VectorT()
        d.arraySegments.values = list(segments)
        d.arrayIndicesType = fb.SparseIndexVector.Int32Vector
        d.arrayIndices = fb.Int32VectorT()
        d.arrayIndices.values = list(indices)
    return d


def _sp(order, block_map, dims):
    from edgerun.schema import schema_generated as fb

    sp = fb.SparsityParametersT()
    sp.traversalOrder, sp.blockMap, sp.dimMetadata = order, block_map, dims
    return sp


def test_csr_hand_built():
    w = np.array([[0, 2, 0, 0, 1], [0, 0, 0, 0, 0], [3, 0, 0, 4, 0]], np.float32)
    seg, idx, vals = [0], [], []
    for row in w:
        nz = np.flatnonzero(row)
        idx += nz.tolist()
        vals += row[nz].tolist()
        seg.append(len(idx))
    sp = _sp([0, 1], None, [_dim(0, 3), _dim(1, segments=seg, indices=idx)])
    assert_matches_litert(_sparse_fc_model(w, sp, np.array(vals)))


def test_block_sparse_hand_built():
    """4x8 matrix in 1x4 blocks (the format TF uses for block-sparse FC weights)."""
    rng = np.random.default_rng(1)
    w = np.zeros((4, 8), np.float32)
    keep = [(0, 1), (1, 0), (3, 0), (3, 1)]
    for r, bc in keep:
        w[r, bc * 4:(bc + 1) * 4] = rng.normal(size=4)
    seg, idx, vals = [0], [], []
    for r in range(4):
        for bc in range(2):
            if (r, bc) in keep:
                idx.append(bc)
                vals += w[r, bc * 4:(bc + 1) * 4].tolist()
        seg.append(len(idx))
    sp = _sp([0, 1, 2, 3], [0, 1], [_dim(0, 4), _dim(1, segments=seg, indices=idx), _dim(0, 1), _dim(0, 4)])
    model = _sparse_fc_model(w, sp, np.array(vals))
    assert_matches_litert(model)
    x = np.random.default_rng(2).normal(size=(2, 8)).astype(np.float32)
    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]), x @ w.T, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", ["index_out_of_range", "segments_decreasing", "too_few_values", "bad_order"])
def test_malformed_sparsity_is_a_clear_error(bad):
    w = np.zeros((3, 5), np.float32)
    seg, idx, vals, order = [0, 1, 1, 2], [1, 3], [1.0, 2.0], [0, 1]
    if bad == "index_out_of_range":
        idx = [1, 9]
    elif bad == "segments_decreasing":
        seg = [0, 2, 1, 2]
    elif bad == "too_few_values":
        vals = [1.0]
    elif bad == "bad_order":
        order = [0, 0]
    sp = _sp(order, None, [_dim(0, 3), _dim(1, segments=seg, indices=idx)])
    with pytest.raises(edgerun.ShapeError, match="DENSIFY.*sparse tensor"):
        edgerun.Interpreter(model_content=_sparse_fc_model(w, sp, np.array(vals))).allocate_tensors()
