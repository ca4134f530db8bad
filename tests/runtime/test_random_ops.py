"""RANDOM_UNIFORM, RANDOM_STANDARD_NORMAL, MULTINOMIAL and FAKE_QUANT (runtime/ops/random.py,
kernels/ref/random.c) against LiteRT's builtin kernels. With fixed seeds the random ops equal LiteRT bit for bit
over several invokes (each continues the op's Philox stream) and after a reset; with seed = seed2 = 0 (a
non-deterministic stream in both) only the distribution is checked."""
import numpy as np
import pytest
from edgerun.errors import UnsupportedOpError
from edgerun.schema.builder import ModelBuilder
from oracle import assert_matches_litert, litert_interpreter


def random_model(op, shape, seed, seed2, dtype=np.float32):
    b = ModelBuilder()
    s = b.const("shape", np.array(shape, np.int32))
    y = b.tensor("y", shape, dtype)
    b.op(op, [s], [y], {"seed": seed, "seed2": seed2})
    b.outputs([y])
    return b.finish()


def multinomial_model(logits_shape, samples, seed, seed2, out_dtype=np.int64):
    b = ModelBuilder()
    x = b.tensor("logits", logits_shape, np.float32)
    n = b.const("num_samples", np.array(samples, np.int32))
    y = b.tensor("y", (logits_shape[0], samples), out_dtype)
    b.op("MULTINOMIAL", [x, n], [y], {"seed": seed, "seed2": seed2})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def runs(it, inputs, n, reset=False):
    """n invokes of a prepared interpreter (after reset_all_variables when `reset`): the outputs of each."""
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    if reset:
        it.reset_all_variables()
    out = []
    for _ in range(n):
        it.invoke()
        out.append([np.array(it.get_tensor(d["index"])) for d in it.get_output_details()])
    return out


def assert_same_stream(model, inputs=(), n=3):
    import edgerun

    theirs = runs(litert_interpreter(model), inputs, n)
    ours_it = edgerun.Interpreter(model_content=model)
    ours = runs(ours_it, inputs, n)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for i, (x, y) in enumerate(zip(a, b)):
            assert x.dtype == y.dtype and x.shape == y.shape, f"invoke {k} output {i}"
            assert np.array_equal(x, y), (f"invoke {k} output {i}: {np.sum(x != y)} of {x.size} elements differ "
                                          f"from LiteRT")
    # reset_all_variables starts the stream again, as a fresh LiteRT interpreter
    again = runs(ours_it, inputs, 1, reset=True)
    assert all(np.array_equal(x, y) for x, y in zip(again[0], theirs[0]))
    return ours


# LiteRT keeps the low 32 bits of each seed, sign-extended: 2^40 + 5 acts as 5, 2^31 + 3 as -2^31 + 3
SEEDS = {"small": (1, 2), "negative-64bit": (-7, 2 ** 40 + 5), "seed2-only": (0, 9), "bit31": (2 ** 31 + 3, -1)}
SHAPES = {"2x5": (2, 5), "odd-7": (7,), "one": (1,), "scalar": (), "empty": (0, 3), "3x4x6": (3, 4, 6)}


@pytest.mark.parametrize("op", ["RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL"])
@pytest.mark.parametrize("seeds", list(SEEDS))
def test_random_streams_equal_litert(op, seeds):
    for shape in SHAPES.values():
        assert_same_stream(random_model(op, shape, *SEEDS[seeds]))


def test_multinomial_equals_litert():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (4, 9)).astype(np.float32)
    logits[1, ::2] = -np.inf  # classes that can never be drawn
    logits[2] = -np.inf  # no finite logit: LiteRT writes `classes`
    logits[3, 4] = np.nan
    for samples, dtype, seeds in ((7, np.int64, (3, 4)), (1, np.int32, (-1, 5)), (40, np.int32, (11, 12))):
        ours = assert_same_stream(multinomial_model(logits.shape, samples, *seeds, out_dtype=dtype), [logits])
        assert ours[0][0].shape == (4, samples)
    # no samples: an empty [4, 0] output (LiteRT's Python binding cannot read an empty tensor back)
    import edgerun

    it = edgerun.Interpreter(model_content=multinomial_model(logits.shape, 0, 5, 0))
    assert runs(it, [logits], 1)[0][0].shape == (4, 0)
    # one row of heavy odds: every class drawn about as often as its probability
    p = np.array([[0.5, 0.3, 0.15, 0.05]], np.float32)
    draws = assert_same_stream(multinomial_model(p.shape, 4000, 21, 22), [np.log(p)], n=1)[0][0]
    assert np.allclose(np.bincount(draws[0], minlength=4) / 4000, p[0], atol=0.03)


