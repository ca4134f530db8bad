"""RANDOM_UNIFORM, RANDOM_STANDARD_NORMAL, MULTINOMIAL and FAKE_QUANT (kernels/ref/random.c) in a plan file run by
the C library (er_run on this host) give the desktop interpreter's outputs over 3 steps: the random ops' Philox
counters are plan variables, so each step continues the stream; the StableHLO kernels and STABLEHLO_COMPOSITE
(its decomposition a subplan), STABLEHLO_CASE (its branches subplans) and STABLEHLO_SCATTER likewise."""
import os
import sys

import numpy as np
from test_clib import check, host_lib  # noqa: F401  (the session fixture)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "runtime"))
from test_stablehlo_ops import case_model, composite_model, scatter_model


def test_random_ops_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (2, 5), np.float32)
    fq, u, n, m = (b.tensor("fq", (2, 5), np.float32), b.tensor("u", (3, 7), np.float32),
                   b.tensor("n", (9,), np.float32), b.tensor("m", (2, 6), np.int32))
    b.op("FAKE_QUANT", [x], [fq], {"min": -0.7, "max": 1.3, "numBits": 5})
    b.op("RANDOM_UNIFORM", [b.const("shape_u", np.array([3, 7], np.int32))], [u], {"seed": 5, "seed2": -3})
    b.op("RANDOM_STANDARD_NORMAL", [b.const("shape_n", np.array([9], np.int32))], [n], {"seed": 8, "seed2": 1})
    b.op("MULTINOMIAL", [x, b.const("samples", np.array(6, np.int32))], [m], {"seed": 2, "seed2": 4})
    b.inputs([x])
    b.outputs([fq, u, n, m])
    rng = np.random.default_rng(0)
    steps = [[rng.uniform(-2, 2, (2, 5)).astype(np.float32)] for _ in range(3)]
    check(host_lib, b.finish(), "host", tmp_path, steps=steps)


def test_stablehlo_ops_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    """STABLEHLO_ADD / SHIFT_LEFT / PAD / GATHER and REDUCE_WINDOW (kernels/ref/stablehlo.c), int32 and float32."""
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x, k = b.tensor("x", (2, 3, 2), np.int32), b.tensor("k", (2, 3, 2), np.int32)
    f = b.tensor("f", (2, 5, 4), np.float32)
    s, sh, pd, rw = (b.tensor("sum", (2, 3, 2), np.int32), b.tensor("shifted", (2, 3, 2), np.int32),
                     b.tensor("padded", (4, 3, 2), np.int32), b.tensor("pooled", (2, 2, 3), np.float32))
    b.op("STABLEHLO_ADD", [x, k], [s])
    b.op("STABLEHLO_SHIFT_LEFT", [s, k], [sh])
    b.op("STABLEHLO_PAD", [sh, b.const("zero", np.array(-7, np.int32))], [pd],
         {"edgePaddingLow": [1, -1, 0], "edgePaddingHigh": [0, 1, 0], "interiorPadding": [1, 0, 0]})
    b.op("REDUCE_WINDOW", [f, b.const("init", np.array(-np.inf, np.float32))] +
         [b.const(n, np.array(v, np.int64)) for n, v in (("w", [1, 3, 2]), ("st", [1, 2, 1]), ("dl", [1, 1, 2]))],
         [rw], {"reduceFunction": 4})
    g = b.tensor("gathered", (2, 3, 2, 3), np.float32)
    b.op("STABLEHLO_GATHER", [b.const("operand", np.arange(60, dtype=np.float32).reshape(4, 5, 3)), k], [g],
         {"offsetDims": [2, 3], "collapsedSliceDims": [2], "startIndexMap": [0, 2], "indexVectorDim": 2,
          "sliceSizes": [2, 3, 1]})
    b.inputs([x, k, f])
    b.outputs([s, sh, pd, rw, g])
    rng = np.random.default_rng(1)
    steps = [[rng.integers(-1000, 1000, (2, 3, 2)).astype(np.int32), rng.integers(0, 6, (2, 3, 2)).astype(np.int32),
              rng.standard_normal((2, 5, 4)).astype(np.float32)] for _ in range(2)]
    check(host_lib, b.finish(), "host", tmp_path, steps=steps)


def test_composite_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    rng = np.random.default_rng(2)
    steps = [[rng.standard_normal((2, 3)).astype(np.float32) for _ in range(2)] for _ in range(2)]
    check(host_lib, composite_model(), "host", tmp_path, steps=steps)


def test_scatter_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    rng = np.random.default_rng(3)
    model = scatter_model((5, 4), (4, 1), (4, 4), np.float32, np.int32, "STABLEHLO_ADD", [1], [0], [0], 1)
    steps = [[rng.standard_normal((5, 4)).astype(np.float32), rng.integers(-1, 6, (4, 1)).astype(np.int32),
              rng.standard_normal((4, 4)).astype(np.float32)] for _ in range(2)]
    check(host_lib, model, "host", tmp_path, steps=steps)


def test_case_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    rng = np.random.default_rng(4)
    steps = [[np.array(k, np.int32), rng.standard_normal((2, 3)).astype(np.float32)] for k in (0, 2, 5)]
    check(host_lib, case_model(), "host", tmp_path, steps=steps)
