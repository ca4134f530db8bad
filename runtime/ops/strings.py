"""String ops: SKIP_GRAM (the n-grams, with skips, of the words of a sentence), and the builtin ops LiteRT also
runs on STRING tensors: the element movers RESHAPE, SQUEEZE, EXPAND_DIMS, GATHER (1-D params), GATHER_ND, SLICE,
STRIDED_SLICE, TILE, FILL, and EQUAL / NOT_EQUAL. Python kernels: string data lives outside the arena
(runtime/strings.py).

A mover runs as its own handler and C kernel do on numbers: the handler prepares the op with int32 element
numbers in place of the strings (output shape, parameters, every check), the kernel moves those numbers, and
the output strings are the input strings at the numbers it wrote. The move is computed once at prepare when
the op's other inputs are constant, else at each run.
"""
from __future__ import annotations

import dataclasses
import operator
import types

import numpy as np
from edgerun.runtime.ops import BUILTINS, STRING_OPS, Kernel, OpContext, PyKernel, broadcast_shape, register

from edgerun.errors import InvokeError

STRING, INT32, BOOL = 5, 2, 6
_SPACE = frozenset(b" \t\n\v\f\r")  # C isspace in the "C" locale


def _words(s: bytes) -> list:
    """TFLite's split: a word ends at a space; a space at index 0 is never a separator, so the word after
    a leading space is dropped with it (LiteRT's loop starts at index 1)."""
    words, prev = [], 0
    for i in range(1, len(s)):
        if s[i] in _SPACE:
            if i > prev and s[prev] not in _SPACE:
                words.append(s[prev:i])
            prev = i + 1
    if len(s) > prev:
        words.append(s[prev:])
    return words


def skip_grams(sentence: bytes, n: int, max_skip: int, include_all: bool) -> list:
    """The n-grams of `sentence` in LiteRT's order: a stack of word positions, each next word at most
    max_skip words after the previous one."""
    words = _words(sentence)
    out = []
    if len(words) < n:
        return out
    stack = [0] * n
    depth = 1
    while depth >= 0:
        if depth < n and stack[depth] + 1 < len(words) and (depth == 0 or stack[depth] - stack[depth - 1]
                                                            <= max_skip):
            stack[depth] += 1
            depth += 1
            if depth < n:
                stack[depth] = stack[depth - 1]
        else:
            if depth > 0 and (depth <= n if include_all else depth == n):
                out.append(b" ".join(words[stack[i]] for i in range(depth)))
            depth -= 1
    return out


