#!/usr/bin/env bash
# Builds bench/cpu/prefill_gemm_micro.cpp against a build dir's engine library and runs it on one thread.
# Usage: prefill_gemm_micro.sh [build-dir]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
exe=$build/bench-prefill-gemm-micro
"${CXX:-g++}" -O3 -std=c++20 -fopenmp -I"$root" "$root/bench/cpu/prefill_gemm_micro.cpp" -o "$exe" \
  "$build/engine/libflux_engine.a" -lspdlog -lfmt -lopenblas
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$exe"
