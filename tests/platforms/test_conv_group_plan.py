"""Grouped CONV_2D, DEPTHWISE_CONV_2D with a depth multiplier and RESIZE_BILINEAR on their fast kernels
(kernels/opt/q_conv_group.c, kernels/opt/resize.c) in a plan file run by the C library on this host equal the
desktop interpreter: an int8 chain (s8_conv2d_group_gemm -> s8_dwconv2d_mult_madd -> s8_resize_bilinear_opt)
and a float32 one (f32_dwconv2d_mult_fast -> f32_resize_bilinear_opt)."""
import numpy as np
from test_clib import check, host_lib  # noqa: F401  (the session fixture)

from edgerun.platforms.codegen import prepare_for


def _chain(dtype):
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(7)
    b = ModelBuilder()
    q = (lambda s, z: (s, z)) if dtype == np.int8 else (lambda s, z: None)
    x = b.tensor("x", (1, 9, 10, 12), dtype, quant=q(0.05, 3))
    h = x
    if dtype == np.int8:
        wsc = (0.01 * rng.uniform(0.5, 2, 20)).astype(np.float32)
        w = b.const("w", rng.integers(-127, 128, (20, 3, 3, 3)).astype(np.int8), quant=(wsc, np.zeros(20, np.int64), 0))
        bias = b.const("b", rng.integers(-3000, 3000, 20).astype(np.int32),
                       quant=((0.05 * wsc).astype(np.float32), np.zeros(20, np.int64), 0))
        h = b.tensor("g", (1, 9, 10, 20), dtype, quant=(0.08, -2))
        b.op("CONV_2D", [x, w, bias], [h], {"padding": 0, "strideH": 1, "strideW": 1}, version=3)
    c = 20 if dtype == np.int8 else 12
    if dtype == np.int8:
        wsc = (0.02 * rng.uniform(0.5, 2, 2 * c)).astype(np.float32)
        wd = b.const("wd", rng.integers(-127, 128, (1, 3, 3, 2 * c)).astype(np.int8),
                     quant=(wsc, np.zeros(2 * c, np.int64), 3))
        bd = b.const("bd", rng.integers(-3000, 3000, 2 * c).astype(np.int32),
                     quant=((0.08 * wsc).astype(np.float32), np.zeros(2 * c, np.int64), 0))
    else:
        wd = b.const("wd", rng.uniform(-1, 1, (1, 3, 3, 2 * c)).astype(np.float32))
        bd = b.const("bd", rng.uniform(-1, 1, 2 * c).astype(np.float32))
    d = b.tensor("d", (1, 5, 5, 2 * c), dtype, quant=q(0.1, 1))
    b.op("DEPTHWISE_CONV_2D", [h, wd, bd], [d], {"padding": 0, "strideH": 2, "strideW": 2, "depthMultiplier": 2},
         version=3 if dtype == np.int8 else 1)
    y = b.tensor("y", (1, 11, 8, 2 * c), dtype, quant=q(0.1, 1))
    b.op("RESIZE_BILINEAR", [d, b.const("size", np.array([11, 8], np.int32))], [y], {"halfPixelCenters": True})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def test_int8_chain_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    model = _chain(np.int8)
    assert prepare_for(model, "host").kernels() == ["s8_conv2d_group_gemm", "s8_dwconv2d_mult_madd",
                                                    "s8_resize_bilinear_opt"]
    rng = np.random.default_rng(0)
    steps = [[rng.integers(-128, 128, (1, 9, 10, 12)).astype(np.int8)] for _ in range(2)]
    check(host_lib, model, "host", tmp_path, steps=steps)


def test_float_chain_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    model = _chain(np.float32)
    assert prepare_for(model, "host").kernels() == ["f32_dwconv2d_mult_fast", "f32_resize_bilinear_opt"]
    rng = np.random.default_rng(0)
    steps = [[rng.uniform(-2, 2, (1, 9, 10, 12)).astype(np.float32)] for _ in range(2)]
    check(host_lib, model, "host", tmp_path, steps=steps)
