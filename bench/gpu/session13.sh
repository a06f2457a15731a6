#!/usr/bin/env bash
# Issue 18, session 13, on the GPU machine in ONE call after tools/gpu/build.sh (build-gpu/, repository root), about
# 6-7 minutes: the GPU tests of the fused router kernel (kernels/router_fused.cu) and of the decode attention that
# combines its splits in its last block, plus the suites those paths run under; compute-sanitizer memcheck and
# racecheck on the two new tests; decode against the roofline on the Qwen3-8B shape (random bf16 weights, all-FA and
# streaming at 8K/32K/64K/128K, Q4_K blocks at 8K, the unfused decode at 8K for the A/B); the router prefill A/B on
# the SmolLM2 shape (all-FA / router fused / router composed, FLUX_ROUTER_FUSED=0) and a report's router_ms.
# Every step has a timeout; a step that would start past the budget is skipped and says so. Logs (small) under $OUT,
# compact markdown on stdout.
#   S13_BUDGET=420  seconds for the whole call   S13_TESTS=0 / S13_SANITIZE=0 / S13_DECODE=0 / S13_ROUTER=0  skip
#   S13_BACKEND=cpu S13_BIG=smollm2-135m S13_DEPTHS=64,128 S13_CTX=200 S13_ROUTER_P=64 ...: a dry run on the CPU
#   (checks the script's logic; tests and sanitizers are skipped there when their binaries are missing)
set -uo pipefail
out=${OUT:-out/session13}
mkdir -p "$out"
t0=$SECONDS
budget=${S13_BUDGET:-420}
build=${S13_BUILD:-build-gpu}
backend=${S13_BACKEND:-cuda}
big=${S13_BIG:-qwen3-8b}
depths=${S13_DEPTHS:-8192,32768,65536,131072}
ctx=${S13_CTX:-131328}
depth8k=${S13_DEPTH8K:-8192}
ctx8k=${S13_CTX8K:-8300}
small=${S13_SMALL:-smollm2-135m}
router_p=${S13_ROUTER_P:-512,4096}
report_p=${S13_REPORT_P:-512}
router=resources/routers/SmolLM2-135M-Instruct.router.safetensors
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cli=$build/app/fluxscope-cli
gtests=$build/tests/flux_gpu_tests
[ -x "$cli" ] || { echo "no $cli: run tools/gpu/build.sh first"; exit 1; }

left() { echo $((budget - (SECONDS - t0))); }
# fits LIMIT: true when a step of up to LIMIT seconds still ends inside the budget (else it prints why it is skipped).
fits() {
  if (($(left) < $1)); then
    echo "skipped at $((SECONDS - t0)) s: $(left) s left, the step may take $1 s"
    return 1
  fi
}
status() {  # status RC: the exit status in words
  case $1 in
    0) echo "ok" ;;
    124 | 137) echo "CUT by its timeout (rc $1)" ;;
    *) echo "rc $1" ;;
  esac
}

echo "## Session 13 GPU run (issue 18)"
echo
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"; } |
  tee "$out/device.txt" | sed 's/^/device: /'
echo "tree: $(git log -1 --format='%h %s' 2>/dev/null | cut -c1-80), started $(date -u +%H:%M:%S) UTC"

# 1. Tests: the two new ones, and the suites whose paths changed (router on the device, decode attention with the
# combine in its last block, prefill attention with kept block lists, mark()'s recycled events).
new_tests='CudaBackend.FusedRouterMatchesTheComposedKernels:CudaFusedDecode.AttentionCombinesInItsLastBlockAsTheCombineKernel'
# (gtest matches the full name: parameterized suites are Prefix/Suite.Test, hence the leading '*'.)
filter='*CudaBackend.*:*CudaDeviceRouting.*:*CudaFusedDecode.*:*CudaDecode*:*CudaPrefill.*:*CudaPrefillChunked.*:*CudaChunkedPrefill.*:*CudaXAttnSelect.*:*CudaFluxRouterGolden*:CudaReport.*'
if [ "${S13_TESTS:-1}" != 0 ]; then
  echo
  echo "### Tests"
  if [ ! -x "$gtests" ]; then
    echo "no $gtests: tests skipped"
  elif fits 150; then
    timeout 150 "$gtests" --gtest_brief=1 --gtest_filter="$filter" > "$out/tests.log" 2>&1
    echo "gpu tests (filter $filter): $(status $?) at $((SECONDS - t0)) s"
    grep -E '^\[  (PASSED|FAILED|SKIPPED) |FAILED  \]|tests? ran' "$out/tests.log" | head -20 | sed 's/^/    /'
    grep -E 'Failure|Expected|Which is|actual' "$out/tests.log" | head -20 | sed 's/^/    /'
  fi
