"""In-place execution (runtime/inplace.py, kernels/ref/q_conv_inplace.c): outputs of every affected op are
unchanged (bit for bit against LiteRT for int8, and against the plan prepared without in-place), the placed
plan never lets an alias overwrite a live tensor (inplace.check_subplan), graph inputs are preserved and
outputs readable; the arenas of the microcontroller reference models against TFLite Micro's."""
import os
import sys

import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import litert_run, random_inputs, litert_interpreter, tf_convert_function

from edgerun.runtime import inplace
from edgerun.runtime.materialize import Executable
from edgerun.runtime.model import Model
from edgerun.runtime.prepare import Preparer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "platforms"))

I8 = np.int8
SAME, VALID = 0, 1


def _plan(model: bytes, inplace_on=True, conv=True, target="cortex-m4", isa="ref", alignment=16,
          preserve_inputs=True):
    """A plan with TFLite's guarantee that graph inputs survive invoke() (what these tests check the in-place
    rules against); device plans drop it by default (test_device_plan_lets_inputs_die)."""
    return Preparer(Model(model), isa=isa, target=target, alignment=alignment, inplace=inplace_on,
                    inplace_conv=conv, preserve_inputs=preserve_inputs).prepare({})


def _run(plan, inputs):
    """Outputs of `plan` on `inputs`; asserts the graph inputs are unchanged by invoke()."""
    exe = Executable(plan, {})
    for ti, x in zip(plan.main.inputs, inputs):
        exe.views[ti][...] = x
    exe.invoke()
    for ti, x in zip(plan.main.inputs, inputs):
        assert np.array_equal(exe.views[ti], x), f"graph input {ti} changed by invoke()"
    outs = [np.array(exe.views[ti]) for ti in plan.main.outputs]
    exe.invoke()  # outputs stay readable and the run repeats
    for ti, o in zip(plan.main.outputs, outs):
        assert np.array_equal(exe.views[ti], o)
    return outs


def _check_all(model: bytes, inputs=None, exact=True, **kw):
    """Plan with and without in-place: the in-place plan passes check_subplan, both give the same outputs,
    equal to LiteRT's (bit for bit when exact). Returns the in-place plan."""
    if inputs is None:
        inputs = random_inputs(litert_interpreter(model).get_input_details(), seed=1)
    on, off = _plan(model, True, **kw), _plan(model, False, **kw)
    for sp in on.subplans:
        inplace.check_subplan(sp)
    ours, base = _run(on, inputs), _run(off, inputs)
    theirs = litert_run(model, inputs)
    for a, b, c in zip(ours, base, theirs):
        assert np.array_equal(a, b)
        if exact:
            assert np.array_equal(a, c), f"{np.sum(a != c)} of {a.size} differ from LiteRT"
        else:
            np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5)
    return on


def _q(scale, zp=0, axis=None):
    return (scale, zp) if axis is None else (scale, zp, axis)


def _conv_chain(b, shape, c_mid, oc, dw, rng, act=0):
    """x (graph input) -> 1x1 CONV_2D to c_mid -> DEPTHWISE_CONV_2D(dw options) -> 1x1 CONV_2D to oc."""
    n, h, w, c = shape
    x = b.tensor("x", shape, I8, quant=_q(0.05, -3))

    def conv(name, inp, ic, oc_, kh, kw, out_shape, opts, depthwise=False):
        ws = rng.uniform(0.004, 0.02, oc_).astype(np.float32)
        wshape = (1, kh, kw, oc_) if depthwise else (oc_, kh, kw, ic)
        wt = b.const(name + "_w", rng.integers(-127, 128, wshape).astype(I8),
                     quant=_q(ws, 0, 3 if depthwise else 0))
        bias = b.const(name + "_b", rng.integers(-3000, 3000, oc_).astype(np.int32), quant=_q(ws * 0.05, 0, 0))
        y = b.tensor(name, out_shape, I8, quant=_q(0.05 if depthwise else 0.08, int(rng.integers(-20, 20))))
        b.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [inp, wt, bias], [y], opts)
        return y

    t1 = conv("pw1", x, c, c_mid, 1, 1, (n, h, w, c_mid), {"padding": VALID, "strideH": 1, "strideW": 1})
    k, s, pad, dil = dw
    oh = (h - (k - 1) * dil - 1) // s + 1 if pad == VALID else -(-h // s)
    ow = (w - (k - 1) * dil - 1) // s + 1 if pad == VALID else -(-w // s)
    t2 = conv("dw", t1, c_mid, c_mid, k, k, (n, oh, ow, c_mid),
              {"padding": pad, "strideH": s, "strideW": s, "dilationHFactor": dil, "dilationWFactor": dil,
               "depthMultiplier": 1, "fusedActivationFunction": act}, depthwise=True)
    t3 = conv("pw2", t2, c_mid, oc, 1, 1, (n, oh, ow, oc), {"padding": SAME, "strideH": 1, "strideW": 1,
                                                          "fusedActivationFunction": act})
    b.inputs([x])
    b.outputs([t3])
    return b.finish()


