"""Hostile models (issue 12): bounded prepare (max_memory_bytes, no tensor-sized work at prepare), fast refusal,
and a time-boxed fuzz over several real models where every failure is an edgerun error and no mutant runs long.
Oracle: the limits themselves (sizes, times); outputs of the rewritten kernels are compared with LiteRT in
test_reduce_float.py / test_reduce_int.py."""
import time

import numpy as np
import pytest

import edgerun
from edgerun.errors import MemoryLimitError, ModelError
from edgerun.runtime import limits
from edgerun.runtime.model import Model
from edgerun.runtime.prepare import Preparer
from edgerun.schema.builder import ModelBuilder
from edgerun.schema import schema_generated as fb
from test_model_errors import _mutate

GiB = 1 << 30


def _kws_head(shape, dtype=np.float32, quant=None):
    """The tail of a keyword-spotting CNN (MEAN over H, W then a classifier) on an input of `shape`: the shape a
    mutated KWS model reached (issue 12)."""
    b = ModelBuilder()
    x = b.tensor("mfcc_features", shape, dtype, quant=quant)
    axes = b.const("axes", np.array([1, 2], np.int32))
    m = b.tensor("pooled", (shape[0], 1, 1, shape[3]), dtype, quant=quant)
    b.op("MEAN", [x, axes], [m], {"keepDims": True})
    b.inputs([x])
    b.outputs([m])
    return b.finish()


def test_default_limit_is_tied_to_the_machine():
    d = limits.default_max_memory_bytes()
    assert 0 < d <= 16 * GiB
    assert d <= limits.physical_memory() // 2 + 1
    for bad in (0, -1, 1.5, "1G", True):
        with pytest.raises(ValueError, match="max_memory_bytes"):
            edgerun.Interpreter(model_content=_kws_head((1, 4, 4, 2)), max_memory_bytes=bad)


@pytest.mark.parametrize("kind", ["float", "int8"])
def test_kws_with_huge_reduction_prepares_without_tensor_sized_work(kind):
    """Regression: prepare built the reduction's offset tables element by element of the claimed input
    (minutes, or MemoryError for TiB). Now the plan holds dims and strides: a 1 TiB input prepares at once
    when the limit allows it (plan only, nothing materialized)."""
    shape = (1, 65536, 65536, 256)
    if kind == "float":
        model = _kws_head(shape)
    else:
        model = _kws_head(shape, np.int8, quant=(0.1, 3))
    t = time.perf_counter()
    plan = Preparer(Model(model), max_memory_bytes=1 << 43).prepare({0: shape})
    assert time.perf_counter() - t < 2.0
    (op,) = plan.main.ops
    assert op.kernel in ("f32_reduce", "q_reduce")
    assert op.params.fields["n_red"] == 65536 * 65536 and op.params.fields["n_out"] == 256
    assert not plan.consts or all(c.nbytes < 1024 for c in plan.consts)  # no tables that grow with the tensor


def test_kws_with_huge_reduction_is_refused_by_name():
    t = time.perf_counter()
    it = edgerun.Interpreter(model_content=_kws_head((1, 65536, 65536, 256)), max_memory_bytes=GiB)
    with pytest.raises(MemoryLimitError, match=r"'mfcc_features'.*4,398,046,511,104 bytes.*max_memory_bytes"):
        it.allocate_tensors()
    assert time.perf_counter() - t < 1.0
    assert issubclass(MemoryLimitError, edgerun.EdgerunError) and issubclass(MemoryLimitError, MemoryError)


def test_small_model_under_a_small_limit_runs_and_over_it_is_refused():
    model = _kws_head((1, 49, 10, 64))
    it = edgerun.Interpreter(model_content=model, max_memory_bytes=1 << 20)
    it.allocate_tensors()
    x = np.random.default_rng(0).standard_normal((1, 49, 10, 64)).astype(np.float32)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]),
                               x.mean(axis=(1, 2), keepdims=True), rtol=1e-5, atol=1e-6)
    with pytest.raises(MemoryLimitError, match="mfcc_features"):
        edgerun.Interpreter(model_content=model, max_memory_bytes=100_000).allocate_tensors()


