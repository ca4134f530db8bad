"""Hostile plan files against the C library (platforms/lib): what the loader refuses, and a fuzz under ASan/UBSan.

The loader knows per kernel what the kernel dereferences without looking (platforms/lib/gen_layout.py finds
it in the kernel sources: the fewest inputs and outputs, the positions that may not be -1, the params pointers
that may not be NULL) and refuses plans that leave it out; every plan of the test models must still load.
The fuzz feeds *resealed* mutants (damaged, then given a correct length and CRC-32 so that they reach the
structural checks and the kernels) of the codegen test models, control flow included, to tools/er_fuzz.c
built with ASan/UBSan: each must be refused with a message, or run and return; a crash, a hang (per-mutant
timeout) or a sanitizer report fails. The regression cases are the findings of the long runs.

The long run (20,007 mutants of 13 model/target plans: 4 minutes on 2 idle cores, 10-12 under load; prints
each failing mutant's file and the sanitizer's report; --seed picks another sample):

    python tests/platforms/test_plan_fuzz.py --mutants 20000 --jobs 2 --seed 0 --out /tmp/plan-fuzz

CI runs a fixed sample of the same generator (test_fuzz_resealed_mutants: 3,000 mutants, 35-50 s).
"""
from __future__ import annotations

import argparse
import os
import random
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(HERE.parent)]  # mcu_models, test_clib; tests/oracle.py when run as a script
sys.path.insert(0, str(ROOT / "platforms" / "lib"))

import gen_layout
import mcu_models as mm
from edgerun.platforms import planfile as pf
from edgerun.platforms.codegen import prepare_for
from edgerun.platforms.lib.build import build
from test_clib import _boundary, run_plan, structural_fields
from test_codegen import MODELS, _steps

# (model, target) pairs of the fuzz: every codegen test model, host (desktop kernels) and a device (reference
# kernels); control flow (WHILE, IF), variables and CALL_ONCE (streaming), sparse, float16, dynamic range.
FUZZ_MODELS = [("kws_int8", "host"), ("kws_int8", "linux-aarch64"), ("mobilenet_v1_025_int8", "host"),
               ("kws_float", "host"), ("kws_float16", "linux-aarch64"), ("kws_dynamic", "host"),
               ("recurrent_while", "host"), ("recurrent_while", "linux-aarch64"), ("while_counter", "host"),
               ("if_cond", "host"), ("sparse_fc", "linux-aarch64"), ("streaming_int8", "android-arm64"),
               ("streaming_float", "host")]


def model_bytes(name: str) -> bytes:
    if name.startswith("streaming_"):
        q = name.split("_", 1)[1]
        return mm.streaming_model(None if q == "float" else q)
    return MODELS[name]()


LOOP_LIMIT = 10_000


def plan_of(name: str, target: str):
    """The prepared plan (for a device, with the reference kernel set, which the host library runs), its WHILE
    loops limited to LOOP_LIMIT iterations as Preparer(max_loop_iterations=) does: a plan without a limit may
    loop forever by design, as in TFLite (include/edgerun_runtime.h)."""
    plan = prepare_for(model_bytes(name), target, isa=None if target == "host" else "ref")  # runs on this host
    for sp in plan.subplans:
        for op in sp.ops:
            if op.kernel == "ctl_while" and not op.params.fields["max_iterations"]:
                op.params.fields["max_iterations"] = LOOP_LIMIT
    return plan


# -- the kernel contract table ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def contracts():
    ffi = gen_layout._header_ffi()
    return {k: gen_layout.kernel_contract(k, s, ffi) for k, s in gen_layout.kernel_params().items()}


