#!/usr/bin/env bash
# The CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included): any report aborts
# the test that triggered it, so a green run means zero reports. tools/test.sh runs this after the normal suite.
# Usage: tools/sanitize.sh [extra ctest args]. Env: FLUX_ASAN_BUILD_DIR (default build-asan), FLUX_JOBS (default 2).
# CUDA is off (ASan and the CUDA driver do not mix) and so is the Qt app (see docs/reliability.md); the GUI reaches
# the engine through the same code the engine tests cover here.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${FLUX_ASAN_BUILD_DIR:-build-asan}"
jobs="${FLUX_JOBS:-2}"
start=$(date +%s)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLUX_WERROR=ON \
  -DFLUX_SANITIZE=address,undefined -DFLUX_WITH_CUDA=OFF -DFLUX_WITH_UI=OFF >/dev/null
cmake --build "$build_dir" -j "$jobs"
built=$(date +%s)
supp="$PWD/tests/sanitize"
# detect_leaks stays on; the suppression file lists only third-party (libgomp) one-time allocations, never ours.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
# Two BLAS/OpenMP threads per test process: the suite runs two tests at once on the two CI cores.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" -LE 'gpu|soak' "$@"
echo "sanitize: build $((built - start)) s, tests $(($(date +%s) - built)) s"
