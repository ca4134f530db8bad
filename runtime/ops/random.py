"""RANDOM_UNIFORM, RANDOM_STANDARD_NORMAL, MULTINOMIAL (float32, LiteRT's only types; MULTINOMIAL writes int32
or int64), STABLEHLO_RNG_BIT_GENERATOR (int32, uint32, int64, uint64 bits) and FAKE_QUANT (float32; int32 as
LiteRT's kernel reads it: the bits of float32 values).
Kernels: kernels/ref/random.c.

The random ops draw from a Philox-4x32-10 stream keyed by the options' seed, its counter starting at
seed2 << 64, bit for bit as LiteRT's kernels (each invoke continues the stream; reset_all_variables() and a new
prepare start it again). Where the op is in its stream is a plan variable, so plan files and generated C
continue it too.
The variable counts the blocks drawn and starts at zero, like every variable without an initial value.
seed = seed2 = 0 asks for a non-deterministic stream: LiteRT then draws both seeds from /dev/urandom at each
prepare; edgerun draws them from the OS (secrets) when it prepares the plan, so a desktop interpreter gets a
fresh stream per prepare while a plan file or generated C keeps the seed drawn when it was written.

STABLEHLO_RNG_BIT_GENERATOR keeps no state of its own: the state is its input and its first output (the
caller carries it from one invoke to the next), the bits depend on nothing else.
"""
from __future__ import annotations

import secrets

import numpy as np

from edgerun.runtime import plan as P
from edgerun.runtime.ops import Kernel, register

F32, I32, I64, U64, U32 = 0, 2, 4, 12, 15
_M32 = 0xFFFFFFFF


def _philox(ctx):
    """er_random_params of the op: its key, the stream's first counter (seed2 << 64) and the variable counting
    the blocks drawn."""
    # LiteRT keeps the options' int64 seeds as C ints (their low 32 bits, sign-extended back to 64)
    seed, seed2 = (((int(ctx.opt(k, 0)) & _M32) ^ 0x80000000) - 0x80000000 for k in ("seed", "seed2"))
    if seed == 0 and seed2 == 0:
        seed, seed2 = secrets.randbits(64), secrets.randbits(64)
        preparer = getattr(ctx.runtime, "preparer", None)
        if preparer is not None:  # the interpreter's plan cache must not keep this stream's seed
            preparer.fresh_per_prepare = f"{ctx.name} #{ctx.index} draws its seed at each prepare"
    seed, seed2 = seed & (2 ** 64 - 1), seed2 & (2 ** 64 - 1)
    var = ctx.runtime.variable(("random", ctx.runtime.index, ctx.index), f"philox#{ctx.index}", I32, (4,))
    return P.Params("er_random_params", {"key": [seed & _M32, seed >> 32],
                                         "start": [0, 0, seed2 & _M32, seed2 >> 32], "state": P.VariableRef(var)})


def _random(ctx, kernel):
    ctx.check_inputs(1, 1)
    shape = ctx.inputs[0]
    if shape.type != I32 or len(shape.shape) != 1:
        raise ctx.unsupported(f"shape '{shape.name}' is {shape.type_name} {shape.shape}; LiteRT takes a 1-D INT32 "
                              f"shape")
    dims = ctx.require_const(0, "(the output shape)").reshape(-1)
    if ctx.outputs[0].type != F32:
        raise ctx.unsupported(f"output '{ctx.outputs[0].name}' is {ctx.outputs[0].type_name}; LiteRT's kernel and "
                              f"edgerun write FLOAT32 only")
    if np.any(dims < 0):
        raise ctx.shape_error(f"shape {dims.tolist()} has a negative dimension")
    ctx.set_output(0, tuple(int(d) for d in dims), F32)
    return Kernel(kernel, _philox(ctx))


@register("RANDOM_UNIFORM")
def random_uniform(ctx):
    return _random(ctx, "f32_random_uniform")


@register("RANDOM_STANDARD_NORMAL")
def random_standard_normal(ctx):
    return _random(ctx, "f32_random_normal")


