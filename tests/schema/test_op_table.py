"""The op table (schema/ops.py) describes every op once, agrees with the runtime's registered handlers and with
what edgerun runs (oracle: edgerun's own answers to the probe models of schema/probe.py), and the generated
op x type table (schema/OPS.md) is current."""
import json
import pathlib
import re

import numpy as np
import pytest
from edgerun.schema import docs, probe
from edgerun.schema import schema_generated as fb
from edgerun.schema.ops import OPS, TYPES, op_def

from edgerun import errors
from edgerun.errors import EdgerunError

SCHEMA_DIR = pathlib.Path(docs.__file__).parent


def _handlers():
    import edgerun.runtime.interpreter  # noqa: F401 - registers edgerun's own ops (runtime/rewrite.py)
    from edgerun.runtime import ops

    ops.load_families()
    return ops


def test_every_op_described_exactly_once():
    names = [d.name for d in OPS]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    builtins = {n for n in vars(fb.BuiltinOperator) if not n.startswith("_")}
    assert builtins <= set(names), sorted(builtins - set(names))
    for d in OPS:
        if not d.custom and d.name not in builtins:  # edgerun's own ops and ONES_LIKE say why they are here
            assert d.note, d.name


def test_table_agrees_with_registered_handlers():
    ops = _handlers()
    runs = {d.name for d in OPS if d.runs and not d.custom}
    assert set(ops.BUILTINS) == runs, (
        f"registered without types in the op table: {sorted(set(ops.BUILTINS) - runs)}; typed but not registered: "
        f"{sorted(runs - set(ops.BUILTINS))} (a new op: its entry in schema/ops.py, a recipe in "
        f"schema/probe_models.py, then `make ops-table`)")
    custom_runs = {d.name for d in OPS if d.runs and d.custom}
    from edgerun.runtime.plan_cache import USER_CUSTOMS  # what other tests of this process registered

    assert set(ops.CUSTOMS) - USER_CUSTOMS == custom_runs
    assert set(ops.QUANTIZED) <= set(ops.BUILTINS)
    for d in OPS:
        assert set(d.types) <= set(TYPES) | {"any"}, (d.name, d.types)


def test_roles_match_the_quantization_and_pass_rules():
    for d in OPS:
        n = len(d.inputs)
        if d.weighted:
            w = d.weighted
            assert (d.inputs[w.weight], d.inputs[w.bias].rstrip("?"), d.inputs[w.x]) == ("w", "b", "x"), d.name
        for i in (d.dynamic or {}):
            assert i < n and d.inputs[i].rstrip("?") in ("w", "y"), (d.name, i)
        if isinstance(d.same_scale, tuple):
            assert all(i < n for i in d.same_scale), d.name
        for i in d.int8_in_16x8:
            assert i < n, d.name
        assert not (d.fixed and d.same_scale), d.name
        if d.int16:
            assert d.int8, d.name  # every int16x8 kernel has an int8 sibling in TFLite
        if d.options is not None:
            assert hasattr(fb.BuiltinOptions, d.options) or hasattr(fb.BuiltinOptions2, d.options), d.name
    assert op_def("TRANSPOSE_CONV").role_index("b") == 3
    assert op_def("NO_SUCH_OP") is None


@pytest.fixture(scope="module")
def edgerun_answers():
    return probe.probe_edgerun()


def test_types_are_what_edgerun_runs(edgerun_answers):
    """For every op with a probe recipe, the table's types are exactly the probe models edgerun runs, and
    every other type is refused with edgerun's own error (naming the op), not a crash."""
    wrong = []
    for name, answers in edgerun_answers.items():
        d = op_def(name)
        for t, res in answers.items():
            if (res == "ok") != (t in d.types):
                wrong.append(f"{name} {t}: table says {'runs' if t in d.types else 'refused'}, edgerun: {res}")
    assert not wrong, "\n".join(wrong) + "\n(`make ops-table` rewrites the table's types; review the diff)"
    for name, answers in edgerun_answers.items():
        for t, res in answers.items():
            if res != "ok":
                cls = res.split(":")[0]
                assert issubclass(getattr(errors, cls, Exception), EdgerunError), (name, t, res)
                assert re.search(r"op #\d+ \w+", res), (name, t, res)  # names the op (or its model's sibling)


def test_a_refusal_names_the_op_and_the_types_it_runs():
    data, feeds = probe.model("LOGICAL_AND", "float32")
    res = probe.run_edgerun(data, feeds)
    assert res == "DtypeError: op #0 LOGICAL_AND: inputs must be BOOL (edgerun's LOGICAL_AND runs bool: schema/OPS.md)"
    data, feeds = probe.model("CONV_2D", "int32")
    assert "CONV_2D runs float32, int8, uint8, int16: schema/OPS.md" in probe.run_edgerun(data, feeds)


def test_probe_models_cover_the_litert_answers():
    """schema/litert_ops.json answers exactly the probe models schema/probe.py builds today (re-run
    `python -m edgerun.schema.probe --litert` when a recipe changes)."""
    data = json.loads((SCHEMA_DIR / "litert_ops.json").read_text())
    built = {(op, t) for op, t in probe.jobs() if probe.model(op, t) is not None}
    answered = {(op, t) for op, r in data["ops"].items() for t in r}
    assert built == answered, (sorted(built - answered)[:10], sorted(answered - built)[:10])
    assert data["ops"]["ADD"]["float32"] == "ok"


def test_generated_ops_md_is_current():
    assert (SCHEMA_DIR / "OPS.md").read_text() == docs.markdown(), \
        "schema/OPS.md is stale: run python -m edgerun.schema.ops --markdown"


def test_probe_model_runs_in_edgerun_and_feeds_match():
    data, feeds = probe.model("ADD", "int8")
    import edgerun

    it = edgerun.Interpreter(model_content=data)
    it.allocate_tensors()
    assert [d["dtype"] for d in it.get_input_details()] == [np.int8, np.int8]
    assert len(feeds) == 2 and all(f.dtype == np.int8 for f in feeds)
