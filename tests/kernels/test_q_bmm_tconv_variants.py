"""8-bit BATCH_MATMUL and TRANSPOSE_CONV on the int16 GEMM (kernels/opt/q_conv.c s8_bmm_gemm, s8/u8_tconv2d_gemm,
every ISA's GEMM micro-kernel) against the reference kernels (kernels/ref/q_conv_fc.c, q_conv.c) and LiteRT, bit
for bit. BATCH_MATMUL: adjoint flags, broadcast batches, odd M/N/K around the GEMM's 8-channel panels and 32-row
blocks, extreme zero points, inputs pinned at the int8 ends, the raw int8 x int8 -> int32 form, constant rhs, and
the batches split over 3 threads. TRANSPOSE_CONV: int8 (per-channel) and uint8 (weight zero point 128), strides
1-3, SAME/VALID, with and without bias, 1x1 to 4x4 filters."""
import numpy as np
import pytest
from oracle import litert_run

import edgerun
from edgerun.runtime import isa as isa_switch
from edgerun.schema.builder import ModelBuilder

# (lhs shape, rhs shape, adj_x, adj_y, lhs zero point, rhs zero point, int32 output[, rhs constant]); the
# larger shapes reach requantization ties, where LiteRT's double rounding differs from "upward" rounding
CASES = [
    ((1, 5, 7), (1, 7, 3), False, False, 3, -5, False),
    ((2, 3, 33, 17), (2, 3, 17, 9), False, False, -128, 0, False),
    ((4, 17, 33), (4, 24, 17), True, True, 127, 7, False),
    ((3, 1, 6, 5), (1, 4, 5, 40), False, False, 0, -128, False),
    ((1, 40, 64), (1, 10, 64), False, True, -7, 127, False),
    ((2, 13, 3), (2, 13, 1), True, False, 5, 5, False),
    ((2, 3, 5), (2, 5, 4), False, False, 0, 0, True),
    ((3, 35, 19), (3, 19, 16), False, False, 0, 0, True),
    ((1, 64, 40), (1, 40, 24), False, False, -5, 0, False, True),
    ((3, 50, 31), (3, 31, 13), False, False, 9, 0, False, True),
]


def _model(case):
    sa, sb, ax, ay, za, zb, raw = case[:7]
    const = len(case) > 7
    m, n = (sa[-1] if ax else sa[-2]), (sb[-2] if ay else sb[-1])
    batch = tuple(np.broadcast_shapes(sa[:-2], sb[:-2]))
    b = ModelBuilder()
    x = b.tensor("a", sa, np.int8, quant=(0.05, za))
    w = (b.const("b", _inputs(case, 99)[1], quant=(0.03, zb)) if const
         else b.tensor("b", sb, np.int8, quant=(0.03, zb)))
    y = b.tensor("y", batch + (m, n), np.int32 if raw else np.int8, quant=(0.02, 0) if raw else (0.11, -3))
    b.op("BATCH_MATMUL", [x, w], [y], {"adjX": ax, "adjY": ay})
    b.inputs([x] if const else [x, w])
    b.outputs([y])
    return b.finish()


def _inputs(case, seed):
    rng = np.random.default_rng(seed)
    out = []
    for shape in case[:2]:
        v = rng.integers(-128, 128, shape).astype(np.int8)
        v.reshape(-1)[::7] = -128
        v.reshape(-1)[1::11] = 127
        out.append(v)
    return out


def _run(model, inputs, isa, threads=1):
    with isa_switch.selected(isa):
        it = edgerun.Interpreter(model_content=model, num_threads=threads)
        it.allocate_tensors()
        for d, v in zip(it.get_input_details(), inputs):
            it.set_tensor(d["index"], v)
        it.invoke()
        return it.get_tensor(it.get_output_details()[0]["index"]), [st.kernel for st in it._main.graph.steps]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}x{c[1]}-ax{int(c[2])}-ay{int(c[3])}-raw{int(c[6])}-c{len(c) > 7:d}")
