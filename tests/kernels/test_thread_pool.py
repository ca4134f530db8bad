"""The thread pool (kernels/pool.c) and the kernels that split their work over it (kernels/opt: float and 8-bit
CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED): with num_threads 2, 3 and 5 every output equals the one-thread
output bit for bit, float included (ranges start on the single-thread tiling), and the one-thread output equals
LiteRT's (integers exactly, float within 1e-3 of the output scale).

EDGERUN_PARALLEL_MIN_COST=0 makes every op of two items or more split (the default leaves small ops alone), so
the odd shapes of the variant tests exercise range boundaries: 1-row ranges, the last partial tile, panels of
a few-row GEMM, images split across ranges. The C-level protocol itself runs under ThreadSanitizer in
test_pool_under_thread_sanitizer (tests/kernels/pool_driver.c).
"""
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from oracle import litert_run

import edgerun
import test_conv_variants as fv
import test_qconv_variants as qv

ROOT = Path(__file__).resolve().parents[2]
I8, U8 = np.int8, np.uint8
THREADS = (2, 3, 5)


@pytest.fixture(autouse=True)
def _split_everything(monkeypatch):
    monkeypatch.setenv("EDGERUN_PARALLEL_MIN_COST", "0")


def _run(model, inputs, threads):
    it = edgerun.Interpreter(model_content=model, num_threads=threads)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    kernels = [st.kernel for st in it._main.graph.steps]
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()], kernels


def _check(model, inputs, parallel_kernels, exact=True):
    """`parallel_kernels`: names of which one must be in the plan (the kernel whose split is tested)"""
    one, kernels = _run(model, inputs, 1)
    assert set(parallel_kernels) & set(kernels), kernels
    theirs = litert_run(model, inputs)
    for o, t in zip(one, theirs):
        if exact:
            np.testing.assert_array_equal(o, t)
        else:
            assert float(np.max(np.abs(o - t))) <= 1e-3 * max(float(np.max(np.abs(t))), 1e-6)
    for n in THREADS:
        many, _ = _run(model, inputs, n)
        for o, m in zip(one, many):
            np.testing.assert_array_equal(m, o, err_msg=f"{n} threads")


@pytest.mark.parametrize("case", fv.CONV[:13] + fv.CONV[14:], ids=lambda c: "x".join(map(str, c)))
def test_float_conv2d(case):
    model = fv._conv_model(case)
    x = np.random.default_rng(1).uniform(-1, 1, case[:4]).astype(np.float32)
    _check(model, [x], ["f32_conv2d_fast"], exact=False)


@pytest.mark.parametrize("case", [c for c in fv.DEPTHWISE if c[4] == 1], ids=lambda c: "x".join(map(str, c)))
def test_float_depthwise(case):
    model = fv._dw_model(case)
    x = np.random.default_rng(2).uniform(-1, 1, case[:4]).astype(np.float32)
    _check(model, [x], ["f32_dwconv2d_fast"], exact=False)


# fewer than 32 rows: split by chunks of 64 channels as well (the last chunk partial, with the scalar channels past
# the last whole vector), 3x3 rows with the weights in registers beside border pixels, strides, a 5x5 window
FLOAT_DW_CHUNKS = [
    (1, 7, 7, 150, 1, 3, 3, 1, 1, 1, 1, 0, 1),
    (2, 5, 6, 131, 1, 3, 3, 2, 2, 1, 1, 0, 3),
    (1, 7, 7, 70, 1, 5, 5, 1, 1, 1, 1, 1, 0),
]


@pytest.mark.parametrize("case", FLOAT_DW_CHUNKS, ids=lambda c: "x".join(map(str, c)))
def test_float_depthwise_split_by_channel_chunks(case):
    model = fv._dw_model(case)
    x = np.random.default_rng(4).uniform(-1, 1, case[:4]).astype(np.float32)
    _check(model, [x], ["f32_dwconv2d_fast"], exact=False)


