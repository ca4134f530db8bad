"""The benchmark a phone gets (platforms/lib/tools/er_bench.c), the C library's per-op profile, and
`edgerun bench MODEL --target android-arm64 --adb` (platforms/adb.py).

er_bench built for linux-aarch64 and linux-armv7 (static: the very file adb pushes) runs under qemu-user on
the KWS int8 plan (emulated): its percentiles are the ones its own run times give, its profile lists every op
record of the plan (index, op type, kernel) and the ops' times add up to less than the runs' and to most of
it. The profile API, on the host library: zeros until a profiled invoke, then one call per invoke on every
entry; off again it stops counting; outputs are the same bytes with it on. No phone here: a fake `adb` first
on PATH answers `devices`, `getprop`, `push`, `shell` and runs what was pushed under qemu-aarch64 from a temp
dir, so the whole flow runs end to end; without adb, with no ready device or with several and no SERIAL the
command says so and exits 1.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from edgerun.platforms import adb as A
from edgerun.platforms import planfile as pf
from edgerun.platforms.codegen import prepare_for
from edgerun.platforms.lib.build import TOOLCHAINS, build, include_dirs
from test_codegen import MODELS

from edgerun.cli import main as edgerun_main

DEVICES = ("linux-aarch64", "linux-armv7")


@pytest.fixture(scope="module")
def kws(tmp_path_factory):
    """The KWS int8 model as a file and its plan for android-arm64 (the reference kernel set)."""
    d = tmp_path_factory.mktemp("kws")
    model = MODELS["kws_int8"]()
    (d / "kws.tflite").write_bytes(model)
    plan = prepare_for(model, "android-arm64")
    (d / "kws.plan").write_bytes(pf.write_plan(plan))
    return d / "kws.tflite", d / "kws.plan", plan


def _check_report(report: dict, plan, plan_path: Path, runs: int, profile_runs: int):
    lat = report["latency_ns"]
    times = report["times_ns"]
    assert len(times) == runs and min(times) > 0
    assert lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert lat["min"] <= lat["mean"] <= lat["max"]
    # the same figures as the desktop bench's rule computes from the run times
    ours = A._percentiles(times)
    assert {k: ours[k] for k in ("min", "median", "p90", "p99", "max")} == \
        {k: lat[k] for k in ("min", "median", "p90", "p99", "max")}
    assert abs(ours["mean"] - lat["mean"]) <= 0.1
    assert report["plan_bytes"] == plan_path.stat().st_size
    assert report["arena_bytes"] == plan.arena_bytes
    # every op record of the main graph, in order, named as in the plan
    ops = report["ops"]
    assert [(o["record"], o["index"], o["op"], o["kernel"]) for o in ops] == \
        [(j, op.index, op.op, op.kernel) for j, op in enumerate(plan.main.ops)]
    assert all(o["calls"] == profile_runs and o["ns"] >= 0 for o in ops)
    op_ns, run_ns = sum(o["ns"] for o in ops), sum(report["profile_times_ns"])
    assert len(report["profile_times_ns"]) == profile_runs
    # the ops are timed inside each run: their sum is below the runs' and, the gaps being a few clock reads
    # between ops of hundreds of microseconds (under qemu), most of it
    assert 0 < op_ns <= run_ns and op_ns >= 0.5 * run_ns, (op_ns, run_ns)


@pytest.mark.emulated
@pytest.mark.parametrize("target", DEVICES)
def test_er_bench_under_qemu(kws, target):
    _, plan_path, plan = kws
    b = build(target)
    assert b.er_bench is not None and b.er_bench.exists()
    cmd = [*b.run_prefix, str(b.er_bench), "--runs", "7", "--warmup", "1", "--profile-runs", "4",
           str(plan_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["target"] == "android-arm64" and report["kernel_set"] == plan.isa
    assert report["runs"] == 7 and report["warmup"] == 1 and report["inputs"] == "seed 1"
    _check_report(report, plan, plan_path, 7, 4)


def test_er_bench_host_inputs_and_errors(kws, tmp_path):
    """Inputs from files, profile runs 0 (entries listed with zeros), and refusals with exit statuses."""
    plan = prepare_for(MODELS["kws_int8"](), "host")
    plan_path = tmp_path / "host.plan"
    plan_path.write_bytes(pf.write_plan(plan))
    b = build("host")
    t = plan.main.tensors[plan.main.inputs[0]]
    (tmp_path / "in0.bin").write_bytes(bytes(t.nbytes))
    done = subprocess.run([str(b.er_bench), "--runs", "3", "--profile-runs", "0", "--inputs", str(tmp_path),
                           str(plan_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["inputs"] == str(tmp_path) and report["profile_runs"] == 0
    assert report["profile_times_ns"] == []
    assert [o["kernel"] for o in report["ops"]] == [op.kernel for op in plan.main.ops]
    assert all(o["calls"] == 0 and o["ns"] == 0 for o in report["ops"])
    (tmp_path / "in0.bin").write_bytes(bytes(t.nbytes - 1))
    short = subprocess.run([str(b.er_bench), "--inputs", str(tmp_path), str(plan_path)], capture_output=True,
                           text=True, timeout=120)
    assert short.returncode == 2 and "in0.bin" in short.stderr and "shorter" in short.stderr
    (tmp_path / "bad.plan").write_bytes(plan_path.read_bytes()[:100])
    bad = subprocess.run([str(b.er_bench), str(tmp_path / "bad.plan")], capture_output=True, text=True)
    assert bad.returncode == 4 and "bad.plan" in bad.stderr
    usage = subprocess.run([str(b.er_bench), "--runs", "0", str(plan_path)], capture_output=True, text=True)
    assert usage.returncode == 1 and "--runs 0" in usage.stderr


# -- the profile API on the host library -------------------------------------------------------------------
PROFILE_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edgerun_runtime.h"

static void dump(edgerun_model *m, const char *when) {
  for (int32_t j = 0; j < edgerun_op_count(m); ++j) {
    edgerun_op_profile p;
    if (edgerun_profile(m, j, &p) != EDGERUN_OK) { printf("profile %d failed\n", j); exit(3); }
    printf("{\"when\": \"%s\", \"record\": %d, \"index\": %d, \"op\": \"%s\", \"kernel\": \"%s\", "
           "\"calls\": %llu, \"ns\": %llu}\n", when, j, p.index, p.op, p.kernel, (unsigned long long)p.calls,
           (unsigned long long)p.nanoseconds);
  }
}

/* invoke n times on the same input bytes; returns the last output 0 (malloc'd) */
static unsigned char *run(edgerun_model *m, int n, const unsigned char *x, size_t xb, size_t *yb) {
  edgerun_tensor_info o;
  edgerun_output_info(m, 0, &o);
  unsigned char *y = malloc(o.bytes);
  for (int k = 0; k < n; ++k) {
    edgerun_set_input(m, 0, x, xb);
    if (edgerun_invoke(m) != EDGERUN_OK) { printf("invoke: %s\n", edgerun_last_error(m)); exit(4); }
  }
  edgerun_get_output(m, 0, y, o.bytes);
  *yb = o.bytes;
  return y;
}

int main(int argc, char **argv) {
  char err[256];
  edgerun_model *m;
  if (edgerun_open_file(argv[1], &m, err, sizeof err) != EDGERUN_OK) { printf("open: %s\n", err); return 2; }
  edgerun_tensor_info in;
  edgerun_input_info(m, 0, &in);
  unsigned char *x = malloc(in.bytes);
  for (size_t i = 0; i < in.bytes; ++i) x[i] = (unsigned char)(i * 37u + 11u);
  size_t yb;
  dump(m, "opened");
  unsigned char *off = run(m, 3, x, in.bytes, &yb);
  dump(m, "off");
  edgerun_set_profiling(m, 1);
  unsigned char *on = run(m, 4, x, in.bytes, &yb);
  dump(m, "on");
  edgerun_set_profiling(m, 0);
  free(run(m, 2, x, in.bytes, &yb));
  dump(m, "off again");
  edgerun_reset_profile(m);
  dump(m, "reset");
  printf("{\"same_output\": %d}\n", memcmp(off, on, yb) == 0);
  edgerun_op_profile p;
  int32_t n = edgerun_op_count(m);
  printf("{\"past_end\": %d, \"message\": \"%s\"}\n", (int)edgerun_profile(m, n, &p), edgerun_last_error(m));
  printf("{\"negative\": %d, \"null\": %d, \"null_model\": %d, \"null_count\": %d}\n",
         (int)edgerun_profile(m, -1, &p), (int)edgerun_profile(m, 0, NULL),
         (int)edgerun_set_profiling(NULL, 1), (int)edgerun_op_count(NULL));
  free(x); free(off); free(on);
  edgerun_close(m);
  return 0;
}
"""


