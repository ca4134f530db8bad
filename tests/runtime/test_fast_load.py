"""The fast load path gives what the slow one gave: the lean flatbuffer reader (runtime/flatbuf.py) reads the
same model as the generated accessors (schema/schema_generated.py, the oracle here), and GreedyPlanner places
every buffer where the straightforward greedy-by-size planner (kept below as the specification) placed it.
Speed itself is measured by benchmarks/cold_start.py, never here."""
import numpy as np
import pytest

from edgerun.runtime.model import Model
from edgerun.runtime.planner import GreedyPlanner, _align, check_plan
from edgerun.runtime.prepare import Preparer


# -- the lean reader against the generated accessors -----------------------------------------------------
def _generated_view(data: bytes) -> dict:
    """What loading needs, read through the generated accessors."""
    from edgerun.schema import schema_generated as sg

    fb = sg.Model.GetRootAs(data, 0)
    out = {"version": fb.Version(), "opcodes": [], "subgraphs": [], "buffers": []}
    for i in range(fb.OperatorCodesLength()):
        oc = fb.OperatorCodes(i)
        out["opcodes"].append((max(oc.DeprecatedBuiltinCode(), oc.BuiltinCode()), oc.Version()))
    for i in range(fb.BuffersLength()):
        out["buffers"].append(fb.Buffers(i).DataAsNumpy().tobytes() if fb.Buffers(i).DataLength() else None)
    for k in range(fb.SubgraphsLength()):
        g = fb.Subgraphs(k)
        tensors = []
        for i in range(g.TensorsLength()):
            t = g.Tensors(i)
            q = t.Quantization()
            tensors.append((t.Name().decode(), t.Type(), tuple(t.ShapeAsNumpy().tolist()) if t.ShapeLength() else (),
                            t.Buffer(), bool(t.IsVariable()),
                            tuple(q.ScaleAsNumpy().tolist()) if q is not None and q.ScaleLength() else (),
                            tuple(q.ZeroPointAsNumpy().tolist()) if q is not None and q.ZeroPointLength() else (),
                            q.QuantizedDimension() if q is not None else 0))
        ops = []
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            opts = sg.BuiltinOptionsCreator(op.BuiltinOptionsType(), op.BuiltinOptions())
            ops.append((op.OpcodeIndex(), op.InputsAsNumpy().tolist() if op.InputsLength() else [],
                        op.OutputsAsNumpy().tolist() if op.OutputsLength() else [],
                        type(opts).__name__, vars(opts) if opts is not None else None))
        out["subgraphs"].append((tensors, ops, g.InputsAsNumpy().tolist(), g.OutputsAsNumpy().tolist()))
    return out


def _lean_view(m: Model) -> dict:
    from edgerun.runtime.model import builtin_name

    names = {}
    out = {"version": m.version, "opcodes": [], "subgraphs": [], "buffers": []}
    for i, (name, _custom, version) in enumerate(m.opcodes):
        names[i] = name
    from edgerun.schema import schema_generated as sg

    codes = {k: v for k, v in vars(sg.BuiltinOperator).items() if not k.startswith("_")}
    out["opcodes"] = [(codes.get(name, int(name[8:]) if name.startswith("BUILTIN_") else None), version)
                      for name, _c, version in m.opcodes]
    assert all(builtin_name(c) == n for (c, _v), (n, _c, _v2) in zip(out["opcodes"], m.opcodes))
    out["buffers"] = [b.tobytes() if b is not None else None for b in m.buffers]
    for g in m.subgraphs:
        tensors = [(t.name, t.type, t.shape, t.buffer, t.is_variable, tuple(t.scale.tolist()),
                    tuple(t.zero_point.tolist()) if t.scale.size or t.zero_point.size else (), t.quant_dim)
                   for t in g.tensors]
        ops = []
        for op in g.ops:
            oi = next(n for n, code in enumerate(m.opcodes) if code == (op.name, op.custom_code, op.version))
            ops.append((oi, op.inputs, op.outputs, op.options._class + "T" if op.options is not None else "NoneType",
                        vars(op.options) if op.options is not None else None))
        out["subgraphs"].append((tensors, ops, g.inputs, g.outputs))
    return out


def _models():
    """Converted networks (TensorFlow's converter, cached) and builder-made models with quantization."""
    from networks import NETWORKS, _calibration
    from oracle import tf_convert

    from edgerun.schema.builder import ModelBuilder

    out = {}
    for name in ("kws_dscnn", "recurrent"):
        k = NETWORKS[name]()
        out[name] = tf_convert(k)
        if name == "kws_dscnn":
            out[name + "-int8"] = tf_convert(k, quantize="int8", representative=_calibration(k),
                                             input_type=np.int8, output_type=np.int8)
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), np.int8, quant=(0.5, -3))
    w = b.const("w", np.arange(12, dtype=np.int8).reshape(3, 4), quant=(np.array([0.1, 0.2, 0.3]),
                                                                          np.zeros(3, np.int64), 0))
    y = b.tensor("y", (1, 3), np.int8, quant=(0.25, 1))
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    b.inputs([x])
    b.outputs([y])
    out["builder-fc-int8"] = b.finish()
    return out


