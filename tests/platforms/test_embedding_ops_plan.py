"""LSH_PROJECTION, EMBEDDING_LOOKUP_SPARSE and HASHTABLE_LOOKUP (kernels/ref/embedding.c) in a plan file run by
the C library (er_run on this host), and in generated C built for the host, give the desktop interpreter's
outputs."""
import os
import sys

import numpy as np
import pytest
from test_clib import check, host_lib  # noqa: F401  (the session fixture)
from test_codegen import _check as check_codegen

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "runtime"))
from test_embedding_lsh import els_model, lookup_model, lsh_model


def test_lsh_projection_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    rng = np.random.default_rng(5)
    steps = [[rng.normal(size=(5, 20)).astype(np.float32)] for _ in range(2)]
    check(host_lib, lsh_model((5, 20), np.float32, 1, weight=True), "host", tmp_path, steps=steps)
    check(host_lib, lsh_model((5, 20), np.float32, 2), "host", tmp_path, steps=steps)


def test_embedding_lookup_sparse_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    rng = np.random.default_rng(6)
    steps = [[rng.integers(0, 6, 3).astype(np.int32), rng.uniform(0.1, 2, 3).astype(np.float32)] for _ in range(2)]
    check(host_lib, els_model([[0, 0, 0], [0, 0, 1], [1, 1, 0]], [2, 2, 2], (6, 3, 2), 2), "host", tmp_path,
          steps=steps)


def test_hashtable_lookup_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    steps = [[np.array([3, 4, -5, 12], np.int32)], [np.array([0, 0, 7, 9], np.int32)]]
    check(host_lib, lookup_model(np.arange(10, dtype=np.float32).reshape(5, 2)), "host", tmp_path, steps=steps)


@pytest.mark.slow  # compiles a generated project with the kernel sources it calls: about a minute on 2 busy cores
def test_lsh_projection_generated_c_matches_desktop(tmp_path):
    rng = np.random.default_rng(7)
    steps = [[rng.normal(size=(5, 20)).astype(np.float32)] for _ in range(2)]
    check_codegen(lsh_model((5, 20), np.float32, 1, weight=True), "host", tmp_path, steps=steps)
