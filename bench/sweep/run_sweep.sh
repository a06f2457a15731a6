#!/usr/bin/env bash
# The router sweep with its static baselines, from the repo root (on the GPU machine after tools/gpu/build.sh):
#   bash bench/sweep/run_sweep.sh TASKS.jsonl [ROUTER.safetensors] [extra sweep args...]
# TASKS.jsonl: tools/router/make_eval_set.py (needle grid + robust tasks). Without ROUTER the engine uses the router
# shipped for the model (resources/routers/). The routes: router, all-FA, all-SA of each kind, first-k:match and
# random:match (static layer sets at the router's measured SA fraction; docs/router-training.md, "Baselines and
# perplexity"), and "elastic" — the previously shipped Elastic router — when ELASTIC names an Elastic router file other
# than ROUTER. Extra args go to `sweep` as they are (e.g. --route-file best=best_fixed.json --random-seeds 10
# --match-on needle). Writes $OUT/sweep.{json,csv,md,log} (and sweep.png when matplotlib is installed).
# Env: OUT (out/sweep), BACKEND (auto: CUDA when the build and a GPU have it), ROUTES, N_PREDICT (32), MODEL,
# ELASTIC (resources/routers/previous/SmolLM2-135M-Instruct.elastic.router.safetensors; empty: none),
# CLI (build-gpu/app/fluxscope-cli, else build/app/fluxscope-cli).
set -euo pipefail
[ $# -ge 1 ] && [ -f "$1" ] || { echo "usage: $0 TASKS.jsonl [ROUTER.safetensors] [extra sweep args]" >&2; exit 2; }
tasks=$1
shift
out=${OUT:-out/sweep}
model=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
cli=${CLI:-}
if [ -z "$cli" ]; then
  for c in build-gpu/app/fluxscope-cli build/app/fluxscope-cli; do [ -x "$c" ] && { cli=$c; break; }; done
fi
[ -n "$cli" ] && [ -x "$cli" ] || { echo "error: no fluxscope-cli built (tools/gpu/build.sh, or set CLI=path)" >&2; exit 2; }
router_args=()
router=""
if [ $# -ge 1 ] && [[ "$1" != -* ]]; then
  router=$1
  router_args=(--router "$router")
  shift
fi
mkdir -p "$out"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# The Elastic baseline: only a file whose metadata says Elastic (no "family", or "elastic"), and not ROUTER itself.
elastic=${ELASTIC-resources/routers/previous/SmolLM2-135M-Instruct.elastic.router.safetensors}
model_name=$(basename "$model")
in_use=${router:-resources/routers/${model_name%%.*}.router.safetensors}  # without ROUTER: the shipped one
extra_routes=()
if [ -n "$elastic" ] && [ -f "$elastic" ] && [ "$(realpath "$elastic")" != "$(realpath "$in_use" 2>/dev/null || true)" ] &&
   python3 - "$elastic" <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    meta = json.loads(f.read(struct.unpack("<Q", f.read(8))[0])).get("__metadata__", {})
sys.exit(0 if json.loads(meta.get("flux_router", "{}")).get("family", "elastic") == "elastic" else 1)
PY
then
  extra_routes=(--named-router "elastic=$elastic")
fi

n_args=(-n "${N_PREDICT:-32}")
for a in "$@"; do [[ "$a" == -n || "$a" == --n-predict* ]] && n_args=(); done  # the caller's -n wins
"$cli" sweep -m "$model" --backend "${BACKEND:-auto}" --tasks "$tasks" "${router_args[@]}" "${extra_routes[@]}" \
  --routes "${ROUTES:-router,fa,sa:streaming,sa:triangle,sa:xattn,first-k:match,random:match}" "${n_args[@]}" \
  "$@" --out "$out/sweep.json" --csv "$out/sweep.csv" 2> "$out/sweep.log" | tee "$out/sweep.md"
if python3 -c "import matplotlib" 2> /dev/null; then
  python3 "$(dirname "$0")/plot_sweep.py" "$out/sweep.json" "$out/sweep.png"
else
  echo "matplotlib missing: plot later with bench/sweep/plot_sweep.py $out/sweep.json sweep.png" >&2
fi
