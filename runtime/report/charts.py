"""The report's charts as SVG: the memory plan as a timeline, the per-op profile and the per-layer
quantization error as bar charts. Each bar carries its figures as data-* attributes (what a test or a script
reads) and a <title> tooltip (what a person hovering reads)."""
from __future__ import annotations

import math

from edgerun.runtime.lifetimes import subplan_refs, tensor_lifetimes
from edgerun.runtime.ops import TYPE_NAMES

from .svg import attrs, esc, hue, human, line, num, rect, shape_text, svg_open, text, title

# -- memory timeline -----------------------------------------------------------------------------------

MEM_H = 380           # px for the whole arena
MEM_LEFT, MEM_TOP, MEM_BOTTOM = 78, 28, 46


def arena_buffers(plan) -> list:
    """What lives in the arena while the main subgraph runs, as dicts: every arena tensor over its lifetime
    (op positions first..last; graph inputs and outputs stay alive to position n = len(ops)), every op's
    scratch and the region of every nested subgraph (WHILE/IF bodies) during the op that runs it."""
    sp = plan.main
    first, last = tensor_lifetimes(sp)
    out = []
    for ti in sorted(first):
        t = sp.tensors[ti]
        out.append({"kind": "tensor", "id": ti, "name": t.name, "offset": int(t.offset),
                    "nbytes": int(t.nbytes), "first": first[ti], "last": last[ti],
                    "what": f"{shape_text(t.shape)} {TYPE_NAMES.get(t.type, t.type).lower()}"})
    for p, op in enumerate(sp.ops):
        if op.scratch_bytes > 0:
            out.append({"kind": "scratch", "id": op.index, "name": f"scratch of {op.label}",
                        "offset": int(op.scratch_offset), "nbytes": int(op.scratch_bytes), "first": p,
                        "last": p, "what": op.kernel})
        for k in subplan_refs(op.params):
            sub = plan.subplans[k]
            out.append({"kind": "subplan", "id": k, "name": f"subgraph {sub.subgraph} (run by {op.label})",
                        "offset": int(sub.arena_offset), "nbytes": int(sub.arena_bytes), "first": p,
                        "last": p, "what": f"{len(sub.ops)} ops"})
    return out


def peak(buffers, steps: int) -> tuple:
    """(step, highest end offset, live bytes per step): the step where the arena's used top is highest."""
    top = [0] * steps
    live = [0] * steps
    for b in buffers:
        for s in range(b["first"], b["last"] + 1):
            top[s] = max(top[s], b["offset"] + b["nbytes"])
            live[s] += b["nbytes"]
    step = max(range(steps), key=lambda s: (top[s], live[s], -s)) if steps else 0
    return step, (top[step] if steps else 0), live


def memory_svg(plan) -> tuple:
    """(svg, legend facts) of the main subgraph's arena over its ops."""
    sp = plan.main
    n = len(sp.ops)
    steps = n + 1                      # position n: after the last op (outputs still readable)
    arena = int(plan.arena_bytes)
    bufs = arena_buffers(plan)
    pstep, ptop, live = peak(bufs, steps)
    sw = min(36.0, max(5.0, 1000.0 / steps))
    width = MEM_LEFT + steps * sw + 24
    height = MEM_TOP + MEM_H + MEM_BOTTOM
    scale = MEM_H / max(arena, 1)

    def y(offset):
        return MEM_TOP + MEM_H - offset * scale

    parts = [svg_open(width, height, class_="memory", data_arena=arena, data_steps=steps),
             rect(MEM_LEFT, MEM_TOP, steps * sw, MEM_H, class_="frame")]
    right = MEM_LEFT + steps * sw
    for k in range(5):   # offset axis
        off = arena * k // 4
        parts.append(line(MEM_LEFT, y(off), right, y(off), class_="grid"))
        parts.append(text(MEM_LEFT - 6, y(off) + 4, human(off), class_="axis", text_anchor="end"))
    every = max(1, math.ceil(steps / 25))
    for s in range(0, steps, every):   # op axis
        label = f"#{sp.ops[s].index}" if s < n else "end"
        parts.append(text(MEM_LEFT + (s + 0.5) * sw, MEM_TOP + MEM_H + 16, label, class_="axis",
                          text_anchor="middle"))
    parts.append(text(MEM_LEFT + steps * sw / 2, height - 8, "op (execution order) →", class_="axis",
                      text_anchor="middle"))
    for k, b in enumerate(bufs):
        x0 = MEM_LEFT + b["first"] * sw
        w = (b["last"] - b["first"] + 1) * sw
        h = max(1.0, b["nbytes"] * scale)
        def at(s):
            return f"#{sp.ops[s].index}" if s < n else "end"

        alive = at(b["first"]) + (f" .. {at(b['last'])}" if b["last"] != b["first"] else "")
        tip = f"{b['name']}: {b['what']}, {b['nbytes']:,} B at offset {b['offset']:,}, alive op {alive}"
        parts.append(rect(x0, y(b["offset"]) - h, w, h, tip, class_="buf " + b["kind"],
                          fill=hue(k) if b["kind"] == "tensor" else None, data_id=b["id"],
                          data_offset=b["offset"], data_nbytes=b["nbytes"], data_first=b["first"],
                          data_last=b["last"]))
    # live bytes (sum of what is alive) as a line: the gap to the top is what placement costs
    pts = " ".join(f"{num(MEM_LEFT + (s + 0.5) * sw)},{num(y(v))}" for s, v in enumerate(live))
    parts.append(f"<polyline{attrs(class_='live', points=pts)}>{title('bytes alive at each op')}</polyline>")
    px = MEM_LEFT + (pstep + 0.5) * sw
    where = f"op #{sp.ops[pstep].index} {sp.ops[pstep].op}" if pstep < n else "the end"
    parts.append(f"<g{attrs(id='peak', data_bytes=arena, data_step=pstep, data_top=ptop)}>"
                 + title(f"arena {arena:,} B; its highest byte in use at {where}: {ptop:,} B")
                 + line(MEM_LEFT, y(arena), right, y(arena), class_="arena")
                 + line(px, MEM_TOP - 6, px, MEM_TOP + MEM_H, class_="peak")
                 + text(px + 4 if px < width / 2 else px - 4, MEM_TOP - 10,
                        f"peak: {human(arena)} ({arena:,} B) at {where}", class_="peaklabel",
                        text_anchor="start" if px < width / 2 else "end")
                 + "</g></svg>")
    facts = {"arena": arena, "tensors": sum(b["kind"] == "tensor" for b in bufs),
             "scratch": sum(b["kind"] == "scratch" for b in bufs),
             "subplans": sum(b["kind"] == "subplan" for b in bufs), "peak_where": where,
             "live_peak": max(live, default=0), "top": ptop}
    return "".join(parts), facts


