#!/usr/bin/env bash
# Run on the GPU machine from the repo root, after tools/gpu/build.sh built build-gpu/ and assembled the demo GGUF:
# converts the demo model to an HF directory, trains the Layer Router (train_router.py), writes the held-out sweep
# set, and leaves router + log + tasks in $OUT (4 files). Usage: tools/router/train_on_gpu.sh [train_router.py args]
# Whole run < 9 minutes on an H100 (time budget 420 s for training + evaluation; docs/router-training.md).
set -euo pipefail
out=${OUT:-out/router}
mkdir -p "$out"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
hf=/root/smol-hf
[ -f "$hf/model.safetensors" ] || build-gpu/app/fluxscope-cli convert -m models/SmolLM2-135M-Instruct.Q4_1.gguf --to safetensors "$hf"
router="$out/SmolLM2-135M-Instruct.router.safetensors"
python3 tools/router/train_router.py --model "$hf" --out "$router" --log "$out/train_log.json" \
  --model-name SmolLM2-135M-Instruct --steps 600 --time-budget-s 420 "$@" 2>&1 \
  | grep --line-buffered -v -E "Loading weights|it/s\]" | tee "$out/train.txt"
python3 tools/router/make_eval_set.py "$out/eval_tasks.jsonl" --tokenizer "$hf"
# The summary last: held-out accuracy / SA fraction per kind and route (PyTorch, teacher-forced).
python3 - "$out/train_log.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"\nrouter training: {s['steps_done']}/{s['steps_planned']} steps, {s['train_seconds']} s training, "
      f"{s['total_seconds']} s total, {s['train_tasks_kept']} train / {s['eval_tasks_kept']} held-out prompts")
print(f"{'kind':<8} {'route':<7} {'accuracy':>8} {'SA frac':>8} {'n':>4}")
for key, r in s["eval"].items():
    kind, mode = key.split("/")
    print(f"{kind:<8} {dict(fa='fa', sa='sa', hard='router')[mode]:<7} {r['accuracy']:8.2f} {r['sa_fraction']:8.2f} {r['n']:4d}")
PY
