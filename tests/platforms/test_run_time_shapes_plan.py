"""Plan files and run-time-sized tensors: SLICE with a begin computed at run time (any_slice_dynamic) runs in the C
library as on the desktop; a model whose shapes exist only at run time (WHERE over computed data) is refused at
plan time naming the op (the desktop Interpreter runs it in stages: tests/runtime/test_run_time_shapes.py)."""
import os
import sys

import pytest
from test_clib import check, host_lib  # noqa: F401  (the session fixture)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "runtime"))
from test_run_time_shapes import _inputs_slice, _model, _slice_model

from edgerun.errors import RunTimeShapeError
from edgerun.platforms.codegen import prepare_for


def test_slice_with_computed_begin_in_a_plan_file(host_lib, tmp_path):  # noqa: F811
    check(host_lib, _slice_model(), "host", tmp_path, steps=[_inputs_slice(s) for s in range(3)])


def test_plan_files_refuse_run_time_shapes():
    with pytest.raises(RunTimeShapeError, match=r"op #\d+ WHERE: .*run time.*plan files"):
        prepare_for(_model("where"), "host")
