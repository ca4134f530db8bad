"""The cold-start shortcuts give what the straightforward paths gave: er_tensor records written in one copy
(prepare.fill_c_tensors) equal fill_c_tensor's, kernel params kept as struct bytes (plan.Params image) decode
and materialize like params read field by field, and the weight packers equal their plain definitions below.
Speed itself is measured by benchmarks/cold_start.py, never here."""
import dataclasses

import numpy as np
import pytest

from edgerun.kernels import ffi
from edgerun.runtime import plan as P
from edgerun.runtime.materialize import Executable
from edgerun.runtime.model import Model
from edgerun.runtime.prepare import Preparer, fill_c_tensor, fill_c_tensors

FIELDS = ("data", "type", "ndim", "count", "bytes", "scale", "zero_point", "n_channels", "quant_dim")


def _same_record(a, b):
    for f in FIELDS:
        assert getattr(a, f) == getattr(b, f), f
    assert list(a.dims) == list(b.dims)
    n = b.n_channels
    assert [a.scales[j] for j in range(n)] == [b.scales[j] for j in range(n)]
    assert [a.zero_points[j] for j in range(n)] == [b.zero_points[j] for j in range(n)]
    if not n:
        assert a.scales == ffi.NULL and a.zero_points == ffi.NULL


def test_tensor_records_in_one_copy_equal_one_by_one():
    ts = [P.PlanTensor(0, "f", 0, (1, 2, 3)),
          P.PlanTensor(1, "q", 9, (2, 5), (0.5,), (-3,)),
          P.PlanTensor(2, "per-channel", 9, (3, 1, 1, 2), (0.1, 0.2, 0.30000001), (0, 0, 0), 0),
          P.PlanTensor(3, "no zero points", 7, (4,), (0.25, 0.5, 1.0, 2.0), (), 0),
          P.PlanTensor(4, "scalar", 2, ()),
          P.PlanTensor(5, "unused", 0, (7,)),  # storage NONE: no record
          P.PlanTensor(6, "rank 8", 3, (1, 2, 1, 2, 1, 2, 1, 3), (1.5,), (128,)),
          P.PlanTensor(7, "numpy copy", 9, (2, 2), (0.75, 0.125), (1, -1), 1)]
    ts[7].qarrays = (ts[7].scale, np.array(ts[7].scale, np.float32), np.array(ts[7].zero_point, np.int64))
    stale = dataclasses.replace(ts[7], index=8, scale=(2.0, 4.0), zero_point=(5, 6))  # starts without qarrays
    assert stale.qarrays is None
    ts.append(stale)
    ts.append(P.PlanTensor(9, "swapped tuple", 9, (2,), (3.0, 6.0), (7, 8)))
    ts[9].qarrays = (tuple([3.0, 6.0]), np.array([9.0, 9.0], np.float32), np.zeros(2, np.int64))  # not its tuple
    items = [(t, 4096 * (i + 1)) for i, t in enumerate(ts) if t.index != 5]
    keep = []
    fast = ffi.new("er_tensor[]", len(ts))
    fill_c_tensors(fast, len(ts), items, keep)
    slow = ffi.new("er_tensor[]", len(ts))
    for t, addr in items:
        fill_c_tensor(slow[t.index], t, ffi.cast("void *", addr), keep)
    for i in range(len(ts)):
        _same_record(fast[i], slow[i])
    assert fast[5].ndim == 0 and fast[5].data == ffi.NULL
    assert fast[9].scales[0] == 3.0  # the tuple wins over arrays that are not its own


@pytest.fixture(scope="module")
def kws_int8():
    from networks import NETWORKS, _calibration
    from oracle import tf_convert

    k = NETWORKS["kws_dscnn"]()
    return tf_convert(k, quantize="int8", representative=_calibration(k), input_type=np.int8,
                      output_type=np.int8)


def _old_params_from_cffi(ffi_, ptr, resolve):
    """The field-by-field reading that params_from_cffi replaced (the specification)."""
    t = ffi_.typeof(ptr)
    return P._struct(ffi_, t.item, ptr[0], resolve)