DW = [(3, 1, SAME, 1), (3, 2, SAME, 1), (3, 2, VALID, 1), (5, 1, SAME, 1), (3, 1, SAME, 2), (3, 3, VALID, 1),
      (1, 1, VALID, 1), (4, 2, SAME, 1)]


@pytest.mark.parametrize("dw", DW, ids=lambda d: f"k{d[0]}s{d[1]}{'SV'[d[2]]}d{d[3]}")
@pytest.mark.parametrize("shape,c_mid,oc", [((1, 9, 7, 3), 8, 8), ((1, 1, 1, 2), 5, 3), ((2, 6, 11, 4), 12, 20),
                                            ((1, 12, 5, 8), 16, 7)])
def test_int8_conv_kernels_match_litert_and_reference(shape, c_mid, oc, dw):
    k, _, pad, dil = dw
    if pad == VALID and min(shape[1:3]) < (k - 1) * dil + 1:
        pytest.skip("window larger than the input")
    rng = np.random.default_rng(sum(shape) * 1000 + c_mid * 10 + oc + 7 * k)
    model = _conv_chain(ModelBuilder(), shape, c_mid, oc, dw, rng, act=1 if dw[1] == 2 else 0)
    plan = _check_all(model)
    kernels = [op.kernel for op in plan.main.ops]
    assert kernels[1:] == ["s8_dwconv2d_inplace", "s8_conv2d_1x1_inplace"], kernels
    assert kernels[0] in ("s8_conv2d",)  # its input is the graph input: not in place
    t = plan.main.tensors
    x, t1, t2, t3 = plan.main.ops[0].inputs[0], *(op.outputs[0] for op in plan.main.ops)
    assert t[t1].offset == t[t2].offset == t[t3].offset and t[x].offset != t[t1].offset


def test_int8_conv_kernels_with_optimized_desktop_kernels():
    """The in-place kernels also replace the packed-weight desktop kernels (s8_dwconv2d_vec, s8_conv2d_gemm),
    bit for bit."""
    from edgerun.runtime import isa as isa_switch

    if "avx2" not in isa_switch.supported():
        pytest.skip("the madd kernels replaced here are the x86 AVX2 plan's")
    rng = np.random.default_rng(5)
    model = _conv_chain(ModelBuilder(), (1, 10, 9, 8), 16, 24, (3, 1, SAME, 1), rng)
    plan = _check_all(model, target="desktop", isa="avx2", alignment=64)
    assert [op.kernel for op in plan.main.ops][1:] == ["s8_dwconv2d_inplace", "s8_conv2d_1x1_inplace"]
    assert all(op.params.fields["w_packed"] is None for op in plan.main.ops[1:])
    desktop = Preparer(Model(model)).prepare({})  # default on the desktop: not the conv kernels
    assert "s8_dwconv2d_inplace" not in desktop.kernels()


