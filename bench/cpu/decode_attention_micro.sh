#!/usr/bin/env bash
# Builds bench/cpu/decode_attention_micro.cpp against a build dir's engine library and runs it with 1 and 2 threads.
# Usage: decode_attention_micro.sh [build-dir]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
exe=$build/bench-decode-attention-micro
"${CXX:-g++}" -O3 -std=c++20 -fopenmp -I"$root" "$root/bench/cpu/decode_attention_micro.cpp" -o "$exe" \
  "$build/engine/libflux_engine.a" -lspdlog -lfmt -lopenblas
for t in ${THREADS:-1 2}; do OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$t "$exe"; done
