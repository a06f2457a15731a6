#!/usr/bin/env bash
# README command (1): set up, build, and run the main job on the embedded default model — the desktop app when a
# display is available, otherwise a CLI generation on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/fetch-demo-model.sh
build_dir="${FLUX_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${FLUX_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "${FLUX_JOBS:-2}"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$build_dir/app/fluxscope" ]; then
  exec "$build_dir/app/fluxscope" --model models/SmolLM2-135M-Instruct.Q4_1.gguf --prompt-file resources/prompts/short.txt
fi
exec "$build_dir/app/fluxscope-cli" generate --chat -n 64 -p "What is the capital of France? Answer in one sentence."
