"""`edgerun report`: one self-contained HTML page about a model, for people who would rather look than read.

    data = collect("kws_int8.tflite", float_model="kws.tflite")   # plain data: graph, plan, profile
    html = render(data)                                            # one string; nothing to fetch

Four sections, each an inline SVG drawn here: the main subgraph as a layered diagram
(runtime/report/graph.py), the memory plan as a timeline of arena offsets over op steps with the peak
marked, the per-op profile (runtime/bench.py's profile) slowest first, and, given the float model, the
per-layer quantization error (converter/report.py's quantization_errors). A short inline script records
what the browser laid out in <body data-layout> so a headless browser's DOM dump shows it
(tests/api/test_html_report.py).
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from edgerun.errors import ConversionError, EdgerunError

from . import charts, graph
from .svg import esc, human

__all__ = ["ReportData", "collect", "load_samples", "render", "write_report"]

SECTIONS = ("graph", "memory", "profile", "quantization")
RANDOM_SAMPLES = 8


@dataclasses.dataclass
class ReportData:
    model: str                    # name shown (the file's)
    model_bytes: int
    subgraph: object              # runtime/model.py SubgraphDesc of subgraph 0
    subgraphs: int
    plan: object                  # runtime/plan.py Plan of the allocated interpreter
    memory: dict                  # Interpreter.memory_report()
    profile: list                 # runtime/bench.py OpTime rows, slowest first
    runs: int
    quant: list | None = None     # converter/report.py TensorError rows, or None
    quant_note: str = ""          # why there is no comparison, or what it ran on
    notes: list = dataclasses.field(default_factory=list)


def _read(path: str, what: str) -> bytes:
    if not os.path.isfile(path):
        raise EdgerunError(f"{what}: no such file {path!r}")
    with open(path, "rb") as f:
        return f.read()


def _is_quantized(sg) -> bool:
    """Any non-constant tensor with integer quantization parameters (an int8/int16 activation)."""
    return any(t.data is None and len(t.scale) and t.type in (3, 7, 9) for t in sg.tensors)


def load_samples(path: str, details) -> list:
    """Samples for the quantization comparison from a .npy (one input: one sample of the input's shape, or
    several stacked along a new first axis or along the batch axis) or an .npz (one such array per input
    name). details: the float model's input details. Returns a list of samples, each a list of arrays."""
    if not os.path.isfile(path):
        raise EdgerunError(f"--samples: no such file {path!r}")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - numpy raises ValueError, OSError, UnpicklingError...
        raise EdgerunError(f"--samples {path!r}: not a .npy/.npz file ({type(exc).__name__})") from None
    names = [d["name"] for d in details]
    if isinstance(data, np.ndarray):
        if len(details) != 1:
            raise EdgerunError(f"--samples {path!r}: one array given but the model has {len(details)} inputs "
                               f"({', '.join(names)}); give an .npz with one array per input name")
        arrays = {names[0]: data}
    else:
        with data:
            arrays = {k: data[k] for k in data.files}
        missing = [n for n in names if n not in arrays]
        if missing:
            raise EdgerunError(f"--samples {path!r}: no array for input(s) {', '.join(missing)} (the archive "
                               f"holds {', '.join(arrays) or 'nothing'})")
    per_input = []
    for d in details:
        a, shape = arrays[d["name"]], tuple(int(s) for s in d["shape"])
        if a.shape == shape:
            split = [a]
        elif a.ndim == len(shape) + 1 and a.shape[1:] == shape:
            split = list(a)
        elif a.ndim == len(shape) and shape and shape[0] == 1 and a.shape[1:] == shape[1:]:
            split = [a[k:k + 1] for k in range(a.shape[0])]
        else:
            raise EdgerunError(f"--samples {path!r}: input {d['name']!r} has shape {shape} in the float "
                               f"model; the file holds {a.shape} (one sample, or samples stacked along the "
                               f"first axis)")
        if a.dtype.kind not in "biuf":
            raise EdgerunError(f"--samples {path!r}: input {d['name']!r} holds {a.dtype}, not numbers")
        per_input.append([np.ascontiguousarray(x, dtype=d["dtype"]) for x in split])
    counts = {len(s) for s in per_input}
    if len(counts) != 1 or 0 in counts:
        raise EdgerunError(f"--samples {path!r}: the inputs have different numbers of samples "
                           f"({', '.join(f'{n}: {len(s)}' for n, s in zip(names, per_input))})")
    return [list(x) for x in zip(*per_input)]