def contract_problems(plan, contracts) -> list:
    """The Python twin of load.c's kernel_contract(): what the loader would refuse in `plan`."""
    out = []
    for k, sp in enumerate(plan.subplans):
        for op in sp.ops:
            c = contracts[op.kernel]
            where = f"subplan {k} {op.label} {op.kernel}"
            if len(op.inputs) < c["min_in"] or len(op.outputs) < c["min_out"]:
                out.append(f"{where}: {len(op.inputs)} inputs, {len(op.outputs)} outputs")
            out += [f"{where}: input {i} is -1" for i in c["required_in"]
                    if i < len(op.inputs) and op.inputs[i] < 0]
            out += [f"{where}: output {i} is -1" for i in c["required_out"]
                    if i < len(op.outputs) and op.outputs[i] < 0]
            for path in c["pointers"]:
                v = op.params.fields
                for part in path.replace("]", "").replace("[", ".").split("."):
                    v = v[int(part)] if part.isdigit() else v[part]
                if v is None:
                    out.append(f"{where}: params {path} is NULL")
            for (st, path), count in gen_layout.SIZED.items():
                if op.params is not None and op.params.ctype == st and op.params.fields[count] > 0 \
                        and op.params.fields[path] is None:
                    out.append(f"{where}: params {path} is NULL for {count} {op.params.fields[count]}")
    return out


def test_contract_table_covers_every_kernel():
    """layout_gen.c has one row per kernel of kernels/list/kernels.inc (and is current: the staleness test)."""
    text = (ROOT / "platforms" / "lib" / "src" / "layout_gen.c").read_text()
    rows = text[text.index("erl_kernels[] = {"):]
    import re

    row = r'^  \{"(\w+)", (?:"\w+"|NULL), \d+, \d+, 0x[0-9a-f]+u, 0x[0-9a-f]+u, "[\w \[\]]*", 0x[0-9a-f]+u\},$'
    names = re.findall(row, rows, re.MULTILINE)
    assert sorted(names) == sorted(gen_layout.kernel_names())
    check = [sys.executable, str(ROOT / "platforms" / "lib" / "gen_layout.py"), "--check"]
    assert subprocess.run(check, check=False).returncode == 0


def test_contract_scan_reads_the_kernels(contracts):
    """Spot checks of the scan against the sources, read by hand: conv biases are optional (`op->n_in > 2 ?`),
    TRANSPOSE_CONV's output-shape input 0 is not read, LSTM/RNN look their tensors up through params and test
    them, control flow tests its subplans, requantizing convs dereference multipliers and shifts."""
    assert contracts["s8_conv2d"] == {"min_in": 2, "min_out": 1, "required_in": {0, 1}, "required_out": {0},
                                      "pointers": ["multipliers", "shifts"]}
    assert contracts["s8_conv2d_dot"]["required_in"] == {0, 1}  # bias under `if (op->n_in > 2 && op->in[2])`
    assert contracts["f32_tconv2d"]["min_in"] == 3 and contracts["f32_tconv2d"]["required_in"] == {1, 2}
    assert contracts["any_select"]["required_in"] == {0, 1, 2}
    assert contracts["f32_maxpool_argmax"]["required_out"] == {0, 1}
    for k in ("f32_lstm", "h_rnn", "ctl_while", "ctl_if", "ctl_call_once"):
        assert contracts[k] == {"min_in": 0, "min_out": 0, "required_in": set(), "required_out": set(),
                                "pointers": []}, k
    assert contracts["f32_conv2d_fast"]["required_in"] == {0, 1}  # the portable instance, scanned in its place
    assert "channel_scales" in contracts["h_fc"]["pointers"]


@pytest.mark.parametrize("name,target", FUZZ_MODELS + [("mobilenet_v2_int8", "host"),
                                                       ("mobilenet_v2_int8", "linux-aarch64"),
                                                       ("streaming_int8_float_var", "linux-armv7")])
def test_every_test_model_plan_meets_the_contract(contracts, name, target):
    """No plan the desktop prepares is refused by the contract (the C library loading them: test_clib)."""
    assert contract_problems(plan_of(name, target), contracts) == []


# -- refusals --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def host_lib():
    return build("host")


def _kws_plan():
    return plan_of("kws_int8", "host")


def _first(plan, prefix):
    return next(op for op in plan.main.ops if op.kernel.startswith(prefix))


