#!/usr/bin/env bash
# Run the runtime's op tests, and the optimized kernels against the reference under every ISA this CPU runs
# (runtime/isa.py), with the C kernels built under AddressSanitizer and UndefinedBehaviorSanitizer.
# Each tensor gets its own allocation (EDGERUN_SEPARATE_BUFFERS) so an overrun past any tensor is caught;
# UBSan aborts on the first report. Models come from the same converter cache as the normal run.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PY:-python3}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
# The structure-aware model fuzz (tests/fuzz/structured.py) runs a sample here too; its seed models are written
# first, with the normal kernels and without the sanitizer runtimes (TensorFlow's converter, tests/oracle.py's cache).
"$PY" tests/fuzz/atheris_models.py --write-corpus "$OUT/corpus" >/dev/null
EDGERUN_SANITIZE=1 "$PY" kernels/build.py --out "$OUT" >/dev/null
SO="$(ls "$OUT"/_kernels*.so)"
export EDGERUN_KERNELS_SO="$SO"
export EDGERUN_SEPARATE_BUFFERS=1
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
"$PY" -m pytest -q -n 2 -p no:cacheprovider -m "not slow" tests/runtime tests/kernels/test_conv_variants.py \
    tests/kernels/test_qconv_variants.py tests/kernels/test_qconv_vnni.py tests/kernels/test_qdw_x86.py \
    tests/kernels/test_thread_pool.py tests/kernels/test_q_bmm_tconv_variants.py \
    tests/kernels/test_resize_variants.py "$@"
# 38 seeds x 8 models = 304 mutants: each refused with an edgerun error or run; an ASan/UBSan report kills the
# child (a "crash" finding naming the model and seed), as does a hang (30 s without progress)
"$PY" tests/fuzz/structured.py "$OUT/corpus" --seeds 0:38 --hang 30
