#!/usr/bin/env bash
# The router sweep on the GPU machine: run from the repo root after tools/gpu/build.sh built build-gpu/.
#   bench/sweep/run_sweep.sh TASKS.jsonl [ROUTER.safetensors]
# TASKS.jsonl: tools/router/make_eval_set.py (needle grid + robust tasks). Without ROUTER the engine uses the router
# shipped for the model (resources/routers/). Writes $OUT/sweep.{json,csv,md,log} (and sweep.png when matplotlib is
# installed). Env: OUT (default out/sweep), BACKEND (cuda), ROUTES, N_PREDICT (32), MODEL, CLI (build-gpu/app/fluxscope-cli).
set -euo pipefail
[ $# -ge 1 ] && [ -f "$1" ] || { echo "usage: $0 TASKS.jsonl [ROUTER.safetensors]" >&2; exit 2; }
tasks=$1
out=${OUT:-out/sweep}
cli=${CLI:-build-gpu/app/fluxscope-cli}
model=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
[ -x "$cli" ] || { echo "error: $cli not built (tools/gpu/build.sh)" >&2; exit 2; }
mkdir -p "$out"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
router_args=()
[ $# -ge 2 ] && router_args=(--router "$2")
"$cli" sweep -m "$model" --backend "${BACKEND:-cuda}" --tasks "$tasks" "${router_args[@]}" \
  --routes "${ROUTES:-router,fa,sa:streaming,sa:triangle,sa:xattn}" -n "${N_PREDICT:-32}" \
  --out "$out/sweep.json" --csv "$out/sweep.csv" 2> "$out/sweep.log" | tee "$out/sweep.md"
if python3 -c "import matplotlib" 2> /dev/null; then
  python3 "$(dirname "$0")/plot_sweep.py" "$out/sweep.json" "$out/sweep.png"
else
  echo "matplotlib missing: plot later with bench/sweep/plot_sweep.py $out/sweep.json sweep.png" >&2
fi