@pytest.fixture(scope="module")
def profile_program(tmp_path_factory):
    b = build("host")
    d = tmp_path_factory.mktemp("profile")
    (d / "profile.c").write_text(PROFILE_PROGRAM)
    exe = d / "profile"
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", *[f"-I{p}" for p in include_dirs()],
                    str(d / "profile.c"), str(b.library), "-lm", "-o", str(exe)], check=True,
                   capture_output=True)
    return exe


@pytest.mark.parametrize("name", ["kws_int8", "recurrent_while"])
def test_profile_api_on_host(profile_program, name, tmp_path):
    plan = prepare_for(MODELS[name](), "host")
    path = tmp_path / f"{name}.plan"
    path.write_bytes(pf.write_plan(plan))
    done = subprocess.run([str(profile_program), str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    entries: dict[str, list] = {}
    for e in lines:
        if "when" in e:
            entries.setdefault(e["when"], []).append(e)
    expected = [(j, op.index, op.op, op.kernel) for j, op in enumerate(plan.main.ops)]
    for when, es in entries.items():
        assert [(e["record"], e["index"], e["op"], e["kernel"]) for e in es] == expected, when
    for when in ("opened", "off", "reset"):
        assert all(e["calls"] == 0 and e["ns"] == 0 for e in entries[when]), when
    assert all(e["calls"] == 4 for e in entries["on"])
    assert sum(e["ns"] for e in entries["on"]) > 0
    assert entries["off again"] == [dict(e, when="off again") for e in entries["on"]]  # off: nothing counted
    if name == "recurrent_while":  # the loop's body and condition are inside the WHILE entry
        assert "WHILE" in [e["op"] for e in entries["on"]]
    tail = {k: v for e in lines if "when" not in e for k, v in e.items()}
    assert tail["same_output"] == 1
    n = len(plan.main.ops)
    assert tail["past_end"] == 1 and f"op record {n}: the main graph has {n}" in tail["message"]
    assert tail["negative"] == 1 and tail["null"] == 1 and tail["null_model"] == 1 and tail["null_count"] == 0


# -- bench --adb with a fake adb ---------------------------------------------------------------------------
FAKE_ADB = r'''#!{python}
"""A stand-in for adb: devices from FAKE_ADB_DEVICES ("serial:state,..."), the phone's /data/local/tmp under
FAKE_ADB_ROOT, pushed programs run with FAKE_ADB_RUN (a JSON list, e.g. qemu-aarch64) in front."""
import json, os, shlex, shutil, subprocess, sys

root = os.environ["FAKE_ADB_ROOT"]
listed = [tuple(d.split(":")) for d in os.environ.get("FAKE_ADB_DEVICES", "").split(",") if d]
argv = sys.argv[1:]
with open(os.path.join(root, "adb.log"), "a") as f:
    f.write(json.dumps(argv) + "\n")
serial = None
if argv[:1] == ["-s"]:
    serial, argv = argv[1], argv[2:]
if argv == ["devices"]:
    print("List of devices attached")
    for s, st in listed:
        print(f"{{s}}\t{{st}}")
    print()
    sys.exit(0)
ready = [s for s, st in listed if st == "device"]
if serial is None:
    if len(ready) != 1:
        sys.exit("adb: more than one device/emulator" if ready else "adb: no devices/emulators found")
    serial = ready[0]
if serial not in ready:
    sys.exit(f"adb: device '{{serial}}' not found")

def local(p):
    return root + p if p.startswith("/data/local/tmp") else p

if argv[0] == "push":
    shutil.copyfile(argv[1], local(argv[2]))
    print(f"{{argv[1]}}: 1 file pushed")
    sys.exit(0)
if argv[0] == "shell":
    args = shlex.split(" ".join(argv[1:]))  # adb joins its arguments into one command line
    if args[0] == "getprop":
        print({{"ro.product.model": "Fake Phone", "ro.product.cpu.abilist": os.environ.get("FAKE_ADB_ABI",
               "arm64-v8a,armeabi-v7a,armeabi")}}.get(args[1], ""))
        sys.exit(0)
    if args[0] == "mkdir":
        os.makedirs(local(args[-1]), exist_ok=True)
        sys.exit(0)
    if args[0] == "chmod":
        os.chmod(local(args[2]), int(args[1], 8))
        sys.exit(0)
    prog = local(args[0])
    if not os.access(prog, os.X_OK):
        sys.exit(f"/system/bin/sh: {{args[0]}}: Permission denied")
    done = subprocess.run([*json.loads(os.environ["FAKE_ADB_RUN"]), prog, *map(local, args[1:])])
    sys.exit(done.returncode)
sys.exit(f"fake adb: unknown command {{argv}}")
'''


@pytest.fixture
def fake_adb(tmp_path, monkeypatch):
    """Puts the fake adb first on PATH; returns a function setting its devices (and ABI)."""
    bin_dir, phone = tmp_path / "bin", tmp_path / "phone"
    bin_dir.mkdir()
    (phone / "data" / "local" / "tmp").mkdir(parents=True)
    adb = bin_dir / "adb"
    adb.write_text(FAKE_ADB.format(python=sys.executable))
    adb.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_ADB_ROOT", str(phone))
    monkeypatch.setenv("FAKE_ADB_RUN", json.dumps(TOOLCHAINS["linux-aarch64"][3]))  # qemu-aarch64 -L ...

    def devices(spec: str, abi: str | None = None):
        monkeypatch.setenv("FAKE_ADB_DEVICES", spec)
        if abi is not None:
            monkeypatch.setenv("FAKE_ADB_ABI", abi)
        return phone

    return devices


def _static_aarch64(path: Path) -> bool:
    """An AArch64 ELF executable with no program interpreter (PT_INTERP): a static binary."""
    import struct

    elf = path.read_bytes()
    if elf[:5] != b"\x7fELF\x02" or struct.unpack_from("<H", elf, 18)[0] != 183:
        return False
    phoff, = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    return all(struct.unpack_from("<I", elf, phoff + k * phentsize)[0] != 3 for k in range(phnum))


def _log(phone: Path) -> list:
    return [json.loads(line) for line in (phone / "adb.log").read_text().splitlines()]


@pytest.mark.emulated
def test_bench_adb_end_to_end(kws, fake_adb, capsys):
    model_path, _, plan = kws
    phone = fake_adb("emulator-5554:device,R58M1234:device")
    assert edgerun_main(["bench", str(model_path), "--target", "android-arm64", "--adb", "R58M1234",
                         "--runs", "5", "--warmup", "1"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    title = f"{model_path} on android-arm64 over adb (R58M1234, Fake Phone): 5 timed runs after 1 warm-up"
    assert lines[0] == title + ", 1 thread"
    assert lines[2].split() == ["runs", "min", "ms", "median", "ms", "p90", "ms", "p99", "ms", "mean", "ms"]
    assert lines[3].split()[0] == "er_bench" and lines[4].split()[:2] == ["er_bench", "profiled"]
    n = len(plan.main.ops)
    assert lines[5].startswith(f"per-op profile (on the device; {n} op records timed in sequence over 5 runs")
    assert lines[6].split() == ["op", "#", "op", "kernel", "ms", "share"]
    profile = lines[7:-1]
    assert sorted(line.split()[2] for line in profile) == sorted(op.kernel for op in plan.main.ops)
    shares = [float(line.split()[-1].rstrip("%")) for line in profile]
    assert shares == sorted(shares, reverse=True) and abs(sum(shares) - 100) < 1
    assert lines[-1].startswith("  by op type: ")
    log = _log(phone)
    pushed = [a for a in log if "push" in a]
    assert [a[-1] for a in pushed] == [f"{A.DEVICE_DIR}/er_bench", f"{A.DEVICE_DIR}/model.plan"]
    assert all(a[:2] == ["-s", "R58M1234"] for a in log if a != ["devices"])
    on_phone = phone / "data/local/tmp/edgerun"
    assert _static_aarch64(on_phone / "er_bench")  # what runs on Android without a loader
    assert (on_phone / "model.plan").read_bytes() == pf.write_plan(plan)
    assert ["-s", "R58M1234", "shell", "chmod", "755", "/data/local/tmp/edgerun/er_bench"] in log


@pytest.mark.emulated
def test_bench_adb_json_one_device(kws, fake_adb, capsys):
    model_path, plan_path, plan = kws
    fake_adb("0123456789ABCDEF:device")
    assert edgerun_main(["bench", str(model_path), "--target", "android-arm64", "--adb", "--runs", "3",
                         "--warmup", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["serial"] == "0123456789ABCDEF" and report["device"] == "Fake Phone"
    assert report["target"] == "android-arm64" and report["runs"] == 3 and report["warmup"] == 0
    _check_report(report, plan, plan_path, 3, 3)


@pytest.mark.parametrize("devices, serial, abi, message", [
    ("A1:device,B2:device", None, None, "adb: 2 devices connected (A1, B2): choose one with --adb SERIAL"),
    ("", None, None, "adb: no device connected (`adb devices` lists none)"),
    ("A1:unauthorized", None, None, "adb: device A1 is unauthorized: unlock the phone and accept"),
    ("A1:offline", None, None, "adb: device A1 is offline"),
    ("A1:device", "Z9", None, "adb: no device 'Z9'; connected: A1 (device)"),
    ("A1:device,B2:unauthorized", "B2", None, "adb: device B2 is unauthorized"),
    ("A1:device", None, "x86_64", "adb: device A1 runs x86_64, not arm64-v8a (android-arm64)"),
])
def test_bench_adb_device_messages(kws, fake_adb, capsys, devices, serial, abi, message):
    model_path = kws[0]
    phone = fake_adb(devices, abi)
    argv = ["bench", str(model_path), "--target", "android-arm64", "--adb", *([serial] if serial else [])]
    assert edgerun_main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("edgerun: error: ") and message in err, err
    assert not any("push" in a for a in _log(phone))  # nothing pushed


def test_bench_adb_without_adb(kws, tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("ANDROID_HOME", raising=False)
    monkeypatch.delenv("ANDROID_SDK_ROOT", raising=False)
    assert edgerun_main(["bench", str(kws[0]), "--target", "android-arm64", "--adb"]) == 1
    err = capsys.readouterr().err
    assert "edgerun: error: adb not found: install Android platform-tools" in err
    assert "(or use --target linux-aarch64 to run under emulation)" in err
    # $ANDROID_HOME/platform-tools/adb is found without PATH
    tools = tmp_path / "sdk" / "platform-tools"
    tools.mkdir(parents=True)
    (tools / "adb").write_text("#!/bin/sh\n")
    monkeypatch.setenv("ANDROID_HOME", str(tmp_path / "sdk"))
    assert A.find_adb() == str(tools / "adb")


def test_bench_adb_needs_an_android_target(kws, fake_adb, capsys):
    fake_adb("A1:device")
    assert edgerun_main(["bench", str(kws[0]), "--target", "linux-aarch64", "--adb"]) == 1
    err = capsys.readouterr().err
    assert "--adb runs on an Android phone: use --target android-arm64 or android-armv7" in err


def test_bench_adb_reports_a_failing_run(kws, fake_adb, monkeypatch, capsys):
    """The pushed program failing on the phone (here: a crash) is reported with its exit status and output."""
    fake_adb("A1:device")
    crash = ["sh", "-c", "echo Segmentation fault >&2; exit 139", "sh"]
    monkeypatch.setenv("FAKE_ADB_RUN", json.dumps(crash))
    assert edgerun_main(["bench", str(kws[0]), "--target", "android-arm64", "--adb", "--runs", "2"]) == 1
    err = capsys.readouterr().err
    assert f"edgerun: error: A1:{A.DEVICE_DIR}/er_bench failed (exit 139): Segmentation fault" in err, err


def test_parse_report():
    """A pty's \\r\\n (adb without shell protocol v2) is fine; output without the report is an error."""
    text = 'WARNING: linker: something\r\n{\r\n  "tool": "er_bench", "runs": 1\r\n}\r\n'
    assert A.parse_report(text, "here") == {"tool": "er_bench", "runs": 1}
    for bad in ("", "/system/bin/sh: er_bench: not executable: 64-bit ELF file", '{"tool": "x"}', "{ broken"):
        with pytest.raises(A.EdgerunError, match="here: er_bench printed no report"):
            A.parse_report(bad, "here")