@pytest.fixture(scope="module")
def models():
    return _models()


def _eq(a, b, path="model"):
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _eq(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _eq(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif hasattr(a, "__dict__") and hasattr(b, "__dict__"):
        _eq(vars(a), vars(b), path)
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_lean_reader_reads_what_the_generated_accessors_read(models):
    for name, data in models.items():
        _eq(_lean_view(Model(data)), _generated_view(data), name)


def test_constant_weights_stay_views_of_the_file(models):
    """Zero-copy: a float constant's data points into the model's buffer."""
    m = Model(models["kws_dscnn"])
    consts = [t for t in m.subgraphs[0].tensors if t.data is not None and t.data.dtype == np.float32]
    assert consts
    for t in consts:
        assert np.shares_memory(t.data, m.buffers[t.buffer])
        assert not t.data.flags.owndata


# -- the planner against its specification ---------------------------------------------------------------
def _reference_greedy(sizes, lives, alignment):
    """TFLite's greedy-by-size placement, written the plain way (every placed buffer, sorted per step)."""
    n = len(sizes)
    order = sorted(range(n), key=lambda i: (-sizes[i], lives[i][0], i))
    offsets = [0] * n
    placed = []
    end = 0
    for i in order:
        size = _align(sizes[i], alignment)
        first, last = lives[i]
        busy = sorted((offsets[j], offsets[j] + _align(sizes[j], alignment)) for j in placed
                      if lives[j][0] <= last and first <= lives[j][1] and sizes[j] > 0)
        off = 0
        for lo, hi in busy:
            if off + size <= lo:
                break
            off = max(off, hi)
        offsets[i] = off
        placed.append(i)
        end = max(end, off + size)
    return offsets, end


@pytest.mark.parametrize("seed", range(30))
def test_greedy_planner_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 120))
    p = GreedyPlanner(int(rng.choice([1, 16, 64])))
    for _ in range(n):
        a = int(rng.integers(0, 30))
        # ties in size and start, zero sizes and one-op lifetimes are where orders could differ
        size = int(rng.choice([0, 64, 100, 128, int(rng.integers(0, 5000))]))
        p.add_buffer(size, a, a + int(rng.integers(0, 8)))
    arena = p.plan()
    check_plan(p)
    assert (p.offsets, arena) == _reference_greedy(p.sizes, p.lives, p.alignment)


def test_planner_on_real_models_matches_the_reference(models):
    """Every placement prepare makes for real networks (each subgraph, in-place choices tried) is the
    reference planner's."""
    for name, data in models.items():
        m = Model(data)
        sg = m.subgraphs[0]
        for kw in ({}, {"target": "cortex-m4", "alignment": 16}):
            pre = Preparer(m, **kw)
            pre.prepare({j: tuple(sg.tensors[j].shape) for j in sg.inputs})
            assert pre.planners
            for planner in pre.planners.values():
                if type(planner) is GreedyPlanner:
                    want = _reference_greedy(planner.sizes, planner.lives, planner.alignment)
                    assert (planner.offsets, planner.arena_size) == want, name


def test_plan_quantization_is_the_models(models):
    """Plan tensors carry the file's scales and zero points as Python numbers, channel for channel."""
    m = Model(models["kws_dscnn-int8"])
    sg = m.subgraphs[0]
    plan = Preparer(m).prepare({j: tuple(sg.tensors[j].shape) for j in sg.inputs})
    seen = 0
    for t, d in zip(plan.main.tensors, sg.tensors):
        if d.scale.size and t.storage == "arena":
            assert t.scale == tuple(float(s) for s in d.scale)
            assert t.zero_point == tuple(int(z) for z in d.zero_point)
            assert all(type(s) is float for s in t.scale) and all(type(z) is int for z in t.zero_point)
            seen += 1
    assert seen > 10


def test_vectorized_multipliers_equal_tflites_scalar_rule():
    """quantize_multipliers (numpy, used for per-channel conv multipliers at prepare) gives exactly the
    (multiplier, shift) of the scalar QuantizeMultiplier rule, across magnitudes and the rounding edges."""
    from edgerun.runtime.quant import quantize_multiplier, quantize_multipliers

    rng = np.random.default_rng(0)
    vals = np.concatenate([rng.uniform(0, 1, 20000) * 10.0 ** rng.integers(-14, 6, 20000),
                           [0.0, 1.0, 0.5, 2.0 ** -31, 2.0 ** -32, 2.0 ** -40, 1 - 2.0 ** -33, 1e-300, 3e38, -0.25],
                           (np.arange(1, 2000) + 0.5) / 2 ** 31 * 2.0 ** rng.integers(-5, 5, 1999)])
    q, s = quantize_multipliers(vals)
    assert q.dtype == s.dtype == np.int32
    assert [(int(a), int(b)) for a, b in zip(q, s)] == [quantize_multiplier(float(v)) for v in vals]