@register("MULTINOMIAL")
def multinomial(ctx):
    ctx.check_inputs(2, 2)
    logits, ns = ctx.inputs
    out = ctx.outputs[0]
    if logits.type != F32:
        raise ctx.unsupported(f"logits '{logits.name}' are {logits.type_name}; LiteRT's kernel and edgerun take "
                              f"FLOAT32 only")
    if out.type not in (I32, I64):
        raise ctx.unsupported(f"output '{out.name}' is {out.type_name}; LiteRT's kernel and edgerun write INT32 or "
                              f"INT64")
    if len(logits.shape) != 2 or logits.shape[1] < 1:
        raise ctx.shape_error(f"logits '{logits.name}' must be [batch, classes] with classes >= 1, is {logits.shape}")
    if ns.type != I32 or len(ns.shape) != 0:
        raise ctx.shape_error(f"num_samples '{ns.name}' must be an INT32 scalar, is {ns.type_name} {ns.shape}")
    samples = int(ctx.require_const(1, "(num_samples)").reshape(-1)[0])
    if samples < 0:
        raise ctx.shape_error(f"num_samples is {samples}")
    ctx.set_output(0, (logits.shape[0], samples), out.type)
    return Kernel("f32_multinomial", _philox(ctx), scratch_bytes=ctx.reserve(8 * logits.shape[1], "scratch"))


# RngAlgorithm (schema.fbs) -> its name; DEFAULT runs Philox in LiteRT's kernel
_ALGORITHMS = {0: "DEFAULT", 1: "PHILOX", 2: "THREEFRY"}


@register("STABLEHLO_RNG_BIT_GENERATOR")
def rng_bit_generator(ctx):
    """state (UINT64 [2]; Philox and DEFAULT also [3]) -> new state, random bits of the output's declared shape.
    LiteRT checks the state's size only when it runs; edgerun refuses a wrong one at prepare."""
    ctx.check_inputs(1, 1)
    if len(ctx.outputs) != 2:
        raise ctx.unsupported(f"expected 2 outputs (new state, bits), got {len(ctx.outputs)}")
    state, (new_state, bits) = ctx.inputs[0], ctx.outputs
    alg = int(ctx.opt("algorithm", 0))
    if alg not in _ALGORITHMS:
        raise ctx.unsupported(f"algorithm {alg} is not one of the RngAlgorithm values DEFAULT (0), PHILOX (1), "
                              f"THREEFRY (2)")
    sizes = (2,) if alg == 2 else (2, 3)
    if state.type != U64 or len(state.shape) != 1 or state.shape[0] not in sizes:
        raise ctx.shape_error(f"initial state '{state.name}' is {state.type_name} {list(state.shape)}; "
                              f"{_ALGORITHMS[alg]} takes a UINT64 state of shape "
                              f"{' or '.join(f'[{n}]' for n in sizes)}")
    if bits.type not in (I32, U32, I64, U64):
        raise ctx.unsupported(f"output '{bits.name}' is {bits.type_name}; LiteRT's kernel and edgerun write INT32, "
                              f"UINT32, INT64 or UINT64")
    shape = ctx.declared_shape(1)
    if shape is None:
        raise ctx.shape_error(f"output '{bits.name}' has no shape in the model (the op's output shape is its "
                              f"declared one)")
    declared = ctx.declared_shape(0)
    if declared is not None and tuple(declared) != tuple(state.shape):
        raise ctx.shape_error(f"new state '{new_state.name}' is declared {list(declared)}, the initial state is "
                              f"{list(state.shape)}; LiteRT requires the same shape")
    ctx.set_output(0, state.shape, U64)
    ctx.set_output(1, shape, bits.type)
    return Kernel("any_rng_bit_generator", ctx.new("er_rng_bit_params *", {"algorithm": alg}))


@register("FAKE_QUANT")
def fake_quant(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    if x.type not in (F32, I32):
        raise ctx.unsupported(f"input '{x.name}' is {x.type_name}; edgerun takes FLOAT32 (and INT32, as bits of "
                              f"float32). LiteRT's kernel does not check the type: it reads and writes every "
                              f"element as 4 bytes of float32, past the end of 1- and 2-byte tensors, and leaves "
                              f"half of an INT64 output unwritten")
    if ctx.opt("narrowRange", False):
        raise ctx.unsupported("narrow_range is set; LiteRT's kernel refuses it too (meant for weights only)")
    bits = int(ctx.opt("numBits", 0))
    if not 1 <= bits <= 16:
        raise ctx.unsupported(f"num_bits {bits} (1 to 16)")
    ctx.set_output(0, x.shape, x.type)
    p = ctx.new("er_fake_quant_params *", {"min": ctx.opt("min", 0.0), "max": ctx.opt("max", 0.0),
                                            "num_bits": bits})
    return Kernel("f32_fake_quant", p)
