#!/usr/bin/env bash
# README command (2): set up a fresh Debian 12 machine, build everything with warnings as errors, run the test suite.
# .ci/run calls exactly this. Usage: tools/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/fetch-demo-model.sh
build_dir="${FLUX_BUILD_DIR:-build}"
# -U: a build dir configured by tools/demo.sh (tests off, CUDA only with a GPU) goes back to the defaults.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -UFLUX_WITH_CUDA -DFLUX_BUILD_TESTS=ON -DFLUX_WERROR=ON \
  ${FLUX_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "${FLUX_JOBS:-2}"
# gpu-labelled tests need a GPU: they run on the GPU machine (tools/gpu/), never here; soak (100 runs) is run by hand.
QT_QPA_PLATFORM=offscreen ctest --test-dir "$build_dir" --output-on-failure -j "${FLUX_JOBS:-2}" -LE 'gpu|soak' "$@"
# Then the same suite (CPU, no UI) under ASan + UBSan + LeakSanitizer: zero reports or the run fails.
# FLUX_SANITIZE_SUITE=0 skips it for a quick local check.
if [ "${FLUX_SANITIZE_SUITE:-1}" != 0 ]; then bash tools/sanitize.sh "$@"; fi
# Then a short libFuzzer run of every parser target under ASan + UBSan (the long runs are by hand, docs/reliability.md):
# FLUX_FUZZ_SECONDS per target (default 15); 0 skips it.
if [ "${FLUX_FUZZ_SECONDS:-15}" != 0 ]; then bash tools/fuzz.sh "${FLUX_FUZZ_SECONDS:-15}"; fi