def _stats(model, n):
    import edgerun

    it = edgerun.Interpreter(model_content=model)
    it.allocate_tensors()
    it.invoke()
    return np.array(it.get_tensor(it.get_output_details()[0]["index"])).reshape(-1)


@pytest.mark.parametrize("op,mean,var", [("RANDOM_UNIFORM", 0.5, 1 / 12), ("RANDOM_STANDARD_NORMAL", 0.0, 1.0)])
def test_random_unseeded_distribution(op, mean, var):
    """seed = seed2 = 0: LiteRT and edgerun draw a seed per prepare; both streams have the distribution's
    mean and variance (20,000 draws: bounds of about 6 standard errors), and two preparations differ."""
    model = random_model(op, (100, 200), 0, 0)
    theirs = runs(litert_interpreter(model), [], 1)[0][0].reshape(-1)
    a, b = _stats(model, 1), _stats(model, 1)
    assert not np.array_equal(a, b)
    for x in (a, b, theirs):
        assert abs(x.mean() - mean) < 6 * np.sqrt(var / x.size)
        assert abs(x.var() - var) < 0.05 * var
    if op == "RANDOM_UNIFORM":
        assert a.min() >= 0 and a.max() < 1


def test_random_refusals():
    import edgerun

    for model, msg in ((random_model("RANDOM_UNIFORM", (2, 2), 1, 2, np.float64), "FLOAT32 only"),
                       (multinomial_model((2, 3), 2, 1, 2, np.int16), "INT32 or INT64")):
        with pytest.raises(UnsupportedOpError, match=msg):
            edgerun.Interpreter(model_content=model).allocate_tensors()
        with pytest.raises(Exception):  # LiteRT refuses these at invoke
            runs(litert_interpreter(model), [np.zeros((2, 3), np.float32)][:1 if "MULTI" in msg else 0], 1)


def fake_quant_model(shape, lo, hi, bits, narrow=False):
    b = ModelBuilder()
    x = b.tensor("x", shape, np.float32)
    y = b.tensor("y", shape, np.float32)
    b.op("FAKE_QUANT", [x], [y], {"min": lo, "max": hi, "numBits": bits, "narrowRange": narrow})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


FAKE_QUANT = {  # min, max, num_bits: symmetric, zero point nudged up/down, 16 bits, 2 bits, min > 0, max < 0
    "8bit": (-1.0, 1.0, 8), "nudged": (-0.1, 0.93, 8), "asymmetric": (-2.7, 0.31, 8), "16bit": (-1.5, 2.5, 16),
    "2bit": (-1.0, 0.5, 2), "4bit-positive": (0.2, 1.2, 4), "negative": (-1.3, -0.2, 7)}


@pytest.mark.parametrize("case", list(FAKE_QUANT))
def test_fake_quant(case):
    lo, hi, bits = FAKE_QUANT[case]
    x = np.random.default_rng(3).uniform(-3, 3, (3, 5, 7)).astype(np.float32)
    x[0, 0, :4] = [np.nan, np.inf, -np.inf, 0.0]
    x[1, 0, :3] = [lo, hi, (lo + hi) / 2]
    assert_matches_litert(fake_quant_model(x.shape, lo, hi, bits), [x], exact=True)


def test_fake_quant_refusals():
    import edgerun

    with pytest.raises(UnsupportedOpError, match="narrow_range"):
        edgerun.Interpreter(model_content=fake_quant_model((2,), -1, 1, 8, narrow=True)).allocate_tensors()
    with pytest.raises(RuntimeError, match="narrow_range"):  # LiteRT refuses it at prepare too
        litert_interpreter(fake_quant_model((2,), -1, 1, 8, narrow=True)).allocate_tensors()
    with pytest.raises(UnsupportedOpError, match="num_bits 0"):
        edgerun.Interpreter(model_content=fake_quant_model((2,), -1, 1, 0)).allocate_tensors()