def test_resize_to_a_huge_input_is_refused():
    it = edgerun.Interpreter(model_content=_kws_head((1, 49, 10, 64)), max_memory_bytes=GiB)
    it.resize_tensor_input(0, (1 << 20, 49, 10, 64))
    with pytest.raises(MemoryLimitError, match="mfcc_features"):
        it.allocate_tensors()


def test_dimension_beyond_int32_is_refused():
    with pytest.raises(MemoryLimitError, match="dimension 4294967296"):
        Preparer(Model(_kws_head((1, 1, 1, 1))), max_memory_bytes=1 << 50).prepare({0: (1, 1 << 32, 1, 1)})


def test_huge_range_is_refused_before_it_is_built():
    """RANGE's length comes from constants of the file; it was built by a Python loop of that length."""
    b = ModelBuilder()
    s, lim, d = (b.const(n, np.array(v, np.int32)) for n, v in (("start", 0), ("limit", 2**31 - 1), ("delta", 1)))
    y = b.tensor("y", (2**31 - 1,), np.int32)
    b.op("RANGE", [s, lim, d], [y])
    b.outputs([y])
    t = time.perf_counter()
    with pytest.raises(MemoryLimitError, match="RANGE"):
        edgerun.Interpreter(model_content=b.finish(), max_memory_bytes=GiB).allocate_tensors()
    assert time.perf_counter() - t < 1.0


def test_float_range_matches_float32_accumulation():
    b = ModelBuilder()
    s, lim, d = (b.const(n, np.array(v, np.float32)) for n, v in (("start", 0.1), ("limit", 50.3), ("delta", 0.37)))
    y = b.tensor("y", (136,), np.float32)
    b.op("RANGE", [s, lim, d], [y])
    b.outputs([y])
    it = edgerun.Interpreter(model_content=b.finish())
    it.allocate_tensors()
    it.invoke()
    want, v = [], np.float32(0.1)
    for _ in range(136):
        want.append(v)
        v = np.float32(v + np.float32(0.37))
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), np.array(want, np.float32))


def test_constant_of_unknown_type_is_an_edgerun_error():
    """Regression (fuzz): a constant whose type byte became -128 raised KeyError in materialize."""
    b = ModelBuilder()
    x = b.tensor("x", (2,), np.float32)
    c = b.buffer(np.zeros(2, np.float32))
    w = b.tensor("w", (2,), None, type=-128, buffer=c)
    y = b.tensor("y", (2,), np.float32)
    b.op("ADD", [x, w], [y])
    b.inputs([x])
    b.outputs([y])
    with pytest.raises(ModelError, match="unknown tensor type -128"):
        edgerun.Interpreter(model_content=b.finish())


@pytest.mark.parametrize("op", ["MEAN", "ADD", "STRIDED_SLICE", "WHILE_BODY_ADD"])
def test_absent_output_is_refused(op):
    """Found by the fuzz run (a SIGSEGV in invoke): an op whose output index is -1 (absent) got a NULL output
    pointer in its C kernel. Prepare refuses it, naming the op, also inside a WHILE body."""
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 2), np.float32)
    y = b.tensor("y", (1, 2), np.float32)
    if op == "MEAN":
        b.op("MEAN", [x, b.const("axes", np.array([1, 2], np.int32))], [-1])
    elif op == "ADD":
        b.op("ADD", [x, x], [-1])
    elif op == "STRIDED_SLICE":
        c = [b.const(n, np.array(v, np.int32)) for n, v in (("begin", [0, 0, 0, 0]), ("end", [1, 2, 2, 2]),
                                                             ("strides", [1, 1, 1, 1]))]
        b.op("STRIDED_SLICE", [x, *c], [-1])
    if op != "WHILE_BODY_ADD":
        b.op("MEAN", [x, b.const("axes2", np.array([1, 2], np.int32))], [y])
        b.inputs([x])
        b.outputs([y])
        label = f"op #0 {op}"
    else:  # while (i < 3) i = i + 1, whose body's ADD writes to -1
        i0 = b.tensor("i", (1,), np.float32)
        i1 = b.tensor("i_out", (1,), np.float32)
        opts = fb.WhileOptionsT()
        opts.condSubgraphIndex, opts.bodySubgraphIndex = 1, 2
        b.op("WHILE", [i0], [i1], opts)
        b.inputs([i0])
        b.outputs([i1])
        cond = b.subgraph("cond")
        ci, cb = cond.tensor("ci", (1,), np.float32), cond.tensor("cb", (1,), np.bool_)
        cond.op("LESS", [ci, cond.const("three", np.array([3], np.float32))], [cb])
        cond.inputs([ci])
        cond.outputs([cb])
        body = b.subgraph("body")
        bi, bo = body.tensor("bi", (1,), np.float32), body.tensor("bo", (1,), np.float32)
        body.op("ADD", [bi, body.const("one", np.array([1], np.float32))], [-1])
        body.inputs([bi])
        body.outputs([bo])
        label = "op #0 ADD"
    with pytest.raises(ModelError, match=f"{label}: output 0 is absent"):
        it = edgerun.Interpreter(model_content=b.finish())
        it.allocate_tensors()


