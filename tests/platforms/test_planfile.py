"""The plan file (platforms/planfile.py, format in platforms/lib/PLAN_FORMAT.md): written plans read back to
the same plan (printed form, const bytes, params values), the header and sections follow the documented
layout, and the C library's layout table (platforms/lib/src/layout_gen.c) is generated from the current
headers."""
from __future__ import annotations

import dataclasses
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import mcu_models as mm
from edgerun.errors import UnsupportedOpError
from edgerun.platforms import planfile as pf
from edgerun.platforms.codegen import prepare_for
from test_codegen import MODELS


@pytest.fixture(scope="module")
def plans():
    return {
        ("kws_int8", "host"): prepare_for(MODELS["kws_int8"](), "host"),
        ("kws_int8", "linux-aarch64"): prepare_for(MODELS["kws_int8"](), "linux-aarch64"),
        ("recurrent_while", "host"): prepare_for(MODELS["recurrent_while"](), "host"),
        ("if_cond", "linux-armv7"): prepare_for(MODELS["if_cond"](), "linux-armv7"),
        ("streaming", "android-arm64"): prepare_for(mm.streaming_model("int8"), "android-arm64"),
    }


def _used_only(plan):
    """The plan as the file keeps it: tensors no op or input/output list names have no storage."""
    import copy

    from edgerun.runtime import plan as P

    plan = copy.copy(plan)
    subplans = []
    for sp in plan.subplans:
        used = set(sp.inputs) | set(sp.outputs) | {i for op in sp.ops for i in op.inputs + op.outputs}
        tensors = [t if t.index in used else dataclasses.replace(t, storage=P.NONE, offset=0, nbytes=0)
                   for t in sp.tensors]
        subplans.append(dataclasses.replace(sp, tensors=tensors))
    plan.subplans = subplans
    return plan


@pytest.mark.parametrize("key", [("kws_int8", "host"), ("kws_int8", "linux-aarch64"), ("recurrent_while", "host"),
                                 ("if_cond", "linux-armv7"), ("streaming", "android-arm64")])
def test_round_trip(plans, key):
    plan = plans[key]
    data = pf.write_plan(plan)
    back = pf.read_plan(data)
    assert str(back) == str(_used_only(plan))
    assert (back.target, back.isa, back.alignment, back.arena_bytes) == (plan.target, plan.isa, plan.alignment,
                                                                          plan.arena_bytes)
    assert len(back.consts) == len(plan.consts)
    for a, b in zip(back.consts, plan.consts):
        assert a.tobytes() == np.ascontiguousarray(b).tobytes()
    for sa, sb in zip(back.subplans, plan.subplans):
        for oa, ob in zip(sa.ops, sb.ops):
            assert oa.params == ob.params, oa.label
    assert [(v.name, v.type, v.shape, v.initial, v.nbytes) for v in back.variables] == \
        [(v.name, v.type, tuple(v.shape), v.initial, v.nbytes) for v in plan.variables]
    assert pf.write_plan(back) == data  # deterministic, and nothing lost


def test_header_and_sections(plans):
    plan = plans[("kws_int8", "linux-aarch64")]
    data = pf.write_plan(plan)
    assert data[:8] == b"EDGERUNP" and len(data) % 16 == 0
    version, crc, size = struct.unpack_from("<IIQ", data, 8)
    assert version == pf.FORMAT_VERSION and size == len(data) and crc == zlib.crc32(data[16:])
    h = pf.read_header(data)
    assert h["target"] == "linux-aarch64" and h["isa"] == "neon"  # packed for kernels/opt + kernels/neon
    offsets = sorted(h["sections"].values())
    assert list(h["sections"]) == list(range(1, 8))
    for (off, length), (nxt, _) in zip(offsets, offsets[1:] + [(len(data), 0)]):
        assert off % 16 == 0 and off + length <= nxt
    text = pf.describe(data)
    assert "for linux-aarch64, kernel set neon" in text and "s8_conv2d_dot" in text


def test_consts_are_aligned(plans):
    data = pf.write_plan(plans[("kws_int8", "host")])
    off, _ = pf.read_header(data)["sections"][pf.CONSTS]
    n = struct.unpack_from("<I", data, off)[0]
    for k in range(n):
        c_off, _ = struct.unpack_from("<QQ", data, off + 8 + 16 * k)
        assert (off + c_off) % 16 == 0


def test_corruption_is_detected(plans):
    data = bytearray(pf.write_plan(plans[("if_cond", "linux-armv7")]))
    data[len(data) // 2] ^= 0x40
    with pytest.raises(pf.PlanFileError, match="checksum"):
        pf.read_header(bytes(data))
    with pytest.raises(pf.PlanFileError, match="magic"):
        pf.read_header(b"not a plan" * 20)


def test_struct_leaves_flatten_nested_arrays():
    leaves = pf.struct_leaves("er_lstm_params")
    paths = [p for p, *_ in leaves]
    assert "dirs[1].in[23]" in paths and paths.index("dirs[0].n_output") < paths.index("dirs[1].in[0]")
    kinds = {p: k for p, k, *_ in pf.struct_leaves("er_while_params")}
    assert kinds == {"cond": "PLAN", "body": "PLAN", "max_iterations": "I64"}


def test_python_custom_op_is_refused():
    import edgerun
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (4,), np.float32)
    y = b.tensor("y", (4,), np.float32)
    b.op("CUSTOM", [x], [y], custom_code="MyPyPlanOp")
    b.inputs([x])
    b.outputs([y])
    model = b.finish()
    edgerun.register_custom_op("MyPyPlanOp", lambda ins, outs: np.copyto(outs[0], ins[0]))
    with pytest.raises(UnsupportedOpError, match="MyPyPlanOp.*Python"):
        pf.write_plan(prepare_for(model, "host"))


def test_layout_table_is_current():
    script = Path(pf.__file__).resolve().parent / "lib" / "gen_layout.py"
    r = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