@register("SKIP_GRAM")
def skip_gram(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    if x.type != STRING:
        raise ctx.dtype_error(f"input '{x.name}' is {x.type_name}, expected STRING")
    if x.size < 1:
        raise ctx.shape_error(f"input '{x.name}' holds no string (shape {x.shape})")
    n, skip = int(ctx.opt("ngramSize", 0)), int(ctx.opt("maxSkipSize", 0))
    include_all = bool(ctx.opt("includeAllNgrams", False))
    if n < 1 or skip < 0:
        raise ctx.unsupported(f"ngram_size {n} (must be >= 1) and max_skip_size {skip} (>= 0)")

    def grams(value):
        out = np.empty(0, dtype=object)
        g = skip_grams(bytes(value.ravel()[0]), n, skip, include_all)
        if g:
            out = np.empty(len(g), dtype=object)
            out[:] = g
        return out

    if x.is_const:  # the n-grams of a constant sentence are known now
        y = grams(x.data)
        ctx.set_output(0, y.shape, STRING)
        ctx.outputs[0].data = y
        return PyKernel(lambda ins, outs: None, name="skip_gram")
    # the count of n-grams follows the data: the output is replaced at each run (a dynamic tensor in LiteRT)
    declared = ctx.declared_shape(0)
    ctx.set_output(0, declared if declared is not None and len(declared) == 1 else (0,), STRING)
    return PyKernel(lambda ins, outs: [grams(ins[0])], name="skip_gram")


def register_string(*names):
    """Handle builtin ops whose inputs or outputs are STRING (prepare picks STRING_OPS[name] for them)."""

    def deco(fn):
        for n in names:
            STRING_OPS[n] = fn
        return fn

    return deco


MOVERS = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS", "GATHER", "GATHER_ND", "SLICE", "STRIDED_SLICE", "TILE", "FILL")


def _move(ctx, result, ins, out):
    """Run the numbers' kernel on `ins` (TensorInfos with data): the element numbers it writes."""
    from edgerun.runtime.prepare import _fold

    o = dataclasses.replace(out, data=None)
    _fold(types.SimpleNamespace(index=ctx.index, label=ctx.label), result, ins, [o])
    return o.data


@register_string(*MOVERS)
def string_mover(ctx):
    strs = [j for j, t in enumerate(ctx.inputs) if t is not None and t.type == STRING]
    out = ctx.outputs[0] if len(ctx.outputs) == 1 else None
    # what LiteRT's kernels take: the strings are the op's data input (FILL: its value), the output is STRING
    data_in = 1 if ctx.name == "FILL" else 0
    if out is None or out.type != STRING or strs != [data_in]:
        raise ctx.unsupported(f"STRING tensors in the wrong places (inputs {strs}); LiteRT moves strings from input "
                              f"{data_in} to a STRING output")
    s = ctx.inputs[data_in]
    if ctx.name == "GATHER" and len(s.shape) != 1:
        raise ctx.unsupported(f"params '{s.name}' is a {len(s.shape)}-D STRING tensor; LiteRT gathers strings from "
                              f"1-D params only")
    numbers = np.arange(s.size, dtype=np.int32).reshape(s.shape)
    sub_in = list(ctx.inputs)
    sub_in[data_in] = dataclasses.replace(s, type=INT32, data=numbers)
    sub_out = dataclasses.replace(out, type=INT32, shape=None, data=None)
    sub = OpContext(ctx.index, ctx.name, ctx.version, ctx.options, ctx.custom_options, sub_in, [sub_out], ctx.ffi,
                    runtime=ctx.runtime, isa="ref", max_memory_bytes=ctx.max_memory_bytes)
    result = BUILTINS[ctx.name](sub)
    ctx.set_output(0, sub_out.shape, STRING)
    others = [t for j, t in enumerate(sub_in) if j != data_in and t is not None]
    if sub_out.data is not None:
        moved = sub_out.data
    elif not isinstance(result, Kernel) or result.name is None:
        raise ctx.unsupported("this form of the op has no element mover for strings")
    elif all(t.data is not None for t in others):
        moved = _move(ctx, result, sub_in, sub_out)
    else:
        moved = None  # follows the other inputs' values: moved at each run
    if moved is not None and s.is_const:
        ctx.outputs[0].data = s.data.reshape(-1)[moved.reshape(-1)].reshape(moved.shape)
        return PyKernel(lambda ins, outs: None, name="string_" + ctx.name.lower())
    label = ctx.label

    def run(ins, outs):
        if ins[data_in].size != s.size:  # strings from an op whose output count follows the data (SKIP_GRAM)
            raise InvokeError(f"{label}: {ins[data_in].size} strings at run time, {s.size} when prepared; the "
                              f"output's shape was fixed at allocate_tensors()")
        m = moved
        if m is None:
            now = [dataclasses.replace(t, data=a) if t is not None and j != data_in else t
                   for j, (t, a) in enumerate(zip(sub_in, ins))]
            try:
                m = _move(ctx, result, now, sub_out)
            except InvokeError as exc:
                raise InvokeError(f"{label}: {str(exc).split(': ', 2)[-1]}") from None
        outs[0].reshape(-1)[:] = ins[data_in].reshape(-1)[m.reshape(-1)]

    return PyKernel(run, name="string_" + ctx.name.lower())


@register_string("EQUAL", "NOT_EQUAL")
def string_compare(ctx):
    ctx.check_inputs(2, 2)
    a, b = ctx.inputs
    if a.type != STRING or b.type != STRING:
        raise ctx.dtype_error(f"inputs are {a.type_name} and {b.type_name}; strings compare with strings only")
    ctx.set_output(0, broadcast_shape(ctx, a.shape, b.shape), BOOL)
    equal = ctx.name == "EQUAL"
    eq = np.frompyfunc(operator.eq, 2, 1)

    def run(ins, outs):
        r = eq(ins[0], ins[1]).astype(bool)
        outs[0][...] = r if equal else ~r

    return PyKernel(run, name="string_" + ctx.name.lower())