def test_missing_required_input_is_refused(host_lib, tmp_path):
    plan = _kws_plan()
    op = _first(plan, "s8_conv2d")
    op.inputs[1] = -1
    code, text = run_plan(host_lib, plan, _steps(MODELS["kws_int8"](), 1), tmp_path)
    assert code == 4 and f"op #{op.index} CONV_2D: kernel {op.kernel} needs input 1, the plan gives none (-1)" \
        in text, text


def test_too_few_inputs_are_refused(host_lib, tmp_path):
    plan = _kws_plan()
    op = _first(plan, "s8_conv2d")
    del op.inputs[1:]
    code, text = run_plan(host_lib, plan, _steps(MODELS["kws_int8"](), 1), tmp_path)
    assert code == 4 and f"kernel {op.kernel} reads at least 2 input(s) and 1 output(s), the plan gives 1 and 1" \
        in text, text


def test_null_required_params_pointer_is_refused(host_lib, tmp_path):
    plan = _kws_plan()
    op = _first(plan, "s8_conv2d")
    op.params.fields["shifts"] = None
    code, text = run_plan(host_lib, plan, _steps(MODELS["kws_int8"](), 1), tmp_path)
    assert code == 4 and f"kernel {op.kernel} dereferences params field shifts, the plan gives NULL" in text, text


def test_absent_optional_bias_still_loads(host_lib, tmp_path):
    """-1 where the kernel tests for it (a conv's bias) is not refused; the op runs without a bias."""
    plan = _kws_plan()
    op = _first(plan, "s8_conv2d")
    if len(op.inputs) < 3:
        pytest.skip("no bias")
    op.inputs[2] = -1
    outs = run_plan(host_lib, plan, _steps(MODELS["kws_int8"](), 1), tmp_path)
    assert isinstance(outs, list), outs


# -- regressions: the findings of the resealed fuzz, as edits of the plan (plain data) ---------------------
# Each is (model, target, what the mutant did, the edit, what the loader or invoke must say). Edits of the plan
# rather than byte offsets: TensorFlow's tensor names vary between conversions, so offsets move.
def _op(plan, kernel):
    """The first op of `kernel` (or its _opt form in an optimized plan, or whose params are of that struct)."""
    return next(op for sp in plan.subplans for op in sp.ops
                if kernel in (op.kernel, op.kernel.removesuffix("_opt"), op.params.ctype if op.params else None))


def _set(kernel, field, value, **more):
    def edit(plan):
        _op(plan, kernel).params.fields.update({field: value, **more})
    return edit


def _map_start(plan):
    _op(plan, "any_index_map").params.fields["table_start"][0] = 273


def _map_offset(plan):
    import numpy as np

    p = _op(plan, "any_index_map").params.fields
    ref = p["table"]
    data = np.array(plan.consts[ref.const]).view(np.uint8).copy()
    struct.pack_into("<q", data, ref.offset + 8 * p["table_start"][0], 8388618)
    plan.consts[ref.const] = data


def _koff(plan):
    import numpy as np

    ref = next(op.params.fields["koff"] for op in plan.main.ops
               if op.kernel == "f32_conv2d_fast" and op.params.fields["koff"] is not None)
    data = np.array(plan.consts[ref.const]).view(np.uint8).copy()
    struct.pack_into("<i", data, ref.offset + 4 * 5, 1 << 24)
    plan.consts[ref.const] = data


def _map_in_place(plan):
    op = _op(plan, "any_index_map")
    sp = next(sp for sp in plan.subplans if op in sp.ops)
    sp.tensors[op.outputs[0]].offset = sp.tensors[op.inputs[0]].offset


def _input(kernel, i):
    def edit(plan):
        _op(plan, kernel).inputs[i] = -1
    return edit


def _output(kernel, i):
    def edit(plan):
        _op(plan, kernel).outputs[i] = -1
    return edit


def _sub_forever(plan):
    """The WHILE body counts down instead of up: the loop would never end (LOOP_LIMIT stops it)."""
    _op(plan, "i32_binary").params.fields["op"] = 1  # ER_BIN_SUB


