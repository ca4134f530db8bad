"""SVDF (runtime/ops/svdf.py, kernels/ref/svdf.c) against LiteRT's builtin kernel over 6 streamed invokes (the
state variable carries over): float32 and hybrid within 1e-5 of the output scale, full integer (int8
activations, int16 state) bit for bit; with and without bias, rank 1 and 2, an all-zero hybrid input (TFLite
skips the feature product then)."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import litert_interpreter

import edgerun
from edgerun.errors import UnsupportedOpError

B, I, U, M = 2, 5, 3, 4


def svdf_model(kind, rank=2, act=0, bias=True, asymmetric=False, seed=0):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    F = U * rank
    if kind == "int8":
        x = b.tensor("x", (B, I), np.int8, quant=(0.02, 3))
        wf = b.const("weights_feature", rng.integers(-127, 128, (F, I)).astype(np.int8), quant=(0.01, 0))
        wt = b.const("weights_time", rng.integers(-3000, 3000, (F, M)).astype(np.int16), quant=(1e-4, 0))
        bi = b.const("bias", rng.integers(-2000, 2000, U).astype(np.int32), quant=(1e-6, 0)) if bias else -1
        state = b.tensor("state", (B, F * M), np.int16, is_variable=True, quant=(0.004, 0))
        y = b.tensor("y", (B, U), np.int8, quant=(0.01, -128))
    else:
        x = b.tensor("x", (B, I), np.float32)
        wf_f = (rng.standard_normal((F, I)) * 0.5).astype(np.float32)
        wt_f = (rng.standard_normal((F, M)) * 0.5).astype(np.float32)
        if kind == "hybrid":
            s1, s2 = float(np.abs(wf_f).max()) / 127, float(np.abs(wt_f).max()) / 127
            wf = b.const("weights_feature", np.round(wf_f / s1).astype(np.int8), quant=(s1, 0))
            wt = b.const("weights_time", np.round(wt_f / s2).astype(np.int8), quant=(s2, 0))
        else:
            wf, wt = b.const("weights_feature", wf_f), b.const("weights_time", wt_f)
        bi = b.const("bias", rng.standard_normal(U).astype(np.float32)) if bias else -1
        state = b.tensor("state", (B, F * M), np.float32, is_variable=True)
        y = b.tensor("y", (B, U), np.float32)
    b.op("SVDF", [x, wf, wt, bi, state], [y], {"rank": rank, "fusedActivationFunction": act,
                                                 "asymmetricQuantizeInputs": asymmetric})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def _stream(model, kind, steps=6, seed=1):
    rng = np.random.default_rng(seed)
    theirs, ours = litert_interpreter(model), edgerun.Interpreter(model_content=model)
    for it in (theirs, ours):
        it.allocate_tensors()
    seen = set()
    for step in range(steps):
        if kind == "int8":
            x = rng.integers(-128, 128, (B, I)).astype(np.int8)
        else:
            x = rng.standard_normal((B, I)).astype(np.float32) * (step != 2)  # step 2: all zeros
        outs = []
        for it in (theirs, ours):
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
            outs.append(it.get_tensor(it.get_output_details()[0]["index"]))
        if kind == "int8":
            assert np.array_equal(outs[0], outs[1]), f"step {step}: {outs[1]} vs LiteRT {outs[0]}"
            seen.update(outs[0].ravel().tolist())
        else:
            err = float(np.max(np.abs(outs[1] - outs[0])))
            assert err <= 1e-5 * float(np.max(np.abs(outs[0]))), f"step {step}: max |ours - LiteRT| = {err:.3g}"
    assert kind != "int8" or len(seen) > 4  # the integer outputs are not all saturated


CASES = {"float": ("float", {}), "float-relu-no-bias": ("float", {"act": 1, "bias": False}),
         "float-tanh-rank1": ("float", {"act": 4, "rank": 1}), "hybrid": ("hybrid", {}),
         "hybrid-asymmetric-relu6": ("hybrid", {"asymmetric": True, "act": 3}), "int8": ("int8", {"act": 1}),
         "int8-no-bias-rank1": ("int8", {"act": 1, "bias": False, "rank": 1})}


@pytest.mark.parametrize("case", list(CASES))
def test_svdf(case):
    kind, kw = CASES[case]
    _stream(svdf_model(kind, **kw), kind)


def test_svdf_int8_needs_relu():
    with pytest.raises(UnsupportedOpError, match="SVDF: integer SVDF with fused activation 0"):
        edgerun.Interpreter(model_content=svdf_model("int8", act=0)).allocate_tensors()
