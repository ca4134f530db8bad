"""The data-family kernels (kernels/ref/data_index.c, data_math.c) in a plan file run by the C library (er_run on
this host), and in generated C (platforms/codegen) built for the host, give the desktop interpreter's outputs:
one model with 13 of the new ops, including those with params pointers (the hybrid lookup's scales,
BUCKETIZE's boundaries) and scratch (TOPK_V2)."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from test_clib import check, host_lib  # noqa: F401  (the session fixture)
from test_codegen import _check as check_codegen

F32, I32, I8 = np.float32, np.int32, np.int8


def _model():
    b = ModelBuilder()
    x = b.tensor("x", (3, 6), F32)
    ids = b.tensor("ids", (4,), I32)
    lens = b.tensor("lens", (3,), I32)
    start = b.tensor("start", (2,), I32)
    xi = b.tensor("xi", (3, 6), I32)
    sp = b.tensor("sp", (2, 2), I32)
    c = b.const
    outs = []

    def op(name, ins, shapes, options=None):
        ys = [b.tensor(f"{name.lower()}{len(outs)}_{j}", s, d) for j, (s, d) in enumerate(shapes)]
        b.op(name, ins, ys, options)
        outs.extend(ys)
        return ys

    vals, _ = op("TOPK_V2", [x, c("k", np.array(3, I32))], [((3, 3), F32), ((3, 3), I32)])
    (cum,) = op("CUMSUM", [x, c("axis", np.array(1, I32))], [((3, 6), F32)], {"exclusive": True})
    table = np.arange(-10, 10, dtype=I8).reshape(5, 4) * 6
    op("EMBEDDING_LOOKUP", [ids, b.const("table", table, quant={"scale": np.linspace(0.1, 0.5, 5),
                                                                  "zero_point": 0})], [((4, 4), F32)])
    op("ONE_HOT", [ids, c("depth", np.array(5, I32)), c("on", np.array(2.5, F32)), c("off", np.array(-1, F32))],
       [((4, 5), F32)], {"axis": -1})
    op("BUCKETIZE", [x], [((3, 6), I32)], {"boundaries": [-0.5, 0.0, 0.25, 0.5]})
    op("UNSORTED_SEGMENT_MAX", [x, c("seg", np.array([0, 2, 0], I32)), c("nseg", np.array(3, I32))],
       [((3, 6), F32)])
    op("REVERSE_SEQUENCE", [x, lens], [((3, 6), F32)], {"seqDim": 1, "batchDim": 0})
    op("DYNAMIC_UPDATE_SLICE", [x, c("upd", np.full((2, 2), 7, F32)), start], [((3, 6), F32)])
    op("SCATTER_ND", [c("sidx", np.array([[0], [2], [0]], I32)), vals, c("sshape", np.array([3, 3], I32))],
       [((3, 3), F32)])
    op("RIGHT_SHIFT", [xi, c("shift", np.array([0, 1, 5, 31, 40, -2], I32))], [((3, 6), I32)])
    op("ADD_N", [x, x, cum], [((3, 6), F32)])
    op("MATRIX_SET_DIAG", [x, c("diag", np.array([9, 8, 7], F32))], [((3, 6), F32)])
    op("SPARSE_TO_DENSE", [sp, c("dshape", np.array([3, 4], I32)), c("dvals", np.array([1.5, -2], F32)),
                           c("ddef", np.array(0.25, F32))], [((3, 4), F32)], {"validateIndices": False})
    b.inputs([x, ids, lens, start, xi, sp])
    b.outputs(outs)
    return b.finish()


def _steps():
    rng = np.random.default_rng(0)
    return [[rng.uniform(-1, 1, (3, 6)).astype(F32), rng.integers(0, 5, 4).astype(I32),
             rng.integers(-1, 7, 3).astype(I32), rng.integers(-2, 6, 2).astype(I32),
             rng.integers(-(1 << 31), 1 << 31, (3, 6)).astype(I32), np.array([[0, 1], [2, 3 - s]], I32)]
            for s in range(2)]


def test_data_ops_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    check(host_lib, _model(), "host", tmp_path, steps=_steps())
    check(host_lib, _model(), "linux-aarch64", tmp_path, steps=_steps(), isa="ref")


@pytest.mark.slow  # compiles a generated project with every kernel source it calls: about a minute on 2 busy cores
def test_data_ops_generated_c_matches_desktop(tmp_path):
    check_codegen(_model(), "host", tmp_path, steps=_steps())