REGRESSIONS = [
    ("kws_float", "host", "conv groups 0: division by zero in the packed conv",
     _set("f32_conv2d_fast", "groups", 0), "params field groups is 0 (1..2147483647)"),
    ("mobilenet_v1_025_int8", "host", "MEAN shift 42609: shift past 31 in the requantization",
     _set("q_reduce", "shift", 42609), "params field shift is 42609 (-31..30)"),
    ("recurrent_while", "host", "STRIDED_SLICE table_start past the index table: wild read", _map_start,
     "index map dimension 0 reads table entries [273, +"),
    ("streaming_float", "host", "STRIDED_SLICE table entry past the input: wild read", _map_offset,
     "index map offset 8388618 past the input's"),
    ("kws_int8", "host", "conv weights -1: NULL read in the kernel", _input("s8_conv2d_madd", 1),
     "needs input 1, the plan gives none (-1)"),
    ("recurrent_while", "linux-aarch64", "gather indices -1 inside the WHILE body", _input("any_gather", 1),
     "needs input 1, the plan gives none (-1)"),
    ("streaming_int8", "android-arm64", "conv multipliers NULL", _set("s8_conv2d", "multipliers", None),
     "dereferences params field multipliers, the plan gives NULL"),
    ("kws_int8", "linux-aarch64", "softmax output -1", _output("q_softmax", 0),
     "needs output 0, the plan gives none (-1)"),
    ("kws_int8", "linux-aarch64", "softmax rows -2^60: rows * depth overflows", _set("q_softmax", "rows", -(1 << 60)),
     "field rows: -1152921504606846976 outside the +-(2^31 - 1) of counts and strides"),
    ("recurrent_while", "host", "GATHER batch 2^63-1 in the WHILE body: overflow",
     _set("any_gather", "batch", 2**63 - 1),
     "field batch: 9223372036854775807 outside"),
    ("recurrent_while", "host", "GATHER batch and outer 2^31-1: a product of four overflows (found by reading)",
     _set("any_gather", "batch", 2**31 - 1, outer=2**31 - 1), "params batch * outer * ... is"),
    ("kws_int8", "linux-aarch64", "depthwise input offset -2^31+1: overflow adding it to int8 values",
     _set("s8_dwconv2d_inplace", "input_offset", -(2**31) + 1), "params field input_offset is -2147483647"),
    ("streaming_float", "host", "STRIDED_SLICE output placed on its input: overlapping memcpy", _map_in_place,
     "output 0 shares input 0's bytes; kernel any_index_map does not run in place there"),
    ("mobilenet_v1_025_int8", "host", "softmax output zero point 2^31-1: overflow",
     _set("q_softmax", "output_zp", 2**31 - 1), "params field output_zp is 2147483647 (-32768..32767)"),
    ("streaming_float", "host", "concatenation outer 2^60: overflow", _set("er_concat_params", "outer", 1 << 60),
     "field outer: 1152921504606846976 outside"),
    ("kws_float", "host", "packed conv window offset 2^24: read past the input (found by reading)", _koff,
     "window offset koff[5] = 16777216 outside the window's"),
    ("while_counter", "host", "loop counter counts down: a hang without the plan's loop limit", _sub_forever,
     "WHILE loop ran past its iteration limit"),
]


@pytest.mark.parametrize("case", REGRESSIONS, ids=[f"{m}-{t}-{w.split(':')[0]}" for m, t, w, *_ in REGRESSIONS])
def test_fuzz_regressions(host_lib, case, tmp_path, monkeypatch):
    """Each finding is refused at load (or, the loop, stopped at invoke) with a message naming the op, and
    runs clean through the sanitizer build."""
    monkeypatch.setenv("EDGERUN_CONV_IN_PLACE_MIN_WIDTH", "1")  # packed float convs read windows in place (koff)
    name, target, _, edit, message = case
    plan = plan_of(name, target)
    edit(plan)
    data = pf.write_plan(plan)
    code, text = run_plan(host_lib, plan, _steps(model_bytes(name), 1), tmp_path, data=data)
    assert code in (4, 17) and message in text, text  # refused at open (4) / invoke failed, status 7 (17)
    (tmp_path / "m.plan").write_bytes(data)
    total = run_fuzz(build("host", sanitize=True).er_fuzz, [tmp_path / "m.plan"], jobs=1)
    assert not total["failures"], total