def test_ring_rows():
    assert inplace.ring_rows(10, 5, 10, 5, 1, 1) == 2           # 3x3 SAME stride 1: kernel_h - 1 rows
    assert inplace.ring_rows(48, 48, 24, 24, 2, 0) == 1
    assert inplace.ring_rows(10, 5, 10, 5, 1, 2) == 3           # 5x5 SAME
    assert inplace.ring_rows(7, 7, 5, 5, 1, 0) == 1             # 3x3 VALID


# -- elementwise and copies ------------------------------------------------------------------------------
def _elementwise_model(dt):
    """x -> ADD(x, const broadcast) -> RELU -> RESHAPE -> MUL(., x2) -> LOGISTIC -> EXPAND_DIMS -> y, plus a
    second output read from the middle of the chain (must survive the later in-place ops)."""
    b = ModelBuilder()
    q = (lambda s, z: (s, z)) if dt == I8 else (lambda s, z: None)
    x = b.tensor("x", (2, 3, 8), dt, quant=q(0.05, 2))
    x2 = b.tensor("x2", (6, 8), dt, quant=q(0.04, -5))
    c = b.const("c", (np.arange(8) - 4).astype(dt), quant=q(0.05, 0))
    a = b.tensor("a", (2, 3, 8), dt, quant=q(0.06, -1))
    r = b.tensor("r", (2, 3, 8), dt, quant=q(0.06, -1))
    shp = b.const("shape", np.array([6, 8], np.int32))
    rs = b.tensor("rs", (6, 8), dt, quant=q(0.06, -1))
    m = b.tensor("m", (6, 8), dt, quant=q(0.1, 4))
    lg = b.tensor("lg", (6, 8), dt, quant=q(1 / 256, -128))
    axis = b.const("axis", np.array([0], np.int32))
    y = b.tensor("y", (1, 6, 8), dt, quant=q(1 / 256, -128))
    b.op("ADD", [x, c], [a], {})
    b.op("RELU", [a], [r])
    b.op("RESHAPE", [r, shp], [rs], {"newShape": [6, 8]})
    b.op("MUL", [rs, x2], [m], {})
    b.op("LOGISTIC", [m], [lg])
    b.op("EXPAND_DIMS", [lg, axis], [y])
    b.inputs([x, x2])
    b.outputs([y, rs])
    return b.finish()


@pytest.mark.parametrize("dt", [I8, np.float32], ids=["int8", "float32"])
@pytest.mark.parametrize("target", ["desktop", "cortex-m4"])
def test_elementwise_and_copies_alias(dt, target):
    model = _elementwise_model(dt)
    plan = _check_all(model, exact=dt == I8, target=target)
    t = {x.name: x for x in plan.main.tensors}
    assert t["a"].offset == t["r"].offset == t["rs"].offset       # RELU over ADD's output, RESHAPE aliases
    assert t["lg"].offset == t["y"].offset == t["m"].offset        # LOGISTIC over MUL's, EXPAND_DIMS aliases
    assert t["m"].offset not in (t["rs"].offset, t["x2"].offset)   # rs is a graph output, x2 a graph input
    assert t["a"].offset != t["x"].offset                          # ADD does not write over the graph input
    off = _plan(model, False, target=target)
    assert plan.arena_bytes < off.arena_bytes


def test_graph_inputs_and_outputs_are_not_aliased_together():
    """RESHAPE of a graph input straight to a graph output keeps two buffers; RELU after a RESHAPE of the
    graph input does not write over it."""
    b = ModelBuilder()
    x = b.tensor("x", (4, 6), np.float32)
    shp = b.const("shape", np.array([24], np.int32))
    y = b.tensor("y", (24,), np.float32)
    y2 = b.tensor("y2", (24,), np.float32)
    z = b.tensor("z", (24,), np.float32)
    b.op("RESHAPE", [x, shp], [y], {"newShape": [24]})
    b.op("RESHAPE", [x, shp], [y2], {"newShape": [24]})
    b.op("RELU", [y2], [z])
    b.inputs([x])
    b.outputs([y, z])
    model = b.finish()
    plan = _check_all(model, exact=False)
    t = plan.main.tensors
    assert t[y].offset != t[x].offset and t[z].offset != t[x].offset
    assert t[y2].offset == t[x].offset