@pytest.mark.parametrize("m,k,n", [(1, 100, 40), (3, 33, 17), (13, 3, 40), (97, 20, 9)])
def test_float_fully_connected(m, k, n):
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(m + k + n)
    b = ModelBuilder()
    x = b.tensor("x", (m, k), np.float32)
    wt = b.const("w", rng.uniform(-1, 1, (n, k)).astype(np.float32))
    bias = b.const("b", rng.uniform(-1, 1, n).astype(np.float32))
    y = b.tensor("y", (m, n), np.float32)
    b.op("FULLY_CONNECTED", [x, wt, bias], [y], {"fusedActivationFunction": 1})
    b.inputs([x])
    b.outputs([y])
    _check(b.finish(), [rng.uniform(-1, 1, (m, k)).astype(np.float32)], ["f32_fc_fast"], exact=False)


def _q_conv(case, dtype):
    ic, oc, s, (kh, kw), st, dil, same = case
    oh, ow = qv._out(s, kh, st, dil, same), qv._out(s + 1, kw, st, dil, same)
    model = qv._model("CONV_2D", dtype, (2, s, s + 1, ic), (oc, kh, kw, ic), (2, oh, ow, oc),
                      {"padding": 0 if same else 1, "strideH": st, "strideW": st, "dilationHFactor": dil,
                       "dilationWFactor": dil, "fusedActivationFunction": (ic + oc) % 4},
                      per_channel=dtype == I8, zp=qv._zp(dtype, None), w_zp=140 if dtype == U8 else 0)
    return model, (2, s, s + 1, ic)


@pytest.mark.parametrize("dtype", [I8, U8], ids=["int8", "uint8"])
@pytest.mark.parametrize("case", [qv.CONV[i] for i in (1, 2, 4, 6, 9)], ids=str)
def test_8bit_conv2d(case, dtype):
    model, shape = _q_conv(case, dtype)
    names = {I8: ("s8_conv2d_madd", "s8_conv2d_dot"), U8: ("u8_conv2d_gemm",)}[dtype]
    _check(model, [qv._inputs(shape, dtype, 0)], names)


@pytest.mark.parametrize("dtype", [I8, U8], ids=["int8", "uint8"])
@pytest.mark.parametrize("case", [qv.DEPTHWISE[i] for i in (1, 2, 3, 6)], ids=str)
def test_8bit_depthwise(case, dtype):
    c, mult, s, (kh, kw), st, dil, same = case
    oh, ow = qv._out(s, kh, st, dil, same), qv._out(s + 2, kw, st, dil, same)
    model = qv._model("DEPTHWISE_CONV_2D", dtype, (2, s, s + 2, c), (1, kh, kw, c), (2, oh, ow, c),
                      {"padding": 0 if same else 1, "strideH": st, "strideW": st, "dilationHFactor": dil,
                       "dilationWFactor": dil, "depthMultiplier": 1, "fusedActivationFunction": c % 4},
                      per_channel=dtype == I8, zp=qv._zp(dtype, "hi"), w_zp=133 if dtype == U8 else 0)
    _check(model, [qv._inputs((2, s, s + 2, c), dtype, 1)], ["s8_dwconv2d_madd" if dtype == I8 else "u8_dwconv2d_vec"])


@pytest.mark.parametrize("dtype", [I8, U8], ids=["int8", "uint8"])
def test_8bit_grouped_conv2d(dtype):
    model = qv._model("CONV_2D", dtype, (2, 9, 10, 12), (20, 3, 3, 3), (2, 9, 10, 20),
                      {"padding": 0, "strideH": 1, "strideW": 1, "fusedActivationFunction": 1},
                      per_channel=dtype == I8, zp=qv._zp(dtype, None), w_zp=140 if dtype == U8 else 0)
    _check(model, [qv._inputs((2, 9, 10, 12), dtype, 0)], [f"{'s8' if dtype == I8 else 'u8'}_conv2d_group_gemm"])


