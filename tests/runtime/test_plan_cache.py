"""The plan cache (runtime/plan_cache.py): a model file prepared once opens from its cached plan file, in C.

Outputs of cached interpreters are compared with LiteRT's builtin kernels (bit for bit on int8 models); where
the point is that the cached and the prepared interpreter behave alike (messages, details, state), with an
interpreter that prepared the model. Load time is measured by benchmarks/suite.py and cold_start.py, not here."""
import os

import numpy as np
import pytest

import edgerun
from edgerun.errors import DtypeError, MemoryLimitError, ShapeError
from edgerun.runtime import plan_cache
from edgerun.runtime.cached import CachedGraph
from edgerun.runtime.graph import PreparedGraph
from edgerun.runtime.plan_cache import USER_CUSTOMS
from oracle import invoke_with, litert_interpreter, random_inputs


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The cache on, in a folder of this test's own; the folder of plans. Custom ops other tests of this process
    registered (which turn the cache off) are set aside meanwhile."""
    monkeypatch.setenv("EDGERUN_PLAN_CACHE", "1")
    monkeypatch.setenv("EDGERUN_CACHE_DIR", str(tmp_path / "cache"))
    registered = set(USER_CUSTOMS)
    USER_CUSTOMS.clear()
    yield tmp_path / "cache" / "plans"
    USER_CUSTOMS.update(registered)


@pytest.fixture(scope="module")
def kws_int8():
    from networks import NETWORKS, _calibration
    from oracle import tf_convert

    k = NETWORKS["kws_dscnn"]()
    return tf_convert(k, quantize="int8", representative=_calibration(k), input_type=np.int8, output_type=np.int8)


@pytest.fixture(scope="module")
def cnn_f32():
    from networks import NETWORKS
    from oracle import tf_convert

    return tf_convert(NETWORKS["mobilenet_v2"]())


def _file(tmp_path, data: bytes, name="model.tflite"):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def _loaded(path, **kw):
    it = edgerun.Interpreter(model_path=path, **kw)
    it.allocate_tensors()
    plan_cache.wait()  # the file is written on a thread of its own
    return it


def _cached(tmp_path, model: bytes, **kw):
    """The model written to a file, loaded once (which writes the cache), then loaded again: (path, the second
    interpreter, opened from the cache)."""
    path = _file(tmp_path, model)
    _loaded(path)
    it = _loaded(path, **kw)
    assert isinstance(it._main.graph, CachedGraph)
    return path, it


def _plans(folder) -> list:
    return sorted(p.name for p in folder.glob("*.plan")) if folder.exists() else []


def _same_as_litert(it, model: bytes, seeds=(0, 1, 2), exact=True, rtol=1e-4):
    lit = litert_interpreter(model)
    lit.allocate_tensors()
    for seed in seeds:
        x = random_inputs(lit.get_input_details(), seed=seed)
        for a, b in zip(invoke_with(it, x), invoke_with(lit, x)):
            assert a.shape == b.shape and a.dtype == b.dtype
            if exact:
                assert np.array_equal(a, b)
            else:
                assert np.abs(a - b).max() <= rtol * max(np.abs(b).max(), 1e-6)


def test_second_load_opens_the_cached_plan(cache, tmp_path, kws_int8):
    path = _file(tmp_path, kws_int8)
    first = _loaded(path)
    assert isinstance(first._main.graph, PreparedGraph)
    assert len(_plans(cache)) == 1
    second = _loaded(path)
    assert isinstance(second._main.graph, CachedGraph)
    assert second._Interpreter__model is None  # nothing parsed: inputs, outputs and details come from the entry
    _same_as_litert(second, kws_int8)
    assert second._Interpreter__model is None
    _same_as_litert(first, kws_int8)
    lit = litert_interpreter(kws_int8)
    lit.allocate_tensors()
    for ours, theirs in ((second.get_input_details(), lit.get_input_details()),
                         (second.get_output_details(), lit.get_output_details())):
        for a, b in zip(ours, theirs):
            for k in ("name", "index", "dtype", "quantization"):
                assert a[k] == b[k], k
            assert np.array_equal(a["shape"], b["shape"])
            assert np.array_equal(a["quantization_parameters"]["scales"], b["quantization_parameters"]["scales"])
    # the details are fresh copies, as LiteRT's
    second.get_input_details()[0]["shape"][0] = 99
    assert second.get_input_details()[0]["shape"][0] == 1


def test_model_bytes_are_cached_by_their_contents(cache, kws_int8, cnn_f32):
    """model_content: the same bytes (another object, a bytearray, a memoryview) open from the cache; bytes of the
    same length with other weights do not."""
    first = edgerun.Interpreter(model_content=kws_int8)
    first.allocate_tensors()
    plan_cache.wait()
    assert isinstance(first._main.graph, PreparedGraph) and len(_plans(cache)) == 1
    for same in (bytes(bytearray(kws_int8)), bytearray(kws_int8), memoryview(kws_int8)):
        it = edgerun.Interpreter(model_content=same)
        it.allocate_tensors()
        assert isinstance(it._main.graph, CachedGraph)
        _same_as_litert(it, kws_int8, seeds=(0,))
    other = bytearray(cnn_f32)
    m = edgerun.Interpreter(model_content=bytes(cnn_f32), plan_cache=False)
    w = next(t for t in m._model.subgraphs[0].tensors if t.data is not None and t.data.nbytes > 1000)
    at = bytes(cnn_f32).find(w.data.tobytes())
    other[at:at + 4] = np.float32(7.5).tobytes()
    for data in (cnn_f32, bytes(other)):
        it = edgerun.Interpreter(model_content=data)
        it.allocate_tensors()
        plan_cache.wait()
        assert isinstance(it._main.graph, PreparedGraph)  # each its own plan
        _same_as_litert(it, data, seeds=(1,), exact=False)
    assert len(_plans(cache)) == 3
    it = edgerun.Interpreter(model_content=bytes(other))
    it.allocate_tensors()
    assert isinstance(it._main.graph, CachedGraph)
    _same_as_litert(it, bytes(other), seeds=(2,), exact=False)


def test_every_tensor_reads_as_in_litert(cache, tmp_path, kws_int8):
    """get_tensor_details (the model parsed when asked) and the constants' bytes, from the cached graph."""
    _, it = _cached(tmp_path, kws_int8)
    lit = litert_interpreter(kws_int8)
    lit.allocate_tensors()
    ours, theirs = it.get_tensor_details(), lit.get_tensor_details()
    by_index = {d["index"]: d for d in theirs}  # LiteRT lists a tensor of its own past the model's
    wrong = [(a["index"], a["name"], tuple(a["shape"])) for a in ours
             if (a["name"], tuple(a["shape"])) != (by_index[a["index"]]["name"], tuple(by_index[a["index"]]["shape"]))]
    assert len(ours) > 30 and not wrong
    checked = 0
    for t in it._model.subgraphs[0].tensors:  # the constants (weights, biases): their bytes as LiteRT's
        if t.data is None:
            continue
        try:
            ours_w = it.get_tensor(t.index)
        except ValueError:  # the plan keeps only the packed form of this weight
            continue
        assert np.array_equal(ours_w, lit.get_tensor(t.index))
        checked += 1
    assert checked
    view = it.tensor(it.get_input_details()[0]["index"])()
    assert view.flags.writeable


