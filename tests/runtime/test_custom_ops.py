"""Custom ops: MediaPipe's Convolution2DTransposeBias, MaxPoolingWithArgmax2D and MaxUnpooling2D against
LiteRT (whose default delegate is what resolves them), and the public registration API (a Python callable,
and a C kernel for the fast path)."""
import struct

import numpy as np
import pytest

import edgerun
from oracle import assert_matches_litert, edgerun_run, litert_run

SAME, VALID = 1, 2  # TfLitePadding values used in the raw custom options


def _pool_opts(padding, sw, sh, fw, fh, act=0):
    return struct.pack("<6i", padding, sw, sh, fw, fh, act) + bytes(16)  # + computed padding (unused)


def _argmax_model(shape, padding, sw, sh, fw, fh, out_hw, act=0):
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", shape, np.float32)
    oshape = (shape[0], *out_hw, shape[3])
    y = b.tensor("y", oshape, np.float32)
    i = b.tensor("idx", oshape, np.float32)
    b.op("CUSTOM", [x], [y, i], custom_code="MaxPoolingWithArgmax2D",
         custom_options=_pool_opts(padding, sw, sh, fw, fh, act))
    b.inputs([x])
    b.outputs([y, i])
    return b.finish()


def _argmax_reference(x, padding, s, k):
    """MediaPipe's definition: max over the in-bounds part of each window (TFLite SAME/VALID geometry), and
    the argmax as y * k + x inside the window (first maximum wins), stored as a float."""
    n, h, w, c = x.shape
    oh, ow = ((h + s - 1) // s, (w + s - 1) // s) if padding == SAME else ((h - k + s) // s, (w - k + s) // s)
    pt = max(((oh - 1) * s + k - h) // 2, 0)
    pl = max(((ow - 1) * s + k - w) // 2, 0)
    val = np.zeros((n, oh, ow, c), np.float32)
    idx = np.zeros((n, oh, ow, c), np.int32)
    for i in range(oh):
        for j in range(ow):
            y0, x0 = i * s - pt, j * s - pl
            win = np.full((n, k, k, c), -np.inf, np.float32)
            for dy in range(k):
                for dx in range(k):
                    if 0 <= y0 + dy < h and 0 <= x0 + dx < w:
                        win[:, dy, dx] = x[:, y0 + dy, x0 + dx]
            flat = win.reshape(n, k * k, c)
            val[:, i, j] = flat.max(axis=1)
            idx[:, i, j] = flat.argmax(axis=1)
    return val, idx


@pytest.mark.parametrize("padding,k,s", [(SAME, 2, 2), (VALID, 2, 2), (SAME, 3, 2), (VALID, 3, 1), (SAME, 3, 3)])
def test_max_pooling_with_argmax(padding, k, s):
    x = np.random.default_rng(0).normal(size=(2, 8, 7, 3)).astype(np.float32)
    val, idx = _argmax_reference(x, padding, s, k)
    model = _argmax_model(x.shape, padding, s, s, k, k, val.shape[1:3])
    ours = edgerun_run(model, [x])
    np.testing.assert_array_equal(ours[0], val)
    np.testing.assert_array_equal(ours[1].astype(np.int32), idx)
    np.testing.assert_allclose(ours[1] - idx, 0.1, atol=1e-6)
    if k == s and (padding == VALID or 8 % s == 0 == 7 % s):
        # LiteRT's delegate (which is what resolves the op there) agrees on the values and on the argmax
        # position; it numbers a window column-major (x * k + y) and stores the number as int32 bits.
        theirs = litert_run(model, [x], delegate=True)
        np.testing.assert_array_equal(ours[0], theirs[0])
        t = theirs[1].view(np.int32)
        np.testing.assert_array_equal((t % k) * k + t // k, idx)


def test_max_unpooling_roundtrip():
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (1, 8, 6, 4), np.float32)
    y = b.tensor("y", (1, 4, 3, 4), np.float32)
    i = b.tensor("idx", (1, 4, 3, 4), np.float32)
    z = b.tensor("z", (1, 8, 6, 4), np.float32)
    opts = _pool_opts(VALID, 2, 2, 2, 2)  # the configuration LiteRT's delegate supports
    b.op("CUSTOM", [x], [y, i], custom_code="MaxPoolingWithArgmax2D", custom_options=opts)
    b.op("CUSTOM", [y, i], [z], custom_code="MaxUnpooling2D", custom_options=opts)
    b.inputs([x])
    b.outputs([z])
    model = b.finish()
    xv = np.random.default_rng(1).normal(size=(1, 8, 6, 4)).astype(np.float32)
    ours, _ = assert_matches_litert(model, [xv], delegate=True, exact=True)
    # Every 2x2 window keeps exactly its maximum.
    win = xv.reshape(1, 4, 2, 3, 2, 4).max(axis=(2, 4))
    np.testing.assert_array_equal(ours[0].reshape(1, 4, 2, 3, 2, 4).sum(axis=(2, 4)), win)
    assert np.count_nonzero(ours[0]) == win.size


def test_max_unpooling_ignores_out_of_range_indices():
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    v = b.tensor("v", (1, 2, 2, 1), np.float32)
    i = b.tensor("i", (1, 2, 2, 1), np.float32)
    z = b.tensor("z", (1, 4, 4, 1), np.float32)
    b.op("CUSTOM", [v, i], [z], custom_code="MaxUnpooling2D", custom_options=_pool_opts(SAME, 2, 2, 2, 2))
    b.inputs([v, i])
    b.outputs([z])
    idx = np.array([0, 3, 1e12, np.nan], np.float32).reshape(1, 2, 2, 1)
    it = edgerun.Interpreter(model_content=b.finish())
    it.allocate_tensors()
    it.set_tensor(0, np.ones((1, 2, 2, 1), np.float32))
    it.set_tensor(1, idx)
    it.invoke()
    z = it.get_tensor(2)[0, :, :, 0]
    assert z[0, 0] == 1 and z[1, 3] == 1 and z.sum() == 2


@pytest.mark.parametrize("padding,stride,k,in_hw", [(SAME, 2, 3, (5, 4)), (VALID, 2, 3, (5, 4)), (SAME, 2, 2, (4, 4)),
                                                    (SAME, 1, 3, (3, 5)), (VALID, 3, 2, (2, 3))])
def test_convolution2d_transpose_bias(padding, stride, k, in_hw):
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(2)
    h, w = in_hw
    pad_h = max(0, k - (h - 1) % stride - 1) if padding == SAME else 0
    pad_w = max(0, k - (w - 1) % stride - 1) if padding == SAME else 0
    oh, ow = stride * (h - 1) + k - pad_h, stride * (w - 1) + k - pad_w
    b = ModelBuilder()
    x = b.tensor("x", (1, h, w, 3), np.float32)
    wt = b.const("w", rng.normal(size=(5, k, k, 3)).astype(np.float32))
    bias = b.const("b", rng.normal(size=5).astype(np.float32))
    y = b.tensor("y", (1, oh, ow, 5), np.float32)
    b.op("CUSTOM", [x, wt, bias], [y], custom_code="Convolution2DTransposeBias",
         custom_options=struct.pack("<3i", padding, stride, stride) + bytes(8))
    b.inputs([x])
    b.outputs([y])
    assert_matches_litert(b.finish(), delegate=True)


def test_truncated_custom_options_are_named():
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 1), np.float32)
    y = b.tensor("y", (1, 2, 2, 1), np.float32)
    i = b.tensor("i", (1, 2, 2, 1), np.float32)
    b.op("CUSTOM", [x], [y, i], custom_code="MaxPoolingWithArgmax2D", custom_options=b"\x01\x00")
    b.inputs([x])
    b.outputs([y, i])
    with pytest.raises(edgerun.UnsupportedOpError, match="MaxPoolingWithArgmax2D.*custom options"):
        edgerun.Interpreter(model_content=b.finish()).allocate_tensors()


def _custom_model(code, shape=(2, 5)):
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", shape, np.float32)
    y = b.tensor("y", shape, np.float32)
    b.op("CUSTOM", [x], [y], custom_code=code, custom_options=b"\x07")
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def test_register_python_custom_op():
    seen = {}

    def fn(inputs, outputs):
        outputs[0][...] = np.cumprod(inputs[0], axis=-1)

    def shape_fn(shapes, options):
        seen["options"] = options
        return [shapes[0]]

    edgerun.register_custom_op("TestCumprod", fn, shape_fn=shape_fn)
    it = edgerun.Interpreter(model_content=_custom_model("TestCumprod"))
    it.allocate_tensors()
    x = np.arange(1, 11, dtype=np.float32).reshape(2, 5)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]),
                                  np.array([[1, 2, 6, 24, 120], [6, 42, 336, 3024, 30240]], np.float32))
    assert seen["options"] == b"\x07"


def test_register_c_custom_op():
    """The C path: a custom op bound to a compiled kernel (here the unary kernel computing ABS)."""
    from edgerun.kernels import lib

    def params(ctx):
        return ctx.new("er_unary_params *", {"op": lib.ER_UN_ABS})

    edgerun.register_custom_op("TestAbs", c_kernel="f32_unary", params_fn=params)
    it = edgerun.Interpreter(model_content=_custom_model("TestAbs"))
    it.allocate_tensors()
    x = np.array([[-1, 2, -3, 4, -5], [0, -0.5, 0.5, -7, 7]], np.float32)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), np.abs(x))


def test_register_needs_exactly_one_implementation():
    with pytest.raises(ValueError):
        edgerun.register_custom_op("Nothing")
