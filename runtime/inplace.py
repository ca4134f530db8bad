"""In-place execution: which op outputs may take the bytes of an input, decided on a prepared Subplan after
the op handlers ran and before placement (runtime/prepare.py calls `analyze`, then `rewrite`, then
lifetimes.arena_buffers with the aliases).

Three kinds, each a pure decision over the subplan's tensors and op records:
  copy       any_copy (RESHAPE, SQUEEZE, EXPAND_DIMS, graph glue): the output is the input's bytes; the kernel
             skips the copy when the pointers are equal. Both stay readable, so the input need not die here.
  overwrite  elementwise kernels that read element i of the input before writing element i of the output
             (ADD, SUB, MUL, ..., the activations, requantization): the output takes the bytes of a
             non-broadcast input of the same size that dies at this op.
  kernel     int8 depthwise (multiplier 1) and 1x1 convolutions switch to kernels that run over their input
             (kernels/ref/q_conv_inplace.c) with a small scratch; only when asked (`conv=True`: plans for
             microcontrollers, where RAM matters more than the reference kernels' speed).
Guarantees kept: graph inputs (and a nested subplan's inputs) are alive for the whole run and graph outputs
until its end (lifetimes.tensor_lifetimes), so nothing overwrites them; a copy never makes a graph output
share bytes with a graph input (setting the input after invoke() would change the output already read), nor
a subplan output share a subplan input's bytes (WHILE copies outputs back onto inputs).
`check_subplan` verifies a placed subplan against these rules from its offsets alone (tests).
"""
from __future__ import annotations

import dataclasses

from edgerun.runtime import lifetimes
from edgerun.runtime import plan as P

COPY = {"any_copy"}
# kernel -> input positions it may overwrite (each element read before the same element is written; checked
# in kernels/ref/binary.c, unary.c, q_elementwise.c, q_activation.c, quantize.c)
OVERWRITE = {
    "f32_binary": (0, 1), "i32_binary": (0, 1), "i64_binary": (0, 1), "i16_binary": (0, 1),
    "q_binary": (0, 1), "any_compare": (0, 1), "b8_logical": (0, 1),
    # the _opt forms (kernels/opt/op_kernels.c): their NEON/AVX2 rows load a block before storing it
    "f32_binary_opt": (0, 1), "q_binary_opt": (0, 1),
    "f32_unary": (0,), "i32_unary": (0,), "q_unary": (0,), "any_cast": (0,), "any_requantize": (0,),
}
DWCONV = {"s8_dwconv2d", "s8_dwconv2d_vec", "s8_dwconv2d_madd"}  # -> s8_dwconv2d_inplace
CONV = {"s8_conv2d", "s8_conv2d_gemm", "s8_conv2d_madd"}       # 1x1 -> s8_conv2d_1x1_inplace
INPLACE_KERNELS = {"s8_dwconv2d_inplace", "s8_conv2d_1x1_inplace"}


@dataclasses.dataclass
class Inplace:
    """The decision for one subplan: `aliases` maps an output tensor id to the input tensor id whose bytes
    it takes (offset 0; the shared buffer holds the larger of the two); `kernels` maps an op position to
    (kernel, scratch_bytes) of the in-place kernel it switches to."""

    aliases: dict = dataclasses.field(default_factory=dict)
    kernels: dict = dataclasses.field(default_factory=dict)


