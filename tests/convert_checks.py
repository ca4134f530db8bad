"""Helpers for the converter tests: convert with edgerun, run the .tflite in LiteRT (the oracle) and in
edgerun, and compare both with the framework's own outputs. (A plain module, so test files import it
whatever conftest pytest loaded first.)"""
import numpy as np


def random_inputs_for(model, seed=0):
    """Uniform(-1, 1) floats (batch 1) for each Keras input; integer inputs get 0..9."""
    rng = np.random.default_rng(seed)
    out = []
    for t in model.inputs:
        shape = tuple(1 if d is None else d for d in t.shape)
        if "int" in str(t.dtype):
            out.append(rng.integers(0, 10, shape).astype(np.int32))
        else:
            out.append(rng.uniform(-1, 1, shape).astype(np.float32))
    return out


def keras_outputs(model, inputs):
    y = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    if isinstance(y, dict):
        y = list(y.values())
    if not isinstance(y, (list, tuple)):
        y = [y]
    return [np.asarray(v) for v in y]


def compare(name, got, ref, rtol):
    assert len(got) == len(ref), f"{name}: {len(got)} outputs, expected {len(ref)}"
    for i, (a, b) in enumerate(zip(got, ref)):
        assert a.shape == b.shape, f"{name} output {i}: shape {a.shape}, expected {b.shape}"
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        err = float(np.max(np.abs(a.astype(np.float64) - b))) if b.size else 0.0
        assert err <= rtol * scale + 1e-30, (
            f"{name} output {i}: max|diff| = {err:.3g} > {rtol:g} x max|ref| = {rtol * scale:.3g}")


def check_model_bytes(model_bytes, inputs, ref, rtol=1e-4):
    """LiteRT and edgerun both reproduce `ref` on `inputs`."""
    from oracle import edgerun_run, litert_run

    compare("LiteRT", litert_run(model_bytes, inputs), ref, rtol)
    compare("edgerun", edgerun_run(model_bytes, inputs), ref, rtol)


def op_types(model_bytes):
    """Builtin op names of subgraph 0, in order."""
    from edgerun.schema import schema_generated as fb

    m = fb.ModelT.InitFromPackedBuf(model_bytes, 0)
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    return [names[m.operatorCodes[o.opcodeIndex].builtinCode] for o in m.subgraphs[0].operators]
