"""`edgerun report` (runtime/report/): the page is loaded in a real browser, headless Chromium from Debian
(runtime/report/install.sh), which lays it out, runs its one inline script and dumps the DOM; a screenshot
goes to the test's tmp dir. What the page shows is checked against independent sources: the op list of
LiteRT's interpreter, the prepared plan's tensors (offset, nbytes) and op records, the interpreter's memory
report, and per-layer errors recomputed from LiteRT's outputs of the float and int8 models."""
import html
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from edgerun.converter.api import convert
from edgerun.converter.export import export
from edgerun.converter.ir import Graph
from edgerun.runtime import plan as P
from edgerun.runtime.report import render, write_report
from oracle import litert_interpreter

import edgerun

ROOT = pathlib.Path(__file__).resolve().parents[2]
F32 = np.float32


def _chromium():
    """The browser binary, installing Debian's package (runtime/report/install.sh) when it is missing."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    res = subprocess.run(["bash", str(ROOT / "runtime/report/install.sh")], capture_output=True, text=True,
                         check=False)
    if shutil.which("chromium"):
        return shutil.which("chromium")
    pytest.skip(f"chromium cannot be installed here (runtime/report/install.sh exit {res.returncode}: "
                f"{res.stderr.strip()[-300:]})")


@pytest.fixture(scope="module")
def chromium():
    return _chromium()


def _browser(binary, page: pathlib.Path, *args) -> str:
    cmd = [binary, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--mute-audio",
           f"--user-data-dir={page.parent / 'chromium-profile'}", *args, page.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def _dom(binary, page):
    return _browser(binary, page, "--dump-dom")


def _layout(dom: str) -> dict:
    m = re.search(r'<body[^>]*data-layout="([^"]*)"', dom)
    assert m, "the page's script did not run (no data-layout on <body>)"
    return json.loads(html.unescape(m.group(1)))


def _tags(dom: str, tag: str, cls: str) -> list:
    """Attributes of every <tag class="... cls ..."> of the dumped DOM, as dicts."""
    out = []
    for m in re.finditer(rf"<{tag}\s([^>]*)>", dom):
        attrs = {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', m.group(1))}
        if cls in attrs.get("class", "").split():
            out.append(attrs)
    return out


def _section(dom: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', dom, re.DOTALL)
    assert m, f"no section {sid}"
    return m.group(1)


def _png_info(path):
    """(width, height, number of distinct byte values in the image data) of a PNG, read by hand."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    return size[0], size[1], len(set(raw[: 1 << 20]))


# -- models -------------------------------------------------------------------------------------------

def _cnn():
    """conv+relu -> maxpool -> depthwise -> add (residual: an edge that skips a layer) -> mean -> fc ->
    softmax, float; converted by edgerun's converter to float32 and to full int8 (same tensor names)."""
    from edgerun.converter.ir import RELU, RELU6, SAME, VALID

    rng = np.random.default_rng(5)
    g = Graph()
    x = g.input("image", (1, 10, 10, 3))
    c1 = g.op("CONV_2D", [x, g.const("c1/w", rng.normal(0, 0.3, (8, 3, 3, 3)).astype(F32)),
                         g.const("c1/b", rng.normal(0, 0.1, (8,)).astype(F32))],
              [g.tensor("c1", (1, 10, 10, 8))],
              {"padding": SAME, "strideH": 1, "strideW": 1, "fusedActivationFunction": RELU}, name="c1")[0]
    p = g.op("MAX_POOL_2D", [c1], [g.tensor("pool", (1, 5, 5, 8))],
             {"padding": VALID, "strideH": 2, "strideW": 2, "filterHeight": 2, "filterWidth": 2})[0]
    d = g.op("DEPTHWISE_CONV_2D", [p, g.const("dw/w", rng.normal(0, 0.3, (1, 3, 3, 8)).astype(F32)),
                                   g.const("dw/b", rng.normal(0, 0.1, (8,)).astype(F32))],
             [g.tensor("dw", (1, 5, 5, 8))],
             {"padding": SAME, "strideH": 1, "strideW": 1, "depthMultiplier": 1,
              "fusedActivationFunction": RELU6}, name="dw")[0]
    a = g.op("ADD", [p, d], [g.tensor("add", (1, 5, 5, 8))], {}, name="add")[0]
    m = g.op("MEAN", [a, g.const("axes", np.array([1, 2], np.int32))], [g.tensor("gap", (1, 8))],
             {"keepDims": False}, name="gap")[0]
    f = g.op("FULLY_CONNECTED", [m, g.const("fc/w", rng.normal(0, 0.5, (4, 8)).astype(F32)),
                                 g.const("fc/b", rng.normal(0, 0.1, (4,)).astype(F32))],
             [g.tensor("logits", (1, 4))], {}, name="fc")[0]
    s = g.op("SOFTMAX", [f], [g.tensor("probs", (1, 4))], {"beta": 1.0}, name="softmax")[0]
    g.outputs.append(s)
    return g


