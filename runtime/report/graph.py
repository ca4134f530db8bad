"""The model's main subgraph as a layered diagram: ops in topological layers (an op sits one layer below the
deepest op whose output it reads), tensors as edges labelled with shape and type, constants (weights, biases,
axes) summarized inside the op that reads them instead of drawn as nodes.

Linear in ops + edges: one pass assigns layers, one pass per layer orders its ops by the mean position of
their producers (the barycenter heuristic, which removes most crossings of chain-like networks), and every
edge is one path. A 400-op graph is a tall page to scroll, not a slow one.
"""
from __future__ import annotations

from edgerun.runtime.ops import TYPE_NAMES

from .svg import attrs, esc, human, num, shape_text, svg_open, text, title

NODE_W, NODE_H = 190, 42       # op box
GAP_X, GAP_Y = 36, 58          # between boxes; GAP_Y leaves room for the edge labels
IO_W, IO_H = 150, 24           # graph input / output pills
PAD = 20
BOW = 56                       # how far right of the boxes an edge that skips layers bows (~3/4 of it)


def tensor_label(t) -> str:
    return f"{shape_text(t.shape)} {TYPE_NAMES.get(t.type, t.type).lower()}"


def _is_const(t) -> bool:
    return t.data is not None and not t.is_variable


def layers(sg) -> tuple:
    """(layer of each op position, producer op position of each tensor). Graph inputs are layer 0, ops
    from 1. Ops are in execution order, so every producer comes before its consumers."""
    producer = {}
    layer = []
    for p, op in enumerate(sg.ops):
        deps = [layer[producer[i]] for i in op.inputs if i >= 0 and i in producer]
        layer.append(1 + max(deps, default=0))
        for o in op.outputs:
            if o >= 0:
                producer[o] = p
    return layer, producer


def draw(sg, kernels: dict) -> str:
    """The <svg> of subgraph `sg` (runtime/model.py's SubgraphDesc); kernels: op index -> kernel name."""
    layer, producer = layers(sg)
    ts = sg.tensors
    depth = max(layer, default=0) + 1  # + outputs' row
    # Nodes per layer: ("in", tensor) | ("op", position) | ("out", tensor), later placed at (x, y)
    rows: list[list] = [[] for _ in range(depth + 1)]
    for ti in sg.inputs:
        rows[0].append(("in", ti))
    for p, lay in enumerate(layer):
        rows[lay].append(("op", p))
    out_layer = {}
    for ti in sg.outputs:
        lay = layer[producer[ti]] + 1 if ti in producer else 1
        out_layer[ti] = lay
        rows[lay].append(("out", ti))
    width = max(len(r) for r in rows) * (NODE_W + GAP_X) - GAP_X + 2 * PAD + BOW
    pos: dict = {}            # node -> (x centre, y top)
    slot: dict = {}           # node -> its slot in its row (barycenter keys)
    y = PAD
    for lay, row in enumerate(rows):
        if not row:
            continue

        def preds(node):
            kind, k = node
            if kind == "op":
                return [("op", producer[i]) if i in producer else ("in", i) for i in sg.ops[k].inputs
                        if i >= 0 and (i in producer or i in sg.inputs)]
            if kind == "out":
                return [("op", producer[k])] if k in producer else []
            return []

        def key(node):
            xs = [slot[q] for q in preds(node) if q in slot]
            return (sum(xs) / len(xs) if xs else width / 2, node[1] if node[0] == "op" else -1)

        row.sort(key=key)
        n = len(row)
        x0 = (width - BOW - (n * (NODE_W + GAP_X) - GAP_X)) / 2 + NODE_W / 2
        for k, node in enumerate(row):
            slot[node] = x0 + k * (NODE_W + GAP_X)
            pos[node] = (slot[node], y)
        y += NODE_H + GAP_Y
    height = y - GAP_Y + PAD

    def bottom(node):
        x, top = pos[node]
        return x, top + (NODE_H if node[0] == "op" else IO_H)

    edges, labels, nodes = [], [], []
    labelled = set()
    for p, op in enumerate(sg.ops):
        for i in op.inputs:
            if i < 0 or _is_const(ts[i]):
                continue
            src = ("op", producer[i]) if i in producer else ("in", i) if i in sg.inputs else None
            if src is None:
                continue
            edges.append(_edge(bottom(src), pos[("op", p)], ts[i], layer[p] - (layer[src[1]] if src[0] == "op"
                                                                                   else 0)))
            if i not in labelled:
                labelled.add(i)
                labels.append(_label(src, bottom(src), i, ts[i], sg))
    for ti in sg.outputs:
        if ti in producer:
            src = ("op", producer[ti])
            edges.append(_edge(bottom(src), pos[("out", ti)], ts[ti], 1))
            if ti not in labelled:
                labelled.add(ti)
                labels.append(_label(src, bottom(src), ti, ts[ti], sg))
    for p, op in enumerate(sg.ops):
        nodes.append(_op_node(p, op, sg, kernels, pos[("op", p)], layer[p]))
    for ti in sg.inputs:
        nodes.append(_io_node("input", ti, ts[ti], pos[("in", ti)]))
    for ti in sg.outputs:
        nodes.append(_io_node("output", ti, ts[ti], pos[("out", ti)]))
    return (svg_open(width, height, class_="graph", data_ops=len(sg.ops), data_layers=max(layer, default=0))
            + '<g class="edges">' + "".join(edges) + "</g>" + "".join(nodes)
            + '<g class="labels">' + "".join(labels) + "</g></svg>")