def collect(model, float_model=None, samples=None, runs: int = 10) -> ReportData:
    """Everything the page shows, for `model` (a path). float_model: the float model (a path) to compare a
    quantized `model` against; samples: a .npy/.npz path or a list of samples (float inputs), else
    RANDOM_SAMPLES random uniform(-1, 1) inputs; runs: profiled invokes."""
    from edgerun.runtime.bench import profile

    import edgerun

    model = os.fspath(model)
    content = _read(model, "model")
    float_bytes = None if float_model is None else _read(os.fspath(float_model), "--float")
    if isinstance(samples, (str, os.PathLike)) and not os.path.isfile(samples):
        raise EdgerunError(f"--samples: no such file {os.fspath(samples)!r}")
    it = edgerun.Interpreter(model_content=content, plan_cache=False)  # profiled: prepared anyway
    it.allocate_tensors()
    rows = profile(it, runs=runs)
    g = it._main.ensure()
    data = ReportData(model=os.path.basename(model), model_bytes=len(content), subgraph=it._main.desc,
                      subgraphs=len(it._model.subgraphs), plan=g.plan, memory=it.memory_report(),
                      profile=rows, runs=runs)
    if float_model is None:
        data.quant_note = ("a quantized model: give its float model (--float FLOAT.tflite) to see the error "
                           "of each layer" if _is_quantized(data.subgraph) else
                           "a float model: nothing quantized to compare (report the quantized model with "
                           "--float this one)")
        return data
    from edgerun.converter.report import quantization_errors
    from edgerun.runtime.bench import random_inputs

    fi = edgerun.Interpreter(model_content=float_bytes)
    fi.allocate_tensors()
    details = fi.get_input_details()
    if samples is None:
        samples = [random_inputs(details, seed=k) for k in range(RANDOM_SAMPLES)]
        how = f"{RANDOM_SAMPLES} random inputs (uniform(-1, 1) floats, seeds 0..{RANDOM_SAMPLES - 1})"
    elif isinstance(samples, (str, os.PathLike)):
        how = f"{os.path.basename(os.fspath(samples))}"
        samples = load_samples(os.fspath(samples), details)
        how = f"{len(samples)} samples from {how}"
    else:
        samples = list(samples)
        how = f"{len(samples)} given samples"
    try:
        data.quant = quantization_errors(float_bytes, content, samples)
    except ConversionError as exc:  # e.g. no tensor names in common: the rest of the page still stands
        data.quant_note = f"not compared with {os.path.basename(os.fspath(float_model))}: {exc}"
        data.notes.append(data.quant_note)
        return data
    data.quant_note = (f"{len(data.quant)} tensors of {os.path.basename(os.fspath(float_model))} matched by "
                       f"name ({human(len(float_bytes))} float -> {human(len(content))}), over {how}")
    return data


CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:16px 24px;background:#263238;color:#eceff1}header h1{margin:0 0 4px;font-size:20px}
header .facts span{margin-right:18px}
nav a{color:#80cbc4;margin-right:14px}
section{margin:18px 24px;padding:12px 16px;background:#fff;border:1px solid #ddd;border-radius:6px}
section h2{margin:0 0 6px;font-size:17px}.note{color:#555;margin:4px 0 10px}
.scroll{overflow:auto;max-height:92vh;border-top:1px solid #eee}
svg text{font:11px system-ui,sans-serif;fill:#222}
svg.graph .op rect{fill:#e3f2fd;stroke:#1565c0;stroke-width:1.2}
svg.graph .op:hover rect{fill:#bbdefb}
svg.graph .opname{font-weight:600;text-anchor:middle;font-size:12px}
svg.graph .opsub{text-anchor:middle;fill:#555;font-size:10px}
svg.graph .io rect{fill:#f1f8e9;stroke:#558b2f}svg.graph .io text{text-anchor:middle}
svg.graph .edge{fill:none;stroke:#78909c;stroke-width:1.3}
svg.graph .edge.long{stroke-dasharray:4 3;opacity:.75}
svg.graph .tlabel{fill:#37474f;font-size:10px}
svg.memory .frame{fill:#fcfcfc;stroke:#bbb}svg.memory .grid{stroke:#eee}
svg.memory .buf{stroke:#fff;stroke-width:.5}svg.memory .buf:hover{stroke:#000;stroke-width:1}
svg.memory .scratch{fill:#9e9e9e}svg.memory .subplan{fill:#ffcc80}
svg.memory .live{fill:none;stroke:#263238;stroke-width:1.5;stroke-dasharray:2 2}
svg.memory .arena{stroke:#c62828;stroke-width:1.5;stroke-dasharray:6 3}
svg.memory .peak{stroke:#c62828;stroke-width:2}svg.memory .peaklabel{fill:#c62828;font-weight:600}
.axis{fill:#555}
svg.profile rect{fill:#5c6bc0}svg.profile .bar:hover rect{fill:#3949ab}
svg.quant rect{fill:#ef6c00}svg.quant .qbar:hover rect{fill:#e65100}
.legend span{display:inline-block;margin-right:16px}.sw{display:inline-block;width:12px;height:12px;
vertical-align:-2px;margin-right:4px;border:1px solid #999}
table.qtable{border-collapse:collapse;font-size:12px;margin-top:10px}
table.qtable td,table.qtable th{border:1px solid #ddd;padding:2px 6px;text-align:right}
table.qtable td:first-child,table.qtable th:first-child{text-align:left;max-width:480px;word-break:break-all}
"""

# Records what the browser laid out: per section, the drawn size and how many marks are visible.
SCRIPT = """
(function(){var out={};
document.querySelectorAll('section').forEach(function(s){var g=s.querySelector('svg');
var r=g?g.getBoundingClientRect():null;var marks=s.querySelectorAll('g.op,rect.buf,g.bar,g.qbar');var seen=0;
marks.forEach(function(m){var b=m.getBoundingClientRect();if(b.width>0&&b.height>0)seen++;});
out[s.id]={width:r?Math.round(r.width):0,height:r?Math.round(r.height):0,marks:marks.length,visible:seen};});
out.page={width:document.documentElement.scrollWidth,viewport:document.documentElement.clientWidth};
document.body.setAttribute('data-layout',JSON.stringify(out));})();
"""


def render(data: ReportData) -> str:
    """The page as one HTML string."""
    sg, plan, mem = data.subgraph, data.plan, data.memory
    kernels = {op.index: op.kernel for op in plan.main.ops}
    total_ms = sum(r.ms for r in data.profile)
    consts = sum(1 for t in sg.tensors if t.data is not None and not t.is_variable)
    facts = [f"{len(sg.ops)} ops", f"{len(sg.tensors)} tensors ({consts} constant)",
             f"arena {human(mem['arena_bytes'])}", f"weights {human(mem['weight_bytes'])}",
             f"file {human(data.model_bytes)}", f"profiled {total_ms:.3f} ms per invoke"]
    if data.subgraphs > 1:
        facts.append(f"{data.subgraphs} subgraphs (subgraph 0 drawn)")
    mem_svg, mf = charts.memory_svg(plan)
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>edgerun report: {esc(data.model)}</title><style>{CSS}</style></head><body>",
             f"<header><h1>{esc(data.model)}</h1><div class=\"facts\">"
             + "".join(f"<span>{esc(f)}</span>" for f in facts) + "</div><nav>"
             + "".join(f'<a href="#{s}">{s}</a>' for s in SECTIONS) + "</nav></header>"]
    parts.append('<section id="graph"><h2>Graph</h2><p class="note">Ops in topological layers (each below '
                 'the deepest op it reads from); edges are tensors, labelled with shape and type; dashed '
                 'edges skip layers. Constants are summarized in the op that reads them. Hover for names, '
                 f'shapes and bytes.</p><div class="scroll">{graph.draw(sg, kernels)}</div></section>')
    legend = (f'<div class="legend"><span><b>arena {human(mf["arena"])} ({mf["arena"]:,} B)</b></span>'
              f'<span><i class="sw" style="background:hsl(200,55%,62%)"></i>{mf["tensors"]} tensors</span>'
              f'<span><i class="sw" style="background:#9e9e9e"></i>{mf["scratch"]} op scratch</span>'
              + (f'<span><i class="sw" style="background:#ffcc80"></i>{mf["subplans"]} nested subgraph '
                 'regions</span>' if mf["subplans"] else "")
              + f'<span>⋯ bytes alive (peak {human(mf["live_peak"])})</span>'
              f'<span style="color:#c62828">peak marker: arena top reached at {esc(mf["peak_where"])}</span>'
              '</div>')
    parts.append('<section id="memory"><h2>Memory plan</h2><p class="note">Each arena tensor is a bar at '
                 'its offset (height = bytes) over the ops it is alive for; graph inputs and outputs stay '
                 'alive to the end. The dotted line is the bytes alive at each op: the gap up to the arena '
                 f'line is what placement leaves unused.</p>{legend}'
                 f'<div class="scroll">{mem_svg}</div></section>')
    parts.append(f'<section id="profile"><h2>Per-op profile</h2><p class="note">Mean time of each op over '
                 f'{data.runs} profiled invokes (each op timed alone), slowest first; total '
                 f'{total_ms:.3f} ms; by op type: {esc(_by_type(data.profile))}.'
                 f'</p><div class="scroll">{charts.profile_svg(data.profile)}</div></section>')
    if data.quant:
        body = (f'<div class="scroll">{charts.quant_svg(data.quant)}</div>{charts.quant_table(data.quant)}')
        worst = max(data.quant, key=lambda e: e.rel_rmse)
        note = (f"{esc(data.quant_note)}. Bars: RMS error of each tensor relative to the float tensor's "
                f"range (SQNR in dB beside it). Worst: {esc(worst.name)} ({worst.rel_rmse:.3%}).")
    else:
        body, note = "", esc(data.quant_note)
    parts.append(f'<section id="quantization"><h2>Quantization error</h2><p class="note">{note}</p>{body}'
                 "</section>")
    parts.append(f"<script>{SCRIPT}</script></body></html>\n")
    return "".join(parts)


def _by_type(rows) -> str:
    share: dict = {}
    for r in rows:
        share[r.op] = share.get(r.op, 0.0) + r.share
    return ", ".join(f"{k} {v:.0%}" for k, v in sorted(share.items(), key=lambda kv: -kv[1])[:6])


def write_report(model, out=None, float_model=None, samples=None, runs: int = 10) -> tuple:
    """Collect, render and write the page: (path written, ReportData)."""
    data = collect(model, float_model, samples, runs)
    page = render(data)
    if out is None:
        out = os.path.splitext(os.path.basename(os.fspath(model)))[0] + ".report.html"
    folder = os.path.dirname(os.path.abspath(out))
    try:
        os.makedirs(folder, exist_ok=True)
        with open(out, "w", encoding="utf-8") as f:
            f.write(page)
    except OSError as exc:
        raise EdgerunError(f"-o {out}: cannot write ({exc.strerror or exc})") from None
    return out, data


def summary(path: str, data: ReportData) -> str:
    """One line for the command: what the page holds."""
    q = f", {len(data.quant)} layers compared" if data.quant else ""
    q += "".join(f"\nnote: {n}" for n in data.notes)
    return (f"wrote {path} ({human(os.path.getsize(path))}): graph {len(data.subgraph.ops)} ops, arena "
            f"{data.memory['arena_bytes']:,} B, profile of {len(data.profile)} ops" + q)

