#!/usr/bin/env bash
# README command (1): set up, build, and run the main job on the embedded default model — the desktop app when a
# display is available, otherwise a CLI generation on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/fetch-demo-model.sh
build_dir="${FLUX_BUILD_DIR:-build}"
# Only what runs: no test suite, and the CUDA kernels only where a GPU is there to run them (nvcc alone is not enough).
cuda=OFF
if command -v nvidia-smi > /dev/null && nvidia-smi -L 2> /dev/null | grep -q '^GPU'; then cuda=ON; fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLUX_BUILD_TESTS=OFF -DFLUX_WITH_CUDA=$cuda \
  ${FLUX_CMAKE_ARGS:-}
targets=(fluxscope-cli)
grep -q '^FLUX_WITH_UI:BOOL=ON' "$build_dir/CMakeCache.txt" && targets+=(fluxscope)
cmake --build "$build_dir" -j "${FLUX_JOBS:-2}" --target "${targets[@]}"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$build_dir/app/fluxscope" ]; then
  exec "$build_dir/app/fluxscope" --model models/SmolLM2-135M-Instruct.Q4_1.gguf --prompt-file resources/prompts/short.txt
fi
exec "$build_dir/app/fluxscope-cli" generate --chat -n 64 -p "What is the capital of France? Answer in one sentence."
