"""The test tree itself: its folders are not packages, so pytest imports test modules by basename and two
files of the same name in different folders break collection (as tests/api/test_report.py once did)."""
import collections
from pathlib import Path


def test_test_module_basenames_are_unique():
    root = Path(__file__).resolve().parents[1]
    seen = collections.defaultdict(list)
    for p in root.rglob("test_*.py"):
        seen[p.name].append(str(p.relative_to(root)))
    assert not {k: v for k, v in seen.items() if len(v) > 1}
