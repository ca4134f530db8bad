"""`edgerun bench MODEL --target android-arm64 --adb [SERIAL]`: latency and per-op profile on a phone (adb).

    report = bench_adb("kws.tflite", serial=None, runs=50)   # prints the table, returns er_bench's JSON

The model is prepared for the target on the desktop and written as a plan file; tools/er_bench.c, built by
platforms/lib/build.py for linux-aarch64 (android-armv7: linux-armv7), is pushed with the plan to
/data/local/tmp/edgerun/ and run there with `adb shell`. That build is a static Linux executable: it makes
system calls only (no dynamic loader, no bionic), which Android's kernel runs from an adb shell as it runs
any static binary, so the same file that the tests run under qemu-aarch64 is what a phone gets. er_bench
prints one JSON object; `format_report` turns it into the desktop bench's table plus the per-op profile.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from edgerun.errors import EdgerunError

# Android target -> the platforms/lib build whose static er_bench runs there
ANDROID_BUILDS = {"android-arm64": "linux-aarch64", "android-armv7": "linux-armv7"}
ABI = {"android-arm64": "arm64-v8a", "android-armv7": "armeabi-v7a"}
DEVICE_DIR = "/data/local/tmp/edgerun"
EMULATION_HINT = "or use --target linux-aarch64 to run under emulation"


def find_adb() -> str:
    """adb from PATH, else $ANDROID_HOME (or $ANDROID_SDK_ROOT)/platform-tools; a plain error without it."""
    found = shutil.which("adb")
    if found:
        return found
    for var in ("ANDROID_HOME", "ANDROID_SDK_ROOT"):
        root = os.environ.get(var)
        if root and (Path(root) / "platform-tools" / "adb").is_file():
            return str(Path(root) / "platform-tools" / "adb")
    raise EdgerunError("adb not found: install Android platform-tools (https://developer.android.com/tools/"
                       "releases/platform-tools) and put adb on PATH or set ANDROID_HOME "
                       f"({EMULATION_HINT})")


def _adb(adb: str, serial: str | None, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [adb, *(["-s", serial] if serial else []), *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise EdgerunError(f"cannot run {adb}: {exc}") from None
    if check and done.returncode != 0:
        text = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise EdgerunError(f"`adb {' '.join(cmd[1:])}` failed (exit {done.returncode}): {text}")
    return done


def list_devices(adb: str) -> list[tuple[str, str]]:
    """(serial, state) of every device `adb devices` lists (state: device, unauthorized, offline, ...)."""
    out = _adb(adb, None, "devices").stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith(("List of devices", "*")):
            found.append((parts[0], parts[1]))
    return found


def choose_device(listed: list[tuple[str, str]], serial: str | None) -> str:
    """The serial to use: the one asked for, or the only ready device; plain messages otherwise."""
    def names(items):
        return ", ".join(f"{s} ({st})" for s, st in items)

    if serial:
        for s, st in listed:
            if s == serial:
                if st != "device":
                    raise EdgerunError(_state_message(s, st))
                return s
        raise EdgerunError(f"adb: no device {serial!r}; "
                           + (f"connected: {names(listed)}" if listed else "adb devices lists none"))
    ready = [s for s, st in listed if st == "device"]
    if len(ready) == 1:
        return ready[0]
    if len(ready) > 1:
        raise EdgerunError(f"adb: {len(ready)} devices connected ({', '.join(ready)}): "
                           "choose one with --adb SERIAL")
    if listed:
        raise EdgerunError("; ".join(_state_message(s, st) for s, st in listed))
    raise EdgerunError("adb: no device connected (`adb devices` lists none): connect a phone with USB "
                       f"debugging on ({EMULATION_HINT})")


def _state_message(serial: str, state: str) -> str:
    if state == "unauthorized":
        return (f"adb: device {serial} is unauthorized: unlock the phone and accept its 'Allow USB "
                "debugging' prompt, then run again")
    return f"adb: device {serial} is {state}, not ready (reconnect it or restart adb with `adb kill-server`)"


def parse_report(text: str, where: str) -> dict:
    """er_bench's JSON object out of its output (an adb shell without a pty adds nothing; a pty adds \\r)."""
    start = text.find("{")
    try:
        report = json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        report = None
    if not isinstance(report, dict) or report.get("tool") != "er_bench":
        raise EdgerunError(f"{where}: er_bench printed no report: {text.strip()[-2000:] or '(nothing)'}")
    return report


def _ms(ns: float) -> float:
    return ns / 1e6


def _human(n: int) -> str:
    if n < 0:
        return "unknown"
    return f"{n:,} B" if n < 10 * 1024 else f"{n / 1024:.1f} KiB" if n < 10 << 20 else f"{n / (1 << 20):.1f} MiB"


