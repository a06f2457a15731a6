#!/usr/bin/env bash
# SmolLM2 GGUF side by side with llama.cpp's CUDA build, on the GPU machine after tools/gpu/build.sh. llama.cpp is built
# from its public source next to ours (a source tarball you carry: LLAMA_TARBALL, default .carry/llama/*.tar.xz — e.g.
# vendor/llama.cpp of the llama-cpp-python sdist from PyPI, without its models/ and docs/; its code never enters this
# repository). Prints llama-bench's table, then ours for all-FA and the router (CUDA graphs on),
# and all-FA with FLUX_CUDA_GRAPHS=0 (one launch per kernel) to show what the recorded decode step buys.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
model=$root/models/SmolLM2-135M-Instruct.Q4_1.gguf
logs=${OUT:-out/peer}
tarball=${LLAMA_TARBALL:-$(ls "$root"/.carry/llama/llama.cpp-*.tar.xz 2>/dev/null | head -1)}
mkdir -p "$logs" /root/llama
if [ ! -x /root/llama/build/bin/llama-bench ]; then
  [ -f "$tarball" ] || { echo "no llama.cpp source tarball (LLAMA_TARBALL)" >&2; exit 1; }
  (cd /root/llama && [ -d ggml ] || tar xJf "$tarball" -C /root/llama --strip-components=1)
  cmake -S /root/llama -B /root/llama/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    > "$logs/llama_build.log" 2>&1
  cmake --build /root/llama/build -j "$(nproc)" --target llama-bench >> "$logs/llama_build.log" 2>&1 ||
    { tail -30 "$logs/llama_build.log"; exit 1; }
fi
[ -f "$model" ] || { echo "no $model (tools/gpu/build.sh assembles it)" >&2; exit 1; }
echo "== llama.cpp ($(basename "$tarball"))"
/root/llama/build/bin/llama-bench -m "$model" -ngl 99 -fa 0,1 -p 512,4096 -n 128 -r 5 -o md 2>&1 |
  tee "$logs/llama_bench.md"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cli=build-gpu/app/fluxscope-cli
for route in fa router; do
  echo "== fluxscope --route $route"
  "$cli" bench -m "$model" --backend cuda -p 512,4096 -n 128 -r 5 --route "$route" 2>&1 | tee "$logs/flux_$route.txt"
done
echo "== fluxscope --route fa, FLUX_CUDA_GRAPHS=0"
FLUX_CUDA_GRAPHS=0 "$cli" bench -m "$model" --backend cuda -p 512,4096 -n 128 -r 5 --route fa 2>&1 |
  tee "$logs/flux_fa_nographs.txt"
