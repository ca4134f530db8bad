"""ONNX index/selection ops with run-time-sized outputs or newer TFLite ops (converter/frontends/onnx/indexing.py).
Oracle: onnxruntime on the same inputs. The converted model (edgerun.convert) must give the same outputs -
same dtype and shape, integers identical, floats within 1e-5 x max|onnxruntime output| - in edgerun and in
LiteRT (builtin kernels, no delegate). Models are built with onnx.helper (a few exported by torch.onnx)."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper
from oracle import edgerun_run, litert_run

import edgerun
from edgerun.errors import ConversionError

_ET = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
       np.dtype(np.int32): TensorProto.INT32, np.dtype(np.bool_): TensorProto.BOOL,
       np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.int8): TensorProto.INT8,
       np.dtype(np.int16): TensorProto.INT16, np.dtype(np.uint16): TensorProto.UINT16}


def make(nodes, inputs, outputs, inits=(), opset=18):
    """A model of `nodes`; inputs [(name, numpy array)] (the array gives dtype and shape, None dims as
    dynamic via a tuple (name, dtype, shape)), outputs [(name, dtype)], initializers {name: array}."""
    ins = []
    for item in inputs:
        if len(item) == 2:
            name, arr = item
            ins.append(helper.make_tensor_value_info(name, _ET[arr.dtype], arr.shape))
        else:
            name, dt, shape = item
            ins.append(helper.make_tensor_value_info(name, _ET[np.dtype(dt)], shape))
    outs = [helper.make_tensor_value_info(n, _ET[np.dtype(dt)], None) for n, dt in outputs]
    g = helper.make_graph(nodes, "g", ins, outs, [numpy_helper.from_array(np.asarray(v), k) for k, v in
                                                   dict(inits).items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def ort_run(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(v) for v in sess.run(None, feeds)]


def same(name, got, ref, rtol=1e-5):
    assert len(got) == len(ref), f"{name}: {len(got)} outputs, onnxruntime has {len(ref)}"
    for i, (a, b) in enumerate(zip(got, ref)):
        assert a.dtype == b.dtype, f"{name} output {i}: dtype {a.dtype}, onnxruntime {b.dtype}"
        assert a.shape == b.shape, f"{name} output {i}: shape {a.shape}, onnxruntime {b.shape}\n{a}\n{b}"
        if a.dtype.kind == "f":
            assert np.array_equal(np.isnan(a), np.isnan(b)), f"{name} output {i}: NaN pattern differs"
            fin = np.isfinite(b)
            assert np.array_equal(a[~fin & ~np.isnan(b)], b[~fin & ~np.isnan(b)]), f"{name} output {i}: inf"
            scale = float(np.max(np.abs(b[fin]))) if fin.any() else 0.0
            err = float(np.max(np.abs(a[fin].astype(np.float64) - b[fin]))) if fin.any() else 0.0
            assert err <= rtol * scale + 1e-30, f"{name} output {i}: max|diff| {err:.3g} > {rtol} x {scale:.3g}"
        else:
            assert np.array_equal(a, b), f"{name} output {i} differs:\n{a}\nonnxruntime:\n{b}"


def check(model, feeds, litert=True, runs=None):
    """Convert once; for each feed dict in `runs` (default: [feeds]) edgerun and LiteRT equal onnxruntime."""
    data = edgerun.convert(model)
    for f in runs or [feeds]:
        ref = ort_run(model, f)
        xs = list(f.values())
        same("edgerun", edgerun_run(data, xs), ref)
        if litert:
            same("LiteRT", litert_run(data, xs), ref)
    return data


RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32, lo=-3, hi=4):
    if np.dtype(dtype).kind == "f":
        return RNG.uniform(-1, 1, shape).astype(dtype)
    if np.dtype(dtype) == np.bool_:
        return RNG.integers(0, 2, shape).astype(bool)
    return RNG.integers(lo, hi, shape).astype(dtype)


# -- NonZero, Range ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_, np.int32, np.uint8])  # (no int8 in onnxruntime)
def test_nonzero(dtype):
    x = rand(3, 4, 5, dtype=dtype, lo=-1, hi=2)
    m = make([helper.make_node("NonZero", ["x"], ["y"])], [("x", x)], [("y", np.int64)])
    # several invokes: a different count of nonzeros each time (edgerun's stages re-prepare)
    runs = [{"x": x}, {"x": np.zeros_like(x)}, {"x": rand(3, 4, 5, dtype=dtype, lo=-1, hi=2)}]
    check(m, None, runs=runs)


def test_nonzero_nan_and_negative_zero():
    x = np.array([[0.0, -0.0, np.nan], [1.0, np.inf, 0.0]], np.float32)
    m = make([helper.make_node("NonZero", ["x"], ["y"])], [("x", x)], [("y", np.int64)])
    check(m, {"x": x})


def test_nonzero_then_gather_nd():
    """The common use: coordinates of the selected elements, then their values (torch: x[x > 0])."""
    x = rand(4, 6)
    nodes = [helper.make_node("Greater", ["x", "zero"], ["m"]), helper.make_node("NonZero", ["m"], ["nz"]),
             helper.make_node("Transpose", ["nz"], ["idx"], perm=[1, 0]),
             helper.make_node("GatherND", ["x", "idx"], ["y"])]
    m = make(nodes, [("x", x)], [("y", np.float32)], {"zero": np.float32(0)})
    check(m, None, runs=[{"x": x}, {"x": -np.abs(x)}, {"x": rand(4, 6)}])


@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.int32])
def test_range_runtime_limit(dtype):
    lim = np.array(7, dtype)
    nodes = [helper.make_node("Range", ["start", "limit", "delta"], ["y"])]
    m = make(nodes, [("limit", lim)], [("y", dtype)], {"start": np.array(1, dtype), "delta": np.array(2, dtype)})
    check(m, None, runs=[{"limit": np.array(v, dtype)} for v in (7, 2, 12)])


def test_range_all_runtime():
    a, b, c = np.array(10, np.int64), np.array(-3, np.int64), np.array(-2, np.int64)
    m = make([helper.make_node("Range", ["a", "b", "c"], ["y"])], [("a", a), ("b", b), ("c", c)],
             [("y", np.int64)])
    check(m, {"a": a, "b": b, "c": c})


# -- TopK ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis,largest", [(-1, 1), (-1, 0), (1, 1), (0, 0)])
def test_topk_const_k(axis, largest):
    x = rand(5, 6, 7)
    x[0, 0, :3] = x[0, 0, 3]  # ties: the lower index first, as onnxruntime
    nodes = [helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=axis, largest=largest)]
    m = make(nodes, [("x", x)], [("v", np.float32), ("i", np.int64)], {"k": np.array([3], np.int64)})
    check(m, {"x": x})


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_topk_int_smallest(dtype):
    x = rand(4, 9, dtype=dtype, lo=-5, hi=5)
    x[0, 0] = np.iinfo(dtype).min
    x[1, 1] = np.iinfo(dtype).max
    nodes = [helper.make_node("TopK", ["x", "k"], ["v", "i"], largest=0)]
    m = make(nodes, [("x", x)], [("v", dtype), ("i", np.int64)], {"k": np.array([4], np.int64)})
    check(m, {"x": x})


def test_topk_runtime_k():
    x = rand(3, 8)
    nodes = [helper.make_node("TopK", ["x", "k"], ["v", "i"])]
    m = make(nodes, [("x", x), ("k", np.array([2], np.int64))], [("v", np.float32), ("i", np.int64)])
    check(m, None, runs=[{"x": x, "k": np.array([k], np.int64)} for k in (2, 5, 8)])


def test_topk_opset1_attribute():
    x = rand(2, 6)
    m = make([helper.make_node("TopK", ["x"], ["v", "i"], k=3)], [("x", x)], [("v", np.float32), ("i", np.int64)],
             opset=9)
    check(m, {"x": x})


# -- GatherND / ScatterND --------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3])
def test_gather_nd(k):
    x = rand(4, 5, 6)
    idx = np.stack([RNG.integers(-d, d, (2, 3)) for d in x.shape[:k]], -1).astype(np.int64)
    m = make([helper.make_node("GatherND", ["x", "idx"], ["y"])], [("x", x), ("idx", idx)], [("y", np.float32)])
    check(m, {"x": x, "idx": idx})


def test_gather_nd_batch_dims():
    x = rand(2, 3, 5, 4)
    idx = np.stack([RNG.integers(0, 5, (2, 3, 6)), RNG.integers(-4, 4, (2, 3, 6))], -1).astype(np.int64)
    m = make([helper.make_node("GatherND", ["x", "idx"], ["y"], batch_dims=2)], [("x", x), ("idx", idx)],
             [("y", np.float32)])
    check(m, {"x": x, "idx": idx})


def test_gather_nd_const_indices_int():
    x = rand(4, 5, dtype=np.int64, lo=-100, hi=100)
    idx = np.array([[[1], [3]], [[-1], [0]]], np.int64)
    m = make([helper.make_node("GatherND", ["x", "idx"], ["y"])], [("x", x)], [("y", np.int64)], {"idx": idx})
    check(m, {"x": x})


@pytest.mark.parametrize("reduction", ["none", "add"])
def test_scatter_nd(reduction):
    x = rand(5, 4, 3)
    idx = np.array([[0, 1], [4, -1], [2, 2]], np.int64)  # distinct
    upd = rand(3, 3)
    m = make([helper.make_node("ScatterND", ["x", "idx", "u"], ["y"], reduction=reduction)],
             [("x", x), ("idx", idx), ("u", upd)], [("y", np.float32)])
    check(m, {"x": x, "idx": idx, "u": upd})


def test_scatter_nd_add_duplicates_int():
    x = rand(6, dtype=np.int64, lo=0, hi=9)
    idx = np.array([[1], [1], [5], [1]], np.int64)
    upd = np.array([3, 4, 5, 6], np.int64)
    m = make([helper.make_node("ScatterND", ["x", "idx", "u"], ["y"], reduction="add")],
             [("x", x), ("u", upd)], [("y", np.int64)], {"idx": idx})
    check(m, {"x": x, "u": upd})


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_scatter_nd_duplicates(reduction, dtype):
    """Duplicate indices: none -> the last update wins (onnxruntime's order; ONNX leaves it undefined)."""
    x = rand(5, 3, 2, dtype=dtype, lo=-9, hi=9)
    if dtype == np.float32 and reduction in ("none", "max", "min"):  # untouched positions keep even -inf (TFLite's
        x[4, 2, 1] = -np.inf  # float ADD/MUL clamp to +-FLT_MAX, so not for add/mul)
    idx = np.array([[1, 2], [0, 0], [1, -1], [4, 0], [1, 2], [0, 0]], np.int64)
    upd = rand(6, 2, dtype=dtype, lo=-9, hi=9)
    m = make([helper.make_node("ScatterND", ["x", "idx", "u"], ["y"], reduction=reduction)],
             [("x", x), ("idx", idx), ("u", upd)], [("y", dtype)])
    check(m, {"x": x, "idx": idx, "u": upd})


@pytest.mark.parametrize("reduction", ["none", "mul", "max"])
def test_scatter_elements_duplicates(reduction):
    x = rand(3, 4)
    idx = np.array([[0, 0, 3], [2, 2, 2], [1, 0, 1]], np.int64)
    upd = rand(3, 3)
    m = make([helper.make_node("ScatterElements", ["x", "idx", "u"], ["y"], axis=1, reduction=reduction)],
             [("x", x), ("u", upd)], [("y", np.float32)], {"idx": idx})
    check(m, {"x": x, "u": upd})


def test_scatter_int64_max_refused():
    m = make([helper.make_node("ScatterND", ["x", "idx", "u"], ["y"], reduction="max")],
             [("x", rand(4, dtype=np.int64)), ("u", rand(1, dtype=np.int64))], [("y", np.int64)],
             {"idx": np.array([[1]], np.int64)})
    with pytest.raises(ConversionError, match="reduction='max' into int64"):
        edgerun.convert(m)


# -- GatherElements / ScatterElements --------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_elements(axis):
    x = rand(4, 5, 3)
    shape = list(x.shape)
    shape[axis] = 6
    d = x.shape[axis]
    idx = RNG.integers(-d, d, shape).astype(np.int64)
    m = make([helper.make_node("GatherElements", ["x", "idx"], ["y"], axis=axis)], [("x", x), ("idx", idx)],
             [("y", np.float32)])
    check(m, {"x": x, "idx": idx})


def test_gather_elements_smaller_indices():
    x = rand(4, 5, dtype=np.int32, lo=-50, hi=50)
    idx = np.array([[0, 4], [3, 1]], np.int64)
    m = make([helper.make_node("GatherElements", ["x", "idx"], ["y"], axis=1)], [("x", x), ("idx", idx)],
             [("y", np.int32)])
    check(m, {"x": x, "idx": idx})


@pytest.mark.parametrize("axis,reduction", [(0, "none"), (1, "none"), (1, "add")])
def test_scatter_elements(axis, reduction):
    x = rand(4, 5)
    # distinct targets per column/row (reduction none with duplicates is undefined in ONNX)
    if axis == 0:
        idx = np.stack([RNG.permutation(4)[:3] for _ in range(5)], 1).astype(np.int64)
        upd = rand(3, 5)
    else:
        idx = np.stack([RNG.permutation(5)[:3] - 2 for _ in range(4)], 0).astype(np.int64)
        upd = rand(4, 3)
    m = make([helper.make_node("ScatterElements", ["x", "idx", "u"], ["y"], axis=axis, reduction=reduction)],
             [("x", x), ("idx", idx), ("u", upd)], [("y", np.float32)])
    check(m, {"x": x, "idx": idx, "u": upd})


# -- CumSum, OneHot, Hardmax, ReverseSequence, Trilu -----------------------------------------------------------
@pytest.mark.parametrize("exclusive,reverse", [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_cumsum(exclusive, reverse, dtype):
    x = rand(3, 4, 5, dtype=dtype)
    m = make([helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)],
             [("x", x)], [("y", dtype)], {"axis": np.array(-2, np.int64)})
    check(m, {"x": x})


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot(axis):
    idx = np.array([[0, 3, -1], [9, -5, -6]], np.int64)  # negative: from the end; out of range: all off
    nodes = [helper.make_node("OneHot", ["idx", "depth", "vals"], ["y"], axis=axis)]
    m = make(nodes, [("idx", idx)], [("y", np.float32)],
             {"depth": np.array(5, np.int64), "vals": np.array([-2.0, 3.5], np.float32)})
    check(m, {"idx": idx})


def test_one_hot_runtime_depth():
    idx = np.array([[0, 3, -1]], np.int64)
    nodes = [helper.make_node("OneHot", ["idx", "depth", "vals"], ["y"], axis=1)]
    m = make(nodes, [("idx", idx), ("depth", np.array(4, np.int64))], [("y", np.float32)],
             {"vals": np.array([0.0, 1.0], np.float32)})
    check(m, None, runs=[{"idx": idx, "depth": np.array(d, np.int64)} for d in (4, 2, 7)])


def test_one_hot_runtime_values_float_indices():
    idx = np.array([0.0, 2.7, -1.2, 4.0], np.float32)
    vals = np.array([0, 7], np.int64)
    nodes = [helper.make_node("OneHot", ["idx", "depth", "vals"], ["y"])]
    m = make(nodes, [("idx", idx), ("vals", vals)], [("y", np.int64)], {"depth": np.array([4], np.int64)})
    check(m, {"idx": idx, "vals": vals})


def test_cumsum_runtime_axis():
    x = rand(3, 4)
    m = make([helper.make_node("CumSum", ["x", "axis"], ["y"], reverse=1)],
             [("x", x), ("axis", np.array(0, np.int32))], [("y", np.float32)])
    check(m, None, runs=[{"x": x, "axis": np.array(a, np.int32)} for a in (0, 1, -1)])


@pytest.mark.parametrize("opset,axis", [(13, -1), (13, 0), (11, 1)])
def test_hardmax(opset, axis):
    x = rand(3, 4, 5)
    x[0, 0, 1] = x[0, 0, 3] = 5.0  # ties: the first
    m = make([helper.make_node("Hardmax", ["x"], ["y"], axis=axis)], [("x", x)], [("y", np.float32)],
             opset=opset)
    check(m, {"x": x})


@pytest.mark.parametrize("batch_axis,time_axis", [(1, 0), (0, 1)])
def test_reverse_sequence(batch_axis, time_axis):
    shape = [6, 6, 3]
    shape[batch_axis] = 4
    x = rand(*shape)
    lens = np.array([1, 6, 3, 0 + 2], np.int64)
    nodes = [helper.make_node("ReverseSequence", ["x", "lens"], ["y"], batch_axis=batch_axis, time_axis=time_axis)]
    m = make(nodes, [("x", x), ("lens", lens)], [("y", np.float32)])
    check(m, {"x": x, "lens": lens})


@pytest.mark.parametrize("upper,k", [(1, 0), (0, 0), (1, -1), (0, 2), (1, 7)])
def test_trilu(upper, k):
    x = rand(2, 4, 5)
    m = make([helper.make_node("Trilu", ["x", "k"], ["y"], upper=upper)], [("x", x)], [("y", np.float32)],
             {"k": np.array(k, np.int64)})
    check(m, {"x": x})


def test_trilu_runtime_k():
    x = rand(3, 4, 6)
    m = make([helper.make_node("Trilu", ["x", "k"], ["y"], upper=0)], [("x", x), ("k", np.array(1, np.int64))],
             [("y", np.float32)])
    check(m, None, runs=[{"x": x, "k": np.array(k, np.int64)} for k in (1, -2, 9)])


def test_trilu_int_no_k():
    x = rand(5, 3, dtype=np.int64)
    m = make([helper.make_node("Trilu", ["x"], ["y"], upper=0)], [("x", x)], [("y", np.int64)])
    check(m, {"x": x})


# -- Einsum --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhid,bhjd->bhij", [(2, 3, 4, 8), (2, 3, 5, 8)]),
    ("bhij,bhjd->bhid", [(2, 3, 4, 5), (2, 3, 5, 8)]),
    ("ij->ji", [(3, 4)]),
    ("bij->bj", [(2, 3, 4)]),
    ("i,i->", [(6,), (6,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("nchw,kc->nkhw", [(1, 3, 4, 5), (6, 3)]),
    ("bid,bjd->bij", [(2, 3, 4), (2, 5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("bi,bj,bk->bijk", [(2, 3), (2, 4), (2, 2)]),
    ("ij,ij,ij->", [(3, 4), (3, 4), (3, 4)]),
])
def test_einsum(eq, shapes):
    xs = {f"x{i}": rand(*s) for i, s in enumerate(shapes)}
    m = make([helper.make_node("Einsum", list(xs), ["y"], equation=eq)], list(xs.items()), [("y", np.float32)])
    check(m, xs)


def test_einsum_implicit_output():
    xs = {"a": rand(3, 4), "b": rand(4, 5)}
    m = make([helper.make_node("Einsum", ["a", "b"], ["y"], equation="ij,jk")], list(xs.items()),
             [("y", np.float32)])
    check(m, xs)


@pytest.mark.parametrize("eq,shapes", [("ii->i", [(3, 3)]), ("ii", [(4, 4)]), ("...ii->...i", [(2, 3, 3)]),
                                       ("bii,bij->bj", [(2, 3, 3), (2, 3, 4)]), ("iji->j", [(3, 2, 3)]),
                                       ("iii->i", [(3, 3, 3)])])
def test_einsum_diagonal(eq, shapes):
    xs = {f"x{i}": rand(*s) for i, s in enumerate(shapes)}
    xs["x0"].reshape(-1)[0] = np.inf  # a diagonal element: gathered, not masked and summed
    m = make([helper.make_node("Einsum", list(xs), ["y"], equation=eq)], list(xs.items()), [("y", np.float32)])
    check(m, xs)


# -- NonMaxSuppression -------------------------------------------------------------------------------------------
def _boxes(b, n, center=False):
    xy = RNG.uniform(0, 1, (b, n, 2))
    wh = RNG.uniform(0.05, 0.5, (b, n, 2))
    if center:
        return np.concatenate([xy, wh], -1).astype(np.float32)
    return np.concatenate([xy, xy + wh], -1).astype(np.float32)[..., [1, 0, 3, 2]]


@pytest.mark.parametrize("center", [0, 1])
@pytest.mark.parametrize("score_threshold", [None, 0.3])
def test_non_max_suppression(center, score_threshold):
    boxes, scores = _boxes(2, 20, center), RNG.uniform(0, 1, (2, 3, 20)).astype(np.float32)
    inits = {"m": np.array([8], np.int64), "iou": np.array([0.3], np.float32)}
    names = ["boxes", "scores", "m", "iou"]
    if score_threshold is not None:
        inits["st"] = np.array([score_threshold], np.float32)
        names.append("st")
    nodes = [helper.make_node("NonMaxSuppression", names, ["y"], center_point_box=center)]
    m = make(nodes, [("boxes", boxes), ("scores", scores)], [("y", np.int64)], inits)
    runs = [{"boxes": boxes, "scores": scores}, {"boxes": _boxes(2, 20, center),
                                                 "scores": RNG.uniform(0, 1, (2, 3, 20)).astype(np.float32)}]
    check(m, None, runs=runs)


def test_non_max_suppression_runtime_limits():
    """max_output_boxes_per_class and iou_threshold given at run time (the IoU threshold's next float computed from
    its bits in the model)."""
    boxes, scores = _boxes(1, 30), RNG.uniform(0, 1, (1, 2, 30)).astype(np.float32)
    nodes = [helper.make_node("NonMaxSuppression", ["boxes", "scores", "m", "iou", "st"], ["y"])]
    m = make(nodes, [("boxes", boxes), ("scores", scores), ("m", np.array([3], np.int64)),
                     ("iou", np.array([0.5], np.float32)), ("st", np.array([0.1], np.float32))], [("y", np.int64)])
    runs = [{"boxes": boxes, "scores": scores, "m": np.array([mm], np.int64), "iou": np.array([iou], np.float32),
             "st": np.array([st], np.float32)} for mm, iou, st in ((3, 0.5, 0.1), (40, 0.2, 0.0), (0, 0.5, 0.0),
                                                                     (10, 0.0, 0.5))]
    check(m, None, runs=runs)


@pytest.mark.parametrize("threshold", [None, 0.2])
def test_non_max_suppression_equal_scores(threshold):
    """Equal scores: onnxruntime takes the lower box index first (TFLite's heap has no defined order; the lowering
    sorts first), also where the limit cuts through equal scores; -inf scores are candidates without a threshold."""
    n = 12
    xy = np.stack([np.arange(n) * 2.0, np.zeros(n)], 1)
    boxes = np.concatenate([xy, xy + 1], 1)[None].astype(np.float32)
    boxes[0, 5] = boxes[0, 4] + 0.1  # one overlapping pair
    names, inits = ["boxes", "scores", "m"], {"m": np.array([8], np.int64)}
    if threshold is not None:
        names += ["iou", "st"]
        inits.update(iou=np.array([0.3], np.float32), st=np.array([threshold], np.float32))
    m = make([helper.make_node("NonMaxSuppression", names, ["y"])],
             [("boxes", boxes), ("scores", np.float32, [1, 2, n])], [("y", np.int64)], inits)
    runs = []
    for _ in range(6):
        sc = (RNG.integers(0, 3, (1, 2, n)) / 4 + 0.1).astype(np.float32)
        sc[0, 1, :3] = -np.inf
        runs.append({"boxes": boxes, "scores": sc})
    check(m, None, runs=runs)


def test_non_max_suppression_none_selected():
    boxes, scores = _boxes(1, 5), RNG.uniform(0, 1, (1, 1, 5)).astype(np.float32)
    nodes = [helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["y"])]  # max_output_boxes_per_class 0
    m = make(nodes, [("boxes", boxes), ("scores", scores)], [("y", np.int64)])
    check(m, {"boxes": boxes, "scores": scores})


def test_non_max_suppression_iou_zero_and_touching():
    """iou_threshold 0: onnxruntime suppresses only overlapping boxes (IoU > 0), TFLite at IoU >= threshold."""
    boxes = np.array([[[0, 0, 1, 1], [0, 1, 1, 2], [0.5, 0.5, 1.5, 1.5], [2, 2, 3, 3]]], np.float32)
    scores = np.array([[[0.9, 0.8, 0.7, 0.6]]], np.float32)
    nodes = [helper.make_node("NonMaxSuppression", ["boxes", "scores", "m", "iou"], ["y"])]
    m = make(nodes, [("boxes", boxes), ("scores", scores)], [("y", np.int64)],
             {"m": np.array([10], np.int64), "iou": np.array([0.0], np.float32)})
    check(m, {"boxes": boxes, "scores": scores})


# -- Unique ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sort", [0, 1])
@pytest.mark.parametrize("dtype", [np.int64, np.float32])  # onnxruntime has no int32 Unique
def test_unique(dtype, sort):
    x = rand(3, 7, dtype=dtype, lo=-3, hi=6) if dtype != np.float32 else \
        RNG.integers(-3, 6, (3, 7)).astype(np.float32) / 2
    if dtype != np.float32:
        x[0, :2] = [np.iinfo(dtype).min, np.iinfo(dtype).max]
    m = make([helper.make_node("Unique", ["x"], ["y", "first", "inv", "cnt"], sorted=sort)], [("x", x)],
             [("y", dtype), ("first", np.int64), ("inv", np.int64), ("cnt", np.int64)])
    check(m, None, runs=[{"x": x}, {"x": np.zeros_like(x)}, {"x": x[::-1].copy()}])


def test_unique_values_only_dynamic_input():
    x = rand(9, dtype=np.int64, lo=0, hi=4)
    m = make([helper.make_node("Unique", ["x"], ["y"])], [("x", np.int64, ["n"])], [("y", np.int64)])
    check(m, None, runs=[{"x": x}, {"x": rand(20, dtype=np.int64, lo=-9, hi=9)}])


def test_unique_axis_of_matrix_refused():
    m = make([helper.make_node("Unique", ["x"], ["y"], axis=0)], [("x", rand(3, 2))], [("y", np.float32)])
    with pytest.raises(ConversionError, match="Unique with an axis"):
        edgerun.convert(m)


# -- predicates, bitwise ---------------------------------------------------------------------------------------
def test_isnan_isinf():
    x = np.array([[0.0, np.nan, np.inf], [-np.inf, 1e38, -2.0]], np.float32)
    nodes = [helper.make_node("IsNaN", ["x"], ["a"]), helper.make_node("IsInf", ["x"], ["b"]),
             helper.make_node("IsInf", ["x"], ["c"], detect_negative=0),
             helper.make_node("IsInf", ["x"], ["d"], detect_positive=0)]
    m = make(nodes, [("x", x)], [(n, np.bool_) for n in "abcd"])
    check(m, {"x": x})


def test_xor():
    a, b = rand(3, 4, dtype=np.bool_), rand(4, dtype=np.bool_)
    m = make([helper.make_node("Xor", ["a", "b"], ["y"])], [("a", a), ("b", b)], [("y", np.bool_)])
    check(m, {"a": a, "b": b})


@pytest.mark.parametrize("op", ["BitwiseAnd", "BitwiseOr", "BitwiseXor"])
@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.int8, np.int16])
def test_bitwise_binary(op, dtype):
    info = np.iinfo(dtype)
    a = RNG.integers(info.min, int(info.max) + 1, (3, 5)).astype(dtype)
    b = RNG.integers(info.min, int(info.max) + 1, (5,)).astype(dtype)
    m = make([helper.make_node(op, ["a", "b"], ["y"])], [("a", a), ("b", b)], [("y", dtype)])
    check(m, {"a": a, "b": b})


@pytest.mark.parametrize("dtype", [np.int32, np.uint8])
def test_bitwise_not(dtype):
    info = np.iinfo(dtype)
    a = RNG.integers(info.min, int(info.max) + 1, (4, 3)).astype(dtype)
    m = make([helper.make_node("BitwiseNot", ["a"], ["y"])], [("a", a)], [("y", dtype)])
    check(m, {"a": a})


@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32])
def test_bit_shift(direction, dtype):
    """Shifts past the width and negative ones too (opset 28: 0, or the sign bit to the right)."""
    info = np.iinfo(dtype)
    bits = 8 * np.dtype(dtype).itemsize
    a = RNG.integers(info.min, int(info.max) + 1, (4, 6)).astype(dtype)
    s = RNG.integers(max(info.min, -3), bits + 3, (6,)).astype(dtype)
    m = make([helper.make_node("BitShift", ["a", "s"], ["y"], direction=direction)], [("a", a), ("s", s)],
             [("y", dtype)], opset=28 if info.min < 0 else 18)
    check(m, {"a": a, "s": s})


# -- torch.onnx exports ------------------------------------------------------------------------------------------
def _torch_cases():
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 6, generator=g)
    idx = torch.randint(0, 6, (4, 3), generator=g)
    F = torch.nn.functional
    return {
        "masked_select": (lambda x: x[x > 0], (x,)),  # NonZero -> Transpose -> GatherND
        "nonzero": (lambda x: torch.nonzero(x > 0), (x,)),
        "topk_smallest_dim0": (lambda x: torch.topk(x, 3, dim=0, largest=False), (x,)),
        "sort_descending": (lambda x: torch.sort(x, dim=1, descending=True), (x,)),
        "argsort": (lambda x: torch.argsort(x, dim=1), (x,)),
        "cumsum": (lambda x: torch.cumsum(x, dim=1), (x,)),
        "triu_tril": (lambda x: (torch.triu(x, 1), torch.tril(x, -1)), (x,)),
        "einsum": (lambda a, b: torch.einsum("bid,bjd->bij", a, b),
                   (torch.randn(2, 3, 4, generator=g), torch.randn(2, 5, 4, generator=g))),
        "gather": (lambda x, i: torch.gather(x, 1, i), (x, idx)),
        "scatter": (lambda x, i: x.scatter(1, i[:, :1], torch.ones(4, 1)), (x, idx)),
        "scatter_add": (lambda x, i: x.scatter_add(1, i, torch.ones(4, 3)), (x, idx)),  # duplicate indices
        "index_put": (lambda x, i: x.index_put((i[:, 0] % 4,), torch.zeros(4, 6)), (x, idx)),
        "one_hot": (lambda i: F.one_hot(i, 6), (idx,)),
        "unique": (lambda i: torch.unique(i), (idx,)),
        "isnan_isinf": (lambda x: torch.isnan(x) | torch.isinf(x), (x,)),
    }


