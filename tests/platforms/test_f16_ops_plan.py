"""The float16 elementwise kernels (kernels/ref/f16_elementwise.c) and int64 NEG in a plan file run by the C
library (er_run on this host) give the desktop interpreter's outputs, bit for bit, for the host and the reference
(linux-aarch64) kernel sets; and as generated C built for this host (slow)."""
import numpy as np
import pytest
from test_clib import check, host_lib  # noqa: F401  (the session fixture)

H = np.float16


def f16_chain_model() -> bytes:
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x, w, k = b.tensor("x", (2, 3, 4), H), b.tensor("w", (4,), H), b.tensor("k", (2, 3), np.int64)
    t = {n: b.tensor(n, (2, 3, 4), H) for n in ("add", "mul", "mx", "mn", "lg", "th", "ge", "gt", "sm", "nm",
                                                 "fl", "rd", "sn", "cs", "at")}
    gt, f32, back = b.tensor("greater", (2, 3, 4), np.bool_), b.tensor("f32", (2, 3, 4), np.float32), \
        b.tensor("back", (2, 3), H)
    neg = b.tensor("neg", (2, 3), np.int64)
    b.op("ADD", [x, w], [t["add"]], {"fusedActivationFunction": 3})
    b.op("MUL", [t["add"], x], [t["mul"]], {"fusedActivationFunction": 0})
    b.op("MAXIMUM", [t["mul"], w], [t["mx"]])
    b.op("MINIMUM", [t["mx"], x], [t["mn"]])
    b.op("LOGISTIC", [t["mn"]], [t["lg"]])
    b.op("TANH", [x], [t["th"]])
    b.op("GELU", [x], [t["ge"]], {"approximate": True})
    b.op("GELU", [t["ge"]], [t["gt"]], {"approximate": False})
    b.op("SOFTMAX", [t["gt"]], [t["sm"]], {"beta": 0.5})
    b.op("NEG", [t["sm"]], [t["nm"]])
    b.op("FLOOR", [x], [t["fl"]])
    b.op("ROUND", [x], [t["rd"]])
    b.op("SIN", [x], [t["sn"]])
    b.op("COS", [t["sn"]], [t["cs"]])
    b.op("ATAN2", [t["cs"], x], [t["at"]])
    b.op("GREATER_EQUAL", [x, w], [gt])
    b.op("CAST", [t["at"]], [f32])
    b.op("CAST", [k], [back])
    b.op("NEG", [k], [neg])
    b.inputs([x, w, k])
    b.outputs([t["lg"], t["th"], t["nm"], t["fl"], t["rd"], t["at"], gt, f32, back, neg])
    return b.finish()


def test_f16_ops_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    rng = np.random.default_rng(0)
    steps = [[(rng.standard_normal((2, 3, 4)) * 3).astype(H), (rng.standard_normal(4) * 3).astype(H),
              rng.integers(-70000, 70000, (2, 3)).astype(np.int64)] for _ in range(2)]
    steps[0][0][0, 0, :] = np.array([60000, -0.0, 65504, -0.5], H)  # overflow, -0, a ROUND tie
    model = f16_chain_model()
    check(host_lib, model, "host", tmp_path, steps=steps)
    check(host_lib, model, "linux-aarch64", tmp_path, steps=steps, isa="ref")


@pytest.mark.slow  # builds a C project: ~1-2 min on a loaded 2-core machine
def test_f16_ops_generated_c_matches_desktop(tmp_path):
    """The same chain as generated C (edgerun compile --target host), built and run on this host."""
    from test_codegen import _check

    rng = np.random.default_rng(1)
    steps = [[(rng.standard_normal((2, 3, 4)) * 3).astype(H), (rng.standard_normal(4) * 3).astype(H),
              rng.integers(-70000, 70000, (2, 3)).astype(np.int64)]]
    _check(f16_chain_model(), "host", tmp_path, steps=steps)