def test_variable_with_a_wrong_sized_initial_value_is_refused():
    """Found by atheris (issue 12): a variable tensor with sparsity parameters (so that the loader does not hold
    its buffer to its shape) and a 1-element buffer raised numpy's ValueError (reshape) when allocate_tensors
    made its storage."""
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), np.float32)
    state = b.tensor("state", (1, 4), np.float32, is_variable=True)
    t = b.sg.tensors[state]
    t.buffer = b.buffer(np.zeros(1, np.float32))
    t.sparsity = fb.SparsityParametersT()
    t.sparsity.traversalOrder = [0, 1]
    t.sparsity.dimMetadata = [fb.DimensionMetadataT(), fb.DimensionMetadataT()]
    t.sparsity.dimMetadata[0].denseSize, t.sparsity.dimMetadata[1].denseSize = 1, 4
    y = b.tensor("y", (1, 4), np.float32)
    b.op("ADD", [x, state], [y])
    b.inputs([x])
    b.outputs([y])
    it = edgerun.Interpreter(model_content=b.finish())
    with pytest.raises(ModelError, match=r"variable 'state': its initial value has 1 elements, its shape \(1, 4\)"):
        it.allocate_tensors()


def test_constant_listed_as_an_input_is_a_model_error():
    """Found by atheris (issue 12): a subgraph input with a constant buffer; set_tensor on it (what a caller does
    for every input) raised a plain ValueError."""
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), np.float32)
    w = b.const("w", np.ones((1, 4), np.float32))
    y = b.tensor("y", (1, 4), np.float32)
    b.op("ADD", [x, w], [y])
    b.inputs([x, w])
    b.outputs([y])
    it = edgerun.Interpreter(model_content=b.finish())
    it.allocate_tensors()
    with pytest.raises(ModelError, match="input 1, name: w is a constant of the model"):
        it.set_tensor(it.get_input_details()[1]["index"], np.zeros((1, 4), np.float32))


def test_if_with_an_absent_branch_input_is_refused():
    """Found by the structured fuzz (issue 12): an IF whose branch input index is -1 raised AttributeError in
    prepare."""
    b = ModelBuilder()
    c = b.tensor("c", (1,), np.bool_)
    x = b.tensor("x", (2,), np.float32)
    y = b.tensor("y", (2,), np.float32)
    opts = fb.IfOptionsT()
    opts.thenSubgraphIndex, opts.elseSubgraphIndex = 1, 2
    b.op("IF", [c, -1], [y], opts)
    b.inputs([c, x])
    b.outputs([y])
    for name in ("then", "else"):
        g = b.subgraph(name)
        gi, go = g.tensor("gi", (2,), np.float32), g.tensor("go", (2,), np.float32)
        g.op("ABS", [gi], [go])
        g.inputs([gi])
        g.outputs([go])
    with pytest.raises(edgerun.UnsupportedOpError, match="op #0 IF: absent branch input"):
        edgerun.Interpreter(model_content=b.finish()).allocate_tensors()


