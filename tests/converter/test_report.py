"""converter/report.py: per-tensor quantization error report. Its figures are checked against errors
measured independently here from LiteRT's interpreter (every tensor preserved)."""
import numpy as np
import pytest
from edgerun.converter.export import export
from edgerun.converter.quantize import quantize
from edgerun.converter.report import quantization_errors, quantization_report

from edgerun.errors import ConversionError, UnsupportedOpError


def _load_builders():
    """The graph builders of test_quantize.py, loaded by path (independent of pytest's import mode)."""
    import importlib.util
    import pathlib

    spec = importlib.util.spec_from_file_location("_cquant_quantize_cases",
                                                  pathlib.Path(__file__).with_name("test_quantize.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_B = _load_builders()
_cnn, _samples = _B._cnn, _B._samples


def _litert(model):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    return Interpreter(model_content=model, experimental_preserve_all_tensors=True,
                       experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def _litert_errors(fm, qm, samples, names):
    """RMSE and max |error| per tensor name, computed from scratch with LiteRT."""
    f, q = _litert(fm), _litert(qm)
    f.allocate_tensors()
    q.allocate_tensors()
    fd = {d["name"]: d for d in f.get_tensor_details()}
    qd = {d["name"]: d for d in q.get_tensor_details()}
    sq = {n: [] for n in names}
    for (x,) in samples:
        f.set_tensor(f.get_input_details()[0]["index"], x)
        f.invoke()
        qi = q.get_input_details()[0]
        if qi["dtype"] == np.float32:
            q.set_tensor(qi["index"], x)
        else:
            s, z = qi["quantization"]
            q.set_tensor(qi["index"], np.clip(np.round(x / s) + z, -128, 127).astype(qi["dtype"]))
        q.invoke()
        for n in names:
            a = f.get_tensor(fd[n]["index"]).astype(np.float64)
            b = q.get_tensor(qd[n]["index"])
            s, z = qd[n]["quantization"]
            b = (b.astype(np.float64) - z) * s if b.dtype != np.float32 else b.astype(np.float64)
            sq[n].append(b - a)
    return {n: (float(np.sqrt(np.mean(np.concatenate([d.ravel() for d in v]) ** 2))),
                float(np.max(np.abs(np.concatenate([d.ravel() for d in v]))))) for n, v in sq.items()}


@pytest.fixture(scope="module")
def models():
    g, ranges = _cnn()
    q = quantize(g, "int8", representative_data=_samples(ranges, 16, 0, g), progress=False)
    return g, export(g), export(q), _samples(ranges, 6, 1, g)


def test_figures_match_litert(models):
    _, fm, qm, samples = models
    names = ["c1", "pool", "dw", "add", "gap", "logits", "probs"]
    want = _litert_errors(fm, qm, samples, names)
    got = {e.name: e for e in quantization_errors(fm, qm, samples, interpreter_factory=_litert)}
    assert set(names) <= set(got)
    for n in names:
        assert got[n].rmse == pytest.approx(want[n][0], rel=1e-9, abs=1e-12), n
        assert got[n].max_abs == pytest.approx(want[n][1], rel=1e-9, abs=1e-12), n
    sizes = {d["name"]: int(np.prod(d["shape"])) for d in _litert(fm).get_tensor_details()}
    for n in names:
        assert got[n].count == len(samples) * sizes[n], n


def test_edgerun_figures_match_litert(models):
    """The report runs both models in edgerun by default: same figures as with LiteRT (integer kernels are
    bit-exact)."""
    _, fm, qm, samples = models
    try:
        ours = {e.name: e for e in quantization_errors(fm, qm, samples)}
    except UnsupportedOpError as exc:
        pytest.skip(f"edgerun lacks an integer kernel: {exc}")
    theirs = {e.name: e for e in quantization_errors(fm, qm, samples, interpreter_factory=_litert)}
    assert set(ours) == set(theirs)
    for n, e in ours.items():
        # float model in edgerun vs LiteRT agree to float rounding, the quantized one bit for bit
        assert e.rmse == pytest.approx(theirs[n].rmse, rel=1e-3, abs=1e-6), n


def test_report_text(models):
    _, fm, qm, samples = models
    text = quantization_report(fm, qm, samples, interpreter_factory=_litert)
    lines = text.splitlines()
    assert lines[0] == "Quantization report: 8 tensors compared"
    assert f"float {len(fm):,} B -> quantized {len(qm):,} B ({len(qm) / len(fm):.3f}x)" in lines[1]
    rows = {ln.split()[0]: ln.split() for ln in lines[4:] if ln and not ln.startswith("worst")}
    assert rows["c1"][1] == "CONV_2D" and rows["c1"][2] == "int8"
    assert rows["image"][1] == "input" and rows["image"][5] == "0"  # float input in both models
    assert rows["probs"][1] == "DEQUANTIZE"
    assert lines[-1].startswith("worst tensor: ")


def test_report_localizes_a_broken_tensor(models):
    """Negate the depthwise weights of the quantized model: the report must show the damage from `dw`
    onward and not before it."""
    g, fm, _, samples = models
    q = quantize(g, "int8", representative_data=samples, progress=False)
    dw = next(op for op in q.ops if op.type == "DEPTHWISE_CONV_2D")
    dw.inputs[1].data = (-dw.inputs[1].data.astype(np.int16)).clip(-127, 127).astype(np.int8)
    errs = {e.name: e for e in quantization_errors(fm, export(q), samples, interpreter_factory=_litert)}
    assert errs["c1"].rel_rmse < 0.01 and errs["pool"].rel_rmse < 0.01
    assert errs["dw"].rel_rmse > 0.2
    text = quantization_report(fm, export(q), samples, interpreter_factory=_litert)
    worst = text.splitlines()[-1]
    assert any(f"worst tensor: {n} " in worst for n in ("dw", "add", "gap", "logits", "probs")), worst


@pytest.mark.parametrize("mode", ["int16x8", "dynamic"])
def test_other_modes(models, mode):
    g, fm, _, samples = models
    q = export(quantize(g, mode, representative_data=samples, progress=False, min_weight_elements=0))
    errs = quantization_errors(fm, q, samples, interpreter_factory=_litert)
    assert {e.name for e in errs} >= {"c1", "dw", "logits", "probs"}
    for e in errs:
        assert np.isfinite(e.rmse) and e.rel_rmse < 0.02, (e.name, e.rel_rmse)
    if mode == "int16x8":
        assert next(e for e in errs if e.name == "c1").dtype == "int16"


def test_sample_errors(models):
    _, fm, qm, _ = models
    with pytest.raises(ConversionError, match=r"input 'image' has shape \(10, 10, 3\)"):
        quantization_report(fm, qm, [np.zeros((10, 10, 3), np.float32)], interpreter_factory=_litert)
    with pytest.raises(ConversionError, match="empty"):
        quantization_report(fm, qm, [], interpreter_factory=_litert)


def test_no_common_tensors(models):
    _, fm, _, samples = models
    from edgerun.converter.ir import Graph

    g = Graph()
    x = g.input("other", (1, 10, 10, 3))
    g.outputs += g.op("RELU", [x], [g.tensor("relu_out", (1, 10, 10, 3))])
    with pytest.raises(ConversionError, match="no float activation tensor names in common"):
        quantization_report(fm, export(g), samples, interpreter_factory=_litert)


def test_keras_end_to_end():
    """Float and int8 models of one Keras model from edgerun.convert share tensor names; the report covers
    the layers."""
    import keras

    import edgerun

    keras.utils.set_random_seed(0)
    L = keras.layers
    m = keras.Sequential([keras.Input((8, 8, 2), batch_size=1), L.Conv2D(4, 3, activation="relu"), L.Flatten(),
                          L.Dense(6, activation="tanh"), L.Dense(3)])
    rng = np.random.default_rng(0)
    rep = [rng.uniform(-1, 1, (1, 8, 8, 2)).astype(np.float32) for _ in range(16)]
    fm = edgerun.convert(m)
    qm = edgerun.convert(m, quantize="int8", representative_data=[[r] for r in rep])
    errs = quantization_errors(fm, qm, rep[:4], interpreter_factory=_litert)
    ops = [e.op for e in errs]
    assert "CONV_2D" in ops and "TANH" in ops and "FULLY_CONNECTED" in ops, ops
    assert all(e.rel_rmse < 0.02 for e in errs), [(e.name, e.rel_rmse) for e in errs]
