"""A bounded coverage-guided run of tests/fuzz/atheris_models.py (issue 12): libFuzzer with the structure-aware
mutator over the robustness corpus; any finding (a foreign exception, a signal, a timeout, an out-of-memory)
fails the test with the path of the input libFuzzer wrote. The long run is the command in that file's docstring."""
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parent / "atheris_models.py"
SECONDS = 25


def test_atheris_bounded_run(corpus_dir, tmp_path):
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_dir, corpus)
    artifacts = tmp_path / "findings"
    artifacts.mkdir()
    r = subprocess.run([sys.executable, str(SCRIPT), f"-max_total_time={SECONDS}", "-rss_limit_mb=3072",
                        "-timeout=10", f"-artifact_prefix={artifacts}/", "-print_final_stats=1", str(corpus)],
                       capture_output=True, text=True, timeout=SECONDS + 240, check=False)
    out = r.stdout + r.stderr
    found = re.findall(r"Test unit written to (\S+)", out)
    assert r.returncode == 0 and not found, (
        f"atheris finding(s) {found} (exit {r.returncode}); rerun one with "
        f"`python {SCRIPT.relative_to(SCRIPT.parents[2])} FILE`:\n{out[-4000:]}")
    runs = int(re.search(r"stat::number_of_executed_units:\s*(\d+)", out).group(1))
    print(f"atheris: {runs} inputs in {SECONDS} s, {len(list(corpus.iterdir()))} in the corpus")
    assert runs >= 200, out[-2000:]  # the target ran (a broken harness exits at once)