def test_params_kept_as_struct_bytes_read_and_run_like_fields(kws_int8, monkeypatch):
    m = Model(kws_int8)
    shapes = {j: tuple(m.subgraphs[0].tensors[j].shape) for j in m.subgraphs[0].inputs}
    plan = Preparer(m).prepare(shapes)
    with monkeypatch.context() as mp:
        mp.setattr(P, "params_from_cffi", _old_params_from_cffi)
        ref = Preparer(m).prepare(shapes)
    images = [op.params for op in plan.main.ops if op.params is not None]
    assert images and all(p.image is not None for p in images)
    # the constants copied elsewhere: every pointer the image holds must be set anew
    exe = Executable(dataclasses.replace(plan, consts=[np.array(c) for c in plan.consts]), {})
    blocks = [exe.params(p) for p in images]  # the image path: bytes copied, pointers set
    moved = [ffi.buffer(b, len(p.image))[:] != p.image for b, p in zip(blocks, images)]
    assert sum(moved) >= len(images) // 2
    assert all(p.image is not None for p in images)  # materializing does not decode
    assert len(plan.consts) == len(ref.consts)  # pointers resolved in the same order: the same const ids
    assert all(a is b or np.array_equal(a, b) for a, b in zip(plan.consts, ref.consts))
    for p, block, op in zip(images, blocks, [op for op in ref.main.ops if op.params is not None]):
        assert p == op.params  # decoding the bytes gives what the field-by-field reading gave
        assert p.image is None  # reading fields drops the bytes: the fields are the truth from now on
        by_fields = exe.params(P.Params(p.ctype, p.fields))
        size = ffi.sizeof(p.ctype)
        assert ffi.buffer(block, size)[:] == ffi.buffer(by_fields, size)[:], p.ctype


def test_fields_read_then_changed_are_what_materializes(kws_int8):
    m = Model(kws_int8)
    plan = Preparer(m).prepare({j: tuple(m.subgraphs[0].tensors[j].shape) for j in m.subgraphs[0].inputs})
    op = next(op for op in plan.main.ops if op.params is not None and "stride_h" in op.params.fields)
    op.params.fields["stride_h"] = 7
    block = Executable(plan, {}).params(op.params)
    assert block.stride_h == 7


