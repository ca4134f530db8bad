"""float16 elementwise ops (kernels/ref/f16_elementwise.c) vs LiteRT's builtin kernels: every half value for
the unary ops, random and special pairs (signed zeros, infinities, NaNs with payloads, subnormals, overflow)
for the binary ops and comparisons, broadcasting, CAST to and from float16, NEG of int64, and refusals.

Bit-exact with LiteRT 2.3 on x86 for every op. SIN, COS, TANH, ATAN2, GELU and SOFTMAX call the C library's
float functions (sinf, erfcf, expf...): equal here because both use glibc's; another libm may move a result by
one half ulp where its float result lies within a float ulp of a rounding boundary of half."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import edgerun_run, litert_run

from edgerun.errors import DtypeError, ShapeError, UnsupportedOpError

H = np.float16
EVERY_HALF = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(H)
SPECIALS = np.array([0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0xfe00, 0x7c01, 0xfc01, 0x7bff, 0xfbff, 0x0001, 0x8001,
                     0x03ff, 0x0400, 0x3c00, 0xbc00, 0x3800, 0x4600, 0x3555], np.uint16).view(H)
COMPARE = ("LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL")


def model(op, ins, out_dtype, out_shape, options=None):
    b = ModelBuilder("f16 test")
    ids = [b.tensor(f"in{i}", np.shape(a), np.asarray(a).dtype) for i, a in enumerate(ins)]
    y = b.tensor("y", out_shape, out_dtype)
    b.op(op, ids, [y], options)
    b.inputs(ids)
    b.outputs([y])
    return b.finish()


def both(data, ins):
    return litert_run(data, ins)[0], edgerun_run(data, ins)[0]


def assert_same_bits(want, got, what):
    w, g = np.asarray(want), np.asarray(got)
    assert w.dtype == g.dtype and w.shape == g.shape, (what, w.dtype, g.dtype, w.shape, g.shape)
    wb, gb = w.view(np.uint8).reshape(w.size, -1), g.view(np.uint8).reshape(g.size, -1)
    bad = np.flatnonzero((wb != gb).any(axis=1))
    assert bad.size == 0, f"{what}: {bad.size} of {w.size} differ, first at {bad[:5]}: LiteRT {w.ravel()[bad[:5]]}, " \
                          f"edgerun {g.ravel()[bad[:5]]}"


@pytest.mark.parametrize("op,options", [("NEG", None), ("FLOOR", None), ("ROUND", None), ("SIN", None), ("COS", None),
                                        ("TANH", None), ("LOGISTIC", None), ("GELU", {"approximate": False}),
                                        ("GELU", {"approximate": True})])
def test_unary_on_every_half_value(op, options):
    """All 65,536 bit patterns: ROUND's -0.5..0 -> +0, LOGISTIC's rounding after exp and 1 + e, GELU's after
    each product, NaN signs and payloads (NEG keeps them, the rest write sign | 0x7e00)."""
    x = EVERY_HALF.reshape(16, 4096)
    assert_same_bits(*both(model(op, [x], H, x.shape, options), [x]), op)


def _pairs(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1 << 16, n).astype(np.uint16).view(H)
    b = rng.integers(0, 1 << 16, n).astype(np.uint16).view(H)
    return np.concatenate([a, np.repeat(SPECIALS, SPECIALS.size)]), np.concatenate([b, np.tile(SPECIALS, SPECIALS.size)])


@pytest.mark.parametrize("op,act", [(op, act) for op in ("ADD", "MUL") for act in (0, 1, 2, 3)] +
                         [(op, None) for op in ("MAXIMUM", "MINIMUM", "ATAN2") + COMPARE])
def test_binary_random_and_special_pairs(op, act):
    """ADD/MUL round, then clamp to the activation's range in half (overflow -> +-65504, -0 kept); two NaNs give
    the second's sign, inf - inf and 0 * inf a negative NaN; MAXIMUM/MINIMUM pass half bits through."""
    a, b = _pairs()
    out = np.bool_ if op in COMPARE else H
    data = model(op, [a, b], out, a.shape, None if act is None else {"fusedActivationFunction": act})
    assert_same_bits(*both(data, [a, b]), f"{op} act {act}")


@pytest.mark.parametrize("op", ["ADD", "MUL", "MAXIMUM", "MINIMUM", "GREATER", "NOT_EQUAL"])
@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((3, 1, 2, 1), (1, 5, 1, 4))])
def test_binary_broadcasting(op, sa, sb):
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal(sa) * 4).astype(H), (rng.standard_normal(sb) * 4).astype(H)
    out = np.bool_ if op in COMPARE else H
    data = model(op, [a, b], out, np.broadcast_shapes(sa, sb))
    assert_same_bits(*both(data, [a, b]), f"{op} {sa} {sb}")


