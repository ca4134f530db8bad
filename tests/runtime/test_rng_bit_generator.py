"""STABLEHLO_RNG_BIT_GENERATOR (runtime/ops/random.py, kernels/ref/random.c) against LiteRT's builtin kernel,
hand-built (TensorFlow's converter does not emit it): every algorithm (DEFAULT and PHILOX: Philox-4x32-10,
THREEFRY: Threefry-2x32-20), state size and output type LiteRT runs, bit for bit, with counters that wrap; the
Random123 known answers of both generators; states and options LiteRT cannot run refused at prepare."""
import numpy as np
import pytest
from edgerun.errors import EdgerunError
from edgerun.schema.builder import ModelBuilder
from oracle import edgerun_run, litert_interpreter, litert_run

DEFAULT, PHILOX, THREEFRY = 0, 1, 2
M64 = 2 ** 64 - 1


def rng_model(algorithm, state_size, bits_dtype, bits_shape, state_dtype=np.uint64, new_state_size=None):
    b = ModelBuilder()
    s = b.tensor("state", (state_size,), state_dtype)
    ns = b.tensor("new_state", (new_state_size or state_size,), state_dtype)
    y = b.tensor("bits", bits_shape, bits_dtype)
    b.op("STABLEHLO_RNG_BIT_GENERATOR", [s], [ns, y], {"algorithm": algorithm})
    b.inputs([s])
    b.outputs([ns, y])
    return b.finish()


def u64(lo, hi):
    return lo | hi << 32


# states: small values; counters whose low word (then all 64 bits) wrap within the draw; the top bit set
STATES = [[1, 2, 3], [u64(7, 9), u64(0xFFFFFFFE, 5), u64(1, 2)], [M64, M64 - 1, M64], [0x1234567890ABCDEF, 2 ** 63, 0]]


@pytest.mark.parametrize("algorithm,state_size", [(DEFAULT, 2), (PHILOX, 2), (PHILOX, 3), (THREEFRY, 2)])
def test_every_type_as_litert(algorithm, state_size):
    """15 values: a partial last block for both block widths (4 and 2 words) and both value widths."""
    for dtype in (np.int32, np.uint32, np.int64, np.uint64):
        m = rng_model(algorithm, state_size, dtype, (3, 5))
        for st in STATES:
            x = np.array(st[:state_size], np.uint64)
            ours, theirs = edgerun_run(m, [x]), litert_run(m, [x])
            for a, b in zip(ours, theirs):
                assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), (dtype, st, a, b)


@pytest.mark.parametrize("shape", [(), (0,), (1,), (2, 0, 3)])
def test_scalar_and_empty_outputs(shape):
    """A scalar draws one block; an empty output draws none (the new state is the initial one)."""
    for algorithm in (PHILOX, THREEFRY):
        m = rng_model(algorithm, 2, np.uint64, shape)
        x = np.array(STATES[2][:2], np.uint64)
        for a, b in zip(edgerun_run(m, [x]), litert_run(m, [x])):
            assert a.shape == b.shape and np.array_equal(a, b)
        if 0 in shape:
            assert edgerun_run(m, [x])[0].tolist() == x.tolist()


def test_new_state_continues_the_stream():
    """Feeding the new state back draws the blocks that follow: two draws of 6 equal one of 12 (Philox, 32-bit
    values: 8 blocks; Threefry: 3 + 3 blocks of 2 words)."""
    for algorithm, size in ((PHILOX, 3), (THREEFRY, 2)):
        x = np.array(STATES[1][:size], np.uint64)
        s1, first = edgerun_run(rng_model(algorithm, size, np.uint32, (8,)), [x])
        _, second = edgerun_run(rng_model(algorithm, size, np.uint32, (8,)), [s1])
        _, whole = edgerun_run(rng_model(algorithm, size, np.uint32, (16,)), [x])
        assert np.concatenate([first, second]).tolist() == whole.tolist()


# Random123's known-answer vectors (kat_vectors): (key words, counter words) -> the block
KATS = [
    (THREEFRY, (0, 0), (0, 0), [0x6B200159, 0x99BA4EFE]),
    (THREEFRY, (0xFFFFFFFF,) * 2, (0xFFFFFFFF,) * 2, [0x1CB996FC, 0xBB002BE7]),
    (THREEFRY, (0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), [0xC4923A9C, 0x483DF7A0]),
    (PHILOX, (0, 0), (0, 0, 0, 0), [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    (PHILOX, (0xFFFFFFFF,) * 2, (0xFFFFFFFF,) * 4, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    (PHILOX, (0xA4093822, 0x299F31D0), (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]


@pytest.mark.parametrize("algorithm,key,counter,block", KATS)
def test_random123_known_answers(algorithm, key, counter, block):
    """The state's words are the key then the counter: one block of 32-bit values is the generator's output for
    them (edgerun and LiteRT)."""
    words = list(key) + list(counter)
    x = np.array([u64(words[i], words[i + 1]) for i in range(0, len(words), 2)], np.uint64)
    m = rng_model(algorithm, len(x), np.uint32, (len(block),))
    assert edgerun_run(m, [x])[1].tolist() == block
    assert litert_run(m, [x])[1].tolist() == block


def _litert_fails(model, x):
    it = litert_interpreter(model)
    try:
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
    except (RuntimeError, ValueError):
        return True
    return False


@pytest.mark.parametrize("algorithm,state_size,kw,message", [
    (THREEFRY, 3, {}, r"initial state 'state' is UINT64 \[3\]; THREEFRY takes a UINT64 state of shape \[2\]"),
    (PHILOX, 4, {}, r"PHILOX takes a UINT64 state of shape \[2\] or \[3\]"),
    (DEFAULT, 1, {}, r"DEFAULT takes a UINT64 state of shape \[2\] or \[3\]"),
    (PHILOX, 2, {"state_dtype": np.int64}, r"initial state 'state' is INT64 \[2\]"),
    (PHILOX, 2, {"new_state_size": 3}, r"new state 'new_state' is declared \[3\]"),
    (PHILOX, 2, {"bits_dtype": np.float32}, r"output 'bits' is FLOAT32; LiteRT's kernel and edgerun write INT32"),
    (3, 2, {}, r"algorithm 3 is not one of the RngAlgorithm values"),
])
def test_refused_at_prepare_where_litert_fails(algorithm, state_size, kw, message):
    """What LiteRT's kernel refuses (at prepare, or when it runs: state sizes, unknown algorithms) edgerun refuses
    when it prepares, naming the op, tensor and rule."""
    bits_dtype = kw.pop("bits_dtype", np.uint32)
    m = rng_model(algorithm, state_size, bits_dtype, (4,), **kw)
    x = np.arange(state_size, dtype=kw.get("state_dtype", np.uint64))
    with pytest.raises(EdgerunError, match="STABLEHLO_RNG_BIT_GENERATOR.*" + message):
        edgerun_run(m, [x])
    assert _litert_fails(m, x)