def test_float_model_on_two_threads(cache, tmp_path, cnn_f32):
    _, it = _cached(tmp_path, cnn_f32, num_threads=2)
    _same_as_litert(it, cnn_f32, exact=False)


def test_state_carries_over_invokes_and_resets(cache, tmp_path):
    from test_lstm import _Lstm

    m = _Lstm()
    _, ours = _cached(tmp_path, m.model)
    assert ours.memory_report()["variables"] == 2
    lit = litert_interpreter(m.model)
    lit.allocate_tensors()
    x1, x2 = m.inputs(seed=1)[0], m.inputs(seed=2)[0]
    outs = []
    for x in (x1, x2, x1):
        a, b = invoke_with(ours, [x])[0], invoke_with(lit, [x])[0]
        assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max()
        outs.append(a)
    assert not np.allclose(outs[0], outs[2])  # the state changed the answer
    ours.reset_all_variables()
    lit.reset_all_variables()
    assert np.array_equal(invoke_with(ours, [x1])[0], outs[0])
    invoke_with(lit, [x1])
    # resizing goes back to preparing; the state carries over into the prepared graph
    a = invoke_with(ours, [x2])[0]
    b = invoke_with(lit, [x2])[0]
    assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max()
    shape = tuple(ours.get_input_details()[0]["shape"])
    ours.resize_tensor_input(ours.get_input_details()[0]["index"], shape)  # the same shape: nothing changes
    assert isinstance(ours._main.graph, CachedGraph)