def test_check_subplan_catches_a_bad_alias():
    plan = _plan(_elementwise_model(I8), True)
    inplace.check_subplan(plan.main)
    t = {x.name: x for x in plan.main.tensors}
    t["lg"].offset = t["rs"].offset  # LOGISTIC over a graph output
    with pytest.raises(AssertionError):
        inplace.check_subplan(plan.main)


def test_preserve_all_turns_inplace_off():
    model = _elementwise_model(I8)
    pre = Preparer(Model(model), preserve_all=True)
    assert not pre.inplace and not pre.inplace_conv
    plan = pre.prepare({})
    offs = [t.offset for t in plan.main.tensors if t.storage == "arena"]
    assert len(offs) == len(set(offs))


# -- networks ------------------------------------------------------------------------------------------
def test_while_loop_subplans():
    import tensorflow as tf

    def f(x):
        i = tf.constant(0)
        _, y = tf.while_loop(lambda i, y: i < 7, lambda i, y: (i + 1, tf.nn.relu(y * 0.5 + 1.0) - 0.25), [i, x])
        return tf.reshape(y, (2, 2)) * 3.0

    model = tf_convert_function(f, [tf.TensorSpec((4,), tf.float32)], key="inplace-while-v1")
    plan = _check_all(model, exact=False)
    assert len(plan.subplans) == 3
    import edgerun

    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    mem = it.memory_report()
    assert [s["subgraph"] for s in mem["subgraphs"]][0] == 0 and len(mem["subgraphs"]) == 3
    for s in mem["subgraphs"]:
        assert 0 <= s["arena_offset"] and s["arena_offset"] + s["arena_bytes"] <= mem["arena_bytes"]
    m = Model(model)
    body_consts = sum(t.data.nbytes for k in range(1, len(m.subgraphs)) for t in m.subgraphs[k].tensors
                      if t.data is not None)
    assert body_consts > 0 and mem["weight_bytes"] >= body_consts
    assert mem["variable_bytes"] == 0 and mem["variables"] == 0


def _mcu_model(name):
    import mcu_models

    return getattr(mcu_models, name)()


@pytest.mark.parametrize("name", ["kws_cnn_int8", "mobilenet_v1_025_96_int8"])
def test_mcu_models_bit_exact(name):
    model = _mcu_model(name)
    _check_all(model)


def test_mcu_arenas_against_tflite_micro():
    import mcu_models

    rows = {}
    for name in ["kws_cnn_int8", "mobilenet_v1_025_96_int8"]:
        model = _mcu_model(name)
        tflm = mcu_models.tflm_arena_bytes(model)
        off, on = _plan(model, False).arena_bytes, _plan(model, True).arena_bytes
        rows[name] = (tflm, off, on)
        print(f"{name}: TFLM {tflm} B; edgerun cortex-m4 plan {off} B ({off / tflm:.2f}x) without in-place, "
              f"{on} B ({on / tflm:.2f}x) with")
        assert on < off
    tflm, _, on = rows["kws_cnn_int8"]
    assert on <= 0.5 * tflm


def test_device_plan_lets_inputs_die():
    """A microcontroller plan (the default for its target) lets the graph input die at its last use, as TFLite
    Micro does: a smaller arena, the same outputs (the caller writes the input before every invoke)."""
    import mcu_models as mm

    model = mm.mobilenet_v1_025_96_int8()
    keep = _plan(model)
    drop = Preparer(Model(model), isa="ref", target="cortex-m4", alignment=16).prepare({})
    assert drop.main.preserve_inputs is False and keep.main.preserve_inputs is True
    assert drop.arena_bytes < keep.arena_bytes, (drop.arena_bytes, keep.arena_bytes)
    x = np.random.default_rng(0).integers(-128, 128, drop.main.tensors[drop.main.inputs[0]].shape).astype(I8)
    outs = []
    for plan in (keep, drop):
        exe = Executable(plan, {})
        exe.views[plan.main.inputs[0]][...] = x
        exe.invoke()
        outs.append(np.array(exe.views[plan.main.outputs[0]]))
    assert np.array_equal(outs[0], outs[1])