# -- mutants ----------------------------------------------------------------------------------------------
def value_fields(data: bytes) -> list:
    """(offset, size) of the integer leaf values of params blocks: the plan's numbers (strides, counts, axes,
    indices), which a hostile plan can set too. Not WHILE's max_iterations: a plan without a loop limit may
    loop forever (trusted, include/edgerun_runtime.h)."""
    sec = pf.read_header(data)["sections"]
    s_off = sec[pf.STRUCTS][0]
    names = []
    for k in range(struct.unpack_from("<I", data, s_off)[0]):
        at, length = struct.unpack_from("<II", data, s_off + 4 + 16 * k)
        names.append(data[sec[pf.STRINGS][0] + at:sec[pf.STRINGS][0] + at + length].decode())
    off = sec[pf.PARAMS][0]
    n = struct.unpack_from("<I", data, off)[0]
    out = []
    for k in range(n):
        b = off + struct.unpack_from("<Q", data, off + 4 + 8 * k)[0]
        leaves = pf.struct_leaves(names[struct.unpack_from("<I", data, b)[0]])
        for v in range(struct.unpack_from("<I", data, b + 4)[0]):
            at = b + 8 + 24 * v
            if struct.unpack_from("<I", data, at)[0] == pf.V_INT and leaves[v][0] != "max_iterations":
                out.append((at + 8, 8))
    return out


def reseal(m: bytearray) -> bytes:
    """A correct file length and CRC-32 for whatever the bytes now are (the length field only when the
    header is still there)."""
    if len(m) >= 24:
        m[16:24] = struct.pack("<Q", len(m))
    return pf.fix_checksum(m) if len(m) >= 16 else bytes(m)


def resealed_mutants(data: bytes, n: int, seed: int) -> list:
    """`n` resealed mutants of a plan file, one to three damages each: boundary values in structural fields
    (counts, offsets, lengths, ids, tags, -1 in tensor ids, NULL pointers) and in params integers, two fields
    swapped, bytes flipped anywhere (consts included), a truncation or a zeroed run."""
    rng = random.Random(seed)
    fields = structural_fields(data)
    values = value_fields(data)
    limits = [len(data)] + [v for off, length in pf.read_header(data)["sections"].values() for v in (off, length)]
    out = []
    for _ in range(n):
        m = bytearray(data)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            kind = rng.random()
            if kind < 0.45:
                at, size = rng.choice(fields)
            elif kind < 0.65 and values:
                at, size = rng.choice(values)
                old = int.from_bytes(m[at:at + size], "little", signed=True)
                v = rng.choice(NUMBERS + [old + 1, old - 1, -old, old * 2, old << 16, old ^ (1 << rng.randrange(40))])
                m[at:at + size] = (v % (1 << 64)).to_bytes(8, "little")
                continue
            elif kind < 0.75:
                (a, sa), (b, sb) = rng.choice(fields), rng.choice(fields)
                size = min(sa, sb)
                m[a:a + size], m[b:b + size] = m[b:b + size], m[a:a + size]
                continue
            elif kind < 0.9:
                for _ in range(rng.randrange(1, 5)):
                    m[rng.randrange(len(m))] ^= 1 << rng.randrange(8)
                continue
            elif kind < 0.95:
                at, size = rng.randrange(len(m)), rng.choice((4, 8, 16, 64))
                m[at:at + size] = bytes(len(m[at:at + size]))
                continue
            else:
                m = m[:rng.randrange(HEADER_CUT, len(m))]
                continue
            if at + size > len(m):
                continue
            old = int.from_bytes(m[at:at + size], "little")
            m[at:at + size] = _boundary(size, old, limits, rng).to_bytes(size, "little")
        out.append(reseal(m))
    return out