def _percentiles(times: list) -> dict:
    """Latency figures as the desktop bench and er_bench compute them: percentiles by nearest rank."""
    s = sorted(times)
    n = len(s)
    median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return {"min": s[0], "median": median, "p90": s[max(0, (90 * n + 99) // 100 - 1)],
            "p99": s[max(0, (99 * n + 99) // 100 - 1)], "mean": sum(s) / n, "max": s[-1]}


def format_report(report: dict, title: str, top: int = 20, out=print) -> None:
    """The desktop bench's table (one row per kind of run) and per-op profile (slowest first)."""
    out(title)
    out(f"  plan file {_human(report['plan_bytes'])}, model block {_human(report['model_bytes'])} (arena "
        f"{_human(report['arena_bytes'])}), peak RSS {_human(report['peak_rss_bytes'])}; kernel set "
        f"{report['kernel_set']}, inputs {report['inputs']}")
    out(f"  {'runs':<18} {'min ms':>9} {'median ms':>10} {'p90 ms':>9} {'p99 ms':>9} {'mean ms':>9}")
    rows = [("er_bench", report["latency_ns"])]
    if report["profile_runs"]:
        rows.append(("er_bench profiled", _percentiles(report["profile_times_ns"])))
    for name, st in rows:
        out(f"  {name:<18} {_ms(st['min']):>9.3f} {_ms(st['median']):>10.3f} {_ms(st['p90']):>9.3f} "
            f"{_ms(st['p99']):>9.3f} {_ms(st['mean']):>9.3f}")
    ops, runs = report["ops"], report["profile_runs"]
    total = sum(o["ns"] for o in ops)
    if not runs or total == 0:
        out(f"per-op profile: not taken ({len(ops)} op records)")
        return
    out(f"per-op profile (on the device; {len(ops)} op records timed in sequence over {runs} runs, mean per "
        f"invoke; total {_ms(total / runs):.3f} ms; control-flow ops include their subplans)")
    out(f"  {'op #':>5} {'op':<24} {'kernel':<28} {'ms':>8} {'share':>7}")
    ranked = sorted(ops, key=lambda o: (-o["ns"], o["record"]))
    for o in ranked[:top]:
        out(f"  {o['index']:>5} {o['op'][:24]:<24} {o['kernel'][:28]:<28} {_ms(o['ns'] / runs):>8.4f} "
            f"{o['ns'] / total:>6.1%}")
    rest = ranked[top:]
    if rest:
        ns = sum(o["ns"] for o in rest)
        out(f"  ... {len(rest)} more ops: {_ms(ns / runs):.4f} ms ({ns / total:.1%})")
    by_type: dict[str, int] = {}
    for o in ops:
        by_type[o["op"]] = by_type.get(o["op"], 0) + o["ns"]
    out("  by op type: " + ", ".join(f"{k} {v / total:.0%}" for k, v in
                                     sorted(by_type.items(), key=lambda kv: -kv[1])[:6]))


def bench_adb(model, serial: str | None = None, runs: int = 50, warmup: int = 5,
              target: str = "android-arm64", profile_runs: int | None = None, top: int = 20, out=print,
              as_json: bool = False) -> dict:
    """Prepare `model` for `target`, push er_bench and the plan to the phone, run them, print and return the
    report (er_bench's JSON plus the device's serial, model and ABI)."""
    from edgerun.platforms.codegen import prepare_for
    from edgerun.platforms.lib.build import build
    from edgerun.platforms.planfile import write_plan

    if target not in ANDROID_BUILDS:
        raise EdgerunError(f"--adb runs on an Android phone: use --target {' or '.join(ANDROID_BUILDS)} "
                           f"(got {target}; linux-* targets run under emulation without --adb)")
    if runs < 1 or warmup < 0 or (profile_runs is not None and profile_runs < 0):
        raise EdgerunError(f"--runs must be at least 1 and --warmup at least 0 (got {runs}, {warmup})")
    adb = find_adb()
    serial = choose_device(list_devices(adb), serial)
    props = {}
    for key in ("ro.product.model", "ro.product.cpu.abilist"):
        props[key] = _adb(adb, serial, "shell", "getprop", key, check=False).stdout.strip()
    abis = props["ro.product.cpu.abilist"]
    if abis and ABI[target] not in abis.split(","):
        raise EdgerunError(f"adb: device {serial} runs {abis}, not {ABI[target]} ({target})")
    plan = prepare_for(model, target)
    tool = build(ANDROID_BUILDS[target]).er_bench
    with tempfile.TemporaryDirectory(prefix="edgerun-adb-") as tmp:
        local_plan = Path(tmp) / "model.plan"
        local_plan.write_bytes(write_plan(plan))
        _adb(adb, serial, "shell", "mkdir", "-p", DEVICE_DIR)
        _adb(adb, serial, "push", str(tool), f"{DEVICE_DIR}/er_bench")
        _adb(adb, serial, "push", str(local_plan), f"{DEVICE_DIR}/model.plan")
    _adb(adb, serial, "shell", "chmod", "755", f"{DEVICE_DIR}/er_bench")
    args = ["--runs", str(runs), "--warmup", str(warmup)]
    if profile_runs is not None:
        args += ["--profile-runs", str(profile_runs)]
    command = [f"{DEVICE_DIR}/er_bench", *args, f"{DEVICE_DIR}/model.plan"]
    done = _adb(adb, serial, "shell", *command, check=False)
    where = f"{serial}:{DEVICE_DIR}/er_bench"
    if done.returncode != 0:
        raise EdgerunError(f"{where} failed (exit {done.returncode}): "
                           f"{(done.stderr.strip() or done.stdout.strip())[-2000:]}")
    report = parse_report(done.stdout, where)
    report.update({"model": str(model), "target": target, "serial": serial,
                   "device": props["ro.product.model"], "abi": abis,
                   "command": shlex.join(["adb", "-s", serial, "shell", *command])})
    if as_json:
        out(json.dumps(report))
    else:
        device = f"{serial}{', ' + props['ro.product.model'] if props['ro.product.model'] else ''}"
        format_report(report, f"{model} on {target} over adb ({device}): {runs} timed runs after {warmup} "
                      f"warm-up, 1 thread", top=top, out=out)
    return report


def bench_adb_cli(args) -> int:
    """`edgerun bench MODEL --target android-arm64 --adb [SERIAL] [--runs N] [--warmup N] [--json]`."""
    bench_adb(args.model, serial=args.adb or None, runs=args.runs, warmup=args.warmup,
              target=args.target or "android-arm64", top=getattr(args, "top", None) or 20, as_json=args.json)
    return 0
