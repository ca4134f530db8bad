"""tests/oracle_ops.json (which ops LiteRT's builtin resolver runs, written by tests/litert_probe.py) covers
every BuiltinOperator of the schema and still says what LiteRT answers."""
import json
import pathlib
import subprocess
import sys

import pytest

PROBE = pathlib.Path(__file__).parents[1] / "litert_probe.py"
DATA = pathlib.Path(__file__).parents[1] / "oracle_ops.json"


def test_probe_file_covers_the_schema():
    from edgerun.schema import schema_generated as fb

    names = {n for n in vars(fb.BuiltinOperator) if not n.startswith("_")} - {"CUSTOM",
                                                                             "PLACEHOLDER_FOR_GREATER_OP_CODES"}
    data = json.loads(DATA.read_text())
    assert set(data["builtin"]) == names
    assert data["builtin"]["ADD"][0] == 1 and data["builtin"]["CALL"] is None


@pytest.mark.slow
def test_probe_file_is_current():
    res = subprocess.run([sys.executable, str(PROBE), "--check"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
