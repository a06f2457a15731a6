#!/usr/bin/env bash
# Run on the GPU machine from the repo root (after tools/gpu/build.sh): the router sweep on the demo model.
# Usage: bench/run_sweep.sh TASKS.jsonl ROUTER.safetensors → $OUT/sweep.json, $OUT/sweep.csv, $OUT/sweep.md
set -euo pipefail
out=${OUT:-out/sweep}
mkdir -p "$out"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
build-gpu/app/fluxscope-cli sweep -m models/SmolLM2-135M-Instruct.Q4_1.gguf --backend "${BACKEND:-cuda}" \
  --tasks "$1" --router "$2" --routes "${ROUTES:-router,fa,sa:streaming,sa:triangle,sa:xattn}" -n 32 \
  --out "$out/sweep.json" --csv "$out/sweep.csv" 2> "$out/sweep.log" | tee "$out/sweep.md"
