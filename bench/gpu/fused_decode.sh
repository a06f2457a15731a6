#!/usr/bin/env bash
# Issue 18 point 1 on the GPU machine, one call after tools/gpu/build.sh (build-gpu/, repository root): the fused
# decode-step kernels' GPU tests, then decode A/B fused vs unfused (FLUX_CUDA_FUSED=1 / 0, same call) on the
# Qwen3-8B shape with Q4_K blocks and bf16, and the SmolLM2 shape. Logs under $OUT; the bench rows at the end.
#   FD_TESTS=0  no tests   FD_BENCH=0  no benches
set -uo pipefail
out=${OUT:-out/fused-decode}
mkdir -p "$out"
t0=$SECONDS
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
if [ "${FD_TESTS:-1}" != 0 ]; then
  timeout 150 build-gpu/tests/flux_gpu_tests --gtest_brief=1 \
    --gtest_filter='CudaFusedDecode.*:CudaDecodeStep.*:*CudaRopeScaling*:CudaQuantWeights.*:CudaReferenceDecode.*:*CudaModel*:CudaBackend.*:CudaRandomWeights.*' \
    > "$out/tests.log" 2>&1
  echo "tests rc=$? at $((SECONDS - t0)) s"
  grep -E 'FAILED|PASSED|Failure|\[metric\] fused|Expected|Which is' "$out/tests.log" | head -40
fi
cli=build-gpu/app/fluxscope-cli
bench() {  # bench NAME FUSED ARGS...: one bench row (markdown), full output in the log
  local name=$1 fused=$2; shift 2
  FLUX_CUDA_FUSED=$fused timeout 100 "$cli" bench --backend cuda --router none --roofline "$@" \
    > "$out/bench_${name}_fused$fused.log" 2>&1
  echo "$name fused=$fused rc=$? $(grep -E '^\|' "$out/bench_${name}_fused$fused.log" | tail -1)"
}
if [ "${FD_BENCH:-1}" != 0 ]; then
  {
    for f in 1 0; do bench 8b_q4_k $f --random-weights qwen3-8b --random-quant q4_k -c 8300 -p 8192 -n 32 -r 1; done
    for f in 1 0; do bench 8b_bf16 $f --random-weights qwen3-8b -c 8300 -p 8192 -n 32 -r 1; done
    for f in 1 0; do bench smol_bf16 $f --random-weights smollm2-135m -p 512 -n 128 -r 3; done
  } | tee "$out/bench_rows.txt"
  echo "benches done at $((SECONDS - t0)) s"
fi