def test_resize_prepares_for_the_new_shape(cache, tmp_path, cnn_f32):
    _, it = _cached(tmp_path, cnn_f32)
    lit = litert_interpreter(cnn_f32)
    for i in (it, lit):
        i.resize_tensor_input(i.get_input_details()[0]["index"], (2, 96, 96, 3))
        i.allocate_tensors()
    assert isinstance(it._main.graph, PreparedGraph)
    assert tuple(it.get_input_details()[0]["shape"]) == (2, 96, 96, 3)
    x = random_inputs(lit.get_input_details(), seed=3)
    a, b = invoke_with(it, x)[0], invoke_with(lit, x)[0]
    assert a.shape == b.shape == (2, 10) and np.abs(a - b).max() <= 1e-4
    assert len(_plans(cache)) == 1  # the resized plan is not cached (only the model's own shapes are)


def test_errors_read_as_without_the_cache(cache, tmp_path, kws_int8, monkeypatch):
    path, cached = _cached(tmp_path, kws_int8)
    monkeypatch.setenv("EDGERUN_PLAN_CACHE", "0")
    prepared = _loaded(path)
    assert isinstance(prepared._main.graph, PreparedGraph)
    ti = prepared.get_input_details()[0]["index"]
    for value, error in ((np.zeros((1, 49, 10, 1), np.float32), DtypeError),
                         (np.zeros((1, 49, 10), np.int8), ShapeError),
                         (np.zeros((1, 49, 11, 1), np.int8), ShapeError)):
        messages = []
        for it in (cached, prepared):
            with pytest.raises(error) as e:
                it.set_tensor(ti, value)
            messages.append(str(e.value))
        assert messages[0] == messages[1]
    for it in (cached, prepared):
        with pytest.raises(ValueError, match="out of range"):
            it.get_tensor(10_000)
    assert cached.memory_report() == prepared.memory_report()


def test_a_changed_model_file_is_prepared_again(cache, tmp_path, cnn_f32):
    path = _file(tmp_path, cnn_f32)
    _loaded(path)
    # the same size, other weights: the file's times change, so its key does
    data = bytearray(cnn_f32)
    m = edgerun.Interpreter(model_content=bytes(cnn_f32))
    w = next(t for t in m._model.subgraphs[0].tensors if t.data is not None and t.data.nbytes > 1000)
    at = bytes(cnn_f32).find(w.data.tobytes())
    assert at > 0
    data[at:at + w.data.nbytes] = (np.frombuffer(w.data.tobytes(), np.float32) * -1.5).tobytes()
    with open(path, "r+b") as f:
        f.write(data)
    it = _loaded(path)
    assert isinstance(it._main.graph, PreparedGraph)
    _same_as_litert(it, bytes(data), exact=False)
    assert len(_plans(cache)) == 2


