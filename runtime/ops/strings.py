"""String ops: SKIP_GRAM (the n-grams, with skips, of the words of a sentence), as LiteRT's builtin kernel
computes them. Python kernels: string data lives outside the arena (runtime/strings.py)."""
from __future__ import annotations

import numpy as np
from edgerun.runtime.ops import PyKernel, register

STRING = 5
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