_TORCH = ["masked_select", "nonzero", "topk_smallest_dim0", "sort_descending", "argsort", "cumsum", "triu_tril",
          "einsum", "gather", "scatter", "scatter_add", "index_put", "one_hot", "unique", "isnan_isinf"]


@pytest.mark.slow
@pytest.mark.parametrize("name", _TORCH)
def test_torch_export(name):
    """torch.onnx.export (dynamo) of the torch functions that export to these ops, vs onnxruntime."""
    import torch

    f, args = _torch_cases()[name]

    class M(torch.nn.Module):
        def forward(self, *a):
            return f(*a)

    mp = torch.onnx.export(M(), args, dynamo=True, verbose=False).model_proto
    check(mp, {i.name: a.numpy() for i, a in zip(mp.graph.input, args)})


# -- dynamic input dimensions --------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["NonZero", "TopK", "CumSum", "Trilu", "Hardmax", "IsNaN", "OneHot", "GatherND"])
def test_dynamic_batch(op):
    """A model with a dynamic batch dimension, run at several batch sizes."""
    inits, outs = {}, [("y", np.float32)]
    if op == "NonZero":
        node, outs = helper.make_node("NonZero", ["x"], ["y"]), [("y", np.int64)]
    elif op == "TopK":
        node, inits = helper.make_node("TopK", ["x", "k"], ["y", "i"], axis=2), {"k": np.array([2], np.int64)}
        outs = [("y", np.float32), ("i", np.int64)]
    elif op == "CumSum":
        node, inits = helper.make_node("CumSum", ["x", "a"], ["y"], exclusive=1), {"a": np.array(1, np.int64)}
    elif op == "Trilu":
        node = helper.make_node("Trilu", ["x"], ["y"])
    elif op == "Hardmax":
        node = helper.make_node("Hardmax", ["x"], ["y"])
    elif op == "IsNaN":
        node, outs = helper.make_node("IsNaN", ["x"], ["y"]), [("y", np.bool_)]
    elif op == "OneHot":
        node = helper.make_node("OneHot", ["xi", "d", "v"], ["y"])
        inits = {"d": np.array(4, np.int64), "v": np.array([0, 1], np.float32)}
    else:
        node = helper.make_node("GatherND", ["x", "idx"], ["y"], batch_dims=0)
        inits = {"idx": np.array([[0, 1], [2, 0]], np.int64)}
    nodes = [node]
    if op == "OneHot":
        nodes = [helper.make_node("Cast", ["x"], ["xi"], to=TensorProto.INT64)] + nodes
    m = make(nodes, [("x", np.float32, ["n", 3, 4])], outs, inits)
    runs = []
    for n in (1, 3, 2):
        x = (RNG.integers(-2, 3, (n, 3, 4)) / 2).astype(np.float32)
        if op == "IsNaN":
            x[0, 0, 0] = np.nan
        runs.append({"x": x})
    if op == "GatherND":  # indexing the dynamic axis: its size is needed at conversion
        with pytest.raises(ConversionError, match="dynamic"):
            edgerun.convert(m)
        return
    check(m, None, runs=runs)