fi

# 2. compute-sanitizer on the two new tests (each <= 45 s; a cut run says so).
if [ "${S13_SANITIZE:-1}" != 0 ]; then
  echo
  echo "### compute-sanitizer ($new_tests)"
  if ! command -v compute-sanitizer > /dev/null || [ ! -x "$gtests" ]; then
    echo "no compute-sanitizer or no $gtests: skipped"
  else
    for tool in memcheck racecheck; do
      fits 45 || continue
      timeout 45 compute-sanitizer --tool $tool --error-exitcode 3 "$gtests" --gtest_brief=1 \
        --gtest_filter="$new_tests" > "$out/$tool.log" 2>&1
      rc=$?
      echo "$tool: $(status $rc) at $((SECONDS - t0)) s: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED' \
        "$out/$tool.log" | tr '\n' ' ' | cut -c1-240)"
      [ "$(wc -c < "$out/$tool.log")" -gt 200000 ] && tail -c 200000 "$out/$tool.log" > "$out/$tool.tail" &&
        mv "$out/$tool.tail" "$out/$tool.log"
    done
  fi
fi

rows="$out/bench_rows.md"
: > "$rows"
bench() {  # bench NAME LIMIT ENV ARGS...: one process; its markdown rows into bench_rows.md
  local name=$1 limit=$2 env=$3
  shift 3
  fits "$limit" || { echo "| $name | skipped (budget) |" >> "$rows"; return; }
  env $env timeout "$limit" "$cli" bench --backend "$backend" "$@" > "$out/bench_$name.log" 2>&1
  local rc=$?
  echo "$name ($env): $(status $rc) at $((SECONDS - t0)) s"
  grep -E '^\| ' "$out/bench_$name.log" | grep -vE '^\| model|^\|---' | sed "s/^| /| $name | /" >> "$rows"
  [ $rc -eq 0 ] || tail -3 "$out/bench_$name.log" | sed 's/^/    /'
}

# 3. Decode against the roofline, Qwen3-8B shape. One process per route: weights made once, the first depth warms
# up, one timed run per depth. bf16 8B (16.4 GB) + a 131K KV cache (19.4 GB) fit the H200's 139 GiB.
if [ "${S13_DECODE:-1}" != 0 ]; then
  echo
  echo "### Decode ($big, random weights, --roofline)"
  common=(--random-weights "$big" --router none --roofline -n 16 -r 1 --warmup 1 --sink 128 --window 2048
          --n-last 128 --block 128 --prefill-chunk 16384)
  bench fa_bf16 130 FLUX_CUDA_FUSED=1 "${common[@]}" -c "$ctx" -p "$depths" --route fa
  bench streaming_bf16 90 FLUX_CUDA_FUSED=1 "${common[@]}" -c "$ctx" -p "$depths" --route sa --sa-kind streaming
  bench fa_q4_k 45 FLUX_CUDA_FUSED=1 "${common[@]}" --random-quant q4_k -c "$ctx8k" -p "$depth8k" --route fa
  bench fa_bf16_unfused 40 FLUX_CUDA_FUSED=0 "${common[@]}" -c "$ctx8k" -p "$depth8k" --route fa
  grep -h 'copy bandwidth' "$out"/bench_fa_bf16.log 2>/dev/null | head -1
fi

# 4. Router prefill A/B, SmolLM2 shape with the shipped router (random model weights).
if [ "${S13_ROUTER:-1}" != 0 ]; then
  echo
  echo "### Router prefill ($small, $router)"
  rcommon=(--random-weights "$small" --router "$router" -p "$router_p" -n 8 -r 10)
  bench route_fa 40 FLUX_ROUTER_FUSED=1 "${rcommon[@]}" --route fa
  bench route_router 40 FLUX_ROUTER_FUSED=1 "${rcommon[@]}" --route router
  bench route_router_composed 40 FLUX_ROUTER_FUSED=0 "${rcommon[@]}" --route router
  for fused in 1 0; do
    fits 40 || continue
    FLUX_ROUTER_FUSED=$fused timeout 40 "$cli" generate --backend "$backend" --random-weights "$small" \
      --router "$router" --route router --prompt-tokens "$report_p" -n 4 --report "$out/report_fused$fused.json" \
      > "$out/report_fused$fused.log" 2>&1
    rc=$?
    echo "report FLUX_ROUTER_FUSED=$fused: $(status $rc); $(python3 bench/gpu/report_router_ms.py \
      "$out/report_fused$fused.json" 2>&1 | tail -1)"
  done
fi

echo
echo "### Bench rows (first column: the step)"
cat "$rows"
echo
echo "total $((SECONDS - t0)) s of $budget"
