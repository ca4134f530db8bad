"""A bounded coverage-guided run of tests/fuzz/atheris_plans.py (issue 12): libFuzzer with the structure-aware
plan mutator over the plan-file C library built by clang (zig cc) with coverage counters and ASan; any finding
(a crash, a sanitizer report, a call failing without a message, a timeout, an out-of-memory) fails the test with
the path of the input libFuzzer wrote. The long run is the command in that file's docstring."""
import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parent / "atheris_plans.py"
SECONDS = 15


@pytest.mark.slow  # builds the library with clang first (~1 min on 2 cores), then runs SECONDS
def test_atheris_plan_bounded_run(tmp_path):
    for module in ("atheris", "ziglang"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    artifacts = tmp_path / "findings"
    artifacts.mkdir()
    r = subprocess.run([sys.executable, str(SCRIPT), f"-max_total_time={SECONDS}", "-rss_limit_mb=3072",
                        "-timeout=10", f"-artifact_prefix={artifacts}/", "-print_final_stats=1",
                        str(tmp_path / "corpus")], capture_output=True, text=True, timeout=SECONDS + 600, check=False)
    out = r.stdout + r.stderr
    found = re.findall(r"Test unit written to (\S+)", out)
    assert r.returncode == 0 and not found, (
        f"atheris finding(s) {found} (exit {r.returncode}); rerun one with "
        f"`python {SCRIPT.relative_to(SCRIPT.parents[2])} FILE`:\n{out[-4000:]}")
    counters = int(re.search(r"Loaded 1 modules\s+\((\d+) inline 8-bit counters\)", out).group(1))
    runs = int(re.search(r"stat::number_of_executed_units:\s*(\d+)", out).group(1))
    kept = len(re.findall(r"NEW\s+cov: .* MS: .*Custom", out))
    print(f"atheris plans: {runs} inputs in {SECONDS} s, C coverage counters {counters}, "
          f"{kept} new inputs kept from the structure-aware mutator")
    assert counters > 5000  # the C library's counters, not only Python's
    assert runs >= 300 and kept > 0, out[-2000:]  # the target ran, and coverage fed back
