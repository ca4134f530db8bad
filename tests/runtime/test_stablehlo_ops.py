"""The StableHLO ops LiteRT's builtin resolver runs (runtime/ops/stablehlo.py, kernels/ref/stablehlo.c):
STABLEHLO_ADD/MULTIPLY/MAXIMUM/MINIMUM/AND/SHIFT_LEFT, STABLEHLO_PAD and REDUCE_WINDOW, hand-built (TensorFlow's
converter does not emit them), every type LiteRT runs, bit for bit against LiteRT (float16 and float32 too: one
rounding per element in both)."""
import numpy as np
import pytest
from edgerun.errors import UnsupportedOpError
from edgerun.schema.builder import ModelBuilder
from oracle import assert_matches_litert, edgerun_run, litert_run

NUMERIC = ["float32", "float16", "int8", "uint8", "int16", "int32", "int64", "bool"]
TYPES = {"STABLEHLO_ADD": NUMERIC, "STABLEHLO_MULTIPLY": NUMERIC, "STABLEHLO_MAXIMUM": NUMERIC,
         "STABLEHLO_MINIMUM": NUMERIC, "STABLEHLO_AND": ["int8", "uint8", "int16", "int32", "int64", "bool"],
         "STABLEHLO_SHIFT_LEFT": ["int8", "int16", "int32"]}


def binary_model(op, shape, dtype, quant=None):
    b = ModelBuilder()
    x, y, z = (b.tensor(n, shape, dtype, quant=quant) for n in "xyz")
    b.op(op, [x, y], [z])
    b.inputs([x, y])
    b.outputs([z])
    return b.finish()


def _values(dtype, shape, rng):
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return rng.uniform(-300, 300, shape).astype(dt)
    if dt == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    info = np.iinfo(dt)
    return rng.integers(info.min, int(info.max) + 1, shape, dtype=np.int64).astype(dt)


def assert_same(ours, theirs):
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f"{np.sum(a != b)} elements differ from LiteRT"
        if a.dtype.kind == "f":  # -0.0 and 0.0 too
            assert np.array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.parametrize("op", list(TYPES))
def test_binary_every_type(op):
    rng = np.random.default_rng(0)
    for dtype in TYPES[op]:
        x, y = _values(dtype, (3, 1, 7), rng), _values(dtype, (3, 1, 7), rng)
        if op == "STABLEHLO_SHIFT_LEFT":  # counts 0..31 (past the type's width too: truncated)
            y = rng.integers(0, 32, y.shape).astype(dtype)
        if dtype == "float16":
            x[0, 0, :3] = [60000, -60000, 0.1]
        m = binary_model(op, x.shape, dtype)
        assert_same(edgerun_run(m, [x, y]), litert_run(m, [x, y]))


def test_shift_left_out_of_range_counts_give_zero():
    """A count < 0 or > 31 gives 0 (StableHLO's definition; LiteRT's C++ shift is undefined there and its
    results vary with the vector path: not compared)."""
    x = np.array([3, -3, 1, 5, 7, -1], np.int32)
    y = np.array([-1, -40, 32, 33, 100, 31], np.int32)
    out = edgerun_run(binary_model("STABLEHLO_SHIFT_LEFT", (6,), np.int32), [x, y])[0]
    assert out.tolist() == [0, 0, 0, 0, 0, -2 ** 31]


def test_binary_float_specials():
    """NaN and signed zeros through MAXIMUM/MINIMUM as std::max/std::min order them."""
    x = np.array([np.nan, 1, 2, -0.0, 0.0, np.inf], np.float32)
    y = np.array([1, np.nan, -3, 0.0, -0.0, -np.inf], np.float32)
    for op in TYPES:
        if "float32" in TYPES[op]:
            m = binary_model(op, x.shape, np.float32)
            assert_same(edgerun_run(m, [x, y]), litert_run(m, [x, y]))


