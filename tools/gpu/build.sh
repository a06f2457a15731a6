#!/usr/bin/env bash
# Run on the GPU machine, from the repository root: unpack the carried ICU, assemble the demo model from its parts in
# /root/parts (appended by earlier calls), and build the engine, CLI and tests (no Qt there) into build-gpu/.
set -euo pipefail
deps=/opt/fluxdeps
if [ ! -d "$deps/usr/include/unicode" ]; then
  for f in .carry/deps/*.deb; do dpkg -x "$f" "$deps"; done
  # FindICU looks in <root>/lib, not the multiarch folder the Debian packages use.
  ln -sf "$deps"/usr/lib/x86_64-linux-gnu/libicu* "$deps/usr/lib/"
fi
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ ! -f models/SmolLM2-135M-Instruct.Q4_1.gguf ] && ls /root/parts/smol.part.* > /dev/null 2>&1; then
  mkdir -p models
  cat /root/parts/smol.part.* > models/SmolLM2-135M-Instruct.Q4_1.gguf
fi
if [ -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
  sha=$(grep -o 'sha256="[0-9a-f]*"' tools/fetch-demo-model.sh | cut -d'"' -f2)
  echo "$sha  models/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum --check
fi
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLUX_WITH_UI=OFF -DICU_ROOT="$deps/usr" \
  -DCMAKE_CUDA_ARCHITECTURES=90a ${FLUX_CMAKE_ARGS:-}
# FLUX_BUILD_TARGETS (space-separated) builds only those targets: quick kernel iterations.
# shellcheck disable=SC2086
cmake --build build-gpu -j "$(nproc)" ${FLUX_BUILD_TARGETS:+--target $FLUX_BUILD_TARGETS}