@pytest.mark.parametrize("op", ["ADD", "IF"])
def test_output_that_is_a_constant_is_refused(op):
    """Found by the structured fuzz (issue 12): an IF whose output index pointed at a constant was taken for a
    folded op (its output already had data) and dropped, and allocate_tensors raised numpy's ValueError when it
    viewed the constant in the shape the op gave it. An op may not write a constant of the file."""
    b = ModelBuilder()
    x = b.tensor("x", (2, 3), np.float32)
    c = b.const("c", np.ones(1, np.float32))
    if op == "ADD":
        b.op("ADD", [x, x], [c])
    else:
        flag = b.tensor("flag", (1,), np.bool_)
        opts = fb.IfOptionsT()
        opts.thenSubgraphIndex, opts.elseSubgraphIndex = 1, 2
        b.op("IF", [flag, x], [c], opts)
        for name in ("then", "else"):
            g = b.subgraph(name)
            gi, go = g.tensor("gi", (2, 3), np.float32), g.tensor("go", (2, 3), np.float32)
            g.op("ABS", [gi], [go])
            g.inputs([gi])
            g.outputs([go])
    y = b.tensor("y", (2, 3), np.float32)
    b.op("ABS", [x], [y])
    b.inputs([x] if op == "ADD" else [flag, x])
    b.outputs([y])
    with pytest.raises(ModelError, match=f"op #0 {op}: output 0 'c' \\(tensor 1\\) is a constant of the model"):
        edgerun.Interpreter(model_content=b.finish()).allocate_tensors()


def test_float_fully_connected_with_a_narrow_output_is_refused():
    """Found by the structured fuzz under ASan (issue 12): a float FULLY_CONNECTED whose output type became
    UINT16 got a 2-byte-per-element buffer and the float kernel wrote 4 bytes per element past it."""
    b = ModelBuilder()
    x = b.tensor("x", (1, 16), np.float32)
    w = b.const("w", np.ones((8, 16), np.float32))
    y = b.tensor("y", (1, 8), np.uint16)
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    b.inputs([x])
    b.outputs([y])
    with pytest.raises(edgerun.DtypeError, match="op #0 FULLY_CONNECTED: float32 input and weights with a UINT16"):
        edgerun.Interpreter(model_content=b.finish()).allocate_tensors()


# -- fuzz ------------------------------------------------------------------------------------------------

def _boundary(rng, base: bytes) -> bytes:
    """Boundary values where shapes, indices and sizes live: 8/16/32-bit fields set to 0, 1, -1, max, min,
    max+1, and small shifts of an existing 32-bit value (off-by-one indices and lengths)."""
    data = bytearray(base)
    for _ in range(int(rng.integers(1, 4))):
        i = int(rng.integers(8, len(data) - 4))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            data[i] = int(rng.choice([0, 1, 0x7F, 0x80, 0xFF]))
        elif kind == 1:
            i -= i % 2
            data[i:i + 2] = int(rng.choice([0, 1, 0x7FFF, 0x8000, 0xFFFF])).to_bytes(2, "little")
        elif kind == 2:
            i -= i % 4
            v = int(rng.choice([0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x10000, 1 << 24]))
            data[i:i + 4] = v.to_bytes(4, "little")
        else:
            i -= i % 4
            v = (int.from_bytes(data[i:i + 4], "little") + int(rng.choice([-2, -1, 1, 2, 64]))) & 0xFFFFFFFF
            data[i:i + 4] = v.to_bytes(4, "little")
    return bytes(data)