def _wide_deep(n_ops=400):
    """A float graph of n_ops elementwise ops in two interleaved chains that meet every 8 ops (ADD of
    tensors several layers apart): long edges, two nodes per layer, hundreds of layers."""
    g = Graph()
    a = b = g.input("x", (1, 16))
    kinds = ["TANH", "LOGISTIC", "RELU", "ABS"]
    for k in range(n_ops):
        if k % 8 == 7:
            a = g.op("ADD", [a, b], [g.tensor(f"add{k}", (1, 16))], {}, name=f"add{k}")[0]
        elif k % 2:
            b = g.op(kinds[k % 4], [b], [g.tensor(f"b{k}", (1, 16))], {}, name=f"b{k}")[0]
        else:
            a = g.op(kinds[k % 4], [a], [g.tensor(f"a{k}", (1, 16))], {}, name=f"a{k}")[0]
    g.outputs.append(a)
    return g


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("report-models")
    rng = np.random.default_rng(0)
    calib = [[rng.uniform(-1, 1, (1, 10, 10, 3)).astype(F32)] for _ in range(16)]
    fpath, qpath = d / "cnn_float.tflite", d / "cnn_int8.tflite"
    fpath.write_bytes(convert(_cnn()))
    qpath.write_bytes(convert(_cnn(), quantize="int8", representative_data=calib, input_type="int8",
                              output_type="int8"))
    return fpath, qpath


@pytest.fixture(scope="module")
def int8_page(models, tmp_path_factory, chromium):
    fpath, qpath = models
    d = tmp_path_factory.mktemp("report-int8")
    out, data = write_report(qpath, d / "report.html", float_model=fpath, runs=3)
    dom = _dom(chromium, pathlib.Path(out))
    return pathlib.Path(out), data, dom


# -- the int8 model with its float model, in the browser ----------------------------------------------

def test_sections_and_layout(int8_page, chromium):
    page, _, dom = int8_page
    for sid in ("graph", "memory", "profile", "quantization"):
        assert f'<section id="{sid}">' in dom
    lay = _layout(dom)
    for sid in ("graph", "memory", "profile", "quantization"):
        assert lay[sid]["width"] > 100 and lay[sid]["height"] > 50, (sid, lay[sid])
        assert lay[sid]["marks"] > 0 and lay[sid]["visible"] == lay[sid]["marks"], (sid, lay[sid])
    assert lay["page"]["width"] <= lay["page"]["viewport"], "the page scrolls sideways"
    text = page.read_text()
    # self-contained: nothing fetched from anywhere
    assert not re.search(r'(src|href)\s*=\s*"(?!#)', text), "the page refers to another resource"
    assert "@import" not in text and "url(" not in text and "<link" not in text
    shot = page.parent / "report.png"
    _browser(chromium, page, f"--screenshot={shot}", "--window-size=1400,2400", "--hide-scrollbars")
    w, h, distinct = _png_info(shot)
    assert (w, h) == (1400, 2400)
    assert distinct > 20, "the screenshot is blank"