def test_int8_batch_matmul(case, monkeypatch):
    model = _model(case)
    inputs = _inputs(case, sum(case[0]))[:1 if len(case) > 7 else 2]
    ref, names = _run(model, inputs, "ref")
    assert names == ["s8_bmm"]
    (theirs,) = litert_run(model, inputs)
    np.testing.assert_array_equal(ref, theirs)
    for isa in isa_switch.supported()[1:]:
        ours, names = _run(model, inputs, isa)
        assert names == ["s8_bmm_gemm"], (isa, names)
        np.testing.assert_array_equal(ours, ref, err_msg=isa)
    monkeypatch.setenv("EDGERUN_PARALLEL_MIN_COST", "0")
    ours, _ = _run(model, inputs, isa_switch.supported()[-1], threads=3)
    np.testing.assert_array_equal(ours, ref, err_msg="3 threads")


# -- 8-bit TRANSPOSE_CONV on the int16 GEMM (s8_tconv2d_gemm, u8_tconv2d_gemm) ------------------------------
# (input shape, OC, KH, KW, stride, padding (0 SAME, 1 VALID), per-channel, bias)
TCONV = [
    ((1, 4, 5, 3), 9, 3, 3, 2, 0, True, True),
    ((2, 3, 3, 1), 1, 2, 2, 1, 1, False, False),
    ((1, 7, 6, 17), 5, 4, 4, 2, 0, True, True),
    ((1, 5, 5, 8), 33, 3, 2, 3, 1, False, True),
    ((1, 9, 4, 40), 24, 1, 1, 2, 0, True, False),
]


def _tconv(case, dtype):
    from edgerun.runtime.ops.conv import out_size

    xs, oc, kh, kw, st, pad, per_channel, bias = case
    n, h, w, c = xs
    oh = next(o for o in range(1, h * st + kh + 1) if out_size(pad, o, kh, st) == h and o >= (h - 1) * st + 1)
    ow = next(o for o in range(1, w * st + kw + 1) if out_size(pad, o, kw, st) == w and o >= (w - 1) * st + 1)
    rng = np.random.default_rng(oc + c)
    u8 = dtype == np.uint8
    b = ModelBuilder()
    x = b.tensor("x", xs, dtype, quant=(0.05, 131 if u8 else -7))
    if per_channel and not u8:
        wsc = (0.02 * rng.uniform(0.5, 1.5, oc)).astype(np.float32)
        wq = (wsc, np.zeros(oc, np.int64), 0)
    else:
        wsc, wq = np.full(oc, 0.02, np.float32), (0.02, 128 if u8 else 0)
    wt = b.const("w", rng.integers(0 if u8 else -128, 256 if u8 else 128, (oc, kh, kw, c)).astype(dtype), quant=wq)
    ins = [b.const("shape", np.array([n, oh, ow, oc], np.int32)), wt, x]
    if bias:
        bscale = (np.float32(0.05) * wsc).astype(np.float32)
        bq = (bscale, np.zeros(oc, np.int64), 0) if per_channel and not u8 else (float(bscale[0]), 0)
        ins.append(b.const("b", rng.integers(-3000, 3000, oc).astype(np.int32), quant=bq))
    y = b.tensor("y", (n, oh, ow, oc), dtype, quant=(0.07, 120 if u8 else 3))
    b.op("TRANSPOSE_CONV", ins, [y], {"padding": pad, "strideH": st, "strideW": st})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=["int8", "uint8"])
@pytest.mark.parametrize("case", TCONV, ids=lambda c: "x".join(map(str, c[0])) + f"-o{c[1]}-k{c[2]}x{c[3]}-s{c[4]}")
def test_8bit_transpose_conv(case, dtype):
    model = _tconv(case, dtype)
    rng = np.random.default_rng(1)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, int(info.max) + 1, case[0]).astype(dtype)
    x.reshape(-1)[::5] = info.min
    x.reshape(-1)[1::7] = info.max
    ref, names = _run(model, [x], "ref")
    p = "s8" if dtype == np.int8 else "u8"
    assert names == [f"{p}_tconv2d"]
    (theirs,) = litert_run(model, [x])
    np.testing.assert_array_equal(ref, theirs)
    for isa in isa_switch.supported()[1:]:
        ours, names = _run(model, [x], isa)
        assert names == [f"{p}_tconv2d_gemm"], (isa, names)
        np.testing.assert_array_equal(ours, ref, err_msg=isa)