def test_int8_depthwise_multiplier():
    model = qv._model("DEPTHWISE_CONV_2D", I8, (2, 17, 19, 5), (1, 3, 3, 15), (2, 17, 19, 15),
                      {"padding": 0, "strideH": 1, "strideW": 1, "depthMultiplier": 3, "fusedActivationFunction": 0},
                      per_channel=True, zp=qv._zp(I8, None))
    _check(model, [qv._inputs((2, 17, 19, 5), I8, 0)], ["s8_dwconv2d_mult_madd", "s8_dwconv2d_mult_vec"])


@pytest.mark.parametrize("dtype", [np.float32, np.int8], ids=["float32", "int8"])
def test_resize_bilinear(dtype):
    import test_resize_variants as rv

    model = rv._model(dtype, (9, 7), (31, 29), 19, False, True)  # enough work to split (ER_PARALLEL_MIN_COST)
    rng = np.random.default_rng(3)
    shape = (2, 9, 7, 19)
    x = rng.uniform(-3, 3, shape).astype(np.float32) if dtype == np.float32 else \
        rng.integers(-128, 128, shape).astype(np.int8)
    name = "f32_resize_bilinear_opt" if dtype == np.float32 else "s8_resize_bilinear_opt"
    _check(model, [x], [name], exact=dtype == np.int8)


def test_whole_network_in_a_while_loop():
    """Control flow: the WHILE body's kernels run on the pool too (the pool stays set for subplans)."""
    from networks import NETWORKS
    from oracle import random_inputs, tf_convert

    model = tf_convert(NETWORKS["recurrent"]())
    it = edgerun.Interpreter(model_content=model)
    assert "WHILE" in [st.op for st in (it.allocate_tensors() or it._main.graph.steps)]
    inputs = random_inputs(it.get_input_details(), seed=3)
    one, _ = _run(model, inputs, 1)
    for n in (2, 4):
        many, _ = _run(model, inputs, n)
        for o, m in zip(one, many):
            np.testing.assert_array_equal(m, o)


def test_num_threads_values():
    from edgerun.runtime.materialize import threads_for

    model = fv._conv_model(fv.CONV[3])
    for bad in (-2, 1.5, "2", True):
        with pytest.raises(ValueError, match="num_threads"):
            edgerun.Interpreter(model_content=model, num_threads=bad)
    assert threads_for(None) == threads_for(0) == threads_for(1) == 1
    assert threads_for(-1) == len(os.sched_getaffinity(0))
    it = edgerun.Interpreter(model_content=model, num_threads=1)
    it.allocate_tensors()
    assert it._main.graph.exe.pool == edgerun.kernels.ffi.NULL  # one thread: no pool, no thread started


def test_separate_interpreters_with_pools_in_separate_threads():
    """Four interpreters, each with its own two-thread pool, invoked from four Python threads at once."""
    import threading

    case = fv.CONV[15]
    model = fv._conv_model(case)
    x = np.random.default_rng(5).uniform(-1, 1, case[:4]).astype(np.float32)
    (want,), _ = _run(model, [x], 1)
    results, errors = {}, []

    def work(k):
        try:
            it = edgerun.Interpreter(model_content=model, num_threads=2)
            it.allocate_tensors()
            it.set_tensor(it.get_input_details()[0]["index"], x)
            for _ in range(20):
                it.invoke()
            results[k] = it.get_tensor(it.get_output_details()[0]["index"]).copy()
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for k in range(4):
        np.testing.assert_array_equal(results[k], want)


