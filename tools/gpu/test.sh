#!/usr/bin/env bash
# Run on the GPU machine, from the repository root: build (tools/gpu/build.sh, CUDA on), run the GPU suite, the CPU
# suite, compute-sanitizer memcheck on a short GPU filter, and greedy generation CUDA vs CPU on the demo model when
# build.sh could assemble it. Full logs go to $OUT (or out/gpu-test); a short table is printed last.
set -uo pipefail
logs=${OUT:-out/gpu-test}
mkdir -p "$logs"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
summary=()
step() {  # step NAME TIMEOUT_S COMMAND...: runs one step, logs it, records pass/fail
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$logs/$name.log" 2>&1
  local rc=$?
  summary+=("$(printf '%-14s rc=%-3s %4ss  %s' "$name" "$rc" "$((SECONDS - start))" \
    "$(grep -E '^\[  (PASSED|FAILED)  \]|tests? (passed|failed)' "$logs/$name.log" | tr '\n' ' ' | cut -c1-110)")")
  return $rc
}

export FLUX_CMAKE_ARGS="-DFLUX_WITH_CUDA=ON ${FLUX_CMAKE_ARGS:-}"
step build 420 bash tools/gpu/build.sh || {
  tail -40 "$logs/build.log"; printf '%s\n' "${summary[@]}"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$logs/device.txt"

step gpu_tests 240 build-gpu/tests/flux_gpu_tests --gtest_brief=1
step cpu_tests 240 ctest --test-dir build-gpu -LE gpu -j "$(nproc)" --output-on-failure
# gtest filters know only * and ?: Grid/CudaPrefill.../4? is streaming n=257/1000 and triangle n=1, three blocks each.
gpu_filter='CudaBackend.*:CudaPrefillChunked.*:Grid/CudaPrefill.MatchesCpu/4?:Grid/CudaPrefill.MatchesCpu/7?'
gpu_filter+=':Grid/CudaDecode.MatchesCpu/2?:LongCache/CudaDecode.MatchesCpu/1:TinyModels/CudaModel.*'
# Tensor-core prefill at production blocks (Full n=1000, blocks 64/128, d 64/128) and the XAttention kernels.
gpu_filter+=':Blocks/CudaPrefillLong.MatchesCpu/?:CudaXAttnSelect.*:Shapes/CudaXAttnScores.*'
# Decode steps (device positions, recorded graphs), GEMV shapes, device sampling and pooling.
gpu_filter+=':CudaDecodeStep.*:CudaBackend.MatmulMatchesCpu:CudaSampling.*:CudaBackend.MeanOfRows*'
# The two tensor-core prefill kernels one by one (wgmma: TMA + mbarriers; mma.sync), all modes, n = 1000.
gpu_filter+=':Kernels/CudaPrefillKernels.TensorCoreKernelsMatchFloat64/1?'
step memcheck 240 compute-sanitizer --tool memcheck --error-exitcode 3 build-gpu/tests/flux_gpu_tests --gtest_brief=1 \
  --gtest_filter="$gpu_filter"
step racecheck 240 compute-sanitizer --tool racecheck --error-exitcode 3 build-gpu/tests/flux_gpu_tests \
  --gtest_brief=1 \
  --gtest_filter='Grid/CudaPrefill.MatchesCpu/4?:Grid/CudaDecode.MatchesCpu/5?:Blocks/CudaPrefillLong.MatchesCpu/1:Blocks/CudaPrefillLong.MatchesCpu/13:Shapes/CudaXAttnScores.*/2:CudaXAttnSelect.EqualsCpuOnRealScores:Kernels/CudaPrefillKernels.TensorCoreKernelsMatchFloat64/10:Kernels/CudaPrefillKernels.TensorCoreKernelsMatchFloat64/15'

cli=build-gpu/app/fluxscope-cli
model=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f "$model" ] && [ -x "$cli" ]; then
  prompt="What is the capital of France? Answer in one sentence."
  for route in fa "sa --sa-kind streaming --sink 16 --window 32 --block 16" "sa --sa-kind xattn --block 16"; do
    tag=$(echo "$route" | tr -c 'a-z0-9' '_' | cut -c1-24)
    for be in cuda cpu; do  # stdout (the generated text) apart from the log lines on stderr
      # shellcheck disable=SC2086
      timeout 120 "$cli" generate -m "$model" --backend "$be" --chat --temp 0 -n 40 -q --route $route -p "$prompt" \
        > "$logs/gen_${be}_${tag}.txt" 2> "$logs/gen_${be}_${tag}.err"
      summary+=("$(printf 'generate %-4s %-40s rc=%s' "$be" "$route" "$?")")
    done
    if cmp -s "$logs/gen_cuda_${tag}.txt" "$logs/gen_cpu_${tag}.txt"; then same=identical; else same=DIFFERENT; fi
    summary+=("greedy $route: CUDA vs CPU text $same")
    echo "--- route $route: cuda ---"; cat "$logs/gen_cuda_${tag}.txt"; echo
    echo "--- route $route: cpu ---"; cat "$logs/gen_cpu_${tag}.txt"; echo
  done
else
  summary+=("generate: skipped (no $model; build.sh assembles it from /root/parts)")
fi

echo "=== metrics (worst) ==="
grep -h '^\[metric\]' "$logs/gpu_tests.log" | sed -n 's/.*rel_err=\([^ ]*\).*/\1 &/p' | sort -g | tail -4
grep -h '^\[metric\] model' "$logs/gpu_tests.log"
grep -H -E 'ERROR SUMMARY|RACECHECK SUMMARY|FAILED' "$logs/memcheck.log" "$logs/racecheck.log" | head -8
grep -h -E '^\[  FAILED  \]' "$logs/gpu_tests.log" | head -20
echo "=== summary ($(cat "$logs/device.txt")) ==="
printf '%s\n' "${summary[@]}"