def test_binary_quantized_int8_is_plain():
    """An int8 tensor with quantization parameters: LiteRT's StableHLO kernel adds the raw integers."""
    rng = np.random.default_rng(1)
    x, y = _values("int8", (5,), rng), _values("int8", (5,), rng)
    m = binary_model("STABLEHLO_ADD", (5,), np.int8, quant=(0.05, 3))
    assert_same(edgerun_run(m, [x, y]), litert_run(m, [x, y]))


def test_binary_refusals():
    import edgerun

    with pytest.raises(UnsupportedOpError, match="FLOAT32; LiteRT's kernel and edgerun take INT8, INT16, INT32"):
        edgerun.Interpreter(model_content=binary_model("STABLEHLO_SHIFT_LEFT", (2,), np.float32)).allocate_tensors()
    b = ModelBuilder()
    x, y, z = b.tensor("x", (2, 3), np.float32), b.tensor("y", (3,), np.float32), b.tensor("z", (2, 3), np.float32)
    b.op("STABLEHLO_ADD", [x, y], [z])
    b.inputs([x, y])
    b.outputs([z])
    with pytest.raises(Exception, match="do not broadcast"):
        edgerun.Interpreter(model_content=b.finish()).allocate_tensors()


def reduce_window_model(shape, dtype, init, window, strides, dilations, fn):
    b = ModelBuilder()
    x = b.tensor("x", shape, dtype)
    ins = [x, b.const("init", np.array(init, dtype))] + [b.const(n, np.array(v, np.int64)) for n, v in
                                                          (("window", window), ("strides", strides),
                                                           ("dilations", dilations))]
    out = [(n - ((w - 1) * d + 1)) // s + 1 for n, w, s, d in zip(shape, window, strides, dilations)]
    y = b.tensor("y", out, dtype)
    b.op("REDUCE_WINDOW", ins, [y], {"reduceFunction": fn})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


ADD, MUL, MIN, MAX, ALL, ANY = 1, 2, 3, 4, 5, 6
REDUCE_WINDOW = {  # dtype, shape, init, window, strides, dilations, function
    "f32-add-pool": ("float32", (1, 6, 7, 2), 0.0, [1, 3, 3, 1], [1, 2, 2, 1], [1, 1, 1, 1], ADD),
    "f32-max-dilated": ("float32", (2, 9, 3), -np.inf, [1, 3, 2], [1, 1, 1], [1, 3, 2], MAX),
    "f32-min-init": ("float32", (8,), 0.25, [3], [2], [1], MIN),
    "f32-mul": ("float32", (3, 5), 1.5, [2, 2], [1, 2], [1, 1], MUL),
    "int8-add-wraps": ("int8", (4, 6), 7, [2, 3], [1, 1], [1, 1], ADD),
    "uint8-min": ("uint8", (5, 5), 255, [3, 2], [2, 1], [1, 2], MIN),
    "int16-max": ("int16", (7,), -32768, [4], [1], [2], MAX),
    "int32-mul-wraps": ("int32", (2, 6), 3, [1, 4], [1, 1], [1, 1], MUL),
    "int64-add": ("int64", (3, 4), -5, [3, 1], [1, 3], [1, 1], ADD),
    "int32-all": ("int32", (2, 5), 1, [1, 2], [1, 1], [1, 1], ALL),
    "bool-all": ("bool", (3, 4), True, [2, 2], [1, 1], [1, 1], ALL),
    "bool-any": ("bool", (3, 4), False, [2, 2], [1, 2], [1, 1], ANY),
    "bool-add": ("bool", (6,), False, [2], [1], [1], ADD),
}


@pytest.mark.parametrize("case", list(REDUCE_WINDOW))
def test_reduce_window(case):
    dtype, shape, init, *rest = REDUCE_WINDOW[case]
    x = _values(dtype, shape, np.random.default_rng(2))
    if case == "int32-all":
        x[0, 1] = 0
    m = reduce_window_model(shape, dtype, init, *rest)
    assert_same(edgerun_run(m, [x]), litert_run(m, [x]))


def test_reduce_window_refusals():
    import edgerun

    with pytest.raises(UnsupportedOpError, match="FLOAT16"):
        edgerun.Interpreter(model_content=reduce_window_model((4,), np.float16, 0, [2], [1], [1], ADD)).allocate_tensors()
    with pytest.raises(UnsupportedOpError, match="reduce_function 0"):
        edgerun.Interpreter(model_content=reduce_window_model((4,), np.float32, 0, [2], [1], [1], 0)).allocate_tensors()


def pad_model(shape, dtype, value, lo, hi, interior):
    b = ModelBuilder()
    x = b.tensor("x", shape, dtype)
    out = [l + h + n + max(0, n - 1) * i for n, l, h, i in zip(shape, lo, hi, interior)]
    y = b.tensor("y", out, dtype)
    b.op("STABLEHLO_PAD", [x, b.const("value", np.array(value, dtype))], [y],
         {"edgePaddingLow": lo, "edgePaddingHigh": hi, "interiorPadding": interior})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


PAD = {  # low, high, interior
    "edges": ([1, 0, 2], [0, 3, 1], [0, 0, 0]),
    "interior": ([0, 1, 0], [1, 0, 0], [1, 2, 3]),
    "negative-crop": ([-1, 0, -2], [0, -1, 1], [0, 1, 0]),
}


@pytest.mark.parametrize("case", list(PAD))
def test_pad(case):
    rng = np.random.default_rng(3)
    for dtype in NUMERIC:
        x = _values(dtype, (2, 3, 4), rng)
        m = pad_model(x.shape, dtype, 1, *PAD[case])
        assert_same(edgerun_run(m, [x]), litert_run(m, [x]))


def gather_model(x_shape, i_shape, dtype, idtype, offset_dims, collapsed, start_map, ivd, sizes):
    from edgerun.runtime.ops import TYPE_NAMES  # noqa: F401  (edgerun importable: the handler computes shapes)

    batch = [d for j, d in enumerate(i_shape) if j != ivd]
    kept = iter([sizes[d] for d in range(len(x_shape)) if d not in collapsed])
    bi = iter(batch)
    out = [next(kept) if d in offset_dims else next(bi) for d in range(len(batch) + len(offset_dims))]
    b = ModelBuilder()
    x, i, y = b.tensor("x", x_shape, dtype), b.tensor("i", i_shape, idtype), b.tensor("y", out, dtype)
    b.op("STABLEHLO_GATHER", [x, i], [y], {"offsetDims": offset_dims, "collapsedSliceDims": collapsed,
                                           "startIndexMap": start_map, "indexVectorDim": ivd, "sliceSizes": sizes})
    b.inputs([x, i])
    b.outputs([y])
    return b.finish()


GATHER = {  # operand, indices shape, offset_dims, collapsed, start_index_map, index_vector_dim, slice_sizes
    "rows": ((5, 4), (3, 1), [1], [0], [0], 1, [1, 4]),
    "2d-slices": ((4, 5, 3), (2, 3, 2), [2, 3], [2], [0, 2], 2, [2, 3, 1]),
    "index-vector-first": ((4, 5, 3), (2, 4), [1], [0, 1], [1, 0], 0, [1, 1, 3]),
    "scalar-indices": ((4, 5, 3), (3,), [0, 2], [1], [1], 1, [4, 1, 3]),
}


@pytest.mark.parametrize("case", list(GATHER))
def test_gather(case):
    """Every type on the first case; int32 and int64 indices, some out of range (clamped, as StableHLO and
    LiteRT do)."""
    x_shape, i_shape, *opts = GATHER[case]
    rng = np.random.default_rng(4)
    for dtype in NUMERIC if case == "rows" else ["float32", "int8"]:
        x = _values(dtype, x_shape, rng)
        for idtype in (np.int32, np.int64):
            i = rng.integers(-3, 8, i_shape).astype(idtype)
            m = gather_model(x_shape, i_shape, dtype, idtype, *opts)
            assert_same(edgerun_run(m, [x, i]), litert_run(m, [x, i]))


def composite_model():
    """z, w = COMPOSITE(x, y) whose decomposition subgraph computes (x + y) * c and max(x, y)."""
    from edgerun.schema import schema_generated as fb
    from flatbuffers import flexbuffers

    b = ModelBuilder()
    x, y = b.tensor("x", (2, 3), np.float32), b.tensor("y", (2, 3), np.float32)
    z, w = b.tensor("z", (2, 3), np.float32), b.tensor("w", (2, 3), np.float32)
    opts = fb.StableHLOCompositeOptionsT()
    opts.name, opts.decompositionSubgraphIndex, opts.version = "odml.scaled_sum", 1, 1
    opts.compositeAttributes = list(flexbuffers.Dumps({"scale": 1.5}))  # LiteRT requires the attributes
    b.op("STABLEHLO_COMPOSITE", [x, y], [z, w], opts)
    b.inputs([x, y])
    b.outputs([z, w])
    d = b.subgraph("decomposition")
    a, c = d.tensor("a", (2, 3), np.float32), d.tensor("c", (2, 3), np.float32)
    s, m, o = (d.tensor(n, (2, 3), np.float32) for n in ("s", "m", "o"))
    d.op("STABLEHLO_ADD", [a, c], [s])
    d.op("STABLEHLO_MULTIPLY", [s, d.const("k", np.full((2, 3), 1.5, np.float32))], [m])
    d.op("STABLEHLO_MAXIMUM", [a, c], [o])
    d.inputs([a, c])
    d.outputs([m, o])
    return b.finish()


def test_composite_runs_its_decomposition():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((2, 3)).astype(np.float32)
    m = composite_model()
    assert_same(edgerun_run(m, [x, y]), litert_run(m, [x, y]))


def scatter_model(x_shape, i_shape, u_shape, dtype, idtype, body, window, inserted, to_operand, ivd):
    """STABLEHLO_SCATTER with an update computation subgraph: `body` an op name combining its two scalar
    inputs, or None for one that returns its second input (replace)."""
    b = ModelBuilder()
    x, i, u = b.tensor("x", x_shape, dtype), b.tensor("i", i_shape, idtype), b.tensor("u", u_shape, dtype)
    y = b.tensor("y", x_shape, dtype)
    b.op("STABLEHLO_SCATTER", [x, i, u], [y], {"updateWindowDims": window, "insertedWindowDims": inserted,
                                               "scatterDimsToOperandDims": to_operand, "indexVectorDim": ivd,
                                               "updateComputationSubgraphIndex": 1})
    b.inputs([x, i, u])
    b.outputs([y])
    s = b.subgraph("update")
    p, q = s.tensor("old", (), dtype), s.tensor("new", (), dtype)
    if body is None:
        s.outputs([q])
    else:
        r = s.tensor("r", (), dtype)
        s.op(body, [p, q], [r])
        s.outputs([r])
    s.inputs([p, q])
    return b.finish()


SCATTER = {  # operand, indices, updates shape, body, update_window_dims, inserted_window_dims, to_operand, ivd
    "rows-add": ((5, 4), (4, 1), (4, 4), "STABLEHLO_ADD", [1], [0], [0], 1),
    "rows-replace": ((5, 4), (3, 1), (3, 4), None, [1], [0], [0], 1),
    "windows-max": ((4, 5), (3, 2), (3, 2, 2), "STABLEHLO_MAXIMUM", [1, 2], [], [0, 1], 1),
    "points-mul": ((4, 5), (2, 3), (3,), "STABLEHLO_MULTIPLY", [], [0, 1], [1, 0], 0),
    "points-min": ((6,), (4,), (4,), "STABLEHLO_MINIMUM", [], [0], [0], 1),
}


@pytest.mark.parametrize("case", list(SCATTER))
def test_scatter(case):
    """Indices with repeats and some out of range (those updates are dropped)."""
    x_shape, i_shape, u_shape, body, *opts = SCATTER[case]
    rng = np.random.default_rng(6)
    for dtype in ("float32", "float16", "int8", "int32") if case != "rows-replace" else ("float32", "float16", "int64"):
        x, u = _values(dtype, x_shape, rng), _values(dtype, u_shape, rng)
        for idtype in (np.int32, np.int64):
            i = rng.integers(-1, 6, i_shape).astype(idtype)
            if case == "rows-replace":  # no repeated rows: the order of repeated replaces is unspecified
                i = np.array([[3], [0], [7]], idtype)
            m = scatter_model(x_shape, i_shape, u_shape, dtype, idtype, body, *opts)
            assert_same(edgerun_run(m, [x, i, u]), litert_run(m, [x, i, u]))


def hlo_reduce_window_model(shape, dtype, init, body, window, strides, base, wdil, pad):
    b = ModelBuilder()
    x = b.tensor("x", shape, dtype)
    out = []
    for d, n in enumerate(shape):
        padded = pad[2 * d] + pad[2 * d + 1] + (n - 1) * base[d] + 1
        extent = (window[d] - 1) * wdil[d] + 1
        out.append(max(0, (padded - extent) // strides[d] + 1))
    y = b.tensor("y", out, dtype)
    b.op("STABLEHLO_REDUCE_WINDOW", [x, b.const("init", np.array(init, dtype))], [y],
         {"windowDimensions": window, "windowStrides": strides, "baseDilations": base, "windowDilations": wdil,
          "padding": pad, "bodySubgraphIndex": 1})
    b.inputs([x])
    b.outputs([y])
    s = b.subgraph("body")
    p, q, r = s.tensor("a", (), dtype), s.tensor("b", (), dtype), s.tensor("r", (), dtype)
    s.op(body, [p, q], [r])
    s.inputs([p, q])
    s.outputs([r])
    return b.finish()


HLO_REDUCE_WINDOW = {  # dtype, shape, init, body, window, strides, base dilations, window dilations, padding
    "f32-maxpool-padded": ("float32", (1, 5, 6, 2), -np.inf, "STABLEHLO_MAXIMUM", [1, 3, 3, 1], [1, 2, 2, 1],
                           [1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 0, 0]),
    "f32-sum-base-dilated": ("float32", (4, 5), 0.0, "STABLEHLO_ADD", [2, 3], [1, 2], [2, 1], [1, 2],
                             [1, 0, 0, 2]),
    "int32-min": ("int32", (6, 4), 2 ** 31 - 1, "STABLEHLO_MINIMUM", [3, 2], [2, 1], [1, 1], [1, 1], [0, 1, 1, 0]),
    "int8-mul": ("int8", (5,), 1, "STABLEHLO_MULTIPLY", [2], [1], [1], [2], [1, 1]),
}


@pytest.mark.parametrize("case", list(HLO_REDUCE_WINDOW))
def test_hlo_reduce_window(case):
    dtype, shape, init, body, *opts = HLO_REDUCE_WINDOW[case]
    x = _values(dtype, shape, np.random.default_rng(7))
    m = hlo_reduce_window_model(shape, dtype, init, body, *opts)
    assert_same(edgerun_run(m, [x]), litert_run(m, [x]))


def case_model(n_branches=3):
    """y = STABLEHLO_CASE(index, x): branch k multiplies x by k + 2."""
    b = ModelBuilder()
    i, x, y = b.tensor("index", (), np.int32), b.tensor("x", (2, 3), np.float32), b.tensor("y", (2, 3), np.float32)
    b.op("STABLEHLO_CASE", [i, x], [y], {"branchSubgraphIndices": list(range(1, n_branches + 1))})
    b.inputs([i, x])
    b.outputs([y])
    for k in range(n_branches):
        s = b.subgraph(f"branch{k}")
        a, r = s.tensor("a", (2, 3), np.float32), s.tensor("r", (2, 3), np.float32)
        s.op("STABLEHLO_MULTIPLY", [a, s.const("k", np.full((2, 3), k + 2, np.float32))], [r])
        s.inputs([a])
        s.outputs([r])
    return b.finish()


def test_case_picks_its_branch():
    """Indices in range pick their branch; outside it (3, -1) the last, as LiteRT."""
    x = np.random.default_rng(8).standard_normal((2, 3)).astype(np.float32)
    m = case_model()
    for k in (0, 1, 2, 3, -1):
        ins = [np.array(k, np.int32), x]
        assert_same(edgerun_run(m, ins), litert_run(m, ins))