@pytest.mark.parametrize("damage", ["truncated", "header", "records", "meta", "empty"])
def test_a_damaged_cache_file_is_ignored_and_written_again(cache, tmp_path, kws_int8, damage):
    path = _file(tmp_path, kws_int8)
    _loaded(path)
    (plan,) = cache.glob("*.plan")
    data = bytearray(plan.read_bytes())
    meta_len = int.from_bytes(data[-16:-8], "little")
    if damage == "truncated":
        data = data[:len(data) // 2]
    elif damage == "header":
        data[0:8] = b"NOTAPLAN"
    elif damage == "records":  # the section table's offsets: the loader refuses (no CRC is needed for that)
        data[96 + 8:96 + 16] = (1 << 40).to_bytes(8, "little")
    elif damage == "meta":
        at = len(data) - 16 - meta_len
        data[at:at + 8] = b"\xff" * 8
    else:
        data = bytearray()
    plan.write_bytes(bytes(data))
    it = _loaded(path)
    assert isinstance(it._main.graph, PreparedGraph)
    _same_as_litert(it, kws_int8, seeds=(0,))
    again = _loaded(path)
    assert isinstance(again._main.graph, CachedGraph)  # written again whole
    _same_as_litert(again, kws_int8, seeds=(1,))


def test_off_switches_and_what_is_not_cached(cache, tmp_path, kws_int8, monkeypatch):
    path = _file(tmp_path, kws_int8)
    _loaded(path, plan_cache=False)
    assert _plans(cache) == []
    it = edgerun.Interpreter(model_content=kws_int8, plan_cache=False)
    it.allocate_tensors()
    plan_cache.wait()
    assert _plans(cache) == []
    monkeypatch.setenv("EDGERUN_PLAN_CACHE", "0")
    _loaded(path)
    assert _plans(cache) == []
    monkeypatch.setenv("EDGERUN_PLAN_CACHE", "1")
    USER_CUSTOMS.add("SOME_USER_OP")  # a user's custom op registered: plans may depend on the user's code
    try:
        _loaded(path)
        assert _plans(cache) == []
    finally:
        USER_CUSTOMS.discard("SOME_USER_OP")
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("EDGERUN_CACHE_DIR", str(blocked))  # the cache cannot be written: the model still runs
    _same_as_litert(_loaded(path), kws_int8, seeds=(0,))


def test_options_that_change_the_plan_are_in_the_key(cache, tmp_path, kws_int8):
    path = _file(tmp_path, kws_int8)
    _loaded(path)
    it = _loaded(path, experimental_preserve_all_tensors=True)
    assert isinstance(it._main.graph, PreparedGraph)
    again = _loaded(path, experimental_preserve_all_tensors=True)
    assert isinstance(again._main.graph, CachedGraph)
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    lit = Interpreter(model_content=kws_int8, experimental_preserve_all_tensors=True,
                      experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    lit.allocate_tensors()
    x = random_inputs(lit.get_input_details(), seed=4)
    invoke_with(again, x)
    invoke_with(lit, x)
    prepared = it
    invoke_with(prepared, x)
    inner = [int(i) for op in lit._get_ops_details()[:-1] for i in op["outputs"]]
    kept = 0
    for ti in inner:  # intermediates kept, and equal to LiteRT's (but those prepare folded away, as without the cache)
        try:
            prepared.get_tensor(ti)
        except ValueError:
            with pytest.raises(ValueError, match="has no data"):
                again.get_tensor(ti)
            continue
        assert np.array_equal(again.get_tensor(ti), lit.get_tensor(ti))
        kept += 1
    assert kept > 5
    assert len(_plans(cache)) == 2


def test_memory_limit_on_a_cached_model(cache, tmp_path, kws_int8):
    path = _file(tmp_path, kws_int8)
    _loaded(path)
    with pytest.raises(MemoryLimitError):
        _loaded(path, max_memory_bytes=10_000)


def test_the_profiler_takes_a_cached_model(cache, tmp_path, kws_int8):
    from edgerun.runtime.bench import profile

    path = _file(tmp_path, kws_int8)
    _loaded(path)
    it = _loaded(path)
    rows = profile(it, runs=2)
    assert {r.op for r in rows} >= {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
    _same_as_litert(it, kws_int8, seeds=(5,))


def test_the_folder_keeps_its_byte_limit(cache, tmp_path, kws_int8, monkeypatch):
    paths = [_file(tmp_path, kws_int8, f"m{k}.tflite") for k in range(3)]
    _loaded(paths[0])
    size = next(cache.glob("*.plan")).stat().st_size
    monkeypatch.setenv("EDGERUN_PLAN_CACHE_BYTES", str(2 * size + size // 2))
    for p in paths:
        _loaded(p)
    assert len(_plans(cache)) == 2
    assert plan_cache.clear() == 2 and _plans(cache) == []
    assert os.path.isdir(cache)


def test_the_cache_command(cache, tmp_path, kws_int8, capsys, monkeypatch):
    from edgerun.cli import main

    _cached(tmp_path, kws_int8)
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert f"plan cache on: {cache}" in out and "1 plan(s)" in out
    monkeypatch.setenv("EDGERUN_PLAN_CACHE_BYTES", "lots")
    assert main(["cache"]) == 0
    assert "EDGERUN_PLAN_CACHE_BYTES='lots' is not a byte count" in capsys.readouterr().err
    assert main(["cache", "--clear"]) == 0
    assert "removed 1 cached plan(s)" in capsys.readouterr().out and _plans(cache) == []


def test_damaged_records_are_refused_with_a_message_never_a_crash(cache, tmp_path, kws_int8):
    """The quiet open of cached plans (no checksum, messages formatted only on failure): 300 files with bytes of
    their records changed (not the constants, which a plan's loader takes on trust) each open or are refused
    with the loader's message; an open that fails quietly is run again for that message."""
    import struct

    from edgerun.kernels import ffi, lib
    from edgerun.platforms.planfile import CONSTS, SECTION_ENTRY

    _cached(tmp_path, kws_int8)
    (plan,) = cache.glob("*.plan")
    data = plan.read_bytes()
    meta_len = int.from_bytes(data[-16:-8], "little")
    plan_bytes = len(data) - 16 - meta_len
    consts_at = next(off for sid, _, off, _ in (struct.unpack_from("<IIQQ", data, 96 + SECTION_ENTRY * k)
                                                 for k in range(7)) if sid == CONSTS)
    rng = np.random.default_rng(0)
    messages = []
    out, err = ffi.new("edgerun_model **"), ffi.new("char[]", 512)
    for _ in range(300):
        bad = bytearray(data[:plan_bytes])
        for at in rng.integers(16, consts_at, size=int(rng.integers(1, 4))):
            bad[at] = int(rng.integers(0, 256))
        mem = np.frombuffer(bytes(bad), np.uint8).copy()  # numpy's allocation: 16-byte aligned, as borrowing needs
        status = lib.er_rt_open_cached(ffi.from_buffer(mem), plan_bytes, out, err, 512)
        if status == lib.EDGERUN_OK:
            lib.edgerun_close(out[0])
        else:
            assert out[0] == ffi.NULL and ffi.string(err), status
            messages.append(ffi.string(err).decode(errors="replace"))
    assert len(messages) > 100
    assert any(m.startswith("subplan 0 ") for m in messages)  # record contexts, formatted on the second open


def test_an_unseeded_random_op_draws_a_new_stream_per_load(cache, tmp_path):
    """seed = seed2 = 0: LiteRT draws the seeds at each prepare; a cached plan would repeat one stream, so such a
    model is not cached. A seeded one is, and its stream is LiteRT's."""
    from test_random_ops import random_model

    path = _file(tmp_path, random_model("RANDOM_UNIFORM", (50, 40), 0, 0))
    first, second = (invoke_with(_loaded(path), [])[0] for _ in range(2))
    assert not np.array_equal(first, second) and _plans(cache) == []
    seeded = random_model("RANDOM_UNIFORM", (50, 40), 7, 11)
    _, it = _cached(tmp_path, seeded)
    lit = litert_interpreter(seeded)
    lit.allocate_tensors()
    assert np.array_equal(invoke_with(it, [])[0], invoke_with(lit, [])[0])