def test_graph_has_one_node_per_op(int8_page, models):
    _, _, dom = int8_page
    lit = litert_interpreter(models[1].read_bytes())
    lit.allocate_tensors()
    ops = lit._get_ops_details()
    nodes = _tags(_section(dom, "graph"), "g", "op")
    assert len(nodes) == len(ops) == 7
    assert {int(n["data-index"]): n["data-op"] for n in nodes} == {o["index"]: o["op_name"] for o in ops}
    layers = {n["data-op"]: int(n["data-layer"]) for n in nodes}
    # ADD reads the pool (layer 2) and the depthwise conv (layer 3): one below the deeper
    assert layers["CONV_2D"] == 1 and layers["DEPTHWISE_CONV_2D"] == 3 and layers["ADD"] == 4
    graph = _section(dom, "graph")
    assert len(_tags(graph, "g", "input")) == 1 and len(_tags(graph, "g", "output")) == 1
    # tensors are edges labelled with shape and type; constants are not nodes
    assert "1x10x10x8 int8" in graph and "1x5x5x8 int8" in graph
    edges = _tags(graph, "path", "edge")
    written = {int(i) for o in ops for i in o["outputs"]} | {d["index"] for d in lit.get_input_details()}
    assert {int(e["data-tensor"]) for e in edges} <= written      # no constant drawn
    assert len(edges) == 9  # 7 op to op (ADD reads two), the input's, the output's
    assert len(_tags(graph, "path", "long")) == 1                  # pool -> ADD skips the depthwise layer


def _plan(model_path):
    it = edgerun.Interpreter(model_path=str(model_path))
    it.allocate_tensors()
    return it, it._main.ensure().plan


def _uses(sp):
    """First and last op position using each arena tensor, from the plan's op records; inputs and outputs
    stay alive to position n (TFLite keeps inputs intact and outputs readable)."""
    n = len(sp.ops)
    span = {}
    for p, op in enumerate(sp.ops):
        for t in list(op.inputs) + list(op.outputs):
            if t >= 0 and sp.tensors[t].storage == P.ARENA:
                lo, hi = span.get(t, (p, p))
                span[t] = (min(lo, p), max(hi, p))
    for t in list(sp.inputs) + list(sp.outputs):
        if sp.tensors[t].storage == P.ARENA:
            lo, _ = span.get(t, (0, n))
            span[t] = (0 if t in sp.inputs else lo, n)
    return span


def test_memory_bars_are_the_plan(int8_page, models):
    _, _, dom = int8_page
    it, plan = _plan(models[1])
    sp = plan.main
    mem = _section(dom, "memory")
    bars = _tags(mem, "rect", "tensor")
    arena_tensors = [t for t in sp.tensors if t.storage == P.ARENA]
    assert len(bars) == len(arena_tensors) > 0
    span = _uses(sp)
    by_id = {int(b["data-id"]): b for b in bars}
    for t in arena_tensors:
        b = by_id[t.index]
        assert (int(b["data-offset"]), int(b["data-nbytes"])) == (t.offset, t.nbytes), t.name
        assert (int(b["data-first"]), int(b["data-last"])) == span[t.index], t.name
        assert f"<title>{t.name}: " in mem
    # drawn where the data says: y grows down, offset 0 at the bottom of the chart
    svg = _tags(mem, "svg", "memory")[0]
    arena = int(svg["data-arena"])
    frame = _tags(mem, "rect", "frame")[0]
    top, height = float(frame["y"]), float(frame["height"])
    for b in bars:
        bottom = float(b["y"]) + float(b["height"])
        assert abs(bottom - (top + height - int(b["data-offset"]) * height / arena)) < 0.2
    scratch = _tags(mem, "rect", "scratch")
    assert len(scratch) == sum(op.scratch_bytes > 0 for op in sp.ops)
    # the peak marker: the plan's arena size, at a step where a buffer reaches the arena's used top
    peak = dict(re.findall(r'([\w-]+)="([^"]*)"', re.search(r'<g [^>]*id="peak"[^>]*>', mem).group(0)))
    assert int(peak["data-bytes"]) == plan.arena_bytes == it.memory_report()["arena_bytes"]
    step = int(peak["data-step"])
    alive = [b for b in bars + scratch if int(b["data-first"]) <= step <= int(b["data-last"])]
    used_top = max(int(b["data-offset"]) + int(b["data-nbytes"]) for b in bars + scratch)
    assert int(peak["data-top"]) == used_top
    assert used_top == max(int(b["data-offset"]) + int(b["data-nbytes"]) for b in alive)
    assert used_top <= plan.arena_bytes < used_top + plan.alignment