def _splice(rng, base: bytes) -> bytes:
    """A chunk of the file copied over another place, or the file truncated."""
    n = len(base)
    if rng.integers(0, 4) == 0:
        return base[:int(rng.integers(8, n))]
    size = int(rng.integers(4, min(256, n // 2)))
    src, dst = int(rng.integers(8, n - size)), int(rng.integers(8, n - size))
    data = bytearray(base)
    data[dst:dst + size] = base[src:src + size]
    return bytes(data)


def _corpus():
    from oracle import tf_convert, tf_convert_function
    from test_model_errors import _quantized_cnn, _recurrent

    import tensorflow as tf

    from networks import _calibration, kws_dscnn

    k = kws_dscnn()
    kws = tf_convert(k, quantize="int8", representative=_calibration(k), input_type=np.int8, output_type=np.int8)
    shape_reduce = tf_convert_function(
        lambda x: tf.reduce_mean(tf.transpose(tf.reshape(x, (2, 12, 5)), (0, 2, 1)), axis=[1]) + tf.reduce_max(x),
        [tf.TensorSpec((2, 3, 4, 5), tf.float32)], key="robust-shape-reduce")
    return {"kws-int8": kws, "int8-cnn": _quantized_cnn(), "gru-while": _recurrent(), "shape-reduce": shape_reduce,
            "kws-head": _kws_head((1, 25, 5, 64))}


def _run(data, limit):
    it = edgerun.Interpreter(model_content=data, max_memory_bytes=limit, max_loop_iterations=10_000)
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], np.zeros(tuple(d["shape"]), d["dtype"]))
    it.invoke()


MUTANTS_PER_MODEL = 1500


def test_fuzz_real_models_time_boxed():
    """~30 s over five real models (int8 KWS DS-CNN, an int8 CNN, a GRU with WHILE, reshape/transpose/reduce
    ops, a hand-built reduction): byte flips, boundary values, splices and truncations. Every failure is an
    EdgerunError; no load+prepare+invoke takes over 5 s (a hang guard, under max_memory_bytes=256 MiB so that
    an accepted mutant's invoke stays small); and enough mutants still run."""
    corpus = _corpus()
    rng = np.random.default_rng(12)
    ran = total = 0
    slowest = (0.0, None)
    for name, base in corpus.items():
        # a fixed count per model (not a time box), so that every run tries the same mutants
        for i in range(MUTANTS_PER_MODEL):
            mut = (_mutate, _boundary, _splice)[i % 3]
            data = mut(rng, base)
            t = time.perf_counter()
            try:
                _run(data, 256 << 20)
                ran += 1
            except edgerun.EdgerunError:
                pass
            dt = time.perf_counter() - t
            if dt > slowest[0]:
                slowest = (dt, f"{name} mutant {i} ({mut.__name__})")
            assert dt < 5.0, f"{name} mutant {i} ({mut.__name__}) took {dt:.1f} s"
            total += 1
    assert total >= 500, total
    # byte-level mutants mostly die at load (~10 % run, 17k mutants in 30 s on 2 cores); at least 5 %
    assert ran >= total // 20, (ran, total)


# -- verify ----------------------------------------------------------------------------------------------

def _clean_models():
    """A sample of the converter cache's models that LiteRT prepares (some tests keep models made to be refused
    there), and a KWS head."""
    import pathlib

    from oracle import litert_interpreter

    def litert_prepares(data):
        try:
            litert_interpreter(data).allocate_tensors()
            return True
        except (RuntimeError, ValueError):
            return False

    cache = sorted((pathlib.Path(__file__).parent.parent / ".model_cache").glob("*.tflite"))
    picked = [d for d in (p.read_bytes() for p in cache[:: max(1, len(cache) // 12)][:12]) if litert_prepares(d)]
    return picked + [_kws_head((1, 25, 5, 64))]


def test_verify_passes_clean_models():
    for data in _clean_models():
        assert edgerun.verify(data) == []


def _planted():
    """A small model with several problems planted at once, each in a different field."""
    from edgerun.schema import schema_generated as fb

    b = ModelBuilder()
    x = b.tensor("x", (1, 4), np.float32)
    w = b.const("w", np.ones((3, 4), np.float32))
    w_bad = b.tensor("w_bad", (3, 5), np.float32, buffer=b.buffer(np.ones((3, 4), np.float32)))  # size mismatch
    q = b.tensor("q", (1, 4), np.int8, quant=([0.1, -0.2], [0, 0], 1))  # negative scale; 2 scales for dim 1 of 4
    y = b.tensor("y", (1, 3), np.float32)
    neg = b.tensor("neg", (1, -3), np.float32)  # negative dimension
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    b.op("FULLY_CONNECTED", [x, w_bad, 17], [neg])  # input tensor index 17 out of range
    b.tensor("far", (2,), np.float32, buffer=42)  # buffer index out of range
    b.inputs([x])
    b.outputs([y, 9])  # output index 9 out of range
    body = b.subgraph("body")
    bx = body.tensor("bx", (1,), np.int32)
    body.inputs([bx])
    body.outputs([bx])
    cond = fb.WhileOptionsT()
    cond.condSubgraphIndex, cond.bodySubgraphIndex = 7, 1  # cond subgraph 7 out of range
    c = b.tensor("c", (1,), np.int32)
    b.op("WHILE", [c], [c], cond)
    del q
    return b.finish()


def test_verify_reports_every_planted_problem():
    problems = edgerun.verify(_planted())
    text = "\n".join(problems)
    for want in ["tensors[2] 'w_bad': buffer", "quantization.scale", "per-channel scales",
                 "negative dimension", "inputs[2]: tensor index 17", "buffer: 42 out of range",
                 "outputs[1]: tensor index 9", "condSubgraphIndex: subgraph 7 out of range"]:
        assert want in text, (want, problems)
    assert len(problems) >= 8


def test_verify_reports_structure_problems_without_reading_past_the_file():
    data = bytearray(_kws_head((1, 25, 5, 64)))
    problems = edgerun.verify(bytes(data[: len(data) // 2]))
    assert problems and all("outside the file" in p or "invalid size" in p for p in problems), problems
    assert edgerun.verify(b"abc") == ["file: 3 bytes is too short for a TFLite model"]
    assert "identifier" in edgerun.verify(b"\x10\x00\x00\x00ONNX" + b"\x00" * 64)[0]


def test_verify_is_fast_on_mutants():
    base = _kws_head((1, 25, 5, 64))
    rng = np.random.default_rng(5)
    for i in range(300):
        data = (_mutate, _boundary, _splice)[i % 3](rng, base)
        t = time.perf_counter()
        problems = edgerun.verify(data)
        assert time.perf_counter() - t < 1.0
        assert isinstance(problems, list)


def test_verify_cli(tmp_path, capsys):
    from edgerun.cli import main

    good, bad = tmp_path / "good.tflite", tmp_path / "bad.tflite"
    good.write_bytes(_kws_head((1, 25, 5, 64)))
    bad.write_bytes(_planted())
    assert main(["verify", str(good)]) == 0
    assert "ok" in capsys.readouterr().out
    assert main(["verify", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "bad.tflite:" in out and "condSubgraphIndex" in out and "tensor index 17" in out


def test_bool_bytes_other_than_0_and_1_read_as_true():
    """A file's BOOL constant may hold any byte (found by the plan-file fuzz: kernels read them as C _Bool,
    undefined for bytes other than 0 and 1, caught by UBSan). Kernels read BOOL bytes as `!= 0`, numpy's rule."""
    raw = np.array([0, 1, 2, 255], np.uint8)
    b = ModelBuilder()
    x = b.tensor("x", (4,), np.bool_)
    c = b.const("c", raw.view(np.bool_))
    ya, yn, ys, yr = (b.tensor(n, s, t) for n, s, t in (("and", (4,), np.bool_), ("not", (4,), np.bool_),
                                                        ("sel", (4,), np.float32), ("any", (1,), np.bool_)))
    b.op("LOGICAL_AND", [x, c], [ya])
    b.op("LOGICAL_NOT", [c], [yn])
    b.op("SELECT_V2", [c, b.const("one", np.ones(4, np.float32)), b.const("zero", np.zeros(4, np.float32))], [ys])
    b.op("REDUCE_ANY", [c, b.const("axis", np.array([0], np.int32))], [yr])
    b.inputs([x])
    b.outputs([ya, yn, ys, yr])
    it = edgerun.Interpreter(model_content=b.finish())
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.ones(4, np.bool_))
    it.invoke()
    got = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    truth = raw.astype(bool)
    np.testing.assert_array_equal(got[0], truth)
    np.testing.assert_array_equal(got[1], ~truth)
    np.testing.assert_array_equal(got[2], truth.astype(np.float32))
    np.testing.assert_array_equal(got[3], [True])