def ring_rows(h: int, w: int, oh_: int, ow_: int, stride: int, pad_top: int) -> int:
    """Input rows s8_dwconv2d_inplace keeps in its ring (the same loop as ring_rows in q_conv_inplace.c)."""
    r = 0
    for oh in range(oh_):
        hi = min(-(-(oh + 1) * ow_ // w) - 1, h - 1)
        lo = max(oh * stride - pad_top, 0)
        r = max(r, hi - lo + 1)
    return r


def _field(op, name, default=None):
    return op.params.fields.get(name, default) if isinstance(op.params, P.Params) else default


def _conv_kernel(sp: P.Subplan, op: P.PlanOp):
    """(kernel, scratch bytes) of the in-place variant of a conv op, or None."""
    x, w, y = (sp.tensors[i] for i in op.inputs[:2] + op.outputs[:1])
    if x.type != 9 or y.type != 9 or w.type != 9 or len(x.shape) != 4 or len(y.shape) != 4:
        return None
    if op.kernel in DWCONV:
        _, h, wd, c = x.shape
        if (_field(op, "depth_multiplier") != 1 or tuple(w.shape[::3]) != (1, c) or y.shape[3] != c
                or y.shape[1] > h or y.shape[2] > wd or y.shape[0] != x.shape[0] or h * wd * c == 0):
            return None
        ring = ring_rows(h, wd, y.shape[1], y.shape[2], _field(op, "stride_h"), _field(op, "pad_top"))
        return "s8_dwconv2d_inplace", 14 * c + ring * wd * c
    if op.kernel in CONV:
        ic, oc = x.shape[3], w.shape[0]
        if (tuple(w.shape) != (oc, 1, 1, ic) or tuple(y.shape[:3]) != tuple(x.shape[:3]) or y.shape[3] != oc
                or _field(op, "groups") != 1 or (_field(op, "stride_h"), _field(op, "stride_w")) != (1, 1)
                or (_field(op, "pad_top"), _field(op, "pad_left")) != (0, 0)):
            return None
        return "s8_conv2d_1x1_inplace", 8 * oc + 2 * ic
    return None


def analyze(sp: P.Subplan, conv: bool = False) -> Inplace:
    """Which outputs of `sp` alias which inputs, and which ops switch to in-place kernels (pure)."""
    first, last = lifetimes.tensor_lifetimes(sp)
    n = len(sp.ops)
    res = Inplace()
    members = {t: [t] for t in first}      # alias group root -> tensor ids
    root = {t: t for t in first}
    sub_in, sub_out = set(sp.inputs), set(sp.outputs)

    def join(o, i):
        res.aliases[o] = i
        r = root[i]
        for t in members.pop(o):
            root[t] = r
            members[r].append(t)

    for p, op in enumerate(sp.ops):
        if op.python is not None or len(op.outputs) != 1:
            continue
        o = op.outputs[0]
        if o not in first or first[o] != p or len(members[o]) != 1 or o in op.inputs:
            continue
        ins = [i for i in op.inputs if i >= 0 and i in first]
        out_t = sp.tensors[o]
        if op.kernel in COPY:
            i = op.inputs[0] if op.inputs else -1
            if i not in first:
                continue
            group = members[root[i]]
            if sp.tensors[i].nbytes != out_t.nbytes:
                continue
            if (o in sub_out or any(t in sub_out for t in group)) and any(t in sub_in for t in group):
                continue
            join(o, i)
            continue

        def dies_here(i):
            r = root[i]
            return (max(last[t] for t in members[r]) == p < n
                    and sum(1 for j in op.inputs if j >= 0 and j in root and root[j] == r) == 1)

        if op.kernel in OVERWRITE:
            for pos in OVERWRITE[op.kernel]:
                if pos >= len(op.inputs) or op.inputs[pos] not in first:
                    continue
                i = op.inputs[pos]
                t = sp.tensors[i]
                if t.nbytes == out_t.nbytes and t.count == out_t.count and dies_here(i):
                    join(o, i)
                    break
            continue
        if conv and (op.kernel in DWCONV or op.kernel in CONV) and ins and op.inputs[0] in first:
            i = op.inputs[0]
            choice = _conv_kernel(sp, op)
            if choice is not None and dies_here(i):
                res.kernels[p] = choice
                join(o, i)
    return res


def rewrite(sp: P.Subplan, choice: Inplace) -> P.Subplan:
    """`sp` with the ops of `choice.kernels` switched to their in-place kernels (a new op list; the packed
    weights of the optimized kernels they replace are no longer referenced)."""
    if not choice.kernels:
        return sp
    ops = list(sp.ops)
    for p, (kernel, scratch) in choice.kernels.items():
        op = ops[p]
        fields = dict(op.params.fields)
        for k, v in (("w_packed", None), ("k_padded", 0), ("oc_padded", 0)):
            if k in fields:
                fields[k] = v
        ops[p] = dataclasses.replace(op, kernel=kernel, params=P.Params(op.params.ctype, fields),
                                     scratch_bytes=scratch)
    return dataclasses.replace(sp, ops=ops)


def check_subplan(sp: P.Subplan) -> None:
    """Raise AssertionError if two arena tensors (or a tensor and a scratch) share bytes while both hold
    values that are still needed, reading only the placed offsets. Sharing is allowed between tensors joined
    by a copy op at the same offset (the same bytes, both readable), and from one op's input to its output
    when the input is dead after the op and the op's kernel reads each element before writing it (OVERWRITE,
    INPLACE_KERNELS)."""
    first, last = lifetimes.tensor_lifetimes(sp)
    ids = sorted(first)
    # copy classes: tensors joined by copy ops at the same offset hold the same bytes
    cls = {t: t for t in ids}

    def find(t):
        while cls[t] != t:
            t = cls[t]
        return t

    for op in sp.ops:
        if op.kernel in COPY and op.inputs and op.inputs[0] in cls and op.outputs and op.outputs[0] in cls:
            i, o = op.inputs[0], op.outputs[0]
            if sp.tensors[i].offset == sp.tensors[o].offset:
                cls[find(o)] = find(i)
    span = {}
    for t in ids:
        c = find(t)
        a, b = span.get(c, (first[t], last[t]))
        span[c] = (min(a, first[t]), max(b, last[t]))
    classes = sorted(span)
    sub_in, sub_out = set(sp.inputs), set(sp.outputs)
    for c in classes:
        group = [t for t in ids if find(t) == c]
        if any(a != b for a in group if a in sub_in for b in group if b in sub_out):
            raise AssertionError(f"tensors {group} share bytes between a graph input and a graph output")
    overwrites = set()
    for p, op in enumerate(sp.ops):
        pos = OVERWRITE.get(op.kernel, (0,) if op.kernel in INPLACE_KERNELS else ())
        for j in pos:
            if j < len(op.inputs) and op.inputs[j] in cls and op.outputs and op.outputs[0] in cls:
                overwrites.add((find(op.inputs[j]), find(op.outputs[0]), p))

    def extent(t):
        return sp.tensors[t].offset, sp.tensors[t].offset + sp.tensors[t].nbytes

    for x in range(len(ids)):
        for y in range(x + 1, len(ids)):
            a, b = ids[x], ids[y]
            ca, cb = find(a), find(b)
            (a0, a1), (b0, b1) = extent(a), extent(b)
            if ca == cb or not (a0 < b1 and b0 < a1) or not sp.tensors[a].nbytes or not sp.tensors[b].nbytes:
                continue
            (fa, la), (fb, lb) = span[ca], span[cb]
            if la < fb or lb < fa:
                continue
            if la == fb and (ca, cb, la) in overwrites or lb == fa and (cb, ca, lb) in overwrites:
                continue
            raise AssertionError(f"tensors {a} and {b} share bytes [{max(a0, b0)}, {min(a1, b1)}) while both "
                                 f"are alive (ops {fa}..{la} and {fb}..{lb})")
    for p, op in enumerate(sp.ops):
        if not op.scratch_bytes:
            continue
        s0, s1 = op.scratch_offset, op.scratch_offset + op.scratch_bytes
        for t in ids:
            (t0, t1), (f, la) = extent(t), span[find(t)]
            if f <= p <= la and t0 < s1 and s0 < t1:
                raise AssertionError(f"scratch of op {p} overlaps tensor {t} alive at that op")