def test_profile_has_one_bar_per_op(int8_page, models):
    _, data, dom = int8_page
    _, plan = _plan(models[1])
    bars = _tags(_section(dom, "profile"), "g", "bar")
    assert sorted(int(b["data-index"]) for b in bars) == sorted(op.index for op in plan.main.ops)
    ms = [float(b["data-ms"]) for b in bars]
    assert ms == sorted(ms, reverse=True) and all(m > 0 for m in ms)
    assert abs(sum(float(b["data-share"]) for b in bars) - 1) < 1e-4
    assert [float(b["data-ms"]) for b in bars] == [float(f"{r.ms:.6g}") for r in data.profile]


def test_quantization_errors_match_litert(int8_page, models):
    _, _, dom = int8_page
    rows = _tags(_section(dom, "quantization"), "tr", "qlayer")
    assert len(rows) == len(_tags(_section(dom, "quantization"), "g", "qbar")) == 8
    fl = litert_interpreter(models[0].read_bytes())
    fl.allocate_tensors()
    assert {r["data-name"] for r in rows} <= {t["name"] for t in fl.get_tensor_details()}
    for r in rows:
        assert np.isfinite(float(r["data-rel-rmse"])) and float(r["data-rel-rmse"]) > 0
        assert np.isfinite(float(r["data-sqnr"])) and float(r["data-sqnr"]) > 10
    # the output's error from scratch: LiteRT runs both models on the report's inputs (8 random, seeds 0..7)
    from edgerun.runtime.bench import random_inputs

    q = litert_interpreter(models[1].read_bytes())
    q.allocate_tensors()
    fi, qi, qo = fl.get_input_details()[0], q.get_input_details()[0], q.get_output_details()[0]
    diffs, ref = [], []
    for seed in range(8):
        (x,) = random_inputs([fi], seed=seed)
        fl.set_tensor(fi["index"], x)
        fl.invoke()
        s, z = qi["quantization"]
        q.set_tensor(qi["index"], np.clip(np.round(x / s) + z, -128, 127).astype(np.int8))
        q.invoke()
        s, z = qo["quantization"]
        f = fl.get_tensor(fl.get_output_details()[0]["index"]).astype(np.float64)
        diffs.append((q.get_tensor(qo["index"]).astype(np.float64) - z) * s - f)
        ref.append(f)
    d, f = np.concatenate([a.ravel() for a in diffs]), np.concatenate([a.ravel() for a in ref])
    rel = np.sqrt(np.mean(d ** 2)) / (f.max() - f.min())
    sqnr = 10 * np.log10(np.sum(f ** 2) / np.sum(d ** 2))
    probs = next(r for r in rows if r["data-name"] == "probs")
    assert float(probs["data-rel-rmse"]) == pytest.approx(rel, rel=1e-4)
    assert float(probs["data-sqnr"]) == pytest.approx(sqnr, abs=1e-3)


# -- without a float model, a large graph, the command ------------------------------------------------

def test_quantized_model_alone_says_what_to_give(models, tmp_path):
    out, data = write_report(models[1], tmp_path / "r.html", runs=1)
    assert data.quant is None
    q = _section(pathlib.Path(out).read_text(), "quantization")
    assert "--float FLOAT.tflite" in q and "qlayer" not in q


def test_float_model_without_common_names(models, tmp_path):
    """A --float model that shares no tensor name: the page still comes, with the reason in its place."""
    other = tmp_path / "other.tflite"
    other.write_bytes(export(_wide_deep(8)))
    out, data = write_report(models[1], tmp_path / "r.html", float_model=other, runs=1)
    assert data.quant is None and "no float activation tensor names in common" in data.quant_note
    assert "not compared with other.tflite" in _section(pathlib.Path(out).read_text(), "quantization")


