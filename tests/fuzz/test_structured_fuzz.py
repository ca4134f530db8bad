"""Structure-aware fuzzing of load + allocate + invoke over the real models of the robustness corpus (issue 12):
every failure an edgerun.EdgerunError, no crash or hang (each batch runs in a child process that reports the
mutant it died on), and enough mutants still running. Oracle: edgerun's error hierarchy and the limits."""
import random

import mutators
import structured

SEEDS = 150  # x 8 models: ~40 s on the shared 2-core machine


def test_mutants_are_deterministic_and_each_mutation_applies(corpus_dir):
    base = (corpus_dir / "int8-cnn.tflite").read_bytes()
    a, what = mutators.mutant(base, 7)
    assert (a, what) == mutators.mutant(base, 7) and what
    assert len({mutators.mutant(base, s)[0] for s in range(20)}) >= 18  # seeds give different mutants
    for data in [base, (corpus_dir / "gru-while.tflite").read_bytes()]:
        for mutate in set(mutators.MUTATIONS):
            rng, done = random.Random(1), None
            for _ in range(20):
                m = mutators.unpack(data)
                done = mutate(rng, m)
                if done:
                    break
            if mutate is mutators.signature and not mutators.unpack(data).signatureDefs:
                continue
            assert done, mutate.__name__
            assert mutators.pack(m) != data, (mutate.__name__, done)


def test_quantization_and_options_mutations_reach_their_fields(corpus_dir):
    seen = set()
    for s in range(200):
        m = mutators.unpack((corpus_dir / "kws-int8.tflite").read_bytes())
        seen.update(w.split(":")[-1].split()[0] for w in mutators.mutate(m, random.Random(s), 3))
    for field in ["scale", "zeroPoint", "quantizedDimension", "shape", "inputs", "outputs"]:
        assert field in seen, (field, sorted(seen))
    assert any(w.startswith(("Conv2DOptions.", "DepthwiseConv2DOptions.")) for w in seen), seen


def test_structured_fuzz_of_real_models(corpus_dir):
    s = structured.fuzz(corpus_dir, 0, SEEDS, hang=20.0)
    share = s["ran"] / s["total"]
    print(f"structured fuzz: {s['total']} mutants, {share:.1%} still run, refused {s['refused']}, "
          f"slowest {s['slowest'][0]:.2f} s ({s['slowest'][1]} seed {s['slowest'][2]})")
    assert s["total"] == SEEDS * len(list(corpus_dir.glob("*.tflite")))
    assert not s["findings"], "\n".join(
        f"{f['kind']}: python tests/fuzz/structured.py CORPUS --show {f['model']} {f['seed']}: {f['detail']}"
        for f in s["findings"])
    assert s["slowest"][0] < 5.0, s["slowest"]
    assert share >= 0.10, share


def test_a_crashing_child_is_reported_with_its_mutant(corpus_dir, monkeypatch):
    monkeypatch.setenv("EDGERUN_FUZZ_SELFTEST_DIE_AT", "int8-cnn:3")
    s = structured.fuzz(corpus_dir, 2, 5)
    assert [(f["kind"], f["model"], f["seed"], f["detail"]) for f in s["findings"]] == [
        ("crash", "int8-cnn", 3, "signal 11")]
    assert s["total"] == 3 * len(list(corpus_dir.glob("*.tflite")))  # the child restarted and ran the rest
