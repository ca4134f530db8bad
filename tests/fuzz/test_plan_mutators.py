"""Structure-aware fuzzing of plan files against the C library under ASan/UBSan (issue 12): the mutator of
tests/fuzz/plan_mutators.py reads and writes the documented layout exactly (a round trip gives the writer's bytes),
each of its mutations applies and yields a resealed file, and a bounded run of tests/fuzz/plan_fuzz.py over the
plans of the codegen test models (int8 and float CNNs, LSTM with WHILE, IF, variables, a NEON plan) finds no
crash, sanitizer report or hang. Oracle: the library's contract (refused with a message, or run and return).
The long run is the command in plan_fuzz.py's docstring."""
import os
import random
import struct
import subprocess
import time
import zlib

import plan_fuzz
import plan_mutators as pm
import pytest

MUTANTS = 200  # per seed plan, x 8 plans: ~25 s on the shared 2-core machine


@pytest.fixture(scope="module")
def seeds():
    return {label: plan_fuzz.seed_plan(label) for label in plan_fuzz.CI_SEEDS}


def test_parse_and_write_give_the_writers_bytes(seeds):
    """parse() reads every record of PLAN_FORMAT.md and write() lays them out as planfile.write_plan does."""
    for label, data in seeds.items():
        raw = pm.parse(data)
        assert pm.write(raw) == data, label
    raw = pm.parse(seeds["lstm_while-aarch64"])
    assert len(raw["subplans"]) > 1 and any(v[0] == 4 for b in raw["params"] for v in b["values"])  # WHILE refs
    raw = pm.parse(seeds["streaming_int8-android"])
    assert raw["variables"] and any(t["scales"] for t in raw["subplans"][0]["tensors"])


def test_the_neon_seed_is_a_neon_plan_the_host_runs(seeds):
    """The NEON kernel set's plan (dot layouts) carries the set name "portable", which this host's library runs:
    its unmutated seed loads and runs under the sanitizers like the others."""
    raw = pm.parse(seeds["kws_int8-neon"])
    names = [bytes(raw["strings"][o:o + n]).decode() for o, n in raw["kernels"]]
    assert "s8_conv2d_dot" in names and bytes(raw["header"][56:72]).rstrip(b"\0") == b"portable"


def test_each_mutation_applies_and_reseals(seeds):
    base = seeds["streaming_int8-android"]  # variables, CALL_ONCE, int8 quantization: every table has records
    for mutate in set(pm.MUTATIONS):
        done, out = None, base
        for s in range(40):  # a boundary value may equal the old one: the next seed then
            raw = pm.parse(base)
            done = mutate(random.Random(s), raw)
            out = pm.write(raw)
            if done and out != base:
                break
        assert done and out != base, (mutate.__name__, done)
        assert struct.unpack_from("<Q", out, 16)[0] == len(out), done
        assert struct.unpack_from("<I", out, 12)[0] == zlib.crc32(out[16:]), done


def test_mutants_are_deterministic_and_varied(seeds):
    base = seeds["if_cond-host"]
    assert pm.mutant(base, 5) == pm.mutant(base, 5)
    assert len({pm.mutant(base, s)[0] for s in range(30)}) >= 28


@pytest.mark.slow  # ~30 s: the quick subset skips it
def test_structured_plan_fuzz(seeds, tmp_path):
    """MUTANTS mutants of each seed plan through er_fuzz built with ASan/UBSan (one process per batch of 250, a
    child per mutant, 10 s each): none crashes, trips a sanitizer, misbehaves or hangs; a share still loads."""
    t = time.perf_counter()
    files = plan_fuzz.write_mutants(seeds, 0, MUTANTS, tmp_path)
    s = plan_fuzz.run_batches(files, jobs=2)
    s["total"], s["seconds"] = len(files), time.perf_counter() - t
    print(plan_fuzz.summary(s))
    assert not s["failures"], (
        "\n".join(s["failures"][:20]) + "\nrebuild one with `python tests/fuzz/plan_fuzz.py --show LABEL SEED`\n"
        + s["stderr"][-3000:])
    assert s["refused"] + s["ran"] + s["invoke-errors"] == len(files)
    assert s["ran"] >= 0.10 * len(files), s  # the mutants reach the kernels, not only the first checks


# -- regressions: the findings of the long runs, as edits of the parsed records (plain data, not byte offsets:
# TensorFlow's tensor names vary between conversions, so offsets move). (seed, what the mutant did, the edit,
# what the library must say when it refuses it).
def _patch(at, fmt, value):
    def edit(raw):
        raw["patches"].append((at, fmt, value))
    return edit


def _float(ctype, field, value):
    """Set float leaf `field` of the first params block of struct `ctype`."""
    def edit(raw):
        names = pm._leaf_names(raw)
        for blk in raw["params"]:
            off, length = raw["structs"][blk["struct"]][:2]
            if bytes(raw["strings"][off:off + length]).decode() == ctype:
                v = blk["values"][names[blk["struct"]].index(field)]
                v[2] = struct.unpack("<q", struct.pack("<d", value))[0]
                return
        raise AssertionError(f"no {ctype} block")
    return edit


SOFTMAX = "(non-negative and finite, scales positive, (255 * input scale + 64) / output scale below 2^30)"
REGRESSIONS = [
    ("if_cond-host", "header arena 2^31 bytes for 512 used: 2 GiB allocated and cleared, 10 s under ASan",
     _patch(72, "Q", 1 << 31), "header: arena of 2147483648 bytes, but its tensors and scratch use 512"),
    ("kws_int8-host", "softmax output scale -0: -inf probabilities converted to int32 (UB, UBSan overflow)",
     _float("er_q_softmax_params", "output_scale", -0.0), "output scale -0 " + SOFTMAX),
    ("kws_int8-neon", "softmax output scale 1e-30: probabilities past int32 (found by reading)",
     _float("er_q_softmax_params", "output_scale", 1e-30), "output scale 1e-30 " + SOFTMAX),
    ("kws_int8-host", "softmax beta NaN: NaN table and sums (found by reading)",
     _float("er_q_softmax_params", "beta", float("nan")), "softmax beta nan"),
]


@pytest.mark.parametrize("case", REGRESSIONS, ids=[c[0] + "-" + c[1].split(":")[0] for c in REGRESSIONS])
def test_plan_fuzz_regressions(seeds, case, tmp_path):
    """Each finding is refused with a message naming the field, at once, and runs clean under ASan/UBSan."""
    label, _, edit, message = case
    raw = pm.parse(seeds[label])
    edit(raw)
    path = tmp_path / "m.plan"
    path.write_bytes(pm.write(raw))
    (tmp_path / "list").write_text(f"{path}\n")
    done = subprocess.run([str(plan_fuzz.fuzz_binary()), "--verbose", "--timeout", "10", str(tmp_path / "list")],
                          capture_output=True, text=True, env=dict(os.environ, **plan_fuzz.ENV), check=False)
    assert done.returncode == 0 and done.stdout.startswith("refused 1 "), done.stdout + done.stderr
    assert message in done.stderr, done.stderr