# -- refusals name what is not supported --------------------------------------------------------------------------
def _refused(op, inputs, attrs=None, inits=None, out=np.float32, opset=18):
    names = [n for n, *_ in inputs] + list(inits or {})
    return make([helper.make_node(op, names, ["y"], **(attrs or {}))], inputs, [("y", out)], inits or {}, opset)


@pytest.mark.parametrize("model,match", [
    (lambda: _refused("BitShift", [("a", np.zeros(3, np.uint16)), ("s", np.zeros(3, np.uint16))],
                      {"direction": "LEFT"}, out=np.uint16), "BitShift of uint16"),
    (lambda: _refused("BitwiseAnd", [("a", np.zeros(3, np.int64)), ("b", np.zeros(3, np.int64))], out=np.int64),
     "BitwiseAnd of int64"),
    (lambda: _refused("GatherND", [("x", rand(2, 3, 4)), ("i", np.int64, [2, "n", 1])], {"batch_dims": 1}),
     "indices .* dynamic shape"),
    (lambda: _refused("Einsum", [("a", rand(2, 3)), ("b", rand(1, 3))], {"equation": "ij,ij->i"}),
     "broadcasting within einsum"),
    (lambda: _refused("Einsum", [("a", rand(2, 3)), ("b", rand(3, 2))], {"equation": "ij,jk,kl->il"}),
     "3 terms for 2 operands"),
    (lambda: _refused("TopK", [("x", rand(2, 5))], {"axis": 1}, {"k": np.array([6], np.int64)}),
     "K = 6 is out of range"),
    (lambda: _refused("NonMaxSuppression", [("b", rand(1, 4, 4)), ("s", rand(1, 2, 4))], {},
                      {"m": np.array([2], np.int64), "iou": np.array([1.5], np.float32)}, out=np.int64),
     "iou_threshold 1.5 is outside"),
])
def test_refusals_name_the_reason(model, match):
    with pytest.raises(ConversionError, match=match):
        edgerun.convert(model())
