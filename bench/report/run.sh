#!/usr/bin/env bash
# Issue 15 on the GPU machine (after tools/gpu/build.sh with fluxscope-cli and flux_gpu_tests): the report tests of
# the CUDA backend (attention time, recorded XAttention selections vs the CPU, measured memory), then a 128K-token
# run of the Qwen3-8B shape with random weights whose JSON report carries the block masks of its XAttention layers
# (every other layer SA xattn: 18 masks of 1024 x 1024 blocks) for the app's File > Open Report.
# Writes to $OUT (default bench/report/out): gpu_tests.log, r128k.log, r128k.json.
set -uo pipefail
out=${OUT:-bench/report/out}
mkdir -p "$out"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# gtest filters know only * and ?: Grid/CudaPrefill 70-99 and Blocks/CudaPrefillLong 30-47 are the XAttention cases.
filter='CudaReport.*:Grid/CudaPrefill.MatchesCpu/7?:Grid/CudaPrefill.MatchesCpu/8?:Grid/CudaPrefill.MatchesCpu/9?'
filter+=':Blocks/CudaPrefillLong.MatchesCpu/3?:Blocks/CudaPrefillLong.MatchesCpu/4?:CudaRandomWeights.*'
timeout "${TESTS_S:-200}" build-gpu/tests/flux_gpu_tests --gtest_filter="$filter" > "$out/gpu_tests.log" 2>&1
echo "gpu tests rc=$?"
grep -E '^\[  (PASSED|FAILED)|metric\] (layer|cuda)' "$out/gpu_tests.log" | head -60
timeout "${RUN_S:-240}" build-gpu/app/fluxscope-cli generate --random-weights qwen3-8b --backend cuda --router none \
  -c 131328 --prompt-tokens 131072 -n 8 --route "every-other sa=xattn" --report "$out/r128k.json" --overwrite \
  > "$out/r128k.log" 2>&1
echo "128K run rc=$?"
tail -5 "$out/r128k.log"
ls -la "$out"
