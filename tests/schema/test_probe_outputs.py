"""Every (op, type) pair both runtimes run, output for output: the probe's one-op model of each pair
(schema/probe_models.py; the pairs LiteRT runs are schema/litert_ops.json's) run by edgerun and by LiteRT's
builtin kernels (in child processes, schema/probe.litert_outputs): float outputs within 1e-3 of the output's
scale (the issue's criterion), every other output identical, same shapes and types.

Where LiteRT's answer is not a result, edgerun's is checked against the definition instead (listed in
LITERT_DEFECTS with what LiteRT does); TFLite_Detection_PostProcess leaves the detection slots past
num_detections unwritten in LiteRT, so only the valid ones are compared."""
import json

import numpy as np
import pytest

import edgerun
from edgerun.schema import probe
from edgerun.schema.ops import OPS
from edgerun.schema.probe_models import model

RUNS = {d.name: set(d.types) for d in OPS}


def _matrix_diag(feeds):
    x = np.asarray(feeds[0])
    y = np.zeros(x.shape + x.shape[-1:], x.dtype)
    i = np.arange(x.shape[-1])
    y[..., i, i] = x
    return [y]


# (op, type) -> (what LiteRT does, edgerun's expected outputs from the feeds)
LITERT_DEFECTS = {
    ("FILL", "string"): ("writes the bytes of a pointer into every element instead of the fill value",
                         lambda feeds, shape: [np.full(shape, np.asarray(feeds[0]).reshape(-1)[0], object)]),
    ("MATRIX_DIAG", "bool"): ("moves elements of the wrong width: the diagonal lands elsewhere",
                              lambda feeds, shape: _matrix_diag(feeds)),
    ("MATRIX_DIAG", "float16"): ("moves elements of the wrong width: the diagonal lands elsewhere",
                                 lambda feeds, shape: _matrix_diag(feeds)),
}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    answers = json.loads(probe.LITERT_JSON.read_text())["ops"]
    keys = [f"{op}:{t}" for op, r in sorted(answers.items()) for t, v in sorted(r.items())
            if v == "ok" and t in RUNS.get(op, ())]
    return keys, probe.litert_outputs(keys, tmp_path_factory.mktemp("litert_outputs"))


def _compare(key, ours, theirs):
    assert len(ours) == len(theirs), f"{key}: {len(ours)} outputs, LiteRT {len(theirs)}"
    if key.startswith("TFLite_Detection_PostProcess:"):
        n = int(np.asarray(theirs[3]).reshape(-1)[0])
        assert int(np.asarray(ours[3]).reshape(-1)[0]) == n, key
        ours = [np.asarray(a)[:, :n] for a in ours[:3]]
        theirs = [np.asarray(b)[:, :n] for b in theirs[:3]]
    for i, (a, b) in enumerate(zip(ours, theirs)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, f"{key} output {i}: {a.shape} {a.dtype}, LiteRT {b.shape} {b.dtype}"
        if a.dtype.kind in "fc":
            fin = np.isfinite(b)
            assert np.array_equal(np.isfinite(a), fin), f"{key} output {i}: inf/nan pattern differs"
            scale = float(np.max(np.abs(b[fin]), initial=0.0))
            err = float(np.max(np.abs(a[fin].astype(np.complex128) - b[fin]), initial=0.0))
            assert err <= 1e-3 * scale + 1e-30, f"{key} output {i}: max|ours-LiteRT| {err:.3g}, scale {scale:.3g}"
        else:
            assert a.tolist() == b.tolist(), f"{key} output {i}: {a.ravel()[:8]} LiteRT {b.ravel()[:8]}"


def test_every_pair_both_run_gives_litert_outputs(pairs):
    keys, theirs = pairs
    assert len(keys) > 700, len(keys)  # the table's shared pairs, not a few
    failures, compared = [], 0
    for key in keys:
        op, t = key.split(":")
        if (op, t) in LITERT_DEFECTS or not isinstance(theirs.get(key), list):
            continue  # the defects are checked below; a pair LiteRT refused in this run is the probe's concern
        data, feeds = model(op, t)
        ours = probe.outputs_of(edgerun.Interpreter(model_content=data), feeds)
        try:
            _compare(key, ours, theirs[key])
            compared += 1
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)
    assert compared > 700, compared


@pytest.mark.parametrize("op,t", sorted(LITERT_DEFECTS))
def test_where_litert_is_wrong_edgerun_follows_the_definition(pairs, op, t):
    keys, theirs = pairs
    data, feeds = model(op, t)
    ours = probe.outputs_of(edgerun.Interpreter(model_content=data), feeds)
    want = LITERT_DEFECTS[(op, t)][1](feeds, np.asarray(ours[0]).shape)
    assert [np.asarray(a).tolist() for a in ours] == [np.asarray(w).tolist() for w in want]
    if isinstance(theirs.get(f"{op}:{t}"), list):  # and LiteRT still differs (else drop the entry)
        assert [np.asarray(b).tolist() for b in theirs[f"{op}:{t}"]] != [np.asarray(w).tolist() for w in want], (
            f"LiteRT now gets {op} {t} right: remove it from LITERT_DEFECTS")