# -- weight packers against their plain definitions --------------------------------------------------------
def _dot_spec(w, off):
    n, k = w.shape
    k4, np_ = -(-k // 4) * 4, -(-n // 8) * 8
    full = np.zeros((np_, k4), np.int8)
    full[:n, :k] = w
    corr = [((int(off) * int(full[r].astype(np.int64).sum()) + 2**31) % 2**32) - 2**31 for r in range(np_)]
    panels = [full[p * 8 + c, q * 4:q * 4 + 4] for p in range(np_ // 8) for q in range(k4 // 4) for c in range(8)]
    sums = [int(full[r].astype(np.int64).sum()) for r in range(np_)]  # then the weight sums (0 past N)
    return np.concatenate([np.array(corr, "<i4").view(np.int8)] + panels
                          + [np.array(sums, "<i4").view(np.int8)]).view("<i4"), k4, np_


def _gemm_spec(w, off):
    n, k = w.shape
    kp, np_ = k + (k & 1), -(-n // 8) * 8
    full = np.zeros((np_, kp), np.int16)
    full[:n, :k] = w.astype(np.int16) + off
    out = np.array([full[p * 8 + c, q * 2:q * 2 + 2] for p in range(np_ // 8) for q in range(kp // 2)
                    for c in range(8)]).reshape(np_ // 8, kp // 2, 8, 2)
    return out, kp, np_


def _panels_spec(w, bias, groups):
    n, k = w.shape
    ng = n // groups
    ng8 = -(-ng // 8) * 8
    out, bp = [], []
    for g in range(groups):
        wg = np.zeros((ng8, k), np.float32)
        wg[:ng] = w[g * ng:(g + 1) * ng]
        for first in range(0, ng8, 16):
            out.append(wg[first:first + 16].T.reshape(-1))
        bp.append(np.concatenate([bias[g * ng:(g + 1) * ng], np.zeros(ng8 - ng, np.float32)]))
    return np.concatenate(out), np.concatenate(bp)


@pytest.mark.parametrize("n,k", [(1, 1), (8, 4), (9, 3), (16, 27), (24, 2), (40, 33)])
def test_weight_packers_equal_their_definitions(n, k):
    from edgerun.runtime.ops.conv import pack_panels
    from edgerun.runtime.ops.conv_int import _pack_dot, _pack_gemm

    rng = np.random.default_rng(n * 100 + k)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)
    for off in (-128, 0, 7, 127):
        for got, want in ((_pack_dot(w, off), _dot_spec(w, off)), (_pack_gemm(w, off), _gemm_spec(w, off))):
            assert got[1:] == want[1:]
            assert got[0].dtype == want[0].dtype and got[0].shape == want[0].shape
            assert np.array_equal(got[0], want[0])
    wf = rng.standard_normal((n * 2, k)).astype(np.float32)
    bias = rng.standard_normal(n * 2).astype(np.float32)
    for groups in (1, 2):
        got, want = pack_panels(wf, bias, groups), _panels_spec(wf, bias, groups)
        assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(got, want))


def _qm_spec(mult, shift, sums, bias, n, cp, input_offset):
    """The madd blob's head (ukernels.h): 8 header words ([0]: constants valid), the folded bias [cp], then per
    block of 8 channels m, m of the odd channels, rc = 2^30 + 2^(30 + r) of the even and of the odd channels
    (int64), r - 1 (shift = -r); all constants zero when a channel has r < 1 or m = INT32_MIN."""
    b = np.zeros(cp, np.int64)
    b[:n] = sums.astype(np.int64) * input_offset + (0 if bias is None else bias.astype(np.int64))
    b = ((b + 2**31) % 2**32 - 2**31).astype(np.int32)
    m, r = np.zeros(cp, np.int64), np.ones(cp, np.int64)
    m[:n], r[:n] = mult, -shift.astype(np.int64)
    rq = np.zeros((cp // 8, 40), np.int32)
    ok = not (np.any(r < 1) or np.any(m == -2**31))
    if ok:
        rc = (1 << 30) + np.left_shift(np.int64(1), 30 + np.minimum(r, 32))
        rq[:, 0:8] = m.reshape(-1, 8)
        rq[:, 8:16:2] = m.reshape(-1, 8)[:, 1::2]
        rq[:, 16:24] = np.ascontiguousarray(rc.reshape(-1, 8)[:, 0::2]).view(np.int32)
        rq[:, 24:32] = np.ascontiguousarray(rc.reshape(-1, 8)[:, 1::2]).view(np.int32)
        rq[:, 32:40] = (r - 1).reshape(-1, 8)
    head = np.zeros(8, np.int32)
    head[0] = ok
    return np.concatenate([head, b, rq.ravel()]).view(np.int8)


def _pairs_spec(w):
    n, k = w.shape
    kp, np_ = k + (k & 1), -(-n // 8) * 8
    full = np.zeros((np_, kp), np.int8)
    full[:n, :k] = w
    return np.array([full[p * 8 + c, q * 2:q * 2 + 2] for p in range(np_ // 8) for q in range(kp // 2)
                     for c in range(8)], np.int8).reshape(-1), kp, np_


def _dw_pairs_spec(w, cp):
    _, kh, kw, c = w.shape
    t = kh * kw
    full = np.zeros((t + (t & 1), cp), np.int8)
    full[:t, :c] = w.reshape(t, c)
    return np.array([[full[2 * i, ch], full[2 * i + 1, ch]] for i in range(len(full) // 2) for ch in range(cp)],
                    np.int8).reshape(-1)


@pytest.mark.parametrize("n,k", [(1, 1), (8, 4), (9, 3), (16, 27), (24, 2), (40, 33)])
def test_madd_packers_equal_their_definitions(n, k):
    """kernels/opt/pack.c's madd blobs (GEMM and depthwise): head (folded bias with int32 wrapping, one-step
    requantization constants or zeros) and int8 pairs, byte for byte."""
    from edgerun.runtime import pack

    rng = np.random.default_rng(n * 1000 + k)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)
    mult = rng.integers(2**30, 2**31, n, dtype=np.int64).astype(np.int32)
    cases = [(-rng.integers(1, 40, n)).astype(np.int32),        # every channel one-step: constants present
             np.where(np.arange(n) == n // 2, 1, -5).astype(np.int32)]  # a left shift: constants zero
    for shift in cases:
        for bias in (None, rng.integers(-2**31, 2**31, n, dtype=np.int64).astype(np.int32)):
            for off in (-2**31 + 1, -128, 0, 127, 2**31 - 1):
                got, kp, np_ = pack.s8_madd_gemm(w, mult, shift, bias, off)
                sums = w.astype(np.int64).sum(axis=1)
                head = _qm_spec(mult, shift, sums, bias, n, np_, off)
                panels, kp2, np2 = _pairs_spec(w)
                assert (kp, np_) == (kp2, np2) and got.dtype == np.int8
                assert np.array_equal(got, np.concatenate([head, panels]))
                taps = w.reshape(1, 1, n, k)  # depthwise weights [1, 1, T = n, C = k]
                cp = -(-k // 8) * 8 + 8 * (n & 1)  # padded past the next multiple of 8 too
                got = pack.s8_madd_depthwise(taps, cp, mult[:1].repeat(k), shift[:1].repeat(k),
                                             None if bias is None else bias[:1].repeat(k), off)
                want = np.concatenate([_qm_spec(mult[:1].repeat(k), shift[:1].repeat(k),
                                                w.astype(np.int64).sum(axis=0),
                                                None if bias is None else bias[:1].repeat(k), k, cp, off),
                                       _dw_pairs_spec(taps, cp)])
                assert np.array_equal(got, want)
    assert pack.s8_madd_gemm(w, np.full(n, -2**31, np.int32), cases[0], None, 0)[0][0] == 0  # INT32_MIN: none


def test_c_multipliers_equal_tflites_scalar_rule():
    """kernels/opt/pack.c er_quantize_multipliers gives exactly QuantizeMultiplier's (multiplier, shift),
    across magnitudes, the rounding edges and values too small for a shift."""
    from edgerun.runtime.pack import quantize_multipliers
    from edgerun.runtime.quant import quantize_multiplier

    rng = np.random.default_rng(1)
    vals = np.concatenate([rng.uniform(0, 1, 5000) * 10.0 ** rng.integers(-14, 6, 5000),
                           [0.0, 1.0, 0.5, 2.0 ** -31, 2.0 ** -32, 2.0 ** -33, 2.0 ** -40, 1 - 2.0 ** -33, 1e-300,
                            3e38, 5e-324],
                           (np.arange(1, 500) + 0.5) / 2 ** 31 * 2.0 ** rng.integers(-5, 5, 499)])
    q, s = quantize_multipliers(vals)
    assert q.dtype == s.dtype == np.int32
    assert [(int(a), int(b)) for a, b in zip(q, s)] == [quantize_multiplier(float(v)) for v in vals]


def test_op_records_in_one_copy_equal_fill_record(kws_int8):
    from edgerun.errors import UnsupportedOpError
    from edgerun.runtime.prepare import fill_record

    m = Model(kws_int8)
    plan = Preparer(m).prepare({j: tuple(m.subgraphs[0].tensors[j].shape) for j in m.subgraphs[0].inputs})
    exe = Executable(plan, {})
    cts, cp = exe.sub_tensors[0], exe.c_plans[0]
    ops = [op for op in plan.main.ops if op.python is None]
    assert cp.n_ops == len(ops) > 5
    for j, op in enumerate(ops):
        got, want = cp.ops[j], ffi.new("er_op *")
        ins = [cts + i if i >= 0 else ffi.NULL for i in op.inputs] or [ffi.NULL]
        outs = [cts + i if i >= 0 else ffi.NULL for i in op.outputs] or [ffi.NULL]
        fill_record(want, op.label, op.kernel, got.params, ffi.new("er_tensor *[]", ins),
                    ffi.new("er_tensor *[]", outs), len(op.inputs), len(op.outputs), got.scratch, op.scratch_bytes)
        assert (got.kernel, got.index, got.n_in, got.n_out, got.scratch_bytes) == \
            (want.kernel, op.index, want.n_in, want.n_out, want.scratch_bytes)
        assert [getattr(got, "in")[i] for i in range(len(ins))] == ins
        assert [got.out[i] for i in range(len(outs))] == outs
        assert (got.params == ffi.NULL) == (op.params is None)
        assert (got.scratch == ffi.NULL) == (op.scratch_bytes == 0)
    bad = dataclasses.replace(ops[1], kernel="no_such_kernel")
    plan.main.ops[plan.main.ops.index(ops[1])] = bad
    with pytest.raises(UnsupportedOpError, match=f"op #{bad.index} .*kernel 'no_such_kernel' is not compiled"):
        Executable(plan, {})


# -- tensor and buffer tables read in C (kernels/opt/flatbuf_read.c) -------------------------------------------
def _describe(m):
    out = [(o.index, o.name, o.custom_code, o.version, o.inputs, o.outputs, o.intermediates, repr(o.options),
            o.custom_options) for sg in m.subgraphs for o in sg.ops]
    for sg in m.subgraphs:
        for t in sg.tensors:
            d = dataclasses.asdict(dataclasses.replace(t, sparsity=None))
            d["data"] = None if t.data is None else (t.data.dtype.str, t.data.shape, t.data.tobytes())
            d["scale"], d["zero_point"] = (t.scale.dtype.str, t.scale.tolist()), (t.zero_point.dtype.str,
                                                                                  t.zero_point.tolist())
            d["sparsity"] = t.sparsity is not None
            out.append(d)
    return out


def _load(data, python_reader, monkeypatch):
    from edgerun.errors import ModelError

    with monkeypatch.context() as mp:
        if python_reader:
            mp.setattr(Model, "_tensors_c", lambda self, sgi, g: None)
            mp.setattr(Model, "_buffers_c", lambda self, fb: None)
            mp.setattr(Model, "_operators_c", lambda self, k, g, check: None)
        try:
            return _describe(Model(data))
        except ModelError as exc:
            return str(exc)


def test_tensor_tables_read_in_c_equal_the_python_reader(kws_int8, monkeypatch):
    """Clean models take the C readers (one call per subgraph's tensors and operators, one for the buffers) and
    describe every tensor and operator as the Python reader does; on byte-flipped and truncated files both give the same
    descriptions or the same error."""
    calls = []
    tensors_c, buffers_c, operators_c = Model._tensors_c, Model._buffers_c, Model._operators_c
    monkeypatch.setattr(Model, "_tensors_c", lambda self, sgi, g: calls.append(tensors_c(self, sgi, g)) or calls[-1])
    monkeypatch.setattr(Model, "_buffers_c", lambda self, fb: calls.append(buffers_c(self, fb)) or calls[-1])
    monkeypatch.setattr(Model, "_operators_c",
                        lambda self, k, g, check: calls.append(operators_c(self, k, g, check)) or calls[-1])
    clean = _describe(Model(kws_int8))
    assert len(calls) == 3 and all(c is not None for c in calls)
    monkeypatch.undo()
    assert clean == _load(kws_int8, True, monkeypatch)
    rng = np.random.default_rng(7)
    buf = bytearray(kws_int8)
    n_err = 0
    for trial in range(200):
        b = bytearray(buf)
        if trial % 10 == 0:
            b = b[:int(rng.integers(8, len(b)))]
        else:
            for at in rng.integers(0, len(b), int(rng.integers(1, 4))):
                b[at] = int(rng.integers(0, 256))
        got, want = _load(bytes(b), False, monkeypatch), _load(bytes(b), True, monkeypatch)
        assert got == want, trial
        n_err += isinstance(got, str)
    assert 10 < n_err < 200


def test_per_channel_quantization_kept_as_arrays_reads_as_the_tuples():
    """Prepare keeps a tensor's per-channel scales and zero points as the model's arrays (no Python numbers
    made); reading them gives the tuples of the plain definition (float / int of each element), C gets the
    same records as from those tuples, and the arrays stay valid for C after the first read."""
    from edgerun.runtime.ops import TensorInfo
    from edgerun.runtime.prepare import _plan_tensor

    s = np.array([0.1, 0.2, 0.30000001, 7e-9], np.float32)
    z = np.array([5, 3, -2, 127], np.int64)
    lazy = _plan_tensor(TensorInfo(0, "w", 9, (4, 1, 1, 2), s, z, 0))
    no_zp = _plan_tensor(TensorInfo(1, "w", 9, (4, 3), s, np.zeros(0, np.int64), 0))
    eager = P.PlanTensor(2, "w", 9, (4, 1, 1, 2), tuple(float(x) for x in s), tuple(int(x) for x in z), 0)
    assert lazy.quant_arrays() is not None and no_zp.quant_arrays() is not None
    items = [(lazy, 4096), (no_zp, 8192), (eager, 4096)]
    keep = []
    fast = ffi.new("er_tensor[]", 3)
    fill_c_tensors(fast, 3, items, keep)  # before any tuple exists
    assert lazy.__dict__["_scale"] is s  # the arrays were used as they are
    slow = ffi.new("er_tensor[]", 3)
    for t, addr in items:
        fill_c_tensor(slow[t.index], t, ffi.cast("void *", addr), keep)  # reads the tuples
    for i in range(3):
        _same_record(fast[i], slow[i])
    _same_record(fast[0], fast[2])
    assert lazy.scale == eager.scale and lazy.zero_point == eager.zero_point
    assert no_zp.scale == eager.scale and no_zp.zero_point == ()
    assert all(type(v) is float for v in lazy.scale) and all(type(v) is int for v in lazy.zero_point)
    assert lazy.quant_arrays() is not None  # still valid for the tuple made from them
    assert dataclasses.replace(lazy, index=2) == eager  # compares as tuples
    lazy.scale = (1.0, 2.0, 3.0, 4.0)  # changed: the kept arrays no longer describe it
    assert lazy.quant_arrays() is None