HEADER_CUT = 16
# params integers: zero, signs, the 32- and 64-bit edges and the powers of two products overflow from
NUMBERS = [0, 1, -1, 2, 3, 7, 8, 255, 256, 65535, 65536, (1 << 20), (1 << 30), (1 << 31) - 1, -(1 << 31) + 1,
           1 << 31, 1 << 32, (1 << 62), (1 << 63) - 1, -(1 << 63)]


def run_fuzz(fuzz_bin: Path, files: list, jobs: int, timeout: int = 10) -> dict:
    """Run er_fuzz over the files in `jobs` parallel lists: {"refused", "ran", "invoke-errors", "failures":
    [lines]}."""
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    procs = []
    tmp = Path(tempfile.mkdtemp(prefix="er-fuzz-lists."))
    for j in range(jobs):
        lst = tmp / f"list{j}.txt"
        lst.write_text("\n".join(map(str, files[j::jobs])) + "\n")
        procs.append(subprocess.Popen([str(fuzz_bin), "--timeout", str(timeout), str(lst)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    total = {"refused": 0, "ran": 0, "invoke-errors": 0, "failures": [], "stderr": ""}
    for p in procs:
        out, err = p.communicate()
        lines = out.splitlines()
        words = lines[0].split() if lines else []
        for key, v in zip(words[0::2], words[1::2]):
            if key in ("refused", "ran", "invoke-errors"):
                total[key] += int(v)
        total["failures"] += lines[1:]
        if p.returncode != 0:
            total["stderr"] += err[-4000:]
    return total


# -- CI: a fixed sample of resealed mutants -----------------------------------------------------------------
CI_MODELS = [("kws_int8", "host"), ("recurrent_while", "linux-aarch64"), ("if_cond", "host"),
             ("while_counter", "host"), ("streaming_int8", "android-arm64"), ("kws_float", "host")]


def test_fuzz_resealed_mutants(tmp_path, monkeypatch):
    """500 resealed mutants of each of 6 plans (3,000) under ASan/UBSan: each is refused or runs and returns;
    none crashes, hangs (10 s per mutant) or trips a sanitizer."""
    monkeypatch.setenv("EDGERUN_CONV_IN_PLACE_MIN_WIDTH", "1")  # packed float convs read windows in place (koff)
    lib = build("host", sanitize=True)
    files = []
    for k, (name, target) in enumerate(CI_MODELS):
        for j, m in enumerate(resealed_mutants(pf.write_plan(plan_of(name, target)), 500, seed=1000 + k)):
            p = tmp_path / f"{name}-{target}-{j:04d}.plan"
            p.write_bytes(m)
            files.append(p)
    total = run_fuzz(lib.er_fuzz, files, jobs=2)
    print(f"fuzz: {len(files)} resealed mutants: refused {total['refused']}, ran {total['ran']}, "
          f"invoke errors {total['invoke-errors']}")
    assert not total["failures"], "\n".join(total["failures"][:20]) + total["stderr"]
    assert total["refused"] + total["ran"] + total["invoke-errors"] == len(files)
    assert total["refused"] > 0 and total["ran"] + total["invoke-errors"] > 0, total


# -- the JNI binding on the sanitizer build -----------------------------------------------------------------
@pytest.mark.slow
def test_jni_binding_under_sanitizers(tmp_path):
    """The Java binding's tests (test_java.py) with libedgerun_jni.so and the library built with ASan/UBSan,
    in a JVM that preloads the sanitizer runtimes (the JVM itself is not instrumented; it handles SIGSEGV
    itself and keeps memory ASan would call leaked):

        LD_PRELOAD=$(cc -print-file-name=libasan.so):$(cc -print-file-name=libubsan.so) \\
        ASAN_OPTIONS=detect_leaks=0:handle_segv=0:allow_user_segv_handler=1 java -Djava.library.path=... ...
    """
    import shutil

    import test_java as tj
    from edgerun.platforms.lib.build import SANITIZE, include_dirs

    if shutil.which("javac") is None:
        pytest.skip("javac/java not found")
    javac = Path(os.path.realpath(shutil.which("javac")))
    jni_inc = javac.parents[1] / "include"
    lib = build("host", sanitize=True)
    inc = [f"-I{d}" for d in [jni_inc, jni_inc / "linux", *include_dirs()]]
    subprocess.run(["cc", "-shared", "-fPIC", "-std=c11", *SANITIZE, "-Wall", "-Wextra", "-Werror", *inc,
                    str(tj.ANDROID / "jni" / "edgerun_jni.c"), str(lib.library), "-lm", "-o",
                    str(tmp_path / "libedgerun_jni.so")], check=True)
    srcs = sorted(map(str, (tj.ANDROID / "java" / "ai" / "edgerun").glob("*.java")))
    subprocess.run([str(javac), "--release", "8", "-d", str(tmp_path / "classes"), *srcs, str(tj.JAVA_TEST)],
                   check=True)
    runtimes = [subprocess.run(["cc", f"-print-file-name=lib{n}.so"], capture_output=True, text=True,
                               check=True).stdout.strip() for n in ("asan", "ubsan")]
    env = {"LD_PRELOAD": ":".join(runtimes), "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
           "ASAN_OPTIONS": "detect_leaks=0:handle_segv=0:allow_user_segv_handler=1:halt_on_error=1"}
    java = [str(javac.parent / "java"), "-Xshare:auto", "-XX:TieredStopAtLevel=1",
            f"-Djava.library.path={tmp_path}", "-cp", str(tmp_path / "classes"), "EdgerunJavaTest"]
    jvm = (java, build("host").er_run)
    cases = [(tj.test_kws_int8_bit_exact, {"how": h, "io": i})
             for h, i in [("file", "array"), ("bytes", "direct"), ("buffer", "heap")]]
    cases += [(tj.test_float_two_inputs_two_outputs, {"io": i}) for i in ("array", "direct")]
    cases += [(tj.test_tensor_descriptions, {}), (tj.test_reset_variables_restarts_the_stream, {}),
              (tj.test_missing_file_throws_io_error, {}), (tj.test_wrong_inputs_throw_illegal_argument, {}),
              (tj.test_set_num_threads, {}), (tj.test_use_after_close, {})]
    cases += [(tj.test_truncated_or_corrupt_plan_throws_the_library_message, {"cut": c}) for c in (0, 50, 400, -16)]
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # java_run inherits the environment
    try:
        for k, (fn, kw) in enumerate(cases):
            (tmp_path / f"c{k}").mkdir()
            fn(jvm, tmp_path / f"c{k}", **kw)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# -- the long run -----------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description="Resealed plan-file mutants against the ASan/UBSan build")
    ap.add_argument("--mutants", type=int, default=20000, help="total, spread over the fuzz models")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=10, help="seconds per mutant")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "plan-fuzz")
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("EDGERUN_CONV_IN_PLACE_MIN_WIDTH", "1")  # packed float convs read windows in place
    lib = build("host", sanitize=True)
    args.out.mkdir(parents=True, exist_ok=True)
    files = []
    per = -(-args.mutants // len(FUZZ_MODELS))
    for k, (name, target) in enumerate(FUZZ_MODELS):
        data = pf.write_plan(plan_of(name, target))
        for j, m in enumerate(resealed_mutants(data, per, seed=args.seed * 1000 + k)):
            p = args.out / f"{name}-{target}-{args.seed}-{j:05d}.plan"
            p.write_bytes(m)
            files.append(p)
    print(f"{len(files)} mutants in {args.out}", flush=True)
    total = run_fuzz(lib.er_fuzz, files, args.jobs, args.timeout)
    print(f"refused {total['refused']} ran {total['ran']} invoke-errors {total['invoke-errors']} "
          f"failures {len(total['failures'])}")
    print("\n".join(total["failures"]))
    if total["stderr"]:
        print(total["stderr"], file=sys.stderr)
    return 1 if total["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
