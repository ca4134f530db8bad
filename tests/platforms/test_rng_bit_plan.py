"""STABLEHLO_RNG_BIT_GENERATOR (kernel any_rng_bit_generator, kernels/ref/random.c) in a plan file run by the C
library (er_run on this host) gives the desktop interpreter's outputs (themselves LiteRT's: tests/runtime/
test_rng_bit_generator.py): Philox with a [3] state and 64-bit values, its new state drawn on by Threefry with
32-bit values, over 3 states."""
import numpy as np
from test_clib import check, host_lib  # noqa: F401  (the session fixture)


def test_rng_bit_generator_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    s = b.tensor("state", (3,), np.uint64)
    s1, bits64 = b.tensor("state1", (3,), np.uint64), b.tensor("bits64", (3, 3), np.int64)
    b.op("STABLEHLO_RNG_BIT_GENERATOR", [s], [s1, bits64], {"algorithm": 1})
    key = b.tensor("key", (2,), np.uint64)
    b.op("SLICE", [s1, b.const("begin", np.array([1], np.int32)), b.const("size", np.array([2], np.int32))], [key])
    s2, bits32 = b.tensor("state2", (2,), np.uint64), b.tensor("bits32", (7,), np.uint32)
    b.op("STABLEHLO_RNG_BIT_GENERATOR", [key], [s2, bits32], {"algorithm": 2})
    b.inputs([s])
    b.outputs([s1, bits64, s2, bits32])
    steps = [[np.array(v, np.uint64)] for v in ([1, 2, 3], [2 ** 64 - 1, 2 ** 64 - 2, 7], [0, 2 ** 63, 2 ** 32])]
    check(host_lib, b.finish(), "host", tmp_path, steps=steps)