def test_tensorflow_model_with_variables_and_subgraphs(tmp_path, chromium):
    """TensorFlow's streaming model (CALL_ONCE, resource variables, an init subgraph; tests/platforms/
    mcu_models.py) int8 against its float version: one node per op of LiteRT's main subgraph, the bars are
    the plan's arena tensors, and the int8 tensors are compared by name."""
    sys.path.insert(0, str(ROOT / "tests" / "platforms"))
    from mcu_models import streaming_model

    fpath, qpath = tmp_path / "s_float.tflite", tmp_path / "s_int8.tflite"
    fpath.write_bytes(streaming_model(None))
    qpath.write_bytes(streaming_model("int8"))
    out, data = write_report(qpath, tmp_path / "s.html", float_model=fpath, runs=2)
    dom = _dom(chromium, pathlib.Path(out))
    lit = litert_interpreter(qpath.read_bytes())
    lit.allocate_tensors()
    ops = lit._get_ops_details()
    nodes = _tags(_section(dom, "graph"), "g", "op")
    drawn = sorted(nodes, key=lambda n: int(n["data-index"]))
    assert [n["data-op"] for n in drawn] == [o["op_name"] for o in ops]
    assert data.subgraphs == 2 and "2 subgraphs (subgraph 0 drawn)" in dom
    _, plan = _plan(qpath)
    bars = _tags(_section(dom, "memory"), "rect", "tensor")
    assert sorted((int(b["data-offset"]), int(b["data-nbytes"])) for b in bars) == sorted(
        (t.offset, t.nbytes) for t in plan.main.tensors if t.storage == P.ARENA)
    rows = _tags(_section(dom, "quantization"), "tr", "qlayer")
    assert len(rows) >= 4 and all(np.isfinite(float(r["data-rel-rmse"])) for r in rows)
    assert _layout(dom)["quantization"]["visible"] == len(rows)


def test_four_hundred_ops_stay_readable(tmp_path, chromium):
    path = tmp_path / "deep.tflite"
    path.write_bytes(export(_wide_deep(400)))
    out, data = write_report(path, tmp_path / "deep.html", runs=1)
    assert len(data.subgraph.ops) == len(data.profile) == 400
    dom = _dom(chromium, pathlib.Path(out))
    nodes = _tags(_section(dom, "graph"), "g", "op")
    assert len(nodes) == 400
    svg = _tags(_section(dom, "graph"), "svg", "graph")[0]
    assert float(svg["width"]) < 1000            # two chains: two boxes a row, not one row of 400
    assert int(svg["data-layers"]) == 400 // 8 * 5   # per 8 ops: 4 on the longer chain, then the ADD
    lay = _layout(dom)
    assert lay["graph"]["visible"] == 400 and lay["profile"]["marks"] == 400
    _, plan = _plan(path)
    assert len(_tags(_section(dom, "memory"), "rect", "tensor")) == sum(
        t.storage == P.ARENA for t in plan.main.tensors)


def _cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "edgerun.cli", "report", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, env=env, timeout=300, check=False)


def test_command(models, tmp_path):
    fpath, qpath = models
    samples = np.random.default_rng(3).uniform(-1, 1, (5, 1, 10, 10, 3)).astype(F32)
    np.save(tmp_path / "s.npy", samples)
    res = _cli(qpath, "-o", tmp_path / "out" / "r.html", "--float", fpath, "--samples", tmp_path / "s.npy",
               "--runs", "2")
    assert res.returncode == 0, res.stderr
    assert re.match(r"wrote .*r\.html \(.*\): graph 7 ops, arena [\d,]+ B, profile of 7 ops, "
                    r"8 layers compared", res.stdout)
    page = (tmp_path / "out" / "r.html").read_text()
    assert "over 5 samples from s.npy" in page
    res = _cli(qpath, "--runs", "1", cwd=tmp_path)   # default name, in the current folder
    assert res.returncode == 0 and (tmp_path / "cnn_int8.report.html").is_file(), res.stderr


@pytest.mark.parametrize("args, message", [
    (["missing.tflite"], "model: no such file"),
    (["{q}", "--float", "nope.tflite"], "--float: no such file 'nope.tflite'"),
    (["{q}", "--float", "{f}", "--samples", "nope.npy"], "--samples: no such file 'nope.npy'"),
    (["{q}", "--float", "{f}", "--samples", "{bad}"], ("input 'image' has shape (1, 10, 10, 3) in the "
                                                      "float model; the file holds (3, 7)")),
    (["{q}", "--runs", "0"], "must be at least 1"),
])
def test_command_refusals(models, tmp_path, args, message):
    np.save(tmp_path / "bad.npy", np.zeros((3, 7), F32))
    fill = {"q": models[1], "f": models[0], "bad": tmp_path / "bad.npy"}
    res = _cli(*[a.format(**fill) for a in args], cwd=tmp_path)
    assert res.returncode in (1, 2) and message in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_render_escapes_names(models):
    from edgerun.runtime.report import collect

    data = collect(models[0], runs=1)
    data.model = '<script>alert("x")</script>.tflite'
    page = render(data)
    assert '<script>alert("x")' not in page and "&lt;script&gt;" in page
