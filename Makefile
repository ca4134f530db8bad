# edgerun tooling in one place. `make test` is the README's test command and what .ci/run calls.
PY ?= python3

.PHONY: install test-models test test-fast sanitize bench schema ops-table kernels example lint

install: test-models
	$(PY) -m pip install -q -e ".[test]"
	bash platforms/mcu/install.sh
	bash platforms/lib/install.sh
	bash runtime/report/install.sh

# Real models the tests check (issue 10), as their packages ship them: the pinned wheels, without their
# dependencies, read with zipfile by tests/packaged_models.py (PINNED there names the same versions).
test-models:
	$(PY) -m pip download -q --no-deps -d tests/.model_cache/wheels rapidocr-onnxruntime==1.4.4 silero-vad==6.2.3

# Installs everything the tests need (pip extras; TensorFlow makes the reference models), runs them, then
# runs the runtime tests again with the C kernels built under ASan/UBSan.
test: install
	$(PY) -m pytest -q -n 2 --durations=30 tests
	PY=$(PY) bash tests/kernels/run_sanitized.sh

# The quick subset: no emulated board runs (qemu) and no whole-network tests.
test-fast:
	$(PY) -m pytest -q -x -n 2 -m "not emulated and not slow" tests

# Rebuild the C kernels in place (development), or with ASan/UBSan for `make sanitize`.
kernels:
	$(PY) kernels/build.py

sanitize:
	bash tests/kernels/run_sanitized.sh

bench:
	$(PY) -m pytest -q benchmarks --benchmark-enable

schema:
	$(PY) schema/generate.py

# The op table's docs (schema/OPS.md): LiteRT's answers to the probe models (schema/litert_ops.json), the types
# edgerun runs (the op table's _RUNS), then the markdown. Review the diff of schema/ops.py.
ops-table:
	$(PY) -m edgerun.schema.probe --litert
	$(PY) -m edgerun.schema.probe --write-runs
	$(PY) -m edgerun.schema.ops --markdown

example:
	$(PY) -m pip install -q -e ".[example]" && $(PY) examples/digits/run.py

lint:
	ruff check edgerun runtime converter schema tests