# -- profile -------------------------------------------------------------------------------------------

BAR_H, BAR_GAP, LABEL_W, BAR_W = 16, 4, 300, 520


def _hbars(cls: str, items, extra_w: int = 150, **kw) -> str:
    """Horizontal bars: items are (group attributes, tooltip, label, length in [0, 1], value text)."""
    items = list(items)
    parts = [svg_open(LABEL_W + BAR_W + extra_w, len(items) * (BAR_H + BAR_GAP) + 30, class_=cls, **kw)]
    for k, (ga, tip, label, frac, value) in enumerate(items):
        y = 10 + k * (BAR_H + BAR_GAP)
        w = max(1.0, frac * BAR_W)
        parts.append(f"<g{attrs(**ga)}>" + title(tip)
                     + text(LABEL_W - 8, y + 12, label, class_="axis", text_anchor="end")
                     + rect(LABEL_W, y, w, BAR_H, rx=2) + text(LABEL_W + w + 6, y + 12, value, class_="value")
                     + "</g>")
    return "".join(parts) + "</svg>"


def profile_svg(rows) -> str:
    """Horizontal bars, slowest op first (rows: runtime/bench.py's OpTime list, already sorted)."""
    slowest = max((r.ms for r in rows), default=0.0) or 1.0

    def item(r):
        out = shape_text(r.output_shapes[0]) if r.output_shapes and r.output_shapes[0] is not None else "-"
        ins = ", ".join(shape_text(s) for s in r.input_shapes)
        tip = (f"op #{r.index} {r.op}, kernel {r.kernel}\nin {ins}\nout {out}\n"
               f"{r.ms:.4f} ms per invoke ({r.share:.1%} of the profiled total)")
        ga = {"class_": "bar", "data_index": r.index, "data_position": r.position, "data_ms": f"{r.ms:.6g}",
              "data_share": f"{r.share:.6g}"}
        label = f"#{r.index} {r.op[:22]} · {r.kernel[:20]}"
        return ga, tip, label, r.ms / slowest, f"{r.ms:.3f} ms  {r.share:.1%}"

    return _hbars("profile", map(item, rows), data_ops=len(rows))


# -- quantization --------------------------------------------------------------------------------------

def quant_svg(errors) -> str:
    """Bars of each layer's RMS error relative to the float tensor's range (model order)."""
    worst = max((e.rel_rmse for e in errors), default=0.0) or 1.0

    def item(e):
        tip = (f"{e.name} ({e.op}, {e.dtype})\nRMS error {e.rmse:.4g} = {e.rel_rmse:.3%} of the float range "
               f"{e.range:.4g}\nmax |error| {e.max_abs:.4g} ({e.rel_max:.3%})\nSQNR {e.sqnr_db:.1f} dB")
        ga = {"class_": "qbar", "data_name": e.name, "data_rel_rmse": f"{e.rel_rmse:.6g}"}
        return ga, tip, _short(e.name, 44), e.rel_rmse / worst, f"{e.rel_rmse:.2%}  {e.sqnr_db:.1f} dB"

    return _hbars("quant", map(item, errors), extra_w=170, data_layers=len(errors))


def quant_table(errors) -> str:
    head = ("<tr><th>tensor</th><th>op</th><th>type</th><th>scale</th><th>RMS error</th><th>max |error|</th>"
            "<th>RMS / range</th><th>max / range</th><th>SQNR dB</th><th>RMS / scale</th></tr>")
    rows = []
    for e in errors:
        steps = f"{e.rmse_steps:.3f}" if e.scale > 0 else "-"
        scale = f"{e.scale:.4g}" if e.scale > 0 else "-"
        cells = [esc(e.name), esc(e.op), esc(e.dtype), scale, f"{e.rmse:.4g}", f"{e.max_abs:.4g}",
                 f"{e.rel_rmse:.3%}", f"{e.rel_max:.3%}", f"{e.sqnr_db:.1f}", steps]
        tr = attrs(class_="qlayer", data_name=e.name, data_rel_rmse=f"{e.rel_rmse:.6g}",
                   data_sqnr=f"{e.sqnr_db:.6g}")
        rows.append(f"<tr{tr}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="qtable">{head}{"".join(rows)}</table>'


def _short(name: str, n: int) -> str:
    return name if len(name) <= n else "…" + name[-(n - 1):]


__all__ = ["arena_buffers", "memory_svg", "peak", "profile_svg", "quant_svg", "quant_table"]