def _edge(a, b, t, span) -> str:
    """Bottom of the producer to the top of the consumer; an edge that skips layers leaves the producer's
    right side and bows out past the boxes between, into the consumer's right side (else it would run
    straight through a chain of boxes in one column, as MobileNetV2's residual edges do)."""
    (x1, y1), (x2, y2) = a, b
    if span <= 1:
        dy = max(20.0, (y2 - y1) / 2)
        d = f"M{num(x1)},{num(y1)} C{num(x1)},{num(y1 + dy)} {num(x2)},{num(y2 - dy)} {num(x2)},{num(y2)}"
        cls = "edge"
    else:
        x1, y1, x2, y2 = x1 + NODE_W / 2, y1 - NODE_H / 2, x2 + NODE_W / 2, y2 + NODE_H / 2
        bow = max(x1, x2) + BOW
        d = f"M{num(x1)},{num(y1)} C{num(bow)},{num(y1)} {num(bow)},{num(y2)} {num(x2)},{num(y2)}"
        cls = "edge long"
    tip = title(f"{t.name}: {tensor_label(t)}")
    return f"<path{attrs(class_=cls, d=d, data_tensor=t.index)}>{tip}</path>"


def _label(src, at, ti, t, sg) -> str:
    x, y = at
    outs = [o for o in sg.ops[src[1]].outputs if o >= 0] if src[0] == "op" else [ti]
    if len(outs) > 1:  # several outputs: spread their labels across the box
        x += (outs.index(ti) - (len(outs) - 1) / 2) * (NODE_W / len(outs))
    return text(x + 4, y + 15, tensor_label(t), class_="tlabel", data_tensor=ti)


def _op_node(p, op, sg, kernels, at, lay) -> str:
    x, y = at
    ts = sg.tensors
    name = op.custom_code if op.name == "CUSTOM" else op.name
    kernel = kernels.get(op.index, "")
    consts = [ts[i] for i in op.inputs if i >= 0 and _is_const(ts[i])]
    cbytes = sum(int(t.data.nbytes) for t in consts)
    tip = [f"op #{op.index} {name} (layer {lay})", f"kernel: {kernel or '-'}"]
    tip += [f"in  {ts[i].name}: {tensor_label(ts[i])}" for i in op.inputs if i >= 0 and not _is_const(ts[i])]
    tip += [f"out {ts[i].name}: {tensor_label(ts[i])}" for i in op.outputs if i >= 0]
    tip += [f"const {t.name}: {tensor_label(t)}, {human(t.data.nbytes)}" for t in consts]
    sub = kernel[:26] if kernel else ""
    if consts:
        sub = (sub + " · " if sub else "") + f"{len(consts)} const {human(cbytes)}"
    return (f"<g{attrs(class_='op', id=f'op-{op.index}', data_index=op.index, data_op=name, data_layer=lay)}>"
            + title("\n".join(tip))
            + f"<rect{attrs(x=float(x - NODE_W / 2), y=float(y), width=NODE_W, height=NODE_H, rx=6)}/>"
            + text(x, y + 17, f"{name}  #{op.index}", class_="opname")
            + text(x, y + 33, sub, class_="opsub") + "</g>")


def _io_node(kind, ti, t, at) -> str:
    x, y = at
    return (f"<g{attrs(class_=f'io {kind}', data_tensor=ti)}>" + title(f"{kind} {t.name}: {tensor_label(t)}")
            + f"<rect{attrs(x=float(x - IO_W / 2), y=float(y), width=IO_W, height=IO_H, rx=12)}/>"
            + text(x, y + 16, f"{kind}: {t.name[:18]}") + "</g>")


__all__ = ["draw", "esc", "layers", "tensor_label"]