@pytest.mark.parametrize("depth,beta,scale", [(1, 1.0, 1.0), (7, 1.0, 3.0), (40, 0.37, 10.0), (300, 1.0, 2.0),
                                              (64, 2.5, 1.0)])
def test_softmax(depth, beta, scale):
    """exp((x - max) * beta) in float32 is stored rounded to half and summed unrounded; y = half(e) / sum."""
    rng = np.random.default_rng(depth)
    x = (rng.standard_normal((40, depth)) * scale).astype(H)
    x[0, 0] = 60000  # one dominant value: the rest underflow to 0
    x[1] = -65504  # a row of equal values
    assert_same_bits(*both(model("SOFTMAX", [x], H, x.shape, {"beta": beta}), [x]), f"SOFTMAX {depth} {beta}")


CAST_TYPES = [np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
              np.bool_, np.complex64, np.float16]


@pytest.mark.parametrize("t", CAST_TYPES, ids=lambda t: np.dtype(t).name)
def test_cast_from_float16(t):
    """Integers truncate and saturate, NaN -> the type's maximum; float16 -> float16 quiets NaN payloads."""
    x = EVERY_HALF.reshape(64, 1024)
    assert_same_bits(*both(model("CAST", [x], t, x.shape), [x]), f"float16 -> {np.dtype(t).name}")


def _cast_source(t, rng):
    if t in (np.float32, np.float64):
        v = rng.standard_normal(4000) * np.exp2(rng.integers(-30, 20, 4000))
        v = np.concatenate([v, [np.inf, -np.inf, np.nan, 65519.99, 65520, 1e10, -0.0, 1 + 2 ** -11 + 2 ** -40]])
        return v.astype(t)
    if t is np.complex64:
        return (rng.standard_normal(100) * 100 + 1j).astype(t)
    if t is np.bool_:
        return rng.integers(0, 2, 100).astype(bool)
    ii = np.iinfo(t)
    edges = np.array([min(max(v, ii.min), ii.max) for v in (ii.min, ii.max, 0, 2049, 2051, 65519, 65520)], t)
    return np.concatenate([rng.integers(ii.min, ii.max, 2000, dtype=t, endpoint=True),
                           rng.integers(max(ii.min, -70000), min(ii.max, 70000), 2000, dtype=t, endpoint=True),
                           edges])


@pytest.mark.parametrize("t", CAST_TYPES[:-1], ids=lambda t: np.dtype(t).name)
def test_cast_to_float16(t):
    """Through float32, float64 too (rounded twice, as LiteRT); complex64 keeps the real part."""
    x = _cast_source(t, np.random.default_rng(3))
    assert_same_bits(*both(model("CAST", [x], H, x.shape), [x]), f"{np.dtype(t).name} -> float16")


def test_neg_int64():
    x = np.array([0, 1, -1, 2 ** 62, -(2 ** 63), 2 ** 63 - 1, 12345678901234], np.int64)
    assert_same_bits(*both(model("NEG", [x], np.int64, x.shape), [x]), "NEG int64")


def test_refusals_name_the_op_and_tensor():
    import edgerun

    def prepare(data):
        edgerun.Interpreter(model_content=data).allocate_tensors()

    h, f = np.ones((2, 3), H), np.ones((2, 3), np.float32)
    with pytest.raises(DtypeError, match=r"ADD.*input 1 'in1' is FLOAT32"):
        prepare(model("ADD", [h, f], H, (2, 3)))
    with pytest.raises(DtypeError, match=r"SIN.*output 'y' is FLOAT32"):
        prepare(model("SIN", [h], np.float32, (2, 3)))
    with pytest.raises(ShapeError, match=r"ATAN2.*does not broadcast"):
        prepare(model("ATAN2", [h, np.ones((1, 3), H)], H, (2, 3)))
    with pytest.raises(UnsupportedOpError, match=r"fused activation 4"):
        prepare(model("ADD", [h, h], H, (2, 3), {"fusedActivationFunction": 4}))
    with pytest.raises(UnsupportedOpError, match=r"CAST from FLOAT16 to UINT64"):
        prepare(model("CAST", [h], np.uint64, (2, 3)))
    with pytest.raises(UnsupportedOpError, match=r"ABS"):  # LiteRT refuses float16 ABS too
        prepare(model("ABS", [h], H, (2, 3)))
