#!/usr/bin/env bash
# Issue 18 on the GPU machine, one call: build (CLI + GPU tests), the block-weight GPU tests, then decode with
# GGUF blocks on the device against bf16 (random weights; the demo GGUF cannot travel with the tree), a
# per-kernel ncu view of the block GEMVs on the 8B shape, and the whole GPU suite last. Logs under $OUT; a short
# table at the end. Run from the repository root (after .snap/apply.sh when the tree came as a snapshot).
#   QD_SKIP_BUILD=1  reuse build-gpu/   QD_NCU=0  no ncu   QD_SANITIZE=0  no memcheck/racecheck   QD_SUITE=0  no suite
#   QD_BENCH=0  no benches
set -uo pipefail
out=${OUT:-out/quant-decode}
mkdir -p "$out"
t0=$SECONDS
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv,noheader | tee "$out/device.txt"
if [ "${QD_SKIP_BUILD:-0}" != 1 ]; then
  FLUX_CMAKE_ARGS="-DFLUX_WITH_CUDA=ON" FLUX_BUILD_TARGETS="fluxscope-cli flux_gpu_tests" timeout 300 \
    bash tools/gpu/build.sh > "$out/build.log" 2>&1 || { echo "build failed"; tail -40 "$out/build.log"; exit 1; }
  echo "build done at $((SECONDS - t0)) s"
fi
timeout 120 build-gpu/tests/flux_gpu_tests --gtest_brief=1 --gtest_filter='CudaQuantWeights.*:CudaDeviceRouting.*:CudaFluxRouterGolden*' > "$out/quant_tests.log" 2>&1
echo "quant tests rc=$? at $((SECONDS - t0)) s"; grep -E 'FAILED|PASSED|Failure|rel_err|Expected|Which is' "$out/quant_tests.log" | head -30
cli=build-gpu/app/fluxscope-cli
bench() {  # bench NAME ARGS...: one bench row (markdown), full output in the log
  local name=$1; shift
  timeout 90 "$cli" bench --backend cuda --router none --roofline "$@" > "$out/bench_$name.log" 2>&1
  echo "$name rc=$? $(grep -E '^\|' "$out/bench_$name.log" | tail -1)"
}
{
[ "${QD_BENCH:-1}" != 0 ] && {
  bench smol_q4_1 --random-weights smollm2-135m --random-quant q4_1 -p 512 -n 128 -r 3
  bench smol_bf16 --random-weights smollm2-135m -p 512 -n 128 -r 3
  bench 8b_q4_k --random-weights qwen3-8b --random-quant q4_k -c 8300 -p 8192 -n 32 -r 1
  bench 8b_bf16 --random-weights qwen3-8b -c 8300 -p 8192 -n 32 -r 1
  bench 8b_q6_k --random-weights qwen3-8b --random-quant q6_k -c 8300 -p 8192 -n 32 -r 1
}
[ "${QD_ROUTER:-1}" != 0 ] && {
  # Prefill 512 on the SmolLM2 shape: the shipped router on the device, on the host (FLUX_DEVICE_ROUTING=0), all-FA.
  r=resources/routers/SmolLM2-135M-Instruct.router.safetensors
  for route in router fa; do
    timeout 90 "$cli" bench --backend cuda --random-weights smollm2-135m --router "$r" --route $route -p 512,4096 -n 8 -r 10 \
      > "$out/bench_route_$route.log" 2>&1; echo "route_$route rc=$?"; grep -E '^\| random' "$out/bench_route_$route.log"
  done
  FLUX_DEVICE_ROUTING=0 timeout 90 "$cli" bench --backend cuda --random-weights smollm2-135m --router "$r" --route router \
    -p 512,4096 -n 8 -r 10 > "$out/bench_route_host.log" 2>&1
  echo "route_router_host rc=$?"; grep -E '^\| random' "$out/bench_route_host.log"
  timeout 60 "$cli" generate --backend cuda --random-weights smollm2-135m --router "$r" --route router \
    --prompt-tokens 512 -n 4 --report "$out/route_report.json" > "$out/route_report.log" 2>&1
  echo "report rc=$?"; python3 -c "import json,statistics as s;L=json.load(open('$out/route_report.json'))['layers'];r=[l['router_ms'] for l in L if l.get('router_ms')];print('router_ms median',s.median(r),'max',max(r),'n',len(r),'SA',sum(l['mode']=='SA' for l in L))" 2>&1 | tail -2
}
} | tee "$out/bench_rows.txt"
echo "benches done at $((SECONDS - t0)) s"
if [ "${QD_NCU:-1}" != 0 ] && command -v ncu > /dev/null; then
  FLUX_CUDA_GRAPHS=0 timeout 150 ncu --clock-control none --kernel-name regex:quant_gemv --launch-skip 200 \
    --launch-count 12 --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__warps_active.avg.pct_of_peak_sustained_active \
    "$cli" bench --backend cuda --router none --random-weights qwen3-8b --random-quant q4_k -c 1100 -p 1024 -n 4 -r 1 \
    > "$out/ncu_8b_q4_k.log" 2>&1
  echo "ncu rc=$? at $((SECONDS - t0)) s"
  grep -E 'quant_gemv_kernel|gpu__time_duration|dram__bytes_read|dram__throughput|warps_active' "$out/ncu_8b_q4_k.log" |
    sed 's/  */ /g' | head -60
fi
if [ "${QD_SUITE:-1}" != 0 ]; then
  timeout 200 build-gpu/tests/flux_gpu_tests --gtest_brief=1 > "$out/gpu_tests.log" 2>&1
  echo "gpu suite rc=$? at $((SECONDS - t0)) s"; grep -E '^\[  (PASSED|FAILED)|FAILED  \]|tests ran' "$out/gpu_tests.log" | head -20
fi
if [ "${QD_SANITIZE:-1}" != 0 ]; then
  for tool in ${QD_SANITIZE_TOOLS:-memcheck racecheck}; do
    timeout 150 compute-sanitizer --tool $tool --error-exitcode 3 build-gpu/tests/flux_gpu_tests --gtest_brief=1 \
      --gtest_filter="${QD_SANITIZE_FILTER:-CudaQuantWeights.*:CudaDeviceRouting.*}" > "$out/$tool.log" 2>&1
    echo "$tool rc=$? at $((SECONDS - t0)) s: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED' "$out/$tool.log" | tr '\n' ' ' | cut -c1-200)"
  done
fi
echo "== rows"; cat "$out/bench_rows.txt"