@pytest.mark.skipif(shutil.which("gcc") is None or "asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="needs gcc, and a process without AddressSanitizer preloaded (ThreadSanitizer)")
def test_pool_under_thread_sanitizer(tmp_path):
    """kernels/pool.c's protocol under ThreadSanitizer: thousands of jobs of 0..300 items over pools of 2..6
    threads, each item run exactly once, nested calls complete, pools created and destroyed while idle."""
    exe = tmp_path / "pool_driver"
    build = subprocess.run(["gcc", "-std=c11", "-O1", "-g", "-fsanitize=thread", "-pthread",
                            f"-I{ROOT / 'kernels/include'}", str(ROOT / "kernels/pool.c"),
                            str(ROOT / "tests/kernels/pool_driver.c"), "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    done = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TSAN_OPTIONS="halt_on_error=1"))
    assert done.returncode == 0 and "ThreadSanitizer" not in done.stderr, done.stdout + done.stderr[-4000:]
    assert "jobs ok" in done.stdout, done.stdout


@pytest.mark.parametrize("case", [c for c in fv.BMM if np.prod(np.broadcast_shapes(c[0][:-2], c[1][:-2])) > 1],
                         ids=lambda c: f"{c[0]}x{c[1]}")
def test_float_batch_matmul_batches(case):
    """BATCH_MATMUL splits its batches (each thread packs its own right-hand side)."""
    from edgerun.schema.builder import ModelBuilder

    sa, sb, ax, ay, const = case
    rng = np.random.default_rng(7)
    m, n = (sa[-1] if ax else sa[-2]), (sb[-2] if ay else sb[-1])
    b = ModelBuilder()
    x = b.tensor("a", sa, np.float32)
    y = b.const("b", rng.uniform(-1, 1, sb).astype(np.float32)) if const else b.tensor("b", sb, np.float32)
    out = b.tensor("y", tuple(np.broadcast_shapes(sa[:-2], sb[:-2])) + (m, n), np.float32)
    b.op("BATCH_MATMUL", [x, y], [out], {"adjX": ax, "adjY": ay})
    b.inputs([x] if const else [x, y])
    b.outputs([out])
    inputs = [rng.uniform(-1, 1, sa).astype(np.float32)] + ([] if const else [rng.uniform(-1, 1, sb).astype(np.float32)])
    _check(b.finish(), inputs, ["f32_bmm_fast"], exact=False)


# int8 CONV_2D / FULLY_CONNECTED on the dot layout with a fused requantization (avx512vnni's gemm_q) split by
# channel chunks of 64 as well as by pixel blocks: a 7x7 image is only two blocks. Output channels past one chunk
# and not a multiple of 8 (the last chunk partial, UPWARD8's TFLite-rounded channels inside it), 1x1 (direct rows)
# and 3x3 (gathered rows, each block gathered once per thread however many of its chunks the thread runs).
DOT_CONV = [  # (input shape, out channels, kernel, stride, SAME)
    ((1, 7, 7, 40), 150, (1, 1), 1, False),
    ((2, 5, 6, 3), 77, (3, 3), 1, True),
    ((1, 9, 8, 24), 136, (3, 3), 2, True),
]


@pytest.mark.parametrize("case", DOT_CONV, ids=lambda c: "x{}-o{}-k{}x{}-st{}".format("x".join(map(str, c[0])), c[1],
                                                                                     *c[2], c[3]))
def test_int8_conv2d_split_by_channels(case):
    shape, oc, (kh, kw), st, same = case
    oh, ow = qv._out(shape[1], kh, st, 1, same), qv._out(shape[2], kw, st, 1, same)
    model = qv._model("CONV_2D", I8, shape, (oc, kh, kw, shape[3]), (shape[0], oh, ow, oc),
                      {"padding": 0 if same else 1, "strideH": st, "strideW": st, "fusedActivationFunction": oc % 4},
                      per_channel=True, zp=qv._zp(I8, None), seed=oc)
    _check(model, [qv._inputs(shape, I8, oc)], ["s8_conv2d_dot", "s8_conv2d_madd"])


@pytest.mark.parametrize("m,k,n", [(1, 200, 150), (3, 33, 77), (70, 33, 77), (1, 1280, 1000)])
def test_int8_fully_connected_split_by_channels(m, k, n):
    """one row (a CNN's classifier) splits by chunks of output channels; K not a multiple of 4: padded rows"""
    model = qv._model("FULLY_CONNECTED", I8, (m, k), (n, k), (m, n), {"fusedActivationFunction": n % 4},
                      per_channel=False, zp=qv._zp(I8, None), scales=(0.05, 0.011, 0.3), seed=n)
    _check(model, [qv._inputs((m, k), I8, n)], ["s8_fc_dot", "s8_fc_madd"])


@pytest.mark.parametrize("rounding", ["tflite", "upward", "upward8"])
def test_int8_dot_channel_chunks_every_rounding(rounding, monkeypatch):
    """each chunk's own "upward" end (UPWARD8: the last OC % 8 channels TFLite's, which round negative ties away
    from zero, "upward" up), against the reference kernel: a multiplier of 1/64 and small inputs put many sums
    on a tie"""
    from edgerun.runtime import isa as isa_switch
    from edgerun.runtime.ops import conv_int

    if "avx512vnni" not in isa_switch.supported():
        pytest.skip("the channel split is avx512vnni's gemm_q")
    for op in ("CONV_2D", "FULLY_CONNECTED"):  # keyed by the plan's type code (conv_int.I8), not numpy's int8
        monkeypatch.setitem(conv_int.ROUNDING, (op, conv_int.I8), qv.RND[rounding])
    common = {"per_channel": False, "zp": (0, -5), "scales": (0.0625, 0.03125, 0.125), "bias_range": 300}
    cases = [(qv._model("CONV_2D", I8, (1, 7, 7, 40), (150, 1, 1, 40), (1, 7, 7, 150),
                        {"padding": 1, "strideH": 1, "strideW": 1, "fusedActivationFunction": 0}, seed=3, **common),
              (1, 7, 7, 40)),
             (qv._model("FULLY_CONNECTED", I8, (40, 96), (133, 96), (40, 133), {"fusedActivationFunction": 0},
                        seed=4, **common), (40, 96))]
    for model, shape in cases:
        x = np.random.default_rng(5).integers(-3, 4, shape).astype(np.int8)
        with isa_switch.selected("ref"):
            (ref,), _ = _run(model, [x], 1)
        with isa_switch.selected("avx512vnni"):
            for n in (1,) + THREADS:
                (out,), kernels = _run(model, [x], n)
                assert kernels[0] in ("s8_conv2d_dot", "s8_fc_dot"), kernels
                np.testing.assert_array_equal(out, ref, err_msg=f"{n} threads")


@pytest.mark.parametrize("shape", [(1, 7, 7, 300), (2, 4, 5, 145), (1, 3, 3, 960)], ids=str)
def test_int8_depthwise_split_by_channel_chunks(shape):
    """avx512vnni's depthwise rows split by chunks of 128 channels too (a 7x7 image is only 7 rows)"""
    c = shape[3]
    model = qv._model("DEPTHWISE_CONV_2D", I8, shape, (1, 3, 3, c), shape,
                      {"padding": 0, "strideH": 1, "strideW": 1, "depthMultiplier": 1, "fusedActivationFunction": 3},
                      per_channel=True, zp=qv._zp(I8, "hi"), seed=c)
    _check(model, [qv._inputs(shape, I8, c)], ["s8_dwconv2d_madd"])


def _add_model(dtype, shape, act):
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    q = {np.float32: [None, None, None], I8: [(0.05, 3), (0.031, -7), (0.07, -2)]}[dtype]
    kw = [{} if qq is None else {"quant": qq} for qq in q]
    x = b.tensor("x", shape, dtype, **kw[0])
    y = b.tensor("y", shape, dtype, **kw[1])
    z = b.tensor("z", shape, dtype, **kw[2])
    b.op("ADD", [x, y], [z], {"fusedActivationFunction": act})
    b.inputs([x, y])
    b.outputs([z])
    return b.finish()


@pytest.mark.parametrize("dtype", [np.float32, I8], ids=["float32", "int8"])
@pytest.mark.parametrize("shape", [(1, 37, 41, 5), (2, 33, 35, 17), (1, 3, 5, 7)], ids=str)
def test_add_split_by_element_ranges(shape, dtype):
    """ADD of two same-shape tensors splits its elements (ranges of 256: the last one partial)"""
    rng = np.random.default_rng(sum(shape))
    if dtype == np.float32:
        xs = [rng.uniform(-3, 3, shape).astype(np.float32) for _ in range(2)]
    else:
        xs = [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(2)]
    _check(_add_model(dtype, shape, 1 if dtype == I8 else 0), xs,
           ["q_binary_opt" if dtype == I8 else "f32_binary_opt"], exact=dtype == I8)
